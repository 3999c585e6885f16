/* Unit tests of the relay's room table (nginx-free). */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_relay_dir.h"

START_TEST(test_room_lifecycle)
{
    cnx_dir_t         *d = cnx_dir_new();
    cnx_dir_member_t   a, b, c;
    cnx_dir_room_t    *r, *r2;

    cnx_dir_member_init(&a, &a);
    cnx_dir_member_init(&b, &b);
    cnx_dir_member_init(&c, &c);

    r = cnx_dir_room_create(d, "R1", 2, &a, "a", 1, &b, "b", 1);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->state, CNX_DIR_ROOM_PENDING);
    ck_assert_int_eq(a.npending, 1);
    ck_assert_int_eq(a.nrooms, 1);
    ck_assert_int_eq(b.nrooms, 1);
    ck_assert_int_eq(b.npending, 0);
    ck_assert_int_eq(a.nopened, 1);
    ck_assert_int_eq(b.nopened, 0);
    ck_assert_int_eq(b.nincoming, 1);

    /* duplicate ids, self rooms and long ids are refused */
    ck_assert_ptr_null(cnx_dir_room_create(d, "R1", 2, &a, "a", 1,
                                           &c, "c", 1));
    ck_assert_ptr_null(cnx_dir_room_create(d, "R9", 2, &a, "a", 1,
                                           &a, "a", 1));
    ck_assert_ptr_null(cnx_dir_room_create(d,
        "0123456789012345678901234567890123456789012345678901234567890123X",
        65, &a, "a", 1, &c, "c", 1));

    ck_assert_ptr_eq(cnx_dir_room_get(d, "R1", 2), r);
    ck_assert_ptr_null(cnx_dir_room_get(d, "R2", 2));
    ck_assert_int_eq(cnx_dir_room_side(r, &a), 0);
    ck_assert_int_eq(cnx_dir_room_side(r, &b), 1);
    ck_assert_int_eq(cnx_dir_room_side(r, &c), -1);
    ck_assert_ptr_eq(cnx_dir_room_peer(r, &a), &b);
    ck_assert_ptr_eq(cnx_dir_room_peer(r, &b), &a);
    ck_assert_ptr_null(cnx_dir_room_peer(r, &c));

    cnx_dir_room_activate(r);
    ck_assert_int_eq(r->state, CNX_DIR_ROOM_ACTIVE);
    ck_assert_int_eq(a.npending, 0);
    ck_assert_int_eq(b.nincoming, 0);
    ck_assert_int_eq(a.nopened, 1);
    cnx_dir_room_activate(r);
    ck_assert_int_eq(a.npending, 0);
    ck_assert_int_eq(b.nincoming, 0);

    r2 = cnx_dir_room_create(d, "R2", 2, &c, "c", 1, &a, "a", 1);
    ck_assert_ptr_nonnull(r2);
    ck_assert_int_eq(a.nrooms, 2);
    ck_assert_int_eq(c.npending, 1);

    /* a member's list visits exactly its rooms */
    {
        cnx_dir_room_t  *it;
        int              seen = 0;

        for (it = cnx_dir_member_first(&a); it;
             it = cnx_dir_room_next(it, &a))
        {
            seen |= (it == r) ? 1 : (it == r2) ? 2 : 4;
        }
        ck_assert_int_eq(seen, 3);
    }

    cnx_dir_room_remove(d, r);
    ck_assert_int_eq(a.nrooms, 1);
    ck_assert_int_eq(b.nrooms, 0);
    ck_assert_ptr_null(cnx_dir_member_first(&b));
    ck_assert_ptr_eq(cnx_dir_member_first(&a), r2);
    ck_assert_ptr_null(cnx_dir_room_get(d, "R1", 2));

    ck_assert_int_eq(a.nopened, 0);
    ck_assert_int_eq(a.nincoming, 1);
    cnx_dir_room_remove(d, r2);        /* pending: initiator count drops */
    ck_assert_int_eq(c.npending, 0);
    ck_assert_int_eq(c.nopened, 0);
    ck_assert_int_eq(a.nincoming, 0);
    ck_assert_int_eq(a.nrooms, 0);
    ck_assert_int_eq(cnx_dir_room_count(d), 0);

    cnx_dir_free(d);
}
END_TEST

START_TEST(test_room_close_all_of_member)
{
    cnx_dir_t         *d = cnx_dir_new();
    cnx_dir_member_t   a, p[100];
    cnx_dir_room_t    *r;
    char               id[16];
    int                i, n;

    cnx_dir_member_init(&a, &a);

    for (i = 0; i < 100; i++) {
        cnx_dir_member_init(&p[i], &p[i]);
        n = snprintf(id, sizeof(id), "room%d", i);
        r = cnx_dir_room_create(d, id, n, (i & 1) ? &a : &p[i], "x", 1,
                                (i & 1) ? &p[i] : &a, "y", 1);
        ck_assert_ptr_nonnull(r);
    }

    ck_assert_int_eq(a.nrooms, 100);
    ck_assert_int_eq(a.npending, 50);

    /* what the relay does when a socket closes */
    while ((r = cnx_dir_member_first(&a)) != NULL) {
        ck_assert_ptr_nonnull(cnx_dir_room_peer(r, &a));
        cnx_dir_room_remove(d, r);
    }

    ck_assert_int_eq(a.nrooms, 0);
    ck_assert_int_eq(a.npending, 0);
    ck_assert_int_eq(cnx_dir_room_count(d), 0);

    for (i = 0; i < 100; i++) {
        ck_assert_int_eq(p[i].nrooms, 0);
        ck_assert_int_eq(p[i].npending, 0);
    }

    cnx_dir_free(d);
}
END_TEST


int
main(void)
{
    Suite   *s = suite_create("relay_dir");
    TCase   *tc = tcase_create("core");
    SRunner *sr;
    int      failed;

    tcase_add_test(tc, test_room_lifecycle);
    tcase_add_test(tc, test_room_close_all_of_member);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
