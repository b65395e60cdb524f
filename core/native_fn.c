/*
 * native_fn.c: "transforms" entries, loaded once and called through libffi.
 *
 * Everything that can be checked is checked at load, before the run reads a
 * record: the entry's keys, the signature, the constants, the library's file
 * and folder, the symbols, the cif. What is left for each record is
 * converting the arguments, one ffi_call and converting the result.
 */
#include <dlfcn.h>
#include <errno.h>
#include <ffi.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <siphon/siphon-json.h>

#include "map_builtins.h"
#include "config.h"
#include "map_expr.h"
#include "native_fn.h"
#include "transform.h"

#define MAX_PARAMS 4
#define MAX_BUFFER (1024 * 1024)
/* Buffers up to this size live on the stack of the call. */
#define STACK_BUFFER 512

typedef enum ntype { NT_STRING = 1, NT_INT64, NT_DOUBLE, NT_BOOL } ntype;

/* C storage for one argument; ffi_call reads it through a pointer. */
typedef union cval {
    const char *s;
    int64_t i;
    double d;
    bool b;
} cval;

struct sx_native_fn {
    char *name;
    char *signature;
    char *label;                 /* "transforms[0] ('e164')" */
    void (*fn)(void);
    void (*free_fn)(void *);
    size_t buffer;               /* > 0: caller-provided buffer of this size */
    int null_on_error;
    ntype ret;
    size_t nparams;
    ntype params[MAX_PARAMS];
    int fixed[MAX_PARAMS];       /* set by a constant in "args" */
    cval consts[MAX_PARAMS];
    char *const_str[MAX_PARAMS]; /* owned text of string constants */
    size_t site_arity;
    ffi_cif cif;
    ffi_type *atypes[MAX_PARAMS + 2];
    int serialise;               /* "thread_safe": false */
    int lock_ready;
    pthread_mutex_t lock;
};

struct sx_functions {
    sx_native_fn *items;
    size_t n;
};

_Static_assert(sizeof(bool) == 1, "C bool is passed to libffi as one byte");

static const struct {
    const char *name;
    ntype type;
} TYPES[] = {
    {"string", NT_STRING},
    {"int64", NT_INT64},
    {"double", NT_DOUBLE},
    {"bool", NT_BOOL},
};

static const char *const ENTRY_KEYS[] = {
    "name", "library", "symbol", "signature", "free", "buffer", "args", "thread_safe", "on_error",
};

/* Words the expression language gives a meaning; a function cannot take them. */
static const char *const RESERVED[] = {
    "and", "or", "not", "null", "true", "false", "None", "True", "False", "record", "self", "_",
};

static const char *type_name(ntype t)
{
    for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++)
        if (TYPES[i].type == t)
            return TYPES[i].name;
    return "?";
}

static ffi_type *ffi_of(ntype t)
{
    switch (t) {
    case NT_STRING: return &ffi_type_pointer;
    case NT_INT64: return &ffi_type_sint64;
    case NT_DOUBLE: return &ffi_type_double;
    default: return &ffi_type_uint8;
    }
}

static const char *json_type_name(const json_t *v)
{
    if (v == NULL)
        return "nothing";
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* ---- the signature: RET(PARAM,...) ---- */

static void skip_spaces(const char *s, size_t *i)
{
    while (s[*i] == ' ' || s[*i] == '\t')
        (*i)++;
}

static int read_type(const char *sig, size_t *i, ntype *out, char *why, size_t cap)
{
    skip_spaces(sig, i);
    size_t start = *i;
    while ((sig[*i] >= 'a' && sig[*i] <= 'z') || (sig[*i] >= 'A' && sig[*i] <= 'Z') ||
           (sig[*i] >= '0' && sig[*i] <= '9') || sig[*i] == '_' || sig[*i] == '*')
        (*i)++;
    size_t len = *i - start;
    for (size_t k = 0; k < sizeof TYPES / sizeof TYPES[0]; k++) {
        if (strlen(TYPES[k].name) == len && strncmp(TYPES[k].name, sig + start, len) == 0) {
            *out = TYPES[k].type;
            skip_spaces(sig, i);
            return 0;
        }
    }
    if (len == 0)
        snprintf(why, cap, "expected a type at column %zu", start + 1);
    else
        snprintf(why, cap, "unknown type '%.*s' at column %zu", (int)len, sig + start, start + 1);
    return -1;
}

static int parse_signature(sx_native_fn *f, const char *sig, char *why, size_t cap)
{
    char what[256];
    size_t i = 0;
    if (read_type(sig, &i, &f->ret, what, sizeof what) != 0)
        goto bad;
    if (sig[i] != '(') {
        snprintf(what, sizeof what, "expected '(' at column %zu", i + 1);
        goto bad;
    }
    i++;
    skip_spaces(sig, &i);
    if (sig[i] != ')') {
        for (;;) {
            if (f->nparams == MAX_PARAMS) {
                snprintf(what, sizeof what, "more than %d parameters", MAX_PARAMS);
                goto bad;
            }
            if (read_type(sig, &i, &f->params[f->nparams], what, sizeof what) != 0)
                goto bad;
            f->nparams++;
            if (sig[i] != ',')
                break;
            i++;
        }
        if (sig[i] != ')') {
            snprintf(what, sizeof what, "expected ',' or ')' at column %zu", i + 1);
            goto bad;
        }
    }
    i++;
    skip_spaces(sig, &i);
    if (sig[i] != '\0') {
        snprintf(what, sizeof what, "unexpected text after ')' at column %zu", i + 1);
        goto bad;
    }
    return 0;
bad:
    snprintf(why, cap, "malformed signature \"%s\": %s (types: string, int64, double, bool)",
             sig, what);
    return -1;
}

/* ---- entry checks ---- */

static int is_identifier(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' ||
              (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

static int check_keys(const json_t *entry, char *why, size_t cap)
{
    const char *key;
    json_t *v;
    size_t n = sizeof ENTRY_KEYS / sizeof ENTRY_KEYS[0];
    json_object_foreach((json_t *)entry, key, v)
    {
        size_t k = 0;
        while (k < n && strcmp(ENTRY_KEYS[k], key) != 0)
            k++;
        if (k == n) {
            const char *s = sx_did_you_mean(key, ENTRY_KEYS, n);
            if (s != NULL)
                snprintf(why, cap, "unknown key '%s' (did you mean '%s'?)", key, s);
            else
                snprintf(why, cap, "unknown key '%s' (keys: name, library, symbol, signature, "
                         "free, buffer, args, thread_safe, on_error)", key);
            return -1;
        }
    }
    return 0;
}

static int required_string(const json_t *entry, const char *key, const char **out, char *why,
                           size_t cap)
{
    const json_t *v = json_object_get(entry, key);
    if (v == NULL) {
        snprintf(why, cap, "\"%s\" is required", key);
        return -1;
    }
    if (!json_is_string(v) || json_string_length(v) == 0) {
        snprintf(why, cap, "\"%s\" must be a non-empty string, found %s", key,
                 json_is_string(v) ? "an empty string" : json_type_name(v));
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

static int check_name(const sx_functions *fs, size_t upto, const char *name, char *why,
                      size_t cap)
{
    if (!is_identifier(name)) {
        snprintf(why, cap, "\"name\" must be an identifier (letters, digits, '_'; not starting "
                 "with a digit), found \"%s\"", name);
        return -1;
    }
    for (size_t i = 0; i < sizeof RESERVED / sizeof RESERVED[0]; i++) {
        if (strcmp(RESERVED[i], name) == 0) {
            snprintf(why, cap, "\"name\" '%s' is a word of the expression language", name);
            return -1;
        }
    }
    if (sx_builtin_find(name) != NULL) {
        snprintf(why, cap, "\"name\" '%s' is taken by a built-in function", name);
        return -1;
    }
    for (size_t i = 0; i < upto; i++) {
        if (strcmp(fs->items[i].name, name) == 0) {
            snprintf(why, cap, "\"name\" '%s' is already used by transforms[%zu]", name, i);
            return -1;
        }
    }
    return 0;
}

/* A constant from "args" for a parameter of type t, converted once. */
static int read_const(sx_native_fn *f, size_t p, const json_t *v, char *why, size_t cap)
{
    ntype t = f->params[p];
    int ok = 0;
    switch (t) {
    case NT_STRING:
        if ((ok = json_is_string(v)) != 0) {
            if (strlen(json_string_value(v)) != json_string_length(v)) {
                snprintf(why, cap, "\"args\"[%zu]: the text contains a NUL byte", p);
                return -1;
            }
            if ((f->const_str[p] = strdup(json_string_value(v))) == NULL) {
                snprintf(why, cap, "out of memory");
                return -1;
            }
            f->consts[p].s = f->const_str[p];
        }
        break;
    case NT_INT64:
        if ((ok = json_is_integer(v)) != 0)
            f->consts[p].i = json_integer_value(v);
        break;
    case NT_DOUBLE:
        if ((ok = json_is_number(v)) != 0)
            f->consts[p].d = json_number_value(v);
        break;
    case NT_BOOL:
        if ((ok = json_is_boolean(v)) != 0)
            f->consts[p].b = json_is_true(v);
        break;
    }
    if (!ok) {
        snprintf(why, cap, "\"args\"[%zu] must be null or a constant of the parameter's type %s, "
                 "found %s", p, type_name(t), json_type_name(v));
        return -1;
    }
    f->fixed[p] = 1;
    return 0;
}

static int read_options(sx_native_fn *f, const json_t *entry, char *why, size_t cap)
{
    const json_t *free_v = json_object_get(entry, "free");
    const json_t *buffer = json_object_get(entry, "buffer");
    const json_t *args = json_object_get(entry, "args");
    const json_t *ts = json_object_get(entry, "thread_safe");
    const json_t *on_error = json_object_get(entry, "on_error");

    if (free_v != NULL && (!json_is_string(free_v) || json_string_length(free_v) == 0)) {
        snprintf(why, cap, "\"free\" must name a function (a non-empty string), found %s",
                 json_type_name(free_v));
        return -1;
    }
    if (buffer != NULL) {
        if (!json_is_integer(buffer) || json_integer_value(buffer) < 1 ||
            json_integer_value(buffer) > MAX_BUFFER) {
            snprintf(why, cap, "\"buffer\" must be an integer from 1 to %d", MAX_BUFFER);
            return -1;
        }
        f->buffer = (size_t)json_integer_value(buffer);
    }
    if (f->ret != NT_STRING && (free_v != NULL || buffer != NULL)) {
        snprintf(why, cap, "\"%s\" applies only to functions returning string, and %s returns %s",
                 free_v != NULL ? "free" : "buffer", f->signature, type_name(f->ret));
        return -1;
    }
    if (f->ret == NT_STRING && free_v != NULL && buffer != NULL) {
        snprintf(why, cap, "\"free\" and \"buffer\" exclude each other: the function either "
                 "returns a malloc'd string or fills a buffer");
        return -1;
    }
    if (f->ret == NT_STRING && free_v == NULL && buffer == NULL) {
        snprintf(why, cap, "a function returning string needs \"free\" (the function that "
                 "releases its result) or \"buffer\" (it fills a caller's buffer instead)");
        return -1;
    }
    f->site_arity = f->nparams;
    if (args != NULL) {
        if (!json_is_array(args) || json_array_size(args) != f->nparams) {
            snprintf(why, cap, "\"args\" must be an array of %zu entries (one per parameter of "
                     "%s), found %s", f->nparams, f->signature,
                     json_is_array(args) ? "another length" : json_type_name(args));
            return -1;
        }
        for (size_t p = 0; p < f->nparams; p++) {
            const json_t *v = json_array_get(args, p);
            if (json_is_null(v))
                continue;
            if (read_const(f, p, v, why, cap) != 0)
                return -1;
            f->site_arity--;
        }
    }
    if (ts != NULL && !json_is_boolean(ts)) {
        snprintf(why, cap, "\"thread_safe\" must be true or false, found %s", json_type_name(ts));
        return -1;
    }
    f->serialise = json_is_false(ts);
    if (on_error != NULL) {
        const char *s = json_string_value(on_error);
        if (s == NULL || (strcmp(s, "fail") != 0 && strcmp(s, "null") != 0)) {
            snprintf(why, cap, "\"on_error\" must be \"fail\" or \"null\"");
            return -1;
        }
        f->null_on_error = strcmp(s, "null") == 0;
    }
    return 0;
}

/*
 * The plugin trust rules: anyone who can write the library, or replace it in
 * its folder, could run code in every siphon run. A symbolic link is refused
 * so the checked file is the opened file; the message names its target so the
 * fix is one edit.
 */
static int check_library(const char *path, char *why, size_t cap)
{
    if (path[0] != '/') {
        snprintf(why, cap, "\"library\" must be an absolute path, found \"%s\"", path);
        return -1;
    }
    struct stat st;
    if (lstat(path, &st) != 0) {
        snprintf(why, cap, "cannot load library %s: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISLNK(st.st_mode)) {
        char *target = realpath(path, NULL);
        snprintf(why, cap, "library %s is a symbolic link; name the file itself%s%s%s", path,
                 target ? " (" : "", target ? target : "", target ? ")" : "");
        free(target);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, cap, "library %s is not a regular file", path);
        return -1;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(why, cap, "library %s: mode %04o is writable by group or others", path,
                 (unsigned)(st.st_mode & 07777));
        return -1;
    }
    char *copy = strdup(path);
    if (copy == NULL) {
        snprintf(why, cap, "out of memory");
        return -1;
    }
    const char *dir = dirname(copy);
    int rc = 0;
    if (stat(dir, &st) != 0) {
        snprintf(why, cap, "cannot read the folder %s: %s", dir, strerror(errno));
        rc = -1;
    } else if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(why, cap, "the folder of library %s: %s has mode %04o, writable by group or "
                 "others", path, dir, (unsigned)(st.st_mode & 07777));
        rc = -1;
    }
    free(copy);
    return rc;
}

static int resolve(sx_native_fn *f, const json_t *entry, char *why, size_t cap)
{
    const char *library = json_string_value(json_object_get(entry, "library"));
    const char *symbol = json_string_value(json_object_get(entry, "symbol"));
    const char *free_sym = json_string_value(json_object_get(entry, "free"));
    if (check_library(library, why, cap) != 0)
        return -1;
    dlerror();
    /* Never closed: see sx_functions_free. */
    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        const char *e = dlerror();
        snprintf(why, cap, "cannot load library: %s", e ? e : library);
        return -1;
    }
    void *sym = dlsym(handle, symbol);
    if (sym == NULL) {
        snprintf(why, cap, "no symbol '%s' in %s", symbol, library);
        return -1;
    }
    /* POSIX dlsym returns functions as void *; copying the bits is the
     * sanctioned conversion. */
    memcpy(&f->fn, &sym, sizeof f->fn);
    if (free_sym != NULL) {
        sym = dlsym(handle, free_sym);
        if (sym == NULL) {
            snprintf(why, cap, "no symbol '%s' (\"free\") in %s", free_sym, library);
            return -1;
        }
        memcpy(&f->free_fn, &sym, sizeof f->free_fn);
    }
    return 0;
}

static int prepare_cif(sx_native_fn *f, char *why, size_t cap)
{
    unsigned n = 0;
    ffi_type *rtype;
    if (f->buffer > 0) {
        f->atypes[n++] = &ffi_type_pointer;
        f->atypes[n++] = sizeof(size_t) == 8 ? &ffi_type_uint64 : &ffi_type_uint32;
        rtype = &ffi_type_sint;
    } else {
        rtype = ffi_of(f->ret);
    }
    for (size_t p = 0; p < f->nparams; p++)
        f->atypes[n++] = ffi_of(f->params[p]);
    ffi_status st = ffi_prep_cif(&f->cif, FFI_DEFAULT_ABI, n, rtype, f->atypes);
    if (st != FFI_OK) {
        snprintf(why, cap, "libffi cannot prepare a call for %s (status %d)", f->signature,
                 (int)st);
        return -1;
    }
    return 0;
}

static int load_entry(sx_functions *fs, size_t i, const json_t *entry, char *why, size_t cap)
{
    sx_native_fn *f = &fs->items[i];
    const char *name, *library, *symbol, *signature;
    if (!json_is_object(entry)) {
        snprintf(why, cap, "expected an object, found %s", json_type_name(entry));
        return -1;
    }
    if (check_keys(entry, why, cap) != 0 || required_string(entry, "name", &name, why, cap) != 0)
        return -1;
    if (check_name(fs, i, name, why, cap) != 0)
        return -1;
    if ((f->name = strdup(name)) == NULL)
        goto nomem;
    if (asprintf(&f->label, "transforms[%zu] ('%s')", i, name) < 0) {
        f->label = NULL;
        goto nomem;
    }
    if (required_string(entry, "library", &library, why, cap) != 0 ||
        required_string(entry, "symbol", &symbol, why, cap) != 0 ||
        required_string(entry, "signature", &signature, why, cap) != 0)
        return -1;
    if ((f->signature = strdup(signature)) == NULL)
        goto nomem;
    if (parse_signature(f, signature, why, cap) != 0 || read_options(f, entry, why, cap) != 0)
        return -1;
    if (resolve(f, entry, why, cap) != 0 || prepare_cif(f, why, cap) != 0)
        return -1;
    if (f->serialise) {
        if (pthread_mutex_init(&f->lock, NULL) != 0)
            goto nomem;
        f->lock_ready = 1;
    }
    return 0;
nomem:
    snprintf(why, cap, "out of memory");
    return -1;
}

int sx_functions_load(const json_t *transforms, int allowed, sx_functions **out, sx_error *err)
{
    *out = NULL;
    if (transforms == NULL || json_is_null(transforms))
        return 0;
    if (!json_is_array(transforms)) {
        sx_error_set(err, SX_EXIT_CONFIG, "transforms: expected an array, found %s",
                     json_type_name(transforms));
        return -1;
    }
    size_t n = json_array_size(transforms);
    if (n == 0)
        return 0;
    if (!allowed) {
        /* Refused before any library is touched: loading one runs its code. */
        const json_t *first = json_array_get(transforms, 0);
        const char *name = json_string_value(json_object_get(first, "name"));
        const char *lib = json_string_value(json_object_get(first, "library"));
        sx_error_set(err, SX_EXIT_CONFIG,
                     "transforms[0]%s%s%s: native functions are disabled; set "
                     "\"allow_native_transforms\": true to load %s%s",
                     name ? " ('" : "", name ? name : "", name ? "')" : "",
                     lib ? lib : "its library", n > 1 ? " and the other entries" : "");
        return -1;
    }
    sx_functions *fs = calloc(1, sizeof *fs);
    if (fs == NULL || (fs->items = calloc(n, sizeof *fs->items)) == NULL) {
        free(fs);
        sx_error_set(err, SX_EXIT_FAILURE, "transforms: out of memory");
        return -1;
    }
    fs->n = n;
    for (size_t i = 0; i < n; i++) {
        char why[1536];
        if (load_entry(fs, i, json_array_get(transforms, i), why, sizeof why) != 0) {
            if (fs->items[i].label != NULL)
                sx_error_set(err, SX_EXIT_CONFIG, "%s: %s", fs->items[i].label, why);
            else
                sx_error_set(err, SX_EXIT_CONFIG, "transforms[%zu]: %s", i, why);
            sx_functions_free(fs);
            return -1;
        }
    }
    *out = fs;
    return 0;
}

void sx_functions_free(sx_functions *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n; i++) {
        sx_native_fn *fn = &f->items[i];
        free(fn->name);
        free(fn->signature);
        free(fn->label);
        for (size_t p = 0; p < MAX_PARAMS; p++)
            free(fn->const_str[p]);
        if (fn->lock_ready)
            pthread_mutex_destroy(&fn->lock);
    }
    free(f->items);
    free(f);
}

const sx_native_fn *sx_functions_find(const sx_functions *f, const char *name)
{
    if (f == NULL)
        return NULL;
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->items[i].name, name) == 0)
            return &f->items[i];
    return NULL;
}

size_t sx_functions_count(const sx_functions *f)
{
    return f != NULL ? f->n : 0;
}

const char *sx_functions_name(const sx_functions *f, size_t i)
{
    return f->items[i].name;
}

const char *sx_native_fn_name(const sx_native_fn *fn)
{
    return fn->name;
}

size_t sx_native_fn_site_arity(const sx_native_fn *fn)
{
    return fn->site_arity;
}

size_t sx_native_fn_params(const sx_native_fn *fn)
{
    return fn->nparams;
}

const char *sx_native_fn_signature(const sx_native_fn *fn)
{
    return fn->signature;
}

sx_mt sx_native_fn_result(const sx_native_fn *fn)
{
    switch (fn->ret) {
    case NT_STRING: return SX_MT_STRING;
    case NT_INT64: return SX_MT_INT;
    case NT_DOUBLE: return SX_MT_NUMBER;
    default: return SX_MT_BOOL;
    }
}

/* ---- calls ---- */

static int arg_error(const sx_native_fn *fn, size_t site, const char *what, char *msg, size_t cap)
{
    snprintf(msg, cap, "argument %zu of %s(): %s", site + 1, fn->name, what);
    return -1;
}

/* Converts one call-site value into C storage for a parameter of type t.
 * Text made for the call is kept in *text until the call returns. */
static int convert(const sx_native_fn *fn, size_t site, ntype t, const sx_mv *v, cval *out,
                   sx_mv *text, char *msg, size_t cap)
{
    int is_int;
    int64_t i = 0;
    double d = 0;
    switch (t) {
    case NT_STRING:
        if (sx_mv_text(v, text) != 0)
            return arg_error(fn, site, "out of memory", msg, cap);
        if (strlen(text->s) != text->len)
            return arg_error(fn, site, "the text contains a NUL byte", msg, cap);
        out->s = text->s;
        return 0;
    case NT_INT64:
        if (v->kind == SX_MV_BOOL) {
            out->i = v->b;
            return 0;
        }
        if (!sx_mv_numeric(v, &is_int, &i, &d))
            return arg_error(fn, site, v->kind == SX_MV_STR ? "expected an integer, got a string "
                             "that is not a number" : "expected an integer", msg, cap);
        if (!is_int) {
            if (d != floor(d) || !(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
                return arg_error(fn, site, "expected an integer, got a fractional or too large "
                                 "number", msg, cap);
            i = (int64_t)d;
        }
        out->i = i;
        return 0;
    case NT_DOUBLE:
        if (v->kind == SX_MV_BOOL) {
            out->d = v->b;
            return 0;
        }
        if (!sx_mv_numeric(v, &is_int, &i, &d))
            return arg_error(fn, site, v->kind == SX_MV_STR ? "expected a number, got a string "
                             "that is not a number" : "expected a number", msg, cap);
        out->d = is_int ? (double)i : d;
        return 0;
    case NT_BOOL:
        if (v->kind == SX_MV_BOOL) {
            out->b = v->b;
            return 0;
        }
        if (v->kind == SX_MV_INT && (v->i == 0 || v->i == 1)) {
            out->b = v->i == 1;
            return 0;
        }
        if (v->kind == SX_MV_STR && (strcmp(v->s, "true") == 0 || strcmp(v->s, "false") == 0)) {
            out->b = v->s[0] == 't';
            return 0;
        }
        return arg_error(fn, site, "expected a boolean (true, false, 1 or 0)", msg, cap);
    }
    return arg_error(fn, site, "unsupported type", msg, cap);
}

/* A failure the function itself reported ("returned NULL"): null or an
 * error, as the entry's "on_error" says. */
static int fn_failed(const sx_native_fn *fn, const char *what, char *msg, size_t cap)
{
    if (fn->null_on_error)
        return 0;
    snprintf(msg, cap, "%s() %s", fn->name, what);
    return -1;
}

static int take_text(const sx_native_fn *fn, const char *s, size_t len, sx_mv *out, char *msg,
                     size_t cap)
{
    if (!siphon_utf8_valid(s, len)) {
        snprintf(msg, cap, "%s() returned text that is not valid UTF-8", fn->name);
        return -1;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    memcpy(copy, s, len);
    copy[len] = '\0';
    sx_mv_take_str(out, copy, len);
    return 0;
}

/* Storage for the return value: libffi widens integral returns narrower
 * than a register to ffi_arg, so the slot is at least that big. */
typedef union ret_slot {
    ffi_arg a;
    ffi_sarg sa;
    int64_t i;
    double d;
    void *p;
} ret_slot;

static int convert_result(const sx_native_fn *fn, const ret_slot *rv, char *buf, size_t bufcap,
                          sx_mv *out, char *msg, size_t cap)
{
    if (fn->buffer > 0) {
        int r = (int)rv->sa;
        if (r < 0) {
            char what[64];
            snprintf(what, sizeof what, "failed (returned %d)", r);
            return fn_failed(fn, what, msg, cap);
        }
        if ((size_t)r >= bufcap) {
            snprintf(msg, cap, "%s() needs more than its %zu-byte buffer (returned %d); raise "
                     "\"buffer\"", fn->name, bufcap, r);
            return -1;
        }
        const char *nul = memchr(buf, '\0', bufcap);
        if (nul == NULL) {
            snprintf(msg, cap, "%s() did not end its text with a NUL within its %zu-byte buffer",
                     fn->name, bufcap);
            return -1;
        }
        return take_text(fn, buf, (size_t)(nul - buf), out, msg, cap);
    }
    switch (fn->ret) {
    case NT_STRING:
        if (rv->p == NULL)
            return fn_failed(fn, "returned NULL", msg, cap);
        return take_text(fn, rv->p, strlen(rv->p), out, msg, cap);
    case NT_INT64:
        out->kind = SX_MV_INT;
        out->i = rv->i;
        return 0;
    case NT_DOUBLE:
        if (!isfinite(rv->d))
            return fn_failed(fn, "returned NaN or infinity, which JSON cannot hold", msg, cap);
        out->kind = SX_MV_REAL;
        out->d = rv->d;
        return 0;
    case NT_BOOL:
        out->kind = SX_MV_BOOL;
        out->b = (uint8_t)rv->a != 0;
        return 0;
    }
    return -1;
}

int sx_native_call(const sx_native_fn *fn, const sx_mv *site_args, sx_mv *out, char *msg,
                   size_t cap)
{
    cval vals[MAX_PARAMS];
    sx_mv texts[MAX_PARAMS] = {SX_MV_INIT, SX_MV_INIT, SX_MV_INIT, SX_MV_INIT};
    void *avalues[MAX_PARAMS + 2];
    char stack_buf[STACK_BUFFER];
    char *buf = NULL;
    size_t bufcap = fn->buffer;
    size_t n = 0, site = 0;
    int rc = -1;

    *out = (sx_mv)SX_MV_INIT;
    for (size_t p = 0; p < fn->nparams; p++) {
        if (fn->fixed[p]) {
            vals[p] = fn->consts[p];
            continue;
        }
        const sx_mv *v = &site_args[site];
        if (v->kind == SX_MV_NULL) {
            rc = 0; /* strict: null in, null out, no call */
            goto done;
        }
        if (convert(fn, site, fn->params[p], v, &vals[p], &texts[p], msg, cap) != 0)
            goto done;
        site++;
    }
    if (fn->buffer > 0) {
        buf = bufcap <= sizeof stack_buf ? stack_buf : malloc(bufcap);
        if (buf == NULL) {
            snprintf(msg, cap, "out of memory");
            goto done;
        }
        memset(buf, 0, bufcap);
        avalues[n++] = &buf;
        avalues[n++] = &bufcap;
    }
    for (size_t p = 0; p < fn->nparams; p++)
        avalues[n++] = &vals[p];

    ret_slot rv;
    memset(&rv, 0, sizeof rv);
    sx_native_fn *mut = (sx_native_fn *)fn; /* only the mutex changes */
    if (fn->serialise)
        pthread_mutex_lock(&mut->lock);
    ffi_call((ffi_cif *)&fn->cif, fn->fn, &rv, avalues);
    rc = convert_result(fn, &rv, buf, bufcap, out, msg, cap);
    if (fn->buffer == 0 && fn->ret == NT_STRING && rv.p != NULL)
        fn->free_fn(rv.p);
    if (fn->serialise)
        pthread_mutex_unlock(&mut->lock);
done:
    for (size_t p = 0; p < MAX_PARAMS; p++)
        sx_mv_clear(&texts[p]);
    if (buf != NULL && buf != stack_buf)
        free(buf);
    return rc;
}
