/*
 * map_builtins.h: the functions every stream-map expression may call.
 *
 * Each takes its evaluated arguments and makes one value. Null in gives null
 * out (a missing e-mail stays missing after hashing), except coalesce and
 * concat, whose job is handling nulls. Messages never quote a value: values
 * are the personal data these functions exist to protect.
 */
#ifndef SX_MAP_BUILTINS_H
#define SX_MAP_BUILTINS_H

#include <stddef.h>

#include "map_value.h"

/* The second argument names a key of "__secrets__" and must be a string
 * literal; the compiler binds the prepared key (sx_hmac_key) to the call. */
#define SX_BI_SECRET_ARG2 0x1u
/* The second argument is a count: an integer >= 0 (checked at compile time
 * when it is a literal, at run time otherwise). */
#define SX_BI_COUNT_ARG2 0x2u

/*
 * Computes out from args (n of them, already evaluated; a function may move
 * an argument into out). bound is what the compiler bound to this call site
 * (the HMAC key), or NULL. Returns 0, or -1 with a message in msg that names
 * the function and the argument but no value.
 */
typedef int (*sx_builtin_fn)(const void *bound, sx_mv *args, size_t n, sx_mv *out, char *msg,
                             size_t cap);

typedef struct sx_builtin {
    const char *name;
    int min_args;
    int max_args;        /* -1: any number from min_args up */
    sx_mt result;        /* SX_MT_ANY: the common type of the arguments (coalesce) */
    unsigned flags;      /* SX_BI_* */
    sx_builtin_fn call;
} sx_builtin;

/* The built-in called name, or NULL. */
const sx_builtin *sx_builtin_find(const char *name);

/* The whole table (for did-you-mean); *n receives its length. */
const sx_builtin *sx_builtins(size_t *n);

#endif
