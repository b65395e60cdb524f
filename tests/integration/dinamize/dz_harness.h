/*
 * dz_harness.h: what the Dinamize end-to-end tests share: an emulator of
 * their own, a config pointing siphon at it, real `siphon` runs with the
 * built plugins, and record-by-record comparison with /_emulator/dump.
 */
#ifndef SXT_DZ_HARNESS_H
#define SXT_DZ_HARNESS_H

#include <jansson.h>

#include "emulator.h"
#include "proc.h"
#include "singer_check.h"

/* The emulator's default credentials. */
#define SXT_DZ_USER "demo@siphon.test"
#define SXT_DZ_PASSWORD "demo-secret-pw"
#define SXT_DZ_CLIENT "100001"

/* The thirteen streams, in the contract's order. */
extern const char *const sxt_dz_streams[13];

typedef struct sxt_dz {
    char *dir;           /* a temporary folder of this test */
    sxt_emulator *emu;
    char *config_path;   /* dir/config.json */
    char *plugin_path;   /* sinks and the Dinamize modules */
} sxt_dz;

/*
 * Starts an emulator with a small, fast data set plus emu_args (NULL-terminated,
 * may be NULL; later flags win) and writes a config for it: credentials,
 * base_url, plus the members of extra_config (a JSON object text, or NULL).
 */
void sxt_dz_start(sxt_dz *t, const char *const emu_args[], const char *extra_config);

/* Rewrites the config with other extra members (the credentials may be overridden). */
void sxt_dz_config(sxt_dz *t, const char *extra_config);

/* Runs `siphon ARGS...` (NULL-terminated) with the test's plugins and the
 * config as -c, with the stdout sink; env entries are added (may be NULL). */
sxt_result sxt_dz_run(sxt_dz *t, const char *const env[], const char *const args[]);

/* Checks a run succeeded and its stdout is valid Singer; fills s. */
void sxt_dz_singer(const sxt_result *r, sxt_singer *s);

/* The records siphon should have produced for stream: every dump line's
 * record with its context keys added. */
json_t *sxt_dz_expected(sxt_dz *t, const char *stream);

/* Asserts records (an array) equal expected exactly, as sets of records:
 * every primary key, every value; the message names the first difference. */
void sxt_dz_assert_same_records(const char *stream, const json_t *records, const json_t *expected);

/* Writes a JSON value to dir/name; returns the path (malloc'd). */
char *sxt_dz_write_json(sxt_dz *t, const char *name, const json_t *value);

/* GET /_emulator/stats. */
json_t *sxt_dz_stats(sxt_dz *t);

/* Stops the emulator and removes the folder. */
void sxt_dz_stop(sxt_dz *t);

#endif
