/*
 * Stream maps through the whole host: the sink sees the alias, the mapped
 * schema and records, filtered rows never arrive, bookmarks still come from
 * the original records, and a map error fails the stream with a message
 * naming the stream and the field.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "siphon_cli.h"
#include "singer_check.h"

static char *tmp;
static char *pp;

static void setup(void)
{
    tmp = sxt_tmpdir("maps");
    pp = sxt_strf("%s:%s", sxt_plugins_sinks(), sxt_plugins_lab());
}

static void teardown(void)
{
    sxt_rmtree(tmp);
    free(tmp);
    free(pp);
}

TestSuite(run_maps, .init = setup, .fini = teardown);

static char *config(const char *json)
{
    char *path = sxt_strf("%s/config.json", tmp);
    cr_assert_eq(sxt_write_file(path, json), 0);
    return path;
}

Test(run_maps, the_sink_sees_the_alias_the_mapped_schema_and_only_kept_rows)
{
    char *cfg = config("{\"source\":\"example\",\"record_count\":10,\"record_size\":8,"
                       "\"stream_maps\":{\"synthetic\":{\"__alias__\":\"people\","
                       "\"name_hash\":\"sha256(name)\",\"name\":null,\"payload\":null,"
                       "\"__filter__\":\"id >= 4\"}}}");
    sxt_result r = sxt_siphon(pp, NULL, 30, "run", "-c", cfg, "-q", NULL);
    cr_assert(r.exited && r.status == 0, "%s", r.err);
    sxt_singer s;
    char why[512];
    cr_assert_eq(sxt_singer_check(r.out, &s, why, sizeof why), 0, "%s", why);
    cr_assert_null(json_object_get(s.records_by_stream, "synthetic"));
    json_t *people = json_object_get(s.records_by_stream, "people");
    cr_assert_eq(json_array_size(people), 6, "ids 4..9 pass the filter");
    json_t *first = json_array_get(people, 0);
    cr_assert_null(json_object_get(first, "name"));
    cr_assert_null(json_object_get(first, "payload"));
    /* sha256("record 4") */
    cr_assert_eq(strlen(json_string_value(json_object_get(first, "name_hash"))), 64);
    cr_assert_not_null(strstr(r.out, "\"name_hash\":{"), "the schema declares the new property");
    /* the bookmark is the stream's own, under its own name */
    const char *bookmark = json_string_value(json_object_get(json_object_get(
        json_object_get(s.last_state, "bookmarks"), "synthetic"), "replication_key_value"));
    cr_assert_str_eq(bookmark, "2024-01-01T00:00:09Z");
    sxt_singer_free(&s);
    sxt_result_free(&r);
    free(cfg);
}

Test(run_maps, a_misspelt_stream_or_function_is_a_config_error)
{
    char *cfg = config("{\"source\":\"example\",\"stream_maps\":{\"synthetc\":{\"x\":\"1\"}}}");
    sxt_result r = sxt_siphon(pp, NULL, 30, "run", "-c", cfg, "-q", NULL);
    cr_assert(r.exited && r.status == 3, "%d %s", r.status, r.err);
    cr_assert_not_null(strstr(r.err, "synthetic"), "did-you-mean: %s", r.err);
    sxt_result_free(&r);
    free(cfg);
    cfg = config("{\"source\":\"example\",\"stream_maps\":{\"synthetic\":{\"h\":\"sha265(name)\"}}}");
    r = sxt_siphon(pp, NULL, 30, "run", "-c", cfg, "-q", NULL);
    cr_assert(r.exited && r.status == 3, "%d %s", r.status, r.err);
    cr_assert_not_null(strstr(r.err, "field 'h'"), "%s", r.err);
    cr_assert_not_null(strstr(r.err, "sha256"), "%s", r.err);
    sxt_result_free(&r);
    free(cfg);
}

Test(run_maps, an_hmac_key_never_reaches_any_output)
{
    char *cfg = config("{\"source\":\"example\",\"record_count\":3,\"stream_maps\":{\"synthetic\":"
                       "{\"__secrets__\":{\"k\":\"a-very-private-hmac-key\"},"
                       "\"name\":\"hmac_sha256(name, 'k')\"}}}");
    sxt_result r = sxt_siphon(pp, NULL, 30, "run", "-c", cfg, NULL);
    cr_assert(r.exited && r.status == 0, "%s", r.err);
    cr_assert_null(strstr(r.out, "a-very-private-hmac-key"));
    cr_assert_null(strstr(r.err, "a-very-private-hmac-key"));
    sxt_result_free(&r);
    r = sxt_siphon(pp, NULL, 30, "about", "--format", "json", "-c", cfg, NULL);
    cr_assert_null(strstr(r.out, "a-very-private-hmac-key"));
    sxt_result_free(&r);
    free(cfg);
}
