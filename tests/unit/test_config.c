#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include "config.h"
#include "fake_registry.h"
#include "mask.h"
#include "proc.h"

#define expect_contains(text, needle)                                                      \
    cr_assert(strstr((text), (needle)) != NULL, "expected [%s] in [%s]", (needle), (text))

static char *dir;
static sx_registry *reg;
static sx_config cfg;
static sx_error err;

static void setup(void)
{
    dir = sxt_tmpdir("config");
    cr_assert_not_null(dir);
    reg = sxt_registry_dinamize_like();
    memset(&cfg, 0, sizeof cfg);
    sx_error_clear(&err);
    sx_mask_reset();
    unsetenv("SXT_DINAMIZE_PASSWORD");
    unsetenv("SXT_DINAMIZE_RPM");
    unsetenv("SXT_DINAMIZE_HEADERS");
    unsetenv("CREDENTIALS_DIRECTORY");
}

static void teardown(void)
{
    sx_config_free(&cfg);
    sxt_registry_free(reg);
    sxt_rmtree(dir);
    free(dir);
    sx_mask_reset();
    unsetenv("SXT_DINAMIZE_PASSWORD");
    unsetenv("SXT_DINAMIZE_RPM");
    unsetenv("SXT_DINAMIZE_HEADERS");
    unsetenv("CREDENTIALS_DIRECTORY");
}

TestSuite(config, .init = setup, .fini = teardown);

/* Writes text as c.json and loads it; returns the path (owned by the test). */
static char *load(const char *text)
{
    char *path = sxt_strf("%s/c.json", dir);
    cr_assert_eq(sxt_write_file(path, text), 0);
    cr_assert_eq(sx_config_load(&cfg, path, &err), 0, "%s", err.msg);
    return path;
}

/* Loads text and resolves it; returns the resolve result. */
static int resolve_with(const char *text, const char *sink_override)
{
    free(load(text));
    return sx_config_resolve(&cfg, reg, sink_override, &err);
}

static void expect_config_error(const char *needle)
{
    cr_assert_eq(err.exit_code, SX_EXIT_CONFIG, "exit code %d, message: %s", err.exit_code,
                 err.msg);
    expect_contains(err.msg, needle);
}

static const char *BASE = "\"user\": \"ana\", \"password\": \"s3cr3t-pw\", \"client_code\": \"77\"";

static char *with_base(const char *more)
{
    return sxt_strf("{%s%s%s}", BASE, more[0] ? ", " : "", more);
}

static int resolve_base(const char *more, const char *sink_override)
{
    char *text = with_base(more);
    int rc = resolve_with(text, sink_override);
    free(text);
    return rc;
}

/* --- loading --- */

Test(config, malformed_file_is_a_config_error_with_line_and_column)
{
    char *path = sxt_strf("%s/c.json", dir);
    cr_assert_eq(sxt_write_file(path, "{\n \"user\": \"a\",\n}"), 0);
    cr_assert_eq(sx_config_load(&cfg, path, &err), -1);
    cr_assert_eq(err.exit_code, SX_EXIT_CONFIG);
    char *want = sxt_strf("config file '%s', line 3, column 1: expected string or '}' near '}'",
                          path);
    cr_assert_str_eq(err.msg, want);
    free(want);
    free(path);
}

Test(config, no_file_means_an_empty_config_with_defaults)
{
    cr_assert_eq(sx_config_load(&cfg, NULL, &err), 0);
    cr_assert_eq(sx_config_resolve(&cfg, reg, NULL, &err), 0, "%s", err.msg);
    cr_assert_str_eq(cfg.source->name, "dinamize");
    cr_assert_str_eq(cfg.sink->vt.base.name, "stdout");
    cr_assert_eq(json_integer_value(sx_config_host_value(&cfg, NULL, "workers")), 4);
}

/* --- unknown keys --- */

Test(config, unknown_top_level_key_suggests_the_closest_option)
{
    char *path = load("{\"user\": \"a\", \"pasword\": \"x\"}");
    cr_assert_eq(sx_config_resolve(&cfg, reg, NULL, &err), -1);
    char *want = sxt_strf("config file '%s': unknown option 'pasword' (did you mean 'password'?)",
                          path);
    cr_assert_str_eq(err.msg, want);
    cr_assert_eq(err.exit_code, SX_EXIT_CONFIG);
    free(want);
    free(path);
}

Test(config, unknown_key_far_from_every_option_gets_no_suggestion)
{
    cr_assert_eq(resolve_base("\"zzzzzzzz\": 1", NULL), -1);
    expect_config_error("unknown option 'zzzzzzzz'");
    cr_assert_null(strstr(err.msg, "did you mean"), "%s", err.msg);
}

Test(config, host_options_are_suggested_too)
{
    cr_assert_eq(resolve_base("\"wokers\": 2", NULL), -1);
    expect_config_error("unknown option 'wokers' (did you mean 'workers'?)");
}

Test(config, sink_option_at_the_top_level_says_where_it_belongs)
{
    cr_assert_eq(resolve_base("\"sink\": \"file\", \"path\": \"/x\"", NULL), -1);
    expect_config_error("option 'path' belongs to the sink 'file': put it inside \"sink\": "
                        "{\"type\": \"file\", \"path\": ...}");
}

/* --- per-stream settings --- */

Test(config, unknown_stream_under_streams_suggests_a_stream_of_the_source)
{
    cr_assert_eq(resolve_base("\"streams\": {\"contcts\": {\"selected\": false}}", NULL), -1);
    expect_config_error(": streams: unknown stream 'contcts' (did you mean 'contacts'?); "
                        "streams of source 'dinamize': contact_lists, contacts, fields, "
                        "list_of_values, teams");
}

Test(config, top_level_only_option_under_a_stream_says_so)
{
    cr_assert_eq(resolve_base("\"streams\": {\"contacts\": {\"user\": \"bob\"}}", NULL), -1);
    expect_config_error(": streams.contacts: option 'user' cannot be set per stream: set it at "
                        "the top level");
}

Test(config, host_top_level_option_under_a_stream_says_so)
{
    cr_assert_eq(resolve_base("\"streams\": {\"contacts\": {\"workers\": 2}}", NULL), -1);
    expect_config_error("streams.contacts: option 'workers' cannot be set per stream");
}

Test(config, unknown_per_stream_key_suggests_a_per_stream_option)
{
    cr_assert_eq(resolve_base("\"streams\": {\"contacts\": {\"replication_metod\": \"FULL_TABLE\"}}",
                              NULL), -1);
    expect_config_error("streams.contacts: unknown per-stream option 'replication_metod' (did you "
                        "mean 'replication_method'?)");
}

Test(config, stream_settings_must_be_an_object)
{
    cr_assert_eq(resolve_base("\"streams\": {\"contacts\": true}", NULL), -1);
    expect_config_error("streams.contacts: expected an object of options, found true");
}

Test(config, per_stream_value_wins_over_top_level_which_wins_over_default)
{
    cr_assert_eq(resolve_base("\"page_size\": 500, \"streams\": {\"contacts\": {\"page_size\": "
                              "\"50\"}}", NULL), 0, "%s", err.msg);
    const sx_source *src = cfg.source;
    const sx_stream *contacts = src->streams[1], *teams = src->streams[4];
    cr_assert_eq(json_integer_value(sx_config_source_value(&cfg, contacts, "page_size")), 50);
    cr_assert_eq(json_integer_value(sx_config_source_value(&cfg, teams, "page_size")), 500);
    cr_assert_eq(json_integer_value(sx_config_source_value(&cfg, NULL, "page_size")), 500);
    cr_assert_str_eq(json_string_value(sx_config_source_value(&cfg, NULL, "timezone")),
                     "America/Sao_Paulo");
    cr_assert_null(sx_config_source_value(&cfg, NULL, "start_date"));
    cr_assert_null(sx_config_source_value(&cfg, NULL, "not_declared"));
}

Test(config, stream_declared_option_is_accepted_at_top_level_and_per_stream)
{
    cr_assert_eq(resolve_base("\"include_custom_fields\": \"false\", \"streams\": {\"contacts\": "
                              "{\"include_custom_fields\": \"true\"}}", NULL), 0, "%s", err.msg);
    const sx_stream *contacts = cfg.source->streams[1];
    cr_assert(json_is_true(sx_config_source_value(&cfg, contacts, "include_custom_fields")));
    cr_assert(json_is_false(json_object_get(cfg.root, "include_custom_fields")));
}

Test(config, host_per_stream_options_are_validated_and_normalised)
{
    cr_assert_eq(resolve_base("\"streams\": {\"contacts\": {\"replication_method\": "
                              "\"full_table\", \"full_sync_interval_days\": \"7\", "
                              "\"selected\": \"false\"}}", NULL), 0, "%s", err.msg);
    cr_assert_str_eq(json_string_value(sx_config_host_value(&cfg, "contacts",
                                                            "replication_method")),
                     "FULL_TABLE");
    cr_assert_eq(json_number_value(sx_config_host_value(&cfg, "contacts",
                                                        "full_sync_interval_days")), 7.0);
    cr_assert(json_is_false(sx_config_host_value(&cfg, "contacts", "selected")));
    cr_assert_null(sx_config_host_value(&cfg, "teams", "selected"));
}

Test(config, replication_method_choices_are_enforced)
{
    cr_assert_eq(resolve_base("\"streams\": {\"contacts\": {\"replication_method\": \"LOG_BASED\"}}",
                              NULL), -1);
    expect_config_error("streams.contacts: option 'replication_method': expected one of "
                        "INCREMENTAL|FULL_TABLE, found \"LOG_BASED\"");
}

Test(config, incremental_on_a_stream_without_replication_key_is_refused)
{
    cr_assert_eq(resolve_base("\"streams\": {\"teams\": {\"replication_method\": \"INCREMENTAL\"}}",
                              NULL), -1);
    expect_config_error("streams.teams: option 'replication_method': INCREMENTAL needs a "
                        "replication key, and stream 'teams' has none");
}

/* --- types --- */

Test(config, wrong_type_names_the_option_the_type_and_the_value)
{
    cr_assert_eq(resolve_base("\"requests_per_minute\": \"abc\"", NULL), -1);
    expect_config_error(": option 'requests_per_minute': expected an integer, found \"abc\"");
}

Test(config, wrong_type_of_other_kinds_is_described)
{
    cr_assert_eq(resolve_base("\"requests_per_minute\": [1]", NULL), -1);
    expect_config_error("option 'requests_per_minute': expected an integer, found an array");
    sx_config_free(&cfg);
    sx_error_clear(&err);
    cr_assert_eq(resolve_base("\"requests_per_minute\": 1.5", NULL), -1);
    expect_config_error("option 'requests_per_minute': expected an integer, found 1.5");
    sx_config_free(&cfg);
    sx_error_clear(&err);
    cr_assert_eq(resolve_base("\"metrics\": \"yes\"", NULL), -1);
    expect_config_error("option 'metrics': expected a boolean (true or false), found \"yes\"");
    sx_config_free(&cfg);
    sx_error_clear(&err);
    cr_assert_eq(resolve_with("{\"user\": {\"a\": 1}}", NULL), -1);
    expect_config_error("option 'user': expected a string, found an object");
}

Test(config, numbers_and_booleans_given_as_strings_are_accepted_and_typed)
{
    cr_assert_eq(resolve_base("\"requests_per_minute\": \"30\", \"http_timeout_s\": \"2.5\", "
                              "\"metrics\": \"FALSE\", \"allow_native_transforms\": \"true\", "
                              "\"workers\": \" 8 \"", NULL), 0, "%s", err.msg);
    const json_t *rpm = sx_config_source_value(&cfg, NULL, "requests_per_minute");
    cr_assert(json_is_integer(rpm));
    cr_assert_eq(json_integer_value(rpm), 30);
    cr_assert_eq(json_real_value(sx_config_host_value(&cfg, NULL, "http_timeout_s")), 2.5);
    cr_assert(json_is_false(sx_config_host_value(&cfg, NULL, "metrics")));
    cr_assert(json_is_true(sx_config_host_value(&cfg, NULL, "allow_native_transforms")));
    cr_assert_eq(json_integer_value(sx_config_host_value(&cfg, NULL, "workers")), 8);
}

Test(config, string_options_accept_numbers_as_their_text)
{
    cr_assert_eq(resolve_with("{\"user\": \"a\", \"password\": \"pw-123\", \"client_code\": 12345}",
                              NULL), 0, "%s", err.msg);
    cr_assert_str_eq(json_string_value(sx_config_source_value(&cfg, NULL, "client_code")),
                     "12345");
}

Test(config, null_means_unset_so_the_default_applies)
{
    cr_assert_eq(resolve_base("\"requests_per_minute\": null, \"workers\": null", NULL), 0, "%s",
                 err.msg);
    cr_assert_eq(json_integer_value(sx_config_source_value(&cfg, NULL, "requests_per_minute")), 60);
    cr_assert_eq(json_integer_value(sx_config_host_value(&cfg, NULL, "workers")), 4);
}

Test(config, host_defaults_are_documented_values)
{
    cr_assert_eq(resolve_base("", NULL), 0, "%s", err.msg);
    cr_assert_eq(json_integer_value(sx_config_host_value(&cfg, NULL, "workers")), 4);
    cr_assert_eq(json_number_value(sx_config_host_value(&cfg, NULL, "http_timeout_s")), 60.0);
    cr_assert_eq(json_integer_value(sx_config_host_value(&cfg, NULL, "http_max_attempts")), 6);
    cr_assert(json_is_true(sx_config_host_value(&cfg, NULL, "read_ahead")));
    cr_assert_str_eq(json_string_value(sx_config_host_value(&cfg, NULL, "log_level")), "info");
    cr_assert_eq(json_integer_value(sx_config_host_value(&cfg, NULL, "checkpoint_records")), 10000);
    cr_assert_eq(json_number_value(sx_config_host_value(&cfg, NULL, "checkpoint_seconds")), 5.0);
    cr_assert(json_is_false(sx_config_host_value(&cfg, NULL, "allow_native_transforms")));
    cr_assert_null(sx_config_host_value(&cfg, NULL, "metrics"), "metrics defaults to auto");
    cr_assert_null(sx_config_host_value(&cfg, NULL, "state_path"));
    cr_assert_null(sx_config_host_value(&cfg, NULL, "no_such_option"));
}

Test(config, every_host_option_has_a_description)
{
    const sx_options *tables[] = {sx_host_options(), sx_host_stream_options()};
    for (size_t t = 0; t < 2; t++) {
        cr_assert_gt(tables[t]->n, 0);
        for (size_t i = 0; i < tables[t]->n; i++) {
            const siphon_option *o = &tables[t]->items[i];
            cr_assert(o->description != NULL && strlen(o->description) > 10, "%s", o->name);
            if (o->default_json != NULL)
                cr_assert_not_null(tables[t]->defaults[i], "default of %s", o->name);
            if (t == 1)
                cr_assert(o->flags & SIPHON_OPT_PER_STREAM, "%s", o->name);
        }
    }
}

Test(config, choices_are_enforced_with_a_suggestion_and_normalised)
{
    cr_assert_eq(resolve_base("\"log_level\": \"inf\"", NULL), -1);
    expect_config_error("option 'log_level': expected one of debug|info|warn|error, found \"inf\" "
                        "(did you mean 'info'?)");
    sx_config_free(&cfg);
    sx_error_clear(&err);
    cr_assert_eq(resolve_base("\"log_level\": \"WARN\"", NULL), 0, "%s", err.msg);
    cr_assert_str_eq(json_string_value(sx_config_host_value(&cfg, NULL, "log_level")), "warn");
}

Test(config, host_option_ranges_are_enforced)
{
    cr_assert_eq(resolve_base("\"workers\": 0", NULL), -1);
    expect_config_error("option 'workers': expected an integer from 1 to 64, found 0");
    sx_config_free(&cfg);
    sx_error_clear(&err);
    cr_assert_eq(resolve_base("\"workers\": \"65\"", NULL), -1);
    expect_config_error("option 'workers': expected an integer from 1 to 64, found 65");
    sx_config_free(&cfg);
    sx_error_clear(&err);
    cr_assert_eq(resolve_base("\"checkpoint_seconds\": -1", NULL), -1);
    expect_config_error("option 'checkpoint_seconds': expected a number greater than 0, found -1");
}

Test(config, pass_through_options_keep_their_value_but_are_shape_checked)
{
    cr_assert_eq(resolve_base("\"stream_maps\": {\"contacts\": {\"email\": null}}, "
                              "\"transforms\": [{\"field\": \"email\"}], "
                              "\"streams\": {\"contacts\": {\"stream_maps\": {\"x\": 1}}}", NULL),
                 0, "%s", err.msg);
    char *maps = json_dumps(sx_config_host_value(&cfg, NULL, "stream_maps"), JSON_COMPACT);
    cr_assert_str_eq(maps, "{\"contacts\":{\"email\":null}}");
    free(maps);
    cr_assert_eq(json_array_size(sx_config_host_value(&cfg, NULL, "transforms")), 1);
    cr_assert(json_is_object(sx_config_host_value(&cfg, "contacts", "stream_maps")));
    sx_config_free(&cfg);
    sx_error_clear(&err);
    cr_assert_eq(resolve_base("\"transforms\": {\"a\": 1}", NULL), -1);
    expect_config_error("option 'transforms': expected an array, found an object");
}

Test(config, select_must_be_a_non_empty_array_of_names)
{
    cr_assert_eq(resolve_base("\"select\": []", NULL), -1);
    expect_config_error("option 'select': expected an array of stream or group names, found an "
                        "empty array");
    sx_config_free(&cfg);
    sx_error_clear(&err);
    cr_assert_eq(resolve_base("\"select\": [\"contacts\", 3]", NULL), -1);
    expect_config_error("option 'select': item 1: expected a stream or group name, found 3");
}

/* --- source selection --- */

Test(config, the_only_loaded_source_is_chosen)
{
    cr_assert_eq(resolve_base("", NULL), 0, "%s", err.msg);
    cr_assert_eq(cfg.source, reg->sources[0]);
}

Test(config, named_source_must_exist_with_a_suggestion)
{
    cr_assert_eq(resolve_base("\"source\": \"dinamze\"", NULL), -1);
    expect_config_error("option 'source': unknown source 'dinamze' (did you mean 'dinamize'?); "
                        "loaded sources: dinamize");
}

Test(config, several_sources_and_none_named_lists_them)
{
    sxt_add_source(reg, "example", NULL);
    cr_assert_eq(resolve_base("", NULL), -1);
    expect_config_error("several sources are loaded (dinamize, example): name one with \"source\"");
    sx_config_free(&cfg);
    sx_error_clear(&err);
    cr_assert_eq(resolve_with("{\"source\": \"example\"}", NULL), 0, "%s", err.msg);
    cr_assert_str_eq(cfg.source->name, "example");
}

Test(config, no_source_loaded_points_at_the_plugin_path)
{
    sx_registry *empty = sxt_registry_new();
    cr_assert_eq(sx_config_load(&cfg, NULL, &err), 0);
    cr_assert_eq(sx_config_resolve(&cfg, empty, NULL, &err), -1);
    expect_config_error("no source plugin is loaded: check SIPHON_PLUGIN_PATH");
    sxt_registry_free(empty);
}

/* --- sink selection --- */

Test(config, sink_defaults_to_stdout)
{
    cr_assert_eq(resolve_base("", NULL), 0, "%s", err.msg);
    cr_assert_str_eq(cfg.sink->vt.base.name, "stdout");
    cr_assert(json_is_object(cfg.sink_conf));
}

Test(config, sink_as_an_object_carries_its_validated_options)
{
    cr_assert_eq(resolve_base("\"sink\": {\"type\": \"file\", \"path\": \"/out\", \"format\": "
                              "\"CSV\"}", NULL), 0, "%s", err.msg);
    cr_assert_str_eq(cfg.sink->vt.base.name, "file");
    cr_assert_str_eq(json_string_value(sx_config_sink_value(&cfg, "path")), "/out");
    cr_assert_str_eq(json_string_value(sx_config_sink_value(&cfg, "format")), "csv");
    cr_assert_null(sx_config_sink_value(&cfg, "type"));
}

Test(config, sink_options_are_checked_against_the_sinks_declarations)
{
    cr_assert_eq(resolve_base("\"sink\": {\"type\": \"file\", \"pth\": \"/out\"}", NULL), -1);
    expect_config_error(": sink 'file': unknown option 'pth' (did you mean 'path'?)");
    sx_config_free(&cfg);
    sx_error_clear(&err);
    cr_assert_eq(resolve_base("\"sink\": {\"type\": \"file\", \"format\": \"xml\"}", NULL), -1);
    expect_config_error(": sink 'file': option 'format': expected one of jsonl|csv, found \"xml\"");
}

Test(config, unknown_sink_suggests_a_loaded_one)
{
    cr_assert_eq(resolve_base("\"sink\": \"fille\"", NULL), -1);
    expect_config_error(": option 'sink': unknown sink 'fille' (did you mean 'file'?); loaded "
                        "sinks: stdout, file");
    sx_config_free(&cfg);
    sx_error_clear(&err);
    cr_assert_eq(resolve_base("", "stdot"), -1);
    expect_config_error("--sink: unknown sink 'stdot' (did you mean 'stdout'?)");
}

Test(config, sink_object_without_type_is_refused)
{
    cr_assert_eq(resolve_base("\"sink\": {\"path\": \"/x\"}", NULL), -1);
    expect_config_error("option 'sink': the object needs \"type\" naming the sink");
    sx_config_free(&cfg);
    sx_error_clear(&err);
    cr_assert_eq(resolve_base("\"sink\": 7", NULL), -1);
    expect_config_error("option 'sink': expected a sink name or an object with \"type\", found 7");
}

Test(config, sink_override_wins_over_the_config)
{
    cr_assert_eq(resolve_base("\"sink\": {\"type\": \"file\", \"path\": \"/out\"}", "stdout"), 0,
                 "%s", err.msg);
    cr_assert_str_eq(cfg.sink->vt.base.name, "stdout");
    /* The file sink's options are not the stdout sink's. */
    cr_assert_eq(json_object_size(cfg.sink_conf), 0);
    sx_config_free(&cfg);
    cr_assert_eq(resolve_base("\"sink\": {\"path\": \"/out\"}", "file"), 0, "%s", err.msg);
    cr_assert_str_eq(json_string_value(sx_config_sink_value(&cfg, "path")), "/out");
}

/* --- environment and credentials --- */

Test(config, environment_supplies_and_overrides_file_values)
{
    setenv("SXT_DINAMIZE_PASSWORD", "from-env-pw", 1);
    setenv("SXT_DINAMIZE_RPM", "20", 1);
    cr_assert_eq(resolve_base("", NULL), 0, "%s", err.msg);
    cr_assert_str_eq(json_string_value(sx_config_source_value(&cfg, NULL, "password")),
                     "from-env-pw");
    cr_assert_eq(json_integer_value(sx_config_source_value(&cfg, NULL, "requests_per_minute")), 20);
    cr_assert(sx_mask_contains_secret("from-env-pw"));
}

Test(config, bad_environment_value_names_the_variable_not_the_file)
{
    setenv("SXT_DINAMIZE_RPM", "lots", 1);
    cr_assert_eq(resolve_base("", NULL), -1);
    expect_config_error("environment variable SXT_DINAMIZE_RPM (option 'requests_per_minute'): "
                        "expected an integer, found \"lots\"");
}

Test(config, json_options_from_the_environment_are_parsed_when_they_parse)
{
    setenv("SXT_DINAMIZE_HEADERS", "{\"X-Trace\": \"1\"}", 1);
    cr_assert_eq(resolve_base("", NULL), 0, "%s", err.msg);
    const json_t *h = sx_config_source_value(&cfg, NULL, "extra_headers");
    cr_assert_str_eq(json_string_value(json_object_get(h, "X-Trace")), "1");
    sx_config_free(&cfg);
    setenv("SXT_DINAMIZE_HEADERS", "plain text", 1);
    cr_assert_eq(resolve_base("", NULL), 0, "%s", err.msg);
    cr_assert_str_eq(json_string_value(sx_config_source_value(&cfg, NULL, "extra_headers")),
                     "plain text");
}

Test(config, empty_environment_variable_counts_as_unset)
{
    setenv("SXT_DINAMIZE_RPM", "", 1);
    cr_assert_eq(resolve_base("\"requests_per_minute\": 45", NULL), 0, "%s", err.msg);
    cr_assert_eq(json_integer_value(sx_config_source_value(&cfg, NULL, "requests_per_minute")), 45);
}

Test(config, unreadable_credential_file_is_named)
{
    char *creds = sxt_strf("%s/creds", dir);
    cr_assert_eq(mkdir(creds, 0700), 0);
    char *odd = sxt_strf("%s/client_code", creds);
    cr_assert_eq(mkdir(odd, 0700), 0);
    setenv("CREDENTIALS_DIRECTORY", creds, 1);
    cr_assert_eq(resolve_base("", NULL), -1);
    char *want = sxt_strf("credential file '%s': Is a directory", odd);
    cr_assert_str_eq(err.msg, want);
    cr_assert_eq(err.exit_code, SX_EXIT_CONFIG);
    free(want);
    free(odd);
    free(creds);
}

Test(config, credentials_directory_wins_over_the_environment)
{
    char *creds = sxt_strf("%s/creds", dir);
    cr_assert_eq(mkdir(creds, 0700), 0);
    char *file = sxt_strf("%s/SXT_DINAMIZE_PASSWORD", creds);
    cr_assert_eq(sxt_write_file(file, "cred-file-pw\n"), 0);
    setenv("CREDENTIALS_DIRECTORY", creds, 1);
    setenv("SXT_DINAMIZE_PASSWORD", "from-env-pw", 1);
    cr_assert_eq(resolve_base("", NULL), 0, "%s", err.msg);
    cr_assert_str_eq(json_string_value(sx_config_source_value(&cfg, NULL, "password")),
                     "cred-file-pw");
    cr_assert(sx_mask_contains_secret("cred-file-pw"));
    free(file);
    free(creds);
}

Test(config, credential_file_may_be_named_after_the_option)
{
    char *creds = sxt_strf("%s/creds", dir);
    cr_assert_eq(mkdir(creds, 0700), 0);
    char *file = sxt_strf("%s/client_code", creds);
    cr_assert_eq(sxt_write_file(file, "9911\r\n"), 0);
    setenv("CREDENTIALS_DIRECTORY", creds, 1);
    cr_assert_eq(resolve_base("", NULL), 0, "%s", err.msg);
    cr_assert_str_eq(json_string_value(sx_config_source_value(&cfg, NULL, "client_code")), "9911");
    free(file);
    free(creds);
}

Test(config, sink_options_come_from_credentials_too)
{
    char *creds = sxt_strf("%s/creds", dir);
    cr_assert_eq(mkdir(creds, 0700), 0);
    char *file = sxt_strf("%s/token", creds);
    cr_assert_eq(sxt_write_file(file, "sink-token-xyz"), 0);
    setenv("CREDENTIALS_DIRECTORY", creds, 1);
    cr_assert_eq(resolve_base("\"sink\": \"file\"", NULL), 0, "%s", err.msg);
    cr_assert_str_eq(json_string_value(sx_config_sink_value(&cfg, "token")), "sink-token-xyz");
    cr_assert(sx_mask_contains_secret("sink-token-xyz"));
    free(file);
    free(creds);
}

/* --- secrets --- */

Test(config, secrets_in_the_file_are_masked_as_soon_as_they_are_read)
{
    /* Resolution fails on another key, after the password was read. */
    cr_assert_eq(resolve_base("\"pasword2\": \"x\"", NULL), -1);
    cr_assert(sx_mask_contains_secret("s3cr3t-pw"));
    cr_assert_null(strstr(err.msg, "s3cr3t-pw"));
}

Test(config, messages_about_secret_values_never_show_them)
{
    cr_assert_eq(resolve_base("\"api_pin\": \"12ab-pin-34\"", NULL), -1);
    expect_config_error("option 'api_pin': expected an integer, found a string");
    cr_assert_null(strstr(err.msg, "12ab-pin-34"), "%s", err.msg);
}

Test(config, secret_inside_the_sink_section_is_masked)
{
    cr_assert_eq(resolve_base("\"sink\": {\"type\": \"file\", \"path\": \"/o\", \"token\": "
                              "\"tok-987654\"}", NULL), 0, "%s", err.msg);
    cr_assert(sx_mask_contains_secret("tok-987654"));
}

Test(config, masked_config_hides_every_secret_and_keeps_the_rest)
{
    setenv("SXT_DINAMIZE_PASSWORD", "env-pw-555", 1);
    cr_assert_eq(resolve_base("\"api_pin\": 4321987, \"sink\": {\"type\": \"file\", \"path\": "
                              "\"/o\", \"token\": \"tok-987654\"}, \"start_date\": "
                              "\"2024-01-01 00:00:00\"", NULL), 0, "%s", err.msg);
    json_t *masked = sx_config_masked(&cfg);
    char *text = json_dumps(masked, JSON_COMPACT | JSON_SORT_KEYS);
    cr_assert_null(strstr(text, "env-pw-555"), "%s", text);
    cr_assert_null(strstr(text, "4321987"), "%s", text);
    cr_assert_null(strstr(text, "tok-987654"), "%s", text);
    expect_contains(text, "\"password\":\"********\"");
    expect_contains(text, "\"api_pin\":\"********\"");
    expect_contains(text, "\"token\":\"********\"");
    expect_contains(text, "\"start_date\":\"2024-01-01 00:00:00\"");
    expect_contains(text, "\"user\":\"ana\"");
    free(text);
    json_decref(masked);
}

Test(config, masked_copy_of_an_unresolved_config_still_hides_credential_names)
{
    free(load("{\"password\": \"zz-unresolved\", \"api_token\": \"tk\", \"note\": \"ok\"}"));
    json_t *masked = sx_config_masked(&cfg);
    char *text = json_dumps(masked, JSON_COMPACT | JSON_SORT_KEYS);
    cr_assert_str_eq(text, "{\"api_token\":\"********\",\"note\":\"ok\",\"password\":\"********\"}");
    free(text);
    json_decref(masked);
}

/* --- required options --- */

Test(config, missing_required_options_are_all_listed_with_their_env_names)
{
    cr_assert_eq(resolve_with("{\"sink\": \"file\"}", NULL), 0, "%s", err.msg);
    cr_assert_eq(sx_config_require(&cfg, &err), -1);
    expect_config_error(": missing required options: 'user', 'password' (or environment variable "
                        "SXT_DINAMIZE_PASSWORD), 'client_code', sink 'file': 'path'");
}

Test(config, required_options_set_anywhere_satisfy_the_check)
{
    setenv("SXT_DINAMIZE_PASSWORD", "env-pw-1", 1);
    cr_assert_eq(resolve_with("{\"user\": \"a\", \"client_code\": \"1\"}", NULL), 0, "%s", err.msg);
    cr_assert_eq(sx_config_require(&cfg, &err), 0, "%s", err.msg);
}

/* --- helpers --- */

Test(config, did_you_mean_picks_the_closest_within_three_edits)
{
    const char *names[] = {"password", "user", "client_code", "requests_per_minute"};
    cr_assert_str_eq(sx_did_you_mean("pasword", names, 4), "password");
    cr_assert_str_eq(sx_did_you_mean("PASSWORD", names, 4), "password");
    cr_assert_str_eq(sx_did_you_mean("clientcode", names, 4), "client_code");
    cr_assert_str_eq(sx_did_you_mean("usr", names, 4), "user");
    cr_assert_null(sx_did_you_mean("pass", names, 4));
    cr_assert_null(sx_did_you_mean("xy", names, 4));
    cr_assert_null(sx_did_you_mean("timezone", names, 4));
}

Test(config, coercions_accept_the_documented_forms_only)
{
    long long n;
    double d;
    int b;
    json_t *v;
#define WITH(expr) (v = (expr))
    cr_assert_eq(sx_json_to_int(WITH(json_string(" 42\n")), &n), 0);
    cr_assert_eq(n, 42);
    json_decref(v);
    cr_assert_eq(sx_json_to_int(WITH(json_real(7.0)), &n), 0);
    cr_assert_eq(n, 7);
    json_decref(v);
    cr_assert_eq(sx_json_to_int(WITH(json_string("4.2")), &n), -1);
    json_decref(v);
    cr_assert_eq(sx_json_to_int(WITH(json_string("99999999999999999999")), &n), -1);
    json_decref(v);
    cr_assert_eq(sx_json_to_int(WITH(json_true()), &n), -1);
    json_decref(v);
    cr_assert_eq(sx_json_to_number(WITH(json_string("1e3")), &d), 0);
    cr_assert_eq(d, 1000.0);
    json_decref(v);
    cr_assert_eq(sx_json_to_number(WITH(json_string("inf")), &d), -1);
    json_decref(v);
    cr_assert_eq(sx_json_to_number(WITH(json_string("0x10")), &d), -1);
    json_decref(v);
    cr_assert_eq(sx_json_to_bool(WITH(json_string("True")), &b), 0);
    cr_assert_eq(b, 1);
    json_decref(v);
    cr_assert_eq(sx_json_to_bool(WITH(json_string("false")), &b), 0);
    cr_assert_eq(b, 0);
    json_decref(v);
    cr_assert_eq(sx_json_to_bool(WITH(json_integer(1)), &b), -1);
    json_decref(v);
#undef WITH
}
