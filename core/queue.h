/*
 * queue.h: a bounded multi-producer, single-consumer queue of fixed-size items.
 *
 * Stream workers push records, the sink writer pops them. The bound is the
 * back-pressure that keeps memory flat whatever the data size: a producer
 * that finds the queue full waits for the writer. Order is FIFO over all
 * producers, so everything one producer pushed before a checkpoint reaches
 * the writer before that checkpoint.
 */
#ifndef SX_QUEUE_H
#define SX_QUEUE_H

#include <stddef.h>

typedef struct sx_queue sx_queue;

/* capacity items of item_size bytes each. */
sx_queue *sx_queue_new(size_t capacity, size_t item_size);

/*
 * Bounds the queue by weight too (the bytes of record text it holds), so a
 * queue of large records stays as small as one of small records: a push
 * waits while the queue holds something and the item would take the total
 * past max_weight. weight_of gives an item's weight (0 for items that do not
 * count). An item heavier than max_weight goes in alone. Call it before the
 * first push.
 */
void sx_queue_set_weight(sx_queue *q, size_t max_weight, size_t (*weight_of)(const void *item));

/* The total weight of the queued items. */
size_t sx_queue_weight(sx_queue *q);

/* Copies item in, waiting while the queue is full. Returns 0, or -1 when the
 * queue was closed (the item was not queued). */
int sx_queue_push(sx_queue *q, const void *item);

/* Copies n items in, in order, waiting for room as needed: one lock and one
 * wake-up for many items, which is what keeps the per-record cost low.
 * Returns 0, or -1 when the queue was closed (the items not yet in are not
 * queued; *pushed says how many were). */
int sx_queue_push_many(sx_queue *q, const void *items, size_t n, size_t *pushed);

/* Copies up to max of the oldest items out, waiting like sx_queue_pop.
 * Returns how many (>= 1), 0 on timeout, or -1 when closed and empty. */
int sx_queue_pop_many(sx_queue *q, void *items, size_t max, int timeout_ms);

/* Copies the oldest item out, waiting while the queue is empty. Returns 0, or
 * -1 when the queue is closed and empty. timeout_ms < 0 waits forever;
 * otherwise returns 1 when nothing arrived in time. */
int sx_queue_pop(sx_queue *q, void *item, int timeout_ms);

/* Closes the queue: pushes fail from now on, pops drain what is left. */
void sx_queue_close(sx_queue *q);

size_t sx_queue_length(sx_queue *q);

void sx_queue_free(sx_queue *q);

#endif
