/*
 * fuzz_stream_map.c: stream maps from the config (core/stream_map.c and the
 * expression language of core/map_expr.c, map_builtins.c, map_value.c),
 * built for the streams of a Dinamize-shaped registry and applied to
 * records.
 *
 * Input: a config object whose "stream_maps" (and "streams".NAME.
 * "stream_maps") hold the maps, optionally preceded by "#RECORD" lines, each
 * a JSON object the maps are applied to (a default contact record is always
 * tried). Each map is built twice, against the stream's schema and with the
 * schema unknown. Native functions are not loaded here (they would dlopen
 * whatever the input names).
 *
 * Invariants:
 *  - a refused map is a config error naming the stream (or stream_maps);
 *  - no build error shows a "__secrets__" key, and no apply error a value
 *    of the record that the map's own text does not also contain (a value
 *    that spells a piece of the message's words is told apart by applying
 *    the map to the record with other values);
 *  - the mapped schema is an object, the key properties are names;
 *  - applying either keeps the record (the result serialises as JSON), or
 *    filters it out or fails, and then the record is left exactly as it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_registry.h"
#include "fuzz_support.h"
#include "mask.h"
#include "transform.h"

static sx_registry *registry(void)
{
    static sx_registry *reg;
    if (reg == NULL)
        reg = sxt_registry_dinamize_like();
    return reg;
}

static void collect_record(void *user, const char *line)
{
    json_t *r = json_loads(line, 0, NULL);
    if (json_is_object(r))
        json_array_append(user, r);
    json_decref(r);
}

static void check_message(const char *what, const char *msg)
{
    SXT_FUZZ_CHECK(!sx_mask_contains_secret(msg), "%s shows a map secret: %s", what, msg);
}

/* Words messages use on their own (type and stream names): a record value
 * that happens to be one of them proves nothing. */
static const char MESSAGE_WORDS[] = "null boolean integer number string object array stream "
                                    "field contacts contact_lists fields list_of_values teams";

/* Every string of v (recursively) of 4 bytes or more that config_text does
 * not contain must be absent from msg: record values are personal data. A
 * value may still spell a piece of the message's own words, so an occurrence
 * counts only where other, the message the same map gives for the record
 * with other values (other_values), does not hold it too. */
static void check_no_value(const char *msg, const char *other, const json_t *v,
                           const char *config_text)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *changed = sxt_fuzz_other_secret(s, strlen(s), 0);
        int judged = strcmp(changed, s) != 0;
        free(changed);
        if (judged && strlen(s) >= 4 && strstr(config_text, s) == NULL &&
            strstr(MESSAGE_WORDS, s) == NULL && sxt_fuzz_occurs_apart(msg, other, s))
            sxt_fuzz_fail("a record value (\"%s\") in the message: %s", s, msg);
    } else if (json_is_object(v)) {
        const char *k;
        const json_t *item;
        json_object_foreach((json_t *)v, k, item)
            check_no_value(msg, other, item, config_text);
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
            check_no_value(msg, other, item, config_text);
    }
}

/* A copy of v with every string changed into another of the same length
 * and kinds of characters (sxt_fuzz_other_secret); keys stay, since maps
 * name fields. */
static json_t *other_values(const json_t *v)
{
    if (json_is_string(v)) {
        size_t n = json_string_length(v);
        char *changed = sxt_fuzz_other_secret(json_string_value(v), n, 0);
        json_t *copy = json_stringn(changed, n);
        free(changed);
        return copy;
    }
    if (json_is_object(v)) {
        json_t *copy = json_object();
        const char *k;
        const json_t *item;
        json_object_foreach((json_t *)v, k, item)
            json_object_set_new(copy, k, other_values(item));
        return copy;
    }
    if (json_is_array(v)) {
        json_t *copy = json_array();
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
            json_array_append_new(copy, other_values(item));
        return copy;
    }
    return json_deep_copy(v);
}

/* Whether msg names word. A map secret may happen to spell a piece of it
 * ("con" in "contacts") or of it and the text around it, and then the mask
 * hides where the message says it is: such a message cannot be judged. */
static int names(const char *msg, const char *word)
{
    return strstr(msg, word) != NULL || strstr(msg, "********") != NULL;
}

static void try_map(const json_t *root, const sx_stream *st, int with_schema,
                    const json_t *records, const char *config_text)
{
    const char *name = st->vt.base.name;
    sx_stream_map *m = NULL;
    sx_error err;
    sx_error_clear(&err);
    if (sx_stream_map_build(root, name, with_schema ? st->schema : NULL, st->vt.key_properties,
                            NULL, &m, &err) != 0) {
        SXT_FUZZ_CHECK(m == NULL, "a refused map is returned");
        SXT_FUZZ_CHECK(err.exit_code == SX_EXIT_CONFIG || err.exit_code == SX_EXIT_FAILURE,
                       "exit code %d: %s", err.exit_code, err.msg);
        SXT_FUZZ_CHECK(names(err.msg, name) || names(err.msg, "stream_maps"),
                       "the error names neither the stream nor stream_maps: %s", err.msg);
        check_message("a build error", err.msg);
        return;
    }
    if (m == NULL)
        return; /* the stream has no map */

    json_t *schema = sx_stream_map_schema(m);
    SXT_FUZZ_CHECK(json_is_object(schema), "the mapped schema is not an object");
    json_decref(schema);
    const char *const *keys = sx_stream_map_key_properties(m);
    for (size_t i = 0; keys != NULL && keys[i] != NULL; i++)
        SXT_FUZZ_CHECK(keys[i][0] != '\0', "an empty key property");
    const char *alias = sx_stream_map_alias(m);
    SXT_FUZZ_CHECK(alias == NULL || alias[0] != '\0', "an empty alias");
    const char *prop;
    const json_t *sub;
    json_object_foreach(json_object_get(st->schema, "properties"), prop, sub) {
        (void)sub;
        sx_stream_map_output_name(m, prop);
    }

    size_t i;
    const json_t *input;
    json_array_foreach(records, i, input) {
        json_t *record = json_deep_copy(input);
        char msg[1024] = "";
        int rc = sx_stream_map_apply(m, record, msg, sizeof msg);
        SXT_FUZZ_CHECK(rc == 1 || rc == 0 || rc == -1, "apply returned %d", rc);
        if (rc == 1) {
            char *text = json_dumps(record, JSON_COMPACT);
            SXT_FUZZ_CHECK(text != NULL, "a mapped record does not serialise");
            free(text);
        } else {
            SXT_FUZZ_CHECK(json_equal(record, input), "a record %s was changed",
                           rc == 0 ? "filtered out" : "that failed");
        }
        if (rc == -1) {
            SXT_FUZZ_CHECK(names(msg, name), "the error does not name the stream: %s",
                           msg);
            /* Apply messages reach users through the log, which masks
             * secrets (a field may be named after one): only record values
             * are judged here, which no mask would catch. */
            json_t *changed = other_values(input);
            char other[1024] = "";
            sx_stream_map_apply(m, changed, other, sizeof other);
            json_decref(changed);
            check_no_value(msg, other, input, config_text);
        }
        json_decref(record);
    }
    sx_stream_map_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const sx_registry *reg = registry();
    json_t *records = json_array();
    sxt_fuzz_directives(&data, &size, collect_record, records);
    json_array_append_new(records,
                          json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:n}, s:s}", "code", "1042",
                                    "email", "Maria.Silva@Example.com", "name", "Maria Silva",
                                    "insert_date", "2024-05-01 10:00:00", "custom_fields",
                                    "cmp1", "valor um", "cmp2", "total_sents", "12"));

    json_t *root = json_loadb((const char *)data, size, 0, NULL);
    if (!json_is_object(root))
        goto done;
    char *config_text = sxt_fuzz_text(data, size);

    sx_stream_maps_register_secrets(root);
    const char *names[16];
    size_t n = 0;
    for (size_t s = 0; s < reg->n_streams && n < 16; s++)
        names[n++] = reg->streams[s]->vt.base.name;
    sx_error err;
    sx_error_clear(&err);
    if (sx_stream_maps_check_streams(root, names, n, &err) != 0) {
        SXT_FUZZ_CHECK(err.exit_code == SX_EXIT_CONFIG, "%s", err.msg);
        check_message("a stream check", err.msg);
    }
    for (size_t s = 0; s < reg->n_streams; s++)
        for (int with_schema = 1; with_schema >= 0; with_schema--)
            try_map(root, reg->streams[s], with_schema, records, config_text);
    free(config_text);

done:
    json_decref(root);
    json_decref(records);
    sxt_fuzz_end_input();
    return 0;
}
