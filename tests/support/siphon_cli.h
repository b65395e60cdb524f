/*
 * siphon_cli.h: running the built siphon the way a user does, with the test
 * plugin folders on SIPHON_PLUGIN_PATH and no system plugins.
 */
#ifndef SXT_SIPHON_CLI_H
#define SXT_SIPHON_CLI_H

#include "proc.h"

/* Plugin folders of the build tree (from the generated test-paths.h). */
const char *sxt_plugins_sinks(void);     /* stdout, file, sqlite, postgres */
const char *sxt_plugins_lab(void);       /* lab-streams and example-stream */
const char *sxt_plugins_dinamize(void);  /* the thirteen Dinamize streams */

/*
 * Runs siphon with the arguments after timeout_s (NULL-terminated), with
 * SIPHON_PLUGIN_PATH = plugin_path and SIPHON_PLUGIN_SYSTEM_PATH empty, plus
 * env (NULL-terminated "NAME=value" entries, may be NULL).
 */
sxt_result sxt_siphon(const char *plugin_path, const char *const env[], int timeout_s, ...)
    __attribute__((sentinel));

/* The same, with argv given as an array (argv[0] is the first argument after
 * the program name) and stdin fed from input. */
sxt_result sxt_siphon_argv(const char *plugin_path, const char *const env[], const char *input,
                           int timeout_s, const char *const argv[]);

/* The same as a background process with stdout/stderr into files. */
pid_t sxt_siphon_spawn(const char *plugin_path, const char *const env[], const char *out_path,
                       const char *err_path, const char *const argv[]);

#endif
