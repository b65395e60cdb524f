#include <stdarg.h>
#include <stdio.h>

#include "sink_error.h"

int sink_fail(sink_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    /* A failure must never read as success, whatever the caller passed. */
    err->code = code < 0 ? code : SIPHON_E_INTERNAL;
    return err->code;
}

void sink_error_clear(sink_error *err)
{
    err->code = SIPHON_OK;
    err->msg[0] = '\0';
}

void sink_error_report(const sink_error *err, siphon_ctx *ctx)
{
    if (ctx != NULL && err->code != SIPHON_OK)
        siphon_set_error(ctx, "%s", err->msg);
}

const char *sink_error_text(const sink_error *err)
{
    return err->code != SIPHON_OK && err->msg[0] != '\0' ? err->msg : NULL;
}
