/*
 * Exactly once into databases: siphon is SIGKILLed at 50 seeded points of a
 * large incremental sync into SQLite and into PostgreSQL, and rerun each
 * time. After every kill the destination holds no duplicate key and a state
 * whose bookmark is a row it holds (never ahead of the data); after the last
 * rerun the table equals the table of an uninterrupted run.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "pg.h"
#include "siphon_cli.h"

#define KILL_POINTS 50
#define RECORDS 400000

typedef struct target {
    const char *sink;
    char *tmp;
    char *db_path;      /* sqlite */
    sxt_pg *pg;         /* postgres */
} target;

static char *sink_json(const target *t)
{
    if (strcmp(t->sink, "sqlite") == 0)
        return sxt_strf("{\"type\":\"sqlite\",\"path\":\"%s\"}", t->db_path);
    return sxt_strf("{\"type\":\"postgres\",\"dsn\":\"%s\"}", sxt_pg_dsn(t->pg));
}

static char *write_config(const target *t, const char *name)
{
    char *sink = sink_json(t);
    char *path = sxt_strf("%s/%s", t->tmp, name);
    char *json = sxt_strf("{\"source\":\"example\",\"record_count\":%d,\"record_size\":20,"
                          "\"checkpoint_records\":5000,\"sink\":%s}", RECORDS, sink);
    cr_assert_eq(sxt_write_file(path, json), 0);
    free(json);
    free(sink);
    return path;
}

/* One value from the destination (first column of the first row). */
static char *query(const target *t, const char *sql)
{
    if (t->pg != NULL)
        return sxt_pg_query1(t->pg, sql);
    const char *argv[] = {"sqlite3", "-batch", t->db_path, sql, NULL};
    sxt_result r = sxt_run(argv, NULL, NULL, 30);
    cr_assert(r.exited && r.status == 0, "sqlite3 failed: %s", r.err);
    char *nl = strchr(r.out, '\n');
    if (nl)
        *nl = '\0';
    char *out = strdup(r.out);
    sxt_result_free(&r);
    return out;
}

/* Row count, distinct keys, and a checksum of every column but the time of
 * extraction, which differs between runs by design. */
static char *table_digest(const target *t)
{
    return query(t, "SELECT COUNT(*) || ' ' || COUNT(DISTINCT id) || ' ' || SUM(id) || ' ' || "
                    "SUM(LENGTH(updated_at) + LENGTH(name) + LENGTH(payload)) || ' ' || "
                    "MAX(updated_at) FROM synthetic");
}

/* After a kill: no duplicate key, and the stored bookmark names a stored row.
 * Returns 1 when the kill left a partial sync behind (committed rows, not
 * all of them), so the test can prove its kill points landed mid-sync. */
static int check_invariants(const target *t, int point)
{
    /* killed before the first commit: nothing (maybe not even the table) yet */
    char *tables = query(t, t->pg ? "SELECT COUNT(*) FROM pg_tables WHERE tablename = '_siphon_state'"
                                  : "SELECT COUNT(*) FROM sqlite_master WHERE name = '_siphon_state'");
    int has_table = tables != NULL && strcmp(tables, "1") == 0;
    free(tables);
    char *has_state = has_table ? query(t, "SELECT COUNT(*) FROM _siphon_state") : NULL;
    int stored = has_state != NULL && strcmp(has_state, "0") != 0;
    free(has_state);
    if (!stored)
        return 0;
    char *state = query(t, "SELECT state FROM _siphon_state");
    json_t *st = json_loads(state, 0, NULL);
    cr_assert_not_null(st, "kill point %d: the stored state is not JSON: %s", point, state);
    const char *bookmark = json_string_value(json_object_get(
        json_object_get(json_object_get(st, "bookmarks"), "synthetic"), "replication_key_value"));
    if (bookmark != NULL) {
        char *sql = sxt_strf("SELECT COUNT(*) FROM synthetic WHERE updated_at = '%s'", bookmark);
        char *n = query(t, sql);
        cr_assert(n != NULL && strcmp(n, "1") == 0,
                  "kill point %d: the bookmark %s is ahead of the committed rows", point, bookmark);
        free(n);
        free(sql);
    }
    char *dups = query(t, "SELECT COUNT(*) - COUNT(DISTINCT id) FROM synthetic");
    cr_assert_str_eq(dups, "0", "kill point %d: duplicate primary keys", point);
    free(dups);
    char *rows = query(t, "SELECT COUNT(*) FROM synthetic");
    int partial = rows != NULL && atol(rows) < RECORDS;
    free(rows);
    json_decref(st);
    free(state);
    return partial;
}

static sxt_result run_to_end(const target *t, const char *cfg)
{
    char *pp = sxt_strf("%s:%s", sxt_plugins_sinks(), sxt_plugins_lab());
    sxt_result r = sxt_siphon(pp, NULL, 300, "run", "-c", cfg, "-q", NULL);
    free(pp);
    return r;
}

static void kill_and_resume(const char *sink)
{
    target ref = {.sink = sink}, t = {.sink = sink};
    ref.tmp = sxt_tmpdir("skref");
    t.tmp = sxt_tmpdir("skill");
    if (strcmp(sink, "sqlite") == 0) {
        ref.db_path = sxt_strf("%s/ref.db", ref.tmp);
        t.db_path = sxt_strf("%s/killed.db", t.tmp);
    } else {
        ref.pg = sxt_pg_new();
        t.pg = sxt_pg_new();
        cr_assert(ref.pg && t.pg, "no PostgreSQL server (see tests/support/pg.h)");
    }

    /* the uninterrupted run, and how long it takes (to spread the kill points) */
    char *ref_cfg = write_config(&ref, "ref.json");
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    sxt_result r = run_to_end(&ref, ref_cfg);
    clock_gettime(CLOCK_MONOTONIC, &b);
    cr_assert(r.exited && r.status == 0, "reference run failed: %s", r.err);
    sxt_result_free(&r);
    long run_us = (b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000;
    char *expected = table_digest(&ref);

    char *cfg = write_config(&t, "killed.json");
    char *pp = sxt_strf("%s:%s", sxt_plugins_sinks(), sxt_plugins_lab());
    unsigned seed = 5150;
    /* each run resumes where the last committed, so kill points are spread
     * over a slice of the full run (plus start-up): together the fifty runs
     * cover about the whole sync, and most kills land mid-sync */
    long span = 3 * run_us / KILL_POINTS + 30000;
    int mid_sync = 0;
    for (int point = 0; point < KILL_POINTS; point++) {
        const char *argv[] = {"run", "-c", cfg, "-q", NULL};
        pid_t pid = sxt_siphon_spawn(pp, NULL, NULL, NULL, argv);
        usleep((useconds_t)(rand_r(&seed) % span));
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        mid_sync += check_invariants(&t, point);
    }
    cr_assert_geq(mid_sync, KILL_POINTS / 5, "only %d of %d kills landed mid-sync", mid_sync,
                  KILL_POINTS);
    r = run_to_end(&t, cfg);
    cr_assert(r.exited && r.status == 0, "final run failed: %s", r.err);
    sxt_result_free(&r);
    char *got = table_digest(&t);
    cr_assert_str_eq(got, expected, "after %d kills the table differs from an uninterrupted run",
                     KILL_POINTS);

    free(got);
    free(expected);
    free(cfg);
    free(ref_cfg);
    free(pp);
    if (ref.pg) {
        sxt_pg_free(ref.pg);
        sxt_pg_free(t.pg);
    }
    sxt_rmtree(ref.tmp);
    sxt_rmtree(t.tmp);
    free(ref.tmp);
    free(t.tmp);
    free(ref.db_path);
    free(t.db_path);
}

Test(sink_kill, sqlite_holds_exactly_one_copy_after_fifty_kills)
{
    kill_and_resume("sqlite");
}

Test(sink_kill, postgres_holds_exactly_one_copy_after_fifty_kills)
{
    kill_and_resume("postgres");
}
