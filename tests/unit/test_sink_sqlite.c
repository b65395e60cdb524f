/*
 * The SQLite sink through its real module on real database files: upserts,
 * FULL_TABLE swaps, state committed with the rows, crashes, schema drift,
 * hostile names, history, JSON columns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>
#include <sqlite3.h>

#include "proc.h"
#include "sink_host.h"

#define CONTACTS_SCHEMA                                                                        \
    "{\"type\":\"object\",\"properties\":{\"code\":{\"type\":\"string\"},"                     \
    "\"name\":{\"type\":[\"null\",\"string\"]},\"total\":{\"type\":[\"null\",\"integer\"]},"   \
    "\"custom_fields\":{\"type\":[\"null\",\"object\"]}}}"

typedef struct fixture {
    char *dir;
    char *db;
} fixture;

static fixture setup(void)
{
    fixture f;
    f.dir = sxt_tmpdir("sqlite");
    f.db = sxt_strf("%s/out.db", f.dir);
    return f;
}

static void teardown(fixture *f)
{
    sxt_rmtree(f->dir);
    free(f->dir);
    free(f->db);
}

static sxt_sink *open_sqlite(const fixture *f, const char *more)
{
    char *config = sxt_strf("{\"path\":\"%s\"%s%s}", f->db, more ? "," : "", more ? more : "");
    sxt_sink *s = sxt_sink_load("sqlite", config);
    free(config);
    cr_assert_not_null(s, "the sqlite sink module loads");
    cr_assert_eq(sxt_sink_open(s), SIPHON_OK, "open: %s", sxt_sink_error(s));
    return s;
}

/* The first column of the first row as text ("NULL" for NULL), or NULL when
 * there is no row. */
static char *q1(const fixture *f, const char *sql)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(db));
    char *out = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        out = strdup(text ? text : "NULL");
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

static long qn(const fixture *f, const char *sql)
{
    char *text = q1(f, sql);
    cr_assert_not_null(text, "a row from %s", sql);
    long n = strtol(text, NULL, 10);
    free(text);
    return n;
}

static void assert_q(const fixture *f, const char *sql, const char *expected)
{
    char *got = q1(f, sql);
    cr_assert_not_null(got, "a row from %s", sql);
    cr_assert_str_eq(got, expected, "%s\n  got:      %s\n  expected: %s", sql, got, expected);
    free(got);
}

static void write_ok(sxt_sink *s, const char *stream, const char *record)
{
    cr_assert_eq(sxt_sink_write(s, stream, record), SIPHON_OK, "write %s", record);
}

Test(sink_sqlite, incremental_upsert_keeps_one_row_per_key_and_the_last_record_wins)
{
    fixture f = setup();
    sxt_sink *s = open_sqlite(&f, NULL);
    cr_assert(sxt_sink_caps(s) & SIPHON_CAP_STATE_IN_SINK);
    cr_assert_eq(sxt_sink_begin(s, "contacts", CONTACTS_SCHEMA, "code", SIPHON_SYNC_INCREMENTAL, 0),
                 SIPHON_OK);
    write_ok(s, "contacts", "{\"code\":\"1\",\"name\":\"first\"}");
    write_ok(s, "contacts", "{\"code\":\"2\",\"name\":\"other\"}");
    write_ok(s, "contacts", "{\"code\":\"1\",\"name\":\"second\"}");
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    write_ok(s, "contacts", "{\"code\":\"1\",\"name\":\"third\",\"total\":\"7\"}");
    sxt_sink_end(s, "contacts", SIPHON_END_COMPLETE);
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    sxt_sink_free(s);

    cr_assert_eq(qn(&f, "SELECT count(*) FROM contacts"), 2);
    assert_q(&f, "SELECT name FROM contacts WHERE code = '1'", "third");
    assert_q(&f, "SELECT typeof(total) || ':' || total FROM contacts WHERE code = '1'",
             "integer:7");
    assert_q(&f, "SELECT _sdc_extracted_at FROM contacts WHERE code = '2'",
             "2024-05-01T10:00:00.000Z");
    teardown(&f);
}

Test(sink_sqlite, batches_of_any_size_give_the_same_table)
{
    const char *sizes[] = {"\"batch_rows\":1", "\"batch_rows\":7", "\"batch_rows\":100000", NULL};
    for (const char *const *size = sizes; *size; size++) {
        fixture f = setup();
        sxt_sink *s = open_sqlite(&f, *size);
        sxt_sink_begin(s, "contacts", CONTACTS_SCHEMA, "code", SIPHON_SYNC_INCREMENTAL, 0);
        for (int i = 0; i < 250; i++) {
            char *rec = sxt_strf("{\"code\":\"%d\",\"total\":%d}", i % 100, i);
            write_ok(s, "contacts", rec);
            free(rec);
        }
        cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
        sxt_sink_free(s);
        cr_assert_eq(qn(&f, "SELECT count(*) FROM contacts"), 100, "%s", *size);
        cr_assert_eq(qn(&f, "SELECT sum(total) FROM contacts"), 19950,
                     "%s: each key keeps its last total", *size);
        teardown(&f);
    }
}

Test(sink_sqlite, a_stream_without_key_appends_every_record)
{
    fixture f = setup();
    sxt_sink *s = open_sqlite(&f, NULL);
    sxt_sink_begin(s, "events", "{\"properties\":{\"what\":{\"type\":\"string\"}}}", NULL,
                   SIPHON_SYNC_INCREMENTAL, 0);
    write_ok(s, "events", "{\"what\":\"same\"}");
    write_ok(s, "events", "{\"what\":\"same\"}");
    sxt_sink_commit(s, "{}");
    sxt_sink_free(s);
    cr_assert_eq(qn(&f, "SELECT count(*) FROM events"), 2);
    teardown(&f);
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

Test(sink_sqlite, full_table_swap_removes_rows_deleted_at_the_source)
{
    fixture f = setup();
    sxt_sink *s = open_sqlite(&f, NULL);
    load_teams(s, 100, (const char *const[]){"a", "b", "c", NULL}, SIPHON_END_COMPLETE);
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    cr_assert_eq(qn(&f, "SELECT count(*) FROM teams"), 3);

    load_teams(s, 200, (const char *const[]){"a", "c", NULL}, -1);
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK, "a checkpoint inside the load");
    cr_assert_eq(qn(&f, "SELECT count(*) FROM teams"), 3, "readers see the old table meanwhile");
    cr_assert_eq(sxt_sink_end(s, "teams", SIPHON_END_COMPLETE), SIPHON_OK);
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    sxt_sink_free(s);

    cr_assert_eq(qn(&f, "SELECT count(*) FROM teams"), 2);
    cr_assert_eq(qn(&f, "SELECT count(*) FROM teams WHERE code = 'b'"), 0);
    assert_q(&f, "SELECT name FROM teams WHERE code = 'a'", "team a v200");
    cr_assert_eq(qn(&f, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%siphon_v%'"), 0,
                 "no staging table is left");
    teardown(&f);
}

Test(sink_sqlite, full_table_failed_keeps_the_old_table)
{
    fixture f = setup();
    sxt_sink *s = open_sqlite(&f, NULL);
    load_teams(s, 1, (const char *const[]){"a", "b", NULL}, SIPHON_END_COMPLETE);
    sxt_sink_commit(s, "{}");
    load_teams(s, 2, (const char *const[]){"z", NULL}, -1);
    sxt_sink_commit(s, "{}");
    cr_assert_eq(sxt_sink_end(s, "teams", SIPHON_END_FAILED), SIPHON_OK);
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    sxt_sink_free(s);
    cr_assert_eq(qn(&f, "SELECT count(*) FROM teams"), 2);
    cr_assert_eq(qn(&f, "SELECT count(*) FROM teams WHERE code = 'z'"), 0);
    cr_assert_eq(qn(&f, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%siphon_v%'"), 0);
    teardown(&f);
}

Test(sink_sqlite, a_full_load_resumes_its_staging_table_and_drops_stale_ones)
{
    fixture f = setup();
    sxt_sink *s = open_sqlite(&f, NULL);
    load_teams(s, 5, (const char *const[]){"old", NULL}, -1);
    sxt_sink_commit(s, "{}");
    sxt_sink_free(s);
    s = open_sqlite(&f, NULL);
    load_teams(s, 6, (const char *const[]){"a", NULL}, -1);
    sxt_sink_commit(s, "{}");
    sxt_sink_free(s);
    cr_assert_eq(qn(&f, "SELECT count(*) FROM sqlite_master WHERE name = 'teams__siphon_v5'"), 0,
                 "the interrupted load of another version is gone");

    s = open_sqlite(&f, NULL);
    load_teams(s, 6, (const char *const[]){"b", NULL}, SIPHON_END_COMPLETE);
    sxt_sink_commit(s, "{}");
    sxt_sink_free(s);
    assert_q(&f, "SELECT group_concat(code) FROM (SELECT code FROM teams ORDER BY code)", "a,b");
    teardown(&f);
}

/* The child commits 3 rows with state {"n":3}, writes more rows (an
 * INCREMENTAL batch and a whole FULL_TABLE load ended COMPLETE), and dies
 * before the next commit. */
static void crash_after_commit(const fixture *f)
{
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        sxt_sink *s = open_sqlite(f, "\"batch_rows\":10");
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
}

Test(sink_sqlite, crash_after_commit_leaves_exactly_the_committed_rows_and_state)
{
    fixture f = setup();
    crash_after_commit(&f);
    sxt_sink *s = open_sqlite(&f, NULL);
    json_t *state = NULL;
    cr_assert_eq(sxt_sink_load_state(s, &state), SIPHON_OK);
    cr_assert_eq(json_integer_value(json_object_get(state, "n")), 3);
    json_decref(state);
    sxt_sink_free(s);
    cr_assert_eq(qn(&f, "SELECT count(*) FROM contacts"), 3);
    cr_assert_eq(qn(&f, "SELECT count(*) FROM contacts WHERE name = 'lost'"), 0);
    assert_q(&f, "SELECT group_concat(code) FROM teams", "a");
    teardown(&f);
}

Test(sink_sqlite, state_round_trips_and_each_target_keeps_its_own)
{
    fixture f = setup();
    sxt_sink *s = open_sqlite(&f, NULL);
    json_t *state = NULL;
    cr_assert_eq(sxt_sink_load_state(s, &state), SIPHON_OK);
    cr_assert_null(state);
    cr_assert_eq(sxt_sink_commit(s, "{\"bookmarks\":{\"a\":{\"replication_key_value\":\"x\"}}}"),
                 SIPHON_OK);
    sxt_sink_free(s);
    s = open_sqlite(&f, "\"folder\":\"other\"");
    cr_assert_eq(sxt_sink_commit(s, "{\"mine\":true}"), SIPHON_OK);
    sxt_sink_free(s);

    s = open_sqlite(&f, NULL);
    cr_assert_eq(sxt_sink_commit(s, NULL), SIPHON_OK, "a commit without state keeps the state");
    cr_assert_eq(sxt_sink_load_state(s, &state), SIPHON_OK);
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_object_get(state, "bookmarks"), "a"),
                         "replication_key_value")),
                     "x");
    json_decref(state);
    sxt_sink_free(s);
    cr_assert_eq(qn(&f, "SELECT count(*) FROM _siphon_state"), 2);
    assert_q(&f, "SELECT json_extract(state, '$.mine') FROM _siphon_state WHERE target LIKE "
                 "'%other%'",
             "1");
    teardown(&f);
}

Test(sink_sqlite, a_key_the_schema_does_not_name_gets_its_own_column)
{
    fixture f = setup();
    sxt_sink *s = open_sqlite(&f, "\"batch_rows\":4");
    sxt_sink_begin(s, "contacts", CONTACTS_SCHEMA, "code", SIPHON_SYNC_INCREMENTAL, 0);
    write_ok(s, "contacts", "{\"code\":\"1\",\"name\":\"before drift\"}");
    write_ok(s, "contacts", "{\"code\":\"2\",\"status\":\"V\",\"total_clicks\":3,\"spam\":null}");
    write_ok(s, "contacts", "{\"code\":\"3\",\"total_clicks\":\"many\"}");
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    sxt_sink_free(s);
    assert_q(&f, "SELECT status FROM contacts WHERE code = '2'", "V");
    assert_q(&f, "SELECT total_clicks FROM contacts WHERE code = '2'", "3");
    assert_q(&f, "SELECT total_clicks FROM contacts WHERE code = '3'", "\"many\"");
    assert_q(&f, "SELECT name FROM contacts WHERE code = '1'", "before drift");
    teardown(&f);
}

Test(sink_sqlite, a_new_schema_for_an_open_stream_adds_its_columns)
{
    fixture f = setup();
    sxt_sink *s = open_sqlite(&f, NULL);
    sxt_sink_begin(s, "contacts", CONTACTS_SCHEMA, "code", SIPHON_SYNC_INCREMENTAL, 0);
    write_ok(s, "contacts", "{\"code\":\"1\",\"name\":\"a\"}");
    cr_assert_eq(sxt_sink_begin(s, "contacts",
                                "{\"properties\":{\"code\":{},\"score\":{\"type\":\"number\"}}}",
                                "code", SIPHON_SYNC_INCREMENTAL, 0),
                 SIPHON_OK);
    write_ok(s, "contacts", "{\"code\":\"2\",\"score\":\"2.50\"}");
    sxt_sink_commit(s, "{}");
    sxt_sink_free(s);
    assert_q(&f, "SELECT typeof(score) || ':' || score FROM contacts WHERE code = '2'",
             "real:2.5");
    assert_q(&f, "SELECT name FROM contacts WHERE code = '1'", "a");
    teardown(&f);
}

Test(sink_sqlite, values_are_stored_by_the_documented_type_mapping)
{
    fixture f = setup();
    sxt_sink *s = open_sqlite(&f, NULL);
    const char *schema =
        "{\"properties\":{\"k\":{\"type\":\"integer\"},\"s\":{\"type\":\"string\"},"
        "\"i\":{\"type\":[\"null\",\"integer\"]},\"n\":{\"type\":\"number\"},"
        "\"b\":{\"type\":\"boolean\"},\"o\":{\"type\":\"object\"},\"a\":{\"type\":\"array\"},"
        "\"u\":{},\"d\":{\"type\":\"string\",\"format\":\"date-time\"},"
        "\"any\":{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"null\"}]}}}";
    sxt_sink_begin(s, "typed", schema, "k", SIPHON_SYNC_INCREMENTAL, 0);
    write_ok(s, "typed", "{\"k\":1,\"s\":12,\"i\":\"42\",\"n\":\"1250.50\",\"b\":\"true\","
                         "\"o\":{\"x\":[1,2]},\"a\":[\"p\",\"q\"],\"u\":\"text\","
                         "\"d\":\"2024-05-01 10:00:00\",\"any\":\"9\"}");
    write_ok(s, "typed", "{\"k\":\"2\",\"s\":null,\"i\":\"\",\"n\":0.1,\"b\":false}");
    cr_assert_eq(sxt_sink_write(s, "typed", "{\"k\":3,\"i\":\"forty\"}"), SIPHON_E_INVALID,
                 "a value that does not fit a declared column is refused");
    cr_assert_eq(sxt_sink_write(s, "typed", "{\"s\":\"no key\"}"), SIPHON_E_INVALID,
                 "a record without its primary key is refused");
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    sxt_sink_free(s);
    assert_q(&f, "SELECT typeof(s) || ':' || s FROM typed WHERE k = 1", "text:12");
    assert_q(&f, "SELECT typeof(i) || ':' || i FROM typed WHERE k = 1", "integer:42");
    assert_q(&f, "SELECT typeof(n) || ':' || n FROM typed WHERE k = 1", "real:1250.5");
    assert_q(&f, "SELECT b FROM typed WHERE k = 1", "1");
    assert_q(&f, "SELECT o FROM typed WHERE k = 1", "{\"x\":[1,2]}");
    assert_q(&f, "SELECT json_extract(a, '$[1]') FROM typed WHERE k = 1", "q");
    assert_q(&f, "SELECT json_extract(u, '$') FROM typed WHERE k = 1", "text");
    assert_q(&f, "SELECT d FROM typed WHERE k = 1", "2024-05-01 10:00:00");
    assert_q(&f, "SELECT typeof(any) || ':' || any FROM typed WHERE k = 1", "integer:9");
    assert_q(&f, "SELECT typeof(i) FROM typed WHERE k = 2", "null");
    assert_q(&f, "SELECT typeof(s) FROM typed WHERE k = 2", "null");
    assert_q(&f, "SELECT n FROM typed WHERE k = 2", "0.1");
    assert_q(&f, "SELECT b FROM typed WHERE k = 2", "0");
    assert_q(&f, "SELECT count(*) FROM typed", "2");
    teardown(&f);
}

Test(sink_sqlite, json_columns_are_queryable_with_json_extract)
{
    fixture f = setup();
    sxt_sink *s = open_sqlite(&f, NULL);
    sxt_sink_begin(s, "contacts", CONTACTS_SCHEMA, "code", SIPHON_SYNC_INCREMENTAL, 0);
    write_ok(s, "contacts", "{\"code\":\"1\",\"custom_fields\":{\"cmp4\":\"São Paulo\","
                            "\"cmp5\":\"12\",\"tags\":[\"a\",\"b\"]}}");
    write_ok(s, "contacts", "{\"code\":\"2\",\"custom_fields\":{\"cmp4\":\"Recife\"}}");
    sxt_sink_commit(s, "{}");
    sxt_sink_free(s);
    assert_q(&f, "SELECT json_extract(custom_fields, '$.cmp4') FROM contacts WHERE code = '1'",
             "São Paulo");
    assert_q(&f, "SELECT json_extract(custom_fields, '$.tags[1]') FROM contacts WHERE code = '1'",
             "b");
    assert_q(&f, "SELECT code FROM contacts WHERE custom_fields ->> '$.cmp4' = 'Recife'", "2");
    teardown(&f);
}

Test(sink_sqlite, hostile_identifiers_create_the_right_tables_without_injection)
{
    fixture f = setup();
    sxt_sink *s = open_sqlite(&f, "\"table_prefix\":\"p\\\"; DROP TABLE victims; --\"");
    sxt_sink_begin(s, "victims", NULL, NULL, SIPHON_SYNC_INCREMENTAL, 0);
    write_ok(s, "victims", "{\"alive\":1}");
    const char *names[] = {"x\"); DROP TABLE \"p\"\"; DROP TABLE victims; --victims\"; --",
                           "contact-list", "a.b", "ção", "semi;colon", "it's", NULL};
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

    cr_assert_eq(qn(&f, "SELECT count(*) FROM \"p\"\"; DROP TABLE victims; --victims\""), 1,
                 "the victims table (with its hostile prefix) is intact");
    for (const char *const *n = names; *n; n++) {
        sqlite3 *db;
        sqlite3_open_v2(f.db, &db, SQLITE_OPEN_READONLY, NULL);
        sqlite3_stmt *st;
        sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
                           -1, &st, NULL);
        char *table = sxt_strf("p\"; DROP TABLE victims; --%s", *n);
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
        cr_assert_eq(sqlite3_column_int(st, 0), 1, "table %s exists under its exact name", table);
        sqlite3_finalize(st);
        sqlite3_close(db);
        free(table);
    }
    assert_q(&f, "SELECT \"we\"\"ird\" || \"semi;col\" || \"ünï\" || \"new'); DROP\" || "
                 "json_extract(\"dotted.name\", '$.a') FROM \"p\"\"; DROP TABLE victims; --a.b\"",
             "q1udrift1");
    teardown(&f);
}

Test(sink_sqlite, layer_folder_prefix_and_table_names_shape_the_table_name)
{
    fixture f = setup();
    sxt_sink *s = open_sqlite(&f, "\"layer\":\"raw\",\"folder\":\"dinamize\","
                                  "\"table_prefix\":\"dz_\","
                                  "\"table_names\":{\"contact_lists\":\"lists\"}");
    sxt_sink_begin(s, "contact_lists", NULL, NULL, SIPHON_SYNC_INCREMENTAL, 0);
    sxt_sink_begin(s, "users", NULL, NULL, SIPHON_SYNC_INCREMENTAL, 0);
    write_ok(s, "contact_lists", "{\"code\":\"1\"}");
    write_ok(s, "users", "{\"code\":\"1\"}");
    sxt_sink_commit(s, "{}");
    sxt_sink_free(s);
    cr_assert_eq(qn(&f, "SELECT count(*) FROM raw__dinamize__dz_lists"), 1);
    cr_assert_eq(qn(&f, "SELECT count(*) FROM raw__dinamize__dz_users"), 1);
    teardown(&f);

    fixture g = setup();
    char *config = sxt_strf("{\"path\":\"%s\",\"table_names\":[\"not\",\"an object\"]}", g.db);
    s = sxt_sink_load("sqlite", config);
    free(config);
    cr_assert_eq(sxt_sink_open(s), SIPHON_E_CONFIG);
    cr_assert(strstr(sxt_sink_error(s), "table_names") != NULL, "%s", sxt_sink_error(s));
    sxt_sink_free(s);
    teardown(&g);
}

Test(sink_sqlite, history_keeps_replaced_and_deleted_rows_and_prunes_old_ones)
{
    fixture f = setup();
    sxt_sink *s = open_sqlite(&f, "\"history\":true,\"history_retention_days\":30");
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

    cr_assert_eq(qn(&f, "SELECT count(*) FROM contacts__history"), 1,
                 "only the changed row left a version; the re-read unchanged row did not");
    assert_q(&f, "SELECT name || '/' || _siphon_change FROM contacts__history", "v1/update");
    assert_q(&f, "SELECT substr(_siphon_replaced_at, 11, 1) || substr(_siphon_replaced_at, -1) "
                 "FROM contacts__history",
             "TZ");

    /* A second full load: b deleted, c changed, a the same. */
    sqlite3 *db;
    sqlite3_open(f.db, &db);
    sqlite3_exec(db, "UPDATE teams SET name = 'team a v2' WHERE code = 'a'", NULL, NULL, NULL);
    sqlite3_close(db);
    s = open_sqlite(&f, "\"history\":true,\"history_retention_days\":30");
    cr_assert_eq(sxt_sink_begin(s, "teams", "{\"properties\":{\"code\":{},\"name\":{}}}", "code",
                                SIPHON_SYNC_FULL_TABLE, 2),
                 SIPHON_OK);
    write_ok(s, "teams", "{\"code\":\"a\",\"name\":\"team a v2\"}");
    write_ok(s, "teams", "{\"code\":\"c\",\"name\":\"renamed\"}");
    sxt_sink_end(s, "teams", SIPHON_END_COMPLETE);
    sxt_sink_commit(s, "{}");
    sxt_sink_free(s);
    assert_q(&f, "SELECT group_concat(code || ':' || _siphon_change) FROM (SELECT * FROM "
                 "teams__history ORDER BY code)",
             "b:delete,c:update");
    assert_q(&f, "SELECT name FROM teams__history WHERE code = 'c'", "team c v1");

    /* Rows older than the retention go at the next end_stream. */
    sqlite3_open(f.db, &db);
    sqlite3_exec(db, "UPDATE teams__history SET _siphon_replaced_at = '2000-01-01T00:00:00.000Z' "
                     "WHERE code = 'b'",
                 NULL, NULL, NULL);
    sqlite3_close(db);
    s = open_sqlite(&f, "\"history\":true,\"history_retention_days\":30");
    load_teams(s, 3, (const char *const[]){"a", "c", NULL}, SIPHON_END_COMPLETE);
    sxt_sink_commit(s, "{}");
    sxt_sink_free(s);
    assert_q(&f, "SELECT group_concat(code) FROM (SELECT code FROM teams__history ORDER BY code)",
             "a,c,c");
    teardown(&f);
}

Test(sink_sqlite, a_stream_named_like_the_state_table_is_refused)
{
    fixture f = setup();
    sxt_sink *s = open_sqlite(&f, NULL);
    cr_assert_eq(sxt_sink_begin(s, "_SIPHON_state", NULL, "target", SIPHON_SYNC_INCREMENTAL, 0),
                 SIPHON_E_CONFIG);
    cr_assert_eq(sxt_sink_commit(s, "{\"kept\":1}"), SIPHON_OK);
    sxt_sink_free(s);
    assert_q(&f, "SELECT json_extract(state, '$.kept') FROM _siphon_state", "1");
    teardown(&f);
}

Test(sink_sqlite, a_view_on_a_full_table_survives_the_swap)
{
    fixture f = setup();
    sxt_sink *s = open_sqlite(&f, NULL);
    load_teams(s, 1, (const char *const[]){"a", NULL}, SIPHON_END_COMPLETE);
    sxt_sink_commit(s, "{}");
    sxt_sink_free(s);
    sqlite3 *db;
    sqlite3_open(f.db, &db);
    cr_assert_eq(sqlite3_exec(db, "CREATE VIEW team_codes AS SELECT code FROM teams", NULL, NULL,
                              NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    s = open_sqlite(&f, NULL);
    load_teams(s, 2, (const char *const[]){"x", "y", NULL}, SIPHON_END_COMPLETE);
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    sxt_sink_free(s);
    assert_q(&f, "SELECT group_concat(code) FROM team_codes", "x,y");
    teardown(&f);
}

Test(sink_sqlite, streams_written_in_turn_commit_together)
{
    fixture f = setup();
    sxt_sink *s = open_sqlite(&f, "\"batch_rows\":3");
    sxt_sink_begin(s, "contacts", CONTACTS_SCHEMA, "code", SIPHON_SYNC_INCREMENTAL, 0);
    sxt_sink_begin(s, "events", NULL, NULL, SIPHON_SYNC_INCREMENTAL, 0);
    for (int i = 0; i < 10; i++) {
        char *rec = sxt_strf("{\"code\":\"%d\"}", i);
        write_ok(s, i % 2 ? "contacts" : "events", rec);
        free(rec);
    }
    sxt_sink_commit(s, "{\"both\":1}");
    sxt_sink_free(s);
    cr_assert_eq(qn(&f, "SELECT count(*) FROM contacts"), 5);
    cr_assert_eq(qn(&f, "SELECT count(*) FROM events"), 5);
    teardown(&f);
}

Test(sink_sqlite, a_table_with_another_primary_key_is_refused)
{
    fixture f = setup();
    sqlite3 *db;
    sqlite3_open(f.db, &db);
    sqlite3_exec(db, "CREATE TABLE contacts (email TEXT PRIMARY KEY, code TEXT)", NULL, NULL,
                 NULL);
    sqlite3_close(db);
    sxt_sink *s = open_sqlite(&f, NULL);
    cr_assert_eq(sxt_sink_begin(s, "contacts", CONTACTS_SCHEMA, "code", SIPHON_SYNC_INCREMENTAL, 0),
                 SIPHON_E_INVALID);
    sxt_sink_free(s);
    teardown(&f);
}

Test(sink_sqlite, an_unopenable_database_is_a_clear_error)
{
    fixture f = setup();
    char *config = sxt_strf("{\"path\":\"%s/missing/dir/x.db\"}", f.dir);
    sxt_sink *s = sxt_sink_load("sqlite", config);
    free(config);
    cr_assert_eq(sxt_sink_open(s), SIPHON_E_IO);
    cr_assert(strstr(sxt_sink_error(s), "missing/dir/x.db") != NULL, "%s", sxt_sink_error(s));
    sxt_sink_free(s);
    teardown(&f);
}
