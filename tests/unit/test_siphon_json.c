/*
 * libsiphon-util's writers (siphon-json.h) against jansson itself: every
 * value must come out byte for byte as json_dumps(JSON_COMPACT |
 * JSON_ENCODE_ANY) writes it, and time stamps as gmtime + strftime do.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include <siphon/siphon-json.h>

static void assert_like_jansson(const json_t *v)
{
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    cr_assert_not_null(want, "jansson refused the value itself");
    siphon_buf b = {0};
    cr_assert_eq(siphon_buf_append(&b, "prefix:", 7), 0);
    cr_assert_eq(siphon_json_append(&b, v), 0, "siphon_json_append refused %s", want);
    cr_assert_eq(b.len, 7 + strlen(want), "length differs for %s: got %.*s", want,
                 (int)b.len - 7, b.data + 7);
    cr_assert_eq(memcmp(b.data + 7, want, strlen(want)), 0, "expected %s, got %s", want,
                 b.data + 7);
    cr_assert_eq(b.data[b.len], '\0', "the buffer is not NUL-terminated");
    free(want);
    siphon_buf_free(&b);
}

Test(siphon_json, scalars_come_out_as_jansson_writes_them)
{
    const json_int_t ints[] = {0, 1, -1, 9, 10, 99, 100, 12345, -98765, 1000000007,
                               INT64_MAX, INT64_MIN, INT64_MIN + 1};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        json_t *v = json_integer(ints[i]);
        assert_like_jansson(v);
        json_decref(v);
    }
    const double reals[] = {0.0, -0.0, 1.0, -1.5, 0.1, 1e20, 1e21, 1e-5, 1.7976931348623157e308,
                            5e-324, 123456789.125, 3.0e-10, 100.0, 2.5e+300, -7e-300};
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        json_t *v = json_real(reals[i]);
        assert_like_jansson(v);
        json_decref(v);
    }
    json_t *lits[] = {json_true(), json_false(), json_null()};
    for (size_t i = 0; i < 3; i++)
        assert_like_jansson(lits[i]);
}

Test(siphon_json, strings_escape_as_jansson_escapes_them)
{
    const char *const texts[] = {
        "",
        "plain ascii",
        "quote \" backslash \\ slash / done",
        "tab\tnewline\nreturn\rbell\x07 formfeed\f backspace\b esc\x1b unit\x1f del\x7f",
        "João Conceição Gonçalves",
        "emoji 🌻 and 𝄞 (four bytes)",
        "Cliente disse: \"adorei o produto!\"\nLigar de novo em março",
        "C:\\Clientes\\Importação\\lote-7.csv",
        "\xe2\x80\xa8 line separator stays as is",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        json_t *v = json_string(texts[i]);
        cr_assert_not_null(v);
        assert_like_jansson(v);
        json_decref(v);
    }
    /* an embedded NUL is \u0000 */
    json_t *nul = json_stringn("a\0b", 3);
    assert_like_jansson(nul);
    json_decref(nul);
    /* every single byte below 0x80 */
    char all[128];
    for (int c = 0; c < 128; c++)
        all[c] = (char)c;
    json_t *v = json_stringn(all, sizeof all);
    assert_like_jansson(v);
    json_decref(v);
}

Test(siphon_json, containers_keep_insertion_order_and_escaped_keys)
{
    json_t *v = json_pack("{s:s, s:i, s:[i, s, n, b, {}, []], s:{s:n, s:f}, s:{}}", "zeta", "z",
                          "alpha", 1, "list", 2, "two", 1, "key \"quoted\"\n", "inner", "real",
                          2.5, "empty");
    cr_assert_not_null(v);
    json_object_set_new(json_object_get(v, "key \"quoted\"\n"), "ü/ß", json_string("x"));
    assert_like_jansson(v);
    json_decref(v);
    json_t *arr = json_loads("[[], {}, [[[1]]], \"\", {\"a\": {\"b\": []}}]", 0, NULL);
    assert_like_jansson(arr);
    json_decref(arr);
}

/* A small deterministic generator of nested values with awkward content. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static json_t *random_string(void)
{
    static const char *const pieces[] = {"a", "Z", "\"", "\\", "/", "\n", "\x01", "ç", "🌻",
                                         " ", "\t", "é", "\x7f", "0", "{", "}"};
    char text[64] = "";
    size_t n = rnd() % 8;
    for (size_t i = 0; i < n; i++)
        strcat(text, pieces[rnd() % (sizeof pieces / sizeof pieces[0])]);
    return json_string(text);
}

static json_t *random_value(int depth)
{
    switch (rnd() % (depth > 4 ? 6 : 8)) {
    case 0: return json_integer((json_int_t)(rnd() >> (rnd() % 64)) * (rnd() % 2 ? 1 : -1));
    case 1: return json_real((double)(int64_t)rnd() / (double)(1 + rnd() % 100000));
    case 2: return random_string();
    case 3: return json_boolean(rnd() % 2);
    case 4: return json_null();
    case 5: return json_string("");
    case 6: {
        json_t *o = json_object();
        size_t n = rnd() % 5;
        for (size_t i = 0; i < n; i++) {
            json_t *k = random_string();
            json_object_set_new(o, json_string_value(k), random_value(depth + 1));
            json_decref(k);
        }
        return o;
    }
    default: {
        json_t *a = json_array();
        size_t n = rnd() % 5;
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    }
}

Test(siphon_json, thousands_of_random_trees_match_jansson)
{
    for (int i = 0; i < 3000; i++) {
        json_t *v = random_value(0);
        assert_like_jansson(v);
        json_decref(v);
    }
}

Test(siphon_json, invalid_utf8_is_refused_and_the_buffer_left_as_it_was)
{
    const char *const bad[] = {"\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                               "ok \xe2\x82"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *v = json_stringn_nocheck(bad[i], strlen(bad[i]));
        char *jansson = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        cr_assert_null(jansson, "jansson dumps invalid UTF-8 case %zu", i);
        siphon_buf b = {0};
        siphon_buf_append(&b, "[1,", 3);
        cr_assert_eq(siphon_json_append(&b, v), -1, "case %zu accepted", i);
        cr_assert_eq(b.len, 3);
        cr_assert_str_eq(b.data, "[1,");
        cr_assert_eq(siphon_json_append_string(&b, bad[i], strlen(bad[i])), -1);
        cr_assert_str_eq(b.data, "[1,");
        siphon_buf_free(&b);
        json_decref(v);
    }
}

Test(siphon_json, a_value_that_contains_itself_is_refused_not_a_crash)
{
    json_t *a = json_array();
    json_t *o = json_object();
    json_array_append(a, o);
    json_object_set(o, "loop", a);
    siphon_buf b = {0};
    cr_assert_eq(siphon_json_append(&b, a), -1);
    cr_assert_eq(b.len, 0);
    siphon_buf_free(&b);
    json_object_del(o, "loop");
    json_decref(o);
    json_decref(a);
}

Test(siphon_json, append_int_writes_every_magnitude)
{
    siphon_buf b = {0};
    int64_t v = 1;
    for (int i = 0; i < 19; i++) {
        char want[32];
        if (i > 0)
            v *= 10; /* up to 10^18: one more would overflow */
        b.len = 0;
        snprintf(want, sizeof want, "%lld", (long long)v - 1);
        cr_assert_eq(siphon_json_append_int(&b, v - 1), 0);
        cr_assert_str_eq(b.data, want);
        b.len = 0;
        snprintf(want, sizeof want, "%lld", -(long long)v);
        cr_assert_eq(siphon_json_append_int(&b, -v), 0);
        cr_assert_str_eq(b.data, want);
    }
    siphon_buf_free(&b);
}

static void assert_stamp(int64_t ms)
{
    int64_t secs = ms / 1000, frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        secs--;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    cr_assert_not_null(gmtime_r(&t, &tm));
    char want[64], head[40];
    strftime(head, sizeof head, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(want, sizeof want, "%s.%03dZ", head, (int)frac);
    char got[SIPHON_RFC3339_MS_LEN + 1];
    cr_assert_eq(siphon_rfc3339_ms(ms, got), SIPHON_RFC3339_MS_LEN);
    cr_assert_str_eq(got, want, "ms %lld", (long long)ms);
}

Test(siphon_json, time_stamps_match_gmtime_across_the_calendar)
{
    const int64_t fixed[] = {0, 1, 999, 1000, -1, -999, -1000, -1001, 951782400000 /* 2000-02-29 */,
                             4107542399999 /* 2100-02-28 end */, 1704164705678,
                             253402300799999 /* 9999-12-31 */,
                             68256000000 /* 1972-02-29 */};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        assert_stamp(fixed[i]);
    for (int i = 0; i < 20000; i++) {
        /* years 1000 .. 9999 */
        int64_t ms = -30610224000000LL + (int64_t)(rnd() % 283999999999999ULL);
        assert_stamp(ms);
    }
}

Test(siphon_json, time_stamps_outside_four_digit_years_are_clamped)
{
    char got[SIPHON_RFC3339_MS_LEN + 1];
    siphon_rfc3339_ms(INT64_MAX, got);
    cr_assert_str_eq(got, "9999-12-31T23:59:59.999Z");
    siphon_rfc3339_ms(INT64_MIN, got);
    cr_assert_str_eq(got, "0000-01-01T00:00:00.000Z");
    /* strftime does not pad years below 1000; these are checked by hand */
    siphon_rfc3339_ms(-62135596800000LL, got);
    cr_assert_str_eq(got, "0001-01-01T00:00:00.000Z");
    siphon_rfc3339_ms(-59042908800001LL, got);
    cr_assert_str_eq(got, "0099-01-01T23:59:59.999Z");
}

Test(siphon_json, utf8_judge_refuses_what_jansson_refuses)
{
    static const struct {
        const char *bytes;
        size_t len;
    } cases[] = {
        {"plain ascii", 11},
        {"a\0b", 3},                       /* NUL is a character */
        {"\xc3\xa7\xc3\xa3o", 5},          /* "ção" */
        {"\xe2\x82\xac", 3},               /* U+20AC */
        {"\xf0\x9f\x98\x80", 4},           /* U+1F600 */
        {"\xf4\x8f\xbf\xbf", 4},           /* U+10FFFF, the last */
        {"\xc0\x80", 2},                   /* overlong NUL */
        {"\xe0\x80\xaf", 3},               /* overlong '/' */
        {"\xed\xa0\x80", 3},               /* a surrogate */
        {"\xf4\x90\x80\x80", 4},           /* above U+10FFFF */
        {"\xe2\x82", 2},                   /* cut short */
        {"\x80", 1},                       /* a lone continuation byte */
        {"\xc3\x28", 2},                   /* a lead byte without its continuation */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *s = json_stringn(cases[i].bytes, cases[i].len);
        int jansson = s != NULL;
        json_decref(s);
        cr_expect_eq(siphon_utf8_valid(cases[i].bytes, cases[i].len), jansson,
                     "case %zu: siphon says %d, jansson %d", i,
                     siphon_utf8_valid(cases[i].bytes, cases[i].len), jansson);
    }
    cr_expect_eq(siphon_utf8_sequence((const unsigned char *)"\xf0\x9f\x98\x80", 4), 4);
    cr_expect_eq(siphon_utf8_sequence((const unsigned char *)"\xf0\x9f\x98\x80", 3), 0,
                 "a sequence longer than the bytes left is refused");
}
