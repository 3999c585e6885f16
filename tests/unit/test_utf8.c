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
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
