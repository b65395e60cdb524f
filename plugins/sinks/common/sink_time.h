/*
 * sink_time.h: the timestamps sinks write (_sdc_extracted_at,
 * _siphon_replaced_at, the state's updated_at), always RFC 3339 in UTC with
 * milliseconds ("2024-05-01T10:00:00.123Z"), so that they sort as text.
 */
#ifndef SINK_TIME_H
#define SINK_TIME_H

#include <stdint.h>

#define SINK_RFC3339_LEN 64

/* Formats ms since the epoch into out (at least SINK_RFC3339_LEN bytes). */
void sink_rfc3339(int64_t ms, char *out);

/* The last time stamp formatted, so that records emitted in the same
 * millisecond cost a copy. A zeroed cache is an empty one. */
typedef struct sink_stamp_cache {
    int64_t ms;            /* the cached instant (valid when len > 0) */
    char text[SINK_RFC3339_LEN]; /* its text */
    size_t len;
} sink_stamp_cache;

/* sink_rfc3339 through a cache; returns the length written. */
size_t sink_rfc3339_cached(sink_stamp_cache *cache, int64_t ms, char *out);

/* The wall clock in ms since the epoch. */
int64_t sink_now_ms(void);

#endif
