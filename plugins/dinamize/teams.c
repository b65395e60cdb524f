/*
 * teams.c: the teams (POST /emkt/team/search).
 *
 * No replication key: always FULL_TABLE.
 */
#include "common/stream.h"

#define PATH "/emkt/team/search"
#define ITEMS "items"

static const char *const keys[] = {"code", NULL};
static const char *const groups[] = {"account", "all", NULL};

static const char schema[] = DZ_SCHEMA(
    DZ_PROP("code", DZ_KEY("Team code")) ","
    DZ_PROP("top_team", DZ_TEXT("Code of the parent team")) ","
    DZ_PROP("name", DZ_TEXT("Team name")));

static const dz_stream_def def = {"teams", PATH, ITEMS, keys, NULL, schema};
static const siphon_option options[] = DZ_STREAM_OPTIONS(PATH, ITEMS);

static int read_teams(siphon_ctx *ctx, const json_t *context)
{
    return dz_stream_read(ctx, &def, context);
}

static const siphon_stream_vtable stream = {
    .base = DZ_COMPONENT("teams", "Teams and their hierarchy",
                         0, options),
    .source = &dz_source,
    .key_properties = keys,
    .replication_key = NULL,
    .groups = groups,
    .schema_json = schema,
    .read = read_teams,
};

DZ_PLUGIN("dinamize-teams", "Dinamize: the teams", stream);
