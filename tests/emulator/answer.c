#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "answer.h"

static void write_name(emu_buf *b, const emu_val *v)
{
    if (v->plain_name) {
        emu_buf_putc(b, '"');
        emu_buf_put(b, v->name, v->name_len);
        emu_buf_put(b, "\":", 2);
    } else {
        emu_buf_json_str(b, v->name, strlen(v->name));
        emu_buf_putc(b, ':');
    }
}

static void write_val(emu_buf *b, const emu_val *v)
{
    switch (v->kind) {
    case EMU_V_NULL: emu_buf_put(b, "null", 4); break;
    case EMU_V_STR: emu_buf_json_str(b, v->s, v->len); break;
    case EMU_V_BOOL:
    case EMU_V_RAW: emu_buf_put(b, v->s, v->len); break;
    default: emu_buf_put(b, "null", 4); break;
    }
}

void emu_write_rec(emu_buf *b, const emu_rec *r)
{
    emu_buf_putc(b, '{');
    for (size_t i = 0; i < r->nf; i++) {
        const emu_val *v = &r->f[i];
        if (i)
            emu_buf_putc(b, ',');
        write_name(b, v);
        if (v->kind != EMU_V_OBJ) {
            write_val(b, v);
            continue;
        }
        emu_buf_putc(b, '{');
        for (size_t k = 0; k < r->ncf; k++) {
            if (k)
                emu_buf_putc(b, ',');
            write_name(b, &r->cf[k]);
            write_val(b, &r->cf[k]);
        }
        emu_buf_putc(b, '}');
    }
    emu_buf_putc(b, '}');
}

void emu_answer_take(emu_answer *a, int status, const char *ctype, emu_buf *b)
{
    if (b->failed) {
        emu_buf_free(b);
        emu_buf_puts(b, "{\"error\":\"out of memory\"}");
        status = 500;
        ctype = "application/json";
    }
    a->status = status;
    a->ctype = ctype;
    a->body = emu_buf_take(b, &a->len);
}

void emu_answer_error(emu_answer *a, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emu_buf b = {0};
    emu_buf_puts(&b, "{\"error\":");
    emu_buf_json_str(&b, msg, strlen(msg));
    emu_buf_puts(&b, "}");
    emu_answer_take(a, status, "application/json", &b);
}
