/*
 * host_options.c: the options the host itself reads from the config file,
 * declared in the same form plugins use, so validation, `siphon about` and the
 * documentation treat them alike.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

#define PER_STREAM SIPHON_OPT_PER_STREAM

static const siphon_option host_top[] = {
    {"source", SIPHON_OPT_STRING, 0, NULL,
     "The source plugin to read from; needed only when several sources are installed.", NULL, NULL},
    {"sink", SIPHON_OPT_JSON, 0, "\"stdout\"",
     "Where records go: a sink name, or an object whose \"type\" names the sink beside that "
     "sink's options.", NULL, NULL},
    {"streams", SIPHON_OPT_JSON, 0, NULL,
     "Per-stream settings, keyed by stream name: {\"contacts\": {\"replication_method\": "
     "\"FULL_TABLE\"}}.", NULL, NULL},
    {"select", SIPHON_OPT_JSON, 0, NULL,
     "The streams or groups to read, as an array of names; the others are skipped.", NULL, NULL},
    {"state_path", SIPHON_OPT_STRING, 0, NULL,
     "The state file, for sinks that do not keep the state themselves.", NULL, NULL},
    {"workers", SIPHON_OPT_INT, 0, "4",
     "How many streams are read at the same time (1 to 64).", NULL, NULL},
    {"read_ahead", SIPHON_OPT_BOOL, 0, "true",
     "Let a stream ask for its next page while it hands the current one to the sink (one "
     "request ahead per stream, half the workers at once, each holding a second page in "
     "memory); false asks for each page only once the last is written.",
     NULL, NULL},
    {"http_timeout_s", SIPHON_OPT_NUMBER, 0, "60",
     "Seconds one HTTP request may take before it counts as failed and is retried.", NULL, NULL},
    {"rate_window_s", SIPHON_OPT_NUMBER, 0, NULL,
     "Seconds of the window the source's request budget counts in (default: the window the "
     "source declares, 60 for Dinamize); for an API, or an emulator, whose window differs.",
     NULL, NULL},
    {"http_max_attempts", SIPHON_OPT_INT, 0, "6",
     "How many times one request is tried before its stream fails (1 to 100).", NULL, NULL},
    {"ca_bundle", SIPHON_OPT_STRING, 0, NULL,
     "A PEM file of certificate authorities to verify TLS servers with, instead of the "
     "system's.", NULL, NULL},
    {"log_level", SIPHON_OPT_STRING, 0, "\"info\"",
     "The least severe log lines printed on stderr.", NULL, "debug|info|warn|error"},
    {"checkpoint_records", SIPHON_OPT_INT, 0, "10000",
     "Commit the sink and save the state at least every this many records.", NULL, NULL},
    {"checkpoint_seconds", SIPHON_OPT_NUMBER, 0, "5",
     "Commit the sink and save the state at least every this many seconds.", NULL, NULL},
    {"stream_maps", SIPHON_OPT_JSON, 0, NULL,
     "Stream maps (Meltano SDK style) applied to records before the sink: select, drop, "
     "rename, compute and filter properties, alias streams.", NULL, NULL},
    {"transforms", SIPHON_OPT_JSON, 0, NULL,
     "Native functions (from shared libraries, called through libffi) that stream_maps "
     "expressions may call, as an array.", NULL, NULL},
    {"allow_native_transforms", SIPHON_OPT_BOOL, 0, "false",
     "Allow transforms that call functions in native libraries.", NULL, NULL},
    {"metrics", SIPHON_OPT_BOOL, 0, NULL,
     "Print Singer METRIC lines on stderr (default: when stderr is not a terminal).", NULL, NULL},
};

static const siphon_option host_stream[] = {
    {"replication_method", SIPHON_OPT_STRING, PER_STREAM, NULL,
     "INCREMENTAL reads only what is new since the bookmark; FULL_TABLE reads everything.",
     NULL, "INCREMENTAL|FULL_TABLE"},
    {"full_sync_interval_days", SIPHON_OPT_NUMBER, PER_STREAM, NULL,
     "For an INCREMENTAL stream: read it in full again when its last full read is older than "
     "this many days (the additional full sync).", NULL, NULL},
    {"selected", SIPHON_OPT_BOOL, PER_STREAM, NULL,
     "false skips the stream, true reads it even when a catalog deselects it.", NULL, NULL},
    {"stream_maps", SIPHON_OPT_JSON, PER_STREAM, NULL,
     "Stream maps for this stream only; accepted and passed through.", NULL, NULL},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static sx_options top_opts, stream_opts;
static json_t *top_defaults[COUNT(host_top)];
static json_t *stream_defaults[COUNT(host_stream)];
static pthread_once_t opts_once = PTHREAD_ONCE_INIT;

/* The tables are built once and live for the whole process, like a plugin's. */
static void build(const siphon_option *src, size_t n, json_t **defaults, sx_options *out)
{
    for (size_t i = 0; i < n; i++)
        defaults[i] = src[i].default_json
                          ? json_loads(src[i].default_json, JSON_DECODE_ANY, NULL)
                          : NULL;
    out->items = (siphon_option *)src;
    out->defaults = defaults;
    out->n = n;
}

static void build_all(void)
{
    build(host_top, COUNT(host_top), top_defaults, &top_opts);
    build(host_stream, COUNT(host_stream), stream_defaults, &stream_opts);
}

const sx_options *sx_host_options(void)
{
    pthread_once(&opts_once, build_all);
    return &top_opts;
}

const sx_options *sx_host_stream_options(void)
{
    pthread_once(&opts_once, build_all);
    return &stream_opts;
}

static int int_range(const json_t *v, long long lo, long long hi, char *why, size_t cap)
{
    long long n = json_integer_value(v);
    if (n >= lo && n <= hi)
        return 0;
    if (hi == 0x7fffffffLL)
        snprintf(why, cap, "expected an integer of at least %lld, found %lld", lo, n);
    else
        snprintf(why, cap, "expected an integer from %lld to %lld, found %lld", lo, hi, n);
    return -1;
}

static int positive(const json_t *v, char *why, size_t cap)
{
    double d = json_number_value(v);
    if (d > 0)
        return 0;
    char text[64];
    sx_json_describe(v, 1, text, sizeof text);
    snprintf(why, cap, "expected a number greater than 0, found %s", text);
    return -1;
}

static int shape(const json_t *v, json_type want, const char *expected, char *why, size_t cap)
{
    if (json_typeof(v) == want)
        return 0;
    char text[128];
    sx_json_describe(v, 1, text, sizeof text);
    snprintf(why, cap, "expected %s, found %s", expected, text);
    return -1;
}

int sx_host_option_check(const char *name, const json_t *v, char *why, size_t cap)
{
    if (strcmp(name, "workers") == 0)
        return int_range(v, 1, 64, why, cap);
    if (strcmp(name, "http_max_attempts") == 0)
        return int_range(v, 1, 100, why, cap);
    if (strcmp(name, "checkpoint_records") == 0)
        return int_range(v, 1, 0x7fffffffLL, why, cap);
    if (strcmp(name, "http_timeout_s") == 0 || strcmp(name, "checkpoint_seconds") == 0 ||
        strcmp(name, "full_sync_interval_days") == 0 || strcmp(name, "rate_window_s") == 0)
        return positive(v, why, cap);
    if (strcmp(name, "streams") == 0 || strcmp(name, "stream_maps") == 0)
        return shape(v, JSON_OBJECT, "an object", why, cap);
    if (strcmp(name, "transforms") == 0)
        return shape(v, JSON_ARRAY, "an array", why, cap);
    if (strcmp(name, "sink") == 0) {
        if (json_is_string(v) || json_is_object(v))
            return 0;
        return shape(v, JSON_STRING, "a sink name or an object with \"type\"", why, cap);
    }
    if (strcmp(name, "select") == 0) {
        if (shape(v, JSON_ARRAY, "an array of stream or group names", why, cap) != 0)
            return -1;
        if (json_array_size(v) == 0) {
            snprintf(why, cap, "expected an array of stream or group names, found an empty array");
            return -1;
        }
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item) {
            if (!json_is_string(item)) {
                char text[128];
                sx_json_describe(item, 1, text, sizeof text);
                snprintf(why, cap, "item %zu: expected a stream or group name, found %s", i, text);
                return -1;
            }
        }
    }
    return 0;
}
