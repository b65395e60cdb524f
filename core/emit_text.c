/*
 * emit_text.c: the record path of text records (emit_raw), the fast path for
 * large pages: a record that nothing downstream needs as a tree stays the
 * text the plugin gave, checked and noted in one pass, and is copied once,
 * into a block shared with the records around it.
 *
 * It does what emit_record does to a tree, with the same results:
 *  - schema drift: every top-level key the schema lacks is warned about once;
 *    the keys of a record are compared with the layouts already checked
 *    (records of a page share one), so most records cost a few compares;
 *  - the bookmark: the replication key's string value is tracked;
 *  - the partition's keys: those the record lacks are spliced in before its
 *    closing brace, where json_object_update_missing would have put them.
 * A record whose text would need more than that (a top-level key written with
 * an escape, a key given twice, an escaped bookmark value) goes the tree way,
 * so a sink never sees two records that should be equal differ.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <siphon/siphon-json.h>

#include "record_check.h"
#include "run.h"

/* json_object_getn for keys given by length (jansson 2.14 has it; 2.13 gets
 * a NUL-terminated copy). */
static json_t *object_getn(const json_t *object, const char *key, size_t len)
{
#if JANSSON_VERSION_HEX >= 0x020e00
    return json_object_getn(object, key, len);
#else
    char *copy = strndup(key, len);
    json_t *v = copy ? json_object_get(object, copy) : NULL;
    free(copy);
    return v;
#endif
}

static size_t iter_key_len(void *iter)
{
#if JANSSON_VERSION_HEX >= 0x020e00
    return json_object_iter_key_len(iter);
#else
    return strlen(json_object_iter_key(iter));
#endif
}

/* A key of the partition context, ready to be spliced into records. */
typedef struct splice_key {
    const char *key;          /* borrowed from the context (lives as long as the task) */
    size_t key_len;
    char *member;             /* "key":value, compact */
    size_t member_len;
    const char *str;          /* the value's text when it is a string, else NULL */
    size_t str_len;
    size_t hint;              /* where the last record had this key */
} splice_key;

/* Key layouts already checked: the top-level keys of a record, each followed
 * by a NUL (keys hold no NUL: they have no escapes). */
#define N_LAYOUTS 4

typedef struct sx_text_state {
    siphon_json_object rt;
    sx_text_block *block;     /* the block being filled (the ctx's reference) */
    const json_t *props;      /* the schema's properties, or NULL (no drift checks) */
    const char *rk;           /* the replication key, or NULL */
    size_t rk_len;
    size_t rk_hint;
    splice_key *splice;
    size_t n_splice;
    unsigned char *missing;   /* per context key: spliced into this record */
    siphon_buf layouts[N_LAYOUTS];
    size_t next_layout;
} sx_text_state;

static void state_free(sx_text_state *st)
{
    siphon_json_object_free(&st->rt);
    sx_text_block_unref(st->block);
    for (size_t i = 0; i < st->n_splice; i++)
        free(st->splice[i].member);
    free(st->splice);
    free(st->missing);
    for (size_t i = 0; i < N_LAYOUTS; i++)
        siphon_buf_free(&st->layouts[i]);
    free(st);
}

void sx_emit_text_release(siphon_ctx *ctx)
{
    if (ctx->text != NULL)
        state_free(ctx->text);
    ctx->text = NULL;
}

/* The context's keys as text, once per partition. */
static int prepare_splice(sx_text_state *st, sx_job *job, const json_t *context)
{
    if (!json_is_object(context) || json_object_size(context) == 0)
        return 0;
    st->splice = calloc(json_object_size(context), sizeof *st->splice);
    st->missing = calloc(json_object_size(context), 1);
    if (st->splice == NULL || st->missing == NULL)
        return -1;
    for (void *it = json_object_iter((json_t *)context); it != NULL;
         it = json_object_iter_next((json_t *)context, it)) {
        splice_key *k = &st->splice[st->n_splice++];
        const json_t *v = json_object_iter_value(it);
        k->key = json_object_iter_key(it);
        k->key_len = iter_key_len(it);
        siphon_buf b = {0};
        if (siphon_json_append_string(&b, k->key, k->key_len) != 0 ||
            siphon_buf_append(&b, ":", 1) != 0 || siphon_json_append(&b, v) != 0) {
            siphon_buf_free(&b);
            return -1;
        }
        k->member = b.data;
        k->member_len = b.len;
        if (json_is_string(v)) {
            k->str = json_string_value(v);
            k->str_len = json_string_length(v);
        }
        /* every record carries the context's keys, so they are checked here */
        if (st->props != NULL && object_getn(st->props, k->key, k->key_len) == NULL)
            sx_job_note_unknown_key(job, k->key, k->key_len);
    }
    return 0;
}

static sx_text_state *state_for(siphon_ctx *ctx)
{
    if (ctx->text != NULL)
        return ctx->text;
    sx_text_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        return NULL;
    sx_job *job = ctx->job;
    const json_t *props = json_object_get(job->entry->schema, "properties");
    st->props = json_is_object(props) ? props : NULL;
    st->rk = job->replication_key;
    st->rk_len = st->rk ? strlen(st->rk) : 0;
    if (prepare_splice(st, job, ctx->context) != 0) {
        state_free(st);
        return NULL;
    }
    ctx->text = st;
    return st;
}

static int key_is(const char *text, const siphon_json_member *m, const char *key, size_t len)
{
    return m->key_len == len && siphon_same_bytes(text + m->key_off, key, len);
}

/* The member named key, or NULL; *hint remembers where it was, since the
 * records of a page put their keys in the same places. */
static const siphon_json_member *find_member(const siphon_json_object *rt, const char *text, const char *key,
                                          size_t len, size_t *hint)
{
    if (*hint < rt->n_members && key_is(text, &rt->members[*hint], key, len))
        return &rt->members[*hint];
    for (size_t i = 0; i < rt->n_members; i++) {
        if (key_is(text, &rt->members[i], key, len)) {
            *hint = i;
            return &rt->members[i];
        }
    }
    return NULL;
}

static int layout_matches(const siphon_buf *layout, const siphon_json_object *rt, const char *text)
{
    if (layout->data == NULL)
        return 0;
    size_t off = 0;
    for (size_t i = 0; i < rt->n_members; i++) {
        const siphon_json_member *m = &rt->members[i];
        if (off + m->key_len >= layout->len ||
            !siphon_same_bytes(layout->data + off, text + m->key_off, m->key_len) ||
            layout->data[off + m->key_len] != '\0')
            return 0;
        off += m->key_len + 1;
    }
    return off == layout->len;
}

/*
 * Checks the keys of a layout not seen before: SX_EMIT_NEEDS_TREE for an
 * escaped or repeated key; otherwise warns about undeclared keys and
 * remembers the layout. Returns 0, SX_EMIT_NEEDS_TREE or -1 (out of memory).
 */
static int check_layout(sx_text_state *st, sx_job *job, const char *text)
{
    const siphon_json_object *rt = &st->rt;
    for (size_t i = 0; i < rt->n_members; i++) {
        const siphon_json_member *m = &rt->members[i];
        if (m->key_escaped)
            return SX_EMIT_NEEDS_TREE;
        for (size_t j = 0; j < i; j++)
            if (key_is(text, &rt->members[j], text + m->key_off, m->key_len))
                return SX_EMIT_NEEDS_TREE;
    }
    siphon_buf *layout = &st->layouts[st->next_layout];
    st->next_layout = (st->next_layout + 1) % N_LAYOUTS;
    layout->len = 0;
    for (size_t i = 0; i < rt->n_members; i++) {
        const siphon_json_member *m = &rt->members[i];
        if (st->props != NULL && object_getn(st->props, text + m->key_off, m->key_len) == NULL)
            sx_job_note_unknown_key(job, text + m->key_off, m->key_len);
        if (siphon_buf_append(layout, text + m->key_off, m->key_len) != 0 ||
            siphon_buf_append(layout, "", 1) != 0) {
            layout->len = 0;
            return -1;
        }
    }
    /* an object without members has an empty layout, which must still match */
    if (layout->data == NULL && siphon_buf_reserve(layout, 0) != 0)
        return -1;
    return 0;
}

static int known_layout(sx_text_state *st, const char *text)
{
    for (size_t i = 0; i < N_LAYOUTS; i++)
        if (layout_matches(&st->layouts[i], &st->rt, text))
            return 1;
    return 0;
}

/* Room for n bytes in the ctx's block, starting a new block when it is full. */
static char *take(sx_text_state *st, size_t n)
{
    char *at = sx_text_block_take(st->block, n);
    if (at != NULL)
        return at;
    sx_text_block *fresh = sx_text_block_new(n);
    if (fresh == NULL)
        return NULL;
    sx_text_block_unref(st->block);
    st->block = fresh;
    return sx_text_block_take(fresh, n);
}

/*
 * Takes the member table a plugin handed over, after checking that it fits
 * the text: the object's braces at its ends, each key between quotes, each
 * value inside the object after its key and shaped as its kind says, the
 * members in order. What the host reads through the table (keys, the
 * bookmark's string, the copied span) then stays inside the text, whatever
 * the plugin got wrong. Returns 0, or -1 with rt->error.
 */
static int adopt_members(siphon_json_object *rt, const char *json, size_t len,
                         const sx_text_facts *facts)
{
    rt->n_members = 0;
    rt->status = SIPHON_JSON_MALFORMED;
    if (len < 2 || json[0] != '{' || json[len - 1] != '}') {
        snprintf(rt->error, sizeof rt->error, "the text does not start with '{' and end with '}'");
        rt->error_offset = 0;
        return -1;
    }
    if (facts->n_members > len / 4) { /* a member takes four bytes at least: "":0 */
        snprintf(rt->error, sizeof rt->error, "%zu members cannot fit %zu bytes", facts->n_members,
                 len);
        rt->error_offset = 0;
        return -1;
    }
    if (facts->n_members > rt->cap_members) {
        siphon_json_member *grown = realloc(rt->members, facts->n_members * sizeof *grown);
        if (grown == NULL) {
            rt->status = SIPHON_JSON_NOMEM;
            return -1;
        }
        rt->members = grown;
        rt->cap_members = facts->n_members;
    }
    size_t after = 1; /* where the previous member ended */
    for (size_t i = 0; i < facts->n_members; i++) {
        const siphon_json_member *m = &facts->members[i];
        /* each bound before the next, so no sum can overflow */
        int fits = m->key_off > after && m->key_off < len && m->key_len < len - m->key_off &&
                   json[m->key_off - 1] == '"' && json[m->key_off + m->key_len] == '"' &&
                   m->val_off > m->key_off + m->key_len && m->val_off < len - 1 &&
                   m->val_len >= 1 && m->val_len <= len - 1 - m->val_off;
        if (fits) {
            char first = json[m->val_off], last = json[m->val_off + m->val_len - 1];
            int pair = m->val_len >= 2;
            switch (m->kind) {
            case SIPHON_JSON_STRING: fits = pair && first == '"' && last == '"'; break;
            case SIPHON_JSON_OBJECT: fits = pair && first == '{' && last == '}'; break;
            case SIPHON_JSON_ARRAY: fits = pair && first == '[' && last == ']'; break;
            case SIPHON_JSON_NUMBER:
            case SIPHON_JSON_TRUE:
            case SIPHON_JSON_FALSE:
            case SIPHON_JSON_NULL: break;
            default: fits = 0;
            }
        }
        if (!fits) {
            snprintf(rt->error, sizeof rt->error, "entry %zu of %zu does not fit the text", i + 1,
                     facts->n_members);
            rt->error_offset = 0;
            return -1;
        }
        rt->members[i] = *m;
        after = m->val_off + m->val_len;
    }
    rt->n_members = facts->n_members;
    rt->start = 0;
    rt->end = len;
    rt->compact = facts->compact != 0;
    rt->status = SIPHON_JSON_OK;
    return 0;
}

/* The record's members into rt: checked here (emit_raw), found (a checked
 * text without a table), or taken from the plugin's table. */
static int read_members(siphon_json_object *rt, const char *json, size_t len,
                        const sx_text_facts *facts)
{
    if (facts == NULL)
        return siphon_json_object_scan(rt, json, len, 1);
    if (facts->members == NULL)
        return siphon_json_object_split(rt, json, len);
    return adopt_members(rt, json, len, facts);
}

int sx_emit_text(siphon_ctx *ctx, const char *json, size_t len, const sx_text_facts *facts)
{
    sx_job *job = ctx->job;
    sx_text_state *st = state_for(ctx);
    if (st == NULL)
        return SIPHON_E_NOMEM;
    siphon_json_object *rt = &st->rt;
    int rc = read_members(rt, json, len, facts);
    if (rc != 0 && rt->status == SIPHON_JSON_NOMEM)
        return SIPHON_E_NOMEM;
    if (rc != 0 && facts != NULL && facts->members != NULL) {
        snprintf(ctx->error, sizeof ctx->error,
                 "plugin '%s' handed over a member table that does not fit its record text (%s)",
                 ctx->stream->plugin->desc->name, rt->error);
        return SIPHON_E_INVALID;
    }
    if (rc != 0) {
        /* Name the member: "integer does not fit 64 bits" alone does not say which. */
        char member[256];
        siphon_json_path_at(json, len, rt->error_offset, member, sizeof member);
        snprintf(ctx->error, sizeof ctx->error,
                 "plugin '%s' emitted record text that is not one JSON object (%s; member '%s')",
                 ctx->stream->plugin->desc->name, rt->error, member[0] ? member : "(top level)");
        return SIPHON_E_INVALID;
    }
    if (!known_layout(st, json)) {
        rc = check_layout(st, job, json);
        if (rc != 0)
            return rc < 0 ? SIPHON_E_NOMEM : rc;
    }

    /* Everything that could still send the record the tree way is decided
     * before anything is noted. */
    const char *bookmark = NULL;
    size_t bookmark_len = 0;
    int rk_found = 0;
    if (st->rk != NULL) {
        const siphon_json_member *m = find_member(rt, json, st->rk, st->rk_len, &st->rk_hint);
        if (m != NULL) {
            rk_found = 1;
            if (m->kind == SIPHON_JSON_STRING) {
                if (m->val_escaped)
                    return SX_EMIT_NEEDS_TREE;
                bookmark = json + m->val_off + 1;
                bookmark_len = m->val_len - 2;
            }
        }
    }
    size_t need = rt->end - rt->start;
    int missing = 0;
    for (size_t i = 0; i < st->n_splice; i++) {
        splice_key *k = &st->splice[i];
        st->missing[i] = find_member(rt, json, k->key, k->key_len, &k->hint) == NULL;
        if (!st->missing[i])
            continue;
        missing = 1;
        need += k->member_len + 1;
        if (st->rk != NULL && !rk_found && k->str != NULL && k->key_len == st->rk_len &&
            memcmp(k->key, st->rk, st->rk_len) == 0) {
            bookmark = k->str;
            bookmark_len = k->str_len;
        }
    }

    char *out = take(st, need);
    if (out == NULL)
        return SIPHON_E_NOMEM;
    size_t n;
    if (rt->compact) {
        n = rt->end - rt->start;
        memcpy(out, json + rt->start, n);
    } else {
        n = siphon_json_object_compact(rt, json, out);
    }
    if (missing) {
        n--; /* reopen the object */
        int first = rt->n_members == 0;
        for (size_t i = 0; i < st->n_splice; i++) {
            if (!st->missing[i])
                continue;
            if (!first)
                out[n++] = ',';
            first = 0;
            memcpy(out + n, st->splice[i].member, st->splice[i].member_len);
            n += st->splice[i].member_len;
        }
        out[n++] = '}';
    }
    sx_text_block_give_back(st->block, need - n);

    if (bookmark != NULL)
        sx_task_track_value(ctx->task, bookmark, bookmark_len);
    ctx->task->records++;
    atomic_fetch_add(&job->records, 1);
    sx_text_block_ref(st->block);
    sx_msg msg = {.type = SX_MSG_RECORD, .job = job, .task = ctx->task, .raw = out,
                  .raw_len = n, .block = st->block, .extracted_ms = sx_stamp_ms()};
    return sx_ctx_queue(ctx, &msg) == 0 ? SIPHON_OK : SIPHON_E_CANCELLED;
}
