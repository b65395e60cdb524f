#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "queue.h"

struct sx_queue {
    pthread_mutex_t lock;
    pthread_cond_t not_full;
    pthread_cond_t not_empty;
    unsigned char *items;
    size_t item_size;
    size_t capacity;
    size_t head;     /* next item to pop */
    size_t count;
    size_t weight;   /* of the queued items */
    size_t max_weight;
    size_t (*weight_of)(const void *item);
    int closed;
};

static size_t weight_of(const sx_queue *q, const void *item)
{
    return q->weight_of != NULL ? q->weight_of(item) : 0;
}

/* Whether an item of weight w must wait for room. */
static int full_for(const sx_queue *q, size_t w)
{
    if (q->count == q->capacity)
        return 1;
    return w > 0 && q->weight > 0 && q->max_weight - q->weight < w;
}

void sx_queue_set_weight(sx_queue *q, size_t max_weight, size_t (*fn)(const void *item))
{
    pthread_mutex_lock(&q->lock);
    q->max_weight = max_weight;
    q->weight_of = fn;
    pthread_mutex_unlock(&q->lock);
}

size_t sx_queue_weight(sx_queue *q)
{
    pthread_mutex_lock(&q->lock);
    size_t w = q->weight;
    pthread_mutex_unlock(&q->lock);
    return w;
}

sx_queue *sx_queue_new(size_t capacity, size_t item_size)
{
    if (capacity == 0 || item_size == 0)
        return NULL;
    sx_queue *q = calloc(1, sizeof *q);
    if (q == NULL)
        return NULL;
    q->items = calloc(capacity, item_size);
    if (q->items == NULL) {
        free(q);
        return NULL;
    }
    q->capacity = capacity;
    q->item_size = item_size;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->not_full, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    return q;
}

int sx_queue_push(sx_queue *q, const void *item)
{
    size_t pushed;
    return sx_queue_push_many(q, item, 1, &pushed);
}

int sx_queue_push_many(sx_queue *q, const void *items, size_t n, size_t *pushed)
{
    const unsigned char *src = items;
    size_t done = 0;
    pthread_mutex_lock(&q->lock);
    while (done < n && !q->closed) {
        const void *item = src + done * q->item_size;
        size_t w = weight_of(q, item);
        if (full_for(q, w)) {
            /* wake the consumer for what is in, then wait for room */
            pthread_cond_signal(&q->not_empty);
            while (full_for(q, w) && !q->closed)
                pthread_cond_wait(&q->not_full, &q->lock);
            continue;
        }
        size_t tail = (q->head + q->count) % q->capacity;
        memcpy(q->items + tail * q->item_size, item, q->item_size);
        q->count++;
        q->weight += w;
        done++;
    }
    if (done > 0)
        pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
    if (pushed)
        *pushed = done;
    return done == n ? 0 : -1;
}

int sx_queue_pop(sx_queue *q, void *item, int timeout_ms)
{
    int n = sx_queue_pop_many(q, item, 1, timeout_ms);
    return n == 1 ? 0 : n == 0 ? 1 : -1;
}

int sx_queue_pop_many(sx_queue *q, void *items, size_t max, int timeout_ms)
{
    struct timespec deadline;
    if (timeout_ms >= 0) {
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&q->lock);
    while (q->count == 0 && !q->closed) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&q->not_empty, &q->lock);
        } else if (pthread_cond_timedwait(&q->not_empty, &q->lock, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&q->lock);
            return 0;
        }
    }
    if (q->count == 0) {
        pthread_mutex_unlock(&q->lock);
        return -1;
    }
    unsigned char *dst = items;
    size_t n = q->count < max ? q->count : max;
    for (size_t i = 0; i < n; i++) {
        const void *item = q->items + q->head * q->item_size;
        q->weight -= weight_of(q, item);
        memcpy(dst + i * q->item_size, item, q->item_size);
        q->head = (q->head + 1) % q->capacity;
    }
    q->count -= n;
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->lock);
    return (int)n;
}

void sx_queue_close(sx_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->not_full);
    pthread_cond_broadcast(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
}

size_t sx_queue_length(sx_queue *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->count;
    pthread_mutex_unlock(&q->lock);
    return n;
}

void sx_queue_free(sx_queue *q)
{
    if (q == NULL)
        return;
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->not_full);
    pthread_cond_destroy(&q->not_empty);
    free(q->items);
    free(q);
}
