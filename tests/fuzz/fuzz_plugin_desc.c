/*
 * fuzz_plugin_desc.c: the loader's descriptor checks (core/plugin_check.c,
 * core/registry.c) on descriptors built in memory from the input, then
 * `siphon plugins` over what was admitted or refused.
 *
 * The input is read as a sequence of choices (fuzz_support.h's byte
 * reader): for every field, mostly a well-formed value and sometimes a
 * fuzzed one (magic, ABI numbers, struct sizes, kinds, capability bits,
 * option tables with their stride, names, default_json, choices, env,
 * schema_json, lists, callbacks present or not). Every struct is allocated
 * with exactly the size it declares (a descriptor, component, source or
 * option table the plugin says is small is small), so AddressSanitizer
 * reports any read of plugin memory past what the plugin declared.
 *
 * Invariants:
 *  - a refusal has a one-line reason without control characters, and a
 *    refused plugin leaves nothing pending;
 *  - an admitted plugin has as many streams and sinks as it declared, and
 *    admitting the same descriptor twice is refused as a duplicate;
 *  - `siphon plugins list --json` and `inspect --json` print JSON that
 *    parses and lists every plugin and every refusal; their text forms carry
 *    no control characters but newlines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_plugins.h"
#include "fuzz_support.h"
#include "plugin_check.h"
#include "registry.h"

#define MAX_COMPONENTS 4
#define MAX_OPTIONS 5
#define MAX_LIST 4

/* Callbacks are never called: only their presence is checked. */
static int cb_read(siphon_ctx *c, const json_t *x) { (void)c; (void)x; return 0; }
static int cb_partition(siphon_ctx *c, const json_t *p, json_t **x) { (void)c; (void)p; (void)x; return 0; }
static int cb_discover(siphon_ctx *c, json_t **x) { (void)c; (void)x; return 0; }
static int cb_login(siphon_ctx *c, char *t, size_t n) { (void)c; (void)t; (void)n; return 0; }
static int cb_check(siphon_ctx *c) { (void)c; return 0; }
static int cb_open(siphon_ctx *c, void **s) { (void)c; (void)s; return 0; }
static int cb_load_state(void *s, json_t **x) { (void)s; (void)x; return 0; }
static int cb_begin(void *s, const siphon_stream_desc *d) { (void)s; (void)d; return 0; }
static int cb_write(void *s, const siphon_record *r) { (void)s; (void)r; return 0; }
static int cb_commit(void *s, const json_t *x) { (void)s; (void)x; return 0; }
static int cb_end(void *s, const char *n, int h) { (void)s; (void)n; (void)h; return 0; }
static void cb_close(void *s) { (void)s; }
static const char *cb_last_error(void *s) { (void)s; return NULL; }

typedef struct builder {
    sxt_bytes in;
    sxt_arena arena;
} builder;

/* Mostly the well-formed value, sometimes NULL, empty or fuzzed text. */
static const char *text(builder *b, const char *usual)
{
    uint8_t sel = sxt_bytes_u8(&b->in);
    if (sel < 160)
        return usual;
    if (sel < 176)
        return NULL;
    if (sel < 184)
        return "";
    return sxt_bytes_string(&b->in, &b->arena, 200);
}

/* Mostly the host's size, sometimes one of the interesting others. */
static uint32_t size_choice(builder *b, uint32_t host, uint32_t min)
{
    uint8_t sel = sxt_bytes_u8(&b->in);
    if (sel < 200)
        return host;
    switch (sel % 6) {
    case 0: return min;
    case 1: return min > 0 ? min - 1 : 0;
    case 2: return host + 8;
    case 3: return host - 8;
    case 4: return 4;
    default: return sxt_bytes_u16(&b->in) % 1024;
    }
}

/* Copies a host-size struct into a block of exactly declared bytes (at
 * least min_alloc, so the size field itself can be read). */
static void *exact(builder *b, const void *full, size_t full_size, uint32_t declared,
                   size_t min_alloc)
{
    size_t alloc = declared > min_alloc ? declared : min_alloc;
    unsigned char *p = sxt_arena_alloc(&b->arena, alloc);
    memcpy(p, full, alloc < full_size ? alloc : full_size);
    return p;
}

static const char *const *list(builder *b, const char *usual)
{
    uint8_t sel = sxt_bytes_u8(&b->in);
    if (sel < 64)
        return NULL;
    size_t n = sel % (MAX_LIST + 1);
    const char **v = sxt_arena_alloc(&b->arena, (n + 1) * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = text(b, i == 0 ? usual : "extra");
    return v;
}

static const siphon_option *options(builder *b, uint32_t *option_size)
{
    uint8_t sel = sxt_bytes_u8(&b->in);
    *option_size = size_choice(b, sizeof(siphon_option),
                               offsetof(siphon_option, flags) + sizeof(uint32_t));
    if (sel < 64)
        return NULL;
    size_t n = sel % (MAX_OPTIONS + 1);
    size_t stride = *option_size;
    /* The table as the plugin declares it: n entries and a terminator, each
     * stride bytes, fields past the stride absent. */
    unsigned char *table = sxt_arena_alloc(&b->arena, (n + 1) * stride);
    static const char *const names[] = {"user", "password", "page_size", "base_url", "flag"};
    static const char *const defaults[] = {"\"x\"", "\"s3cret\"", "100", "\"http://h\"", "true"};
    for (size_t i = 0; i < n; i++) {
        siphon_option o;
        memset(&o, 0, sizeof o);
        o.name = text(b, names[i % 5]);
        uint8_t t = sxt_bytes_u8(&b->in);
        o.type = t < 200 ? (uint32_t)(1 + t % 5) : t % 8;
        o.flags = sxt_bytes_u8(&b->in) & 0x1f;
        o.default_json = sxt_bytes_u8(&b->in) < 128 ? NULL : text(b, defaults[i % 5]);
        o.description = text(b, "An option.");
        o.env = sxt_bytes_u8(&b->in) < 200 ? NULL : text(b, "SIPHON_X");
        o.choices = sxt_bytes_u8(&b->in) < 200 ? NULL : text(b, "a|b");
        memcpy(table + i * stride, &o, stride < sizeof o ? stride : sizeof o);
    }
    return (const siphon_option *)table;
}

static const siphon_source *source(builder *b)
{
    if (sxt_bytes_u8(&b->in) >= 240)
        return NULL;
    siphon_source s;
    memset(&s, 0, sizeof s);
    s.struct_size = size_choice(b, sizeof s, offsetof(siphon_source, name) + sizeof(char *));
    s.name = text(b, "src");
    s.description = text(b, "A source.");
    s.options = options(b, &s.option_size);
    s.base_url_option = text(b, "base_url");
    s.rate_limit_option = sxt_bytes_u8(&b->in) < 128 ? NULL : text(b, "requests_per_minute");
    s.rate_window_ms = sxt_bytes_u32(&b->in);
    uint8_t bits = sxt_bytes_u8(&b->in);
    s.auth_header = bits & 1 ? text(b, "auth-token") : NULL;
    s.login = bits & 2 ? NULL : cb_login;
    s.check = bits & 4 ? cb_check : NULL;
    return exact(b, &s, sizeof s, s.struct_size, sizeof(uint32_t));
}

static const siphon_component *component(builder *b, size_t index)
{
    uint8_t k = sxt_bytes_u8(&b->in);
    uint32_t kind = k < 120 ? SIPHON_KIND_STREAM : k < 240 ? SIPHON_KIND_SINK : k;
    static const char *const names[] = {"alpha", "beta", "gamma", "delta"};
    siphon_component base;
    memset(&base, 0, sizeof base);
    base.kind = kind;
    base.name = text(b, names[index % 4]);
    base.description = text(b, "A component.");
    base.caps = sxt_bytes_u8(&b->in) < 200 ? 0 : sxt_bytes_u64(&b->in);
    base.options = options(b, &base.option_size);
    uint8_t bits = sxt_bytes_u8(&b->in);

    if (kind != SIPHON_KIND_STREAM) {
        /* Unknown kinds are laid out as sinks: only the header is read. */
        siphon_sink_vtable v;
        memset(&v, 0, sizeof v);
        base.struct_size = size_choice(b, sizeof v, sizeof(siphon_component));
        v.base = base;
        v.open = bits & 1 ? NULL : cb_open;
        v.load_state = bits & 2 ? cb_load_state : NULL;
        v.begin_stream = bits & 4 ? NULL : cb_begin;
        v.write_record = bits & 8 ? NULL : cb_write;
        v.commit = bits & 16 ? NULL : cb_commit;
        v.end_stream = bits & 32 ? NULL : cb_end;
        v.close = bits & 64 ? NULL : cb_close;
        v.last_error = bits & 128 ? cb_last_error : NULL;
        return exact(b, &v, sizeof v, v.base.struct_size, sizeof(uint32_t));
    }
    siphon_stream_vtable v;
    memset(&v, 0, sizeof v);
    base.struct_size = size_choice(b, sizeof v, sizeof(siphon_component));
    v.base = base;
    v.source = source(b);
    v.key_properties = list(b, "code");
    v.replication_key = sxt_bytes_u8(&b->in) < 128 ? NULL : text(b, "insert_date");
    v.parent = sxt_bytes_u8(&b->in) < 200 ? NULL : text(b, names[(index + 1) % 4]);
    v.groups = sxt_bytes_u8(&b->in) < 200 ? NULL : list(b, "lists");
    v.schema_json = text(b, "{\"type\":\"object\",\"properties\":{\"code\":{\"type\":\"string\"}}}");
    v.partition = bits & 1 ? NULL : cb_partition;
    v.discover = bits & 2 ? cb_discover : NULL;
    v.read = bits & 4 ? NULL : cb_read;
    return exact(b, &v, sizeof v, v.base.struct_size, sizeof(uint32_t));
}

static const siphon_plugin_desc *descriptor(builder *b)
{
    siphon_plugin_desc d;
    memset(&d, 0, sizeof d);
    d.magic = sxt_bytes_u8(&b->in) < 240 ? SIPHON_PLUGIN_MAGIC : sxt_bytes_u32(&b->in);
    d.abi_major = sxt_bytes_u8(&b->in) < 240 ? SIPHON_ABI_MAJOR : sxt_bytes_u16(&b->in);
    d.abi_minor = sxt_bytes_u8(&b->in) < 240 ? SIPHON_ABI_MINOR : sxt_bytes_u16(&b->in);
    d.struct_size = size_choice(b, sizeof d, SX_DESC_MIN_SIZE);
    d.build_sig = text(b, SIPHON_BUILD_SIG);
    d.name = text(b, "fuzz-plugin");
    d.version = text(b, "1.0.0");
    d.license = text(b, "MIT");
    d.description = text(b, "A plugin built by the fuzzer.");
    uint8_t n = sxt_bytes_u8(&b->in);
    if (n >= 250) {
        d.components = NULL;
    } else {
        n = (uint8_t)(n % (MAX_COMPONENTS + 1));
        const siphon_component **comps = sxt_arena_alloc(&b->arena, (n + 1u) * sizeof *comps);
        for (size_t i = 0; i < n; i++)
            comps[i] = component(b, i);
        d.components = comps;
    }
    return exact(b, &d, sizeof d, d.struct_size,
                 offsetof(siphon_plugin_desc, struct_size) + sizeof(uint32_t));
}

static void check_clean(const char *what, const char *s, int newlines_ok)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
        if ((*p < 0x20 && !(newlines_ok && *p == '\n')) || *p == 0x7f)
            sxt_fuzz_fail("%s holds control byte 0x%02x: %s", what, *p, s);
}

/* Runs `siphon plugins ARGS...` over reg and returns its stdout. */
static char *run_plugins(const sx_registry *reg, int argc, char **argv)
{
    char *out = NULL, *err = NULL;
    size_t out_len = 0, err_len = 0;
    FILE *fo = open_memstream(&out, &out_len), *fe = open_memstream(&err, &err_len);
    if (fo == NULL || fe == NULL)
        abort();
    sx_cmd_plugins_io(argc, argv, reg, fo, fe);
    fclose(fo);
    fclose(fe);
    check_clean("`siphon plugins` errors", err, 1);
    free(err);
    return out;
}

static void check_listing(const sx_registry *reg)
{
    char *list_args[] = {"plugins", "list", "--json"};
    char *out = run_plugins(reg, 3, list_args);
    json_error_t jerr;
    json_t *doc = json_loads(out, 0, &jerr);
    SXT_FUZZ_CHECK(doc != NULL, "list --json is not JSON (%s): %s", jerr.text, out);
    SXT_FUZZ_CHECK(json_array_size(json_object_get(doc, "plugins")) == reg->n_plugins,
                   "list --json lists %zu of %zu plugins",
                   json_array_size(json_object_get(doc, "plugins")), reg->n_plugins);
    SXT_FUZZ_CHECK(json_array_size(json_object_get(doc, "refused")) == reg->n_refusals,
                   "list --json lists %zu of %zu refusals: %s",
                   json_array_size(json_object_get(doc, "refused")), reg->n_refusals,
                   reg->n_refusals ? reg->refusals[0].reason : "");
    json_decref(doc);
    free(out);

    char *text_args[] = {"plugins", "list"};
    out = run_plugins(reg, 2, text_args);
    check_clean("list", out, 1);
    free(out);

    for (size_t i = 0; i < reg->n_plugins; i++) {
        char *name = (char *)reg->plugins[i]->desc->name;
        char *inspect_json[] = {"plugins", "inspect", name, "--json"};
        out = run_plugins(reg, 4, inspect_json);
        doc = json_loads(out, 0, &jerr);
        SXT_FUZZ_CHECK(doc != NULL, "inspect --json is not JSON (%s): %s", jerr.text, out);
        json_decref(doc);
        free(out);
        char *inspect_text[] = {"plugins", "inspect", name};
        out = run_plugins(reg, 3, inspect_text);
        check_clean("inspect", out, 1);
        free(out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    builder b = {{data, size}, {0}};
    const siphon_plugin_desc *desc = descriptor(&b);

    sx_registry reg;
    memset(&reg, 0, sizeof reg);
    sx_pending pending;
    char why[1024] = "";
    int rc = sx_plugin_check(desc, &pending, why, sizeof why);
    SXT_FUZZ_CHECK(rc == SX_ADMIT_OK || rc == SX_ADMIT_REFUSED, "check returned %d", rc);
    /* For whoever writes seeds: what the checker made of the input. */
    if (getenv("SXT_FUZZ_VERBOSE") != NULL)
        fprintf(stderr, "  %s\n", rc == SX_ADMIT_OK ? "admitted" : why);
    if (rc == SX_ADMIT_REFUSED) {
        SXT_FUZZ_CHECK(why[0] != '\0', "a refusal without a reason");
        check_clean("a refusal", why, 0);
        SXT_FUZZ_CHECK(pending.n_streams == 0 && pending.n_sinks == 0 &&
                           pending.streams == NULL && pending.sinks == NULL,
                       "a refused plugin left components pending");
        if (sx_registry_refuse(&reg, "fuzz/plugin.so", "%s", why) != 0)
            abort();
    } else {
        size_t n = 0;
        while (desc->components[n] != NULL)
            n++;
        SXT_FUZZ_CHECK(pending.n_streams + pending.n_sinks == n, "%zu components, %zu admitted",
                       n, pending.n_streams + pending.n_sinks);
        sx_plugin *plugin = calloc(1, sizeof *plugin);
        if (plugin == NULL || (plugin->path = strdup("fuzz/plugin.so")) == NULL)
            abort();
        plugin->desc = desc;
        rc = sx_registry_admit(&reg, plugin, &pending, why, sizeof why);
        if (getenv("SXT_FUZZ_VERBOSE") != NULL && rc != SX_ADMIT_OK)
            fprintf(stderr, "  then refused: %s\n", why);
        if (rc != SX_ADMIT_OK) {
            /* Two components of one plugin with the same name, or two
             * sources of the same name that disagree. */
            SXT_FUZZ_CHECK(rc == SX_ADMIT_REFUSED && (strstr(why, "duplicate") != NULL ||
                                                      strstr(why, "differs") != NULL),
                           "%s", why);
            check_clean("a refusal", why, 0);
            sx_pending_free(&pending);
            free(plugin->path);
            free(plugin);
        } else {
            /* The same plugin found twice on the path. */
            sx_pending again;
            rc = sx_plugin_check(desc, &again, why, sizeof why);
            SXT_FUZZ_CHECK(rc == SX_ADMIT_OK, "the second check refuses: %s", why);
            sx_plugin twin = {.path = "fuzz/twin.so", .handle = NULL, .desc = desc};
            rc = sx_registry_admit(&reg, &twin, &again, why, sizeof why);
            SXT_FUZZ_CHECK(rc == SX_ADMIT_REFUSED && strstr(why, "duplicate plugin") != NULL,
                           "the same plugin admitted twice: %s", why);
            sx_pending_free(&again);
        }
    }
    check_listing(&reg);
    sx_registry_free(&reg);
    sxt_arena_free(&b.arena);
    sxt_fuzz_end_input();
    return 0;
}
