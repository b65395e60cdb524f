/*
 * fz.h: what the Dinamize reliability tests share: a sync of all thirteen
 * streams into a destination (dest.h), and the checks that a destination
 * holds exactly what the emulator holds.
 *
 * Built on the Dinamize end-to-end harness (tests/integration/dinamize):
 * sxt_dz_start gives each test its own emulator and config.
 */
#ifndef SXT_FZ_H
#define SXT_FZ_H

#include <jansson.h>

#include "dest.h"
#include "integration/dinamize/dz_harness.h"

/*
 * The config every fault test starts from: pages of 40 records (about ninety
 * requests for a full sync, so rate faults fire several times), no request
 * budget (the emulator's limit is off unless a test turns it on), a client
 * timeout of two seconds, room for retries, and a commit every 100 records
 * (many commits, so kills land inside and between them).
 */
#define SXT_FZ_CONFIG                                                               \
    "{\"page_size\":40,\"requests_per_minute\":0,\"http_timeout_s\":2,"              \
    "\"http_max_attempts\":12,\"checkpoint_records\":100}"

/* Emulator flags of every fault test: the limit off (tests that want it set it). */
#define SXT_FZ_EMULATOR "--rate-limit", "0"

/*
 * Runs `siphon run` of every stream (args add flags, NULL-terminated, may be
 * NULL) into d with SXT_FZ_CONFIG overlaid by extra_config (a JSON object
 * text or NULL) and the destination's sink. For stdout, the output becomes
 * the destination's content. env entries are added (may be NULL).
 */
sxt_result sxt_fz_run(sxt_dz *t, sxt_dest *d, const char *extra_config, const char *const args[],
                      const char *const env[]);

/* The config text of such a run, for tests that start siphon themselves. */
void sxt_fz_write_config(sxt_dz *t, sxt_dest *d, const char *extra_config);

/* The primary key of each Dinamize stream, as a NULL-terminated list. */
const char *const *sxt_fz_keys(const char *stream);

/*
 * Asserts rows (a read-back, dest.h) holds every stream the emulator holds
 * with exactly its records: for the JSON sinks (stdout, file) every value;
 * for the databases, whose columns carry the schema's types, the same
 * primary keys (each once). Streams in `skip` (comma-separated, may be NULL)
 * are left out. With live_counts, the counts a contact list carries are not
 * compared (see sxt_fz_forget_live_counts).
 */
void sxt_fz_assert_emulator(sxt_dz *t, const sxt_dest *d, const json_t *rows, const char *skip,
                            int live_counts);

/*
 * Removes total_contacts and total_valid from the contact_lists rows of a
 * read-back. A contact list's counts are a snapshot of the moment it was
 * read; when contacts are inserted during a run (insert-between-pages), a
 * later run rightly reads other counts.
 */
void sxt_fz_forget_live_counts(json_t *rows);

/* The number of faults the emulator injected, from its stats. */
long long sxt_fz_faults(sxt_dz *t);

/* Asserts the emulator counted no request inside a retry-after. */
void sxt_fz_assert_no_violation(sxt_dz *t);

#endif
