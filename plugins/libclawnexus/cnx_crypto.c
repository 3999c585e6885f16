/*
 * cnx_crypto: primitives of the session layer (see cnx_crypto.h).
 *
 * AES-256-GCM backend choice: at the first cnx_crypto_init() every backend
 * this CPU can run seals the same 16 KiB records in alternating rounds and
 * the fastest is kept for the life of the process; OpenSSL stays unless
 * another wins by more than 10%.  libsodium's AES-GCM needs AES-NI and
 * PCLMUL (crypto_aead_aes256gcm_is_available()), ours (cnx_aes_gcm_z) VAES
 * and VPCLMULQDQ on AVX-512 and must first pass a comparison with OpenSSL
 * (cnx_aead_z_selftest); without them OpenSSL is used.
 * CNX_AEAD_BACKEND=openssl|libsodium|avx512vaes in the environment skips
 * the measurement.
 */

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "cnx_aes_gcm_z.h"
#include "cnx_crypto.h"
#include "cnx_x25519_x4.h"

enum { BACKEND_OPENSSL = 1, BACKEND_SODIUM = 2, BACKEND_Z = 3 };

static const char *cnx_aead_names[] = {
    NULL, "openssl", "libsodium", "avx512vaes"
};

struct cnx_aead {
    /* Our key schedule wants 64-byte alignment and the libsodium state 16;
     * both come first and the struct is allocated with posix_memalign. */
    cnx_aes_gcm_z_t              z;
    crypto_aead_aes256gcm_state  st;
    int                          backend;
    EVP_CIPHER_CTX              *enc;
    EVP_CIPHER_CTX              *dec;
};

static pthread_once_t  cnx_crypto_once = PTHREAD_ONCE_INIT;
static int             cnx_crypto_ok;
static int             cnx_aead_default;
static EVP_MD         *cnx_md_sha256;   /* fetched once; NULL: libsodium */
static int             cnx_x25519_ifma; /* the AVX-512 IFMA ladder */
static int             cnx_aead_z_ok;   /* our VAES AES-GCM runs, and right */

static int cnx_aead_pick(void);
static int cnx_aead_z_selftest(void);
static int cnx_x25519_pick(void);

static void
cnx_crypto_init_once(void)
{
    if (sodium_init() < 0) {
        return;
    }
    cnx_aead_z_ok = cnx_aes_gcm_z_available() && cnx_aead_z_selftest();
    cnx_aead_default = cnx_aead_pick();
    cnx_md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    cnx_x25519_ifma = cnx_x25519_pick();
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
    return cnx_aead_names[cnx_aead_default];
}

const char *
cnx_crypto_x25519_backend(void)
{
    if (cnx_crypto_init() != 0) {
        return "none";
    }
    return cnx_x25519_ifma ? "avx512ifma" : "libsodium";
}

/* ---- X25519 ----------------------------------------------------------- */

/*
 * Two implementations of the same function, X25519 (RFC 7748):
 *
 *   - "avx512ifma" (cnx_x25519_x4.c): our Montgomery ladder with the field
 *     arithmetic of each step spread over four 64-bit lanes, where the CPU
 *     has AVX-512 IFMA.  This file finishes it: z^-1, x * z^-1 and the
 *     canonical encoding, one lane, in 64-bit limbs of 51 bits (radix
 *     2^51).  Public keys run the same ladder from u = 9, which it treats
 *     as a small constant.
 *   - "libsodium": crypto_scalarmult() for shared secrets; public keys as
 *     the Edwards25519 fixed-base multiple [k]B (libsodium's table code,
 *     about half the cost of its ladder) mapped to the Montgomery
 *     u-coordinate by u = (1 + y) / (1 - y) (RFC 7748, section 4.1).  Both
 *     use the same clamped scalar, so the result is the same 32 bytes.
 *
 * The first is used when the CPU has it, unless CNX_X25519_BACKEND=libsodium
 * is in the environment.  tests/unit/test_crypto.c compares the two on
 * random and edge-case inputs, and fuzz_x25519 keeps comparing them.
 */
typedef struct {
    uint64_t  v[5];
} cnx_fe_t;

#define CNX_FE_MASK  ((UINT64_C(1) << 51) - 1)

static uint64_t
cnx_load64_le(const uint8_t *p)
{
    uint64_t  w = 0;
    int       i;

    for (i = 7; i >= 0; i--) {
        w = (w << 8) | p[i];
    }
    return w;
}

/* The low 255 bits of s (the top bit, the sign of x, is dropped). */
static void
cnx_fe_frombytes(cnx_fe_t *f, const uint8_t s[32])
{
    uint64_t  w0 = cnx_load64_le(s), w1 = cnx_load64_le(s + 8),
              w2 = cnx_load64_le(s + 16), w3 = cnx_load64_le(s + 24);

    f->v[0] = w0 & CNX_FE_MASK;
    f->v[1] = ((w0 >> 51) | (w1 << 13)) & CNX_FE_MASK;
    f->v[2] = ((w1 >> 38) | (w2 << 26)) & CNX_FE_MASK;
    f->v[3] = ((w2 >> 25) | (w3 << 39)) & CNX_FE_MASK;
    f->v[4] = (w3 >> 12) & CNX_FE_MASK;
}

typedef unsigned __int128  u128;      /* product columns */

/* Five product columns (weights 2^(51k), the high ones already folded in
 * times 19, each below 2^112) carried into limbs below 2^51 + 2^15. */
static void
cnx_fe_carry(cnx_fe_t *h, u128 t0, u128 t1, u128 t2, u128 t3,
    u128 t4)
{
    uint64_t  c, r[5];

    r[0] = (uint64_t) t0 & CNX_FE_MASK;
    t1 += (uint64_t) (t0 >> 51);
    r[1] = (uint64_t) t1 & CNX_FE_MASK;
    t2 += (uint64_t) (t1 >> 51);
    r[2] = (uint64_t) t2 & CNX_FE_MASK;
    t3 += (uint64_t) (t2 >> 51);
    r[3] = (uint64_t) t3 & CNX_FE_MASK;
    t4 += (uint64_t) (t3 >> 51);
    r[4] = (uint64_t) t4 & CNX_FE_MASK;
    c = (uint64_t) (t4 >> 51);          /* below 2^57: 19 * c fits */
    r[0] += 19 * c;
    c = r[0] >> 51;
    r[0] &= CNX_FE_MASK;
    r[1] += c;
    memcpy(h->v, r, sizeof(r));
}

/* Inputs: limbs below 2^52.  Output: limbs below 2^51 + 2^15. */
static void
cnx_fe_mul(cnx_fe_t *h, const cnx_fe_t *f, const cnx_fe_t *g)
{
    const uint64_t  *a = f->v, *b = g->v;
    uint64_t         b1 = 19 * b[1], b2 = 19 * b[2], b3 = 19 * b[3],
                     b4 = 19 * b[4];
    u128             t0, t1, t2, t3, t4;

    t0 = (u128) a[0] * b[0] + (u128) a[1] * b4 + (u128) a[2] * b3
         + (u128) a[3] * b2 + (u128) a[4] * b1;
    t1 = (u128) a[0] * b[1] + (u128) a[1] * b[0] + (u128) a[2] * b4
         + (u128) a[3] * b3 + (u128) a[4] * b2;
    t2 = (u128) a[0] * b[2] + (u128) a[1] * b[1] + (u128) a[2] * b[0]
         + (u128) a[3] * b4 + (u128) a[4] * b3;
    t3 = (u128) a[0] * b[3] + (u128) a[1] * b[2] + (u128) a[2] * b[1]
         + (u128) a[3] * b[0] + (u128) a[4] * b4;
    t4 = (u128) a[0] * b[4] + (u128) a[1] * b[3] + (u128) a[2] * b[2]
         + (u128) a[3] * b[1] + (u128) a[4] * b[0];

    cnx_fe_carry(h, t0, t1, t2, t3, t4);
}

/* f^2 with the cross products taken once (15 products instead of 25);
 * the same bounds as cnx_fe_mul. */
static void
cnx_fe_sq(cnx_fe_t *h, const cnx_fe_t *f)
{
    const uint64_t  *a = f->v;
    uint64_t         d0 = 2 * a[0], d1 = 2 * a[1], d2 = 2 * a[2],
                     a3_19 = 19 * a[3], a4_19 = 19 * a[4];
    u128             t0, t1, t2, t3, t4;

    t0 = (u128) a[0] * a[0] + (u128) d1 * a4_19 + (u128) (2 * a[2]) * a3_19;
    t1 = (u128) d0 * a[1] + (u128) d2 * a4_19 + (u128) a[3] * a3_19;
    t2 = (u128) d0 * a[2] + (u128) a[1] * a[1] + (u128) (2 * a[3]) * a4_19;
    t3 = (u128) d0 * a[3] + (u128) d1 * a[2] + (u128) a[4] * a4_19;
    t4 = (u128) d0 * a[4] + (u128) d1 * a[3] + (u128) a[2] * a[2];

    cnx_fe_carry(h, t0, t1, t2, t3, t4);
}

static void
cnx_fe_sqn(cnx_fe_t *h, const cnx_fe_t *f, int n)
{
    cnx_fe_sq(h, f);
    while (--n > 0) {
        cnx_fe_sq(h, h);
    }
}

/* z^(p - 2) = 1/z, p - 2 = 2^255 - 21, by a fixed chain of squarings and
 * multiplications (no branch on the value). */
static void
cnx_fe_invert(cnx_fe_t *out, const cnx_fe_t *z)
{
    cnx_fe_t  z2, z9, z11, a, b, c, t;

    cnx_fe_sq(&z2, z);                  /* z^2 */
    cnx_fe_sqn(&t, &z2, 2);             /* z^8 */
    cnx_fe_mul(&z9, &t, z);             /* z^9 */
    cnx_fe_mul(&z11, &z9, &z2);         /* z^11 */
    cnx_fe_sq(&t, &z11);                /* z^22 */
    cnx_fe_mul(&a, &t, &z9);            /* z^(2^5 - 1) */
    cnx_fe_sqn(&t, &a, 5);
    cnx_fe_mul(&b, &t, &a);             /* z^(2^10 - 1) */
    cnx_fe_sqn(&t, &b, 10);
    cnx_fe_mul(&c, &t, &b);             /* z^(2^20 - 1) */
    cnx_fe_sqn(&t, &c, 20);
    cnx_fe_mul(&t, &t, &c);             /* z^(2^40 - 1) */
    cnx_fe_sqn(&t, &t, 10);
    cnx_fe_mul(&a, &t, &b);             /* z^(2^50 - 1) */
    cnx_fe_sqn(&t, &a, 50);
    cnx_fe_mul(&b, &t, &a);             /* z^(2^100 - 1) */
    cnx_fe_sqn(&t, &b, 100);
    cnx_fe_mul(&t, &t, &b);             /* z^(2^200 - 1) */
    cnx_fe_sqn(&t, &t, 50);
    cnx_fe_mul(&t, &t, &a);             /* z^(2^250 - 1) */
    cnx_fe_sqn(&t, &t, 5);              /* z^(2^255 - 32) */
    cnx_fe_mul(out, &t, &z11);          /* z^(2^255 - 21) */
}

/* The canonical little-endian encoding (value reduced below p). */
static void
cnx_fe_tobytes(uint8_t s[32], const cnx_fe_t *f)
{
    uint64_t  h[5], q, w;
    int       i, j;

    memcpy(h, f->v, sizeof(h));
    for (j = 0; j < 2; j++) {           /* limbs below 2^51, value < 2p */
        for (i = 0; i < 4; i++) {
            h[i + 1] += h[i] >> 51;
            h[i] &= CNX_FE_MASK;
        }
        h[0] += 19 * (h[4] >> 51);
        h[4] &= CNX_FE_MASK;
    }
    /* q = 1 when the value is at least p: adding 19 carries past 2^255. */
    q = (h[0] + 19) >> 51;
    for (i = 1; i < 5; i++) {
        q = (h[i] + q) >> 51;
    }
    h[0] += 19 * q;
    for (i = 0; i < 4; i++) {
        h[i + 1] += h[i] >> 51;
        h[i] &= CNX_FE_MASK;
    }
    h[4] &= CNX_FE_MASK;                /* drops 2^255: value - p */

    for (i = 0; i < 4; i++) {
        int  bit = 64 * i, k = bit / 51, off = bit % 51;

        w = h[k] >> off;
        if (k + 1 < 5) {
            w |= h[k + 1] << (51 - off);
        }
        if (off > 38 && k + 2 < 5) {    /* 51 - off + 51 < 64 */
            w |= h[k + 2] << (102 - off);
        }
        for (j = 0; j < 8; j++) {
            s[8 * i + j] = (uint8_t) (w >> (8 * j));
        }
    }
}

static int
cnx_x25519_pick(void)
{
    const char  *env = getenv("CNX_X25519_BACKEND");

    if (env != NULL && strcmp(env, "libsodium") == 0) {
        return 0;
    }
    return cnx_x25519_x4_available();
}

/* X25519(sk, pk) on the IFMA ladder. */
static int
cnx_x25519_ifma_dh(uint8_t out[32], const uint8_t sk[32], const uint8_t pk[32])
{
    uint8_t   e[32];
    uint64_t  k[4];
    cnx_fe_t  u, x, z;
    int       i, rc;

    memcpy(e, sk, 32);
    e[0] &= 248;
    e[31] &= 127;
    e[31] |= 64;
    for (i = 0; i < 4; i++) {
        k[i] = cnx_load64_le(e + 8 * i);
    }
    cnx_fe_frombytes(&u, pk);
    rc = cnx_x25519_x4_ladder(x.v, z.v, u.v, k);
    if (rc == 0) {
        cnx_fe_invert(&z, &z);
        cnx_fe_mul(&x, &x, &z);
        cnx_fe_tobytes(out, &x);
    }
    sodium_memzero(e, sizeof(e));
    sodium_memzero(k, sizeof(k));
    sodium_memzero(&x, sizeof(x));
    sodium_memzero(&z, sizeof(z));
    return rc;
}

static int
cnx_x25519_base(uint8_t pk[32], const uint8_t sk[32], int ifma)
{
    static const cnx_fe_t  one = { { 1, 0, 0, 0, 0 } };
    /* 2p in limbs, so that 2p + 1 - y has no negative limb. */
    static const cnx_fe_t  two_p = { { 0xfffffffffffdaULL,
                                       0xffffffffffffeULL,
                                       0xffffffffffffeULL,
                                       0xffffffffffffeULL,
                                       0xffffffffffffeULL } };
    static const uint8_t   nine[32] = { 9 };
    uint8_t                ed[32];
    cnx_fe_t               y, num, den;
    int                    i;

    if (ifma) {
        return cnx_x25519_ifma_dh(pk, sk, nine);
    }
    /* Fails only for [k]B = identity, which a clamped k never gives in
     * practice; fall back to the ladder then. */
    if (crypto_scalarmult_ed25519_base(ed, sk) != 0) {
        return crypto_scalarmult_base(pk, sk) == 0 ? 0 : -1;
    }
    cnx_fe_frombytes(&y, ed);
    for (i = 0; i < 5; i++) {
        num.v[i] = y.v[i] + one.v[i];
        den.v[i] = two_p.v[i] + one.v[i] - y.v[i];
    }
    cnx_fe_invert(&den, &den);
    cnx_fe_mul(&num, &num, &den);
    cnx_fe_tobytes(pk, &num);
    sodium_memzero(ed, sizeof(ed));
    return 0;
}

int
cnx_x25519_public(uint8_t pk[32], const uint8_t sk[32])
{
    if (cnx_crypto_init() != 0) {
        return -1;
    }
    return cnx_x25519_base(pk, sk, cnx_x25519_ifma);
}

int
cnx_x25519_keypair(uint8_t pk[32], uint8_t sk[32])
{
    if (cnx_crypto_init() != 0) {
        return -1;
    }
    randombytes_buf(sk, 32);
    if (cnx_x25519_base(pk, sk, cnx_x25519_ifma) != 0) {
        sodium_memzero(sk, 32);
        return -1;
    }
    return 0;
}

/* backend: NULL for the one in use, else "avx512ifma" or "libsodium";
 * -1 when it is unknown or this CPU lacks it. */
static int
cnx_x25519_backend_flag(const char *backend)
{
    if (backend == NULL) {
        return cnx_x25519_ifma;
    }
    if (strcmp(backend, "libsodium") == 0) {
        return 0;
    }
    if (strcmp(backend, "avx512ifma") == 0 && cnx_x25519_x4_available()) {
        return 1;
    }
    return -1;
}

int
cnx_x25519_public_with(uint8_t pk[32], const uint8_t sk[32],
    const char *backend)
{
    int  ifma;

    if (cnx_crypto_init() != 0
        || (ifma = cnx_x25519_backend_flag(backend)) < 0)
    {
        return -1;
    }
    return cnx_x25519_base(pk, sk, ifma);
}

int
cnx_x25519_dh_with(uint8_t shared[32], const uint8_t sk[32],
    const uint8_t pk[32], const char *backend)
{
    int  ifma, rc;

    if (cnx_crypto_init() != 0
        || (ifma = cnx_x25519_backend_flag(backend)) < 0)
    {
        sodium_memzero(shared, 32);
        return -1;
    }
    rc = ifma ? cnx_x25519_ifma_dh(shared, sk, pk)
              : crypto_scalarmult(shared, sk, pk);
    /* libsodium already refuses an all-zero result; check anyway, in
     * constant time, so that no build of it can let one through. */
    if (rc != 0 || sodium_is_zero(shared, 32)) {
        sodium_memzero(shared, 32);
        return -1;
    }
    return 0;
}

int
cnx_x25519_dh(uint8_t shared[32], const uint8_t sk[32], const uint8_t pk[32])
{
    return cnx_x25519_dh_with(shared, sk, pk, NULL);
}

/* ---- hashes and KDFs -------------------------------------------------- */

/*
 * SHA-256 goes through OpenSSL's EVP with the algorithm fetched once: it
 * uses the CPU's SHA extensions where there are some (about 5 times
 * libsodium's portable code on 96-byte inputs on the development machine),
 * which matters for the many short hashes of a Noise handshake.  Without
 * the fetched algorithm (OpenSSL failing at start), libsodium is used.
 */
static void
cnx_sha256_parts(uint8_t out[32], int n, const void *const *part,
    const size_t *len)
{
    crypto_hash_sha256_state  st;
    EVP_MD_CTX               *ctx;
    int                       i;

    if (cnx_crypto_init() == 0 && cnx_md_sha256 != NULL
        && (ctx = EVP_MD_CTX_new()) != NULL)
    {
        int  ok = EVP_DigestInit_ex2(ctx, cnx_md_sha256, NULL) == 1;

        for (i = 0; ok && i < n; i++) {
            ok = EVP_DigestUpdate(ctx, part[i], len[i]) == 1;
        }
        ok = ok && EVP_DigestFinal_ex(ctx, out, NULL) == 1;
        EVP_MD_CTX_free(ctx);           /* cleanses the state */
        if (ok) {
            return;
        }
    }
    crypto_hash_sha256_init(&st);
    for (i = 0; i < n; i++) {
        crypto_hash_sha256_update(&st, part[i], len[i]);
    }
    crypto_hash_sha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

void
cnx_sha256(uint8_t out[32], const void *in, size_t len)
{
    cnx_sha256_parts(out, 1, &in, &len);
}

void
cnx_sha256_2(uint8_t out[32], const void *a, size_t alen, const void *b,
    size_t blen)
{
    const void  *part[2] = { a, b };
    size_t       len[2] = { alen, blen };

    cnx_sha256_parts(out, 2, part, len);
}

/* HMAC-SHA256 (RFC 2104) over the concatenation of up to 3 parts. */
static void
cnx_hmac_parts(uint8_t out[32], const uint8_t *key, size_t keylen, int n,
    const void *const *part, const size_t *len)
{
    uint8_t      k[64], pad[64], inner[32];
    const void  *ip[4];
    size_t       il[4];
    int          i;

    memset(k, 0, sizeof(k));
    if (keylen > sizeof(k)) {
        cnx_sha256(k, key, keylen);
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
    cnx_sha256_parts(inner, i + 1, ip, il);
    for (i = 0; i < 64; i++) {
        pad[i] = k[i] ^ 0x5c;
    }
    cnx_sha256_2(out, pad, sizeof(pad), inner, sizeof(inner));
    sodium_memzero(k, sizeof(k));
    sodium_memzero(pad, sizeof(pad));
    sodium_memzero(inner, sizeof(inner));
}

void
cnx_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t keylen,
    const void *in, size_t len)
{
    cnx_hmac_parts(out, key, keylen, 1, &in, &len);
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
    uint8_t      t[32];
    uint8_t      ctr;
    size_t       done, n;
    const void  *part[3];
    size_t       len[3];
    int          np;

    if (outlen > 255 * 32 || (info == NULL && infolen != 0)) {
        return -1;
    }
    for (done = 0, ctr = 1; done < outlen; ctr++) {
        /* T(i) = HMAC(PRK, T(i-1) | info | i), T(0) empty */
        np = 0;
        if (ctr > 1) {
            part[np] = t;
            len[np++] = sizeof(t);
        }
        part[np] = infolen ? info : "";
        len[np++] = infolen;
        part[np] = &ctr;
        len[np++] = 1;
        cnx_hmac_parts(t, prk, 32, np, part, len);
        n = outlen - done < 32 ? outlen - done : 32;
        memcpy(out + done, t, n);
        done += n;
    }
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

/* Whether this CPU can run backend id. */
static int
cnx_aead_runs(int id)
{
    switch (id) {
    case BACKEND_OPENSSL:
        return 1;
    case BACKEND_SODIUM:
        return crypto_aead_aes256gcm_is_available();
    case BACKEND_Z:
        return cnx_aead_z_ok;
    default:
        return 0;
    }
}

/* The id of a backend name (NULL: the one in use); 0 when unknown or this
 * CPU cannot run it. */
static int
cnx_aead_backend_id(const char *name)
{
    int  id;

    if (name == NULL) {
        return cnx_aead_default;
    }
    for (id = BACKEND_OPENSSL; id <= BACKEND_Z; id++) {
        if (strcmp(name, cnx_aead_names[id]) == 0) {
            return cnx_aead_runs(id) ? id : 0;
        }
    }
    return 0;
}

static cnx_aead_t *
cnx_aead_alloc(const uint8_t key[32], int id)
{
    cnx_aead_t  *a;
    void        *p;

    if (id == 0 || posix_memalign(&p, 64, sizeof(*a)) != 0) {
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
    if (a->backend == BACKEND_Z) {
        return cnx_aes_gcm_z_init(&a->z, key);
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

/* An output that starts inside the input, after its start, overwrites
 * input before it is read (with every backend): refused.  The same buffer
 * (in place) or separate ones are what the interface allows. */
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
    int  len;

    if (mlen > INT_MAX - 32 || adlen > INT_MAX
        || cnx_aead_overlaps(c, m, mlen))
    {
        return -1;
    }
    if (a->backend == BACKEND_SODIUM) {
        return crypto_aead_aes256gcm_encrypt_detached_afternm(c, tag, NULL,
            m, mlen, ad, adlen, NULL, nonce, &a->st) == 0 ? 0 : -1;
    }
    if (a->backend == BACKEND_Z) {
        return cnx_aes_gcm_z_seal(&a->z, c, tag, m, mlen, nonce, ad, adlen);
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

    if (clen > INT_MAX - 32 || adlen > INT_MAX
        || cnx_aead_overlaps(m, c, clen))
    {
        return -1;
    }
    if (a->backend == BACKEND_SODIUM) {
        return crypto_aead_aes256gcm_decrypt_detached_afternm(m, NULL, c,
            clen, tag, ad, adlen, nonce, &a->st) == 0 ? 0 : -1;
    }
    if (a->backend == BACKEND_Z) {
        return cnx_aes_gcm_z_open(&a->z, m, c, clen, tag, nonce, ad, adlen);
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

/*
 * Before our AES-GCM may be used it must give OpenSSL's bytes, against a
 * miscompilation or a CPU (or virtual machine) that reports features it
 * does not have: 0 to 1,009 bytes (the tail code, partial blocks and the
 * main loop) with 0 to 300 bytes of AAD, sealed and opened.  Non-zero:
 * passed.
 */
static int
cnx_aead_z_selftest(void)
{
    static const size_t  len[4] = { 0, 17, 60, 1009 };
    static const size_t  adlen[4] = { 0, 20, 1, 300 };
    uint8_t              key[32], nonce[12], ad[300], m[1009];
    uint8_t              want[1025], got[1025];
    cnx_aead_t          *o, *z;
    size_t               i;
    int                  ok;

    for (i = 0; i < sizeof(m); i++) {
        m[i] = (uint8_t) (7 * i + 1);
        if (i < sizeof(ad)) {
            ad[i] = (uint8_t) (5 * i + 3);
        }
        if (i < sizeof(key)) {
            key[i] = (uint8_t) (13 * i + 11);
        }
        if (i < sizeof(nonce)) {
            nonce[i] = (uint8_t) (3 * i + 2);
        }
    }
    o = cnx_aead_alloc(key, BACKEND_OPENSSL);
    z = cnx_aead_alloc(key, BACKEND_Z);
    ok = o != NULL && z != NULL;
    for (i = 0; ok && i < 4; i++) {
        ok = cnx_aead_seal(o, want, m, len[i], nonce, ad, adlen[i]) == 0
             && cnx_aead_seal(z, got, m, len[i], nonce, ad, adlen[i]) == 0
             && memcmp(want, got, len[i] + 16) == 0
             && cnx_aead_open(z, got, want, len[i] + 16, nonce, ad,
                              adlen[i]) == 0
             && memcmp(got, m, len[i]) == 0;
    }
    cnx_aead_free(o);
    cnx_aead_free(z);
    return ok;
}

static int
cnx_aead_pick(void)
{
    static const uint8_t  key[32] = { 1 };
    const char           *env = getenv("CNX_AEAD_BACKEND");
    cnx_aead_t           *a[BACKEND_Z + 1] = { NULL };
    uint8_t              *buf;
    double                best[BACKEND_Z + 1] = { 0 }, r;
    int                   id, round, pick = BACKEND_OPENSSL;

    if (env != NULL) {
        for (id = BACKEND_OPENSSL; id <= BACKEND_Z; id++) {
            if (strcmp(env, cnx_aead_names[id]) == 0 && cnx_aead_runs(id)) {
                return id;
            }
        }
    }
    /* Called from the one-time init: must not call cnx_crypto_init().
     * All are warmed up, then measured in alternating rounds, best of
     * three each, so that a busy machine or a cold first run does not
     * decide; another backend must beat OpenSSL clearly to be chosen. */
    buf = calloc(1, 16384);
    for (id = BACKEND_OPENSSL; id <= BACKEND_Z && buf != NULL; id++) {
        if (cnx_aead_runs(id) && (a[id] = cnx_aead_alloc(key, id)) != NULL) {
            (void) cnx_aead_measure(a[id], buf);
        }
    }
    for (round = 0; round < 3 && a[BACKEND_OPENSSL] != NULL; round++) {
        for (id = BACKEND_OPENSSL; id <= BACKEND_Z; id++) {
            if (a[id] != NULL) {
                r = cnx_aead_measure(a[id], buf);
                best[id] = r > best[id] ? r : best[id];
            }
        }
    }
    for (id = BACKEND_SODIUM; id <= BACKEND_Z; id++) {
        if (best[id] > 1.1 * best[BACKEND_OPENSSL] && best[id] > best[pick]) {
            pick = id;
        }
    }
    for (id = BACKEND_OPENSSL; id <= BACKEND_Z; id++) {
        cnx_aead_free(a[id]);
    }
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
