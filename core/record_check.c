#include <stdio.h>
#include <string.h>

#include <siphon/siphon-json.h>

#include "record_check.h"

/* A path being built as the walk descends: "doc.items[3]". */
typedef struct path {
    char text[256];
    size_t len;
    size_t cut_at;   /* when too long: where "..." was put, else 0 */
} path;

/* A member name as shown in a path: as it is when it is UTF-8 (cut at a
 * character boundary), byte by byte (\xE3) when it is not. */
static void show_name(const char *name, char *out, size_t cap)
{
    size_t n = strlen(name), o = 0;
    if (siphon_utf8_valid(name, n)) {
        if (n >= cap) {
            n = cap - 1;
            while (n > 0 && ((unsigned char)name[n] & 0xC0) == 0x80)
                n--;
        }
        memcpy(out, name, n);
        out[n] = '\0';
        return;
    }
    for (const unsigned char *c = (const unsigned char *)name; *c && o + 5 < cap; c++)
        o += (size_t)snprintf(out + o, cap - o, *c >= 0x20 && *c < 0x7F ? "%c" : "\\x%02X", *c);
    out[o] = '\0';
}

/* Appends ".name" (or "name" first) or "[index]"; returns the length to
 * go back to. */
static size_t path_push(path *p, const char *name, size_t index)
{
    size_t at = p->len;
    if (p->cut_at)
        return at;
    char part[128], shown[96];
    int n;
    if (name == NULL) {
        n = snprintf(part, sizeof part, "[%zu]", index);
    } else {
        show_name(name, shown, sizeof shown);
        n = snprintf(part, sizeof part, "%s%s", at == 0 ? "" : ".", shown);
    }
    if (n < 0 || at + (size_t)n + 4 >= sizeof p->text) {
        memcpy(p->text + at, "...", 4);
        p->len = at + 3;
        p->cut_at = at ? at : 1;
        return at;
    }
    memcpy(p->text + at, part, (size_t)n + 1);
    p->len = at + (size_t)n;
    return at;
}

static void path_pop(path *p, size_t at)
{
    if (p->cut_at && at > p->cut_at)
        return; /* still below the cut: "..." stays */
    p->cut_at = 0;
    p->len = at;
    p->text[at] = '\0';
}

static int walk(const json_t *v, int depth, path *p, char *why, size_t cap)
{
    if (depth > SX_RECORD_MAX_DEPTH) {
        snprintf(why, cap, "member '%s': nested deeper than %d levels", p->text,
                 SX_RECORD_MAX_DEPTH);
        return -1;
    }
    switch (json_typeof(v)) {
    case JSON_STRING:
        if (!siphon_utf8_valid(json_string_value(v), json_string_length(v))) {
            snprintf(why, cap, "member '%s': a string that is not valid UTF-8", p->text);
            return -1;
        }
        return 0;
    case JSON_OBJECT: {
        const char *key;
        json_t *item;
        json_object_foreach((json_t *)v, key, item) {
            size_t at = path_push(p, key, 0);
            if (!siphon_utf8_valid(key, strlen(key))) {
                snprintf(why, cap, "member name '%s': not valid UTF-8", p->text);
                return -1;
            }
            if (walk(item, depth + 1, p, why, cap) != 0)
                return -1;
            path_pop(p, at);
        }
        return 0;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
            size_t at = path_push(p, NULL, i);
            if (walk(item, depth + 1, p, why, cap) != 0)
                return -1;
            path_pop(p, at);
        }
        return 0;
    }
    default:
        return 0;
    }
}

int sx_record_check(const json_t *v, char *why, size_t cap)
{
    path p = {.len = 0, .cut_at = 0};
    p.text[0] = '\0';
    return walk(v, 1, &p, why, cap);
}
