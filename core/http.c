#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "core-config.h"
#include "http.h"
#include "http_ahead.h"
#include "http_attempt.h"
#include "http_handle.h"
#include "mask.h"

/* Rate-limit answers in a row after which a request gives up: the server's
 * own waits were honoured each time, so more would only burn the budget. */
#define MAX_RATE_LIMITED_IN_A_ROW 20
/* The pause for a RATE_LIMITED verdict that names no wait. */
#define DEFAULT_RATE_LIMIT_WAIT_MS 1000
#define CANCEL_POLL_MS 100
#define TOKEN_CAP 4096
#define DEFAULT_CONTENT_TYPE "application/json; charset=utf-8"

struct sx_http {
    char *base_url;
    char *ca_bundle;
    char *auth_header;
    char *user_agent;
    long timeout_ms;
    long connect_timeout_ms;
    sx_retry_policy retry;
    sx_budget *budget;
    sx_http_share *share;
    sx_ahead_pool *ahead;         /* helpers of sx_http_start */
    sx_http_log_fn log;
    void *log_user;
    atomic_uint_fast64_t seed;
    atomic_uint_fast64_t requests;
    atomic_uint_fast64_t retries;
    atomic_uint_fast64_t rate_limited;
    atomic_uint_fast64_t reauths;
    atomic_uint_fast64_t bytes;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

/* A header name we put on the wire must not smuggle in other headers. */
static int valid_header_name(const char *name)
{
    if (name == NULL || *name == '\0')
        return 0;
    for (const char *p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c >= 127 || c == ':')
            return 0;
    }
    return 1;
}

sx_http *sx_http_new(const sx_http_config *cfg, sx_budget *budget)
{
    if (cfg == NULL || (cfg->auth_header != NULL && !valid_header_name(cfg->auth_header)))
        return NULL;
    sx_http *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->base_url = dup_or_null(cfg->base_url);
    h->ca_bundle = dup_or_null(cfg->ca_bundle);
    h->auth_header = dup_or_null(cfg->auth_header);
    h->user_agent = strdup(cfg->user_agent != NULL ? cfg->user_agent
                                                   : "siphon/" SIPHON_VERSION_STRING);
    h->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 60000;
    h->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 10000;
    h->retry = cfg->retry.max_attempts > 0 ? cfg->retry : sx_retry_default();
    h->budget = budget;
    h->share = sx_http_share_new();
    h->ahead = sx_ahead_pool_new();
    /* Each request draws its jitter from its own generator; seeding them from
     * the clock and this object keeps concurrent sources from retrying in step. */
    atomic_init(&h->seed, (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)h ^ 0x9E3779B97F4A7C15ull);
    if (h->user_agent == NULL || h->share == NULL || h->ahead == NULL ||
        (cfg->base_url != NULL && h->base_url == NULL) ||
        (cfg->ca_bundle != NULL && h->ca_bundle == NULL) ||
        (cfg->auth_header != NULL && h->auth_header == NULL)) {
        sx_http_free(h);
        return NULL;
    }
    return h;
}

void sx_http_set_log(sx_http *h, sx_http_log_fn fn, void *user)
{
    h->log = fn;
    h->log_user = user;
}

__attribute__((format(printf, 3, 4)))
static void say(sx_http *h, int level, const char *fmt, ...)
{
    if (h->log == NULL)
        return;
    char raw[1024], masked[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    sx_mask(raw, masked, sizeof masked);
    h->log(h->log_user, level, masked);
}

/* Formats message_cap bytes of message, masking every known secret. */
__attribute__((format(printf, 3, 4)))
static void fail(char *message, size_t message_cap, const char *fmt, ...)
{
    if (message == NULL || message_cap == 0)
        return;
    char raw[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    sx_mask(raw, message, message_cap);
}

static char *join_url(const char *base, const char *path)
{
    if (strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0 || base == NULL)
        return strdup(path);
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    while (*path == '/')
        path++;
    size_t pl = strlen(path);
    char *url = malloc(bl + 1 + pl + 1);
    if (url == NULL)
        return NULL;
    memcpy(url, base, bl);
    url[bl] = '/';
    memcpy(url + bl + 1, path, pl + 1);
    return url;
}

/*
 * The URL as messages show it: without user:password@ and without the query
 * or fragment, where APIs tend to put keys.
 */
static void public_url(const char *url, char *out, size_t cap)
{
    const char *scheme_end = strstr(url, "://");
    const char *host = scheme_end != NULL ? scheme_end + 3 : url;
    size_t authority_len = strcspn(host, "/?#");
    const char *at = memchr(host, '@', authority_len);
    size_t prefix_len = (size_t)(host - url);
    const char *rest = at != NULL ? at + 1 : host;
    size_t rest_len = strcspn(rest, "?#");
    snprintf(out, cap, "%.*s%.*s", (int)prefix_len, url, (int)rest_len, rest);
}

/* Sleeps ms in slices short enough to notice cancel. Returns -1 if cancelled. */
static int pause_ms(int64_t ms, const volatile int *cancel)
{
    int64_t until = now_ms() + ms;
    for (;;) {
        if (cancel != NULL && *cancel)
            return -1;
        int64_t left = until - now_ms();
        if (left <= 0)
            return 0;
        if (left > CANCEL_POLL_MS)
            left = CANCEL_POLL_MS;
        struct timespec ts = {.tv_sec = left / 1000, .tv_nsec = (long)(left % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void default_classify(const siphon_http_response *r, siphon_verdict *v)
{
    if (r->status >= 200 && r->status < 300)
        v->action = SIPHON_VERDICT_OK;
    else if (r->status == 408 || r->status == 429 || r->status >= 500)
        v->action = SIPHON_VERDICT_RETRY;
    else
        v->action = SIPHON_VERDICT_FATAL;
}

/* What went wrong with one answer, for messages: "HTTP 503" or the verdict's words. */
/* What an answer meant: the classifier's words, with the HTTP status only
 * when it is not a success (a 200 carrying an API error says nothing more). */
static void describe_answer(long status, const siphon_verdict *v, char *out, size_t cap)
{
    if (v->message[0] != '\0' && status >= 200 && status < 300)
        snprintf(out, cap, "%.*s", (int)sizeof v->message, v->message);
    else if (v->message[0] != '\0')
        snprintf(out, cap, "HTTP %ld: %.*s", status, (int)sizeof v->message, v->message);
    else
        snprintf(out, cap, "HTTP %ld", status);
}

/* The request as this host knows it, whatever SDK minor the caller was built
 * against: members beyond its struct_size read as zero. */
static int normalize_request(const siphon_http_request *req, siphon_http_request *out)
{
    memset(out, 0, sizeof *out);
    if (req == NULL ||
        req->struct_size < offsetof(siphon_http_request, path) + sizeof req->path)
        return -1;
    size_t n = req->struct_size < sizeof *out ? req->struct_size : sizeof *out;
    memcpy(out, req, n);
    out->struct_size = sizeof *out;
    if (out->body != NULL && out->body_len == 0)
        out->body_len = strlen(out->body);
    if (out->method == NULL)
        out->method = out->body != NULL ? "POST" : "GET";
    if (out->content_type == NULL)
        out->content_type = DEFAULT_CONTENT_TYPE;
    return 0;
}

static void fill_response(siphon_http_response *dst, const siphon_http_response *src)
{
    size_t n = dst->struct_size < sizeof *src ? dst->struct_size : sizeof *src;
    uint32_t size = dst->struct_size;
    memcpy(dst, src, n);
    dst->struct_size = size;
}

/* Everything one sx_http_perform call keeps between its attempts. */
typedef struct perform_state {
    sx_http *h;
    siphon_http_request req;
    const sx_http_auth *auth;
    const volatile int *cancel;
    char url[4096];         /* the full URL, for curl */
    char shown[1024];       /* the URL for messages */
    char token[TOKEN_CAP];  /* the token the current attempt carries */
    uint32_t sent;          /* attempts sent */
    long last_status;       /* of the last attempt; 0 when it got no answer */
    double last_elapsed_s;
    uint32_t failures;      /* transport faults and RETRY verdicts */
    uint32_t limited_in_a_row;
    int reauths;            /* tokens refused in a row, no token serving meanwhile */
    uint64_t uses_at_refusal; /* the session's uses when the last one was refused */
    int refusals;           /* tokens refused during this request, in all */
    char refused[TOKEN_CAP];  /* the last token refused */
    uint64_t rng;
} perform_state;

/* A request may see its token refused this many times in a row (each time a
 * new one) while no request anywhere succeeds with a token: then the server
 * is refusing sessions, not expiring them. Refusals between which tokens
 * served other requests are expiries, however many (with several streams at
 * work, each expiry also refuses every request in flight), and do not count. */
#define MAX_REAUTHS_PER_REQUEST 3
/* And refused this many times in all: one endpoint refusing every token while
 * the others take them must not log in again forever. */
#define MAX_REFUSALS_PER_REQUEST 20

/* Retry after a transport fault or a RETRY verdict, or give up. */
static int after_failure(perform_state *ps, const char *cause, int give_up_now, char *message,
                         size_t message_cap)
{
    ps->failures++;
    if (give_up_now || !sx_retry_may_retry(&ps->h->retry, ps->failures)) {
        if (give_up_now)
            fail(message, message_cap, "%s %s: %s", ps->req.method, ps->shown, cause);
        else
            fail(message, message_cap, "%s %s: gave up after %u attempts: %s", ps->req.method,
                 ps->shown, ps->failures, cause);
        return SIPHON_E_TRANSPORT;
    }
    int64_t wait = sx_retry_backoff_ms(&ps->h->retry, ps->failures, &ps->rng);
    say(ps->h, SIPHON_LOG_WARN, "%s %s: attempt %u of %u failed: %s; retrying in %lld ms",
        ps->req.method, ps->shown, ps->failures, ps->h->retry.max_attempts, cause,
        (long long)wait);
    atomic_fetch_add(&ps->h->retries, 1);
    if (pause_ms(wait, ps->cancel) != 0) {
        fail(message, message_cap, "%s %s: cancelled", ps->req.method, ps->shown);
        return SIPHON_E_CANCELLED;
    }
    return SIPHON_OK;
}

static int rate_limited(perform_state *ps, const siphon_verdict *v, char *message,
                        size_t message_cap)
{
    atomic_fetch_add(&ps->h->rate_limited, 1);
    if (++ps->limited_in_a_row > MAX_RATE_LIMITED_IN_A_ROW) {
        fail(message, message_cap, "%s %s: gave up after %u rate-limited answers in a row",
             ps->req.method, ps->shown, ps->limited_in_a_row - 1);
        return SIPHON_E_TRANSPORT;
    }
    int64_t wait = v->wait_ms > 0 ? v->wait_ms : DEFAULT_RATE_LIMIT_WAIT_MS;
    say(ps->h, SIPHON_LOG_INFO, "%s %s: rate limited; the source pauses for %lld ms",
        ps->req.method, ps->shown, (long long)wait);
    if (ps->h->budget != NULL) {
        /* Through the budget, so every stream of the source holds back. */
        sx_budget_block_for(ps->h->budget, wait);
    } else if (pause_ms(wait, ps->cancel) != 0) {
        fail(message, message_cap, "%s %s: cancelled", ps->req.method, ps->shown);
        return SIPHON_E_CANCELLED;
    }
    return SIPHON_OK;
}

/* One attempt's verdict, turned into "return now" (a status) or "go again" (1). */
static int judge(perform_state *ps, const sx_http_attempt *a, sx_http_buffer *body,
                 char *message, size_t message_cap)
{
    siphon_http_response r = {
        .struct_size = sizeof r,
        .status = a->status,
        .body = body->data,
        .body_len = body->len,
        .elapsed_s = a->elapsed_s,
        .attempts = ps->sent,
    };
    siphon_verdict v = {.action = SIPHON_VERDICT_FATAL};
    if (ps->req.classify != NULL)
        ps->req.classify(ps->req.classify_user, &r, &v);
    else
        default_classify(&r, &v);
    v.message[sizeof v.message - 1] = '\0';

    char cause[768];
    describe_answer(a->status, &v, cause, sizeof cause);
    if (v.action != SIPHON_VERDICT_RATE_LIMITED)
        ps->limited_in_a_row = 0;

    switch (v.action) {
    case SIPHON_VERDICT_OK:
        if (ps->req.use_session && ps->auth != NULL && ps->auth->session != NULL)
            sx_session_touch(ps->auth->session);
        return SIPHON_OK;
    case SIPHON_VERDICT_RETRY: {
        int rc = after_failure(ps, cause, 0, message, message_cap);
        return rc == SIPHON_OK ? 1 : rc;
    }
    case SIPHON_VERDICT_RATE_LIMITED: {
        int rc = rate_limited(ps, &v, message, message_cap);
        return rc == SIPHON_OK ? 1 : rc;
    }
    case SIPHON_VERDICT_REAUTH:
        atomic_fetch_add(&ps->h->reauths, 1);
        if (!ps->req.use_session || ps->auth == NULL || ps->auth->session == NULL) {
            fail(message, message_cap, "%s %s: the API asked for a new session on a request "
                 "sent without one: %s", ps->req.method, ps->shown, cause);
            return SIPHON_E_API;
        }
        if (ps->reauths > 0 && sx_session_uses(ps->auth->session) != ps->uses_at_refusal)
            ps->reauths = 0; /* tokens served requests since: an expiry again */
        if (ps->reauths >= MAX_REAUTHS_PER_REQUEST ||
            (ps->reauths > 0 && strcmp(ps->refused, ps->token) == 0)) {
            fail(message, message_cap, "%s %s: session rejected %d times in a row: %s",
                 ps->req.method, ps->shown, ps->reauths + 1, cause);
            return SIPHON_E_API;
        }
        if (ps->refusals + 1 >= MAX_REFUSALS_PER_REQUEST) {
            fail(message, message_cap, "%s %s: session rejected %d times for this request, while "
                 "other requests were served: %s", ps->req.method, ps->shown, ps->refusals + 1,
                 cause);
            return SIPHON_E_API;
        }
        ps->refusals++;
        ps->reauths++;
        ps->uses_at_refusal = sx_session_uses(ps->auth->session);
        snprintf(ps->refused, sizeof ps->refused, "%s", ps->token);
        say(ps->h, SIPHON_LOG_INFO, "%s %s: session token refused (%s); logging in again",
            ps->req.method, ps->shown, cause);
        /* Only the token this attempt carried: another stream may already
         * hold a newer one, which must survive. */
        sx_session_invalidate(ps->auth->session, ps->token);
        return 1;
    case SIPHON_VERDICT_AUTH_REJECTED:
        fail(message, message_cap, "%s %s: credentials rejected: %s", ps->req.method, ps->shown,
             cause);
        if (ps->req.use_session && ps->auth != NULL && ps->auth->session != NULL)
            sx_session_reject(ps->auth->session, message);
        return SIPHON_E_AUTH;
    case SIPHON_VERDICT_FATAL:
    default:
        fail(message, message_cap, "%s %s: %s", ps->req.method, ps->shown, cause);
        return SIPHON_E_API;
    }
}

/* Attaches the session token (logging in when needed). */
static int take_token(perform_state *ps, char *message, size_t message_cap)
{
    ps->token[0] = '\0';
    if (!ps->req.use_session)
        return SIPHON_OK;
    if (ps->auth == NULL || ps->auth->session == NULL || ps->h->auth_header == NULL) {
        fail(message, message_cap, "%s %s: the request needs a session but the source has "
             "none (no auth header or login configured)", ps->req.method, ps->shown);
        return SIPHON_E_INTERNAL;
    }
    int rc = sx_session_get(ps->auth->session, ps->token, sizeof ps->token, ps->auth->login,
                            ps->auth->login_user, message, message_cap);
    if (rc != SIPHON_OK)
        return rc;
    if (strpbrk(ps->token, "\r\n") != NULL) {
        /* A header line break would let the token inject headers. */
        sx_session_invalidate(ps->auth->session, ps->token);
        fail(message, message_cap, "%s %s: the session token holds a line break; not sending it",
             ps->req.method, ps->shown);
        return SIPHON_E_API;
    }
    return SIPHON_OK;
}

int sx_http_perform(sx_http *h, const siphon_http_request *req, const sx_http_auth *auth,
                    sx_http_buffer *body, siphon_http_response *response,
                    const volatile int *cancel, char *message, size_t message_cap)
{
    if (message != NULL && message_cap > 0)
        message[0] = '\0';
    if (body != NULL && body->data != NULL) {
        /* A request that never gets an answer must not show the last one's. */
        body->len = 0;
        body->data[0] = '\0';
    }
    perform_state *ps = calloc(1, sizeof *ps);
    if (ps == NULL) {
        fail(message, message_cap, "out of memory for an HTTP request");
        return SIPHON_E_NOMEM;
    }
    int rc;
    if (normalize_request(req, &ps->req) != 0 || ps->req.path == NULL || body == NULL ||
        response == NULL ||
        response->struct_size < offsetof(siphon_http_response, body_len) + sizeof(size_t)) {
        fail(message, message_cap, "HTTP request refused: %s",
             req == NULL || ps->req.path == NULL ? "no request or no path"
             : body == NULL                      ? "no body buffer"
                                                 : "response struct_size too small");
        free(ps);
        return SIPHON_E_INVALID;
    }
    ps->h = h;
    ps->auth = auth;
    ps->cancel = cancel;
    ps->rng = atomic_fetch_add(&h->seed, 0x9E3779B97F4A7C15ull) | 1;

    char *url = join_url(h->base_url, ps->req.path);
    if (url == NULL || strlen(url) >= sizeof ps->url) {
        fail(message, message_cap, "%s: URL missing or longer than %zu bytes", ps->req.method,
             sizeof ps->url - 1);
        free(url);
        free(ps);
        return SIPHON_E_INVALID;
    }
    memcpy(ps->url, url, strlen(url) + 1);
    free(url);
    public_url(ps->url, ps->shown, sizeof ps->shown);

    for (;;) {
        if (cancel != NULL && *cancel) {
            fail(message, message_cap, "%s %s: cancelled", ps->req.method, ps->shown);
            rc = SIPHON_E_CANCELLED;
            break;
        }
        rc = take_token(ps, message, message_cap);
        if (rc != SIPHON_OK)
            break;
        if (h->budget != NULL && sx_budget_acquire(h->budget, cancel) != 0) {
            fail(message, message_cap, "%s %s: cancelled", ps->req.method, ps->shown);
            rc = SIPHON_E_CANCELLED;
            break;
        }

        sx_http_attempt a = {
            .url = ps->url,
            .method = ps->req.method,
            .content_type = ps->req.content_type,
            .body = ps->req.body,
            .body_len = ps->req.body_len,
            .auth_header = ps->req.use_session ? h->auth_header : NULL,
            .token = ps->req.use_session ? ps->token : NULL,
            .user_agent = h->user_agent,
            .ca_bundle = h->ca_bundle,
            .timeout_ms = h->timeout_ms,
            .connect_timeout_ms = h->connect_timeout_ms,
            .cancel = cancel,
        };
        CURL *easy = sx_http_share_handle(h->share);
        if (easy == NULL) {
            fail(message, message_cap, "%s %s: out of memory for a connection handle",
                 ps->req.method, ps->shown);
            rc = SIPHON_E_NOMEM;
            break;
        }
        sx_http_attempt_run(easy, &a, body);
        ps->sent++;
        ps->last_status = a.outcome == SX_ATTEMPT_ANSWERED ? a.status : 0;
        ps->last_elapsed_s = a.elapsed_s;
        atomic_fetch_add(&h->requests, 1);
        atomic_fetch_add(&h->bytes, a.received);

        if (a.outcome == SX_ATTEMPT_CANCELLED) {
            fail(message, message_cap, "%s %s: cancelled", ps->req.method, ps->shown);
            rc = SIPHON_E_CANCELLED;
            break;
        }
        if (a.outcome != SX_ATTEMPT_ANSWERED) {
            rc = after_failure(ps, a.error, a.outcome == SX_ATTEMPT_BROKEN_SETUP, message,
                               message_cap);
            if (rc != SIPHON_OK)
                break;
            continue;
        }
        rc = judge(ps, &a, body, message, message_cap);
        if (rc != 1)
            break;
    }
    /* Whatever the outcome, the caller sees the last answer (a FATAL
     * verdict's body is often what explains it). */
    siphon_http_response r = {
        .struct_size = sizeof r,
        .status = ps->last_status,
        .body = body->data != NULL ? body->data : "",
        .body_len = body->data != NULL ? body->len : 0,
        .elapsed_s = ps->last_elapsed_s,
        .attempts = ps->sent,
    };
    fill_response(response, &r);
    explicit_bzero(ps->token, sizeof ps->token);
    free(ps);
    return rc;
}

sx_ahead_pool *sx_http_ahead_pool(sx_http *h)
{
    return h->ahead;
}

void sx_http_stats_get(sx_http *h, sx_http_stats *out)
{
    out->requests = atomic_load(&h->requests);
    out->retries = atomic_load(&h->retries);
    out->rate_limited = atomic_load(&h->rate_limited);
    out->reauths = atomic_load(&h->reauths);
    out->bytes = atomic_load(&h->bytes);
}

void sx_http_buffer_free(sx_http_buffer *b)
{
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void sx_http_free(sx_http *h)
{
    if (h == NULL)
        return;
    /* first the helpers, whose handles hold references to the share */
    sx_ahead_pool_free(h->ahead);
    sx_http_share_close(h->share);
    free(h->base_url);
    free(h->ca_bundle);
    free(h->auth_header);
    free(h->user_agent);
    free(h);
}

int sx_http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void sx_http_global_cleanup(void)
{
    sx_http_thread_cleanup();
    curl_global_cleanup();
}
