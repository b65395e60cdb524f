/*
 * envelope.h: the Dinamize answer envelope, read in place.
 *
 *   {"code":"480001","code_detail":"Sucesso","body":{"items":[...],"next":true},...}
 *
 * dz_envelope_scan validates the whole answer and notes where its parts are,
 * whatever order the keys come in; dz_items_each then parses the items one
 * at a time, so a page of 10 000 records is never one jansson tree.
 */
#ifndef DZ_ENVELOPE_H
#define DZ_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <siphon/siphon-json.h>

#include "json_scan.h"

/* body.next, read as a boolean when it is one (true/false, "true"/"false", 1/0). */
typedef enum dz_next {
    DZ_NEXT_ABSENT = -1, /* missing, null, or not boolean-ish */
    DZ_NEXT_FALSE = 0,
    DZ_NEXT_TRUE = 1
} dz_next;

typedef struct dz_envelope {
    int has_code;            /* code was a string or a number */
    /* The server's own text, bound for messages and logs: control
     * characters (an escaped ESC or newline) are turned into spaces. */
    char code[32];           /* its text, e.g. "480001" */
    char detail[192];        /* code_detail, unescaped and truncated; "" when absent */
    dz_json_kind body_kind;  /* DZ_JSON_NONE when there is no body */
    int body_empty;          /* body is null, [] or {} */
    dz_json_kind items_kind; /* the kind of body[items_key]; DZ_JSON_NONE when absent */
    size_t items_off;        /* the items value: buf[items_off .. items_off + items_len) */
    size_t items_len;
    size_t n_items;          /* elements of the items array */
    size_t bad_item;         /* 1-based index of the first item that is not an object, or 0 */
    dz_json_kind bad_item_kind;
    int next;                /* a dz_next */
    int has_retry_after;     /* body["retry-after"] was a string or a number */
    char retry_after[32];    /* its text */
    char other_array[64];    /* the first array member of body not named items_key, or "" */
} dz_envelope;

/*
 * Validates buf[0..len) as one JSON document whose top level is an object,
 * and fills env from it. items_key names the array of a search answer (NULL
 * for answers without one). Returns 0, or -1 with the reason in s (its
 * status tells a malformed or cut answer from valid JSON jansson cannot
 * hold); a top level that is not an object is DZ_SCAN_MALFORMED.
 */
int dz_envelope_scan(const char *buf, size_t len, const char *items_key, dz_envelope *env,
                     dz_scanner *s);

/* Receives one item (a new reference, which it owns from then on); a
 * non-zero return stops the iteration and is returned by dz_items_each. */
typedef int (*dz_item_fn)(void *user, json_t *item, size_t index);

/*
 * Parses the items of an envelope dz_envelope_scan accepted, one at a time,
 * and hands each to fn. Returns 0 when every item was handed over, fn's
 * non-zero result, or -1 when jansson could not parse an item (out of memory;
 * why says which item and what jansson said).
 */
int dz_items_each(const char *buf, const dz_envelope *env, dz_item_fn fn, void *user, char *why,
                  size_t why_cap);

/* One item of a page, found while the page is validated. */
typedef struct dz_item_span {
    size_t off, len;   /* the item's text: buf[off .. off + len) */
    int plain;         /* no top-level value needs normalising (dz_shape_keeps) */
    /* A plain item's top-level members, as the page's scan found them, so
     * the host need not walk the item again (emit_raw_checked):
     * spans->members[first_member .. first_member + n_members). */
    int has_members;
    int compact;       /* no whitespace between the item's tokens */
    size_t first_member, n_members;
} dz_item_span;

/* A top-level member of an item, counted from the item's '{': a page keeps
 * one per member of its plain items, 8 bytes where a siphon_json_member takes
 * 40, since a stream reading ahead holds two pages' tables at once. An item
 * longer than DZ_MEMBER_ITEM_MAX, or with a key longer than 255 bytes, goes
 * without a table. */
typedef struct dz_member {
    uint16_t key_off, val_off, val_len;
    uint8_t key_len;
    uint8_t flags;     /* kind (DZ_MEMBER_KIND bits), DZ_MEMBER_KEY_ESC, DZ_MEMBER_VAL_ESC */
} dz_member;

#define DZ_MEMBER_ITEM_MAX UINT16_MAX
#define DZ_MEMBER_KIND 0x07u
#define DZ_MEMBER_KEY_ESC 0x08u
#define DZ_MEMBER_VAL_ESC 0x10u

/* A page's member tables stop growing past this many bytes: enough for
 * 10 000 items of 50 top-level members (contacts have 13: 1 MB), and a
 * bound on what a page of many tiny members can add to a worker's memory.
 * The items after go without a table, and the host finds their members. */
#define DZ_MEMBERS_MAX_BYTES (4u << 20)

/* The items of the last page scanned; reused from page to page. */
typedef struct dz_item_spans {
    dz_item_span *v;
    size_t n, cap;
    int failed;        /* memory ran out: the spans are incomplete */
    siphon_json_object object; /* the item scanner's reusable state */
    dz_member *members;        /* the plain items' member tables, one after another */
    size_t n_members, cap_members;
    siphon_json_member *handed; /* one item's table, as the host takes it */
    size_t cap_handed;
} dz_item_spans;

/* The members of span (which has_members) as the host takes them, counted
 * from the item's '{'; valid until the next call. NULL when memory ran out. */
const siphon_json_member *dz_item_members(dz_item_spans *spans, const dz_item_span *span);

struct dz_shape;

/*
 * dz_envelope_scan that also notes, in the same pass, where each object item
 * of the items array is and whether its top-level values already have the
 * types shape declares, so the page loop hands items on without walking the
 * page again. spans is emptied first.
 */
int dz_envelope_scan_items(const char *buf, size_t len, const char *items_key,
                           const struct dz_shape *shape, dz_item_spans *spans,
                           dz_envelope *env, dz_scanner *s);

void dz_item_spans_free(dz_item_spans *spans);

#endif
