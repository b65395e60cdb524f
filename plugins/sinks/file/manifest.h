/*
 * manifest.h: the file sink's commit record, <folder>/.siphon-manifest.json.
 *
 *   {"siphon_manifest": 1,
 *    "committed_at": "2024-05-01T10:00:00.123Z",
 *    "files": {"contacts.jsonl": {"stream": "contacts", "committed_bytes": 1234}},
 *    "replace": {"teams.jsonl": "teams.jsonl.tmp-1717200000000"},
 *    "state": {...the run state...}}
 *
 * files lists every file the sink has touched with the length it had at the
 * last commit; bytes past it were never committed. replace lists the renames
 * the last commit still owes (a FULL_TABLE temporary file over its stream's
 * file): they are redone at open when the source still exists. The manifest
 * is always replaced whole and atomically (temporary file, fsync, rename,
 * fsync of the folder), so it is the commit point of the file sink.
 */
#ifndef FILE_MANIFEST_H
#define FILE_MANIFEST_H

#include <stdint.h>

#include <jansson.h>

#include "sink_error.h"

typedef struct manifest {
    json_t *files;    /* name -> {"stream", "committed_bytes"} */
    json_t *replace;  /* target name -> source name */
    json_t *state;    /* the last committed state, or NULL */
} manifest;

/* Reads the manifest of the folder dirfd (shown as dir in messages). A missing
 * manifest is an empty one. A malformed one is an error naming the file, the
 * line and column or the member, and what was expected. */
int manifest_load(manifest *m, int dirfd, const char *dir, sink_error *err);

/* Writes the manifest atomically and durably; committed_at is set now. */
int manifest_save(const manifest *m, int dirfd, const char *dir, sink_error *err);

/* The committed length recorded for name; *found tells whether it is listed. */
uint64_t manifest_bytes(const manifest *m, const char *name, int *found);

/* Lists name (for stream) with its committed length. */
int manifest_set(manifest *m, const char *name, const char *stream, uint64_t bytes);

/* Releases the manifest's JSON. */
void manifest_free(manifest *m);

#endif
