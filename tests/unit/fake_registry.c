#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_registry.h"

static void *grow(void *array, size_t n, size_t size)
{
    void *p = realloc(array, (n + 1) * size);
    if (p == NULL)
        abort();
    return p;
}

static void options_from(sx_options *out, const siphon_option *table)
{
    size_t n = 0;
    while (table != NULL && table[n].name != NULL)
        n++;
    out->n = n;
    out->items = calloc(n ? n : 1, sizeof *out->items);
    out->defaults = calloc(n ? n : 1, sizeof *out->defaults);
    if (out->items == NULL || out->defaults == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        out->items[i] = table[i];
        if (table[i].default_json != NULL) {
            out->defaults[i] = json_loads(table[i].default_json, JSON_DECODE_ANY, NULL);
            if (out->defaults[i] == NULL) {
                fprintf(stderr, "fake registry: default of '%s' does not parse\n", table[i].name);
                abort();
            }
        }
    }
}

static void options_free(sx_options *o)
{
    for (size_t i = 0; i < o->n; i++)
        json_decref(o->defaults[i]);
    free(o->items);
    free(o->defaults);
}

sx_registry *sxt_registry_new(void)
{
    sx_registry *reg = calloc(1, sizeof *reg);
    if (reg == NULL)
        abort();
    return reg;
}

sx_source *sxt_add_source(sx_registry *reg, const char *name, const siphon_option *options)
{
    sx_source *src = calloc(1, sizeof *src);
    if (src == NULL || (src->name = strdup(name)) == NULL)
        abort();
    src->decl.struct_size = sizeof src->decl;
    src->decl.name = src->name;
    src->decl.options = options;
    src->decl.option_size = sizeof(siphon_option);
    options_from(&src->options, options);
    reg->sources = grow(reg->sources, reg->n_sources, sizeof *reg->sources);
    reg->sources[reg->n_sources++] = src;
    return src;
}

sx_stream *sxt_add_stream(sx_registry *reg, sx_source *src, const sxt_stream_spec *spec)
{
    sx_stream *s = calloc(1, sizeof *s);
    if (s == NULL)
        abort();
    s->vt.base.struct_size = sizeof s->vt;
    s->vt.base.kind = SIPHON_KIND_STREAM;
    s->vt.base.name = spec->name;
    s->vt.base.description = "a test stream";
    s->vt.base.options = spec->options;
    s->vt.base.option_size = sizeof(siphon_option);
    s->vt.source = &src->decl;
    s->vt.key_properties = spec->key_properties;
    s->vt.replication_key = spec->replication_key;
    s->vt.parent = spec->parent;
    s->vt.groups = spec->groups;
    s->vt.schema_json = spec->schema_json;
    options_from(&s->options, spec->options);
    s->source = src;
    json_error_t jerr;
    s->schema = spec->schema_json ? json_loads(spec->schema_json, 0, &jerr)
                                  : json_pack("{s:s, s:{}}", "type", "object", "properties");
    if (s->schema == NULL) {
        fprintf(stderr, "fake registry: schema of '%s': %s\n", spec->name, jerr.text);
        abort();
    }
    src->streams = grow(src->streams, src->n_streams, sizeof *src->streams);
    src->streams[src->n_streams++] = s;
    reg->streams = grow(reg->streams, reg->n_streams, sizeof *reg->streams);
    reg->streams[reg->n_streams++] = s;
    return s;
}

sx_sink *sxt_add_sink(sx_registry *reg, const char *name, uint64_t caps,
                      const siphon_option *options)
{
    sx_sink *k = calloc(1, sizeof *k);
    if (k == NULL)
        abort();
    k->vt.base.struct_size = sizeof k->vt;
    k->vt.base.kind = SIPHON_KIND_SINK;
    k->vt.base.name = name;
    k->vt.base.description = "a test sink";
    k->vt.base.caps = caps;
    k->vt.base.options = options;
    k->vt.base.option_size = sizeof(siphon_option);
    options_from(&k->options, options);
    reg->sinks = grow(reg->sinks, reg->n_sinks, sizeof *reg->sinks);
    reg->sinks[reg->n_sinks++] = k;
    return k;
}

void sxt_registry_free(sx_registry *reg)
{
    if (reg == NULL)
        return;
    for (size_t i = 0; i < reg->n_streams; i++) {
        options_free(&reg->streams[i]->options);
        json_decref(reg->streams[i]->schema);
        free(reg->streams[i]);
    }
    for (size_t i = 0; i < reg->n_sources; i++) {
        options_free(&reg->sources[i]->options);
        free(reg->sources[i]->streams);
        free(reg->sources[i]->name);
        free(reg->sources[i]);
    }
    for (size_t i = 0; i < reg->n_sinks; i++) {
        options_free(&reg->sinks[i]->options);
        free(reg->sinks[i]);
    }
    free(reg->streams);
    free(reg->sources);
    free(reg->sinks);
    free(reg);
}

/* --- the Dinamize-shaped fixture --- */

static const siphon_option dinamize_options[] = {
    {"user", SIPHON_OPT_STRING, SIPHON_OPT_REQUIRED, NULL, "The API user.", NULL, NULL},
    {"password", SIPHON_OPT_STRING, SIPHON_OPT_REQUIRED | SIPHON_OPT_SECRET, NULL,
     "The API password.", "SXT_DINAMIZE_PASSWORD", NULL},
    {"client_code", SIPHON_OPT_STRING, SIPHON_OPT_REQUIRED, NULL, "The account code.", NULL, NULL},
    {"requests_per_minute", SIPHON_OPT_INT, 0, "60", "The API's rate limit.", "SXT_DINAMIZE_RPM",
     NULL},
    {"page_size", SIPHON_OPT_INT, SIPHON_OPT_PER_STREAM, "1000", "Records per page.", NULL, NULL},
    {"start_date", SIPHON_OPT_STRING, 0, NULL, "Where a first sync starts.", NULL, NULL},
    {"api_pin", SIPHON_OPT_INT, SIPHON_OPT_SECRET, NULL, "A numeric secret.", NULL, NULL},
    {"timezone", SIPHON_OPT_STRING, 0, "\"America/Sao_Paulo\"", "The account's time zone.", NULL,
     NULL},
    {"extra_headers", SIPHON_OPT_JSON, 0, NULL, "Headers sent with every request.",
     "SXT_DINAMIZE_HEADERS", NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};

static const siphon_option contacts_options[] = {
    {"include_custom_fields", SIPHON_OPT_BOOL, SIPHON_OPT_PER_STREAM, "true",
     "Read the custom fields too.", NULL, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};

static const siphon_option file_options[] = {
    {"path", SIPHON_OPT_STRING, SIPHON_OPT_REQUIRED, NULL, "Where files go.", NULL, NULL},
    {"format", SIPHON_OPT_STRING, 0, "\"jsonl\"", "The file format.", NULL, "jsonl|csv"},
    {"token", SIPHON_OPT_STRING, SIPHON_OPT_SECRET, NULL, "A secret of the sink.", NULL, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};

static const char *const key_code[] = {"code", NULL};
static const char *const groups_lists[] = {"lists", NULL};
static const char *const groups_contacts[] = {"lists", "people", NULL};
static const char *const groups_people[] = {"people", NULL};

sx_registry *sxt_registry_dinamize_like(void)
{
    sx_registry *reg = sxt_registry_new();
    sx_source *src = sxt_add_source(reg, "dinamize", dinamize_options);
    const sxt_stream_spec specs[] = {
        {"contact_lists", key_code, "insert_date", NULL, groups_lists,
         "{\"type\":\"object\",\"properties\":{\"code\":{\"type\":\"string\"},"
         "\"title\":{\"type\":[\"null\",\"string\"]},\"total_contacts\":{\"type\":[\"null\","
         "\"string\"]},\"insert_date\":{\"type\":[\"null\",\"string\"]}}}",
         NULL},
        {"contacts", key_code, "insert_date", "contact_lists", groups_contacts,
         "{\"type\":\"object\",\"properties\":{\"code\":{\"type\":\"string\"},"
         "\"email\":{\"type\":[\"null\",\"string\"]},\"name\":{\"type\":[\"null\",\"string\"]},"
         "\"custom_fields\":{\"type\":[\"null\",\"object\"],\"properties\":{"
         "\"cmp1\":{\"type\":[\"null\",\"string\"]},\"cmp2\":{\"type\":[\"null\",\"string\"]}}},"
         "\"insert_date\":{\"type\":[\"null\",\"string\"]}}}",
         contacts_options},
        {"fields", key_code, "insert_date", "contact_lists", NULL,
         "{\"type\":\"object\",\"properties\":{\"code\":{\"type\":\"string\"},"
         "\"type\":{\"type\":[\"null\",\"string\"]},\"insert_date\":{\"type\":[\"null\","
         "\"string\"]}}}",
         NULL},
        {"list_of_values", key_code, NULL, "fields", NULL,
         "{\"type\":\"object\",\"properties\":{\"code\":{\"type\":\"string\"},"
         "\"value\":{\"type\":[\"null\",\"string\"]}}}",
         NULL},
        {"teams", key_code, NULL, NULL, groups_people,
         "{\"type\":\"object\",\"properties\":{\"code\":{\"type\":\"string\"},"
         "\"name\":{\"type\":[\"null\",\"string\"]}}}",
         NULL},
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        sxt_add_stream(reg, src, &specs[i]);
    sxt_add_sink(reg, "stdout", SIPHON_CAP_SCHEMALESS, NULL);
    sxt_add_sink(reg, "file", 0, file_options);
    return reg;
}
