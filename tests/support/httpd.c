#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "httpd.h"

typedef struct script {
    int status;
    char *body;
    size_t body_len;
    int delay_ms;
    sxt_fault fault;
    char *headers;
    struct script *next;
} script;

typedef struct route {
    char *path;
    script *head, *tail;   /* queued replies */
    script *fallback;      /* the default, or NULL */
    struct route *next;
} route;

struct sxt_httpd {
    struct MHD_Daemon *mhd;
    char url[64];
    pthread_mutex_t lock;
    pthread_cond_t changed;   /* a request was recorded, or stop began */
    pthread_condattr_t attr;
    int stopping;
    route *routes;
    sxt_request **requests;
    size_t request_count;
    size_t request_cap;
};

/* One request while it arrives (MHD calls the handler several times). */
typedef struct pending {
    sxt_request *req;
    size_t body_cap;
} pending;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *dup_bytes(const char *p, size_t n)
{
    char *out = malloc(n + 1);
    if (p != NULL && n > 0)
        memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

static void request_free(sxt_request *r)
{
    if (r == NULL)
        return;
    free(r->method);
    free(r->path);
    free(r->body);
    for (size_t i = 0; i < r->header_count; i++) {
        free(r->header_names[i]);
        free(r->header_values[i]);
    }
    free(r->header_names);
    free(r->header_values);
    free(r);
}

static void script_free(script *s)
{
    if (s == NULL)
        return;
    free(s->body);
    free(s->headers);
    free(s);
}

static script *script_new(const sxt_reply *r)
{
    script *s = calloc(1, sizeof *s);
    s->status = r->status ? r->status : 200;
    s->body_len = r->body == NULL ? 0 : r->body_len ? r->body_len : strlen(r->body);
    s->body = dup_bytes(r->body, s->body_len);
    s->delay_ms = r->delay_ms;
    s->fault = r->fault;
    s->headers = r->headers != NULL ? strdup(r->headers) : NULL;
    return s;
}

/* Caller holds the lock. */
static route *find_route(sxt_httpd *d, const char *path, int create)
{
    for (route *r = d->routes; r != NULL; r = r->next)
        if (strcmp(r->path, path) == 0)
            return r;
    if (!create)
        return NULL;
    route *r = calloc(1, sizeof *r);
    r->path = strdup(path);
    r->next = d->routes;
    d->routes = r;
    return r;
}

/* The reply for path, popped from its queue (caller frees), a copy of its
 * default, or NULL. */
static script *next_reply(sxt_httpd *d, const char *path)
{
    pthread_mutex_lock(&d->lock);
    route *r = find_route(d, path, 0);
    script *s = NULL;
    if (r != NULL && r->head != NULL) {
        s = r->head;
        r->head = s->next;
        if (r->head == NULL)
            r->tail = NULL;
        s->next = NULL;
    } else if (r != NULL && r->fallback != NULL) {
        sxt_reply copy = {
            .status = r->fallback->status,
            .body = r->fallback->body,
            .body_len = r->fallback->body_len,
            .delay_ms = r->fallback->delay_ms,
            .fault = r->fallback->fault,
            .headers = r->fallback->headers,
        };
        s = script_new(&copy);
    }
    pthread_mutex_unlock(&d->lock);
    return s;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    sxt_request *r = cls;
    r->header_names = realloc(r->header_names, (r->header_count + 1) * sizeof(char *));
    r->header_values = realloc(r->header_values, (r->header_count + 1) * sizeof(char *));
    r->header_names[r->header_count] = strdup(key);
    r->header_values[r->header_count] = strdup(value != NULL ? value : "");
    r->header_count++;
    return MHD_YES;
}

static void record(sxt_httpd *d, sxt_request *r)
{
    pthread_mutex_lock(&d->lock);
    if (d->request_count == d->request_cap) {
        d->request_cap = d->request_cap ? d->request_cap * 2 : 64;
        d->requests = realloc(d->requests, d->request_cap * sizeof *d->requests);
    }
    d->requests[d->request_count++] = r;
    pthread_cond_broadcast(&d->changed);
    pthread_mutex_unlock(&d->lock);
}

/* Sleeps ms unless the server stops first. */
static void delay(sxt_httpd *d, int ms)
{
    if (ms <= 0)
        return;
    int64_t until = now_ms() + ms;
    struct timespec ts = {.tv_sec = until / 1000, .tv_nsec = (long)(until % 1000) * 1000000L};
    pthread_mutex_lock(&d->lock);
    while (!d->stopping) {
        int rc = pthread_cond_timedwait(&d->changed, &d->lock, &ts);
        if (rc == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&d->lock);
}

/* Feeds half the body, then ends the response with an error (MHD closes the
 * connection short of the announced length). */
typedef struct truncated {
    char *body;
    size_t half;
} truncated;

static ssize_t truncated_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    truncated *t = cls;
    if (pos >= t->half)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = t->half - (size_t)pos;
    if (n > max)
        n = max;
    memcpy(buf, t->body + pos, n);
    return (ssize_t)n;
}

static void truncated_free(void *cls)
{
    truncated *t = cls;
    free(t->body);
    free(t);
}

static void add_headers(struct MHD_Response *resp, const char *lines)
{
    if (lines == NULL)
        return;
    char *copy = strdup(lines);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *colon = strchr(line, ':');
        if (colon == NULL)
            continue;
        *colon = '\0';
        const char *value = colon + 1;
        while (*value == ' ')
            value++;
        MHD_add_response_header(resp, line, value);
    }
    free(copy);
}

static enum MHD_Result answer(sxt_httpd *d, struct MHD_Connection *conn, const char *path)
{
    script *s = next_reply(d, path);
    if (s == NULL) {
        char text[512];
        snprintf(text, sizeof text, "no scripted reply for %s", path);
        sxt_reply missing = {.status = 404, .body = text};
        s = script_new(&missing);
    }
    delay(d, s->delay_ms);

    if (s->fault == SXT_FAULT_RESET) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci != NULL) {
            /* MHD would close politely (a FIN first). Linger 0 makes the last
             * close send an RST, and dup2 over the fd is that last close: MHD
             * keeps a harmless unconnected socket in its place to close later. */
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            int spare = socket(AF_INET, SOCK_STREAM, 0);
            if (spare >= 0) {
                dup2(spare, ci->connect_fd);
                close(spare);
            }
        }
        script_free(s);
        return MHD_NO;
    }

    struct MHD_Response *resp;
    if (s->fault == SXT_FAULT_TRUNCATE) {
        truncated *t = malloc(sizeof *t);
        t->body = s->body;
        t->half = s->body_len / 2;
        s->body = NULL;
        resp = MHD_create_response_from_callback(s->body_len, 1024, truncated_read, t,
                                                 truncated_free);
    } else {
        resp = MHD_create_response_from_buffer(s->body_len, s->body, MHD_RESPMEM_MUST_FREE);
        s->body = NULL;
    }
    add_headers(resp, s->headers);
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)s->status, resp);
    MHD_destroy_response(resp);
    script_free(s);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    sxt_httpd *d = cls;
    pending *p = *req_cls;
    if (p == NULL) {
        p = calloc(1, sizeof *p);
        p->req = calloc(1, sizeof *p->req);
        p->req->received_ms = now_ms();
        p->req->method = strdup(method);
        p->req->path = strdup(url);
        p->req->body = dup_bytes(NULL, 0);
        MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, p->req);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci != NULL && ci->client_addr != NULL && ci->client_addr->sa_family == AF_INET)
            p->req->client_port = ntohs(((const struct sockaddr_in *)ci->client_addr)->sin_port);
        *req_cls = p;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        sxt_request *r = p->req;
        size_t n = *upload_data_size;
        if (r->body_len + n + 1 > p->body_cap) {
            p->body_cap = (r->body_len + n + 1) * 2;
            r->body = realloc(r->body, p->body_cap);
        }
        memcpy(r->body + r->body_len, upload_data, n);
        r->body_len += n;
        r->body[r->body_len] = '\0';
        *upload_data_size = 0;
        return MHD_YES;
    }
    sxt_request *r = p->req;
    p->req = NULL; /* the record owns it now */
    record(d, r);
    return answer(d, conn, r->path);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    pending *p = *req_cls;
    if (p == NULL)
        return;
    request_free(p->req);
    free(p);
    *req_cls = NULL;
}

static sxt_httpd *start(const char *cert_pem, const char *key_pem)
{
    sxt_httpd *d = calloc(1, sizeof *d);
    pthread_mutex_init(&d->lock, NULL);
    pthread_condattr_init(&d->attr);
    pthread_condattr_setclock(&d->attr, CLOCK_MONOTONIC);
    pthread_cond_init(&d->changed, &d->attr);

    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0; /* the kernel picks a free port: no race with other tests */

    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
    if (cert_pem != NULL)
        flags |= MHD_USE_TLS;
    if (cert_pem != NULL) {
        d->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, d,
                                  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                  MHD_OPTION_NOTIFY_COMPLETED, on_completed, d,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                                  MHD_OPTION_HTTPS_MEM_CERT, cert_pem,
                                  MHD_OPTION_HTTPS_MEM_KEY, key_pem, MHD_OPTION_END);
    } else {
        d->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, d,
                                  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                  MHD_OPTION_NOTIFY_COMPLETED, on_completed, d,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
    }
    const union MHD_DaemonInfo *info =
        d->mhd != NULL ? MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (info == NULL || info->port == 0) {
        sxt_httpd_stop(d);
        return NULL;
    }
    snprintf(d->url, sizeof d->url, "%s://127.0.0.1:%u", cert_pem != NULL ? "https" : "http",
             (unsigned)info->port);
    return d;
}

sxt_httpd *sxt_httpd_start(void)
{
    return start(NULL, NULL);
}

sxt_httpd *sxt_httpd_start_tls(const char *cert_pem, const char *key_pem)
{
    if (cert_pem == NULL || key_pem == NULL || MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return NULL;
    return start(cert_pem, key_pem);
}

const char *sxt_httpd_url(const sxt_httpd *d)
{
    return d->url;
}

void sxt_httpd_push(sxt_httpd *d, const char *path, const sxt_reply *reply)
{
    script *s = script_new(reply);
    pthread_mutex_lock(&d->lock);
    route *r = find_route(d, path, 1);
    if (r->tail != NULL)
        r->tail->next = s;
    else
        r->head = s;
    r->tail = s;
    pthread_mutex_unlock(&d->lock);
}

void sxt_httpd_push_status(sxt_httpd *d, const char *path, int status, const char *body)
{
    sxt_reply r = {.status = status, .body = body};
    sxt_httpd_push(d, path, &r);
}

void sxt_httpd_set_default(sxt_httpd *d, const char *path, const sxt_reply *reply)
{
    script *s = script_new(reply);
    pthread_mutex_lock(&d->lock);
    route *r = find_route(d, path, 1);
    script_free(r->fallback);
    r->fallback = s;
    pthread_mutex_unlock(&d->lock);
}

/* Caller holds the lock. */
static size_t count_locked(sxt_httpd *d, const char *path)
{
    size_t n = 0;
    for (size_t i = 0; i < d->request_count; i++)
        if (path == NULL || strcmp(d->requests[i]->path, path) == 0)
            n++;
    return n;
}

size_t sxt_httpd_count(sxt_httpd *d, const char *path)
{
    pthread_mutex_lock(&d->lock);
    size_t n = count_locked(d, path);
    pthread_mutex_unlock(&d->lock);
    return n;
}

int sxt_httpd_wait_count(sxt_httpd *d, const char *path, size_t n, int timeout_ms)
{
    int64_t until = now_ms() + timeout_ms;
    struct timespec ts = {.tv_sec = until / 1000, .tv_nsec = (long)(until % 1000) * 1000000L};
    pthread_mutex_lock(&d->lock);
    int rc = 0;
    while (count_locked(d, path) < n) {
        if (pthread_cond_timedwait(&d->changed, &d->lock, &ts) == ETIMEDOUT) {
            rc = count_locked(d, path) >= n ? 0 : -1;
            break;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return rc;
}

const sxt_request *sxt_httpd_request(sxt_httpd *d, const char *path, size_t i)
{
    const sxt_request *found = NULL;
    pthread_mutex_lock(&d->lock);
    for (size_t k = 0; k < d->request_count && found == NULL; k++) {
        if (path == NULL || strcmp(d->requests[k]->path, path) == 0) {
            if (i == 0)
                found = d->requests[k];
            else
                i--;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return found;
}

const char *sxt_request_header(const sxt_request *r, const char *name)
{
    for (size_t i = 0; r != NULL && i < r->header_count; i++)
        if (strcasecmp(r->header_names[i], name) == 0)
            return r->header_values[i];
    return NULL;
}

void sxt_httpd_stop(sxt_httpd *d)
{
    if (d == NULL)
        return;
    pthread_mutex_lock(&d->lock);
    d->stopping = 1;
    pthread_cond_broadcast(&d->changed);
    pthread_mutex_unlock(&d->lock);
    if (d->mhd != NULL)
        MHD_stop_daemon(d->mhd);
    for (route *r = d->routes; r != NULL;) {
        route *next = r->next;
        for (script *s = r->head; s != NULL;) {
            script *n = s->next;
            script_free(s);
            s = n;
        }
        script_free(r->fallback);
        free(r->path);
        free(r);
        r = next;
    }
    for (size_t i = 0; i < d->request_count; i++)
        request_free(d->requests[i]);
    free(d->requests);
    pthread_cond_destroy(&d->changed);
    pthread_condattr_destroy(&d->attr);
    pthread_mutex_destroy(&d->lock);
    free(d);
}
