/*
 * text_block.h: the memory of records that travel as text.
 *
 * One malloc per record would cost more than the rest of the text path, so a
 * worker copies the texts it emits one after the other into a block, and
 * every queued record holds a reference to its block. The writer drops each
 * reference once the sink has the record; the last one frees the block.
 * References are atomic because a run that stops drops records on both
 * sides (workers drop what they could not queue, the writer what it will not
 * write).
 */
#ifndef SX_TEXT_BLOCK_H
#define SX_TEXT_BLOCK_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct sx_text_block {
    atomic_size_t refs;
    size_t cap;
    size_t used;
    char data[];
} sx_text_block;

/* Blocks hold this much unless one record needs more. */
#define SX_TEXT_BLOCK_SIZE (64 * 1024)

/* A block with room for at least n bytes and one reference (its filler's);
 * NULL when out of memory. */
sx_text_block *sx_text_block_new(size_t n);

/* Room for n bytes at the end of b, or NULL when b lacks it. Only the
 * block's filler calls it. */
char *sx_text_block_take(sx_text_block *b, size_t n);

/* Gives back the unused end of the last take (it used fewer bytes). */
void sx_text_block_give_back(sx_text_block *b, size_t n);

void sx_text_block_ref(sx_text_block *b);

/* Drops a reference; the last one frees the block. NULL is a no-op. */
void sx_text_block_unref(sx_text_block *b);

#endif
