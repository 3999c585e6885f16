/*
 * Fuzz target: X25519 (cnx_crypto.h), the two backends compared.
 *
 * Input: a scalar, then a u-coordinate (any bytes: the clamped bits, the
 * ignored top bit, values of p and above, points of small order); a
 * shorter input is padded with zeros to 64 bytes, a longer one cut.
 * Checks:
 *   - the IFMA ladder (where the CPU has it) and libsodium give the same
 *     32 bytes, or both refuse (an all-zero result), and a refusal leaves
 *     the output wiped;
 *   - libsodium's crypto_scalarmult() agrees with both;
 *   - the public key of the scalar is the same from both backends and
 *     from crypto_scalarmult_base().
 * Without AVX-512 IFMA only the libsodium backend is checked.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cnx_crypto.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const  be[2] = { "libsodium", "avx512ifma" };
    uint8_t                   *in, out[2][32], want[32], pk[2][32];
    int                       rc[2], rw, n, i;

    if (cnx_crypto_init() != 0) {
        return 0;
    }
    in = calloc(1, 64);
    if (in == NULL) {
        return 0;
    }
    memcpy(in, data, size < 64 ? size : 64);
    n = cnx_x25519_public_with(pk[1], in, be[1]) == 0 ? 2 : 1;

    rw = crypto_scalarmult(want, in, in + 32);
    if (rw == 0 && sodium_is_zero(want, 32)) {
        rw = -1;
    }
    for (i = 0; i < n; i++) {
        memset(out[i], 0xaa, 32);
        rc[i] = cnx_x25519_dh_with(out[i], in, in + 32, be[i]);
        if ((rc[i] == 0) != (rw == 0)) {
            abort();                        /* one refused, one did not */
        }
        if (rc[i] == 0 ? memcmp(out[i], want, 32) != 0
                       : !sodium_is_zero(out[i], 32))
        {
            abort();
        }
        if (cnx_x25519_public_with(pk[i], in, be[i]) != 0) {
            abort();
        }
    }
    if (crypto_scalarmult_base(want, in) != 0
        || memcmp(pk[0], want, 32) != 0
        || (n == 2 && memcmp(pk[1], want, 32) != 0))
    {
        abort();
    }
    free(in);
    return 0;
}
