/*
 * http_ahead.h: the helper threads that send requests ahead (private to
 * http*.c; the service itself is sx_http_start in http.h).
 *
 * A service owns one pool. Helpers are created when no idle one is left and
 * live as long as the service, each with its own easy handle, so the
 * connection a stream's pages travel on stays alive from page to page. There
 * are never more helpers than requests once pending at the same time: one
 * per stream being read, at most.
 */
#ifndef SX_HTTP_AHEAD_H
#define SX_HTTP_AHEAD_H

typedef struct sx_ahead_pool sx_ahead_pool;

/* An empty pool (no thread yet); NULL when out of memory. */
sx_ahead_pool *sx_ahead_pool_new(void);

/* Stops and joins every helper; no started request may be left unfinished.
 * NULL is a no-op. */
void sx_ahead_pool_free(sx_ahead_pool *pool);

/* The pool of a service (defined in http.c, which owns the struct). */
struct sx_http;
sx_ahead_pool *sx_http_ahead_pool(struct sx_http *h);

#endif
