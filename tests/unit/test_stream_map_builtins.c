/*
 * The built-in functions of stream-map expressions, each through a real map
 * applied to a real record, and the digests under them against their
 * published test vectors.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "mask.h"
#include "sha256.h"
#include "test_stream_map_support.h"

static void expect_eval(const char *expr, const char *record, const char *want)
{
    char *got = sxt_eval(expr, record, NULL);
    cr_expect_str_eq(got, want, "%s over %s", expr, record);
    free(got);
}

static void expect_eval_error(const char *expr, const char *record, const char *want)
{
    char *got = sxt_eval_error(expr, record, NULL);
    cr_expect_str_eq(got, want, "%s over %s", expr, record);
    free(got);
}

static void expect_compile_error(const char *expr, const char *want)
{
    char *got = sxt_compile_error(expr, NULL, NULL);
    cr_expect_str_eq(got, want, "%s", expr);
    free(got);
}

static void hex_of(const uint8_t *digest, size_t n, char *out)
{
    sx_hex(digest, n, out);
}

/* FIPS 180-4 examples (csrc.nist.gov SHA256.pdf, SHA2_Additional.pdf). */
Test(map_builtins, sha256_matches_the_fips_180_4_vectors)
{
    static const struct {
        const char *msg;
        const char *hex;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqr"
         "lmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t d[SX_SHA256_LEN];
        char hex[2 * SX_SHA256_LEN + 1];
        sx_sha256(v[i].msg, strlen(v[i].msg), d);
        hex_of(d, sizeof d, hex);
        cr_expect_str_eq(hex, v[i].hex, "message %zu", i);
    }
}

/* One million 'a', fed in uneven pieces so partial blocks are exercised. */
Test(map_builtins, sha256_of_a_million_a_fed_in_uneven_pieces)
{
    static char chunk[997];
    memset(chunk, 'a', sizeof chunk);
    sx_sha256_ctx c;
    sx_sha256_init(&c);
    size_t left = 1000000;
    for (size_t step = 1; left > 0; step = (step * 7 + 3) % sizeof chunk + 1) {
        size_t n = step < left ? step : left;
        sx_sha256_update(&c, chunk, n);
        left -= n;
    }
    uint8_t d[SX_SHA256_LEN];
    char hex[2 * SX_SHA256_LEN + 1];
    sx_sha256_final(&c, d);
    hex_of(d, sizeof d, hex);
    cr_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* RFC 4231, test cases 1 to 7 (case 5 is truncated to 128 bits). */
Test(map_builtins, hmac_sha256_matches_the_rfc_4231_vectors)
{
    uint8_t k0b[20], kaa20[20], k4[25], k0c[20], kaa131[131], ddd[50], dcd[50];
    memset(k0b, 0x0b, sizeof k0b);
    memset(kaa20, 0xaa, sizeof kaa20);
    for (size_t i = 0; i < sizeof k4; i++)
        k4[i] = (uint8_t)(i + 1);
    memset(k0c, 0x0c, sizeof k0c);
    memset(kaa131, 0xaa, sizeof kaa131);
    memset(ddd, 0xdd, sizeof ddd);
    memset(dcd, 0xcd, sizeof dcd);
    static const char big[] = "This is a test using a larger than block-size key and a larger than "
                              "block-size data. The key needs to be hashed before being used by "
                              "the HMAC algorithm.";
    const struct {
        const void *key;
        size_t klen;
        const void *msg;
        size_t mlen;
        const char *hex;
    } v[] = {
        {k0b, sizeof k0b, "Hi There", 8,
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"Jefe", 4, "what do ya want for nothing?", 28,
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {kaa20, sizeof kaa20, ddd, sizeof ddd,
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        {k4, sizeof k4, dcd, sizeof dcd,
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        {k0c, sizeof k0c, "Test With Truncation", 20, "a3b6167473100ee06e0c796c2955552b"},
        {kaa131, sizeof kaa131, "Test Using Larger Than Block-Size Key - Hash Key First", 54,
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {kaa131, sizeof kaa131, big, sizeof big - 1,
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        sx_hmac_key key;
        uint8_t d[SX_SHA256_LEN];
        char hex[2 * SX_SHA256_LEN + 1];
        sx_hmac_key_init(&key, v[i].key, v[i].klen);
        sx_hmac_sha256(&key, v[i].msg, v[i].mlen, d);
        hex_of(d, strlen(v[i].hex) / 2, hex);
        cr_expect_str_eq(hex, v[i].hex, "RFC 4231 test case %zu", i + 1);
    }
}

Test(map_builtins, sha256_of_a_property_is_lower_case_hex)
{
    expect_eval("sha256(email)", "{\"email\": \"ana@example.com\"}",
                "\"8e43ca37701228e74983efdbd0cff5c16b3b1e5d4e29a7c05626d4d25a018e11\"");
}

Test(map_builtins, sha256_of_a_number_hashes_its_text)
{
    const char *want = "\"6b51d431df5d7f141cbececcf79edf3dd861c3b4069f0b11661a3eefacbba918\"";
    expect_eval("sha256(n)", "{\"n\": 12}", want);
    expect_eval("sha256(n)", "{\"n\": \"12\"}", want);
}

Test(map_builtins, hmac_sha256_uses_the_key_named_in_secrets)
{
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"s\": {\"__secrets__\": {\"pepper\": "
                               "\"pepper-0123456789abcdef\"}, \"e\": \"hmac_sha256(email, 'pepper')\"}}}",
                               "s", NULL, NULL, NULL);
    json_t *out;
    char msg[512];
    cr_assert_eq(sxt_apply(m, "{\"email\": \"ana@example.com\"}", &out, msg, sizeof msg), 1);
    sxt_assert_json(json_object_get(out, "e"),
                    "\"7ec760c79a761bd3a162e585e122083bc50f1a6bda809544b7baa7ad83893bc5\"");
    json_decref(out);
    sx_stream_map_free(m);
}

Test(map_builtins, hmac_key_is_masked_once_the_map_is_built)
{
    sx_mask_reset();
    sx_stream_map *m = sxt_map("{\"stream_maps\": {\"__secrets__\": {\"pepper\": "
                               "\"a-very-secret-pepper\"}, \"s\": {\"e\": \"hmac_sha256(email, 'pepper')\"}}}",
                               "s", NULL, NULL, NULL);
    char out[256];
    sx_mask("key=a-very-secret-pepper", out, sizeof out);
    cr_assert_str_eq(out, "key=********");
    sx_stream_map_free(m);
    sx_mask_reset();
}

Test(map_builtins, lower_and_upper_map_ascii_and_latin1_letters)
{
    expect_eval("lower(n)", "{\"n\": \"JOÃO Ñandú ÇÉ 3×4 ÿ\"}", "\"joão ñandú çé 3×4 ÿ\"");
    expect_eval("upper(n)", "{\"n\": \"joão ñandú çé 3÷4 ß\"}", "\"JOÃO ÑANDÚ ÇÉ 3÷4 ß\"");
}

Test(map_builtins, trim_strips_white_space_at_both_ends_only)
{
    expect_eval("trim(n)", "{\"n\": \" \\t Ana  Maria \\n\"}", "\"Ana  Maria\"");
    expect_eval("trim(n)", "{\"n\": \"   \"}", "\"\"");
}

Test(map_builtins, email_domain_is_the_lower_case_part_after_the_last_at)
{
    expect_eval("email_domain(e)", "{\"e\": \"Ana@Exemplo.COM.br \"}", "\"exemplo.com.br\"");
    expect_eval("email_domain(e)", "{\"e\": \"\\\"a@b\\\"@c.org\"}", "\"c.org\"");
    expect_eval("email_domain(e)", "{\"e\": \"no-at-sign\"}", "null");
    expect_eval("email_domain(e)", "{\"e\": \"ana@\"}", "null");
    expect_eval("email_domain(e)", "{\"e\": 12}", "null");
}

Test(map_builtins, mask_keep_first_counts_characters_not_bytes)
{
    expect_eval("mask_keep_first(n, 2)", "{\"n\": \"João Silva\"}", "\"Jo********\"");
    expect_eval("mask_keep_first(n, 3)", "{\"n\": \"João\"}", "\"Joã*\"");
    expect_eval("mask_keep_first(n, 10)", "{\"n\": \"João\"}", "\"João\"");
    expect_eval("mask_keep_first(n, 0)", "{\"n\": \"João\"}", "\"****\"");
}

Test(map_builtins, mask_keep_last_keeps_the_end)
{
    expect_eval("mask_keep_last(p, 4)", "{\"p\": \"11987654321\"}", "\"*******4321\"");
    expect_eval("mask_keep_last(p, 2)", "{\"p\": \"ãõç\"}", "\"*õç\"");
    expect_eval("mask_keep_last(p, 4)", "{\"p\": 1234567}", "\"***4567\"");
    expect_eval("mask_keep_last(p, k)", "{\"p\": \"abcdef\", \"k\": \"1\"}", "\"*****f\"");
}

Test(map_builtins, a_mask_count_that_is_not_a_count_is_refused)
{
    expect_compile_error("mask_keep_first(n, -1)",
                         "stream 's', field 'v': mask_keep_first(): the count (argument 2) must be "
                         "an integer >= 0 at column 1 of \"mask_keep_first(n, -1)\"");
    expect_compile_error("mask_keep_last(n, 'x')",
                         "stream 's', field 'v': mask_keep_last(): the count (argument 2) must be "
                         "an integer >= 0 at column 1 of \"mask_keep_last(n, 'x')\"");
    expect_eval_error("mask_keep_last(n, k)", "{\"n\": \"abc\", \"k\": -2}",
                      "stream 's', field 'v': mask_keep_last(): the count (argument 2) must be an "
                      "integer >= 0, got a negative or fractional number");
    expect_eval_error("mask_keep_last(n, k)", "{\"n\": \"abc\"}",
                      "stream 's', field 'v': mask_keep_last(): the count (argument 2) must be an "
                      "integer >= 0, got null");
}

Test(map_builtins, coalesce_returns_the_first_argument_that_is_not_null)
{
    expect_eval("coalesce(a, b, 'none')", "{\"b\": 7}", "7");
    expect_eval("coalesce(a, b, 'none')", "{\"a\": null}", "\"none\"");
    expect_eval("coalesce(a)", "{}", "null");
    expect_eval("coalesce(a, b)", "{\"a\": {\"x\": [1]}}", "{\"x\":[1]}");
}

Test(map_builtins, concat_joins_texts_and_skips_nulls)
{
    expect_eval("concat(a, '-', n, missing, '-', t, '-', r)",
                "{\"a\": \"x\", \"n\": 12, \"t\": true, \"r\": 1.5}", "\"x-12-true-1.5\"");
    expect_eval("concat(missing)", "{}", "\"\"");
}

Test(map_builtins, str_writes_values_as_json_does)
{
    expect_eval("str(n)", "{\"n\": 12}", "\"12\"");
    expect_eval("str(n)", "{\"n\": 1.0}", "\"1.0\"");
    expect_eval("str(n)", "{\"n\": 0.1}", "\"0.1\"");
    expect_eval("str(n)", "{\"n\": -2.5e-7}", "\"-2.5e-07\"");
    expect_eval("str(n)", "{\"n\": false}", "\"false\"");
    expect_eval("str(n)", "{\"n\": [1, \"a\"]}", "\"[1,\\\"a\\\"]\"");
    expect_eval("str(n)", "{\"n\": \"já\"}", "\"já\"");
    expect_eval("str(n)", "{}", "null");
}

Test(map_builtins, int_reads_numbers_numeric_strings_and_booleans)
{
    expect_eval("int(n)", "{\"n\": \"12\"}", "12");
    expect_eval("int(n)", "{\"n\": 12.9}", "12");
    expect_eval("int(n)", "{\"n\": \"-2.5\"}", "-2");
    expect_eval("int(n)", "{\"n\": true}", "1");
    expect_eval("int(n)", "{\"n\": null}", "null");
    expect_eval_error("int(n)", "{\"n\": \"doze\"}",
                      "stream 's', field 'v': int(): the string is not a number");
    expect_eval_error("int(n)", "{\"n\": 1e300}",
                      "stream 's', field 'v': int(): the number is out of the 64-bit integer range");
    expect_eval_error("int(n)", "{\"n\": {}}",
                      "stream 's', field 'v': int(): cannot convert an object or array");
}

Test(map_builtins, float_reads_numeric_strings)
{
    expect_eval("float(n)", "{\"n\": \"2.5\"}", "2.5");
    expect_eval("float(n)", "{\"n\": 3}", "3.0");
    expect_eval_error("float(n)", "{\"n\": \"\"}",
                      "stream 's', field 'v': float(): the string is not a number");
}

Test(map_builtins, functions_pass_null_through)
{
    static const char *const exprs[] = {
        "sha256(x)", "lower(x)", "upper(x)", "trim(x)", "email_domain(x)",
        "mask_keep_first(x, 1)", "mask_keep_last(x, 1)", "str(x)", "int(x)", "float(x)",
    };
    for (size_t i = 0; i < sizeof exprs / sizeof exprs[0]; i++) {
        expect_eval(exprs[i], "{}", "null");
        expect_eval(exprs[i], "{\"x\": null}", "null");
    }
}

Test(map_builtins, a_wrong_number_of_arguments_is_refused_at_compile_time)
{
    expect_compile_error("sha256(a, b)", "stream 's', field 'v': sha256() takes 1 argument, given "
                         "2 at column 1 of \"sha256(a, b)\"");
    expect_compile_error("coalesce()", "stream 's', field 'v': coalesce() takes at least 1 "
                         "argument, given 0 at column 1 of \"coalesce()\"");
    expect_compile_error("mask_keep_last(x)", "stream 's', field 'v': mask_keep_last() takes 2 "
                         "arguments, given 1 at column 1 of \"mask_keep_last(x)\"");
}
