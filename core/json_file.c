#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json_file.h"

/* "config" -> "config file 'c.json'"; an in-memory origin is named as given. */
static void describe(char *out, size_t cap, const char *what, const char *path, int is_file)
{
    if (is_file)
        snprintf(out, cap, "%s file '%s'", what, path);
    else
        snprintf(out, cap, "%s %s", what, path);
}

static int only_whitespace(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
            return 0;
    return 1;
}

/*
 * jansson's "near" excerpt is the token where parsing stopped. In a file that
 * may hold secrets that token can be a password (quoted or not), so only
 * structural tokens are kept there; line and column still say where.
 */
static int harmless_token(const char *near)
{
    static const char *const ok[] = {"'end of file'", "end of file", "'{'", "'}'", "'['",
                                     "']'", "','", "':'", NULL};
    for (size_t i = 0; ok[i] != NULL; i++)
        if (strcmp(near, ok[i]) == 0)
            return 1;
    return 0;
}

/*
 * Rewrites jansson's "'}' expected near 'x'" into "expected '}' near 'x'", so
 * every message reads "where: what was expected".
 */
static void reword(const char *text, int hide_values, char *out, size_t cap)
{
    char what[256];
    const char *near = strstr(text, " near ");
    size_t head = near ? (size_t)(near - text) : strlen(text);
    if (head >= sizeof what)
        head = sizeof what - 1;
    memcpy(what, text, head);
    what[head] = '\0';

    static const char suffix[] = " expected";
    size_t wl = strlen(what), sl = sizeof suffix - 1;
    char phrase[300];
    if (wl > sl && strcmp(what + wl - sl, suffix) == 0) {
        what[wl - sl] = '\0';
        snprintf(phrase, sizeof phrase, "expected %s", what);
    } else {
        snprintf(phrase, sizeof phrase, "%s", what);
    }

    if (near == NULL) {
        snprintf(out, cap, "%s", phrase);
        return;
    }
    near += strlen(" near ");
    if (hide_values && !harmless_token(near))
        snprintf(out, cap, "%s", phrase);
    else
        snprintf(out, cap, "%s near %s", phrase, near);
}

static const char *json_type_phrase(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "an unknown value";
}

static json_t *parse_text(const char *text, size_t len, const char *label, int want_object,
                          int hide_values, sx_error *err)
{
    if (only_whitespace(text, len)) {
        sx_error_set(err, SX_EXIT_CONFIG, "%s: the file is empty (expected a JSON %s)", label,
                     want_object ? "object" : "value");
        return NULL;
    }
    json_error_t jerr;
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (v == NULL) {
        char msg[400];
        reword(jerr.text, hide_values, msg, sizeof msg);
        sx_error_set(err, SX_EXIT_CONFIG, "%s, line %d, column %d: %s", label, jerr.line,
                     jerr.column, msg);
        return NULL;
    }
    if (want_object && !json_is_object(v)) {
        sx_error_set(err, SX_EXIT_CONFIG,
                     "%s: expected a JSON object at the top level, found %s", label,
                     json_type_phrase(v));
        json_decref(v);
        return NULL;
    }
    return v;
}

/* Reads a whole file into a NUL-terminated buffer; NULL with errno set. */
static char *slurp(const char *path, size_t *len_out, int *is_dir)
{
    *is_dir = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        *is_dir = 1;
        errno = EISDIR;
        return NULL;
    }
    size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
    size_t len = 0;
    char *buf = malloc(cap);
    if (buf == NULL) {
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    for (;;) {
        if (len + 1 >= cap) {
            char *grown = realloc(buf, cap * 2);
            if (grown == NULL) {
                free(buf);
                close(fd);
                errno = ENOMEM;
                return NULL;
            }
            buf = grown;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            errno = e;
            return NULL;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    *len_out = len;
    return buf;
}

static json_t *load_file(const char *path, const char *what, int want_object, int hide_values,
                         sx_error *err)
{
    char label[PATH_MAX + 64];
    describe(label, sizeof label, what, path, 1);
    size_t len = 0;
    int is_dir = 0;
    char *text = slurp(path, &len, &is_dir);
    if (text == NULL) {
        if (is_dir)
            sx_error_set(err, SX_EXIT_CONFIG, "%s: is a directory, expected a JSON file", label);
        else
            sx_error_set(err, SX_EXIT_CONFIG, "%s: %s", label, strerror(errno));
        return NULL;
    }
    json_t *v = parse_text(text, len, label, want_object, hide_values, err);
    free(text);
    return v;
}

json_t *sx_json_load_file(const char *path, const char *what, int want_object, sx_error *err)
{
    return load_file(path, what, want_object, 0, err);
}

json_t *sx_json_load_secret_file(const char *path, const char *what, int want_object,
                                 sx_error *err)
{
    return load_file(path, what, want_object, 1, err);
}

json_t *sx_json_load_string(const char *text, size_t len, const char *what, const char *origin,
                            int want_object, sx_error *err)
{
    char label[PATH_MAX + 64];
    describe(label, sizeof label, what, origin, 0);
    return parse_text(text, len, label, want_object, 0, err);
}

/* --- atomic replacement --- */

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Splits path into its directory ("." when none) and base name. */
static int split_path(const char *path, char *dir, size_t dcap, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(dir, dcap, ".");
        *base = path;
    } else if (slash == path) {
        snprintf(dir, dcap, "/");
        *base = slash + 1;
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= dcap)
            return -1;
        memcpy(dir, path, n);
        dir[n] = '\0';
        *base = slash + 1;
    }
    return **base == '\0' ? -1 : 0;
}

/*
 * The temporary file is created beside the target so that rename() is atomic
 * (same filesystem), and with a name no other writer uses, so two runs sharing
 * a directory never write into each other's temporary file.
 */
static int create_temp(const char *dir, const char *base, char *tmp, size_t cap)
{
    static unsigned counter;
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
        int w = snprintf(tmp, cap, "%s/.%s.tmp-%ld-%u", dir, base, (long)getpid(), n);
        if (w < 0 || (size_t)w >= cap) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

int sx_write_file_atomic(const char *path, const char *data, size_t len, sx_error *err)
{
    char dir[PATH_MAX];
    const char *base = NULL;
    if (path == NULL || split_path(path, dir, sizeof dir, &base) != 0) {
        sx_error_set(err, SX_EXIT_FAILURE, "cannot write '%s': not a file path",
                     path ? path : "(null)");
        return -1;
    }
    char tmp[PATH_MAX];
    int fd = create_temp(dir, base, tmp, sizeof tmp);
    if (fd < 0) {
        sx_error_set(err, SX_EXIT_FAILURE, "cannot write '%s': creating a temporary file in '%s': %s",
                     path, dir, strerror(errno));
        return -1;
    }

    const char *step = NULL;
    struct stat old;
    /* Keep the permissions the user gave the file being replaced. */
    if (stat(path, &old) == 0 && S_ISREG(old.st_mode) && fchmod(fd, old.st_mode & 07777) != 0)
        step = "fchmod";
    if (step == NULL && write_all(fd, data, len) != 0)
        step = "write";
    if (step == NULL && fsync(fd) != 0)
        step = "fsync";
    int saved = errno;
    if (close(fd) != 0 && step == NULL) {
        step = "close";
        saved = errno;
    }
    if (step == NULL && rename(tmp, path) != 0) {
        step = "rename";
        saved = errno;
    }
    if (step != NULL) {
        unlink(tmp);
        sx_error_set(err, SX_EXIT_FAILURE, "cannot write '%s': %s: %s", path, step,
                     strerror(saved));
        return -1;
    }

    /* The rename is durable only once the directory entry is. Filesystems
     * that cannot sync a directory answer EINVAL; nothing more can be done
     * there. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        sx_error_set(err, SX_EXIT_FAILURE, "cannot sync directory '%s' after writing '%s': %s",
                     dir, path, strerror(errno));
        return -1;
    }
    if (fsync(dfd) != 0 && errno != EINVAL) {
        saved = errno;
        close(dfd);
        sx_error_set(err, SX_EXIT_FAILURE, "cannot sync directory '%s' after writing '%s': %s",
                     dir, path, strerror(saved));
        return -1;
    }
    close(dfd);
    return 0;
}
