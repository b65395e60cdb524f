/*
 * test_dz_scan.c: the Dinamize plugins' validating JSON scanner and the
 * envelope reader built on it.
 *
 * The scanner's promise is that a body it accepts parses with jansson item by
 * item, so besides the hand-written cases a differential test checks it
 * accepts exactly what jansson accepts over thousands of mutated documents.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <siphon/siphon-json.h>

#include "../../plugins/dinamize/common/envelope.h"
#include "../../plugins/dinamize/common/json_scan.h"

static int scan_doc(const char *text, dz_scanner *s)
{
    dz_scan_init(s, text, strlen(text));
    return dz_scan_document(s);
}

static int accepts(const char *text)
{
    dz_scanner s;
    return scan_doc(text, &s) == 0;
}

static int scan_env(const char *text, const char *items_key, dz_envelope *env, dz_scanner *s)
{
    return dz_envelope_scan(text, strlen(text), items_key, env, s);
}

/* --- the scanner --- */

Test(dz_scan, accepts_every_kind_of_value)
{
    cr_assert(accepts("{}"));
    cr_assert(accepts("[]"));
    cr_assert(accepts(" \t\r\n{\"a\" : [1, -2.5e+3, 0, -0, 0.25E-2, true, false, null, \"x\"]} \n"));
    cr_assert(accepts("\"just a string\""));
    cr_assert(accepts("123"));
    cr_assert(accepts("{\"a\":{\"b\":{\"c\":[[[{}]]]}}}"));
}

Test(dz_scan, refuses_malformed_structure)
{
    const char *bad[] = {
        "",           "{",          "{\"a\"}",     "{\"a\":}",       "{\"a\":1,}",
        "[1,]",       "[1 2]",      "{\"a\" 1}",   "{a:1}",          "{\"a\":1}}",
        "[}",         "{]",         "tru",         "truex",          "nul",
        "[true1]",    "01",         "-",           "1.",             ".5",
        "1e",         "1e+",        "+1",          "0x10",           "{} {}",
        "[1]x",       "'a'",        "[\"a\"\"b\"]", "{\"a\":1 \"b\":2}", "[,1]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dz_scanner s;
        cr_expect_neq(scan_doc(bad[i], &s), 0, "accepted %s", bad[i]);
        cr_expect_eq(s.status, DZ_SCAN_MALFORMED, "%s: status %d", bad[i], s.status);
        cr_expect_neq(s.err[0], '\0', "no message for %s", bad[i]);
    }
}

Test(dz_scan, strings_follow_jansson_rules)
{
    cr_assert(accepts("\"quote \\\" backslash \\\\ slash \\/ \\b\\f\\n\\r\\t\""));
    cr_assert(accepts("\"\\u00e9 \\u20AC \\ud83d\\ude00\""));
    cr_assert(accepts("\"S\xc3\xa3o Paulo \xf0\x9f\x98\x80\""));
    cr_assert(accepts("\"nul \\u0000 inside a value\""));
    cr_assert(!accepts("\"raw tab \t\""));
    cr_assert(!accepts("\"raw newline \n\""));
    cr_assert(!accepts("\"bad escape \\x\""));
    cr_assert(!accepts("\"short \\u12\""));
    cr_assert(!accepts("\"lone high \\ud83d\""));
    cr_assert(!accepts("\"lone high then text \\ud83dabcdef\""));
    cr_assert(!accepts("\"lone low \\ude00\""));
    cr_assert(!accepts("\"overlong \xc0\xaf\""));
    cr_assert(!accepts("\"surrogate in utf-8 \xed\xa0\x80\""));
    cr_assert(!accepts("\"beyond U+10FFFF \xf4\x90\x80\x80\""));
    cr_assert(!accepts("\"cut \xe2\x82\""));
    cr_assert(!accepts("\"stray continuation \x80\""));
}

Test(dz_scan, escaped_nul_in_a_key_is_unsupported_not_malformed)
{
    dz_scanner s;
    cr_assert_neq(scan_doc("{\"a\\u0000b\":1}", &s), 0);
    cr_assert_eq(s.status, DZ_SCAN_UNSUPPORTED);
    cr_assert(strstr(s.err, "NUL") != NULL, "%s", s.err);
}

Test(dz_scan, numbers_jansson_cannot_hold_are_unsupported)
{
    dz_scanner s;
    cr_assert(accepts("9223372036854775807"));
    cr_assert(accepts("-9223372036854775808"));
    cr_assert_neq(scan_doc("9223372036854775808", &s), 0);
    cr_assert_eq(s.status, DZ_SCAN_UNSUPPORTED, "%s", s.err);
    cr_assert_neq(scan_doc("[-9223372036854775809]", &s), 0);
    cr_assert_eq(s.status, DZ_SCAN_UNSUPPORTED);
    cr_assert_neq(scan_doc("{\"code\":123456789012345678901234567890}", &s), 0);
    cr_assert_eq(s.status, DZ_SCAN_UNSUPPORTED);
    /* reals: overflow refused, underflow to zero accepted, the border exact */
    cr_assert_neq(scan_doc("1e400", &s), 0);
    cr_assert_eq(s.status, DZ_SCAN_UNSUPPORTED);
    cr_assert(accepts("1e-400"));
    cr_assert(accepts("1.7976931348623157e308"));
    cr_assert(!accepts("1.7976931348623159e308"));
    cr_assert(accepts("0.00000000000000000000000000001e320"));
    cr_assert(accepts("12345678901234567890.5"));
}

/* depth nested arrays: "[[[...]]]". */
static char *nested(size_t depth)
{
    char *text = malloc(2 * depth + 1);
    cr_assert_not_null(text);
    for (size_t i = 0; i < depth; i++) {
        text[i] = '[';
        text[depth + i] = ']';
    }
    text[2 * depth] = '\0';
    return text;
}

Test(dz_scan, nesting_is_limited_like_jansson)
{
    json_error_t e;
    char *deepest = nested(DZ_JSON_MAX_DEPTH);
    cr_assert(accepts(deepest));
    json_t *j = json_loads(deepest, 0, &e);
    cr_assert_not_null(j, "jansson refused the same depth: %s", e.text);
    json_decref(j);
    free(deepest);

    char *too_deep = nested(DZ_JSON_MAX_DEPTH + 1);
    dz_scanner s;
    cr_assert_neq(scan_doc(too_deep, &s), 0);
    cr_assert_eq(s.status, DZ_SCAN_UNSUPPORTED);
    cr_assert_null(json_loads(too_deep, 0, &e));
    free(too_deep);
}

Test(dz_scan, every_cut_of_a_valid_envelope_is_malformed)
{
    const char *page = "{\"code\":\"480001\",\"code_detail\":\"Sucesso\",\"body\":{\"items\":["
                       "{\"code\":\"1\",\"name\":\"Jo\\u00e3o \\\"J\\\" \xf0\x9f\x98\x80\","
                       "\"n\":-12.5e2,\"ok\":true,\"x\":null,\"cf\":{\"cmp4\":[1,2]}}],"
                       "\"next\":false},\"request_unique\":\"r\",\"warning\":[]}";
    size_t len = strlen(page);
    dz_envelope env;
    dz_scanner s;
    cr_assert_eq(dz_envelope_scan(page, len, "items", &env, &s), 0, "%s", s.err);
    for (size_t cut = 0; cut < len; cut++) {
        cr_assert_neq(dz_envelope_scan(page, cut, "items", &env, &s), 0, "a cut at %zu passed",
                      cut);
        cr_assert_eq(s.status, DZ_SCAN_MALFORMED, "cut %zu: %s", cut, s.err);
    }
}

/* A small deterministic generator (xorshift), so failures reproduce. */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

Test(dz_scan, accepts_exactly_what_jansson_accepts)
{
    static const char *const corpus[] = {
        "{\"code\":\"480001\",\"body\":{\"items\":[{\"a\":1},{\"b\":\"x\\n\"}],\"next\":true}}",
        "[1, 2.5, -3e7, true, false, null, \"\\u00e9\\ud83d\\ude00\", {\"k\": []}]",
        "{\"s\":\"S\xc3\xa3o \xe2\x82\xac \xf0\x9f\x98\x80\",\"n\":9223372036854775807}",
        "{\"deep\":[[[[{\"x\":[{}]}]]]],\"e\":1E-5,\"z\":-0.0}",
    };
    static const char alphabet[] = "{}[]:,\"\\ u0123456789abcdefetrunl.-+Ee\xc3\xa9\xed\xa0\x80\t\n";
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    char buf[512];
    size_t checked = 0, accepted = 0;
    for (int round = 0; round < 20000; round++) {
        const char *base = corpus[rng_next(&seed) % (sizeof corpus / sizeof corpus[0])];
        size_t n = strlen(base);
        memcpy(buf, base, n + 1);
        int edits = 1 + (int)(rng_next(&seed) % 3);
        for (int k = 0; k < edits && n > 0; k++) {
            size_t at = rng_next(&seed) % n;
            char c = alphabet[rng_next(&seed) % (sizeof alphabet - 1)];
            switch (rng_next(&seed) % 3) {
            case 0: buf[at] = c; break;                                         /* replace */
            case 1:                                                             /* delete */
                memmove(buf + at, buf + at + 1, n - at);
                n--;
                break;
            default:                                                            /* insert */
                if (n + 2 < sizeof buf) {
                    memmove(buf + at + 1, buf + at, n - at + 1);
                    buf[at] = c;
                    n++;
                }
            }
        }
        buf[n] = '\0';
        dz_scanner s;
        dz_scan_init(&s, buf, n);
        int ours = dz_scan_document(&s) == 0;
        json_error_t e;
        json_t *j = json_loadb(buf, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
        int theirs = j != NULL;
        json_decref(j);
        cr_assert_eq(ours, theirs, "disagreement on <%s>: scanner %s (%s), jansson %s (%s)", buf,
                     ours ? "accepts" : "refuses", s.err, theirs ? "accepts" : "refuses", e.text);
        checked++;
        accepted += (size_t)ours;
    }
    /* the mutations must exercise both answers, or the test proves little */
    cr_assert_gt(accepted, checked / 50);
    cr_assert_lt(accepted, checked - checked / 50);
}

/* --- the envelope --- */

Test(dz_scan, a_member_path_quoting_server_bytes_is_printable_utf8)
{
    /* A key of bytes that are not UTF-8, and one holding a raw control byte. */
    static const char bad_utf8[] = "{\"body\":{\"it\xc3\xc3" "ems\":[1,}";
    char path[160];
    siphon_json_path_at(bad_utf8, sizeof bad_utf8 - 1, sizeof bad_utf8 - 2, path, sizeof path);
    cr_assert_str_eq(path, "body.it??ems[1]");
    static const char control[] = "{\"a\x1b[2Jb\":{\"\xc3\xa7\":x}";
    siphon_json_path_at(control, sizeof control - 1, sizeof control - 3, path, sizeof path);
    cr_assert_str_eq(path, "a [2Jb.\xc3\xa7");
}

Test(dz_envelope, finds_code_body_items_and_next_in_any_key_order)
{
    const char *orders[] = {
        "{\"code\":\"480001\",\"code_detail\":\"Sucesso\",\"body\":{\"items\":[{\"a\":1},{\"a\":2}],"
        "\"next\":true}}",
        "{\"body\":{\"next\":true,\"items\":[{\"a\":1},{\"a\":2}]},\"warning\":[],"
        "\"code_detail\":\"Sucesso\",\"code\":\"480001\"}",
        "{\"request_unique\":\"x\",\"body\":{\"items\":[{\"a\":1},{\"a\":2}],\"next\":true},"
        "\"code\":480001,\"code_detail\":\"Sucesso\"}",
    };
    for (size_t i = 0; i < 3; i++) {
        dz_envelope env;
        dz_scanner s;
        cr_assert_eq(scan_env(orders[i], "items", &env, &s), 0, "%s", s.err);
        cr_expect(env.has_code);
        cr_expect_str_eq(env.code, "480001");
        cr_expect_str_eq(env.detail, "Sucesso");
        cr_expect_eq(env.body_kind, DZ_JSON_OBJECT);
        cr_expect_eq(env.items_kind, DZ_JSON_ARRAY);
        cr_expect_eq(env.n_items, 2);
        cr_expect_eq(env.next, DZ_NEXT_TRUE);
        cr_expect_eq(env.bad_item, 0);
    }
}

Test(dz_envelope, keys_match_after_unescaping_and_not_by_prefix)
{
    dz_envelope env;
    dz_scanner s;
    const char *text = "{\"\\u0063ode\":\"240006\",\"codex\":\"1\",\"body\":{\"item\":[1],"
                       "\"it\\u0065ms\":[{}],\"nextpage\":false}}";
    cr_assert_eq(scan_env(text, "items", &env, &s), 0, "%s", s.err);
    cr_assert_str_eq(env.code, "240006");
    cr_assert_eq(env.items_kind, DZ_JSON_ARRAY);
    cr_assert_eq(env.n_items, 1);
    cr_assert_eq(env.next, DZ_NEXT_ABSENT);
}

Test(dz_envelope, next_accepts_boolean_spellings)
{
    static const struct {
        const char *value;
        int next;
    } cases[] = {
        {"true", DZ_NEXT_TRUE},     {"false", DZ_NEXT_FALSE}, {"\"true\"", DZ_NEXT_TRUE},
        {"\"False\"", DZ_NEXT_FALSE}, {"1", DZ_NEXT_TRUE},      {"0", DZ_NEXT_FALSE},
        {"\"1\"", DZ_NEXT_TRUE},    {"null", DZ_NEXT_ABSENT}, {"\"maybe\"", DZ_NEXT_ABSENT},
        {"[true]", DZ_NEXT_ABSENT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[200];
        snprintf(text, sizeof text, "{\"code\":\"480001\",\"body\":{\"items\":[],\"next\":%s}}",
                 cases[i].value);
        dz_envelope env;
        dz_scanner s;
        cr_assert_eq(scan_env(text, "items", &env, &s), 0, "%s", s.err);
        cr_expect_eq(env.next, cases[i].next, "next %s read as %d", cases[i].value, env.next);
    }
}

Test(dz_envelope, reads_codes_and_retry_after_as_strings_or_numbers)
{
    dz_envelope env;
    dz_scanner s;
    cr_assert_eq(scan_env("{\"code\":240024,\"body\":{\"retry-after\":17}}", NULL, &env, &s), 0);
    cr_assert_str_eq(env.code, "240024");
    cr_assert(env.has_retry_after);
    cr_assert_str_eq(env.retry_after, "17");
    cr_assert_eq(scan_env("{\"body\":{\"retry-after\":\"42\"},\"code\":\"240024\"}", NULL, &env,
                          &s), 0);
    cr_assert_str_eq(env.retry_after, "42");
    cr_assert_eq(scan_env("{\"code\":null,\"body\":{}}", NULL, &env, &s), 0);
    cr_assert(!env.has_code);
}

Test(dz_envelope, code_detail_is_unescaped_and_truncated_safely)
{
    char text[1200];
    char detail[700];
    memset(detail, 'x', sizeof detail - 1);
    detail[sizeof detail - 1] = '\0';
    memcpy(detail + 180, "\\u00e9\\u00e9\\u00e9", 18);
    snprintf(text, sizeof text, "{\"code\":\"240100\",\"code_detail\":\"Par\\u00e2metro "
                                "\\\"contact-list_code\\\" %s\"}", detail);
    dz_envelope env;
    dz_scanner s;
    cr_assert_eq(scan_env(text, NULL, &env, &s), 0, "%s", s.err);
    cr_assert(strncmp(env.detail, "Par\xc3\xa2metro \"contact-list_code\" xxx", 34) == 0, "%s",
              env.detail);
    cr_assert_lt(strlen(env.detail), sizeof env.detail);
    /* the copy never ends inside a multibyte character */
    json_t *j = json_string(env.detail);
    cr_assert_not_null(j, "detail is not valid UTF-8: %s", env.detail);
    json_decref(j);
}

Test(dz_envelope, notes_items_that_are_not_objects_and_other_arrays)
{
    dz_envelope env;
    dz_scanner s;
    cr_assert_eq(scan_env("{\"code\":\"480001\",\"body\":{\"items\":[{},{},\"oops\",3]}}", "items",
                          &env, &s), 0);
    cr_assert_eq(env.n_items, 4);
    cr_assert_eq(env.bad_item, 3);
    cr_assert_eq(env.bad_item_kind, DZ_JSON_STRING);
    cr_assert_eq(scan_env("{\"code\":\"480001\",\"body\":{\"list\":[{}]}}", "items", &env, &s), 0);
    cr_assert_eq(env.items_kind, DZ_JSON_NONE);
    cr_assert_str_eq(env.other_array, "list");
}

Test(dz_envelope, empty_bodies_are_recognised)
{
    const char *empties[] = {"null", "[]", "{}", " [ ] "};
    for (size_t i = 0; i < 4; i++) {
        char text[100];
        snprintf(text, sizeof text, "{\"code\":\"480001\",\"body\":%s}", empties[i]);
        dz_envelope env;
        dz_scanner s;
        cr_assert_eq(scan_env(text, "items", &env, &s), 0, "%s", s.err);
        cr_expect(env.body_empty, "body %s not seen as empty", empties[i]);
    }
}

Test(dz_envelope, refuses_what_is_not_an_envelope)
{
    const char *bad[] = {"[]", "\"480001\"", "<html>502 Bad Gateway</html>", "",
                         "{\"code\":\"480001\",\"body\":{\"items\":[{\"a\":1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dz_envelope env;
        dz_scanner s;
        cr_expect_neq(scan_env(bad[i], "items", &env, &s), 0, "accepted %s", bad[i]);
        cr_expect_eq(s.status, DZ_SCAN_MALFORMED);
    }
}

/* Collects the items dz_items_each hands over. */
static int collect(void *user, json_t *item, size_t index)
{
    json_t *all = user;
    cr_assert_eq(json_array_size(all), index);
    return json_array_append_new(all, item);
}

Test(dz_envelope, items_parse_one_at_a_time_to_the_same_values_as_a_whole_parse)
{
    const char *text =
        "{\"code\":\"480001\",\"body\":{\"next\":false,\"items\":[ {\"code\":\"1\",\"name\":"
        "\"Jos\\u00e9 \\\"Z\\\"\\n\",\"custom_fields\":{\"cmp4\":\"S\xc3\xa3o Paulo\","
        "\"cmp5\":null},\"n\":12,\"r\":2.5,\"t\":true} ,\n{\"code\":\"2\",\"nested\":[[],[{}],"
        "\"]\"],\"nul\":\"a\\u0000b\"},{}\t]},\"code_detail\":\"Sucesso\"}";
    dz_envelope env;
    dz_scanner s;
    cr_assert_eq(scan_env(text, "items", &env, &s), 0, "%s", s.err);
    json_t *got = json_array();
    char why[200];
    cr_assert_eq(dz_items_each(text, &env, collect, got, why, sizeof why), 0, "%s", why);
    json_error_t e;
    json_t *whole = json_loads(text, JSON_ALLOW_NUL, &e);
    cr_assert_not_null(whole, "%s", e.text);
    json_t *expected = json_object_get(json_object_get(whole, "body"), "items");
    cr_assert(json_equal(got, expected));
    cr_assert_eq(json_string_length(json_object_get(json_array_get(got, 1), "nul")), 3);
    json_decref(whole);
    json_decref(got);
}

static int stop_at_second(void *user, json_t *item, size_t index)
{
    (void)user;
    json_decref(item);
    return index == 1 ? 42 : 0;
}

Test(dz_envelope, an_item_callback_can_stop_the_iteration)
{
    const char *text = "{\"code\":\"480001\",\"body\":{\"items\":[{},{},{}]}}";
    dz_envelope env;
    dz_scanner s;
    cr_assert_eq(scan_env(text, "items", &env, &s), 0);
    char why[100];
    cr_assert_eq(dz_items_each(text, &env, stop_at_second, NULL, why, sizeof why), 42);
}
