/*
 * Wycheproof's AES-GCM and X25519 vectors (tests/unit/vectors/README.md)
 * through the library's own wrappers, cnx_aead_* and cnx_x25519_dh():
 *
 *   - AES-256-GCM, 96-bit IV, 128-bit tag: a valid test seals to its
 *     ciphertext and tag and opens (combined and detached) to its message;
 *     an invalid one (changed tag, ciphertext or lengths) is refused with
 *     the output wiped.  Other IV and tag sizes cannot be expressed through
 *     the interface (12-byte nonce, 16-byte tag) and are not in the file.
 *   - X25519: every test gives its shared secret, except those whose
 *     shared secret is all zero (the public key is a point of small
 *     order), which cnx_x25519_dh() refuses with the output wiped.
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cnx_crypto.h"

#ifndef VECTOR_DIR
#define VECTOR_DIR "tests/unit/vectors"
#endif

#define FIELDS_MAX  10

/* Splits the next non-comment line of f into fields; 0 at the end. */
static int
next_line(FILE *f, char *line, size_t cap, char **field, int *n)
{
    char  *p;

    while (fgets(line, (int) cap, f) != NULL) {
        if (line[0] == '#' || line[0] == '\n') {
            continue;
        }
        ck_assert_msg(strchr(line, '\n') != NULL, "vector line too long");
        *n = 0;
        for (p = strtok(line, " \n"); p != NULL && *n < FIELDS_MAX;
             p = strtok(NULL, " \n"))
        {
            field[(*n)++] = p;
        }
        return 1;
    }
    return 0;
}

/* hex ("-" is empty) into a fresh buffer (at least one byte); *len set. */
static uint8_t *
unhex(const char *hex, size_t *len)
{
    size_t    n = strcmp(hex, "-") == 0 ? 0 : strlen(hex);
    uint8_t  *b = malloc(n / 2 + 1);

    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(sodium_hex2bin(b, n / 2 + 1, hex, n, NULL, len, NULL),
                     0);
    return b;
}

static FILE *
open_vectors(const char *name)
{
    char   path[512];
    FILE  *f;

    snprintf(path, sizeof(path), "%s/%s", VECTOR_DIR, name);
    f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    return f;
}

START_TEST(test_wycheproof_aes_gcm)
{
    char         line[8192], *fl[FIELDS_MAX];
    uint8_t     *key, *iv, *ad, *m, *ct, *tag, *c, *back;
    size_t       klen, ivlen, adlen, mlen, ctlen, taglen;
    int          nf, valid, nvalid = 0, ninvalid = 0;
    cnx_aead_t  *a;
    FILE        *f = open_vectors("wycheproof-aes-gcm-256.txt");

    ck_assert_int_eq(cnx_crypto_init(), 0);
    while (next_line(f, line, sizeof(line), fl, &nf)) {
        ck_assert_int_eq(nf, 8);
        valid = strcmp(fl[1], "valid") == 0;
        ck_assert(valid || strcmp(fl[1], "invalid") == 0);
        key = unhex(fl[2], &klen);
        iv = unhex(fl[3], &ivlen);
        ad = unhex(fl[4], &adlen);
        m = unhex(fl[5], &mlen);
        ct = unhex(fl[6], &ctlen);
        tag = unhex(fl[7], &taglen);
        ck_assert_uint_eq(klen, 32);
        ck_assert_uint_eq(ivlen, 12);
        ck_assert_uint_eq(taglen, 16);
        c = malloc(ctlen + mlen + 16 + 1);
        back = malloc(ctlen + mlen + 1);
        ck_assert(c != NULL && back != NULL);
        a = cnx_aead_new(key);
        ck_assert_ptr_nonnull(a);

        /* what the wrapper seals for the message */
        ck_assert_int_eq(cnx_aead_seal(a, c, m, mlen, iv, ad, adlen), 0);
        if (valid) {
            ck_assert_uint_eq(ctlen, mlen);
            ck_assert_msg(memcmp(c, ct, ctlen) == 0
                          && memcmp(c + ctlen, tag, 16) == 0,
                          "tcId %s: sealed bytes differ", fl[0]);
        } else {
            ck_assert_msg(ctlen != mlen || memcmp(c, ct, ctlen) != 0
                          || memcmp(c + ctlen, tag, 16) != 0,
                          "tcId %s: invalid test sealed as given", fl[0]);
        }

        /* the given ciphertext and tag, opened */
        memcpy(c, ct, ctlen);
        memcpy(c + ctlen, tag, 16);
        memset(back, 0x5a, ctlen + 1);
        ck_assert_msg(cnx_aead_open(a, back, c, ctlen + 16, iv, ad, adlen)
                      == (valid ? 0 : -1), "tcId %s: open", fl[0]);
        if (valid) {
            ck_assert_mem_eq(back, m, mlen);
            ck_assert_int_eq(cnx_aead_open_detached(a, c, c, ctlen, tag, iv,
                                                    ad, adlen), 0);
            ck_assert_mem_eq(c, m, mlen);
            nvalid++;
        } else {
            ck_assert(ctlen == 0 || sodium_is_zero(back, ctlen));
            ck_assert_int_eq(cnx_aead_open_detached(a, back, ct, ctlen, tag,
                                                    iv, ad, adlen), -1);
            ninvalid++;
        }
        cnx_aead_free(a);
        free(key);
        free(iv);
        free(ad);
        free(m);
        free(ct);
        free(tag);
        free(c);
        free(back);
    }
    fclose(f);
    ck_assert_int_eq(nvalid, 39);
    ck_assert_int_eq(ninvalid, 27);
}
END_TEST

START_TEST(test_wycheproof_x25519)
{
    char      line[1024], *fl[FIELDS_MAX];
    uint8_t  *sk, *pk, *want, got[32];
    size_t    sklen, pklen, wlen;
    int       nf, rc, ncomputed = 0, nrefused = 0;
    FILE     *f = open_vectors("wycheproof-x25519.txt");

    while (next_line(f, line, sizeof(line), fl, &nf)) {
        ck_assert_int_eq(nf, 6);
        /* the file holds only "valid" and "acceptable" tests */
        ck_assert(strcmp(fl[1], "valid") == 0
                  || strcmp(fl[1], "acceptable") == 0);
        sk = unhex(fl[3], &sklen);
        pk = unhex(fl[4], &pklen);
        want = unhex(fl[5], &wlen);
        ck_assert(sklen == 32 && pklen == 32 && wlen == 32);
        memset(got, 0xaa, sizeof(got));
        rc = cnx_x25519_dh(got, sk, pk);
        if (sodium_is_zero(want, 32)) {
            ck_assert_msg(rc == -1, "tcId %s (%s): all-zero secret accepted",
                          fl[0], fl[2]);
            ck_assert(sodium_is_zero(got, 32));
            ck_assert_msg(strstr(fl[2], "ZeroSharedSecret") != NULL,
                          "tcId %s", fl[0]);
            nrefused++;
        } else {
            ck_assert_msg(rc == 0, "tcId %s (%s): refused", fl[0], fl[2]);
            ck_assert_msg(memcmp(got, want, 32) == 0, "tcId %s (%s): wrong "
                          "shared secret", fl[0], fl[2]);
            ncomputed++;
        }
        free(sk);
        free(pk);
        free(want);
    }
    fclose(f);
    ck_assert_int_eq(ncomputed + nrefused, 518);
    ck_assert_int_eq(nrefused, 31);
}
END_TEST

int
main(void)
{
    Suite   *s = suite_create("wycheproof");
    TCase   *tc = tcase_create("core");
    SRunner *sr;
    int      failed;

    tcase_add_test(tc, test_wycheproof_aes_gcm);
    tcase_add_test(tc, test_wycheproof_x25519);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
