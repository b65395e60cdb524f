/*
 * test_misbehaving.c: third-party plugins that crash or misbehave, writing
 * into the database and file sinks (tests/integration covers stdout). The
 * lab source (tests/integration/plugins/lab_streams.c) supplies a steady
 * stream beside streams that segfault, abort, fail, emit records for a
 * stream they do not own, or emit garbage.
 *
 * Whatever happens, the plugin is named, what was committed before stays
 * (no row of another stream lost or changed, the database sound), the
 * committed state is never ahead of the committed rows, and the next run
 * completes the steady stream with exactly its rows.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fz.h"
#include "siphon_cli.h"
#include "deadline.h"

SXT_DEADLINE(120)

TestSuite(misbehaving, .init = sxt_deadline_120s);

typedef struct rig {
    const char *sink;
    char *dir;
    sxt_pg *pg;
    sxt_dest *d;
    char *pp;
} rig;

static void rig_start(rig *r, const char *sink)
{
    memset(r, 0, sizeof *r);
    r->sink = sink;
    r->dir = sxt_tmpdir("misbehaving");
    if (strcmp(sink, "postgres") == 0) {
        r->pg = sxt_pg_new();
        cr_assert_not_null(r->pg, "no PostgreSQL server (see tests/support/pg.h)");
    }
    r->d = sxt_dest_new(sink, r->dir, r->pg, "lab");
    r->pp = sxt_strf("%s:%s", sxt_plugins_sinks(), sxt_plugins_lab());
}

static void rig_stop(rig *r)
{
    sxt_dest_free(r->d);
    if (r->pg)
        sxt_pg_free(r->pg);
    sxt_rmtree(r->dir);
    free(r->dir);
    free(r->pp);
}

/* Runs the lab source with lab_records records per stream, a checkpoint
 * every 5 and a commit every 10, into the rig's sink. */
static sxt_result run(rig *r, int records, const char *select)
{
    json_t *cfg = json_pack("{s:s, s:i, s:i, s:i, s:o}", "source", "lab", "lab_records", records,
                            "lab_page", 5, "checkpoint_records", 10, "sink",
                            sxt_dest_sink_config(r->d));
    char *path = sxt_strf("%s/config.json", r->dir);
    cr_assert_eq(json_dump_file(cfg, path, 0), 0);
    json_decref(cfg);
    sxt_result res = sxt_siphon(r->pp, NULL, 60, "run", "--config", path, "--select", select,
                                "--quiet", NULL);
    free(path);
    return res;
}

/* The steady stream holds exactly ids 0 .. n-1, each once, with their seq. */
static void assert_steady(rig *r, const json_t *rows, int n, const char *when)
{
    json_t *steady = json_object_get(rows, "steady");
    json_t *seen = json_object();
    size_t i;
    json_t *row;
    json_array_foreach(steady, i, row) {
        json_t *id = json_object_get(row, "id");
        json_int_t v = json_is_integer(id) ? json_integer_value(id) : atoll(json_string_value(id));
        char want[32], key[32];
        snprintf(want, sizeof want, "%010lld", (long long)v);
        snprintf(key, sizeof key, "%lld", (long long)v);
        cr_assert_str_eq(json_string_value(json_object_get(row, "seq")), want,
                         "%s, %s: steady row %lld holds another stream's seq", r->sink, when,
                         (long long)v);
        json_object_set_new(seen, key, json_true());
    }
    if (strcmp(r->sink, "file") != 0)
        cr_assert_eq(json_array_size(steady), (size_t)n, "%s, %s: %zu steady rows, want %d",
                     r->sink, when, json_array_size(steady), n);
    cr_assert_eq(json_object_size(seen), (size_t)n, "%s, %s: %zu distinct steady rows, want %d",
                 r->sink, when, json_object_size(seen), n);
    json_decref(seen);
}

static void assert_sound(rig *r, const char *when)
{
    json_t *state;
    json_t *rows = sxt_dest_read(r->d, &state);
    cr_assert_not_null(state, "%s, %s: no committed state", r->sink, when);
    char *what = sxt_strf("%s, %s", r->sink, when);
    sxt_assert_state_behind_data(state, rows, what);
    free(what);
    if (strcmp(r->sink, "sqlite") == 0) {
        char *db = sxt_strf("%s/lab.db", r->dir);
        const char *argv[] = {"sqlite3", db, "PRAGMA integrity_check", NULL};
        sxt_result res = sxt_run(argv, NULL, NULL, 30);
        cr_assert(res.exited && res.status == 0 && strcmp(res.out, "ok\n") == 0,
                  "%s: the database is not sound: %s%s", when, res.out, res.err);
        sxt_result_free(&res);
        free(db);
    }
    json_decref(state);
    json_decref(rows);
}

/* A plugin that kills the process (SIGSEGV or SIGABRT) while steady runs. */
static void crash_mid_sync(const char *sink, const char *stream, const char *signal_name)
{
    rig r;
    rig_start(&r, sink);
    sxt_result res = run(&r, 40, "steady");
    cr_assert(res.exited && res.status == 0, "%s", res.err);
    sxt_result_free(&res);
    json_t *before = sxt_dest_rows(r.d);
    assert_steady(&r, before, 40, "before the crash");

    char *select = sxt_strf("steady,%s", stream);
    res = run(&r, 400, select);
    cr_assert(res.exited && res.status == 6, "exit %d (signal %d), want 6 (plugin):\n%s",
              res.status, res.signal, res.err);
    cr_assert_not_null(strstr(res.err, "lab-streams"), "the plugin is not named:\n%s", res.err);
    cr_assert_not_null(strstr(res.err, signal_name), "%s", res.err);
    sxt_result_free(&res);
    assert_sound(&r, "after the crash");
    json_t *after = sxt_dest_rows(r.d);
    /* the 40 committed rows of steady are all still there, unchanged */
    json_t *old = json_object_get(before, "steady"), *now = json_object_get(after, "steady");
    size_t i;
    json_t *row;
    json_array_foreach(old, i, row) {
        int found = 0;
        size_t j;
        json_t *other;
        json_array_foreach(now, j, other) found |= json_equal(row, other);
        char *text = json_dumps(row, JSON_COMPACT);
        cr_assert(found, "%s: a committed steady row was lost or changed by the crash: %s", sink,
                  text);
        free(text);
    }
    json_decref(before);
    json_decref(after);

    res = run(&r, 400, "steady");
    cr_assert(res.exited && res.status == 0, "the run after the crash failed: %s", res.err);
    sxt_result_free(&res);
    json_t *rows = sxt_dest_rows(r.d);
    assert_steady(&r, rows, 400, "after the rerun");
    json_decref(rows);
    assert_sound(&r, "after the rerun");
    free(select);
    rig_stop(&r);
}

/* Streams that fail, emit another stream's records, or emit garbage fail
 * alone; the steady stream beside them commits exactly its rows. */
static void misbehaving_streams_fail_alone(const char *sink)
{
    rig r;
    rig_start(&r, sink);
    sxt_result res = run(&r, 30, "steady,failing,foreign,garbage");
    cr_assert(res.exited && res.status == 5, "exit %d (signal %d), want 5 (partial):\n%s",
              res.status, res.signal, res.err);
    cr_assert_not_null(strstr(res.err, "ERROR [failing] failed: the lab API answered error 999"),
                       "%s", res.err);
    cr_assert_not_null(strstr(res.err, "ERROR [foreign] failed: plugin 'lab-streams' emitted a "
                                       "record for stream 'steady', which it does not own"),
                       "%s", res.err);
    cr_assert_not_null(strstr(res.err, "ERROR [garbage] failed: plugin 'lab-streams' emitted a "
                                       "record that is not a JSON object"), "%s", res.err);
    sxt_result_free(&res);
    json_t *rows = sxt_dest_rows(r.d);
    assert_steady(&r, rows, 30, "beside the misbehaving streams");
    cr_assert_eq(json_array_size(json_object_get(rows, "foreign")), 0);
    cr_assert_eq(json_array_size(json_object_get(rows, "garbage")), 0);
    json_decref(rows);
    assert_sound(&r, "beside the misbehaving streams");
    rig_stop(&r);
}

#define MISBEHAVING(sink)                                                                    \
    Test(misbehaving, a_segfault_mid_sync_into_##sink##_keeps_every_committed_row)            \
    {                                                                                         \
        crash_mid_sync(#sink, "crashing", "SIGSEGV");                                         \
    }                                                                                         \
    Test(misbehaving, an_abort_mid_sync_into_##sink##_keeps_every_committed_row)              \
    {                                                                                         \
        crash_mid_sync(#sink, "aborting", "SIGABRT");                                         \
    }                                                                                         \
    Test(misbehaving, failing_foreign_and_garbage_streams_into_##sink##_fail_alone)           \
    {                                                                                         \
        misbehaving_streams_fail_alone(#sink);                                                \
    }

MISBEHAVING(file)
MISBEHAVING(sqlite)
MISBEHAVING(postgres)
