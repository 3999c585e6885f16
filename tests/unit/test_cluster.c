/* Unit tests: relay cluster routes, Redis names, owners and backoff. */

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_cluster.h"

#define ROUTE  "00000000deadbeef:3:1:4242"

static cnx_relay_addr_t
addr(uint64_t node, uint32_t gen, int32_t worker, int32_t pid, uint64_t conn)
{
    cnx_relay_addr_t a;

    memset(&a, 0, sizeof(a));
    a.node = node;
    a.gen = gen;
    a.worker = worker;
    a.pid = pid;
    a.conn = conn;
    return a;
}

START_TEST(test_routes)
{
    char             out[CNX_CLUSTER_ROUTE_MAX + 1];
    cnx_relay_addr_t a = addr(0xdeadbeefULL, 3, 1, 4242, 99), b;
    size_t           n;

    n = cnx_cluster_route(out, &a);
    ck_assert_str_eq(out, ROUTE);
    ck_assert_uint_eq(n, strlen(ROUTE));
    ck_assert_int_eq(cnx_cluster_route_parse(out, n, &b), 0);
    ck_assert(b.node == a.node && b.gen == 3 && b.worker == 1);
    ck_assert(b.pid == 4242 && b.conn == 0);

    a = addr(UINT64_MAX, UINT32_MAX, INT32_MAX, INT32_MAX, 0);
    n = cnx_cluster_route(out, &a);
    ck_assert_str_eq(out, "ffffffffffffffff:4294967295:2147483647:2147483647");
    ck_assert_uint_le(n, CNX_CLUSTER_ROUTE_MAX);
    ck_assert_int_eq(cnx_cluster_route_parse(out, n, &b), 0);
    ck_assert(cnx_relay_addr_eq(&a, &b));

#define BAD(s) ck_assert_int_eq(cnx_cluster_route_parse(s, strlen(s), &b), -1)
    BAD("");
    BAD("0000000000000000:1:0:1");          /* node 0 is "this node" */
    BAD("00000000deadbeef:3:1");
    BAD("00000000deadbeef:3:1:4242:");
    BAD("00000000deadbeef:03:1:4242");
    BAD("00000000deadbeef:3:-1:4242");
    BAD("00000000DEADBEEF:3:1:4242");
    BAD("0000000deadbeef:3:1:4242");
    BAD("00000000deadbeef:4294967296:1:4242");
    BAD("00000000deadbeef:3:2147483648:4242");
    BAD("00000000deadbeef:3:1:42 42");
#undef BAD
    ck_assert_int_eq(cnx_cluster_route_parse(ROUTE, strlen(ROUTE) - 1, &b), 0);
    ck_assert_int_eq(b.pid, 424);
}
END_TEST

START_TEST(test_keys)
{
    char key[128];

    ck_assert_int_eq(cnx_cluster_key(key, sizeof(key), "cnx", "name",
                                     "alice.claw", 10), 21);
    ck_assert_str_eq(key, "cnx:name:{alice.claw}");
    ck_assert_int_eq(cnx_cluster_key(key, 22, "cnx", "name", "alice.claw",
                                     10), 21);
    ck_assert_int_eq(cnx_cluster_key(key, 21, "cnx", "name", "alice.claw",
                                     10), -1);
    ck_assert_int_eq(cnx_cluster_key(key, sizeof(key), "p", "w", "n:0:1", 5),
                     11);
    ck_assert_str_eq(key, "p:w:{n:0:1}");
    /* binary-safe: the id is copied by length */
    ck_assert_int_eq(cnx_cluster_key(key, sizeof(key), "cnx", "name",
                                     "a}b{c", 5), 16);
    ck_assert_str_eq(key, "cnx:name:{a}b{c}");
}
END_TEST

START_TEST(test_owner)
{
    cnx_cluster_owner_t o, p;
    char                buf[CNX_CLUSTER_OWNER_MAX + 1];
    long                n;

    memset(&o, 0, sizeof(o));
    o.addr = addr(0xdeadbeefULL, 3, 1, 4242, 0);
    o.seq = 18446744073709551615ULL;
    n = cnx_cluster_owner_format(buf, sizeof(buf), &o);
    ck_assert_int_eq(n, (long) strlen(buf));
    ck_assert_str_eq(buf, ROUTE "|18446744073709551615|0");
    ck_assert_int_eq(cnx_cluster_owner_parse(buf, (size_t) n, &p), 0);
    ck_assert(cnx_relay_addr_eq(&o.addr, &p.addr));
    ck_assert(p.seq == UINT64_MAX);

    o.addr.conn = 77;
    o.seq = 5;
    n = cnx_cluster_owner_format(buf, sizeof(buf), &o);
    ck_assert_str_eq(buf, ROUTE "|5|77");
    ck_assert_int_eq(cnx_cluster_owner_parse(buf, (size_t) n, &p), 0);
    ck_assert(p.addr.conn == 77 && p.seq == 5);
    ck_assert_int_eq(cnx_cluster_owner_format(buf, (size_t) n, &o), -1);

#define BAD(s) ck_assert_int_eq(cnx_cluster_owner_parse(s, strlen(s), &p), -1)
    BAD(ROUTE "|1");
    BAD(ROUTE "|01|2");
    BAD(ROUTE "|1|2|3");
    BAD(ROUTE "|-1|2");
    BAD(ROUTE "|1|18446744073709551616");
    BAD("x|1|2");
    BAD("|1|2");
#undef BAD
    ck_assert(p.seq == 0 && p.addr.node == 0);

    o.addr.node = 0;
    ck_assert_int_eq(cnx_cluster_owner_format(buf, sizeof(buf), &o), -1);
}
END_TEST

START_TEST(test_backoff)
{
    unsigned a, d, prev = 0;

    ck_assert_uint_eq(cnx_cluster_backoff(0, 1000), 500);       /* no jitter */
    ck_assert_uint_eq(cnx_cluster_backoff(1, 1000), 750);
    ck_assert_uint_eq(cnx_cluster_backoff(0, 0), 450);          /* -10 % */
    ck_assert_uint_eq(cnx_cluster_backoff(0, 2000), 550);       /* +10 % */
    for (a = 0; a < 40; a++) {
        d = cnx_cluster_backoff(a, 1000);
        ck_assert_uint_ge(d, prev);
        ck_assert_uint_le(d, CNX_CLUSTER_BACKOFF_MAX);
        prev = d;
    }
    ck_assert_uint_eq(prev, CNX_CLUSTER_BACKOFF_MAX);
    ck_assert_uint_eq(cnx_cluster_backoff(1000000, 2000),
                      CNX_CLUSTER_BACKOFF_MAX * 11 / 10);
    for (a = 0; a < 3000; a++) {
        d = cnx_cluster_backoff(a % 30, a * 2654435761u);
        ck_assert_uint_ge(d, CNX_CLUSTER_BACKOFF_MIN * 9 / 10);
        ck_assert_uint_le(d, CNX_CLUSTER_BACKOFF_MAX * 11 / 10);
    }
}
END_TEST

/* The credit of a room across nodes (cnx_cluster_credit_t). */
START_TEST(test_credit)
{
    cnx_cluster_credit_t  snd, rcv;
    uint64_t              ack, total;
    int                   i;

    memset(&snd, 0, sizeof(snd));
    memset(&rcv, 0, sizeof(rcv));

    /* free until a window is on its way; an ACK frees it again */
    ck_assert_int_eq(cnx_cluster_credit_sent(&snd, CNX_CLUSTER_WINDOW - 1),
                     -1);
    ck_assert_int_eq(cnx_cluster_credit_sent(&snd, 1), 1);
    ck_assert_int_eq(cnx_cluster_credit_sent(&snd, 100), -1);
    ck_assert_int_eq(cnx_cluster_credit_acked(&snd, 100), -1);
    ck_assert_int_eq(cnx_cluster_credit_acked(&snd, 1), 0);

    /* the receiver's FLOW holds it back whatever the credit */
    ck_assert_int_eq(cnx_cluster_credit_flow(&snd, 1), 1);
    ck_assert_int_eq(cnx_cluster_credit_acked(&snd, 1000), -1);
    ck_assert_int_eq(cnx_cluster_credit_flow(&snd, 0), 0);
    ck_assert_int_eq(cnx_cluster_credit_flow(&snd, 0), -1);

    /* an ACK of more than is on its way (a forged or stale one) */
    ck_assert_int_eq(cnx_cluster_credit_acked(&snd, UINT64_MAX), -1);
    ck_assert_uint_eq(snd.unacked, 0);

    /* the receiver acknowledges every quarter window, all of it */
    total = 0;
    for (i = 0; i < 1000; i++) {
        ack = cnx_cluster_credit_arrived(&rcv, 4096);
        ck_assert(ack == 0 || ack >= CNX_CLUSTER_ACK_EVERY);
        total += ack;
        ck_assert_uint_lt(rcv.arrived, CNX_CLUSTER_ACK_EVERY);
    }
    ck_assert_uint_eq(total + rcv.arrived, 1000 * 4096);
}
END_TEST

static Suite *
cluster_suite(void)
{
    Suite *s = suite_create("cluster");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_routes);
    tcase_add_test(tc, test_keys);
    tcase_add_test(tc, test_owner);
    tcase_add_test(tc, test_backoff);
    tcase_add_test(tc, test_credit);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(cluster_suite());
    int      failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
