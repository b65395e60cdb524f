#include <stddef.h>

#include "retry.h"

sx_retry_policy sx_retry_default(void)
{
    return (sx_retry_policy){.max_attempts = 6, .base_ms = 500, .max_ms = 30000};
}

/* xorshift64*: tiny, good enough for spreading retries, and reproducible
 * from a seed so tests can pin the exact waits. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;
    if (x == 0)
        x = 0x9E3779B97F4A7C15ull; /* xorshift never leaves 0 */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

int64_t sx_retry_backoff_ms(const sx_retry_policy *p, uint32_t retry, uint64_t *rng)
{
    if (retry == 0)
        retry = 1;
    int64_t d = p->base_ms > 0 ? p->base_ms : 0;
    int64_t cap = p->max_ms > d ? p->max_ms : d;
    /* Double until the cap; stopping early keeps the shift from overflowing
     * whatever the retry number. */
    for (uint32_t i = 1; i < retry && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    int64_t low = d / 2;
    uint64_t span = (uint64_t)(d - low) + 1;
    uint64_t scratch = 0;
    return low + (int64_t)(next_random(rng != NULL ? rng : &scratch) % span);
}

int sx_retry_may_retry(const sx_retry_policy *p, uint32_t attempts)
{
    uint32_t max = p->max_attempts > 0 ? p->max_attempts : 1;
    return attempts < max;
}
