/*
 * registry.h: the plugins a run has, as the loader found them.
 *
 * The loader scans SIPHON_PLUGIN_PATH (colon-separated, searched first) and then
 * the system plugin directory (SIPHON_PLUGIN_SYSTEM_PATH when set, even to the
 * empty string, else the compiled-in SIPHON_PLUGINDIR), opens every regular
 * "*.so" file with dlopen(RTLD_NOW | RTLD_LOCAL), calls its
 * siphon_plugin_entry, and checks the descriptor and each component. A plugin
 * that fails a check is refused with a message naming the file, the field and
 * both values; the remaining plugins still load. Loaded plugins are never
 * unloaded.
 *
 * Components are kept as zeroed host-side copies of min(declared size, host
 * size) bytes, and their option tables are normalised into host-owned arrays,
 * so the rest of the host never reads plugin memory past what the plugin
 * declared.
 */
#ifndef SX_REGISTRY_H
#define SX_REGISTRY_H

#include <stddef.h>

#include <siphon/siphon.h>

#include "error.h"

typedef struct sx_plugin {
    char *path;                       /* the file it was loaded from */
    void *handle;                     /* dlopen handle, never closed */
    const siphon_plugin_desc *desc;   /* the plugin's own descriptor */
} sx_plugin;

/* A file (or folder) the loader refused, and why. */
typedef struct sx_refusal {
    char *path;
    char *reason;   /* e.g. "ABI major: plugin has 2, host has 1" */
} sx_refusal;

/* Options normalised into a host-owned array (no terminator; n entries). */
typedef struct sx_options {
    siphon_option *items;
    json_t **defaults;   /* parsed default_json per item, NULL where none */
    size_t n;
} sx_options;

/* A source: the streams that share config, session and budget. */
typedef struct sx_source {
    char *name;
    siphon_source decl;     /* zeroed host copy of the first declaration seen */
    sx_options options;     /* normalised decl.options */
    struct sx_stream **streams;  /* the streams of this source, in load order */
    size_t n_streams;
} sx_source;

typedef struct sx_stream {
    const sx_plugin *plugin;
    siphon_stream_vtable vt;   /* zeroed host copy */
    sx_options options;        /* normalised vt.base.options */
    sx_source *source;
    json_t *schema;            /* parsed vt.schema_json (owned) */
} sx_stream;

typedef struct sx_sink {
    const sx_plugin *plugin;
    siphon_sink_vtable vt;     /* zeroed host copy */
    sx_options options;
} sx_sink;

typedef struct sx_registry {
    sx_plugin **plugins;   size_t n_plugins;
    sx_refusal *refusals;  size_t n_refusals;
    sx_source **sources;   size_t n_sources;
    sx_stream **streams;   size_t n_streams;
    sx_sink **sinks;       size_t n_sinks;
} sx_registry;

/*
 * Loads every plugin found on the search path. host_info is passed to each
 * entry function and must outlive the registry. Refusals are recorded, not
 * returned as errors; the return is non-zero only when the registry itself
 * could not be built (out of memory), with err set.
 * plugin_path and system_dir are normally NULL: then they come from the
 * environment and the compiled-in directory as described above.
 */
int sx_registry_load(sx_registry *reg, const siphon_host_info *host_info,
                     const char *plugin_path, const char *system_dir, sx_error *err);

/* Releases the registry's memory (not the plugins: they stay loaded). */
void sx_registry_free(sx_registry *reg);

sx_stream *sx_registry_stream(const sx_registry *reg, const char *name);
sx_sink *sx_registry_sink(const sx_registry *reg, const char *name);
sx_source *sx_registry_source(const sx_registry *reg, const char *name);
const sx_plugin *sx_registry_plugin(const sx_registry *reg, const char *name);

/* Option lookup by name in a normalised table, or NULL. */
const siphon_option *sx_options_find(const sx_options *opts, const char *name);

/* Human names: "stream", "sink"; "DISCOVER|PARALLEL_SAFE"; "string", "int"... */
const char *sx_kind_name(uint32_t kind);
void sx_caps_format(uint64_t caps, char *buf, size_t cap);
const char *sx_option_type_name(uint32_t type);

#endif
