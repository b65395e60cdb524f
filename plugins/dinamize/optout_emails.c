/*
 * optout_emails.c: the opt-outs of every contact list (POST /emkt/optout-email/search).
 *
 * One read per contact list; the primary key is the e-mail, as the API gives it.
 */
#include "common/stream.h"

#define PATH "/emkt/optout-email/search"
#define ITEMS "items"

static const char *const keys[] = {"email", NULL};
static const char *const groups[] = {"lists", "all", NULL};

static const char schema[] = DZ_SCHEMA(
    DZ_PROP("email", DZ_KEY("Contact e-mail")) ","
    DZ_PROP("contact-list_code", DZ_PARENT("Code of the contact list opted out of")) ","
    DZ_PROP("reason_description", DZ_TEXT("Opt-out reason")) ","
    DZ_PROP("origin", DZ_TEXT("Opt-out origin: C (included manually), P (asked by the owner), D (spam complaint)")) ","
    DZ_PROP("request_date", DZ_DATE("Opt-out request date")));

static const dz_stream_def def = {"optout_emails", PATH, ITEMS, keys, "request_date", schema};
static const siphon_option options[] = DZ_STREAM_OPTIONS(PATH, ITEMS);

static int read_optout_emails(siphon_ctx *ctx, const json_t *context)
{
    return dz_stream_read(ctx, &def, context);
}

static const siphon_stream_vtable stream = {
    .base = DZ_COMPONENT("optout_emails", "Opt-outs and unsubscribes of every contact list",
                         SIPHON_CAP_PARALLEL_SAFE, options),
    .source = &dz_source,
    .key_properties = keys,
    .replication_key = "request_date",
    .parent = "contact_lists",
    .groups = groups,
    .schema_json = schema,
    .partition = dz_partition_by_list,
    .read = read_optout_emails,
};

DZ_PLUGIN("dinamize-optout_emails", "Dinamize: the opt-outs of every contact list", stream);
