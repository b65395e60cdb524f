/*
 * pg_conn.c: the PostgreSQL sink's connection: connecting without ever
 * showing a password, running statements with messages that say what the
 * sink was doing, and the one COPY that may be in progress.
 */
#include <stdlib.h>
#include <string.h>

#include "pg_sink.h"
#include "sink_sql.h"

/* libpq prints NOTICEs on stderr by default ("relation exists, skipping");
 * they are expected here and must not clutter the run's output. */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* text with every occurrence of secret replaced by "****" (malloc'd). */
static char *masked(const char *text, const char *secret)
{
    sink_buf b = {0};
    size_t slen = secret ? strlen(secret) : 0;
    const char *at = text;
    for (const char *hit; slen > 0 && (hit = strstr(at, secret)) != NULL; at = hit + slen) {
        sink_buf_add(&b, at, (size_t)(hit - at));
        sink_buf_puts(&b, "****");
    }
    sink_buf_puts(&b, at);
    return b.data;
}

/* The password a libpq DSN carries, or NULL (malloc'd). */
static char *dsn_password(const char *dsn)
{
    PQconninfoOption *opts = PQconninfoParse(dsn, NULL);
    char *password = NULL;
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val != NULL)
            password = strdup(o->val);
    PQconninfoFree(opts);
    return password;
}

int pg_connect(pg_sink *s, siphon_ctx *ctx)
{
    const siphon_host_api *api = siphon_api(ctx);
    const char *dsn = api->config_string(ctx, "dsn");
    static const char *const names[] = {"host", "port", "user", "password", "dbname", "sslmode"};
    const char *keywords[16], *values[16];
    int n = 0;
    /* Defaults first: the DSN and the explicit options override them. */
    keywords[n] = "application_name", values[n++] = "siphon";
    keywords[n] = "connect_timeout", values[n++] = "10";
    char *dsn_secret = NULL;
    if (dsn != NULL && *dsn != '\0') {
        char *perr = NULL;
        PQconninfoOption *check = PQconninfoParse(dsn, &perr);
        int parsed = check != NULL;
        PQconninfoFree(check);
        if (!parsed) {
            /* libpq's detail quotes the string, which may hold a password. */
            PQfreemem(perr);
            return sink_fail(&s->err, SIPHON_E_CONFIG,
                             "sink option dsn: not a libpq connection string (key=value pairs "
                             "or a postgresql:// URI); libpq's detail is withheld because it "
                             "quotes the string, which may hold a password");
        }
        dsn_secret = dsn_password(dsn);
        keywords[n] = "dbname", values[n++] = dsn;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = api->config_string(ctx, names[i]);
        if (v != NULL && *v != '\0')
            keywords[n] = names[i], values[n++] = v;
    }
    keywords[n] = "client_encoding", values[n++] = "UTF8";
    keywords[n] = NULL, values[n] = NULL;

    s->conn = PQconnectdbParams(keywords, values, 1);
    if (s->conn == NULL) {
        free(dsn_secret);
        return sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
    }
    const char *host = PQhost(s->conn), *port = PQport(s->conn);
    const char *db = PQdb(s->conn), *user = PQuser(s->conn);
    sink_buf where = {0};
    sink_buf_printf(&where, "%s:%s/%s", host && *host ? host : "localhost",
                    port && *port ? port : "5432", db ? db : "?");
    s->where = where.data;
    int rc = SIPHON_OK;
    if (PQstatus(s->conn) != CONNECTION_OK) {
        char *once = masked(PQerrorMessage(s->conn), dsn_secret);
        char *detail = once ? masked(once, api->config_string(ctx, "password")) : NULL;
        free(once);
        size_t len = detail ? strlen(detail) : 0;
        while (len > 0 && (detail[len - 1] == '\n' || detail[len - 1] == ' '))
            detail[--len] = '\0';
        rc = sink_fail(&s->err, SIPHON_E_IO,
                       "cannot connect to PostgreSQL at %s:%s (database '%s', user '%s'): %s",
                       host && *host ? host : "localhost", port && *port ? port : "5432",
                       db ? db : "?", user ? user : "?", detail ? detail : "?");
        free(detail);
    } else {
        PQsetNoticeProcessor(s->conn, ignore_notice, NULL);
    }
    free(dsn_secret);
    return rc;
}

static int result_failure(pg_sink *s, PGresult *res, const char *doing)
{
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    const char *context = res ? PQresultErrorField(res, PG_DIAG_CONTEXT) : NULL;
    sink_fail(&s->err, SIPHON_E_IO, "PostgreSQL %s: %s: %s%s%s%s", s->where, doing,
              primary ? primary : PQerrorMessage(s->conn), detail ? " (" : "",
              detail ? detail : "", detail ? ")" : "");
    if (context != NULL) {
        /* The first context line says where (e.g. "COPY x, line 3, column y"). */
        size_t len = strlen(s->err.msg), clen = strcspn(context, "\n");
        snprintf(s->err.msg + len, sizeof s->err.msg - len, " [%.*s]", (int)clen, context);
    }
    /* A failed statement aborts the server's transaction: nothing more can
     * be done in this unit, so the sink refuses to pretend otherwise. */
    if (s->in_tx)
        s->broken = 1;
    return s->err.code;
}

int pg_copy_finish(pg_sink *s)
{
    if (s->copying == NULL)
        return SIPHON_OK;
    pg_table *t = s->copying;
    s->copying = NULL;
    int ok = 1;
    if (s->copybuf.len > 0)
        ok = PQputCopyData(s->conn, s->copybuf.data, (int)s->copybuf.len) == 1;
    sink_buf_reset(&s->copybuf);
    if (PQputCopyEnd(s->conn, ok ? NULL : "siphon could not send the data") != 1)
        ok = 0;
    PGresult *res;
    int rc = SIPHON_OK;
    while ((res = PQgetResult(s->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == SIPHON_OK) {
            char doing[256];
            snprintf(doing, sizeof doing, "loading rows of stream '%s'", t->stream);
            rc = result_failure(s, res, doing);
        }
        PQclear(res);
    }
    if (rc == SIPHON_OK && !ok)
        rc = result_failure(s, NULL, "sending COPY data");
    return rc;
}

int pg_exec_buf(pg_sink *s, sink_buf *b, const char *doing)
{
    if (b->failed)
        return sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
    return pg_exec(s, sink_buf_str(b), doing);
}

int pg_exec(pg_sink *s, const char *sql, const char *doing)
{
    int rc = pg_copy_finish(s);
    if (rc != SIPHON_OK)
        return rc;
    PGresult *res = PQexec(s->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = result_failure(s, res, doing);
    PQclear(res);
    return rc;
}

PGresult *pg_query(pg_sink *s, const char *sql, int nparams, const char *const *params,
                   const char *doing)
{
    if (pg_copy_finish(s) != SIPHON_OK)
        return NULL;
    PGresult *res = PQexecParams(s->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        result_failure(s, res, doing);
        PQclear(res);
        return NULL;
    }
    return res;
}

int pg_begin_tx(pg_sink *s)
{
    if (s->in_tx)
        return SIPHON_OK;
    int rc = pg_exec(s, "BEGIN", "starting a transaction");
    s->in_tx = rc == SIPHON_OK;
    return rc;
}

void pg_qualified(pg_sink *s, sink_buf *b, const char *name)
{
    sink_sql_qualified(b, s->schema, name);
}

char *pg_column_ident(const char *key)
{
    return sink_ident_fit(key, "", PG_IDENT_MAX);
}
