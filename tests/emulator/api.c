#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "query.h"

#define CODE_OK "480001"
#define CODE_BAD_PARAM "240100" /* an emulator choice: the real code is unknown */

/* ---- envelope ---- */

static void envelope_begin(emu_buf *b, const char *code, const char *detail)
{
    emu_buf_puts(b, "{\"code\":");
    emu_buf_json_str(b, code, strlen(code));
    emu_buf_puts(b, ",\"code_detail\":");
    emu_buf_json_str(b, detail, strlen(detail));
    emu_buf_puts(b, ",\"body\":");
}

static void envelope_end(emu_buf *b, const char *unique)
{
    emu_buf_puts(b, ",\"request_unique\":");
    emu_buf_json_str(b, unique, strlen(unique));
    emu_buf_puts(b, ",\"warning\":[]}");
}

/* A whole envelope whose body is the given JSON text. */
static void envelope(emu_answer *a, const char *unique, const char *code, const char *detail,
                     const char *body_json)
{
    emu_buf b = {0};
    envelope_begin(&b, code, detail);
    emu_buf_puts(&b, body_json);
    envelope_end(&b, unique);
    emu_answer_take(a, 200, "application/json; charset=utf-8", &b);
}

static void rate_limited(emu_answer *a, const char *unique, uint64_t secs)
{
    char body[64];
    snprintf(body, sizeof body, "{\"retry-after\":\"%" PRIu64 "\"}", secs);
    envelope(a, unique, "240024", "Requests limit exceeded", body);
}

static void not_envelope(emu_answer *a, int status, const char *text)
{
    emu_buf b = {0};
    emu_buf_puts(&b, text);
    emu_answer_take(a, status, "text/html; charset=utf-8", &b);
}

/* ---- parameters ---- */

int emu_param_code(json_t *body, const char *name, uint64_t *out)
{
    json_t *v = json_object_get(body, name);
    if (v == NULL || json_is_null(v))
        return 1;
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return -1;
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    const char *s = json_string_value(v);
    if (*s == '\0')
        return 1; /* "" is what clients send for "not given" */
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    unsigned long long n = strtoull(s, &end, 10);
    if (*end != '\0')
        return -1;
    *out = n;
    return 0;
}

/* page_number / page_size: a positive whole number, as a string or a number. */
static int param_count(json_t *body, const char *name, uint64_t dflt, uint64_t *out, char *err,
                       size_t errlen)
{
    uint64_t v = 0;
    int rc = emu_param_code(body, name, &v);
    if (rc == 1) {
        *out = dflt;
        return 0;
    }
    if (rc != 0 || v == 0) {
        snprintf(err, errlen, "Parameter %s must be a whole number >= 1", name);
        return -1;
    }
    *out = v;
    return 0;
}

/* ---- /auth ---- */

static void text_of(json_t *v, char *out, size_t len)
{
    out[0] = '\0';
    if (json_is_string(v))
        snprintf(out, len, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
}

static void handle_auth(emu_server *S, json_t *body, const char *unique, emu_answer *a)
{
    const emu_options *o = S->o;
    char user[512], password[512], client[64];
    text_of(json_object_get(body, "user"), user, sizeof user);
    text_of(json_object_get(body, "password"), password, sizeof password);
    text_of(json_object_get(body, "client_code"), client, sizeof client);
    const char *code = NULL, *detail = NULL;
    if (user[0] == '\0') {
        code = "240003";
        detail = "Username is required";
    } else if (password[0] == '\0') {
        code = "240002";
        detail = "Password is required";
    } else if (strcmp(user, o->user) != 0 || strcmp(password, o->password) != 0) {
        code = "240004";
        detail = "Username or password are invalid";
    } else if (strcmp(client, o->client_code) != 0) {
        code = "240029";
        detail = "Client code is invalid / the relationship between user and client wasn't found";
    }
    if (code) {
        pthread_mutex_lock(&S->mu);
        S->stats.auth_failed++;
        pthread_mutex_unlock(&S->mu);
        envelope(a, unique, code, detail, "{}");
        return;
    }
    char token[72];
    pthread_mutex_lock(&S->mu);
    emu_token_issue(S, client, token);
    S->stats.auth_ok++;
    pthread_mutex_unlock(&S->mu);
    emu_buf b = {0};
    envelope_begin(&b, CODE_OK, "Sucesso");
    emu_buf_puts(&b, "{\"auth-token\":");
    emu_buf_json_str(&b, token, strlen(token));
    emu_buf_puts(&b, ",\"manager\":true}");
    envelope_end(&b, unique);
    emu_answer_take(a, 200, "application/json; charset=utf-8", &b);
}

/* ---- searches ---- */

typedef struct page_ctx {
    emu_buf *b;
    size_t rows;
} page_ctx;

static int page_row(void *ctx, const emu_rec *r, uint64_t j)
{
    (void)j;
    page_ctx *p = ctx;
    if (p->rows++)
        emu_buf_putc(p->b, ',');
    emu_write_rec(p->b, r);
    return p->b->failed;
}

static void handle_search(emu_server *S, int sid, json_t *body, const char *unique,
                          emu_answer *a)
{
    const emu_stream_def *d = &emu_streams[sid];
    char err[512];
    uint64_t list = 0, field = 0;
    if (d->parent != EMU_PARENT_NONE) {
        int rc = emu_param_code(body, "contact-list_code", &list);
        if (rc != 0) {
            envelope(a, unique, CODE_BAD_PARAM,
                     rc > 0 ? "Parameter contact-list_code is required"
                            : "Parameter contact-list_code must be a code (digits)", "{}");
            return;
        }
    }
    if (d->parent == EMU_PARENT_LF) {
        int rc = emu_param_code(body, "field_code", &field);
        if (rc != 0) {
            envelope(a, unique, CODE_BAD_PARAM,
                     rc > 0 ? "Parameter field_code is required"
                            : "Parameter field_code must be a code (digits)", "{}");
            return;
        }
    }
    uint64_t page, size;
    if (param_count(body, "page_number", 1, &page, err, sizeof err) != 0 ||
        param_count(body, "page_size", 100, &size, err, sizeof err) != 0) {
        envelope(a, unique, CODE_BAD_PARAM, err, "{}");
        return;
    }
    if (size > S->o->page_cap)
        size = S->o->page_cap;
    if (page - 1 > UINT64_MAX / size) {
        envelope(a, unique, CODE_BAD_PARAM, "Parameter page_number is too large", "{}");
        return;
    }

    /* insert-between-pages: a row lands while a client is in the middle of
     * paging, later than everything it has seen. */
    if (page >= 2) {
        int insert = 0;
        pthread_mutex_lock(&S->mu);
        for (size_t i = 0; i < S->faults.n; i++) {
            emu_fault *f = &S->faults.f[i];
            if (f->kind == EMU_F_INSERT_BETWEEN_PAGES && ++f->counter % f->a == 0) {
                insert = 1;
                S->stats.faults[EMU_F_INSERT_BETWEEN_PAGES]++;
            }
        }
        pthread_mutex_unlock(&S->mu);
        if (insert) {
            emu_pkey where = {list, field};
            pthread_rwlock_wrlock(&S->store.lock);
            emu_store_insert(&S->store, sid, where, 1, NULL, err, sizeof err);
            pthread_rwlock_unlock(&S->store.lock);
        }
    }

    pthread_rwlock_rdlock(&S->store.lock);
    emu_view v;
    if (emu_view_open(&S->store, sid, list, field, &v, err, sizeof err) != 0) {
        pthread_rwlock_unlock(&S->store.lock);
        envelope(a, unique, CODE_BAD_PARAM, err, "{}");
        return;
    }
    emu_query q;
    if (emu_query_parse(body, &v, &q, err, sizeof err) != 0) {
        emu_query_free(&q);
        emu_view_close(&v);
        pthread_rwlock_unlock(&S->store.lock);
        envelope(a, unique, CODE_BAD_PARAM, err, "{}");
        return;
    }
    q.offset = (page - 1) * size;
    q.limit = size;
    emu_rec r;
    emu_buf b = {0};
    /* Room for a full page up front saves the doublings of a 6 MB answer. */
    emu_buf_reserve(&b, size > 10000 ? 10000 * 700 : size * 700 + 256);
    int next = 0, rc = -1;
    if (emu_rec_init(&r, v.ncf) == 0) {
        envelope_begin(&b, CODE_OK, "Sucesso");
        emu_buf_puts(&b, "{\"");
        emu_buf_puts(&b, d->items_key);
        emu_buf_puts(&b, "\":[");
        page_ctx pc = {&b, 0};
        rc = emu_query_run(&S->store, &v, &q, &r, page_row, &pc, &next);
        emu_buf_puts(&b, next ? "],\"next\":true}" : "],\"next\":false}");
        envelope_end(&b, unique);
        emu_rec_free(&r);
    }
    emu_query_free(&q);
    emu_view_close(&v);
    pthread_rwlock_unlock(&S->store.lock);
    if (rc != 0) {
        emu_buf_free(&b);
        not_envelope(a, 500, "<html><body>emulator out of memory</body></html>");
        return;
    }
    emu_answer_take(a, 200, "application/json; charset=utf-8", &b);
}

/* ---- the gate ---- */

enum transport { T_NONE, T_500, T_502, T_503, T_RESET, T_TRUNCATE, T_BADJSON, T_SLOW };

void emu_api_handle(emu_server *S, const char *method, const char *path, const char *token,
                    const char *body, size_t len, emu_answer *a)
{
    const emu_options *o = S->o;
    char unique[48];
    uint64_t jitter = 0;
    pthread_mutex_lock(&S->mu);
    uint64_t serial = ++S->request_serial;
    emu_stats_count(S, path);
    if (o->jitter_ms)
        jitter = emu_rng_next(&S->latency_rng) % (o->jitter_ms + 1);
    pthread_mutex_unlock(&S->mu);
    snprintf(unique, sizeof unique, "%016" PRIx64 "%08" PRIx64,
             emu_hash(o->seed, 0x0e90e, serial, 0), serial);
    if (o->latency_ms + jitter)
        emu_sleep_ms(S, o->latency_ms + jitter);

    int is_auth = strcmp(path, "/auth") == 0;
    int sid = emu_stream_by_path(path);
    if (strcmp(method, "POST") != 0) {
        emu_buf b = {0};
        emu_buf_printf(&b, "{\"code\":\"405\",\"code_detail\":\"Method %s not allowed: the API "
                       "answers POST only\"}", method);
        emu_answer_take(a, 405, "application/json; charset=utf-8", &b);
        return;
    }
    if (!is_auth && sid < 0) {
        emu_buf b = {0};
        emu_buf_puts(&b, "{\"code\":\"404\",\"code_detail\":");
        char msg[600];
        snprintf(msg, sizeof msg, "No API endpoint at %s", path);
        emu_buf_json_str(&b, msg, strlen(msg));
        emu_buf_puts(&b, "}");
        emu_answer_take(a, 404, "application/json; charset=utf-8", &b);
        return;
    }

    json_error_t jerr;
    memset(&jerr, 0, sizeof jerr);
    json_t *req = len ? json_loadb(body, len, 0, &jerr) : NULL;

    /* Whose request is it? /auth names its client; other calls carry a token. */
    char client[64] = "";
    double now = emu_now();
    pthread_mutex_lock(&S->mu);
    if (is_auth)
        text_of(json_object_get(req, "client_code"), client, sizeof client);
    else {
        const char *c = emu_token_client(S, token);
        snprintf(client, sizeof client, "%s", c ? c : "");
    }
    uint64_t retry = emu_rate_admit(S, client, now);
    enum transport t = T_NONE;
    uint64_t slow_ms = 0;
    const char *apicode = NULL;
    char apicode_buf[64];
    if (retry == 0) {
        for (size_t i = 0; i < S->faults.n && retry == 0; i++) {
            emu_fault *f = &S->faults.f[i];
            if (f->kind != EMU_F_RATELIMIT_BURST)
                continue;
            if (f->left > 0) {
                f->left--;
                retry = f->c;
                S->stats.faults[EMU_F_RATELIMIT_BURST]++;
                emu_rate_told(S, client, now, f->c);
            } else if (++f->counter % f->a == 0) {
                f->left = f->b;
            }
        }
    }
    if (retry == 0) {
        for (size_t i = 0; i < S->faults.n; i++) {
            emu_fault *f = &S->faults.f[i];
            static const enum transport by_kind[] = {
                [EMU_F_HTTP500] = T_500, [EMU_F_HTTP502] = T_502, [EMU_F_HTTP503] = T_503,
                [EMU_F_RESET] = T_RESET, [EMU_F_TRUNCATE] = T_TRUNCATE,
                [EMU_F_BADJSON] = T_BADJSON, [EMU_F_SLOW] = T_SLOW};
            if (f->kind > EMU_F_SLOW)
                continue;
            /* Every rate fault draws on every request, so one fault's
             * decisions do not shift when another is added. */
            int hit = emu_rng_unit(&S->fault_rng) < f->rate;
            if (hit && t == T_NONE) {
                t = by_kind[f->kind];
                slow_ms = f->a;
                S->stats.faults[f->kind]++;
            }
        }
        int dead = t == T_500 || t == T_502 || t == T_503 || t == T_RESET;
        for (size_t i = 0; i < S->faults.n && !dead && !apicode; i++) {
            emu_fault *f = &S->faults.f[i];
            if (f->kind == EMU_F_APIERROR && strcmp(f->path, path) == 0) {
                snprintf(apicode_buf, sizeof apicode_buf, "%s", f->code);
                apicode = apicode_buf;
                S->stats.faults[EMU_F_APIERROR]++;
            }
        }
    }
    pthread_mutex_unlock(&S->mu);

    if (retry) {
        rate_limited(a, unique, retry);
        json_decref(req);
        return;
    }
    switch (t) {
    case T_500: not_envelope(a, 500, "<html><body><h1>500 Internal Server Error</h1></body></html>"); break;
    case T_502: not_envelope(a, 502, "<html><body><h1>502 Bad Gateway</h1></body></html>"); break;
    case T_503: not_envelope(a, 503, "<html><body><h1>503 Service Unavailable</h1></body></html>"); break;
    case T_RESET: a->reset = 1; break;
    case T_SLOW: emu_sleep_ms(S, slow_ms); break;
    default: break;
    }
    if (t == T_500 || t == T_502 || t == T_503 || t == T_RESET) {
        json_decref(req);
        return;
    }

    if (apicode) {
        envelope(a, unique, apicode, "Erro simulado pelo emulador (apierror)", "{}");
    } else if (is_auth) {
        handle_auth(S, json_is_object(req) ? req : NULL, unique, a);
    } else {
        int valid;
        pthread_mutex_lock(&S->mu);
        valid = token && emu_token_use(S, token) == 0;
        for (size_t i = 0; valid && i < S->faults.n; i++) {
            emu_fault *f = &S->faults.f[i];
            if (f->kind == EMU_F_TOKEN_EXPIRE && ++f->counter % f->a == 0) {
                emu_token_revoke(S, token);
                S->stats.faults[EMU_F_TOKEN_EXPIRE]++;
                valid = 0;
            }
        }
        pthread_mutex_unlock(&S->mu);
        if (!valid) {
            envelope(a, unique, "240006", "Token inválido ou expirado", "{}");
        } else if (!json_is_object(req)) {
            char msg[300];
            if (req)
                snprintf(msg, sizeof msg, "The request body must be a JSON object");
            else if (len == 0)
                snprintf(msg, sizeof msg, "The request body is empty: send a JSON object");
            else
                snprintf(msg, sizeof msg, "The request body is not JSON: %s (line %d, column %d)",
                         jerr.text, jerr.line, jerr.column);
            envelope(a, unique, CODE_BAD_PARAM, msg, "{}");
        } else {
            handle_search(S, sid, req, unique, a);
        }
    }
    json_decref(req);

    if (t == T_BADJSON) {
        free(a->body);
        a->body = NULL;
        emu_buf b = {0};
        emu_buf_puts(&b, "<html><head><title>Gateway</title></head><body>upstream said: {\"code\":"
                         "</body></html>");
        emu_answer_take(a, 200, "application/json; charset=utf-8", &b);
    } else if (t == T_TRUNCATE) {
        a->truncate = 1;
    }
}
