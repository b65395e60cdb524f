/* Injected faults: each kind does what it says and is counted. */
#include <curl/curl.h>

#include "emu_test.h"

static const char good[] =
    "{\"user\":\"demo@siphon.test\",\"password\":\"demo-secret-pw\",\"client_code\":\"100001\"}";

Test(faults, http_errors_answer_that_status_with_a_body_that_is_no_envelope)
{
    const char *kinds[] = {"http500", "http502", "http503"};
    long statuses[] = {500, 502, 503};
    for (int i = 0; i < 3; i++) {
        char *spec = sxt_strf("%s:1", kinds[i]);
        sxt_emulator *e = emu_up(EMU_START("--fault", spec, "--rate-limit", "0"));
        free(spec);
        sxt_http h = sxt_emulator_raw(e, "POST", "/auth", NULL, good, 0, NULL);
        cr_assert_eq(h.curl_code, 0);
        cr_assert_eq(h.status, statuses[i]);
        json_t *j = json_loads(h.body, 0, NULL);
        cr_assert(j == NULL || json_object_get(j, "code") == NULL, "not an envelope");
        json_decref(j);
        sxt_http_free(&h);
        cr_assert_eq(emu_fault_stat(e, kinds[i]), 1);
        /* Never on the control interface. */
        json_t *hl = sxt_emulator_get(e, "/_emulator/health");
        cr_assert(json_is_true(json_object_get(hl, "ok")));
        json_decref(hl);
        sxt_emulator_stop(e);
    }
}

Test(faults, reset_closes_the_connection_without_an_answer)
{
    sxt_emulator *e = emu_up(EMU_START("--fault", "reset:1"));
    sxt_http h = sxt_emulator_raw(e, "POST", "/auth", NULL, good, 0, NULL);
    cr_assert_neq(h.curl_code, 0);
    cr_assert_eq(h.status, 0);
    cr_assert_eq(h.len, 0);
    sxt_http_free(&h);
    cr_assert_eq(emu_fault_stat(e, "reset"), 1);
    sxt_emulator_stop(e);
}

Test(faults, truncate_cuts_a_valid_answer_in_the_middle)
{
    sxt_emulator *e = emu_up(EMU_START("--fault", "truncate:1"));
    sxt_http h = sxt_emulator_raw(e, "POST", "/auth", NULL, good, 0, NULL);
    cr_assert_eq(h.curl_code, CURLE_PARTIAL_FILE, "curl said %d", h.curl_code);
    cr_assert_eq(h.status, 200);
    cr_assert_gt(h.len, 0);
    cr_assert_eq(strncmp(h.body, "{\"code\":\"480001\"", 16), 0, "the first half is real");
    cr_assert_null(json_loads(h.body, 0, NULL));
    sxt_http_free(&h);
    cr_assert_eq(emu_fault_stat(e, "truncate"), 1);
    sxt_emulator_stop(e);
}

Test(faults, badjson_answers_200_with_a_body_that_is_not_json)
{
    sxt_emulator *e = emu_up(EMU_START("--fault", "badjson:1"));
    sxt_http h = sxt_emulator_raw(e, "POST", "/auth", NULL, good, 0, NULL);
    cr_assert_eq(h.curl_code, 0);
    cr_assert_eq(h.status, 200);
    json_t *j = json_loads(h.body, JSON_DECODE_ANY, NULL);
    cr_assert_null(j);
    sxt_http_free(&h);
    cr_assert_eq(emu_fault_stat(e, "badjson"), 1);
    sxt_emulator_stop(e);
}

Test(faults, slow_answers_outlast_the_client_timeout)
{
    sxt_emulator *e = emu_up(EMU_START("--fault", "slow:1,3000"));
    sxt_http h = sxt_emulator_raw(e, "POST", "/auth", NULL, good, 300, NULL);
    cr_assert_eq(h.curl_code, CURLE_OPERATION_TIMEDOUT);
    sxt_http_free(&h);
    cr_assert_eq(emu_fault_stat(e, "slow"), 1);
    /* Other clients are served meanwhile. */
    json_t *hl = sxt_emulator_get(e, "/_emulator/health");
    cr_assert(json_is_true(json_object_get(hl, "ok")));
    json_decref(hl);
    sxt_emulator_stop(e);
}

Test(faults, latency_delays_every_api_answer)
{
    sxt_emulator *e = emu_up(EMU_START("--latency-ms", "400", "--jitter-ms", "50"));
    double t0 = emu_clock();
    json_t *env = sxt_emulator_call(e, "/auth", good);
    double took = emu_clock() - t0;
    cr_assert_str_eq(emu_code(env), "480001");
    cr_assert_geq(took, 0.4, "answered after %.3f s", took);
    json_decref(env);
    sxt_emulator_stop(e);
}

Test(faults, ratelimit_bursts_refuse_len_requests_after_every_n)
{
    sxt_emulator *e = emu_up(EMU_START("--fault", "ratelimit-burst:3,2", "--rate-limit", "0"));
    const char *want[] = {"480001", "480001", "480001", "240024", "240024", "480001"};
    for (int i = 0; i < 6; i++) {
        json_t *env = sxt_emulator_call(e, "/auth", good);
        cr_assert_str_eq(emu_code(env), want[i], "request %d", i + 1);
        if (strcmp(want[i], "240024") == 0) {
            const char *ra = emu_str(emu_body(env), "retry-after");
            cr_assert_str_eq(ra, "1");
            /* Honour it, so no violation is counted. */
            emu_nap_ms(1050);
        }
        json_decref(env);
    }
    cr_assert_eq(emu_fault_stat(e, "ratelimit-burst"), 2);
    cr_assert_eq(emu_stat(e, "violations"), 0);
    /* The next burst, not honoured this time, is a violation. */
    json_decref(sxt_emulator_call(e, "/auth", good));
    json_decref(sxt_emulator_call(e, "/auth", good));
    json_t *env = sxt_emulator_call(e, "/auth", good);
    cr_assert_str_eq(emu_code(env), "240024");
    json_decref(env);
    json_decref(sxt_emulator_call(e, "/auth", good));
    cr_assert_eq(emu_stat(e, "violations"), 1);
    sxt_emulator_stop(e);
}

Test(faults, token_expire_invalidates_the_token_every_nth_request)
{
    sxt_emulator *e = emu_up(EMU_START("--fault", "token-expire:3", "--rate-limit", "0"));
    char *t = sxt_emulator_token(e);
    const char *want[] = {"480001", "480001", "240006", "240006"};
    for (int i = 0; i < 4; i++) {
        json_t *env = sxt_emulator_call_auth(e, t, "/emkt/campaign/search", "{}");
        cr_assert_str_eq(emu_code(env), want[i], "request %d", i + 1);
        json_decref(env);
    }
    free(t);
    t = sxt_emulator_token(e);
    json_t *env = sxt_emulator_call_auth(e, t, "/emkt/campaign/search", "{}");
    cr_assert_str_eq(emu_code(env), "480001", "a new login works");
    json_decref(env);
    cr_assert_eq(emu_fault_stat(e, "token-expire"), 1);
    free(t);
    sxt_emulator_stop(e);
}

Test(faults, insert_between_pages_adds_a_later_row_before_page_two)
{
    sxt_emulator *e = emu_up(EMU_START("--fault", "insert-between-pages:1", "--rate-limit", "0",
                                       "--contacts", "60", "--lists", "2"));
    char *t = sxt_emulator_token(e);
    json_t *env = emu_post(e, t, "/emkt/contact/search",
                           "{\"contact-list_code\":\"1\",\"page_size\":50,\"page_number\":1}");
    cr_assert_eq(json_array_size(emu_items(env, "items")), 50);
    json_decref(env);
    env = emu_post(e, t, "/emkt/contact/search",
                   "{\"contact-list_code\":\"1\",\"page_size\":50,\"page_number\":2}");
    json_t *items = emu_items(env, "items");
    cr_assert_eq(json_array_size(items), 11, "the 10 left and the one inserted");
    cr_assert_str_eq(emu_str(json_array_get(items, 10), "code"), "61");
    json_decref(env);
    cr_assert_eq(emu_fault_stat(e, "insert-between-pages"), 1);
    json_t *dump = sxt_emulator_dump(e, "contacts");
    cr_assert_eq(json_array_size(dump), 61);
    json_decref(dump);
    free(t);
    sxt_emulator_stop(e);
}

Test(faults, apierror_fails_one_endpoint_alone)
{
    sxt_emulator *e = emu_up(EMU_START("--fault", "apierror:/emkt/campaign/search,240500",
                                       "--rate-limit", "0"));
    char *t = sxt_emulator_token(e);
    json_t *env = sxt_emulator_call_auth(e, t, "/emkt/campaign/search", "{}");
    cr_assert_str_eq(emu_code(env), "240500");
    json_decref(env);
    env = sxt_emulator_call_auth(e, t, "/emkt/message/search", "{}");
    cr_assert_str_eq(emu_code(env), "480001");
    json_decref(env);
    cr_assert_eq(emu_fault_stat(e, "apierror"), 1);
    free(t);
    sxt_emulator_stop(e);
}

/* The statuses of n /auth calls. */
static char *status_trace(sxt_emulator *e, int n)
{
    char *out = calloc(1, (size_t)n * 4 + 1);
    for (int i = 0; i < n; i++) {
        sxt_http h = sxt_emulator_raw(e, "POST", "/auth", NULL, good, 0, NULL);
        strcat(out, h.status == 200 ? "ok " : "ER ");
        sxt_http_free(&h);
    }
    return out;
}

Test(faults, rates_are_seeded_and_repeatable)
{
    sxt_emulator *a = emu_up(EMU_START("--fault", "http503:0.5", "--fault-seed", "7",
                                       "--rate-limit", "0"));
    sxt_emulator *b = emu_up(EMU_START("--fault", "http503:0.5", "--fault-seed", "7",
                                       "--rate-limit", "0"));
    char *ta = status_trace(a, 40), *tb = status_trace(b, 40);
    cr_assert_str_eq(ta, tb);
    cr_assert(strstr(ta, "ok") && strstr(ta, "ER"), "a rate of 0.5 gives both: %s", ta);
    free(ta);
    free(tb);
    sxt_emulator_stop(a);
    sxt_emulator_stop(b);
}

Test(faults, the_fault_set_can_be_replaced_at_run_time)
{
    sxt_emulator *e = emu_up(EMU_START("--fault", "http500:1"));
    json_t *f = sxt_emulator_get(e, "/_emulator/faults");
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(f, "spec"), 0)), "http500:1");
    json_decref(f);
    sxt_http h = sxt_emulator_raw(e, "POST", "/_emulator/faults", NULL,
                                  "{\"spec\":[\"http500:2\"]}", 0, NULL);
    cr_assert_eq(h.status, 400, "a rate above 1 is refused");
    cr_assert(strstr(h.body, "http500:2"), "the error names the spec");
    sxt_http_free(&h);
    json_t *r = sxt_emulator_call(e, "/_emulator/faults", "{\"spec\":[]}");
    cr_assert_eq(json_array_size(json_object_get(r, "spec")), 0);
    json_decref(r);
    json_t *env = sxt_emulator_call(e, "/auth", good);
    cr_assert_str_eq(emu_code(env), "480001");
    json_decref(env);
    r = sxt_emulator_call(e, "/_emulator/faults", "{\"spec\":[\"badjson:1\",\"slow:0,10\"]}");
    cr_assert_eq(json_array_size(json_object_get(r, "spec")), 2);
    json_decref(r);
    sxt_http b = sxt_emulator_raw(e, "POST", "/auth", NULL, good, 0, NULL);
    cr_assert_null(json_loads(b.body, JSON_DECODE_ANY, NULL));
    sxt_http_free(&b);
    sxt_emulator_stop(e);
}
