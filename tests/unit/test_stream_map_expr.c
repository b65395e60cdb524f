/*
 * The expression language of stream maps: literals, property access,
 * comparisons (numbers sent as strings included), logic, and the messages
 * for everything malformed.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "test_stream_map_support.h"

static void expect_eval(const char *expr, const char *record, const char *want)
{
    char *got = sxt_eval(expr, record, NULL);
    cr_expect_str_eq(got, want, "%s over %s", expr, record);
    free(got);
}

static void expect_compile_error(const char *expr, const char *schema, const char *want)
{
    char *got = sxt_compile_error(expr, schema, NULL);
    cr_expect_str_eq(got, want, "%s", expr);
    free(got);
}

Test(map_expr, literals_of_every_kind)
{
    expect_eval("'it\\'s'", "{}", "\"it's\"");
    expect_eval("\"dinamize\"", "{}", "\"dinamize\"");
    expect_eval("'tab\\tand\\\\'", "{}", "\"tab\\tand\\\\\"");
    expect_eval("-3", "{}", "-3");
    expect_eval("1.5", "{}", "1.5");
    expect_eval("2e3", "{}", "2000.0");
    expect_eval(".5", "{}", "0.5");
    expect_eval("null", "{}", "null");
    expect_eval("None", "{}", "null");
    expect_eval("true", "{}", "true");
    expect_eval("False", "{}", "false");
    expect_eval("9223372036854775807", "{}", "9223372036854775807");
}

Test(map_expr, properties_by_name_and_by_subscript)
{
    const char *rec = "{\"code\": 7, \"contact-list_code\": \"12\", \"and\": 1}";
    expect_eval("code", rec, "7");
    expect_eval("record['contact-list_code']", rec, "\"12\"");
    expect_eval("_[\"contact-list_code\"]", rec, "\"12\"");
    expect_eval("record['and']", rec, "1");
    expect_eval("missing", rec, "null");
}

Test(map_expr, numbers_sent_as_strings_compare_as_numbers)
{
    const char *rec = "{\"total_sents\": \"10\", \"zero\": \"0\", \"code\": \"007\", \"e\": \"1e3\", "
                      "\"price\": \"2.50\"}";
    expect_eval("total_sents > 9", rec, "true");
    expect_eval("total_sents > '9'", rec, "true");
    expect_eval("total_sents == 10", rec, "true");
    expect_eval("total_sents == 10.0", rec, "true");
    expect_eval("zero > 0", rec, "false");
    expect_eval("code == 7", rec, "true");
    expect_eval("e == 1000", rec, "true");
    expect_eval("price == 2.5", rec, "true");
    expect_eval("price < 3", rec, "true");
    expect_eval("9223372036854775807 > 9223372036854775806", rec, "true");
}

Test(map_expr, other_strings_compare_byte_by_byte)
{
    const char *rec = "{\"s\": \"abc\", \"t\": \"9a\", \"status\": \"V\"}";
    expect_eval("s < 'abd'", rec, "true");
    expect_eval("s < 'ab'", rec, "false");
    expect_eval("'10' < t", rec, "true");
    expect_eval("status == 'V'", rec, "true");
    expect_eval("status != 'v'", rec, "true");
}

Test(map_expr, null_equals_only_null_and_orders_with_nothing)
{
    const char *rec = "{\"n\": null, \"z\": 0}";
    expect_eval("n == null", rec, "true");
    expect_eval("missing == null", rec, "true");
    expect_eval("z == null", rec, "false");
    expect_eval("z != null", rec, "true");
    expect_eval("n < 1", rec, "false");
    expect_eval("n >= 1", rec, "false");
    expect_eval("n <= null", rec, "false");
}

Test(map_expr, unlike_values_are_unequal)
{
    const char *rec = "{\"s\": \"abc\", \"b\": true, \"o\": {\"a\": 1}, \"p\": {\"a\": 1}}";
    expect_eval("s == 3", rec, "false");
    expect_eval("s != 3", rec, "true");
    expect_eval("b == 1", rec, "false");
    expect_eval("b == true", rec, "true");
    expect_eval("true > false", rec, "true");
    expect_eval("o == p", rec, "true");
}

Test(map_expr, ordering_a_word_against_a_number_is_an_error_for_the_record)
{
    char *msg = sxt_eval_error("total_sents > 0", "{\"total_sents\": \"n/a\"}", NULL);
    cr_assert_str_eq(msg, "stream 's', field 'v': cannot order a string and an integer with '>' "
                          "(the string is not a number)");
    free(msg);
    msg = sxt_eval_error("o < 1", "{\"o\": [1]}", NULL);
    cr_assert_str_eq(msg, "stream 's', field 'v': cannot order an array and an integer with '<'");
    free(msg);
}

Test(map_expr, logic_short_circuits)
{
    /* int('x') would fail; it must not run. */
    expect_eval("n != null and int(n) > 0", "{}", "false");
    expect_eval("true or int('x') > 0", "{}", "true");
    expect_eval("not (a == 1) and (b == 2 or c == 3)", "{\"a\": 2, \"c\": 3}", "true");
    expect_eval("not not a", "{\"a\": \"x\"}", "true");
    expect_eval("a or b", "{\"a\": 0, \"b\": []}", "false");
}

Test(map_expr, and_binds_tighter_than_or)
{
    expect_eval("true or false and false", "{}", "true");
    expect_eval("(true or false) and false", "{}", "false");
}

Test(map_expr, self_is_the_original_value_of_the_field)
{
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"s\": {\"name\": \"upper(self)\", "
                               "\"fresh\": \"coalesce(self, 'none')\"}}}",
                               "s", NULL, NULL, NULL);
    json_t *out;
    char msg[256];
    cr_assert_eq(sxt_apply(m, "{\"name\": \"ana\"}", &out, msg, sizeof msg), 1, "%s", msg);
    sxt_assert_json(out, "{\"name\": \"ANA\", \"fresh\": \"none\"}");
    json_decref(out);
    sx_stream_map_free(m);
}

Test(map_expr, malformed_expressions_say_what_and_where)
{
    expect_compile_error("sha256(email", NULL,
                         "stream 's', field 'v': expected ',' or ')' in the arguments of sha256() "
                         "at the end of \"sha256(email\"");
    expect_compile_error("status = 'V'", NULL,
                         "stream 's', field 'v': '=' is not an operator (compare with '==') at "
                         "column 8 of \"status = 'V'\"");
    expect_compile_error("a == b == c", NULL,
                         "stream 's', field 'v': comparisons do not chain (join them with 'and') "
                         "at column 8 of \"a == b == c\"");
    expect_compile_error("'abc", NULL,
                         "stream 's', field 'v': unterminated string at column 1 of \"'abc\"");
    expect_compile_error("", NULL, "stream 's', field 'v': the expression is empty");
    expect_compile_error("1 2", NULL,
                         "stream 's', field 'v': unexpected '2' after a complete expression at "
                         "column 3 of \"1 2\"");
    expect_compile_error("record.x", NULL,
                         "stream 's', field 'v': 'record' and '_' must be followed by ['name'] at "
                         "column 1 of \"record.x\"");
    expect_compile_error("record[x]", NULL,
                         "stream 's', field 'v': expected a quoted property name at column 8 of "
                         "\"record[x]\"");
    expect_compile_error("(a == 1", NULL,
                         "stream 's', field 'v': expected ')' at the end of \"(a == 1\"");
    expect_compile_error("a and", NULL,
                         "stream 's', field 'v': expected a value at the end of \"a and\"");
    expect_compile_error("a ! b", NULL,
                         "stream 's', field 'v': '!' is not an operator (negate with 'not', "
                         "compare with '!=') at column 3 of \"a ! b\"");
    expect_compile_error("-a", NULL,
                         "stream 's', field 'v': '-' may only precede a number at column 2 of "
                         "\"-a\"");
    expect_compile_error("'a\\x'", NULL,
                         "stream 's', field 'v': unknown escape (use \\\\, \\', \\\", \\n, \\t or "
                         "\\r) at column 3 of \"'a\\x'\"");
    expect_compile_error("12ab", NULL,
                         "stream 's', field 'v': malformed number at column 1 of \"12ab\"");
    expect_compile_error("99999999999999999999", NULL,
                         "stream 's', field 'v': integer out of the 64-bit range at column 1 of "
                         "\"99999999999999999999\"");
    expect_compile_error("a @ b", NULL,
                         "stream 's', field 'v': unexpected character '@' at column 3 of "
                         "\"a @ b\"");
    expect_compile_error("or", NULL,
                         "stream 's', field 'v': expected a value before 'or' at column 1 of "
                         "\"or\"");
}

Test(map_expr, an_unknown_function_is_refused_with_a_suggestion)
{
    expect_compile_error("sha265(email)", NULL,
                         "stream 's', field 'v': unknown function 'sha265' at column 1 of "
                         "\"sha265(email)\" (did you mean 'sha256'?)");
    expect_compile_error("frobnicate(email)", NULL,
                         "stream 's', field 'v': unknown function 'frobnicate' at column 1 of "
                         "\"frobnicate(email)\"");
}

Test(map_expr, an_unknown_property_is_refused_when_the_schema_lists_them)
{
    const char *schema = "{\"type\": \"object\", \"properties\": {\"email\": {\"type\": \"string\"}, "
                         "\"contact-list_code\": {}}}";
    expect_compile_error("sha256(emial)", schema,
                         "stream 's', field 'v': unknown property 'emial' at column 8 of "
                         "\"sha256(emial)\" (did you mean 'email'?)");
    expect_compile_error("record['contact_list_code']", schema,
                         "stream 's', field 'v': unknown property 'contact_list_code' at column 8 "
                         "of \"record['contact_list_code']\" (did you mean 'contact-list_code'?)");
}

Test(map_expr, any_property_is_accepted_when_the_schema_allows_more)
{
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"s\": {\"v\": \"lower(extra)\"}}}", "s",
                               "{\"properties\": {\"a\": {}}, \"additionalProperties\": true}", NULL,
                               NULL);
    sx_stream_map_free(m);
}

Test(map_expr, self_in_a_filter_is_refused)
{
    char *msg = sxt_map_error("{\"stream_maps\": {\"s\": {\"__filter__\": \"self == 1\"}}}", "s",
                              NULL, NULL, NULL);
    cr_assert_str_eq(msg, "stream 's', field '__filter__': 'self' means the property being "
                          "computed and has no meaning here at column 1 of \"self == 1\"");
    free(msg);
}
