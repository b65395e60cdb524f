#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "api.h"
#include "buf.h"
#include "control.h"
#include "http.h"

#define MAX_BODY (16u << 20)

typedef struct conn {
    emu_buf body;
    int too_big;
} conn;

typedef struct cut {
    char *body;
    size_t len;
} cut;

/* Serves the first half of a body announced whole, then fails, so the client
 * sees a connection closed in the middle of a valid-looking answer. */
static ssize_t cut_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    cut *c = cls;
    size_t half = c->len / 2;
    if (pos >= half)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = half - (size_t)pos;
    if (n > max)
        n = max;
    memcpy(buf, c->body + pos, n);
    return (ssize_t)n;
}

static void cut_free(void *cls)
{
    cut *c = cls;
    free(c->body);
    free(c);
}

static enum MHD_Result send_answer(struct MHD_Connection *mc, emu_answer *a)
{
    struct MHD_Response *resp;
    if (a->truncate && a->len >= 2) {
        cut *c = malloc(sizeof *c);
        if (c == NULL) {
            free(a->body);
            return MHD_NO;
        }
        c->body = a->body;
        c->len = a->len;
        resp = MHD_create_response_from_callback(a->len, 64 * 1024, cut_reader, c, cut_free);
        if (resp == NULL)
            cut_free(c);
    } else {
        resp = MHD_create_response_from_buffer(a->len, a->body, MHD_RESPMEM_MUST_FREE);
        if (resp == NULL)
            free(a->body);
    }
    a->body = NULL;
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            a->ctype ? a->ctype : "application/json");
    if (a->status == 405)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "POST");
    enum MHD_Result r = MHD_queue_response(mc, (unsigned)a->status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    emu_server *S = cls;
    conn *c = *con_cls;
    if (c == NULL) {
        c = calloc(1, sizeof *c);
        if (c == NULL)
            return MHD_NO;
        *con_cls = c;
        return MHD_YES;
    }
    if (*upload_size) {
        if (c->body.len + *upload_size > MAX_BODY)
            c->too_big = 1;
        else
            emu_buf_put(&c->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    emu_answer a = {0};
    if (c->too_big || c->body.failed) {
        emu_answer_error(&a, 413, "request body larger than %u bytes", MAX_BODY);
    } else if (strncmp(url, "/_emulator/", 11) == 0) {
        const char *stream = MHD_lookup_connection_value(mc, MHD_GET_ARGUMENT_KIND, "stream");
        emu_control_handle(S, method, url, stream, c->body.data, c->body.len, &a);
    } else {
        const char *token = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "auth-token");
        emu_api_handle(S, method, url, token, c->body.data, c->body.len, &a);
    }
    if (a.reset) {
        free(a.body);
        return MHD_NO; /* closes the connection without an answer */
    }
    return send_answer(mc, &a);
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)mc;
    (void)toe;
    conn *c = *con_cls;
    if (c) {
        emu_buf_free(&c->body);
        free(c);
        *con_cls = NULL;
    }
}

struct MHD_Daemon *emu_http_start(emu_server *S, const char *cert_pem, const char *key_pem,
                                  int *port, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, S->o->bind, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)S->o->port);
    } else if (inet_pton(AF_INET6, S->o->bind, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)S->o->port);
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, errlen, "--bind '%s' is not an IPv4 or IPv6 address", S->o->bind);
        return NULL;
    }
    if (cert_pem)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cert_pem},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)key_pem},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, S, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, S, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)300, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
        MHD_OPTION_ARRAY, cert_pem ? tls_opts : &tls_opts[2], MHD_OPTION_END);
    if (d == NULL) {
        snprintf(err, errlen, "cannot listen on %s port %d (in use, or not allowed)",
                 S->o->bind, S->o->port);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *port = info ? (int)info->port : S->o->port;
    return d;
}

void emu_http_stop(struct MHD_Daemon *d)
{
    MHD_stop_daemon(d);
}
