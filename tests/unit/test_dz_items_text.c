/*
 * test_dz_items_text.c: the Dinamize page loop's text path. While the
 * classifier validates a page it notes where each item is and whether it may
 * go to the host as the API's own text: only when normalising it would change
 * nothing. The spans it notes are the items themselves.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/dinamize/common/envelope.h"
#include "../../plugins/dinamize/common/normalize.h"
#include "../../plugins/dinamize/common/stream.h"

static const char schema[] = DZ_SCHEMA(
    DZ_PROP("code", DZ_KEY("k")) "," DZ_PROP("total", DZ_TEXT("t")) ","
    DZ_PROP("optout", DZ_FLAG("f")) "," DZ_PROP("custom_fields", DZ_OBJECT("o")) ","
    DZ_PROP("mixed", "{\"type\":[\"null\",\"integer\",\"string\"]}"));

typedef struct seen {
    json_t *items;   /* the parsed spans */
    json_t *plain;   /* the plain flags */
} seen;

/* Scans a page as the classifier does, and parses each span it noted. */
static void walk(const char *page, seen *s, dz_shape **shape)
{
    char why[200];
    *shape = dz_shape_from_schema(schema, why, sizeof why);
    cr_assert_not_null(*shape, "%s", why);
    dz_envelope env;
    dz_scanner sc;
    dz_item_spans spans = {0};
    cr_assert_eq(dz_envelope_scan_items(page, strlen(page), "items", *shape, &spans, &env, &sc),
                 0, "%s", sc.err);
    cr_assert_eq(spans.n, env.n_items);
    s->items = json_array();
    s->plain = json_array();
    for (size_t i = 0; i < spans.n; i++) {
        json_error_t e;
        json_t *item = json_loadb(page + spans.v[i].off, spans.v[i].len, JSON_ALLOW_NUL, &e);
        cr_assert(json_is_object(item), "span %zu <%.*s> is not one object: %s", i,
                  (int)spans.v[i].len, page + spans.v[i].off, e.text);
        json_array_append_new(s->items, item);
        json_array_append_new(s->plain, json_boolean(spans.v[i].plain));
    }
    dz_item_spans_free(&spans);
    json_t *whole = json_loads(page, JSON_ALLOW_NUL, NULL);
    cr_assert(json_equal(json_object_get(json_object_get(whole, "body"), "items"), s->items),
              "the spans are not the page's items");
    json_decref(whole);
}

Test(dz_items_text, items_whose_values_have_their_types_go_as_text)
{
    const char *page =
        "{\"code\":\"480001\",\"body\":{\"items\":[ "
        "{\"code\":\"1\",\"total\":\"12\",\"optout\":false,\"custom_fields\":{\"cmp4\":7},"
        "\"mixed\":5,\"other\":1},"
        "{\"code\":\"2\",\"total\":12},"
        "{\"code\":\"3\",\"optout\":\"true\"},"
        "{\"code\":\"4\",\"optout\":1},"
        "{ \"code\" : \"5\" , \"optout\" : null , \"total\" : null } ,"
        "{\"c\\u006fde\":\"6\"},"
        "{\"code\":\"7\",\"total\":\"a \\\"}\\\" b\",\"nested\":[{\"total\":1},\"]\"]},"
        "{}"
        "],\"next\":false}}";
    seen s;
    dz_shape *shape;
    walk(page, &s, &shape);
    const int want[] = {1, 0, 0, 0, 1, 0, 1, 1};
    cr_assert_eq(json_array_size(s.plain), 8);
    for (size_t i = 0; i < 8; i++)
        cr_assert_eq(json_is_true(json_array_get(s.plain, i)), want[i], "item %zu", i + 1);
    json_decref(s.items);
    json_decref(s.plain);
    dz_shape_free(shape);
}

static uint64_t rng_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* Sound, if not exact: a string under a boolean rule goes the tree way even
 * when it is no boolean spelling (it stays as it is there too). */
Test(dz_items_text, plain_means_normalising_would_change_nothing)
{
    static const char *const keys[] = {"code", "total", "optout", "custom_fields", "mixed",
                                       "extra"};
    static const char *const values[] = {"\"x\"", "\"true\"", "\"0\"", "12", "1", "0", "2.5",
                                         "true", "false", "null", "{\"a\":1}", "[1]", "\"\""};
    uint64_t seed = 0x243F6A8885A308D3ull;
    char page[8192];
    size_t texts = 0, trees = 0;
    for (int round = 0; round < 200; round++) {
        size_t n = (size_t)snprintf(page, sizeof page, "{\"code\":\"480001\",\"body\":{\"items\":[");
        int items = 1 + (int)(rng_next(&seed) % 20);
        for (int i = 0; i < items; i++) {
            n += (size_t)snprintf(page + n, sizeof page - n, "%s{", i ? "," : "");
            int members = (int)(rng_next(&seed) % 5);
            int used = 0;
            for (int m = 0; m < members; m++) {
                size_t k = rng_next(&seed) % 6;
                if (used & (1 << k))
                    continue;
                used |= 1 << k;
                n += (size_t)snprintf(page + n, sizeof page - n, "%s\"%s\":%s", used != (1 << k) ? "," : "",
                                      keys[k], values[rng_next(&seed) % 13]);
            }
            n += (size_t)snprintf(page + n, sizeof page - n, "}");
        }
        snprintf(page + n, sizeof page - n, "],\"next\":false}}");
        seen s;
        dz_shape *shape;
        walk(page, &s, &shape);
        size_t i;
        json_t *item;
        json_array_foreach(s.items, i, item) {
            json_t *normal = json_deep_copy(item);
            cr_assert_eq(dz_normalize(shape, normal), SIPHON_OK);
            int unchanged = json_equal(normal, item);
            int plain = json_is_true(json_array_get(s.plain, i));
            char *text = json_dumps(item, JSON_COMPACT);
            if (plain)
                cr_assert(unchanged, "item %s went as text, but normalising changes it", text);
            else
                trees++;
            texts += (size_t)plain;
            free(text);
            json_decref(normal);
        }
        json_decref(s.items);
        json_decref(s.plain);
        dz_shape_free(shape);
    }
    cr_assert_gt(texts, 100);
    cr_assert_gt(trees, 100);
}

/* What the page's scan found for a plain item: the members a scan of the
 * item alone finds, counted from its '{', for the host to take as they are. */
static void assert_table_is_a_scan(dz_item_spans *spans, const dz_item_span *span,
                                   const char *text)
{
    siphon_json_object o = {0};
    cr_assert_eq(siphon_json_object_scan(&o, text, span->len, 1), 0, "%s", o.error);
    cr_assert_eq(span->n_members, o.n_members);
    cr_assert_eq(span->compact, o.compact);
    const siphon_json_member *got = dz_item_members(spans, span);
    cr_assert_not_null(got);
    for (size_t i = 0; i < o.n_members; i++) {
        const siphon_json_member *a = &o.members[i], *b = &got[i];
        cr_assert(a->key_off == b->key_off && a->key_len == b->key_len &&
                      a->val_off == b->val_off && a->val_len == b->val_len &&
                      a->key_escaped == b->key_escaped && a->kind == b->kind &&
                      a->val_escaped == b->val_escaped,
                  "<%.*s>: member %zu differs", (int)span->len, text, i);
    }
    siphon_json_object_free(&o);
}

Test(dz_items_text, plain_items_carry_the_members_their_scan_found)
{
    const char *page =
        "{\"code\":\"480001\",\"body\":{\"items\":[ "
        "{\"code\":\"1\",\"total\":\"12\",\"optout\":false,\"custom_fields\":{\"cmp4\":\"x\"}},"
        "{ \"code\" : \"2\" ,\n\"custom_fields\":{}, \"mixed\":\"a\\\"b\" },"
        "{},"
        "{\"code\":\"4\",\"total\":12},"
        "{\"k\\u0065y\":\"5\",\"code\":\"5\"}"
        "],\"next\":false}}";
    char why[200];
    dz_shape *shape = dz_shape_from_schema(schema, why, sizeof why);
    cr_assert_not_null(shape, "%s", why);
    dz_envelope env;
    dz_scanner sc;
    dz_item_spans spans = {0};
    /* twice: the second page's tables replace the first's */
    for (int round = 0; round < 2; round++) {
        cr_assert_eq(dz_envelope_scan_items(page, strlen(page), "items", shape, &spans, &env, &sc),
                     0, "%s", sc.err);
        cr_assert_eq(spans.n, 5);
        int expect_table[] = {1, 1, 1, 0, 0}; /* 4 needs normalising, 5 has an escaped key */
        for (size_t i = 0; i < spans.n; i++) {
            const dz_item_span *span = &spans.v[i];
            cr_assert_eq(span->has_members, expect_table[i], "item %zu", i + 1);
            if (span->has_members)
                assert_table_is_a_scan(&spans, span, page + span->off);
        }
        cr_assert_eq(spans.v[1].compact, 0);
        cr_assert_eq(spans.v[0].compact, 1);
        cr_assert_eq(spans.n_members, 4 + 3 + 0);
    }
    dz_item_spans_free(&spans);
    dz_shape_free(shape);
}

/* A page whose tables would pass the budget: the items past it go without
 * one (the host then walks them itself), and none is cut short. */
Test(dz_items_text, member_tables_stop_at_the_budget)
{
    const size_t per_item = 3, budget = DZ_MEMBERS_MAX_BYTES / sizeof(dz_member);
    const size_t n_items = budget / per_item + 100;
    const char head[] = "{\"code\":\"480001\",\"body\":{\"items\":[", tail[] = "]}}";
    const char item[] = "{\"code\":\"1\",\"total\":\"2\",\"mixed\":\"3\"}";
    size_t cap = sizeof head + n_items * sizeof item + sizeof tail;
    char *page = malloc(cap), *p = page;
    p += sprintf(p, "%s", head);
    for (size_t i = 0; i < n_items; i++)
        p += sprintf(p, "%s%s", i ? "," : "", item);
    sprintf(p, "%s", tail);
    char why[200];
    dz_shape *shape = dz_shape_from_schema(schema, why, sizeof why);
    dz_envelope env;
    dz_scanner sc;
    dz_item_spans spans = {0};
    cr_assert_eq(dz_envelope_scan_items(page, strlen(page), "items", shape, &spans, &env, &sc), 0,
                 "%s", sc.err);
    cr_assert_eq(spans.n, n_items);
    size_t with = 0;
    for (size_t i = 0; i < spans.n; i++) {
        cr_assert(spans.v[i].plain);
        if (spans.v[i].has_members) {
            cr_assert_eq(i, with, "item %zu has a table after one without", i + 1);
            cr_assert_eq(spans.v[i].n_members, per_item);
            with++;
        }
    }
    cr_assert_eq(with, budget / per_item);
    cr_assert_leq(spans.n_members * sizeof(dz_member), DZ_MEMBERS_MAX_BYTES);
    assert_table_is_a_scan(&spans, &spans.v[with - 1], page + spans.v[with - 1].off);
    dz_item_spans_free(&spans);
    dz_shape_free(shape);
    free(page);
}
