/*
 * file_lines.c: the lines the file sink writes: a JSON Lines record with
 * _sdc_extracted_at, and CSV headers and rows (see README.md for the rules).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "csv.h"
#include "file_sink.h"
#include "sink_value.h"

static int set_header(file_stream *fs, char **fields, size_t n)
{
    fs->header = fields;
    fs->nheader = n;
    fs->header_index = json_object();
    fs->meta_col = fs->extra_col = -1;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(fields[i], FILE_EXTRACTED_AT) == 0)
            fs->meta_col = (long)i;
        else if (strcmp(fields[i], FILE_EXTRA) == 0)
            fs->extra_col = (long)i;
        json_object_set_new(fs->header_index, fields[i], json_integer((json_int_t)i));
    }
    return fs->header_index ? SIPHON_OK : SIPHON_E_NOMEM;
}

int file_read_header(file_sink *s, file_stream *fs)
{
    int fd = openat(s->dirfd, fs->write_name, O_RDONLY | O_CLOEXEC);
    gzFile gz = fd >= 0 ? gzdopen(fd, "rb") : NULL;
    if (gz == NULL) {
        if (fd >= 0)
            close(fd);
        return sink_fail(&s->err, SIPHON_E_IO, "cannot read the header of '%s/%s': %s", s->dir,
                         fs->write_name, strerror(errno));
    }
    sink_buf text = {0};
    char **fields = NULL;
    long n = -1;
    while (n < 0 && text.len < (1u << 20)) {
        char *at = sink_buf_reserve(&text, 65536);
        int got = at ? gzread(gz, at, 65536) : -1;
        if (got <= 0)
            break;
        text.len += (size_t)got;
        n = csv_parse_line(text.data, text.len, &fields);
    }
    gzclose(gz);
    sink_buf_free(&text);
    if (n < 0)
        return sink_fail(&s->err, SIPHON_E_INVALID,
                         "'%s/%s' has committed rows but no CSV header line siphon can read",
                         s->dir, fs->write_name);
    return set_header(fs, fields, (size_t)n);
}

int file_new_header(file_sink *s, file_stream *fs, const json_t *schema)
{
    const json_t *props = json_is_object(schema) ? json_object_get(schema, "properties") : NULL;
    size_t cap = (json_is_object(props) ? json_object_size(props) : 0) + 2, n = 0;
    char **fields = calloc(cap, sizeof *fields);
    if (fields == NULL)
        return sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
    const char *key;
    const json_t *prop;
    json_object_foreach((json_t *)props, key, prop) {
        if (strcmp(key, FILE_EXTRACTED_AT) != 0 && strcmp(key, FILE_EXTRA) != 0)
            fields[n++] = strdup(key);
    }
    fields[n++] = strdup(FILE_EXTRACTED_AT);
    fields[n++] = strdup(FILE_EXTRA);
    for (size_t i = 0; i < n; i++)
        if (fields[i] == NULL) {
            csv_fields_free(fields, n);
            return sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
        }
    if (set_header(fs, fields, n) != SIPHON_OK)
        return sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
    sink_buf_reset(&s->line);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            sink_buf_putc(&s->line, ',');
        csv_field(&s->line, fields[i], strlen(fields[i]));
    }
    sink_buf_puts(&s->line, "\r\n");
    return out_file_write(&fs->out, s->line.data, s->line.len, &s->err);
}

int file_jsonl_line(file_sink *s, const json_t *record, const char *stamp)
{
    sink_buf *b = &s->line;
    json_t *copy = NULL;
    if (json_object_get(record, FILE_EXTRACTED_AT) != NULL) {
        /* The record carries the key itself: ours replaces it, once. */
        copy = json_copy((json_t *)record);
        if (copy == NULL)
            return -1;
        json_object_del(copy, FILE_EXTRACTED_AT);
        record = copy;
    }
    sink_json_dump(b, record);
    size_t members = json_object_size(record);
    json_decref(copy);
    if (b->len < 2 || b->data[b->len - 1] != '}')
        return -1;
    b->len--; /* reopen the object to append the metadata */
    if (members > 0)
        sink_buf_putc(b, ',');
    sink_buf_puts(b, "\"" FILE_EXTRACTED_AT "\":\"");
    sink_buf_puts(b, stamp);
    sink_buf_puts(b, "\"}\n");
    return b->failed ? -1 : 0;
}

int file_jsonl_text(file_sink *s, const char *json, size_t len, const char *stamp)
{
    /* The text's top-level keys carry no escapes (siphon_record), so a record
     * without these bytes anywhere has no key of ours to replace; one with
     * them (even nested) goes the tree way, which knows. */
    static const char ours[] = "\"" FILE_EXTRACTED_AT "\"";
    if (memmem(json, len, ours, sizeof ours - 1) != NULL) {
        json_t *record = json_loadb(json, len, JSON_ALLOW_NUL, NULL);
        int rc = json_is_object(record) ? file_jsonl_line(s, record, stamp) : -1;
        json_decref(record);
        return rc;
    }
    if (len < 2 || json[0] != '{' || json[len - 1] != '}')
        return -1;
    sink_buf *b = &s->line;
    sink_buf_add(b, json, len - 1);
    if (len > 2)
        sink_buf_putc(b, ',');
    sink_buf_puts(b, "\"" FILE_EXTRACTED_AT "\":\"");
    sink_buf_puts(b, stamp);
    sink_buf_puts(b, "\"}\n");
    return b->failed ? -1 : 0;
}

int file_csv_line(file_sink *s, file_stream *fs, const json_t *record, const char *stamp)
{
    sink_buf *b = &s->line;
    sink_buf text = {0};
    json_t *extra = NULL;
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)record, key, value) {
        if (json_object_get(fs->header_index, key) == NULL) {
            if (extra == NULL)
                extra = json_object();
            json_object_set(extra, key, (json_t *)value);
        }
    }
    if (extra != NULL && fs->extra_col < 0) {
        json_decref(extra);
        return sink_fail(&s->err, SIPHON_E_INVALID,
                         "stream '%s': '%s/%s' has no " FILE_EXTRA " column for keys its header "
                         "lacks",
                         fs->stream, s->dir, fs->write_name);
    }
    for (size_t i = 0; i < fs->nheader; i++) {
        if (i > 0)
            sink_buf_putc(b, ',');
        if ((long)i == fs->meta_col) {
            csv_field(b, stamp, strlen(stamp));
            continue;
        }
        if ((long)i == fs->extra_col) {
            if (extra != NULL) {
                sink_buf_reset(&text);
                sink_json_dump(&text, extra);
                csv_field(b, text.data, text.len);
            }
            continue;
        }
        value = json_object_get(record, fs->header[i]);
        if (value == NULL || json_is_null(value))
            continue;
        if (json_is_string(value)) {
            csv_field(b, json_string_value(value), json_string_length(value));
        } else {
            sink_buf_reset(&text);
            sink_json_dump(&text, value);
            csv_field(b, text.data, text.len);
        }
    }
    sink_buf_puts(b, "\r\n");
    json_decref(extra);
    sink_buf_free(&text);
    return b->failed ? sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory") : SIPHON_OK;
}
