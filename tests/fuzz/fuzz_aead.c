/*
 * Fuzz target: AES-256-GCM (cnx_crypto.h), every backend this CPU can run
 * compared with OpenSSL.
 *
 * Input: a key (32 bytes), a nonce (12), one byte that sets how much of
 * the rest is AAD (its value times the rest's length / 255), then the
 * AAD and the message; a shorter input is padded with zeros to 45 bytes.
 * Checks, for libsodium and our VAES code where available:
 *   - sealing gives OpenSSL's ciphertext and tag, copied out of place and
 *     in place, and writes nothing past the ciphertext;
 *   - opening gives the message back;
 *   - one bit flipped in the ciphertext, the tag, the AAD or the nonce
 *     (the place taken from the input) is refused by both, and the refused
 *     output is wiped.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cnx_crypto.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const  be[] = { "libsodium", "avx512vaes" };
    uint8_t                  *in, *m, *ad, *want, *c, *back, *bit;
    uint8_t                   nonce[12];
    size_t                    n, rest, adlen, mlen, flip, i;
    cnx_aead_t               *o, *a;

    if (cnx_crypto_init() != 0) {
        return 0;
    }
    n = size < 45 ? 45 : size;
    in = calloc(1, n);
    want = malloc(n + 16);
    c = malloc(n + 17);
    back = malloc(n + 1);
    if (in == NULL || want == NULL || c == NULL || back == NULL) {
        abort();
    }
    memcpy(in, data, size);
    rest = n - 45;
    adlen = rest * in[44] / 255;
    ad = in + 45;
    m = ad + adlen;
    mlen = rest - adlen;
    o = cnx_aead_new_with(in, "openssl");
    if (o == NULL || cnx_aead_seal(o, want, m, mlen, in + 32, ad, adlen) != 0) {
        abort();
    }
    flip = (in[0] | (size_t) in[1] << 8) % (mlen + 16 + adlen + 12);

    for (i = 0; i < sizeof(be) / sizeof(be[0]); i++) {
        if ((a = cnx_aead_new_with(in, be[i])) == NULL) {
            continue;                       /* not on this CPU */
        }
        memset(c, 0xa5, mlen + 17);
        if (cnx_aead_seal(a, c, m, mlen, in + 32, ad, adlen) != 0
            || memcmp(c, want, mlen + 16) != 0 || c[mlen + 16] != 0xa5
            || cnx_aead_open(a, back, c, mlen + 16, in + 32, ad, adlen) != 0
            || memcmp(back, m, mlen) != 0)
        {
            abort();
        }
        memcpy(back, m, mlen);
        if (cnx_aead_seal(a, back, back, mlen, in + 32, ad, adlen) != 0
            || memcmp(back, want, mlen) != 0)
        {
            abort();
        }
        memcpy(nonce, in + 32, 12);
        bit = flip < mlen + 16 ? c + flip
              : flip < mlen + 16 + adlen ? ad + (flip - mlen - 16)
              : nonce + (flip - mlen - 16 - adlen);
        *bit ^= 0x01;
        memset(back, 0x5a, mlen + 1);
        if (cnx_aead_open(a, back, c, mlen + 16, nonce, ad, adlen) != -1
            || (mlen > 0 && !sodium_is_zero(back, mlen))
            || cnx_aead_open(o, back, c, mlen + 16, nonce, ad, adlen) != -1)
        {
            abort();
        }
        *bit ^= 0x01;                       /* the AAD is used again */
        cnx_aead_free(a);
    }
    cnx_aead_free(o);
    free(in);
    free(want);
    free(c);
    free(back);
    return 0;
}
