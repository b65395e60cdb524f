/*
 * emu_test.h: small helpers the emulator's own tests share.
 */
#ifndef EMU_TEST_H
#define EMU_TEST_H

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "support/emulator.h"
#include "support/proc.h"

/* Starts an emulator with the given arguments and fails the test if it does
 * not come up. */
#define EMU_START(...)                                                                 \
    sxt_emulator_start((const char *const[]){__VA_ARGS__, NULL})

static inline sxt_emulator *emu_up(sxt_emulator *e)
{
    cr_assert_not_null(e, "the emulator did not start");
    return e;
}

static inline const char *emu_code(json_t *env)
{
    return json_string_value(json_object_get(env, "code"));
}

static inline json_t *emu_body(json_t *env)
{
    return json_object_get(env, "body");
}

static inline const char *emu_str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* POSTs a printf-formatted body with a token. */
static inline json_t *emu_post(sxt_emulator *e, const char *tok, const char *path,
                               const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static inline json_t *emu_post(sxt_emulator *e, const char *tok, const char *path,
                               const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *body = NULL;
    if (vasprintf(&body, fmt, ap) < 0)
        body = NULL;
    va_end(ap);
    json_t *j = sxt_emulator_call_auth(e, tok, path, body);
    free(body);
    return j;
}

/* A successful search's items (under items_key), asserting success. */
static inline json_t *emu_items(json_t *env, const char *items_key)
{
    cr_assert_not_null(env, "no JSON answer");
    cr_assert_str_eq(emu_code(env), "480001", "search failed: %s",
                     emu_str(env, "code_detail") ? emu_str(env, "code_detail") : "?");
    json_t *items = json_object_get(emu_body(env), items_key);
    cr_assert(json_is_array(items), "body has no %s array", items_key);
    return items;
}

static inline int emu_next(json_t *env)
{
    json_t *n = json_object_get(emu_body(env), "next");
    cr_assert(json_is_boolean(n), "body.next must be a boolean");
    return json_is_true(n);
}

/* A stat from /_emulator/stats. */
static inline long long emu_stat(sxt_emulator *e, const char *name)
{
    json_t *s = sxt_emulator_get(e, "/_emulator/stats");
    cr_assert_not_null(s);
    long long v = json_integer_value(json_object_get(s, name));
    json_decref(s);
    return v;
}

static inline long long emu_fault_stat(sxt_emulator *e, const char *kind)
{
    json_t *s = sxt_emulator_get(e, "/_emulator/stats");
    cr_assert_not_null(s);
    long long v = json_integer_value(json_object_get(json_object_get(s, "faults"), kind));
    json_decref(s);
    return v;
}

static inline void emu_nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static inline double emu_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
