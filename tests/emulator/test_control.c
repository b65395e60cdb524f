/* The control interface: inserts, updates, deletes, dumps, health. */
#include "emu_test.h"

static json_t *control(sxt_emulator *e, const char *path, const char *body)
{
    return sxt_emulator_call(e, path, body);
}

/* The contacts of list 2 the API returns from a bookmark on, all pages. */
static json_t *contacts_since(sxt_emulator *e, const char *t, const char *list, const char *bm)
{
    json_t *all = json_array();
    for (int page = 1;; page++) {
        json_t *env = emu_post(e, t, "/emkt/contact/search",
                               "{\"contact-list_code\":\"%s\",\"page_number\":%d,\"page_size\":100,"
                               "\"search\":[{\"field\":\"insert_date\",\"operator\":\">=\","
                               "\"value\":\"%s\"}],\"order\":[{\"field\":\"insert_date\","
                               "\"type\":\"ASC\"}]}", list, page, bm);
        json_array_extend(all, emu_items(env, "items"));
        int next = emu_next(env);
        json_decref(env);
        if (!next)
            break;
    }
    return all;
}

static const char *max_date(json_t *dump, const char *key)
{
    const char *m = "";
    size_t i;
    json_t *l;
    json_array_foreach(dump, i, l) {
        const char *d = emu_str(json_object_get(l, "record"), key);
        if (d && strcmp(d, m) > 0)
            m = d;
    }
    return m;
}

Test(control, inserted_contacts_come_after_everything_and_reach_the_api)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "0"));
    char *t = sxt_emulator_token(e);
    json_t *before = sxt_emulator_dump(e, "contacts");
    char *latest = strdup(max_date(before, "insert_date"));
    json_t *r = control(e, "/_emulator/insert",
                        "{\"stream\":\"contacts\",\"count\":3,\"contact-list_code\":\"2\"}");
    json_t *ins = json_object_get(r, "inserted");
    cr_assert_eq(json_array_size(ins), 3);
    for (size_t i = 0; i < 3; i++)
        cr_assert_not_null(emu_str(json_array_get(ins, i), "code"));
    /* An incremental read from the old maximum sees the boundary rows again
     * and the three new ones, in order, each later than everything before. */
    json_t *since = contacts_since(e, t, "2", latest);
    size_t n = json_array_size(since);
    cr_assert_geq(n, 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *row = json_array_get(since, n - 3 + i);
        cr_assert_str_eq(emu_str(row, "code"), emu_str(json_array_get(ins, i), "code"));
        cr_assert_gt(strcmp(emu_str(row, "insert_date"), latest), 0);
        cr_assert(json_is_object(json_object_get(row, "custom_fields")), "same shape");
    }
    json_t *after = sxt_emulator_dump(e, "contacts");
    cr_assert_eq(json_array_size(after), json_array_size(before) + 3);
    json_decref(since);
    json_decref(after);
    json_decref(before);
    json_decref(r);
    free(latest);
    free(t);
    sxt_emulator_stop(e);
}

Test(control, every_stream_takes_inserts)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "0"));
    const char *streams[] = {"contact_lists", "contacts", "actions", "campaigns", "messages",
                             "transactions", "fields", "field_groups", "filters",
                             "list_of_values", "optout_emails", "users", "teams"};
    for (size_t i = 0; i < sizeof streams / sizeof streams[0]; i++) {
        json_t *before = sxt_emulator_dump(e, streams[i]);
        char *body = sxt_strf("{\"stream\":\"%s\",\"count\":2,\"contact-list_code\":\"1\","
                              "\"field_code\":\"2\"}", streams[i]);
        json_t *r = control(e, "/_emulator/insert", body);
        free(body);
        cr_assert_eq(json_array_size(json_object_get(r, "inserted")), 2, "%s", streams[i]);
        json_t *after = sxt_emulator_dump(e, streams[i]);
        cr_assert_eq(json_array_size(after), json_array_size(before) + 2, "%s", streams[i]);
        json_decref(before);
        json_decref(after);
        json_decref(r);
    }
    /* A child stream without its parent is refused, naming the parent. */
    sxt_http h = sxt_emulator_raw(e, "POST", "/_emulator/insert", NULL,
                                  "{\"stream\":\"contacts\",\"count\":1}", 0, NULL);
    cr_assert_eq(h.status, 400);
    cr_assert(strstr(h.body, "contact-list_code"));
    sxt_http_free(&h);
    sxt_emulator_stop(e);
}

Test(control, an_inserted_list_has_empty_children_and_new_rows_can_go_there)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "0"));
    char *t = sxt_emulator_token(e);
    json_t *r = control(e, "/_emulator/insert", "{\"stream\":\"contact_lists\"}");
    const char *code = emu_str(json_array_get(json_object_get(r, "inserted"), 0), "code");
    cr_assert_str_eq(code, "5");
    json_t *env = emu_post(e, t, "/emkt/contact/search", "{\"contact-list_code\":\"5\"}");
    cr_assert_eq(json_array_size(emu_items(env, "items")), 0);
    cr_assert_not(emu_next(env));
    json_decref(env);
    json_decref(control(e, "/_emulator/insert",
                        "{\"stream\":\"contacts\",\"contact-list_code\":5,\"count\":1}"));
    env = emu_post(e, t, "/emkt/contact/search", "{\"contact-list_code\":\"5\"}");
    cr_assert_eq(json_array_size(emu_items(env, "items")), 1);
    json_decref(env);
    json_decref(r);
    free(t);
    sxt_emulator_stop(e);
}

Test(control, updates_change_what_the_api_returns)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "0"));
    char *t = sxt_emulator_token(e);
    json_t *r = control(e, "/_emulator/update",
                        "{\"stream\":\"contacts\",\"key\":{\"code\":\"5\"},\"set\":{\"name\":"
                        "\"Zé \\\"Novo\\\"\",\"rest_date\":null,\"nova_chave\":7,"
                        "\"custom_fields\":{\"cmp4\":\"Pelotas\"}}}");
    cr_assert_not_null(json_object_get(r, "updated"));
    json_decref(r);
    json_t *env = emu_post(e, t, "/emkt/contact/search",
                           "{\"contact-list_code\":\"1\",\"search\":[{\"field\":\"code\","
                           "\"operator\":\"=\",\"value\":\"5\"}]}");
    json_t *row = json_array_get(emu_items(env, "items"), 0);
    cr_assert_str_eq(emu_str(row, "name"), "Zé \"Novo\"");
    cr_assert(json_is_null(json_object_get(row, "rest_date")));
    cr_assert_eq(json_integer_value(json_object_get(row, "nova_chave")), 7);
    json_t *cf = json_object_get(row, "custom_fields");
    cr_assert_str_eq(emu_str(cf, "cmp4"), "Pelotas");
    cr_assert_not_null(json_object_get(cf, "cmp6"), "other custom fields stay");
    json_decref(env);
    /* The search sees the new value too. */
    env = emu_post(e, t, "/emkt/contact/search",
                   "{\"contact-list_code\":\"1\",\"search\":[{\"field\":\"name\",\"operator\":"
                   "\"*v*\",\"value\":\"Novo\"}]}");
    cr_assert_eq(json_array_size(emu_items(env, "items")), 1);
    json_decref(env);

    sxt_http h = sxt_emulator_raw(e, "POST", "/_emulator/update", NULL,
                                  "{\"stream\":\"contacts\",\"key\":{\"code\":\"5\"},"
                                  "\"set\":{\"code\":\"6\"}}", 0, NULL);
    cr_assert_eq(h.status, 400, "the primary key cannot change");
    sxt_http_free(&h);
    h = sxt_emulator_raw(e, "POST", "/_emulator/update", NULL,
                         "{\"stream\":\"contacts\",\"key\":{\"code\":\"99999\"},"
                         "\"set\":{\"name\":\"x\"}}", 0, NULL);
    cr_assert_eq(h.status, 404);
    sxt_http_free(&h);
    free(t);
    sxt_emulator_stop(e);
}

Test(control, updating_the_replication_key_keeps_searches_right)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "0"));
    char *t = sxt_emulator_token(e);
    json_decref(control(e, "/_emulator/update",
                        "{\"stream\":\"campaigns\",\"key\":{\"code\":\"2\"},\"set\":"
                        "{\"insert_date\":\"2030-01-01 00:00:00\"}}"));
    json_t *env = emu_post(e, t, "/emkt/campaign/search",
                           "{\"search\":[{\"field\":\"insert_date\",\"operator\":\">=\",\"value\":"
                           "\"2029-01-01 00:00:00\"}],\"order\":[{\"field\":\"insert_date\","
                           "\"type\":\"ASC\"}]}");
    json_t *items = emu_items(env, "items");
    cr_assert_eq(json_array_size(items), 1);
    cr_assert_str_eq(emu_str(json_array_get(items, 0), "code"), "2");
    json_decref(env);
    /* A later insert is still later than the moved record. */
    json_decref(control(e, "/_emulator/insert", "{\"stream\":\"campaigns\"}"));
    env = emu_post(e, t, "/emkt/campaign/search",
                   "{\"order\":[{\"field\":\"insert_date\",\"type\":\"DESC\"}],\"page_size\":1}");
    cr_assert_str_eq(emu_str(json_array_get(emu_items(env, "items"), 0), "code"), "13");
    json_decref(env);
    free(t);
    sxt_emulator_stop(e);
}

Test(control, deletes_remove_records_everywhere)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "0", "--contacts", "30", "--lists", "2"));
    char *t = sxt_emulator_token(e);
    json_t *r = control(e, "/_emulator/delete", "{\"stream\":\"contacts\",\"key\":{\"code\":7}}");
    cr_assert_not_null(json_object_get(r, "deleted"));
    json_decref(r);
    json_t *env = emu_post(e, t, "/emkt/contact/search",
                           "{\"contact-list_code\":\"1\",\"page_size\":5,\"page_number\":2}");
    json_t *items = emu_items(env, "items");
    cr_assert_str_eq(emu_str(json_array_get(items, 0), "code"), "6");
    cr_assert_str_eq(emu_str(json_array_get(items, 1), "code"), "8", "7 is gone");
    json_decref(env);
    json_t *dump = sxt_emulator_dump(e, "contacts");
    cr_assert_eq(json_array_size(dump), 29);
    json_decref(dump);
    dump = sxt_emulator_dump(e, "contact_lists");
    cr_assert_str_eq(emu_str(json_object_get(json_array_get(dump, 0), "record"), "total_contacts"),
                     "29");
    json_decref(dump);
    /* Deleting a transaction by its two-part key. */
    dump = sxt_emulator_dump(e, "transactions");
    json_t *k = json_object_get(json_array_get(dump, 3), "record");
    char *body = sxt_strf("{\"stream\":\"transactions\",\"key\":{\"action_code\":\"%s\","
                          "\"dt_transaction\":\"%s\"}}", emu_str(k, "action_code"),
                          emu_str(k, "dt_transaction"));
    r = control(e, "/_emulator/delete", body);
    cr_assert_not_null(json_object_get(r, "deleted"));
    json_decref(r);
    json_t *dump2 = sxt_emulator_dump(e, "transactions");
    cr_assert_eq(json_array_size(dump2) + 1, json_array_size(dump));
    json_decref(dump2);
    json_decref(dump);
    free(body);
    /* Deleting a list takes its children out of the API. */
    json_decref(control(e, "/_emulator/delete", "{\"stream\":\"contact_lists\",\"key\":{\"code\":\"1\"}}"));
    env = emu_post(e, t, "/emkt/contact/search", "{\"contact-list_code\":\"1\"}");
    cr_assert_str_eq(emu_code(env), "240100");
    json_decref(env);
    free(t);
    sxt_emulator_stop(e);
}

Test(control, dump_lines_are_context_and_the_exact_api_item)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "0"));
    char *t = sxt_emulator_token(e);
    json_t *dump = sxt_emulator_dump(e, "optout_emails");
    /* Ordered by parent, then primary key. */
    for (size_t i = 1; i < json_array_size(dump); i++) {
        json_t *a = json_array_get(dump, i - 1), *b = json_array_get(dump, i);
        long la = atol(emu_str(json_object_get(a, "context"), "contact-list_code"));
        long lb = atol(emu_str(json_object_get(b, "context"), "contact-list_code"));
        cr_assert_leq(la, lb);
        if (la == lb)
            cr_assert_lt(strcmp(emu_str(json_object_get(a, "record"), "email"),
                                emu_str(json_object_get(b, "record"), "email")), 0);
    }
    /* Each record is exactly what the API returns. */
    json_t *env = emu_post(e, t, "/emkt/optout-email/search",
                           "{\"contact-list_code\":\"2\",\"page_size\":1000,\"order\":[{\"field\":"
                           "\"email\",\"type\":\"ASC\"}]}");
    json_t *items = emu_items(env, "items");
    size_t k = 0;
    for (size_t i = 0; i < json_array_size(dump); i++) {
        json_t *line = json_array_get(dump, i);
        if (strcmp(emu_str(json_object_get(line, "context"), "contact-list_code"), "2") != 0)
            continue;
        cr_assert(json_equal(json_object_get(line, "record"), json_array_get(items, k)),
                  "record %zu of list 2 differs from the API", k);
        k++;
    }
    cr_assert_eq(k, json_array_size(items));
    cr_assert_gt(k, 0);
    json_decref(env);
    json_decref(dump);
    /* list_of_values carries both parents in its context. */
    dump = sxt_emulator_dump(e, "list_of_values");
    json_t *ctx = json_object_get(json_array_get(dump, 0), "context");
    cr_assert_not_null(emu_str(ctx, "contact-list_code"));
    cr_assert_not_null(emu_str(ctx, "field_code"));
    json_decref(dump);
    dump = sxt_emulator_dump(e, "users");
    cr_assert_eq(json_object_size(json_object_get(json_array_get(dump, 0), "context")), 0);
    json_decref(dump);
    sxt_http h = sxt_emulator_raw(e, "GET", "/_emulator/dump?stream=nope", NULL, NULL, 0, NULL);
    cr_assert_eq(h.status, 400);
    sxt_http_free(&h);
    free(t);
    sxt_emulator_stop(e);
}

Test(control, health_and_unknown_paths)
{
    sxt_emulator *e = emu_up(EMU_START("--seed", "9"));
    json_t *h = sxt_emulator_get(e, "/_emulator/health");
    cr_assert(json_is_true(json_object_get(h, "ok")));
    json_decref(h);
    sxt_http r = sxt_emulator_raw(e, "GET", "/_emulator/nothing", NULL, NULL, 0, NULL);
    cr_assert_eq(r.status, 404);
    sxt_http_free(&r);
    r = sxt_emulator_raw(e, "POST", "/_emulator/insert", NULL, "{bad", 0, NULL);
    cr_assert_eq(r.status, 400);
    cr_assert(strstr(r.body, "JSON"));
    sxt_http_free(&r);
    /* The control interface does not count as API traffic. */
    cr_assert_eq(emu_stat(e, "total"), 0);
    sxt_emulator_stop(e);
}
