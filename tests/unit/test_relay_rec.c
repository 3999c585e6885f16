/* Unit tests of the relay's inter-process record codec (cnx_relay_rec.h). */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_relay_rec.h"

static cnx_relay_rec_t
rec_of(cnx_relay_rec_type_t type)
{
    cnx_relay_rec_t  r;

    memset(&r, 0, sizeof(r));
    r.type = type;
    r.src.node = 0x0102030405060708ULL;
    r.src.gen = 7;
    r.src.worker = 3;
    r.src.pid = 4242;
    r.src.conn = 99;
    r.dst.worker = -1;
    r.dst.pid = 1;
    r.dst.conn = UINT64_MAX;
    r.room = "rAbC_d-9";
    r.room_len = 8;
    return r;
}

START_TEST(test_roundtrip_every_type)
{
    static const uint8_t  payload[] = { 0, 1, 2, 0xff, '"', '\\' };
    uint8_t               buf[512];
    cnx_relay_rec_t       r, d;
    long                  n;
    int                   t;

    for (t = CNX_RELAY_REC_INCOMING; t <= CNX_RELAY_REC_TYPE_MAX; t++) {
        r = rec_of((cnx_relay_rec_type_t) t);
        if (t == CNX_RELAY_REC_INCOMING) {
            r.name = "alice.id.claw";
            r.name_len = 13;
            r.flags = CNX_RELAY_REC_F_SET;
        } else if (t == CNX_RELAY_REC_REFUSED) {
            r.name = "TOO_MANY_PENDING";
            r.name_len = 16;
        } else if (t == CNX_RELAY_REC_DATA_TEXT
                   || t == CNX_RELAY_REC_DATA_BIN)
        {
            r.payload = payload;
            r.payload_len = sizeof(payload);
        } else if (t == CNX_RELAY_REC_REPLACED) {
            r.room = NULL;
            r.room_len = 0;
            r.name = "alice.id.claw";
            r.name_len = 13;
        } else if (t == CNX_RELAY_REC_FLOW || t == CNX_RELAY_REC_JOINED) {
            r.flags = CNX_RELAY_REC_F_SET;
        } else if (t == CNX_RELAY_REC_ACK) {
            r.payload = payload;
            r.payload_len = CNX_RELAY_REC_ACK_LEN;
        }

        n = cnx_relay_rec_encode(&r, buf, sizeof(buf));
        ck_assert_int_eq(n, (long) cnx_relay_rec_size(&r));
        ck_assert_int_eq(cnx_relay_rec_length(buf, (size_t) n, 1024), n);
        ck_assert_int_eq(cnx_relay_rec_length(buf, CNX_RELAY_REC_HEADER - 1,
                                              1024), 0);
        ck_assert_int_eq(cnx_relay_rec_decode(buf, (size_t) n, 1024, &d), 0);
        ck_assert_int_eq(d.type, t);
        ck_assert_uint_eq(d.flags, r.flags);
        ck_assert(cnx_relay_addr_eq(&d.src, &r.src));
        ck_assert(cnx_relay_addr_eq(&d.dst, &r.dst));
        ck_assert(!cnx_relay_addr_eq(&d.src, &d.dst));
        ck_assert_uint_eq(d.room_len, r.room_len);
        ck_assert(r.room_len == 0 || memcmp(d.room, r.room, r.room_len) == 0);
        ck_assert_uint_eq(d.name_len, r.name_len);
        ck_assert(r.name_len == 0 || memcmp(d.name, r.name, r.name_len) == 0);
        ck_assert_uint_eq(d.payload_len, r.payload_len);
        ck_assert(r.payload_len == 0
                  || memcmp(d.payload, payload, r.payload_len) == 0);
        ck_assert_str_ne(cnx_relay_rec_type_name(t), "UNKNOWN");

        /* one byte short or long is refused; a prefix too */
        ck_assert_int_eq(cnx_relay_rec_decode(buf, (size_t) n - 1, 1024, &d),
                         -1);
        ck_assert_int_eq(cnx_relay_rec_decode(buf, (size_t) n + 1, 1024, &d),
                         -1);
        ck_assert_int_eq(cnx_relay_rec_encode(&r, buf, (size_t) n - 1), -1);
    }
    ck_assert_str_eq(cnx_relay_rec_type_name(0), "UNKNOWN");
    ck_assert_str_eq(cnx_relay_rec_type_name(CNX_RELAY_REC_TYPE_MAX + 1),
                     "UNKNOWN");
}
END_TEST

/* Big-endian fields at fixed places: the format is the same on every host. */
START_TEST(test_wire_layout)
{
    uint8_t          buf[256];
    cnx_relay_rec_t  r = rec_of(CNX_RELAY_REC_DATA_BIN);
    static const uint8_t  head[12] = { 1, CNX_RELAY_REC_DATA_BIN, 0, 8,
                                       0, 0, 0, 0, 0, 0, 0, 3 };

    r.payload = (const uint8_t *) "xyz";
    r.payload_len = 3;
    ck_assert_int_eq(cnx_relay_rec_encode(&r, buf, sizeof(buf)), 68 + 8 + 3);
    ck_assert_mem_eq(buf, head, sizeof(head));
    ck_assert_uint_eq(buf[12], 0x01);                   /* node */
    ck_assert_uint_eq(buf[19], 0x08);
    ck_assert_uint_eq(buf[23], 7);                      /* gen */
    ck_assert_uint_eq(buf[27], 3);                      /* worker */
    ck_assert_uint_eq(buf[30], 4242 >> 8);              /* pid */
    ck_assert_uint_eq(buf[39], 99);                     /* conn */
    ck_assert_uint_eq(buf[52], 0xff);                   /* dst worker -1 */
    ck_assert_mem_eq(buf + 68, "rAbC_d-9xyz", 11);
}
END_TEST

START_TEST(test_fields_checked)
{
    uint8_t          buf[512];
    cnx_relay_rec_t  r;
    long             n;

    /* a field the type does not carry */
    r = rec_of(CNX_RELAY_REC_PEER_LEFT);
    r.name = "x";
    r.name_len = 1;
    ck_assert_int_eq(cnx_relay_rec_encode(&r, buf, sizeof(buf)), -1);
    r = rec_of(CNX_RELAY_REC_JOINED);
    r.payload = (const uint8_t *) "x";
    r.payload_len = 1;
    ck_assert_int_eq(cnx_relay_rec_encode(&r, buf, sizeof(buf)), -1);
    r = rec_of(CNX_RELAY_REC_DATA_TEXT);
    r.flags = CNX_RELAY_REC_F_SET;
    ck_assert_int_eq(cnx_relay_rec_encode(&r, buf, sizeof(buf)), -1);
    r = rec_of(CNX_RELAY_REC_FLOW);
    r.flags = 2;
    ck_assert_int_eq(cnx_relay_rec_encode(&r, buf, sizeof(buf)), -1);
    /* an ACK carries exactly its count */
    r = rec_of(CNX_RELAY_REC_ACK);
    ck_assert_int_eq(cnx_relay_rec_encode(&r, buf, sizeof(buf)), -1);
    r.payload = (const uint8_t *) "12345";
    r.payload_len = 5;
    ck_assert_int_eq(cnx_relay_rec_encode(&r, buf, sizeof(buf)), -1);
    r.payload_len = 3;
    ck_assert_int_eq(cnx_relay_rec_encode(&r, buf, sizeof(buf)), -1);
    r.payload_len = CNX_RELAY_REC_ACK_LEN;
    ck_assert_int_gt(cnx_relay_rec_encode(&r, buf, sizeof(buf)), 0);

    /* ids and codes */
    r = rec_of(CNX_RELAY_REC_PEER_LEFT);
    r.room = "a b";
    r.room_len = 3;
    ck_assert_int_eq(cnx_relay_rec_encode(&r, buf, sizeof(buf)), -1);
    r.room_len = 0;
    ck_assert_int_eq(cnx_relay_rec_encode(&r, buf, sizeof(buf)), -1);
    r = rec_of(CNX_RELAY_REC_INCOMING);
    ck_assert_int_eq(cnx_relay_rec_encode(&r, buf, sizeof(buf)), -1);
    r.name = "a\nb";
    r.name_len = 3;
    ck_assert_int_eq(cnx_relay_rec_encode(&r, buf, sizeof(buf)), -1);
    r = rec_of(CNX_RELAY_REC_REFUSED);
    r.name = "lower";
    r.name_len = 5;
    ck_assert_int_eq(cnx_relay_rec_encode(&r, buf, sizeof(buf)), -1);
    r = rec_of(CNX_RELAY_REC_REPLACED);             /* a room, no name */
    ck_assert_int_eq(cnx_relay_rec_encode(&r, buf, sizeof(buf)), -1);
    r.room_len = 0;
    ck_assert_int_eq(cnx_relay_rec_encode(&r, buf, sizeof(buf)), -1);
    r = rec_of((cnx_relay_rec_type_t) 0);
    ck_assert_int_eq(cnx_relay_rec_encode(&r, buf, sizeof(buf)), -1);

    /* a decoded header is checked before its lengths are used */
    r = rec_of(CNX_RELAY_REC_DATA_BIN);
    r.payload = (const uint8_t *) "0123456789";
    r.payload_len = 10;
    n = cnx_relay_rec_encode(&r, buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(cnx_relay_rec_length(buf, (size_t) n, 9), -1);
    ck_assert_int_eq(cnx_relay_rec_decode(buf, (size_t) n, 9, &r), -1);
    buf[0] = 2;
    ck_assert_int_eq(cnx_relay_rec_length(buf, (size_t) n, 1024), -1);
    buf[0] = 1;
    buf[1] = CNX_RELAY_REC_TYPE_MAX + 1;
    ck_assert_int_eq(cnx_relay_rec_length(buf, (size_t) n, 1024), -1);
    buf[1] = CNX_RELAY_REC_DATA_BIN;
    buf[3] = 65;
    ck_assert_int_eq(cnx_relay_rec_length(buf, (size_t) n, 1024), -1);
    buf[3] = 8;
    buf[7] = 1;
    ck_assert_int_eq(cnx_relay_rec_length(buf, (size_t) n, 1024), -1);
    buf[7] = 0;
    buf[4] = 1;                                 /* name length 256 */
    ck_assert_int_eq(cnx_relay_rec_length(buf, (size_t) n, 1024), -1);
    buf[4] = 0;
    buf[5] = 1;                                 /* DATA with a name */
    ck_assert_int_eq(cnx_relay_rec_decode(buf, (size_t) n, 1024, &r), -1);
}
END_TEST

/* Records one after another on a stream split where the length says. */
START_TEST(test_stream_of_records)
{
    uint8_t          buf[4096];
    size_t           off = 0, at;
    cnx_relay_rec_t  r, d;
    long             n;
    int              i, seen = 0;

    for (i = 0; i < 20; i++) {
        r = rec_of(i % 2 ? CNX_RELAY_REC_DATA_TEXT : CNX_RELAY_REC_FLOW);
        r.src.conn = (uint64_t) i;
        if (i % 2) {
            r.payload = (const uint8_t *) "hello world";
            r.payload_len = (size_t) i % 11;
        }
        n = cnx_relay_rec_encode(&r, buf + off, sizeof(buf) - off);
        ck_assert_int_gt(n, 0);
        off += (size_t) n;
    }
    for (at = 0; at < off; at += (size_t) n) {
        n = cnx_relay_rec_length(buf + at, off - at, 1024);
        ck_assert_int_gt(n, 0);
        ck_assert_int_eq(cnx_relay_rec_decode(buf + at, (size_t) n, 1024, &d),
                         0);
        ck_assert_uint_eq(d.src.conn, (uint64_t) seen);
        seen++;
    }
    ck_assert_int_eq(seen, 20);
}
END_TEST

/* A message between relay nodes: general, then short records after it. */
START_TEST(test_message_of_records)
{
    uint8_t              buf[512];
    cnx_relay_rec_t      r, d;
    cnx_relay_rec_msg_t  msg;
    size_t               n = 0, at = 0;
    long                 h;

    r = rec_of(CNX_RELAY_REC_DATA_TEXT);
    r.payload = (const uint8_t *) "one";
    r.payload_len = 3;
    h = cnx_relay_rec_encode(&r, buf, sizeof(buf));
    ck_assert_int_gt(h, 0);
    n += (size_t) h;

    r.src.conn = 5;
    r.dst.conn = 6;
    r.payload = (const uint8_t *) "two";
    h = cnx_relay_rec_encode_short_head(&r, buf + n, sizeof(buf) - n);
    ck_assert_int_gt(h, 0);
    memcpy(buf + n + h, "two", 3);
    n += (size_t) h + 3;

    memset(&msg, 0, sizeof(msg));
    h = cnx_relay_rec_next(&msg, buf, n, 1024, &d);
    ck_assert_int_gt(h, 0);
    ck_assert_uint_eq(d.src.conn, 99);
    at = (size_t) h;

    /* the short one takes the general one's addresses, its own conns */
    h = cnx_relay_rec_next(&msg, buf + at, n - at, 1024, &d);
    ck_assert_int_eq(h, (long) (n - at));
    ck_assert_uint_eq(d.src.node, 0x0102030405060708ULL);
    ck_assert_int_eq(d.src.pid, 4242);
    ck_assert_int_eq(d.src.worker, 3);
    ck_assert_uint_eq(d.src.conn, 5);
    ck_assert_int_eq(d.dst.pid, 1);
    ck_assert_uint_eq(d.dst.conn, 6);
    ck_assert_mem_eq(d.payload, "two", 3);

    /* a short record first, a cut one, trailing garbage: refused */
    memset(&msg, 0, sizeof(msg));
    ck_assert_int_eq(cnx_relay_rec_next(&msg, buf + at, n - at, 1024, &d),
                     -1);
    memset(&msg, 0, sizeof(msg));
    ck_assert_int_eq(cnx_relay_rec_next(&msg, buf, at - 1, 1024, &d), -1);
    msg.general = 1;
    ck_assert_int_eq(cnx_relay_rec_next(&msg, buf + at, n - at - 1, 1024,
                                        &d), -1);
    ck_assert_int_eq(cnx_relay_rec_next(&msg, (const uint8_t *) "\x07", 1,
                                        1024, &d), -1);
    ck_assert_int_eq(cnx_relay_rec_next(&msg, buf, 0, 1024, &d), -1);
}
END_TEST

/* cnx_relay_rec_put(): the short form exactly when the rule allows it,
 * and what it writes cnx_relay_rec_next() reads back. */
START_TEST(test_put_message)
{
    static const struct {
        int       type;
        int32_t   pid;
        uint64_t  conn;
        unsigned  flags;
        int       is_short;
    } seq[] = {
        { CNX_RELAY_REC_DATA_TEXT, 4242, 99, 0, 0 },  /* first: general */
        { CNX_RELAY_REC_DATA_BIN, 4242, 5, 0, 1 },    /* same worker */
        { CNX_RELAY_REC_DATA_TEXT, 4242, 6, 0, 1 },
        { CNX_RELAY_REC_DATA_TEXT, 77, 7, 0, 0 },     /* another worker */
        { CNX_RELAY_REC_DATA_TEXT, 4242, 8, 0, 0 },   /* back: general */
        { CNX_RELAY_REC_FLOW, 4242, 9, 1, 0 },        /* not DATA */
        { CNX_RELAY_REC_DATA_BIN, 4242, 10, 0, 1 },
    };
    uint8_t              buf[1024];
    cnx_relay_rec_t      r, d;
    cnx_relay_rec_msg_t  msg;
    size_t               n = 0, at = 0, i;
    long                 h;

    memset(&msg, 0, sizeof(msg));
    for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
        r = rec_of(seq[i].type);
        r.src.pid = seq[i].pid;
        r.src.conn = seq[i].conn;
        r.flags = seq[i].flags;
        if (seq[i].type == CNX_RELAY_REC_DATA_TEXT
            || seq[i].type == CNX_RELAY_REC_DATA_BIN)
        {
            r.payload = (const uint8_t *) "abc";
            r.payload_len = 3;
        }
        h = cnx_relay_rec_put(&msg, &r, buf + n, sizeof(buf) - n);
        ck_assert_int_eq(h, seq[i].is_short
                            ? (long) (CNX_RELAY_REC_SHORT_HEADER + 8 + 3)
                            : (long) cnx_relay_rec_size(&r));
        n += (size_t) h;
    }

    memset(&msg, 0, sizeof(msg));
    for (i = 0; at < n; i++) {
        h = cnx_relay_rec_next(&msg, buf + at, n - at, 1024, &d);
        ck_assert_int_gt(h, 0);
        ck_assert_int_eq(d.type, seq[i].type);
        ck_assert_int_eq(d.src.pid, seq[i].pid);
        ck_assert_uint_eq(d.src.conn, seq[i].conn);
        ck_assert_uint_eq(d.dst.conn, UINT64_MAX);
        ck_assert_int_eq(d.dst.pid, 1);
        at += (size_t) h;
    }
    ck_assert_uint_eq(i, sizeof(seq) / sizeof(seq[0]));

    /* no room for it: refused, in either form */
    r = rec_of(CNX_RELAY_REC_DATA_BIN);
    r.payload = (const uint8_t *) "abc";
    r.payload_len = 3;
    ck_assert_int_eq(cnx_relay_rec_put(&msg, &r, buf,
                                       CNX_RELAY_REC_SHORT_HEADER + 8 + 2),
                     -1);
    memset(&msg, 0, sizeof(msg));
    ck_assert_int_eq(cnx_relay_rec_put(&msg, &r, buf,
                                       cnx_relay_rec_size(&r) - 1), -1);
    ck_assert_int_eq(msg.general, 0);
}
END_TEST

/* The short DATA record: its layout, a round trip, and what it refuses. */
START_TEST(test_short_data)
{
    static const uint8_t  want[] = {
        2, CNX_RELAY_REC_DATA_BIN, 8, 0,  0, 0, 0, 3,
        0, 0, 0, 0, 0, 0, 0, 99,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        'r', 'A', 'b', 'C', '_', 'd', '-', '9',  'x', 'y', 'z'
    };
    uint8_t               buf[128], full[128];
    cnx_relay_rec_t       r, d;
    long                  h;
    size_t                n;

    r = rec_of(CNX_RELAY_REC_DATA_BIN);
    r.payload = (const uint8_t *) "xyz";
    r.payload_len = 3;
    h = cnx_relay_rec_encode_short_head(&r, buf, sizeof(buf));
    ck_assert_int_eq(h, CNX_RELAY_REC_SHORT_HEADER + 8);
    memcpy(buf + h, r.payload, r.payload_len);
    n = (size_t) h + r.payload_len;
    ck_assert_uint_eq(n, sizeof(want));
    ck_assert_mem_eq(buf, want, sizeof(want));

    ck_assert_int_eq(cnx_relay_rec_decode_short(buf, n, 1024, &d), 0);
    ck_assert_int_eq(d.type, CNX_RELAY_REC_DATA_BIN);

    /* its length from its header alone, as records follow each other */
    ck_assert_int_eq(cnx_relay_rec_short_length(buf, n + 5, 1024), (long) n);
    ck_assert_int_eq(cnx_relay_rec_short_length(buf, 24, 1024), (long) n);
    ck_assert_int_eq(cnx_relay_rec_short_length(buf, 23, 1024), 0);
    ck_assert_int_eq(cnx_relay_rec_short_length(buf, n, 2), -1);
    ck_assert_uint_eq(d.flags, 0);
    ck_assert_uint_eq(d.src.conn, 99);
    ck_assert_uint_eq(d.dst.conn, UINT64_MAX);
    ck_assert_uint_eq(d.src.node, 0);
    ck_assert_int_eq(d.src.pid, 0);
    ck_assert_int_eq(d.dst.worker, 0);
    ck_assert_uint_eq(d.room_len, 8);
    ck_assert_mem_eq(d.room, "rAbC_d-9", 8);
    ck_assert_uint_eq(d.name_len, 0);
    ck_assert_uint_eq(d.payload_len, 3);
    ck_assert_ptr_eq(d.payload, buf + h);

    /* an empty payload; the text type */
    r.type = CNX_RELAY_REC_DATA_TEXT;
    r.payload_len = 0;
    h = cnx_relay_rec_encode_short_head(&r, buf, sizeof(buf));
    ck_assert_int_eq(cnx_relay_rec_decode_short(buf, (size_t) h, 1024, &d),
                     0);
    ck_assert_int_eq(d.type, CNX_RELAY_REC_DATA_TEXT);
    ck_assert_uint_eq(d.payload_len, 0);

    /* not the general form's decoder, nor the other way round */
    ck_assert_int_eq(cnx_relay_rec_decode(buf, (size_t) h, 1024, &d), -1);
    ck_assert_int_le(cnx_relay_rec_length(buf, (size_t) h, 1024), 0);
    h = cnx_relay_rec_encode(&r, full, sizeof(full));
    ck_assert_int_gt(h, 0);
    ck_assert_int_eq(cnx_relay_rec_short_length(full, (size_t) h, 1024), -1);

    /* only DATA, without flags or a name, with a room of 1..64 bytes */
    r = rec_of(CNX_RELAY_REC_FLOW);
    ck_assert_int_eq(cnx_relay_rec_encode_short_head(&r, buf, sizeof(buf)),
                     -1);
    r = rec_of(CNX_RELAY_REC_DATA_TEXT);
    r.flags = CNX_RELAY_REC_F_SET;
    ck_assert_int_eq(cnx_relay_rec_encode_short_head(&r, buf, sizeof(buf)),
                     -1);
    r = rec_of(CNX_RELAY_REC_DATA_TEXT);
    r.name = "x";
    r.name_len = 1;
    ck_assert_int_eq(cnx_relay_rec_encode_short_head(&r, buf, sizeof(buf)),
                     -1);
    r = rec_of(CNX_RELAY_REC_DATA_TEXT);
    r.room_len = 0;
    ck_assert_int_eq(cnx_relay_rec_encode_short_head(&r, buf, sizeof(buf)),
                     -1);
    r.room = "0123456789012345678901234567890123456789012345678901234567890"
             "1234";
    r.room_len = 65;
    ck_assert_int_eq(cnx_relay_rec_encode_short_head(&r, buf, sizeof(buf)),
                     -1);
    r.room_len = 64;
    ck_assert_int_eq(cnx_relay_rec_encode_short_head(&r, buf, 87), -1);
    ck_assert_int_eq(cnx_relay_rec_encode_short_head(&r, buf, 88), 88);

    /* every header field and length is checked on the way in */
    r = rec_of(CNX_RELAY_REC_DATA_BIN);
    r.payload_len = 3;
    h = cnx_relay_rec_encode_short_head(&r, buf, sizeof(buf));
    memcpy(buf + h, "xyz", 3);
    n = (size_t) h + 3;
    ck_assert_int_eq(cnx_relay_rec_decode_short(buf, n, 1024, &d), 0);
    ck_assert_int_eq(cnx_relay_rec_decode_short(buf, n, 2, &d), -1);
    ck_assert_int_eq(cnx_relay_rec_decode_short(buf, n - 1, 1024, &d), -1);
    ck_assert_int_eq(cnx_relay_rec_decode_short(buf, n + 1, 1024, &d), -1);
    ck_assert_int_eq(cnx_relay_rec_decode_short(buf, 23, 1024, &d), -1);
    buf[0] = 1;
    ck_assert_int_eq(cnx_relay_rec_decode_short(buf, n, 1024, &d), -1);
    buf[0] = 2;
    buf[1] = CNX_RELAY_REC_FLOW;
    ck_assert_int_eq(cnx_relay_rec_decode_short(buf, n, 1024, &d), -1);
    ck_assert_int_eq(cnx_relay_rec_short_length(buf, n, 1024), -1);
    buf[1] = CNX_RELAY_REC_DATA_BIN;
    buf[2] = 0;
    ck_assert_int_eq(cnx_relay_rec_decode_short(buf, n, 1024, &d), -1);
    buf[2] = 65;
    ck_assert_int_eq(cnx_relay_rec_decode_short(buf, n, 1024, &d), -1);
    ck_assert_int_eq(cnx_relay_rec_short_length(buf, n, 1024), -1);
    buf[2] = 12;                                /* room runs into payload */
    ck_assert_int_eq(cnx_relay_rec_decode_short(buf, n, 1024, &d), -1);
    buf[2] = 8;
    buf[3] = 1;
    ck_assert_int_eq(cnx_relay_rec_decode_short(buf, n, 1024, &d), -1);
    buf[3] = 0;
    buf[4] = 0x80;                              /* payload length 2^31+3 */
    ck_assert_int_eq(cnx_relay_rec_decode_short(buf, n, (size_t) -1, &d),
                     -1);
    buf[4] = 0;
    ck_assert_int_eq(cnx_relay_rec_decode_short(buf, n, 1024, &d), 0);
}
END_TEST

int
main(void)
{
    Suite    *s = suite_create("relay_rec");
    TCase    *tc = tcase_create("core");
    SRunner  *sr;
    int       failed;

    tcase_add_test(tc, test_roundtrip_every_type);
    tcase_add_test(tc, test_wire_layout);
    tcase_add_test(tc, test_fields_checked);
    tcase_add_test(tc, test_stream_of_records);
    tcase_add_test(tc, test_short_data);
    tcase_add_test(tc, test_message_of_records);
    tcase_add_test(tc, test_put_message);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
