/*
 * Requests sent ahead (sx_http_start / sx_http_finish) against a scripted
 * server: the request leaves before the caller asks for its answer, the last
 * answer stays intact meanwhile, the policy applies as to any request, and a
 * request nobody wants any more is cancelled at once.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <siphon/siphon.h>

#include "deadline.h"
#include "http.h"
#include "httpd.h"

SXT_DEADLINE(30)
SXT_DEADLINE(60)

#define PAGE "/emkt/contact/search"

typedef struct ahead_rig {
    sxt_httpd *server;
    sx_http *http;
    sx_session *session;
    sx_http_auth auth;
    atomic_int logins;
} ahead_rig;

/* What a classifier saw: how often it ran and on which thread. */
typedef struct seen {
    atomic_int calls;
    pthread_t thread;
} seen;

/* "ok..." is good; "fatal" fails the request; anything else is retried. */
static void page_classify(void *user, const siphon_http_response *r, siphon_verdict *v)
{
    seen *s = user;
    if (s != NULL) {
        atomic_fetch_add(&s->calls, 1);
        s->thread = pthread_self();
    }
    if (r->status == 200 && strncmp(r->body, "ok", 2) == 0)
        v->action = SIPHON_VERDICT_OK;
    else if (r->status == 200 && strncmp(r->body, "fatal", 5) == 0) {
        v->action = SIPHON_VERDICT_FATAL;
        snprintf(v->message, sizeof v->message, "code 480099 (refused)");
    } else
        v->action = SIPHON_VERDICT_RETRY;
}

/* The login: the token is fixed, the count tells that it happened. */
static int rig_login(void *user, char *token, size_t cap, char *message, size_t message_cap)
{
    (void)message;
    (void)message_cap;
    ahead_rig *r = user;
    atomic_fetch_add(&r->logins, 1);
    snprintf(token, cap, "tok-ahead-1");
    return SIPHON_OK;
}

static void rig_up(ahead_rig *r)
{
    memset(r, 0, sizeof *r);
    cr_assert_eq(sx_http_global_init(), 0);
    r->server = sxt_httpd_start();
    cr_assert_not_null(r->server);
    sx_http_config cfg = {
        .base_url = sxt_httpd_url(r->server),
        .auth_header = "auth-token",
        .timeout_ms = 20000,
        .connect_timeout_ms = 2000,
        .retry = {.max_attempts = 3, .base_ms = 10, .max_ms = 20},
    };
    r->http = sx_http_new(&cfg, NULL);
    cr_assert_not_null(r->http);
    r->session = sx_session_new(0, 0);
    r->auth = (sx_http_auth){.session = r->session, .login = rig_login, .login_user = r};
}

static void rig_down(ahead_rig *r)
{
    sx_http_free(r->http);
    sx_session_free(r->session);
    sxt_httpd_stop(r->server);
    sx_http_global_cleanup();
}

static siphon_http_request page_request(const char *body, seen *s)
{
    return (siphon_http_request){
        .struct_size = sizeof(siphon_http_request),
        .path = PAGE,
        .body = body,
        .classify = page_classify,
        .classify_user = s,
    };
}

static sx_http_pending *start(ahead_rig *r, const siphon_http_request *req, sx_http_buffer *body,
                              int in_background)
{
    sx_http_pending *p = NULL;
    char message[512];
    int rc = sx_http_start(r->http, req, &r->auth, body, in_background, &p, message,
                           sizeof message);
    cr_assert_eq(rc, SIPHON_OK, "%s", message);
    cr_assert_not_null(p);
    return p;
}

/* The answer of p, which must be a success; its body is valid until the
 * buffer given to start is reused. */
static siphon_http_response finish_ok(sx_http_pending *p)
{
    siphon_http_response resp = {.struct_size = sizeof resp};
    char message[512];
    int rc = sx_http_finish(p, &resp, NULL, message, sizeof message);
    cr_assert_eq(rc, SIPHON_OK, "%s", message);
    return resp;
}

Test(http_ahead, a_started_request_leaves_before_its_answer_is_asked_for, .init = sxt_deadline_30s)
{
    ahead_rig r;
    rig_up(&r);
    sxt_httpd_push_status(r.server, PAGE, 200, "ok: page 2");
    seen s = {0};
    siphon_http_request req = page_request("{\"page_number\":2}", &s);
    sx_http_buffer body = {0};
    sx_http_pending *p = start(&r, &req, &body, 1);
    /* nobody has called finish: the helper sent it */
    cr_assert_eq(sxt_httpd_wait_count(r.server, PAGE, 1, 10000), 0);

    siphon_http_response resp = finish_ok(p);
    cr_expect_eq(resp.status, 200);
    cr_expect_eq(resp.attempts, 1);
    cr_expect_str_eq(resp.body, "ok: page 2");
    cr_expect_eq(resp.body, body.data, "the answer is in the buffer given to start");
    cr_expect_str_eq(sxt_httpd_request(r.server, PAGE, 0)->body, "{\"page_number\":2}");
    cr_expect_eq(atomic_load(&s.calls), 1);
    cr_expect(!pthread_equal(s.thread, pthread_self()),
              "the classifier ran on the helper, not on the caller");
    sx_http_buffer_free(&body);
    rig_down(&r);
}

Test(http_ahead, the_request_is_copied_so_the_caller_may_reuse_its_text_at_once,
     .init = sxt_deadline_30s)
{
    ahead_rig r;
    rig_up(&r);
    sxt_httpd_set_default(r.server, PAGE, &(sxt_reply){.body = "ok", .delay_ms = 200});
    char text[64], path[64];
    snprintf(text, sizeof text, "{\"page_number\":7}");
    snprintf(path, sizeof path, PAGE);
    siphon_http_request req = page_request(text, NULL);
    req.path = path;
    sx_http_buffer body = {0};
    sx_http_pending *p = start(&r, &req, &body, 1);
    memset(text, 'X', sizeof text - 1);
    memset(path, 'Y', sizeof path - 1);
    finish_ok(p);
    const sxt_request *seen_req = sxt_httpd_request(r.server, PAGE, 0);
    cr_assert_not_null(seen_req);
    cr_expect_str_eq(seen_req->body, "{\"page_number\":7}");
    sx_http_buffer_free(&body);
    rig_down(&r);
}

Test(http_ahead, the_last_answer_stays_whole_while_the_next_arrives, .init = sxt_deadline_30s)
{
    ahead_rig r;
    rig_up(&r);
    /* a page big enough to arrive in many pieces */
    size_t big = 3u << 20;
    char *page2 = malloc(big + 1);
    cr_assert_not_null(page2);
    memcpy(page2, "ok:", 3);
    for (size_t i = 3; i < big; i++)
        page2[i] = (char)('a' + i % 26);
    page2[big] = '\0';
    sxt_httpd_push_status(r.server, PAGE, 200, "ok: page 1, all of it");
    sxt_httpd_push(r.server, PAGE, &(sxt_reply){.body = page2, .body_len = big});

    sx_http_buffer current = {0}, next = {0};
    siphon_http_request req1 = page_request("{\"page_number\":1}", NULL);
    siphon_http_response resp1 = {.struct_size = sizeof resp1};
    char message[512];
    cr_assert_eq(sx_http_perform(r.http, &req1, &r.auth, &current, &resp1, NULL, message,
                                 sizeof message), SIPHON_OK, "%s", message);
    siphon_http_request req2 = page_request("{\"page_number\":2}", NULL);
    sx_http_pending *p = start(&r, &req2, &next, 1);
    /* the caller reads page 1 while page 2 is on its way */
    cr_expect_str_eq(resp1.body, "ok: page 1, all of it");
    siphon_http_response resp2 = finish_ok(p);
    cr_expect_str_eq(resp1.body, "ok: page 1, all of it", "page 1 untouched by page 2");
    cr_assert_eq(resp2.body_len, big);
    cr_expect_eq(memcmp(resp2.body, page2, big), 0);
    free(page2);
    sx_http_buffer_free(&current);
    sx_http_buffer_free(&next);
    rig_down(&r);
}

Test(http_ahead, retries_logins_and_verdicts_apply_as_to_any_request, .init = sxt_deadline_30s)
{
    ahead_rig r;
    rig_up(&r);
    sxt_httpd_push_status(r.server, PAGE, 503, "busy");
    sxt_httpd_push_status(r.server, PAGE, 200, "ok: after a retry");
    sxt_httpd_push_status(r.server, PAGE, 200, "fatal");
    seen s = {0};
    siphon_http_request req = page_request("{}", &s);
    req.use_session = 1;
    sx_http_buffer body = {0};
    siphon_http_response resp = {.struct_size = sizeof resp};
    char message[512];

    sx_http_pending *p = start(&r, &req, &body, 1);
    resp = finish_ok(p);
    cr_expect_eq(resp.attempts, 2);
    cr_expect_str_eq(resp.body, "ok: after a retry");
    cr_expect_eq(atomic_load(&r.logins), 1, "the helper logged in for the request");
    const sxt_request *sent = sxt_httpd_request(r.server, PAGE, 1);
    cr_assert_not_null(sent);
    cr_expect_str_eq(sxt_request_header(sent, "auth-token"), "tok-ahead-1");

    p = start(&r, &req, &body, 1);
    int rc = sx_http_finish(p, &resp, NULL, message, sizeof message);
    cr_expect_eq(rc, SIPHON_E_API);
    cr_expect(strstr(message, PAGE) != NULL && strstr(message, "480099") != NULL,
              "the message names the request and the verdict: %s", message);
    cr_expect_str_eq(resp.body, "fatal", "a failed answer's body is still shown");
    sx_http_buffer_free(&body);
    rig_down(&r);
}

Test(http_ahead, finish_without_a_response_cancels_a_slow_request_at_once,
     .init = sxt_deadline_30s)
{
    ahead_rig r;
    rig_up(&r);
    /* 60 s, past the deadline: only a cancel lets this test end in time */
    sxt_httpd_push(r.server, PAGE, &(sxt_reply){.body = "ok", .delay_ms = 60000});
    seen s = {0};
    siphon_http_request req = page_request("{}", &s);
    sx_http_buffer body = {0};
    sx_http_pending *p = start(&r, &req, &body, 1);
    cr_assert_eq(sxt_httpd_wait_count(r.server, PAGE, 1, 10000), 0);
    cr_expect_eq(sx_http_finish(p, NULL, NULL, NULL, 0), SIPHON_E_CANCELLED);
    cr_expect_eq(atomic_load(&s.calls), 0, "no answer, so no classifier");

    /* the helper is free again and serves the next request */
    sxt_httpd_push_status(r.server, PAGE, 200, "ok: next");
    p = start(&r, &req, &body, 1);
    siphon_http_response resp = finish_ok(p);
    cr_expect_str_eq(resp.body, "ok: next");
    sx_http_buffer_free(&body);
    rig_down(&r);
}

typedef struct stopper {
    ahead_rig *rig;
    volatile int stop;
} stopper;

static void *stop_once_sent(void *arg)
{
    stopper *st = arg;
    sxt_httpd_wait_count(st->rig->server, PAGE, 1, 10000);
    st->stop = 1;
    return NULL;
}

Test(http_ahead, a_stop_while_waiting_for_the_answer_cancels_the_request, .init = sxt_deadline_30s)
{
    ahead_rig r;
    rig_up(&r);
    sxt_httpd_push(r.server, PAGE, &(sxt_reply){.body = "ok", .delay_ms = 60000});
    siphon_http_request req = page_request("{}", NULL);
    sx_http_buffer body = {0};
    sx_http_pending *p = start(&r, &req, &body, 1);
    stopper st = {.rig = &r};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, stop_once_sent, &st), 0);
    siphon_http_response resp = {.struct_size = sizeof resp};
    char message[512];
    int rc = sx_http_finish(p, &resp, &st.stop, message, sizeof message);
    pthread_join(t, NULL);
    cr_expect_eq(rc, SIPHON_E_CANCELLED, "%s", message);
    cr_expect(strstr(message, "cancelled") != NULL, "%s", message);
    sx_http_buffer_free(&body);
    rig_down(&r);
}

Test(http_ahead, a_helper_keeps_its_connection_from_one_page_to_the_next,
     .init = sxt_deadline_30s)
{
    ahead_rig r;
    rig_up(&r);
    sxt_httpd_set_default(r.server, PAGE, &(sxt_reply){.body = "ok"});
    siphon_http_request req = page_request("{}", NULL);
    sx_http_buffer body = {0};
    for (int i = 0; i < 4; i++) {
        sx_http_pending *p = start(&r, &req, &body, 1);
        finish_ok(p);
    }
    int port = sxt_httpd_request(r.server, PAGE, 0)->client_port;
    for (size_t i = 1; i < 4; i++)
        cr_expect_eq(sxt_httpd_request(r.server, PAGE, i)->client_port, port,
                     "request %zu came on another connection", i + 1);
    sx_http_buffer_free(&body);
    rig_down(&r);
}

Test(http_ahead, a_deferred_request_leaves_only_when_its_answer_is_asked_for,
     .init = sxt_deadline_30s)
{
    ahead_rig r;
    rig_up(&r);
    sxt_httpd_push_status(r.server, PAGE, 200, "ok: deferred");
    seen s = {0};
    siphon_http_request req = page_request("{}", &s);
    sx_http_buffer body = {0};
    sx_http_pending *p = start(&r, &req, &body, 0);
    cr_expect_eq(sxt_httpd_count(r.server, PAGE), 0, "read_ahead off: nothing sent at start");
    siphon_http_response resp = finish_ok(p);
    cr_expect_eq(sxt_httpd_count(r.server, PAGE), 1);
    cr_expect_str_eq(resp.body, "ok: deferred");
    cr_expect(pthread_equal(s.thread, pthread_self()), "deferred: classified on the caller");

    /* and a deferred request nobody collects is never sent */
    p = start(&r, &req, &body, 0);
    cr_expect_eq(sx_http_finish(p, NULL, NULL, NULL, 0), SIPHON_E_CANCELLED);
    cr_expect_eq(sxt_httpd_count(r.server, PAGE), 1);
    sx_http_buffer_free(&body);
    rig_down(&r);
}

Test(http_ahead, a_request_without_a_path_is_refused_and_nothing_starts)
{
    ahead_rig r;
    rig_up(&r);
    siphon_http_request req = page_request("{}", NULL);
    req.path = NULL;
    sx_http_buffer body = {0};
    sx_http_pending *p = (sx_http_pending *)&req; /* must be reset */
    char message[512];
    int rc = sx_http_start(r.http, &req, &r.auth, &body, 1, &p, message, sizeof message);
    cr_expect_eq(rc, SIPHON_E_INVALID);
    cr_expect_null(p);
    cr_expect(strstr(message, "no path") != NULL, "%s", message);
    /* an old plugin's request, too short to hold a path */
    req = page_request("{}", NULL);
    req.struct_size = sizeof(uint32_t);
    rc = sx_http_start(r.http, &req, &r.auth, &body, 1, &p, message, sizeof message);
    cr_expect_eq(rc, SIPHON_E_INVALID);
    cr_expect_eq(sxt_httpd_count(r.server, NULL), 0);
    rig_down(&r);
}

/* One stream's page loop: page N+1 started before page N is looked at. Each
 * stream has its own path, whose queued answers name stream and page. */
typedef struct stream_pages {
    ahead_rig *rig;
    char path[32];
    int pages;
    int good;         /* answers that named this stream and page */
    char message[512];
} stream_pages;

static sx_http_pending *start_page(stream_pages *sp, sx_http_buffer *body)
{
    siphon_http_request req = page_request("{}", NULL);
    req.path = sp->path;
    sx_http_pending *p = NULL;
    sx_http_start(sp->rig->http, &req, &sp->rig->auth, body, 1, &p, sp->message,
                  sizeof sp->message);
    return p;
}

static void *read_stream(void *arg)
{
    stream_pages *sp = arg;
    sx_http_buffer bufs[2] = {{0}, {0}};
    sx_http_pending *p = start_page(sp, &bufs[0]);
    for (int page = 1; page <= sp->pages && p != NULL; page++) {
        siphon_http_response resp = {.struct_size = sizeof resp};
        if (sx_http_finish(p, &resp, NULL, sp->message, sizeof sp->message) != SIPHON_OK)
            break;
        p = page < sp->pages ? start_page(sp, &bufs[page & 1]) : NULL;
        char want[64];
        snprintf(want, sizeof want, "ok %s page %d", sp->path, page);
        if (strcmp(resp.body, want) == 0)
            sp->good++;
    }
    if (p != NULL)
        sx_http_finish(p, NULL, NULL, NULL, 0);
    sx_http_buffer_free(&bufs[0]);
    sx_http_buffer_free(&bufs[1]);
    sx_http_thread_cleanup();
    return NULL;
}

Test(http_ahead, several_streams_each_one_page_ahead_get_their_own_pages,
     .init = sxt_deadline_60s)
{
    ahead_rig r;
    rig_up(&r);
    enum { STREAMS = 6, PAGES = 8 };
    stream_pages sp[STREAMS];
    pthread_t t[STREAMS];
    for (int i = 0; i < STREAMS; i++) {
        sp[i] = (stream_pages){.rig = &r, .pages = PAGES};
        snprintf(sp[i].path, sizeof sp[i].path, "/stream/%d", i);
        for (int page = 1; page <= PAGES; page++) {
            char text[64];
            snprintf(text, sizeof text, "ok %s page %d", sp[i].path, page);
            sxt_httpd_push_status(r.server, sp[i].path, 200, text);
        }
    }
    for (int i = 0; i < STREAMS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, read_stream, &sp[i]), 0);
    for (int i = 0; i < STREAMS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < STREAMS; i++)
        cr_expect_eq(sp[i].good, PAGES, "stream %d: %d of %d pages right (%s)", i, sp[i].good,
                     PAGES, sp[i].message);
    cr_expect_eq(sxt_httpd_count(r.server, NULL), STREAMS * PAGES);
    rig_down(&r);
}
