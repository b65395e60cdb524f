/*
 * pg_table.c: one stream's table in the PostgreSQL sink.
 *
 * Records stream into a temporary batch table of the session with COPY (text
 * format). At a flush (every batch_rows records, at commit, at end_stream)
 * the batch is merged into the write table in one statement:
 *
 *   INSERT INTO t (...) SELECT DISTINCT ON (pk) ... FROM batch
 *   ORDER BY pk, _siphon_ordinal DESC ON CONFLICT (pk) DO UPDATE ...
 *
 * so the last record of a key wins, and a stream without a key appends. A
 * FULL_TABLE load merges into a staging table named after its version, which
 * end_stream(COMPLETE) swaps in for the table inside the open transaction.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_sink.h"
#include "sink_sql.h"

#define REPLACED_AT "_siphon_replaced_at"
#define CHANGE "_siphon_change"
#define ORDINAL "_siphon_ordinal"
/* COPY data is handed to libpq in pieces of about this size. */
#define COPY_CHUNK (64 * 1024)

static const char *pg_type(sink_type type)
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
static sink_type type_of_pg(const char *type)
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

static const char *decl_of(const pg_table *t, size_t i)
{
    const json_t *d = json_object_get(t->decls, t->layout.cols[i].ident);
    return json_is_string(d) ? json_string_value(d) : pg_type(t->layout.cols[i].type);
}

typedef struct colinfo {
    char *name;
    char *type;
    int pk;      /* 1-based position in the primary key, 0 when not part of it */
} colinfo;

static void colinfo_free(colinfo *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(cols[i].name);
        free(cols[i].type);
    }
    free(cols);
}

/* The columns of schema.table; *n is 0 when it does not exist. */
static int table_columns(pg_sink *s, const char *table, colinfo **out, size_t *n)
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
    colinfo *cols = rows > 0 ? calloc((size_t)rows, sizeof *cols) : NULL;
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

static int exec_buf(pg_sink *s, sink_buf *b, const char *doing)
{
    if (b->failed)
        return sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
    return pg_exec(s, sink_buf_str(b), doing);
}

static int ensure_schema(pg_sink *s)
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
    int rc = exec_buf(s, &b, "creating the layer's schema");
    sink_buf_free(&b);
    return rc;
}

static void column_list(sink_buf *b, const sink_layout *l, const char *alias)
{
    for (size_t i = 0; i < l->ncols; i++) {
        if (i > 0)
            sink_buf_puts(b, ", ");
        if (alias)
            sink_buf_printf(b, "%s.", alias);
        sink_sql_ident(b, l->cols[i].ident);
    }
}

static void key_list(sink_buf *b, const sink_layout *l, const char *alias)
{
    for (size_t k = 0; k < l->npk; k++) {
        if (k > 0)
            sink_buf_puts(b, ", ");
        if (alias)
            sink_buf_printf(b, "%s.", alias);
        sink_sql_ident(b, l->cols[l->pk[k]].ident);
    }
}

static int create_write_table(pg_sink *s, pg_table *t)
{
    sink_buf b = {0};
    sink_buf_puts(&b, "CREATE TABLE ");
    pg_qualified(s, &b, t->write_table);
    sink_buf_puts(&b, " (");
    for (size_t i = 0; i < t->layout.ncols; i++) {
        if (i > 0)
            sink_buf_puts(&b, ", ");
        sink_sql_ident(&b, t->layout.cols[i].ident);
        sink_buf_printf(&b, " %s", decl_of(t, i));
    }
    if (t->layout.npk > 0) {
        sink_buf_puts(&b, ", PRIMARY KEY (");
        key_list(&b, &t->layout, NULL);
        sink_buf_putc(&b, ')');
    }
    sink_buf_putc(&b, ')');
    int rc = exec_buf(s, &b, "creating a table");
    sink_buf_free(&b);
    for (size_t i = 0; rc == SIPHON_OK && i < t->layout.ncols; i++) {
        t->layout.cols[i].flags = (t->layout.cols[i].flags | SINK_COL_STORED) & ~SINK_COL_RETYPE;
        json_object_set_new(t->decls, t->layout.cols[i].ident, json_string(decl_of(t, i)));
    }
    return rc;
}

/* The session's batch table: an ordinal (arrival order) and the layout. */
static int create_batch(pg_sink *s, pg_table *t)
{
    sink_buf b = {0};
    sink_buf_puts(&b, "DROP TABLE IF EXISTS pg_temp.");
    sink_sql_ident(&b, t->batch);
    int rc = exec_buf(s, &b, "replacing a batch table");
    sink_buf_reset(&b);
    sink_buf_puts(&b, "CREATE TEMP TABLE ");
    sink_sql_ident(&b, t->batch);
    sink_buf_puts(&b, " (\"" ORDINAL "\" bigint");
    for (size_t i = 0; i < t->layout.ncols; i++) {
        sink_buf_puts(&b, ", ");
        sink_sql_ident(&b, t->layout.cols[i].ident);
        sink_buf_printf(&b, " %s", decl_of(t, i));
    }
    sink_buf_putc(&b, ')');
    if (rc == SIPHON_OK)
        rc = exec_buf(s, &b, "creating a batch table");
    sink_buf_free(&b);
    t->batch_cols = t->layout.ncols;
    return rc;
}

/* Makes table hold every column of source (creating it, with the history
 * columns, when missing). */
static int ensure_history_of(pg_sink *s, pg_table *t, const char *source)
{
    colinfo *src = NULL, *have = NULL;
    size_t nsrc = 0, nhave = 0;
    int rc = table_columns(s, source, &src, &nsrc);
    if (rc == SIPHON_OK)
        rc = table_columns(s, t->history, &have, &nhave);
    sink_buf b = {0};
    if (rc == SIPHON_OK && nhave == 0) {
        sink_buf_puts(&b, "CREATE TABLE ");
        pg_qualified(s, &b, t->history);
        sink_buf_puts(&b, " (");
        for (size_t i = 0; i < nsrc; i++) {
            sink_sql_ident(&b, src[i].name);
            sink_buf_printf(&b, " %s, ", src[i].type);
        }
        sink_buf_puts(&b, "\"" REPLACED_AT "\" timestamptz NOT NULL, \"" CHANGE
                          "\" text NOT NULL)");
        rc = exec_buf(s, &b, "creating a history table");
    }
    for (size_t i = 0; rc == SIPHON_OK && nhave > 0 && i < nsrc; i++) {
        int found = 0;
        for (size_t j = 0; j < nhave && !found; j++)
            found = strcmp(have[j].name, src[i].name) == 0;
        if (found)
            continue;
        sink_buf_reset(&b);
        sink_buf_puts(&b, "ALTER TABLE ");
        pg_qualified(s, &b, t->history);
        sink_buf_puts(&b, " ADD COLUMN IF NOT EXISTS ");
        sink_sql_ident(&b, src[i].name);
        sink_buf_printf(&b, " %s", src[i].type);
        rc = exec_buf(s, &b, "adding a column to a history table");
    }
    sink_buf_free(&b);
    colinfo_free(src, nsrc);
    colinfo_free(have, nhave);
    return rc;
}

static int alter(pg_sink *s, const char *qualified_table, const char *what, const char *doing)
{
    sink_buf b = {0};
    sink_buf_printf(&b, "ALTER TABLE %s %s", qualified_table, what);
    int rc = exec_buf(s, &b, doing);
    sink_buf_free(&b);
    return rc;
}

/* Creates new columns and widens drifted ones, in the write table, the
 * batch table and (for INCREMENTAL) the history table. */
static int apply_layout(pg_sink *s, pg_table *t)
{
    int rc = pg_copy_finish(s);
    sink_buf w = {0}, tmp = {0}, h = {0}, what = {0};
    pg_qualified(s, &w, t->write_table);
    sink_buf_puts(&tmp, "pg_temp.");
    sink_sql_ident(&tmp, t->batch);
    pg_qualified(s, &h, t->history);
    int with_history = 0;
    if (rc == SIPHON_OK && s->history && t->mode != SIPHON_SYNC_FULL_TABLE) {
        colinfo *hc = NULL;
        size_t nh = 0;
        rc = table_columns(s, t->history, &hc, &nh);
        colinfo_free(hc, nh);
        with_history = nh > 0;
    }
    for (size_t i = 0; rc == SIPHON_OK && i < t->layout.ncols; i++) {
        sink_column *c = &t->layout.cols[i];
        sink_buf_reset(&what);
        if (!(c->flags & SINK_COL_STORED)) {
            sink_buf_puts(&what, "ADD COLUMN ");
            sink_sql_ident(&what, c->ident);
            sink_buf_printf(&what, " %s", pg_type(c->type));
            json_object_set_new(t->decls, c->ident, json_string(pg_type(c->type)));
            rc = alter(s, sink_buf_str(&w), sink_buf_str(&what), "adding a column for a new key");
            if (rc == SIPHON_OK && i >= t->batch_cols)
                rc = alter(s, sink_buf_str(&tmp), sink_buf_str(&what), "widening a batch table");
            if (rc == SIPHON_OK && with_history) {
                sink_buf_reset(&what);
                sink_buf_puts(&what, "ADD COLUMN IF NOT EXISTS ");
                sink_sql_ident(&what, c->ident);
                sink_buf_printf(&what, " %s", pg_type(c->type));
                rc = alter(s, sink_buf_str(&h), sink_buf_str(&what), "widening a history table");
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
            rc = alter(s, sink_buf_str(&w), sink_buf_str(&what), "widening a drifted column");
            if (rc == SIPHON_OK && i < t->batch_cols)
                rc = alter(s, sink_buf_str(&tmp), sink_buf_str(&what), "widening a batch table");
            if (rc == SIPHON_OK && with_history)
                rc = alter(s, sink_buf_str(&h), sink_buf_str(&what), "widening a history table");
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

static int check_key(pg_sink *s, pg_table *t, const colinfo *cols, size_t n)
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

static int drop_stale_staging(pg_sink *s, pg_table *t)
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
        rc = exec_buf(s, &b, "dropping the staging table of an interrupted load");
    }
    PQclear(res);
    sink_buf_free(&b);
    return rc;
}

int pg_table_begin(pg_sink *s, pg_table *t, const siphon_stream_desc *desc)
{
    if (t->stream != NULL) {
        int rc = sink_layout_apply_schema(&t->layout, desc->schema, desc->key_properties,
                                          &s->err, t->stream);
        if (rc != SIPHON_OK || !sink_layout_pending(&t->layout))
            return rc;
        return apply_layout(s, t);
    }
    t->stream = strdup(desc->stream);
    t->mode = desc->mode == SIPHON_SYNC_FULL_TABLE ? SIPHON_SYNC_FULL_TABLE
                                                   : SIPHON_SYNC_INCREMENTAL;
    t->version = desc->version;
    t->full = sink_naming_table(&s->naming, desc->stream, 0);
    t->table = t->full ? sink_ident_fit(t->full, "", PG_IDENT_MAX) : NULL;
    t->history = t->full ? sink_history_name(t->full, PG_IDENT_MAX) : NULL;
    t->write_table = t->full == NULL ? NULL
                     : t->mode == SIPHON_SYNC_FULL_TABLE
                         ? sink_staging_name(t->full, t->version, PG_IDENT_MAX)
                         : strdup(t->table);
    sink_buf batch = {0};
    sink_buf_printf(&batch, "siphon_batch_%d", t->index);
    t->batch = batch.data;
    t->decls = json_object();
    sink_layout_init(&t->layout, pg_column_ident, 0);
    if (t->stream == NULL || t->table == NULL || t->history == NULL || t->write_table == NULL ||
        t->batch == NULL || t->decls == NULL || t->layout.by_key == NULL)
        return sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");

    if (strcmp(t->table, PG_STATE_TABLE) == 0)
        return sink_fail(&s->err, SIPHON_E_CONFIG,
                         "stream '%s' would be written to table %s.%s, which holds siphon's "
                         "state: set table_prefix, folder or table_names",
                         t->stream, s->schema, t->table);
    int rc = ensure_schema(s);
    if (rc == SIPHON_OK && t->mode == SIPHON_SYNC_FULL_TABLE)
        rc = drop_stale_staging(s, t);
    colinfo *cols = NULL;
    size_t n = 0;
    if (rc == SIPHON_OK)
        rc = table_columns(s, t->write_table, &cols, &n);
    if (rc != SIPHON_OK)
        return rc;
    int exists = n > 0;
    if (!exists && t->mode == SIPHON_SYNC_FULL_TABLE) {
        /* A new load keeps every column the table has: the swap never takes
         * a column away from the queries written against it. */
        colinfo_free(cols, n);
        if ((rc = table_columns(s, t->table, &cols, &n)) != SIPHON_OK)
            return rc;
    }
    for (size_t i = 0; i < n && rc == SIPHON_OK; i++) {
        if (sink_layout_add_stored(&t->layout, cols[i].name, type_of_pg(cols[i].type)) != 0)
            rc = sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
        json_object_set_new(t->decls, cols[i].name, json_string(cols[i].type));
    }
    if (rc == SIPHON_OK)
        rc = sink_layout_apply_schema(&t->layout, desc->schema, desc->key_properties, &s->err,
                                      t->stream);
    if (rc == SIPHON_OK && exists)
        rc = check_key(s, t, cols, n);
    colinfo_free(cols, n);
    if (rc != SIPHON_OK)
        return rc;
    if (exists) {
        t->batch_cols = 0;
        rc = create_batch(s, t);
        if (rc == SIPHON_OK && sink_layout_pending(&t->layout))
            rc = apply_layout(s, t);
    } else {
        for (size_t i = 0; i < t->layout.ncols; i++)
            t->layout.cols[i].flags &= ~SINK_COL_STORED;
        rc = create_write_table(s, t);
        if (rc == SIPHON_OK)
            rc = create_batch(s, t);
    }
    if (rc == SIPHON_OK && s->history && t->mode != SIPHON_SYNC_FULL_TABLE)
        rc = ensure_history_of(s, t, t->write_table);
    return rc;
}

static int start_copy(pg_sink *s, pg_table *t)
{
    int rc = pg_copy_finish(s);
    if (rc != SIPHON_OK)
        return rc;
    sink_buf b = {0};
    sink_buf_puts(&b, "COPY pg_temp.");
    sink_sql_ident(&b, t->batch);
    sink_buf_puts(&b, " (\"" ORDINAL "\", ");
    column_list(&b, &t->layout, NULL);
    sink_buf_puts(&b, ") FROM STDIN");
    PGresult *res = PQexec(s->conn, sink_buf_str(&b));
    sink_buf_free(&b);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        sink_fail(&s->err, SIPHON_E_IO, "PostgreSQL %s: starting COPY for stream '%s': %s",
                  s->where, t->stream, PQresultErrorMessage(res));
        PQclear(res);
        s->broken = 1;
        return s->err.code;
    }
    PQclear(res);
    s->copying = t;
    return SIPHON_OK;
}

int pg_table_write(pg_sink *s, pg_table *t, const siphon_record *rec)
{
    int changed = 0;
    int rc = sink_row_build(&t->row, &t->layout, rec->record, rec->extracted_at_ms, t->stream,
                            &changed, &s->err);
    if (rc != SIPHON_OK)
        return rc;
    if (changed && (rc = apply_layout(s, t)) != SIPHON_OK)
        return rc;
    if (s->copying != t && (rc = start_copy(s, t)) != SIPHON_OK)
        return rc;
    size_t before = s->copybuf.len;
    if (pg_copy_line(&s->copybuf, t->ordinal + 1, &t->row, t->layout.ncols) != 0) {
        s->copybuf.len = before;
        if (s->copybuf.data)
            s->copybuf.data[before] = '\0';
        s->copybuf.failed = 0;
        return sink_fail(&s->err, SIPHON_E_INVALID,
                         "stream '%s': a text value holds the NUL character (\\u0000), which "
                         "PostgreSQL text cannot store",
                         t->stream);
    }
    t->ordinal++;
    t->pending++;
    if (s->copybuf.len >= COPY_CHUNK) {
        if (PQputCopyData(s->conn, s->copybuf.data, (int)s->copybuf.len) != 1) {
            s->broken = 1;
            return sink_fail(&s->err, SIPHON_E_IO, "PostgreSQL %s: sending rows: %s", s->where,
                             PQerrorMessage(s->conn));
        }
        sink_buf_reset(&s->copybuf);
    }
    if ((int64_t)t->pending >= s->batch_rows)
        return pg_table_flush(s, t);
    return SIPHON_OK;
}

/* The data columns of the layout compared null-safely between aliases o and
 * n (" OR o.x IS DISTINCT FROM n.x ..."); json (not jsonb) has no equality,
 * so it is compared as text. */
static void differs(sink_buf *b, const pg_table *t, const colinfo *only, size_t nonly)
{
    for (size_t i = 0; i < t->layout.ncols; i++) {
        const char *ident = t->layout.cols[i].ident;
        if (!sink_layout_is_data(&t->layout, i))
            continue;
        if (only != NULL) {
            int found = 0;
            for (size_t j = 0; j < nonly && !found; j++)
                found = strcmp(only[j].name, ident) == 0;
            if (!found)
                continue;
        }
        const char *cast = strcmp(decl_of(t, i), "json") == 0 ? "::text" : "";
        sink_buf_puts(b, " OR o.");
        sink_sql_ident(b, ident);
        sink_buf_printf(b, "%s IS DISTINCT FROM n.", cast);
        sink_sql_ident(b, ident);
        sink_buf_puts(b, cast);
    }
}

static void latest_per_key(pg_sink *s, sink_buf *b, const pg_table *t)
{
    (void)s;
    sink_buf_puts(b, "SELECT DISTINCT ON (");
    key_list(b, &t->layout, NULL);
    sink_buf_puts(b, ") * FROM pg_temp.");
    sink_sql_ident(b, t->batch);
    sink_buf_puts(b, " ORDER BY ");
    key_list(b, &t->layout, NULL);
    sink_buf_puts(b, ", \"" ORDINAL "\" DESC");
}

/* The old version of every row the merge is about to change. */
static int history_of_merge(pg_sink *s, pg_table *t)
{
    sink_buf b = {0};
    sink_buf_puts(&b, "INSERT INTO ");
    pg_qualified(s, &b, t->history);
    sink_buf_puts(&b, " (");
    column_list(&b, &t->layout, NULL);
    sink_buf_puts(&b, ", \"" REPLACED_AT "\", \"" CHANGE "\") SELECT ");
    column_list(&b, &t->layout, "o");
    sink_buf_puts(&b, ", now(), 'update' FROM ");
    pg_qualified(s, &b, t->write_table);
    sink_buf_puts(&b, " AS o JOIN (");
    latest_per_key(s, &b, t);
    sink_buf_puts(&b, ") AS n ON (");
    key_list(&b, &t->layout, "o");
    sink_buf_puts(&b, ") = (");
    key_list(&b, &t->layout, "n");
    sink_buf_puts(&b, ") WHERE false");
    differs(&b, t, NULL, 0);
    int rc = exec_buf(s, &b, "keeping the history of changed rows");
    sink_buf_free(&b);
    return rc;
}

static int is_key_column(const sink_layout *l, size_t i)
{
    for (size_t k = 0; k < l->npk; k++)
        if (l->pk[k] == i)
            return 1;
    return 0;
}

static void key_match(sink_buf *b, const sink_layout *l)
{
    for (size_t k = 0; k < l->npk; k++) {
        sink_buf_puts(b, k > 0 ? " AND o." : "o.");
        sink_sql_ident(b, l->cols[l->pk[k]].ident);
        sink_buf_puts(b, " = n.");
        sink_sql_ident(b, l->cols[l->pk[k]].ident);
    }
}

/*
 * The statement that merges the batch into the write table. PostgreSQL 15
 * and later get MERGE, which measured about twice as fast as the upsert for
 * new rows (no speculative insertion); older servers get INSERT ... ON
 * CONFLICT. Both take the last record of each key; the sink is the table's
 * only writer during a run, so MERGE's weaker guarantee against a
 * concurrent insert of the same key does not apply.
 */
static void merge_sql(pg_sink *s, sink_buf *b, const pg_table *t)
{
    const sink_layout *l = &t->layout;
    if (l->npk > 0 && PQserverVersion(s->conn) >= 150000) {
        sink_buf_puts(b, "MERGE INTO ");
        pg_qualified(s, b, t->write_table);
        sink_buf_puts(b, " AS o USING (");
        latest_per_key(s, b, t);
        sink_buf_puts(b, ") AS n ON ");
        key_match(b, l);
        sink_buf_puts(b, " WHEN MATCHED THEN UPDATE SET ");
        int first = 1;
        for (size_t i = 0; i < l->ncols; i++) {
            if (is_key_column(l, i))
                continue;
            sink_buf_puts(b, first ? "" : ", ");
            first = 0;
            sink_sql_ident(b, l->cols[i].ident);
            sink_buf_puts(b, " = n.");
            sink_sql_ident(b, l->cols[i].ident);
        }
        sink_buf_puts(b, " WHEN NOT MATCHED THEN INSERT (");
        column_list(b, l, NULL);
        sink_buf_puts(b, ") VALUES (");
        column_list(b, l, "n");
        sink_buf_putc(b, ')');
        return;
    }
    sink_buf_puts(b, "INSERT INTO ");
    pg_qualified(s, b, t->write_table);
    sink_buf_puts(b, " (");
    column_list(b, l, NULL);
    sink_buf_puts(b, ") SELECT ");
    column_list(b, l, NULL);
    if (l->npk == 0) {
        sink_buf_puts(b, " FROM pg_temp.");
        sink_sql_ident(b, t->batch);
        sink_buf_puts(b, " ORDER BY \"" ORDINAL "\"");
        return;
    }
    sink_buf_puts(b, " FROM (");
    latest_per_key(s, b, t);
    sink_buf_puts(b, ") AS latest ON CONFLICT (");
    key_list(b, l, NULL);
    sink_buf_puts(b, ") DO UPDATE SET ");
    int first = 1;
    for (size_t i = 0; i < l->ncols; i++) {
        if (is_key_column(l, i))
            continue;
        sink_buf_puts(b, first ? "" : ", ");
        first = 0;
        sink_sql_ident(b, l->cols[i].ident);
        sink_buf_puts(b, " = EXCLUDED.");
        sink_sql_ident(b, l->cols[i].ident);
    }
}

int pg_table_flush(pg_sink *s, pg_table *t)
{
    int rc = s->copying == t ? pg_copy_finish(s) : SIPHON_OK;
    if (rc != SIPHON_OK || t->pending == 0)
        return rc;
    if (s->history && t->mode != SIPHON_SYNC_FULL_TABLE && t->layout.npk > 0)
        rc = history_of_merge(s, t);
    sink_buf b = {0};
    merge_sql(s, &b, t);
    if (rc == SIPHON_OK)
        rc = exec_buf(s, &b, "merging a batch of rows");
    sink_buf_reset(&b);
    sink_buf_puts(&b, "TRUNCATE pg_temp.");
    sink_sql_ident(&b, t->batch);
    if (rc == SIPHON_OK)
        rc = exec_buf(s, &b, "emptying a batch table");
    sink_buf_free(&b);
    t->pending = 0;
    return rc;
}

static int prune_history(pg_sink *s, pg_table *t)
{
    if (!s->history)
        return SIPHON_OK;
    sink_buf q = {0}, b = {0};
    pg_qualified(s, &q, t->history);
    char secs[64];
    snprintf(secs, sizeof secs, "%.3f", s->retention_days * 86400.0);
    const char *params[] = {sink_buf_str(&q), secs};
    PGresult *res = pg_query(s, "SELECT to_regclass($1) IS NOT NULL", 1, params,
                             "looking for the history table");
    int rc = res ? SIPHON_OK : s->err.code;
    int exists = res && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (rc == SIPHON_OK && exists) {
        sink_buf_printf(&b, "DELETE FROM %s WHERE \"" REPLACED_AT "\" < now() - "
                            "make_interval(secs => $1::double precision)",
                        sink_buf_str(&q));
        res = pg_query(s, sink_buf_str(&b), 1, params + 1, "pruning history");
        rc = res ? SIPHON_OK : s->err.code;
        PQclear(res);
    }
    sink_buf_free(&q);
    sink_buf_free(&b);
    return rc;
}

/* Before a swap: the rows of the old table the new load deleted or changed. */
static int history_of_swap(pg_sink *s, pg_table *t, const colinfo *old, size_t nold)
{
    colinfo *fresh = NULL;
    size_t nfresh = 0;
    int rc = table_columns(s, t->write_table, &fresh, &nfresh);
    if (rc != SIPHON_OK)
        return rc;
    const sink_layout *l = &t->layout;
    sink_buf b = {0};
    sink_buf_puts(&b, "INSERT INTO ");
    pg_qualified(s, &b, t->history);
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
    /* Only the columns both tables have can be compared. */
    colinfo *both = calloc(nold + 1, sizeof *both);
    size_t nboth = 0;
    for (size_t i = 0; i < nold && both; i++)
        for (size_t j = 0; j < nfresh; j++)
            if (strcmp(old[i].name, fresh[j].name) == 0)
                both[nboth++] = old[i];
    sink_buf diff = {0};
    differs(&diff, t, both, nboth);
    free(both);
    if (l->npk > 0) {
        sink_buf_puts(&b, "now(), CASE WHEN n.");
        sink_sql_ident(&b, l->cols[l->pk[0]].ident);
        sink_buf_puts(&b, " IS NULL THEN 'delete' ELSE 'update' END FROM ");
        pg_qualified(s, &b, t->table);
        sink_buf_puts(&b, " AS o LEFT JOIN ");
        pg_qualified(s, &b, t->write_table);
        sink_buf_puts(&b, " AS n ON (");
        key_list(&b, l, "o");
        sink_buf_puts(&b, ") = (");
        key_list(&b, l, "n");
        sink_buf_puts(&b, ") WHERE n.");
        sink_sql_ident(&b, l->cols[l->pk[0]].ident);
        sink_buf_printf(&b, " IS NULL%s", sink_buf_str(&diff));
    } else {
        sink_buf_puts(&b, "now(), 'delete' FROM ");
        pg_qualified(s, &b, t->table);
        sink_buf_puts(&b, " AS o WHERE NOT EXISTS (SELECT 1 FROM ");
        pg_qualified(s, &b, t->write_table);
        sink_buf_printf(&b, " AS n WHERE NOT (false%s))", sink_buf_str(&diff));
    }
    rc = exec_buf(s, &b, "keeping the history of a full load");
    sink_buf_free(&diff);
    sink_buf_free(&b);
    colinfo_free(fresh, nfresh);
    return rc;
}

static int has_dependent_views(pg_sink *s, pg_table *t, int *views)
{
    sink_buf q = {0};
    pg_qualified(s, &q, t->table);
    const char *params[] = {sink_buf_str(&q)};
    PGresult *res = pg_query(s,
                             "SELECT count(*) FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid "
                             "WHERE d.classid = 'pg_rewrite'::regclass "
                             "AND d.refobjid = to_regclass($1) AND r.ev_class <> d.refobjid",
                             1, params, "looking for views on the table");
    sink_buf_free(&q);
    if (res == NULL)
        return s->err.code;
    *views = atoi(PQgetvalue(res, 0, 0)) > 0;
    PQclear(res);
    return SIPHON_OK;
}

/*
 * The swap, inside the open transaction. Without dependent views: drop the
 * old table, rename the staging table. Views would block the drop (and
 * CASCADE would destroy users' views), so a table with views keeps its
 * identity instead: it gains the new columns, is emptied, and refilled from
 * the staging table.
 */
static int swap_in(pg_sink *s, pg_table *t)
{
    colinfo *old = NULL;
    size_t nold = 0;
    int rc = table_columns(s, t->table, &old, &nold);
    int views = 0;
    if (rc == SIPHON_OK && nold > 0 && s->history) {
        rc = ensure_history_of(s, t, t->table);
        if (rc == SIPHON_OK)
            rc = history_of_swap(s, t, old, nold);
    }
    if (rc == SIPHON_OK && nold > 0)
        rc = has_dependent_views(s, t, &views);
    sink_buf b = {0}, target = {0}, staging = {0};
    pg_qualified(s, &target, t->table);
    pg_qualified(s, &staging, t->write_table);
    if (rc == SIPHON_OK && views) {
        for (size_t i = 0; i < t->layout.ncols && rc == SIPHON_OK; i++) {
            int found = 0;
            for (size_t j = 0; j < nold && !found; j++)
                found = strcmp(old[j].name, t->layout.cols[i].ident) == 0;
            if (found)
                continue;
            sink_buf_reset(&b);
            sink_buf_puts(&b, "ADD COLUMN ");
            sink_sql_ident(&b, t->layout.cols[i].ident);
            sink_buf_printf(&b, " %s", decl_of(t, i));
            rc = alter(s, sink_buf_str(&target), sink_buf_str(&b), "widening a table with views");
        }
        sink_buf_reset(&b);
        sink_buf_printf(&b, "TRUNCATE %s", sink_buf_str(&target));
        if (rc == SIPHON_OK)
            rc = exec_buf(s, &b, "emptying a table with views");
        sink_buf_reset(&b);
        sink_buf_printf(&b, "INSERT INTO %s (", sink_buf_str(&target));
        column_list(&b, &t->layout, NULL);
        sink_buf_puts(&b, ") SELECT ");
        column_list(&b, &t->layout, NULL);
        sink_buf_printf(&b, " FROM %s", sink_buf_str(&staging));
        if (rc == SIPHON_OK)
            rc = exec_buf(s, &b, "refilling a table with views");
        sink_buf_reset(&b);
        sink_buf_printf(&b, "DROP TABLE %s", sink_buf_str(&staging));
        if (rc == SIPHON_OK)
            rc = exec_buf(s, &b, "dropping a staging table");
    } else if (rc == SIPHON_OK) {
        if (nold > 0) {
            sink_buf_printf(&b, "DROP TABLE %s", sink_buf_str(&target));
            rc = exec_buf(s, &b, "dropping the replaced table");
        }
        sink_buf_reset(&b);
        sink_buf_printf(&b, "ALTER TABLE %s RENAME TO ", sink_buf_str(&staging));
        sink_sql_ident(&b, t->table);
        if (rc == SIPHON_OK)
            rc = exec_buf(s, &b, "renaming the loaded table over the old one");
    }
    sink_buf_free(&b);
    sink_buf_free(&target);
    sink_buf_free(&staging);
    colinfo_free(old, nold);
    return rc;
}

int pg_table_end(pg_sink *s, pg_table *t, int how)
{
    t->ended = 1;
    int rc = SIPHON_OK;
    sink_buf b = {0};
    if (t->mode == SIPHON_SYNC_FULL_TABLE && how != SIPHON_END_COMPLETE) {
        rc = pg_copy_finish(s);
        sink_buf_puts(&b, "DROP TABLE IF EXISTS ");
        pg_qualified(s, &b, t->write_table);
        if (rc == SIPHON_OK)
            rc = exec_buf(s, &b, "discarding a failed full load");
        t->pending = 0;
    } else {
        rc = pg_table_flush(s, t);
        if (rc == SIPHON_OK && t->mode == SIPHON_SYNC_FULL_TABLE)
            rc = swap_in(s, t);
        if (rc == SIPHON_OK)
            rc = prune_history(s, t);
    }
    sink_buf_reset(&b);
    sink_buf_puts(&b, "DROP TABLE IF EXISTS pg_temp.");
    sink_sql_ident(&b, t->batch);
    if (rc == SIPHON_OK)
        rc = exec_buf(s, &b, "dropping a batch table");
    sink_buf_free(&b);
    return rc;
}

void pg_table_free(pg_table *t)
{
    free(t->stream);
    free(t->full);
    free(t->table);
    free(t->write_table);
    free(t->history);
    free(t->batch);
    json_decref(t->decls);
    sink_layout_free(&t->layout);
    sink_row_free(&t->row);
    free(t);
}
