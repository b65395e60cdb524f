/*
 * messages.c: the messages (templates) (POST /emkt/message/search).
 */
#include "common/stream.h"

#define PATH "/emkt/message/search"
#define ITEMS "items"

static const char *const keys[] = {"code", NULL};
static const char *const groups[] = {"sends", "all", NULL};

static const char schema[] = DZ_SCHEMA(
    DZ_PROP("code", DZ_KEY("Message code")) ","
    DZ_PROP("title", DZ_TEXT("Message title")) ","
    DZ_PROP("insert_date", DZ_DATE("Registration date")));

static const dz_stream_def def = {"messages", PATH, ITEMS, keys, "insert_date", schema};
static const siphon_option options[] = DZ_STREAM_OPTIONS(PATH, ITEMS);

static int read_messages(siphon_ctx *ctx, const json_t *context)
{
    return dz_stream_read(ctx, &def, context);
}

static const siphon_stream_vtable stream = {
    .base = DZ_COMPONENT("messages", "E-mail messages (templates and content)",
                         0, options),
    .source = &dz_source,
    .key_properties = keys,
    .replication_key = "insert_date",
    .groups = groups,
    .schema_json = schema,
    .read = read_messages,
};

DZ_PLUGIN("dinamize-messages", "Dinamize: the messages (templates)", stream);
