/*
 * The baseline for the host benchmark: the same records the example stream
 * builds, serialised into the same Singer RECORD lines and written to stdout,
 * with no host at all — one loop, one buffer. What siphon adds on top of this
 * (plugin boundary, queue, writer, state, sink ABI) is the host's overhead.
 *
 *   host-baseline RECORDS PAYLOAD_BYTES > /dev/null
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

static char out[1 << 16];
static size_t out_len;

static void flush_out(void)
{
    if (out_len > 0 && write(STDOUT_FILENO, out, out_len) < 0)
        exit(1);
    out_len = 0;
}

static int add(const char *data, size_t n, void *user)
{
    (void)user;
    if (out_len + n > sizeof out)
        flush_out();
    if (n > sizeof out) {
        if (write(STDOUT_FILENO, data, n) < 0)
            exit(1);
        return 0;
    }
    memcpy(out + out_len, data, n);
    out_len += n;
    return 0;
}

int main(int argc, char **argv)
{
    long long count = argc > 1 ? atoll(argv[1]) : 1000000;
    long size = argc > 2 ? atol(argv[2]) : 100;
    char *payload = malloc((size_t)size + 1);
    for (long k = 0; k < size; k++)
        payload[k] = (char)('a' + k % 26);
    payload[size] = '\0';
    static const char prefix[] = "{\"type\":\"RECORD\",\"stream\":\"synthetic\",\"record\":";
    for (long long i = 0; i < count; i++) {
        char stamp[64], name[48], tail[96];
        time_t t = (time_t)(1704067200LL + i);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
        snprintf(name, sizeof name, "record %lld", i);
        json_t *rec = json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)i, "updated_at", stamp,
                                "name", name, "payload", payload);
        add(prefix, sizeof prefix - 1, NULL);
        json_dump_callback(rec, add, NULL, JSON_COMPACT);
        int n = snprintf(tail, sizeof tail, ",\"time_extracted\":\"%s\"}\n", stamp);
        add(tail, (size_t)n, NULL);
        json_decref(rec);
    }
    flush_out();
    free(payload);
    return 0;
}
