/* Unit tests: the registry protocol (cnx_registry.h), both sides. */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cnx_base64.h"
#include "cnx_registry.h"

static uint8_t  pk[32], sk[64];

static void
setup(void)
{
    ck_assert_int_ge(sodium_init(), 0);
    crypto_sign_keypair(pk, sk);
}

/* A body the way the daemon sends it: JSON.stringify of the envelope. */
static int
signed_body(char *out, size_t cap, const char *payload)
{
    return cnx_reg_build_request(out, cap, payload, strlen(payload), sk);
}

START_TEST(test_parse_verify_roundtrip)
{
    char           body[1024];
    cnx_reg_req_t  req;
    const char    *payload =
        "{\"claw_id\":\"main\",\"metadata\":{\"software_version\":\"0.4.0\","
        "\"uptime_hours\":0,\"os_platform\":\"linux\",\"instance_count\":1},"
        "\"agent_card\":{\"skills_count\":1,\"skills\":[\"General\"]}}";
    int            n;

    n = signed_body(body, sizeof(body), payload);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(cnx_reg_parse(body, n, &req), CNX_REG_OK);
    ck_assert_int_eq(cnx_reg_verify(&req), CNX_REG_OK);
    ck_assert_str_eq(req.claw_id, "main");
    ck_assert_mem_eq(req.pubkey, pk, 32);
    /* the payload slice is the raw text, byte for byte */
    ck_assert_uint_eq(req.payload.len, strlen(payload));
    ck_assert_mem_eq(req.payload.p, payload, req.payload.len);
}
END_TEST

START_TEST(test_raw_text_is_signed)
{
    char           body[1024], *p;
    cnx_reg_req_t  req;
    int            n;

    /* spacing is part of what was signed: kept as sent, verifies */
    n = signed_body(body, sizeof(body), "{ \"claw_id\" : \"a\\u0062\" }");
    ck_assert_int_eq(cnx_reg_parse(body, n, &req), CNX_REG_OK);
    ck_assert_str_eq(req.claw_id, "ab");
    ck_assert_int_eq(cnx_reg_verify(&req), CNX_REG_OK);

    /* one byte of the payload changed after signing: 401 */
    p = strstr(body, "\"a\\u0062\"");
    p[1] = 'c';
    ck_assert_int_eq(cnx_reg_parse(body, n, &req), CNX_REG_OK);
    ck_assert_int_eq(cnx_reg_verify(&req), CNX_REG_ESIG);
    ck_assert_int_eq(cnx_reg_status(CNX_REG_ESIG), 401);
}
END_TEST

START_TEST(test_bad_envelopes)
{
    char           body[1024];
    cnx_reg_req_t  req;
    char           sig[89];
    static const char *bad[] = {
        "",
        "{",
        "[]",
        "{\"payload\":{\"claw_id\":\"a\"}}",
        "{\"payload\":\"x\",\"pubkey\":\"ed25519:00\",\"signature\":\"\"}",
    };
    size_t         i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_lt(cnx_reg_parse(bad[i], strlen(bad[i]), &req), 0);
        ck_assert_int_eq(cnx_reg_status(cnx_reg_parse(bad[i], strlen(bad[i]),
                                                      &req)), 400);
    }

    /* a short signature, a key without its prefix */
    memset(sig, 'A', 84);
    sig[84] = '\0';
    snprintf(body, sizeof(body), "{\"payload\":{\"claw_id\":\"a\"},"
             "\"pubkey\":\"ed25519:%064d\",\"signature\":\"%s\"}", 0, sig);
    ck_assert_int_eq(cnx_reg_parse(body, strlen(body), &req), CNX_REG_EFIELD);
    snprintf(body, sizeof(body), "{\"payload\":{\"claw_id\":\"a\"},"
             "\"pubkey\":\"%064d\",\"signature\":\"\"}", 0);
    ck_assert_int_eq(cnx_reg_parse(body, strlen(body), &req), CNX_REG_EFIELD);
}
END_TEST

START_TEST(test_claw_ids)
{
    char           body[2048], payload[600], name[300];
    cnx_reg_req_t  req;
    int            n;

    n = signed_body(body, sizeof(body), "{\"claw_id\":\"a\\u0001b\"}");
    ck_assert_int_eq(cnx_reg_parse(body, n, &req), CNX_REG_ECLAW_ID);
    n = signed_body(body, sizeof(body), "{\"claw_id\":\"\"}");
    ck_assert_int_eq(cnx_reg_parse(body, n, &req), CNX_REG_ECLAW_ID);
    n = signed_body(body, sizeof(body), "{\"claw_id\":7}");
    ck_assert_int_eq(cnx_reg_parse(body, n, &req), CNX_REG_ECLAW_ID);
    n = signed_body(body, sizeof(body), "{\"id\":\"x\"}");
    ck_assert_int_eq(cnx_reg_parse(body, n, &req), CNX_REG_ECLAW_ID);

    /* 250 bytes + ".claw" is the longest name the relay takes */
    snprintf(payload, sizeof(payload), "{\"claw_id\":\"%0250d\"}", 0);
    n = signed_body(body, sizeof(body), payload);
    ck_assert_int_eq(cnx_reg_parse(body, n, &req), CNX_REG_OK);
    ck_assert_int_eq(cnx_reg_name(name, sizeof(name), req.claw_id,
                                  req.claw_id_len), 255);
    snprintf(payload, sizeof(payload), "{\"claw_id\":\"%0251d\"}", 0);
    n = signed_body(body, sizeof(body), payload);
    ck_assert_int_eq(cnx_reg_parse(body, n, &req), CNX_REG_OK);
    ck_assert_int_eq(cnx_reg_name(name, sizeof(name), req.claw_id,
                                  req.claw_id_len), -1);

    ck_assert_int_eq(cnx_reg_name(name, sizeof(name), "main", 4), 9);
    ck_assert_str_eq(name, "main.claw");
    ck_assert_int_eq(cnx_reg_name(name, sizeof(name), "main.claw", 9), 9);
    ck_assert_str_eq(name, "main.claw");
    ck_assert_int_eq(cnx_reg_name(name, sizeof(name), "office-1", 8), 13);
    ck_assert_str_eq(name, "office-1.claw");
}
END_TEST

START_TEST(test_too_big)
{
    static char    body[CNX_REG_BODY_MAX + 2];
    cnx_reg_req_t  req;

    memset(body, ' ', sizeof(body));
    ck_assert_int_eq(cnx_reg_parse(body, sizeof(body), &req),
                     CNX_REG_ETOOBIG);
    ck_assert_int_eq(cnx_reg_status(CNX_REG_ETOOBIG), 413);
}
END_TEST

START_TEST(test_pubkey_text)
{
    char     txt[CNX_REG_PUBKEY_TEXT + 1];
    uint8_t  back[32];

    cnx_reg_pubkey_format(txt, pk);
    ck_assert_uint_eq(strlen(txt), CNX_REG_PUBKEY_TEXT);
    ck_assert_int_eq(strncmp(txt, "ed25519:", 8), 0);
    ck_assert_int_eq(cnx_reg_pubkey_parse(back, txt, strlen(txt)), 0);
    ck_assert_mem_eq(back, pk, 32);
    ck_assert_int_eq(cnx_reg_pubkey_parse(back, txt, strlen(txt) - 1), -1);
    txt[10] = 'g';
    ck_assert_int_eq(cnx_reg_pubkey_parse(back, txt, strlen(txt)), -1);
}
END_TEST

START_TEST(test_replies)
{
    char     out[2048], name[64], tok[64], hint[64], err[128];
    int64_t  ttl;
    int      n;

    n = cnx_reg_build_register(out, sizeof(out), 1, "main.claw", "main", pk,
                               "relay.example:443", 1700000000, 1700000001);
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(out, "\"action\":\"registered\""));
    ck_assert_int_eq(cnx_reg_parse_register_reply(out, n, name, sizeof(name),
                                                  err, sizeof(err)), 0);
    ck_assert_str_eq(name, "main.claw");

    n = cnx_reg_build_token(out, sizeof(out), "a.b.c", "relay.example:443",
                            7200);
    ck_assert_str_eq(out, "{\"token\":\"a.b.c\",\"relay_hint\":"
                     "\"relay.example:443\",\"expires_in\":7200}");
    ck_assert_int_eq(cnx_reg_parse_token_reply(out, n, tok, sizeof(tok),
                                               hint, sizeof(hint), &ttl,
                                               err, sizeof(err)), 0);
    ck_assert_str_eq(tok, "a.b.c");
    ck_assert_str_eq(hint, "relay.example:443");
    ck_assert_int_eq(ttl, 7200);

    n = cnx_reg_build_error(out, sizeof(out), "name \"x\" taken");
    ck_assert_str_eq(out, "{\"error\":\"name \\\"x\\\" taken\"}");
    ck_assert_int_eq(cnx_reg_parse_token_reply(out, n, tok, sizeof(tok),
                                               hint, sizeof(hint), &ttl,
                                               err, sizeof(err)), -1);
    ck_assert_str_eq(err, "name \"x\" taken");

    n = cnx_reg_build_resolve(out, sizeof(out), "main.claw", pk, "h:1", 1, 2);
    ck_assert_ptr_nonnull(strstr(out, "\"clawId\":\"main\""));
    ck_assert_int_eq(cnx_reg_parse_register_reply(out, n, name, sizeof(name),
                                                  err, sizeof(err)), 0);

    ck_assert_int_eq(cnx_reg_build_token(out, 10, "a.b.c", "h", 1), -1);
}
END_TEST

START_TEST(test_limit)
{
    cnx_reg_limit_t  *l;
    int64_t           t = 1000000;
    int               i, ok;

    l = malloc(cnx_reg_limit_size(64));
    cnx_reg_limit_init(l, 64, 60);

    /* a minute's worth at once, then one a second */
    for (i = 0, ok = 0; i < 100; i++) {
        ok += cnx_reg_limit_take(l, "k1", 2, t);
    }
    ck_assert_int_eq(ok, 60);
    ck_assert_int_eq(cnx_reg_limit_take(l, "k1", 2, t + 999), 0);
    ck_assert_int_eq(cnx_reg_limit_take(l, "k1", 2, t + 1000), 1);
    ck_assert_int_eq(cnx_reg_limit_take(l, "k1", 2, t + 1001), 0);

    /* a long pause refills to the burst only */
    for (i = 0, ok = 0; i < 100; i++) {
        ok += cnx_reg_limit_take(l, "k1", 2, t + 3600000);
    }
    ck_assert_int_eq(ok, 60);

    /* off */
    cnx_reg_limit_init(l, 64, 0);
    for (i = 0; i < 1000; i++) {
        ck_assert_int_eq(cnx_reg_limit_take(l, "k1", 2, t), 1);
    }
    free(l);
}
END_TEST

START_TEST(test_limit_keys_apart)
{
    cnx_reg_limit_t  *l;
    char              k[16];
    int               i, ok;

    l = malloc(cnx_reg_limit_size(4096));
    cnx_reg_limit_init(l, 4096, 2);

    /*
     * distinct keys almost always land in distinct slots: the hash is keyed
     * at random, so 100 keys in 4096 slots share about 1.2 slots on
     * average (each sharing costs 2 takes); 15 shared slots would happen
     * far less often than once in 10^9 runs, one slot for all keys never
     */
    for (i = 0, ok = 0; i < 100; i++) {
        snprintf(k, sizeof(k), "key%d", i);
        ok += cnx_reg_limit_take(l, k, strlen(k), 5);
        ok += cnx_reg_limit_take(l, k, strlen(k), 5);
    }
    ck_assert_int_ge(ok, 170);
    free(l);
}
END_TEST

int
main(void)
{
    Suite   *s = suite_create("registry");
    TCase   *tc = tcase_create("core");
    SRunner *sr;
    int      failed;

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_parse_verify_roundtrip);
    tcase_add_test(tc, test_raw_text_is_signed);
    tcase_add_test(tc, test_bad_envelopes);
    tcase_add_test(tc, test_claw_ids);
    tcase_add_test(tc, test_too_big);
    tcase_add_test(tc, test_pubkey_text);
    tcase_add_test(tc, test_replies);
    tcase_add_test(tc, test_limit);
    tcase_add_test(tc, test_limit_keys_apart);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
