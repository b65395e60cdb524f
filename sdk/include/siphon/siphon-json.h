/*
 * siphon-json.h: fast output helpers for plugins, from libsiphon-util.a.
 *
 * A sink spends most of its time turning records into text. jansson's
 * json_dump_callback() is general (a callback per fragment, printf for every
 * number) and costs more than everything else a sink does; these helpers
 * write the same bytes into one growing buffer: strings escaped through a
 * table with plain runs copied by memcpy, integers and time stamps without
 * printf. The host uses them too, so a record reads the same whichever side
 * wrote it.
 *
 * The library is static and built position-independent with hidden
 * visibility: `pkg-config --libs siphon-plugin` links it into the plugin,
 * where it adds no exported symbol and no dependency on the host.
 *
 * Nothing here keeps global state; every function is safe from any thread
 * on buffers that thread owns.
 */
#ifndef SIPHON_JSON_H
#define SIPHON_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A growing byte buffer. Zero-initialise it (siphon_buf b = {0}); after the
 * first successful append data is NUL-terminated (the NUL is not counted in
 * len), so its text can go to functions that want C strings. Memory comes
 * from malloc/realloc; release it with siphon_buf_free.
 */
typedef struct siphon_buf {
    char *data;
    size_t len;
    size_t cap;
} siphon_buf;

/* Makes room for more bytes after len (plus the terminator). Returns 0, or -1
 * when memory ran out (the buffer is unchanged). */
int siphon_buf_reserve(siphon_buf *b, size_t more);

/* Appends n bytes. Returns 0, or -1 when memory ran out (nothing appended). */
int siphon_buf_append(siphon_buf *b, const void *data, size_t n);

/* Releases the memory and leaves the buffer empty and reusable. */
void siphon_buf_free(siphon_buf *b);

/*
 * Appends v as compact JSON: byte for byte what
 * json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) produces with jansson 2.14
 * (object members in insertion order, "\u001F"-style escapes for control
 * characters, '/' and non-ASCII characters as they are, reals as "%.17g"
 * with ".0" added when needed). Returns 0, or -1 when memory ran out, a
 * string is not valid UTF-8, or the value nests deeper than 2048 levels (a
 * value that contains itself); on failure b->len is back where it was.
 */
int siphon_json_append(siphon_buf *b, const json_t *v);

/* Appends n bytes of UTF-8 as one quoted JSON string, escaped as
 * siphon_json_append escapes strings. Returns 0, or -1 (invalid UTF-8 or out
 * of memory; b->len is back where it was). */
int siphon_json_append_string(siphon_buf *b, const char *s, size_t n);

/* Appends v in decimal. Returns 0 or -1 (out of memory). */
int siphon_json_append_int(siphon_buf *b, int64_t v);

/* The length of an RFC 3339 time stamp with milliseconds in UTC,
 * "2024-01-02T03:04:05.678Z". */
#define SIPHON_RFC3339_MS_LEN 24

/*
 * Writes ms (milliseconds since the Unix epoch, negative allowed) as
 * "YYYY-MM-DDTHH:MM:SS.mmmZ" plus a NUL into out (at least
 * SIPHON_RFC3339_MS_LEN + 1 bytes) and returns SIPHON_RFC3339_MS_LEN. Times
 * before year 0000 or after 9999 are clamped to those years' ends. The text
 * sorts as time does.
 */
size_t siphon_rfc3339_ms(int64_t ms, char *out);

#ifdef __cplusplus
}
#endif

#endif
