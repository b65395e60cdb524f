/*
 * Bad input on the command line gets a message naming what was wrong and
 * where, a distinct exit code, and nothing written.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "siphon_cli.h"

static char *tmp;
static char *pp;

static void setup(void)
{
    tmp = sxt_tmpdir("cli");
    pp = sxt_strf("%s:%s", sxt_plugins_sinks(), sxt_plugins_lab());
}

static void teardown(void)
{
    sxt_rmtree(tmp);
    free(tmp);
    free(pp);
}

TestSuite(cli, .init = setup, .fini = teardown);

static char *file(const char *name, const char *text)
{
    char *path = sxt_strf("%s/%s", tmp, name);
    cr_assert_eq(sxt_write_file(path, text), 0);
    return path;
}

#define assert_fails(r, code, needle)                                                         \
    do {                                                                                      \
        cr_assert((r).exited && (r).status == (code), "expected exit %d, got %d: %s", (code),  \
                  (r).status, (r).err);                                                       \
        cr_assert_not_null(strstr((r).err, (needle)), "stderr lacks '%s': %s", (needle),      \
                           (r).err);                                                          \
    } while (0)

Test(cli, a_missing_config_file_is_a_config_error_naming_it)
{
    char *missing = sxt_strf("%s/nope.json", tmp);
    sxt_result r = sxt_siphon(pp, NULL, 10, "run", "-c", missing, NULL);
    assert_fails(r, 3, "nope.json");
    sxt_result_free(&r);
    free(missing);
}

Test(cli, a_malformed_config_names_line_and_column)
{
    char *cfg = file("bad.json", "{\n  \"source\": \"example\",\n  \"record_count\" 5\n}\n");
    sxt_result r = sxt_siphon(pp, NULL, 10, "run", "-c", cfg, NULL);
    assert_fails(r, 3, "line 3");
    cr_assert_not_null(strstr(r.err, "column"), "%s", r.err);
    sxt_result_free(&r);
    free(cfg);
}

Test(cli, an_unknown_option_is_refused_with_a_suggestion)
{
    char *cfg = file("c.json", "{\"source\":\"example\",\"record_cuont\":5}");
    sxt_result r = sxt_siphon(pp, NULL, 10, "run", "-c", cfg, NULL);
    assert_fails(r, 3, "record_cuont");
    cr_assert_not_null(strstr(r.err, "record_count"), "no did-you-mean: %s", r.err);
    sxt_result_free(&r);
    free(cfg);
}

Test(cli, an_unknown_stream_is_refused_with_a_suggestion)
{
    char *cfg = file("c.json", "{\"source\":\"lab\"}");
    sxt_result r = sxt_siphon(pp, NULL, 10, "run", "-c", cfg, "--select", "stedy", NULL);
    assert_fails(r, 3, "stedy");
    cr_assert_not_null(strstr(r.err, "steady"), "no did-you-mean: %s", r.err);
    sxt_result_free(&r);
    free(cfg);
}

Test(cli, a_malformed_state_file_writes_nothing)
{
    char *state_out = sxt_strf("%s/state-out.json", tmp);
    char *extra = sxt_strf("{\"source\":\"lab\",\"state_path\":\"%s\"}", state_out);
    char *cfg = file("c.json", extra);
    char *bad = file("state.json", "{\"bookmarks\": [1, 2]}");
    sxt_result r = sxt_siphon(pp, NULL, 10, "run", "-c", cfg, "--select", "steady", "--state",
                              bad, NULL);
    assert_fails(r, 3, "state.json");
    cr_assert_eq(r.out_len, 0, "nothing goes to the sink: %s", r.out);
    struct stat st;
    cr_assert_neq(stat(state_out, &st), 0, "no state file is written");
    sxt_result_free(&r);
    free(cfg);
    free(bad);
    free(extra);
    free(state_out);
}

Test(cli, a_malformed_catalog_names_the_file)
{
    char *cfg = file("c.json", "{\"source\":\"lab\"}");
    char *cat = file("catalog.json", "{\"streams\": [");
    sxt_result r = sxt_siphon(pp, NULL, 10, "run", "-c", cfg, "--catalog", cat, NULL);
    assert_fails(r, 3, "catalog.json");
    sxt_result_free(&r);
    free(cfg);
    free(cat);
}

Test(cli, an_unknown_command_is_a_usage_error_with_a_suggestion)
{
    sxt_result r = sxt_siphon(pp, NULL, 10, "rnu", NULL);
    assert_fails(r, 2, "did you mean 'run'");
    sxt_result_free(&r);
}

Test(cli, an_unknown_flag_is_a_usage_error)
{
    sxt_result r = sxt_siphon(pp, NULL, 10, "run", "--frobnicate", NULL);
    assert_fails(r, 2, "--frobnicate");
    sxt_result_free(&r);
}

Test(cli, every_command_has_help)
{
    const char *commands[] = {"run", "discover", "check", "about", "plugins"};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        sxt_result r = sxt_siphon(pp, NULL, 10, commands[i], "--help", NULL);
        cr_assert(r.exited && r.status == 0, "%s --help: %d %s", commands[i], r.status, r.err);
        cr_assert_not_null(strstr(r.out, "Usage"), "%s --help: %s", commands[i], r.out);
        sxt_result_free(&r);
    }
    sxt_result r = sxt_siphon(pp, NULL, 10, "--version", NULL);
    cr_assert(r.exited && r.status == 0);
    cr_assert_not_null(strstr(r.out, "siphon "));
    sxt_result_free(&r);
}

Test(cli, about_describes_settings_in_json_and_markdown_without_values)
{
    char *cfg = file("c.json", "{\"source\":\"lab\",\"lab_secret\":\"do-not-print-me\"}");
    sxt_result r = sxt_siphon(pp, NULL, 10, "--about", "--format", "json", "--config", cfg, NULL);
    cr_assert(r.exited && r.status == 0, "%s", r.err);
    json_t *about = json_loads(r.out, 0, NULL);
    cr_assert_not_null(about, "%s", r.out);
    json_t *src = json_array_get(json_object_get(about, "sources"), 0);
    json_t *secret = json_object_get(json_object_get(json_object_get(src, "settings"), "properties"),
                                     "lab_secret");
    cr_assert(json_is_true(json_object_get(secret, "secret")));
    cr_assert_null(strstr(r.out, "do-not-print-me"));
    json_decref(about);
    sxt_result_free(&r);
    r = sxt_siphon(pp, NULL, 10, "about", "--format", "markdown", NULL);
    cr_assert(r.exited && r.status == 0, "%s", r.err);
    cr_assert_not_null(strstr(r.out, "# siphon"));
    cr_assert_not_null(strstr(r.out, "`lab_secret` (secret)"), "%s", r.out);
    sxt_result_free(&r);
    free(cfg);
}
