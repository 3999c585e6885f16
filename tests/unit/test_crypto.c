/* Unit tests of cnx_crypto (the wrappers of OpenSSL and libsodium):
 * published vectors and misuse. */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cnx_crypto.h"

static size_t
unhex(uint8_t *out, size_t cap, const char *hex)
{
    size_t  n = strlen(hex) / 2, i;
    unsigned int v;

    ck_assert_uint_le(n, cap);
    for (i = 0; i < n; i++) {
        ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t) v;
    }
    return n;
}

static void
assert_hex(const uint8_t *got, size_t len, const char *hex)
{
    uint8_t  want[256];

    ck_assert_uint_eq(unhex(want, sizeof(want), hex), len);
    ck_assert_mem_eq(got, want, len);
}

/* RFC 7748 section 6.1 (the Diffie-Hellman example) and section 5.2 (two
 * single products, then the function iterated 1 and 1,000 times from
 * k = u = 9). */
START_TEST(test_x25519_rfc7748)
{
    uint8_t  ask[32], bsk[32], apk[32], bpk[32], s1[32], s2[32];
    uint8_t  k[32], u[32], r[32];
    int      i;

    unhex(ask, 32, "77076d0a7318a57d3c16c17251b26645"
                   "df4c2f87ebc0992ab177fba51db92c2a");
    unhex(bsk, 32, "5dab087e624a8a4b79e17f8b83800ee6"
                   "6f3bb1292618b6fd1c2f8b27ff88e0eb");
    ck_assert_int_eq(cnx_x25519_public(apk, ask), 0);
    ck_assert_int_eq(cnx_x25519_public(bpk, bsk), 0);
    assert_hex(apk, 32, "8520f0098930a754748b7ddcb43ef75a"
                        "0dbf3a0d26381af4eba4a98eaa9b4e6a");
    assert_hex(bpk, 32, "de9edb7d7b7dc1b4d35b61c2ece43537"
                        "3f8343c85b78674dadfc7e146f882b4f");
    ck_assert_int_eq(cnx_x25519_dh(s1, ask, bpk), 0);
    ck_assert_int_eq(cnx_x25519_dh(s2, bsk, apk), 0);
    assert_hex(s1, 32, "4a5d9d5ba4ce2de1728e3bf480350f25"
                       "e07e21c947d19e3376f09b3c1e161742");
    ck_assert_mem_eq(s1, s2, 32);

    unhex(k, 32, "a546e36bf0527c9d3b16154b82465edd"
                 "62144c0ac1fc5a18506a2244ba449ac4");
    unhex(u, 32, "e6db6867583030db3594c1a424b15f7c"
                 "726624ec26b3353b10a903a6d0ab1c4c");
    ck_assert_int_eq(cnx_x25519_dh(r, k, u), 0);
    assert_hex(r, 32, "c3da55379de9c6908e94ea4df28d084f"
                      "32eccf03491c71f754b4075577a28552");
    /* this u has its top bit set: it must be ignored */
    unhex(k, 32, "4b66e9d4d1b4673c5ad22691957d6af5"
                 "c11b6421e0ea01d42ca4169e7918ba0d");
    unhex(u, 32, "e5210f12786811d3f4b7959d0538ae2c"
                 "31dbe7106fc03c3efc4cd549c715a493");
    ck_assert_int_eq(cnx_x25519_dh(r, k, u), 0);
    assert_hex(r, 32, "95cbde9476e8907d7aade45cb4b873f8"
                      "8b595a68799fa152e6f8f7647aac7957");

    memset(k, 0, 32);
    k[0] = 9;
    memcpy(u, k, 32);
    for (i = 1; i <= 1000; i++) {
        ck_assert_int_eq(cnx_x25519_dh(r, k, u), 0);
        memcpy(u, k, 32);
        memcpy(k, r, 32);
        if (i == 1) {
            assert_hex(k, 32, "422c8e7a6227d7bca1350b3e2bb7279f"
                              "7897b87bb6854b783c60e80311ae3079");
        }
    }
    assert_hex(k, 32, "684cf59ba83309552800ef566f2f4d3c"
                      "1c3887c49360e3875f2eb94d99532c51");
}
END_TEST

START_TEST(test_x25519_low_order_rejected)
{
    uint8_t  sk[32], pk[32], zero[32] = { 0 }, one[32] = { 1 }, s[32];

    ck_assert_int_eq(cnx_x25519_keypair(pk, sk), 0);
    memset(s, 0xaa, sizeof(s));
    ck_assert_int_eq(cnx_x25519_dh(s, sk, zero), -1);
    ck_assert_mem_eq(s, zero, 32);          /* wiped */
    ck_assert_int_eq(cnx_x25519_dh(s, sk, one), -1);
}
END_TEST

START_TEST(test_keypairs_differ)
{
    uint8_t  pk1[32], sk1[32], pk2[32], sk2[32], chk[32];

    ck_assert_int_eq(cnx_x25519_keypair(pk1, sk1), 0);
    ck_assert_int_eq(cnx_x25519_keypair(pk2, sk2), 0);
    ck_assert_int_ne(memcmp(sk1, sk2, 32), 0);
    ck_assert_int_eq(cnx_x25519_public(chk, sk1), 0);
    ck_assert_mem_eq(chk, pk1, 32);
}
END_TEST

/* RFC 4231 test case 2; SHA-256("abc") from FIPS 180-2. */
START_TEST(test_sha256_hmac)
{
    uint8_t  out[32];
    const char *msg = "what do ya want for nothing?";

    ck_assert_int_eq(cnx_sha256(out, "abc", 3), 0);
    assert_hex(out, 32, "ba7816bf8f01cfea414140de5dae2223"
                        "b00361a396177a9cb410ff61f20015ad");
    ck_assert_int_eq(cnx_sha256_2(out, "a", 1, "bc", 2), 0);
    assert_hex(out, 32, "ba7816bf8f01cfea414140de5dae2223"
                        "b00361a396177a9cb410ff61f20015ad");
    ck_assert_int_eq(cnx_hmac_sha256(out, (const uint8_t *) "Jefe", 4, msg,
                                     strlen(msg)), 0);
    assert_hex(out, 32, "5bdcc146bf60754e6a042426089575c7"
                        "5a003f089d2739839dec58b964ec3843");
}
END_TEST

/* Keys longer than the 64-byte block are hashed first (RFC 4231 test case
 * 6); a key of exactly 64 bytes is used as it is (value from Python's
 * hmac module). */
START_TEST(test_hmac_key_lengths)
{
    uint8_t      key[131], out[32];
    const char  *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    const char  *m64 = "exactly one block key";

    memset(key, 0xaa, sizeof(key));
    ck_assert_int_eq(cnx_hmac_sha256(out, key, sizeof(key), m6, strlen(m6)),
                     0);
    assert_hex(out, 32, "60e431591ee0b67f0d8a26aacbf5b77f"
                        "8e0bc6213728c5140546040f0ee37f54");
    memset(key, 0x0b, 64);
    ck_assert_int_eq(cnx_hmac_sha256(out, key, 64, m64, strlen(m64)), 0);
    assert_hex(out, 32, "763be7273d798a3793bf1fc0aee9aacc"
                        "513886eacaa2d634e153e4ca0c20b0e9");
}
END_TEST

/* RFC 5869 test cases 1 and 3 (empty salt and info). */
START_TEST(test_hkdf_rfc5869)
{
    uint8_t  ikm[22], salt[13], info[10], okm[42];
    size_t   i;

    memset(ikm, 0x0b, sizeof(ikm));
    for (i = 0; i < sizeof(salt); i++) {
        salt[i] = (uint8_t) i;
    }
    for (i = 0; i < sizeof(info); i++) {
        info[i] = (uint8_t) (0xf0 + i);
    }
    ck_assert_int_eq(cnx_hkdf_sha256(okm, 42, salt, 13, ikm, 22, info, 10), 0);
    assert_hex(okm, 42, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db0"
                        "2d56ecc4c5bf34007208d5b887185865");
    ck_assert_int_eq(cnx_hkdf_sha256(okm, 42, NULL, 0, ikm, 22, "", 0), 0);
    assert_hex(okm, 42, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec345"
                        "4e5f3c738d2d9d201395faa4b61a96c8");
    ck_assert_int_eq(cnx_hkdf_sha256(okm, 255 * 32 + 1, NULL, 0, ikm, 22,
                                     "", 0), -1);
}
END_TEST

/* Noise HKDF equals RFC 5869 with salt = ck, empty info, split in 32s. */
START_TEST(test_hkdf_noise_matches_rfc)
{
    uint8_t  ck[32], ikm[32], o1[32], o2[32], o3[32], ref[96];

    cnx_random(ck, 32);
    cnx_random(ikm, 32);
    ck_assert_int_eq(cnx_hkdf_noise(o1, o2, o3, ck, ikm, 32), 0);
    ck_assert_int_eq(cnx_hkdf_sha256(ref, 96, ck, 32, ikm, 32, NULL, 0), 0);
    ck_assert_mem_eq(o1, ref, 32);
    ck_assert_mem_eq(o2, ref + 32, 32);
    ck_assert_mem_eq(o3, ref + 64, 32);
    ck_assert_int_eq(cnx_hkdf_noise(o1, o2, NULL, ck, NULL, 0), 0);
    ck_assert_int_eq(cnx_hkdf_sha256(ref, 64, ck, 32, NULL, 0, NULL, 0), 0);
    ck_assert_mem_eq(o1, ref, 32);
    ck_assert_mem_eq(o2, ref + 32, 32);
}
END_TEST

/* McGrew and Viega, "The Galois/Counter Mode of Operation", test case
 * 16. */
START_TEST(test_aead_gcm_vector)
{
    uint8_t  key[32], iv[12], ad[20], m[60], c[76], back[60], tag[16];
    cnx_aead_t *a;

    unhex(key, 32, "feffe9928665731c6d6a8f9467308308"
                   "feffe9928665731c6d6a8f9467308308");
    unhex(iv, 12, "cafebabefacedbaddecaf888");
    unhex(ad, 20, "feedfacedeadbeeffeedfacedeadbeefabaddad2");
    unhex(m, 60, "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d"
                 "8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657"
                 "ba637b39");
    a = cnx_aead_new(key);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(cnx_aead_seal(a, c, m, 60, iv, ad, 20), 0);
    assert_hex(c, 76, "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2"
                      "bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba"
                      "7a0abcc9f66276fc6ece0f4e1768cddf8853bb2d551b");
    ck_assert_int_eq(cnx_aead_open(a, back, c, 76, iv, ad, 20), 0);
    ck_assert_mem_eq(back, m, 60);

    /* Tampering anywhere fails: ciphertext, tag, nonce, AAD, length. */
    c[3] ^= 1;
    ck_assert_int_eq(cnx_aead_open(a, back, c, 76, iv, ad, 20), -1);
    c[3] ^= 1;
    c[70] ^= 0x80;
    ck_assert_int_eq(cnx_aead_open(a, back, c, 76, iv, ad, 20), -1);
    c[70] ^= 0x80;
    iv[11] ^= 1;
    ck_assert_int_eq(cnx_aead_open(a, back, c, 76, iv, ad, 20), -1);
    iv[11] ^= 1;
    ck_assert_int_eq(cnx_aead_open(a, back, c, 76, iv, ad, 19), -1);
    ck_assert_int_eq(cnx_aead_open(a, back, c, 75, iv, ad, 20), -1);
    ck_assert_int_eq(cnx_aead_open(a, back, c, 15, iv, ad, 20), -1);

    /* Detached, in place. */
    memcpy(back, m, 60);
    ck_assert_int_eq(cnx_aead_seal_detached(a, back, tag, back, 60, iv, ad,
                                            20), 0);
    ck_assert_mem_eq(back, c, 60);
    ck_assert_mem_eq(tag, c + 60, 16);
    ck_assert_int_eq(cnx_aead_open_detached(a, back, back, 60, tag, iv, ad,
                                            20), 0);
    ck_assert_mem_eq(back, m, 60);
    cnx_aead_free(a);
}
END_TEST

/* The same paper, test cases 13 to 15 (AES-256, 96-bit IV): an empty
 * message, one zero block, four whole blocks. */
START_TEST(test_aead_gcm_vectors_13_15)
{
    static const struct {
        const char  *key, *iv, *m, *c, *tag;
    } v[] = {
        { "00000000000000000000000000000000"
          "00000000000000000000000000000000", "000000000000000000000000",
          "", "", "530f8afbc74536b9a963b4f1c4cb738b" },
        { "00000000000000000000000000000000"
          "00000000000000000000000000000000", "000000000000000000000000",
          "00000000000000000000000000000000",
          "cea7403d4d606b6e074ec5d3baf39d18",
          "d0d1c8a799996bf0265b98b5d48ab919" },
        { "feffe9928665731c6d6a8f9467308308"
          "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
          "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d"
          "8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657"
          "ba637b391aafd255",
          "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2"
          "bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba"
          "7a0abcc9f662898015ad",
          "b094dac5d93471bdec1a502270e3cc6c" },
    };
    uint8_t     key[32], iv[12], m[64], c[80], back[64];
    size_t      i, n;
    cnx_aead_t *a;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        n = strlen(v[i].m) / 2;
        unhex(key, 32, v[i].key);
        unhex(iv, 12, v[i].iv);
        unhex(m, n, v[i].m);
        a = cnx_aead_new(key);
        ck_assert_ptr_nonnull(a);
        ck_assert_int_eq(cnx_aead_seal(a, c, m, n, iv, NULL, 0), 0);
        assert_hex(c, n, v[i].c);
        assert_hex(c + n, 16, v[i].tag);
        ck_assert_int_eq(cnx_aead_open(a, back, c, n + 16, iv, NULL, 0), 0);
        ck_assert_mem_eq(back, m, n);
        c[n] ^= 0x01;
        ck_assert_int_eq(cnx_aead_open(a, back, c, n + 16, iv, NULL, 0), -1);
        cnx_aead_free(a);
    }
}
END_TEST

/*
 * Every length from 0 to 600 bytes and some large ones, with AAD, against
 * libsodium's AES-256-GCM as an independent reference where this CPU has
 * it (AES-NI and PCLMULQDQ): sealed to a buffer with a canary past the
 * end, then in place; opened, also in place; a flipped bit anywhere (data,
 * AAD, tag) refused with the output wiped.
 */
START_TEST(test_aead_lengths)
{
    static const size_t  big[] = { 1023, 1024, 1025, 4095, 16384, 16399,
                                   65536 + 13 };
    const size_t         nlen = 601 + sizeof(big) / sizeof(big[0]);
    uint8_t              key[32], iv[12], ad[600], *m, *c, *want, *back;
    uint8_t              tag[16];
    unsigned long long   wlen;
    size_t               i, len, adlen, at, cap = 65536 + 64;
    cnx_aead_t          *a;
    int                  ref;

    ck_assert_int_eq(cnx_crypto_init(), 0);
    ref = crypto_aead_aes256gcm_is_available();
    cnx_random(key, 32);
    a = cnx_aead_new(key);
    ck_assert_ptr_nonnull(a);
    m = malloc(cap);
    c = malloc(cap + 16);
    want = malloc(cap + 16);
    back = malloc(cap);
    ck_assert(m != NULL && c != NULL && want != NULL && back != NULL);

    for (i = 0; i < nlen; i++) {
        len = i < 601 ? i : big[i - 601];
        adlen = i < 601 ? (i * 37) % 300 : (i * 101) % sizeof(ad);
        cnx_random(iv, 12);
        cnx_random(ad, adlen);
        cnx_random(m, len);

        memset(c, 0xa5, len + 17);
        ck_assert_int_eq(cnx_aead_seal(a, c, m, len, iv, ad, adlen), 0);
        ck_assert_int_eq(c[len + 16], 0xa5);
        if (ref) {
            ck_assert_int_eq(crypto_aead_aes256gcm_encrypt(want, &wlen, m,
                             len, ad, adlen, NULL, iv, key), 0);
            ck_assert_uint_eq(wlen, len + 16);
            ck_assert_msg(memcmp(c, want, len + 16) == 0,
                          "len %zu adlen %zu differs from libsodium", len,
                          adlen);
        }
        memcpy(want, c, len + 16);

        memcpy(back, m, len);
        ck_assert_int_eq(cnx_aead_seal_detached(a, back, tag, back, len, iv,
                                                ad, adlen), 0);
        ck_assert_mem_eq(back, want, len);
        ck_assert_mem_eq(tag, want + len, 16);
        ck_assert_int_eq(cnx_aead_open(a, back, c, len + 16, iv, ad, adlen),
                         0);
        ck_assert_mem_eq(back, m, len);
        ck_assert_int_eq(cnx_aead_open_detached(a, c, c, len, c + len, iv,
                                                ad, adlen), 0);
        ck_assert_mem_eq(c, m, len);

        /* a flipped bit: in the data, the AAD or the tag */
        memcpy(c, want, len + 16);
        at = (i * 7919) % (len + adlen + 16);
        if (at < len + 16) {
            c[at] ^= (uint8_t) (1u << (i % 8));
        } else {
            ad[at - len - 16] ^= (uint8_t) (1u << (i % 8));
        }
        memset(back, 0x5a, len);
        ck_assert_int_eq(cnx_aead_open(a, back, c, len + 16, iv, ad, adlen),
                         -1);
        ck_assert(len == 0 || sodium_is_zero(back, len));
    }
    free(m);
    free(c);
    free(want);
    free(back);
    cnx_aead_free(a);
}
END_TEST

/* An output starting inside the input after its start is refused; the
 * same buffer works. */
START_TEST(test_aead_overlap_refused)
{
    uint8_t      key[32] = { 7 }, iv[12] = { 0 }, buf[300], tag[16];
    cnx_aead_t  *a;

    a = cnx_aead_new(key);
    ck_assert_ptr_nonnull(a);
    memset(buf, 0x41, sizeof(buf));
    ck_assert_int_eq(cnx_aead_seal_detached(a, buf + 16, tag, buf, 100, iv,
                                            NULL, 0), -1);
    ck_assert_int_eq(cnx_aead_seal_detached(a, buf + 99, tag, buf, 100, iv,
                                            NULL, 0), -1);
    ck_assert_int_eq(cnx_aead_open_detached(a, buf + 1, buf, 100, tag, iv,
                                            NULL, 0), -1);
    ck_assert_int_eq(buf[50], 0x41);           /* nothing was written */
    ck_assert_int_eq(cnx_aead_seal_detached(a, buf + 100, tag, buf, 100, iv,
                                            NULL, 0), 0);
    ck_assert_int_eq(cnx_aead_open_detached(a, buf + 200, buf + 100, 100,
                                            tag, iv, NULL, 0), 0);
    ck_assert_int_eq(buf[250], 0x41);
    ck_assert_int_eq(cnx_aead_seal_detached(a, buf, tag, buf, 100, iv,
                                            NULL, 0), 0);
    ck_assert_int_eq(cnx_aead_open_detached(a, buf, buf, 100, tag, iv, NULL,
                                            0), 0);
    ck_assert_int_eq(buf[50], 0x41);
    cnx_aead_free(a);
}
END_TEST

START_TEST(test_ct_compare)
{
    uint8_t  a[32], b[32];

    cnx_random(a, 32);
    memcpy(b, a, 32);
    ck_assert_int_eq(cnx_ct_compare(a, b, 32), 0);
    b[31] ^= 1;
    ck_assert_int_eq(cnx_ct_compare(a, b, 32), -1);
    cnx_memzero(a, 32);
    memset(b, 0, 32);
    ck_assert_mem_eq(a, b, 32);
}
END_TEST

int
main(void)
{
    Suite   *s;
    TCase   *tc;
    SRunner *sr;
    int      failed;

    s = suite_create("crypto");
    tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_x25519_rfc7748);
    tcase_add_test(tc, test_x25519_low_order_rejected);
    tcase_add_test(tc, test_keypairs_differ);
    tcase_add_test(tc, test_hmac_key_lengths);
    tcase_add_test(tc, test_sha256_hmac);
    tcase_add_test(tc, test_hkdf_rfc5869);
    tcase_add_test(tc, test_hkdf_noise_matches_rfc);
    tcase_add_test(tc, test_aead_gcm_vector);
    tcase_add_test(tc, test_aead_gcm_vectors_13_15);
    tcase_add_test(tc, test_aead_lengths);
    tcase_add_test(tc, test_aead_overlap_refused);
    tcase_add_test(tc, test_ct_compare);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
