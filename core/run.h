/*
 * run.h: one run of siphon — the selected streams of one source, read by a
 * pool of workers, written by one writer into one sink, with state committed
 * only behind durable data.
 *
 *   workers (N threads)                         writer (the main thread)
 *   planner(job): discover, BEGIN, partitions ──┐
 *   task(partition): plugin read() ─ emit ──────┼─> bounded queue ─> sink
 *                           checkpoint ─────────┘       commit: sink, then state
 *
 * Everything a run shares lives in sx_run; nothing here is global.
 */
#ifndef SX_RUN_H
#define SX_RUN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <siphon/siphon.h>

#include "catalog.h"
#include "config.h"
#include "error.h"
#include "http.h"
#include "queue.h"
#include "registry.h"
#include "state.h"
#include "text_block.h"
#include "transform.h"

typedef struct sx_run sx_run;
typedef struct sx_job sx_job;
typedef struct sx_task sx_task;

/* What the command line asks of a run. */
typedef struct sx_run_options {
    const char *config_path;     /* NULL: empty config */
    const char *catalog_path;    /* --catalog */
    const char *properties_path; /* --properties (legacy catalog) */
    const char *state_path;      /* --state (input state; overrides the sink's) */
    const char *select;          /* --select a,b,group */
    const char *sink;            /* --sink NAME (wins over the config) */
    int singer_mode;             /* invoked as a Singer tap: stdout sink unless --sink */
    int progress;                /* draw the live progress line (stderr is a tty) */
    int no_sink;                 /* discover and check: no sink, no state, no jobs */
} sx_run_options;

/* Per source: the shared budget, session and HTTP service. */
typedef struct sx_source_rt {
    sx_source *source;
    sx_budget *budget;
    sx_session *session;
    sx_http *http;
} sx_source_rt;

/* A stream's records, read in full once per run and shared (parents). */
typedef struct sx_related {
    sx_stream *stream;
    int state;                /* SX_RELATED_* */
    json_t *records;          /* array, owned, once state is DONE */
    int status;               /* the failure, once state is FAILED */
    char error[1024];
} sx_related;

enum { SX_RELATED_NONE, SX_RELATED_RESOLVING, SX_RELATED_DONE, SX_RELATED_FAILED };

/* One selected stream in this run. */
struct sx_job {
    sx_run *run;
    sx_stream *stream;
    sx_catalog_entry *entry;
    const char *name;            /* the stream's name */
    int mode;                    /* siphon_sync_mode this run */
    int additional_full_sync;    /* FULL_TABLE this run only because it was due */
    int64_t version;             /* FULL_TABLE table version */
    const char *replication_key; /* NULL when the stream has none */
    json_t *schema;              /* the schema the sink sees (owned) */
    int from_cache;              /* records come from the related cache */
    sx_stream_map *map;          /* the stream's map (stream_maps), or NULL */
    const char *output;          /* the name the sink sees: the map's alias, else name */
    const char *const *output_keys;  /* key properties the sink sees */
    const char *output_rk;       /* replication key the sink sees (NULL: mapped away) */
    /* Records emitted as text may reach the sink as text: nothing between
     * needs a tree (no deselected property, no stream map) and the sink
     * takes text. The one place that decides is plan_output in run.c. */
    int text_ok;

    atomic_uint_fast64_t records;
    atomic_uint_fast64_t requests;
    atomic_uint_fast64_t retries;
    atomic_int pending_tasks;    /* partitions still running (+1 while planning) */

    pthread_mutex_t lock;        /* guards the fields below */
    int status;                  /* first failure (siphon_status), SIPHON_OK when fine */
    int exit_hint;               /* SX_EXIT_AUTH when credentials were rejected */
    char error[1024];
    json_t *warned_keys;         /* schema-drift keys already warned about */
    int64_t started_ms, ended_ms;
    uint64_t partitions;

    /* writer-only: */
    int begun;                   /* begin_stream reached the sink */
    json_t *full_bookmarks;      /* FULL_TABLE: [[context, value], ...] set when complete */
    uint64_t committed_records;
};

/* One partition of a job (or the whole job for a stream without a parent). */
struct sx_task {
    sx_job *job;
    json_t *context;             /* the partition context, or NULL */
    char *start_value;           /* the bookmark to resume from, or NULL */
    /* owned by the worker running the task: */
    char *max_value;             /* the highest replication value emitted */
    size_t max_len, max_cap;     /* its length, and the room max_value has */
    char *signpost;
    int unsorted;                /* a value came lower than an earlier one */
    uint64_t records;
    int status;
};

/* Messages from workers to the writer. */
typedef enum sx_msg_type {
    SX_MSG_BEGIN = 1,        /* job: a stream starts */
    SX_MSG_RECORD,           /* job, record, extracted_ms */
    SX_MSG_CHECKPOINT,       /* task, value: the partition's bookmark so far (may be NULL) */
    SX_MSG_STATE_PUT,        /* task, key, value */
    SX_MSG_PARTITION_DONE,   /* task (ownership passes to the writer), status */
    SX_MSG_END,              /* job: every partition finished */
    SX_MSG_FINISHED          /* every job ended */
} sx_msg_type;

typedef struct sx_msg {
    int type;
    sx_job *job;
    sx_task *task;
    json_t *value;           /* RECORD: the record; STATE_PUT: the value */
    char *text;              /* CHECKPOINT: bookmark; STATE_PUT: key */
    int64_t extracted_ms;
    /* RECORD as text (value NULL): compact JSON inside block, of which the
     * message holds one reference. */
    const char *raw;
    size_t raw_len;
    sx_text_block *block;
} sx_msg;

/* The per-callback context handed to plugins. */
enum { SX_CTX_STREAM = 1, SX_CTX_SINK, SX_CTX_SOURCE };

/* Messages a worker gathers before handing them to the writer in one go:
 * one lock and one wake-up per batch instead of per record. */
#define SX_CTX_BATCH 256

/* The user of sx_source_login: the run, and the stream whose request needs a token. */
typedef struct sx_login_user {
    sx_run *run;
    sx_stream *stream;
} sx_login_user;

struct siphon_ctx {
    const siphon_host_api *api;  /* must stay first (struct siphon_ctx_head) */
    sx_run *run;
    int kind;
    sx_stream *stream;           /* stream and source ctx */
    sx_job *job;                 /* NULL while collecting related records */
    sx_task *task;               /* NULL while collecting or discovering */
    sx_sink *sink;
    json_t *collect;             /* related mode: records are appended here */
    const json_t *context;       /* the partition context */
    int mode;
    sx_http_buffer body;
    /* http_start: the request in flight, the buffer its answer goes to (it
     * trades places with body at http_finish) and who its login is for */
    sx_http_pending *ahead;
    sx_http_buffer ahead_body;
    sx_login_user ahead_login;
    int ahead_slot;              /* the started request holds one of run->ahead_slots */
    char error[1024];
    char scratch[128];           /* config_string's text of a non-string value */
    int status_hint;             /* SX_EXIT_AUTH once credentials were rejected */
    sx_msg batch[SX_CTX_BATCH];  /* records and checkpoints not yet queued */
    size_t n_batch;
    struct sx_text_state *text;  /* emit_raw's reusable state (emit_text.c), or NULL */
};

struct sx_run {
    sx_run_options opts;
    siphon_host_info host_info;
    sx_registry registry;
    sx_config config;
    sx_catalog catalog;
    sx_state *input_state;       /* read-only while workers run */
    sx_state *state;             /* the writer's copy */
    int state_in_sink;
    const char *state_file;      /* where non-sink state is saved, or NULL */

    sx_source_rt src;            /* the chosen source's runtime */
    sx_related *related;         /* one per stream of the source */
    size_t n_related;
    pthread_mutex_t related_lock;
    pthread_cond_t related_done;

    sx_job *jobs;
    size_t n_jobs;
    sx_functions *functions;     /* native functions of "transforms" */

    sx_sink *sink;
    void *sink_self;
    int sink_takes_text;         /* the open sink has SIPHON_CAP_RAW_RECORDS */
    sx_queue *queue;

    /* the worker pool */
    pthread_t *workers;
    size_t n_workers;
    pthread_mutex_t work_lock;
    pthread_cond_t work_ready;
    struct sx_work *work_head, *work_tail;
    int work_closed;
    atomic_int jobs_open;

    pthread_mutex_t state_lock;  /* lookups in input_state from several workers */

    volatile int stop;           /* cancellation: a signal or a fatal sink error */
    int read_ahead;              /* http_start sends at once ("read_ahead", default on) */
    /* How many requests may be ahead at once: half the workers, at least one.
     * Each costs a second page in memory; the streams past it wait their turn
     * (their http_start is deferred to http_finish). */
    int ahead_slots;
    atomic_int ahead_in_use;
    int64_t started_ms;
    int64_t checkpoint_records;
    int64_t checkpoint_ms;
    int metrics;
};

/* Prepares a run: plugins, config, catalog, state, sink. Nothing is written
 * before it succeeds. */
int sx_run_open(sx_run *run, const sx_run_options *opts, sx_error *err);

/* Runs every selected stream to its end; returns the process exit code. */
int sx_run_execute(sx_run *run, sx_error *err);

void sx_run_close(sx_run *run);

/* Replaces a catalog entry's schema with the one its stream discovers (for
 * streams with SIPHON_CAP_DISCOVER). A failure is an error when strict (the
 * discover command), a warning otherwise (the static schema stays). */
int sx_run_discover_entry(sx_run *run, sx_catalog_entry *entry, int strict, sx_error *err);

/* Asks a run to stop at the next safe point (async-signal-safe). */
void sx_run_request_stop(sx_run *run);

/* --- internals shared by the run's files --- */

/* host_api.c */
const siphon_host_api *sx_host_api(void);
void sx_ctx_init(siphon_ctx *ctx, sx_run *run, int kind);
/* Hands the ctx's gathered messages to the writer; -1 when the run stopped
 * (they are then released). Call it before anything that must follow them. */
int sx_ctx_flush(siphon_ctx *ctx);
/* Releases the ctx (messages never flushed are dropped). */
void sx_ctx_release(siphon_ctx *ctx);
/* Takes a message (and what it owns) into the ctx's batch; -1 when the run
 * stopped. */
int sx_ctx_queue(siphon_ctx *ctx, const sx_msg *msg);
/* Warns once per stream about a top-level key the schema does not declare
 * (key is len bytes, no NUL needed). */
void sx_job_note_unknown_key(sx_job *job, const char *key, size_t len);
/* Tracks a partition's highest replication value (len bytes); a lower one
 * marks it unsorted, so its bookmark waits for its end. */
void sx_task_track_value(sx_task *task, const char *value, size_t len);
/* Releases what a message owns without acting on it. */
void sx_msg_release(sx_msg *m);

/* emit_text.c: records that stay text (emit_raw's fast path) */
/* Returned by sx_emit_text for a record that must go the tree way after all
 * (an escaped top-level key, a repeated key, an escaped bookmark value). */
#define SX_EMIT_NEEDS_TREE 1000
/* What a plugin vouches for a text record it emits with emit_raw_checked. */
typedef struct sx_text_facts {
    const siphon_json_member *members; /* its top-level members, or NULL: find them */
    size_t n_members;
    int compact;                       /* with members: no whitespace between tokens */
} sx_text_facts;
/* Checks, notes and queues one text record of a job with text_ok; returns a
 * siphon_status or SX_EMIT_NEEDS_TREE. facts is NULL for emit_raw, whose
 * text the host checks itself. */
int sx_emit_text(siphon_ctx *ctx, const char *json, size_t len, const sx_text_facts *facts);
/* Frees the ctx's text state. */
void sx_emit_text_release(siphon_ctx *ctx);

/* jobs.c: the worker pool and what runs on it */
int sx_jobs_start(sx_run *run, sx_error *err);
void sx_jobs_join(sx_run *run);
void sx_job_fail(sx_job *job, int status, const char *message);

/* related.c: parents read once per run */
int sx_related_get(sx_run *run, sx_stream *stream, const json_t **records, char *message,
                   size_t message_cap);
/* Calls a stream's read for one partition with ctx set up by the caller. */
int sx_stream_read(siphon_ctx *ctx, const json_t *context);
/* Calls a child stream's partition() for one parent record (SIPHON_DONE: skip). */
int sx_stream_partition(sx_run *run, sx_stream *stream, const json_t *parent_record,
                        json_t **context, char *message, size_t cap);
/* The loaded parent of a stream (same source), or NULL. */
sx_stream *sx_stream_parent(sx_run *run, const sx_stream *stream);
/* Whether a stream's records are already in the shared cache. */
int sx_related_is_done(sx_run *run, const sx_stream *stream);

/* writer.c */
int sx_writer_run(sx_run *run, sx_error *err);
int sx_writer_push(sx_run *run, const sx_msg *msg);
/* After the workers are joined: frees whatever is still queued. */
void sx_writer_drain(sx_run *run);

/* source.c: the source runtime (budget, session, HTTP) and its login */
int sx_source_rt_open(sx_run *run, sx_error *err);
void sx_source_rt_close(sx_source_rt *rt);
/* user is an sx_login_user (defined above struct siphon_ctx). */
int sx_source_login(void *user, char *token, size_t cap, char *message, size_t message_cap);

/* summary.c */
void sx_summary_print(sx_run *run);
void sx_progress_start(sx_run *run);
void sx_progress_stop(sx_run *run);

/* Milliseconds, wall clock and monotonic. */
int64_t sx_now_ms(void);
int64_t sx_mono_ms(void);
/* The wall clock for stamping records (time_extracted): the kernel's coarse
 * clock, exact to a tick (a few ms) and several times cheaper to read than
 * sx_now_ms, which counts when every record is stamped. */
int64_t sx_stamp_ms(void);

#endif
