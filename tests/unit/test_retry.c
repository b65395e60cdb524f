#include <stdint.h>

#include <criterion/criterion.h>

#include "retry.h"

Test(retry, default_policy_is_six_attempts_from_half_a_second_up_to_thirty)
{
    sx_retry_policy p = sx_retry_default();
    cr_assert_eq(p.max_attempts, 6);
    cr_assert_eq(p.base_ms, 500);
    cr_assert_eq(p.max_ms, 30000);
}

Test(retry, each_wait_lies_between_half_and_all_of_the_doubled_base)
{
    sx_retry_policy p = {.max_attempts = 10, .base_ms = 100, .max_ms = 1000000};
    for (uint64_t seed = 1; seed <= 200; seed++) {
        uint64_t rng = seed;
        for (uint32_t retry = 1; retry <= 8; retry++) {
            int64_t d = 100LL << (retry - 1);
            int64_t w = sx_retry_backoff_ms(&p, retry, &rng);
            cr_assert(w >= d / 2 && w <= d, "retry %u waited %lld ms, outside [%lld, %lld]",
                      retry, (long long)w, (long long)(d / 2), (long long)d);
        }
    }
}

Test(retry, cap_bounds_every_wait_however_many_retries)
{
    sx_retry_policy p = {.max_attempts = 100, .base_ms = 500, .max_ms = 30000};
    uint64_t rng = 42;
    for (uint32_t retry = 7; retry < 200; retry++) {
        int64_t w = sx_retry_backoff_ms(&p, retry, &rng);
        cr_assert(w >= 15000 && w <= 30000, "retry %u waited %lld ms", retry, (long long)w);
    }
    int64_t last = sx_retry_backoff_ms(&p, UINT32_MAX, &rng);
    cr_assert(last >= 15000 && last <= 30000, "retry 2^32-1 waited %lld ms", (long long)last);
}

Test(retry, same_seed_gives_the_same_waits)
{
    sx_retry_policy p = sx_retry_default();
    uint64_t a = 7, b = 7;
    for (uint32_t retry = 1; retry <= 6; retry++)
        cr_assert_eq(sx_retry_backoff_ms(&p, retry, &a), sx_retry_backoff_ms(&p, retry, &b));
}

Test(retry, different_seeds_spread_the_waits)
{
    /* Jitter exists to keep clients from retrying in step: over many seeds
     * the first wait must take many values, low and high. */
    sx_retry_policy p = {.max_attempts = 6, .base_ms = 1000, .max_ms = 30000};
    int64_t lo = INT64_MAX, hi = 0;
    int distinct = 0;
    int64_t seen[64];
    for (uint64_t seed = 1; seed <= 64; seed++) {
        uint64_t rng = seed * 0x9E3779B97F4A7C15ull;
        int64_t w = sx_retry_backoff_ms(&p, 1, &rng);
        int is_new = 1;
        for (int k = 0; k < distinct; k++)
            is_new &= seen[k] != w;
        if (is_new)
            seen[distinct++] = w;
        lo = w < lo ? w : lo;
        hi = w > hi ? w : hi;
    }
    cr_assert_gt(distinct, 32, "only %d distinct first waits over 64 seeds", distinct);
    cr_assert_lt(lo, 650);
    cr_assert_gt(hi, 850);
}

Test(retry, a_zero_seed_still_jitters)
{
    sx_retry_policy p = {.max_attempts = 6, .base_ms = 1000, .max_ms = 1000};
    uint64_t rng = 0;
    int64_t first = sx_retry_backoff_ms(&p, 1, &rng);
    int differs = 0;
    for (int i = 0; i < 20; i++)
        differs |= sx_retry_backoff_ms(&p, 1, &rng) != first;
    cr_assert(differs, "a zero seed must not freeze the generator");
    cr_assert_neq(rng, 0);
}

Test(retry, never_retries_immediately)
{
    sx_retry_policy p = {.max_attempts = 6, .base_ms = 2, .max_ms = 10};
    uint64_t rng = 99;
    for (int i = 0; i < 1000; i++)
        cr_assert_geq(sx_retry_backoff_ms(&p, 1, &rng), 1);
}

Test(retry, may_retry_counts_the_first_attempt)
{
    sx_retry_policy p = {.max_attempts = 3, .base_ms = 1, .max_ms = 1};
    cr_assert(sx_retry_may_retry(&p, 1));
    cr_assert(sx_retry_may_retry(&p, 2));
    cr_assert_not(sx_retry_may_retry(&p, 3));
    cr_assert_not(sx_retry_may_retry(&p, 4));
    sx_retry_policy once = {.max_attempts = 0};
    cr_assert_not(sx_retry_may_retry(&once, 1), "max_attempts 0 means one attempt");
}

Test(retry, cap_below_base_keeps_the_base)
{
    sx_retry_policy p = {.max_attempts = 3, .base_ms = 400, .max_ms = 0};
    uint64_t rng = 5;
    for (uint32_t retry = 1; retry < 5; retry++) {
        int64_t w = sx_retry_backoff_ms(&p, retry, &rng);
        cr_assert(w >= 200 && w <= 400, "retry %u waited %lld", retry, (long long)w);
    }
}
