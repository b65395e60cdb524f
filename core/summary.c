/*
 * summary.c: what a run tells the user on stderr — a live progress line per
 * stream while it runs (only when stderr is a terminal), Singer METRIC lines,
 * and a summary table at the end.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "run.h"

static const char *job_status_word(const sx_job *job)
{
    if (job->ended_ms == 0)
        return "running";
    if (job->status == SIPHON_OK)
        return "ok";
    if (job->status == SIPHON_E_CANCELLED)
        return "stopped";
    return "FAILED";
}

/* How long a job ran; 0 for one the run left unfinished (its stream never
 * ended, as when a sink refused to begin it). */
static int64_t job_duration_ms(const sx_job *job)
{
    return job->ended_ms ? job->ended_ms - job->started_ms : 0;
}

static void progress_clear(void *user)
{
    (void)user;
    static const char clear[] = "\r\033[K";
    if (write(STDERR_FILENO, clear, sizeof clear - 1) < 0)
        return;
}

/* One line: the running streams with their counts, then how many are done. */
static void progress_redraw(void *user)
{
    sx_run *run = user;
    char line[512];
    size_t off = 0, done = 0;
    for (size_t i = 0; i < run->n_jobs; i++) {
        const sx_job *job = &run->jobs[i];
        if (job->ended_ms != 0) {
            done++;
            continue;
        }
        int n = snprintf(line + off, sizeof line - off, "%s%s %llu", off ? " | " : "", job->name,
                         (unsigned long long)atomic_load(&job->records));
        if (n < 0 || (size_t)n >= sizeof line - off)
            break;
        off += (size_t)n;
    }
    snprintf(line + off, sizeof line - off, "%s[%zu/%zu streams done]", off ? "  " : "", done,
             run->n_jobs);
    /* keep the line shorter than a typical terminal so it never wraps */
    line[100] = '\0';
    if (write(STDERR_FILENO, line, strlen(line)) < 0)
        return;
}

void sx_progress_start(sx_run *run)
{
    if (run->opts.progress)
        sx_log_set_progress(progress_redraw, progress_clear, run);
}

void sx_progress_stop(sx_run *run)
{
    if (!run->opts.progress)
        return;
    sx_log_set_progress(NULL, NULL, NULL);
    progress_clear(NULL);
}

static void metric(const char *type, const char *name, double value, const char *stream,
                   const char *status)
{
    json_t *m = json_pack("{s:s, s:s, s:f, s:{s:s, s:s}}", "type", type, "metric", name, "value",
                          value, "tags", "endpoint", stream, "status", status);
    char *text = m ? json_dumps(m, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    if (text != NULL) {
        char line[1024];
        snprintf(line, sizeof line, "INFO METRIC: %s", text);
        sx_log_line(line);
    }
    free(text);
    json_decref(m);
}

void sx_summary_print(sx_run *run)
{
    if (run->metrics) {
        for (size_t i = 0; i < run->n_jobs; i++) {
            const sx_job *job = &run->jobs[i];
            /* a stream the run left unfinished did not succeed */
            const char *status =
                job->ended_ms != 0 && job->status == SIPHON_OK ? "succeeded" : "failed";
            metric("counter", "record_count", (double)atomic_load(&job->records), job->name,
                   status);
            metric("counter", "http_request_count", (double)atomic_load(&job->requests),
                   job->name, status);
            metric("timer", "sync_duration", (double)job_duration_ms(job) / 1000.0, job->name,
                   status);
        }
    }
    char line[1024];
    snprintf(line, sizeof line, "%-18s %-8s %12s %10s %9s %8s %9s", "stream", "mode", "records",
             "partitions", "requests", "retries", "seconds");
    sx_log_line("");
    sx_log_line(line);
    for (size_t i = 0; i < run->n_jobs; i++) {
        const sx_job *job = &run->jobs[i];
        int64_t ms = job_duration_ms(job);
        snprintf(line, sizeof line, "%-18s %-8s %12llu %10llu %9llu %8llu %9.1f  %s",
                 job->name, job->mode == SIPHON_SYNC_FULL_TABLE ? "full" : "incr",
                 (unsigned long long)atomic_load(&job->records),
                 (unsigned long long)job->partitions,
                 (unsigned long long)atomic_load(&job->requests),
                 (unsigned long long)atomic_load(&job->retries), (double)ms / 1000.0,
                 job_status_word(job));
        sx_log_line(line);
    }
    if (run->src.budget != NULL) {
        sx_budget_stats bs;
        sx_budget_stats_get(run->src.budget, &bs);
        sx_http_stats hs;
        sx_http_stats_get(run->src.http, &hs);
        snprintf(line, sizeof line,
                 "source %s: %llu requests, %llu logins, %llu retries, %llu rate-limit answers, "
                 "%.1f s waiting for the request budget",
                 run->src.source->name, (unsigned long long)hs.requests,
                 (unsigned long long)sx_session_logins(run->src.session),
                 (unsigned long long)hs.retries, (unsigned long long)hs.rate_limited,
                 (double)bs.waited_ms / 1000.0);
        sx_log_line(line);
    }
    for (size_t i = 0; i < run->n_jobs; i++) {
        const sx_job *job = &run->jobs[i];
        if (job->status != SIPHON_OK && job->status != SIPHON_E_CANCELLED)
            sx_log(SIPHON_LOG_ERROR, job->name, "failed: %s", job->error);
    }
}
