/*
 * bench_transforms.c: what calling a native transform through libffi costs,
 * per record, against calling the same C function directly. Run by hand:
 *
 *   ninja -C build && ./build/tests/bench/transforms/bench-transforms [LIB [CALLS]]
 *
 * LIB is the contrib library libsiphon-transforms-br.so (default: the one the
 * build made). Both sides call the same functions of the same loaded library
 * file; each figure is the best of many interleaved rounds, in nanoseconds.
 *
 *   direct          br_phone_e164() + br_free(), a plain call
 *   ffi_call        the same through a prepared cif (libffi's own cost)
 *   host call       sx_native_call: argument conversion, ffi_call, result
 *                   copy and UTF-8 check, free (what a map pays per call)
 *   map apply       sx_stream_map_apply of {"phone": "e164(phone)"} on a
 *                   three-property record, against the same record update
 *                   written by hand in C with jansson
 *
 * and the same for cpf_mask, whose result comes back in a caller's buffer.
 */
#include <dlfcn.h>
#include <ffi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../../../contrib/transforms/siphon-transforms-br.h"
#include "map_value.h"
#include "native_fn.h"
#include "transform.h"

/* Many short rounds, the variants of one comparison interleaved: on a
 * shared machine a burst of load then hits every variant alike, and the
 * best round of each is the figure least disturbed. */
#define ROUNDS 21

static volatile size_t sink;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef void (*body_fn)(void *ctx, long n);

typedef struct variant {
    const char *what;
    body_fn body;
    void *ctx;
    double best;   /* ns per iteration */
} variant;

/* Measures the variants side by side and prints each against the first. */
static void compare(const char *title, variant *v, size_t nv, long n)
{
    for (size_t i = 0; i < nv; i++) {
        v[i].body(v[i].ctx, n / 10); /* warm caches and lazy binding */
        v[i].best = 1e300;
    }
    for (int r = 0; r < ROUNDS; r++) {
        for (size_t i = 0; i < nv; i++) {
            double t0 = now_ns();
            v[i].body(v[i].ctx, n);
            double per = (now_ns() - t0) / (double)n;
            if (per < v[i].best)
                v[i].best = per;
        }
    }
    printf("%s\n", title);
    for (size_t i = 0; i < nv; i++)
        printf("  %-34s %8.1f ns  x%.2f\n", v[i].what, v[i].best, v[i].best / v[0].best);
}

static const char PHONE[] = "(11) 98765-4321";
static const char CPF[] = "529.982.247-25";

/* ---- e164: a malloc'd result ---- */

static void direct_e164(void *ctx, long n)
{
    for (long i = 0; i < n; i++) {
        char *s = br_phone_e164(PHONE);
        sink += strlen(s);
        br_free(s);
    }
}

typedef struct raw_ffi {
    ffi_cif cif;
    ffi_type *args[3];
    void (*fn)(void);
    void (*free_fn)(void *);
} raw_ffi;

static void ffi_e164(void *ctx, long n)
{
    raw_ffi *r = ctx;
    const char *arg = PHONE;
    void *values[1] = {&arg};
    for (long i = 0; i < n; i++) {
        void *rv = NULL;
        ffi_call(&r->cif, r->fn, &rv, values);
        sink += strlen(rv);
        r->free_fn(rv);
    }
}

typedef struct host_ctx {
    const sx_native_fn *fn;
    const char *text;
} host_ctx;

static void host_call(void *ctx, long n)
{
    host_ctx *h = ctx;
    sx_mv arg;
    sx_mv_borrow_str(&arg, h->text, strlen(h->text));
    char msg[256];
    for (long i = 0; i < n; i++) {
        sx_mv out;
        if (sx_native_call(h->fn, &arg, &out, msg, sizeof msg) != 0) {
            fprintf(stderr, "host call failed: %s\n", msg);
            exit(1);
        }
        sink += out.len;
        sx_mv_clear(&out);
    }
}

/* ---- cpf_mask: a caller's buffer ---- */

static void direct_cpf(void *ctx, long n)
{
    for (long i = 0; i < n; i++) {
        char out[16];
        sink += (size_t)cpf_mask(out, sizeof out, CPF) + (size_t)out[4];
    }
}

static void ffi_cpf(void *ctx, long n)
{
    raw_ffi *r = ctx;
    char out[16];
    char *outp = out;
    size_t cap = sizeof out;
    const char *arg = CPF;
    void *values[3] = {&outp, &cap, &arg};
    for (long i = 0; i < n; i++) {
        ffi_arg rv;
        ffi_call(&r->cif, r->fn, &rv, values);
        sink += (size_t)(int)rv + (size_t)out[4];
    }
}

/* ---- whole records ---- */

typedef struct record_ctx {
    const sx_stream_map *map;
    const char *field;
} record_ctx;

static json_t *make_record(void)
{
    return json_pack("{s:s,s:s,s:s}", "code", "41", "phone", PHONE, "cpf", CPF);
}

static void map_apply(void *ctx, long n)
{
    record_ctx *c = ctx;
    char msg[256];
    for (long i = 0; i < n; i++) {
        json_t *r = make_record();
        if (sx_stream_map_apply(c->map, r, msg, sizeof msg) != 1) {
            fprintf(stderr, "apply failed: %s\n", msg);
            exit(1);
        }
        sink += json_string_length(json_object_get(r, c->field));
        json_decref(r);
    }
}

static void hand_e164(void *ctx, long n)
{
    for (long i = 0; i < n; i++) {
        json_t *r = make_record();
        const char *in = json_string_value(json_object_get(r, "phone"));
        char *s = in != NULL ? br_phone_e164(in) : NULL;
        json_object_set_new(r, "phone", s != NULL ? json_string(s) : json_null());
        br_free(s);
        sink += json_string_length(json_object_get(r, "phone"));
        json_decref(r);
    }
}

static void hand_cpf(void *ctx, long n)
{
    for (long i = 0; i < n; i++) {
        json_t *r = make_record();
        const char *in = json_string_value(json_object_get(r, "cpf"));
        char out[16];
        int len = in != NULL ? cpf_mask(out, sizeof out, in) : -1;
        json_object_set_new(r, "cpf", len >= 0 ? json_stringn(out, (size_t)len) : json_null());
        sink += json_string_length(json_object_get(r, "cpf"));
        json_decref(r);
    }
}

static void *must_sym(void *h, const char *name)
{
    void *s = dlsym(h, name);
    if (s == NULL) {
        fprintf(stderr, "no %s: %s\n", name, dlerror());
        exit(1);
    }
    return s;
}

int main(int argc, char **argv)
{
    const char *lib = argc > 1 ? argv[1] : SXB_BR_LIB;
    long n = argc > 2 ? atol(argv[2]) : 200000;
    char text[2048];
    snprintf(text, sizeof text,
             "[{\"name\": \"e164\", \"library\": \"%s\", \"symbol\": \"br_phone_e164\", "
             "\"signature\": \"string(string)\", \"free\": \"br_free\"},"
             "{\"name\": \"cpf\", \"library\": \"%s\", \"symbol\": \"cpf_mask\", "
             "\"signature\": \"string(string)\", \"buffer\": 16}]",
             lib, lib);
    json_t *transforms = json_loads(text, 0, NULL);
    sx_functions *fns = NULL;
    sx_error err;
    sx_error_clear(&err);
    if (sx_functions_load(transforms, 1, &fns, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    json_decref(transforms);

    /* The raw ffi_call rows use the functions of the file the config names
     * (the same file the direct calls were linked with, when LIB is the
     * built one: the loader then hands back the same copy). */
    void *h = dlopen(lib, RTLD_NOW | RTLD_NOLOAD);
    raw_ffi e164 = {0}, cpf = {0};
    void *sym = must_sym(h, "br_phone_e164");
    memcpy(&e164.fn, &sym, sizeof e164.fn);
    sym = must_sym(h, "br_free");
    memcpy(&e164.free_fn, &sym, sizeof e164.free_fn);
    e164.args[0] = &ffi_type_pointer;
    ffi_prep_cif(&e164.cif, FFI_DEFAULT_ABI, 1, &ffi_type_pointer, e164.args);
    sym = must_sym(h, "cpf_mask");
    memcpy(&cpf.fn, &sym, sizeof cpf.fn);
    cpf.args[0] = &ffi_type_pointer;
    cpf.args[1] = &ffi_type_uint64;
    cpf.args[2] = &ffi_type_pointer;
    ffi_prep_cif(&cpf.cif, FFI_DEFAULT_ABI, 3, &ffi_type_sint, cpf.args);

    json_t *root = json_loads("{\"stream_maps\": {\"a\": {\"phone\": \"e164(phone)\"}, "
                              "\"b\": {\"cpf\": \"cpf(cpf)\"}}}", 0, NULL);
    sx_stream_map *map_e164 = NULL, *map_cpf = NULL;
    if (sx_stream_map_build(root, "a", NULL, NULL, fns, &map_e164, &err) != 0 ||
        sx_stream_map_build(root, "b", NULL, NULL, fns, &map_cpf, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    json_decref(root);

    host_ctx he = {sx_functions_find(fns, "e164"), PHONE};
    host_ctx hc = {sx_functions_find(fns, "cpf"), CPF};
    record_ctx re = {map_e164, "phone"}, rc = {map_cpf, "cpf"};

    printf("native transforms through libffi: %ld calls per round, best of %d rounds\n", n,
           ROUNDS);
    variant e164_calls[] = {
        {"direct C call", direct_e164, NULL, 0},
        {"ffi_call, prepared cif", ffi_e164, &e164, 0},
        {"host call (sx_native_call)", host_call, &he, 0},
    };
    compare("br_phone_e164, string(string) freed with br_free, per call:", e164_calls, 3, n);
    variant e164_records[] = {
        {"hand-written C record update", hand_e164, NULL, 0},
        {"sx_stream_map_apply", map_apply, &re, 0},
    };
    compare("  per record {\"phone\": \"e164(phone)\"}:", e164_records, 2, n);
    variant cpf_calls[] = {
        {"direct C call", direct_cpf, NULL, 0},
        {"ffi_call, prepared cif", ffi_cpf, &cpf, 0},
        {"host call (sx_native_call)", host_call, &hc, 0},
    };
    compare("cpf_mask, string(string) with \"buffer\": 16, per call:", cpf_calls, 3, n);
    variant cpf_records[] = {
        {"hand-written C record update", hand_cpf, NULL, 0},
        {"sx_stream_map_apply", map_apply, &rc, 0},
    };
    compare("  per record {\"cpf\": \"cpf(cpf)\"}:", cpf_records, 2, n);

    sx_stream_map_free(map_e164);
    sx_stream_map_free(map_cpf);
    sx_functions_free(fns);
    return sink == 0;
}
