/*
 * out_file.h: one output file of the file sink, written through a buffer,
 * optionally gzip-compressed, with the byte length of its last commit.
 *
 * Gzip output is a series of complete gzip members, one per commit:
 * out_file_sync ends the member it is writing, so a file cut back to its
 * committed length is still a valid gzip file (gzip -dc reads concatenated
 * members as one stream).
 */
#ifndef FILE_OUT_FILE_H
#define FILE_OUT_FILE_H

#include <stddef.h>
#include <stdint.h>

#include <zlib.h>

#include "sink_buf.h"
#include "sink_error.h"

typedef struct out_file {
    char *name;          /* the file's name inside the folder (for messages) */
    int fd;              /* -1 when closed */
    int gzip;
    z_stream z;
    int z_ready;         /* z was initialised */
    int member_open;     /* bytes went into a gzip member that is not ended yet */
    sink_buf pending;    /* bytes not yet written (uncompressed when gzip) */
    uint64_t length;     /* bytes written to the file so far */
    uint64_t committed;  /* bytes made durable by the last sync */
} out_file;

/*
 * Opens name inside the folder dirfd for writing at offset committed (the
 * file is created when missing and cut back to committed when longer).
 */
int out_file_open(out_file *f, int dirfd, const char *name, uint64_t committed, int gzip,
                  sink_error *err);

/* Appends n bytes (compressed on the way when gzip). */
int out_file_write(out_file *f, const void *data, size_t n, sink_error *err);

/* Ends the gzip member, writes everything pending, fsyncs the file; committed
 * becomes length. */
int out_file_sync(out_file *f, sink_error *err);

/* Closes the file without syncing (pending bytes are dropped). */
void out_file_close(out_file *f);

#endif
