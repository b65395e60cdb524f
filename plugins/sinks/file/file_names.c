#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file_names.h"
#include "sink_buf.h"

/* Room left for ".jsonl.gz.tmp-<19 digits>" under NAME_MAX (255). */
#define MAX_ENCODED 200

static int keep_byte(unsigned char c, int first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
        c == '-')
        return 1;
    return c == '.' && !first;
}

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return h;
}

char *file_stream_name(const char *stream, const char *ext, int gzip)
{
    if (stream == NULL || *stream == '\0')
        return NULL;
    sink_buf b = {0};
    for (const unsigned char *p = (const unsigned char *)stream; *p; p++) {
        if (keep_byte(*p, p == (const unsigned char *)stream))
            sink_buf_putc(&b, (char)*p);
        else
            sink_buf_printf(&b, "%%%02X", *p);
    }
    if (b.len > MAX_ENCODED) {
        size_t keep = MAX_ENCODED - 9;
        /* Do not cut an %XX escape in half. */
        if (keep >= 1 && b.data[keep - 1] == '%')
            keep -= 1;
        else if (keep >= 2 && b.data[keep - 2] == '%')
            keep -= 2;
        b.len = keep;
        sink_buf_printf(&b, "_%08" PRIx32, name_hash(stream));
    }
    sink_buf_printf(&b, ".%s%s", ext, gzip ? ".gz" : "");
    if (b.failed) {
        sink_buf_free(&b);
        return NULL;
    }
    return b.data;
}

char *file_tmp_name(const char *final_name, int64_t version)
{
    sink_buf b = {0};
    sink_buf_printf(&b, "%s.tmp-%" PRId64, final_name, version < 0 ? -version : version);
    if (b.failed) {
        sink_buf_free(&b);
        return NULL;
    }
    return b.data;
}

int file_is_tmp_name(const char *name)
{
    const char *mark = strrchr(name, '.');
    if (mark == NULL || strncmp(mark, ".tmp-", 5) != 0)
        return 0;
    const char *digits = mark + 5;
    return *digits != '\0' && strspn(digits, "0123456789") == strlen(digits);
}
