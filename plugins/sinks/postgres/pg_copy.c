/*
 * pg_copy.c: rows in COPY's text format: columns separated by tabs, one line
 * per row, NULL as \N, and backslash, tab, newline and carriage return
 * escaped with a backslash (so no value can end a column, a row, or the data).
 */
#include <inttypes.h>
#include <string.h>

#include "pg_sink.h"

static int escaped(sink_buf *b, const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        const char *esc = NULL;
        switch (s[i]) {
        case '\\': esc = "\\\\"; break;
        case '\t': esc = "\\t"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\0': return -1; /* text in PostgreSQL cannot hold NUL */
        default: continue;
        }
        sink_buf_add(b, s + start, i - start);
        sink_buf_puts(b, esc);
        start = i + 1;
    }
    return sink_buf_add(b, s + start, len - start);
}

int pg_copy_line(sink_buf *b, int64_t ordinal, const sink_row *row, size_t ncols)
{
    sink_buf_printf(b, "%" PRId64, ordinal);
    for (size_t i = 0; i < ncols; i++) {
        const sink_cell *c = &row->cells[i];
        sink_buf_putc(b, '\t');
        switch (c->kind) {
        case SINK_CELL_INT:
            sink_buf_printf(b, "%" PRId64, c->i);
            break;
        case SINK_CELL_REAL:
            sink_format_real(b, c->d);
            break;
        case SINK_CELL_BOOL:
            sink_buf_putc(b, c->i ? 't' : 'f');
            break;
        case SINK_CELL_TEXT:
            if (escaped(b, sink_row_text(row, c), c->len) != 0)
                return -1;
            break;
        default:
            sink_buf_puts(b, "\\N");
        }
    }
    sink_buf_putc(b, '\n');
    return b->failed ? -1 : 0;
}
