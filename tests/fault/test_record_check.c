/*
 * test_record_check.c: how the host and the Dinamize plugins name the member
 * a hostile record went wrong in (core/record_check.h, and
 * siphon_json_path_at of siphon-json.h, which both use).
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <siphon/siphon-json.h>

#include "record_check.h"

TestSuite(record_check);

static void path_is(const char *text, const char *at, const char *want)
{
    const char *p = strstr(text, at);
    cr_assert_not_null(p, "'%s' is not in the text", at);
    char path[256];
    siphon_json_path_at(text, strlen(text), (size_t)(p - text), path, sizeof path);
    cr_assert_str_eq(path, want, "at '%s'", at);
}

Test(record_check, a_byte_offset_names_its_member_through_nesting_arrays_and_escapes)
{
    const char *text = "{\"code\":\"480001\",\"body\":{\"items\":[{\"a\":1},{\"b\\\"q\":\"x,y]\","
                       "\"name\":123456789012345678901234567890}],\"next\":true}}";
    path_is(text, "480001", "code");
    path_is(text, "1}", "body.items[0].a");
    path_is(text, "x,y]", "body.items[1].b\\\"q");
    path_is(text, "1234567890", "body.items[1].name");
    path_is(text, "true", "body.next");
    char out[8];
    siphon_json_path_at(text, strlen(text), strlen(text), out, sizeof out);
    cr_assert_str_eq(out, "", "after the document: the top level");
    siphon_json_path_at(text, strlen(text), (size_t)(strstr(text, "1234") - text), out, sizeof out);
    cr_assert_eq(strlen(out), sizeof out - 1, "a path longer than the buffer is cut, not overrun");
}

Test(record_check, a_record_that_is_not_utf8_is_refused_naming_the_member)
{
    char why[512];
    json_t *ok = json_pack("{s:s, s:[s, {s:s}]}", "name", "Jo\xc3\xa3o", "list", "a", "x", "\xf0\x9f\x8c\xbb");
    cr_assert_eq(sx_record_check(ok, why, sizeof why), 0, "%s", why);
    json_t *bad = json_deep_copy(ok);
    json_array_append_new(json_object_get(bad, "list"), json_string_nocheck("Jo\xe3o"));
    cr_assert_eq(sx_record_check(bad, why, sizeof why), -1);
    cr_assert_str_eq(why, "member 'list[2]': a string that is not valid UTF-8");
    json_t *bad_key = json_object();
    json_object_set_new_nocheck(bad_key, "k\xff", json_integer(1));
    cr_assert_eq(sx_record_check(bad_key, why, sizeof why), -1);
    cr_assert_str_eq(why, "member name 'k\\xFF': not valid UTF-8");
    /* overlong forms and surrogates are not UTF-8 either */
    const char *forms[] = {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", NULL};
    for (const char *const *f = forms; *f; f++) {
        json_t *v = json_pack("{s:o}", "v", json_string_nocheck(*f));
        cr_assert_eq(sx_record_check(v, why, sizeof why), -1, "accepted %s", *f);
        json_decref(v);
    }
    json_decref(bad_key);
    json_decref(bad);
    json_decref(ok);
}

Test(record_check, nesting_beyond_what_readers_parse_is_refused)
{
    char why[512];
    json_t *v = json_string("bottom");
    for (int i = 0; i < SX_RECORD_MAX_DEPTH - 1; i++)
        v = json_pack("{s:o}", "d", v);
    cr_assert_eq(sx_record_check(v, why, sizeof why), 0, "%s", why);
    /* one more level, inside a record */
    json_t *rec = json_pack("{s:o}", "doc", v);
    cr_assert_eq(sx_record_check(rec, why, sizeof why), -1);
    cr_assert(strncmp(why, "member 'doc.d.d.d", 17) == 0, "%s", why);
    cr_assert_not_null(strstr(why, "...': nested deeper than 2048 levels"), "%s", why);
    /* what jansson itself parses back is at most that deep */
    char *text = json_dumps(rec, 0);
    cr_assert_null(json_loads(text, 0, NULL), "jansson parsed a record deeper than its limit");
    free(text);
    json_decref(rec);
}
