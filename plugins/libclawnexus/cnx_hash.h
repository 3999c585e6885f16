/*
 * cnx_hash: SHA-256 (OpenSSL EVP, the algorithm fetched once), and the
 * HMAC-SHA256 (RFC 2104) and HKDF-SHA256 (RFC 5869, and the form of the
 * Noise specification) composed on it; docs/codecs.md says why they are
 * composed here rather than taken from EVP_MAC/EVP_KDF.
 *
 * Every function returns 0, or -1 with its output wiped (OpenSSL failing,
 * e.g. out of memory, or a length out of range): a caller must not use an
 * output after -1.
 */

#ifndef CNX_HASH_H
#define CNX_HASH_H

#include <stddef.h>
#include <stdint.h>

#define CNX_SHA256_BYTES      32

int cnx_sha256(uint8_t out[32], const void *in, size_t len);
/* SHA-256 of a || b. */
int cnx_sha256_2(uint8_t out[32], const void *a, size_t alen,
    const void *b, size_t blen);

/* HMAC-SHA256 with a key of any length. */
int cnx_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t keylen,
    const void *in, size_t len);

/* HKDF-SHA256 (RFC 5869).  An empty salt means HashLen zero bytes.
 * outlen is at most 255 * 32. */
int cnx_hkdf_sha256(uint8_t *out, size_t outlen, const uint8_t *salt,
    size_t saltlen, const uint8_t *ikm, size_t ikmlen,
    const void *info, size_t infolen);

/* The HKDF of the Noise specification (section 4.3): two or three 32-byte
 * outputs from a chaining key and input key material (0, 32 bytes or any
 * length).  out3 may be NULL. */
int cnx_hkdf_noise(uint8_t out1[32], uint8_t out2[32], uint8_t *out3,
    const uint8_t ck[32], const uint8_t *ikm, size_t ikmlen);

#endif
