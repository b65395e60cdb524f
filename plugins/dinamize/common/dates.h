/*
 * dates.h: calendar arithmetic and the API's date format.
 *
 * The API's dates are "YYYY-MM-DD HH:MM:SS" in the account's time zone. They
 * sort as strings, which is what bookmarks rely on, so every date the
 * plugins send (bookmark starts, signposts) is written in exactly that form.
 */
#ifndef DZ_DATES_H
#define DZ_DATES_H

#include <stddef.h>
#include <stdint.h>

#include "tz.h"

/* Buffer size of an API date with its terminator. */
#define DZ_API_DATE_CAP 20

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t dz_days_from_civil(int64_t y, unsigned m, unsigned d);
void dz_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* Whether y is a leap year, and the number of days of month m of year y. */
int dz_is_leap(int64_t y);
unsigned dz_month_days(int64_t y, unsigned m);

/* Writes seconds since the epoch (already shifted to local time) as
 * "YYYY-MM-DD HH:MM:SS". Years outside 0..9999 are clamped. */
void dz_format_api_date(int64_t seconds, char out[DZ_API_DATE_CAP]);

/* The instant utc_ms (ms since the epoch) in the zone's local time, in the
 * API's format. */
void dz_api_time(const dz_tz *tz, int64_t utc_ms, char out[DZ_API_DATE_CAP]);

/*
 * Converts the start_date option to the API's format in the account's zone:
 *   - RFC 3339 with an offset ("2024-01-31T12:00:00Z", "...-02:00", a
 *     fraction is dropped): the instant, shown in the zone;
 *   - "YYYY-MM-DD": midnight of that day in the account's zone;
 *   - "YYYY-MM-DD HH:MM:SS" (the API's own form) or "YYYY-MM-DDTHH:MM:SS"
 *     without an offset: already local, kept.
 * Returns 0, or -1 with why naming what is wrong with text.
 */
int dz_start_date_to_api(const dz_tz *tz, const char *text, char out[DZ_API_DATE_CAP],
                         char *why, size_t why_cap);

#endif
