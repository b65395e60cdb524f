/*
 * test_dz_singer.c: siphon as a Singer tap over the Dinamize streams:
 * --discover (with the contacts' custom fields typed from the account's
 * fields), then --catalog and --state runs whose output passes a strict check
 * of the Singer message grammar.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "dz_harness.h"
#include "deadline.h"

SXT_DEADLINE(180)

TestSuite(dz_singer, .init = sxt_deadline_180s);

static json_t *discover(sxt_dz *t)
{
    sxt_result r = sxt_dz_run(t, NULL, (const char *[]){"--discover", NULL});
    cr_assert(r.exited && r.status == 0, "discover failed: %s", r.err);
    json_error_t e;
    json_t *catalog = json_loads(r.out, 0, &e);
    cr_assert_not_null(catalog, "discover printed no JSON: %s", e.text);
    sxt_result_free(&r);
    return catalog;
}

static json_t *catalog_entry(json_t *catalog, const char *stream)
{
    size_t i;
    json_t *entry;
    json_array_foreach(json_object_get(catalog, "streams"), i, entry) {
        if (strcmp(json_string_value(json_object_get(entry, "tap_stream_id")), stream) == 0)
            return entry;
    }
    return NULL;
}

/* The JSON Schema types the contract asks for each field type. */
static const char *expected_types(const char *field_type)
{
    if (strcmp(field_type, "INT") == 0)
        return "[\"null\",\"integer\",\"string\"]";
    if (strcmp(field_type, "FLT") == 0)
        return "[\"null\",\"number\",\"string\"]";
    return "[\"null\",\"string\"]";
}

Test(dz_singer, discover_types_the_contacts_custom_fields_from_the_account)
{
    sxt_dz t;
    sxt_dz_start(&t, NULL, NULL);
    json_t *catalog = discover(&t);
    for (size_t i = 0; i < 13; i++)
        cr_expect_not_null(catalog_entry(catalog, sxt_dz_streams[i]), "%s not in the catalog",
                           sxt_dz_streams[i]);
    json_t *contacts = catalog_entry(catalog, "contacts");
    json_t *custom = json_object_get(
        json_object_get(json_object_get(json_object_get(contacts, "schema"), "properties"),
                        "custom_fields"), "properties");
    cr_assert(json_is_object(custom), "contacts.custom_fields has no properties");

    json_t *fields = sxt_dz_expected(&t, "fields");
    size_t i, seen_types = 0;
    json_t *field;
    const char *kinds[16];
    json_array_foreach(fields, i, field) {
        const char *code_name = json_string_value(json_object_get(field, "code_name"));
        const char *type = json_string_value(json_object_get(field, "type"));
        json_t *prop = json_object_get(custom, code_name);
        cr_assert_not_null(prop, "custom field %s (%s) not discovered", code_name, type);
        json_t *want = json_loads(expected_types(type), 0, NULL);
        char *got = json_dumps(json_object_get(prop, "type"), JSON_COMPACT);
        cr_expect(json_equal(json_object_get(prop, "type"), want), "%s (%s) typed %s", code_name,
                  type, got);
        cr_expect_str_eq(json_string_value(json_object_get(prop, "title")),
                         json_string_value(json_object_get(field, "title")));
        if (strcmp(type, "DT") == 0 || strcmp(type, "DH") == 0)
            cr_expect(strstr(json_string_value(json_object_get(prop, "description")),
                             "YYYY-MM-DD") != NULL, "%s: the date format is not described",
                      code_name);
        int known = 0;
        for (size_t k = 0; k < seen_types; k++)
            known |= strcmp(kinds[k], type) == 0;
        if (!known && seen_types < 16)
            kinds[seen_types++] = type;
        free(got);
        json_decref(want);
    }
    cr_assert_geq(seen_types, 9, "the emulator's fields should cover the nine types");
    json_decref(fields);
    json_decref(catalog);
    sxt_dz_stop(&t);
}

/* Marks every stream of a catalog selected. */
static void select_all(json_t *catalog)
{
    size_t i;
    json_t *entry;
    json_array_foreach(json_object_get(catalog, "streams"), i, entry) {
        size_t k;
        json_t *m;
        json_array_foreach(json_object_get(entry, "metadata"), k, m) {
            if (json_array_size(json_object_get(m, "breadcrumb")) == 0)
                json_object_set_new(json_object_get(m, "metadata"), "selected", json_true());
        }
    }
}

Test(dz_singer, discover_then_catalog_then_state_runs_speak_strict_singer)
{
    sxt_dz t;
    sxt_dz_start(&t, NULL, NULL);
    json_t *catalog = discover(&t);
    select_all(catalog);
    char *catalog_path = sxt_dz_write_json(&t, "catalog.json", catalog);

    sxt_result r1 = sxt_dz_run(&t, NULL, (const char *[]){"--catalog", catalog_path, NULL});
    sxt_singer s1;
    sxt_dz_singer(&r1, &s1);
    cr_assert_eq(json_object_size(s1.records_by_stream), 13, "streams with records: %zu",
                 json_object_size(s1.records_by_stream));
    cr_assert_geq(s1.schemas, 13);
    cr_assert_not_null(s1.last_state);
    json_t *contacts = sxt_dz_expected(&t, "contacts");
    cr_assert_eq(json_array_size(json_object_get(s1.records_by_stream, "contacts")),
                 json_array_size(contacts));
    json_decref(contacts);
    char *state_path = sxt_dz_write_json(&t, "state.json", s1.last_state);

    json_decref(sxt_emulator_call(t.emu, "/_emulator/insert",
                                  "{\"stream\":\"messages\",\"count\":2}"));
    sxt_result r2 = sxt_dz_run(&t, NULL, (const char *[]){"--catalog", catalog_path, "--state",
                                                           state_path, NULL});
    sxt_singer s2;
    sxt_dz_singer(&r2, &s2);
    cr_assert_not_null(s2.last_state);
    cr_assert_geq(json_array_size(json_object_get(s2.records_by_stream, "messages")), 2);
    /* the second run is incremental: far fewer contacts than the first */
    cr_assert_lt(json_array_size(json_object_get(s2.records_by_stream, "contacts")),
                 json_array_size(json_object_get(s1.records_by_stream, "contacts")) / 2);
    sxt_singer_free(&s1);
    sxt_singer_free(&s2);
    sxt_result_free(&r1);
    sxt_result_free(&r2);
    json_decref(catalog);
    free(catalog_path);
    free(state_path);
    sxt_dz_stop(&t);
}

Test(dz_singer, bookmarks_are_kept_in_the_api_date_format_per_list)
{
    sxt_dz t;
    sxt_dz_start(&t, NULL, NULL);
    sxt_result r = sxt_dz_run(&t, NULL, (const char *[]){"run", "--select", "contacts,campaigns",
                                                          NULL});
    sxt_singer s;
    sxt_dz_singer(&r, &s);
    json_t *bm = json_object_get(s.last_state, "bookmarks");
    const char *campaigns = json_string_value(
        json_object_get(json_object_get(bm, "campaigns"), "replication_key_value"));
    cr_assert_not_null(campaigns);
    cr_assert_eq(strlen(campaigns), 19, "%s", campaigns);
    cr_assert(campaigns[4] == '-' && campaigns[10] == ' ' && campaigns[13] == ':', "%s",
              campaigns);
    json_t *parts = json_object_get(json_object_get(bm, "contacts"), "partitions");
    cr_assert(json_is_array(parts), "contacts keep one bookmark per contact list");
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p) {
        cr_assert(json_is_string(json_object_get(json_object_get(p, "context"),
                                                 "contact-list_code")));
    }
    sxt_singer_free(&s);
    sxt_result_free(&r);
    sxt_dz_stop(&t);
}
