/*
 * fuzz_envelope.c: Dinamize API answers (plugins/dinamize/common: the
 * validating JSON scanner, the envelope scanner, the item iterator and the
 * classifier), on arbitrary bodies of HTTP 200 answers.
 *
 * The scanner exists so a page of 10 000 records is never one jansson tree;
 * it is only safe if it agrees with jansson exactly. So every input is also
 * parsed whole by jansson, and the two must agree:
 *  - the scanner accepts a document exactly when jansson does (with the
 *    flags the item iterator uses);
 *  - an envelope is accepted exactly when the document is a JSON object, and
 *    what the scan noted (code, next, items: kind, count, first non-object)
 *    is what the parsed tree holds;
 *  - the items, parsed one by one in place, equal the tree's items;
 *  - libsiphon-util's split (emit_raw_checked's member finder) never reads
 *    outside the input, and on every object the scan accepts finds exactly
 *    the members the scan found;
 *  - the member tables the page loop keeps for plain items (handed to the
 *    host instead of a second walk) are what a scan of each item finds;
 *  - the classifier's verdict is one of the actions, a rate-limit wait stays
 *    within its bounds, a success with items of the wrong shape is never OK,
 *    and its message is one line of printable UTF-8 (the API's own text
 *    reaches logs through it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classify.h"
#include "envelope.h"
#include "fuzz_support.h"
#include "json_scan.h"
#include "normalize.h"
#include "stream.h"

/* The flags dz_items_each parses items with (the EOF check aside). */
#define JANSSON_FLAGS (JSON_DECODE_ANY | JSON_ALLOW_NUL)

typedef struct items_seen {
    const json_t *expected; /* the tree's items array */
    size_t count;
} items_seen;

static int on_item(void *user, json_t *item, size_t index)
{
    items_seen *seen = user;
    SXT_FUZZ_CHECK(index == seen->count, "item %zu handed over as %zu", seen->count, index);
    SXT_FUZZ_CHECK(json_equal(item, json_array_get(seen->expected, index)),
                   "item %zu parsed in place differs from the tree's", index);
    seen->count++;
    json_decref(item);
    return 0;
}

static int count_item(void *user, json_t *item, size_t index)
{
    (void)index;
    ((items_seen *)user)->count++;
    json_decref(item);
    return 0;
}

static dz_json_kind kind_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return DZ_JSON_OBJECT;
    case JSON_ARRAY: return DZ_JSON_ARRAY;
    case JSON_STRING: return DZ_JSON_STRING;
    case JSON_INTEGER:
    case JSON_REAL: return DZ_JSON_NUMBER;
    case JSON_TRUE: return DZ_JSON_TRUE;
    case JSON_FALSE: return DZ_JSON_FALSE;
    case JSON_NULL: return DZ_JSON_NULL;
    }
    return DZ_JSON_NONE;
}

/* A string member as the envelope keeps it: unescaped, ended early by an
 * escaped NUL, control characters turned into spaces, and cut to at most
 * cap - 1 bytes at a character boundary (never inside a UTF-8 sequence). */
static void check_text(const char *what, const char *noted, size_t cap, const json_t *v)
{
    const char *text = json_string_value(v);
    size_t len = strnlen(text, json_string_length(v));
    size_t got = strlen(noted);
    SXT_FUZZ_CHECK(got <= len, "%s noted with %zu bytes, longer than its %zu", what, got, len);
    /* Control characters become spaces: the text goes to terminals. */
    for (size_t i = 0; i < got; i++) {
        unsigned char want = (unsigned char)text[i];
        if (want < 0x20 || want == 0x7f)
            want = ' ';
        SXT_FUZZ_CHECK((unsigned char)noted[i] == want, "%s noted as \"%s\"", what, noted);
    }
    if (len <= cap - 1) {
        SXT_FUZZ_CHECK(got == len, "%s noted with %zu of %zu bytes", what, got, len);
        return;
    }
    SXT_FUZZ_CHECK(got <= cap - 1 && got + 4 > cap - 1, "%s cut to %zu bytes", what, got);
    json_t *check = json_string(noted);
    SXT_FUZZ_CHECK(check != NULL, "%s cut inside a character", what);
    json_decref(check);
}

static void check_envelope(const dz_envelope *env, const json_t *doc, const char *items_key)
{
    const json_t *code = json_object_get(doc, "code");
    SXT_FUZZ_CHECK(env->has_code == (json_is_string(code) || json_is_number(code)),
                   "has_code %d", env->has_code);
    if (json_is_string(code))
        check_text("code", env->code, sizeof env->code, code);
    else if (json_is_integer(code) && strlen(env->code) < sizeof env->code - 1)
        SXT_FUZZ_CHECK(strtoll(env->code, NULL, 10) == json_integer_value(code),
                       "code %lld noted as %s", (long long)json_integer_value(code), env->code);
    const json_t *detail = json_object_get(doc, "code_detail");
    if (json_is_string(detail))
        check_text("code_detail", env->detail, sizeof env->detail, detail);

    const json_t *body = json_object_get(doc, "body");
    SXT_FUZZ_CHECK(env->body_kind == (body ? kind_of(body) : DZ_JSON_NONE), "body kind %d",
                   env->body_kind);
    int empty = json_is_null(body) || (json_is_object(body) && json_object_size(body) == 0) ||
                (json_is_array(body) && json_array_size(body) == 0);
    SXT_FUZZ_CHECK(env->body_empty == empty, "body_empty %d", env->body_empty);
    if (!json_is_object(body))
        return;

    const json_t *next = json_object_get(body, "next");
    int want_next = DZ_NEXT_ABSENT;
    if (json_is_boolean(next))
        want_next = json_is_true(next);
    else if (json_is_integer(next) && (json_integer_value(next) == 0 || json_integer_value(next) == 1))
        want_next = (int)json_integer_value(next);
    else if (json_is_string(next) && strcasecmp(json_string_value(next), "true") == 0)
        want_next = DZ_NEXT_TRUE;
    else if (json_is_string(next) && strcasecmp(json_string_value(next), "false") == 0)
        want_next = DZ_NEXT_FALSE;
    else if (json_is_string(next) && strcmp(json_string_value(next), "1") == 0)
        want_next = DZ_NEXT_TRUE;
    else if (json_is_string(next) && strcmp(json_string_value(next), "0") == 0)
        want_next = DZ_NEXT_FALSE;
    /* A number spelt otherwise ("1.0", "-0", "1e0") is compared as text by
     * the scanner: only the tree's plain integers are judged here. */
    if (!json_is_real(next))
        SXT_FUZZ_CHECK(env->next == want_next, "next noted %d, the tree says %d", env->next,
                       want_next);

    const json_t *items = items_key ? json_object_get(body, items_key) : NULL;
    SXT_FUZZ_CHECK(env->items_kind == (items ? kind_of(items) : DZ_JSON_NONE),
                   "items kind %d", env->items_kind);
    if (!json_is_array(items))
        return;
    SXT_FUZZ_CHECK(env->n_items == json_array_size(items), "%zu items noted, %zu in the tree",
                   env->n_items, json_array_size(items));
    size_t first_bad = 0;
    for (size_t i = 0; i < json_array_size(items) && first_bad == 0; i++)
        if (!json_is_object(json_array_get(items, i)))
            first_bad = i + 1;
    SXT_FUZZ_CHECK(env->bad_item == first_bad, "first non-object item %zu, the tree says %zu",
                   env->bad_item, first_bad);
}

static void check_message(const char *msg)
{
    SXT_FUZZ_CHECK(memchr(msg, '\0', sizeof ((siphon_verdict *)0)->message) != NULL,
                   "message not terminated");
    for (const unsigned char *p = (const unsigned char *)msg; *p != '\0'; p++)
        SXT_FUZZ_CHECK(*p >= 0x20 && *p != 0x7f, "control byte 0x%02x in the message: %s", *p,
                       msg);
    json_t *s = json_string(msg);
    SXT_FUZZ_CHECK(s != NULL, "the message is not UTF-8: %s", msg);
    json_decref(s);
}

static void check_verdict(const char *body, size_t len, const char *items_key,
                          const dz_envelope *env, int scanned)
{
    dz_call call;
    memset(&call, 0, sizeof call);
    call.path = "/emkt/contact/search";
    call.items_key = items_key;
    siphon_http_response response = {sizeof response, 200, body, len, 0.1, 1};
    siphon_verdict v;
    memset(&v, 0x55, sizeof v); /* the classifier must set what it says */
    v.message[sizeof v.message - 1] = '\0';
    dz_classify(&call, &response, &v);
    SXT_FUZZ_CHECK(v.action >= SIPHON_VERDICT_OK && v.action <= SIPHON_VERDICT_FATAL,
                   "action %d", v.action);
    check_message(v.message);
    if (v.action == SIPHON_VERDICT_RATE_LIMITED)
        SXT_FUZZ_CHECK(v.wait_ms >= DZ_RETRY_AFTER_MIN_MS && v.wait_ms <= DZ_RETRY_AFTER_MAX_MS,
                       "wait %lld ms", (long long)v.wait_ms);
    if (!scanned) {
        SXT_FUZZ_CHECK(v.action == SIPHON_VERDICT_RETRY || v.action == SIPHON_VERDICT_FATAL,
                       "an answer that does not scan is action %d", v.action);
        return;
    }
    if (v.action == SIPHON_VERDICT_OK) {
        SXT_FUZZ_CHECK(env->has_code && strcmp(env->code, DZ_CODE_SUCCESS) == 0,
                       "OK for code '%s'", env->code);
        if (items_key != NULL && !env->body_empty && env->body_kind != DZ_JSON_NONE)
            SXT_FUZZ_CHECK(env->body_kind == DZ_JSON_OBJECT && env->bad_item == 0 &&
                               (env->items_kind == DZ_JSON_ARRAY ||
                                env->items_kind == DZ_JSON_NONE ||
                                env->items_kind == DZ_JSON_NULL),
                           "a search answer of the wrong shape is OK");
    }
    if (env->has_retry_after) {
        int64_t ms = dz_retry_after_ms(env->retry_after);
        SXT_FUZZ_CHECK(ms >= -1, "retry-after \"%s\" reads %lld ms", env->retry_after,
                       (long long)ms);
    }
}

/* The split against the scan, on the raw input (not NUL-terminated, so a
 * read past its end is a sanitizer report). */
static void check_split(const uint8_t *data, size_t size)
{
    static siphon_json_object scan, split;
    int split_ok = siphon_json_object_split(&split, (const char *)data, size) == 0;
    if (siphon_json_object_scan(&scan, (const char *)data, size, 1) != 0) {
        SXT_FUZZ_CHECK(split_ok || split.error[0] != '\0', "split refused without a reason");
        return;
    }
    SXT_FUZZ_CHECK(split_ok, "split refused an object the scan accepted: %s", split.error);
    SXT_FUZZ_CHECK(split.n_members == scan.n_members && split.start == scan.start &&
                       split.end == scan.end && split.compact == scan.compact,
                   "split found %zu members, the scan %zu", split.n_members, scan.n_members);
    for (size_t i = 0; i < scan.n_members; i++) {
        const siphon_json_member *a = &scan.members[i], *b = &split.members[i];
        SXT_FUZZ_CHECK(a->key_off == b->key_off && a->key_len == b->key_len &&
                           a->val_off == b->val_off && a->val_len == b->val_len &&
                           a->key_escaped == b->key_escaped && a->kind == b->kind &&
                           a->val_escaped == b->val_escaped,
                       "member %zu: split and scan differ", i);
    }
}

/* The page loop's spans and member tables against a scan of each item. */
static void check_tables(const char *body, size_t size)
{
    static const char schema[] = DZ_SCHEMA(
        DZ_PROP("code", DZ_KEY("k")) "," DZ_PROP("total", DZ_TEXT("t")) ","
        DZ_PROP("optout", DZ_FLAG("f")));
    static dz_shape *shape;
    static dz_item_spans spans;
    static siphon_json_object item;
    char why[200];
    if (shape == NULL)
        shape = dz_shape_from_schema(schema, why, sizeof why);
    SXT_FUZZ_CHECK(shape != NULL, "the harness's schema: %s", why);
    dz_envelope env;
    dz_scanner s;
    if (dz_envelope_scan_items(body, size, "items", shape, &spans, &env, &s) != 0 || spans.failed)
        return;
    for (size_t i = 0; i < spans.n; i++) {
        const dz_item_span *span = &spans.v[i];
        SXT_FUZZ_CHECK(span->off + span->len <= size, "span %zu ends past the body", i);
        SXT_FUZZ_CHECK(!span->has_members || span->plain, "item %zu has a table, not plain", i);
        if (!span->has_members)
            continue;
        SXT_FUZZ_CHECK(siphon_json_object_scan(&item, body + span->off, span->len, 1) == 0,
                       "item %zu alone does not scan: %s", i, item.error);
        const siphon_json_member *got = dz_item_members(&spans, span);
        SXT_FUZZ_CHECK(got != NULL && span->n_members == item.n_members &&
                           span->compact == item.compact,
                       "item %zu: table of %zu members, the scan %zu", i, span->n_members,
                       item.n_members);
        for (size_t k = 0; k < item.n_members; k++) {
            const siphon_json_member *a = &item.members[k], *b = &got[k];
            SXT_FUZZ_CHECK(a->key_off == b->key_off && a->key_len == b->key_len &&
                               a->val_off == b->val_off && a->val_len == b->val_len &&
                               a->key_escaped == b->key_escaped && a->kind == b->kind &&
                               a->val_escaped == b->val_escaped,
                           "item %zu member %zu: table and scan differ", i, k);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_split(data, size);

    /* The host hands classifiers a NUL-terminated body. */
    char *body = sxt_fuzz_text(data, size);
    check_tables(body, size);

    json_error_t jerr;
    json_t *doc = json_loadb(body, size, JANSSON_FLAGS, &jerr);
    dz_scanner s;
    dz_scan_init(&s, body, size);
    int whole = dz_scan_document(&s) == 0;
    /* jansson with JSON_ALLOW_NUL takes a raw NUL byte after a value for the
     * end of the input ("-1\0" parses); the scanner refuses raw NUL bytes
     * anywhere, as JSON does. Stricter is safe: the answer is retried. */
    int raw_nul = memchr(data, '\0', size) != NULL;
    if (raw_nul && doc != NULL && !whole) {
        json_decref(doc);
        doc = NULL;
    }
    SXT_FUZZ_CHECK(whole == (doc != NULL), "the scanner %s what jansson %s (%s / %s)",
                   whole ? "accepts" : "refuses", doc ? "accepts" : "refuses", s.err,
                   jerr.text);

    static const char *const keys[] = {"items", NULL};
    for (size_t k = 0; k < 2; k++) {
        const char *items_key = keys[k];
        dz_envelope env;
        int scanned = dz_envelope_scan(body, size, items_key, &env, &s) == 0;
        /* The envelope and its body are walked by hand, and only the
         * values inside count their depth against jansson's limit: a page
         * nested up to that limit inside its items is accepted although
         * jansson refuses the whole document. Harmless (each item is parsed
         * alone, within the limit), so that one difference is allowed. */
        int too_deep = doc == NULL && strstr(jerr.text, "depth") != NULL;
        SXT_FUZZ_CHECK(scanned == json_is_object(doc) || (scanned && too_deep),
                       "envelope %s, the document is %s: %s / %s",
                       scanned ? "accepted" : "refused", doc ? "JSON" : "not JSON", s.err,
                       jerr.text);
        if (scanned && doc == NULL) {
            items_seen seen = {NULL, 0};
            char why[256] = "";
            if (env.items_kind == DZ_JSON_ARRAY && env.bad_item == 0)
                SXT_FUZZ_CHECK(dz_items_each(body, &env, count_item, &seen, why, sizeof why) == 0,
                               "items of a deep page do not parse: %s", why);
        } else if (!scanned) {
            SXT_FUZZ_CHECK(s.status != DZ_SCAN_OK && s.err[0] != '\0', "a refusal without a reason");
        } else {
            check_envelope(&env, doc, items_key);
            /* The page loop iterates only what the classifier passed: items
             * that are all objects (jansson would refuse a bare scalar item
             * without JSON_DECODE_ANY). */
            if (env.items_kind == DZ_JSON_ARRAY && env.bad_item == 0) {
                items_seen seen = {json_object_get(json_object_get(doc, "body"), items_key), 0};
                char why[256] = "";
                int rc = dz_items_each(body, &env, on_item, &seen, why, sizeof why);
                SXT_FUZZ_CHECK(rc == 0, "items do not parse: %s", why);
                SXT_FUZZ_CHECK(seen.count == env.n_items, "%zu of %zu items handed over",
                               seen.count, env.n_items);
            }
        }
        check_verdict(body, size, items_key, &env, scanned);
    }
    json_decref(doc);
    free(body);
    sxt_fuzz_end_input();
    return 0;
}
