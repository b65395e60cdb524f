#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "config.h"
#include "json_file.h"
#include "state.h"

/*
 * The document is kept as the JSON it is written as, so keys this host does
 * not know survive a run unchanged. Beside it, an index maps each stream to
 * {canonical context -> partition object}: the partition objects are shared
 * with the document (same json_t), so a lookup among thousands of partitions
 * is one hash probe and an update through the index is an update of the
 * document.
 */
struct sx_state {
    json_t *root;
    json_t *index;
};

#define SIGNPOST "replication_key_signpost"
#define STARTING "starting_replication_value"
#define LAST_FULL "last_full_sync_ms"

/* The identity of a partition: its context with keys sorted, compact. */
static char *canonical(const json_t *context)
{
    return json_dumps(context, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

static int fail(sx_error *err, const char *label, const char *path, const char *expected,
                const json_t *found)
{
    char what[128];
    sx_json_describe(found, 1, what, sizeof what);
    sx_error_set(err, SX_EXIT_CONFIG, "%s: %s: expected %s, found %s", label, path, expected, what);
    return -1;
}

/* A bookmark value is text or a number (written as text from then on, since
 * streams compare bookmarks as strings); null means none. */
static int check_bookmark(json_t *obj, const char *label, const char *path, sx_error *err)
{
    json_t *rk = json_object_get(obj, "replication_key");
    char p[PATH_MAX + 256];
    if (rk != NULL && !json_is_null(rk) && !json_is_string(rk)) {
        snprintf(p, sizeof p, "%s.replication_key", path);
        return fail(err, label, p, "a property name", rk);
    }
    static const char *const values[] = {"replication_key_value", SIGNPOST, NULL};
    for (size_t i = 0; values[i] != NULL; i++) {
        json_t *v = json_object_get(obj, values[i]);
        if (v == NULL || json_is_null(v) || json_is_string(v))
            continue;
        snprintf(p, sizeof p, "%s.%s", path, values[i]);
        if (!json_is_number(v))
            return fail(err, label, p, "a string or a number", v);
        char *text = json_dumps(v, JSON_ENCODE_ANY);
        json_object_set_new(obj, values[i], json_string(text ? text : ""));
        free(text);
    }
    json_t *last = json_object_get(obj, LAST_FULL);
    if (last != NULL && !json_is_null(last) && !json_is_integer(last)) {
        snprintf(p, sizeof p, "%s.%s", path, LAST_FULL);
        return fail(err, label, p, "an integer (milliseconds since the epoch)", last);
    }
    return 0;
}

/* Checks the shape of root (normalising bookmark numbers to text) and
 * builds the partition index. */
static int check_and_index(json_t *root, json_t *index, const char *label, sx_error *err)
{
    if (!json_is_object(root))
        return fail(err, label, "top level", "an object", root);
    json_t *bookmarks = json_object_get(root, "bookmarks");
    if (bookmarks == NULL || json_is_null(bookmarks))
        return 0;
    if (!json_is_object(bookmarks))
        return fail(err, label, "bookmarks", "an object keyed by stream name", bookmarks);
    const char *stream;
    json_t *sobj;
    json_object_foreach(bookmarks, stream, sobj) {
        char path[PATH_MAX + 256];
        snprintf(path, sizeof path, "bookmarks.%s", stream);
        if (!json_is_object(sobj))
            return fail(err, label, path, "an object", sobj);
        if (check_bookmark(sobj, label, path, err) != 0)
            return -1;
        json_t *parts = json_object_get(sobj, "partitions");
        if (parts == NULL || json_is_null(parts))
            continue;
        char ppath[PATH_MAX + 300];
        snprintf(ppath, sizeof ppath, "%s.partitions", path);
        if (!json_is_array(parts))
            return fail(err, label, ppath, "an array of partitions", parts);
        json_t *by_ctx = json_object();
        json_object_set_new(index, stream, by_ctx);
        size_t i;
        json_t *part;
        json_array_foreach(parts, i, part) {
            char at[PATH_MAX + 340];
            snprintf(at, sizeof at, "%s[%zu]", ppath, i);
            if (!json_is_object(part))
                return fail(err, label, at, "an object with a \"context\"", part);
            json_t *ctx = json_object_get(part, "context");
            char cpath[PATH_MAX + 360];
            snprintf(cpath, sizeof cpath, "%s.context", at);
            if (!json_is_object(ctx))
                return fail(err, label, cpath, "an object", ctx);
            if (check_bookmark(part, label, at, err) != 0)
                return -1;
            char *key = canonical(ctx);
            if (key == NULL)
                return -1;
            json_t *first = json_object_get(by_ctx, key);
            if (first != NULL) {
                size_t j;
                json_t *other;
                json_array_foreach(parts, j, other) {
                    if (other == first)
                        break;
                }
                sx_error_set(err, SX_EXIT_CONFIG,
                             "%s: %s: the same context as %s[%zu] (each partition must appear "
                             "once)", label, cpath, ppath, j);
                free(key);
                return -1;
            }
            json_object_set(by_ctx, key, part);
            free(key);
        }
    }
    return 0;
}

sx_state *sx_state_new(void)
{
    sx_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        return NULL;
    st->root = json_pack("{s:{}}", "bookmarks");
    st->index = json_object();
    if (st->root == NULL || st->index == NULL) {
        sx_state_free(st);
        return NULL;
    }
    return st;
}

void sx_state_free(sx_state *st)
{
    if (st == NULL)
        return;
    json_decref(st->root);
    json_decref(st->index);
    free(st);
}

static sx_state *adopt(json_t *root, const char *label, sx_error *err)
{
    sx_state *st = calloc(1, sizeof *st);
    if (st == NULL || root == NULL) {
        free(st);
        json_decref(root);
        sx_error_set(err, SX_EXIT_FAILURE, "%s: out of memory", label);
        return NULL;
    }
    st->root = root;
    st->index = json_object();
    if (st->index == NULL || check_and_index(st->root, st->index, label, err) != 0) {
        sx_state_free(st);
        return NULL;
    }
    return st;
}

sx_state *sx_state_from_json(const json_t *value, const char *origin, sx_error *err)
{
    char label[PATH_MAX + 32];
    if (origin != NULL)
        snprintf(label, sizeof label, "state file '%s'", origin);
    else
        snprintf(label, sizeof label, "state");
    /* Accept what orchestrators hand around: a whole Singer STATE message
     * (the last line a target echoes) or Meltano's {"singer_state": ...}. */
    const json_t *type = json_object_get(value, "type");
    const json_t *inner = json_object_get(value, "value");
    if (json_is_string(type) && strcasecmp(json_string_value(type), "STATE") == 0 &&
        json_is_object(inner))
        value = inner;
    else if (json_is_object(json_object_get(value, "singer_state")) &&
             json_object_get(value, "bookmarks") == NULL)
        value = json_object_get(value, "singer_state");
    if (!json_is_object(value)) {
        fail(err, label, "top level", "an object", value);
        return NULL;
    }
    return adopt(json_deep_copy(value), label, err);
}

sx_state *sx_state_load_file(const char *path, sx_error *err)
{
    /* An empty file is the state of a first run: tools create it ahead. */
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 0)
        return sx_state_new();
    json_t *doc = sx_json_load_file(path, "state", 1, err);
    if (doc == NULL)
        return NULL;
    sx_state *st = sx_state_from_json(doc, path, err);
    json_decref(doc);
    return st;
}

sx_state *sx_state_copy(const sx_state *st)
{
    sx_error err;
    sx_error_clear(&err);
    return adopt(json_deep_copy(st->root), "state", &err);
}

json_t *sx_state_to_json(const sx_state *st)
{
    return json_deep_copy(st->root);
}

/* --- finding the object a bookmark lives in --- */

static json_t *stream_obj(const sx_state *st, const char *stream, int create)
{
    json_t *bookmarks = json_object_get(st->root, "bookmarks");
    if (!json_is_object(bookmarks)) {
        if (!create)
            return NULL;
        bookmarks = json_object();
        json_object_set_new(st->root, "bookmarks", bookmarks);
    }
    json_t *obj = json_object_get(bookmarks, stream);
    if (obj == NULL && create) {
        obj = json_object();
        if (json_object_set_new(bookmarks, stream, obj) != 0)
            return NULL;
    }
    return obj;
}

static json_t *partition_obj(const sx_state *st, const char *stream, const json_t *context,
                             int create)
{
    if (!json_is_object(context))
        return NULL;
    char *key = canonical(context);
    if (key == NULL)
        return NULL;
    json_t *by_ctx = json_object_get(st->index, stream);
    json_t *part = by_ctx ? json_object_get(by_ctx, key) : NULL;
    if (part == NULL && create) {
        json_t *sobj = stream_obj(st, stream, 1);
        json_t *parts = json_object_get(sobj, "partitions");
        if (!json_is_array(parts)) {
            parts = json_array();
            json_object_set_new(sobj, "partitions", parts);
        }
        if (by_ctx == NULL) {
            by_ctx = json_object();
            json_object_set_new(st->index, stream, by_ctx);
        }
        part = json_pack("{s:O}", "context", context);
        if (part != NULL) {
            json_array_append_new(parts, part);
            json_object_set(by_ctx, key, part);
        }
    }
    free(key);
    return part;
}

static json_t *target(const sx_state *st, const char *stream, const json_t *context, int create)
{
    if (st == NULL || stream == NULL)
        return NULL;
    return context ? partition_obj(st, stream, context, create) : stream_obj(st, stream, create);
}

/* --- bookmarks and signposts --- */

const char *sx_state_bookmark(const sx_state *st, const char *stream, const json_t *context)
{
    return json_string_value(json_object_get(target(st, stream, context, 0),
                                             "replication_key_value"));
}

int sx_state_set_bookmark(sx_state *st, const char *stream, const json_t *context,
                          const char *replication_key, const char *value)
{
    json_t *t = target(st, stream, context, 1);
    if (t == NULL)
        return -1;
    if (replication_key != NULL &&
        json_object_set_new(t, "replication_key", json_string(replication_key)) != 0)
        return -1;
    if (value == NULL) {
        json_object_del(t, "replication_key_value");
        return 0;
    }
    /* A bookmark never passes the signpost the run fixed at its start:
     * records newer than it are read again next time rather than skipped. */
    const char *signpost = json_string_value(json_object_get(t, SIGNPOST));
    if (signpost != NULL && strcmp(value, signpost) > 0)
        value = signpost;
    json_t *v = json_string(value);
    return v != NULL && json_object_set_new(t, "replication_key_value", v) == 0 ? 0 : -1;
}

const char *sx_state_signpost(const sx_state *st, const char *stream, const json_t *context)
{
    return json_string_value(json_object_get(target(st, stream, context, 0), SIGNPOST));
}

int sx_state_set_signpost(sx_state *st, const char *stream, const json_t *context,
                          const char *value)
{
    json_t *t = target(st, stream, context, 1);
    if (t == NULL)
        return -1;
    if (value == NULL) {
        json_object_del(t, SIGNPOST);
        return 0;
    }
    return json_object_set_new(t, SIGNPOST, json_string(value));
}

static void drop_signposts(json_t *obj)
{
    json_object_del(obj, SIGNPOST);
    json_object_del(obj, STARTING);
}

void sx_state_clear_signposts(sx_state *st, const char *stream)
{
    json_t *sobj = stream_obj(st, stream, 0);
    if (sobj == NULL)
        return;
    drop_signposts(sobj);
    size_t i;
    json_t *part;
    json_array_foreach(json_object_get(sobj, "partitions"), i, part)
        drop_signposts(part);
}

/* --- extra keys --- */

static int reserved(const char *key)
{
    static const char *const keys[] = {"context", "partitions", "replication_key",
                                       "replication_key_value", NULL};
    for (size_t i = 0; keys[i] != NULL; i++)
        if (strcmp(key, keys[i]) == 0)
            return 1;
    return 0;
}

const json_t *sx_state_extra(const sx_state *st, const char *stream, const json_t *context,
                             const char *key)
{
    if (key == NULL || reserved(key))
        return NULL;
    return json_object_get(target(st, stream, context, 0), key);
}

int sx_state_put_extra(sx_state *st, const char *stream, const json_t *context, const char *key,
                       json_t *value)
{
    json_t *t = (key != NULL && !reserved(key)) ? target(st, stream, context, 1) : NULL;
    if (t == NULL) {
        json_decref(value);
        return -1;
    }
    if (value == NULL) {
        json_object_del(t, key);
        return 0;
    }
    return json_object_set_new(t, key, value);
}

/* --- full syncs --- */

int64_t sx_state_last_full_sync(const sx_state *st, const char *stream)
{
    const json_t *v = json_object_get(stream_obj(st, stream, 0), LAST_FULL);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

int sx_state_set_last_full_sync(sx_state *st, const char *stream, int64_t when_ms)
{
    json_t *sobj = stream_obj(st, stream, 1);
    if (sobj == NULL)
        return -1;
    return json_object_set_new(sobj, LAST_FULL, json_integer((json_int_t)when_ms));
}

void sx_state_clear_stream(sx_state *st, const char *stream)
{
    json_t *sobj = stream_obj(st, stream, 0);
    if (sobj == NULL)
        return;
    /* The time of the last full read is not a bookmark: it is what decides
     * when the next full read is due. */
    json_t *last = json_incref(json_object_get(sobj, LAST_FULL));
    json_object_clear(sobj);
    if (last != NULL)
        json_object_set_new(sobj, LAST_FULL, last);
    json_object_del(st->index, stream);
}

/* --- saving --- */

int sx_state_save_file(const sx_state *st, const char *path, sx_error *err)
{
    /* Written state is read back by the next run: check it as that run will,
     * so a broken document is refused now, before it replaces a good one. */
    json_t *check = json_deep_copy(st->root);
    json_t *index = json_object();
    sx_error cerr;
    sx_error_clear(&cerr);
    int bad = check == NULL || index == NULL || check_and_index(check, index, "state", &cerr) != 0;
    json_decref(check);
    json_decref(index);
    if (bad) {
        sx_error_set(err, SX_EXIT_FAILURE, "not writing state file '%s': %s", path,
                     cerr.msg[0] ? cerr.msg : "out of memory");
        return -1;
    }
    char *text = json_dumps(st->root, JSON_INDENT(2));
    if (text == NULL) {
        sx_error_set(err, SX_EXIT_FAILURE, "not writing state file '%s': out of memory", path);
        return -1;
    }
    size_t len = strlen(text);
    char *with_nl = realloc(text, len + 2);
    if (with_nl == NULL) {
        free(text);
        sx_error_set(err, SX_EXIT_FAILURE, "not writing state file '%s': out of memory", path);
        return -1;
    }
    with_nl[len] = '\n';
    with_nl[len + 1] = '\0';
    int rc = sx_write_file_atomic(path, with_nl, len + 1, err);
    free(with_nl);
    return rc;
}
