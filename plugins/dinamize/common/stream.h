/*
 * stream.h: what a Dinamize stream declares, and the code every stream shares.
 *
 * A stream's file (contacts.c, campaigns.c, ...) is a declaration: its name,
 * endpoint, items key, primary key, replication key, parent, groups and
 * schema. Reading it is always the same search-and-page loop (dz_stream_read):
 *
 *   1. the body: page_size, the parent codes of the partition, and in an
 *      INCREMENTAL run `RK >= bookmark` (or start_date on a first sync) and
 *      `RK <= signpost` (now, in the account's time); ordered by RK then key;
 *   2. pages 1, 2, ... through the host (budget, session, retries), each
 *      validated by the classifier, its items parsed one at a time,
 *      normalised to the schema, emitted; a checkpoint after every page;
 *   3. stop when `next` is false; when `next` is absent, on an empty page;
 *      never because a page is short; an empty page that claims a next one
 *      stops with a warning.
 */
#ifndef DZ_STREAM_H
#define DZ_STREAM_H

#include <siphon/siphon.h>

/* The source every Dinamize module declares (identical in each; source.c). */
extern const siphon_source dz_source;

typedef struct dz_stream_def {
    const char *name;             /* the stream, e.g. "contacts" */
    const char *path;             /* default search endpoint (option "path") */
    const char *items_key;        /* default key of the records (option "items_key") */
    const char *const *keys;      /* primary key, NULL-terminated */
    const char *replication_key;  /* NULL for FULL_TABLE-only streams */
    const char *schema_json;      /* the record schema, which also drives normalisation */
} dz_stream_def;

/* Reads one partition of a stream (context NULL for streams without a
 * parent); the whole of siphon_stream_vtable.read. */
int dz_stream_read(siphon_ctx *ctx, const dz_stream_def *def, const json_t *context);

/* partition() of the children of contact_lists: {"contact-list_code": CODE}. */
int dz_partition_by_list(siphon_ctx *ctx, const json_t *list, json_t **context);

/* partition() of list_of_values: {"contact-list_code": L, "field_code": F}
 * for a field of type LV, SIPHON_DONE for every other field. */
int dz_partition_by_lv_field(siphon_ctx *ctx, const json_t *field, json_t **context);

/* --- declaration helpers for the stream files --- */

/* The per-stream options; path and items key default to the stream's own. */
#define DZ_STREAM_OPTIONS(path_, items_key_)                                                   \
    {                                                                                         \
        {"page_size", SIPHON_OPT_INT, SIPHON_OPT_PER_STREAM, "10000",                         \
         "Records asked for per request (10000 is the API's documented maximum, so the "      \
         "fewest requests)", NULL, NULL},                                                     \
        {"path", SIPHON_OPT_STRING, SIPHON_OPT_PER_STREAM, "\"" path_ "\"",                   \
         "The search endpoint, relative to base_url (override if the account's API differs)", \
         NULL, NULL},                                                                         \
        {"items_key", SIPHON_OPT_STRING, SIPHON_OPT_PER_STREAM, "\"" items_key_ "\"",         \
         "The key of the answer's body that holds the records", NULL, NULL},                  \
        {NULL, 0, 0, NULL, NULL, NULL, NULL},                                                 \
    }

/* The component header of a stream. */
#define DZ_COMPONENT(name_, description_, caps_, options_)                                    \
    {                                                                                         \
        .struct_size = sizeof(siphon_stream_vtable), .kind = SIPHON_KIND_STREAM,              \
        .name = (name_), .description = (description_), .caps = (caps_),                      \
        .options = (options_), .option_size = sizeof(siphon_option),                          \
    }

/* The one exported entry of a module holding one stream. */
#define DZ_PLUGIN(plugin_name_, description_, vtable_)                                        \
    static const siphon_component *const dz_components_[] = {&(vtable_).base, NULL};          \
    SIPHON_PLUGIN_DEFINE(plugin_name_, SIPHON_VERSION, "MIT", description_, dz_components_)

/* Schema fragments. Dates stay in the API's own format (no format:
 * date-time); every value may be null except the primary key's. */
#define DZ_SCHEMA(properties_)                                                                \
    "{\"type\":\"object\",\"additionalProperties\":true,\"properties\":{" properties_ "}}"
#define DZ_PROP(name_, type_) "\"" name_ "\":" type_
#define DZ_KEY(description_) "{\"type\":\"string\",\"description\":\"" description_ "\"}"
#define DZ_TEXT(description_)                                                                 \
    "{\"type\":[\"null\",\"string\"],\"description\":\"" description_ "\"}"
#define DZ_DATE(description_)                                                                 \
    "{\"type\":[\"null\",\"string\"],\"description\":\"" description_                        \
    " (YYYY-MM-DD HH:MM:SS in the account's time zone)\"}"
#define DZ_KEY_DATE(description_)                                                             \
    "{\"type\":\"string\",\"description\":\"" description_                                    \
    " (YYYY-MM-DD HH:MM:SS in the account's time zone)\"}"
/* A parent's code the host adds to every record of a partition. */
#define DZ_PARENT(description_) "{\"type\":\"string\",\"description\":\"" description_ "\"}"
#define DZ_FLAG(description_)                                                                 \
    "{\"type\":[\"null\",\"boolean\"],\"description\":\"" description_ "\"}"
#define DZ_OBJECT(description_)                                                               \
    "{\"type\":[\"null\",\"object\"],\"additionalProperties\":true,\"description\":\""         \
    description_ "\"}"

#endif
