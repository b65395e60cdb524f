/*
 * bench_scan.c: what the record path spends on each item of a page, the
 * page being an API answer saved to a file (tests/bench/scan/run.sh fetches
 * one from the emulator). Three ways to read the same items, side by side
 * in the same run, fastest of --rounds each:
 *
 *   jansson  json_loadb and json_decref: a parse into a tree (the baseline;
 *            what a plugin without libsiphon-util would do)
 *   scan     siphon_json_object_scan: the check and the members, no tree
 *            (what a plugin does once per item, and emit_raw in the host)
 *   split    siphon_json_object_split: the members of checked text, no
 *            check (what emit_raw_checked does when no table comes along)
 *
 * Prints "key value" lines: items, bytes, and seconds and MB/s of each.
 *
 *   bench-scan PAGE_FILE [ROUNDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <siphon/siphon-json.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

typedef struct page {
    char *text;
    size_t len;
    size_t *off, *n; /* each item's text */
    size_t items, item_bytes;
} page;

static int load(const char *path, page *p)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    p->text = malloc((size_t)n + 1);
    if (p->text == NULL || fread(p->text, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        return -1;
    }
    fclose(f);
    p->len = (size_t)n;
    p->text[n] = '\0';
    const char *items = strstr(p->text, "\"items\":[");
    if (items == NULL)
        return -1;
    size_t at = (size_t)(items - p->text) + 9, cap = 0;
    siphon_json_object o = {0};
    while (at < p->len && p->text[at] == '{') {
        if (siphon_json_object_scan(&o, p->text + at, p->len - at, 0) != 0)
            break;
        if (p->items == cap) {
            cap = cap ? cap * 2 : 1024;
            p->off = realloc(p->off, cap * sizeof *p->off);
            p->n = realloc(p->n, cap * sizeof *p->n);
        }
        p->off[p->items] = at + o.start;
        p->n[p->items] = o.end - o.start;
        p->item_bytes += o.end - o.start;
        p->items++;
        at += o.end;
        if (p->text[at] != ',')
            break;
        at++;
    }
    siphon_json_object_free(&o);
    return p->items > 0 ? 0 : -1;
}

enum { JANSSON, SCAN, SPLIT };

/* One pass over the items; returns the seconds, or -1 when one fails. */
static double pass(const page *p, int how, siphon_json_object *o)
{
    double t0 = now();
    for (size_t i = 0; i < p->items; i++) {
        const char *text = p->text + p->off[i];
        int rc;
        if (how == JANSSON) {
            json_t *tree = json_loadb(text, p->n[i], JSON_ALLOW_NUL, NULL);
            rc = tree != NULL ? 0 : -1;
            json_decref(tree);
        } else if (how == SCAN) {
            rc = siphon_json_object_scan(o, text, p->n[i], 1);
        } else {
            rc = siphon_json_object_split(o, text, p->n[i]);
        }
        if (rc != 0)
            return -1;
    }
    return now() - t0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench-scan PAGE_FILE [ROUNDS]\n");
        return 2;
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 20;
    page p = {0};
    if (load(argv[1], &p) != 0) {
        fprintf(stderr, "%s: not a page of items\n", argv[1]);
        return 1;
    }
    static const char *const names[] = {"jansson", "scan", "split"};
    double best[3] = {1e9, 1e9, 1e9};
    siphon_json_object o = {0};
    /* alternating, so a slow moment of the machine is shared out */
    for (int r = 0; r < rounds; r++) {
        for (int how = JANSSON; how <= SPLIT; how++) {
            double t = pass(&p, how, &o);
            if (t < 0) {
                fprintf(stderr, "%s refused an item\n", names[how]);
                return 1;
            }
            if (t < best[how])
                best[how] = t;
        }
    }
    printf("items %zu\nbytes %zu\n", p.items, p.item_bytes);
    for (int how = JANSSON; how <= SPLIT; how++)
        printf("%s_seconds %.6f\n%s_mb_s %.1f\n", names[how], best[how], names[how],
               (double)p.item_bytes / 1048576.0 / best[how]);
    siphon_json_object_free(&o);
    free(p.text);
    free(p.off);
    free(p.n);
    return 0;
}
