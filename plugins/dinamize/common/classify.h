/*
 * classify.h: what a Dinamize answer means, for the host's retry policy.
 *
 * One classifier serves every request (login, check, searches). The API
 * answers HTTP 200 with an envelope whose `code` carries the outcome:
 *
 *   HTTP status != 200, a body that is not a complete envelope   RETRY
 *   480001                                                       OK
 *   240006 (token invalid or expired)                            REAUTH
 *   240024 (rate limit), body.retry-after seconds                RATE_LIMITED
 *   240002, 240003, 240004, 240029 (login refused)               AUTH_REJECTED
 *   any other code                                               FATAL
 *
 * A search answer is also checked for shape (body.ITEMS an array of
 * objects), so the page loop only ever sees validated bodies.
 */
#ifndef DZ_CLASSIFY_H
#define DZ_CLASSIFY_H

#include <stdint.h>

#include <siphon/siphon.h>

#include "envelope.h"

/* The success code. */
#define DZ_CODE_SUCCESS "480001"

/* What a classifier needs to know about its request, and what it found. */
typedef struct dz_call {
    const char *path;      /* the endpoint, named in messages */
    const char *items_key; /* the items array of a search answer; NULL for other calls */
    dz_envelope env;       /* the envelope of the last answer classified */
    /* Optional, for searches: where the items of the last answer are, and
     * whether each may go to the host as text (checked against shape). */
    const struct dz_shape *shape;
    dz_item_spans *spans;
} dz_call;

/* The siphon_classify_fn of every Dinamize request; user is a dz_call. */
void dz_classify(void *user, const siphon_http_response *response, siphon_verdict *verdict);

/* A retry-after value ("17", "1.5", as text) in milliseconds, or -1 when it
 * is not a non-negative number of seconds. */
int64_t dz_retry_after_ms(const char *text);

/* The wait when the API gives no usable retry-after: its whole window. */
#define DZ_RETRY_AFTER_DEFAULT_MS 60000
/* Waits are at least this long (a "0" would only spin), at most a day. */
#define DZ_RETRY_AFTER_MIN_MS 1000
#define DZ_RETRY_AFTER_MAX_MS (86400LL * 1000)

#endif
