/*
 * The connector guide's four SQL use cases (contrib/sql/) run on databases
 * siphon filled from the emulator — SQLite and PostgreSQL — and return what
 * the emulator's data implies, computed here independently from its dump.
 * Also: a FULL_TABLE run after deletions at the source leaves exactly the
 * remaining rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "dz_harness.h"
#include "pg.h"
#include "siphon_cli.h"
#include "test-paths.h"

typedef struct db {
    const char *kind;   /* "sqlite" or "postgres" */
    char *path;         /* sqlite file */
    sxt_pg *pg;
} db;

static void db_open(db *d, const char *kind, const sxt_dz *t)
{
    d->kind = kind;
    d->path = NULL;
    d->pg = NULL;
    if (strcmp(kind, "sqlite") == 0) {
        d->path = sxt_strf("%s/dinamize.db", t->dir);
    } else {
        d->pg = sxt_pg_new();
        cr_assert_not_null(d->pg, "no PostgreSQL server (see tests/support/pg.h)");
    }
}

static void db_close(db *d)
{
    if (d->pg)
        sxt_pg_free(d->pg);
    free(d->path);
}

static char *sink_config(const db *d)
{
    if (d->pg)
        return sxt_strf("\"sink\":{\"type\":\"postgres\",\"dsn\":\"%s\"}", sxt_pg_dsn(d->pg));
    return sxt_strf("\"sink\":{\"type\":\"sqlite\",\"path\":\"%s\"}", d->path);
}

static void sync_into(sxt_dz *t, const db *d, const char *select)
{
    char *sink = sink_config(d);
    char *extra = sxt_strf("{%s,\"requests_per_minute\":0}", sink);
    sxt_dz_config(t, extra);
    const char *argv[] = {"run", "--config", t->config_path, "--select", select, "-q", NULL};
    sxt_result r = sxt_siphon_argv(t->plugin_path, NULL, NULL, 120, argv);
    cr_assert(r.exited && r.status == 0, "sync into %s failed (%d): %s", d->kind, r.status, r.err);
    sxt_result_free(&r);
    free(extra);
    free(sink);
}

/* Runs sql and returns its rows as a JSON array of objects. */
static json_t *db_rows(const db *d, const char *sql)
{
    json_t *rows;
    if (d->pg) {
        char *wrapped = sxt_strf("SELECT COALESCE(json_agg(q), '[]') FROM (%s) q", sql);
        char *text = sxt_pg_query1(d->pg, wrapped);
        cr_assert_not_null(text, "query failed: %s", sql);
        rows = json_loads(text, 0, NULL);
        free(text);
        free(wrapped);
    } else {
        /* on stdin: a statement starting with a "--" comment is not an option */
        const char *argv[] = {"sqlite3", "-json", d->path, NULL};
        char *input = sxt_strf("%s;\n", sql);
        sxt_result r = sxt_run(argv, NULL, input, 30);
        free(input);
        cr_assert(r.exited && r.status == 0, "sqlite3: %s", r.err);
        rows = r.out_len ? json_loads(r.out, 0, NULL) : json_array();
        sxt_result_free(&r);
    }
    cr_assert(json_is_array(rows), "not rows: %s", sql);
    return rows;
}

/* The use case's SQL for this database, with "today" pinned to as_of. */
static char *use_case_sql(const db *d, const char *name, const char *as_of)
{
    char *path = sxt_strf("%s/contrib/sql/%s/%s.sql", SX_TEST_SOURCE_ROOT, d->kind, name);
    char *sql = sxt_read_file(path, NULL);
    cr_assert_not_null(sql, "missing %s", path);
    free(path);
    const char *today = d->pg ? "CURRENT_DATE" : "'now'";
    char *pinned = d->pg ? sxt_strf("DATE '%s'", as_of) : sxt_strf("'%s'", as_of);
    char *out = malloc(strlen(sql) * 2 + 64);
    char *o = out;
    for (const char *p = sql; *p;) {
        if (strncmp(p, today, strlen(today)) == 0) {
            o += sprintf(o, "%s", pinned);
            p += strlen(today);
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    /* one statement: drop the final semicolon so it can be wrapped */
    while (o > out && (o[-1] == '\n' || o[-1] == ';' || o[-1] == ' '))
        *--o = '\0';
    free(pinned);
    free(sql);
    return out;
}

/* A row with every number as "%.4f" text, so integer/real/decimal renderings
 * of one value compare equal; rows sorted, so order-independent. */
static json_t *normalise(const json_t *rows)
{
    json_t *out = json_array();
    size_t i;
    const json_t *row;
    json_array_foreach(rows, i, row) {
        json_t *n = json_object();
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)row, k, v) {
            if (json_is_number(v)) {
                char buf[64];
                snprintf(buf, sizeof buf, "%.4f", json_number_value(v));
                json_object_set_new(n, k, json_string(buf));
            } else {
                json_object_set(n, k, v);
            }
        }
        json_array_append_new(out, n);
    }
    return out;
}

static int cmp_dumps(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void assert_same_rows(const char *what, const json_t *got, const json_t *want)
{
    json_t *g = normalise(got), *w = normalise(want);
    cr_assert_eq(json_array_size(g), json_array_size(w), "%s: %zu rows, expected %zu", what,
                 json_array_size(g), json_array_size(w));
    size_t n = json_array_size(g);
    char **gs = calloc(n + 1, sizeof *gs), **ws = calloc(n + 1, sizeof *ws);
    for (size_t i = 0; i < n; i++) {
        gs[i] = json_dumps(json_array_get(g, i), JSON_SORT_KEYS | JSON_COMPACT);
        ws[i] = json_dumps(json_array_get(w, i), JSON_SORT_KEYS | JSON_COMPACT);
    }
    qsort(gs, n, sizeof *gs, cmp_dumps);
    qsort(ws, n, sizeof *ws, cmp_dumps);
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(gs[i], ws[i], "%s: row differs", what);
    for (size_t i = 0; i < n; i++) {
        free(gs[i]);
        free(ws[i]);
    }
    free(gs);
    free(ws);
    json_decref(g);
    json_decref(w);
}

static const char *str(const json_t *rec, const char *key)
{
    return json_string_value(json_object_get(rec, key));
}

static double num(const json_t *rec, const char *key)
{
    const json_t *v = json_object_get(rec, key);
    return json_is_string(v) ? strtod(json_string_value(v), NULL) : json_number_value(v);
}

/* The latest date (YYYY-MM-DD) of a date field, and that date minus 30 days. */
static void window(const json_t *records, const char *field, char as_of[11], char from[11])
{
    as_of[0] = '\0';
    size_t i;
    const json_t *r;
    json_array_foreach(records, i, r) {
        const char *d = str(r, field);
        if (d && strncmp(d, as_of, 10) > 0) {
            memcpy(as_of, d, 10);
            as_of[10] = '\0';
        }
    }
    struct tm tm = {0};
    strptime(as_of, "%Y-%m-%d", &tm);
    time_t t = timegm(&tm) - 30 * 86400;
    gmtime_r(&t, &tm);
    strftime(from, 11, "%Y-%m-%d", &tm);
}

static void campaign_performance(sxt_dz *t, const db *d)
{
    json_t *actions = sxt_dz_expected(t, "actions");
    char as_of[11], from[11];
    window(actions, "date_create", as_of, from);
    json_t *want = json_array();
    size_t i;
    const json_t *a;
    json_array_foreach(actions, i, a) {
        if (strncmp(str(a, "date_create"), from, 10) < 0)
            continue;
        double contacts = (double)(long long)num(a, "total_contacts");
        double sent = (double)(long long)num(a, "total_sent");
        json_array_append_new(want, json_pack(
            "{s:O, s:O, s:O, s:O, s:O, s:f, s:f, s:f, s:O, s:O, s:O}",
            "campaign_code", json_object_get(a, "campaign_code"),
            "action_title", json_object_get(a, "title"),
            "action_type", json_object_get(a, "action_type"),
            "status", json_object_get(a, "status"),
            "contact-list_title", json_object_get(a, "contact-list_title"),
            "total_contacts", contacts, "total_sent", sent,
            "send_rate", contacts > 0 ? sent * 100.0 / contacts : 0.0,
            "date_create", json_object_get(a, "date_create"),
            "date_start", json_object_get(a, "date_start"),
            "date_end", json_object_get(a, "date_end")));
    }
    cr_assert_gt(json_array_size(want), 0, "the window should hold some sends");
    char *sql = use_case_sql(d, "campaign_performance", as_of);
    json_t *got = db_rows(d, sql);
    assert_same_rows("campaign performance", got, want);
    json_decref(got);
    json_decref(want);
    json_decref(actions);
    free(sql);
}

static void contact_list_analysis(sxt_dz *t, const db *d)
{
    json_t *lists = sxt_dz_expected(t, "contact_lists");
    json_t *users = sxt_dz_expected(t, "users");
    json_t *want = json_array();
    size_t i, k;
    const json_t *l, *u;
    json_array_foreach(lists, i, l) {
        if (strcmp(str(l, "status"), "LI") != 0)
            continue;
        const json_t *owner = json_null();
        json_array_foreach(users, k, u) {
            if (str(l, "user_code") && strcmp(str(u, "code"), str(l, "user_code")) == 0)
                owner = json_object_get(u, "name");
        }
        double total = (double)(long long)num(l, "total_contacts");
        double valid = (double)(long long)num(l, "total_valid");
        json_array_append_new(want, json_pack(
            "{s:O, s:O, s:O, s:O, s:O, s:f, s:f, s:f, s:O, s:O}",
            "code", json_object_get(l, "code"), "title", json_object_get(l, "title"),
            "type", json_object_get(l, "type"), "status", json_object_get(l, "status"),
            "user_code", json_object_get(l, "user_code"), "total_contacts", total,
            "total_valid", valid, "validity_rate", total > 0 ? valid * 100.0 / total : 0.0,
            "insert_date", json_object_get(l, "insert_date"), "owner_name", owner));
    }
    cr_assert_gt(json_array_size(want), 0);
    char *sql = use_case_sql(d, "contact_list_analysis", "unused");
    json_t *got = db_rows(d, sql);
    assert_same_rows("contact list analysis", got, want);
    json_decref(got);
    json_decref(want);
    json_decref(lists);
    json_decref(users);
    free(sql);
}

static void transaction_analysis(sxt_dz *t, const db *d)
{
    json_t *tx = sxt_dz_expected(t, "transactions");
    char as_of[11], from[11];
    window(tx, "dt_transaction", as_of, from);
    json_t *days = json_object(); /* date -> {count, sum, actions{}} */
    size_t i;
    const json_t *r;
    json_array_foreach(tx, i, r) {
        const char *dt = str(r, "dt_transaction");
        if (strncmp(dt, from, 10) < 0)
            continue;
        char day[11];
        memcpy(day, dt, 10);
        day[10] = '\0';
        json_t *g = json_object_get(days, day);
        if (g == NULL) {
            g = json_pack("{s:i, s:f, s:{}}", "count", 0, "sum", 0.0, "actions");
            json_object_set_new(days, day, g);
        }
        json_object_set_new(g, "count", json_integer(json_integer_value(json_object_get(g, "count")) + 1));
        json_object_set_new(g, "sum", json_real(json_real_value(json_object_get(g, "sum")) + num(r, "value")));
        json_object_set_new(json_object_get(g, "actions"), str(r, "action_code"), json_true());
    }
    json_t *want = json_array();
    const char *day;
    json_t *g;
    json_object_foreach(days, day, g) {
        double count = (double)json_integer_value(json_object_get(g, "count"));
        double sum = json_real_value(json_object_get(g, "sum"));
        json_array_append_new(want, json_pack("{s:s, s:f, s:f, s:f, s:f}", "transaction_date", day,
            "transaction_count", count, "total_value", sum, "avg_value", sum / count,
            "unique_actions", (double)json_object_size(json_object_get(g, "actions"))));
    }
    cr_assert_gt(json_array_size(want), 0);
    char *sql = use_case_sql(d, "transaction_analysis", as_of);
    json_t *got = db_rows(d, sql);
    assert_same_rows("transaction analysis", got, want);
    json_decref(got);
    json_decref(want);
    json_decref(days);
    json_decref(tx);
    free(sql);
}

static void optout_analysis(sxt_dz *t, const db *d)
{
    json_t *optouts = sxt_dz_expected(t, "optout_emails");
    char as_of[11], from[11];
    window(optouts, "request_date", as_of, from);
    json_t *groups = json_object(); /* "date|origin|reason" -> row */
    size_t i;
    const json_t *r;
    json_array_foreach(optouts, i, r) {
        const char *rd = str(r, "request_date");
        if (rd == NULL || strncmp(rd, from, 10) < 0)
            continue;
        char day[11];
        memcpy(day, rd, 10);
        day[10] = '\0';
        char *key = sxt_strf("%s|%s|%s", day, str(r, "origin") ? str(r, "origin") : "\x01",
                             str(r, "reason_description") ? str(r, "reason_description") : "\x01");
        json_t *row = json_object_get(groups, key);
        if (row == NULL) {
            row = json_pack("{s:s, s:O, s:O, s:f, s:{}}", "optout_date", day, "origin",
                            json_object_get(r, "origin") ? json_object_get(r, "origin") : json_null(),
                            "reason_description",
                            json_object_get(r, "reason_description") ? json_object_get(r, "reason_description")
                                                                     : json_null(),
                            "optout_count", 0.0, "emails");
            json_object_set_new(groups, key, row);
        }
        json_object_set_new(row, "optout_count",
                            json_real(json_real_value(json_object_get(row, "optout_count")) + 1));
        json_object_set_new(json_object_get(row, "emails"), str(r, "email"), json_true());
        free(key);
    }
    json_t *want = json_array();
    const char *key;
    json_t *row;
    json_object_foreach(groups, key, row) {
        json_object_set_new(row, "unique_emails",
                            json_real((double)json_object_size(json_object_get(row, "emails"))));
        json_object_del(row, "emails");
        json_array_append(want, row);
    }
    cr_assert_gt(json_array_size(want), 0);
    char *sql = use_case_sql(d, "optout_analysis", as_of);
    json_t *got = db_rows(d, sql);
    assert_same_rows("opt-out analysis", got, want);
    json_decref(got);
    json_decref(want);
    json_decref(groups);
    json_decref(optouts);
    free(sql);
}

static void four_use_cases(const char *kind)
{
    static const char *const emu[] = {"--actions", "600", "--transactions", "2000", "--optouts",
                                      "150", "--users", "5", NULL};
    sxt_dz t;
    sxt_dz_start(&t, emu, NULL);
    db d;
    db_open(&d, kind, &t);
    sync_into(&t, &d, "actions,contact_lists,users,transactions,optout_emails");
    campaign_performance(&t, &d);
    contact_list_analysis(&t, &d);
    transaction_analysis(&t, &d);
    optout_analysis(&t, &d);
    db_close(&d);
    sxt_dz_stop(&t);
}

Test(dz_use_cases, the_four_guide_queries_on_sqlite_return_what_the_data_implies)
{
    four_use_cases("sqlite");
}

Test(dz_use_cases, the_four_guide_queries_on_postgres_return_what_the_data_implies)
{
    four_use_cases("postgres");
}

/* FULL_TABLE after deletions at the source: exactly the remaining rows. */
static void full_table_after_deletes(const char *kind)
{
    sxt_dz t;
    sxt_dz_start(&t, NULL, NULL);
    db d;
    db_open(&d, kind, &t);
    char *sink = sink_config(&d);
    char *extra = sxt_strf("{%s,\"requests_per_minute\":0,\"streams\":{\"campaigns\":"
                           "{\"replication_method\":\"FULL_TABLE\"}}}", sink);
    sxt_dz_config(&t, extra);
    const char *argv[] = {"run", "--config", t.config_path, "--select", "campaigns", "-q", NULL};
    sxt_result r = sxt_siphon_argv(t.plugin_path, NULL, NULL, 120, argv);
    cr_assert(r.exited && r.status == 0, "%s", r.err);
    sxt_result_free(&r);

    json_t *before = sxt_dz_expected(&t, "campaigns");
    cr_assert_geq(json_array_size(before), 3);
    for (size_t i = 0; i < 2; i++) {
        char *body = sxt_strf("{\"stream\":\"campaigns\",\"key\":{\"code\":\"%s\"}}",
                              str(json_array_get(before, i), "code"));
        json_t *ans = sxt_emulator_call(t.emu, "/_emulator/delete", body);
        cr_assert_not_null(ans);
        json_decref(ans);
        free(body);
    }
    r = sxt_siphon_argv(t.plugin_path, NULL, NULL, 120, argv);
    cr_assert(r.exited && r.status == 0, "%s", r.err);
    sxt_result_free(&r);

    json_t *after = sxt_dz_expected(&t, "campaigns");
    cr_assert_eq(json_array_size(after), json_array_size(before) - 2);
    json_t *got = db_rows(&d, "SELECT code, title, insert_date FROM campaigns");
    json_t *want = json_array();
    size_t i;
    const json_t *c;
    json_array_foreach(after, i, c)
        json_array_append_new(want, json_pack("{s:O, s:O, s:O}", "code", json_object_get(c, "code"),
                                              "title", json_object_get(c, "title"), "insert_date",
                                              json_object_get(c, "insert_date")));
    assert_same_rows("campaigns after deletions", got, want);
    json_decref(got);
    json_decref(want);
    json_decref(before);
    json_decref(after);
    free(extra);
    free(sink);
    db_close(&d);
    sxt_dz_stop(&t);
}

Test(dz_use_cases, full_table_on_sqlite_drops_rows_deleted_at_the_source)
{
    full_table_after_deletes("sqlite");
}

Test(dz_use_cases, full_table_on_postgres_drops_rows_deleted_at_the_source)
{
    full_table_after_deletes("postgres");
}
