#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "mask.h"

void sx_error_set(sx_error *err, int exit_code, const char *fmt, ...)
{
    if (err == NULL || err->exit_code != SX_EXIT_OK)
        return;
    char raw[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    sx_mask(raw, err->msg, sizeof err->msg);
    /* An error must never read as success, whatever the caller passed. */
    err->exit_code = exit_code == SX_EXIT_OK ? SX_EXIT_FAILURE : exit_code;
}

void sx_error_clear(sx_error *err)
{
    err->exit_code = SX_EXIT_OK;
    err->msg[0] = '\0';
}

const char *sx_exit_name(int exit_code)
{
    switch (exit_code) {
    case SX_EXIT_OK: return "success";
    case SX_EXIT_FAILURE: return "failure";
    case SX_EXIT_USAGE: return "usage error";
    case SX_EXIT_CONFIG: return "configuration error";
    case SX_EXIT_AUTH: return "authentication error";
    case SX_EXIT_PARTIAL: return "partial failure";
    case SX_EXIT_PLUGIN: return "plugin error";
    case SX_EXIT_INTERRUPTED: return "interrupted";
    default: return "unknown exit code";
    }
}
