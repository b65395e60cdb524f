/*
 * store.h: what the emulator remembers. Generated records are not stored;
 * only the changes the control interface makes are, per partition (a stream
 * under one parent): records inserted after the generated ones, deleted record
 * indexes, and per-record field overrides. A partition nobody changed has no
 * overlay at all, so memory stays flat at any scale.
 *
 * Locking: readers (API pages, dumps) hold `lock` for reading while they use
 * views and records; changes take it for writing.
 */
#ifndef EMU_STORE_H
#define EMU_STORE_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "options.h"

typedef struct emu_ins {
    uint64_t code;    /* code (or serial, for streams keyed otherwise) */
    int64_t date;     /* replication-key time */
} emu_ins;

typedef struct emu_ovr {
    char *name;
    char *text;       /* the value: plain text for strings, JSON text for RAW */
    uint32_t len;
    uint8_t kind;     /* enum emu_kind */
    uint8_t custom;   /* a member of custom_fields rather than a top-level field */
} emu_ovr;

typedef struct emu_upd {
    uint64_t j;
    emu_ovr *ov;
    size_t nov;
} emu_upd;

typedef struct emu_part {
    int sid;
    uint64_t list, field;
    emu_ins *ins;
    size_t nins, capins;
    uint64_t *del;    /* sorted record indexes */
    size_t ndel, capdel;
    emu_upd *upd;     /* sorted by j */
    size_t nupd, capupd;
    int rk_dirty;     /* an update changed the replication key: times may not be ordered */
} emu_part;

typedef struct emu_store {
    const emu_options *o;
    pthread_rwlock_t lock;
    emu_part **parts;
    size_t nparts, capparts;
    int64_t clock[EMU_NSTREAMS];      /* the last replication-key time handed out */
    uint64_t next_code[EMU_NSTREAMS];
} emu_store;

/* A partition's parent codes (0 where the stream has no such parent). */
typedef struct emu_pkey {
    uint64_t list, field;
} emu_pkey;

/* An empty store over the options o (which must outlive it); 0 on success. */
int emu_store_init(emu_store *s, const emu_options *o);
/* Frees every overlay. */
void emu_store_free(emu_store *s);

/* The overlay of a partition, or NULL when it was never changed. */
const emu_part *emu_store_part(const emu_store *s, int sid, uint64_t list, uint64_t field);

/* Inserted record i of p (NULL when out of range). */
const emu_ins *emu_part_inserted(const emu_part *p, uint64_t i);
/* Whether record j of p was deleted. */
int emu_part_deleted(const emu_part *p, uint64_t j);
/* Deleted records with index below j. */
uint64_t emu_part_deleted_below(const emu_part *p, uint64_t j);
/* The overrides of record j, or NULL. */
const emu_upd *emu_part_update(const emu_part *p, uint64_t j);

/* Live records (generated + inserted - deleted) of a partition that may have
 * no view yet (0 for a parent that does not exist). */
uint64_t emu_store_live_count(const emu_store *s, int sid, uint64_t list, uint64_t field);

/*
 * Resolves a partition: checks that the parent codes name live records
 * (and, for list_of_values, a field of type LV of that list), and fills v.
 * On failure writes a message naming the parameter into err and returns -1.
 * Free with emu_view_close.
 */
int emu_view_open(const emu_store *s, int sid, uint64_t list, uint64_t field, emu_view *v,
                  char *err, size_t errlen);
/* Frees what emu_view_open allocated. */
void emu_view_close(emu_view *v);

/* The code of record j of a view whose stream is keyed by code (generated
 * codes are code_base + j + 1; inserted ones come from the overlay). */
uint64_t emu_view_code(const emu_view *v, uint64_t j);

/* Every live partition of a stream, ordered by parent codes; *out is
 * malloc'd. Returns the count. */
size_t emu_store_partitions(const emu_store *s, int sid, emu_pkey **out);

/* The primary key of a generated record, as the API shows it. */
json_t *emu_rec_pk(const emu_rec *r, int sid);

/*
 * Finds the live record whose primary key equals key (values compared as
 * strings). where->list / where->field, when non-zero, restrict the search to
 * that parent. Returns 0 and fills *where and *j, or -1.
 */
int emu_store_locate(const emu_store *s, int sid, json_t *key, emu_pkey *where, uint64_t *j);

/*
 * Appends count records to a partition, later than every record of the
 * stream; appends their primary keys to keys_out (a JSON array, may be NULL).
 * Caller holds the write lock. 0, or -1 with err set.
 */
int emu_store_insert(emu_store *s, int sid, emu_pkey where, uint64_t count, json_t *keys_out,
                     char *err, size_t errlen);

/* Sets fields of record j (write lock). Refuses primary-key fields. */
int emu_store_update(emu_store *s, int sid, emu_pkey where, uint64_t j, json_t *set,
                     char *err, size_t errlen);

/* Deletes record j (write lock). */
int emu_store_delete(emu_store *s, int sid, emu_pkey where, uint64_t j);

#endif
