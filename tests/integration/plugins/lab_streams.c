/*
 * lab: a test-only source whose streams exercise the host without a network.
 *
 *   steady    lab_records records, ascending replication key "seq"
 *   parent    lab_parents records; the parent of "child"
 *   child     lab_children records per parent (PARALLEL_SAFE partitions)
 *   unsorted  lab_records records whose replication values go down then up
 *   failing   fails with a message after lab_records records
 *   crashing  dereferences NULL after lab_records records (a segfaulting plugin)
 *   aborting  calls abort() after lab_records records
 *   foreign   emits a record for "steady", which it does not own
 *   garbage   emits a JSON array instead of an object
 *   ahead     the rules of http_start/http_finish, one record per rule kept,
 *             and a request left started for the host to cancel
 *
 * "failing", "crashing", "aborting", "foreign" and "garbage" are the
 * misbehaving third-party plugins of the reliability tests.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <siphon/siphon.h>

static const siphon_option lab_options[] = {
    {"lab_records", SIPHON_OPT_INT, 0, "10", "Records per plain stream", NULL, NULL},
    {"lab_parents", SIPHON_OPT_INT, 0, "3", "Records of the parent stream", NULL, NULL},
    {"lab_children", SIPHON_OPT_INT, 0, "4", "Child records per parent", NULL, NULL},
    {"lab_page", SIPHON_OPT_INT, 0, "5", "Records between checkpoints", NULL, NULL},
    {"lab_secret", SIPHON_OPT_STRING, SIPHON_OPT_SECRET, NULL,
     "A secret the streams log and put in errors, to prove it is masked", "LAB_SECRET", NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};

static const siphon_source lab_source = {
    .struct_size = sizeof(siphon_source),
    .name = "lab",
    .description = "Test streams without a network",
    .options = lab_options,
    .option_size = sizeof(siphon_option),
};

static const char lab_schema[] =
    "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},"
    "\"seq\":{\"type\":\"string\"},\"parent_id\":{\"type\":[\"null\",\"integer\"]},"
    "\"note\":{\"type\":[\"null\",\"string\"]}}}";

static const char *const lab_keys[] = {"id", NULL};
static const char *const child_keys[] = {"parent_id", "id", NULL};
static const char *const lab_groups[] = {"lab", NULL};

static int64_t opt(siphon_ctx *ctx, const char *name)
{
    int64_t v = 0;
    siphon_api(ctx)->config_int(ctx, name, &v);
    return v;
}

/* Emits ids [0, n) with seq values from seq_of, from the bookmark on. */
static int emit_range(siphon_ctx *ctx, int64_t n, int64_t parent, int64_t (*seq_of)(int64_t))
{
    const siphon_host_api *api = siphon_api(ctx);
    const char *from = api->sync_mode(ctx) == SIPHON_SYNC_INCREMENTAL ? api->start_value(ctx) : NULL;
    int64_t page = opt(ctx, "lab_page");
    const char *secret = api->config_string(ctx, "lab_secret");
    for (int64_t i = 0; i < n; i++) {
        char seq[32];
        snprintf(seq, sizeof seq, "%010lld", (long long)seq_of(i));
        if (from != NULL && strcmp(seq, from) < 0)
            continue;
        json_t *rec = json_pack("{s:I, s:s}", "id", (json_int_t)i, "seq", seq);
        if (parent >= 0)
            json_object_set_new(rec, "parent_id", json_integer(parent));
        int rc = api->emit_record(ctx, NULL, rec);
        if (rc != SIPHON_OK)
            return rc;
        if (page > 0 && (i + 1) % page == 0 && (rc = api->checkpoint(ctx)) != SIPHON_OK)
            return rc;
    }
    if (secret != NULL)
        siphon_log(ctx, SIPHON_LOG_INFO, "done (the secret is %s)", secret);
    return SIPHON_OK;
}

static int64_t seq_identity(int64_t i) { return i; }
static int64_t seq_zigzag(int64_t i) { return i % 2 ? i : 1000 - i; }

static int read_steady(siphon_ctx *ctx, const json_t *context)
{
    (void)context;
    return emit_range(ctx, opt(ctx, "lab_records"), -1, seq_identity);
}

static int read_parent(siphon_ctx *ctx, const json_t *context)
{
    (void)context;
    return emit_range(ctx, opt(ctx, "lab_parents"), -1, seq_identity);
}

static int partition_child(siphon_ctx *ctx, const json_t *parent, json_t **context)
{
    (void)ctx;
    *context = json_pack("{s:O}", "parent_id", json_object_get(parent, "id"));
    return SIPHON_OK;
}

static int read_child(siphon_ctx *ctx, const json_t *context)
{
    json_int_t parent = json_integer_value(json_object_get(context, "parent_id"));
    return emit_range(ctx, opt(ctx, "lab_children"), (int64_t)parent, seq_identity);
}

static int read_unsorted(siphon_ctx *ctx, const json_t *context)
{
    (void)context;
    return emit_range(ctx, opt(ctx, "lab_records"), -1, seq_zigzag);
}

static int read_failing(siphon_ctx *ctx, const json_t *context)
{
    (void)context;
    int rc = emit_range(ctx, opt(ctx, "lab_records"), -1, seq_identity);
    if (rc != SIPHON_OK)
        return rc;
    const char *secret = siphon_api(ctx)->config_string(ctx, "lab_secret");
    siphon_set_error(ctx, "the lab API answered error 999 (secret %s)", secret ? secret : "-");
    return SIPHON_E_API;
}

static int read_crashing(siphon_ctx *ctx, const json_t *context)
{
    (void)context;
    int rc = emit_range(ctx, opt(ctx, "lab_records"), -1, seq_identity);
    if (rc != SIPHON_OK)
        return rc;
    volatile int *nowhere = NULL;
    return *nowhere;
}

static int read_aborting(siphon_ctx *ctx, const json_t *context)
{
    (void)context;
    int rc = emit_range(ctx, opt(ctx, "lab_records"), -1, seq_identity);
    if (rc == SIPHON_OK)
        abort();
    return rc;
}

static int read_foreign(siphon_ctx *ctx, const json_t *context)
{
    (void)context;
    return siphon_api(ctx)->emit_record(ctx, "steady", json_pack("{s:i, s:s}", "id", 1, "seq", "x"));
}

static int read_garbage(siphon_ctx *ctx, const json_t *context)
{
    (void)context;
    return siphon_api(ctx)->emit_record(ctx, NULL, json_pack("[i]", 1));
}

/* A server that never answers: nothing listens on the discard port, so
 * every attempt fails and the request backs off and retries (for minutes with
 * http_max_attempts 100) until someone cancels it. */
#define NOWHERE "http://127.0.0.1:9/never"

static int rule_kept(siphon_ctx *ctx, int64_t id, const char *rule)
{
    return siphon_api(ctx)->emit_record(ctx, NULL, json_pack("{s:I, s:s, s:s}", "id",
                                                             (json_int_t)id, "seq", "0", "note",
                                                             rule));
}

static int read_ahead(siphon_ctx *ctx, const json_t *context)
{
    (void)context;
    const siphon_host_api *api = siphon_api(ctx);
    if (!SIPHON_HOST_HAS(api, http_finish))
        return SIPHON_E_UNSUPPORTED;
    siphon_http_response resp = {.struct_size = sizeof resp};
    int rc = api->http_finish(ctx, &resp);
    if (rc != SIPHON_E_INVALID || (rc = rule_kept(ctx, 1, "finish without a start")) != 0)
        return rc == SIPHON_OK ? SIPHON_E_INTERNAL : rc;
    siphon_http_request req = {.struct_size = sizeof req, .method = "GET", .path = NOWHERE};
    if ((rc = api->http_start(ctx, &req)) != SIPHON_OK)
        return rc;
    rc = api->http_start(ctx, &req);
    if (rc != SIPHON_E_INVALID || (rc = rule_kept(ctx, 2, "one request at a time")) != 0)
        return rc == SIPHON_OK ? SIPHON_E_INTERNAL : rc;
    /* the first request is still started: returning leaves it to the host */
    return rule_kept(ctx, 3, "left started");
}

#define LAB_STREAM(var, name_, read_, parent_, part_, keys_, caps_)            \
    static const siphon_stream_vtable var = {                                 \
        .base = {.struct_size = sizeof(siphon_stream_vtable),                 \
                 .kind = SIPHON_KIND_STREAM, .name = name_,                   \
                 .description = "lab stream " name_, .caps = caps_,           \
                 .option_size = sizeof(siphon_option)},                       \
        .source = &lab_source, .key_properties = keys_,                       \
        .replication_key = "seq", .parent = parent_, .groups = lab_groups,    \
        .schema_json = lab_schema, .partition = part_, .read = read_,         \
    }

LAB_STREAM(lab_steady, "steady", read_steady, NULL, NULL, lab_keys, 0);
LAB_STREAM(lab_parent, "parent", read_parent, NULL, NULL, lab_keys, 0);
LAB_STREAM(lab_child, "child", read_child, "parent", partition_child, child_keys,
           SIPHON_CAP_PARALLEL_SAFE);
LAB_STREAM(lab_unsorted, "unsorted", read_unsorted, NULL, NULL, lab_keys, 0);
LAB_STREAM(lab_failing, "failing", read_failing, NULL, NULL, lab_keys, 0);
LAB_STREAM(lab_crashing, "crashing", read_crashing, NULL, NULL, lab_keys, 0);
LAB_STREAM(lab_aborting, "aborting", read_aborting, NULL, NULL, lab_keys, 0);
LAB_STREAM(lab_foreign, "foreign", read_foreign, NULL, NULL, lab_keys, 0);
LAB_STREAM(lab_garbage, "garbage", read_garbage, NULL, NULL, lab_keys, 0);
LAB_STREAM(lab_ahead, "ahead", read_ahead, NULL, NULL, lab_keys, 0);

static const siphon_component *const lab_components[] = {
    &lab_steady.base, &lab_parent.base, &lab_child.base, &lab_unsorted.base, &lab_failing.base,
    &lab_crashing.base, &lab_aborting.base, &lab_foreign.base, &lab_garbage.base, &lab_ahead.base, NULL};

SIPHON_PLUGIN_DEFINE("lab-streams", "1.0.0", "MIT", "Test streams for the host's own tests",
                     lab_components);
