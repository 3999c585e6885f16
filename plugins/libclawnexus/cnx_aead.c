/*
 * cnx_aead: AES-256-GCM from OpenSSL EVP (see cnx_aead.h), the cipher
 * fetched once by cnx_crypto_init().  OpenSSL picks its AES-NI/PCLMULQDQ
 * code by itself at run time; nothing here chooses.
 */

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "cnx_aead.h"
#include "cnx_crypto.h"
#include "cnx_internal.h"

/*
 * One EVP context serves both directions: AES-GCM runs the block cipher
 * forwards to seal and to open, so a key schedule holds for both and
 * switching direction only sets the nonce (EVP_CipherInit_ex2 without a
 * key).  It is made when first used and keyed again, together with the
 * nonce of that call, after a key change: a Noise handshake seals and
 * opens a few times under each of its keys, a transport direction only
 * ever seals or only ever opens.
 */
struct cnx_aead {
    EVP_CIPHER_CTX  *ctx;
    int              keyed;             /* ctx holds key */
    uint8_t          key[32];
};

cnx_aead_t *
cnx_aead_new(const uint8_t key[32])
{
    cnx_aead_t  *a;

    if (cnx_crypto_aes256gcm() == NULL
        || (a = calloc(1, sizeof(*a))) == NULL)
    {
        return NULL;
    }
    cnx_aead_set_key(a, key);
    return a;
}

int
cnx_aead_set_key(cnx_aead_t *a, const uint8_t key[32])
{
    memcpy(a->key, key, sizeof(a->key));
    a->keyed = 0;
    return 0;
}

void
cnx_aead_free(cnx_aead_t *a)
{
    if (a == NULL) {
        return;
    }
    /* EVP_CIPHER_CTX_free() cleanses the key schedule. */
    EVP_CIPHER_CTX_free(a->ctx);
    sodium_memzero(a, sizeof(*a));
    free(a);
}

/* The context, set for this direction (enc: 1 seal, 0 open) and nonce, and
 * keyed with the current key; NULL on failure. */
static EVP_CIPHER_CTX *
cnx_aead_ctx(cnx_aead_t *a, int enc, const uint8_t nonce[12])
{
    const EVP_CIPHER  *cipher = NULL;

    if (a->ctx == NULL) {
        if ((a->ctx = EVP_CIPHER_CTX_new()) == NULL) {
            return NULL;
        }
        cipher = cnx_crypto_aes256gcm();
    }
    if (EVP_CipherInit_ex2(a->ctx, cipher, a->keyed ? NULL : a->key, nonce,
                           enc, NULL) != 1)
    {
        if (!a->keyed) {
            EVP_CIPHER_CTX_free(a->ctx);
            a->ctx = NULL;
        }
        return NULL;
    }
    a->keyed = 1;
    return a->ctx;
}

/* The GCM tag of ctx, read (get) or set: through the parameter the
 * provider keeps it under, without the translation of the older
 * EVP_CIPHER_CTX_ctrl() (a handshake seals and opens a few short
 * messages, where such costs show). */
static int
cnx_aead_tag(EVP_CIPHER_CTX *ctx, int get, uint8_t tag[16])
{
    OSSL_PARAM  p[2];

    p[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                             tag, 16);
    p[1] = OSSL_PARAM_construct_end();
    return (get ? EVP_CIPHER_CTX_get_params(ctx, p)
                : EVP_CIPHER_CTX_set_params(ctx, p)) == 1 ? 0 : -1;
}

/* An output that starts inside the input, after its start, would
 * overwrite input before it is read: refused.  The same buffer (in place)
 * or separate ones are what the interface allows. */
static int
cnx_aead_overlaps(const uint8_t *out, const uint8_t *in, size_t len)
{
    uintptr_t  o = (uintptr_t) out, i = (uintptr_t) in;

    return o > i && o - i < len;
}

int
cnx_aead_seal_detached(cnx_aead_t *a, uint8_t *c, uint8_t tag[16],
    const uint8_t *m, size_t mlen, const uint8_t nonce[12],
    const uint8_t *ad, size_t adlen)
{
    EVP_CIPHER_CTX  *ctx;
    int              len;

    if (mlen > INT_MAX - 32 || adlen > INT_MAX
        || cnx_aead_overlaps(c, m, mlen)
        || (ctx = cnx_aead_ctx(a, 1, nonce)) == NULL)
    {
        return -1;
    }
    if (adlen && EVP_EncryptUpdate(ctx, NULL, &len, ad, (int) adlen) != 1) {
        return -1;
    }
    if (mlen && EVP_EncryptUpdate(ctx, c, &len, m, (int) mlen) != 1) {
        return -1;
    }
    if (EVP_EncryptFinal_ex(ctx, c + mlen, &len) != 1
        || cnx_aead_tag(ctx, 1, tag) != 0)
    {
        return -1;
    }
    return 0;
}

int
cnx_aead_open_detached(cnx_aead_t *a, uint8_t *m, const uint8_t *c,
    size_t clen, const uint8_t tag[16], const uint8_t nonce[12],
    const uint8_t *ad, size_t adlen)
{
    EVP_CIPHER_CTX  *ctx;
    uint8_t          t[16];
    int              len;

    if (clen > INT_MAX - 32 || adlen > INT_MAX
        || cnx_aead_overlaps(m, c, clen)
        || (ctx = cnx_aead_ctx(a, 0, nonce)) == NULL)
    {
        return -1;
    }
    /* The tag is copied first: it may sit in the buffer being decrypted
     * in place. */
    memcpy(t, tag, sizeof(t));
    if (cnx_aead_tag(ctx, 0, t) != 0) {
        return -1;
    }
    if (adlen && EVP_DecryptUpdate(ctx, NULL, &len, ad, (int) adlen) != 1) {
        goto failed;
    }
    if (clen && EVP_DecryptUpdate(ctx, m, &len, c, (int) clen) != 1) {
        goto failed;
    }
    if (EVP_DecryptFinal_ex(ctx, m + clen, &len) != 1) {
        goto failed;
    }
    return 0;

failed:
    /* OpenSSL wrote unauthenticated plaintext: do not leave it around. */
    if (clen) {
        sodium_memzero(m, clen);
    }
    return -1;
}

int
cnx_aead_seal(cnx_aead_t *a, uint8_t *c, const uint8_t *m, size_t mlen,
    const uint8_t nonce[12], const uint8_t *ad, size_t adlen)
{
    return cnx_aead_seal_detached(a, c, c + mlen, m, mlen, nonce, ad, adlen);
}

int
cnx_aead_open(cnx_aead_t *a, uint8_t *m, const uint8_t *c, size_t clen,
    const uint8_t nonce[12], const uint8_t *ad, size_t adlen)
{
    if (clen < CNX_AEAD_TAGBYTES) {
        return -1;
    }
    clen -= CNX_AEAD_TAGBYTES;
    return cnx_aead_open_detached(a, m, c, clen, c + clen, nonce, ad, adlen);
}
