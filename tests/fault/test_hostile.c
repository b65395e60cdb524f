/*
 * test_hostile.c: hostile names and values into every sink, from a test
 * plugin (tests/fault/plugins/hostile_streams.c) and from the API itself.
 *
 * Whatever can be stored comes back exactly (megabytes of text, deep
 * nesting, 64-bit and double extremes, control characters, SQL, quotes,
 * names with semicolons, slashes, dots, unicode); no name injects SQL or
 * leaves the output folder; and what cannot be stored (a number beyond
 * 64 bits or a double, bytes that are not UTF-8, nesting no reader can parse,
 * NUL in PostgreSQL text, two names a database cannot tell apart) is an
 * error naming the stream and the field, never a silent drop.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "fault/fault-paths.h"
#include "fz.h"
#include "siphon_cli.h"
#include "deadline.h"

SXT_DEADLINE(180)

TestSuite(hostile, .init = sxt_deadline_180s);

#define BIG_MB 4

typedef struct rig {
    const char *sink;
    char *dir;
    sxt_pg *pg;
    sxt_dest *d;
    char *cfg;
    char *pp;
} rig;

static void rig_start(rig *r, const char *sink, const char *extra_sink)
{
    memset(r, 0, sizeof *r);
    r->sink = sink;
    r->dir = sxt_tmpdir("hostile");
    if (strcmp(sink, "postgres") == 0) {
        r->pg = sxt_pg_new();
        cr_assert_not_null(r->pg, "no PostgreSQL server (see tests/support/pg.h)");
    }
    r->d = sxt_dest_new(sink, r->dir, r->pg, "hostile");
    json_t *sink_cfg = sxt_dest_sink_config(r->d);
    if (extra_sink != NULL) {
        json_t *more = json_loads(extra_sink, 0, NULL);
        json_object_update(sink_cfg, more);
        json_decref(more);
    }
    json_t *cfg = json_pack("{s:s, s:i, s:o}", "source", "hostile", "hostile_big_mb", BIG_MB,
                            "sink", sink_cfg);
    r->cfg = sxt_strf("%s/config.json", r->dir);
    cr_assert_eq(json_dump_file(cfg, r->cfg, 0), 0);
    json_decref(cfg);
    r->pp = sxt_strf("%s:%s", sxt_plugins_sinks(), SXT_PLUGINS_HOSTILE);
}

static void rig_stop(rig *r)
{
    sxt_dest_free(r->d);
    if (r->pg)
        sxt_pg_free(r->pg);
    sxt_rmtree(r->dir);
    free(r->dir);
    free(r->cfg);
    free(r->pp);
}

static sxt_result run(rig *r, const char *select)
{
    sxt_result res = sxt_siphon(r->pp, NULL, 120, "run", "--config", r->cfg, "--select", select,
                                "--quiet", NULL);
    if (strcmp(r->sink, "stdout") == 0)
        sxt_dest_set_output(r->d, res.out);
    return res;
}

static void expect_exit(const sxt_result *res, int code, const char *what)
{
    cr_assert(res->exited && res->status == code, "%s: exit %d (signal %d), want %d:\n%s", what,
              res->status, res->signal, code, res->err);
}

/* The rows of a stream in a read-back, by id. */
static json_t *row_by_id(const json_t *rows, const char *stream, json_int_t id)
{
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(rows, stream), i, row) {
        json_t *v = json_object_get(row, "id");
        if ((json_is_integer(v) && json_integer_value(v) == id) ||
            (json_is_string(v) && atoll(json_string_value(v)) == id))
            return row;
    }
    return NULL;
}

static int is_db(const rig *r)
{
    return strcmp(r->sink, "sqlite") == 0 || strcmp(r->sink, "postgres") == 0;
}

/* A PostgreSQL value of the hostile schema's table as text ("NULL" for null). */
static char *pg_value(rig *r, const char *table, json_int_t id, const char *column)
{
    char *sql = sxt_strf("SELECT coalesce(\"%s\"::text, 'NULL') FROM hostile.\"%s\" WHERE id = %lld",
                         column, table, (long long)id);
    char *v = sxt_pg_query1(r->pg, sql);
    cr_assert_not_null(v, "%s", sql);
    free(sql);
    return v;
}

/* --- the values --- */

static json_t *deep(int depth)
{
    json_t *v = json_string("bottom");
    for (int i = 0; i < depth; i++)
        v = i % 2 ? json_pack("[o]", v) : json_pack("{s:o}", "d", v);
    return v;
}

/* What the plugin emits: {"kind", member, value} in id order (id = index + 1). */
static json_t *expected_values(void)
{
    size_t big = (size_t)BIG_MB << 20;
    char *text = malloc(big + 1);
    for (size_t i = 0; i < big; i++)
        text[i] = (char)('a' + (i * 7 + i / 26) % 26);
    json_t *all = json_pack(
        "[{s:s,s:s,s:o}, {s:s,s:s,s:o}, {s:s,s:s,s:I}, {s:s,s:s,s:I}, {s:s,s:s,s:f},"
        " {s:s,s:s,s:f}, {s:s,s:s,s:f}, {s:s,s:s,s:s}, {s:s,s:s,s:s}, {s:s,s:s,s:s},"
        " {s:s,s:s,s:s}, {s:s,s:s,s:s}, {s:s,s:s,s:o}, {s:s,s:s,s:s}]",
        "kind", "long text", "member", "text", "value", json_stringn(text, big),
        "kind", "deep nesting", "member", "doc", "value", deep(1000),
        "kind", "largest int64", "member", "int", "value", (json_int_t)INT64_MAX,
        "kind", "smallest int64", "member", "int", "value", (json_int_t)INT64_MIN,
        "kind", "largest double", "member", "num", "value", 1.7976931348623157e308,
        "kind", "smallest double", "member", "num", "value", 4.9406564584124654e-324,
        "kind", "negative double", "member", "num", "value", -2.5e-300,
        "kind", "control characters", "member", "text", "value",
        "tab\tcr\rlf\nbs\bff\f\x01\x1f end",
        "kind", "quotes and SQL", "member", "text", "value", "'); DROP TABLE victim; -- \"\\ `x` $$ ;",
        "kind", "COPY escapes", "member", "text", "value", "\\N \\. \\\\ \\t",
        "kind", "emoji and accents", "member", "text", "value",
        "Jo\xc3\xa3o \xf0\x9f\x8c\xbb \xe5\x90\x8d",
        "kind", "empty", "member", "text", "value", "",
        "kind", "empty object", "member", "doc", "value", json_object(),
        "kind", "JSON-looking text", "member", "text", "value", "{\"a\":1}");
    free(text);
    cr_assert_not_null(all);
    return all;
}

/* The value as the sink stored it, as JSON (NULL: no such row). */
static json_t *stored(rig *r, const json_t *rows, json_int_t id, const char *member)
{
    if (strcmp(r->sink, "postgres") == 0) {
        char *text = pg_value(r, "values", id, member);
        json_t *v;
        if (strcmp(text, "NULL") == 0)
            v = json_null();
        else if (strcmp(member, "text") == 0)
            v = json_string(text);
        else if (strcmp(member, "int") == 0)
            v = json_integer(strtoll(text, NULL, 10));
        else if (strcmp(member, "num") == 0)
            v = json_real(strtod(text, NULL));
        else
            v = json_loads(text, JSON_DECODE_ANY, NULL);
        free(text);
        return v;
    }
    json_t *row = row_by_id(rows, "values", id);
    if (row == NULL)
        return NULL;
    json_t *v = json_object_get(row, member);
    if (strcmp(r->sink, "sqlite") == 0 && strcmp(member, "doc") == 0 && json_is_string(v))
        return json_loads(json_string_value(v), JSON_DECODE_ANY, NULL); /* JSON TEXT */
    return json_incref(v);
}

static void values_come_back_exactly(const char *sink)
{
    rig r;
    rig_start(&r, sink, NULL);
    sxt_result res = run(&r, "values");
    expect_exit(&res, 0, "values");
    sxt_result_free(&res);
    json_t *rows = strcmp(sink, "postgres") == 0 ? json_object() : sxt_dest_rows(r.d);
    json_t *want = expected_values();
    size_t i;
    json_t *w;
    json_array_foreach(want, i, w) {
        const char *member = json_string_value(json_object_get(w, "member"));
        const char *kind = json_string_value(json_object_get(w, "kind"));
        json_t *got = stored(&r, rows, (json_int_t)i + 1, member);
        cr_assert_not_null(got, "%s: the %s value is missing", sink, kind);
        json_t *value = json_object_get(w, "value");
        int same = json_equal(got, value);
        if (!same && json_is_real(value) && json_is_number(got))
            same = json_number_value(got) == json_real_value(value);
        char *g = json_dumps(got, JSON_ENCODE_ANY), *e = json_dumps(value, JSON_ENCODE_ANY);
        cr_assert(same, "%s: the %s value came back changed:\n  stored:  %.200s\n  emitted: %.200s",
                  sink, kind, g ? g : "?", e ? e : "?");
        free(g);
        free(e);
        json_decref(got);
    }
    cr_log_info("hostile %s: %zu hostile values stored and read back exactly\n", sink,
                json_array_size(want));
    json_decref(want);
    json_decref(rows);
    rig_stop(&r);
}

/* --- the names --- */

static const char *const hostile_names[] = {
    "quo\"te", "semi;colon", "new'); DROP TABLE victim; --", "hy-phen", "dot.ted", "sp ace",
    "path/sep", "back\\slash", "\xc3\xbcn\xc3\xaf\xe5\x90\x8d", "_siphon_ordinal", "_siphon_change",
    "a_name_longer_than_the_sixty_three_bytes_postgresql_keeps_for_one_identifier_x", NULL};
static const char *const odd_streams[] = {"..", ".hidden", "hy-phen.dot", "Case", NULL};

/* A column name a sink derived from key: the key itself, or (databases) its
 * start tagged with "_" and 8 hex digits (a name too long, or one the sink
 * uses for its own columns). */
static int names_key(const rig *r, const char *column, const char *key)
{
    if (strcmp(column, key) == 0)
        return 1;
    size_t n = strlen(column);
    if (!is_db(r) || n < 10 || column[n - 9] != '_' || strspn(column + n - 8, "0123456789abcdef") != 8)
        return 0;
    return strncmp(column, key, n - 9 < 10 ? n - 9 : 10) == 0;
}

static void plant_victim(rig *r)
{
    if (strcmp(r->sink, "sqlite") == 0) {
        char *db = sxt_strf("%s/hostile.db", r->dir);
        const char *argv[] = {"sqlite3", db, "CREATE TABLE victim (x TEXT); INSERT INTO victim "
                              "VALUES ('alive');", NULL};
        sxt_result res = sxt_run(argv, NULL, NULL, 30);
        cr_assert(res.exited && res.status == 0, "%s", res.err);
        sxt_result_free(&res);
        free(db);
    } else if (strcmp(r->sink, "postgres") == 0) {
        cr_assert_eq(sxt_pg_exec(r->pg, "CREATE SCHEMA hostile; CREATE TABLE hostile.victim (x "
                                        "text); INSERT INTO hostile.victim VALUES ('alive')"), 0);
    } else {
        char *path = sxt_strf("%s/victim", r->dir);
        sxt_write_file(path, "alive\n");
        free(path);
    }
}

static void assert_victim_alive(rig *r)
{
    if (strcmp(r->sink, "sqlite") == 0) {
        char *db = sxt_strf("%s/hostile.db", r->dir);
        const char *argv[] = {"sqlite3", db, "SELECT x FROM victim", NULL};
        sxt_result res = sxt_run(argv, NULL, NULL, 30);
        cr_assert(res.exited && res.status == 0 && strcmp(res.out, "alive\n") == 0,
                  "the victim table was touched: %s %s", res.out, res.err);
        sxt_result_free(&res);
        free(db);
    } else if (strcmp(r->sink, "postgres") == 0) {
        char *x = sxt_pg_query1(r->pg, "SELECT string_agg(x, ',') FROM hostile.victim");
        cr_assert(x != NULL && strcmp(x, "alive") == 0, "the victim table was touched: %s", x);
        free(x);
    } else if (strcmp(r->sink, "file") == 0) {
        /* nothing was written beside the output folder, nor above it */
        DIR *dir = opendir(r->dir);
        struct dirent *e;
        while ((e = readdir(dir)) != NULL)
            cr_assert(strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
                      strcmp(e->d_name, "victim") == 0 || strcmp(e->d_name, "hostile") == 0 ||
                      strcmp(e->d_name, "config.json") == 0,
                      "a file escaped the output folder: %s", e->d_name);
        closedir(dir);
        char *path = sxt_strf("%s/victim", r->dir);
        char *text = sxt_read_file(path, NULL);
        cr_assert(text && strcmp(text, "alive\n") == 0);
        free(text);
        free(path);
    }
}

static void names_survive(const char *sink)
{
    rig r;
    /* history on: its table adds columns of its own a name could meet */
    rig_start(&r, sink, is_db(&(rig){.sink = sink}) ? "{\"history\":true}" : NULL);
    plant_victim(&r);
    char select[256] = "names";
    for (size_t i = 0; odd_streams[i]; i++)
        snprintf(select + strlen(select), sizeof select - strlen(select), ",%s", odd_streams[i]);
    /* twice: the second run swaps every table again and fills history */
    for (int pass = 0; pass < 2; pass++) {
        sxt_result res = run(&r, select);
        expect_exit(&res, 0, "names");
        sxt_result_free(&res);
    }
    json_t *rows = sxt_dest_rows(r.d);
    cr_assert_eq(json_array_size(json_object_get(rows, "names")), 3, "%s: rows of names", sink);
    for (json_int_t id = 1; id <= 3; id++) {
        json_t *row = row_by_id(rows, "names", id);
        cr_assert_not_null(row, "%s: names has no row %lld", sink, (long long)id);
        for (size_t i = 0; hostile_names[i] != NULL; i++) {
            char want[64];
            snprintf(want, sizeof want, "v%zu-%lld", i, (long long)id);
            const char *column = NULL;
            const char *key;
            json_t *v;
            json_object_foreach(row, key, v)
                if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
                    column = key;
            cr_assert_not_null(column, "%s: the value of '%s' was lost", sink, hostile_names[i]);
            cr_assert(names_key(&r, column, hostile_names[i]),
                      "%s: the value of '%s' landed in column '%s'", sink, hostile_names[i],
                      column);
        }
    }
    for (size_t i = 0; odd_streams[i]; i++) {
        json_t *rs = json_object_get(rows, odd_streams[i]);
        cr_assert_eq(json_array_size(rs), 2, "%s: stream '%s' has %zu rows", sink, odd_streams[i],
                     json_array_size(rs));
        const char *name = json_string_value(json_object_get(json_array_get(rs, 0), "stream"));
        cr_assert(name && strcmp(name, odd_streams[i]) == 0, "%s: stream '%s' holds rows of '%s'",
                  sink, odd_streams[i], name ? name : "?");
    }
    assert_victim_alive(&r);
    cr_log_info("hostile %s: %zu hostile names and %zu odd stream names stored, nothing injected\n",
                sink, sizeof hostile_names / sizeof *hostile_names - 1,
                sizeof odd_streams / sizeof *odd_streams - 1);
    json_decref(rows);
    rig_stop(&r);
}

/* Names a database cannot tell apart: SQLite refuses them, naming both,
 * and keeps what was committed before; the others keep both. */
static void names_equal_but_for_case(const char *sink)
{
    rig r;
    rig_start(&r, sink, NULL);
    sxt_result res = run(&r, "Case");
    expect_exit(&res, 0, "Case alone");
    sxt_result_free(&res);
    if (strcmp(sink, "sqlite") == 0) {
        res = run(&r, "names_case");
        expect_exit(&res, 1, "names_case");
        cr_assert_not_null(strstr(res.err, "the keys 'Mixed' and 'mixed' would share the column"),
                           "%s", res.err);
        sxt_result_free(&res);
        res = run(&r, "Case,case");
        expect_exit(&res, 1, "Case and case");
        /* the streams run in parallel: the one whose stream begins second names
         * itself first */
        cr_assert(strstr(res.err, "streams 'Case' and 'case' would both be written to table") ||
                      strstr(res.err, "streams 'case' and 'Case' would both be written to table"),
                  "%s", res.err);
        /* the refused stream never ended: its metrics say it failed, and its
         * duration is not the negative of its start */
        cr_assert_null(strstr(res.err, "\"metric\":\"sync_duration\",\"value\":-"), "%s",
                       res.err);
        size_t succeeded = 0;
        for (const char *at = res.err; (at = strstr(at, "\"metric\":\"sync_duration\"")) != NULL;
             at++) {
            const char *eol = strchr(at, '\n');
            const char *ok = strstr(at, "\"status\":\"succeeded\"");
            succeeded += ok != NULL && (eol == NULL || ok < eol);
        }
        cr_assert_leq(succeeded, 1, "both streams reported success: %s", res.err);
        sxt_result_free(&res);
        json_t *rows = sxt_dest_rows(r.d);
        json_t *kept = json_object_get(rows, "Case");
        cr_assert_eq(json_array_size(kept), 2, "the committed rows of Case were lost");
        cr_assert_str_eq(json_string_value(json_object_get(json_array_get(kept, 0), "stream")),
                         "Case", "the rows of Case were overwritten");
        json_decref(rows);
    } else {
        res = run(&r, "names_case,Case,case");
        expect_exit(&res, 0, "names_case, Case and case");
        sxt_result_free(&res);
        json_t *rows = sxt_dest_rows(r.d);
        for (json_int_t id = 1; id <= 3; id++) {
            json_t *row = row_by_id(rows, "names_case", id);
            char v0[32], v1[32];
            snprintf(v0, sizeof v0, "v0-%lld", (long long)id);
            snprintf(v1, sizeof v1, "v1-%lld", (long long)id);
            cr_assert_str_eq(json_string_value(json_object_get(row, "Mixed")), v0);
            cr_assert_str_eq(json_string_value(json_object_get(row, "mixed")), v1);
        }
        const char *both[] = {"Case", "case"};
        for (size_t i = 0; i < 2; i++) {
            json_t *rs = json_object_get(rows, both[i]);
            cr_assert_eq(json_array_size(rs), 2, "%s: %s", sink, both[i]);
            cr_assert_str_eq(json_string_value(json_object_get(json_array_get(rs, 0), "stream")),
                             both[i]);
        }
        json_decref(rows);
    }
    rig_stop(&r);
}

/* --- what the host refuses --- */

static void refused_records_fail_only_their_stream(const char *sink)
{
    rig r;
    rig_start(&r, sink, NULL);
    sxt_result res = run(&r, "raw_bigint,raw_huge,raw_badutf8,tree_badutf8,deep_beyond,Case");
    expect_exit(&res, 5, "refused records");
    const char *said[][2] = {
        /* the text path (stdout, file) and the tree path (databases) word the
         * fault their own way; both name the member */
        {"raw_bigint", "emitted record text that is not one JSON object ("},
        {"raw_bigint", "; member 'big'"},
        {"raw_huge", "; member 'huge'"},
        {"raw_badutf8", "; member 'latin1'"},
        {"tree_badutf8", "emitted a record the host refuses: member 'latin1': a string that is "
                         "not valid UTF-8"},
        {"deep_beyond", "': nested deeper than 2048 levels"},
    };
    for (size_t i = 0; i < sizeof said / sizeof said[0]; i++) {
        char *line = sxt_strf("ERROR [%s] failed: ", said[i][0]);
        const char *at = strstr(res.err, line);
        cr_assert_not_null(at, "%s: no failure of %s:\n%s", sink, said[i][0], res.err);
        const char *eol = strchr(at, '\n');
        char *text = eol ? strndup(at, (size_t)(eol - at)) : strdup(at);
        cr_assert_not_null(strstr(text, said[i][1]), "%s: %s", sink, text);
        free(text);
        free(line);
    }
    sxt_result_free(&res);
    json_t *rows = sxt_dest_rows(r.d);
    cr_assert_eq(json_array_size(json_object_get(rows, "Case")), 2,
                 "%s: the stream beside the refused ones did not commit", sink);
    if (is_db(&r) || strcmp(sink, "file") == 0) {
        /* FULL_TABLE streams that failed never replace their (absent) table */
        const char *failed[] = {"raw_bigint", "raw_huge", "raw_badutf8", "tree_badutf8",
                                "deep_beyond"};
        for (size_t i = 0; i < 5; i++)
            cr_assert_eq(json_array_size(json_object_get(rows, failed[i])), 0,
                         "%s: the failed stream %s has rows", sink, failed[i]);
    }
    json_decref(rows);
    rig_stop(&r);
}

static void nul_is_kept_or_refused_by_name(const char *sink)
{
    rig r;
    rig_start(&r, sink, NULL);
    sxt_result res = run(&r, "value_nul");
    if (strcmp(sink, "postgres") == 0) {
        /* PostgreSQL text cannot hold NUL: an error naming stream and column */
        expect_exit(&res, 1, "value_nul");
        cr_assert_not_null(strstr(res.err, "stream 'value_nul', column 'text': a text value holds "
                                           "the NUL character"), "%s", res.err);
    } else {
        expect_exit(&res, 0, "value_nul");
        json_t *rows = sxt_dest_rows(r.d);
        json_t *v = json_object_get(row_by_id(rows, "value_nul", 1), "text");
        cr_assert(json_is_string(v) && json_string_length(v) == 3 &&
                  memcmp(json_string_value(v), "a\0b", 3) == 0,
                  "%s: the NUL value came back changed", sink);
        json_decref(rows);
    }
    sxt_result_free(&res);
    rig_stop(&r);
}

/* --- hostile values from the API --- */

static void api_values(const char *sink)
{
    sxt_dz t;
    sxt_dz_start(&t, (const char *[]){SXT_FZ_EMULATOR, NULL}, NULL);
    sxt_pg *pg = NULL;
    if (strcmp(sink, "postgres") == 0) {
        pg = sxt_pg_new();
        cr_assert_not_null(pg);
    }
    /* what can be held: megabytes of text, deep nesting, emoji and escapes */
    size_t big = 3u << 20;
    char *text = malloc(big + 1);
    for (size_t i = 0; i < big; i++)
        text[i] = (char)('A' + (i * 11 + i / 7) % 26);
    text[big] = '\0';
    json_t *nested = deep(500);
    json_t *set = json_pack("{s:s, s:{s:O, s:s}}", "name", text, "custom_fields", "cmp4", nested,
                            "cmp5", "quote \" backslash \\ tab \t \xf0\x9f\x8c\xbb");
    json_t *body = json_pack("{s:s, s:{s:s}, s:o}", "stream", "contacts", "key", "code", "7",
                             "set", set);
    char *b = json_dumps(body, JSON_COMPACT);
    json_t *ok = sxt_emulator_call(t.emu, "/_emulator/update", b);
    cr_assert_not_null(json_object_get(ok, "updated"), "the emulator refused the update");
    json_decref(ok);
    free(b);
    json_decref(body);
    free(text);
    /* what cannot: beyond 64 bits, beyond a double, not UTF-8 */
    const char *raws[] = {
        "{\"stream\":\"campaigns\",\"key\":{\"code\":\"3\"},\"raw\":{\"name\":"
        "\"123456789012345678901234567890\"}}",
        "{\"stream\":\"messages\",\"key\":{\"code\":\"4\"},\"raw\":{\"subject\":\"1e400\"}}",
        "{\"stream\":\"users\",\"key\":{\"code\":\"2\"},\"raw\":{\"name\":{\"hex\":"
        "\"224a6fe36f22\"}}}",
        NULL};
    for (size_t i = 0; raws[i]; i++) {
        json_t *a = sxt_emulator_call(t.emu, "/_emulator/update", raws[i]);
        cr_assert_not_null(json_object_get(a, "updated"), "%s", raws[i]);
        json_decref(a);
    }
    sxt_dest *d = sxt_dest_new(sink, t.dir, pg, "api");
    sxt_result r = sxt_fz_run(&t, d, "{\"http_max_attempts\":2}", NULL, NULL);
    expect_exit(&r, 5, "hostile API values");
    const char *said[][2] = {
        {"campaigns", "does not fit 64 bits"},
        {"campaigns", "(member body.items[2].name)"},
        {"messages", "double"},
        {"messages", "(member body.items[3].subject)"},
        {"users", "UTF-8"},
        {"users", "(member body.items[1].name)"},
    };
    for (size_t i = 0; i < sizeof said / sizeof said[0]; i++) {
        char *line = sxt_strf("ERROR [%s] failed: ", said[i][0]);
        const char *at = strstr(r.err, line);
        cr_assert_not_null(at, "%s: no failure of %s:\n%s", sink, said[i][0], r.err);
        const char *eol = strchr(at, '\n');
        char *text_line = eol ? strndup(at, (size_t)(eol - at)) : strdup(at);
        cr_assert_not_null(strstr(text_line, said[i][1]), "%s: %s", sink, text_line);
        free(text_line);
        free(line);
    }
    json_t *rows = sxt_dest_rows(d);
    /* every other stream, the hostile contact included, holds the API's records */
    sxt_fz_assert_emulator(&t, d, rows, "campaigns,messages,users", 0);
    json_t *contact = NULL;
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(rows, "contacts"), i, row)
        if (strcmp(json_string_value(json_object_get(row, "code")), "7") == 0)
            contact = row;
    cr_assert_not_null(contact);
    const char *name = json_string_value(json_object_get(contact, "name"));
    cr_assert(name && strlen(name) == big, "%s: the 3 MB name came back with %zu bytes", sink,
              name ? strlen(name) : 0);
    json_t *cf = json_object_get(contact, "custom_fields");
    json_t *owned = NULL;
    if (json_is_string(cf))
        cf = owned = json_loads(json_string_value(cf), 0, NULL); /* SQLite: JSON TEXT */
    cr_assert(json_equal(json_object_get(cf, "cmp4"), nested),
              "%s: the nested custom field came back changed", sink);
    cr_assert_str_eq(json_string_value(json_object_get(cf, "cmp5")),
                     "quote \" backslash \\ tab \t \xf0\x9f\x8c\xbb");
    json_decref(owned);
    json_decref(nested);
    json_decref(rows);
    sxt_result_free(&r);
    sxt_dest_free(d);
    if (pg)
        sxt_pg_free(pg);
    sxt_dz_stop(&t);
}

#define HOSTILE(sink)                                                                        \
    Test(hostile, values_into_##sink##_come_back_exactly) { values_come_back_exactly(#sink); } \
    Test(hostile, names_into_##sink##_keep_every_value_and_inject_nothing)                     \
    {                                                                                          \
        names_survive(#sink);                                                                  \
    }                                                                                          \
    Test(hostile, names_equal_but_for_case_into_##sink##_are_kept_or_refused_by_name)          \
    {                                                                                          \
        names_equal_but_for_case(#sink);                                                       \
    }                                                                                          \
    Test(hostile, records_the_host_refuses_fail_only_their_stream_into_##sink)                 \
    {                                                                                          \
        refused_records_fail_only_their_stream(#sink);                                         \
    }                                                                                          \
    Test(hostile, nul_into_##sink##_is_kept_or_refused_by_name)                                \
    {                                                                                          \
        nul_is_kept_or_refused_by_name(#sink);                                                 \
    }                                                                                          \
    Test(hostile, api_values_into_##sink##_are_kept_or_fail_their_stream_by_name)              \
    {                                                                                          \
        api_values(#sink);                                                                     \
    }

HOSTILE(stdout)
HOSTILE(file)
HOSTILE(sqlite)
HOSTILE(postgres)
