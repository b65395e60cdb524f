/* The generated data: deterministic, realistic, awkward where real data is. */
#include "emu_test.h"

Test(data, the_same_seed_gives_the_same_data_and_another_seed_other_data)
{
    sxt_emulator *a = emu_up(EMU_START("--seed", "42"));
    sxt_emulator *b = emu_up(EMU_START("--seed", "42"));
    sxt_emulator *c = emu_up(EMU_START("--seed", "43"));
    const char *streams[] = {"contacts", "actions", "transactions", "optout_emails", "users"};
    for (size_t i = 0; i < sizeof streams / sizeof streams[0]; i++) {
        json_t *da = sxt_emulator_dump(a, streams[i]), *db = sxt_emulator_dump(b, streams[i]);
        json_t *dc = sxt_emulator_dump(c, streams[i]);
        cr_assert_not_null(da);
        cr_assert_gt(json_array_size(da), 0, "%s is empty", streams[i]);
        cr_assert(json_equal(da, db), "%s differs between two runs of one seed", streams[i]);
        cr_assert_not(json_equal(da, dc), "%s is the same for two seeds", streams[i]);
        json_decref(da);
        json_decref(db);
        json_decref(dc);
    }
    sxt_emulator_stop(a);
    sxt_emulator_stop(b);
    sxt_emulator_stop(c);
}

static int all_digits(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

Test(data, contacts_carry_the_awkward_things_real_accounts_have)
{
    sxt_emulator *e = emu_up(EMU_START("--contacts", "3000"));
    json_t *dump = sxt_emulator_dump(e, "contacts");
    cr_assert_eq(json_array_size(dump), 3000);
    int accents = 0, emoji = 0, quote = 0, backslash = 0, newline = 0, nulls = 0, extra = 0,
        shared_ts = 0;
    const char *prev_date = NULL, *prev_list = NULL;
    size_t i;
    json_t *line;
    json_array_foreach(dump, i, line) {
        json_t *r = json_object_get(line, "record");
        cr_assert(all_digits(emu_str(r, "code")), "code must be a string of digits");
        cr_assert(all_digits(emu_str(r, "total_sents")));
        const char *name = emu_str(r, "name");
        if (strstr(name, "ã") || strstr(name, "é") || strstr(name, "ç") || strstr(name, "í"))
            accents++;
        if (strstr(name, "\xF0\x9F"))
            emoji++;
        if (strchr(name, '"'))
            quote++;
        if (json_is_null(json_object_get(r, "external_code")))
            nulls++;
        if (json_object_get(r, "score_rfm"))
            extra++;
        json_t *cf = json_object_get(r, "custom_fields");
        cr_assert(json_is_object(cf));
        const char *k;
        json_t *v;
        json_object_foreach(cf, k, v) {
            const char *s = json_string_value(v);
            if (s && strchr(s, '\\'))
                backslash++;
            if (s && strchr(s, '\n'))
                newline++;
        }
        const char *list = emu_str(json_object_get(line, "context"), "contact-list_code");
        const char *d = emu_str(r, "insert_date");
        cr_assert_eq(strlen(d), 19, "YYYY-MM-DD HH:MM:SS");
        if (prev_date && strcmp(prev_list, list) == 0 && strcmp(prev_date, d) == 0)
            shared_ts++;
        prev_date = d;
        prev_list = list;
    }
    cr_assert_gt(accents, 0);
    cr_assert_gt(emoji, 0);
    cr_assert_gt(quote, 0);
    cr_assert_gt(backslash, 0);
    cr_assert_gt(newline, 0);
    cr_assert_gt(nulls, 0);
    cr_assert_gt(extra, 0, "no record carries an unknown extra key");
    cr_assert_gt(shared_ts, 0, "no two records share a timestamp");
    json_decref(dump);
    sxt_emulator_stop(e);
}

Test(data, custom_fields_follow_the_lists_fields_and_cover_every_type)
{
    sxt_emulator *e = emu_up(EMU_START("--rate-limit", "0"));
    json_t *fields = sxt_emulator_dump(e, "fields");
    json_t *contacts = sxt_emulator_dump(e, "contacts");
    json_t *lov = sxt_emulator_dump(e, "list_of_values");
    const char *types[] = {"VC", "LV", "TXT", "INT", "FLT", "DT", "DH", "PHN", "DVC"};
    for (size_t k = 0; k < 9; k++) {
        int seen = 0;
        size_t i;
        json_t *line;
        json_array_foreach(fields, i, line)
            if (strcmp(emu_str(json_object_get(line, "record"), "type"), types[k]) == 0)
                seen = 1;
        cr_assert(seen, "no field of type %s", types[k]);
    }
    size_t i;
    json_t *line;
    int lv_checked = 0;
    json_array_foreach(contacts, i, line) {
        const char *list = emu_str(json_object_get(line, "context"), "contact-list_code");
        json_t *cf = json_object_get(json_object_get(line, "record"), "custom_fields");
        size_t nfields = 0, k;
        json_t *f;
        json_array_foreach(fields, k, f) {
            if (strcmp(emu_str(json_object_get(f, "context"), "contact-list_code"), list) != 0)
                continue;
            nfields++;
            json_t *fr = json_object_get(f, "record");
            json_t *v = json_object_get(cf, emu_str(fr, "code_name"));
            cr_assert_not_null(v, "custom_fields lacks %s", emu_str(fr, "code_name"));
            if (i < 50 && strcmp(emu_str(fr, "type"), "LV") == 0 && json_is_string(v)) {
                /* An LV value is the code of one of that field's LOV items. */
                int found = 0;
                size_t m;
                json_t *l;
                json_array_foreach(lov, m, l) {
                    json_t *ctx = json_object_get(l, "context");
                    if (strcmp(emu_str(ctx, "field_code"), emu_str(fr, "code")) == 0 &&
                        strcmp(emu_str(json_object_get(l, "record"), "code"),
                               json_string_value(v)) == 0)
                        found = 1;
                }
                cr_assert(found, "LV value %s is no LOV code of field %s", json_string_value(v),
                          emu_str(fr, "code"));
                lv_checked++;
            }
        }
        cr_assert_eq(json_object_size(cf), nfields);
    }
    cr_assert_gt(lv_checked, 0);
    json_decref(fields);
    json_decref(contacts);
    json_decref(lov);
    sxt_emulator_stop(e);
}

Test(data, one_list_is_empty_and_totals_match_the_contacts)
{
    sxt_emulator *e = emu_up(EMU_START("--lists", "3", "--contacts", "101"));
    json_t *lists = sxt_emulator_dump(e, "contact_lists");
    json_t *contacts = sxt_emulator_dump(e, "contacts");
    cr_assert_eq(json_array_size(lists), 3);
    int empty = 0;
    size_t i;
    json_t *l;
    json_array_foreach(lists, i, l) {
        json_t *r = json_object_get(l, "record");
        long n = 0;
        size_t k;
        json_t *c;
        json_array_foreach(contacts, k, c)
            if (strcmp(emu_str(json_object_get(c, "context"), "contact-list_code"),
                       emu_str(r, "code")) == 0)
                n++;
        cr_assert_eq(atol(emu_str(r, "total_contacts")), n);
        if (n == 0)
            empty++;
    }
    cr_assert_eq(empty, 1);
    json_decref(lists);
    json_decref(contacts);
    sxt_emulator_stop(e);
}

Test(data, transaction_keys_are_unique)
{
    sxt_emulator *e = emu_up(EMU_START("--transactions", "400", "--actions", "7"));
    json_t *tx = sxt_emulator_dump(e, "transactions");
    cr_assert_eq(json_array_size(tx), 400);
    json_t *seen = json_object();
    size_t i;
    json_t *line;
    json_array_foreach(tx, i, line) {
        json_t *r = json_object_get(line, "record");
        char *k = sxt_strf("%s|%s", emu_str(r, "action_code"), emu_str(r, "dt_transaction"));
        cr_assert_null(json_object_get(seen, k), "duplicate key %s", k);
        json_object_set_new(seen, k, json_true());
        free(k);
        cr_assert_not_null(emu_str(r, "value"));
    }
    json_decref(seen);
    json_decref(tx);
    sxt_emulator_stop(e);
}

Test(data, ten_million_contacts_serve_incremental_pages)
{
    sxt_emulator *e = emu_up(EMU_START("--contacts", "10000000", "--rate-limit", "0"));
    char *t = sxt_emulator_token(e);
    const char *bm = "2023-03-01 12:00:00";
    json_t *env = emu_post(e, t, "/emkt/contact/search",
                           "{\"contact-list_code\":\"1\",\"page_number\":\"2\",\"page_size\":\"1000\","
                           "\"search\":[{\"field\":\"insert_date\",\"operator\":\">=\",\"value\":"
                           "\"%s\"}],\"order\":[{\"field\":\"insert_date\",\"type\":\"ASC\"}]}", bm);
    json_t *items = emu_items(env, "items");
    cr_assert_eq(json_array_size(items), 1000);
    cr_assert(emu_next(env));
    /* Page 1 ends right before page 2 starts: the row 1000 places before the
     * first row of page 2 is the first at or after the bookmark. */
    long first = atol(emu_str(json_array_get(items, 0), "code"));
    json_decref(env);
    env = emu_post(e, t, "/emkt/contact/search",
                   "{\"contact-list_code\":\"1\",\"search\":[{\"field\":\"code\",\"operator\":\"=\","
                   "\"value\":\"%ld\"},{\"field\":\"code\",\"operator\":\"<\",\"value\":\"9999999\"}]}",
                   first - 1000);
    json_t *row = json_array_get(emu_items(env, "items"), 0);
    cr_assert_geq(strcmp(emu_str(row, "insert_date"), bm), 0);
    json_decref(env);
    env = emu_post(e, t, "/emkt/contact/search",
                   "{\"contact-list_code\":\"1\",\"search\":[{\"field\":\"code\",\"operator\":\"=\","
                   "\"value\":\"%ld\"}]}", first - 1001);
    row = json_array_get(emu_items(env, "items"), 0);
    cr_assert_lt(strcmp(emu_str(row, "insert_date"), bm), 0);
    json_decref(env);
    free(t);
    sxt_emulator_stop(e);
}
