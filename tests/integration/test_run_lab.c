/*
 * The runner with the lab streams: parents read once and shared, partition
 * bookmarks, unsorted streams, FULL_TABLE and the additional full sync, and
 * streams that fail, crash or misbehave without harming the others.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "siphon_cli.h"
#include "singer_check.h"

static char *tmp;
static char *pp;

static void setup(void)
{
    tmp = sxt_tmpdir("lab");
    pp = sxt_strf("%s:%s", sxt_plugins_sinks(), sxt_plugins_lab());
}

static void teardown(void)
{
    sxt_rmtree(tmp);
    free(tmp);
    free(pp);
}

TestSuite(run_lab, .init = setup, .fini = teardown);

static char *config(const char *extra)
{
    char *path = sxt_strf("%s/config.json", tmp);
    char *json = sxt_strf("{\"source\":\"lab\"%s%s}", extra ? "," : "", extra ? extra : "");
    cr_assert_eq(sxt_write_file(path, json), 0);
    free(json);
    return path;
}

static sxt_result run_select(const char *cfg, const char *select, const char *const env[])
{
    return sxt_siphon(pp, env, 30, "run", "-c", cfg, "--select", select, "-q", NULL);
}

static json_t *bookmarks(const sxt_singer *s, const char *stream)
{
    return json_object_get(json_object_get(s->last_state, "bookmarks"), stream);
}

static void parse(const sxt_result *r, sxt_singer *s)
{
    char why[512];
    cr_assert_eq(sxt_singer_check(r->out, s, why, sizeof why), 0, "%s\n%s", why, r->err);
}

Test(run_lab, child_partitions_carry_parent_codes_and_own_bookmarks)
{
    char *cfg = config("\"lab_parents\":3,\"lab_children\":4");
    sxt_result r = run_select(cfg, "child", NULL);
    cr_assert(r.exited && r.status == 0, "%s", r.err);
    sxt_singer s;
    parse(&r, &s);
    cr_assert_null(json_object_get(s.records_by_stream, "parent"),
                   "an unselected parent is read but not written");
    json_t *child = json_object_get(s.records_by_stream, "child");
    cr_assert_eq(json_array_size(child), 12);
    json_t *parts = json_object_get(bookmarks(&s, "child"), "partitions");
    cr_assert_eq(json_array_size(parts), 3);
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p) {
        cr_assert(json_is_integer(json_object_get(json_object_get(p, "context"), "parent_id")));
        cr_assert_str_eq(json_string_value(json_object_get(p, "replication_key_value")),
                         "0000000003");
    }
    sxt_singer_free(&s);
    sxt_result_free(&r);
    free(cfg);
}

Test(run_lab, a_selected_parent_is_served_from_the_shared_read)
{
    char *cfg = config("\"lab_parents\":2,\"lab_children\":1");
    sxt_result r = run_select(cfg, "parent,child", NULL);
    cr_assert(r.exited && r.status == 0, "%s", r.err);
    sxt_singer s;
    parse(&r, &s);
    cr_assert_eq(json_array_size(json_object_get(s.records_by_stream, "parent")), 2);
    cr_assert_eq(json_array_size(json_object_get(s.records_by_stream, "child")), 2);
    sxt_singer_free(&s);
    sxt_result_free(&r);
    free(cfg);
}

Test(run_lab, an_unsorted_stream_commits_its_bookmark_only_at_the_end)
{
    char *cfg = config("\"lab_records\":10,\"lab_page\":2");
    sxt_result r = run_select(cfg, "unsorted", NULL);
    cr_assert(r.exited && r.status == 0, "%s", r.err);
    sxt_singer s;
    parse(&r, &s);
    /* values: 1000, 1, 998, 3, ...: the highest comes first, so a bookmark
     * taken at a checkpoint would skip nothing only by luck; the host must
     * wait for the end and then take the maximum */
    cr_assert_str_eq(json_string_value(json_object_get(bookmarks(&s, "unsorted"),
                                                       "replication_key_value")),
                     "0000001000");
    sxt_singer_free(&s);
    sxt_result_free(&r);
    free(cfg);
}

Test(run_lab, a_failing_stream_fails_alone_and_the_others_commit)
{
    char *cfg = config("\"lab_records\":7");
    const char *env[] = {"LAB_SECRET=correct-horse-battery", NULL};
    sxt_result r = run_select(cfg, "steady,failing", env);
    cr_assert(r.exited && r.status == 5, "expected exit 5 (partial), got %d: %s", r.status, r.err);
    sxt_singer s;
    parse(&r, &s);
    cr_assert_eq(json_array_size(json_object_get(s.records_by_stream, "steady")), 7);
    cr_assert_str_eq(json_string_value(json_object_get(bookmarks(&s, "steady"),
                                                       "replication_key_value")),
                     "0000000006");
    cr_assert_not_null(strstr(r.err, "error 999"), "%s", r.err);
    cr_assert_null(strstr(r.err, "correct-horse-battery"), "the secret leaked: %s", r.err);
    cr_assert_null(strstr(r.out, "correct-horse-battery"));
    cr_assert_not_null(strstr(r.err, "********"));
    sxt_singer_free(&s);
    sxt_result_free(&r);
    free(cfg);
}

Test(run_lab, a_segfaulting_plugin_is_named_and_leaves_the_state_file_sound)
{
    char *state = sxt_strf("%s/state.json", tmp);
    char *extra = sxt_strf("\"lab_records\":3,\"state_path\":\"%s\"", state);
    char *cfg = config(extra);
    sxt_result r = run_select(cfg, "crashing", NULL);
    cr_assert(r.exited && r.status == 6, "expected exit 6, got exited=%d status=%d signal=%d: %s",
              r.exited, r.status, r.signal, r.err);
    cr_assert_not_null(strstr(r.err, "lab-streams"), "%s", r.err);
    cr_assert_not_null(strstr(r.err, "SIGSEGV"), "%s", r.err);
    char *text = sxt_read_file(state, NULL);
    if (text != NULL) {
        json_error_t e;
        json_t *st = json_loads(text, 0, &e);
        cr_assert_not_null(st, "the state file is corrupt: %s", e.text);
        json_decref(st);
    }
    free(text);
    sxt_result_free(&r);
    free(cfg);
    free(extra);
    free(state);
}

Test(run_lab, an_aborting_plugin_is_named)
{
    char *cfg = config("\"lab_records\":2");
    sxt_result r = run_select(cfg, "aborting", NULL);
    cr_assert(r.exited && r.status == 6, "expected exit 6, got %d: %s", r.status, r.err);
    cr_assert_not_null(strstr(r.err, "lab-streams"), "%s", r.err);
    cr_assert_not_null(strstr(r.err, "SIGABRT"), "%s", r.err);
    sxt_result_free(&r);
    free(cfg);
}

Test(run_lab, records_for_a_stream_the_plugin_does_not_own_are_refused)
{
    char *cfg = config("\"lab_records\":4");
    sxt_result r = run_select(cfg, "steady,foreign", NULL);
    cr_assert(r.exited && r.status == 5, "expected exit 5, got %d: %s", r.status, r.err);
    sxt_singer s;
    parse(&r, &s);
    json_t *steady = json_object_get(s.records_by_stream, "steady");
    cr_assert_eq(json_array_size(steady), 4);
    size_t i;
    json_t *rec;
    json_array_foreach(steady, i, rec)
        cr_assert_str_neq(json_string_value(json_object_get(rec, "seq")), "x");
    cr_assert_not_null(strstr(r.err, "does not own"), "%s", r.err);
    sxt_singer_free(&s);
    sxt_result_free(&r);
    free(cfg);
}

Test(run_lab, a_record_that_is_not_an_object_fails_its_stream_with_a_message)
{
    char *cfg = config(NULL);
    sxt_result r = run_select(cfg, "garbage", NULL);
    cr_assert(r.exited && r.status == 1, "expected exit 1, got %d: %s", r.status, r.err);
    cr_assert_not_null(strstr(r.err, "not a JSON object"), "%s", r.err);
    sxt_result_free(&r);
    free(cfg);
}

Test(run_lab, requests_sent_ahead_follow_their_rules_and_a_forgotten_one_is_cancelled)
{
    /* the request left started never gets an answer and would retry for
     * minutes: the run ends well inside sxt_siphon's limit only because the
     * host cancels it when the read returns */
    char *cfg = config("\"http_max_attempts\":100");
    sxt_result r = run_select(cfg, "ahead", NULL);
    cr_assert(r.exited && r.status == 0, "expected exit 0, got %d: %s", r.status, r.err);
    sxt_singer s;
    parse(&r, &s);
    json_t *records = json_object_get(s.records_by_stream, "ahead");
    cr_assert_eq(json_array_size(records), 3, "one record per rule kept\n%s", r.out);
    sxt_singer_free(&s);
    sxt_result_free(&r);
    free(cfg);
}

Test(run_lab, full_table_activates_a_version_and_versions_every_record)
{
    char *cfg = config("\"lab_records\":3,\"streams\":{\"steady\":{\"replication_method\":"
                       "\"FULL_TABLE\"}}");
    sxt_result r = run_select(cfg, "steady", NULL);
    cr_assert(r.exited && r.status == 0, "%s", r.err);
    sxt_singer s;
    parse(&r, &s);
    cr_assert_eq(s.activates, 2, "ACTIVATE_VERSION at the start and when complete");
    cr_assert_eq(sxt_count(r.out, "\"version\":"), 3 + 2);
    sxt_singer_free(&s);
    sxt_result_free(&r);
    free(cfg);
}

Test(run_lab, an_additional_full_sync_runs_when_due_and_is_remembered)
{
    char *state = sxt_strf("%s/state.json", tmp);
    char *extra = sxt_strf("\"lab_records\":3,\"state_path\":\"%s\",\"streams\":{\"steady\":"
                           "{\"full_sync_interval_days\":1}}", state);
    char *cfg = config(extra);
    sxt_result r = run_select(cfg, "steady", NULL);
    cr_assert(r.exited && r.status == 0, "%s", r.err);
    cr_assert_eq(sxt_count(r.out, "ACTIVATE_VERSION"), 2, "the first run is a full sync");
    sxt_result_free(&r);
    char *text = sxt_read_file(state, NULL);
    cr_assert_not_null(text);
    json_t *st = json_loads(text, 0, NULL);
    json_t *steady = json_object_get(json_object_get(st, "bookmarks"), "steady");
    cr_assert(json_is_integer(json_object_get(steady, "last_full_sync_ms")), "%s", text);
    cr_assert_str_eq(json_string_value(json_object_get(steady, "replication_key_value")),
                     "0000000002");
    json_decref(st);
    free(text);

    r = run_select(cfg, "steady", NULL);
    cr_assert(r.exited && r.status == 0, "%s", r.err);
    cr_assert_eq(sxt_count(r.out, "ACTIVATE_VERSION"), 0, "not due again within a day");
    cr_assert_eq(sxt_count(r.out, "\"type\":\"RECORD\""), 1, "incremental from the bookmark");
    sxt_result_free(&r);
    free(cfg);
    free(extra);
    free(state);
}
