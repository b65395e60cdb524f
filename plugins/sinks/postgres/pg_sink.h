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
/* Columns siphon adds: arrival order in batch tables; when and why a row
 * version went to history. */
#define PG_ORDINAL "_siphon_ordinal"
#define PG_REPLACED_AT "_siphon_replaced_at"
#define PG_CHANGE "_siphon_change"
/* COPY data is handed to libpq in pieces of about this size. */
#define PG_COPY_CHUNK (64 * 1024)

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
    int use_merge;          /* merge batches with MERGE (else INSERT ... ON CONFLICT) */
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

/* pg_exec of the text in b (a failed buffer is out of memory). */
int pg_exec_buf(pg_sink *s, sink_buf *b, const char *doing);

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

/* --- pg_ddl.c: tables as the server has them --- */

/* One column of an existing table. */
typedef struct pg_colinfo {
    char *name;
    char *type;  /* format_type() of the column */
    int pk;      /* 1-based position in the primary key, 0 when not part of it */
} pg_colinfo;

/* The column type of a sink type (text, bigint, numeric, boolean, jsonb). */
const char *pg_sql_type(sink_type type);

/* The sink type of an existing column's format_type(). */
sink_type pg_sink_type_of(const char *type);

/* The SQL type column i of t has (or will have) in the write table. */
const char *pg_decl_of(const pg_table *t, size_t i);

/* Frees n column descriptions. */
void pg_colinfo_free(pg_colinfo *cols, size_t n);

/* The columns of schema.table, in order; *n is 0 when it does not exist. */
int pg_table_columns(pg_sink *s, const char *table, pg_colinfo **out, size_t *n);

/* Creates the layer's schema when it is missing (checked first, so a user
 * without CREATE on the database can write into an existing schema). */
int pg_ensure_schema(pg_sink *s);

/* Appends the layout's columns (or its key), each prefixed with "alias."
 * when alias is set. */
void pg_column_list(sink_buf *b, const sink_layout *l, const char *alias);
void pg_key_list(sink_buf *b, const sink_layout *l, const char *alias);

/* Creates t's write table from its layout, with its primary key. */
int pg_create_write_table(pg_sink *s, pg_table *t);

/* (Re)creates t's batch table: an ordinal, then the layout's columns. */
int pg_create_batch(pg_sink *s, pg_table *t);

/* ALTER TABLE qualified_table what. */
int pg_alter(pg_sink *s, const char *qualified_table, const char *what, const char *doing);

/* Creates the layout's new columns and widens drifted ones, in the write,
 * batch and (INCREMENTAL) history tables. */
int pg_apply_layout(pg_sink *s, pg_table *t);

/* Refuses an existing table whose primary key is not the stream's. */
int pg_check_key(pg_sink *s, pg_table *t, const pg_colinfo *cols, size_t n);

/* Drops staging tables of t's table left by loads of other versions. */
int pg_drop_stale_staging(pg_sink *s, pg_table *t);

/* --- pg_history.c: delta log retention --- */

/* Makes t's history table hold every column of source (creating it with
 * the history columns when missing). */
int pg_history_ensure(pg_sink *s, pg_table *t, const char *source);

/* Before a merge: the current version of every row the batch changes. */
int pg_history_of_merge(pg_sink *s, pg_table *t);

/* Before a swap: the rows of the old table (columns old) that the load
 * changed or no longer has. */
int pg_history_of_swap(pg_sink *s, pg_table *t, const pg_colinfo *old, size_t nold);

/* Deletes history rows older than the retention. */
int pg_history_prune(pg_sink *s, pg_table *t);

/* --- pg_table.c: loading --- */

/* Appends the batch reduced to the last record of each key. */
void pg_latest_per_key(sink_buf *b, const pg_table *t);

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
