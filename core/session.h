/*
 * session.h: the auth session of one source, shared by all its streams.
 *
 * One login per run: the first stream that needs a token logs in while the
 * others wait for it (single flight). The token is renewed before the
 * server's age or idle limit, and on a REAUTH verdict the stream that saw it
 * invalidates exactly the token it used, so a token another stream has
 * already renewed is not thrown away. Rejected credentials are remembered:
 * every later call fails at once instead of hammering the login endpoint.
 * Tokens are registered as secrets (sx_mask_add) as soon as they are known.
 */
#ifndef SX_SESSION_H
#define SX_SESSION_H

#include <stddef.h>
#include <stdint.h>

typedef struct sx_session sx_session;

/* Performs the login; writes the token into token (NUL-terminated). Returns a
 * siphon_status (SIPHON_E_AUTH for rejected credentials). message receives
 * the reason on failure. */
typedef int (*sx_login_fn)(void *user, char *token, size_t cap, char *message, size_t message_cap);

/* Ages in seconds; 0 = no limit. */
sx_session *sx_session_new(uint32_t max_age_s, uint32_t max_idle_s);

/*
 * Copies a valid token into buf, logging in through login(user, ...) when
 * there is none or it is too old or idle. Returns SIPHON_OK, or the login's
 * failure status with message filled.
 */
int sx_session_get(sx_session *s, char *buf, size_t cap, sx_login_fn login, void *user,
                   char *message, size_t message_cap);

/* A request just used the token (resets the idle clock). */
void sx_session_touch(sx_session *s);

/* Forgets the current token if it equals token (NULL: unconditionally). */
void sx_session_invalidate(sx_session *s, const char *token);

/* How many logins this session performed. */
uint64_t sx_session_logins(sx_session *s);

void sx_session_free(sx_session *s);

#endif
