/*
 * dates.c: calendar arithmetic (Howard Hinnant's civil-from-days algorithms,
 * exact for every proleptic Gregorian date) and the API's date strings.
 */
#include "dates.h"

#include <stdio.h>
#include <string.h>

int64_t dz_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (int64_t)d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void dz_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int dz_is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned dz_month_days(int64_t y, unsigned m)
{
    static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    return m == 2 && dz_is_leap(y) ? 29 : days[m - 1];
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

void dz_format_api_date(int64_t seconds, char out[DZ_API_DATE_CAP])
{
    /* 0000-01-01 00:00:00 .. 9999-12-31 23:59:59 */
    const int64_t lo = dz_days_from_civil(0, 1, 1) * 86400;
    const int64_t hi = dz_days_from_civil(10000, 1, 1) * 86400 - 1;
    if (seconds < lo)
        seconds = lo;
    if (seconds > hi)
        seconds = hi;
    int64_t days = floor_div(seconds, 86400);
    unsigned rem = (unsigned)(seconds - days * 86400) % 86400;
    int64_t y;
    unsigned m, d;
    dz_civil_from_days(days, &y, &m, &d);
    snprintf(out, DZ_API_DATE_CAP, "%04u-%02u-%02u %02u:%02u:%02u", (unsigned)y % 10000,
             m % 100, d % 100, rem / 3600 % 100, rem / 60 % 60, rem % 60);
}

void dz_api_time(const dz_tz *tz, int64_t utc_ms, char out[DZ_API_DATE_CAP])
{
    int64_t t = floor_div(utc_ms, 1000);
    dz_format_api_date(t + dz_tz_offset(tz, t), out);
}

/* Reads exactly n digits. */
static int digits(const char *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

int dz_start_date_to_api(const dz_tz *tz, const char *text, char out[DZ_API_DATE_CAP],
                         char *why, size_t why_cap)
{
    static const char expected[] =
        "expected RFC 3339 (2024-01-31T00:00:00Z), YYYY-MM-DD or YYYY-MM-DD HH:MM:SS";
    int y, mo, d, h = 0, mi = 0, s = 0;
    const char *p = text;
    if (digits(p, 4, &y) != 0 || p[4] != '-' || digits(p + 5, 2, &mo) != 0 || p[7] != '-' ||
        digits(p + 8, 2, &d) != 0) {
        snprintf(why, why_cap, "'%s' is not a date (%s)", text, expected);
        return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > dz_month_days(y, (unsigned)mo)) {
        snprintf(why, why_cap, "'%s' names a day that does not exist", text);
        return -1;
    }
    p += 10;
    int has_time = 0, has_offset = 0;
    long offset = 0;
    if (*p != '\0') {
        if ((*p != 'T' && *p != 't' && *p != ' ') || digits(p + 1, 2, &h) != 0 || p[3] != ':' ||
            digits(p + 4, 2, &mi) != 0 || p[6] != ':' || digits(p + 7, 2, &s) != 0) {
            snprintf(why, why_cap, "'%s' is not a date and time (%s)", text, expected);
            return -1;
        }
        if (h > 23 || mi > 59 || s > 60) {
            snprintf(why, why_cap, "'%s' names a time that does not exist", text);
            return -1;
        }
        has_time = 1;
        p += 9;
        if (*p == '.' || *p == ',') { /* a fraction: dropped, so the start only moves earlier */
            p++;
            if (*p < '0' || *p > '9') {
                snprintf(why, why_cap, "'%s' has an empty fraction of a second", text);
                return -1;
            }
            while (*p >= '0' && *p <= '9')
                p++;
        }
        if (*p == 'Z' || *p == 'z') {
            has_offset = 1;
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om;
            int sign = *p == '-' ? -1 : 1;
            if (digits(p + 1, 2, &oh) != 0) {
                snprintf(why, why_cap, "'%s' has a malformed UTC offset (%s)", text, expected);
                return -1;
            }
            p += 3;
            if (*p == ':')
                p++;
            if (digits(p, 2, &om) != 0 || oh > 23 || om > 59) {
                snprintf(why, why_cap, "'%s' has a malformed UTC offset (%s)", text, expected);
                return -1;
            }
            p += 2;
            offset = sign * (oh * 3600L + om * 60L);
            has_offset = 1;
        }
    }
    if (*p != '\0') {
        snprintf(why, why_cap, "'%s' has unexpected text after the date (%s)", text, expected);
        return -1;
    }
    int64_t local = dz_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600L +
                    mi * 60L + s;
    if (has_time && has_offset) {
        int64_t utc = local - offset;
        local = utc + dz_tz_offset(tz, utc);
    }
    dz_format_api_date(local, out);
    return 0;
}
