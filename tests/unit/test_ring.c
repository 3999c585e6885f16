/* Unit tests of the writer's bookkeeping of a shared byte ring (cnx_ring.h). */

#include <check.h>
#include <stdint.h>
#include <string.h>

#include "cnx_ring.h"

/* the open region is start..start + len; it is closed */
static void
take_is(cnx_ring_t *r, uint64_t start, uint64_t len)
{
    uint64_t  s, n;

    ck_assert_int_eq(cnx_ring_pending(r), 1);
    ck_assert_int_eq(cnx_ring_take(r, &s, &n), 1);
    ck_assert_uint_eq(s, start);
    ck_assert_uint_eq(n, len);
    ck_assert_int_eq(cnx_ring_pending(r), 0);
}

START_TEST(test_fill_and_give_back)
{
    cnx_ring_t  r;
    uint64_t    start, len;

    cnx_ring_init(&r, 64);
    ck_assert_int_eq(cnx_ring_pending(&r), 0);
    ck_assert_int_eq(cnx_ring_take(&r, &start, &len), 0);
    ck_assert_int_eq(cnx_ring_reserve(&r, 0, 24), 0);
    ck_assert_int_eq(cnx_ring_reserve(&r, 0, 24), 24);
    /* 16 bytes left before the end, and nothing given back */
    ck_assert_int_eq(cnx_ring_reserve(&r, 0, 17), CNX_RING_FULL);
    ck_assert_int_eq(cnx_ring_reserve(&r, 0, 16), 48);
    ck_assert_int_eq(cnx_ring_reserve(&r, 0, 1), CNX_RING_FULL);
    take_is(&r, 0, 64);
    ck_assert_int_eq(cnx_ring_take(&r, &start, &len), 0);
    ck_assert_int_eq(cnx_ring_reserve(&r, 8, 8), 0);
    ck_assert_int_eq(cnx_ring_reserve(&r, 8, 1), CNX_RING_FULL);
    ck_assert_int_eq(cnx_ring_reserve(&r, 64, 65), CNX_RING_FULL);
}
END_TEST

/* a region that reaches the ring's end is announced before the next one */
START_TEST(test_region_ends_at_ring_end)
{
    cnx_ring_t  r;

    cnx_ring_init(&r, 64);
    ck_assert_int_eq(cnx_ring_reserve(&r, 0, 40), 0);
    take_is(&r, 0, 40);
    ck_assert_int_eq(cnx_ring_reserve(&r, 40, 24), 40);
    ck_assert_int_eq(cnx_ring_reserve(&r, 40, 8), CNX_RING_ANNOUNCE);
    take_is(&r, 40, 24);
    ck_assert_int_eq(cnx_ring_region(64, 40, 24), 40);
    ck_assert_int_eq(cnx_ring_reserve(&r, 40, 8), 0);
    take_is(&r, 64, 8);
}
END_TEST

/* a record that does not fit before the end starts at the ring's start */
START_TEST(test_skip_to_start)
{
    cnx_ring_t  r;

    cnx_ring_init(&r, 64);
    ck_assert_int_eq(cnx_ring_reserve(&r, 0, 40), 0);
    /* the open region would wrap */
    ck_assert_int_eq(cnx_ring_reserve(&r, 40, 30), CNX_RING_ANNOUNCE);
    take_is(&r, 0, 40);
    /* 40 + 24 skipped + 30 - 40 = 54 <= 64 */
    ck_assert_int_eq(cnx_ring_reserve(&r, 40, 30), 0);
    take_is(&r, 64, 30);
    /* the skipped end counts until the reader passes it */
    cnx_ring_init(&r, 64);
    ck_assert_int_eq(cnx_ring_reserve(&r, 0, 40), 0);
    take_is(&r, 0, 40);
    ck_assert_int_eq(cnx_ring_reserve(&r, 0, 30), CNX_RING_FULL);
    ck_assert_int_eq(cnx_ring_reserve(&r, 29, 30), CNX_RING_FULL);
    ck_assert_int_eq(cnx_ring_reserve(&r, 30, 30), 0);
}
END_TEST

START_TEST(test_region_check)
{
    ck_assert_int_eq(cnx_ring_region(64, 0, 64), 0);
    ck_assert_int_eq(cnx_ring_region(64, 128, 0), 0);
    ck_assert_int_eq(cnx_ring_region(64, 60, 4), 60);
    ck_assert_int_eq(cnx_ring_region(64, 60, 8), -1);
    ck_assert_int_eq(cnx_ring_region(64, 0, 65), -1);
    ck_assert_int_eq(cnx_ring_region(64, 1, UINT64_MAX), -1);
}
END_TEST

/*
 * A writer and a reader at random: records of random sizes (often just
 * what is left before the end) go into the ring, or, when it is full,
 * "elsewhere" (as the relay sends them in a datagram) after the open
 * region is announced.  The reader takes announced regions and the
 * others in order and checks that each record arrives once, in order,
 * not overwritten, and that no region wraps.
 */
#define SIM_SIZE   1024
#define SIM_ITEMS  4096

typedef struct {
    int       region;           /* 1: a ring region, 0: one record */
    uint64_t  start, len;
    uint32_t  seq;
} sim_item_t;

static uint32_t  sim_rand_state = 0x12345678;

static uint32_t
sim_rand(void)
{
    sim_rand_state ^= sim_rand_state << 13;
    sim_rand_state ^= sim_rand_state >> 17;
    sim_rand_state ^= sim_rand_state << 5;
    return sim_rand_state;
}

START_TEST(test_random_writer_reader)
{
    static uint8_t     mem[SIM_SIZE], pat[SIM_SIZE];
    static sim_item_t  q[SIM_ITEMS];
    cnx_ring_t         r;
    uint64_t           head = 0, start, len;
    uint32_t           seq = 0, want = 0, rec_seq, rec_len, k;
    size_t             qh = 0, qt = 0, n;
    long               off, pos;
    unsigned           step, wraps = 0, ends = 0, full = 0;

    cnx_ring_init(&r, SIM_SIZE);
    for (step = 0; step < 150000; step++) {
        if (sim_rand() % 3 != 0 && qt - qh < SIM_ITEMS - 2) {
            /* write one record: 8 bytes of length and number, then its
               number's low byte repeated */
            pos = (long) (r.tail & (SIM_SIZE - 1));
            switch (sim_rand() % 4) {
            case 0:
                n = (size_t) (SIM_SIZE - pos);      /* just to the end */
                break;
            case 1:
                n = 8 + sim_rand() % (SIM_SIZE / 2);
                break;
            default:
                n = 8 + sim_rand() % 64;
                break;
            }
            if (n < 8) {
                n = 8;
            }
            while ((off = cnx_ring_reserve(&r, head, n)) == CNX_RING_ANNOUNCE) {
                ck_assert_int_eq(cnx_ring_take(&r, &start, &len), 1);
                q[qt % SIM_ITEMS] = (sim_item_t) { 1, start, len, 0 };
                qt++;
                ends++;
            }
            if (off == CNX_RING_FULL) {
                if (cnx_ring_take(&r, &start, &len)) {
                    q[qt % SIM_ITEMS] = (sim_item_t) { 1, start, len, 0 };
                    qt++;
                }
                q[qt % SIM_ITEMS] = (sim_item_t) { 0, 0, 0, seq++ };
                qt++;
                full++;
                continue;
            }
            ck_assert_int_ge(off, 0);
            ck_assert_uint_le((uint64_t) off + n, SIM_SIZE);
            if ((uint64_t) off != (uint64_t) pos) {
                wraps++;
            }
            rec_len = (uint32_t) n;
            memcpy(mem + off, &rec_len, 4);
            memcpy(mem + off + 4, &seq, 4);
            memset(mem + off + 8, (int) (seq & 0xff), n - 8);
            seq++;
            continue;
        }
        if (sim_rand() % 2 == 0 && cnx_ring_take(&r, &start, &len)) {
            q[qt % SIM_ITEMS] = (sim_item_t) { 1, start, len, 0 };
            qt++;
        }
        /* the reader takes what was announced, up to a few items */
        for (k = sim_rand() % 16; k > 0 && qh < qt; k--, qh++) {
            sim_item_t  *it = &q[qh % SIM_ITEMS];

            if (!it->region) {
                ck_assert_uint_eq(it->seq, want);
                want++;
                continue;
            }
            off = cnx_ring_region(SIM_SIZE, it->start, it->len);
            ck_assert_int_ge(off, 0);
            for (n = 0; n < it->len; n += rec_len) {
                ck_assert_uint_ge(it->len - n, 8);
                memcpy(&rec_len, mem + off + n, 4);
                memcpy(&rec_seq, mem + off + n + 4, 4);
                ck_assert_uint_eq(rec_seq, want);
                ck_assert_uint_ge(rec_len, 8);
                ck_assert_uint_le(rec_len, it->len - n);
                memset(pat, (int) (rec_seq & 0xff), rec_len - 8);
                ck_assert_int_eq(memcmp(mem + off + n + 8, pat, rec_len - 8),
                                 0);
                want++;
            }
            ck_assert_uint_ge(it->start + it->len, head);
            head = it->start + it->len;
        }
    }
    ck_assert_uint_gt(wraps, 100);
    ck_assert_uint_gt(ends, 100);
    ck_assert_uint_gt(full, 100);
    ck_assert_uint_gt(want, 50000);
}
END_TEST

static Suite *
ring_suite(void)
{
    Suite  *s = suite_create("ring");
    TCase  *tc = tcase_create("core");

    tcase_add_test(tc, test_fill_and_give_back);
    tcase_add_test(tc, test_region_ends_at_ring_end);
    tcase_add_test(tc, test_skip_to_start);
    tcase_add_test(tc, test_region_check);
    tcase_add_test(tc, test_random_writer_reader);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    int       failed;
    SRunner  *sr = srunner_create(ring_suite());

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
