/*
 * test_dz_errors.c: every outcome code of the Dinamize API (dinamize-api.md
 * §1.1) through real siphon runs: rejected credentials, expired tokens, the
 * rate limit, and an unknown code that fails one stream alone.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "dz_harness.h"
#include "deadline.h"

SXT_DEADLINE(180)

TestSuite(dz_errors, .init = sxt_deadline_180s);

/* Exit codes (siphon --help). */
#define EXIT_AUTH 4
#define EXIT_PARTIAL 5

static void expect_rejected(const char *config, const char *code, const char *detail)
{
    sxt_dz t;
    sxt_dz_start(&t, NULL, config);
    sxt_result r = sxt_dz_run(&t, NULL, (const char *[]){"run", "--select", "campaigns", NULL});
    cr_assert(r.exited && r.status == EXIT_AUTH, "exit %d, want %d (auth): %s", r.status,
              EXIT_AUTH, r.err);
    /* the emulator's own code_detail when the test knows it, else just the code */
    char *want = detail[0] ? sxt_strf("credentials rejected: %s (%s)", code, detail)
                           : sxt_strf("credentials rejected: %s (", code);
    cr_assert(strstr(r.err, want) != NULL, "stderr should say '%s':\n%s", want, r.err);
    cr_assert(strstr(r.err, SXT_DZ_PASSWORD) == NULL, "the password leaked:\n%s", r.err);
    cr_assert(strstr(r.out, "\"RECORD\"") == NULL, "records despite rejected credentials");
    /* rejected credentials are not retried: one login attempt */
    json_t *stats = sxt_dz_stats(&t);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(stats, "requests"), "/auth")),
                 1);
    json_decref(stats);
    free(want);
    sxt_result_free(&r);
    sxt_dz_stop(&t);
}

Test(dz_errors, a_wrong_password_is_240004_and_exits_with_the_auth_code)
{
    expect_rejected("{\"password\":\"not-the-password\"}", "240004",
                    "Username or password are invalid");
}

Test(dz_errors, an_unknown_user_is_240004)
{
    expect_rejected("{\"user\":\"nobody@siphon.test\"}", "240004",
                    "Username or password are invalid");
}

Test(dz_errors, a_wrong_client_code_is_240029)
{
    expect_rejected("{\"client_code\":\"999999\"}", "240029", "");
}

Test(dz_errors, an_empty_password_is_240002)
{
    expect_rejected("{\"password\":\"\"}", "240002", "Password is required");
}

Test(dz_errors, an_empty_user_is_240003)
{
    expect_rejected("{\"user\":\"\"}", "240003", "Username is required");
}

Test(dz_errors, expired_tokens_are_renewed_and_the_request_repeated)
{
    sxt_dz t;
    /* One worker: the fault really kills the token, and the host logs in again
     * once per request, so a retry must not meet the next injected expiry
     * (with several requests in flight it can; see the README). */
    sxt_dz_start(&t, (const char *[]){"--fault", "token-expire:4", NULL}, "{\"workers\":1}");
    sxt_result r = sxt_dz_run(&t, NULL, (const char *[]){"run", "--select", "contacts,campaigns",
                                                          NULL});
    sxt_singer s;
    sxt_dz_singer(&r, &s);
    const char *streams[] = {"contacts", "campaigns"};
    for (size_t i = 0; i < 2; i++) {
        json_t *expected = sxt_dz_expected(&t, streams[i]);
        sxt_dz_assert_same_records(streams[i], json_object_get(s.records_by_stream, streams[i]),
                                   expected);
        json_decref(expected);
    }
    json_t *stats = sxt_dz_stats(&t);
    json_int_t expired = json_integer_value(
        json_object_get(json_object_get(stats, "faults"), "token-expire"));
    json_int_t logins = json_integer_value(json_object_get(stats, "auth_ok"));
    cr_assert_gt(expired, 0, "the fault never fired");
    cr_assert_eq(logins, expired + 1, "one new login per expired token: %lld logins, %lld "
                 "expiries", (long long)logins, (long long)expired);
    json_decref(stats);
    sxt_singer_free(&s);
    sxt_result_free(&r);
    sxt_dz_stop(&t);
}

Test(dz_errors, rate_limit_answers_are_waited_out_without_a_violation)
{
    sxt_dz t;
    /* The emulator allows 5 requests a second; siphon is told it may send far
     * more, so it runs into 240024 and must honour every retry-after. One
     * worker, because a request already in flight when another one is told to
     * wait would count as a violation the client could not have avoided. */
    sxt_dz_start(&t, (const char *[]){"--rate-limit", "5", NULL},
                 "{\"requests_per_minute\":6000,\"workers\":1}");
    sxt_result r = sxt_dz_run(&t, NULL, (const char *[]){"run", "--select", "contacts,sends",
                                                          NULL});
    sxt_singer s;
    sxt_dz_singer(&r, &s);
    const char *streams[] = {"contacts", "actions", "campaigns", "messages", "transactions"};
    for (size_t i = 0; i < 5; i++) {
        json_t *expected = sxt_dz_expected(&t, streams[i]);
        sxt_dz_assert_same_records(streams[i], json_object_get(s.records_by_stream, streams[i]),
                                   expected);
        json_decref(expected);
    }
    json_t *stats = sxt_dz_stats(&t);
    cr_assert_gt(json_integer_value(json_object_get(stats, "rate_limited")), 0,
                 "the limit was never reached, so nothing was tested");
    cr_assert_eq(json_integer_value(json_object_get(stats, "violations")), 0,
                 "a request came before its retry-after had passed");
    json_decref(stats);
    sxt_singer_free(&s);
    sxt_result_free(&r);
    sxt_dz_stop(&t);
}

Test(dz_errors, rate_limit_bursts_are_waited_out_without_a_violation)
{
    sxt_dz t;
    /* after every 3 accepted requests, 2 answers of 240024 with retry-after 1 */
    sxt_dz_start(&t, (const char *[]){"--fault", "ratelimit-burst:3,2", NULL}, "{\"workers\":1}");
    sxt_result r = sxt_dz_run(&t, NULL, (const char *[]){"run", "--select", "sends", NULL});
    sxt_singer s;
    sxt_dz_singer(&r, &s);
    const char *streams[] = {"actions", "campaigns", "messages", "transactions"};
    for (size_t i = 0; i < 4; i++) {
        json_t *expected = sxt_dz_expected(&t, streams[i]);
        sxt_dz_assert_same_records(streams[i], json_object_get(s.records_by_stream, streams[i]),
                                   expected);
        json_decref(expected);
    }
    json_t *stats = sxt_dz_stats(&t);
    cr_assert_gt(json_integer_value(
                     json_object_get(json_object_get(stats, "faults"), "ratelimit-burst")), 0);
    cr_assert_eq(json_integer_value(json_object_get(stats, "violations")), 0);
    json_decref(stats);
    sxt_singer_free(&s);
    sxt_result_free(&r);
    sxt_dz_stop(&t);
}

Test(dz_errors, an_unknown_code_fails_only_that_stream)
{
    sxt_dz t;
    sxt_dz_start(&t, (const char *[]){"--fault", "apierror:/emkt/campaign/search,240100", NULL},
                 NULL);
    sxt_result r = sxt_dz_run(&t, NULL, (const char *[]){"run", "--select", "sends", NULL});
    cr_assert(r.exited && r.status == EXIT_PARTIAL, "exit %d, want %d (partial): %s", r.status,
              EXIT_PARTIAL, r.err);
    cr_assert(strstr(r.err, "API error 240100") != NULL, "%s", r.err);
    cr_assert(strstr(r.err, "/emkt/campaign/search") != NULL, "%s", r.err);
    cr_assert(strstr(r.err, "campaigns") != NULL, "%s", r.err);
    char why[512];
    sxt_singer s;
    cr_assert_eq(sxt_singer_check(r.out, &s, why, sizeof why), 0, "%s", why);
    cr_assert_null(json_object_get(s.records_by_stream, "campaigns"));
    const char *others[] = {"actions", "messages", "transactions"};
    for (size_t i = 0; i < 3; i++) {
        json_t *expected = sxt_dz_expected(&t, others[i]);
        sxt_dz_assert_same_records(others[i], json_object_get(s.records_by_stream, others[i]),
                                   expected);
        json_decref(expected);
    }
    /* a fatal answer is not retried */
    json_t *stats = sxt_dz_stats(&t);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(stats, "requests"),
                                                    "/emkt/campaign/search")), 1);
    json_decref(stats);
    sxt_singer_free(&s);
    sxt_result_free(&r);
    sxt_dz_stop(&t);
}

Test(dz_errors, check_proves_credentials_with_two_requests)
{
    sxt_dz t;
    sxt_dz_start(&t, NULL, NULL);
    sxt_result r = sxt_dz_run(&t, NULL, (const char *[]){"check", NULL});
    cr_assert(r.exited && r.status == 0, "check failed: %s", r.err);
    json_t *stats = sxt_dz_stats(&t);
    json_t *by_path = json_object_get(stats, "requests");
    cr_assert_eq(json_integer_value(json_object_get(by_path, "/auth")), 1);
    cr_assert_eq(json_integer_value(json_object_get(by_path, "/emkt/contact-list/search")), 1);
    cr_assert_eq(json_integer_value(json_object_get(stats, "total")), 2);
    json_decref(stats);
    sxt_result_free(&r);

    sxt_dz_config(&t, "{\"password\":\"wrong\"}");
    r = sxt_dz_run(&t, NULL, (const char *[]){"check", NULL});
    cr_assert(r.exited && r.status == EXIT_AUTH, "exit %d: %s", r.status, r.err);
    cr_assert(strstr(r.err, "240004") != NULL, "%s", r.err);
    sxt_result_free(&r);
    sxt_dz_stop(&t);
}

Test(dz_errors, a_bad_start_date_or_timezone_is_a_config_error_naming_it)
{
    sxt_dz t;
    sxt_dz_start(&t, NULL, "{\"start_date\":\"2024-13-45\"}");
    sxt_result r = sxt_dz_run(&t, NULL, (const char *[]){"run", "--select", "campaigns", NULL});
    cr_assert(r.exited && r.status != 0);
    cr_assert(strstr(r.err, "start_date") && strstr(r.err, "2024-13-45"), "%s", r.err);
    sxt_result_free(&r);

    sxt_dz_config(&t, "{\"timezone\":\"Mars/Olympus_Mons\"}");
    r = sxt_dz_run(&t, NULL, (const char *[]){"run", "--select", "campaigns", NULL});
    cr_assert(r.exited && r.status != 0);
    cr_assert(strstr(r.err, "timezone") && strstr(r.err, "Mars/Olympus_Mons"), "%s", r.err);
    sxt_result_free(&r);
    sxt_dz_stop(&t);
}

Test(dz_errors, a_shared_parent_read_in_parallel_fails_naming_its_first_partition)
{
    sxt_dz t;
    /* fields are read per contact list by several threads at once; every
     * list fails, and the error names the first list, not whichever thread
     * failed first, and the lists not yet read are not asked for */
    sxt_dz_start(&t, (const char *[]){"--lists", "12", "--fault",
                                      "apierror:/emkt/field/search,240100", NULL},
                 "{\"workers\":4}");
    sxt_result r = sxt_dz_run(&t, NULL, (const char *[]){"run", "--select", "list_of_values",
                                                          NULL});
    cr_assert(r.exited && r.status != 0, "the run did not fail: %s", r.err);
    cr_assert(strstr(r.err, "reading fields partition {\"contact-list_code\":\"1\"}: ") != NULL,
              "%s", r.err);
    cr_assert(strstr(r.err, "API error 240100") != NULL, "%s", r.err);
    json_t *stats = sxt_dz_stats(&t);
    json_int_t asked = json_integer_value(
        json_object_get(json_object_get(stats, "requests"), "/emkt/field/search"));
    cr_assert(asked >= 1 && asked <= 4, "%lld requests for fields, want 1 to 4 (one per thread)",
              (long long)asked);
    json_decref(stats);
    sxt_result_free(&r);
    sxt_dz_stop(&t);
}
