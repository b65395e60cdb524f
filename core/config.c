#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "json_file.h"
#include "mask.h"

#define MSG 1024

/* --- small lookups (file-local: the registry's own helpers belong to the loader) --- */

static const siphon_option *opt_find(const sx_options *opts, const char *name, size_t *index)
{
    for (size_t i = 0; opts != NULL && i < opts->n; i++) {
        if (opts->items[i].name != NULL && strcmp(opts->items[i].name, name) == 0) {
            if (index != NULL)
                *index = i;
            return &opts->items[i];
        }
    }
    return NULL;
}

static const json_t *opt_default(const sx_options *opts, const char *name)
{
    size_t i;
    if (opt_find(opts, name, &i) == NULL || opts->defaults == NULL)
        return NULL;
    return opts->defaults[i];
}

static const char *stream_name(const sx_stream *s)
{
    return s->vt.base.name;
}

static sx_stream *source_stream(const sx_source *src, const char *name)
{
    for (size_t i = 0; i < src->n_streams; i++)
        if (strcmp(stream_name(src->streams[i]), name) == 0)
            return src->streams[i];
    return NULL;
}

/* The first stream of src that declares name among its own options. */
static const siphon_option *stream_decl(const sx_source *src, const char *name)
{
    for (size_t i = 0; i < src->n_streams; i++) {
        const siphon_option *o = opt_find(&src->streams[i]->options, name, NULL);
        if (o != NULL)
            return o;
    }
    return NULL;
}

/* An object member that is present and not null: null means "unset". */
static json_t *member(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_null(v) ? NULL : v;
}

/* A growable list of names for did-you-mean and "known: ..." lists. */
typedef struct names {
    const char **v;
    size_t n, cap;
} names;

static void names_add(names *l, const char *name)
{
    if (name == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], name) == 0)
            return;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 32;
        const char **grown = realloc(l->v, ncap * sizeof *grown);
        if (grown == NULL)
            return;
        l->v = grown;
        l->cap = ncap;
    }
    l->v[l->n++] = name;
}

static void names_add_opts(names *l, const sx_options *opts, uint32_t need_flags)
{
    for (size_t i = 0; opts != NULL && i < opts->n; i++)
        if ((opts->items[i].flags & need_flags) == need_flags)
            names_add(l, opts->items[i].name);
}

static void names_free(names *l)
{
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static void label_of(const sx_config *cfg, char *out, size_t cap)
{
    if (cfg->path != NULL)
        snprintf(out, cap, "config file '%s'", cfg->path);
    else
        snprintf(out, cap, "configuration");
}

/* --- loading --- */

int sx_config_load(sx_config *cfg, const char *path, sx_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    if (path == NULL) {
        cfg->root = json_object();
        return cfg->root ? 0 : -1;
    }
    cfg->root = sx_json_load_secret_file(path, "config", 1, err);
    if (cfg->root == NULL)
        return -1;
    cfg->path = strdup(path);
    return 0;
}

void sx_config_free(sx_config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->path);
    json_decref(cfg->root);
    json_decref(cfg->sink_conf);
    memset(cfg, 0, sizeof *cfg);
}

/* --- secrets --- */

static void mask_value(const json_t *v)
{
    if (json_is_string(v)) {
        sx_mask_add(json_string_value(v));
    } else if (json_is_number(v)) {
        char *text = json_dumps(v, JSON_ENCODE_ANY);
        sx_mask_add(text);
        free(text);
    } else if (json_is_object(v)) {
        const char *k;
        json_t *item;
        json_object_foreach((json_t *)v, k, item)
            mask_value(item);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
            mask_value(item);
    }
}

/* Registers the value of every secret option of opts found in obj. */
static void mask_secrets_in(const json_t *obj, const sx_options *opts)
{
    for (size_t i = 0; opts != NULL && i < opts->n; i++)
        if (opts->items[i].flags & SIPHON_OPT_SECRET)
            mask_value(member(obj, opts->items[i].name));
}

/* Every secret the file holds is registered before any message can be
 * formed, so not even an error about another key can carry one. */
static void mask_file_secrets(const sx_config *cfg, const sx_source *src, const sx_sink *sink,
                              const sx_sink *file_sink)
{
    mask_secrets_in(cfg->root, &src->options);
    for (size_t i = 0; i < src->n_streams; i++)
        mask_secrets_in(cfg->root, &src->streams[i]->options);
    const json_t *streams = member(cfg->root, "streams");
    const char *sname;
    json_t *sconf;
    if (json_is_object(streams)) {
        json_object_foreach((json_t *)streams, sname, sconf) {
            mask_secrets_in(sconf, &src->options);
            sx_stream *st = source_stream(src, sname);
            if (st != NULL)
                mask_secrets_in(sconf, &st->options);
        }
    }
    if (sink != NULL)
        mask_secrets_in(cfg->sink_conf, &sink->options);
    if (file_sink != NULL)
        mask_secrets_in(member(cfg->root, "sink"), &file_sink->options);
}

/* --- choosing the source and the sink --- */

static sx_source *choose_source(const sx_config *cfg, const sx_registry *reg, const char *label,
                                sx_error *err)
{
    const json_t *v = member(cfg->root, "source");
    names known = {0};
    for (size_t i = 0; i < reg->n_sources; i++)
        names_add(&known, reg->sources[i]->name);
    char list[512];
    sx_name_list(known.v, known.n, list, sizeof list);
    sx_source *found = NULL;

    if (v != NULL) {
        if (!json_is_string(v)) {
            char what[128];
            sx_json_describe(v, 1, what, sizeof what);
            sx_error_set(err, SX_EXIT_CONFIG, "%s: option 'source': expected a source name, found %s",
                         label, what);
        } else {
            const char *name = json_string_value(v);
            for (size_t i = 0; i < reg->n_sources && found == NULL; i++)
                if (strcmp(reg->sources[i]->name, name) == 0)
                    found = reg->sources[i];
            if (found == NULL) {
                char hint[160];
                sx_suggest(name, known.v, known.n, hint, sizeof hint);
                sx_error_set(err, SX_EXIT_CONFIG,
                             "%s: option 'source': unknown source '%s'%s; loaded sources: %s", label,
                             name, hint, list);
            }
        }
    } else if (reg->n_sources == 1) {
        found = reg->sources[0];
    } else if (reg->n_sources == 0) {
        sx_error_set(err, SX_EXIT_CONFIG,
                     "no source plugin is loaded: check SIPHON_PLUGIN_PATH (`siphon plugins` "
                     "lists what was found and what was refused)");
    } else {
        sx_error_set(err, SX_EXIT_CONFIG,
                     "%s: several sources are loaded (%s): name one with \"source\"", label, list);
    }
    names_free(&known);
    return found;
}

static sx_sink *find_sink(const sx_registry *reg, const char *name)
{
    for (size_t i = 0; i < reg->n_sinks; i++)
        if (strcmp(reg->sinks[i]->vt.base.name, name) == 0)
            return reg->sinks[i];
    return NULL;
}

static int choose_sink(sx_config *cfg, const sx_registry *reg, const char *override,
                       const char *label, const sx_sink **file_sink, sx_error *err)
{
    json_t *conf = member(cfg->root, "sink");
    const char *conf_type = NULL;
    *file_sink = NULL;

    if (conf != NULL && !json_is_string(conf) && !json_is_object(conf)) {
        char what[128];
        sx_json_describe(conf, 1, what, sizeof what);
        sx_error_set(err, SX_EXIT_CONFIG,
                     "%s: option 'sink': expected a sink name or an object with \"type\", found %s",
                     label, what);
        return -1;
    }
    if (json_is_object(conf)) {
        json_t *t = member(conf, "type");
        if (t != NULL && !json_is_string(t)) {
            char what[128];
            sx_json_describe(t, 1, what, sizeof what);
            sx_error_set(err, SX_EXIT_CONFIG,
                         "%s: option 'sink': \"type\" must be a sink name, found %s", label, what);
            return -1;
        }
        if (t == NULL && override == NULL) {
            sx_error_set(err, SX_EXIT_CONFIG,
                         "%s: option 'sink': the object needs \"type\" naming the sink "
                         "(e.g. \"stdout\")", label);
            return -1;
        }
        conf_type = t ? json_string_value(t) : NULL;
    } else if (json_is_string(conf)) {
        conf_type = json_string_value(conf);
    }

    const char *name = override ? override : conf_type ? conf_type : "stdout";
    sx_sink *sink = find_sink(reg, name);
    if (sink == NULL) {
        names known = {0};
        for (size_t i = 0; i < reg->n_sinks; i++)
            names_add(&known, reg->sinks[i]->vt.base.name);
        char hint[160], list[512];
        sx_suggest(name, known.v, known.n, hint, sizeof hint);
        sx_name_list(known.v, known.n, list, sizeof list);
        if (override != NULL)
            sx_error_set(err, SX_EXIT_CONFIG, "--sink: unknown sink '%s'%s; loaded sinks: %s", name,
                         hint, list);
        else
            sx_error_set(err, SX_EXIT_CONFIG,
                         "%s: option 'sink': unknown sink '%s'%s; loaded sinks: %s", label, name,
                         hint, list);
        names_free(&known);
        return -1;
    }

    /* The options in the file belong to the sink they were written for: when
     * --sink picks another one, they are left alone. */
    if (json_is_object(conf) && (conf_type == NULL || strcmp(conf_type, name) == 0)) {
        cfg->sink_conf = json_incref(conf);
    } else {
        cfg->sink_conf = json_object();
        if (json_is_object(conf) && conf_type != NULL)
            *file_sink = find_sink(reg, conf_type);
    }
    cfg->sink = sink;
    return cfg->sink_conf ? 0 : -1;
}

/* --- overlays: $CREDENTIALS_DIRECTORY, then the environment --- */

/* Reads $CREDENTIALS_DIRECTORY/name. 1 with *out set (malloc'd), 0 when there
 * is no such file, -1 with err set. */
static int read_credential(const char *name, char **out, char *where, size_t wcap, sx_error *err)
{
    const char *dir = getenv("CREDENTIALS_DIRECTORY");
    if (dir == NULL || dir[0] == '\0' || name == NULL || strchr(name, '/') != NULL)
        return 0;
    snprintf(where, wcap, "%s/%s", dir, name);
    FILE *f = fopen(where, "re");
    if (f == NULL) {
        if (errno == ENOENT)
            return 0;
        sx_error_set(err, SX_EXIT_CONFIG, "credential file '%s': %s", where, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf != NULL && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            if (cap >= (1u << 20)) {
                free(buf);
                fclose(f);
                sx_error_set(err, SX_EXIT_CONFIG, "credential file '%s': larger than 1 MiB", where);
                return -1;
            }
            char *grown = realloc(buf, cap * 2);
            if (grown == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    int failed = ferror(f) ? errno : 0;
    fclose(f);
    if (buf == NULL || failed) {
        free(buf);
        sx_error_set(err, SX_EXIT_CONFIG, "credential file '%s': %s", where,
                     strerror(buf == NULL ? ENOMEM : failed));
        return -1;
    }
    buf[len] = '\0';
    /* Files written by editors and `echo` end in a newline that is not part
     * of the secret. */
    if (len > 0 && buf[len - 1] == '\n')
        buf[--len] = '\0';
    if (len > 0 && buf[len - 1] == '\r')
        buf[--len] = '\0';
    *out = buf;
    return 1;
}

/*
 * Applies the strongest overlay for one option into target: a credential
 * file named after the option's environment variable or the option itself,
 * else the environment variable. The value is registered as a secret before
 * anything else happens to it, and checked against the option's type with
 * its origin named in the message.
 */
static int overlay_option(json_t *target, const siphon_option *opt, sx_error *err)
{
    char where[PATH_MAX + 64];
    char *raw = NULL;
    int got = read_credential(opt->env, &raw, where, sizeof where, err);
    if (got == 0)
        got = read_credential(opt->name, &raw, where, sizeof where, err);
    if (got < 0)
        return -1;
    char origin[PATH_MAX + 160];
    if (got == 1) {
        snprintf(origin, sizeof origin, "credential file '%s' (option '%s')", where, opt->name);
    } else {
        const char *env = opt->env ? getenv(opt->env) : NULL;
        if (env == NULL || env[0] == '\0')
            return 0;
        raw = strdup(env);
        if (raw == NULL)
            return -1;
        snprintf(origin, sizeof origin, "environment variable %s (option '%s')", opt->env,
                 opt->name);
    }
    if (opt->flags & SIPHON_OPT_SECRET)
        sx_mask_add(raw);

    json_t *value = NULL;
    if (opt->type == SIPHON_OPT_JSON)
        value = json_loads(raw, JSON_DECODE_ANY, NULL);
    if (value == NULL)
        value = json_string(raw);
    free(raw);
    if (value == NULL) {
        /* json_string refuses text that is not UTF-8; a value of any type
         * arrives as text, so this is the one reason. */
        sx_error_set(err, SX_EXIT_CONFIG, "%s: the value is not valid UTF-8 text", origin);
        return -1;
    }
    if (opt->flags & SIPHON_OPT_SECRET)
        mask_value(value);

    json_t *normalized = NULL;
    char why[512];
    int rc = sx_option_value_check(opt, value, &normalized, why, sizeof why);
    json_decref(value);
    if (rc != 0) {
        sx_error_set(err, SX_EXIT_CONFIG, "%s: %s", origin, why);
        return -1;
    }
    json_object_set_new(target, opt->name, normalized);
    return 0;
}

static int apply_overlays(sx_config *cfg, const sx_source *src, sx_error *err)
{
    for (size_t i = 0; i < src->options.n; i++)
        if (overlay_option(cfg->root, &src->options.items[i], err) != 0)
            return -1;
    /* Options a stream declares may sit at the top level too; several
     * streams may declare the same one. */
    names done = {0};
    for (size_t s = 0; s < src->n_streams; s++) {
        const sx_options *so = &src->streams[s]->options;
        for (size_t i = 0; i < so->n; i++) {
            size_t before = done.n;
            names_add(&done, so->items[i].name);
            if (done.n == before || opt_find(&src->options, so->items[i].name, NULL) != NULL)
                continue;
            if (overlay_option(cfg->root, &so->items[i], err) != 0) {
                names_free(&done);
                return -1;
            }
        }
    }
    names_free(&done);
    for (size_t i = 0; i < cfg->sink->options.n; i++)
        if (overlay_option(cfg->sink_conf, &cfg->sink->options.items[i], err) != 0)
            return -1;
    return 0;
}

/* --- validation --- */

/* Checks one value against its declaration and stores the typed form back
 * (for JSON options the value is kept as it is: other parts hold references
 * into it). where prefixes the message ("config file 'c.json': streams.x: "). */
static int check_value(json_t *obj, const char *key, json_t *value, const siphon_option *opt,
                       int host, const char *where, sx_error *err)
{
    json_t *normalized = NULL;
    char why[512];
    if (sx_option_value_check(opt, value, &normalized, why, sizeof why) != 0 ||
        (host && sx_host_option_check(key, normalized, why, sizeof why) != 0)) {
        json_decref(normalized);
        sx_error_set(err, SX_EXIT_CONFIG, "%soption '%s': %s", where, key, why);
        return -1;
    }
    if (opt->type != SIPHON_OPT_JSON)
        json_object_set(obj, key, normalized);
    json_decref(normalized);
    return 0;
}

static int unknown_key(const char *where, const char *key, const names *known, const char *what,
                       sx_error *err)
{
    char hint[160];
    sx_suggest(key, known->v, known->n, hint, sizeof hint);
    sx_error_set(err, SX_EXIT_CONFIG, "%sunknown %s '%s'%s", where, what, key, hint);
    return -1;
}

static int validate_top(sx_config *cfg, const sx_source *src, const char *label, sx_error *err)
{
    const sx_options *host = sx_host_options();
    char where[PATH_MAX + 64];
    snprintf(where, sizeof where, "%s: ", label);
    const char *key;
    json_t *value;
    json_object_foreach(cfg->root, key, value) {
        if (json_is_null(value))
            continue;
        const siphon_option *opt;
        int rc = 0;
        if ((opt = opt_find(host, key, NULL)) != NULL)
            rc = check_value(cfg->root, key, value, opt, 1, where, err);
        else if ((opt = opt_find(&src->options, key, NULL)) != NULL)
            rc = check_value(cfg->root, key, value, opt, 0, where, err);
        else if ((opt = stream_decl(src, key)) != NULL)
            rc = check_value(cfg->root, key, value, opt, 0, where, err);
        else if (opt_find(&cfg->sink->options, key, NULL) != NULL) {
            const char *sink = cfg->sink->vt.base.name;
            sx_error_set(err, SX_EXIT_CONFIG,
                         "%soption '%s' belongs to the sink '%s': put it inside \"sink\": "
                         "{\"type\": \"%s\", \"%s\": ...}",
                         where, key, sink, sink, key);
            rc = -1;
        } else {
            names known = {0};
            names_add_opts(&known, host, 0);
            names_add_opts(&known, &src->options, 0);
            for (size_t i = 0; i < src->n_streams; i++)
                names_add_opts(&known, &src->streams[i]->options, 0);
            rc = unknown_key(where, key, &known, "option", err);
            names_free(&known);
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

static int validate_stream(json_t *conf, const sx_stream *st, const sx_source *src,
                           const char *label, sx_error *err)
{
    char where[PATH_MAX + 160];
    snprintf(where, sizeof where, "%s: streams.%s: ", label, stream_name(st));
    if (!json_is_object(conf)) {
        char what[128];
        sx_json_describe(conf, 1, what, sizeof what);
        sx_error_set(err, SX_EXIT_CONFIG, "%sexpected an object of options, found %s", where, what);
        return -1;
    }
    const sx_options *hs = sx_host_stream_options();
    const char *key;
    json_t *value;
    json_object_foreach(conf, key, value) {
        if (json_is_null(value))
            continue;
        const siphon_option *opt;
        int rc;
        if ((opt = opt_find(hs, key, NULL)) != NULL) {
            rc = check_value(conf, key, value, opt, 1, where, err);
            const json_t *m = json_object_get(conf, key);
            if (rc == 0 && strcmp(key, "replication_method") == 0 &&
                strcmp(json_string_value(m), "INCREMENTAL") == 0 && st->vt.replication_key == NULL) {
                sx_error_set(err, SX_EXIT_CONFIG,
                             "%soption 'replication_method': INCREMENTAL needs a replication key, "
                             "and stream '%s' has none (it is always read FULL_TABLE)",
                             where, stream_name(st));
                rc = -1;
            }
        } else if ((opt = opt_find(&st->options, key, NULL)) != NULL ||
                   (opt = opt_find(&src->options, key, NULL)) != NULL ||
                   (opt = opt_find(sx_host_options(), key, NULL)) != NULL ||
                   (opt = stream_decl(src, key)) != NULL) {
            if (opt->flags & SIPHON_OPT_PER_STREAM) {
                rc = check_value(conf, key, value, opt, 0, where, err);
            } else {
                sx_error_set(err, SX_EXIT_CONFIG,
                             "%soption '%s' cannot be set per stream: set it at the top level",
                             where, key);
                rc = -1;
            }
        } else {
            names known = {0};
            names_add_opts(&known, hs, 0);
            names_add_opts(&known, &st->options, SIPHON_OPT_PER_STREAM);
            names_add_opts(&known, &src->options, SIPHON_OPT_PER_STREAM);
            rc = unknown_key(where, key, &known, "per-stream option", err);
            names_free(&known);
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

static int validate_streams(sx_config *cfg, const sx_source *src, const char *label, sx_error *err)
{
    json_t *streams = member(cfg->root, "streams");
    if (streams == NULL)
        return 0;
    const char *name;
    json_t *conf;
    json_object_foreach(streams, name, conf) {
        const sx_stream *st = source_stream(src, name);
        if (st == NULL) {
            names known = {0};
            for (size_t i = 0; i < src->n_streams; i++)
                names_add(&known, stream_name(src->streams[i]));
            char hint[160], list[1024];
            sx_suggest(name, known.v, known.n, hint, sizeof hint);
            sx_name_list(known.v, known.n, list, sizeof list);
            sx_error_set(err, SX_EXIT_CONFIG,
                         "%s: streams: unknown stream '%s'%s; streams of source '%s': %s", label,
                         name, hint, src->name, list);
            names_free(&known);
            return -1;
        }
        if (validate_stream(conf, st, src, label, err) != 0)
            return -1;
    }
    return 0;
}

static int validate_sink(sx_config *cfg, const char *label, sx_error *err)
{
    char where[PATH_MAX + 160];
    snprintf(where, sizeof where, "%s: sink '%s': ", label, cfg->sink->vt.base.name);
    const char *key;
    json_t *value;
    json_object_foreach(cfg->sink_conf, key, value) {
        if (strcmp(key, "type") == 0 || json_is_null(value))
            continue;
        const siphon_option *opt = opt_find(&cfg->sink->options, key, NULL);
        int rc;
        if (opt != NULL) {
            rc = check_value(cfg->sink_conf, key, value, opt, 0, where, err);
        } else {
            names known = {0};
            names_add_opts(&known, &cfg->sink->options, 0);
            rc = unknown_key(where, key, &known, "option", err);
            names_free(&known);
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

int sx_config_resolve(sx_config *cfg, const sx_registry *reg, const char *sink_override,
                      sx_error *err)
{
    if (cfg->root == NULL) {
        cfg->root = json_object();
        if (cfg->root == NULL)
            return -1;
    }
    char label[PATH_MAX + 32];
    label_of(cfg, label, sizeof label);
    json_decref(cfg->sink_conf);
    cfg->sink_conf = NULL;
    cfg->source = NULL;
    cfg->sink = NULL;

    sx_source *src = choose_source(cfg, reg, label, err);
    if (src == NULL)
        return -1;
    const sx_sink *file_sink = NULL;
    if (choose_sink(cfg, reg, sink_override, label, &file_sink, err) != 0)
        return -1;
    cfg->source = src;
    mask_file_secrets(cfg, src, cfg->sink, file_sink);

    if (apply_overlays(cfg, src, err) != 0 || validate_top(cfg, src, label, err) != 0 ||
        validate_streams(cfg, src, label, err) != 0 || validate_sink(cfg, label, err) != 0)
        return -1;
    return 0;
}

/* --- required options --- */

typedef struct missing {
    char text[MSG];
    size_t used;
    int count;
} missing;

static void missing_add(missing *m, const char *item)
{
    size_t left = sizeof m->text - m->used;
    int w = snprintf(m->text + m->used, left, "%s%s", m->count ? ", " : "", item);
    m->used += w < 0 ? 0 : (size_t)w < left ? (size_t)w : left - 1;
    m->count++;
}

static void missing_opt(missing *m, const siphon_option *o, const char *prefix)
{
    char item[512];
    if (o->env != NULL)
        snprintf(item, sizeof item, "%s'%s' (or environment variable %s)", prefix, o->name, o->env);
    else
        snprintf(item, sizeof item, "%s'%s'", prefix, o->name);
    missing_add(m, item);
}

int sx_config_require(const sx_config *cfg, sx_error *err)
{
    if (cfg->source == NULL || cfg->sink == NULL) {
        sx_error_set(err, SX_EXIT_CONFIG, "internal: the config was not resolved");
        return -1;
    }
    missing m = {.used = 0, .count = 0};
    m.text[0] = '\0';
    const sx_source *src = cfg->source;
    for (size_t i = 0; i < src->options.n; i++) {
        const siphon_option *o = &src->options.items[i];
        if ((o->flags & SIPHON_OPT_REQUIRED) && sx_config_source_value(cfg, NULL, o->name) == NULL)
            missing_opt(&m, o, "");
    }
    for (size_t s = 0; s < src->n_streams; s++) {
        const sx_stream *st = src->streams[s];
        for (size_t i = 0; i < st->options.n; i++) {
            const siphon_option *o = &st->options.items[i];
            if ((o->flags & SIPHON_OPT_REQUIRED) && sx_config_source_value(cfg, st, o->name) == NULL) {
                char prefix[200];
                snprintf(prefix, sizeof prefix, "stream '%s': ", stream_name(st));
                missing_opt(&m, o, prefix);
            }
        }
    }
    for (size_t i = 0; i < cfg->sink->options.n; i++) {
        const siphon_option *o = &cfg->sink->options.items[i];
        if ((o->flags & SIPHON_OPT_REQUIRED) && sx_config_sink_value(cfg, o->name) == NULL) {
            char prefix[200];
            snprintf(prefix, sizeof prefix, "sink '%s': ", cfg->sink->vt.base.name);
            missing_opt(&m, o, prefix);
        }
    }
    if (m.count == 0)
        return 0;
    char label[PATH_MAX + 32];
    label_of(cfg, label, sizeof label);
    sx_error_set(err, SX_EXIT_CONFIG, "%s: missing required option%s: %s", label,
                 m.count == 1 ? "" : "s", m.text);
    return -1;
}

/* --- reading values --- */

const json_t *sx_config_source_value(const sx_config *cfg, const sx_stream *stream,
                                     const char *name)
{
    if (cfg == NULL || cfg->source == NULL || name == NULL)
        return NULL;
    const sx_options *owner = NULL;
    const siphon_option *opt = NULL;
    if (stream != NULL && (opt = opt_find(&stream->options, name, NULL)) != NULL)
        owner = &stream->options;
    else if ((opt = opt_find(&cfg->source->options, name, NULL)) != NULL)
        owner = &cfg->source->options;
    if (opt == NULL)
        return NULL;
    const json_t *v;
    if (stream != NULL && (opt->flags & SIPHON_OPT_PER_STREAM)) {
        v = member(member(member(cfg->root, "streams"), stream_name(stream)), name);
        if (v != NULL)
            return v;
    }
    if ((v = member(cfg->root, name)) != NULL)
        return v;
    return opt_default(owner, name);
}

const json_t *sx_config_sink_value(const sx_config *cfg, const char *name)
{
    if (cfg == NULL || cfg->sink == NULL || name == NULL ||
        opt_find(&cfg->sink->options, name, NULL) == NULL)
        return NULL;
    const json_t *v = member(cfg->sink_conf, name);
    return v ? v : opt_default(&cfg->sink->options, name);
}

const json_t *sx_config_host_value(const sx_config *cfg, const char *stream, const char *name)
{
    if (cfg == NULL || name == NULL)
        return NULL;
    const sx_options *hs = sx_host_stream_options(), *ht = sx_host_options();
    const json_t *v;
    if (stream != NULL) {
        /* A per-stream host option never falls back to a top-level one of
         * the same name: "stream_maps" at the top level maps every stream,
         * under streams.NAME it is that stream's alone. */
        if (opt_find(hs, name, NULL) == NULL)
            return NULL;
        v = member(member(member(cfg->root, "streams"), stream), name);
        return v ? v : opt_default(hs, name);
    }
    if (opt_find(ht, name, NULL) == NULL)
        return NULL;
    v = member(cfg->root, name);
    return v ? v : opt_default(ht, name);
}

/* --- the masked copy --- */

/* Names that hold credentials whatever a plugin declared: a last line of
 * defence for configs shown before (or without) resolution. */
static int looks_secret(const char *key)
{
    static const char *const parts[] = {"password", "passwd", "secret", "token", "api_key",
                                        "apikey", "credential", "private_key", NULL};
    for (size_t i = 0; parts[i] != NULL; i++)
        if (strcasestr(key, parts[i]) != NULL)
            return 1;
    return 0;
}

static const char MASKED[] = "********";

static void mask_declared(json_t *obj, const sx_options *opts)
{
    for (size_t i = 0; opts != NULL && json_is_object(obj) && i < opts->n; i++)
        if ((opts->items[i].flags & SIPHON_OPT_SECRET) && member(obj, opts->items[i].name))
            json_object_set_new(obj, opts->items[i].name, json_string(MASKED));
}

static void mask_walk(json_t *v)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *item;
        json_object_foreach(v, k, item) {
            if (looks_secret(k) && (json_is_string(item) || json_is_number(item)))
                json_object_set_new(v, k, json_string(MASKED));
            else
                mask_walk(item);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
            mask_walk(item);
    } else if (json_is_string(v) && sx_mask_contains_secret(json_string_value(v))) {
        /* Each secret (3 bytes at least) becomes 8 bytes at most. */
        size_t cap = json_string_length(v) * 3 + 16;
        char *out = malloc(cap);
        if (out != NULL) {
            sx_mask(json_string_value(v), out, cap);
            json_string_set(v, out);
            free(out);
        }
    }
}

json_t *sx_config_masked(const sx_config *cfg)
{
    json_t *copy = json_deep_copy(cfg->root ? cfg->root : json_object());
    if (copy == NULL)
        return NULL;
    if (cfg->source != NULL) {
        const sx_source *src = cfg->source;
        mask_declared(copy, &src->options);
        for (size_t s = 0; s < src->n_streams; s++)
            mask_declared(copy, &src->streams[s]->options);
        json_t *streams = member(copy, "streams");
        const char *name;
        json_t *conf;
        if (json_is_object(streams)) {
            json_object_foreach(streams, name, conf) {
                mask_declared(conf, &src->options);
                const sx_stream *st = source_stream(src, name);
                if (st != NULL)
                    mask_declared(conf, &st->options);
            }
        }
    }
    if (cfg->sink != NULL) {
        json_t *sink = member(copy, "sink");
        if (json_is_object(sink))
            mask_declared(sink, &cfg->sink->options);
    }
    mask_walk(copy);
    return copy;
}
