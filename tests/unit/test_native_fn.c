/*
 * Native functions declared under "transforms": a real fixture library (and
 * the contrib Brazilian library) copied into a private folder, loaded with
 * dlopen, called through libffi from real maps. Every supported signature,
 * every load error with its message, every run-time failure.
 */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "proc.h"
#include "test-paths.h"
#include "test_stream_map_support.h"

static char *tmp;      /* this test's private folder */
static char *fx_lib;   /* the fixture library, copied there */
static char *br_lib;   /* the contrib library, copied there */

/* A private copy with a known mode: the build folder's mode depends on the
 * umask of whoever built it, and the trust rules look at modes. */
static char *trusted_copy(const char *from, const char *name)
{
    size_t len;
    char *bytes = sxt_read_file(from, &len);
    cr_assert_not_null(bytes, "cannot read %s (is it built?)", from);
    char *to = sxt_strf("%s/%s", tmp, name);
    FILE *f = fopen(to, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(bytes, 1, len, f), len);
    fclose(f);
    free(bytes);
    cr_assert_eq(chmod(to, 0755), 0);
    return to;
}

static void setup(void)
{
    tmp = sxt_tmpdir("native-fn");
    cr_assert_not_null(tmp);
    chmod(tmp, 0755);
    fx_lib = trusted_copy(SX_TEST_BUILD_ROOT "/tests/unit/libsxt-ffi-fns.so", "libfx.so");
    br_lib = trusted_copy(SX_TEST_BUILD_ROOT "/tests/unit/libsiphon-transforms-br.so", "libbr.so");
}

static void teardown(void)
{
    chmod(tmp, 0700);
    sxt_rmtree(tmp);
    free(tmp);
    free(fx_lib);
    free(br_lib);
}

TestSuite(native_fn, .init = setup, .fini = teardown);

/* The "transforms" array of text, with @FX@ and @BR@ standing for the
 * libraries' paths. */
static json_t *transforms(const char *text)
{
    size_t cap = strlen(text) + 1;
    for (const char *p = text; (p = strchr(p, '@')) != NULL; p++)
        cap += strlen(fx_lib) + strlen(br_lib);
    char *buf = malloc(cap);
    size_t o = 0;
    for (const char *p = text; *p;) {
        if (strncmp(p, "@FX@", 4) == 0) {
            o += (size_t)sprintf(buf + o, "%s", fx_lib);
            p += 4;
        } else if (strncmp(p, "@BR@", 4) == 0) {
            o += (size_t)sprintf(buf + o, "%s", br_lib);
            p += 4;
        } else {
            buf[o++] = *p++;
        }
    }
    buf[o] = '\0';
    json_t *j = sxt_json(buf);
    free(buf);
    return j;
}

static sx_functions *load(const char *text)
{
    json_t *t = transforms(text);
    sx_functions *f = NULL;
    sx_error err;
    sx_error_clear(&err);
    int rc = sx_functions_load(t, 1, &f, &err);
    json_decref(t);
    cr_assert_eq(rc, 0, "should load: %s", err.msg);
    cr_assert_not_null(f);
    return f;
}

static char *load_error_allowed(const char *text, int allowed)
{
    json_t *t = transforms(text);
    sx_functions *f = NULL;
    sx_error err;
    sx_error_clear(&err);
    int rc = sx_functions_load(t, allowed, &f, &err);
    json_decref(t);
    cr_assert_eq(rc, -1, "should be refused: %s", text);
    cr_assert_null(f);
    cr_assert_eq(err.exit_code, SX_EXIT_CONFIG);
    return strdup(err.msg);
}

static void expect_load_error(const char *text, const char *want)
{
    char *got = load_error_allowed(text, 1);
    cr_expect_str_eq(got, want);
    free(got);
}

/* One entry on the fixture library: name, symbol, signature, extra keys. */
static char *fx_entry(const char *name, const char *symbol, const char *signature,
                      const char *extra)
{
    return sxt_strf("{\"name\": \"%s\", \"library\": \"@FX@\", \"symbol\": \"%s\", "
                    "\"signature\": \"%s\"%s%s}",
                    name, symbol, signature, extra ? ", " : "", extra ? extra : "");
}

static void expect_eval(const sx_functions *f, const char *expr, const char *record,
                        const char *want)
{
    char *got = sxt_eval(expr, record, f);
    cr_expect_str_eq(got, want, "%s over %s", expr, record);
    free(got);
}

static void expect_eval_error(const sx_functions *f, const char *expr, const char *record,
                              const char *want)
{
    char *got = sxt_eval_error(expr, record, f);
    cr_expect_str_eq(got, want, "%s over %s", expr, record);
    free(got);
}

/* A counter the fixture keeps, read through the library the host opened. */
static int64_t fx_counter(const char *symbol)
{
    void *h = dlopen(fx_lib, RTLD_NOW | RTLD_NOLOAD);
    cr_assert_not_null(h, "the fixture library should be loaded");
    void *sym = dlsym(h, symbol);
    cr_assert_not_null(sym);
    int64_t (*fn)(void);
    memcpy(&fn, &sym, sizeof fn);
    int64_t v = fn();
    dlclose(h); /* drops only the reference NOLOAD took */
    return v;
}

static const char ALL_SIGNATURES[] =
    "["
    "{\"name\": \"up\", \"library\": \"@FX@\", \"symbol\": \"fx_upper\", \"signature\": "
    "\"string(string)\", \"free\": \"fx_free\"},"
    "{\"name\": \"rep\", \"library\": \"@FX@\", \"symbol\": \"fx_repeat\", \"signature\": "
    "\"string(string, int64)\", \"buffer\": 64},"
    "{\"name\": \"add\", \"library\": \"@FX@\", \"symbol\": \"fx_add\", \"signature\": "
    "\"int64(int64,int64)\"},"
    "{\"name\": \"scale\", \"library\": \"@FX@\", \"symbol\": \"fx_scale\", \"signature\": "
    "\"double(double,double)\"},"
    "{\"name\": \"even\", \"library\": \"@FX@\", \"symbol\": \"fx_is_even\", \"signature\": "
    "\"bool(int64)\"},"
    "{\"name\": \"neg\", \"library\": \"@FX@\", \"symbol\": \"fx_not\", \"signature\": "
    "\"bool(bool)\"},"
    "{\"name\": \"len\", \"library\": \"@FX@\", \"symbol\": \"fx_strlen\", \"signature\": "
    "\"int64(string)\"},"
    "{\"name\": \"avg\", \"library\": \"@FX@\", \"symbol\": \"fx_avg4\", \"signature\": "
    "\"double(double,double,double,double)\"},"
    "{\"name\": \"desc\", \"library\": \"@FX@\", \"symbol\": \"fx_describe\", \"signature\": "
    "\"string(string,int64,double,bool)\", \"free\": \"fx_free\"},"
    "{\"name\": \"answer\", \"library\": \"@FX@\", \"symbol\": \"fx_answer\", \"signature\": "
    "\" int64 ( ) \"}"
    "]";

Test(native_fn, each_supported_signature_is_called_with_its_c_types)
{
    sx_functions *f = load(ALL_SIGNATURES);
    expect_eval(f, "up(name)", "{\"name\": \"ana\"}", "\"ANA\"");
    expect_eval(f, "rep(s, 3)", "{\"s\": \"ab\"}", "\"ababab\"");
    expect_eval(f, "add(a, b)", "{\"a\": 40, \"b\": 2}", "42");
    expect_eval(f, "add(9223372036854775806, 1)", "{}", "9223372036854775807");
    expect_eval(f, "add(-5, 2)", "{}", "-3");
    expect_eval(f, "scale(x, 2.5)", "{\"x\": 2}", "5.0");
    expect_eval(f, "even(n)", "{\"n\": 4}", "true");
    expect_eval(f, "even(n)", "{\"n\": 3}", "false");
    expect_eval(f, "neg(b)", "{\"b\": true}", "false");
    expect_eval(f, "neg(b)", "{\"b\": false}", "true");
    expect_eval(f, "len(s)", "{\"s\": \"João\"}", "5");
    expect_eval(f, "avg(1, 2, 3, 4)", "{}", "2.5");
    expect_eval(f, "desc(s, i, d, b)", "{\"s\": \"x\", \"i\": 7, \"d\": 1.5, \"b\": true}",
                "\"x|7|1.50|yes\"");
    expect_eval(f, "answer()", "{}", "42");
    sx_functions_free(f);
}

Test(native_fn, arguments_are_converted_like_the_built_ins_do)
{
    sx_functions *f = load(ALL_SIGNATURES);
    expect_eval(f, "add(a, b)", "{\"a\": \"40\", \"b\": \"2\"}", "42");
    expect_eval(f, "add(a, 0)", "{\"a\": 3.0}", "3");
    expect_eval(f, "len(n)", "{\"n\": 1234}", "4");
    expect_eval(f, "len(n)", "{\"n\": true}", "4");
    expect_eval(f, "scale(x, 2)", "{\"x\": \"1.25\"}", "2.5");
    expect_eval(f, "neg(b)", "{\"b\": \"false\"}", "true");
    expect_eval(f, "neg(b)", "{\"b\": 1}", "false");
    expect_eval_error(f, "add(a, 1)", "{\"a\": \"forty\"}",
                      "stream 's', field 'v': argument 1 of add(): expected an integer, got a "
                      "string that is not a number");
    expect_eval_error(f, "add(1, a)", "{\"a\": 1.5}",
                      "stream 's', field 'v': argument 2 of add(): expected an integer, got a "
                      "fractional or too large number");
    expect_eval_error(f, "scale(x, 1)", "{\"x\": {}}",
                      "stream 's', field 'v': argument 1 of scale(): expected a number");
    expect_eval_error(f, "neg(b)", "{\"b\": \"yes\"}",
                      "stream 's', field 'v': argument 1 of neg(): expected a boolean (true, "
                      "false, 1 or 0)");
    expect_eval_error(f, "len(s)", "{\"s\": \"a\\u0000b\"}",
                      "stream 's', field 'v': argument 1 of len(): the text contains a NUL byte");
    sx_functions_free(f);
}

Test(native_fn, constants_from_args_fill_their_positions)
{
    sx_functions *f = load(
        "[{\"name\": \"stars\", \"library\": \"@FX@\", \"symbol\": \"fx_repeat\", \"signature\": "
        "\"string(string,int64)\", \"buffer\": 64, \"args\": [null, 3]},"
        "{\"name\": \"xy\", \"library\": \"@FX@\", \"symbol\": \"fx_repeat\", \"signature\": "
        "\"string(string,int64)\", \"buffer\": 64, \"args\": [\"xy\", null]},"
        "{\"name\": \"plus_ten\", \"library\": \"@FX@\", \"symbol\": \"fx_add\", \"signature\": "
        "\"int64(int64,int64)\", \"args\": [10, null]},"
        "{\"name\": \"desc\", \"library\": \"@FX@\", \"symbol\": \"fx_describe\", \"signature\": "
        "\"string(string,int64,double,bool)\", \"free\": \"fx_free\", \"args\": [null, 1, 0.5, "
        "false]},"
        "{\"name\": \"scale\", \"library\": \"@FX@\", \"symbol\": \"fx_scale\", \"signature\": "
        "\"double(double,double)\", \"args\": [null, 3]},"
        "{\"name\": \"fixed\", \"library\": \"@FX@\", \"symbol\": \"fx_not\", \"signature\": "
        "\"bool(bool)\", \"args\": [true]}]");
    expect_eval(f, "stars(s)", "{\"s\": \"ab\"}", "\"ababab\"");
    expect_eval(f, "xy(n)", "{\"n\": 2}", "\"xyxy\"");
    expect_eval(f, "plus_ten(5)", "{}", "15");
    expect_eval(f, "desc('q')", "{}", "\"q|1|0.50|no\"");
    expect_eval(f, "scale(x)", "{\"x\": 1.5}", "4.5");
    expect_eval(f, "fixed()", "{}", "false");
    sx_functions_free(f);
}

Test(native_fn, a_null_argument_gives_null_without_a_call)
{
    sx_functions *f = load(ALL_SIGNATURES);
    expect_eval(f, "up(name)", "{}", "null");
    expect_eval(f, "up(name)", "{\"name\": null}", "null");
    expect_eval(f, "len(s)", "{}", "null");
    cr_assert_eq(fx_counter("fx_calls"), 0);
    expect_eval(f, "len(s)", "{\"s\": \"\"}", "0");
    cr_assert_eq(fx_counter("fx_calls"), 1);
    sx_functions_free(f);
}

Test(native_fn, every_malloced_result_is_freed_once_with_the_declared_function)
{
    sx_functions *f = load(ALL_SIGNATURES);
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"s\": {\"a\": \"up(x)\", \"b\": \"up(y)\"}}}",
                               "s", NULL, NULL, f);
    for (int i = 0; i < 25; i++) {
        json_t *out;
        char msg[256];
        cr_assert_eq(sxt_apply(m, "{\"x\": \"a\", \"y\": \"b\"}", &out, msg, sizeof msg), 1);
        json_decref(out);
    }
    cr_assert_eq(fx_counter("fx_calls"), 50);
    cr_assert_eq(fx_counter("fx_frees"), 50);
    sx_stream_map_free(m);
    sx_functions_free(f);
}

Test(native_fn, what_a_function_reports_as_failure_is_an_error_naming_stream_and_field)
{
    sx_functions *f = load(
        "[{\"name\": \"nul\", \"library\": \"@FX@\", \"symbol\": \"fx_null\", \"signature\": "
        "\"string(string)\", \"free\": \"fx_free\"},"
        "{\"name\": \"fail\", \"library\": \"@FX@\", \"symbol\": \"fx_fail\", \"signature\": "
        "\"string(string)\", \"buffer\": 16},"
        "{\"name\": \"over\", \"library\": \"@FX@\", \"symbol\": \"fx_overflow\", \"signature\": "
        "\"string(string)\", \"buffer\": 8},"
        "{\"name\": \"unterm\", \"library\": \"@FX@\", \"symbol\": \"fx_unterminated\", "
        "\"signature\": \"string(string)\", \"buffer\": 8},"
        "{\"name\": \"bad\", \"library\": \"@FX@\", \"symbol\": \"fx_bad_utf8\", \"signature\": "
        "\"string(string)\", \"free\": \"fx_free\"},"
        "{\"name\": \"nan\", \"library\": \"@FX@\", \"symbol\": \"fx_nan\", \"signature\": "
        "\"double(double)\"}]");
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"contacts\": {\"phone\": \"nul(phone)\"}}}",
                               "contacts", NULL, NULL, f);
    json_t *out;
    char msg[256];
    cr_assert_eq(sxt_apply(m, "{\"phone\": \"1\"}", &out, msg, sizeof msg), -1);
    cr_assert_str_eq(msg, "stream 'contacts', field 'phone': nul() returned NULL");
    sxt_assert_json(out, "{\"phone\": \"1\"}");
    json_decref(out);
    sx_stream_map_free(m);
    expect_eval_error(f, "fail(x)", "{\"x\": \"a\"}", "stream 's', field 'v': fail() failed "
                      "(returned -7)");
    expect_eval_error(f, "over(x)", "{\"x\": \"abcdefghijkl\"}", "stream 's', field 'v': over() "
                      "needs more than its 8-byte buffer (returned 18); raise \"buffer\"");
    expect_eval_error(f, "unterm(x)", "{\"x\": \"a\"}", "stream 's', field 'v': unterm() did not "
                      "end its text with a NUL within its 8-byte buffer");
    expect_eval_error(f, "bad(x)", "{\"x\": \"a\"}", "stream 's', field 'v': bad() returned text "
                      "that is not valid UTF-8");
    expect_eval_error(f, "nan(1)", "{}", "stream 's', field 'v': nan() returned NaN or infinity, "
                      "which JSON cannot hold");
    sx_functions_free(f);
}

Test(native_fn, on_error_null_turns_reported_failures_into_null)
{
    sx_functions *f = load(
        "[{\"name\": \"nul\", \"library\": \"@FX@\", \"symbol\": \"fx_null\", \"signature\": "
        "\"string(string)\", \"free\": \"fx_free\", \"on_error\": \"null\"},"
        "{\"name\": \"fail\", \"library\": \"@FX@\", \"symbol\": \"fx_fail\", \"signature\": "
        "\"string(string)\", \"buffer\": 16, \"on_error\": \"null\"},"
        "{\"name\": \"over\", \"library\": \"@FX@\", \"symbol\": \"fx_overflow\", \"signature\": "
        "\"string(string)\", \"buffer\": 8, \"on_error\": \"null\"}]");
    expect_eval(f, "nul(x)", "{\"x\": \"a\"}", "null");
    expect_eval(f, "fail(x)", "{\"x\": \"a\"}", "null");
    /* A result that did not fit is the config's mistake, not the data's. */
    expect_eval_error(f, "over(x)", "{\"x\": \"abcdefghijkl\"}", "stream 's', field 'v': over() "
                      "needs more than its 8-byte buffer (returned 18); raise \"buffer\"");
    sx_functions_free(f);
}

Test(native_fn, computed_properties_get_the_declared_c_type_in_the_schema)
{
    sx_functions *f = load(ALL_SIGNATURES);
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"s\": {\"__filter__\": \"even(n)\", "
                               "\"u\": \"up(name)\", \"l\": \"len(name)\", \"d\": \"scale(n, 1)\", "
                               "\"b\": \"neg(flag)\"}}}",
                               "s", "{\"properties\": {\"n\": {\"type\": \"integer\"}, \"name\": "
                               "{\"type\": \"string\"}, \"flag\": {\"type\": \"boolean\"}}}",
                               NULL, f);
    json_t *schema = sx_stream_map_schema(m);
    sxt_assert_json(schema, "{\"properties\": {\"n\": {\"type\": \"integer\"}, "
                            "\"name\": {\"type\": \"string\"}, \"flag\": {\"type\": \"boolean\"}, "
                            "\"u\": {\"type\": [\"string\", \"null\"]}, "
                            "\"l\": {\"type\": [\"integer\", \"null\"]}, "
                            "\"d\": {\"type\": [\"number\", \"null\"]}, "
                            "\"b\": {\"type\": [\"boolean\", \"null\"]}}}");
    json_decref(schema);
    json_t *out;
    char msg[256];
    cr_assert_eq(sxt_apply(m, "{\"n\": 3, \"name\": \"x\"}", &out, msg, sizeof msg), 0);
    json_decref(out);
    cr_assert_eq(sxt_apply(m, "{\"n\": 4, \"name\": \"abc\", \"flag\": false}", &out, msg,
                           sizeof msg), 1, "%s", msg);
    sxt_assert_json(out, "{\"n\": 4, \"name\": \"abc\", \"flag\": false, \"u\": \"ABC\", "
                         "\"l\": 3, \"d\": 4.0, \"b\": true}");
    json_decref(out);
    sx_stream_map_free(m);
    sx_functions_free(f);
}

Test(native_fn, a_call_site_with_the_wrong_arity_is_refused_at_startup)
{
    sx_functions *f = load(
        "[{\"name\": \"add\", \"library\": \"@FX@\", \"symbol\": \"fx_add\", \"signature\": "
        "\"int64(int64,int64)\"},"
        "{\"name\": \"stars\", \"library\": \"@FX@\", \"symbol\": \"fx_repeat\", \"signature\": "
        "\"string(string,int64)\", \"buffer\": 64, \"args\": [null, 3]}]");
    char *msg = sxt_compile_error("add(1)", NULL, f);
    cr_expect_str_eq(msg, "stream 's', field 'v': add() takes 2 arguments (signature "
                          "int64(int64,int64)), given 1 at column 1 of \"add(1)\"");
    free(msg);
    msg = sxt_compile_error("stars(name, 2)", NULL, f);
    cr_expect_str_eq(msg, "stream 's', field 'v': stars() takes 1 argument (signature "
                          "string(string,int64), 1 fixed by \"args\"), given 2 at column 1 of "
                          "\"stars(name, 2)\"");
    free(msg);
    msg = sxt_compile_error("ad(1, 2)", NULL, f);
    cr_expect_str_eq(msg, "stream 's', field 'v': unknown function 'ad' at column 1 of "
                          "\"ad(1, 2)\" (did you mean 'add'?)");
    free(msg);
    sx_functions_free(f);
}

/* ---- load errors ---- */

Test(native_fn, nothing_loads_unless_native_transforms_are_allowed)
{
    char *got = load_error_allowed(
        "[{\"name\": \"up\", \"library\": \"@FX@\", \"symbol\": \"fx_upper\", \"signature\": "
        "\"string(string)\", \"free\": \"fx_free\"}, {\"name\": \"x\"}]", 0);
    char *want = sxt_strf("transforms[0] ('up'): native functions are disabled; set "
                          "\"allow_native_transforms\": true to load %s and the other entries",
                          fx_lib);
    cr_assert_str_eq(got, want);
    free(got);
    free(want);
    /* Refused before the library was opened. */
    cr_assert_null(dlopen(fx_lib, RTLD_NOW | RTLD_NOLOAD));
}

Test(native_fn, no_transforms_load_nothing)
{
    sx_functions *f = (sx_functions *)1;
    sx_error err;
    sx_error_clear(&err);
    cr_assert_eq(sx_functions_load(NULL, 0, &f, &err), 0);
    cr_assert_null(f);
    json_t *empty = json_array();
    cr_assert_eq(sx_functions_load(empty, 0, &f, &err), 0);
    cr_assert_null(f);
    json_decref(empty);
}

Test(native_fn, malformed_entries_are_refused_with_their_index)
{
    expect_load_error("{\"name\": \"x\"}", "transforms: expected an array, found an object");
    expect_load_error("[\"x\"]", "transforms[0]: expected an object, found a string");
    expect_load_error("[{\"name\": \"up\", \"libary\": \"@FX@\"}]",
                      "transforms[0]: unknown key 'libary' (did you mean 'library'?)");
    expect_load_error("[{\"name\": \"up\", \"zzz\": 1}]",
                      "transforms[0]: unknown key 'zzz' (keys: name, library, symbol, signature, "
                      "free, buffer, args, thread_safe, on_error)");
    expect_load_error("[{\"library\": \"@FX@\"}]", "transforms[0]: \"name\" is required");
    expect_load_error("[{\"name\": \"e-164\"}]",
                      "transforms[0]: \"name\" must be an identifier (letters, digits, '_'; not "
                      "starting with a digit), found \"e-164\"");
    expect_load_error("[{\"name\": 3}]",
                      "transforms[0]: \"name\" must be a non-empty string, found an integer");
    expect_load_error("[{\"name\": \"sha256\"}]",
                      "transforms[0]: \"name\" 'sha256' is taken by a built-in function");
    expect_load_error("[{\"name\": \"record\"}]",
                      "transforms[0]: \"name\" 'record' is a word of the expression language");
    expect_load_error("[{\"name\": \"up\", \"symbol\": \"fx_upper\", \"signature\": "
                      "\"string(string)\"}]",
                      "transforms[0] ('up'): \"library\" is required");
    expect_load_error("[{\"name\": \"up\", \"library\": \"@FX@\", \"signature\": \"int64()\"}]",
                      "transforms[0] ('up'): \"symbol\" is required");
    expect_load_error("[{\"name\": \"up\", \"library\": \"@FX@\", \"symbol\": \"fx_answer\", "
                      "\"signature\": \"\"}]",
                      "transforms[0] ('up'): \"signature\" must be a non-empty string, found an "
                      "empty string");
}

Test(native_fn, a_name_is_used_once)
{
    char *a = fx_entry("answer", "fx_answer", "int64()", NULL);
    char *text = sxt_strf("[%s, %s]", a, a);
    expect_load_error(text, "transforms[1]: \"name\" 'answer' is already used by transforms[0]");
    free(text);
    free(a);
}

Test(native_fn, malformed_signatures_say_where)
{
    static const struct {
        const char *sig;
        const char *what;
    } cases[] = {
        {"strng(string)", "unknown type 'strng' at column 1"},
        {"string(string", "expected ',' or ')' at column 14"},
        {"string string", "expected '(' at column 8"},
        {"int64(int64,)", "expected a type at column 13"},
        {"int64(int)", "unknown type 'int' at column 7"},
        {"string(char*)", "unknown type 'char*' at column 8"},
        {"int64(int64) x", "unexpected text after ')' at column 14"},
        {"int64(int64,int64,int64,int64,int64)", "more than 4 parameters"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *e = fx_entry("f", "fx_answer", cases[i].sig, "\"free\": \"fx_free\"");
        char *text = sxt_strf("[%s]", e);
        char *want = sxt_strf("transforms[0] ('f'): malformed signature \"%s\": %s (types: "
                              "string, int64, double, bool)", cases[i].sig, cases[i].what);
        expect_load_error(text, want);
        free(want);
        free(text);
        free(e);
    }
}

Test(native_fn, result_options_must_fit_the_signature)
{
    static const struct {
        const char *sig;
        const char *extra;
        const char *want;
    } cases[] = {
        {"int64(int64,int64)", "\"free\": \"fx_free\"",
         "\"free\" applies only to functions returning string, and int64(int64,int64) returns "
         "int64"},
        {"double(double)", "\"buffer\": 8",
         "\"buffer\" applies only to functions returning string, and double(double) returns "
         "double"},
        {"string(string)", NULL,
         "a function returning string needs \"free\" (the function that releases its result) "
         "or \"buffer\" (it fills a caller's buffer instead)"},
        {"string(string)", "\"free\": \"fx_free\", \"buffer\": 8",
         "\"free\" and \"buffer\" exclude each other: the function either returns a malloc'd "
         "string or fills a buffer"},
        {"string(string)", "\"buffer\": 0", "\"buffer\" must be an integer from 1 to 1048576"},
        {"string(string)", "\"buffer\": \"64\"", "\"buffer\" must be an integer from 1 to 1048576"},
        {"string(string)", "\"free\": 1",
         "\"free\" must name a function (a non-empty string), found an integer"},
        {"int64(int64,int64)", "\"args\": [1]",
         "\"args\" must be an array of 2 entries (one per parameter of int64(int64,int64)), found "
         "another length"},
        {"int64(int64,int64)", "\"args\": {}",
         "\"args\" must be an array of 2 entries (one per parameter of int64(int64,int64)), found "
         "an object"},
        {"int64(int64,int64)", "\"args\": [null, \"3\"]",
         "\"args\"[1] must be null or a constant of the parameter's type int64, found a string"},
        {"double(double)", "\"args\": [true]",
         "\"args\"[0] must be null or a constant of the parameter's type double, found a "
         "boolean"},
        {"int64(int64,int64)", "\"thread_safe\": \"no\"",
         "\"thread_safe\" must be true or false, found a string"},
        {"int64(int64,int64)", "\"on_error\": \"ignore\"",
         "\"on_error\" must be \"fail\" or \"null\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *e = fx_entry("f", "fx_add", cases[i].sig, cases[i].extra);
        char *text = sxt_strf("[%s]", e);
        char *want = sxt_strf("transforms[0] ('f'): %s", cases[i].want);
        expect_load_error(text, want);
        free(want);
        free(text);
        free(e);
    }
}

Test(native_fn, unknown_symbols_are_refused_at_startup)
{
    char *want = sxt_strf("transforms[0] ('f'): no symbol 'fx_nope' in %s", fx_lib);
    expect_load_error("[{\"name\": \"f\", \"library\": \"@FX@\", \"symbol\": \"fx_nope\", "
                      "\"signature\": \"int64()\"}]", want);
    free(want);
    want = sxt_strf("transforms[0] ('f'): no symbol 'fx_release' (\"free\") in %s", fx_lib);
    expect_load_error("[{\"name\": \"f\", \"library\": \"@FX@\", \"symbol\": \"fx_upper\", "
                      "\"signature\": \"string(string)\", \"free\": \"fx_release\"}]", want);
    free(want);
}

Test(native_fn, a_library_that_cannot_be_loaded_is_refused_with_the_reason)
{
    expect_load_error("[{\"name\": \"f\", \"library\": \"libfx.so\", \"symbol\": \"fx_answer\", "
                      "\"signature\": \"int64()\"}]",
                      "transforms[0] ('f'): \"library\" must be an absolute path, found "
                      "\"libfx.so\"");
    char *missing = sxt_strf("%s/nope.so", tmp);
    char *text = sxt_strf("[{\"name\": \"f\", \"library\": \"%s\", \"symbol\": \"fx_answer\", "
                          "\"signature\": \"int64()\"}]", missing);
    char *want = sxt_strf("transforms[0] ('f'): cannot load library %s: No such file or "
                          "directory", missing);
    expect_load_error(text, want);
    free(want);
    free(text);

    /* A file that is not a shared object: dlopen's own reason. */
    cr_assert_eq(sxt_write_file(missing, "not an ELF file, just text\n"), 0);
    chmod(missing, 0644);
    text = sxt_strf("[{\"name\": \"f\", \"library\": \"%s\", \"symbol\": \"fx_answer\", "
                    "\"signature\": \"int64()\"}]", missing);
    char *got = load_error_allowed(text, 1);
    want = sxt_strf("transforms[0] ('f'): cannot load library: %s: ", missing);
    cr_assert(strncmp(got, want, strlen(want)) == 0, "got: %s", got);
    free(got);
    free(want);
    free(text);
    free(missing);
}

Test(native_fn, libraries_follow_the_plugin_trust_rules)
{
    /* A symbolic link: refused, with the file to name instead. */
    char *link = sxt_strf("%s/link.so", tmp);
    cr_assert_eq(symlink(fx_lib, link), 0);
    char *text = sxt_strf("[{\"name\": \"f\", \"library\": \"%s\", \"symbol\": \"fx_answer\", "
                          "\"signature\": \"int64()\"}]", link);
    char *real = realpath(fx_lib, NULL);
    char *want = sxt_strf("transforms[0] ('f'): library %s is a symbolic link; name the file "
                          "itself (%s)", link, real);
    expect_load_error(text, want);
    free(want);
    free(real);
    free(text);
    free(link);

    /* Writable by the group. */
    chmod(fx_lib, 0775);
    want = sxt_strf("transforms[0] ('f'): library %s: mode 0775 is writable by group or others",
                    fx_lib);
    expect_load_error("[{\"name\": \"f\", \"library\": \"@FX@\", \"symbol\": \"fx_answer\", "
                      "\"signature\": \"int64()\"}]", want);
    free(want);
    chmod(fx_lib, 0755);

    /* In a folder anyone can write to. */
    chmod(tmp, 0777);
    want = sxt_strf("transforms[0] ('f'): the folder of library %s: %s has mode 0777, writable "
                    "by group or others", fx_lib, tmp);
    expect_load_error("[{\"name\": \"f\", \"library\": \"@FX@\", \"symbol\": \"fx_answer\", "
                      "\"signature\": \"int64()\"}]", want);
    free(want);
    chmod(tmp, 0755);

    /* Not a regular file. */
    want = sxt_strf("transforms[0] ('f'): library %s is not a regular file", tmp);
    text = sxt_strf("[{\"name\": \"f\", \"library\": \"%s\", \"symbol\": \"fx_answer\", "
                    "\"signature\": \"int64()\"}]", tmp);
    expect_load_error(text, want);
    free(text);
    free(want);

    /* Refused before anything was loaded from it. */
    cr_assert_null(dlopen(fx_lib, RTLD_NOW | RTLD_NOLOAD));
}

/* ---- threads ---- */

typedef struct caller {
    const sx_stream_map *m;
    int failures;
} caller;

static void *call_many(void *arg)
{
    caller *c = arg;
    for (int i = 0; i < 150; i++) {
        json_t *r = json_pack("{s:i}", "x", i);
        char msg[256];
        int rc = sx_stream_map_apply(c->m, r, msg, sizeof msg);
        if (rc != 1 || json_integer_value(json_object_get(r, "y")) != i)
            c->failures++;
        json_decref(r);
    }
    return NULL;
}

static void run_callers(const sx_stream_map *m)
{
    enum { THREADS = 4 };
    pthread_t t[THREADS];
    caller c[THREADS];
    for (int i = 0; i < THREADS; i++) {
        c[i] = (caller){.m = m};
        cr_assert_eq(pthread_create(&t[i], NULL, call_many, &c[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        cr_expect_eq(c[i].failures, 0, "thread %d: %d wrong records", i, c[i].failures);
    }
}

Test(native_fn, thread_safe_false_serialises_the_calls)
{
    sx_functions *f = load("[{\"name\": \"enter\", \"library\": \"@FX@\", \"symbol\": "
                           "\"fx_enter\", \"signature\": \"int64(int64)\", \"thread_safe\": false}]");
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"s\": {\"y\": \"enter(x)\"}}}", "s", NULL,
                               NULL, f);
    run_callers(m);
    /* fx_enter counts every call that began while another was inside. */
    cr_assert_eq(fx_counter("fx_overlaps"), 0);
    sx_stream_map_free(m);
    sx_functions_free(f);
}

Test(native_fn, thread_safe_functions_are_called_from_several_threads)
{
    sx_functions *f = load("[{\"name\": \"enter\", \"library\": \"@FX@\", \"symbol\": "
                           "\"fx_enter\", \"signature\": \"int64(int64)\"}]");
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"s\": {\"y\": \"enter(x)\"}}}", "s", NULL,
                               NULL, f);
    run_callers(m);
    sx_stream_map_free(m);
    sx_functions_free(f);
}

/* ---- the contrib library, declared as its README says ---- */

static const char BR_TRANSFORMS[] =
    "[{\"name\": \"e164\", \"library\": \"@BR@\", \"symbol\": \"br_phone_e164\", \"signature\": "
    "\"string(string)\", \"free\": \"br_free\", \"on_error\": \"null\"},"
    "{\"name\": \"cpf_mask\", \"library\": \"@BR@\", \"symbol\": \"cpf_mask\", \"signature\": "
    "\"string(string)\", \"buffer\": 16},"
    "{\"name\": \"cpf_valid\", \"library\": \"@BR@\", \"symbol\": \"cpf_valid\", \"signature\": "
    "\"bool(string)\"}]";

Test(native_fn, the_brazilian_library_normalises_phones_and_masks_cpfs)
{
    sx_functions *f = load(BR_TRANSFORMS);
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"contacts\": {\"phone\": \"e164(phone)\", "
                               "\"cpf\": \"cpf_mask(cpf)\", \"__filter__\": \"cpf_valid(cpf)\"}}}",
                               "contacts", NULL, NULL, f);
    static const struct {
        const char *in;
        int keep;
        const char *out;
    } cases[] = {
        {"{\"phone\": \"(11) 98765-4321\", \"cpf\": \"529.982.247-25\"}", 1,
         "{\"phone\": \"+5511987654321\", \"cpf\": \"***.982.247-**\"}"},
        {"{\"phone\": \"0 21 21 3456-7890\", \"cpf\": \"52998224725\"}", 1,
         "{\"phone\": \"+552134567890\", \"cpf\": \"***.982.247-**\"}"},
        {"{\"phone\": \"not a phone\", \"cpf\": \"529.982.247-25\"}", 1,
         "{\"phone\": null, \"cpf\": \"***.982.247-**\"}"},
        {"{\"phone\": \"11987654321\", \"cpf\": \"529.982.247-24\"}", 0, NULL},
        {"{\"phone\": \"11987654321\"}", 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *out;
        char msg[256];
        int rc = sxt_apply(m, cases[i].in, &out, msg, sizeof msg);
        cr_expect_eq(rc, cases[i].keep, "%s: %s", cases[i].in, msg);
        if (rc == 1)
            sxt_assert_json(out, cases[i].out);
        json_decref(out);
    }
    sx_stream_map_free(m);
    sx_functions_free(f);
}

Test(native_fn, a_cpf_that_cannot_be_masked_fails_the_record)
{
    sx_functions *f = load(BR_TRANSFORMS);
    char *msg = sxt_eval_error("cpf_mask(c)", "{\"c\": \"123\"}", f);
    cr_assert_str_eq(msg, "stream 's', field 'v': cpf_mask() failed (returned -1)");
    free(msg);
    sx_functions_free(f);
}
