/*
 * native_fn.h: native functions loaded from "transforms" (the libffi side of
 * transform.h), as the expression compiler and evaluator see them.
 */
#ifndef SX_NATIVE_FN_H
#define SX_NATIVE_FN_H

#include <stddef.h>

#include "map_value.h"

struct sx_functions;
typedef struct sx_native_fn sx_native_fn;

/* The function declared under name, or NULL (f may be NULL). */
const sx_native_fn *sx_functions_find(const struct sx_functions *f, const char *name);

/* How many functions f holds, and the name of the i-th (for did-you-mean). */
size_t sx_functions_count(const struct sx_functions *f);
const char *sx_functions_name(const struct sx_functions *f, size_t i);

/* The name the config gives fn. */
const char *sx_native_fn_name(const sx_native_fn *fn);

/* How many arguments a call site passes: the declared parameters less those
 * fixed by "args" constants. */
size_t sx_native_fn_site_arity(const sx_native_fn *fn);

/* How many parameters the signature declares. */
size_t sx_native_fn_params(const sx_native_fn *fn);

/* The declared signature as written in the config ("string(string,int64)"). */
const char *sx_native_fn_signature(const sx_native_fn *fn);

/* The declared C return type as an expression type. */
sx_mt sx_native_fn_result(const sx_native_fn *fn);

/*
 * Calls fn once (one ffi_call) with the call site's arguments (site_arity of
 * them) merged with the configured constants. Strict: a null argument makes
 * a null result without calling the function. Returns 0 with the result in
 * out, or -1 with a message in msg ("e164() returned NULL"). When the entry
 * sets "on_error": "null", a failure of the function itself (NULL return,
 * negative return) yields null instead; bad arguments are still errors.
 */
int sx_native_call(const sx_native_fn *fn, const sx_mv *site_args, sx_mv *out, char *msg,
                   size_t cap);

#endif
