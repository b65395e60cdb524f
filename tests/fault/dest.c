/*
 * dest.c: destinations of the reliability tests, read back (dest.h).
 */
#include "dest.h"

#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "singer_check.h"

const char *const sxt_dest_sinks[4] = {"stdout", "file", "sqlite", "postgres"};

struct sxt_dest {
    char *sink;
    char *path;     /* file: the folder; sqlite: the database */
    char *schema;   /* postgres */
    sxt_pg *pg;
    char *out;      /* stdout: the last run's output */
};

sxt_dest *sxt_dest_new(const char *sink, const char *dir, sxt_pg *pg, const char *tag)
{
    sxt_dest *d = calloc(1, sizeof *d);
    cr_assert_not_null(d);
    d->sink = strdup(sink);
    if (strcmp(sink, "file") == 0)
        d->path = sxt_strf("%s/%s", dir, tag);
    else if (strcmp(sink, "sqlite") == 0)
        d->path = sxt_strf("%s/%s.db", dir, tag);
    else if (strcmp(sink, "postgres") == 0) {
        cr_assert_not_null(pg, "a postgres destination needs a database");
        d->pg = pg;
        d->schema = strdup(tag);
    } else {
        cr_assert_str_eq(sink, "stdout", "no destination for sink '%s'", sink);
    }
    return d;
}

const char *sxt_dest_sink(const sxt_dest *d)
{
    return d->sink;
}

json_t *sxt_dest_sink_config(const sxt_dest *d)
{
    if (strcmp(d->sink, "file") == 0 || strcmp(d->sink, "sqlite") == 0)
        return json_pack("{s:s, s:s}", "type", d->sink, "path", d->path);
    if (d->pg != NULL)
        return json_pack("{s:s, s:s, s:s}", "type", "postgres", "dsn", sxt_pg_dsn(d->pg), "layer",
                         d->schema);
    return json_pack("{s:s}", "type", "stdout");
}

void sxt_dest_set_output(sxt_dest *d, const char *out)
{
    free(d->out);
    d->out = strdup(out ? out : "");
}

/* --- reading back --- */

static void drop_extracted_at(json_t *row)
{
    json_object_del(row, "_sdc_extracted_at");
}

static json_t *stream_rows(json_t *all, const char *stream)
{
    json_t *rows = json_object_get(all, stream);
    if (rows == NULL) {
        rows = json_array();
        json_object_set_new(all, stream, rows);
    }
    return rows;
}

static json_t *stdout_rows(sxt_dest *d, json_t **state)
{
    sxt_singer s;
    char why[512];
    cr_assert_eq(sxt_singer_check(d->out ? d->out : "", &s, why, sizeof why), 0,
                 "stdout is not valid Singer: %s", why);
    json_t *all = json_deep_copy(s.records_by_stream);
    const char *stream;
    json_t *rows;
    json_object_foreach(all, stream, rows) {
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row) drop_extracted_at(row);
    }
    *state = s.last_state ? json_incref(s.last_state) : NULL;
    sxt_singer_free(&s);
    return all;
}

/* The rows of `len` committed bytes of a JSON Lines file. */
static void jsonl_rows(const char *path, size_t len, json_t *rows)
{
    if (len == 0)
        return; /* listed before its first byte, which may never have come */
    size_t have = 0;
    char *text = sxt_read_file(path, &have);
    cr_assert_not_null(text, "cannot read %s", path);
    cr_assert_geq(have, len, "%s holds %zu bytes, fewer than the %zu committed", path, have, len);
    size_t at = 0;
    while (at < len) {
        char *nl = memchr(text + at, '\n', len - at);
        cr_assert_not_null(nl, "%s: the committed bytes end inside a line (offset %zu)", path, at);
        json_error_t e;
        json_t *row = json_loadb(text + at, (size_t)(nl - (text + at)), JSON_ALLOW_NUL, &e);
        cr_assert(json_is_object(row), "%s, offset %zu: not a JSON object: %s", path, at, e.text);
        drop_extracted_at(row);
        json_array_append_new(rows, row);
        at = (size_t)(nl - text) + 1;
    }
    free(text);
}

/* The folder as the last commit left it: each stream's file, or the
 * temporary file a committed rename will put in its place. */
static json_t *file_rows(sxt_dest *d, json_t **state)
{
    json_t *all = json_object();
    char *mpath = sxt_strf("%s/.siphon-manifest.json", d->path);
    json_error_t e;
    json_t *m = json_load_file(mpath, 0, &e);
    free(mpath);
    *state = NULL;
    if (m == NULL)
        return all; /* nothing was ever committed */
    json_t *files = json_object_get(m, "files");
    json_t *replace = json_object_get(m, "replace");
    cr_assert(json_is_object(files), "the manifest has no files object");
    const char *name;
    json_t *f;
    json_object_foreach(files, name, f) {
        if (strstr(name, ".tmp-") != NULL)
            continue; /* a FULL_TABLE load no commit has finished */
        /* A rename the last commit owes and no open has done yet: the
         * temporary file holds the committed content (and length). */
        const char *src = json_string_value(json_object_get(replace, name));
        char *path = sxt_strf("%s/%s", d->path, src ? src : name);
        if (src != NULL && access(path, F_OK) != 0) {
            free(path);
            path = sxt_strf("%s/%s", d->path, name);
        }
        const char *stream = json_string_value(json_object_get(f, "stream"));
        cr_assert_not_null(stream, "manifest entry %s names no stream", name);
        jsonl_rows(path, (size_t)json_integer_value(json_object_get(f, "committed_bytes")),
                   stream_rows(all, stream));
        free(path);
    }
    json_t *st = json_object_get(m, "state");
    *state = json_is_object(st) ? json_incref(st) : NULL;
    json_decref(m);
    return all;
}

static int internal_table(const char *name)
{
    size_t n = strlen(name);
    return strcmp(name, "_siphon_state") == 0 || strstr(name, "__siphon_v") != NULL ||
           (n > 9 && strcmp(name + n - 9, "__history") == 0);
}

static json_t *sqlite_value(sqlite3_stmt *st, int col)
{
    switch (sqlite3_column_type(st, col)) {
    case SQLITE_INTEGER:
        return json_integer(sqlite3_column_int64(st, col));
    case SQLITE_FLOAT:
        return json_real(sqlite3_column_double(st, col));
    case SQLITE_NULL:
        return json_null();
    default: {
        const char *text = (const char *)sqlite3_column_text(st, col);
        return json_stringn_nocheck(text ? text : "", (size_t)sqlite3_column_bytes(st, col));
    }
    }
}

static json_t *sqlite_rows(sxt_dest *d, json_t **state)
{
    json_t *all = json_object();
    *state = NULL;
    sqlite3 *db = NULL;
    /* Read-write without create: after a kill, the first reader of a WAL
     * database rebuilds its index, as the next run would. */
    if (sqlite3_open_v2(d->path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return all; /* never created */
    }
    sqlite3_busy_timeout(db, 10000);
    sqlite3_stmt *tables;
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table' "
                                        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
                                    -1, &tables, NULL),
                 SQLITE_OK, "%s: %s", d->path, sqlite3_errmsg(db));
    while (sqlite3_step(tables) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(tables, 0);
        if (internal_table(name))
            continue;
        /* the name as an identifier: every quote doubled */
        size_t n = strlen(name);
        char *quoted = malloc(2 * n + 3);
        size_t q = 0;
        quoted[q++] = '"';
        for (size_t i = 0; i < n; i++) {
            if (name[i] == '"')
                quoted[q++] = '"';
            quoted[q++] = name[i];
        }
        quoted[q++] = '"';
        quoted[q] = '\0';
        char *sql = sxt_strf("SELECT * FROM %s", quoted);
        sqlite3_stmt *st;
        cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
                     sqlite3_errmsg(db));
        json_t *rows = stream_rows(all, name);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            json_t *row = json_object();
            for (int c = 0; c < sqlite3_column_count(st); c++)
                json_object_set_new(row, sqlite3_column_name(st, c), sqlite_value(st, c));
            drop_extracted_at(row);
            json_array_append_new(rows, row);
        }
        cr_assert_eq(rc, SQLITE_DONE, "%s: %s", sql, sqlite3_errmsg(db));
        sqlite3_finalize(st);
        free(sql);
        free(quoted);
    }
    sqlite3_finalize(tables);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT state FROM _siphon_state", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
            *state = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return all;
}

/* A PostgreSQL identifier, quoted. */
static char *pg_ident(const char *name)
{
    size_t n = strlen(name);
    char *out = malloc(2 * n + 3);
    size_t q = 0;
    out[q++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (name[i] == '"')
            out[q++] = '"';
        out[q++] = name[i];
    }
    out[q++] = '"';
    out[q] = '\0';
    return out;
}

/* A PostgreSQL string literal. */
static char *pg_literal(const char *text)
{
    size_t n = strlen(text);
    char *out = malloc(2 * n + 3);
    size_t q = 0;
    out[q++] = '\'';
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '\'')
            out[q++] = '\'';
        out[q++] = text[i];
    }
    out[q++] = '\'';
    out[q] = '\0';
    return out;
}

static json_t *pg_json(sxt_dest *d, const char *sql)
{
    char *text = sxt_pg_query1(d->pg, sql);
    cr_assert_not_null(text, "query failed: %s", sql);
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    cr_assert_not_null(v, "not JSON from %s: %s", sql, e.text);
    free(text);
    return v;
}

/* A client killed right after sending COMMIT leaves its server session
 * finishing that COMMIT: wait until no other session of this database is
 * left, so what is read is what the kill left, not a moment of it. */
static void pg_quiesce(sxt_dest *d)
{
    for (int i = 0; i < 500; i++) {
        char *n = sxt_pg_query1(d->pg, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                       "current_database() AND pid <> pg_backend_pid() AND "
                                       "backend_type = 'client backend'");
        int idle = n != NULL && strcmp(n, "0") == 0;
        free(n);
        if (idle)
            return;
        usleep(20 * 1000);
    }
    cr_assert_fail("a session of the test database never ended");
}

static json_t *pg_rows(sxt_dest *d, json_t **state)
{
    pg_quiesce(d);
    json_t *all = json_object();
    char *lit = pg_literal(d->schema);
    char *sql = sxt_strf("SELECT coalesce(json_agg(table_name::text), '[]') FROM "
                         "information_schema.tables WHERE table_schema = %s AND "
                         "table_type = 'BASE TABLE'", lit);
    json_t *tables = pg_json(d, sql);
    free(sql);
    free(lit);
    char *schema = pg_ident(d->schema);
    size_t i;
    json_t *t;
    *state = NULL;
    json_array_foreach(tables, i, t) {
        const char *name = json_string_value(t);
        char *table = pg_ident(name);
        sql = NULL;
        if (strcmp(name, "_siphon_state") == 0) {
            sql = sxt_strf("SELECT coalesce((SELECT state::text FROM %s.%s LIMIT 1), 'null')",
                           schema, table);
            json_t *st = pg_json(d, sql);
            *state = json_is_object(st) ? st : NULL;
            if (*state == NULL)
                json_decref(st);
        } else if (!internal_table(name)) {
            sql = sxt_strf("SELECT coalesce(json_agg(to_jsonb(t) - '_sdc_extracted_at'), '[]') "
                           "FROM %s.%s t", schema, table);
            json_object_set_new(all, name, pg_json(d, sql));
        }
        free(sql);
        free(table);
    }
    free(schema);
    json_decref(tables);
    return all;
}

static json_t *read_back(sxt_dest *d, json_t **state)
{
    if (strcmp(d->sink, "file") == 0)
        return file_rows(d, state);
    if (strcmp(d->sink, "sqlite") == 0)
        return sqlite_rows(d, state);
    if (strcmp(d->sink, "postgres") == 0)
        return pg_rows(d, state);
    return stdout_rows(d, state);
}

json_t *sxt_dest_rows(sxt_dest *d)
{
    json_t *state = NULL;
    json_t *rows = read_back(d, &state);
    json_decref(state);
    return rows;
}

json_t *sxt_dest_read(sxt_dest *d, json_t **state)
{
    *state = NULL;
    return read_back(d, state);
}

json_t *sxt_dest_state(sxt_dest *d)
{
    json_t *state = NULL;
    json_decref(read_back(d, &state));
    return state;
}

void sxt_dest_free(sxt_dest *d)
{
    if (d == NULL)
        return;
    free(d->sink);
    free(d->path);
    free(d->schema);
    free(d->out);
    free(d);
}

/* --- comparing --- */

static int cmp_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **canonical(const json_t *rows, size_t *n)
{
    *n = json_array_size(rows);
    char **texts = calloc(*n ? *n : 1, sizeof *texts);
    for (size_t i = 0; i < *n; i++)
        texts[i] = json_dumps(json_array_get(rows, i), JSON_COMPACT | JSON_SORT_KEYS |
                                                            JSON_ENCODE_ANY);
    qsort(texts, *n, sizeof *texts, cmp_text);
    return texts;
}

/* Long rows are cut in messages: a contact is a few hundred bytes, a hostile
 * value megabytes. */
static const char *shown(const char *text, char *buf, size_t cap)
{
    if (text == NULL)
        return "(none)";
    if (strlen(text) < cap)
        return text;
    snprintf(buf, cap, "%.*s...", (int)cap - 4, text);
    return buf;
}

static int same_rows(const char *what, const char *stream, const json_t *got, const json_t *want)
{
    size_t ng, nw;
    char **g = canonical(got, &ng), **w = canonical(want, &nw);
    size_t i = 0;
    while (i < ng && i < nw && strcmp(g[i], w[i]) == 0)
        i++;
    int same = i == ng && i == nw;
    char b1[600], b2[600];
    cr_expect(same, "%s: stream %s has %zu rows, expected %zu; first difference:\n  got:      %s\n"
                    "  expected: %s", what, stream, ng, nw, shown(i < ng ? g[i] : NULL, b1,
                                                                  sizeof b1),
              shown(i < nw ? w[i] : NULL, b2, sizeof b2));
    for (size_t k = 0; k < ng; k++)
        free(g[k]);
    for (size_t k = 0; k < nw; k++)
        free(w[k]);
    free(g);
    free(w);
    return same;
}

void sxt_rows_assert_same(const char *what, const json_t *got, const json_t *want)
{
    int same = 1;
    const char *stream;
    json_t *rows;
    json_object_foreach((json_t *)want, stream, rows) {
        json_t *other = json_object_get(got, stream);
        json_t *empty = json_array();
        same &= same_rows(what, stream, other ? other : empty, rows);
        json_decref(empty);
    }
    json_object_foreach((json_t *)got, stream, rows) {
        if (json_object_get(want, stream) == NULL && json_array_size(rows) > 0) {
            cr_expect_fail("%s: stream %s has %zu rows, expected none", what, stream,
                           json_array_size(rows));
            same = 0;
        }
    }
    if (!same)
        cr_assert_fail("%s: the destinations differ", what);
}

static int cmp_partition(const void *a, const void *b)
{
    char *x = json_dumps(json_object_get(*(json_t *const *)a, "context"), JSON_SORT_KEYS);
    char *y = json_dumps(json_object_get(*(json_t *const *)b, "context"), JSON_SORT_KEYS);
    int c = strcmp(x ? x : "", y ? y : "");
    free(x);
    free(y);
    return c;
}

/* Partitions in the order of their contexts: workers finish them in any order. */
static json_t *sorted_partitions(const json_t *parts)
{
    size_t n = json_array_size(parts);
    json_t **items = calloc(n ? n : 1, sizeof *items);
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(parts, i);
    qsort(items, n, sizeof *items, cmp_partition);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(out, items[i]);
    free(items);
    return out;
}

json_t *sxt_state_bookmarks(const json_t *state)
{
    json_t *marks = json_deep_copy(json_object_get(state, "bookmarks"));
    if (!json_is_object(marks)) {
        json_decref(marks);
        return json_object();
    }
    const char *stream;
    json_t *m;
    json_object_foreach(marks, stream, m) {
        json_object_del(m, "last_full_sync_ms");
        json_t *parts = json_object_get(m, "partitions");
        if (json_is_array(parts))
            json_object_set_new(m, "partitions", sorted_partitions(parts));
    }
    return marks;
}

int sxt_row_in_partition(const json_t *row, const json_t *context)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)context, key, v) {
        json_t *have = json_object_get(row, key);
        const char *a = json_string_value(have), *b = json_string_value(v);
        if (a == NULL || b == NULL || strcmp(a, b) != 0)
            return 0;
    }
    return 1;
}

void sxt_assert_state_behind_data(const json_t *state, const json_t *rows, const char *what)
{
    const char *stream;
    json_t *m;
    json_object_foreach(json_object_get(state, "bookmarks"), stream, m) {
        json_t *parts = json_object_get(m, "partitions");
        json_t *one = NULL;
        if (!json_is_array(parts)) {
            if (json_object_get(m, "replication_key_value") == NULL)
                continue; /* only the time of the last full sync */
            one = json_pack("[O]", m);
            parts = one;
        }
        size_t i;
        json_t *p;
        json_array_foreach(parts, i, p) {
            const char *rk = json_string_value(json_object_get(p, "replication_key"));
            const char *value = json_string_value(json_object_get(p, "replication_key_value"));
            const json_t *context = json_object_get(p, "context");
            int found = 0;
            size_t j;
            json_t *row;
            json_array_foreach(json_object_get(rows, stream), j, row) {
                const char *v = json_string_value(json_object_get(row, rk));
                if (v && strcmp(v, value) == 0 && (!context || sxt_row_in_partition(row, context))) {
                    found = 1;
                    break;
                }
            }
            char *ctx = context ? json_dumps(context, JSON_COMPACT) : strdup("-");
            char *first = json_dumps(json_array_get(json_object_get(rows, stream), 0),
                                     JSON_COMPACT | JSON_ENCODE_ANY);
            cr_assert(found, "%s: the committed bookmark %s=%s of %s (partition %s) names none of "
                      "its %zu committed rows (the first: %.300s): the state is ahead of the data",
                      what, rk, value, stream, ctx, json_array_size(json_object_get(rows, stream)),
                      first ? first : "none");
            free(first);
            free(ctx);
        }
        json_decref(one);
    }
}

