/*
 * Base64, base64url (RFC 4648) and hex over libsodium's constant-time
 * codecs (sodium_bin2base64 and friends).  This file adds what the
 * library's callers rely on and libsodium leaves to the caller: capacity
 * checks before encoding (libsodium aborts on a short buffer), an int
 * result, and a whole-input-or-nothing decode (no ignored characters, no
 * trailing text), so that each byte string has exactly one accepted text
 * form.  libsodium itself refuses non-zero unused bits and missing or
 * extra padding.
 *
 * libsodium 1.0.18 reads base64 text through a (signed) char, so that any
 * byte from 0x80 up compares equal to '+' and '/' and decodes as the value
 * 63: such bytes are refused here before libsodium sees them.
 */

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "cnx_base64.h"

static int
cnx_b64_encode(char *out, size_t cap, const uint8_t *in, size_t n,
    int variant)
{
    size_t  need;

    if (n > (size_t) INT_MAX / 4 * 3 - 3 || out == NULL
        || (in == NULL && n != 0))
    {
        return -1;
    }
    need = sodium_base64_encoded_len(n, variant);   /* with the NUL */
    if (cap < need) {
        return -1;
    }
    sodium_bin2base64(out, cap, n ? in : (const uint8_t *) "", n, variant);
    return (int) (need - 1);
}

/* Non-zero if a byte of s has its top bit set; no branch on the bytes. */
static unsigned int
cnx_b64_high(const char *s, size_t n)
{
    unsigned int  acc = 0;
    size_t        i;

    for (i = 0; i < n; i++) {
        acc |= (unsigned char) s[i];
    }
    return acc & 0x80;
}

/* A failed decode may have written part of the output: it is wiped, since
 * the text may have been a key. */
static int
cnx_b64_decode(uint8_t *out, size_t cap, const char *in, size_t n,
    int variant)
{
    uint8_t  none[1];
    size_t   len, dirty;

    if ((in == NULL && n != 0) || n > (size_t) INT_MAX) {
        return -1;
    }
    if (out == NULL || cap == 0) {
        out = none;
        cap = 0;
    }
    if (cnx_b64_high(in, n)
        || sodium_base642bin(out, cap, n ? in : "", n, NULL, &len, NULL,
                             variant) != 0)
    {
        dirty = CNX_BASE64_DECODED_MAX(n);
        sodium_memzero(out, dirty < cap ? dirty : cap);
        return -1;
    }
    return (int) len;
}

int
cnx_base64_encode(char *out, size_t cap, const uint8_t *in, size_t n)
{
    return cnx_b64_encode(out, cap, in, n, sodium_base64_VARIANT_ORIGINAL);
}

int
cnx_base64_decode(uint8_t *out, size_t cap, const char *in, size_t n)
{
    return cnx_b64_decode(out, cap, in, n, sodium_base64_VARIANT_ORIGINAL);
}

int
cnx_base64url_encode(char *out, size_t cap, const uint8_t *in, size_t n)
{
    return cnx_b64_encode(out, cap, in, n,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int
cnx_base64url_decode(uint8_t *out, size_t cap, const char *in, size_t n)
{
    return cnx_b64_decode(out, cap, in, n,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int
cnx_hex_encode(char *out, size_t cap, const uint8_t *in, size_t n)
{
    if (n > (size_t) INT_MAX / 2 || out == NULL || (in == NULL && n != 0)
        || cap < 2 * n + 1)
    {
        return -1;
    }
    sodium_bin2hex(out, cap, n ? in : (const uint8_t *) "", n);
    return (int) (2 * n);
}

int
cnx_hex_decode(uint8_t *out, size_t cap, const char *in, size_t n)
{
    uint8_t  none[1];
    size_t   len;

    if ((in == NULL && n != 0) || n > (size_t) INT_MAX) {
        return -1;
    }
    if (out == NULL || cap == 0) {
        out = none;
        cap = 0;
    }
    if (sodium_hex2bin(out, cap, n ? in : "", n, NULL, &len, NULL) != 0) {
        sodium_memzero(out, n / 2 < cap ? n / 2 : cap);
        return -1;
    }
    return (int) len;
}
