#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink_buf.h"

char *sink_buf_reserve(sink_buf *b, size_t n)
{
    if (b->failed)
        return NULL;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *data = realloc(b->data, cap);
        if (data == NULL) {
            b->failed = 1;
            return NULL;
        }
        b->data = data;
        b->cap = cap;
    }
    return b->data + b->len;
}

int sink_buf_add(sink_buf *b, const void *data, size_t n)
{
    char *at = sink_buf_reserve(b, n);
    if (at == NULL)
        return -1;
    if (n > 0)
        memcpy(at, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int sink_buf_puts(sink_buf *b, const char *s)
{
    return sink_buf_add(b, s, strlen(s));
}

int sink_buf_putc(sink_buf *b, char c)
{
    return sink_buf_add(b, &c, 1);
}

int sink_buf_printf(sink_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return -1;
    }
    if ((size_t)n < sizeof small)
        return sink_buf_add(b, small, (size_t)n);
    char *at = sink_buf_reserve(b, (size_t)n);
    if (at == NULL)
        return -1;
    va_start(ap, fmt);
    vsnprintf(at, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void sink_buf_reset(sink_buf *b)
{
    b->len = 0;
    b->failed = 0;
    if (b->data)
        b->data[0] = '\0';
}

const char *sink_buf_str(const sink_buf *b)
{
    return b->data ? b->data : "";
}

void sink_buf_free(sink_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}
