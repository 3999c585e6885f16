/*
 * Fuzz target: base64, base64url and hex decoders (cnx_base64.h).
 *
 * The base64 decoders are strict (exactly one accepted encoding per byte
 * string), so whatever decodes must encode back to the same text, and
 * whatever is encoded must decode back to the same bytes.  Hex accepts
 * either case: what decodes encodes back to the same text in lowercase.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_base64.h"

static void
check_decode(const char *in, size_t n, int url)
{
    size_t   cap = CNX_BASE64_DECODED_MAX(n);
    uint8_t *out = malloc(cap + 1);
    char    *back;
    int      got, len;

    if (out == NULL) {
        return;
    }
    got = url ? cnx_base64url_decode(out, cap, in, n)
              : cnx_base64_decode(out, cap, in, n);
    if (got >= 0) {
        if ((size_t) got > cap) {
            abort();
        }
        back = malloc(n + 1);
        if (back == NULL) {
            abort();
        }
        len = url ? cnx_base64url_encode(back, n + 1, out, (size_t) got)
                  : cnx_base64_encode(back, n + 1, out, (size_t) got);
        /* Strictness: the accepted text is the canonical encoding. */
        if (len < 0 || (size_t) len != n || memcmp(back, in, n) != 0) {
            abort();
        }
        free(back);

        /* One byte less room than needed must be refused, not overrun. */
        if (got > 0) {
            uint8_t *small = malloc((size_t) got - 1 + 1);
            if (small == NULL) {
                abort();
            }
            if ((url ? cnx_base64url_decode(small, (size_t) got - 1, in, n)
                     : cnx_base64_decode(small, (size_t) got - 1, in, n))
                != -1)
            {
                abort();
            }
            free(small);
        }
    }
    free(out);
}

static void
check_encode(const uint8_t *in, size_t n, int url)
{
    size_t   need = url ? CNX_BASE64URL_ENCODED_LEN(n)
                        : CNX_BASE64_ENCODED_LEN(n);
    char    *txt = malloc(need + 1);
    uint8_t *back = malloc(n + 1);
    int      len, got;

    if (txt == NULL || back == NULL) {
        abort();
    }
    len = url ? cnx_base64url_encode(txt, need + 1, in, n)
              : cnx_base64_encode(txt, need + 1, in, n);
    if (len < 0 || (size_t) len != need || txt[len] != '\0') {
        abort();
    }
    got = url ? cnx_base64url_decode(back, n + 1, txt, (size_t) len)
              : cnx_base64_decode(back, n + 1, txt, (size_t) len);
    if (got < 0 || (size_t) got != n || memcmp(back, in, n) != 0) {
        abort();
    }
    /* Without room for the NUL the encoder must refuse. */
    if ((url ? cnx_base64url_encode(txt, need, in, n)
             : cnx_base64_encode(txt, need, in, n)) != -1)
    {
        abort();
    }
    free(txt);
    free(back);
}

static void
check_hex(const char *in, size_t n, const uint8_t *data)
{
    uint8_t *out = malloc(n + 1);
    char    *txt = malloc(2 * n + 1);
    size_t   i;
    int      got;

    if (out == NULL || txt == NULL) {
        abort();
    }
    /* any text: what decodes is the lowercase spelling of its bytes */
    got = cnx_hex_decode(out, n + 1, in, n);
    if (got >= 0) {
        if ((size_t) got * 2 != n
            || cnx_hex_encode(txt, 2 * n + 1, out, (size_t) got) != (int) n)
        {
            abort();
        }
        for (i = 0; i < n; i++) {
            if (txt[i] != (in[i] >= 'A' && in[i] <= 'F' ? in[i] + 32 : in[i])) {
                abort();
            }
        }
    }
    /* any bytes: encode, decode back */
    if (cnx_hex_encode(txt, 2 * n + 1, data, n) != (int) (2 * n)
        || cnx_hex_decode(out, n + 1, txt, 2 * n) != (int) n
        || memcmp(out, data, n) != 0)
    {
        abort();
    }
    free(out);
    free(txt);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy;

    /* A heap copy of exactly size bytes: ASan sees any read past it. */
    copy = malloc(size ? size : 1);
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data, size);

    check_decode(copy, size, 0);
    check_decode(copy, size, 1);
    check_encode(data, size, 0);
    check_encode(data, size, 1);
    check_hex(copy, size, data);

    free(copy);
    return 0;
}
