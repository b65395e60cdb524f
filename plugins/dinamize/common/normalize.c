/*
 * normalize.c: values brought to their schema's types (see normalize.h).
 */
#include "normalize.h"

#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <siphon/siphon-json.h>
#include <siphon/siphon.h>

#include "json_scan.h"

enum { NORM_STRING = 1, NORM_BOOL = 2 };

typedef struct shape_field {
    char *name;
    size_t len;
    int rule;
} shape_field;

struct dz_shape {
    shape_field *fields;
    size_t n;
};

/* Which of the JSON Schema type names a property's "type" lists. */
static unsigned type_bits(const json_t *type)
{
    static const char *const names[] = {"string", "boolean", "integer", "number"};
    unsigned bits = 0;
    for (size_t k = 0; k < 4; k++) {
        if (json_is_string(type) && strcmp(json_string_value(type), names[k]) == 0)
            bits |= 1u << k;
        size_t i;
        const json_t *t;
        json_array_foreach(type, i, t) {
            if (json_is_string(t) && strcmp(json_string_value(t), names[k]) == 0)
                bits |= 1u << k;
        }
    }
    return bits;
}

dz_shape *dz_shape_from_schema(const char *schema_json, char *why, size_t why_cap)
{
    json_error_t e;
    json_t *schema = json_loads(schema_json, 0, &e);
    if (!json_is_object(schema)) {
        snprintf(why, why_cap, "the stream's schema is not a JSON object (%s)",
                 schema ? "another value" : e.text);
        json_decref(schema);
        return NULL;
    }
    dz_shape *shape = calloc(1, sizeof *shape);
    const json_t *props = json_object_get(schema, "properties");
    size_t cap = json_object_size(props);
    if (shape == NULL || (cap && (shape->fields = calloc(cap, sizeof *shape->fields)) == NULL)) {
        free(shape);
        json_decref(schema);
        snprintf(why, why_cap, "out of memory");
        return NULL;
    }
    const char *name;
    const json_t *prop;
    json_object_foreach((json_t *)props, name, prop) {
        unsigned bits = type_bits(json_object_get(prop, "type"));
        int rule = 0;
        if (bits == 1u) /* string only (with null) */
            rule = NORM_STRING;
        else if (bits == 2u) /* boolean only (with null) */
            rule = NORM_BOOL;
        if (rule == 0)
            continue;
        char *copy = strdup(name);
        if (copy == NULL) {
            dz_shape_free(shape);
            json_decref(schema);
            snprintf(why, why_cap, "out of memory");
            return NULL;
        }
        shape->fields[shape->n].name = copy;
        shape->fields[shape->n].len = strlen(copy);
        shape->fields[shape->n].rule = rule;
        shape->n++;
    }
    /* boolean rules first, so dz_shape_keeps looks at a string's few */
    size_t bools = 0;
    for (size_t i = 0; i < shape->n; i++) {
        if (shape->fields[i].rule == NORM_BOOL) {
            shape_field t = shape->fields[bools];
            shape->fields[bools++] = shape->fields[i];
            shape->fields[i] = t;
        }
    }
    json_decref(schema);
    return shape;
}

json_t *dz_number_text(const json_t *number)
{
    char text[64];
    if (json_is_integer(number)) {
        snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(number));
        return json_string(text);
    }
    double v = json_real_value(number);
    /* In the C locale whatever the process set: the text is data, not display. */
    locale_t c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t previous = c_locale ? uselocale(c_locale) : (locale_t)0;
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(text, sizeof text, "%.*g", precision, v);
        if (strtod(text, NULL) == v)
            break;
    }
    if (c_locale) {
        uselocale(previous);
        freelocale(c_locale);
    }
    /* a real keeps looking like one, as jansson would print it */
    if (strpbrk(text, ".eEn") == NULL)
        strcat(text, ".0");
    return json_string(text);
}

/* true/false, their strings in any case, "1"/"0" and 1/0; -1 for anything else. */
static int boolish(const json_t *v)
{
    if (json_is_boolean(v))
        return json_is_true(v);
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        return i == 1 ? 1 : i == 0 ? 0 : -1;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0)
            return 1;
        if (strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0)
            return 0;
    }
    return -1;
}

int dz_normalize(const dz_shape *shape, json_t *record)
{
    for (size_t i = 0; i < shape->n; i++) {
        const shape_field *f = &shape->fields[i];
        json_t *v = json_object_get(record, f->name);
        if (v == NULL || json_is_null(v))
            continue;
        if (f->rule == NORM_STRING && json_is_number(v)) {
            json_t *text = dz_number_text(v);
            if (text == NULL || json_object_set_new(record, f->name, text) != 0)
                return SIPHON_E_NOMEM;
        } else if (f->rule == NORM_BOOL && !json_is_boolean(v)) {
            int b = boolish(v);
            if (b >= 0 && json_object_set_new(record, f->name, json_boolean(b)) != 0)
                return SIPHON_E_NOMEM;
        }
    }
    return SIPHON_OK;
}

int dz_shape_keeps(const dz_shape *shape, const char *key, size_t key_len, int kind)
{
    /* a string changes only under a boolean rule, a number under either */
    if (kind != DZ_JSON_STRING && kind != DZ_JSON_NUMBER)
        return 1;
    for (size_t i = 0; i < shape->n; i++) {
        const shape_field *f = &shape->fields[i];
        /* boolean rules come first: a string stops looking after them */
        if (kind == DZ_JSON_STRING && f->rule != NORM_BOOL)
            return 1;
        if (f->len != key_len || !siphon_same_bytes(f->name, key, key_len))
            continue;
        return 0; /* a string under a boolean rule, or a number under either */
    }
    return 1;
}

void dz_shape_free(dz_shape *shape)
{
    if (shape == NULL)
        return;
    for (size_t i = 0; i < shape->n; i++)
        free(shape->fields[i].name);
    free(shape->fields);
    free(shape);
}
