#include <stdlib.h>
#include <string.h>

#include "csv.h"

int csv_field(sink_buf *b, const char *s, size_t len)
{
    if (s == NULL)
        return 0;
    int quote = len == 0;
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote)
        return sink_buf_add(b, s, len);
    sink_buf_putc(b, '"');
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"') {
            sink_buf_add(b, s + start, i + 1 - start);
            sink_buf_putc(b, '"');
            start = i + 1;
        }
    }
    sink_buf_add(b, s + start, len - start);
    return sink_buf_putc(b, '"');
}

void csv_fields_free(char **fields, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(fields[i]);
    free(fields);
}

static int push(char ***fields, size_t *n, size_t *cap, sink_buf *cur)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        char **f = realloc(*fields, ncap * sizeof *f);
        if (f == NULL)
            return -1;
        *fields = f;
        *cap = ncap;
    }
    char *copy = strdup(sink_buf_str(cur));
    if (copy == NULL)
        return -1;
    (*fields)[(*n)++] = copy;
    sink_buf_reset(cur);
    return 0;
}

long csv_parse_line(const char *text, size_t len, char ***fields)
{
    char **out = NULL;
    size_t n = 0, cap = 0, i = 0;
    sink_buf cur = {0};
    int ok = 0;
    while (i <= len) {
        if (i < len && text[i] == '"') {
            /* A quoted field runs to the next lone quote. */
            i++;
            for (;;) {
                if (i >= len)
                    goto done;
                if (text[i] == '"') {
                    if (i + 1 < len && text[i + 1] == '"') {
                        sink_buf_putc(&cur, '"');
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                sink_buf_putc(&cur, text[i++]);
            }
        } else {
            while (i < len && text[i] != ',' && text[i] != '\r' && text[i] != '\n')
                sink_buf_putc(&cur, text[i++]);
        }
        if (push(&out, &n, &cap, &cur) != 0)
            goto done;
        if (i < len && text[i] == ',') {
            i++;
            continue;
        }
        ok = i < len && (text[i] == '\r' || text[i] == '\n');
        break;
    }
done:
    sink_buf_free(&cur);
    if (!ok) {
        csv_fields_free(out, n);
        return -1;
    }
    *fields = out;
    return (long)n;
}
