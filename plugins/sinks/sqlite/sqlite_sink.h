/*
 * sqlite_sink.h: the SQLite sink's instance and per-stream tables, shared by
 * sqlite_sink.c (the vtable, options, transactions, state) and
 * sqlite_table.c (one stream's table: DDL, upserts, FULL_TABLE swaps,
 * history).
 */
#ifndef SQLITE_SINK_H
#define SQLITE_SINK_H

#include <stdint.h>

#include <sqlite3.h>

#include <siphon/siphon.h>

#include "sink_buf.h"
#include "sink_error.h"
#include "sink_layout.h"
#include "sink_naming.h"

#define SQ_STATE_TABLE "_siphon_state"
/* History columns: when and why a row version was replaced. */
#define SQ_REPLACED_AT "_siphon_replaced_at"
#define SQ_CHANGE "_siphon_change"

typedef struct sq_table {
    char *stream;
    uint32_t mode;          /* a siphon_sync_mode */
    int64_t version;
    char *table;            /* the stream's table */
    char *write_table;      /* where rows go: the table, or a FULL_TABLE staging table */
    char *history;          /* the history table's name */
    int index;              /* unique per sink: names this table's temporary trigger */
    sink_layout layout;
    sink_row row;
    /* Cached upserts, for the layout as it was when they were prepared. */
    sqlite3_stmt *insert_one;
    sqlite3_stmt *insert_many;
    size_t stmt_cols;
    size_t rows_per_stmt;
    /* Rows converted but not yet inserted (rows_per_stmt at most). */
    sink_cell *cells;
    size_t cells_cap;
    sink_buf text;
    size_t nrows;
    int ended;
    struct sq_table *next;
} sq_table;

typedef struct sq_sink {
    sqlite3 *db;
    char *path;
    sink_naming naming;
    char *state_key;
    int history;
    double retention_days;
    int64_t batch_rows;
    int in_tx;
    int broken;             /* a commit failed: only close() is allowed */
    sqlite3_stmt *save_state;
    sq_table *tables;
    sq_table *last;
    int next_index;
    sink_error err;
} sq_sink;

/* Runs SQL text (no parameters); on failure records what it was doing. */
int sq_exec(sq_sink *s, const char *sql, const char *doing);

/* sq_exec of the text in b (a failed buffer is out of memory). */
int sq_exec_buf(sq_sink *s, sink_buf *b, const char *doing);

/* Prepares sql; on failure records what it was doing. */
int sq_prepare(sq_sink *s, const char *sql, sqlite3_stmt **stmt, const char *doing);

/* Opens the unit of work when none is open. */
int sq_begin_tx(sq_sink *s);

/* --- sqlite_ddl.c: tables as the database has them --- */

/* One column of an existing table. */
typedef struct sq_colinfo {
    char *name;
    char *decl;   /* its declared type */
    int pk;       /* position in the primary key, 1-based; 0 when not part of it */
} sq_colinfo;

/* The declared type of a sink type ("JSON TEXT" for JSON). */
const char *sq_decl_type(sink_type type);

/* The sink type of a declared type, for tables that already exist. */
sink_type sq_type_of_decl(const char *decl);

/* Frees n column descriptions. */
void sq_colinfo_free(sq_colinfo *cols, size_t n);

/* The columns of a table of the main database; *n is 0 when it does not exist. */
int sq_table_columns(sq_sink *s, const char *table, sq_colinfo **out, size_t *n);

/* Appends "ident" decl. */
void sq_column_def(sink_buf *b, const char *ident, const char *decl);

/* Creates t's write table from its layout, with its primary key. */
int sq_create_table(sq_sink *s, sq_table *t);

/* Adds to table every column of source_cols it lacks, creating it (with
 * extra_defs after those columns) when missing. */
int sq_widen_table(sq_sink *s, const char *table, const sq_colinfo *source_cols, size_t nsource,
                   const char *extra_defs);

/* Creates the layout's new columns in the write table (and its history). */
int sq_add_missing_columns(sq_sink *s, sq_table *t);

/* Refuses an existing table whose primary key is not the stream's. */
int sq_check_key(sq_sink *s, sq_table *t, const sq_colinfo *cols, size_t n);

/* Drops staging tables of t's table left by loads of other versions. */
int sq_drop_stale_staging(sq_sink *s, sq_table *t);

/* Whether cols has a column named name (SQLite's case rules). */
int sq_has_column(const sq_colinfo *cols, size_t n, const char *name);

/* --- sqlite_history.c: delta log retention --- */

/* Makes t's history table hold every column of table. */
int sq_history_ensure(sq_sink *s, sq_table *t, const char *table);

/* Appends the name of t's temporary history trigger. */
void sq_history_trigger_name(sink_buf *b, const sq_table *t);

/* (Re)creates t's history trigger for its current columns, or only drops
 * it when history is off or t is a FULL_TABLE load. */
int sq_history_trigger(sq_sink *s, sq_table *t);

/* Deletes history rows older than the retention. */
int sq_history_prune(sq_sink *s, sq_table *t);

/* Before a swap: the rows of the old table (columns old) that the load
 * changed or no longer has. */
int sq_history_of_swap(sq_sink *s, sq_table *t, const sq_colinfo *old, size_t nold);

/* --- sqlite_table.c: loading --- */

/* Sets up (or, with a new schema, widens) a stream's table. */
int sq_table_begin(sq_sink *s, sq_table *t, const siphon_stream_desc *desc);

/* Converts and queues one record, inserting a full batch. */
int sq_table_write(sq_sink *s, sq_table *t, const siphon_record *rec);

/* Inserts the queued rows. */
int sq_table_flush(sq_sink *s, sq_table *t);

/* end_stream: the FULL_TABLE swap or discard, and history pruning. */
int sq_table_end(sq_sink *s, sq_table *t, int how);

/* Finalizes a table's statements and releases its memory. */
void sq_table_free(sq_table *t);

#endif
