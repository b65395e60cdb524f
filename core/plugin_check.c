#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_check.h"

/* Bounds on lists a descriptor ends with a NULL: a plugin that forgot the
 * terminator is refused instead of being read until it faults. */
#define CHECK_MAX_COMPONENTS 256
#define CHECK_MAX_LIST 256

/* The smallest source any ABI 1.x plugin may declare: enough to carry its
 * name (everything after it is zero when not declared). */
#define SX_SOURCE_MIN_SIZE (offsetof(siphon_source, name) + sizeof(((siphon_source *)0)->name))

#define NAME_RULE "letters, digits, '_', '-' and '.' only, not starting with '-'"

__attribute__((format(printf, 3, 4)))
static int refuse(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return SX_ADMIT_REFUSED;
}

int sx_name_is_valid(const char *name)
{
    /* "-x" would read as an option: `siphon plugins inspect -x`. */
    if (name == NULL || *name == '\0' || *name == '-')
        return 0;
    for (const char *p = name; *p != '\0'; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || c == '.';
        if (!ok)
            return 0;
    }
    return 1;
}

int sx_utf8_is_valid(const char *text)
{
    if (text == NULL)
        return 1;
    /* jansson is the judge: it is what every JSON output goes through. */
    json_t *s = json_string(text);
    json_decref(s);
    return s != NULL;
}

/*
 * Plugin text quoted in a message: a refused plugin is untrusted, so its
 * strings are cut short and control bytes escaped before they reach a
 * terminal. Bytes past ASCII are escaped too: the text may not be UTF-8 (or
 * be cut inside a character), and the message goes into JSON output
 * (`siphon plugins --json`), which only takes UTF-8.
 */
static const char *shown(const char *s, char *buf, size_t cap)
{
    size_t n = 0;
    const size_t limit = 80;
    if (cap < 8)
        return "";
    buf[n++] = '"';
    for (size_t i = 0; s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i >= limit || n + 8 >= cap) {
            memcpy(buf + n, "...", 3);
            n += 3;
            break;
        }
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            n += (size_t)snprintf(buf + n, cap - n, "\\x%02x", c);
        } else {
            buf[n++] = (char)c;
        }
    }
    buf[n++] = '"';
    buf[n] = '\0';
    return buf;
}

/* jansson's message about plugin text, which quotes that text raw: control
 * bytes and bytes past ASCII become '?', as in shown(). */
static const char *parser_message(const char *text, char *buf, size_t cap)
{
    size_t n = 0;
    for (; *text != '\0' && n + 1 < cap; text++) {
        unsigned char c = (unsigned char)*text;
        buf[n++] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
    }
    buf[n] = '\0';
    return buf;
}

static int check_text_field(const char *field, const char *value, char *why, size_t cap)
{
    if (value == NULL)
        return refuse(why, cap, "descriptor field '%s': missing", field);
    if (*value == '\0')
        return refuse(why, cap, "descriptor field '%s': empty", field);
    if (!sx_utf8_is_valid(value))
        return refuse(why, cap, "descriptor field '%s': not valid UTF-8", field);
    return SX_ADMIT_OK;
}

static int check_header(const siphon_plugin_desc *d, char *why, size_t cap)
{
    char q[256];
    /* Each field is read only once the ones before it proved this is a
     * descriptor of our major: a foreign struct may not have them at all. */
    if (d->magic != SIPHON_PLUGIN_MAGIC)
        return refuse(why, cap, "magic: plugin has 0x%08" PRIx32 ", host expects 0x%08" PRIx32,
                      d->magic, (uint32_t)SIPHON_PLUGIN_MAGIC);
    if (d->abi_major != SIPHON_ABI_MAJOR)
        return refuse(why, cap, "ABI major: plugin has %u, host has %u", (unsigned)d->abi_major,
                      (unsigned)SIPHON_ABI_MAJOR);
    if (d->abi_minor > SIPHON_ABI_MINOR)
        return refuse(why, cap, "ABI minor: plugin has %u, host has %u (built against a newer SDK)",
                      (unsigned)d->abi_minor, (unsigned)SIPHON_ABI_MINOR);
    if (d->struct_size < SX_DESC_MIN_SIZE)
        return refuse(why, cap,
                      "descriptor size: plugin has %" PRIu32 ", host expects at least %zu",
                      d->struct_size, (size_t)SX_DESC_MIN_SIZE);
    if (d->build_sig == NULL)
        return refuse(why, cap, "build signature: plugin has none, host has \"%s\"",
                      SIPHON_BUILD_SIG);
    if (strcmp(d->build_sig, SIPHON_BUILD_SIG) != 0)
        return refuse(why, cap, "build signature: plugin has %s, host has \"%s\"",
                      shown(d->build_sig, q, sizeof q), SIPHON_BUILD_SIG);
    int rc;
    if ((rc = check_text_field("name", d->name, why, cap)) != SX_ADMIT_OK ||
        (rc = check_text_field("version", d->version, why, cap)) != SX_ADMIT_OK ||
        (rc = check_text_field("license", d->license, why, cap)) != SX_ADMIT_OK ||
        (rc = check_text_field("description", d->description, why, cap)) != SX_ADMIT_OK)
        return rc;
    if (!sx_name_is_valid(d->name))
        return refuse(why, cap, "descriptor field 'name': %s is not a valid name (" NAME_RULE ")",
                      shown(d->name, q, sizeof q));
    if (d->components == NULL)
        return refuse(why, cap, "descriptor field 'components': missing");
    if (d->components[0] == NULL)
        return refuse(why, cap, "descriptor field 'components': empty (a plugin declares at least "
                                "one stream or sink)");
    return SX_ADMIT_OK;
}

/* A NULL-terminated list of non-empty strings (key properties, groups);
 * names_only also requires each to be a valid name. */
static int check_list(const char *field, const char *const *list, int names_only, char *why,
                      size_t cap)
{
    char q[256];
    for (size_t i = 0;; i++) {
        if (i == CHECK_MAX_LIST)
            return refuse(why, cap, "field '%s': no terminating NULL among the first %d entries",
                          field, CHECK_MAX_LIST);
        if (list[i] == NULL)
            return SX_ADMIT_OK;
        if (list[i][0] == '\0')
            return refuse(why, cap, "field '%s': entry %zu is empty", field, i);
        if (!sx_utf8_is_valid(list[i]))
            return refuse(why, cap, "field '%s': entry %zu is not valid UTF-8", field, i);
        if (names_only && !sx_name_is_valid(list[i]))
            return refuse(why, cap, "field '%s': %s is not a valid name (" NAME_RULE ")", field,
                          shown(list[i], q, sizeof q));
    }
}

static int build_source(const siphon_source *decl, sx_source **out, char *why, size_t cap)
{
    char q[256], sub[1024];
    *out = NULL;
    if (decl->struct_size < SX_SOURCE_MIN_SIZE)
        return refuse(why, cap,
                      "source struct size: plugin has %" PRIu32 ", host needs at least %zu",
                      decl->struct_size, (size_t)SX_SOURCE_MIN_SIZE);
    if (decl->struct_size > sizeof(siphon_source))
        return refuse(why, cap,
                      "source struct size: plugin has %" PRIu32 ", host supports at most %zu "
                      "(built against a newer SDK)",
                      decl->struct_size, sizeof(siphon_source));
    if (!SX_SIZE_IS_WHOLE(decl->struct_size, siphon_source))
        return refuse(why, cap,
                      "source struct size: plugin has %" PRIu32 ", not a multiple of %zu (no "
                      "compiler gives siphon_source that size)",
                      decl->struct_size, _Alignof(siphon_source));
    sx_source *src = calloc(1, sizeof *src);
    if (src == NULL)
        return SX_ADMIT_NOMEM;
    /* The OBS pattern: what the plugin did not declare stays zero. */
    memcpy(&src->decl, decl, decl->struct_size);
    int rc = SX_ADMIT_OK;
    const char *name = src->decl.name;
    if (name == NULL) {
        rc = refuse(why, cap, "source field 'name': missing");
    } else if (!sx_name_is_valid(name)) {
        rc = refuse(why, cap, "source field 'name': %s is not a valid name (" NAME_RULE ")",
                    shown(name, q, sizeof q));
    } else if (!sx_utf8_is_valid(src->decl.description)) {
        rc = refuse(why, cap, "source '%s': field 'description': not valid UTF-8", name);
    } else if (src->decl.auth_header != NULL && src->decl.login == NULL) {
        rc = refuse(why, cap,
                    "source '%s': required callback 'login' is missing (the source sets "
                    "auth_header)", name);
    } else {
        rc = sx_options_normalise(src->decl.options, src->decl.option_size, &src->options, sub,
                                  sizeof sub);
        if (rc == SX_ADMIT_REFUSED)
            refuse(why, cap, "source '%s': %s", name, sub);
    }
    if (rc == SX_ADMIT_OK && (src->name = strdup(name)) == NULL)
        rc = SX_ADMIT_NOMEM;
    if (rc != SX_ADMIT_OK) {
        sx_source_free(src);
        return rc;
    }
    *out = src;
    return SX_ADMIT_OK;
}

static int parse_schema(const char *text, json_t **out, char *why, size_t cap)
{
    json_error_t e;
    char q[sizeof e.text];
    json_t *schema = json_loads(text, JSON_REJECT_DUPLICATES, &e);
    if (schema == NULL)
        return refuse(why, cap, "schema_json does not parse: %s (line %d, column %d)",
                      parser_message(e.text, q, sizeof q), e.line, e.column);
    if (!json_is_object(schema)) {
        static const char *const type_names[] = {"an object", "an array", "a string", "an integer",
                                                 "a real", "true", "false", "null"};
        int t = (int)json_typeof(schema);
        json_decref(schema);
        return refuse(why, cap, "schema_json: a JSON object expected, found %s",
                      t >= 0 && t < 8 ? type_names[t] : "something else");
    }
    *out = schema;
    return SX_ADMIT_OK;
}

/* Fills s (whose vt is already copied) or says why the stream is refused;
 * the message is prefixed by the caller. */
static int stream_checks(sx_stream *s, char *why, size_t cap)
{
    const siphon_stream_vtable *vt = &s->vt;
    char q[256];
    int rc;
    if (vt->read == NULL)
        return refuse(why, cap, "required callback 'read' is missing");
    if (vt->source == NULL)
        return refuse(why, cap, "required field 'source' is missing");
    if (vt->parent != NULL) {
        if (!sx_name_is_valid(vt->parent))
            return refuse(why, cap, "field 'parent': %s is not a valid stream name",
                          shown(vt->parent, q, sizeof q));
        if (strcmp(vt->parent, vt->base.name) == 0)
            return refuse(why, cap, "field 'parent': a stream cannot be its own parent");
        if (vt->partition == NULL)
            return refuse(why, cap,
                          "required callback 'partition' is missing (the stream has a parent, "
                          "'%s')", vt->parent);
    }
    if ((vt->base.caps & SIPHON_CAP_DISCOVER) && vt->discover == NULL)
        return refuse(why, cap, "capability DISCOVER needs callback 'discover', which is missing");
    if ((rc = build_source(vt->source, &s->source, why, cap)) != SX_ADMIT_OK)
        return rc;
    if (vt->key_properties == NULL)
        return refuse(why, cap, "required field 'key_properties' is missing (an empty list is "
                                "allowed)");
    if ((rc = check_list("key_properties", vt->key_properties, 0, why, cap)) != SX_ADMIT_OK)
        return rc;
    if (vt->groups != NULL && (rc = check_list("groups", vt->groups, 1, why, cap)) != SX_ADMIT_OK)
        return rc;
    if (vt->replication_key != NULL && vt->replication_key[0] == '\0')
        return refuse(why, cap, "field 'replication_key': empty (NULL means FULL_TABLE only)");
    if (!sx_utf8_is_valid(vt->replication_key))
        return refuse(why, cap, "field 'replication_key': not valid UTF-8");
    if ((rc = sx_options_normalise(vt->base.options, vt->base.option_size, &s->options, why,
                                   cap)) != SX_ADMIT_OK)
        return rc;
    if (vt->schema_json == NULL) {
        if (!(vt->base.caps & SIPHON_CAP_DISCOVER))
            return refuse(why, cap, "required field 'schema_json' is missing (a stream without "
                                    "the DISCOVER capability declares its schema)");
        return SX_ADMIT_OK;
    }
    return parse_schema(vt->schema_json, &s->schema, why, cap);
}

static int sink_checks(sx_sink *k, char *why, size_t cap)
{
    const siphon_sink_vtable *vt = &k->vt;
    const struct {
        const char *name;
        int present;
    } required[] = {
        {"open", vt->open != NULL},
        {"begin_stream", vt->begin_stream != NULL},
        {"write_record", vt->write_record != NULL},
        {"commit", vt->commit != NULL},
        {"end_stream", vt->end_stream != NULL},
        {"close", vt->close != NULL},
    };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!required[i].present)
            return refuse(why, cap, "required callback '%s' is missing", required[i].name);
    if ((vt->base.caps & SIPHON_CAP_STATE_IN_SINK) && vt->load_state == NULL)
        return refuse(why, cap,
                      "capability STATE_IN_SINK needs callback 'load_state', which is missing");
    return sx_options_normalise(vt->base.options, vt->base.option_size, &k->options, why, cap);
}

static int check_component(const siphon_component *c, size_t index, sx_pending *pd, char *why,
                           size_t cap)
{
    char q[256], sub[1024];
    if (c->struct_size < sizeof(siphon_component))
        return refuse(why, cap,
                      "component %zu struct size: plugin has %" PRIu32 ", host needs at least %zu "
                      "(the component header)",
                      index, c->struct_size, sizeof(siphon_component));
    if (c->name == NULL)
        return refuse(why, cap, "component %zu: field 'name': missing", index);
    if (!sx_name_is_valid(c->name))
        return refuse(why, cap,
                      "component %zu: field 'name': %s is not a valid name (" NAME_RULE ")",
                      index, shown(c->name, q, sizeof q));
    if (!sx_utf8_is_valid(c->description))
        return refuse(why, cap, "component %zu ('%s'): field 'description': not valid UTF-8", index,
                      c->name);
    size_t host_size;
    if (c->kind == SIPHON_KIND_STREAM)
        host_size = sizeof(siphon_stream_vtable);
    else if (c->kind == SIPHON_KIND_SINK)
        host_size = sizeof(siphon_sink_vtable);
    else
        return refuse(why, cap,
                      "component %zu ('%s') kind: plugin has %" PRIu32 ", host knows %d (stream) "
                      "and %d (sink)",
                      index, c->name, c->kind, SIPHON_KIND_STREAM, SIPHON_KIND_SINK);
    if (c->struct_size > host_size)
        return refuse(why, cap,
                      "component %zu ('%s') struct size: plugin has %" PRIu32 ", host supports at "
                      "most %zu (built against a newer SDK)",
                      index, c->name, c->struct_size, host_size);
    if (!SX_SIZE_IS_WHOLE(c->struct_size, siphon_stream_vtable) ||
        !SX_SIZE_IS_WHOLE(c->struct_size, siphon_sink_vtable))
        return refuse(why, cap,
                      "component %zu ('%s') struct size: plugin has %" PRIu32 ", not a multiple of "
                      "%zu (no compiler gives a vtable that size)",
                      index, c->name, c->struct_size, _Alignof(siphon_stream_vtable));

    int rc;
    if (c->kind == SIPHON_KIND_STREAM) {
        sx_stream **grown = realloc(pd->streams, (pd->n_streams + 1) * sizeof *grown);
        if (grown == NULL)
            return SX_ADMIT_NOMEM;
        pd->streams = grown;
        sx_stream *s = calloc(1, sizeof *s);
        if (s == NULL)
            return SX_ADMIT_NOMEM;
        /* Copy only what the plugin declared into a zeroed host copy: never
         * read a plugin struct past its own size. */
        memcpy(&s->vt, c, c->struct_size);
        /* Owned by the pending set from here, so one free path covers every
         * outcome. */
        pd->streams[pd->n_streams++] = s;
        rc = stream_checks(s, sub, sizeof sub);
        if (rc == SX_ADMIT_REFUSED)
            refuse(why, cap, "stream '%s': %s", c->name, sub);
        return rc;
    }
    sx_sink **grown = realloc(pd->sinks, (pd->n_sinks + 1) * sizeof *grown);
    if (grown == NULL)
        return SX_ADMIT_NOMEM;
    pd->sinks = grown;
    sx_sink *k = calloc(1, sizeof *k);
    if (k == NULL)
        return SX_ADMIT_NOMEM;
    memcpy(&k->vt, c, c->struct_size);
    pd->sinks[pd->n_sinks++] = k;
    rc = sink_checks(k, sub, sizeof sub);
    if (rc == SX_ADMIT_REFUSED)
        refuse(why, cap, "sink '%s': %s", c->name, sub);
    return rc;
}

int sx_plugin_check(const siphon_plugin_desc *desc, sx_pending *pending, char *why, size_t why_cap)
{
    memset(pending, 0, sizeof *pending);
    int rc = check_header(desc, why, why_cap);
    if (rc != SX_ADMIT_OK)
        return rc;
    for (size_t i = 0; rc == SX_ADMIT_OK && desc->components[i] != NULL; i++) {
        if (i == CHECK_MAX_COMPONENTS) {
            rc = refuse(why, why_cap,
                        "descriptor field 'components': no terminating NULL among the first %d "
                        "entries", CHECK_MAX_COMPONENTS);
            break;
        }
        rc = check_component(desc->components[i], i, pending, why, why_cap);
    }
    if (rc != SX_ADMIT_OK)
        sx_pending_free(pending);
    return rc;
}

void sx_stream_free(sx_stream *stream)
{
    if (stream == NULL)
        return;
    sx_options_free(&stream->options);
    json_decref(stream->schema);
    free(stream);
}

void sx_sink_free(sx_sink *sink)
{
    if (sink == NULL)
        return;
    sx_options_free(&sink->options);
    free(sink);
}

void sx_source_free(sx_source *source)
{
    if (source == NULL)
        return;
    sx_options_free(&source->options);
    free(source->streams);
    free(source->name);
    free(source);
}

void sx_pending_free(sx_pending *pending)
{
    for (size_t i = 0; i < pending->n_streams; i++) {
        sx_source_free(pending->streams[i]->source);
        sx_stream_free(pending->streams[i]);
    }
    for (size_t i = 0; i < pending->n_sinks; i++)
        sx_sink_free(pending->sinks[i]);
    free(pending->streams);
    free(pending->sinks);
    memset(pending, 0, sizeof *pending);
}
