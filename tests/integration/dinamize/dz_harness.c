/*
 * dz_harness.c: shared pieces of the Dinamize end-to-end tests (dz_harness.h).
 */
#include "dz_harness.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "siphon_cli.h"

const char *const sxt_dz_streams[13] = {
    "contact_lists", "contacts", "actions",  "campaigns",      "messages",
    "transactions",  "fields",   "field_groups", "filters",    "list_of_values",
    "optout_emails", "users",    "teams",
};

void sxt_dz_config(sxt_dz *t, const char *extra_config)
{
    json_t *cfg = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "source", "dinamize", "user",
                            SXT_DZ_USER, "password", SXT_DZ_PASSWORD, "client_code", SXT_DZ_CLIENT,
                            "base_url", sxt_emulator_url(t->emu), "timezone",
                            "America/Sao_Paulo");
    if (extra_config != NULL) {
        json_error_t e;
        json_t *extra = json_loads(extra_config, 0, &e);
        cr_assert(json_is_object(extra), "extra config is not an object: %s", e.text);
        json_object_update(cfg, extra);
        json_decref(extra);
    }
    cr_assert_eq(json_dump_file(cfg, t->config_path, JSON_INDENT(2)), 0);
    json_decref(cfg);
}

void sxt_dz_start(sxt_dz *t, const char *const emu_args[], const char *extra_config)
{
    memset(t, 0, sizeof *t);
    t->dir = sxt_tmpdir("dinamize");
    cr_assert_not_null(t->dir);
    /* Small and quick: a whole sync stays well under one rate window. */
    const char *args[48] = {"--lists", "4", "--contacts", "600", "--rate-window", "1", NULL};
    size_t n = 6;
    for (size_t i = 0; emu_args != NULL && emu_args[i] != NULL && n < 47; i++)
        args[n++] = emu_args[i];
    args[n] = NULL;
    t->emu = sxt_emulator_start(args);
    cr_assert_not_null(t->emu, "the emulator did not start");
    t->config_path = sxt_strf("%s/config.json", t->dir);
    t->plugin_path = sxt_strf("%s:%s", sxt_plugins_sinks(), sxt_plugins_dinamize());
    sxt_dz_config(t, extra_config);
}

sxt_result sxt_dz_run(sxt_dz *t, const char *const env[], const char *const args[])
{
    const char *argv[40];
    size_t n = 0;
    for (size_t i = 0; args[i] != NULL && n < 34; i++)
        argv[n++] = args[i];
    argv[n++] = "--config";
    argv[n++] = t->config_path;
    if (strcmp(args[0], "run") == 0) {
        argv[n++] = "--sink";
        argv[n++] = "stdout";
        argv[n++] = "--quiet";
    }
    argv[n] = NULL;
    return sxt_siphon_argv(t->plugin_path, env, NULL, 120, argv);
}

void sxt_dz_singer(const sxt_result *r, sxt_singer *s)
{
    char why[512];
    cr_assert(r->exited && r->status == 0, "siphon failed (exit %d, signal %d): %s", r->status,
              r->signal, r->err);
    cr_assert_eq(sxt_singer_check(r->out, s, why, sizeof why), 0, "not valid Singer: %s", why);
}

json_t *sxt_dz_expected(sxt_dz *t, const char *stream)
{
    json_t *dump = sxt_emulator_dump(t->emu, stream);
    cr_assert(json_is_array(dump), "no dump of %s", stream);
    json_t *out = json_array();
    size_t i;
    json_t *line;
    json_array_foreach(dump, i, line) {
        json_t *rec = json_deep_copy(json_object_get(line, "record"));
        json_t *context = json_object_get(line, "context");
        if (json_is_object(context))
            json_object_update_missing(rec, context);
        json_array_append_new(out, rec);
    }
    json_decref(dump);
    return out;
}

static int cmp_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The records as sorted canonical texts. */
static char **canonical(const json_t *records, size_t *n)
{
    *n = json_array_size(records);
    char **texts = calloc(*n ? *n : 1, sizeof *texts);
    for (size_t i = 0; i < *n; i++)
        texts[i] = json_dumps(json_array_get(records, i), JSON_COMPACT | JSON_SORT_KEYS);
    qsort(texts, *n, sizeof *texts, cmp_text);
    return texts;
}

void sxt_dz_assert_same_records(const char *stream, const json_t *records, const json_t *expected)
{
    size_t n_got, n_want;
    char **got = canonical(records, &n_got), **want = canonical(expected, &n_want);
    size_t i = 0;
    while (i < n_got && i < n_want && strcmp(got[i], want[i]) == 0)
        i++;
    int same = i == n_got && i == n_want;
    cr_expect(same, "%s: %zu records, the emulator holds %zu; first difference:\n  siphon:   %s\n"
                    "  emulator: %s", stream, n_got, n_want, i < n_got ? got[i] : "(none)",
              i < n_want ? want[i] : "(none)");
    for (size_t k = 0; k < n_got; k++)
        free(got[k]);
    for (size_t k = 0; k < n_want; k++)
        free(want[k]);
    free(got);
    free(want);
    if (!same)
        cr_assert_fail("records of %s differ from the emulator's", stream);
}

char *sxt_dz_write_json(sxt_dz *t, const char *name, const json_t *value)
{
    char *path = sxt_strf("%s/%s", t->dir, name);
    cr_assert_eq(json_dump_file(value, path, JSON_INDENT(1)), 0);
    return path;
}

json_t *sxt_dz_stats(sxt_dz *t)
{
    json_t *stats = sxt_emulator_get(t->emu, "/_emulator/stats");
    cr_assert(json_is_object(stats), "no stats from the emulator");
    return stats;
}

void sxt_dz_stop(sxt_dz *t)
{
    if (t->emu)
        sxt_emulator_stop(t->emu);
    if (t->dir)
        sxt_rmtree(t->dir);
    free(t->dir);
    free(t->config_path);
    free(t->plugin_path);
    memset(t, 0, sizeof *t);
}
