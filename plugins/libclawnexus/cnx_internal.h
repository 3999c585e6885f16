/*
 * cnx_internal: entry points of libclawnexus that are not its API (this
 * header is not installed): what the library's files share, and what the
 * known-answer tests need to fix values the library otherwise draws at
 * random.
 */

#ifndef CNX_INTERNAL_H
#define CNX_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "cnx_noise.h"
#include "cnx_session_v1.h"

/* A SHA-256 context initialised by cnx_crypto_init() and never changed,
 * for EVP_MD_CTX_copy_ex() to start a hash from, and AES-256-GCM as
 * fetched then (NULL when it failed).  cnx_crypto_sha256_ctx0 is the same
 * context for cnx_hash.c's inner loop, read without the pthread_once() of
 * cnx_crypto_init(): valid once cnx_crypto_init() has returned 0. */
const EVP_MD_CTX *cnx_crypto_sha256_start(void);
extern EVP_MD_CTX *cnx_crypto_sha256_ctx0;
const EVP_CIPHER *cnx_crypto_aes256gcm(void);

/* SHA-256 of a || b and the Noise HKDF (cnx_hash.h) on hash contexts of
 * the caller's, reused from call to call (a Noise handshake hashes about 30
 * times per side): cnx_hash_ctx_new() makes the three the HKDF uses (or
 * takes them, reset, from what the thread gave back before; its spares
 * are freed when it ends), the first of them serves cnx_sha256_2_ctx(). */
int cnx_hash_ctx_new(EVP_MD_CTX *ctx[3]);
void cnx_hash_ctx_free(EVP_MD_CTX *ctx[3]);
int cnx_sha256_2_ctx(EVP_MD_CTX *ctx, uint8_t out[32], const void *a,
    size_t alen, const void *b, size_t blen);
int cnx_hkdf_noise_ctx(EVP_MD_CTX *ctx[3], uint8_t out1[32],
    uint8_t out2[32], uint8_t *out3, const uint8_t ck[32],
    const uint8_t *ikm, size_t ikmlen);

/* Known-answer tests only: a fixed Noise ephemeral private key instead of
 * a random one (call right after cnx_noise_init()), and a v1 seal with a
 * given iv. */
int cnx_noise_set_ephemeral(cnx_noise_t *hs, const uint8_t e_sk[32]);
int cnx_v1_seal_with_iv(cnx_v1_session_t *s, char *out, size_t outcap,
    const uint8_t *m, size_t mlen, const uint8_t iv[12]);

#endif
