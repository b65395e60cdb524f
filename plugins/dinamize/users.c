/*
 * users.c: the account's users (POST /user/search).
 *
 * The path has no /emkt prefix (as last confirmed); override it with the
 * stream's path option if the account's API moved it.
 */
#include "common/stream.h"

#define PATH "/user/search"
#define ITEMS "items"

static const char *const keys[] = {"code", NULL};
static const char *const groups[] = {"account", "all", NULL};

static const char schema[] = DZ_SCHEMA(
    DZ_PROP("code", DZ_KEY("User code")) ","
    DZ_PROP("email", DZ_TEXT("User e-mail")) ","
    DZ_PROP("name", DZ_TEXT("User name")) ","
    DZ_PROP("language", DZ_TEXT("Language")) ","
    DZ_PROP("timezone", DZ_TEXT("Time zone")) ","
    DZ_PROP("insert_date", DZ_DATE("Registration date")));

static const dz_stream_def def = {"users", PATH, ITEMS, keys, "insert_date", schema};
static const siphon_option options[] = DZ_STREAM_OPTIONS(PATH, ITEMS);

static int read_users(siphon_ctx *ctx, const json_t *context)
{
    return dz_stream_read(ctx, &def, context);
}

static const siphon_stream_vtable stream = {
    .base = DZ_COMPONENT("users", "User accounts",
                         0, options),
    .source = &dz_source,
    .key_properties = keys,
    .replication_key = "insert_date",
    .groups = groups,
    .schema_json = schema,
    .read = read_users,
};

DZ_PLUGIN("dinamize-users", "Dinamize: the account's users", stream);
