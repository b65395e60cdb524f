/*
 * envelope.c: scanning the answer envelope in place (see envelope.h).
 */
#include "envelope.h"

#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "normalize.h"

/* Keys are compared unescaped; anything longer than this is none of ours. */
#define KEY_CAP 256

/* Whether an unescaped key equals name exactly. */
static int key_is(const char *key, size_t key_len, const char *name)
{
    return name != NULL && strlen(name) == key_len && memcmp(key, name, key_len) == 0;
}

/* A string or number value as text into out; other kinds are skipped and
 * leave *has unset. */
static int scalar_text(dz_scanner *s, char *out, size_t cap, int *has)
{
    dz_json_kind kind = dz_scan_peek(s);
    if (kind == DZ_JSON_STRING) {
        if (dz_scan_string(s, out, cap, NULL, 0) != 0)
            return -1;
        *has = 1;
        return 0;
    }
    if (kind == DZ_JSON_NUMBER) {
        size_t start;
        if (dz_scan_number(s, &start) != 0)
            return -1;
        size_t n = s->pos - start;
        if (n >= cap)
            n = cap - 1;
        memcpy(out, s->buf + start, n);
        out[n] = '\0';
        *has = 1;
        return 0;
    }
    return dz_scan_value(s);
}

/* Text from the server goes into messages printed on terminals and written
 * to logs: an escaped ESC or newline must not reach them as such. */
static void printable(char *text)
{
    for (unsigned char *p = (unsigned char *)text; *p != '\0'; p++)
        if (*p < 0x20 || *p == 0x7f)
            *p = ' ';
}

/* body.next: true/false, or their string and 1/0 spellings; anything else
 * counts as absent (the page loop then stops on an empty page). */
static int scan_next(dz_scanner *s, int *next)
{
    dz_json_kind kind = dz_scan_peek(s);
    if (kind == DZ_JSON_TRUE || kind == DZ_JSON_FALSE) {
        *next = kind == DZ_JSON_TRUE ? DZ_NEXT_TRUE : DZ_NEXT_FALSE;
        return dz_scan_value(s);
    }
    char text[16] = "";
    int has = 0;
    if (scalar_text(s, text, sizeof text, &has) != 0)
        return -1;
    *next = DZ_NEXT_ABSENT;
    if (!has)
        return 0;
    if (strcasecmp(text, "true") == 0 || strcmp(text, "1") == 0)
        *next = DZ_NEXT_TRUE;
    else if (strcasecmp(text, "false") == 0 || strcmp(text, "0") == 0)
        *next = DZ_NEXT_FALSE;
    return 0;
}

/* How items are checked: one object scan each (libsiphon-util's, the
 * scanner the host applies to text records, so an item that passes here
 * passes there), and where their spans go (NULL: only checked). */
typedef struct item_sink {
    const struct dz_shape *shape;
    dz_item_spans *spans;
    siphon_json_object *object;
} item_sink;

static dz_item_span *add_span(dz_item_spans *spans, size_t off, size_t len, int plain)
{
    if (spans->n == spans->cap) {
        size_t ncap = spans->cap ? spans->cap * 2 : 1024;
        dz_item_span *grown = realloc(spans->v, ncap * sizeof *grown);
        if (grown == NULL) {
            spans->failed = 1;
            return NULL;
        }
        spans->v = grown;
        spans->cap = ncap;
    }
    dz_item_span *span = &spans->v[spans->n++];
    *span = (dz_item_span){.off = off, .len = len, .plain = plain};
    return span;
}

/* Keeps the members the scan found for a plain item, unless its table
 * would pass the page's budget or does not fit a dz_member (an item past
 * 64 KiB, a key past 255 bytes); without one the host walks the item itself,
 * which is slower, not wrong. */
static void keep_members(dz_item_spans *spans, dz_item_span *span, const siphon_json_object *o)
{
    size_t need = spans->n_members + o->n_members;
    if (span->len > DZ_MEMBER_ITEM_MAX || need > DZ_MEMBERS_MAX_BYTES / sizeof(dz_member))
        return;
    if (need > spans->cap_members) {
        size_t ncap = spans->cap_members ? spans->cap_members : 4096;
        while (ncap < need)
            ncap *= 2;
        dz_member *grown = realloc(spans->members, ncap * sizeof *grown);
        if (grown == NULL)
            return;
        spans->members = grown;
        spans->cap_members = ncap;
    }
    /* written past the table's end: they count only once the whole item fit */
    for (size_t i = 0; i < o->n_members; i++) {
        const siphon_json_member *m = &o->members[i];
        if (m->key_len > UINT8_MAX)
            return;
        spans->members[spans->n_members + i] = (dz_member){
            .key_off = (uint16_t)(m->key_off - o->start),
            .val_off = (uint16_t)(m->val_off - o->start),
            .val_len = (uint16_t)m->val_len,
            .key_len = (uint8_t)m->key_len,
            .flags = (uint8_t)((m->kind & DZ_MEMBER_KIND) |
                               (m->key_escaped ? DZ_MEMBER_KEY_ESC : 0) |
                               (m->val_escaped ? DZ_MEMBER_VAL_ESC : 0))};
    }
    span->has_members = 1;
    span->compact = o->compact;
    span->first_member = spans->n_members;
    span->n_members = o->n_members;
    spans->n_members = need;
}

const siphon_json_member *dz_item_members(dz_item_spans *spans, const dz_item_span *span)
{
    static const siphon_json_member none[1]; /* the table of an empty object */
    if (span->n_members == 0)
        return none;
    if (span->n_members > spans->cap_handed) {
        siphon_json_member *grown = realloc(spans->handed, span->n_members * sizeof *grown);
        if (grown == NULL)
            return NULL;
        spans->handed = grown;
        spans->cap_handed = span->n_members;
    }
    const dz_member *from = spans->members + span->first_member;
    for (size_t i = 0; i < span->n_members; i++)
        spans->handed[i] = (siphon_json_member){
            .key_off = from[i].key_off, .key_len = from[i].key_len,
            .val_off = from[i].val_off, .val_len = from[i].val_len,
            .key_escaped = (from[i].flags & DZ_MEMBER_KEY_ESC) != 0,
            .kind = from[i].flags & DZ_MEMBER_KIND,
            .val_escaped = (from[i].flags & DZ_MEMBER_VAL_ESC) != 0};
    return spans->handed;
}

static int member_kind(int kind)
{
    return kind == SIPHON_JSON_STRING ? DZ_JSON_STRING
           : kind == SIPHON_JSON_NUMBER ? DZ_JSON_NUMBER
                                        : DZ_JSON_OBJECT; /* never normalised */
}

/* One object item (the scanner is at its '{'), and its span. */
static int scan_item(dz_scanner *s, const item_sink *sink, size_t index)
{
    siphon_json_object *o = sink->object;
    size_t start = s->pos;
    o->origin = start; /* messages count bytes from the start of the answer */
    if (siphon_json_object_scan(o, s->buf + start, s->len - start, 0) != 0) {
        s->pos = start + o->error_offset;
        return dz_scan_fail(s, o->status == SIPHON_JSON_UNSUPPORTED ? DZ_SCAN_UNSUPPORTED
                                                                    : DZ_SCAN_MALFORMED,
                            "item %zu: %s", index, o->error);
    }
    s->pos = start + o->end;
    if (sink->spans == NULL)
        return 0;
    int plain = 1;
    for (size_t i = 0; i < o->n_members && plain; i++) {
        const siphon_json_member *m = &o->members[i];
        /* an escaped key might spell a declared one: only a tree can tell */
        if (m->key_escaped || !dz_shape_keeps(sink->shape, s->buf + start + m->key_off,
                                              m->key_len, member_kind(m->kind)))
            plain = 0;
    }
    dz_item_span *span = add_span(sink->spans, start + o->start, o->end - o->start, plain);
    if (span != NULL && plain)
        keep_members(sink->spans, span, o);
    return 0;
}

/* The items array: counted, each element checked to be an object. */
static int scan_items(dz_scanner *s, dz_envelope *env, const item_sink *sink)
{
    env->items_kind = dz_scan_peek(s);
    env->items_off = s->pos;
    env->n_items = 0;
    env->bad_item = 0;
    if (env->items_kind != DZ_JSON_ARRAY) {
        if (dz_scan_value(s) != 0)
            return -1;
        env->items_len = s->pos - env->items_off;
        return 0;
    }
    if (dz_scan_open(s, '[') != 0)
        return -1;
    size_t n = 0;
    int r;
    while ((r = dz_scan_more(s, ']', &n)) == 1) {
        dz_json_kind kind = dz_scan_peek(s);
        if (kind != DZ_JSON_OBJECT && env->bad_item == 0) {
            env->bad_item = n;
            env->bad_item_kind = kind;
        }
        if (kind == DZ_JSON_OBJECT ? scan_item(s, sink, n) != 0 : dz_scan_value(s) != 0)
            return -1;
    }
    if (r < 0)
        return -1;
    env->n_items = n;
    env->items_len = s->pos - env->items_off;
    return 0;
}

/* Whether the container at the scanner is empty ({} or []), without moving. */
static int container_empty(const dz_scanner *s)
{
    size_t i = s->pos + 1;
    while (i < s->len && (s->buf[i] == ' ' || s->buf[i] == '\t' || s->buf[i] == '\n' ||
                          s->buf[i] == '\r'))
        i++;
    return i < s->len && (s->buf[i] == '}' || s->buf[i] == ']');
}

static int scan_body(dz_scanner *s, const char *items_key, dz_envelope *env,
                     const item_sink *sink)
{
    env->body_kind = dz_scan_peek(s);
    env->body_empty = env->body_kind == DZ_JSON_NULL ||
                      ((env->body_kind == DZ_JSON_OBJECT || env->body_kind == DZ_JSON_ARRAY) &&
                       container_empty(s));
    /* A new body replaces what an earlier duplicate "body" key said. */
    env->items_kind = DZ_JSON_NONE;
    env->n_items = 0;
    env->bad_item = 0;
    env->next = DZ_NEXT_ABSENT;
    env->has_retry_after = 0;
    env->other_array[0] = '\0';
    if (env->body_kind != DZ_JSON_OBJECT)
        return dz_scan_value(s);
    if (dz_scan_open(s, '{') != 0)
        return -1;
    size_t n = 0;
    int r;
    while ((r = dz_scan_more(s, '}', &n)) == 1) {
        char key[KEY_CAP];
        size_t key_len;
        if (dz_scan_string(s, key, sizeof key, &key_len, 1) != 0 || dz_scan_colon(s) != 0)
            return -1;
        int rc;
        if (key_is(key, key_len, items_key)) {
            if (sink->spans != NULL)
                sink->spans->n = sink->spans->n_members = 0; /* a repeated key: the last counts */
            rc = scan_items(s, env, sink);
        } else if (key_is(key, key_len, "next")) {
            rc = scan_next(s, &env->next);
        } else if (key_is(key, key_len, "retry-after")) {
            env->has_retry_after = 0;
            rc = scalar_text(s, env->retry_after, sizeof env->retry_after,
                             &env->has_retry_after);
        } else {
            if (env->other_array[0] == '\0' && dz_scan_peek(s) == DZ_JSON_ARRAY &&
                key_len < sizeof env->other_array)
                memcpy(env->other_array, key, key_len + 1);
            rc = dz_scan_value(s);
        }
        if (rc != 0)
            return -1;
    }
    return r < 0 ? -1 : 0;
}

static int envelope_scan(const char *buf, size_t len, const char *items_key, dz_envelope *env,
                         dz_scanner *s, const item_sink *sink);

int dz_envelope_scan(const char *buf, size_t len, const char *items_key, dz_envelope *env,
                     dz_scanner *s)
{
    return dz_envelope_scan_items(buf, len, items_key, NULL, NULL, env, s);
}

void dz_item_spans_free(dz_item_spans *spans)
{
    free(spans->v);
    free(spans->members);
    free(spans->handed);
    siphon_json_object_free(&spans->object);
    memset(spans, 0, sizeof *spans);
}

int dz_envelope_scan_items(const char *buf, size_t len, const char *items_key,
                           const struct dz_shape *shape, dz_item_spans *spans,
                           dz_envelope *env, dz_scanner *s)
{
    siphon_json_object own = {0};
    item_sink sink = {shape, shape != NULL ? spans : NULL, &own};
    if (spans != NULL) {
        spans->n = 0;
        spans->n_members = 0;
        spans->failed = 0;
        sink.object = &spans->object;
    }
    int rc = envelope_scan(buf, len, items_key, env, s, &sink);
    siphon_json_object_free(&own);
    return rc;
}

static int envelope_scan(const char *buf, size_t len, const char *items_key, dz_envelope *env,
                         dz_scanner *s, const item_sink *sink)
{
    memset(env, 0, sizeof *env);
    env->next = DZ_NEXT_ABSENT;
    dz_scan_init(s, buf, len);
    dz_json_kind top = dz_scan_peek(s);
    if (top != DZ_JSON_OBJECT) {
        if (dz_scan_document(s) != 0)
            return -1; /* not even JSON: say where it breaks */
        s->pos = 0;
        return dz_scan_fail(s, DZ_SCAN_MALFORMED, "the answer is %s, not an envelope object",
                            dz_json_kind_name(top));
    }
    if (dz_scan_open(s, '{') != 0)
        return -1;
    size_t n = 0;
    int r;
    while ((r = dz_scan_more(s, '}', &n)) == 1) {
        char key[KEY_CAP];
        size_t key_len;
        if (dz_scan_string(s, key, sizeof key, &key_len, 1) != 0 || dz_scan_colon(s) != 0)
            return -1;
        int rc;
        if (key_is(key, key_len, "code")) {
            env->has_code = 0;
            rc = scalar_text(s, env->code, sizeof env->code, &env->has_code);
            printable(env->code);
        } else if (key_is(key, key_len, "code_detail")) {
            int has = 0;
            env->detail[0] = '\0';
            rc = scalar_text(s, env->detail, sizeof env->detail, &has);
            printable(env->detail);
        } else if (key_is(key, key_len, "body")) {
            rc = scan_body(s, items_key, env, sink);
        } else {
            rc = dz_scan_value(s);
        }
        if (rc != 0)
            return -1;
    }
    if (r < 0)
        return -1;
    dz_scan_ws(s);
    if (s->pos != s->len)
        return dz_scan_fail(s, DZ_SCAN_MALFORMED,
                            "unexpected data after the envelope at byte %zu", s->pos);
    return 0;
}

static size_t skip_ws(const char *buf, size_t i, size_t end)
{
    while (i < end && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
        i++;
    return i;
}

int dz_items_each(const char *buf, const dz_envelope *env, dz_item_fn fn, void *user, char *why,
                  size_t why_cap)
{
    if (env->items_kind != DZ_JSON_ARRAY)
        return 0;
    size_t end = env->items_off + env->items_len - 1; /* the closing ']' */
    size_t pos = env->items_off + 1;
    for (size_t index = 0;; index++) {
        pos = skip_ws(buf, pos, end);
        if (pos >= end)
            return 0;
        json_error_t e;
        json_t *item = json_loadb(buf + pos, end - pos, JSON_DISABLE_EOF_CHECK | JSON_ALLOW_NUL,
                                  &e);
        if (item == NULL) {
            snprintf(why, why_cap, "item %zu could not be parsed: %s", index + 1, e.text);
            return -1;
        }
        pos += (size_t)e.position;
        int rc = fn(user, item, index);
        if (rc != 0)
            return rc;
        pos = skip_ws(buf, pos, end);
        if (pos < end && buf[pos] == ',')
            pos++;
    }
}
