/* The thirteen search endpoints and their grammar (dinamize-api.md §1.2, §1.3). */
#include "emu_test.h"

static const struct {
    const char *stream, *path, *items;
    int parent; /* 0 none, 1 list, 2 list + field */
} endpoints[] = {
    {"contact_lists", "/emkt/contact-list/search", "items", 0},
    {"contacts", "/emkt/contact/search", "items", 1},
    {"actions", "/emkt/action/search", "items", 0},
    {"campaigns", "/emkt/campaign/search", "items", 0},
    {"messages", "/emkt/message/search", "items", 0},
    {"transactions", "/emkt/transaction/search", "items", 0},
    {"fields", "/emkt/field/search", "items", 1},
    {"field_groups", "/emkt/field-group/search", "items", 1},
    {"filters", "/emkt/filter/search", "items", 1},
    {"list_of_values", "/emkt/field-lov/search", "list", 2},
    {"optout_emails", "/emkt/optout-email/search", "items", 1},
    {"users", "/user/search", "items", 0},
    {"teams", "/emkt/team/search", "items", 0},
};
#define NENDPOINTS (sizeof endpoints / sizeof endpoints[0])

/* An LV field of list 1: fields cycle VC, LV, ... so the second field is one. */
static const char lv_field[] = "2";

static sxt_emulator *start_free(void)
{
    return emu_up(EMU_START("--rate-limit", "0"));
}

Test(search, every_endpoint_answers_its_items_key_and_next)
{
    sxt_emulator *e = start_free();
    char *t = sxt_emulator_token(e);
    for (size_t i = 0; i < NENDPOINTS; i++) {
        json_t *env = emu_post(e, t, endpoints[i].path,
                               "{\"contact-list_code\":\"1\",\"field_code\":\"%s\","
                               "\"page_number\":\"1\",\"page_size\":\"5\"}", lv_field);
        json_t *items = emu_items(env, endpoints[i].items);
        cr_assert_gt(json_array_size(items), 0, "%s answered no rows", endpoints[i].path);
        cr_assert(json_is_boolean(json_object_get(emu_body(env), "next")), "%s: next",
                  endpoints[i].path);
        if (strcmp(endpoints[i].items, "list") == 0)
            cr_assert_null(json_object_get(emu_body(env), "items"));
        json_decref(env);
    }
    free(t);
    sxt_emulator_stop(e);
}

Test(search, a_missing_parent_is_240100_naming_the_parameter)
{
    sxt_emulator *e = start_free();
    char *t = sxt_emulator_token(e);
    for (size_t i = 0; i < NENDPOINTS; i++) {
        if (endpoints[i].parent == 0)
            continue;
        json_t *env = emu_post(e, t, endpoints[i].path, "{\"page_number\":1}");
        cr_assert_str_eq(emu_code(env), "240100", "%s", endpoints[i].path);
        cr_assert(strstr(emu_str(env, "code_detail"), "contact-list_code"), "%s: %s",
                  endpoints[i].path, emu_str(env, "code_detail"));
        json_decref(env);
    }
    json_t *env = emu_post(e, t, "/emkt/field-lov/search", "{\"contact-list_code\":\"1\"}");
    cr_assert_str_eq(emu_code(env), "240100");
    cr_assert(strstr(emu_str(env, "code_detail"), "field_code"));
    json_decref(env);
    /* Parents that name nothing, or a field that is not a list of values. */
    env = emu_post(e, t, "/emkt/contact/search", "{\"contact-list_code\":\"999\"}");
    cr_assert_str_eq(emu_code(env), "240100");
    cr_assert(strstr(emu_str(env, "code_detail"), "contact-list_code"));
    json_decref(env);
    env = emu_post(e, t, "/emkt/field-lov/search", "{\"contact-list_code\":1,\"field_code\":1}");
    cr_assert_str_eq(emu_code(env), "240100");
    cr_assert(strstr(emu_str(env, "code_detail"), "field_code"));
    json_decref(env);
    free(t);
    sxt_emulator_stop(e);
}

Test(search, next_is_true_exactly_when_a_further_page_has_rows)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "0", "--campaigns", "10"));
    char *t = sxt_emulator_token(e);
    struct { int page, size, rows, next; } cases[] = {
        {1, 5, 5, 1}, {2, 5, 5, 0}, {3, 5, 0, 0}, {1, 10, 10, 0}, {1, 9, 9, 1}, {2, 9, 1, 0},
        {1, 11, 10, 0}, {4, 3, 1, 0}, {3, 3, 3, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *env = emu_post(e, t, "/emkt/campaign/search",
                               "{\"page_number\":%d,\"page_size\":%d}", cases[i].page,
                               cases[i].size);
        json_t *items = emu_items(env, "items");
        cr_assert_eq((int)json_array_size(items), cases[i].rows, "page %d size %d",
                     cases[i].page, cases[i].size);
        cr_assert_eq(emu_next(env), cases[i].next, "page %d size %d", cases[i].page,
                     cases[i].size);
        json_decref(env);
    }
    free(t);
    sxt_emulator_stop(e);
}

Test(search, paging_numbers_may_be_strings_or_numbers)
{
    sxt_emulator *e = start_free();
    char *t = sxt_emulator_token(e);
    json_t *a = emu_post(e, t, "/emkt/contact/search",
                         "{\"contact-list_code\":\"2\",\"page_number\":\"3\",\"page_size\":\"7\"}");
    json_t *b = emu_post(e, t, "/emkt/contact/search",
                         "{\"contact-list_code\":2,\"page_number\":3,\"page_size\":7}");
    cr_assert(json_equal(emu_items(a, "items"), emu_items(b, "items")));
    cr_assert_eq(json_array_size(emu_items(a, "items")), 7);
    json_decref(a);
    json_decref(b);
    json_t *bad = emu_post(e, t, "/emkt/campaign/search", "{\"page_number\":\"zero\"}");
    cr_assert_str_eq(emu_code(bad), "240100");
    cr_assert(strstr(emu_str(bad, "code_detail"), "page_number"));
    json_decref(bad);
    bad = emu_post(e, t, "/emkt/campaign/search", "{\"page_size\":0}");
    cr_assert_str_eq(emu_code(bad), "240100");
    json_decref(bad);
    free(t);
    sxt_emulator_stop(e);
}

Test(search, page_size_is_capped_silently)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "0", "--page-cap", "7", "--campaigns", "20"));
    char *t = sxt_emulator_token(e);
    json_t *env = emu_post(e, t, "/emkt/campaign/search", "{\"page_size\":\"100\"}");
    cr_assert_str_eq(emu_code(env), "480001");
    cr_assert_eq(json_array_size(emu_items(env, "items")), 7);
    cr_assert(emu_next(env));
    json_decref(env);
    /* Page 3 of size 7 (capped) holds rows 15..20. */
    env = emu_post(e, t, "/emkt/campaign/search", "{\"page_size\":\"100\",\"page_number\":\"3\"}");
    cr_assert_eq(json_array_size(emu_items(env, "items")), 6);
    cr_assert_not(emu_next(env));
    json_decref(env);
    free(t);
    sxt_emulator_stop(e);
}

/* Codes of a campaign search with one condition. */
static char *codes(sxt_emulator *e, const char *t, const char *search)
{
    json_t *env = emu_post(e, t, "/emkt/campaign/search",
                           "{\"page_size\":100,\"search\":[%s],\"order\":[{\"field\":\"code\","
                           "\"type\":\"ASC\"}]}", search);
    json_t *items = emu_items(env, "items");
    char *out = strdup("");
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        char *n = sxt_strf("%s%s%s", out, i ? "," : "", emu_str(it, "code"));
        free(out);
        out = n;
    }
    json_decref(env);
    return out;
}

#define CODES_EQ(search, want)                                                         \
    do {                                                                               \
        char *got_ = codes(e, t, search);                                              \
        cr_assert_str_eq(got_, want, "search %s", search);                             \
        free(got_);                                                                    \
    } while (0)

Test(search, comparison_operators_compare_numbers_as_numbers)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "0", "--campaigns", "12"));
    char *t = sxt_emulator_token(e);
    CODES_EQ("{\"field\":\"code\",\"operator\":\"=\",\"value\":\"7\"}", "7");
    CODES_EQ("{\"field\":\"code\",\"operator\":\"=\",\"value\":7}", "7");
    CODES_EQ("{\"field\":\"code\",\"operator\":\"!=\",\"value\":\"7\"}", "1,2,3,4,5,6,8,9,10,11,12");
    CODES_EQ("{\"field\":\"code\",\"operator\":\">\",\"value\":\"9\"}", "10,11,12");
    CODES_EQ("{\"field\":\"code\",\"operator\":\">=\",\"value\":\"10\"}", "10,11,12");
    CODES_EQ("{\"field\":\"code\",\"operator\":\"<\",\"value\":\"3\"}", "1,2");
    CODES_EQ("{\"field\":\"code\",\"operator\":\"<=\",\"value\":3}", "1,2,3");
    /* ANDed. */
    CODES_EQ("{\"field\":\"code\",\"operator\":\">\",\"value\":\"3\"},"
             "{\"field\":\"code\",\"operator\":\"<\",\"value\":\"6\"}", "4,5");
    free(t);
    sxt_emulator_stop(e);
}

Test(search, text_operators_match_contains_starts_and_ends)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "0", "--campaigns", "12"));
    char *t = sxt_emulator_token(e);
    /* Campaign titles end with " <code>". */
    CODES_EQ("{\"field\":\"title\",\"operator\":\"*v\",\"value\":\" 1\"}", "1");
    CODES_EQ("{\"field\":\"title\",\"operator\":\"*v*\",\"value\":\" 1\"}", "1,10,11,12");
    CODES_EQ("{\"field\":\"title\",\"operator\":\"!*v*\",\"value\":\" 1\"}", "2,3,4,5,6,7,8,9");
    CODES_EQ("{\"field\":\"title\",\"operator\":\"!*v\",\"value\":\"2\"}", "1,3,4,5,6,7,8,9,10,11");
    json_t *env = emu_post(e, t, "/emkt/campaign/search",
                           "{\"search\":[{\"field\":\"code\",\"operator\":\"=\",\"value\":\"4\"}]}");
    const char *title = emu_str(json_array_get(emu_items(env, "items"), 0), "title");
    char prefix[8] = {0};
    memcpy(prefix, title, 5);
    char *q = sxt_strf("{\"field\":\"title\",\"operator\":\"v*\",\"value\":\"%s\"}", prefix);
    char *with = codes(e, t, q);
    free(q);
    q = sxt_strf("{\"field\":\"title\",\"operator\":\"!v*\",\"value\":\"%s\"}", prefix);
    char *without = codes(e, t, q);
    free(q);
    cr_assert(strstr(with, "4") != NULL);
    /* Every code is in exactly one of the two answers. */
    for (int c = 1; c <= 12; c++) {
        char *needle = sxt_strf(",%d,", c), *w = sxt_strf(",%s,", with),
             *wo = sxt_strf(",%s,", without);
        cr_assert((strstr(w, needle) != NULL) != (strstr(wo, needle) != NULL), "code %d", c);
        free(needle);
        free(w);
        free(wo);
    }
    free(with);
    free(without);
    json_decref(env);
    free(t);
    sxt_emulator_stop(e);
}

Test(search, bad_conditions_are_240100_naming_what_is_wrong)
{
    sxt_emulator *e = start_free();
    char *t = sxt_emulator_token(e);
    json_t *env = emu_post(e, t, "/emkt/campaign/search",
                           "{\"search\":[{\"field\":\"code\",\"operator\":\"~\",\"value\":\"1\"}]}");
    cr_assert_str_eq(emu_code(env), "240100");
    cr_assert(strstr(emu_str(env, "code_detail"), "operator"));
    json_decref(env);
    env = emu_post(e, t, "/emkt/campaign/search",
                   "{\"search\":[{\"field\":\"colour\",\"operator\":\"=\",\"value\":\"1\"}]}");
    cr_assert_str_eq(emu_code(env), "240100");
    cr_assert(strstr(emu_str(env, "code_detail"), "colour"));
    json_decref(env);
    env = emu_post(e, t, "/emkt/campaign/search", "{\"order\":[{\"field\":\"code\",\"type\":\"UP\"}]}");
    cr_assert_str_eq(emu_code(env), "240100");
    json_decref(env);
    env = emu_post(e, t, "/emkt/campaign/search", "{\"page_size\": ");
    cr_assert_str_eq(emu_code(env), "240100");
    cr_assert(strstr(emu_str(env, "code_detail"), "JSON"));
    json_decref(env);
    free(t);
    sxt_emulator_stop(e);
}

/* Compares two items by the given (field, desc) keys, numbers as numbers. */
static int cmp_field(json_t *a, json_t *b, const char *f)
{
    const char *x = emu_str(a, f), *y = emu_str(b, f);
    if (!x || !y)
        return (x != NULL) - (y != NULL);
    char *ex, *ey;
    double dx = strtod(x, &ex), dy = strtod(y, &ey);
    if (*x && *y && !*ex && !*ey)
        return dx < dy ? -1 : dx > dy;
    int c = strcmp(x, y);
    return c < 0 ? -1 : c > 0;
}

Test(search, order_sorts_by_several_fields_each_with_its_direction)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "0", "--actions", "60"));
    char *t = sxt_emulator_token(e);
    json_t *env = emu_post(e, t, "/emkt/action/search",
                           "{\"page_size\":100,\"order\":[{\"field\":\"status\",\"type\":\"ASC\"},"
                           "{\"field\":\"total_contacts\",\"type\":\"DESC\"}]}");
    json_t *items = emu_items(env, "items");
    cr_assert_eq(json_array_size(items), 60);
    for (size_t i = 1; i < json_array_size(items); i++) {
        json_t *a = json_array_get(items, i - 1), *b = json_array_get(items, i);
        int c = cmp_field(a, b, "status");
        cr_assert_leq(c, 0, "status not ascending at %zu", i);
        if (c == 0)
            cr_assert_geq(cmp_field(a, b, "total_contacts"), 0,
                          "total_contacts not descending (as numbers) at %zu", i);
    }
    json_decref(env);
    /* Descending code is the reverse of the natural order, across pages. */
    env = emu_post(e, t, "/emkt/action/search",
                   "{\"page_size\":7,\"page_number\":2,\"order\":[{\"field\":\"code\",\"type\":\"DESC\"}]}");
    items = emu_items(env, "items");
    cr_assert_str_eq(emu_str(json_array_get(items, 0), "code"), "53");
    cr_assert_str_eq(emu_str(json_array_get(items, 6), "code"), "47");
    json_decref(env);
    free(t);
    sxt_emulator_stop(e);
}

Test(search, incremental_reads_page_through_rows_at_or_after_the_bookmark)
{
    sxt_emulator *e = start_free();
    char *t = sxt_emulator_token(e);
    json_t *dump = sxt_emulator_dump(e, "contacts");
    const char *bookmark = "2021-06-01 00:00:00";
    /* What the dump says list 2 holds from the bookmark on. */
    size_t want = 0;
    size_t i;
    json_t *line;
    json_array_foreach(dump, i, line) {
        json_t *r = json_object_get(line, "record");
        if (strcmp(emu_str(json_object_get(line, "context"), "contact-list_code"), "2") == 0 &&
            strcmp(emu_str(r, "insert_date"), bookmark) >= 0)
            want++;
    }
    cr_assert_gt(want, 100);
    size_t got = 0;
    const char *prev = "";
    char *prevcopy = strdup(prev);
    for (int page = 1;; page++) {
        json_t *env = emu_post(e, t, "/emkt/contact/search",
                               "{\"contact-list_code\":\"2\",\"page_number\":%d,\"page_size\":50,"
                               "\"search\":[{\"field\":\"insert_date\",\"operator\":\">=\","
                               "\"value\":\"%s\"}],\"order\":[{\"field\":\"insert_date\","
                               "\"type\":\"ASC\"}]}", page, bookmark);
        json_t *items = emu_items(env, "items");
        json_t *it;
        size_t k;
        json_array_foreach(items, k, it) {
            const char *d = emu_str(it, "insert_date");
            cr_assert_geq(strcmp(d, bookmark), 0);
            cr_assert_geq(strcmp(d, prevcopy), 0, "insert_date not ascending");
            free(prevcopy);
            prevcopy = strdup(d);
            got++;
        }
        int next = emu_next(env);
        json_decref(env);
        if (!next)
            break;
    }
    cr_assert_eq(got, want);
    free(prevcopy);
    json_decref(dump);
    free(t);
    sxt_emulator_stop(e);
}

Test(search, lov_fields_answer_list_and_some_need_several_pages)
{
    sxt_emulator *e = start_free();
    char *t = sxt_emulator_token(e);
    /* Fields 2 and 11 of list 1 are LV; the second has 250 values by default. */
    size_t total = 0;
    int pages = 0;
    for (int page = 1;; page++) {
        json_t *env = emu_post(e, t, "/emkt/field-lov/search",
                               "{\"contact-list_code\":\"1\",\"field_code\":\"11\","
                               "\"page_number\":%d,\"page_size\":100}", page);
        json_t *list = emu_items(env, "list");
        total += json_array_size(list);
        json_t *first = json_array_get(list, 0);
        cr_assert(json_is_string(json_object_get(first, "code")));
        cr_assert(json_is_string(json_object_get(first, "value")));
        pages++;
        int next = emu_next(env);
        json_decref(env);
        if (!next)
            break;
    }
    cr_assert_eq(total, 250);
    cr_assert_eq(pages, 3);
    free(t);
    sxt_emulator_stop(e);
}

Test(search, contacts_search_custom_fields_by_code_name)
{
    sxt_emulator *e = start_free();
    char *t = sxt_emulator_token(e);
    json_t *env = emu_post(e, t, "/emkt/contact/search",
                           "{\"contact-list_code\":\"1\",\"page_size\":1000,\"search\":[{\"field\":"
                           "\"cmp7\",\"operator\":\">\",\"value\":\"200\"}]}");
    json_t *items = emu_items(env, "items");
    cr_assert_gt(json_array_size(items), 0);
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        const char *v = emu_str(json_object_get(it, "custom_fields"), "cmp7");
        cr_assert_not_null(v);
        cr_assert_gt(atol(v), 200);
    }
    json_decref(env);
    free(t);
    sxt_emulator_stop(e);
}
