/*
 * cmd_about.c: `siphon about` and `siphon --about`: what siphon is, what it
 * can do (Meltano's capability names), every setting with its type, default
 * and whether it is secret (never its value), the streams and the sinks.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core-config.h"
#include "mask.h"

static const char *const ABOUT_CAPABILITIES[] = {
    "about", "catalog", "discover", "properties", "state", "activate-version", NULL};

static const char *json_type_of(uint32_t type)
{
    switch (type) {
    case SIPHON_OPT_INT: return "integer";
    case SIPHON_OPT_NUMBER: return "number";
    case SIPHON_OPT_BOOL: return "boolean";
    case SIPHON_OPT_STRING: return "string";
    default: return NULL;
    }
}

/* One option as a JSON Schema property, with siphon's extra facts. */
static json_t *option_json(const siphon_option *o, const json_t *dflt)
{
    json_t *p = json_object();
    const char *t = json_type_of(o->type);
    if (t)
        json_object_set_new(p, "type", json_string(t));
    if (o->description)
        json_object_set_new(p, "description", json_string(o->description));
    if (dflt != NULL && !(o->flags & SIPHON_OPT_SECRET))
        json_object_set(p, "default", (json_t *)dflt);
    if (o->flags & SIPHON_OPT_SECRET) {
        json_object_set_new(p, "secret", json_true());
        json_object_set_new(p, "writeOnly", json_true());
    }
    if (o->flags & SIPHON_OPT_PER_STREAM)
        json_object_set_new(p, "per_stream", json_true());
    if (o->env)
        json_object_set_new(p, "env", json_string(o->env));
    if (o->choices) {
        json_t *e = json_array();
        char buf[512];
        snprintf(buf, sizeof buf, "%s", o->choices);
        char *save = NULL;
        for (char *c = strtok_r(buf, "|", &save); c; c = strtok_r(NULL, "|", &save))
            json_array_append_new(e, json_string(c));
        json_object_set_new(p, "enum", e);
    }
    return p;
}

static void add_options(json_t *props, json_t *required, const sx_options *opts)
{
    for (size_t i = 0; i < opts->n; i++) {
        const siphon_option *o = &opts->items[i];
        if (json_object_get(props, o->name) != NULL)
            continue;
        json_object_set_new(props, o->name, option_json(o, opts->defaults ? opts->defaults[i] : NULL));
        if (o->flags & SIPHON_OPT_REQUIRED)
            json_array_append_new(required, json_string(o->name));
    }
}

static json_t *strings_json(const char *const *list)
{
    json_t *a = json_array();
    for (; list != NULL && *list != NULL; list++)
        json_array_append_new(a, json_string(*list));
    return a;
}

static json_t *source_json(const sx_source *src)
{
    json_t *props = json_object(), *required = json_array(), *streams = json_array();
    add_options(props, required, &src->options);
    for (size_t i = 0; i < src->n_streams; i++) {
        const sx_stream *s = src->streams[i];
        add_options(props, required, &s->options);
        json_array_append_new(streams, json_pack("{s:s, s:s?, s:o, s:s?, s:s?, s:o, s:s}",
            "name", s->vt.base.name, "description", s->vt.base.description,
            "key_properties", strings_json(s->vt.key_properties),
            "replication_key", s->vt.replication_key, "parent", s->vt.parent,
            "groups", strings_json(s->vt.groups), "plugin", s->plugin->desc->name));
    }
    return json_pack("{s:s, s:s?, s:{s:s, s:o, s:o}, s:o}", "name", src->name, "description",
                     src->decl.description, "settings", "type", "object", "properties", props,
                     "required", required, "streams", streams);
}

static json_t *about_json(const sx_registry *reg, const sx_source *only)
{
    json_t *host_props = json_object(), *host_req = json_array();
    add_options(host_props, host_req, sx_host_options());
    json_t *stream_props = json_object(), *stream_req = json_array();
    add_options(stream_props, stream_req, sx_host_stream_options());
    json_decref(stream_req);
    json_object_set_new(host_props, "streams",
        json_pack("{s:s, s:s, s:{s:s, s:o}}", "type", "object", "description",
                  "Per-stream settings, by stream name", "additionalProperties", "type", "object",
                  "properties", stream_props));

    json_t *sources = json_array();
    for (size_t i = 0; i < reg->n_sources; i++)
        if (only == NULL || reg->sources[i] == only)
            json_array_append_new(sources, source_json(reg->sources[i]));
    json_t *sinks = json_array();
    for (size_t i = 0; i < reg->n_sinks; i++) {
        const sx_sink *k = reg->sinks[i];
        json_t *props = json_object(), *req = json_array();
        add_options(props, req, &k->options);
        json_array_append_new(sinks, json_pack("{s:s, s:s?, s:{s:s, s:o, s:o}}", "name",
            k->vt.base.name, "description", k->vt.base.description, "settings", "type", "object",
            "properties", props, "required", req));
    }
    json_t *plugins = json_array();
    for (size_t i = 0; i < reg->n_plugins; i++) {
        const sx_plugin *p = reg->plugins[i];
        json_array_append_new(plugins, json_pack("{s:s, s:s, s:s, s:s}", "name", p->desc->name,
            "version", p->desc->version, "license", p->desc->license, "file", p->path));
    }
    char abi[32];
    snprintf(abi, sizeof abi, "%d.%d", SIPHON_HOST_ABI_MAJOR, SIPHON_HOST_ABI_MINOR);
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:{s:s, s:o, s:o}, s:o, s:o, s:o}",
        "name", "siphon",
        "description", "Extracts data from APIs through stream plugins into sink plugins "
                       "(Singer compatible)",
        "version", SIPHON_VERSION_STRING, "plugin_abi", abi,
        "capabilities", strings_json(ABOUT_CAPABILITIES),
        "settings", "type", "object", "properties", host_props, "required", host_req,
        "sources", sources, "sinks", sinks, "plugins", plugins);
}

static void markdown_settings(FILE *out, const json_t *settings)
{
    fprintf(out, "| setting | type | default | description |\n| --- | --- | --- | --- |\n");
    const char *name;
    json_t *p;
    json_object_foreach(json_object_get((json_t *)settings, "properties"), name, p) {
        char *dflt = json_object_get(p, "default")
                         ? json_dumps(json_object_get(p, "default"), JSON_ENCODE_ANY) : NULL;
        const char *type = json_string_value(json_object_get(p, "type"));
        fprintf(out, "| `%s`%s | %s | %s | %s |\n", name,
                json_is_true(json_object_get(p, "secret")) ? " (secret)" : "",
                type ? type : "any", dflt ? dflt : "",
                json_string_value(json_object_get(p, "description")) ?: "");
        free(dflt);
    }
    fputc('\n', out);
}

static void about_markdown(FILE *out, const json_t *a)
{
    fprintf(out, "# siphon %s\n\n%s\n\nPlugin ABI %s. Capabilities: ",
            json_string_value(json_object_get(a, "version")),
            json_string_value(json_object_get(a, "description")),
            json_string_value(json_object_get(a, "plugin_abi")));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(a, "capabilities"), i, v)
        fprintf(out, "%s`%s`", i ? ", " : "", json_string_value(v));
    fprintf(out, ".\n\n## Host settings\n\n");
    markdown_settings(out, json_object_get(a, "settings"));
    json_array_foreach(json_object_get(a, "sources"), i, v) {
        fprintf(out, "## Source `%s`\n\n%s\n\n### Settings\n\n",
                json_string_value(json_object_get(v, "name")),
                json_string_value(json_object_get(v, "description")) ?: "");
        markdown_settings(out, json_object_get(v, "settings"));
        fprintf(out, "### Streams\n\n| stream | key | replication key | parent |\n"
                     "| --- | --- | --- | --- |\n");
        size_t k;
        json_t *s;
        json_array_foreach(json_object_get(v, "streams"), k, s) {
            char *keys = json_dumps(json_object_get(s, "key_properties"), JSON_COMPACT);
            fprintf(out, "| `%s` | %s | %s | %s |\n", json_string_value(json_object_get(s, "name")),
                    keys ? keys : "", json_string_value(json_object_get(s, "replication_key")) ?: "",
                    json_string_value(json_object_get(s, "parent")) ?: "");
            free(keys);
        }
        fputc('\n', out);
    }
    json_array_foreach(json_object_get(a, "sinks"), i, v) {
        fprintf(out, "## Sink `%s`\n\n%s\n\n", json_string_value(json_object_get(v, "name")),
                json_string_value(json_object_get(v, "description")) ?: "");
        markdown_settings(out, json_object_get(v, "settings"));
    }
}

int sx_cmd_about(sx_cli *cli)
{
    siphon_host_info info = {sizeof info, SIPHON_ABI_MAJOR, SIPHON_ABI_MINOR,
                             SIPHON_VERSION_STRING, sx_host_api()};
    sx_registry reg = {0};
    sx_config cfg = {0};
    sx_error err = {0};
    int code = SX_EXIT_OK;
    const sx_source *only = NULL;
    if (sx_registry_load(&reg, &info, NULL, NULL, &err) != 0)
        code = sx_cli_fail(&err);
    if (code == SX_EXIT_OK && cli->run.config_path != NULL) {
        if (sx_config_load(&cfg, cli->run.config_path, &err) != 0 ||
            sx_config_resolve(&cfg, &reg, cli->run.sink, &err) != 0)
            code = sx_cli_fail(&err);
        else
            only = cfg.source;
    }
    if (code == SX_EXIT_OK) {
        json_t *a = about_json(&reg, only);
        const char *format = cli->format ? cli->format : cli->run.singer_mode ? "json" : "markdown";
        if (strcmp(format, "json") == 0) {
            json_dumpf(a, stdout, JSON_INDENT(2));
            fputc('\n', stdout);
        } else {
            about_markdown(stdout, a);
        }
        json_decref(a);
        if (fflush(stdout) != 0)
            code = SX_EXIT_FAILURE;
    }
    sx_config_free(&cfg);
    sx_registry_free(&reg);
    return code;
}
