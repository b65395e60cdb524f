#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <siphon/siphon-json.h>

#include "sink_value.h"

static unsigned type_bit(const char *name)
{
    static const char *const names[] = {"string", "integer", "number", "boolean",
                                        "object", "array",   "null"};
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0)
            return 1u << i;
    return 0;
}

enum { B_STRING = 1, B_INTEGER = 2, B_NUMBER = 4, B_BOOLEAN = 8, B_OBJECT = 16, B_ARRAY = 32,
       B_NULL = 64 };

/* Collects the type names a property allows; sets *untyped when some branch
 * allows anything. */
static unsigned schema_types(const json_t *property, int depth, int *untyped)
{
    if (!json_is_object(property) || depth > 8) {
        *untyped = 1;
        return 0;
    }
    const json_t *type = json_object_get(property, "type");
    if (json_is_string(type))
        return type_bit(json_string_value(type));
    if (json_is_array(type)) {
        unsigned bits = 0;
        size_t i;
        const json_t *t;
        json_array_foreach(type, i, t) {
            if (json_is_string(t))
                bits |= type_bit(json_string_value(t));
        }
        return bits;
    }
    static const char *const unions[] = {"anyOf", "oneOf"};
    for (size_t u = 0; u < 2; u++) {
        const json_t *members = json_object_get(property, unions[u]);
        if (json_is_array(members) && json_array_size(members) > 0) {
            unsigned bits = 0;
            size_t i;
            const json_t *m;
            json_array_foreach(members, i, m) bits |= schema_types(m, depth + 1, untyped);
            return bits;
        }
    }
    *untyped = 1;
    return 0;
}

sink_type sink_type_of_schema(const json_t *property)
{
    int untyped = 0;
    unsigned bits = schema_types(property, 0, &untyped) & ~(unsigned)B_NULL;
    if (untyped || (bits & (B_OBJECT | B_ARRAY)))
        return SINK_JSON;
    switch (bits) {
    case 0:
    case B_STRING:
        return SINK_STRING;
    case B_INTEGER:
        return SINK_INTEGER;
    case B_NUMBER:
    case B_INTEGER | B_NUMBER:
        return SINK_NUMBER;
    case B_BOOLEAN:
        return SINK_BOOLEAN;
    default:
        return SINK_STRING;
    }
}

int sink_type_of_value(const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_STRING: return SINK_STRING;
    case JSON_INTEGER: return SINK_INTEGER;
    case JSON_REAL: return SINK_NUMBER;
    case JSON_TRUE:
    case JSON_FALSE: return SINK_BOOLEAN;
    case JSON_OBJECT:
    case JSON_ARRAY: return SINK_JSON;
    default: return -1;
    }
}

const char *sink_type_name(sink_type type)
{
    switch (type) {
    case SINK_STRING: return "string";
    case SINK_INTEGER: return "integer";
    case SINK_NUMBER: return "number";
    case SINK_BOOLEAN: return "boolean";
    case SINK_JSON: return "JSON";
    }
    return "?";
}

/* libsiphon-util's writer gives jansson's bytes at a fraction of the cost;
 * a sink_buf is a siphon_buf plus a failure flag. */
int sink_json_dump(sink_buf *b, const json_t *v)
{
    if (b->failed)
        return -1;
    siphon_buf view = {b->data, b->len, b->cap};
    int rc = siphon_json_append(&view, v);
    b->data = view.data;
    b->len = view.len;
    b->cap = view.cap;
    return rc;
}

void sink_json_preview(sink_buf *b, const json_t *v)
{
    sink_buf tmp = {0};
    sink_json_dump(&tmp, v);
    if (tmp.len > 60) {
        size_t keep = 57;
        while (keep > 0 && ((unsigned char)tmp.data[keep] & 0xC0) == 0x80)
            keep--;
        sink_buf_add(b, tmp.data, keep);
        sink_buf_puts(b, "...");
    } else {
        sink_buf_puts(b, sink_buf_str(&tmp));
    }
    sink_buf_free(&tmp);
}

int sink_format_real(sink_buf *b, double d)
{
    char text[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(text, sizeof text, "%.*g", prec, d);
        if (strtod(text, NULL) == d)
            break;
    }
    return sink_buf_puts(b, text);
}

static void set_text(sink_cell *cell, sink_buf *text, const char *s, size_t len)
{
    cell->kind = SINK_CELL_TEXT;
    cell->off = text->len;
    sink_buf_add(text, s, len);
    cell->len = len;
}

/* A decimal number as JSON writes it, optionally signed: the only text a
 * number column takes from a string (no hex, no inf, no nan). */
static int is_decimal_text(const char *s, size_t len)
{
    if (len == 0 || strspn(s, "0123456789+-.eE") != len)
        return 0;
    char *end = NULL;
    errno = 0;
    double d = strtod(s, &end);
    return end == s + len && isfinite(d);
}

static int integer_from_text(const char *s, size_t len, int64_t *out)
{
    if (len == 0 || strspn(s, "0123456789+-") != len)
        return -1;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end != s + len)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static int bool_from_text(const char *s, int *out)
{
    if (strcasecmp(s, "true") == 0 || strcasecmp(s, "t") == 0 || strcmp(s, "1") == 0) {
        *out = 1;
        return 0;
    }
    if (strcasecmp(s, "false") == 0 || strcasecmp(s, "f") == 0 || strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    return -1;
}

int sink_cell_from_json(sink_cell *cell, const json_t *v, sink_type type, sink_buf *text)
{
    memset(cell, 0, sizeof *cell);
    if (v == NULL || json_is_null(v))
        return 0;
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    size_t slen = s ? json_string_length(v) : 0;
    switch (type) {
    case SINK_STRING:
        if (s != NULL) {
            set_text(cell, text, s, slen);
        } else if (json_is_integer(v)) {
            cell->kind = SINK_CELL_TEXT;
            cell->off = text->len;
            sink_buf_printf(text, "%" PRId64, (int64_t)json_integer_value(v));
            cell->len = text->len - cell->off;
        } else if (json_is_real(v)) {
            cell->kind = SINK_CELL_TEXT;
            cell->off = text->len;
            sink_format_real(text, json_real_value(v));
            cell->len = text->len - cell->off;
        } else if (json_is_boolean(v)) {
            set_text(cell, text, json_is_true(v) ? "true" : "false", json_is_true(v) ? 4 : 5);
        } else {
            cell->kind = SINK_CELL_TEXT;
            cell->off = text->len;
            sink_json_dump(text, v);
            cell->len = text->len - cell->off;
        }
        return 0;
    case SINK_INTEGER:
        if (json_is_integer(v)) {
            cell->kind = SINK_CELL_INT;
            cell->i = (int64_t)json_integer_value(v);
            return 0;
        }
        if (json_is_real(v)) {
            double d = json_real_value(v);
            if (d == floor(d) && fabs(d) < 9.2e18) {
                cell->kind = SINK_CELL_INT;
                cell->i = (int64_t)d;
                return 0;
            }
            return -1;
        }
        if (s != NULL) {
            if (slen == 0)
                return 0;
            if (integer_from_text(s, slen, &cell->i) == 0) {
                cell->kind = SINK_CELL_INT;
                return 0;
            }
        }
        return -1;
    case SINK_NUMBER:
        if (json_is_integer(v)) {
            cell->kind = SINK_CELL_INT;
            cell->i = (int64_t)json_integer_value(v);
            return 0;
        }
        if (json_is_real(v)) {
            cell->kind = SINK_CELL_REAL;
            cell->d = json_real_value(v);
            return 0;
        }
        if (s != NULL) {
            if (slen == 0)
                return 0;
            if (is_decimal_text(s, slen)) {
                set_text(cell, text, s, slen);
                return 0;
            }
        }
        return -1;
    case SINK_BOOLEAN:
        if (json_is_boolean(v)) {
            cell->kind = SINK_CELL_BOOL;
            cell->i = json_is_true(v);
            return 0;
        }
        if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
            cell->kind = SINK_CELL_BOOL;
            cell->i = json_integer_value(v);
            return 0;
        }
        if (s != NULL) {
            int b;
            if (slen == 0)
                return 0;
            if (bool_from_text(s, &b) == 0) {
                cell->kind = SINK_CELL_BOOL;
                cell->i = b;
                return 0;
            }
        }
        return -1;
    case SINK_JSON:
        cell->kind = SINK_CELL_TEXT;
        cell->off = text->len;
        sink_json_dump(text, v);
        cell->len = text->len - cell->off;
        return 0;
    }
    return -1;
}
