/*
 * test_stream_map_support.h: helpers the transform tests share: build a map
 * from config text, apply it to record text, compare JSON. Each helper fails
 * the calling test (cr_assert) when something that should work does not.
 */
#ifndef SXT_STREAM_MAP_SUPPORT_H
#define SXT_STREAM_MAP_SUPPORT_H

#include <jansson.h>

#include "transform.h"

/* Parses JSON text; fails the test when it does not parse. */
json_t *sxt_json(const char *text);

/* Builds stream's map from config (JSON text), schema (JSON text or NULL)
 * and keys (NULL-terminated or NULL); fails the test on error. */
sx_stream_map *sxt_map(const char *config, const char *stream, const char *schema,
                       const char *const *keys, const sx_functions *fns);

/* Builds a map that must be refused; returns the message (malloc'd) and
 * checks the exit code is SX_EXIT_CONFIG. */
char *sxt_map_error(const char *config, const char *stream, const char *schema,
                    const char *const *keys, const sx_functions *fns);

/* Applies m to record (JSON text). Returns what sx_stream_map_apply returns;
 * *out gets the record afterwards (new reference), msg the message. */
int sxt_apply(const sx_stream_map *m, const char *record, json_t **out, char *msg, size_t cap);

/* Fails the test unless got equals the JSON text want (key order ignored). */
void sxt_assert_json(const json_t *got, const char *want);

/* The value of one expression over record: the map {"v": expr} of a stream
 * without schema, applied; the result as compact JSON text (malloc'd). */
char *sxt_eval(const char *expr, const char *record, const sx_functions *fns);

/* The same expression must fail on record; returns the message (malloc'd). */
char *sxt_eval_error(const char *expr, const char *record, const sx_functions *fns);

/* The compile error of expr in a stream with schema (JSON text or NULL). */
char *sxt_compile_error(const char *expr, const char *schema, const sx_functions *fns);

#endif
