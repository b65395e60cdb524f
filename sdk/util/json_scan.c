/*
 * json_scan.c: the one-pass validating scanner of JSON objects
 * (siphon_json_object_scan in siphon-json.h). Strings are the bulk of a
 * record, so their ends are looked for 16 bytes at a time (see scan_string);
 * everything else is a small state machine with an explicit stack of closing
 * brackets (no recursion).
 */
#include <locale.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <siphon/siphon-json.h>

#include "json_object.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define MAX_DEPTH 2048

typedef struct scan {
    const unsigned char *b;
    size_t len;
    size_t pos;
    int compact;
    siphon_json_object *rt;
} scan;

/* Records why the scan failed at byte at (in the caller's numbering: plus
 * origin) and returns -1. */
__attribute__((format(printf, 4, 5)))
static int fail_as(scan *s, int status, size_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    siphon_json_vrefuse(s->rt, status, at, fmt, ap);
    va_end(ap);
    s->pos = at;
    return -1;
}

#define fail(s, at, ...) fail_as(s, SIPHON_JSON_MALFORMED, at, __VA_ARGS__)

/* The failure for the byte at pos: the end of the text or a wrong byte. */
static int unexpected(scan *s, const char *expected)
{
    if (s->pos >= s->len)
        return fail(s, s->pos, "unexpected end of input (expected %s)", expected);
    unsigned char c = s->b[s->pos];
    if (c >= 0x20 && c < 0x7f)
        return fail(s, s->pos, "unexpected '%c' (expected %s)", c, expected);
    return fail(s, s->pos, "unexpected byte 0x%02x (expected %s)", c, expected);
}

static inline int is_ws(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

/* Skips whitespace; any whitespace between tokens makes the text non-compact. */
static inline void skip_ws(scan *s)
{
    if (s->pos < s->len && is_ws(s->b[s->pos])) {
        s->compact = 0;
        do
            s->pos++;
        while (s->pos < s->len && is_ws(s->b[s->pos]));
    }
}

/* --- strings --- */

/* 0: copy as is; 1: '"'; 2: '\\'; 3: a control character; 4: a UTF-8 lead
 * byte or an invalid byte. */
#define C3 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3
#define C0 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
#define C4 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4
static const unsigned char string_class[256] = {
    C3, C3,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20: '"' */
    C0, C0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, /* 0x50: '\\' */
    C0, C0,
    C4, C4, C4, C4, C4, C4, C4, C4,
};

static int hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* One \u escape (and its low half when it is a high surrogate) at pos;
 * moves past it. */
static int scan_unicode_escape(scan *s, int key)
{
    size_t at = s->pos;
    unsigned cp, lo;
    if (s->len - s->pos < 6 || hex4(s->b + s->pos + 2, &cp) != 0)
        return fail(s, at, "invalid \\u escape");
    s->pos += 6;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return fail(s, at, "lone low surrogate \\u%04X", cp);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (s->len - s->pos < 6 || s->b[s->pos] != '\\' || s->b[s->pos + 1] != 'u' ||
            hex4(s->b + s->pos + 2, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
            return fail(s, at, "high surrogate \\u%04X without its low half", cp);
        s->pos += 6;
    }
    if (cp == 0 && key) {
        s->pos = at;
        return fail_as(s, SIPHON_JSON_UNSUPPORTED, at, "escaped NUL in an object key");
    }
    return 0;
}

/* A string at pos (its opening quote); moves past the closing quote and says
 * whether it held an escape. Its bytes are looked at 16 at a time: one
 * compare finds the first quote, backslash, control character or byte of
 * 0x80 and above, so a plain key or value (most are shorter than 16 bytes)
 * costs one load and a count of trailing zeros. Near the end of the text,
 * where 16 bytes would read past it, one byte at a time. */
__attribute__((always_inline)) static inline int scan_string(scan *s, int key, int *escaped)
{
    const unsigned char *b = s->b;
    size_t i = s->pos + 1, len = s->len;
    int esc = 0;
    for (;;) {
#if defined(__SSE2__)
        if (i + 16 <= len) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + i));
            unsigned quote = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')));
            /* signed: bytes of 0x80 and above are negative, so below 0x20 too */
            unsigned stop = quote | (unsigned)_mm_movemask_epi8(_mm_or_si128(
                                        _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')),
                                        _mm_cmplt_epi8(x, _mm_set1_epi8(0x20))));
            if (stop == 0) {
                i += 16;
                continue;
            }
            i += (size_t)__builtin_ctz(stop);
            /* the common case, told by the masks alone: the closing quote */
            if (quote & stop & (0 - stop)) {
                s->pos = i + 1;
                *escaped = esc;
                return 0;
            }
        } else
#endif
        {
            if (i >= len) {
                s->pos = len;
                return fail(s, len, "unexpected end of input (inside a string)");
            }
            if (string_class[b[i]] == 0) {
                i++;
                continue;
            }
        }
        switch (string_class[b[i]]) {
        case 1:
            s->pos = i + 1;
            *escaped = esc;
            return 0;
        case 2:
            esc = 1;
            if (i + 1 >= len) {
                s->pos = i + 1;
                return fail(s, i + 1, "unexpected end of input (inside an escape)");
            }
            switch (b[i + 1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                i += 2;
                break;
            case 'u':
                s->pos = i;
                if (scan_unicode_escape(s, key) != 0)
                    return -1;
                i = s->pos;
                break;
            default:
                s->pos = i;
                return fail(s, i, "invalid escape");
            }
            break;
        case 3:
            s->pos = i;
            return fail(s, i, "control character 0x%02x inside a string", b[i]);
        default: {
            /* two-byte sequences (Latin accents) are most of what a record
             * holds beyond ASCII: judged here, the rest by the library */
            if (b[i] >= 0xC2 && b[i] <= 0xDF && i + 1 < len && (b[i + 1] & 0xC0) == 0x80) {
                i += 2;
                break;
            }
            size_t k = siphon_utf8_sequence(b + i, len - i);
            if (k == 0) {
                s->pos = i;
                return fail(s, i, "invalid UTF-8");
            }
            i += k;
        }
        }
    }
}

/* --- numbers and literals --- */

/* Whether an integer's digits (no sign) fit jansson's json_int_t. */
static int int_fits(const unsigned char *digits, size_t n, int negative)
{
    static const char max_pos[] = "9223372036854775807";
    static const char max_neg[] = "9223372036854775808";
    if (n < 19)
        return 1;
    if (n > 19)
        return 0;
    return memcmp(digits, negative ? max_neg : max_pos, 19) <= 0;
}

/* Whether a real overflows a double, as jansson's strtod check finds: the
 * decimal exponent decides all but a thin band, which strtod settles in the
 * C locale. */
static int real_overflows(const unsigned char *text, size_t n, size_t int_start, size_t int_end,
                          size_t frac_start, size_t frac_end, long long exp10)
{
    long long magnitude;
    size_t i = int_start;
    while (i < int_end && text[i] == '0')
        i++;
    if (i < int_end) {
        magnitude = (long long)(int_end - i) - 1;
    } else {
        size_t k = frac_start;
        while (k < frac_end && text[k] == '0')
            k++;
        if (k >= frac_end)
            return 0;
        magnitude = -(long long)(k - frac_start) - 1;
    }
    long long e = magnitude + exp10;
    if (e < 308)
        return 0;
    if (e > 308)
        return 1;
    char small[512];
    char *copy = n < sizeof small ? small : malloc(n + 1);
    if (copy == NULL)
        return 1;
    memcpy(copy, text, n);
    copy[n] = '\0';
    locale_t c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    double v = c_locale ? strtod_l(copy, NULL, c_locale) : strtod(copy, NULL);
    if (c_locale)
        freelocale(c_locale);
    if (copy != small)
        free(copy);
    return v > 1.7976931348623157e308 || v < -1.7976931348623157e308;
}

static inline int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int scan_number(scan *s)
{
    const unsigned char *b = s->b;
    size_t i = s->pos, begin = s->pos, len = s->len;
    int negative = 0;
    if (b[i] == '-') {
        negative = 1;
        i++;
    }
    size_t int_start = i;
    if (i < len && b[i] == '0') {
        i++;
    } else if (i < len && b[i] >= '1' && b[i] <= '9') {
        while (i < len && is_digit(b[i]))
            i++;
    } else {
        s->pos = i;
        return unexpected(s, "a digit");
    }
    size_t int_end = i, frac_start = i, frac_end = i;
    int is_real = 0;
    if (i < len && b[i] == '.') {
        frac_start = ++i;
        if (i >= len || !is_digit(b[i])) {
            s->pos = i;
            return unexpected(s, "a digit after '.'");
        }
        while (i < len && is_digit(b[i]))
            i++;
        frac_end = i;
        is_real = 1;
    }
    long long exp10 = 0;
    if (i < len && (b[i] == 'e' || b[i] == 'E')) {
        i++;
        int eneg = 0;
        if (i < len && (b[i] == '+' || b[i] == '-'))
            eneg = b[i++] == '-';
        if (i >= len || !is_digit(b[i])) {
            s->pos = i;
            return unexpected(s, "a digit in the exponent");
        }
        while (i < len && is_digit(b[i])) {
            if (exp10 < 100000000)
                exp10 = exp10 * 10 + (b[i] - '0');
            i++;
        }
        if (eneg)
            exp10 = -exp10;
        is_real = 1;
    }
    /* jansson reads a number as one token: a letter glued to it is an error */
    if (i < len && ((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= 'A' && b[i] <= 'Z') ||
                    b[i] == '.' || b[i] == '+' || b[i] == '-' || is_digit(b[i]))) {
        s->pos = i;
        return unexpected(s, "a delimiter after a number");
    }
    if (!is_real && !int_fits(b + int_start, int_end - int_start, negative)) {
        s->pos = begin;
        return fail_as(s, SIPHON_JSON_UNSUPPORTED, begin, "integer does not fit 64 bits");
    }
    if (is_real && real_overflows(b + begin, i - begin, int_start - begin, int_end - begin,
                                  frac_start - begin, frac_end - begin, exp10)) {
        s->pos = begin;
        return fail_as(s, SIPHON_JSON_UNSUPPORTED, begin, "number overflows a double");
    }
    s->pos = i;
    return 0;
}

static int scan_literal(scan *s, const char *word, size_t n)
{
    if (s->len - s->pos < n)
        return unexpected(s, "a value");
    for (size_t i = 1; i < n; i++) /* the first letter chose the word */
        if (s->b[s->pos + i] != (unsigned char)word[i])
            return unexpected(s, "a value");
    s->pos += n;
    if (s->pos < s->len) {
        unsigned char c = s->b[s->pos];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c))
            return unexpected(s, "a delimiter after a literal");
    }
    return 0;
}

/* --- values --- */

/* A scalar at pos; *kind tells which. */
__attribute__((always_inline)) static inline int scan_scalar(scan *s, int *kind, int *escaped)
{
    *escaped = 0;
    switch (s->b[s->pos]) {
    case '"':
        *kind = SIPHON_JSON_STRING;
        return scan_string(s, 0, escaped);
    case 't':
        *kind = SIPHON_JSON_TRUE;
        return scan_literal(s, "true", 4);
    case 'f':
        *kind = SIPHON_JSON_FALSE;
        return scan_literal(s, "false", 5);
    case 'n':
        *kind = SIPHON_JSON_NULL;
        return scan_literal(s, "null", 4);
    default:
        if (s->b[s->pos] == '-' || is_digit(s->b[s->pos])) {
            *kind = SIPHON_JSON_NUMBER;
            return scan_number(s);
        }
        return unexpected(s, "a value");
    }
}

/* The ':' after a key, and the whitespace around it. */
static int scan_colon(scan *s)
{
    skip_ws(s);
    if (s->pos >= s->len || s->b[s->pos] != ':')
        return unexpected(s, "':'");
    s->pos++;
    skip_ws(s);
    return 0;
}

/* An object key and its colon. */
static int scan_key(scan *s, int *escaped)
{
    skip_ws(s);
    if (s->pos >= s->len || s->b[s->pos] != '"')
        return unexpected(s, "a key");
    if (scan_string(s, 1, escaped) != 0)
        return -1;
    return scan_colon(s);
}

/* A whole container at pos (its opening bracket), nested ones included,
 * without recursion: one byte of stack per open level. depth is the level
 * of the container itself. */
static int scan_container(scan *s, size_t depth)
{
    unsigned char closers[MAX_DEPTH + 1];
    size_t top = 0;
    int escaped;
    for (;;) {
        /* at a value */
        unsigned char c = s->b[s->pos];
        if (c == '{' || c == '[') {
            if (depth + top > MAX_DEPTH)
                return fail_as(s, SIPHON_JSON_UNSUPPORTED, s->pos, "nesting deeper than %d levels",
                               MAX_DEPTH);
            unsigned char close = c == '{' ? '}' : ']';
            s->pos++;
            skip_ws(s);
            if (s->pos < s->len && s->b[s->pos] == close) {
                s->pos++;
            } else {
                closers[top++] = close;
                if (close == '}' && scan_key(s, &escaped) != 0)
                    return -1;
                if (s->pos >= s->len)
                    return unexpected(s, "a value");
                continue;
            }
        } else {
            int kind = 0;
            if (scan_scalar(s, &kind, &escaped) != 0)
                return -1;
        }
        /* a value ended: close containers or go on to the next element */
        for (;;) {
            if (top == 0)
                return 0;
            skip_ws(s);
            if (s->pos >= s->len)
                return unexpected(s, closers[top - 1] == '}' ? "',' or '}'" : "',' or ']'");
            c = s->b[s->pos];
            if (c == ',') {
                s->pos++;
                if (closers[top - 1] == '}') {
                    if (scan_key(s, &escaped) != 0)
                        return -1;
                } else {
                    skip_ws(s);
                }
                if (s->pos >= s->len)
                    return unexpected(s, "a value");
                break;
            }
            if (c == closers[top - 1]) {
                s->pos++;
                top--;
                continue;
            }
            return unexpected(s, closers[top - 1] == '}' ? "',' or '}'" : "',' or ']'");
        }
    }
}

int siphon_json_object_scan(siphon_json_object *rt, const char *text, size_t len, int whole)
{
    scan s = {(const unsigned char *)text, len, 0, 1, rt};
    rt->n_members = 0;
    rt->status = SIPHON_JSON_OK;
    rt->error_offset = 0;
    rt->error[0] = '\0';
    while (s.pos < len && is_ws(s.b[s.pos]))
        s.pos++;
    rt->start = s.pos;
    if (s.pos >= len || s.b[s.pos] != '{')
        return unexpected(&s, "'{' (a JSON object)");
    s.pos++;
    skip_ws(&s);
    if (s.pos < len && s.b[s.pos] == '}') {
        s.pos++;
    } else {
        for (;;) {
            siphon_json_member *m = siphon_json_new_member(rt);
            if (m == NULL)
                return fail_as(&s, SIPHON_JSON_NOMEM, s.pos, "out of memory");
            int escaped = 0;
            if (s.pos >= len || s.b[s.pos] != '"')
                return unexpected(&s, "a key");
            m->key_off = s.pos + 1;
            if (scan_string(&s, 1, &escaped) != 0)
                return -1;
            m->key_escaped = (unsigned char)escaped;
            m->key_len = s.pos - 1 - m->key_off;
            if (scan_colon(&s) != 0)
                return -1;
            if (s.pos >= len)
                return unexpected(&s, "a value");
            m->val_off = s.pos;
            unsigned char c = s.b[s.pos];
            if (c == '{' || c == '[') {
                m->kind = c == '{' ? SIPHON_JSON_OBJECT : SIPHON_JSON_ARRAY;
                m->val_escaped = 0;
                if (scan_container(&s, 2) != 0)
                    return -1;
            } else {
                int kind = 0;
                if (scan_scalar(&s, &kind, &escaped) != 0)
                    return -1;
                m->kind = (unsigned char)kind;
                m->val_escaped = (unsigned char)escaped;
            }
            m->val_len = s.pos - m->val_off;
            skip_ws(&s);
            if (s.pos < len && s.b[s.pos] == ',') {
                s.pos++;
                skip_ws(&s);
                continue;
            }
            if (s.pos < len && s.b[s.pos] == '}') {
                s.pos++;
                break;
            }
            return unexpected(&s, "',' or '}'");
        }
    }
    rt->end = s.pos;
    rt->compact = s.compact;
    if (!whole)
        return 0;
    while (s.pos < len && is_ws(s.b[s.pos]))
        s.pos++;
    if (s.pos != len)
        return unexpected(&s, "the end of the text (one JSON object only)");
    return 0;
}

size_t siphon_json_object_compact(const siphon_json_object *rt, const char *text, char *out)
{
    size_t o = 0;
    const unsigned char *b = (const unsigned char *)text;
    for (size_t i = rt->start; i < rt->end;) {
        unsigned char c = b[i];
        if (is_ws(c)) {
            i++;
            continue;
        }
        if (c != '"') {
            out[o++] = (char)c;
            i++;
            continue;
        }
        /* a string, copied whole: only its closing quote matters (and the
         * end of the object, for text that was not checked after all) */
        size_t j = i + 1;
        while (j < rt->end && b[j] != '"')
            j += b[j] == '\\' ? 2 : 1;
        size_t stop = j < rt->end ? j + 1 : rt->end;
        memcpy(out + o, b + i, stop - i);
        o += stop - i;
        i = stop;
    }
    return o;
}

void siphon_json_object_free(siphon_json_object *rt)
{
    free(rt->members);
    rt->members = NULL;
    rt->n_members = rt->cap_members = 0;
}
