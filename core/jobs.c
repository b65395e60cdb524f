/*
 * jobs.c: the worker pool and what runs on it.
 *
 * Each selected stream is a job. Its planner (one work item) sends the
 * stream's schema to the writer, then reads it: once for a stream without a
 * parent, once per partition for a child stream (partitions of a
 * PARALLEL_SAFE stream become work items of their own, so several lists are
 * read at once). A job ends when its planner and all its partitions are done;
 * the last job to end tells the writer the run is finished.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"
#include "http.h"
#include "log.h"
#include "run.h"

typedef struct sx_work {
    struct sx_work *next;
    int kind;
    sx_job *job;
    sx_task *task;
} sx_work;

enum { WORK_PLAN = 1, WORK_TASK };

static int work_push(sx_run *run, int kind, sx_job *job, sx_task *task)
{
    sx_work *w = calloc(1, sizeof *w);
    if (w == NULL)
        return -1;
    w->kind = kind;
    w->job = job;
    w->task = task;
    pthread_mutex_lock(&run->work_lock);
    if (run->work_tail)
        run->work_tail->next = w;
    else
        run->work_head = w;
    run->work_tail = w;
    pthread_cond_signal(&run->work_ready);
    pthread_mutex_unlock(&run->work_lock);
    return 0;
}

static sx_work *work_pop(sx_run *run)
{
    pthread_mutex_lock(&run->work_lock);
    while (run->work_head == NULL && !run->work_closed)
        pthread_cond_wait(&run->work_ready, &run->work_lock);
    sx_work *w = run->work_head;
    if (w != NULL) {
        run->work_head = w->next;
        if (run->work_head == NULL)
            run->work_tail = NULL;
    }
    pthread_mutex_unlock(&run->work_lock);
    return w;
}

void sx_job_fail(sx_job *job, int status, const char *message)
{
    pthread_mutex_lock(&job->lock);
    if (job->status == SIPHON_OK) {
        job->status = status;
        snprintf(job->error, sizeof job->error, "%s", message ? message : "failed");
    }
    pthread_mutex_unlock(&job->lock);
}

/* Called when the planner or a partition finishes; the last one ends the job. */
static void job_release(sx_job *job)
{
    if (atomic_fetch_sub(&job->pending_tasks, 1) != 1)
        return;
    sx_run *run = job->run;
    sx_msg end = {.type = SX_MSG_END, .job = job};
    sx_writer_push(run, &end);
    if (atomic_fetch_sub(&run->jobs_open, 1) == 1) {
        sx_msg fin = {.type = SX_MSG_FINISHED};
        sx_writer_push(run, &fin);
    }
}

static sx_task *task_new(sx_job *job, const json_t *context)
{
    sx_task *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->job = job;
    t->context = context ? json_deep_copy(context) : NULL;
    if (job->mode == SIPHON_SYNC_INCREMENTAL && job->run->input_state != NULL) {
        pthread_mutex_lock(&job->run->state_lock);
        const char *b = sx_state_bookmark(job->run->input_state, job->name, context);
        t->start_value = b ? strdup(b) : NULL;
        pthread_mutex_unlock(&job->run->state_lock);
    }
    return t;
}

static void task_ctx(siphon_ctx *ctx, sx_task *task)
{
    sx_job *job = task->job;
    sx_ctx_init(ctx, job->run, SX_CTX_STREAM);
    ctx->stream = job->stream;
    ctx->job = job;
    ctx->task = task;
    ctx->context = task->context;
    ctx->mode = job->mode;
}

/* Fails the job with the ctx's message, naming the partition. */
static void task_failed(sx_task *task, int rc, const siphon_ctx *ctx)
{
    sx_job *job = task->job;
    char *where = task->context ? json_dumps(task->context, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char message[sizeof job->error];
    snprintf(message, sizeof message, "%s%s%s", where ? "partition " : "", where ? where : "",
             where ? ": " : "");
    size_t off = strlen(message);
    snprintf(message + off, sizeof message - off, "%s",
             ctx->error[0] ? ctx->error
             : rc == SIPHON_E_CANCELLED ? "stopped before the end"
                                        : "failed without a message");
    free(where);
    if (ctx->status_hint == SX_EXIT_AUTH) {
        pthread_mutex_lock(&job->lock);
        job->exit_hint = SX_EXIT_AUTH;
        pthread_mutex_unlock(&job->lock);
    }
    sx_job_fail(job, rc, message);
}

/* Hands a finished partition to the writer, which owns it from then on. */
static void task_done(sx_task *task, int status)
{
    sx_job *job = task->job;
    task->status = status;
    sx_msg done = {.type = SX_MSG_PARTITION_DONE, .job = job, .task = task};
    if (sx_writer_push(job->run, &done) != 0) {
        json_decref(task->context);
        free(task->start_value);
        free(task->max_value);
        free(task->signpost);
        free(task);
    }
    job_release(job);
}

static void run_task(sx_task *task)
{
    siphon_ctx ctx;
    task_ctx(&ctx, task);
    int rc = sx_stream_read(&ctx, task->context);
    if (rc == SIPHON_OK || rc == SIPHON_DONE)
        rc = ctx.api->checkpoint(&ctx) == SIPHON_OK ? SIPHON_OK : SIPHON_E_CANCELLED;
    /* records read before a failure are good data: they go to the sink too */
    if (sx_ctx_flush(&ctx) != 0 && rc == SIPHON_OK)
        rc = SIPHON_E_CANCELLED;
    if (rc != SIPHON_OK)
        task_failed(task, rc, &ctx);
    sx_ctx_release(&ctx);
    task_done(task, rc);
}

/* Whether a cached record belongs to a partition: it carries the context's keys. */
static int record_in_context(const json_t *record, const json_t *context)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)context, key, v) {
        if (!json_equal(json_object_get(record, key), v))
            return 0;
    }
    return 1;
}

/* Serves a partition from the shared cache instead of asking the API again:
 * the same records an INCREMENTAL read would return (>= the bookmark). */
static void run_task_from_cache(sx_task *task, const json_t *records)
{
    siphon_ctx ctx;
    task_ctx(&ctx, task);
    const char *rk = task->job->replication_key;
    const char *from = ctx.mode == SIPHON_SYNC_INCREMENTAL ? task->start_value : NULL;
    int rc = SIPHON_OK;
    size_t i;
    const json_t *rec;
    json_array_foreach(records, i, rec) {
        if (task->context != NULL && !record_in_context(rec, task->context))
            continue;
        if (from != NULL && rk != NULL) {
            const char *v = json_string_value(json_object_get(rec, rk));
            if (v != NULL && strcmp(v, from) < 0)
                continue;
        }
        rc = ctx.api->emit_record(&ctx, NULL, json_deep_copy(rec));
        if (rc != SIPHON_OK)
            break;
    }
    if (rc == SIPHON_OK)
        rc = ctx.api->checkpoint(&ctx);
    if (sx_ctx_flush(&ctx) != 0 && rc == SIPHON_OK)
        rc = SIPHON_E_CANCELLED;
    if (rc != SIPHON_OK)
        task_failed(task, rc, &ctx);
    sx_ctx_release(&ctx);
    task_done(task, rc);
}

/* Runs or queues one partition of a job. */
static void start_task(sx_job *job, const json_t *context, const json_t *cache)
{
    sx_task *task = task_new(job, context);
    if (task == NULL) {
        sx_job_fail(job, SIPHON_E_NOMEM, "out of memory");
        return;
    }
    atomic_fetch_add(&job->pending_tasks, 1);
    pthread_mutex_lock(&job->lock);
    job->partitions++;
    pthread_mutex_unlock(&job->lock);
    if (cache != NULL) {
        run_task_from_cache(task, cache);
    } else if (context != NULL && (job->stream->vt.base.caps & SIPHON_CAP_PARALLEL_SAFE)) {
        if (work_push(job->run, WORK_TASK, job, task) != 0) {
            sx_job_fail(job, SIPHON_E_NOMEM, "out of memory");
            task_done(task, SIPHON_E_NOMEM);
        }
    } else {
        run_task(task);
    }
}

static void plan_job(sx_job *job)
{
    sx_run *run = job->run;
    char message[sizeof job->error] = "";

    sx_msg begin = {.type = SX_MSG_BEGIN, .job = job};
    if (sx_writer_push(run, &begin) != 0) {
        job_release(job);
        return;
    }

    const json_t *cache = NULL;
    if (job->from_cache) {
        int rc = sx_related_get(run, job->stream, &cache, message, sizeof message);
        if (rc != SIPHON_OK) {
            sx_job_fail(job, rc, message);
            job_release(job);
            return;
        }
    }
    sx_stream *parent = sx_stream_parent(run, job->stream);
    if (job->stream->vt.parent == NULL) {
        start_task(job, NULL, cache);
    } else if (parent == NULL) {
        snprintf(message, sizeof message, "its parent stream '%s' is not loaded",
                 job->stream->vt.parent);
        sx_job_fail(job, SIPHON_E_CONFIG, message);
    } else {
        const json_t *parents;
        int rc = sx_related_get(run, parent, &parents, message, sizeof message);
        if (rc != SIPHON_OK)
            sx_job_fail(job, rc, message);
        size_t i;
        const json_t *prec;
        json_array_foreach(parents, i, prec) {
            if (rc != SIPHON_OK || run->stop)
                break;
            json_t *context;
            int prc = sx_stream_partition(run, job->stream, prec, &context, message,
                                          sizeof message);
            if (prc == SIPHON_DONE)
                continue;
            if (prc != SIPHON_OK) {
                sx_job_fail(job, prc, message);
                continue;
            }
            start_task(job, context, cache);
            json_decref(context);
        }
    }
    job_release(job);
}

static void *worker_main(void *arg)
{
    sx_run *run = arg;
    sx_crash_thread_init();
    sx_work *w;
    while ((w = work_pop(run)) != NULL) {
        if (w->kind == WORK_PLAN)
            plan_job(w->job);
        else
            run_task(w->task);
        free(w);
    }
    sx_http_thread_cleanup();
    sx_crash_thread_fini();
    return NULL;
}

int sx_jobs_start(sx_run *run, sx_error *err)
{
    atomic_store(&run->jobs_open, (int)run->n_jobs);
    for (size_t i = 0; i < run->n_jobs; i++) {
        atomic_store(&run->jobs[i].pending_tasks, 1);
        run->jobs[i].started_ms = sx_mono_ms();
    }
    if (run->n_jobs == 0) {
        sx_msg fin = {.type = SX_MSG_FINISHED};
        sx_writer_push(run, &fin);
    }
    run->workers = calloc(run->n_workers, sizeof *run->workers);
    if (run->workers == NULL) {
        sx_error_set(err, SX_EXIT_FAILURE, "out of memory starting workers");
        return -1;
    }
    for (size_t i = 0; i < run->n_workers; i++) {
        if (pthread_create(&run->workers[i], NULL, worker_main, run) != 0) {
            run->n_workers = i;
            sx_error_set(err, SX_EXIT_FAILURE, "cannot start worker threads");
            return -1;
        }
    }
    for (size_t i = 0; i < run->n_jobs; i++) {
        if (work_push(run, WORK_PLAN, &run->jobs[i], NULL) != 0) {
            sx_error_set(err, SX_EXIT_FAILURE, "out of memory queueing streams");
            return -1;
        }
    }
    return 0;
}

void sx_jobs_join(sx_run *run)
{
    pthread_mutex_lock(&run->work_lock);
    run->work_closed = 1;
    pthread_cond_broadcast(&run->work_ready);
    pthread_mutex_unlock(&run->work_lock);
    for (size_t i = 0; i < run->n_workers; i++)
        pthread_join(run->workers[i], NULL);
    free(run->workers);
    run->workers = NULL;
    run->n_workers = 0;
    /* Work never started (the run stopped early) is dropped. */
    sx_work *w = run->work_head;
    while (w != NULL) {
        sx_work *next = w->next;
        free(w);
        w = next;
    }
    run->work_head = run->work_tail = NULL;
}
