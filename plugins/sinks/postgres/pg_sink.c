/*
 * pg_sink.c: the PostgreSQL sink (siphon-sink-postgres.so): one table per
 * stream in the layer's schema, the run state in <schema>._siphon_state, and
 * one open transaction between two commits, so rows, FULL_TABLE swaps and
 * state become durable together or not at all.
 */
#include <stdlib.h>
#include <string.h>

#include <siphon/siphon.h>

#include "pg_sink.h"
#include "sink_sql.h"

static const siphon_option pg_options[] = {
    {"dsn", SIPHON_OPT_STRING, SIPHON_OPT_SECRET, NULL,
     "libpq connection string (key=value pairs or a postgresql:// URI); the options below "
     "override its parts.",
     "SIPHON_PG_DSN", NULL},
    {"host", SIPHON_OPT_STRING, 0, NULL, "Server host name or socket folder.", NULL, NULL},
    {"port", SIPHON_OPT_STRING, 0, NULL, "Server port.", NULL, NULL},
    {"user", SIPHON_OPT_STRING, 0, NULL, "User name.", NULL, NULL},
    {"password", SIPHON_OPT_STRING, SIPHON_OPT_SECRET, NULL, "Password.", "SIPHON_PG_PASSWORD",
     NULL},
    {"dbname", SIPHON_OPT_STRING, 0, NULL, "Database name.", NULL, NULL},
    {"sslmode", SIPHON_OPT_STRING, 0, NULL, "libpq sslmode.", NULL,
     "disable|allow|prefer|require|verify-ca|verify-full"},
    {"layer", SIPHON_OPT_STRING, 0, "\"public\"",
     "Layer of the catalog: the schema the tables go to (created when missing).", NULL, NULL},
    {"folder", SIPHON_OPT_STRING, 0, NULL,
     "Folder that groups the tables; joined in front of table names with \"__\".", NULL, NULL},
    {"table_prefix", SIPHON_OPT_STRING, 0, "\"\"", "Prefix of every table name.", NULL, NULL},
    {"table_names", SIPHON_OPT_JSON, 0, NULL,
     "Object mapping a stream name to its table name (default: the stream name).", NULL, NULL},
    {"history", SIPHON_OPT_BOOL, 0, "false",
     "Keep the replaced and deleted versions of rows in <table>__history.", NULL, NULL},
    {"history_retention_days", SIPHON_OPT_NUMBER, 0, "30",
     "Days history rows are kept; older ones are pruned at the end of each stream.", NULL, NULL},
    {"batch_rows", SIPHON_OPT_INT, 0, "10000",
     "Records loaded with COPY before they are merged into their table.", NULL, NULL},
    {"merge_statement", SIPHON_OPT_STRING, 0, "\"auto\"",
     "How batches are merged: auto (MERGE on PostgreSQL 15+, else INSERT ... ON CONFLICT) or "
     "upsert (always INSERT ... ON CONFLICT, safe with concurrent writers).",
     NULL, "auto|upsert"},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};

static void rollback(pg_sink *s)
{
    if (s->conn != NULL && PQstatus(s->conn) == CONNECTION_OK) {
        if (s->copying != NULL) {
            PQputCopyEnd(s->conn, "siphon is discarding uncommitted rows");
            PGresult *res;
            while ((res = PQgetResult(s->conn)) != NULL)
                PQclear(res);
            s->copying = NULL;
        }
        if (s->in_tx)
            PQclear(PQexec(s->conn, "ROLLBACK"));
    }
    s->in_tx = 0;
}

static void sink_free(pg_sink *s)
{
    rollback(s);
    while (s->tables) {
        pg_table *t = s->tables;
        s->tables = t->next;
        pg_table_free(t);
    }
    PQfinish(s->conn);
    sink_naming_free(&s->naming);
    sink_buf_free(&s->copybuf);
    free(s->state_key);
    free(s->schema);
    free(s->where);
    free(s);
}

static int state_table(pg_sink *s, sink_buf *b)
{
    pg_qualified(s, b, PG_STATE_TABLE);
    return b->failed ? SIPHON_E_NOMEM : SIPHON_OK;
}

static int setup(pg_sink *s)
{
    int rc = pg_ensure_schema(s);
    sink_buf b = {0};
    sink_buf_puts(&b, "CREATE TABLE IF NOT EXISTS ");
    state_table(s, &b);
    sink_buf_puts(&b, " (\"target\" text PRIMARY KEY, \"state\" jsonb NOT NULL, "
                      "\"updated_at\" timestamptz NOT NULL)");
    if (rc == SIPHON_OK)
        rc = pg_exec(s, sink_buf_str(&b), "creating the state table");
    sink_buf_free(&b);
    return rc;
}

static int pg_open(siphon_ctx *ctx, void **self)
{
    *self = NULL;
    pg_sink *s = calloc(1, sizeof *s);
    if (s == NULL)
        return SIPHON_E_NOMEM;
    const siphon_host_api *api = siphon_api(ctx);
    if (api->config_int(ctx, "batch_rows", &s->batch_rows) != SIPHON_OK)
        s->batch_rows = 10000;
    int rc = SIPHON_OK;
    if (s->batch_rows < 1)
        rc = sink_fail(&s->err, SIPHON_E_CONFIG,
                       "sink option batch_rows: expected a number of rows >= 1, found %lld",
                       (long long)s->batch_rows);
    if (rc == SIPHON_OK)
        rc = sink_naming_load(&s->naming, ctx, &s->err);
    if (rc == SIPHON_OK)
        rc = sink_history_load(ctx, &s->history, &s->retention_days, &s->err);
    if (rc == SIPHON_OK) {
        s->schema = sink_ident_fit(s->naming.layer ? s->naming.layer : "public", "", PG_IDENT_MAX);
        s->state_key = sink_naming_state_key(&s->naming);
        if (s->schema == NULL || s->state_key == NULL)
            rc = sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
    }
    const char *merge = api->config_string(ctx, "merge_statement");
    if (rc == SIPHON_OK && merge != NULL && strcmp(merge, "auto") != 0 &&
        strcmp(merge, "upsert") != 0)
        rc = sink_fail(&s->err, SIPHON_E_CONFIG,
                       "sink option merge_statement: expected \"auto\" or \"upsert\", found "
                       "\"%s\"",
                       merge);
    if (rc == SIPHON_OK)
        rc = pg_connect(s, ctx);
    if (rc == SIPHON_OK)
        s->use_merge = (merge == NULL || strcmp(merge, "auto") == 0) &&
                       PQserverVersion(s->conn) >= 150000;
    if (rc == SIPHON_OK)
        rc = setup(s);
    if (rc != SIPHON_OK) {
        sink_error_report(&s->err, ctx);
        sink_free(s);
        return rc;
    }
    siphon_log(ctx, SIPHON_LOG_DEBUG, "writing to PostgreSQL %s, schema %s", s->where, s->schema);
    *self = s;
    return SIPHON_OK;
}

static int pg_load_state(void *self, json_t **state)
{
    pg_sink *s = self;
    *state = NULL;
    sink_buf b = {0};
    sink_buf_puts(&b, "SELECT \"state\"::text FROM ");
    state_table(s, &b);
    sink_buf_puts(&b, " WHERE \"target\" = $1");
    const char *params[] = {s->state_key};
    PGresult *res = pg_query(s, sink_buf_str(&b), 1, params, "reading the state");
    sink_buf_free(&b);
    if (res == NULL)
        return s->err.code;
    int rc = SIPHON_OK;
    if (PQntuples(res) > 0) {
        json_error_t jerr;
        *state = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);
        if (*state == NULL)
            rc = sink_fail(&s->err, SIPHON_E_INVALID, "PostgreSQL %s: the state of %s is not "
                                                      "JSON: %s",
                           s->where, s->state_key, jerr.text);
    }
    PQclear(res);
    return rc;
}

static pg_table *find_table(pg_sink *s, const char *stream)
{
    if (s->last != NULL && strcmp(s->last->stream, stream) == 0)
        return s->last;
    for (pg_table *t = s->tables; t; t = t->next)
        if (strcmp(t->stream, stream) == 0)
            return s->last = t;
    return NULL;
}

static void forget_table(pg_sink *s, pg_table *t)
{
    for (pg_table **p = &s->tables; *p; p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            break;
        }
    if (s->last == t)
        s->last = NULL;
    if (s->copying == t)
        s->copying = NULL;
    pg_table_free(t);
}

static int failed_earlier(pg_sink *s)
{
    return sink_fail(&s->err, SIPHON_E_IO, "the sink failed earlier and cannot continue: %s",
                     s->err.msg);
}

static int pg_begin_stream(void *self, const siphon_stream_desc *desc)
{
    pg_sink *s = self;
    if (s->broken)
        return failed_earlier(s);
    if (desc == NULL || desc->stream == NULL || *desc->stream == '\0')
        return sink_fail(&s->err, SIPHON_E_INVALID, "begin_stream: the stream has no name");
    int rc = pg_begin_tx(s);
    if (rc != SIPHON_OK)
        return rc;
    pg_table *t = find_table(s, desc->stream);
    if (t != NULL && t->ended) {
        forget_table(s, t);
        t = NULL;
    }
    if (t != NULL)
        return pg_table_begin(s, t, desc);
    t = calloc(1, sizeof *t);
    if (t == NULL)
        return sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
    t->index = s->next_index++;
    t->next = s->tables;
    s->tables = t;
    rc = pg_table_begin(s, t, desc);
    if (rc != SIPHON_OK)
        forget_table(s, t);
    return rc;
}

static int pg_write_record(void *self, const siphon_record *rec)
{
    pg_sink *s = self;
    if (s->broken)
        return failed_earlier(s);
    if (rec == NULL || rec->stream == NULL)
        return sink_fail(&s->err, SIPHON_E_INVALID, "write_record: no stream named");
    pg_table *t = find_table(s, rec->stream);
    if (t == NULL || t->ended)
        return sink_fail(&s->err, SIPHON_E_INVALID,
                         "a record for stream '%s', which is not open (begin_stream first)",
                         rec->stream);
    /* Every statement of a unit, COPY and merges included, runs inside the
     * one transaction the next commit ends. */
    int rc = pg_begin_tx(s);
    return rc == SIPHON_OK ? pg_table_write(s, t, rec) : rc;
}

static int pg_commit(void *self, const json_t *state)
{
    pg_sink *s = self;
    if (s->broken)
        return failed_earlier(s);
    int rc = pg_begin_tx(s);
    for (pg_table *t = s->tables; t && rc == SIPHON_OK; t = t->next)
        rc = pg_table_flush(s, t);
    /* No state (NULL or null) keeps the stored one. */
    if (rc == SIPHON_OK && state != NULL && !json_is_null(state)) {
        char *text = json_dumps(state, JSON_COMPACT | JSON_ENCODE_ANY);
        sink_buf b = {0};
        sink_buf_puts(&b, "INSERT INTO ");
        state_table(s, &b);
        sink_buf_puts(&b, " (\"target\", \"state\", \"updated_at\") VALUES ($1, $2::jsonb, "
                          "now()) ON CONFLICT (\"target\") DO UPDATE SET \"state\" = "
                          "EXCLUDED.\"state\", \"updated_at\" = EXCLUDED.\"updated_at\"");
        const char *params[] = {s->state_key, text};
        PGresult *res = text ? pg_query(s, sink_buf_str(&b), 2, params, "saving the state") : NULL;
        if (res == NULL)
            rc = text ? s->err.code : sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
        PQclear(res);
        sink_buf_free(&b);
        free(text);
    }
    if (rc == SIPHON_OK) {
        /* COMMIT's own answer decides: a serialization or disk failure
         * here means the unit did not land. */
        rc = pg_exec(s, "COMMIT", "committing");
        s->in_tx = 0;
    }
    if (rc != SIPHON_OK) {
        rollback(s);
        s->broken = 1;
    }
    return rc;
}

static int pg_end_stream(void *self, const char *stream, int how)
{
    pg_sink *s = self;
    if (s->broken)
        return failed_earlier(s);
    pg_table *t = stream ? find_table(s, stream) : NULL;
    if (t == NULL)
        return sink_fail(&s->err, SIPHON_E_INVALID, "end_stream for stream '%s', which is not open",
                         stream ? stream : "(null)");
    if (t->ended)
        return SIPHON_OK;
    int rc = pg_begin_tx(s);
    return rc == SIPHON_OK ? pg_table_end(s, t, how) : rc;
}

/* Why the last failing callback failed, for the host's error message. */
static const char *pg_last_error(void *self)
{
    return self != NULL ? sink_error_text(&((pg_sink *)self)->err) : NULL;
}

static void pg_close(void *self)
{
    if (self != NULL)
        sink_free(self);
}

static const siphon_sink_vtable pg_sink_vtable = {
    .base =
        {
            .struct_size = sizeof(siphon_sink_vtable),
            .kind = SIPHON_KIND_SINK,
            .name = "postgres",
            .description = "One table per stream in PostgreSQL; COPY, merge, and the state "
                           "committed in the same transaction",
            .caps = SIPHON_CAP_TRANSACTIONAL | SIPHON_CAP_STATE_IN_SINK |
                    SIPHON_CAP_ATOMIC_REPLACE,
            .options = pg_options,
            .option_size = sizeof(siphon_option),
        },
    .open = pg_open,
    .load_state = pg_load_state,
    .begin_stream = pg_begin_stream,
    .write_record = pg_write_record,
    .commit = pg_commit,
    .end_stream = pg_end_stream,
    .close = pg_close,
    .last_error = pg_last_error,
};

static const siphon_component *const pg_components[] = {&pg_sink_vtable.base, NULL};

SIPHON_PLUGIN_DEFINE("sink-postgres", SIPHON_VERSION, "MIT",
                     "PostgreSQL sink: tables per stream, exactly-once with the state in the "
                     "database",
                     pg_components);
