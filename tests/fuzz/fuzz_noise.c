/*
 * Fuzz target: Noise handshake message reads (cnx_noise.h), XX and IK.
 *
 * Input: one control byte, then bytes.
 *   bit 0       pattern: 0 = XX, 1 = IK
 *   bits 1-2    index of the handshake message that is attacked
 *   bit 3       0: the message is replaced by the bytes,
 *               1: the bytes are XORed into the genuine message
 *               (and may extend it)
 * A genuine handshake between fixed keys runs up to that message; the
 * receiver then reads the attacked one.  Checks:
 *   - a message that differs from the genuine one is refused, except in
 *     XX's first message (cleartext e and payload), and then the forgery
 *     is caught by the initiator at the next message at the latest;
 *   - after a refusal the state is FAILED and stays unusable;
 *   - an untouched handshake completes with matching transport keys.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_crypto.h"
#include "cnx_internal.h"
#include "cnx_noise.h"

static uint8_t  i_sk[32], i_pk[32], r_sk[32], r_pk[32], ie_sk[32], re_sk[32];
static uint8_t  msg[CNX_NOISE_MSG_MAX], genuine[CNX_NOISE_MSG_MAX];
static uint8_t  pl[CNX_NOISE_MSG_MAX];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    if (cnx_crypto_init() != 0) {
        abort();
    }
    memset(i_sk, 0x11, 32);
    memset(r_sk, 0x22, 32);
    memset(ie_sk, 0x33, 32);
    memset(re_sk, 0x44, 32);
    if (cnx_x25519_public(r_pk, r_sk) != 0
        || cnx_x25519_public(i_pk, i_sk) != 0)
    {
        abort();
    }
    return 0;
}

static void
expect_dead(cnx_noise_t *hs)
{
    size_t n;

    if (cnx_noise_action(hs) != CNX_NOISE_FAILED
        || cnx_noise_read_message(hs, pl, sizeof(pl), &n, genuine, 64) == 0
        || cnx_noise_write_message(hs, msg, sizeof(msg), &n, NULL, 0) == 0)
    {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t prologue[] = "clawnexus-fuzz";
    cnx_noise_t          hs[2];   /* 0 initiator, 1 responder */
    cnx_noise_keys_t     k[2];
    cnx_noise_pattern_t  pat;
    uint8_t              payload[8];
    size_t               glen, mlen, plen, i;
    unsigned             ctl, target, m;
    int                  w, r, rc, forged = 0, xx;

    if (size < 1) {
        return 0;
    }
    ctl = data[0];
    data++;
    size--;
    if (size > sizeof(msg)) {
        size = sizeof(msg);
    }
    xx = !(ctl & 1);
    pat = xx ? CNX_NOISE_XX : CNX_NOISE_IK;
    target = (ctl >> 1) & 3;

    if (cnx_noise_init(&hs[0], pat, CNX_NOISE_INITIATOR, prologue,
            sizeof(prologue) - 1, i_sk, xx ? NULL : r_pk) != 0
        || cnx_noise_init(&hs[1], pat, CNX_NOISE_RESPONDER, prologue,
            sizeof(prologue) - 1, r_sk, NULL) != 0
        || cnx_noise_set_ephemeral(&hs[0], ie_sk) != 0
        || cnx_noise_set_ephemeral(&hs[1], re_sk) != 0)
    {
        abort();
    }

    for (m = 0; ; m++) {
        w = m & 1;
        r = !w;
        if (cnx_noise_action(&hs[w]) == CNX_NOISE_SPLIT) {
            break;
        }
        if (cnx_noise_action(&hs[w]) != CNX_NOISE_WRITE
            || cnx_noise_action(&hs[r]) != CNX_NOISE_READ)
        {
            /* The responder refused to answer a forged first message
             * (a low-order e): acceptable, it must then be dead. */
            if (forged && cnx_noise_action(&hs[w]) == CNX_NOISE_FAILED) {
                expect_dead(&hs[w]);
                goto out;
            }
            abort();
        }
        memset(payload, (int) m, sizeof(payload));
        if (cnx_noise_write_message(&hs[w], genuine, sizeof(genuine), &glen,
                payload, sizeof(payload)) != 0)
        {
            if (forged) {
                expect_dead(&hs[w]);
                goto out;
            }
            abort();
        }
        memcpy(msg, genuine, glen);
        mlen = glen;
        if (m == target) {
            if (ctl & 8) {
                for (i = 0; i < size; i++) {
                    msg[i] ^= data[i];
                }
                if (size > mlen) {
                    mlen = size;
                }
            } else {
                memcpy(msg, data, size);
                mlen = size;
            }
        }
        forged |= mlen != glen || memcmp(msg, genuine, glen) != 0;

        rc = cnx_noise_read_message(&hs[r], pl, sizeof(pl), &plen, msg, mlen);
        if (rc != 0) {
            if (!forged) {
                abort();
            }
            expect_dead(&hs[r]);
            goto out;
        }
        if (forged && !(xx && m == 0)) {
            /* Only XX's first message is unauthenticated. */
            abort();
        }
        if (!forged && (plen != sizeof(payload)
                        || memcmp(pl, payload, plen) != 0))
        {
            abort();
        }
        if (m > 3) {
            abort();
        }
    }
    if (forged) {
        abort();            /* a forged XX message 0 went unnoticed */
    }
    if (cnx_noise_action(&hs[1]) != CNX_NOISE_SPLIT
        || cnx_noise_split(&hs[0], &k[0]) != 0
        || cnx_noise_split(&hs[1], &k[1]) != 0
        || memcmp(k[0].send_key, k[1].recv_key, 32) != 0
        || memcmp(k[0].recv_key, k[1].send_key, 32) != 0
        || memcmp(k[0].handshake_hash, k[1].handshake_hash, 32) != 0
        || memcmp(k[0].remote_static, r_pk, 32) != 0
        || memcmp(k[1].remote_static, i_pk, 32) != 0)
    {
        abort();
    }
    return 0;
out:
    cnx_noise_wipe(&hs[0]);
    cnx_noise_wipe(&hs[1]);
    return 0;
}
