#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map_builtins.h"
#include "sha256.h"

static int fail(char *msg, size_t cap, const char *text)
{
    snprintf(msg, cap, "%s", text);
    return -1;
}

static int nomem(char *msg, size_t cap)
{
    return fail(msg, cap, "out of memory");
}

/* The argument as text (numbers written out, objects as JSON). */
static int text_of(sx_mv *arg, sx_mv *text, char *msg, size_t cap)
{
    if (sx_mv_text(arg, text) != 0)
        return nomem(msg, cap);
    return 0;
}

static int hex_digest(const uint8_t *digest, sx_mv *out, char *msg, size_t cap)
{
    char *hex = malloc(2 * SX_SHA256_LEN + 1);
    if (hex == NULL)
        return nomem(msg, cap);
    sx_hex(digest, SX_SHA256_LEN, hex);
    sx_mv_take_str(out, hex, 2 * SX_SHA256_LEN);
    return 0;
}

static int bi_sha256(const void *bound, sx_mv *args, size_t n, sx_mv *out, char *msg, size_t cap)
{
    sx_mv text;
    if (args[0].kind == SX_MV_NULL)
        return 0;
    if (text_of(&args[0], &text, msg, cap) != 0)
        return -1;
    uint8_t digest[SX_SHA256_LEN];
    sx_sha256(text.s, text.len, digest);
    sx_mv_clear(&text);
    return hex_digest(digest, out, msg, cap);
}

static int bi_hmac_sha256(const void *bound, sx_mv *args, size_t n, sx_mv *out, char *msg,
                          size_t cap)
{
    sx_mv text;
    if (args[0].kind == SX_MV_NULL)
        return 0;
    if (text_of(&args[0], &text, msg, cap) != 0)
        return -1;
    uint8_t digest[SX_SHA256_LEN];
    sx_hmac_sha256(bound, text.s, text.len, digest);
    sx_mv_clear(&text);
    return hex_digest(digest, out, msg, cap);
}

/* A writable copy of the argument's text, for the functions that edit it. */
static int own_text(sx_mv *arg, char **buf, size_t *len, char *msg, size_t cap)
{
    sx_mv text;
    if (text_of(arg, &text, msg, cap) != 0)
        return -1;
    *len = text.len;
    if (text.owned != NULL) {
        *buf = text.owned;
        return 0;
    }
    *buf = malloc(text.len + 1);
    if (*buf == NULL)
        return nomem(msg, cap);
    memcpy(*buf, text.s, text.len + 1);
    return 0;
}

/*
 * Case mapping covers ASCII and the Latin-1 letters (U+00C0 to U+00FE), which
 * are two-byte sequences starting 0xC3: enough for Portuguese, Spanish and
 * French names ("JOÃO" and "joão" agree) without a Unicode table. U+00D7 and
 * U+00F7 are the multiplication and division signs, not letters.
 */
static void map_case(char *s, size_t len, int to_upper)
{
    unsigned char *p = (unsigned char *)s;
    for (size_t i = 0; i < len; i++) {
        if (to_upper && p[i] >= 'a' && p[i] <= 'z')
            p[i] = (unsigned char)(p[i] - 32);
        else if (!to_upper && p[i] >= 'A' && p[i] <= 'Z')
            p[i] = (unsigned char)(p[i] + 32);
        else if (p[i] == 0xC3 && i + 1 < len) {
            unsigned c = p[i + 1];
            if (to_upper && c >= 0xA0 && c <= 0xBE && c != 0xB7)
                p[i + 1] = (unsigned char)(c - 0x20);
            else if (!to_upper && c >= 0x80 && c <= 0x9E && c != 0x97)
                p[i + 1] = (unsigned char)(c + 0x20);
            i++;
        }
    }
}

static int case_fn(sx_mv *args, sx_mv *out, int to_upper, char *msg, size_t cap)
{
    if (args[0].kind == SX_MV_NULL)
        return 0;
    char *buf;
    size_t len;
    if (own_text(&args[0], &buf, &len, msg, cap) != 0)
        return -1;
    map_case(buf, len, to_upper);
    sx_mv_take_str(out, buf, len);
    return 0;
}

static int bi_lower(const void *bound, sx_mv *args, size_t n, sx_mv *out, char *msg, size_t cap)
{
    return case_fn(args, out, 0, msg, cap);
}

static int bi_upper(const void *bound, sx_mv *args, size_t n, sx_mv *out, char *msg, size_t cap)
{
    return case_fn(args, out, 1, msg, cap);
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Copies s[from, to) into a new owned string value. */
static int slice(const char *s, size_t from, size_t to, sx_mv *out, char *msg, size_t cap)
{
    char *buf = malloc(to - from + 1);
    if (buf == NULL)
        return nomem(msg, cap);
    memcpy(buf, s + from, to - from);
    buf[to - from] = '\0';
    sx_mv_take_str(out, buf, to - from);
    return 0;
}

static void trim_bounds(const char *s, size_t len, size_t *from, size_t *to)
{
    size_t a = 0, b = len;
    while (a < b && is_space(s[a]))
        a++;
    while (b > a && is_space(s[b - 1]))
        b--;
    *from = a;
    *to = b;
}

static int bi_trim(const void *bound, sx_mv *args, size_t n, sx_mv *out, char *msg, size_t cap)
{
    sx_mv text;
    if (args[0].kind == SX_MV_NULL)
        return 0;
    if (text_of(&args[0], &text, msg, cap) != 0)
        return -1;
    size_t from, to;
    trim_bounds(text.s, text.len, &from, &to);
    int rc = slice(text.s, from, to, out, msg, cap);
    sx_mv_clear(&text);
    return rc;
}

/* The part after the last '@', trimmed and lower-cased; null when there is
 * no '@' or nothing after it (not an address, so no domain to report). */
static int bi_email_domain(const void *bound, sx_mv *args, size_t n, sx_mv *out, char *msg,
                           size_t cap)
{
    if (args[0].kind != SX_MV_STR)
        return 0;
    const char *s = args[0].s;
    const char *at = NULL;
    for (size_t i = 0; i < args[0].len; i++)
        if (s[i] == '@')
            at = s + i;
    if (at == NULL)
        return 0;
    size_t start = (size_t)(at - s) + 1, from, to;
    trim_bounds(s + start, args[0].len - start, &from, &to);
    if (from == to)
        return 0;
    if (slice(s + start, from, to, out, msg, cap) != 0)
        return -1;
    map_case(out->owned, out->len, 0);
    return 0;
}

static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

/* The count argument of the masking functions: checked here too, because a
 * count that is not a literal is known only now. */
static int count_arg(const sx_mv *arg, const char *fn, int64_t *count, char *msg, size_t cap)
{
    int is_int;
    int64_t i = 0;
    double d;
    int numeric = sx_mv_numeric(arg, &is_int, &i, &d);
    if (!numeric || !is_int || i < 0) {
        snprintf(msg, cap, "%s(): the count (argument 2) must be an integer >= 0, got %s", fn,
                 numeric ? "a negative or fractional number" : sx_mv_type_name(arg));
        return -1;
    }
    *count = i;
    return 0;
}

/*
 * Replaces every character (not byte: a masked UTF-8 name must stay UTF-8)
 * outside the kept ones by '*'. keep_first selects which end is kept.
 */
static int mask_fn(sx_mv *args, sx_mv *out, int keep_first, const char *fn, char *msg, size_t cap)
{
    if (args[0].kind == SX_MV_NULL)
        return 0;
    int64_t keep;
    if (count_arg(&args[1], fn, &keep, msg, cap) != 0)
        return -1;
    sx_mv text;
    if (text_of(&args[0], &text, msg, cap) != 0)
        return -1;
    size_t chars = utf8_chars(text.s, text.len);
    size_t kept = (uint64_t)keep < chars ? (size_t)keep : chars;
    size_t masked = chars - kept;
    /* The kept characters' bytes, found by walking code points from the kept end. */
    size_t kept_from = 0, kept_to = text.len;
    if (keep_first) {
        size_t seen = 0, i = 0;
        for (; i < text.len; i++) {
            if (((unsigned char)text.s[i] & 0xC0) != 0x80) {
                if (seen == kept)
                    break;
                seen++;
            }
        }
        kept_to = i;
    } else {
        size_t seen = 0, i = text.len;
        while (i > 0 && seen < kept) {
            i--;
            if (((unsigned char)text.s[i] & 0xC0) != 0x80)
                seen++;
        }
        kept_from = i;
    }
    size_t kept_bytes = kept_to - kept_from;
    char *buf = malloc(kept_bytes + masked + 1);
    if (buf == NULL) {
        sx_mv_clear(&text);
        return nomem(msg, cap);
    }
    if (keep_first) {
        memcpy(buf, text.s + kept_from, kept_bytes);
        memset(buf + kept_bytes, '*', masked);
    } else {
        memset(buf, '*', masked);
        memcpy(buf + masked, text.s + kept_from, kept_bytes);
    }
    buf[kept_bytes + masked] = '\0';
    sx_mv_clear(&text);
    sx_mv_take_str(out, buf, kept_bytes + masked);
    return 0;
}

static int bi_mask_keep_first(const void *bound, sx_mv *args, size_t n, sx_mv *out, char *msg,
                              size_t cap)
{
    return mask_fn(args, out, 1, "mask_keep_first", msg, cap);
}

static int bi_mask_keep_last(const void *bound, sx_mv *args, size_t n, sx_mv *out, char *msg,
                             size_t cap)
{
    return mask_fn(args, out, 0, "mask_keep_last", msg, cap);
}

static int bi_coalesce(const void *bound, sx_mv *args, size_t n, sx_mv *out, char *msg, size_t cap)
{
    for (size_t i = 0; i < n; i++) {
        if (args[i].kind != SX_MV_NULL) {
            sx_mv_move(out, &args[i]);
            return 0;
        }
    }
    return 0;
}

/* Nulls are skipped, as PostgreSQL's concat() does: one missing part should
 * not blank the whole text. */
static int bi_concat(const void *bound, sx_mv *args, size_t n, sx_mv *out, char *msg, size_t cap)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (args[i].kind != SX_MV_STR && args[i].kind != SX_MV_NULL) {
            sx_mv text;
            if (text_of(&args[i], &text, msg, cap) != 0)
                return -1;
            /* Not a string, so text owns its bytes and args[i] owns nothing. */
            sx_mv_move(&args[i], &text);
        }
        total += args[i].len;
    }
    char *buf = malloc(total + 1);
    if (buf == NULL)
        return nomem(msg, cap);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (args[i].kind == SX_MV_STR) {
            memcpy(buf + at, args[i].s, args[i].len);
            at += args[i].len;
        }
    }
    buf[at] = '\0';
    sx_mv_take_str(out, buf, at);
    return 0;
}

static int bi_str(const void *bound, sx_mv *args, size_t n, sx_mv *out, char *msg, size_t cap)
{
    if (args[0].kind == SX_MV_STR) {
        sx_mv_move(out, &args[0]);
        out->src = NULL;
        return 0;
    }
    return text_of(&args[0], out, msg, cap);
}

/* int() and float() read numbers, numeric strings and booleans; anything
 * else is an error rather than a silent null, so bad data gets noticed. */
static int number_arg(const sx_mv *arg, const char *fn, int *is_int, int64_t *i, double *d,
                      char *msg, size_t cap)
{
    if (arg->kind == SX_MV_BOOL) {
        *is_int = 1;
        *i = arg->b;
        return 0;
    }
    if (sx_mv_numeric(arg, is_int, i, d))
        return 0;
    snprintf(msg, cap, "%s(): %s", fn,
             arg->kind == SX_MV_STR ? "the string is not a number"
                                    : arg->kind == SX_MV_JSON ? "cannot convert an object or array"
                                                              : "cannot convert this value");
    return -1;
}

static int bi_int(const void *bound, sx_mv *args, size_t n, sx_mv *out, char *msg, size_t cap)
{
    if (args[0].kind == SX_MV_NULL)
        return 0;
    int is_int;
    int64_t i = 0;
    double d = 0;
    if (number_arg(&args[0], "int", &is_int, &i, &d, msg, cap) != 0)
        return -1;
    if (!is_int) {
        /* Truncation toward zero, as C and Python do; 2^63 itself is out. */
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
            return fail(msg, cap, "int(): the number is out of the 64-bit integer range");
        i = (int64_t)d;
    }
    out->kind = SX_MV_INT;
    out->i = i;
    return 0;
}

static int bi_float(const void *bound, sx_mv *args, size_t n, sx_mv *out, char *msg, size_t cap)
{
    if (args[0].kind == SX_MV_NULL)
        return 0;
    int is_int;
    int64_t i = 0;
    double d = 0;
    if (number_arg(&args[0], "float", &is_int, &i, &d, msg, cap) != 0)
        return -1;
    out->kind = SX_MV_REAL;
    out->d = is_int ? (double)i : d;
    return 0;
}

static const sx_builtin BUILTINS[] = {
    {"sha256", 1, 1, SX_MT_STRING, 0, bi_sha256},
    {"hmac_sha256", 2, 2, SX_MT_STRING, SX_BI_SECRET_ARG2, bi_hmac_sha256},
    {"lower", 1, 1, SX_MT_STRING, 0, bi_lower},
    {"upper", 1, 1, SX_MT_STRING, 0, bi_upper},
    {"trim", 1, 1, SX_MT_STRING, 0, bi_trim},
    {"email_domain", 1, 1, SX_MT_STRING, 0, bi_email_domain},
    {"mask_keep_first", 2, 2, SX_MT_STRING, SX_BI_COUNT_ARG2, bi_mask_keep_first},
    {"mask_keep_last", 2, 2, SX_MT_STRING, SX_BI_COUNT_ARG2, bi_mask_keep_last},
    {"coalesce", 1, -1, SX_MT_ANY, 0, bi_coalesce},
    {"concat", 1, -1, SX_MT_STRING, 0, bi_concat},
    {"str", 1, 1, SX_MT_STRING, 0, bi_str},
    {"int", 1, 1, SX_MT_INT, 0, bi_int},
    {"float", 1, 1, SX_MT_NUMBER, 0, bi_float},
};

const sx_builtin *sx_builtin_find(const char *name)
{
    for (size_t i = 0; i < sizeof BUILTINS / sizeof BUILTINS[0]; i++)
        if (strcmp(BUILTINS[i].name, name) == 0)
            return &BUILTINS[i];
    return NULL;
}

const sx_builtin *sx_builtins(size_t *n)
{
    *n = sizeof BUILTINS / sizeof BUILTINS[0];
    return BUILTINS;
}
