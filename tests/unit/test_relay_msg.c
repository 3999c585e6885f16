/* Unit tests: relay protocol messages and the binary DATA frame. */

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_relay_msg.h"

static cnx_relay_msg_t  m;

static int
parse(const char *s)
{
    return cnx_relay_msg_parse(s, strlen(s), &m);
}

static int
slice_is(cnx_slice_t sl, const char *s)
{
    return sl.p != NULL && sl.len == strlen(s) && memcmp(sl.p, s, sl.len) == 0;
}

START_TEST(test_parse_client_messages)
{
    ck_assert_int_eq(parse("{\"type\":\"REGISTER\","
                           "\"claw_id\":\"alice.id.claw\","
                           "\"auth_token\":\"a.b.c\"}"), CNX_RELAY_OK);
    ck_assert_int_eq(m.type, CNX_RELAY_REGISTER);
    ck_assert_str_eq(m.claw_id_s, "alice.id.claw");
    ck_assert(slice_is(m.auth_token, "a.b.c"));
    ck_assert_int_eq(m.binary, -1);

    ck_assert_int_eq(parse("{\"auth_token\":\"t\",\"binary\":true,"
                           "\"claw_id\":\"x\",\"type\":\"REGISTER\","
                           "\"extra\":{\"n\":[1,2]}}"), CNX_RELAY_OK);
    ck_assert_int_eq(m.binary, 1);

    ck_assert_int_eq(parse("{\"type\":\"JOIN\",\"claw_id\":\"a\","
                           "\"target_claw_id\":\"b.claw\","
                           "\"auth_token\":\"t\"}"),
                     CNX_RELAY_OK);
    ck_assert_int_eq(m.type, CNX_RELAY_JOIN);
    ck_assert_str_eq(m.target_claw_id_s, "b.claw");

    ck_assert_int_eq(parse("{\"type\":\"ACCEPT\",\"room_id\":\"room-1\"}"),
                     CNX_RELAY_OK);
    ck_assert_str_eq(m.room_id_s, "room-1");
    ck_assert_int_eq(parse("{\"type\":\"REJECT\",\"room_id\":\"r_2\"}"),
                     CNX_RELAY_OK);
    ck_assert_int_eq(m.type, CNX_RELAY_REJECT);
    ck_assert_int_eq(parse("{\"type\":\"PING\"}"), CNX_RELAY_OK);
    ck_assert_int_eq(m.type, CNX_RELAY_PING);
    ck_assert_int_eq(parse(" { \"type\" : \"PONG\" } "), CNX_RELAY_OK);
    ck_assert_int_eq(m.type, CNX_RELAY_PONG);
}
END_TEST

START_TEST(test_parse_data_payload_verbatim)
{
    /* A KEY_EXCHANGE payload is JSON inside a string: kept escaped. */
    const char *msg = "{\"type\":\"DATA\",\"room_id\":\"R1\",\"payload\":"
                      "\"{\\\"_type\\\":\\\"KEY_EXCHANGE\\\",\\\"pubkey\\\":"
                      "\\\"MCowBQYDK2VuAyEA\\\"}\"}";
    char        out[256];
    int         n;

    ck_assert_int_eq(parse(msg), CNX_RELAY_OK);
    ck_assert_int_eq(m.type, CNX_RELAY_DATA);
    ck_assert_uint_eq(m.payload_escaped, 1);
    ck_assert(m.payload.p > msg && m.payload.p < msg + strlen(msg));
    ck_assert(slice_is(m.payload, "{\\\"_type\\\":\\\"KEY_EXCHANGE\\\","
                       "\\\"pubkey\\\":\\\"MCowBQYDK2VuAyEA\\\"}"));

    /* The relay re-emits it byte for byte. */
    n = cnx_relay_build_data(out, sizeof(out), m.room_id_s, m.payload.p,
                             m.payload.len);
    ck_assert_int_eq(n, (int) strlen(msg));
    ck_assert_str_eq(out, msg);
    ck_assert_uint_eq(cnx_relay_data_size(2, m.payload.len), (size_t) n);

    ck_assert_int_eq(parse("{\"type\":\"DATA\",\"room_id\":\"R1\","
                           "\"payload\":\"\"}"), CNX_RELAY_OK);
    ck_assert_uint_eq(m.payload.len, 0);
    ck_assert(m.payload.p != NULL);
}
END_TEST

START_TEST(test_parse_server_messages)
{
    ck_assert_int_eq(parse("{\"type\":\"REGISTERED\",\"claw_id\":\"a\","
                           "\"binary\":false}"), CNX_RELAY_OK);
    ck_assert_int_eq(m.binary, 0);
    ck_assert_int_eq(parse("{\"type\":\"INCOMING\",\"room_id\":\"r\","
                           "\"from_claw_id\":\"b\",\"from_pubkey\":\"\"}"),
                     CNX_RELAY_OK);
    ck_assert_str_eq(m.from_claw_id_s, "b");
    ck_assert(m.from_pubkey.p != NULL && m.from_pubkey.len == 0);
    ck_assert_int_eq(parse("{\"type\":\"JOINED\",\"room_id\":\"r\"}"),
                     CNX_RELAY_OK);
    ck_assert(m.peer_claw_id.p == NULL);
    ck_assert_str_eq(m.peer_claw_id_s, "");
    ck_assert_int_eq(parse("{\"type\":\"JOINED\",\"room_id\":\"r\","
                           "\"peer_claw_id\":\"p\\u00e9\"}"), CNX_RELAY_OK);
    ck_assert_str_eq(m.peer_claw_id_s, "p\xc3\xa9");
    ck_assert_int_eq(parse("{\"type\":\"PEER_LEFT\",\"room_id\":\"r\"}"),
                     CNX_RELAY_OK);
    ck_assert_int_eq(parse("{\"type\":\"ERROR\",\"code\":\"AUTH_FAILED\","
                           "\"message\":\"bad \\\"token\\\"\"}"),
                     CNX_RELAY_OK);
    ck_assert_str_eq(m.code_s, "AUTH_FAILED");
    ck_assert(slice_is(m.message, "bad \\\"token\\\""));
}
END_TEST

START_TEST(test_parse_errors)
{
    static const struct { const char *s; int rc; } c[] = {
        { "", CNX_RELAY_EJSON },
        { "not json", CNX_RELAY_EJSON },
        { "[\"type\",\"PING\"]", CNX_RELAY_EJSON },
        { "\"PING\"", CNX_RELAY_EJSON },
        { "{\"type\":\"PING\"", CNX_RELAY_EJSON },
        { "{\"type\":\"PING\"}x", CNX_RELAY_EJSON },
        { "{}", CNX_RELAY_ETYPE },
        { "{\"type\":1}", CNX_RELAY_ETYPE },
        { "{\"type\":null}", CNX_RELAY_ETYPE },
        { "{\"type\":\"ping\"}", CNX_RELAY_ETYPE },
        { "{\"type\":\"HELLO\"}", CNX_RELAY_ETYPE },
        { "{\"type\":\"PINGX\"}", CNX_RELAY_ETYPE },
        { "{\"Type\":\"PING\"}", CNX_RELAY_ETYPE },
        /* required fields */
        { "{\"type\":\"REGISTER\",\"claw_id\":\"a\"}", CNX_RELAY_EFIELD },
        { "{\"type\":\"REGISTER\",\"auth_token\":\"t\"}", CNX_RELAY_EFIELD },
        { "{\"type\":\"REGISTER\",\"claw_id\":5,\"auth_token\":\"t\"}",
          CNX_RELAY_EFIELD },
        { "{\"type\":\"REGISTER\",\"claw_id\":\"a\",\"auth_token\":null}",
          CNX_RELAY_EFIELD },
        { "{\"type\":\"REGISTER\",\"claw_id\":\"a\",\"auth_token\":\"t\","
          "\"binary\":1}", CNX_RELAY_EFIELD },
        { "{\"type\":\"JOIN\",\"claw_id\":\"a\",\"auth_token\":\"t\"}",
          CNX_RELAY_EFIELD },
        { "{\"type\":\"DATA\",\"room_id\":\"r\"}", CNX_RELAY_EFIELD },
        { "{\"type\":\"DATA\",\"room_id\":\"r\",\"payload\":{}}",
          CNX_RELAY_EFIELD },
        { "{\"type\":\"DATA\",\"payload\":\"x\"}", CNX_RELAY_EFIELD },
        { "{\"type\":\"ACCEPT\"}", CNX_RELAY_EFIELD },
        { "{\"type\":\"ERROR\",\"message\":\"m\"}", CNX_RELAY_EFIELD },
        /* invalid ids */
        { "{\"type\":\"REGISTER\",\"claw_id\":\"\",\"auth_token\":\"t\"}",
          CNX_RELAY_EFIELD },
        { "{\"type\":\"REGISTER\",\"claw_id\":\"a\\nb\",\"auth_token\":\"t\"}",
          CNX_RELAY_EFIELD },
        { "{\"type\":\"REGISTER\",\"claw_id\":\"a\\u007f\",\"auth_token\":"
          "\"t\"}", CNX_RELAY_EFIELD },
        { "{\"type\":\"ACCEPT\",\"room_id\":\"a b\"}", CNX_RELAY_EFIELD },
        { "{\"type\":\"ACCEPT\",\"room_id\":\"a/b\"}", CNX_RELAY_EFIELD },
        { "{\"type\":\"ACCEPT\",\"room_id\":\"\"}", CNX_RELAY_EFIELD },
        { "{\"type\":\"ACCEPT\",\"room_id\":\"12345678901234567890123456789"
          "01234567890123456789012345678901234X\"}", CNX_RELAY_EFIELD },
        /* duplicates of known fields */
        { "{\"type\":\"PING\",\"type\":\"PING\"}", CNX_RELAY_EFIELD },
        { "{\"type\":\"DATA\",\"room_id\":\"a\",\"room_id\":\"b\","
          "\"payload\":\"x\"}", CNX_RELAY_EFIELD },
        { "{\"type\":\"DATA\",\"room_id\":\"a\",\"room\\u005fid\":\"b\","
          "\"payload\":\"x\"}", CNX_RELAY_EFIELD },
    };
    size_t i;

    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        ck_assert_msg(parse(c[i].s) == c[i].rc, "case %zu: %s -> %d", i,
                      c[i].s, parse(c[i].s));
    }
    ck_assert_int_eq(cnx_relay_msg_parse(NULL, 0, &m), CNX_RELAY_EJSON);

    /* 64-character room id is the maximum. */
    ck_assert_int_eq(parse("{\"type\":\"ACCEPT\",\"room_id\":\"1234567890123"
                           "4567890123456789012345678901234567890123456789"
                           "01234\"}"), CNX_RELAY_OK);
    /* Fields irrelevant to the type are ignored, whatever their type. */
    ck_assert_int_eq(parse("{\"type\":\"PING\",\"claw_id\":5,\"room_id\":[]}"),
                     CNX_RELAY_OK);
    /* Unknown type names are reported as such. */
    ck_assert_int_eq(parse("{\"type\":\"HELLO\"}"), CNX_RELAY_ETYPE);
    ck_assert_int_eq(m.type, CNX_RELAY_UNKNOWN);
}
END_TEST

START_TEST(test_claw_id_limits)
{
    char  id[300], msg[400];

    memset(id, 'a', sizeof(id));
    ck_assert(cnx_relay_claw_id_valid(id, 255));
    ck_assert(!cnx_relay_claw_id_valid(id, 256));
    ck_assert(!cnx_relay_claw_id_valid(id, 0));
    ck_assert(!cnx_relay_claw_id_valid("a\xff", 2));
    ck_assert(cnx_relay_claw_id_valid("caf\xc3\xa9.claw", 10));

    snprintf(msg, sizeof(msg),
             "{\"type\":\"REGISTERED\",\"claw_id\":\"%.255s\"}",
             id);
    ck_assert_int_eq(parse(msg), CNX_RELAY_OK);
    ck_assert_uint_eq(strlen(m.claw_id_s), 255);
    snprintf(msg, sizeof(msg),
             "{\"type\":\"REGISTERED\",\"claw_id\":\"%.256s\"}",
             id);
    ck_assert_int_eq(parse(msg), CNX_RELAY_EFIELD);
}
END_TEST

START_TEST(test_type_names)
{
    int t;

    for (t = CNX_RELAY_REGISTER; t <= CNX_RELAY_ERROR; t++) {
        char msg[64];

        snprintf(msg, sizeof(msg), "{\"type\":\"%s\"}",
                 cnx_relay_type_name((cnx_relay_type_t) t));
        parse(msg);
        ck_assert_int_eq(m.type, t);
    }
    ck_assert_str_eq(cnx_relay_type_name(CNX_RELAY_UNKNOWN), "UNKNOWN");
    ck_assert_str_eq(cnx_relay_type_name((cnx_relay_type_t) 99), "UNKNOWN");
}
END_TEST

START_TEST(test_builders_parse_back)
{
    char  out[512];

    ck_assert_int_gt(cnx_relay_build_registered(out, sizeof(out), "a.claw", 1),
                     0);
    ck_assert_str_eq(out, "{\"type\":\"REGISTERED\",\"claw_id\":\"a.claw\","
                     "\"binary\":true}");
    ck_assert_int_gt(cnx_relay_build_registered(out, sizeof(out), "a.claw", 0),
                     0);
    ck_assert_str_eq(out, "{\"type\":\"REGISTERED\",\"claw_id\":\"a.claw\"}");

    ck_assert_int_gt(cnx_relay_build_incoming(out, sizeof(out), "r1", "b"), 0);
    ck_assert_str_eq(out, "{\"type\":\"INCOMING\",\"room_id\":\"r1\","
                     "\"from_claw_id\":\"b\",\"from_pubkey\":\"\"}");
    ck_assert_int_eq(parse(out), CNX_RELAY_OK);

    ck_assert_int_gt(cnx_relay_build_joined(out, sizeof(out), "r1", "q\"x"),
                     0);
    ck_assert_int_eq(parse(out), CNX_RELAY_OK);
    ck_assert_str_eq(m.peer_claw_id_s, "q\"x");
    ck_assert_int_gt(cnx_relay_build_joined(out, sizeof(out), "r1", NULL), 0);
    ck_assert_str_eq(out, "{\"type\":\"JOINED\",\"room_id\":\"r1\"}");

    ck_assert_int_gt(cnx_relay_build_peer_left(out, sizeof(out), "r1"), 0);
    ck_assert_str_eq(out, "{\"type\":\"PEER_LEFT\",\"room_id\":\"r1\"}");
    ck_assert_int_gt(cnx_relay_build_pong(out, sizeof(out)), 0);
    ck_assert_str_eq(out, "{\"type\":\"PONG\"}");
    ck_assert_int_gt(cnx_relay_build_ping(out, sizeof(out)), 0);
    ck_assert_str_eq(out, "{\"type\":\"PING\"}");
    ck_assert_int_gt(cnx_relay_build_error(out, sizeof(out),
                     CNX_RELAY_ERR_ROOM_NOT_FOUND, "no such room"), 0);
    ck_assert_str_eq(out, "{\"type\":\"ERROR\",\"code\":\"ROOM_NOT_FOUND\","
                     "\"message\":\"no such room\"}");

    ck_assert_int_gt(cnx_relay_build_register(out, sizeof(out), "a", "t.o.k",
                                              1), 0);
    ck_assert_int_eq(parse(out), CNX_RELAY_OK);
    ck_assert_int_eq(m.type, CNX_RELAY_REGISTER);
    ck_assert_int_eq(m.binary, 1);
    ck_assert_int_gt(cnx_relay_build_register(out, sizeof(out), "a", "t", 0),
                     0);
    ck_assert(strstr(out, "binary") == NULL);
    ck_assert_int_gt(cnx_relay_build_join(out, sizeof(out), "a", "b", "t"), 0);
    ck_assert_int_eq(parse(out), CNX_RELAY_OK);
    ck_assert_int_eq(m.type, CNX_RELAY_JOIN);
    ck_assert_int_gt(cnx_relay_build_accept(out, sizeof(out), "r"), 0);
    ck_assert_str_eq(out, "{\"type\":\"ACCEPT\",\"room_id\":\"r\"}");
    ck_assert_int_gt(cnx_relay_build_reject(out, sizeof(out), "r"), 0);
    ck_assert_str_eq(out, "{\"type\":\"REJECT\",\"room_id\":\"r\"}");

    /* DATA with a payload to escape: parses back to the same bytes. */
    ck_assert_int_gt(cnx_relay_build_data_str(out, sizeof(out), "r",
                     "{\"_type\":\"KEY_EXCHANGE\"}\n", 25), 0);
    ck_assert_int_eq(parse(out), CNX_RELAY_OK);
    ck_assert(slice_is(m.payload, "{\\\"_type\\\":\\\"KEY_EXCHANGE\\\"}\\n"));

    /* Missing strings and small buffers fail. */
    ck_assert_int_eq(cnx_relay_build_joined(out, sizeof(out), NULL, "p"), -1);
    ck_assert_int_eq(cnx_relay_build_pong(out, 14), -1);
    ck_assert_int_eq(cnx_relay_build_pong(out, 15), 15);
    ck_assert_int_eq(cnx_relay_build_data(out, 10, "r", "x", 1), -1);
}
END_TEST

START_TEST(test_room_id_new)
{
    char  a[CNX_RELAY_ROOM_ID_NEW_LEN + 1], b[CNX_RELAY_ROOM_ID_NEW_LEN + 1];

    cnx_relay_room_id_new(a);
    cnx_relay_room_id_new(b);
    ck_assert_uint_eq(strlen(a), CNX_RELAY_ROOM_ID_NEW_LEN);
    ck_assert(cnx_relay_room_id_valid(a, strlen(a)));
    ck_assert_str_ne(a, b);
}
END_TEST

/* Exactly [A-Za-z0-9_-] at every position of an id, whatever the rest. */
START_TEST(test_room_id_chars)
{
    int     c, want;
    char    id[CNX_RELAY_ROOM_ID_MAX];
    size_t  pos;

    for (pos = 0; pos < sizeof(id); pos += 21) {
        memset(id, 'a', sizeof(id));
        for (c = 0; c < 256; c++) {
            id[pos] = (char) c;
            want = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                   || (c >= '0' && c <= '9') || c == '_' || c == '-';
            ck_assert_int_eq(cnx_relay_room_id_valid(id, sizeof(id)), want);
            ck_assert_int_eq(cnx_relay_room_id_valid(id + pos, 1), want);
        }
    }
    ck_assert_int_eq(cnx_relay_room_id_valid(id, 0), 0);
    ck_assert_int_eq(cnx_relay_room_id_valid(NULL, 1), 0);
    memset(id, 'a', sizeof(id));
    ck_assert_int_eq(cnx_relay_room_id_valid(id, sizeof(id)), 1);
    ck_assert_int_eq(cnx_relay_room_id_valid(id, sizeof(id) + 1), 0);
}
END_TEST

START_TEST(test_binary_frame)
{
    uint8_t         buf[200];
    const uint8_t  *room, *pl;
    size_t          rl, pll, h;
    char            longroom[66];

    h = cnx_relay_bin_header(buf, "room-1", 6);
    ck_assert_uint_eq(h, 8);
    ck_assert_uint_eq(buf[0], 0x01);
    ck_assert_uint_eq(buf[1], 6);
    memcpy(buf + h, "\x00\xff\x10", 3);
    ck_assert_int_eq(cnx_relay_bin_parse(buf, h + 3, &room, &rl, &pl, &pll), 0);
    ck_assert_uint_eq(rl, 6);
    ck_assert(memcmp(room, "room-1", 6) == 0);
    ck_assert_uint_eq(pll, 3);
    ck_assert(pl == buf + 8);
    ck_assert_int_eq(cnx_relay_bin_parse(buf, h, &room, &rl, &pl, &pll), 0);
    ck_assert_uint_eq(pll, 0);

    /* Truncated anywhere inside the header, bad version, bad room. */
    for (rl = 0; rl < h; rl++) {
        ck_assert_int_eq(cnx_relay_bin_parse(buf, rl, &room, &rl, &pl, &pll),
                         -1);
    }
    buf[0] = 0x02;
    ck_assert_int_eq(cnx_relay_bin_parse(buf, h, &room, &rl, &pl, &pll), -1);
    buf[0] = 0x01;
    buf[1] = 0;
    ck_assert_int_eq(cnx_relay_bin_parse(buf, h, &room, &rl, &pl, &pll), -1);
    buf[1] = 6;
    buf[4] = ' ';
    ck_assert_int_eq(cnx_relay_bin_parse(buf, h, &room, &rl, &pl, &pll), -1);

    memset(longroom, 'a', sizeof(longroom));
    ck_assert_uint_eq(cnx_relay_bin_header(buf, longroom, 64), 66);
    ck_assert_uint_eq(cnx_relay_bin_header(buf, longroom, 65), 0);
    ck_assert_uint_eq(cnx_relay_bin_header(buf, longroom, 0), 0);
    ck_assert_uint_eq(cnx_relay_bin_header(buf, "a.b", 3), 0);
    buf[1] = 65;
    ck_assert_int_eq(cnx_relay_bin_parse(buf, 100, &room, &rl, &pl, &pll), -1);
}
END_TEST

START_TEST(test_error_code_strings)
{
    ck_assert_str_eq(CNX_RELAY_ERR_AUTH_FAILED, "AUTH_FAILED");
    ck_assert_str_eq(CNX_RELAY_ERR_NOT_REGISTERED, "NOT_REGISTERED");
    ck_assert_str_eq(CNX_RELAY_ERR_TARGET_OFFLINE, "TARGET_OFFLINE");
    ck_assert_str_eq(CNX_RELAY_ERR_ROOM_NOT_FOUND, "ROOM_NOT_FOUND");
    ck_assert_str_eq(CNX_RELAY_ERR_BAD_MESSAGE, "BAD_MESSAGE");
    ck_assert_str_eq(CNX_RELAY_ERR_TOO_LARGE, "TOO_LARGE");
    ck_assert_str_eq(CNX_RELAY_ERR_RATE_LIMITED, "RATE_LIMITED");
}
END_TEST

/*
 * The DATA fast path agrees with the strict parser: whenever it accepts,
 * the strict parser returns OK with type DATA and the same fields.
 */
static void
fast_agrees(const char *s, size_t n, cnx_relay_data_t *d)
{
    ck_assert_int_eq(cnx_relay_msg_parse(s, n, &m), CNX_RELAY_OK);
    ck_assert_int_eq(m.type, CNX_RELAY_DATA);
    ck_assert(d->room_id.p == m.room_id.p && d->room_id.len == m.room_id.len);
    ck_assert_uint_eq(strlen(m.room_id_s), d->room_id.len);
    ck_assert(memcmp(m.room_id_s, d->room_id.p, d->room_id.len) == 0);
    ck_assert(d->payload.p == m.payload.p && d->payload.len == m.payload.len);
    ck_assert_uint_eq(d->payload_escaped, m.payload_escaped);
}

START_TEST(test_data_fast_path)
{
    static const struct { const char *s; int fast; int rc; } c[] = {
        /* the usual shape, other orders, whitespace, escapes, UTF-8 */
        { "{\"type\":\"DATA\",\"room_id\":\"R1\",\"payload\":\"abc\"}",
          1, CNX_RELAY_OK },
        { "{\"payload\":\"x\",\"room_id\":\"r_-9\",\"type\":\"DATA\"}",
          1, CNX_RELAY_OK },
        { "{\"room_id\":\"r\",\"type\":\"DATA\",\"payload\":\"\"}",
          1, CNX_RELAY_OK },
        { " \t{ \"type\" : \"DATA\" ,\r\n\"room_id\" : \"r\" , "
          "\"payload\" : \"x\" } \n", 1, CNX_RELAY_OK },
        { "{\"type\":\"DATA\",\"room_id\":\"r\",\"payload\":"
          "\"a\\\"b\\\\c\\/d\\u00e9\\ud83d\\ude00\\n\"}", 1, CNX_RELAY_OK },
        { "{\"type\":\"DATA\",\"room_id\":\"r\",\"payload\":"
          "\"caf\xc3\xa9 \xf0\x9f\x98\x80 0123456789abcdef0123456789\"}",
          1, CNX_RELAY_OK },
        { "{\"type\":\"DATA\",\"room_id\":\"r\",\"payload\":"
          "\"\\ud800\"}", 1, CNX_RELAY_OK },  /* checked when decoded */
        { "{\"type\":\"DATA\",\"room_id\":\"0123456789012345678901234567890"
          "123456789012345678901234567890123\",\"payload\":\"p\"}",
          1, CNX_RELAY_OK },                   /* 64 characters */
        /* valid, but left to the strict parser */
        { "{\"type\":\"DATA\",\"room_id\":\"r\\u0031\",\"payload\":\"x\"}",
          0, CNX_RELAY_OK },
        { "{\"ty\\u0070e\":\"DATA\",\"room_id\":\"r\",\"payload\":\"x\"}",
          0, CNX_RELAY_OK },
        { "{\"type\":\"D\\u0041TA\",\"room_id\":\"r\",\"payload\":\"x\"}",
          0, CNX_RELAY_OK },
        { "{\"type\":\"DATA\",\"room_id\":\"r\",\"payload\":\"x\","
          "\"extra\":1}", 0, CNX_RELAY_OK },
        { "{\"extra\":[1],\"type\":\"DATA\",\"room_id\":\"r\","
          "\"payload\":\"x\"}", 0, CNX_RELAY_OK },
        { "{\"type\":\"PING\"}", 0, CNX_RELAY_OK },
        /* invalid: the strict parser's verdict stands */
        { "{\"type\":\"DATA\",\"type\":\"DATA\",\"room_id\":\"r\","
          "\"payload\":\"x\"}", 0, CNX_RELAY_EFIELD },
        { "{\"type\":\"DATA\",\"room_id\":\"r\",\"payload\":\"x\","
          "\"payload\":\"y\"}", 0, CNX_RELAY_EFIELD },
        { "{\"type\":\"DATA\",\"room_id\":\"r\",\"room_id\":\"r\","
          "\"payload\":\"y\"}", 0, CNX_RELAY_EFIELD },
        { "{\"type\":\"DATA\",\"room_id\":\"r\",\"payload\":5}",
          0, CNX_RELAY_EFIELD },
        { "{\"type\":\"DATA\",\"room_id\":\"r\",\"payload\":null}",
          0, CNX_RELAY_EFIELD },
        { "{\"type\":\"DATA\",\"room_id\":7,\"payload\":\"x\"}",
          0, CNX_RELAY_EFIELD },
        { "{\"type\":\"DATA\",\"room_id\":\"r\"}", 0, CNX_RELAY_EFIELD },
        { "{\"type\":\"DATA\",\"room_id\":\"\",\"payload\":\"x\"}",
          0, CNX_RELAY_EFIELD },
        { "{\"type\":\"DATA\",\"room_id\":\"a b\",\"payload\":\"x\"}",
          0, CNX_RELAY_EFIELD },
        { "{\"type\":\"DATA\",\"room_id\":\"0123456789012345678901234567890"
          "1234567890123456789012345678901234\",\"payload\":\"p\"}",
          0, CNX_RELAY_EFIELD },               /* 65 characters */
        { "{\"type\":\"data\",\"room_id\":\"r\",\"payload\":\"x\"}",
          0, CNX_RELAY_ETYPE },
        { "{\"type\":\"DATA \",\"room_id\":\"r\",\"payload\":\"x\"}",
          0, CNX_RELAY_ETYPE },
        { "{\"type\":\"DATA\",\"room_id\":\"r\",\"payload\":\"\xc3\x28\"}",
          0, CNX_RELAY_EJSON },
        { "{\"type\":\"DATA\",\"room_id\":\"r\",\"payload\":\"\xed\xa0\x80\"}",
          0, CNX_RELAY_EJSON },               /* UTF-8 surrogate */
        { "{\"type\":\"DATA\",\"room_id\":\"r\",\"payload\":\"a\tb\"}",
          0, CNX_RELAY_EJSON },
        { "{\"type\":\"DATA\",\"room_id\":\"r\",\"payload\":\"\\x\"}",
          0, CNX_RELAY_EJSON },
        { "{\"type\":\"DATA\",\"room_id\":\"r\",\"payload\":\"\\u12g4\"}",
          0, CNX_RELAY_EJSON },
        { "{\"type\":\"DATA\",\"room_id\":\"r\",\"payload\":\"x\"}x",
          0, CNX_RELAY_EJSON },
        { "{\"type\":\"DATA\",\"room_id\":\"r\",\"payload\":\"x\",}",
          0, CNX_RELAY_EJSON },
        { "{\"type\":\"DATA\",\"room_id\":\"r\",\"payload\":\"x\"}{}",
          0, CNX_RELAY_EJSON },
        { "{\"type\":\"DATA\",\"room_id\":\"r\",\"payload\":\"x",
          0, CNX_RELAY_EJSON },
        { "{\"type\":\"DATA\",\"room_id\":\"r\",\"payload\":\"x\"",
          0, CNX_RELAY_EJSON },
        { "{\"type\":\"DATA\" \"room_id\":\"r\",\"payload\":\"x\"}",
          0, CNX_RELAY_EJSON },
        { "{\"type\"\"DATA\",\"room_id\":\"r\",\"payload\":\"x\"}",
          0, CNX_RELAY_EJSON },
        { "[\"type\",\"DATA\"]", 0, CNX_RELAY_EJSON },
        { "", 0, CNX_RELAY_EJSON },
    };
    cnx_relay_data_t  d;
    size_t            i, n;
    int               fast;

    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        n = strlen(c[i].s);
        memset(&d, 0, sizeof(d));
        fast = cnx_relay_data_parse(c[i].s, n, &d);
        ck_assert_msg(fast == c[i].fast, "case %zu: fast %d", i, fast);
        ck_assert_msg(cnx_relay_msg_parse(c[i].s, n, &m) == c[i].rc,
                      "case %zu", i);
        if (fast) {
            fast_agrees(c[i].s, n, &d);
        }
    }

    /* a NUL inside the buffer is a raw control character */
    ck_assert_int_eq(cnx_relay_data_parse("{\"type\":\"DATA\",\"room_id\":"
                     "\"r\",\"payload\":\"a\0\"}", 39, &d), 0);
    ck_assert_int_eq(cnx_relay_data_parse(NULL, 0, &d), 0);
}
END_TEST

/* Random corruption of DATA messages never makes the two disagree. */
START_TEST(test_data_fast_path_mutations)
{
    static const char *seeds[] = {
        "{\"type\":\"DATA\",\"room_id\":\"rAbc-_9\",\"payload\":"
        "\"0000000000000042QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\"}",
        "{ \"payload\" : \"{\\\"_type\\\":\\\"KEY_EXCHANGE\\\",\\\"k\\\":"
        "\\\"\\u00e9\xc3\xa9\\\"}\", \"type\" : \"DATA\", "
        "\"room_id\" : \"r\" }",
    };
    cnx_relay_data_t  d;
    char              doc[160];
    size_t            n, s;
    uint32_t          rng = 7;
    int               i, k, fast, accepted = 0;

    for (s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
        for (i = 0; i < 40000; i++) {
            n = strlen(seeds[s]);
            memcpy(doc, seeds[s], n);
            for (k = 0; k < 1 + i % 3; k++) {
                rng = rng * 1664525u + 1013904223u;
                switch ((rng >> 4) % 3) {
                case 0:      /* overwrite a byte */
                    doc[(rng >> 8) % n] = (char) (rng >> 24);
                    break;
                case 1:      /* overwrite with an interesting byte */
                    doc[(rng >> 8) % n] = "\"\\{}:, u0\x80\xc3\xe9"
                                          [(rng >> 24) % 13];
                    break;
                default:     /* cut short */
                    n = 1 + (rng >> 8) % n;
                    break;
                }
            }
            fast = cnx_relay_data_parse(doc, n, &d);
            if (fast) {
                fast_agrees(doc, n, &d);
                accepted++;
            }
        }
    }
    /* the mutations are not all fatal: the fast path had work to do */
    ck_assert_int_gt(accepted, 1000);
}
END_TEST

/* The DATA the relay forwards is the same with or without the builder. */
START_TEST(test_build_data_exact)
{
    const char *msg = "{\"type\":\"DATA\",\"room_id\":\"r-1\",\"payload\":"
                      "\"a\\\"b\"}";
    size_t      n = strlen(msg);
    char        out[128];

    memset(out, 'z', sizeof(out));
    ck_assert_int_eq(cnx_relay_build_data(out, n + 1, "r-1", "a\\\"b", 4),
                     (int) n);
    ck_assert_str_eq(out, msg);

    /* exactly full: no NUL; one short: refused */
    memset(out, 'z', sizeof(out));
    ck_assert_int_eq(cnx_relay_build_data(out, n, "r-1", "a\\\"b", 4),
                     (int) n);
    ck_assert(memcmp(out, msg, n) == 0 && out[n] == 'z');
    ck_assert_int_eq(cnx_relay_build_data(out, n - 1, "r-1", "a\\\"b", 4),
                     -1);

    /* an id that is not a room id is still escaped */
    ck_assert_int_gt(cnx_relay_build_data(out, sizeof(out), "q\"x", "p", 1),
                     0);
    ck_assert_str_eq(out, "{\"type\":\"DATA\",\"room_id\":\"q\\\"x\","
                     "\"payload\":\"p\"}");
    ck_assert_int_eq(cnx_relay_build_data(out, sizeof(out), NULL, "p", 1),
                     -1);
    ck_assert_int_eq(cnx_relay_build_data(out, sizeof(out), "r", NULL, 1),
                     -1);
    ck_assert_int_eq(cnx_relay_build_data(out, sizeof(out), "r", NULL, 0),
                     (int) cnx_relay_data_size(1, 0));

    /* a length whose message size wraps around is refused, not copied */
    memset(out, 'z', sizeof(out));
    ck_assert_int_eq(cnx_relay_build_data(out, sizeof(out), "r-1", "p",
                                          SIZE_MAX - 20), -1);
    ck_assert_int_eq(cnx_relay_build_data(out, sizeof(out), "r-1", "p",
                                          (size_t) 0x80000000u), -1);
    ck_assert(out[0] == 'z');

    /* the same from an id with its length, without a NUL after it */
    memset(out, 'z', sizeof(out));
    ck_assert_int_eq(cnx_relay_build_data_id(out, n + 1, "r-1xyz", 3,
                                             "a\\\"b", 4), (int) n);
    ck_assert_str_eq(out, msg);
    ck_assert_int_eq(cnx_relay_build_data_id(out, n - 1, "r-1", 3,
                                             "a\\\"b", 4), -1);
    ck_assert_int_eq(cnx_relay_build_data_id(out, sizeof(out), "q\"x", 3,
                                             "p", 1), -1);
    ck_assert_int_eq(cnx_relay_build_data_id(out, sizeof(out), NULL, 0,
                                             "p", 1), -1);
    ck_assert_int_eq(cnx_relay_build_data_id(out, sizeof(out), "r", 1,
                                             NULL, 1), -1);
    ck_assert_int_eq(cnx_relay_build_data_id(out, sizeof(out), "r-1", 3,
                                             "p", (size_t) 0x80000000u), -1);
}
END_TEST

/* Random corruption of valid messages is handled without crashing. */
START_TEST(test_mutations)
{
    const char *seed = "{\"type\":\"JOIN\",\"claw_id\":\"a.claw\","
                       "\"target_claw_id\":\"b\\u00e9\","
                       "\"auth_token\":\"x.y.z\"}";
    char        doc[160];
    size_t      n = strlen(seed);
    uint32_t    rng = 99;
    int         i, k, rc;

    for (i = 0; i < 20000; i++) {
        memcpy(doc, seed, n);
        for (k = 0; k < 2; k++) {
            rng = rng * 1664525u + 1013904223u;
            doc[(rng >> 8) % n] = (char) (rng >> 24);
        }
        rc = cnx_relay_msg_parse(doc, n, &m);
        ck_assert(rc == CNX_RELAY_OK || rc == CNX_RELAY_EJSON
                  || rc == CNX_RELAY_ETYPE || rc == CNX_RELAY_EFIELD);
    }
}
END_TEST

int
main(void)
{
    Suite   *s = suite_create("relay_msg");
    TCase   *tc = tcase_create("core");
    SRunner *sr;
    int      failed;

    tcase_add_test(tc, test_parse_client_messages);
    tcase_add_test(tc, test_parse_data_payload_verbatim);
    tcase_add_test(tc, test_parse_server_messages);
    tcase_add_test(tc, test_parse_errors);
    tcase_add_test(tc, test_claw_id_limits);
    tcase_add_test(tc, test_type_names);
    tcase_add_test(tc, test_builders_parse_back);
    tcase_add_test(tc, test_room_id_new);
    tcase_add_test(tc, test_room_id_chars);
    tcase_add_test(tc, test_binary_frame);
    tcase_add_test(tc, test_error_code_strings);
    tcase_add_test(tc, test_mutations);
    tcase_add_test(tc, test_data_fast_path);
    tcase_add_test(tc, test_data_fast_path_mutations);
    tcase_add_test(tc, test_build_data_exact);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
