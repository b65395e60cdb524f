/*
 * example-stream: a synthetic stream plugin, and the template for writing your own.
 *
 * It produces `record_count` records of about `record_size` bytes each, with
 * an ascending replication key, without any network: the host's overhead can
 * be measured with it, and it shows every piece a real stream has (options,
 * schema, incremental reads from the bookmark, checkpoints at page
 * boundaries, cancellation). It is built only against the installed SDK:
 *
 *     cc -shared -fPIC -fvisibility=hidden example_stream.c \
 *        $(pkg-config --cflags --libs siphon-plugin) -o siphon-example-stream.so
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <siphon/siphon.h>

static const siphon_option example_source_options[] = {
    {"record_count", SIPHON_OPT_INT, 0, "1000", "How many records the stream produces", NULL, NULL},
    {"record_size", SIPHON_OPT_INT, 0, "100",
     "Approximate size of each record's payload, in bytes", NULL, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};

static const siphon_option example_stream_options[] = {
    {"page_size", SIPHON_OPT_INT, SIPHON_OPT_PER_STREAM, "1000",
     "Records between two checkpoints", NULL, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};

static const siphon_source example_source = {
    .struct_size = sizeof(siphon_source),
    .name = "example",
    .description = "Synthetic records generated in memory",
    .options = example_source_options,
    .option_size = sizeof(siphon_option),
};

static const char example_schema[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"id\":{\"type\":\"integer\"},"
    "\"updated_at\":{\"type\":\"string\"},"
    "\"name\":{\"type\":[\"null\",\"string\"]},"
    "\"payload\":{\"type\":[\"null\",\"string\"]}}}";

static const char *const example_keys[] = {"id", NULL};
static const char *const example_groups[] = {"examples", NULL};

/* Record i's replication value: one second apart, so values sort as strings. */
static void updated_at(long long i, char *buf, size_t cap)
{
    long long s = 1704067200LL + i; /* 2024-01-01T00:00:00Z */
    long long days = s / 86400, rem = s % 86400;
    /* civil-from-days (Howard Hinnant), enough for any count we generate */
    long long z = days + 719468, era = z / 146097, doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
    long long m = mp + (mp < 10 ? 3 : -9);
    y += m <= 2;
    snprintf(buf, cap, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ", y, m, d, rem / 3600,
             rem / 60 % 60, rem % 60);
}

/* The first record whose replication value is >= start (binary search). */
static long long first_at_or_after(const char *start, long long count)
{
    long long lo = 0, hi = count;
    char buf[64];
    while (lo < hi) {
        long long mid = lo + (hi - lo) / 2;
        updated_at(mid, buf, sizeof buf);
        if (strcmp(buf, start) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int example_read(siphon_ctx *ctx, const json_t *context)
{
    (void)context;
    const siphon_host_api *api = siphon_api(ctx);
    int64_t count = 0, size = 0, page = 0;
    if (api->config_int(ctx, "record_count", &count) != SIPHON_OK ||
        api->config_int(ctx, "record_size", &size) != SIPHON_OK ||
        api->config_int(ctx, "page_size", &page) != SIPHON_OK || count < 0 || size < 0 ||
        page <= 0) {
        siphon_set_error(ctx, "record_count, record_size and page_size must be non-negative"
                              " integers (page_size at least 1)");
        return SIPHON_E_CONFIG;
    }
    long long first = 0;
    const char *start = api->sync_mode(ctx) == SIPHON_SYNC_INCREMENTAL ? api->start_value(ctx)
                                                                      : NULL;
    if (start != NULL)
        first = first_at_or_after(start, count);

    char *payload = malloc((size_t)size + 1);
    if (payload == NULL)
        return SIPHON_E_NOMEM;
    for (int64_t k = 0; k < size; k++)
        payload[k] = (char)('a' + k % 26);
    payload[size] = '\0';

    int rc = SIPHON_OK;
    char stamp[64], name[48];
    for (long long i = first; i < count && rc == SIPHON_OK; i++) {
        updated_at(i, stamp, sizeof stamp);
        snprintf(name, sizeof name, "record %lld", i);
        json_t *rec = json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)i, "updated_at", stamp,
                                "name", name, "payload", payload);
        if (rec == NULL) {
            rc = SIPHON_E_NOMEM;
            break;
        }
        rc = api->emit_record(ctx, NULL, rec);
        if (rc == SIPHON_OK && (i + 1) % page == 0)
            rc = api->checkpoint(ctx);
        if (rc == SIPHON_OK && api->should_stop(ctx))
            rc = SIPHON_E_CANCELLED;
    }
    free(payload);
    return rc;
}

static const siphon_stream_vtable example_stream = {
    .base = {
        .struct_size = sizeof(siphon_stream_vtable),
        .kind = SIPHON_KIND_STREAM,
        .name = "synthetic",
        .description = "N synthetic records of configurable size",
        .caps = 0,
        .options = example_stream_options,
        .option_size = sizeof(siphon_option),
    },
    .source = &example_source,
    .key_properties = example_keys,
    .replication_key = "updated_at",
    .groups = example_groups,
    .schema_json = example_schema,
    .read = example_read,
};

static const siphon_component *const example_components[] = {&example_stream.base, NULL};

SIPHON_PLUGIN_DEFINE("example-stream", "1.0.0", "MIT",
                     "Synthetic records for tests, benchmarks and as a template",
                     example_components);
