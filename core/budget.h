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

#include <stdint.h>

typedef struct sx_budget sx_budget;

typedef struct sx_budget_stats {
    uint64_t requests;        /* acquisitions granted */
    uint64_t waits;           /* acquisitions that had to wait */
    int64_t waited_ms;        /* total time spent waiting */
    uint64_t server_blocks;   /* sx_budget_block_for calls */
} sx_budget_stats;

/* limit 0 means unlimited. window_ms and margin_ms are in milliseconds. */
sx_budget *sx_budget_new(uint32_t limit, int64_t window_ms, int64_t margin_ms);

/*
 * Blocks until a request may be sent and records it as sent now. Returns 0,
 * or -1 when *cancel becomes non-zero while waiting (checked at least every
 * 100 ms). cancel may be NULL.
 */
int sx_budget_acquire(sx_budget *b, const volatile int *cancel);

/* The server asked for a pause: no acquire returns before now + wait_ms. */
void sx_budget_block_for(sx_budget *b, int64_t wait_ms);

void sx_budget_stats_get(sx_budget *b, sx_budget_stats *out);

void sx_budget_free(sx_budget *b);

#endif
