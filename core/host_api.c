/*
 * host_api.c: the services table plugins call (siphon_host_api), mapped onto
 * the run: config lookups, the record path, state, parents, HTTP.
 *
 * The record path (emit_record) runs once per record on a worker thread, so
 * it does only what a record needs: parent codes, the bookmark, drift
 * detection, property selection, then the queue.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <siphon/siphon-json.h>

#include "log.h"
#include "mask.h"
#include "record_check.h"
#include "run.h"

int64_t sx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sx_stamp_ms(void)
{
    struct timespec ts;
#ifdef CLOCK_REALTIME_COARSE
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
#else
    clock_gettime(CLOCK_REALTIME, &ts);
#endif
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sx_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *ctx_component(siphon_ctx *ctx)
{
    if (ctx->kind == SX_CTX_SINK && ctx->sink)
        return ctx->sink->vt.base.name;
    if (ctx->stream)
        return ctx->stream->vt.base.name;
    return NULL;
}

__attribute__((format(printf, 3, 0)))
static void api_vlog(siphon_ctx *ctx, int level, const char *fmt, va_list ap)
{
    sx_vlog(level, ctx ? ctx_component(ctx) : NULL, fmt, ap);
}

__attribute__((format(printf, 2, 0)))
static void api_vset_error(siphon_ctx *ctx, const char *fmt, va_list ap)
{
    if (ctx == NULL)
        return;
    char raw[sizeof ctx->error];
    vsnprintf(raw, sizeof raw, fmt, ap);
    sx_mask(raw, ctx->error, sizeof ctx->error);
}

/* --- the batch of messages for the writer --- */

static void batch_drop(siphon_ctx *ctx, size_t from)
{
    for (size_t i = from; i < ctx->n_batch; i++)
        sx_msg_release(&ctx->batch[i]);
    ctx->n_batch = 0;
}

int sx_ctx_flush(siphon_ctx *ctx)
{
    if (ctx->n_batch == 0)
        return 0;
    size_t pushed = 0;
    int rc = sx_queue_push_many(ctx->run->queue, ctx->batch, ctx->n_batch, &pushed);
    if (rc != 0) {
        batch_drop(ctx, pushed);
        return -1;
    }
    ctx->n_batch = 0;
    return 0;
}

int sx_ctx_queue(siphon_ctx *ctx, const sx_msg *msg)
{
    ctx->batch[ctx->n_batch++] = *msg;
    return ctx->n_batch == SX_CTX_BATCH ? sx_ctx_flush(ctx) : 0;
}

/* --- configuration --- */

static const json_t *ctx_config_value(siphon_ctx *ctx, const char *name)
{
    if (ctx == NULL || name == NULL)
        return NULL;
    if (ctx->kind == SX_CTX_SINK)
        return sx_config_sink_value(&ctx->run->config, name);
    return sx_config_source_value(&ctx->run->config, ctx->stream, name);
}

static const char *api_config_string(siphon_ctx *ctx, const char *name)
{
    const json_t *v = ctx_config_value(ctx, name);
    if (v == NULL || json_is_null(v))
        return NULL;
    if (json_is_string(v))
        return json_string_value(v);
    /* A number or boolean asked for as a string: its JSON text, kept with the
     * ctx until the callback ends. */
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (text == NULL)
        return NULL;
    snprintf(ctx->scratch, sizeof ctx->scratch, "%s", text);
    free(text);
    return ctx->scratch;
}

static int api_config_int(siphon_ctx *ctx, const char *name, int64_t *value)
{
    long long v;
    const json_t *j = ctx_config_value(ctx, name);
    if (j == NULL || sx_json_to_int(j, &v) != 0)
        return SIPHON_E_CONFIG;
    *value = v;
    return SIPHON_OK;
}

static int api_config_number(siphon_ctx *ctx, const char *name, double *value)
{
    const json_t *j = ctx_config_value(ctx, name);
    if (j == NULL || sx_json_to_number(j, value) != 0)
        return SIPHON_E_CONFIG;
    return SIPHON_OK;
}

static int api_config_bool(siphon_ctx *ctx, const char *name, int *value)
{
    const json_t *j = ctx_config_value(ctx, name);
    if (j == NULL || sx_json_to_bool(j, value) != 0)
        return SIPHON_E_CONFIG;
    return SIPHON_OK;
}

static const json_t *api_config_json(siphon_ctx *ctx, const char *name)
{
    return ctx_config_value(ctx, name);
}

/* --- the current stream --- */

static const char *api_stream_name(siphon_ctx *ctx)
{
    return ctx && ctx->stream ? ctx->stream->vt.base.name : NULL;
}

static int api_sync_mode(siphon_ctx *ctx)
{
    return ctx ? ctx->mode : SIPHON_SYNC_FULL_TABLE;
}

static const char *api_start_value(siphon_ctx *ctx)
{
    if (ctx == NULL || ctx->task == NULL || ctx->mode != SIPHON_SYNC_INCREMENTAL)
        return NULL;
    return ctx->task->start_value;
}

static int api_set_signpost(siphon_ctx *ctx, const char *value)
{
    if (ctx == NULL || value == NULL)
        return SIPHON_E_INVALID;
    if (ctx->task == NULL)
        return SIPHON_OK; /* collecting: no bookmark to bound */
    char *copy = strdup(value);
    if (copy == NULL)
        return SIPHON_E_NOMEM;
    free(ctx->task->signpost);
    ctx->task->signpost = copy;
    return SIPHON_OK;
}

static const json_t *api_state_get(siphon_ctx *ctx, const char *key)
{
    if (ctx == NULL || ctx->stream == NULL || key == NULL || ctx->run->input_state == NULL)
        return NULL;
    return sx_state_extra(ctx->run->input_state, ctx->stream->vt.base.name, ctx->context, key);
}

static int api_state_put(siphon_ctx *ctx, const char *key, json_t *value)
{
    if (ctx == NULL || key == NULL || value == NULL) {
        json_decref(value);
        return SIPHON_E_INVALID;
    }
    if (ctx->task == NULL) { /* collecting related records: nothing is persisted */
        json_decref(value);
        return SIPHON_OK;
    }
    sx_msg msg = {.type = SX_MSG_STATE_PUT, .job = ctx->job, .task = ctx->task,
                  .value = value, .text = strdup(key)};
    if (msg.text == NULL) {
        json_decref(value);
        return SIPHON_E_NOMEM;
    }
    return sx_ctx_queue(ctx, &msg) == 0 ? SIPHON_OK : SIPHON_E_CANCELLED;
}

/* --- records --- */

void sx_job_note_unknown_key(sx_job *job, const char *key, size_t len)
{
    char *name = strndup(key, len);
    if (name == NULL)
        return;
    pthread_mutex_lock(&job->lock);
    int first = json_object_get(job->warned_keys, name) == NULL;
    if (first)
        json_object_set_new_nocheck(job->warned_keys, name, json_true());
    pthread_mutex_unlock(&job->lock);
    free(name);
    if (first)
        sx_log(SIPHON_LOG_WARN, job->name,
               "records carry the key '%.*s', which the schema does not declare; it is "
               "passed through (warned once)", (int)len, key);
}

/* Warns once per stream and key about a key the schema does not declare. */
static void note_drift(sx_job *job, const json_t *record)
{
    const json_t *props = json_object_get(job->entry->schema, "properties");
    if (!json_is_object(props))
        return;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)record, key, v) {
        (void)v;
        if (json_object_get(props, key) == NULL)
            sx_job_note_unknown_key(job, key, strlen(key));
    }
}

/* Byte order, as strcmp compares: the replication key compares as text. */
static int compare_text(const char *a, size_t alen, const char *b, size_t blen)
{
    int cmp = memcmp(a, b, alen < blen ? alen : blen);
    if (cmp != 0)
        return cmp;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

void sx_task_track_value(sx_task *task, const char *s, size_t n)
{
    if (task->max_value == NULL) {
        task->max_value = strndup(s, n);
        task->max_len = n;
        task->max_cap = n + 1;
        return;
    }
    int cmp = compare_text(s, n, task->max_value, task->max_len);
    if (cmp > 0) {
        if (n < task->max_cap) {
            memcpy(task->max_value, s, n);
            task->max_value[n] = '\0';
        } else {
            char *copy = strndup(s, n);
            if (copy == NULL)
                return;
            free(task->max_value);
            task->max_value = copy;
            task->max_cap = n + 1;
        }
        task->max_len = n;
    } else if (cmp < 0) {
        task->unsorted = 1;
    }
}

/* Tracks the highest replication value; a lower one marks the partition as
 * unsorted, so its bookmark waits for the partition's end. */
static void track_bookmark(sx_task *task, const char *rk, const json_t *record)
{
    const json_t *v = json_object_get(record, rk);
    if (json_is_string(v))
        sx_task_track_value(task, json_string_value(v), json_string_length(v));
}

/* parsed: the record comes from jansson's parser, which already refused
 * what sx_record_check looks for. */
static int emit(siphon_ctx *ctx, const char *stream, json_t *record, int parsed)
{
    if (ctx == NULL || ctx->kind != SX_CTX_STREAM || record == NULL) {
        json_decref(record);
        return SIPHON_E_INVALID;
    }
    const char *own = ctx->stream->vt.base.name;
    if (stream != NULL && strcmp(stream, own) != 0) {
        json_decref(record);
        snprintf(ctx->error, sizeof ctx->error,
                 "plugin '%s' emitted a record for stream '%s', which it does not own (it owns "
                 "'%s')", ctx->stream->plugin->desc->name, stream, own);
        return SIPHON_E_NOT_OWNER;
    }
    if (!json_is_object(record)) {
        json_decref(record);
        snprintf(ctx->error, sizeof ctx->error, "plugin '%s' emitted a record that is not a JSON object",
                 ctx->stream->plugin->desc->name);
        return SIPHON_E_INVALID;
    }
    if (ctx->run->stop) {
        json_decref(record);
        return SIPHON_E_CANCELLED;
    }
    if (ctx->context != NULL)
        json_object_update_missing(record, (json_t *)ctx->context);
    char why[512];
    if (!parsed && sx_record_check(record, why, sizeof why) != 0) {
        /* Refused here, once, rather than failed by each sink its own way. */
        json_decref(record);
        snprintf(ctx->error, sizeof ctx->error, "plugin '%s' emitted a record the host refuses: %s",
                 ctx->stream->plugin->desc->name, why);
        return SIPHON_E_INVALID;
    }
    if (ctx->collect != NULL) {
        json_array_append_new(ctx->collect, record);
        return SIPHON_OK;
    }
    sx_job *job = ctx->job;
    note_drift(job, record);
    if (job->replication_key != NULL)
        track_bookmark(ctx->task, job->replication_key, record);
    sx_catalog_filter_record(job->entry, record);
    if (job->map != NULL) {
        int keep = sx_stream_map_apply(job->map, record, ctx->error, sizeof ctx->error);
        if (keep <= 0) {
            json_decref(record);
            return keep == 0 ? SIPHON_OK : SIPHON_E_INVALID;
        }
    }
    ctx->task->records++;
    atomic_fetch_add(&job->records, 1);
    sx_msg msg = {.type = SX_MSG_RECORD, .job = job, .task = ctx->task, .value = record,
                  .extracted_ms = sx_stamp_ms()};
    return sx_ctx_queue(ctx, &msg) == 0 ? SIPHON_OK : SIPHON_E_CANCELLED;
}

/* Records as text: they stay text when the job allows it (sx_emit_text),
 * and become trees otherwise, or when the text needs what only a tree can
 * give (an escaped key, a repeated key). */
static int emit_text(siphon_ctx *ctx, const char *json, size_t len, const sx_text_facts *facts)
{
    if (ctx == NULL || ctx->kind != SX_CTX_STREAM || json == NULL)
        return SIPHON_E_INVALID;
    if (ctx->run->stop)
        return SIPHON_E_CANCELLED;
    if (ctx->collect == NULL && ctx->job != NULL && ctx->job->text_ok) {
        int rc = sx_emit_text(ctx, json, len, facts);
        if (rc != SX_EMIT_NEEDS_TREE)
            return rc;
    }
    json_error_t e;
    json_t *record = json_loadb(json, len, JSON_ALLOW_NUL, &e);
    if (!json_is_object(record)) {
        json_decref(record);
        const char *plugin = ctx->stream ? ctx->stream->plugin->desc->name : "?";
        if (record != NULL) {
            snprintf(ctx->error, sizeof ctx->error,
                     "plugin '%s' emitted record text that is not one JSON object (another JSON "
                     "value)", plugin);
            return SIPHON_E_INVALID;
        }
        /* Name the member: "too big integer" alone does not say which. */
        char member[256];
        siphon_json_path_at(json, len, e.position > 0 ? (size_t)e.position : 0, member,
                        sizeof member);
        snprintf(ctx->error, sizeof ctx->error,
                 "plugin '%s' emitted record text that is not one JSON object (%s; member '%s', "
                 "byte %d)", plugin, e.text, member[0] ? member : "(top level)", e.position);
        return SIPHON_E_INVALID;
    }
    return emit(ctx, NULL, record, 1);
}

static int api_emit_raw(siphon_ctx *ctx, const char *json, size_t len)
{
    return emit_text(ctx, json, len, NULL);
}

static int api_emit_raw_checked(siphon_ctx *ctx, const char *json, size_t len,
                                const siphon_json_member *members, size_t n_members, int compact)
{
    sx_text_facts facts = {members, n_members, compact};
    return emit_text(ctx, json, len, &facts);
}

static int api_emit_record(siphon_ctx *ctx, const char *stream, json_t *record)
{
    return emit(ctx, stream, record, 0);
}

/* The bookmark a partition may commit now: the highest value seen, bounded
 * by the signpost; none for an unsorted partition (it waits for its end) or
 * outside INCREMENTAL runs (FULL_TABLE sets bookmarks when it completes). */
static char *checkpoint_value(const siphon_ctx *ctx)
{
    const sx_task *task = ctx->task;
    if (ctx->mode != SIPHON_SYNC_INCREMENTAL || task->unsorted || task->max_value == NULL)
        return NULL;
    const char *v = task->max_value;
    if (task->signpost != NULL && strcmp(v, task->signpost) > 0)
        v = task->signpost;
    return strdup(v);
}

static int api_checkpoint(siphon_ctx *ctx)
{
    if (ctx == NULL || ctx->kind != SX_CTX_STREAM)
        return SIPHON_E_INVALID;
    if (ctx->task == NULL)
        return ctx->run->stop ? SIPHON_E_CANCELLED : SIPHON_OK;
    sx_msg msg = {.type = SX_MSG_CHECKPOINT, .job = ctx->job, .task = ctx->task,
                  .text = checkpoint_value(ctx)};
    if (sx_ctx_queue(ctx, &msg) != 0 || sx_ctx_flush(ctx) != 0)
        return SIPHON_E_CANCELLED;
    return SIPHON_OK;
}

static int api_related_records(siphon_ctx *ctx, const char *stream, const json_t **records)
{
    if (ctx == NULL || stream == NULL || records == NULL)
        return SIPHON_E_INVALID;
    sx_stream *other = sx_registry_stream(&ctx->run->registry, stream);
    if (other == NULL || other->source != ctx->run->src.source) {
        snprintf(ctx->error, sizeof ctx->error, "related stream '%s' is not a stream of source '%s'",
                 stream, ctx->run->src.source->name);
        return SIPHON_E_INVALID;
    }
    return sx_related_get(ctx->run, other, records, ctx->error, sizeof ctx->error);
}

/* --- HTTP and the session --- */

/* Counts an answer's attempts for the job and keeps a failure's message. */
static int http_outcome(siphon_ctx *ctx, int rc, const siphon_http_response *resp,
                        const char *message)
{
    if (ctx->job != NULL) {
        atomic_fetch_add(&ctx->job->requests, resp->attempts ? resp->attempts : 1);
        if (resp->attempts > 1)
            atomic_fetch_add(&ctx->job->retries, resp->attempts - 1);
    }
    if (rc != SIPHON_OK) {
        sx_mask(message, ctx->error, sizeof ctx->error);
        if (rc == SIPHON_E_AUTH)
            ctx->status_hint = SX_EXIT_AUTH;
    }
    return rc;
}

static int api_http(siphon_ctx *ctx, const siphon_http_request *req, siphon_http_response *resp)
{
    if (ctx == NULL || req == NULL || resp == NULL || ctx->stream == NULL)
        return SIPHON_E_INVALID;
    sx_source_rt *rt = &ctx->run->src;
    sx_login_user lu = {ctx->run, ctx->stream};
    sx_http_auth auth = {rt->session, sx_source_login, &lu};
    char message[sizeof ctx->error];
    message[0] = '\0';
    memset(resp, 0, sizeof *resp);
    resp->struct_size = sizeof *resp;
    int rc = sx_http_perform(rt->http, req, &auth, &ctx->body, resp, &ctx->run->stop, message,
                             sizeof message);
    return http_outcome(ctx, rc, resp, message);
}

/* One of the run's slots for a request ahead, if one is free. */
static int take_ahead_slot(sx_run *run)
{
    int used = atomic_load(&run->ahead_in_use);
    while (used < run->ahead_slots)
        if (atomic_compare_exchange_weak(&run->ahead_in_use, &used, used + 1))
            return 1;
    return 0;
}

/* The started request is done with (answered or cancelled): its slot frees. */
static int end_ahead(siphon_ctx *ctx, int rc)
{
    if (ctx->ahead_slot)
        atomic_fetch_sub(&ctx->run->ahead_in_use, 1);
    ctx->ahead_slot = 0;
    return rc;
}

static int api_http_start(siphon_ctx *ctx, const siphon_http_request *req)
{
    if (ctx == NULL || req == NULL || ctx->stream == NULL)
        return SIPHON_E_INVALID;
    if (ctx->ahead != NULL) {
        snprintf(ctx->error, sizeof ctx->error,
                 "plugin '%s' started a request while another it started was not finished "
                 "(http_start allows one at a time per stream)", ctx->stream->plugin->desc->name);
        return SIPHON_E_INVALID;
    }
    sx_source_rt *rt = &ctx->run->src;
    /* the login may happen on the helper, after this call: its user lives in the ctx */
    ctx->ahead_login = (sx_login_user){ctx->run, ctx->stream};
    sx_http_auth auth = {rt->session, sx_source_login, &ctx->ahead_login};
    char message[sizeof ctx->error];
    /* without a free slot the request is still accepted, and sent when
     * http_finish asks for it, so the plugin needs no second path */
    ctx->ahead_slot = ctx->run->read_ahead && take_ahead_slot(ctx->run);
    /* A deferred request is sent when the last answer is no longer valid, so
     * it can take that answer's buffer: only a request really ahead costs a
     * second page of memory. */
    sx_http_buffer *into = ctx->ahead_slot ? &ctx->ahead_body : &ctx->body;
    int rc = sx_http_start(rt->http, req, &auth, into, ctx->ahead_slot, &ctx->ahead, message,
                           sizeof message);
    if (rc != SIPHON_OK)
        sx_mask(message, ctx->error, sizeof ctx->error);
    return rc == SIPHON_OK ? rc : end_ahead(ctx, rc);
}

static int api_http_finish(siphon_ctx *ctx, siphon_http_response *resp)
{
    if (ctx == NULL || ctx->stream == NULL)
        return SIPHON_E_INVALID;
    if (ctx->ahead == NULL) {
        snprintf(ctx->error, sizeof ctx->error,
                 "plugin '%s' asked for the answer of a request it never started "
                 "(http_finish without http_start)", ctx->stream->plugin->desc->name);
        return SIPHON_E_INVALID;
    }
    sx_http_pending *p = ctx->ahead;
    ctx->ahead = NULL;
    if (resp == NULL)
        return end_ahead(ctx, sx_http_finish(p, NULL, NULL, NULL, 0));
    char message[sizeof ctx->error];
    memset(resp, 0, sizeof *resp);
    resp->struct_size = sizeof *resp;
    int sent_ahead = ctx->ahead_slot;
    int rc = end_ahead(ctx, sx_http_finish(p, resp, &ctx->run->stop, message, sizeof message));
    if (sent_ahead) {
        /* The answer is in ahead_body: it becomes the current body, and the
         * previous answer's buffer receives the next request sent ahead. */
        sx_http_buffer previous = ctx->body;
        ctx->body = ctx->ahead_body;
        ctx->ahead_body = previous;
    }
    return http_outcome(ctx, rc, resp, message);
}

static int api_session_token(siphon_ctx *ctx, char *buf, size_t cap)
{
    if (ctx == NULL || buf == NULL || cap == 0 || ctx->stream == NULL)
        return SIPHON_E_INVALID;
    sx_login_user lu = {ctx->run, ctx->stream};
    int rc = sx_session_get(ctx->run->src.session, buf, cap, sx_source_login, &lu, ctx->error,
                            sizeof ctx->error);
    if (rc == SIPHON_E_AUTH)
        ctx->status_hint = SX_EXIT_AUTH;
    return rc;
}

static void api_session_invalidate(siphon_ctx *ctx, const char *token)
{
    if (ctx != NULL && ctx->run->src.session != NULL)
        sx_session_invalidate(ctx->run->src.session, token);
}

/* --- time and cancellation --- */

static int64_t api_now_ms(siphon_ctx *ctx)
{
    (void)ctx;
    return sx_now_ms();
}

static int64_t api_monotonic_ms(siphon_ctx *ctx)
{
    (void)ctx;
    return sx_mono_ms();
}

static int api_should_stop(siphon_ctx *ctx)
{
    return ctx != NULL && ctx->run->stop;
}

static const siphon_host_api host_api = {
    .struct_size = sizeof(siphon_host_api),
    .abi_major = SIPHON_ABI_MAJOR,
    .abi_minor = SIPHON_ABI_MINOR,
    .vlog = api_vlog,
    .vset_error = api_vset_error,
    .config_string = api_config_string,
    .config_int = api_config_int,
    .config_number = api_config_number,
    .config_bool = api_config_bool,
    .config_json = api_config_json,
    .stream_name = api_stream_name,
    .sync_mode = api_sync_mode,
    .start_value = api_start_value,
    .set_signpost = api_set_signpost,
    .state_get = api_state_get,
    .state_put = api_state_put,
    .emit_record = api_emit_record,
    .checkpoint = api_checkpoint,
    .related_records = api_related_records,
    .http = api_http,
    .session_token = api_session_token,
    .session_invalidate = api_session_invalidate,
    .now_ms = api_now_ms,
    .monotonic_ms = api_monotonic_ms,
    .should_stop = api_should_stop,
    .emit_raw = api_emit_raw,
    .emit_raw_checked = api_emit_raw_checked,
    .http_start = api_http_start,
    .http_finish = api_http_finish,
};

const siphon_host_api *sx_host_api(void)
{
    return &host_api;
}

void sx_ctx_init(siphon_ctx *ctx, sx_run *run, int kind)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->api = &host_api;
    ctx->run = run;
    ctx->kind = kind;
    ctx->mode = SIPHON_SYNC_FULL_TABLE;
}

void sx_ctx_release(siphon_ctx *ctx)
{
    /* a request the plugin started and never collected: the helper must be
     * done with the buffer and the login user before they go */
    if (ctx->ahead != NULL) {
        end_ahead(ctx, sx_http_finish(ctx->ahead, NULL, NULL, NULL, 0));
        ctx->ahead = NULL;
    }
    sx_http_buffer_free(&ctx->ahead_body);
    batch_drop(ctx, 0);
    sx_emit_text_release(ctx);
    sx_http_buffer_free(&ctx->body);
}
