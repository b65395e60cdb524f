/*
 * mask.h: the process-wide list of secrets, and masking them out of text.
 *
 * Every configured option flagged SIPHON_OPT_SECRET and every session token is
 * registered here as soon as it is known; every line the host prints (logs,
 * errors, METRIC lines, about, inspect) goes through sx_mask first. Thread-safe.
 */
#ifndef SX_MASK_H
#define SX_MASK_H

#include <stddef.h>

/* Registers a secret value (copied). Values shorter than 3 bytes are ignored:
 * masking them would mangle ordinary text. */
void sx_mask_add(const char *secret);

/* Forgets every registered secret (tests; end of process). */
void sx_mask_reset(void);

/* Copies text into out (cap bytes, always NUL-terminated) with every
 * registered secret replaced by "********". Returns the length written. */
size_t sx_mask(const char *text, char *out, size_t cap);

/* True when text contains a registered secret. */
int sx_mask_contains_secret(const char *text);

#endif
