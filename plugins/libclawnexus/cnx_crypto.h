/*
 * cnx_crypto: the few primitives the session layer is built on, behind one
 * small interface.  X25519 and randomness come from libsodium, SHA-256
 * (and the HMAC built on it) from OpenSSL EVP with libsodium as the
 * fallback; AES-256-GCM comes from OpenSSL EVP, libsodium or our own
 * VAES/VPCLMULQDQ code (cnx_aes_gcm_z.c), whichever cnx_crypto_init()
 * measured to be fastest on this machine (the environment variable
 * CNX_AEAD_BACKEND=openssl|libsodium|avx512vaes overrides the measurement).
 *
 * All functions return 0 on success and -1 on failure unless documented
 * otherwise; none of them aborts on bad input.  Call cnx_crypto_init() once
 * before anything else (it is idempotent and thread-safe).
 */

#ifndef CNX_CRYPTO_H
#define CNX_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CNX_X25519_KEYBYTES   32
#define CNX_SHA256_BYTES      32
#define CNX_AEAD_KEYBYTES     32
#define CNX_AEAD_NONCEBYTES   12
#define CNX_AEAD_TAGBYTES     16

/* sodium_init() and the one-time AEAD backend choice. */
int cnx_crypto_init(void);

/* "openssl", "libsodium" or "avx512vaes": the AES-256-GCM backend in use. */
const char *cnx_crypto_aead_backend(void);

/* X25519.  cnx_x25519_dh() fails (and wipes shared) when the result is
 * all zero, i.e. the peer sent a low-order point. */
int cnx_x25519_keypair(uint8_t pk[32], uint8_t sk[32]);
int cnx_x25519_public(uint8_t pk[32], const uint8_t sk[32]);
int cnx_x25519_dh(uint8_t shared[32], const uint8_t sk[32],
    const uint8_t pk[32]);

/* "avx512ifma" (our four-lane ladder, where the CPU has AVX-512 IFMA) or
 * "libsodium": the X25519 code in use (CNX_X25519_BACKEND=libsodium in the
 * environment forces the second). */
const char *cnx_crypto_x25519_backend(void);

/* The same on a named backend (NULL: the one in use), for tests and
 * benchmarks; -1 when the backend is unknown or this CPU lacks it. */
int cnx_x25519_public_with(uint8_t pk[32], const uint8_t sk[32],
    const char *backend);
int cnx_x25519_dh_with(uint8_t shared[32], const uint8_t sk[32],
    const uint8_t pk[32], const char *backend);

/* SHA-256 and HMAC-SHA256 (any key length). */
void cnx_sha256(uint8_t out[32], const void *in, size_t len);
void cnx_sha256_2(uint8_t out[32], const void *a, size_t alen,
    const void *b, size_t blen);
void cnx_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t keylen,
    const void *in, size_t len);

/* HKDF-SHA256 (RFC 5869).  An empty salt means HashLen zero bytes.
 * outlen is at most 255 * 32. */
int cnx_hkdf_sha256_extract(uint8_t prk[32], const uint8_t *salt,
    size_t saltlen, const uint8_t *ikm, size_t ikmlen);
int cnx_hkdf_sha256_expand(uint8_t *out, size_t outlen, const uint8_t prk[32],
    const void *info, size_t infolen);
int cnx_hkdf_sha256(uint8_t *out, size_t outlen, const uint8_t *salt,
    size_t saltlen, const uint8_t *ikm, size_t ikmlen,
    const void *info, size_t infolen);

/* The HKDF of the Noise specification (section 4.3): two or three 32-byte
 * outputs from a chaining key and input key material (0, 32 bytes or any
 * length).  out3 may be NULL. */
void cnx_hkdf_noise(uint8_t out1[32], uint8_t out2[32], uint8_t *out3,
    const uint8_t ck[32], const uint8_t *ikm, size_t ikmlen);

/*
 * AES-256-GCM with a 12-byte nonce and optional AAD.  A context holds one
 * key (and, with OpenSSL, one reusable EVP_CIPHER_CTX); use one context per
 * direction.  The output is either the input buffer itself (in place,
 * c == m) or does not overlap it; one that starts inside the input, after
 * its start, is refused (-1).  A failed open leaves no plaintext in m.
 */
typedef struct cnx_aead cnx_aead_t;

cnx_aead_t *cnx_aead_new(const uint8_t key[32]);
/* The same with an explicit backend, "openssl", "libsodium" or
 * "avx512vaes" (NULL: the one chosen at start); NULL if that backend is
 * unknown or this CPU cannot run it. */
cnx_aead_t *cnx_aead_new_with(const uint8_t key[32], const char *backend);
int cnx_aead_set_key(cnx_aead_t *a, const uint8_t key[32]);
void cnx_aead_free(cnx_aead_t *a);          /* wipes the key */

/* c = ciphertext (mlen bytes), tag written separately. */
int cnx_aead_seal_detached(cnx_aead_t *a, uint8_t *c, uint8_t tag[16],
    const uint8_t *m, size_t mlen, const uint8_t nonce[12],
    const uint8_t *ad, size_t adlen);
int cnx_aead_open_detached(cnx_aead_t *a, uint8_t *m, const uint8_t *c,
    size_t clen, const uint8_t tag[16], const uint8_t nonce[12],
    const uint8_t *ad, size_t adlen);

/* Noise layout: c = ciphertext || tag, clen = mlen + 16. */
int cnx_aead_seal(cnx_aead_t *a, uint8_t *c, const uint8_t *m, size_t mlen,
    const uint8_t nonce[12], const uint8_t *ad, size_t adlen);
int cnx_aead_open(cnx_aead_t *a, uint8_t *m, const uint8_t *c, size_t clen,
    const uint8_t nonce[12], const uint8_t *ad, size_t adlen);

/* Randomness, wiping, constant-time comparison (0 if equal, else -1). */
void cnx_random(void *buf, size_t len);
void cnx_memzero(void *buf, size_t len);
int cnx_ct_compare(const void *a, const void *b, size_t len);

#endif
