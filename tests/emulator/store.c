#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dates.h"
#include "store.h"

#define LOV_SPAN 10000000ULL /* LOV codes are field_code * LOV_SPAN + index + 1 */

int emu_store_init(emu_store *s, const emu_options *o)
{
    memset(s, 0, sizeof *s);
    s->o = o;
    if (pthread_rwlock_init(&s->lock, NULL) != 0)
        return -1;
    for (int i = 0; i < EMU_NSTREAMS; i++) {
        s->clock[i] = emu_base_end_time();
        s->next_code[i] = emu_base_next_code(o, i);
    }
    return 0;
}

static void part_free(emu_part *p)
{
    for (size_t i = 0; i < p->nupd; i++) {
        for (size_t k = 0; k < p->upd[i].nov; k++) {
            free(p->upd[i].ov[k].name);
            free(p->upd[i].ov[k].text);
        }
        free(p->upd[i].ov);
    }
    free(p->upd);
    free(p->ins);
    free(p->del);
    free(p);
}

void emu_store_free(emu_store *s)
{
    for (size_t i = 0; i < s->nparts; i++)
        part_free(s->parts[i]);
    free(s->parts);
    pthread_rwlock_destroy(&s->lock);
    memset(s, 0, sizeof *s);
}

const emu_part *emu_store_part(const emu_store *s, int sid, uint64_t list, uint64_t field)
{
    for (size_t i = 0; i < s->nparts; i++) {
        const emu_part *p = s->parts[i];
        if (p->sid == sid && p->list == list && p->field == field)
            return p;
    }
    return NULL;
}

static emu_part *part_get(emu_store *s, int sid, uint64_t list, uint64_t field)
{
    emu_part *p = (emu_part *)emu_store_part(s, sid, list, field);
    if (p)
        return p;
    if (s->nparts == s->capparts) {
        size_t nc = s->capparts ? s->capparts * 2 : 16;
        emu_part **np = realloc(s->parts, nc * sizeof *np);
        if (np == NULL)
            return NULL;
        s->parts = np;
        s->capparts = nc;
    }
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->sid = sid;
    p->list = list;
    p->field = field;
    s->parts[s->nparts++] = p;
    return p;
}

const emu_ins *emu_part_inserted(const emu_part *p, uint64_t i)
{
    return p && i < p->nins ? &p->ins[i] : NULL;
}

/* First position in the sorted array whose value is >= j. */
static size_t lower(const uint64_t *a, size_t n, uint64_t j)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < j)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int emu_part_deleted(const emu_part *p, uint64_t j)
{
    if (p == NULL || p->ndel == 0)
        return 0;
    size_t i = lower(p->del, p->ndel, j);
    return i < p->ndel && p->del[i] == j;
}

uint64_t emu_part_deleted_below(const emu_part *p, uint64_t j)
{
    return p ? lower(p->del, p->ndel, j) : 0;
}

const emu_upd *emu_part_update(const emu_part *p, uint64_t j)
{
    if (p == NULL || p->nupd == 0)
        return NULL;
    size_t lo = 0, hi = p->nupd;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->upd[mid].j < j)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < p->nupd && p->upd[lo].j == j ? &p->upd[lo] : NULL;
}

/* ---- views ---- */

uint64_t emu_view_code(const emu_view *v, uint64_t j)
{
    if (j < v->n0)
        return v->code_base + j + 1;
    const emu_ins *in = emu_part_inserted(v->part, j - v->n0);
    return in ? in->code : 0;
}

/* The index of the live record with this code, or UINT64_MAX. */
static uint64_t find_code(const emu_view *v, uint64_t code)
{
    uint64_t j = UINT64_MAX;
    if (code > v->code_base && code - v->code_base - 1 < v->n0) {
        j = code - v->code_base - 1;
    } else if (v->part) {
        for (size_t i = 0; i < v->part->nins; i++)
            if (v->part->ins[i].code == code) {
                j = v->n0 + i;
                break;
            }
    }
    if (j != UINT64_MAX && emu_part_deleted(v->part, j))
        return UINT64_MAX;
    return j;
}

static uint64_t global_count(const emu_options *o, int sid)
{
    switch (sid) {
    case EMU_CONTACT_LISTS: return o->lists;
    case EMU_ACTIONS: return o->actions;
    case EMU_CAMPAIGNS: return o->campaigns;
    case EMU_MESSAGES: return o->messages;
    case EMU_TRANSACTIONS: return o->transactions;
    case EMU_USERS: return o->users;
    case EMU_TEAMS: return o->teams;
    default: return 0;
    }
}

static void finish_view(const emu_store *s, emu_view *v)
{
    v->part = emu_store_part(s, v->sid, v->list, v->field);
    v->n = v->n0 + (v->part ? v->part->nins : 0);
}

/* The lists view, to check list codes. */
static void lists_view(const emu_store *s, emu_view *lv)
{
    memset(lv, 0, sizeof *lv);
    lv->sid = EMU_CONTACT_LISTS;
    lv->list_k = UINT64_MAX;
    lv->n0 = s->o->lists;
    finish_view(s, lv);
}

static int view_open(const emu_store *s, int sid, uint64_t list, uint64_t field, emu_view *v,
                     int with_cf, char *err, size_t errlen);

/* Builds the contact list's custom-field descriptors from its fields. */
static int load_custom_fields(const emu_store *s, emu_view *v)
{
    emu_view fv;
    if (view_open(s, EMU_FIELDS, v->list, 0, &fv, 0, NULL, 0) != 0)
        return -1;
    v->cf = calloc(fv.n ? fv.n : 1, sizeof *v->cf);
    emu_rec r;
    if (v->cf == NULL || emu_rec_init(&r, 0) != 0)
        return -1;
    for (uint64_t j = 0; j < fv.n; j++) {
        if (emu_part_deleted(fv.part, j))
            continue;
        emu_gen(s, &fv, j, &r);
        const emu_val *cn = emu_rec_get(&r, "code_name");
        const emu_val *ty = emu_rec_get(&r, "type");
        if (cn == NULL || cn->kind != EMU_V_STR)
            continue;
        emu_cfield *f = &v->cf[v->ncf++];
        snprintf(f->code_name, sizeof f->code_name, "%.*s", (int)cn->len, cn->s);
        snprintf(f->type, sizeof f->type, "%.*s", ty && ty->s ? (int)ty->len : 0,
                 ty && ty->s ? ty->s : "");
        f->type_index = -1;
        for (int t = 0; t < 9; t++)
            if (strcmp(f->type, emu_field_types[t]) == 0)
                f->type_index = t;
        f->code = emu_view_code(&fv, j);
        f->lov_n0 = fv.list_k != UINT64_MAX && j < fv.n0 && j % 9 == 1
                        ? emu_lov_count(s->o, j / 9) : 0;
    }
    emu_rec_free(&r);
    return 0;
}

static int view_open(const emu_store *s, int sid, uint64_t list, uint64_t field, emu_view *v,
                     int with_cf, char *err, size_t errlen)
{
    const emu_options *o = s->o;
    memset(v, 0, sizeof *v);
    v->sid = sid;
    v->list_k = UINT64_MAX;
    int parent = emu_streams[sid].parent;
    if (parent == EMU_PARENT_NONE) {
        v->n0 = global_count(o, sid);
        finish_view(s, v);
        return 0;
    }
    emu_view lv;
    lists_view(s, &lv);
    uint64_t lj = find_code(&lv, list);
    if (lj == UINT64_MAX) {
        if (err)
            snprintf(err, errlen, "contact-list_code '%" PRIu64 "' names no contact list", list);
        return -1;
    }
    v->list = list;
    v->list_k = lj < lv.n0 ? lj : UINT64_MAX;
    uint64_t k = v->list_k;
    int base = k != UINT64_MAX;
    switch (sid) {
    case EMU_CONTACTS:
        v->n0 = base ? emu_base_contacts_in(o, k) : 0;
        v->code_base = base ? emu_base_contacts_before(o, k) : 0;
        break;
    case EMU_FIELDS:
        v->n0 = base ? o->fields : 0;
        v->code_base = base ? k * o->fields : 0;
        break;
    case EMU_FIELD_GROUPS:
        v->n0 = base ? o->field_groups : 0;
        v->code_base = base ? k * o->field_groups : 0;
        break;
    case EMU_FILTERS:
        v->n0 = base ? o->filters : 0;
        v->code_base = base ? k * o->filters : 0;
        break;
    case EMU_OPTOUTS:
        v->n0 = base && k < emu_base_lists_with_contacts(o) ? o->optouts : 0;
        break;
    case EMU_LOV: {
        emu_view fv;
        view_open(s, EMU_FIELDS, list, 0, &fv, 0, NULL, 0);
        uint64_t fj = find_code(&fv, field);
        if (fj == UINT64_MAX) {
            if (err)
                snprintf(err, errlen,
                         "field_code '%" PRIu64 "' names no field of contact list '%" PRIu64 "'",
                         field, list);
            return -1;
        }
        emu_rec r;
        if (emu_rec_init(&r, 0) != 0)
            return -1;
        emu_gen(s, &fv, fj, &r);
        const emu_val *ty = emu_rec_get(&r, "type");
        int is_lv = ty && ty->kind == EMU_V_STR && ty->len == 2 && memcmp(ty->s, "LV", 2) == 0;
        if (!is_lv && err)
            snprintf(err, errlen, "field_code '%" PRIu64 "' is a field of type '%.*s', not LV",
                     field, ty && ty->s ? (int)ty->len : 4, ty && ty->s ? ty->s : "null");
        emu_rec_free(&r);
        if (!is_lv)
            return -1;
        v->field = field;
        v->lov_ord = fj / 9;
        v->n0 = base && fj < fv.n0 && fj % 9 == 1 ? emu_lov_count(o, fj / 9) : 0;
        v->code_base = field * LOV_SPAN;
        break;
    }
    default:
        break;
    }
    finish_view(s, v);
    if (sid == EMU_CONTACTS && with_cf && load_custom_fields(s, v) != 0) {
        emu_view_close(v);
        if (err)
            snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int emu_view_open(const emu_store *s, int sid, uint64_t list, uint64_t field, emu_view *v,
                  char *err, size_t errlen)
{
    return view_open(s, sid, list, field, v, 1, err, errlen);
}

void emu_view_close(emu_view *v)
{
    free(v->cf);
    v->cf = NULL;
    v->ncf = 0;
}

uint64_t emu_store_live_count(const emu_store *s, int sid, uint64_t list, uint64_t field)
{
    emu_view v;
    if (view_open(s, sid, list, field, &v, 0, NULL, 0) != 0)
        return 0;
    return v.n - (v.part ? v.part->ndel : 0);
}

/* ---- partitions ---- */

typedef struct keys {
    emu_pkey *a;
    size_t n, cap;
} keys;

static void keys_push(keys *k, uint64_t list, uint64_t field)
{
    if (k->n == k->cap) {
        size_t nc = k->cap ? k->cap * 2 : 16;
        emu_pkey *na = realloc(k->a, nc * sizeof *na);
        if (na == NULL)
            return;
        k->a = na;
        k->cap = nc;
    }
    k->a[k->n].list = list;
    k->a[k->n].field = field;
    k->n++;
}

size_t emu_store_partitions(const emu_store *s, int sid, emu_pkey **out)
{
    keys k = {0};
    int parent = emu_streams[sid].parent;
    if (parent == EMU_PARENT_NONE) {
        keys_push(&k, 0, 0);
        *out = k.a;
        return k.n;
    }
    emu_view lv;
    lists_view(s, &lv);
    emu_rec r;
    int have_rec = parent == EMU_PARENT_LF && emu_rec_init(&r, 0) == 0;
    for (uint64_t lj = 0; lj < lv.n; lj++) {
        if (emu_part_deleted(lv.part, lj))
            continue;
        uint64_t list = emu_view_code(&lv, lj);
        if (parent == EMU_PARENT_L) {
            keys_push(&k, list, 0);
            continue;
        }
        if (!have_rec)
            break;
        emu_view fv;
        if (view_open(s, EMU_FIELDS, list, 0, &fv, 0, NULL, 0) != 0)
            continue;
        for (uint64_t fj = 0; fj < fv.n; fj++) {
            if (emu_part_deleted(fv.part, fj))
                continue;
            emu_gen(s, &fv, fj, &r);
            const emu_val *ty = emu_rec_get(&r, "type");
            if (ty && ty->kind == EMU_V_STR && ty->len == 2 && memcmp(ty->s, "LV", 2) == 0)
                keys_push(&k, list, emu_view_code(&fv, fj));
        }
    }
    if (have_rec)
        emu_rec_free(&r);
    *out = k.a;
    return k.n;
}

/* ---- keys ---- */

static json_t *val_json(const emu_val *v)
{
    if (v == NULL || v->kind == EMU_V_NULL)
        return json_null();
    if (v->kind == EMU_V_BOOL)
        return json_boolean(v->s[0] == 't');
    if (v->kind == EMU_V_RAW)
        return json_loadb(v->s, v->len, JSON_DECODE_ANY, NULL);
    return json_stringn(v->s, v->len);
}

json_t *emu_rec_pk(const emu_rec *r, int sid)
{
    json_t *o = json_object();
    const emu_stream_def *d = &emu_streams[sid];
    for (int i = 0; i < d->npk; i++)
        json_object_set_new(o, d->pk[i], val_json(emu_rec_get(r, d->pk[i])));
    return o;
}

/* A key value as text: strings as they are, integers in decimal. */
static int key_text(json_t *v, char *buf, size_t len)
{
    if (json_is_string(v))
        snprintf(buf, len, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else
        return -1;
    return 0;
}

static int rec_matches_key(const emu_rec *r, int sid, json_t *key)
{
    const emu_stream_def *d = &emu_streams[sid];
    for (int i = 0; i < d->npk; i++) {
        char want[512];
        if (key_text(json_object_get(key, d->pk[i]), want, sizeof want) != 0)
            return 0;
        const emu_val *v = emu_rec_get(r, d->pk[i]);
        if (v == NULL || v->kind == EMU_V_NULL || strlen(want) != v->len ||
            memcmp(want, v->s, v->len) != 0)
            return 0;
    }
    return 1;
}

int emu_store_locate(const emu_store *s, int sid, json_t *key, emu_pkey *where, uint64_t *j)
{
    if (!json_is_object(key))
        return -1;
    emu_pkey *parts = NULL;
    size_t np = emu_store_partitions(s, sid, &parts);
    int by_code = emu_streams[sid].npk == 1 && strcmp(emu_streams[sid].pk[0], "code") == 0;
    char codetxt[64];
    uint64_t code = 0;
    if (by_code) {
        char *end;
        if (key_text(json_object_get(key, "code"), codetxt, sizeof codetxt) != 0)
            goto miss;
        code = strtoull(codetxt, &end, 10);
        if (*end != '\0' || end == codetxt)
            goto miss;
    }
    emu_rec r;
    if (!by_code && emu_rec_init(&r, 0) != 0)
        goto miss;
    int found = 0;
    for (size_t i = 0; i < np && !found; i++) {
        if ((where->list && parts[i].list != where->list) ||
            (where->field && parts[i].field != where->field))
            continue;
        emu_view v;
        if (view_open(s, sid, parts[i].list, parts[i].field, &v, 0, NULL, 0) != 0)
            continue;
        if (by_code) {
            uint64_t jj = find_code(&v, code);
            if (jj != UINT64_MAX) {
                *where = parts[i];
                *j = jj;
                found = 1;
            }
            continue;
        }
        for (uint64_t jj = 0; jj < v.n; jj++) {
            if (emu_part_deleted(v.part, jj))
                continue;
            emu_gen(s, &v, jj, &r);
            if (rec_matches_key(&r, sid, key)) {
                *where = parts[i];
                *j = jj;
                found = 1;
                break;
            }
        }
    }
    if (!by_code)
        emu_rec_free(&r);
    free(parts);
    return found ? 0 : -1;
miss:
    free(parts);
    return -1;
}

/* ---- changes ---- */

int emu_store_insert(emu_store *s, int sid, emu_pkey where, uint64_t count, json_t *keys_out,
                     char *err, size_t errlen)
{
    emu_view v;
    if (emu_view_open(s, sid, where.list, where.field, &v, err, errlen) != 0)
        return -1;
    emu_part *p = part_get(s, sid, v.list, v.field);
    emu_rec r;
    if (p == NULL || emu_rec_init(&r, v.ncf) != 0) {
        emu_view_close(&v);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = 0;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t j = v.n0 + p->nins;
        uint64_t code;
        if (sid == EMU_LOV) {
            if (j + 1 >= LOV_SPAN) {
                snprintf(err, errlen, "field %" PRIu64 " already has the most values allowed",
                         v.field);
                rc = -1;
                break;
            }
            code = v.field * LOV_SPAN + j + 1;
        } else {
            code = s->next_code[sid]++;
        }
        if (p->nins == p->capins) {
            size_t nc = p->capins ? p->capins * 2 : 16;
            emu_ins *ni = realloc(p->ins, nc * sizeof *ni);
            if (ni == NULL) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
                break;
            }
            p->ins = ni;
            p->capins = nc;
        }
        p->ins[p->nins].code = code;
        p->ins[p->nins].date = ++s->clock[sid];
        p->nins++;
        v.part = p;
        v.n = v.n0 + p->nins;
        if (keys_out) {
            emu_gen(s, &v, j, &r);
            json_array_append_new(keys_out, emu_rec_pk(&r, sid));
        }
    }
    emu_rec_free(&r);
    emu_view_close(&v);
    return rc;
}

static int is_pk(int sid, const char *name)
{
    for (int i = 0; i < emu_streams[sid].npk; i++)
        if (strcmp(emu_streams[sid].pk[i], name) == 0)
            return 1;
    return 0;
}

static int make_override(emu_ovr *ov, const char *name, json_t *val, int custom)
{
    memset(ov, 0, sizeof *ov);
    ov->name = strdup(name);
    ov->custom = (uint8_t)custom;
    if (json_is_null(val)) {
        ov->kind = EMU_V_NULL;
    } else if (json_is_string(val)) {
        ov->kind = EMU_V_STR;
        ov->len = (uint32_t)json_string_length(val);
        ov->text = malloc(ov->len + 1);
        if (ov->text) {
            memcpy(ov->text, json_string_value(val), ov->len);
            ov->text[ov->len] = '\0';
        }
    } else if (json_is_boolean(val)) {
        ov->kind = EMU_V_BOOL;
        ov->text = strdup(json_is_true(val) ? "true" : "false");
        ov->len = (uint32_t)strlen(ov->text ? ov->text : "");
    } else {
        ov->kind = EMU_V_RAW;
        ov->text = json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);
        ov->len = ov->text ? (uint32_t)strlen(ov->text) : 0;
    }
    return ov->name && (ov->kind == EMU_V_NULL || ov->text) ? 0 : -1;
}

static emu_upd *upd_get(emu_part *p, uint64_t j)
{
    size_t lo = 0;
    while (lo < p->nupd && p->upd[lo].j < j)
        lo++;
    if (lo < p->nupd && p->upd[lo].j == j)
        return &p->upd[lo];
    if (p->nupd == p->capupd) {
        size_t nc = p->capupd ? p->capupd * 2 : 8;
        emu_upd *nu = realloc(p->upd, nc * sizeof *nu);
        if (nu == NULL)
            return NULL;
        p->upd = nu;
        p->capupd = nc;
    }
    memmove(&p->upd[lo + 1], &p->upd[lo], (p->nupd - lo) * sizeof *p->upd);
    p->nupd++;
    memset(&p->upd[lo], 0, sizeof p->upd[lo]);
    p->upd[lo].j = j;
    return &p->upd[lo];
}

static int upd_set(emu_upd *u, const char *name, json_t *val, int custom)
{
    emu_ovr ov;
    if (make_override(&ov, name, val, custom) != 0) {
        free(ov.name);
        free(ov.text);
        return -1;
    }
    for (size_t i = 0; i < u->nov; i++)
        if (u->ov[i].custom == custom && strcmp(u->ov[i].name, name) == 0) {
            free(u->ov[i].name);
            free(u->ov[i].text);
            u->ov[i] = ov;
            return 0;
        }
    /* A record has room for a bounded number of fields; refuse rather than
     * drop a value silently. */
    if (u->nov >= 32) {
        free(ov.name);
        free(ov.text);
        return -1;
    }
    emu_ovr *no = realloc(u->ov, (u->nov + 1) * sizeof *no);
    if (no == NULL) {
        free(ov.name);
        free(ov.text);
        return -1;
    }
    u->ov = no;
    u->ov[u->nov++] = ov;
    return 0;
}

int emu_store_update(emu_store *s, int sid, emu_pkey where, uint64_t j, json_t *set, char *err,
                     size_t errlen)
{
    if (!json_is_object(set) || json_object_size(set) == 0) {
        snprintf(err, errlen, "\"set\" must be an object with at least one field");
        return -1;
    }
    const char *name;
    json_t *val;
    json_object_foreach(set, name, val) {
        if (is_pk(sid, name)) {
            snprintf(err, errlen, "\"%s\" is part of the primary key of %s and cannot be set",
                     name, emu_streams[sid].name);
            return -1;
        }
        if (sid == EMU_CONTACTS && strcmp(name, "custom_fields") == 0 && !json_is_object(val)) {
            snprintf(err, errlen, "custom_fields must be an object (its members are merged)");
            return -1;
        }
    }
    emu_part *p = part_get(s, sid, where.list, where.field);
    emu_upd *u = p ? upd_get(p, j) : NULL;
    if (u == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *rk = emu_streams[sid].rk;
    json_object_foreach(set, name, val) {
        int rc = 0;
        if (sid == EMU_CONTACTS && strcmp(name, "custom_fields") == 0) {
            const char *cn;
            json_t *cv;
            json_object_foreach(val, cn, cv) {
                if (upd_set(u, cn, cv, 1) != 0)
                    rc = -1;
            }
        } else {
            rc = upd_set(u, name, val, 0);
        }
        if (rc != 0) {
            snprintf(err, errlen, "cannot set \"%s\": too many changed fields on one record",
                     name);
            return -1;
        }
        if (rk && strcmp(name, rk) == 0) {
            /* Binary search over replication-key times is off for this
             * partition from now on, and later inserts stay later. */
            p->rk_dirty = 1;
            int64_t t;
            if (json_is_string(val) && emu_date_parse(json_string_value(val), &t) == 0 &&
                t > s->clock[sid])
                s->clock[sid] = t;
        }
    }
    return 0;
}

int emu_store_delete(emu_store *s, int sid, emu_pkey where, uint64_t j)
{
    emu_part *p = part_get(s, sid, where.list, where.field);
    if (p == NULL)
        return -1;
    size_t i = lower(p->del, p->ndel, j);
    if (i < p->ndel && p->del[i] == j)
        return 0;
    if (p->ndel == p->capdel) {
        size_t nc = p->capdel ? p->capdel * 2 : 16;
        uint64_t *nd = realloc(p->del, nc * sizeof *nd);
        if (nd == NULL)
            return -1;
        p->del = nd;
        p->capdel = nc;
    }
    memmove(&p->del[i + 1], &p->del[i], (p->ndel - i) * sizeof *p->del);
    p->del[i] = j;
    p->ndel++;
    return 0;
}
