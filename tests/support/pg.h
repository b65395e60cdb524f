/*
 * pg.h: a fresh PostgreSQL database for one test.
 *
 * When SIPHON_TEST_PG_DSN is set (the suite's runner starts one server for
 * the whole run and exports it), each test gets its own database on that
 * server: CREATE DATABASE t_<pid>_<n>, dropped at the end. When it is unset,
 * each test starts its own throwaway server with tests/support/pg-server.sh
 * (about two seconds per test, but the suite needs nothing set up), and
 * stops it at the end; a watchdog stops it too if the test process dies
 * before it could.
 */
#ifndef SXT_PG_H
#define SXT_PG_H

typedef struct sxt_pg sxt_pg;

/* A new empty database; NULL (after printing why on stderr) when no server
 * can be reached or started. */
sxt_pg *sxt_pg_new(void);

/* The libpq key=value DSN of the test's database. */
const char *sxt_pg_dsn(const sxt_pg *pg);

/* One parameter of that DSN ("host", "port", "user", "dbname"), or NULL. */
const char *sxt_pg_param(const sxt_pg *pg, const char *keyword);

/* Runs sql in the test's database; 0 on success, else -1 after printing the
 * server's message on stderr. */
int sxt_pg_exec(sxt_pg *pg, const char *sql);

/* The first column of the first row as malloc'd text ("NULL" for NULL), or
 * NULL when there is no row or the query failed (printed on stderr). */
char *sxt_pg_query1(sxt_pg *pg, const char *sql);

/* Drops the database (and stops the server this test started). */
void sxt_pg_free(sxt_pg *pg);

#endif
