/*
 * cnx_x25519: X25519 (RFC 7748) from libsodium.
 *
 * cnx_x25519_dh() fails, with shared wiped, when the result is all zero:
 * the peer's public key is a point of small order (or an encoding of one),
 * which contributes nothing secret.  Every other 32-byte string is accepted
 * as RFC 7748 section 5 says (the top bit ignored, values from p up
 * reduced, points on the twist computed).
 */

#ifndef CNX_X25519_H
#define CNX_X25519_H

#include <stdint.h>

#define CNX_X25519_KEYBYTES   32

int cnx_x25519_keypair(uint8_t pk[32], uint8_t sk[32]);
int cnx_x25519_public(uint8_t pk[32], const uint8_t sk[32]);
int cnx_x25519_dh(uint8_t shared[32], const uint8_t sk[32],
    const uint8_t pk[32]);

#endif
