/*
 * Fuzz target: v2 records and the v2 transport (cnx_session.h), i.e. what
 * an authenticated but hostile peer controls after the handshake.
 *
 * Input: one control byte, then bytes.
 *   - cnx_record_decode() on the bytes: an accepted record lies inside
 *     them and re-encodes to the same header and body;
 *   - transport: the bytes are sealed by one side (split into messages of
 *     up to 1 + ctl & 63 bytes, rekeying every 1 + (ctl >> 6) messages) and
 *     opened by the other; each one opens to the same bytes, a replay, a
 *     reflection to the sender and a copy with one flipped bit are refused
 *     without disturbing the stream.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_crypto.h"
#include "cnx_session.h"

static uint8_t  out[CNX_RECORD_HDR + CNX_RECORD_MAX];
static uint8_t  c[CNX_RECORD_HDR + CNX_RECORD_MAX + CNX_AEAD_TAGBYTES];
static uint8_t  m[CNX_RECORD_HDR + CNX_RECORD_MAX + CNX_AEAD_TAGBYTES];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    return cnx_crypto_init() == 0 ? 0 : -1;
}

static void
check_record(const uint8_t *p, size_t n)
{
    cnx_record_t r;
    int          len;

    if (cnx_record_decode(&r, p, n) != 0) {
        return;
    }
    if (r.type < CNX_RECORD_TEXT || r.type > CNX_RECORD_CLOSE
        || r.data != p + CNX_RECORD_HDR || r.len > n - CNX_RECORD_HDR)
    {
        abort();
    }
    len = cnx_record_encode(out, sizeof(out), &r);
    if (len != (int) (CNX_RECORD_HDR + r.len)
        || memcmp(out, p, (size_t) len) != 0)
    {
        abort();
    }
}

static void
check_transport(const uint8_t *p, size_t n, unsigned ctl)
{
    cnx_noise_keys_t  ka, kb;
    cnx_transport_t  *a, *b;
    size_t            off, piece, clen, mlen;
    size_t            step = 1 + (ctl & 63);
    uint64_t          rekey = 1 + (ctl >> 6);

    memset(&ka, 0, sizeof(ka));
    memset(ka.send_key, 0xa1, 32);
    memset(ka.recv_key, 0xb2, 32);
    memcpy(kb.send_key, ka.recv_key, 32);
    memcpy(kb.recv_key, ka.send_key, 32);
    a = cnx_transport_new(&ka, rekey);
    b = cnx_transport_new(&kb, rekey);
    if (a == NULL || b == NULL) {
        abort();
    }
    for (off = 0; off < n; off += piece) {
        piece = n - off < step ? n - off : step;
        if (cnx_transport_seal(a, c, sizeof(c), &clen, p + off, piece) != 0
            || clen != piece + CNX_AEAD_TAGBYTES)
        {
            abort();
        }
        /* Tampered, truncated and reflected copies come first: refused,
         * and the genuine message still opens afterwards. */
        c[(off + ctl) % clen] ^= 0x20;
        if (cnx_transport_open(b, m, sizeof(m), &mlen, c, clen) == 0) {
            abort();
        }
        c[(off + ctl) % clen] ^= 0x20;
        if (cnx_transport_open(b, m, sizeof(m), &mlen, c, clen - 1) == 0
            || cnx_transport_open(a, m, sizeof(m), &mlen, c, clen) == 0)
        {
            abort();
        }
        if (cnx_transport_open(b, m, sizeof(m), &mlen, c, clen) != 0
            || mlen != piece || memcmp(m, p + off, piece) != 0)
        {
            abort();
        }
        /* A replay is refused. */
        if (cnx_transport_open(b, m, sizeof(m), &mlen, c, clen) == 0) {
            abort();
        }
    }
    cnx_transport_free(a);
    cnx_transport_free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf;

    if (size < 1) {
        return 0;
    }
    buf = malloc(size);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data + 1, size - 1);
    check_record(buf, size - 1);
    check_transport(buf, size - 1 > 4096 ? 4096 : size - 1, data[0]);
    free(buf);
    return 0;
}
