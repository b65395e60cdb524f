/*
 * httpd.h: a scripted HTTP server for tests (libmicrohttpd), on 127.0.0.1.
 *
 * Each path has a queue of scripted replies, served in order; when a path's
 * queue is empty its default reply answers (or a 404 naming the path). A
 * reply can be delayed, cut off mid-body, or replaced by a connection reset.
 * Every request is recorded with its method, path, headers, body, the time
 * its headers arrived and the client's port, so tests assert what the client
 * really sent and when the server really saw it. Each connection runs on its
 * own thread: a delayed reply never holds up another client.
 */
#ifndef SXT_HTTPD_H
#define SXT_HTTPD_H

#include <stddef.h>
#include <stdint.h>

typedef struct sxt_httpd sxt_httpd;

typedef enum sxt_fault {
    SXT_FAULT_NONE = 0,
    SXT_FAULT_RESET,      /* close the connection with an RST instead of answering */
    SXT_FAULT_TRUNCATE    /* announce the full Content-Length, send half, close */
} sxt_fault;

typedef struct sxt_reply {
    int status;           /* 0 means 200 */
    const char *body;     /* NULL: empty (copied) */
    size_t body_len;      /* 0: strlen(body) */
    int delay_ms;         /* wait this long before answering (cut short by stop) */
    sxt_fault fault;
    const char *headers;  /* extra "Name: value" lines separated by '\n', or NULL */
} sxt_reply;

typedef struct sxt_request {
    char *method;
    char *path;           /* as requested, without the query string */
    char *body;           /* NUL-terminated */
    size_t body_len;
    char **header_names;
    char **header_values;
    size_t header_count;
    int64_t received_ms;  /* CLOCK_MONOTONIC ms when its headers arrived */
    int client_port;      /* equal ports on two requests: one reused connection */
} sxt_request;

/* Starts a server on a free loopback port; NULL on failure. */
sxt_httpd *sxt_httpd_start(void);

/* The same over TLS with the given PEM certificate and key; NULL on failure
 * (also when libmicrohttpd was built without TLS). */
sxt_httpd *sxt_httpd_start_tls(const char *cert_pem, const char *key_pem);

/* "http://127.0.0.1:PORT" (or https), valid until stop. */
const char *sxt_httpd_url(const sxt_httpd *d);

/* Queues one reply for path (copied). */
void sxt_httpd_push(sxt_httpd *d, const char *path, const sxt_reply *reply);

/* Queues a plain reply: status and body. */
void sxt_httpd_push_status(sxt_httpd *d, const char *path, int status, const char *body);

/* The reply for path when its queue is empty (copied; replaces the last one). */
void sxt_httpd_set_default(sxt_httpd *d, const char *path, const sxt_reply *reply);

/* Requests received so far for path (NULL: any path). */
size_t sxt_httpd_count(sxt_httpd *d, const char *path);

/* Waits until at least n requests for path (NULL: any) have arrived; 0 when
 * they did, -1 after timeout_ms. A request counts once its body has arrived,
 * before its reply's delay. */
int sxt_httpd_wait_count(sxt_httpd *d, const char *path, size_t n, int timeout_ms);

/* The i-th request (0-based, in arrival order) for path (NULL: any), or NULL.
 * Valid until stop. */
const sxt_request *sxt_httpd_request(sxt_httpd *d, const char *path, size_t i);

/* A header of a recorded request (name case-insensitive), or NULL. */
const char *sxt_request_header(const sxt_request *r, const char *name);

/* Stops the server (pending delays end at once) and frees everything. */
void sxt_httpd_stop(sxt_httpd *d);

#endif
