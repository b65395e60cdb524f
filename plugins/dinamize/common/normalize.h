/*
 * normalize.h: record values brought to the types their schema declares.
 *
 * The API sends most values as strings, but "build to the contract" means
 * accepting what a server may also send: numbers where strings are
 * declared, "true"/"1"/1 where booleans are. The rules come from the
 * stream's own JSON Schema, so the schema is the one declaration:
 *
 *   a property typed string (not number, integer or boolean):
 *       a number becomes its text (12 -> "12", 2.5 -> "2.5")
 *   a property typed boolean (not string):
 *       true/false, "true"/"false" (any case), "1"/"0", 1/0 -> a boolean
 *
 * Anything else is kept as it came (a value of an unexpected type is never
 * dropped, and never crashes anything); null stays null; keys the schema does
 * not declare pass through untouched.
 */
#ifndef DZ_NORMALIZE_H
#define DZ_NORMALIZE_H

#include <stddef.h>

#include <jansson.h>

typedef struct dz_shape dz_shape;

/* Reads the normalisation rules from a stream's schema text. Returns NULL
 * with why filled when the schema is not a JSON object. */
dz_shape *dz_shape_from_schema(const char *schema_json, char *why, size_t why_cap);

/* Applies the rules to one record, in place. Returns SIPHON_OK or
 * SIPHON_E_NOMEM. */
int dz_normalize(const dz_shape *shape, json_t *record);

/* Whether a top-level value of this kind under key (key_len bytes, as
 * written) is left as it is by dz_normalize: strings, booleans, null and
 * containers usually are; a number where a string or boolean is declared,
 * or a string where a boolean is, is not. */
int dz_shape_keeps(const dz_shape *shape, const char *key, size_t key_len, int kind);

/* The text of a JSON number as the API would have written it: integers in
 * full, reals in the shortest form that reads back to the same double.
 * Returns a new string value, or NULL when out of memory. */
json_t *dz_number_text(const json_t *number);

void dz_shape_free(dz_shape *shape);

#endif
