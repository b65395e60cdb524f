/*
 * Every refusal the loader makes, one fixture each, with the exact message.
 * Each fixture is loaded from a folder of its own (plus the good plugin it
 * clashes with, for the duplicates); then all of them are loaded from one
 * folder, where each must still get its own message and the good plugins must
 * still load.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi_support.h"
#include "plugin_check.h"
#include "proc.h"

/*
 * X(fixture, companion, expected): companion is a good fixture staged first
 * ("" for none). The expected text may hold placeholders for values that
 * depend on the build: {DIR} the staging folder, {MAJOR}, {MINOR}, {SIG}, and
 * struct sizes ({DESC_MIN}, {STREAM_MAX}, {SOURCE_MAX}, ...; "+N" adds N).
 */
#define NAME_RULE "(letters, digits, '_', '-' and '.' only, not starting with '-')"
#define LDD_HINT(f) " (check its libraries with 'ldd {DIR}/" f ".so')"
#define REFUSALS(X) \
    X(no_entry, "", "not a siphon plugin: no siphon_plugin_entry") \
    X(entry_null, "", \
      "siphon_plugin_entry returned NULL (the plugin declined to load in this host)") \
    X(missing_dep, "", \
      "cannot load: libabi_never_installed.so: cannot open shared object file: " \
      "No such file or directory" \
      LDD_HINT("missing_dep")) \
    X(bad_magic, "", "magic: plugin has 0x00000000, host expects 0x53495048") \
    X(bad_major, "", "ABI major: plugin has {MAJOR+1}, host has {MAJOR}") \
    X(newer_minor, "", \
      "ABI minor: plugin has {MINOR+7}, host has {MINOR} (built against a newer SDK)") \
    X(small_descriptor, "", "descriptor size: plugin has 24, host expects at least {DESC_MIN}") \
    X(bad_build_sig, "", "build signature: plugin has \"ptr4;jansson2\", host has \"{SIG}\"") \
    X(no_build_sig, "", "build signature: plugin has none, host has \"{SIG}\"") \
    X(missing_name, "", "descriptor field 'name': missing") \
    X(empty_name, "", "descriptor field 'name': empty") \
    X(invalid_name, "", \
      "descriptor field 'name': \"bad name\\x0a\" is not a valid name " NAME_RULE) \
    X(missing_version, "", "descriptor field 'version': missing") \
    X(missing_license, "", "descriptor field 'license': missing") \
    X(missing_description, "", "descriptor field 'description': missing") \
    X(bad_utf8_description, "", "descriptor field 'description': not valid UTF-8") \
    X(no_components, "", "descriptor field 'components': missing") \
    X(empty_components, "", \
      "descriptor field 'components': empty (a plugin declares at least one stream or sink)") \
    X(oversize_component, "", \
      "component 0 ('odd_items') struct size: plugin has {STREAM_MAX+64}, host supports at most " \
      "{STREAM_MAX} (built against a newer SDK)") \
    X(undersize_component, "", \
      "component 0 struct size: plugin has 8, host needs at least {COMPONENT_MIN} (the component " \
      "header)") \
    X(unknown_kind, "", \
      "component 0 ('odd_items') kind: plugin has 9, host knows 1 (stream) and 2 (sink)") \
    X(missing_component_name, "", "component 0: field 'name': missing") \
    X(invalid_component_name, "", \
      "component 0: field 'name': \"odd items\" is not a valid name " NAME_RULE) \
    X(stream_no_read, "", "stream 'broken_items': required callback 'read' is missing") \
    X(stream_truncated_read, "", "stream 'broken_items': required callback 'read' is missing") \
    X(stream_no_source, "", "stream 'broken_items': required field 'source' is missing") \
    X(stream_no_partition, "", \
      "stream 'broken_items': required callback 'partition' is missing (the stream has a parent, " \
      "'good_items')") \
    X(stream_no_keys, "", \
      "stream 'broken_items': required field 'key_properties' is missing (an empty list is " \
      "allowed)") \
    X(stream_no_discover, "", \
      "stream 'broken_items': capability DISCOVER needs callback 'discover', which is missing") \
    X(stream_no_schema, "", \
      "stream 'broken_items': required field 'schema_json' is missing (a stream without the " \
      "DISCOVER capability declares its schema)") \
    X(stream_bad_schema, "", \
      "stream 'broken_items': schema_json does not parse: unexpected token near '}' (line 1, " \
      "column 34)") \
    X(stream_schema_not_object, "", \
      "stream 'broken_items': schema_json: a JSON object expected, found an array") \
    X(source_no_login, "", \
      "stream 'broken_items': source 'abi-login-src': required callback 'login' is missing (the " \
      "source sets auth_header)") \
    X(source_no_name, "", "stream 'broken_items': source field 'name': missing") \
    X(source_newer, "", \
      "stream 'broken_items': source struct size: plugin has {SOURCE_MAX+32}, host supports at " \
      "most {SOURCE_MAX} (built against a newer SDK)") \
    X(source_too_small, "", \
      "stream 'broken_items': source struct size: plugin has 4, host needs at least {SOURCE_MIN}") \
    X(sink_no_open, "", "sink 'broken_sink': required callback 'open' is missing") \
    X(sink_no_begin_stream, "", "sink 'broken_sink': required callback 'begin_stream' is missing") \
    X(sink_no_write_record, "", "sink 'broken_sink': required callback 'write_record' is missing") \
    X(sink_no_commit, "", "sink 'broken_sink': required callback 'commit' is missing") \
    X(sink_no_end_stream, "", "sink 'broken_sink': required callback 'end_stream' is missing") \
    X(sink_no_close, "", "sink 'broken_sink': required callback 'close' is missing") \
    X(sink_no_load_state, "", \
      "sink 'broken_sink': capability STATE_IN_SINK needs callback 'load_state', which is " \
      "missing") \
    X(option_size_small, "", \
      "stream 'opt_items': option_size: plugin has 8, host needs at least {OPTION_MIN}") \
    X(option_null_name, "", \
      "stream 'opt_items': option 1: name is missing (only the terminating entry has a NULL " \
      "name, and it has nothing else set)") \
    X(option_dup_name, "", "stream 'opt_items': option 'limit': declared twice") \
    X(option_bad_type, "", \
      "stream 'opt_items': option 'limit': type: plugin has 9, host knows 1 to 5 (string, int, " \
      "number, bool, json)") \
    X(option_default_not_json, "", \
      "stream 'opt_items': option 'limit': default_json 'fifty' does not parse: invalid token " \
      "near 'fifty'") \
    X(option_default_wrong_type, "", \
      "stream 'opt_items': option 'limit': default_json '\"many\"' does not fit type int") \
    X(option_default_not_a_choice, "", \
      "stream 'opt_items': option 'mode': default '\"c\"' is not one of its choices a|b") \
    X(option_choices_on_int, "", \
      "stream 'opt_items': option 'limit': choices are allowed on string options only") \
    X(option_bad_env, "", \
      "stream 'opt_items': option 'token': env \"abi-token\" is not an environment variable name " \
      "(A-Z, 0-9, _)") \
    X(option_secret_default_hidden, "", \
      "stream 'opt_items': option 'password': default_json '(secret)' does not fit type int") \
    X(source_option_bad_default, "", \
      "stream 'opt_items': source 'abi-opt-src': option 'port': default_json '80.5' does not fit " \
      "type int") \
    X(twin_plugin_name, "good_stream", \
      "duplicate plugin 'abi-good-stream': already provided by {DIR}/good_stream.so") \
    X(twin_stream_name, "good_stream", \
      "duplicate stream 'good_items': already provided by {DIR}/good_stream.so") \
    X(twin_sink_name, "good_sink", \
      "duplicate sink 'good_sink': already provided by {DIR}/good_sink.so") \
    X(twin_source_mismatch, "good_stream", \
      "stream 'mismatch_items': source 'abi-src' differs from the one loaded from " \
      "{DIR}/good_stream.so: option 'user' has type int here, string there")

typedef struct refusal_case {
    const char *fixture;
    const char *companion;
    const char *expected;
} refusal_case;

#define AS_ROW(f, c, e) {#f, c, e},
static const refusal_case all_cases[] = {REFUSALS(AS_ROW)};
#define N_CASES (sizeof all_cases / sizeof all_cases[0])

/* The good fixtures: every one must load beside every bad one. */
static const char *const good_fixtures[] = {"good_stream", "good_sink", "older_layouts",
                                            "segv_in_read"};
#define N_GOOD (sizeof good_fixtures / sizeof good_fixtures[0])

/* Expands the placeholders of an expected message (malloc'd). */
static char *expand(const char *tmpl, const char *dir)
{
    const struct {
        const char *token;
        size_t value;
    } sizes[] = {
        {"{MAJOR}", SIPHON_ABI_MAJOR},
        {"{MINOR}", SIPHON_ABI_MINOR},
        {"{DESC_MIN}", SX_DESC_MIN_SIZE},
        {"{STREAM_MAX}", sizeof(siphon_stream_vtable)},
        {"{COMPONENT_MIN}", sizeof(siphon_component)},
        {"{SOURCE_MAX}", sizeof(siphon_source)},
        {"{SOURCE_MIN}", offsetof(siphon_source, name) + sizeof(const char *)},
        {"{OPTION_MIN}", offsetof(siphon_option, flags) + sizeof(uint32_t)},
    };
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    for (const char *p = tmpl; *p != '\0';) {
        if (*p != '{') {
            fputc(*p++, f);
            continue;
        }
        const char *close = strchr(p, '}');
        cr_assert_not_null(close, "unterminated placeholder in %s", tmpl);
        size_t tl = (size_t)(close - p) + 1;
        int done = 0;
        if (strncmp(p, "{DIR}", tl) == 0) {
            fputs(dir, f);
            done = 1;
        } else if (strncmp(p, "{SIG}", tl) == 0) {
            fputs(SIPHON_BUILD_SIG, f);
            done = 1;
        }
        for (size_t i = 0; !done && i < sizeof sizes / sizeof sizes[0]; i++) {
            size_t kl = strlen(sizes[i].token) - 1; /* without the closing brace */
            if (strncmp(p, sizes[i].token, kl) != 0)
                continue;
            size_t add = 0;
            if (p[kl] == '+')
                add = strtoul(p + kl + 1, NULL, 10);
            else if (p[kl] != '}')
                continue;
            fprintf(f, "%zu", sizes[i].value + add);
            done = 1;
        }
        cr_assert(done, "unknown placeholder in %s", tmpl);
        p += tl;
    }
    fclose(f);
    return out;
}

static void assert_refused(const sx_registry *reg, const char *dir, const refusal_case *c)
{
    char *path = sxt_strf("%s/%s.so", dir, c->fixture);
    char *expected = expand(c->expected, dir);
    const sx_refusal *r = sxt_abi_refusal(reg, path);
    cr_assert_not_null(r, "%s was not refused", path);
    cr_expect_str_eq(r->reason, expected, "%s:\n  got      %s\n  expected %s", c->fixture,
                     r->reason, expected);
    free(expected);
    free(path);
}

static void refused_alone(const char *fixture)
{
    const refusal_case *c = NULL;
    for (size_t i = 0; i < N_CASES; i++)
        if (strcmp(all_cases[i].fixture, fixture) == 0)
            c = &all_cases[i];
    cr_assert_not_null(c);
    const char *names[3] = {NULL, NULL, NULL};
    size_t n = 0;
    if (c->companion[0] != '\0')
        names[n++] = c->companion;
    names[n++] = c->fixture;
    char *dir = sxt_abi_stage(names);
    sx_registry reg;
    sxt_abi_load(&reg, dir);
    cr_expect_eq(reg.n_refusals, 1, "%s: %zu refusals, expected 1", c->fixture, reg.n_refusals);
    cr_expect_eq(reg.n_plugins, c->companion[0] != '\0' ? 1u : 0u);
    assert_refused(&reg, dir, c);
    sx_registry_free(&reg);
    sxt_rmtree(dir);
    free(dir);
}

/* One named test per fixture, so a failure says which refusal broke. */
#define AS_TEST(f, c, e)                                                                           \
    Test(refusal, f) { refused_alone(#f); }
REFUSALS(AS_TEST)

Test(refusal, every_bad_plugin_in_one_folder_is_refused_and_the_good_ones_still_load)
{
    const char *names[N_CASES + N_GOOD + 1];
    size_t n = 0;
    for (size_t i = 0; i < N_GOOD; i++)
        names[n++] = good_fixtures[i];
    for (size_t i = 0; i < N_CASES; i++)
        names[n++] = all_cases[i].fixture;
    names[n] = NULL;
    char *dir = sxt_abi_stage(names);
    sx_registry reg;
    sxt_abi_load(&reg, dir);

    cr_assert_eq(reg.n_plugins, N_GOOD, "%zu plugins loaded, expected %zu", reg.n_plugins,
                 (size_t)N_GOOD);
    for (size_t i = 0; i < N_GOOD; i++) {
        char *path = sxt_strf("%s/%s.so", dir, good_fixtures[i]);
        int found = 0;
        for (size_t j = 0; j < reg.n_plugins; j++)
            found |= strcmp(reg.plugins[j]->path, path) == 0;
        cr_expect(found, "%s did not load", path);
        free(path);
    }
    cr_expect_eq(reg.n_refusals, N_CASES);
    for (size_t i = 0; i < N_CASES; i++)
        assert_refused(&reg, dir, &all_cases[i]);
    cr_expect_not_null(sx_registry_stream(&reg, "good_items"));
    cr_expect_not_null(sx_registry_stream(&reg, "older_items"));
    cr_expect_not_null(sx_registry_sink(&reg, "good_sink"));
    sx_registry_free(&reg);
    sxt_rmtree(dir);
    free(dir);
}
