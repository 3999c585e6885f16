/*
 * Fuzz target: the X25519 wrapper (cnx_x25519.h) on any input.
 *
 * Input: a scalar, then a u-coordinate (any bytes: the clamped bits, the
 * ignored top bit, values of p and above, points of small order); a
 * shorter input is padded with zeros to 64 bytes, a longer one cut.
 * Checks:
 *   - cnx_x25519_dh() refuses exactly when libsodium refuses or gives
 *     the all-zero result, else gives libsodium's bytes, and a refusal
 *     leaves the output wiped;
 *   - the public key of the scalar is X25519(k, 9), and the wrapper's
 *     two sides of a key agreement between the input scalar and a second
 *     one made from it agree.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cnx_crypto.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t  nine[32] = { 9 };
    uint8_t              *in, out[32], raw[32], pk[32], pk2[32], sk2[32];
    uint8_t               s1[32], s2[32];
    int                   rc, zero;

    if (cnx_crypto_init() != 0) {
        return 0;
    }
    in = calloc(1, 64);
    if (in == NULL) {
        return 0;
    }
    memcpy(in, data, size < 64 ? size : 64);

    memset(out, 0xaa, 32);
    rc = cnx_x25519_dh(out, in, in + 32);
    /* libsodium itself: refused (low order) or the all-zero result */
    zero = crypto_scalarmult(raw, in, in + 32) != 0
           || sodium_is_zero(raw, 32);
    if ((rc == 0) == zero || (rc == 0 ? memcmp(out, raw, 32) != 0
                                      : !sodium_is_zero(out, 32)))
    {
        abort();
    }

    if (cnx_x25519_public(pk, in) != 0 || cnx_x25519_dh(out, in, nine) != 0
        || memcmp(pk, out, 32) != 0)
    {
        abort();
    }
    memcpy(sk2, in + 32, 32);
    sk2[0] ^= 0x55;
    if (cnx_x25519_public(pk2, sk2) != 0
        || cnx_x25519_dh(s1, in, pk2) != 0 || cnx_x25519_dh(s2, sk2, pk) != 0
        || memcmp(s1, s2, 32) != 0)
    {
        abort();
    }
    free(in);
    return 0;
}
