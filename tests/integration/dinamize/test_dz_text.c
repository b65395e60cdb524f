/*
 * test_dz_text.c: the Dinamize streams hand the API's items to the host as
 * text, and as normalised trees where the API sent a value of another type
 * than the schema's; both kinds land in one stream, equal to the emulator.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "deadline.h"
#include "dz_harness.h"

SXT_DEADLINE(180)
TestSuite(dz_text, .init = sxt_deadline_180s);

static json_t *find_code(const json_t *records, const char *code)
{
    size_t i;
    json_t *rec;
    json_array_foreach(records, i, rec) {
        if (strcmp(json_string_value(json_object_get(rec, "code")), code) == 0)
            return rec;
    }
    return NULL;
}

Test(dz_text, items_of_other_types_are_normalised_beside_text_items)
{
    sxt_dz t;
    sxt_dz_start(&t, NULL, NULL);
    json_t *a = sxt_emulator_call(t.emu, "/_emulator/update",
        "{\"stream\":\"contacts\",\"key\":{\"code\":\"2\"},"
        "\"set\":{\"total_clicks\":12,\"optout\":\"1\",\"spam\":\"false\"}}");
    json_t *b = sxt_emulator_call(t.emu, "/_emulator/update",
        "{\"stream\":\"contacts\",\"key\":{\"code\":\"3\"},\"set\":{\"total_views\":2.5}}");
    cr_assert(a != NULL && b != NULL, "the emulator did not take the updates");
    json_decref(a);
    json_decref(b);

    sxt_result r = sxt_dz_run(&t, NULL, (const char *[]){"run", "--select", "contacts", NULL});
    sxt_singer s;
    sxt_dz_singer(&r, &s);
    json_t *got = json_object_get(s.records_by_stream, "contacts");
    json_t *expected = sxt_dz_expected(&t, "contacts");
    /* what the emulator holds, with the two records as normalisation makes them */
    json_t *two = find_code(expected, "2"), *three = find_code(expected, "3");
    cr_assert(two != NULL && three != NULL);
    cr_assert(json_is_integer(json_object_get(two, "total_clicks")) &&
                  json_is_string(json_object_get(two, "optout")) &&
                  json_is_real(json_object_get(three, "total_views")),
              "the API does not send the updated values with their new types");
    json_object_set_new(two, "total_clicks", json_string("12"));
    json_object_set_new(two, "optout", json_true());
    json_object_set_new(two, "spam", json_false());
    json_object_set_new(three, "total_views", json_string("2.5"));
    sxt_dz_assert_same_records("contacts", got, expected);

    /* the normalised records came as trees, the rest as the API's text: both
     * carry their list's code, spliced in by the host */
    size_t i;
    json_t *rec;
    json_array_foreach(got, i, rec)
        cr_assert(json_is_string(json_object_get(rec, "contact-list_code")),
                  "record %zu lacks its list's code", i);
    json_decref(expected);
    sxt_singer_free(&s);
    sxt_result_free(&r);
    sxt_dz_stop(&t);
}
