/*
 * test_br.c: the Brazilian transforms, called directly. (siphon's own suite
 * also calls them through libffi, the way a config declares them.)
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "../siphon-transforms-br.h"

static void expect_e164(const char *in, const char *want)
{
    char *got = br_phone_e164(in);
    if (want == NULL) {
        cr_expect_null(got, "\"%s\" should be refused, got \"%s\"", in, got ? got : "");
    } else {
        cr_expect_not_null(got, "\"%s\" should give %s", in, want);
        if (got != NULL)
            cr_expect_str_eq(got, want, "\"%s\"", in);
    }
    br_free(got);
}

Test(br_phone_e164, accepts_the_usual_ways_of_writing_a_mobile_number)
{
    expect_e164("(11) 98765-4321", "+5511987654321");
    expect_e164("11987654321", "+5511987654321");
    expect_e164("11 9 8765 4321", "+5511987654321");
    expect_e164("+55 11 98765-4321", "+5511987654321");
    expect_e164("+55 (11) 98765.4321", "+5511987654321");
    expect_e164("5511987654321", "+5511987654321");
}

Test(br_phone_e164, accepts_landlines_with_eight_digits)
{
    expect_e164("(21) 3456-7890", "+552134567890");
    expect_e164("552134567890", "+552134567890");
    expect_e164("(55) 3222-1234", "+555532221234"); /* area code 55 is Santa Maria, RS */
}

Test(br_phone_e164, strips_the_trunk_prefix_and_the_carrier_code)
{
    expect_e164("011 98765-4321", "+5511987654321");
    expect_e164("0 21 11 98765-4321", "+5511987654321");
    expect_e164("0xx", NULL);
}

Test(br_phone_e164, refuses_what_is_not_a_brazilian_number_with_area_code)
{
    expect_e164("98765-4321", NULL);           /* no area code */
    expect_e164("(20) 98765-4321", NULL);      /* no such area code */
    expect_e164("(11) 88765-4321", NULL);      /* nine digits not starting with 9 */
    expect_e164("(11) 7654-3210", NULL);       /* eight digits, not a landline prefix */
    expect_e164("+1 415 555 2671", NULL);      /* another country */
    expect_e164("11 98765-4321 ramal 2", NULL); /* text */
    expect_e164("", NULL);
    expect_e164(NULL, NULL);
    expect_e164("+55+11987654321", NULL);
    expect_e164("1198765432112345678901", NULL);
}

Test(cpf_mask, hides_the_first_three_and_last_two_digits)
{
    char out[16];
    cr_assert_eq(cpf_mask(out, sizeof out, "529.982.247-25"), 14);
    cr_assert_str_eq(out, "***.982.247-**");
    cr_assert_eq(cpf_mask(out, sizeof out, "52998224725"), 14);
    cr_assert_str_eq(out, "***.982.247-**");
    cr_assert_eq(cpf_mask(out, sizeof out, " 529 982 247 25 "), 14);
    cr_assert_str_eq(out, "***.982.247-**");
}

Test(cpf_mask, reports_the_length_it_needs_when_the_buffer_is_short)
{
    char out[8];
    cr_assert_eq(cpf_mask(out, sizeof out, "52998224725"), 14);
    cr_assert_str_eq(out, "***.982");
}

Test(cpf_mask, refuses_what_is_not_eleven_digits)
{
    char out[16];
    cr_assert_eq(cpf_mask(out, sizeof out, "5299822472"), -1);
    cr_assert_eq(cpf_mask(out, sizeof out, "529982247251"), -1);
    cr_assert_eq(cpf_mask(out, sizeof out, "529.982.247-2X"), -1);
    cr_assert_eq(cpf_mask(out, sizeof out, NULL), -1);
}

Test(cpf_valid, checks_both_check_digits)
{
    cr_assert(cpf_valid("529.982.247-25"));
    cr_assert(cpf_valid("52998224725"));
    cr_assert_not(cpf_valid("529.982.247-24"));
    cr_assert_not(cpf_valid("529.982.247-15"));
    cr_assert_not(cpf_valid("111.111.111-11"));
    cr_assert_not(cpf_valid("5299822472"));
    cr_assert_not(cpf_valid(NULL));
}
