#include <stdlib.h>
#include <string.h>

#include "sink_layout.h"
#include "sink_time.h"

void sink_layout_init(sink_layout *l, sink_ident_fn ident, int fold_case)
{
    memset(l, 0, sizeof *l);
    l->by_key = json_object();
    l->ident = ident;
    l->fold_case = fold_case;
}

void sink_layout_free(sink_layout *l)
{
    for (size_t i = 0; i < l->ncols; i++) {
        free(l->cols[i].key);
        free(l->cols[i].ident);
    }
    free(l->cols);
    free(l->pk);
    json_decref(l->by_key);
    memset(l, 0, sizeof *l);
}

static int ascii_casecmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int ca = (unsigned char)*a, cb = (unsigned char)*b;
        if (ca >= 'A' && ca <= 'Z')
            ca += 'a' - 'A';
        if (cb >= 'A' && cb <= 'Z')
            cb += 'a' - 'A';
        if (ca != cb || ca == 0)
            return ca - cb;
    }
}

long sink_layout_find_ident(const sink_layout *l, const char *ident)
{
    for (size_t i = 0; i < l->ncols; i++) {
        int cmp = l->fold_case ? ascii_casecmp(l->cols[i].ident, ident)
                               : strcmp(l->cols[i].ident, ident);
        if (cmp == 0)
            return (long)i;
    }
    return -1;
}

static char *make_ident(const sink_layout *l, const char *key)
{
    return l->ident ? l->ident(key) : strdup(key);
}

static long add_column(sink_layout *l, const char *key, char *ident, sink_type type,
                       unsigned flags)
{
    if (ident == NULL)
        return -1;
    if (l->ncols == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        sink_column *cols = realloc(l->cols, cap * sizeof *cols);
        if (cols == NULL) {
            free(ident);
            return -1;
        }
        l->cols = cols;
        l->cap = cap;
    }
    char *k = strdup(key);
    if (k == NULL) {
        free(ident);
        return -1;
    }
    l->cols[l->ncols] = (sink_column){k, ident, type, flags};
    json_object_set_new(l->by_key, key, json_integer((json_int_t)l->ncols));
    return (long)l->ncols++;
}

int sink_layout_add_stored(sink_layout *l, const char *ident, sink_type type)
{
    long i = sink_layout_find_ident(l, ident);
    if (i >= 0) {
        l->cols[i].flags |= SINK_COL_STORED;
        return 0;
    }
    char *copy = strdup(ident);
    return add_column(l, ident, copy, type, SINK_COL_STORED) >= 0 ? 0 : -1;
}

long sink_layout_find(sink_layout *l, const char *key)
{
    const json_t *hit = json_object_get(l->by_key, key);
    if (hit != NULL)
        return (long)json_integer_value(hit);
    char *ident = make_ident(l, key);
    if (ident == NULL)
        return -1;
    long i = sink_layout_find_ident(l, ident);
    free(ident);
    /* Remember the alias, so the next record finds it with one lookup. */
    if (i >= 0)
        json_object_set_new(l->by_key, key, json_integer(i));
    return i;
}

long sink_layout_add_drift(sink_layout *l, const char *key, const json_t *value)
{
    int type = sink_type_of_value(value);
    return add_column(l, key, make_ident(l, key), type < 0 ? SINK_STRING : (sink_type)type,
                      SINK_COL_DRIFT);
}

int sink_layout_apply_schema(sink_layout *l, const json_t *schema, const char *const *keys,
                             sink_error *err, const char *stream)
{
    const json_t *props = json_is_object(schema) ? json_object_get(schema, "properties") : NULL;
    if (props != NULL && !json_is_object(props))
        return sink_fail(err, SIPHON_E_INVALID,
                         "stream '%s': the schema's \"properties\" is not an object", stream);
    const char *key;
    const json_t *prop;
    json_object_foreach((json_t *)props, key, prop) {
        if (sink_layout_find(l, key) < 0 &&
            add_column(l, key, make_ident(l, key), sink_type_of_schema(prop), 0) < 0)
            return sink_fail(err, SIPHON_E_NOMEM, "out of memory");
    }
    size_t nkeys = 0;
    while (keys != NULL && keys[nkeys] != NULL)
        nkeys++;
    size_t *pk = nkeys ? calloc(nkeys, sizeof *pk) : NULL;
    if (nkeys && pk == NULL)
        return sink_fail(err, SIPHON_E_NOMEM, "out of memory");
    for (size_t k = 0; k < nkeys; k++) {
        long i = sink_layout_find(l, keys[k]);
        if (i < 0)
            i = add_column(l, keys[k], make_ident(l, keys[k]), SINK_STRING, 0);
        if (i < 0) {
            free(pk);
            return sink_fail(err, SIPHON_E_NOMEM, "out of memory");
        }
        pk[k] = (size_t)i;
    }
    free(l->pk);
    l->pk = pk;
    l->npk = nkeys;
    long meta = sink_layout_find(l, SINK_EXTRACTED_AT);
    if (meta < 0)
        meta = add_column(l, SINK_EXTRACTED_AT, make_ident(l, SINK_EXTRACTED_AT), SINK_STRING,
                          SINK_COL_META);
    if (meta < 0)
        return sink_fail(err, SIPHON_E_NOMEM, "out of memory");
    l->cols[meta].flags |= SINK_COL_META;
    return SIPHON_OK;
}

int sink_layout_pending(const sink_layout *l)
{
    for (size_t i = 0; i < l->ncols; i++)
        if (!(l->cols[i].flags & SINK_COL_STORED) || (l->cols[i].flags & SINK_COL_RETYPE))
            return 1;
    return 0;
}

size_t sink_layout_meta(const sink_layout *l)
{
    for (size_t i = 0; i < l->ncols; i++)
        if (l->cols[i].flags & SINK_COL_META)
            return i;
    return 0;
}

int sink_layout_is_data(const sink_layout *l, size_t i)
{
    return !(l->cols[i].flags & SINK_COL_META);
}

static int reserve_cells(sink_row *row, size_t n)
{
    if (n > row->cap) {
        size_t cap = row->cap ? row->cap : 16;
        while (cap < n)
            cap *= 2;
        sink_cell *cells = realloc(row->cells, cap * sizeof *cells);
        if (cells == NULL)
            return -1;
        row->cells = cells;
        row->cap = cap;
    }
    return 0;
}

static int bad_value(sink_error *err, const char *stream, const sink_column *col,
                     const json_t *value)
{
    sink_buf preview = {0};
    sink_json_preview(&preview, value);
    sink_fail(err, SIPHON_E_INVALID, "stream '%s', column '%s' (%s): cannot store the value %s",
              stream, col->key, sink_type_name(col->type), sink_buf_str(&preview));
    sink_buf_free(&preview);
    return err->code;
}

int sink_row_build(sink_row *row, sink_layout *l, const json_t *record, int64_t extracted_at_ms,
                   const char *stream, int *changed, sink_error *err)
{
    *changed = 0;
    if (!json_is_object(record))
        return sink_fail(err, SIPHON_E_INVALID, "stream '%s': a record must be a JSON object",
                         stream);
    const char *key;
    const json_t *value;
    /* First pass: every key gets a column, so the cells below all fit. */
    json_object_foreach((json_t *)record, key, value) {
        if (sink_layout_find(l, key) >= 0 || json_is_null(value))
            continue;
        if (sink_layout_add_drift(l, key, value) < 0)
            return sink_fail(err, SIPHON_E_NOMEM, "out of memory");
        *changed = 1;
    }
    if (reserve_cells(row, l->ncols) != 0)
        return sink_fail(err, SIPHON_E_NOMEM, "out of memory");
    memset(row->cells, 0, l->ncols * sizeof *row->cells);
    row->ncells = l->ncols;
    sink_buf_reset(&row->text);
    json_object_foreach((json_t *)record, key, value) {
        long i = sink_layout_find(l, key);
        if (i < 0)
            continue; /* a null value of a key no record has filled yet */
        sink_column *col = &l->cols[i];
        if (col->flags & SINK_COL_META)
            continue;
        if (sink_cell_from_json(&row->cells[i], value, col->type, &row->text) == 0)
            continue;
        if (!(col->flags & SINK_COL_DRIFT))
            return bad_value(err, stream, col, value);
        /* A drifted key's type was only a guess from its first value: widen
         * the column rather than lose or refuse the value. */
        col->type = SINK_JSON;
        col->flags |= SINK_COL_RETYPE;
        *changed = 1;
        sink_cell_from_json(&row->cells[i], value, col->type, &row->text);
    }
    char stamp[SINK_RFC3339_LEN];
    size_t stamp_len = sink_rfc3339_cached(&row->stamps, extracted_at_ms, stamp);
    size_t meta = sink_layout_meta(l);
    row->cells[meta].kind = SINK_CELL_TEXT;
    row->cells[meta].off = row->text.len;
    row->cells[meta].len = stamp_len;
    sink_buf_add(&row->text, stamp, stamp_len);
    if (row->text.failed)
        return sink_fail(err, SIPHON_E_NOMEM, "out of memory");
    for (size_t k = 0; k < l->npk; k++) {
        if (row->cells[l->pk[k]].kind == SINK_CELL_NULL)
            return sink_fail(err, SIPHON_E_INVALID,
                             "stream '%s': a record has no value for the primary key '%s'",
                             stream, l->cols[l->pk[k]].key);
    }
    return SIPHON_OK;
}

void sink_row_free(sink_row *row)
{
    free(row->cells);
    sink_buf_free(&row->text);
    memset(row, 0, sizeof *row);
}
