/*
 * cnx_aead: AES-256-GCM with a 12-byte nonce, a 16-byte tag and optional
 * AAD, from OpenSSL's EVP interface.  A context holds one key and one
 * reusable EVP_CIPHER_CTX for sealing and opening, made when first
 * needed, so the key schedule is done once per key.
 *
 * The output is either the input buffer itself (in place, c == m) or does
 * not overlap it; one that starts inside the input, after its start, is
 * refused (-1).  A failed open leaves no plaintext in m.
 */

#ifndef CNX_AEAD_H
#define CNX_AEAD_H

#include <stddef.h>
#include <stdint.h>

#define CNX_AEAD_KEYBYTES     32
#define CNX_AEAD_NONCEBYTES   12
#define CNX_AEAD_TAGBYTES     16

typedef struct cnx_aead cnx_aead_t;

cnx_aead_t *cnx_aead_new(const uint8_t key[32]);
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

#endif
