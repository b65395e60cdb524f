/*
 * sqlite_ddl.c: the SQLite sink's tables as the database has them: declared
 * types both ways, reading a table's columns and key back, creating tables,
 * adding columns for new keys, and dropping the staging tables of
 * interrupted loads.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sink_sql.h"
#include "sink_time.h"
#include "sqlite_sink.h"

/* What a column is declared as. "JSON TEXT" keeps TEXT affinity (SQLite
 * would otherwise turn the JSON text "12" into the integer 12) and still says
 * what the column holds. */
const char *sq_decl_type(sink_type type)
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
sink_type sq_type_of_decl(const char *decl)
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

void sq_colinfo_free(sq_colinfo *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(cols[i].name);
        free(cols[i].decl);
    }
    free(cols);
}

/* The columns of a table of the main database; *n is 0 when it does not exist. */
int sq_table_columns(sq_sink *s, const char *table, sq_colinfo **out, size_t *n)
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
    sq_colinfo *cols = NULL;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            sq_colinfo *grown = realloc(cols, cap * sizeof *cols);
            if (grown == NULL) {
                sqlite3_finalize(st);
                sq_colinfo_free(cols, *n);
                *n = 0;
                return sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
            }
            cols = grown;
        }
        const char *decl = (const char *)sqlite3_column_text(st, 1);
        cols[*n] = (sq_colinfo){strdup((const char *)sqlite3_column_text(st, 0)),
                             strdup(decl ? decl : ""), sqlite3_column_int(st, 2)};
        (*n)++;
    }
    sqlite3_finalize(st);
    if (step != SQLITE_DONE) {
        sq_colinfo_free(cols, *n);
        *n = 0;
        return sink_fail(&s->err, SIPHON_E_IO, "cannot read the columns of table '%s': %s", table,
                         sqlite3_errmsg(s->db));
    }
    *out = cols;
    return SIPHON_OK;
}

void sq_column_def(sink_buf *b, const char *ident, const char *decl)
{
    sink_sql_ident(b, ident);
    sink_buf_printf(b, " %s", decl);
}

int sq_create_table(sq_sink *s, sq_table *t)
{
    sink_buf b = {0};
    sink_buf_puts(&b, "CREATE TABLE main.");
    sink_sql_ident(&b, t->write_table);
    sink_buf_puts(&b, " (");
    for (size_t i = 0; i < t->layout.ncols; i++) {
        if (i > 0)
            sink_buf_puts(&b, ", ");
        sq_column_def(&b, t->layout.cols[i].ident, sq_decl_type(t->layout.cols[i].type));
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
    int rc = sq_exec_buf(s, &b, "creating a table");
    sink_buf_free(&b);
    if (rc == SIPHON_OK)
        for (size_t i = 0; i < t->layout.ncols; i++)
            t->layout.cols[i].flags = (t->layout.cols[i].flags | SINK_COL_STORED) &
                                      ~SINK_COL_RETYPE;
    return rc;
}

/* Adds to table every column of source_cols it lacks (creating it with
 * extra columns first when missing). */
int sq_widen_table(sq_sink *s, const char *table, const sq_colinfo *source_cols, size_t nsource,
                       const char *extra_defs)
{
    sq_colinfo *have = NULL;
    size_t nhave = 0;
    int rc = sq_table_columns(s, table, &have, &nhave);
    if (rc != SIPHON_OK)
        return rc;
    sink_buf b = {0};
    if (nhave == 0) {
        sink_buf_puts(&b, "CREATE TABLE main.");
        sink_sql_ident(&b, table);
        sink_buf_puts(&b, " (");
        for (size_t i = 0; i < nsource; i++) {
            sq_column_def(&b, source_cols[i].name, source_cols[i].decl);
            sink_buf_puts(&b, ", ");
        }
        sink_buf_printf(&b, "%s)", extra_defs);
        rc = sq_exec_buf(s, &b, "creating a history table");
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
        sq_column_def(&b, source_cols[i].name, source_cols[i].decl);
        rc = sq_exec_buf(s, &b, "adding a column to a history table");
    }
    sink_buf_free(&b);
    sq_colinfo_free(have, nhave);
    return rc;
}

/* Creates the layout's new columns in the write table (and its history). */
int sq_add_missing_columns(sq_sink *s, sq_table *t)
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
        sq_column_def(&b, c->ident, sq_decl_type(c->type));
        rc = sq_exec_buf(s, &b, "adding a column for a new key");
        if (rc == SIPHON_OK)
            c->flags |= SINK_COL_STORED;
    }
    sink_buf_free(&b);
    if (rc == SIPHON_OK && s->history && t->mode != SIPHON_SYNC_FULL_TABLE)
        rc = sq_history_ensure(s, t, t->write_table);
    return rc;
}

/* Whether the table's primary key is the one the stream declares. */
int sq_check_key(sq_sink *s, sq_table *t, const sq_colinfo *cols, size_t n)
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
int sq_drop_stale_staging(sq_sink *s, sq_table *t)
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
        rc = sq_exec_buf(s, &b, "dropping the staging table of an interrupted load");
    }
    sink_buf_free(&b);
    json_decref(stale);
    return rc;
}

int sq_has_column(const sq_colinfo *cols, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(cols[i].name, name) == 0)
            return 1;
    return 0;
}
