/*
 * cnx_hash: SHA-256 from OpenSSL EVP, HMAC-SHA256 (RFC 2104) and
 * HKDF-SHA256 (RFC 5869, and Noise's form) composed on it (see
 * cnx_hash.h; docs/codecs.md gives the measurement behind composing them
 * here).
 */

#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "cnx_hash.h"
#include "cnx_internal.h"

/*
 * One EVP_MD_CTX serves every hash of a call (an HKDF is up to a dozen):
 * making one costs about a third of hashing a short input.
 */
static EVP_MD_CTX *
cnx_hash_ctx(void)
{
    return cnx_crypto_sha256_md() != NULL ? EVP_MD_CTX_new() : NULL;
}

/* SHA-256 of the concatenation of n parts. */
static int
cnx_digest(EVP_MD_CTX *ctx, uint8_t out[32], int n, const void *const *part,
    const size_t *len)
{
    int  i, ok;

    ok = EVP_DigestInit_ex2(ctx, cnx_crypto_sha256_md(), NULL) == 1;
    for (i = 0; ok && i < n; i++) {
        ok = EVP_DigestUpdate(ctx, part[i], len[i]) == 1;
    }
    ok = ok && EVP_DigestFinal_ex(ctx, out, NULL) == 1;
    return ok ? 0 : -1;
}

/* HMAC-SHA256 over the concatenation of up to 3 parts: the inner hash
 * takes the parts as they are, so HKDF's T(i-1) | info | i needs no
 * copy. */
static int
cnx_hmac(EVP_MD_CTX *ctx, uint8_t out[32], const uint8_t *key,
    size_t keylen, int n, const void *const *part, const size_t *len)
{
    uint8_t      k[64], pad[64], inner[32];
    const void  *ip[4];
    size_t       il[4];
    int          i, rc = 0;

    memset(k, 0, sizeof(k));
    if (keylen > sizeof(k)) {
        ip[0] = key;
        rc = cnx_digest(ctx, k, 1, ip, &keylen);
    } else if (keylen > 0) {
        memcpy(k, key, keylen);
    }
    for (i = 0; i < 64; i++) {
        pad[i] = k[i] ^ 0x36;
    }
    ip[0] = pad;
    il[0] = sizeof(pad);
    for (i = 0; i < n && i < 3; i++) {
        ip[i + 1] = part[i];
        il[i + 1] = len[i];
    }
    rc |= cnx_digest(ctx, inner, i + 1, ip, il);
    for (i = 0; i < 64; i++) {
        pad[i] = k[i] ^ 0x5c;
    }
    ip[0] = pad;
    ip[1] = inner;
    il[1] = sizeof(inner);
    rc |= cnx_digest(ctx, out, 2, ip, il);
    sodium_memzero(k, sizeof(k));
    sodium_memzero(pad, sizeof(pad));
    sodium_memzero(inner, sizeof(inner));
    return rc;
}

/* Frees ctx (EVP_MD_CTX_free cleanses the hash state); on failure wipes
 * the n bytes of out. */
static int
cnx_hash_done(EVP_MD_CTX *ctx, int rc, void *out, size_t n)
{
    EVP_MD_CTX_free(ctx);
    if (ctx == NULL || rc != 0) {
        sodium_memzero(out, n);
        return -1;
    }
    return 0;
}

int
cnx_sha256(uint8_t out[32], const void *in, size_t len)
{
    EVP_MD_CTX  *ctx = cnx_hash_ctx();

    return cnx_hash_done(ctx, ctx ? cnx_digest(ctx, out, 1, &in, &len) : -1,
                         out, 32);
}

int
cnx_sha256_2(uint8_t out[32], const void *a, size_t alen, const void *b,
    size_t blen)
{
    const void  *part[2] = { a, b };
    size_t       len[2] = { alen, blen };
    EVP_MD_CTX  *ctx = cnx_hash_ctx();

    return cnx_hash_done(ctx, ctx ? cnx_digest(ctx, out, 2, part, len) : -1,
                         out, 32);
}

int
cnx_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t keylen,
    const void *in, size_t len)
{
    EVP_MD_CTX  *ctx = cnx_hash_ctx();

    return cnx_hash_done(ctx, ctx ? cnx_hmac(ctx, out, key, keylen, 1, &in,
                                             &len)
                                  : -1, out, 32);
}

int
cnx_hkdf_sha256(uint8_t *out, size_t outlen, const uint8_t *salt,
    size_t saltlen, const uint8_t *ikm, size_t ikmlen, const void *info,
    size_t infolen)
{
    static const uint8_t  zero[32];
    uint8_t               prk[32], t[32], ctr;
    size_t                done, n, len[3];
    const void           *part[3];
    EVP_MD_CTX           *ctx;
    int                   np, rc;

    if (outlen > 255 * 32 || (info == NULL && infolen != 0)
        || (ctx = cnx_hash_ctx()) == NULL)
    {
        return -1;
    }
    if (salt == NULL || saltlen == 0) {
        salt = zero;
        saltlen = sizeof(zero);
    }
    /* Extract: PRK = HMAC(salt, IKM) */
    part[0] = ikmlen ? ikm : zero;
    len[0] = ikmlen;
    rc = cnx_hmac(ctx, prk, salt, saltlen, 1, part, len);
    /* Expand: T(i) = HMAC(PRK, T(i-1) | info | i), T(0) empty */
    for (done = 0, ctr = 1; rc == 0 && done < outlen; ctr++) {
        np = 0;
        if (ctr > 1) {
            part[np] = t;
            len[np++] = sizeof(t);
        }
        part[np] = infolen ? info : "";
        len[np++] = infolen;
        part[np] = &ctr;
        len[np++] = 1;
        rc = cnx_hmac(ctx, t, prk, 32, np, part, len);
        n = outlen - done < 32 ? outlen - done : 32;
        memcpy(out + done, t, n);
        done += n;
    }
    sodium_memzero(prk, sizeof(prk));
    sodium_memzero(t, sizeof(t));
    return cnx_hash_done(ctx, rc, out, outlen);
}

int
cnx_hkdf_noise(uint8_t out1[32], uint8_t out2[32], uint8_t *out3,
    const uint8_t ck[32], const uint8_t *ikm, size_t ikmlen)
{
    uint8_t      temp[32], buf[33];
    const void  *part = ikmlen ? (const void *) ikm : (const void *) buf;
    size_t       len = ikmlen;
    EVP_MD_CTX  *ctx = cnx_hash_ctx();
    int          rc;

    if (ctx == NULL) {
        rc = -1;
        goto done;
    }
    /* temp_k = HMAC(ck, ikm); out_i = HMAC(temp_k, out_(i-1) || i) */
    rc = cnx_hmac(ctx, temp, ck, 32, 1, &part, &len);
    buf[0] = 0x01;
    part = buf;
    len = 1;
    rc |= cnx_hmac(ctx, buf, temp, 32, 1, &part, &len);
    memcpy(out1, buf, 32);
    buf[32] = 0x02;
    len = 33;
    rc |= cnx_hmac(ctx, buf, temp, 32, 1, &part, &len);
    memcpy(out2, buf, 32);
    if (out3 != NULL) {
        buf[32] = 0x03;
        rc |= cnx_hmac(ctx, buf, temp, 32, 1, &part, &len);
        memcpy(out3, buf, 32);
    }
    sodium_memzero(temp, sizeof(temp));
    sodium_memzero(buf, sizeof(buf));
    EVP_MD_CTX_free(ctx);

done:
    if (rc != 0) {
        sodium_memzero(out1, 32);
        sodium_memzero(out2, 32);
        if (out3 != NULL) {
            sodium_memzero(out3, 32);
        }
        return -1;
    }
    return 0;
}
