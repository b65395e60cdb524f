#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_plugins.h"
#include "error.h"

static const char USAGE[] =
    "Usage: siphon plugins [list] [--json] [--strict]\n"
    "       siphon plugins inspect NAME [--json]\n"
    "       siphon plugins exists NAME [--atleast-version VERSION]\n";

static const char LIST_HELP[] =
    "\n"
    "Lists the plugins found on SIPHON_PLUGIN_PATH (colon-separated folders or\n"
    "\".so\" files, searched first) and in the system plugin folder\n"
    "(SIPHON_PLUGIN_SYSTEM_PATH when set), then every file that was refused and why.\n"
    "\n"
    "  --json      machine-readable output\n"
    "  --strict    exit 6 when any plugin was refused\n"
    "  -h, --help  this help\n";

static const char INSPECT_HELP[] =
    "Usage: siphon plugins inspect NAME [--json]\n"
    "\n"
    "Shows a plugin's descriptor, its streams and sinks, and the options each\n"
    "declares. NAME is a plugin, stream or sink name (\"stream:NAME\" and\n"
    "\"sink:NAME\" when both kinds share it), or a refused file to see why.\n"
    "\n"
    "  --json      machine-readable output\n"
    "  -h, --help  this help\n";

static const char EXISTS_HELP[] =
    "Usage: siphon plugins exists NAME [--atleast-version VERSION]\n"
    "\n"
    "Prints nothing; exits 0 when a plugin, stream or sink named NAME is loaded\n"
    "(and its plugin's version is at least VERSION), 1 otherwise.\n"
    "\n"
    "  --atleast-version VERSION  also require this version or newer\n"
    "  -h, --help                 this help\n";

typedef struct cmd {
    const sx_registry *reg;
    FILE *out;
    FILE *err;
} cmd;

/* What a NAME on the command line resolved to. */
typedef struct target {
    const sx_plugin *plugin;      /* the loaded plugin, or NULL */
    const sx_refusal *refusal;    /* or the refused file, or NULL */
} target;

static int is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* Plugin text on a terminal: loaded plugins passed the checks, but nothing
 * checked that their descriptions hold no escape sequences. */
static void put_clean(FILE *f, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        fputc(c < 0x20 || c == 0x7f ? '?' : c, f);
    }
}

static void put_padded(FILE *f, const char *s, size_t width)
{
    put_clean(f, s);
    for (size_t n = strlen(s); n < width; n++)
        fputc(' ', f);
}

/* ---- version comparison ---- */

int sx_version_compare(const char *a, const char *b)
{
    while (*a != '\0' || *b != '\0') {
        unsigned long long na = 0, nb = 0;
        while (isdigit((unsigned char)*a))
            na = na * 10 + (unsigned long long)(*a++ - '0');
        while (isdigit((unsigned char)*b))
            nb = nb * 10 + (unsigned long long)(*b++ - '0');
        if (na != nb)
            return na < nb ? -1 : 1;
        size_t sa = strcspn(a, "."), sb = strcspn(b, ".");
        if (sa != sb || strncmp(a, b, sa) != 0) {
            /* "0-rc1" is a pre-release of "0". */
            if (sa == 0)
                return 1;
            if (sb == 0)
                return -1;
            int c = strncmp(a, b, sa < sb ? sa : sb);
            if (c != 0)
                return c;
            return sa < sb ? -1 : 1;
        }
        a += sa;
        b += sb;
        if (*a == '.')
            a++;
        if (*b == '.')
            b++;
    }
    return 0;
}

/* ---- name resolution ---- */

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

static int refusal_matches(const sx_refusal *r, const char *name)
{
    const char *base = base_name(r->path);
    size_t bl = strlen(base);
    if (strcmp(r->path, name) == 0 || strcmp(base, name) == 0)
        return 1;
    return bl > 3 && strcmp(base + bl - 3, ".so") == 0 && strlen(name) == bl - 3 &&
           strncmp(base, name, bl - 3) == 0;
}

static target resolve(const sx_registry *reg, const char *name)
{
    target t = {NULL, NULL};
    if (strncmp(name, "stream:", 7) == 0) {
        const sx_stream *s = sx_registry_stream(reg, name + 7);
        t.plugin = s != NULL ? s->plugin : NULL;
        return t;
    }
    if (strncmp(name, "sink:", 5) == 0) {
        const sx_sink *k = sx_registry_sink(reg, name + 5);
        t.plugin = k != NULL ? k->plugin : NULL;
        return t;
    }
    if ((t.plugin = sx_registry_plugin(reg, name)) != NULL)
        return t;
    const sx_stream *s = sx_registry_stream(reg, name);
    if (s != NULL) {
        t.plugin = s->plugin;
        return t;
    }
    const sx_sink *k = sx_registry_sink(reg, name);
    if (k != NULL) {
        t.plugin = k->plugin;
        return t;
    }
    for (size_t i = 0; i < reg->n_refusals; i++)
        if (refusal_matches(&reg->refusals[i], name)) {
            t.refusal = &reg->refusals[i];
            break;
        }
    return t;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = malloc((lb + 1) * sizeof *row);
    if (row == NULL)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    size_t d = row[lb];
    free(row);
    return d;
}

static void consider(const char *name, const char *candidate, const char **best, size_t *best_d)
{
    size_t d = edit_distance(name, candidate);
    if (d < *best_d) {
        *best_d = d;
        *best = candidate;
    }
}

/* The loaded name closest to name, if it is close enough to be a typo. */
static const char *suggest(const sx_registry *reg, const char *name)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < reg->n_plugins; i++)
        consider(name, reg->plugins[i]->desc->name, &best, &best_d);
    for (size_t i = 0; i < reg->n_streams; i++)
        consider(name, reg->streams[i]->vt.base.name, &best, &best_d);
    for (size_t i = 0; i < reg->n_sinks; i++)
        consider(name, reg->sinks[i]->vt.base.name, &best, &best_d);
    size_t limit = strlen(name) / 3;
    if (limit < 2)
        limit = 2;
    return best != NULL && best_d <= limit ? best : NULL;
}

static int unknown_name(const cmd *c, const char *name)
{
    const char *hint = suggest(c->reg, name);
    fputs("siphon plugins: no plugin, stream or sink named '", c->err);
    put_clean(c->err, name);
    fputs("'", c->err);
    if (hint != NULL)
        fprintf(c->err, "; did you mean '%s'?\n", hint);
    else
        fputs(" (run 'siphon plugins' to list them)\n", c->err);
    return SX_EXIT_USAGE;
}

/* "siphon plugins inspect: unknown option '--x' (see ...)" */
static int usage_error(const cmd *c, const char *form, const char *what, const char *arg)
{
    const char *sep = *form != '\0' ? " " : "";
    fprintf(c->err, "siphon plugins%s%s: %s '", sep, form, what);
    put_clean(c->err, arg);
    fprintf(c->err, "' (see 'siphon plugins%s%s --help')\n", sep, form);
    return SX_EXIT_USAGE;
}

/* ---- JSON building ---- */

static json_t *str_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

static json_t *string_list(const char *const *list)
{
    json_t *a = json_array();
    for (size_t i = 0; list != NULL && list[i] != NULL; i++)
        json_array_append_new(a, json_string(list[i]));
    return a;
}

static json_t *plugin_json(const sx_plugin *p)
{
    const siphon_plugin_desc *d = p->desc;
    json_t *comps = json_array();
    for (size_t i = 0; d->components[i] != NULL; i++)
        json_array_append_new(comps, json_pack("{s:s, s:s}", "kind",
                                               sx_kind_name(d->components[i]->kind), "name",
                                               d->components[i]->name));
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:i, s:i}, s:s, s:o}", "name", d->name,
                     "version", d->version, "license", d->license, "description", d->description,
                     "file", p->path, "abi", "major", (int)d->abi_major, "minor",
                     (int)d->abi_minor, "build_signature", d->build_sig, "components", comps);
}

static void print_json(const cmd *c, json_t *doc)
{
    if (doc == NULL) {
        fputs("siphon plugins: out of memory\n", c->err);
        return;
    }
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text != NULL)
        fprintf(c->out, "%s\n", text);
    free(text);
    json_decref(doc);
}

/* ---- list ---- */

static void components_text(const sx_plugin *p, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; p->desc->components[i] != NULL && len < cap; i++) {
        const siphon_component *comp = p->desc->components[i];
        int n = snprintf(buf + len, cap - len, "%s%s:%s", i ? ", " : "", sx_kind_name(comp->kind),
                         comp->name);
        if (n < 0)
            return;
        len += (size_t)n;
    }
}

static int list_json(const cmd *c)
{
    const sx_registry *reg = c->reg;
    json_t *doc = json_object();
    json_t *path = json_array(), *plugins = json_array(), *refused = json_array();
    for (size_t i = 0; i < reg->n_search_path; i++)
        json_array_append_new(path, json_string(reg->search_path[i]));
    for (size_t i = 0; i < reg->n_plugins; i++)
        json_array_append_new(plugins, plugin_json(reg->plugins[i]));
    for (size_t i = 0; i < reg->n_refusals; i++)
        json_array_append_new(refused, json_pack("{s:s, s:s}", "file", reg->refusals[i].path,
                                                 "reason", reg->refusals[i].reason));
    json_object_set_new(doc, "search_path", path);
    json_object_set_new(doc, "plugins", plugins);
    json_object_set_new(doc, "refused", refused);
    print_json(c, doc);
    return SX_EXIT_OK;
}

static void list_text(const cmd *c)
{
    const sx_registry *reg = c->reg;
    FILE *o = c->out;
    char comps[2048];
    size_t wn = strlen("NAME"), wv = strlen("VERSION"), wc = strlen("COMPONENTS");
    for (size_t i = 0; i < reg->n_plugins; i++) {
        const sx_plugin *p = reg->plugins[i];
        components_text(p, comps, sizeof comps);
        if (strlen(p->desc->name) > wn)
            wn = strlen(p->desc->name);
        if (strlen(p->desc->version) > wv)
            wv = strlen(p->desc->version);
        if (strlen(comps) > wc)
            wc = strlen(comps);
    }
    fputs("Search path: ", o);
    for (size_t i = 0; i < reg->n_search_path; i++) {
        if (i > 0)
            fputc(':', o);
        put_clean(o, reg->search_path[i]);
    }
    fputs(reg->n_search_path == 0 ? "(nothing found to search)\n\n" : "\n\n", o);
    if (reg->n_plugins == 0) {
        fputs("No plugins loaded.\n", o);
    } else {
        fprintf(o, "Plugins (%zu):\n  ", reg->n_plugins);
        put_padded(o, "NAME", wn + 2);
        put_padded(o, "VERSION", wv + 2);
        put_padded(o, "COMPONENTS", wc + 2);
        fputs("FILE\n", o);
        for (size_t i = 0; i < reg->n_plugins; i++) {
            const sx_plugin *p = reg->plugins[i];
            components_text(p, comps, sizeof comps);
            fputs("  ", o);
            put_padded(o, p->desc->name, wn + 2);
            put_padded(o, p->desc->version, wv + 2);
            put_padded(o, comps, wc + 2);
            put_clean(o, p->path);
            fputc('\n', o);
        }
    }
    if (reg->n_refusals > 0) {
        fprintf(o, "\nRefused (%zu):\n", reg->n_refusals);
        for (size_t i = 0; i < reg->n_refusals; i++) {
            fputs("  ", o);
            put_clean(o, reg->refusals[i].path);
            fputs("\n      ", o);
            put_clean(o, reg->refusals[i].reason);
            fputc('\n', o);
        }
    }
}

static int cmd_list(const cmd *c, int argc, char **argv)
{
    int json = 0, strict = 0;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(USAGE, c->out);
            fputs(LIST_HELP, c->out);
            return SX_EXIT_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--strict") == 0) {
            strict = 1;
        } else if (argv[i][0] == '-') {
            return usage_error(c, "", "unknown option", argv[i]);
        } else {
            return usage_error(c, "", "unknown command", argv[i]);
        }
    }
    if (json)
        list_json(c);
    else
        list_text(c);
    return strict && c->reg->n_refusals > 0 ? SX_EXIT_PLUGIN : SX_EXIT_OK;
}

/* ---- inspect ---- */

static json_t *options_json(const sx_options *opts)
{
    json_t *a = json_array();
    for (size_t i = 0; i < opts->n; i++) {
        const siphon_option *o = &opts->items[i];
        int secret = (o->flags & SIPHON_OPT_SECRET) != 0;
        json_t *choices = json_null();
        if (o->choices != NULL) {
            choices = json_array();
            for (const char *p = o->choices;;) {
                const char *bar = strchr(p, '|');
                size_t l = bar != NULL ? (size_t)(bar - p) : strlen(p);
                json_array_append_new(choices, json_stringn(p, l));
                if (bar == NULL)
                    break;
                p = bar + 1;
            }
        }
        json_t *def = opts->defaults[i] != NULL && !secret ? json_incref(opts->defaults[i])
                                                           : json_null();
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:o, s:o, s:o, s:o}", "name",
                         o->name, "type", sx_option_type_name(o->type), "required",
                         (o->flags & SIPHON_OPT_REQUIRED) != 0, "secret", secret, "per_stream",
                         (o->flags & SIPHON_OPT_PER_STREAM) != 0, "deprecated",
                         (o->flags & SIPHON_OPT_DEPRECATED) != 0, "has_default",
                         opts->defaults[i] != NULL, "default", def, "env", str_or_null(o->env),
                         "choices", choices, "description", str_or_null(o->description)));
    }
    return a;
}

static json_t *caps_json(uint64_t caps)
{
    char buf[512];
    json_t *a = json_array();
    if (caps == 0)
        return a;
    sx_caps_format(caps, buf, sizeof buf);
    for (char *save = NULL, *tok = strtok_r(buf, "|", &save); tok != NULL;
         tok = strtok_r(NULL, "|", &save))
        json_array_append_new(a, json_string(tok));
    return a;
}

/* The host copies of a plugin's components, in the order it declared them. */
static const sx_stream *stream_of(const sx_registry *reg, const sx_plugin *p, const char *name)
{
    const sx_stream *s = sx_registry_stream(reg, name);
    return s != NULL && s->plugin == p ? s : NULL;
}

static const sx_sink *sink_of(const sx_registry *reg, const sx_plugin *p, const char *name)
{
    const sx_sink *k = sx_registry_sink(reg, name);
    return k != NULL && k->plugin == p ? k : NULL;
}

/* Each distinct source of the plugin's streams, once, in declaration order. */
static size_t plugin_sources(const sx_registry *reg, const sx_plugin *p, const sx_source **out,
                             size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; p->desc->components[i] != NULL; i++) {
        const sx_stream *s = stream_of(reg, p, p->desc->components[i]->name);
        if (s == NULL || p->desc->components[i]->kind != SIPHON_KIND_STREAM)
            continue;
        int seen = 0;
        for (size_t j = 0; j < n; j++)
            seen |= out[j] == s->source;
        if (!seen && n < cap)
            out[n++] = s->source;
    }
    return n;
}

static int inspect_json(const cmd *c, const sx_plugin *p)
{
    json_t *doc = plugin_json(p);
    json_t *comps = json_array();
    for (size_t i = 0; p->desc->components[i] != NULL; i++) {
        const siphon_component *decl = p->desc->components[i];
        const sx_stream *s = decl->kind == SIPHON_KIND_STREAM ? stream_of(c->reg, p, decl->name)
                                                              : NULL;
        const sx_sink *k = decl->kind == SIPHON_KIND_SINK ? sink_of(c->reg, p, decl->name) : NULL;
        const siphon_component *base = s != NULL ? &s->vt.base : k != NULL ? &k->vt.base : NULL;
        if (base == NULL)
            continue;
        json_t *o = json_pack("{s:s, s:s, s:o, s:o}", "kind", sx_kind_name(base->kind), "name",
                              base->name, "description", str_or_null(base->description),
                              "capabilities", caps_json(base->caps));
        if (s != NULL) {
            json_object_set_new(o, "key_properties", string_list(s->vt.key_properties));
            json_object_set_new(o, "replication_key", str_or_null(s->vt.replication_key));
            json_object_set_new(o, "parent", str_or_null(s->vt.parent));
            json_object_set_new(o, "groups", string_list(s->vt.groups));
            json_object_set_new(o, "source", json_string(s->source->name));
        }
        json_object_set_new(o, "options", options_json(s != NULL ? &s->options : &k->options));
        json_array_append_new(comps, o);
    }
    json_object_set_new(doc, "components", comps);
    const sx_source *sources[64];
    size_t ns = plugin_sources(c->reg, p, sources, 64);
    json_t *srcs = json_array();
    for (size_t i = 0; i < ns; i++)
        json_array_append_new(srcs, json_pack("{s:s, s:o, s:o}", "name", sources[i]->name,
                                              "description",
                                              str_or_null(sources[i]->decl.description),
                                              "options", options_json(&sources[i]->options)));
    json_object_set_new(doc, "sources", srcs);
    print_json(c, doc);
    return SX_EXIT_OK;
}

static void row(FILE *o, const char *label, const char *value)
{
    fprintf(o, "  %-17s", label);
    put_clean(o, value != NULL ? value : "none");
    fputc('\n', o);
}

static void list_row(FILE *o, const char *label, const char *const *list)
{
    fprintf(o, "  %-17s", label);
    if (list == NULL || list[0] == NULL)
        fputs("none", o);
    for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
        if (i > 0)
            fputs(", ", o);
        put_clean(o, list[i]);
    }
    fputc('\n', o);
}

static void options_text(FILE *o, const sx_options *opts)
{
    if (opts->n == 0) {
        row(o, "Options", "none");
        return;
    }
    fputs("  Options\n", o);
    for (size_t i = 0; i < opts->n; i++) {
        const siphon_option *op = &opts->items[i];
        fprintf(o, "    %s (%s", op->name, sx_option_type_name(op->type));
        if (op->flags & SIPHON_OPT_REQUIRED)
            fputs(", required", o);
        if (op->flags & SIPHON_OPT_SECRET)
            fputs(", secret", o);
        if (op->flags & SIPHON_OPT_PER_STREAM)
            fputs(", per-stream", o);
        if (op->flags & SIPHON_OPT_DEPRECATED)
            fputs(", deprecated", o);
        if (opts->defaults[i] != NULL) {
            if (op->flags & SIPHON_OPT_SECRET) {
                fputs(", default hidden", o);
            } else {
                char *text = json_dumps(opts->defaults[i], JSON_ENCODE_ANY | JSON_COMPACT);
                fputs(", default ", o);
                put_clean(o, text != NULL ? text : "?");
                free(text);
            }
        }
        if (op->choices != NULL) {
            fputs(", choices ", o);
            put_clean(o, op->choices);
        }
        if (op->env != NULL)
            fprintf(o, ", env %s", op->env);
        fputs(")\n", o);
        if (op->description != NULL) {
            fputs("        ", o);
            put_clean(o, op->description);
            fputc('\n', o);
        }
    }
}

static int inspect_text(const cmd *c, const sx_plugin *p)
{
    FILE *o = c->out;
    const siphon_plugin_desc *d = p->desc;
    char buf[512];
    fprintf(o, "Plugin %s\n", d->name);
    row(o, "Version", d->version);
    row(o, "License", d->license);
    row(o, "Description", d->description);
    row(o, "File", p->path);
    snprintf(buf, sizeof buf, "%u.%u", (unsigned)d->abi_major, (unsigned)d->abi_minor);
    row(o, "ABI", buf);
    row(o, "Build signature", d->build_sig);
    for (size_t i = 0; d->components[i] != NULL; i++) {
        const siphon_component *decl = d->components[i];
        const sx_stream *s = decl->kind == SIPHON_KIND_STREAM ? stream_of(c->reg, p, decl->name)
                                                              : NULL;
        const sx_sink *k = decl->kind == SIPHON_KIND_SINK ? sink_of(c->reg, p, decl->name) : NULL;
        const siphon_component *base = s != NULL ? &s->vt.base : k != NULL ? &k->vt.base : NULL;
        if (base == NULL)
            continue;
        fprintf(o, "\n%s %s\n", s != NULL ? "Stream" : "Sink", base->name);
        row(o, "Description", base->description);
        sx_caps_format(base->caps, buf, sizeof buf);
        row(o, "Capabilities", buf);
        if (s != NULL) {
            list_row(o, "Key properties", s->vt.key_properties);
            row(o, "Replication key",
                s->vt.replication_key != NULL ? s->vt.replication_key : "none (FULL_TABLE only)");
            row(o, "Parent", s->vt.parent);
            list_row(o, "Groups", s->vt.groups);
            row(o, "Source", s->source->name);
        }
        options_text(o, s != NULL ? &s->options : &k->options);
    }
    const sx_source *sources[64];
    size_t ns = plugin_sources(c->reg, p, sources, 64);
    for (size_t i = 0; i < ns; i++) {
        fprintf(o, "\nSource %s\n", sources[i]->name);
        row(o, "Description", sources[i]->decl.description);
        options_text(o, &sources[i]->options);
    }
    return SX_EXIT_OK;
}

static int show_refusal(const cmd *c, const sx_refusal *r, int json)
{
    if (json) {
        print_json(c, json_pack("{s:s, s:s}", "file", r->path, "refused", r->reason));
    } else {
        fputs("Refused ", c->out);
        put_clean(c->out, r->path);
        fputs("\n  ", c->out);
        put_clean(c->out, r->reason);
        fputc('\n', c->out);
    }
    return SX_EXIT_PLUGIN;
}

static int cmd_inspect(const cmd *c, int argc, char **argv)
{
    const char *name = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(INSPECT_HELP, c->out);
            return SX_EXIT_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (argv[i][0] == '-') {
            return usage_error(c, "inspect", "unknown option", argv[i]);
        } else if (name != NULL) {
            return usage_error(c, "inspect", "one NAME expected, got another:", argv[i]);
        } else {
            name = argv[i];
        }
    }
    if (name == NULL) {
        fputs("siphon plugins inspect: NAME is missing\n", c->err);
        fputs(INSPECT_HELP, c->err);
        return SX_EXIT_USAGE;
    }
    target t = resolve(c->reg, name);
    if (t.refusal != NULL)
        return show_refusal(c, t.refusal, json);
    if (t.plugin == NULL)
        return unknown_name(c, name);
    return json ? inspect_json(c, t.plugin) : inspect_text(c, t.plugin);
}

/* ---- exists ---- */

static int cmd_exists(const cmd *c, int argc, char **argv)
{
    const char *name = NULL, *atleast = NULL;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(EXISTS_HELP, c->out);
            return SX_EXIT_OK;
        } else if (strcmp(argv[i], "--atleast-version") == 0) {
            if (i + 1 >= argc) {
                fputs("siphon plugins exists: --atleast-version needs a VERSION\n", c->err);
                return SX_EXIT_USAGE;
            }
            atleast = argv[++i];
        } else if (strncmp(argv[i], "--atleast-version=", 18) == 0) {
            atleast = argv[i] + 18;
        } else if (argv[i][0] == '-') {
            return usage_error(c, "exists", "unknown option", argv[i]);
        } else if (name != NULL) {
            return usage_error(c, "exists", "one NAME expected, got another:", argv[i]);
        } else {
            name = argv[i];
        }
    }
    if (name == NULL) {
        fputs("siphon plugins exists: NAME is missing\n", c->err);
        fputs(EXISTS_HELP, c->err);
        return SX_EXIT_USAGE;
    }
    if (atleast != NULL && !isdigit((unsigned char)atleast[0])) {
        fputs("siphon plugins exists: --atleast-version wants a version such as 1.2.0, not '",
              c->err);
        put_clean(c->err, atleast);
        fputs("'\n", c->err);
        return SX_EXIT_USAGE;
    }
    target t = resolve(c->reg, name);
    if (t.plugin == NULL)
        return SX_EXIT_FAILURE;
    if (atleast != NULL && sx_version_compare(t.plugin->desc->version, atleast) < 0)
        return SX_EXIT_FAILURE;
    return SX_EXIT_OK;
}

int sx_cmd_plugins_io(int argc, char **argv, const sx_registry *reg, FILE *out, FILE *err)
{
    cmd c = {reg, out, err};
    int rc;
    if (argc >= 2 && strcmp(argv[1], "inspect") == 0)
        rc = cmd_inspect(&c, argc - 1, argv + 1);
    else if (argc >= 2 && strcmp(argv[1], "exists") == 0)
        rc = cmd_exists(&c, argc - 1, argv + 1);
    else if (argc >= 2 && strcmp(argv[1], "list") == 0)
        rc = cmd_list(&c, argc - 1, argv + 1);
    else
        rc = cmd_list(&c, argc, argv);
    fflush(out);
    fflush(err);
    return rc;
}

int sx_cmd_plugins(int argc, char **argv, const sx_registry *reg)
{
    return sx_cmd_plugins_io(argc, argv, reg, stdout, stderr);
}
