#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "proc.h"
#include "state.h"

#define expect_contains(text, needle)                                                      \
    cr_assert(strstr((text), (needle)) != NULL, "expected [%s] in [%s]", (needle), (text))

static char *dir;
static sx_error err;

static void setup(void)
{
    dir = sxt_tmpdir("state");
    cr_assert_not_null(dir);
    sx_error_clear(&err);
}

static void teardown(void)
{
    sxt_rmtree(dir);
    free(dir);
}

TestSuite(state, .init = setup, .fini = teardown);

static sx_state *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    cr_assert_not_null(v, "test state does not parse: %s", jerr.text);
    sx_state *st = sx_state_from_json(v, "s.json", &err);
    json_decref(v);
    return st;
}

static char *dump(const sx_state *st)
{
    json_t *v = sx_state_to_json(st);
    char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(v);
    return text;
}

static json_t *ctx_list(const char *code)
{
    return json_pack("{s:s}", "contact-list_code", code);
}

Test(state, new_state_has_the_singer_layout)
{
    sx_state *st = sx_state_new();
    char *text = dump(st);
    cr_assert_str_eq(text, "{\"bookmarks\":{}}");
    free(text);
    sx_state_free(st);
}

Test(state, stream_bookmark_round_trips_through_the_layout)
{
    sx_state *st = sx_state_new();
    cr_assert_null(sx_state_bookmark(st, "campaigns", NULL));
    cr_assert_eq(sx_state_set_bookmark(st, "campaigns", NULL, "insert_date",
                                       "2024-05-01 10:00:00"), 0);
    cr_assert_str_eq(sx_state_bookmark(st, "campaigns", NULL), "2024-05-01 10:00:00");
    char *text = dump(st);
    cr_assert_str_eq(text, "{\"bookmarks\":{\"campaigns\":{\"replication_key\":\"insert_date\","
                           "\"replication_key_value\":\"2024-05-01 10:00:00\"}}}");
    free(text);
    sx_state_free(st);
}

Test(state, partitions_are_found_by_context_whatever_the_key_order)
{
    sx_state *st = sx_state_new();
    json_t *a = json_pack("{s:s, s:s}", "contact-list_code", "7", "field_code", "3");
    json_t *b = json_pack("{s:s, s:s}", "field_code", "3", "contact-list_code", "7");
    cr_assert_eq(sx_state_set_bookmark(st, "list_of_values", a, "code", "10"), 0);
    cr_assert_str_eq(sx_state_bookmark(st, "list_of_values", b), "10");
    cr_assert_eq(sx_state_set_bookmark(st, "list_of_values", b, NULL, "11"), 0);
    cr_assert_str_eq(sx_state_bookmark(st, "list_of_values", a), "11");
    /* One partition, not two. */
    json_t *v = sx_state_to_json(st);
    const json_t *parts =
        json_object_get(json_object_get(json_object_get(v, "bookmarks"), "list_of_values"),
                        "partitions");
    cr_assert_eq(json_array_size(parts), 1);
    json_decref(v);
    /* A context with another value is another partition; 7 is not "7". */
    json_t *c = json_pack("{s:i, s:s}", "contact-list_code", 7, "field_code", "3");
    cr_assert_null(sx_state_bookmark(st, "list_of_values", c));
    json_decref(a);
    json_decref(b);
    json_decref(c);
    sx_state_free(st);
}

Test(state, partition_bookmarks_survive_a_save_and_load)
{
    sx_state *st = sx_state_new();
    json_t *seven = ctx_list("7"), *nine = ctx_list("9");
    sx_state_set_bookmark(st, "contacts", seven, "insert_date", "2024-01-01 00:00:00");
    sx_state_set_bookmark(st, "contacts", nine, "insert_date", "2024-01-03 00:00:00");
    sx_state_set_bookmark(st, "campaigns", NULL, "insert_date", "2024-02-01 00:00:00");
    char *path = sxt_strf("%s/state.json", dir);
    cr_assert_eq(sx_state_save_file(st, path, &err), 0, "%s", err.msg);
    sx_state *back = sx_state_load_file(path, &err);
    cr_assert_not_null(back, "%s", err.msg);
    cr_assert_str_eq(sx_state_bookmark(back, "contacts", seven), "2024-01-01 00:00:00");
    cr_assert_str_eq(sx_state_bookmark(back, "contacts", nine), "2024-01-03 00:00:00");
    cr_assert_str_eq(sx_state_bookmark(back, "campaigns", NULL), "2024-02-01 00:00:00");
    char *one = dump(st), *two = dump(back);
    cr_assert_str_eq(one, two);
    char *file = sxt_read_file(path, NULL);
    cr_assert(file[strlen(file) - 1] == '\n');
    free(file);
    free(one);
    free(two);
    json_decref(seven);
    json_decref(nine);
    sx_state_free(back);
    sx_state_free(st);
    free(path);
}

Test(state, ten_thousand_partitions_round_trip)
{
    enum { N = 10000 };
    sx_state *st = sx_state_new();
    char code[32], value[64];
    for (int i = 0; i < N; i++) {
        snprintf(code, sizeof code, "%d", i);
        snprintf(value, sizeof value, "2024-01-01 00:00:%05d", i);
        json_t *ctx = ctx_list(code);
        cr_assert_eq(sx_state_set_bookmark(st, "contacts", ctx, "insert_date", value), 0);
        json_decref(ctx);
    }
    char *path = sxt_strf("%s/state.json", dir);
    cr_assert_eq(sx_state_save_file(st, path, &err), 0, "%s", err.msg);
    sx_state *back = sx_state_load_file(path, &err);
    cr_assert_not_null(back, "%s", err.msg);
    /* Look them up in another order than they were written. */
    for (int i = N - 1; i >= 0; i--) {
        snprintf(code, sizeof code, "%d", i);
        snprintf(value, sizeof value, "2024-01-01 00:00:%05d", i);
        json_t *ctx = ctx_list(code);
        const char *got = sx_state_bookmark(back, "contacts", ctx);
        cr_assert(got != NULL && strcmp(got, value) == 0, "partition %d: %s", i,
                  got ? got : "(none)");
        json_decref(ctx);
    }
    json_t *v = sx_state_to_json(back);
    cr_assert_eq(json_array_size(json_object_get(
                     json_object_get(json_object_get(v, "bookmarks"), "contacts"), "partitions")),
                 N);
    json_decref(v);
    sx_state_free(back);
    sx_state_free(st);
    free(path);
}

Test(state, unknown_keys_are_kept_unchanged)
{
    const char *text =
        "{\"bookmarks\":{\"contacts\":{\"offset\":{\"page\":3},\"partitions\":[{\"context\":"
        "{\"contact-list_code\":\"7\"},\"replication_key\":\"insert_date\","
        "\"replication_key_value\":\"2024\",\"progress_markers\":{\"Note\":\"x\"}}]}},"
        "\"currently_syncing\":\"contacts\",\"vendor\":[1,2]}";
    sx_state *st = parse(text);
    cr_assert_not_null(st, "%s", err.msg);
    json_t *seven = ctx_list("7");
    sx_state_set_bookmark(st, "contacts", seven, NULL, "2025");
    char *path = sxt_strf("%s/state.json", dir);
    cr_assert_eq(sx_state_save_file(st, path, &err), 0, "%s", err.msg);
    sx_state *back = sx_state_load_file(path, &err);
    char *got = dump(back);
    cr_assert_str_eq(got, "{\"bookmarks\":{\"contacts\":{\"offset\":{\"page\":3},\"partitions\":"
                          "[{\"context\":{\"contact-list_code\":\"7\"},\"progress_markers\":"
                          "{\"Note\":\"x\"},\"replication_key\":\"insert_date\","
                          "\"replication_key_value\":\"2025\"}]}},\"currently_syncing\":"
                          "\"contacts\",\"vendor\":[1,2]}");
    free(got);
    json_decref(seven);
    sx_state_free(back);
    sx_state_free(st);
    free(path);
}

Test(state, numeric_bookmarks_are_read_as_their_text)
{
    sx_state *st = parse("{\"bookmarks\":{\"actions\":{\"replication_key_value\":1717200000}}}");
    cr_assert_not_null(st, "%s", err.msg);
    cr_assert_str_eq(sx_state_bookmark(st, "actions", NULL), "1717200000");
    sx_state_free(st);
}

Test(state, singer_state_message_and_meltano_wrapper_are_unwrapped)
{
    sx_state *st = parse("{\"type\":\"STATE\",\"value\":{\"bookmarks\":{\"teams\":"
                         "{\"replication_key_value\":\"a\"}}}}");
    cr_assert_not_null(st, "%s", err.msg);
    cr_assert_str_eq(sx_state_bookmark(st, "teams", NULL), "a");
    sx_state_free(st);
    st = parse("{\"singer_state\":{\"bookmarks\":{\"teams\":{\"replication_key_value\":\"b\"}}}}");
    cr_assert_not_null(st, "%s", err.msg);
    cr_assert_str_eq(sx_state_bookmark(st, "teams", NULL), "b");
    sx_state_free(st);
}

/* --- shape errors, each naming the JSON path --- */

Test(state, partition_context_must_be_an_object)
{
    cr_assert_null(parse("{\"bookmarks\":{\"contacts\":{\"partitions\":[{\"context\":{}},"
                         "{\"context\":{\"a\":1}},{\"context\":\"7\"}]}}}"));
    cr_assert_eq(err.exit_code, SX_EXIT_CONFIG);
    cr_assert_str_eq(err.msg, "state file 's.json': bookmarks.contacts.partitions[2].context: "
                              "expected an object, found \"7\"");
}

Test(state, other_shape_errors_name_their_path)
{
    const struct {
        const char *text, *msg;
    } cases[] = {
        {"[1]", "state file 's.json': top level: expected an object, found an array"},
        {"{\"bookmarks\":[]}",
         "state file 's.json': bookmarks: expected an object keyed by stream name, found an array"},
        {"{\"bookmarks\":{\"teams\":\"x\"}}",
         "state file 's.json': bookmarks.teams: expected an object, found \"x\""},
        {"{\"bookmarks\":{\"teams\":{\"replication_key_value\":[1]}}}",
         "state file 's.json': bookmarks.teams.replication_key_value: expected a string or a "
         "number, found an array"},
        {"{\"bookmarks\":{\"teams\":{\"partitions\":{}}}}",
         "state file 's.json': bookmarks.teams.partitions: expected an array of partitions, found "
         "an object"},
        {"{\"bookmarks\":{\"teams\":{\"partitions\":[{\"context\":{\"a\":1}},{\"context\":{\"a\":"
         "1},\"x\":1}]}}}",
         "state file 's.json': bookmarks.teams.partitions[1].context: the same context as "
         "bookmarks.teams.partitions[0] (each partition must appear once)"},
        {"{\"bookmarks\":{\"teams\":{\"last_full_sync_ms\":\"soon\"}}}",
         "state file 's.json': bookmarks.teams.last_full_sync_ms: expected an integer "
         "(milliseconds since the epoch), found \"soon\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *v = json_loads(cases[i].text, JSON_DECODE_ANY, NULL);
        cr_assert_not_null(v);
        sx_error_clear(&err);
        sx_state *st = sx_state_from_json(v, "s.json", &err);
        json_decref(v);
        cr_assert_null(st, "case %zu was accepted", i);
        cr_assert_str_eq(err.msg, cases[i].msg);
    }
}

Test(state, missing_file_is_an_error_and_an_empty_file_a_first_run)
{
    char *path = sxt_strf("%s/none.json", dir);
    cr_assert_null(sx_state_load_file(path, &err));
    cr_assert_eq(err.exit_code, SX_EXIT_CONFIG);
    char *want = sxt_strf("state file '%s': No such file or directory", path);
    cr_assert_str_eq(err.msg, want);
    free(want);
    cr_assert_eq(sxt_write_file(path, ""), 0);
    sx_state *st = sx_state_load_file(path, &err);
    cr_assert_not_null(st);
    cr_assert_null(sx_state_bookmark(st, "contacts", NULL));
    sx_state_free(st);
    free(path);
}

Test(state, malformed_state_file_names_line_and_column_and_is_left_untouched)
{
    char *path = sxt_strf("%s/state.json", dir);
    const char *broken = "{\"bookmarks\": {\n  \"teams\": {\"replication_key_value\": \"a\"\n}";
    cr_assert_eq(sxt_write_file(path, broken), 0);
    cr_assert_null(sx_state_load_file(path, &err));
    char *want = sxt_strf("state file '%s', line 3, column 1: expected '}' near end of file", path);
    cr_assert_str_eq(err.msg, want);
    free(want);
    char *after = sxt_read_file(path, NULL);
    cr_assert_str_eq(after, broken);
    free(after);
    free(path);
}

Test(state, state_that_fails_validation_is_never_written)
{
    char *path = sxt_strf("%s/state.json", dir);
    const char *bad = "{\"bookmarks\":{\"teams\":{\"partitions\":[{\"context\":3}]}}}";
    cr_assert_eq(sxt_write_file(path, bad), 0);
    cr_assert_null(sx_state_load_file(path, &err));
    expect_contains(err.msg, "bookmarks.teams.partitions[0].context: expected an object, found 3");
    char *after = sxt_read_file(path, NULL);
    cr_assert_str_eq(after, bad);
    free(after);
    free(path);
}

/* --- signposts, extras, full syncs --- */

Test(state, bookmark_never_passes_the_signpost)
{
    sx_state *st = sx_state_new();
    json_t *seven = ctx_list("7");
    cr_assert_eq(sx_state_set_signpost(st, "contacts", seven, "2024-06-01 00:00:00"), 0);
    sx_state_set_bookmark(st, "contacts", seven, "insert_date", "2024-05-31 23:59:59");
    cr_assert_str_eq(sx_state_bookmark(st, "contacts", seven), "2024-05-31 23:59:59");
    sx_state_set_bookmark(st, "contacts", seven, NULL, "2024-06-02 08:00:00");
    cr_assert_str_eq(sx_state_bookmark(st, "contacts", seven), "2024-06-01 00:00:00");
    cr_assert_str_eq(sx_state_signpost(st, "contacts", seven), "2024-06-01 00:00:00");
    sx_state_clear_signposts(st, "contacts");
    cr_assert_null(sx_state_signpost(st, "contacts", seven));
    sx_state_set_bookmark(st, "contacts", seven, NULL, "2024-06-02 08:00:00");
    cr_assert_str_eq(sx_state_bookmark(st, "contacts", seven), "2024-06-02 08:00:00");
    json_decref(seven);
    sx_state_free(st);
}

Test(state, extra_keys_live_beside_the_bookmark_and_layout_keys_are_refused)
{
    sx_state *st = sx_state_new();
    json_t *seven = ctx_list("7");
    cr_assert_eq(sx_state_put_extra(st, "contacts", seven, "page", json_integer(4)), 0);
    cr_assert_eq(json_integer_value(sx_state_extra(st, "contacts", seven, "page")), 4);
    cr_assert_eq(sx_state_put_extra(st, "contacts", NULL, "cursor", json_string("abc")), 0);
    cr_assert_str_eq(json_string_value(sx_state_extra(st, "contacts", NULL, "cursor")), "abc");
    cr_assert_eq(sx_state_put_extra(st, "contacts", seven, "context", json_object()), -1);
    cr_assert_eq(sx_state_put_extra(st, "contacts", NULL, "partitions", json_array()), -1);
    cr_assert_eq(sx_state_put_extra(st, "contacts", NULL, "replication_key_value",
                                    json_string("z")), -1);
    cr_assert_null(sx_state_extra(st, "contacts", seven, "context"));
    cr_assert_eq(sx_state_put_extra(st, "contacts", seven, "page", NULL), 0);
    cr_assert_null(sx_state_extra(st, "contacts", seven, "page"));
    json_decref(seven);
    sx_state_free(st);
}

Test(state, clearing_a_stream_drops_bookmarks_but_keeps_the_last_full_sync)
{
    sx_state *st = sx_state_new();
    json_t *seven = ctx_list("7");
    sx_state_set_bookmark(st, "contacts", seven, "insert_date", "2024");
    sx_state_set_bookmark(st, "contacts", NULL, "insert_date", "2023");
    cr_assert_eq(sx_state_set_last_full_sync(st, "contacts", 1717200000000LL), 0);
    sx_state_set_bookmark(st, "teams", NULL, "code", "9");
    sx_state_clear_stream(st, "contacts");
    cr_assert_null(sx_state_bookmark(st, "contacts", seven));
    cr_assert_null(sx_state_bookmark(st, "contacts", NULL));
    cr_assert_eq(sx_state_last_full_sync(st, "contacts"), 1717200000000LL);
    cr_assert_str_eq(sx_state_bookmark(st, "teams", NULL), "9");
    /* The partition can come back after the reset. */
    sx_state_set_bookmark(st, "contacts", seven, "insert_date", "2025");
    cr_assert_str_eq(sx_state_bookmark(st, "contacts", seven), "2025");
    cr_assert_eq(sx_state_last_full_sync(st, "teams"), 0);
    json_decref(seven);
    sx_state_free(st);
}

Test(state, copies_are_independent)
{
    sx_state *st = sx_state_new();
    json_t *seven = ctx_list("7");
    sx_state_set_bookmark(st, "contacts", seven, "insert_date", "2024");
    sx_state *copy = sx_state_copy(st);
    cr_assert_not_null(copy);
    sx_state_set_bookmark(copy, "contacts", seven, NULL, "2025");
    cr_assert_str_eq(sx_state_bookmark(st, "contacts", seven), "2024");
    cr_assert_str_eq(sx_state_bookmark(copy, "contacts", seven), "2025");
    json_decref(seven);
    sx_state_free(copy);
    sx_state_free(st);
}

/* --- atomic saves --- */

Test(state, save_into_a_missing_directory_fails_and_writes_nothing)
{
    sx_state *st = sx_state_new();
    char *path = sxt_strf("%s/missing/state.json", dir);
    cr_assert_eq(sx_state_save_file(st, path, &err), -1);
    cr_assert_eq(err.exit_code, SX_EXIT_FAILURE);
    expect_contains(err.msg, "cannot write '");
    expect_contains(err.msg, "missing/state.json'");
    sx_state_free(st);
    free(path);
}

Test(state, failed_save_keeps_the_last_good_state)
{
    char *path = sxt_strf("%s/state.json", dir);
    sx_state *st = sx_state_new();
    sx_state_set_bookmark(st, "teams", NULL, "code", "1");
    cr_assert_eq(sx_state_save_file(st, path, &err), 0, "%s", err.msg);
    char *good = sxt_read_file(path, NULL);

    /* A much larger state that the file-size limit cuts off half-way. */
    for (int i = 0; i < 200; i++) {
        char code[16];
        snprintf(code, sizeof code, "%d", i);
        json_t *ctx = ctx_list(code);
        sx_state_set_bookmark(st, "contacts", ctx, "insert_date", "2024-01-01 00:00:00");
        json_decref(ctx);
    }
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit lim = {(rlim_t)strlen(good) + 10, (rlim_t)strlen(good) + 10};
        setrlimit(RLIMIT_FSIZE, &lim);
        sx_error cerr = {0};
        int rc = sx_state_save_file(st, path, &cerr);
        _exit(rc == -1 && strstr(cerr.msg, "File too large") ? 0 : 1);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the save did not fail as expected");
    char *after = sxt_read_file(path, NULL);
    cr_assert_str_eq(after, good);
    sx_state *back = sx_state_load_file(path, &err);
    cr_assert_not_null(back, "%s", err.msg);
    cr_assert_str_eq(sx_state_bookmark(back, "teams", NULL), "1");
    sx_state_free(back);
    free(after);
    free(good);
    sx_state_free(st);
    free(path);
}
