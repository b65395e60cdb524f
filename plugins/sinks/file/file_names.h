/*
 * file_names.h: the file names of the file sink, which never leave the output
 * folder whatever a stream is called.
 *
 * A stream name is encoded byte by byte: ASCII letters, digits, '_', '-' and
 * '.' (except as the first byte) are kept; every other byte ('/', NUL,
 * control characters, '%', spaces, non-ASCII UTF-8) becomes %XX. The encoding
 * is reversible, so two streams never share a file, and the result can
 * never be ".", "..", hidden, or contain a path separator. Very long names are
 * cut and tagged with a hash so they stay within the file system's limit.
 */
#ifndef FILE_NAMES_H
#define FILE_NAMES_H

#include <stdint.h>

/* "<encoded stream>.<ext>[.gz]" (malloc'd), or NULL for an empty stream name. */
char *file_stream_name(const char *stream, const char *ext, int gzip);

/* The temporary file a FULL_TABLE load of version writes:
 * "<final>.tmp-<version>" (malloc'd). */
char *file_tmp_name(const char *final_name, int64_t version);

/* True when name has the shape of a FULL_TABLE temporary file. */
int file_is_tmp_name(const char *name);

/* The name of the manifest, and of its temporary twin while it is written. */
#define FILE_MANIFEST ".siphon-manifest.json"
#define FILE_MANIFEST_TMP ".siphon-manifest.json.tmp"

#endif
