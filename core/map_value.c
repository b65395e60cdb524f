#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map_value.h"

void sx_mv_clear(sx_mv *v)
{
    free(v->owned);
    *v = (sx_mv)SX_MV_INIT;
}

void sx_mv_from_json(sx_mv *v, const json_t *j)
{
    *v = (sx_mv)SX_MV_INIT;
    if (j == NULL)
        return;
    v->src = j;
    switch (json_typeof(j)) {
    case JSON_TRUE:
    case JSON_FALSE:
        v->kind = SX_MV_BOOL;
        v->b = json_is_true(j);
        break;
    case JSON_INTEGER:
        v->kind = SX_MV_INT;
        v->i = json_integer_value(j);
        break;
    case JSON_REAL:
        v->kind = SX_MV_REAL;
        v->d = json_real_value(j);
        break;
    case JSON_STRING:
        v->kind = SX_MV_STR;
        v->s = json_string_value(j);
        v->len = json_string_length(j);
        break;
    case JSON_OBJECT:
    case JSON_ARRAY:
        v->kind = SX_MV_JSON;
        break;
    default:
        v->src = NULL;
        break;
    }
}

void sx_mv_take_str(sx_mv *v, char *s, size_t len)
{
    *v = (sx_mv)SX_MV_INIT;
    v->kind = SX_MV_STR;
    v->owned = s;
    v->s = s;
    v->len = len;
}

void sx_mv_borrow_str(sx_mv *v, const char *s, size_t len)
{
    *v = (sx_mv)SX_MV_INIT;
    v->kind = SX_MV_STR;
    v->s = s;
    v->len = len;
}

void sx_mv_move(sx_mv *dst, sx_mv *src)
{
    *dst = *src;
    *src = (sx_mv)SX_MV_INIT;
}

json_t *sx_mv_to_json(const sx_mv *v)
{
    if (v->src != NULL) {
        if (json_is_object(v->src) || json_is_array(v->src))
            return json_deep_copy(v->src);
        return json_incref((json_t *)v->src);
    }
    switch (v->kind) {
    case SX_MV_BOOL: return json_boolean(v->b);
    case SX_MV_INT: return json_integer(v->i);
    case SX_MV_REAL: return isfinite(v->d) ? json_real(v->d) : NULL;
    case SX_MV_STR: return json_stringn(v->s, v->len);
    default: return json_null();
    }
}

/* The shortest text that reads back as the same double, with ".0" added to
 * integral values so the text still says "number" (JSON writers do the same). */
static int format_real(double d, char *buf, size_t cap)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    if (strpbrk(buf, ".eEn") == NULL && strlen(buf) + 3 <= cap)
        strcat(buf, ".0");
    return 0;
}

int sx_mv_text(const sx_mv *v, sx_mv *out)
{
    char buf[64];
    *out = (sx_mv)SX_MV_INIT;
    switch (v->kind) {
    case SX_MV_NULL:
        return 0;
    case SX_MV_STR:
        sx_mv_borrow_str(out, v->s, v->len);
        return 0;
    case SX_MV_BOOL:
        if (v->b)
            sx_mv_borrow_str(out, "true", 4);
        else
            sx_mv_borrow_str(out, "false", 5);
        return 0;
    case SX_MV_INT:
        snprintf(buf, sizeof buf, "%lld", (long long)v->i);
        break;
    case SX_MV_REAL:
        format_real(v->d, buf, sizeof buf);
        break;
    case SX_MV_JSON: {
        char *text = json_dumps(v->src, JSON_COMPACT | JSON_ENCODE_ANY);
        if (text == NULL)
            return -1;
        sx_mv_take_str(out, text, strlen(text));
        return 0;
    }
    }
    char *copy = strdup(buf);
    if (copy == NULL)
        return -1;
    sx_mv_take_str(out, copy, strlen(copy));
    return 0;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int sx_parse_number(const char *s, size_t len, int *is_int, int64_t *i, double *d)
{
    size_t p = 0;
    if (p < len && (s[p] == '-' || s[p] == '+'))
        p++;
    size_t int_digits = 0, frac_digits = 0;
    while (p < len && is_digit(s[p])) {
        p++;
        int_digits++;
    }
    int integral = 1;
    if (p < len && s[p] == '.') {
        integral = 0;
        p++;
        while (p < len && is_digit(s[p])) {
            p++;
            frac_digits++;
        }
    }
    if (int_digits + frac_digits == 0)
        return 0;
    if (p < len && (s[p] == 'e' || s[p] == 'E')) {
        integral = 0;
        p++;
        if (p < len && (s[p] == '-' || s[p] == '+'))
            p++;
        size_t exp_digits = 0;
        while (p < len && is_digit(s[p])) {
            p++;
            exp_digits++;
        }
        if (exp_digits == 0)
            return 0;
    }
    if (p != len || len >= 128)
        return 0;
    /* strtod and strtoll want a terminated string; s may be a slice. */
    char buf[128];
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (integral) {
        errno = 0;
        long long v = strtoll(buf, NULL, 10);
        if (errno == 0) {
            *is_int = 1;
            *i = v;
            return 1;
        }
    }
    errno = 0;
    double v = strtod(buf, NULL);
    if (!isfinite(v))
        return 0;
    *is_int = 0;
    *d = v;
    return 1;
}

int sx_mv_numeric(const sx_mv *v, int *is_int, int64_t *i, double *d)
{
    switch (v->kind) {
    case SX_MV_INT:
        *is_int = 1;
        *i = v->i;
        return 1;
    case SX_MV_REAL:
        *is_int = 0;
        *d = v->d;
        return 1;
    case SX_MV_STR:
        return sx_parse_number(v->s, v->len, is_int, i, d);
    default:
        return 0;
    }
}

const char *sx_mv_type_name(const sx_mv *v)
{
    switch (v->kind) {
    case SX_MV_NULL: return "null";
    case SX_MV_BOOL: return "boolean";
    case SX_MV_INT: return "integer";
    case SX_MV_REAL: return "number";
    case SX_MV_STR: return "string";
    case SX_MV_JSON: return json_is_array(v->src) ? "array" : "object";
    }
    return "value";
}

int sx_mv_truthy(const sx_mv *v)
{
    switch (v->kind) {
    case SX_MV_BOOL: return v->b;
    case SX_MV_INT: return v->i != 0;
    case SX_MV_REAL: return v->d != 0.0;
    case SX_MV_STR: return v->len > 0;
    case SX_MV_JSON:
        return json_is_array(v->src) ? json_array_size(v->src) > 0 : json_object_size(v->src) > 0;
    default: return 0;
    }
}
