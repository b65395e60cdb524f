#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "catalog.h"
#include "config.h"
#include "fake_registry.h"
#include "json_file.h"
#include "proc.h"

#define expect_contains(text, needle)                                                      \
    cr_assert(strstr((text), (needle)) != NULL, "expected [%s] in [%s]", (needle), (text))

static sx_registry *reg;
static sx_source *src;
static sx_catalog cat;
static sx_error err;

static void setup(void)
{
    reg = sxt_registry_dinamize_like();
    src = reg->sources[0];
    memset(&cat, 0, sizeof cat);
    sx_error_clear(&err);
}

static void teardown(void)
{
    sx_catalog_free(&cat);
    sxt_registry_free(reg);
}

TestSuite(catalog, .init = setup, .fini = teardown);

/* Parses a catalog document given as text; returns sx_catalog_from_json's result. */
static int read_catalog(const char *text)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    cr_assert_not_null(doc, "test catalog does not parse: %s", jerr.text);
    int rc = sx_catalog_from_json(&cat, doc, "k.json", src, &err);
    json_decref(doc);
    return rc;
}

/* A catalog holding only the contacts stream with the given metadata array. */
static int read_contacts(const char *metadata)
{
    char *text = sxt_strf("{\"streams\": [{\"tap_stream_id\": \"contacts\", \"metadata\": %s}]}",
                          metadata);
    int rc = read_catalog(text);
    free(text);
    return rc;
}

static const sx_catalog_entry *entry(const char *name)
{
    const sx_catalog_entry *e = sx_catalog_find(&cat, name);
    cr_assert_not_null(e, "no entry %s", name);
    return e;
}

static const json_t *find_metadata(const json_t *doc, const char *stream, const char *crumb)
{
    size_t i, k;
    const json_t *s, *m;
    json_array_foreach(json_object_get(doc, "streams"), i, s) {
        if (strcmp(json_string_value(json_object_get(s, "tap_stream_id")), stream) != 0)
            continue;
        json_array_foreach(json_object_get(s, "metadata"), k, m) {
            char *text = json_dumps(json_object_get(m, "breadcrumb"), JSON_COMPACT);
            int same = strcmp(text, crumb) == 0;
            free(text);
            if (same)
                return json_object_get(m, "metadata");
        }
    }
    return NULL;
}

static char *compact(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* --- the default catalog and discover output --- */

Test(catalog, without_a_catalog_every_stream_and_property_is_selected)
{
    cr_assert_eq(sx_catalog_default(&cat, src, &err), 0);
    cr_assert_eq(cat.n, 5);
    for (size_t i = 0; i < cat.n; i++) {
        cr_assert(cat.entries[i].selected);
        cr_assert_null(cat.entries[i].properties);
        cr_assert(sx_catalog_property_selected(&cat.entries[i], "anything"));
    }
    cr_assert_str_eq(cat.entries[0].stream->vt.base.name, "contact_lists");
    cr_assert(json_equal(cat.entries[1].schema, src->streams[1]->schema));
}

Test(catalog, discover_output_carries_the_standard_metadata)
{
    cr_assert_eq(sx_catalog_default(&cat, src, &err), 0);
    json_t *doc = sx_catalog_to_json(&cat);

    char *root = compact(find_metadata(doc, "contacts", "[]"));
    cr_assert_str_eq(root, "{\"inclusion\":\"available\",\"parent-tap-stream-id\":\"contact_lists\","
                           "\"replication-key\":\"insert_date\",\"replication-method\":"
                           "\"INCREMENTAL\",\"selected\":true,\"selected-by-default\":true,"
                           "\"table-key-properties\":[\"code\"],\"valid-replication-keys\":"
                           "[\"insert_date\"]}");
    free(root);

    char *code = compact(find_metadata(doc, "contacts", "[\"properties\",\"code\"]"));
    cr_assert_str_eq(code, "{\"inclusion\":\"automatic\"}");
    free(code);
    char *rk = compact(find_metadata(doc, "contacts", "[\"properties\",\"insert_date\"]"));
    cr_assert_str_eq(rk, "{\"inclusion\":\"automatic\"}");
    free(rk);
    char *email = compact(find_metadata(doc, "contacts", "[\"properties\",\"email\"]"));
    cr_assert_str_eq(email, "{\"inclusion\":\"available\",\"selected\":true}");
    free(email);
    cr_assert_not_null(find_metadata(doc, "contacts",
                                     "[\"properties\",\"custom_fields\",\"properties\",\"cmp1\"]"));

    char *teams = compact(find_metadata(doc, "teams", "[]"));
    cr_assert_str_eq(teams, "{\"forced-replication-method\":\"FULL_TABLE\",\"inclusion\":"
                            "\"available\",\"replication-method\":\"FULL_TABLE\",\"selected\":true,"
                            "\"selected-by-default\":true,\"table-key-properties\":[\"code\"]}");
    free(teams);

    const json_t *first = json_array_get(json_object_get(doc, "streams"), 1);
    cr_assert_str_eq(json_string_value(json_object_get(first, "tap_stream_id")), "contacts");
    cr_assert_str_eq(json_string_value(json_object_get(first, "stream")), "contacts");
    cr_assert_str_eq(json_string_value(json_object_get(first, "replication_key")), "insert_date");
    cr_assert_str_eq(json_string_value(json_object_get(first, "replication_method")),
                     "INCREMENTAL");
    char *keys = compact(json_object_get(first, "key_properties"));
    cr_assert_str_eq(keys, "[\"code\"]");
    free(keys);
    cr_assert(json_is_object(json_object_get(first, "schema")));
    json_decref(doc);
}

Test(catalog, discover_output_reads_back_to_the_same_selection)
{
    cr_assert_eq(read_contacts("[{\"breadcrumb\": [], \"metadata\": {\"selected\": true}},"
                               " {\"breadcrumb\": [\"properties\", \"email\"], \"metadata\": "
                               "{\"selected\": false}}]"), 0, "%s", err.msg);
    json_t *first = sx_catalog_to_json(&cat);
    sx_catalog_free(&cat);
    cr_assert_eq(sx_catalog_from_json(&cat, first, "round.json", src, &err), 0, "%s", err.msg);
    cr_assert(entry("contacts")->selected);
    cr_assert_not(entry("teams")->selected);
    cr_assert_not(sx_catalog_property_selected(entry("contacts"), "email"));
    cr_assert(sx_catalog_property_selected(entry("contacts"), "name"));
    json_t *second = sx_catalog_to_json(&cat);
    char *a = compact(first), *b = compact(second);
    cr_assert_str_eq(a, b, "the catalog changed on a round trip:\n%s\n%s", a, b);
    free(a);
    free(b);
    json_decref(first);
    json_decref(second);
}

/* --- the seven selection rules, each on its own --- */

Test(catalog, rule1_no_metadata_at_all_selects_stream_and_properties)
{
    cr_assert_eq(read_contacts("[]"), 0, "%s", err.msg);
    const sx_catalog_entry *e = entry("contacts");
    cr_assert(e->selected);
    cr_assert_null(e->properties);
    cr_assert(sx_catalog_property_selected(e, "email"));
}

Test(catalog, rule2_deselected_parent_deselects_a_selected_property)
{
    cr_assert_eq(read_contacts("[{\"breadcrumb\": [], \"metadata\": {\"selected\": true}},"
                               " {\"breadcrumb\": [\"properties\", \"custom_fields\"], "
                               "\"metadata\": {\"selected\": false}},"
                               " {\"breadcrumb\": [\"properties\", \"custom_fields\", "
                               "\"properties\", \"cmp1\"], \"metadata\": {\"selected\": true}}]"),
                 0, "%s", err.msg);
    json_t *rec = json_pack("{s:s, s:{s:s, s:s}}", "code", "1", "custom_fields", "cmp1", "a",
                            "cmp2", "b");
    sx_catalog_filter_record(entry("contacts"), rec);
    char *got = compact(rec);
    cr_assert_str_eq(got, "{\"code\":\"1\"}");
    free(got);
    json_decref(rec);
}

Test(catalog, rule2_deselected_stream_deselects_its_properties)
{
    cr_assert_eq(read_contacts("[{\"breadcrumb\": [], \"metadata\": {\"selected\": false}},"
                               " {\"breadcrumb\": [\"properties\", \"email\"], \"metadata\": "
                               "{\"selected\": true}}]"), 0, "%s", err.msg);
    cr_assert_not(entry("contacts")->selected);
    cr_assert_not(sx_catalog_property_selected(entry("contacts"), "email"));
}

Test(catalog, rule3_unsupported_is_deselected_even_when_selected)
{
    cr_assert_eq(read_contacts("[{\"breadcrumb\": [], \"metadata\": {\"selected\": true}},"
                               " {\"breadcrumb\": [\"properties\", \"email\"], \"metadata\": "
                               "{\"inclusion\": \"unsupported\", \"selected\": true}}]"),
                 0, "%s", err.msg);
    cr_assert_not(sx_catalog_property_selected(entry("contacts"), "email"));
    cr_assert(sx_catalog_property_selected(entry("contacts"), "name"));
}

Test(catalog, rule4_automatic_is_selected_even_when_deselected)
{
    cr_assert_eq(read_contacts("[{\"breadcrumb\": [], \"metadata\": {\"selected\": true}},"
                               " {\"breadcrumb\": [\"properties\", \"insert_date\"], "
                               "\"metadata\": {\"inclusion\": \"automatic\", \"selected\": false}}]"),
                 0, "%s", err.msg);
    cr_assert(sx_catalog_property_selected(entry("contacts"), "insert_date"));
}

Test(catalog, rule5_explicit_selected_wins_over_selected_by_default)
{
    cr_assert_eq(read_contacts("[{\"breadcrumb\": [], \"metadata\": {\"selected\": false, "
                               "\"selected-by-default\": true}}]"), 0, "%s", err.msg);
    cr_assert_not(entry("contacts")->selected);
}

Test(catalog, rule6_selected_by_default_applies_without_selected)
{
    cr_assert_eq(read_contacts("[{\"breadcrumb\": [], \"metadata\": {\"selected-by-default\": "
                               "false}}]"), 0, "%s", err.msg);
    cr_assert_not(entry("contacts")->selected);
    sx_catalog_free(&cat);
    cr_assert_eq(read_contacts("[{\"breadcrumb\": [], \"metadata\": {\"selected-by-default\": "
                               "true}}]"), 0, "%s", err.msg);
    cr_assert(entry("contacts")->selected);
}

Test(catalog, rule7_property_without_selection_metadata_inherits_its_parent)
{
    cr_assert_eq(read_contacts("[{\"breadcrumb\": [], \"metadata\": {\"selected\": true}},"
                               " {\"breadcrumb\": [\"properties\", \"email\"], \"metadata\": "
                               "{\"inclusion\": \"available\"}}]"), 0, "%s", err.msg);
    cr_assert(sx_catalog_property_selected(entry("contacts"), "email"));
}

Test(catalog, rule7_stream_with_metadata_but_no_selection_is_not_selected)
{
    /* No parent to inherit from: false. */
    cr_assert_eq(read_contacts("[{\"breadcrumb\": [], \"metadata\": {\"inclusion\": "
                               "\"available\"}}]"), 0, "%s", err.msg);
    cr_assert_not(entry("contacts")->selected);
}

/* --- the rest of the SDK's behaviour --- */

Test(catalog, stream_without_stream_level_metadata_is_selected)
{
    cr_assert_eq(read_contacts("[{\"breadcrumb\": [\"properties\", \"email\"], \"metadata\": "
                               "{\"inclusion\": \"available\"}}]"), 0, "%s", err.msg);
    cr_assert(entry("contacts")->selected);
}

Test(catalog, string_booleans_are_accepted)
{
    cr_assert_eq(read_contacts("[{\"breadcrumb\": [], \"metadata\": {\"selected\": \"true\"}},"
                               " {\"breadcrumb\": [\"properties\", \"email\"], \"metadata\": "
                               "{\"selected\": \"false\"}}]"), 0, "%s", err.msg);
    cr_assert(entry("contacts")->selected);
    cr_assert_not(sx_catalog_property_selected(entry("contacts"), "email"));
    cr_assert(sx_catalog_property_selected(entry("contacts"), "name"));
}

Test(catalog, a_boolean_that_is_not_one_names_its_place)
{
    cr_assert_eq(read_contacts("[{\"breadcrumb\": [], \"metadata\": {\"selected\": true}},"
                               " {\"breadcrumb\": [\"properties\", \"email\"], \"metadata\": "
                               "{\"selected\": \"yes\"}}]"), -1);
    cr_assert_eq(err.exit_code, SX_EXIT_CONFIG);
    cr_assert_str_eq(err.msg, "catalog file 'k.json': streams[0].metadata[1].metadata.selected: "
                              "expected a boolean (true or false), found \"yes\"");
}

Test(catalog, key_properties_cannot_be_deselected)
{
    cr_assert_eq(read_contacts("[{\"breadcrumb\": [], \"metadata\": {\"selected\": true}},"
                               " {\"breadcrumb\": [\"properties\", \"code\"], \"metadata\": "
                               "{\"inclusion\": \"available\", \"selected\": false}}]"),
                 0, "%s", err.msg);
    cr_assert(sx_catalog_property_selected(entry("contacts"), "code"));
    json_t *rec = json_pack("{s:s}", "code", "1");
    sx_catalog_filter_record(entry("contacts"), rec);
    cr_assert_not_null(json_object_get(rec, "code"));
    json_decref(rec);
}

Test(catalog, legacy_properties_put_selected_inside_the_schema)
{
    cr_assert_eq(read_catalog("{\"streams\": [{\"tap_stream_id\": \"contacts\", \"schema\": "
                              "{\"type\": \"object\", \"selected\": true, \"properties\": {"
                              "\"code\": {\"type\": \"string\"}, \"email\": {\"type\": \"string\", "
                              "\"selected\": \"false\"}, \"name\": {\"type\": \"string\"}}}},"
                              " {\"stream\": \"teams\", \"schema\": {\"type\": \"object\", "
                              "\"selected\": false, \"properties\": {}}}]}"),
                 0, "%s", err.msg);
    const sx_catalog_entry *e = entry("contacts");
    cr_assert(e->selected);
    cr_assert_not(sx_catalog_property_selected(e, "email"));
    cr_assert(sx_catalog_property_selected(e, "name"));
    cr_assert(json_is_true(json_object_get(e->properties, "name")));
    cr_assert_null(json_object_get(e->properties, "email"));
    cr_assert_not(entry("teams")->selected);
}

Test(catalog, streams_left_out_of_the_document_are_not_read)
{
    cr_assert_eq(read_contacts("[]"), 0, "%s", err.msg);
    cr_assert(entry("contacts")->selected);
    cr_assert_not(entry("contact_lists")->selected);
    cr_assert_not(entry("teams")->selected);
    /* They still have their schema, for a parent read on a child's behalf. */
    cr_assert(json_equal(entry("teams")->schema, src->streams[4]->schema));
}

Test(catalog, schema_in_the_document_is_used_as_given)
{
    cr_assert_eq(read_catalog("{\"streams\": [{\"tap_stream_id\": \"teams\", \"schema\": "
                              "{\"type\": \"object\", \"properties\": {\"code\": {}, \"extra\": "
                              "{}}}}]}"), 0, "%s", err.msg);
    cr_assert_not_null(json_object_get(json_object_get(entry("teams")->schema, "properties"),
                                       "extra"));
}

Test(catalog, unknown_stream_suggests_a_stream_of_the_source)
{
    cr_assert_eq(read_catalog("{\"streams\": [{\"tap_stream_id\": \"contcts\"}]}"), -1);
    cr_assert_eq(err.exit_code, SX_EXIT_CONFIG);
    expect_contains(err.msg, "catalog file 'k.json': streams[0]: unknown stream 'contcts' (did you "
                             "mean 'contacts'?); streams of source 'dinamize': contact_lists, ");
}

Test(catalog, a_stream_listed_twice_is_refused)
{
    cr_assert_eq(read_catalog("{\"streams\": [{\"tap_stream_id\": \"teams\"}, {\"stream\": "
                              "\"teams\"}]}"), -1);
    cr_assert_str_eq(err.msg, "catalog file 'k.json': streams[1]: stream 'teams' appears twice "
                              "(first as streams[0])");
}

Test(catalog, malformed_documents_name_the_json_path)
{
    cr_assert_eq(read_catalog("{\"stream\": []}"), -1);
    cr_assert_str_eq(err.msg, "catalog file 'k.json': streams: expected an array of streams");
    sx_error_clear(&err);
    cr_assert_eq(read_contacts("{}"), -1);
    cr_assert_str_eq(err.msg, "catalog file 'k.json': streams[0].metadata: expected an array, "
                              "found an object");
    sx_error_clear(&err);
    cr_assert_eq(read_contacts("[{\"breadcrumb\": \"properties\", \"metadata\": {}}]"), -1);
    cr_assert_str_eq(err.msg, "catalog file 'k.json': streams[0].metadata[0].breadcrumb: expected "
                              "an array of strings, found \"properties\"");
    sx_error_clear(&err);
    cr_assert_eq(read_contacts("[{\"breadcrumb\": [], \"metadata\": {\"inclusion\": \"maybe\"}}]"),
                 -1);
    cr_assert_str_eq(err.msg, "catalog file 'k.json': streams[0].metadata[0].metadata.inclusion: "
                              "expected one of available|automatic|unsupported, found \"maybe\"");
    sx_error_clear(&err);
    cr_assert_eq(read_catalog("{\"streams\": [{\"tap_stream_id\": \"teams\", \"schema\": 3}]}"), -1);
    cr_assert_str_eq(err.msg, "catalog file 'k.json': streams[0].schema: expected a JSON Schema "
                              "object, found 3");
}

Test(catalog, schema_drift_keeps_unknown_properties_of_a_selected_stream)
{
    cr_assert_eq(read_contacts("[{\"breadcrumb\": [], \"metadata\": {\"selected\": true}},"
                               " {\"breadcrumb\": [\"properties\", \"email\"], \"metadata\": "
                               "{\"selected\": false}}]"), 0, "%s", err.msg);
    json_t *rec = json_pack("{s:s, s:s, s:s, s:s}", "code", "1", "email", "a@b", "name", "Ana",
                            "brand_new", "x");
    sx_catalog_filter_record(entry("contacts"), rec);
    char *got = compact(rec);
    cr_assert_str_eq(got, "{\"brand_new\":\"x\",\"code\":\"1\",\"name\":\"Ana\"}");
    free(got);
    json_decref(rec);
}

Test(catalog, nested_properties_are_filtered_too)
{
    cr_assert_eq(read_contacts("[{\"breadcrumb\": [], \"metadata\": {\"selected\": true}},"
                               " {\"breadcrumb\": [\"properties\", \"custom_fields\", "
                               "\"properties\", \"cmp2\"], \"metadata\": {\"selected\": false}}]"),
                 0, "%s", err.msg);
    json_t *rec = json_pack("{s:s, s:{s:s, s:s}}", "code", "1", "custom_fields", "cmp1", "a",
                            "cmp2", "b");
    sx_catalog_filter_record(entry("contacts"), rec);
    char *got = compact(rec);
    cr_assert_str_eq(got, "{\"code\":\"1\",\"custom_fields\":{\"cmp1\":\"a\"}}");
    free(got);
    json_decref(rec);
}

/* --- replication settings in the catalog --- */

Test(catalog, replication_method_comes_from_metadata_or_the_entry)
{
    cr_assert_eq(read_catalog("{\"streams\": [{\"tap_stream_id\": \"contacts\", \"metadata\": "
                              "[{\"breadcrumb\": [], \"metadata\": {\"replication-method\": "
                              "\"FULL_TABLE\"}}]}, {\"tap_stream_id\": \"fields\", "
                              "\"replication_method\": \"INCREMENTAL\", \"replication_key\": "
                              "\"insert_date\"}]}"), 0, "%s", err.msg);
    cr_assert_eq(sx_catalog_sync_mode(entry("contacts")), SIPHON_SYNC_FULL_TABLE);
    cr_assert_str_eq(entry("fields")->replication_key, "insert_date");
    cr_assert_eq(sx_catalog_sync_mode(entry("fields")), SIPHON_SYNC_INCREMENTAL);
    cr_assert_eq(sx_catalog_sync_mode(entry("teams")), SIPHON_SYNC_FULL_TABLE);
    cr_assert_eq(sx_catalog_sync_mode(entry("contact_lists")), SIPHON_SYNC_INCREMENTAL);
}

Test(catalog, replication_settings_the_stream_cannot_honour_are_refused)
{
    cr_assert_eq(read_catalog("{\"streams\": [{\"tap_stream_id\": \"teams\", \"metadata\": "
                              "[{\"breadcrumb\": [], \"metadata\": {\"replication-method\": "
                              "\"INCREMENTAL\"}}]}]}"), -1);
    cr_assert_str_eq(err.msg, "catalog file 'k.json': streams[0].metadata.replication-method: "
                              "INCREMENTAL needs a replication key, and stream 'teams' has none "
                              "(it is always read FULL_TABLE)");
    sx_error_clear(&err);
    cr_assert_eq(read_catalog("{\"streams\": [{\"tap_stream_id\": \"contacts\", "
                              "\"replication_method\": \"LOG_BASED\"}]}"), -1);
    expect_contains(err.msg, "streams[0].replication_method: LOG_BASED is not supported by "
                             "stream 'contacts'");
    sx_error_clear(&err);
    cr_assert_eq(read_catalog("{\"streams\": [{\"tap_stream_id\": \"contacts\", "
                              "\"replication_key\": \"email\"}]}"), -1);
    expect_contains(err.msg, "streams[0].replication_key: 'email' is not a valid replication key "
                             "of stream 'contacts' (valid: insert_date)");
}

/* --- narrowing the selection --- */

Test(catalog, select_keeps_only_the_named_streams)
{
    cr_assert_eq(sx_catalog_default(&cat, src, &err), 0);
    cr_assert_eq(sx_catalog_select(&cat, " contacts , teams,", &err), 0, "%s", err.msg);
    cr_assert(entry("contacts")->selected);
    cr_assert(entry("teams")->selected);
    cr_assert_not(entry("contact_lists")->selected);
    cr_assert_not(entry("fields")->selected);
}

Test(catalog, select_accepts_group_names)
{
    cr_assert_eq(sx_catalog_default(&cat, src, &err), 0);
    cr_assert_eq(sx_catalog_select(&cat, "people", &err), 0, "%s", err.msg);
    cr_assert(entry("contacts")->selected);
    cr_assert(entry("teams")->selected);
    cr_assert_not(entry("contact_lists")->selected);
}

Test(catalog, select_of_an_unknown_name_suggests_a_stream_or_group)
{
    cr_assert_eq(sx_catalog_default(&cat, src, &err), 0);
    cr_assert_eq(sx_catalog_select(&cat, "contacts,peple", &err), -1);
    cr_assert_eq(err.exit_code, SX_EXIT_CONFIG);
    cr_assert_str_eq(err.msg, "selection: unknown stream or group 'peple' (did you mean "
                              "'people'?); known: contact_lists, lists, contacts, people, fields, "
                              "list_of_values, teams");
}

Test(catalog, select_does_not_bring_back_what_the_catalog_deselected)
{
    cr_assert_eq(read_contacts("[]"), 0, "%s", err.msg);
    cr_assert_eq(sx_catalog_select(&cat, "lists", &err), 0, "%s", err.msg);
    cr_assert(entry("contacts")->selected);
    cr_assert_not(entry("contact_lists")->selected);
    sx_error_clear(&err);
    cr_assert_eq(sx_catalog_select(&cat, "teams", &err), -1);
    cr_assert_str_eq(err.msg, "selection: none of 'teams' is selected (the catalog or the config "
                              "deselects them)");
}

Test(catalog, select_from_a_json_array)
{
    cr_assert_eq(sx_catalog_default(&cat, src, &err), 0);
    json_t *names = json_pack("[s]", "fields");
    cr_assert_eq(sx_catalog_select_json(&cat, names, &err), 0, "%s", err.msg);
    cr_assert(entry("fields")->selected);
    cr_assert_not(entry("contacts")->selected);
    json_decref(names);
}

Test(catalog, config_selection_and_replication_method_apply_over_the_catalog)
{
    char *dir = sxt_tmpdir("catalog");
    char *path = sxt_strf("%s/c.json", dir);
    cr_assert_eq(sxt_write_file(path, "{\"streams\": {\"teams\": {\"selected\": \"false\"}, "
                                      "\"fields\": {\"selected\": true}, \"contacts\": "
                                      "{\"replication_method\": \"FULL_TABLE\"}}, "
                                      "\"select\": [\"people\", \"fields\"]}"), 0);
    sx_config cfg;
    cr_assert_eq(sx_config_load(&cfg, path, &err), 0, "%s", err.msg);
    cr_assert_eq(sx_config_resolve(&cfg, reg, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(read_contacts("[]"), 0, "%s", err.msg); /* only contacts selected */
    cr_assert_eq(sx_catalog_apply_config(&cat, &cfg, &err), 0, "%s", err.msg);
    cr_assert(entry("contacts")->selected);
    cr_assert_eq(sx_catalog_sync_mode(entry("contacts")), SIPHON_SYNC_FULL_TABLE);
    cr_assert(entry("fields")->selected, "streams.fields.selected true overrides the catalog");
    cr_assert_not(entry("teams")->selected);
    cr_assert_not(entry("contact_lists")->selected);
    sx_config_free(&cfg);
    sxt_rmtree(dir);
    free(path);
    free(dir);
}

Test(catalog, config_selecting_a_deselected_stream_keeps_its_property_choices)
{
    char *dir = sxt_tmpdir("catalog");
    char *path = sxt_strf("%s/c.json", dir);
    cr_assert_eq(sxt_write_file(path, "{\"streams\": {\"contacts\": {\"selected\": true}}}"), 0);
    sx_config cfg;
    cr_assert_eq(sx_config_load(&cfg, path, &err), 0, "%s", err.msg);
    cr_assert_eq(sx_config_resolve(&cfg, reg, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(read_contacts("[{\"breadcrumb\": [], \"metadata\": {\"selected\": false}},"
                               " {\"breadcrumb\": [\"properties\", \"email\"], \"metadata\": "
                               "{\"selected\": false}}]"), 0, "%s", err.msg);
    cr_assert_not(entry("contacts")->selected);
    cr_assert_not(sx_catalog_property_selected(entry("contacts"), "name"));
    cr_assert_eq(sx_catalog_apply_config(&cat, &cfg, &err), 0, "%s", err.msg);
    cr_assert(entry("contacts")->selected);
    cr_assert(sx_catalog_property_selected(entry("contacts"), "name"));
    cr_assert_not(sx_catalog_property_selected(entry("contacts"), "email"));
    sx_config_free(&cfg);
    sxt_rmtree(dir);
    free(path);
    free(dir);
}

Test(catalog, catalog_file_errors_name_the_file_line_and_column)
{
    char *dir = sxt_tmpdir("catalog");
    char *path = sxt_strf("%s/k.json", dir);
    cr_assert_eq(sxt_write_file(path, "{\"streams\": [\n  {\"tap_stream_id\": \"teams\"\n]}"), 0);
    cr_assert_eq(sx_catalog_load_file(&cat, path, src, &err), -1);
    cr_assert_eq(err.exit_code, SX_EXIT_CONFIG);
    char *want = sxt_strf("catalog file '%s', line 3, column 1: expected '}' near ']'", path);
    cr_assert_str_eq(err.msg, want);
    free(want);
    cr_assert_eq(sxt_write_file(path, "{\"streams\": [{\"tap_stream_id\": \"teams\"}]}"), 0);
    sx_error_clear(&err);
    cr_assert_eq(sx_catalog_load_file(&cat, path, src, &err), 0, "%s", err.msg);
    cr_assert(entry("teams")->selected);
    cr_assert_not(entry("contacts")->selected);
    sxt_rmtree(dir);
    free(path);
    free(dir);
}
