/*
 * pg_table.c: one stream's table in the PostgreSQL sink.
 *
 * Records stream into a temporary batch table of the session with COPY (text
 * format). At a flush (every batch_rows records, at commit, at end_stream)
 * the batch is merged into the write table in one statement (MERGE, or
 * INSERT ... ON CONFLICT before PostgreSQL 15) from
 *
 *   SELECT DISTINCT ON (pk) * FROM batch ORDER BY pk, _siphon_ordinal DESC
 *
 * so the last record of a key wins, and a stream without a key appends. A
 * FULL_TABLE load merges into a staging table named after its version, which
 * end_stream(COMPLETE) swaps in for the table inside the open transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_sink.h"
#include "sink_sql.h"

int pg_table_begin(pg_sink *s, pg_table *t, const siphon_stream_desc *desc)
{
    if (t->stream != NULL) {
        int rc = sink_layout_apply_schema(&t->layout, desc->schema, desc->key_properties,
                                          &s->err, t->stream);
        if (rc != SIPHON_OK || !sink_layout_pending(&t->layout))
            return rc;
        return pg_apply_layout(s, t);
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
    int rc = pg_ensure_schema(s);
    if (rc == SIPHON_OK && t->mode == SIPHON_SYNC_FULL_TABLE)
        rc = pg_drop_stale_staging(s, t);
    pg_colinfo *cols = NULL;
    size_t n = 0;
    if (rc == SIPHON_OK)
        rc = pg_table_columns(s, t->write_table, &cols, &n);
    if (rc != SIPHON_OK)
        return rc;
    int exists = n > 0;
    if (!exists && t->mode == SIPHON_SYNC_FULL_TABLE) {
        /* A new load keeps every column the table has: the swap never takes
         * a column away from the queries written against it. */
        pg_colinfo_free(cols, n);
        if ((rc = pg_table_columns(s, t->table, &cols, &n)) != SIPHON_OK)
            return rc;
    }
    for (size_t i = 0; i < n && rc == SIPHON_OK; i++) {
        if (sink_layout_add_stored(&t->layout, cols[i].name, pg_sink_type_of(cols[i].type)) != 0)
            rc = sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
        json_object_set_new(t->decls, cols[i].name, json_string(cols[i].type));
    }
    if (rc == SIPHON_OK)
        rc = sink_layout_apply_schema(&t->layout, desc->schema, desc->key_properties, &s->err,
                                      t->stream);
    if (rc == SIPHON_OK && exists)
        rc = pg_check_key(s, t, cols, n);
    pg_colinfo_free(cols, n);
    if (rc != SIPHON_OK)
        return rc;
    if (exists) {
        t->batch_cols = 0;
        rc = pg_create_batch(s, t);
        if (rc == SIPHON_OK && sink_layout_pending(&t->layout))
            rc = pg_apply_layout(s, t);
    } else {
        for (size_t i = 0; i < t->layout.ncols; i++)
            t->layout.cols[i].flags &= ~SINK_COL_STORED;
        rc = pg_create_write_table(s, t);
        if (rc == SIPHON_OK)
            rc = pg_create_batch(s, t);
    }
    if (rc == SIPHON_OK && s->history && t->mode != SIPHON_SYNC_FULL_TABLE)
        rc = pg_history_ensure(s, t, t->write_table);
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
    sink_buf_puts(&b, " (\"" PG_ORDINAL "\", ");
    pg_column_list(&b, &t->layout, NULL);
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
    if (changed && (rc = pg_apply_layout(s, t)) != SIPHON_OK)
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
    if (s->copybuf.len >= PG_COPY_CHUNK) {
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

void pg_latest_per_key(sink_buf *b, const pg_table *t)
{
    sink_buf_puts(b, "SELECT DISTINCT ON (");
    pg_key_list(b, &t->layout, NULL);
    sink_buf_puts(b, ") * FROM pg_temp.");
    sink_sql_ident(b, t->batch);
    sink_buf_puts(b, " ORDER BY ");
    pg_key_list(b, &t->layout, NULL);
    sink_buf_puts(b, ", \"" PG_ORDINAL "\" DESC");
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
 * new rows (no speculative insertion); older servers, and the option
 * merge_statement=upsert, get INSERT ... ON CONFLICT. Both take the last
 * record of each key. MERGE can fail if another session inserts the same key
 * at the same moment; a run is normally its tables' only writer, and the
 * upsert is there for deployments where it is not.
 */
static void merge_sql(pg_sink *s, sink_buf *b, const pg_table *t)
{
    const sink_layout *l = &t->layout;
    if (l->npk > 0 && s->use_merge) {
        sink_buf_puts(b, "MERGE INTO ");
        pg_qualified(s, b, t->write_table);
        sink_buf_puts(b, " AS o USING (");
        pg_latest_per_key(b, t);
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
        pg_column_list(b, l, NULL);
        sink_buf_puts(b, ") VALUES (");
        pg_column_list(b, l, "n");
        sink_buf_putc(b, ')');
        return;
    }
    sink_buf_puts(b, "INSERT INTO ");
    pg_qualified(s, b, t->write_table);
    sink_buf_puts(b, " (");
    pg_column_list(b, l, NULL);
    sink_buf_puts(b, ") SELECT ");
    pg_column_list(b, l, NULL);
    if (l->npk == 0) {
        sink_buf_puts(b, " FROM pg_temp.");
        sink_sql_ident(b, t->batch);
        sink_buf_puts(b, " ORDER BY \"" PG_ORDINAL "\"");
        return;
    }
    sink_buf_puts(b, " FROM (");
    pg_latest_per_key(b, t);
    sink_buf_puts(b, ") AS latest ON CONFLICT (");
    pg_key_list(b, l, NULL);
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
        rc = pg_history_of_merge(s, t);
    sink_buf b = {0};
    merge_sql(s, &b, t);
    if (rc == SIPHON_OK)
        rc = pg_exec_buf(s, &b, "merging a batch of rows");
    sink_buf_reset(&b);
    sink_buf_puts(&b, "TRUNCATE pg_temp.");
    sink_sql_ident(&b, t->batch);
    if (rc == SIPHON_OK)
        rc = pg_exec_buf(s, &b, "emptying a batch table");
    sink_buf_free(&b);
    t->pending = 0;
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
    pg_colinfo *old = NULL;
    size_t nold = 0;
    int rc = pg_table_columns(s, t->table, &old, &nold);
    int views = 0;
    if (rc == SIPHON_OK && nold > 0 && s->history) {
        rc = pg_history_ensure(s, t, t->table);
        if (rc == SIPHON_OK)
            rc = pg_history_of_swap(s, t, old, nold);
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
            sink_buf_printf(&b, " %s", pg_decl_of(t, i));
            rc = pg_alter(s, sink_buf_str(&target), sink_buf_str(&b), "widening a table with views");
        }
        sink_buf_reset(&b);
        sink_buf_printf(&b, "TRUNCATE %s", sink_buf_str(&target));
        if (rc == SIPHON_OK)
            rc = pg_exec_buf(s, &b, "emptying a table with views");
        sink_buf_reset(&b);
        sink_buf_printf(&b, "INSERT INTO %s (", sink_buf_str(&target));
        pg_column_list(&b, &t->layout, NULL);
        sink_buf_puts(&b, ") SELECT ");
        pg_column_list(&b, &t->layout, NULL);
        sink_buf_printf(&b, " FROM %s", sink_buf_str(&staging));
        if (rc == SIPHON_OK)
            rc = pg_exec_buf(s, &b, "refilling a table with views");
        sink_buf_reset(&b);
        sink_buf_printf(&b, "DROP TABLE %s", sink_buf_str(&staging));
        if (rc == SIPHON_OK)
            rc = pg_exec_buf(s, &b, "dropping a staging table");
    } else if (rc == SIPHON_OK) {
        if (nold > 0) {
            sink_buf_printf(&b, "DROP TABLE %s", sink_buf_str(&target));
            rc = pg_exec_buf(s, &b, "dropping the replaced table");
        }
        sink_buf_reset(&b);
        sink_buf_printf(&b, "ALTER TABLE %s RENAME TO ", sink_buf_str(&staging));
        sink_sql_ident(&b, t->table);
        if (rc == SIPHON_OK)
            rc = pg_exec_buf(s, &b, "renaming the loaded table over the old one");
    }
    sink_buf_free(&b);
    sink_buf_free(&target);
    sink_buf_free(&staging);
    pg_colinfo_free(old, nold);
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
            rc = pg_exec_buf(s, &b, "discarding a failed full load");
        t->pending = 0;
    } else {
        rc = pg_table_flush(s, t);
        if (rc == SIPHON_OK && t->mode == SIPHON_SYNC_FULL_TABLE)
            rc = swap_in(s, t);
        if (rc == SIPHON_OK)
            rc = pg_history_prune(s, t);
    }
    sink_buf_reset(&b);
    sink_buf_puts(&b, "DROP TABLE IF EXISTS pg_temp.");
    sink_sql_ident(&b, t->batch);
    if (rc == SIPHON_OK)
        rc = pg_exec_buf(s, &b, "dropping a batch table");
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
