/*
 * fuzz_config.c: the config file (core/config.c, option_value.c,
 * host_options.c), loaded and resolved against a Dinamize-shaped registry
 * built in memory (tests/unit/fake_registry.c).
 *
 * Input: a config file, optionally preceded by directive lines:
 *   #sink=NAME           resolve with --sink NAME
 *   #env NAME=VALUE      set one of the registry's environment overlays
 *                        (SXT_DINAMIZE_PASSWORD, SXT_DINAMIZE_RPM,
 *                        SXT_DINAMIZE_HEADERS)
 *   #cred NAME=VALUE     a file NAME in $CREDENTIALS_DIRECTORY
 *
 * Invariants:
 *  - every error is a config error naming the file (or, for --sink, the
 *    flag), and shows no secret: neither one the host registered, nor a
 *    value of a secret option (raw or JSON-escaped) once the host knows
 *    which options are secret; where a secret spells a piece of the host's
 *    own words, the same input loaded with other secrets tells them apart;
 *  - after resolution every typed option reads back typed (an int option
 *    an integer, a choice one of its choices, ...), and a string is taken
 *    for an integer exactly when it spells one;
 *  - resolving a resolved config again changes nothing;
 *  - the masked config (`siphon about`) shows no secret.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog.h"
#include "config.h"
#include "fake_registry.h"
#include "fuzz_support.h"
#include "mask.h"
#include "proc.h"

static const char *const ENV_NAMES[] = {"SXT_DINAMIZE_PASSWORD", "SXT_DINAMIZE_RPM",
                                        "SXT_DINAMIZE_HEADERS", NULL};

typedef struct directives {
    char sink[64];
    int has_sink;
    /* Secret values given through env and credential files, by variable or
     * file name: a later line for the same name replaces the value. */
    json_t *overlaid;
    json_t *secrets; /* their values, then the file's, as a list */
    int has_creds;
} directives;

static int allowed_env(const char *name)
{
    for (size_t i = 0; ENV_NAMES[i] != NULL; i++)
        if (strcmp(ENV_NAMES[i], name) == 0)
            return 1;
    return 0;
}

/* The overlays that carry a secret option: its environment variable, and
 * credential files named after it or after the option. */
static int is_secret_source(const char *name)
{
    static const char *const names[] = {"SXT_DINAMIZE_PASSWORD", "password", "api_pin", "token",
                                        NULL};
    for (size_t i = 0; names[i] != NULL; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

/* A credential's name is a file name: short (the host reads a few known
 * names; a name past NAME_MAX cannot even be written) and plain. */
static int plain_name(const char *s)
{
    if (*s == '\0' || strlen(s) > 64)
        return 0;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}

/* A value as the host reads it: any bytes, UTF-8 or not (json_string would
 * refuse the latter, and a later line would then not replace an earlier). */
static json_t *overlay_text(const char *value)
{
    return json_stringn_nocheck(value, strlen(value));
}

static void directive(void *user, const char *line)
{
    directives *d = user;
    if (strncmp(line, "sink=", 5) == 0) {
        snprintf(d->sink, sizeof d->sink, "%s", line + 5);
        d->has_sink = 1;
        return;
    }
    int is_env = strncmp(line, "env ", 4) == 0, is_cred = strncmp(line, "cred ", 5) == 0;
    if (!is_env && !is_cred)
        return;
    char *copy = strdup(line + (is_env ? 4 : 5));
    char *eq = copy ? strchr(copy, '=') : NULL;
    if (eq != NULL) {
        *eq = '\0';
        const char *name = copy, *value = eq + 1;
        if (is_env && allowed_env(name)) {
            setenv(name, value, 1);
            if (is_secret_source(name))
                json_object_set_new(d->overlaid, name, overlay_text(value));
        } else if (is_cred && plain_name(name)) {
            const char *dir = sxt_fuzz_path("credentials");
            mkdir(dir, 0700);
            char path[700];
            snprintf(path, sizeof path, "%s/%s", dir, name);
            sxt_fuzz_write(path, value, strlen(value));
            setenv("CREDENTIALS_DIRECTORY", dir, 1);
            d->has_creds = 1;
            if (is_secret_source(name)) {
                char key[300];
                snprintf(key, sizeof key, "cred:%s", name);
                json_object_set_new(d->overlaid, key, overlay_text(value));
            }
        }
    }
    free(copy);
}

/* The overlaid secrets the host reads, strongest first as config.h says: a
 * credential file named after the variable, then after the option, then
 * the variable. A weaker one is never read, so never masked. */
static void effective_overlays(directives *d, const sx_sink *sink)
{
    static const char *const order[][3] = {
        {"cred:SXT_DINAMIZE_PASSWORD", "cred:password", "SXT_DINAMIZE_PASSWORD"},
        {"cred:api_pin", NULL, NULL},
        {"cred:token", NULL, NULL}, /* the file sink's, read only for that sink */
    };
    int file_sink = sink != NULL && strcmp(sink->vt.base.name, "file") == 0;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        if (i == 2 && !file_sink)
            break;
        for (size_t j = 0; j < 3 && order[i][j] != NULL; j++) {
            json_t *v = json_object_get(d->overlaid, order[i][j]);
            /* A credential file counts even when empty; a variable does not. */
            if (v != NULL && (strncmp(order[i][j], "cred:", 5) == 0 || json_string_length(v) > 0)) {
                json_array_append(d->secrets, v);
                break;
            }
        }
    }
}

static void forget_directives(directives *d)
{
    for (size_t i = 0; ENV_NAMES[i] != NULL; i++)
        unsetenv(ENV_NAMES[i]);
    if (d->has_creds)
        sxt_rmtree(sxt_fuzz_path("credentials"));
    unsetenv("CREDENTIALS_DIRECTORY");
    json_decref(d->overlaid);
    json_decref(d->secrets);
}

/* The value of a secret as the mask sees it: strings as they are, numbers
 * as their JSON text. */
static void add_secret(json_t *secrets, const json_t *v)
{
    if (json_is_string(v)) {
        json_array_append(secrets, (json_t *)v);
    } else if (json_is_number(v)) {
        char *text = json_dumps(v, JSON_ENCODE_ANY);
        if (text != NULL)
            json_array_append_new(secrets, json_string(text));
        free(text);
    }
}

/* Calls fn for every place the file may give a secret option a value,
 * wherever the host reads secrets from: the top level, "streams" entries,
 * the sink object. */
static void visit_file_secrets(json_t *root, const char *override,
                               void (*fn)(json_t *holder, const char *key, void *user),
                               void *user)
{
    static const char *const top[] = {"password", "api_pin", NULL};
    for (size_t i = 0; top[i] != NULL; i++) {
        fn(root, top[i], user);
        const char *name;
        json_t *conf;
        json_object_foreach(json_object_get(root, "streams"), name, conf)
            fn(conf, top[i], user);
    }
    /* The sink object's options are the options of the sink it names (or,
     * without "type", of the --sink one): "token" is a secret of "file". */
    json_t *sink = json_object_get(root, "sink");
    const char *type = json_string_value(json_object_get(sink, "type"));
    if (type == NULL)
        type = override;
    if (type != NULL && strcmp(type, "file") == 0)
        fn(sink, "token", user);
}

static void collect_secret(json_t *holder, const char *key, void *secrets)
{
    add_secret(secrets, json_object_get(holder, key));
}

/* Puts another secret of the same kind in place (sxt_fuzz_other_secret);
 * counts in *failed a number the change would not keep a number. */
static void change_secret(json_t *holder, const char *key, void *failed)
{
    json_t *v = json_object_get(holder, key);
    if (json_is_string(v)) {
        size_t n = json_string_length(v);
        char *other = sxt_fuzz_other_secret(json_string_value(v), n, 0);
        json_object_set_new(holder, key, json_stringn(other, n));
        free(other);
    } else if (json_is_number(v)) {
        char *text = json_dumps(v, JSON_ENCODE_ANY);
        char *other = text ? sxt_fuzz_other_secret(text, strlen(text), 1) : NULL;
        json_t *n = other ? json_loads(other, JSON_DECODE_ANY, NULL) : NULL;
        if (json_is_number(n))
            json_object_set(holder, key, n);
        else
            ++*(int *)failed;
        json_decref(n);
        free(other);
        free(text);
    }
}

/* What loading the same input again takes. */
typedef struct input {
    const char *path;
    const sx_registry *reg;
    const char *override;
    const directives *d;
} input;

/* Writes the secret overlays again, as given or each changed into another
 * secret of its kind. */
static void write_overlays(const directives *d, int changed)
{
    const char *name;
    json_t *v;
    json_object_foreach(d->overlaid, name, v) {
        const char *value = json_string_value(v);
        size_t n = json_string_length(v);
        char *other = changed ? sxt_fuzz_other_secret(value, n, 0) : NULL;
        if (other != NULL)
            value = other;
        if (strncmp(name, "cred:", 5) == 0) {
            char path[700];
            snprintf(path, sizeof path, "%s/%s", sxt_fuzz_path("credentials"), name + 5);
            sxt_fuzz_write(path, value, n);
        } else {
            setenv(name, value, 1);
        }
        free(other);
    }
}

/*
 * The message the same input gives once every secret is another of its kind
 * (overlays rewritten, the file's values replaced after loading), through
 * resolution and, with require, the check of required options: what stays
 * the same in it is not a secret's. NULL when a number cannot be changed.
 * The overlays are put back afterwards.
 */
static char *message_with_other_secrets(const input *in, int require)
{
    write_overlays(in->d, 1);
    sx_config cfg;
    sx_error err;
    sx_error_clear(&err);
    char *msg = NULL;
    if (sx_config_load(&cfg, in->path, &err) == 0) {
        int failed = 0;
        visit_file_secrets(cfg.root, in->override, change_secret, &failed);
        if (failed == 0) {
            if (sx_config_resolve(&cfg, in->reg, in->override, &err) == 0 && require)
                sx_config_require(&cfg, &err);
            msg = strdup(err.msg);
        }
    } else {
        msg = strdup(err.msg);
    }
    sx_config_free(&cfg);
    write_overlays(in->d, 0);
    return msg;
}

/*
 * A config error names where it is and shows no secret. Once the host knows
 * which options are secret (again != NULL), no secret value may show either;
 * one may still spell a piece of the file's path or of the words around it
 * ("ial" in "credential file"), so the message is compared with the one the
 * same input gives with other secrets (sxt_fuzz_no_secret_shown). That
 * second load registers other secrets: it comes last in a check.
 */
static void check_error(const sx_error *err, const char *label, const directives *d,
                        const input *again, int require)
{
    SXT_FUZZ_CHECK(err->exit_code == SX_EXIT_CONFIG, "exit code %d: %s", err->exit_code,
                   err->msg);
    /* A secret may happen to be a piece of the file's path, or of the words
     * around it, and then the mask hides where the message says it is:
     * such a message cannot be judged here. */
    int named = strstr(err->msg, label) != NULL || strstr(err->msg, "********") != NULL ||
                (d->has_sink && strncmp(err->msg, "--sink: ", 8) == 0) ||
                strncmp(err->msg, "environment variable ", 21) == 0 ||
                strncmp(err->msg, "credential file ", 16) == 0;
    SXT_FUZZ_CHECK(named, "the error does not say where: %s", err->msg);
    SXT_FUZZ_CHECK(!sx_mask_contains_secret(err->msg), "a registered secret in: %s", err->msg);
    if (again != NULL) {
        char *other = message_with_other_secrets(again, require);
        sxt_fuzz_no_secret_shown("an error", err->msg, other, d->secrets);
        free(other);
    }
}

/* The masked config (`siphon about`) holds no secret in any string value.
 * Keys are not looked at: a secret may happen to spell one ("sink"). */
static void check_masked(const json_t *v, const json_t *secrets)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        SXT_FUZZ_CHECK(!sx_mask_contains_secret(s), "a registered secret in about: %s", s);
        sxt_fuzz_no_secret_in("the masked config", s, secrets);
    } else if (json_is_object(v)) {
        const char *k;
        const json_t *item;
        json_object_foreach((json_t *)v, k, item)
            check_masked(item, secrets);
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
            check_masked(item, secrets);
    }
}

/* After resolution a typed option holds a value of its type. */
static void check_typed(const siphon_option *o, const json_t *v, const char *where)
{
    if (v == NULL)
        return;
    int ok = 1;
    switch (o->type) {
    case SIPHON_OPT_INT: ok = json_is_integer(v); break;
    case SIPHON_OPT_NUMBER: ok = json_is_number(v); break;
    case SIPHON_OPT_BOOL: ok = json_is_boolean(v); break;
    case SIPHON_OPT_STRING:
        ok = json_is_string(v);
        if (ok && o->choices != NULL) {
            /* One of the choices, in its declared spelling. */
            const char *s = json_string_value(v);
            size_t n = strlen(s);
            const char *hit = strstr(o->choices, s);
            ok = 0;
            while (hit != NULL && !ok) {
                ok = n > 0 && (hit == o->choices || hit[-1] == '|') &&
                     (hit[n] == '\0' || hit[n] == '|');
                hit = strstr(hit + 1, s);
            }
        }
        break;
    default: break;
    }
    SXT_FUZZ_CHECK(ok, "%s option '%s' is not stored typed", where, o->name);
}

static void check_values(const sx_config *cfg, const sx_registry *reg)
{
    const sx_source *src = cfg->source;
    for (size_t i = 0; i < src->options.n; i++)
        check_typed(&src->options.items[i],
                    sx_config_source_value(cfg, NULL, src->options.items[i].name), "source");
    for (size_t s = 0; s < src->n_streams; s++) {
        const sx_stream *st = src->streams[s];
        for (size_t i = 0; i < src->options.n; i++)
            check_typed(&src->options.items[i],
                        sx_config_source_value(cfg, st, src->options.items[i].name), "stream");
        for (size_t i = 0; i < st->options.n; i++)
            check_typed(&st->options.items[i],
                        sx_config_source_value(cfg, st, st->options.items[i].name), "stream");
        const sx_options *hs = sx_host_stream_options();
        for (size_t i = 0; i < hs->n; i++)
            check_typed(&hs->items[i], sx_config_host_value(cfg, st->vt.base.name,
                                                            hs->items[i].name), "host stream");
    }
    const sx_options *ht = sx_host_options();
    for (size_t i = 0; i < ht->n; i++)
        check_typed(&ht->items[i], sx_config_host_value(cfg, NULL, ht->items[i].name), "host");
    for (size_t i = 0; i < cfg->sink->options.n; i++)
        check_typed(&cfg->sink->options.items[i],
                    sx_config_sink_value(cfg, cfg->sink->options.items[i].name), "sink");
    (void)reg;
}

/* Whether text, without surrounding white space, is an optional sign and
 * one or more digits. */
static int integer_text(const char *text)
{
    while (*text == ' ' || (*text >= '\t' && *text <= '\r'))
        text++;
    if (*text == '+' || *text == '-')
        text++;
    size_t digits = 0;
    while (*text >= '0' && *text <= '9') {
        text++;
        digits++;
    }
    while (*text == ' ' || (*text >= '\t' && *text <= '\r'))
        text++;
    return digits > 0 && *text == '\0';
}

/* Every string anywhere in the file, read as an int option would read it: it
 * is taken exactly when it is an integer's text, and then as that integer. */
static void check_int_coercion(const json_t *v)
{
    if (json_is_string(v) && json_string_length(v) < 40) {
        static const siphon_option as_int = {"n", SIPHON_OPT_INT, 0, NULL, NULL, NULL, NULL};
        json_t *n = NULL;
        char why[256];
        const char *text = json_string_value(v);
        int rc = sx_option_value_check(&as_int, v, &n, why, sizeof why);
        if (rc == 0) {
            SXT_FUZZ_CHECK(integer_text(text), "\"%s\" read as the integer %lld", text,
                           (long long)json_integer_value(n));
            SXT_FUZZ_CHECK(json_integer_value(n) == strtoll(text, NULL, 10),
                           "\"%s\" read as %lld", text, (long long)json_integer_value(n));
        } else {
            /* Refused: not an integer, or one past 64 bits. */
            SXT_FUZZ_CHECK(!integer_text(text) || strlen(text) >= 19, "\"%s\" refused: %s",
                           text, why);
        }
        json_decref(n);
    } else if (json_is_object(v)) {
        const char *k;
        const json_t *item;
        json_object_foreach((json_t *)v, k, item)
            check_int_coercion(item);
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
            check_int_coercion(item);
    }
}

static sx_registry *registry(void)
{
    static sx_registry *reg;
    if (reg == NULL)
        reg = sxt_registry_dinamize_like();
    return reg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const sx_registry *reg = registry();
    directives d = {.overlaid = json_object(), .secrets = json_array()};
    sxt_fuzz_directives(&data, &size, directive, &d);

    const char *path = sxt_fuzz_path("config.json");
    sxt_fuzz_write(path, data, size);
    char label[600];
    snprintf(label, sizeof label, "config file '%s'", path);

    sx_config cfg;
    sx_error err;
    sx_error_clear(&err);
    if (sx_config_load(&cfg, path, &err) != 0) {
        check_error(&err, label, &d, NULL, 0);
        goto done;
    }
    const char *override = d.has_sink ? d.sink : NULL;
    visit_file_secrets(cfg.root, override, collect_secret, d.secrets);
    const input again = {path, reg, override, &d};
    check_int_coercion(cfg.root);
    int resolved = sx_config_resolve(&cfg, reg, override, &err);
    effective_overlays(&d, cfg.sink);
    if (resolved != 0) {
        check_error(&err, label, &d, cfg.source != NULL ? &again : NULL, 0);
        goto done;
    }
    check_values(&cfg, reg);

    /* Resolving again is a no-op: values are already typed. */
    json_t *first = json_deep_copy(cfg.root);
    SXT_FUZZ_CHECK(sx_config_resolve(&cfg, reg, override, &err) == 0, "second resolve: %s",
                   err.msg);
    SXT_FUZZ_CHECK(json_equal(first, cfg.root), "resolving twice changes the config");
    json_decref(first);

    sx_error required;
    sx_error_clear(&required);
    sx_config_require(&cfg, &required);

    json_t *masked = sx_config_masked(&cfg);
    char *shown = json_dumps(masked, JSON_COMPACT);
    SXT_FUZZ_CHECK(shown != NULL, "the masked config does not print");
    free(shown);
    check_masked(masked, d.secrets);
    json_decref(masked);

    /* The selection the config asks for, as a run applies it. */
    sx_catalog cat;
    if (sx_catalog_default(&cat, cfg.source, &err) == 0) {
        if (sx_catalog_apply_config(&cat, &cfg, &err) != 0) {
            SXT_FUZZ_CHECK(err.exit_code == SX_EXIT_CONFIG, "%s", err.msg);
            SXT_FUZZ_CHECK(!sx_mask_contains_secret(err.msg), "a registered secret in: %s",
                           err.msg);
        }
        sx_catalog_free(&cat);
    }
    if (required.exit_code != SX_EXIT_OK)
        check_error(&required, label, &d, &again, 1);

done:
    sx_config_free(&cfg);
    forget_directives(&d);
    sxt_fuzz_end_input();
    return 0;
}
