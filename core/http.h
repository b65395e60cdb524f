/*
 * http.h: the HTTP service of one source (libcurl).
 *
 * Every request of a source goes through here: the budget (one slot per
 * attempt, login included), the session (token header attached, re-login on a
 * REAUTH verdict, once per request), the retry policy (transport faults:
 * connection errors, timeouts, a RETRY verdict), and the exact floor of a
 * RATE_LIMITED verdict (applied to the whole source through the budget).
 * Connections are reused: each thread keeps its own easy handle, and the
 * handles of a source share one connection cache and DNS cache. Responses may
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

/* budget may be NULL (unlimited). The config strings are copied. */
sx_http *sx_http_new(const sx_http_config *cfg, sx_budget *budget);

/*
 * Performs one request with the whole policy. body receives the final
 * answer's body; response points into it. cancel (may be NULL) aborts waits
 * and transfers when it becomes non-zero. On failure message names what went
 * wrong (the URL, without any secret). Returns SIPHON_OK,
 * SIPHON_E_TRANSPORT, SIPHON_E_AUTH, SIPHON_E_API or SIPHON_E_CANCELLED.
 */
int sx_http_perform(sx_http *h, const siphon_http_request *req, const sx_http_auth *auth,
                    sx_http_buffer *body, siphon_http_response *response,
                    const volatile int *cancel, char *message, size_t message_cap);

void sx_http_stats_get(sx_http *h, sx_http_stats *out);

void sx_http_buffer_free(sx_http_buffer *b);

/* Frees the service and this thread's handle; other threads' handles are
 * released when they call sx_http_thread_cleanup() before exiting. */
void sx_http_free(sx_http *h);
void sx_http_thread_cleanup(void);

/* Call once in main before any thread starts (curl_global_init). */
int sx_http_global_init(void);
void sx_http_global_cleanup(void);

#endif
