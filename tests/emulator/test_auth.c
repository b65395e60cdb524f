/* /auth, tokens and the envelope (dinamize-api.md §1.1). */
#include <ctype.h>

#include "emu_test.h"

static const char good[] =
    "{\"user\":\"demo@siphon.test\",\"password\":\"demo-secret-pw\",\"client_code\":\"100001\"}";

Test(auth, default_credentials_get_a_token_in_the_success_envelope)
{
    sxt_emulator *e = emu_up(EMU_START("--seed", "3"));
    sxt_http h = sxt_emulator_raw(e, "POST", "/auth", NULL, good, 0, NULL);
    cr_assert_eq(h.curl_code, 0);
    cr_assert_eq(h.status, 200);
    cr_assert(h.ctype && strstr(h.ctype, "application/json"));
    json_t *env = json_loads(h.body, 0, NULL);
    cr_assert_str_eq(emu_code(env), "480001");
    cr_assert_str_eq(emu_str(env, "code_detail"), "Sucesso");
    cr_assert(json_is_string(json_object_get(env, "request_unique")));
    cr_assert(json_is_array(json_object_get(env, "warning")));
    cr_assert_eq(json_array_size(json_object_get(env, "warning")), 0);
    cr_assert(json_is_string(json_object_get(emu_body(env), "auth-token")));
    json_decref(env);
    sxt_http_free(&h);
    sxt_emulator_stop(e);
}

/* <5 digits>.<6 digits>.<1-2 digits>.<48 of [A-Za-z0-9+/]> */
static int token_shape_ok(const char *t)
{
    size_t want[3][2] = {{5, 5}, {6, 6}, {1, 2}};
    for (int part = 0; part < 3; part++) {
        size_t n = 0;
        while (isdigit((unsigned char)t[n]))
            n++;
        if (n < want[part][0] || n > want[part][1] || t[n] != '.')
            return 0;
        t += n + 1;
    }
    size_t n = 0;
    while (t[n] && (isalnum((unsigned char)t[n]) || t[n] == '+' || t[n] == '/'))
        n++;
    return n == 48 && t[n] == '\0';
}

Test(auth, tokens_have_the_documented_shape_and_carry_plus_and_slash)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "0"));
    char *prev = NULL;
    for (int i = 0; i < 20; i++) {
        char *t = sxt_emulator_token(e);
        cr_assert_not_null(t);
        cr_assert(token_shape_ok(t), "bad token shape: %s", t);
        cr_assert(strchr(t, '+') && strchr(t, '/'), "token without + and /: %s", t);
        if (prev)
            cr_assert_str_neq(prev, t, "two logins gave the same token");
        free(prev);
        prev = t;
    }
    free(prev);
    sxt_emulator_stop(e);
}

static const char *auth_code(sxt_emulator *e, const char *body, char *buf)
{
    json_t *env = sxt_emulator_call(e, "/auth", body);
    cr_assert_not_null(env);
    snprintf(buf, 16, "%s", emu_code(env) ? emu_code(env) : "(none)");
    json_decref(env);
    return buf;
}

Test(auth, each_bad_login_has_its_own_code)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "0"));
    char b[16];
    cr_assert_str_eq(auth_code(e, "{\"password\":\"demo-secret-pw\",\"client_code\":\"100001\"}", b),
                     "240003");
    cr_assert_str_eq(auth_code(e, "{\"user\":\"\",\"password\":\"x\",\"client_code\":\"100001\"}", b),
                     "240003");
    cr_assert_str_eq(auth_code(e, "{\"user\":\"demo@siphon.test\",\"client_code\":\"100001\"}", b),
                     "240002");
    cr_assert_str_eq(auth_code(e, "{\"user\":\"demo@siphon.test\",\"password\":\"nope\","
                                  "\"client_code\":\"100001\"}", b), "240004");
    cr_assert_str_eq(auth_code(e, "{\"user\":\"other@siphon.test\",\"password\":\"demo-secret-pw\","
                                  "\"client_code\":\"100001\"}", b), "240004");
    cr_assert_str_eq(auth_code(e, "{\"user\":\"demo@siphon.test\",\"password\":\"demo-secret-pw\","
                                  "\"client_code\":\"999999\"}", b), "240029");
    cr_assert_str_eq(auth_code(e, "{\"user\":\"demo@siphon.test\",\"password\":\"demo-secret-pw\"}",
                               b), "240029");
    cr_assert_str_eq(auth_code(e, "not json", b), "240003");
    /* The client code may arrive as a number. */
    cr_assert_str_eq(auth_code(e, "{\"user\":\"demo@siphon.test\",\"password\":\"demo-secret-pw\","
                                  "\"client_code\":100001}", b), "480001");
    cr_assert_eq(emu_stat(e, "auth_failed"), 8);
    cr_assert_eq(emu_stat(e, "auth_ok"), 1);
    sxt_emulator_stop(e);
}

Test(auth, credentials_come_from_the_command_line)
{
    sxt_emulator *e = emu_up(EMU_START("--user", "ana@exemplo.test", "--password", "s3nh@",
                                       "--client-code", "424242"));
    char b[16];
    cr_assert_str_eq(auth_code(e, good, b), "240004");
    cr_assert_str_eq(auth_code(e, "{\"user\":\"ana@exemplo.test\",\"password\":\"s3nh@\","
                                  "\"client_code\":\"424242\"}", b), "480001");
    sxt_emulator_stop(e);
}

Test(auth, errors_are_http_200_with_the_envelope)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "0"));
    sxt_http h = sxt_emulator_raw(e, "POST", "/auth", NULL, "{}", 0, NULL);
    cr_assert_eq(h.status, 200);
    json_t *env = json_loads(h.body, 0, NULL);
    cr_assert_str_eq(emu_code(env), "240003");
    cr_assert(json_is_string(json_object_get(env, "code_detail")));
    cr_assert(json_is_object(emu_body(env)));
    cr_assert(json_is_string(json_object_get(env, "request_unique")));
    cr_assert(json_is_array(json_object_get(env, "warning")));
    json_decref(env);
    sxt_http_free(&h);
    h = sxt_emulator_raw(e, "POST", "/emkt/campaign/search", "bogus", "{}", 0, NULL);
    cr_assert_eq(h.status, 200);
    sxt_http_free(&h);
    sxt_emulator_stop(e);
}

Test(auth, unknown_or_missing_tokens_are_240006)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "0"));
    json_t *env = sxt_emulator_call_auth(e, "12345.123456.1.nope", "/emkt/campaign/search", "{}");
    cr_assert_str_eq(emu_code(env), "240006");
    json_decref(env);
    env = sxt_emulator_call(e, "/emkt/campaign/search", "{}");
    cr_assert_str_eq(emu_code(env), "240006");
    json_decref(env);
    /* The token goes in auth-token, not Authorization: a real token
     * URL-encoded is unknown too. */
    char *t = sxt_emulator_token(e);
    char *enc = strdup(t);
    for (char *p = enc; *p; p++)
        if (*p == '+')
            *p = ' ';
    env = sxt_emulator_call_auth(e, enc, "/emkt/campaign/search", "{}");
    cr_assert_str_eq(emu_code(env), "240006");
    json_decref(env);
    env = sxt_emulator_call_auth(e, t, "/emkt/campaign/search", "{}");
    cr_assert_str_eq(emu_code(env), "480001");
    json_decref(env);
    free(enc);
    free(t);
    sxt_emulator_stop(e);
}

Test(auth, an_idle_token_expires)
{
    sxt_emulator *e = emu_up(EMU_START("--token-idle", "2", "--rate-limit", "0"));
    char *t = sxt_emulator_token(e);
    json_t *env = sxt_emulator_call_auth(e, t, "/emkt/campaign/search", "{}");
    cr_assert_str_eq(emu_code(env), "480001");
    json_decref(env);
    emu_nap_ms(2600);
    env = sxt_emulator_call_auth(e, t, "/emkt/campaign/search", "{}");
    cr_assert_str_eq(emu_code(env), "240006");
    json_decref(env);
    /* Expired means gone: it does not come back. */
    env = sxt_emulator_call_auth(e, t, "/emkt/campaign/search", "{}");
    cr_assert_str_eq(emu_code(env), "240006");
    json_decref(env);
    /* A fresh login works again. */
    free(t);
    t = sxt_emulator_token(e);
    env = sxt_emulator_call_auth(e, t, "/emkt/campaign/search", "{}");
    cr_assert_str_eq(emu_code(env), "480001");
    json_decref(env);
    free(t);
    sxt_emulator_stop(e);
}

Test(auth, a_busy_token_still_expires_at_its_maximum_age)
{
    sxt_emulator *e =
        emu_up(EMU_START("--token-idle", "600", "--token-max-age", "1.5", "--rate-limit", "0"));
    char *t = sxt_emulator_token(e);
    double start = emu_clock();
    /* Keep it busy: idle expiry is never what ends it. */
    while (emu_clock() - start < 2.0) {
        json_t *env = sxt_emulator_call_auth(e, t, "/emkt/campaign/search", "{}");
        const char *c = emu_code(env);
        int expired = c && strcmp(c, "240006") == 0;
        json_decref(env);
        if (expired)
            break;
        emu_nap_ms(100);
    }
    emu_nap_ms(100);
    json_t *env = sxt_emulator_call_auth(e, t, "/emkt/campaign/search", "{}");
    cr_assert_str_eq(emu_code(env), "240006");
    json_decref(env);
    free(t);
    sxt_emulator_stop(e);
}

Test(auth, the_api_answers_post_only)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "0"));
    sxt_http h = sxt_emulator_raw(e, "GET", "/emkt/contact/search", NULL, NULL, 0, NULL);
    cr_assert_eq(h.status, 405);
    sxt_http_free(&h);
    h = sxt_emulator_raw(e, "POST", "/emkt/nothing/search", NULL, "{}", 0, NULL);
    cr_assert_eq(h.status, 404);
    sxt_http_free(&h);
    sxt_emulator_stop(e);
}
