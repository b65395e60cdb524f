/*
 * log.h: the host's log lines on stderr.
 *
 * Every line goes through the secret mask and is written with one write(2),
 * so lines from several threads never interleave. When stderr is a terminal
 * the live progress line (progress.h) is cleared first and redrawn after.
 */
#ifndef SX_LOG_H
#define SX_LOG_H

#include <stdarg.h>

#include <siphon/siphon-host.h>

/* Sets the lowest level printed (SIPHON_LOG_*); default INFO. */
void sx_log_set_level(int level);
int sx_log_level(void);
/* Parses "debug|info|warn|error"; -1 when unknown. */
int sx_log_level_parse(const char *name);

/* Writes "LEVEL [component] message" (component may be NULL). */
void sx_log(int level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sx_vlog(int level, const char *component, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Writes a raw line (already formatted, e.g. a METRIC line) to stderr,
 * masked, with the same progress-line care. */
void sx_log_line(const char *line);

/* Registers the progress line painter (NULL to remove); it is called, under
 * the log lock, to redraw after a log line. */
void sx_log_set_progress(void (*redraw)(void *user), void (*clear)(void *user), void *user);



/* Redraws the progress line now (the writer calls it periodically). */
void sx_log_redraw_progress(void);
#endif
