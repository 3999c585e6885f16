/*
 * Unit tests of cnx_noise: the published test vectors for
 * Noise_XX_25519_AESGCM_SHA256 and Noise_IK_25519_AESGCM_SHA256
 * (tests/unit/vectors/noise-aesgcm-sha256.txt), then failures.
 */

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_internal.h"
#include "cnx_noise.h"
#include "cnx_session.h"

#ifndef VECTOR_DIR
#define VECTOR_DIR "tests/unit/vectors"
#endif

#define MAXMSG 8

typedef struct {
    char     protocol[64];
    uint8_t  prologue[64];
    size_t   prologue_len;
    uint8_t  init_static[32], init_eph[32], init_rs[32];
    uint8_t  resp_static[32], resp_eph[32];
    uint8_t  hash[32];
    int      has_hash, has_rs;
    uint8_t  payload[MAXMSG][128], ct[MAXMSG][256];
    size_t   payload_len[MAXMSG], ct_len[MAXMSG];
    int      nmsg;
} vector_t;

static vector_t  vectors[8];
static int       nvectors;

static size_t
unhex(uint8_t *out, size_t cap, const char *hex)
{
    size_t        n, i;
    unsigned int  v;

    if (strcmp(hex, "-") == 0) {
        return 0;
    }
    n = strlen(hex) / 2;
    ck_assert_uint_le(n, cap);
    for (i = 0; i < n; i++) {
        ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t) v;
    }
    return n;
}

static void
load_vectors(void)
{
    char      line[1024], key[64], a[512], b[512];
    FILE     *f;
    vector_t *v = NULL;
    int       n;

    f = fopen(VECTOR_DIR "/noise-aesgcm-sha256.txt", "r");
    ck_assert_msg(f != NULL, "cannot open the Noise vectors");
    while (fgets(line, sizeof(line), f) != NULL) {
        if (line[0] == '#' || line[0] == '\n') {
            continue;
        }
        n = sscanf(line, "%63s %511s %511s", key, a, b);
        ck_assert_int_ge(n, 2);
        if (strcmp(key, "source") == 0) {
            ck_assert_int_lt(nvectors, 8);
            v = &vectors[nvectors++];
            memset(v, 0, sizeof(*v));
            continue;
        }
        ck_assert_ptr_nonnull(v);
        if (strcmp(key, "protocol_name") == 0) {
            snprintf(v->protocol, sizeof(v->protocol), "%.63s", a);
        } else if (strcmp(key, "init_prologue") == 0) {
            v->prologue_len = unhex(v->prologue, sizeof(v->prologue), a);
        } else if (strcmp(key, "init_static") == 0) {
            unhex(v->init_static, 32, a);
        } else if (strcmp(key, "init_ephemeral") == 0) {
            unhex(v->init_eph, 32, a);
        } else if (strcmp(key, "init_remote_static") == 0) {
            unhex(v->init_rs, 32, a);
            v->has_rs = 1;
        } else if (strcmp(key, "resp_static") == 0) {
            unhex(v->resp_static, 32, a);
        } else if (strcmp(key, "resp_ephemeral") == 0) {
            unhex(v->resp_eph, 32, a);
        } else if (strcmp(key, "handshake_hash") == 0) {
            unhex(v->hash, 32, a);
            v->has_hash = 1;
        } else if (strcmp(key, "msg") == 0) {
            ck_assert_int_eq(n, 3);
            ck_assert_int_lt(v->nmsg, MAXMSG);
            v->payload_len[v->nmsg] = unhex(v->payload[v->nmsg], 128, a);
            v->ct_len[v->nmsg] = unhex(v->ct[v->nmsg], 256, b);
            v->nmsg++;
        }
    }
    fclose(f);
}

static void
nonce_of(uint8_t nonce[12], uint64_t n)
{
    int  i;

    memset(nonce, 0, 4);
    for (i = 0; i < 8; i++) {
        nonce[4 + i] = (uint8_t) (n >> (56 - 8 * i));
    }
}

static void
run_vector(const vector_t *v)
{
    cnx_noise_t          ini, res;
    cnx_noise_keys_t     ki, kr;
    cnx_noise_pattern_t  p;
    cnx_noise_t         *w, *r;
    cnx_aead_t          *i2r, *r2i, *a;
    cnx_transport_t     *ti, *tr;
    uint8_t              out[512], pl[512], nonce[12], ipk[32], rpk[32];
    uint64_t             ni = 0, nr = 0;
    size_t               len, plen;
    int                  m, hs_msgs;

    p = strstr(v->protocol, "_XX_") ? CNX_NOISE_XX : CNX_NOISE_IK;
    hs_msgs = p == CNX_NOISE_XX ? 3 : 2;
    /* The initiator is given its public key, the responder computes it. */
    ck_assert_int_eq(cnx_x25519_public(ipk, v->init_static), 0);
    ck_assert_int_eq(cnx_noise_init_keypair(&ini, p, CNX_NOISE_INITIATOR,
        v->prologue, v->prologue_len, v->init_static, ipk,
        v->has_rs ? v->init_rs : NULL), 0);
    ck_assert_int_eq(cnx_noise_init(&res, p, CNX_NOISE_RESPONDER, v->prologue,
        v->prologue_len, v->resp_static, NULL), 0);
    ck_assert_int_eq(cnx_noise_set_ephemeral(&ini, v->init_eph), 0);
    ck_assert_int_eq(cnx_noise_set_ephemeral(&res, v->resp_eph), 0);

    for (m = 0; m < hs_msgs; m++) {
        w = m % 2 == 0 ? &ini : &res;
        r = m % 2 == 0 ? &res : &ini;
        ck_assert_int_eq(cnx_noise_action(w), CNX_NOISE_WRITE);
        ck_assert_int_eq(cnx_noise_action(r), CNX_NOISE_READ);
        ck_assert_int_eq(cnx_noise_write_message(w, out, sizeof(out), &len,
            v->payload[m], v->payload_len[m]), 0);
        ck_assert_uint_eq(len, v->ct_len[m]);
        ck_assert_mem_eq(out, v->ct[m], len);
        ck_assert_int_eq(cnx_noise_read_message(r, pl, sizeof(pl), &plen,
            out, len), 0);
        ck_assert_uint_eq(plen, v->payload_len[m]);
        if (plen) {
            ck_assert_mem_eq(pl, v->payload[m], plen);
        }
    }
    ck_assert_int_eq(cnx_noise_action(&ini), CNX_NOISE_SPLIT);
    ck_assert_int_eq(cnx_noise_action(&res), CNX_NOISE_SPLIT);
    ck_assert_ptr_nonnull(cnx_noise_remote_static(&res));
    ck_assert_int_eq(cnx_x25519_public(rpk, v->resp_static), 0);
    ck_assert_mem_eq(cnx_noise_remote_static(&res), ipk, 32);
    ck_assert_int_eq(cnx_noise_split(&ini, &ki), 0);
    ck_assert_int_eq(cnx_noise_split(&res, &kr), 0);
    ck_assert_mem_eq(ki.remote_static, rpk, 32);
    ck_assert_mem_eq(ki.handshake_hash, kr.handshake_hash, 32);
    if (v->has_hash) {
        ck_assert_mem_eq(ki.handshake_hash, v->hash, 32);
    }
    ck_assert_mem_eq(ki.send_key, kr.recv_key, 32);
    ck_assert_mem_eq(ki.recv_key, kr.send_key, 32);

    /* Transport messages alternate too, with counter nonces. */
    i2r = cnx_aead_new(ki.send_key);
    r2i = cnx_aead_new(kr.send_key);
    for (m = hs_msgs; m < v->nmsg; m++) {
        a = m % 2 == 0 ? i2r : r2i;
        nonce_of(nonce, m % 2 == 0 ? ni++ : nr++);
        ck_assert_int_eq(cnx_aead_seal(a, out, v->payload[m],
            v->payload_len[m], nonce, NULL, 0), 0);
        ck_assert_uint_eq(v->payload_len[m] + 16, v->ct_len[m]);
        ck_assert_mem_eq(out, v->ct[m], v->ct_len[m]);
    }
    cnx_aead_free(i2r);
    cnx_aead_free(r2i);

    /* The same messages through the v2 transport, and opened by the other
     * side's transport. */
    ti = cnx_transport_new(&ki, 0);
    tr = cnx_transport_new(&kr, 0);
    ck_assert_ptr_nonnull(ti);
    ck_assert_ptr_nonnull(tr);
    for (m = hs_msgs; m < v->nmsg; m++) {
        ck_assert_int_eq(cnx_transport_seal(m % 2 == 0 ? ti : tr, out,
            sizeof(out), &len, v->payload[m], v->payload_len[m]), 0);
        ck_assert_uint_eq(len, v->ct_len[m]);
        ck_assert_mem_eq(out, v->ct[m], len);
        ck_assert_int_eq(cnx_transport_open(m % 2 == 0 ? tr : ti, pl,
            sizeof(pl), &plen, out, len), 0);
        ck_assert_uint_eq(plen, v->payload_len[m]);
    }
    cnx_transport_free(ti);
    cnx_transport_free(tr);
}

START_TEST(test_vectors)
{
    int  i, xx = 0, ik = 0;

    load_vectors();
    ck_assert_int_ge(nvectors, 2);
    for (i = 0; i < nvectors; i++) {
        if (strcmp(vectors[i].protocol, "Noise_XX_25519_AESGCM_SHA256") == 0) {
            xx++;
        } else {
            ck_assert_str_eq(vectors[i].protocol,
                             "Noise_IK_25519_AESGCM_SHA256");
            ik++;
        }
        run_vector(&vectors[i]);
    }
    ck_assert_int_ge(xx, 1);
    ck_assert_int_ge(ik, 1);
}
END_TEST

/* A full handshake with random keys; returns 0 or the failing step. */
static int
handshake(cnx_noise_pattern_t p, const uint8_t isk[32], const uint8_t rsk[32],
    const uint8_t *rs_pin, const char *pro_i, const char *pro_r, int flip_msg,
    cnx_noise_keys_t *ki, cnx_noise_keys_t *kr)
{
    cnx_noise_t  ini, res, *w, *r;
    uint8_t      out[512], pl[512];
    size_t       len, plen;
    int          m, nmsg = p == CNX_NOISE_XX ? 3 : 2;

    if (cnx_noise_init(&ini, p, CNX_NOISE_INITIATOR, (const uint8_t *) pro_i,
                       strlen(pro_i), isk, rs_pin) != 0
        || cnx_noise_init(&res, p, CNX_NOISE_RESPONDER,
                          (const uint8_t *) pro_r, strlen(pro_r), rsk,
                          NULL) != 0)
    {
        return 100;
    }
    for (m = 0; m < nmsg; m++) {
        w = m % 2 == 0 ? &ini : &res;
        r = m % 2 == 0 ? &res : &ini;
        if (cnx_noise_write_message(w, out, sizeof(out), &len,
                                    (const uint8_t *) "hi", 2) != 0)
        {
            cnx_noise_wipe(&ini);
            cnx_noise_wipe(&res);
            return 10 + m;
        }
        if (m == flip_msg) {
            out[len - 1] ^= 1;
        }
        if (cnx_noise_read_message(r, pl, sizeof(pl), &plen, out, len) != 0) {
            ck_assert_int_eq(cnx_noise_action(r), CNX_NOISE_FAILED);
            cnx_noise_wipe(&ini);
            cnx_noise_wipe(&res);
            return 20 + m;
        }
    }
    if (cnx_noise_split(&ini, ki) != 0 || cnx_noise_split(&res, kr) != 0) {
        return 30;
    }
    return 0;
}

START_TEST(test_roundtrip_and_failures)
{
    uint8_t           isk[32], ipk[32], rsk[32], rpk[32], osk[32], opk[32];
    cnx_noise_keys_t  ki, kr;

    ck_assert_int_eq(cnx_x25519_keypair(ipk, isk), 0);
    ck_assert_int_eq(cnx_x25519_keypair(rpk, rsk), 0);
    ck_assert_int_eq(cnx_x25519_keypair(opk, osk), 0);

    ck_assert_int_eq(handshake(CNX_NOISE_XX, isk, rsk, NULL, "p", "p", -1,
                               &ki, &kr), 0);
    ck_assert_mem_eq(ki.remote_static, rpk, 32);
    ck_assert_mem_eq(kr.remote_static, ipk, 32);
    ck_assert_mem_eq(ki.send_key, kr.recv_key, 32);
    ck_assert_int_ne(memcmp(ki.send_key, ki.recv_key, 32), 0);

    ck_assert_int_eq(handshake(CNX_NOISE_IK, isk, rsk, rpk, "p", "p", -1,
                               &ki, &kr), 0);
    ck_assert_mem_eq(kr.remote_static, ipk, 32);

    /* Different prologues: the first encrypted payload fails. */
    ck_assert_int_eq(handshake(CNX_NOISE_XX, isk, rsk, NULL, "a", "b", -1,
                               &ki, &kr), 21);
    ck_assert_int_eq(handshake(CNX_NOISE_IK, isk, rsk, rpk, "a", "b", -1,
                               &ki, &kr), 20);
    /* IK towards the wrong responder key (stale pin). */
    ck_assert_int_eq(handshake(CNX_NOISE_IK, isk, rsk, opk, "p", "p", -1,
                               &ki, &kr), 20);
    /* A flipped bit in any message. */
    ck_assert_int_eq(handshake(CNX_NOISE_XX, isk, rsk, NULL, "p", "p", 1,
                               &ki, &kr), 21);
    ck_assert_int_eq(handshake(CNX_NOISE_XX, isk, rsk, NULL, "p", "p", 2,
                               &ki, &kr), 22);
    ck_assert_int_eq(handshake(CNX_NOISE_IK, isk, rsk, rpk, "p", "p", 0,
                               &ki, &kr), 20);
    ck_assert_int_eq(handshake(CNX_NOISE_IK, isk, rsk, rpk, "p", "p", 1,
                               &ki, &kr), 21);
}
END_TEST

/*
 * The hash contexts a handshake gives back are kept by its thread for the
 * next one: they come back reset (no digest, so no state of the keys they
 * hashed), and the spares of a thread are freed when it ends (the
 * sanitizer build's leak check fails otherwise).
 */
static void *
handshakes_in_thread(void *arg)
{
    uint8_t           isk[32], ipk[32], rsk[32], rpk[32];
    cnx_noise_keys_t  ki, kr;
    int               i, *failed = arg;

    if (cnx_x25519_keypair(ipk, isk) != 0
        || cnx_x25519_keypair(rpk, rsk) != 0)
    {
        *failed = 1;
        return NULL;
    }
    for (i = 0; i < 10; i++) {
        if (handshake(CNX_NOISE_XX, isk, rsk, NULL, "p", "p", -1, &ki, &kr)
            != 0 || memcmp(ki.send_key, kr.recv_key, 32) != 0)
        {
            *failed = 1;
        }
    }
    return NULL;
}

START_TEST(test_hash_contexts_per_thread)
{
    static const uint8_t  ck[32] = { 1 }, ikm[32] = { 2 };
    EVP_MD_CTX           *ctx[3], *again[3];
    uint8_t               k1[32], k2[32];
    pthread_t             t[4];
    int                   failed[4] = { 0 }, i, j, same;

    ck_assert_int_eq(cnx_hash_ctx_new(ctx), 0);
    ck_assert_int_eq(cnx_hkdf_noise_ctx(ctx, k1, k2, NULL, ck, ikm, 32), 0);
    for (i = 0; i < 3; i++) {
        ck_assert_ptr_nonnull(EVP_MD_CTX_get0_md(ctx[i]));
    }
    memcpy(again, ctx, sizeof(again));
    cnx_hash_ctx_free(ctx);
    ck_assert_int_eq(cnx_hash_ctx_new(ctx), 0);
    for (i = 0, same = 0; i < 3; i++) {
        ck_assert_ptr_null(EVP_MD_CTX_get0_md(ctx[i]));
        for (j = 0; j < 3; j++) {
            same += ctx[i] == again[j];
        }
    }
    ck_assert_int_eq(same, 3);
    cnx_hash_ctx_free(ctx);

    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_create(&t[i], NULL, handshakes_in_thread,
                                        &failed[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        ck_assert_int_eq(failed[i], 0);
    }
}
END_TEST

START_TEST(test_misuse)
{
    cnx_noise_t  hs;
    uint8_t      sk[32] = { 7 }, out[512], pl[64];
    size_t       len, plen;

    /* IK initiator without the responder's key. */
    ck_assert_int_eq(cnx_noise_init(&hs, CNX_NOISE_IK, CNX_NOISE_INITIATOR,
                                    NULL, 0, sk, NULL), -1);
    ck_assert_int_eq(cnx_noise_init(&hs, 9, CNX_NOISE_INITIATOR, NULL, 0, sk,
                                    NULL), -1);
    /* Responder must read first; truncated first message. */
    ck_assert_int_eq(cnx_noise_init(&hs, CNX_NOISE_XX, CNX_NOISE_RESPONDER,
                                    NULL, 0, sk, NULL), 0);
    ck_assert_int_eq(cnx_noise_write_message(&hs, out, sizeof(out), &len,
                                             NULL, 0), -1);
    ck_assert_int_eq(cnx_noise_read_message(&hs, pl, sizeof(pl), &plen, out,
                                            31), -1);
    ck_assert_int_eq(cnx_noise_action(&hs), CNX_NOISE_FAILED);
    /* Output buffer too small. */
    ck_assert_int_eq(cnx_noise_init(&hs, CNX_NOISE_XX, CNX_NOISE_INITIATOR,
                                    NULL, 0, sk, NULL), 0);
    ck_assert_int_eq(cnx_noise_write_message(&hs, out, 31, &len, NULL, 0),
                     -1);
    /* Split before the end. */
    ck_assert_int_eq(cnx_noise_init(&hs, CNX_NOISE_XX, CNX_NOISE_INITIATOR,
                                    NULL, 0, sk, NULL), 0);
    {
        cnx_noise_keys_t k;
        ck_assert_int_eq(cnx_noise_split(&hs, &k), -1);
    }
    /* Payload too large for the receiver's buffer. */
    ck_assert_int_eq(cnx_noise_init(&hs, CNX_NOISE_XX, CNX_NOISE_INITIATOR,
                                    NULL, 0, sk, NULL), 0);
    ck_assert_int_eq(cnx_noise_write_message(&hs, out, sizeof(out), &len,
                                             out + 300, 100), 0);
    ck_assert_uint_eq(len, 132);
    {
        cnx_noise_t r;
        ck_assert_int_eq(cnx_noise_init(&r, CNX_NOISE_XX, CNX_NOISE_RESPONDER,
                                        NULL, 0, sk, NULL), 0);
        ck_assert_int_eq(cnx_noise_read_message(&r, pl, sizeof(pl), &plen,
                                                out, len), -1);
    }
    cnx_noise_wipe(&hs);
}
END_TEST

int
main(void)
{
    Suite   *s = suite_create("noise");
    TCase   *tc = tcase_create("core");
    SRunner *sr;
    int      failed;

    tcase_add_test(tc, test_vectors);
    tcase_add_test(tc, test_roundtrip_and_failures);
    tcase_add_test(tc, test_hash_contexts_per_thread);
    tcase_add_test(tc, test_misuse);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
