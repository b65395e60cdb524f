/*
 * tz.h: UTC offsets of an IANA time zone, read from its TZif file.
 *
 * The Dinamize API speaks the account's local time ("YYYY-MM-DD HH:MM:SS",
 * no offset), so the plugins convert instants to that zone. They must not do
 * it by setting TZ and calling localtime(): the host is multi-threaded and TZ
 * is process-wide. Instead this small reader parses the zone's TZif file
 * (RFC 8536, versions 1 to 4) from the zoneinfo database and answers offsets
 * itself: explicit transitions first, then the footer's POSIX TZ rule for
 * instants after the last one (so 2100 is as right as 2010).
 */
#ifndef DZ_TZ_H
#define DZ_TZ_H

#include <stddef.h>
#include <stdint.h>

typedef struct dz_tz dz_tz;

/*
 * Loads the zone named name ("America/Sao_Paulo", "UTC") from the zoneinfo
 * database: $TZDIR when set, else /usr/share/zoneinfo. Names that could
 * leave the database (absolute, "..") are refused. Returns NULL with the
 * reason in why.
 */
dz_tz *dz_tz_load(const char *name, char *why, size_t why_cap);

/* Parses TZif data held in memory. */
dz_tz *dz_tz_parse(const unsigned char *data, size_t len, char *why, size_t why_cap);

/* The offset from UTC, in seconds east of Greenwich, in force at the instant
 * t (seconds since the epoch). */
long dz_tz_offset(const dz_tz *tz, int64_t t);

void dz_tz_free(dz_tz *tz);

#endif
