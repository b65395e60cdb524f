/*
 * Stream maps as a whole: building a stream's map from the config (merging,
 * options, patterns), the record changes, the schema and key properties that
 * follow them, the errors, and many threads applying one map.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "mask.h"
#include "sha256.h"
#include "test_stream_map_support.h"

static const char CONTACTS_SCHEMA[] =
    "{\"type\": \"object\", \"required\": [\"code\", \"email\", \"name\"], \"properties\": {"
    "\"code\": {\"type\": \"string\"}, "
    "\"email\": {\"type\": \"string\", \"format\": \"email\"}, "
    "\"name\": {\"type\": [\"string\", \"null\"]}, "
    "\"status\": {\"type\": \"string\"}, "
    "\"total_sents\": {\"type\": [\"string\", \"null\"]}, "
    "\"phone\": {\"type\": [\"string\", \"null\"]}}}";

static const char *const CONTACT_KEYS[] = {"code", NULL};

static const char CONTACT[] =
    "{\"code\": \"41\", \"email\": \"Ana@Example.com\", \"name\": \"Ana\", \"status\": \"V\", "
    "\"total_sents\": \"3\", \"phone\": \"11987654321\"}";

static void expect_keys(const sx_stream_map *m, const char *const *want)
{
    const char *const *got = sx_stream_map_key_properties(m);
    size_t i = 0;
    for (; want[i] != NULL; i++) {
        cr_assert_not_null(got[i], "key %zu missing, want '%s'", i, want[i]);
        cr_assert_str_eq(got[i], want[i]);
    }
    cr_assert_null(got[i], "unexpected key '%s'", got[i]);
}

static void expect_error(const char *config, const char *stream, const char *want)
{
    char *got = sxt_map_error(config, stream, CONTACTS_SCHEMA, CONTACT_KEYS, NULL);
    cr_expect_str_eq(got, want);
    free(got);
}

Test(stream_map, the_example_of_the_reference_hashes_computes_renames_and_drops)
{
    sx_stream_map *m = sxt_map(
        "{\"stream_maps\": {\"contacts\": {\"email\": \"sha256(lower(email))\", \"name\": null, "
        "\"email_domain\": \"email_domain(email)\", \"source\": \"'dinamize'\", "
        "\"contact_email\": \"email\", \"__alias__\": \"people\", "
        "\"__filter__\": \"status == 'V' and total_sents > 0\"}}}",
        "contacts", CONTACTS_SCHEMA, CONTACT_KEYS, NULL);
    json_t *out;
    char msg[512];
    cr_assert_eq(sxt_apply(m, CONTACT, &out, msg, sizeof msg), 1, "%s", msg);
    sxt_assert_json(out, "{\"code\": \"41\", "
                         "\"email\": \"8e43ca37701228e74983efdbd0cff5c16b3b1e5d4e29a7c05626d4d25a018e11\", "
                         "\"status\": \"V\", \"total_sents\": \"3\", \"phone\": \"11987654321\", "
                         "\"email_domain\": \"example.com\", \"source\": \"dinamize\", "
                         "\"contact_email\": \"Ana@Example.com\"}");
    cr_assert_str_eq(sx_stream_map_alias(m), "people");
    json_decref(out);
    sx_stream_map_free(m);
}

Test(stream_map, every_expression_reads_the_record_as_it_arrived)
{
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"contacts\": {\"a\": \"email\", "
                               "\"email\": \"upper(email)\", \"b\": \"email\"}}}",
                               "contacts", CONTACTS_SCHEMA, CONTACT_KEYS, NULL);
    json_t *out;
    char msg[512];
    cr_assert_eq(sxt_apply(m, CONTACT, &out, msg, sizeof msg), 1, "%s", msg);
    cr_assert_str_eq(json_string_value(json_object_get(out, "a")), "Ana@Example.com");
    cr_assert_str_eq(json_string_value(json_object_get(out, "b")), "Ana@Example.com");
    cr_assert_str_eq(json_string_value(json_object_get(out, "email")), "ANA@EXAMPLE.COM");
    json_decref(out);
    sx_stream_map_free(m);
}

Test(stream_map, the_filter_keeps_only_matching_records_and_compares_counts_as_numbers)
{
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"contacts\": {\"__filter__\": "
                               "\"status == 'V' and total_sents > 2\"}}}",
                               "contacts", CONTACTS_SCHEMA, CONTACT_KEYS, NULL);
    static const struct {
        const char *record;
        int keep;
    } cases[] = {
        {"{\"code\": \"1\", \"status\": \"V\", \"total_sents\": \"3\"}", 1},
        {"{\"code\": \"2\", \"status\": \"V\", \"total_sents\": \"10\"}", 1},
        {"{\"code\": \"3\", \"status\": \"V\", \"total_sents\": \"2\"}", 0},
        {"{\"code\": \"4\", \"status\": \"I\", \"total_sents\": \"30\"}", 0},
        {"{\"code\": \"5\", \"status\": \"V\"}", 0},
        {"{\"code\": \"6\", \"status\": \"V\", \"total_sents\": 7}", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *out;
        char msg[512];
        int rc = sxt_apply(m, cases[i].record, &out, msg, sizeof msg);
        cr_expect_eq(rc, cases[i].keep, "%s: %d (%s)", cases[i].record, rc, msg);
        /* A filtered record is left as it was. */
        sxt_assert_json(out, cases[i].record);
        json_decref(out);
    }
    sx_stream_map_free(m);
}

Test(stream_map, a_filter_error_names_the_filter)
{
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"contacts\": {\"__filter__\": "
                               "\"total_sents > 0\"}}}",
                               "contacts", CONTACTS_SCHEMA, CONTACT_KEYS, NULL);
    json_t *out;
    char msg[512];
    cr_assert_eq(sxt_apply(m, "{\"total_sents\": \"many\"}", &out, msg, sizeof msg), -1);
    cr_assert_str_eq(msg, "stream 'contacts', field '__filter__': cannot order a string and an "
                          "integer with '>' (the string is not a number)");
    json_decref(out);
    sx_stream_map_free(m);
}

Test(stream_map, else_null_keeps_only_named_properties_and_the_keys)
{
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"contacts\": {\"__else__\": null, "
                               "\"email\": \"email\", \"masked\": \"mask_keep_last(phone, 4)\"}}}",
                               "contacts", CONTACTS_SCHEMA, CONTACT_KEYS, NULL);
    json_t *out;
    char msg[512];
    cr_assert_eq(sxt_apply(m, CONTACT, &out, msg, sizeof msg), 1, "%s", msg);
    sxt_assert_json(out, "{\"code\": \"41\", \"email\": \"Ana@Example.com\", "
                         "\"masked\": \"*******4321\"}");
    json_decref(out);
    json_t *schema = sx_stream_map_schema(m);
    sxt_assert_json(schema, "{\"type\": \"object\", \"required\": [\"code\"], \"properties\": {"
                            "\"code\": {\"type\": \"string\"}, "
                            "\"email\": {\"type\": \"string\", \"format\": \"email\"}, "
                            "\"masked\": {\"type\": [\"string\", \"null\"]}}}");
    json_decref(schema);
    sx_stream_map_free(m);
}

Test(stream_map, the_schema_follows_drops_renames_copies_and_computed_types)
{
    sx_stream_map *m = sxt_map(
        "{\"stream_maps\": {\"contacts\": {\"name\": null, \"email\": \"sha256(email)\", "
        "\"mail\": \"email\", \"sent\": \"int(total_sents)\", \"ratio\": \"float(total_sents)\", "
        "\"active\": \"status == 'V'\", \"src\": \"'dinamize'\", \"n\": \"1\", \"nothing\": \"null\", "
        "\"any\": \"coalesce(phone, 1)\", \"same\": \"coalesce(phone, 'x')\", "
        "\"num\": \"coalesce(1, 2.5)\", \"phone_number\": \"phone\", \"phone\": null}}}",
        "contacts", CONTACTS_SCHEMA, CONTACT_KEYS, NULL);
    json_t *schema = sx_stream_map_schema(m);
    sxt_assert_json(schema,
                    "{\"type\": \"object\", \"required\": [\"code\"], \"properties\": {"
                    "\"code\": {\"type\": \"string\"}, "
                    "\"email\": {\"type\": [\"string\", \"null\"]}, "
                    "\"status\": {\"type\": \"string\"}, "
                    "\"total_sents\": {\"type\": [\"string\", \"null\"]}, "
                    "\"mail\": {\"type\": \"string\", \"format\": \"email\"}, "
                    "\"sent\": {\"type\": [\"integer\", \"null\"]}, "
                    "\"ratio\": {\"type\": [\"number\", \"null\"]}, "
                    "\"active\": {\"type\": [\"boolean\", \"null\"]}, "
                    "\"src\": {\"type\": [\"string\", \"null\"]}, "
                    "\"n\": {\"type\": [\"integer\", \"null\"]}, "
                    "\"nothing\": {\"type\": \"null\"}, "
                    "\"any\": {}, "
                    "\"same\": {\"type\": [\"string\", \"null\"]}, "
                    "\"num\": {\"type\": [\"number\", \"null\"]}, "
                    "\"phone_number\": {\"type\": [\"string\", \"null\"]}}}");
    json_decref(schema);
    sx_stream_map_free(m);
}

Test(stream_map, renaming_a_key_property_moves_the_key)
{
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"contacts\": {\"contact_code\": \"code\", "
                               "\"code\": null}}}",
                               "contacts", CONTACTS_SCHEMA, CONTACT_KEYS, NULL);
    expect_keys(m, (const char *const[]){"contact_code", NULL});
    json_t *out;
    char msg[512];
    cr_assert_eq(sxt_apply(m, "{\"code\": \"41\", \"name\": \"Ana\"}", &out, msg, sizeof msg), 1);
    sxt_assert_json(out, "{\"contact_code\": \"41\", \"name\": \"Ana\"}");
    json_decref(out);
    json_t *schema = sx_stream_map_schema(m);
    json_t *props = json_object_get(schema, "properties");
    cr_assert_null(json_object_get(props, "code"));
    sxt_assert_json(json_object_get(props, "contact_code"), "{\"type\": \"string\"}");
    json_decref(schema);
    sx_stream_map_free(m);
}

Test(stream_map, the_output_name_of_a_property_follows_the_map)
{
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"contacts\": {\"updated\": \"status\", "
                               "\"status\": null, \"name\": null, \"email\": \"lower(email)\"}}}",
                               "contacts", CONTACTS_SCHEMA, CONTACT_KEYS, NULL);
    cr_assert_str_eq(sx_stream_map_output_name(m, "status"), "updated");
    cr_assert_null(sx_stream_map_output_name(m, "name"));
    cr_assert_str_eq(sx_stream_map_output_name(m, "email"), "email");
    cr_assert_str_eq(sx_stream_map_output_name(m, "phone"), "phone");
    sx_stream_map_free(m);
    m = sxt_map("{\"stream_maps\": {\"contacts\": {\"__else__\": null, \"e\": \"email\"}}}",
                "contacts", CONTACTS_SCHEMA, CONTACT_KEYS, NULL);
    cr_assert_null(sx_stream_map_output_name(m, "phone"));
    cr_assert_str_eq(sx_stream_map_output_name(m, "code"), "code");
    sx_stream_map_free(m);
}

Test(stream_map, a_key_property_replaced_by_an_expression_stays_the_key)
{
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"contacts\": {\"code\": \"sha256(code)\"}}}",
                               "contacts", CONTACTS_SCHEMA, CONTACT_KEYS, NULL);
    expect_keys(m, CONTACT_KEYS);
    sx_stream_map_free(m);
}

Test(stream_map, dropping_a_key_property_without_a_rename_is_refused)
{
    expect_error("{\"stream_maps\": {\"contacts\": {\"code\": null}}}", "contacts",
                 "stream 'contacts', field 'code': the key property is dropped; rename it "
                 "(\"new_name\": \"code\", \"code\": null) or set \"__key_properties__\"");
}

Test(stream_map, key_properties_can_be_replaced_or_removed)
{
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"contacts\": {\"code\": null, "
                               "\"__key_properties__\": [\"email\", \"phone\"]}}}",
                               "contacts", CONTACTS_SCHEMA, CONTACT_KEYS, NULL);
    expect_keys(m, (const char *const[]){"email", "phone", NULL});
    sx_stream_map_free(m);
    m = sxt_map("{\"stream_maps\": {\"contacts\": {\"__key_properties__\": null}}}", "contacts",
                CONTACTS_SCHEMA, CONTACT_KEYS, NULL);
    expect_keys(m, (const char *const[]){NULL});
    sx_stream_map_free(m);
    expect_error("{\"stream_maps\": {\"contacts\": {\"name\": null, "
                 "\"__key_properties__\": [\"name\"]}}}", "contacts",
                 "stream 'contacts', field '__key_properties__': 'name' is not a property of the "
                 "stream after the map");
    expect_error("{\"stream_maps\": {\"contacts\": {\"__key_properties__\": \"code\"}}}",
                 "contacts", "stream 'contacts', field '__key_properties__': expected an array "
                 "of property names or null, found a string");
}

Test(stream_map, the_per_stream_map_merges_over_the_top_level_one)
{
    sx_stream_map *m = sxt_map(
        "{\"stream_maps\": {\"contacts\": {\"name\": null, \"email\": \"lower(email)\"}}, "
        "\"streams\": {\"contacts\": {\"stream_maps\": {\"email\": \"upper(email)\", "
        "\"phone\": null}}}}",
        "contacts", CONTACTS_SCHEMA, CONTACT_KEYS, NULL);
    json_t *out;
    char msg[512];
    cr_assert_eq(sxt_apply(m, CONTACT, &out, msg, sizeof msg), 1, "%s", msg);
    sxt_assert_json(out, "{\"code\": \"41\", \"email\": \"ANA@EXAMPLE.COM\", \"status\": \"V\", "
                         "\"total_sents\": \"3\"}");
    json_decref(out);
    sx_stream_map_free(m);
}

Test(stream_map, a_stream_without_a_map_has_none)
{
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"fields\": {\"x\": \"1\"}}}", "contacts",
                               CONTACTS_SCHEMA, CONTACT_KEYS, NULL);
    cr_assert_null(m);
    m = sxt_map("{\"user\": \"u\"}", "contacts", CONTACTS_SCHEMA, CONTACT_KEYS, NULL);
    cr_assert_null(m);
}

Test(stream_map, a_stream_mapped_to_null_sends_no_record)
{
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"contacts\": null}}", "contacts",
                               CONTACTS_SCHEMA, CONTACT_KEYS, NULL);
    cr_assert_not_null(m);
    json_t *out;
    char msg[512];
    cr_assert_eq(sxt_apply(m, CONTACT, &out, msg, sizeof msg), 0);
    json_decref(out);
    sx_stream_map_free(m);
    m = sxt_map("{\"stream_maps\": {\"contacts\": \"__NULL__\"}}", "contacts", CONTACTS_SCHEMA,
                CONTACT_KEYS, NULL);
    cr_assert_eq(sxt_apply(m, CONTACT, &out, msg, sizeof msg), 0);
    json_decref(out);
    sx_stream_map_free(m);
}

Test(stream_map, top_level_else_null_silences_the_streams_without_a_map)
{
    const char *config = "{\"stream_maps\": {\"__else__\": null, \"fields\": {\"x\": \"1\"}}}";
    sx_stream_map *m = sxt_map(config, "contacts", CONTACTS_SCHEMA, CONTACT_KEYS, NULL);
    json_t *out;
    char msg[512];
    cr_assert_eq(sxt_apply(m, CONTACT, &out, msg, sizeof msg), 0);
    json_decref(out);
    sx_stream_map_free(m);
    m = sxt_map(config, "fields", NULL, NULL, NULL);
    cr_assert_eq(sxt_apply(m, "{\"a\": 1}", &out, msg, sizeof msg), 1);
    sxt_assert_json(out, "{\"a\": 1, \"x\": 1}");
    json_decref(out);
    sx_stream_map_free(m);
}

Test(stream_map, patterns_map_matching_streams_and_exact_names_win)
{
    const char *config = "{\"stream_maps\": {\"contact*\": {\"p\": \"'pattern'\"}, "
                         "\"contacts\": {\"p\": \"'exact'\"}}}";
    sx_stream_map *m = sxt_map(config, "contact_lists", NULL, NULL, NULL);
    json_t *out;
    char msg[512];
    cr_assert_eq(sxt_apply(m, "{}", &out, msg, sizeof msg), 1);
    sxt_assert_json(out, "{\"p\": \"pattern\"}");
    json_decref(out);
    sx_stream_map_free(m);
    m = sxt_map(config, "contacts", NULL, NULL, NULL);
    cr_assert_eq(sxt_apply(m, "{}", &out, msg, sizeof msg), 1);
    sxt_assert_json(out, "{\"p\": \"exact\"}");
    json_decref(out);
    sx_stream_map_free(m);
    cr_assert_null(sxt_map(config, "fields", NULL, NULL, NULL));
}

Test(stream_map, null_string_drops_like_null)
{
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"contacts\": {\"name\": \"__NULL__\", "
                               "\"__else__\": \"__NULL__\", \"email\": \"email\"}}}",
                               "contacts", CONTACTS_SCHEMA, CONTACT_KEYS, NULL);
    json_t *out;
    char msg[512];
    cr_assert_eq(sxt_apply(m, CONTACT, &out, msg, sizeof msg), 1);
    sxt_assert_json(out, "{\"code\": \"41\", \"email\": \"Ana@Example.com\"}");
    json_decref(out);
    sx_stream_map_free(m);
}

Test(stream_map, bad_maps_are_refused_with_the_stream_and_field)
{
    expect_error("{\"stream_maps\": {\"contacts\": {\"nmae\": null}}}", "contacts",
                 "stream 'contacts', field 'nmae': cannot drop an unknown property (did you mean "
                 "'name'?)");
    expect_error("{\"stream_maps\": {\"contacts\": {\"x\": 3}}}", "contacts",
                 "stream 'contacts', field 'x': expected an expression (a string) or null, found "
                 "an integer; a constant is an expression too: \"3\", \"'text'\", \"true\"");
    expect_error("{\"stream_maps\": {\"contacts\": {\"__alais__\": \"people\"}}}", "contacts",
                 "stream 'contacts', field '__alais__': unknown option (did you mean "
                 "'__alias__'?)");
    expect_error("{\"stream_maps\": {\"contacts\": {\"__frobnicate__\": 1}}}", "contacts",
                 "stream 'contacts', field '__frobnicate__': unknown option (options: __alias__, "
                 "__filter__, __else__, __key_properties__, __secrets__)");
    expect_error("{\"stream_maps\": {\"contacts\": {\"__source__\": \"fields\"}}}", "contacts",
                 "stream 'contacts', field '__source__': duplicating a stream is not supported: a "
                 "stream is written once, under its name or its \"__alias__\"");
    expect_error("{\"stream_maps\": {\"contacts\": {\"__else__\": \"keep\"}}}", "contacts",
                 "stream 'contacts', field '__else__': only null is supported (drop the "
                 "properties the map does not name)");
    expect_error("{\"stream_maps\": {\"contacts\": {\"__alias__\": \"\"}}}", "contacts",
                 "stream 'contacts', field '__alias__': expected the output stream's name, found "
                 "an empty string");
    expect_error("{\"stream_maps\": {\"contacts\": {\"\": \"code\", \"code\": null}}}",
                 "contacts", "stream 'contacts', field '': a computed property needs a name");
    expect_error("{\"stream_maps\": {\"contacts\": {\"__filter__\": true}}}", "contacts",
                 "stream 'contacts', field '__filter__': expected an expression (a string), "
                 "found a boolean");
    expect_error("{\"stream_maps\": {\"contacts\": [1]}}", "contacts",
                 "stream_maps.contacts: expected an object (the map) or null (send no record), "
                 "found an array");
    expect_error("{\"stream_maps\": [1]}", "contacts",
                 "stream_maps: expected an object, found an array");
    expect_error("{\"stream_maps\": {\"__els__\": null}}", "contacts",
                 "stream_maps: unknown option '__els__' (did you mean '__else__'?)");
    expect_error("{\"stream_maps\": {\"__else__\": 1}}", "contacts",
                 "stream_maps.__else__: only null is supported (send no record of the streams "
                 "without a map)");
    expect_error("{\"streams\": {\"contacts\": {\"stream_maps\": 1}}}", "contacts",
                 "streams.contacts.stream_maps: expected an object, found an integer");
    expect_error("{\"stream_maps\": {\"contacts\": null}, \"streams\": {\"contacts\": "
                 "{\"stream_maps\": {\"a\": \"1\"}}}}", "contacts",
                 "stream_maps.contacts is null (send no record of stream 'contacts') but "
                 "streams.contacts.stream_maps maps it; keep one");
}

Test(stream_map, hmac_secrets_come_from_the_config_or_the_environment)
{
    setenv("SXT_PEPPER", "pepper-0123456789abcdef", 1);
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"s\": {\"__secrets__\": {\"p\": {\"env\": "
                               "\"SXT_PEPPER\"}}, \"e\": \"hmac_sha256(email, 'p')\"}}}",
                               "s", NULL, NULL, NULL);
    json_t *out;
    char msg[512];
    cr_assert_eq(sxt_apply(m, "{\"email\": \"ana@example.com\"}", &out, msg, sizeof msg), 1);
    sxt_assert_json(json_object_get(out, "e"),
                    "\"7ec760c79a761bd3a162e585e122083bc50f1a6bda809544b7baa7ad83893bc5\"");
    json_decref(out);
    sx_stream_map_free(m);
    unsetenv("SXT_PEPPER");
}

Test(stream_map, a_stream_secret_overrides_the_shared_one)
{
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"__secrets__\": {\"p\": \"shared-key-0123456789\"}, "
                               "\"s\": {\"__secrets__\": {\"p\": \"pepper-0123456789abcdef\"}, "
                               "\"e\": \"hmac_sha256(email, 'p')\"}}}",
                               "s", NULL, NULL, NULL);
    json_t *out;
    char msg[512];
    cr_assert_eq(sxt_apply(m, "{\"email\": \"ana@example.com\"}", &out, msg, sizeof msg), 1);
    sxt_assert_json(json_object_get(out, "e"),
                    "\"7ec760c79a761bd3a162e585e122083bc50f1a6bda809544b7baa7ad83893bc5\"");
    json_decref(out);
    sx_stream_map_free(m);
}

Test(stream_map, bad_secrets_are_refused_without_showing_them)
{
    unsetenv("SXT_NO_SUCH_PEPPER");
    char *msg = sxt_map_error("{\"stream_maps\": {\"s\": {\"__secrets__\": {\"p\": {\"env\": "
                              "\"SXT_NO_SUCH_PEPPER\"}}}}}", "s", NULL, NULL, NULL);
    cr_expect_str_eq(msg, "stream 's', field '__secrets__': key 'p': the environment variable "
                          "SXT_NO_SUCH_PEPPER is not set");
    free(msg);
    msg = sxt_map_error("{\"stream_maps\": {\"__secrets__\": {\"p\": \"short-key\"}, \"s\": {}}}",
                        "s", NULL, NULL, NULL);
    cr_expect_str_eq(msg, "stream_maps.__secrets__: key 'p' has 9 bytes; HMAC keys need at least "
                          "16");
    free(msg);
    msg = sxt_map_error("{\"stream_maps\": {\"s\": {\"__secrets__\": {\"p\": 12}}}}", "s", NULL,
                        NULL, NULL);
    cr_expect_str_eq(msg, "stream 's', field '__secrets__': key 'p': expected the key as a string "
                          "or {\"env\": \"VARIABLE\"}, found an integer");
    free(msg);
    /* The key written where its name belongs is not echoed back. */
    msg = sxt_map_error("{\"stream_maps\": {\"s\": {\"__secrets__\": {\"p\": "
                        "\"pepper-0123456789abcdef\"}, \"e\": \"hmac_sha256(email, "
                        "'my-real-key-0123456789')\"}}}", "s", NULL, NULL, NULL);
    cr_expect_str_eq(msg, "stream 's', field 'e': hmac_sha256(): the second argument names no key "
                          "of \"__secrets__\" (its keys: 'p')");
    free(msg);
    msg = sxt_map_error("{\"stream_maps\": {\"s\": {\"e\": \"hmac_sha256(email, k)\"}}}", "s",
                        NULL, NULL, NULL);
    cr_expect_str_eq(msg, "stream 's', field 'e': hmac_sha256(): the second argument must be the "
                          "quoted name of a key of \"__secrets__\"");
    free(msg);
    msg = sxt_map_error("{\"stream_maps\": {\"s\": {\"e\": \"hmac_sha256(email, 'x')\"}}}", "s",
                        NULL, NULL, NULL);
    cr_expect_str_eq(msg, "stream 's', field 'e': hmac_sha256(): the second argument names no key "
                          "of \"__secrets__\" (it has none)");
    free(msg);
}

Test(stream_map, secrets_are_registered_for_masking_before_any_map_is_built)
{
    sx_mask_reset();
    setenv("SXT_PEPPER2", "pepper-from-the-environment", 1);
    json_t *root = sxt_json("{\"stream_maps\": {\"__secrets__\": {\"a\": \"shared-key-0123456789\"}, "
                            "\"s\": {\"__secrets__\": {\"b\": {\"env\": \"SXT_PEPPER2\"}}}}, "
                            "\"streams\": {\"t\": {\"stream_maps\": {\"__secrets__\": "
                            "{\"c\": \"stream-key-0123456789\"}}}}}");
    sx_stream_maps_register_secrets(root);
    cr_assert(sx_mask_contains_secret("x shared-key-0123456789"));
    cr_assert(sx_mask_contains_secret("x pepper-from-the-environment"));
    cr_assert(sx_mask_contains_secret("x stream-key-0123456789"));
    json_decref(root);
    sx_mask_reset();
    unsetenv("SXT_PEPPER2");
}

Test(stream_map, a_failing_expression_leaves_the_record_unchanged)
{
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"contacts\": {\"name\": null, "
                               "\"email\": \"lower(email)\", \"n\": \"int(status)\"}}}",
                               "contacts", CONTACTS_SCHEMA, CONTACT_KEYS, NULL);
    json_t *out;
    char msg[512];
    cr_assert_eq(sxt_apply(m, CONTACT, &out, msg, sizeof msg), -1);
    cr_assert_str_eq(msg, "stream 'contacts', field 'n': int(): the string is not a number");
    sxt_assert_json(out, CONTACT);
    json_decref(out);
    sx_stream_map_free(m);
}

Test(stream_map, a_record_that_is_not_an_object_is_an_error)
{
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"contacts\": {\"name\": null}}}", "contacts",
                               CONTACTS_SCHEMA, CONTACT_KEYS, NULL);
    json_t *out;
    char msg[512];
    cr_assert_eq(sxt_apply(m, "[1, 2]", &out, msg, sizeof msg), -1);
    cr_assert_str_eq(msg, "stream 'contacts': the record is an array, not an object");
    json_decref(out);
    sx_stream_map_free(m);
}

Test(stream_map, a_map_with_many_computed_properties)
{
    /* More entries than the apply keeps on its stack. */
    json_t *map = json_object();
    for (int i = 0; i < 100; i++) {
        char key[16], expr[32];
        snprintf(key, sizeof key, "p%d", i);
        snprintf(expr, sizeof expr, "concat(a, '%d')", i);
        json_object_set_new(map, key, json_string(expr));
    }
    json_t *root = json_pack("{s:{s:o}}", "stream_maps", "s", map);
    char *config = json_dumps(root, 0);
    json_decref(root);
    sx_stream_map *m = sxt_map(config, "s", NULL, NULL, NULL);
    free(config);
    json_t *out;
    char msg[512];
    cr_assert_eq(sxt_apply(m, "{\"a\": \"x\"}", &out, msg, sizeof msg), 1, "%s", msg);
    cr_assert_eq(json_object_size(out), 101);
    cr_assert_str_eq(json_string_value(json_object_get(out, "p99")), "x99");
    json_decref(out);
    sx_stream_map_free(m);
}

Test(stream_map, a_map_of_a_stream_that_does_not_exist_is_refused)
{
    static const char *const streams[] = {"contacts", "contact_lists", "fields"};
    json_t *root = sxt_json("{\"stream_maps\": {\"__else__\": null, \"contact*\": {}, "
                            "\"fields\": null, \"contatcs\": {\"email\": null}}}");
    sx_error err;
    sx_error_clear(&err);
    cr_assert_eq(sx_stream_maps_check_streams(root, streams, 3, &err), -1);
    cr_assert_eq(err.exit_code, SX_EXIT_CONFIG);
    cr_assert_str_eq(err.msg, "stream_maps: no stream 'contatcs' (did you mean 'contacts'?)");
    json_decref(root);

    root = sxt_json("{\"stream_maps\": {\"campaigns\": {}}}");
    sx_error_clear(&err);
    cr_assert_eq(sx_stream_maps_check_streams(root, streams, 3, &err), -1);
    cr_assert_str_eq(err.msg, "stream_maps: no stream 'campaigns'");
    json_decref(root);

    root = sxt_json("{\"stream_maps\": {\"contacts\": {}, \"fields\": null, \"x*\": {}}}");
    cr_assert_eq(sx_stream_maps_check_streams(root, streams, 3, &err), 0);
    json_decref(root);
    root = sxt_json("{\"user\": \"u\"}");
    cr_assert_eq(sx_stream_maps_check_streams(root, streams, 3, &err), 0);
    json_decref(root);
}

/* ---- threads ---- */

typedef struct worker {
    const sx_stream_map *m;
    int id;
    int failures;
} worker;

/* Checks one applied record against what the map must have made of it. */
static int record_ok(const json_t *r, int rc, int i, const char *email)
{
    if (rc != i % 2)
        return 0;
    if (rc == 0)
        return 1;
    char lowered[64];
    size_t n = strlen(email);
    for (size_t k = 0; k <= n; k++)
        lowered[k] = (char)(email[k] >= 'A' && email[k] <= 'Z' ? email[k] + 32 : email[k]);
    uint8_t d[SX_SHA256_LEN];
    char hex[2 * SX_SHA256_LEN + 1];
    sx_sha256(email, n, d);
    sx_hex(d, sizeof d, hex);
    const char *domain = json_string_value(json_object_get(r, "domain"));
    const char *low = json_string_value(json_object_get(r, "lowered"));
    const char *h = json_string_value(json_object_get(r, "h"));
    return domain != NULL && strcmp(domain, "example.com") == 0 && low != NULL &&
           strcmp(low, lowered) == 0 && h != NULL && strcmp(h, hex) == 0 &&
           json_object_get(r, "email") == NULL;
}

static void *apply_many(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 2000; i++) {
        char email[64], msg[256];
        snprintf(email, sizeof email, "User%d.%d@Example.COM", w->id, i);
        json_t *r = json_pack("{s:s,s:s,s:i,s:s}", "code", "c", "email", email, "odd", i % 2,
                              "status", "V");
        int rc = sx_stream_map_apply(w->m, r, msg, sizeof msg);
        if (!record_ok(r, rc, i, email))
            w->failures++;
        json_decref(r);
    }
    return NULL;
}

Test(stream_map, many_threads_apply_one_map_at_once)
{
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"contacts\": {\"__filter__\": \"odd == 1 "
                               "and status == 'V'\", \"domain\": \"email_domain(email)\", "
                               "\"lowered\": \"lower(email)\", \"h\": \"sha256(email)\", "
                               "\"email\": null}}}",
                               "contacts", NULL, CONTACT_KEYS, NULL);
    enum { THREADS = 4 };
    pthread_t t[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.m = m, .id = i};
        cr_assert_eq(pthread_create(&t[i], NULL, apply_many, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        cr_expect_eq(w[i].failures, 0, "thread %d: %d records came out wrong", i, w[i].failures);
    }
    sx_stream_map_free(m);
}
