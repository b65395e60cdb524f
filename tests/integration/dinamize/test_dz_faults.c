/*
 * test_dz_faults.c: with the emulator misbehaving (transport faults, broken
 * bodies, expiring tokens, rate-limit bursts, slow answers) a full sync still
 * produces exactly the records of a fault-free one, and never sends a request
 * before a retry-after has passed.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "dz_harness.h"
#include "deadline.h"

SXT_DEADLINE(240)

TestSuite(dz_faults, .init = sxt_deadline_240s);

Test(dz_faults, output_under_faults_is_identical_to_the_fault_free_run)
{
    /* The fault-free run first, on its own emulator with the same data. */
    sxt_dz clean;
    sxt_dz_start(&clean, NULL, NULL);
    sxt_result r0 = sxt_dz_run(&clean, NULL, (const char *[]){"run", NULL});
    sxt_singer s0;
    sxt_dz_singer(&r0, &s0);

    sxt_dz t;
    const char *faults[] = {"--fault", "http500:0.03", "--fault", "http503:0.02",
                            "--fault", "reset:0.02",   "--fault", "truncate:0.03",
                            "--fault", "badjson:0.02", "--fault", "token-expire:5",
                            "--fault", "ratelimit-burst:15,2", "--fault", "slow:0.02,3000",
                            "--fault-seed", "7", NULL};
    /* A client timeout below the slow answers, and room for retries. One
     * worker keeps the run deterministic for the seeded faults: the host logs
     * in again once per request, and a request in flight when a burst starts
     * would count as a violation the client could not have avoided. */
    sxt_dz_start(&t, faults, "{\"http_timeout_s\":1,\"http_max_attempts\":10,\"workers\":1,"
                              "\"requests_per_minute\":600}");
    sxt_result r = sxt_dz_run(&t, NULL, (const char *[]){"run", NULL});
    sxt_singer s;
    sxt_dz_singer(&r, &s);
    for (size_t i = 0; i < 13; i++) {
        const char *stream = sxt_dz_streams[i];
        json_t *clean_records = json_object_get(s0.records_by_stream, stream);
        cr_assert_not_null(clean_records, "the fault-free run has no %s", stream);
        sxt_dz_assert_same_records(stream, json_object_get(s.records_by_stream, stream),
                                   clean_records);
    }
    json_t *stats = sxt_dz_stats(&t);
    json_t *injected = json_object_get(stats, "faults");
    json_int_t total = 0;
    const char *kind;
    json_t *n;
    json_object_foreach(injected, kind, n) total += json_integer_value(n);
    cr_assert_gt(total, 3, "too few faults fired to prove anything: %lld", (long long)total);
    cr_assert_eq(json_integer_value(json_object_get(stats, "violations")), 0);
    json_decref(stats);
    sxt_singer_free(&s0);
    sxt_singer_free(&s);
    sxt_result_free(&r0);
    sxt_result_free(&r);
    sxt_dz_stop(&clean);
    sxt_dz_stop(&t);
}

Test(dz_faults, rows_inserted_between_pages_are_not_missed)
{
    sxt_dz t;
    /* small pages so there are many page boundaries to insert at */
    sxt_dz_start(&t, (const char *[]){"--fault", "insert-between-pages:2", NULL},
                 "{\"page_size\":25}");
    sxt_result r = sxt_dz_run(&t, NULL, (const char *[]){"run", "--select", "contacts,campaigns",
                                                          NULL});
    sxt_singer s;
    sxt_dz_singer(&r, &s);
    json_t *stats = sxt_dz_stats(&t);
    cr_assert_gt(json_integer_value(json_object_get(json_object_get(stats, "faults"),
                                                    "insert-between-pages")), 0);
    json_decref(stats);
    /* The inserted rows are dated before this run's signpost and sort after
     * the cursor, so the read ends holding every one of them, and no page
     * boundary skipped an older row. */
    const char *streams[] = {"contacts", "campaigns"};
    for (size_t i = 0; i < 2; i++) {
        json_t *expected = sxt_dz_expected(&t, streams[i]);
        sxt_dz_assert_same_records(streams[i], json_object_get(s.records_by_stream, streams[i]),
                                   expected);
        json_decref(expected);
    }
    sxt_singer_free(&s);
    sxt_result_free(&r);
    sxt_dz_stop(&t);
}
