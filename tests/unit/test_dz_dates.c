/*
 * test_dz_dates.c: the account-time conversions of the Dinamize plugins: the
 * TZif reader (checked against the system's own date(1) run in a child
 * process with TZ set there, never in this multi-threaded one), calendar
 * arithmetic, and the start_date forms.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/dinamize/common/dates.h"
#include "../../plugins/dinamize/common/tz.h"
#include "proc.h"

static dz_tz *load(const char *zone)
{
    char why[300];
    dz_tz *tz = dz_tz_load(zone, why, sizeof why);
    cr_assert_not_null(tz, "cannot load %s: %s", zone, why);
    return tz;
}

static void local_text(const dz_tz *tz, int64_t t, char out[DZ_API_DATE_CAP])
{
    dz_api_time(tz, t * 1000, out);
}

Test(dz_dates, civil_days_round_trip_and_known_values)
{
    cr_assert_eq(dz_days_from_civil(1970, 1, 1), 0);
    cr_assert_eq(dz_days_from_civil(2000, 3, 1), 11017);
    cr_assert_eq(dz_days_from_civil(1969, 12, 31), -1);
    cr_assert_eq(dz_days_from_civil(2024, 3, 1) - dz_days_from_civil(2024, 2, 28), 2);
    cr_assert_eq(dz_days_from_civil(2100, 3, 1) - dz_days_from_civil(2100, 2, 28), 1);
    for (int64_t days = -800000; days < 800000; days += 37) {
        int64_t y;
        unsigned m, d;
        dz_civil_from_days(days, &y, &m, &d);
        cr_assert(m >= 1 && m <= 12 && d >= 1 && d <= dz_month_days(y, m));
        cr_assert_eq(dz_days_from_civil(y, m, d), days, "day %lld", (long long)days);
    }
}

Test(dz_dates, api_format_is_zero_padded_and_sortable)
{
    char out[DZ_API_DATE_CAP];
    dz_format_api_date(0, out);
    cr_assert_str_eq(out, "1970-01-01 00:00:00");
    dz_format_api_date(-1, out);
    cr_assert_str_eq(out, "1969-12-31 23:59:59");
    dz_format_api_date(1709164799, out);
    cr_assert_str_eq(out, "2024-02-28 23:59:59");
    dz_format_api_date(INT64_MAX / 2, out);
    cr_assert_str_eq(out, "9999-12-31 23:59:59");
}

/* Instants spread over 1900-2100, plus both sides of known transitions. */
static size_t sample_instants(int64_t *out, size_t cap)
{
    static const int64_t around[] = {
        1541300400, /* 2018-11-04 03:00Z: Sao Paulo's last DST start */
        1550372400, /* 2019-02-17 03:00Z: its last DST end */
        1772953200, /* 2026-03-08 07:00Z: New York springs forward */
        1793512800, /* 2026-11-01 06:00Z: and falls back */
        2147483647, /* the 32-bit end */
        2147483648,
        4102444800, /* 2100-01-01 */
        -2208988800, /* 1900-01-01 */
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof around / sizeof around[0]; i++)
        for (int64_t d = -3601; d <= 3601 && n < cap; d += 1800)
            out[n++] = around[i] + d;
    uint64_t x = 0x2545F4914F6CDD1Dull;
    while (n < cap) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out[n++] = -2208988800LL + (int64_t)(x % (uint64_t)(4102444800LL + 2208988800LL));
    }
    return n;
}

Test(dz_dates, offsets_match_the_system_date_command_in_every_kind_of_zone)
{
    static const char *const zones[] = {
        "America/Sao_Paulo", "America/New_York", "Europe/London", "Europe/Dublin",
        "Australia/Sydney",  "Asia/Kolkata",     "Pacific/Chatham", "America/St_Johns",
        "Asia/Tokyo",        "UTC",
    };
    int64_t instants[400];
    size_t n = sample_instants(instants, 400);
    char *dir = sxt_tmpdir("dz-dates");
    char *input = sxt_strf("%s/instants", dir);
    FILE *f = fopen(input, "w");
    cr_assert_not_null(f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "@%lld\n", (long long)instants[i]);
    fclose(f);

    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        char *tz_env = sxt_strf("TZ=%s", zones[z]);
        const char *argv[] = {"date", "-f", input, "+%Y-%m-%d %H:%M:%S", NULL};
        const char *env[] = {tz_env, "LC_ALL=C", NULL};
        sxt_result r = sxt_run(argv, env, NULL, 30);
        cr_assert(r.exited && r.status == 0, "date failed for %s: %s", zones[z], r.err);
        dz_tz *tz = load(zones[z]);
        char *line = r.out;
        for (size_t i = 0; i < n; i++) {
            char *nl = strchr(line, '\n');
            cr_assert_not_null(nl, "date printed too few lines for %s", zones[z]);
            *nl = '\0';
            char ours[DZ_API_DATE_CAP];
            local_text(tz, instants[i], ours);
            cr_expect_str_eq(ours, line, "%s at %lld: ours %s, date(1) %s", zones[z],
                             (long long)instants[i], ours, line);
            line = nl + 1;
        }
        dz_tz_free(tz);
        sxt_result_free(&r);
        free(tz_env);
    }
    sxt_rmtree(dir);
    free(input);
    free(dir);
}

Test(dz_dates, sao_paulo_daylight_saving_edges)
{
    dz_tz *tz = load("America/Sao_Paulo");
    char out[DZ_API_DATE_CAP];
    local_text(tz, 1541300399, out); /* 2018-11-04 02:59:59Z, still -03 */
    cr_assert_str_eq(out, "2018-11-03 23:59:59");
    local_text(tz, 1541300400, out); /* clocks jump to 01:00, -02 */
    cr_assert_str_eq(out, "2018-11-04 01:00:00");
    local_text(tz, 1768478400, out); /* 2026-01-15 12:00Z: no DST since 2019 */
    cr_assert_str_eq(out, "2026-01-15 09:00:00");
    dz_tz_free(tz);
}

Test(dz_dates, rules_of_the_footer_apply_far_in_the_future)
{
    dz_tz *ny = load("America/New_York");
    char out[DZ_API_DATE_CAP];
    local_text(ny, 4118126400, out); /* 2100-07-01 12:00Z */
    cr_assert_str_eq(out, "2100-07-01 08:00:00");
    local_text(ny, 4133937600, out); /* 2100-12-31 12:00Z */
    cr_assert_str_eq(out, "2100-12-31 07:00:00");
    dz_tz_free(ny);
}

Test(dz_dates, start_date_forms_become_account_time)
{
    dz_tz *tz = load("America/Sao_Paulo");
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"2024-01-15T12:00:00Z", "2024-01-15 09:00:00"},
        {"2024-01-15t12:00:00z", "2024-01-15 09:00:00"},
        {"2024-01-15T12:00:00.987654Z", "2024-01-15 09:00:00"},
        {"2024-01-15T12:00:00-02:00", "2024-01-15 11:00:00"},
        {"2024-01-15T12:00:00+0530", "2024-01-15 03:30:00"},
        {"2024-01-01T01:00:00Z", "2023-12-31 22:00:00"},
        {"2024-01-15 12:00:00Z", "2024-01-15 09:00:00"},
        {"2018-11-04T03:30:00Z", "2018-11-04 01:30:00"},
        {"2024-01-15", "2024-01-15 00:00:00"},
        {"2024-02-29", "2024-02-29 00:00:00"},
        {"2024-01-15 10:20:30", "2024-01-15 10:20:30"},
        {"2024-01-15T10:20:30", "2024-01-15 10:20:30"},
        {"2016-12-31T23:59:60Z", "2016-12-31 22:00:00"}, /* DST then: -02 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[DZ_API_DATE_CAP], why[300];
        cr_expect_eq(dz_start_date_to_api(tz, cases[i].in, out, why, sizeof why), 0, "%s: %s",
                     cases[i].in, why);
        cr_expect_str_eq(out, cases[i].out, "%s became %s", cases[i].in, out);
    }
    dz_tz_free(tz);
}

Test(dz_dates, malformed_start_dates_are_refused_with_the_reason)
{
    dz_tz *tz = load("UTC");
    static const struct {
        const char *in, *why;
    } cases[] = {
        {"", "is not a date"},
        {"yesterday", "is not a date"},
        {"2024/01/15", "is not a date"},
        {"2024-13-01", "does not exist"},
        {"2023-02-29", "does not exist"},
        {"2024-01-15T25:00:00Z", "does not exist"},
        {"2024-01-15T12:00Z", "is not a date and time"},
        {"2024-01-15T12:00:00+2", "malformed UTC offset"},
        {"2024-01-15T12:00:00.Z", "empty fraction"},
        {"2024-01-15T12:00:00Z junk", "unexpected text"},
        {"2024-01-15X", "is not a date and time"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[DZ_API_DATE_CAP], why[300] = "";
        cr_expect_neq(dz_start_date_to_api(tz, cases[i].in, out, why, sizeof why), 0,
                      "accepted %s", cases[i].in);
        cr_expect(strstr(why, cases[i].why) != NULL, "%s: %s", cases[i].in, why);
        cr_expect(strstr(why, "RFC 3339") != NULL || strstr(why, "exist") ||
                      strstr(why, "fraction"),
                  "%s: the message should say what is expected: %s", cases[i].in, why);
    }
    dz_tz_free(tz);
}

Test(dz_dates, zone_names_that_leave_the_database_are_refused)
{
    const char *bad[] = {"../../etc/passwd", "/etc/localtime", "America/../../etc/passwd", "",
                         "Etc/UTC;rm"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char why[300];
        cr_expect_null(dz_tz_load(bad[i], why, sizeof why), "loaded %s", bad[i]);
        cr_expect(strstr(why, "not a time zone name") != NULL, "%s: %s", bad[i], why);
    }
    char why[300];
    cr_assert_null(dz_tz_load("Nowhere/Atlantis", why, sizeof why));
    cr_assert(strstr(why, "unknown time zone 'Nowhere/Atlantis'") != NULL, "%s", why);
}

Test(dz_dates, garbage_and_cut_zone_files_are_refused)
{
    char why[300];
    const unsigned char junk[] = "definitely not a zone file, but long enough to have a header";
    cr_assert_null(dz_tz_parse(junk, sizeof junk, why, sizeof why));
    cr_assert(strstr(why, "not a TZif file") != NULL, "%s", why);

    size_t len;
    char *data = sxt_read_file("/usr/share/zoneinfo/America/New_York", &len);
    cr_assert_not_null(data);
    for (size_t cut = 44; cut < len / 2; cut += 97) {
        dz_tz *tz = dz_tz_parse((const unsigned char *)data, cut, why, sizeof why);
        cr_expect_null(tz, "a file cut at %zu of %zu parsed", cut, len);
        dz_tz_free(tz);
    }
    dz_tz *whole = dz_tz_parse((const unsigned char *)data, len, why, sizeof why);
    cr_assert_not_null(whole, "%s", why);
    dz_tz_free(whole);
    free(data);
}
