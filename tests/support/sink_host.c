#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sink_host.h"
#include "test-paths.h"

/* Every siphon_ctx starts with the services table (siphon_ctx_head). */
typedef struct sxt_ctx {
    const siphon_host_api *api;
    sxt_sink *owner;
} sxt_ctx;

struct sxt_sink {
    void *dl;
    siphon_sink_vtable vt;       /* zero-extended copy of the module's vtable */
    siphon_host_api api;
    sxt_ctx ctx;
    json_t *config;
    json_t *scratch;             /* texts and defaults handed out by the getters */
    void *self;
    int opened;
    int64_t clock_ms;
    json_t *versions;            /* stream -> version of its last begin */
    char error[2048];
    char *log;
    size_t log_len;
};

char *sxt_sink_module_path(const char *name)
{
    size_t n = strlen(SX_TEST_BUILD_ROOT) + strlen(name) + 64;
    char *path = malloc(n);
    snprintf(path, n, "%s/plugins/sinks/siphon-sink-%s.so", SX_TEST_BUILD_ROOT, name);
    return path;
}

static sxt_sink *owner(siphon_ctx *ctx)
{
    return ((sxt_ctx *)(void *)ctx)->owner;
}

static const siphon_option *declared(const sxt_sink *s, const char *name)
{
    const siphon_component *c = &s->vt.base;
    if (c->options == NULL)
        return NULL;
    for (const char *p = (const char *)c->options;; p += c->option_size) {
        const siphon_option *o = (const siphon_option *)(const void *)p;
        if (o->name == NULL)
            return NULL;
        if (strcmp(o->name, name) == 0)
            return o;
    }
}

/* The configured value of an option, else its declared default (parsed
 * once and kept), else NULL. */
static const json_t *lookup(sxt_sink *s, const char *name)
{
    const siphon_option *o = declared(s, name);
    if (o == NULL) {
        snprintf(s->error, sizeof s->error, "the sink asked for undeclared option '%s'", name);
        return NULL;
    }
    const json_t *v = json_object_get(s->config, name);
    if (v != NULL)
        return v;
    if (o->default_json == NULL)
        return NULL;
    char key[256];
    snprintf(key, sizeof key, "default:%s", name);
    json_t *cached = json_object_get(s->scratch, key);
    if (cached == NULL) {
        cached = json_loads(o->default_json, JSON_DECODE_ANY, NULL);
        if (cached == NULL)
            return NULL;
        json_object_set_new(s->scratch, key, cached);
    }
    return cached;
}

static const char *cfg_string(siphon_ctx *ctx, const char *name)
{
    sxt_sink *s = owner(ctx);
    const json_t *v = lookup(s, name);
    if (v == NULL || json_is_null(v))
        return NULL;
    if (json_is_string(v))
        return json_string_value(v);
    /* A string getter on a number returns its text. */
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    char key[256];
    snprintf(key, sizeof key, "text:%s", name);
    json_object_set_new(s->scratch, key, json_string(text));
    free(text);
    return json_string_value(json_object_get(s->scratch, key));
}

static int cfg_int(siphon_ctx *ctx, const char *name, int64_t *value)
{
    const json_t *v = lookup(owner(ctx), name);
    if (json_is_integer(v)) {
        *value = json_integer_value(v);
        return SIPHON_OK;
    }
    if (json_is_string(v)) {
        char *end;
        long long n = strtoll(json_string_value(v), &end, 10);
        if (*json_string_value(v) != '\0' && *end == '\0') {
            *value = n;
            return SIPHON_OK;
        }
    }
    return SIPHON_E_CONFIG;
}

static int cfg_number(siphon_ctx *ctx, const char *name, double *value)
{
    const json_t *v = lookup(owner(ctx), name);
    if (json_is_number(v)) {
        *value = json_number_value(v);
        return SIPHON_OK;
    }
    if (json_is_string(v)) {
        char *end;
        double d = strtod(json_string_value(v), &end);
        if (*json_string_value(v) != '\0' && *end == '\0') {
            *value = d;
            return SIPHON_OK;
        }
    }
    return SIPHON_E_CONFIG;
}

static int cfg_bool(siphon_ctx *ctx, const char *name, int *value)
{
    const json_t *v = lookup(owner(ctx), name);
    if (json_is_boolean(v)) {
        *value = json_is_true(v);
        return SIPHON_OK;
    }
    if (json_is_string(v) && (strcmp(json_string_value(v), "true") == 0 ||
                              strcmp(json_string_value(v), "false") == 0)) {
        *value = strcmp(json_string_value(v), "true") == 0;
        return SIPHON_OK;
    }
    return SIPHON_E_CONFIG;
}

static const json_t *cfg_json(siphon_ctx *ctx, const char *name)
{
    return lookup(owner(ctx), name);
}

__attribute__((format(printf, 3, 0)))
static void host_vlog(siphon_ctx *ctx, int level, const char *fmt, va_list ap)
{
    sxt_sink *s = owner(ctx);
    char line[4096];
    int n = snprintf(line, sizeof line, "[%d] ", level);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    size_t len = strlen(line);
    char *grown = realloc(s->log, s->log_len + len + 2);
    if (grown == NULL)
        return;
    s->log = grown;
    memcpy(s->log + s->log_len, line, len);
    s->log_len += len;
    s->log[s->log_len++] = '\n';
    s->log[s->log_len] = '\0';
}

__attribute__((format(printf, 2, 0)))
static void host_vset_error(siphon_ctx *ctx, const char *fmt, va_list ap)
{
    sxt_sink *s = owner(ctx);
    vsnprintf(s->error, sizeof s->error, fmt, ap);
}

static int64_t host_now_ms(siphon_ctx *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t host_monotonic_ms(siphon_ctx *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int host_should_stop(siphon_ctx *ctx)
{
    (void)ctx;
    return 0;
}

static int refuse(sxt_sink *s, const char *path, const char *why)
{
    fprintf(stderr, "sink module '%s' refused: %s\n", path, why);
    if (s->dl)
        dlclose(s->dl);
    json_decref(s->config);
    json_decref(s->scratch);
    json_decref(s->versions);
    free(s);
    return -1;
}

/* The loader's checks, in the loader's order. */
static int check_descriptor(sxt_sink *s, const char *path, const char *name)
{
    siphon_plugin_entry_fn entry =
        (siphon_plugin_entry_fn)(uintptr_t)dlsym(s->dl, SIPHON_PLUGIN_ENTRY_SYMBOL);
    if (entry == NULL)
        return refuse(s, path, "no " SIPHON_PLUGIN_ENTRY_SYMBOL " symbol");
    siphon_host_info info = {sizeof info, SIPHON_ABI_MAJOR, SIPHON_ABI_MINOR, "test", &s->api};
    const siphon_plugin_desc *d = entry(&info);
    if (d == NULL || d->magic != SIPHON_PLUGIN_MAGIC)
        return refuse(s, path, "bad magic");
    if (d->abi_major != SIPHON_ABI_MAJOR || d->abi_minor > SIPHON_ABI_MINOR)
        return refuse(s, path, "ABI version mismatch");
    if (d->struct_size < offsetof(siphon_plugin_desc, components) + sizeof d->components)
        return refuse(s, path, "descriptor too small");
    if (d->build_sig == NULL || strcmp(d->build_sig, SIPHON_BUILD_SIG) != 0)
        return refuse(s, path, "build signature mismatch");
    if (d->name == NULL || d->version == NULL || d->license == NULL || d->description == NULL)
        return refuse(s, path, "descriptor lacks a name, version, license or description");
    for (const siphon_component *const *c = d->components; c && *c; c++) {
        if ((*c)->kind != SIPHON_KIND_SINK || (*c)->name == NULL || strcmp((*c)->name, name) != 0)
            continue;
        if ((*c)->struct_size > sizeof(siphon_sink_vtable) ||
            (*c)->struct_size < offsetof(siphon_sink_vtable, close) + sizeof(void *))
            return refuse(s, path, "sink vtable size out of range");
        memcpy(&s->vt, *c, (*c)->struct_size);
        if (s->vt.open == NULL || s->vt.begin_stream == NULL || s->vt.write_record == NULL ||
            s->vt.commit == NULL || s->vt.end_stream == NULL || s->vt.close == NULL)
            return refuse(s, path, "a required sink callback is NULL");
        if ((s->vt.base.caps & SIPHON_CAP_STATE_IN_SINK) && s->vt.load_state == NULL)
            return refuse(s, path, "STATE_IN_SINK without load_state");
        if (s->vt.base.options != NULL && s->vt.base.option_size < sizeof(siphon_option))
            return refuse(s, path, "option_size smaller than siphon_option");
        return 0;
    }
    return refuse(s, path, "no sink component of that name");
}

sxt_sink *sxt_sink_load(const char *name, const char *config_json)
{
    sxt_sink *s = calloc(1, sizeof *s);
    char *path = sxt_sink_module_path(name);
    json_error_t jerr;
    s->config = json_loads(config_json ? config_json : "{}", 0, &jerr);
    s->scratch = json_object();
    s->versions = json_object();
    s->clock_ms = INT64_C(1714557600000); /* 2024-05-01T10:00:00Z */
    s->api = (siphon_host_api){
        .struct_size = sizeof(siphon_host_api),
        .abi_major = SIPHON_ABI_MAJOR,
        .abi_minor = SIPHON_ABI_MINOR,
        .vlog = host_vlog,
        .vset_error = host_vset_error,
        .config_string = cfg_string,
        .config_int = cfg_int,
        .config_number = cfg_number,
        .config_bool = cfg_bool,
        .config_json = cfg_json,
        .now_ms = host_now_ms,
        .monotonic_ms = host_monotonic_ms,
        .should_stop = host_should_stop,
    };
    s->ctx.api = &s->api;
    s->ctx.owner = s;
    if (!json_is_object(s->config)) {
        fprintf(stderr, "sink config is not a JSON object: %s\n", jerr.text);
        refuse(s, path, "bad config");
        free(path);
        return NULL;
    }
    s->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (s->dl == NULL) {
        refuse(s, path, dlerror());
        free(path);
        return NULL;
    }
    if (check_descriptor(s, path, name) != 0) {
        free(path);
        return NULL;
    }
    const char *key;
    json_t *value;
    json_object_foreach(s->config, key, value) {
        if (declared(s, key) == NULL) {
            fprintf(stderr, "sink '%s': unknown option '%s'\n", name, key);
            refuse(s, path, "unknown option");
            free(path);
            return NULL;
        }
    }
    free(path);
    return s;
}

uint64_t sxt_sink_caps(const sxt_sink *s)
{
    return s->vt.base.caps;
}

int sxt_sink_open(sxt_sink *s)
{
    s->error[0] = '\0';
    int rc = s->vt.open((siphon_ctx *)(void *)&s->ctx, &s->self);
    s->opened = rc == SIPHON_OK;
    return rc;
}

int sxt_sink_load_state(sxt_sink *s, json_t **state)
{
    *state = NULL;
    return s->vt.load_state ? s->vt.load_state(s->self, state) : SIPHON_E_UNSUPPORTED;
}

int sxt_sink_begin(sxt_sink *s, const char *stream, const char *schema_json, const char *keys,
                   int mode, int64_t version)
{
    json_t *schema = json_loads(schema_json ? schema_json : "{\"type\":\"object\"}", 0, NULL);
    if (schema == NULL)
        return SIPHON_E_INVALID;
    /* Copies that die when the call returns: borrowed means borrowed. */
    char *stream_copy = strdup(stream);
    char *keys_copy = strdup(keys ? keys : "");
    const char *key_list[32];
    size_t n = 0;
    for (char *save = NULL, *k = strtok_r(keys_copy, ",", &save); k && n < 31;
         k = strtok_r(NULL, ",", &save))
        key_list[n++] = k;
    key_list[n] = NULL;
    siphon_stream_desc desc = {
        .struct_size = sizeof desc,
        .stream = stream_copy,
        .schema = schema,
        .key_properties = key_list,
        .replication_key = NULL,
        .mode = (uint32_t)mode,
        .version = version,
    };
    json_object_set_new(s->versions, stream, json_integer(version));
    int rc = s->vt.begin_stream(s->self, &desc);
    json_decref(schema);
    free(stream_copy);
    free(keys_copy);
    return rc;
}

int sxt_sink_write_value(sxt_sink *s, const char *stream, const json_t *record)
{
    json_t *copy = json_deep_copy(record);
    char *stream_copy = strdup(stream);
    json_t *version = json_object_get(s->versions, stream);
    siphon_record rec = {
        .struct_size = sizeof rec,
        .stream = stream_copy,
        .record = copy,
        .extracted_at_ms = s->clock_ms,
        .version = version ? json_integer_value(version) : 0,
    };
    int rc = s->vt.write_record(s->self, &rec);
    json_decref(copy);
    free(stream_copy);
    return rc;
}

int sxt_sink_write_borrowed(sxt_sink *s, const char *stream, const json_t *record)
{
    siphon_record rec = {
        .struct_size = sizeof rec,
        .stream = stream,
        .record = record,
        .extracted_at_ms = s->clock_ms,
        .version = 0,
    };
    return s->vt.write_record(s->self, &rec);
}

int sxt_sink_write_text(sxt_sink *s, const char *stream, const char *json)
{
    size_t n = strlen(json);
    char *copy = malloc(n ? n : 1);
    char *stream_copy = strdup(stream);
    memcpy(copy, json, n);
    json_t *version = json_object_get(s->versions, stream);
    siphon_record rec = {
        .struct_size = sizeof rec,
        .stream = stream_copy,
        .record = NULL,
        .extracted_at_ms = s->clock_ms,
        .version = version ? json_integer_value(version) : 0,
        .json = copy,
        .json_len = n,
    };
    int rc = s->vt.write_record(s->self, &rec);
    free(copy);
    free(stream_copy);
    return rc;
}

uint64_t sxt_sink_instance_caps(const sxt_sink *s)
{
    uint64_t caps = s->vt.base.caps;
    if (s->vt.instance_caps != NULL)
        caps &= s->vt.instance_caps(s->self);
    return caps;
}

int sxt_sink_write(sxt_sink *s, const char *stream, const char *record_json)
{
    json_error_t jerr;
    json_t *record = json_loads(record_json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (record == NULL) {
        fprintf(stderr, "test record is not JSON: %s: %s\n", jerr.text, record_json);
        return SIPHON_E_INVALID;
    }
    int rc = sxt_sink_write_value(s, stream, record);
    json_decref(record);
    return rc;
}

int sxt_sink_commit(sxt_sink *s, const char *state_json)
{
    json_t *state = state_json ? json_loads(state_json, 0, NULL) : NULL;
    int rc = s->vt.commit(s->self, state);
    json_decref(state);
    return rc;
}

int sxt_sink_end(sxt_sink *s, const char *stream, int how)
{
    char *copy = strdup(stream);
    int rc = s->vt.end_stream(s->self, copy, how);
    free(copy);
    return rc;
}

void sxt_sink_close(sxt_sink *s)
{
    if (s->opened)
        s->vt.close(s->self);
    s->opened = 0;
    s->self = NULL;
}

void sxt_sink_free(sxt_sink *s)
{
    if (s == NULL)
        return;
    sxt_sink_close(s);
    dlclose(s->dl);
    json_decref(s->config);
    json_decref(s->scratch);
    json_decref(s->versions);
    free(s->log);
    free(s);
}

void sxt_sink_set_clock(sxt_sink *s, int64_t ms)
{
    s->clock_ms = ms;
}

const char *sxt_sink_error(const sxt_sink *s)
{
    return s->error;
}

const char *sxt_sink_log(const sxt_sink *s)
{
    return s->log ? s->log : "";
}
