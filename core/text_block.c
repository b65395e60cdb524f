#include <stdlib.h>

#include "text_block.h"

sx_text_block *sx_text_block_new(size_t n)
{
    size_t cap = n > SX_TEXT_BLOCK_SIZE ? n : SX_TEXT_BLOCK_SIZE;
    sx_text_block *b = malloc(sizeof *b + cap);
    if (b == NULL)
        return NULL;
    atomic_init(&b->refs, 1);
    b->cap = cap;
    b->used = 0;
    return b;
}

char *sx_text_block_take(sx_text_block *b, size_t n)
{
    if (b == NULL || b->cap - b->used < n)
        return NULL;
    char *at = b->data + b->used;
    b->used += n;
    return at;
}

void sx_text_block_give_back(sx_text_block *b, size_t n)
{
    b->used -= n;
}

void sx_text_block_ref(sx_text_block *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
}

void sx_text_block_unref(sx_text_block *b)
{
    if (b != NULL && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        free(b);
}
