#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dates.h"
#include "query.h"

static const struct {
    const char *text;
    int op;
} ops[] = {
    {"=", EMU_OP_EQ}, {"!=", EMU_OP_NE}, {">", EMU_OP_GT}, {"<", EMU_OP_LT},
    {">=", EMU_OP_GE}, {"<=", EMU_OP_LE}, {"*v*", EMU_OP_CONTAINS}, {"v*", EMU_OP_STARTS},
    {"*v", EMU_OP_ENDS}, {"!*v*", EMU_OP_NOT_CONTAINS}, {"!v*", EMU_OP_NOT_STARTS},
    {"!*v", EMU_OP_NOT_ENDS},
};

static int known_field(const emu_view *v, const char *name)
{
    if (strcmp(name, "custom_fields") == 0)
        return 0; /* an object: search or order its members by code_name instead */
    for (const char *const *f = emu_streams[v->sid].fields; *f; f++)
        if (strcmp(*f, name) == 0)
            return 1;
    for (size_t i = 0; i < v->ncf; i++)
        if (strcmp(v->cf[i].code_name, name) == 0)
            return 1;
    return 0;
}

static char *value_text(json_t *val, size_t *len, int *is_null)
{
    char buf[64];
    *is_null = 0;
    if (json_is_string(val)) {
        *len = json_string_length(val);
        char *s = malloc(*len + 1);
        if (s) {
            memcpy(s, json_string_value(val), *len);
            s[*len] = '\0';
        }
        return s;
    }
    if (json_is_integer(val))
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(val));
    else if (json_is_real(val))
        snprintf(buf, sizeof buf, "%.17g", json_real_value(val));
    else if (json_is_boolean(val))
        snprintf(buf, sizeof buf, "%s", json_is_true(val) ? "true" : "false");
    else if (json_is_null(val)) {
        *is_null = 1;
        buf[0] = '\0';
    } else
        return NULL;
    *len = strlen(buf);
    return strdup(buf);
}

int emu_query_parse(json_t *body, const emu_view *v, emu_query *q, char *err, size_t errlen)
{
    memset(q, 0, sizeof *q);
    q->limit = UINT64_MAX;
    const char *sname = emu_streams[v->sid].name;
    json_t *search = json_object_get(body, "search");
    if (search && !json_is_null(search)) {
        if (!json_is_array(search)) {
            snprintf(err, errlen, "search must be an array of {field, operator, value}");
            return -1;
        }
        q->f = calloc(json_array_size(search) + 1, sizeof *q->f);
        if (q->f == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        size_t i;
        json_t *c;
        json_array_foreach(search, i, c) {
            json_t *jf = json_object_get(c, "field"), *jo = json_object_get(c, "operator");
            json_t *jv = json_object_get(c, "value");
            if (!json_is_object(c) || !json_is_string(jf)) {
                snprintf(err, errlen, "search[%zu].field must be a string", i);
                return -1;
            }
            if (!known_field(v, json_string_value(jf))) {
                snprintf(err, errlen, "search[%zu].field '%s' is not a searchable field of %s",
                         i, json_string_value(jf), sname);
                return -1;
            }
            if (!json_is_string(jo)) {
                snprintf(err, errlen, "search[%zu].operator must be a string", i);
                return -1;
            }
            int op = -1;
            for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
                if (strcmp(ops[k].text, json_string_value(jo)) == 0)
                    op = ops[k].op;
            if (op < 0) {
                snprintf(err, errlen,
                         "search[%zu].operator '%s' is unknown (use =, !=, >, <, >=, <=, *v*, "
                         "v*, *v, !*v*, !v*, !*v)", i, json_string_value(jo));
                return -1;
            }
            if (jv == NULL) {
                snprintf(err, errlen, "search[%zu].value is missing", i);
                return -1;
            }
            emu_filter *f = &q->f[q->nf++];
            f->field = strdup(json_string_value(jf));
            f->op = op;
            f->value = value_text(jv, &f->vlen, &f->vnull);
            if (f->value == NULL) {
                snprintf(err, errlen, "search[%zu].value must be a string, number or boolean", i);
                return -1;
            }
            if (f->vnull && op != EMU_OP_EQ && op != EMU_OP_NE) {
                snprintf(err, errlen, "search[%zu].value null only goes with = and !=", i);
                return -1;
            }
        }
    }
    json_t *order = json_object_get(body, "order");
    if (order && !json_is_null(order)) {
        if (!json_is_array(order)) {
            snprintf(err, errlen, "order must be an array of {field, type}");
            return -1;
        }
        q->o = calloc(json_array_size(order) + 1, sizeof *q->o);
        if (q->o == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        size_t i;
        json_t *c;
        json_array_foreach(order, i, c) {
            json_t *jf = json_object_get(c, "field"), *jt = json_object_get(c, "type");
            if (!json_is_object(c) || !json_is_string(jf)) {
                snprintf(err, errlen, "order[%zu].field must be a string", i);
                return -1;
            }
            if (!known_field(v, json_string_value(jf))) {
                snprintf(err, errlen, "order[%zu].field '%s' is not a field of %s", i,
                         json_string_value(jf), sname);
                return -1;
            }
            int desc = 0;
            if (jt && !json_is_null(jt)) {
                const char *t = json_string_value(jt);
                if (t && strcasecmp(t, "DESC") == 0)
                    desc = 1;
                else if (t == NULL || strcasecmp(t, "ASC") != 0) {
                    snprintf(err, errlen, "order[%zu].type must be ASC or DESC", i);
                    return -1;
                }
            }
            emu_order *o = &q->o[q->no++];
            o->field = strdup(json_string_value(jf));
            o->desc = desc;
        }
    }
    return 0;
}

void emu_query_free(emu_query *q)
{
    for (size_t i = 0; i < q->nf; i++) {
        free(q->f[i].field);
        free(q->f[i].value);
    }
    for (size_t i = 0; i < q->no; i++)
        free(q->o[i].field);
    free(q->f);
    free(q->o);
    memset(q, 0, sizeof *q);
}

/* ---- comparison ---- */

static int is_number(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        i++;
    size_t digits = 0;
    while (i < n && isdigit((unsigned char)s[i]))
        i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && isdigit((unsigned char)s[i]))
            i++, digits++;
    }
    return digits > 0 && i == n && n < 64;
}

int emu_value_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    if (is_number(a, al) && is_number(b, bl)) {
        char ta[64], tb[64];
        memcpy(ta, a, al);
        ta[al] = '\0';
        memcpy(tb, b, bl);
        tb[bl] = '\0';
        long double x = strtold(ta, NULL), y = strtold(tb, NULL);
        return x < y ? -1 : x > y;
    }
    size_t n = al < bl ? al : bl;
    int c = memcmp(a, b, n);
    if (c)
        return c < 0 ? -1 : 1;
    return al < bl ? -1 : al > bl;
}

static int val_null(const emu_val *v)
{
    return v == NULL || v->kind == EMU_V_NULL || v->kind == EMU_V_OBJ || v->s == NULL;
}

static int filter_ok(const emu_filter *f, const emu_val *v)
{
    if (f->vnull) {
        int isnull = val_null(v);
        return f->op == EMU_OP_EQ ? isnull : !isnull;
    }
    if (val_null(v))
        return f->op == EMU_OP_NE || f->op >= EMU_OP_NOT_CONTAINS;
    const char *s = v->s;
    size_t n = v->len;
    switch (f->op) {
    case EMU_OP_EQ: return emu_value_cmp(s, n, f->value, f->vlen) == 0;
    case EMU_OP_NE: return emu_value_cmp(s, n, f->value, f->vlen) != 0;
    case EMU_OP_GT: return emu_value_cmp(s, n, f->value, f->vlen) > 0;
    case EMU_OP_LT: return emu_value_cmp(s, n, f->value, f->vlen) < 0;
    case EMU_OP_GE: return emu_value_cmp(s, n, f->value, f->vlen) >= 0;
    case EMU_OP_LE: return emu_value_cmp(s, n, f->value, f->vlen) <= 0;
    case EMU_OP_CONTAINS:
    case EMU_OP_NOT_CONTAINS: {
        int in = f->vlen == 0 || memmem(s, n, f->value, f->vlen) != NULL;
        return f->op == EMU_OP_CONTAINS ? in : !in;
    }
    case EMU_OP_STARTS:
    case EMU_OP_NOT_STARTS: {
        int in = n >= f->vlen && memcmp(s, f->value, f->vlen) == 0;
        return f->op == EMU_OP_STARTS ? in : !in;
    }
    case EMU_OP_ENDS:
    case EMU_OP_NOT_ENDS: {
        int in = n >= f->vlen && memcmp(s + n - f->vlen, f->value, f->vlen) == 0;
        return f->op == EMU_OP_ENDS ? in : !in;
    }
    }
    return 0;
}

static int rec_ok(const emu_rec *r, emu_filter *const *fs, size_t nf)
{
    for (size_t i = 0; i < nf; i++)
        if (!filter_ok(fs[i], emu_rec_get(r, fs[i]->field)))
            return 0;
    return 1;
}

/* ---- the replication-key range ---- */

/* First j in [0, n) whose key text compares >= value (or > value when
 * strict). The key is the replication-key time (by_code 0) or the code
 * (by_code 1); both are non-decreasing in j. */
static uint64_t key_bound(const emu_store *s, const emu_view *v, const emu_filter *f, int strict,
                          int by_code)
{
    uint64_t lo = 0, hi = v->n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        char d[24];
        size_t dl = 19;
        if (by_code)
            dl = (size_t)snprintf(d, sizeof d, "%" PRIu64, emu_view_code(v, mid));
        else
            emu_date_format(emu_rk_time(s, v, mid), d);
        int c = emu_value_cmp(d, dl, f->value, f->vlen);
        if (c < 0 || (strict && c == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- the sorted path ---- */

typedef struct sortrow {
    uint64_t j;
    size_t key;       /* offset of this row's keys in the key arena */
} sortrow;

typedef struct sortkey {
    size_t off;       /* text offset in the arena, or SIZE_MAX for null */
    size_t len;
} sortkey;

typedef struct sorter {
    const emu_query *q;
    char *text;
    size_t tlen, tcap;
    sortkey *keys;
    size_t nkeys, capkeys;
} sorter;

static int row_cmp(const void *pa, const void *pb, void *ctx)
{
    const sorter *st = ctx;
    const sortrow *a = pa, *b = pb;
    for (size_t i = 0; i < st->q->no; i++) {
        const sortkey *ka = &st->keys[a->key + i], *kb = &st->keys[b->key + i];
        int an = ka->off == SIZE_MAX, bn = kb->off == SIZE_MAX, c;
        if (an || bn)
            c = an == bn ? 0 : an ? -1 : 1; /* nulls first when ascending */
        else
            c = emu_value_cmp(st->text + ka->off, ka->len, st->text + kb->off, kb->len);
        if (c)
            return st->q->o[i].desc ? -c : c;
    }
    return a->j < b->j ? -1 : a->j > b->j;
}

static int sorter_add(sorter *st, const emu_val *v)
{
    if (st->nkeys == st->capkeys) {
        size_t nc = st->capkeys ? st->capkeys * 2 : 1024;
        sortkey *nk = realloc(st->keys, nc * sizeof *nk);
        if (nk == NULL)
            return -1;
        st->keys = nk;
        st->capkeys = nc;
    }
    sortkey *k = &st->keys[st->nkeys++];
    if (val_null(v)) {
        k->off = SIZE_MAX;
        k->len = 0;
        return 0;
    }
    if (st->tlen + v->len > st->tcap) {
        size_t nc = st->tcap ? st->tcap * 2 : 65536;
        while (nc < st->tlen + v->len)
            nc *= 2;
        char *nt = realloc(st->text, nc);
        if (nt == NULL)
            return -1;
        st->text = nt;
        st->tcap = nc;
    }
    memcpy(st->text + st->tlen, v->s, v->len);
    k->off = st->tlen;
    k->len = v->len;
    st->tlen += v->len;
    return 0;
}

static int run_sorted(const emu_store *s, const emu_view *v, const emu_query *q, emu_rec *r,
                      emu_filter *const *fs, size_t nf, uint64_t lo, uint64_t hi, emu_row_fn fn,
                      void *ctx, int *next)
{
    sorter st = {.q = q};
    sortrow *rows = NULL;
    size_t nrows = 0, caprows = 0;
    int rc = 0;
    for (uint64_t j = lo; j < hi; j++) {
        if (emu_part_deleted(v->part, j))
            continue;
        emu_gen(s, v, j, r);
        if (!rec_ok(r, fs, nf))
            continue;
        if (nrows == caprows) {
            size_t nc = caprows ? caprows * 2 : 1024;
            sortrow *nr = realloc(rows, nc * sizeof *nr);
            if (nr == NULL) {
                rc = -1;
                goto out;
            }
            rows = nr;
            caprows = nc;
        }
        rows[nrows].j = j;
        rows[nrows].key = st.nkeys;
        nrows++;
        for (size_t i = 0; i < q->no; i++)
            if (sorter_add(&st, emu_rec_get(r, q->o[i].field)) != 0) {
                rc = -1;
                goto out;
            }
    }
    if (nrows > 1)
        qsort_r(rows, nrows, sizeof *rows, row_cmp, &st);
    *next = 0;
    for (uint64_t i = q->offset; i < nrows; i++) {
        if (i - q->offset >= q->limit) {
            *next = 1;
            break;
        }
        emu_gen(s, v, rows[i].j, r);
        if (fn(ctx, r, rows[i].j))
            break;
    }
out:
    free(rows);
    free(st.text);
    free(st.keys);
    return rc;
}

/* ---- the natural path ---- */

/* The k-th (0-based) live index at or after lo. */
static uint64_t nth_live(const emu_part *p, uint64_t lo, uint64_t k)
{
    uint64_t base = emu_part_deleted_below(p, lo), j = lo + k;
    for (;;) {
        uint64_t nj = lo + k + (emu_part_deleted_below(p, j + 1) - base);
        if (nj == j)
            return j;
        j = nj;
    }
}

int emu_query_run(const emu_store *s, const emu_view *v, const emu_query *q, emu_rec *r,
                  emu_row_fn fn, void *ctx, int *next)
{
    const emu_stream_def *d = &emu_streams[v->sid];
    int rk_ok = d->rk && !(v->part && v->part->rk_dirty);
    int code_ok = d->npk == 1 && strcmp(d->pk[0], "code") == 0;
    uint64_t lo = 0, hi = v->n;

    /* Conditions on an ordered replication key become an index range. */
    emu_filter **rest = calloc(q->nf + 1, sizeof *rest);
    if (rest == NULL)
        return -1;
    size_t nrest = 0;
    for (size_t i = 0; i < q->nf; i++) {
        emu_filter *f = &q->f[i];
        int on_rk = rk_ok && strcmp(f->field, d->rk) == 0;
        /* Codes ascend as numbers, so only a numeric value bounds them. */
        int on_code = code_ok && strcmp(f->field, "code") == 0 && is_number(f->value, f->vlen);
        if ((on_rk || on_code) && !f->vnull && f->op <= EMU_OP_LE && f->op != EMU_OP_NE) {
            int bc = !on_rk;
            uint64_t b;
            switch (f->op) {
            case EMU_OP_EQ:
                b = key_bound(s, v, f, 0, bc);
                lo = b > lo ? b : lo;
                b = key_bound(s, v, f, 1, bc);
                hi = b < hi ? b : hi;
                break;
            case EMU_OP_GE: b = key_bound(s, v, f, 0, bc); lo = b > lo ? b : lo; break;
            case EMU_OP_GT: b = key_bound(s, v, f, 1, bc); lo = b > lo ? b : lo; break;
            case EMU_OP_LT: b = key_bound(s, v, f, 0, bc); hi = b < hi ? b : hi; break;
            case EMU_OP_LE: b = key_bound(s, v, f, 1, bc); hi = b < hi ? b : hi; break;
            }
            continue;
        }
        rest[nrest++] = f;
    }
    if (hi < lo)
        hi = lo;

    /* Is the requested order the natural one (or its reverse)? */
    int natural = 1, reverse = 0;
    for (size_t i = 0; i < q->no; i++) {
        int nat = (rk_ok && strcmp(q->o[i].field, d->rk) == 0) ||
                  (code_ok && strcmp(q->o[i].field, "code") == 0);
        if (!nat || (i > 0 && q->o[i].desc != reverse)) {
            natural = 0;
            break;
        }
        reverse = q->o[i].desc;
    }

    int rc = 0;
    *next = 0;
    if (!natural) {
        rc = run_sorted(s, v, q, r, rest, nrest, lo, hi, fn, ctx, next);
    } else if (nrest == 0) {
        /* Every row of the range matches: jump straight to the page. */
        uint64_t live = (hi - lo) - (emu_part_deleted_below(v->part, hi) -
                                     emu_part_deleted_below(v->part, lo));
        if (q->offset < live) {
            uint64_t want = live - q->offset;
            uint64_t take = want < q->limit ? want : q->limit;
            *next = want > take;
            uint64_t k = reverse ? live - 1 - q->offset : q->offset;
            uint64_t j = nth_live(v->part, lo, k);
            for (uint64_t got = 0; got < take;) {
                if (!emu_part_deleted(v->part, j)) {
                    emu_gen(s, v, j, r);
                    if (fn(ctx, r, j))
                        break;
                    got++;
                }
                if (reverse) {
                    if (j == lo)
                        break;
                    j--;
                } else {
                    j++;
                }
            }
        }
    } else {
        uint64_t matched = 0;
        for (uint64_t i = 0; i < hi - lo; i++) {
            uint64_t j = reverse ? hi - 1 - i : lo + i;
            if (emu_part_deleted(v->part, j))
                continue;
            emu_gen(s, v, j, r);
            if (!rec_ok(r, rest, nrest))
                continue;
            if (matched++ < q->offset)
                continue;
            if (matched - q->offset > q->limit) {
                *next = 1;
                break;
            }
            if (fn(ctx, r, j))
                break;
        }
    }
    free(rest);
    return rc;
}
