/*
 * test_dz_classify.c: the verdict the Dinamize classifier gives each answer
 * (HTTP status, envelope, code), which decides retries, re-logins, waits and
 * failures in the host.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../../plugins/dinamize/common/classify.h"

static siphon_verdict classify_as(long status, const char *body, const char *items_key,
                                  dz_call *call)
{
    siphon_http_response r = {
        .struct_size = sizeof r,
        .status = status,
        .body = body,
        .body_len = body ? strlen(body) : 0,
    };
    call->path = "/emkt/contact/search";
    call->items_key = items_key;
    call->shape = NULL; /* no item spans: the classifier alone */
    call->spans = NULL;
    siphon_verdict v;
    memset(&v, 0xAB, sizeof v); /* the classifier must set every field it reports */
    dz_classify(call, &r, &v);
    return v;
}

static siphon_verdict classify(const char *body)
{
    dz_call call;
    return classify_as(200, body, "items", &call);
}

Test(dz_classify, success_code_is_ok_as_string_or_number)
{
    siphon_verdict v = classify("{\"code\":\"480001\",\"code_detail\":\"Sucesso\","
                                "\"body\":{\"items\":[],\"next\":false}}");
    cr_assert_eq(v.action, SIPHON_VERDICT_OK);
    v = classify("{\"code\":480001,\"body\":{\"items\":[{\"code\":\"1\"}],\"next\":false}}");
    cr_assert_eq(v.action, SIPHON_VERDICT_OK, "%s", v.message);
}

Test(dz_classify, keeps_the_envelope_for_the_page_loop)
{
    dz_call call;
    siphon_verdict v = classify_as(
        200, "{\"body\":{\"next\":true,\"items\":[{\"a\":1},{\"a\":2},{\"a\":3}]},\"code\":\"480001\"}",
        "items", &call);
    cr_assert_eq(v.action, SIPHON_VERDICT_OK);
    cr_assert_eq(call.env.n_items, 3);
    cr_assert_eq(call.env.next, DZ_NEXT_TRUE);
}

Test(dz_classify, http_errors_and_broken_bodies_are_retried)
{
    dz_call call;
    siphon_verdict v = classify_as(503, "<html>Service Unavailable</html>", "items", &call);
    cr_assert_eq(v.action, SIPHON_VERDICT_RETRY);
    cr_assert(strstr(v.message, "HTTP 503") && strstr(v.message, "/emkt/contact/search"), "%s",
              v.message);
    /* an envelope is expected even with an HTTP 200 */
    const char *broken[] = {
        "",
        "not json",
        "{\"code\":\"480001\",\"body\":{\"items\":[{\"code\":\"1\"},{\"code\":",
        "{\"code\":\"480001\",\"body\":{\"items\":[]}}trailing",
        "[{\"code\":\"480001\"}]",
        "{\"body\":{\"items\":[]}}",
        "{\"code\":\"480001\",\"body\":{\"items\":[\"\\ud800\"]}}",
    };
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        v = classify_as(200, broken[i], "items", &call);
        cr_expect_eq(v.action, SIPHON_VERDICT_RETRY, "%s -> %d (%s)", broken[i], v.action,
                     v.message);
        cr_expect_neq(v.message[0], '\0');
    }
    v = classify_as(200, NULL, "items", &call);
    cr_assert_eq(v.action, SIPHON_VERDICT_RETRY);
}

Test(dz_classify, truncated_body_message_says_where)
{
    siphon_verdict v = classify("{\"code\":\"480001\",\"body\":{\"items\":[{\"co");
    cr_assert_eq(v.action, SIPHON_VERDICT_RETRY);
    cr_assert(strstr(v.message, "malformed answer from /emkt/contact/search") != NULL, "%s",
              v.message);
    cr_assert(strstr(v.message, "end of input") != NULL, "%s", v.message);
}

Test(dz_classify, expired_token_asks_for_a_new_login)
{
    siphon_verdict v = classify("{\"code\":\"240006\",\"code_detail\":\"Token inv\\u00e1lido\"}");
    cr_assert_eq(v.action, SIPHON_VERDICT_REAUTH);
    v = classify("{\"code\":240006}");
    cr_assert_eq(v.action, SIPHON_VERDICT_REAUTH);
}

Test(dz_classify, rate_limit_waits_retry_after_seconds)
{
    siphon_verdict v = classify("{\"code\":\"240024\",\"code_detail\":\"Requests limit exceeded\","
                                "\"body\":{\"retry-after\":\"17\"}}");
    cr_assert_eq(v.action, SIPHON_VERDICT_RATE_LIMITED);
    cr_assert_eq(v.wait_ms, 17000);
    v = classify("{\"code\":240024,\"body\":{\"retry-after\":3}}");
    cr_assert_eq(v.action, SIPHON_VERDICT_RATE_LIMITED);
    cr_assert_eq(v.wait_ms, 3000);
    v = classify("{\"body\":{\"retry-after\":\"2.5\"},\"code\":\"240024\"}");
    cr_assert_eq(v.wait_ms, 2500);
}

Test(dz_classify, rate_limit_without_usable_retry_after_waits_a_whole_window)
{
    const char *bodies[] = {
        "{\"code\":\"240024\"}",
        "{\"code\":\"240024\",\"body\":{}}",
        "{\"code\":\"240024\",\"body\":{\"retry-after\":\"soon\"}}",
        "{\"code\":\"240024\",\"body\":{\"retry-after\":-5}}",
        "{\"code\":\"240024\",\"body\":{\"retry-after\":null}}",
        "{\"code\":\"240024\",\"body\":[]}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        siphon_verdict v = classify(bodies[i]);
        cr_expect_eq(v.action, SIPHON_VERDICT_RATE_LIMITED, "%s", bodies[i]);
        cr_expect_eq(v.wait_ms, DZ_RETRY_AFTER_DEFAULT_MS, "%s -> %lld", bodies[i],
                     (long long)v.wait_ms);
    }
    /* "0" would only spin: at least a second */
    siphon_verdict v = classify("{\"code\":\"240024\",\"body\":{\"retry-after\":\"0\"}}");
    cr_assert_eq(v.wait_ms, DZ_RETRY_AFTER_MIN_MS);
}

Test(dz_classify, retry_after_text_rounds_up_and_refuses_garbage)
{
    cr_assert_eq(dz_retry_after_ms("17"), 17000);
    cr_assert_eq(dz_retry_after_ms(" 17 "), 17000);
    cr_assert_eq(dz_retry_after_ms("1.5"), 1500);
    cr_assert_eq(dz_retry_after_ms("0.0011"), 2);
    cr_assert_eq(dz_retry_after_ms("2."), 2000);
    cr_assert_eq(dz_retry_after_ms(""), -1);
    cr_assert_eq(dz_retry_after_ms("-1"), -1);
    cr_assert_eq(dz_retry_after_ms("1e3"), -1);
    cr_assert_eq(dz_retry_after_ms("12abc"), -1);
    cr_assert_eq(dz_retry_after_ms("99999999999999999999999"), DZ_RETRY_AFTER_MAX_MS);
}

Test(dz_classify, rejected_credentials_fail_the_source_naming_the_code)
{
    static const struct {
        const char *code;
        const char *detail;
    } cases[] = {
        {"240002", "Password is required"},
        {"240003", "Username is required"},
        {"240004", "Username or password are invalid"},
        {"240029", "Client code is invalid"},
    };
    for (size_t i = 0; i < 4; i++) {
        char body[200], want[200];
        snprintf(body, sizeof body, "{\"code\":\"%s\",\"code_detail\":\"%s\",\"body\":[]}",
                 cases[i].code, cases[i].detail);
        dz_call call;
        siphon_verdict v = classify_as(200, body, NULL, &call);
        cr_expect_eq(v.action, SIPHON_VERDICT_AUTH_REJECTED, "%s", cases[i].code);
        snprintf(want, sizeof want, "%s (%s)", cases[i].code,
                 cases[i].detail);
        cr_expect_str_eq(v.message, want);
    }
    /* without a code_detail the documented text is used */
    dz_call call;
    siphon_verdict v = classify_as(200, "{\"code\":240004}", NULL, &call);
    cr_assert_str_eq(v.message, "240004 (Username or password are invalid)");
}

Test(dz_classify, any_other_code_is_fatal_with_code_detail_and_path)
{
    siphon_verdict v = classify("{\"code\":\"240100\",\"code_detail\":\"Par\\u00e2metro "
                                "contact-list_code \\u00e9 obrigat\\u00f3rio\",\"body\":[]}");
    cr_assert_eq(v.action, SIPHON_VERDICT_FATAL);
    cr_assert_str_eq(v.message, "API error 240100 (Par\xc3\xa2metro contact-list_code "
                                "\xc3\xa9 obrigat\xc3\xb3rio) on /emkt/contact/search");
    v = classify("{\"code\":999}");
    cr_assert_eq(v.action, SIPHON_VERDICT_FATAL);
    cr_assert_str_eq(v.message, "API error 999 on /emkt/contact/search");
}

Test(dz_classify, search_answers_with_the_wrong_shape_are_fatal)
{
    siphon_verdict v = classify("{\"code\":\"480001\",\"body\":{\"items\":\"none\"}}");
    cr_assert_eq(v.action, SIPHON_VERDICT_FATAL);
    cr_assert(strstr(v.message, "body.items is a string, not an array"), "%s", v.message);
    v = classify("{\"code\":\"480001\",\"body\":{\"items\":[{\"a\":1},[2]]}}");
    cr_assert_eq(v.action, SIPHON_VERDICT_FATAL);
    cr_assert(strstr(v.message, "item 2 of body.items is an array, not an object"), "%s",
              v.message);
    v = classify("{\"code\":\"480001\",\"body\":[{\"a\":1}]}");
    cr_assert_eq(v.action, SIPHON_VERDICT_FATAL);
    v = classify("{\"code\":\"480001\",\"body\":\"text\"}");
    cr_assert_eq(v.action, SIPHON_VERDICT_FATAL);
}

Test(dz_classify, empty_results_in_any_spelling_are_ok)
{
    const char *bodies[] = {
        "{\"code\":\"480001\",\"body\":{\"items\":[],\"next\":false}}",
        "{\"code\":\"480001\",\"body\":{\"items\":null}}",
        "{\"code\":\"480001\",\"body\":{}}",
        "{\"code\":\"480001\",\"body\":[]}",
        "{\"code\":\"480001\",\"body\":null}",
        "{\"code\":\"480001\"}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        siphon_verdict v = classify(bodies[i]);
        cr_expect_eq(v.action, SIPHON_VERDICT_OK, "%s: %s", bodies[i], v.message);
    }
}

Test(dz_classify, numbers_jansson_cannot_hold_fail_instead_of_retrying_forever)
{
    siphon_verdict v = classify("{\"code\":\"480001\",\"body\":{\"items\":[{\"code\":"
                                "123456789012345678901234567890}]}}");
    cr_assert_eq(v.action, SIPHON_VERDICT_FATAL);
    cr_assert(strstr(v.message, "unreadable answer") && strstr(v.message, "64 bits"), "%s",
              v.message);
}

Test(dz_classify, login_answers_are_not_checked_for_items)
{
    dz_call call;
    siphon_verdict v = classify_as(200, "{\"code\":\"480001\",\"body\":{\"auth-token\":"
                                        "\"12345.123456.12.abc+/def\",\"manager\":true}}",
                                   NULL, &call);
    cr_assert_eq(v.action, SIPHON_VERDICT_OK);
}
