/*
 * json_scan.c: the validating JSON scanner (see json_scan.h).
 *
 * The rules follow jansson 2.x's parser exactly where it is stricter than
 * RFC 8259, because every item the scanner accepts is later parsed by
 * jansson and must not fail there: no control characters in strings, no
 * lone surrogates, no escaped NUL in object keys, integers within 64 bits,
 * reals that do not overflow, at most DZ_JSON_MAX_DEPTH levels.
 */
#include "json_scan.h"

#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <siphon/siphon-json.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

void dz_scan_init(dz_scanner *s, const char *buf, size_t len)
{
    memset(s, 0, sizeof *s);
    s->buf = buf;
    s->len = len;
    s->mask_base = (size_t)-1;
}

int dz_scan_fail(dz_scanner *s, int status, const char *fmt, ...)
{
    if (s->status != DZ_SCAN_OK)
        return -1;
    s->status = status;
    s->err_offset = s->pos;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    return -1;
}

/* The failure for the byte at pos: end of input or an unexpected character. */
static int fail_here(dz_scanner *s, const char *expected)
{
    if (s->pos >= s->len)
        return dz_scan_fail(s, DZ_SCAN_MALFORMED, "unexpected end of input at byte %zu "
                                                  "(expected %s)", s->pos, expected);
    unsigned char c = (unsigned char)s->buf[s->pos];
    if (c >= 0x20 && c < 0x7f)
        return dz_scan_fail(s, DZ_SCAN_MALFORMED, "unexpected '%c' at byte %zu (expected %s)", c,
                            s->pos, expected);
    return dz_scan_fail(s, DZ_SCAN_MALFORMED, "unexpected byte 0x%02x at byte %zu (expected %s)",
                        c, s->pos, expected);
}

void dz_scan_ws(dz_scanner *s)
{
    /* most tokens follow each other directly */
    if (s->pos < s->len && (unsigned char)s->buf[s->pos] > ' ')
        return;
    while (s->pos < s->len) {
        char c = s->buf[s->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        s->pos++;
    }
}

dz_json_kind dz_scan_peek(dz_scanner *s)
{
    dz_scan_ws(s);
    if (s->pos >= s->len)
        return DZ_JSON_NONE;
    switch (s->buf[s->pos]) {
    case '{': return DZ_JSON_OBJECT;
    case '[': return DZ_JSON_ARRAY;
    case '"': return DZ_JSON_STRING;
    case 't': return DZ_JSON_TRUE;
    case 'f': return DZ_JSON_FALSE;
    case 'n': return DZ_JSON_NULL;
    case '-':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        return DZ_JSON_NUMBER;
    default: return DZ_JSON_NONE;
    }
}

const char *dz_json_kind_name(dz_json_kind kind)
{
    switch (kind) {
    case DZ_JSON_OBJECT: return "an object";
    case DZ_JSON_ARRAY: return "an array";
    case DZ_JSON_STRING: return "a string";
    case DZ_JSON_NUMBER: return "a number";
    case DZ_JSON_TRUE:
    case DZ_JSON_FALSE: return "a boolean";
    case DZ_JSON_NULL: return "null";
    default: return "nothing";
    }
}

/* --- strings --- */

/*
 * The end of the run of plain ASCII (no quote, backslash, control character
 * or byte of 0x80 and above) that starts at i. Most of a page is strings, so
 * the page is looked at through bit masks of 64-byte blocks: the end of a run
 * is then a shift and a count of trailing zeros, whatever its length.
 */
static void load_masks(dz_scanner *s, size_t base)
{
    const unsigned char *p = (const unsigned char *)s->buf + base;
    unsigned char pad[64];
    if (s->len - base < 64) {
        /* bytes past the end read as spaces, which stop nothing */
        memset(pad, ' ', sizeof pad);
        memcpy(pad, p, s->len - base);
        p = pad;
    }
    unsigned long long quote = 0, special = 0;
#if defined(__SSE2__)
    const __m128i q = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'),
                  space = _mm_set1_epi8(0x20);
    for (int k = 0; k < 4; k++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
        /* signed: bytes of 0x80 and above are negative, so below 0x20 too */
        __m128i sp = _mm_or_si128(_mm_cmpeq_epi8(x, backslash), _mm_cmplt_epi8(x, space));
        quote |= (unsigned long long)(unsigned short)_mm_movemask_epi8(_mm_cmpeq_epi8(x, q))
                 << (16 * k);
        special |= (unsigned long long)(unsigned short)_mm_movemask_epi8(sp) << (16 * k);
    }
#else
    for (int k = 0; k < 64; k++) {
        quote |= (unsigned long long)(p[k] == '"') << k;
        special |= (unsigned long long)(p[k] == '\\' || p[k] < 0x20 || p[k] >= 0x80) << k;
    }
#endif
    s->mask_base = base;
    s->mask_quote = quote;
    s->mask_special = special;
}

static inline size_t ascii_run(dz_scanner *s, size_t i, int *at_quote)
{
    while (i < s->len) {
        size_t base = i & ~(size_t)63;
        if (s->mask_base != base)
            load_masks(s, base);
        unsigned long long quote = s->mask_quote >> (i - base);
        unsigned long long stop = quote | (s->mask_special >> (i - base));
        if (stop != 0) {
            /* the masks tell a closing quote without reading the byte */
            *at_quote = (quote & stop & (0 - stop)) != 0;
            return i + (size_t)__builtin_ctzll(stop);
        }
        i = base + 64;
    }
    *at_quote = 0;
    return s->len;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
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

/* The unescaped copy of a string: bytes go in while they fit; the first
 * that does not (or an escaped NUL) stops the copy, so it is always a valid
 * prefix. */
typedef struct str_copy {
    char *out;
    size_t cap;
    size_t written;
    int stopped;
} str_copy;

static void copy_bytes(str_copy *c, const void *bytes, size_t k)
{
    if (c->out == NULL || c->stopped)
        return;
    if (c->written + k >= c->cap) {
        c->stopped = 1;
        return;
    }
    memcpy(c->out + c->written, bytes, k);
    c->written += k;
}

/* Encodes one code point as UTF-8 into b; returns its length. */
static size_t utf8_encode(unsigned cp, char b[4])
{
    if (cp < 0x80) {
        b[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    b[0] = (char)(0xF0 | (cp >> 18));
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int dz_scan_string(dz_scanner *s, char *out, size_t cap, size_t *full_len, int key)
{
    if (s->pos >= s->len || s->buf[s->pos] != '"')
        return fail_here(s, "a string");
    const unsigned char *b = (const unsigned char *)s->buf;
    str_copy copy = {out, cap, 0, cap == 0};
    size_t i = s->pos + 1, n = 0;
    for (;;) {
        /* The common case: a run of plain ASCII. */
        size_t run = i;
        int at_quote;
        i = ascii_run(s, i, &at_quote);
        if (i > run) {
            size_t k = i - run;
            if (out != NULL && !copy.stopped && copy.written + k >= cap) {
                copy_bytes(&copy, b + run, cap - 1 - copy.written);
                copy.stopped = 1;
            } else {
                copy_bytes(&copy, b + run, k);
            }
            n += k;
        }
        if (at_quote) {
            i++;
            break;
        }
        if (i >= s->len) {
            s->pos = i;
            return dz_scan_fail(s, DZ_SCAN_MALFORMED,
                                "unexpected end of input at byte %zu (inside a string)", i);
        }
        unsigned char c = b[i];
        if (c == '"') {
            i++;
            break;
        }
        if (c < 0x20) {
            s->pos = i;
            return dz_scan_fail(s, DZ_SCAN_MALFORMED,
                                "control character 0x%02x inside a string at byte %zu", c, i);
        }
        if (c >= 0x80) {
            size_t k = siphon_utf8_sequence(b + i, s->len - i);
            if (k == 0) {
                s->pos = i;
                return dz_scan_fail(s, DZ_SCAN_MALFORMED, "invalid UTF-8 at byte %zu", i);
            }
            copy_bytes(&copy, b + i, k);
            n += k;
            i += k;
            continue;
        }
        /* A backslash escape. */
        if (i + 1 >= s->len) {
            s->pos = i + 1;
            return dz_scan_fail(s, DZ_SCAN_MALFORMED,
                                "unexpected end of input at byte %zu (inside an escape)", i + 1);
        }
        char e = (char)b[i + 1], plain = 0;
        switch (e) {
        case '"': plain = '"'; break;
        case '\\': plain = '\\'; break;
        case '/': plain = '/'; break;
        case 'b': plain = '\b'; break;
        case 'f': plain = '\f'; break;
        case 'n': plain = '\n'; break;
        case 'r': plain = '\r'; break;
        case 't': plain = '\t'; break;
        case 'u': break;
        default:
            s->pos = i;
            return dz_scan_fail(s, DZ_SCAN_MALFORMED, "invalid escape '\\%c' at byte %zu",
                                e >= 0x20 && e < 0x7f ? e : '?', i);
        }
        if (plain != 0) {
            copy_bytes(&copy, &plain, 1);
            n++;
            i += 2;
            continue;
        }
        size_t at = i;
        unsigned cp;
        if (i + 6 > s->len) {
            s->pos = s->len;
            return dz_scan_fail(s, DZ_SCAN_MALFORMED,
                                "unexpected end of input at byte %zu (inside a \\u escape)",
                                s->len);
        }
        if (hex4((const char *)b + i + 2, &cp) != 0) {
            s->pos = at;
            return dz_scan_fail(s, DZ_SCAN_MALFORMED, "invalid \\u escape at byte %zu", at);
        }
        i += 6;
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
            s->pos = at;
            return dz_scan_fail(s, DZ_SCAN_MALFORMED, "lone low surrogate \\u%04X at byte %zu",
                                cp, at);
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned lo;
            if (i + 6 > s->len && (i >= s->len || b[i] == '\\')) {
                s->pos = s->len;
                return dz_scan_fail(s, DZ_SCAN_MALFORMED,
                                    "unexpected end of input at byte %zu (inside a surrogate "
                                    "pair)", s->len);
            }
            if (i + 6 > s->len || b[i] != '\\' || b[i + 1] != 'u' ||
                hex4((const char *)b + i + 2, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF) {
                s->pos = at;
                return dz_scan_fail(s, DZ_SCAN_MALFORMED,
                                    "high surrogate \\u%04X without its low half at byte %zu", cp,
                                    at);
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
        }
        if (cp == 0) {
            if (key) {
                s->pos = at;
                return dz_scan_fail(s, DZ_SCAN_UNSUPPORTED,
                                    "escaped NUL in an object key at byte %zu", at);
            }
            copy.stopped = 1; /* the C copy ends here; the length still counts */
            n++;
            continue;
        }
        char enc[4];
        size_t k = utf8_encode(cp, enc);
        copy_bytes(&copy, enc, k);
        n += k;
    }
    if (out != NULL && cap > 0)
        out[copy.written] = '\0';
    if (full_len != NULL)
        *full_len = n;
    s->pos = i;
    return 0;
}

/* --- numbers --- */

/* Whether the digits of an integer (no sign) fit jansson's json_int_t. */
static int int_fits(const char *digits, size_t n, int negative)
{
    static const char max_pos[] = "9223372036854775807";
    static const char max_neg[] = "9223372036854775808";
    if (n < 19)
        return 1;
    if (n > 19)
        return 0;
    return memcmp(digits, negative ? max_neg : max_pos, 19) <= 0;
}

/* Whether a real overflows a double (jansson refuses those; underflow to
 * zero is accepted). The decimal exponent decides all but a thin band, which
 * strtod settles in the C locale. */
static int real_overflows(const char *text, size_t n, size_t int_start, size_t int_end,
                          size_t frac_start, size_t frac_end, long long exp10)
{
    /* position of the first non-zero digit, as a power of ten */
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
            return 0; /* zero */
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

int dz_scan_number(dz_scanner *s, size_t *start)
{
    const char *b = s->buf;
    size_t i = s->pos, begin = s->pos;
    int negative = 0;
    if (i < s->len && b[i] == '-') {
        negative = 1;
        i++;
    }
    size_t int_start = i;
    if (i < s->len && b[i] == '0') {
        i++;
    } else if (i < s->len && b[i] >= '1' && b[i] <= '9') {
        while (i < s->len && b[i] >= '0' && b[i] <= '9')
            i++;
    } else {
        s->pos = i;
        return fail_here(s, "a digit");
    }
    size_t int_end = i, frac_start = i, frac_end = i;
    int is_real = 0;
    if (i < s->len && b[i] == '.') {
        i++;
        frac_start = i;
        if (i >= s->len || b[i] < '0' || b[i] > '9') {
            s->pos = i;
            return fail_here(s, "a digit after '.'");
        }
        while (i < s->len && b[i] >= '0' && b[i] <= '9')
            i++;
        frac_end = i;
        is_real = 1;
    }
    long long exp10 = 0;
    if (i < s->len && (b[i] == 'e' || b[i] == 'E')) {
        i++;
        int eneg = 0;
        if (i < s->len && (b[i] == '+' || b[i] == '-')) {
            eneg = b[i] == '-';
            i++;
        }
        if (i >= s->len || b[i] < '0' || b[i] > '9') {
            s->pos = i;
            return fail_here(s, "a digit in the exponent");
        }
        while (i < s->len && b[i] >= '0' && b[i] <= '9') {
            if (exp10 < 100000000)
                exp10 = exp10 * 10 + (b[i] - '0');
            i++;
        }
        if (eneg)
            exp10 = -exp10;
        is_real = 1;
    }
    /* jansson reads a number as one token: a letter glued to it is an error */
    if (i < s->len && ((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= 'A' && b[i] <= 'Z') ||
                       b[i] == '.' || b[i] == '+' || b[i] == '-')) {
        s->pos = i;
        return fail_here(s, "a delimiter after a number");
    }
    if (!is_real && !int_fits(b + int_start, int_end - int_start, negative)) {
        s->pos = begin;
        return dz_scan_fail(s, DZ_SCAN_UNSUPPORTED,
                            "integer %.*s at byte %zu does not fit 64 bits",
                            (int)(i - begin > 40 ? 40 : i - begin), b + begin, begin);
    }
    if (is_real && real_overflows(b + begin, i - begin, int_start - begin, int_end - begin,
                                  frac_start - begin, frac_end - begin, exp10)) {
        s->pos = begin;
        return dz_scan_fail(s, DZ_SCAN_UNSUPPORTED,
                            "number at byte %zu overflows a double", begin);
    }
    if (start != NULL)
        *start = begin;
    s->pos = i;
    return 0;
}

/* --- literals and containers --- */

static int scan_literal(dz_scanner *s, const char *word)
{
    size_t n = strlen(word);
    if (s->len - s->pos < n || memcmp(s->buf + s->pos, word, n) != 0)
        return fail_here(s, word);
    s->pos += n;
    /* "truex" is one invalid token for jansson */
    if (s->pos < s->len) {
        char c = s->buf[s->pos];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            return fail_here(s, "a delimiter after a literal");
    }
    return 0;
}

int dz_scan_open(dz_scanner *s, char open)
{
    dz_scan_ws(s);
    if (s->pos >= s->len || s->buf[s->pos] != open)
        return fail_here(s, open == '{' ? "'{'" : "'['");
    s->pos++;
    return 0;
}

int dz_scan_more(dz_scanner *s, char close, size_t *count)
{
    dz_scan_ws(s);
    if (s->pos >= s->len)
        return fail_here(s, close == '}' ? "',' or '}'" : "',' or ']'");
    char c = s->buf[s->pos];
    if (c == close) {
        s->pos++;
        return 0;
    }
    if (*count > 0) {
        if (c != ',')
            return fail_here(s, close == '}' ? "',' or '}'" : "',' or ']'");
        s->pos++;
        dz_scan_ws(s);
    }
    (*count)++;
    return 1;
}

int dz_scan_colon(dz_scanner *s)
{
    dz_scan_ws(s);
    if (s->pos >= s->len || s->buf[s->pos] != ':')
        return fail_here(s, "':'");
    s->pos++;
    return 0;
}

/* Scans one scalar at the current position. */
static int scan_scalar(dz_scanner *s, dz_json_kind kind)
{
    switch (kind) {
    case DZ_JSON_STRING: return dz_scan_string(s, NULL, 0, NULL, 0);
    case DZ_JSON_NUMBER: return dz_scan_number(s, NULL);
    case DZ_JSON_TRUE: return scan_literal(s, "true");
    case DZ_JSON_FALSE: return scan_literal(s, "false");
    case DZ_JSON_NULL: return scan_literal(s, "null");
    default: return fail_here(s, "a value");
    }
}

/* An object key and its colon; a trailing comma lands here and fails. */
static int scan_key(dz_scanner *s)
{
    dz_scan_ws(s);
    if (dz_scan_string(s, NULL, 0, NULL, 1) != 0)
        return -1;
    return dz_scan_colon(s);
}

int dz_scan_value(dz_scanner *s)
{
    /* The closers of the open containers; one byte per level, no recursion. */
    char stack[DZ_JSON_MAX_DEPTH];
    size_t depth = 0;
    for (;;) {
        dz_json_kind kind = dz_scan_peek(s);
        if (kind == DZ_JSON_OBJECT || kind == DZ_JSON_ARRAY) {
            if (depth == DZ_JSON_MAX_DEPTH)
                return dz_scan_fail(s, DZ_SCAN_UNSUPPORTED,
                                    "nesting deeper than %d levels at byte %zu",
                                    DZ_JSON_MAX_DEPTH, s->pos);
            char close = kind == DZ_JSON_OBJECT ? '}' : ']';
            s->pos++;
            dz_scan_ws(s);
            if (s->pos < s->len && s->buf[s->pos] == close) {
                s->pos++;
            } else {
                stack[depth++] = close;
                if (kind == DZ_JSON_OBJECT && scan_key(s) != 0)
                    return -1;
                continue; /* scan the first element */
            }
        } else if (scan_scalar(s, kind) != 0) {
            return -1;
        }
        /* A value ended: close containers or go on to the next element. */
        for (;;) {
            if (depth == 0)
                return 0;
            dz_scan_ws(s);
            char close = stack[depth - 1];
            if (s->pos < s->len && s->buf[s->pos] == ',') {
                s->pos++;
                if (close == '}' && scan_key(s) != 0)
                    return -1;
                break;
            }
            if (s->pos < s->len && s->buf[s->pos] == close) {
                s->pos++;
                depth--;
                continue;
            }
            return fail_here(s, close == '}' ? "',' or '}'" : "',' or ']'");
        }
    }
}

int dz_scan_document(dz_scanner *s)
{
    if (dz_scan_value(s) != 0)
        return -1;
    dz_scan_ws(s);
    if (s->pos != s->len)
        return fail_here(s, "the end of the input");
    return 0;
}

