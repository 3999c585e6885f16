/* Unit tests: base64 and base64url (RFC 4648), hex. */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_base64.h"

/* RFC 4648 section 10 test vectors. */
static const char *const rfc_in[] = {
    "", "f", "fo", "foo", "foob", "fooba", "foobar"
};
static const char *const rfc_std[] = {
    "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"
};
static const char *const rfc_url[] = {
    "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"
};

START_TEST(test_rfc_vectors)
{
    char     out[32];
    uint8_t  dec[32];
    size_t   n = strlen(rfc_in[_i]);
    int      r;

    r = cnx_base64_encode(out, sizeof(out), (const uint8_t *) rfc_in[_i], n);
    ck_assert_int_eq(r, (int) strlen(rfc_std[_i]));
    ck_assert_str_eq(out, rfc_std[_i]);
    ck_assert_int_eq(r, (int) CNX_BASE64_ENCODED_LEN(n));

    r = cnx_base64url_encode(out, sizeof(out), (const uint8_t *) rfc_in[_i],
                             n);
    ck_assert_int_eq(r, (int) strlen(rfc_url[_i]));
    ck_assert_str_eq(out, rfc_url[_i]);
    ck_assert_int_eq(r, (int) CNX_BASE64URL_ENCODED_LEN(n));

    r = cnx_base64_decode(dec, sizeof(dec), rfc_std[_i],
                          strlen(rfc_std[_i]));
    ck_assert_int_eq(r, (int) n);
    ck_assert(memcmp(dec, rfc_in[_i], n) == 0);

    r = cnx_base64url_decode(dec, sizeof(dec), rfc_url[_i],
                             strlen(rfc_url[_i]));
    ck_assert_int_eq(r, (int) n);
    ck_assert(memcmp(dec, rfc_in[_i], n) == 0);
    ck_assert_uint_ge(CNX_BASE64_DECODED_MAX(strlen(rfc_std[_i])), n);
}
END_TEST

START_TEST(test_roundtrip_all_bytes)
{
    uint8_t  in[256], dec[300];
    char     out[400];
    size_t   n;
    int      r;

    for (n = 0; n < 256; n++) {
        in[n] = (uint8_t) (255 - n);
    }
    for (n = 0; n <= 256; n++) {
        r = cnx_base64_encode(out, sizeof(out), in, n);
        ck_assert_int_ge(r, 0);
        ck_assert_int_eq(cnx_base64_decode(dec, sizeof(dec), out, (size_t) r),
                         (int) n);
        ck_assert(memcmp(dec, in, n) == 0);

        r = cnx_base64url_encode(out, sizeof(out), in, n);
        ck_assert_int_ge(r, 0);
        ck_assert(strchr(out, '=') == NULL);
        ck_assert(strchr(out, '+') == NULL && strchr(out, '/') == NULL);
        ck_assert_int_eq(cnx_base64url_decode(dec, sizeof(dec), out,
                                              (size_t) r), (int) n);
        ck_assert(memcmp(dec, in, n) == 0);
    }
}
END_TEST

START_TEST(test_encode_capacity)
{
    char  out[9];

    /* "foob" needs 8 characters plus the NUL. */
    ck_assert_int_eq(cnx_base64_encode(out, 8, (const uint8_t *) "foob", 4),
                     -1);
    ck_assert_int_eq(cnx_base64_encode(out, 9, (const uint8_t *) "foob", 4),
                     8);
    ck_assert_int_eq(cnx_base64url_encode(out, 6, (const uint8_t *) "foob",
                                          4), -1);
    ck_assert_int_eq(cnx_base64url_encode(out, 7, (const uint8_t *) "foob",
                                          4), 6);
    ck_assert_int_eq(cnx_base64_encode(NULL, 0, (const uint8_t *) "", 0), -1);
}
END_TEST

START_TEST(test_decode_rejects)
{
    static const char *const bad_std[] = {
        "Zg=",        /* length not a multiple of 4 */
        "Zg",         /* missing padding */
        "Z===",       /* too much padding */
        "====",
        "Zg==Zg==",   /* padding in the middle */
        "Zm9v\n",     /* whitespace */
        "Zm 9",
        "Zh==",       /* nonzero unused bits */
        "Zm9=",       /* nonzero unused bits (3-char rest) */
        "Zm-v",       /* url alphabet in standard */
        "Zm_v",
        "Zm9v*A==",
        "Zg=A",
    };
    static const char *const bad_url[] = {
        "Z",          /* 1 mod 4 */
        "Zg==",       /* padding */
        "Zm+v",       /* standard alphabet */
        "Zm/v",
        "Zh",         /* unused bits */
        "Zm9",        /* unused bits */
        "Zm9v\r\n",
    };
    uint8_t  out[32];
    size_t   i;

    for (i = 0; i < sizeof(bad_std) / sizeof(bad_std[0]); i++) {
        ck_assert_msg(cnx_base64_decode(out, sizeof(out), bad_std[i],
                                        strlen(bad_std[i])) == -1,
                      "accepted %s", bad_std[i]);
    }
    for (i = 0; i < sizeof(bad_url) / sizeof(bad_url[0]); i++) {
        ck_assert_msg(cnx_base64url_decode(out, sizeof(out), bad_url[i],
                                           strlen(bad_url[i])) == -1,
                      "accepted %s", bad_url[i]);
    }
    /* Bytes from 0x80 up are not in either alphabet (libsodium 1.0.18
     * alone decodes them as '/'), wherever they are. */
    ck_assert_int_eq(cnx_base64_decode(out, sizeof(out), "Zgv\x9a", 4), -1);
    ck_assert_int_eq(cnx_base64url_decode(out, sizeof(out), "Zgv\xff", 4),
                     -1);
    ck_assert_int_eq(cnx_base64_decode(out, sizeof(out), "\x80m9v", 4), -1);
    /* NUL inside the input is a bad character, not an end. */
    ck_assert_int_eq(cnx_base64_decode(out, sizeof(out), "Zm\0v", 4), -1);
}
END_TEST

START_TEST(test_decode_capacity)
{
    uint8_t  out[6];

    ck_assert_int_eq(cnx_base64_decode(out, 5, "Zm9vYmFy", 8), -1);
    ck_assert_int_eq(cnx_base64_decode(out, 6, "Zm9vYmFy", 8), 6);
    ck_assert_int_eq(cnx_base64_decode(out, 4, "Zm9vYmE=", 8), -1);
    ck_assert_int_eq(cnx_base64_decode(out, 5, "Zm9vYmE=", 8), 5);
    ck_assert_int_eq(cnx_base64url_decode(out, 4, "Zm9vYmE", 7), -1);
    ck_assert_int_eq(cnx_base64url_decode(out, 5, "Zm9vYmE", 7), 5);
    ck_assert_int_eq(cnx_base64_decode(out, 0, "", 0), 0);
}
END_TEST

START_TEST(test_wireguard_key)
{
    /* A 32-byte key is 44 characters with one '=' (as wg(8) prints). */
    uint8_t  key[32], dec[40];
    char     out[45];
    int      i;

    for (i = 0; i < 32; i++) {
        key[i] = (uint8_t) (i * 7 + 1);
    }
    ck_assert_int_eq(cnx_base64_encode(out, sizeof(out), key, 32), 44);
    ck_assert_int_eq(out[43], '=');
    ck_assert_int_eq(cnx_base64_decode(dec, sizeof(dec), out, 44), 32);
    ck_assert(memcmp(dec, key, 32) == 0);
}
END_TEST

/* Hex: lowercase out, either case in, nothing but an even number of hex
 * digits, capacity checked before anything is written. */
START_TEST(test_hex)
{
    static const char *const  bad[] = { "0", "0g", "00 ", " 00", "0x00",
                                        "00\n", "0-", "000" };
    uint8_t  in[3] = { 0x00, 0xab, 0xff }, out[4];
    char     txt[8];
    size_t   i;

    ck_assert_int_eq(cnx_hex_encode(txt, sizeof(txt), in, 3), 6);
    ck_assert_str_eq(txt, "00abff");
    ck_assert_int_eq(cnx_hex_encode(txt, 6, in, 3), -1);
    ck_assert_int_eq(cnx_hex_encode(txt, 7, in, 3), 6);
    ck_assert_int_eq(cnx_hex_encode(txt, 1, in, 0), 0);
    ck_assert_str_eq(txt, "");
    ck_assert_int_eq(cnx_hex_decode(out, sizeof(out), "00ABff", 6), 3);
    ck_assert(memcmp(out, in, 3) == 0);
    ck_assert_int_eq(cnx_hex_decode(out, 2, "00abff", 6), -1);
    ck_assert_int_eq(cnx_hex_decode(out, 0, "", 0), 0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(cnx_hex_decode(out, sizeof(out), bad[i], strlen(bad[i]))
                      == -1, "accepted %s", bad[i]);
    }
    ck_assert_int_eq(cnx_hex_decode(out, sizeof(out), "00\0f", 4), -1);
}
END_TEST

/* A decode that fails leaves nothing of the text in the output (it may
 * have been a key). */
START_TEST(test_decode_failure_wipes)
{
    uint8_t  out[8];

    memset(out, 0x5a, sizeof(out));
    ck_assert_int_eq(cnx_base64_decode(out, sizeof(out), "Zm9vYmF*", 8), -1);
    ck_assert_int_eq(out[0], 0);
    ck_assert_int_eq(out[2], 0);
    memset(out, 0x5a, sizeof(out));
    ck_assert_int_eq(cnx_hex_decode(out, sizeof(out), "abcd0", 5), -1);
    ck_assert_int_eq(out[0], 0);
    ck_assert_int_eq(out[1], 0);
}
END_TEST

int
main(void)
{
    Suite   *s = suite_create("base64");
    TCase   *tc = tcase_create("core");
    SRunner *sr;
    int      failed;

    tcase_add_loop_test(tc, test_rfc_vectors, 0, 7);
    tcase_add_test(tc, test_roundtrip_all_bytes);
    tcase_add_test(tc, test_encode_capacity);
    tcase_add_test(tc, test_decode_rejects);
    tcase_add_test(tc, test_decode_capacity);
    tcase_add_test(tc, test_wireguard_key);
    tcase_add_test(tc, test_hex);
    tcase_add_test(tc, test_decode_failure_wipes);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
