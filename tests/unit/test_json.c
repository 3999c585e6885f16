/* Unit tests: JSON tokenizer, string decoding, numbers, builder. */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_json.h"

static cnx_json_tok_t  toks[256];

static int
parse(const char *s)
{
    return cnx_json_parse(s, strlen(s), toks, 256);
}

START_TEST(test_valid_documents)
{
    static const char *const ok[] = {
        "{}", "[]", "0", "-0", "1.5e10", "-1E-3", "\"\"", "true", "false",
        "null", " \t\r\n{ \"a\" : [ 1 , 2 ] } \n", "[[[]]]",
        "{\"a\":{\"b\":{\"c\":null}}}", "\"\\u00e9\\ud83d\\ude00\"",
        "\"\xc3\xa9\"", "[1,\"x\",{},[],true]", "123456789012345678901234",
    };
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        ck_assert_msg(parse(ok[i]) > 0, "rejected %s", ok[i]);
    }
}
END_TEST

START_TEST(test_invalid_documents)
{
    static const char *const bad[] = {
        "", " ", "{", "}", "[", "[1,]", "{\"a\":1,}", "{,}", "{\"a\"}",
        "{\"a\" 1}", "{a:1}", "{'a':1}", "[1 2]", "01", "1.", ".5", "+1",
        "1e", "-", "--1", "0x10", "NaN", "Infinity", "tru", "truex", "nul",
        "\"abc", "\"a\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"a\nb\"",
        "\"tab\there\"", "{} {}", "[] x", "1 2", "{\"a\":1}}",
        "\"\xff\"", "\"\xc0\x80\"", "\"\xed\xa0\x80\"", "[\"\xe2\x82\"]",
        "[1]]", "{\"a\":[}", "[{]}", "\"\\\"",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(parse(bad[i]) == CNX_JSON_EINVAL, "accepted %s",
                      bad[i]);
    }
    /* NUL bytes are not whitespace and not allowed in strings. */
    ck_assert_int_eq(cnx_json_parse("{}\0", 3, toks, 256), CNX_JSON_EINVAL);
    ck_assert_int_eq(cnx_json_parse("\"a\0\"", 4, toks, 256),
                     CNX_JSON_EINVAL);
}
END_TEST

START_TEST(test_every_prefix_rejected)
{
    const char *doc = "{\"type\":\"DATA\",\"a\":[1,-2.5e3,true,null,"
                      "{\"k\":\"v\\u00e9\"}],\"z\":false}";
    size_t      n = strlen(doc), i;

    ck_assert_int_gt(cnx_json_parse(doc, n, toks, 256), 0);
    for (i = 0; i < n; i++) {
        ck_assert_msg(cnx_json_parse(doc, i, toks, 256) < 0, "prefix %zu", i);
    }
}
END_TEST

START_TEST(test_token_layout)
{
    const char *doc = "{\"a\":[1,{\"x\":2}],\"b\":\"s\\\"t\",\"c\":{}}";
    int         n = parse(doc);

    /* 0 {  1 "a" 2 [  3 1  4 {  5 "x" 6 2  7 "b" 8 "s\"t"  9 "c" 10 {} */
    ck_assert_int_eq(n, 11);
    ck_assert_int_eq(toks[0].type, CNX_JSON_OBJECT);
    ck_assert_uint_eq(toks[0].size, 3);
    ck_assert_int_eq(toks[0].next, 11);
    ck_assert_uint_eq(toks[0].start, 0);
    ck_assert_uint_eq(toks[0].end, strlen(doc));
    ck_assert_int_eq(toks[2].type, CNX_JSON_ARRAY);
    ck_assert_uint_eq(toks[2].size, 2);
    ck_assert_int_eq(toks[2].next, 7);
    ck_assert_int_eq(toks[4].type, CNX_JSON_OBJECT);
    ck_assert_int_eq(toks[4].next, 7);
    ck_assert_int_eq(toks[8].type, CNX_JSON_STRING);
    ck_assert_int_eq(toks[8].escaped, 1);
    ck_assert_int_eq(toks[1].escaped, 0);
    ck_assert_uint_eq(toks[8].end - toks[8].start, 4);   /* s\"t raw */
    ck_assert_int_eq(toks[10].type, CNX_JSON_OBJECT);
    ck_assert_uint_eq(toks[10].size, 0);

    ck_assert_int_eq(cnx_json_obj_get(doc, toks, n, 0, "a"), 2);
    ck_assert_int_eq(cnx_json_obj_get(doc, toks, n, 0, "b"), 8);
    ck_assert_int_eq(cnx_json_obj_get(doc, toks, n, 0, "c"), 10);
    ck_assert_int_eq(cnx_json_obj_get(doc, toks, n, 0, "x"), -1);
    ck_assert_int_eq(cnx_json_obj_get(doc, toks, n, 4, "x"), 6);
    ck_assert_int_eq(cnx_json_obj_get(doc, toks, n, 2, "x"), -1);
    ck_assert_int_eq(cnx_json_obj_get(doc, toks, n, 99, "a"), -1);
}
END_TEST

START_TEST(test_nested_config)
{
    const char *doc = "{\"relay\":{\"url\":\"wss://r.example/relay\","
                      "\"port\":18800},\"name\":\"office.claw\"}";
    char        out[64];
    size_t      len;
    int64_t     v;
    int         n = parse(doc), r, u, p;

    ck_assert_int_gt(n, 0);
    r = cnx_json_obj_get(doc, toks, n, 0, "relay");
    ck_assert_int_ge(r, 0);
    u = cnx_json_obj_get(doc, toks, n, r, "url");
    ck_assert_int_ge(u, 0);
    ck_assert_int_eq(cnx_json_str_decode(doc, &toks[u], out, sizeof(out),
                                         &len), 0);
    ck_assert_str_eq(out, "wss://r.example/relay");
    p = cnx_json_obj_get(doc, toks, n, r, "port");
    ck_assert_int_eq(cnx_json_tok_int64(doc, &toks[p], &v), 0);
    ck_assert_int_eq(v, 18800);
    ck_assert_int_ge(cnx_json_obj_get(doc, toks, n, 0, "name"), 0);
}
END_TEST

START_TEST(test_escaped_and_duplicate_keys)
{
    /* "\u0074ype" is "type"; the first of two equal keys wins. */
    const char *doc = "{\"\\u0074ype\":\"A\",\"type\":\"B\",\"t\\\"\":1}";
    int         n = parse(doc), i;

    ck_assert_int_gt(n, 0);
    i = cnx_json_obj_get(doc, toks, n, 0, "type");
    ck_assert_int_eq(i, 2);
    ck_assert(cnx_json_str_eq(doc, &toks[i], "A", 1));
    ck_assert_int_eq(cnx_json_obj_get(doc, toks, n, 0, "t\""), 6);
    ck_assert_int_eq(cnx_json_obj_get(doc, toks, n, 0, "typ"), -1);
    ck_assert_int_eq(cnx_json_obj_get(doc, toks, n, 0, "typee"), -1);
}
END_TEST

START_TEST(test_str_decode)
{
    const char *doc = "[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\","
                      "\"\\u00e9\\u20ac\\ud83d\\ude00\", \"\\ud800\","
                      "\"\\udc00\", \"\\ud800x\", \"\\u0000\","
                      "\"\\ud800\\u0041\","
                      "\"plain\"]";
    char        out[64];
    size_t      len;
    int         n = parse(doc);

    ck_assert_int_eq(n, 9);
    ck_assert_int_eq(cnx_json_str_decode(doc, &toks[1], out, sizeof(out),
                                         &len), 0);
    ck_assert_uint_eq(len, 12);
    ck_assert(memcmp(out, "a\"b\\c/d\b\f\n\r\t", 12) == 0);

    ck_assert_int_eq(cnx_json_str_decode(doc, &toks[2], out, sizeof(out),
                                         &len), 0);
    ck_assert_str_eq(out, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");

    /* Lone surrogates, NUL, bad pair. */
    ck_assert_int_eq(cnx_json_str_decode(doc, &toks[3], out, 64, &len), -1);
    ck_assert_int_eq(cnx_json_str_decode(doc, &toks[4], out, 64, &len), -1);
    ck_assert_int_eq(cnx_json_str_decode(doc, &toks[5], out, 64, &len), -1);
    ck_assert_int_eq(cnx_json_str_decode(doc, &toks[6], out, 64, &len), -1);
    ck_assert_int_eq(cnx_json_str_decode(doc, &toks[7], out, 64, &len), -1);

    /* Capacity includes the NUL. */
    ck_assert_int_eq(cnx_json_str_decode(doc, &toks[8], out, 5, &len), -1);
    ck_assert_int_eq(cnx_json_str_decode(doc, &toks[8], out, 6, &len), 0);
    ck_assert_str_eq(out, "plain");
    /* Not a string. */
    ck_assert_int_eq(cnx_json_str_decode(doc, &toks[0], out, 64, &len), -1);
    ck_assert(!cnx_json_str_eq(doc, &toks[3], "x", 1));
}
END_TEST

START_TEST(test_int64)
{
    static const struct { const char *s; int ok; int64_t v; } c[] = {
        { "0", 1, 0 }, { "-0", 1, 0 }, { "42", 1, 42 }, { "-42", 1, -42 },
        { "9223372036854775807", 1, INT64_MAX },
        { "-9223372036854775808", 1, INT64_MIN },
        { "9223372036854775808", 0, 0 },
        { "-9223372036854775809", 0, 0 },
        { "99999999999999999999", 0, 0 },
        { "1.0", 0, 0 }, { "1e3", 0, 0 }, { "1E3", 0, 0 },
        { "\"5\"", 0, 0 }, { "true", 0, 0 },
    };
    int64_t  v;
    size_t   i;

    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        ck_assert_int_gt(parse(c[i].s), 0);
        v = 12345;
        ck_assert_msg((cnx_json_tok_int64(c[i].s, &toks[0], &v) == 0)
                      == c[i].ok, "%s", c[i].s);
        if (c[i].ok) {
            ck_assert(v == c[i].v);
        }
    }
}
END_TEST

START_TEST(test_bool)
{
    int  v = -1;

    parse("true");
    ck_assert_int_eq(cnx_json_tok_bool(&toks[0], &v), 0);
    ck_assert_int_eq(v, 1);
    parse("false");
    ck_assert_int_eq(cnx_json_tok_bool(&toks[0], &v), 0);
    ck_assert_int_eq(v, 0);
    parse("null");
    ck_assert_int_eq(cnx_json_tok_bool(&toks[0], &v), -1);
    parse("1");
    ck_assert_int_eq(cnx_json_tok_bool(&toks[0], &v), -1);
}
END_TEST

START_TEST(test_limits)
{
    char            doc[512];
    cnx_json_tok_t  few[3];
    int             i;

    /* Depth bomb: 32 levels pass, 33 fail, 200 fail fast. */
    for (i = 0; i < 32; i++) {
        doc[i] = '[';
        doc[64 + i] = ']';
    }
    memmove(doc + 32, doc + 64, 32);
    ck_assert_int_eq(cnx_json_parse(doc, 64, toks, 256), 32);
    for (i = 0; i < 200; i++) {
        doc[i] = '[';
    }
    ck_assert_int_eq(cnx_json_parse(doc, 200, toks, 256), CNX_JSON_EDEPTH);
    for (i = 0; i < 33; i++) {
        doc[i] = '{';
        doc[i] = '[';
        doc[33 + i] = ']';
    }
    ck_assert_int_eq(cnx_json_parse(doc, 66, toks, 256), CNX_JSON_EDEPTH);

    /* Too many tokens. */
    ck_assert_int_eq(cnx_json_parse("[1,2]", 5, few, 3), 3);
    ck_assert_int_eq(cnx_json_parse("[1,2,3]", 7, few, 3), CNX_JSON_ENOMEM);
    ck_assert_int_eq(cnx_json_parse("{\"a\":1,\"b\":2}", 13, few, 3),
                     CNX_JSON_ENOMEM);
    ck_assert_int_eq(cnx_json_parse("1", 1, few, 0), CNX_JSON_ENOMEM);
}
END_TEST

START_TEST(test_escape)
{
    char    out[64];
    size_t  n;
    const char in[] = "a\"b\\c\n\x01\x1f\t\xc3\xa9/";

    n = cnx_json_escape(out, sizeof(out), in, sizeof(in) - 1);
    ck_assert_uint_eq(n, strlen("a\\\"b\\\\c\\n\\u0001\\u001f\\t\xc3\xa9/"));
    ck_assert(memcmp(out, "a\\\"b\\\\c\\n\\u0001\\u001f\\t\xc3\xa9/", n) == 0);

    /* Returns the needed length and writes nothing past cap. */
    memset(out, 'X', sizeof(out));
    ck_assert_uint_eq(cnx_json_escape(out, 3, "a\nb", 3), 4);
    ck_assert_int_eq(out[3], 'X');
    ck_assert_uint_eq(cnx_json_escape(NULL, 0, "\x01", 1), 6);
}
END_TEST

START_TEST(test_escape_roundtrip)
{
    char            in[128], esc[1024], doc[1100], out[256];
    size_t          n, len;
    int             i;

    for (i = 0; i < 127; i++) {
        in[i] = (char) (i + 1);          /* every ASCII byte but NUL */
    }
    n = cnx_json_escape(esc, sizeof(esc), in, 127);
    ck_assert_uint_lt(n, sizeof(esc));
    doc[0] = '"';
    memcpy(doc + 1, esc, n);
    doc[n + 1] = '"';
    ck_assert_int_eq(cnx_json_parse(doc, n + 2, toks, 256), 1);
    ck_assert_int_eq(cnx_json_str_decode(doc, &toks[0], out, sizeof(out),
                                         &len), 0);
    ck_assert_uint_eq(len, 127);
    ck_assert(memcmp(out, in, 127) == 0);
}
END_TEST

START_TEST(test_builder)
{
    char            out[256];
    cnx_json_buf_t  b;
    int             n;

    cnx_json_buf_init(&b, out, sizeof(out));
    cnx_json_buf_obj_open(&b);
    cnx_json_buf_key(&b, "type");
    cnx_json_buf_cstr(&b, "DATA");
    cnx_json_buf_key(&b, "n");
    cnx_json_buf_int(&b, -9223372036854775807LL - 1);
    cnx_json_buf_key(&b, "list");
    cnx_json_buf_arr_open(&b);
    cnx_json_buf_int(&b, 1);
    cnx_json_buf_bool(&b, 1);
    cnx_json_buf_null(&b);
    cnx_json_buf_obj_open(&b);
    cnx_json_buf_obj_close(&b);
    cnx_json_buf_str(&b, "q\"\n", 3);
    cnx_json_buf_arr_close(&b);
    cnx_json_buf_key(&b, "k\"ey");
    cnx_json_buf_str_escaped(&b, "a\\nb", 4);
    cnx_json_buf_key(&b, "raw");
    cnx_json_buf_raw(&b, "[false]", 7);
    cnx_json_buf_obj_close(&b);
    n = cnx_json_buf_finish(&b);
    ck_assert_str_eq(out, "{\"type\":\"DATA\",\"n\":-9223372036854775808,"
                     "\"list\":[1,true,null,{},\"q\\\"\\n\"],"
                     "\"k\\\"ey\":\"a\\nb\",\"raw\":[false]}");
    ck_assert_int_eq(n, (int) strlen(out));
    ck_assert_int_gt(parse(out), 0);
}
END_TEST

START_TEST(test_builder_overflow_and_misuse)
{
    char            out[16];
    cnx_json_buf_t  b;
    size_t          cap;

    /* Exactly fitting content without room for the NUL still succeeds. */
    cnx_json_buf_init(&b, out, 2);
    cnx_json_buf_obj_open(&b);
    cnx_json_buf_obj_close(&b);
    ck_assert_int_eq(cnx_json_buf_finish(&b), 2);

    for (cap = 0; cap < 13; cap++) {
        cnx_json_buf_init(&b, out, cap);
        cnx_json_buf_obj_open(&b);
        cnx_json_buf_key(&b, "ab");
        cnx_json_buf_cstr(&b, "cdef");
        cnx_json_buf_obj_close(&b);
        ck_assert_int_eq(cnx_json_buf_finish(&b), -1);
    }
    cnx_json_buf_init(&b, out, 14);
    cnx_json_buf_obj_open(&b);
    cnx_json_buf_key(&b, "ab");
    cnx_json_buf_cstr(&b, "cdef");
    cnx_json_buf_obj_close(&b);
    ck_assert_int_eq(cnx_json_buf_finish(&b), 13);

    /* Unbalanced, key outside an object, key without value. */
    cnx_json_buf_init(&b, out, sizeof(out));
    cnx_json_buf_obj_open(&b);
    ck_assert_int_eq(cnx_json_buf_finish(&b), -1);
    cnx_json_buf_init(&b, out, sizeof(out));
    cnx_json_buf_key(&b, "a");
    ck_assert_int_eq(cnx_json_buf_finish(&b), -1);
    cnx_json_buf_init(&b, out, sizeof(out));
    cnx_json_buf_obj_open(&b);
    cnx_json_buf_key(&b, "a");
    cnx_json_buf_obj_close(&b);
    ck_assert_int_eq(cnx_json_buf_finish(&b), -1);
    cnx_json_buf_init(&b, out, sizeof(out));
    cnx_json_buf_obj_close(&b);
    ck_assert_int_eq(cnx_json_buf_finish(&b), -1);
}
END_TEST

/*
 * Every byte value at every position of a long string (the 16- and 8-byte
 * fast paths and their tails), through the parser and the string scanner.
 */
START_TEST(test_string_bytes_every_position)
{
    char      doc[72];
    unsigned  pos, b;
    int       want, r, esc;
    long      q;

    for (pos = 1; pos <= sizeof(doc) - 2; pos++) {
        for (b = 0; b < 256; b++) {
            memset(doc, 'a', sizeof(doc));
            doc[0] = '"';
            doc[sizeof(doc) - 1] = '"';
            doc[pos] = (char) b;
            want = b >= 0x20 && b < 0x80 && b != '"' && b != '\\';
            r = cnx_json_parse(doc, sizeof(doc), toks, 256);
            ck_assert_msg((r == 1) == want, "byte %02x at %u: %d", b, pos, r);
            q = cnx_json_scan_string(doc, sizeof(doc), 0, &esc);
            ck_assert_msg(q == (want ? (long) sizeof(doc) - 1
                                : b == '"' ? (long) pos : -1),
                          "scan: byte %02x at %u: %ld", b, pos, q);
        }

        /* an escape and a two-byte character there are fine too */
        if (pos + 2 <= sizeof(doc) - 2) {
            memcpy(doc + pos, "\\n", 2);
            q = cnx_json_scan_string(doc, sizeof(doc), 0, &esc);
            ck_assert(q == (long) sizeof(doc) - 1 && esc == 1);
            memcpy(doc + pos, "\xc3\xa9", 2);
            q = cnx_json_scan_string(doc, sizeof(doc), 0, &esc);
            ck_assert(q == (long) sizeof(doc) - 1 && esc == 0);
            ck_assert_int_eq(cnx_json_scan_string(doc, pos + 1, 0, &esc), -1);
        }
    }
    ck_assert_int_eq(cnx_json_scan_string("x\"", 2, 0, &esc), -1);
    ck_assert_int_eq(cnx_json_scan_string("\"", 1, 0, &esc), -1);
    ck_assert_int_eq(cnx_json_scan_string("\"\"", 2, 2, &esc), -1);
}
END_TEST

/* Pseudo-random mutations of a valid message never crash the parser. */
START_TEST(test_mutations)
{
    const char *seed = "{\"type\":\"JOIN\",\"claw_id\":\"a.claw\",\"x\":"
                       "[1,2.5,{\"y\":\"\\u00e9\"}],\"b\":true}";
    char        doc[128];
    size_t      n = strlen(seed);
    uint32_t    rng = 12345;
    int         i, k, r;

    for (i = 0; i < 20000; i++) {
        memcpy(doc, seed, n);
        for (k = 0; k < 3; k++) {
            rng = rng * 1103515245u + 12345u;
            doc[(rng >> 8) % n] = (char) (rng >> 20);
        }
        r = cnx_json_parse(doc, n, toks, 256);
        ck_assert(r > 0 || r == CNX_JSON_EINVAL);
        if (r > 0) {
            ck_assert_int_eq(toks[0].next, r);
        }
    }
}
END_TEST

int
main(void)
{
    Suite   *s = suite_create("json");
    TCase   *tc = tcase_create("core");
    SRunner *sr;
    int      failed;

    tcase_add_test(tc, test_valid_documents);
    tcase_add_test(tc, test_invalid_documents);
    tcase_add_test(tc, test_every_prefix_rejected);
    tcase_add_test(tc, test_token_layout);
    tcase_add_test(tc, test_nested_config);
    tcase_add_test(tc, test_escaped_and_duplicate_keys);
    tcase_add_test(tc, test_str_decode);
    tcase_add_test(tc, test_int64);
    tcase_add_test(tc, test_bool);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_escape);
    tcase_add_test(tc, test_escape_roundtrip);
    tcase_add_test(tc, test_builder);
    tcase_add_test(tc, test_builder_overflow_and_misuse);
    tcase_add_test(tc, test_string_bytes_every_position);
    tcase_add_test(tc, test_mutations);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
