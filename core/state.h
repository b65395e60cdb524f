/*
 * state.h: the run state in the Singer / Meltano SDK layout.
 *
 *   {"bookmarks": {
 *      "campaigns": {"replication_key": "insert_date",
 *                    "replication_key_value": "2024-05-01 10:00:00",
 *                    "replication_key_signpost": "2024-06-01 00:00:00",
 *                    "last_full_sync_ms": 1717200000000},
 *      "contacts":  {"partitions": [
 *          {"context": {"contact-list_code": "7"},
 *           "replication_key": "insert_date",
 *           "replication_key_value": "2024-05-01 10:00:00"}]}}}
 *
 * Bookmarks are compared with >= by the streams; a partition is identified by
 * its context object (equal JSON, key order ignored). Extra per-partition keys
 * a plugin stores with state_put live beside the bookmark. Unknown keys in an
 * input state are kept and written back unchanged.
 *
 * An sx_state is not thread-safe: the runner keeps the input state read-only
 * for the workers and lets only the writer thread change its own copy.
 */
#ifndef SX_STATE_H
#define SX_STATE_H

#include <stdint.h>

#include <jansson.h>

#include "error.h"

typedef struct sx_state sx_state;

sx_state *sx_state_new(void);

/*
 * Builds a state from a JSON value (copied). The shape is checked: the top
 * level must be an object, "bookmarks" an object of objects, "partitions" an
 * array of objects each with an object "context" (each context once),
 * bookmark values strings or numbers (numbers are kept as their text from
 * then on, since bookmarks compare as strings; null means none). A violation
 * is SX_EXIT_CONFIG naming origin (a file name, NULL for none) and the JSON
 * path ("state file 's.json': bookmarks.contacts.partitions[2].context:
 * expected an object, found a string"). A whole Singer STATE message
 * ({"type": "STATE", "value": {...}}) and Meltano's {"singer_state": {...}}
 * are unwrapped.
 */
sx_state *sx_state_from_json(const json_t *value, const char *origin, sx_error *err);

/* Reads a state file (a missing file is an error: the user named it; an
 * empty file is the empty state of a first run). */
sx_state *sx_state_load_file(const char *path, sx_error *err);

sx_state *sx_state_copy(const sx_state *st);

/* The whole state as JSON (new reference, a deep copy). */
json_t *sx_state_to_json(const sx_state *st);

/* The bookmark of a stream (context NULL) or of one partition, or NULL. */
const char *sx_state_bookmark(const sx_state *st, const char *stream, const json_t *context);
/* Sets it (creating the stream or partition entry); replication_key NULL
 * leaves the stored key alone, value NULL removes the bookmark. A value past
 * the entry's signpost (compared as strings) is stored as the signpost.
 * Returns 0, or -1 (a context that is not an object, out of memory). */
int sx_state_set_bookmark(sx_state *st, const char *stream, const json_t *context,
                          const char *replication_key, const char *value);

/* The signpost of a stream or partition ("replication_key_signpost"): the
 * upper bound of this run's read, fixed at its start; bookmarks never pass
 * it. Set NULL to remove. */
const char *sx_state_signpost(const sx_state *st, const char *stream, const json_t *context);
int sx_state_set_signpost(sx_state *st, const char *stream, const json_t *context,
                          const char *value);
/* Removes the signposts (and "starting_replication_value") of a stream and
 * all its partitions: done when the stream completes, as the SDK does. */
void sx_state_clear_signposts(sx_state *st, const char *stream);

/* Extra keys of a stream or partition (borrowed), and setting one (steals;
 * NULL removes). The keys that carry the layout itself (context,
 * partitions, replication_key, replication_key_value) are refused: -1, and
 * the value is released. */
const json_t *sx_state_extra(const sx_state *st, const char *stream, const json_t *context,
                             const char *key);
int sx_state_put_extra(sx_state *st, const char *stream, const json_t *context,
                       const char *key, json_t *value);

/* The wall-clock time (ms) of the stream's last complete FULL_TABLE sync, or 0. */
int64_t sx_state_last_full_sync(const sx_state *st, const char *stream);
int sx_state_set_last_full_sync(sx_state *st, const char *stream, int64_t when_ms);

/* Removes every bookmark of a stream (a FULL_TABLE run resets it): its
 * partitions, signposts and extra keys; last_full_sync_ms stays. */
void sx_state_clear_stream(sx_state *st, const char *stream);

/* Writes the state atomically (sx_write_file_atomic), indented JSON ending
 * in a newline, after checking its shape as sx_state_from_json would: a
 * state that would not load is never written. */
int sx_state_save_file(const sx_state *st, const char *path, sx_error *err);

void sx_state_free(sx_state *st);

#endif
