/*
 * `siphon plugins`: the list with its refused section, inspect (text and
 * JSON) of plugins and components, exists for scripts, and the usage errors,
 * over a registry loaded from real fixture plugins.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abi_support.h"
#include "cmd_plugins.h"
#include "error.h"
#include "proc.h"

static char *dir;
static sx_registry reg;

static void load_good_and_one_bad(void)
{
    const char *names[] = {"good_stream", "good_sink", "bad_magic", NULL};
    dir = sxt_abi_stage(names);
    sxt_abi_load(&reg, dir);
    cr_assert_eq(reg.n_plugins, 2);
    cr_assert_eq(reg.n_refusals, 1);
}

static void load_good_only(void)
{
    const char *names[] = {"good_stream", "good_sink", NULL};
    dir = sxt_abi_stage(names);
    sxt_abi_load(&reg, dir);
    cr_assert_eq(reg.n_refusals, 0);
}

static void unload(void)
{
    sx_registry_free(&reg);
    sxt_rmtree(dir);
    free(dir);
}

#define RUN(...) sxt_abi_plugins_cmd(&reg, (const char *const[]){"plugins", __VA_ARGS__, NULL})
#define RUN0() sxt_abi_plugins_cmd(&reg, (const char *const[]){"plugins", NULL})

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *doc = json_loads(text, 0, &e);
    cr_assert_not_null(doc, "output is not JSON (%s): %s", e.text, text);
    return doc;
}

Test(cmd_plugins, lists_loaded_plugins_then_the_refused_files_with_reasons,
     .init = load_good_and_one_bad, .fini = unload)
{
    sxt_cmd_output o = RUN0();
    cr_expect_eq(o.rc, SX_EXIT_OK, "refusals alone do not fail the listing");
    cr_expect_str_empty(o.err);
    cr_expect(strstr(o.out, "Plugins (2):") != NULL, "%s", o.out);
    char *row = sxt_strf("abi-good-stream  1.2.3    stream:good_items, stream:good_children  "
                         "%s/good_stream.so\n",
                         dir);
    cr_expect(strstr(o.out, row) != NULL, "no row\n%s\nin\n%s", row, o.out);
    cr_expect(strstr(o.out, "sink:good_sink") != NULL);
    char *refused = sxt_strf("Refused (1):\n  %s/bad_magic.so\n      magic: plugin has "
                             "0x00000000, host expects 0x53495048\n",
                             dir);
    cr_expect(strstr(o.out, refused) != NULL, "%s", o.out);
    char *search = sxt_strf("Search path: %s\n", dir);
    cr_expect(strstr(o.out, search) != NULL, "%s", o.out);
    cr_expect(strstr(o.out, "fixture-secret-default") == NULL);
    free(search);
    free(refused);
    free(row);
    sxt_cmd_output_free(&o);

    sxt_cmd_output l = RUN("list");
    cr_expect_eq(l.rc, SX_EXIT_OK);
    cr_expect(strstr(l.out, "Plugins (2):") != NULL, "'list' is the default form");
    sxt_cmd_output_free(&l);
}

Test(cmd_plugins, strict_fails_with_the_plugin_exit_code_when_any_was_refused,
     .init = load_good_and_one_bad, .fini = unload)
{
    sxt_cmd_output o = RUN("--strict");
    cr_expect_eq(o.rc, SX_EXIT_PLUGIN);
    cr_expect(strstr(o.out, "Refused (1):") != NULL);
    sxt_cmd_output_free(&o);
}

Test(cmd_plugins, strict_passes_when_nothing_was_refused, .init = load_good_only, .fini = unload)
{
    sxt_cmd_output o = RUN("--strict");
    cr_expect_eq(o.rc, SX_EXIT_OK);
    cr_expect(strstr(o.out, "Refused") == NULL);
    sxt_cmd_output_free(&o);
}

Test(cmd_plugins, an_empty_registry_says_so)
{
    sx_registry empty;
    memset(&empty, 0, sizeof empty);
    sxt_cmd_output o = sxt_abi_plugins_cmd(&empty, (const char *const[]){"plugins", NULL});
    cr_expect_eq(o.rc, SX_EXIT_OK);
    cr_expect(strstr(o.out, "No plugins loaded.") != NULL, "%s", o.out);
    sxt_cmd_output_free(&o);
}

Test(cmd_plugins, the_json_list_has_plugins_components_and_refusals,
     .init = load_good_and_one_bad, .fini = unload)
{
    sxt_cmd_output o = RUN("--json");
    cr_assert_eq(o.rc, SX_EXIT_OK);
    json_t *doc = parse(o.out);
    json_t *plugins = json_object_get(doc, "plugins");
    cr_assert_eq(json_array_size(plugins), 2);
    json_t *first = json_array_get(plugins, 0);
    cr_expect_str_eq(json_string_value(json_object_get(first, "name")), "abi-good-sink");
    cr_expect_str_eq(json_string_value(json_object_get(first, "license")), "Apache-2.0");
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(first, "abi"), "major")),
                 SIPHON_ABI_MAJOR);
    json_t *comp = json_array_get(json_object_get(first, "components"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(comp, "kind")), "sink");
    cr_expect_str_eq(json_string_value(json_object_get(comp, "name")), "good_sink");
    json_t *refused = json_array_get(json_object_get(doc, "refused"), 0);
    char *file = sxt_strf("%s/bad_magic.so", dir);
    cr_expect_str_eq(json_string_value(json_object_get(refused, "file")), file);
    cr_expect_str_eq(json_string_value(json_object_get(refused, "reason")),
                     "magic: plugin has 0x00000000, host expects 0x53495048");
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(doc, "search_path"), 0)),
                     dir);
    free(file);
    json_decref(doc);
    sxt_cmd_output_free(&o);
}

/* The host's ABI as text: the fixture is built against the headers. */
#define ABI_TEXT2(x) #x
#define ABI_TEXT(x) ABI_TEXT2(x)

Test(cmd_plugins, inspect_shows_the_descriptor_components_and_options,
     .init = load_good_only, .fini = unload)
{
    sxt_cmd_output o = RUN("inspect", "abi-good-stream");
    cr_assert_eq(o.rc, SX_EXIT_OK, "%s", o.err);
    const char *expected[] = {
        "Plugin abi-good-stream\n",
        "  Version          1.2.3\n",
        "  License          MIT\n",
        "  ABI              " ABI_TEXT(SIPHON_ABI_MAJOR) "." ABI_TEXT(SIPHON_ABI_MINOR) "\n",
        "  Build signature  " SIPHON_BUILD_SIG "\n",
        "\nStream good_items\n",
        "  Capabilities     PARALLEL_SAFE\n",
        "  Key properties   id\n",
        "  Replication key  updated_at\n",
        "  Groups           core, daily\n",
        "  Source           abi-src\n",
        "    page_size (int, per-stream, default 50)\n        Records per page.\n",
        "    verbose (bool, deprecated, default true)\n",
        "    extra (json, default {\"a\":[1,\"\xc3\xa9\"]})\n",
        "    token (string, secret, env ABI_TOKEN)\n",
        "\nStream good_children\n",
        "  Capabilities     DISCOVER\n",
        "  Replication key  none (FULL_TABLE only)\n",
        "  Parent           good_items\n",
        "  Options          none\n",
        "\nSource abi-src\n",
        "    user (string, required, env ABI_USER)\n",
        "    password (string, required, secret, default hidden, env ABI_PASSWORD)\n",
        "    region (string, default \"eu\", choices eu|us)\n",
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        cr_expect(strstr(o.out, expected[i]) != NULL, "missing:\n%s\nin:\n%s", expected[i], o.out);
    char *file = sxt_strf("  File             %s/good_stream.so\n", dir);
    cr_expect(strstr(o.out, file) != NULL, "%s", o.out);
    cr_expect(strstr(o.out, "fixture-secret-default") == NULL, "a secret default leaked");
    cr_expect_eq(sxt_count(o.out, "\nSource abi-src\n"), 1, "the shared source is shown once");
    free(file);
    sxt_cmd_output_free(&o);
}

Test(cmd_plugins, inspect_accepts_a_component_name_for_its_plugin, .init = load_good_only,
     .fini = unload)
{
    sxt_cmd_output by_stream = RUN("inspect", "good_children");
    sxt_cmd_output by_plugin = RUN("inspect", "abi-good-stream");
    cr_expect_eq(by_stream.rc, SX_EXIT_OK);
    cr_expect_str_eq(by_stream.out, by_plugin.out);
    sxt_cmd_output sink = RUN("inspect", "sink:good_sink");
    cr_expect_eq(sink.rc, SX_EXIT_OK);
    cr_expect(strstr(sink.out, "\nSink good_sink\n") != NULL, "%s", sink.out);
    cr_expect(strstr(sink.out, "  Capabilities     TRANSACTIONAL|0x10000000000\n") != NULL,
              "%s", sink.out);
    cr_expect(strstr(sink.out, "    format (string, default \"jsonl\", choices jsonl|csv)\n") !=
                  NULL, "%s", sink.out);
    sxt_cmd_output wrong_kind = RUN("inspect", "stream:good_sink");
    cr_expect_eq(wrong_kind.rc, SX_EXIT_USAGE);
    sxt_cmd_output_free(&by_stream);
    sxt_cmd_output_free(&by_plugin);
    sxt_cmd_output_free(&sink);
    sxt_cmd_output_free(&wrong_kind);
}

static json_t *find_named(json_t *array, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(array, i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0)
            return v;
    }
    cr_assert_fail("no entry named %s", name);
    return NULL;
}

Test(cmd_plugins, inspect_json_parses_and_holds_every_option_declaration,
     .init = load_good_only, .fini = unload)
{
    sxt_cmd_output o = RUN("inspect", "good_items", "--json");
    cr_assert_eq(o.rc, SX_EXIT_OK, "%s", o.err);
    cr_expect(strstr(o.out, "fixture-secret-default") == NULL, "a secret default leaked");
    json_t *doc = parse(o.out);
    cr_expect_str_eq(json_string_value(json_object_get(doc, "name")), "abi-good-stream");
    cr_expect_str_eq(json_string_value(json_object_get(doc, "build_signature")),
                     SIPHON_BUILD_SIG);
    json_t *items = find_named(json_object_get(doc, "components"), "good_items");
    cr_expect_str_eq(json_string_value(json_object_get(items, "kind")), "stream");
    cr_expect_str_eq(json_string_value(json_object_get(items, "source")), "abi-src");
    cr_expect_str_eq(json_string_value(json_object_get(items, "replication_key")), "updated_at");
    cr_expect(json_is_null(json_object_get(items, "parent")));
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(items, "key_properties"), 0)),
                     "id");
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(items, "capabilities"), 0)),
                     "PARALLEL_SAFE");
    json_t *page = find_named(json_object_get(items, "options"), "page_size");
    cr_expect_str_eq(json_string_value(json_object_get(page, "type")), "int");
    cr_expect_eq(json_integer_value(json_object_get(page, "default")), 50);
    cr_expect(json_is_true(json_object_get(page, "per_stream")));
    cr_expect(json_is_false(json_object_get(page, "required")));
    cr_expect_str_eq(json_string_value(json_object_get(page, "description")), "Records per page.");

    json_t *src = find_named(json_object_get(doc, "sources"), "abi-src");
    json_t *password = find_named(json_object_get(src, "options"), "password");
    cr_expect(json_is_true(json_object_get(password, "secret")));
    cr_expect(json_is_true(json_object_get(password, "required")));
    cr_expect(json_is_true(json_object_get(password, "has_default")));
    cr_expect(json_is_null(json_object_get(password, "default")), "a secret default is hidden");
    cr_expect_str_eq(json_string_value(json_object_get(password, "env")), "ABI_PASSWORD");
    json_t *region = find_named(json_object_get(src, "options"), "region");
    cr_expect_eq(json_array_size(json_object_get(region, "choices")), 2);
    json_t *choices = json_object_get(region, "choices");
    cr_expect_str_eq(json_string_value(json_array_get(choices, 1)), "us");
    json_decref(doc);
    sxt_cmd_output_free(&o);
}

Test(cmd_plugins, inspect_of_an_unknown_name_exits_2_with_a_suggestion, .init = load_good_only,
     .fini = unload)
{
    sxt_cmd_output o = RUN("inspect", "good_itmes");
    cr_expect_eq(o.rc, SX_EXIT_USAGE);
    cr_expect_str_empty(o.out);
    cr_expect_str_eq(o.err, "siphon plugins: no plugin, stream or sink named 'good_itmes'; did "
                            "you mean 'good_items'?\n");
    sxt_cmd_output far = RUN("inspect", "zzzzzzzz");
    cr_expect_eq(far.rc, SX_EXIT_USAGE);
    cr_expect_str_eq(far.err, "siphon plugins: no plugin, stream or sink named 'zzzzzzzz' (run "
                              "'siphon plugins' to list them)\n");
    sxt_cmd_output_free(&o);
    sxt_cmd_output_free(&far);
}

Test(cmd_plugins, inspect_of_a_refused_file_shows_why, .init = load_good_and_one_bad,
     .fini = unload)
{
    const char *forms[] = {"bad_magic", "bad_magic.so", NULL};
    for (size_t i = 0; forms[i] != NULL; i++) {
        sxt_cmd_output o = RUN("inspect", forms[i]);
        cr_expect_eq(o.rc, SX_EXIT_PLUGIN);
        char *text = sxt_strf("Refused %s/bad_magic.so\n  magic: plugin has 0x00000000, host "
                              "expects 0x53495048\n",
                              dir);
        cr_expect_str_eq(o.out, text);
        free(text);
        sxt_cmd_output_free(&o);
    }
    sxt_cmd_output j = RUN("inspect", "--json", "bad_magic");
    cr_expect_eq(j.rc, SX_EXIT_PLUGIN);
    json_t *doc = parse(j.out);
    cr_expect_str_eq(json_string_value(json_object_get(doc, "refused")),
                     "magic: plugin has 0x00000000, host expects 0x53495048");
    json_decref(doc);
    sxt_cmd_output_free(&j);
}

Test(cmd_plugins, exists_answers_with_the_exit_code_only, .init = load_good_only, .fini = unload)
{
    const struct {
        const char *name, *atleast;
        int rc;
    } cases[] = {
        {"abi-good-sink", NULL, 0},
        {"good_items", NULL, 0},
        {"sink:good_sink", NULL, 0},
        {"nope", NULL, 1},
        {"abi-good-stream", "1.2.3", 0},
        {"abi-good-stream", "1.2", 0},
        {"abi-good-stream", "1.2.4", 1},
        {"abi-good-stream", "1.10", 1},
        {"abi-good-stream", "0.99.99", 0},
        {"nope", "1.0", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sxt_cmd_output o = cases[i].atleast != NULL
                               ? RUN("exists", cases[i].name, "--atleast-version", cases[i].atleast)
                               : RUN("exists", cases[i].name);
        cr_expect_eq(o.rc, cases[i].rc, "exists %s %s: %d", cases[i].name,
                     cases[i].atleast ? cases[i].atleast : "", o.rc);
        cr_expect_str_empty(o.out);
        cr_expect_str_empty(o.err);
        sxt_cmd_output_free(&o);
    }
    sxt_cmd_output eq = RUN("exists", "abi-good-stream", "--atleast-version=1.3");
    cr_expect_eq(eq.rc, 1);
    sxt_cmd_output_free(&eq);
}

Test(cmd_plugins, bad_command_lines_exit_2_and_say_what_was_wrong, .init = load_good_only,
     .fini = unload)
{
    const struct {
        const char *a, *b, *c;
        const char *err;
    } cases[] = {
        {"--jsn", NULL, NULL,
         "siphon plugins: unknown option '--jsn' (see 'siphon plugins --help')\n"},
        {"inspekt", NULL, NULL,
         "siphon plugins: unknown command 'inspekt' (see 'siphon plugins --help')\n"},
        {"inspect", "a", "b",
         "siphon plugins inspect: one NAME expected, got another: 'b' (see 'siphon plugins "
         "inspect --help')\n"},
        {"exists", "abi-good-sink", "--atleast-version",
         "siphon plugins exists: --atleast-version needs a VERSION\n"},
        {"exists", "--version", NULL,
         "siphon plugins exists: unknown option '--version' (see 'siphon plugins exists "
         "--help')\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *argv[5] = {"plugins", cases[i].a, cases[i].b, cases[i].c, NULL};
        sxt_cmd_output o = sxt_abi_plugins_cmd(&reg, argv);
        cr_expect_eq(o.rc, SX_EXIT_USAGE, "case %zu", i);
        cr_expect_str_eq(o.err, cases[i].err);
        sxt_cmd_output_free(&o);
    }
    sxt_cmd_output missing = RUN("inspect");
    cr_expect_eq(missing.rc, SX_EXIT_USAGE);
    cr_expect(strncmp(missing.err, "siphon plugins inspect: NAME is missing\n", 40) == 0, "%s",
              missing.err);
    sxt_cmd_output_free(&missing);
    sxt_cmd_output v = RUN("exists", "x", "--atleast-version", "latest");
    cr_expect_eq(v.rc, SX_EXIT_USAGE);
    sxt_cmd_output_free(&v);
}

Test(cmd_plugins, every_form_has_help, .init = load_good_only, .fini = unload)
{
    const char *const forms[][3] = {
        {"--help", NULL, NULL}, {"-h", NULL, NULL}, {"inspect", "--help", NULL},
        {"exists", "-h", NULL}, {"list", "--help", NULL},
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        const char *argv[4] = {"plugins", forms[i][0], forms[i][1], NULL};
        sxt_cmd_output o = sxt_abi_plugins_cmd(&reg, argv);
        cr_expect_eq(o.rc, SX_EXIT_OK);
        cr_expect(strncmp(o.out, "Usage: siphon plugins", 21) == 0, "%s", o.out);
        cr_expect_str_empty(o.err);
        sxt_cmd_output_free(&o);
    }
}

Test(cmd_plugins, the_command_prints_on_stdout, .init = load_good_only, .fini = unload)
{
    /* Swap a file in for stdout around the call, in this process: what the
     * real entry point writes must land on file descriptor 1. */
    char *out_path = sxt_strf("%s/stdout.txt", dir);
    int file = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert(file >= 0);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    cr_assert(saved >= 0);
    cr_assert_eq(dup2(file, STDOUT_FILENO), STDOUT_FILENO);
    char *exists[] = {"plugins", "exists", "good_items", NULL};
    int rc_exists = sx_cmd_plugins(3, exists, &reg);
    char *list[] = {"plugins", NULL};
    int rc_list = sx_cmd_plugins(1, list, &reg);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    close(file);
    cr_expect_eq(rc_exists, SX_EXIT_OK);
    cr_expect_eq(rc_list, SX_EXIT_OK);
    char *text = sxt_read_file(out_path, NULL);
    cr_assert_not_null(text);
    cr_expect(strncmp(text, "Search path: ", 13) == 0, "%s", text);
    cr_expect(strstr(text, "Plugins (2):") != NULL, "%s", text);
    free(text);
    free(out_path);
}

Test(cmd_plugins, versions_compare_part_by_part)
{
    cr_expect_eq(sx_version_compare("1.2.3", "1.2.3"), 0);
    cr_expect_eq(sx_version_compare("1.2", "1.2.0"), 0);
    cr_expect_lt(sx_version_compare("1.9", "1.10"), 0);
    cr_expect_gt(sx_version_compare("2.0", "1.99.99"), 0);
    cr_expect_lt(sx_version_compare("1.0.0-rc1", "1.0.0"), 0);
    cr_expect_gt(sx_version_compare("1.0.0", "1.0.0-rc1"), 0);
    cr_expect_lt(sx_version_compare("1.0.0-rc1", "1.0.0-rc2"), 0);
    cr_expect_gt(sx_version_compare("1.0.1", "1.0"), 0);
}
