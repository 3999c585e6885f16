/*
 * cnx_aes_gcm_z: AES-256-GCM on VAES and VPCLMULQDQ (see cnx_aes_gcm_z.h).
 *
 * Counter mode: a 512-bit register holds four counter blocks; the main
 * loop encrypts sixteen (256 bytes) per step, the round keys broadcast to
 * all four 128-bit lanes.  The counters are kept byte-reversed, so that
 * the 32-bit big-endian counter of GCM is the low dword of each lane and
 * a vector add is inc32 (it wraps the same way).
 *
 * GHASH in the bit-reflected form: a block, byte-reversed, is a 128-bit
 * integer whose bit i is the coefficient of x^(127-i).  A carry-less
 * product of two such integers is then the reflection of the polynomial
 * product times x; the table holds the powers of the hash key times
 * x^-1 (H << 1 in this form, reduced), which cancels that factor.  The
 * sixteen blocks of a step are multiplied by H^16 .. H^1 and summed before
 * one reduction (the products are linear), so a step costs sixteen
 * four-lane multiplications and one reduction.
 *
 * Reduction mod g = x^128 + x^7 + x^2 + x + 1: in the reflected form the
 * low 128 bits of the product hold the terms of degree 128..255.  A
 * multiple q * g is added that clears them, 64 bits at a time: the low
 * bits of q * g are q itself plus q shifted left by 121, 126 and 127,
 * i.e. q times 0xc2 << 56 placed 64 bits higher; the high half of the
 * 256-bit sum is the remainder.
 *
 * Constant time: AES rounds are instructions, GHASH is carry-less
 * multiplication; no branch and no memory address depends on the key or
 * the data (lengths are public).
 */

#include <string.h>

#include <sodium.h>

#include "cnx_aes_gcm_z.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <cpuid.h>
#include <immintrin.h>

#define Z  __attribute__((target( \
    "aes,pclmul,sse4.1,avx2,avx512f,avx512bw,avx512vl,vaes,vpclmulqdq")))
#define Z_INLINE  Z static inline __attribute__((always_inline))
#define Z_UNROLL  _Pragma("GCC unroll 16")

/* GCM allows at most 2^32 - 2 blocks per nonce; the counters of such a
 * message never wrap. */
#define Z_MAX_BYTES  ((((uint64_t) 1) << 36) - 32)

/* The AVX-512 checks of the compiler's runtime include the OS's (XCR0);
 * VAES is read from CPUID leaf 7 (ECX bit 9), as not every compiler
 * knows its name. */
int
cnx_aes_gcm_z_available(void)
{
    unsigned int  a, b, c, d;

    __builtin_cpu_init();
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(c & (1u << 9))) {
        return 0;
    }
    return __builtin_cpu_supports("aes")
           && __builtin_cpu_supports("pclmul")
           && __builtin_cpu_supports("avx512f")
           && __builtin_cpu_supports("avx512bw")
           && __builtin_cpu_supports("avx512vl")
           && __builtin_cpu_supports("vpclmulqdq");
}

/*
 * Round keys, hash key powers and keystream are left in vector registers
 * by the code below; they are cleared before returning to the caller
 * (vzeroall clears zmm0-15; zmm16-31 one by one).  Zeroing locals in C
 * would not do: the compiler drops such stores as dead.
 */
Z_INLINE void
z_clear_registers(void)
{
    __asm__ volatile (
        "vzeroall\n\t"
        "vpxord %%zmm16, %%zmm16, %%zmm16\n\t"
        "vpxord %%zmm17, %%zmm17, %%zmm17\n\t"
        "vpxord %%zmm18, %%zmm18, %%zmm18\n\t"
        "vpxord %%zmm19, %%zmm19, %%zmm19\n\t"
        "vpxord %%zmm20, %%zmm20, %%zmm20\n\t"
        "vpxord %%zmm21, %%zmm21, %%zmm21\n\t"
        "vpxord %%zmm22, %%zmm22, %%zmm22\n\t"
        "vpxord %%zmm23, %%zmm23, %%zmm23\n\t"
        "vpxord %%zmm24, %%zmm24, %%zmm24\n\t"
        "vpxord %%zmm25, %%zmm25, %%zmm25\n\t"
        "vpxord %%zmm26, %%zmm26, %%zmm26\n\t"
        "vpxord %%zmm27, %%zmm27, %%zmm27\n\t"
        "vpxord %%zmm28, %%zmm28, %%zmm28\n\t"
        "vpxord %%zmm29, %%zmm29, %%zmm29\n\t"
        "vpxord %%zmm30, %%zmm30, %%zmm30\n\t"
        "vpxord %%zmm31, %%zmm31, %%zmm31\n\t"
        ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
            "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
            "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21",
            "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28",
            "xmm29", "xmm30", "xmm31");
}

/* ---- key schedule ----------------------------------------------------- */

/* w0..w3 of the previous key of the same parity, prefix-xored, plus t. */
Z_INLINE __m128i
z_key_mix(__m128i w, __m128i t)
{
    w = _mm_xor_si128(w, _mm_slli_si128(w, 4));
    w = _mm_xor_si128(w, _mm_slli_si128(w, 4));
    w = _mm_xor_si128(w, _mm_slli_si128(w, 4));
    return _mm_xor_si128(w, t);
}

/* FIPS 197, 5.2, for Nk = 8: an even key takes RotWord(SubWord()) of the
 * last word and the round constant, an odd one SubWord() only.  The
 * immediate of aeskeygenassist must be a constant, hence the macros. */
#define Z_KEY_EVEN(rk, i, rcon)                                              \
    (rk)[i] = z_key_mix((rk)[(i) - 2], _mm_shuffle_epi32(                    \
        _mm_aeskeygenassist_si128((rk)[(i) - 1], rcon), 0xff))
#define Z_KEY_ODD(rk, i)                                                     \
    (rk)[i] = z_key_mix((rk)[(i) - 2], _mm_shuffle_epi32(                    \
        _mm_aeskeygenassist_si128((rk)[(i) - 1], 0), 0xaa))
#define Z_KEY_PAIR(rk, i, rcon)                                              \
    do {                                                                     \
        Z_KEY_EVEN(rk, i, rcon);                                             \
        Z_KEY_ODD(rk, (i) + 1);                                              \
    } while (0)

/* ---- GF(2^128) -------------------------------------------------------- */

Z_INLINE __m128i
z_bswap128(__m128i v)
{
    return _mm_shuffle_epi8(v, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7,
                                            8, 9, 10, 11, 12, 13, 14, 15));
}

Z_INLINE __m512i
z_bswap_lanes(__m512i v)
{
    return _mm512_shuffle_epi8(v, _mm512_broadcast_i32x4(
        _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)));
}

/* The 256-bit product lo (bits 0..127) + hi (bits 128..255) mod g. */
Z_INLINE __m128i
z_reduce(__m128i lo, __m128i hi)
{
    const __m128i  poly = _mm_set_epi64x(0, (long long) 0xc200000000000000ULL);
    __m128i        t;

    t = _mm_clmulepi64_si128(lo, poly, 0x00);
    lo = _mm_xor_si128(_mm_shuffle_epi32(lo, 0x4e), t);
    t = _mm_clmulepi64_si128(lo, poly, 0x00);
    lo = _mm_xor_si128(_mm_shuffle_epi32(lo, 0x4e), t);
    return _mm_xor_si128(hi, lo);
}

/* a * b for a table entry b (the key power times x^-1). */
Z_INLINE __m128i
z_mul(__m128i a, __m128i b)
{
    __m128i  lo, hi, mid;

    lo = _mm_clmulepi64_si128(a, b, 0x00);
    hi = _mm_clmulepi64_si128(a, b, 0x11);
    mid = _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x01),
                        _mm_clmulepi64_si128(a, b, 0x10));
    lo = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
    hi = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
    return z_reduce(lo, hi);
}

Z_INLINE __m128i
z_fold_lanes(__m512i v)
{
    __m256i  t;

    t = _mm256_xor_si256(_mm512_castsi512_si256(v),
                         _mm512_extracti64x4_epi64(v, 1));
    return _mm_xor_si128(_mm256_castsi256_si128(t),
                         _mm256_extracti128_si256(t, 1));
}

/*
 * acc folded with up to sixteen blocks y[0..3] (raw bytes, zero past the
 * data): block i is multiplied by h[first + i], lanes past the last block
 * (nb) load no table entry.  With nb = 16, first = 0 and the loads are
 * plain.
 */
Z_INLINE __m128i
z_ghash(const cnx_aes_gcm_z_t *k, __m128i acc, const __m512i *y, int nb)
{
    __m512i        lo, hi, mid, a, h;
    __mmask8       m;
    int            j, first = 16 - nb, left;

    lo = hi = mid = _mm512_setzero_si512();
    Z_UNROLL
    for (j = 0; j < 4; j++) {
        a = z_bswap_lanes(y[j]);
        if (j == 0) {
            a = _mm512_xor_si512(a, _mm512_zextsi128_si512(acc));
        }
        if (nb == 16) {
            h = _mm512_loadu_si512(k->h[4 * j]);
        } else if ((left = nb - 4 * j) > 0) {
            /* entries first + 4j .. 15 exist; the lanes past them read
             * nothing */
            left = left > 4 ? 4 : left;
            m = (__mmask8) ((1u << (2 * left)) - 1);
            h = _mm512_maskz_loadu_epi64(m, k->h[first + 4 * j]);
        } else {
            h = _mm512_setzero_si512();
        }
        lo = _mm512_xor_si512(lo, _mm512_clmulepi64_epi128(a, h, 0x00));
        hi = _mm512_xor_si512(hi, _mm512_clmulepi64_epi128(a, h, 0x11));
        mid = _mm512_xor_si512(mid, _mm512_clmulepi64_epi128(a, h, 0x01));
        mid = _mm512_xor_si512(mid, _mm512_clmulepi64_epi128(a, h, 0x10));
    }
    lo = _mm512_xor_si512(lo, _mm512_bslli_epi128(mid, 8));
    hi = _mm512_xor_si512(hi, _mm512_bsrli_epi128(mid, 8));
    return z_reduce(z_fold_lanes(lo), z_fold_lanes(hi));
}

/* The byte mask of register j (64 bytes) of a tail of n < 256 bytes. */
Z_INLINE __mmask64
z_tail_mask(size_t n, int j)
{
    size_t  left = n > 64 * (size_t) j ? n - 64 * (size_t) j : 0;

    return left >= 64 ? ~(__mmask64) 0 : (((__mmask64) 1) << left) - 1;
}

/* GHASH of additional data, zero-padded to whole blocks. */
Z_INLINE __m128i
z_ghash_bytes(const cnx_aes_gcm_z_t *k, __m128i acc, const uint8_t *p,
    size_t n)
{
    __m512i  y[4];
    int      j;

    for (; n >= 256; p += 256, n -= 256) {
        for (j = 0; j < 4; j++) {
            y[j] = _mm512_loadu_si512(p + 64 * j);
        }
        acc = z_ghash(k, acc, y, 16);
    }
    if (n > 0) {
        for (j = 0; j < 4; j++) {
            /* no pointer is formed past the data */
            y[j] = n > 64 * (size_t) j
                   ? _mm512_maskz_loadu_epi8(z_tail_mask(n, j), p + 64 * j)
                   : _mm512_setzero_si512();
        }
        acc = z_ghash(k, acc, y, (int) ((n + 15) / 16));
    }
    return acc;
}

/* ---- AES -------------------------------------------------------------- */

/* The round keys are broadcast from the key where they are used: the
 * stores of the data may alias them, so the compiler reloads them instead
 * of keeping fifteen copies that it would spill to the stack. */
Z_INLINE __m512i
z_rk(const cnx_aes_gcm_z_t *k, int r)
{
    return _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *) k->rk[r]));
}

Z_INLINE void
z_aes4(__m512i *b, const cnx_aes_gcm_z_t *k)
{
    __m512i  rk;
    int      r, j;

    rk = z_rk(k, 0);
    Z_UNROLL
    for (j = 0; j < 4; j++) {
        b[j] = _mm512_xor_si512(b[j], rk);
    }
    Z_UNROLL
    for (r = 1; r < 14; r++) {
        rk = z_rk(k, r);
        Z_UNROLL
        for (j = 0; j < 4; j++) {
            b[j] = _mm512_aesenc_epi128(b[j], rk);
        }
    }
    rk = z_rk(k, 14);
    Z_UNROLL
    for (j = 0; j < 4; j++) {
        b[j] = _mm512_aesenclast_epi128(b[j], rk);
    }
}

Z_INLINE __m128i
z_aes1(__m128i b, const cnx_aes_gcm_z_t *k)
{
    int  r;

    b = _mm_xor_si128(b, _mm_loadu_si128((const __m128i *) k->rk[0]));
    for (r = 1; r < 14; r++) {
        b = _mm_aesenc_si128(b, _mm_loadu_si128((const __m128i *) k->rk[r]));
    }
    return _mm_aesenclast_si128(b,
        _mm_loadu_si128((const __m128i *) k->rk[14]));
}

/* ---- GCM -------------------------------------------------------------- */

Z __attribute__((noinline)) static void
z_init(cnx_aes_gcm_z_t *k, const uint8_t key[32])
{
    __m128i   rk[15], p1, p;
    uint64_t  lo, hi, carry;
    int       i;

    rk[0] = _mm_loadu_si128((const __m128i *) key);
    rk[1] = _mm_loadu_si128((const __m128i *) (key + 16));
    Z_KEY_PAIR(rk, 2, 0x01);
    Z_KEY_PAIR(rk, 4, 0x02);
    Z_KEY_PAIR(rk, 6, 0x04);
    Z_KEY_PAIR(rk, 8, 0x08);
    Z_KEY_PAIR(rk, 10, 0x10);
    Z_KEY_PAIR(rk, 12, 0x20);
    Z_KEY_EVEN(rk, 14, 0x40);
    for (i = 0; i < 15; i++) {
        _mm_storeu_si128((__m128i *) k->rk[i], rk[i]);
    }

    /* H = E(0), reflected, times x^-1: a left shift, and where the bit
     * shifted out was set (the x^0 term) x^-1 = x^127 + x^6 + x + 1,
     * reflected 0xc2000...01, added without a branch. */
    p = z_bswap128(z_aes1(_mm_setzero_si128(), k));
    lo = (uint64_t) _mm_cvtsi128_si64(p);
    hi = (uint64_t) _mm_extract_epi64(p, 1);
    carry = hi >> 63;
    hi = (hi << 1) | (lo >> 63);
    lo <<= 1;
    hi ^= (0 - carry) & 0xc200000000000000ULL;
    lo ^= (0 - carry) & 1;
    p1 = _mm_set_epi64x((long long) hi, (long long) lo);

    /* powers: (H^i x^-1)(H x^-1) x = H^(i+1) x^-1 */
    p = p1;
    _mm_storeu_si128((__m128i *) k->h[15], p);
    for (i = 14; i >= 0; i--) {
        p = z_mul(p, p1);
        _mm_storeu_si128((__m128i *) k->h[i], p);
    }
    /* before any call: the first call through the PLT saves every vector
     * register on the stack (lazy binding) */
    z_clear_registers();
    sodium_memzero(rk, sizeof(rk));
}

/* Overwrites the stack z_init() used (its spills of H and its powers);
 * once per key, so the cost does not matter. */
__attribute__((noinline)) static void
z_burn_stack(void)
{
    volatile uint8_t  burn[1024];

    sodium_memzero((uint8_t *) burn, sizeof(burn));
}

Z int
cnx_aes_gcm_z_init(cnx_aes_gcm_z_t *k, const uint8_t key[32])
{
    z_init(k, key);
    z_burn_stack();
    return 0;
}

/*
 * Counter mode over m (mlen bytes) into c, with GHASH over the ciphertext
 * (sealing: what is written; opening: what is read).  Returns the GHASH
 * state before the length block.
 */
Z_INLINE __m128i
z_gcm_crypt(const cnx_aes_gcm_z_t *k, uint8_t *out, const uint8_t *in,
    size_t len, __m128i j0, __m128i acc, int seal)
{
    __m512i   ctr, b[4], d[4], x[4];
    __mmask64 m[4];
    int       j;

    const __m512i  four = _mm512_set_epi32(0, 0, 0, 4, 0, 0, 0, 4,
                                           0, 0, 0, 4, 0, 0, 0, 4);

    /* counters 2, 3, 4, 5 (J0 is 1), byte-reversed */
    ctr = _mm512_add_epi32(z_bswap_lanes(_mm512_broadcast_i32x4(j0)),
        _mm512_set_epi32(0, 0, 0, 4, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 1));

    for (; len >= 256; in += 256, out += 256, len -= 256) {
        Z_UNROLL
        for (j = 0; j < 4; j++) {
            b[j] = z_bswap_lanes(ctr);
            ctr = _mm512_add_epi32(ctr, four);
        }
        z_aes4(b, k);
        Z_UNROLL
        for (j = 0; j < 4; j++) {
            d[j] = _mm512_loadu_si512(in + 64 * j);
            x[j] = _mm512_xor_si512(d[j], b[j]);
            _mm512_storeu_si512(out + 64 * j, x[j]);
        }
        acc = z_ghash(k, acc, seal ? x : d, 16);
    }
    if (len > 0) {
        Z_UNROLL
        for (j = 0; j < 4; j++) {
            m[j] = z_tail_mask(len, j);
            b[j] = z_bswap_lanes(ctr);
            ctr = _mm512_add_epi32(ctr, four);
        }
        z_aes4(b, k);
        Z_UNROLL
        for (j = 0; j < 4; j++) {
            if (len <= 64 * (size_t) j) {
                d[j] = x[j] = _mm512_setzero_si512();
                continue;
            }
            d[j] = _mm512_maskz_loadu_epi8(m[j], in + 64 * j);
            x[j] = _mm512_maskz_mov_epi8(m[j], _mm512_xor_si512(d[j], b[j]));
            _mm512_mask_storeu_epi8(out + 64 * j, m[j], x[j]);
        }
        acc = z_ghash(k, acc, seal ? x : d, (int) ((len + 15) / 16));
    }
    return acc;
}

/* J0, GHASH over the data and the lengths, and the tag E(J0) ^ GHASH. */
Z_INLINE void
z_gcm(const cnx_aes_gcm_z_t *k, uint8_t *out, const uint8_t *in,
    size_t len, const uint8_t nonce[12], const uint8_t *ad, size_t adlen,
    uint8_t tag[16], int seal)
{
    uint8_t   blk[16];
    uint64_t  abits = (uint64_t) adlen * 8, cbits = (uint64_t) len * 8;
    __m128i   j0, acc;
    int       i;

    memcpy(blk, nonce, 12);
    blk[12] = blk[13] = blk[14] = 0;
    blk[15] = 1;
    j0 = _mm_loadu_si128((const __m128i *) blk);

    acc = z_ghash_bytes(k, _mm_setzero_si128(), ad, adlen);
    acc = z_gcm_crypt(k, out, in, len, j0, acc, seal);

    for (i = 0; i < 8; i++) {
        blk[i] = (uint8_t) (abits >> (56 - 8 * i));
        blk[8 + i] = (uint8_t) (cbits >> (56 - 8 * i));
    }
    acc = _mm_xor_si128(acc,
        z_bswap128(_mm_loadu_si128((const __m128i *) blk)));
    acc = z_mul(acc, _mm_loadu_si128((const __m128i *) k->h[15]));
    acc = _mm_xor_si128(z_bswap128(acc), z_aes1(j0, k));
    _mm_storeu_si128((__m128i *) tag, acc);
}

Z int
cnx_aes_gcm_z_seal(const cnx_aes_gcm_z_t *k, uint8_t *c, uint8_t tag[16],
    const uint8_t *m, size_t mlen, const uint8_t nonce[12],
    const uint8_t *ad, size_t adlen)
{
    if (mlen > Z_MAX_BYTES || adlen > (SIZE_MAX >> 4)) {
        return -1;
    }
    z_gcm(k, c, m, mlen, nonce, ad, adlen, tag, 1);
    z_clear_registers();
    return 0;
}

Z int
cnx_aes_gcm_z_open(const cnx_aes_gcm_z_t *k, uint8_t *m, const uint8_t *c,
    size_t clen, const uint8_t tag[16], const uint8_t nonce[12],
    const uint8_t *ad, size_t adlen)
{
    uint8_t  t[16], expect[16];
    int      rc;

    if (clen > Z_MAX_BYTES || adlen > (SIZE_MAX >> 4)) {
        return -1;
    }
    /* the tag may live in the buffer being decrypted into */
    memcpy(expect, tag, 16);
    z_gcm(k, m, c, clen, nonce, ad, adlen, t, 0);
    z_clear_registers();
    rc = sodium_memcmp(t, expect, 16) == 0 ? 0 : -1;
    if (rc != 0 && clen > 0) {
        sodium_memzero(m, clen);
    }
    sodium_memzero(t, sizeof(t));
    return rc;
}

void
cnx_aes_gcm_z_wipe(cnx_aes_gcm_z_t *k)
{
    sodium_memzero(k, sizeof(*k));
}

#else /* not x86-64 with GCC or clang */

int
cnx_aes_gcm_z_available(void)
{
    return 0;
}

int
cnx_aes_gcm_z_init(cnx_aes_gcm_z_t *k, const uint8_t key[32])
{
    (void) k;
    (void) key;
    return -1;
}

void
cnx_aes_gcm_z_wipe(cnx_aes_gcm_z_t *k)
{
    sodium_memzero(k, sizeof(*k));
}

int
cnx_aes_gcm_z_seal(const cnx_aes_gcm_z_t *k, uint8_t *c, uint8_t tag[16],
    const uint8_t *m, size_t mlen, const uint8_t nonce[12],
    const uint8_t *ad, size_t adlen)
{
    (void) k; (void) c; (void) tag; (void) m; (void) mlen; (void) nonce;
    (void) ad; (void) adlen;
    return -1;
}

int
cnx_aes_gcm_z_open(const cnx_aes_gcm_z_t *k, uint8_t *m, const uint8_t *c,
    size_t clen, const uint8_t tag[16], const uint8_t nonce[12],
    const uint8_t *ad, size_t adlen)
{
    (void) k; (void) m; (void) c; (void) clen; (void) tag; (void) nonce;
    (void) ad; (void) adlen;
    return -1;
}

#endif
