/*
 * sqlite_sink.c: the SQLite sink (siphon-sink-sqlite.so): one table per
 * stream in one database file, the run state in the _siphon_state table,
 * and exactly one open transaction between two commits, so rows and state
 * become durable together or not at all.
 */
#include <stdlib.h>
#include <string.h>

#include <siphon/siphon.h>

#include "sink_sql.h"
#include "sink_time.h"
#include "sqlite_sink.h"

static const siphon_option sqlite_options[] = {
    {"path", SIPHON_OPT_STRING, 0, "\"siphon.db\"",
     "The SQLite database file; created when missing.", NULL, NULL},
    {"layer", SIPHON_OPT_STRING, 0, NULL,
     "Layer of the catalog; SQLite has no schemas, so it is joined in front of table names "
     "with \"__\".",
     NULL, NULL},
    {"folder", SIPHON_OPT_STRING, 0, NULL,
     "Folder that groups the tables; joined in front of table names with \"__\".", NULL, NULL},
    {"table_prefix", SIPHON_OPT_STRING, 0, "\"\"", "Prefix of every table name.", NULL, NULL},
    {"table_names", SIPHON_OPT_JSON, 0, NULL,
     "Object mapping a stream name to its table name (default: the stream name).", NULL, NULL},
    {"history", SIPHON_OPT_BOOL, 0, "false",
     "Keep the replaced and deleted versions of rows in <table>__history.", NULL, NULL},
    {"history_retention_days", SIPHON_OPT_NUMBER, 0, "30",
     "Days history rows are kept; older ones are pruned at the end of each stream.", NULL, NULL},
    {"batch_rows", SIPHON_OPT_INT, 0, "100",
     "Rows inserted per statement (capped by SQLite's limit on statement parameters).", NULL,
     NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};

int sq_exec(sq_sink *s, const char *sql, const char *doing)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return SIPHON_OK;
    sink_fail(&s->err, SIPHON_E_IO, "SQLite database '%s': %s: %s", s->path, doing,
              msg ? msg : sqlite3_errmsg(s->db));
    sqlite3_free(msg);
    return s->err.code;
}

int sq_exec_buf(sq_sink *s, sink_buf *b, const char *doing)
{
    if (b->failed)
        return sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
    return sq_exec(s, sink_buf_str(b), doing);
}

int sq_prepare(sq_sink *s, const char *sql, sqlite3_stmt **stmt, const char *doing)
{
    *stmt = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, stmt, NULL) == SQLITE_OK)
        return SIPHON_OK;
    return sink_fail(&s->err, SIPHON_E_IO, "SQLite database '%s': %s: %s", s->path, doing,
                     sqlite3_errmsg(s->db));
}

int sq_begin_tx(sq_sink *s)
{
    if (s->in_tx)
        return SIPHON_OK;
    /* IMMEDIATE takes the write lock now: a second writer waits (busy
     * timeout) or fails here, never half-way through a unit. */
    int rc = sq_exec(s, "BEGIN IMMEDIATE", "starting a transaction");
    s->in_tx = rc == SIPHON_OK;
    return rc;
}

static void rollback(sq_sink *s)
{
    if (s->in_tx)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->in_tx = 0;
}

static void sink_free(sq_sink *s)
{
    while (s->tables) {
        sq_table *t = s->tables;
        s->tables = t->next;
        sq_table_free(t);
    }
    sqlite3_finalize(s->save_state);
    if (s->db) {
        rollback(s);
        sqlite3_close_v2(s->db);
    }
    sink_naming_free(&s->naming);
    free(s->state_key);
    free(s->path);
    free(s);
}

static int setup_database(sq_sink *s)
{
    int rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK)
        return sink_fail(&s->err, SIPHON_E_IO, "cannot open SQLite database '%s': %s", s->path,
                         s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, 10000);
    /* WAL lets readers query while a run writes; synchronous=FULL makes each
     * commit durable before commit() returns, which is the point. */
    if ((rc = sq_exec(s, "PRAGMA journal_mode = WAL", "switching to WAL")) != SIPHON_OK ||
        (rc = sq_exec(s, "PRAGMA synchronous = FULL", "setting synchronous=FULL")) != SIPHON_OK)
        return rc;
    rc = sq_exec(s,
                 "CREATE TABLE IF NOT EXISTS main.\"" SQ_STATE_TABLE "\" ("
                 "\"target\" TEXT PRIMARY KEY, \"state\" JSON TEXT NOT NULL, "
                 "\"updated_at\" TEXT NOT NULL)",
                 "creating the state table");
    if (rc != SIPHON_OK)
        return rc;
    return sq_prepare(s,
                      "INSERT INTO main.\"" SQ_STATE_TABLE "\" (\"target\", \"state\", "
                      "\"updated_at\") VALUES (?1, ?2, ?3) ON CONFLICT (\"target\") DO UPDATE "
                      "SET \"state\" = excluded.\"state\", \"updated_at\" = excluded.\"updated_at\"",
                      &s->save_state, "preparing the state update");
}

static int sqlite_open(siphon_ctx *ctx, void **self)
{
    *self = NULL;
    sq_sink *s = calloc(1, sizeof *s);
    if (s == NULL)
        return SIPHON_E_NOMEM;
    const siphon_host_api *api = siphon_api(ctx);
    const char *path = api->config_string(ctx, "path");
    s->path = strdup(path && *path ? path : "siphon.db");
    if (api->config_int(ctx, "batch_rows", &s->batch_rows) != SIPHON_OK)
        s->batch_rows = 100;
    int rc = s->path ? SIPHON_OK : sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
    if (rc == SIPHON_OK && s->batch_rows < 1)
        rc = sink_fail(&s->err, SIPHON_E_CONFIG,
                       "sink option batch_rows: expected a number of rows >= 1, found %lld",
                       (long long)s->batch_rows);
    if (rc == SIPHON_OK)
        rc = sink_naming_load(&s->naming, ctx, &s->err);
    if (rc == SIPHON_OK)
        rc = sink_history_load(ctx, &s->history, &s->retention_days, &s->err);
    if (rc == SIPHON_OK) {
        s->state_key = sink_naming_state_key(&s->naming);
        if (s->state_key == NULL)
            rc = sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
    }
    if (rc == SIPHON_OK)
        rc = setup_database(s);
    if (rc != SIPHON_OK) {
        sink_error_report(&s->err, ctx);
        sink_free(s);
        return rc;
    }
    siphon_log(ctx, SIPHON_LOG_DEBUG, "writing to SQLite database '%s'", s->path);
    *self = s;
    return SIPHON_OK;
}

static int sqlite_load_state(void *self, json_t **state)
{
    sq_sink *s = self;
    *state = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sq_prepare(s, "SELECT \"state\" FROM main.\"" SQ_STATE_TABLE "\" WHERE \"target\" = ?1",
                        &st, "reading the state");
    if (rc != SIPHON_OK)
        return rc;
    sqlite3_bind_text(st, 1, s->state_key, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        json_error_t jerr;
        const char *text = (const char *)sqlite3_column_text(st, 0);
        *state = json_loads(text ? text : "", 0, &jerr);
        if (*state == NULL)
            rc = sink_fail(&s->err, SIPHON_E_INVALID,
                           "SQLite database '%s': the state in %s for %s is not JSON (line %d "
                           "column %d: %s)",
                           s->path, SQ_STATE_TABLE, s->state_key, jerr.line, jerr.column,
                           jerr.text);
    } else if (step != SQLITE_DONE) {
        rc = sink_fail(&s->err, SIPHON_E_IO, "SQLite database '%s': reading the state: %s",
                       s->path, sqlite3_errmsg(s->db));
    }
    sqlite3_finalize(st);
    return rc;
}

static sq_table *find_table(sq_sink *s, const char *stream)
{
    if (s->last != NULL && strcmp(s->last->stream, stream) == 0)
        return s->last;
    for (sq_table *t = s->tables; t; t = t->next)
        if (strcmp(t->stream, stream) == 0)
            return s->last = t;
    return NULL;
}

static void drop_table_ctx(sq_sink *s, sq_table *t)
{
    for (sq_table **p = &s->tables; *p; p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            break;
        }
    if (s->last == t)
        s->last = NULL;
    sq_table_free(t);
}

static int failed_earlier(sq_sink *s)
{
    return sink_fail(&s->err, SIPHON_E_IO, "the sink failed earlier and cannot continue: %s",
                     s->err.msg);
}

static int sqlite_begin_stream(void *self, const siphon_stream_desc *desc)
{
    sq_sink *s = self;
    if (s->broken)
        return failed_earlier(s);
    if (desc == NULL || desc->stream == NULL || *desc->stream == '\0')
        return sink_fail(&s->err, SIPHON_E_INVALID, "begin_stream: the stream has no name");
    int rc = sq_begin_tx(s);
    if (rc != SIPHON_OK)
        return rc;
    sq_table *t = find_table(s, desc->stream);
    if (t != NULL && t->ended) {
        drop_table_ctx(s, t);
        t = NULL;
    }
    if (t == NULL) {
        t = calloc(1, sizeof *t);
        if (t == NULL)
            return sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
        t->index = s->next_index++;
        rc = sq_table_begin(s, t, desc);
        if (rc != SIPHON_OK) {
            sq_table_free(t);
            return rc;
        }
        t->next = s->tables;
        s->tables = t;
        return SIPHON_OK;
    }
    return sq_table_begin(s, t, desc);
}

static int sqlite_write_record(void *self, const siphon_record *rec)
{
    sq_sink *s = self;
    if (s->broken)
        return failed_earlier(s);
    if (rec == NULL || rec->stream == NULL)
        return sink_fail(&s->err, SIPHON_E_INVALID, "write_record: no stream named");
    sq_table *t = find_table(s, rec->stream);
    if (t == NULL || t->ended)
        return sink_fail(&s->err, SIPHON_E_INVALID,
                         "a record for stream '%s', which is not open (begin_stream first)",
                         rec->stream);
    int rc = sq_begin_tx(s);
    return rc == SIPHON_OK ? sq_table_write(s, t, rec) : rc;
}

static int sqlite_commit(void *self, const json_t *state)
{
    sq_sink *s = self;
    if (s->broken)
        return failed_earlier(s);
    int rc = sq_begin_tx(s);
    for (sq_table *t = s->tables; t && rc == SIPHON_OK; t = t->next)
        rc = sq_table_flush(s, t);
    /* No state (NULL or null) keeps the stored one. */
    if (rc == SIPHON_OK && state != NULL && !json_is_null(state)) {
        char *text = json_dumps(state, JSON_COMPACT | JSON_ENCODE_ANY);
        char now[SINK_RFC3339_LEN];
        sink_rfc3339(sink_now_ms(), now);
        sqlite3_bind_text(s->save_state, 1, s->state_key, -1, SQLITE_STATIC);
        sqlite3_bind_text(s->save_state, 2, text, -1, SQLITE_STATIC);
        sqlite3_bind_text(s->save_state, 3, now, -1, SQLITE_STATIC);
        if (text == NULL)
            rc = sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
        else if (sqlite3_step(s->save_state) != SQLITE_DONE)
            rc = sink_fail(&s->err, SIPHON_E_IO, "SQLite database '%s': saving the state: %s",
                           s->path, sqlite3_errmsg(s->db));
        sqlite3_reset(s->save_state);
        sqlite3_clear_bindings(s->save_state);
        free(text);
    }
    if (rc == SIPHON_OK) {
        rc = sq_exec(s, "COMMIT", "committing");
        if (rc == SIPHON_OK)
            s->in_tx = 0;
    }
    if (rc != SIPHON_OK) {
        /* The unit is lost as a whole; what the database holds is still the
         * last commit, and the host must not go on as if this one landed. */
        rollback(s);
        s->broken = 1;
    }
    return rc;
}

static int sqlite_end_stream(void *self, const char *stream, int how)
{
    sq_sink *s = self;
    if (s->broken)
        return failed_earlier(s);
    sq_table *t = stream ? find_table(s, stream) : NULL;
    if (t == NULL)
        return sink_fail(&s->err, SIPHON_E_INVALID, "end_stream for stream '%s', which is not open",
                         stream ? stream : "(null)");
    if (t->ended)
        return SIPHON_OK;
    int rc = sq_begin_tx(s);
    return rc == SIPHON_OK ? sq_table_end(s, t, how) : rc;
}

/* Why the last failing callback failed, for the host's error message. */
static const char *sqlite_last_error(void *self)
{
    return self != NULL ? sink_error_text(&((sq_sink *)self)->err) : NULL;
}

static void sqlite_close(void *self)
{
    if (self != NULL)
        sink_free(self);
}

static const siphon_sink_vtable sqlite_sink_vtable = {
    .base =
        {
            .struct_size = sizeof(siphon_sink_vtable),
            .kind = SIPHON_KIND_SINK,
            .name = "sqlite",
            .description = "One table per stream in a SQLite database; rows and state "
                           "committed in one transaction",
            .caps = SIPHON_CAP_TRANSACTIONAL | SIPHON_CAP_STATE_IN_SINK |
                    SIPHON_CAP_ATOMIC_REPLACE,
            .options = sqlite_options,
            .option_size = sizeof(siphon_option),
        },
    .open = sqlite_open,
    .load_state = sqlite_load_state,
    .begin_stream = sqlite_begin_stream,
    .write_record = sqlite_write_record,
    .commit = sqlite_commit,
    .end_stream = sqlite_end_stream,
    .close = sqlite_close,
    .last_error = sqlite_last_error,
};

static const siphon_component *const sqlite_components[] = {&sqlite_sink_vtable.base, NULL};

SIPHON_PLUGIN_DEFINE("sink-sqlite", SIPHON_VERSION, "MIT",
                     "SQLite sink: tables per stream, exactly-once with the state in the "
                     "database",
                     sqlite_components);
