#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "budget.h"

/* How long a waiter sleeps at most before it looks at its cancel flag again. */
#define CANCEL_POLL_MS 100

/*
 * One thread inside sx_budget_acquire. Waiters form a FIFO (an intrusive list
 * of nodes on the waiters' stacks): only the head may take a slot, so a
 * thread that has waited longest goes first. A list rather than a bare ticket
 * counter because a cancelled waiter must be able to leave from the middle of
 * the queue without stalling everyone queued behind its ticket.
 */
typedef struct waiter {
    struct waiter *next;
} waiter;

struct sx_budget {
    pthread_mutex_t lock;
    pthread_cond_t changed;   /* head left, a slot freed up, or a block was set */
    uint32_t limit;
    int64_t window_ms;
    int64_t margin_ms;
    int64_t *sent;            /* ring of the last `limit` send times */
    uint32_t sent_count;      /* how many of them are filled */
    uint32_t oldest;          /* index of the oldest send time */
    int64_t blocked_until;    /* no acquire returns before this */
    waiter *head, *tail;
    sx_budget_stats stats;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

sx_budget *sx_budget_new(uint32_t limit, int64_t window_ms, int64_t margin_ms)
{
    sx_budget *b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    if (limit > 0) {
        b->sent = calloc(limit, sizeof *b->sent);
        if (b->sent == NULL) {
            free(b);
            return NULL;
        }
    }
    b->limit = limit;
    b->window_ms = window_ms > 0 ? window_ms : 0;
    b->margin_ms = margin_ms > 0 ? margin_ms : 0;
    b->blocked_until = 0;

    /* Timed waits use the monotonic clock: a wall-clock jump must neither
     * release a wait early nor stretch it. */
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&b->changed, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&b->lock, NULL);
    return b;
}

/* The earliest time a new request may be sent. Caller holds the lock. */
static int64_t ready_at(const sx_budget *b)
{
    int64_t at = b->blocked_until;
    if (b->limit > 0 && b->sent_count == b->limit) {
        /* The oldest of the last `limit` sends must leave the window (plus
         * margin) strictly before a new one goes, so any window of window_ms
         * holds at most `limit` sends. */
        int64_t free_at = b->sent[b->oldest] + b->window_ms + b->margin_ms + 1;
        if (free_at > at)
            at = free_at;
    }
    return at;
}

static void record_send(sx_budget *b, int64_t t)
{
    if (b->limit == 0)
        return;
    if (b->sent_count < b->limit) {
        b->sent[(b->oldest + b->sent_count) % b->limit] = t;
        b->sent_count++;
    } else {
        b->sent[b->oldest] = t;
        b->oldest = (b->oldest + 1) % b->limit;
    }
}

static void wait_until(sx_budget *b, int64_t deadline_ms)
{
    struct timespec ts = {
        .tv_sec = deadline_ms / 1000,
        .tv_nsec = (long)(deadline_ms % 1000) * 1000000L,
    };
    int rc;
    do {
        rc = pthread_cond_timedwait(&b->changed, &b->lock, &ts);
    } while (rc == EINTR);
}

static void dequeue(sx_budget *b, waiter *w)
{
    waiter **link = &b->head;
    waiter *prev = NULL;
    while (*link != NULL && *link != w) {
        prev = *link;
        link = &(*link)->next;
    }
    if (*link == NULL)
        return;
    *link = w->next;
    if (b->tail == w)
        b->tail = prev;
}

int sx_budget_acquire_stamped(sx_budget *b, const volatile int *cancel, int64_t *sent_ms)
{
    waiter self = {NULL};
    int waited = 0;
    int64_t started = now_ms();

    pthread_mutex_lock(&b->lock);
    if (b->tail != NULL)
        b->tail->next = &self;
    else
        b->head = &self;
    b->tail = &self;

    int64_t t;
    for (;;) {
        if (cancel != NULL && *cancel) {
            dequeue(b, &self);
            pthread_cond_broadcast(&b->changed);
            pthread_mutex_unlock(&b->lock);
            return -1;
        }
        t = now_ms();
        int64_t poll = t + CANCEL_POLL_MS;
        if (b->head == &self) {
            int64_t at = ready_at(b);
            if (t >= at)
                break;
            wait_until(b, at < poll ? at : poll);
        } else {
            wait_until(b, poll);
        }
        waited = 1;
    }

    record_send(b, t);
    dequeue(b, &self);
    b->stats.requests++;
    if (waited) {
        b->stats.waits++;
        b->stats.waited_ms += t - started;
    }
    /* The next in line becomes head: wake it rather than let it sleep out its
     * poll interval. */
    pthread_cond_broadcast(&b->changed);
    pthread_mutex_unlock(&b->lock);
    if (sent_ms != NULL)
        *sent_ms = t;
    return 0;
}

int sx_budget_acquire(sx_budget *b, const volatile int *cancel)
{
    return sx_budget_acquire_stamped(b, cancel, NULL);
}

void sx_budget_block_for(sx_budget *b, int64_t wait_ms)
{
    if (wait_ms < 0)
        wait_ms = 0;
    pthread_mutex_lock(&b->lock);
    /* now_ms() truncates to the millisecond; one more keeps the floor a
     * floor (the server counts in finer time than we do). */
    int64_t until = now_ms() + wait_ms + 1;
    /* Blocks only ever extend: two streams reporting the same limit must not
     * shorten each other's floor. */
    if (until > b->blocked_until)
        b->blocked_until = until;
    b->stats.server_blocks++;
    pthread_cond_broadcast(&b->changed);
    pthread_mutex_unlock(&b->lock);
}

int64_t sx_budget_now_ms(void)
{
    return now_ms();
}

size_t sx_budget_waiters(sx_budget *b)
{
    size_t n = 0;
    pthread_mutex_lock(&b->lock);
    for (const waiter *w = b->head; w != NULL; w = w->next)
        n++;
    pthread_mutex_unlock(&b->lock);
    return n;
}

void sx_budget_stats_get(sx_budget *b, sx_budget_stats *out)
{
    pthread_mutex_lock(&b->lock);
    *out = b->stats;
    pthread_mutex_unlock(&b->lock);
}

void sx_budget_free(sx_budget *b)
{
    if (b == NULL)
        return;
    pthread_cond_destroy(&b->changed);
    pthread_mutex_destroy(&b->lock);
    free(b->sent);
    free(b);
}
