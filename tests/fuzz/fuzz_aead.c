/*
 * Fuzz target: the AES-256-GCM wrapper (cnx_aead.h) on any input.
 *
 * Input: a key (32 bytes), a nonce (12), one byte that sets how much of
 * the rest is AAD (its value times the rest's length / 255), then the
 * AAD and the message; a shorter input is padded with zeros to 45 bytes.
 * Checks:
 *   - sealing out of place and in place give the same bytes, which are
 *     libsodium's AES-256-GCM where this CPU has it (an independent
 *     implementation), and write nothing past the ciphertext;
 *   - opening gives the message back;
 *   - one bit flipped in the ciphertext, the tag, the AAD or the nonce
 *     (the place taken from the input) is refused, and the refused output
 *     is wiped.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cnx_crypto.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t             *in, *m, *ad, *want, *c, *back, *bit;
    uint8_t              nonce[12];
    unsigned long long   wlen;
    size_t               n, rest, adlen, mlen, flip;
    cnx_aead_t          *a;

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
    flip = (in[0] | (size_t) in[1] << 8) % (mlen + 16 + adlen + 12);

    if ((a = cnx_aead_new(in)) == NULL) {
        abort();
    }
    memset(c, 0xa5, mlen + 17);
    if (cnx_aead_seal(a, c, m, mlen, in + 32, ad, adlen) != 0
        || c[mlen + 16] != 0xa5
        || cnx_aead_open(a, back, c, mlen + 16, in + 32, ad, adlen) != 0
        || memcmp(back, m, mlen) != 0)
    {
        abort();
    }
    if (crypto_aead_aes256gcm_is_available()
        && (crypto_aead_aes256gcm_encrypt(want, &wlen, m, mlen, ad, adlen,
                                          NULL, in + 32, in) != 0
            || wlen != mlen + 16 || memcmp(c, want, mlen + 16) != 0))
    {
        abort();
    }
    memcpy(back, m, mlen);
    if (cnx_aead_seal(a, back, back, mlen, in + 32, ad, adlen) != 0
        || memcmp(back, c, mlen) != 0)
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
        || (mlen > 0 && !sodium_is_zero(back, mlen)))
    {
        abort();
    }
    cnx_aead_free(a);
    free(in);
    free(want);
    free(c);
    free(back);
    return 0;
}
