/*
 * siphon-host.h: the services the host offers to plugins.
 *
 * Plugins never link against host symbols (they are built with
 * -Wl,--no-undefined); they reach the host only through siphon_host_api, a
 * table of function pointers passed in at load time and reachable from every
 * siphon_ctx. Like SQLite's sqlite3_api_routines, the table is append-only:
 * new services go at the end, struct_size says how far this host's table
 * reaches, and a plugin tests a service added after its minimum ABI minor with
 * SIPHON_HOST_HAS(api, member) before calling it.
 *
 * Threads: a stream's callbacks may run on any worker thread, and different
 * streams (or partitions of one PARALLEL_SAFE stream) run at the same time. Every
 * service here is safe to call from the thread that received the ctx. A ctx
 * is valid only during the callback it was passed to.
 *
 * Strings: every const char * a service returns is borrowed and stays valid
 * until the callback returns, unless its comment says otherwise.
 */
#ifndef SIPHON_HOST_H
#define SIPHON_HOST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <siphon/siphon-json.h>
#include <siphon/siphon-plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Log levels (siphon_host_api.vlog). */
typedef enum siphon_log_level {
    SIPHON_LOG_DEBUG = 10,
    SIPHON_LOG_INFO = 20,
    SIPHON_LOG_WARN = 30,
    SIPHON_LOG_ERROR = 40
} siphon_log_level;

/* An HTTP answer, as the host received it. body is borrowed: it stays valid
 * until the next http() call with the same ctx or the end of the callback. */
typedef struct siphon_http_response {
    uint32_t struct_size;
    long status;              /* the HTTP status code */
    const char *body;         /* the body, NUL-terminated for convenience */
    size_t body_len;          /* its length without the terminator */
    double elapsed_s;         /* time of the last attempt */
    uint32_t attempts;        /* how many attempts the host made */
} siphon_http_response;

/* What a plugin's classifier says about one answer (siphon_verdict.action). */
typedef enum siphon_verdict_action {
    /* The answer is good: hand it to the caller. */
    SIPHON_VERDICT_OK = 0,
    /* A transport-like fault (incomplete or malformed body, a server error):
     * back off with jitter and repeat, up to the retry limit. */
    SIPHON_VERDICT_RETRY = 1,
    /* The server asked to wait: no request of this source is sent before
     * wait_ms has passed (an exact floor, no jitter below it), then repeat. */
    SIPHON_VERDICT_RATE_LIMITED = 2,
    /* The session token is no longer valid: log in again once, then repeat. */
    SIPHON_VERDICT_REAUTH = 3,
    /* The credentials were rejected: fail the whole source (auth exit code). */
    SIPHON_VERDICT_AUTH_REJECTED = 4,
    /* Fail this request (and usually the stream) with message. */
    SIPHON_VERDICT_FATAL = 5
} siphon_verdict_action;

/* Filled in by a classifier; message names the API code and its detail. */
typedef struct siphon_verdict {
    int action;             /* a siphon_verdict_action */
    int64_t wait_ms;        /* for SIPHON_VERDICT_RATE_LIMITED */
    char message[512];      /* for RETRY (logged), FATAL and AUTH_REJECTED */
} siphon_verdict;

/*
 * Decides what an answer means. Called by the host for every answer whose
 * transport succeeded (any HTTP status), before retries are decided; it must
 * not call back into the host. The default when a request has no classifier:
 * 2xx is OK, 408, 429 and 5xx are RETRY, anything else FATAL.
 */
typedef void (*siphon_classify_fn)(void *user, const siphon_http_response *response,
                                   siphon_verdict *verdict);

/* One HTTP request through the host. */
typedef struct siphon_http_request {
    uint32_t struct_size;
    const char *method;         /* NULL means POST when body is set, else GET */
    /* Joined to the source's base URL when relative ("/emkt/contact/search");
     * used as is when it starts with http:// or https://. */
    const char *path;
    const char *content_type;   /* NULL means "application/json; charset=utf-8" */
    const char *body;
    size_t body_len;
    /* Non-zero: attach the source's session token in its auth header, logging
     * in first when needed. Zero for the login request itself. */
    int use_session;
    siphon_classify_fn classify;  /* NULL for the default policy */
    void *classify_user;
    const char *metric_tag;       /* the endpoint name in metrics, or NULL */
} siphon_http_request;

/*
 * The services table. Members marked [ctx: stream] may be called only from
 * stream callbacks, [ctx: sink] only from sink callbacks; the rest from both.
 */
typedef struct siphon_host_api {
    uint32_t struct_size;     /* sizeof(siphon_host_api) in the host */
    uint16_t abi_major;
    uint16_t abi_minor;

    /* --- logging --- */

    /* Writes one log line on stderr, prefixed with the component's name. The
     * host masks every configured secret in the text before it is printed. */
    void (*vlog)(siphon_ctx *ctx, int level, const char *fmt, va_list ap);
    /* Records why the current callback is about to fail; the host shows it in
     * the run summary and the error output, naming the stream. The last call
     * wins. Secrets are masked. */
    void (*vset_error)(siphon_ctx *ctx, const char *fmt, va_list ap);

    /* --- configuration --- */

    /* Look up an option this component (or its source) declared. For a
     * stream, "streams": {"NAME": {...}} wins over the top level, which wins
     * over the declared default. A string getter on a number returns its text.
     * Return NULL (or SIPHON_E_CONFIG) when unset with no default. */
    const char *(*config_string)(siphon_ctx *ctx, const char *name);
    int (*config_int)(siphon_ctx *ctx, const char *name, int64_t *value);
    int (*config_number)(siphon_ctx *ctx, const char *name, double *value);
    int (*config_bool)(siphon_ctx *ctx, const char *name, int *value);
    const json_t *(*config_json)(siphon_ctx *ctx, const char *name);

    /* --- the current stream --- [ctx: stream] */

    /* The stream's own name (before any alias). */
    const char *(*stream_name)(siphon_ctx *ctx);
    /* SIPHON_SYNC_FULL_TABLE or SIPHON_SYNC_INCREMENTAL for this run. */
    int (*sync_mode)(siphon_ctx *ctx);
    /* For INCREMENTAL: the bookmark to resume from (compare with >=), or NULL
     * on a first sync. The plugin applies its own start_date when NULL. */
    const char *(*start_value)(siphon_ctx *ctx);
    /* Fixes the upper bound of this run's read (a value of the replication
     * key, e.g. the time the run started); bookmarks never pass it. */
    int (*set_signpost)(siphon_ctx *ctx, const char *value);
    /* Extra per-partition state kept beside the bookmark and committed with
     * it; get returns a borrowed value or NULL, put steals value. */
    const json_t *(*state_get)(siphon_ctx *ctx, const char *key);
    int (*state_put)(siphon_ctx *ctx, const char *key, json_t *value);

    /* --- records --- [ctx: stream] */

    /*
     * Hands one record to the host, which steals the reference. stream is NULL
     * (the caller's stream) or the caller's own stream name; any other name is
     * refused with SIPHON_E_NOT_OWNER. The host adds the partition context's
     * keys, tracks the bookmark, applies transforms and queues the record for
     * the sink; it may block while the sink catches up. A non-zero return
     * (SIPHON_E_CANCELLED when the run stops) means stop reading. Every
     * string and member name must be UTF-8 and the record nested at most
     * 2048 levels (what JSON readers parse back); a record built with
     * jansson's unchecked constructors that is not is refused with
     * SIPHON_E_INVALID, the error naming the member.
     */
    int (*emit_record)(siphon_ctx *ctx, const char *stream, json_t *record);
    /* Marks a safe point (a page boundary): the host may commit the sink and
     * the state here. */
    int (*checkpoint)(siphon_ctx *ctx);
    /*
     * Every record of another stream of the same source, read in full once per
     * run and shared (contact lists for their children, fields for the
     * contacts schema). *records is a borrowed array valid until the run ends.
     */
    int (*related_records)(siphon_ctx *ctx, const char *stream, const json_t **records);

    /* --- HTTP and the auth session --- [ctx: stream] */

    /*
     * Sends one request through the source's shared budget, auth session and
     * retry policy, and fills *response with the final answer. Returns
     * SIPHON_OK when the classifier accepted it, SIPHON_E_TRANSPORT when
     * retries ran out, SIPHON_E_AUTH when credentials were rejected,
     * SIPHON_E_API for a FATAL verdict (message in the error), or
     * SIPHON_E_CANCELLED.
     */
    int (*http)(siphon_ctx *ctx, const siphon_http_request *request,
                siphon_http_response *response);
    /* Copies the source's current session token (logging in when there is
     * none) into buf. */
    int (*session_token)(siphon_ctx *ctx, char *buf, size_t cap);
    /* Forgets the session token if it still equals token, so the next request
     * logs in again (a NULL token forgets whatever is current). */
    void (*session_invalidate)(siphon_ctx *ctx, const char *token);

    /* --- time and cancellation --- */

    int64_t (*now_ms)(siphon_ctx *ctx);        /* wall clock, ms since the epoch */
    int64_t (*monotonic_ms)(siphon_ctx *ctx);  /* for measuring durations */
    /* Non-zero when the run is stopping (signal, fatal sink error): return
     * SIPHON_E_CANCELLED promptly. */
    int (*should_stop)(siphon_ctx *ctx);

    /* --- records as text --- [ctx: stream] */

    /*
     * Hands one record to the host as JSON text: exactly one JSON object in
     * UTF-8, borrowed for the call. The host treats it as emit_record does
     * (parent codes added, bookmark tracked, drift noted), but when nothing
     * downstream needs a tree (no deselected property, no stream map, a sink
     * with SIPHON_CAP_RAW_RECORDS) the text travels to the sink as text and
     * is never parsed into a tree: the fast path for large pages. Text that
     * is not one JSON object is refused with SIPHON_E_INVALID. Use it only
     * for records whose values already have the schema's types; otherwise
     * build a tree and call emit_record.
     */
    int (*emit_raw)(siphon_ctx *ctx, const char *json, size_t len);

    /* --- added in ABI 1.1 --- */

    /*
     * emit_raw for text the plugin has already checked: siphon_json_object_scan
     * (libsiphon-util) accepted the object these len bytes hold, exactly
     * them, from '{' to '}'. A plugin that validates a page before it emits
     * anything (it must, to retry a corrupt page without duplicates) has
     * made that check already, and the host does not make it again:
     *  - with members (the n_members top-level members that scan found,
     *    offsets counted from json, and compact as it found it), the host
     *    reads the record off the table and never walks the text;
     *  - with members NULL, it finds them itself (siphon_json_object_split),
     *    a walk of the structure only, still cheaper than the check.
     * Text or a table that breaks the promise is still read safely: a
     * table that does not fit the text, or text whose structure is broken,
     * is refused with SIPHON_E_INVALID; but what strings and numbers hold
     * reaches the sink unjudged. siphon_json_member's layout is part of
     * the ABI from 1.1 on.
     */
    int (*emit_raw_checked)(siphon_ctx *ctx, const char *json, size_t len,
                            const siphon_json_member *members, size_t n_members, int compact);

    /* --- added in ABI 1.2 --- [ctx: stream] */

    /*
     * A request sent ahead: a stream that knows what it will ask next (the
     * page after the one it is about to emit) starts that request, goes on
     * with its work, and collects the answer later, so the server prepares
     * the next page while the host writes this one. The request goes through
     * the same budget, session and retry policy as http().
     *
     * http_start copies the request, its strings and its body; it fails
     * (SIPHON_E_INVALID) only for a malformed request or when the ctx has a
     * started request not yet finished: one at a time per ctx. The answer's
     * classifier may run on another thread, with classify_user, so the
     * plugin leaves what classify_user points to alone until http_finish
     * returns. The body of the last answer http() or http_finish gave stays
     * valid meanwhile.
     *
     * http_finish waits for the answer and returns what http() would have
     * (the request's errors come here), filling *response; its body stays
     * valid until the next http() or http_finish with the same ctx. With
     * response NULL it cancels the request instead and returns
     * SIPHON_E_CANCELLED once the classifier will not run again: what a
     * stream that stops early (an error, a stop) calls before freeing
     * classify_user. The host cancels a request still started when the
     * callback returns. When the run does not read ahead ("read_ahead":
     * false, or as many streams as it allows already do), the request is
     * sent only when http_finish asks for it, so plugins need no second
     * path.
     */
    int (*http_start)(siphon_ctx *ctx, const siphon_http_request *request);
    int (*http_finish)(siphon_ctx *ctx, siphon_http_response *response);

    /* New services go here, after the ones above, with a SIPHON_ABI_MINOR bump. */
} siphon_host_api;

/* True when the host's table offers member (added in a later minor version). */
#define SIPHON_HOST_HAS(api, member) SIPHON_HAS(api, siphon_host_api, member)

/*
 * The host api of a ctx. Every siphon_ctx starts with a pointer to the
 * services table (the Redis module pattern), so plugins need no global.
 */
struct siphon_ctx_head {
    const siphon_host_api *api;
};
static inline const siphon_host_api *siphon_api(siphon_ctx *ctx)
{
    return ((const struct siphon_ctx_head *)(const void *)ctx)->api;
}

/* printf-style wrappers around vlog and vset_error. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 3, 4)))
#endif
static inline void siphon_log(siphon_ctx *ctx, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    siphon_api(ctx)->vlog(ctx, level, fmt, ap);
    va_end(ap);
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
static inline void siphon_set_error(siphon_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    siphon_api(ctx)->vset_error(ctx, fmt, ap);
    va_end(ap);
}

#ifdef __cplusplus
}
#endif

#endif
