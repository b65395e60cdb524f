/*
 * file_sink.c: the file sink (siphon-sink-file.so): one JSONL or CSV file per
 * stream, optionally gzip-compressed, committed exactly once through a
 * manifest (see manifest.h for its layout and README.md for the user's view).
 *
 * The commit protocol, in short:
 *  - every file the sink touches is listed in the manifest before its first
 *    byte is written, with the length it had then;
 *  - commit() ends each file's gzip member, writes and fsyncs it, then
 *    replaces the manifest (new lengths + the state) atomically: that rename
 *    is the commit point;
 *  - open() cuts every listed file back to its committed length, so bytes
 *    written after the last commit (a crash, a failed run) disappear.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include <siphon/siphon.h>

#include "csv.h"
#include "file_names.h"
#include "file_sink.h"

static const siphon_option file_options[] = {
    {"path", SIPHON_OPT_STRING, 0, "\"./siphon-output\"",
     "Folder the files are written to; created when missing.", NULL, NULL},
    {"format", SIPHON_OPT_STRING, 0, "\"jsonl\"",
     "One JSON object per line (jsonl) or CSV with a header line (csv).", NULL, "jsonl|csv"},
    {"gzip", SIPHON_OPT_BOOL, 0, "false",
     "Compress every file with gzip (one gzip member per commit).", NULL, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};

#define FILE_CAPS                                                                            \
    (SIPHON_CAP_TRANSACTIONAL | SIPHON_CAP_STATE_IN_SINK | SIPHON_CAP_ATOMIC_REPLACE |       \
     SIPHON_CAP_RAW_RECORDS)

/* --- open --- */

static int file_open(siphon_ctx *ctx, void **self)
{
    *self = NULL;
    file_sink *s = calloc(1, sizeof *s);
    if (s == NULL)
        return SIPHON_E_NOMEM;
    s->dirfd = -1;
    const siphon_host_api *api = siphon_api(ctx);
    const char *path = api->config_string(ctx, "path");
    const char *format = api->config_string(ctx, "format");
    int rc = SIPHON_OK;
    s->dir = strdup(path && *path ? path : "./siphon-output");
    s->swaps = json_object();
    s->drops = json_object();
    if (api->config_bool(ctx, "gzip", &s->gzip) != SIPHON_OK)
        s->gzip = 0;
    if (format == NULL || strcmp(format, "jsonl") == 0) {
        s->format = FORMAT_JSONL;
    } else if (strcmp(format, "csv") == 0) {
        s->format = FORMAT_CSV;
    } else {
        rc = sink_fail(&s->err, SIPHON_E_CONFIG,
                       "sink option format: expected \"jsonl\" or \"csv\", found \"%s\"", format);
        goto fail;
    }
    if (s->dir == NULL || s->swaps == NULL || s->drops == NULL) {
        rc = sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
        goto fail;
    }
    if ((rc = file_make_dirs(s->dir, &s->err)) != SIPHON_OK)
        goto fail;
    s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dirfd < 0) {
        rc = sink_fail(&s->err, SIPHON_E_IO, "cannot open folder '%s': %s", s->dir,
                       strerror(errno));
        goto fail;
    }
    /* Two runs appending to one folder would each cut the other's
     * uncommitted bytes: one writer at a time. */
    if (flock(s->dirfd, LOCK_EX | LOCK_NB) != 0) {
        rc = sink_fail(&s->err, SIPHON_E_IO, "folder '%s' is in use by another siphon run (%s)",
                       s->dir, strerror(errno));
        goto fail;
    }
    if ((rc = manifest_load(&s->m, s->dirfd, s->dir, &s->err)) != SIPHON_OK)
        goto fail;
    if ((rc = file_recover(s)) != SIPHON_OK)
        goto fail;
    siphon_log(ctx, SIPHON_LOG_DEBUG, "writing %s%s files to '%s'",
               s->format == FORMAT_CSV ? "CSV" : "JSONL", s->gzip ? " (gzip)" : "", s->dir);
    *self = s;
    return SIPHON_OK;
fail:
    sink_error_report(&s->err, ctx);
    manifest_free(&s->m);
    json_decref(s->swaps);
    json_decref(s->drops);
    if (s->dirfd >= 0)
        close(s->dirfd);
    free(s->dir);
    free(s);
    return rc;
}

static int file_load_state(void *self, json_t **state)
{
    file_sink *s = self;
    *state = s->m.state ? json_deep_copy(s->m.state) : NULL;
    return SIPHON_OK;
}

/* --- streams --- */

static void stream_free(file_stream *fs)
{
    out_file_close(&fs->out);
    free(fs->stream);
    free(fs->final_name);
    free(fs->write_name);
    csv_fields_free(fs->header, fs->nheader);
    json_decref(fs->header_index);
    free(fs);
}

static file_stream *find_stream(file_sink *s, const char *stream)
{
    if (s->last != NULL && strcmp(s->last->stream, stream) == 0)
        return s->last;
    for (file_stream *fs = s->streams; fs; fs = fs->next)
        if (strcmp(fs->stream, stream) == 0)
            return s->last = fs;
    return NULL;
}

static void unlink_stream(file_sink *s, file_stream *fs)
{
    for (file_stream **p = &s->streams; *p; p = &(*p)->next) {
        if (*p == fs) {
            *p = fs->next;
            break;
        }
    }
    if (s->last == fs)
        s->last = NULL;
}

/* Lists fs's file in the manifest before its first byte is written, so that
 * a crash right after can cut it back. A file that exists without being
 * listed is adopted with its current content (nothing is lost); a temporary
 * file nobody listed is a leftover and starts empty. */
static int register_file(file_sink *s, file_stream *fs, uint64_t *committed)
{
    int found = 0;
    *committed = manifest_bytes(&s->m, fs->write_name, &found);
    if (found)
        return SIPHON_OK;
    struct stat st;
    if (fstatat(s->dirfd, fs->write_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (!S_ISREG(st.st_mode))
            return sink_fail(&s->err, SIPHON_E_IO, "'%s/%s' exists and is not a regular file",
                             s->dir, fs->write_name);
        *committed = fs->mode == SIPHON_SYNC_FULL_TABLE ? 0 : (uint64_t)st.st_size;
    }
    if (manifest_set(&s->m, fs->write_name, fs->stream, *committed) != SIPHON_OK)
        return sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
    return manifest_save(&s->m, s->dirfd, s->dir, &s->err);
}

static int file_begin_stream(void *self, const siphon_stream_desc *desc)
{
    file_sink *s = self;
    if (s->broken)
        return sink_fail(&s->err, SIPHON_E_IO, "the sink failed earlier: %s", s->err.msg);
    if (desc == NULL || desc->stream == NULL || *desc->stream == '\0')
        return sink_fail(&s->err, SIPHON_E_INVALID, "begin_stream: the stream has no name");
    file_stream *fs = find_stream(s, desc->stream);
    if (fs != NULL) {
        /* A new schema for a stream in progress: the file's layout stays
         * (CSV columns cannot change mid-file; new keys go to _sdc_extra). */
        if (!fs->ended || fs->mode != SIPHON_SYNC_FULL_TABLE) {
            fs->ended = 0;
            return SIPHON_OK;
        }
        unlink_stream(s, fs);
        stream_free(fs);
    }
    fs = calloc(1, sizeof *fs);
    if (fs == NULL)
        return sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
    fs->out.fd = -1;
    fs->stream = strdup(desc->stream);
    fs->mode = desc->mode == SIPHON_SYNC_FULL_TABLE ? SIPHON_SYNC_FULL_TABLE
                                                    : SIPHON_SYNC_INCREMENTAL;
    fs->version = desc->version;
    fs->final_name = file_stream_name(desc->stream, s->format == FORMAT_CSV ? "csv" : "jsonl",
                                      s->gzip);
    fs->write_name = fs->mode == SIPHON_SYNC_FULL_TABLE && fs->final_name
                         ? file_tmp_name(fs->final_name, desc->version)
                         : (fs->final_name ? strdup(fs->final_name) : NULL);
    if (fs->stream == NULL || fs->final_name == NULL || fs->write_name == NULL) {
        stream_free(fs);
        return sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
    }
    fs->next = s->streams;
    s->streams = fs;

    if (fs->mode == SIPHON_SYNC_FULL_TABLE) {
        /* Temporary files of other (interrupted) loads of this stream go at
         * the next commit; one of the same version is resumed. */
        size_t flen = strlen(fs->final_name);
        const char *name;
        json_t *entry;
        json_object_foreach(s->m.files, name, entry) {
            if (strncmp(name, fs->final_name, flen) == 0 &&
                strncmp(name + flen, ".tmp-", 5) == 0 && file_is_tmp_name(name) &&
                strcmp(name, fs->write_name) != 0)
                json_object_set_new(s->drops, name, json_true());
        }
    }
    uint64_t committed = 0;
    int rc = register_file(s, fs, &committed);
    if (rc == SIPHON_OK)
        rc = out_file_open(&fs->out, s->dirfd, fs->write_name, committed, s->gzip, &s->err);
    if (rc == SIPHON_OK && s->format == FORMAT_CSV)
        rc = committed > 0 ? file_read_header(s, fs) : file_new_header(s, fs, desc->schema);
    return rc;
}

/* --- records --- */

static int file_write_record(void *self, const siphon_record *rec)
{
    file_sink *s = self;
    if (s->broken)
        return sink_fail(&s->err, SIPHON_E_IO, "the sink failed earlier: %s", s->err.msg);
    if (rec == NULL || rec->stream == NULL)
        return sink_fail(&s->err, SIPHON_E_INVALID, "write_record: no stream named");
    file_stream *fs = find_stream(s, rec->stream);
    if (fs == NULL || fs->ended)
        return sink_fail(&s->err, SIPHON_E_INVALID,
                         "a record for stream '%s', which is not open (begin_stream first)",
                         rec->stream);
    int as_text = rec->record == NULL && rec->json != NULL;
    if (!as_text && !json_is_object(rec->record))
        return sink_fail(&s->err, SIPHON_E_INVALID, "stream '%s': a record must be a JSON object",
                         rec->stream);
    char stamp[SINK_RFC3339_LEN];
    sink_rfc3339_cached(&s->stamps, rec->extracted_at_ms, stamp);
    sink_buf_reset(&s->line);
    int rc;
    if (s->format == FORMAT_CSV) {
        /* CSV takes trees (instance_caps); text is parsed should one come */
        json_t *parsed = as_text ? json_loadb(rec->json, rec->json_len, JSON_ALLOW_NUL, NULL) : NULL;
        if (as_text && !json_is_object(parsed)) {
            json_decref(parsed);
            return sink_fail(&s->err, SIPHON_E_INVALID,
                             "stream '%s': a record must be a JSON object", rec->stream);
        }
        rc = file_csv_line(s, fs, as_text ? parsed : rec->record, stamp);
        json_decref(parsed);
    } else {
        rc = (as_text ? file_jsonl_text(s, rec->json, rec->json_len, stamp)
                      : file_jsonl_line(s, rec->record, stamp)) == 0
                 ? SIPHON_OK
                 : sink_fail(&s->err, SIPHON_E_NOMEM, "stream '%s': cannot write a record "
                             "(out of memory, or text that is not a JSON object)", rec->stream);
    }
    if (rc != SIPHON_OK)
        return rc;
    return out_file_write(&fs->out, s->line.data, s->line.len, &s->err);
}

/* --- commit --- */

/*
 * Why this order is crash-safe:
 *  1. Every open file is written out and fsynced (a gzip member ends first):
 *     the bytes the new manifest will count are on disk before it counts them.
 *  2. The manifest is replaced atomically. Before the rename, the old one
 *     rules: open() cuts everything back to it, temporary files included,
 *     and the old stream files are untouched. After it, the new one rules.
 *  3. Only then are FULL_TABLE temporary files renamed over their streams'
 *     files. The manifest already lists each rename under "replace" and the
 *     new length under the target's name, so a crash between 2 and 3 is
 *     finished by open(), which redoes a rename whose source still exists.
 *  4. Files of failed or abandoned loads are deleted last; a crash before
 *     leaves unlisted temporary files, which open() removes.
 */
static int file_commit(void *self, const json_t *state)
{
    file_sink *s = self;
    if (s->broken)
        return sink_fail(&s->err, SIPHON_E_IO, "the sink failed earlier: %s", s->err.msg);
    for (file_stream *fs = s->streams; fs; fs = fs->next) {
        if (fs->out.fd < 0)
            continue;
        if (out_file_sync(&fs->out, &s->err) != SIPHON_OK ||
            manifest_set(&s->m, fs->write_name, fs->stream, fs->out.committed) != SIPHON_OK) {
            s->broken = 1;
            return s->err.code ? s->err.code : SIPHON_E_NOMEM;
        }
    }
    const char *target;
    json_t *swap;
    json_object_foreach(s->swaps, target, swap) {
        const char *source = json_string_value(json_object_get(swap, "source"));
        manifest_set(&s->m, target, json_string_value(json_object_get(swap, "stream")),
                     (uint64_t)json_integer_value(json_object_get(swap, "bytes")));
        json_object_del(s->m.files, source);
        json_object_set_new(s->m.replace, target, json_string(source));
    }
    const char *name;
    json_t *flag;
    json_object_foreach(s->drops, name, flag) json_object_del(s->m.files, name);
    /* No state (NULL or null) keeps the stored one, as the database sinks do. */
    if (state != NULL && !json_is_null(state)) {
        json_decref(s->m.state);
        s->m.state = json_deep_copy(state);
    }
    if (manifest_save(&s->m, s->dirfd, s->dir, &s->err) != SIPHON_OK) {
        s->broken = 1;
        return s->err.code;
    }
    json_t *source;
    json_object_foreach(s->m.replace, target, source) {
        if (renameat(s->dirfd, json_string_value(source), s->dirfd, target) != 0) {
            s->broken = 1;
            return sink_fail(&s->err, SIPHON_E_IO,
                             "cannot rename '%s/%s' over '%s' (the next run finishes it): %s",
                             s->dir, json_string_value(source), target, strerror(errno));
        }
    }
    if (json_object_size(s->m.replace) > 0 && fsync(s->dirfd) != 0) {
        s->broken = 1;
        return sink_fail(&s->err, SIPHON_E_IO, "cannot make folder '%s' durable (fsync): %s",
                         s->dir, strerror(errno));
    }
    json_object_foreach(s->drops, name, flag) unlinkat(s->dirfd, name, 0);
    json_object_clear(s->m.replace);
    json_object_clear(s->swaps);
    json_object_clear(s->drops);
    return SIPHON_OK;
}

static int file_end_stream(void *self, const char *stream, int how)
{
    file_sink *s = self;
    if (s->broken)
        return sink_fail(&s->err, SIPHON_E_IO, "the sink failed earlier: %s", s->err.msg);
    file_stream *fs = stream ? find_stream(s, stream) : NULL;
    if (fs == NULL)
        return sink_fail(&s->err, SIPHON_E_INVALID, "end_stream for stream '%s', which is not open",
                         stream ? stream : "(null)");
    if (fs->ended)
        return SIPHON_OK;
    fs->ended = 1;
    if (fs->mode != SIPHON_SYNC_FULL_TABLE)
        return SIPHON_OK;
    if (how == SIPHON_END_COMPLETE) {
        /* The load is whole: make it durable now; the swap itself waits for
         * the next commit (see file_commit). */
        if (out_file_sync(&fs->out, &s->err) != SIPHON_OK)
            return s->err.code;
        json_t *swap = json_pack("{s:s, s:I, s:s}", "source", fs->write_name, "bytes",
                                 (json_int_t)fs->out.committed, "stream", fs->stream);
        if (swap == NULL || json_object_set_new(s->swaps, fs->final_name, swap) != 0)
            return sink_fail(&s->err, SIPHON_E_NOMEM, "out of memory");
    } else {
        json_object_set_new(s->drops, fs->write_name, json_true());
    }
    out_file_close(&fs->out);
    return SIPHON_OK;
}

/* JSON Lines take records as text; CSV needs trees to place values in
 * columns, so the host parses for it. */
static uint64_t file_instance_caps(void *self)
{
    const file_sink *s = self;
    return s != NULL && s->format == FORMAT_CSV ? FILE_CAPS & ~SIPHON_CAP_RAW_RECORDS : FILE_CAPS;
}

/* Why the last failing callback failed, for the host's error message. */
static const char *file_last_error(void *self)
{
    return self != NULL ? sink_error_text(&((file_sink *)self)->err) : NULL;
}

static void file_close(void *self)
{
    file_sink *s = self;
    if (s == NULL)
        return;
    while (s->streams) {
        file_stream *fs = s->streams;
        s->streams = fs->next;
        stream_free(fs);
    }
    manifest_free(&s->m);
    json_decref(s->swaps);
    json_decref(s->drops);
    sink_buf_free(&s->line);
    if (s->dirfd >= 0)
        close(s->dirfd);
    free(s->dir);
    free(s);
}

static const siphon_sink_vtable file_sink_vtable = {
    .base =
        {
            .struct_size = sizeof(siphon_sink_vtable),
            .kind = SIPHON_KIND_SINK,
            .name = "file",
            .description = "One JSONL or CSV file per stream (optionally gzip), committed "
                           "exactly once through a manifest",
            .caps = FILE_CAPS,
            .options = file_options,
            .option_size = sizeof(siphon_option),
        },
    .open = file_open,
    .load_state = file_load_state,
    .begin_stream = file_begin_stream,
    .write_record = file_write_record,
    .commit = file_commit,
    .end_stream = file_end_stream,
    .close = file_close,
    .last_error = file_last_error,
    .instance_caps = file_instance_caps,
};

static const siphon_component *const file_components[] = {&file_sink_vtable.base, NULL};

SIPHON_PLUGIN_DEFINE("sink-file", SIPHON_VERSION, "MIT",
                     "File sink: JSONL or CSV files, exactly-once through a manifest",
                     file_components);
