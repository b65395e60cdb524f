#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_check.h"
#include "registry.h"

/* The smallest option entry a plugin may declare: name, type and flags.
 * Everything after them reads as absent when not declared. */
#define SX_OPTION_MIN_SIZE (offsetof(siphon_option, flags) + sizeof(((siphon_option *)0)->flags))

/* A plugin that forgot the terminating entry is refused rather than read
 * until it faults. */
#define OPTIONS_MAX 1024

__attribute__((format(printf, 3, 4)))
static int refuse(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return SX_ADMIT_REFUSED;
}

/* JSON text of a plugin's default for a message: shortened, no control bytes,
 * and ASCII only (the text may not be UTF-8, or be cut inside a character,
 * and refusals go into JSON output). */
static const char *shown_json(const char *s, char *buf, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; s[i] != '\0' && n + 4 < cap; i++) {
        if (i >= 60) {
            memcpy(buf + n, "...", 3);
            n += 3;
            break;
        }
        unsigned char c = (unsigned char)s[i];
        buf[n++] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
    }
    buf[n] = '\0';
    return buf;
}

/* ---- names ---- */

const char *sx_kind_name(uint32_t kind)
{
    switch (kind) {
    case SIPHON_KIND_STREAM: return "stream";
    case SIPHON_KIND_SINK: return "sink";
    default: return "unknown";
    }
}

const char *sx_option_type_name(uint32_t type)
{
    switch (type) {
    case SIPHON_OPT_STRING: return "string";
    case SIPHON_OPT_INT: return "int";
    case SIPHON_OPT_NUMBER: return "number";
    case SIPHON_OPT_BOOL: return "bool";
    case SIPHON_OPT_JSON: return "json";
    default: return "unknown";
    }
}

void sx_caps_format(uint64_t caps, char *buf, size_t cap)
{
    static const struct {
        uint64_t bit;
        const char *name;
    } names[] = {
        {SIPHON_CAP_DISCOVER, "DISCOVER"},
        {SIPHON_CAP_PARALLEL_SAFE, "PARALLEL_SAFE"},
        {SIPHON_CAP_TRANSACTIONAL, "TRANSACTIONAL"},
        {SIPHON_CAP_STATE_IN_SINK, "STATE_IN_SINK"},
        {SIPHON_CAP_ATOMIC_REPLACE, "ATOMIC_REPLACE"},
        {SIPHON_CAP_SCHEMALESS, "SCHEMALESS"},
    };
    if (cap == 0)
        return;
    buf[0] = '\0';
    size_t len = 0;
    uint64_t rest = caps;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(caps & names[i].bit))
            continue;
        rest &= ~names[i].bit;
        int n = snprintf(buf + len, cap - len, "%s%s", len ? "|" : "", names[i].name);
        if (n < 0 || (size_t)n >= cap - len)
            return;
        len += (size_t)n;
    }
    if (rest != 0)
        snprintf(buf + len, cap - len, "%s0x%" PRIx64, len ? "|" : "", rest);
    else if (len == 0)
        snprintf(buf, cap, "none");
}

/* ---- options ---- */

static int option_is_blank(const siphon_option *o)
{
    return o->type == 0 && o->flags == 0 && o->default_json == NULL && o->description == NULL &&
           o->env == NULL && o->choices == NULL;
}

static int env_name_is_valid(const char *s)
{
    if (s == NULL || !(isupper((unsigned char)*s) || *s == '_'))
        return 0;
    for (; *s != '\0'; s++)
        if (!(isupper((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

/* Is word one of the '|'-separated choices? */
static int choices_contain(const char *choices, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = choices;;) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == wl && strncmp(p, word, wl) == 0)
            return 1;
        if (bar == NULL)
            return 0;
        p = bar + 1;
    }
}

static int choices_have_empty(const char *choices)
{
    if (*choices == '\0' || *choices == '|')
        return 1;
    size_t l = strlen(choices);
    return choices[l - 1] == '|' || strstr(choices, "||") != NULL;
}

/* The default converted to the option's type (new reference), or NULL when
 * it does not fit. Strings holding numbers and booleans fit, as they do in
 * user config. */
static json_t *fit_default(uint32_t type, json_t *v)
{
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    char *end;
    switch (type) {
    case SIPHON_OPT_STRING:
        return s != NULL ? json_incref(v) : NULL;
    case SIPHON_OPT_INT:
        if (json_is_integer(v))
            return json_incref(v);
        if (s != NULL && *s != '\0' && !isspace((unsigned char)*s)) {
            errno = 0;
            long long n = strtoll(s, &end, 10);
            if (*end == '\0' && errno == 0)
                return json_integer((json_int_t)n);
        }
        return NULL;
    case SIPHON_OPT_NUMBER:
        if (json_is_number(v))
            return json_incref(v);
        if (s != NULL && *s != '\0' && !isspace((unsigned char)*s)) {
            errno = 0;
            double d = strtod(s, &end);
            if (*end == '\0' && errno == 0 && isfinite(d))
                return json_real(d);
        }
        return NULL;
    case SIPHON_OPT_BOOL:
        if (json_is_boolean(v))
            return json_incref(v);
        if (s != NULL && (strcmp(s, "true") == 0 || strcmp(s, "false") == 0))
            return json_boolean(s[0] == 't');
        return NULL;
    case SIPHON_OPT_JSON:
        return json_incref(v);
    default:
        return NULL;
    }
}

static int check_option(const sx_options *out, size_t i, char *why, size_t cap)
{
    const siphon_option *o = &out->items[i];
    char q[128];
    if (!sx_name_is_valid(o->name))
        return refuse(why, cap,
                      "option %zu: name \"%s\" is not a valid name (letters, digits, '_', '-' "
                      "and '.' only, not starting with '-')",
                      i, shown_json(o->name, q, sizeof q));
    for (size_t j = 0; j < i; j++)
        if (strcmp(out->items[j].name, o->name) == 0)
            return refuse(why, cap, "option '%s': declared twice", o->name);
    if (o->type < SIPHON_OPT_STRING || o->type > SIPHON_OPT_JSON)
        return refuse(why, cap,
                      "option '%s': type: plugin has %" PRIu32 ", host knows %d to %d (string, "
                      "int, number, bool, json)",
                      o->name, o->type, SIPHON_OPT_STRING, SIPHON_OPT_JSON);
    if (o->env != NULL && !env_name_is_valid(o->env))
        return refuse(why, cap,
                      "option '%s': env \"%s\" is not an environment variable name (A-Z, 0-9, _)",
                      o->name, shown_json(o->env, q, sizeof q));
    if (!sx_utf8_is_valid(o->description))
        return refuse(why, cap, "option '%s': field 'description': not valid UTF-8", o->name);
    if (o->choices != NULL) {
        if (!sx_utf8_is_valid(o->choices))
            return refuse(why, cap, "option '%s': choices are not valid UTF-8", o->name);
        if (o->type != SIPHON_OPT_STRING)
            return refuse(why, cap, "option '%s': choices are allowed on string options only",
                          o->name);
        if (choices_have_empty(o->choices))
            return refuse(why, cap, "option '%s': choices \"%s\" have an empty entry", o->name,
                          shown_json(o->choices, q, sizeof q));
    }
    return SX_ADMIT_OK;
}

static int parse_default(sx_options *out, size_t i, char *why, size_t cap)
{
    const siphon_option *o = &out->items[i];
    char q[128];
    if (o->default_json == NULL)
        return SX_ADMIT_OK;
    /* A secret's default is a value like any other secret: never printed. */
    const char *text = (o->flags & SIPHON_OPT_SECRET) ? "(secret)"
                                                      : shown_json(o->default_json, q, sizeof q);
    json_error_t e;
    json_t *raw = json_loads(o->default_json, JSON_DECODE_ANY, &e);
    char qe[128];
    /* jansson's message quotes the token where it stopped, raw bytes and
     * all: it is plugin text like the default itself. */
    if (raw == NULL)
        return refuse(why, cap, "option '%s': default_json '%s' does not parse: %s", o->name, text,
                      (o->flags & SIPHON_OPT_SECRET) ? "invalid JSON"
                                                     : shown_json(e.text, qe, sizeof qe));
    json_t *fit = fit_default(o->type, raw);
    json_decref(raw);
    if (fit == NULL)
        return refuse(why, cap, "option '%s': default_json '%s' does not fit type %s", o->name,
                      text, sx_option_type_name(o->type));
    if (o->choices != NULL && !choices_contain(o->choices, json_string_value(fit))) {
        char qc[128];
        json_decref(fit);
        return refuse(why, cap, "option '%s': default '%s' is not one of its choices %s", o->name,
                      text, shown_json(o->choices, qc, sizeof qc));
    }
    out->defaults[i] = fit;
    return SX_ADMIT_OK;
}

int sx_options_normalise(const siphon_option *table, uint32_t option_size, sx_options *out,
                         char *why, size_t why_cap)
{
    memset(out, 0, sizeof *out);
    if (table == NULL)
        return SX_ADMIT_OK;
    if (option_size < SX_OPTION_MIN_SIZE)
        return refuse(why, why_cap, "option_size: plugin has %" PRIu32 ", host needs at least %zu",
                      option_size, (size_t)SX_OPTION_MIN_SIZE);
    /* Copying the first option_size bytes of an entry must not cut a field
     * in two: half a pointer is a wild pointer. */
    if (!SX_SIZE_IS_WHOLE(option_size, siphon_option))
        return refuse(why, why_cap,
                      "option_size: plugin has %" PRIu32 ", not a multiple of %zu (no compiler "
                      "gives siphon_option that size)",
                      option_size, _Alignof(siphon_option));
    /* Stride by the plugin's size, copy no more than the host knows (OBS /
     * Redis sizeof_* pattern): the option struct may grow in later minors. */
    const unsigned char *base = (const unsigned char *)table;
    size_t copy = option_size < sizeof(siphon_option) ? option_size : sizeof(siphon_option);
    size_t n = 0;
    for (;; n++) {
        if (n == OPTIONS_MAX)
            return refuse(why, why_cap,
                          "options: no terminating entry (name NULL) among the first %d",
                          OPTIONS_MAX);
        siphon_option o;
        memset(&o, 0, sizeof o);
        memcpy(&o, base + n * option_size, copy);
        if (o.name != NULL)
            continue;
        if (!option_is_blank(&o))
            return refuse(why, why_cap,
                          "option %zu: name is missing (only the terminating entry has a NULL "
                          "name, and it has nothing else set)",
                          n);
        break;
    }
    if (n == 0)
        return SX_ADMIT_OK;
    out->items = calloc(n, sizeof *out->items);
    out->defaults = calloc(n, sizeof *out->defaults);
    if (out->items == NULL || out->defaults == NULL) {
        sx_options_free(out);
        return SX_ADMIT_NOMEM;
    }
    out->n = n;
    for (size_t i = 0; i < n; i++)
        memcpy(&out->items[i], base + i * option_size, copy);
    for (size_t i = 0; i < n; i++) {
        int rc = check_option(out, i, why, why_cap);
        if (rc == SX_ADMIT_OK)
            rc = parse_default(out, i, why, why_cap);
        if (rc != SX_ADMIT_OK) {
            sx_options_free(out);
            return rc;
        }
    }
    return SX_ADMIT_OK;
}

void sx_options_free(sx_options *opts)
{
    if (opts->defaults != NULL)
        for (size_t i = 0; i < opts->n; i++)
            json_decref(opts->defaults[i]);
    free(opts->items);
    free(opts->defaults);
    memset(opts, 0, sizeof *opts);
}

const siphon_option *sx_options_find(const sx_options *opts, const char *name)
{
    for (size_t i = 0; i < opts->n; i++)
        if (strcmp(opts->items[i].name, name) == 0)
            return &opts->items[i];
    return NULL;
}

const json_t *sx_options_default(const sx_options *opts, const char *name)
{
    for (size_t i = 0; i < opts->n; i++)
        if (strcmp(opts->items[i].name, name) == 0)
            return opts->defaults[i];
    return NULL;
}

/* ---- lookups ---- */

sx_stream *sx_registry_stream(const sx_registry *reg, const char *name)
{
    for (size_t i = 0; i < reg->n_streams; i++)
        if (strcmp(reg->streams[i]->vt.base.name, name) == 0)
            return reg->streams[i];
    return NULL;
}

sx_sink *sx_registry_sink(const sx_registry *reg, const char *name)
{
    for (size_t i = 0; i < reg->n_sinks; i++)
        if (strcmp(reg->sinks[i]->vt.base.name, name) == 0)
            return reg->sinks[i];
    return NULL;
}

sx_source *sx_registry_source(const sx_registry *reg, const char *name)
{
    for (size_t i = 0; i < reg->n_sources; i++)
        if (strcmp(reg->sources[i]->name, name) == 0)
            return reg->sources[i];
    return NULL;
}

const sx_plugin *sx_registry_plugin(const sx_registry *reg, const char *name)
{
    for (size_t i = 0; i < reg->n_plugins; i++)
        if (strcmp(reg->plugins[i]->desc->name, name) == 0)
            return reg->plugins[i];
    return NULL;
}

/* ---- building ---- */

int sx_registry_refuse(sx_registry *reg, const char *path, const char *fmt, ...)
{
    sx_refusal *grown = realloc(reg->refusals, (reg->n_refusals + 1) * sizeof *grown);
    if (grown == NULL)
        return -1;
    reg->refusals = grown;
    sx_refusal r = {NULL, NULL};
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&r.reason, fmt, ap);
    va_end(ap);
    r.path = strdup(path);
    if (n < 0 || r.path == NULL) {
        if (n >= 0)
            free(r.reason);
        free(r.path);
        return -1;
    }
    reg->refusals[reg->n_refusals++] = r;
    return 0;
}

int sx_registry_note_searched(sx_registry *reg, const char *entry)
{
    char **grown = realloc(reg->search_path, (reg->n_search_path + 1) * sizeof *grown);
    if (grown == NULL)
        return -1;
    reg->search_path = grown;
    char *copy = strdup(entry);
    if (copy == NULL)
        return -1;
    reg->search_path[reg->n_search_path++] = copy;
    return 0;
}

static void flags_text(uint32_t flags, char *buf, size_t cap)
{
    int req = (flags & SIPHON_OPT_REQUIRED) != 0, sec = (flags & SIPHON_OPT_SECRET) != 0;
    snprintf(buf, cap, "%s and %s", req ? "required" : "optional", sec ? "secret" : "not secret");
}

/* Streams of one source share its options: a second declaration must name
 * the same options with the same types, and the same required and secret
 * flags (masking and validation follow the first one loaded). */
static int sources_agree(const sx_source *have, const sx_source *cand, char *why, size_t cap)
{
    const uint32_t flag_mask = SIPHON_OPT_REQUIRED | SIPHON_OPT_SECRET;
    for (size_t i = 0; i < have->options.n; i++) {
        const siphon_option *a = &have->options.items[i];
        const siphon_option *b = sx_options_find(&cand->options, a->name);
        if (b == NULL)
            return refuse(why, cap, "option '%s' is declared there but not here", a->name);
        if (a->type != b->type)
            return refuse(why, cap, "option '%s' has type %s here, %s there", a->name,
                          sx_option_type_name(b->type), sx_option_type_name(a->type));
        if ((a->flags & flag_mask) != (b->flags & flag_mask)) {
            char fa[64], fb[64];
            flags_text(a->flags, fa, sizeof fa);
            flags_text(b->flags, fb, sizeof fb);
            return refuse(why, cap, "option '%s' is %s here, %s there", a->name, fb, fa);
        }
    }
    for (size_t i = 0; i < cand->options.n; i++)
        if (sx_options_find(&have->options, cand->options.items[i].name) == NULL)
            return refuse(why, cap, "option '%s' is declared here but not there",
                          cand->options.items[i].name);
    return SX_ADMIT_OK;
}

static int check_duplicates(const sx_registry *reg, const sx_plugin *plugin, const sx_pending *pd,
                            char *why, size_t cap)
{
    const char *name = plugin->desc->name;
    const sx_plugin *other = sx_registry_plugin(reg, name);
    if (other != NULL)
        return refuse(why, cap, "duplicate plugin '%s': already provided by %s", name, other->path);
    for (size_t i = 0; i < pd->n_streams; i++) {
        const char *s = pd->streams[i]->vt.base.name;
        const sx_stream *st = sx_registry_stream(reg, s);
        if (st != NULL)
            return refuse(why, cap, "duplicate stream '%s': already provided by %s", s,
                          st->plugin->path);
        for (size_t j = 0; j < i; j++)
            if (strcmp(pd->streams[j]->vt.base.name, s) == 0)
                return refuse(why, cap, "duplicate stream '%s': declared twice by this plugin", s);
    }
    for (size_t i = 0; i < pd->n_sinks; i++) {
        const char *s = pd->sinks[i]->vt.base.name;
        const sx_sink *sk = sx_registry_sink(reg, s);
        if (sk != NULL)
            return refuse(why, cap, "duplicate sink '%s': already provided by %s", s,
                          sk->plugin->path);
        for (size_t j = 0; j < i; j++)
            if (strcmp(pd->sinks[j]->vt.base.name, s) == 0)
                return refuse(why, cap, "duplicate sink '%s': declared twice by this plugin", s);
    }
    return SX_ADMIT_OK;
}

/* Decides which source each pending stream joins: an already registered one,
 * one adopted earlier in this plugin, or its own (target[i] == its source). */
static int match_sources(const sx_registry *reg, const sx_plugin *plugin, const sx_pending *pd,
                         sx_source **target, char *why, size_t cap)
{
    char sub[1024];
    for (size_t i = 0; i < pd->n_streams; i++) {
        sx_source *cand = pd->streams[i]->source;
        sx_source *have = sx_registry_source(reg, cand->name);
        const char *origin = have != NULL && have->n_streams > 0 ? have->streams[0]->plugin->path
                                                                 : plugin->path;
        for (size_t j = 0; have == NULL && j < i; j++)
            if (strcmp(target[j]->name, cand->name) == 0)
                have = target[j];
        if (have == NULL) {
            target[i] = cand;
            continue;
        }
        if (sources_agree(have, cand, sub, sizeof sub) != SX_ADMIT_OK)
            return refuse(why, cap,
                          "stream '%s': source '%s' differs from the one loaded from %s: %s",
                          pd->streams[i]->vt.base.name, cand->name, origin, sub);
        target[i] = have;
    }
    return SX_ADMIT_OK;
}

/* Makes room for everything the commit adds, so the commit cannot fail half
 * way; growth that happened before a failure is harmless spare room. */
static int reserve(sx_registry *reg, const sx_pending *pd, sx_source **target)
{
    size_t adopted = 0;
    for (size_t i = 0; i < pd->n_streams; i++) {
        int first = 1;
        for (size_t j = 0; j < i; j++)
            if (target[j] == target[i])
                first = 0;
        if (!first)
            continue;
        size_t joining = 0;
        for (size_t j = i; j < pd->n_streams; j++)
            joining += target[j] == target[i];
        sx_source *src = target[i];
        size_t want = src->n_streams + joining;
        struct sx_stream **grown = realloc(src->streams, want * sizeof *grown);
        if (grown == NULL)
            return -1;
        src->streams = grown;
        adopted += target[i] == pd->streams[i]->source;
    }
    sx_plugin **plugins = realloc(reg->plugins, (reg->n_plugins + 1) * sizeof *plugins);
    if (plugins == NULL)
        return -1;
    reg->plugins = plugins;
    sx_source **sources = realloc(reg->sources, (reg->n_sources + adopted + 1) * sizeof *sources);
    if (sources == NULL)
        return -1;
    reg->sources = sources;
    size_t want_streams = reg->n_streams + pd->n_streams + 1;
    sx_stream **streams = realloc(reg->streams, want_streams * sizeof *streams);
    if (streams == NULL)
        return -1;
    reg->streams = streams;
    sx_sink **sinks = realloc(reg->sinks, (reg->n_sinks + pd->n_sinks + 1) * sizeof *sinks);
    if (sinks == NULL)
        return -1;
    reg->sinks = sinks;
    return 0;
}

int sx_registry_admit(sx_registry *reg, sx_plugin *plugin, struct sx_pending *pending, char *why,
                      size_t why_cap)
{
    sx_pending *pd = pending;
    int rc = check_duplicates(reg, plugin, pd, why, why_cap);
    if (rc != SX_ADMIT_OK)
        return rc;
    sx_source **target = calloc(pd->n_streams + 1, sizeof *target);
    if (target == NULL)
        return SX_ADMIT_NOMEM;
    rc = match_sources(reg, plugin, pd, target, why, why_cap);
    if (rc == SX_ADMIT_OK && reserve(reg, pd, target) != 0)
        rc = SX_ADMIT_NOMEM;
    if (rc != SX_ADMIT_OK) {
        free(target);
        return rc;
    }
    reg->plugins[reg->n_plugins++] = plugin;
    for (size_t i = 0; i < pd->n_streams; i++) {
        sx_stream *s = pd->streams[i];
        if (target[i] == s->source)
            reg->sources[reg->n_sources++] = s->source;
        else
            sx_source_free(s->source);
        s->source = target[i];
        s->plugin = plugin;
        target[i]->streams[target[i]->n_streams++] = s;
        reg->streams[reg->n_streams++] = s;
    }
    for (size_t i = 0; i < pd->n_sinks; i++) {
        pd->sinks[i]->plugin = plugin;
        reg->sinks[reg->n_sinks++] = pd->sinks[i];
    }
    free(pd->streams);
    free(pd->sinks);
    memset(pd, 0, sizeof *pd);
    free(target);
    return SX_ADMIT_OK;
}

void sx_registry_free(sx_registry *reg)
{
    for (size_t i = 0; i < reg->n_streams; i++)
        sx_stream_free(reg->streams[i]);
    for (size_t i = 0; i < reg->n_sinks; i++)
        sx_sink_free(reg->sinks[i]);
    for (size_t i = 0; i < reg->n_sources; i++)
        sx_source_free(reg->sources[i]);
    /* The plugins' code stays mapped: a handle is never closed. */
    for (size_t i = 0; i < reg->n_plugins; i++) {
        free(reg->plugins[i]->path);
        free(reg->plugins[i]);
    }
    for (size_t i = 0; i < reg->n_refusals; i++) {
        free(reg->refusals[i].path);
        free(reg->refusals[i].reason);
    }
    for (size_t i = 0; i < reg->n_search_path; i++)
        free(reg->search_path[i]);
    free(reg->streams);
    free(reg->sinks);
    free(reg->sources);
    free(reg->plugins);
    free(reg->refusals);
    free(reg->search_path);
    memset(reg, 0, sizeof *reg);
}
