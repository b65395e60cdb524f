/*
 * transform.h: field transforms applied to records between a stream and the
 * sink: stream maps (select, drop, rename, compute, filter, alias) and native
 * functions called through libffi.
 *
 * ## Stream maps
 *
 * A map is a JSON object, given per stream at the top level of the config or
 * under the stream's own options (both merged; the per-stream keys win):
 *
 *     "stream_maps": {
 *       "contacts": {
 *         "email": "sha256(email)",              computed: replaces email
 *         "email_domain": "email_domain(email)",  computed: a new property
 *         "source": "'dinamize'",                 a constant
 *         "contact_email": "email",               a copy
 *         "name": null,                           dropped
 *         "__alias__": "people",                  the stream is written as "people"
 *         "__filter__": "status == 'V' and total_sents > 0",
 *         "__else__": null                        drop every property not named here
 *       }
 *     },
 *     "streams": {"contacts": {"stream_maps": {"phone": "mask_keep_last(phone, 4)"}}}
 *
 * - A property set to null (or the string "__NULL__") is dropped.
 * - A property set to an expression is computed: added when new, replaced
 *   when it exists. Every expression sees the record as it came from the
 *   stream, before any change of the map (so "contact_email": "email" copies
 *   the address even though "email" is hashed by the same map).
 * - Renaming is a copy plus a drop: "code_list": "code", "code": null. When
 *   the dropped property is a key property, the key follows the rename.
 * - "__else__": null drops every property the map does not name, except the
 *   key properties (Meltano's rule).
 * - "__filter__" keeps a record only when its expression is true (Python
 *   truth: false, null, 0, "" and empty objects are false).
 * - "__alias__" renames the stream; sinks then write into the alias.
 * - "__key_properties__": an array of property names (after the map) that
 *   replaces the key properties, or null for none. Dropping a key property
 *   without renaming it needs this.
 * - "__secrets__": {"name": "key text"} or {"name": {"env": "VARIABLE"}}:
 *   the keys hmac_sha256 may use (see below). Allowed in a stream's map and
 *   directly under the top-level "stream_maps" (shared by every stream).
 * - A stream mapped to null ("contacts": null) sends no record at all; a
 *   top-level "__else__": null does that to every stream without a map.
 * - Top-level keys may be fnmatch(3) patterns ("contact*"); an exact name
 *   wins over a pattern, and among patterns the first in the file wins.
 * - "__source__" (Meltano's stream duplication) is refused: one stream gives
 *   one output stream here.
 *
 * The schema follows the map: dropped properties leave it ("required" too),
 * renamed ones move, copies keep the source property's schema, computed ones
 * get the type of their function (string for the string functions, the
 * declared C return type for native ones, boolean for comparisons), always
 * nullable: {"type": ["string", "null"]}, and no longer "required".
 *
 * ## Expressions
 *
 *     property names           email, total_sents
 *     any property             record['contact-list_code'] (also _['...'])
 *     self                     the original value of the property being computed
 *     literals                 'text', "text" (escapes \\ \' \" \n \t \r),
 *                              12, -3, 1.5, 2e3, null, true, false (None, True,
 *                              False are accepted too)
 *     calls                    f(a, b)
 *     comparisons              == != < <= > >= (one per operand pair; no chains)
 *     logic                    and, or, not (short-circuit), parentheses
 *
 * A property the record does not have reads as null. When the schema lists
 * the stream's properties, naming another one is an error at startup.
 *
 * Comparisons: null equals only null and is neither smaller nor larger than
 * anything (ordering it is false); two numbers compare as numbers, and so do
 * strings that look like numbers ("12", "-0.5", "1e3") against numbers or
 * other such strings (the Dinamize API sends counts as strings); two strings
 * compare byte by byte; two booleans as false < true. Other pairs are never
 * equal, and ordering them (a non-numeric string against a number) is an
 * error for the record.
 *
 * ## Built-in functions
 *
 * Null in gives null out, except for coalesce and concat.
 *
 *     sha256(x)                lower-case hex SHA-256 of x's text
 *     hmac_sha256(x, 'name')   lower-case hex HMAC-SHA-256 of x's text under the
 *                              key "name" of "__secrets__". The second argument
 *                              is the key's name, never the key: keys stay in
 *                              the config (or the environment), are masked in
 *                              every message and log line (sx_mask_add), must
 *                              be at least 16 bytes, and are never echoed.
 *     lower(x), upper(x)       ASCII and Latin-1 letters (João <-> JOÃO)
 *     trim(x)                  ASCII white space at both ends
 *     email_domain(x)          the part after the last '@', trimmed and lower
 *                              case; null when there is none
 *     mask_keep_first(x, n)    keeps the first n characters (not bytes), the
 *     mask_keep_last(x, n)     others become '*'
 *     coalesce(a, b, ...)      the first argument that is not null
 *     concat(a, b, ...)        the texts joined; null arguments are skipped
 *     str(x)                   the text of x (numbers as JSON writes them)
 *     int(x), float(x)         x as a number (numeric strings too; int()
 *                              truncates); other text is an error
 *
 * x's text: strings as they are, numbers as JSON writes them, booleans as
 * true/false, objects and arrays as compact JSON.
 *
 * ## Native functions
 *
 * Off unless "allow_native_transforms" is true. Each "transforms" entry
 * declares one C function, which expressions then call by its "name":
 *
 *     "transforms": [
 *       {"name": "e164", "library": "/usr/lib/siphon/libsiphon-transforms-br.so",
 *        "symbol": "br_phone_e164", "signature": "string(string)", "free": "br_free"},
 *       {"name": "cpf", "library": "...", "symbol": "cpf_mask",
 *        "signature": "string(string)", "buffer": 32},
 *       {"name": "stars", "library": "...", "symbol": "repeat_char",
 *        "signature": "string(string,int64)", "buffer": 64, "args": [null, 3]}
 *     ]
 *
 * - "signature": RET(PARAM,...), up to four parameters, each of string
 *   (const char *, NUL-terminated UTF-8), int64 (int64_t), double, bool
 *   (C bool). RET is one of the same.
 * - A string result comes back one of two ways:
 *     "free": "sym"   the function returns a malloc'd char * (NULL is an
 *                     error), which the host copies and releases by calling
 *                     sym (void sym(void *)) from the same library;
 *     "buffer": N     the function is int f(char *out, size_t cap, PARAMS...)
 *                     (1 <= N <= 1048576): it writes a NUL-terminated string
 *                     into out (cap = N bytes, zero-filled before the call)
 *                     and returns a value >= 0 on success, < 0 on error. A
 *                     return >= cap means the text did not fit (snprintf's
 *                     convention) and is an error, as is no NUL within cap.
 * - "args": one entry per parameter; a constant (of the parameter's type)
 *   fixes that position, null leaves it to the call site. stars(phone) above
 *   calls repeat_char(out, 64, phone, 3).
 * - Calls are strict: a null argument gives null without calling.
 *   Arguments are converted like the built-ins do (numbers for string
 *   parameters become text, numeric strings for number parameters become
 *   numbers); what cannot be converted is an error for the record.
 * - "thread_safe": false serialises the calls with a mutex (default true:
 *   several workers call the function at once).
 * - "on_error": "null" turns a failure the function reports (NULL, negative
 *   return) into a null value; the default "fail" makes it an error for the
 *   record, naming the stream and the field.
 * - "library" is an absolute path, checked like a plugin: a regular file (not
 *   a symbolic link), neither it nor its folder writable by group or others.
 *   It is opened with dlopen(RTLD_NOW | RTLD_LOCAL) and never closed.
 * - The symbol is resolved and its ffi_cif prepared once, at load; each call
 *   is one ffi_call.
 */
#ifndef SX_TRANSFORM_H
#define SX_TRANSFORM_H

#include <stddef.h>

#include <jansson.h>

#include "error.h"

typedef struct sx_functions sx_functions;   /* native functions declared in config, loaded once */
typedef struct sx_stream_map sx_stream_map; /* the compiled map of one stream */

/*
 * Loads every "transforms" entry (dlopen with the plugin trust rules, dlsym,
 * ffi_prep_cif once). Refused unless allowed is non-zero. transforms may be
 * NULL; *out is NULL when there is nothing to load. err (SX_EXIT_CONFIG) names
 * the entry ("transforms[1] ('e164')") and what is wrong with it. Nothing is
 * loaded from a library before every check of its entry has passed.
 */
int sx_functions_load(const json_t *transforms, int allowed, sx_functions **out, sx_error *err);

/* Frees f (NULL is fine). Free every map built with f first. The libraries
 * stay loaded: code from them may still be referenced (thread-local
 * destructors, atexit handlers), as with plugins. */
void sx_functions_free(sx_functions *f);

/*
 * Compiles the map of a stream. map_config is the config root object: the
 * map is its "stream_maps"[stream] (or the first fnmatch pattern matching
 * stream) merged with "streams"[stream]."stream_maps". *out is NULL when the
 * stream has no map. schema is the stream's JSON Schema (NULL: unknown, so
 * property names go unchecked); key_properties is NULL-terminated (NULL:
 * none). fns may be NULL. Errors (SX_EXIT_CONFIG: unknown function,
 * malformed expression, unknown property where the schema lists them, a key
 * property dropped) name the stream and the field:
 *   stream 'contacts', field 'email': unknown function 'sha265' at column 1
 *   of "sha265(email)" (did you mean 'sha256'?)
 * Keys of "__secrets__" are registered with sx_mask_add here.
 */
int sx_stream_map_build(const json_t *map_config, const char *stream, const json_t *schema,
                        const char *const *key_properties, const sx_functions *fns,
                        sx_stream_map **out, sx_error *err);

/* The output stream name ("__alias__"), or NULL when the stream keeps its name. */
const char *sx_stream_map_alias(const sx_stream_map *m);

/* The transformed schema (new reference). */
json_t *sx_stream_map_schema(const sx_stream_map *m);

/* The key properties after renames and "__key_properties__" (NULL-terminated,
 * possibly empty; owned by m). */
const char *const *sx_stream_map_key_properties(const sx_stream_map *m);

/*
 * The name an input property has in the output: itself when the map keeps
 * or recomputes it, its new name when the map renames it ("new": "old",
 * "old": null), NULL when the map drops it. For the replication key the sink
 * is told about: bookmarks are read from the record before the map runs,
 * but the sink sees the mapped record. The result is property or a string
 * owned by m.
 */
const char *sx_stream_map_output_name(const sx_stream_map *m, const char *property);

/*
 * Applies m to one record in place. Returns 1 keep, 0 filtered out (the
 * record is left as it was), -1 error with message (cap bytes) naming the
 * stream and the field, e.g. "stream 'contacts', field 'phone': e164()
 * returned NULL"; the record is then unchanged too. Record values never
 * appear in messages. Thread-safe: any number of threads may apply one map
 * to different records at once.
 */
int sx_stream_map_apply(const sx_stream_map *m, json_t *record, char *message, size_t cap);

/* Frees m (NULL is fine). */
void sx_stream_map_free(sx_stream_map *m);

/*
 * Checks that every stream named under the top-level "stream_maps" exists:
 * streams holds all the stream names of the source (selected or not: a map
 * of an unselected stream is no mistake). A misspelt name would otherwise
 * leave that stream's data unmapped, personal data included, without a word.
 * Patterns ("contact*") are not checked. Error (SX_EXIT_CONFIG):
 *   stream_maps: no stream 'contatcs' (did you mean 'contacts'?)
 */
int sx_stream_maps_check_streams(const json_t *map_config, const char *const *streams, size_t n,
                                 sx_error *err);

/*
 * Registers every key of the "__secrets__" objects in the config's stream
 * maps with sx_mask_add, so a config printed before any map is built (about,
 * debug output) already has them masked. map_config is the config root.
 */
void sx_stream_maps_register_secrets(const json_t *map_config);

#endif
