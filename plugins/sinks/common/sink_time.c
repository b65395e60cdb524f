#include <stdio.h>
#include <string.h>
#include <time.h>

#include <siphon/siphon-json.h>

#include "sink_time.h"

void sink_rfc3339(int64_t ms, char *out)
{
    siphon_rfc3339_ms(ms, out);
}

int64_t sink_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

size_t sink_rfc3339_cached(sink_stamp_cache *cache, int64_t ms, char *out)
{
    /* records written together share their millisecond */
    if (cache->len == 0 || cache->ms != ms) {
        cache->len = siphon_rfc3339_ms(ms, cache->text);
        cache->ms = ms;
    }
    memcpy(out, cache->text, cache->len + 1);
    return cache->len;
}
