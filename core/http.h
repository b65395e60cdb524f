/*
 * http.h: the HTTP service of one source (libcurl).
 *
 * Every request of a source goes through here: the budget (one slot per
 * attempt, login included), the session (token header attached, re-login on a
 * REAUTH verdict, once per request), the retry policy (transport faults:
 * connection errors, timeouts, a RETRY verdict), and the exact floor of a
 * RATE_LIMITED verdict (applied to the whole source through the budget).
 * Connections are reused: each thread keeps its own easy handle, whose
 * connections stay alive between its requests, and the handles of a source
 * share one DNS cache and TLS session cache (not the connection pool: libcurl
 * documents sharing it between concurrent threads as unsafe). Responses may
 * be compressed (Accept-Encoding: gzip, deflate). TLS verification is always on;
 * ca_bundle replaces the system CA store.
 */
#ifndef SX_HTTP_H
#define SX_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <siphon/siphon.h>

#include "budget.h"
#include "retry.h"
#include "session.h"

typedef struct sx_http sx_http;

typedef struct sx_http_config {
    const char *base_url;         /* joined with relative paths */
    const char *ca_bundle;        /* a PEM file, or NULL for the system store */
    const char *auth_header;      /* e.g. "auth-token", or NULL */
    const char *user_agent;       /* NULL: "siphon/VERSION" */
    long timeout_ms;              /* whole request; default 60000 */
    long connect_timeout_ms;      /* default 10000 */
    sx_retry_policy retry;
} sx_http_config;

/* A growing buffer for one response body; owned by the caller (one per ctx). */
typedef struct sx_http_buffer {
    char *data;
    size_t len;
    size_t cap;
} sx_http_buffer;

/* How the session logs in, for requests with use_session. */
typedef struct sx_http_auth {
    sx_session *session;
    sx_login_fn login;
    void *login_user;
} sx_http_auth;

/* Counters over all requests of the source (for the summary and METRIC lines). */
typedef struct sx_http_stats {
    uint64_t requests;          /* attempts sent */
    uint64_t retries;           /* attempts after a transport fault */
    uint64_t rate_limited;      /* RATE_LIMITED verdicts */
    uint64_t reauths;           /* REAUTH verdicts */
    uint64_t bytes;             /* response bytes received */
} sx_http_stats;

/* budget may be NULL (unlimited). The config strings are copied. Returns
 * NULL when out of memory or when auth_header is not a valid header name.
 * A retry policy with max_attempts 0 means sx_retry_default(). */
sx_http *sx_http_new(const sx_http_config *cfg, sx_budget *budget);

/* Receives the service's notices: a retry (WARN, with the cause and the
 * wait), a rate-limit pause and a re-login (INFO). level is a
 * siphon_log_level; text is masked and names no token or body. */
typedef void (*sx_http_log_fn)(void *user, int level, const char *text);

/* Routes notices to fn (NULL: dropped, the default). Set it before the first
 * request; it is called from whichever thread performs the request. */
void sx_http_set_log(sx_http *h, sx_http_log_fn fn, void *user);

/*
 * Performs one request with the whole policy. body receives the final
 * answer's body; response points into it. cancel (may be NULL) aborts waits
 * and transfers when it becomes non-zero. On failure message names what went
 * wrong (the URL, without any secret). Returns SIPHON_OK,
 * SIPHON_E_TRANSPORT, SIPHON_E_AUTH, SIPHON_E_API or SIPHON_E_CANCELLED
 * (SIPHON_E_INVALID for a malformed request, SIPHON_E_NOMEM).
 *
 * The policy, per attempt (each takes one budget slot first):
 *  - transport fault (connect, reset, timeout, truncated body) or a RETRY
 *    verdict: back off with jitter and repeat, up to retry.max_attempts;
 *    then SIPHON_E_TRANSPORT, "POST URL: gave up after N attempts: CAUSE";
 *  - a fault retrying cannot fix (TLS verification, unreadable CA bundle,
 *    malformed URL): SIPHON_E_TRANSPORT at once;
 *  - RATE_LIMITED: the whole source pauses wait_ms (1 s if the verdict names
 *    none), then repeat; 20 such answers in a row end in SIPHON_E_TRANSPORT;
 *  - REAUTH: forget the token this attempt carried, log in, repeat once; a
 *    second REAUTH for the same request is SIPHON_E_API "session rejected twice";
 *  - AUTH_REJECTED: SIPHON_E_AUTH, and the session remembers the rejection;
 *  - FATAL: SIPHON_E_API with the verdict's message.
 * Once the request is accepted, response is filled whatever the outcome
 * (status 0 when the last attempt got no answer; an empty body after a
 * transport fault). libcurl may itself resend a request once when a reused
 * keep-alive connection turns out dead before any answer; that resend takes
 * no budget slot (rare; should the API count it and answer 240024, the
 * RATE_LIMITED path covers it). A request's members past its struct_size
 * read as zero; body with body_len 0 is taken as a C string.
 */
int sx_http_perform(sx_http *h, const siphon_http_request *req, const sx_http_auth *auth,
                    sx_http_buffer *body, siphon_http_response *response,
                    const volatile int *cancel, char *message, size_t message_cap);

/*
 * Requests sent ahead: a stream that knows its next request (the page after
 * the one it is about to emit) starts it, so the server prepares that answer
 * while siphon works on this one.
 *
 * sx_http_start copies req, its strings and its body (classify and
 * classify_user are kept as they are) and, when in_background is non-zero,
 * sends it at once from a helper thread of the service, with the whole policy
 * of sx_http_perform; the answer goes into body. Until sx_http_finish returns,
 * the caller leaves body and classify_user alone (the classifier runs on the
 * helper) and keeps what auth points to alive (auth itself is copied). With
 * in_background 0 nothing is sent before sx_http_finish, which then performs
 * the request on the calling thread: a run told not to read ahead, or one
 * whose requests ahead are all in use.
 * Returns SIPHON_OK with *out set; SIPHON_E_INVALID or SIPHON_E_NOMEM (message
 * says why) when nothing was started.
 */
typedef struct sx_http_pending sx_http_pending;
int sx_http_start(sx_http *h, const siphon_http_request *req, const sx_http_auth *auth,
                  sx_http_buffer *body, int in_background, sx_http_pending **out,
                  char *message, size_t message_cap);

/*
 * Waits for a started request and returns what sx_http_perform would have,
 * filling response and message alike; a non-zero *stop (may be NULL) while
 * it waits cancels the request. With response NULL it cancels instead of
 * waiting for the answer and returns SIPHON_E_CANCELLED as soon as the helper
 * is done with the request (a transfer or a wait is cut short within 100 ms).
 * Frees p either way.
 */
int sx_http_finish(sx_http_pending *p, siphon_http_response *response,
                   const volatile int *stop, char *message, size_t message_cap);

/* A snapshot of the counters (each read atomically). */
void sx_http_stats_get(sx_http *h, sx_http_stats *out);

/* Frees the buffer's memory and leaves it empty and reusable. */
void sx_http_buffer_free(sx_http_buffer *b);

/* Frees the service and the calling thread's handle for it. No request of
 * this service may be running. Other threads drop their handles for it at
 * their next request, at sx_http_thread_cleanup() or when they exit. */
void sx_http_free(sx_http *h);

/* Releases the calling thread's handles of every service (a worker that
 * ends calls it; thread exit does the same through a thread-local
 * destructor). */
void sx_http_thread_cleanup(void);

/* Call once in main before any thread starts (curl_global_init); returns 0
 * or -1. sx_http_global_cleanup releases the main thread's handles too. */
int sx_http_global_init(void);
void sx_http_global_cleanup(void);

#endif
