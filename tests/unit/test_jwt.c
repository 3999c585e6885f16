/* Unit tests: HS256 JWT verification and minting. */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cnx_base64.h"
#include "cnx_jwt.h"

#define SECRET      "clawnexus-dev-secret"
#define SECRET_LEN  (sizeof(SECRET) - 1)
#define KEY         ((const uint8_t *) SECRET)

/*
 * Minted by Node.js 20 crypto, the way the ClawNexus test helper does it:
 *   b = o => Buffer.from(JSON.stringify(o)).toString("base64url")
 *   h = b({alg:"HS256",typ:"JWT"})
 *   p = b({sub:"alice.id.claw",iss:"clawnexus-registry.test",
 *          iat:1700000000,exp:1700000300})
 *   s = crypto.createHmac("sha256","clawnexus-dev-secret")
 *         .update(h+"."+p).digest("base64url")
 */
static const char node_token[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJhbGljZS5pZC5jbGF3IiwiaXNzIjoiY2xhd25leHVzLXJlZ2lzdHJ5LnRlc3Qi"
    "LCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMDMwMH0."
    "DTWMd-R3_NTPFXw_ow9zEH8AtOZK_S3fVpNiGClVlbU";

/* Same claims, HS512 with the same secret (same script, sha512). */
static const char node_token_hs512[] =
    "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJhbGljZS5pZC5jbGF3IiwiaXNzIjoiY2xhd25leHVzLXJlZ2lzdHJ5LnRlc3Qi"
    "LCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMDMwMH0."
    "V1f6RD-z3btTrkc-aC95qba7pukglT9pTVc7WzLnCGwAfBOZtf_dWrV0RI5e3mbDqkJUTgHv"
    "VISm6vnzuKiuBw";

/* Mint a token with arbitrary header and claims JSON, correctly signed. */
static const char *
mint(const char *header, const char *claims)
{
    static char                   tok[8192];
    unsigned char                 mac[32];
    crypto_auth_hmacsha256_state  st;
    int                           n, m;

    n = cnx_base64url_encode(tok, sizeof(tok), (const uint8_t *) header,
                             strlen(header));
    tok[n++] = '.';
    m = cnx_base64url_encode(tok + n, sizeof(tok) - (size_t) n,
                             (const uint8_t *) claims, strlen(claims));
    n += m;
    crypto_auth_hmacsha256_init(&st, KEY, SECRET_LEN);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *) tok,
                                  (unsigned long long) n);
    crypto_auth_hmacsha256_final(&st, mac);
    tok[n++] = '.';
    cnx_base64url_encode(tok + n, sizeof(tok) - (size_t) n, mac, 32);
    return tok;
}

static int
verify(const char *tok, const char *sub, const char *iss, int64_t now)
{
    cnx_jwt_expect_t  want = { .sub = sub, .iss = iss, .leeway = 30 };

    return cnx_jwt_verify(tok, strlen(tok), KEY, SECRET_LEN, &want, now,
                          NULL);
}

#define HS256  "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define GOOD   "{\"sub\":\"a.claw\",\"iss\":\"reg\",\"iat\":1000,\"exp\":1300}"

START_TEST(test_node_token)
{
    cnx_jwt_claims_t  c;
    cnx_jwt_expect_t  want = { .sub = "alice.id.claw",
                               .iss = "clawnexus-registry.test" };

    ck_assert_int_eq(cnx_jwt_verify(node_token, strlen(node_token), KEY,
                                    SECRET_LEN, &want, 1700000100, &c),
                     CNX_JWT_OK);
    ck_assert_str_eq(c.sub, "alice.id.claw");
    ck_assert_str_eq(c.iss, "clawnexus-registry.test");
    ck_assert(c.iat == 1700000000 && c.exp == 1700000300);
    ck_assert_uint_eq(c.has_iss, 1);

    /* Expired five minutes later; wrong key; wrong sub; wrong iss. */
    ck_assert_int_eq(cnx_jwt_verify(node_token, strlen(node_token), KEY,
                                    SECRET_LEN, &want, 1700000301, &c),
                     CNX_JWT_EEXPIRED);
    ck_assert_int_eq(cnx_jwt_verify(node_token, strlen(node_token),
                                    (const uint8_t *) "other", 5, &want,
                                    1700000100, &c), CNX_JWT_ESIG);
    ck_assert_int_eq(verify(node_token, "bob.id.claw", NULL, 1700000100),
                     CNX_JWT_ESUB);
    ck_assert_int_eq(verify(node_token, NULL, "registry.silverstream.tech",
                            1700000100), CNX_JWT_EISS);
    ck_assert_int_eq(verify(node_token, NULL, NULL, 1700000100), CNX_JWT_OK);
    ck_assert_int_eq(verify(node_token_hs512, NULL, NULL, 1700000100),
                     CNX_JWT_EALG);
}
END_TEST

START_TEST(test_sign_roundtrip)
{
    char              tok[1024];
    cnx_jwt_claims_t  c;
    cnx_jwt_expect_t  want = { .sub = "office.claw",
                               .iss = "clawnexus-registry.test" };
    int               n;

    n = cnx_jwt_sign(tok, sizeof(tok), KEY, SECRET_LEN, "office.claw",
                     "clawnexus-registry.test", 2000000000, 2000000300);
    ck_assert_int_gt(n, 0);
    ck_assert_uint_eq(strlen(tok), (size_t) n);
    ck_assert(strncmp(tok, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37) == 0);
    ck_assert_int_eq(cnx_jwt_verify(tok, (size_t) n, KEY, SECRET_LEN, &want,
                                    2000000000, &c), CNX_JWT_OK);
    ck_assert_str_eq(c.sub, "office.claw");
    ck_assert(c.exp == 2000000300);

    /* Without iss: no iss claim, and an issuer check then fails. */
    n = cnx_jwt_sign(tok, sizeof(tok), KEY, SECRET_LEN, "a\"b", NULL, 10, 20);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(cnx_jwt_verify(tok, (size_t) n, KEY, SECRET_LEN, NULL,
                                    15, &c), CNX_JWT_OK);
    ck_assert_str_eq(c.sub, "a\"b");
    ck_assert_uint_eq(c.has_iss, 0);
    ck_assert_int_eq(verify(tok, NULL, "x", 15), CNX_JWT_EISS);

    /* Capacity: exact fit works, one less fails. */
    ck_assert_int_eq(cnx_jwt_sign(tok, (size_t) n, KEY, SECRET_LEN, "a\"b",
                                  NULL, 10, 20), -1);
    ck_assert_int_eq(cnx_jwt_sign(tok, (size_t) n + 1, KEY, SECRET_LEN,
                                  "a\"b", NULL, 10, 20), n);
    ck_assert_int_eq(cnx_jwt_sign(tok, sizeof(tok), KEY, 0, "a", NULL, 1, 2),
                     -1);
}
END_TEST

START_TEST(test_algorithms)
{
    static const char *const bad[] = {
        "{\"alg\":\"none\",\"typ\":\"JWT\"}",
        "{\"alg\":\"HS512\"}",
        "{\"alg\":\"RS256\"}",
        "{\"alg\":\"hs256\"}",
        "{\"alg\":\"HS256 \"}",
        "{\"typ\":\"JWT\"}",
        "{\"alg\":null}",
        "{\"alg\":256}",
        "{\"alg\":\"HS256\",\"typ\":\"JWE\"}",
        "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(verify(mint(bad[i], GOOD), NULL, NULL, 1100)
                      == CNX_JWT_EALG, "%s", bad[i]);
    }
    /* typ is optional; escaped alg value is the same string. */
    ck_assert_int_eq(verify(mint("{\"alg\":\"HS256\"}", GOOD), NULL, NULL,
                            1100), CNX_JWT_OK);
    ck_assert_int_eq(verify(mint("{\"alg\":\"HS256\",\"typ\":\"jwt\"}", GOOD),
                            NULL, NULL, 1100), CNX_JWT_OK);
    ck_assert_int_eq(verify(mint("{\"alg\":\"HS\\u0032\\u00356\"}", GOOD),
                            NULL, NULL, 1100), CNX_JWT_OK);
}
END_TEST

/* A repeated member name is refused, whichever copy would be read. */
START_TEST(test_repeated_names)
{
    static const char *const headers[] = {
        "{\"alg\":\"HS256\",\"alg\":\"none\"}",
        "{\"alg\":\"none\",\"alg\":\"HS256\"}",
        "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"\\u0061lg\":\"none\"}",
    };
    size_t i;

    for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        ck_assert_msg(verify(mint(headers[i], GOOD), NULL, NULL, 1100)
                      == CNX_JWT_EFORMAT, "%s", headers[i]);
    }
    ck_assert_int_eq(verify(mint(HS256, "{\"sub\":\"a.claw\",\"exp\":1300,"
                                        "\"sub\":\"b.claw\"}"),
                            "b.claw", NULL, 1100), CNX_JWT_EFORMAT);
    /* An empty sub names no claw_id. */
    ck_assert_int_eq(verify(mint(HS256, "{\"sub\":\"\",\"exp\":1300}"),
                            NULL, NULL, 1100), CNX_JWT_ESUB);
    /* Distinct names are fine. */
    ck_assert_int_eq(verify(mint(HS256, GOOD), "a.claw", "reg", 1100),
                     CNX_JWT_OK);
}
END_TEST

START_TEST(test_alg_none_unsigned)
{
    /* alg:none with an empty signature part is a format error. */
    char  tok[512];
    int   n;

    n = cnx_base64url_encode(tok, sizeof(tok),
                             (const uint8_t *) "{\"alg\":\"none\"}", 14);
    tok[n++] = '.';
    n += cnx_base64url_encode(tok + n, sizeof(tok) - (size_t) n,
                              (const uint8_t *) GOOD, strlen(GOOD));
    tok[n++] = '.';
    tok[n] = '\0';
    ck_assert_int_ne(verify(tok, NULL, NULL, 1100), CNX_JWT_OK);
}
END_TEST

START_TEST(test_times)
{
    /* Leeway in verify() is 30 s. */
    ck_assert_int_eq(verify(mint(HS256, GOOD), "a.claw", "reg", 1300),
                     CNX_JWT_OK);
    ck_assert_int_eq(verify(mint(HS256, GOOD), "a.claw", "reg", 1330),
                     CNX_JWT_OK);
    ck_assert_int_eq(verify(mint(HS256, GOOD), "a.claw", "reg", 1331),
                     CNX_JWT_EEXPIRED);
    /* iat in the future beyond leeway. */
    ck_assert_int_eq(verify(mint(HS256, GOOD), "a.claw", "reg", 970),
                     CNX_JWT_OK);
    ck_assert_int_eq(verify(mint(HS256, GOOD), "a.claw", "reg", 969),
                     CNX_JWT_ENOTYET);
    /* nbf. */
    ck_assert_int_eq(verify(mint(HS256, "{\"sub\":\"s\",\"nbf\":500,"
                                 "\"exp\":900}"), NULL, NULL, 400),
                     CNX_JWT_ENOTYET);
    ck_assert_int_eq(verify(mint(HS256, "{\"sub\":\"s\",\"nbf\":500,"
                                 "\"exp\":900}"), NULL, NULL, 480),
                     CNX_JWT_OK);
    /* exp required and integral. */
    ck_assert_int_eq(verify(mint(HS256, "{\"sub\":\"s\"}"), NULL, NULL, 1),
                     CNX_JWT_EEXPIRED);
    ck_assert_int_eq(verify(mint(HS256, "{\"sub\":\"s\",\"exp\":\"9\"}"),
                            NULL, NULL, 1), CNX_JWT_EFORMAT);
    ck_assert_int_eq(verify(mint(HS256, "{\"sub\":\"s\",\"exp\":9.5}"),
                            NULL, NULL, 1), CNX_JWT_EFORMAT);
    ck_assert_int_eq(verify(mint(HS256, "{\"sub\":\"s\",\"exp\":"
                                 "99999999999999999999}"), NULL, NULL, 1),
                     CNX_JWT_EFORMAT);
    ck_assert_int_eq(verify(mint(HS256, "{\"sub\":\"s\",\"exp\":"
                                 "-9223372036854775808}"), NULL, NULL, 1),
                     CNX_JWT_EEXPIRED);
}
END_TEST

START_TEST(test_claims)
{
    char long_sub[400];

    ck_assert_int_eq(verify(mint(HS256, "{\"exp\":2000}"), NULL, NULL, 1),
                     CNX_JWT_ESUB);
    ck_assert_int_eq(verify(mint(HS256, "{\"sub\":5,\"exp\":2000}"), NULL,
                            NULL, 1), CNX_JWT_EFORMAT);
    ck_assert_int_eq(verify(mint(HS256, "{\"sub\":\"a.claw\",\"exp\":2000}"),
                            "a.claw", NULL, 1), CNX_JWT_OK);
    ck_assert_int_eq(verify(mint(HS256, "{\"sub\":\"a.claw\",\"exp\":2000}"),
                            "a.claw", "reg", 1), CNX_JWT_EISS);
    ck_assert_int_eq(verify(mint(HS256, "{\"sub\":\"a.clawX\",\"exp\":2000}"),
                            "a.claw", NULL, 1), CNX_JWT_ESUB);
    ck_assert_int_eq(verify(mint(HS256, "{\"sub\":\"a.cla\",\"exp\":2000}"),
                            "a.claw", NULL, 1), CNX_JWT_ESUB);
    /* \u0000 cannot smuggle a shorter subject. */
    ck_assert_int_eq(verify(mint(HS256, "{\"sub\":\"a.claw\\u0000x\","
                                 "\"exp\":2000}"), "a.claw", NULL, 1),
                     CNX_JWT_EFORMAT);
    snprintf(long_sub, sizeof(long_sub), "{\"sub\":\"%0300d\",\"exp\":2000}",
             0);
    ck_assert_int_eq(verify(mint(HS256, long_sub), NULL, NULL, 1),
                     CNX_JWT_EFORMAT);
    ck_assert_int_eq(verify(mint(HS256, "[1]"), NULL, NULL, 1),
                     CNX_JWT_EFORMAT);
    ck_assert_int_eq(verify(mint(HS256, "{\"sub\":\"a\",\"exp\":2000,}"),
                            NULL, NULL, 1), CNX_JWT_EFORMAT);
}
END_TEST

START_TEST(test_format)
{
    char  tok[5000];
    char  copy[sizeof(node_token)];
    size_t i;

    ck_assert_int_eq(verify("", NULL, NULL, 1), CNX_JWT_EFORMAT);
    ck_assert_int_eq(verify("a.b", NULL, NULL, 1), CNX_JWT_EFORMAT);
    ck_assert_int_eq(verify("a.b.c.d", NULL, NULL, 1), CNX_JWT_EFORMAT);
    ck_assert_int_eq(verify("..", NULL, NULL, 1), CNX_JWT_EFORMAT);
    ck_assert_int_eq(verify("!!!.e30.xx", NULL, NULL, 1), CNX_JWT_EFORMAT);

    /* Too long. */
    memset(tok, 'A', sizeof(tok) - 1);
    tok[sizeof(tok) - 1] = '\0';
    ck_assert_int_eq(verify(tok, NULL, NULL, 1), CNX_JWT_EFORMAT);

    /* Any single changed character breaks the token. */
    for (i = 0; i < sizeof(node_token) - 1; i++) {
        memcpy(copy, node_token, sizeof(node_token));
        copy[i] = copy[i] == 'A' ? 'B' : 'A';
        ck_assert_msg(verify(copy, NULL, NULL, 1700000100) != CNX_JWT_OK,
                      "changed %zu", i);
    }
    /* Truncations. */
    for (i = 0; i < sizeof(node_token) - 1; i++) {
        ck_assert(cnx_jwt_verify(node_token, i, KEY, SECRET_LEN, NULL,
                                 1700000100, NULL) != CNX_JWT_OK);
    }
    /* Padding in the signature is not base64url. */
    snprintf(tok, sizeof(tok), "%s=", node_token);
    ck_assert_int_eq(verify(tok, NULL, NULL, 1700000100), CNX_JWT_EFORMAT);
}
END_TEST

/* A relay refuses tokens minted for longer than it allows. */
START_TEST(test_max_lifetime)
{
    cnx_jwt_expect_t  want = { .sub = "a.claw", .leeway = 30,
                               .max_lifetime = 86400 };
    const char       *tok;

#define LIFE(tok, now)                                                        \
    cnx_jwt_verify(tok, strlen(tok), KEY, SECRET_LEN, &want, now, NULL)

    /* exp - iat: exactly the limit passes, one second more does not,
       whatever now is */
    tok = mint(HS256, "{\"sub\":\"a.claw\",\"iat\":1000,\"exp\":87400}");
    ck_assert_int_eq(LIFE(tok, 1000), CNX_JWT_OK);
    ck_assert_int_eq(LIFE(tok, 87000), CNX_JWT_OK);
    tok = mint(HS256, "{\"sub\":\"a.claw\",\"iat\":1000,\"exp\":87401}");
    ck_assert_int_eq(LIFE(tok, 1000), CNX_JWT_ELIFETIME);
    ck_assert_int_eq(LIFE(tok, 87000), CNX_JWT_ELIFETIME);

    /* the largest exp, with and without iat */
    tok = mint(HS256, "{\"sub\":\"a.claw\",\"iat\":1000,"
                      "\"exp\":9223372036854775807}");
    ck_assert_int_eq(LIFE(tok, 2000), CNX_JWT_ELIFETIME);
    tok = mint(HS256, "{\"sub\":\"a.claw\",\"iat\":-9223372036854775807,"
                      "\"exp\":9223372036854775807}");
    ck_assert_int_eq(LIFE(tok, 2000), CNX_JWT_ELIFETIME);
    tok = mint(HS256, "{\"sub\":\"a.claw\",\"exp\":9223372036854775807}");
    ck_assert_int_eq(LIFE(tok, 2000), CNX_JWT_ELIFETIME);

    /* no iat: what is left of it counts, from now */
    tok = mint(HS256, "{\"sub\":\"a.claw\",\"exp\":100000}");
    ck_assert_int_eq(LIFE(tok, 13600), CNX_JWT_OK);
    ck_assert_int_eq(LIFE(tok, 13599), CNX_JWT_ELIFETIME);

    /* 0 turns the check off; other checks come first */
    want.max_lifetime = 0;
    tok = mint(HS256, "{\"sub\":\"a.claw\",\"exp\":9223372036854775807}");
    ck_assert_int_eq(LIFE(tok, 2000), CNX_JWT_OK);
    want.max_lifetime = 10;
    tok = mint(HS256, "{\"sub\":\"a.claw\",\"iat\":0,\"exp\":100}");
    ck_assert_int_eq(LIFE(tok, 200), CNX_JWT_EEXPIRED);
    want.sub = "b.claw";
    tok = mint(HS256, "{\"sub\":\"a.claw\",\"iat\":0,\"exp\":100}");
    ck_assert_int_eq(LIFE(tok, 50), CNX_JWT_ELIFETIME);

#undef LIFE
}
END_TEST

/*
 * Secret rotation: a token signed with the previous key verifies while
 * that key is given as prev_key, and only then; claims are still checked.
 */
START_TEST(test_previous_key)
{
    static const uint8_t  newkey[] = "the new relay secret";
    static const uint8_t  other[] = "some other secret";
    cnx_jwt_expect_t      want = { .sub = "a.claw" };
    char                  tok[512];
    int                   n;

    /* signed with KEY, the secret being rotated out */
    n = cnx_jwt_sign(tok, sizeof(tok), KEY, SECRET_LEN, "a.claw", NULL,
                     1000, 2000);
    ck_assert_int_gt(n, 0);

#define ROT(now)                                                              \
    cnx_jwt_verify(tok, (size_t) n, newkey, sizeof(newkey) - 1, &want, now,  \
                   NULL)

    ck_assert_int_eq(ROT(1500), CNX_JWT_ESIG);
    want.prev_key = other;
    want.prev_keylen = sizeof(other) - 1;
    ck_assert_int_eq(ROT(1500), CNX_JWT_ESIG);
    want.prev_key = KEY;
    want.prev_keylen = 0;
    ck_assert_int_eq(ROT(1500), CNX_JWT_ESIG);
    want.prev_keylen = SECRET_LEN;
    ck_assert_int_eq(ROT(1500), CNX_JWT_OK);
    ck_assert_int_eq(ROT(2100), CNX_JWT_EEXPIRED);
    want.sub = "b.claw";
    ck_assert_int_eq(ROT(1500), CNX_JWT_ESUB);

    /* the current key still works with a previous one set */
    want.sub = "a.claw";
    n = cnx_jwt_sign(tok, sizeof(tok), newkey, sizeof(newkey) - 1, "a.claw",
                     NULL, 1000, 2000);
    ck_assert_int_eq(ROT(1500), CNX_JWT_OK);
#undef ROT
}
END_TEST

START_TEST(test_strerror)
{
    int  e;

    for (e = -8; e <= 0; e++) {
        ck_assert(cnx_jwt_strerror(e) != NULL);
        ck_assert_str_ne(cnx_jwt_strerror(e), "unknown error");
    }
    ck_assert_str_eq(cnx_jwt_strerror(-99), "unknown error");
}
END_TEST

int
main(void)
{
    Suite   *s = suite_create("jwt");
    TCase   *tc = tcase_create("core");
    SRunner *sr;
    int      failed;

    if (sodium_init() < 0) {
        return EXIT_FAILURE;
    }
    tcase_add_test(tc, test_node_token);
    tcase_add_test(tc, test_sign_roundtrip);
    tcase_add_test(tc, test_algorithms);
    tcase_add_test(tc, test_alg_none_unsigned);
    tcase_add_test(tc, test_times);
    tcase_add_test(tc, test_claims);
    tcase_add_test(tc, test_format);
    tcase_add_test(tc, test_max_lifetime);
    tcase_add_test(tc, test_previous_key);
    tcase_add_test(tc, test_strerror);
    tcase_add_test(tc, test_repeated_names);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
