/*
 * sink_error.h: why a sink callback failed.
 *
 * Only open() receives a ctx through which a message can reach the host
 * (siphon_set_error); later callbacks get only the instance. A sink therefore
 * keeps its last failure here, returns the status code, and hands the message
 * to the host whenever it has a ctx (see sink_error_report).
 */
#ifndef SINK_ERROR_H
#define SINK_ERROR_H

#include <siphon/siphon.h>

typedef struct sink_error {
    int code;          /* the siphon_status of the failure, SIPHON_OK when none */
    char msg[1024];
} sink_error;

/* Records a failure (the last one wins) and returns code, so that a caller
 * can write `return sink_fail(&s->err, SIPHON_E_IO, "...", ...)`. */
int sink_fail(sink_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Forgets the failure. */
void sink_error_clear(sink_error *err);

/* The recorded message, or NULL when nothing failed: what a sink's
 * last_error callback returns to the host. */
const char *sink_error_text(const sink_error *err);

/* Passes the recorded message to the host through ctx's set_error service. */
void sink_error_report(const sink_error *err, siphon_ctx *ctx);

#endif
