/*
 * dates.h: the API's date format, `YYYY-MM-DD HH:MM:SS`, to and from seconds
 * since 1970 (no time zone: the API speaks the account's local time, and the
 * emulator never needs to know which).
 */
#ifndef EMU_DATES_H
#define EMU_DATES_H

#include <stdint.h>

/* Writes the 19 characters of `YYYY-MM-DD HH:MM:SS` for t into out (no NUL). */
void emu_date_format(int64_t t, char out[19]);

/* Parses `YYYY-MM-DD HH:MM:SS` (or `YYYY-MM-DD`) into *t; 0 on success. */
int emu_date_parse(const char *s, int64_t *t);

/* Seconds since 1970 of a calendar date at midnight. */
int64_t emu_date_make(int year, int month, int day);

#endif
