/*
 * data.h: the thirteen streams, the record a generator fills, and the view of
 * one partition (a stream under one parent) that queries run over.
 *
 * Nothing is stored per record: record j of a partition is computed from the
 * seed and j every time it is needed. Only changes made through the control
 * interface (inserts, updates, deletes) are held, in the partition's overlay
 * (store.h).
 */
#ifndef EMU_DATA_H
#define EMU_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "options.h"

enum emu_sid {
    EMU_CONTACT_LISTS,
    EMU_CONTACTS,
    EMU_ACTIONS,
    EMU_CAMPAIGNS,
    EMU_MESSAGES,
    EMU_TRANSACTIONS,
    EMU_FIELDS,
    EMU_FIELD_GROUPS,
    EMU_FILTERS,
    EMU_LOV,
    EMU_OPTOUTS,
    EMU_USERS,
    EMU_TEAMS,
    EMU_NSTREAMS
};

enum emu_parent {
    EMU_PARENT_NONE, /* one partition */
    EMU_PARENT_L,    /* one partition per contact list */
    EMU_PARENT_LF    /* one per (contact list, field of type LV) */
};

typedef struct emu_stream_def {
    const char *name;              /* Singer stream name, e.g. "contacts" */
    const char *path;              /* the search endpoint */
    const char *items_key;         /* "items", or "list" for field-lov */
    int parent;                    /* enum emu_parent */
    const char *pk[2];
    int npk;
    const char *rk;                /* replication key, or NULL */
    const char *const *fields;     /* every field an item may carry, NULL-terminated */
} emu_stream_def;

extern const emu_stream_def emu_streams[EMU_NSTREAMS];

/* The stream with this name or search path, or -1. */
int emu_stream_by_name(const char *name);
int emu_stream_by_path(const char *path);

/* Field types of the contact custom fields, in the order fields cycle through. */
extern const char *const emu_field_types[9];

enum emu_kind {
    EMU_V_NULL,
    EMU_V_STR,   /* UTF-8 text, escaped on output */
    EMU_V_BOOL,  /* s is "true" or "false" */
    EMU_V_RAW,   /* JSON text written as is (numbers, arrays, objects set by an update) */
    EMU_V_OBJ    /* the custom_fields object: its members are rec->cf */
};

typedef struct emu_val {
    const char *name;
    const char *s;
    uint32_t len;
    uint8_t kind;
    uint8_t plain_name;  /* name needs no JSON escaping (the generator's own names) */
    uint16_t name_len;   /* when plain_name */
} emu_val;

#define EMU_REC_FIELDS 64

/* One generated record. Strings live in the arena or in static tables, or in
 * the overlay of an update (valid while the store's read lock is held). */
typedef struct emu_rec {
    emu_val f[EMU_REC_FIELDS];
    size_t nf;
    emu_val *cf;          /* custom_fields members */
    size_t ncf, capcf;
    char *arena;
    size_t used, cap;
} emu_rec;

/* Allocates a record able to hold ncustom custom fields; 0 on success. */
int emu_rec_init(emu_rec *r, size_t ncustom);
/* Frees what emu_rec_init allocated. */
void emu_rec_free(emu_rec *r);

/* The value of a top-level field, or of a custom field when the top level has
 * no field of that name; NULL when the record has neither. */
const emu_val *emu_rec_get(const emu_rec *r, const char *name);

/* One custom field of a contact list, as the contacts generator needs it. */
typedef struct emu_cfield {
    char code_name[64];
    char type[8];
    int type_index;       /* index in emu_field_types, -1 for an unknown type */
    uint64_t code;
    uint64_t lov_n0;      /* generated LOV values of this field (0 if not an LV field) */
} emu_cfield;

struct emu_part;
struct emu_store;

/* One partition, resolved for a request (under the store's read lock). */
typedef struct emu_view {
    int sid;
    uint64_t list, field;      /* parent codes, 0 when none */
    uint64_t list_k;           /* index of a generated list, UINT64_MAX for an inserted one */
    uint64_t n0;               /* generated records */
    uint64_t n;                /* generated + inserted (deleted ones included) */
    uint64_t code_base;        /* code of generated record j is code_base + j + 1 */
    const struct emu_part *part; /* the overlay, or NULL when unchanged */
    emu_cfield *cf;            /* contacts: the list's custom fields */
    size_t ncf;
    uint64_t lov_ord;          /* list_of_values: the field's rank among the list's LV fields */
} emu_view;

/* Record j (0 <= j < v->n) of a view, with updates applied. */
void emu_gen(const struct emu_store *s, const emu_view *v, uint64_t j, emu_rec *r);

/* The replication-key time of record j as generated or inserted (updates are
 * not seen: callers check the partition's rk_dirty first). */
int64_t emu_rk_time(const struct emu_store *s, const emu_view *v, uint64_t j);

/* Base counts and codes, pure functions of the options: */
/* how many generated lists hold contacts (all but the last when there are two or more), */
uint64_t emu_base_lists_with_contacts(const emu_options *o);
/* the generated contacts of the list with index list_k, */
uint64_t emu_base_contacts_in(const emu_options *o, uint64_t list_k);
/* the generated contacts of the lists before it (its first code is this + 1), */
uint64_t emu_base_contacts_before(const emu_options *o, uint64_t list_k);
/* the generated LOV values of a list's lv_ordinal-th LV field. */
uint64_t emu_lov_count(const emu_options *o, uint64_t lv_ordinal);
/* The first code not used by any generated record of stream sid. */
uint64_t emu_base_next_code(const emu_options *o, int sid);
/* All generated replication-key times of every stream are before this. */
int64_t emu_base_end_time(void);

#endif
