/*
 * run.c: preparing a run (everything that can be wrong with the input is
 * found before anything is written), executing it, and its exit code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core-config.h"
#include "crash.h"
#include "json_file.h"
#include "log.h"
#include "run.h"

/* Queue depth between workers and the writer: enough to keep the sink busy,
 * small enough that memory stays flat (a few MB of records at most). */
#define RUN_QUEUE_CAPACITY 2048
/* ... and at most this much record text, so large records do not make the
 * queue large: 2048 records of 1 MB would otherwise be 2 GB. 4 MB (7 000
 * contacts) keeps the sink fed; the pages a stream reads ahead are the
 * buffer between the API and siphon, not this queue. */
#define RUN_QUEUE_TEXT_BYTES (4u << 20)

/* A message's weight in the queue: the bytes of its record text. */
static size_t msg_weight(const void *item)
{
    const sx_msg *m = item;
    return m->type == SX_MSG_RECORD && m->value == NULL ? m->raw_len : 0;
}

static long long host_int(const sx_run *run, const char *stream, const char *name, long long dflt)
{
    long long v;
    const json_t *j = sx_config_host_value(&run->config, stream, name);
    return j != NULL && sx_json_to_int(j, &v) == 0 ? v : dflt;
}

static double host_number(const sx_run *run, const char *stream, const char *name, double dflt)
{
    double v;
    const json_t *j = sx_config_host_value(&run->config, stream, name);
    return j != NULL && sx_json_to_number(j, &v) == 0 ? v : dflt;
}

static int host_bool(const sx_run *run, const char *stream, const char *name, int dflt)
{
    int v;
    const json_t *j = sx_config_host_value(&run->config, stream, name);
    return j != NULL && sx_json_to_bool(j, &v) == 0 ? v : dflt;
}

/* The catalog (the user's, or every stream), then the config's per-stream
 * choices and "select", then --select, each narrowing the last. */
static int load_catalog(sx_run *run, sx_error *err)
{
    const char *path = run->opts.catalog_path ? run->opts.catalog_path : run->opts.properties_path;
    int rc = path ? sx_catalog_load_file(&run->catalog, path, run->config.source, err)
                  : sx_catalog_default(&run->catalog, run->config.source, err);
    if (rc == 0)
        rc = sx_catalog_apply_config(&run->catalog, &run->config, err);
    if (rc == 0 && run->opts.select != NULL)
        rc = sx_catalog_select(&run->catalog, run->opts.select, err);
    return rc;
}

static int load_state(sx_run *run, sx_error *err)
{
    const char *configured = json_string_value(sx_config_host_value(&run->config, NULL, "state_path"));
    run->state_file = configured;
    if (run->opts.state_path != NULL) {
        run->input_state = sx_state_load_file(run->opts.state_path, err);
        return run->input_state ? 0 : -1;
    }
    if (run->state_in_sink && run->sink->vt.load_state != NULL) {
        json_t *stored = NULL;
        sx_crash_enter(run->sink->plugin, run->sink->vt.base.name, "load_state");
        int rc = run->sink->vt.load_state(run->sink_self, &stored);
        sx_crash_leave();
        if (rc != SIPHON_OK) {
            const char *why = run->sink->vt.last_error ? run->sink->vt.last_error(run->sink_self) : NULL;
            sx_error_set(err, SX_EXIT_FAILURE, "sink '%s': load_state failed: %s",
                         run->sink->vt.base.name, why ? why : "no details given");
            return -1;
        }
        if (stored != NULL) {
            char origin[128];
            snprintf(origin, sizeof origin, "state stored in sink '%s'", run->sink->vt.base.name);
            run->input_state = sx_state_from_json(stored, origin, err);
            json_decref(stored);
            return run->input_state ? 0 : -1;
        }
    } else if (configured != NULL && access(configured, F_OK) == 0) {
        run->input_state = sx_state_load_file(configured, err);
        return run->input_state ? 0 : -1;
    }
    run->input_state = sx_state_new();
    return run->input_state ? 0 : -1;
}

/* The stream maps must name real streams (a typo would leave personal data
 * unmapped without a word), and native functions load once, before any
 * record flows. */
static int load_transforms(sx_run *run, sx_error *err)
{
    const sx_source *src = run->config.source;
    const char **names = calloc(src->n_streams ? src->n_streams : 1, sizeof *names);
    if (names == NULL) {
        sx_error_set(err, SX_EXIT_FAILURE, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < src->n_streams; i++)
        names[i] = src->streams[i]->vt.base.name;
    int rc = sx_stream_maps_check_streams(run->config.root, names, src->n_streams, err);
    free(names);
    if (rc != 0)
        return -1;
    int allowed = host_bool(run, NULL, "allow_native_transforms", 0);
    return sx_functions_load(sx_config_host_value(&run->config, NULL, "transforms"), allowed,
                             &run->functions, err);
}

/* The schema the sink sees: the catalog's, less deselected properties. */
static json_t *effective_schema(const sx_catalog_entry *e)
{
    json_t *schema = json_deep_copy(e->schema);
    json_t *props = json_object_get(schema, "properties");
    if (e->properties == NULL || !json_is_object(props))
        return schema;
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(props, tmp, key, v) {
        (void)v;
        if (json_object_get(e->properties, key) == NULL)
            json_object_del(props, key);
    }
    return schema;
}

/* INCREMENTAL or FULL_TABLE as the catalog and config decided; an
 * additional full sync that is due turns an INCREMENTAL stream into
 * FULL_TABLE for this run only. */
static void plan_mode(sx_run *run, sx_job *job)
{
    const sx_catalog_entry *e = job->entry;
    job->replication_key = e->replication_key ? e->replication_key : job->stream->vt.replication_key;
    job->mode = sx_catalog_sync_mode(e);
    double days = host_number(run, job->name, "full_sync_interval_days", 0);
    if (job->mode == SIPHON_SYNC_INCREMENTAL && days > 0) {
        int64_t last = sx_state_last_full_sync(run->input_state, job->name);
        if (last == 0 || sx_now_ms() - last >= (int64_t)(days * 86400000.0)) {
            job->mode = SIPHON_SYNC_FULL_TABLE;
            job->additional_full_sync = 1;
        }
    }
    job->version = run->started_ms;
}

static int plan_jobs(sx_run *run, sx_error *err)
{
    size_t n = 0;
    for (size_t i = 0; i < run->catalog.n; i++)
        n += run->catalog.entries[i].selected != 0;
    run->jobs = calloc(n ? n : 1, sizeof *run->jobs);
    if (run->jobs == NULL) {
        sx_error_set(err, SX_EXIT_FAILURE, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < run->catalog.n; i++) {
        sx_catalog_entry *e = &run->catalog.entries[i];
        if (!e->selected)
            continue;
        sx_job *job = &run->jobs[run->n_jobs++];
        job->run = run;
        job->stream = e->stream;
        job->entry = e;
        job->name = e->stream->vt.base.name;
        pthread_mutex_init(&job->lock, NULL);
        job->warned_keys = json_object();
        job->full_bookmarks = json_array();
        plan_mode(run, job);
    }
    return 0;
}

int sx_run_open(sx_run *run, const sx_run_options *opts, sx_error *err)
{
    memset(run, 0, sizeof *run);
    run->opts = *opts;
    run->started_ms = sx_now_ms();
    pthread_mutex_init(&run->related_lock, NULL);
    pthread_cond_init(&run->related_done, NULL);
    pthread_mutex_init(&run->work_lock, NULL);
    pthread_cond_init(&run->work_ready, NULL);
    pthread_mutex_init(&run->state_lock, NULL);
    run->host_info = (siphon_host_info){sizeof(siphon_host_info), SIPHON_ABI_MAJOR,
                                        SIPHON_ABI_MINOR, SIPHON_VERSION_STRING, sx_host_api()};

    if (sx_registry_load(&run->registry, &run->host_info, NULL, NULL, err) != 0)
        return -1;
    if (sx_config_load(&run->config, opts->config_path, err) != 0)
        return -1;
    const char *sink = opts->sink ? opts->sink : opts->singer_mode ? "stdout" : NULL;
    if (sx_config_resolve(&run->config, &run->registry, sink, err) != 0)
        return -1;
    int level = sx_log_level_parse(
        json_string_value(sx_config_host_value(&run->config, NULL, "log_level")));
    if (level > 0)
        sx_log_set_level(level);
    sx_stream_maps_register_secrets(run->config.root);
    if (sx_config_require(&run->config, err) != 0)
        return -1;
    if (load_catalog(run, err) != 0 || load_transforms(run, err) != 0)
        return -1;

    run->n_workers = (size_t)host_int(run, NULL, "workers", 4);
    if (run->n_workers < 1)
        run->n_workers = 1;
    run->read_ahead = host_bool(run, NULL, "read_ahead", 1);
    run->ahead_slots = run->n_workers / 2 > 1 ? (int)(run->n_workers / 2) : 1;
    atomic_init(&run->ahead_in_use, 0);
    run->checkpoint_records = host_int(run, NULL, "checkpoint_records", 10000);
    run->checkpoint_ms = (int64_t)(host_number(run, NULL, "checkpoint_seconds", 5) * 1000);
    /* Singer METRIC lines are for the orchestrator reading stderr; on a
     * terminal the summary table says the same, so they are off there
     * unless asked for. */
    int metrics = !isatty(STDERR_FILENO);
    const json_t *m = json_object_get(run->config.root, "metrics");
    if (m != NULL && !json_is_null(m))
        sx_json_to_bool(m, &metrics);
    run->metrics = metrics;

    run->sink = run->config.sink;
    run->state_in_sink = (run->sink->vt.base.caps & SIPHON_CAP_STATE_IN_SINK) != 0;
    if (sx_source_rt_open(run, err) != 0)
        return -1;
    sx_source *src = run->config.source;
    run->related = calloc(src->n_streams ? src->n_streams : 1, sizeof *run->related);
    run->queue = sx_queue_new(RUN_QUEUE_CAPACITY, sizeof(sx_msg));
    if (run->related == NULL || run->queue == NULL) {
        sx_error_set(err, SX_EXIT_FAILURE, "out of memory");
        return -1;
    }
    sx_queue_set_weight(run->queue, RUN_QUEUE_TEXT_BYTES, msg_weight);
    for (size_t i = 0; i < src->n_streams; i++)
        run->related[run->n_related++].stream = src->streams[i];
    if (opts->no_sink)
        return 0;

    siphon_ctx ctx;
    sx_ctx_init(&ctx, run, SX_CTX_SINK);
    ctx.sink = run->sink;
    sx_crash_enter(run->sink->plugin, run->sink->vt.base.name, "open");
    int rc = run->sink->vt.open(&ctx, &run->sink_self);
    sx_crash_leave();
    if (rc != SIPHON_OK) {
        run->sink_self = NULL;
        sx_error_set(err, rc == SIPHON_E_CONFIG ? SX_EXIT_CONFIG : SX_EXIT_FAILURE,
                     "sink '%s': cannot open: %s", run->sink->vt.base.name,
                     ctx.error[0] ? ctx.error : "no details given");
        sx_ctx_release(&ctx);
        return -1;
    }
    sx_ctx_release(&ctx);
    uint64_t caps = run->sink->vt.base.caps;
    if (run->sink->vt.instance_caps != NULL) {
        sx_crash_enter(run->sink->plugin, run->sink->vt.base.name, "instance_caps");
        caps &= run->sink->vt.instance_caps(run->sink_self);
        sx_crash_leave();
    }
    run->sink_takes_text = (caps & SIPHON_CAP_RAW_RECORDS) != 0;
    if (load_state(run, err) != 0)
        return -1;
    run->state = sx_state_copy(run->input_state);
    if (run->state == NULL) {
        sx_error_set(err, SX_EXIT_FAILURE, "out of memory");
        return -1;
    }
    return plan_jobs(run, err);
}

/* Computes dynamic schemas (e.g. the contacts' custom fields) before any
 * stream starts, so streams the discovery reads are then served from the
 * shared cache instead of being asked for twice. */
int sx_run_discover_entry(sx_run *run, sx_catalog_entry *entry, int strict, sx_error *err)
{
    sx_stream *stream = entry->stream;
    if (!(stream->vt.base.caps & SIPHON_CAP_DISCOVER) || stream->vt.discover == NULL)
        return 0;
    siphon_ctx ctx;
    sx_ctx_init(&ctx, run, SX_CTX_STREAM);
    ctx.stream = stream;
    json_t *schema = NULL;
    sx_crash_enter(stream->plugin, stream->vt.base.name, "discover");
    int rc = stream->vt.discover(&ctx, &schema);
    sx_crash_leave();
    int result = 0;
    if (rc == SIPHON_OK && json_is_object(schema)) {
        sx_catalog_set_schema(entry, schema);
    } else {
        json_decref(schema);
        const char *why = ctx.error[0] ? ctx.error
                          : rc == SIPHON_OK ? "discover() returned no schema object"
                                            : "failed without a message";
        if (strict || ctx.status_hint == SX_EXIT_AUTH) {
            sx_error_set(err, ctx.status_hint == SX_EXIT_AUTH ? SX_EXIT_AUTH : SX_EXIT_FAILURE,
                         "stream %s: discover: %s", stream->vt.base.name, why);
            result = -1;
        } else {
            /* The static schema still describes the stream; say what was lost. */
            sx_log(SIPHON_LOG_WARN, stream->vt.base.name,
                   "discover failed (%s); using the static schema", why);
        }
    }
    sx_ctx_release(&ctx);
    return result;
}

static int discover_schemas(sx_run *run, sx_error *err)
{
    if (run->opts.catalog_path != NULL || run->opts.properties_path != NULL)
        return 0; /* the user's catalog fixes the schemas */
    for (size_t i = 0; i < run->n_jobs; i++)
        if (sx_run_discover_entry(run, run->jobs[i].entry, 0, err) != 0)
            return -1;
    return 0;
}

/* Compiles a job's stream map and takes from it what the sink sees: the
 * output name, schema, key properties and replication key. */
static int plan_output(sx_run *run, sx_job *job, sx_error *err)
{
    json_decref(job->schema);
    job->schema = effective_schema(job->entry);
    job->output = job->name;
    job->output_keys = job->stream->vt.key_properties;
    job->output_rk = job->replication_key;
    if (sx_stream_map_build(run->config.root, job->name, job->schema, job->output_keys,
                            run->functions, &job->map, err) != 0)
        return -1;
    /* Text records skip the tree only when no step before the sink needs
     * one: property selection (the catalog's mask), a stream map, and a
     * sink that takes text. A new per-record step that edits records must
     * be added to this condition. */
    job->text_ok = run->sink_takes_text && job->entry->mask == NULL && job->map == NULL;
    if (job->map == NULL)
        return 0;
    json_decref(job->schema);
    job->schema = sx_stream_map_schema(job->map);
    if (sx_stream_map_alias(job->map) != NULL)
        job->output = sx_stream_map_alias(job->map);
    job->output_keys = sx_stream_map_key_properties(job->map);
    if (job->replication_key != NULL)
        job->output_rk = sx_stream_map_output_name(job->map, job->replication_key);
    for (size_t k = 0; k < run->n_jobs; k++) {
        if (&run->jobs[k] != job && run->jobs[k].output != NULL &&
            strcmp(run->jobs[k].output, job->output) == 0) {
            sx_error_set(err, SX_EXIT_CONFIG,
                         "stream_maps: streams '%s' and '%s' would both write '%s'",
                         run->jobs[k].name, job->name, job->output);
            return -1;
        }
    }
    return 0;
}

/* A stream another selected stream needs as its parent is read once, in
 * full, and shared; its own job then serves its records from that cache. */
static int plan_cache_use(sx_run *run, sx_error *err)
{
    for (size_t i = 0; i < run->n_jobs; i++) {
        sx_job *job = &run->jobs[i];
        int needed = sx_related_is_done(run, job->stream);
        for (size_t k = 0; k < run->n_jobs && !needed; k++) {
            for (sx_stream *p = sx_stream_parent(run, run->jobs[k].stream); p != NULL && !needed;
                 p = sx_stream_parent(run, p))
                needed = p == job->stream;
        }
        job->from_cache = needed;
        if (plan_output(run, job, err) != 0)
            return -1;
    }
    return 0;
}

void sx_run_request_stop(sx_run *run)
{
    run->stop = 1;
}

static int exit_code(sx_run *run)
{
    size_t failed = 0;
    int auth = 0;
    for (size_t i = 0; i < run->n_jobs; i++) {
        if (run->jobs[i].status != SIPHON_OK)
            failed++;
        if (run->jobs[i].exit_hint == SX_EXIT_AUTH)
            auth = 1;
    }
    if (auth)
        return SX_EXIT_AUTH;
    if (run->stop)
        return SX_EXIT_INTERRUPTED;
    if (failed == 0)
        return SX_EXIT_OK;
    return failed == run->n_jobs ? SX_EXIT_FAILURE : SX_EXIT_PARTIAL;
}

/* One login before anything else: rejected credentials then end the run with
 * one clear message instead of one per stream, and nothing is read. */
static int login_first(sx_run *run, sx_error *err)
{
    const sx_source *src = run->config.source;
    if (src->decl.auth_header == NULL || run->n_jobs == 0)
        return 0;
    siphon_ctx ctx;
    sx_ctx_init(&ctx, run, SX_CTX_STREAM);
    ctx.stream = run->jobs[0].stream;
    char token[4096];
    int rc = ctx.api->session_token(&ctx, token, sizeof token);
    memset(token, 0, sizeof token);
    if (rc != SIPHON_OK)
        sx_error_set(err, rc == SIPHON_E_AUTH ? SX_EXIT_AUTH : SX_EXIT_FAILURE,
                     "source '%s': cannot log in, no stream was read: %s", src->name,
                     ctx.error[0] ? ctx.error : "no details given");
    sx_ctx_release(&ctx);
    return rc == SIPHON_OK ? 0 : -1;
}

int sx_run_execute(sx_run *run, sx_error *err)
{
    if (login_first(run, err) != 0 || discover_schemas(run, err) != 0 ||
        plan_cache_use(run, err) != 0)
        return err->exit_code;
    sx_progress_start(run);
    int rc = sx_jobs_start(run, err);
    if (rc == 0)
        rc = sx_writer_run(run, err);
    sx_jobs_join(run);
    sx_writer_drain(run);
    sx_progress_stop(run);
    sx_summary_print(run);
    if (rc != 0)
        return err->exit_code ? err->exit_code : SX_EXIT_FAILURE;
    return exit_code(run);
}

void sx_run_close(sx_run *run)
{
    if (run->sink_self != NULL) {
        sx_crash_enter(run->sink->plugin, run->sink->vt.base.name, "close");
        run->sink->vt.close(run->sink_self);
        sx_crash_leave();
        run->sink_self = NULL;
    }
    for (size_t i = 0; i < run->n_jobs; i++) {
        sx_job *job = &run->jobs[i];
        sx_stream_map_free(job->map);
        json_decref(job->schema);
        json_decref(job->warned_keys);
        json_decref(job->full_bookmarks);
        pthread_mutex_destroy(&job->lock);
    }
    free(run->jobs);
    sx_functions_free(run->functions);
    for (size_t i = 0; i < run->n_related; i++)
        json_decref(run->related[i].records);
    free(run->related);
    if (run->queue)
        sx_queue_free(run->queue);
    sx_source_rt_close(&run->src);
    sx_state_free(run->state);
    sx_state_free(run->input_state);
    sx_catalog_free(&run->catalog);
    sx_config_free(&run->config);
    sx_registry_free(&run->registry);
    pthread_mutex_destroy(&run->related_lock);
    pthread_cond_destroy(&run->related_done);
    pthread_mutex_destroy(&run->work_lock);
    pthread_cond_destroy(&run->work_ready);
    pthread_mutex_destroy(&run->state_lock);
}
