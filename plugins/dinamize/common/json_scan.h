/*
 * json_scan.h: a small validating JSON scanner over one buffer.
 *
 * A search page holds up to 10 000 records. Parsing it into one jansson tree
 * would keep the page twice in memory (text and tree); instead the envelope
 * is scanned in place, the items array is located, and each item is parsed
 * on its own. For that to be safe the scanner must accept exactly what
 * jansson accepts: it validates strings (escapes, surrogate pairs, UTF-8,
 * control characters), numbers (grammar, and the ranges jansson refuses:
 * integers beyond 64 bits, reals that overflow a double), literals, nesting
 * and commas. A body it accepts always parses with json_loadb.
 *
 * Nothing is allocated; the scanner only reads the buffer.
 */
#ifndef DZ_JSON_SCAN_H
#define DZ_JSON_SCAN_H

#include <stddef.h>

/* jansson's own limit (JSON_PARSER_MAX_DEPTH): deeper input is refused. */
#define DZ_JSON_MAX_DEPTH 2048

/* The kind of the value a scanner is positioned at. */
typedef enum dz_json_kind {
    DZ_JSON_NONE = 0, /* end of input or a character no value starts with */
    DZ_JSON_OBJECT,
    DZ_JSON_ARRAY,
    DZ_JSON_STRING,
    DZ_JSON_NUMBER,
    DZ_JSON_TRUE,
    DZ_JSON_FALSE,
    DZ_JSON_NULL
} dz_json_kind;

/* How a scan failed. */
typedef enum dz_scan_status {
    DZ_SCAN_OK = 0,
    DZ_SCAN_MALFORMED = 1,  /* not JSON, or cut short: a transport fault */
    DZ_SCAN_UNSUPPORTED = 2 /* valid JSON that jansson cannot hold (a 20-digit integer) */
} dz_scan_status;

typedef struct dz_scanner {
    const char *buf;
    size_t len;
    size_t pos;        /* the next byte to read */
    int status;        /* a dz_scan_status; sticky once set */
    size_t err_offset; /* where the first failure was found */
    char err[128];     /* what was wrong there */
    /* Where strings stop in the 64-byte block at mask_base (json_scan.c):
     * quotes, and bytes that need a closer look. */
    size_t mask_base;
    unsigned long long mask_quote, mask_special;
} dz_scanner;

/* Starts scanning buf[0..len). */
void dz_scan_init(dz_scanner *s, const char *buf, size_t len);

/* Skips JSON whitespace. */
void dz_scan_ws(dz_scanner *s);

/* Skips whitespace and tells which kind of value starts there. */
dz_json_kind dz_scan_peek(dz_scanner *s);

/* The name of a kind, for messages ("an object", "a string"). */
const char *dz_json_kind_name(dz_json_kind kind);

/* Validates one value of any kind and moves past it. Returns 0, or -1 with
 * the failure recorded in the scanner. */
int dz_scan_value(dz_scanner *s);

/*
 * Validates one string and moves past it. When out is not NULL the unescaped
 * text is copied there, truncated to cap - 1 bytes and NUL-terminated (an
 * escaped NUL ends the copy); *full_len (may be NULL) receives the unescaped
 * length, so a caller can tell a truncated copy from an exact one. key
 * non-zero refuses an escaped NUL, as jansson does in object keys.
 */
int dz_scan_string(dz_scanner *s, char *out, size_t cap, size_t *full_len, int key);

/* Validates one number and moves past it; its text is buf[*start..s->pos). */
int dz_scan_number(dz_scanner *s, size_t *start);

/*
 * Containers, without recursion in the caller:
 *
 *     dz_scan_open(s, '{');
 *     size_t n = 0;
 *     while ((r = dz_scan_more(s, '}', &n)) == 1) { key, dz_scan_colon, value }
 *
 * dz_scan_open consumes the opening bracket. dz_scan_more returns 1 when
 * another element follows (the scanner is at it, after any comma; *count
 * counts them), 0 after consuming the closing bracket, -1 on an error.
 */
int dz_scan_open(dz_scanner *s, char open);
int dz_scan_more(dz_scanner *s, char close, size_t *count);
/* Consumes the ':' between a key and its value. */
int dz_scan_colon(dz_scanner *s);

/* Validates that the whole buffer is exactly one value, with optional
 * whitespace around it. */
int dz_scan_document(dz_scanner *s);

/* Records a failure (the first one wins) and returns -1. */
int dz_scan_fail(dz_scanner *s, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
