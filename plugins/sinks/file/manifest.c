#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file_names.h"
#include "manifest.h"
#include "sink_buf.h"
#include "sink_time.h"

/* A name the manifest may hold: one plain entry of the folder. A tampered
 * manifest must not make the sink cut or rename a file elsewhere. */
static int plain_name(const char *name)
{
    return *name != '\0' && strchr(name, '/') == NULL && strcmp(name, ".") != 0 &&
           strcmp(name, "..") != 0;
}

static int bad(sink_error *err, const char *dir, const char *what)
{
    return sink_fail(err, SIPHON_E_INVALID, "manifest '%s/%s': %s", dir, FILE_MANIFEST, what);
}

static int check_shape(manifest *m, json_t *root, const char *dir, sink_error *err)
{
    char what[512];
    if (!json_is_object(root))
        return bad(err, dir, "expected a JSON object at the top level");
    json_t *files = json_object_get(root, "files");
    json_t *replace = json_object_get(root, "replace");
    json_t *state = json_object_get(root, "state");
    if (files != NULL && !json_is_object(files))
        return bad(err, dir, "\"files\": expected an object");
    if (replace != NULL && !json_is_object(replace))
        return bad(err, dir, "\"replace\": expected an object");
    const char *name;
    json_t *entry;
    json_object_foreach(files, name, entry) {
        json_t *bytes = json_object_get(entry, "committed_bytes");
        if (!plain_name(name)) {
            snprintf(what, sizeof what, "\"files\": '%s' is not a file name of the folder", name);
            return bad(err, dir, what);
        }
        if (!json_is_object(entry) || !json_is_integer(bytes) || json_integer_value(bytes) < 0) {
            snprintf(what, sizeof what,
                     "\"files\".\"%s\": expected an object with a committed_bytes >= 0", name);
            return bad(err, dir, what);
        }
    }
    json_object_foreach(replace, name, entry) {
        if (!plain_name(name) || !json_is_string(entry) || !plain_name(json_string_value(entry))) {
            snprintf(what, sizeof what,
                     "\"replace\".\"%s\": expected a file name of the folder, mapped to another",
                     name);
            return bad(err, dir, what);
        }
    }
    m->files = files ? json_incref(files) : json_object();
    m->replace = replace ? json_incref(replace) : json_object();
    m->state = state && !json_is_null(state) ? json_incref(state) : NULL;
    return SIPHON_OK;
}

int manifest_load(manifest *m, int dirfd, const char *dir, sink_error *err)
{
    memset(m, 0, sizeof *m);
    int fd = openat(dirfd, FILE_MANIFEST, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            return sink_fail(err, SIPHON_E_IO, "cannot read manifest '%s/%s': %s", dir,
                             FILE_MANIFEST, strerror(errno));
        m->files = json_object();
        m->replace = json_object();
        return SIPHON_OK;
    }
    sink_buf text = {0};
    for (;;) {
        char *at = sink_buf_reserve(&text, 65536);
        if (at == NULL)
            break;
        ssize_t n = read(fd, at, 65536);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        text.len += (size_t)n;
    }
    close(fd);
    json_error_t jerr;
    json_t *root = json_loadb(sink_buf_str(&text), text.len, 0, &jerr);
    sink_buf_free(&text);
    if (root == NULL)
        return sink_fail(err, SIPHON_E_INVALID, "manifest '%s/%s' line %d column %d: %s", dir,
                         FILE_MANIFEST, jerr.line, jerr.column, jerr.text);
    int rc = check_shape(m, root, dir, err);
    json_decref(root);
    return rc;
}

int manifest_save(const manifest *m, int dirfd, const char *dir, sink_error *err)
{
    char stamp[SINK_RFC3339_LEN];
    sink_rfc3339(sink_now_ms(), stamp);
    json_t *root = json_pack("{s:i, s:s, s:O, s:O, s:O}", "siphon_manifest", 1, "committed_at",
                             stamp, "files", m->files, "replace", m->replace, "state",
                             m->state ? m->state : json_null());
    char *text = root ? json_dumps(root, JSON_INDENT(1)) : NULL;
    json_decref(root);
    if (text == NULL)
        return sink_fail(err, SIPHON_E_NOMEM, "out of memory");
    int fd = openat(dirfd, FILE_MANIFEST_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        free(text);
        return sink_fail(err, SIPHON_E_IO, "cannot write '%s/%s': %s", dir, FILE_MANIFEST_TMP,
                         strerror(errno));
    }
    size_t len = strlen(text), off = 0;
    int failed = 0;
    while (off < len && !failed) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            failed = errno;
        else
            off += (size_t)w;
    }
    if (!failed && (write(fd, "\n", 1) != 1 || fsync(fd) != 0))
        failed = errno ? errno : EIO;
    close(fd);
    free(text);
    if (failed)
        return sink_fail(err, SIPHON_E_IO, "cannot write '%s/%s': %s", dir, FILE_MANIFEST_TMP,
                         strerror(failed));
    if (renameat(dirfd, FILE_MANIFEST_TMP, dirfd, FILE_MANIFEST) != 0)
        return sink_fail(err, SIPHON_E_IO, "cannot rename '%s/%s' to %s: %s", dir,
                         FILE_MANIFEST_TMP, FILE_MANIFEST, strerror(errno));
    /* The rename is durable only once the folder itself is synced. */
    if (fsync(dirfd) != 0)
        return sink_fail(err, SIPHON_E_IO, "cannot make folder '%s' durable (fsync): %s", dir,
                         strerror(errno));
    return SIPHON_OK;
}

uint64_t manifest_bytes(const manifest *m, const char *name, int *found)
{
    json_t *entry = json_object_get(m->files, name);
    *found = entry != NULL;
    return entry ? (uint64_t)json_integer_value(json_object_get(entry, "committed_bytes")) : 0;
}

int manifest_set(manifest *m, const char *name, const char *stream, uint64_t bytes)
{
    return json_object_set_new(m->files, name,
                               json_pack("{s:s, s:I}", "stream", stream, "committed_bytes",
                                         (json_int_t)bytes)) == 0
               ? SIPHON_OK
               : SIPHON_E_NOMEM;
}

void manifest_free(manifest *m)
{
    json_decref(m->files);
    json_decref(m->replace);
    json_decref(m->state);
    memset(m, 0, sizeof *m);
}
