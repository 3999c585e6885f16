/*
 * UTF-8 validation as a small state machine (RFC 3629 table 2 of
 * well-formed byte sequences).  States other than ACCEPT and REJECT say
 * what the next continuation byte must look like.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cnx_utf8.h"

enum {
    CNX_U8_CONT1 = 2,   /* one more 80..BF */
    CNX_U8_CONT2,       /* two more 80..BF */
    CNX_U8_CONT3,       /* three more 80..BF */
    CNX_U8_E0,          /* after E0: A0..BF (no overlong) */
    CNX_U8_ED,          /* after ED: 80..9F (no surrogates) */
    CNX_U8_F0,          /* after F0: 90..BF (no overlong) */
    CNX_U8_F4           /* after F4: 80..8F (<= U+10FFFF) */
};

static uint32_t
cnx_utf8_byte(uint32_t s, uint8_t b)
{
    switch (s) {

    case CNX_UTF8_ACCEPT:
        if (b < 0x80) {
            return CNX_UTF8_ACCEPT;
        }
        if (b >= 0xc2 && b <= 0xdf) {
            return CNX_U8_CONT1;
        }
        if (b == 0xe0) {
            return CNX_U8_E0;
        }
        if (b == 0xed) {
            return CNX_U8_ED;
        }
        if (b >= 0xe1 && b <= 0xef) {
            return CNX_U8_CONT2;
        }
        if (b == 0xf0) {
            return CNX_U8_F0;
        }
        if (b >= 0xf1 && b <= 0xf3) {
            return CNX_U8_CONT3;
        }
        if (b == 0xf4) {
            return CNX_U8_F4;
        }
        return CNX_UTF8_REJECT;

    case CNX_U8_CONT1:
        return (b & 0xc0) == 0x80 ? CNX_UTF8_ACCEPT : CNX_UTF8_REJECT;
    case CNX_U8_CONT2:
        return (b & 0xc0) == 0x80 ? CNX_U8_CONT1 : CNX_UTF8_REJECT;
    case CNX_U8_CONT3:
        return (b & 0xc0) == 0x80 ? CNX_U8_CONT2 : CNX_UTF8_REJECT;
    case CNX_U8_E0:
        return (b >= 0xa0 && b <= 0xbf) ? CNX_U8_CONT1 : CNX_UTF8_REJECT;
    case CNX_U8_ED:
        return (b >= 0x80 && b <= 0x9f) ? CNX_U8_CONT1 : CNX_UTF8_REJECT;
    case CNX_U8_F0:
        return (b >= 0x90 && b <= 0xbf) ? CNX_U8_CONT2 : CNX_UTF8_REJECT;
    case CNX_U8_F4:
        return (b >= 0x80 && b <= 0x8f) ? CNX_U8_CONT2 : CNX_UTF8_REJECT;
    default:
        return CNX_UTF8_REJECT;
    }
}

uint32_t
cnx_utf8_step(uint32_t state, const uint8_t *p, size_t n)
{
    size_t    i = 0;
    uint64_t  w;

    while (i < n) {
        if (state == CNX_UTF8_ACCEPT) {
            /* ASCII runs are the common case: 8 bytes per test. */
            while (n - i >= 8) {
                memcpy(&w, p + i, 8);
                if (w & UINT64_C(0x8080808080808080)) {
                    break;
                }
                i += 8;
            }
            if (i == n) {
                break;
            }

        } else if (state == CNX_UTF8_REJECT) {
            return CNX_UTF8_REJECT;
        }

        state = cnx_utf8_byte(state, p[i++]);
    }

    return state;
}

int
cnx_utf8_valid(const uint8_t *p, size_t n)
{
    return cnx_utf8_step(CNX_UTF8_ACCEPT, p, n) == CNX_UTF8_ACCEPT;
}
