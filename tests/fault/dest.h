/*
 * dest.h: one destination of a reliability test (the stdout, file, SQLite or
 * PostgreSQL sink), and what it holds, read back the way a user would read
 * it: the JSON Lines files the manifest lists, the tables of the database,
 * the Singer messages on stdout.
 *
 * Every destination reads back as {"stream": [row, ...]} with each row a JSON
 * object without `_sdc_extracted_at` (the time of extraction differs between
 * runs by design), so two destinations of the same sink compare row by row.
 */
#ifndef SXT_DEST_H
#define SXT_DEST_H

#include <jansson.h>

#include "pg.h"

typedef struct sxt_dest sxt_dest;

/* The sinks a destination can be, by their siphon names. */
extern const char *const sxt_dest_sinks[4]; /* stdout, file, sqlite, postgres */

/*
 * A fresh destination of sink `sink` named `tag` (letters, digits and '_'):
 * for file, the folder dir/tag; for sqlite, the database dir/tag.db; for
 * postgres, the schema `tag` in pg's database (several destinations may share
 * one database); for stdout, whatever sxt_dest_set_output is given.
 * pg may be NULL for the other sinks.
 */
sxt_dest *sxt_dest_new(const char *sink, const char *dir, sxt_pg *pg, const char *tag);

/* The sink's name ("sqlite"). */
const char *sxt_dest_sink(const sxt_dest *d);

/* The config's "sink" object for this destination (new reference). */
json_t *sxt_dest_sink_config(const sxt_dest *d);

/* For stdout: the Singer text a run printed (copied; replaces the last). */
void sxt_dest_set_output(sxt_dest *d, const char *out);

/* Everything committed, as {"stream": [row, ...]} (new reference). Fails the
 * test when the destination cannot be read (a corrupt file, a bad table). */
json_t *sxt_dest_rows(sxt_dest *d);

/* Rows and state of one read-back, as sxt_dest_rows returns the rows; *state
 * is the committed run state or NULL (new references). Use it where the two
 * must come from the same moment. */
json_t *sxt_dest_read(sxt_dest *d, json_t **state);

/* The committed run state, or NULL when none was committed (new reference). */
json_t *sxt_dest_state(sxt_dest *d);

/* Frees the destination (its files stay until the test's folder goes). */
void sxt_dest_free(sxt_dest *d);

/*
 * Asserts two read-backs hold the same streams with the same rows, as
 * multisets (a duplicate counts); `what` names the comparison in the
 * message, which shows the first differing row.
 */
void sxt_rows_assert_same(const char *what, const json_t *got, const json_t *want);

/* The bookmarks of a state without the times of full syncs (which differ
 * between runs by design): {"stream": {...}} (new reference; {} for NULL). */
json_t *sxt_state_bookmarks(const json_t *state);

/* Whether row belongs to a partition: its context keys carry the same values. */
int sxt_row_in_partition(const json_t *row, const json_t *context);

/* Asserts every bookmark of state names a committed row of its stream and
 * partition in rows (a read-back): the state is never ahead of the data.
 * what names the situation in the message. */
void sxt_assert_state_behind_data(const json_t *state, const json_t *rows, const char *what);

#endif
