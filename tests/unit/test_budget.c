#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <criterion/criterion.h>

#include "budget.h"
#include "deadline.h"

SXT_DEADLINE(30)
SXT_DEADLINE(60)

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Polls cond-free state the tests cannot wait on otherwise; gives up after
 * ten seconds so a broken budget fails the test instead of hanging it. */
static int wait_for_waiters(sx_budget *b, size_t n)
{
    for (int i = 0; i < 1000; i++) {
        if (sx_budget_waiters(b) >= n)
            return 0;
        sleep_ms(10);
    }
    return -1;
}

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Asserts no window of window_ms (both ends included) holds more than limit
 * of the n send times. */
static void assert_windows_hold_at_most(int64_t *sent, size_t n, uint32_t limit,
                                        int64_t window_ms)
{
    qsort(sent, n, sizeof *sent, compare_i64);
    for (size_t i = 0; i + limit < n; i++)
        cr_assert_gt(sent[i + limit] - sent[i], window_ms,
                     "sends %zu and %zu are %lld ms apart: %u+1 sends within %lld ms", i,
                     i + limit, (long long)(sent[i + limit] - sent[i]), limit,
                     (long long)window_ms);
}

typedef struct burst {
    sx_budget *budget;
    int count;
    int64_t *sent;   /* count slots */
    int failed;
} burst;

static void *acquire_burst(void *p)
{
    burst *bu = p;
    for (int i = 0; i < bu->count; i++)
        if (sx_budget_acquire_stamped(bu->budget, NULL, &bu->sent[i]) != 0)
            bu->failed = 1;
    return NULL;
}

Test(budget, never_more_than_limit_sends_in_any_window, .init = sxt_deadline_60s)
{
    enum { THREADS = 4, EACH = 6, LIMIT = 5 };
    const int64_t window = 150;
    sx_budget *b = sx_budget_new(LIMIT, window, 0);
    int64_t sent[THREADS * EACH];
    burst bursts[THREADS];
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++) {
        bursts[t] = (burst){.budget = b, .count = EACH, .sent = &sent[t * EACH]};
        pthread_create(&threads[t], NULL, acquire_burst, &bursts[t]);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        cr_assert_eq(bursts[t].failed, 0);
    }
    assert_windows_hold_at_most(sent, THREADS * EACH, LIMIT, window);

    sx_budget_stats st;
    sx_budget_stats_get(b, &st);
    cr_assert_eq(st.requests, THREADS * EACH);
    cr_assert_gt(st.waits, 0, "24 sends through a limit of 5 must have waited");
    cr_assert_gt(st.waited_ms, 0);
    sx_budget_free(b);
}

Test(budget, margin_widens_the_window)
{
    const int64_t window = 60, margin = 90;
    sx_budget *b = sx_budget_new(2, window, margin);
    int64_t sent[6];
    for (int i = 0; i < 6; i++)
        cr_assert_eq(sx_budget_acquire_stamped(b, NULL, &sent[i]), 0);
    assert_windows_hold_at_most(sent, 6, 2, window + margin);
    sx_budget_free(b);
}

Test(budget, first_limit_sends_do_not_wait)
{
    sx_budget *b = sx_budget_new(10, 60000, 1000);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(sx_budget_acquire(b, NULL), 0);
    sx_budget_stats st;
    sx_budget_stats_get(b, &st);
    cr_assert_eq(st.requests, 10);
    cr_assert_eq(st.waits, 0);
    sx_budget_free(b);
}

Test(budget, unlimited_budget_never_waits)
{
    sx_budget *b = sx_budget_new(0, 1000, 0);
    for (int i = 0; i < 5000; i++)
        cr_assert_eq(sx_budget_acquire(b, NULL), 0);
    sx_budget_stats st;
    sx_budget_stats_get(b, &st);
    cr_assert_eq(st.requests, 5000);
    cr_assert_eq(st.waits, 0);
    sx_budget_free(b);
}

typedef struct stamped {
    sx_budget *budget;
    const volatile int *cancel;
    int rc;
    int64_t sent;
} stamped;

static void *acquire_one(void *p)
{
    stamped *s = p;
    s->rc = sx_budget_acquire_stamped(s->budget, s->cancel, &s->sent);
    return NULL;
}

Test(budget, block_for_holds_back_every_acquirer, .init = sxt_deadline_30s)
{
    sx_budget *b = sx_budget_new(100, 1000, 0);
    int64_t before = sx_budget_now_ms();
    sx_budget_block_for(b, 300);
    stamped s[3];
    pthread_t threads[3];
    for (int i = 0; i < 3; i++) {
        s[i] = (stamped){.budget = b};
        pthread_create(&threads[i], NULL, acquire_one, &s[i]);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(threads[i], NULL);
        cr_assert_eq(s[i].rc, 0);
        cr_assert_geq(s[i].sent - before, 300, "thread %d went %lld ms after a 300 ms block", i,
                      (long long)(s[i].sent - before));
    }
    sx_budget_stats st;
    sx_budget_stats_get(b, &st);
    cr_assert_eq(st.server_blocks, 1);
    cr_assert_eq(st.waits, 3);
    sx_budget_free(b);
}

Test(budget, block_for_reaches_threads_already_waiting, .init = sxt_deadline_30s)
{
    /* One slot per 200 ms: the second acquirer waits for the window, and a
     * block arriving meanwhile must push it further out. */
    sx_budget *b = sx_budget_new(1, 200, 0);
    int64_t first;
    cr_assert_eq(sx_budget_acquire_stamped(b, NULL, &first), 0);
    stamped s = {.budget = b};
    pthread_t t;
    pthread_create(&t, NULL, acquire_one, &s);
    cr_assert_eq(wait_for_waiters(b, 1), 0);
    int64_t blocked_at = sx_budget_now_ms();
    sx_budget_block_for(b, 500);
    pthread_join(t, NULL);
    cr_assert_eq(s.rc, 0);
    cr_assert_geq(s.sent - blocked_at, 500);
    sx_budget_free(b);
}

Test(budget, shorter_block_never_cuts_a_longer_one_short)
{
    sx_budget *b = sx_budget_new(0, 0, 0);
    int64_t before = sx_budget_now_ms();
    sx_budget_block_for(b, 400);
    sx_budget_block_for(b, 10);
    int64_t sent;
    cr_assert_eq(sx_budget_acquire_stamped(b, NULL, &sent), 0);
    cr_assert_geq(sent - before, 400);
    sx_budget_free(b);
}

Test(budget, cancel_ends_a_wait, .init = sxt_deadline_30s)
{
    sx_budget *b = sx_budget_new(1, 3600 * 1000, 0);
    cr_assert_eq(sx_budget_acquire(b, NULL), 0);
    volatile int cancel = 0;
    stamped s = {.budget = b, .cancel = &cancel};
    pthread_t t;
    pthread_create(&t, NULL, acquire_one, &s);
    cr_assert_eq(wait_for_waiters(b, 1), 0);
    cancel = 1; /* no wake-up call: the waiter must notice by itself */
    pthread_join(t, NULL);
    cr_assert_eq(s.rc, -1);
    cr_assert_eq(sx_budget_waiters(b), 0);
    sx_budget_stats st;
    sx_budget_stats_get(b, &st);
    cr_assert_eq(st.requests, 1, "a cancelled acquire must not count as a send");
    sx_budget_free(b);
}

Test(budget, cancelled_waiter_leaves_the_queue_to_the_next, .init = sxt_deadline_30s)
{
    sx_budget *b = sx_budget_new(1, 1000, 0);
    int64_t first;
    cr_assert_eq(sx_budget_acquire_stamped(b, NULL, &first), 0);
    volatile int cancel_a = 0;
    stamped a = {.budget = b, .cancel = &cancel_a};
    stamped next = {.budget = b};
    pthread_t ta, tn;
    pthread_create(&ta, NULL, acquire_one, &a);
    cr_assert_eq(wait_for_waiters(b, 1), 0);
    pthread_create(&tn, NULL, acquire_one, &next);
    cr_assert_eq(wait_for_waiters(b, 2), 0);
    cancel_a = 1;
    pthread_join(ta, NULL);
    pthread_join(tn, NULL);
    cr_assert_eq(a.rc, -1);
    cr_assert_eq(next.rc, 0);
    cr_assert_gt(next.sent - first, 1000);
    sx_budget_free(b);
}

Test(budget, waiters_are_served_in_arrival_order, .init = sxt_deadline_30s)
{
    /* The window is long enough for every waiter to queue up before the
     * first is served. */
    enum { N = 3 };
    sx_budget *b = sx_budget_new(1, 1000, 0);
    cr_assert_eq(sx_budget_acquire(b, NULL), 0);
    stamped s[N];
    pthread_t threads[N];
    for (int i = 0; i < N; i++) {
        s[i] = (stamped){.budget = b};
        pthread_create(&threads[i], NULL, acquire_one, &s[i]);
        cr_assert_eq(wait_for_waiters(b, (size_t)i + 1), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(threads[i], NULL);
        cr_assert_eq(s[i].rc, 0);
    }
    for (int i = 1; i < N; i++)
        cr_assert_gt(s[i].sent, s[i - 1].sent, "waiter %d was served before waiter %d", i,
                     i - 1);
    sx_budget_free(b);
}
