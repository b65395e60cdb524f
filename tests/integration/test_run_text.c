/*
 * Records emitted as text (emit_raw) through the real host into real sinks:
 * the text path gives the sink exactly what the tree path would, notes drift
 * and bookmarks the same way, splices the partition's keys in, refuses text
 * that is not one object, and steps aside (to the tree path) whenever
 * something between stream and sink needs a tree.
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
    tmp = sxt_tmpdir("text");
    pp = sxt_strf("%s:%s", sxt_plugins_sinks(), sxt_plugins_lab());
}

static void teardown(void)
{
    sxt_rmtree(tmp);
    free(tmp);
    free(pp);
}

TestSuite(run_text, .init = setup, .fini = teardown);

/* Writes a config for the textlab source with records (a JSON array text)
 * and extra members; returns its path. */
static char *config(const char *name, const char *records, const char *extra)
{
    char *path = sxt_strf("%s/%s.json", tmp, name);
    char *json = sxt_strf("{\"source\":\"textlab\",\"text_records\":%s%s%s}", records,
                          extra ? "," : "", extra ? extra : "");
    cr_assert_eq(sxt_write_file(path, json), 0);
    free(json);
    return path;
}

/* The records as the array's elements, each a JSON string holding the text. */
static char *as_texts(const char *const *records, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(records[i]));
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return text;
}

/* The same records as trees. */
static char *as_trees(const char *const *records, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *tree = json_loads(records[i], JSON_ALLOW_NUL, NULL);
        cr_assert_not_null(tree, "test record %zu is not JSON", i);
        json_array_append_new(arr, tree);
    }
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return text;
}

static sxt_result run(const char *cfg, const char *select, const char *sink)
{
    return sxt_siphon(pp, NULL, 60, "run", "-c", cfg, "--select", select, "--sink", sink, "-q",
                      NULL);
}

static void assert_ok(const sxt_result *r)
{
    cr_assert(r->exited && r->status == 0, "siphon failed (%d): %s", r->status, r->err);
}

/* The record part of every RECORD line of a stream, as written. */
static json_t *record_texts(const char *out, const char *stream)
{
    json_t *texts = json_array();
    char *head = sxt_strf("{\"type\":\"RECORD\",\"stream\":\"%s\",\"record\":", stream);
    for (const char *line = out; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        if (strncmp(line, head, strlen(head)) == 0) {
            const char *rec = line + strlen(head);
            const char *tail = strstr(rec, ",\"time_extracted\":\"");
            cr_assert(tail != NULL && tail < line + n, "no time_extracted in %.*s", (int)n, line);
            json_array_append_new(texts, json_stringn(rec, (size_t)(tail - rec)));
        }
        line = end ? end + 1 : NULL;
    }
    free(head);
    return texts;
}

static void assert_texts(const json_t *got, const char *const *want, size_t n)
{
    cr_assert_eq(json_array_size(got), n, "expected %zu records, got %zu", n,
                 json_array_size(got));
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(json_string_value(json_array_get(got, i)), want[i], "record %zu", i);
}

static const char *const canonical[] = {
    "{\"id\":1,\"seq\":\"0001\",\"note\":\"plain\"}",
    "{\"id\":2,\"seq\":\"0002\",\"note\":\"S\xc3\xa3o Jo\xc3\xa3o \xf0\x9f\x8c\xbb\",\"n\":2.5}",
    ("{\"id\":3,\"seq\":\"0003\",\"note\":\"quote \\\" backslash \\\\ tab \\t newline \\n "
     "bell \\u0007\",\"n\":-7}"),
    "{\"id\":4,\"seq\":\"0004\",\"note\":null,\"n\":12}",
    "{}",
    "{\"id\":6,\"seq\":\"0006\",\"nested\":{\"a\":[1,{\"b\":null}],\"c\":\"}\"},\"note\":\"/\"}",
};
#define N_CANONICAL (sizeof canonical / sizeof canonical[0])

Test(run_text, text_and_tree_records_reach_the_stdout_sink_byte_for_byte_alike)
{
    char *texts = as_texts(canonical, N_CANONICAL), *trees = as_trees(canonical, N_CANONICAL);
    char *cfg_text = config("text", texts, NULL), *cfg_tree = config("tree", trees, NULL);
    sxt_result a = run(cfg_text, "notes", "stdout"), b = run(cfg_tree, "notes", "stdout");
    assert_ok(&a);
    assert_ok(&b);
    json_t *ta = record_texts(a.out, "notes"), *tb = record_texts(b.out, "notes");
    assert_texts(ta, canonical, N_CANONICAL);
    assert_texts(tb, canonical, N_CANONICAL);
    sxt_singer sa, sb;
    char why[512];
    cr_assert_eq(sxt_singer_check(a.out, &sa, why, sizeof why), 0, "%s", why);
    cr_assert_eq(sxt_singer_check(b.out, &sb, why, sizeof why), 0, "%s", why);
    cr_assert(json_equal(sa.last_state, sb.last_state), "the states differ");
    sxt_singer_free(&sa);
    sxt_singer_free(&sb);
    json_decref(ta);
    json_decref(tb);
    sxt_result_free(&a);
    sxt_result_free(&b);
    free(texts);
    free(trees);
    free(cfg_text);
    free(cfg_tree);
}

/* Whether text starts with an RFC 3339 stamp with milliseconds. */
static int is_stamp(const char *t)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (size_t i = 0; i < sizeof shape - 1; i++) {
        if (t[i] == '\0')
            return 0;
        if (shape[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != shape[i])
            return 0;
    }
    return 1;
}

/* A file's text with every time stamp (they differ from run to run) cut out. */
static char *file_without_stamps(const char *path)
{
    char *text = sxt_read_file(path, NULL);
    cr_assert_not_null(text, "no file %s", path);
    char *w = text;
    for (const char *r = text; *r;) {
        if (is_stamp(r))
            r += 24;
        else
            *w++ = *r++;
    }
    *w = '\0';
    return text;
}

static void assert_file_sink_alike(const char *format)
{
    char *texts = as_texts(canonical, N_CANONICAL), *trees = as_trees(canonical, N_CANONICAL);
    char *sink_a = sxt_strf("\"sink\":{\"type\":\"file\",\"path\":\"%s/a\",\"format\":\"%s\"}", tmp,
                            format);
    char *sink_b = sxt_strf("\"sink\":{\"type\":\"file\",\"path\":\"%s/b\",\"format\":\"%s\"}", tmp,
                            format);
    char *cfg_text = config("text", texts, sink_a), *cfg_tree = config("tree", trees, sink_b);
    sxt_result a = sxt_siphon(pp, NULL, 60, "run", "-c", cfg_text, "--select", "notes", "-q", NULL);
    sxt_result b = sxt_siphon(pp, NULL, 60, "run", "-c", cfg_tree, "--select", "notes", "-q", NULL);
    assert_ok(&a);
    assert_ok(&b);
    char *pa = sxt_strf("%s/a/notes.%s", tmp, format), *pb = sxt_strf("%s/b/notes.%s", tmp, format);
    char *fa = file_without_stamps(pa), *fb = file_without_stamps(pb);
    cr_assert_str_eq(fa, fb, "the %s files differ", format);
    if (strcmp(format, "jsonl") == 0)
        cr_assert_not_null(strstr(fa, "{\"id\":1,\"seq\":\"0001\",\"note\":\"plain\","
                                      "\"_sdc_extracted_at\":\"\"}\n"),
                           "the JSONL line is not the record plus its stamp: %s", fa);
    free(fa);
    free(fb);
    free(pa);
    free(pb);
    sxt_result_free(&a);
    sxt_result_free(&b);
    free(sink_a);
    free(sink_b);
    free(texts);
    free(trees);
    free(cfg_text);
    free(cfg_tree);
}

Test(run_text, text_and_tree_records_make_the_same_jsonl_file)
{
    assert_file_sink_alike("jsonl");
}

Test(run_text, text_records_make_the_same_csv_file_as_trees)
{
    assert_file_sink_alike("csv");
}

Test(run_text, numbers_keep_their_spelling_only_when_the_text_goes_through)
{
    const char *recs = "[\"{\\\"id\\\":1,\\\"seq\\\":\\\"1\\\",\\\"n\\\":1.50}\"]";
    char *cfg = config("plain", recs, NULL);
    sxt_result r = run(cfg, "notes", "stdout");
    assert_ok(&r);
    json_t *got = record_texts(r.out, "notes");
    const char *text_path[] = {"{\"id\":1,\"seq\":\"1\",\"n\":1.50}"};
    assert_texts(got, text_path, 1);
    json_decref(got);
    sxt_result_free(&r);
    free(cfg);

    /* a stream map needs the tree: the number comes out as jansson writes it */
    cfg = config("mapped", recs, "\"stream_maps\":{\"notes\":{\"note\":null}}");
    r = run(cfg, "notes", "stdout");
    assert_ok(&r);
    got = record_texts(r.out, "notes");
    const char *tree_path[] = {"{\"id\":1,\"seq\":\"1\",\"n\":1.5}"};
    assert_texts(got, tree_path, 1);
    json_decref(got);
    sxt_result_free(&r);
    free(cfg);

    /* so does a catalog that deselects a property */
    char *cat = sxt_strf("%s/catalog.json", tmp);
    cr_assert_eq(sxt_write_file(cat,
        "{\"streams\":[{\"tap_stream_id\":\"notes\",\"schema\":{\"type\":\"object\",\"properties\":"
        "{\"id\":{\"type\":\"integer\"},\"seq\":{\"type\":\"string\"},\"n\":{\"type\":\"number\"},"
        "\"note\":{\"type\":\"string\"}}},\"metadata\":[{\"breadcrumb\":[],\"metadata\":"
        "{\"selected\":true}},{\"breadcrumb\":[\"properties\",\"note\"],\"metadata\":"
        "{\"selected\":false}}]}]}"), 0);
    cfg = config("deselected", recs, NULL);
    r = sxt_siphon(pp, NULL, 60, "run", "-c", cfg, "--catalog", cat, "--sink", "stdout", "-q",
                   NULL);
    assert_ok(&r);
    got = record_texts(r.out, "notes");
    assert_texts(got, tree_path, 1);
    json_decref(got);
    sxt_result_free(&r);
    free(cfg);
    free(cat);
}

Test(run_text, drift_is_warned_once_per_undeclared_key)
{
    const char *const recs[] = {
        "{\"id\":1,\"seq\":\"1\",\"extra_a\":1}",
        "{\"id\":2,\"seq\":\"2\",\"extra_a\":2,\"extra_b\":\"x\"}",
        "{\"id\":3,\"seq\":\"3\"}",
        "{\"id\":4,\"seq\":\"4\",\"extra_b\":\"y\",\"extra_a\":3}",
        "{\"id\":5,\"seq\":\"5\",\"extra_a\":4}",
    };
    char *texts = as_texts(recs, 5);
    char *cfg = config("drift", texts, NULL);
    sxt_result r = sxt_siphon(pp, NULL, 60, "run", "-c", cfg, "--select", "notes", "--sink",
                              "stdout", NULL);
    assert_ok(&r);
    cr_assert_eq(sxt_count(r.err, "the key 'extra_a'"), 1, "%s", r.err);
    cr_assert_eq(sxt_count(r.err, "the key 'extra_b'"), 1, "%s", r.err);
    cr_assert_eq(sxt_count(r.err, "which the schema does not declare"), 2, "%s", r.err);
    json_t *got = record_texts(r.out, "notes");
    assert_texts(got, recs, 5);
    json_decref(got);
    sxt_result_free(&r);
    free(texts);
    free(cfg);
}

Test(run_text, bookmarks_follow_the_highest_value_of_text_records)
{
    const char *const recs[] = {
        "{\"id\":1,\"seq\":\"0002\"}",
        "{\"id\":2,\"seq\":\"0005\"}",
        "{\"seq\":\"0009\",\"id\":3}",
        "{\"id\":4,\"seq\":\"0010\"}",
        "{\"id\":5,\"seq\":null}",
    };
    char *texts = as_texts(recs, 5);
    char *cfg = config("bookmarks", texts, "\"text_checkpoint\":2");
    sxt_result r = run(cfg, "notes", "stdout");
    assert_ok(&r);
    sxt_singer s;
    char why[512];
    cr_assert_eq(sxt_singer_check(r.out, &s, why, sizeof why), 0, "%s", why);
    const json_t *bm = json_object_get(json_object_get(s.last_state, "bookmarks"), "notes");
    cr_assert_str_eq(json_string_value(json_object_get(bm, "replication_key_value")), "0010");
    sxt_singer_free(&s);
    sxt_result_free(&r);
    free(texts);
    free(cfg);
}

Test(run_text, partition_keys_are_spliced_into_text_records_that_lack_them)
{
    const char *const recs[] = {
        "{\"id\":1,\"seq\":\"1\"}",
        "{}",
        "{\"id\":2,\"seq\":\"2\",\"list_code\":\"own\"}",
        " {\n \"id\" : 3 ,\t\"seq\":\"3\" }\r\n",
    };
    char *texts = as_texts(recs, 4);
    char *cfg = config("splice", texts, "\"text_lists\":[{\"list_code\":\"A\"}]");
    sxt_result r = run(cfg, "list_notes", "stdout");
    assert_ok(&r);
    json_t *got = record_texts(r.out, "list_notes");
    const char *want[] = {
        "{\"id\":1,\"seq\":\"1\",\"list_code\":\"A\"}",
        "{\"list_code\":\"A\"}",
        "{\"id\":2,\"seq\":\"2\",\"list_code\":\"own\"}",
        "{\"id\":3,\"seq\":\"3\",\"list_code\":\"A\"}",
    };
    assert_texts(got, want, 4);
    sxt_singer s;
    char why[512];
    cr_assert_eq(sxt_singer_check(r.out, &s, why, sizeof why), 0, "%s", why);
    json_t *parts = json_object_get(
        json_object_get(json_object_get(s.last_state, "bookmarks"), "list_notes"), "partitions");
    cr_assert_eq(json_array_size(parts), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(parts, 0),
                                                       "replication_key_value")), "3");
    sxt_singer_free(&s);
    json_decref(got);
    sxt_result_free(&r);
    free(texts);
    free(cfg);
}

/* Each case, emitted after a good record (with extra config members), fails
 * the stream with a message naming the byte; the good record before it
 * still reaches the sink. */
static void assert_each_fails_its_stream(const char *const *cases, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++) {
        const char *const recs[] = {"{\"id\":1,\"seq\":\"1\"}", cases[i]};
        char *texts = as_texts(recs, 2);
        char *cfg = config("bad", texts, extra);
        sxt_result r = sxt_siphon(pp, NULL, 60, "run", "-c", cfg, "--select", "notes", "--sink",
                                  "stdout", NULL);
        cr_assert(r.exited && r.status != 0, "case %zu: siphon accepted <%s>", i, cases[i]);
        cr_assert_not_null(strstr(r.err, "plugin 'text-streams' emitted record text that is not "
                                         "one JSON object"), "case %zu: %s", i, r.err);
        cr_assert_not_null(strstr(r.err, "byte"), "case %zu names no byte: %s", i, r.err);
        json_t *got = record_texts(r.out, "notes");
        assert_texts(got, recs, 1);
        json_decref(got);
        sxt_result_free(&r);
        free(texts);
        free(cfg);
    }
}

Test(run_text, text_that_is_not_one_object_fails_the_stream_and_says_where)
{
    const char *const cases[] = {"{\"id\":1,", "[1,2]", "{\"id\":1}{\"id\":2}",
                                 "{\"note\":\"a\x01b\"}", "{\"id\":12345678901234567890}"};
    assert_each_fails_its_stream(cases, sizeof cases / sizeof cases[0], NULL);
}

Test(run_text, text_and_tree_records_mix_in_one_stream_in_order)
{
    char *cfg = config("mixed",
                       "[\"{\\\"id\\\":1,\\\"seq\\\":\\\"1\\\"}\",{\"id\":2,\"seq\":\"2\"},"
                       "\"{\\\"id\\\":3,\\\"seq\\\":\\\"3\\\"}\",{\"id\":4,\"seq\":\"4\"},"
                       "{\"id\":5,\"seq\":\"5\"},\"{\\\"id\\\":6,\\\"seq\\\":\\\"6\\\"}\"]",
                       "\"text_checkpoint\":3");
    sxt_result r = run(cfg, "notes", "stdout");
    assert_ok(&r);
    json_t *got = record_texts(r.out, "notes");
    const char *want[] = {
        "{\"id\":1,\"seq\":\"1\"}", "{\"id\":2,\"seq\":\"2\"}", "{\"id\":3,\"seq\":\"3\"}",
        "{\"id\":4,\"seq\":\"4\"}", "{\"id\":5,\"seq\":\"5\"}", "{\"id\":6,\"seq\":\"6\"}",
    };
    assert_texts(got, want, 6);
    json_decref(got);
    sxt_result_free(&r);
    free(cfg);
}

Test(run_text, escaped_or_repeated_keys_take_the_tree_path)
{
    const char *const recs[] = {
        "{\"i\\u0064\":5,\"seq\":\"1\"}",
        "{\"id\":1,\"id\":2,\"seq\":\"2\"}",
        "{\"id\":7,\"seq\":\"\\u0033\"}",
    };
    char *texts = as_texts(recs, 3);
    char *cfg = config("escaped", texts, "\"text_lists\":[{\"list_code\":\"A\"}]");
    sxt_result r = run(cfg, "list_notes", "stdout");
    assert_ok(&r);
    json_t *got = record_texts(r.out, "list_notes");
    const char *want[] = {
        "{\"id\":5,\"seq\":\"1\",\"list_code\":\"A\"}",
        "{\"id\":2,\"seq\":\"2\",\"list_code\":\"A\"}",
        "{\"id\":7,\"seq\":\"3\",\"list_code\":\"A\"}",
    };
    assert_texts(got, want, 3);
    sxt_singer s;
    char why[512];
    cr_assert_eq(sxt_singer_check(r.out, &s, why, sizeof why), 0, "%s", why);
    json_t *parts = json_object_get(
        json_object_get(json_object_get(s.last_state, "bookmarks"), "list_notes"), "partitions");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(parts, 0),
                                                       "replication_key_value")), "3");
    sxt_singer_free(&s);
    json_decref(got);
    sxt_result_free(&r);
    free(texts);
    free(cfg);
}

/* emit_raw_checked, without a table (the host finds the members) and with
 * the table a scan found: the host must write exactly what emit_raw writes. */
Test(run_text, checked_text_records_are_written_as_emit_raw_writes_them)
{
    const char *const recs[] = {
        canonical[0], canonical[1], canonical[2], canonical[3], canonical[4], canonical[5],
        " {\n \"id\" : 7 ,\t\"seq\":\"7\", \"nested\": [ 1, { \"x\" : \"a b\" } ] }\r\n",
        "{\"i\\u0064\":8,\"seq\":\"8\"}",
        "{\"id\":9,\"id\":10,\"seq\":\"9\"}",
        "{\"id\":11,\"seq\":\"\\u0031\\u0031\",\"list_code\":\"own\"}",
        "{\"id\":12,\"seq\":\"12\",\"note\":\"ends in a quote \\\"\",\"n\":-0.5e1}",
    };
    size_t n = sizeof recs / sizeof recs[0];
    char *texts = as_texts(recs, n);
    char *cfg_raw = config("raw", texts, "\"text_lists\":[{\"list_code\":\"A\"}]");
    json_t *ta = NULL;
    json_t *state_raw = NULL;
    sxt_result a = run(cfg_raw, "list_notes", "stdout");
    assert_ok(&a);
    ta = record_texts(a.out, "list_notes");
    cr_assert_eq(json_array_size(ta), n);
    sxt_singer sa;
    char why[512];
    cr_assert_eq(sxt_singer_check(a.out, &sa, why, sizeof why), 0, "%s", why);
    state_raw = json_incref(sa.last_state);
    sxt_singer_free(&sa);
    const char *modes[] = {"split", "table"};
    for (size_t k = 0; k < 2; k++) {
        char *extra = sxt_strf("\"text_lists\":[{\"list_code\":\"A\"}],\"text_checked\":\"%s\"",
                               modes[k]);
        char *cfg = config(modes[k], texts, extra);
        sxt_result b = run(cfg, "list_notes", "stdout");
        assert_ok(&b);
        json_t *tb = record_texts(b.out, "list_notes");
        for (size_t i = 0; i < n; i++)
            cr_assert_str_eq(json_string_value(json_array_get(tb, i)),
                             json_string_value(json_array_get(ta, i)), "%s: record %zu",
                             modes[k], i);
        cr_assert_eq(json_array_size(tb), n, "%s", modes[k]);
        /* spot checks, so two equal mistakes cannot pass */
        cr_assert_str_eq(json_string_value(json_array_get(tb, 6)),
                         "{\"id\":7,\"seq\":\"7\",\"nested\":[1,{\"x\":\"a b\"}],"
                         "\"list_code\":\"A\"}", "%s", modes[k]);
        cr_assert_str_eq(json_string_value(json_array_get(tb, 7)),
                         "{\"id\":8,\"seq\":\"8\",\"list_code\":\"A\"}", "%s", modes[k]);
        sxt_singer sb;
        cr_assert_eq(sxt_singer_check(b.out, &sb, why, sizeof why), 0, "%s", why);
        cr_assert(json_equal(state_raw, sb.last_state), "%s: the states differ", modes[k]);
        sxt_singer_free(&sb);
        json_decref(tb);
        sxt_result_free(&b);
        free(extra);
        free(cfg);
    }
    json_decref(state_raw);
    json_decref(ta);
    sxt_result_free(&a);
    free(texts);
    free(cfg_raw);
}

/* A plugin that breaks its promise gets an error naming the byte, not a
 * crash, and the records before stay written. */
Test(run_text, checked_text_with_broken_structure_fails_the_stream_and_says_where)
{
    const char *const cases[] = {"{\"id\":1,", "[1,2]", "{\"id\":1}{\"id\":2}", "{\"id\":\"1}",
                                 "{\"id\":{\"a\":[1,2}", "{\"id\" 1}", "{\"id\":1 \"seq\":\"2\"}",
                                 "{id:1}", "", "   "};
    assert_each_fails_its_stream(cases, sizeof cases / sizeof cases[0],
                                 "\"text_checked\":\"split\"");
}

/* A member table that does not fit its text is refused before the host
 * reads through it. */
Test(run_text, a_member_table_that_does_not_fit_its_text_fails_the_stream)
{
    const char *const recs[] = {"{\"id\":1,\"seq\":\"1\"}", "{\"id\":2,\"seq\":\"2\"}"};
    char *texts = as_texts(recs, 2);
    char *cfg = config("bogus", texts, "\"text_checked\":\"bogus\"");
    sxt_result r = sxt_siphon(pp, NULL, 60, "run", "-c", cfg, "--select", "notes", "--sink",
                              "stdout", NULL);
    cr_assert(r.exited && r.status != 0, "siphon accepted a bogus table");
    cr_assert_not_null(strstr(r.err, "plugin 'text-streams' handed over a member table that does "
                                     "not fit its record text (entry 1 of 2"), "%s", r.err);
    json_t *got = record_texts(r.out, "notes");
    cr_assert_eq(json_array_size(got), 0);
    json_decref(got);
    sxt_result_free(&r);
    free(texts);
    free(cfg);
}
