/*
 * sink_buf.h: a growable byte buffer, the sinks' one way to build text (SQL,
 * CSV lines, COPY rows, JSON lines). It always keeps a NUL after the data, so
 * its text can go to APIs that want C strings.
 */
#ifndef SINK_BUF_H
#define SINK_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct sink_buf {
    char *data;     /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
    int failed;     /* an allocation failed: the content is incomplete */
} sink_buf;

/* Appends n bytes. Returns 0, or -1 when memory ran out (failed is set). */
int sink_buf_add(sink_buf *b, const void *data, size_t n);

/* Appends a C string. */
int sink_buf_puts(sink_buf *b, const char *s);

/* Appends one byte. */
int sink_buf_putc(sink_buf *b, char c);

/* Appends printf-style text. */
int sink_buf_printf(sink_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Makes room for n more bytes; returns where they go (the caller then adds n
 * to len itself), or NULL when memory ran out. */
char *sink_buf_reserve(sink_buf *b, size_t n);

/* Forgets the content but keeps the memory for reuse. */
void sink_buf_reset(sink_buf *b);

/* The text, "" for an empty buffer (never NULL). */
const char *sink_buf_str(const sink_buf *b);

/* Releases the memory. */
void sink_buf_free(sink_buf *b);

#endif
