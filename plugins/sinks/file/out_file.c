#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "out_file.h"

/* Pending bytes are handed to the kernel (or to zlib) in chunks of this size:
 * large enough to make write(2) cheap per record, small enough to keep memory
 * flat. */
#define CHUNK (64 * 1024)

int out_file_open(out_file *f, int dirfd, const char *name, uint64_t committed, int gzip,
                  sink_error *err)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->name = strdup(name);
    if (f->name == NULL)
        return sink_fail(err, SIPHON_E_NOMEM, "out of memory");
    /* O_NOFOLLOW: a symbolic link planted under a stream's file name must
     * not redirect the sink's writes outside the folder. */
    f->fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (f->fd < 0)
        return sink_fail(err, SIPHON_E_IO, "cannot open '%s' for writing: %s", name,
                         strerror(errno));
    if (ftruncate(f->fd, (off_t)committed) != 0 || lseek(f->fd, (off_t)committed, SEEK_SET) < 0)
        return sink_fail(err, SIPHON_E_IO, "cannot position '%s' at byte %llu: %s", name,
                         (unsigned long long)committed, strerror(errno));
    f->gzip = gzip;
    f->length = f->committed = committed;
    if (gzip) {
        /* 15 + 16: a gzip wrapper around deflate, as gzip(1) writes it. */
        if (deflateInit2(&f->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK)
            return sink_fail(err, SIPHON_E_NOMEM, "cannot start gzip compression for '%s'",
                             name);
        f->z_ready = 1;
    }
    return SIPHON_OK;
}

static int write_all(out_file *f, const unsigned char *data, size_t n, sink_error *err)
{
    while (n > 0) {
        ssize_t w = write(f->fd, data, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return sink_fail(err, SIPHON_E_IO, "cannot write to '%s': %s", f->name,
                             strerror(errno));
        }
        data += w;
        n -= (size_t)w;
        f->length += (uint64_t)w;
    }
    return SIPHON_OK;
}

/* Feeds the pending bytes to zlib and writes what comes out; with Z_FINISH
 * the member ends and the stream is reset for the next one. */
static int deflate_pending(out_file *f, int flush, sink_error *err)
{
    unsigned char out[CHUNK];
    f->z.next_in = (unsigned char *)f->pending.data;
    f->z.avail_in = (uInt)f->pending.len;
    int rc;
    do {
        f->z.next_out = out;
        f->z.avail_out = sizeof out;
        rc = deflate(&f->z, flush);
        if (rc == Z_STREAM_ERROR)
            return sink_fail(err, SIPHON_E_INTERNAL, "gzip compression of '%s' failed",
                             f->name);
        size_t produced = sizeof out - f->z.avail_out;
        if (produced > 0 && write_all(f, out, produced, err) != SIPHON_OK)
            return err->code;
    } while (f->z.avail_out == 0);
    if (flush == Z_FINISH && rc != Z_STREAM_END)
        return sink_fail(err, SIPHON_E_INTERNAL, "gzip member of '%s' did not end", f->name);
    sink_buf_reset(&f->pending);
    if (flush == Z_FINISH) {
        deflateReset(&f->z);
        f->member_open = 0;
    }
    return SIPHON_OK;
}

static int drain(out_file *f, int finish, sink_error *err)
{
    if (!f->gzip) {
        int rc = write_all(f, (const unsigned char *)f->pending.data, f->pending.len, err);
        sink_buf_reset(&f->pending);
        return rc;
    }
    if (!finish && f->pending.len == 0)
        return SIPHON_OK;
    if (finish && !f->member_open)
        return SIPHON_OK;
    return deflate_pending(f, finish ? Z_FINISH : Z_NO_FLUSH, err);
}

int out_file_write(out_file *f, const void *data, size_t n, sink_error *err)
{
    if (f->fd < 0)
        return sink_fail(err, SIPHON_E_INTERNAL, "write to closed file '%s'",
                         f->name ? f->name : "?");
    if (sink_buf_add(&f->pending, data, n) != 0)
        return sink_fail(err, SIPHON_E_NOMEM, "out of memory");
    if (f->gzip)
        f->member_open = 1;
    if (f->pending.len >= CHUNK)
        return drain(f, 0, err);
    return SIPHON_OK;
}

int out_file_sync(out_file *f, sink_error *err)
{
    if (f->fd < 0)
        return SIPHON_OK;
    if (drain(f, 0, err) != SIPHON_OK || drain(f, 1, err) != SIPHON_OK)
        return err->code;
    if (fsync(f->fd) != 0)
        return sink_fail(err, SIPHON_E_IO, "cannot make '%s' durable (fsync): %s", f->name,
                         strerror(errno));
    f->committed = f->length;
    return SIPHON_OK;
}

void out_file_close(out_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    if (f->z_ready)
        deflateEnd(&f->z);
    f->z_ready = 0;
    sink_buf_free(&f->pending);
    free(f->name);
    f->name = NULL;
}
