/*
 * actions.c: the e-mail sends (envios) (POST /emkt/action/search).
 */
#include "common/stream.h"

#define PATH "/emkt/action/search"
#define ITEMS "items"

static const char *const keys[] = {"code", NULL};
static const char *const groups[] = {"sends", "all", NULL};

static const char schema[] = DZ_SCHEMA(
    DZ_PROP("code", DZ_KEY("Send code")) ","
    DZ_PROP("campaign_code", DZ_TEXT("Campaign code")) ","
    DZ_PROP("contact-list_code", DZ_TEXT("Contact list code")) ","
    DZ_PROP("contact-list_title", DZ_TEXT("Contact list title")) ","
    DZ_PROP("filter_code", DZ_TEXT("Filter code")) ","
    DZ_PROP("message_code", DZ_TEXT("Message code")) ","
    DZ_PROP("title", DZ_TEXT("Send title")) ","
    DZ_PROP("subject", DZ_TEXT("E-mail subject")) ","
    DZ_PROP("sender_name", DZ_TEXT("Sender name")) ","
    DZ_PROP("sender_email", DZ_TEXT("Sender e-mail")) ","
    DZ_PROP("reply_to", DZ_TEXT("Reply-to e-mail")) ","
    DZ_PROP("message_type", DZ_TEXT("Message type: CAD or URL")) ","
    DZ_PROP("url", DZ_TEXT("Message URL (when message_type is URL)")) ","
    DZ_PROP("action_mark", DZ_TEXT("Verification code confirming a URL message")) ","
    DZ_PROP("action_type", DZ_TEXT("Send type: PT (point) or IC (incremental)")) ","
    DZ_PROP("status", DZ_TEXT("Send status: PD (pending), AG (scheduled), EN (sending), EP (partially sending), FN (finished)")) ","
    DZ_PROP("total_contacts", DZ_TEXT("Contacts selected for the send")) ","
    DZ_PROP("total_sent", DZ_TEXT("Total sent")) ","
    DZ_PROP("date_create", DZ_DATE("Registration date")) ","
    DZ_PROP("date_start", DZ_DATE("Start date")) ","
    DZ_PROP("date_end", DZ_DATE("End date")));

static const dz_stream_def def = {"actions", PATH, ITEMS, keys, "date_create", schema};
static const siphon_option options[] = DZ_STREAM_OPTIONS(PATH, ITEMS);

static int read_actions(siphon_ctx *ctx, const json_t *context)
{
    return dz_stream_read(ctx, &def, context);
}

static const siphon_stream_vtable stream = {
    .base = DZ_COMPONENT("actions", "E-mail sends (envios): dispatches, schedules and send counts",
                         0, options),
    .source = &dz_source,
    .key_properties = keys,
    .replication_key = "date_create",
    .groups = groups,
    .schema_json = schema,
    .read = read_actions,
};

DZ_PLUGIN("dinamize-actions", "Dinamize: the e-mail sends (envios)", stream);
