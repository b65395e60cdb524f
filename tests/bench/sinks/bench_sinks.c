/*
 * bench-sinks: rows per second of each sink, against a baseline doing the
 * same work in the same run, printed as a table with ratios. Run by hand:
 *
 *   ./build/tests/bench/sinks/bench-sinks [--rows N] [--commit-every N] [--repeat N]
 *                                         [--only PREFIX]
 *
 * Every sink gets the same contacts-like records (8 columns, one of them a
 * JSON object), written through the real module with one commit at the end
 * (or every --commit-every records). Baselines:
 *   file jsonl    json_dumps + stdio writes + fsync of the same records
 *   file csv      the same CSV made by hand from the same records, stdio + fsync
 *   file gzip     json_dumps of the same records piped through gzip(1) -6, fsync
 *   sqlite        the sqlite3 shell's .import of the same rows (CSV), WAL, synchronous=FULL
 *   postgres      psql's \copy of the same rows (CSV) into a table of the same columns
 * The ratio is the sink's rows/s over the baseline's: 1.0 means as fast.
 * Each side runs --repeat times (default 3), alternating which goes first;
 * the fastest run of each counts. Machines are noisy: compare ratios, and
 * never assert on them.
 * PostgreSQL comes from SIPHON_TEST_PG_DSN, else a throwaway server is
 * started (tests/support/pg-server.sh); without one the row is skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "pg.h"
#include "proc.h"
#include "sink_host.h"

#define SCHEMA                                                                                 \
    "{\"type\":\"object\",\"properties\":{\"code\":{\"type\":\"string\"},"                     \
    "\"email\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},"                          \
    "\"insert_date\":{\"type\":\"string\"},\"total_clicks\":{\"type\":\"string\"},"            \
    "\"status\":{\"type\":\"string\"},\"custom_fields\":{\"type\":\"object\"}}}"
#define COLUMNS "code,email,name,insert_date,total_clicks,status,custom_fields,_sdc_extracted_at"
#define STAMP "2024-05-01T10:00:00.000Z"

typedef struct result {
    const char *name;
    double seconds;
    const char *baseline;
    double base_seconds;
    int ok;
} result;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t **make_records(long rows)
{
    json_t **records = calloc((size_t)rows, sizeof *records);
    for (long i = 0; i < rows; i++) {
        char code[32], email[64], name[64], clicks[16], city[32], cmp5[32];
        snprintf(code, sizeof code, "%ld", i);
        snprintf(email, sizeof email, "user%ld@example.com", i);
        snprintf(name, sizeof name, "Contact %ld, \"VIP\"", i);
        snprintf(clicks, sizeof clicks, "%ld", i % 50);
        snprintf(city, sizeof city, "city %ld", i % 100);
        snprintf(cmp5, sizeof cmp5, "%ld", i * 7);
        records[i] = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "code", code,
                               "email", email, "name", name, "insert_date",
                               "2024-05-01 10:00:00", "total_clicks", clicks, "status", "V",
                               "custom_fields", "cmp4", city, "cmp5", cmp5);
    }
    return records;
}

/* One CSV field, RFC 4180 quoting. */
static void csv_field(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* The same rows as CSV (no header) and as JSONL, for the baselines. */
static void write_texts(json_t **records, long rows, const char *csv, const char *jsonl)
{
    FILE *c = fopen(csv, "w"), *j = fopen(jsonl, "w");
    static const char *const keys[] = {"code", "email", "name", "insert_date", "total_clicks",
                                       "status"};
    for (long i = 0; i < rows; i++) {
        for (size_t k = 0; k < 6; k++) {
            csv_field(c, json_string_value(json_object_get(records[i], keys[k])));
            fputc(',', c);
        }
        char *cf = json_dumps(json_object_get(records[i], "custom_fields"), JSON_COMPACT);
        csv_field(c, cf);
        fputs("," STAMP "\n", c);
        free(cf);
        char *line = json_dumps(records[i], JSON_COMPACT);
        fprintf(j, "%s\n", line);
        free(line);
    }
    fclose(c);
    fclose(j);
}

/* Drives one sink through the records; returns seconds, or -1. */
static double run_sink(const char *module, const char *config, json_t **records, long rows,
                       long commit_every)
{
    double t0 = now_s();
    sxt_sink *s = sxt_sink_load(module, config);
    if (s == NULL)
        return -1;
    int rc = sxt_sink_open(s);
    if (rc == SIPHON_OK)
        rc = sxt_sink_begin(s, "contacts", SCHEMA, "code", SIPHON_SYNC_INCREMENTAL, 0);
    for (long i = 0; i < rows && rc == SIPHON_OK; i++) {
        rc = sxt_sink_write_borrowed(s, "contacts", records[i]);
        if (rc == SIPHON_OK && commit_every > 0 && (i + 1) % commit_every == 0)
            rc = sxt_sink_commit(s, "{\"bookmarks\":{}}");
    }
    if (rc == SIPHON_OK)
        rc = sxt_sink_end(s, "contacts", SIPHON_END_COMPLETE);
    if (rc == SIPHON_OK)
        rc = sxt_sink_commit(s, "{\"bookmarks\":{}}");
    if (rc != SIPHON_OK)
        fprintf(stderr, "%s sink failed (%d): %s\n", module, rc, sxt_sink_error(s));
    sxt_sink_free(s);
    double t = now_s() - t0;
    return rc == SIPHON_OK ? t : -1;
}

static double run_cmd(const char *const argv[], const char *input)
{
    double t0 = now_s();
    sxt_result r = sxt_run(argv, NULL, input, 3600);
    double t = now_s() - t0;
    int ok = r.exited && r.status == 0;
    if (!ok)
        fprintf(stderr, "%s failed: %s%s\n", argv[0], r.out, r.err);
    sxt_result_free(&r);
    return ok ? t : -1;
}

static double baseline_jsonl(json_t **records, long rows, long commit_every, const char *path)
{
    double t0 = now_s();
    FILE *f = fopen(path, "w");
    for (long i = 0; i < rows; i++) {
        char *line = json_dumps(records[i], JSON_COMPACT);
        fputs(line, f);
        fputs("\n", f);
        free(line);
        if (commit_every > 0 && (i + 1) % commit_every == 0) {
            fflush(f);
            fsync(fileno(f));
        }
    }
    fflush(f);
    fsync(fileno(f));
    fclose(f);
    return now_s() - t0;
}

/* The same CSV the sink writes, made from the same records with stdio. */
static double baseline_csv(json_t **records, long rows, long commit_every, const char *path)
{
    static const char *const keys[] = {"code", "email", "name", "insert_date", "total_clicks",
                                       "status"};
    double t0 = now_s();
    FILE *f = fopen(path, "w");
    fputs(COLUMNS ",_sdc_extra\r\n", f);
    for (long i = 0; i < rows; i++) {
        for (size_t k = 0; k < 6; k++) {
            csv_field(f, json_string_value(json_object_get(records[i], keys[k])));
            fputc(',', f);
        }
        char *cf = json_dumps(json_object_get(records[i], "custom_fields"), JSON_COMPACT);
        csv_field(f, cf);
        free(cf);
        fputs("," STAMP ",\r\n", f);
        if (commit_every > 0 && (i + 1) % commit_every == 0) {
            fflush(f);
            fsync(fileno(f));
        }
    }
    fflush(f);
    fsync(fileno(f));
    fclose(f);
    return now_s() - t0;
}

typedef struct bench {
    char *dir;
    char *csv;
    char *jsonl;
    json_t **records;
    long rows;
    long commit_every;
    sxt_pg *pg;
} bench;

/* One measured case: the sink and its baseline, each run `repeat` times in
 * turn (so neither always gets the warm caches), keeping the fastest run. */
typedef struct bench_case {
    const char *name;
    const char *baseline;
    double (*sink)(bench *b, int rep);
    double (*base)(bench *b, int rep);
} bench_case;

static double file_sink_run(bench *b, int rep, const char *extra)
{
    char *cfg = sxt_strf("{\"path\":\"%s/file-%s-%d\"%s}", b->dir, extra[0] ? "x" : "plain",
                         rep, extra);
    double t = run_sink("file", cfg, b->records, b->rows, b->commit_every);
    free(cfg);
    return t;
}

static double jsonl_sink(bench *b, int rep)
{
    return file_sink_run(b, rep, "");
}

static double jsonl_base(bench *b, int rep)
{
    char *out = sxt_strf("%s/base-%d.jsonl", b->dir, rep);
    double t = baseline_jsonl(b->records, b->rows, b->commit_every, out);
    free(out);
    return t;
}

static double csv_sink(bench *b, int rep)
{
    char *cfg = sxt_strf("{\"path\":\"%s/csv-%d\",\"format\":\"csv\"}", b->dir, rep);
    double t = run_sink("file", cfg, b->records, b->rows, b->commit_every);
    free(cfg);
    return t;
}

static double csv_base(bench *b, int rep)
{
    char *out = sxt_strf("%s/base-%d.csv", b->dir, rep);
    double t = baseline_csv(b->records, b->rows, b->commit_every, out);
    free(out);
    return t;
}

static double gzip_sink(bench *b, int rep)
{
    char *cfg = sxt_strf("{\"path\":\"%s/gz-%d\",\"gzip\":true}", b->dir, rep);
    double t = run_sink("file", cfg, b->records, b->rows, b->commit_every);
    free(cfg);
    return t;
}

/* json_dumps of the same records piped through gzip(1) -6, then fsync. */
static double gzip_base(bench *b, int rep)
{
    char *out = sxt_strf("%s/base-%d.jsonl.gz", b->dir, rep);
    char *cmd = sxt_strf("gzip -6 -c > '%s'", out);
    double t0 = now_s();
    FILE *pipe = popen(cmd, "w");
    if (pipe == NULL) {
        free(cmd);
        free(out);
        return -1;
    }
    for (long i = 0; i < b->rows; i++) {
        char *line = json_dumps(b->records[i], JSON_COMPACT);
        fputs(line, pipe);
        fputs("\n", pipe);
        free(line);
    }
    int status = pclose(pipe);
    FILE *f = fopen(out, "r");
    if (f != NULL) {
        fsync(fileno(f));
        fclose(f);
    }
    double t = now_s() - t0;
    free(cmd);
    free(out);
    return status == 0 ? t : -1;
}

static double sqlite_sink(bench *b, int rep)
{
    char *cfg = sxt_strf("{\"path\":\"%s/sink-%d.db\"}", b->dir, rep);
    double t = run_sink("sqlite", cfg, b->records, b->rows, b->commit_every);
    free(cfg);
    return t;
}

static double sqlite_base(bench *b, int rep)
{
    char *db = sxt_strf("%s/base-%d.db", b->dir, rep);
    char *script = sxt_strf(
        "PRAGMA journal_mode=WAL;\nPRAGMA synchronous=FULL;\n"
        "CREATE TABLE contacts (code TEXT PRIMARY KEY, email TEXT, name TEXT, "
        "insert_date TEXT, total_clicks TEXT, status TEXT, custom_fields JSON TEXT, "
        "_sdc_extracted_at TEXT);\n.mode csv\n.import %s contacts\n",
        b->csv);
    const char *argv[] = {"sqlite3", db, NULL};
    double t = run_cmd(argv, script);
    free(db);
    free(script);
    return t;
}

static double pg_sink(bench *b, int rep)
{
    if (b->pg == NULL)
        return -1;
    char *cfg = sxt_strf("{\"dsn\":\"%s\",\"layer\":\"sink_%d\"}", sxt_pg_dsn(b->pg), rep);
    double t = run_sink("postgres", cfg, b->records, b->rows, b->commit_every);
    free(cfg);
    return t;
}

static double pg_base(bench *b, int rep)
{
    if (b->pg == NULL)
        return -1;
    char *create = sxt_strf("CREATE TABLE base_%d (code text PRIMARY KEY, email text, name text, "
                            "insert_date text, total_clicks text, status text, "
                            "custom_fields jsonb, _sdc_extracted_at text)",
                            rep);
    sxt_pg_exec(b->pg, create);
    char *copy = sxt_strf("\\copy base_%d (" COLUMNS ") FROM '%s' WITH (FORMAT csv)", rep,
                          b->csv);
    const char *argv[] = {"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", sxt_pg_dsn(b->pg),
                          "-c", copy, NULL};
    double t = run_cmd(argv, NULL);
    free(create);
    free(copy);
    return t;
}

static const bench_case cases[] = {
    {"file jsonl", "json_dumps + stdio + fsync", jsonl_sink, jsonl_base},
    {"file csv", "CSV by hand + stdio + fsync", csv_sink, csv_base},
    {"file jsonl.gz", "json_dumps | gzip -6, fsync", gzip_sink, gzip_base},
    {"sqlite", "sqlite3 .import (CSV)", sqlite_sink, sqlite_base},
    {"postgres", "psql \\copy (CSV)", pg_sink, pg_base},
};

static double fastest(double a, double b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

static void print_table(const result *r, size_t n, long rows)
{
    printf("\nsiphon sink benchmark: %ld rows (contacts-like, 8 columns incl. a JSON object)\n\n",
           rows);
    printf("%-14s %9s %11s | %-30s %9s %11s | %6s\n", "sink", "seconds", "rows/s", "baseline",
           "seconds", "rows/s", "ratio");
    for (size_t i = 0; i < n; i++) {
        if (!r[i].ok) {
            printf("%-14s %9s %11s | %-30s %9s %11s | %6s\n", r[i].name, "-", "-", r[i].baseline,
                   "-", "-", "skip");
            continue;
        }
        double sink_rate = (double)rows / r[i].seconds;
        double base_rate = (double)rows / r[i].base_seconds;
        printf("%-14s %9.3f %11.0f | %-30s %9.3f %11.0f | %6.2f\n", r[i].name, r[i].seconds,
               sink_rate, r[i].baseline, r[i].base_seconds, base_rate, sink_rate / base_rate);
    }
}

int main(int argc, char **argv)
{
    bench b = {0};
    b.rows = 100000;
    int repeat = 3;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc)
            b.rows = atol(argv[++i]);
        else if (strcmp(argv[i], "--commit-every") == 0 && i + 1 < argc)
            b.commit_every = atol(argv[++i]);
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr,
                    "usage: %s [--rows N] [--commit-every N] [--repeat N] [--only PREFIX]\n",
                    argv[0]);
            return 2;
        }
    }
    b.dir = sxt_tmpdir("bench");
    b.csv = sxt_strf("%s/rows.csv", b.dir);
    b.jsonl = sxt_strf("%s/rows.jsonl", b.dir);
    b.records = make_records(b.rows);
    write_texts(b.records, b.rows, b.csv, b.jsonl);
    if (only == NULL || strncmp("postgres", only, strlen(only)) == 0)
        b.pg = sxt_pg_new();

    size_t ncases = sizeof cases / sizeof cases[0], n = 0;
    result res[sizeof cases / sizeof cases[0]];
    for (size_t c = 0; c < ncases; c++) {
        if (only != NULL && strncmp(cases[c].name, only, strlen(only)) != 0)
            continue;
        double sink = -1, base = -1;
        for (int rep = 0; rep < repeat; rep++) {
            /* Alternate who goes first. */
            if (rep % 2 == 0) {
                base = fastest(base, cases[c].base(&b, rep));
                sink = fastest(sink, cases[c].sink(&b, rep));
            } else {
                sink = fastest(sink, cases[c].sink(&b, rep));
                base = fastest(base, cases[c].base(&b, rep));
            }
        }
        res[n++] = (result){cases[c].name, sink, cases[c].baseline, base, sink > 0 && base > 0};
    }
    print_table(res, n, b.rows);
    printf("\n(fastest of %d runs each; commits: %s)\n", repeat,
           b.commit_every > 0 ? "every --commit-every records and at the end" : "one, at the end");
    sxt_pg_free(b.pg);
    for (long i = 0; i < b.rows; i++)
        json_decref(b.records[i]);
    free(b.records);
    sxt_rmtree(b.dir);
    free(b.dir);
    free(b.csv);
    free(b.jsonl);
    return 0;
}
