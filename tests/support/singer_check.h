/*
 * singer_check.h: a strict checker of the Singer message grammar, for tests
 * that read what siphon prints on stdout.
 *
 * Rules: every line is one JSON object with a "type" (case-insensitive) among
 * SCHEMA, RECORD, STATE, ACTIVATE_VERSION; SCHEMA has a string "stream", an
 * object "schema" and an array "key_properties" of strings naming declared
 * properties; RECORD has a "stream" whose SCHEMA came before and an object
 * "record" holding every key property (non-null) and only values of the types
 * the schema allows for declared top-level properties; time_extracted, when
 * present, is RFC 3339 UTC; STATE has an object "value"; ACTIVATE_VERSION
 * has a "stream" with a SCHEMA before and an integer "version"; when any
 * RECORD was printed, the last line is a STATE.
 */
#ifndef SXT_SINGER_CHECK_H
#define SXT_SINGER_CHECK_H

#include <stddef.h>

#include <jansson.h>

typedef struct sxt_singer {
    size_t lines, schemas, records, states, activates;
    json_t *records_by_stream;   /* {"stream": [record, ...]} (owned) */
    json_t *last_state;          /* the value of the last STATE (owned) or NULL */
} sxt_singer;

/* Checks output; returns 0, or -1 with why naming the line number and rule. */
int sxt_singer_check(const char *output, sxt_singer *out, char *why, size_t why_cap);

void sxt_singer_free(sxt_singer *s);

#endif
