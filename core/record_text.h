/*
 * record_text.h: the scanner of records emitted as text (emit_raw).
 *
 * A record that stays text on its way to the sink must be exactly what a
 * tree would have been: one JSON object that jansson would accept, written
 * compactly. sx_rtext_scan checks that in one pass over the bytes, with no
 * allocation per value (the member table is reused from record to record),
 * and notes what the record path needs without building a tree: each
 * top-level member's key and value (for drift warnings, the bookmark and the
 * partition's keys), and whether any whitespace must be squeezed out.
 *
 * Its rules are jansson 2.14's, where jansson is stricter than RFC 8259: no
 * control characters in strings, no lone surrogates, valid UTF-8 only, no
 * escaped NUL in object keys, integers within 64 bits, reals that do not
 * overflow a double, at most 2048 levels of nesting, and a literal or number
 * must not run into a letter ("truex", "1a").
 */
#ifndef SX_RECORD_TEXT_H
#define SX_RECORD_TEXT_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* The kind of a top-level member's value. */
enum {
    SX_RT_OBJECT = 1,
    SX_RT_ARRAY,
    SX_RT_STRING,
    SX_RT_NUMBER,
    SX_RT_TRUE,
    SX_RT_FALSE,
    SX_RT_NULL
};

/* One top-level member, as offsets into the scanned text. */
typedef struct sx_rtext_member {
    size_t key_off, key_len;   /* the key's bytes between its quotes, as written */
    size_t val_off, val_len;   /* the value's text (a string's with its quotes) */
    unsigned char key_escaped; /* the key holds a backslash escape */
    unsigned char val_kind;    /* SX_RT_* */
    unsigned char val_escaped; /* a string value holds a backslash escape */
} sx_rtext_member;

/* What a scan found; reuse one for many records (members grows as needed). */
typedef struct sx_rtext {
    sx_rtext_member *members;
    size_t n_members;
    size_t cap_members;
    size_t start, end;     /* the object's text, without surrounding whitespace */
    int compact;           /* no whitespace between the object's tokens */
    char error[160];       /* why the last scan failed, with the byte offset */
} sx_rtext;

/* Scans text[0..len). Returns 0 when it is exactly one JSON object jansson
 * would accept (whitespace around it allowed), -1 with rt->error otherwise,
 * -2 when memory ran out for the member table. */
int sx_rtext_scan(sx_rtext *rt, const char *text, size_t len);

/* Copies text[rt->start..rt->end) to out without the whitespace between
 * tokens (strings untouched); returns the length written, at most
 * rt->end - rt->start. Only for a text sx_rtext_scan accepted. */
size_t sx_rtext_compact(const sx_rtext *rt, const char *text, char *out);

/* Releases the member table. */
void sx_rtext_free(sx_rtext *rt);

/* json_object_getn for keys given by length (jansson 2.14 has it; 2.13 gets
 * a NUL-terminated copy). */
static inline json_t *sx_object_getn(const json_t *object, const char *key, size_t len)
{
#if JANSSON_VERSION_HEX >= 0x020e00
    return json_object_getn(object, key, len);
#else
    char *copy = strndup(key, len);
    json_t *v = copy ? json_object_get(object, copy) : NULL;
    free(copy);
    return v;
#endif
}

/* The length of the key at an object iterator. */
static inline size_t sx_iter_key_len(void *iter)
{
#if JANSSON_VERSION_HEX >= 0x020e00
    return json_object_iter_key_len(iter);
#else
    return strlen(json_object_iter_key(iter));
#endif
}

#endif
