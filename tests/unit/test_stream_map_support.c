#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "test_stream_map_support.h"

json_t *sxt_json(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    cr_assert_not_null(j, "bad JSON in the test (%s): %s", e.text, text);
    return j;
}

static int build(const char *config, const char *stream, const char *schema,
                 const char *const *keys, const sx_functions *fns, sx_stream_map **m,
                 sx_error *err)
{
    json_t *root = sxt_json(config);
    json_t *s = schema != NULL ? sxt_json(schema) : NULL;
    sx_error_clear(err);
    int rc = sx_stream_map_build(root, stream, s, keys, fns, m, err);
    json_decref(root);
    json_decref(s);
    return rc;
}

sx_stream_map *sxt_map(const char *config, const char *stream, const char *schema,
                       const char *const *keys, const sx_functions *fns)
{
    sx_stream_map *m = NULL;
    sx_error err;
    int rc = build(config, stream, schema, keys, fns, &m, &err);
    cr_assert_eq(rc, 0, "the map should build: %s", err.msg);
    return m;
}

char *sxt_map_error(const char *config, const char *stream, const char *schema,
                    const char *const *keys, const sx_functions *fns)
{
    sx_stream_map *m = NULL;
    sx_error err;
    int rc = build(config, stream, schema, keys, fns, &m, &err);
    cr_assert_eq(rc, -1, "the map should be refused: %s", config);
    cr_assert_null(m);
    cr_assert_eq(err.exit_code, SX_EXIT_CONFIG, "exit code %d for: %s", err.exit_code, err.msg);
    return strdup(err.msg);
}

int sxt_apply(const sx_stream_map *m, const char *record, json_t **out, char *msg, size_t cap)
{
    json_t *r = sxt_json(record);
    msg[0] = '\0';
    int rc = sx_stream_map_apply(m, r, msg, cap);
    *out = r;
    return rc;
}

void sxt_assert_json(const json_t *got, const char *want)
{
    json_t *w = sxt_json(want);
    char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
    int same = json_equal((json_t *)got, w);
    json_decref(w);
    cr_assert(same, "got %s, want %s", g ? g : "NULL", want);
    free(g);
}

static sx_stream_map *expr_map(const char *expr, const sx_functions *fns)
{
    json_t *root = json_pack("{s:{s:{s:s}}}", "stream_maps", "s", "v", expr);
    sx_stream_map *m = NULL;
    sx_error err;
    sx_error_clear(&err);
    int rc = sx_stream_map_build(root, "s", NULL, NULL, fns, &m, &err);
    json_decref(root);
    cr_assert_eq(rc, 0, "\"%s\" should compile: %s", expr, err.msg);
    return m;
}

char *sxt_eval(const char *expr, const char *record, const sx_functions *fns)
{
    sx_stream_map *m = expr_map(expr, fns);
    char msg[1024];
    json_t *out;
    int rc = sxt_apply(m, record, &out, msg, sizeof msg);
    cr_assert_eq(rc, 1, "\"%s\" should evaluate: %s", expr, msg);
    char *text = json_dumps(json_object_get(out, "v"), JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(out);
    sx_stream_map_free(m);
    return text;
}

char *sxt_eval_error(const char *expr, const char *record, const sx_functions *fns)
{
    sx_stream_map *m = expr_map(expr, fns);
    char msg[1024];
    json_t *out;
    int rc = sxt_apply(m, record, &out, msg, sizeof msg);
    json_t *before = sxt_json(record);
    cr_assert_eq(rc, -1, "\"%s\" should fail", expr);
    cr_assert(json_equal(out, before), "a failed record must stay as it was");
    json_decref(before);
    json_decref(out);
    sx_stream_map_free(m);
    return strdup(msg);
}

char *sxt_compile_error(const char *expr, const char *schema, const sx_functions *fns)
{
    json_t *root = json_pack("{s:{s:{s:s}}}", "stream_maps", "s", "v", expr);
    json_t *s = schema != NULL ? sxt_json(schema) : NULL;
    sx_stream_map *m = NULL;
    sx_error err;
    sx_error_clear(&err);
    int rc = sx_stream_map_build(root, "s", s, NULL, fns, &m, &err);
    json_decref(root);
    json_decref(s);
    cr_assert_eq(rc, -1, "\"%s\" should not compile", expr);
    cr_assert_eq(err.exit_code, SX_EXIT_CONFIG);
    return strdup(err.msg);
}
