/*
 * writer.c: the single sink writer and the commit protocol (DESIGN.md step 7).
 *
 * The writer takes messages in the order the workers queued them. A
 * checkpoint moves a partition's bookmark in the writer's state only after
 * every record queued before it was handed to the sink; a commit then makes
 * the sink durable first and persists the state second (in the same
 * transaction for sinks that keep it). So the state on disk is never ahead of
 * the data, whatever instant the process dies at.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"
#include "log.h"
#include "run.h"

typedef struct writer {
    sx_run *run;
    const siphon_sink_vtable *vt;
    uint64_t since_commit;     /* records handed to the sink since the last commit */
    int dirty;                 /* state changed since the last commit */
    int64_t last_commit_ms;
    int64_t last_progress_ms;
    sx_error *err;
} writer;

int sx_writer_push(sx_run *run, const sx_msg *msg)
{
    return sx_queue_push(run->queue, msg);
}

static void task_free(sx_task *t)
{
    if (t == NULL)
        return;
    json_decref(t->context);
    free(t->start_value);
    free(t->max_value);
    free(t->signpost);
    free(t);
}

void sx_msg_release(sx_msg *m)
{
    json_decref(m->value);
    m->value = NULL;
    free(m->text);
    m->text = NULL;
    sx_text_block_unref(m->block);
    m->block = NULL;
    if (m->type == SX_MSG_PARTITION_DONE) {
        task_free(m->task);
        m->task = NULL;
    }
}

static const char *sink_error(writer *w)
{
    const char *e = w->vt->last_error ? w->vt->last_error(w->run->sink_self) : NULL;
    return e && *e ? e : "no details given";
}

static int sink_failed(writer *w, const char *what, const char *stream)
{
    sx_error_set(w->err, SX_EXIT_FAILURE, "sink '%s': %s%s%s failed: %s",
                 w->run->sink->vt.base.name, what, stream ? " of stream " : "",
                 stream ? stream : "", sink_error(w));
    return -1;
}

static int commit(writer *w)
{
    sx_run *run = w->run;
    json_t *state = sx_state_to_json(run->state);
    if (state == NULL) {
        sx_error_set(w->err, SX_EXIT_FAILURE, "out of memory serialising the state");
        return -1;
    }
    sx_crash_enter(run->sink->plugin, run->sink->vt.base.name, "commit");
    int rc = w->vt->commit(run->sink_self, state);
    sx_crash_leave();
    json_decref(state);
    if (rc != SIPHON_OK)
        return sink_failed(w, "commit", NULL);
    /* Only now, behind durable data, may the state file move forward. */
    if (!run->state_in_sink && run->state_file != NULL &&
        sx_state_save_file(run->state, run->state_file, w->err) != 0)
        return -1;
    w->since_commit = 0;
    w->dirty = 0;
    w->last_commit_ms = sx_mono_ms();
    return 0;
}

static int maybe_commit(writer *w, int force)
{
    if (w->since_commit == 0 && !w->dirty)
        return 0;
    if (force || (int64_t)w->since_commit >= w->run->checkpoint_records ||
        sx_mono_ms() - w->last_commit_ms >= w->run->checkpoint_ms)
        return commit(w);
    return 0;
}

/* Never moves a bookmark backwards (a restarted partition may re-read rows
 * at the bookmark; the bookmark stays where it was). */
static void set_bookmark(sx_run *run, sx_job *job, const json_t *context, const char *value)
{
    const char *old = sx_state_bookmark(run->state, job->name, context);
    if (old == NULL || strcmp(value, old) > 0)
        sx_state_set_bookmark(run->state, job->name, context, job->replication_key, value);
}

static int on_begin(writer *w, sx_job *job)
{
    sx_run *run = w->run;
    siphon_stream_desc desc = {
        .struct_size = sizeof desc,
        .stream = job->output,
        .schema = job->schema,
        .key_properties = job->output_keys,
        .replication_key = job->output_rk,
        .mode = (uint32_t)job->mode,
        .version = job->mode == SIPHON_SYNC_FULL_TABLE ? job->version : 0,
    };
    sx_crash_enter(run->sink->plugin, run->sink->vt.base.name, "begin_stream");
    int rc = w->vt->begin_stream(run->sink_self, &desc);
    sx_crash_leave();
    if (rc != SIPHON_OK)
        return sink_failed(w, "begin_stream", job->output);
    job->begun = 1;
    return 0;
}

static int on_record(writer *w, sx_msg *m)
{
    sx_run *run = w->run;
    siphon_record rec = {
        .struct_size = sizeof rec,
        .stream = m->job->output,
        .record = m->value,
        .extracted_at_ms = m->extracted_ms,
        .version = m->job->mode == SIPHON_SYNC_FULL_TABLE ? m->job->version : 0,
        .json = m->value == NULL ? m->raw : NULL,
        .json_len = m->value == NULL ? m->raw_len : 0,
    };
    sx_crash_enter(run->sink->plugin, run->sink->vt.base.name, "write_record");
    int rc = w->vt->write_record(run->sink_self, &rec);
    sx_crash_leave();
    sx_msg_release(m);
    if (rc != SIPHON_OK)
        return sink_failed(w, "write_record", m->job->output);
    w->since_commit++;
    return maybe_commit(w, 0);
}

static int on_checkpoint(writer *w, sx_msg *m)
{
    if (m->text != NULL) {
        set_bookmark(w->run, m->job, m->task->context, m->text);
        w->dirty = 1;
    }
    return maybe_commit(w, 0);
}

static void on_partition_done(writer *w, sx_task *task)
{
    sx_job *job = task->job;
    if (task->status == SIPHON_OK && task->max_value != NULL && job->replication_key != NULL) {
        const char *v = task->max_value;
        if (task->signpost != NULL && strcmp(v, task->signpost) > 0)
            v = task->signpost;
        if (job->mode == SIPHON_SYNC_INCREMENTAL && task->unsorted) {
            /* an unsorted partition's bookmark is safe only now it is complete */
            set_bookmark(w->run, job, task->context, v);
            w->dirty = 1;
        } else if (job->mode == SIPHON_SYNC_FULL_TABLE) {
            json_array_append_new(job->full_bookmarks,
                                  json_pack("[O?s]", task->context, v));
        }
    }
    task_free(task);
}

static int on_end(writer *w, sx_job *job)
{
    sx_run *run = w->run;
    job->ended_ms = sx_mono_ms();
    if (!job->begun)
        return 0;
    int complete = job->status == SIPHON_OK;
    sx_crash_enter(run->sink->plugin, run->sink->vt.base.name, "end_stream");
    int rc = w->vt->end_stream(run->sink_self, job->output,
                               complete ? SIPHON_END_COMPLETE : SIPHON_END_FAILED);
    sx_crash_leave();
    if (rc != SIPHON_OK)
        return sink_failed(w, "end_stream", job->output);
    if (complete && job->mode == SIPHON_SYNC_FULL_TABLE) {
        /* The table now holds exactly this run's rows: bookmarks restart from
         * what it read, and the next additional full sync counts from now. */
        if (job->replication_key != NULL) {
            sx_state_clear_stream(run->state, job->name);
            size_t i;
            json_t *pair;
            json_array_foreach(job->full_bookmarks, i, pair) {
                const json_t *ctx = json_array_get(pair, 0);
                sx_state_set_bookmark(run->state, job->name, json_is_null(ctx) ? NULL : ctx,
                                      job->replication_key,
                                      json_string_value(json_array_get(pair, 1)));
            }
        }
        sx_state_set_last_full_sync(run->state, job->name, sx_now_ms());
    }
    w->dirty = 1;
    if (maybe_commit(w, 1) != 0)
        return -1;
    job->committed_records = atomic_load(&job->records);
    return 0;
}

static int handle(writer *w, sx_msg *m)
{
    switch (m->type) {
    case SX_MSG_BEGIN:
        return on_begin(w, m->job);
    case SX_MSG_RECORD:
        return on_record(w, m);
    case SX_MSG_CHECKPOINT: {
        int rc = on_checkpoint(w, m);
        free(m->text);
        m->text = NULL;
        return rc;
    }
    case SX_MSG_STATE_PUT:
        sx_state_put_extra(w->run->state, m->job->name, m->task->context, m->text, m->value);
        m->value = NULL;
        free(m->text);
        m->text = NULL;
        w->dirty = 1;
        return 0;
    case SX_MSG_PARTITION_DONE:
        on_partition_done(w, m->task);
        m->task = NULL;
        return 0;
    case SX_MSG_END:
        return on_end(w, m->job);
    default:
        return 0;
    }
}

int sx_writer_run(sx_run *run, sx_error *err)
{
    writer w = {.run = run, .vt = &run->sink->vt, .err = err};
    w.last_commit_ms = w.last_progress_ms = sx_mono_ms();
    int failed = 0, finished = 0;
    sx_msg batch[256];
    while (!failed && !finished) {
        int n = sx_queue_pop_many(run->queue, batch, sizeof batch / sizeof batch[0], 250);
        int64_t now = sx_mono_ms();
        if (now - w.last_progress_ms >= 250) {
            sx_log_redraw_progress();
            w.last_progress_ms = now;
        }
        if (n == 0) {
            failed = maybe_commit(&w, 0) != 0;
            continue;
        }
        if (n < 0)
            break;
        for (int i = 0; i < n; i++) {
            if (failed || finished || batch[i].type == SX_MSG_FINISHED) {
                /* nothing follows FINISHED; after a failure the rest is dropped */
                finished = finished || batch[i].type == SX_MSG_FINISHED;
                sx_msg_release(&batch[i]);
            } else if (handle(&w, &batch[i]) != 0) {
                sx_msg_release(&batch[i]);
                failed = 1;
            }
        }
    }
    if (!failed && maybe_commit(&w, 1) != 0)
        failed = 1;
    if (failed) {
        /* Stop the workers: every push now fails, every plugin sees should_stop. */
        sx_run_request_stop(run);
        sx_queue_close(run->queue);
    }
    return failed ? -1 : 0;
}

/* After the workers are joined: frees whatever is still queued. */
void sx_writer_drain(sx_run *run)
{
    sx_queue_close(run->queue);
    sx_msg m;
    while (sx_queue_pop(run->queue, &m, 0) == 0)
        sx_msg_release(&m);
}
