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
    /* Every folder or file searched, in search order (for `siphon plugins`
     * and for messages that say where a plugin was looked for). */
    char **search_path;    size_t n_search_path;
} sx_registry;

/*
 * Loads every plugin found on the search path. host_info is passed to each
 * entry function and must outlive the registry. Refusals are recorded, not
 * returned as errors; the return is non-zero only when the registry itself
 * could not be built (out of memory), with err set.
 * plugin_path and system_dir are normally NULL: then they come from the
 * environment and the compiled-in directory as described above.
 *
 * Details a caller can rely on:
 *  - reg is overwritten (it need not be initialised); free it with
 *    sx_registry_free even when this fails.
 *  - Both lists are colon-separated; empty components are skipped. A component
 *    is a folder (its "*.so" entries are loaded in strcmp order of their
 *    names) or a single ".so" file. Folders given in the path may be symbolic
 *    links; the files in them may not.
 *  - A component that does not exist is refused ("no such directory"), except
 *    the compiled-in SIPHON_PLUGINDIR, which is skipped silently when it is
 *    absent (an uninstalled build has none).
 *  - A folder or file met twice (same device and inode) is loaded once.
 *  - A file or folder writable by group or others is refused, and so is a
 *    symbolic link to a file.
 *  - A plugin is admitted whole or refused whole: one bad component refuses
 *    the file. Component indexes in messages are 0-based, as in the C array
 *    of the descriptor ("component 0 ('x') ...").
 *  - The entry function and the reading of the descriptor run inside an
 *    sx_crash_enter mark, so a plugin that crashes there is named (crash.h).
 */
int sx_registry_load(sx_registry *reg, const siphon_host_info *host_info,
                     const char *plugin_path, const char *system_dir, sx_error *err);

/* Releases the registry's memory (not the plugins: they stay loaded). */
void sx_registry_free(sx_registry *reg);

/* Lookups by name (a stream, sink or source name, or a plugin's descriptor
 * name); NULL when nothing of that kind has the name. */
sx_stream *sx_registry_stream(const sx_registry *reg, const char *name);
sx_sink *sx_registry_sink(const sx_registry *reg, const char *name);
sx_source *sx_registry_source(const sx_registry *reg, const char *name);
const sx_plugin *sx_registry_plugin(const sx_registry *reg, const char *name);

/* Option lookup by name in a normalised table, or NULL. */
const siphon_option *sx_options_find(const sx_options *opts, const char *name);

/* The parsed default of an option of opts, or NULL when it has none. */
const json_t *sx_options_default(const sx_options *opts, const char *name);

/* The outcome of the builders below. */
typedef enum sx_admit {
    SX_ADMIT_OK = 0,
    SX_ADMIT_REFUSED = -1,   /* why says what is wrong with the plugin */
    SX_ADMIT_NOMEM = -2      /* out of memory; nothing was changed */
} sx_admit;

/*
 * Normalises a plugin's option table (strided by option_size, ended by an
 * entry whose name is NULL) into out: each entry is a zeroed host copy of
 * min(option_size, sizeof(siphon_option)) bytes, and each default_json is
 * parsed and converted to the option's type (int: a JSON integer; number: a
 * JSON number; bool: true/false; string and json: as written; strings holding
 * numbers or booleans are accepted for those types). Refused, with a reason
 * in why such as "option 'page_size': default_json '\"ten\"' does not fit
 * type int": an option_size smaller than name, type and flags; an entry with
 * a NULL name but other fields set; a name that is empty, a duplicate, not
 * [A-Za-z0-9_.-]+ or starting with '-'; an option_size that is not a
 * multiple of the struct's alignment; an unknown type; an env that is not
 * [A-Z_][A-Z0-9_]*; choices on a non-string option or with an empty entry;
 * text that is not UTF-8; a default that does not parse, does not fit its type or is not one
 * of its choices (a secret option's default is never quoted). table may be
 * NULL (no options). Returns an sx_admit; out is empty unless SX_ADMIT_OK.
 */
int sx_options_normalise(const siphon_option *table, uint32_t option_size, sx_options *out,
                         char *why, size_t why_cap);

/* Frees what sx_options_normalise built and empties opts. */
void sx_options_free(sx_options *opts);

/*
 * Building a registry: the loader's side. A checked plugin arrives as an
 * sx_pending (plugin_check.h) holding its host-side streams and sinks, each
 * stream with a source built from its own declaration.
 */
struct sx_pending;

/*
 * Admits a checked plugin: refuses it (SX_ADMIT_REFUSED, reason in why) when
 * its name or one of its stream or sink names is already loaded ("duplicate
 * stream 'contacts': already provided by /a/x.so"), or when a source it
 * declares disagrees with the same-named source already loaded (option names,
 * types, and the required and secret flags must match). On SX_ADMIT_OK the
 * registry owns plugin and everything in pending (which is left empty); on
 * any other result the caller still owns both.
 */
int sx_registry_admit(sx_registry *reg, sx_plugin *plugin, struct sx_pending *pending,
                      char *why, size_t why_cap);

/* Records a refusal of path (copied) with a printf-style reason. Returns 0,
 * or -1 when out of memory. */
int sx_registry_refuse(sx_registry *reg, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends entry (copied) to reg->search_path. Returns 0, or -1. */
int sx_registry_note_searched(sx_registry *reg, const char *entry);

/* Human names: "stream", "sink"; "DISCOVER|PARALLEL_SAFE"; "string", "int"...
 * Unknown kinds and types read "unknown"; sx_caps_format writes "none" for no
 * bit and unknown bits as hex ("DISCOVER|0x100000"), truncating to cap. */
const char *sx_kind_name(uint32_t kind);
void sx_caps_format(uint64_t caps, char *buf, size_t cap);
const char *sx_option_type_name(uint32_t type);

#endif
