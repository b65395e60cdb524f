/*
 * rfc3339.c: time stamps without printf or gmtime (siphon-json.h).
 *
 * A sink stamps every record; gmtime_r plus snprintf cost more than the rest
 * of a short record's line. The calendar comes from Howard Hinnant's
 * civil_from_days, exact for the proleptic Gregorian calendar.
 */
#include <siphon/siphon-json.h>

/* Year 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z. */
#define MIN_MS (-62167219200000LL)
#define MAX_MS (253402300799999LL)

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void two(char *out, unsigned v)
{
    out[0] = (char)('0' + v / 10);
    out[1] = (char)('0' + v % 10);
}

size_t siphon_rfc3339_ms(int64_t ms, char *out)
{
    if (ms < MIN_MS)
        ms = MIN_MS;
    if (ms > MAX_MS)
        ms = MAX_MS;
    /* floor division: times before 1970 count down from the day's start */
    int64_t days = ms / 86400000;
    int64_t rest = ms % 86400000;
    if (rest < 0) {
        rest += 86400000;
        days--;
    }
    int64_t year;
    unsigned month, day;
    civil_from_days(days, &year, &month, &day);
    unsigned msec = (unsigned)(rest % 1000), secs = (unsigned)(rest / 1000);
    unsigned y = (unsigned)year;
    two(out, y / 100);
    two(out + 2, y % 100);
    out[4] = '-';
    two(out + 5, month);
    out[7] = '-';
    two(out + 8, day);
    out[10] = 'T';
    two(out + 11, secs / 3600);
    out[13] = ':';
    two(out + 14, secs / 60 % 60);
    out[16] = ':';
    two(out + 17, secs % 60);
    out[19] = '.';
    out[20] = (char)('0' + msec / 100);
    two(out + 21, msec % 100);
    out[23] = 'Z';
    out[24] = '\0';
    return SIPHON_RFC3339_MS_LEN;
}
