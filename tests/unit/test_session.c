#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include <siphon/siphon.h>

#include "mask.h"
#include "session.h"
#include "deadline.h"

SXT_DEADLINE(30)

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A login that hands out numbered tokens, slowly if asked, or fails. */
typedef struct fake_login {
    atomic_int calls;
    int delay_ms;
    int status;             /* what to return; SIPHON_OK hands out a token */
    const char *why;        /* message on failure */
    const char *prefix;     /* tokens are "<prefix><n>" */
    sx_session *reenter;    /* when set, the login calls sx_session_get on it */
    int reenter_rc;
} fake_login;

static int login(void *user, char *token, size_t cap, char *message, size_t message_cap)
{
    fake_login *f = user;
    int n = atomic_fetch_add(&f->calls, 1) + 1;
    if (f->delay_ms > 0)
        sleep_ms(f->delay_ms);
    if (f->reenter != NULL) {
        char inner[128], msg[256];
        f->reenter_rc = sx_session_get(f->reenter, inner, sizeof inner, login, f, msg, sizeof msg);
    }
    if (f->status != SIPHON_OK) {
        snprintf(message, message_cap, "%s", f->why);
        return f->status;
    }
    snprintf(token, cap, "%s%d", f->prefix ? f->prefix : "tok+/=", n);
    return SIPHON_OK;
}

static int get(sx_session *s, fake_login *f, char *buf, size_t cap)
{
    char msg[256];
    return sx_session_get(s, buf, cap, login, f, msg, sizeof msg);
}

Test(session, first_get_logs_in_and_later_gets_reuse_the_token)
{
    fake_login f = {.status = SIPHON_OK, .prefix = "sess-reuse-"};
    sx_session *s = sx_session_new(0, 0);
    char a[64], b[64];
    cr_assert_eq(get(s, &f, a, sizeof a), SIPHON_OK);
    cr_assert_eq(get(s, &f, b, sizeof b), SIPHON_OK);
    cr_assert_str_eq(a, "sess-reuse-1");
    cr_assert_str_eq(b, a);
    cr_assert_eq(atomic_load(&f.calls), 1);
    cr_assert_eq(sx_session_logins(s), 1);
    sx_session_free(s);
}

typedef struct getter {
    sx_session *s;
    fake_login *f;
    int rc;
    char token[64];
    char message[256];
} getter;

static void *get_in_thread(void *p)
{
    getter *g = p;
    g->rc = sx_session_get(g->s, g->token, sizeof g->token, login, g->f, g->message,
                           sizeof g->message);
    return NULL;
}

Test(session, concurrent_gets_share_one_login, .init = sxt_deadline_30s)
{
    enum { N = 8 };
    fake_login f = {.status = SIPHON_OK, .delay_ms = 300, .prefix = "sess-flight-"};
    sx_session *s = sx_session_new(0, 0);
    getter g[N];
    pthread_t threads[N];
    for (int i = 0; i < N; i++) {
        g[i] = (getter){.s = s, .f = &f};
        pthread_create(&threads[i], NULL, get_in_thread, &g[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(threads[i], NULL);
        cr_assert_eq(g[i].rc, SIPHON_OK);
        cr_assert_str_eq(g[i].token, "sess-flight-1");
    }
    cr_assert_eq(atomic_load(&f.calls), 1);
    sx_session_free(s);
}

Test(session, waiters_share_a_failed_login_and_the_next_get_tries_again, .init = sxt_deadline_30s)
{
    enum { N = 4 };
    fake_login f = {.status = SIPHON_E_TRANSPORT, .delay_ms = 300,
                    .why = "POST /auth: gave up after 6 attempts: HTTP 503"};
    sx_session *s = sx_session_new(0, 0);
    getter g[N];
    pthread_t threads[N];
    for (int i = 0; i < N; i++) {
        g[i] = (getter){.s = s, .f = &f};
        pthread_create(&threads[i], NULL, get_in_thread, &g[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(threads[i], NULL);
        cr_assert_eq(g[i].rc, SIPHON_E_TRANSPORT);
        cr_assert_str_eq(g[i].message, f.why);
    }
    cr_assert_eq(atomic_load(&f.calls), 1, "waiters must not start logins of their own");

    /* A transport failure is not a verdict on the credentials. */
    f.status = SIPHON_OK;
    f.delay_ms = 0;
    char tok[64];
    cr_assert_eq(get(s, &f, tok, sizeof tok), SIPHON_OK);
    cr_assert_eq(atomic_load(&f.calls), 2);
    sx_session_free(s);
}

Test(session, rejected_credentials_fail_every_later_get_at_once)
{
    fake_login f = {.status = SIPHON_E_AUTH, .why = "credentials rejected: 240004 bad user or password"};
    sx_session *s = sx_session_new(0, 0);
    char tok[64], m1[256], m2[256];
    cr_assert_eq(sx_session_get(s, tok, sizeof tok, login, &f, m1, sizeof m1), SIPHON_E_AUTH);
    f.status = SIPHON_OK; /* even if the server would now say yes */
    cr_assert_eq(sx_session_get(s, tok, sizeof tok, login, &f, m2, sizeof m2), SIPHON_E_AUTH);
    cr_assert_str_eq(m1, f.why);
    cr_assert_str_eq(m2, m1);
    cr_assert_eq(atomic_load(&f.calls), 1);
    sx_session_free(s);
}

Test(session, reject_outside_the_login_is_remembered_too)
{
    fake_login f = {.status = SIPHON_OK, .prefix = "sess-reject-"};
    sx_session *s = sx_session_new(0, 0);
    char tok[64], msg[256];
    cr_assert_eq(get(s, &f, tok, sizeof tok), SIPHON_OK);
    sx_session_reject(s, "credentials rejected: account blocked");
    cr_assert_eq(sx_session_get(s, tok, sizeof tok, login, &f, msg, sizeof msg), SIPHON_E_AUTH);
    cr_assert_str_eq(msg, "credentials rejected: account blocked");
    cr_assert_eq(atomic_load(&f.calls), 1);
    sx_session_free(s);
}

Test(session, invalidate_forgets_only_the_token_it_names)
{
    fake_login f = {.status = SIPHON_OK, .prefix = "sess-inval-"};
    sx_session *s = sx_session_new(0, 0);
    char t1[64], t2[64], t3[64];
    cr_assert_eq(get(s, &f, t1, sizeof t1), SIPHON_OK);

    sx_session_invalidate(s, "some-other-token");
    cr_assert_eq(get(s, &f, t2, sizeof t2), SIPHON_OK);
    cr_assert_str_eq(t2, t1, "invalidating a token that is not current must keep the current one");

    sx_session_invalidate(s, t1);
    cr_assert_eq(get(s, &f, t2, sizeof t2), SIPHON_OK);
    cr_assert_str_eq(t2, "sess-inval-2");

    /* A second stream that also saw t1 fail must not throw away t2. */
    sx_session_invalidate(s, t1);
    cr_assert_eq(get(s, &f, t3, sizeof t3), SIPHON_OK);
    cr_assert_str_eq(t3, t2);

    sx_session_invalidate(s, NULL);
    cr_assert_eq(get(s, &f, t3, sizeof t3), SIPHON_OK);
    cr_assert_str_eq(t3, "sess-inval-3");
    cr_assert_eq(sx_session_logins(s), 3);
    sx_session_free(s);
}

Test(session, token_older_than_max_age_is_renewed, .init = sxt_deadline_30s)
{
    fake_login f = {.status = SIPHON_OK, .prefix = "sess-age-"};
    sx_session *s = sx_session_new(1, 0);
    char tok[64];
    cr_assert_eq(get(s, &f, tok, sizeof tok), SIPHON_OK);
    sleep_ms(1100);
    cr_assert_eq(get(s, &f, tok, sizeof tok), SIPHON_OK);
    cr_assert_str_eq(tok, "sess-age-2");
    cr_assert_eq(atomic_load(&f.calls), 2);
    sx_session_free(s);
}

Test(session, touch_keeps_an_idle_limit_from_expiring_the_token, .init = sxt_deadline_30s)
{
    fake_login f = {.status = SIPHON_OK, .prefix = "sess-idle-"};
    sx_session *s = sx_session_new(0, 2);
    char tok[64];
    cr_assert_eq(get(s, &f, tok, sizeof tok), SIPHON_OK);
    sleep_ms(1000);
    sx_session_touch(s);
    sleep_ms(1000);
    cr_assert_eq(get(s, &f, tok, sizeof tok), SIPHON_OK);
    cr_assert_str_eq(tok, "sess-idle-1", "used a second ago: still fresh");
    sleep_ms(2100);
    cr_assert_eq(get(s, &f, tok, sizeof tok), SIPHON_OK);
    cr_assert_str_eq(tok, "sess-idle-2", "idle for more than the limit: renewed");
    sx_session_free(s);
}

Test(session, tokens_are_registered_as_secrets)
{
    fake_login f = {.status = SIPHON_OK, .prefix = "sess-secret-7f3a9c-"};
    sx_session *s = sx_session_new(0, 0);
    char tok[64];
    cr_assert_eq(get(s, &f, tok, sizeof tok), SIPHON_OK);
    cr_assert(sx_mask_contains_secret(tok));
    char line[256], masked[256];
    snprintf(line, sizeof line, "header auth-token: %s sent", tok);
    sx_mask(line, masked, sizeof masked);
    cr_assert_str_eq(masked, "header auth-token: ******** sent");
    sx_session_free(s);
}

Test(session, login_asking_for_its_own_token_fails_instead_of_deadlocking, .init = sxt_deadline_30s)
{
    fake_login f = {.status = SIPHON_OK, .prefix = "sess-reenter-"};
    sx_session *s = sx_session_new(0, 0);
    f.reenter = s;
    char tok[64];
    cr_assert_eq(get(s, &f, tok, sizeof tok), SIPHON_OK);
    cr_assert_eq(f.reenter_rc, SIPHON_E_INTERNAL);
    sx_session_free(s);
}

Test(session, token_too_long_for_the_buffer_is_an_error_not_a_truncation)
{
    fake_login f = {.status = SIPHON_OK, .prefix = "sess-long-token-"};
    sx_session *s = sx_session_new(0, 0);
    char small[8], msg[256];
    cr_assert_eq(sx_session_get(s, small, sizeof small, login, &f, msg, sizeof msg),
                 SIPHON_E_INVALID);
    cr_assert(strstr(msg, "buffer") != NULL, "message: %s", msg);
    sx_session_free(s);
}

static int empty_login(void *user, char *token, size_t cap, char *message, size_t message_cap)
{
    token[0] = '\0';
    return SIPHON_OK;
}

Test(session, login_that_returns_no_token_is_an_error)
{
    sx_session *s = sx_session_new(0, 0);
    char tok[64], msg[256];
    cr_assert_eq(sx_session_get(s, tok, sizeof tok, empty_login, NULL, msg, sizeof msg),
                 SIPHON_E_API);
    cr_assert_str_eq(msg, "the login returned no token");
    sx_session_free(s);
}
