/*
 * fuzz_support.h: what the fuzz harnesses share.
 *
 * Every harness in tests/fuzz defines LLVMFuzzerTestOneInput and is built
 * twice: linked with libFuzzer (fuzz-NAME, clang and -Dfuzz=true only) and
 * linked with replay_main.c (replay-NAME, every build), which runs the
 * checked-in corpus through the same function. A harness reports a broken
 * invariant with sxt_fuzz_fail, which aborts: libFuzzer then saves the input
 * as a crash, and a replay exits on SIGABRT, failing the corpus test.
 *
 * Harnesses must leave no trace between inputs: the secret list is reset
 * (sxt_fuzz_end_input), files go to one scratch folder per process, and the
 * environment variables a harness sets are unset before the next input.
 */
#ifndef SXT_FUZZ_SUPPORT_H
#define SXT_FUZZ_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* The entry point every harness defines (libFuzzer's name and signature). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints "fuzz invariant broken: ..." on stderr and aborts. */
void sxt_fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* The same, naming where and which condition failed (SXT_FUZZ_CHECK). */
void sxt_fuzz_failed_at(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), noreturn));

/* Fails with the condition's text and a formatted detail unless cond holds. */
#define SXT_FUZZ_CHECK(cond, ...)                                              \
    do {                                                                       \
        if (!(cond))                                                           \
            sxt_fuzz_failed_at(__FILE__, __LINE__, #cond, __VA_ARGS__);        \
    } while (0)

/* A scratch folder private to this process, created on first use and
 * removed when the process exits. */
const char *sxt_fuzz_dir(void);

/* A path inside the scratch folder (static buffer per name: name must be a
 * short literal). */
const char *sxt_fuzz_path(const char *name);

/* Replaces the file at path with len bytes of data; aborts on failure (the
 * harness's own I/O failing is not a finding). */
void sxt_fuzz_write(const char *path, const void *data, size_t len);

/*
 * Leading directive lines: while the input starts with '#', the text up to
 * the next '\n' (without the '#') is handed to fn as a NUL-terminated string,
 * and the input is advanced past it. JSON cannot start with '#', so a corpus
 * file is plain JSON unless it opts into directives. Returns the count.
 */
size_t sxt_fuzz_directives(const uint8_t **data, size_t *size,
                           void (*fn)(void *user, const char *line), void *user);

/* The input as a NUL-terminated copy (malloc'd; aborts when out of memory). */
char *sxt_fuzz_text(const uint8_t *data, size_t size);

/*
 * The secrets the config masks, checked against a message: fails when any
 * string in secrets (a JSON array of strings) appears in text, raw or in its
 * JSON-escaped form. Strings shorter than 3 bytes are skipped (the mask
 * ignores them by design), and so are those containing '*' or found inside
 * the mask's own "********" (masking could recreate them).
 */
void sxt_fuzz_no_secret_in(const char *what, const char *text, const json_t *secrets);

/*
 * The same check for a message in which a secret may happen to spell a piece
 * of the host's own words (a credential "ial" in "credential file"). other
 * is the message the same input gives once every secret is changed by
 * sxt_fuzz_other_secret: an occurrence counts only where other does not hold
 * the same text at the same place, counted from the start or from the end,
 * for a secret the host shows changes with it. A secret the change leaves as
 * it is (no letter, no digit but 0) cannot be told from the host's words
 * this way and is skipped. other NULL: every occurrence counts.
 */
void sxt_fuzz_no_secret_shown(const char *what, const char *text, const char *other,
                              const json_t *secrets);

/*
 * Another secret of the same kind: every letter moved to the next (z to a)
 * and every digit 1-9 to the next (9 to 1); 0 and other bytes stay, so the
 * length, the sign and the zeros of a number stay and an option takes or
 * refuses the new value as it did the old. digits_only for a JSON number's
 * text (its "e" stays). n bytes of secret; malloc'd, NUL-terminated.
 */
char *sxt_fuzz_other_secret(const char *secret, size_t n, int digits_only);

/* Whether needle occurs in text at a place where other (the same message
 * for other values) does not hold it as well, counted from the start or
 * from the end: the text around a value may differ in length. Without
 * other, any occurrence counts. */
int sxt_fuzz_occurs_apart(const char *text, const char *other, const char *needle);

/* Forgets the secrets registered while handling one input. */
void sxt_fuzz_end_input(void);

/*
 * A reader of structured input, for harnesses that build C structs from
 * bytes. Reads past the end yield zeros, so every input is usable.
 */
typedef struct sxt_bytes {
    const uint8_t *p;
    size_t n;
} sxt_bytes;

uint8_t sxt_bytes_u8(sxt_bytes *b);
uint16_t sxt_bytes_u16(sxt_bytes *b);
uint32_t sxt_bytes_u32(sxt_bytes *b);
uint64_t sxt_bytes_u64(sxt_bytes *b);

/*
 * Strings built from the input live in an arena released at once at the end
 * of the input, so a harness can scatter them through structs without
 * tracking each one.
 */
typedef struct sxt_arena {
    void **blocks;
    size_t n, cap;
} sxt_arena;

/* Allocates size zeroed bytes (at least 1) owned by the arena. */
void *sxt_arena_alloc(sxt_arena *a, size_t size);
/* A NUL-terminated copy of len bytes of text, owned by the arena. */
char *sxt_arena_strndup(sxt_arena *a, const char *text, size_t len);
/* Releases everything the arena holds. */
void sxt_arena_free(sxt_arena *a);

/* A string from the input: a length byte (up to max), then that many bytes
 * (a NUL among them ends the string early, as C would read it). */
char *sxt_bytes_string(sxt_bytes *b, sxt_arena *a, size_t max);

#endif
