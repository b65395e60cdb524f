/*
 * stream_map.c: building a stream's map from the config (merging, options,
 * secrets, expressions, schema, key properties) and applying it to records.
 * transform.h documents the behaviour; this file keeps to it.
 */
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <siphon/siphon-json.h>

#include "config.h"
#include "map_expr.h"
#include "mask.h"
#include "transform.h"

/* Shorter keys are guessable enough to make the HMAC pointless. */
#define MIN_SECRET_BYTES 16

/* Records with up to this many computed properties need no heap for results. */
#define SMALL_ENTRIES 32

static const char NULL_STRING[] = "__NULL__";

static const char *const MAP_OPTIONS[] = {
    "__alias__", "__filter__", "__else__", "__key_properties__", "__secrets__", "__source__",
};
static const char *const TOP_OPTIONS[] = {"__else__", "__secrets__"};

typedef enum entry_kind { E_DROP, E_EXPR } entry_kind;

typedef struct map_entry {
    char *key;
    entry_kind kind;
    sx_expr *expr;   /* E_EXPR */
} map_entry;

struct sx_stream_map {
    char *stream;
    char *alias;
    int drop_all;              /* the stream is mapped to null */
    int keep_unmapped;         /* no "__else__": null */
    sx_expr *filter;
    map_entry *entries;
    size_t n_entries;
    json_t *kept;              /* "__else__": null: the names that stay, as a set */
    json_t *schema;
    char **keys;               /* NULL-terminated */
    sx_map_secret *secrets;
    size_t n_secrets;
};

/* What a build needs in one place, so helpers stay short. */
typedef struct build {
    sx_stream_map *m;
    const json_t *orig_props;  /* the input schema's properties ({} when none) */
    const json_t *known;       /* orig_props when names can be checked, else NULL */
    const sx_functions *fns;
    sx_error *err;
} build;

static const char *json_type_name(const json_t *v)
{
    if (v == NULL)
        return "nothing";
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static int is_null_value(const json_t *v)
{
    return json_is_null(v) || (json_is_string(v) && strcmp(json_string_value(v), NULL_STRING) == 0);
}

static int is_option(const char *key)
{
    size_t n = strlen(key);
    return n > 4 && strncmp(key, "__", 2) == 0 && strcmp(key + n - 2, "__") == 0;
}

static int is_pattern(const char *key)
{
    return strpbrk(key, "*?[") != NULL;
}

__attribute__((format(printf, 3, 4)))
static int fail(build *b, const char *field, const char *fmt, ...)
{
    char what[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (field != NULL)
        sx_error_set(b->err, SX_EXIT_CONFIG, "stream '%s', field '%s': %s", b->m->stream, field,
                     what);
    else
        sx_error_set(b->err, SX_EXIT_CONFIG, "stream '%s': %s", b->m->stream, what);
    return -1;
}

static int nomem(build *b)
{
    sx_error_set(b->err, SX_EXIT_FAILURE, "stream '%s': out of memory", b->m->stream);
    return -1;
}

/* ---- finding the map ---- */

static int check_top(const json_t *top, sx_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)top, key, v)
    {
        if (!is_option(key))
            continue;
        if (strcmp(key, "__else__") == 0 && !is_null_value(v)) {
            sx_error_set(err, SX_EXIT_CONFIG, "stream_maps.__else__: only null is supported "
                         "(send no record of the streams without a map)");
            return -1;
        }
        if (strcmp(key, "__secrets__") == 0 && !json_is_object(v)) {
            sx_error_set(err, SX_EXIT_CONFIG, "stream_maps.__secrets__: expected an object, "
                         "found %s", json_type_name(v));
            return -1;
        }
        size_t n = sizeof TOP_OPTIONS / sizeof TOP_OPTIONS[0], k = 0;
        while (k < n && strcmp(TOP_OPTIONS[k], key) != 0)
            k++;
        if (k == n) {
            const char *s = sx_did_you_mean(key, TOP_OPTIONS, n);
            sx_error_set(err, SX_EXIT_CONFIG, "stream_maps: unknown option '%s'%s%s%s", key,
                         s ? " (did you mean '" : " (options here: __else__, __secrets__",
                         s ? s : "", s ? "'?)" : ")");
            return -1;
        }
    }
    return 0;
}

/* The top-level entry for stream: its own key, else the first pattern that
 * matches it. */
static const json_t *top_entry(const json_t *top, const char *stream, const char **key_out)
{
    const json_t *v = json_object_get(top, stream);
    if (v != NULL) {
        *key_out = stream;
        return v;
    }
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)top, key, val)
    {
        if (!is_option(key) && is_pattern(key) && fnmatch(key, stream, 0) == 0) {
            *key_out = key;
            return val;
        }
    }
    return NULL;
}

/* ---- secrets ---- */

static const char *secret_value(const json_t *v, const char **env_name)
{
    *env_name = NULL;
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_object(v) && json_object_size(v) == 1 &&
        json_is_string(json_object_get(v, "env"))) {
        *env_name = json_string_value(json_object_get(v, "env"));
        return getenv(*env_name);
    }
    return NULL;
}

static int add_secret(build *b, const char *where, const char *name, const json_t *v)
{
    const char *env_name;
    const char *value = secret_value(v, &env_name);
    sx_stream_map *m = b->m;
    if (value == NULL) {
        if (env_name != NULL)
            sx_error_set(b->err, SX_EXIT_CONFIG, "%s: key '%s': the environment variable %s is "
                         "not set", where, name, env_name);
        else
            sx_error_set(b->err, SX_EXIT_CONFIG, "%s: key '%s': expected the key as a string or "
                         "{\"env\": \"VARIABLE\"}, found %s", where, name, json_type_name(v));
        return -1;
    }
    size_t len = strlen(value);
    if (len < MIN_SECRET_BYTES) {
        sx_error_set(b->err, SX_EXIT_CONFIG, "%s: key '%s' has %zu bytes; HMAC keys need at "
                     "least %d", where, name, len, MIN_SECRET_BYTES);
        return -1;
    }
    sx_mask_add(value);
    /* A stream's own key overrides the shared one of the same name. */
    size_t i = 0;
    while (i < m->n_secrets && strcmp(m->secrets[i].name, name) != 0)
        i++;
    if (i == m->n_secrets) {
        sx_map_secret *grown = realloc(m->secrets, (m->n_secrets + 1) * sizeof *grown);
        if (grown == NULL)
            return nomem(b);
        m->secrets = grown;
        if ((m->secrets[i].name = strdup(name)) == NULL)
            return nomem(b);
        m->n_secrets++;
    }
    sx_hmac_key_init(&m->secrets[i].key, value, len);
    return 0;
}

static int add_secrets(build *b, const char *where, const json_t *obj)
{
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)obj, name, v)
    {
        if (add_secret(b, where, name, v) != 0)
            return -1;
    }
    return 0;
}

/* ---- options ---- */

static int read_option(build *b, const char *key, const json_t *v)
{
    sx_stream_map *m = b->m;
    if (strcmp(key, "__alias__") == 0) {
        if (json_is_null(v))
            return 0;
        if (!json_is_string(v) || json_string_length(v) == 0)
            return fail(b, key, "expected the output stream's name, found %s",
                        json_is_string(v) ? "an empty string" : json_type_name(v));
        if ((m->alias = strdup(json_string_value(v))) == NULL)
            return nomem(b);
        return 0;
    }
    if (strcmp(key, "__else__") == 0) {
        if (!is_null_value(v))
            return fail(b, key, "only null is supported (drop the properties the map does not "
                        "name)");
        m->keep_unmapped = 0;
        return 0;
    }
    if (strcmp(key, "__secrets__") == 0) {
        if (!json_is_object(v))
            return fail(b, key, "expected an object, found %s", json_type_name(v));
        return 0; /* read before the expressions */
    }
    if (strcmp(key, "__source__") == 0)
        return fail(b, key, "duplicating a stream is not supported: a stream is written once, "
                    "under its name or its \"__alias__\"");
    if (strcmp(key, "__key_properties__") == 0 || strcmp(key, "__filter__") == 0)
        return 0; /* read once the rest is known */
    const char *s = sx_did_you_mean(key, MAP_OPTIONS, sizeof MAP_OPTIONS / sizeof MAP_OPTIONS[0]);
    if (s != NULL)
        return fail(b, key, "unknown option (did you mean '%s'?)", s);
    return fail(b, key, "unknown option (options: __alias__, __filter__, __else__, "
                "__key_properties__, __secrets__)");
}

/* ---- entries ---- */

static int compile(build *b, const char *field, const char *text, const char *self_name,
                   sx_expr **out)
{
    char msg[1536];
    sx_expr_env env = {
        .known = b->known,
        .fns = b->fns,
        .secrets = b->m->secrets,
        .n_secrets = b->m->n_secrets,
        .self_name = self_name,
    };
    if (sx_expr_compile(text, &env, out, msg, sizeof msg) != 0)
        return fail(b, field, "%s", msg);
    return 0;
}

static int property_hint(build *b, const char *name, char *buf, size_t cap)
{
    size_t n = json_object_size(b->known), k = 0;
    const char **names = calloc(n ? n : 1, sizeof *names);
    buf[0] = '\0';
    if (names == NULL)
        return nomem(b);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)b->known, key, v) names[k++] = key;
    const char *s = sx_did_you_mean(name, names, k);
    if (s != NULL)
        snprintf(buf, cap, " (did you mean '%s'?)", s);
    free(names);
    return 0;
}

static int add_entry(build *b, const char *key, const json_t *v)
{
    sx_stream_map *m = b->m;
    map_entry e = {0};
    if (is_null_value(v)) {
        if (b->known != NULL && json_object_get(b->known, key) == NULL) {
            char h[160];
            if (property_hint(b, key, h, sizeof h) != 0)
                return -1;
            return fail(b, key, "cannot drop an unknown property%s", h);
        }
        e.kind = E_DROP;
    } else if (json_is_string(v)) {
        /* A column without a name: no sink can store it, and as the new
         * name of a key it would leave the stream keyed on nothing. */
        if (key[0] == '\0')
            return fail(b, key, "a computed property needs a name");
        e.kind = E_EXPR;
        if (compile(b, key, json_string_value(v), key, &e.expr) != 0)
            return -1;
    } else {
        return fail(b, key, "expected an expression (a string) or null, found %s; a constant is "
                    "an expression too: \"3\", \"'text'\", \"true\"", json_type_name(v));
    }
    if ((e.key = strdup(key)) == NULL) {
        sx_expr_free(e.expr);
        return nomem(b);
    }
    m->entries[m->n_entries++] = e;
    return 0;
}

static const map_entry *find_entry(const sx_stream_map *m, const char *key)
{
    for (size_t i = 0; i < m->n_entries; i++)
        if (strcmp(m->entries[i].key, key) == 0)
            return &m->entries[i];
    return NULL;
}

/* The first computed property that is a plain copy of property, or NULL. */
static const char *rename_target(const sx_stream_map *m, const char *property)
{
    for (size_t i = 0; i < m->n_entries; i++) {
        const map_entry *r = &m->entries[i];
        const char *src = r->kind == E_EXPR ? sx_expr_property(r->expr) : NULL;
        if (src != NULL && strcmp(src, property) == 0)
            return r->key;
    }
    return NULL;
}

/* ---- schema and keys ---- */

static int build_schema(build *b, const json_t *schema)
{
    sx_stream_map *m = b->m;
    m->schema = json_is_object(schema) ? json_deep_copy(schema)
                                       : json_pack("{s:s,s:{}}", "type", "object", "properties");
    if (m->schema == NULL)
        return nomem(b);
    json_t *props = json_object_get(m->schema, "properties");
    if (!json_is_object(props)) {
        props = json_object();
        if (props == NULL || json_object_set_new(m->schema, "properties", props) != 0)
            return nomem(b);
    }
    if (!m->keep_unmapped) {
        const char *key;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(props, tmp, key, v)
        {
            if (json_object_get(m->kept, key) == NULL)
                json_object_del(props, key);
        }
    }
    for (size_t i = 0; i < m->n_entries; i++) {
        const map_entry *e = &m->entries[i];
        if (e->kind == E_DROP) {
            json_object_del(props, e->key);
            continue;
        }
        json_t *s = sx_expr_schema(e->expr, b->orig_props);
        if (s == NULL || json_object_set_new(props, e->key, s) != 0)
            return nomem(b);
    }
    /* Required stays only for properties the map leaves alone: a computed
     * one is nullable whatever its source was. */
    json_t *required = json_object_get(m->schema, "required");
    if (json_is_array(required)) {
        for (size_t i = json_array_size(required); i-- > 0;) {
            const char *name = json_string_value(json_array_get(required, i));
            if (name == NULL || json_object_get(props, name) == NULL || find_entry(m, name) != NULL)
                json_array_remove(required, i);
        }
    }
    return 0;
}

static int push_key(build *b, size_t *n, const char *name)
{
    char **grown = realloc(b->m->keys, (*n + 2) * sizeof *grown);
    if (grown == NULL)
        return nomem(b);
    b->m->keys = grown;
    if ((grown[*n] = strdup(name)) == NULL)
        return nomem(b);
    grown[++*n] = NULL;
    return 0;
}

/* The key properties after the map: "__key_properties__" when given, else
 * the stream's, following renames. */
static int build_keys(build *b, const json_t *override, const char *const *key_properties)
{
    sx_stream_map *m = b->m;
    size_t n = 0;
    if ((m->keys = calloc(1, sizeof *m->keys)) == NULL)
        return nomem(b);
    const json_t *props = json_object_get(m->schema, "properties");
    if (override != NULL) {
        if (json_is_null(override))
            return 0;
        if (!json_is_array(override))
            return fail(b, "__key_properties__", "expected an array of property names or null, "
                        "found %s", json_type_name(override));
        size_t i;
        json_t *v;
        json_array_foreach(override, i, v)
        {
            const char *name = json_string_value(v);
            if (name == NULL)
                return fail(b, "__key_properties__", "entry %zu is %s, not a property name", i,
                            json_type_name(v));
            if (json_object_get(props, name) == NULL)
                return fail(b, "__key_properties__", "'%s' is not a property of the stream after "
                            "the map", name);
            if (push_key(b, &n, name) != 0)
                return -1;
        }
        return 0;
    }
    for (size_t k = 0; key_properties != NULL && key_properties[k] != NULL; k++) {
        const char *key = key_properties[k];
        const map_entry *e = find_entry(m, key);
        const char *name = key;
        if (e != NULL && e->kind == E_DROP) {
            name = rename_target(m, key);
            if (name == NULL)
                return fail(b, key, "the key property is dropped; rename it (\"new_name\": "
                            "\"%s\", \"%s\": null) or set \"__key_properties__\"", key, key);
        }
        if (push_key(b, &n, name) != 0)
            return -1;
    }
    return 0;
}

/* ---- build ---- */

/* The merged map object (new reference), or NULL with *drop_all set, or NULL
 * when the stream has no map; -1 on error. */
static int merged_map(const json_t *root, const char *stream, json_t **out, int *drop_all,
                      sx_error *err)
{
    *out = NULL;
    *drop_all = 0;
    const json_t *top = json_object_get(root, "stream_maps");
    if (top != NULL && !json_is_null(top) && !json_is_object(top)) {
        sx_error_set(err, SX_EXIT_CONFIG, "stream_maps: expected an object, found %s",
                     json_type_name(top));
        return -1;
    }
    if (top != NULL && check_top(top, err) != 0)
        return -1;
    const char *top_key = NULL;
    const json_t *mine = top != NULL ? top_entry(top, stream, &top_key) : NULL;
    const json_t *per = json_object_get(json_object_get(json_object_get(root, "streams"), stream),
                                        "stream_maps");
    if (per != NULL && !json_is_null(per) && !json_is_object(per)) {
        sx_error_set(err, SX_EXIT_CONFIG, "streams.%s.stream_maps: expected an object, found %s",
                     stream, json_type_name(per));
        return -1;
    }
    if (json_is_null(per))
        per = NULL;
    if (mine != NULL && !is_null_value(mine) && !json_is_object(mine)) {
        sx_error_set(err, SX_EXIT_CONFIG, "stream_maps.%s: expected an object (the map) or null "
                     "(send no record), found %s", top_key, json_type_name(mine));
        return -1;
    }
    if (mine != NULL && is_null_value(mine)) {
        if (per != NULL) {
            sx_error_set(err, SX_EXIT_CONFIG, "stream_maps.%s is null (send no record of stream "
                         "'%s') but streams.%s.stream_maps maps it; keep one", top_key, stream,
                         stream);
            return -1;
        }
        *drop_all = 1;
        return 0;
    }
    if (mine == NULL && per == NULL) {
        *drop_all = top != NULL && json_object_get(top, "__else__") != NULL;
        return 0;
    }
    json_t *merged = mine != NULL ? json_copy((json_t *)mine) : json_object();
    if (merged == NULL || (per != NULL && json_object_update(merged, (json_t *)per) != 0)) {
        json_decref(merged);
        sx_error_set(err, SX_EXIT_FAILURE, "stream '%s': out of memory", stream);
        return -1;
    }
    *out = merged;
    return 0;
}

static int build_map(build *b, const json_t *root, const json_t *map, const json_t *schema,
                     const char *const *key_properties)
{
    sx_stream_map *m = b->m;
    const json_t *top_secrets = json_object_get(json_object_get(root, "stream_maps"), "__secrets__");
    if (json_is_object(top_secrets) &&
        add_secrets(b, "stream_maps.__secrets__", top_secrets) != 0)
        return -1;

    /* Options first: "__else__" and "__secrets__" change how entries read. */
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)map, key, v)
    {
        if (is_option(key) && read_option(b, key, v) != 0)
            return -1;
    }
    const json_t *secrets = json_object_get(map, "__secrets__");
    if (secrets != NULL) {
        char where[512];
        snprintf(where, sizeof where, "stream '%s', field '__secrets__'", m->stream);
        if (add_secrets(b, where, secrets) != 0)
            return -1;
    }

    if ((m->entries = calloc(json_object_size(map) + 1, sizeof *m->entries)) == NULL)
        return nomem(b);
    json_object_foreach((json_t *)map, key, v)
    {
        if (!is_option(key) && add_entry(b, key, v) != 0)
            return -1;
    }
    const json_t *filter = json_object_get(map, "__filter__");
    if (filter != NULL && !json_is_null(filter)) {
        if (!json_is_string(filter))
            return fail(b, "__filter__", "expected an expression (a string), found %s",
                        json_type_name(filter));
        if (compile(b, "__filter__", json_string_value(filter), NULL, &m->filter) != 0)
            return -1;
    }

    if (!m->keep_unmapped) {
        if ((m->kept = json_object()) == NULL)
            return nomem(b);
        for (size_t i = 0; i < m->n_entries; i++)
            if (m->entries[i].kind == E_EXPR &&
                json_object_set_new(m->kept, m->entries[i].key, json_true()) != 0)
                return nomem(b);
        for (size_t k = 0; key_properties != NULL && key_properties[k] != NULL; k++)
            if (json_object_set_new(m->kept, key_properties[k], json_true()) != 0)
                return nomem(b);
    }
    if (build_schema(b, schema) != 0)
        return -1;
    return build_keys(b, json_object_get(map, "__key_properties__"), key_properties);
}

int sx_stream_map_build(const json_t *map_config, const char *stream, const json_t *schema,
                        const char *const *key_properties, const sx_functions *fns,
                        sx_stream_map **out, sx_error *err)
{
    *out = NULL;
    json_t *map = NULL;
    int drop_all = 0;
    if (!json_is_object(map_config))
        return 0;
    if (merged_map(map_config, stream, &map, &drop_all, err) != 0)
        return -1;
    if (map == NULL && !drop_all)
        return 0;

    sx_stream_map *m = calloc(1, sizeof *m);
    if (m == NULL || (m->stream = strdup(stream)) == NULL) {
        free(m);
        json_decref(map);
        sx_error_set(err, SX_EXIT_FAILURE, "stream '%s': out of memory", stream);
        return -1;
    }
    m->keep_unmapped = 1;
    m->drop_all = drop_all;

    json_t *empty = json_object();
    const json_t *props = json_object_get(schema, "properties");
    const json_t *additional = json_object_get(schema, "additionalProperties");
    build b = {
        .m = m,
        .orig_props = json_is_object(props) ? props : empty,
        .known = json_is_object(props) && !json_is_true(additional) ? props : NULL,
        .fns = fns,
        .err = err,
    };
    int rc;
    if (empty == NULL)
        rc = nomem(&b);
    else if (drop_all)
        rc = build_schema(&b, schema) != 0 ? -1 : build_keys(&b, NULL, key_properties);
    else
        rc = build_map(&b, map_config, map, schema, key_properties);
    json_decref(empty);
    json_decref(map);
    if (rc != 0) {
        sx_stream_map_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

const char *sx_stream_map_output_name(const sx_stream_map *m, const char *property)
{
    const map_entry *e = find_entry(m, property);
    if (e != NULL)
        return e->kind == E_EXPR ? property : rename_target(m, property);
    if (m->keep_unmapped || json_object_get(m->kept, property) != NULL)
        return property;
    return NULL;
}

const char *sx_stream_map_alias(const sx_stream_map *m)
{
    return m->alias;
}

json_t *sx_stream_map_schema(const sx_stream_map *m)
{
    return json_incref(m->schema);
}

const char *const *sx_stream_map_key_properties(const sx_stream_map *m)
{
    return (const char *const *)m->keys;
}

void sx_stream_map_free(sx_stream_map *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n_entries; i++) {
        free(m->entries[i].key);
        sx_expr_free(m->entries[i].expr);
    }
    free(m->entries);
    sx_expr_free(m->filter);
    for (size_t i = 0; m->keys != NULL && m->keys[i] != NULL; i++)
        free(m->keys[i]);
    free(m->keys);
    for (size_t i = 0; i < m->n_secrets; i++)
        free(m->secrets[i].name);
    /* The prepared keys are as good as the key: do not leave them in freed memory. */
    if (m->secrets != NULL)
        explicit_bzero(m->secrets, m->n_secrets * sizeof *m->secrets);
    free(m->secrets);
    json_decref(m->kept);
    json_decref(m->schema);
    free(m->alias);
    free(m->stream);
    free(m);
}

/* ---- apply ---- */

__attribute__((format(printf, 5, 6)))
static int apply_error(const sx_stream_map *m, const char *field, char *message, size_t cap,
                       const char *fmt, ...)
{
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (field != NULL)
        snprintf(message, cap, "stream '%s', field '%s': %s", m->stream, field, what);
    else
        snprintf(message, cap, "stream '%s': %s", m->stream, what);
    return -1;
}

/* Why a computed value could not become JSON. */
static const char *unrepresentable(const sx_mv *v)
{
    if (v->kind == SX_MV_STR && !siphon_utf8_valid(v->s, v->len))
        return "the result is text that is not valid UTF-8";
    if (v->kind == SX_MV_REAL)
        return "the result is NaN or infinity, which JSON cannot hold";
    return "out of memory";
}

static void release(json_t **results, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(results[i]);
}

int sx_stream_map_apply(const sx_stream_map *m, json_t *record, char *message, size_t cap)
{
    char msg[1024];
    if (!json_is_object(record))
        return apply_error(m, NULL, message, cap, "the record is %s, not an object",
                           json_type_name(record));
    if (m->drop_all)
        return 0;
    if (m->filter != NULL) {
        sx_mv v;
        if (sx_expr_eval(m->filter, record, &v, msg, sizeof msg) != 0)
            return apply_error(m, "__filter__", message, cap, "%s", msg);
        int keep = sx_mv_truthy(&v);
        sx_mv_clear(&v);
        if (!keep)
            return 0;
    }

    /* Every expression reads the record as it arrived, so all are computed
     * before anything changes; an error then leaves the record untouched. */
    json_t *small[SMALL_ENTRIES] = {0};
    json_t **results = m->n_entries <= SMALL_ENTRIES ? small : calloc(m->n_entries, sizeof *results);
    if (results == NULL)
        return apply_error(m, NULL, message, cap, "out of memory");
    int rc = 1;
    for (size_t i = 0; i < m->n_entries && rc == 1; i++) {
        const map_entry *e = &m->entries[i];
        if (e->kind != E_EXPR)
            continue;
        sx_mv v;
        if (sx_expr_eval(e->expr, record, &v, msg, sizeof msg) != 0) {
            rc = apply_error(m, e->key, message, cap, "%s", msg);
            break;
        }
        results[i] = sx_mv_to_json(&v);
        if (results[i] == NULL)
            rc = apply_error(m, e->key, message, cap, "%s", unrepresentable(&v));
        sx_mv_clear(&v);
    }
    if (rc != 1) {
        release(results, m->n_entries);
        if (results != small)
            free(results);
        return rc;
    }

    if (!m->keep_unmapped) {
        const char *key;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(record, tmp, key, v)
        {
            if (json_object_get(m->kept, key) == NULL)
                json_object_del(record, key);
        }
    }
    for (size_t i = 0; i < m->n_entries; i++) {
        const map_entry *e = &m->entries[i];
        if (e->kind == E_DROP) {
            json_object_del(record, e->key);
        } else if (json_object_set_new(record, e->key, results[i]) != 0) {
            results[i] = NULL; /* set_new consumed it even on failure */
            rc = apply_error(m, e->key, message, cap, "out of memory");
            break;
        } else {
            results[i] = NULL;
        }
    }
    release(results, m->n_entries);
    if (results != small)
        free(results);
    return rc;
}

/* ---- stream names ---- */

int sx_stream_maps_check_streams(const json_t *map_config, const char *const *streams, size_t n,
                                 sx_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(map_config, "stream_maps"), key, v)
    {
        if (is_option(key) || is_pattern(key))
            continue;
        size_t i = 0;
        while (i < n && strcmp(streams[i], key) != 0)
            i++;
        if (i < n)
            continue;
        const char *s = sx_did_you_mean(key, streams, n);
        if (s != NULL)
            sx_error_set(err, SX_EXIT_CONFIG, "stream_maps: no stream '%s' (did you mean '%s'?)",
                         key, s);
        else
            sx_error_set(err, SX_EXIT_CONFIG, "stream_maps: no stream '%s'", key);
        return -1;
    }
    return 0;
}

/* ---- secrets for masking ---- */

static void register_secrets(const json_t *secrets)
{
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)secrets, name, v)
    {
        const char *env_name;
        const char *value = secret_value(v, &env_name);
        if (value != NULL)
            sx_mask_add(value);
    }
}

void sx_stream_maps_register_secrets(const json_t *map_config)
{
    const json_t *top = json_object_get(map_config, "stream_maps");
    const char *key;
    json_t *v;
    register_secrets(json_object_get(top, "__secrets__"));
    json_object_foreach((json_t *)top, key, v) register_secrets(json_object_get(v, "__secrets__"));
    json_object_foreach(json_object_get(map_config, "streams"), key, v)
        register_secrets(json_object_get(json_object_get(v, "stream_maps"), "__secrets__"));
}
