/*
 * error.h: errors as values.
 *
 * A failure deep in the core fills an sx_error with the exit code the process
 * should end with and a message for the user; nothing below main() calls
 * exit(). Messages name the file (with line and column for JSON), the field,
 * and what was expected, and never contain a secret (sx_error_set masks them).
 */
#ifndef SX_ERROR_H
#define SX_ERROR_H

#include <stddef.h>

/* Process exit codes; documented in the README and siphon(1). */
typedef enum sx_exit {
    SX_EXIT_OK = 0,
    SX_EXIT_FAILURE = 1,      /* the run failed as a whole (sink failed, every stream failed) */
    SX_EXIT_USAGE = 2,        /* bad command line */
    SX_EXIT_CONFIG = 3,       /* bad config, catalog or state file; unknown stream or option */
    SX_EXIT_AUTH = 4,         /* credentials rejected */
    SX_EXIT_PARTIAL = 5,      /* some streams failed, the others completed and committed */
    SX_EXIT_PLUGIN = 6,       /* a plugin could not be loaded, crashed or misbehaved */
    SX_EXIT_INTERRUPTED = 130 /* stopped by a signal after committing what was done */
} sx_exit;

typedef struct sx_error {
    int exit_code;      /* an sx_exit; SX_EXIT_OK when no error was set */
    char msg[2048];
} sx_error;

/* Sets the error (the first one wins: later calls do not overwrite it).
 * Known secrets in the text are masked. */
void sx_error_set(sx_error *err, int exit_code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears err. */
void sx_error_clear(sx_error *err);

/* The name of an exit code, for messages and the summary ("config error"). */
const char *sx_exit_name(int exit_code);

#endif
