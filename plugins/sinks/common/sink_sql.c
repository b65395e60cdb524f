#include <string.h>

#include "sink_sql.h"

static int quoted(sink_buf *b, const char *s, char q)
{
    sink_buf_putc(b, q);
    for (const char *p = s; *p; p++) {
        if (*p == q)
            sink_buf_putc(b, q);
        sink_buf_putc(b, *p);
    }
    return sink_buf_putc(b, q);
}

int sink_sql_ident(sink_buf *b, const char *name)
{
    return quoted(b, name, '"');
}

int sink_sql_qualified(sink_buf *b, const char *schema, const char *name)
{
    if (schema != NULL) {
        sink_sql_ident(b, schema);
        sink_buf_putc(b, '.');
    }
    return sink_sql_ident(b, name);
}

int sink_sql_literal(sink_buf *b, const char *s)
{
    return quoted(b, s, '\'');
}
