#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_support.h"
#include "mask.h"
#include "proc.h"

void sxt_fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz invariant broken: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

void sxt_fuzz_failed_at(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz invariant broken at %s:%d (%s): ", file, line, cond);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* --- the scratch folder --- */

static char *scratch;

static void remove_scratch(void)
{
    if (scratch != NULL) {
        sxt_rmtree(scratch);
        free(scratch);
        scratch = NULL;
    }
}

const char *sxt_fuzz_dir(void)
{
    if (scratch == NULL) {
        scratch = sxt_tmpdir("fuzz");
        if (scratch == NULL) {
            perror("fuzz: creating a scratch folder");
            abort();
        }
        atexit(remove_scratch);
    }
    return scratch;
}

const char *sxt_fuzz_path(const char *name)
{
    /* A handful of names per harness: a small table of buffers. */
    static struct {
        const char *name;
        char path[512];
    } paths[16];
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        if (paths[i].name == name)
            return paths[i].path;
        if (paths[i].name == NULL) {
            snprintf(paths[i].path, sizeof paths[i].path, "%s/%s", sxt_fuzz_dir(), name);
            paths[i].name = name;
            return paths[i].path;
        }
    }
    fprintf(stderr, "fuzz: too many scratch names\n");
    abort();
}

void sxt_fuzz_write(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const char *p = data;
    while (fd >= 0 && len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0)
            break;
        p += n;
        len -= (size_t)n;
    }
    if (fd < 0 || len != 0 || close(fd) != 0) {
        perror(path);
        abort();
    }
}

/* --- input shapes --- */

size_t sxt_fuzz_directives(const uint8_t **data, size_t *size,
                           void (*fn)(void *user, const char *line), void *user)
{
    size_t count = 0;
    while (*size > 0 && (*data)[0] == '#') {
        const uint8_t *nl = memchr(*data, '\n', *size);
        size_t len = nl ? (size_t)(nl - *data) : *size;
        char *line = sxt_fuzz_text(*data + 1, len - 1);
        fn(user, line);
        free(line);
        count++;
        *data += nl ? len + 1 : len;
        *size -= nl ? len + 1 : len;
    }
    return count;
}

char *sxt_fuzz_text(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        abort();
    if (size > 0)
        memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

/* --- secrets --- */

char *sxt_fuzz_other_secret(const char *secret, size_t n, int digits_only)
{
    char *other = sxt_fuzz_text((const uint8_t *)secret, n);
    for (size_t i = 0; i < n; i++) {
        char c = other[i];
        if (c >= '1' && c <= '9')
            other[i] = c == '9' ? '1' : (char)(c + 1);
        else if (!digits_only && c >= 'a' && c <= 'z')
            other[i] = c == 'z' ? 'a' : (char)(c + 1);
        else if (!digits_only && c >= 'A' && c <= 'Z')
            other[i] = c == 'Z' ? 'A' : (char)(c + 1);
    }
    return other;
}

int sxt_fuzz_occurs_apart(const char *text, const char *other, const char *needle)
{
    size_t n = strlen(needle), tlen = strlen(text), olen = other ? strlen(other) : 0;
    for (const char *hit = strstr(text, needle); hit != NULL; hit = strstr(hit + 1, needle)) {
        if (other == NULL)
            return 1;
        size_t at = (size_t)(hit - text), from_end = tlen - at;
        int same_from_start = at + n <= olen && memcmp(other + at, needle, n) == 0;
        int same_from_end = from_end <= olen && memcmp(other + olen - from_end, needle, n) == 0;
        if (!same_from_start && !same_from_end)
            return 1;
    }
    return 0;
}

static void check_one_secret(const char *what, const char *text, const char *other,
                             const char *secret)
{
    if (strlen(secret) < 3 || strchr(secret, '*') != NULL)
        return;
    if (other != NULL) {
        char *changed = sxt_fuzz_other_secret(secret, strlen(secret), 0);
        int unchanged = strcmp(changed, secret) == 0;
        free(changed);
        if (unchanged)
            return;
    }
    if (sxt_fuzz_occurs_apart(text, other, secret))
        sxt_fuzz_fail("%s shows the secret \"%s\": %s", what, secret, text);
    json_t *s = json_string(secret);
    char *escaped = json_dumps(s, JSON_ENCODE_ANY);
    json_decref(s);
    if (escaped == NULL)
        return;
    size_t n = strlen(escaped);
    escaped[n - 1] = '\0'; /* drop the closing quote */
    if (strcmp(escaped + 1, secret) != 0 && sxt_fuzz_occurs_apart(text, other, escaped + 1))
        sxt_fuzz_fail("%s shows the secret \"%s\" as JSON: %s", what, secret, text);
    free(escaped);
}

void sxt_fuzz_no_secret_in(const char *what, const char *text, const json_t *secrets)
{
    sxt_fuzz_no_secret_shown(what, text, NULL, secrets);
}

void sxt_fuzz_no_secret_shown(const char *what, const char *text, const char *other,
                              const json_t *secrets)
{
    size_t i;
    const json_t *v;
    json_array_foreach(secrets, i, v) {
        if (json_is_string(v))
            check_one_secret(what, text, other, json_string_value(v));
    }
}

void sxt_fuzz_end_input(void)
{
    sx_mask_reset();
}

/* --- structured input --- */

uint8_t sxt_bytes_u8(sxt_bytes *b)
{
    if (b->n == 0)
        return 0;
    b->n--;
    return *b->p++;
}

uint16_t sxt_bytes_u16(sxt_bytes *b)
{
    uint16_t v = sxt_bytes_u8(b);
    return (uint16_t)(v | (uint16_t)sxt_bytes_u8(b) << 8);
}

uint32_t sxt_bytes_u32(sxt_bytes *b)
{
    uint32_t v = sxt_bytes_u16(b);
    return v | (uint32_t)sxt_bytes_u16(b) << 16;
}

uint64_t sxt_bytes_u64(sxt_bytes *b)
{
    uint64_t v = sxt_bytes_u32(b);
    return v | (uint64_t)sxt_bytes_u32(b) << 32;
}

void *sxt_arena_alloc(sxt_arena *a, size_t size)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        void **grown = realloc(a->blocks, cap * sizeof *grown);
        if (grown == NULL)
            abort();
        a->blocks = grown;
        a->cap = cap;
    }
    void *p = calloc(1, size ? size : 1);
    if (p == NULL)
        abort();
    a->blocks[a->n++] = p;
    return p;
}

char *sxt_arena_strndup(sxt_arena *a, const char *text, size_t len)
{
    char *s = sxt_arena_alloc(a, len + 1);
    if (len > 0)
        memcpy(s, text, len);
    return s;
}

void sxt_arena_free(sxt_arena *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->blocks[i]);
    free(a->blocks);
    memset(a, 0, sizeof *a);
}

char *sxt_bytes_string(sxt_bytes *b, sxt_arena *a, size_t max)
{
    size_t len = sxt_bytes_u8(b);
    if (len > max)
        len = max;
    if (len > b->n)
        len = b->n;
    char *s = sxt_arena_strndup(a, (const char *)b->p, len);
    b->p += len;
    b->n -= len;
    return s;
}
