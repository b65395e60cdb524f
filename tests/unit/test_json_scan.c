/*
 * test_json_scan.c: libsiphon-util's object scanner, which the host applies
 * to every record emitted as text and the Dinamize plugins to every item of
 * a page.
 *
 * Its promise: it accepts a text exactly when jansson would parse it into an
 * object (so a sink handed the text could have been handed the tree), and
 * what it reports (members, compact form) agrees with that tree. Besides the
 * hand-written cases, a differential test holds it to jansson over thousands
 * of mutated records.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <siphon/siphon-json.h>

static int scan(siphon_json_object *rt, const char *text)
{
    return siphon_json_object_scan(rt, text, strlen(text), 1);
}

static int jansson_accepts(const char *text, size_t n)
{
    json_t *j = json_loadb(text, n, JSON_ALLOW_NUL, NULL);
    int ok = json_is_object(j);
    json_decref(j);
    return ok;
}

Test(json_scan, reports_each_top_level_member)
{
    siphon_json_object rt = {0};
    const char *text = " {\"code\":\"1\", \"n\":-12.5e3,\"t\":true,\"f\":false,\"z\":null,"
                       "\"o\":{\"a\":[1,{\"b\":\"}\"}]},\"a\":[],\"k\\u0065y\":\"v\\\"w\"}\n";
    cr_assert_eq(scan(&rt, text), 0, "%s", rt.error);
    cr_assert_eq(rt.n_members, 8);
    struct { const char *key; int kind; const char *value; int key_esc, val_esc; } want[] = {
        {"code", SIPHON_JSON_STRING, "\"1\"", 0, 0},
        {"n", SIPHON_JSON_NUMBER, "-12.5e3", 0, 0},
        {"t", SIPHON_JSON_TRUE, "true", 0, 0},
        {"f", SIPHON_JSON_FALSE, "false", 0, 0},
        {"z", SIPHON_JSON_NULL, "null", 0, 0},
        {"o", SIPHON_JSON_OBJECT, "{\"a\":[1,{\"b\":\"}\"}]}", 0, 0},
        {"a", SIPHON_JSON_ARRAY, "[]", 0, 0},
        {"k\\u0065y", SIPHON_JSON_STRING, "\"v\\\"w\"", 1, 1},
    };
    for (size_t i = 0; i < 8; i++) {
        const siphon_json_member *m = &rt.members[i];
        cr_assert_eq(m->key_len, strlen(want[i].key), "member %zu", i);
        cr_assert_eq(memcmp(text + m->key_off, want[i].key, m->key_len), 0, "member %zu", i);
        cr_assert_eq(m->kind, want[i].kind, "member %zu", i);
        cr_assert_eq(m->val_len, strlen(want[i].value), "member %zu", i);
        cr_assert_eq(memcmp(text + m->val_off, want[i].value, m->val_len), 0, "member %zu", i);
        cr_assert_eq(m->key_escaped, want[i].key_esc, "member %zu", i);
        cr_assert_eq(m->val_escaped, want[i].val_esc, "member %zu", i);
    }
    cr_assert_eq(rt.start, 1);
    cr_assert_eq(text[rt.end - 1], '}');
    cr_assert_eq(rt.compact, 0);
    siphon_json_object_free(&rt);
}

Test(json_scan, refuses_what_is_not_one_object_and_says_where)
{
    siphon_json_object rt = {0};
    const char *bad[] = {
        "", "[]", "\"text\"", "12", "null", "{", "{\"a\":1", "{\"a\":1}{}", "{\"a\":1} x",
        "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":-}",
        "{\"a\":tru}", "{\"a\":truex}", "{\"a\":\"\x01\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\xff\"}",
        "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}", "{\"\\u0000\":1}",
        "{\"a\":99999999999999999999}", "{\"a\":1e400}", "{\"a\":[1,]}", "{\"a\":{\"b\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(scan(&rt, bad[i]), -1, "accepted <%s>", bad[i]);
        cr_assert_neq(rt.error[0], '\0', "no reason for <%s>", bad[i]);
        cr_assert_not_null(strstr(rt.error, "byte"), "<%s>: %s names no byte", bad[i], rt.error);
        cr_assert_neq(rt.status, SIPHON_JSON_OK);
        cr_assert_eq(jansson_accepts(bad[i], strlen(bad[i])), 0, "jansson accepts <%s>", bad[i]);
    }
    cr_assert_eq(scan(&rt, "{\"a\":\"\\u0000 in a value\"}"), 0, "%s", rt.error);
    siphon_json_object_free(&rt);
}

Test(json_scan, nesting_is_limited_like_jansson)
{
    siphon_json_object rt = {0};
    /* jansson accepts 2048 levels (the record itself counts) and no more */
    for (int depth = 2047; depth <= 2049; depth++) {
        size_t n = 0;
        char *text = malloc(2 * (size_t)depth + 16);
        text[n++] = '{';
        memcpy(text + n, "\"a\":", 4);
        n += 4;
        for (int i = 1; i < depth; i++)
            text[n++] = '[';
        for (int i = 1; i < depth; i++)
            text[n++] = ']';
        text[n++] = '}';
        int ours = siphon_json_object_scan(&rt, text, n, 1) == 0;
        cr_assert_eq(ours, jansson_accepts(text, n), "depth %d: scanner %d (%s)", depth, ours,
                     rt.error);
        free(text);
    }
    siphon_json_object_free(&rt);
}

/* What siphon_json_object_split found in a text the scan accepted: the
 * same, member for member. */
static void assert_same_split(const siphon_json_object *scan, const siphon_json_object *split,
                              int split_ok, const char *text)
{
    cr_assert(split_ok, "split refused <%s> the scan accepted: %s", text, split->error);
    cr_assert_eq(split->n_members, scan->n_members, "<%s>", text);
    cr_assert_eq(split->start, scan->start, "<%s>", text);
    cr_assert_eq(split->end, scan->end, "<%s>", text);
    cr_assert_eq(split->compact, scan->compact, "<%s>", text);
    for (size_t i = 0; i < scan->n_members; i++) {
        const siphon_json_member *a = &scan->members[i], *b = &split->members[i];
        cr_assert(a->key_off == b->key_off && a->key_len == b->key_len &&
                      a->val_off == b->val_off && a->val_len == b->val_len &&
                      a->key_escaped == b->key_escaped && a->kind == b->kind &&
                      a->val_escaped == b->val_escaped,
                  "<%s>: member %zu differs", text, i);
    }
}

Test(json_scan, split_finds_the_members_the_scan_finds)
{
    siphon_json_object rt = {0}, split = {0};
    const char *texts[] = {
        (" {\"code\":\"1\", \"n\":-12.5e3,\"t\":true,\"f\":false,\"z\":null,"
         "\"o\":{\"a\":[1,{\"b\":\"}\"}]},\"a\":[],\"k\\u0065y\":\"v\\\"w\"}\n"),
        "{}", " { } ", "{\"a\":\"\\\\\",\"b\":\"x\\\\\\\"y\"}",
        "{\"long\":\"0123456789abcdef0123456789abcdef\\\"0123456789abcdef\",\"e\":\"\"}",
        "{\"x\":[[[\"]]]\"]]],\"y\":{\"{\":\"[\"} ,\"s\":\"S\xc3\xa3o\"}",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        cr_assert_eq(scan(&rt, texts[i]), 0, "<%s>: %s", texts[i], rt.error);
        int ok = siphon_json_object_split(&split, texts[i], strlen(texts[i])) == 0;
        assert_same_split(&rt, &split, ok, texts[i]);
    }
    siphon_json_object_free(&rt);
    siphon_json_object_free(&split);
}

Test(json_scan, split_refuses_broken_structure_and_says_where)
{
    siphon_json_object o = {0};
    const char *bad[] = {
        "", "  ", "[]", "\"a\"", "{", "{\"a\"", "{\"a\":", "{\"a\":1", "{\"a\":\"1}",
        "{\"a\":{\"b\":[1}", "{\"a\" 1}", "{a:1}", "{\"a\":1 \"b\":2}", "{\"a\":1}{}",
        "{\"a\":1} x", "{\"a\":,}", "{\"a\":\"x\\", "{\"a\\\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = strlen(bad[i]);
        char *exact = malloc(n ? n : 1);
        memcpy(exact, bad[i], n);
        cr_assert_eq(siphon_json_object_split(&o, exact, n), -1, "accepted <%s>", bad[i]);
        free(exact);
        cr_assert_eq(o.status, SIPHON_JSON_MALFORMED, "<%s>", bad[i]);
        cr_assert_not_null(strstr(o.error, "at byte"), "<%s>: %s names no byte", bad[i], o.error);
    }
    siphon_json_object_free(&o);
}

static uint64_t rng_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

Test(json_scan, accepts_exactly_what_jansson_parses_into_an_object)
{
    static const char *const corpus[] = {
        ("{\"code\":\"1\",\"email\":\"a@b.c\",\"custom_fields\":{\"cmp4\":\"S\xc3\xa3o\",\"cmp5\":"
         "null},\"optout\":false,\"n\":12}"),
        "{\"list\":[1, 2.5, -3e7, true, false, null, \"\\u00e9\\ud83d\\ude00\", {\"k\": []}]}",
        "{\"s\":\"S\xc3\xa3o \xe2\x82\xac \xf0\x9f\x98\x80\",\"n\":9223372036854775807}",
        "{ \"deep\" : [[[[{\"x\":[{}]}]]]] , \"e\":1E-5,\"z\":-0.0 }",
    };
    static const char alphabet[] = "{}[]:,\"\\ u0123456789abcdefetrunl.-+Ee\xc3\xa9\xed\xa0\x80\t\n";
    uint64_t seed = 0xC2B2AE3D27D4EB4Full;
    char buf[512];
    size_t checked = 0, accepted = 0;
    siphon_json_object rt = {0}, split = {0};
    for (int round = 0; round < 30000; round++) {
        const char *base = corpus[rng_next(&seed) % (sizeof corpus / sizeof corpus[0])];
        size_t n = strlen(base);
        memcpy(buf, base, n + 1);
        int edits = 1 + (int)(rng_next(&seed) % 3);
        for (int k = 0; k < edits && n > 0; k++) {
            size_t at = rng_next(&seed) % n;
            char c = alphabet[rng_next(&seed) % (sizeof alphabet - 1)];
            switch (rng_next(&seed) % 3) {
            case 0: buf[at] = c; break;
            case 1:
                memmove(buf + at, buf + at + 1, n - at);
                n--;
                break;
            default:
                if (n + 2 < sizeof buf) {
                    memmove(buf + at + 1, buf + at, n - at + 1);
                    buf[at] = c;
                    n++;
                }
            }
        }
        buf[n] = '\0';
        /* the split reads an exact copy, so ASan sees any read past the end */
        char *exact = malloc(n ? n : 1);
        memcpy(exact, buf, n);
        int split_ok = siphon_json_object_split(&split, exact, n) == 0;
        free(exact);
        int ours = siphon_json_object_scan(&rt, buf, n, 1) == 0;
        if (ours)
            assert_same_split(&rt, &split, split_ok, buf);
        else if (!split_ok)
            cr_assert_neq(split.error[0], '\0', "split refused <%s> without a reason", buf);
        json_error_t e;
        json_t *tree = json_loadb(buf, n, JSON_ALLOW_NUL, &e);
        int theirs = json_is_object(tree);
        cr_assert_eq(ours, theirs, "disagreement on <%s>: scanner %s (%s), jansson %s (%s)", buf,
                     ours ? "accepts" : "refuses", rt.error, theirs ? "accepts" : "refuses",
                     e.text);
        if (ours) {
            /* the members are the tree's keys, in order (escapes aside) */
            cr_assert_eq(rt.n_members >= json_object_size(tree), 1);
            /* the compact text is the same object */
            char *compact = malloc(rt.end - rt.start + 1);
            size_t clen = siphon_json_object_compact(&rt, buf, compact);
            json_t *again = json_loadb(compact, clen, JSON_ALLOW_NUL, NULL);
            cr_assert(json_equal(tree, again), "compact form of <%s> is <%.*s>", buf, (int)clen,
                      compact);
            for (size_t i = 0; i < clen; i++)
                cr_assert(compact[i] != '\n', "a newline survived in <%.*s>", (int)clen, compact);
            json_decref(again);
            free(compact);
        }
        json_decref(tree);
        checked++;
        accepted += (size_t)ours;
    }
    cr_assert_gt(accepted, checked / 50);
    cr_assert_lt(accepted, checked - checked / 50);
    siphon_json_object_free(&rt);
    siphon_json_object_free(&split);
}

Test(json_scan, compact_text_has_no_space_outside_strings)
{
    siphon_json_object rt = {0};
    const char *text = "\t{ \"a\" :\n[ 1 , { \"b c\" : \" x \\\" y \" } ] ,\"d\":\r\"\" }  ";
    cr_assert_eq(scan(&rt, text), 0, "%s", rt.error);
    char out[128];
    size_t n = siphon_json_object_compact(&rt, text, out);
    cr_assert_eq(n, strlen("{\"a\":[1,{\"b c\":\" x \\\" y \"}],\"d\":\"\"}"));
    cr_assert_eq(memcmp(out, "{\"a\":[1,{\"b c\":\" x \\\" y \"}],\"d\":\"\"}", n), 0, "%.*s",
                 (int)n, out);
    cr_assert_eq(scan(&rt, "{\"a\":[1,2],\"b\":{}}"), 0);
    cr_assert_eq(rt.compact, 1);
    siphon_json_object_free(&rt);
}

Test(json_scan, valid_json_jansson_cannot_hold_is_unsupported_not_malformed)
{
    siphon_json_object rt = {0};
    const char *unsupported[] = {"{\"a\":99999999999999999999}", "{\"a\":1e400}",
                                 "{\"\\u0000\":1}"};
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(scan(&rt, unsupported[i]), -1);
        cr_assert_eq(rt.status, SIPHON_JSON_UNSUPPORTED, "<%s>: %s", unsupported[i], rt.error);
    }
    cr_assert_eq(scan(&rt, "{\"a\":"), -1);
    cr_assert_eq(rt.status, SIPHON_JSON_MALFORMED);
    siphon_json_object_free(&rt);
}

Test(json_scan, a_partial_scan_stops_after_the_object)
{
    siphon_json_object rt = {0};
    const char *text = "  {\"a\":[1,{\"}\":\"]\"}]} , {\"b\":2}]";
    cr_assert_eq(siphon_json_object_scan(&rt, text, strlen(text), 0), 0, "%s", rt.error);
    cr_assert_eq(rt.start, 2);
    cr_assert_eq(rt.end, strlen("  {\"a\":[1,{\"}\":\"]\"}]}"));
    cr_assert_eq(rt.n_members, 1);
    cr_assert_eq(siphon_json_object_scan(&rt, text, strlen(text), 1), -1);
    cr_assert_not_null(strstr(rt.error, "one JSON object only"), "%s", rt.error);
    siphon_json_object_free(&rt);
}
