/*
 * fuzz_state.c: state files (core/state.c), read, changed, saved and read
 * again.
 *
 * Input: a state document, optionally preceded by operation lines, each a
 * JSON array after '#':
 *   #["bookmark", STREAM, CONTEXT|null, KEY|null, VALUE|null]
 *   #["signpost", STREAM, CONTEXT|null, VALUE|null]
 *   #["clear_signposts", STREAM]
 *   #["extra", STREAM, CONTEXT|null, KEY, VALUE]      (VALUE absent: remove)
 *   #["full_sync", STREAM, MS]
 *   #["clear", STREAM]
 * The operations run on the loaded state (or on an empty one when the
 * document is refused), then every stream and partition of the document has
 * its bookmark set again, as a run's writer would.
 *
 * Invariants:
 *  - the file and the in-memory paths agree; refusals are config errors
 *    naming the file;
 *  - what loads, written out as JSON, loads again to the same JSON;
 *  - a bookmark never passes its signpost, and reads back as set;
 *  - saving succeeds exactly when the state would load, and what was saved
 *    loads back equal; a refused save names the file and leaves the old file
 *    as it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "json_file.h"
#include "state.h"

typedef struct ops {
    json_t *list; /* the parsed operation lines */
} ops;

static void collect_op(void *user, const char *line)
{
    ops *o = user;
    json_t *op = json_loads(line, JSON_DECODE_ANY, NULL);
    if (json_is_array(op) && json_is_string(json_array_get(op, 0)) &&
        json_is_string(json_array_get(op, 1)))
        json_array_append(o->list, op);
    json_decref(op);
}

static const json_t *context_arg(const json_t *op, size_t i)
{
    const json_t *c = json_array_get(op, i);
    return json_is_null(c) ? NULL : c;
}

/* Sets a bookmark and checks what reads back. */
static void set_bookmark(sx_state *st, const char *stream, const json_t *ctx, const char *key,
                         const char *value)
{
    char *signpost = NULL;
    const char *sp = sx_state_signpost(st, stream, ctx);
    if (sp != NULL && (signpost = strdup(sp)) == NULL)
        abort();
    int rc = sx_state_set_bookmark(st, stream, ctx, key, value);
    if (rc == 0) {
        const char *got = sx_state_bookmark(st, stream, ctx);
        if (value == NULL) {
            SXT_FUZZ_CHECK(got == NULL, "removed bookmark of '%s' reads '%s'", stream, got);
        } else {
            const char *want = signpost && strcmp(value, signpost) > 0 ? signpost : value;
            SXT_FUZZ_CHECK(got != NULL && strcmp(got, want) == 0,
                           "bookmark of '%s' set to '%s' (signpost '%s') reads '%s'", stream,
                           value, signpost ? signpost : "(none)", got ? got : "(none)");
        }
    } else {
        /* Refused only for a context that is not an object or text that is
         * not UTF-8. */
        SXT_FUZZ_CHECK(ctx != NULL || value != NULL || key != NULL,
                       "set_bookmark refused a plain removal on '%s'", stream);
    }
    free(signpost);
}

static void run_op(sx_state *st, const json_t *op)
{
    const char *kind = json_string_value(json_array_get(op, 0));
    const char *stream = json_string_value(json_array_get(op, 1));
    if (strcmp(kind, "bookmark") == 0) {
        set_bookmark(st, stream, context_arg(op, 2), json_string_value(json_array_get(op, 3)),
                     json_string_value(json_array_get(op, 4)));
    } else if (strcmp(kind, "signpost") == 0) {
        const json_t *ctx = context_arg(op, 2);
        const char *v = json_string_value(json_array_get(op, 3));
        if (sx_state_set_signpost(st, stream, ctx, v) == 0) {
            const char *got = sx_state_signpost(st, stream, ctx);
            SXT_FUZZ_CHECK(v == NULL ? got == NULL : got != NULL && strcmp(got, v) == 0,
                           "signpost of '%s' reads '%s'", stream, got ? got : "(none)");
        }
    } else if (strcmp(kind, "clear_signposts") == 0) {
        sx_state_clear_signposts(st, stream);
        SXT_FUZZ_CHECK(sx_state_signpost(st, stream, NULL) == NULL, "signpost survived a clear");
    } else if (strcmp(kind, "extra") == 0) {
        const json_t *ctx = context_arg(op, 2);
        const char *key = json_string_value(json_array_get(op, 3));
        json_t *value = json_array_get(op, 4);
        json_t *copy = value ? json_deep_copy(value) : NULL;
        int rc = sx_state_put_extra(st, stream, ctx, key, copy);
        if (rc == 0 && value != NULL)
            SXT_FUZZ_CHECK(json_equal(sx_state_extra(st, stream, ctx, key), value),
                           "extra '%s' of '%s' does not read back", key, stream);
    } else if (strcmp(kind, "full_sync") == 0) {
        json_int_t ms = json_integer_value(json_array_get(op, 2));
        if (sx_state_set_last_full_sync(st, stream, ms) == 0)
            SXT_FUZZ_CHECK(sx_state_last_full_sync(st, stream) == ms, "last full sync of '%s'",
                           stream);
    } else if (strcmp(kind, "clear") == 0) {
        sx_state_clear_stream(st, stream);
        SXT_FUZZ_CHECK(sx_state_bookmark(st, stream, NULL) == NULL, "bookmark survived a clear");
    }
}

/* What a run's writer does: every stream and partition gets its bookmark
 * set again, one past what it holds. */
static void touch_everything(sx_state *st)
{
    json_t *doc = sx_state_to_json(st);
    const char *stream;
    json_t *sobj;
    json_object_foreach(json_object_get(doc, "bookmarks"), stream, sobj) {
        const char *v = sx_state_bookmark(st, stream, NULL);
        char next[512];
        snprintf(next, sizeof next, "%s~", v ? v : "");
        set_bookmark(st, stream, NULL, NULL, next);
        size_t i;
        json_t *part;
        json_array_foreach(json_object_get(sobj, "partitions"), i, part) {
            const json_t *ctx = json_object_get(part, "context");
            v = sx_state_bookmark(st, stream, ctx);
            snprintf(next, sizeof next, "%s~", v ? v : "");
            set_bookmark(st, stream, ctx, "k", next);
        }
    }
    json_decref(doc);
}

static sx_state *reload(const json_t *doc, sx_error *err)
{
    return sx_state_from_json(doc, NULL, err);
}

static void check_saves(const sx_state *st)
{
    const char *path = sxt_fuzz_path("saved-state.json");
    static const char OLD[] = "{\"bookmarks\": {}}\n";
    sxt_fuzz_write(path, OLD, sizeof OLD - 1);

    json_t *doc = sx_state_to_json(st);
    sx_error lerr;
    sx_error_clear(&lerr);
    sx_state *direct = reload(doc, &lerr);

    sx_error err;
    sx_error_clear(&err);
    int rc = sx_state_save_file(st, path, &err);
    SXT_FUZZ_CHECK((rc == 0) == (direct != NULL), "save %s but load %s: %s / %s",
                   rc == 0 ? "succeeded" : "failed", direct ? "succeeds" : "fails", err.msg,
                   lerr.msg);
    if (rc == 0) {
        sx_error lerr2;
        sx_error_clear(&lerr2);
        sx_state *back = sx_state_load_file(path, &lerr2);
        SXT_FUZZ_CHECK(back != NULL, "saved state does not load: %s", lerr2.msg);
        /* Equal to the state as loading normalises it (numbers a plugin
         * stored as bookmarks read back as text). */
        json_t *again = sx_state_to_json(back), *want = sx_state_to_json(direct);
        SXT_FUZZ_CHECK(json_equal(again, want), "saved state loads different");
        json_decref(again);
        json_decref(want);
        sx_state_free(back);
    } else {
        SXT_FUZZ_CHECK(strstr(err.msg, path) != NULL, "refused save does not name the file: %s",
                       err.msg);
        json_error_t jerr;
        json_t *still = json_load_file(path, 0, &jerr);
        json_t *old = json_loads(OLD, 0, &jerr);
        SXT_FUZZ_CHECK(json_equal(still, old), "a refused save changed the file");
        json_decref(still);
        json_decref(old);
    }
    sx_state_free(direct);
    json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ops o = {json_array()};
    sxt_fuzz_directives(&data, &size, collect_op, &o);

    const char *path = sxt_fuzz_path("state.json");
    sxt_fuzz_write(path, data, size);
    char label[600];
    snprintf(label, sizeof label, "state file '%s'", path);

    sx_error ferr, merr;
    sx_error_clear(&ferr);
    sx_error_clear(&merr);
    sx_state *from_file = sx_state_load_file(path, &ferr);
    json_t *doc = sx_json_load_string((const char *)data, size, "state", "in memory", 1, &merr);
    sx_state *st = NULL;
    if (doc != NULL)
        st = sx_state_from_json(doc, path, &merr);

    if (size > 0) {
        SXT_FUZZ_CHECK((from_file != NULL) == (st != NULL), "file: %s / memory: %s", ferr.msg,
                       merr.msg);
    }
    if (from_file == NULL) {
        SXT_FUZZ_CHECK(ferr.exit_code == SX_EXIT_CONFIG, "exit code %d: %s", ferr.exit_code,
                       ferr.msg);
        SXT_FUZZ_CHECK(strncmp(ferr.msg, label, strlen(label)) == 0, "[%s] does not name the file",
                       ferr.msg);
    } else if (st != NULL) {
        json_t *a = sx_state_to_json(from_file), *b = sx_state_to_json(st);
        SXT_FUZZ_CHECK(json_equal(a, b), "file and memory load differently");
        /* Normalised once, the document is a fixed point. */
        sx_error err;
        sx_error_clear(&err);
        sx_state *again = reload(a, &err);
        SXT_FUZZ_CHECK(again != NULL, "a loaded state does not load again: %s", err.msg);
        json_t *c = sx_state_to_json(again);
        SXT_FUZZ_CHECK(json_equal(a, c), "loading a loaded state changes it");
        json_decref(c);
        sx_state_free(again);
        json_decref(a);
        json_decref(b);
    }

    if (st == NULL)
        st = from_file ? sx_state_copy(from_file) : sx_state_new();
    SXT_FUZZ_CHECK(st != NULL, "no state to work on");
    size_t i;
    json_t *op;
    json_array_foreach(o.list, i, op)
        run_op(st, op);
    touch_everything(st);
    check_saves(st);

    sx_state_free(st);
    sx_state_free(from_file);
    json_decref(doc);
    json_decref(o.list);
    sxt_fuzz_end_input();
    return 0;
}
