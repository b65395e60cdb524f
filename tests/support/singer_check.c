#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "singer_check.h"

__attribute__((format(printf, 4, 5)))
static int fail(char *why, size_t cap, size_t line, const char *fmt, ...)
{
    int n = snprintf(why, cap, "line %zu: ", line);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < cap)
        vsnprintf(why + n, cap - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* Whether a JSON value has one of the types a schema's "type" allows. */
static int type_allows(const json_t *type, const json_t *v)
{
    if (type == NULL)
        return 1;
    if (json_is_array(type)) {
        size_t i;
        json_t *t;
        json_array_foreach(type, i, t) if (type_allows(t, v)) return 1;
        return 0;
    }
    const char *t = json_string_value(type);
    if (t == NULL)
        return 1;
    if (strcmp(t, "null") == 0) return json_is_null(v);
    if (strcmp(t, "string") == 0) return json_is_string(v);
    if (strcmp(t, "integer") == 0) return json_is_integer(v);
    if (strcmp(t, "number") == 0) return json_is_number(v);
    if (strcmp(t, "boolean") == 0) return json_is_boolean(v);
    if (strcmp(t, "object") == 0) return json_is_object(v);
    if (strcmp(t, "array") == 0) return json_is_array(v);
    return 1;
}

static int rfc3339_utc(const char *s)
{
    /* YYYY-MM-DDTHH:MM:SS[.fraction]Z */
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    for (size_t i = 0; shape[i]; i++) {
        if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
            return 0;
    }
    const char *p = s + strlen(shape);
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return strcmp(p, "Z") == 0;
}

static int check_line(json_t *msg, size_t line, json_t *schemas, sxt_singer *out, char *why,
                      size_t cap, int *last_was_state)
{
    if (!json_is_object(msg))
        return fail(why, cap, line, "not a JSON object");
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (type == NULL)
        return fail(why, cap, line, "no string \"type\"");
    const char *stream = json_string_value(json_object_get(msg, "stream"));
    *last_was_state = 0;
    if (strcasecmp(type, "SCHEMA") == 0) {
        json_t *schema = json_object_get(msg, "schema");
        json_t *keys = json_object_get(msg, "key_properties");
        if (stream == NULL || !json_is_object(schema) || !json_is_array(keys))
            return fail(why, cap, line, "SCHEMA needs stream, schema object, key_properties array");
        json_t *props = json_object_get(schema, "properties");
        size_t i;
        json_t *k;
        json_array_foreach(keys, i, k) {
            if (!json_is_string(k) || json_object_get(props, json_string_value(k)) == NULL)
                return fail(why, cap, line, "key property %zu of %s is not a declared property", i,
                            stream);
        }
        json_object_set(schemas, stream, msg);
        out->schemas++;
    } else if (strcasecmp(type, "RECORD") == 0) {
        json_t *record = json_object_get(msg, "record");
        if (stream == NULL || !json_is_object(record))
            return fail(why, cap, line, "RECORD needs stream and a record object");
        json_t *schema_msg = json_object_get(schemas, stream);
        if (schema_msg == NULL)
            return fail(why, cap, line, "RECORD of %s before its SCHEMA", stream);
        size_t i;
        json_t *k;
        json_array_foreach(json_object_get(schema_msg, "key_properties"), i, k) {
            json_t *v = json_object_get(record, json_string_value(k));
            if (v == NULL || json_is_null(v))
                return fail(why, cap, line, "RECORD of %s lacks key property %s", stream,
                            json_string_value(k));
        }
        json_t *props = json_object_get(json_object_get(schema_msg, "schema"), "properties");
        const char *key;
        json_t *v;
        json_object_foreach(record, key, v) {
            json_t *p = json_object_get(props, key);
            if (p != NULL && !type_allows(json_object_get(p, "type"), v))
                return fail(why, cap, line, "RECORD of %s: property %s has a type its schema "
                            "does not allow", stream, key);
        }
        json_t *te = json_object_get(msg, "time_extracted");
        if (te != NULL && (!json_is_string(te) || !rfc3339_utc(json_string_value(te))))
            return fail(why, cap, line, "time_extracted is not RFC 3339 UTC");
        json_t *ver = json_object_get(msg, "version");
        if (ver != NULL && !json_is_integer(ver))
            return fail(why, cap, line, "version is not an integer");
        json_t *list = json_object_get(out->records_by_stream, stream);
        if (list == NULL) {
            list = json_array();
            json_object_set_new(out->records_by_stream, stream, list);
        }
        json_array_append(list, record);
        out->records++;
    } else if (strcasecmp(type, "STATE") == 0) {
        json_t *value = json_object_get(msg, "value");
        if (!json_is_object(value))
            return fail(why, cap, line, "STATE needs an object value");
        json_decref(out->last_state);
        out->last_state = json_incref(value);
        out->states++;
        *last_was_state = 1;
    } else if (strcasecmp(type, "ACTIVATE_VERSION") == 0) {
        if (stream == NULL || json_object_get(schemas, stream) == NULL ||
            !json_is_integer(json_object_get(msg, "version")))
            return fail(why, cap, line, "ACTIVATE_VERSION needs a known stream and an integer "
                        "version");
        out->activates++;
    } else {
        return fail(why, cap, line, "unknown message type %s", type);
    }
    return 0;
}

int sxt_singer_check(const char *output, sxt_singer *out, char *why, size_t why_cap)
{
    memset(out, 0, sizeof *out);
    out->records_by_stream = json_object();
    json_t *schemas = json_object();
    int rc = 0, last_was_state = 0;
    const char *p = output;
    while (rc == 0 && *p != '\0') {
        const char *nl = strchr(p, '\n');
        if (nl == NULL) {
            rc = fail(why, why_cap, out->lines + 1, "the last line has no newline");
            break;
        }
        out->lines++;
        json_error_t e;
        json_t *msg = json_loadb(p, (size_t)(nl - p), 0, &e);
        if (msg == NULL)
            rc = fail(why, why_cap, out->lines, "not JSON: %s", e.text);
        else
            rc = check_line(msg, out->lines, schemas, out, why, why_cap, &last_was_state);
        json_decref(msg);
        p = nl + 1;
    }
    if (rc == 0 && out->records > 0 && !last_was_state)
        rc = fail(why, why_cap, out->lines, "the last line is not a STATE");
    json_decref(schemas);
    return rc;
}

void sxt_singer_free(sxt_singer *s)
{
    json_decref(s->records_by_stream);
    json_decref(s->last_state);
    s->records_by_stream = s->last_state = NULL;
}
