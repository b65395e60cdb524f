/*
 * The host end to end with the synthetic example stream and the stdout sink:
 * the output is valid Singer, selection follows the catalog, and a run
 * resumes from the state the previous one printed.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "siphon_cli.h"
#include "singer_check.h"

static char *tmp;

static void setup(void)
{
    tmp = sxt_tmpdir("singer");
}

static void teardown(void)
{
    sxt_rmtree(tmp);
    free(tmp);
}

TestSuite(run_singer, .init = setup, .fini = teardown);

static char *plugin_path(void)
{
    return sxt_strf("%s:%s", sxt_plugins_sinks(), sxt_plugins_lab());
}

static char *write_config(const char *json)
{
    char *path = sxt_strf("%s/config.json", tmp);
    cr_assert_eq(sxt_write_file(path, json), 0);
    return path;
}

static void check_singer(const sxt_result *r, sxt_singer *s)
{
    char why[512];
    cr_assert(r->exited && r->status == 0, "siphon failed (%d): %s", r->status, r->err);
    cr_assert_eq(sxt_singer_check(r->out, s, why, sizeof why), 0, "%s", why);
}

Test(run_singer, synthetic_stream_output_is_valid_singer_with_state_last)
{
    char *cfg = write_config("{\"source\":\"example\",\"record_count\":1000,\"record_size\":64}");
    char *pp = plugin_path();
    sxt_result r = sxt_siphon(pp, NULL, 30, "run", "-c", cfg, "--sink", "stdout", NULL);
    sxt_singer s;
    check_singer(&r, &s);
    json_t *recs = json_object_get(s.records_by_stream, "synthetic");
    cr_assert_eq(json_array_size(recs), 1000);
    for (size_t i = 0; i < 1000; i++)
        cr_assert_eq(json_integer_value(json_object_get(json_array_get(recs, i), "id")),
                     (json_int_t)i);
    cr_assert_eq(s.schemas, 1);
    const char *bookmark = json_string_value(json_object_get(
        json_object_get(json_object_get(s.last_state, "bookmarks"), "synthetic"),
        "replication_key_value"));
    cr_assert_str_eq(bookmark, json_string_value(json_object_get(json_array_get(recs, 999),
                                                                  "updated_at")));
    cr_assert_not_null(strstr(r.err, "synthetic"), "the summary names the stream");
    sxt_singer_free(&s);
    sxt_result_free(&r);
    free(cfg);
    free(pp);
}

Test(run_singer, singer_tap_convention_selects_every_stream_without_a_catalog)
{
    char *cfg = write_config("{\"source\":\"example\",\"record_count\":25}");
    char *pp = plugin_path();
    sxt_result r = sxt_siphon(pp, NULL, 30, "--config", cfg, NULL);
    sxt_singer s;
    check_singer(&r, &s);
    cr_assert_eq(json_array_size(json_object_get(s.records_by_stream, "synthetic")), 25);
    sxt_singer_free(&s);
    sxt_result_free(&r);
    free(cfg);
    free(pp);
}

Test(run_singer, a_run_resumes_from_the_state_the_last_one_printed)
{
    char *cfg = write_config("{\"source\":\"example\",\"record_count\":100}");
    char *pp = plugin_path();
    sxt_result r = sxt_siphon(pp, NULL, 30, "--config", cfg, NULL);
    sxt_singer s;
    check_singer(&r, &s);
    char *state_path = sxt_strf("%s/state.json", tmp);
    char *state_text = json_dumps(s.last_state, 0);
    sxt_write_file(state_path, state_text);
    sxt_singer_free(&s);
    sxt_result_free(&r);

    char *cfg2 = write_config("{\"source\":\"example\",\"record_count\":150}");
    r = sxt_siphon(pp, NULL, 30, "--config", cfg2, "--state", state_path, NULL);
    check_singer(&r, &s);
    json_t *recs = json_object_get(s.records_by_stream, "synthetic");
    /* >= the bookmark: the boundary record 99 again, then 100..149 */
    cr_assert_eq(json_array_size(recs), 51);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(recs, 0), "id")), 99);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(recs, 50), "id")), 149);
    sxt_singer_free(&s);
    sxt_result_free(&r);
    free(state_text);
    free(state_path);
    free(cfg);
    free(cfg2);
    free(pp);
}

Test(run_singer, a_catalog_deselects_properties_and_discover_feeds_it)
{
    char *cfg = write_config("{\"source\":\"example\",\"record_count\":5}");
    char *pp = plugin_path();
    sxt_result d = sxt_siphon(pp, NULL, 30, "--config", cfg, "--discover", NULL);
    cr_assert(d.exited && d.status == 0, "%s", d.err);
    json_error_t e;
    json_t *catalog = json_loads(d.out, 0, &e);
    cr_assert_not_null(catalog, "discover output is not JSON: %s", e.text);
    json_t *entry = json_array_get(json_object_get(catalog, "streams"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(entry, "tap_stream_id")), "synthetic");
    /* deselect "payload" through its breadcrumb */
    json_array_append_new(json_object_get(entry, "metadata"),
                          json_pack("{s:[s,s], s:{s:b}}", "breadcrumb", "properties", "payload",
                                    "metadata", "selected", 0));
    char *cat_path = sxt_strf("%s/catalog.json", tmp);
    json_dump_file(catalog, cat_path, 0);
    json_decref(catalog);

    sxt_result r = sxt_siphon(pp, NULL, 30, "--config", cfg, "--catalog", cat_path, NULL);
    sxt_singer s;
    check_singer(&r, &s);
    json_t *recs = json_object_get(s.records_by_stream, "synthetic");
    cr_assert_eq(json_array_size(recs), 5);
    cr_assert_null(json_object_get(json_array_get(recs, 0), "payload"));
    cr_assert_not_null(json_object_get(json_array_get(recs, 0), "name"));
    sxt_singer_free(&s);
    sxt_result_free(&r);
    sxt_result_free(&d);
    free(cat_path);
    free(cfg);
    free(pp);
}
