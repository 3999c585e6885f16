/*
 * Fuzz target: session v1 as clawnexus 0.4.0 speaks it
 * (cnx_session_v1.h): KEY_EXCHANGE payloads, SPKI keys, and sealed
 * payloads base64(iv || tag || ciphertext).
 *
 * Input: one control byte, then data.
 *   bits 0-1 = 0   KEY_EXCHANGE parse; an accepted key is rebuilt and
 *                  parsed to the same key and version, and the shared key
 *                  is derived from it (a low-order key must be refused
 *                  by cnx_v1_derive(), never yield a key).
 *   bits 0-1 = 1   the data is a sealed payload for a fixed room key: it
 *                  must not open (the fuzzer does not know the key).
 *   bits 0-1 = 2   the data is a plaintext: sealed, opened back to the
 *                  same bytes, and with one character changed (position
 *                  from the upper bits) it must not open.
 *   bits 0-1 = 3   SPKI DER decode; accepted input re-encodes exactly.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_crypto.h"
#include "cnx_session_v1.h"

static uint8_t            my_sk[32];
static cnx_v1_session_t  *room;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const uint8_t key[32] = { 0x6b, 0x65, 0x79 };

    (void) argc;
    (void) argv;
    if (cnx_crypto_init() != 0) {
        abort();
    }
    memset(my_sk, 0x5a, sizeof(my_sk));
    room = cnx_v1_session_new(key);
    if (room == NULL) {
        abort();
    }
    return 0;
}

static void
check_kex(const char *p, size_t n)
{
    cnx_v1_kex_t  k, k2;
    char          out[CNX_V1_KEX_MAX];
    uint8_t       key[32];
    int           rc, len;

    rc = cnx_v1_kex_parse(&k, p, n);
    if (rc != CNX_V1_KEX) {
        if (rc != CNX_V1_NOT_KEX && rc != CNX_V1_BAD_KEX) {
            abort();
        }
        return;
    }
    if (k.version < 1) {
        abort();
    }
    len = cnx_v1_kex_build(out, sizeof(out), k.pubkey,
        k.version >= 2 ? k.version : 1);
    if (len <= 0 || (size_t) len >= sizeof(out)
        || cnx_v1_kex_parse(&k2, out, (size_t) len) != CNX_V1_KEX
        || memcmp(k.pubkey, k2.pubkey, 32) != 0 || k2.version != k.version)
    {
        abort();
    }
    memset(key, 0xee, sizeof(key));
    if (cnx_v1_derive(key, my_sk, k.pubkey) == 0) {
        /* Derived: the peer key must not be a low-order point, so the
         * shared secret was not all zero. */
        uint8_t shared[32];

        if (cnx_x25519_dh(shared, my_sk, k.pubkey) != 0) {
            abort();
        }
    }
}

static void
check_open(const char *p, size_t n)
{
    uint8_t *m = malloc(n + 1);
    size_t   mlen;

    if (m == NULL) {
        return;
    }
    if (cnx_v1_open(room, m, n + 1, &mlen, p, n) == 0) {
        abort();                    /* a forgery opened */
    }
    free(m);
}

static void
check_seal(const uint8_t *p, size_t n, unsigned where)
{
    size_t   cap = CNX_V1_SEALED_LEN(n) + 1, mlen, i;
    char    *b64 = malloc(cap);
    uint8_t *m = malloc(n + 1);
    int      len;

    if (b64 == NULL || m == NULL) {
        abort();
    }
    len = cnx_v1_seal(room, b64, cap, p, n);
    if (len < 0 || (size_t) len != CNX_V1_SEALED_LEN(n)) {
        abort();
    }
    if (cnx_v1_open(room, m, n + 1, &mlen, b64, (size_t) len) != 0
        || mlen != n || (n && memcmp(m, p, n) != 0))
    {
        abort();
    }
    i = where % (size_t) len;
    b64[i] = (char) (b64[i] == 'A' ? 'B' : 'A');
    if (cnx_v1_open(room, m, n + 1, &mlen, b64, (size_t) len) == 0) {
        abort();
    }
    free(b64);
    free(m);
}

static void
check_spki(const uint8_t *p, size_t n)
{
    uint8_t pk[32], spki[CNX_V1_SPKI_BYTES];

    if (cnx_v1_spki_decode(pk, p, n) != 0) {
        return;
    }
    cnx_v1_spki_encode(spki, pk);
    if (n != sizeof(spki) || memcmp(spki, p, n) != 0) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char     *buf;
    unsigned  ctl;

    if (size < 1) {
        return 0;
    }
    ctl = data[0];
    data++;
    size--;
    buf = malloc(size ? size : 1);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);

    switch (ctl & 3) {
    case 0:
        check_kex(buf, size);
        break;
    case 1:
        check_open(buf, size);
        break;
    case 2:
        check_seal((const uint8_t *) buf, size, ctl >> 2);
        break;
    default:
        check_spki((const uint8_t *) buf, size);
        break;
    }
    free(buf);
    return 0;
}
