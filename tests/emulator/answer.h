/*
 * answer.h: what a handler hands back to the HTTP layer, and the JSON
 * writing the API and the control interface share.
 */
#ifndef EMU_ANSWER_H
#define EMU_ANSWER_H

#include <stddef.h>

#include "buf.h"
#include "data.h"

typedef struct emu_answer {
    int status;          /* HTTP status */
    char *body;          /* malloc'd */
    size_t len;
    const char *ctype;   /* Content-Type */
    int reset;           /* close the connection without answering */
    int truncate;        /* announce the whole body, send half of it, close */
} emu_answer;

/* Writes a record as a JSON object. */
void emu_write_rec(emu_buf *b, const emu_rec *r);

/* Sets a's body to b's bytes (taking them) with the given status and type. */
void emu_answer_take(emu_answer *a, int status, const char *ctype, emu_buf *b);

/* A JSON answer for the control interface: {"error": msg} with status. */
void emu_answer_error(emu_answer *a, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
