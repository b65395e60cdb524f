/*
 * control.h: the control interface under /_emulator/ (no auth, JSON in and
 * out): stats, data changes, dumps, faults, health. It is how tests change
 * the data over time and read back exactly what the API would return.
 * Faults, the rate limit and latency never apply here.
 */
#ifndef EMU_CONTROL_H
#define EMU_CONTROL_H

#include <stddef.h>

#include "answer.h"
#include "server.h"

/* Answers one control request; stream is the `stream` query parameter. */
void emu_control_handle(emu_server *S, const char *method, const char *path,
                        const char *stream, const char *body, size_t len, emu_answer *a);

#endif
