#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <siphon/siphon.h>

#include "mask.h"
#include "session.h"

/* Room for a token while the login writes it (Dinamize's are 63-64 bytes). */
#define TOKEN_MAX 4096
#define MESSAGE_MAX 512

/* Renew this long before the server's limit: min(60 s, 5% of the limit), so a
 * request sent at the edge does not arrive with a token that just expired. */
#define RENEW_MARGIN_CAP_MS 60000

struct sx_session {
    pthread_mutex_t lock;
    pthread_cond_t login_done;
    int64_t max_age_ms;
    int64_t max_idle_ms;

    char *token;              /* NULL: none */
    int64_t obtained_ms;
    int64_t used_ms;
    uint64_t uses;            /* sx_session_touch calls */

    int logging_in;
    pthread_t login_thread;
    /* Every finished login is a "flight"; threads that waited for it take its
     * outcome rather than starting one of their own. */
    uint64_t flights;
    int flight_status;
    char flight_message[MESSAGE_MAX];

    int rejected;
    char rejected_message[MESSAGE_MAX];

    uint64_t logins;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void copy_text(char *dst, size_t cap, const char *src)
{
    if (dst != NULL && cap > 0)
        snprintf(dst, cap, "%s", src);
}

static void forget_token(sx_session *s)
{
    if (s->token != NULL) {
        explicit_bzero(s->token, strlen(s->token));
        free(s->token);
        s->token = NULL;
    }
}

sx_session *sx_session_new(uint32_t max_age_s, uint32_t max_idle_s)
{
    sx_session *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->max_age_ms = (int64_t)max_age_s * 1000;
    s->max_idle_ms = (int64_t)max_idle_s * 1000;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->login_done, NULL);
    return s;
}

static int64_t renew_margin(int64_t limit_ms)
{
    int64_t m = limit_ms / 20;
    return m < RENEW_MARGIN_CAP_MS ? m : RENEW_MARGIN_CAP_MS;
}

/* Whether the current token can still be used. Caller holds the lock. */
static int token_fresh(const sx_session *s, int64_t now)
{
    if (s->token == NULL)
        return 0;
    if (s->max_age_ms > 0 && now - s->obtained_ms >= s->max_age_ms - renew_margin(s->max_age_ms))
        return 0;
    if (s->max_idle_ms > 0 && now - s->used_ms >= s->max_idle_ms - renew_margin(s->max_idle_ms))
        return 0;
    return 1;
}

/* Copies the current token out. Caller holds the lock and checked it. */
static int hand_out(const sx_session *s, char *buf, size_t cap, char *message, size_t message_cap)
{
    size_t n = strlen(s->token);
    if (buf == NULL || n + 1 > cap) {
        copy_text(message, message_cap, "the session token does not fit the caller's buffer");
        return SIPHON_E_INVALID;
    }
    memcpy(buf, s->token, n + 1);
    return SIPHON_OK;
}

int sx_session_get(sx_session *s, char *buf, size_t cap, sx_login_fn login, void *user,
                   char *message, size_t message_cap)
{
    pthread_mutex_lock(&s->lock);
    for (;;) {
        if (s->rejected) {
            copy_text(message, message_cap, s->rejected_message);
            pthread_mutex_unlock(&s->lock);
            return SIPHON_E_AUTH;
        }
        if (token_fresh(s, now_ms())) {
            int rc = hand_out(s, buf, cap, message, message_cap);
            pthread_mutex_unlock(&s->lock);
            return rc;
        }
        if (!s->logging_in)
            break;
        if (pthread_equal(s->login_thread, pthread_self())) {
            /* Waiting here would wait for ourselves forever. */
            pthread_mutex_unlock(&s->lock);
            copy_text(message, message_cap,
                      "the login asked for the session token it is still obtaining");
            return SIPHON_E_INTERNAL;
        }
        uint64_t flight = s->flights;
        while (s->logging_in && s->flights == flight)
            pthread_cond_wait(&s->login_done, &s->lock);
        if (s->flights != flight && s->flight_status != SIPHON_OK) {
            /* The login we waited for failed: share its answer instead of
             * hammering the endpoint with one more login per waiting stream. */
            int rc = s->flight_status;
            copy_text(message, message_cap, s->flight_message);
            pthread_mutex_unlock(&s->lock);
            return rc;
        }
    }

    if (login == NULL) {
        pthread_mutex_unlock(&s->lock);
        copy_text(message, message_cap, "no session: this source has no login");
        return SIPHON_E_INTERNAL;
    }
    /* A stale token must not be handed out while we log in. */
    forget_token(s);
    s->logging_in = 1;
    s->login_thread = pthread_self();
    s->logins++;
    pthread_mutex_unlock(&s->lock);

    /* The lock is not held during the login: it sends its own request (which
     * waits for the budget) while other threads wait on login_done. */
    char *fresh = calloc(1, TOKEN_MAX);
    char why[MESSAGE_MAX] = "";
    int rc = fresh == NULL ? SIPHON_E_NOMEM : login(user, fresh, TOKEN_MAX, why, sizeof why);
    if (rc == SIPHON_E_NOMEM && why[0] == '\0')
        copy_text(why, sizeof why, "out of memory while logging in");
    if (rc == SIPHON_OK && (fresh[0] == '\0' || memchr(fresh, '\0', TOKEN_MAX) == NULL)) {
        rc = SIPHON_E_API;
        copy_text(why, sizeof why, "the login returned no token");
    }
    if (rc != SIPHON_OK && why[0] == '\0')
        copy_text(why, sizeof why, "the login failed without saying why");
    if (rc == SIPHON_OK)
        sx_mask_add(fresh); /* before anyone can print it */

    pthread_mutex_lock(&s->lock);
    if (rc == SIPHON_OK) {
        s->token = strdup(fresh);
        if (s->token == NULL) {
            rc = SIPHON_E_NOMEM;
            copy_text(why, sizeof why, "out of memory while storing the session token");
        }
        s->obtained_ms = s->used_ms = now_ms();
    } else if (rc == SIPHON_E_AUTH) {
        s->rejected = 1;
        copy_text(s->rejected_message, sizeof s->rejected_message, why);
    }
    s->logging_in = 0;
    s->flights++;
    s->flight_status = rc;
    copy_text(s->flight_message, sizeof s->flight_message, why);
    pthread_cond_broadcast(&s->login_done);
    if (rc == SIPHON_OK)
        rc = hand_out(s, buf, cap, message, message_cap);
    else
        copy_text(message, message_cap, why);
    pthread_mutex_unlock(&s->lock);

    if (fresh != NULL) {
        explicit_bzero(fresh, TOKEN_MAX);
        free(fresh);
    }
    return rc;
}

void sx_session_touch(sx_session *s)
{
    pthread_mutex_lock(&s->lock);
    s->used_ms = now_ms();
    s->uses++;
    pthread_mutex_unlock(&s->lock);
}

uint64_t sx_session_uses(sx_session *s)
{
    pthread_mutex_lock(&s->lock);
    uint64_t n = s->uses;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void sx_session_invalidate(sx_session *s, const char *token)
{
    pthread_mutex_lock(&s->lock);
    if (s->token != NULL && (token == NULL || strcmp(s->token, token) == 0))
        forget_token(s);
    pthread_mutex_unlock(&s->lock);
}

void sx_session_reject(sx_session *s, const char *message)
{
    pthread_mutex_lock(&s->lock);
    forget_token(s);
    if (!s->rejected) {
        s->rejected = 1;
        copy_text(s->rejected_message, sizeof s->rejected_message,
                  message != NULL && *message ? message : "credentials rejected");
    }
    pthread_mutex_unlock(&s->lock);
}

uint64_t sx_session_logins(sx_session *s)
{
    pthread_mutex_lock(&s->lock);
    uint64_t n = s->logins;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void sx_session_free(sx_session *s)
{
    if (s == NULL)
        return;
    forget_token(s);
    pthread_cond_destroy(&s->login_done);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
