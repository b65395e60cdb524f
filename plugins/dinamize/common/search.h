/*
 * search.h: the body of a `.../search` request.
 *
 *   {"page_number":1,"page_size":10000,"contact-list_code":"7",
 *    "search":[{"field":"insert_date","operator":">=","value":"2024-05-01 10:00:00"},
 *              {"field":"insert_date","operator":"<=","value":"2024-06-01 09:00:00"}],
 *    "order":[{"field":"insert_date","type":"ASC"},{"field":"code","type":"ASC"}]}
 *
 * Ordering by the replication key, then the primary key, makes paging
 * stable: rows inserted while a stream is being read sort after the rows
 * already read, so no page boundary skips one.
 */
#ifndef DZ_SEARCH_H
#define DZ_SEARCH_H

#include <stdint.h>

#include <jansson.h>

typedef struct dz_search {
    int64_t page_size;
    const json_t *context;         /* parent codes, copied into the body; or NULL */
    const char *replication_key;   /* first ordering field; NULL orders by the keys alone */
    const char *const *keys;       /* the primary key, NULL-terminated */
    const char *from;              /* replication_key >= from, or NULL */
    const char *until;             /* replication_key <= until, or NULL */
} dz_search;

/* Builds the body of a search without its page number (new reference), or
 * NULL when out of memory. */
json_t *dz_search_body(const dz_search *search);

/* The body's text for one page (1-based); malloc'd, NULL when out of memory. */
char *dz_search_page(json_t *body, int64_t page_number);

#endif
