/*
 * related.c: streams read in full once per run and shared — contact lists for
 * every child stream, fields for list_of_values and the contacts schema.
 *
 * Every request spends the source's budget, so a parent is read exactly once
 * however many streams need it (single flight: later callers wait for the
 * first), even when the parent stream itself is not selected.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"
#include "http.h"
#include "log.h"
#include "run.h"

/* A parent chain deeper than this is a cycle in the plugins' declarations. */
#define RELATED_MAX_DEPTH 8

int sx_stream_read(siphon_ctx *ctx, const json_t *context)
{
    sx_crash_enter(ctx->stream->plugin, ctx->stream->vt.base.name, "read");
    int rc = ctx->stream->vt.read(ctx, context);
    sx_crash_leave();
    return rc;
}

static sx_related *related_slot(sx_run *run, const sx_stream *stream)
{
    for (size_t i = 0; i < run->n_related; i++)
        if (run->related[i].stream == stream)
            return &run->related[i];
    return NULL;
}

static int related_get_depth(sx_run *run, sx_stream *stream, const json_t **records,
                             char *message, size_t cap, int depth);

/* Reads one partition of stream into out. */
static int collect_partition(sx_run *run, sx_stream *stream, const json_t *context, json_t *out,
                             char *message, size_t cap)
{
    siphon_ctx ctx;
    sx_ctx_init(&ctx, run, SX_CTX_STREAM);
    ctx.stream = stream;
    ctx.collect = out;
    ctx.context = context;
    ctx.mode = SIPHON_SYNC_FULL_TABLE;
    int rc = sx_stream_read(&ctx, context);
    if (rc != SIPHON_OK) {
        char *where = context ? json_dumps(context, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        snprintf(message, cap, "reading %s%s%.200s: %.700s", stream->vt.base.name,
                 where ? " partition " : "", where ? where : "",
                 ctx.error[0] ? ctx.error : "failed without a message");
        free(where);
    }
    sx_ctx_release(&ctx);
    return rc;
}

/* Calls a child's partition() for one parent record; SIPHON_DONE skips it. */
int sx_stream_partition(sx_run *run, sx_stream *stream, const json_t *parent_record,
                        json_t **context, char *message, size_t cap)
{
    siphon_ctx ctx;
    sx_ctx_init(&ctx, run, SX_CTX_STREAM);
    ctx.stream = stream;
    *context = NULL;
    sx_crash_enter(stream->plugin, stream->vt.base.name, "partition");
    int rc = stream->vt.partition(&ctx, parent_record, context);
    sx_crash_leave();
    if (rc == SIPHON_OK && !json_is_object(*context)) {
        snprintf(message, cap, "stream %s: partition() returned no context object",
                 stream->vt.base.name);
        json_decref(*context);
        *context = NULL;
        rc = SIPHON_E_INTERNAL;
    } else if (rc < 0) {
        snprintf(message, cap, "stream %s: partition(): %s", stream->vt.base.name,
                 ctx.error[0] ? ctx.error : "failed without a message");
    }
    sx_ctx_release(&ctx);
    return rc;
}

sx_stream *sx_stream_parent(sx_run *run, const sx_stream *stream)
{
    if (stream->vt.parent == NULL)
        return NULL;
    sx_stream *p = sx_registry_stream(&run->registry, stream->vt.parent);
    return p != NULL && p->source == stream->source ? p : NULL;
}

/* One partition of a parent read in full, and what became of it. */
typedef struct collect_part {
    json_t *context;
    json_t *records;
    int rc;
    int skipped;              /* not read: another partition had failed */
    char message[1024];
} collect_part;

/* The partitions of one parent, handed out to the threads that read them. */
typedef struct collect_pool {
    sx_run *run;
    sx_stream *stream;
    collect_part *parts;
    size_t n;
    atomic_size_t next;
    atomic_int failed;
} collect_pool;

static void collect_loop(collect_pool *p)
{
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n)
            return;
        collect_part *part = &p->parts[i];
        if (atomic_load(&p->failed) || p->run->stop) {
            part->skipped = 1;
            continue;
        }
        part->records = json_array();
        part->rc = part->records == NULL
                       ? SIPHON_E_NOMEM
                       : collect_partition(p->run, p->stream, part->context, part->records,
                                           part->message, sizeof part->message);
        if (part->rc != SIPHON_OK)
            atomic_store(&p->failed, 1);
    }
}

static void *collect_thread(void *arg)
{
    sx_crash_thread_init();
    collect_loop(arg);
    sx_http_thread_cleanup();
    sx_crash_thread_fini();
    return NULL;
}

/*
 * Reads the partitions of a child stream read in full (fields: one per
 * contact list) with up to `workers` threads, the calling one included: every
 * stream that needs the parent waits for it, and under a request budget the
 * send times of the first window set the pace of every later one (a sliding
 * window lets a request go when the one a window before it leaves), so one
 * request at a time here would slow the whole run. The records keep the
 * parents' order.
 */
static int collect_partitions(sx_run *run, sx_stream *stream, const json_t *parents, json_t *out,
                              char *message, size_t cap)
{
    size_t n_parents = json_array_size(parents), n = 0;
    collect_part *parts = calloc(n_parents ? n_parents : 1, sizeof *parts);
    if (parts == NULL) {
        snprintf(message, cap, "stream %s: out of memory", stream->vt.base.name);
        return SIPHON_E_NOMEM;
    }
    int rc = SIPHON_OK;
    size_t i;
    const json_t *prec;
    json_array_foreach(parents, i, prec) {
        json_t *context;
        int prc = sx_stream_partition(run, stream, prec, &context, message, cap);
        if (prc == SIPHON_DONE)
            continue;
        if (prc != SIPHON_OK) {
            rc = prc;
            break;
        }
        parts[n++].context = context;
    }

    if (rc == SIPHON_OK && n > 0) {
        collect_pool pool = {.run = run, .stream = stream, .parts = parts, .n = n};
        atomic_init(&pool.next, 0);
        atomic_init(&pool.failed, 0);
        size_t helpers = (run->n_workers < n ? run->n_workers : n) - 1, started = 0;
        pthread_t *threads = helpers ? calloc(helpers, sizeof *threads) : NULL;
        for (; threads != NULL && started < helpers; started++)
            if (pthread_create(&threads[started], NULL, collect_thread, &pool) != 0)
                break; /* fewer threads, same result */
        collect_loop(&pool);
        for (size_t t = 0; t < started; t++)
            pthread_join(threads[t], NULL);
        free(threads);
        for (size_t k = 0; k < n && rc == SIPHON_OK; k++) {
            if (parts[k].skipped)
                continue;
            if (parts[k].rc != SIPHON_OK) {
                rc = parts[k].rc;
                snprintf(message, cap, "%s", parts[k].message);
            } else if (json_array_extend(out, parts[k].records) != 0) {
                snprintf(message, cap, "stream %s: out of memory", stream->vt.base.name);
                rc = SIPHON_E_NOMEM;
            }
        }
    }
    for (size_t k = 0; k < n; k++) {
        json_decref(parts[k].context);
        json_decref(parts[k].records);
    }
    free(parts);
    if (rc == SIPHON_OK && run->stop)
        rc = SIPHON_E_CANCELLED;
    return rc;
}

static int collect_all(sx_run *run, sx_stream *stream, json_t *out, char *message, size_t cap,
                       int depth)
{
    if (stream->vt.parent == NULL)
        return collect_partition(run, stream, NULL, out, message, cap);
    sx_stream *parent = sx_stream_parent(run, stream);
    if (parent == NULL) {
        snprintf(message, cap, "stream %s: its parent stream '%s' is not loaded",
                 stream->vt.base.name, stream->vt.parent);
        return SIPHON_E_CONFIG;
    }
    const json_t *parents;
    int rc = related_get_depth(run, parent, &parents, message, cap, depth + 1);
    if (rc != SIPHON_OK)
        return rc;
    return collect_partitions(run, stream, parents, out, message, cap);
}

static int related_get_depth(sx_run *run, sx_stream *stream, const json_t **records,
                             char *message, size_t cap, int depth)
{
    sx_related *slot = related_slot(run, stream);
    if (slot == NULL || depth > RELATED_MAX_DEPTH) {
        snprintf(message, cap, "stream %s: %s", stream->vt.base.name,
                 slot == NULL ? "not a stream of this run's source"
                              : "parent chain too deep (a cycle in the plugins' parents?)");
        return SIPHON_E_CONFIG;
    }
    pthread_mutex_lock(&run->related_lock);
    while (slot->state == SX_RELATED_RESOLVING)
        pthread_cond_wait(&run->related_done, &run->related_lock);
    if (slot->state == SX_RELATED_DONE || slot->state == SX_RELATED_FAILED) {
        int rc = slot->state == SX_RELATED_DONE ? SIPHON_OK : slot->status;
        *records = slot->records;
        if (rc != SIPHON_OK)
            snprintf(message, cap, "%s", slot->error);
        pthread_mutex_unlock(&run->related_lock);
        return rc;
    }
    slot->state = SX_RELATED_RESOLVING;
    pthread_mutex_unlock(&run->related_lock);

    json_t *out = json_array();
    char why[sizeof slot->error] = "";
    int rc = out ? collect_all(run, stream, out, why, sizeof why, depth) : SIPHON_E_NOMEM;
    if (rc == SIPHON_OK)
        sx_log(SIPHON_LOG_DEBUG, stream->vt.base.name, "read %zu records to share with other streams",
               json_array_size(out));

    pthread_mutex_lock(&run->related_lock);
    if (rc == SIPHON_OK) {
        slot->records = out;
        slot->state = SX_RELATED_DONE;
    } else {
        json_decref(out);
        slot->records = json_array();
        slot->status = rc;
        snprintf(slot->error, sizeof slot->error, "%s", why);
        slot->state = SX_RELATED_FAILED;
        snprintf(message, cap, "%s", why);
    }
    *records = slot->records;
    pthread_cond_broadcast(&run->related_done);
    pthread_mutex_unlock(&run->related_lock);
    return rc;
}

int sx_related_get(sx_run *run, sx_stream *stream, const json_t **records, char *message,
                   size_t message_cap)
{
    return related_get_depth(run, stream, records, message, message_cap, 0);
}

int sx_related_is_done(sx_run *run, const sx_stream *stream)
{
    sx_related *slot = related_slot(run, stream);
    pthread_mutex_lock(&run->related_lock);
    int done = slot != NULL && slot->state == SX_RELATED_DONE;
    pthread_mutex_unlock(&run->related_lock);
    return done;
}
