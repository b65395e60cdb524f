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
 * A stream that hands records to the host as text (emit_raw) can check them
 * first, and find their members, with siphon_json_object_scan: the scanner
 * the host itself applies to every text record, many times faster than a
 * parse into a tree. A stream that did can hand the members it found along
 * with the text (emit_raw_checked), and the host skips its own scan.
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
#include <string.h>

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

/* --- checking JSON text --- */

/* The kind of a top-level member's value (siphon_json_member.kind). */
enum {
    SIPHON_JSON_OBJECT = 1,
    SIPHON_JSON_ARRAY,
    SIPHON_JSON_STRING,
    SIPHON_JSON_NUMBER,
    SIPHON_JSON_TRUE,
    SIPHON_JSON_FALSE,
    SIPHON_JSON_NULL
};

/* How a scan failed (siphon_json_object.status). */
enum {
    SIPHON_JSON_OK = 0,
    SIPHON_JSON_MALFORMED = 1,   /* not JSON, or cut short */
    SIPHON_JSON_UNSUPPORTED = 2, /* valid JSON jansson cannot hold: an integer beyond 64
                                    bits, a real beyond a double, an escaped NUL in a key,
                                    nesting deeper than 2048 levels */
    SIPHON_JSON_NOMEM = 3
};

/* One top-level member of a scanned object, as offsets into the text. A
 * plugin hands a table of these to the host (emit_raw_checked), so this
 * layout is part of plugin ABI 1 from 1.1 on and never changes. */
typedef struct siphon_json_member {
    size_t key_off, key_len;   /* the key's bytes between its quotes, as written */
    size_t val_off, val_len;   /* the value's text (a string's with its quotes) */
    unsigned char key_escaped; /* the key holds a backslash escape */
    unsigned char kind;        /* SIPHON_JSON_OBJECT ... SIPHON_JSON_NULL */
    unsigned char val_escaped; /* a string value holds a backslash escape */
} siphon_json_member;

/*
 * What siphon_json_object_scan found. Zero-initialise one and reuse it for
 * many texts: the member table (cap_members long) only grows.
 */
typedef struct siphon_json_object {
    siphon_json_member *members;
    size_t n_members;
    size_t start, end;     /* the object's text, from '{' to one past '}' */
    int compact;           /* no whitespace between the object's tokens */
    int status;            /* SIPHON_JSON_OK or why the scan failed */
    size_t error_offset;   /* where it failed (from the start of text) */
    char error[160];       /* what was wrong there, "... at byte N" */
    /* Set by the caller: added to the byte offsets in error, for a text that
     * sits inside a larger document (0 otherwise). */
    size_t origin;
    size_t cap_members;
} siphon_json_object;

/*
 * Checks one JSON object at the start of text[0..len) (after optional
 * whitespace) in one pass, with jansson 2.14's rules where they are stricter
 * than RFC 8259: no control characters in strings, no lone surrogates, valid
 * UTF-8, no escaped NUL in keys, integers within 64 bits, reals within a
 * double, at most 2048 levels, no letter glued to a number or literal. It
 * notes each top-level member (key, value and kind) on the way, without
 * allocating anything per value. With whole non-zero the text must be that
 * object alone (whitespace around it allowed); with whole zero the scan stops
 * after the object's '}' (o->end). Returns 0 when the object is one jansson
 * would parse with JSON_ALLOW_NUL, -1 otherwise (o->status, o->error).
 */
int siphon_json_object_scan(siphon_json_object *o, const char *text, size_t len, int whole);

/* Copies the object siphon_json_object_scan accepted to out without the
 * whitespace between tokens (strings untouched); returns the length written,
 * at most o->end - o->start. Never reads outside text[o->start..o->end),
 * even when the text was not what a scan accepted. */
size_t siphon_json_object_compact(const siphon_json_object *o, const char *text, char *out);

/*
 * The top-level members of text[0..len), one JSON object (whitespace around
 * it allowed) that siphon_json_object_scan has already accepted, found
 * without checking strings and numbers again: faster than the scan, with
 * the same results in o. For text handed over by code that promises it was
 * checked (emit_raw_checked without a member table). On text that breaks
 * the promise it still never reads outside text[0..len), and returns -1
 * (with o->status and o->error) when brackets, quotes, colons or commas are
 * out of place; what is inside strings and numbers it does not judge.
 */
int siphon_json_object_split(siphon_json_object *o, const char *text, size_t len);

/* Releases the member table. */
void siphon_json_object_free(siphon_json_object *o);

/* --- comparing keys --- */

/* Whether a and b hold the same n bytes: for matching member names while
 * scanning records. Keys are short, and a libc call per key costs more than
 * the comparison: up to 16 bytes take two overlapping 8-byte (or 4-byte)
 * loads from each side, never reading past n. */
static inline int siphon_same_bytes(const char *a, const char *b, size_t n)
{
    uint64_t x, y, u, v;
    if (n >= 8 && n <= 16) {
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        memcpy(&u, a + n - 8, 8);
        memcpy(&v, b + n - 8, 8);
        return ((x ^ y) | (u ^ v)) == 0;
    }
    if (n >= 4 && n < 8) {
        uint32_t x4, y4, u4, v4;
        memcpy(&x4, a, 4);
        memcpy(&y4, b, 4);
        memcpy(&u4, a + n - 4, 4);
        memcpy(&v4, b + n - 4, 4);
        return ((x4 ^ y4) | (u4 ^ v4)) == 0;
    }
    if (n < 4) {
        for (size_t i = 0; i < n; i++)
            if (a[i] != b[i])
                return 0;
        return 1;
    }
    return memcmp(a, b, n) == 0;
}

/* --- naming a member --- */

/*
 * The member of JSON text whose value holds byte offset (as a scan or
 * jansson reports an error's position), as a path such as
 * "body.items[2].name" ("" at the top level), written into out (cap bytes,
 * cut short rather than overrun). Tracks only brackets, strings and commas,
 * so it works on the malformed text an error was found in. Keys are quoted
 * as printable UTF-8: control bytes become spaces, bytes that are not UTF-8
 * '?'.
 */
void siphon_json_path_at(const char *text, size_t len, size_t offset, char *out, size_t cap);

/* --- UTF-8 --- */

/*
 * The length (2 to 4) of the valid UTF-8 sequence at p, whose first byte is
 * 0x80 or above, reading at most avail bytes; 0 when the bytes are not UTF-8:
 * overlong forms, surrogates and code points above U+10FFFF are refused, as
 * jansson refuses them.
 */
size_t siphon_utf8_sequence(const unsigned char *p, size_t avail);

/* Non-zero when the n bytes at text are valid UTF-8 (NUL bytes included). */
int siphon_utf8_valid(const char *text, size_t n);

/* --- time stamps --- */

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
