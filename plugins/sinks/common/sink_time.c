#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sink_time.h"

void sink_rfc3339(int64_t ms, char *out)
{
    int64_t secs = ms / 1000;
    int64_t frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        snprintf(out, SINK_RFC3339_LEN, "1970-01-01T00:00:00.000Z");
        return;
    }
    snprintf(out, SINK_RFC3339_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
}

int64_t sink_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

size_t sink_rfc3339_cached(sink_stamp_cache *cache, int64_t ms, char *out)
{
    int64_t second = ms / 1000, frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        second -= 1;
    }
    if (cache->len == 0 || cache->second != second) {
        char full[SINK_RFC3339_LEN];
        sink_rfc3339(second * 1000, full);
        /* Everything up to and including the '.' before the milliseconds. */
        cache->len = (size_t)(strrchr(full, '.') - full) + 1;
        memcpy(cache->prefix, full, cache->len);
        cache->second = second;
    }
    memcpy(out, cache->prefix, cache->len);
    out[cache->len] = (char)('0' + frac / 100);
    out[cache->len + 1] = (char)('0' + frac / 10 % 10);
    out[cache->len + 2] = (char)('0' + frac % 10);
    out[cache->len + 3] = 'Z';
    out[cache->len + 4] = '\0';
    return cache->len + 4;
}
