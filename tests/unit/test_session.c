/*
 * Unit tests of cnx_session (v2 transport, records, negotiation) and
 * cnx_identity (key file, pins).
 */

#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cnx_base64.h"
#include "cnx_identity.h"
#include "cnx_session.h"
#include "cnx_session_v1.h"

/* ---- transport -------------------------------------------------------- */

static void
make_keys(cnx_noise_keys_t *a, cnx_noise_keys_t *b)
{
    memset(a, 0, sizeof(*a));
    cnx_random(a->send_key, 32);
    cnx_random(a->recv_key, 32);
    memcpy(b->send_key, a->recv_key, 32);
    memcpy(b->recv_key, a->send_key, 32);
}

START_TEST(test_transport_order_replay_reflection)
{
    cnx_noise_keys_t  ka, kb;
    cnx_transport_t  *a, *b;
    uint8_t           c[5][64], m[64], inj[64];
    size_t            clen[5], mlen;
    int               i;

    make_keys(&ka, &kb);
    a = cnx_transport_new(&ka, 0);
    b = cnx_transport_new(&kb, 0);
    for (i = 0; i < 5; i++) {
        m[0] = (uint8_t) i;
        ck_assert_int_eq(cnx_transport_seal(a, c[i], sizeof(c[i]), &clen[i],
                                            m, 10), 0);
        ck_assert_uint_eq(clen[i], 26);
    }
    /* Reorder: message 1 before 0 fails, and does not disturb 0. */
    ck_assert_int_eq(cnx_transport_open(b, m, sizeof(m), &mlen, c[1], 26), -1);
    ck_assert_int_eq(cnx_transport_open(b, m, sizeof(m), &mlen, c[0], 26), 0);
    ck_assert_int_eq(m[0], 0);
    /* Replay of 0. */
    ck_assert_int_eq(cnx_transport_open(b, m, sizeof(m), &mlen, c[0], 26), -1);
    /* Reflection: a's own message 1 back to a. */
    ck_assert_int_eq(cnx_transport_open(a, m, sizeof(m), &mlen, c[1], 26), -1);
    /* Injection, truncation, bit flips. */
    cnx_random(inj, sizeof(inj));
    ck_assert_int_eq(cnx_transport_open(b, m, sizeof(m), &mlen, inj, 26), -1);
    ck_assert_int_eq(cnx_transport_open(b, m, sizeof(m), &mlen, c[1], 25), -1);
    ck_assert_int_eq(cnx_transport_open(b, m, sizeof(m), &mlen, c[1], 15), -1);
    c[1][25] ^= 1;
    ck_assert_int_eq(cnx_transport_open(b, m, sizeof(m), &mlen, c[1], 26), -1);
    c[1][25] ^= 1;
    c[1][0] ^= 1;
    ck_assert_int_eq(cnx_transport_open(b, m, sizeof(m), &mlen, c[1], 26), -1);
    c[1][0] ^= 1;
    /* After all that, the genuine next messages still open in order. */
    for (i = 1; i < 5; i++) {
        ck_assert_int_eq(cnx_transport_open(b, m, sizeof(m), &mlen, c[i], 26),
                         0);
        ck_assert_int_eq(m[0], i);
        ck_assert_uint_eq(mlen, 10);
    }
    /* Output too small. */
    ck_assert_int_eq(cnx_transport_seal(a, c[0], 25, &clen[0], m, 10), -1);
    cnx_transport_free(a);
    cnx_transport_free(b);
}
END_TEST

/* The transport nonce is 4 zero bytes then the big-endian counter. */
START_TEST(test_transport_nonce_format)
{
    cnx_noise_keys_t  ka, kb;
    cnx_transport_t  *a;
    cnx_aead_t       *ref;
    uint8_t           c[64], r[64], nonce[12] = { 0 }, m[8] = "abcdefg";
    size_t            clen;
    int               i;

    make_keys(&ka, &kb);
    a = cnx_transport_new(&ka, 0);
    ref = cnx_aead_new(ka.send_key);
    for (i = 0; i < 300; i++) {
        ck_assert_int_eq(cnx_transport_seal(a, c, sizeof(c), &clen, m, 8), 0);
        nonce[10] = (uint8_t) (i >> 8);
        nonce[11] = (uint8_t) i;
        ck_assert_int_eq(cnx_aead_seal(ref, r, m, 8, nonce, NULL, 0), 0);
        ck_assert_mem_eq(c, r, 24);
    }
    cnx_aead_free(ref);
    cnx_transport_free(a);
}
END_TEST

START_TEST(test_transport_rekey)
{
    cnx_noise_keys_t  ka, kb;
    cnx_transport_t  *a, *b, *b_norekey;
    uint8_t           c[64], m[64], first[64];
    size_t            clen, mlen;
    int               i;

    make_keys(&ka, &kb);
    a = cnx_transport_new(&ka, 3);
    b = cnx_transport_new(&kb, 3);
    b_norekey = cnx_transport_new(&kb, 1000);
    for (i = 0; i < 20; i++) {
        m[0] = (uint8_t) i;
        ck_assert_int_eq(cnx_transport_seal(a, c, sizeof(c), &clen, m, 5), 0);
        if (i == 0) {
            memcpy(first, c, clen);
        }
        ck_assert_int_eq(cnx_transport_open(b, m, sizeof(m), &mlen, c, clen),
                         0);
        ck_assert_int_eq(m[0], i);
        /* A receiver that does not rekey at the same point fails from
         * message 3 on: the key really changed. */
        ck_assert_int_eq(cnx_transport_open(b_norekey, m, sizeof(m), &mlen,
                                            c, clen), i < 3 ? 0 : -1);
        /* And the other direction too. */
        ck_assert_int_eq(cnx_transport_seal(b, c, sizeof(c), &clen, m, 5), 0);
        ck_assert_int_eq(cnx_transport_open(a, m, sizeof(m), &mlen, c, clen),
                         0);
    }
    cnx_transport_free(a);
    cnx_transport_free(b);
    cnx_transport_free(b_norekey);
    (void) first;
}
END_TEST

START_TEST(test_record_codec)
{
    cnx_record_t  r, d;
    uint8_t       buf[CNX_RECORD_HDR + 300], pad[400];

    memset(&r, 0, sizeof(r));
    r.type = CNX_RECORD_STREAM;
    r.flags = CNX_STREAM_OPEN | CNX_STREAM_FIN;
    r.stream = 0xdeadbeef;
    r.data = (const uint8_t *) "payload";
    r.len = 7;
    ck_assert_int_eq(cnx_record_encode(buf, sizeof(buf), &r), 15);
    ck_assert_int_eq(buf[0], 2);
    ck_assert_int_eq(buf[1], 3);
    ck_assert_int_eq(buf[2], 0xde);
    ck_assert_int_eq(buf[5], 0xef);
    ck_assert_int_eq(buf[6], 0);
    ck_assert_int_eq(buf[7], 7);
    ck_assert_int_eq(cnx_record_decode(&d, buf, 15), 0);
    ck_assert_uint_eq(d.stream, 0xdeadbeef);
    ck_assert_uint_eq(d.len, 7);
    ck_assert_mem_eq(d.data, "payload", 7);
    /* Padding after the body is ignored. */
    memset(pad, 0, sizeof(pad));
    memcpy(pad, buf, 15);
    ck_assert_int_eq(cnx_record_decode(&d, pad, sizeof(pad)), 0);
    ck_assert_uint_eq(d.len, 7);
    /* Truncated, length past the end, unknown type, too big. */
    ck_assert_int_eq(cnx_record_decode(&d, buf, 7), -1);
    ck_assert_int_eq(cnx_record_decode(&d, buf, 14), -1);
    buf[0] = 9;
    ck_assert_int_eq(cnx_record_decode(&d, buf, 15), -1);
    buf[0] = 0;
    ck_assert_int_eq(cnx_record_decode(&d, buf, 15), -1);
    r.len = CNX_RECORD_MAX + 1;
    ck_assert_int_eq(cnx_record_encode(buf, sizeof(buf), &r), -1);
    r.len = 7;
    ck_assert_int_eq(cnx_record_encode(buf, 14, &r), -1);
}
END_TEST

/* ---- negotiation ------------------------------------------------------ */

typedef struct {
    cnx_session_t  *s;
    int             rc;             /* last negative result, 0 if none */
    int             established;
} side_t;

/* Deliver p to side to (a text DATA payload); a reply goes back to from. */
static void
deliver(side_t *to, side_t *from, const char *p, size_t len, int depth)
{
    static uint8_t  plain[CNX_RECORD_MAX + 64];
    char            reply[CNX_SESSION_REPLY_MAX];
    size_t          rlen;
    cnx_record_t    rec;
    int             rc;

    ck_assert_int_lt(depth, 10);
    rc = cnx_session_recv(to->s, (const uint8_t *) p, len, 0, reply,
                          sizeof(reply), &rlen, plain, sizeof(plain), &rec);
    if (rc < 0) {
        to->rc = rc;
        return;
    }
    if (rc & CNX_SESSION_ESTABLISHED) {
        to->established = 1;
    }
    if (rc & CNX_SESSION_REPLY) {
        ck_assert_uint_gt(rlen, 0);
        deliver(from, to, reply, rlen, depth + 1);
    }
}

/* Run the opening as the relay would: JOINED reaches the initiator first,
 * so its KEY_EXCHANGE leaves first; then the responder's. */
static void
negotiate(side_t *i, side_t *r)
{
    char  ki[CNX_V1_KEX_MAX], kr[CNX_V1_KEX_MAX];
    int   ni, nr;

    ni = cnx_session_start(i->s, ki, sizeof(ki));
    nr = cnx_session_start(r->s, kr, sizeof(kr));
    ck_assert_int_gt(ni, 0);
    ck_assert_int_gt(nr, 0);
    deliver(r, i, ki, (size_t) ni, 0);
    deliver(i, r, kr, (size_t) nr, 0);
}

static cnx_session_t *
mk(cnx_noise_role_t role, cnx_session_mode_t mode, const uint8_t *sk,
    const uint8_t *pin)
{
    cnx_session_config_t  c;
    cnx_session_t        *s;

    memset(&c, 0, sizeof(c));
    c.role = role;
    c.mode = mode;
    c.static_sk = sk;
    c.peer_pin = pin;
    s = cnx_session_new(&c);
    ck_assert_ptr_nonnull(s);
    return s;
}

/* Two fresh sides in mode v2 with new static keys (ask, bsk): i the
 * initiator, s the responder; nothing exchanged yet. */
static void
v2_sides(side_t *i, side_t *s, uint8_t ask[32], uint8_t bsk[32])
{
    uint8_t  pk[32];

    ck_assert_int_eq(cnx_x25519_keypair(pk, ask), 0);
    ck_assert_int_eq(cnx_x25519_keypair(pk, bsk), 0);
    memset(i, 0, sizeof(*i));
    memset(s, 0, sizeof(*s));
    i->s = mk(CNX_NOISE_INITIATOR, CNX_SESSION_V2, ask, NULL);
    s->s = mk(CNX_NOISE_RESPONDER, CNX_SESSION_V2, bsk, NULL);
}

/* Send text from a to b and check it arrives (binary or base64). */
static void
check_flow(side_t *a, side_t *b, int binary)
{
    static uint8_t  wire[CNX_SESSION_WIRE_MAX], plain[CNX_RECORD_MAX + 64];
    char            reply[CNX_SESSION_REPLY_MAX];
    size_t          wlen, rlen;
    cnx_record_t    rec;
    const char     *msg = "{\"type\":\"query\",\"payload\":{}}";
    int             rc, v = cnx_session_version(a->s);

    ck_assert_int_eq(cnx_session_seal_text(a->s, binary, wire, sizeof(wire),
                                           &wlen, msg, strlen(msg)), 0);
    rc = cnx_session_recv(b->s, wire, wlen, binary && v == 2, reply,
                          sizeof(reply), &rlen, plain, sizeof(plain), &rec);
    ck_assert_int_eq(rc, CNX_SESSION_RECORD);
    ck_assert_int_eq(rec.type, CNX_RECORD_TEXT);
    ck_assert_uint_eq(rec.len, strlen(msg));
    ck_assert_mem_eq(rec.data, msg, rec.len);
}

START_TEST(test_negotiation_matrix)
{
    uint8_t  ask[32], apk[32], bsk[32], bpk[32], xsk[32], xpk[32];
    side_t   i, r;

    ck_assert_int_eq(cnx_x25519_keypair(apk, ask), 0);
    ck_assert_int_eq(cnx_x25519_keypair(bpk, bsk), 0);
    ck_assert_int_eq(cnx_x25519_keypair(xpk, xsk), 0);

#define RUN(imode, isk, ipin, rmode, rsk, rpin)                              \
    memset(&i, 0, sizeof(i));                                                \
    memset(&r, 0, sizeof(r));                                                \
    i.s = mk(CNX_NOISE_INITIATOR, imode, isk, ipin);                         \
    r.s = mk(CNX_NOISE_RESPONDER, rmode, rsk, rpin);                         \
    negotiate(&i, &r)
#define DONE() cnx_session_free(i.s); cnx_session_free(r.s)

    /* v2 both sides, no pins: XX. */
    RUN(CNX_SESSION_AUTO, ask, NULL, CNX_SESSION_AUTO, bsk, NULL);
    ck_assert_int_eq(i.rc, 0);
    ck_assert_int_eq(r.rc, 0);
    ck_assert(i.established && r.established);
    ck_assert_int_eq(cnx_session_version(i.s), 2);
    ck_assert_int_eq(cnx_session_version(r.s), 2);
    ck_assert_mem_eq(cnx_session_peer_static(i.s), bpk, 32);
    ck_assert_mem_eq(cnx_session_peer_static(r.s), apk, 32);
    check_flow(&i, &r, 0);
    check_flow(&r, &i, 0);
    check_flow(&i, &r, 1);
    check_flow(&r, &i, 1);
    DONE();

    /* Responder pinned by the initiator: IK; both pins right. */
    RUN(CNX_SESSION_AUTO, ask, bpk, CNX_SESSION_V2, bsk, apk);
    ck_assert_int_eq(i.rc, 0);
    ck_assert_int_eq(r.rc, 0);
    ck_assert_int_eq(cnx_session_version(i.s), 2);
    ck_assert_int_eq(cnx_session_version(r.s), 2);
    check_flow(&r, &i, 1);
    DONE();

    /* Stale pin on the initiator: IK fails at the responder, XX follows,
     * and the initiator refuses with both fingerprints. */
    RUN(CNX_SESSION_AUTO, ask, xpk, CNX_SESSION_AUTO, bsk, NULL);
    ck_assert_int_eq(i.rc, CNX_SE_PIN);
    ck_assert_int_eq(cnx_session_established(i.s), 0);
    {
        char  fx[CNX_FINGERPRINT_LEN], fb[CNX_FINGERPRINT_LEN];

        cnx_identity_fingerprint(fx, xpk);
        cnx_identity_fingerprint(fb, bpk);
        ck_assert_ptr_nonnull(strstr(cnx_session_error(i.s), fx));
        ck_assert_ptr_nonnull(strstr(cnx_session_error(i.s), fb));
    }
    DONE();

    /* Responder pins a different initiator key. */
    RUN(CNX_SESSION_AUTO, ask, NULL, CNX_SESSION_AUTO, bsk, xpk);
    ck_assert_int_eq(r.rc, CNX_SE_PIN);
    ck_assert_int_eq(cnx_session_established(r.s), 0);
    DONE();

    /* v2 side against v1-only sides: v1. */
    RUN(CNX_SESSION_AUTO, ask, NULL, CNX_SESSION_V1, bsk, NULL);
    ck_assert_int_eq(i.rc, 0);
    ck_assert_int_eq(cnx_session_version(i.s), 1);
    ck_assert_int_eq(cnx_session_version(r.s), 1);
    check_flow(&i, &r, 0);
    check_flow(&r, &i, 1);          /* v1 ignores binary: text */
    ck_assert_ptr_null(cnx_session_peer_static(i.s));
    DONE();
    RUN(CNX_SESSION_AUTO, NULL, NULL, CNX_SESSION_AUTO, bsk, NULL);
    ck_assert_int_eq(cnx_session_version(i.s), 1);
    ck_assert_int_eq(cnx_session_version(r.s), 1);
    DONE();

    /* ... unless the v1 peer is pinned or v2 is required: refused. */
    RUN(CNX_SESSION_AUTO, ask, bpk, CNX_SESSION_V1, bsk, NULL);
    ck_assert_int_eq(i.rc, CNX_SE_DOWNGRADE);
    ck_assert_ptr_nonnull(strstr(cnx_session_error(i.s), "pinned"));
    ck_assert_int_eq(cnx_session_version(r.s), 1);
    DONE();
    RUN(CNX_SESSION_V1, ask, NULL, CNX_SESSION_AUTO, bsk, apk);
    ck_assert_int_eq(r.rc, CNX_SE_DOWNGRADE);
    DONE();
    RUN(CNX_SESSION_V1, NULL, NULL, CNX_SESSION_V2, bsk, NULL);
    ck_assert_int_eq(r.rc, CNX_SE_DOWNGRADE);
    DONE();

    /* v1 both sides. */
    RUN(CNX_SESSION_V1, NULL, NULL, CNX_SESSION_V1, NULL, NULL);
    ck_assert_int_eq(cnx_session_version(i.s), 1);
    check_flow(&r, &i, 0);
    DONE();
#undef RUN
#undef DONE
}
END_TEST

/* A v2 session speaks v1 to clawnexus's exact KEY_EXCHANGE bytes. */
START_TEST(test_v1_peer_bytes)
{
    uint8_t        sk[32], pk[32], nsk[32], npk[32], key[32];
    uint8_t        plain[256];
    char           kex[CNX_V1_KEX_MAX], mine[CNX_V1_KEX_MAX], reply[512];
    char           wire[256];
    size_t         rlen, mlen;
    cnx_record_t   rec;
    cnx_v1_kex_t   k;
    cnx_session_t *s;
    cnx_v1_session_t *node;
    int            n;

    ck_assert_int_eq(cnx_x25519_keypair(pk, sk), 0);
    ck_assert_int_eq(cnx_x25519_keypair(npk, nsk), 0);
    s = mk(CNX_NOISE_RESPONDER, CNX_SESSION_AUTO, sk, NULL);
    n = cnx_session_start(s, mine, sizeof(mine));
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(cnx_v1_kex_parse(&k, mine, (size_t) n), CNX_V1_KEX);
    ck_assert_int_eq(k.version, 2);
    n = cnx_v1_kex_build(kex, sizeof(kex), npk, 1);
    ck_assert_int_eq(cnx_session_recv(s, (uint8_t *) kex, (size_t) n, 0,
                                      reply, sizeof(reply), &rlen, plain,
                                      sizeof(plain), &rec),
                     CNX_SESSION_ESTABLISHED);
    ck_assert_int_eq(cnx_v1_derive(key, nsk, k.pubkey), 0);
    node = cnx_v1_session_new(key);
    n = cnx_v1_seal(node, wire, sizeof(wire), (const uint8_t *) "hi", 2);
    ck_assert_int_eq(cnx_session_recv(s, (uint8_t *) wire, (size_t) n, 0,
                                      reply, sizeof(reply), &rlen, plain,
                                      sizeof(plain), &rec),
                     CNX_SESSION_RECORD);
    ck_assert_uint_eq(rec.len, 2);
    ck_assert_mem_eq(rec.data, "hi", 2);
    /* Replays are not detectable in v1 (documented); reflection of our own
     * message would open too.  A second KEY_EXCHANGE is refused though. */
    ck_assert_int_eq(cnx_session_recv(s, (uint8_t *) kex, strlen(kex), 0,
                                      reply, sizeof(reply), &rlen, plain,
                                      sizeof(plain), &rec), CNX_SE_REJECTED);
    ck_assert_int_eq(cnx_session_established(s), 1);
    /* Streams need v2. */
    {
        cnx_record_t r = { CNX_RECORD_STREAM, CNX_STREAM_OPEN, 1, NULL, 0 };
        ck_assert_int_eq(cnx_session_seal(s, 0, (uint8_t *) wire,
                                          sizeof(wire), &mlen, &r),
                         CNX_SE_STATE);
    }
    cnx_v1_session_free(node);
    cnx_session_free(s);
}
END_TEST

/* Replay, reorder, reflection, injection at the session level (v2). */
START_TEST(test_v2_attacks_and_streams)
{
    static uint8_t w[4][CNX_SESSION_WIRE_MAX], plain[CNX_RECORD_MAX + 64];
    static uint8_t big[CNX_RECORD_MAX];
    uint8_t        ask[32], bsk[32];
    char           reply[CNX_SESSION_REPLY_MAX];
    size_t         wl[4], rlen;
    cnx_record_t   rec, r;
    side_t         i, s;
    int            k;

    v2_sides(&i, &s, ask, bsk);
    negotiate(&i, &s);
    ck_assert_int_eq(cnx_session_version(i.s), 2);
    ck_assert_int_eq(cnx_session_version(s.s), 2);

    for (k = 0; k < 3; k++) {
        memset(&r, 0, sizeof(r));
        r.type = CNX_RECORD_STREAM;
        r.stream = 7;
        r.flags = k == 0 ? CNX_STREAM_OPEN : k == 2 ? CNX_STREAM_FIN : 0;
        r.data = (const uint8_t *) "abc";
        r.len = 3;
        ck_assert_int_eq(cnx_session_seal(i.s, k % 2, w[k], sizeof(w[k]),
                                          &wl[k], &r), 0);
    }
#define RECV(side, n, bin) cnx_session_recv((side).s, w[n], wl[n], bin,      \
    reply, sizeof(reply), &rlen, plain, sizeof(plain), &rec)
    /* Reorder, reflection: rejected, not fatal. */
    ck_assert_int_eq(RECV(s, 1, 1), CNX_SE_REJECTED);
    ck_assert_int_eq(RECV(i, 0, 0), CNX_SE_REJECTED);
    ck_assert_int_eq(RECV(s, 0, 0), CNX_SESSION_RECORD);
    ck_assert_int_eq(rec.type, CNX_RECORD_STREAM);
    ck_assert_int_eq(rec.flags, CNX_STREAM_OPEN);
    ck_assert_uint_eq(rec.stream, 7);
    /* Replay. */
    ck_assert_int_eq(RECV(s, 0, 0), CNX_SE_REJECTED);
    /* Truncation and a flipped bit. */
    wl[1]--;
    ck_assert_int_eq(RECV(s, 1, 1), CNX_SE_REJECTED);
    wl[1]++;
    w[1][3] ^= 4;
    ck_assert_int_eq(RECV(s, 1, 1), CNX_SE_REJECTED);
    w[1][3] ^= 4;
    /* Injected: a v1-style payload and a fake handshake message. */
    memcpy(w[3], "AAAA", 4);
    wl[3] = 4;
    ck_assert_int_eq(RECV(s, 3, 0), CNX_SE_REJECTED);
    strcpy((char *) w[3], "{\"_type\":\"CNX_V2\",\"p\":\"XX\",\"m\":\"AAAA\"}");
    wl[3] = strlen((char *) w[3]);
    ck_assert_int_eq(RECV(s, 3, 0), CNX_SE_REJECTED);
    ck_assert_int_eq(RECV(s, 1, 1), CNX_SESSION_RECORD);
    ck_assert_int_eq(RECV(s, 2, 0), CNX_SESSION_RECORD);
    ck_assert_int_eq(rec.flags, CNX_STREAM_FIN);

    /* The largest record, both encodings. */
    cnx_random(big, sizeof(big));
    memset(&r, 0, sizeof(r));
    r.type = CNX_RECORD_STREAM;
    r.stream = 9;
    r.data = big;
    r.len = sizeof(big);
    for (k = 0; k < 2; k++) {
        ck_assert_int_eq(cnx_session_seal(s.s, k, w[0], sizeof(w[0]), &wl[0],
                                          &r), 0);
        ck_assert_int_eq(RECV(i, 0, k), CNX_SESSION_RECORD);
        ck_assert_uint_eq(rec.len, sizeof(big));
        ck_assert_mem_eq(rec.data, big, sizeof(big));
    }
    r.len = CNX_RECORD_MAX + 1;
    ck_assert_int_eq(cnx_session_seal(s.s, 1, w[0], sizeof(w[0]), &wl[0], &r),
                     CNX_SE_NOSPACE);

    /* CLOSE ends the session. */
    memset(&r, 0, sizeof(r));
    r.type = CNX_RECORD_CLOSE;
    ck_assert_int_eq(cnx_session_seal(i.s, 1, w[0], sizeof(w[0]), &wl[0], &r),
                     0);
    ck_assert_int_eq(RECV(s, 0, 1), CNX_SE_CLOSED);
    ck_assert_int_eq(cnx_session_established(s.s), 0);
#undef RECV
    cnx_session_free(i.s);
    cnx_session_free(s.s);
}
END_TEST

/* Records encoded by the caller and sealed in place or into another
 * buffer (the endpoint's zero-copy path) open like cnx_session_seal()'s. */
START_TEST(test_seal_encoded)
{
    static uint8_t enc[CNX_RECORD_HDR + CNX_RECORD_MAX + 16];
    static uint8_t out[CNX_SESSION_WIRE_MAX], plain[CNX_RECORD_MAX + 64];
    uint8_t        ask[32], bsk[32];
    char           reply[CNX_SESSION_REPLY_MAX];
    size_t         ol, rlen, n;
    cnx_record_t   rec, r;
    side_t         i, s;
    int            k;

    v2_sides(&i, &s, ask, bsk);

    /* not before the session is v2 */
    memset(&r, 0, sizeof(r));
    r.type = CNX_RECORD_STREAM;
    r.stream = 5;
    r.data = enc + CNX_RECORD_HDR;
    r.len = 3;
    memcpy(enc + CNX_RECORD_HDR, "xyz", 3);
    ck_assert_int_eq(cnx_record_encode(enc, sizeof(enc), &r),
                     CNX_RECORD_HDR + 3);
    ck_assert_int_eq(cnx_session_seal_encoded(i.s, out, sizeof(out), &ol,
                                              enc, CNX_RECORD_HDR + 3),
                     CNX_SE_STATE);
    negotiate(&i, &s);
    ck_assert_int_eq(cnx_session_version(i.s), 2);

    for (k = 0; k < 2; k++) {
        /* the body is already in place: encoding writes only the header */
        n = k == 0 ? 1000 : CNX_RECORD_MAX;
        cnx_random(enc + CNX_RECORD_HDR, n);
        memcpy(plain, enc + CNX_RECORD_HDR, n);
        r.len = n;
        r.flags = (uint8_t) k;
        ck_assert_int_eq(cnx_record_encode(enc, sizeof(enc), &r),
                         (int) (CNX_RECORD_HDR + n));
        ck_assert_mem_eq(enc + CNX_RECORD_HDR, plain, n);
        if (k == 0) {           /* into another buffer */
            ck_assert_int_eq(cnx_session_seal_encoded(i.s, out, sizeof(out),
                             &ol, enc, CNX_RECORD_HDR + n), 0);
        } else {                /* in place */
            ck_assert_int_eq(cnx_session_seal_encoded(i.s, enc, sizeof(enc),
                             &ol, enc, CNX_RECORD_HDR + n), 0);
            memcpy(out, enc, ol);
        }
        ck_assert_uint_eq(ol, CNX_RECORD_HDR + n + 16);
        memcpy(enc, plain, n);  /* keep the sent bytes to compare */
        ck_assert_int_eq(cnx_session_recv(s.s, out, ol, 1, reply,
                                          sizeof(reply), &rlen, plain,
                                          sizeof(plain), &rec),
                         CNX_SESSION_RECORD);
        ck_assert_int_eq(rec.type, CNX_RECORD_STREAM);
        ck_assert_int_eq(rec.flags, k);
        ck_assert_uint_eq(rec.stream, 5);
        ck_assert_uint_eq(rec.len, n);
        ck_assert_mem_eq(rec.data, enc, n);
    }

    /* a length field that does not match, a short buffer */
    r.len = 10;
    ck_assert_int_gt(cnx_record_encode(enc, sizeof(enc), &r), 0);
    ck_assert_int_eq(cnx_session_seal_encoded(i.s, out, sizeof(out), &ol,
                                              enc, CNX_RECORD_HDR + 11),
                     CNX_SE_PROTO);
    ck_assert_int_eq(cnx_session_seal_encoded(i.s, out, CNX_RECORD_HDR + 25,
                                              &ol, enc, CNX_RECORD_HDR + 10),
                     CNX_SE_NOSPACE);
    /* neither moved the counter: the next record still opens */
    ck_assert_int_eq(cnx_session_seal_encoded(i.s, out, sizeof(out), &ol,
                                              enc, CNX_RECORD_HDR + 10), 0);
    ck_assert_int_eq(cnx_session_recv(s.s, out, ol, 1, reply, sizeof(reply),
                                      &rlen, plain, sizeof(plain), &rec),
                     CNX_SESSION_RECORD);
    ck_assert_uint_eq(rec.len, 10);
    cnx_session_free(i.s);
    cnx_session_free(s.s);
}
END_TEST

START_TEST(test_tampered_handshake)
{
    uint8_t       ask[32], apk[32], bsk[32], bpk[32], plain[256];
    char          ki[CNX_V1_KEX_MAX], kr[CNX_V1_KEX_MAX], m1[512], m2[512];
    char          m3[512], *p;
    size_t        l1, l2, l3, rlen;
    cnx_record_t  rec;
    cnx_session_t *i, *r;
    int           ni, nr;

    ck_assert_int_eq(cnx_x25519_keypair(apk, ask), 0);
    ck_assert_int_eq(cnx_x25519_keypair(bpk, bsk), 0);
    i = mk(CNX_NOISE_INITIATOR, CNX_SESSION_AUTO, ask, NULL);
    r = mk(CNX_NOISE_RESPONDER, CNX_SESSION_AUTO, bsk, NULL);
    ni = cnx_session_start(i, ki, sizeof(ki));
    nr = cnx_session_start(r, kr, sizeof(kr));
    ck_assert_int_eq(cnx_session_recv(r, (uint8_t *) ki, (size_t) ni, 0, m1,
                                      sizeof(m1), &l1, plain, sizeof(plain),
                                      &rec), 0);
    ck_assert_int_eq(cnx_session_recv(i, (uint8_t *) kr, (size_t) nr, 0, m1,
                                      sizeof(m1), &l1, plain, sizeof(plain),
                                      &rec), CNX_SESSION_REPLY);
    ck_assert_int_eq(cnx_session_recv(r, (uint8_t *) m1, l1, 0, m2,
                                      sizeof(m2), &l2, plain, sizeof(plain),
                                      &rec), CNX_SESSION_REPLY);
    /* Change one base64 character inside "m" of message 2. */
    p = strstr(m2, "\"m\":\"");
    ck_assert_ptr_nonnull(p);
    p[60] = p[60] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(cnx_session_recv(i, (uint8_t *) m2, l2, 0, m3,
                                      sizeof(m3), &l3, plain, sizeof(plain),
                                      &rec), CNX_SE_AUTH);
    ck_assert_int_eq(cnx_session_established(i), 0);
    /* A failed session refuses everything afterwards. */
    ck_assert_int_eq(cnx_session_recv(i, (uint8_t *) m2, l2, 0, m3,
                                      sizeof(m3), &l3, plain, sizeof(plain),
                                      &rec), CNX_SE_STATE);
    ck_assert_int_eq(cnx_session_seal_text(i, 0, (uint8_t *) m3, sizeof(m3),
                                           &l3, "x", 1), CNX_SE_STATE);
    cnx_session_free(i);
    cnx_session_free(r);
    (void) rlen;
}
END_TEST

/* Swapped prologue keys (a relay that rewrote a KEY_EXCHANGE) fail. */
START_TEST(test_kex_substitution_detected)
{
    uint8_t       ask[32], apk[32], bsk[32], bpk[32], epk[32], esk[32];
    uint8_t       plain[256];
    char          ki[CNX_V1_KEX_MAX], kr[CNX_V1_KEX_MAX], fake[CNX_V1_KEX_MAX];
    char          m[512], m2[512];
    size_t        l, l2;
    cnx_record_t  rec;
    cnx_session_t *i, *r;
    int           ni, nr, nf;

    ck_assert_int_eq(cnx_x25519_keypair(apk, ask), 0);
    ck_assert_int_eq(cnx_x25519_keypair(bpk, bsk), 0);
    ck_assert_int_eq(cnx_x25519_keypair(epk, esk), 0);
    i = mk(CNX_NOISE_INITIATOR, CNX_SESSION_AUTO, ask, NULL);
    r = mk(CNX_NOISE_RESPONDER, CNX_SESSION_AUTO, bsk, NULL);
    ni = cnx_session_start(i, ki, sizeof(ki));
    nr = cnx_session_start(r, kr, sizeof(kr));
    (void) ni;
    nf = cnx_v1_kex_build(fake, sizeof(fake), epk, 2);
    ck_assert_int_eq(cnx_session_recv(r, (uint8_t *) fake, (size_t) nf, 0, m,
                                      sizeof(m), &l, plain, sizeof(plain),
                                      &rec), 0);
    ck_assert_int_eq(cnx_session_recv(i, (uint8_t *) kr, (size_t) nr, 0, m,
                                      sizeof(m), &l, plain, sizeof(plain),
                                      &rec), CNX_SESSION_REPLY);
    ck_assert_int_eq(cnx_session_recv(r, (uint8_t *) m, l, 0, m2,
                                      sizeof(m2), &l2, plain, sizeof(plain),
                                      &rec), CNX_SESSION_REPLY);
    ck_assert_int_eq(cnx_session_recv(i, (uint8_t *) m2, l2, 0, m,
                                      sizeof(m), &l, plain, sizeof(plain),
                                      &rec), CNX_SE_AUTH);
    cnx_session_free(i);
    cnx_session_free(r);
}
END_TEST


/* The Noise message inside a CNX_V2 payload: its first 32 bytes are the
 * sender's ephemeral key in every first and second message. */
static void
hs_e(uint8_t e[32], const char *payload)
{
    uint8_t      msg[512];
    const char  *p = strstr(payload, "\"m\":\""), *q;
    int          n;

    ck_assert_ptr_nonnull(p);
    p += 5;
    q = strchr(p, '"');
    ck_assert_ptr_nonnull(q);
    n = cnx_base64_decode(msg, sizeof(msg), p, (size_t) (q - p));
    ck_assert_int_ge(n, 32);
    memcpy(e, msg, 32);
}

static void
kex_key(uint8_t pk[32], const char *payload, int len)
{
    cnx_v1_kex_t  kex;

    ck_assert_int_ge(cnx_v1_kex_parse(&kex, payload, (size_t) len), 0);
    memcpy(pk, kex.pubkey, 32);
}

/* No key pair serves two protocols: the Noise ephemeral keys differ from
 * the v1 KEY_EXCHANGE keys, in the first handshake (XX, IK) and in the XX
 * that follows a refused IK, and the two ephemerals differ from each
 * other. */
START_TEST(test_kex_key_not_noise_ephemeral)
{
    uint8_t       ask[32], apk[32], bsk[32], bpk[32], xsk[32], xpk[32];
    uint8_t       ke_i[32], ke_r[32], e[32], e1[32], plain[256];
    char          ki[CNX_V1_KEX_MAX], kr[CNX_V1_KEX_MAX], m1[512], m2[512];
    size_t        l1, l2;
    cnx_record_t  rec;
    cnx_session_t *i, *r;
    int           ni, nr, pass;

    ck_assert_int_eq(cnx_x25519_keypair(apk, ask), 0);
    ck_assert_int_eq(cnx_x25519_keypair(bpk, bsk), 0);
    ck_assert_int_eq(cnx_x25519_keypair(xpk, xsk), 0);
    for (pass = 0; pass < 2; pass++) {
        /* pass 1: the initiator has pinned a key the responder lacks */
        i = mk(CNX_NOISE_INITIATOR, CNX_SESSION_AUTO, ask,
               pass == 0 ? NULL : xpk);
        r = mk(CNX_NOISE_RESPONDER, CNX_SESSION_AUTO, bsk, NULL);
        ni = cnx_session_start(i, ki, sizeof(ki));
        nr = cnx_session_start(r, kr, sizeof(kr));
        kex_key(ke_i, ki, ni);
        kex_key(ke_r, kr, nr);
        ck_assert_int_eq(cnx_session_recv(r, (uint8_t *) ki, (size_t) ni, 0,
                                          m1, sizeof(m1), &l1, plain,
                                          sizeof(plain), &rec), 0);
        ck_assert_int_eq(cnx_session_recv(i, (uint8_t *) kr, (size_t) nr, 0,
                                          m1, sizeof(m1), &l1, plain,
                                          sizeof(plain), &rec),
                         CNX_SESSION_REPLY);
        hs_e(e1, m1);
        ck_assert_int_ne(memcmp(e1, ke_i, 32), 0);
        ck_assert_int_ne(memcmp(e1, ke_r, 32), 0);
        ck_assert_int_eq(cnx_session_recv(r, (uint8_t *) m1, l1, 0, m2,
                                          sizeof(m2), &l2, plain,
                                          sizeof(plain), &rec),
                         CNX_SESSION_REPLY);
        if (pass == 0) {
            hs_e(e, m2);                    /* XX message 2 */
            ck_assert_int_ne(memcmp(e, ke_r, 32), 0);
            ck_assert_int_ne(memcmp(e, ke_i, 32), 0);
        } else {
            /* the responder refused the IK; the initiator starts XX */
            ck_assert_ptr_nonnull(strstr(m2, "\"err\""));
            ck_assert_int_eq(cnx_session_recv(i, (uint8_t *) m2, l2, 0, m1,
                                              sizeof(m1), &l1, plain,
                                              sizeof(plain), &rec),
                             CNX_SESSION_REPLY);
            hs_e(e, m1);
            ck_assert_int_ne(memcmp(e, ke_i, 32), 0);
            ck_assert_int_ne(memcmp(e, e1, 32), 0);
        }
        cnx_session_free(i);
        cnx_session_free(r);
    }
}
END_TEST

/* Sessions configured to rekey every 2 messages still talk after many. */
START_TEST(test_session_rekey_interop)
{
    uint8_t               ask[32], apk[32], bsk[32], bpk[32];
    cnx_session_config_t  c;
    side_t                i, r;
    int                   k;

    ck_assert_int_eq(cnx_x25519_keypair(apk, ask), 0);
    ck_assert_int_eq(cnx_x25519_keypair(bpk, bsk), 0);
    memset(&i, 0, sizeof(i));
    memset(&r, 0, sizeof(r));
    memset(&c, 0, sizeof(c));
    c.role = CNX_NOISE_INITIATOR;
    c.static_sk = ask;
    c.static_pk = apk;
    c.rekey_after = 2;
    i.s = cnx_session_new(&c);
    c.role = CNX_NOISE_RESPONDER;
    c.static_sk = bsk;
    c.static_pk = NULL;
    r.s = cnx_session_new(&c);
    negotiate(&i, &r);
    ck_assert_int_eq(cnx_session_version(i.s), 2);
    ck_assert_mem_eq(cnx_session_peer_static(r.s), apk, 32);
    ck_assert_mem_eq(cnx_session_peer_static(i.s), bpk, 32);
    for (k = 0; k < 25; k++) {
        check_flow(&i, &r, k % 2);
        check_flow(&r, &i, k % 3 == 0);
    }
    cnx_session_free(i.s);
    cnx_session_free(r.s);
}
END_TEST

/* "cnx_v" stripped from one KEY_EXCHANGE only: nothing gets through. */
START_TEST(test_one_sided_strip)
{
    static uint8_t  wire[CNX_SESSION_WIRE_MAX], plain[CNX_RECORD_MAX + 64];
    uint8_t         ask[32], apk[32], bsk[32], bpk[32], pk[32];
    char            ki[CNX_V1_KEX_MAX], kr[CNX_V1_KEX_MAX], reply[512];
    size_t          rlen, wlen;
    cnx_record_t    rec;
    cnx_v1_kex_t    k;
    side_t          i, r;
    int             ni, nr;

    ck_assert_int_eq(cnx_x25519_keypair(apk, ask), 0);
    ck_assert_int_eq(cnx_x25519_keypair(bpk, bsk), 0);
    memset(&i, 0, sizeof(i));
    memset(&r, 0, sizeof(r));
    i.s = mk(CNX_NOISE_INITIATOR, CNX_SESSION_AUTO, ask, NULL);
    r.s = mk(CNX_NOISE_RESPONDER, CNX_SESSION_AUTO, bsk, NULL);
    ni = cnx_session_start(i.s, ki, sizeof(ki));
    nr = cnx_session_start(r.s, kr, sizeof(kr));
    /* The responder's offer is rewritten as plain v1. */
    ck_assert_int_eq(cnx_v1_kex_parse(&k, kr, (size_t) nr), CNX_V1_KEX);
    memcpy(pk, k.pubkey, 32);
    nr = cnx_v1_kex_build(kr, sizeof(kr), pk, 1);
    deliver(&r, &i, ki, (size_t) ni, 0);
    deliver(&i, &r, kr, (size_t) nr, 0);
    ck_assert_int_eq(cnx_session_version(i.s), 1);
    ck_assert_int_eq(cnx_session_established(r.s), 0);
    ck_assert_int_eq(cnx_session_seal_text(i.s, 0, wire, sizeof(wire), &wlen,
                                           "x", 1), 0);
    ck_assert_int_eq(cnx_session_recv(r.s, wire, wlen, 0, reply,
                                      sizeof(reply), &rlen, plain,
                                      sizeof(plain), &rec), CNX_SE_REJECTED);
    cnx_session_free(i.s);
    cnx_session_free(r.s);
}
END_TEST

/* Random and mutated input never crashes a session or the parsers, and
 * never makes a session accept anything. */
START_TEST(test_garbage_input)
{
    static uint8_t  buf[600], plain[CNX_RECORD_MAX + 64];
    uint8_t         ask[32], apk[32], bsk[32], bpk[32], pk[32];
    char            reply[CNX_SESSION_REPLY_MAX], kex[CNX_V1_KEX_MAX];
    size_t          rlen, len;
    cnx_record_t    rec;
    cnx_v1_kex_t    k;
    side_t          i, r;
    cnx_session_t  *fresh;
    int             n, rc, round;

    ck_assert_int_eq(cnx_x25519_keypair(apk, ask), 0);
    ck_assert_int_eq(cnx_x25519_keypair(bpk, bsk), 0);
    memset(&i, 0, sizeof(i));
    memset(&r, 0, sizeof(r));
    i.s = mk(CNX_NOISE_INITIATOR, CNX_SESSION_AUTO, ask, NULL);
    r.s = mk(CNX_NOISE_RESPONDER, CNX_SESSION_AUTO, bsk, NULL);
    negotiate(&i, &r);
    ck_assert_int_eq(cnx_session_version(r.s), 2);
    cnx_random(pk, 32);
    n = cnx_v1_kex_build(kex, sizeof(kex), pk, 2);

    for (round = 0; round < 3000; round++) {
        cnx_random(&len, sizeof(len));
        len %= sizeof(buf);
        cnx_random(buf, len);
        if (round % 3 == 0 && (size_t) n <= sizeof(buf)) {
            /* A KEY_EXCHANGE with a few bytes changed. */
            memcpy(buf, kex, (size_t) n);
            len = (size_t) n;
            buf[buf[0] % len] ^= (uint8_t) (1 + round % 255);
            buf[(size_t) round % len] = (uint8_t) round;
        }
        (void) cnx_v1_kex_parse(&k, (char *) buf, len);
        (void) cnx_record_decode(&rec, buf, len);
        rc = cnx_session_recv(r.s, buf, len, round % 2, reply, sizeof(reply),
                              &rlen, plain, sizeof(plain), &rec);
        ck_assert_int_eq(rc, CNX_SE_REJECTED);
        /* A session still negotiating fails cleanly or goes on. */
        fresh = mk(CNX_NOISE_RESPONDER, CNX_SESSION_AUTO, bsk, NULL);
        ck_assert_int_gt(cnx_session_start(fresh, reply, sizeof(reply)), 0);
        rc = cnx_session_recv(fresh, buf, len, 0, reply, sizeof(reply), &rlen,
                              plain, sizeof(plain), &rec);
        ck_assert(rc <= 0 || rc == CNX_SESSION_ESTABLISHED);
        ck_assert(!(rc > 0 && (rc & CNX_SESSION_RECORD)));
        cnx_session_free(fresh);
    }
    /* The real session still works afterwards. */
    check_flow(&i, &r, 1);
    cnx_session_free(i.s);
    cnx_session_free(r.s);
}
END_TEST

/* ---- identity --------------------------------------------------------- */

static char tmpdir[256];

static void
mktmp(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "%s/cnx-id.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
rmtmp(void)
{
    char  cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_identity_key_file)
{
    char         path[400], err[512];
    uint8_t      sk[32], pk[32], sk2[32], pk2[32], chk[32];
    struct stat  st;
    FILE        *f;

    mktmp();
    snprintf(path, sizeof(path), "%s/a/b/static.key", tmpdir);
    ck_assert_int_eq(cnx_identity_load(path, sk, pk, err, sizeof(err)), 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    snprintf(path, sizeof(path), "%s/a/b", tmpdir);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0700);
    snprintf(path, sizeof(path), "%s/a/b/static.key", tmpdir);
    ck_assert_int_eq(cnx_x25519_public(chk, sk), 0);
    ck_assert_mem_eq(chk, pk, 32);
    /* Loaded again: the same key. */
    ck_assert_int_eq(cnx_identity_load(path, sk2, pk2, err, sizeof(err)), 0);
    ck_assert_mem_eq(sk, sk2, 32);
    ck_assert_mem_eq(pk, pk2, 32);
    /* Group- or world-readable: refused, with the file named. */
    ck_assert_int_eq(chmod(path, 0640), 0);
    ck_assert_int_eq(cnx_identity_load(path, sk2, pk2, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_ptr_nonnull(strstr(err, "640"));
    ck_assert_int_eq(chmod(path, 0604), 0);
    ck_assert_int_eq(cnx_identity_load(path, sk2, pk2, err, sizeof(err)), -1);
    /* Not a key. */
    ck_assert_int_eq(chmod(path, 0600), 0);
    f = fopen(path, "w");
    fputs("not a key\n", f);
    fclose(f);
    ck_assert_int_eq(cnx_identity_load(path, sk2, pk2, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "not a key file"));
    /* A directory where the file should be. */
    snprintf(path, sizeof(path), "%s/a", tmpdir);
    ck_assert_int_eq(cnx_identity_load(path, sk2, pk2, err, sizeof(err)), -1);
    rmtmp();
}
END_TEST

/* The Ed25519 registry key: same file rules, a seed that signs. */
START_TEST(test_identity_signing)
{
    char         path[400], err[512];
    uint8_t      sk[64], pk[32], sk2[64], pk2[32], sig[64];
    struct stat  st;

    mktmp();
    snprintf(path, sizeof(path), "%s/edge/registry.key", tmpdir);
    ck_assert_int_eq(cnx_identity_load_signing(path, sk, pk, err,
                                               sizeof(err)), 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(cnx_identity_load_signing(path, sk2, pk2, err,
                                               sizeof(err)), 0);
    ck_assert_mem_eq(sk, sk2, 64);
    ck_assert_mem_eq(pk, pk2, 32);
    crypto_sign_detached(sig, NULL, (const unsigned char *) "x", 1, sk);
    ck_assert_int_eq(crypto_sign_verify_detached(sig,
                         (const unsigned char *) "x", 1, pk), 0);
    ck_assert_int_eq(chmod(path, 0644), 0);
    ck_assert_int_eq(cnx_identity_load_signing(path, sk2, pk2, err,
                                               sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, path));
    rmtmp();
}
END_TEST

static int pins_seen;

static void
pins_count(void *ud, const char *name, const uint8_t pk[32])
{
    (void) ud;
    (void) pk;
    ck_assert(name[0] != '\0');
    pins_seen++;
}

START_TEST(test_pins)
{
    char         path[400], err[512], line[256], fa[CNX_FINGERPRINT_LEN],
                 fb[CNX_FINGERPRINT_LEN];
    uint8_t      a[32], b[32], got[32], sk[32];
    struct stat  st;
    FILE        *f;
    int          lines = 0;

    mktmp();
    ck_assert_int_eq(cnx_x25519_keypair(a, sk), 0);
    ck_assert_int_eq(cnx_x25519_keypair(b, sk), 0);
    snprintf(path, sizeof(path), "%s/edge/known_peers", tmpdir);

    ck_assert_int_eq(cnx_pins_lookup(path, "office.claw", got, err,
                                     sizeof(err)), 0);
    ck_assert_int_eq(cnx_pins_check(path, "office.claw", a, 0, err,
                                    sizeof(err)), CNX_PIN_UNKNOWN);
    ck_assert_int_eq(cnx_pins_check(path, "office.claw", a, 1, err,
                                    sizeof(err)), CNX_PIN_NEW);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(cnx_pins_check(path, "office.claw", a, 1, err,
                                    sizeof(err)), CNX_PIN_MATCH);
    ck_assert_int_eq(cnx_pins_check(path, "home.claw", b, 1, err,
                                    sizeof(err)), CNX_PIN_NEW);
    ck_assert_int_eq(cnx_pins_lookup(path, "home.claw", got, err,
                                     sizeof(err)), 1);
    ck_assert_mem_eq(got, b, 32);

    /* Changed key: refused, the message shows both fingerprints. */
    ck_assert_int_eq(cnx_pins_check(path, "office.claw", b, 1, err,
                                    sizeof(err)), CNX_PIN_MISMATCH);
    cnx_identity_fingerprint(fa, a);
    cnx_identity_fingerprint(fb, b);
    ck_assert_int_eq((int) strlen(fa), CNX_FINGERPRINT_LEN - 1);
    ck_assert_int_eq(strncmp(fa, "SHA256:", 7), 0);
    ck_assert_ptr_nonnull(strstr(err, fa));
    ck_assert_ptr_nonnull(strstr(err, fb));
    ck_assert_ptr_nonnull(strstr(err, "office.claw"));
    /* ... and the pin is unchanged. */
    ck_assert_int_eq(cnx_pins_lookup(path, "office.claw", got, err,
                                     sizeof(err)), 1);
    ck_assert_mem_eq(got, a, 32);

    /* Explicit replacement keeps the other lines and comments. */
    f = fopen(path, "a");
    fputs("# a comment\n", f);
    fclose(f);
    ck_assert_int_eq(cnx_pins_set(path, "office.claw", b, err, sizeof(err)),
                     0);
    ck_assert_int_eq(cnx_pins_check(path, "office.claw", b, 0, err,
                                    sizeof(err)), CNX_PIN_MATCH);
    ck_assert_int_eq(cnx_pins_lookup(path, "home.claw", got, err,
                                     sizeof(err)), 1);
    f = fopen(path, "r");
    while (fgets(line, sizeof(line), f) != NULL) {
        lines++;
    }
    fclose(f);
    ck_assert_int_eq(lines, 3);
    /* A name that is a prefix of another does not match it. */
    ck_assert_int_eq(cnx_pins_lookup(path, "office", got, err, sizeof(err)),
                     0);
    /* Bad names. */
    ck_assert_int_eq(cnx_pins_set(path, "two words", a, err, sizeof(err)), -1);
    ck_assert_int_eq(cnx_pins_set(path, "", a, err, sizeof(err)), -1);
    /* A corrupted pin is an error, not "unknown". */
    f = fopen(path, "a");
    fputs("bad.claw !!!!\n", f);
    fclose(f);
    ck_assert_int_eq(cnx_pins_check(path, "bad.claw", a, 1, err,
                                    sizeof(err)), -1);
    /* Listing skips comments and broken lines; removing keeps the rest. */
    pins_seen = 0;
    ck_assert_int_eq(cnx_pins_list(path, pins_count, NULL, err, sizeof(err)),
                     2);
    ck_assert_int_eq(pins_seen, 2);
    ck_assert_int_eq(cnx_pins_remove(path, "office.claw", err, sizeof(err)),
                     1);
    ck_assert_int_eq(cnx_pins_remove(path, "office.claw", err, sizeof(err)),
                     0);
    ck_assert_int_eq(cnx_pins_lookup(path, "office.claw", got, err,
                                     sizeof(err)), 0);
    ck_assert_int_eq(cnx_pins_lookup(path, "home.claw", got, err,
                                     sizeof(err)), 1);
    ck_assert_int_eq(cnx_pins_list(path, NULL, NULL, err, sizeof(err)), 1);
    rmtmp();
    ck_assert_int_eq(cnx_pins_remove(path, "home.claw", err, sizeof(err)),
                     0);
    ck_assert_int_eq(cnx_pins_list(path, NULL, NULL, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_default_paths)
{
    char  p[512];

    setenv("HOME", "/home/someone", 1);
    ck_assert_int_eq(cnx_identity_default_key(p, sizeof(p)), 0);
    ck_assert_str_eq(p, "/home/someone/.clawnexus/edge/static.key");
    ck_assert_int_eq(cnx_identity_default_pins(p, sizeof(p)), 0);
    ck_assert_str_eq(p, "/home/someone/.clawnexus/edge/known_peers");
    ck_assert_int_eq(cnx_identity_default_key(p, 10), -1);
}
END_TEST

int
main(void)
{
    Suite   *s = suite_create("session");
    TCase   *tc = tcase_create("core");
    SRunner *sr;
    int      failed;

    tcase_add_test(tc, test_transport_order_replay_reflection);
    tcase_add_test(tc, test_transport_nonce_format);
    tcase_add_test(tc, test_transport_rekey);
    tcase_add_test(tc, test_record_codec);
    tcase_add_test(tc, test_negotiation_matrix);
    tcase_add_test(tc, test_v1_peer_bytes);
    tcase_add_test(tc, test_v2_attacks_and_streams);
    tcase_add_test(tc, test_seal_encoded);
    tcase_add_test(tc, test_tampered_handshake);
    tcase_add_test(tc, test_kex_substitution_detected);
    tcase_add_test(tc, test_kex_key_not_noise_ephemeral);
    tcase_add_test(tc, test_session_rekey_interop);
    tcase_add_test(tc, test_one_sided_strip);
    tcase_add_test(tc, test_garbage_input);
    tcase_add_test(tc, test_identity_key_file);
    tcase_add_test(tc, test_pins);
    tcase_add_test(tc, test_identity_signing);
    tcase_add_test(tc, test_default_paths);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
