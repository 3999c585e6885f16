/*
 * cnx_x25519_x4: the X25519 Montgomery ladder (RFC 7748, section 5) with
 * its field arithmetic spread over the four 64-bit lanes of a 256-bit
 * register, on AVX-512 IFMA (52-bit multiply-add).
 *
 * Field elements mod p = 2^255 - 19 are five limbs of radix 2^51; a fe4
 * holds four elements, limb i of all four in register i.  A product of two
 * limbs below 2^52 comes in two halves, vpmadd52luq (bits 0..51) and
 * vpmadd52huq (bits 52..103); the high half has weight 2 * 2^(51(i+j+1)),
 * so it is added twice into the next column.  One fe4_mul is four
 * independent field multiplications; a ladder step needs three of them in
 * a row (see x4_ladder) instead of ten one-lane ones.
 *
 * Limb bounds, the same in every lane:
 *   - "tight", what fe4_mul returns: limbs at most 2^51 + 18;
 *   - "loose", what fe4_carry1 and fe4_mul_small return: limbs below
 *     2^51 + 2^10.  Loose limbs are below 2^52, so they are valid inputs of
 *     the multiplier, and at most the limbs of 2p, so they may be
 *     subtracted after adding 2p;
 *   - the product of two loose elements has columns below 2^56; with 19
 *     times a high column added they stay below 2^61.
 *
 * Constant time: the swap of the ladder is a masked blend; no branch and
 * no memory address depends on the scalar.  The only branch (a small u,
 * multiplied as a constant) depends on the public point.
 */

#include <string.h>

#include <sodium.h>

#include "cnx_x25519_x4.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>

#define X4  __attribute__((target("avx512f,avx512vl,avx512dq,avx512ifma")))

/* The limb loops must be unrolled (at -O2 too) for the registers to stay
 * registers. */
#define X4_UNROLL  _Pragma("GCC unroll 8")

/* small enough to inline everywhere (fe4_mul three times a bit) */
#define X4_INLINE  X4 static inline __attribute__((always_inline))

#define X4_M51   ((long long) ((1ULL << 51) - 1))

typedef struct {
    __m256i  l[5];
} fe4;

X4 static inline __m256i
x4_set(long long v)
{
    return _mm256_set1_epi64x(v);
}

/* Columns t[0..9] (weights 2^(51k), each below 2^56) to a "tight"
 * element: the high columns folded in times 19 (2^255 = 19), then two
 * rounds of carries taken from all limbs at once (short dependency
 * chains, unlike one carry after the other). */
X4_INLINE void
fe4_reduce(fe4 *h, __m256i *t)
{
    const __m256i  m = x4_set(X4_M51), n19 = x4_set(19);
    __m256i        c[5];
    int            k, r;

    X4_UNROLL
    for (k = 0; k < 5; k++) {
        t[k] = _mm256_add_epi64(t[k], _mm256_mullo_epi64(t[k + 5], n19));
    }
    X4_UNROLL
    for (r = 0; r < 2; r++) {
        X4_UNROLL
        for (k = 0; k < 5; k++) {
            c[k] = _mm256_srli_epi64(t[k], 51);
            t[k] = _mm256_and_si256(t[k], m);
        }
        t[0] = _mm256_add_epi64(t[0], _mm256_mullo_epi64(c[4], n19));
        X4_UNROLL
        for (k = 1; k < 5; k++) {
            t[k] = _mm256_add_epi64(t[k], c[k - 1]);
        }
    }
    X4_UNROLL
    for (k = 0; k < 5; k++) {
        h->l[k] = t[k];
    }
}

X4_INLINE void
fe4_mul(fe4 *h, const fe4 *f, const fe4 *g)
{
    __m256i  lo[9], hi[9], t[10];
    int      i, j;

    X4_UNROLL
    for (i = 0; i < 9; i++) {
        lo[i] = _mm256_setzero_si256();
        hi[i] = _mm256_setzero_si256();
    }
    X4_UNROLL
    for (i = 0; i < 5; i++) {
        X4_UNROLL
        for (j = 0; j < 5; j++) {
            lo[i + j] = _mm256_madd52lo_epu64(lo[i + j], f->l[i], g->l[j]);
            hi[i + j] = _mm256_madd52hi_epu64(hi[i + j], f->l[i], g->l[j]);
        }
    }
    t[0] = lo[0];
    X4_UNROLL
    for (i = 1; i < 9; i++) {
        t[i] = _mm256_add_epi64(lo[i], _mm256_add_epi64(hi[i - 1], hi[i - 1]));
    }
    t[9] = _mm256_add_epi64(hi[8], hi[8]);
    fe4_reduce(h, t);
}

/* One step of carries, all limbs at once: limbs below 2^55 become limbs
 * below 2^51 + 19 * 2^4 ("loose"). */
X4_INLINE void
fe4_carry1(fe4 *h, const __m256i *s)
{
    const __m256i  m = x4_set(X4_M51);
    __m256i        c[5];
    int            k;

    X4_UNROLL
    for (k = 0; k < 5; k++) {
        c[k] = _mm256_srli_epi64(s[k], 51);
    }
    h->l[0] = _mm256_add_epi64(_mm256_and_si256(s[0], m),
                               _mm256_mullo_epi64(c[4], x4_set(19)));
    X4_UNROLL
    for (k = 1; k < 5; k++) {
        h->l[k] = _mm256_add_epi64(_mm256_and_si256(s[k], m), c[k - 1]);
    }
}

/* h = a + c f lane by lane, c a register of small constants (below 2^20):
 * f loose, a tight or zero; the result is loose. */
X4_INLINE void
fe4_mul_small(fe4 *h, const fe4 *a, const fe4 *f, __m256i c)
{
    const __m256i  z = _mm256_setzero_si256();
    __m256i        lo[5], hi[5], s[5];
    int            k;

    X4_UNROLL
    for (k = 0; k < 5; k++) {
        lo[k] = _mm256_madd52lo_epu64(a->l[k], f->l[k], c);
        hi[k] = _mm256_madd52hi_epu64(z, f->l[k], c);
        hi[k] = _mm256_add_epi64(hi[k], hi[k]);
    }
    /* the top high half has weight 2^255 = 19 */
    s[0] = _mm256_add_epi64(lo[0], _mm256_mullo_epi64(hi[4], x4_set(19)));
    X4_UNROLL
    for (k = 1; k < 5; k++) {
        s[k] = _mm256_add_epi64(lo[k], hi[k - 1]);
    }
    fe4_carry1(h, s);
}

/* Lanes of a register: 0..3 from the lowest. */
#define X4_LANES(a, b, c, d)  ((a) | (b) << 2 | (c) << 4 | (d) << 6)

/*
 * The ladder, one X25519 in the four lanes.  State between steps:
 * q = [x3, z3, x2, z2] (RFC 7748 names, after the step).  One step:
 *   p  = [x2, z2, x3, z3], after the conditional swap
 *   s  = [A, B, C, D] = [x2 + z2, x2 - z2, x3 + z3, x3 - z3]
 *   r1 = [A, B, D, C] * [A, B, A, B]        = [AA, BB, DA, CB]
 *   u  = [DA + CB, DA - CB, AA, E = AA - BB]
 *   v  = [DA + CB, DA - CB, BB, AA + a24 E]
 *   r2 = u * v                              = [x3', z3'', x2', z2']
 *   q  = r2 * [1, x1, 1, 1]                 = [x3', z3', x2', z2']
 * Three multiplications of four lanes per bit instead of ten of one; the
 * last one is by constants when u is small (the base point 9, for public
 * keys).  Which of the two runs depends on u only, which is public.
 */
X4 static void
x4_ladder(uint64_t x2out[5], uint64_t z2out[5], const uint64_t u1[5],
    const uint64_t kw[4])
{
    const __m256i  one = x4_set(1), a24 = x4_set(121665);
    /* a base point u below 2^20 (such as 9) multiplies as a constant */
    const int      small = (u1[0] >> 20) == 0 && (u1[1] | u1[2] | u1[3]
                                                   | u1[4]) == 0;
    const __m256i  ws = _mm256_set_epi64x(1, 1, (long long) u1[0], 1);
    fe4            zero, q, p, sw, s, x, y, r, u, v, f, w;
    __m256i        bit, prev = _mm256_setzero_si256(), lo, hi, k2p[5];
    __mmask8       m;
    uint64_t       lane[4];
    int            i, pos;

    X4_UNROLL
    for (i = 0; i < 5; i++) {
        /* q = [x3, z3, x2, z2] = [u, 1, 1, 0] */
        q.l[i] = _mm256_set_epi64x(0, i == 0, i == 0, (long long) u1[i]);
        w.l[i] = _mm256_set_epi64x(i == 0, i == 0, (long long) u1[i], i == 0);
        zero.l[i] = _mm256_setzero_si256();
        k2p[i] = _mm256_set_epi64x(i == 0 ? (1LL << 52) - 38 : (1LL << 52) - 2,
                                   0,
                                   i == 0 ? (1LL << 52) - 38 : (1LL << 52) - 2,
                                   0);
    }

    for (pos = 254; pos >= 0; pos--) {
        bit = _mm256_and_si256(_mm256_srl_epi64(_mm256_set1_epi64x(
                  (long long) kw[pos >> 6]), _mm_cvtsi32_si128(pos & 63)), one);
        /* p = q when the swap bit is set, else q with its halves swapped */
        m = _mm256_test_epi64_mask(_mm256_xor_si256(bit, prev),
                                   _mm256_xor_si256(bit, prev));
        prev = bit;
        X4_UNROLL
        for (i = 0; i < 5; i++) {
            sw.l[i] = _mm256_permute4x64_epi64(q.l[i], X4_LANES(2, 3, 0, 1));
            p.l[i] = _mm256_mask_blend_epi64(m, sw.l[i], q.l[i]);
        }

        /* s = [x2 + z2, x2 + 2p - z2, x3 + z3, x3 + 2p - z3] */
        X4_UNROLL
        for (i = 0; i < 5; i++) {
            lo = _mm256_unpacklo_epi64(p.l[i], p.l[i]);
            hi = _mm256_unpackhi_epi64(p.l[i], p.l[i]);
            s.l[i] = _mm256_mask_sub_epi64(_mm256_add_epi64(lo, hi), 0xa,
                                           _mm256_add_epi64(lo, k2p[i]), hi);
        }
        fe4_carry1(&s, s.l);

        X4_UNROLL
        for (i = 0; i < 5; i++) {
            x.l[i] = _mm256_mask_blend_epi64(0xc, s.l[i],
                         _mm256_shuffle_epi32(s.l[i], 0x4e));
            y.l[i] = _mm256_permute4x64_epi64(s.l[i], X4_LANES(0, 1, 0, 1));
        }
        fe4_mul(&r, &x, &y);                /* [AA, BB, DA, CB] */

        X4_UNROLL
        for (i = 0; i < 5; i++) {
            lo = _mm256_permute4x64_epi64(r.l[i], X4_LANES(2, 2, 0, 0));
            hi = _mm256_permute4x64_epi64(r.l[i], X4_LANES(3, 3, 1, 1));
            u.l[i] = _mm256_mask_sub_epi64(_mm256_add_epi64(lo, hi), 0xa,
                                           _mm256_add_epi64(lo, k2p[i]), hi);
            u.l[i] = _mm256_mask_blend_epi64(0x4, u.l[i], lo);
            y.l[i] = lo;                    /* AA in lane 3 */
            x.l[i] = hi;                    /* BB in lane 2 */
        }
        fe4_carry1(&u, u.l);
        fe4_mul_small(&f, &y, &u, a24);     /* AA + a24 E in lane 3 */
        X4_UNROLL
        for (i = 0; i < 5; i++) {
            v.l[i] = _mm256_mask_blend_epi64(0x4, u.l[i], x.l[i]);
            v.l[i] = _mm256_mask_blend_epi64(0x8, v.l[i], f.l[i]);
        }
        fe4_mul(&r, &u, &v);
        if (small) {
            fe4_mul_small(&q, &zero, &r, ws);
        } else {
            fe4_mul(&q, &r, &w);
        }
    }
    m = _mm256_test_epi64_mask(prev, prev);
    X4_UNROLL
    for (i = 0; i < 5; i++) {
        sw.l[i] = _mm256_permute4x64_epi64(q.l[i], X4_LANES(2, 3, 0, 1));
        p.l[i] = _mm256_mask_blend_epi64(m, sw.l[i], q.l[i]);
        _mm256_storeu_si256((__m256i *) lane, p.l[i]);
        x2out[i] = lane[0];
        z2out[i] = lane[1];
    }

    /* what is left of the ladder's points */
    sodium_memzero(&q, sizeof(q));
    sodium_memzero(&p, sizeof(p));
    sodium_memzero(&sw, sizeof(sw));
    sodium_memzero(&s, sizeof(s));
    sodium_memzero(&r, sizeof(r));
    sodium_memzero(&u, sizeof(u));
    sodium_memzero(&v, sizeof(v));
    sodium_memzero(&x, sizeof(x));
    sodium_memzero(&y, sizeof(y));
    sodium_memzero(&f, sizeof(f));
    sodium_memzero(&bit, sizeof(bit));
    sodium_memzero(&prev, sizeof(prev));
    sodium_memzero(lane, sizeof(lane));
}

int
cnx_x25519_x4_available(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f")
           && __builtin_cpu_supports("avx512vl")
           && __builtin_cpu_supports("avx512dq")
           && __builtin_cpu_supports("avx512ifma");
}

int
cnx_x25519_x4_ladder(uint64_t x2[5], uint64_t z2[5], const uint64_t u[5],
    const uint64_t k[4])
{
    x4_ladder(x2, z2, u, k);
    return 0;
}

#else

int
cnx_x25519_x4_available(void)
{
    return 0;
}

int
cnx_x25519_x4_ladder(uint64_t x2[5], uint64_t z2[5], const uint64_t u[5],
    const uint64_t k[4])
{
    (void) x2;
    (void) z2;
    (void) u;
    (void) k;
    return -1;
}

#endif
