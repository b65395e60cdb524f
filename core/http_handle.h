/*
 * http_handle.h: libcurl handles for the HTTP service (private to http*.c).
 *
 * One source owns one sx_http_share: a CURLSH holding the DNS cache and the
 * TLS session cache, with the locks that let threads use it at once. Each
 * thread keeps its own easy handle per share in a thread-local list (an easy
 * handle must never be used by two threads at once); the handle's own
 * connection pool keeps its connections alive between requests. The pool is
 * deliberately not shared: libcurl's shared connection cache is documented
 * as unsafe across concurrent threads. The share is reference-counted: every
 * easy handle holds a reference, so a service freed on one thread never
 * pulls the cache out from under a handle another thread still holds.
 */
#ifndef SX_HTTP_HANDLE_H
#define SX_HTTP_HANDLE_H

#include <curl/curl.h>

typedef struct sx_http_share sx_http_share;

/* A new share with DNS and TLS session caches; NULL on failure. */
sx_http_share *sx_http_share_new(void);

/* The calling thread's easy handle for share, created on first use and
 * attached to the share. Callers curl_easy_reset() it before each request
 * (a reset keeps its live connections and the share). NULL when out of
 * memory. */
CURL *sx_http_share_handle(sx_http_share *share);

/* The owner is done with share: frees the calling thread's handle, marks the
 * share closed so other threads drop theirs at their next request or exit,
 * and releases the owner's reference. NULL is a no-op. */
void sx_http_share_close(sx_http_share *share);

#endif
