/*
 * cnx-session-bench: CPU cost of the session layer of libclawnexus.
 *
 *   - Noise_XX and Noise_IK handshakes (cnx_noise), both sides run in this
 *     process; reported as complete handshakes per CPU-second and per side
 *     (what one endpoint spends per handshake it takes part in);
 *   - whole v2 session setups (cnx_session: both KEY_EXCHANGE messages,
 *     then Noise XX carried in text DATA payloads, as two endpoints run
 *     it), reported the same way;
 *   - bulk AEAD: the session's AES-256-GCM (cnx_aead, the wrapper of
 *     OpenSSL EVP the v2 transport seals every record with) against OpenSSL
 *     EVP AES-256-GCM called directly, at 1 KiB and 16 KiB records,
 *     measured alternately in several rounds;
 *   - the X25519 primitives a handshake is made of, called on libsodium
 *     directly: one variable-base scalar multiplication
 *     (crypto_scalarmult) and one key generation (randombytes_buf and
 *     crypto_scalarmult_base), in microseconds of CPU, and the bound they
 *     put on handshakes per side: Noise XX costs each side 3 DH and 1 key
 *     generation, whatever else the code does.  The same through the
 *     library's wrappers, and OpenSSL's EVP_PKEY_derive for comparison.
 *     All handshake figures and the bound come from the same run;
 *     xx_bound_ratio is the measured handshakes per side over the bound,
 *     xx_side_overhead_us what a side spends per handshake beyond them;
 *   - the KDF of a Noise handshake step (two 32-byte outputs from a
 *     chaining key and a DH result) and one HMAC-SHA256 of 33 bytes under a
 *     32-byte key, as composed in cnx_hash.c and as one call of a library:
 *     OpenSSL's EVP_KDF "HKDF" and EVP_MAC "HMAC" (the algorithm fetched
 *     once, a context per call) and libsodium's crypto_auth_hmacsha256; the
 *     figures behind the choice docs/codecs.md explains.
 *
 * CPU time is CLOCK_PROCESS_CPUTIME_ID (single thread), so the figures hold
 * on a busy machine.  Prints one line of key=value pairs.
 */

#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <sodium.h>

#include "cnx_crypto.h"
#include "cnx_noise.h"
#include "cnx_session.h"

static double
cpu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}

/* The two static key pairs of a benchmark, and the pattern. */
typedef struct {
    cnx_noise_pattern_t pat;
    uint8_t is_sk[32], is_pk[32], rs_sk[32], rs_pk[32];
} keys_t;

/* Calls of fn(k) per CPU-second over at least secs, with fresh static
 * keys; exits naming `what` when a call fails. */
static double
per_cpu_second(cnx_noise_pattern_t pat, int (*fn)(const keys_t *),
    const char *what, double secs)
{
    keys_t k;
    double t0, t;
    long n = 0;

    k.pat = pat;
    cnx_x25519_keypair(k.is_pk, k.is_sk);
    cnx_x25519_keypair(k.rs_pk, k.rs_sk);
    t0 = cpu_now();
    do {
        for (int i = 0; i < 20; i++) {
            if (fn(&k) < 0) {
                fprintf(stderr, "cnx-session-bench: %s failed\n", what);
                exit(1);
            }
            n++;
        }
        t = cpu_now() - t0;
    } while (t < secs);
    cnx_memzero(&k, sizeof(k));
    return n / t;
}

/* One complete handshake between two fresh states.  Returns 0 on success. */
static int
handshake(const keys_t *k)
{
    cnx_noise_t a, b;
    cnx_noise_keys_t ka, kb;
    uint8_t msg[256], pl[64];
    size_t n, pn;
    cnx_noise_t *w, *r;

    /* Static public keys are given, as cnx_session does with the ones its
     * identity loaded: an endpoint does not recompute them per session. */
    if (cnx_noise_init_keypair(&a, k->pat, CNX_NOISE_INITIATOR,
                               (const uint8_t *) "b", 1, k->is_sk, k->is_pk,
                               k->pat == CNX_NOISE_IK ? k->rs_pk : NULL) < 0
        || cnx_noise_init_keypair(&b, k->pat, CNX_NOISE_RESPONDER,
                                  (const uint8_t *) "b", 1, k->rs_sk,
                                  k->rs_pk, NULL) < 0)
    {
        return -1;
    }
    w = &a;
    r = &b;
    while (cnx_noise_action(w) == CNX_NOISE_WRITE) {
        if (cnx_noise_write_message(w, msg, sizeof(msg), &n, NULL, 0) < 0
            || cnx_noise_read_message(r, pl, sizeof(pl), &pn, msg, n) < 0)
        {
            return -1;
        }
        cnx_noise_t *t = w;
        w = r;
        r = t;
    }
    if (cnx_noise_split(&a, &ka) < 0 || cnx_noise_split(&b, &kb) < 0) {
        return -1;
    }
    if (memcmp(ka.send_key, kb.recv_key, 32) != 0) {
        return -1;
    }
    cnx_memzero(&ka, sizeof(ka));
    cnx_memzero(&kb, sizeof(kb));
    return 0;
}

/* Feed payload p to session `to`; replies go back and forth until quiet.
 * Returns the number of sides that became established, -1 on error. */
static int
session_deliver(cnx_session_t *to, cnx_session_t *from, const char *p,
    size_t len, int depth)
{
    static uint8_t plain[CNX_RECORD_MAX + 64];
    char reply[CNX_SESSION_REPLY_MAX];
    size_t rlen;
    cnx_record_t rec;
    int rc, n, more = 0;

    if (depth > 8) {
        return -1;
    }
    rc = cnx_session_recv(to, (const uint8_t *) p, len, 0, reply,
                          sizeof(reply), &rlen, plain, sizeof(plain), &rec);
    if (rc < 0) {
        return -1;
    }
    n = (rc & CNX_SESSION_ESTABLISHED) != 0;
    if (rc & CNX_SESSION_REPLY) {
        more = session_deliver(from, to, reply, rlen, depth + 1);
        if (more < 0) {
            return -1;
        }
    }
    return n + more;
}

/* One complete v2 session setup between two endpoints, the way
 * cnx_session_t runs it (both KEY_EXCHANGE messages, then Noise XX). */
static int
session_setup(const keys_t *k)
{
    char ki[1024], kr[1024];
    cnx_session_config_t ci, cr;
    cnx_session_t *i, *r;
    int ni, nr, est = -1;

    memset(&ci, 0, sizeof(ci));
    ci.role = CNX_NOISE_INITIATOR;
    ci.mode = CNX_SESSION_V2;
    ci.static_sk = k->is_sk;
    ci.static_pk = k->is_pk;
    cr = ci;
    cr.role = CNX_NOISE_RESPONDER;
    cr.static_sk = k->rs_sk;
    cr.static_pk = k->rs_pk;
    i = cnx_session_new(&ci);
    r = cnx_session_new(&cr);
    if (i != NULL && r != NULL) {
        ni = cnx_session_start(i, ki, sizeof(ki));
        nr = cnx_session_start(r, kr, sizeof(kr));
        est = ni > 0 && nr > 0 ? session_deliver(r, i, ki, (size_t) ni, 0)
                               : -1;
        est = est >= 0 ? est + session_deliver(i, r, kr, (size_t) nr, 0)
                       : -1;
        if (cnx_session_version(i) != 2 || cnx_session_version(r) != 2) {
            est = -1;
        }
    }
    cnx_session_free(i);
    cnx_session_free(r);
    return est == 2 ? 0 : -1;
}

/* Microseconds of CPU per X25519 operation: which = 0 variable-base DH
 * (cnx_x25519_dh), 1 key generation (cnx_x25519_keypair), 2 OpenSSL's
 * EVP_PKEY_derive with the contexts made once, 3 libsodium's
 * crypto_scalarmult, 4 a key generation on libsodium directly. */
static double
bench_x25519(int which, double secs)
{
    uint8_t sk[32], pk[32], out[32];
    EVP_PKEY *a = NULL, *b = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    double t0, t;
    long n = 0;
    size_t olen;

    cnx_x25519_keypair(pk, sk);
    if (which == 2) {
        a = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
        b = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
        ctx = a && b ? EVP_PKEY_CTX_new(a, NULL) : NULL;
        if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1
            || EVP_PKEY_derive_set_peer(ctx, b) != 1)
        {
            return 0;
        }
    }
    t0 = cpu_now();
    do {
        for (int i = 0; i < 50; i++) {
            olen = sizeof(out);
            if ((which == 0 && cnx_x25519_dh(out, sk, pk) < 0)
                || (which == 1 && cnx_x25519_keypair(out, sk) < 0)
                || (which == 2 && EVP_PKEY_derive(ctx, out, &olen) != 1)
                || (which == 3 && crypto_scalarmult(out, sk, pk) != 0)
                || (which == 4
                    && (randombytes_buf(sk, 32),
                        crypto_scalarmult_base(out, sk) != 0)))
            {
                fprintf(stderr, "cnx-session-bench: X25519 failed\n");
                exit(1);
            }
            n++;
        }
        t = cpu_now() - t0;
    } while (t < secs);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);
    cnx_memzero(sk, 32);
    cnx_memzero(out, 32);
    return t / n * 1e6;
}

/* Microseconds of CPU per call: which = 0 cnx_hkdf_noise, 1 the same
 * through EVP_KDF, 2 cnx_hmac_sha256, 3 EVP_MAC, 4 libsodium's HMAC. */
static double
bench_kdf(int which, double secs)
{
    static const uint8_t  ck[32] = { 1 }, ikm[33] = { 2 };
    EVP_KDF              *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_MAC              *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    uint8_t               out[64];
    double                t0, t;
    long                  n = 0;
    size_t                olen;
    int                   ok = 1;

    t0 = cpu_now();
    do {
        for (int i = 0; i < 50 && ok; i++, n++) {
            if (which == 0) {
                ok = cnx_hkdf_noise(out, out + 32, NULL, ck, ikm, 32) == 0;
            } else if (which == 1) {
                EVP_KDF_CTX  *c = EVP_KDF_CTX_new(kdf);
                OSSL_PARAM    p[] = {
                    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                                     "SHA256", 0),
                    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                      (void *) ck, 32),
                    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                      (void *) ikm, 32),
                    OSSL_PARAM_construct_end()
                };

                ok = c != NULL && EVP_KDF_derive(c, out, 64, p) == 1;
                EVP_KDF_CTX_free(c);
            } else if (which == 2) {
                ok = cnx_hmac_sha256(out, ck, 32, ikm, 33) == 0;
            } else if (which == 3) {
                EVP_MAC_CTX  *c = EVP_MAC_CTX_new(mac);
                OSSL_PARAM    p[] = {
                    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                     "SHA256", 0),
                    OSSL_PARAM_construct_end()
                };

                ok = c != NULL && EVP_MAC_init(c, ck, 32, p) == 1
                     && EVP_MAC_update(c, ikm, 33) == 1
                     && EVP_MAC_final(c, out, &olen, 32) == 1;
                EVP_MAC_CTX_free(c);
            } else {
                ok = crypto_auth_hmacsha256(out, ikm, 33, ck) == 0;
            }
        }
        t = cpu_now() - t0;
    } while (ok && t < secs);
    EVP_KDF_free(kdf);
    EVP_MAC_free(mac);
    if (!ok) {
        fprintf(stderr, "cnx-session-bench: KDF %d failed\n", which);
        exit(1);
    }
    return t / n * 1e6;
}

/* Bytes sealed per CPU-second by the session's AEAD. */
static double
bench_session_aead(size_t rec, double secs)
{
    uint8_t key[32], nonce[12] = { 0 }, *buf;
    cnx_aead_t *a;
    double t0, t;
    long n = 0;

    cnx_random(key, 32);
    a = cnx_aead_new(key);
    buf = malloc(rec + 16);
    if (a == NULL || buf == NULL) {
        exit(1);
    }
    memset(buf, 0x5a, rec);
    t0 = cpu_now();
    do {
        for (int i = 0; i < 64; i++) {
            nonce[11]++;
            if (cnx_aead_seal(a, buf, buf, rec, nonce, NULL, 0) < 0) {
                exit(1);
            }
            n++;
        }
        t = cpu_now() - t0;
    } while (t < secs);
    cnx_aead_free(a);
    free(buf);
    return (double) n * rec / t;
}

/* The same with OpenSSL EVP directly (one context, key set once). */
static double
bench_evp(size_t rec, double secs)
{
    uint8_t key[32], nonce[12] = { 0 }, tag[16], *buf;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    double t0, t;
    long n = 0;
    int len;

    cnx_random(key, 32);
    buf = malloc(rec + 16);
    if (ctx == NULL || buf == NULL
        || EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, NULL) != 1)
    {
        exit(1);
    }
    memset(buf, 0x5a, rec);
    t0 = cpu_now();
    do {
        for (int i = 0; i < 64; i++) {
            nonce[11]++;
            if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1
                || EVP_EncryptUpdate(ctx, buf, &len, buf, (int) rec) != 1
                || EVP_EncryptFinal_ex(ctx, buf + len, &len) != 1
                || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag)
                   != 1)
            {
                exit(1);
            }
            memcpy(buf + rec, tag, 16);
            n++;
        }
        t = cpu_now() - t0;
    } while (t < secs);
    EVP_CIPHER_CTX_free(ctx);
    cnx_memzero(key, 32);
    free(buf);
    return (double) n * rec / t;
}

int
main(int argc, char **argv)
{
    static const size_t recs[2] = { 1024, 16384 };
    double secs = 0.3, xx, ik, dh, dh_ossl, dh_na, kg, kg_na, bound;
    int rounds = 5, quick = argc > 1 && strcmp(argv[1], "--quick") == 0;

    if (argc > 1 && !quick) {
        printf("usage: cnx-session-bench [--quick]\n"
               "Prints handshakes and AEAD throughput per CPU-second.\n");
        return strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    if (quick) {
        secs = 0.1;
        rounds = 3;
    }
    if (cnx_crypto_init() < 0) {
        fprintf(stderr, "cnx-session-bench: crypto init failed\n");
        return 1;
    }
    /* The primitives first and again after the handshakes, so that the
     * bound and the handshakes see the same machine; the faster of the
     * two measurements of each primitive counts. */
    dh_na = bench_x25519(3, secs);
    kg_na = bench_x25519(4, secs);
    xx = per_cpu_second(CNX_NOISE_XX, handshake, "handshake", secs * 3);
    ik = per_cpu_second(CNX_NOISE_IK, handshake, "handshake", secs * 3);
    dh = bench_x25519(3, secs);
    kg = bench_x25519(4, secs);
    dh_na = dh < dh_na ? dh : dh_na;
    kg_na = kg < kg_na ? kg : kg_na;
    bound = 1e6 / (3 * dh_na + kg_na);
    printf("xx_handshakes_per_s=%.0f ik_handshakes_per_s=%.0f"
           " handshakes_per_s=%.0f", xx, ik, 2 * xx);
    printf(" x25519_dh_libsodium_us=%.2f x25519_keygen_libsodium_us=%.2f"
           " xx_side_bound_per_s=%.0f xx_bound_ratio=%.3f"
           " xx_side_overhead_us=%.2f", dh_na, kg_na, bound, 2 * xx / bound,
           1e6 / (2 * xx) - (3 * dh_na + kg_na));
    printf(" session_setups_per_s=%.0f",
           2 * per_cpu_second(CNX_NOISE_XX, session_setup, "session setup",
                              secs * 3));
    dh = bench_x25519(0, secs);
    kg = bench_x25519(1, secs);
    dh_ossl = bench_x25519(2, secs);
    printf(" x25519_dh_us=%.2f x25519_keygen_us=%.2f x25519_dh_openssl_us=%.2f",
           dh, kg, dh_ossl);
    printf(" hkdf_noise_us=%.3f hkdf_evp_kdf_us=%.3f hmac_us=%.3f"
           " hmac_evp_mac_us=%.3f hmac_libsodium_us=%.3f",
           bench_kdf(0, secs), bench_kdf(1, secs), bench_kdf(2, secs),
           bench_kdf(3, secs), bench_kdf(4, secs));
    for (int k = 0; k < 2; k++) {
        double s[16], e[16], ratio[16];

        /* alternate A/B so drift hits both alike; medians */
        for (int i = 0; i < rounds; i++) {
            s[i] = bench_session_aead(recs[k], secs);
            e[i] = bench_evp(recs[k], secs);
            ratio[i] = s[i] / e[i];
        }
        qsort(s, rounds, sizeof(double), cmp_double);
        qsort(e, rounds, sizeof(double), cmp_double);
        qsort(ratio, rounds, sizeof(double), cmp_double);
        printf(" aead_session_gbps_%zu=%.3f aead_evp_gbps_%zu=%.3f"
               " aead_ratio_%zu=%.3f", recs[k], s[rounds / 2] / 1e9,
               recs[k], e[rounds / 2] / 1e9, recs[k], ratio[rounds / 2]);
    }
    printf(" errors=0\n");
    return 0;
}
