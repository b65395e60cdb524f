#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "pg.h"
#include "proc.h"
#include "test-paths.h"

struct sxt_pg {
    char *server_dir;      /* set when this test started its own server */
    char *server_dsn;      /* the server's maintenance database */
    char *dbname;
    char *dsn;             /* the test's database */
    PQconninfoOption *params;
    PGconn *conn;
};

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static PGconn *connect_to(const char *dsn)
{
    PGconn *conn = PQconnectdb(dsn);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "test PostgreSQL: cannot connect (%s): %s", dsn, PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, quiet, NULL);
    return conn;
}

static int run(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "test PostgreSQL: %s: %s", sql, PQresultErrorMessage(res));
    PQclear(res);
    return ok ? 0 : -1;
}

/* The server DSN with dbname replaced, as key=value text. */
static char *with_dbname(const char *server_dsn, const char *dbname, PQconninfoOption **params)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(server_dsn, &err);
    if (opts == NULL) {
        fprintf(stderr, "SIPHON_TEST_PG_DSN is not a libpq DSN: %s\n", err ? err : "?");
        PQfreemem(err);
        return NULL;
    }
    size_t cap = 1024, len = 0;
    char *out = calloc(1, cap);
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        const char *v = strcmp(o->keyword, "dbname") == 0 ? dbname : o->val;
        if (v == NULL)
            continue;
        size_t need = len + strlen(o->keyword) + 2 * strlen(v) + 8;
        if (need > cap) {
            cap = need * 2;
            out = realloc(out, cap);
        }
        len += (size_t)sprintf(out + len, "%s%s='", len ? " " : "", o->keyword);
        for (const char *c = v; *c; c++) {
            if (*c == '\'' || *c == '\\')
                out[len++] = '\\';
            out[len++] = *c;
        }
        out[len++] = '\'';
        out[len] = '\0';
    }
    PQconninfoFree(opts);
    *params = PQconninfoParse(out, NULL);
    return out;
}

sxt_pg *sxt_pg_new(void)
{
    static int counter;
    sxt_pg *pg = calloc(1, sizeof *pg);
    const char *env = getenv("SIPHON_TEST_PG_DSN");
    if (env != NULL && *env != '\0') {
        pg->server_dsn = strdup(env);
    } else {
        pg->server_dir = sxt_tmpdir("pg");
        char *script = sxt_strf("%s/tests/support/pg-server.sh", SX_TEST_SOURCE_ROOT);
        char *self = sxt_strf("%ld", (long)getpid());
        /* The watchdog stops the server even if this test dies first. */
        const char *argv[] = {"sh", script, "start", pg->server_dir, self, NULL};
        sxt_result r = sxt_run(argv, NULL, NULL, 120);
        free(self);
        free(script);
        if (!r.exited || r.status != 0) {
            fprintf(stderr,
                    "no PostgreSQL for the test: SIPHON_TEST_PG_DSN is unset and "
                    "pg-server.sh could not start a server:\n%s\n",
                    r.err);
            sxt_result_free(&r);
            sxt_pg_free(pg);
            return NULL;
        }
        char *nl = strchr(r.out, '\n');
        if (nl)
            *nl = '\0';
        pg->server_dsn = strdup(r.out);
        sxt_result_free(&r);
    }
    pg->dbname = sxt_strf("t_%ld_%d_%d", (long)getpid(), counter++, rand() % 100000);
    PGconn *admin = connect_to(pg->server_dsn);
    char *create = sxt_strf("CREATE DATABASE \"%s\"", pg->dbname);
    int ok = admin != NULL && run(admin, create) == 0;
    free(create);
    PQfinish(admin);
    if (ok)
        pg->dsn = with_dbname(pg->server_dsn, pg->dbname, &pg->params);
    if (pg->dsn != NULL)
        pg->conn = connect_to(pg->dsn);
    if (pg->conn == NULL) {
        sxt_pg_free(pg);
        return NULL;
    }
    return pg;
}

const char *sxt_pg_dsn(const sxt_pg *pg)
{
    return pg->dsn;
}

const char *sxt_pg_param(const sxt_pg *pg, const char *keyword)
{
    for (PQconninfoOption *o = pg->params; o && o->keyword; o++)
        if (strcmp(o->keyword, keyword) == 0)
            return o->val;
    return NULL;
}

int sxt_pg_exec(sxt_pg *pg, const char *sql)
{
    return run(pg->conn, sql);
}

char *sxt_pg_query1(sxt_pg *pg, const char *sql)
{
    PGresult *res = PQexec(pg->conn, sql);
    char *out = NULL;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fprintf(stderr, "test PostgreSQL: %s: %s", sql, PQresultErrorMessage(res));
    else if (PQntuples(res) > 0)
        out = strdup(PQgetisnull(res, 0, 0) ? "NULL" : PQgetvalue(res, 0, 0));
    PQclear(res);
    return out;
}

void sxt_pg_free(sxt_pg *pg)
{
    if (pg == NULL)
        return;
    PQfinish(pg->conn);
    if (pg->dsn != NULL && pg->server_dir == NULL) {
        PGconn *admin = connect_to(pg->server_dsn);
        if (admin != NULL) {
            char *drop = sxt_strf("DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", pg->dbname);
            run(admin, drop);
            free(drop);
        }
        PQfinish(admin);
    }
    if (pg->server_dir != NULL) {
        char *script = sxt_strf("%s/tests/support/pg-server.sh", SX_TEST_SOURCE_ROOT);
        const char *argv[] = {"sh", script, "stop", pg->server_dir, NULL};
        sxt_result r = sxt_run(argv, NULL, NULL, 60);
        sxt_result_free(&r);
        free(script);
        sxt_rmtree(pg->server_dir);
        free(pg->server_dir);
    }
    PQconninfoFree(pg->params);
    free(pg->server_dsn);
    free(pg->dbname);
    free(pg->dsn);
    free(pg);
}
