/*
 * query.h: one search over a partition: the `search` conditions (ANDed), the
 * `order`, and the slice of rows a page wants.
 *
 * Reads in the natural order of a partition (ascending code and replication
 * key, which generated and inserted records both follow) never sort: an
 * incremental read (`RK >= bookmark`, `order RK ASC`) finds its first row by
 * binary search and jumps straight to the page, so it stays fast at ten
 * million contacts. Any other order sorts the matching rows.
 */
#ifndef EMU_QUERY_H
#define EMU_QUERY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "store.h"

enum emu_op {
    EMU_OP_EQ, EMU_OP_NE, EMU_OP_GT, EMU_OP_LT, EMU_OP_GE, EMU_OP_LE,
    EMU_OP_CONTAINS, EMU_OP_STARTS, EMU_OP_ENDS,
    EMU_OP_NOT_CONTAINS, EMU_OP_NOT_STARTS, EMU_OP_NOT_ENDS
};

typedef struct emu_filter {
    char *field;
    int op;
    char *value;      /* the value as text (numbers in decimal) */
    size_t vlen;
    int vnull;        /* the value was JSON null */
} emu_filter;

typedef struct emu_order {
    char *field;
    int desc;
} emu_order;

typedef struct emu_query {
    emu_filter *f;
    size_t nf;
    emu_order *o;
    size_t no;
    uint64_t offset;  /* rows to skip */
    uint64_t limit;   /* rows to deliver; UINT64_MAX for all */
} emu_query;

/*
 * Reads `search` and `order` of a request body, checking every field name
 * against the stream (and, for contacts, the list's custom fields). On error
 * writes a message naming the bad element (e.g. "search[1].operator") and
 * returns -1. Free with emu_query_free.
 */
int emu_query_parse(json_t *body, const emu_view *v, emu_query *q, char *err, size_t errlen);
/* Frees the conditions and orders of q. */
void emu_query_free(emu_query *q);

/* Called for each delivered row, in order; r holds the generated record. A
 * non-zero return stops the run. */
typedef int (*emu_row_fn)(void *ctx, const emu_rec *r, uint64_t j);

/*
 * Runs q over v (caller holds the store's read lock): calls fn for rows
 * offset .. offset+limit-1 of the result, and sets *next to whether the
 * result has at least one row after them. r must be sized for v (ncf).
 * Returns 0, or -1 when out of memory.
 */
int emu_query_run(const emu_store *s, const emu_view *v, const emu_query *q, emu_rec *r,
                  emu_row_fn fn, void *ctx, int *next);

/* Compares two values the way searches and orders do: numerically when both
 * are decimal numbers, else bytewise. */
int emu_value_cmp(const char *a, size_t al, const char *b, size_t bl);

#endif
