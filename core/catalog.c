#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog.h"
#include "json_file.h"

#define WHERE_MAX (PATH_MAX + 256)

/* snprintf for the JSON paths and names in messages: a path cut short still
 * says where, so truncation is accepted. */
__attribute__((format(printf, 3, 4))) static void pathf(char *out, size_t cap, const char *fmt,
                                                         ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

static const char *sname(const sx_stream *s)
{
    return s->vt.base.name;
}

static json_t *empty_schema(void)
{
    return json_pack("{s:s, s:{}}", "type", "object", "properties");
}

static void entry_clear(sx_catalog_entry *e)
{
    json_decref(e->schema);
    json_decref(e->properties);
    json_decref(e->mask);
    free(e->replication_method);
    free(e->replication_key);
    memset(e, 0, sizeof *e);
}

void sx_catalog_free(sx_catalog *cat)
{
    if (cat == NULL)
        return;
    for (size_t i = 0; i < cat->n; i++)
        entry_clear(&cat->entries[i]);
    free(cat->entries);
    cat->entries = NULL;
    cat->n = 0;
}

static int catalog_alloc(sx_catalog *cat, const sx_source *src, sx_error *err)
{
    memset(cat, 0, sizeof *cat);
    cat->entries = calloc(src->n_streams ? src->n_streams : 1, sizeof *cat->entries);
    if (cat->entries == NULL) {
        sx_error_set(err, SX_EXIT_FAILURE, "out of memory building the catalog");
        return -1;
    }
    cat->n = src->n_streams;
    for (size_t i = 0; i < src->n_streams; i++) {
        sx_catalog_entry *e = &cat->entries[i];
        e->stream = src->streams[i];
        e->schema = e->stream->schema ? json_deep_copy(e->stream->schema) : empty_schema();
        if (e->schema == NULL) {
            sx_catalog_free(cat);
            sx_error_set(err, SX_EXIT_FAILURE, "out of memory building the catalog");
            return -1;
        }
    }
    return 0;
}

int sx_catalog_default(sx_catalog *cat, const sx_source *src, sx_error *err)
{
    if (catalog_alloc(cat, src, err) != 0)
        return -1;
    for (size_t i = 0; i < cat->n; i++)
        cat->entries[i].selected = 1;
    return 0;
}

void sx_catalog_set_schema(sx_catalog_entry *e, json_t *schema)
{
    json_decref(e->schema);
    e->schema = schema;
}

sx_catalog_entry *sx_catalog_find(const sx_catalog *cat, const char *stream)
{
    for (size_t i = 0; cat != NULL && stream != NULL && i < cat->n; i++)
        if (strcmp(sname(cat->entries[i].stream), stream) == 0)
            return &cat->entries[i];
    return NULL;
}

static int is_key_property(const sx_stream *s, const char *name)
{
    for (size_t i = 0; s->vt.key_properties != NULL && s->vt.key_properties[i] != NULL; i++)
        if (strcmp(s->vt.key_properties[i], name) == 0)
            return 1;
    return 0;
}

/* --- reading metadata --- */

static void describe(const json_t *v, char *out, size_t cap)
{
    sx_json_describe(v, 1, out, cap);
}

static int fail(sx_error *err, const char *label, const char *path, const char *expected,
                const json_t *found)
{
    char what[128];
    if (found != NULL) {
        describe(found, what, sizeof what);
        sx_error_set(err, SX_EXIT_CONFIG, "%s: %s: expected %s, found %s", label, path, expected,
                     what);
    } else {
        sx_error_set(err, SX_EXIT_CONFIG, "%s: %s: expected %s", label, path, expected);
    }
    return -1;
}

/* Metadata booleans come as true/false or, in the Singer docs' own example,
 * as the strings "true"/"false". Stores the JSON boolean back. */
static int normalise_bool(json_t *md, const char *key, const char *label, const char *path,
                          sx_error *err)
{
    json_t *v = json_object_get(md, key);
    if (v == NULL || json_is_null(v))
        return 0;
    int b;
    if (sx_json_to_bool(v, &b) != 0) {
        char p[WHERE_MAX];
        pathf(p, sizeof p, "%s.%s", path, key);
        return fail(err, label, p, "a boolean (true or false)", v);
    }
    json_object_set_new(md, key, json_boolean(b));
    return 0;
}

static int check_inclusion(const json_t *md, const char *label, const char *path, sx_error *err)
{
    const json_t *v = json_object_get(md, "inclusion");
    if (v == NULL || json_is_null(v))
        return 0;
    const char *s = json_string_value(v);
    if (s != NULL && (strcmp(s, "available") == 0 || strcmp(s, "automatic") == 0 ||
                      strcmp(s, "unsupported") == 0))
        return 0;
    char p[WHERE_MAX];
    pathf(p, sizeof p, "%s.inclusion", path);
    return fail(err, label, p, "one of available|automatic|unsupported", v);
}

/* The lookup key of a breadcrumb: its compact JSON text. */
static char *crumb_key(const json_t *crumb)
{
    return json_dumps(crumb, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Reads the metadata array into map (breadcrumb text -> metadata copy). */
static int read_metadata(json_t *map, const json_t *list, const char *label, const char *base,
                         sx_error *err)
{
    char path[WHERE_MAX];
    pathf(path, sizeof path, "%s.metadata", base);
    if (list == NULL || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return fail(err, label, path, "an array", list);
    size_t i;
    const json_t *item;
    json_array_foreach(list, i, item) {
        char at[WHERE_MAX];
        pathf(at, sizeof at, "%s[%zu]", path, i);
        if (!json_is_object(item))
            return fail(err, label, at, "an object with \"breadcrumb\" and \"metadata\"", item);
        const json_t *crumb = json_object_get(item, "breadcrumb");
        const json_t *md = json_object_get(item, "metadata");
        char p[WHERE_MAX];
        pathf(p, sizeof p, "%s.breadcrumb", at);
        if (!json_is_array(crumb))
            return fail(err, label, p, "an array of strings", crumb);
        size_t k;
        const json_t *part;
        json_array_foreach(crumb, k, part) {
            if (!json_is_string(part))
                return fail(err, label, p, "an array of strings", crumb);
        }
        pathf(p, sizeof p, "%s.metadata", at);
        if (!json_is_object(md))
            return fail(err, label, p, "an object", md);
        json_t *copy = json_deep_copy(md);
        if (copy == NULL || normalise_bool(copy, "selected", label, p, err) != 0 ||
            normalise_bool(copy, "selected-by-default", label, p, err) != 0 ||
            check_inclusion(copy, label, p, err) != 0) {
            json_decref(copy);
            return -1;
        }
        char *key = crumb_key(crumb);
        if (key == NULL) {
            json_decref(copy);
            return -1;
        }
        /* A later entry for the same breadcrumb adds to the earlier one. */
        json_t *prev = json_object_get(map, key);
        if (prev != NULL) {
            json_object_update(prev, copy);
            json_decref(copy);
        } else {
            json_object_set_new(map, key, copy);
        }
        free(key);
    }
    return 0;
}

/*
 * Legacy --properties catalogs carry "selected" and "inclusion" inside the
 * schema itself (root and properties). They count as metadata wherever the
 * metadata array does not already say the same thing.
 */
static int read_legacy(json_t *map, const json_t *schema, json_t *crumb, const char *label,
                       const char *path, sx_error *err)
{
    if (!json_is_object(schema))
        return 0;
    static const char *const keys[] = {"selected", "inclusion", "selected-by-default"};
    json_t *found = json_object();
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(schema, keys[i]);
        if (v != NULL && !json_is_null(v))
            json_object_set(found, keys[i], v);
    }
    int rc = 0;
    if (json_object_size(found) > 0) {
        rc = normalise_bool(found, "selected", label, path, err);
        if (rc == 0)
            rc = normalise_bool(found, "selected-by-default", label, path, err);
        if (rc == 0)
            rc = check_inclusion(found, label, path, err);
        if (rc == 0) {
            char *key = crumb_key(crumb);
            json_t *md = json_object_get(map, key);
            if (md == NULL)
                json_object_set(map, key, found);
            else
                json_object_update_missing(md, found);
            free(key);
        }
    }
    json_decref(found);
    if (rc != 0)
        return -1;

    const json_t *props = json_object_get(schema, "properties");
    if (!json_is_object(props))
        return 0;
    const char *name;
    const json_t *sub;
    json_object_foreach((json_t *)props, name, sub) {
        char p[WHERE_MAX];
        pathf(p, sizeof p, "%s.properties.%s", path, name);
        json_array_append_new(crumb, json_string("properties"));
        json_array_append_new(crumb, json_string(name));
        rc = read_legacy(map, sub, crumb, label, p, err);
        json_array_remove(crumb, json_array_size(crumb) - 1);
        json_array_remove(crumb, json_array_size(crumb) - 1);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* --- selection: singerlib's _breadcrumb_is_selected and SelectionMask --- */

static const json_t *md_at(const json_t *map, const json_t *crumb)
{
    char *key = crumb_key(crumb);
    const json_t *md = key ? json_object_get(map, key) : NULL;
    free(key);
    return md;
}

static json_t *crumb_parent(const json_t *crumb)
{
    /* breadcrumb[:-2], as Python slices it: () for a crumb shorter than 2 */
    json_t *parent = json_array();
    size_t n = json_array_size(crumb);
    for (size_t i = 0; n >= 2 && i < n - 2; i++)
        json_array_append(parent, json_array_get(crumb, i));
    return parent;
}

/* 1 selected, 0 deselected; -1 stands for Python's None (no parent). */
static int breadcrumb_selected(const json_t *map, const json_t *crumb)
{
    if (json_object_size(map) == 0)
        return 1; /* rule 1: no metadata at all */
    const json_t *md = md_at(map, crumb);
    int parent = -1;
    if (json_array_size(crumb) > 0) {
        json_t *p = crumb_parent(crumb);
        parent = breadcrumb_selected(map, p);
        json_decref(p);
    }
    if (parent == 0)
        return 0; /* rule 2 */
    const char *inclusion = json_string_value(json_object_get(md, "inclusion"));
    if (inclusion != NULL && strcmp(inclusion, "unsupported") == 0)
        return 0; /* rule 3 */
    if (inclusion != NULL && strcmp(inclusion, "automatic") == 0)
        return 1; /* rule 4 */
    const json_t *sel = json_object_get(md, "selected");
    if (json_is_boolean(sel))
        return json_is_true(sel); /* rule 5 */
    const json_t *byd = json_object_get(md, "selected-by-default");
    if (json_is_boolean(byd))
        return json_is_true(byd); /* rule 6 */
    return parent == 1; /* rule 7 */
}

/* The SelectionMask value: breadcrumbs with metadata resolve by the rules,
 * the others take their parent's mask value, and the stream defaults to
 * selected. */
static int mask_value(const json_t *map, const json_t *crumb)
{
    if (md_at(map, crumb) != NULL)
        return breadcrumb_selected(map, crumb);
    if (json_array_size(crumb) >= 2) {
        json_t *p = crumb_parent(crumb);
        int v = mask_value(map, p);
        json_decref(p);
        return v;
    }
    return 1;
}

static json_t *mask_node(int selected)
{
    return json_pack("{s:b, s:{}}", "s", selected, "p");
}

/* The node of the mask tree for a "properties" breadcrumb, created (with its
 * resolved value) along the way; NULL for breadcrumbs of another form. */
static json_t *mask_node_for(json_t *tree, const json_t *map, const json_t *crumb)
{
    size_t n = json_array_size(crumb);
    if (n % 2 != 0)
        return NULL;
    json_t *node = tree;
    json_t *path = json_array();
    for (size_t i = 0; i < n; i += 2) {
        const char *kw = json_string_value(json_array_get(crumb, i));
        const char *name = json_string_value(json_array_get(crumb, i + 1));
        if (kw == NULL || name == NULL || strcmp(kw, "properties") != 0) {
            json_decref(path);
            return NULL;
        }
        json_array_append(path, json_array_get(crumb, i));
        json_array_append(path, json_array_get(crumb, i + 1));
        json_t *children = json_object_get(node, "p");
        json_t *child = json_object_get(children, name);
        if (child == NULL) {
            child = mask_node(mask_value(map, path));
            json_object_set_new(children, name, child);
        }
        node = child;
    }
    json_decref(path);
    return node;
}

/* Fills the entry's selection from the metadata map. */
static int resolve_selection(sx_catalog_entry *e, const json_t *map)
{
    json_t *root = json_array();
    e->selected = mask_value(map, root);
    json_decref(root);
    if (json_object_size(map) == 0)
        return 0; /* everything selected: mask and properties stay NULL */

    /* Properties resolve as if the stream were selected: whether the stream
     * is read is e->selected's business, and this way a stream deselected
     * in the catalog but selected by the config, or re-selected by a user
     * editing the discover output, keeps its property choices. */
    json_t *own = json_deep_copy(map);
    json_object_set_new(own, "[]", json_pack("{s:b}", "selected", 1));
    json_t *tree = mask_node(1);
    const char *key;
    const json_t *md;
    json_object_foreach(own, key, md) {
        json_t *crumb = json_loads(key, JSON_DECODE_ANY, NULL);
        if (json_array_size(crumb) > 0)
            mask_node_for(tree, own, crumb);
        json_decref(crumb);
    }
    json_decref(own);
    /* Key properties cannot be deselected. */
    json_t *top = json_object_get(tree, "p");
    const sx_stream *s = e->stream;
    for (size_t i = 0; s->vt.key_properties != NULL && s->vt.key_properties[i] != NULL; i++) {
        json_t *node = json_object_get(top, s->vt.key_properties[i]);
        if (node != NULL)
            json_object_set_new(node, "s", json_true());
        else
            json_object_set_new(top, s->vt.key_properties[i], mask_node(1));
    }

    /* The top-level "keep" set, for callers that only need names. */
    int all = 1;
    json_t *keep = json_object();
    const json_t *props = json_object_get(e->schema, "properties");
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)props, name, v) {
        (void)v;
        const json_t *node = json_object_get(top, name);
        int sel = node ? json_is_true(json_object_get(node, "s")) : 1;
        if (sel)
            json_object_set_new(keep, name, json_true());
        else
            all = 0;
    }
    json_object_foreach(top, name, v) {
        if (json_is_true(json_object_get(v, "s")))
            json_object_set_new(keep, name, json_true());
        else
            all = 0;
    }
    e->mask = tree;
    if (all)
        json_decref(keep);
    else
        e->properties = keep;
    return 0;
}

int sx_catalog_property_selected(const sx_catalog_entry *e, const char *property)
{
    if (!e->selected)
        return 0;
    if (e->mask == NULL || is_key_property(e->stream, property))
        return 1;
    const json_t *node = json_object_get(json_object_get(e->mask, "p"), property);
    return json_is_true(json_object_get(node ? node : e->mask, "s"));
}

static void filter(const json_t *node, json_t *record)
{
    const json_t *children = json_object_get(node, "p");
    int parent = json_is_true(json_object_get(node, "s"));
    const char *key;
    json_t *value;
    void *tmp;
    json_object_foreach_safe(record, tmp, key, value) {
        const json_t *child = json_object_get(children, key);
        int sel = child ? json_is_true(json_object_get(child, "s")) : parent;
        if (!sel)
            json_object_del(record, key);
        else if (child != NULL && json_is_object(value) &&
                 json_object_size(json_object_get(child, "p")) > 0)
            filter(child, value);
    }
}

void sx_catalog_filter_record(const sx_catalog_entry *e, json_t *record)
{
    if (e->mask != NULL && json_is_object(record))
        filter(e->mask, record);
}

/* --- reading a catalog document --- */

static int read_method(sx_catalog_entry *e, const json_t *root_md, const json_t *doc_entry,
                       const char *label, const char *path, sx_error *err)
{
    const sx_stream *s = e->stream;
    const json_t *m = json_object_get(root_md, "replication-method");
    const char *m_path = "metadata.replication-method";
    if (m == NULL || json_is_null(m)) {
        m = json_object_get(doc_entry, "replication_method");
        m_path = "replication_method";
    }
    char p[WHERE_MAX];
    if (m != NULL && !json_is_null(m)) {
        pathf(p, sizeof p, "%s.%s", path, m_path);
        const char *v = json_string_value(m);
        if (v == NULL)
            return fail(err, label, p, "INCREMENTAL or FULL_TABLE", m);
        if (strcasecmp(v, "LOG_BASED") == 0) {
            sx_error_set(err, SX_EXIT_CONFIG,
                         "%s: %s: LOG_BASED is not supported by stream '%s' (INCREMENTAL or "
                         "FULL_TABLE)", label, p, sname(s));
            return -1;
        }
        if (strcasecmp(v, "INCREMENTAL") != 0 && strcasecmp(v, "FULL_TABLE") != 0)
            return fail(err, label, p, "INCREMENTAL or FULL_TABLE", m);
        if (strcasecmp(v, "INCREMENTAL") == 0 && s->vt.replication_key == NULL) {
            sx_error_set(err, SX_EXIT_CONFIG,
                         "%s: %s: INCREMENTAL needs a replication key, and stream '%s' has none "
                         "(it is always read FULL_TABLE)", label, p, sname(s));
            return -1;
        }
        e->replication_method = strdup(strcasecmp(v, "INCREMENTAL") == 0 ? "INCREMENTAL"
                                                                        : "FULL_TABLE");
    }

    const json_t *k = json_object_get(root_md, "replication-key");
    const char *k_path = "metadata.replication-key";
    if (k == NULL || json_is_null(k)) {
        k = json_object_get(doc_entry, "replication_key");
        k_path = "replication_key";
    }
    if (k != NULL && !json_is_null(k)) {
        pathf(p, sizeof p, "%s.%s", path, k_path);
        const char *v = json_string_value(k);
        if (v == NULL)
            return fail(err, label, p, "a property name", k);
        if (s->vt.replication_key == NULL || strcmp(v, s->vt.replication_key) != 0) {
            sx_error_set(err, SX_EXIT_CONFIG,
                         "%s: %s: '%s' is not a valid replication key of stream '%s' (valid: %s)",
                         label, p, v, sname(s),
                         s->vt.replication_key ? s->vt.replication_key : "none");
            return -1;
        }
        e->replication_key = strdup(v);
    }
    return 0;
}

static sx_catalog_entry *entry_named(sx_catalog *cat, const char *name)
{
    return sx_catalog_find(cat, name);
}

static int read_entry(sx_catalog *cat, const json_t *item, size_t index, const sx_source *src,
                      json_t *seen, const char *label, sx_error *err)
{
    char path[WHERE_MAX];
    pathf(path, sizeof path, "streams[%zu]", index);
    if (!json_is_object(item))
        return fail(err, label, path, "an object describing a stream", item);
    const json_t *id = json_object_get(item, "tap_stream_id");
    if (id == NULL || json_is_null(id))
        id = json_object_get(item, "stream");
    if (!json_is_string(id)) {
        char p[WHERE_MAX];
        pathf(p, sizeof p, "%s.tap_stream_id", path);
        return fail(err, label, p, "the stream's name", id);
    }
    const char *name = json_string_value(id);
    sx_catalog_entry *e = entry_named(cat, name);
    if (e == NULL) {
        const char **known = calloc(src->n_streams + 1, sizeof *known);
        for (size_t i = 0; known != NULL && i < src->n_streams; i++)
            known[i] = sname(src->streams[i]);
        char hint[160], list[1024];
        sx_suggest(name, known, known ? src->n_streams : 0, hint, sizeof hint);
        sx_name_list(known, known ? src->n_streams : 0, list, sizeof list);
        free(known);
        sx_error_set(err, SX_EXIT_CONFIG,
                     "%s: %s: unknown stream '%s'%s; streams of source '%s': %s", label, path,
                     name, hint, src->name, list);
        return -1;
    }
    if (json_object_get(seen, name) != NULL) {
        sx_error_set(err, SX_EXIT_CONFIG, "%s: %s: stream '%s' appears twice (first as %s)", label,
                     path, name, json_string_value(json_object_get(seen, name)));
        return -1;
    }
    json_object_set_new(seen, name, json_string(path));

    const json_t *schema = json_object_get(item, "schema");
    if (schema != NULL && !json_is_null(schema)) {
        if (!json_is_object(schema)) {
            char p[WHERE_MAX];
            pathf(p, sizeof p, "%s.schema", path);
            return fail(err, label, p, "a JSON Schema object", schema);
        }
        sx_catalog_set_schema(e, json_deep_copy(schema));
    }

    json_t *map = json_object();
    json_t *crumb = json_array();
    char spath[WHERE_MAX];
    pathf(spath, sizeof spath, "%s.schema", path);
    int rc = read_metadata(map, json_object_get(item, "metadata"), label, path, err);
    if (rc == 0)
        rc = read_legacy(map, e->schema, crumb, label, spath, err);
    json_decref(crumb);
    if (rc == 0) {
        json_t *root = json_array();
        const json_t *root_md = md_at(map, root);
        json_decref(root);
        rc = read_method(e, root_md, item, label, path, err);
    }
    if (rc == 0)
        rc = resolve_selection(e, map);
    json_decref(map);
    return rc;
}

int sx_catalog_from_json(sx_catalog *cat, const json_t *doc, const char *origin,
                         const sx_source *src, sx_error *err)
{
    char label[WHERE_MAX];
    pathf(label, sizeof label, "catalog file '%s'", origin ? origin : "(catalog)");
    if (!json_is_object(doc)) {
        fail(err, label, "top level", "an object with a \"streams\" array", doc);
        memset(cat, 0, sizeof *cat);
        return -1;
    }
    const json_t *streams = json_object_get(doc, "streams");
    if (!json_is_array(streams)) {
        memset(cat, 0, sizeof *cat);
        return fail(err, label, "streams", "an array of streams", streams);
    }
    if (catalog_alloc(cat, src, err) != 0)
        return -1;
    json_t *seen = json_object();
    size_t i;
    const json_t *item;
    json_array_foreach(streams, i, item) {
        if (read_entry(cat, item, i, src, seen, label, err) != 0) {
            json_decref(seen);
            sx_catalog_free(cat);
            return -1;
        }
    }
    /* Streams the document leaves out are not read. */
    for (size_t k = 0; k < cat->n; k++)
        if (json_object_get(seen, sname(cat->entries[k].stream)) == NULL)
            cat->entries[k].selected = 0;
    json_decref(seen);
    return 0;
}

int sx_catalog_load_file(sx_catalog *cat, const char *path, const sx_source *src, sx_error *err)
{
    memset(cat, 0, sizeof *cat);
    json_t *doc = sx_json_load_file(path, "catalog", 1, err);
    if (doc == NULL)
        return -1;
    int rc = sx_catalog_from_json(cat, doc, path, src, err);
    json_decref(doc);
    return rc;
}

/* --- narrowing the selection --- */

static int stream_in_group(const sx_stream *s, const char *group)
{
    for (size_t i = 0; s->vt.groups != NULL && s->vt.groups[i] != NULL; i++)
        if (strcmp(s->vt.groups[i], group) == 0)
            return 1;
    return 0;
}

/* Marks in named[] every entry a name designates; -1 (with err) for an
 * unknown name. */
static int mark_name(const sx_catalog *cat, const char *name, char *named, sx_error *err)
{
    int hit = 0;
    for (size_t i = 0; i < cat->n; i++) {
        const sx_stream *s = cat->entries[i].stream;
        if (strcmp(sname(s), name) == 0 || stream_in_group(s, name)) {
            named[i] = 1;
            hit = 1;
        }
    }
    if (hit)
        return 0;
    size_t cap = cat->n * 4 + 1, n = 0;
    const char **known = calloc(cap, sizeof *known);
    for (size_t i = 0; known != NULL && i < cat->n; i++) {
        const sx_stream *s = cat->entries[i].stream;
        known[n++] = sname(s);
        for (size_t g = 0; s->vt.groups != NULL && s->vt.groups[g] != NULL; g++) {
            int dup = 0;
            for (size_t k = 0; k < n; k++)
                dup |= strcmp(known[k], s->vt.groups[g]) == 0;
            if (!dup && n + 1 < cap)
                known[n++] = s->vt.groups[g];
        }
    }
    char hint[160], list[1024];
    sx_suggest(name, known, known ? n : 0, hint, sizeof hint);
    sx_name_list(known, known ? n : 0, list, sizeof list);
    free(known);
    sx_error_set(err, SX_EXIT_CONFIG, "selection: unknown stream or group '%s'%s; known: %s",
                 name, hint, list);
    return -1;
}

static int narrow(sx_catalog *cat, const char *named, const char *shown, sx_error *err)
{
    int any = 0;
    for (size_t i = 0; i < cat->n; i++) {
        cat->entries[i].selected = cat->entries[i].selected && named[i];
        any |= cat->entries[i].selected;
    }
    if (!any) {
        sx_error_set(err, SX_EXIT_CONFIG,
                     "selection: none of %s is selected (the catalog or the config deselects them)",
                     shown);
        return -1;
    }
    return 0;
}

int sx_catalog_select(sx_catalog *cat, const char *list, sx_error *err)
{
    char *copy = strdup(list ? list : "");
    char *named = calloc(cat->n + 1, 1);
    int rc = 0, count = 0;
    if (copy == NULL || named == NULL) {
        free(copy);
        free(named);
        sx_error_set(err, SX_EXIT_FAILURE, "out of memory");
        return -1;
    }
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok != NULL && rc == 0;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        size_t n = strlen(tok);
        while (n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '\t'))
            tok[--n] = '\0';
        if (n == 0)
            continue;
        count++;
        rc = mark_name(cat, tok, named, err);
    }
    free(copy);
    if (rc == 0 && count == 0) {
        sx_error_set(err, SX_EXIT_CONFIG, "selection: no stream or group named in '%s'",
                     list ? list : "");
        rc = -1;
    }
    if (rc == 0) {
        char shown[512];
        pathf(shown, sizeof shown, "'%s'", list);
        rc = narrow(cat, named, shown, err);
    }
    free(named);
    return rc;
}

int sx_catalog_select_json(sx_catalog *cat, const json_t *names, sx_error *err)
{
    if (!json_is_array(names) || json_array_size(names) == 0) {
        sx_error_set(err, SX_EXIT_CONFIG,
                     "option 'select': expected a non-empty array of stream or group names");
        return -1;
    }
    char *named = calloc(cat->n + 1, 1);
    if (named == NULL) {
        sx_error_set(err, SX_EXIT_FAILURE, "out of memory");
        return -1;
    }
    char *shown = json_dumps(names, JSON_COMPACT);
    size_t i;
    const json_t *v;
    int rc = 0;
    json_array_foreach(names, i, v) {
        if (!json_is_string(v)) {
            char what[128];
            describe(v, what, sizeof what);
            sx_error_set(err, SX_EXIT_CONFIG,
                         "option 'select': item %zu: expected a stream or group name, found %s", i,
                         what);
            rc = -1;
            break;
        }
        if ((rc = mark_name(cat, json_string_value(v), named, err)) != 0)
            break;
    }
    if (rc == 0)
        rc = narrow(cat, named, shown ? shown : "the names", err);
    free(shown);
    free(named);
    return rc;
}

int sx_catalog_apply_config(sx_catalog *cat, const sx_config *cfg, sx_error *err)
{
    for (size_t i = 0; i < cat->n; i++) {
        sx_catalog_entry *e = &cat->entries[i];
        const char *name = sname(e->stream);
        int b;
        const json_t *sel = sx_config_host_value(cfg, name, "selected");
        if (sel != NULL && sx_json_to_bool(sel, &b) == 0)
            e->selected = b;
        const json_t *m = sx_config_host_value(cfg, name, "replication_method");
        if (json_is_string(m)) {
            if (strcmp(json_string_value(m), "INCREMENTAL") == 0 &&
                e->stream->vt.replication_key == NULL) {
                sx_error_set(err, SX_EXIT_CONFIG,
                             "streams.%s.replication_method: INCREMENTAL needs a replication key, "
                             "and stream '%s' has none (it is always read FULL_TABLE)", name, name);
                return -1;
            }
            free(e->replication_method);
            e->replication_method = strdup(json_string_value(m));
        }
    }
    const json_t *select = sx_config_host_value(cfg, NULL, "select");
    if (select != NULL)
        return sx_catalog_select_json(cat, select, err);
    return 0;
}

int sx_catalog_sync_mode(const sx_catalog_entry *e)
{
    if (e->stream->vt.replication_key == NULL)
        return SIPHON_SYNC_FULL_TABLE;
    if (e->replication_method != NULL && strcmp(e->replication_method, "FULL_TABLE") == 0)
        return SIPHON_SYNC_FULL_TABLE;
    return SIPHON_SYNC_INCREMENTAL;
}

/* --- writing the discover document --- */

static json_t *string_array(const char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static void property_metadata(json_t *list, const sx_catalog_entry *e, const json_t *schema,
                              json_t *crumb, const json_t *node, int top)
{
    const json_t *props = json_object_get(schema, "properties");
    if (!json_is_object(props))
        return;
    const sx_stream *s = e->stream;
    const char *name;
    const json_t *sub;
    json_object_foreach((json_t *)props, name, sub) {
        json_t *bc = json_deep_copy(crumb);
        json_array_append_new(bc, json_string("properties"));
        json_array_append_new(bc, json_string(name));
        const json_t *child = node ? json_object_get(json_object_get(node, "p"), name) : NULL;
        int sel = child ? json_is_true(json_object_get(child, "s"))
                        : node ? json_is_true(json_object_get(node, "s")) : 1;
        int automatic = top && (is_key_property(s, name) ||
                                (s->vt.replication_key && strcmp(s->vt.replication_key, name) == 0));
        json_t *md = automatic ? json_pack("{s:s}", "inclusion", "automatic")
                               : json_pack("{s:s, s:b}", "inclusion", "available", "selected", sel);
        json_array_append_new(list, json_pack("{s:O, s:o}", "breadcrumb", bc, "metadata", md));
        /* A property without a node of its own passes its value down. */
        json_t *below = child ? json_incref((json_t *)child) : node ? mask_node(sel) : NULL;
        property_metadata(list, e, sub, bc, below, 0);
        json_decref(below);
        json_decref(bc);
    }
}

static json_t *entry_json(const sx_catalog_entry *e)
{
    const sx_stream *s = e->stream;
    const char *rk = s->vt.replication_key;
    int incremental = sx_catalog_sync_mode(e) == SIPHON_SYNC_INCREMENTAL;
    const char *method = incremental ? "INCREMENTAL" : "FULL_TABLE";

    json_t *root = json_pack("{s:s, s:b, s:b, s:o}", "inclusion", "available", "selected",
                             e->selected, "selected-by-default", 1, "table-key-properties",
                             string_array(s->vt.key_properties));
    if (rk != NULL) {
        json_object_set_new(root, "valid-replication-keys", json_pack("[s]", rk));
    } else {
        json_object_set_new(root, "forced-replication-method", json_string("FULL_TABLE"));
    }
    json_object_set_new(root, "replication-method", json_string(method));
    if (incremental)
        json_object_set_new(root, "replication-key", json_string(rk));
    if (s->vt.parent != NULL)
        json_object_set_new(root, "parent-tap-stream-id", json_string(s->vt.parent));

    json_t *metadata = json_array();
    json_array_append_new(metadata, json_pack("{s:[], s:o}", "breadcrumb", "metadata", root));
    json_t *crumb = json_array();
    property_metadata(metadata, e, e->schema, crumb, e->mask, 1);
    json_decref(crumb);

    json_t *out = json_pack("{s:s, s:s, s:O, s:o}", "tap_stream_id", sname(s), "stream", sname(s),
                            "schema", e->schema, "key_properties",
                            string_array(s->vt.key_properties));
    if (incremental)
        json_object_set_new(out, "replication_key", json_string(rk));
    json_object_set_new(out, "replication_method", json_string(method));
    json_object_set_new(out, "metadata", metadata);
    return out;
}

json_t *sx_catalog_to_json(const sx_catalog *cat)
{
    json_t *streams = json_array();
    for (size_t i = 0; i < cat->n; i++)
        json_array_append_new(streams, entry_json(&cat->entries[i]));
    return json_pack("{s:o}", "streams", streams);
}
