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

/* Prepares sql; on failure records what it was doing. */
int sq_prepare(sq_sink *s, const char *sql, sqlite3_stmt **stmt, const char *doing);

/* Opens the unit of work when none is open. */
int sq_begin_tx(sq_sink *s);

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
