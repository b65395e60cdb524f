/*
 * source.c: the runtime of the chosen source — one request budget, one auth
 * session and one HTTP service shared by all its streams — and the bridge
 * from the session's login to the plugin's login callback.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "run.h"

/* The slack between our send times and the server's count of them (network
 * jitter): 1 s for a minute-long window, the same share (1/60) of a shorter
 * one, so a run against a scaled-down window (a benchmark) costs the same
 * share of its time as a real one; at least 50 ms. Each window costs its
 * margin: at 1/60 that is 1.7% of a rate-limited run. */
static int64_t budget_margin_ms(int64_t window_ms)
{
    int64_t m = window_ms / 60;
    return m > 1000 ? 1000 : m < 50 ? 50 : m;
}

/* HTTP notices (retries, rate-limit pauses, re-logins) in the run's log,
 * under the source's name. */
static void http_notice(void *user, int level, const char *text)
{
    sx_log(level, user, "%s", text);
}

int sx_source_rt_open(sx_run *run, sx_error *err)
{
    sx_source_rt *rt = &run->src;
    const sx_source *src = run->config.source;
    const siphon_source *decl = &src->decl;
    rt->source = run->config.source;

    long long limit = 0;
    if (decl->rate_limit_option != NULL) {
        const json_t *v = sx_config_source_value(&run->config, NULL, decl->rate_limit_option);
        if (v != NULL && (sx_json_to_int(v, &limit) != 0 || limit < 0)) {
            sx_error_set(err, SX_EXIT_CONFIG, "option '%s': expected a non-negative integer",
                         decl->rate_limit_option);
            return -1;
        }
    }
    int64_t window = decl->rate_window_ms ? decl->rate_window_ms : 60000;
    double window_s = 0;
    const json_t *w = sx_config_host_value(&run->config, NULL, "rate_window_s");
    if (w != NULL && sx_json_to_number(w, &window_s) == 0 && window_s > 0)
        window = (int64_t)(window_s * 1000);
    rt->budget = sx_budget_new((uint32_t)limit, window, budget_margin_ms(window));
    rt->session = sx_session_new(decl->auth_max_age_s, decl->auth_max_idle_s);

    sx_http_config hc = {0};
    const json_t *base = decl->base_url_option
                             ? sx_config_source_value(&run->config, NULL, decl->base_url_option)
                             : NULL;
    hc.base_url = json_string_value(base);
    hc.ca_bundle = json_string_value(sx_config_host_value(&run->config, NULL, "ca_bundle"));
    hc.auth_header = decl->auth_header;
    double timeout_s = 60;
    long long attempts = 6;
    const json_t *t = sx_config_host_value(&run->config, NULL, "http_timeout_s");
    if (t != NULL)
        sx_json_to_number(t, &timeout_s);
    const json_t *a = sx_config_host_value(&run->config, NULL, "http_max_attempts");
    if (a != NULL)
        sx_json_to_int(a, &attempts);
    hc.timeout_ms = (long)(timeout_s * 1000);
    hc.connect_timeout_ms = hc.timeout_ms < 10000 ? hc.timeout_ms : 10000;
    hc.retry = sx_retry_default();
    hc.retry.max_attempts = attempts > 0 ? (uint32_t)attempts : 1;
    rt->http = sx_http_new(&hc, rt->budget);
    if (rt->budget == NULL || rt->session == NULL || rt->http == NULL) {
        sx_error_set(err, SX_EXIT_FAILURE, "out of memory setting up source '%s'", src->name);
        return -1;
    }
    sx_http_set_log(rt->http, http_notice, src->name);
    return 0;
}

void sx_source_rt_close(sx_source_rt *rt)
{
    if (rt->http)
        sx_http_free(rt->http);
    if (rt->session)
        sx_session_free(rt->session);
    if (rt->budget)
        sx_budget_free(rt->budget);
    memset(rt, 0, sizeof *rt);
}

/* The session calls this (single flight) when a token is needed: the login
 * runs the plugin's own handshake with a source ctx of the stream that asked. */
int sx_source_login(void *user, char *token, size_t cap, char *message, size_t message_cap)
{
    sx_login_user *lu = user;
    const siphon_source *decl = &lu->run->src.source->decl;
    if (decl->login == NULL) {
        snprintf(message, message_cap, "source '%s' declares a session but no login",
                 lu->run->src.source->name);
        return SIPHON_E_INTERNAL;
    }
    siphon_ctx ctx;
    sx_ctx_init(&ctx, lu->run, SX_CTX_SOURCE);
    ctx.stream = lu->stream;
    token[0] = '\0';
    int rc = decl->login(&ctx, token, cap);
    if (rc != SIPHON_OK) {
        snprintf(message, message_cap, "%s",
                 ctx.error[0] ? ctx.error : "login failed without a message");
    } else if (token[0] == '\0') {
        snprintf(message, message_cap, "login of source '%s' returned an empty token",
                 lu->run->src.source->name);
        rc = SIPHON_E_API;
    }
    sx_ctx_release(&ctx);
    return rc;
}
