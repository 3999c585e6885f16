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

/* SHA-256 and AES-256-GCM as fetched by cnx_crypto_init() (NULL when it
 * failed). */
const EVP_MD *cnx_crypto_sha256_md(void);
const EVP_CIPHER *cnx_crypto_aes256gcm(void);

/* Known-answer tests only: a fixed Noise ephemeral private key instead of
 * a random one (call right after cnx_noise_init()), and a v1 seal with a
 * given iv. */
int cnx_noise_set_ephemeral(cnx_noise_t *hs, const uint8_t e_sk[32]);
int cnx_v1_seal_with_iv(cnx_v1_session_t *s, char *out, size_t outcap,
    const uint8_t *m, size_t mlen, const uint8_t iv[12]);

#endif
