/*
 * file_recover.c: bringing the file sink's folder back to its last commit
 * at open: renames the commit still owed, files cut back to their committed
 * lengths, and temporary files of loads no commit knows removed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_names.h"
#include "file_sink.h"

int file_make_dirs(const char *path, sink_error *err)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return sink_fail(err, SIPHON_E_NOMEM, "out of memory");
    for (char *p = copy + 1; ; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            sink_fail(err, SIPHON_E_IO, "cannot create folder '%s': %s", copy, strerror(e));
            free(copy);
            return err->code;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    free(copy);
    return SIPHON_OK;
}

int file_recover(file_sink *s)
{
    int changed = 0;
    const char *target;
    json_t *source;
    json_object_foreach(s->m.replace, target, source) {
        const char *src = json_string_value(source);
        if (faccessat(s->dirfd, src, F_OK, 0) == 0) {
            if (renameat(s->dirfd, src, s->dirfd, target) != 0)
                return sink_fail(&s->err, SIPHON_E_IO,
                                 "cannot finish the committed replacement of '%s/%s' by '%s': %s",
                                 s->dir, target, src, strerror(errno));
        }
        changed = 1;
    }
    if (changed && fsync(s->dirfd) != 0)
        return sink_fail(&s->err, SIPHON_E_IO, "cannot make folder '%s' durable (fsync): %s",
                         s->dir, strerror(errno));
    json_object_clear(s->m.replace);

    const char *name;
    json_t *entry;
    void *tmp;
    json_object_foreach_safe(s->m.files, tmp, name, entry) {
        uint64_t bytes = (uint64_t)json_integer_value(json_object_get(entry, "committed_bytes"));
        if (bytes == 0 && file_is_tmp_name(name)) {
            /* A load that never reached a commit: nothing in it to resume. */
            unlinkat(s->dirfd, name, 0);
            json_object_del(s->m.files, name);
            changed = 1;
            continue;
        }
        struct stat st;
        if (fstatat(s->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT && (bytes == 0 || file_is_tmp_name(name))) {
                json_object_del(s->m.files, name);
                changed = 1;
                continue;
            }
            return sink_fail(&s->err, SIPHON_E_IO,
                             "'%s/%s' holds %llu committed bytes by the manifest but cannot be "
                             "read: %s",
                             s->dir, name, (unsigned long long)bytes, strerror(errno));
        }
        if (!S_ISREG(st.st_mode))
            return sink_fail(&s->err, SIPHON_E_IO, "'%s/%s' is not a regular file", s->dir,
                             name);
        if ((uint64_t)st.st_size < bytes)
            return sink_fail(&s->err, SIPHON_E_IO,
                             "'%s/%s' is shorter (%llu bytes) than its committed length (%llu "
                             "bytes): committed data is missing, refusing to write",
                             s->dir, name, (unsigned long long)st.st_size,
                             (unsigned long long)bytes);
        if ((uint64_t)st.st_size > bytes) {
            int fd = openat(s->dirfd, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
            int rc = fd < 0 ? -1 : ftruncate(fd, (off_t)bytes);
            int e = errno;
            if (fd >= 0)
                close(fd);
            if (rc != 0)
                return sink_fail(&s->err, SIPHON_E_IO,
                                 "cannot cut '%s/%s' back to its committed length: %s", s->dir,
                                 name, strerror(e));
        }
    }

    int scan = dup(s->dirfd);
    DIR *d = scan >= 0 ? fdopendir(scan) : NULL;
    if (d == NULL) {
        if (scan >= 0)
            close(scan);
        return sink_fail(&s->err, SIPHON_E_IO, "cannot list folder '%s': %s", s->dir,
                         strerror(errno));
    }
    rewinddir(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (file_is_tmp_name(e->d_name) && json_object_get(s->m.files, e->d_name) == NULL)
            unlinkat(s->dirfd, e->d_name, 0);
    }
    closedir(d);
    if (changed)
        return manifest_save(&s->m, s->dirfd, s->dir, &s->err);
    return SIPHON_OK;
}
