#include <pthread.h>
#include <stdint.h>

#include <criterion/criterion.h>

#include "queue.h"

typedef struct item {
    int producer;
    int seq;
} item;

typedef struct producer_arg {
    sx_queue *q;
    int id;
    int count;
} producer_arg;

static void *produce(void *p)
{
    producer_arg *a = p;
    for (int i = 0; i < a->count; i++) {
        item it = {a->id, i};
        cr_assert_eq(sx_queue_push(a->q, &it), 0);
    }
    return NULL;
}

Test(queue, keeps_each_producers_order_through_a_small_bound)
{
    enum { PRODUCERS = 4, COUNT = 20000 };
    sx_queue *q = sx_queue_new(8, sizeof(item));
    pthread_t th[PRODUCERS];
    producer_arg args[PRODUCERS];
    for (int p = 0; p < PRODUCERS; p++) {
        args[p] = (producer_arg){q, p, COUNT};
        pthread_create(&th[p], NULL, produce, &args[p]);
    }
    int next[PRODUCERS] = {0};
    for (int n = 0; n < PRODUCERS * COUNT; n++) {
        item it;
        cr_assert_eq(sx_queue_pop(q, &it, -1), 0);
        cr_assert_eq(it.seq, next[it.producer], "producer %d: got %d, expected %d", it.producer,
                     it.seq, next[it.producer]);
        next[it.producer]++;
        cr_assert_leq(sx_queue_length(q), 8);
    }
    for (int p = 0; p < PRODUCERS; p++)
        pthread_join(th[p], NULL);
    sx_queue_free(q);
}

Test(queue, pop_times_out_when_nothing_arrives)
{
    sx_queue *q = sx_queue_new(2, sizeof(int));
    int v;
    cr_assert_eq(sx_queue_pop(q, &v, 10), 1);
    sx_queue_free(q);
}

static void *push_into_full(void *p)
{
    int v = 3;
    return (void *)(intptr_t)sx_queue_push(p, &v);
}

Test(queue, close_releases_a_blocked_producer_and_drains_what_is_left)
{
    sx_queue *q = sx_queue_new(1, sizeof(int));
    int v = 1;
    cr_assert_eq(sx_queue_push(q, &v), 0);
    pthread_t th;
    pthread_create(&th, NULL, push_into_full, q);
    sx_queue_close(q);
    void *ret;
    pthread_join(th, &ret);
    cr_assert_eq((intptr_t)ret, -1, "a push into a closed queue must fail");
    int out = 0;
    cr_assert_eq(sx_queue_pop(q, &out, -1), 0);
    cr_assert_eq(out, 1);
    cr_assert_eq(sx_queue_pop(q, &out, -1), -1);
    sx_queue_free(q);
}

typedef struct weighed {
    size_t bytes;
    int seq;
} weighed;

static size_t weight_of_weighed(const void *it)
{
    return ((const weighed *)it)->bytes;
}

typedef struct weighed_arg {
    sx_queue *q;
    int count;
} weighed_arg;

static void *produce_weighed(void *p)
{
    weighed_arg *a = p;
    for (int i = 0; i < a->count; i++) {
        weighed w = {(size_t)(i % 7 == 0 ? 5000 : 100 + i % 300), i};
        cr_assert_eq(sx_queue_push_many(a->q, &w, 1, NULL), 0);
    }
    return NULL;
}

Test(queue, a_weight_bound_keeps_large_items_few)
{
    enum { COUNT = 20000, MAX = 10000 };
    sx_queue *q = sx_queue_new(1024, sizeof(weighed));
    sx_queue_set_weight(q, MAX, weight_of_weighed);
    weighed_arg arg = {q, COUNT};
    pthread_t th;
    pthread_create(&th, NULL, produce_weighed, &arg);
    int next = 0;
    while (next < COUNT) {
        weighed batch[16];
        /* never more than the bound, except one heavy item alone */
        size_t w = sx_queue_weight(q);
        cr_assert(w <= MAX, "the queue holds %zu bytes", w);
        int n = sx_queue_pop_many(q, batch, 16, -1);
        cr_assert_gt(n, 0);
        for (int i = 0; i < n; i++)
            cr_assert_eq(batch[i].seq, next++);
    }
    pthread_join(th, NULL);
    cr_assert_eq(sx_queue_weight(q), 0);
    sx_queue_free(q);
}

Test(queue, an_item_heavier_than_the_bound_still_goes_in_alone)
{
    sx_queue *q = sx_queue_new(8, sizeof(weighed));
    sx_queue_set_weight(q, 100, weight_of_weighed);
    weighed big = {1000, 1}, small = {10, 2};
    cr_assert_eq(sx_queue_push(q, &big), 0);
    cr_assert_eq(sx_queue_weight(q), 1000);
    weighed out;
    cr_assert_eq(sx_queue_pop(q, &out, 0), 0);
    cr_assert_eq(out.seq, 1);
    cr_assert_eq(sx_queue_push(q, &small), 0);
    cr_assert_eq(sx_queue_push(q, &small), 0);
    cr_assert_eq(sx_queue_weight(q), 20);
    sx_queue_close(q);
    sx_queue_free(q);
}
