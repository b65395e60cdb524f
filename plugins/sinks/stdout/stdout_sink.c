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
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <siphon/siphon.h>

#define STDOUT_FLUSH_AT (64 * 1024)

/* Per stream: the constant start of its RECORD lines, built once. */
typedef struct stdout_stream {
    char *name;
    char *record_prefix;     /* {"type":"RECORD","stream":"NAME","record": */
    size_t record_prefix_len;
    int64_t full_table_version;  /* non-zero while a FULL_TABLE load is open */
} stdout_stream;

typedef struct stdout_sink {
    int fd;
    char *buf;
    size_t len, cap;
    stdout_stream *streams;
    size_t n_streams;
    size_t last;             /* index of the last stream written: records come in runs */
    /* time_extracted is formatted once per second, then only milliseconds change */
    time_t stamp_second;
    char stamp_prefix[32];   /* "2024-01-02T03:04:05." */
} stdout_sink;

static int buf_reserve(stdout_sink *s, size_t more)
{
    if (s->len + more <= s->cap)
        return SIPHON_OK;
    size_t ncap = s->cap ? s->cap : 2 * STDOUT_FLUSH_AT;
    while (ncap < s->len + more)
        ncap *= 2;
    char *grown = realloc(s->buf, ncap);
    if (grown == NULL)
        return SIPHON_E_NOMEM;
    s->buf = grown;
    s->cap = ncap;
    return SIPHON_OK;
}

static int buf_add(stdout_sink *s, const char *data, size_t n)
{
    int rc = buf_reserve(s, n);
    if (rc != SIPHON_OK)
        return rc;
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    return SIPHON_OK;
}

static int buf_dump_cb(const char *data, size_t n, void *user)
{
    return buf_add(user, data, n) == SIPHON_OK ? 0 : -1;
}

static int buf_add_json(stdout_sink *s, const json_t *value)
{
    return json_dump_callback(value, buf_dump_cb, s, JSON_COMPACT | JSON_ENCODE_ANY) == 0
               ? SIPHON_OK
               : SIPHON_E_NOMEM;
}

static int sink_flush(stdout_sink *s)
{
    size_t off = 0;
    while (off < s->len) {
        ssize_t n = write(s->fd, s->buf + off, s->len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return SIPHON_E_IO;
        }
        off += (size_t)n;
    }
    s->len = 0;
    return SIPHON_OK;
}

static int stdout_open(siphon_ctx *ctx, void **self)
{
    (void)ctx;
    stdout_sink *s = calloc(1, sizeof *s);
    if (s == NULL)
        return SIPHON_E_NOMEM;
    s->fd = STDOUT_FILENO;
    s->stamp_second = (time_t)-1;
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
    json_t *jname = json_string(name);
    char *quoted = jname ? json_dumps(jname, JSON_ENCODE_ANY) : NULL;
    json_decref(jname);
    stdout_stream *st = &s->streams[s->n_streams];
    st->name = strdup(name);
    st->record_prefix = NULL;
    st->full_table_version = 0;
    if (quoted != NULL && st->name != NULL &&
        asprintf(&st->record_prefix, "{\"type\":\"RECORD\",\"stream\":%s,\"record\":", quoted) >= 0) {
        st->record_prefix_len = strlen(st->record_prefix);
        free(quoted);
        s->n_streams++;
        return st;
    }
    free(quoted);
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
    time_t sec = (time_t)(ms / 1000);
    if (sec != s->stamp_second) {
        struct tm tm;
        gmtime_r(&sec, &tm);
        strftime(s->stamp_prefix, sizeof s->stamp_prefix, "%Y-%m-%dT%H:%M:%S.", &tm);
        s->stamp_second = sec;
    }
    char tail[64];
    int n = snprintf(tail, sizeof tail, ",\"time_extracted\":\"%s%03dZ\"", s->stamp_prefix,
                     (int)(ms % 1000));
    return buf_add(s, tail, (size_t)n);
}

static int stdout_write_record(void *self, const siphon_record *rec)
{
    stdout_sink *s = self;
    stdout_stream *st = find_stream(s, rec->stream);
    if (st == NULL)
        return SIPHON_E_INVALID;  /* the host always begins a stream first */
    int rc = buf_add(s, st->record_prefix, st->record_prefix_len);
    if (rc == SIPHON_OK)
        rc = buf_add_json(s, rec->record);
    if (rc == SIPHON_OK && rec->version != 0) {
        char v[48];
        int n = snprintf(v, sizeof v, ",\"version\":%lld", (long long)rec->version);
        rc = buf_add(s, v, (size_t)n);
    }
    if (rc == SIPHON_OK)
        rc = add_time_extracted(s, rec->extracted_at_ms);
    if (rc == SIPHON_OK)
        rc = buf_add(s, "}\n", 2);
    if (rc == SIPHON_OK && s->len >= STDOUT_FLUSH_AT)
        rc = sink_flush(s);
    return rc;
}

static int stdout_commit(void *self, const json_t *state)
{
    stdout_sink *s = self;
    if (state != NULL) {
        int rc = buf_add(s, "{\"type\":\"STATE\",\"value\":", 24);
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
    free(s->buf);
    free(s);
}

static const siphon_sink_vtable stdout_sink_vtable = {
    .base = {
        .struct_size = sizeof(siphon_sink_vtable),
        .kind = SIPHON_KIND_SINK,
        .name = "stdout",
        .description = "Singer messages (SCHEMA, RECORD, STATE, ACTIVATE_VERSION) on standard output",
        .caps = SIPHON_CAP_SCHEMALESS,
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
