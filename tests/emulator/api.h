/*
 * api.h: the Dinamize API as the emulator serves it: /auth and the thirteen
 * search endpoints, behind the envelope, the token check, the rate limit and
 * the injected faults.
 */
#ifndef EMU_API_H
#define EMU_API_H

#include <stddef.h>

#include "answer.h"
#include "server.h"

/* Answers one API request. token is the auth-token header (NULL if absent). */
void emu_api_handle(emu_server *S, const char *method, const char *path, const char *token,
                    const char *body, size_t len, emu_answer *a);

/* Parses a code parameter (a string of digits or a non-negative integer).
 * 0 when present and valid, 1 when absent or null, -1 when malformed. */
int emu_param_code(json_t *body, const char *name, uint64_t *out);

#endif
