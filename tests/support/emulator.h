/*
 * emulator.h: starting the Dinamize API emulator (tests/emulator) for a test
 * and talking to it over real HTTP. Every test that needs the API starts its
 * own emulator on a free port, so tests stay parallel-safe.
 */
#ifndef SXT_EMULATOR_H
#define SXT_EMULATOR_H

#include <jansson.h>
#include <stddef.h>

typedef struct sxt_emulator sxt_emulator;

/*
 * Starts the emulator with --port 0 and extra_args (NULL-terminated, may be
 * NULL), reads the port from its first stdout line and waits until it answers
 * /_emulator/health. Returns NULL when it does not come up within 30 s (its
 * stderr is then printed). When SXT_EMULATOR_WRAP is set in the environment,
 * its space-separated words go before the command (e.g. "valgrind -q
 * --error-exitcode=99"), so the whole suite can check the emulator itself.
 */
sxt_emulator *sxt_emulator_start(const char *const extra_args[]);

/* "http://127.0.0.1:PORT" (or https:// when started with TLS). */
const char *sxt_emulator_url(const sxt_emulator *e);

/* The port it listens on. */
int sxt_emulator_port(const sxt_emulator *e);

/* The process id (to send it signals). */
int sxt_emulator_pid(const sxt_emulator *e);

/* POSTs json_body (NULL: "{}") to path without a token; returns the parsed
 * answer, or NULL when the answer is not JSON or the request failed. */
json_t *sxt_emulator_call(sxt_emulator *e, const char *path, const char *json_body);

/* The same with an `auth-token` header. */
json_t *sxt_emulator_call_auth(sxt_emulator *e, const char *token, const char *path,
                               const char *json_body);

/* GETs path; the parsed answer or NULL. */
json_t *sxt_emulator_get(sxt_emulator *e, const char *path);

/* Logs in with the default credentials; the token (malloc'd) or NULL. */
char *sxt_emulator_token(sxt_emulator *e);

/* GET /_emulator/dump?stream=S as a JSON array of its lines. */
json_t *sxt_emulator_dump(sxt_emulator *e, const char *stream);

/* One raw HTTP exchange, for tests that look below the envelope. */
typedef struct sxt_http {
    int curl_code;     /* CURLE_OK (0) when a complete answer arrived */
    long status;       /* HTTP status, 0 when none */
    char *body;        /* what arrived (NUL-terminated, maybe partial) */
    size_t len;
    char *ctype;       /* Content-Type, or NULL */
} sxt_http;

/*
 * Sends method to path with body (NULL: none) and the given auth-token
 * (NULL: none), waiting at most timeout_ms (0: 30 s). For https URLs,
 * ca_file (NULL: default) is the CA bundle and verification stays on.
 */
sxt_http sxt_emulator_raw(sxt_emulator *e, const char *method, const char *path,
                          const char *token, const char *body, long timeout_ms,
                          const char *ca_file);
/* Frees the body and content type of h. */
void sxt_http_free(sxt_http *h);

/* Sends SIGTERM and waits for the emulator; frees e. */
void sxt_emulator_stop(sxt_emulator *e);

/* The same, returning the process's wait status. */
int sxt_emulator_stop_status(sxt_emulator *e);

#endif
