/*
 * http_ahead.c: requests sent ahead (sx_http_start in http.h) and the helper
 * threads that send them (http_ahead.h).
 *
 * Without it a stream alternates: it waits for page N, emits it, then asks
 * for page N+1 and waits again, so the server's time and siphon's add up.
 * With it the stream starts page N+1 before it emits page N, and the two
 * overlap. A helper runs the request through sx_http_perform, so budget,
 * session and retries apply exactly as to any other request.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "http_ahead.h"

/* How often a waiting caller looks at its stop flag. */
#define STOP_POLL_MS 100

typedef struct helper helper;

struct sx_http_pending {
    sx_http *h;
    sx_ahead_pool *pool;      /* NULL: deferred, performed by sx_http_finish */
    siphon_http_request req;  /* points at the copies below */
    char *method, *path, *content_type, *body_text, *metric_tag;
    sx_http_auth auth;
    sx_http_buffer *body;
    /* the outcome, written by the helper before it sets done */
    siphon_http_response response;
    char message[1024];
    int rc;
    int done;                 /* under the pool's lock */
    volatile int cancel;      /* set by the owner: stop, or not interested */
};

struct helper {
    sx_ahead_pool *pool;
    pthread_t thread;
    pthread_cond_t wake;
    sx_http_pending *job;     /* under the pool's lock */
    helper *next;             /* every helper of the pool */
    helper *next_idle;
};

struct sx_ahead_pool {
    pthread_mutex_t lock;
    pthread_cond_t done;      /* a request finished (broadcast; waiters check theirs) */
    helper *all;
    helper *idle;
    int quit;
};

sx_ahead_pool *sx_ahead_pool_new(void)
{
    sx_ahead_pool *pool = calloc(1, sizeof *pool);
    if (pool == NULL)
        return NULL;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->done, NULL);
    return pool;
}

static void *helper_main(void *arg)
{
    helper *self = arg;
    sx_ahead_pool *pool = self->pool;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        sx_http_pending *p = self->job;
        if (p != NULL) {
            pthread_mutex_unlock(&pool->lock);
            p->rc = sx_http_perform(p->h, &p->req, &p->auth, p->body, &p->response, &p->cancel,
                                    p->message, sizeof p->message);
            pthread_mutex_lock(&pool->lock);
            p->done = 1;
            self->job = NULL;
            self->next_idle = pool->idle;
            pool->idle = self;
            pthread_cond_broadcast(&pool->done);
            continue;
        }
        if (pool->quit)
            break;
        pthread_cond_wait(&self->wake, &pool->lock);
    }
    pthread_mutex_unlock(&pool->lock);
    /* the thread's easy handles go with it (http_handle.c's destructor) */
    sx_http_thread_cleanup();
    return NULL;
}

/* Hands p to an idle helper, or to a new one. Returns 0, or -1 when no
 * thread could be started. */
static int dispatch(sx_ahead_pool *pool, sx_http_pending *p)
{
    pthread_mutex_lock(&pool->lock);
    helper *w = pool->idle;
    if (w != NULL) {
        pool->idle = w->next_idle;
        w->job = p;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&pool->lock);
        return 0;
    }
    w = calloc(1, sizeof *w);
    if (w == NULL) {
        pthread_mutex_unlock(&pool->lock);
        return -1;
    }
    pthread_cond_init(&w->wake, NULL);
    w->pool = pool;
    w->job = p;
    if (pthread_create(&w->thread, NULL, helper_main, w) != 0) {
        pthread_cond_destroy(&w->wake);
        free(w);
        pthread_mutex_unlock(&pool->lock);
        return -1;
    }
    w->next = pool->all;
    pool->all = w;
    pthread_mutex_unlock(&pool->lock);
    return 0;
}

void sx_ahead_pool_free(sx_ahead_pool *pool)
{
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->quit = 1;
    for (helper *w = pool->all; w != NULL; w = w->next)
        pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&pool->lock);
    helper *w = pool->all;
    while (w != NULL) {
        helper *next = w->next;
        pthread_join(w->thread, NULL);
        pthread_cond_destroy(&w->wake);
        free(w);
        w = next;
    }
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->done);
    free(pool);
}

static void pending_free(sx_http_pending *p)
{
    free(p->method);
    free(p->path);
    free(p->content_type);
    free(p->body_text);
    free(p->metric_tag);
    free(p);
}

/* *dst = a copy of src (NULL stays NULL); 0, or -1 when out of memory. */
static int copy_text(char **dst, const char *src, size_t len)
{
    *dst = NULL;
    if (src == NULL)
        return 0;
    *dst = malloc(len + 1);
    if (*dst == NULL)
        return -1;
    memcpy(*dst, src, len);
    (*dst)[len] = '\0';
    return 0;
}

/* The request as the helper will send it: members past the caller's
 * struct_size read as zero, and every string is the pending's own. */
static int copy_request(sx_http_pending *p, const siphon_http_request *req)
{
    siphon_http_request *r = &p->req;
    size_t n = req->struct_size < sizeof *r ? req->struct_size : sizeof *r;
    memcpy(r, req, n);
    r->struct_size = sizeof *r;
    size_t body_len = r->body != NULL && r->body_len == 0 ? strlen(r->body) : r->body_len;
    if (copy_text(&p->method, r->method, r->method ? strlen(r->method) : 0) != 0 ||
        copy_text(&p->path, r->path, r->path ? strlen(r->path) : 0) != 0 ||
        copy_text(&p->content_type, r->content_type,
                  r->content_type ? strlen(r->content_type) : 0) != 0 ||
        copy_text(&p->body_text, r->body, body_len) != 0 ||
        copy_text(&p->metric_tag, r->metric_tag, r->metric_tag ? strlen(r->metric_tag) : 0) != 0)
        return -1;
    r->method = p->method;
    r->path = p->path;
    r->content_type = p->content_type;
    r->body = p->body_text;
    r->body_len = body_len;
    r->metric_tag = p->metric_tag;
    return 0;
}

static void say(char *message, size_t cap, const char *text)
{
    if (message != NULL && cap > 0)
        snprintf(message, cap, "%s", text);
}

int sx_http_start(sx_http *h, const siphon_http_request *req, const sx_http_auth *auth,
                  sx_http_buffer *body, int in_background, sx_http_pending **out,
                  char *message, size_t message_cap)
{
    if (message != NULL && message_cap > 0)
        message[0] = '\0';
    if (out != NULL)
        *out = NULL;
    if (h == NULL || body == NULL || out == NULL || req == NULL ||
        req->struct_size < offsetof(siphon_http_request, path) + sizeof req->path ||
        req->path == NULL) {
        say(message, message_cap, "HTTP request refused: no request or no path");
        return SIPHON_E_INVALID;
    }
    sx_http_pending *p = calloc(1, sizeof *p);
    if (p == NULL || copy_request(p, req) != 0) {
        if (p != NULL)
            pending_free(p);
        say(message, message_cap, "out of memory for an HTTP request");
        return SIPHON_E_NOMEM;
    }
    p->h = h;
    if (auth != NULL)
        p->auth = *auth;
    p->body = body;
    p->response.struct_size = sizeof p->response;
    if (in_background) {
        p->pool = sx_http_ahead_pool(h);
        if (p->pool == NULL || dispatch(p->pool, p) != 0) {
            pending_free(p);
            say(message, message_cap, "cannot start a thread to send a request ahead");
            return SIPHON_E_NOMEM;
        }
    }
    *out = p;
    return SIPHON_OK;
}

/* Waits until the helper is done with p, cancelling it when *stop (or the
 * owner's loss of interest) says so. */
static void wait_done(sx_http_pending *p, const volatile int *stop)
{
    sx_ahead_pool *pool = p->pool;
    pthread_mutex_lock(&pool->lock);
    while (!p->done) {
        if (stop != NULL && *stop)
            p->cancel = 1;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += STOP_POLL_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        int rc = pthread_cond_timedwait(&pool->done, &pool->lock, &until);
        (void)rc; /* ETIMEDOUT or a wake-up: look at done and stop again */
    }
    pthread_mutex_unlock(&pool->lock);
}

int sx_http_finish(sx_http_pending *p, siphon_http_response *response,
                   const volatile int *stop, char *message, size_t message_cap)
{
    if (message != NULL && message_cap > 0)
        message[0] = '\0';
    if (p == NULL)
        return SIPHON_E_INVALID;
    if (response == NULL) {
        if (p->pool != NULL) {
            p->cancel = 1;
            wait_done(p, NULL);
        }
        pending_free(p);
        return SIPHON_E_CANCELLED;
    }
    int rc;
    if (p->pool == NULL) {
        rc = sx_http_perform(p->h, &p->req, &p->auth, p->body, response, stop, message,
                             message_cap);
        pending_free(p);
        return rc;
    }
    wait_done(p, stop);
    rc = p->rc;
    size_t n = response->struct_size < sizeof p->response ? response->struct_size
                                                          : sizeof p->response;
    uint32_t size = response->struct_size;
    memcpy(response, &p->response, n);
    response->struct_size = size;
    say(message, message_cap, p->message);
    pending_free(p);
    return rc;
}
