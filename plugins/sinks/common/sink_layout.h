/*
 * sink_layout.h: the columns of one destination table, and how a record's
 * keys map onto them.
 *
 * A layout is the union of what the table already has (stored columns read
 * back from the database), what the schema's top-level properties name, the
 * metadata column _sdc_extracted_at, and every key a record brought that the
 * schema did not name (schema drift: such a key gets a column typed from its
 * value, never dropped). Columns are only ever added, so the index of a
 * column never changes; a sink creates the columns that are not yet stored
 * (sink_layout_pending) before it writes a row that needs them.
 *
 * The names of columns in the destination (idents) may differ from record
 * keys: PostgreSQL cuts names at 63 bytes (the layout's ident function fits
 * them), and SQLite compares names without regard to ASCII case (the layout's
 * fold flag), so "Name" and "name" share one column there.
 */
#ifndef SINK_LAYOUT_H
#define SINK_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sink_buf.h"
#include "sink_error.h"
#include "sink_time.h"
#include "sink_value.h"

#define SINK_EXTRACTED_AT "_sdc_extracted_at"

/* Column flags. */
#define SINK_COL_STORED 0x1u   /* the destination table has it */
#define SINK_COL_DRIFT 0x2u    /* added for a record key the schema did not name */
#define SINK_COL_META 0x4u     /* _sdc_extracted_at */
#define SINK_COL_RETYPE 0x8u   /* a drifted column widened to JSON, not yet altered */

typedef struct sink_column {
    char *key;       /* the record key it holds (for stored-only columns, the ident) */
    char *ident;     /* its name in the destination */
    sink_type type;
    unsigned flags;
} sink_column;

/* Maps a record key to a column name; returns malloc'd text. */
typedef char *(*sink_ident_fn)(const char *key);

typedef struct sink_layout {
    sink_column *cols;
    size_t ncols, cap;
    size_t *pk;          /* column indexes of the primary key, in key order */
    size_t npk;
    json_t *by_key;      /* record key -> column index, filled as keys are met */
    sink_ident_fn ident; /* NULL: the ident is the key */
    int fold_case;       /* idents compare without ASCII case */
} sink_layout;

/* An empty layout; ident maps keys to column names (NULL: unchanged) and
 * fold_case makes names compare without ASCII case. */
void sink_layout_init(sink_layout *l, sink_ident_fn ident, int fold_case);

/* Releases the layout's memory. */
void sink_layout_free(sink_layout *l);

/* Records a column the destination already has (type read back from it). */
int sink_layout_add_stored(sink_layout *l, const char *ident, sink_type type);

/*
 * Adds the schema's top-level properties (in schema order) and the primary
 * key, and makes sure _sdc_extracted_at exists. Columns already present keep
 * their type. A key property the schema does not name becomes a string
 * column. Callable again with a changed schema: it only adds.
 */
int sink_layout_apply_schema(sink_layout *l, const json_t *schema, const char *const *keys,
                             sink_error *err, const char *stream);

/* The column holding a record key, or -1. */
long sink_layout_find(sink_layout *l, const char *key);

/* The column named ident in the destination (ident comparison rules), or -1. */
long sink_layout_find_ident(const sink_layout *l, const char *ident);

/* Adds a column for a drifted key typed from value; returns its index, or -1
 * when memory ran out. */
long sink_layout_add_drift(sink_layout *l, const char *key, const json_t *value);

/* Whether some column still has to be created or altered in the destination. */
int sink_layout_pending(const sink_layout *l);

/* The column index of _sdc_extracted_at. */
size_t sink_layout_meta(const sink_layout *l);

/* True when column i is a data column (compared for history: every column
 * but _sdc_extracted_at). */
int sink_layout_is_data(const sink_layout *l, size_t i);

/*
 * One record converted for a layout. text holds the cells' text.
 */
typedef struct sink_row {
    sink_cell *cells;
    size_t ncells, cap;
    sink_buf text;
    sink_stamp_cache stamps;   /* _sdc_extracted_at of recent records */
} sink_row;

/*
 * Converts record into row: one cell per layout column (NULL for absent
 * keys), _sdc_extracted_at from extracted_at_ms. Keys the layout lacks are
 * added as drift columns first, and a drifted column given a value of
 * another type is widened to JSON; *changed tells the caller to apply the
 * layout (create or alter columns) before using the row. A value that does
 * not fit a declared column, a record that is not an object, or a missing
 * primary key value fails with a message naming the stream, the column and
 * the value.
 */
int sink_row_build(sink_row *row, sink_layout *l, const json_t *record, int64_t extracted_at_ms,
                   const char *stream, int *changed, sink_error *err);

/* The text of a TEXT cell (not NUL-terminated; use cell->len). */
static inline const char *sink_row_text(const sink_row *row, const sink_cell *cell)
{
    return row->text.data + cell->off;
}

/* Releases the row's memory. */
void sink_row_free(sink_row *row);

#endif
