/*
 * sha256.h: SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), for the hashing
 * built-ins of stream maps. Small and dependency-free on purpose: the host
 * needs two digests, not a crypto library.
 */
#ifndef SX_SHA256_H
#define SX_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SX_SHA256_LEN 32

typedef struct sx_sha256_ctx {
    uint32_t h[8];
    uint64_t total;     /* bytes absorbed so far */
    uint8_t block[64];
    size_t used;        /* bytes waiting in block */
} sx_sha256_ctx;

/* Starts a digest. */
void sx_sha256_init(sx_sha256_ctx *c);

/* Absorbs n bytes of data. */
void sx_sha256_update(sx_sha256_ctx *c, const void *data, size_t n);

/* Writes the 32-byte digest to out; c must be initialised again before reuse. */
void sx_sha256_final(sx_sha256_ctx *c, uint8_t *out);

/* The digest of one buffer. */
void sx_sha256(const void *data, size_t n, uint8_t *out);

/*
 * A key prepared for HMAC-SHA-256: the digest states after absorbing the
 * padded key XOR ipad and XOR opad, so each message costs two digests and the
 * key itself need not be kept.
 */
typedef struct sx_hmac_key {
    sx_sha256_ctx inner;
    sx_sha256_ctx outer;
} sx_hmac_key;

/* Prepares key (any length; longer than a block is hashed first, as the RFC says). */
void sx_hmac_key_init(sx_hmac_key *key, const void *k, size_t klen);

/* HMAC-SHA-256 of msg under key, 32 bytes to out. key is not modified, so one
 * prepared key serves several threads at once. */
void sx_hmac_sha256(const sx_hmac_key *key, const void *msg, size_t n, uint8_t *out);

/* Lower-case hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void sx_hex(const uint8_t *in, size_t n, char *out);

#endif
