/*
 * json_split.c: the top-level members of an object text already checked
 * (siphon_json_object_split in siphon-json.h).
 *
 * A record a plugin checked with siphon_json_object_scan need not be checked
 * again by the host; the host only needs its members. So this walk looks at
 * structure alone: strings are skipped to their closing quote (a backslash
 * and the byte after it are stepped over together), containers to their
 * matching bracket, numbers and literals to the next delimiter. Nothing in a
 * string or a number is judged. What it does judge, it judges safely: it
 * never reads outside the text, and text whose brackets, quotes, colons or
 * commas are out of place is refused, so a plugin that broke its promise
 * gets an error rather than a crash.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <siphon/siphon-json.h>

#include "json_object.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

__attribute__((format(printf, 3, 4)))
static int refuse(siphon_json_object *o, size_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    siphon_json_vrefuse(o, SIPHON_JSON_MALFORMED, at, fmt, ap);
    va_end(ap);
    return -1;
}

static inline int is_ws(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

/* The closing quote of the string whose first byte after the opening quote
 * is at i, or len when the text ends first; *escaped is set when the string
 * holds a backslash. */
static inline size_t string_end(const unsigned char *b, size_t i, size_t len, int *escaped)
{
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    while (i + 16 <= len) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + i));
        unsigned stop = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)));
        if (stop == 0) {
            i += 16;
            continue;
        }
        i += (size_t)__builtin_ctz(stop);
        if (b[i] == '"')
            return i;
        *escaped = 1;
        i += 2; /* the escaped byte; \u's hex digits are plain bytes */
    }
#endif
    while (i < len) {
        if (b[i] == '"')
            return i;
        if (b[i] == '\\') {
            *escaped = 1;
            i += 2;
            continue;
        }
        i++;
    }
    return len;
}

/* What a byte means inside a container: 1 a quote, 2 an opening bracket,
 * 3 a closing one, 4 whitespace, 0 anything else. */
static const unsigned char container_class[256] = {
    ['"'] = 1, ['{'] = 2, ['['] = 2, ['}'] = 3, [']'] = 3,
    [' '] = 4, ['\n'] = 4, ['\t'] = 4, ['\r'] = 4,
};

/* One past the bracket that closes the container opening at i, or 0 when
 * the text ends first. Whitespace outside strings clears *compact. */
static size_t container_end(const unsigned char *b, size_t i, size_t len, int *compact)
{
    size_t depth = 0;
    int escaped;
    for (; i < len; i++) {
        switch (container_class[b[i]]) {
        case 1:
            i = string_end(b, i + 1, len, &escaped);
            if (i >= len)
                return 0;
            break;
        case 2:
            depth++;
            break;
        case 3:
            if (--depth == 0)
                return i + 1;
            break;
        case 4:
            *compact = 0;
            break;
        }
    }
    return 0;
}

/* One past a number or literal starting at i: its bytes run to the next
 * delimiter. */
static size_t scalar_end(const unsigned char *b, size_t i, size_t len)
{
    while (i < len && b[i] != ',' && b[i] != '}' && b[i] != ']' && !is_ws(b[i]))
        i++;
    return i;
}

/* Skips whitespace from i; any makes the text non-compact. */
static inline size_t skip_ws(const unsigned char *b, size_t i, size_t len, int *compact)
{
    while (i < len && is_ws(b[i])) {
        *compact = 0;
        i++;
    }
    return i;
}

/* The value at i of member m: its kind, its end, and for a string whether
 * it holds an escape. Returns one past it, or 0 when the text is broken. */
static size_t split_value(siphon_json_object *o, const unsigned char *b, size_t i, size_t len,
                          siphon_json_member *m, int *compact)
{
    int escaped = 0;
    size_t end;
    m->val_escaped = 0;
    switch (b[i]) {
    case '"':
        m->kind = SIPHON_JSON_STRING;
        end = string_end(b, i + 1, len, &escaped);
        if (end >= len) {
            refuse(o, i, "unterminated string");
            return 0;
        }
        m->val_escaped = (unsigned char)escaped;
        return end + 1;
    case '{':
    case '[':
        m->kind = b[i] == '{' ? SIPHON_JSON_OBJECT : SIPHON_JSON_ARRAY;
        end = container_end(b, i, len, compact);
        if (end == 0)
            refuse(o, i, "unclosed %s", b[i] == '{' ? "object" : "array");
        return end;
    case 't':
        m->kind = SIPHON_JSON_TRUE;
        break;
    case 'f':
        m->kind = SIPHON_JSON_FALSE;
        break;
    case 'n':
        m->kind = SIPHON_JSON_NULL;
        break;
    default:
        if (b[i] != '-' && (b[i] < '0' || b[i] > '9')) {
            refuse(o, i, "no value where one was expected");
            return 0;
        }
        m->kind = SIPHON_JSON_NUMBER;
    }
    return scalar_end(b, i, len);
}

int siphon_json_object_split(siphon_json_object *o, const char *text, size_t len)
{
    const unsigned char *b = (const unsigned char *)text;
    int compact = 1;
    o->n_members = 0;
    o->status = SIPHON_JSON_OK;
    o->error_offset = 0;
    o->error[0] = '\0';
    size_t i = 0;
    while (i < len && is_ws(b[i]))
        i++;
    o->start = i;
    if (i >= len || b[i] != '{')
        return refuse(o, i, "not a JSON object");
    i = skip_ws(b, i + 1, len, &compact);
    if (i < len && b[i] == '}') {
        i++;
    } else {
        for (;;) {
            if (i >= len || b[i] != '"')
                return refuse(o, i, "no key where one was expected");
            siphon_json_member *m = siphon_json_new_member(o);
            if (m == NULL) {
                refuse(o, i, "out of memory");
                o->status = SIPHON_JSON_NOMEM;
                return -1;
            }
            int escaped = 0;
            m->key_off = i + 1;
            size_t end = string_end(b, i + 1, len, &escaped);
            if (end >= len)
                return refuse(o, i, "unterminated key");
            m->key_len = end - m->key_off;
            m->key_escaped = (unsigned char)escaped;
            i = skip_ws(b, end + 1, len, &compact);
            if (i >= len || b[i] != ':')
                return refuse(o, i, "no ':' after a key");
            i = skip_ws(b, i + 1, len, &compact);
            if (i >= len)
                return refuse(o, i, "no value where one was expected");
            m->val_off = i;
            end = split_value(o, b, i, len, m, &compact);
            if (end == 0)
                return -1;
            m->val_len = end - i;
            i = skip_ws(b, end, len, &compact);
            if (i < len && b[i] == ',') {
                i = skip_ws(b, i + 1, len, &compact);
                continue;
            }
            if (i < len && b[i] == '}') {
                i++;
                break;
            }
            return refuse(o, i, "no ',' or '}' after a value");
        }
    }
    o->end = i;
    o->compact = compact;
    while (i < len && is_ws(b[i]))
        i++;
    if (i != len)
        return refuse(o, i, "more text after the object");
    return 0;
}
