/*
 * sqlite_history.c: the SQLite sink's history (the connector guide's delta
 * log retention): <table>__history keeps every row version an upsert
 * changed (through a temporary trigger) or a FULL_TABLE swap changed or
 * removed, with when and why, and is pruned at each end_stream.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sink_sql.h"
#include "sink_time.h"
#include "sqlite_sink.h"

/* The history table has every column of table, plus when and why a row
 * version was replaced. */
int sq_history_ensure(sq_sink *s, sq_table *t, const char *table)
{
    sq_colinfo *cols = NULL;
    size_t n = 0;
    int rc = sq_table_columns(s, table, &cols, &n);
    if (rc == SIPHON_OK && n > 0)
        rc = sq_widen_table(s, t->history, cols, n,
                         "\"" SQ_REPLACED_AT "\" TEXT NOT NULL, \"" SQ_CHANGE "\" TEXT NOT NULL");
    sq_colinfo_free(cols, n);
    return rc;
}

void sq_history_trigger_name(sink_buf *b, const sq_table *t)
{
    sink_buf_printf(b, "temp.\"siphon_history_%d\"", t->index);
}

/*
 * With history on, a temporary trigger (it lives in this connection only and
 * never changes the database's schema) copies the old version of every row
 * an upsert changes into the history table. Rows written again unchanged
 * (the boundary rows every incremental run reads again) leave no history.
 */
int sq_history_trigger(sq_sink *s, sq_table *t)
{
    sink_buf b = {0};
    sink_buf_puts(&b, "DROP TRIGGER IF EXISTS ");
    sq_history_trigger_name(&b, t);
    int rc = sq_exec_buf(s, &b, "replacing the history trigger");
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
    sink_buf_puts(&b, "\"" SQ_REPLACED_AT "\", \"" SQ_CHANGE "\") VALUES (");
    for (size_t i = 0; i < t->layout.ncols; i++) {
        sink_buf_puts(&b, "OLD.");
        sink_sql_ident(&b, t->layout.cols[i].ident);
        sink_buf_puts(&b, ", ");
    }
    sink_buf_puts(&b, "strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'update'); END");
    rc = sq_exec_buf(s, &b, "creating the history trigger");
    sink_buf_free(&b);
    return rc;
}

int sq_history_prune(sq_sink *s, sq_table *t)
{
    if (!s->history)
        return SIPHON_OK;
    sq_colinfo *cols = NULL;
    size_t n = 0;
    int rc = sq_table_columns(s, t->history, &cols, &n);
    sq_colinfo_free(cols, n);
    if (rc != SIPHON_OK || n == 0)
        return rc;
    char cutoff[SINK_RFC3339_LEN];
    sink_rfc3339(sink_now_ms() - (int64_t)(s->retention_days * 86400000.0), cutoff);
    sink_buf b = {0};
    sink_buf_puts(&b, "DELETE FROM main.");
    sink_sql_ident(&b, t->history);
    sink_buf_puts(&b, " WHERE \"" SQ_REPLACED_AT "\" < ?1");
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

/* Before a swap: every row of the old table that the new load deleted or
 * changed goes to history. */
int sq_history_of_swap(sq_sink *s, sq_table *t, const sq_colinfo *old, size_t nold)
{
    sq_colinfo *fresh = NULL;
    size_t nfresh = 0;
    int rc = sq_table_columns(s, t->write_table, &fresh, &nfresh);
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
    sink_buf_puts(&b, "\"" SQ_REPLACED_AT "\", \"" SQ_CHANGE "\") SELECT ");
    for (size_t i = 0; i < nold; i++) {
        sink_buf_puts(&b, "o.");
        sink_sql_ident(&b, old[i].name);
        sink_buf_puts(&b, ", ");
    }
    const sink_layout *l = &t->layout;
    sink_buf data = {0}; /* the data columns both tables have, compared null-safely */
    for (size_t i = 0; i < nold; i++) {
        if (strcmp(old[i].name, SINK_EXTRACTED_AT) == 0 || !sq_has_column(fresh, nfresh, old[i].name))
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
    sq_colinfo_free(fresh, nfresh);
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
