/* Unit tests: relay cluster records, names, owners, backoff and credit. */

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_cluster.h"

#define ROUTE  "relay-a:1:00000000deadbeef"

static cnx_cluster_rec_t
rec(cnx_cluster_type_t type)
{
    cnx_cluster_rec_t r;

    memset(&r, 0, sizeof(r));
    r.type = type;
    r.route = ROUTE;
    r.route_len = strlen(ROUTE);
    return r;
}

START_TEST(test_round_trip_every_type)
{
    static const char payload[] = "{\\\"_type\\\":\\\"x\\\"}";
    cnx_cluster_rec_t r, p;
    uint8_t           buf[512];
    long              n;
    int               t;

    for (t = CNX_CLUSTER_PING; t < CNX_CLUSTER_TYPE_MAX_; t++) {
        r = rec((cnx_cluster_type_t) t);
        r.src_conn = 0x0102030405060708ULL;
        r.dst_conn = 42;
        r.seq = 7;
        r.arg = 65536;
        switch (t) {
        case CNX_CLUSTER_INCOMING:
        case CNX_CLUSTER_EVICT:
            r.a = (const uint8_t *) "alice.claw";
            r.a_len = 10;
            break;
        case CNX_CLUSTER_JOIN_FAILED:
            r.a = (const uint8_t *) "TARGET_OFFLINE";
            r.a_len = 14;
            break;
        case CNX_CLUSTER_DATA_TEXT:
        case CNX_CLUSTER_DATA_BIN:
            r.b = (const uint8_t *) payload;
            r.b_len = sizeof(payload) - 1;
            break;
        }
        if (t != CNX_CLUSTER_PING && t != CNX_CLUSTER_EVICT) {
            r.room = "rAbC_-9";
            r.room_len = 7;
        }

        n = cnx_cluster_rec_write(buf, sizeof(buf), &r);
        ck_assert_int_eq(n, (long) cnx_cluster_rec_size(&r));
        ck_assert_int_eq(cnx_cluster_rec_parse(buf, (size_t) n, 1024, &p), 0);
        ck_assert_int_eq(p.type, t);
        ck_assert_str_eq(cnx_cluster_type_name(p.type),
                         cnx_cluster_type_name(r.type));
        ck_assert(p.src_conn == r.src_conn && p.dst_conn == 42);
        ck_assert(p.seq == 7 && p.arg == 65536);
        ck_assert_uint_eq(p.route_len, r.route_len);
        ck_assert(memcmp(p.route, ROUTE, p.route_len) == 0);
        ck_assert_uint_eq(p.room_len, r.room_len);
        ck_assert(r.room_len == 0 || memcmp(p.room, r.room, r.room_len) == 0);
        ck_assert_uint_eq(p.a_len, r.a_len);
        ck_assert(r.a_len == 0 || memcmp(p.a, r.a, r.a_len) == 0);
        ck_assert_uint_eq(p.b_len, r.b_len);
        ck_assert(r.b_len == 0 || memcmp(p.b, r.b, r.b_len) == 0);
        /* zero-copy: the slices point into the buffer */
        ck_assert(p.route == (const char *) buf + CNX_CLUSTER_HDR_LEN);
    }
}
END_TEST

START_TEST(test_wire_layout)
{
    cnx_cluster_rec_t r = rec(CNX_CLUSTER_DATA_BIN);
    uint8_t           buf[128];
    static const uint8_t head[] = {
        1, CNX_CLUSTER_DATA_BIN, 4, 2, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 1,
        0, 0, 0, 0, 0, 0, 0, 2,
        0, 0, 0, 0, 0, 0, 1, 0,
        0, 0, 0, 0, 0, 0, 0, 0,
        'n', ':', '0', ':', 'r', '1', 0xff, 0x00
    };

    r.route = "n:0:";
    r.route_len = 4;
    r.room = "r1";
    r.room_len = 2;
    r.b = (const uint8_t *) "\xff\x00";
    r.b_len = 2;
    r.src_conn = 1;
    r.dst_conn = 2;
    r.seq = 256;
    ck_assert_int_eq(cnx_cluster_rec_write(buf, sizeof(buf), &r),
                     (long) sizeof(head));
    ck_assert(memcmp(buf, head, sizeof(head)) == 0);
    ck_assert_int_eq(cnx_cluster_rec_write(buf, sizeof(head) - 1, &r), -1);
}
END_TEST

static int
parse_modified(size_t off, uint8_t v)
{
    cnx_cluster_rec_t r = rec(CNX_CLUSTER_INCOMING), p;
    uint8_t           buf[256];
    long              n;

    r.room = "room1";
    r.room_len = 5;
    r.a = (const uint8_t *) "bob";
    r.a_len = 3;
    r.arg = 1;
    n = cnx_cluster_rec_write(buf, sizeof(buf), &r);
    ck_assert_int_gt(n, 0);
    buf[off] = v;
    return cnx_cluster_rec_parse(buf, (size_t) n, 0, &p);
}

START_TEST(test_parse_refuses)
{
    cnx_cluster_rec_t r, p;
    uint8_t           buf[256];
    long              n;

    ck_assert_int_eq(parse_modified(0, 0), -1);                /* version */
    ck_assert_int_eq(parse_modified(0, 2), -1);
    ck_assert_int_eq(parse_modified(1, 0), -1);               /* type */
    ck_assert_int_eq(parse_modified(1, CNX_CLUSTER_TYPE_MAX_), -1);
    ck_assert_int_eq(parse_modified(1, 200), -1);
    ck_assert_int_eq(parse_modified(2, 0), -1);               /* route len */
    ck_assert_int_eq(parse_modified(2, 255), -1);             /* past end */
    ck_assert_int_eq(parse_modified(3, 0), -1);               /* no room */
    ck_assert_int_eq(parse_modified(5, 0), -1);               /* no claw_id */
    ck_assert_int_eq(parse_modified(6, 1), -1);               /* reserved */
    ck_assert_int_eq(parse_modified(39, 0), -1);              /* arg 0 */
    ck_assert_int_eq(parse_modified(CNX_CLUSTER_HDR_LEN, ' '), -1); /* route */
    ck_assert_int_eq(parse_modified(CNX_CLUSTER_HDR_LEN + strlen(ROUTE),
                                    '.'), -1);                /* room char */
    ck_assert_int_eq(parse_modified(CNX_CLUSTER_HDR_LEN + strlen(ROUTE) + 5,
                                    0x01), -1);               /* claw_id */
    ck_assert_int_eq(parse_modified(CNX_CLUSTER_HDR_LEN + strlen(ROUTE) + 5,
                                    'B'), 0);
    ck_assert_int_eq(parse_modified(10, 0xff), 0);            /* any conn */

    /* a body where the type has none */
    r = rec(CNX_CLUSTER_LEFT);
    r.room = "r";
    r.room_len = 1;
    n = cnx_cluster_rec_write(buf, sizeof(buf), &r);
    ck_assert_int_gt(n, 0);
    buf[n] = 'x';
    ck_assert_int_eq(cnx_cluster_rec_parse(buf, (size_t) n + 1, 1024, &p), -1);
    ck_assert_int_eq(p.type, CNX_CLUSTER_UNKNOWN);
    ck_assert_int_eq(cnx_cluster_rec_parse(buf, (size_t) n, 1024, &p), 0);
    ck_assert_int_eq(cnx_cluster_rec_parse(buf, CNX_CLUSTER_HDR_LEN - 1, 1024,
                                           &p), -1);

    /* a body over max_body */
    r = rec(CNX_CLUSTER_DATA_TEXT);
    r.room = "r";
    r.room_len = 1;
    r.b = (const uint8_t *) "12345";
    r.b_len = 5;
    n = cnx_cluster_rec_write(buf, sizeof(buf), &r);
    ck_assert_int_eq(cnx_cluster_rec_parse(buf, (size_t) n, 5, &p), 0);
    ck_assert_int_eq(cnx_cluster_rec_parse(buf, (size_t) n, 4, &p), -1);

    /* the writer refuses what the parser would */
    r = rec(CNX_CLUSTER_JOIN_FAILED);
    r.room = "r";
    r.room_len = 1;
    r.a = (const uint8_t *) "lower";
    r.a_len = 5;
    ck_assert_int_eq(cnx_cluster_rec_write(buf, sizeof(buf), &r), -1);
    r = rec(CNX_CLUSTER_PING);
    r.room = "r";
    r.room_len = 1;
    ck_assert_int_eq(cnx_cluster_rec_write(buf, sizeof(buf), &r), -1);
    r = rec(CNX_CLUSTER_CREDIT);
    r.room = "r";
    r.room_len = 1;
    ck_assert_int_eq(cnx_cluster_rec_write(buf, sizeof(buf), &r), -1);
    r.arg = 1;
    ck_assert_int_gt(cnx_cluster_rec_write(buf, sizeof(buf), &r), 0);
    ck_assert_str_eq(cnx_cluster_type_name(CNX_CLUSTER_TYPE_MAX_), "UNKNOWN");
}
END_TEST

START_TEST(test_routes_and_keys)
{
    char   out[CNX_CLUSTER_ROUTE_MAX + 1], key[128];
    size_t n;

    n = cnx_cluster_route_make(out, "relay-1.example", 15, 3, 0xabcdefULL);
    ck_assert_str_eq(out, "relay-1.example:3:0000000000abcdef");
    ck_assert_uint_eq(n, strlen(out));
    ck_assert(cnx_cluster_route_valid(out, n));

    n = cnx_cluster_route_make(out, "h\xc3\xa9 st/x", 8, 0, 1);
    ck_assert_str_eq(out, "h---st-x:0:0000000000000001");

    n = cnx_cluster_route_make(out, "0123456789012345678901234567890123456789",
                               40, 4294967295u, UINT64_MAX);
    ck_assert_uint_eq(n, 32 + 1 + 10 + 1 + 16);
    ck_assert(cnx_cluster_route_valid(out, n));
    n = cnx_cluster_route_make(out, NULL, 0, 1, 2);
    ck_assert_str_eq(out, "node:1:0000000000000002");

    ck_assert(!cnx_cluster_route_valid("", 0));
    ck_assert(!cnx_cluster_route_valid("a b", 3));
    ck_assert(!cnx_cluster_route_valid("a{b}", 4));

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
}
END_TEST

START_TEST(test_owner)
{
    cnx_cluster_owner_t o, p;
    char                buf[CNX_CLUSTER_OWNER_MAX + 1];
    long                n;

    memset(&o, 0, sizeof(o));
    strcpy(o.route, ROUTE);
    o.route_len = strlen(ROUTE);
    o.seq = 18446744073709551615ULL;
    o.conn = 0;
    n = cnx_cluster_owner_format(buf, sizeof(buf), &o);
    ck_assert_int_eq(n, (long) strlen(buf));
    ck_assert_str_eq(buf, ROUTE "|18446744073709551615|0");
    ck_assert_int_eq(cnx_cluster_owner_parse(buf, (size_t) n, &p), 0);
    ck_assert_str_eq(p.route, ROUTE);
    ck_assert(p.seq == UINT64_MAX && p.conn == 0);

    ck_assert_int_eq(cnx_cluster_owner_parse("a|1|2", 5, &p), 0);
    ck_assert_int_eq(cnx_cluster_owner_parse("a|1|2", 4, &p), -1);
    ck_assert_int_eq(cnx_cluster_owner_parse("a|1", 3, &p), -1);
    ck_assert_int_eq(cnx_cluster_owner_parse("|1|2", 4, &p), -1);
    ck_assert_int_eq(cnx_cluster_owner_parse("a|01|2", 6, &p), -1);
    ck_assert_int_eq(cnx_cluster_owner_parse("a|1|2|3", 7, &p), -1);
    ck_assert_int_eq(cnx_cluster_owner_parse("a|-1|2", 6, &p), -1);
    ck_assert_int_eq(cnx_cluster_owner_parse("a|18446744073709551616|2", 24,
                                             &p), -1);
    ck_assert_int_eq(cnx_cluster_owner_parse("a b|1|2", 7, &p), -1);
    ck_assert_str_eq(p.route, "");
    ck_assert_int_eq(cnx_cluster_owner_format(buf, 10, &o), -1);
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

START_TEST(test_credit)
{
    cnx_credit_tx_t tx;
    cnx_credit_rx_t rx;
    uint64_t        g;

    cnx_credit_tx_init(&tx, 1000);
    cnx_credit_rx_init(&rx, 1000);

    /* sends while any credit is left, one message may pass the window */
    ck_assert(cnx_credit_tx_open(&tx));
    cnx_credit_tx_sent(&tx, 600);
    ck_assert_int_eq(cnx_credit_rx_received(&rx, 600, 500), 0);
    ck_assert(cnx_credit_tx_open(&tx));
    cnx_credit_tx_sent(&tx, 500);
    ck_assert_int_eq(cnx_credit_rx_received(&rx, 500, 500), 0);
    ck_assert(!cnx_credit_tx_open(&tx));

    /* credit returns in steps of at least half a window */
    ck_assert(cnx_credit_rx_delivered(&rx, 300) == 0);
    g = cnx_credit_rx_delivered(&rx, 300);
    ck_assert(g == 600);
    ck_assert_int_eq(cnx_credit_tx_grant(&tx, g), 0);
    ck_assert(cnx_credit_tx_open(&tx));
    /* delivered never passes received */
    g = cnx_credit_rx_delivered(&rx, 100000);
    ck_assert(g == 500);
    ck_assert_int_eq(cnx_credit_tx_grant(&tx, g), 0);
    ck_assert(cnx_credit_rx_delivered(&rx, 1) == 0);

    /* more credit than bytes sent: a broken peer */
    ck_assert_int_eq(cnx_credit_tx_grant(&tx, 1), -1);
    ck_assert_int_eq(cnx_credit_tx_grant(&tx, 0), -1);

    /* a sender past window + one message */
    cnx_credit_rx_init(&rx, 1000);
    ck_assert_int_eq(cnx_credit_rx_received(&rx, 1500, 500), 0);
    ck_assert_int_eq(cnx_credit_rx_received(&rx, 1, 500), -1);
}
END_TEST

static Suite *
cluster_suite(void)
{
    Suite *s = suite_create("cluster");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_round_trip_every_type);
    tcase_add_test(tc, test_wire_layout);
    tcase_add_test(tc, test_parse_refuses);
    tcase_add_test(tc, test_routes_and_keys);
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
