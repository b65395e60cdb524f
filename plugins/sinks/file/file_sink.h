/*
 * file_sink.h: the file sink's instance and per-stream state, shared by
 * file_sink.c (the vtable and the commit protocol), file_recover.c (open's
 * recovery) and file_lines.c (the JSONL and CSV lines).
 */
#ifndef FILE_SINK_H
#define FILE_SINK_H

#include <stdint.h>

#include <siphon/siphon.h>

#include "manifest.h"
#include "out_file.h"
#include "sink_buf.h"
#include "sink_error.h"
#include "sink_time.h"

#define FILE_EXTRACTED_AT "_sdc_extracted_at"
#define FILE_EXTRA "_sdc_extra"

enum { FORMAT_JSONL = 0, FORMAT_CSV = 1 };

typedef struct file_stream {
    char *stream;
    uint32_t mode;        /* a siphon_sync_mode */
    int64_t version;
    char *final_name;     /* the stream's file */
    char *write_name;     /* the file being written: final_name, or a FULL_TABLE temporary */
    out_file out;
    int ended;
    /* CSV: the columns of the file's header. */
    char **header;
    size_t nheader;
    json_t *header_index; /* column name -> position */
    long meta_col;        /* _sdc_extracted_at, or -1 */
    long extra_col;       /* _sdc_extra, or -1 */
    struct file_stream *next;
} file_stream;

typedef struct file_sink {
    char *dir;
    int dirfd;
    int format;
    int gzip;
    manifest m;       /* the last commit, plus files registered since */
    json_t *swaps;    /* target -> {"source", "bytes", "stream"}: FULL_TABLE loads to swap in */
    json_t *drops;    /* name -> true: files to forget and delete at the next commit */
    file_stream *streams;
    file_stream *last;
    sink_buf line;
    sink_stamp_cache stamps;
    int broken;       /* a commit failed half-way: only close() is allowed */
    sink_error err;
} file_sink;

/* mkdir -p. */
int file_make_dirs(const char *path, sink_error *err);

/*
 * Brings the folder back to the last commit: first the renames that commit
 * still owed, then every listed file cut back to its committed length, then
 * temporary files no commit knows about (an interrupted FULL_TABLE load)
 * removed. Rewrites the manifest when it changed anything.
 */
int file_recover(file_sink *s);

/* The header of a CSV file that already has committed rows: the file's own
 * first line (decompressed when gzip), so appended rows line up with it. */
int file_read_header(file_sink *s, file_stream *fs);

/* A new CSV file's header (the schema's properties in schema order, then
 * _sdc_extracted_at and _sdc_extra), written to the file. */
int file_new_header(file_sink *s, file_stream *fs, const json_t *schema);

/* The record as one JSON line with _sdc_extracted_at, in s->line. Returns 0,
 * or -1 when memory ran out. */
int file_jsonl_line(file_sink *s, const json_t *record, const char *stamp);

/* The same for a record given as text (siphon_record.json). Returns 0, or
 * -1 when memory ran out or the text is not an object. */
int file_jsonl_text(file_sink *s, const char *json, size_t len, const char *stamp);

/* The record as one CSV row under fs's header, in s->line. */
int file_csv_line(file_sink *s, file_stream *fs, const json_t *record, const char *stamp);

#endif
