/*
 * cnx_hash: SHA-256 from OpenSSL EVP, HMAC-SHA256 (RFC 2104) and
 * HKDF-SHA256 (RFC 5869, and Noise's form) composed on it (see
 * cnx_hash.h; docs/codecs.md gives the measurement behind composing them
 * here).
 *
 * An HMAC key is absorbed once into two hash states (after K ^ ipad and
 * after K ^ opad); every message under that key continues from copies of
 * them (EVP_MD_CTX_copy_ex), so an HKDF expanding several blocks under one
 * PRK hashes the padded key twice, not twice per block.  The three
 * contexts this takes (inner, outer, the copy being finished) are the
 * caller's when it hashes often (a Noise handshake keeps its own for all
 * of its hashes), taken per call otherwise; either way they come from the
 * thread's spares when it has some (below).
 */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "cnx_hash.h"
#include "cnx_internal.h"

enum { CNX_HI = 0, CNX_HO = 1, CNX_HW = 2 };   /* inner, outer, work */

/* What an HMAC leaves on the stack of its caller (the padded key, the
 * inner hash): wiped once by the caller when its last HMAC is done, not
 * after every step (an HKDF of Noise runs five). */
typedef struct {
    uint8_t  pad[64];
    uint8_t  inner[32];
} cnx_hmac_tmp_t;

/*
 * A thread keeps the hash contexts cnx_hash_ctx_free() gave back (reset:
 * no hash state, no key, no provider context left; as many as two
 * handshakes use, an endpoint runs several at once) for its next
 * cnx_hash_ctx_new(): a handshake would otherwise allocate and free three
 * EVP_MD_CTX each time.  A thread's spares are freed when it ends (a key
 * destructor).  At library teardown (exit, or unloading the library) an
 * atexit handler, registered after OpenSSL's so that it runs before
 * OpenSSL cleans up, frees the spares of the thread doing it and deletes
 * the key, so that no destructor of an unloaded library stays behind.
 */
#define CNX_HASH_SPARES  6

typedef struct {
    EVP_MD_CTX  *ctx[CNX_HASH_SPARES];
    int          n;
    int          registered;        /* the thread's key value is set */
} cnx_hash_spare_t;

static __thread cnx_hash_spare_t  cnx_hash_spare;
static pthread_once_t             cnx_hash_once = PTHREAD_ONCE_INIT;
static pthread_key_t              cnx_hash_key;
static int                        cnx_hash_key_ok;

static void
cnx_hash_spare_drop(void *data)
{
    cnx_hash_spare_t  *sp = data;

    while (sp->n > 0) {
        sp->n--;
        EVP_MD_CTX_free(sp->ctx[sp->n]);
        sp->ctx[sp->n] = NULL;
    }
}

static void
cnx_hash_teardown(void)
{
    cnx_hash_spare_drop(&cnx_hash_spare);
    if (cnx_hash_key_ok) {
        cnx_hash_key_ok = 0;
        (void) pthread_key_delete(cnx_hash_key);
    }
}

static void
cnx_hash_once_init(void)
{
    if (pthread_key_create(&cnx_hash_key, cnx_hash_spare_drop) != 0) {
        return;
    }
    if (atexit(cnx_hash_teardown) != 0) {
        (void) pthread_key_delete(cnx_hash_key);
        return;
    }
    cnx_hash_key_ok = 1;
}

/* Whether this thread may keep spares (its destructor is registered). */
static int
cnx_hash_spare_ok(cnx_hash_spare_t *sp)
{
    if (!sp->registered) {
        if (pthread_once(&cnx_hash_once, cnx_hash_once_init) != 0
            || !cnx_hash_key_ok
            || pthread_setspecific(cnx_hash_key, sp) != 0)
        {
            return 0;
        }
        sp->registered = 1;
    }
    return cnx_hash_key_ok;
}

/* The first n of the three contexts (the others NULL). */
static int
cnx_hash_ctx_make(EVP_MD_CTX *ctx[3], int n)
{
    cnx_hash_spare_t  *sp = &cnx_hash_spare;
    int                i;

    for (i = 0; i < 3; i++) {
        ctx[i] = NULL;
    }
    if (cnx_crypto_sha256_start() == NULL) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (sp->n > 0) {
            sp->n--;
            ctx[i] = sp->ctx[sp->n];
            sp->ctx[sp->n] = NULL;
        } else if ((ctx[i] = EVP_MD_CTX_new()) == NULL) {
            cnx_hash_ctx_free(ctx);
            return -1;
        }
    }
    return 0;
}

int
cnx_hash_ctx_new(EVP_MD_CTX *ctx[3])
{
    return cnx_hash_ctx_make(ctx, 3);
}

void
cnx_hash_ctx_free(EVP_MD_CTX *ctx[3])
{
    cnx_hash_spare_t  *sp = &cnx_hash_spare;
    int                i;

    /* EVP_MD_CTX_reset() and EVP_MD_CTX_free() cleanse the hash states
     * (keyed ones included) and free the provider's. */
    for (i = 0; i < 3; i++) {
        if (ctx[i] != NULL && sp->n < CNX_HASH_SPARES
            && cnx_hash_spare_ok(sp) && EVP_MD_CTX_reset(ctx[i]) == 1)
        {
            sp->ctx[sp->n++] = ctx[i];
        } else {
            EVP_MD_CTX_free(ctx[i]);
        }
        ctx[i] = NULL;
    }
}

/* Starts ctx on SHA-256 (a copy of the initialised context, see
 * cnx_crypto.c) and feeds it the n parts.  Contexts are only made after
 * cnx_crypto_sha256_start() succeeded, so the initialised one is read
 * directly, without another pthread_once() per hash. */
static int
cnx_digest_start(EVP_MD_CTX *ctx, int n, const void *const *part,
    const size_t *len)
{
    int  i, ok;

    ok = EVP_MD_CTX_copy_ex(ctx, cnx_crypto_sha256_ctx0) == 1;
    for (i = 0; ok && i < n; i++) {
        ok = len[i] == 0 || EVP_DigestUpdate(ctx, part[i], len[i]) == 1;
    }
    return ok ? 0 : -1;
}

/* SHA-256 of the concatenation of n parts. */
static int
cnx_digest(EVP_MD_CTX *ctx, uint8_t out[32], int n, const void *const *part,
    const size_t *len)
{
    return cnx_digest_start(ctx, n, part, len) == 0
           && EVP_DigestFinal_ex(ctx, out, NULL) == 1 ? 0 : -1;
}

/* Absorbs an HMAC key: ctx[CNX_HI] after K ^ ipad, ctx[CNX_HO] after
 * K ^ opad (a key longer than a block is hashed first, in the first). */
static int
cnx_hmac_key(EVP_MD_CTX *ctx[3], cnx_hmac_tmp_t *tmp, const uint8_t *key,
    size_t keylen)
{
    uint8_t     *pad = tmp->pad;
    const void  *p = pad;
    size_t       i, l = sizeof(tmp->pad);
    int          rc = 0;

    memset(pad, 0, l);
    if (keylen > l) {
        rc = cnx_digest(ctx[CNX_HI], pad, 1, (const void **) &key, &keylen);
    } else if (keylen > 0) {
        memcpy(pad, key, keylen);
    }
    for (i = 0; i < l; i++) {
        pad[i] ^= 0x36;
    }
    rc = rc ? rc : cnx_digest_start(ctx[CNX_HI], 1, &p, &l);
    for (i = 0; i < l; i++) {
        pad[i] ^= 0x36 ^ 0x5c;
    }
    rc = rc ? rc : cnx_digest_start(ctx[CNX_HO], 1, &p, &l);
    return rc;
}

/* HMAC of the concatenation of n parts under the key cnx_hmac_key()
 * absorbed.  With keep, the key's states are copied and stay for another
 * message; without, they are used up. */
static int
cnx_hmac_msg(EVP_MD_CTX *ctx[3], cnx_hmac_tmp_t *tmp, int keep,
    uint8_t out[32], int n, const void *const *part, const size_t *len)
{
    EVP_MD_CTX  *c;
    uint8_t     *inner = tmp->inner;
    int          i, ok;

    c = keep ? ctx[CNX_HW] : ctx[CNX_HI];
    ok = !keep || EVP_MD_CTX_copy_ex(c, ctx[CNX_HI]) == 1;
    for (i = 0; ok && i < n; i++) {
        ok = EVP_DigestUpdate(c, part[i], len[i]) == 1;
    }
    ok = ok && EVP_DigestFinal_ex(c, inner, NULL) == 1;
    c = keep ? ctx[CNX_HW] : ctx[CNX_HO];
    ok = ok && (!keep || EVP_MD_CTX_copy_ex(c, ctx[CNX_HO]) == 1)
         && EVP_DigestUpdate(c, inner, sizeof(tmp->inner)) == 1
         && EVP_DigestFinal_ex(c, out, NULL) == 1;
    return ok ? 0 : -1;
}

int
cnx_sha256(uint8_t out[32], const void *in, size_t len)
{
    return cnx_sha256_2(out, in, len, NULL, 0);
}

int
cnx_sha256_2_ctx(EVP_MD_CTX *ctx, uint8_t out[32], const void *a,
    size_t alen, const void *b, size_t blen)
{
    const void  *part[2] = { a, b };
    size_t       len[2] = { alen, blen };

    if (cnx_digest(ctx, out, 2, part, len) != 0) {
        sodium_memzero(out, 32);
        return -1;
    }
    return 0;
}

int
cnx_sha256_2(uint8_t out[32], const void *a, size_t alen, const void *b,
    size_t blen)
{
    EVP_MD_CTX  *ctx;
    int          rc = -1;

    if (cnx_crypto_sha256_start() != NULL
        && (ctx = EVP_MD_CTX_new()) != NULL)
    {
        rc = cnx_sha256_2_ctx(ctx, out, a, alen, b, blen);
        EVP_MD_CTX_free(ctx);
    }
    if (rc != 0) {
        sodium_memzero(out, 32);
    }
    return rc;
}

int
cnx_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t keylen,
    const void *in, size_t len)
{
    EVP_MD_CTX      *ctx[3];
    cnx_hmac_tmp_t   tmp;
    int              rc;

    /* One message: the key's states are used up, no third context. */
    rc = cnx_hash_ctx_make(ctx, 2);
    if (rc == 0) {
        rc = cnx_hmac_key(ctx, &tmp, key, keylen);
        rc = rc ? rc : cnx_hmac_msg(ctx, &tmp, 0, out, 1, &in, &len);
        sodium_memzero(&tmp, sizeof(tmp));
        cnx_hash_ctx_free(ctx);
    }
    if (rc != 0) {
        sodium_memzero(out, 32);
    }
    return rc;
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
    EVP_MD_CTX           *ctx[3];
    cnx_hmac_tmp_t        tmp;
    int                   np, rc;

    if (outlen > 255 * 32 || (info == NULL && infolen != 0)
        || cnx_hash_ctx_new(ctx) != 0)
    {
        sodium_memzero(out, outlen <= 255 * 32 ? outlen : 0);
        return -1;
    }
    if (salt == NULL || saltlen == 0) {
        salt = zero;
        saltlen = sizeof(zero);
    }
    /* Extract: PRK = HMAC(salt, IKM) */
    part[0] = ikmlen ? ikm : zero;
    len[0] = ikmlen;
    rc = cnx_hmac_key(ctx, &tmp, salt, saltlen);
    rc = rc ? rc : cnx_hmac_msg(ctx, &tmp, 0, prk, 1, part, len);
    /* Expand: T(i) = HMAC(PRK, T(i-1) | info | i), T(0) empty */
    rc = rc ? rc : cnx_hmac_key(ctx, &tmp, prk, sizeof(prk));
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
        n = outlen - done < 32 ? outlen - done : 32;
        rc = cnx_hmac_msg(ctx, &tmp, done + n < outlen, t, np, part, len);
        memcpy(out + done, t, n);
        done += n;
    }
    sodium_memzero(prk, sizeof(prk));
    sodium_memzero(t, sizeof(t));
    sodium_memzero(&tmp, sizeof(tmp));
    cnx_hash_ctx_free(ctx);
    if (rc != 0) {
        sodium_memzero(out, outlen);
        return -1;
    }
    return 0;
}

static int
cnx_hkdf_noise_fail(uint8_t out1[32], uint8_t out2[32], uint8_t *out3)
{
    sodium_memzero(out1, 32);
    sodium_memzero(out2, 32);
    if (out3 != NULL) {
        sodium_memzero(out3, 32);
    }
    return -1;
}

int
cnx_hkdf_noise_ctx(EVP_MD_CTX *ctx[3], uint8_t out1[32], uint8_t out2[32],
    uint8_t *out3, const uint8_t ck[32], const uint8_t *ikm, size_t ikmlen)
{
    struct {
        cnx_hmac_tmp_t  h;
        uint8_t         temp[32];
        uint8_t         buf[33];
    }            s;
    const void  *part = ikmlen ? (const void *) ikm : (const void *) s.buf;
    size_t       len = ikmlen;
    int          rc;

    /* temp_k = HMAC(ck, ikm); out_i = HMAC(temp_k, out_(i-1) || i).
     * Each step runs only if the one before succeeded: a context whose
     * copy failed holds no state to feed.  Every secret of the steps is
     * in s, wiped once at the end. */
    rc = cnx_hmac_key(ctx, &s.h, ck, 32);
    rc = rc ? rc : cnx_hmac_msg(ctx, &s.h, 0, s.temp, 1, &part, &len);
    rc = rc ? rc : cnx_hmac_key(ctx, &s.h, s.temp, sizeof(s.temp));
    s.buf[0] = 0x01;
    part = s.buf;
    len = 1;
    rc = rc ? rc : cnx_hmac_msg(ctx, &s.h, 1, s.buf, 1, &part, &len);
    memcpy(out1, s.buf, 32);
    s.buf[32] = 0x02;
    len = 33;
    rc = rc ? rc : cnx_hmac_msg(ctx, &s.h, out3 != NULL, s.buf, 1, &part,
                                &len);
    memcpy(out2, s.buf, 32);
    if (out3 != NULL) {
        s.buf[32] = 0x03;
        rc = rc ? rc : cnx_hmac_msg(ctx, &s.h, 0, s.buf, 1, &part, &len);
        memcpy(out3, s.buf, 32);
    }
    sodium_memzero(&s, sizeof(s));
    return rc != 0 ? cnx_hkdf_noise_fail(out1, out2, out3) : 0;
}

int
cnx_hkdf_noise(uint8_t out1[32], uint8_t out2[32], uint8_t *out3,
    const uint8_t ck[32], const uint8_t *ikm, size_t ikmlen)
{
    EVP_MD_CTX  *ctx[3];
    int          rc = -1;

    if (cnx_hash_ctx_new(ctx) == 0) {
        rc = cnx_hkdf_noise_ctx(ctx, out1, out2, out3, ck, ikm, ikmlen);
        cnx_hash_ctx_free(ctx);
    }
    return rc != 0 ? cnx_hkdf_noise_fail(out1, out2, out3) : 0;
}
