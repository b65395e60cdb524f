/*
 * map_value.h: the values stream-map expressions compute with.
 *
 * A value is a small tagged struct rather than a jansson value so evaluating
 * an expression allocates only when a function makes a new string: property
 * values are borrowed from the record, literals from the compiled map. The
 * conversions here define the loose typing users of extraction tools expect
 * from an API that sends counts as strings: "12" is a number wherever a
 * number is wanted.
 */
#ifndef SX_MAP_VALUE_H
#define SX_MAP_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

typedef enum sx_mv_kind {
    SX_MV_NULL = 0,   /* null, or a property the record does not have */
    SX_MV_BOOL,
    SX_MV_INT,
    SX_MV_REAL,
    SX_MV_STR,
    SX_MV_JSON        /* an object or array, borrowed from the record (src) */
} sx_mv_kind;

typedef struct sx_mv {
    sx_mv_kind kind;
    int b;              /* SX_MV_BOOL */
    int64_t i;          /* SX_MV_INT */
    double d;           /* SX_MV_REAL */
    const char *s;      /* SX_MV_STR: NUL-terminated text of len bytes */
    size_t len;
    char *owned;        /* when set, s points into it and sx_mv_clear frees it */
    const json_t *src;  /* the record value this was read from, or NULL */
} sx_mv;

/*
 * The type an expression is known to produce before it runs, for the schema
 * of a computed property. SX_MT_ANY: it depends on the data.
 */
typedef enum sx_mt {
    SX_MT_ANY = 0,
    SX_MT_NULL,
    SX_MT_BOOL,
    SX_MT_INT,
    SX_MT_NUMBER,
    SX_MT_STRING
} sx_mt;

/* A null value (zero-initialised sx_mv is one too). */
#define SX_MV_INIT {SX_MV_NULL, 0, 0, 0.0, NULL, 0, NULL, NULL}

/* Frees what v owns and makes it null. */
void sx_mv_clear(sx_mv *v);

/* v borrows j (NULL: null). j must outlive v. */
void sx_mv_from_json(sx_mv *v, const json_t *j);

/* v takes ownership of s (malloc'd, NUL-terminated, len bytes). */
void sx_mv_take_str(sx_mv *v, char *s, size_t len);

/* v borrows the static or longer-lived string s. */
void sx_mv_borrow_str(sx_mv *v, const char *s, size_t len);

/* Moves src into dst (dst is overwritten, src becomes null). */
void sx_mv_move(sx_mv *dst, sx_mv *src);

/*
 * A new jansson value for v. A value read from the record comes back as that
 * value (a reference for scalars, a deep copy for objects and arrays, so no
 * container is shared between two places). NULL when out of memory, when v
 * is a number JSON cannot hold (NaN, infinity) or text that is not UTF-8.
 */
json_t *sx_mv_to_json(const sx_mv *v);

/*
 * The text of a scalar into out: a string is borrowed as is, numbers are
 * written the way JSON writes them (12, 0.5, 1.0), booleans as true/false,
 * objects and arrays as compact JSON. Null stays null. Returns 0, or -1 when
 * out of memory.
 */
int sx_mv_text(const sx_mv *v, sx_mv *out);

/*
 * Reads v as a number: a JSON number, or a string that looks like one
 * (optional sign, digits, optional fraction and exponent, nothing around it).
 * Returns 1 with *is_int and *i or *d set, 0 when v is not numeric. Booleans
 * are not numbers here.
 */
int sx_mv_numeric(const sx_mv *v, int *is_int, int64_t *i, double *d);

/* The same for a piece of text. */
int sx_parse_number(const char *s, size_t len, int *is_int, int64_t *i, double *d);

/* A name for v's type in messages: "null", "boolean", "integer", "number",
 * "string", "object", "array". Values never appear in messages: they may be
 * personal data. */
const char *sx_mv_type_name(const sx_mv *v);

/* Python-style truth: false, null, 0, 0.0, "" and empty objects and arrays
 * are false; everything else (including the string "0") is true. */
int sx_mv_truthy(const sx_mv *v);

#endif
