/*
 * cnx_x25519_x4: the X25519 Montgomery ladder with its field arithmetic
 * spread over four 64-bit lanes, on AVX-512 IFMA (internal to libclawnexus;
 * cnx_crypto.c decides when to use it and finishes the result).
 */
#ifndef CNX_X25519_X4_H
#define CNX_X25519_X4_H

#include <stdint.h>

/* Non-zero when this CPU has AVX-512 F, VL, DQ and IFMA. */
int cnx_x25519_x4_available(void);

/* The ladder of RFC 7748, section 5, for the clamped scalar k (four
 * little-endian 64-bit words) and the u-coordinate u (five limbs of radix
 * 2^51, each below 2^51: the top bit of the encoding already dropped).
 * Leaves the projective result: u([k]P) = x2 / z2, limbs below 2^51 + 2^5,
 * not reduced mod p.  Returns -1 when not built for this platform.  Call
 * only when cnx_x25519_x4_available(). */
int cnx_x25519_x4_ladder(uint64_t x2[5], uint64_t z2[5], const uint64_t u[5],
    const uint64_t k[4]);

#endif
