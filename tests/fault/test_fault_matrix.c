/*
 * test_fault_matrix.c: every fault the emulator offers, alone and all mixed,
 * against a full sync of the thirteen Dinamize streams into each sink. The
 * destination must end up exactly as after a fault-free run over the same
 * data (the emulator's faults are then switched off and a second run fills a
 * fresh destination), it must hold exactly the emulator's records, the
 * bookmarks must agree, and the emulator must count no request sent inside a
 * retry-after.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/logging.h>

#include "fz.h"
#include "proc.h"
#include "deadline.h"

SXT_DEADLINE(300)

TestSuite(fault_matrix, .init = sxt_deadline_300s);

typedef struct fault_case {
    const char *const *emulator; /* fault flags, NULL-terminated */
    const char *config;          /* config members beside SXT_FZ_CONFIG, or NULL */
    const char *counter;         /* the stats.faults member that must be non-zero, or NULL */
} fault_case;

static void survive(const char *sink, const char *name, const fault_case *c)
{
    const char *args[48] = {SXT_FZ_EMULATOR};
    size_t n = 2;
    for (size_t i = 0; c->emulator[i] != NULL && n < 47; i++)
        args[n++] = c->emulator[i];
    args[n] = NULL;
    sxt_dz t;
    sxt_dz_start(&t, args, NULL);
    sxt_pg *pg = strcmp(sink, "postgres") == 0 ? sxt_pg_new() : NULL;
    if (strcmp(sink, "postgres") == 0)
        cr_assert_not_null(pg, "no PostgreSQL server (see tests/support/pg.h)");

    sxt_dest *faulty = sxt_dest_new(sink, t.dir, pg, "faulty");
    sxt_result r = sxt_fz_run(&t, faulty, c->config, NULL, NULL);
    cr_assert(r.exited && r.status == 0, "the run under faults failed (exit %d, signal %d):\n%s",
              r.status, r.signal, r.err);
    sxt_result_free(&r);
    json_t *stats = sxt_dz_stats(&t);
    json_t *fired = json_object_get(stats, "faults");
    if (c->counter != NULL)
        cr_assert_gt(json_integer_value(json_object_get(fired, c->counter)), 0,
                     "the %s fault never fired, so nothing was tested", c->counter);
    json_decref(stats);
    int kinds = 0;
    for (size_t i = 0; c->emulator[i] != NULL; i++)
        kinds += strcmp(c->emulator[i], "--fault") == 0;
    if (kinds > 1)
        cr_assert_geq(sxt_fz_faults(&t), kinds, "only %lld faults of %d kinds fired",
                      sxt_fz_faults(&t), kinds);
    sxt_fz_assert_no_violation(&t);
    long long injected = sxt_fz_faults(&t);

    /* The same data, fault-free, into a fresh destination. */
    json_t *off = sxt_emulator_call(t.emu, "/_emulator/faults", "{\"spec\":[]}");
    cr_assert(json_is_array(json_object_get(off, "spec")), "the faults were not switched off");
    json_decref(off);
    sxt_dest *clean = sxt_dest_new(sink, t.dir, pg, "clean");
    r = sxt_fz_run(&t, clean, c->config, NULL, NULL);
    cr_assert(r.exited && r.status == 0, "the fault-free run failed: %s", r.err);
    sxt_result_free(&r);

    json_t *got = sxt_dest_rows(faulty), *want = sxt_dest_rows(clean);
    int inserts = 0;
    for (size_t i = 0; c->emulator[i] != NULL; i++)
        inserts |= strncmp(c->emulator[i], "insert-between-pages", 20) == 0;
    if (inserts) {
        sxt_fz_forget_live_counts(got);
        sxt_fz_forget_live_counts(want);
    }
    char *what = sxt_strf("%s sink: the run under faults against the fault-free run", sink);
    sxt_rows_assert_same(what, got, want);
    free(what);
    sxt_fz_assert_emulator(&t, faulty, got, NULL, inserts);

    json_t *s1 = sxt_dest_state(faulty), *s2 = sxt_dest_state(clean);
    json_t *b1 = sxt_state_bookmarks(s1), *b2 = sxt_state_bookmarks(s2);
    cr_assert_gt(json_object_size(b1), 0, "the run under faults committed no bookmark");
    char *t1 = json_dumps(b1, JSON_SORT_KEYS), *t2 = json_dumps(b2, JSON_SORT_KEYS);
    cr_assert_str_eq(t1, t2, "the bookmarks differ from the fault-free run's:\n%s\n%s", t1, t2);
    free(t1);
    free(t2);
    json_decref(b1);
    json_decref(b2);
    cr_log_info("fault_matrix %s into %s: %lld faults injected, 0 retry-after violations, the "
                "destination equals the fault-free run\n", name, sink, injected);
    json_decref(s1);
    json_decref(s2);
    json_decref(got);
    json_decref(want);
    sxt_dest_free(faulty);
    sxt_dest_free(clean);
    if (pg != NULL)
        sxt_pg_free(pg);
    sxt_dz_stop(&t);
}

/* One worker where a wait is imposed: a request already in flight when
 * another one is told to wait would count as a violation no client could
 * avoid. */
#define ONE_WORKER "{\"workers\":1}"

#define FLAGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static const fault_case http500 = {FLAGS("--fault", "http500:0.08", "--fault-seed", "11"), NULL,
                                   "http500"};
static const fault_case http502 = {FLAGS("--fault", "http502:0.08", "--fault-seed", "12"), NULL,
                                   "http502"};
static const fault_case http503 = {FLAGS("--fault", "http503:0.08", "--fault-seed", "13"), NULL,
                                   "http503"};
static const fault_case reset = {FLAGS("--fault", "reset:0.08", "--fault-seed", "14"), NULL,
                                 "reset"};
static const fault_case truncate_ = {FLAGS("--fault", "truncate:0.08", "--fault-seed", "15"),
                                     NULL, "truncate"};
static const fault_case badjson = {FLAGS("--fault", "badjson:0.08", "--fault-seed", "16"), NULL,
                                   "badjson"};
/* answers that come later than the client waits */
static const fault_case slow = {FLAGS("--fault", "slow:0.05,2500", "--fault-seed", "17"),
                                "{\"http_timeout_s\":1}", "slow"};
static const fault_case burst = {FLAGS("--fault", "ratelimit-burst:25,2", "--fault-seed", "18"),
                                 ONE_WORKER, "ratelimit-burst"};
static const fault_case expire = {FLAGS("--fault", "token-expire:7", "--fault-seed", "19"), NULL,
                                  "token-expire"};
static const fault_case inserts = {FLAGS("--fault", "insert-between-pages:3", "--fault-seed",
                                         "20"), NULL, "insert-between-pages"};
static const fault_case latency = {FLAGS("--latency-ms", "10", "--jitter-ms", "15"), NULL, NULL};
/* Everything at once, with the emulator's own limit (30 a second) on top. */
static const fault_case mixed = {
    FLAGS("--fault", "http500:0.02", "--fault", "http502:0.02", "--fault", "http503:0.02",
          "--fault", "reset:0.02", "--fault", "truncate:0.02", "--fault", "badjson:0.02",
          "--fault", "slow:0.02,2500", "--fault", "ratelimit-burst:40,1", "--fault",
          "token-expire:9", "--fault", "insert-between-pages:4", "--latency-ms", "2",
          "--jitter-ms", "4", "--rate-limit", "30", "--fault-seed", "21"),
    "{\"workers\":1,\"http_timeout_s\":1}", NULL};

#define MATRIX(fault, c)                                                                       \
    Test(fault_matrix, fault##_into_stdout_equals_the_fault_free_run)                          \
    {                                                                                          \
        survive("stdout", #fault, &c);                                                         \
    }                                                                                          \
    Test(fault_matrix, fault##_into_file_equals_the_fault_free_run)                            \
    {                                                                                          \
        survive("file", #fault, &c);                                                           \
    }                                                                                          \
    Test(fault_matrix, fault##_into_sqlite_equals_the_fault_free_run)                          \
    {                                                                                          \
        survive("sqlite", #fault, &c);                                                         \
    }                                                                                          \
    Test(fault_matrix, fault##_into_postgres_equals_the_fault_free_run)                        \
    {                                                                                          \
        survive("postgres", #fault, &c);                                                       \
    }

MATRIX(http500, http500)
MATRIX(http502, http502)
MATRIX(http503, http503)
MATRIX(reset, reset)
MATRIX(truncate, truncate_)
MATRIX(badjson, badjson)
MATRIX(slow_beyond_the_timeout, slow)
MATRIX(ratelimit_burst, burst)
MATRIX(token_expiry, expire)
MATRIX(inserts_between_pages, inserts)
MATRIX(latency, latency)
MATRIX(all_faults_mixed, mixed)
