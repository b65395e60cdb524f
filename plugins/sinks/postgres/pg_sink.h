/*
 * pg_sink.h: the PostgreSQL sink's instance and per-stream tables, shared by
 * pg_sink.c (vtable, options, transactions, state), pg_conn.c (connecting,
 * running statements, the COPY in progress) and pg_table.c (one stream's
 * table: DDL, COPY into a batch table, merge, FULL_TABLE swap, history).
 */
#ifndef PG_SINK_H
#define PG_SINK_H

#include <stdint.h>

#include <libpq-fe.h>

#include <siphon/siphon.h>

#include "sink_buf.h"
#include "sink_error.h"
#include "sink_layout.h"
#include "sink_naming.h"

/* PostgreSQL's identifier limit (NAMEDATALEN - 1), in bytes. */
#define PG_IDENT_MAX 63
#define PG_STATE_TABLE "_siphon_state"

typedef struct pg_table {
    char *stream;
    uint32_t mode;          /* a siphon_sync_mode */
    int64_t version;
    char *full;             /* the table name before fitting it to 63 bytes */
    char *table;            /* the stream's table */
    char *write_table;      /* where merges go: the table or a FULL_TABLE staging table */
    char *history;
    char *batch;            /* the session's temporary table COPY fills */
    int index;
    sink_layout layout;
    sink_row row;
    json_t *decls;          /* column ident -> its SQL type in the write table */
    size_t batch_cols;      /* layout columns the batch table was made with */
    int64_t ordinal;        /* records so far: the last of a key wins the merge */
    size_t pending;         /* rows in the batch table, not yet merged */
    int ended;
    struct pg_table *next;
} pg_table;

typedef struct pg_sink {
    PGconn *conn;
    char *where;            /* "host:port/dbname", for messages */
    char *schema;           /* the layer's schema */
    sink_naming naming;
    char *state_key;
    int history;
    double retention_days;
    int64_t batch_rows;
    int in_tx;
    int broken;             /* the server aborted the unit: only close() is allowed */
    pg_table *copying;      /* the table whose COPY is in progress, or NULL */
    sink_buf copybuf;       /* COPY data not yet handed to libpq */
    pg_table *tables;
    pg_table *last;
    int next_index;
    sink_error err;
} pg_sink;

/* Connects with the sink's options; the message of a failure names host,
 * port, database and user, and never the password. */
int pg_connect(pg_sink *s, siphon_ctx *ctx);

/* Ends the COPY in progress, if any. */
int pg_copy_finish(pg_sink *s);

/* Runs a statement without result rows (ending any COPY first). A failure
 * inside the unit of work breaks the sink: the server aborted the unit. */
int pg_exec(pg_sink *s, const char *sql, const char *doing);

/* Runs a statement with text parameters; returns its result (the caller
 * PQclears it) or NULL after recording the failure. */
PGresult *pg_query(pg_sink *s, const char *sql, int nparams, const char *const *params,
                   const char *doing);

/* Opens the unit of work when none is open. */
int pg_begin_tx(pg_sink *s);

/* Appends "schema"."name". */
void pg_qualified(pg_sink *s, sink_buf *b, const char *name);

/* A column name fitted to the identifier limit (sink_ident_fn). */
char *pg_column_ident(const char *key);

/* Sets up a stream's table, staging and batch tables (t zeroed but for its
 * index), or widens them for a new schema when t is already set up. */
int pg_table_begin(pg_sink *s, pg_table *t, const siphon_stream_desc *desc);

/* Converts one record and sends it to the batch table with COPY; merges
 * every batch_rows records. */
int pg_table_write(pg_sink *s, pg_table *t, const siphon_record *rec);

/* Merges the batch table into the write table. */
int pg_table_flush(pg_sink *s, pg_table *t);

/* end_stream: merge, then the FULL_TABLE swap (COMPLETE) or discard
 * (FAILED), and history pruning. */
int pg_table_end(pg_sink *s, pg_table *t, int how);

/* Releases a table's memory (the server objects stay). */
void pg_table_free(pg_table *t);

/* Appends one COPY text-format line: ordinal, then the row's cells. */
int pg_copy_line(sink_buf *b, int64_t ordinal, const sink_row *row, size_t ncols);

#endif
