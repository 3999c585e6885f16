/*
 * Base64 and base64url (RFC 4648).  Decoding is strict so that each byte
 * string has exactly one accepted text form.
 */

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "cnx_base64.h"

static const char cnx_b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char cnx_b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* All ones if lo <= c <= hi, else 0; no branch on c. */
static int
cnx_b64_range(int c, int lo, int hi)
{
    return ((lo - 1 - c) & (c - hi - 1)) >> 8;
}

/*
 * Value of c in the alphabet, or -1.  Written without branches on c
 * because it also decodes private keys.
 */
static int
cnx_b64_value(unsigned char uc, int url)
{
    int  c = uc;
    int  v = -1;
    int  c62 = url ? '-' : '+';
    int  c63 = url ? '_' : '/';

    v += cnx_b64_range(c, 'A', 'Z') & (c - 'A' + 1);
    v += cnx_b64_range(c, 'a', 'z') & (c - 'a' + 27);
    v += cnx_b64_range(c, '0', '9') & (c - '0' + 53);
    v += cnx_b64_range(c, c62, c62) & 63;
    v += cnx_b64_range(c, c63, c63) & 64;
    return v;
}

static int
cnx_b64_encode(char *out, size_t cap, const uint8_t *in, size_t n,
    const char *alpha, int pad)
{
    size_t  need, i, o;
    uint32_t v;

    if (n > (size_t) INT_MAX / 4 * 3 - 3) {
        return -1;
    }
    need = pad ? CNX_BASE64_ENCODED_LEN(n) : CNX_BASE64URL_ENCODED_LEN(n);
    if (out == NULL || cap < need + 1) {
        return -1;
    }

    o = 0;
    for (i = 0; i + 3 <= n; i += 3) {
        v = ((uint32_t) in[i] << 16) | ((uint32_t) in[i + 1] << 8) | in[i + 2];
        out[o++] = alpha[(v >> 18) & 63];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = alpha[(v >> 6) & 63];
        out[o++] = alpha[v & 63];
    }

    if (n - i == 1) {
        v = (uint32_t) in[i] << 16;
        out[o++] = alpha[(v >> 18) & 63];
        out[o++] = alpha[(v >> 12) & 63];
        if (pad) {
            out[o++] = '=';
            out[o++] = '=';
        }

    } else if (n - i == 2) {
        v = ((uint32_t) in[i] << 16) | ((uint32_t) in[i + 1] << 8);
        out[o++] = alpha[(v >> 18) & 63];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = alpha[(v >> 6) & 63];
        if (pad) {
            out[o++] = '=';
        }
    }

    out[o] = '\0';
    return (int) o;
}

static int
cnx_b64_decode(uint8_t *out, size_t cap, const char *in, size_t n, int url)
{
    size_t   full, rest, i, o;
    int      a, b, c, d;

    if (in == NULL && n != 0) {
        return -1;
    }
    if (n > (size_t) INT_MAX) {
        return -1;
    }

    if (url) {
        if (n % 4 == 1) {
            return -1;
        }
        full = n / 4;
        rest = n % 4;

    } else {
        if (n % 4 != 0) {
            return -1;
        }
        /* Padding turns the last quantum into a 2- or 3-character rest. */
        full = n / 4;
        rest = 0;
        if (n >= 4 && in[n - 1] == '=') {
            full--;
            rest = in[n - 2] == '=' ? 2 : 3;
        }
    }

    if (full * 3 + (rest ? rest - 1 : 0) > cap) {
        return -1;
    }

    o = 0;
    for (i = 0; i < full; i++) {
        a = cnx_b64_value((unsigned char) in[4 * i], url);
        b = cnx_b64_value((unsigned char) in[4 * i + 1], url);
        c = cnx_b64_value((unsigned char) in[4 * i + 2], url);
        d = cnx_b64_value((unsigned char) in[4 * i + 3], url);
        if ((a | b | c | d) < 0) {
            return -1;
        }
        out[o++] = (uint8_t) ((a << 2) | (b >> 4));
        out[o++] = (uint8_t) (((b & 15) << 4) | (c >> 2));
        out[o++] = (uint8_t) (((c & 3) << 6) | d);
    }

    if (rest) {
        const char *q = in + 4 * full;

        a = cnx_b64_value((unsigned char) q[0], url);
        b = cnx_b64_value((unsigned char) q[1], url);
        if ((a | b) < 0) {
            return -1;
        }
        if (rest == 2) {
            if (b & 15) {
                return -1;          /* non-canonical trailing bits */
            }
            out[o++] = (uint8_t) ((a << 2) | (b >> 4));

        } else {
            c = cnx_b64_value((unsigned char) q[2], url);
            if (c < 0 || (c & 3)) {
                return -1;
            }
            out[o++] = (uint8_t) ((a << 2) | (b >> 4));
            out[o++] = (uint8_t) (((b & 15) << 4) | (c >> 2));
        }
    }

    return (int) o;
}

int
cnx_base64_encode(char *out, size_t cap, const uint8_t *in, size_t n)
{
    return cnx_b64_encode(out, cap, in, n, cnx_b64_std, 1);
}

int
cnx_base64_decode(uint8_t *out, size_t cap, const char *in, size_t n)
{
    return cnx_b64_decode(out, cap, in, n, 0);
}

int
cnx_base64url_encode(char *out, size_t cap, const uint8_t *in, size_t n)
{
    return cnx_b64_encode(out, cap, in, n, cnx_b64_url, 0);
}

int
cnx_base64url_decode(uint8_t *out, size_t cap, const char *in, size_t n)
{
    return cnx_b64_decode(out, cap, in, n, 1);
}
