/*
 * fake_registry.h: registries built in memory for unit tests of the parts
 * that read one (config, catalog, state, runner), without dlopen. The structs
 * are filled the way the loader fills them: host-owned option arrays with
 * parsed defaults, parsed schemas, sources that list their streams.
 *
 * Strings and arrays passed in (names, key properties, groups, option
 * tables) are borrowed: pass literals or data that outlives the registry.
 */
#ifndef SXT_FAKE_REGISTRY_H
#define SXT_FAKE_REGISTRY_H

#include "registry.h"

typedef struct sxt_stream_spec {
    const char *name;
    const char *const *key_properties;  /* NULL-terminated */
    const char *replication_key;        /* NULL: FULL_TABLE only */
    const char *parent;
    const char *const *groups;          /* NULL-terminated, or NULL */
    const char *schema_json;            /* NULL: {"type":"object","properties":{}} */
    const siphon_option *options;       /* NULL-name terminated, or NULL */
} sxt_stream_spec;

/* An empty registry. */
sx_registry *sxt_registry_new(void);

/* Adds a source with its top-level options. */
sx_source *sxt_add_source(sx_registry *reg, const char *name, const siphon_option *options);

/* Adds a stream of src. Aborts the test process on a schema that does not
 * parse: a broken fixture is a bug in the test. */
sx_stream *sxt_add_stream(sx_registry *reg, sx_source *src, const sxt_stream_spec *spec);

/* Adds a sink with its options and capability bits. */
sx_sink *sxt_add_sink(sx_registry *reg, const char *name, uint64_t caps,
                      const siphon_option *options);

/* Releases everything the sxt_add_* calls allocated. */
void sxt_registry_free(sx_registry *reg);

/*
 * A registry shaped like the Dinamize one, for tests that need realistic
 * names:
 *   source "dinamize": user (required), password (required, secret, env
 *     SXT_DINAMIZE_PASSWORD), client_code (required), requests_per_minute
 *     (int, default 60, env SXT_DINAMIZE_RPM), page_size (int, per-stream,
 *     default 1000), start_date (string), api_pin (int, secret), timezone
 *     (string, default "America/Sao_Paulo"), extra_headers (JSON, env
 *     SXT_DINAMIZE_HEADERS);
 *   streams contact_lists (key code, rk insert_date, groups "lists"),
 *     contacts (parent contact_lists, key code, rk insert_date, groups
 *     "lists" and "people", own option include_custom_fields: bool,
 *     per-stream), fields (parent contact_lists, key code, rk insert_date),
 *     list_of_values (parent fields, key code, no rk), teams (key code, no rk,
 *     groups "people");
 *   sinks "stdout" (no options) and "file" (path: required string, format:
 *     string jsonl|csv default "jsonl", token: secret string).
 */
sx_registry *sxt_registry_dinamize_like(void);

#endif
