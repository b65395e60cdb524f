/*
 * test_crash_resume.c: SIGKILL at seeded points of a full Dinamize sync
 * into the file, SQLite and PostgreSQL sinks, fifty kills per sink.
 *
 * Each cycle starts a fresh destination, kills a run, kills the run that
 * resumes from it, and lets a third run finish. Kills come from a timer
 * (anywhere in the run, start-up included) or from the kill shim inside a
 * commit: at the Nth write, fsync or rename of the file and SQLite sinks
 * (data half written, synced but not yet renamed, renamed but the folder not
 * yet synced) and before or after the Nth COMMIT the PostgreSQL sink sends.
 *
 * After every kill, the committed state is never ahead of the committed data
 * (each bookmark names a committed row of its partition). After every
 * completed rerun the destination equals the uninterrupted run: the same
 * rows for the databases (upserts by key), and for the file sink (a log,
 * at least once) every row present and a row written twice only at or after
 * a bookmark one of the kills left committed.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "fault/fault-paths.h"
#include "fz.h"
#include "siphon_cli.h"
#include "deadline.h"

SXT_DEADLINE(900)

TestSuite(crash_resume, .init = sxt_deadline_900s);

#define KILLS 50
/* A commit every 150 records: about twenty in a run, so kills by timer land
 * inside them too, while each run stays short. */
#define CONFIG "{\"checkpoint_records\":150}"
#define MAX_CYCLES 60

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* --- running siphon, killed or not --- */

typedef struct kill_plan {
    long timer_us;        /* > 0: SIGKILL after this long */
    const char *event;    /* else: the shim's event ("fsync") */
    long n;               /* ... the Nth of it */
    int after;            /* ... after the call returned */
} kill_plan;

/* Runs siphon under the plan; returns 1 when a SIGKILL ended it, 0 when it
 * ran to a clean end (the kill point lay beyond what this run had to do). */
static int run_killed(sxt_dz *t, const kill_plan *k, const char *count_file, int64_t *took_us)
{
    char *preload = sxt_strf("LD_PRELOAD=%s", SXT_KILL_SHIM);
    char *at = k->event ? sxt_strf("SXT_KILL_AT=%s:%ld%s", k->event, k->n, k->after ? ":after" : "")
                        : NULL;
    char *count = count_file ? sxt_strf("SXT_KILL_COUNT=%s", count_file) : NULL;
    const char *env[6] = {preload, "ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0"};
    size_t n = 2;
    if (at)
        env[n++] = at;
    if (count)
        env[n++] = count;
    env[n] = NULL;
    char *err = sxt_strf("%s/siphon.err", t->dir);
    const char *argv[] = {"run", "--config", t->config_path, "--quiet", NULL};
    int64_t start = now_us();
    pid_t pid = sxt_siphon_spawn(t->plugin_path, env, NULL, err, argv);
    cr_assert_gt(pid, 0);
    int status = 0, killed = 0;
    if (k != NULL && k->timer_us > 0) {
        while (now_us() - start < k->timer_us && waitpid(pid, &status, WNOHANG) == 0)
            usleep(1000);
        if (waitpid(pid, &status, WNOHANG) == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
        }
    } else {
        /* never wait forever on a run that hangs */
        while (waitpid(pid, &status, WNOHANG) == 0) {
            cr_assert_lt(now_us() - start, 120 * 1000000LL, "siphon hangs");
            usleep(2000);
        }
    }
    if (took_us)
        *took_us = now_us() - start;
    killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    if (!killed) {
        char *text = sxt_read_file(err, NULL);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "siphon failed instead of being killed or finishing (status %#x):\n%s", status,
                  text ? text : "");
        free(text);
    }
    free(err);
    free(preload);
    free(at);
    free(count);
    return killed;
}

/* --- what a kill may leave behind --- */

/* The committed bookmark of the partition row belongs to, or NULL. */
static const char *bookmark_of(const json_t *state, const char *stream, const json_t *row,
                               const char **rk)
{
    json_t *m = json_object_get(json_object_get(state, "bookmarks"), stream);
    *rk = json_string_value(json_object_get(m, "replication_key"));
    json_t *parts = json_object_get(m, "partitions");
    if (!json_is_array(parts))
        return json_string_value(json_object_get(m, "replication_key_value"));
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p) {
        if (sxt_row_in_partition(row, json_object_get(p, "context"))) {
            *rk = json_string_value(json_object_get(p, "replication_key"));
            return json_string_value(json_object_get(p, "replication_key_value"));
        }
    }
    return NULL;
}

/* --- what a finished rerun must hold --- */

static char *canonical(const json_t *row)
{
    return json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);
}

/*
 * The file sink appends: a resumed stream reads again from its bookmark, so
 * rows at or after a bookmark an earlier run of the cycle left committed (or
 * every row of a stream killed before its first bookmark) may be there
 * twice. Nothing else may: no row lost, none changed, no row below a
 * committed bookmark twice, no row more often than there were runs, and
 * nothing twice in a FULL_TABLE file, which is replaced whole. earlier
 * holds the state each earlier run of the cycle left committed.
 */
static void assert_file_resumed(const json_t *rows, const json_t *ref, const json_t *earlier,
                                int cycle)
{
    const char *stream;
    json_t *want;
    json_object_foreach((json_t *)ref, stream, want) {
        json_t *seen = json_object();
        size_t i;
        json_t *row;
        json_array_foreach(want, i, row) {
            char *c = canonical(row);
            json_object_set_new(seen, c, json_integer(0));
            free(c);
        }
        json_t *got = json_object_get(rows, stream);
        json_array_foreach(got, i, row) {
            char *c = canonical(row);
            json_t *n = json_object_get(seen, c);
            cr_assert_not_null(n, "cycle %d: %s holds a row the uninterrupted run has not: %.300s",
                               cycle, stream, c);
            json_integer_set(n, json_integer_value(n) + 1);
            if (json_integer_value(n) > 1) {
                int full_table = strcmp(stream, "teams") == 0 ||
                                 strcmp(stream, "list_of_values") == 0;
                cr_assert(!full_table, "cycle %d: the FULL_TABLE file of %s holds a row twice: "
                          "%.300s", cycle, stream, c);
                cr_assert_leq(json_integer_value(n), 1 + (json_int_t)json_array_size(earlier),
                              "cycle %d: %s holds a row more often than there were runs", cycle,
                              stream);
                int at_boundary = 0;
                size_t k;
                json_t *st;
                json_array_foreach(earlier, k, st) {
                    const char *rk = NULL;
                    const char *b = bookmark_of(st, stream, row, &rk);
                    const char *v = rk ? json_string_value(json_object_get(row, rk)) : NULL;
                    if (b == NULL || (v != NULL && strcmp(v, b) >= 0))
                        at_boundary = 1;
                }
                cr_assert(at_boundary, "cycle %d: %s holds twice a row below every bookmark the "
                          "kills left committed: %.300s", cycle, stream, c);
            }
            free(c);
        }
        const char *text;
        json_t *n;
        json_object_foreach(seen, text, n)
            cr_assert_gt(json_integer_value(n), 0, "cycle %d: %s lost a row: %.300s", cycle,
                         stream, text);
        json_decref(seen);
    }
}

/* --- the test --- */

typedef struct shim_counts {
    long write, fsync, rename, commit;
} shim_counts;

static shim_counts read_counts(const char *path)
{
    shim_counts c = {0};
    char *text = sxt_read_file(path, NULL);
    cr_assert_not_null(text, "the kill shim wrote no counts (is it preloaded?)");
    cr_assert_eq(sscanf(text, "write %ld fsync %ld rename %ld commit %ld", &c.write, &c.fsync,
                        &c.rename, &c.commit), 4, "%s", text);
    free(text);
    return c;
}

/* A kill point inside a commit: the events this sink makes durable with. */
static kill_plan event_kill(const char *sink, const shim_counts *c, unsigned *seed)
{
    kill_plan k = {0};
    unsigned r = (unsigned)rand_r(seed);
    k.after = (int)(r & 1);
    if (strcmp(sink, "postgres") == 0) {
        k.event = "commit";
        k.n = 1 + (long)((r >> 1) % (unsigned long)c->commit);
    } else {
        const char *events[] = {"write", "fsync", "rename"};
        long counts[] = {c->write, c->fsync, c->rename};
        size_t kinds = strcmp(sink, "file") == 0 ? 3 : 2; /* SQLite renames nothing */
        size_t e = (r >> 1) % kinds;
        k.event = events[e];
        k.n = 1 + (long)((r >> 3) % (unsigned long)counts[e]);
    }
    return k;
}

static void kill_and_resume(const char *sink, unsigned seed)
{
    sxt_dz t;
    sxt_dz_start(&t, (const char *[]){SXT_FZ_EMULATOR, "--contacts", "400", NULL}, NULL);
    sxt_pg *pg = NULL;
    if (strcmp(sink, "postgres") == 0) {
        pg = sxt_pg_new();
        cr_assert_not_null(pg, "no PostgreSQL server (see tests/support/pg.h)");
    }

    /* The uninterrupted run: what every rerun must reach, how long it takes,
     * and how many writes, fsyncs, renames and COMMITs it makes. */
    sxt_dest *ref = sxt_dest_new(sink, t.dir, pg, "reference");
    sxt_fz_write_config(&t, ref, CONFIG);
    char *counts_path = sxt_strf("%s/counts", t.dir);
    int64_t run_us = 0;
    cr_assert_eq(run_killed(&t, &(kill_plan){0}, counts_path, &run_us), 0);
    shim_counts counts = read_counts(counts_path);
    cr_assert_gt(strcmp(sink, "postgres") == 0 ? counts.commit : counts.fsync, 5,
                 "too few commits to kill inside");
    json_t *want = sxt_dest_rows(ref);
    sxt_fz_assert_emulator(&t, ref, want, NULL, 0);

    int landed = 0, in_commit = 0, by_timer = 0, mid_sync = 0, reruns = 0;
    for (int cycle = 0; landed < KILLS; cycle++) {
        cr_assert_lt(cycle, MAX_CYCLES, "only %d of %d kills landed in %d cycles", landed, KILLS,
                     cycle);
        char tag[32];
        snprintf(tag, sizeof tag, "cycle%d", cycle);
        sxt_dest *d = sxt_dest_new(sink, t.dir, pg, tag);
        sxt_fz_write_config(&t, d, CONFIG);
        json_t *earlier_states = json_array();
        for (int attempt = 0; attempt < 2 && landed < KILLS; attempt++) {
            kill_plan k = {0};
            if (rand_r(&seed) % 5 < 2) {
                k.timer_us = 1 + (long)((unsigned long)rand_r(&seed) % (unsigned long)run_us);
            } else {
                k = event_kill(sink, &counts, &seed);
            }
            int killed = run_killed(&t, &k, NULL, NULL);
            json_t *state;
            json_t *rows = sxt_dest_read(d, &state);
            /* what this run left committed bounds what the next may repeat */
            json_array_append_new(earlier_states, state ? json_incref(state) : json_object());
            if (killed) {
                landed++;
                if (k.timer_us > 0)
                    by_timer++;
                else
                    in_commit++;
                if (state != NULL) {
                    char what[64];
                    snprintf(what, sizeof what, "%s, kill %d", sink, landed);
                    sxt_assert_state_behind_data(state, rows, what);
                    mid_sync++;
                }
            }
            json_decref(state);
            json_decref(rows);
        }
        /* the rerun that finishes */
        cr_assert_eq(run_killed(&t, &(kill_plan){0}, NULL, NULL), 0);
        reruns++;
        json_t *got = sxt_dest_rows(d);
        if (strcmp(sink, "file") == 0) {
            assert_file_resumed(got, want, earlier_states, cycle);
        } else {
            char *what = sxt_strf("%s, cycle %d: the resumed destination against the "
                                  "uninterrupted run", sink, cycle);
            sxt_rows_assert_same(what, got, want);
            free(what);
        }
        json_decref(got);
        json_decref(earlier_states);
        sxt_dest_free(d);
    }
    cr_assert_geq(mid_sync, KILLS / 3, "only %d of %d kills came after a first commit", mid_sync,
                  KILLS);
    cr_log_info("crash_resume %s: %d kills (%d inside a commit, %d by timer; %d after a first "
                "commit), %d resumed runs equal to the uninterrupted one; the uninterrupted "
                "run took %lld ms with %ld writes, %ld fsyncs, %ld renames, %ld COMMITs\n", sink,
                landed, in_commit, by_timer, mid_sync, reruns, (long long)(run_us / 1000),
                counts.write, counts.fsync, counts.rename, counts.commit);

    json_decref(want);
    sxt_dest_free(ref);
    free(counts_path);
    if (pg != NULL)
        sxt_pg_free(pg);
    sxt_dz_stop(&t);
}

Test(crash_resume, file_after_fifty_kills_holds_every_row_and_repeats_only_boundary_rows)
{
    kill_and_resume("file", 6101);
}

Test(crash_resume, sqlite_after_fifty_kills_equals_the_uninterrupted_run)
{
    kill_and_resume("sqlite", 6102);
}

Test(crash_resume, postgres_after_fifty_kills_equals_the_uninterrupted_run)
{
    kill_and_resume("postgres", 6103);
}
