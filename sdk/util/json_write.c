/*
 * json_write.c: compact JSON from jansson trees, byte for byte as jansson 2.14
 * writes it with JSON_COMPACT | JSON_ENCODE_ANY, but several times faster
 * (siphon-json.h): one buffer instead of a callback per fragment, strings
 * scanned through a table and copied in runs, integers without printf.
 */
#include <stdio.h>
#include <string.h>

#include <siphon/siphon-json.h>

/* jansson's JSON_PARSER_MAX_DEPTH; deeper only happens to a value that
 * contains itself, which jansson refuses to dump too. */
#define MAX_DEPTH 2048

/* What a byte needs inside a string: 0 copy it, 1 escape it, 2 the lead of
 * a UTF-8 sequence to validate (or an invalid byte). */
#define E1 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
#define P0 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
#define U2 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2
static const unsigned char byte_class[256] = {
    E1, E1,                                                 /* 0x00-0x1f: control characters */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,         /* 0x20-0x2f: '"' */
    P0, P0,                                                 /* 0x30-0x4f */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,         /* 0x50-0x5f: '\\' */
    P0, P0,                                                 /* 0x60-0x7f (DEL is copied) */
    U2, U2, U2, U2, U2, U2, U2, U2,                         /* 0x80-0xff */
};

/* The two-character escapes jansson uses; others are \u00XX. */
static const char short_escape[32] = {
    ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r',
};

static const char hex_upper[] = "0123456789ABCDEF";

static int put_string(siphon_buf *b, const unsigned char *s, size_t n)
{
    /* Room for the common case (nothing escaped); escapes grow it below. */
    if (siphon_buf_reserve(b, n + 2) != 0)
        return -1;
    char *o = b->data + b->len;
    *o++ = '"';
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (i < n && byte_class[s[i]] == 0)
            i++;
        if (i > run) {
            memcpy(o, s + run, i - run);
            o += i - run;
            if (i >= n)
                break;
        }
        unsigned char c = s[i];
        if (byte_class[c] == 2) {
            size_t k = siphon_utf8_sequence(s + i, n - i);
            if (k == 0)
                return -1;
            memcpy(o, s + i, k);
            o += k;
            i += k;
            continue;
        }
        /* An escape takes up to 6 bytes where 1 was reserved. */
        b->len = (size_t)(o - b->data);
        if (siphon_buf_reserve(b, (n - i) + 6 + 1) != 0)
            return -1;
        o = b->data + b->len;
        *o++ = '\\';
        if (c == '"' || c == '\\') {
            *o++ = (char)c;
        } else if (short_escape[c] != 0) {
            *o++ = short_escape[c];
        } else {
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex_upper[c >> 4];
            *o++ = hex_upper[c & 15];
        }
        i++;
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    return 0;
}

static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Writes v's digits ending just before end; returns where they start. */
static char *digits_before(char *end, uint64_t v)
{
    while (v >= 100) {
        unsigned k = (unsigned)(v % 100) * 2;
        v /= 100;
        *--end = digit_pairs[k + 1];
        *--end = digit_pairs[k];
    }
    if (v >= 10) {
        unsigned k = (unsigned)v * 2;
        *--end = digit_pairs[k + 1];
        *--end = digit_pairs[k];
    } else {
        *--end = (char)('0' + v);
    }
    return end;
}

int siphon_json_append_int(siphon_buf *b, int64_t v)
{
    char text[24];
    char *end = text + sizeof text;
    /* the magnitude as unsigned, so INT64_MIN needs no special case */
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    char *start = digits_before(end, mag);
    if (v < 0)
        *--start = '-';
    return siphon_buf_append(b, start, (size_t)(end - start));
}

/* jansson's jsonp_dtostr with its default precision (17). */
static int put_real(siphon_buf *b, double value)
{
    char text[100];
    int ret = snprintf(text, sizeof text, "%.17g", value);
    if (ret < 0 || (size_t)ret >= sizeof text - 3)
        return -1;
    size_t length = (size_t)ret;
    /* a decimal comma of the process's locale becomes the JSON point */
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (!(c >= '0' && c <= '9') && c != '-' && c != '+' && c != 'e')
            text[i] = '.';
    }
    /* a real keeps looking like one once read back */
    if (strchr(text, '.') == NULL && strchr(text, 'e') == NULL) {
        text[length++] = '.';
        text[length++] = '0';
        text[length] = '\0';
    }
    /* no '+' and no leading zeros in the exponent */
    char *start = strchr(text, 'e');
    if (start != NULL) {
        start++;
        char *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, length - (size_t)(end - text));
            length -= (size_t)(end - start);
        }
    }
    return siphon_buf_append(b, text, length);
}

static int put_value(siphon_buf *b, const json_t *v, int depth);

static int put_object(siphon_buf *b, const json_t *v, int depth)
{
    if (siphon_buf_append(b, "{", 1) != 0)
        return -1;
    int first = 1;
    for (void *it = json_object_iter((json_t *)v); it != NULL;
         it = json_object_iter_next((json_t *)v, it)) {
        const char *key = json_object_iter_key(it);
#if JANSSON_VERSION_HEX >= 0x020e00
        size_t key_len = json_object_iter_key_len(it);
#else
        size_t key_len = strlen(key);
#endif
        if (!first && siphon_buf_append(b, ",", 1) != 0)
            return -1;
        first = 0;
        if (put_string(b, (const unsigned char *)key, key_len) != 0 ||
            siphon_buf_append(b, ":", 1) != 0 ||
            put_value(b, json_object_iter_value(it), depth + 1) != 0)
            return -1;
    }
    return siphon_buf_append(b, "}", 1);
}

static int put_array(siphon_buf *b, const json_t *v, int depth)
{
    if (siphon_buf_append(b, "[", 1) != 0)
        return -1;
    size_t n = json_array_size(v);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && siphon_buf_append(b, ",", 1) != 0)
            return -1;
        if (put_value(b, json_array_get(v, i), depth + 1) != 0)
            return -1;
    }
    return siphon_buf_append(b, "]", 1);
}

static int put_value(siphon_buf *b, const json_t *v, int depth)
{
    if (v == NULL || depth > MAX_DEPTH)
        return -1;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return put_object(b, v, depth);
    case JSON_ARRAY:
        return put_array(b, v, depth);
    case JSON_STRING:
        return put_string(b, (const unsigned char *)json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return siphon_json_append_int(b, (int64_t)json_integer_value(v));
    case JSON_REAL:
        return put_real(b, json_real_value(v));
    case JSON_TRUE:
        return siphon_buf_append(b, "true", 4);
    case JSON_FALSE:
        return siphon_buf_append(b, "false", 5);
    case JSON_NULL:
        return siphon_buf_append(b, "null", 4);
    default:
        return -1;
    }
}

int siphon_json_append(siphon_buf *b, const json_t *v)
{
    size_t mark = b->len;
    if (put_value(b, v, 0) == 0)
        return 0;
    b->len = mark;
    if (b->data != NULL)
        b->data[mark] = '\0';
    return -1;
}

int siphon_json_append_string(siphon_buf *b, const char *s, size_t n)
{
    size_t mark = b->len;
    if (put_string(b, (const unsigned char *)s, n) == 0)
        return 0;
    b->len = mark;
    if (b->data != NULL)
        b->data[mark] = '\0';
    return -1;
}
