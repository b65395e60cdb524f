/*
 * hostile: a test-only source whose streams carry what a careless sink or
 * host would mangle, drop, or let inject. Built like a third-party plugin.
 *
 *   values         one record per hostile value kind (key "id"): megabytes of
 *                  text, deep nesting, 64-bit and double extremes, control
 *                  characters, SQL and quotes, COPY escapes, an emoji, ""
 *   value_nul      a string holding the NUL character
 *   deep_beyond    a value nested deeper than JSON readers parse (3000)
 *   names          records whose property names hold quotes, semicolons,
 *                  SQL, hyphens, dots, spaces, slashes, backslashes, unicode,
 *                  a sink's own column names, more than 63 bytes
 *   names_case     two property names equal but for case
 *   ..  .hidden  hy-phen.dot  Case  case
 *                  streams whose names are what a file system or a database
 *                  treats specially (the host allows [A-Za-z0-9_.-], not
 *                  starting with '-')
 *   raw_bigint     via emit_raw: an integer beyond 64 bits
 *   raw_huge       via emit_raw: a number beyond a double
 *   raw_badutf8    via emit_raw: a string whose bytes are not UTF-8
 *   tree_badutf8   a record tree holding a string that is not UTF-8 (made
 *                  with jansson's unchecked constructor)
 *
 * The raw and tree streams emit one good record (id 1) first, then the bad
 * one (id 2), and stop with the status the host answered.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <siphon/siphon.h>

static const siphon_option hostile_options[] = {
    {"hostile_big_mb", SIPHON_OPT_INT, 0, "4", "Megabytes of the long string", NULL, NULL},
    {"hostile_depth", SIPHON_OPT_INT, 0, "1000", "Nesting depth of the deep value", NULL, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};

static const siphon_source hostile_source = {
    .struct_size = sizeof(siphon_source),
    .name = "hostile",
    .description = "Hostile names and values, without a network",
    .options = hostile_options,
    .option_size = sizeof(siphon_option),
};

static const char *const id_key[] = {"id", NULL};

static int64_t opt(siphon_ctx *ctx, const char *name)
{
    int64_t v = 0;
    siphon_api(ctx)->config_int(ctx, name, &v);
    return v;
}

/* --- values --- */

static const char values_schema[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"id\":{\"type\":\"integer\"},"
    "\"kind\":{\"type\":\"string\"},"
    "\"text\":{\"type\":[\"null\",\"string\"]},"
    "\"int\":{\"type\":[\"null\",\"integer\"]},"
    "\"num\":{\"type\":[\"null\",\"number\"]},"
    "\"doc\":{\"type\":[\"null\",\"object\",\"array\"]}}}";

static json_t *deep(int64_t depth)
{
    json_t *v = json_string("bottom");
    for (int64_t i = 0; i < depth; i++)
        v = i % 2 ? json_pack("[o]", v) : json_pack("{s:o}", "d", v);
    return v;
}

static int emit_value(siphon_ctx *ctx, json_int_t id, const char *kind, const char *member,
                      json_t *value)
{
    json_t *rec = json_pack("{s:I, s:s}", "id", id, "kind", kind);
    json_object_set_new(rec, member, value);
    return siphon_api(ctx)->emit_record(ctx, NULL, rec);
}

static int read_values(siphon_ctx *ctx, const json_t *context)
{
    (void)context;
    size_t big = (size_t)opt(ctx, "hostile_big_mb") << 20;
    char *text = malloc(big + 1);
    if (text == NULL)
        return SIPHON_E_NOMEM;
    /* not one repeated byte: every position differs from its neighbours */
    for (size_t i = 0; i < big; i++)
        text[i] = (char)('a' + (i * 7 + i / 26) % 26);
    text[big] = '\0';
    struct {
        const char *kind, *member;
        json_t *value;
    } v[] = {
        {"long text", "text", json_stringn(text, big)},
        {"deep nesting", "doc", deep(opt(ctx, "hostile_depth"))},
        {"largest int64", "int", json_integer(INT64_MAX)},
        {"smallest int64", "int", json_integer(INT64_MIN)},
        {"largest double", "num", json_real(1.7976931348623157e308)},
        {"smallest double", "num", json_real(4.9406564584124654e-324)},
        {"negative double", "num", json_real(-2.5e-300)},
        {"control characters", "text", json_string("tab\tcr\rlf\nbs\bff\f\x01\x1f end")},
        {"quotes and SQL", "text", json_string("'); DROP TABLE victim; -- \"\\ `x` $$ ;")},
        {"COPY escapes", "text", json_string("\\N \\. \\\\ \\t")},
        {"emoji and accents", "text", json_string("Jo\xc3\xa3o \xf0\x9f\x8c\xbb \xe5\x90\x8d")},
        {"empty", "text", json_string("")},
        {"empty object", "doc", json_object()},
        {"JSON-looking text", "text", json_string("{\"a\":1}")},
    };
    free(text);
    int rc = SIPHON_OK;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        if (rc == SIPHON_OK)
            rc = emit_value(ctx, (json_int_t)i + 1, v[i].kind, v[i].member, v[i].value);
        else
            json_decref(v[i].value);
    }
    return rc;
}

/* --- names --- */

static const char *const hostile_names[] = {
    "quo\"te", "semi;colon", "new'); DROP TABLE victim; --", "hy-phen", "dot.ted", "sp ace",
    "path/sep", "back\\slash", "\xc3\xbcn\xc3\xaf\xe5\x90\x8d", "_siphon_ordinal", "_siphon_change",
    "a_name_longer_than_the_sixty_three_bytes_postgresql_keeps_for_one_identifier_x", NULL};
static const char *const case_names[] = {"Mixed", "mixed", NULL};

/* Three records; member i of record id holds "v<i>-<id>". */
static int emit_named(siphon_ctx *ctx, const char *const *names)
{
    for (json_int_t id = 1; id <= 3; id++) {
        json_t *rec = json_pack("{s:I}", "id", id);
        for (size_t i = 0; names[i] != NULL; i++) {
            char value[64];
            snprintf(value, sizeof value, "v%zu-%lld", i, (long long)id);
            json_object_set_new(rec, names[i], json_string(value));
        }
        int rc = siphon_api(ctx)->emit_record(ctx, NULL, rec);
        if (rc != SIPHON_OK)
            return rc;
    }
    return SIPHON_OK;
}

static int read_names(siphon_ctx *ctx, const json_t *context)
{
    (void)context;
    return emit_named(ctx, hostile_names);
}

static int read_names_case(siphon_ctx *ctx, const json_t *context)
{
    (void)context;
    return emit_named(ctx, case_names);
}

static int read_value_nul(siphon_ctx *ctx, const json_t *context)
{
    (void)context;
    json_t *rec = json_pack("{s:i, s:s}", "id", 1, "kind", "NUL inside");
    json_object_set_new(rec, "text", json_stringn("a\0b", 3));
    return siphon_api(ctx)->emit_record(ctx, NULL, rec);
}

/* Nested one level deeper than any JSON reader siphon feeds will parse. */
static int read_deep_beyond(siphon_ctx *ctx, const json_t *context)
{
    (void)context;
    json_t *rec = json_pack("{s:i, s:s}", "id", 1, "kind", "too deep");
    json_object_set_new(rec, "doc", deep(3000));
    return siphon_api(ctx)->emit_record(ctx, NULL, rec);
}

static const char names_schema[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"quo\\\"te\":{\"type\":[\"null\",\"string\"]},"
    "\"semi;colon\":{\"type\":[\"null\",\"string\"]},"
    "\"new'); DROP TABLE victim; --\":{\"type\":[\"null\",\"string\"]},"
    "\"hy-phen\":{\"type\":[\"null\",\"string\"]},"
    "\"dot.ted\":{\"type\":[\"null\",\"string\"]},"
    "\"sp ace\":{\"type\":[\"null\",\"string\"]},"
    "\"path/sep\":{\"type\":[\"null\",\"string\"]},"
    "\"back\\\\slash\":{\"type\":[\"null\",\"string\"]},"
    "\"\xc3\xbcn\xc3\xaf\xe5\x90\x8d\":{\"type\":[\"null\",\"string\"]},"
    "\"_siphon_ordinal\":{\"type\":[\"null\",\"string\"]},"
    "\"_siphon_change\":{\"type\":[\"null\",\"string\"]},"
    "\"a_name_longer_than_the_sixty_three_bytes_postgresql_keeps_for_one_identifier_x\":"
    "{\"type\":[\"null\",\"string\"]},"
    "\"id\":{\"type\":\"integer\"}}}";

static const char case_schema[] =
    "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},"
    "\"Mixed\":{\"type\":[\"null\",\"string\"]},\"mixed\":{\"type\":[\"null\",\"string\"]}}}";

/* --- streams with special names --- */

static const char plain_schema[] =
    "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},"
    "\"stream\":{\"type\":\"string\"}}}";

static int read_plain(siphon_ctx *ctx, const json_t *context)
{
    (void)context;
    const char *name = siphon_api(ctx)->stream_name(ctx);
    for (json_int_t id = 1; id <= 2; id++) {
        int rc = siphon_api(ctx)->emit_record(ctx, NULL,
                                              json_pack("{s:I, s:s}", "id", id, "stream", name));
        if (rc != SIPHON_OK)
            return rc;
    }
    return SIPHON_OK;
}

/* --- what the host must refuse --- */

static int emit_good_then_raw(siphon_ctx *ctx, const char *bad)
{
    const siphon_host_api *api = siphon_api(ctx);
    static const char good[] = "{\"id\":1,\"stream\":\"fine\"}";
    int rc = api->emit_raw(ctx, good, sizeof good - 1);
    if (rc != SIPHON_OK)
        return rc;
    rc = api->checkpoint(ctx);
    if (rc != SIPHON_OK)
        return rc;
    return api->emit_raw(ctx, bad, strlen(bad));
}

static int read_raw_bigint(siphon_ctx *ctx, const json_t *context)
{
    (void)context;
    return emit_good_then_raw(ctx, "{\"id\":2,\"stream\":\"x\",\"big\":123456789012345678901234567890}");
}

static int read_raw_huge(siphon_ctx *ctx, const json_t *context)
{
    (void)context;
    return emit_good_then_raw(ctx, "{\"id\":2,\"stream\":\"x\",\"huge\":1e400}");
}

static int read_raw_badutf8(siphon_ctx *ctx, const json_t *context)
{
    (void)context;
    return emit_good_then_raw(ctx, "{\"id\":2,\"stream\":\"x\",\"latin1\":\"Jo\xe3o\"}");
}

static int read_tree_badutf8(siphon_ctx *ctx, const json_t *context)
{
    (void)context;
    const siphon_host_api *api = siphon_api(ctx);
    int rc = api->emit_record(ctx, NULL, json_pack("{s:i, s:s}", "id", 1, "stream", "fine"));
    if (rc == SIPHON_OK)
        rc = api->checkpoint(ctx);
    if (rc != SIPHON_OK)
        return rc;
    json_t *rec = json_pack("{s:i}", "id", 2);
    json_object_set_new(rec, "latin1", json_stringn_nocheck("Jo\xe3o", 4));
    return api->emit_record(ctx, NULL, rec);
}

static const char raw_schema[] =
    "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},"
    "\"stream\":{\"type\":\"string\"},\"big\":{\"type\":[\"null\",\"integer\"]},"
    "\"huge\":{\"type\":[\"null\",\"number\"]},\"latin1\":{\"type\":[\"null\",\"string\"]}}}";

#define HOSTILE_STREAM(var, name_, read_, schema_)                             \
    static const siphon_stream_vtable var = {                                 \
        .base = {.struct_size = sizeof(siphon_stream_vtable),                 \
                 .kind = SIPHON_KIND_STREAM, .name = name_,                   \
                 .description = "hostile stream", .caps = 0,                  \
                 .option_size = sizeof(siphon_option)},                       \
        .source = &hostile_source, .key_properties = id_key,                  \
        .schema_json = schema_, .read = read_,                                \
    }

HOSTILE_STREAM(s_values, "values", read_values, values_schema);
HOSTILE_STREAM(s_names, "names", read_names, names_schema);
HOSTILE_STREAM(s_names_case, "names_case", read_names_case, case_schema);
HOSTILE_STREAM(s_value_nul, "value_nul", read_value_nul, values_schema);
HOSTILE_STREAM(s_deep_beyond, "deep_beyond", read_deep_beyond, values_schema);
HOSTILE_STREAM(s_dotdot, "..", read_plain, plain_schema);
HOSTILE_STREAM(s_hidden, ".hidden", read_plain, plain_schema);
HOSTILE_STREAM(s_hyphen_dot, "hy-phen.dot", read_plain, plain_schema);
HOSTILE_STREAM(s_case_upper, "Case", read_plain, plain_schema);
HOSTILE_STREAM(s_case_lower, "case", read_plain, plain_schema);
HOSTILE_STREAM(s_raw_bigint, "raw_bigint", read_raw_bigint, raw_schema);
HOSTILE_STREAM(s_raw_huge, "raw_huge", read_raw_huge, raw_schema);
HOSTILE_STREAM(s_raw_badutf8, "raw_badutf8", read_raw_badutf8, raw_schema);
HOSTILE_STREAM(s_tree_badutf8, "tree_badutf8", read_tree_badutf8, raw_schema);

static const siphon_component *const hostile_components[] = {
    &s_values.base, &s_names.base, &s_names_case.base, &s_value_nul.base, &s_deep_beyond.base,
    &s_dotdot.base, &s_hidden.base, &s_hyphen_dot.base,
    &s_case_upper.base, &s_case_lower.base, &s_raw_bigint.base, &s_raw_huge.base,
    &s_raw_badutf8.base, &s_tree_badutf8.base, NULL};

SIPHON_PLUGIN_DEFINE("hostile-streams", "1.0.0", "MIT",
                     "Hostile names and values for the reliability tests", hostile_components);
