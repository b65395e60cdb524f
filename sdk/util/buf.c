/*
 * buf.c: the growing byte buffer of libsiphon-util (siphon-json.h).
 */
#include <stdlib.h>
#include <string.h>

#include <siphon/siphon-json.h>

int siphon_buf_reserve(siphon_buf *b, size_t more)
{
    if (b->cap > b->len && b->cap - b->len > more)
        return 0;
    if (more > (size_t)-1 / 2 - b->len)
        return -1;
    size_t need = b->len + more + 1;
    /* Doubling keeps appends amortised O(1); 256 avoids a run of tiny
     * reallocations for the first short lines. */
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < need)
        ncap *= 2;
    char *grown = realloc(b->data, ncap);
    if (grown == NULL)
        return -1;
    b->data = grown;
    b->cap = ncap;
    return 0;
}

int siphon_buf_append(siphon_buf *b, const void *data, size_t n)
{
    if (siphon_buf_reserve(b, n) != 0)
        return -1;
    if (n > 0)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

void siphon_buf_free(siphon_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
