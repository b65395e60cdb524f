/*
 * config.h: the one JSON config file of a run, validated against the options
 * the host and the loaded plugins declare.
 *
 * Layout (Singer style): the chosen source's options sit flat at the top level
 * ("user", "password", "client_code", "start_date", ...), beside the host's own
 * keys ("source", "sink", "streams", "select", "state_path", "workers", ...).
 * "sink" is a string naming the sink or an object {"type": NAME, ...its
 * options}. "streams" maps a stream name to an object of options flagged
 * SIPHON_OPT_PER_STREAM (and the host's per-stream keys such as
 * "replication_method").
 *
 * Overlays, applied by sx_config_resolve, strongest first:
 *   1. a file named after the option's env name, or the option name, in
 *      $CREDENTIALS_DIRECTORY (systemd LoadCredential=); one trailing
 *      newline is not part of the value;
 *   2. the environment variable the option declares (siphon_option.env);
 *      an empty variable counts as unset;
 *   3. the file.
 * They apply to the source's options and the options its streams declare
 * (at the top level) and to the sink's options (in the sink object). A value
 * from them arrives as text and is typed like one in the file; for a JSON
 * option the text is parsed as JSON when it parses, else taken as a string.
 *
 * Values: null means unset (the default applies). After resolution every
 * value of a typed option is stored typed ("60" -> 60, "true" -> true, 12 ->
 * "12" for a string, a choice in its declared spelling), so readers need no
 * coercion; JSON options are kept as written.
 */
#ifndef SX_CONFIG_H
#define SX_CONFIG_H

#include <jansson.h>

#include "error.h"
#include "registry.h"

typedef struct sx_config {
    char *path;          /* the file, or NULL for an empty config */
    json_t *root;        /* file content with overlays applied (owned) */
    sx_source *source;   /* the chosen source (after resolve) */
    sx_sink *sink;       /* the chosen sink (after resolve) */
    json_t *sink_conf;   /* the sink's option object: a reference of its own (the file's "sink"
                          * object, or an empty one); sx_config_free releases it */
} sx_config;

/* The host's own options, top level and per stream (for inspect, about and
 * validation). */
const sx_options *sx_host_options(void);
const sx_options *sx_host_stream_options(void);

/* Parses the file (NULL path: an empty config). Errors: SX_EXIT_CONFIG with
 * file, line and column. */
int sx_config_load(sx_config *cfg, const char *path, sx_error *err);

/*
 * Chooses the source (config "source", else the only loaded one) and the sink
 * (sink_override from --sink, else config "sink", else "stdout"), applies the
 * overlays, and validates every key: unknown keys are refused with a
 * did-you-mean suggestion, values are checked against their declared type and
 * choices, stream names under "streams" must exist. Registers every secret
 * with sx_mask_add. Does not check required options (sx_config_require does).
 */
int sx_config_resolve(sx_config *cfg, const sx_registry *reg, const char *sink_override,
                      sx_error *err);

/* Checks every SIPHON_OPT_REQUIRED option of the chosen source, its streams and
 * the sink is set; the message lists all that are missing. */
int sx_config_require(const sx_config *cfg, sx_error *err);

/*
 * The value of an option: streams.<stream>.<name> (when stream is given and the
 * option is per-stream), then the top level, then the declared default. NULL
 * when unset with no default. Borrowed.
 */
const json_t *sx_config_source_value(const sx_config *cfg, const sx_stream *stream,
                                     const char *name);
/* The same for the sink's options (sink object, then default). */
const json_t *sx_config_sink_value(const sx_config *cfg, const char *name);
/* The host's own options: with stream NULL a top-level option (value, else
 * default); with a stream a per-stream one (streams.<stream>.<name>, else
 * its default), never the top-level option of the same name. NULL for a
 * name the host does not declare at that level. */
const json_t *sx_config_host_value(const sx_config *cfg, const char *stream, const char *name);

/* Coercions that accept numbers as strings ("60") and booleans as strings
 * ("true"); return 0, or -1 when the value does not fit. */
int sx_json_to_int(const json_t *v, long long *out);
int sx_json_to_number(const json_t *v, double *out);
int sx_json_to_bool(const json_t *v, int *out);

/* The config with every secret replaced by "********" (new reference), for
 * `siphon about` and debug output. */
json_t *sx_config_masked(const sx_config *cfg);

/* The closest of candidates to word (Levenshtein distance at most 3, ASCII
 * case ignored, and less than the word's length), or NULL; used for every
 * did-you-mean. */
const char *sx_did_you_mean(const char *word, const char *const *candidates, size_t n);

/* Writes " (did you mean 'x'?)" into out when sx_did_you_mean finds one, else
 * the empty string; for appending to a message. */
void sx_suggest(const char *word, const char *const *candidates, size_t n, char *out,
                size_t cap);

/* Writes "a, b, c" (or "(none)") into out, cut with " ..." when it does not
 * fit; for messages that list what is known. */
void sx_name_list(const char *const *names, size_t n, char *out, size_t cap);

/* Describes a value for a message: strings and numbers as JSON text ("abc",
 * 12), cut at 80 characters, others by kind (an array, an object, null). With
 * reveal zero, strings and numbers are only named by kind ("a string"): the
 * form used for secrets. NULL (a member that is absent) reads "nothing". */
void sx_json_describe(const json_t *v, int reveal, char *out, size_t cap);

/*
 * Checks value against an option's declared type and choices. On success
 * returns 0 with *normalized a new reference to the typed value ("60" -> 60
 * for an int, "TRUE" -> true, 12 -> "12" for a string, a choice in its
 * declared spelling). On failure returns -1 with why set to e.g.
 * `expected an integer, found "abc"` (never showing a secret's value).
 */
int sx_option_value_check(const siphon_option *opt, const json_t *value, json_t **normalized,
                          char *why, size_t cap);

/* The host options' constraints beyond their type (workers 1..64, positive
 * durations, "select" an array of names, ...), checked on the typed value;
 * 0, or -1 with why set. Names it does not know pass. */
int sx_host_option_check(const char *name, const json_t *value, char *why, size_t cap);

void sx_config_free(sx_config *cfg);

#endif
