/*
 * test_dz_search.c: what the Dinamize plugins send (search bodies) and how
 * they shape what comes back (normalisation to the schema, the typed custom
 * fields of contacts, the partitions of child streams).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/dinamize/common/custom_fields.h"
#include "../../plugins/dinamize/common/normalize.h"
#include "../../plugins/dinamize/common/search.h"
#include "../../plugins/dinamize/common/stream.h"

static char *page_text(const dz_search *s, int64_t page)
{
    json_t *body = dz_search_body(s);
    cr_assert_not_null(body);
    char *text = dz_search_page(body, page);
    json_decref(body);
    cr_assert_not_null(text);
    return text;
}

static const char *const code_key[] = {"code", NULL};

Test(dz_search, incremental_body_bounds_the_replication_key_and_orders_by_it_then_the_key)
{
    json_t *context = json_pack("{s:s}", "contact-list_code", "7");
    dz_search s = {.page_size = 10000, .context = context, .replication_key = "insert_date",
                   .keys = code_key, .from = "2024-05-01 10:00:00",
                   .until = "2024-06-01 09:00:00"};
    char *text = page_text(&s, 1);
    cr_assert_str_eq(text,
                     "{\"page_number\":1,\"page_size\":10000,\"contact-list_code\":\"7\","
                     "\"search\":[{\"field\":\"insert_date\",\"operator\":\">=\",\"value\":"
                     "\"2024-05-01 10:00:00\"},{\"field\":\"insert_date\",\"operator\":\"<=\","
                     "\"value\":\"2024-06-01 09:00:00\"}],\"order\":[{\"field\":\"insert_date\","
                     "\"type\":\"ASC\"},{\"field\":\"code\",\"type\":\"ASC\"}]}");
    free(text);
    json_decref(context);
}

Test(dz_search, first_sync_without_start_date_has_only_the_signpost)
{
    dz_search s = {.page_size = 500, .replication_key = "date_create", .keys = code_key,
                   .until = "2026-01-01 00:00:00"};
    char *text = page_text(&s, 1);
    cr_assert_str_eq(text, "{\"page_number\":1,\"page_size\":500,\"search\":[{\"field\":"
                           "\"date_create\",\"operator\":\"<=\",\"value\":\"2026-01-01 "
                           "00:00:00\"}],\"order\":[{\"field\":\"date_create\",\"type\":\"ASC\"},"
                           "{\"field\":\"code\",\"type\":\"ASC\"}]}");
    free(text);
}

Test(dz_search, full_table_without_replication_key_orders_by_key_only)
{
    dz_search s = {.page_size = 10000, .keys = code_key};
    char *text = page_text(&s, 4);
    cr_assert_str_eq(text, "{\"page_number\":4,\"page_size\":10000,\"order\":[{\"field\":\"code\","
                           "\"type\":\"ASC\"}]}");
    free(text);
}

Test(dz_search, composite_key_orders_by_replication_key_once)
{
    static const char *const keys[] = {"action_code", "dt_transaction", NULL};
    dz_search s = {.page_size = 10, .replication_key = "dt_transaction", .keys = keys};
    char *text = page_text(&s, 1);
    cr_assert(strstr(text, "\"order\":[{\"field\":\"dt_transaction\",\"type\":\"ASC\"},"
                           "{\"field\":\"action_code\",\"type\":\"ASC\"}]}") != NULL, "%s", text);
    free(text);
}

Test(dz_search, parent_codes_of_both_levels_go_into_the_body)
{
    json_t *context = json_pack("{s:s, s:s}", "contact-list_code", "2", "field_code", "19");
    dz_search s = {.page_size = 100, .context = context, .keys = code_key};
    json_t *body = dz_search_body(&s);
    char *p1 = dz_search_page(body, 1), *p2 = dz_search_page(body, 2);
    json_t *a = json_loads(p1, 0, NULL), *b = json_loads(p2, 0, NULL);
    cr_assert_str_eq(json_string_value(json_object_get(a, "contact-list_code")), "2");
    cr_assert_str_eq(json_string_value(json_object_get(a, "field_code")), "19");
    cr_assert_eq(json_integer_value(json_object_get(a, "page_number")), 1);
    cr_assert_eq(json_integer_value(json_object_get(b, "page_number")), 2);
    cr_assert_eq(json_integer_value(json_object_get(b, "page_size")), 100);
    json_decref(a);
    json_decref(b);
    free(p1);
    free(p2);
    json_decref(body);
    json_decref(context);
}

/* --- normalisation --- */

static const char norm_schema[] = DZ_SCHEMA(
    DZ_PROP("code", DZ_KEY("k")) "," DZ_PROP("total", DZ_TEXT("t")) ","
    DZ_PROP("optout", DZ_FLAG("f")) "," DZ_PROP("spam", DZ_FLAG("f")) ","
    DZ_PROP("is_required", DZ_FLAG("f")) "," DZ_PROP("is_searchable", DZ_FLAG("f")) ","
    DZ_PROP("custom_fields", DZ_OBJECT("o")) "," DZ_PROP("rest_date", DZ_DATE("d")) ","
    DZ_PROP("mixed", "{\"type\":[\"null\",\"integer\",\"string\"]}"));

static json_t *normalized(const char *record_text)
{
    char why[200];
    dz_shape *shape = dz_shape_from_schema(norm_schema, why, sizeof why);
    cr_assert_not_null(shape, "%s", why);
    json_t *rec = json_loads(record_text, 0, NULL);
    cr_assert_not_null(rec);
    cr_assert_eq(dz_normalize(shape, rec), SIPHON_OK);
    dz_shape_free(shape);
    return rec;
}

Test(dz_normalize, values_take_the_types_the_schema_declares)
{
    json_t *rec = normalized("{\"code\":1042,\"total\":2.5,\"optout\":\"true\",\"spam\":0,"
                             "\"is_required\":\"FALSE\",\"is_searchable\":\"1\","
                             "\"custom_fields\":{\"cmp4\":7},\"rest_date\":null,\"mixed\":5,"
                             "\"surprise\":12}");
    json_t *want = json_loads("{\"code\":\"1042\",\"total\":\"2.5\",\"optout\":true,"
                              "\"spam\":false,\"is_required\":false,\"is_searchable\":true,"
                              "\"custom_fields\":{\"cmp4\":7},\"rest_date\":null,\"mixed\":5,"
                              "\"surprise\":12}", 0, NULL);
    char *got = json_dumps(rec, JSON_SORT_KEYS | JSON_COMPACT);
    cr_assert(json_equal(rec, want), "got %s", got);
    free(got);
    json_decref(rec);
    json_decref(want);
}

Test(dz_normalize, values_of_unexpected_types_are_kept_not_dropped)
{
    json_t *rec = normalized("{\"code\":[1],\"total\":{\"a\":1},\"optout\":\"maybe\","
                             "\"spam\":2,\"is_required\":null,\"rest_date\":false}");
    json_t *want = json_loads("{\"code\":[1],\"total\":{\"a\":1},\"optout\":\"maybe\","
                              "\"spam\":2,\"is_required\":null,\"rest_date\":false}", 0, NULL);
    cr_assert(json_equal(rec, want));
    json_decref(rec);
    json_decref(want);
}

Test(dz_normalize, api_strings_pass_unchanged)
{
    const char *text = "{\"code\":\"00042\",\"total\":\"1000\",\"optout\":false,"
                       "\"rest_date\":\"2024-01-01 00:00:00\"}";
    json_t *rec = normalized(text);
    json_t *want = json_loads(text, 0, NULL);
    cr_assert(json_equal(rec, want));
    json_decref(rec);
    json_decref(want);
}

Test(dz_normalize, numbers_become_the_text_the_api_would_send)
{
    static const struct {
        const char *json, *text;
    } cases[] = {
        {"12", "12"},        {"-7", "-7"},       {"2.5", "2.5"},
        {"0.1", "0.1"},      {"3.0", "3.0"},     {"1e21", "1e+21"},
        {"123456.789", "123456.789"},            {"9223372036854775807", "9223372036854775807"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *n = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        json_t *t = dz_number_text(n);
        cr_expect_str_eq(json_string_value(t), cases[i].text);
        json_decref(n);
        json_decref(t);
    }
}

Test(dz_normalize, a_schema_that_is_not_json_is_refused)
{
    char why[200];
    cr_assert_null(dz_shape_from_schema("{\"type\":", why, sizeof why));
    cr_assert(strstr(why, "not a JSON object") != NULL, "%s", why);
}

/* --- the contacts schema --- */

static const char contacts_schema[] = DZ_SCHEMA(
    DZ_PROP("code", DZ_KEY("Contact code")) ","
    DZ_PROP("custom_fields", DZ_OBJECT("Custom fields")));

static json_t *custom_props(json_t *schema)
{
    return json_object_get(
        json_object_get(json_object_get(schema, "properties"), "custom_fields"), "properties");
}

static json_t *types_of(json_t *prop)
{
    return json_object_get(prop, "type");
}

static int types_are(json_t *prop, const char *expected_json)
{
    json_t *want = json_loads(expected_json, JSON_DECODE_ANY, NULL);
    int same = json_equal(types_of(prop), want);
    json_decref(want);
    return same;
}

Test(dz_custom_fields, each_field_type_maps_to_its_schema_type)
{
    json_t *fields = json_loads(
        "[{\"code\":\"1\",\"code_name\":\"cmp4\",\"title\":\"Cidade\",\"type\":\"VC\"},"
        "{\"code\":\"2\",\"code_name\":\"cmp5\",\"title\":\"Notas\",\"type\":\"TXT\"},"
        "{\"code\":\"3\",\"code_name\":\"cmp6\",\"title\":\"Idade\",\"type\":\"INT\"},"
        "{\"code\":\"4\",\"code_name\":\"cmp7\",\"title\":\"Saldo\",\"type\":\"FLT\"},"
        "{\"code\":\"5\",\"code_name\":\"cmp8\",\"title\":\"Nascimento\",\"type\":\"DT\"},"
        "{\"code\":\"6\",\"code_name\":\"cmp9\",\"title\":\"\\u00daltima compra\",\"type\":\"DH\"},"
        "{\"code\":\"7\",\"code_name\":\"cmp10\",\"title\":\"Celular\",\"type\":\"PHN\"},"
        "{\"code\":\"8\",\"code_name\":\"cmp11\",\"title\":\"App\",\"type\":\"DVC\"},"
        "{\"code\":\"9\",\"code_name\":\"cmp12\",\"title\":\"Interesses\",\"type\":\"lv\"},"
        "{\"code\":\"10\",\"code_name\":\"cmp13\",\"title\":\"Novo\",\"type\":\"XYZ\"}]",
        0, NULL);
    char why[200];
    size_t skipped = 99;
    json_t *schema = dz_contacts_schema(contacts_schema, fields, &skipped, why, sizeof why);
    cr_assert_not_null(schema, "%s", why);
    cr_assert_eq(skipped, 0);
    json_t *props = custom_props(schema);
    cr_assert_eq(json_object_size(props), 10);
    cr_expect(types_are(json_object_get(props, "cmp4"), "[\"null\",\"string\"]"));
    cr_expect(types_are(json_object_get(props, "cmp5"), "[\"null\",\"string\"]"));
    cr_expect(types_are(json_object_get(props, "cmp6"), "[\"null\",\"integer\",\"string\"]"));
    cr_expect(types_are(json_object_get(props, "cmp7"), "[\"null\",\"number\",\"string\"]"));
    cr_expect(types_are(json_object_get(props, "cmp8"), "[\"null\",\"string\"]"));
    cr_expect(types_are(json_object_get(props, "cmp9"), "[\"null\",\"string\"]"));
    cr_expect(types_are(json_object_get(props, "cmp10"), "[\"null\",\"string\"]"));
    cr_expect(types_are(json_object_get(props, "cmp11"), "[\"null\",\"string\"]"));
    cr_expect(types_are(json_object_get(props, "cmp12"), "[\"null\",\"string\"]"));
    /* an unknown type constrains nothing, and says so */
    cr_expect_null(types_of(json_object_get(props, "cmp13")));
    cr_expect(strstr(json_string_value(json_object_get(json_object_get(props, "cmp13"),
                                                       "description")), "XYZ") != NULL);
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(props, "cmp9"), "title")),
                     "\xc3\x9altima compra");
    cr_expect(strstr(json_string_value(json_object_get(json_object_get(props, "cmp8"),
                                                       "description")), "YYYY-MM-DD") != NULL);
    cr_expect(strstr(json_string_value(json_object_get(json_object_get(props, "cmp9"),
                                                       "description")),
                     "YYYY-MM-DD HH:MM:SS") != NULL);
    json_t *custom = json_object_get(json_object_get(schema, "properties"), "custom_fields");
    cr_assert(json_is_true(json_object_get(custom, "additionalProperties")));
    cr_assert(types_are(custom, "[\"null\",\"object\"]"));
    cr_assert_not_null(json_object_get(json_object_get(schema, "properties"), "code"));
    json_decref(schema);
    json_decref(fields);
}

Test(dz_custom_fields, a_code_name_reused_with_another_type_accepts_both)
{
    json_t *fields = json_loads(
        "[{\"code\":\"1\",\"contact-list_code\":\"1\",\"code_name\":\"cmp4\",\"title\":\"Idade\","
        "\"type\":\"INT\"},{\"code\":\"20\",\"contact-list_code\":\"2\",\"code_name\":\"cmp4\","
        "\"title\":\"Nome do pet\",\"type\":\"VC\"},{\"code\":\"30\",\"contact-list_code\":\"3\","
        "\"code_name\":\"cmp4\",\"title\":\"Idade\",\"type\":\"INT\"},{\"code\":\"31\","
        "\"title\":\"sem nome\",\"type\":\"VC\"},{\"code\":\"32\",\"code_name\":null}]",
        0, NULL);
    char why[200];
    size_t skipped = 0;
    json_t *schema = dz_contacts_schema(contacts_schema, fields, &skipped, why, sizeof why);
    cr_assert_not_null(schema, "%s", why);
    cr_assert_eq(skipped, 2);
    json_t *cmp4 = json_object_get(custom_props(schema), "cmp4");
    cr_assert(types_are(cmp4, "[\"null\",\"integer\",\"string\"]"));
    const char *d = json_string_value(json_object_get(cmp4, "description"));
    cr_assert(strstr(d, "Idade") && strstr(d, "other lists") && strstr(d, "Nome do pet"), "%s", d);
    json_decref(schema);
    json_decref(fields);
}

Test(dz_custom_fields, no_fields_still_gives_an_open_custom_fields_object)
{
    json_t *fields = json_array();
    char why[200];
    json_t *schema = dz_contacts_schema(contacts_schema, fields, NULL, why, sizeof why);
    cr_assert_not_null(schema, "%s", why);
    cr_assert_eq(json_object_size(custom_props(schema)), 0);
    json_decref(schema);
    json_decref(fields);
}

/* --- partitions (their success paths never call the host) --- */

Test(dz_partition, a_contact_list_gives_its_code_as_a_string)
{
    json_t *list = json_loads("{\"code\":\"7\",\"title\":\"Clientes\"}", 0, NULL);
    json_t *ctx_obj = NULL;
    cr_assert_eq(dz_partition_by_list(NULL, list, &ctx_obj), SIPHON_OK);
    char *text = json_dumps(ctx_obj, JSON_COMPACT);
    cr_assert_str_eq(text, "{\"contact-list_code\":\"7\"}");
    free(text);
    json_decref(ctx_obj);
    json_decref(list);

    list = json_loads("{\"code\":8}", 0, NULL);
    cr_assert_eq(dz_partition_by_list(NULL, list, &ctx_obj), SIPHON_OK);
    cr_assert_str_eq(json_string_value(json_object_get(ctx_obj, "contact-list_code")), "8");
    json_decref(ctx_obj);
    json_decref(list);
}

Test(dz_partition, only_list_of_values_fields_have_values)
{
    json_t *lv = json_loads("{\"code\":\"19\",\"type\":\"LV\",\"contact-list_code\":\"2\"}", 0,
                            NULL);
    json_t *vc = json_loads("{\"code\":\"20\",\"type\":\"VC\",\"contact-list_code\":\"2\"}", 0,
                            NULL);
    json_t *ctx_obj = NULL;
    cr_assert_eq(dz_partition_by_lv_field(NULL, lv, &ctx_obj), SIPHON_OK);
    char *text = json_dumps(ctx_obj, JSON_COMPACT | JSON_SORT_KEYS);
    cr_assert_str_eq(text, "{\"contact-list_code\":\"2\",\"field_code\":\"19\"}");
    free(text);
    json_decref(ctx_obj);
    ctx_obj = NULL;
    cr_assert_eq(dz_partition_by_lv_field(NULL, vc, &ctx_obj), SIPHON_DONE);
    cr_assert_null(ctx_obj);
    json_decref(lv);
    json_decref(vc);
}
