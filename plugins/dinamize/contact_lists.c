/*
 * contact_lists.c: the contact lists (POST /emkt/contact-list/search).
 */
#include "common/stream.h"

#define PATH "/emkt/contact-list/search"
#define ITEMS "items"

static const char *const keys[] = {"code", NULL};
static const char *const groups[] = {"lists", "all", NULL};

static const char schema[] = DZ_SCHEMA(
    DZ_PROP("code", DZ_KEY("Contact list code")) ","
    DZ_PROP("user_code", DZ_TEXT("Code of the list's owner")) ","
    DZ_PROP("title", DZ_TEXT("List title")) ","
    DZ_PROP("type", DZ_TEXT("Duplicate check key: EM (e-mail) or CE (external code)")) ","
    DZ_PROP("status", DZ_TEXT("List status: LI (released), EA (under review) or BL (blocked)")) ","
    DZ_PROP("total_contacts", DZ_TEXT("Total number of contacts")) ","
    DZ_PROP("total_valid", DZ_TEXT("Total number of valid contacts")) ","
    DZ_PROP("insert_date", DZ_DATE("Registration date")) ","
    DZ_PROP("rest_date", DZ_DATE("Rest date: the list's contacts get no e-mails until the end of that day")));

static const dz_stream_def def = {"contact_lists", PATH, ITEMS, keys, "insert_date", schema};
static const siphon_option options[] = DZ_STREAM_OPTIONS(PATH, ITEMS);

static int read_contact_lists(siphon_ctx *ctx, const json_t *context)
{
    return dz_stream_read(ctx, &def, context);
}

static const siphon_stream_vtable stream = {
    .base = DZ_COMPONENT("contact_lists", "Contact lists, which group contacts for sends and segmentation",
                         0, options),
    .source = &dz_source,
    .key_properties = keys,
    .replication_key = "insert_date",
    .groups = groups,
    .schema_json = schema,
    .read = read_contact_lists,
};

DZ_PLUGIN("dinamize-contact_lists", "Dinamize: the contact lists", stream);
