/*
 * fz.c: Dinamize syncs into destinations, checked against the emulator (fz.h).
 */
#include "fz.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "siphon_cli.h"

void sxt_fz_write_config(sxt_dz *t, sxt_dest *d, const char *extra_config)
{
    json_error_t e;
    json_t *cfg = json_loads(SXT_FZ_CONFIG, 0, &e);
    cr_assert_not_null(cfg, "%s", e.text);
    if (extra_config != NULL) {
        json_t *extra = json_loads(extra_config, 0, &e);
        cr_assert(json_is_object(extra), "extra config is not an object: %s", e.text);
        json_object_update(cfg, extra);
        json_decref(extra);
    }
    json_object_set_new(cfg, "sink", sxt_dest_sink_config(d));
    char *text = json_dumps(cfg, JSON_COMPACT);
    sxt_dz_config(t, text);
    free(text);
    json_decref(cfg);
}

sxt_result sxt_fz_run(sxt_dz *t, sxt_dest *d, const char *extra_config, const char *const args[],
                      const char *const env[])
{
    sxt_fz_write_config(t, d, extra_config);
    const char *argv[32] = {"run", "--config", t->config_path, "--quiet"};
    size_t n = 4;
    for (size_t i = 0; args != NULL && args[i] != NULL && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    sxt_result r = sxt_siphon_argv(t->plugin_path, env, NULL, 240, argv);
    if (strcmp(sxt_dest_sink(d), "stdout") == 0)
        sxt_dest_set_output(d, r.out);
    return r;
}

static const char *const key_code[] = {"code", NULL};
static const char *const key_email[] = {"email", NULL};
static const char *const key_transaction[] = {"action_code", "dt_transaction", NULL};

const char *const *sxt_fz_keys(const char *stream)
{
    if (strcmp(stream, "optout_emails") == 0)
        return key_email;
    if (strcmp(stream, "transactions") == 0)
        return key_transaction;
    return key_code;
}

/* Each row's primary key as canonical text, in an array. */
static json_t *key_rows(const char *stream, const json_t *rows)
{
    json_t *out = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        json_t *key = json_object();
        for (const char *const *k = sxt_fz_keys(stream); *k != NULL; k++) {
            json_t *v = json_object_get(row, *k);
            json_object_set(key, *k, v ? v : json_null());
        }
        json_array_append_new(out, key);
    }
    return out;
}

static int listed(const char *list, const char *name)
{
    if (list == NULL)
        return 0;
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return 1;
    return 0;
}

void sxt_fz_forget_live_counts(json_t *rows)
{
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(rows, "contact_lists"), i, row) {
        json_object_del(row, "total_contacts");
        json_object_del(row, "total_valid");
    }
}

void sxt_fz_assert_emulator(sxt_dz *t, const sxt_dest *d, const json_t *rows, const char *skip,
                            int live_counts)
{
    const char *sink = sxt_dest_sink(d);
    int values = strcmp(sink, "stdout") == 0 || strcmp(sink, "file") == 0;
    json_t *got = json_object(), *want = json_object();
    for (size_t i = 0; i < 13; i++) {
        const char *stream = sxt_dz_streams[i];
        if (listed(skip, stream))
            continue;
        json_t *expected = sxt_dz_expected(t, stream);
        cr_assert_gt(json_array_size(expected), 0, "the emulator holds no %s", stream);
        json_t *have = json_object_get(rows, stream);
        if (values) {
            json_object_set_new(want, stream, expected);
            json_object_set_new(got, stream, have ? json_deep_copy(have) : json_array());
        } else {
            json_object_set_new(want, stream, key_rows(stream, expected));
            json_object_set_new(got, stream, key_rows(stream, have));
            json_decref(expected);
        }
    }
    if (live_counts) {
        sxt_fz_forget_live_counts(got);
        sxt_fz_forget_live_counts(want);
    }
    char *what = sxt_strf("%s sink against the emulator's dump (%s)", sink,
                          values ? "every value" : "primary keys");
    sxt_rows_assert_same(what, got, want);
    free(what);
    json_decref(got);
    json_decref(want);
}

long long sxt_fz_faults(sxt_dz *t)
{
    json_t *stats = sxt_dz_stats(t);
    long long total = 0;
    const char *kind;
    json_t *n;
    json_object_foreach(json_object_get(stats, "faults"), kind, n) total += json_integer_value(n);
    json_decref(stats);
    return total;
}

void sxt_fz_assert_no_violation(sxt_dz *t)
{
    json_t *stats = sxt_dz_stats(t);
    cr_assert_eq(json_integer_value(json_object_get(stats, "violations")), 0,
                 "a request came before its retry-after had passed: %lld violations",
                 (long long)json_integer_value(json_object_get(stats, "violations")));
    json_decref(stats);
}
