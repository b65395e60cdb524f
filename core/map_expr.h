/*
 * map_expr.h: the expression language of stream maps (see transform.h for
 * the grammar users write), compiled once per stream and evaluated per record.
 *
 * A compiled expression is read-only: any number of threads may evaluate it
 * at once, each against its own record.
 */
#ifndef SX_MAP_EXPR_H
#define SX_MAP_EXPR_H

#include <stddef.h>

#include <jansson.h>

#include "map_value.h"
#include "sha256.h"

struct sx_functions;

typedef struct sx_expr sx_expr;

/* A named HMAC key from "__secrets__", prepared once. */
typedef struct sx_map_secret {
    char *name;
    sx_hmac_key key;
} sx_map_secret;

/* What compilation may see. */
typedef struct sx_expr_env {
    /* The "properties" object of the stream's schema when the set of
     * properties is known (names are then checked), else NULL. */
    const json_t *known;
    const struct sx_functions *fns;    /* native functions, or NULL */
    const sx_map_secret *secrets;      /* the keys hmac_sha256 may name */
    size_t n_secrets;
    /* The property `self` stands for (the field being computed), or NULL
     * where `self` means nothing (the filter). */
    const char *self_name;
} sx_expr_env;

/*
 * Compiles text. On error returns -1 with a message in msg (cap bytes) that
 * says what is wrong and where ("expected ')' at column 13 of
 * \"sha256(email\""), never prefixed with the stream or field: the caller
 * knows those. Unknown functions, wrong argument counts, unknown properties
 * (when env->known is set) and unknown secrets are caught here.
 */
int sx_expr_compile(const char *text, const sx_expr_env *env, sx_expr **out, char *msg,
                    size_t cap);

/*
 * Evaluates e against record (an object; NULL reads as an empty record).
 * Values are borrowed from record and from e, so out must be used (turned
 * into JSON with sx_mv_to_json, tested for truth) before record changes and
 * then cleared with sx_mv_clear. Returns 0, or -1 with a message (no stream
 * or field prefix, no value quoted).
 */
int sx_expr_eval(const sx_expr *e, const json_t *record, sx_mv *out, char *msg, size_t cap);

/* When e is nothing but a property reference (`email`, `record['x-y']`,
 * `self`), the property's name; else NULL. Renames are found this way. */
const char *sx_expr_property(const sx_expr *e);

/*
 * The JSON Schema of what e produces (new reference): for a property
 * reference, a copy of that property's schema in props (or {} when unknown);
 * otherwise the type of the function, literal or operator, nullable
 * ({"type": ["string", "null"]}). NULL when out of memory.
 */
json_t *sx_expr_schema(const sx_expr *e, const json_t *props);

/* The text e was compiled from. */
const char *sx_expr_text(const sx_expr *e);

void sx_expr_free(sx_expr *e);

#endif
