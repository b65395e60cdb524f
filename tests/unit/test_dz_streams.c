/*
 * test_dz_streams.c: the thirteen built Dinamize modules, opened with dlopen
 * as the host opens them, checked against the API contract's stream table:
 * names, endpoints, items keys, parents, keys, replication keys, groups,
 * fields, and one identical `dinamize` source in every module.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <siphon/siphon.h>

#include "test-paths.h"

/* The contract (dinamize-api.md §1.3), written out independently of the code. */
typedef struct expected_stream {
    const char *name, *path, *items_key, *parent, *keys, *rk, *group, *fields;
} expected_stream;

static const expected_stream contract[] = {
    {"contact_lists", "/emkt/contact-list/search", "items", NULL, "code", "insert_date",
     "lists", "code user_code title type status total_contacts total_valid insert_date "
     "rest_date"},
    {"contacts", "/emkt/contact/search", "items", "contact_lists", "code", "insert_date",
     "lists", "code external_code email name custom_fields insert_date rest_date status optout "
     "spam total_clicks total_sents total_views contact-list_code"},
    {"actions", "/emkt/action/search", "items", NULL, "code", "date_create", "sends",
     "code campaign_code contact-list_code contact-list_title filter_code message_code title "
     "subject sender_name sender_email reply_to message_type url action_mark action_type status "
     "total_contacts total_sent date_create date_start date_end"},
    {"campaigns", "/emkt/campaign/search", "items", NULL, "code", "insert_date", "sends",
     "code title insert_date"},
    {"messages", "/emkt/message/search", "items", NULL, "code", "insert_date", "sends",
     "code title insert_date"},
    {"transactions", "/emkt/transaction/search", "items", NULL, "action_code dt_transaction",
     "dt_transaction", "sends", "action_code dt_transaction description value"},
    {"fields", "/emkt/field/search", "items", "contact_lists", "code", "insert_date", "lists",
     "code code_name field-group_code field-group_name title type is_required is_uniquevalue "
     "is_searchable insert_date contact-list_code"},
    {"field_groups", "/emkt/field-group/search", "items", "contact_lists", "code", "insert_date",
     "lists", "code title insert_date contact-list_code"},
    {"filters", "/emkt/filter/search", "items", "contact_lists", "code", "insert_date", "lists",
     "code title type insert_date contact-list_code"},
    {"list_of_values", "/emkt/field-lov/search", "list", "fields", "code", NULL, "lists",
     "code value contact-list_code field_code"},
    {"optout_emails", "/emkt/optout-email/search", "items", "contact_lists", "email",
     "request_date", "lists", "email reason_description origin request_date "
     "contact-list_code"},
    {"users", "/user/search", "items", NULL, "code", "insert_date", "account",
     "code email name language timezone insert_date"},
    {"teams", "/emkt/team/search", "items", NULL, "code", NULL, "account", "code top_team name"},
};
#define N_STREAMS (sizeof contract / sizeof contract[0])

typedef struct loaded {
    void *handle;
    const siphon_plugin_desc *desc;
    const siphon_stream_vtable *vt;
} loaded;

static loaded open_module(const char *stream)
{
    char *path = NULL;
    cr_assert_geq(asprintf(&path, "%s/siphon-dinamize-%s.so", SX_TEST_PLUGINS_DINAMIZE, stream),
                  0);
    loaded m = {0};
    m.handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    cr_assert_not_null(m.handle, "dlopen %s: %s", path, dlerror());
    siphon_plugin_entry_fn entry =
        (siphon_plugin_entry_fn)(uintptr_t)dlsym(m.handle, SIPHON_PLUGIN_ENTRY_SYMBOL);
    cr_assert_not_null(entry, "%s exports no entry", path);
    m.desc = entry(NULL);
    cr_assert_not_null(m.desc);
    cr_assert_eq(m.desc->magic, SIPHON_PLUGIN_MAGIC);
    cr_assert_eq(m.desc->abi_major, SIPHON_ABI_MAJOR);
    cr_assert_eq(m.desc->struct_size, sizeof(siphon_plugin_desc));
    cr_assert_str_eq(m.desc->build_sig, SIPHON_BUILD_SIG);
    cr_assert_not_null(m.desc->components[0]);
    cr_assert_null(m.desc->components[1], "%s: one stream per module", path);
    cr_assert_eq(m.desc->components[0]->kind, SIPHON_KIND_STREAM);
    cr_assert_eq(m.desc->components[0]->struct_size, sizeof(siphon_stream_vtable));
    m.vt = (const siphon_stream_vtable *)m.desc->components[0];
    free(path);
    return m;
}

static const siphon_option *find_option(const siphon_option *options, const char *name)
{
    for (const siphon_option *o = options; o && o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

Test(dz_streams, every_module_declares_its_stream_as_the_contract_says)
{
    for (size_t i = 0; i < N_STREAMS; i++) {
        const expected_stream *x = &contract[i];
        loaded m = open_module(x->name);
        const siphon_stream_vtable *vt = m.vt;
        char plugin_name[64];
        snprintf(plugin_name, sizeof plugin_name, "dinamize-%s", x->name);
        cr_expect_str_eq(m.desc->name, plugin_name);
        cr_expect_str_eq(vt->base.name, x->name);
        cr_expect_not_null(vt->base.description);
        cr_expect_not_null(vt->read);

        /* keys and replication key */
        char keys[128] = "";
        for (const char *const *k = vt->key_properties; k && *k; k++)
            snprintf(keys + strlen(keys), sizeof keys - strlen(keys), "%s%s", keys[0] ? " " : "",
                     *k);
        cr_expect_str_eq(keys, x->keys, "%s keys", x->name);
        if (x->rk)
            cr_expect_str_eq(vt->replication_key, x->rk, "%s", x->name);
        else
            cr_expect_null(vt->replication_key, "%s is FULL_TABLE only", x->name);

        /* parents: partition() with them, parallel partitions */
        if (x->parent) {
            cr_expect_str_eq(vt->parent, x->parent, "%s", x->name);
            cr_expect_not_null(vt->partition, "%s", x->name);
            cr_expect(vt->base.caps & SIPHON_CAP_PARALLEL_SAFE, "%s", x->name);
        } else {
            cr_expect_null(vt->parent, "%s", x->name);
        }

        /* groups: its own, and "all" */
        int own = 0, all = 0;
        for (const char *const *g = vt->groups; g && *g; g++) {
            own |= strcmp(*g, x->group) == 0;
            all |= strcmp(*g, "all") == 0;
        }
        cr_expect(own && all, "%s should be in groups %s and all", x->name, x->group);

        /* per-stream options with the contract's defaults */
        const siphon_option *page = find_option(vt->base.options, "page_size");
        const siphon_option *path = find_option(vt->base.options, "path");
        const siphon_option *items = find_option(vt->base.options, "items_key");
        cr_assert(page && path && items, "%s lacks a per-stream option", x->name);
        cr_expect_str_eq(page->default_json, "10000");
        char want[128];
        snprintf(want, sizeof want, "\"%s\"", x->path);
        cr_expect_str_eq(path->default_json, want);
        snprintf(want, sizeof want, "\"%s\"", x->items_key);
        cr_expect_str_eq(items->default_json, want);
        for (const siphon_option *o = vt->base.options; o->name; o++)
            cr_expect(o->flags & SIPHON_OPT_PER_STREAM, "%s.%s", x->name, o->name);
        cr_expect_eq(vt->base.option_size, sizeof(siphon_option));

        /* the schema: valid, every contract field, keys non-null strings */
        json_error_t e;
        json_t *schema = json_loads(vt->schema_json, 0, &e);
        cr_assert_not_null(schema, "%s schema: %s", x->name, e.text);
        json_t *props = json_object_get(schema, "properties");
        cr_assert(json_is_object(props));
        cr_expect(json_is_true(json_object_get(schema, "additionalProperties")),
                  "%s: unknown keys pass through", x->name);
        char fields[512];
        snprintf(fields, sizeof fields, "%s", x->fields);
        for (char *save = NULL, *f = strtok_r(fields, " ", &save); f;
             f = strtok_r(NULL, " ", &save))
            cr_expect_not_null(json_object_get(props, f), "%s lacks field %s", x->name, f);
        size_t n_props = json_object_size(props);
        size_t n_fields = 1;
        for (const char *p = x->fields; *p; p++)
            n_fields += *p == ' ';
        cr_expect_eq(n_props, n_fields, "%s has fields the contract does not list", x->name);
        for (const char *const *k = vt->key_properties; k && *k; k++)
            cr_expect_str_eq(json_string_value(json_object_get(json_object_get(props, *k), "type")),
                             "string", "%s key %s", x->name, *k);
        if (vt->replication_key)
            cr_expect_not_null(json_object_get(props, vt->replication_key));
        json_decref(schema);
        dlclose(m.handle);
    }
}

Test(dz_streams, contacts_discover_their_custom_fields)
{
    loaded m = open_module("contacts");
    cr_assert(m.vt->base.caps & SIPHON_CAP_DISCOVER);
    cr_assert_not_null(m.vt->discover);
    dlclose(m.handle);
}

/* The option table of a source, as text, to compare modules. */
static char *options_text(const siphon_source *src)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    for (const siphon_option *o = src->options; o->name; o++)
        fprintf(f, "%s|%u|%u|%s|%s;", o->name, o->type, o->flags,
                o->default_json ? o->default_json : "-", o->env ? o->env : "-");
    fclose(f);
    return text;
}

Test(dz_streams, every_module_carries_the_same_dinamize_source)
{
    char *first = NULL;
    for (size_t i = 0; i < N_STREAMS; i++) {
        loaded m = open_module(contract[i].name);
        const siphon_source *src = m.vt->source;
        cr_assert_not_null(src);
        cr_expect_eq(src->struct_size, sizeof(siphon_source));
        cr_expect_str_eq(src->name, "dinamize");
        cr_expect_str_eq(src->base_url_option, "base_url");
        cr_expect_str_eq(src->rate_limit_option, "requests_per_minute");
        cr_expect_eq(src->rate_window_ms, 60000);
        cr_expect_str_eq(src->auth_header, "auth-token");
        cr_expect_eq(src->auth_max_age_s, 23 * 3600);
        cr_expect_eq(src->auth_max_idle_s, 55 * 60);
        cr_expect_not_null(src->login);
        cr_expect_not_null(src->check);
        char *text = options_text(src);
        if (first == NULL)
            first = text;
        else {
            cr_expect_str_eq(text, first, "%s's source differs", contract[i].name);
            free(text);
        }
        dlclose(m.handle);
    }
    /* the source options, with their flags and defaults */
    cr_assert(strstr(first, "user|1|1|-|-;") != NULL, "%s", first);
    cr_assert(strstr(first, "password|1|3|-|DINAMIZE_PASSWORD;") != NULL, "%s", first);
    cr_assert(strstr(first, "client_code|1|1|-|DINAMIZE_CLIENT_CODE;") != NULL, "%s", first);
    cr_assert(strstr(first, "start_date|1|0|-|-;") != NULL, "%s", first);
    cr_assert(strstr(first, "base_url|1|0|\"https://api.dinamize.com\"|-;") != NULL, "%s", first);
    cr_assert(strstr(first, "timezone|1|0|\"America/Sao_Paulo\"|-;") != NULL, "%s", first);
    cr_assert(strstr(first, "requests_per_minute|2|0|60|-;") != NULL, "%s", first);
    free(first);
}

Test(dz_streams, modules_export_nothing_but_their_entry)
{
    /* Each module carries its own copy of the shared code: with hidden
     * visibility a module's dz_ functions never bind to another module's. */
    for (size_t i = 0; i < N_STREAMS; i++) {
        loaded m = open_module(contract[i].name);
        cr_expect_null(dlsym(m.handle, "dz_stream_read"), "%s exports dz_stream_read",
                       contract[i].name);
        cr_expect_null(dlsym(m.handle, "dz_source"), "%s exports dz_source", contract[i].name);
        dlclose(m.handle);
    }
}
