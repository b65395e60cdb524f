#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_attempt.h"

typedef struct sink {
    sx_http_buffer *buf;
    int too_big;
    CURL *easy;
    int sized;        /* the buffer was sized from Content-Length */
} sink;

/* Makes room for n more bytes plus the terminator. */
static int reserve(sx_http_buffer *b, size_t n)
{
    if (b->len + n + 1 <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 16384;
    while (ncap < b->len + n + 1)
        ncap *= 2;
    char *grown = realloc(b->data, ncap);
    if (grown == NULL)
        return -1;
    b->data = grown;
    b->cap = ncap;
    return 0;
}

/* Makes the buffer hold exactly total bytes plus the terminator, when it is
 * smaller (a failure is left to reserve, which tries again). */
static void reserve_exact(sx_http_buffer *b, size_t total)
{
    if (total + 1 <= b->cap)
        return;
    char *grown = realloc(b->data, total + 1);
    if (grown != NULL) {
        b->data = grown;
        b->cap = total + 1;
    }
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *user)
{
    sink *s = user;
    size_t n = size * nmemb;
    if (s->buf->len + n > SX_HTTP_MAX_BODY) {
        s->too_big = 1;
        return 0;
    }
    if (!s->sized) {
        /* A page of 10 000 contacts is 6 MB: room for the whole body at
         * once, instead of a dozen doublings (each a copy) that overshoot
         * it by up to half. A compressed body's length is only a start. */
        s->sized = 1;
        curl_off_t length = -1;
        if (curl_easy_getinfo(s->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK &&
            length > 0 && (uint64_t)length <= SX_HTTP_MAX_BODY &&
            (size_t)length > s->buf->len + n)
            reserve_exact(s->buf, (size_t)length);
    }
    if (reserve(s->buf, n) != 0)
        return 0;
    memcpy(s->buf->data + s->buf->len, data, n);
    s->buf->len += n;
    s->buf->data[s->buf->len] = '\0';
    return n;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    const volatile int *cancel = user;
    return cancel != NULL && *cancel ? 1 : 0;
}

/* Errors that come from configuration or the peer's identity: the same
 * attempt would fail the same way, so they end the request at once. */
static int is_setup_error(CURLcode code)
{
    switch (code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_NOT_BUILT_IN:
    case CURLE_OUT_OF_MEMORY:
        return 1;
    default:
        return 0;
    }
}

/* curl's words for a failure, led by ours where curl's would puzzle a user
 * ("SSL peer certificate or SSH remote key was not OK"). */
static void describe_error(CURLcode code, const char *detail, char *out, size_t cap)
{
    const char *lead;
    switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
        /* A certificate for another name is not cured by trusting its CA:
         * say which of the two checks failed. */
        if (strstr(detail, "host name") != NULL || strstr(detail, "hostname") != NULL)
            lead = "TLS: the server's certificate is not valid for the host name in the URL";
        else
            lead = "TLS: the server's certificate is not trusted (ca_bundle names a CA file to "
                   "trust)";
        break;
    case CURLE_SSL_CACERT_BADFILE:
        lead = "TLS: the CA bundle cannot be read";
        break;
    default:
        lead = curl_easy_strerror(code);
        break;
    }
    if (detail[0] != '\0')
        snprintf(out, cap, "%s (%s)", lead, detail);
    else
        snprintf(out, cap, "%s", lead);
}

static struct curl_slist *add_header(struct curl_slist *list, const char *name,
                                     const char *value, int *failed)
{
    if (*failed)
        return list;
    size_t n = strlen(name) + 2 + strlen(value) + 1;
    char *line = malloc(n);
    if (line == NULL) {
        *failed = 1;
        return list;
    }
    snprintf(line, n, "%s: %s", name, value);
    struct curl_slist *grown = curl_slist_append(list, line);
    /* The line may hold the token: wipe our copy (curl keeps its own). */
    explicit_bzero(line, n);
    free(line);
    if (grown == NULL)
        *failed = 1;
    return grown;
}

static void set_method(CURL *easy, const sx_http_attempt *a)
{
    if (a->body != NULL || strcasecmp(a->method, "POST") == 0) {
        /* POSTFIELDS does not copy: the caller's body outlives the transfer. */
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)a->body_len);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, a->body != NULL ? a->body : "");
        if (strcasecmp(a->method, "POST") != 0)
            curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, a->method);
    } else if (strcasecmp(a->method, "GET") == 0) {
        curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    } else if (strcasecmp(a->method, "HEAD") == 0) {
        curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, a->method);
    }
}

void sx_http_attempt_run(CURL *easy, sx_http_attempt *a, sx_http_buffer *body)
{
    a->outcome = SX_ATTEMPT_FAULT;
    a->status = 0;
    a->elapsed_s = 0;
    a->received = 0;
    a->error[0] = '\0';
    body->len = 0;
    if (reserve(body, 0) != 0) {
        a->outcome = SX_ATTEMPT_BROKEN_SETUP;
        snprintf(a->error, sizeof a->error, "out of memory for the response body");
        return;
    }
    body->data[0] = '\0';

    int failed = 0;
    struct curl_slist *headers = NULL;
    if (a->body != NULL || strcasecmp(a->method, "POST") == 0)
        headers = add_header(headers, "Content-Type", a->content_type, &failed);
    /* No "Expect: 100-continue" round trip before larger bodies ("Name:"
     * with nothing after the colon removes a header in curl). */
    if (!failed) {
        struct curl_slist *grown = curl_slist_append(headers, "Expect:");
        if (grown == NULL)
            failed = 1;
        else
            headers = grown;
    }
    if (a->auth_header != NULL && a->token != NULL)
        headers = add_header(headers, a->auth_header, a->token, &failed);
    if (failed) {
        curl_slist_free_all(headers);
        a->outcome = SX_ATTEMPT_BROKEN_SETUP;
        snprintf(a->error, sizeof a->error, "out of memory for the request headers");
        return;
    }

    char curl_error[CURL_ERROR_SIZE] = "";
    sink s = {.buf = body, .easy = easy};

    /* Reset keeps the live connections and the share; every option is set
     * afresh so nothing leaks from one request into the next. */
    curl_easy_reset(easy);
    curl_easy_setopt(easy, CURLOPT_URL, a->url);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, a->user_agent);
    set_method(easy, a);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(easy, CURLOPT_XFERINFODATA, (void *)a->cancel);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, curl_error);
    /* Worker threads: no SIGALRM-based DNS timeouts. */
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, a->timeout_ms);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, a->connect_timeout_ms);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    /* "" offers every encoding this libcurl decodes (gzip, deflate, ...). */
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
    /* Verification is not configurable: ca_bundle is the way to trust a
     * private CA. */
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    if (a->ca_bundle != NULL)
        curl_easy_setopt(easy, CURLOPT_CAINFO, a->ca_bundle);
    /* A redirect would carry the token to wherever it points. */
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif

    CURLcode code = curl_easy_perform(easy);

    curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME, &a->elapsed_s);
    a->received = body->len;
    if (code == CURLE_OK) {
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &a->status);
        a->outcome = SX_ATTEMPT_ANSWERED;
    } else if (code == CURLE_ABORTED_BY_CALLBACK) {
        a->outcome = SX_ATTEMPT_CANCELLED;
        snprintf(a->error, sizeof a->error, "cancelled");
    } else if (s.too_big) {
        snprintf(a->error, sizeof a->error, "response body larger than %zu bytes",
                 (size_t)SX_HTTP_MAX_BODY);
    } else {
        a->outcome = is_setup_error(code) ? SX_ATTEMPT_BROKEN_SETUP : SX_ATTEMPT_FAULT;
        describe_error(code, curl_error, a->error, sizeof a->error);
    }
    /* A failed transfer may have left part of a body: callers see it empty. */
    if (a->outcome != SX_ATTEMPT_ANSWERED) {
        body->len = 0;
        body->data[0] = '\0';
    }
    /* The handle still points at our headers, stack buffers and the caller's
     * body and cancel flag; a reset drops them all (it keeps connections). */
    curl_easy_reset(easy);
    curl_slist_free_all(headers);
}
