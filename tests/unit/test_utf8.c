/* Unit tests: incremental UTF-8 validation. */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_utf8.h"

typedef struct {
    const char  *bytes;
    size_t       len;
    int          valid;
} utf8_case_t;

#define C(s, v)  { s, sizeof(s) - 1, v }

static const utf8_case_t cases[] = {
    C("", 1),
    C("hello, world", 1),
    C("\x7f", 1),
    C("\xc2\x80", 1),                 /* U+0080 */
    C("\xdf\xbf", 1),                 /* U+07FF */
    C("\xe0\xa0\x80", 1),             /* U+0800 */
    C("\xed\x9f\xbf", 1),             /* U+D7FF */
    C("\xee\x80\x80", 1),             /* U+E000 */
    C("\xef\xbf\xbf", 1),             /* U+FFFF */
    C("\xf0\x90\x80\x80", 1),         /* U+10000 */
    C("\xf4\x8f\xbf\xbf", 1),         /* U+10FFFF */
    C("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 1), /* kosme */
    C("\x80", 0),                     /* lone continuation */
    C("\xbf", 0),
    C("\xc0\x80", 0),                 /* overlong NUL */
    C("\xc1\xbf", 0),                 /* overlong */
    C("\xe0\x80\x80", 0),             /* overlong 3-byte */
    C("\xe0\x9f\xbf", 0),
    C("\xf0\x80\x80\x80", 0),         /* overlong 4-byte */
    C("\xf0\x8f\xbf\xbf", 0),
    C("\xed\xa0\x80", 0),             /* U+D800 surrogate */
    C("\xed\xbf\xbf", 0),             /* U+DFFF */
    C("\xed\xa0\x80\xed\xb0\x80", 0), /* CESU pair */
    C("\xf4\x90\x80\x80", 0),         /* U+110000 */
    C("\xf5\x80\x80\x80", 0),
    C("\xf8\x88\x80\x80\x80", 0),     /* 5-byte form */
    C("\xfe", 0),
    C("\xff", 0),
    C("\xc2", 0),                     /* truncated */
    C("\xe1\x80", 0),
    C("\xf0\x90\x80", 0),
    C("\xc2\x41", 0),                 /* ASCII where continuation needed */
    C("abcdefgh\xc2\x80ijklmnop", 1), /* word fast path around a char */
    C("abcdefghijklmnop\x80", 0),
    C("abcdefgh\xe0\x80\x80zzzzzzzz", 0),
};

START_TEST(test_cases)
{
    const utf8_case_t *c = &cases[_i];

    ck_assert_msg(cnx_utf8_valid((const uint8_t *) c->bytes, c->len)
                  == c->valid, "case %d", _i);
}
END_TEST

/* Every split point of every case gives the same verdict. */
START_TEST(test_split_anywhere)
{
    const utf8_case_t *c = &cases[_i];
    const uint8_t     *p = (const uint8_t *) c->bytes;
    uint32_t           st;
    size_t             cut, cut2;

    for (cut = 0; cut <= c->len; cut++) {
        for (cut2 = cut; cut2 <= c->len; cut2++) {
            st = cnx_utf8_step(CNX_UTF8_ACCEPT, p, cut);
            st = cnx_utf8_step(st, p + cut, cut2 - cut);
            st = cnx_utf8_step(st, p + cut2, c->len - cut2);
            ck_assert_msg((st == CNX_UTF8_ACCEPT) == c->valid,
                          "case %d split %zu/%zu", _i, cut, cut2);
        }
    }
}
END_TEST

START_TEST(test_incomplete_state)
{
    uint32_t  st;

    st = cnx_utf8_step(CNX_UTF8_ACCEPT, (const uint8_t *) "\xf0\x9f", 2);
    ck_assert_uint_ne(st, CNX_UTF8_ACCEPT);
    ck_assert_uint_ne(st, CNX_UTF8_REJECT);
    st = cnx_utf8_step(st, (const uint8_t *) "\x98\x80", 2);  /* U+1F600 */
    ck_assert_uint_eq(st, CNX_UTF8_ACCEPT);

    /* REJECT is sticky. */
    st = cnx_utf8_step(CNX_UTF8_ACCEPT, (const uint8_t *) "\xff", 1);
    ck_assert_uint_eq(st, CNX_UTF8_REJECT);
    st = cnx_utf8_step(st, (const uint8_t *) "abc", 3);
    ck_assert_uint_eq(st, CNX_UTF8_REJECT);
}
END_TEST

/* Exhaustive two-byte check against the definition. */
START_TEST(test_all_two_byte)
{
    uint8_t  b[2];
    unsigned a, c;
    int      want;

    for (a = 0x80; a < 0x100; a++) {
        for (c = 0; c < 0x100; c++) {
            b[0] = (uint8_t) a;
            b[1] = (uint8_t) c;
            want = a >= 0xc2 && a <= 0xdf && c >= 0x80 && c <= 0xbf;
            ck_assert_int_eq(cnx_utf8_valid(b, 2), want);
        }
    }
}
END_TEST

/*
 * Reference: decode one sequence of n bytes by the definition (lead byte
 * pattern, continuation bytes, shortest form, no surrogates, <= U+10FFFF).
 */
static int
ref_valid(const uint8_t *b, int n)
{
    uint32_t  cp;
    int       need, i;

    if (b[0] < 0x80) {
        need = 1;
        cp = b[0];
    } else if ((b[0] & 0xe0) == 0xc0) {
        need = 2;
        cp = b[0] & 0x1f;
    } else if ((b[0] & 0xf0) == 0xe0) {
        need = 3;
        cp = b[0] & 0x0f;
    } else if ((b[0] & 0xf8) == 0xf0) {
        need = 4;
        cp = b[0] & 0x07;
    } else {
        return 0;
    }
    if (need != n) {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((b[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (b[i] & 0x3f);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800)
        || (n == 4 && cp < 0x10000))
    {
        return 0;
    }
    return !(cp >= 0xd800 && cp <= 0xdfff) && cp <= 0x10ffff;
}

/* All 3-byte sequences with a 3-byte lead; 4-byte leads x 2 bytes. */
START_TEST(test_exhaustive_against_reference)
{
    uint8_t   b[4];
    unsigned  a, c, d, bad = 0, good = 0;

    for (a = 0xe0; a <= 0xef; a++) {
        for (c = 0; c < 0x100; c++) {
            for (d = 0; d < 0x100; d++) {
                b[0] = (uint8_t) a;
                b[1] = (uint8_t) c;
                b[2] = (uint8_t) d;
                bad += cnx_utf8_valid(b, 3) != ref_valid(b, 3);
                good += ref_valid(b, 3);
            }
        }
    }
    for (a = 0xf0; a <= 0xff; a++) {
        for (c = 0; c < 0x100; c++) {
            for (d = 0; d < 0x100; d++) {
                b[0] = (uint8_t) a;
                b[1] = (uint8_t) c;
                b[2] = (uint8_t) d;
                b[3] = 0x80 | (uint8_t) (c & 0x3f);
                bad += cnx_utf8_valid(b, 4) != ref_valid(b, 4);
                good += ref_valid(b, 4);
            }
        }
    }
    ck_assert_uint_eq(bad, 0);
    /* 3-byte: U+0800..U+FFFF minus surrogates; 4-byte: one valid
     * (lead, second, third) per 64 code points of U+10000..U+10FFFF. */
    ck_assert_uint_eq(good, (0x10000 - 0x800 - 0x800) + 0x100000 / 64);
}
END_TEST

int
main(void)
{
    Suite   *s = suite_create("utf8");
    TCase   *tc = tcase_create("core");
    SRunner *sr;
    int      failed, n = (int) (sizeof(cases) / sizeof(cases[0]));

    tcase_add_loop_test(tc, test_cases, 0, n);
    tcase_add_loop_test(tc, test_split_anywhere, 0, n);
    tcase_add_test(tc, test_incomplete_state);
    tcase_add_test(tc, test_all_two_byte);
    tcase_add_test(tc, test_exhaustive_against_reference);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
