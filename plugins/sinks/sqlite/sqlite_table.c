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

#define REPLACED_AT "_siphon_replaced_at"
#define CHANGE "_siphon_change"

/* What a column is declared as. "JSON TEXT" keeps TEXT affinity (SQLite
 * would otherwise turn the JSON text "12" into the integer 12) and still says
 * what the column holds. */
static const char *decl_type(sink_type type)
{
    switch (type) {
    case SINK_INTEGER: return "INTEGER";
    case SINK_NUMBER: return "REAL";
    case SINK_BOOLEAN: return "BOOLEAN";
    case SINK_JSON: return "JSON TEXT";
    case SINK_STRING: break;
    }
    return "TEXT";
}

/* The sink type of a declared type, for tables that already exist. */
static sink_type type_of_decl(const char *decl)
{
    if (decl == NULL)
        return SINK_STRING;
    if (strcasestr(decl, "JSON"))
        return SINK_JSON;
    if (strcasestr(decl, "INT"))
        return SINK_INTEGER;
    if (strcasestr(decl, "BOOL"))
        return SINK_BOOLEAN;
    if (strcasestr(decl, "REAL") || strcasestr(decl, "FLOA") || strcasestr(decl, "DOUB") ||
        strcasestr(decl, "NUM") || strcasestr(decl, "DEC"))
        return SINK_NUMBER;
    return SINK_STRING;
}

typedef struct colinfo {
    char *name;
    char *decl;
    int pk;       /* position in the primary key, 1-based; 0 when not part of it */
} colinfo;

static void colinfo_free(colinfo *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(cols[i].name);
        free(cols[i].decl);
    }
    free(cols);
}

/* The columns of a table of the main database; *n is 0 when it does not exist. */
static int table_columns(sq_sink *s, const char *table, colinfo **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    int rc = sq_prepare(s, "SELECT name, type, pk FROM pragma_table_info(?1, 'main') ORDER BY cid",
                        &st, "reading a table's columns");
    if (rc != SIPHON_OK)
        return rc;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    size_t cap = 0;
    colinfo *cols = NULL;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            colinfo *grown = realloc(cols, cap * sizeof *cols);
            if (grown == NULL) {
                sqlite3_finalize(st);
                colinfo_free(cols, *n);
                *n = 0;
                return sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
            }
            cols = grown;
        }
        const char *decl = (const char *)sqlite3_column_text(st, 1);
        cols[*n] = (colinfo){strdup((const char *)sqlite3_column_text(st, 0)),
                             strdup(decl ? decl : ""), sqlite3_column_int(st, 2)};
        (*n)++;
    }
    sqlite3_finalize(st);
    if (step != SQLITE_DONE) {
        colinfo_free(cols, *n);
        *n = 0;
        return sink_fail(&s->err, SIPHON_E_IO, "cannot read the columns of table '%s': %s", table,
                         sqlite3_errmsg(s->db));
    }
    *out = cols;
    return SIPHON_OK;
}

static int exec_buf(sq_sink *s, sink_buf *b, const char *doing)
{
    if (b->failed)
        return sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
    return sq_exec(s, sink_buf_str(b), doing);
}

static void column_def(sink_buf *b, const char *ident, const char *decl)
{
    sink_sql_ident(b, ident);
    sink_buf_printf(b, " %s", decl);
}

static int create_table(sq_sink *s, sq_table *t)
{
    sink_buf b = {0};
    sink_buf_puts(&b, "CREATE TABLE main.");
    sink_sql_ident(&b, t->write_table);
    sink_buf_puts(&b, " (");
    for (size_t i = 0; i < t->layout.ncols; i++) {
        if (i > 0)
            sink_buf_puts(&b, ", ");
        column_def(&b, t->layout.cols[i].ident, decl_type(t->layout.cols[i].type));
    }
    if (t->layout.npk > 0) {
        sink_buf_puts(&b, ", PRIMARY KEY (");
        for (size_t k = 0; k < t->layout.npk; k++) {
            if (k > 0)
                sink_buf_puts(&b, ", ");
            sink_sql_ident(&b, t->layout.cols[t->layout.pk[k]].ident);
        }
        sink_buf_putc(&b, ')');
    }
    sink_buf_putc(&b, ')');
    int rc = exec_buf(s, &b, "creating a table");
    sink_buf_free(&b);
    if (rc == SIPHON_OK)
        for (size_t i = 0; i < t->layout.ncols; i++)
            t->layout.cols[i].flags = (t->layout.cols[i].flags | SINK_COL_STORED) &
                                      ~SINK_COL_RETYPE;
    return rc;
}

/* Adds to table every column of source_cols it lacks (creating it with
 * extra columns first when missing). */
static int widen_table(sq_sink *s, const char *table, const colinfo *source_cols, size_t nsource,
                       const char *extra_defs)
{
    colinfo *have = NULL;
    size_t nhave = 0;
    int rc = table_columns(s, table, &have, &nhave);
    if (rc != SIPHON_OK)
        return rc;
    sink_buf b = {0};
    if (nhave == 0) {
        sink_buf_puts(&b, "CREATE TABLE main.");
        sink_sql_ident(&b, table);
        sink_buf_puts(&b, " (");
        for (size_t i = 0; i < nsource; i++) {
            column_def(&b, source_cols[i].name, source_cols[i].decl);
            sink_buf_puts(&b, ", ");
        }
        sink_buf_printf(&b, "%s)", extra_defs);
        rc = exec_buf(s, &b, "creating a history table");
    }
    for (size_t i = 0; i < nsource && nhave > 0 && rc == SIPHON_OK; i++) {
        int found = 0;
        for (size_t j = 0; j < nhave && !found; j++)
            found = strcasecmp(have[j].name, source_cols[i].name) == 0;
        if (found)
            continue;
        sink_buf_reset(&b);
        sink_buf_puts(&b, "ALTER TABLE main.");
        sink_sql_ident(&b, table);
        sink_buf_puts(&b, " ADD COLUMN ");
        column_def(&b, source_cols[i].name, source_cols[i].decl);
        rc = exec_buf(s, &b, "adding a column to a history table");
    }
    sink_buf_free(&b);
    colinfo_free(have, nhave);
    return rc;
}

/* The history table has every column of table, plus when and why a row
 * version was replaced. */
static int ensure_history(sq_sink *s, sq_table *t, const char *table)
{
    colinfo *cols = NULL;
    size_t n = 0;
    int rc = table_columns(s, table, &cols, &n);
    if (rc == SIPHON_OK && n > 0)
        rc = widen_table(s, t->history, cols, n,
                         "\"" REPLACED_AT "\" TEXT NOT NULL, \"" CHANGE "\" TEXT NOT NULL");
    colinfo_free(cols, n);
    return rc;
}

/* Creates the layout's new columns in the write table (and its history). */
static int add_missing_columns(sq_sink *s, sq_table *t)
{
    sink_buf b = {0};
    int rc = SIPHON_OK;
    for (size_t i = 0; i < t->layout.ncols && rc == SIPHON_OK; i++) {
        sink_column *c = &t->layout.cols[i];
        /* SQLite keeps any value in any column: a drifted column widened to
         * JSON needs no ALTER, its new values are simply JSON text. */
        c->flags &= ~SINK_COL_RETYPE;
        if (c->flags & SINK_COL_STORED)
            continue;
        sink_buf_reset(&b);
        sink_buf_puts(&b, "ALTER TABLE main.");
        sink_sql_ident(&b, t->write_table);
        sink_buf_puts(&b, " ADD COLUMN ");
        column_def(&b, c->ident, decl_type(c->type));
        rc = exec_buf(s, &b, "adding a column for a new key");
        if (rc == SIPHON_OK)
            c->flags |= SINK_COL_STORED;
    }
    sink_buf_free(&b);
    if (rc == SIPHON_OK && s->history && t->mode != SIPHON_SYNC_FULL_TABLE)
        rc = ensure_history(s, t, t->write_table);
    return rc;
}

static void trigger_name(sink_buf *b, const sq_table *t)
{
    sink_buf_printf(b, "temp.\"siphon_history_%d\"", t->index);
}

/*
 * With history on, a temporary trigger (it lives in this connection only and
 * never changes the database's schema) copies the old version of every row
 * an upsert changes into the history table. Rows written again unchanged
 * (the boundary rows every incremental run reads again) leave no history.
 */
static int install_trigger(sq_sink *s, sq_table *t)
{
    sink_buf b = {0};
    sink_buf_puts(&b, "DROP TRIGGER IF EXISTS ");
    trigger_name(&b, t);
    int rc = exec_buf(s, &b, "replacing the history trigger");
    if (rc != SIPHON_OK || !s->history || t->mode == SIPHON_SYNC_FULL_TABLE ||
        t->layout.npk == 0) {
        sink_buf_free(&b);
        return rc;
    }
    sink_buf_reset(&b);
    sink_buf_puts(&b, "CREATE TEMP TRIGGER ");
    sink_buf_printf(&b, "\"siphon_history_%d\" BEFORE UPDATE ON main.", t->index);
    sink_sql_ident(&b, t->write_table);
    sink_buf_puts(&b, " WHEN 0");
    for (size_t i = 0; i < t->layout.ncols; i++) {
        if (!sink_layout_is_data(&t->layout, i))
            continue;
        sink_buf_puts(&b, " OR OLD.");
        sink_sql_ident(&b, t->layout.cols[i].ident);
        sink_buf_puts(&b, " IS NOT NEW.");
        sink_sql_ident(&b, t->layout.cols[i].ident);
    }
    sink_buf_puts(&b, " BEGIN INSERT INTO ");
    sink_sql_ident(&b, t->history);
    sink_buf_puts(&b, " (");
    for (size_t i = 0; i < t->layout.ncols; i++) {
        sink_sql_ident(&b, t->layout.cols[i].ident);
        sink_buf_puts(&b, ", ");
    }
    sink_buf_puts(&b, "\"" REPLACED_AT "\", \"" CHANGE "\") VALUES (");
    for (size_t i = 0; i < t->layout.ncols; i++) {
        sink_buf_puts(&b, "OLD.");
        sink_sql_ident(&b, t->layout.cols[i].ident);
        sink_buf_puts(&b, ", ");
    }
    sink_buf_puts(&b, "strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'update'); END");
    rc = exec_buf(s, &b, "creating the history trigger");
    sink_buf_free(&b);
    return rc;
}

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

/* Whether the table's primary key is the one the stream declares. */
static int check_key(sq_sink *s, sq_table *t, const colinfo *cols, size_t n)
{
    size_t npk = 0;
    for (size_t i = 0; i < n; i++)
        npk += cols[i].pk > 0;
    int same = npk == t->layout.npk;
    for (size_t i = 0; i < n && same; i++) {
        if (cols[i].pk > 0)
            same = strcasecmp(cols[i].name, t->layout.cols[t->layout.pk[cols[i].pk - 1]].ident) ==
                   0;
    }
    if (same)
        return SIPHON_OK;
    sink_buf have = {0}, want = {0};
    for (int k = 1; k <= (int)npk; k++)
        for (size_t i = 0; i < n; i++)
            if (cols[i].pk == k)
                sink_buf_printf(&have, "%s%s", k > 1 ? ", " : "", cols[i].name);
    for (size_t k = 0; k < t->layout.npk; k++)
        sink_buf_printf(&want, "%s%s", k ? ", " : "", t->layout.cols[t->layout.pk[k]].ident);
    sink_fail(&s->err, SIPHON_E_INVALID,
              "stream '%s': table '%s' exists with the primary key (%s), but the stream's key "
              "properties are (%s)",
              t->stream, t->write_table, sink_buf_str(&have), sink_buf_str(&want));
    sink_buf_free(&have);
    sink_buf_free(&want);
    return s->err.code;
}

/* Staging tables of earlier, interrupted loads of this table (another
 * version) are dropped: their rows were never swapped in. */
static int drop_stale_staging(sq_sink *s, sq_table *t)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_prepare(s, "SELECT name FROM main.sqlite_master WHERE type = 'table'", &st,
                        "listing tables");
    if (rc != SIPHON_OK)
        return rc;
    json_t *stale = json_array();
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        int64_t v = 0;
        if (name && sink_is_staging_of(t->table, name, 0, &v) && v != t->version)
            json_array_append_new(stale, json_string(name));
    }
    sqlite3_finalize(st);
    size_t i;
    json_t *name;
    sink_buf b = {0};
    json_array_foreach(stale, i, name) {
        if (rc != SIPHON_OK)
            break;
        sink_buf_reset(&b);
        sink_buf_puts(&b, "DROP TABLE main.");
        sink_sql_ident(&b, json_string_value(name));
        rc = exec_buf(s, &b, "dropping the staging table of an interrupted load");
    }
    sink_buf_free(&b);
    json_decref(stale);
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
            (rc = add_missing_columns(s, t)) != SIPHON_OK ||
            (rc = install_trigger(s, t)) != SIPHON_OK)
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
    if (t->mode == SIPHON_SYNC_FULL_TABLE && (rc = drop_stale_staging(s, t)) != SIPHON_OK)
        return rc;
    colinfo *cols = NULL;
    size_t n = 0;
    if ((rc = table_columns(s, t->write_table, &cols, &n)) != SIPHON_OK)
        return rc;
    int exists = n > 0;
    if (!exists && t->mode == SIPHON_SYNC_FULL_TABLE) {
        /* A new load keeps every column the table has, so that the swap
         * never takes a column away from queries written against it. */
        colinfo_free(cols, n);
        if ((rc = table_columns(s, t->table, &cols, &n)) != SIPHON_OK)
            return rc;
    }
    for (size_t i = 0; i < n && rc == SIPHON_OK; i++)
        if (sink_layout_add_stored(&t->layout, cols[i].name, type_of_decl(cols[i].decl)) != 0)
            rc = sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
    if (rc == SIPHON_OK)
        rc = sink_layout_apply_schema(&t->layout, desc->schema, desc->key_properties, &s->err,
                                      t->stream);
    if (rc == SIPHON_OK && exists)
        rc = check_key(s, t, cols, n);
    colinfo_free(cols, n);
    if (rc != SIPHON_OK)
        return rc;
    if (exists) {
        rc = add_missing_columns(s, t);
    } else {
        for (size_t i = 0; i < t->layout.ncols; i++)
            t->layout.cols[i].flags &= ~SINK_COL_STORED;
        rc = create_table(s, t);
        if (rc == SIPHON_OK && s->history && t->mode != SIPHON_SYNC_FULL_TABLE)
            rc = ensure_history(s, t, t->write_table);
    }
    if (rc == SIPHON_OK)
        rc = install_trigger(s, t);
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
            (rc = add_missing_columns(s, t)) != SIPHON_OK ||
            (rc = install_trigger(s, t)) != SIPHON_OK || (rc = prepare_inserts(s, t)) != SIPHON_OK)
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

static int prune_history(sq_sink *s, sq_table *t)
{
    if (!s->history)
        return SIPHON_OK;
    colinfo *cols = NULL;
    size_t n = 0;
    int rc = table_columns(s, t->history, &cols, &n);
    colinfo_free(cols, n);
    if (rc != SIPHON_OK || n == 0)
        return rc;
    char cutoff[SINK_RFC3339_LEN];
    sink_rfc3339(sink_now_ms() - (int64_t)(s->retention_days * 86400000.0), cutoff);
    sink_buf b = {0};
    sink_buf_puts(&b, "DELETE FROM main.");
    sink_sql_ident(&b, t->history);
    sink_buf_puts(&b, " WHERE \"" REPLACED_AT "\" < ?1");
    sqlite3_stmt *st = NULL;
    rc = sq_prepare(s, sink_buf_str(&b), &st, "pruning history");
    sink_buf_free(&b);
    if (rc != SIPHON_OK)
        return rc;
    sqlite3_bind_text(st, 1, cutoff, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = sink_fail(&s->err, SIPHON_E_IO, "cannot prune history table '%s': %s", t->history,
                       sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    return rc;
}

static int has_column(const colinfo *cols, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(cols[i].name, name) == 0)
            return 1;
    return 0;
}

/* Before a swap: every row of the old table that the new load deleted or
 * changed goes to history. */
static int history_of_swap(sq_sink *s, sq_table *t, const colinfo *old, size_t nold)
{
    colinfo *fresh = NULL;
    size_t nfresh = 0;
    int rc = table_columns(s, t->write_table, &fresh, &nfresh);
    if (rc != SIPHON_OK)
        return rc;
    sink_buf b = {0};
    sink_buf_puts(&b, "INSERT INTO main.");
    sink_sql_ident(&b, t->history);
    sink_buf_puts(&b, " (");
    for (size_t i = 0; i < nold; i++) {
        sink_sql_ident(&b, old[i].name);
        sink_buf_puts(&b, ", ");
    }
    sink_buf_puts(&b, "\"" REPLACED_AT "\", \"" CHANGE "\") SELECT ");
    for (size_t i = 0; i < nold; i++) {
        sink_buf_puts(&b, "o.");
        sink_sql_ident(&b, old[i].name);
        sink_buf_puts(&b, ", ");
    }
    const sink_layout *l = &t->layout;
    sink_buf data = {0}; /* the data columns both tables have, compared null-safely */
    for (size_t i = 0; i < nold; i++) {
        if (strcmp(old[i].name, SINK_EXTRACTED_AT) == 0 || !has_column(fresh, nfresh, old[i].name))
            continue;
        sink_buf_puts(&data, " OR o.");
        sink_sql_ident(&data, old[i].name);
        sink_buf_puts(&data, " IS NOT n.");
        sink_sql_ident(&data, old[i].name);
    }
    if (l->npk > 0) {
        const char *first_key = l->cols[l->pk[0]].ident;
        sink_buf_puts(&b, "?1, CASE WHEN n.");
        sink_sql_ident(&b, first_key);
        sink_buf_puts(&b, " IS NULL THEN 'delete' ELSE 'update' END FROM main.");
        sink_sql_ident(&b, t->table);
        sink_buf_puts(&b, " AS o LEFT JOIN main.");
        sink_sql_ident(&b, t->write_table);
        sink_buf_puts(&b, " AS n ON ");
        for (size_t k = 0; k < l->npk; k++) {
            if (k > 0)
                sink_buf_puts(&b, " AND ");
            sink_buf_puts(&b, "o.");
            sink_sql_ident(&b, l->cols[l->pk[k]].ident);
            sink_buf_puts(&b, " = n.");
            sink_sql_ident(&b, l->cols[l->pk[k]].ident);
        }
        sink_buf_puts(&b, " WHERE n.");
        sink_sql_ident(&b, first_key);
        sink_buf_printf(&b, " IS NULL%s", sink_buf_str(&data));
    } else {
        sink_buf_puts(&b, "?1, 'delete' FROM main.");
        sink_sql_ident(&b, t->table);
        sink_buf_puts(&b, " AS o WHERE NOT EXISTS (SELECT 1 FROM main.");
        sink_sql_ident(&b, t->write_table);
        /* " OR o.x IS NOT n.x" becomes " AND NOT (...)": no identical row. */
        sink_buf_printf(&b, " AS n WHERE NOT (0%s))", sink_buf_str(&data));
    }
    sink_buf_free(&data);
    colinfo_free(fresh, nfresh);
    sqlite3_stmt *st = NULL;
    rc = b.failed ? sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory")
                  : sq_prepare(s, sink_buf_str(&b), &st, "keeping the history of a full load");
    sink_buf_free(&b);
    if (rc != SIPHON_OK)
        return rc;
    char now[SINK_RFC3339_LEN];
    sink_rfc3339(sink_now_ms(), now);
    sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = sink_fail(&s->err, SIPHON_E_IO, "cannot write history table '%s': %s", t->history,
                       sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    return rc;
}

static int swap_in(sq_sink *s, sq_table *t)
{
    colinfo *old = NULL;
    size_t nold = 0;
    int rc = table_columns(s, t->table, &old, &nold);
    if (rc != SIPHON_OK)
        return rc;
    sink_buf b = {0};
    if (nold > 0) {
        if (s->history) {
            rc = ensure_history(s, t, t->table);
            if (rc == SIPHON_OK)
                rc = history_of_swap(s, t, old, nold);
        }
        if (rc == SIPHON_OK) {
            sink_buf_puts(&b, "DROP TABLE main.");
            sink_sql_ident(&b, t->table);
            rc = exec_buf(s, &b, "dropping the replaced table");
        }
    }
    colinfo_free(old, nold);
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
            rc = exec_buf(s, &b, "renaming the loaded table over the old one");
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
        rc = exec_buf(s, &b, "discarding a failed full load");
        sink_buf_free(&b);
        return rc;
    }
    if ((rc = sq_table_flush(s, t)) != SIPHON_OK)
        return rc;
    finalize_inserts(t);
    sink_buf b = {0};
    sink_buf_puts(&b, "DROP TRIGGER IF EXISTS ");
    trigger_name(&b, t);
    rc = exec_buf(s, &b, "removing the history trigger");
    sink_buf_free(&b);
    if (rc == SIPHON_OK && t->mode == SIPHON_SYNC_FULL_TABLE)
        rc = swap_in(s, t);
    if (rc == SIPHON_OK)
        rc = prune_history(s, t);
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
