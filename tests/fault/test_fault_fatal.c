/*
 * test_fault_fatal.c: faults no retry can cure, into each sink. Rejected
 * credentials end the run with the auth exit code and commit nothing; an
 * error code the API answers on one endpoint fails the streams that need
 * that endpoint, with a message naming the code, the path and the stream,
 * while every other stream completes and commits (exit 5, partial). A later
 * run, once the API behaves, completes the failed streams.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "fz.h"
#include "proc.h"
#include "deadline.h"

SXT_DEADLINE(180)

TestSuite(fault_fatal, .init = sxt_deadline_180s);

#define EXIT_AUTH 4
#define EXIT_PARTIAL 5

static sxt_pg *pg_for(const char *sink)
{
    if (strcmp(sink, "postgres") != 0)
        return NULL;
    sxt_pg *pg = sxt_pg_new();
    cr_assert_not_null(pg, "no PostgreSQL server (see tests/support/pg.h)");
    return pg;
}

static void rejected_credentials(const char *sink)
{
    sxt_dz t;
    sxt_dz_start(&t, (const char *[]){SXT_FZ_EMULATOR, NULL}, NULL);
    sxt_pg *pg = pg_for(sink);
    sxt_dest *d = sxt_dest_new(sink, t.dir, pg, "rejected");
    sxt_result r = sxt_fz_run(&t, d, "{\"password\":\"not-the-password\"}", NULL, NULL);
    cr_assert(r.exited && r.status == EXIT_AUTH, "exit %d (signal %d), want %d:\n%s", r.status,
              r.signal, EXIT_AUTH, r.err);
    cr_assert_not_null(strstr(r.err, "credentials rejected: 240004"), "%s", r.err);
    cr_assert_null(strstr(r.err, "not-the-password"), "the password leaked:\n%s", r.err);
    cr_assert_null(strstr(r.out, "not-the-password"), "the password leaked on stdout");
    json_t *rows = sxt_dest_rows(d);
    const char *stream;
    json_t *rs;
    json_object_foreach(rows, stream, rs)
        cr_assert_eq(json_array_size(rs), 0, "%s: %zu rows committed with rejected credentials",
                     stream, json_array_size(rs));
    json_t *state = sxt_dest_state(d);
    json_t *marks = sxt_state_bookmarks(state);
    cr_assert_eq(json_object_size(marks), 0, "a bookmark was committed with rejected credentials");
    /* rejected credentials are not retried */
    json_t *stats = sxt_dz_stats(&t);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(stats, "requests"), "/auth")),
                 1);
    cr_assert_eq(json_integer_value(json_object_get(stats, "total")), 1,
                 "nothing but the one login was sent");
    json_decref(stats);
    json_decref(marks);
    json_decref(state);
    json_decref(rows);
    sxt_result_free(&r);
    sxt_dest_free(d);
    if (pg)
        sxt_pg_free(pg);
    sxt_dz_stop(&t);
}

/*
 * apierror on path: the streams in `failed` (comma-separated) fail with a
 * message naming the code and path; every other stream equals the emulator
 * and has its bookmark committed. Then, with the API well again, a second
 * run into the same destination completes everything (databases: every key
 * of every stream, once).
 */
static void api_error(const char *sink, const char *path, const char *failed)
{
    char *fault = sxt_strf("apierror:%s,240500", path);
    sxt_dz t;
    sxt_dz_start(&t, (const char *[]){SXT_FZ_EMULATOR, "--fault", fault, NULL}, NULL);
    sxt_pg *pg = pg_for(sink);
    sxt_dest *d = sxt_dest_new(sink, t.dir, pg, "partial");
    sxt_result r = sxt_fz_run(&t, d, NULL, NULL, NULL);
    cr_assert(r.exited && r.status == EXIT_PARTIAL, "exit %d (signal %d), want %d:\n%s", r.status,
              r.signal, EXIT_PARTIAL, r.err);
    char *said = sxt_strf("API error 240500 (Erro simulado pelo emulador (apierror)) on %s", path);
    cr_assert_not_null(strstr(r.err, said), "stderr should say '%s':\n%s", said, r.err);
    free(said);

    json_t *rows = sxt_dest_rows(d);
    json_t *state = sxt_dest_state(d);
    json_t *marks = sxt_state_bookmarks(state);
    char *list = sxt_strf(",%s,", failed);
    for (size_t i = 0; i < 13; i++) {
        const char *stream = sxt_dz_streams[i];
        char *item = sxt_strf(",%s,", stream);
        int fails = strstr(list, item) != NULL;
        free(item);
        if (fails) {
            char *line = sxt_strf("ERROR [%s] failed: ", stream);
            cr_assert_not_null(strstr(r.err, line), "no failure reported for %s:\n%s", stream,
                               r.err);
            free(line);
            cr_assert_eq(json_array_size(json_object_get(rows, stream)), 0,
                         "the failed stream %s has rows", stream);
            cr_assert_null(json_object_get(json_object_get(marks, stream),
                                           "replication_key_value"),
                           "the failed stream %s has a bookmark", stream);
            cr_assert_null(json_object_get(json_object_get(marks, stream), "partitions"),
                           "the failed stream %s has bookmarks", stream);
        } else if (strcmp(stream, "teams") != 0 && strcmp(stream, "list_of_values") != 0) {
            /* incremental streams that completed have their bookmarks */
            cr_assert_not_null(json_object_get(marks, stream), "%s completed without a bookmark",
                               stream);
        }
    }
    sxt_fz_assert_emulator(&t, d, rows, failed, 0);
    json_decref(rows);
    json_decref(marks);
    json_decref(state);
    sxt_result_free(&r);

    /* The API is well again: the next run completes what failed. */
    json_decref(sxt_emulator_call(t.emu, "/_emulator/faults", "{\"spec\":[]}"));
    r = sxt_fz_run(&t, d, NULL, NULL, NULL);
    cr_assert(r.exited && r.status == 0, "the run after the fault failed: %s", r.err);
    if (strcmp(sink, "sqlite") == 0 || strcmp(sink, "postgres") == 0) {
        rows = sxt_dest_rows(d);
        sxt_fz_assert_emulator(&t, d, rows, NULL, 0);
        json_decref(rows);
    }
    sxt_result_free(&r);
    free(list);
    free(fault);
    sxt_dest_free(d);
    if (pg)
        sxt_pg_free(pg);
    sxt_dz_stop(&t);
}

#define LISTS "contact_lists,contacts,fields,field_groups,filters,list_of_values,optout_emails"

#define FATAL(sink)                                                                         \
    Test(fault_fatal, rejected_credentials_into_##sink##_exit_4_and_commit_nothing)         \
    {                                                                                       \
        rejected_credentials(#sink);                                                        \
    }                                                                                       \
    Test(fault_fatal, an_error_code_on_campaigns_into_##sink##_fails_that_stream_alone)     \
    {                                                                                       \
        api_error(#sink, "/emkt/campaign/search", "campaigns");                             \
    }                                                                                       \
    Test(fault_fatal, an_error_code_on_contact_lists_into_##sink##_fails_the_lists_alone)   \
    {                                                                                       \
        api_error(#sink, "/emkt/contact-list/search", LISTS);                               \
    }                                                                                       \
    Test(fault_fatal, an_error_code_on_fields_into_##sink##_fails_fields_and_their_values)  \
    {                                                                                       \
        api_error(#sink, "/emkt/field/search", "fields,list_of_values");                    \
    }

FATAL(stdout)
FATAL(file)
FATAL(sqlite)
FATAL(postgres)
