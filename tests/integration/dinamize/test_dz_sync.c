/*
 * test_dz_sync.c: the thirteen Dinamize streams end to end: real siphon runs
 * against the emulator, compared record by record with what it holds.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "dz_harness.h"
#include "deadline.h"

SXT_DEADLINE(180)

TestSuite(dz_sync, .init = sxt_deadline_180s);

/* The records of a stream in a run (NULL when there were none). */
static json_t *records_of(const sxt_singer *s, const char *stream)
{
    return json_object_get(s->records_by_stream, stream);
}

static json_t *bookmarks(const sxt_singer *s)
{
    return json_object_get(s->last_state, "bookmarks");
}

Test(dz_sync, a_full_sync_of_all_thirteen_streams_equals_the_emulator)
{
    sxt_dz t;
    sxt_dz_start(&t, NULL, NULL);
    sxt_result r = sxt_dz_run(&t, NULL, (const char *[]){"run", NULL});
    sxt_singer s;
    sxt_dz_singer(&r, &s);
    for (size_t i = 0; i < 13; i++) {
        const char *stream = sxt_dz_streams[i];
        json_t *expected = sxt_dz_expected(&t, stream);
        cr_assert_gt(json_array_size(expected), 0, "the emulator holds no %s", stream);
        json_t *got = json_object_get(s.records_by_stream, stream);
        cr_assert_not_null(got, "no records of %s", stream);
        sxt_dz_assert_same_records(stream, got, expected);
        json_decref(expected);
    }
    /* one login for the whole run, and never a rate-limit answer */
    json_t *stats = sxt_dz_stats(&t);
    cr_expect_eq(json_integer_value(json_object_get(stats, "auth_ok")), 1);
    cr_expect_eq(json_integer_value(json_object_get(stats, "rate_limited")), 0);
    cr_expect_eq(json_integer_value(json_object_get(stats, "violations")), 0);
    /* the parents are read once, however many children need them */
    json_t *by_path = json_object_get(stats, "requests");
    cr_expect_eq(json_integer_value(json_object_get(by_path, "/emkt/contact-list/search")), 1);
    json_decref(stats);
    sxt_singer_free(&s);
    sxt_result_free(&r);
    sxt_dz_stop(&t);
}

Test(dz_sync, child_streams_alone_still_get_their_parents)
{
    sxt_dz t;
    sxt_dz_start(&t, NULL, NULL);
    sxt_result r = sxt_dz_run(&t, NULL,
                              (const char *[]){"run", "--select", "list_of_values,optout_emails",
                                               NULL});
    sxt_singer s;
    sxt_dz_singer(&r, &s);
    cr_assert_null(json_object_get(s.records_by_stream, "contact_lists"));
    cr_assert_null(json_object_get(s.records_by_stream, "fields"));
    const char *children[] = {"list_of_values", "optout_emails"};
    for (size_t i = 0; i < 2; i++) {
        json_t *expected = sxt_dz_expected(&t, children[i]);
        sxt_dz_assert_same_records(children[i], json_object_get(s.records_by_stream, children[i]),
                                   expected);
        json_decref(expected);
    }
    /* every value of list_of_values names its list and its field */
    size_t i;
    json_t *rec;
    json_array_foreach(json_object_get(s.records_by_stream, "list_of_values"), i, rec) {
        cr_assert(json_is_string(json_object_get(rec, "contact-list_code")));
        cr_assert(json_is_string(json_object_get(rec, "field_code")));
    }
    sxt_singer_free(&s);
    sxt_result_free(&r);
    sxt_dz_stop(&t);
}

Test(dz_sync, groups_select_their_streams)
{
    sxt_dz t;
    sxt_dz_start(&t, NULL, NULL);
    sxt_result r = sxt_dz_run(&t, NULL, (const char *[]){"run", "--select", "sends,account", NULL});
    sxt_singer s;
    sxt_dz_singer(&r, &s);
    const char *want[] = {"actions", "campaigns", "messages", "transactions", "users", "teams"};
    for (size_t i = 0; i < 6; i++)
        cr_expect_not_null(json_object_get(s.records_by_stream, want[i]), "%s missing", want[i]);
    cr_expect_eq(json_object_size(s.records_by_stream), 6);
    sxt_singer_free(&s);
    sxt_result_free(&r);

    r = sxt_dz_run(&t, NULL, (const char *[]){"run", "--select", "lists", NULL});
    sxt_dz_singer(&r, &s);
    const char *lists[] = {"contact_lists", "contacts", "fields", "field_groups", "filters",
                           "list_of_values", "optout_emails"};
    for (size_t i = 0; i < 7; i++)
        cr_expect_not_null(json_object_get(s.records_by_stream, lists[i]), "%s missing", lists[i]);
    cr_expect_eq(json_object_size(s.records_by_stream), 7);
    sxt_singer_free(&s);
    sxt_result_free(&r);
    sxt_dz_stop(&t);
}

Test(dz_sync, a_stream_name_selects_that_stream_alone)
{
    sxt_dz t;
    sxt_dz_start(&t, NULL, NULL);
    sxt_result r = sxt_dz_run(&t, NULL, (const char *[]){"run", "--select", "contacts", NULL});
    sxt_singer s;
    sxt_dz_singer(&r, &s);
    cr_assert_eq(json_object_size(s.records_by_stream), 1, "more than the contacts stream ran");
    json_t *expected = sxt_dz_expected(&t, "contacts");
    sxt_dz_assert_same_records("contacts", json_object_get(s.records_by_stream, "contacts"),
                               expected);
    json_decref(expected);
    sxt_singer_free(&s);
    sxt_result_free(&r);
    sxt_dz_stop(&t);
}

/* Keeps the records of a run whose replication value is below the bookmark
 * the previous run left for that record's partition. */
static const char *bookmark_for(const json_t *state_bookmarks, const char *stream,
                                const json_t *record)
{
    json_t *b = json_object_get(state_bookmarks, stream);
    json_t *parts = json_object_get(b, "partitions");
    if (!json_is_array(parts))
        return json_string_value(json_object_get(b, "replication_key_value"));
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p) {
        json_t *context = json_object_get(p, "context");
        const char *key;
        json_t *v;
        int match = 1;
        json_object_foreach(context, key, v) {
            if (!json_equal(json_object_get(record, key), v))
                match = 0;
        }
        if (match)
            return json_string_value(json_object_get(p, "replication_key_value"));
    }
    return NULL;
}

static int same_key(const json_t *a, const json_t *b, const char *const keys[])
{
    for (size_t i = 0; keys[i]; i++)
        if (!json_equal(json_object_get(a, keys[i]), json_object_get(b, keys[i])))
            return 0;
    return 1;
}

Test(dz_sync, an_incremental_run_returns_every_new_record_and_only_boundary_old_ones)
{
    sxt_dz t;
    sxt_dz_start(&t, NULL, NULL);
    sxt_result r1 = sxt_dz_run(&t, NULL, (const char *[]){"run", NULL});
    sxt_singer s1;
    sxt_dz_singer(&r1, &s1);
    char *state = sxt_dz_write_json(&t, "state.json", s1.last_state);

    static const struct {
        const char *stream, *rk, *insert;
        size_t count;
        const char *keys[3];
    } cases[] = {
        {"campaigns", "insert_date", "{\"stream\":\"campaigns\",\"count\":3}", 3, {"code"}},
        {"transactions", "dt_transaction", "{\"stream\":\"transactions\",\"count\":2}", 2,
         {"action_code", "dt_transaction"}},
        {"contacts", "insert_date",
         "{\"stream\":\"contacts\",\"count\":5,\"contact-list_code\":\"2\"}", 5, {"code"}},
        {"optout_emails", "request_date",
         "{\"stream\":\"optout_emails\",\"count\":2,\"contact-list_code\":\"1\"}", 2,
         {"email"}},
        {"users", "insert_date", "{\"stream\":\"users\",\"count\":1}", 1, {"code"}},
    };
    json_t *inserted[5];
    for (size_t i = 0; i < 5; i++) {
        json_t *answer = sxt_emulator_call(t.emu, "/_emulator/insert", cases[i].insert);
        inserted[i] = json_incref(json_object_get(answer, "inserted"));
        cr_assert_eq(json_array_size(inserted[i]), cases[i].count, "insert into %s",
                     cases[i].stream);
        json_decref(answer);
    }

    sxt_result r2 = sxt_dz_run(&t, NULL, (const char *[]){"run", "--state", state, NULL});
    sxt_singer s2;
    sxt_dz_singer(&r2, &s2);
    for (size_t i = 0; i < 5; i++) {
        json_t *got = json_object_get(s2.records_by_stream, cases[i].stream);
        cr_assert_not_null(got, "the incremental run returned no %s", cases[i].stream);
        /* every inserted record came */
        size_t k, j;
        json_t *key, *rec;
        json_array_foreach(inserted[i], k, key) {
            int found = 0;
            json_array_foreach(got, j, rec) found |= same_key(rec, key, cases[i].keys);
            char *text = json_dumps(key, JSON_COMPACT);
            cr_expect(found, "%s: inserted %s missing from the incremental run", cases[i].stream,
                      text);
            free(text);
        }
        /* anything else is a row sharing its partition's bookmark value */
        json_array_foreach(got, j, rec) {
            int is_new = 0;
            json_array_foreach(inserted[i], k, key) is_new |= same_key(rec, key, cases[i].keys);
            if (is_new)
                continue;
            const char *mark = bookmark_for(bookmarks(&s1), cases[i].stream, rec);
            const char *value = json_string_value(json_object_get(rec, cases[i].rk));
            cr_expect(mark && value && strcmp(value, mark) == 0,
                      "%s: an old record at %s came again (bookmark %s)", cases[i].stream,
                      value ? value : "null", mark ? mark : "none");
        }
        json_decref(inserted[i]);
    }
    /* streams without a replication key are read whole again */
    json_t *teams = sxt_dz_expected(&t, "teams");
    sxt_dz_assert_same_records("teams", records_of(&s2, "teams"), teams);
    json_decref(teams);
    sxt_singer_free(&s1);
    sxt_singer_free(&s2);
    sxt_result_free(&r1);
    sxt_result_free(&r2);
    free(state);
    sxt_dz_stop(&t);
}

Test(dz_sync, a_contact_list_created_later_gets_its_whole_history)
{
    sxt_dz t;
    sxt_dz_start(&t, NULL, NULL);
    sxt_result r1 = sxt_dz_run(&t, NULL, (const char *[]){"run", "--select", "contacts", NULL});
    sxt_singer s1;
    sxt_dz_singer(&r1, &s1);
    char *state = sxt_dz_write_json(&t, "state.json", s1.last_state);

    json_t *list = sxt_emulator_call(t.emu, "/_emulator/insert",
                                     "{\"stream\":\"contact_lists\",\"count\":1}");
    const char *code = json_string_value(
        json_object_get(json_array_get(json_object_get(list, "inserted"), 0), "code"));
    cr_assert_not_null(code);
    char *body = sxt_strf("{\"stream\":\"contacts\",\"count\":4,\"contact-list_code\":\"%s\"}",
                          code);
    json_decref(sxt_emulator_call(t.emu, "/_emulator/insert", body));

    sxt_result r2 = sxt_dz_run(&t, NULL,
                               (const char *[]){"run", "--select", "contacts", "--state", state,
                                                NULL});
    sxt_singer s2;
    sxt_dz_singer(&r2, &s2);
    size_t n_new = 0, i;
    json_t *rec;
    json_array_foreach(records_of(&s2, "contacts"), i, rec) {
        n_new += strcmp(json_string_value(json_object_get(rec, "contact-list_code")), code) == 0;
    }
    cr_assert_eq(n_new, 4, "the new list's contacts: %zu of 4", n_new);
    sxt_singer_free(&s1);
    sxt_singer_free(&s2);
    sxt_result_free(&r1);
    sxt_result_free(&r2);
    json_decref(list);
    free(body);
    free(state);
    sxt_dz_stop(&t);
}

Test(dz_sync, start_date_bounds_the_first_incremental_sync)
{
    sxt_dz t;
    /* 2022-01-01T03:00:00Z is midnight in Sao Paulo */
    sxt_dz_start(&t, NULL, "{\"start_date\":\"2022-01-01T03:00:00Z\"}");
    sxt_result r = sxt_dz_run(&t, NULL, (const char *[]){"run", "--select", "campaigns,actions",
                                                          NULL});
    sxt_singer s;
    sxt_dz_singer(&r, &s);
    static const struct {
        const char *stream, *rk;
    } cases[] = {{"campaigns", "insert_date"}, {"actions", "date_create"}};
    for (size_t c = 0; c < 2; c++) {
        json_t *all = sxt_dz_expected(&t, cases[c].stream), *want = json_array();
        size_t i;
        json_t *rec;
        json_array_foreach(all, i, rec) {
            const char *v = json_string_value(json_object_get(rec, cases[c].rk));
            if (v && strcmp(v, "2022-01-01 00:00:00") >= 0)
                json_array_append(want, rec);
        }
        cr_assert_gt(json_array_size(want), 0);
        cr_assert_lt(json_array_size(want), json_array_size(all), "start_date cut nothing");
        sxt_dz_assert_same_records(cases[c].stream, records_of(&s, cases[c].stream), want);
        json_decref(all);
        json_decref(want);
    }
    sxt_singer_free(&s);
    sxt_result_free(&r);
    sxt_dz_stop(&t);
}

Test(dz_sync, full_table_reads_everything_again)
{
    sxt_dz t;
    sxt_dz_start(&t, NULL, NULL);
    sxt_result r1 = sxt_dz_run(&t, NULL, (const char *[]){"run", "--select", "campaigns", NULL});
    sxt_singer s1;
    sxt_dz_singer(&r1, &s1);
    char *state = sxt_dz_write_json(&t, "state.json", s1.last_state);
    sxt_dz_config(&t, "{\"streams\":{\"campaigns\":{\"replication_method\":\"FULL_TABLE\"}}}");
    sxt_result r2 = sxt_dz_run(&t, NULL,
                               (const char *[]){"run", "--select", "campaigns", "--state", state,
                                                NULL});
    sxt_singer s2;
    sxt_dz_singer(&r2, &s2);
    json_t *expected = sxt_dz_expected(&t, "campaigns");
    sxt_dz_assert_same_records("campaigns", records_of(&s2, "campaigns"), expected);
    json_decref(expected);
    sxt_singer_free(&s1);
    sxt_singer_free(&s2);
    sxt_result_free(&r1);
    sxt_result_free(&r2);
    free(state);
    sxt_dz_stop(&t);
}

Test(dz_sync, small_pages_are_followed_to_the_end)
{
    sxt_dz t;
    /* page_size 7 for every stream: many pages, partial last pages, and the
     * server's cap below the asked size for contacts */
    sxt_dz_start(&t, (const char *[]){"--page-cap", "5", "--contacts", "100", NULL},
                 "{\"page_size\":7,\"streams\":{\"contacts\":{\"page_size\":\"50\"}}}");
    sxt_result r = sxt_dz_run(&t, NULL, (const char *[]){"run", "--select",
                                                          "contacts,campaigns", NULL});
    sxt_singer s;
    sxt_dz_singer(&r, &s);
    const char *streams[] = {"contacts", "campaigns"};
    for (size_t i = 0; i < 2; i++) {
        json_t *expected = sxt_dz_expected(&t, streams[i]);
        sxt_dz_assert_same_records(streams[i], records_of(&s, streams[i]), expected);
        json_decref(expected);
    }
    sxt_singer_free(&s);
    sxt_result_free(&r);
    sxt_dz_stop(&t);
}

Test(dz_sync, a_budget_on_the_servers_window_spans_windows_without_a_rate_limit_answer)
{
    sxt_dz t;
    /* 4 requests per 1 s window on both sides (rate_window_s scales the
     * budget's window as the emulator's is scaled); small pages so the sync
     * needs several windows. With the default 60 s window it would take
     * minutes; with a window shorter than the server's it would earn 240024. */
    sxt_dz_start(&t, (const char *[]){"--rate-limit", "4", NULL},
                 "{\"requests_per_minute\":4,\"rate_window_s\":1,\"page_size\":7}");
    sxt_result r = sxt_dz_run(&t, NULL, (const char *[]){"run", "--select", "sends", NULL});
    sxt_singer s;
    sxt_dz_singer(&r, &s);
    const char *streams[] = {"actions", "campaigns", "messages", "transactions"};
    for (size_t i = 0; i < 4; i++) {
        json_t *expected = sxt_dz_expected(&t, streams[i]);
        sxt_dz_assert_same_records(streams[i], records_of(&s, streams[i]), expected);
        json_decref(expected);
    }
    json_t *stats = sxt_dz_stats(&t);
    json_int_t total = json_integer_value(json_object_get(stats, "total"));
    cr_assert_gt(total, 3 * 4, "only %lld requests: the sync fit in too few windows",
                 (long long)total);
    cr_assert_eq(json_integer_value(json_object_get(stats, "rate_limited")), 0);
    cr_assert_eq(json_integer_value(json_object_get(stats, "violations")), 0);
    cr_assert_leq(json_integer_value(json_object_get(stats, "peak_window")), 4);
    json_decref(stats);
    sxt_singer_free(&s);
    sxt_result_free(&r);
    sxt_dz_stop(&t);
}

/* Requests the emulator has answered for path so far. */
static json_int_t requests_for(sxt_dz *t, const char *path)
{
    json_t *stats = sxt_dz_stats(t);
    json_int_t n = json_integer_value(json_object_get(json_object_get(stats, "requests"), path));
    json_decref(stats);
    return n;
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The bookmarks one per line, sorted: partitions finish in any order. */
static char *bookmark_lines(const json_t *marks)
{
    char *lines[64];
    size_t n = 0, total = 1;
    const char *stream;
    json_t *mark;
    json_object_foreach((json_t *)marks, stream, mark) {
        json_t *parts = json_object_get(mark, "partitions");
        size_t count = json_is_array(parts) ? json_array_size(parts) : 1;
        for (size_t i = 0; i < count && n < 64; i++) {
            char *text = json_dumps(parts ? json_array_get(parts, i) : mark,
                                    JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
            lines[n] = malloc(strlen(stream) + strlen(text) + 3);
            sprintf(lines[n], "%s %s\n", stream, text);
            total += strlen(lines[n++]);
            free(text);
        }
    }
    qsort(lines, n, sizeof lines[0], by_text);
    char *all = calloc(1, total);
    for (size_t i = 0; i < n; i++) {
        strcat(all, lines[i]);
        free(lines[i]);
    }
    return all;
}

Test(dz_sync, reading_ahead_or_not_gives_the_same_records_bookmarks_and_requests)
{
    sxt_dz t;
    /* many small pages, so most pages are asked for while another is emitted */
    /* no rate limit: a run's 240024 answers would count as requests */
    sxt_dz_start(&t, (const char *[]){"--page-cap", "5", "--contacts", "100", "--rate-limit", "0",
                                      NULL}, NULL);
    const char *paths[] = {"/emkt/contact/search", "/emkt/action/search"};
    const char *streams[] = {"contacts", "actions"};
    json_int_t sent[2][2];
    char *marks[2];
    for (int ahead = 0; ahead < 2; ahead++) {
        sxt_dz_config(&t, ahead ? "{\"page_size\":5,\"read_ahead\":true}"
                                : "{\"page_size\":5,\"read_ahead\":false}");
        json_int_t before[2] = {requests_for(&t, paths[0]), requests_for(&t, paths[1])};
        sxt_result r = sxt_dz_run(&t, NULL, (const char *[]){"run", "--select",
                                                              "contacts,actions", NULL});
        sxt_singer s;
        sxt_dz_singer(&r, &s);
        for (size_t i = 0; i < 2; i++) {
            json_t *expected = sxt_dz_expected(&t, streams[i]);
            sxt_dz_assert_same_records(streams[i], records_of(&s, streams[i]), expected);
            json_decref(expected);
            sent[ahead][i] = requests_for(&t, paths[i]) - before[i];
        }
        marks[ahead] = bookmark_lines(bookmarks(&s));
        sxt_singer_free(&s);
        sxt_result_free(&r);
    }
    for (size_t i = 0; i < 2; i++) {
        cr_expect_gt(sent[0][i], 5, "%s: too few pages to read ahead", streams[i]);
        cr_expect_eq(sent[1][i], sent[0][i],
                     "%s: %lld requests reading ahead, %lld without: reading ahead must never "
                     "ask past the last page", streams[i], (long long)sent[1][i],
                     (long long)sent[0][i]);
    }
    cr_expect_str_eq(marks[1], marks[0], "the bookmarks differ:\n%s\n%s", marks[1], marks[0]);
    free(marks[0]);
    free(marks[1]);
    sxt_dz_stop(&t);
}
