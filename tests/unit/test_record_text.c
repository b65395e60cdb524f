/*
 * test_record_text.c: the host's scanner of records emitted as text.
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

#include "record_text.h"

static int scan(sx_rtext *rt, const char *text)
{
    return sx_rtext_scan(rt, text, strlen(text));
}

static int jansson_accepts(const char *text, size_t n)
{
    json_t *j = json_loadb(text, n, JSON_ALLOW_NUL, NULL);
    int ok = json_is_object(j);
    json_decref(j);
    return ok;
}

Test(record_text, reports_each_top_level_member)
{
    sx_rtext rt = {0};
    const char *text = " {\"code\":\"1\", \"n\":-12.5e3,\"t\":true,\"f\":false,\"z\":null,"
                       "\"o\":{\"a\":[1,{\"b\":\"}\"}]},\"a\":[],\"k\\u0065y\":\"v\\\"w\"}\n";
    cr_assert_eq(scan(&rt, text), 0, "%s", rt.error);
    cr_assert_eq(rt.n_members, 8);
    struct { const char *key; int kind; const char *value; int key_esc, val_esc; } want[] = {
        {"code", SX_RT_STRING, "\"1\"", 0, 0},
        {"n", SX_RT_NUMBER, "-12.5e3", 0, 0},
        {"t", SX_RT_TRUE, "true", 0, 0},
        {"f", SX_RT_FALSE, "false", 0, 0},
        {"z", SX_RT_NULL, "null", 0, 0},
        {"o", SX_RT_OBJECT, "{\"a\":[1,{\"b\":\"}\"}]}", 0, 0},
        {"a", SX_RT_ARRAY, "[]", 0, 0},
        {"k\\u0065y", SX_RT_STRING, "\"v\\\"w\"", 1, 1},
    };
    for (size_t i = 0; i < 8; i++) {
        const sx_rtext_member *m = &rt.members[i];
        cr_assert_eq(m->key_len, strlen(want[i].key), "member %zu", i);
        cr_assert_eq(memcmp(text + m->key_off, want[i].key, m->key_len), 0, "member %zu", i);
        cr_assert_eq(m->val_kind, want[i].kind, "member %zu", i);
        cr_assert_eq(m->val_len, strlen(want[i].value), "member %zu", i);
        cr_assert_eq(memcmp(text + m->val_off, want[i].value, m->val_len), 0, "member %zu", i);
        cr_assert_eq(m->key_escaped, want[i].key_esc, "member %zu", i);
        cr_assert_eq(m->val_escaped, want[i].val_esc, "member %zu", i);
    }
    cr_assert_eq(rt.start, 1);
    cr_assert_eq(text[rt.end - 1], '}');
    cr_assert_eq(rt.compact, 0);
    sx_rtext_free(&rt);
}

Test(record_text, refuses_what_is_not_one_object_and_says_where)
{
    sx_rtext rt = {0};
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
        cr_assert_eq(jansson_accepts(bad[i], strlen(bad[i])), 0, "jansson accepts <%s>", bad[i]);
    }
    cr_assert_eq(scan(&rt, "{\"a\":\"\\u0000 in a value\"}"), 0, "%s", rt.error);
    sx_rtext_free(&rt);
}

Test(record_text, nesting_is_limited_like_jansson)
{
    sx_rtext rt = {0};
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
        int ours = sx_rtext_scan(&rt, text, n) == 0;
        cr_assert_eq(ours, jansson_accepts(text, n), "depth %d: scanner %d (%s)", depth, ours,
                     rt.error);
        free(text);
    }
    sx_rtext_free(&rt);
}

static uint64_t rng_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

Test(record_text, accepts_exactly_what_jansson_parses_into_an_object)
{
    static const char *const corpus[] = {
        "{\"code\":\"1\",\"email\":\"a@b.c\",\"custom_fields\":{\"cmp4\":\"S\xc3\xa3o\",\"cmp5\":"
        "null},\"optout\":false,\"n\":12}",
        "{\"list\":[1, 2.5, -3e7, true, false, null, \"\\u00e9\\ud83d\\ude00\", {\"k\": []}]}",
        "{\"s\":\"S\xc3\xa3o \xe2\x82\xac \xf0\x9f\x98\x80\",\"n\":9223372036854775807}",
        "{ \"deep\" : [[[[{\"x\":[{}]}]]]] , \"e\":1E-5,\"z\":-0.0 }",
    };
    static const char alphabet[] = "{}[]:,\"\\ u0123456789abcdefetrunl.-+Ee\xc3\xa9\xed\xa0\x80\t\n";
    uint64_t seed = 0xC2B2AE3D27D4EB4Full;
    char buf[512];
    size_t checked = 0, accepted = 0;
    sx_rtext rt = {0};
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
        int ours = sx_rtext_scan(&rt, buf, n) == 0;
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
            size_t clen = sx_rtext_compact(&rt, buf, compact);
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
    sx_rtext_free(&rt);
}

Test(record_text, compact_text_has_no_space_outside_strings)
{
    sx_rtext rt = {0};
    const char *text = "\t{ \"a\" :\n[ 1 , { \"b c\" : \" x \\\" y \" } ] ,\"d\":\r\"\" }  ";
    cr_assert_eq(scan(&rt, text), 0, "%s", rt.error);
    char out[128];
    size_t n = sx_rtext_compact(&rt, text, out);
    cr_assert_eq(n, strlen("{\"a\":[1,{\"b c\":\" x \\\" y \"}],\"d\":\"\"}"));
    cr_assert_eq(memcmp(out, "{\"a\":[1,{\"b c\":\" x \\\" y \"}],\"d\":\"\"}", n), 0, "%.*s",
                 (int)n, out);
    cr_assert_eq(scan(&rt, "{\"a\":[1,2],\"b\":{}}"), 0);
    cr_assert_eq(rt.compact, 1);
    sx_rtext_free(&rt);
}
