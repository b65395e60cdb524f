/*
 * http_attempt.h: one HTTP exchange over libcurl, no policy (private to http*.c).
 *
 * sx_http.c decides whether to retry, wait or log in again; this part only
 * sends one request on a thread's easy handle and reports what happened, in
 * words safe to show: curl's error text never holds the auth header.
 */
#ifndef SX_HTTP_ATTEMPT_H
#define SX_HTTP_ATTEMPT_H

#include <stddef.h>

#include <curl/curl.h>

#include "http.h"

typedef enum sx_attempt_outcome {
    SX_ATTEMPT_ANSWERED = 0,   /* a complete answer arrived (any status) */
    SX_ATTEMPT_FAULT,          /* connect, reset, timeout, truncated body: worth retrying */
    SX_ATTEMPT_BROKEN_SETUP,   /* TLS verification, CA file, bad URL: retrying cannot help */
    SX_ATTEMPT_CANCELLED       /* *cancel became non-zero */
} sx_attempt_outcome;

typedef struct sx_http_attempt {
    /* in */
    const char *url;
    const char *method;
    const char *content_type;
    const char *body;            /* NULL: no body */
    size_t body_len;
    const char *auth_header;     /* with token: "<auth_header>: <token>", verbatim */
    const char *token;
    const char *user_agent;
    const char *ca_bundle;       /* NULL: the system store */
    long timeout_ms;
    long connect_timeout_ms;
    const volatile int *cancel;
    /* out */
    sx_attempt_outcome outcome;
    long status;
    double elapsed_s;
    size_t received;             /* body bytes received (after decoding) */
    char error[512];             /* why, when not ANSWERED */
} sx_http_attempt;

/* The largest response body accepted; a bigger one is a transport fault. */
#define SX_HTTP_MAX_BODY ((size_t)512 * 1024 * 1024)

/* Sends a->method to a->url on easy and fills the out members. body is
 * emptied first and receives the answer, always NUL-terminated. */
void sx_http_attempt_run(CURL *easy, sx_http_attempt *a, sx_http_buffer *body);

#endif
