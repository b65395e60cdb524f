#include <stdlib.h>
#include <string.h>

#include "siphon-transforms-br.h"

#define CPF_DIGITS 11

/* Area codes (DDD) in service; the others of 11..99 were never assigned. */
static int valid_area_code(int ddd)
{
    static const unsigned char codes[] = {
        11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 24, 27, 28, 31, 32, 33, 34, 35, 37, 38,
        41, 42, 43, 44, 45, 46, 47, 48, 49, 51, 53, 54, 55, 61, 62, 63, 64, 65, 66, 67, 68,
        69, 71, 73, 74, 75, 77, 79, 81, 82, 83, 84, 85, 86, 87, 88, 89, 91, 92, 93, 94, 95,
        96, 97, 98, 99,
    };
    for (size_t i = 0; i < sizeof codes; i++)
        if (codes[i] == ddd)
            return 1;
    return 0;
}

/*
 * The digits of text into digits (at most cap - 1 of them), skipping the
 * punctuation people write numbers with. Returns how many, or -1 when text
 * holds anything else (letters, a second '+', too many digits).
 */
static int collect_digits(const char *text, const char *punctuation, char *digits, size_t cap,
                          int *plus)
{
    size_t n = 0;
    *plus = 0;
    for (const char *p = text; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (n + 1 >= cap)
                return -1;
            digits[n++] = *p;
        } else if (*p == '+' && n == 0 && !*plus) {
            *plus = 1;
        } else if (strchr(punctuation, *p) == NULL) {
            return -1;
        }
    }
    digits[n] = '\0';
    return (int)n;
}

char *br_phone_e164(const char *phone)
{
    char digits[24];
    int plus;
    if (phone == NULL)
        return NULL;
    int n = collect_digits(phone, " ()-./", digits, sizeof digits, &plus);
    if (n < 0)
        return NULL;
    const char *d = digits;
    if (plus) {
        /* An international number: only Brazil's is ours. */
        if (n < 2 || strncmp(d, "55", 2) != 0)
            return NULL;
        d += 2;
        n -= 2;
    } else if ((n == 12 || n == 13) && strncmp(d, "55", 2) == 0) {
        d += 2; /* the country code without '+' */
        n -= 2;
    } else if (n > 0 && d[0] == '0') {
        d++; /* the trunk prefix */
        n--;
        if (n == 12 || n == 13) {
            d += 2; /* a carrier selection code */
            n -= 2;
        }
    }
    if (n != 10 && n != 11)
        return NULL;
    int ddd = (d[0] - '0') * 10 + (d[1] - '0');
    if (!valid_area_code(ddd))
        return NULL;
    char first = d[2];
    if (n == 11 && first != '9')
        return NULL;
    if (n == 10 && (first < '2' || first > '5'))
        return NULL;
    char *out = malloc(3 + (size_t)n + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, "+55", 3);
    memcpy(out + 3, d, (size_t)n);
    out[3 + n] = '\0';
    return out;
}

void br_free(void *p)
{
    free(p);
}

static int cpf_digits(const char *cpf, char *digits)
{
    int plus;
    if (cpf == NULL)
        return -1;
    return collect_digits(cpf, " .-", digits, CPF_DIGITS + 1, &plus) == CPF_DIGITS && !plus ? 0
                                                                                             : -1;
}

int cpf_mask(char *out, size_t cap, const char *cpf)
{
    char d[CPF_DIGITS + 1];
    if (cpf_digits(cpf, d) != 0)
        return -1;
    const char masked[] = {'*', '*', '*', '.', d[3], d[4], d[5], '.', d[6], d[7], d[8], '-', '*', '*'};
    size_t len = sizeof masked;
    if (cap > 0) {
        size_t fit = len < cap - 1 ? len : cap - 1;
        memcpy(out, masked, fit);
        out[fit] = '\0';
    }
    return (int)len;
}

/* One check digit: the weighted sum of the first n digits, weights n+1 down to 2. */
static int check_digit(const char *d, int n)
{
    int sum = 0;
    for (int i = 0; i < n; i++)
        sum += (d[i] - '0') * (n + 1 - i);
    int r = sum * 10 % 11;
    return r == 10 ? 0 : r;
}

bool cpf_valid(const char *cpf)
{
    char d[CPF_DIGITS + 1];
    if (cpf_digits(cpf, d) != 0)
        return false;
    int same = 1;
    for (int i = 1; i < CPF_DIGITS; i++)
        same &= d[i] == d[0];
    if (same)
        return false;
    return check_digit(d, 9) == d[9] - '0' && check_digit(d, 10) == d[10] - '0';
}
