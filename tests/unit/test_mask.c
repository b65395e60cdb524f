#include <string.h>

#include <criterion/criterion.h>

#include "error.h"
#include "mask.h"

static void fresh(void)
{
    sx_mask_reset();
}

TestSuite(mask, .init = fresh, .fini = fresh);

Test(mask, replaces_every_occurrence_of_every_secret)
{
    sx_mask_add("hunter2secret");
    sx_mask_add("4711.abc+/def");
    char out[256];
    sx_mask("pw=hunter2secret token=4711.abc+/def again hunter2secret", out, sizeof out);
    cr_assert_str_eq(out, "pw=******** token=******** again ********");
}

Test(mask, masks_the_longest_secret_when_one_contains_another)
{
    sx_mask_add("abcdef");
    sx_mask_add("abcdefghij");
    char out[64];
    sx_mask("x abcdefghij y", out, sizeof out);
    cr_assert_str_eq(out, "x ******** y");
}

Test(mask, ignores_values_too_short_to_mask_safely)
{
    sx_mask_add("ab");
    char out[64];
    sx_mask("about tab", out, sizeof out);
    cr_assert_str_eq(out, "about tab");
}

Test(mask, errors_never_carry_a_secret)
{
    sx_mask_add("s3cr3t-pass");
    sx_error err = {0};
    sx_error_set(&err, SX_EXIT_AUTH, "login with s3cr3t-pass refused");
    cr_assert_eq(err.exit_code, SX_EXIT_AUTH);
    cr_assert_null(strstr(err.msg, "s3cr3t-pass"));
    cr_assert_not_null(strstr(err.msg, "********"));
}

Test(mask, truncates_safely_into_a_small_buffer)
{
    sx_mask_add("secretvalue");
    char out[6];
    size_t n = sx_mask("secretvalue and more", out, sizeof out);
    cr_assert_eq(n, 5);
    cr_assert_str_eq(out, "*****");
}
