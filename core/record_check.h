/*
 * record_check.h: what the host makes sure of before a plugin's record goes
 * any further, and how it says where a record went wrong.
 *
 * A record tree a plugin builds with jansson's unchecked constructors can
 * hold strings that are not UTF-8, and a tree can be nested deeper than any
 * JSON reader (jansson included) will parse back. Every sink would then fail
 * in its own way, or store what no reader can use; the host refuses such a
 * record once, naming the member, and only its stream fails.
 */
#ifndef SX_RECORD_CHECK_H
#define SX_RECORD_CHECK_H

#include <stddef.h>

#include <jansson.h>

/* The deepest nesting a record may have: jansson's own parse limit, so
 * whatever siphon writes can be read back. */
#define SX_RECORD_MAX_DEPTH 2048

/*
 * Checks that every string and member name in v is valid UTF-8 and that v is
 * nested at most SX_RECORD_MAX_DEPTH levels. Returns 0, or -1 with why set
 * to what is wrong and where ("member 'doc.items[3]': not valid UTF-8").
 */
int sx_record_check(const json_t *v, char *why, size_t cap);

#endif
