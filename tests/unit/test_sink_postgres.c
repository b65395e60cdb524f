/*
 * The PostgreSQL sink through its real module on a real server (see pg.h for
 * where the server comes from): COPY escaping, merges, FULL_TABLE swaps,
 * state committed with the rows, crashes, drift, hostile and long names,
 * history, jsonb, and connection errors that never show a password.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "pg.h"
#include "proc.h"
#include "sink_host.h"

#define CONTACTS_SCHEMA                                                                        \
    "{\"type\":\"object\",\"properties\":{\"code\":{\"type\":\"string\"},"                     \
    "\"name\":{\"type\":[\"null\",\"string\"]},\"total\":{\"type\":[\"null\",\"integer\"]},"   \
    "\"custom_fields\":{\"type\":[\"null\",\"object\"]}}}"

/* The test's database, dropped by the suite's fini even when an assertion
 * fails half-way. */
static sxt_pg *current_pg;

static void drop_database(void)
{
    sxt_pg_free(current_pg);
    current_pg = NULL;
}

TestSuite(sink_postgres, .fini = drop_database);

static sxt_pg *database(void)
{
    current_pg = sxt_pg_new();
    cr_assert_not_null(current_pg, "a PostgreSQL database for the test (SIPHON_TEST_PG_DSN, or "
                                   "tests/support/pg-server.sh must be able to start a server)");
    return current_pg;
}

static sxt_sink *open_pg(sxt_pg *pg, const char *more)
{
    char *config = sxt_strf("{\"dsn\":\"%s\"%s%s}", sxt_pg_dsn(pg), more ? "," : "",
                            more ? more : "");
    sxt_sink *s = sxt_sink_load("postgres", config);
    free(config);
    cr_assert_not_null(s, "the postgres sink module loads");
    cr_assert_eq(sxt_sink_open(s), SIPHON_OK, "open: %s", sxt_sink_error(s));
    return s;
}

static void assert_q(sxt_pg *pg, const char *sql, const char *expected)
{
    char *got = sxt_pg_query1(pg, sql);
    cr_assert_not_null(got, "a row from %s", sql);
    cr_assert_str_eq(got, expected, "%s\n  got:      %s\n  expected: %s", sql, got, expected);
    free(got);
}

static void write_ok(sxt_sink *s, const char *stream, const char *record)
{
    cr_assert_eq(sxt_sink_write(s, stream, record), SIPHON_OK, "write %s", record);
}

/* Both merge statements (MERGE and INSERT ... ON CONFLICT) must agree. */
static void upsert_keeps_the_last_record(const char *statement)
{
    sxt_pg *pg = database();
    char *opts = sxt_strf("\"batch_rows\":3,\"merge_statement\":\"%s\"", statement);
    sxt_sink *s = open_pg(pg, opts);
    free(opts);
    cr_assert(sxt_sink_caps(s) & SIPHON_CAP_STATE_IN_SINK);
    cr_assert_eq(sxt_sink_begin(s, "contacts", CONTACTS_SCHEMA, "code", SIPHON_SYNC_INCREMENTAL, 0),
                 SIPHON_OK);
    write_ok(s, "contacts", "{\"code\":\"1\",\"name\":\"first\"}");
    write_ok(s, "contacts", "{\"code\":\"1\",\"name\":\"second\"}");
    write_ok(s, "contacts", "{\"code\":\"2\",\"name\":\"other\"}");
    write_ok(s, "contacts", "{\"code\":\"1\",\"name\":\"third\",\"total\":\"7\"}");
    write_ok(s, "contacts", "{\"code\":\"1\",\"name\":\"fourth\",\"total\":8}");
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    write_ok(s, "contacts", "{\"code\":\"2\",\"name\":\"after commit\"}");
    sxt_sink_end(s, "contacts", SIPHON_END_COMPLETE);
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    sxt_sink_free(s);
    assert_q(pg, "SELECT count(*) FROM contacts", "2");
    assert_q(pg, "SELECT name || ':' || total FROM contacts WHERE code = '1'", "fourth:8");
    assert_q(pg, "SELECT name FROM contacts WHERE code = '2'", "after commit");
    assert_q(pg, "SELECT _sdc_extracted_at FROM contacts WHERE code = '2'",
             "2024-05-01T10:00:00.000Z");
    assert_q(pg, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                 "'contacts'::regclass AND attname = 'total'",
             "bigint");
}

Test(sink_postgres, incremental_upsert_keeps_one_row_per_key_and_the_last_record_wins)
{
    upsert_keeps_the_last_record("auto");
}

Test(sink_postgres, the_upsert_statement_keeps_the_last_record_too)
{
    upsert_keeps_the_last_record("upsert");
}

Test(sink_postgres, a_stream_without_key_appends_every_record)
{
    sxt_pg *pg = database();
    sxt_sink *s = open_pg(pg, NULL);
    sxt_sink_begin(s, "events", "{\"properties\":{\"what\":{\"type\":\"string\"}}}", NULL,
                   SIPHON_SYNC_INCREMENTAL, 0);
    write_ok(s, "events", "{\"what\":\"same\"}");
    write_ok(s, "events", "{\"what\":\"same\"}");
    sxt_sink_commit(s, "{}");
    sxt_sink_free(s);
    assert_q(pg, "SELECT count(*) FROM events", "2");
}

Test(sink_postgres, copy_escapes_backslash_tab_newline_and_keeps_null_apart)
{
    sxt_pg *pg = database();
    sxt_sink *s = open_pg(pg, NULL);
    sxt_sink_begin(s, "notes", "{\"properties\":{\"k\":{\"type\":\"integer\"},"
                               "\"v\":{\"type\":[\"null\",\"string\"]}}}",
                   "k", SIPHON_SYNC_INCREMENTAL, 0);
    const char *values[] = {"back\\\\slash", "tab\\there", "line\\nbreak", "cr\\rx", "\\\\N",
                            "", "\\\\.", "ação 🚀", NULL};
    int k = 0;
    for (; values[k]; k++) {
        char *rec = sxt_strf("{\"k\":%d,\"v\":\"%s\"}", k, values[k]);
        write_ok(s, "notes", rec);
        free(rec);
    }
    char *rec = sxt_strf("{\"k\":%d,\"v\":null}", k);
    write_ok(s, "notes", rec);
    free(rec);
    cr_assert_eq(sxt_sink_write(s, "notes", "{\"k\":99,\"v\":\"nul\\u0000byte\"}"),
                 SIPHON_E_INVALID, "a NUL character cannot be stored and is refused");
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    sxt_sink_free(s);

    const char *stored[] = {"back\\slash", "tab\there", "line\nbreak", "cr\rx", "\\N",
                            "", "\\.", "ação 🚀"};
    for (int i = 0; i < k; i++) {
        char *sql = sxt_strf("SELECT v FROM notes WHERE k = %d", i);
        assert_q(pg, sql, stored[i]);
        free(sql);
    }
    char *sql = sxt_strf("SELECT v IS NULL FROM notes WHERE k = %d", k);
    assert_q(pg, sql, "t");
    free(sql);
    assert_q(pg, "SELECT v IS NULL FROM notes WHERE k = 5", "f");
}

static void load_teams(sxt_sink *s, int64_t version, const char *const *codes, int how)
{
    cr_assert_eq(sxt_sink_begin(s, "teams",
                                "{\"properties\":{\"code\":{\"type\":\"string\"},"
                                "\"name\":{\"type\":\"string\"}}}",
                                "code", SIPHON_SYNC_FULL_TABLE, version),
                 SIPHON_OK);
    for (; *codes; codes++) {
        char *rec = sxt_strf("{\"code\":\"%s\",\"name\":\"team %s v%lld\"}", *codes, *codes,
                             (long long)version);
        write_ok(s, "teams", rec);
        free(rec);
    }
    if (how >= 0)
        cr_assert_eq(sxt_sink_end(s, "teams", how), SIPHON_OK);
}

static void swap_removes_deleted_rows(const char *statement)
{
    sxt_pg *pg = database();
    char *opts = sxt_strf("\"batch_rows\":2,\"merge_statement\":\"%s\"", statement);
    sxt_sink *s = open_pg(pg, opts);
    free(opts);
    load_teams(s, 100, (const char *const[]){"a", "b", "c", NULL}, SIPHON_END_COMPLETE);
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    assert_q(pg, "SELECT count(*) FROM teams", "3");
    load_teams(s, 200, (const char *const[]){"a", "c", "a", NULL}, -1);
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK, "a checkpoint inside the load");
    assert_q(pg, "SELECT count(*) FROM teams", "3");
    cr_assert_eq(sxt_sink_end(s, "teams", SIPHON_END_COMPLETE), SIPHON_OK);
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    sxt_sink_free(s);
    assert_q(pg, "SELECT string_agg(code, ',' ORDER BY code) FROM teams", "a,c");
    assert_q(pg, "SELECT name FROM teams WHERE code = 'a'", "team a v200");
    assert_q(pg, "SELECT count(*) FROM pg_tables WHERE tablename LIKE '%siphon_v%'", "0");
}

Test(sink_postgres, full_table_swap_removes_rows_deleted_at_the_source)
{
    swap_removes_deleted_rows("auto");
}

Test(sink_postgres, full_table_swap_with_the_upsert_statement_too)
{
    swap_removes_deleted_rows("upsert");
}

Test(sink_postgres, full_table_failed_keeps_the_old_table)
{
    sxt_pg *pg = database();
    sxt_sink *s = open_pg(pg, NULL);
    load_teams(s, 1, (const char *const[]){"a", "b", NULL}, SIPHON_END_COMPLETE);
    sxt_sink_commit(s, "{}");
    load_teams(s, 2, (const char *const[]){"z", NULL}, -1);
    sxt_sink_commit(s, "{}");
    cr_assert_eq(sxt_sink_end(s, "teams", SIPHON_END_FAILED), SIPHON_OK);
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    sxt_sink_free(s);
    assert_q(pg, "SELECT string_agg(code, ',' ORDER BY code) FROM teams", "a,b");
    assert_q(pg, "SELECT count(*) FROM pg_tables WHERE tablename LIKE '%siphon_v%'", "0");
}

Test(sink_postgres, a_full_load_resumes_its_staging_table_and_drops_stale_ones)
{
    sxt_pg *pg = database();
    sxt_sink *s = open_pg(pg, NULL);
    load_teams(s, 5, (const char *const[]){"old", NULL}, -1);
    sxt_sink_commit(s, "{}");
    sxt_sink_free(s);
    s = open_pg(pg, NULL);
    load_teams(s, 6, (const char *const[]){"a", NULL}, -1);
    sxt_sink_commit(s, "{}");
    sxt_sink_free(s);
    assert_q(pg, "SELECT count(*) FROM pg_tables WHERE tablename = 'teams__siphon_v5'", "0");
    s = open_pg(pg, NULL);
    load_teams(s, 6, (const char *const[]){"b", NULL}, SIPHON_END_COMPLETE);
    sxt_sink_commit(s, "{}");
    sxt_sink_free(s);
    assert_q(pg, "SELECT string_agg(code, ',' ORDER BY code) FROM teams", "a,b");
}

Test(sink_postgres, a_stream_named_like_the_state_table_is_refused)
{
    sxt_pg *pg = database();
    sxt_sink *s = open_pg(pg, NULL);
    cr_assert_eq(sxt_sink_begin(s, "_siphon_state", NULL, "target", SIPHON_SYNC_INCREMENTAL, 0),
                 SIPHON_E_CONFIG);
    cr_assert_eq(sxt_sink_commit(s, "{\"kept\":1}"), SIPHON_OK);
    sxt_sink_free(s);
    assert_q(pg, "SELECT state ->> 'kept' FROM _siphon_state", "1");
}

Test(sink_postgres, a_view_on_a_full_table_survives_the_swap)
{
    sxt_pg *pg = database();
    sxt_sink *s = open_pg(pg, NULL);
    load_teams(s, 1, (const char *const[]){"a", NULL}, SIPHON_END_COMPLETE);
    sxt_sink_commit(s, "{}");
    sxt_sink_free(s);
    cr_assert_eq(sxt_pg_exec(pg, "CREATE VIEW team_codes AS SELECT code FROM teams"), 0);
    s = open_pg(pg, NULL);
    load_teams(s, 2, (const char *const[]){"x", "y", NULL}, SIPHON_END_COMPLETE);
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    sxt_sink_free(s);
    assert_q(pg, "SELECT string_agg(code, ',' ORDER BY code) FROM team_codes", "x,y");
}

Test(sink_postgres, crash_after_commit_leaves_exactly_the_committed_rows_and_state)
{
    sxt_pg *pg = database();
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        sxt_sink *s = open_pg(pg, "\"batch_rows\":10");
        sxt_sink_begin(s, "contacts", CONTACTS_SCHEMA, "code", SIPHON_SYNC_INCREMENTAL, 0);
        for (int i = 0; i < 3; i++) {
            char *rec = sxt_strf("{\"code\":\"%d\",\"name\":\"committed\"}", i);
            sxt_sink_write(s, "contacts", rec);
            free(rec);
        }
        load_teams(s, 1, (const char *const[]){"a", NULL}, SIPHON_END_COMPLETE);
        if (sxt_sink_commit(s, "{\"n\":3}") != SIPHON_OK)
            _exit(1);
        for (int i = 0; i < 5000; i++) {
            char *rec = sxt_strf("{\"code\":\"%d\",\"name\":\"lost\"}", i);
            sxt_sink_write(s, "contacts", rec);
            free(rec);
        }
        load_teams(s, 2, (const char *const[]){"x", "y", NULL}, SIPHON_END_COMPLETE);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child committed");

    sxt_sink *s = open_pg(pg, NULL);
    json_t *state = NULL;
    cr_assert_eq(sxt_sink_load_state(s, &state), SIPHON_OK);
    cr_assert_eq(json_integer_value(json_object_get(state, "n")), 3);
    json_decref(state);
    sxt_sink_free(s);
    assert_q(pg, "SELECT count(*) FROM contacts", "3");
    assert_q(pg, "SELECT count(*) FROM contacts WHERE name = 'lost'", "0");
    assert_q(pg, "SELECT string_agg(code, ',') FROM teams", "a");
}

Test(sink_postgres, state_round_trips_and_each_target_keeps_its_own)
{
    sxt_pg *pg = database();
    sxt_sink *s = open_pg(pg, NULL);
    json_t *state = NULL;
    cr_assert_eq(sxt_sink_load_state(s, &state), SIPHON_OK);
    cr_assert_null(state);
    cr_assert_eq(sxt_sink_commit(s, "{\"bookmarks\":{\"a\":{\"replication_key_value\":\"x\"}}}"),
                 SIPHON_OK);
    sxt_sink_free(s);
    s = open_pg(pg, "\"folder\":\"other\"");
    cr_assert_eq(sxt_sink_commit(s, "{\"mine\":true}"), SIPHON_OK);
    sxt_sink_free(s);
    s = open_pg(pg, NULL);
    cr_assert_eq(sxt_sink_load_state(s, &state), SIPHON_OK);
    json_t *expected = json_loads("{\"bookmarks\":{\"a\":{\"replication_key_value\":\"x\"}}}", 0,
                                  NULL);
    cr_assert(json_equal(state, expected));
    json_decref(expected);
    json_decref(state);
    sxt_sink_free(s);
    assert_q(pg, "SELECT count(*) FROM _siphon_state", "2");
    assert_q(pg, "SELECT state ->> 'mine' FROM _siphon_state WHERE target LIKE '%other%'", "true");
}

Test(sink_postgres, a_key_the_schema_does_not_name_gets_its_own_column)
{
    sxt_pg *pg = database();
    sxt_sink *s = open_pg(pg, "\"batch_rows\":4");
    sxt_sink_begin(s, "contacts", CONTACTS_SCHEMA, "code", SIPHON_SYNC_INCREMENTAL, 0);
    write_ok(s, "contacts", "{\"code\":\"1\",\"name\":\"before drift\"}");
    write_ok(s, "contacts", "{\"code\":\"2\",\"status\":\"V\",\"total_clicks\":3,\"spam\":null}");
    write_ok(s, "contacts", "{\"code\":\"3\",\"total_clicks\":\"many\"}");
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    sxt_sink_free(s);
    assert_q(pg, "SELECT status FROM contacts WHERE code = '2'", "V");
    assert_q(pg, "SELECT total_clicks::text FROM contacts WHERE code = '2'", "3");
    assert_q(pg, "SELECT total_clicks #>> '{}' FROM contacts WHERE code = '3'", "many");
    assert_q(pg, "SELECT name FROM contacts WHERE code = '1'", "before drift");
}

Test(sink_postgres, streams_written_in_turn_share_one_copy_at_a_time_and_commit_together)
{
    sxt_pg *pg = database();
    sxt_sink *s = open_pg(pg, "\"batch_rows\":4");
    sxt_sink_begin(s, "contacts", CONTACTS_SCHEMA, "code", SIPHON_SYNC_INCREMENTAL, 0);
    sxt_sink_begin(s, "events", NULL, NULL, SIPHON_SYNC_INCREMENTAL, 0);
    load_teams(s, 3, (const char *const[]){NULL}, -1);
    for (int i = 0; i < 30; i++) {
        char *rec = sxt_strf("{\"code\":\"%d\",\"name\":\"n%d\"}", i % 10, i);
        const char *stream = i % 3 == 0 ? "contacts" : i % 3 == 1 ? "events" : "teams";
        write_ok(s, stream, rec);
        free(rec);
    }
    sxt_sink_end(s, "teams", SIPHON_END_COMPLETE);
    cr_assert_eq(sxt_sink_commit(s, "{\"both\":1}"), SIPHON_OK);
    sxt_sink_free(s);
    assert_q(pg, "SELECT count(*) FROM contacts", "10");
    assert_q(pg, "SELECT name FROM contacts WHERE code = '7'", "n27");
    assert_q(pg, "SELECT count(*) FROM events", "10");
    assert_q(pg, "SELECT count(*) || ':' || max(name) FROM teams WHERE code = '8'", "1:n8");
}

Test(sink_postgres, a_new_schema_for_an_open_stream_adds_its_columns)
{
    sxt_pg *pg = database();
    sxt_sink *s = open_pg(pg, NULL);
    sxt_sink_begin(s, "contacts", CONTACTS_SCHEMA, "code", SIPHON_SYNC_INCREMENTAL, 0);
    write_ok(s, "contacts", "{\"code\":\"1\",\"name\":\"a\"}");
    cr_assert_eq(sxt_sink_begin(s, "contacts",
                                "{\"properties\":{\"code\":{},\"score\":{\"type\":\"number\"}}}",
                                "code", SIPHON_SYNC_INCREMENTAL, 0),
                 SIPHON_OK);
    write_ok(s, "contacts", "{\"code\":\"2\",\"score\":\"2.50\"}");
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    sxt_sink_free(s);
    assert_q(pg, "SELECT score FROM contacts WHERE code = '2'", "2.50");
    assert_q(pg, "SELECT name || coalesce(score::text, '-') FROM contacts WHERE code = '1'", "a-");
}

Test(sink_postgres, values_are_stored_by_the_documented_type_mapping)
{
    sxt_pg *pg = database();
    sxt_sink *s = open_pg(pg, NULL);
    const char *schema =
        "{\"properties\":{\"k\":{\"type\":\"integer\"},\"s\":{\"type\":\"string\"},"
        "\"i\":{\"type\":[\"null\",\"integer\"]},\"n\":{\"type\":\"number\"},"
        "\"b\":{\"type\":\"boolean\"},\"o\":{\"type\":\"object\"},\"a\":{\"type\":\"array\"},"
        "\"u\":{},\"d\":{\"type\":\"string\",\"format\":\"date-time\"}}}";
    sxt_sink_begin(s, "typed", schema, "k", SIPHON_SYNC_INCREMENTAL, 0);
    write_ok(s, "typed", "{\"k\":1,\"s\":12,\"i\":\"42\",\"n\":\"1250.50\",\"b\":\"true\","
                         "\"o\":{\"x\":[1,2]},\"a\":[\"p\",\"q\"],\"u\":\"text\","
                         "\"d\":\"2024-05-01 10:00:00\"}");
    write_ok(s, "typed", "{\"k\":\"2\",\"s\":null,\"i\":\"\",\"n\":0.1,\"b\":false}");
    cr_assert_eq(sxt_sink_write(s, "typed", "{\"k\":3,\"i\":\"forty\"}"), SIPHON_E_INVALID);
    cr_assert_eq(sxt_sink_write(s, "typed", "{\"s\":\"no key\"}"), SIPHON_E_INVALID);
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    sxt_sink_free(s);
    assert_q(pg, "SELECT s FROM typed WHERE k = 1", "12");
    assert_q(pg, "SELECT i + 1 FROM typed WHERE k = 1", "43");
    assert_q(pg, "SELECT n FROM typed WHERE k = 1", "1250.50");
    assert_q(pg, "SELECT b FROM typed WHERE k = 1", "t");
    assert_q(pg, "SELECT o -> 'x' ->> 1 FROM typed WHERE k = 1", "2");
    assert_q(pg, "SELECT a ->> 1 FROM typed WHERE k = 1", "q");
    assert_q(pg, "SELECT u #>> '{}' FROM typed WHERE k = 1", "text");
    assert_q(pg, "SELECT d FROM typed WHERE k = 1", "2024-05-01 10:00:00");
    assert_q(pg, "SELECT (i IS NULL) || ',' || (s IS NULL) || ',' || n || ',' || b FROM typed "
                 "WHERE k = 2",
             "true,true,0.1,false");
    assert_q(pg, "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' "
                 "ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'typed'::regclass AND "
                 "attnum > 0",
             "k bigint, s text, i bigint, n numeric, b boolean, o jsonb, a jsonb, u jsonb, "
             "d text, _sdc_extracted_at text");
}

Test(sink_postgres, json_columns_are_queryable_with_arrow_operators)
{
    sxt_pg *pg = database();
    sxt_sink *s = open_pg(pg, NULL);
    sxt_sink_begin(s, "contacts", CONTACTS_SCHEMA, "code", SIPHON_SYNC_INCREMENTAL, 0);
    write_ok(s, "contacts", "{\"code\":\"1\",\"custom_fields\":{\"cmp4\":\"São Paulo\","
                            "\"cmp5\":\"12\",\"tags\":[\"a\",\"b\"]}}");
    write_ok(s, "contacts", "{\"code\":\"2\",\"custom_fields\":{\"cmp4\":\"Recife\"}}");
    sxt_sink_commit(s, "{}");
    sxt_sink_free(s);
    assert_q(pg, "SELECT custom_fields ->> 'cmp4' FROM contacts WHERE code = '1'", "São Paulo");
    assert_q(pg, "SELECT custom_fields -> 'tags' ->> 1 FROM contacts WHERE code = '1'", "b");
    assert_q(pg, "SELECT code FROM contacts WHERE custom_fields ->> 'cmp4' = 'Recife'", "2");
}

Test(sink_postgres, hostile_identifiers_create_the_right_tables_without_injection)
{
    sxt_pg *pg = database();
    cr_assert_eq(sxt_pg_exec(pg, "CREATE TABLE victims (alive int); INSERT INTO victims VALUES (1)"),
                 0);
    sxt_sink *s = open_pg(pg, "\"layer\":\"raw\\\"; DROP TABLE public.victims; --\","
                              "\"table_prefix\":\"p'; DROP TABLE public.victims; --\"");
    const char *names[] = {"x\"); DROP TABLE victims; --", "contact-list", "a.b", "ção",
                           "semi;colon", "it's", NULL};
    const char *schema = "{\"properties\":{\"contact-list_code\":{\"type\":\"string\"},"
                         "\"we\\\"ird\":{\"type\":\"string\"},\"semi;col\":{\"type\":\"integer\"},"
                         "\"dotted.name\":{},\"ünï\":{\"type\":\"string\"}}}";
    for (const char *const *n = names; *n; n++) {
        cr_assert_eq(sxt_sink_begin(s, *n, schema, "contact-list_code", SIPHON_SYNC_INCREMENTAL, 0),
                     SIPHON_OK, "stream %s", *n);
        write_ok(s, *n, "{\"contact-list_code\":\"7\",\"we\\\"ird\":\"q\",\"semi;col\":1,"
                        "\"dotted.name\":{\"a\":1},\"ünï\":\"u\",\"new'); DROP\":\"drift\"}");
        cr_assert_eq(sxt_sink_end(s, *n, SIPHON_END_COMPLETE), SIPHON_OK);
    }
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    sxt_sink_free(s);
    assert_q(pg, "SELECT alive FROM public.victims", "1");
    char *tables = sxt_pg_query1(pg, "SELECT E'\\n' || string_agg(tablename, E'\\n') || E'\\n' "
                                     "FROM pg_tables WHERE schemaname = "
                                     "'raw\"; DROP TABLE public.victims; --'");
    cr_assert_not_null(tables);
    for (const char *const *n = names; *n; n++) {
        char *line = sxt_strf("\np'; DROP TABLE public.victims; --%s\n", *n);
        cr_assert(strstr(tables, line) != NULL, "table %s exists under its exact name in:%s",
                  line, tables);
        free(line);
    }
    free(tables);
    assert_q(pg, "SELECT \"we\"\"ird\" || \"semi;col\" || \"ünï\" || \"new'); DROP\" || "
                 "(\"dotted.name\" ->> 'a') FROM \"raw\"\"; DROP TABLE public.victims; --\"."
                 "\"p'; DROP TABLE public.victims; --a.b\"",
             "q1udrift1");
}

Test(sink_postgres, names_over_63_bytes_are_cut_with_a_hash_and_stay_distinct)
{
    sxt_pg *pg = database();
    sxt_sink *s = open_pg(pg, "\"history\":true");
    char long_a[120], long_b[120], long_col[100];
    memset(long_a, 'a', 100);
    long_a[100] = '\0';
    memcpy(long_b, long_a, 101);
    long_b[99] = 'b';
    memset(long_col, 'c', 80);
    long_col[80] = '\0';
    char *schema = sxt_strf("{\"properties\":{\"id\":{\"type\":\"integer\"},\"%s\":{}}}", long_col);
    char *rec = sxt_strf("{\"id\":1,\"%s\":\"v\"}", long_col);
    cr_assert_eq(sxt_sink_begin(s, long_a, schema, "id", SIPHON_SYNC_INCREMENTAL, 0), SIPHON_OK);
    cr_assert_eq(sxt_sink_begin(s, long_b, schema, "id", SIPHON_SYNC_FULL_TABLE, 5), SIPHON_OK);
    write_ok(s, long_a, rec);
    write_ok(s, long_a, rec);
    write_ok(s, long_b, rec);
    sxt_sink_end(s, long_a, SIPHON_END_COMPLETE);
    sxt_sink_end(s, long_b, SIPHON_END_COMPLETE);
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    sxt_sink_free(s);
    free(schema);
    free(rec);
    assert_q(pg, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE "
                 "'aaaa%' AND tablename NOT LIKE '%history' AND length(tablename) = 63 AND "
                 "tablename ~ '_[0-9a-f]{8}$'",
             "2");
    assert_q(pg, "SELECT count(*) FROM pg_tables WHERE tablename ~ '_[0-9a-f]{8}__history$'",
             "1");
    assert_q(pg, "SELECT count(*) FROM pg_attribute WHERE attname ~ '^c{54}_[0-9a-f]{8}$' AND "
                 "attrelid IN (SELECT oid FROM pg_class WHERE relname LIKE 'aaaa%')",
             "3");
}

Test(sink_postgres, layer_folder_prefix_and_table_names_shape_schema_and_table)
{
    sxt_pg *pg = database();
    sxt_sink *s = open_pg(pg, "\"layer\":\"raw\",\"folder\":\"dinamize\",\"table_prefix\":\"dz_\","
                              "\"table_names\":{\"contact_lists\":\"lists\"}");
    sxt_sink_begin(s, "contact_lists", NULL, NULL, SIPHON_SYNC_INCREMENTAL, 0);
    write_ok(s, "contact_lists", "{\"code\":\"1\"}");
    sxt_sink_commit(s, "{\"x\":1}");
    sxt_sink_free(s);
    assert_q(pg, "SELECT count(*) FROM raw.dinamize__dz_lists", "1");
    assert_q(pg, "SELECT state ->> 'x' FROM raw._siphon_state", "1");
}

Test(sink_postgres, history_keeps_replaced_and_deleted_rows_and_prunes_old_ones)
{
    sxt_pg *pg = database();
    const char *opts = "\"history\":true,\"history_retention_days\":30,\"batch_rows\":2";
    sxt_sink *s = open_pg(pg, opts);
    sxt_sink_begin(s, "contacts", CONTACTS_SCHEMA, "code", SIPHON_SYNC_INCREMENTAL, 0);
    write_ok(s, "contacts", "{\"code\":\"1\",\"name\":\"v1\"}");
    write_ok(s, "contacts", "{\"code\":\"2\",\"name\":\"same\"}");
    sxt_sink_commit(s, "{}");
    write_ok(s, "contacts", "{\"code\":\"1\",\"name\":\"v2\"}");
    write_ok(s, "contacts", "{\"code\":\"2\",\"name\":\"same\"}");
    sxt_sink_end(s, "contacts", SIPHON_END_COMPLETE);
    sxt_sink_commit(s, "{}");
    load_teams(s, 1, (const char *const[]){"a", "b", "c", NULL}, SIPHON_END_COMPLETE);
    sxt_sink_commit(s, "{}");
    sxt_sink_free(s);
    assert_q(pg, "SELECT count(*) FROM contacts__history", "1");
    assert_q(pg, "SELECT name || '/' || _siphon_change FROM contacts__history", "v1/update");

    cr_assert_eq(sxt_pg_exec(pg, "UPDATE teams SET name = 'team a v2' WHERE code = 'a'"), 0);
    s = open_pg(pg, opts);
    sxt_sink_begin(s, "teams", "{\"properties\":{\"code\":{},\"name\":{}}}", "code",
                   SIPHON_SYNC_FULL_TABLE, 2);
    write_ok(s, "teams", "{\"code\":\"a\",\"name\":\"team a v2\"}");
    write_ok(s, "teams", "{\"code\":\"c\",\"name\":\"renamed\"}");
    sxt_sink_end(s, "teams", SIPHON_END_COMPLETE);
    sxt_sink_commit(s, "{}");
    sxt_sink_free(s);
    assert_q(pg, "SELECT string_agg(code || ':' || _siphon_change, ',' ORDER BY code) FROM "
                 "teams__history",
             "b:delete,c:update");
    assert_q(pg, "SELECT name FROM teams__history WHERE code = 'c'", "team c v1");

    cr_assert_eq(sxt_pg_exec(pg, "UPDATE teams__history SET _siphon_replaced_at = now() - "
                                 "interval '40 days' WHERE code = 'b'"),
                 0);
    s = open_pg(pg, opts);
    load_teams(s, 3, (const char *const[]){"a", "c", NULL}, SIPHON_END_COMPLETE);
    sxt_sink_commit(s, "{}");
    sxt_sink_free(s);
    assert_q(pg, "SELECT string_agg(code, ',' ORDER BY code) FROM teams__history", "a,c,c");
}

Test(sink_postgres, a_table_with_another_primary_key_is_refused)
{
    sxt_pg *pg = database();
    cr_assert_eq(sxt_pg_exec(pg, "CREATE TABLE contacts (email text PRIMARY KEY, code text)"), 0);
    sxt_sink *s = open_pg(pg, NULL);
    cr_assert_eq(sxt_sink_begin(s, "contacts", CONTACTS_SCHEMA, "code", SIPHON_SYNC_INCREMENTAL, 0),
                 SIPHON_E_INVALID);
    sxt_sink_free(s);
}

Test(sink_postgres, separate_connection_options_work_without_a_dsn)
{
    sxt_pg *pg = database();
    char *config = sxt_strf("{\"host\":\"%s\",\"port\":%s,\"user\":\"%s\",\"dbname\":\"%s\"}",
                            sxt_pg_param(pg, "host"), sxt_pg_param(pg, "port"),
                            sxt_pg_param(pg, "user"), sxt_pg_param(pg, "dbname"));
    sxt_sink *s = sxt_sink_load("postgres", config);
    free(config);
    cr_assert_eq(sxt_sink_open(s), SIPHON_OK, "%s", sxt_sink_error(s));
    sxt_sink_begin(s, "users", NULL, "code", SIPHON_SYNC_INCREMENTAL, 0);
    write_ok(s, "users", "{\"code\":\"u1\"}");
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    sxt_sink_free(s);
    assert_q(pg, "SELECT code FROM users", "u1");
}

Test(sink_postgres, connection_errors_name_host_and_port_but_never_the_password)
{
    int port = sxt_free_port();
    char *config = sxt_strf("{\"dsn\":\"host=127.0.0.1 port=%d user=siphon "
                            "password=Sup3rS3cretPw dbname=x connect_timeout=5\"}",
                            port);
    sxt_sink *s = sxt_sink_load("postgres", config);
    free(config);
    cr_assert_eq(sxt_sink_open(s), SIPHON_E_IO);
    char *where = sxt_strf("127.0.0.1:%d", port);
    cr_assert(strstr(sxt_sink_error(s), where) != NULL, "error: %s", sxt_sink_error(s));
    cr_assert(strstr(sxt_sink_error(s), "Sup3rS3cretPw") == NULL, "error: %s", sxt_sink_error(s));
    cr_assert(strstr(sxt_sink_log(s), "Sup3rS3cretPw") == NULL);
    free(where);
    sxt_sink_free(s);

    config = sxt_strf("{\"host\":\"127.0.0.1\",\"port\":\"%d\",\"password\":\"Sup3rS3cretPw\"}",
                      port);
    s = sxt_sink_load("postgres", config);
    free(config);
    cr_assert_eq(sxt_sink_open(s), SIPHON_E_IO);
    cr_assert(strstr(sxt_sink_error(s), "Sup3rS3cretPw") == NULL, "error: %s", sxt_sink_error(s));
    sxt_sink_free(s);

    /* libpq quotes a malformed string in its message: the sink must not. */
    s = sxt_sink_load("postgres", "{\"dsn\":\"host=127.0.0.1 password Sup3rS3cretPw\"}");
    cr_assert_eq(sxt_sink_open(s), SIPHON_E_CONFIG);
    cr_assert(strstr(sxt_sink_error(s), "dsn") != NULL, "error: %s", sxt_sink_error(s));
    cr_assert(strstr(sxt_sink_error(s), "Sup3rS3cretPw") == NULL, "error: %s", sxt_sink_error(s));
    sxt_sink_free(s);
}
