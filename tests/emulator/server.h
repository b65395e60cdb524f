/*
 * server.h: the state one emulator process shares between its connection
 * threads, and the gatekeeping every API request passes (tokens, the rate
 * limit per client code, statistics).
 *
 * Locking: `mu` guards everything here except the data store, which has its
 * own read-write lock (store.h). Never hold `mu` while sleeping or while
 * generating a page.
 */
#ifndef EMU_SERVER_H
#define EMU_SERVER_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "faults.h"
#include "options.h"
#include "rng.h"
#include "store.h"

typedef struct emu_token {
    char text[72];
    char client[64];
    double created, last;   /* monotonic seconds */
} emu_token;

/* A queue of monotonic times (a ring). */
typedef struct emu_times {
    double *t;
    size_t head, n, cap;
} emu_times;

typedef struct emu_client {
    char code[64];
    emu_times accepted;     /* requests counted by the rate limit */
    emu_times arrived;      /* every request, for peak_window */
    double retry_deadline;  /* the end of the latest retry-after given */
} emu_client;

typedef struct emu_stats {
    json_t *requests;       /* path -> count */
    uint64_t total, rate_limited, violations, peak_window, auth_ok, auth_failed;
    uint64_t faults[EMU_F_NKINDS];
} emu_stats;

typedef struct emu_server {
    const emu_options *o;
    emu_store store;
    pthread_mutex_t mu;
    emu_token *tokens;
    size_t ntokens, captokens;
    emu_client *clients;
    size_t nclients, capclients;
    emu_stats stats;
    emu_faults faults;
    emu_rng fault_rng;
    emu_rng latency_rng;
    uint64_t auth_serial;
    uint64_t request_serial;
    _Atomic int stopping;   /* set once shutdown begins */
} emu_server;

/* Sets up the shared state for options o (which must outlive it), parsing
 * o's fault specs; 0, or -1 with err set. emu_server_free is safe after a
 * failed init. */
int emu_server_init(emu_server *S, const emu_options *o, char *err, size_t errlen);
/* Frees everything the server holds. */
void emu_server_free(emu_server *S);

/* Monotonic seconds. */
double emu_now(void);

struct emu_server;
/* Sleeps ms milliseconds, or less when the server is stopping (so a slow
 * answer never holds up shutdown). */
void emu_sleep_ms(struct emu_server *S, uint64_t ms);

/* ---- under S->mu ---- */

/* Issues a token for client; writes it to out (at least 72 bytes). */
void emu_token_issue(emu_server *S, const char *client, char *out);

/* The client code of a token, even an expired one (NULL when unknown). */
const char *emu_token_client(emu_server *S, const char *token);

/* Checks a token and refreshes its idle timer; 0 when valid. An expired
 * token is forgotten. */
int emu_token_use(emu_server *S, const char *token);

/* Forgets a token. */
void emu_token_revoke(emu_server *S, const char *token);

/*
 * Counts one API request of client (peak window, violations) and applies the
 * rate limit. Returns 0 when accepted, else the whole seconds (>= 1) to put
 * in retry-after. Rejected requests do not count in the window.
 */
uint64_t emu_rate_admit(emu_server *S, const char *client, double now);

/* Records that client was told to retry after secs (a violation is a request
 * that arrives before that). */
void emu_rate_told(emu_server *S, const char *client, double now, uint64_t secs);

/* Counts a request to path in the stats. */
void emu_stats_count(emu_server *S, const char *path);

/* The stats as JSON (new reference). */
json_t *emu_stats_json(emu_server *S);

/* Zeroes the stats and the peak-window history. */
void emu_stats_reset(emu_server *S);

#endif
