/*
 * filters.c: the segmentation filters of every contact list (POST /emkt/filter/search).
 *
 * One read per contact list (the host shares the lists once per run).
 */
#include "common/stream.h"

#define PATH "/emkt/filter/search"
#define ITEMS "items"

static const char *const keys[] = {"code", NULL};
static const char *const groups[] = {"lists", "all", NULL};

static const char schema[] = DZ_SCHEMA(
    DZ_PROP("code", DZ_KEY("Filter code")) ","
    DZ_PROP("contact-list_code", DZ_PARENT("Code of the contact list the filter belongs to")) ","
    DZ_PROP("title", DZ_TEXT("Filter title")) ","
    DZ_PROP("type", DZ_TEXT("Operator between the rules: AND or OR")) ","
    DZ_PROP("insert_date", DZ_DATE("Registration date")));

static const dz_stream_def def = {"filters", PATH, ITEMS, keys, "insert_date", schema};
static const siphon_option options[] = DZ_STREAM_OPTIONS(PATH, ITEMS);

static int read_filters(siphon_ctx *ctx, const json_t *context)
{
    return dz_stream_read(ctx, &def, context);
}

static const siphon_stream_vtable stream = {
    .base = DZ_COMPONENT("filters", "Segmentation filters of every contact list",
                         SIPHON_CAP_PARALLEL_SAFE, options),
    .source = &dz_source,
    .key_properties = keys,
    .replication_key = "insert_date",
    .parent = "contact_lists",
    .groups = groups,
    .schema_json = schema,
    .partition = dz_partition_by_list,
    .read = read_filters,
};

DZ_PLUGIN("dinamize-filters", "Dinamize: the segmentation filters of every contact list", stream);
