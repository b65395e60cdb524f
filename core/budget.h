/*
 * budget.h: the request budget of one source, shared by all its streams.
 *
 * The API counts requests in a sliding window (Dinamize: 60 per 60 s per
 * account, /auth included). A token bucket would let 2 x limit through in one
 * window (a full bucket, then a refill), so the budget keeps the send times of
 * the last `limit` requests and lets a new one go only when the oldest of them
 * is more than window + margin old. The margin absorbs the difference between
 * when we send and when the server counts (network jitter). A server's
 * retry-after blocks every stream of the source until it has passed.
 */
#ifndef SX_BUDGET_H
#define SX_BUDGET_H

#include <stddef.h>
#include <stdint.h>

typedef struct sx_budget sx_budget;

typedef struct sx_budget_stats {
    uint64_t requests;        /* acquisitions granted */
    uint64_t waits;           /* acquisitions that had to wait */
    int64_t waited_ms;        /* total time spent waiting */
    uint64_t server_blocks;   /* sx_budget_block_for calls */
} sx_budget_stats;

/* limit 0 means unlimited (only server blocks apply). window_ms and
 * margin_ms are in milliseconds. Returns NULL when out of memory. Waiting
 * acquirers are served in arrival order. */
sx_budget *sx_budget_new(uint32_t limit, int64_t window_ms, int64_t margin_ms);

/*
 * Blocks until a request may be sent and records it as sent now. Returns 0,
 * or -1 when *cancel becomes non-zero while waiting (checked at least every
 * 100 ms). cancel may be NULL.
 */
int sx_budget_acquire(sx_budget *b, const volatile int *cancel);

/* sx_budget_acquire that also reports the send time it recorded (in the
 * sx_budget_now_ms clock) through sent_ms (may be NULL): the instant the
 * window guarantee is about, for callers and tests that audit it. */
int sx_budget_acquire_stamped(sx_budget *b, const volatile int *cancel, int64_t *sent_ms);

/* The clock the budget measures with: monotonic milliseconds. */
int64_t sx_budget_now_ms(void);

/* The server asked for a pause: no acquire returns before now + wait_ms.
 * Blocks only extend; a shorter one never cuts a longer one short. Waiting
 * acquirers notice at once. */
void sx_budget_block_for(sx_budget *b, int64_t wait_ms);

/* How many threads are waiting inside acquire right now (for tests and the
 * progress line: "waiting for the rate limit"). */
size_t sx_budget_waiters(sx_budget *b);

/* A consistent copy of the counters. */
void sx_budget_stats_get(sx_budget *b, sx_budget_stats *out);

/* Frees the budget; no thread may be inside acquire. NULL is a no-op. */
void sx_budget_free(sx_budget *b);

#endif
