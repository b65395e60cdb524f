/*
 * transactions.c: the consumption transactions (POST /emkt/transaction/search).
 *
 * The primary key is (action_code, dt_transaction); dt_transaction is also
 * the replication key.
 */
#include "common/stream.h"

#define PATH "/emkt/transaction/search"
#define ITEMS "items"

static const char *const keys[] = {"action_code", "dt_transaction", NULL};
static const char *const groups[] = {"sends", "all", NULL};

static const char schema[] = DZ_SCHEMA(
    DZ_PROP("action_code", DZ_KEY("Send code")) ","
    DZ_PROP("dt_transaction", DZ_KEY_DATE("Transaction date")) ","
    DZ_PROP("description", DZ_TEXT("Consumption description")) ","
    DZ_PROP("value", DZ_TEXT("Transaction value")));

static const dz_stream_def def = {"transactions", PATH, ITEMS, keys, "dt_transaction", schema};
static const siphon_option options[] = DZ_STREAM_OPTIONS(PATH, ITEMS);

static int read_transactions(siphon_ctx *ctx, const json_t *context)
{
    return dz_stream_read(ctx, &def, context);
}

static const siphon_stream_vtable stream = {
    .base = DZ_COMPONENT("transactions", "Consumption transactions: billing and usage of sends",
                         0, options),
    .source = &dz_source,
    .key_properties = keys,
    .replication_key = "dt_transaction",
    .groups = groups,
    .schema_json = schema,
    .read = read_transactions,
};

DZ_PLUGIN("dinamize-transactions", "Dinamize: the consumption transactions", stream);
