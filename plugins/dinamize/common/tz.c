/*
 * tz.c: a TZif reader (RFC 8536) with the POSIX TZ rules of its footer.
 */
#include "tz.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dates.h"

/* A real zone file is a few kilobytes; anything far larger is not one. */
#define TZIF_MAX_BYTES (1024 * 1024)

/* One end of a daylight-saving period in a POSIX TZ rule. */
typedef struct tz_when {
    char kind;     /* 'J' (1..365, no Feb 29), 'D' (0..365), 'M' (month.week.day) */
    int n;         /* J and D: the day */
    int month, week, wday;
    long time;     /* seconds after local midnight (may be negative or past 24 h) */
} tz_when;

/* The footer's rule, e.g. "EST5EDT,M3.2.0,M11.1.0" or "<-03>3". */
typedef struct tz_rule {
    long std_off;  /* seconds east of UTC */
    long dst_off;
    int has_dst;
    tz_when start, end;
} tz_rule;

struct dz_tz {
    size_t n_times;
    int64_t *times;       /* transition instants, ascending */
    unsigned char *index; /* the local time type after each transition */
    size_t n_types;
    long *offsets;        /* per type: seconds east of UTC */
    int has_rule;
    tz_rule rule;
};

/* --- the POSIX TZ string of the footer --- */

static const char *parse_name(const char *p)
{
    if (*p == '<') {
        const char *end = strchr(p, '>');
        return end ? end + 1 : NULL;
    }
    const char *start = p;
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    return p - start >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]]; hours up to 167 (RFC 8536's extension). */
static const char *parse_hms(const char *p, long *out)
{
    int sign = 1;
    if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
    }
    if (*p < '0' || *p > '9')
        return NULL;
    long h = 0, m = 0, s = 0;
    while (*p >= '0' && *p <= '9' && h <= 167)
        h = h * 10 + (*p++ - '0');
    if (h > 167)
        return NULL;
    if (*p == ':') {
        p++;
        if (p[0] < '0' || p[0] > '5' || p[1] < '0' || p[1] > '9')
            return NULL;
        m = (p[0] - '0') * 10 + (p[1] - '0');
        p += 2;
        if (*p == ':') {
            p++;
            if (p[0] < '0' || p[0] > '5' || p[1] < '0' || p[1] > '9')
                return NULL;
            s = (p[0] - '0') * 10 + (p[1] - '0');
            p += 2;
        }
    }
    *out = sign * (h * 3600 + m * 60 + s);
    return p;
}

static const char *parse_int(const char *p, int *out, int lo, int hi)
{
    if (*p < '0' || *p > '9')
        return NULL;
    int v = 0;
    while (*p >= '0' && *p <= '9' && v <= hi)
        v = v * 10 + (*p++ - '0');
    if (v < lo || v > hi)
        return NULL;
    *out = v;
    return p;
}

static const char *parse_when(const char *p, tz_when *w)
{
    memset(w, 0, sizeof *w);
    if (*p == 'J') {
        w->kind = 'J';
        p = parse_int(p + 1, &w->n, 1, 365);
    } else if (*p == 'M') {
        w->kind = 'M';
        p = parse_int(p + 1, &w->month, 1, 12);
        if (p == NULL || *p++ != '.')
            return NULL;
        p = parse_int(p, &w->week, 1, 5);
        if (p == NULL || *p++ != '.')
            return NULL;
        p = parse_int(p, &w->wday, 0, 6);
    } else {
        w->kind = 'D';
        p = parse_int(p, &w->n, 0, 365);
    }
    if (p == NULL)
        return NULL;
    w->time = 7200; /* 02:00 unless told */
    if (*p == '/')
        p = parse_hms(p + 1, &w->time);
    return p;
}

/* Parses a POSIX TZ string; returns 0 when it is valid and complete. */
static int parse_rule(const char *text, tz_rule *r)
{
    memset(r, 0, sizeof *r);
    const char *p = parse_name(text);
    long off;
    if (p == NULL || (p = parse_hms(p, &off)) == NULL)
        return -1;
    r->std_off = -off; /* POSIX offsets count west */
    if (*p == '\0')
        return 0;
    if ((p = parse_name(p)) == NULL)
        return -1;
    r->has_dst = 1;
    r->dst_off = r->std_off + 3600;
    if (*p != ',' && *p != '\0') {
        if ((p = parse_hms(p, &off)) == NULL)
            return -1;
        r->dst_off = -off;
    }
    if (*p == '\0') {
        /* No rule given: the US rule, as POSIX implementations assume. */
        r->start = (tz_when){'M', 0, 3, 2, 0, 7200};
        r->end = (tz_when){'M', 0, 11, 1, 0, 7200};
        return 0;
    }
    if (*p++ != ',' || (p = parse_when(p, &r->start)) == NULL || *p++ != ',' ||
        (p = parse_when(p, &r->end)) == NULL)
        return -1;
    return *p == '\0' ? 0 : -1;
}

/* The instant (UTC) a rule's date and time fall on in year y, when local
 * time runs offset seconds east of UTC. */
static int64_t when_instant(const tz_when *w, int64_t y, long offset)
{
    int64_t jan1 = dz_days_from_civil(y, 1, 1), day;
    if (w->kind == 'J') {
        day = jan1 + w->n - 1 + (dz_is_leap(y) && w->n >= 60 ? 1 : 0);
    } else if (w->kind == 'D') {
        day = jan1 + w->n;
    } else {
        int64_t first = dz_days_from_civil(y, (unsigned)w->month, 1);
        int first_wday = (int)(((first % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
        int64_t d = first + (w->wday - first_wday + 7) % 7 + (int64_t)(w->week - 1) * 7;
        int64_t month_end = first + dz_month_days(y, (unsigned)w->month);
        while (d >= month_end)
            d -= 7; /* week 5 means "the last" */
        day = d;
    }
    return day * 86400 + w->time - offset;
}

static long rule_offset(const tz_rule *r, int64_t t)
{
    if (!r->has_dst)
        return r->std_off;
    int64_t y;
    unsigned m, d;
    int64_t local = t + r->std_off;
    int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    dz_civil_from_days(days, &y, &m, &d);
    int64_t start = when_instant(&r->start, y, r->std_off);
    int64_t end = when_instant(&r->end, y, r->dst_off);
    int dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
    return dst ? r->dst_off : r->std_off;
}

/* --- the TZif file --- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

typedef struct tzif_counts {
    uint32_t isut, isstd, leap, time, type, chars;
} tzif_counts;

static int read_header(const unsigned char *data, size_t len, size_t at, tzif_counts *c,
                       int *version)
{
    if (len < at + 44 || memcmp(data + at, "TZif", 4) != 0)
        return -1;
    *version = data[at + 4] == 0 ? 1 : data[at + 4] - '0';
    const unsigned char *p = data + at + 20;
    c->isut = be32(p);
    c->isstd = be32(p + 4);
    c->leap = be32(p + 8);
    c->time = be32(p + 12);
    c->type = be32(p + 16);
    c->chars = be32(p + 20);
    return 0;
}

static size_t block_size(const tzif_counts *c, size_t time_size)
{
    return (size_t)c->time * time_size + c->time + (size_t)c->type * 6 + c->chars +
           (size_t)c->leap * (time_size + 4) + c->isstd + c->isut;
}

dz_tz *dz_tz_parse(const unsigned char *data, size_t len, char *why, size_t why_cap)
{
    tzif_counts c;
    int version;
    if (read_header(data, len, 0, &c, &version) != 0) {
        snprintf(why, why_cap, "not a TZif file");
        return NULL;
    }
    size_t at = 44, time_size = 4;
    if (version >= 2) {
        /* Skip the 32-bit block; the 64-bit one after it is authoritative. */
        at += block_size(&c, 4);
        int v2;
        if (at > len || read_header(data, len, at, &c, &v2) != 0) {
            snprintf(why, why_cap, "TZif file cut short before its 64-bit data");
            return NULL;
        }
        at += 44;
        time_size = 8;
    }
    if (c.type == 0 || c.type > 256 || c.time > 100000 || c.chars > 100000 ||
        c.leap > 100000 || at > len || len - at < block_size(&c, time_size)) {
        snprintf(why, why_cap, "TZif file with impossible counts or cut short");
        return NULL;
    }
    dz_tz *tz = calloc(1, sizeof *tz);
    if (tz == NULL) {
        snprintf(why, why_cap, "out of memory");
        return NULL;
    }
    tz->n_times = c.time;
    tz->n_types = c.type;
    tz->times = calloc(c.time ? c.time : 1, sizeof *tz->times);
    tz->index = calloc(c.time ? c.time : 1, 1);
    tz->offsets = calloc(c.type, sizeof *tz->offsets);
    if (tz->times == NULL || tz->index == NULL || tz->offsets == NULL) {
        dz_tz_free(tz);
        snprintf(why, why_cap, "out of memory");
        return NULL;
    }
    const unsigned char *p = data + at;
    for (uint32_t i = 0; i < c.time; i++, p += time_size)
        tz->times[i] = time_size == 8 ? be64(p) : (int32_t)be32(p);
    for (uint32_t i = 0; i < c.time; i++, p++) {
        if (*p >= c.type) {
            dz_tz_free(tz);
            snprintf(why, why_cap, "TZif transition %u names a missing local time type", i);
            return NULL;
        }
        tz->index[i] = *p;
    }
    for (uint32_t i = 0; i < c.type; i++, p += 6)
        tz->offsets[i] = (int32_t)be32(p);
    for (uint32_t i = 1; i < c.time; i++) {
        if (tz->times[i] <= tz->times[i - 1]) {
            dz_tz_free(tz);
            snprintf(why, why_cap, "TZif transitions out of order");
            return NULL;
        }
    }
    at += block_size(&c, time_size);
    if (version >= 2 && at < len && data[at] == '\n') {
        const unsigned char *nl = memchr(data + at + 1, '\n', len - at - 1);
        size_t n = nl ? (size_t)(nl - (data + at + 1)) : 0;
        if (nl != NULL && n > 0 && n < 256) {
            char text[256];
            memcpy(text, data + at + 1, n);
            text[n] = '\0';
            tz->has_rule = parse_rule(text, &tz->rule) == 0;
        }
    }
    return tz;
}

static int name_is_safe(const char *name)
{
    if (name[0] == '\0' || name[0] == '/' || strlen(name) > 200)
        return 0;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+' || c == '.'))
            return 0;
        if (c == '.' && (p == name || p[-1] == '/') && p[1] == '.')
            return 0;
    }
    return 1;
}

dz_tz *dz_tz_load(const char *name, char *why, size_t why_cap)
{
    if (name == NULL || !name_is_safe(name)) {
        snprintf(why, why_cap, "'%s' is not a time zone name (expected e.g. America/Sao_Paulo)",
                 name ? name : "");
        return NULL;
    }
    const char *dir = getenv("TZDIR");
    if (dir == NULL || dir[0] == '\0')
        dir = "/usr/share/zoneinfo";
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(why, why_cap, "unknown time zone '%s' (%s in the zoneinfo database %s)", name,
                 errno == ENOENT ? "not found" : strerror(errno), dir);
        return NULL;
    }
    struct stat st;
    unsigned char *data = NULL;
    size_t len = 0;
    int failed = fstat(fileno(f), &st) != 0 || st.st_size <= 0 || st.st_size > TZIF_MAX_BYTES;
    if (!failed) {
        data = malloc((size_t)st.st_size);
        len = data ? fread(data, 1, (size_t)st.st_size, f) : 0;
        failed = data == NULL || len != (size_t)st.st_size;
    }
    fclose(f);
    dz_tz *tz = NULL;
    if (failed) {
        snprintf(why, why_cap, "cannot read time zone file for '%s'", name);
    } else {
        char inner[128];
        tz = dz_tz_parse(data, len, inner, sizeof inner);
        if (tz == NULL)
            snprintf(why, why_cap, "time zone '%s': %s", name, inner);
    }
    free(data);
    return tz;
}

long dz_tz_offset(const dz_tz *tz, int64_t t)
{
    if (tz->n_times == 0)
        return tz->has_rule ? rule_offset(&tz->rule, t) : tz->offsets[0];
    if (t < tz->times[0])
        return tz->offsets[0];
    if (t >= tz->times[tz->n_times - 1] && tz->has_rule)
        return rule_offset(&tz->rule, t);
    size_t lo = 0, hi = tz->n_times; /* the last transition <= t */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->times[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return tz->offsets[tz->index[lo]];
}

void dz_tz_free(dz_tz *tz)
{
    if (tz == NULL)
        return;
    free(tz->times);
    free(tz->index);
    free(tz->offsets);
    free(tz);
}
