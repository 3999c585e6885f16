/*
 * cnx_crypto: primitives of the session layer (see cnx_crypto.h).
 *
 * AES-256-GCM backend choice: at the first cnx_crypto_init() both backends
 * seal the same 16 KiB records in alternating rounds and the faster one is
 * kept for the life of the process (OpenSSL unless libsodium wins by more
 * than 10%).  libsodium's AES-GCM needs AES-NI and
 * PCLMUL (crypto_aead_aes256gcm_is_available()); without them OpenSSL is
 * used.  CNX_AEAD_BACKEND=openssl|libsodium in the environment skips the
 * measurement.
 */

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "cnx_crypto.h"

enum { BACKEND_OPENSSL = 1, BACKEND_SODIUM = 2 };

struct cnx_aead {
    /* The libsodium state must be 16-byte aligned; it comes first and the
     * struct is allocated with posix_memalign. */
    crypto_aead_aes256gcm_state  st;
    int                          backend;
    EVP_CIPHER_CTX              *enc;
    EVP_CIPHER_CTX              *dec;
};

static pthread_once_t  cnx_crypto_once = PTHREAD_ONCE_INIT;
static int             cnx_crypto_ok;
static int             cnx_aead_default;

static int cnx_aead_pick(void);

static void
cnx_crypto_init_once(void)
{
    if (sodium_init() < 0) {
        return;
    }
    cnx_aead_default = cnx_aead_pick();
    cnx_crypto_ok = 1;
}

int
cnx_crypto_init(void)
{
    if (pthread_once(&cnx_crypto_once, cnx_crypto_init_once) != 0) {
        return -1;
    }
    return cnx_crypto_ok ? 0 : -1;
}

const char *
cnx_crypto_aead_backend(void)
{
    if (cnx_crypto_init() != 0) {
        return "none";
    }
    return cnx_aead_default == BACKEND_SODIUM ? "libsodium" : "openssl";
}

/* ---- X25519 ----------------------------------------------------------- */

int
cnx_x25519_public(uint8_t pk[32], const uint8_t sk[32])
{
    if (cnx_crypto_init() != 0) {
        return -1;
    }
    return crypto_scalarmult_base(pk, sk) == 0 ? 0 : -1;
}

int
cnx_x25519_keypair(uint8_t pk[32], uint8_t sk[32])
{
    if (cnx_crypto_init() != 0) {
        return -1;
    }
    randombytes_buf(sk, 32);
    if (crypto_scalarmult_base(pk, sk) != 0) {
        sodium_memzero(sk, 32);
        return -1;
    }
    return 0;
}

int
cnx_x25519_dh(uint8_t shared[32], const uint8_t sk[32], const uint8_t pk[32])
{
    int  rc;

    if (cnx_crypto_init() != 0) {
        return -1;
    }
    rc = crypto_scalarmult(shared, sk, pk);
    /* libsodium already refuses an all-zero result; check anyway, in
     * constant time, so that no build of it can let one through. */
    if (rc != 0 || sodium_is_zero(shared, 32)) {
        sodium_memzero(shared, 32);
        return -1;
    }
    return 0;
}

/* ---- hashes and KDFs -------------------------------------------------- */

void
cnx_sha256(uint8_t out[32], const void *in, size_t len)
{
    crypto_hash_sha256(out, in, len);
}

void
cnx_sha256_2(uint8_t out[32], const void *a, size_t alen, const void *b,
    size_t blen)
{
    crypto_hash_sha256_state  st;

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, a, alen);
    crypto_hash_sha256_update(&st, b, blen);
    crypto_hash_sha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

void
cnx_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t keylen,
    const void *in, size_t len)
{
    crypto_auth_hmacsha256_state  st;

    crypto_auth_hmacsha256_init(&st, key, keylen);
    crypto_auth_hmacsha256_update(&st, in, len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

int
cnx_hkdf_sha256_extract(uint8_t prk[32], const uint8_t *salt, size_t saltlen,
    const uint8_t *ikm, size_t ikmlen)
{
    static const uint8_t  zero[32];

    if (salt == NULL || saltlen == 0) {
        salt = zero;
        saltlen = sizeof(zero);
    }
    cnx_hmac_sha256(prk, salt, saltlen, ikm, ikmlen);
    return 0;
}

int
cnx_hkdf_sha256_expand(uint8_t *out, size_t outlen, const uint8_t prk[32],
    const void *info, size_t infolen)
{
    crypto_auth_hmacsha256_state  st;
    uint8_t                       t[32];
    uint8_t                       ctr;
    size_t                        done, n;

    if (outlen > 255 * 32 || (info == NULL && infolen != 0)) {
        return -1;
    }
    for (done = 0, ctr = 1; done < outlen; ctr++) {
        crypto_auth_hmacsha256_init(&st, prk, 32);
        if (ctr > 1) {
            crypto_auth_hmacsha256_update(&st, t, sizeof(t));
        }
        if (infolen) {
            crypto_auth_hmacsha256_update(&st, info, infolen);
        }
        crypto_auth_hmacsha256_update(&st, &ctr, 1);
        crypto_auth_hmacsha256_final(&st, t);
        n = outlen - done < 32 ? outlen - done : 32;
        memcpy(out + done, t, n);
        done += n;
    }
    sodium_memzero(&st, sizeof(st));
    sodium_memzero(t, sizeof(t));
    return 0;
}

int
cnx_hkdf_sha256(uint8_t *out, size_t outlen, const uint8_t *salt,
    size_t saltlen, const uint8_t *ikm, size_t ikmlen, const void *info,
    size_t infolen)
{
    uint8_t  prk[32];
    int      rc;

    cnx_hkdf_sha256_extract(prk, salt, saltlen, ikm, ikmlen);
    rc = cnx_hkdf_sha256_expand(out, outlen, prk, info, infolen);
    sodium_memzero(prk, sizeof(prk));
    return rc;
}

void
cnx_hkdf_noise(uint8_t out1[32], uint8_t out2[32], uint8_t *out3,
    const uint8_t ck[32], const uint8_t *ikm, size_t ikmlen)
{
    uint8_t  temp[32], buf[33];

    cnx_hmac_sha256(temp, ck, 32, ikm, ikmlen);
    buf[0] = 0x01;
    cnx_hmac_sha256(buf, temp, 32, buf, 1);
    memcpy(out1, buf, 32);
    buf[32] = 0x02;
    cnx_hmac_sha256(buf, temp, 32, buf, 33);
    memcpy(out2, buf, 32);
    if (out3 != NULL) {
        buf[32] = 0x03;
        cnx_hmac_sha256(buf, temp, 32, buf, 33);
        memcpy(out3, buf, 32);
    }
    sodium_memzero(temp, sizeof(temp));
    sodium_memzero(buf, sizeof(buf));
}

/* ---- AES-256-GCM ------------------------------------------------------ */

static int
cnx_aead_backend_id(const char *name)
{
    if (name == NULL) {
        return cnx_aead_default;
    }
    if (strcmp(name, "openssl") == 0) {
        return BACKEND_OPENSSL;
    }
    if (strcmp(name, "libsodium") == 0) {
        return crypto_aead_aes256gcm_is_available() ? BACKEND_SODIUM : 0;
    }
    return 0;
}

static cnx_aead_t *
cnx_aead_alloc(const uint8_t key[32], int id)
{
    cnx_aead_t  *a;
    void        *p;

    if (id == 0 || posix_memalign(&p, 16, sizeof(*a)) != 0) {
        return NULL;
    }
    a = p;
    memset(a, 0, sizeof(*a));
    a->backend = id;
    if (id == BACKEND_OPENSSL) {
        a->enc = EVP_CIPHER_CTX_new();
        a->dec = EVP_CIPHER_CTX_new();
        if (a->enc == NULL || a->dec == NULL) {
            cnx_aead_free(a);
            return NULL;
        }
    }
    if (cnx_aead_set_key(a, key) != 0) {
        cnx_aead_free(a);
        return NULL;
    }
    return a;
}

cnx_aead_t *
cnx_aead_new_with(const uint8_t key[32], const char *backend)
{
    if (cnx_crypto_init() != 0) {
        return NULL;
    }
    return cnx_aead_alloc(key, cnx_aead_backend_id(backend));
}

cnx_aead_t *
cnx_aead_new(const uint8_t key[32])
{
    return cnx_aead_new_with(key, NULL);
}

int
cnx_aead_set_key(cnx_aead_t *a, const uint8_t key[32])
{
    if (a->backend == BACKEND_SODIUM) {
        return crypto_aead_aes256gcm_beforenm(&a->st, key) == 0 ? 0 : -1;
    }
    /* The key schedule is done once here; each message only sets the IV. */
    if (EVP_EncryptInit_ex(a->enc, EVP_aes_256_gcm(), NULL, key, NULL) != 1
        || EVP_DecryptInit_ex(a->dec, EVP_aes_256_gcm(), NULL, key, NULL)
           != 1)
    {
        return -1;
    }
    return 0;
}

void
cnx_aead_free(cnx_aead_t *a)
{
    if (a == NULL) {
        return;
    }
    /* EVP_CIPHER_CTX_free() cleanses the key schedule. */
    EVP_CIPHER_CTX_free(a->enc);
    EVP_CIPHER_CTX_free(a->dec);
    sodium_memzero(a, sizeof(*a));
    free(a);
}

int
cnx_aead_seal_detached(cnx_aead_t *a, uint8_t *c, uint8_t tag[16],
    const uint8_t *m, size_t mlen, const uint8_t nonce[12],
    const uint8_t *ad, size_t adlen)
{
    int  len;

    if (mlen > INT_MAX - 32 || adlen > INT_MAX) {
        return -1;
    }
    if (a->backend == BACKEND_SODIUM) {
        return crypto_aead_aes256gcm_encrypt_detached_afternm(c, tag, NULL,
            m, mlen, ad, adlen, NULL, nonce, &a->st) == 0 ? 0 : -1;
    }
    if (EVP_EncryptInit_ex(a->enc, NULL, NULL, NULL, nonce) != 1) {
        return -1;
    }
    if (adlen && EVP_EncryptUpdate(a->enc, NULL, &len, ad, (int) adlen) != 1) {
        return -1;
    }
    if (mlen && EVP_EncryptUpdate(a->enc, c, &len, m, (int) mlen) != 1) {
        return -1;
    }
    if (EVP_EncryptFinal_ex(a->enc, c + mlen, &len) != 1
        || EVP_CIPHER_CTX_ctrl(a->enc, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
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
    uint8_t  t[16];
    int      len;

    if (clen > INT_MAX - 32 || adlen > INT_MAX) {
        return -1;
    }
    if (a->backend == BACKEND_SODIUM) {
        return crypto_aead_aes256gcm_decrypt_detached_afternm(m, NULL, c,
            clen, tag, ad, adlen, nonce, &a->st) == 0 ? 0 : -1;
    }
    memcpy(t, tag, sizeof(t));
    if (EVP_DecryptInit_ex(a->dec, NULL, NULL, NULL, nonce) != 1
        || EVP_CIPHER_CTX_ctrl(a->dec, EVP_CTRL_GCM_SET_TAG, 16, t) != 1)
    {
        return -1;
    }
    if (adlen && EVP_DecryptUpdate(a->dec, NULL, &len, ad, (int) adlen) != 1) {
        goto failed;
    }
    if (clen && EVP_DecryptUpdate(a->dec, m, &len, c, (int) clen) != 1) {
        goto failed;
    }
    if (EVP_DecryptFinal_ex(a->dec, m + clen, &len) != 1) {
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

/*
 * Seal 16 KiB records with one backend for about 1 ms of this thread's CPU
 * time; records per ns.  CPU time, not wall time, so that being scheduled
 * out on a busy machine does not count against the backend measured.
 */
static double
cnx_aead_measure(cnx_aead_t *a, uint8_t *buf)
{
    struct timespec  t0, t1;
    uint8_t          nonce[12] = { 0 }, tag[16];
    double           ns;
    int              i, n = 0;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    do {
        for (i = 0; i < 4; i++, n++) {
            nonce[0] = (uint8_t) n;
            cnx_aead_seal_detached(a, buf, tag, buf, 16384, nonce, NULL, 0);
        }
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
        ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
    } while (ns < 1e6);
    return n / ns;
}

static int
cnx_aead_pick(void)
{
    static const uint8_t  key[32] = { 1 };
    const char           *env = getenv("CNX_AEAD_BACKEND");
    cnx_aead_t           *o, *s;
    uint8_t              *buf;
    double                best_o = 0, best_s = 0, r;
    int                   round, pick = BACKEND_OPENSSL;

    if (!crypto_aead_aes256gcm_is_available()) {
        return BACKEND_OPENSSL;
    }
    if (env != NULL && strcmp(env, "libsodium") == 0) {
        return BACKEND_SODIUM;
    }
    if (env != NULL && strcmp(env, "openssl") == 0) {
        return BACKEND_OPENSSL;
    }
    /* Called from the one-time init: must not call cnx_crypto_init().
     * Both are warmed up, then measured in alternating rounds, best of
     * three each, so that a busy machine or a cold first run does not
     * decide; libsodium must win clearly to be chosen. */
    o = cnx_aead_alloc(key, BACKEND_OPENSSL);
    s = cnx_aead_alloc(key, BACKEND_SODIUM);
    buf = calloc(1, 16384);
    if (o != NULL && s != NULL && buf != NULL) {
        (void) cnx_aead_measure(o, buf);
        (void) cnx_aead_measure(s, buf);
        for (round = 0; round < 3; round++) {
            r = cnx_aead_measure(o, buf);
            best_o = r > best_o ? r : best_o;
            r = cnx_aead_measure(s, buf);
            best_s = r > best_s ? r : best_s;
        }
        pick = best_s > 1.1 * best_o ? BACKEND_SODIUM : BACKEND_OPENSSL;
    }
    cnx_aead_free(o);
    cnx_aead_free(s);
    free(buf);
    return pick;
}

/* ---- misc ------------------------------------------------------------- */

void
cnx_random(void *buf, size_t len)
{
    (void) cnx_crypto_init();
    randombytes_buf(buf, len);
}

void
cnx_memzero(void *buf, size_t len)
{
    sodium_memzero(buf, len);
}

int
cnx_ct_compare(const void *a, const void *b, size_t len)
{
    return sodium_memcmp(a, b, len) == 0 ? 0 : -1;
}
