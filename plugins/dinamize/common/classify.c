/*
 * classify.c: the verdict on one Dinamize answer (see classify.h).
 */
#include "classify.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <siphon/siphon-json.h>

/* The login refusals, with the documented text for answers that carry none. */
static const struct {
    const char *code;
    const char *detail;
} auth_codes[] = {
    {"240002", "Password is required"},
    {"240003", "Username is required"},
    {"240004", "Username or password are invalid"},
    {"240029", "Client code is invalid"},
};

int64_t dz_retry_after_ms(const char *text)
{
    const char *p = text;
    while (*p == ' ')
        p++;
    if (*p < '0' || *p > '9')
        return -1;
    int64_t ms = 0;
    while (*p >= '0' && *p <= '9') {
        if (ms > DZ_RETRY_AFTER_MAX_MS)
            return DZ_RETRY_AFTER_MAX_MS;
        ms = ms * 10 + (*p++ - '0') * 1000;
    }
    if (*p == '.') {
        p++;
        int64_t scale = 100;
        int round_up = 0; /* a fraction of a millisecond is still a wait */
        while (*p >= '0' && *p <= '9') {
            if (scale > 0)
                ms += (*p - '0') * scale;
            else if (*p != '0')
                round_up = 1;
            scale /= 10;
            p++;
        }
        ms += round_up;
    }
    while (*p == ' ')
        p++;
    return *p == '\0' ? ms : -1;
}

static void verdict_set(siphon_verdict *v, int action, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void verdict_set(siphon_verdict *v, int action, const char *fmt, ...)
{
    v->action = action;
    v->wait_ms = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->message, sizeof v->message, fmt, ap);
    va_end(ap);
}

/* The shape of a successful search answer. */
static void check_search(const dz_call *call, siphon_verdict *v)
{
    const dz_envelope *env = &call->env;
    if (env->body_kind == DZ_JSON_NONE || env->body_empty)
        return; /* no rows: an empty page */
    if (env->body_kind != DZ_JSON_OBJECT) {
        verdict_set(v, SIPHON_VERDICT_FATAL, "answer of %s: body is %s, not an object", call->path,
                    dz_json_kind_name(env->body_kind));
        return;
    }
    if (env->items_kind != DZ_JSON_ARRAY && env->items_kind != DZ_JSON_NONE &&
        env->items_kind != DZ_JSON_NULL) {
        verdict_set(v, SIPHON_VERDICT_FATAL, "answer of %s: body.%s is %s, not an array",
                    call->path, call->items_key, dz_json_kind_name(env->items_kind));
        return;
    }
    if (env->bad_item != 0)
        verdict_set(v, SIPHON_VERDICT_FATAL,
                    "answer of %s: item %zu of body.%s is %s, not an object", call->path,
                    env->bad_item, call->items_key, dz_json_kind_name(env->bad_item_kind));
}

void dz_classify(void *user, const siphon_http_response *response, siphon_verdict *v)
{
    dz_call *call = user;
    const char *path = call->path ? call->path : "the API";
    if (response->status != 200) {
        verdict_set(v, SIPHON_VERDICT_RETRY, "HTTP %ld from %s", response->status, path);
        return;
    }
    dz_scanner s;
    if (dz_envelope_scan_items(response->body ? response->body : "",
                               response->body ? response->body_len : 0, call->items_key,
                               call->shape, call->spans, &call->env, &s) != 0) {
        char member[160];
        siphon_json_path_at(response->body ? response->body : "", response->body_len, s.err_offset,
                        member, sizeof member);
        verdict_set(v, s.status == DZ_SCAN_UNSUPPORTED ? SIPHON_VERDICT_FATAL : SIPHON_VERDICT_RETRY,
                    "%s answer from %s (%zu bytes): %s%s%s%s",
                    s.status == DZ_SCAN_UNSUPPORTED ? "unreadable" : "malformed", path,
                    response->body_len, s.err, member[0] ? " (member " : "", member,
                    member[0] ? ")" : "");
        return;
    }
    const dz_envelope *env = &call->env;
    if (!env->has_code) {
        verdict_set(v, SIPHON_VERDICT_RETRY, "answer from %s has no code: not an API envelope",
                    path);
        return;
    }
    if (strcmp(env->code, DZ_CODE_SUCCESS) == 0) {
        verdict_set(v, SIPHON_VERDICT_OK, "%s", "");
        if (call->items_key != NULL)
            check_search(call, v);
        return;
    }
    if (strcmp(env->code, "240006") == 0) {
        verdict_set(v, SIPHON_VERDICT_REAUTH, "session token rejected by %s: 240006 (%s)", path,
                    env->detail[0] ? env->detail : "token invalid or expired");
        return;
    }
    if (strcmp(env->code, "240024") == 0) {
        int64_t ms = env->has_retry_after ? dz_retry_after_ms(env->retry_after) : -1;
        int garbage = ms < 0;
        if (garbage)
            ms = DZ_RETRY_AFTER_DEFAULT_MS;
        if (ms < DZ_RETRY_AFTER_MIN_MS)
            ms = DZ_RETRY_AFTER_MIN_MS;
        if (ms > DZ_RETRY_AFTER_MAX_MS)
            ms = DZ_RETRY_AFTER_MAX_MS;
        verdict_set(v, SIPHON_VERDICT_RATE_LIMITED,
                    "rate limit exceeded on %s: 240024, retry after %lld ms%s", path,
                    (long long)ms, garbage ? " (no usable retry-after: waiting a whole window)" : "");
        v->wait_ms = ms;
        return;
    }
    for (size_t i = 0; i < sizeof auth_codes / sizeof auth_codes[0]; i++) {
        if (strcmp(env->code, auth_codes[i].code) == 0) {
            verdict_set(v, SIPHON_VERDICT_AUTH_REJECTED, "%s (%s)",
                        env->code, env->detail[0] ? env->detail : auth_codes[i].detail);
            return;
        }
    }
    if (env->detail[0])
        verdict_set(v, SIPHON_VERDICT_FATAL, "API error %s (%s) on %s", env->code, env->detail,
                    path);
    else
        verdict_set(v, SIPHON_VERDICT_FATAL, "API error %s on %s", env->code, path);
}
