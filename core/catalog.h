/*
 * catalog.h: the Singer catalog, and which streams and properties a run reads.
 *
 * `siphon discover` writes a catalog of every stream of the source with its
 * schema and standard metadata (table-key-properties, valid-replication-keys,
 * forced-replication-method, inclusion automatic for key and replication
 * properties, available for the rest, selected-by-default true). `--catalog`
 * (or the legacy `--properties`) reads one back and resolves selection exactly
 * as the Meltano SDK does (singerlib _breadcrumb_is_selected):
 *   1. no metadata at all: selected;
 *   2. the parent breadcrumb is deselected: deselected;
 *   3. inclusion "unsupported": deselected, even if selected is true;
 *   4. inclusion "automatic": selected, even if selected is false;
 *   5. otherwise an explicit "selected" wins;
 *   6. otherwise "selected-by-default";
 *   7. otherwise the parent's value, or false if there is none.
 * A breadcrumb without metadata takes its parent's result, and a stream
 * without stream-level metadata is selected (the SDK's SelectionMask).
 * Booleans given as the strings "true"/"false" are accepted. Legacy catalogs
 * that put "selected" (or "inclusion") inside the schema are accepted too:
 * those keys count as metadata where the metadata array does not say
 * otherwise. Key properties cannot be deselected.
 *
 * How the selections combine in a run: the catalog (or every stream when
 * there is none), then the config's streams.NAME.selected (true or false
 * overrides the catalog), then the config's "select" and --select, each of
 * which keeps only the named streams and groups among those still selected.
 */
#ifndef SX_CATALOG_H
#define SX_CATALOG_H

#include <jansson.h>

#include "config.h"
#include "error.h"
#include "registry.h"

typedef struct sx_catalog_entry {
    sx_stream *stream;
    json_t *schema;            /* the full schema (owned) */
    int selected;              /* the stream is selected */
    /* Names of the top-level properties to keep, or NULL for all. A JSON
     * object used as a set: {"code": true, ...}. Owned. */
    json_t *properties;
    /* "INCREMENTAL"/"FULL_TABLE" and the replication key as the catalog
     * metadata gives them (replication-method, replication-key), or NULL. */
    char *replication_method;
    char *replication_key;
    /* The property selection, resolved as if the stream were selected (so
     * it survives a config that selects a stream the catalog deselects),
     * as a tree (NULL: everything selected):
     * {"s": bool, "p": {"name": {"s": bool, "p": {...}}}}; a property
     * without a node takes its parent's "s". Read it through
     * sx_catalog_property_selected and sx_catalog_filter_record. Owned. */
    json_t *mask;
} sx_catalog_entry;

typedef struct sx_catalog {
    sx_catalog_entry *entries;
    size_t n;
} sx_catalog;

/* One entry per stream of src, in load order, every stream selected, schemas
 * taken from the plugins' static schema (replace them with discovered ones
 * through sx_catalog_set_schema). */
int sx_catalog_default(sx_catalog *cat, const sx_source *src, sx_error *err);

/* Replaces an entry's schema (steals schema). */
void sx_catalog_set_schema(sx_catalog_entry *e, json_t *schema);

/*
 * Reads a catalog document (Singer catalog or legacy properties) for src.
 * origin is the file name for messages. Every entry must name a stream of
 * src (tap_stream_id, else stream); unknown names are a config error with a
 * did-you-mean. Streams of src absent from the document are unselected.
 * Schemas in the document are used as given.
 */
int sx_catalog_from_json(sx_catalog *cat, const json_t *doc, const char *origin,
                         const sx_source *src, sx_error *err);

/* Reads the catalog file at path (Singer catalog or legacy properties):
 * sx_json_load_file, then sx_catalog_from_json. */
int sx_catalog_load_file(sx_catalog *cat, const char *path, const sx_source *src, sx_error *err);

/*
 * Keeps only the named streams and groups selected (list like
 * "contacts,lists"; a name may be a stream or a group declared by a stream):
 * a stream stays selected when it was selected and is named. Unknown names
 * are a config error with a did-you-mean; so is a list that leaves no stream
 * selected.
 */
int sx_catalog_select(sx_catalog *cat, const char *list, sx_error *err);
/* The same with a JSON array of names (the config's "select"). */
int sx_catalog_select_json(sx_catalog *cat, const json_t *names, sx_error *err);

/*
 * Applies a resolved config to the catalog: streams.NAME.selected (true or
 * false) and streams.NAME.replication_method override the catalog's, then
 * "select" narrows the selection as sx_catalog_select does.
 */
int sx_catalog_apply_config(sx_catalog *cat, const sx_config *cfg, sx_error *err);

/* How the entry's stream is read this run: FULL_TABLE when the stream has no
 * replication key or the catalog/config asks for FULL_TABLE, else
 * INCREMENTAL (a siphon_sync_mode). */
int sx_catalog_sync_mode(const sx_catalog_entry *e);

/* The discover document: {"streams":[...]} with schema and metadata for every
 * entry (new reference). */
json_t *sx_catalog_to_json(const sx_catalog *cat);

/* Whether a top-level property of an entry is selected: never when the
 * stream is not; otherwise by the rules, where a property the catalog does
 * not mention (one the schema lacks: schema drift) is kept, as in the SDK,
 * and key properties always are. */
int sx_catalog_property_selected(const sx_catalog_entry *e, const char *property);

/* Removes the deselected properties from a record, nested objects included
 * (what the SDK's pop_deselected_record_properties does). Read the
 * replication key before filtering: a catalog may deselect it. */
void sx_catalog_filter_record(const sx_catalog_entry *e, json_t *record);

sx_catalog_entry *sx_catalog_find(const sx_catalog *cat, const char *stream);

void sx_catalog_free(sx_catalog *cat);

#endif
