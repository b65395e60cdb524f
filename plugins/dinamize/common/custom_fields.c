/*
 * custom_fields.c: typing the contacts' custom fields (see custom_fields.h).
 */
#include "custom_fields.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* JSON Schema type names, in the order they are listed. */
enum { T_NULL = 1, T_BOOLEAN = 2, T_INTEGER = 4, T_NUMBER = 8, T_STRING = 16, T_ANY = 32 };

typedef struct field_type {
    const char *code;
    unsigned types;
    const char *what; /* how its values read, for the description */
} field_type;

static const field_type field_types[] = {
    {"VC", T_NULL | T_STRING, "short text"},
    {"TXT", T_NULL | T_STRING, "long text"},
    {"PHN", T_NULL | T_STRING, "phone number"},
    {"DVC", T_NULL | T_STRING, "application token"},
    {"LV", T_NULL | T_STRING, "list of values: the code of a list_of_values record"},
    {"INT", T_NULL | T_INTEGER | T_STRING, "integer, usually sent as a string"},
    {"FLT", T_NULL | T_NUMBER | T_STRING, "decimal number, usually sent as a string"},
    {"DT", T_NULL | T_STRING, "date, YYYY-MM-DD"},
    {"DH", T_NULL | T_STRING, "date and time, YYYY-MM-DD HH:MM:SS in the account's time zone"},
};

static const field_type *lookup_type(const char *code)
{
    for (size_t i = 0; code != NULL && i < sizeof field_types / sizeof field_types[0]; i++)
        if (strcasecmp(code, field_types[i].code) == 0)
            return &field_types[i];
    return NULL;
}

static json_t *type_array(unsigned bits)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{T_NULL, "null"}, {T_BOOLEAN, "boolean"}, {T_INTEGER, "integer"},
                 {T_NUMBER, "number"}, {T_STRING, "string"}};
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < sizeof names / sizeof names[0]; i++)
        if (bits & names[i].bit)
            json_array_append_new(a, json_string(names[i].name));
    return a;
}

/* Builds or widens the property of one field record. */
static int add_field(json_t *props, const json_t *field)
{
    const char *code_name = json_string_value(json_object_get(field, "code_name"));
    if (code_name == NULL || code_name[0] == '\0')
        return 1;
    const char *title = json_string_value(json_object_get(field, "title"));
    const char *type = json_string_value(json_object_get(field, "type"));
    const field_type *ft = lookup_type(type);
    unsigned bits = ft ? ft->types : T_ANY;
    char description[400];
    snprintf(description, sizeof description, "Custom field%s%s%s (type %s: %s)",
             title ? " '" : "", title ? title : "", title ? "'" : "", type ? type : "unknown",
             ft ? ft->what : "values of any kind");

    json_t *prop = json_object_get(props, code_name);
    if (prop == NULL) {
        prop = json_object();
        if (prop == NULL || json_object_set_new(props, code_name, prop) != 0)
            return -1;
        if (title != NULL)
            json_object_set_new(prop, "title", json_string(title));
        json_object_set_new(prop, "description", json_string(description));
        json_object_set_new(prop, "x-dinamize-types", json_integer(bits));
    } else {
        /* The same code_name in another list: accept either list's values. */
        const char *known = json_string_value(json_object_get(prop, "description"));
        if (known != NULL && strcmp(known, description) != 0 &&
            strstr(known, "; other lists:") == NULL) {
            char merged[600];
            snprintf(merged, sizeof merged, "%s; other lists: %s", known, description);
            json_object_set_new(prop, "description", json_string(merged));
        }
        json_int_t have = json_integer_value(json_object_get(prop, "x-dinamize-types"));
        json_object_set_new(prop, "x-dinamize-types", json_integer(have | (json_int_t)bits));
    }
    return 0;
}

json_t *dz_contacts_schema(const char *static_schema, const json_t *fields, size_t *skipped,
                           char *why, size_t why_cap)
{
    json_error_t e;
    json_t *schema = json_loads(static_schema, 0, &e);
    json_t *props = json_object_get(schema, "properties");
    if (!json_is_object(props)) {
        snprintf(why, why_cap, "the static contacts schema has no properties");
        json_decref(schema);
        return NULL;
    }
    json_t *custom = json_object();
    json_t *custom_props = json_object();
    if (custom == NULL || custom_props == NULL) {
        json_decref(custom);
        json_decref(custom_props);
        json_decref(schema);
        snprintf(why, why_cap, "out of memory");
        return NULL;
    }
    size_t n_skipped = 0, i;
    const json_t *field;
    int failed = 0;
    json_array_foreach(fields, i, field) {
        int r = add_field(custom_props, field);
        if (r < 0)
            failed = 1;
        else
            n_skipped += (size_t)r;
    }
    /* The working bits become JSON Schema types. */
    const char *name;
    json_t *prop;
    json_object_foreach(custom_props, name, prop) {
        unsigned bits = (unsigned)json_integer_value(json_object_get(prop, "x-dinamize-types"));
        json_object_del(prop, "x-dinamize-types");
        if (!(bits & T_ANY) && json_object_set_new(prop, "type", type_array(bits)) != 0)
            failed = 1;
    }
    json_t *old = json_object_get(props, "custom_fields");
    const char *old_description = json_string_value(json_object_get(old, "description"));
    json_object_set_new(custom, "type", type_array(T_NULL));
    json_array_append_new(json_object_get(custom, "type"), json_string("object"));
    if (old_description != NULL)
        json_object_set_new(custom, "description", json_string(old_description));
    json_object_set_new(custom, "additionalProperties", json_true());
    json_object_set_new(custom, "properties", custom_props);
    if (failed || json_object_set_new(props, "custom_fields", custom) != 0) {
        json_decref(schema);
        snprintf(why, why_cap, "out of memory");
        return NULL;
    }
    if (skipped != NULL)
        *skipped = n_skipped;
    return schema;
}
