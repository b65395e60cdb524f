#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

double emu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void emu_sleep_ms(emu_server *S, uint64_t ms)
{
    double end = emu_now() + (double)ms / 1000.0;
    while (!S->stopping) {
        double left = end - emu_now();
        if (left <= 0)
            break;
        if (left > 0.05)
            left = 0.05;
        struct timespec ts = {0, (long)(left * 1e9)};
        nanosleep(&ts, NULL);
    }
}

int emu_server_init(emu_server *S, const emu_options *o, char *err, size_t errlen)
{
    memset(S, 0, sizeof *S);
    S->o = o;
    if (emu_store_init(&S->store, o) != 0 || pthread_mutex_init(&S->mu, NULL) != 0) {
        snprintf(err, errlen, "cannot initialise locks");
        return -1;
    }
    S->stats.requests = json_object();
    S->fault_rng.state = o->fault_seed ^ 0xfa17fa17fa17fa17ULL;
    S->latency_rng.state = o->fault_seed ^ 0x1a7e1a7e1a7e1a7eULL;
    if (emu_faults_parse((const char *const *)o->faults, (size_t)o->nfaults, &S->faults, err,
                         errlen) != 0)
        return -1;
    return 0;
}

void emu_server_free(emu_server *S)
{
    for (size_t i = 0; i < S->nclients; i++) {
        free(S->clients[i].accepted.t);
        free(S->clients[i].arrived.t);
    }
    free(S->clients);
    free(S->tokens);
    json_decref(S->stats.requests);
    emu_faults_free(&S->faults);
    emu_store_free(&S->store);
    pthread_mutex_destroy(&S->mu);
    memset(S, 0, sizeof *S);
}

/* ---- tokens ---- */

void emu_token_issue(emu_server *S, const char *client, char *out)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint64_t serial = ++S->auth_serial;
    uint64_t h = emu_hash(S->o->seed, 0x70c3e, serial, 0);
    /* <5 digits>.<6 digits>.<1-2 digits>.<48 of [A-Za-z0-9+/]> */
    int n = snprintf(out, 72, "%05u.%06u.%u.", (unsigned)(h % 100000),
                     (unsigned)((h >> 17) % 1000000), (unsigned)(1 + (h >> 40) % 99));
    uint64_t r = 0;
    for (int i = 0; i < 48; i++) {
        if (i % 10 == 0)
            r = emu_hash(S->o->seed, 0x70c3f, serial, (uint64_t)i);
        out[n + i] = b64[r & 63];
        r >>= 6;
    }
    /* Every token carries a '+' and a '/', so a client that URL-encodes or
     * otherwise mangles the header fails at once, not once in a while. */
    int p1 = (int)((h >> 8) % 48), p2 = (int)((h >> 20) % 47);
    if (p2 >= p1)
        p2++;
    out[n + p1] = '+';
    out[n + p2] = '/';
    out[n + 48] = '\0';

    double now = emu_now();
    /* Forget expired tokens so the table stays small. */
    size_t k = 0;
    for (size_t i = 0; i < S->ntokens; i++) {
        emu_token *t = &S->tokens[i];
        if (now - t->last <= S->o->token_idle && now - t->created <= S->o->token_max_age)
            S->tokens[k++] = *t;
    }
    S->ntokens = k;
    if (S->ntokens == S->captokens) {
        size_t nc = S->captokens ? S->captokens * 2 : 16;
        emu_token *nt = realloc(S->tokens, nc * sizeof *nt);
        if (nt == NULL)
            return;
        S->tokens = nt;
        S->captokens = nc;
    }
    emu_token *t = &S->tokens[S->ntokens++];
    snprintf(t->text, sizeof t->text, "%s", out);
    snprintf(t->client, sizeof t->client, "%s", client);
    t->created = t->last = now;
}

static emu_token *token_find(emu_server *S, const char *token)
{
    if (token == NULL)
        return NULL;
    for (size_t i = 0; i < S->ntokens; i++)
        if (strcmp(S->tokens[i].text, token) == 0)
            return &S->tokens[i];
    return NULL;
}

const char *emu_token_client(emu_server *S, const char *token)
{
    emu_token *t = token_find(S, token);
    return t ? t->client : NULL;
}

void emu_token_revoke(emu_server *S, const char *token)
{
    emu_token *t = token_find(S, token);
    if (t) {
        *t = S->tokens[S->ntokens - 1];
        S->ntokens--;
    }
}

int emu_token_use(emu_server *S, const char *token)
{
    emu_token *t = token_find(S, token);
    if (t == NULL)
        return -1;
    double now = emu_now();
    if (now - t->last > S->o->token_idle || now - t->created > S->o->token_max_age) {
        emu_token_revoke(S, token);
        return -1;
    }
    t->last = now;
    return 0;
}

/* ---- rate limit ---- */

static int times_push(emu_times *q, double t)
{
    if (q->n == q->cap) {
        size_t nc = q->cap ? q->cap * 2 : 64;
        double *nt = malloc(nc * sizeof *nt);
        if (nt == NULL)
            return -1;
        for (size_t i = 0; i < q->n; i++)
            nt[i] = q->t[(q->head + i) % q->cap];
        free(q->t);
        q->t = nt;
        q->head = 0;
        q->cap = nc;
    }
    q->t[(q->head + q->n) % q->cap] = t;
    q->n++;
    return 0;
}

static double times_front(const emu_times *q)
{
    return q->t[q->head];
}

/* Drops times at or before limit: they left the window. */
static void times_prune(emu_times *q, double limit)
{
    while (q->n > 0 && times_front(q) <= limit) {
        q->head = (q->head + 1) % q->cap;
        q->n--;
    }
}

static emu_client *client_get(emu_server *S, const char *code)
{
    for (size_t i = 0; i < S->nclients; i++)
        if (strcmp(S->clients[i].code, code) == 0)
            return &S->clients[i];
    if (S->nclients == S->capclients) {
        size_t nc = S->capclients ? S->capclients * 2 : 8;
        emu_client *ncl = realloc(S->clients, nc * sizeof *ncl);
        if (ncl == NULL)
            return NULL;
        S->clients = ncl;
        S->capclients = nc;
    }
    emu_client *c = &S->clients[S->nclients++];
    memset(c, 0, sizeof *c);
    snprintf(c->code, sizeof c->code, "%s", code);
    return c;
}

uint64_t emu_rate_admit(emu_server *S, const char *client, double now)
{
    emu_client *c = client_get(S, client ? client : "");
    if (c == NULL)
        return 0;
    double window = S->o->rate_window;
    times_prune(&c->arrived, now - window);
    times_push(&c->arrived, now);
    if (c->arrived.n > S->stats.peak_window)
        S->stats.peak_window = c->arrived.n;
    if (now < c->retry_deadline)
        S->stats.violations++;
    if (S->o->rate_limit == 0)
        return 0;
    times_prune(&c->accepted, now - window);
    if (c->accepted.n >= S->o->rate_limit) {
        double wait = times_front(&c->accepted) + window - now;
        uint64_t secs = (uint64_t)ceil(wait);
        if (secs < 1)
            secs = 1;
        S->stats.rate_limited++;
        emu_rate_told(S, client, now, secs);
        return secs;
    }
    times_push(&c->accepted, now);
    return 0;
}

void emu_rate_told(emu_server *S, const char *client, double now, uint64_t secs)
{
    emu_client *c = client_get(S, client ? client : "");
    if (c && now + (double)secs > c->retry_deadline)
        c->retry_deadline = now + (double)secs;
}

/* ---- stats ---- */

void emu_stats_count(emu_server *S, const char *path)
{
    json_t *n = json_object_get(S->stats.requests, path);
    json_object_set_new(S->stats.requests, path,
                        json_integer(n ? json_integer_value(n) + 1 : 1));
    S->stats.total++;
}

json_t *emu_stats_json(emu_server *S)
{
    json_t *faults = json_object();
    for (int k = 0; k < EMU_F_NKINDS; k++)
        json_object_set_new(faults, emu_fault_names[k],
                            json_integer((json_int_t)S->stats.faults[k]));
    return json_pack("{s:O,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "requests", S->stats.requests,
                     "total", (json_int_t)S->stats.total, "rate_limited",
                     (json_int_t)S->stats.rate_limited, "violations",
                     (json_int_t)S->stats.violations, "peak_window",
                     (json_int_t)S->stats.peak_window, "auth_ok", (json_int_t)S->stats.auth_ok,
                     "auth_failed", (json_int_t)S->stats.auth_failed, "faults", faults);
}

void emu_stats_reset(emu_server *S)
{
    json_object_clear(S->stats.requests);
    json_t *req = S->stats.requests;
    memset(&S->stats, 0, sizeof S->stats);
    S->stats.requests = req;
    for (size_t i = 0; i < S->nclients; i++) {
        S->clients[i].arrived.n = 0;
        S->clients[i].arrived.head = 0;
    }
}
