/*
 * source.c: the `dinamize` source every stream module declares: its options,
 * the login handshake (POST /auth) and `siphon check`.
 *
 * The host owns the session: it calls login() once per run (and again when
 * the token nears the API's limits or a request answers 240006), attaches
 * the token in the `auth-token` header, and shares one request budget among
 * all streams. Nothing here sleeps, retries or caches a token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "stream.h"

/* The token lives 24 h and dies after 1 h idle; renew a little before both. */
#define DZ_TOKEN_MAX_AGE_S (23 * 3600)
#define DZ_TOKEN_MAX_IDLE_S (55 * 60)

static const siphon_option dz_source_options[] = {
    {"user", SIPHON_OPT_STRING, SIPHON_OPT_REQUIRED, NULL,
     "The Dinamize user name (the login e-mail)", NULL, NULL},
    {"password", SIPHON_OPT_STRING, SIPHON_OPT_REQUIRED | SIPHON_OPT_SECRET, NULL,
     "The user's password", "DINAMIZE_PASSWORD", NULL},
    {"client_code", SIPHON_OPT_STRING, SIPHON_OPT_REQUIRED, NULL,
     "The account's client code (Código do cliente)", "DINAMIZE_CLIENT_CODE", NULL},
    {"start_date", SIPHON_OPT_STRING, 0, NULL,
     "Where the first INCREMENTAL sync of a stream starts: RFC 3339 (2024-01-31T00:00:00Z), "
     "YYYY-MM-DD or YYYY-MM-DD HH:MM:SS (account time); unset reads everything", NULL, NULL},
    {"base_url", SIPHON_OPT_STRING, 0, "\"https://api.dinamize.com\"",
     "The API's address", NULL, NULL},
    {"timezone", SIPHON_OPT_STRING, 0, "\"America/Sao_Paulo\"",
     "The account's time zone (IANA name), in which the API writes and reads dates", NULL,
     NULL},
    {"requests_per_minute", SIPHON_OPT_INT, 0, "60",
     "The API's request limit, shared by every stream of a run", NULL, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};

/* Overwrites a buffer that held the password before it is freed. */
static void wipe(char *text)
{
    if (text == NULL)
        return;
    volatile char *p = text;
    while (*p)
        *p++ = '\0';
}

static int dz_login(siphon_ctx *ctx, char *token, size_t token_cap)
{
    const siphon_host_api *api = siphon_api(ctx);
    static const char *const required[] = {"user", "password", "client_code"};
    const char *values[3];
    for (int i = 0; i < 3; i++) {
        /* An empty value still goes to the API, whose refusal (240002, 240003)
         * names the problem the way the account's owner knows it. */
        values[i] = api->config_string(ctx, required[i]);
        if (values[i] == NULL) {
            siphon_set_error(ctx, "option '%s' is required to log in to Dinamize", required[i]);
            return SIPHON_E_CONFIG;
        }
    }
    json_t *creds = json_pack("{s:s, s:s, s:s}", "user", values[0], "password", values[1],
                              "client_code", values[2]);
    char *body = creds ? json_dumps(creds, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(creds); /* jansson frees its copy of the password; ours is wiped below */
    if (body == NULL)
        return SIPHON_E_NOMEM;

    dz_call call = {.path = "/auth", .items_key = NULL};
    siphon_http_request req = {
        .struct_size = sizeof req,
        .method = "POST",
        .path = "/auth",
        .body = body,
        .body_len = strlen(body),
        .use_session = 0,
        .classify = dz_classify,
        .classify_user = &call,
        .metric_tag = "auth",
    };
    siphon_http_response resp = {.struct_size = sizeof resp};
    int rc = api->http(ctx, &req, &resp);
    wipe(body);
    free(body);
    if (rc != SIPHON_OK)
        return rc; /* the host's message: "credentials rejected: 240004 (...)" */

    json_error_t e;
    json_t *answer = json_loadb(resp.body, resp.body_len, 0, &e);
    const json_t *t = json_object_get(json_object_get(answer, "body"), "auth-token");
    const char *text = json_string_value(t);
    size_t n = text ? json_string_length(t) : 0;
    if (n == 0 || n >= token_cap || strlen(text) != n) {
        siphon_set_error(ctx, "/auth succeeded but %s",
                         n == 0 ? "its body carries no auth-token"
                                : "its auth-token is longer than the host can hold");
        json_decref(answer);
        return SIPHON_E_API;
    }
    memcpy(token, text, n + 1);
    json_decref(answer);
    return SIPHON_OK;
}

/* One search of one contact list: proves the token works on the API proper. */
static int dz_check(siphon_ctx *ctx)
{
    static const char body[] = "{\"page_number\":1,\"page_size\":1}";
    dz_call call = {.path = "/emkt/contact-list/search", .items_key = "items"};
    siphon_http_request req = {
        .struct_size = sizeof req,
        .method = "POST",
        .path = call.path,
        .body = body,
        .body_len = sizeof body - 1,
        .use_session = 1,
        .classify = dz_classify,
        .classify_user = &call,
        .metric_tag = "check",
    };
    siphon_http_response resp = {.struct_size = sizeof resp};
    return siphon_api(ctx)->http(ctx, &req, &resp);
}

const siphon_source dz_source = {
    .struct_size = sizeof(siphon_source),
    .name = "dinamize",
    .description = "The Dinamize e-mail marketing API (contacts, lists, sends, campaigns, ...)",
    .options = dz_source_options,
    .option_size = sizeof(siphon_option),
    .base_url_option = "base_url",
    .rate_limit_option = "requests_per_minute",
    .rate_window_ms = 60000,
    .auth_header = "auth-token",
    .auth_max_age_s = DZ_TOKEN_MAX_AGE_S,
    .auth_max_idle_s = DZ_TOKEN_MAX_IDLE_S,
    .login = dz_login,
    .check = dz_check,
};
