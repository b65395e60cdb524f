/*
 * json_path.c: which member of JSON text a byte offset falls in, for
 * messages that name the field and not only the byte; shared by the host and
 * the plugins so both name a member the same way.
 */
#include <stdio.h>
#include <string.h>

#include <siphon/siphon-json.h>

/* The keys of a path are raw bytes of the text (an API's answer, a plugin's
 * record) and go into messages printed on terminals, written to logs and to
 * JSON: control bytes become spaces, and bytes that are not UTF-8 (or a
 * character the path was cut inside) '?'. */
static void shown_as_text(char *text)
{
    size_t n = strlen(text);
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                text[i] = ' ';
            i++;
            continue;
        }
        size_t k = siphon_utf8_sequence((const unsigned char *)text + i, n - i);
        if (k == 0) {
            text[i++] = '?';
            continue;
        }
        i += k;
    }
}

void siphon_json_path_at(const char *buf, size_t len, size_t offset, char *out, size_t cap)
{
    struct frame {
        char kind;           /* '{' or '[' */
        const char *key;     /* the member being read (objects) */
        size_t key_len;
        size_t index;        /* the element being read (arrays) */
    } st[32];
    int depth = 0, expect_key = 0, deeper = 0;
    if (offset > len)
        offset = len;
    for (size_t i = 0; i < offset; i++) {
        char c = buf[i];
        if (c == '"') {
            size_t start = ++i;
            while (i < len && buf[i] != '"')
                i += buf[i] == '\\' ? 2 : 1;
            if (expect_key && depth > 0 && st[depth - 1].kind == '{') {
                st[depth - 1].key = buf + start;
                st[depth - 1].key_len = (i < len ? i : len) - start;
                expect_key = 0;
            }
        } else if (c == '{' || c == '[') {
            if (depth == (int)(sizeof st / sizeof st[0])) {
                deeper++;
                continue;
            }
            st[depth++] = (struct frame){.kind = c};
            expect_key = c == '{';
        } else if (c == '}' || c == ']') {
            if (deeper > 0)
                deeper--;
            else if (depth > 0)
                depth--;
            expect_key = 0;
        } else if (c == ',' && depth > 0 && deeper == 0) {
            if (st[depth - 1].kind == '[')
                st[depth - 1].index++;
            else
                expect_key = 1;
        }
    }
    size_t o = 0;
    out[0] = '\0';
    for (int d = 0; d < depth && o + 1 < cap; d++) {
        int n = 0;
        if (st[d].kind == '[')
            n = snprintf(out + o, cap - o, "[%zu]", st[d].index);
        else if (st[d].key != NULL)
            n = snprintf(out + o, cap - o, "%s%.*s", o ? "." : "", (int)st[d].key_len, st[d].key);
        if (n < 0)
            break;
        o += (size_t)n < cap - o ? (size_t)n : cap - o - 1;
    }
    if (deeper > 0 && o + 4 < cap)
        snprintf(out + o, cap - o, "...");
    shown_as_text(out);
}
