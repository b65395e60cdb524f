/*
 * campaigns.c: the campaigns (POST /emkt/campaign/search).
 */
#include "common/stream.h"

#define PATH "/emkt/campaign/search"
#define ITEMS "items"

static const char *const keys[] = {"code", NULL};
static const char *const groups[] = {"sends", "all", NULL};

static const char schema[] = DZ_SCHEMA(
    DZ_PROP("code", DZ_KEY("Campaign code")) ","
    DZ_PROP("title", DZ_TEXT("Campaign title")) ","
    DZ_PROP("insert_date", DZ_DATE("Registration date")));

static const dz_stream_def def = {"campaigns", PATH, ITEMS, keys, "insert_date", schema};
static const siphon_option options[] = DZ_STREAM_OPTIONS(PATH, ITEMS);

static int read_campaigns(siphon_ctx *ctx, const json_t *context)
{
    return dz_stream_read(ctx, &def, context);
}

static const siphon_stream_vtable stream = {
    .base = DZ_COMPONENT("campaigns", "E-mail marketing campaigns",
                         0, options),
    .source = &dz_source,
    .key_properties = keys,
    .replication_key = "insert_date",
    .groups = groups,
    .schema_json = schema,
    .read = read_campaigns,
};

DZ_PLUGIN("dinamize-campaigns", "Dinamize: the campaigns", stream);
