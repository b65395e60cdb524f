#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "control.h"
#include "query.h"

static void answer_json(emu_answer *a, int status, json_t *j)
{
    emu_buf b = {0};
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (text) {
        emu_buf_puts(&b, text);
        free(text);
    } else {
        b.failed = 1;
    }
    emu_answer_take(a, status, "application/json", &b);
}

static int want_method(emu_answer *a, const char *method, const char *want, const char *path)
{
    if (strcmp(method, want) == 0)
        return 1;
    emu_answer_error(a, 405, "%s wants %s, not %s", path, want, method);
    return 0;
}

/* The request body as a JSON object, or an error answer. */
static json_t *body_object(emu_answer *a, const char *body, size_t len)
{
    json_error_t e;
    json_t *j = json_loadb(body ? body : "", len, 0, &e);
    if (!json_is_object(j)) {
        if (j)
            emu_answer_error(a, 400, "the body must be a JSON object");
        else
            emu_answer_error(a, 400, "the body is not JSON: %s (line %d, column %d)", e.text,
                             e.line, e.column);
        json_decref(j);
        return NULL;
    }
    return j;
}

/* "stream" of a body, checked. */
static int body_stream(emu_answer *a, json_t *j)
{
    const char *name = json_string_value(json_object_get(j, "stream"));
    int sid = name ? emu_stream_by_name(name) : -1;
    if (sid < 0)
        emu_answer_error(a, 400, "\"stream\" must name one of the 13 streams (e.g. \"contacts\"),"
                         " got %s", name ? name : "nothing");
    return sid;
}

/* Parent codes from the body (or, for update/delete, also from key). */
static int body_parents(emu_answer *a, int sid, json_t *j, json_t *key, int required,
                        emu_pkey *where)
{
    static const char *const names[2] = {"contact-list_code", "field_code"};
    int parent = emu_streams[sid].parent;
    uint64_t *dst[2] = {&where->list, &where->field};
    where->list = where->field = 0;
    for (int i = 0; i < 2; i++) {
        if ((i == 0 && parent == EMU_PARENT_NONE) || (i == 1 && parent != EMU_PARENT_LF))
            continue;
        int rc = emu_param_code(j, names[i], dst[i]);
        if (rc == 1 && key)
            rc = emu_param_code(key, names[i], dst[i]);
        if (rc < 0 || (rc == 1 && required)) {
            emu_answer_error(a, 400, "%s of stream %s: \"%s\" %s", rc < 0 ? "bad parent" :
                             "missing parent", emu_streams[sid].name, names[i],
                             rc < 0 ? "must be a code (digits)" : "is required");
            return -1;
        }
    }
    return 0;
}

static void do_insert(emu_server *S, json_t *j, emu_answer *a)
{
    int sid = body_stream(a, j);
    emu_pkey where;
    if (sid < 0 || body_parents(a, sid, j, NULL, 1, &where) != 0)
        return;
    json_t *jc = json_object_get(j, "count");
    uint64_t count = 1;
    if (jc && emu_param_code(j, "count", &count) != 0) {
        emu_answer_error(a, 400, "\"count\" must be a whole number");
        return;
    }
    if (count > 1000000) {
        emu_answer_error(a, 400, "\"count\" may be at most 1000000 per call");
        return;
    }
    json_t *keys = json_array();
    char err[512];
    pthread_rwlock_wrlock(&S->store.lock);
    int rc = emu_store_insert(&S->store, sid, where, count, keys, err, sizeof err);
    pthread_rwlock_unlock(&S->store.lock);
    if (rc != 0) {
        json_decref(keys);
        emu_answer_error(a, 400, "%s", err);
        return;
    }
    answer_json(a, 200, json_pack("{s:o}", "inserted", keys));
}

static void do_change(emu_server *S, json_t *j, emu_answer *a, int update)
{
    int sid = body_stream(a, j);
    json_t *key = json_object_get(j, "key");
    emu_pkey where;
    if (sid < 0 || body_parents(a, sid, j, key, 0, &where) != 0)
        return;
    if (!json_is_object(key)) {
        emu_answer_error(a, 400, "\"key\" must be an object with the primary key of %s",
                         emu_streams[sid].name);
        return;
    }
    char err[512];
    uint64_t jj;
    pthread_rwlock_wrlock(&S->store.lock);
    int found = emu_store_locate(&S->store, sid, key, &where, &jj) == 0;
    int rc = 0;
    if (found)
        rc = update ? emu_store_update(&S->store, sid, where, jj, json_object_get(j, "set"), err,
                                       sizeof err)
                    : emu_store_delete(&S->store, sid, where, jj);
    pthread_rwlock_unlock(&S->store.lock);
    if (!found) {
        char *k = json_dumps(key, JSON_COMPACT | JSON_SORT_KEYS);
        emu_answer_error(a, 404, "no %s record has the key %s", emu_streams[sid].name,
                         k ? k : "?");
        free(k);
        return;
    }
    if (rc != 0) {
        emu_answer_error(a, 400, "%s", update ? err : "out of memory");
        return;
    }
    answer_json(a, 200, json_pack("{s:O}", update ? "updated" : "deleted", key));
}

typedef struct dump_ctx {
    emu_buf *b;
    const char *context;
} dump_ctx;

static int dump_row(void *ctx, const emu_rec *r, uint64_t j)
{
    (void)j;
    dump_ctx *d = ctx;
    emu_buf_puts(d->b, "{\"context\":");
    emu_buf_puts(d->b, d->context);
    emu_buf_puts(d->b, ",\"record\":");
    emu_write_rec(d->b, r);
    emu_buf_puts(d->b, "}\n");
    return d->b->failed;
}

static void do_dump(emu_server *S, const char *stream, emu_answer *a)
{
    int sid = stream ? emu_stream_by_name(stream) : -1;
    if (sid < 0) {
        emu_answer_error(a, 400, "dump wants ?stream= one of the 13 streams, got %s",
                         stream ? stream : "nothing");
        return;
    }
    const emu_stream_def *d = &emu_streams[sid];
    emu_buf b = {0};
    emu_buf_reserve(&b, 65536);
    pthread_rwlock_rdlock(&S->store.lock);
    emu_pkey *parts = NULL;
    size_t np = emu_store_partitions(&S->store, sid, &parts);
    int rc = 0;
    for (size_t i = 0; i < np && rc == 0; i++) {
        emu_view v;
        if (emu_view_open(&S->store, sid, parts[i].list, parts[i].field, &v, NULL, 0) != 0)
            continue;
        char context[128];
        if (d->parent == EMU_PARENT_NONE)
            snprintf(context, sizeof context, "{}");
        else if (d->parent == EMU_PARENT_L)
            snprintf(context, sizeof context, "{\"contact-list_code\":\"%" PRIu64 "\"}",
                     v.list);
        else
            snprintf(context, sizeof context,
                     "{\"contact-list_code\":\"%" PRIu64 "\",\"field_code\":\"%" PRIu64 "\"}",
                     v.list, v.field);
        /* Ordered by primary key, ascending. */
        emu_query q = {0};
        q.limit = UINT64_MAX;
        q.o = calloc((size_t)d->npk, sizeof *q.o);
        for (int k = 0; q.o && k < d->npk; k++)
            q.o[q.no++].field = strdup(d->pk[k]);
        emu_rec r;
        if (q.o && emu_rec_init(&r, v.ncf) == 0) {
            dump_ctx dc = {&b, context};
            int next;
            rc = emu_query_run(&S->store, &v, &q, &r, dump_row, &dc, &next);
            emu_rec_free(&r);
        } else {
            rc = -1;
        }
        emu_query_free(&q);
        emu_view_close(&v);
    }
    pthread_rwlock_unlock(&S->store.lock);
    free(parts);
    if (rc != 0)
        b.failed = 1;
    emu_answer_take(a, 200, "application/x-ndjson; charset=utf-8", &b);
}

static json_t *faults_json(emu_server *S)
{
    json_t *spec = json_array();
    for (size_t i = 0; i < S->faults.n; i++)
        json_array_append_new(spec, json_string(S->faults.f[i].spec));
    return json_pack("{s:o}", "spec", spec);
}

static void do_faults_set(emu_server *S, json_t *j, emu_answer *a)
{
    json_t *spec = json_object_get(j, "spec");
    if (!json_is_array(spec)) {
        emu_answer_error(a, 400, "\"spec\" must be an array of fault specs (KIND:ARGS)");
        return;
    }
    size_t n = json_array_size(spec);
    const char **specs = calloc(n + 1, sizeof *specs);
    for (size_t i = 0; specs && i < n; i++) {
        specs[i] = json_string_value(json_array_get(spec, i));
        if (specs[i] == NULL) {
            free(specs);
            emu_answer_error(a, 400, "spec[%zu] must be a string", i);
            return;
        }
    }
    emu_faults fs;
    char err[512];
    if (specs == NULL || emu_faults_parse(specs, n, &fs, err, sizeof err) != 0) {
        free(specs);
        emu_answer_error(a, 400, "%s", specs ? err : "out of memory");
        return;
    }
    free(specs);
    pthread_mutex_lock(&S->mu);
    emu_faults old = S->faults;
    S->faults = fs;
    json_t *out = faults_json(S);
    pthread_mutex_unlock(&S->mu);
    emu_faults_free(&old);
    answer_json(a, 200, out);
}

void emu_control_handle(emu_server *S, const char *method, const char *path,
                        const char *stream, const char *body, size_t len, emu_answer *a)
{
    if (strcmp(path, "/_emulator/health") == 0) {
        answer_json(a, 200, json_pack("{s:b}", "ok", 1));
        return;
    }
    if (strcmp(path, "/_emulator/stats") == 0) {
        if (!want_method(a, method, "GET", path))
            return;
        pthread_mutex_lock(&S->mu);
        json_t *j = emu_stats_json(S);
        pthread_mutex_unlock(&S->mu);
        answer_json(a, 200, j);
        return;
    }
    if (strcmp(path, "/_emulator/stats/reset") == 0) {
        if (!want_method(a, method, "POST", path))
            return;
        pthread_mutex_lock(&S->mu);
        emu_stats_reset(S);
        pthread_mutex_unlock(&S->mu);
        answer_json(a, 200, json_pack("{s:b}", "ok", 1));
        return;
    }
    if (strcmp(path, "/_emulator/dump") == 0) {
        if (want_method(a, method, "GET", path))
            do_dump(S, stream, a);
        return;
    }
    if (strcmp(path, "/_emulator/faults") == 0) {
        if (strcmp(method, "GET") == 0) {
            pthread_mutex_lock(&S->mu);
            json_t *j = faults_json(S);
            pthread_mutex_unlock(&S->mu);
            answer_json(a, 200, j);
            return;
        }
        if (!want_method(a, method, "POST", path))
            return;
        json_t *j = body_object(a, body, len);
        if (j)
            do_faults_set(S, j, a);
        json_decref(j);
        return;
    }
    int insert = strcmp(path, "/_emulator/insert") == 0;
    int update = strcmp(path, "/_emulator/update") == 0;
    int del = strcmp(path, "/_emulator/delete") == 0;
    if (!insert && !update && !del) {
        emu_answer_error(a, 404, "no control endpoint at %s (see the emulator's README)", path);
        return;
    }
    if (!want_method(a, method, "POST", path))
        return;
    json_t *j = body_object(a, body, len);
    if (j == NULL)
        return;
    if (insert)
        do_insert(S, j, a);
    else
        do_change(S, j, a, update);
    json_decref(j);
}
