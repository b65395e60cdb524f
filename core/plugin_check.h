/*
 * plugin_check.h: checking the descriptor a plugin's entry function returned.
 *
 * This is the PostgreSQL magic-block step and the OBS registration step of the
 * loader, with no file or registry involved: given a descriptor, either build
 * the host-side copies of its components or say, in one line naming the field
 * and both values, why the plugin is refused. The checks run in a fixed order
 * (magic, ABI major, ABI minor, descriptor size, build signature, mandatory
 * fields, then each component), so the first refusal is the one that tells
 * the most: a plugin of another major may not even have the fields after it.
 */
#ifndef SX_PLUGIN_CHECK_H
#define SX_PLUGIN_CHECK_H

#include <stddef.h>

#include "registry.h"

/* The smallest descriptor any ABI 1.x plugin has: every field through
 * components (the 1.0 layout; later minors only append). */
#define SX_DESC_MIN_SIZE                                                       \
    (offsetof(siphon_plugin_desc, components) + sizeof(((siphon_plugin_desc *)0)->components))

/* Whether size, declared by a plugin for a struct of the given type (an
 * older, equal or newer layout of it), is one a compiler can give it: a
 * multiple of the struct's alignment. The host copies the first size bytes
 * of such structs; any other size would cut a pointer field in two. */
#define SX_SIZE_IS_WHOLE(size, type) ((size) % _Alignof(type) == 0)

/* A plugin's components, checked and copied, not yet in a registry. Each
 * stream owns its own source (built from its declaration) until
 * sx_registry_admit merges same-named sources. */
typedef struct sx_pending {
    sx_stream **streams;  size_t n_streams;
    sx_sink **sinks;      size_t n_sinks;
} sx_pending;

/*
 * Checks desc and fills pending with host-side copies of its components (the
 * plugin fields of the copies are left NULL). Returns SX_ADMIT_OK,
 * SX_ADMIT_REFUSED with the reason in why (e.g. "ABI major: plugin has 2, host
 * has 1"), or SX_ADMIT_NOMEM. On failure pending is left empty.
 */
int sx_plugin_check(const siphon_plugin_desc *desc, sx_pending *pending, char *why,
                    size_t why_cap);

/* Frees what a pending set holds (streams with their sources, sinks). */
void sx_pending_free(sx_pending *pending);

/* Frees one stream or sink built by the checker or owned by a registry, with
 * its options and schema; a stream's source is not touched. */
void sx_stream_free(sx_stream *stream);
void sx_sink_free(sx_sink *sink);

/* Frees a source with its options and stream list (not the streams). */
void sx_source_free(sx_source *source);

/* True when name is usable as a plugin, component, source or option name:
 * non-empty, only ASCII letters, digits, '_', '-' and '.', and not starting
 * with '-'. Such names need no quoting in config keys, messages or the
 * command line (where a leading '-' would read as an option). */
int sx_name_is_valid(const char *name);

/* True when text is valid UTF-8 (so it can go into JSON output as is: the
 * catalog, `siphon plugins --json`, Singer messages). NULL is valid. */
int sx_utf8_is_valid(const char *text);

#endif
