/*
 * sqlite_table.c: one stream's table in the SQLite sink.
 *
 * INCREMENTAL rows are upserted into the table by primary key (appended when
 * there is none) with multi-row INSERT ... ON CONFLICT DO UPDATE statements
 * prepared once per layout. FULL_TABLE rows go to a staging table named after
 * the load's version; end_stream(COMPLETE) drops the old table and renames
 * the staging table in its place, inside the open transaction, so the swap
 * becomes visible (and durable) with the next commit and never half-way.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sink_sql.h"
#include "sink_time.h"
#include "sqlite_sink.h"

static void finalize_inserts(sq_table *t)
{
    sqlite3_finalize(t->insert_one);
    sqlite3_finalize(t->insert_many);
    t->insert_one = t->insert_many = NULL;
    t->stmt_cols = 0;
}

static int prepare_insert(sq_sink *s, sq_table *t, size_t rows, sqlite3_stmt **stmt)
{
    const sink_layout *l = &t->layout;
    sink_buf b = {0};
    sink_buf_puts(&b, "INSERT INTO main.");
    sink_sql_ident(&b, t->write_table);
    sink_buf_puts(&b, " (");
    for (size_t i = 0; i < l->ncols; i++) {
        if (i > 0)
            sink_buf_puts(&b, ", ");
        sink_sql_ident(&b, l->cols[i].ident);
    }
    sink_buf_puts(&b, ") VALUES ");
    for (size_t r = 0; r < rows; r++) {
        sink_buf_puts(&b, r > 0 ? ", (" : "(");
        for (size_t i = 0; i < l->ncols; i++)
            sink_buf_puts(&b, i > 0 ? ", ?" : "?");
        sink_buf_putc(&b, ')');
    }
    if (l->npk > 0) {
        sink_buf_puts(&b, " ON CONFLICT (");
        for (size_t k = 0; k < l->npk; k++) {
            if (k > 0)
                sink_buf_puts(&b, ", ");
            sink_sql_ident(&b, l->cols[l->pk[k]].ident);
        }
        sink_buf_puts(&b, ") DO UPDATE SET ");
        int first = 1;
        for (size_t i = 0; i < l->ncols; i++) {
            int is_key = 0;
            for (size_t k = 0; k < l->npk; k++)
                is_key |= l->pk[k] == i;
            if (is_key)
                continue;
            if (!first)
                sink_buf_puts(&b, ", ");
            first = 0;
            sink_sql_ident(&b, l->cols[i].ident);
            sink_buf_puts(&b, " = excluded.");
            sink_sql_ident(&b, l->cols[i].ident);
        }
    }
    int rc = b.failed ? sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory")
                      : sq_prepare(s, sink_buf_str(&b), stmt, "preparing the row upsert");
    sink_buf_free(&b);
    return rc;
}

/* Prepares the upserts for the current layout: one row, and as many rows as
 * batch_rows allows within SQLite's limit on parameters per statement. */
static int prepare_inserts(sq_sink *s, sq_table *t)
{
    finalize_inserts(t);
    size_t ncols = t->layout.ncols;
    size_t max_vars = (size_t)sqlite3_limit(s->db, SQLITE_LIMIT_VARIABLE_NUMBER, -1);
    size_t rows = s->batch_rows > 0 ? (size_t)s->batch_rows : 1;
    if (rows * ncols > max_vars)
        rows = max_vars / ncols > 0 ? max_vars / ncols : 1;
    if (rows * ncols > t->cells_cap) {
        sink_cell *cells = realloc(t->cells, rows * ncols * sizeof *cells);
        if (cells == NULL)
            return sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
        t->cells = cells;
        t->cells_cap = rows * ncols;
    }
    int rc = prepare_insert(s, t, 1, &t->insert_one);
    if (rc == SIPHON_OK && rows > 1)
        rc = prepare_insert(s, t, rows, &t->insert_many);
    t->rows_per_stmt = rows;
    t->stmt_cols = ncols;
    return rc;
}

static void bind_cell(sqlite3_stmt *st, int at, const sink_cell *c, const char *text)
{
    switch (c->kind) {
    case SINK_CELL_INT:
    case SINK_CELL_BOOL:
        sqlite3_bind_int64(st, at, c->i);
        break;
    case SINK_CELL_REAL:
        sqlite3_bind_double(st, at, c->d);
        break;
    case SINK_CELL_TEXT:
        sqlite3_bind_text(st, at, text + c->off, (int)c->len, SQLITE_STATIC);
        break;
    default:
        sqlite3_bind_null(st, at);
    }
}

static int run_insert(sq_sink *s, sq_table *t, sqlite3_stmt *st, size_t first, size_t rows)
{
    size_t ncols = t->stmt_cols;
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < ncols; i++)
            bind_cell(st, (int)(r * ncols + i + 1), &t->cells[(first + r) * ncols + i],
                      t->text.data);
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    if (step != SQLITE_DONE)
        return sink_fail(&s->err, SIPHON_E_IO, "stream '%s': cannot write to table '%s': %s",
                         t->stream, t->write_table, sqlite3_errmsg(s->db));
    return SIPHON_OK;
}

int sq_table_flush(sq_sink *s, sq_table *t)
{
    int rc = SIPHON_OK;
    if (t->nrows == t->rows_per_stmt && t->insert_many != NULL) {
        rc = run_insert(s, t, t->insert_many, 0, t->nrows);
    } else {
        for (size_t r = 0; r < t->nrows && rc == SIPHON_OK; r++)
            rc = run_insert(s, t, t->insert_one, r, 1);
    }
    t->nrows = 0;
    sink_buf_reset(&t->text);
    /* The failed statement took the other queued rows with it, and they
     * were accepted earlier: the unit can no longer be committed whole. */
    if (rc != SIPHON_OK)
        s->broken = 1;
    return rc;
}

int sq_table_begin(sq_sink *s, sq_table *t, const siphon_stream_desc *desc)
{
    if (t->stream != NULL) {
        /* The stream is already being written: a new schema only adds. */
        int rc = sink_layout_apply_schema(&t->layout, desc->schema, desc->key_properties,
                                          &s->err, t->stream);
        if (rc != SIPHON_OK || !sink_layout_pending(&t->layout))
            return rc;
        if ((rc = sq_table_flush(s, t)) != SIPHON_OK ||
            (rc = sq_add_missing_columns(s, t)) != SIPHON_OK ||
            (rc = sq_history_trigger(s, t)) != SIPHON_OK)
            return rc;
        return prepare_inserts(s, t);
    }
    t->stream = strdup(desc->stream);
    t->mode = desc->mode == SIPHON_SYNC_FULL_TABLE ? SIPHON_SYNC_FULL_TABLE
                                                   : SIPHON_SYNC_INCREMENTAL;
    t->version = desc->version;
    t->table = sink_naming_table(&s->naming, desc->stream, 1);
    t->history = t->table ? sink_history_name(t->table, 0) : NULL;
    t->write_table = t->table == NULL                 ? NULL
                     : t->mode == SIPHON_SYNC_FULL_TABLE ? sink_staging_name(t->table, t->version, 0)
                                                        : strdup(t->table);
    sink_layout_init(&t->layout, NULL, 1);
    if (t->stream == NULL || t->write_table == NULL || t->history == NULL || t->layout.by_key == NULL)
        return sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");

    if (strcasecmp(t->table, SQ_STATE_TABLE) == 0)
        return sink_fail(&s->err, SIPHON_E_CONFIG,
                         "stream '%s' would be written to table '%s', which holds siphon's "
                         "state: set table_prefix, folder or table_names",
                         t->stream, t->table);
    int rc = SIPHON_OK;
    if (t->mode == SIPHON_SYNC_FULL_TABLE && (rc = sq_drop_stale_staging(s, t)) != SIPHON_OK)
        return rc;
    sq_colinfo *cols = NULL;
    size_t n = 0;
    if ((rc = sq_table_columns(s, t->write_table, &cols, &n)) != SIPHON_OK)
        return rc;
    int exists = n > 0;
    if (!exists && t->mode == SIPHON_SYNC_FULL_TABLE) {
        /* A new load keeps every column the table has, so that the swap
         * never takes a column away from queries written against it. */
        sq_colinfo_free(cols, n);
        if ((rc = sq_table_columns(s, t->table, &cols, &n)) != SIPHON_OK)
            return rc;
    }
    for (size_t i = 0; i < n && rc == SIPHON_OK; i++)
        if (sink_layout_add_stored(&t->layout, cols[i].name, sq_type_of_decl(cols[i].decl)) != 0)
            rc = sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
    if (rc == SIPHON_OK)
        rc = sink_layout_apply_schema(&t->layout, desc->schema, desc->key_properties, &s->err,
                                      t->stream);
    if (rc == SIPHON_OK && exists)
        rc = sq_check_key(s, t, cols, n);
    sq_colinfo_free(cols, n);
    if (rc != SIPHON_OK)
        return rc;
    if (exists) {
        rc = sq_add_missing_columns(s, t);
    } else {
        for (size_t i = 0; i < t->layout.ncols; i++)
            t->layout.cols[i].flags &= ~SINK_COL_STORED;
        rc = sq_create_table(s, t);
        if (rc == SIPHON_OK && s->history && t->mode != SIPHON_SYNC_FULL_TABLE)
            rc = sq_history_ensure(s, t, t->write_table);
    }
    if (rc == SIPHON_OK)
        rc = sq_history_trigger(s, t);
    if (rc == SIPHON_OK)
        rc = prepare_inserts(s, t);
    return rc;
}

int sq_table_write(sq_sink *s, sq_table *t, const siphon_record *rec)
{
    int changed = 0;
    int rc = sink_row_build(&t->row, &t->layout, rec->record, rec->extracted_at_ms, t->stream,
                            &changed, &s->err);
    if (rc != SIPHON_OK)
        return rc;
    if (changed || t->stmt_cols != t->layout.ncols) {
        /* Queued rows were converted for the old columns: insert them with
         * the old statements before the table grows. */
        if ((rc = sq_table_flush(s, t)) != SIPHON_OK ||
            (rc = sq_add_missing_columns(s, t)) != SIPHON_OK ||
            (rc = sq_history_trigger(s, t)) != SIPHON_OK || (rc = prepare_inserts(s, t)) != SIPHON_OK)
            return rc;
    }
    size_t ncols = t->stmt_cols, shift = t->text.len;
    if (sink_buf_add(&t->text, t->row.text.data, t->row.text.len) != 0)
        return sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
    sink_cell *dst = &t->cells[t->nrows * ncols];
    for (size_t i = 0; i < ncols; i++) {
        dst[i] = t->row.cells[i];
        dst[i].off += shift;
    }
    if (++t->nrows == t->rows_per_stmt)
        return sq_table_flush(s, t);
    return SIPHON_OK;
}

static int swap_in(sq_sink *s, sq_table *t)
{
    sq_colinfo *old = NULL;
    size_t nold = 0;
    int rc = sq_table_columns(s, t->table, &old, &nold);
    if (rc != SIPHON_OK)
        return rc;
    sink_buf b = {0};
    if (nold > 0) {
        if (s->history) {
            rc = sq_history_ensure(s, t, t->table);
            if (rc == SIPHON_OK)
                rc = sq_history_of_swap(s, t, old, nold);
        }
        if (rc == SIPHON_OK) {
            sink_buf_puts(&b, "DROP TABLE main.");
            sink_sql_ident(&b, t->table);
            rc = sq_exec_buf(s, &b, "dropping the replaced table");
        }
    }
    sq_colinfo_free(old, nold);
    if (rc == SIPHON_OK) {
        /* The legacy rename leaves views that name the table alone, so they
         * read the new table after the swap instead of failing the rename. */
        sink_buf_reset(&b);
        sink_buf_puts(&b, "ALTER TABLE main.");
        sink_sql_ident(&b, t->write_table);
        sink_buf_puts(&b, " RENAME TO ");
        sink_sql_ident(&b, t->table);
        rc = sq_exec(s, "PRAGMA legacy_alter_table = ON", "renaming the loaded table");
        if (rc == SIPHON_OK)
            rc = sq_exec_buf(s, &b, "renaming the loaded table over the old one");
        int off = sq_exec(s, "PRAGMA legacy_alter_table = OFF", "renaming the loaded table");
        if (rc == SIPHON_OK)
            rc = off;
    }
    sink_buf_free(&b);
    return rc;
}

int sq_table_end(sq_sink *s, sq_table *t, int how)
{
    int rc = SIPHON_OK;
    t->ended = 1;
    if (t->mode == SIPHON_SYNC_FULL_TABLE && how != SIPHON_END_COMPLETE) {
        finalize_inserts(t);
        t->nrows = 0;
        sink_buf_reset(&t->text);
        sink_buf b = {0};
        sink_buf_puts(&b, "DROP TABLE IF EXISTS main.");
        sink_sql_ident(&b, t->write_table);
        rc = sq_exec_buf(s, &b, "discarding a failed full load");
        sink_buf_free(&b);
        return rc;
    }
    if ((rc = sq_table_flush(s, t)) != SIPHON_OK)
        return rc;
    finalize_inserts(t);
    sink_buf b = {0};
    sink_buf_puts(&b, "DROP TRIGGER IF EXISTS ");
    sq_history_trigger_name(&b, t);
    rc = sq_exec_buf(s, &b, "removing the history trigger");
    sink_buf_free(&b);
    if (rc == SIPHON_OK && t->mode == SIPHON_SYNC_FULL_TABLE)
        rc = swap_in(s, t);
    if (rc == SIPHON_OK)
        rc = sq_history_prune(s, t);
    return rc;
}

void sq_table_free(sq_table *t)
{
    finalize_inserts(t);
    free(t->stream);
    free(t->table);
    free(t->write_table);
    free(t->history);
    sink_layout_free(&t->layout);
    sink_row_free(&t->row);
    free(t->cells);
    sink_buf_free(&t->text);
    free(t);
}
