/* The rate limit: a sliding window per client code (dinamize-api.md §1.1). */
#include "emu_test.h"

static const char good[] =
    "{\"user\":\"demo@siphon.test\",\"password\":\"demo-secret-pw\",\"client_code\":\"100001\"}";

static json_t *campaigns(sxt_emulator *e, const char *tok)
{
    return sxt_emulator_call_auth(e, tok, "/emkt/campaign/search", "{}");
}

Test(rate_limit, requests_above_the_limit_get_240024_with_a_string_retry_after)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "4", "--rate-window", "30"));
    char *t = sxt_emulator_token(e); /* /auth counts: 1 */
    for (int i = 0; i < 3; i++) {
        json_t *env = campaigns(e, t);
        cr_assert_str_eq(emu_code(env), "480001", "request %d", i + 2);
        json_decref(env);
    }
    json_t *env = campaigns(e, t);
    cr_assert_str_eq(emu_code(env), "240024");
    cr_assert_str_eq(emu_str(env, "code_detail"), "Requests limit exceeded");
    json_t *ra = json_object_get(emu_body(env), "retry-after");
    cr_assert(json_is_string(ra), "retry-after must be a string");
    char *end;
    long secs = strtol(json_string_value(ra), &end, 10);
    cr_assert(*end == '\0' && secs >= 1 && secs <= 30, "whole seconds within the window: %s",
              json_string_value(ra));
    json_decref(env);
    cr_assert_eq(emu_stat(e, "rate_limited"), 1);
    cr_assert_eq(emu_stat(e, "violations"), 0);
    free(t);
    sxt_emulator_stop(e);
}

/* Sends searches until one is refused; returns its retry-after seconds. */
static long until_refused(sxt_emulator *e, const char *t)
{
    for (int i = 0; i < 100; i++) {
        json_t *env = campaigns(e, t);
        if (strcmp(emu_code(env), "240024") == 0) {
            long secs = atol(emu_str(emu_body(env), "retry-after"));
            json_decref(env);
            return secs;
        }
        json_decref(env);
    }
    cr_assert_fail("the limit never refused a request");
    return 0;
}

Test(rate_limit, waiting_retry_after_is_enough_and_is_no_violation)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "2", "--rate-window", "1"));
    char *t = sxt_emulator_token(e);
    long secs = until_refused(e, t);
    cr_assert_eq(secs, 1, "a 1 s window never asks for more than 1 s");
    emu_nap_ms(secs * 1000 + 50);
    json_t *env = campaigns(e, t);
    cr_assert_str_eq(emu_code(env), "480001");
    json_decref(env);
    cr_assert_eq(emu_stat(e, "violations"), 0);
    free(t);
    sxt_emulator_stop(e);
}

Test(rate_limit, a_request_before_retry_after_elapsed_is_a_violation)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "2", "--rate-window", "30"));
    char *t = sxt_emulator_token(e);
    json_decref(campaigns(e, t));
    json_t *env = campaigns(e, t);
    cr_assert_str_eq(emu_code(env), "240024");
    json_decref(env);
    cr_assert_eq(emu_stat(e, "violations"), 0);
    env = campaigns(e, t);
    cr_assert_str_eq(emu_code(env), "240024");
    json_decref(env);
    env = campaigns(e, t);
    json_decref(env);
    cr_assert_eq(emu_stat(e, "violations"), 2);
    cr_assert_eq(emu_stat(e, "rate_limited"), 3);
    free(t);
    sxt_emulator_stop(e);
}

Test(rate_limit, retry_after_is_the_time_until_a_request_would_be_accepted)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "1", "--rate-window", "2.5"));
    json_t *env = NULL;
    long secs = 0;
    for (int i = 0; i < 100 && secs == 0; i++) {
        env = sxt_emulator_call(e, "/auth", good);
        if (strcmp(emu_code(env), "240024") == 0)
            secs = atol(emu_str(emu_body(env), "retry-after"));
        json_decref(env);
    }
    cr_assert(secs >= 1 && secs <= 3, "2.5 s window rounds up to at most 3, got %ld", secs);
    emu_nap_ms(secs * 1000 + 50);
    env = sxt_emulator_call(e, "/auth", good);
    cr_assert_str_eq(emu_code(env), "480001");
    json_decref(env);
    sxt_emulator_stop(e);
}

Test(rate_limit, rejected_requests_do_not_count_in_the_window)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "3", "--rate-window", "1"));
    char *t = sxt_emulator_token(e);
    until_refused(e, t);
    /* Keep asking without pause. Had refusals counted, the window would stay
     * full for as long as this goes on; as they do not, the accepted
     * requests leave the window after a second and a request passes. */
    int accepted = 0;
    double start = emu_clock();
    while (!accepted && emu_clock() - start < 15) {
        json_t *env = campaigns(e, t);
        accepted = strcmp(emu_code(env), "480001") == 0;
        json_decref(env);
    }
    cr_assert(accepted, "no request passed while refused requests kept coming");
    cr_assert_gt(emu_stat(e, "violations"), 0, "asking before retry-after is a violation");
    free(t);
    sxt_emulator_stop(e);
}

Test(rate_limit, auth_counts_by_the_client_code_in_its_body)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "2", "--rate-window", "30"));
    const char *other = "{\"user\":\"demo@siphon.test\",\"password\":\"demo-secret-pw\","
                        "\"client_code\":\"777\"}";
    json_t *env;
    for (int i = 0; i < 2; i++) {
        env = sxt_emulator_call(e, "/auth", other);
        cr_assert_str_eq(emu_code(env), "240029");
        json_decref(env);
    }
    env = sxt_emulator_call(e, "/auth", other);
    cr_assert_str_eq(emu_code(env), "240024", "the third request of client 777 is refused");
    json_decref(env);
    /* Client 100001 has its own window: its login and one search pass. */
    char *t = sxt_emulator_token(e);
    cr_assert_not_null(t);
    env = campaigns(e, t);
    cr_assert_str_eq(emu_code(env), "480001");
    json_decref(env);
    env = campaigns(e, t);
    cr_assert_str_eq(emu_code(env), "240024", "its login counted in its window");
    json_decref(env);
    free(t);
    sxt_emulator_stop(e);
}

Test(rate_limit, stats_count_requests_per_endpoint_and_the_peak_window)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "0"));
    char *t = sxt_emulator_token(e);
    for (int i = 0; i < 4; i++)
        json_decref(campaigns(e, t));
    json_decref(emu_post(e, t, "/emkt/contact/search", "{\"contact-list_code\":\"1\"}"));
    json_t *s = sxt_emulator_get(e, "/_emulator/stats");
    json_t *req = json_object_get(s, "requests");
    cr_assert_eq(json_integer_value(json_object_get(req, "/auth")), 1);
    cr_assert_eq(json_integer_value(json_object_get(req, "/emkt/campaign/search")), 4);
    cr_assert_eq(json_integer_value(json_object_get(req, "/emkt/contact/search")), 1);
    cr_assert_eq(json_integer_value(json_object_get(s, "total")), 6);
    cr_assert_eq(json_integer_value(json_object_get(s, "peak_window")), 6,
                 "six requests of one client code within the default 60 s window");
    cr_assert_eq(json_integer_value(json_object_get(s, "rate_limited")), 0);
    cr_assert(json_is_object(json_object_get(s, "faults")));
    json_decref(s);

    json_t *r = sxt_emulator_call(e, "/_emulator/stats/reset", "{}");
    cr_assert(json_is_true(json_object_get(r, "ok")));
    json_decref(r);
    cr_assert_eq(emu_stat(e, "total"), 0);
    cr_assert_eq(emu_stat(e, "peak_window"), 0);
    cr_assert_eq(emu_stat(e, "auth_ok"), 0);
    free(t);
    sxt_emulator_stop(e);
}

Test(rate_limit, a_limit_of_zero_turns_it_off)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "0", "--rate-window", "60"));
    char *t = sxt_emulator_token(e);
    for (int i = 0; i < 80; i++) {
        json_t *env = campaigns(e, t);
        cr_assert_str_eq(emu_code(env), "480001");
        json_decref(env);
    }
    cr_assert_eq(emu_stat(e, "peak_window"), 81);
    free(t);
    sxt_emulator_stop(e);
}
