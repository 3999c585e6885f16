/*
 * cnx_aes_gcm_z: AES-256-GCM (NIST SP 800-38D, 12-byte nonces, 16-byte
 * tags) on VAES and VPCLMULQDQ over 512-bit registers, four blocks per
 * instruction (internal to libclawnexus; cnx_crypto.c decides when to use
 * it, next to OpenSSL and libsodium).
 */
#ifndef CNX_AES_GCM_Z_H
#define CNX_AES_GCM_Z_H

#include <stddef.h>
#include <stdint.h>

/* The expanded key: round keys and the powers of the hash key.  Secret;
 * cnx_aes_gcm_z_wipe() clears it. */
typedef struct {
    uint8_t  h[16][16];      /* h[i]: H^(16-i) in the form ghash multiplies */
    uint8_t  rk[15][16];     /* AES-256 round keys */
} __attribute__((aligned(64))) cnx_aes_gcm_z_t;

/* Non-zero when this CPU has AES-NI, PCLMULQDQ, AVX-512 F/BW/VL, VAES and
 * VPCLMULQDQ (and the OS saves the AVX-512 state). */
int cnx_aes_gcm_z_available(void);

/* All of the following return -1 when not built for this platform; call
 * them only when cnx_aes_gcm_z_available(). */
int cnx_aes_gcm_z_init(cnx_aes_gcm_z_t *k, const uint8_t key[32]);
void cnx_aes_gcm_z_wipe(cnx_aes_gcm_z_t *k);

/* c and m may be the same buffer (in place), or must not overlap. */
int cnx_aes_gcm_z_seal(const cnx_aes_gcm_z_t *k, uint8_t *c, uint8_t tag[16],
    const uint8_t *m, size_t mlen, const uint8_t nonce[12],
    const uint8_t *ad, size_t adlen);

/* -1 when the tag does not match; m is then wiped (it never keeps
 * unauthenticated plaintext). */
int cnx_aes_gcm_z_open(const cnx_aes_gcm_z_t *k, uint8_t *m,
    const uint8_t *c, size_t clen, const uint8_t tag[16],
    const uint8_t nonce[12], const uint8_t *ad, size_t adlen);

#endif
