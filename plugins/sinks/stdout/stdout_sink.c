/*
 * The stdout sink: Singer messages on standard output, one per line, so
 * siphon works as a tap in Meltano or piped into any Singer target.
 *
 *   SCHEMA            when a stream begins (again when its schema changes)
 *   ACTIVATE_VERSION  when a FULL_TABLE stream begins and when it completes
 *   RECORD            per record, with time_extracted (and version for FULL_TABLE)
 *   STATE             at each commit, carrying the whole run state
 *
 * Output is buffered (Singer targets read lines; one write(2) per record would
 * dominate the cost) and written out at each commit, so a STATE line always
 * follows the records it covers.
 *
 * A record that comes as text (SIPHON_CAP_RAW_RECORDS) is copied into its
 * line as is; a tree is written by libsiphon-util's writer, which gives the
 * same bytes jansson would, several times faster. Either way a RECORD line
 * costs a few memcpy and no printf.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <siphon/siphon.h>
#include <siphon/siphon-json.h>

#define STDOUT_FLUSH_AT (64 * 1024)

/* A string literal and its length, for appends. */
#define LIT(text) text, sizeof(text) - 1
#define TIME_EXTRACTED ",\"time_extracted\":\""

/* Per stream: the constant start of its RECORD lines, built once. */
typedef struct stdout_stream {
    char *name;
    char *record_prefix;     /* {"type":"RECORD","stream":"NAME","record": */
    size_t record_prefix_len;
    int64_t full_table_version;  /* non-zero while a FULL_TABLE load is open */
} stdout_stream;

typedef struct stdout_sink {
    int fd;
    siphon_buf buf;
    stdout_stream *streams;
    size_t n_streams;
    size_t last;             /* index of the last stream written: records come in runs */
    /* time_extracted is formatted once per millisecond at most: records
     * emitted together share it */
    int64_t stamp_ms;
    char stamp[SIPHON_RFC3339_MS_LEN + 1];
} stdout_sink;

static int buf_add(stdout_sink *s, const char *data, size_t n)
{
    return siphon_buf_append(&s->buf, data, n) == 0 ? SIPHON_OK : SIPHON_E_NOMEM;
}

static int buf_add_json(stdout_sink *s, const json_t *value)
{
    return siphon_json_append(&s->buf, value) == 0 ? SIPHON_OK : SIPHON_E_NOMEM;
}

static int sink_flush(stdout_sink *s)
{
    size_t off = 0;
    while (off < s->buf.len) {
        ssize_t n = write(s->fd, s->buf.data + off, s->buf.len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return SIPHON_E_IO;
        }
        off += (size_t)n;
    }
    s->buf.len = 0;
    return SIPHON_OK;
}

static int stdout_open(siphon_ctx *ctx, void **self)
{
    (void)ctx;
    stdout_sink *s = calloc(1, sizeof *s);
    if (s == NULL)
        return SIPHON_E_NOMEM;
    s->fd = STDOUT_FILENO;
    s->stamp_ms = INT64_MIN;
    *self = s;
    return SIPHON_OK;
}

static stdout_stream *find_stream(stdout_sink *s, const char *name)
{
    if (s->last < s->n_streams && strcmp(s->streams[s->last].name, name) == 0)
        return &s->streams[s->last];
    for (size_t i = 0; i < s->n_streams; i++) {
        if (strcmp(s->streams[i].name, name) == 0) {
            s->last = i;
            return &s->streams[i];
        }
    }
    return NULL;
}

static stdout_stream *add_stream(stdout_sink *s, const char *name)
{
    stdout_stream *grown = realloc(s->streams, (s->n_streams + 1) * sizeof *grown);
    if (grown == NULL)
        return NULL;
    s->streams = grown;
    stdout_stream *st = &s->streams[s->n_streams];
    siphon_buf prefix = {0};
    st->name = strdup(name);
    st->full_table_version = 0;
    if (st->name != NULL &&
        siphon_buf_append(&prefix, LIT("{\"type\":\"RECORD\",\"stream\":")) == 0 &&
        siphon_json_append_string(&prefix, name, strlen(name)) == 0 &&
        siphon_buf_append(&prefix, LIT(",\"record\":")) == 0) {
        st->record_prefix = prefix.data;
        st->record_prefix_len = prefix.len;
        s->n_streams++;
        return st;
    }
    siphon_buf_free(&prefix);
    free(st->name);
    return NULL;
}

static int write_activate_version(stdout_sink *s, const char *stream, int64_t version)
{
    json_t *msg = json_pack("{s:s, s:s, s:I}", "type", "ACTIVATE_VERSION", "stream", stream,
                            "version", (json_int_t)version);
    if (msg == NULL)
        return SIPHON_E_NOMEM;
    int rc = buf_add_json(s, msg);
    json_decref(msg);
    return rc == SIPHON_OK ? buf_add(s, "\n", 1) : rc;
}

static int stdout_begin_stream(void *self, const siphon_stream_desc *desc)
{
    stdout_sink *s = self;
    stdout_stream *st = find_stream(s, desc->stream);
    if (st == NULL && (st = add_stream(s, desc->stream)) == NULL)
        return SIPHON_E_NOMEM;
    st->full_table_version = desc->mode == SIPHON_SYNC_FULL_TABLE ? desc->version : 0;

    json_t *keys = json_array();
    for (const char *const *k = desc->key_properties; k != NULL && *k != NULL; k++)
        json_array_append_new(keys, json_string(*k));
    json_t *msg = json_pack("{s:s, s:s, s:O, s:o}", "type", "SCHEMA", "stream", desc->stream,
                            "schema", desc->schema, "key_properties", keys);
    if (msg == NULL)
        return SIPHON_E_NOMEM;
    if (desc->replication_key != NULL && desc->mode == SIPHON_SYNC_INCREMENTAL)
        json_object_set_new(msg, "bookmark_properties",
                            json_pack("[s]", desc->replication_key));
    int rc = buf_add_json(s, msg);
    json_decref(msg);
    if (rc == SIPHON_OK)
        rc = buf_add(s, "\n", 1);
    if (rc == SIPHON_OK && desc->mode == SIPHON_SYNC_FULL_TABLE)
        rc = write_activate_version(s, desc->stream, desc->version);
    return rc;
}

/* Appends ,"time_extracted":"2024-01-02T03:04:05.678Z" (RFC 3339, UTC). */
static int add_time_extracted(stdout_sink *s, int64_t ms)
{
    if (ms != s->stamp_ms) {
        siphon_rfc3339_ms(ms, s->stamp);
        s->stamp_ms = ms;
    }
    size_t head = sizeof TIME_EXTRACTED - 1, n = head + SIPHON_RFC3339_MS_LEN + 1;
    if (siphon_buf_reserve(&s->buf, n) != 0)
        return SIPHON_E_NOMEM;
    char *o = s->buf.data + s->buf.len;
    memcpy(o, TIME_EXTRACTED, head);
    memcpy(o + head, s->stamp, SIPHON_RFC3339_MS_LEN);
    o[n - 1] = '"';
    s->buf.len += n;
    s->buf.data[s->buf.len] = '\0';
    return SIPHON_OK;
}

static int stdout_write_record(void *self, const siphon_record *rec)
{
    stdout_sink *s = self;
    stdout_stream *st = find_stream(s, rec->stream);
    if (st == NULL)
        return SIPHON_E_INVALID;  /* the host always begins a stream first */
    int rc = buf_add(s, st->record_prefix, st->record_prefix_len);
    if (rc == SIPHON_OK)
        rc = rec->record != NULL ? buf_add_json(s, rec->record)
             : rec->json != NULL ? buf_add(s, rec->json, rec->json_len)
                                 : SIPHON_E_INVALID;
    if (rc == SIPHON_OK && rec->version != 0) {
        rc = buf_add(s, LIT(",\"version\":"));
        if (rc == SIPHON_OK && siphon_json_append_int(&s->buf, rec->version) != 0)
            rc = SIPHON_E_NOMEM;
    }
    if (rc == SIPHON_OK)
        rc = add_time_extracted(s, rec->extracted_at_ms);
    if (rc == SIPHON_OK)
        rc = buf_add(s, "}\n", 2);
    if (rc == SIPHON_OK && s->buf.len >= STDOUT_FLUSH_AT)
        rc = sink_flush(s);
    return rc;
}

static int stdout_commit(void *self, const json_t *state)
{
    stdout_sink *s = self;
    if (state != NULL) {
        int rc = buf_add(s, LIT("{\"type\":\"STATE\",\"value\":"));
        if (rc == SIPHON_OK)
            rc = buf_add_json(s, state);
        if (rc == SIPHON_OK)
            rc = buf_add(s, "}\n", 2);
        if (rc != SIPHON_OK)
            return rc;
    }
    return sink_flush(s);
}

/* A completed FULL_TABLE load is activated a second time, as the Meltano SDK
 * does: targets then drop the rows of older versions. */
static int stdout_end_stream(void *self, const char *stream, int how)
{
    stdout_sink *s = self;
    stdout_stream *st = find_stream(s, stream);
    if (st == NULL || st->full_table_version == 0)
        return SIPHON_OK;
    int64_t version = st->full_table_version;
    st->full_table_version = 0;
    return how == SIPHON_END_COMPLETE ? write_activate_version(s, stream, version) : SIPHON_OK;
}

static void stdout_close(void *self)
{
    stdout_sink *s = self;
    if (s == NULL)
        return;
    sink_flush(s);
    for (size_t i = 0; i < s->n_streams; i++) {
        free(s->streams[i].name);
        free(s->streams[i].record_prefix);
    }
    free(s->streams);
    siphon_buf_free(&s->buf);
    free(s);
}

static const siphon_sink_vtable stdout_sink_vtable = {
    .base = {
        .struct_size = sizeof(siphon_sink_vtable),
        .kind = SIPHON_KIND_SINK,
        .name = "stdout",
        .description = "Singer messages (SCHEMA, RECORD, STATE, ACTIVATE_VERSION) on standard output",
        .caps = SIPHON_CAP_SCHEMALESS | SIPHON_CAP_RAW_RECORDS,
        .options = NULL,
        .option_size = sizeof(siphon_option),
    },
    .open = stdout_open,
    .begin_stream = stdout_begin_stream,
    .write_record = stdout_write_record,
    .commit = stdout_commit,
    .end_stream = stdout_end_stream,
    .close = stdout_close,
};

static const siphon_component *const stdout_components[] = {&stdout_sink_vtable.base, NULL};

SIPHON_PLUGIN_DEFINE("sink-stdout", SIPHON_VERSION, "MIT",
                     "Writes Singer messages to standard output", stdout_components);
