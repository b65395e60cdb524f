/*
 * buf.h: one growing byte buffer that answers are written into.
 *
 * Pages of ten thousand contacts are several megabytes of JSON; writing them
 * into one buffer that doubles when full keeps page generation free of
 * per-field allocations. An allocation failure sets `failed` and turns every
 * later write into a no-op, so writers check once at the end.
 */
#ifndef EMU_BUF_H
#define EMU_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct emu_buf {
    char *data;   /* room for a NUL is always kept; emu_buf_take writes it */
    size_t len;
    size_t cap;
    int failed;   /* an allocation failed; contents are incomplete */
} emu_buf;

/* Makes room for extra more bytes (plus a NUL); 0 on success, -1 on failure. */
int emu_buf_reserve(emu_buf *b, size_t extra);

/* Appends n raw bytes. */
static inline void emu_buf_put(emu_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap && emu_buf_reserve(b, n) != 0)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

/* Appends a NUL-terminated string as raw bytes. */
static inline void emu_buf_puts(emu_buf *b, const char *s)
{
    emu_buf_put(b, s, strlen(s));
}

/* Appends one raw byte. */
static inline void emu_buf_putc(emu_buf *b, char c)
{
    emu_buf_put(b, &c, 1);
}

/* Appends s (n bytes of UTF-8) as a quoted JSON string, escaping quotes,
 * backslashes and control characters. */
void emu_buf_json_str(emu_buf *b, const char *s, size_t n);

/* Appends the decimal digits of v (no quotes). */
void emu_buf_u64(emu_buf *b, uint64_t v);

/* Appends printf output. */
void emu_buf_printf(emu_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Hands the bytes over to the caller (who frees them), NUL-terminated, and
 * empties b. */
char *emu_buf_take(emu_buf *b, size_t *len);

/* Frees the bytes and empties b. */
void emu_buf_free(emu_buf *b);

#endif
