#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink_buf.h"
#include "sink_naming.h"

#define STAGING_SUFFIX "__siphon_v"
#define HISTORY_SUFFIX "__history"

static char *option_text(siphon_ctx *ctx, const char *name)
{
    const char *v = siphon_api(ctx)->config_string(ctx, name);
    return v != NULL && *v != '\0' ? strdup(v) : NULL;
}

int sink_naming_load(sink_naming *n, siphon_ctx *ctx, sink_error *err)
{
    memset(n, 0, sizeof *n);
    n->layer = option_text(ctx, "layer");
    n->folder = option_text(ctx, "folder");
    n->prefix = option_text(ctx, "table_prefix");
    if (n->prefix == NULL)
        n->prefix = strdup("");
    const json_t *names = siphon_api(ctx)->config_json(ctx, "table_names");
    if (names != NULL && !json_is_null(names)) {
        if (!json_is_object(names))
            return sink_fail(err, SIPHON_E_CONFIG,
                             "sink option table_names: expected an object of stream name to "
                             "table name, found %s",
                             json_is_array(names) ? "an array" : "a scalar");
        const char *stream;
        const json_t *value;
        json_object_foreach((json_t *)names, stream, value) {
            if (!json_is_string(value) || json_string_length(value) == 0)
                return sink_fail(err, SIPHON_E_CONFIG,
                                 "sink option table_names.%s: expected a non-empty string",
                                 stream);
        }
        n->table_names = json_deep_copy(names);
    }
    return n->prefix != NULL ? SIPHON_OK : sink_fail(err, SIPHON_E_NOMEM, "out of memory");
}

char *sink_naming_table(const sink_naming *n, const char *stream, int with_layer)
{
    const char *name = stream;
    const json_t *mapped = n->table_names ? json_object_get(n->table_names, stream) : NULL;
    if (json_is_string(mapped))
        name = json_string_value(mapped);
    sink_buf b = {0};
    if (with_layer && n->layer != NULL)
        sink_buf_printf(&b, "%s__", n->layer);
    if (n->folder != NULL)
        sink_buf_printf(&b, "%s__", n->folder);
    sink_buf_printf(&b, "%s%s", n->prefix, name);
    if (b.failed) {
        sink_buf_free(&b);
        return NULL;
    }
    return b.data;
}

char *sink_naming_state_key(const sink_naming *n)
{
    json_t *key = json_pack("[sss]", n->layer ? n->layer : "", n->folder ? n->folder : "",
                            n->prefix);
    char *text = key ? json_dumps(key, JSON_COMPACT) : NULL;
    json_decref(key);
    return text;
}

void sink_naming_free(sink_naming *n)
{
    free(n->layer);
    free(n->folder);
    free(n->prefix);
    json_decref(n->table_names);
    memset(n, 0, sizeof *n);
}

/* FNV-1a: tiny, stable across platforms, and plenty to tell names apart. */
static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return h;
}

char *sink_ident_fit(const char *name, const char *suffix, size_t limit)
{
    size_t nlen = strlen(name), slen = strlen(suffix);
    sink_buf b = {0};
    if (limit == 0 || nlen + slen <= limit) {
        sink_buf_add(&b, name, nlen);
    } else {
        size_t tag = 9; /* "_" and 8 hex digits */
        size_t keep = limit > slen + tag ? limit - slen - tag : 0;
        /* Never cut a multibyte character in two: PostgreSQL would reject the
         * half character as invalid UTF-8. */
        while (keep > 0 && ((unsigned char)name[keep] & 0xC0) == 0x80)
            keep--;
        sink_buf_add(&b, name, keep);
        sink_buf_printf(&b, "_%08" PRIx32, name_hash(name));
    }
    sink_buf_add(&b, suffix, slen);
    if (b.failed) {
        sink_buf_free(&b);
        return NULL;
    }
    return b.data ? b.data : strdup("");
}

char *sink_staging_name(const char *table, int64_t version, size_t limit)
{
    char suffix[48];
    snprintf(suffix, sizeof suffix, STAGING_SUFFIX "%" PRId64, version);
    return sink_ident_fit(table, suffix, limit);
}

int sink_is_staging_of(const char *table, const char *candidate, size_t limit, int64_t *version)
{
    const char *mark = strstr(candidate, STAGING_SUFFIX);
    if (mark == NULL)
        return 0;
    /* The last occurrence: a table name may itself contain the marker. */
    for (const char *next; (next = strstr(mark + 1, STAGING_SUFFIX)) != NULL;)
        mark = next;
    const char *digits = mark + strlen(STAGING_SUFFIX);
    if (*digits == '\0' || strspn(digits, "0123456789") != strlen(digits) || strlen(digits) > 18)
        return 0;
    int64_t v = strtoll(digits, NULL, 10);
    char *expected = sink_staging_name(table, v, limit);
    int same = expected != NULL && strcmp(expected, candidate) == 0;
    free(expected);
    if (same && version != NULL)
        *version = v;
    return same;
}

char *sink_history_name(const char *table, size_t limit)
{
    return sink_ident_fit(table, HISTORY_SUFFIX, limit);
}

int sink_history_load(siphon_ctx *ctx, int *enabled, double *retention_days, sink_error *err)
{
    const siphon_host_api *api = siphon_api(ctx);
    int on = 0;
    if (api->config_bool(ctx, "history", &on) != SIPHON_OK)
        on = 0;
    double days = 30;
    if (api->config_number(ctx, "history_retention_days", &days) != SIPHON_OK)
        days = 30;
    if (!(days >= 0))
        return sink_fail(err, SIPHON_E_CONFIG,
                         "sink option history_retention_days: expected a number of days >= 0, "
                         "found %g",
                         days);
    *enabled = on;
    *retention_days = days;
    return SIPHON_OK;
}
