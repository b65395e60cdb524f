/*
 * json_object.h: what the scan (json_scan.c) and the split (json_split.c)
 * both fill in a siphon_json_object: its member table and, when the text is
 * refused, its error. Private to libsiphon-util.
 */
#ifndef SIPHON_UTIL_JSON_OBJECT_H
#define SIPHON_UTIL_JSON_OBJECT_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <siphon/siphon-json.h>

/* The next member of o's table, which grows by doubling; NULL when memory
 * ran out. */
static inline siphon_json_member *siphon_json_new_member(siphon_json_object *o)
{
    if (o->n_members == o->cap_members) {
        size_t ncap = o->cap_members ? o->cap_members * 2 : 32;
        siphon_json_member *grown = realloc(o->members, ncap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        o->members = grown;
        o->cap_members = ncap;
    }
    return &o->members[o->n_members++];
}

/* Records why the text was refused at byte at ("... at byte N", counted
 * from o->origin) and returns -1. */
__attribute__((format(printf, 4, 0)))
static inline int siphon_json_vrefuse(siphon_json_object *o, int status, size_t at,
                                      const char *fmt, va_list ap)
{
    int n = vsnprintf(o->error, sizeof o->error, fmt, ap);
    if (n >= 0 && (size_t)n < sizeof o->error)
        snprintf(o->error + n, sizeof o->error - (size_t)n, " at byte %zu", o->origin + at);
    o->status = status;
    o->error_offset = at;
    return -1;
}

#endif
