/*
 * fuzz_catalog.c: Singer catalogs (core/catalog.c) read against a
 * Dinamize-shaped registry built in memory (tests/unit/fake_registry.c).
 *
 * Input: a catalog document, optionally preceded by "#select=LIST" lines
 * (each applied with sx_catalog_select, as --select would be).
 *
 * Invariants:
 *  - a refused catalog is a config error naming the file;
 *  - the catalog the host writes back (sx_catalog_to_json, what `discover`
 *    prints) loads again, with the same streams selected, the same sync
 *    modes, and the same properties selected (those the written metadata
 *    marks automatic, key properties and the replication key, aside);
 *  - filtering a record keeps exactly the selected top-level properties of a
 *    selected stream, and key properties always;
 *  - a selection never selects a stream the catalog deselected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "fake_registry.h"
#include "fuzz_support.h"
#include "json_file.h"

static const char ORIGIN[] = "fuzz-catalog.json";

static sx_registry *registry(void)
{
    static sx_registry *reg;
    if (reg == NULL)
        reg = sxt_registry_dinamize_like();
    return reg;
}

static void collect_select(void *user, const char *line)
{
    if (strncmp(line, "select=", 7) == 0)
        json_array_append_new(user, json_string(line + 7));
}

static void check_error(const sx_error *err)
{
    SXT_FUZZ_CHECK(err->exit_code == SX_EXIT_CONFIG, "exit code %d: %s", err->exit_code,
                   err->msg);
    SXT_FUZZ_CHECK(strstr(err->msg, "catalog file 'fuzz-catalog.json'") != NULL,
                   "the error does not name the file: %s", err->msg);
}

static int is_key(const sx_stream *s, const char *property)
{
    for (size_t i = 0; s->vt.key_properties != NULL && s->vt.key_properties[i] != NULL; i++)
        if (strcmp(s->vt.key_properties[i], property) == 0)
            return 1;
    return 0;
}

/* What the written metadata marks "automatic". */
static int automatic(const sx_stream *s, const char *property)
{
    return is_key(s, property) ||
           (s->vt.replication_key != NULL && strcmp(s->vt.replication_key, property) == 0);
}

/* The written catalog reads back to the same choices. */
static void check_round_trip(const sx_catalog *cat, const sx_source *src)
{
    json_t *doc = sx_catalog_to_json(cat);
    SXT_FUZZ_CHECK(doc != NULL, "the catalog cannot be written");
    sx_catalog back;
    sx_error err;
    sx_error_clear(&err);
    SXT_FUZZ_CHECK(sx_catalog_from_json(&back, doc, ORIGIN, src, &err) == 0,
                   "the written catalog does not load: %s", err.msg);
    SXT_FUZZ_CHECK(back.n == cat->n, "%zu entries, then %zu", cat->n, back.n);
    for (size_t i = 0; i < cat->n; i++) {
        const sx_catalog_entry *a = &cat->entries[i], *b = &back.entries[i];
        const char *name = a->stream->vt.base.name;
        SXT_FUZZ_CHECK(a->selected == b->selected, "stream '%s' selected %d, then %d", name,
                       a->selected, b->selected);
        SXT_FUZZ_CHECK(sx_catalog_sync_mode(a) == sx_catalog_sync_mode(b),
                       "stream '%s' sync mode changes", name);
        SXT_FUZZ_CHECK(json_equal(a->schema, b->schema), "stream '%s' schema changes", name);
        const char *prop;
        const json_t *sub;
        json_object_foreach(json_object_get(a->schema, "properties"), prop, sub) {
            (void)sub;
            if (automatic(a->stream, prop))
                continue;
            SXT_FUZZ_CHECK(sx_catalog_property_selected(a, prop) ==
                               sx_catalog_property_selected(b, prop),
                           "stream '%s' property '%s' selected %d, then %d", name, prop,
                           sx_catalog_property_selected(a, prop),
                           sx_catalog_property_selected(b, prop));
        }
    }
    sx_catalog_free(&back);
    json_decref(doc);
}

/* A record with every property the schema names, plus one it does not. */
static void check_filter(const sx_catalog_entry *e)
{
    json_t *record = json_object();
    const char *prop;
    const json_t *sub;
    json_object_foreach(json_object_get(e->schema, "properties"), prop, sub) {
        (void)sub;
        json_object_set_new(record, prop, json_pack("{s:s}", "nested", "x"));
    }
    json_object_set_new(record, "not in the schema", json_string("drift"));
    json_t *before = json_deep_copy(record);
    sx_catalog_filter_record(e, record);
    json_object_foreach(before, prop, sub) {
        int kept = json_object_get(record, prop) != NULL;
        if (e->selected)
            SXT_FUZZ_CHECK(kept == sx_catalog_property_selected(e, prop),
                           "stream '%s': filter %s '%s', property_selected says %d",
                           e->stream->vt.base.name, kept ? "keeps" : "drops", prop,
                           sx_catalog_property_selected(e, prop));
        if (is_key(e->stream, prop))
            SXT_FUZZ_CHECK(kept, "key property '%s' dropped", prop);
    }
    json_decref(before);
    json_decref(record);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const sx_registry *reg = registry();
    const sx_source *src = reg->sources[0];
    json_t *selects = json_array();
    sxt_fuzz_directives(&data, &size, collect_select, selects);

    sx_error err;
    sx_error_clear(&err);
    /* The file reader's own errors are fuzz_json_file's business. */
    json_t *doc = sx_json_load_string((const char *)data, size, "catalog", "fuzz", 1, &err);
    if (doc == NULL)
        goto done;
    sx_catalog cat;
    if (sx_catalog_from_json(&cat, doc, ORIGIN, src, &err) != 0) {
        check_error(&err);
        SXT_FUZZ_CHECK(cat.entries == NULL && cat.n == 0, "a refused catalog keeps entries");
        goto done;
    }
    SXT_FUZZ_CHECK(cat.n == src->n_streams, "%zu entries for %zu streams", cat.n, src->n_streams);
    check_round_trip(&cat, src);
    for (size_t i = 0; i < cat.n; i++)
        check_filter(&cat.entries[i]);

    size_t i;
    json_t *list;
    json_array_foreach(selects, i, list) {
        int before[64] = {0};
        for (size_t k = 0; k < cat.n && k < 64; k++)
            before[k] = cat.entries[k].selected;
        sx_error serr;
        sx_error_clear(&serr);
        if (sx_catalog_select(&cat, json_string_value(list), &serr) != 0) {
            SXT_FUZZ_CHECK(serr.exit_code == SX_EXIT_CONFIG, "%s", serr.msg);
            SXT_FUZZ_CHECK(strncmp(serr.msg, "selection: ", 11) == 0, "%s", serr.msg);
            continue;
        }
        for (size_t k = 0; k < cat.n && k < 64; k++)
            SXT_FUZZ_CHECK(!cat.entries[k].selected || before[k],
                           "selecting '%s' selected the deselected stream '%s'",
                           json_string_value(list), cat.entries[k].stream->vt.base.name);
    }
    sx_catalog_free(&cat);

done:
    json_decref(doc);
    json_decref(selects);
    sxt_fuzz_end_input();
    return 0;
}
