/*
 * contacts.c: the contacts of every contact list (POST /emkt/contact/search).
 *
 * One read per contact list (the host shares the lists once per run). Discovery
 * types custom_fields from the account's fields (custom_fields.h).
 */
#include "common/stream.h"
#include "common/custom_fields.h"

#define PATH "/emkt/contact/search"
#define ITEMS "items"

static const char *const keys[] = {"code", NULL};
static const char *const groups[] = {"lists", "all", NULL};

static const char schema[] = DZ_SCHEMA(
    DZ_PROP("code", DZ_KEY("Contact code")) ","
    DZ_PROP("contact-list_code", DZ_PARENT("Code of the contact list the contact belongs to")) ","
    DZ_PROP("external_code", DZ_TEXT("External code of the contact")) ","
    DZ_PROP("email", DZ_TEXT("Contact e-mail address")) ","
    DZ_PROP("name", DZ_TEXT("Contact name")) ","
    DZ_PROP("status", DZ_TEXT("E-mail status: V (valid) or I (invalid)")) ","
    DZ_PROP("optout", DZ_FLAG("Whether the contact opted out")) ","
    DZ_PROP("spam", DZ_FLAG("Whether the contact reported spam")) ","
    DZ_PROP("total_clicks", DZ_TEXT("Total clicks")) ","
    DZ_PROP("total_sents", DZ_TEXT("Total sends received")) ","
    DZ_PROP("total_views", DZ_TEXT("Total views")) ","
    DZ_PROP("custom_fields", DZ_OBJECT("Custom fields, keyed by the code_name of the list's fields (cmp4, cmp5, ...)")) ","
    DZ_PROP("insert_date", DZ_DATE("Registration date")) ","
    DZ_PROP("rest_date", DZ_DATE("Rest date: no e-mails until the end of that day")));

static const dz_stream_def def = {"contacts", PATH, ITEMS, keys, "insert_date", schema};
static const siphon_option options[] = DZ_STREAM_OPTIONS(PATH, ITEMS);

static int read_contacts(siphon_ctx *ctx, const json_t *context)
{
    return dz_stream_read(ctx, &def, context);
}

/* custom_fields typed from the account's fields (read once per run, shared). */
static int discover_contacts(siphon_ctx *ctx, json_t **out)
{
    const siphon_host_api *api = siphon_api(ctx);
    const json_t *fields;
    int rc = api->related_records(ctx, "fields", &fields);
    if (rc != SIPHON_OK)
        return rc; /* the host's message says which list failed and why */
    char why[300];
    size_t skipped = 0;
    *out = dz_contacts_schema(schema, fields, &skipped, why, sizeof why);
    if (*out == NULL) {
        siphon_set_error(ctx, "building the contacts schema: %s", why);
        return SIPHON_E_NOMEM;
    }
    if (skipped > 0)
        siphon_log(ctx, SIPHON_LOG_WARN,
                   "%zu field records have no code_name; their values stay untyped in "
                   "custom_fields", skipped);
    return SIPHON_OK;
}

static const siphon_stream_vtable stream = {
    .base = DZ_COMPONENT("contacts", "Contacts of every contact list, with their custom fields",
                         SIPHON_CAP_PARALLEL_SAFE | SIPHON_CAP_DISCOVER, options),
    .source = &dz_source,
    .key_properties = keys,
    .replication_key = "insert_date",
    .parent = "contact_lists",
    .groups = groups,
    .schema_json = schema,
    .partition = dz_partition_by_list,
    .discover = discover_contacts,
    .read = read_contacts,
};

DZ_PLUGIN("dinamize-contacts", "Dinamize: the contacts of every contact list", stream);
