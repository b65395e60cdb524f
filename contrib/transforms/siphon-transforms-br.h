/*
 * siphon-transforms-br.h: Brazilian field transforms for siphon's native
 * functions ("transforms" in the config), callable from any C program too.
 *
 * Each function documents the config entry that declares it. Inputs are
 * NUL-terminated UTF-8; none keeps a pointer or any state, so all are
 * thread-safe.
 */
#ifndef SIPHON_TRANSFORMS_BR_H
#define SIPHON_TRANSFORMS_BR_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A Brazilian phone number in E.164 ("+5511987654321"), as a malloc'd string
 * to release with br_free, or NULL when phone is not a Brazilian number with
 * its area code. Accepts the usual ways of writing one: "(11) 98765-4321",
 * "11 3456 7890", "+55 11 98765-4321", "5511987654321", with the trunk
 * prefix ("011 98765-4321") or a carrier code ("0 21 11 98765-4321"). The
 * area code must exist (11 to 99, as ANATEL assigns them); a mobile number
 * has nine digits starting with 9, a landline eight starting with 2 to 5.
 *
 *   {"name": "e164", "library": ".../libsiphon-transforms-br.so",
 *    "symbol": "br_phone_e164", "signature": "string(string)", "free": "br_free"}
 */
char *br_phone_e164(const char *phone);

/* Releases a string returned by this library. */
void br_free(void *p);

/*
 * A CPF (the Brazilian taxpayer number) masked the way the government
 * publishes them, "***.456.789-**": the first three and the last two digits
 * hidden. cpf may carry the usual punctuation ("123.456.789-09", spaces);
 * it must hold exactly 11 digits. The check digits are not verified (see
 * cpf_valid): masking is for display, validity is a separate question.
 * Writes the NUL-terminated result into out (cap bytes; 15 are enough) and
 * returns its length, 14; returns the length it needs when cap is too small
 * (writing what fits), and -1 when cpf is not a CPF.
 *
 *   {"name": "cpf_mask", "library": ".../libsiphon-transforms-br.so",
 *    "symbol": "cpf_mask", "signature": "string(string)", "buffer": 16}
 */
int cpf_mask(char *out, size_t cap, const char *cpf);

/*
 * True when cpf holds 11 digits (punctuation as above) whose two check
 * digits are right, and not the same digit eleven times (those pass the
 * arithmetic but are never issued).
 *
 *   {"name": "cpf_valid", "library": ".../libsiphon-transforms-br.so",
 *    "symbol": "cpf_valid", "signature": "bool(string)"}
 */
bool cpf_valid(const char *cpf);

#ifdef __cplusplus
}
#endif

#endif
