/*
 * pg_ddl.c: the PostgreSQL sink's tables as the server has them: reading a
 * table's columns and key back, creating the write and batch tables, adding
 * columns for new keys and widening drifted ones, and dropping the staging
 * tables of interrupted loads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_sink.h"
#include "sink_sql.h"

const char *pg_sql_type(sink_type type)
{
    switch (type) {
    case SINK_INTEGER: return "bigint";
    case SINK_NUMBER: return "numeric";
    case SINK_BOOLEAN: return "boolean";
    case SINK_JSON: return "jsonb";
    case SINK_STRING: break;
    }
    return "text";
}

/* The sink type of a column that already exists, from format_type(). */
sink_type pg_sink_type_of(const char *type)
{
    if (strncmp(type, "json", 4) == 0)
        return SINK_JSON;
    if (strcmp(type, "bigint") == 0 || strcmp(type, "integer") == 0 ||
        strcmp(type, "smallint") == 0)
        return SINK_INTEGER;
    if (strncmp(type, "numeric", 7) == 0 || strcmp(type, "double precision") == 0 ||
        strcmp(type, "real") == 0)
        return SINK_NUMBER;
    if (strcmp(type, "boolean") == 0)
        return SINK_BOOLEAN;
    return SINK_STRING;
}

const char *pg_decl_of(const pg_table *t, size_t i)
{
    const json_t *d = json_object_get(t->decls, t->layout.cols[i].ident);
    return json_is_string(d) ? json_string_value(d) : pg_sql_type(t->layout.cols[i].type);
}

void pg_colinfo_free(pg_colinfo *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(cols[i].name);
        free(cols[i].type);
    }
    free(cols);
}

/* The columns of schema.table; *n is 0 when it does not exist. */
int pg_table_columns(pg_sink *s, const char *table, pg_colinfo **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sink_buf q = {0};
    pg_qualified(s, &q, table);
    const char *params[] = {sink_buf_str(&q)};
    PGresult *res = pg_query(
        s,
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), "
        "coalesce((SELECT k.n FROM pg_index i, unnest(i.indkey) WITH ORDINALITY AS k(att, n) "
        "WHERE i.indrelid = a.attrelid AND i.indisprimary AND k.att = a.attnum), 0) "
        "FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 "
        "AND NOT a.attisdropped ORDER BY a.attnum",
        1, params, "reading a table's columns");
    sink_buf_free(&q);
    if (res == NULL)
        return s->err.code;
    int rows = PQntuples(res);
    pg_colinfo *cols = rows > 0 ? calloc((size_t)rows, sizeof *cols) : NULL;
    for (int r = 0; r < rows && cols; r++) {
        cols[r].name = strdup(PQgetvalue(res, r, 0));
        cols[r].type = strdup(PQgetvalue(res, r, 1));
        cols[r].pk = atoi(PQgetvalue(res, r, 2));
    }
    PQclear(res);
    if (rows > 0 && cols == NULL)
        return sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
    *out = cols;
    *n = (size_t)rows;
    return SIPHON_OK;
}

int pg_ensure_schema(pg_sink *s)
{
    const char *params[] = {s->schema};
    PGresult *res = pg_query(s, "SELECT 1 FROM pg_namespace WHERE nspname = $1", 1, params,
                             "looking for the layer's schema");
    if (res == NULL)
        return s->err.code;
    int exists = PQntuples(res) > 0;
    PQclear(res);
    if (exists)
        return SIPHON_OK;
    sink_buf b = {0};
    sink_buf_puts(&b, "CREATE SCHEMA IF NOT EXISTS ");
    sink_sql_ident(&b, s->schema);
    int rc = pg_exec_buf(s, &b, "creating the layer's schema");
    sink_buf_free(&b);
    return rc;
}

void pg_column_list(sink_buf *b, const sink_layout *l, const char *alias)
{
    for (size_t i = 0; i < l->ncols; i++) {
        if (i > 0)
            sink_buf_puts(b, ", ");
        if (alias)
            sink_buf_printf(b, "%s.", alias);
        sink_sql_ident(b, l->cols[i].ident);
    }
}

void pg_key_list(sink_buf *b, const sink_layout *l, const char *alias)
{
    for (size_t k = 0; k < l->npk; k++) {
        if (k > 0)
            sink_buf_puts(b, ", ");
        if (alias)
            sink_buf_printf(b, "%s.", alias);
        sink_sql_ident(b, l->cols[l->pk[k]].ident);
    }
}

int pg_create_write_table(pg_sink *s, pg_table *t)
{
    sink_buf b = {0};
    sink_buf_puts(&b, "CREATE TABLE ");
    pg_qualified(s, &b, t->write_table);
    sink_buf_puts(&b, " (");
    for (size_t i = 0; i < t->layout.ncols; i++) {
        if (i > 0)
            sink_buf_puts(&b, ", ");
        sink_sql_ident(&b, t->layout.cols[i].ident);
        sink_buf_printf(&b, " %s", pg_decl_of(t, i));
    }
    if (t->layout.npk > 0) {
        sink_buf_puts(&b, ", PRIMARY KEY (");
        pg_key_list(&b, &t->layout, NULL);
        sink_buf_putc(&b, ')');
    }
    sink_buf_putc(&b, ')');
    int rc = pg_exec_buf(s, &b, "creating a table");
    sink_buf_free(&b);
    for (size_t i = 0; rc == SIPHON_OK && i < t->layout.ncols; i++) {
        t->layout.cols[i].flags = (t->layout.cols[i].flags | SINK_COL_STORED) & ~SINK_COL_RETYPE;
        json_object_set_new(t->decls, t->layout.cols[i].ident, json_string(pg_decl_of(t, i)));
    }
    return rc;
}

/* The session's batch table: an ordinal (arrival order) and the layout. */
int pg_create_batch(pg_sink *s, pg_table *t)
{
    sink_buf b = {0};
    sink_buf_puts(&b, "DROP TABLE IF EXISTS pg_temp.");
    sink_sql_ident(&b, t->batch);
    int rc = pg_exec_buf(s, &b, "replacing a batch table");
    sink_buf_reset(&b);
    sink_buf_puts(&b, "CREATE TEMP TABLE ");
    sink_sql_ident(&b, t->batch);
    sink_buf_puts(&b, " (\"" PG_ORDINAL "\" bigint");
    for (size_t i = 0; i < t->layout.ncols; i++) {
        sink_buf_puts(&b, ", ");
        sink_sql_ident(&b, t->layout.cols[i].ident);
        sink_buf_printf(&b, " %s", pg_decl_of(t, i));
    }
    sink_buf_putc(&b, ')');
    if (rc == SIPHON_OK)
        rc = pg_exec_buf(s, &b, "creating a batch table");
    sink_buf_free(&b);
    t->batch_cols = t->layout.ncols;
    return rc;
}

int pg_alter(pg_sink *s, const char *qualified_table, const char *what, const char *doing)
{
    sink_buf b = {0};
    sink_buf_printf(&b, "ALTER TABLE %s %s", qualified_table, what);
    int rc = pg_exec_buf(s, &b, doing);
    sink_buf_free(&b);
    return rc;
}

/* Creates new columns and widens drifted ones, in the write table, the
 * batch table and (for INCREMENTAL) the history table. */
int pg_apply_layout(pg_sink *s, pg_table *t)
{
    int rc = pg_copy_finish(s);
    sink_buf w = {0}, tmp = {0}, h = {0}, what = {0};
    pg_qualified(s, &w, t->write_table);
    sink_buf_puts(&tmp, "pg_temp.");
    sink_sql_ident(&tmp, t->batch);
    pg_qualified(s, &h, t->history);
    int with_history = 0;
    if (rc == SIPHON_OK && s->history && t->mode != SIPHON_SYNC_FULL_TABLE) {
        pg_colinfo *hc = NULL;
        size_t nh = 0;
        rc = pg_table_columns(s, t->history, &hc, &nh);
        pg_colinfo_free(hc, nh);
        with_history = nh > 0;
    }
    for (size_t i = 0; rc == SIPHON_OK && i < t->layout.ncols; i++) {
        sink_column *c = &t->layout.cols[i];
        sink_buf_reset(&what);
        if (!(c->flags & SINK_COL_STORED)) {
            sink_buf_puts(&what, "ADD COLUMN ");
            sink_sql_ident(&what, c->ident);
            sink_buf_printf(&what, " %s", pg_sql_type(c->type));
            json_object_set_new(t->decls, c->ident, json_string(pg_sql_type(c->type)));
            rc = pg_alter(s, sink_buf_str(&w), sink_buf_str(&what), "adding a column for a new key");
            if (rc == SIPHON_OK && i >= t->batch_cols)
                rc = pg_alter(s, sink_buf_str(&tmp), sink_buf_str(&what), "widening a batch table");
            if (rc == SIPHON_OK && with_history) {
                sink_buf_reset(&what);
                sink_buf_puts(&what, "ADD COLUMN IF NOT EXISTS ");
                sink_sql_ident(&what, c->ident);
                sink_buf_printf(&what, " %s", pg_sql_type(c->type));
                rc = pg_alter(s, sink_buf_str(&h), sink_buf_str(&what), "widening a history table");
            }
            c->flags = (c->flags | SINK_COL_STORED) & ~SINK_COL_RETYPE;
        } else if (c->flags & SINK_COL_RETYPE) {
            /* A drifted key met a value of another type: its column becomes
             * jsonb, and what it held so far is kept as JSON. */
            sink_buf_puts(&what, "ALTER COLUMN ");
            sink_sql_ident(&what, c->ident);
            sink_buf_puts(&what, " TYPE jsonb USING to_jsonb(");
            sink_sql_ident(&what, c->ident);
            sink_buf_putc(&what, ')');
            json_object_set_new(t->decls, c->ident, json_string("jsonb"));
            rc = pg_alter(s, sink_buf_str(&w), sink_buf_str(&what), "widening a drifted column");
            if (rc == SIPHON_OK && i < t->batch_cols)
                rc = pg_alter(s, sink_buf_str(&tmp), sink_buf_str(&what), "widening a batch table");
            if (rc == SIPHON_OK && with_history)
                rc = pg_alter(s, sink_buf_str(&h), sink_buf_str(&what), "widening a history table");
            c->flags &= ~SINK_COL_RETYPE;
        }
    }
    if (rc == SIPHON_OK)
        t->batch_cols = t->layout.ncols;
    sink_buf_free(&w);
    sink_buf_free(&tmp);
    sink_buf_free(&h);
    sink_buf_free(&what);
    return rc;
}

int pg_check_key(pg_sink *s, pg_table *t, const pg_colinfo *cols, size_t n)
{
    size_t npk = 0;
    for (size_t i = 0; i < n; i++)
        npk += cols[i].pk > 0;
    int same = npk == t->layout.npk;
    for (size_t i = 0; i < n && same; i++)
        if (cols[i].pk > 0)
            same = (size_t)cols[i].pk <= t->layout.npk &&
                   strcmp(cols[i].name, t->layout.cols[t->layout.pk[cols[i].pk - 1]].ident) == 0;
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
              "stream '%s': table %s.%s exists with the primary key (%s), but the stream's key "
              "properties are (%s)",
              t->stream, s->schema, t->write_table, sink_buf_str(&have), sink_buf_str(&want));
    sink_buf_free(&have);
    sink_buf_free(&want);
    return s->err.code;
}

int pg_drop_stale_staging(pg_sink *s, pg_table *t)
{
    const char *params[] = {s->schema};
    PGresult *res = pg_query(s, "SELECT tablename FROM pg_tables WHERE schemaname = $1", 1, params,
                             "listing tables");
    if (res == NULL)
        return s->err.code;
    int rc = SIPHON_OK;
    sink_buf b = {0};
    for (int r = 0; r < PQntuples(res) && rc == SIPHON_OK; r++) {
        int64_t v = 0;
        const char *name = PQgetvalue(res, r, 0);
        if (!sink_is_staging_of(t->full, name, PG_IDENT_MAX, &v) || v == t->version)
            continue;
        sink_buf_reset(&b);
        sink_buf_puts(&b, "DROP TABLE IF EXISTS ");
        pg_qualified(s, &b, name);
        rc = pg_exec_buf(s, &b, "dropping the staging table of an interrupted load");
    }
    PQclear(res);
    sink_buf_free(&b);
    return rc;
}
