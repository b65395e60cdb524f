/*
 * retry.h: the retry policy for transport faults.
 *
 * Exponential backoff with jitter: attempt n (1-based, the n-th retry) waits
 * a random time in [d/2, d] where d = min(max_ms, base_ms * 2^(n-1)), so
 * concurrent clients spread out without ever retrying immediately. Waits the
 * server imposes (retry-after) are not jittered: they are exact floors,
 * handled by the budget.
 */
#ifndef SX_RETRY_H
#define SX_RETRY_H

#include <stdint.h>

typedef struct sx_retry_policy {
    uint32_t max_attempts;  /* total attempts including the first (>= 1) */
    int64_t base_ms;        /* the first backoff's upper bound */
    int64_t max_ms;         /* cap of a single backoff (never below base_ms) */
} sx_retry_policy;

/* The default: 6 attempts, 500 ms base, 30 s cap. */
sx_retry_policy sx_retry_default(void);

/* The wait before retry number `retry` (1 = the first retry; 0 counts as 1).
 * rng is the caller's state for a xorshift generator: the same seed gives the
 * same waits (0 is replaced by a fixed seed; NULL uses a fixed seed each call). */
int64_t sx_retry_backoff_ms(const sx_retry_policy *p, uint32_t retry, uint64_t *rng);

/* Whether another attempt is allowed after `attempts` attempts (a
 * max_attempts of 0 counts as 1). */
int sx_retry_may_retry(const sx_retry_policy *p, uint32_t attempts);

#endif
