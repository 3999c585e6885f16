/* Unit tests of the relay's per-address counters (cnx_relay_limit.h). */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cnx_relay_limit.h"

#define NOW     1000
#define WINDOW  60

static uint64_t
v4key(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    uint8_t  ip[4] = { a, b, c, d };

    return cnx_relay_addr_key(ip, 4);
}

static cnx_limit_table_t *
table(size_t n)
{
    cnx_limit_table_t  *t = malloc(cnx_limit_size(n));

    ck_assert_ptr_nonnull(t);
    cnx_limit_init(t, n);
    return t;
}

START_TEST(test_addr_key)
{
    uint8_t  v4[4] = { 192, 0, 2, 7 };
    uint8_t  v4b[4] = { 192, 0, 2, 8 };
    uint8_t  mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
                            192, 0, 2, 7 };
    uint8_t  a[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2,
                       0, 0, 0, 0, 0, 0, 0, 1 };
    uint8_t  b[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2,
                       0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4 };
    uint8_t  c[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 3,
                       0, 0, 0, 0, 0, 0, 0, 1 };
    uint8_t  d[16] = { 0x21, 0x01, 0x0d, 0xb8, 0, 1, 0, 2,
                       0, 0, 0, 0, 0, 0, 0, 1 };
    uint8_t  z[16] = { 0 };

    ck_assert_uint_ne(cnx_relay_addr_key(v4, 4), 0);
    ck_assert_uint_ne(cnx_relay_addr_key(v4, 4), cnx_relay_addr_key(v4b, 4));
    /* IPv4-mapped IPv6 counts as the IPv4 address */
    ck_assert_uint_eq(cnx_relay_addr_key(mapped, 16), cnx_relay_addr_key(v4, 4));
    /* one /64: one key; another /64 or another top byte: another key */
    ck_assert_uint_eq(cnx_relay_addr_key(a, 16), cnx_relay_addr_key(b, 16));
    ck_assert_uint_ne(cnx_relay_addr_key(a, 16), cnx_relay_addr_key(c, 16));
    ck_assert_uint_ne(cnx_relay_addr_key(a, 16), cnx_relay_addr_key(d, 16));
    ck_assert_uint_ne(cnx_relay_addr_key(z, 16), 0);
    ck_assert_uint_ne(cnx_relay_addr_key(z, 16), cnx_relay_addr_key(v4, 4));
    /* other lengths are not limited */
    ck_assert_uint_eq(cnx_relay_addr_key(v4, 3), 0);
    ck_assert_uint_eq(cnx_relay_addr_key(a, 8), 0);
}
END_TEST

START_TEST(test_coarse)
{
    uint8_t  a[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2,
                       0, 0, 0, 0, 0, 0, 0, 1 };
    uint8_t  b[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0xff, 0xff,
                       0, 0, 0, 0, 0, 0, 0, 1 };
    uint8_t  c[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 2,
                       0, 0, 0, 0, 0, 0, 0, 1 };

    /* IPv4 /24 */
    ck_assert_uint_eq(cnx_limit_coarse(v4key(10, 1, 2, 3)),
                      cnx_limit_coarse(v4key(10, 1, 2, 200)));
    ck_assert_uint_ne(cnx_limit_coarse(v4key(10, 1, 2, 3)),
                      cnx_limit_coarse(v4key(10, 1, 3, 3)));
    ck_assert_uint_ne(cnx_limit_coarse(v4key(10, 1, 2, 3)),
                      v4key(10, 1, 2, 0));
    /* IPv6 /48: other /64s of one /48 share it */
    ck_assert_uint_ne(cnx_relay_addr_key(a, 16), cnx_relay_addr_key(b, 16));
    ck_assert_uint_eq(cnx_limit_coarse(cnx_relay_addr_key(a, 16)),
                      cnx_limit_coarse(cnx_relay_addr_key(b, 16)));
    ck_assert_uint_ne(cnx_limit_coarse(cnx_relay_addr_key(a, 16)),
                      cnx_limit_coarse(cnx_relay_addr_key(c, 16)));
    /* coarse keys have no coarser one; kinds never collide */
    ck_assert_uint_eq(cnx_limit_coarse(cnx_limit_coarse(v4key(1, 2, 3, 4))),
                      0);
    ck_assert_uint_eq(cnx_limit_coarse(0), 0);
    ck_assert_uint_ne(cnx_limit_coarse(v4key(0, 0, 0, 0)),
                      cnx_limit_coarse(cnx_relay_addr_key(c, 16)));
}
END_TEST

/*
 * A table whose windows are full: a new address is counted under its
 * coarser prefix if that has a slot, and refused (NULL) otherwise -- never
 * left uncounted.
 */
START_TEST(test_never_fails_open)
{
    cnx_limit_table_t  *t = table(CNX_LIMIT_PROBES);  /* one window */
    cnx_limit_slot_t   *s, *c;
    int                 i;

    for (i = 0; i < CNX_LIMIT_PROBES - 1; i++) {
        s = cnx_limit_get(t, v4key(10, 0, (uint8_t) i, 1), NOW, WINDOW, 1);
        ck_assert_ptr_nonnull(s);
        cnx_limit_conn(s, 0, 1);
    }
    /* the last slot: a /24 of its own, under its coarse key */
    c = cnx_limit_get(t, cnx_limit_coarse(v4key(10, 9, 9, 1)), NOW, WINDOW,
                      1);
    ck_assert_ptr_nonnull(c);
    cnx_limit_conn(c, 0, 1);

    /* full: an address of 10.9.9.0/24 is counted under the /24 */
    s = cnx_limit_get(t, v4key(10, 9, 9, 77), NOW, WINDOW, 1);
    ck_assert_ptr_eq(s, c);
    ck_assert_uint_eq(s->key, cnx_limit_coarse(v4key(10, 9, 9, 77)));
    /* and another /24 has nowhere to be counted: refused */
    ck_assert_ptr_null(cnx_limit_get(t, v4key(10, 8, 8, 8), NOW, WINDOW, 1));
    /* lookups without create find exact keys only */
    ck_assert_ptr_null(cnx_limit_get(t, v4key(10, 9, 9, 77), NOW, WINDOW, 0));
    ck_assert_ptr_nonnull(cnx_limit_get(t, v4key(10, 0, 3, 1), NOW, WINDOW,
                                        0));

    /* a slot without connections is free again once its window is over */
    s = cnx_limit_get(t, v4key(10, 0, 3, 1), NOW, WINDOW, 0);
    cnx_limit_conn(s, 0, -1);
    ck_assert_ptr_null(cnx_limit_get(t, v4key(10, 8, 8, 8), NOW + WINDOW,
                                     WINDOW, 1));
    s = cnx_limit_get(t, v4key(10, 8, 8, 8), NOW + WINDOW + 1, WINDOW, 1);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->key, v4key(10, 8, 8, 8));
    ck_assert_uint_eq(s->conns, 0);
    free(t);
}
END_TEST

/* The slots addresses land in depend on a random key per table. */
START_TEST(test_keyed)
{
    cnx_limit_table_t  *t1 = table(8192), *t2 = table(8192);
    int                 i, same = 0;

    ck_assert(memcmp(t1->hkey, t2->hkey, sizeof(t1->hkey)) != 0);
    for (i = 0; i < 64; i++) {
        same += cnx_limit_get(t1, v4key(1, 1, 1, (uint8_t) i), NOW, WINDOW, 1)
                - t1->slot
                == cnx_limit_get(t2, v4key(1, 1, 1, (uint8_t) i), NOW, WINDOW,
                                 1) - t2->slot;
    }
    ck_assert_int_lt(same, 8);
    free(t1);
    free(t2);
}
END_TEST

/* What a dead owner counted is given back; the others' counts stay. */
START_TEST(test_reclaim)
{
    cnx_limit_table_t  *t = table(64);
    cnx_limit_slot_t   *a, *b;

    a = cnx_limit_get(t, v4key(192, 0, 2, 1), NOW, WINDOW, 1);
    b = cnx_limit_get(t, v4key(192, 0, 2, 2), NOW, WINDOW, 1);
    cnx_limit_conn(a, 3, 1);
    cnx_limit_conn(a, 3, 1);
    cnx_limit_conn(a, 5, 1);
    cnx_limit_conn(b, 3, 1);
    ck_assert_uint_eq(a->conns, 3);
    /* an owner gives back only what it counted */
    cnx_limit_conn(b, 5, -1);
    ck_assert_uint_eq(b->conns, 1);
    t->owner_pid[3] = 4242;
    cnx_limit_reclaim(t, 3);
    ck_assert_uint_eq(a->conns, 1);
    ck_assert_uint_eq(b->conns, 0);
    ck_assert_int_eq(t->owner_pid[3], 0);
    cnx_limit_conn(a, 5, -1);
    ck_assert_uint_eq(a->conns, 0);
    /* owners past the table are counted, not per owner */
    cnx_limit_conn(a, CNX_LIMIT_OWNERS, 1);
    ck_assert_uint_eq(a->conns, 1);
    cnx_limit_conn(a, CNX_LIMIT_OWNERS, -1);
    ck_assert_uint_eq(a->conns, 0);
    free(t);
}
END_TEST

int
main(void)
{
    Suite    *s = suite_create("relay_limit");
    TCase    *tc = tcase_create("core");
    SRunner  *sr;
    int       failed;

    if (sodium_init() < 0) {
        return EXIT_FAILURE;
    }
    tcase_add_test(tc, test_addr_key);
    tcase_add_test(tc, test_coarse);
    tcase_add_test(tc, test_never_fails_open);
    tcase_add_test(tc, test_keyed);
    tcase_add_test(tc, test_reclaim);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
