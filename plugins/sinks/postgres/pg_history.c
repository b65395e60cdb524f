/*
 * pg_history.c: the PostgreSQL sink's history (the connector guide's delta
 * log retention): <table>__history keeps every row version a merge changed
 * or a FULL_TABLE swap changed or removed, with when and why, and is pruned
 * to the configured retention at each end_stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_sink.h"
#include "sink_sql.h"

/* The data columns of the layout compared null-safely between aliases o and
 * n (" OR o.x IS DISTINCT FROM n.x ..."); json (not jsonb) has no equality,
 * so it is compared as text. */
static void differs(sink_buf *b, const pg_table *t, const pg_colinfo *only, size_t nonly)
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
        const char *cast = strcmp(pg_decl_of(t, i), "json") == 0 ? "::text" : "";
        sink_buf_puts(b, " OR o.");
        sink_sql_ident(b, ident);
        sink_buf_printf(b, "%s IS DISTINCT FROM n.", cast);
        sink_sql_ident(b, ident);
        sink_buf_puts(b, cast);
    }
}

/* Makes table hold every column of source (creating it, with the history
 * columns, when missing). */
int pg_history_ensure(pg_sink *s, pg_table *t, const char *source)
{
    pg_colinfo *src = NULL, *have = NULL;
    size_t nsrc = 0, nhave = 0;
    int rc = pg_table_columns(s, source, &src, &nsrc);
    if (rc == SIPHON_OK)
        rc = pg_table_columns(s, t->history, &have, &nhave);
    sink_buf b = {0};
    if (rc == SIPHON_OK && nhave == 0) {
        sink_buf_puts(&b, "CREATE TABLE ");
        pg_qualified(s, &b, t->history);
        sink_buf_puts(&b, " (");
        for (size_t i = 0; i < nsrc; i++) {
            sink_sql_ident(&b, src[i].name);
            sink_buf_printf(&b, " %s, ", src[i].type);
        }
        sink_buf_puts(&b, "\"" PG_REPLACED_AT "\" timestamptz NOT NULL, \"" PG_CHANGE
                          "\" text NOT NULL)");
        rc = pg_exec_buf(s, &b, "creating a history table");
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
        rc = pg_exec_buf(s, &b, "adding a column to a history table");
    }
    sink_buf_free(&b);
    pg_colinfo_free(src, nsrc);
    pg_colinfo_free(have, nhave);
    return rc;
}

/* The old version of every row the merge is about to change. */
int pg_history_of_merge(pg_sink *s, pg_table *t)
{
    sink_buf b = {0};
    sink_buf_puts(&b, "INSERT INTO ");
    pg_qualified(s, &b, t->history);
    sink_buf_puts(&b, " (");
    pg_column_list(&b, &t->layout, NULL);
    sink_buf_puts(&b, ", \"" PG_REPLACED_AT "\", \"" PG_CHANGE "\") SELECT ");
    pg_column_list(&b, &t->layout, "o");
    sink_buf_puts(&b, ", now(), 'update' FROM ");
    pg_qualified(s, &b, t->write_table);
    sink_buf_puts(&b, " AS o JOIN (");
    pg_latest_per_key(&b, t);
    sink_buf_puts(&b, ") AS n ON (");
    pg_key_list(&b, &t->layout, "o");
    sink_buf_puts(&b, ") = (");
    pg_key_list(&b, &t->layout, "n");
    sink_buf_puts(&b, ") WHERE false");
    differs(&b, t, NULL, 0);
    int rc = pg_exec_buf(s, &b, "keeping the history of changed rows");
    sink_buf_free(&b);
    return rc;
}

/* Before a swap: the rows of the old table the new load deleted or changed. */
int pg_history_of_swap(pg_sink *s, pg_table *t, const pg_colinfo *old, size_t nold)
{
    pg_colinfo *fresh = NULL;
    size_t nfresh = 0;
    int rc = pg_table_columns(s, t->write_table, &fresh, &nfresh);
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
    sink_buf_puts(&b, "\"" PG_REPLACED_AT "\", \"" PG_CHANGE "\") SELECT ");
    for (size_t i = 0; i < nold; i++) {
        sink_buf_puts(&b, "o.");
        sink_sql_ident(&b, old[i].name);
        sink_buf_puts(&b, ", ");
    }
    /* Only the columns both tables have can be compared. */
    pg_colinfo *both = calloc(nold + 1, sizeof *both);
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
        pg_key_list(&b, l, "o");
        sink_buf_puts(&b, ") = (");
        pg_key_list(&b, l, "n");
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
    rc = pg_exec_buf(s, &b, "keeping the history of a full load");
    sink_buf_free(&diff);
    sink_buf_free(&b);
    pg_colinfo_free(fresh, nfresh);
    return rc;
}

int pg_history_prune(pg_sink *s, pg_table *t)
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
        sink_buf_printf(&b, "DELETE FROM %s WHERE \"" PG_REPLACED_AT "\" < now() - "
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
