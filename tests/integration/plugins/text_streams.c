/*
 * textlab: a test-only source whose streams emit the records a test gives
 * them, as text (emit_raw) or as trees (emit_record), for the tests of the
 * text record path.
 *
 *   notes       the records of text_records, in order
 *   lists       the records of text_lists (trees); the parent of list_notes
 *   list_notes  text_records once per list, whose context {"list_code": ...}
 *               the host adds to each record
 *
 * text_records is a JSON array: a string element is emitted as that text, an
 * object element as a tree. text_checkpoint > 0 checkpoints after every that
 * many records. text_checked emits the texts with emit_raw_checked, as a
 * plugin does that checked them itself: "split" without a member table,
 * "table" with the one siphon_json_object_scan finds, "bogus" with that
 * table's offsets moved past the text (a plugin that breaks its promise).
 */
#include <string.h>

#include <siphon/siphon.h>

static const siphon_option text_options[] = {
    {"text_records", SIPHON_OPT_JSON, 0, "[]",
     "The records: strings are emitted as text, objects as trees", NULL, NULL},
    {"text_lists", SIPHON_OPT_JSON, 0, "[{\"list_code\":\"A\"},{\"list_code\":\"B\"}]",
     "The records of the lists stream", NULL, NULL},
    {"text_checkpoint", SIPHON_OPT_INT, 0, "0", "Records between checkpoints (0: at the end)",
     NULL, NULL},
    {"text_checked", SIPHON_OPT_STRING, 0, "\"no\"",
     "Emit the texts with emit_raw_checked instead of emit_raw", NULL, "no|split|table|bogus"},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};

static const siphon_source text_source = {
    .struct_size = sizeof(siphon_source),
    .name = "textlab",
    .description = "Test streams that emit records as text",
    .options = text_options,
    .option_size = sizeof(siphon_option),
};

static const char notes_schema[] =
    "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":[\"null\",\"integer\"]},"
    "\"seq\":{\"type\":[\"null\",\"string\"]},\"note\":{\"type\":[\"null\",\"string\"]},"
    "\"n\":{\"type\":[\"null\",\"number\"]},\"list_code\":{\"type\":[\"null\",\"string\"]}}}";
static const char lists_schema[] =
    "{\"type\":\"object\",\"properties\":{\"list_code\":{\"type\":\"string\"}}}";

static const char *const no_keys[] = {NULL};
static const char *const list_keys[] = {"list_code", NULL};

/* One text through emit_raw_checked, as the mode says. */
static int emit_checked(siphon_ctx *ctx, const char *mode, const char *text, size_t len)
{
    const siphon_host_api *api = siphon_api(ctx);
    if (strcmp(mode, "split") == 0)
        return api->emit_raw_checked(ctx, text, len, NULL, 0, 0);
    siphon_json_object o = {0};
    if (siphon_json_object_scan(&o, text, len, 1) != 0) {
        siphon_set_error(ctx, "test record is not an object: %s", o.error);
        siphon_json_object_free(&o);
        return SIPHON_E_INVALID;
    }
    /* the table counts from the '{', which is where the text handed over starts */
    for (size_t i = 0; i < o.n_members; i++) {
        o.members[i].key_off -= o.start;
        o.members[i].val_off -= o.start;
        if (strcmp(mode, "bogus") == 0)
            o.members[i].val_off += len;
    }
    int rc = api->emit_raw_checked(ctx, text + o.start, o.end - o.start, o.members, o.n_members,
                                   o.compact);
    siphon_json_object_free(&o);
    return rc;
}

static int emit_all(siphon_ctx *ctx, const char *option)
{
    const siphon_host_api *api = siphon_api(ctx);
    const json_t *records = api->config_json(ctx, option);
    int64_t every = 0;
    api->config_int(ctx, "text_checkpoint", &every);
    const char *mode = api->config_string(ctx, "text_checked");
    int checked = mode != NULL && strcmp(mode, "no") != 0;
    size_t i;
    const json_t *rec;
    json_array_foreach(records, i, rec) {
        const char *text = json_string_value(rec);
        size_t len = json_string_length(rec);
        int rc = !json_is_string(rec) ? api->emit_record(ctx, NULL, json_deep_copy(rec))
                 : checked            ? emit_checked(ctx, mode, text, len)
                                      : api->emit_raw(ctx, text, len);
        if (rc != SIPHON_OK)
            return rc;
        if (every > 0 && (int64_t)(i + 1) % every == 0 && (rc = api->checkpoint(ctx)) != SIPHON_OK)
            return rc;
    }
    return SIPHON_OK;
}

static int read_notes(siphon_ctx *ctx, const json_t *context)
{
    (void)context;
    return emit_all(ctx, "text_records");
}

static int read_lists(siphon_ctx *ctx, const json_t *context)
{
    (void)context;
    return emit_all(ctx, "text_lists");
}

static int partition_list(siphon_ctx *ctx, const json_t *list, json_t **context)
{
    (void)ctx;
    *context = json_pack("{s:O}", "list_code", json_object_get(list, "list_code"));
    return *context ? SIPHON_OK : SIPHON_E_NOMEM;
}

#define TEXT_STREAM(var, name_, schema_, keys_, rk_, parent_, part_, read_, caps_)          \
    static const siphon_stream_vtable var = {                                              \
        .base = {.struct_size = sizeof(siphon_stream_vtable), .kind = SIPHON_KIND_STREAM,  \
                 .name = name_, .description = "textlab stream " name_, .caps = caps_,     \
                 .option_size = sizeof(siphon_option)},                                    \
        .source = &text_source, .key_properties = keys_, .replication_key = rk_,           \
        .parent = parent_, .schema_json = schema_, .partition = part_, .read = read_,      \
    }

TEXT_STREAM(notes, "notes", notes_schema, no_keys, "seq", NULL, NULL, read_notes, 0);
TEXT_STREAM(lists, "lists", lists_schema, list_keys, NULL, NULL, NULL, read_lists, 0);
TEXT_STREAM(list_notes, "list_notes", notes_schema, no_keys, "seq", "lists", partition_list,
            read_notes, SIPHON_CAP_PARALLEL_SAFE);

static const siphon_component *const text_components[] = {&notes.base, &lists.base,
                                                          &list_notes.base, NULL};

SIPHON_PLUGIN_DEFINE("text-streams", "1.0.0", "MIT", "Test streams that emit records as text",
                     text_components);
