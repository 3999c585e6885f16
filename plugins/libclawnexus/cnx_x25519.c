/*
 * cnx_x25519: X25519 from libsodium (crypto_scalarmult_curve25519 and its
 * base-point form), see cnx_x25519.h.
 */

#include <sodium.h>

#include "cnx_crypto.h"
#include "cnx_x25519.h"

int
cnx_x25519_public(uint8_t pk[32], const uint8_t sk[32])
{
    if (cnx_crypto_init() != 0 || crypto_scalarmult_base(pk, sk) != 0) {
        sodium_memzero(pk, 32);
        return -1;
    }
    return 0;
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
    /* libsodium refuses an all-zero result itself; the check is repeated,
     * in constant time, so that the rule does not rest on one build. */
    if (cnx_crypto_init() != 0 || crypto_scalarmult(shared, sk, pk) != 0
        || sodium_is_zero(shared, 32))
    {
        sodium_memzero(shared, 32);
        return -1;
    }
    return 0;
}
