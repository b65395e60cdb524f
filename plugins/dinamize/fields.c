/*
 * fields.c: the custom fields of every contact list (POST /emkt/field/search).
 *
 * One read per contact list (the host shares the lists once per run).
 */
#include "common/stream.h"

#define PATH "/emkt/field/search"
#define ITEMS "items"

static const char *const keys[] = {"code", NULL};
static const char *const groups[] = {"lists", "all", NULL};

static const char schema[] = DZ_SCHEMA(
    DZ_PROP("code", DZ_KEY("Field code")) ","
    DZ_PROP("contact-list_code", DZ_PARENT("Code of the contact list the field belongs to")) ","
    DZ_PROP("code_name", DZ_TEXT("Internal name, the key in contacts.custom_fields (cmp4, ...)")) ","
    DZ_PROP("field-group_code", DZ_TEXT("Field group code")) ","
    DZ_PROP("field-group_name", DZ_TEXT("Field group title")) ","
    DZ_PROP("title", DZ_TEXT("Field title")) ","
    DZ_PROP("type", DZ_TEXT("Field type: LV (list of values), DH (date and time), DT (date), VC (short text), TXT (long text), INT (integer), FLT (decimal), PHN (phone number), DVC (application token)")) ","
    DZ_PROP("is_required", DZ_FLAG("Whether the field is required")) ","
    DZ_PROP("is_uniquevalue", DZ_FLAG("For list-of-values fields: a single value (true) or several (false)")) ","
    DZ_PROP("is_searchable", DZ_FLAG("Field applicability")) ","
    DZ_PROP("insert_date", DZ_DATE("Registration date")));

static const dz_stream_def def = {"fields", PATH, ITEMS, keys, "insert_date", schema};
static const siphon_option options[] = DZ_STREAM_OPTIONS(PATH, ITEMS);

static int read_fields(siphon_ctx *ctx, const json_t *context)
{
    return dz_stream_read(ctx, &def, context);
}

static const siphon_stream_vtable stream = {
    .base = DZ_COMPONENT("fields", "Custom fields of every contact list",
                         SIPHON_CAP_PARALLEL_SAFE, options),
    .source = &dz_source,
    .key_properties = keys,
    .replication_key = "insert_date",
    .parent = "contact_lists",
    .groups = groups,
    .schema_json = schema,
    .partition = dz_partition_by_list,
    .read = read_fields,
};

DZ_PLUGIN("dinamize-fields", "Dinamize: the custom fields of every contact list", stream);
