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

/* Ages in seconds; 0 = no limit. The token is renewed a little before each
 * limit (5% of it, at most 60 s), so a request never leaves with a token that
 * expires on the way. Returns NULL when out of memory. */
sx_session *sx_session_new(uint32_t max_age_s, uint32_t max_idle_s);

/*
 * Copies a valid token into buf, logging in through login(user, ...) when
 * there is none or it is too old or idle. Returns SIPHON_OK, or the login's
 * failure status with message filled. Threads that arrive while another logs
 * in wait for it and share its outcome, success or failure. The login runs
 * without the session's lock held; it must not call sx_session_get itself
 * (that returns SIPHON_E_INTERNAL instead of deadlocking). A login returning
 * SIPHON_E_AUTH is remembered: every later call fails at once with the same
 * message. A token too long for cap gives SIPHON_E_INVALID.
 */
int sx_session_get(sx_session *s, char *buf, size_t cap, sx_login_fn login, void *user,
                   char *message, size_t message_cap);

/* A request just used the token (resets the idle clock). */
void sx_session_touch(sx_session *s);

/* How many requests have used a token of this session (sx_session_touch
 * calls): tokens that serve requests show that refusals are expiries, not a
 * server refusing every session. */
uint64_t sx_session_uses(sx_session *s);

/* Forgets the current token if it equals token (NULL: unconditionally). */
void sx_session_invalidate(sx_session *s, const char *token);

/* The API rejected the credentials outside the login (an AUTH_REJECTED
 * verdict): forget the token and fail every later get with message, as if
 * the login had returned SIPHON_E_AUTH. The first rejection's message stays. */
void sx_session_reject(sx_session *s, const char *message);

/* How many logins this session started (successful or not). */
uint64_t sx_session_logins(sx_session *s);

/* Frees the session and wipes the token from memory. NULL is a no-op. */
void sx_session_free(sx_session *s);

#endif
