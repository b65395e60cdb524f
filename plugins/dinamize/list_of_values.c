/*
 * list_of_values.c: the values of every list-of-values field (POST /emkt/field-lov/search).
 *
 * One read per field of type LV of every list; the answer holds the values
 * under "list", not "items". No replication key: always FULL_TABLE.
 */
#include "common/stream.h"

#define PATH "/emkt/field-lov/search"
#define ITEMS "list"

static const char *const keys[] = {"code", NULL};
static const char *const groups[] = {"lists", "all", NULL};

static const char schema[] = DZ_SCHEMA(
    DZ_PROP("code", DZ_KEY("Code of the value, as stored in contacts.custom_fields")) ","
    DZ_PROP("contact-list_code", DZ_PARENT("Code of the contact list of the field")) ","
    DZ_PROP("field_code", DZ_PARENT("Code of the LV field")) ","
    DZ_PROP("value", DZ_TEXT("The value")));

static const dz_stream_def def = {"list_of_values", PATH, ITEMS, keys, NULL, schema};
static const siphon_option options[] = DZ_STREAM_OPTIONS(PATH, ITEMS);

static int read_list_of_values(siphon_ctx *ctx, const json_t *context)
{
    return dz_stream_read(ctx, &def, context);
}

static const siphon_stream_vtable stream = {
    .base = DZ_COMPONENT("list_of_values", "Values of the fields of type LV (list of values)",
                         SIPHON_CAP_PARALLEL_SAFE, options),
    .source = &dz_source,
    .key_properties = keys,
    .replication_key = NULL,
    .parent = "fields",
    .groups = groups,
    .schema_json = schema,
    .partition = dz_partition_by_lv_field,
    .read = read_list_of_values,
};

DZ_PLUGIN("dinamize-list_of_values", "Dinamize: the values of every list-of-values field", stream);
