/*
 * Fuzz target: the incremental UTF-8 validator (cnx_utf8.h), compared
 * with a plain reference decoder written from RFC 3629 section 4, and fed
 * in random pieces to check that state carries across buffers.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_utf8.h"

/* RFC 3629: shortest form only, no surrogates, nothing above U+10FFFF. */
static int
ref_valid(const uint8_t *p, size_t n)
{
    size_t   i = 0, k, need;
    uint32_t cp, min;

    while (i < n) {
        uint8_t c = p[i];

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1; cp = c & 0x1f; min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2; cp = c & 0x0f; min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3; cp = c & 0x07; min = 0x10000;
        } else {
            return 0;
        }
        if (n - i - 1 < need) {
            return 0;
        }
        for (k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }
        i += need + 1;
    }
    return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t  *buf;
    uint32_t  st;
    size_t    off, piece, cut;
    int       want, whole;

    if (size < 1) {
        return 0;
    }
    /* First byte: how to cut the rest into pieces. */
    cut = data[0];
    data++;
    size--;

    buf = malloc(size ? size : 1);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);

    want = ref_valid(buf, size);
    whole = cnx_utf8_valid(buf, size);
    if ((whole != 0) != want) {
        abort();
    }

    /* Incremental: pieces of 1..8 bytes (cycling through cut's bits). */
    st = CNX_UTF8_ACCEPT;
    for (off = 0; off < size; off += piece) {
        piece = 1 + ((cut >> (off % 5)) & 7);
        if (piece > size - off) {
            piece = size - off;
        }
        st = cnx_utf8_step(st, buf + off, piece);
        if (st == CNX_UTF8_REJECT) {
            /* Sticky, and only for input that really is invalid. */
            if (want || cnx_utf8_step(st, (const uint8_t *) "a", 1)
                        != CNX_UTF8_REJECT)
            {
                abort();
            }
            break;
        }
    }
    if (st == CNX_UTF8_REJECT) {
        free(buf);
        return 0;
    }
    if ((st == CNX_UTF8_ACCEPT) != want) {
        /* Either a valid text ended "inside a character" or an invalid
         * one was accepted. */
        if (want || st == CNX_UTF8_ACCEPT) {
            abort();
        }
    }
    free(buf);
    return 0;
}
