/*
 * sink_naming.h: where a stream's rows land in a database, following the
 * connector guide's layer / folder / table name / prefix.
 *
 *   table  = [folder "__"] table_prefix name      name = table_names[stream] or stream
 *
 * PostgreSQL puts the table in the schema named by the layer; SQLite has no
 * schemas and joins the layer in front with "__" too. Names are kept whole
 * here; a destination with a length limit fits them with sink_ident_fit.
 */
#ifndef SINK_NAMING_H
#define SINK_NAMING_H

#include <stddef.h>
#include <stdint.h>

#include <siphon/siphon.h>

#include "sink_error.h"

typedef struct sink_naming {
    char *layer;          /* NULL when unset or empty */
    char *folder;         /* NULL when unset or empty */
    char *prefix;         /* "" when unset */
    json_t *table_names;  /* object: stream -> table name, or NULL */
} sink_naming;

/* Reads the options layer, folder, table_prefix and table_names through ctx.
 * table_names must be an object of strings; anything else is a config error
 * naming the offending key. */
int sink_naming_load(sink_naming *n, siphon_ctx *ctx, sink_error *err);

/* The whole table name of a stream (malloc'd): with_layer joins the layer in
 * front with "__" (SQLite). */
char *sink_naming_table(const sink_naming *n, const char *stream, int with_layer);

/* The key of this sink target's row in _siphon_state: the JSON array text
 * [layer, folder, prefix] (malloc'd), so two targets sharing a database keep
 * their states apart and one target always finds its own. */
char *sink_naming_state_key(const sink_naming *n);

/* Releases what sink_naming_load kept. */
void sink_naming_free(sink_naming *n);

/*
 * name followed by suffix, made to fit in limit bytes (0: no limit). When it
 * does not fit, name is cut (at a UTF-8 character boundary) and tagged with
 * "_" and 8 hex digits of a hash of the whole name, so distinct long names stay
 * distinct and every name derived from one table (its history, its staging
 * tables) carries the same tag. Returns a malloc'd string.
 */
char *sink_ident_fit(const char *name, const char *suffix, size_t limit);

/* The staging table of a FULL_TABLE load of table at version. */
char *sink_staging_name(const char *table, int64_t version, size_t limit);

/* True when candidate is a staging table of table (some version); the version
 * goes to *version. Used to drop the leftovers of interrupted loads. */
int sink_is_staging_of(const char *table, const char *candidate, size_t limit, int64_t *version);

/* The history table of table. */
char *sink_history_name(const char *table, size_t limit);

/* History options: history (bool) and history_retention_days (number). */
int sink_history_load(siphon_ctx *ctx, int *enabled, double *retention_days, sink_error *err);

#endif
