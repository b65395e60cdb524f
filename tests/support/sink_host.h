/*
 * sink_host.h: a small host that drives one sink module the way siphon's
 * writer thread does, for tests and benchmarks.
 *
 * It dlopens the module the build produced (plugins/sinks/siphon-sink-NAME.so
 * under SX_TEST_BUILD_ROOT), checks its descriptor like the loader does
 * (magic, ABI, build signature, struct sizes, required callbacks), and hands
 * the sink a services table whose config getters read a JSON object given by
 * the test, falling back to the defaults the sink declares; like the real
 * host it refuses config keys the sink did not declare. Everything the sink
 * logs or reports as an error is kept for assertions. Strings and schemas
 * passed to the sink are freed as soon as each call returns, so a sink that
 * keeps a borrowed pointer fails under the sanitizers.
 *
 * The real host replaces this in the integration tests.
 */
#ifndef SXT_SINK_HOST_H
#define SXT_SINK_HOST_H

#include <stdint.h>

#include <jansson.h>

#include <siphon/siphon.h>

typedef struct sxt_sink sxt_sink;

/*
 * Loads the sink module NAME with config_json (the config's "sink" object, as
 * JSON text; NULL for {}). Returns NULL, after printing why on stderr, when
 * the module is missing or refused, or the config names an unknown option.
 */
sxt_sink *sxt_sink_load(const char *name, const char *config_json);

/* The component's capability bits. */
uint64_t sxt_sink_caps(const sxt_sink *s);

/* open(); SIPHON_OK or the sink's status. */
int sxt_sink_open(sxt_sink *s);

/* load_state(); *state is a new reference or NULL. */
int sxt_sink_load_state(sxt_sink *s, json_t **state);

/*
 * begin_stream() for stream with a JSON Schema (text; NULL for an object
 * schema without properties), key properties as "a,b" (NULL or "" for none),
 * a siphon_sync_mode, and the table version (FULL_TABLE).
 */
int sxt_sink_begin(sxt_sink *s, const char *stream, const char *schema_json, const char *keys,
                   int mode, int64_t version);

/* write_record() of one record given as JSON text. */
int sxt_sink_write(sxt_sink *s, const char *stream, const char *record_json);

/* write_record() of a record value (borrowed). */
int sxt_sink_write_value(sxt_sink *s, const char *stream, const json_t *record);

/* write_record() of a borrowed record without the defensive copy the other
 * writers make: for benchmarks, which measure the sink and not this host. */
int sxt_sink_write_borrowed(sxt_sink *s, const char *stream, const json_t *record);

/* write_record() of a record given as text (siphon_record.json, record
 * NULL), as the host hands records emitted with emit_raw to sinks with
 * SIPHON_CAP_RAW_RECORDS; the text is copied so the sink cannot keep it. */
int sxt_sink_write_text(sxt_sink *s, const char *stream, const char *json);

/* The capabilities of the open instance: base caps narrowed by
 * instance_caps when the sink has it, as the host computes them. */
uint64_t sxt_sink_instance_caps(const sxt_sink *s);

/* commit() with a state given as JSON text (NULL for none). */
int sxt_sink_commit(sxt_sink *s, const char *state_json);

/* end_stream() with SIPHON_END_COMPLETE or SIPHON_END_FAILED. */
int sxt_sink_end(sxt_sink *s, const char *stream, int how);

/* close() of the instance (once); the module stays loaded until free. */
void sxt_sink_close(sxt_sink *s);

/* Closes when still open, and unloads. */
void sxt_sink_free(sxt_sink *s);

/* The extraction time stamped on the records written from now on (ms since
 * the epoch); the default is a fixed 2024-05-01T10:00:00.000Z. */
void sxt_sink_set_clock(sxt_sink *s, int64_t ms);

/* The last message the sink reported through set_error ("" when none). */
const char *sxt_sink_error(const sxt_sink *s);

/* Every line the sink logged, one per line ("" when none). */
const char *sxt_sink_log(const sxt_sink *s);

/* The full path of a built sink module (malloc'd). */
char *sxt_sink_module_path(const char *name);

#endif
