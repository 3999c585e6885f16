/* Unit tests: WebSocket framing, message reader, HTTP upgrade heads. */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_http.h"
#include "cnx_ws.h"

static const uint8_t MASK[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* Append one frame (masked with MASK if masked) to out; returns length. */
static size_t
frame(uint8_t *out, int fin, int op, const void *payload, size_t n,
    int masked)
{
    size_t  h = cnx_ws_frame_header(out, fin, op, n, masked ? MASK : NULL);

    memcpy(out + h, payload, n);
    if (masked) {
        cnx_ws_mask(out + h, n, MASK, 0);
    }
    return h + n;
}

/* Accept key ------------------------------------------------------------- */

START_TEST(test_accept_key_rfc)
{
    char  out[29];

    /* RFC 6455 section 1.3 example. */
    ck_assert_int_eq(cnx_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out),
                     0);
    ck_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}
END_TEST

/* Frame headers ------------------------------------------------------------ */

START_TEST(test_frame_parse_rfc_examples)
{
    /* RFC 6455 section 5.7 examples. */
    static const uint8_t hello_unmasked[] = {
        0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f
    };
    static const uint8_t hello_masked[] = {
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
    };
    static const uint8_t len256[] = { 0x82, 0x7e, 0x01, 0x00 };
    static const uint8_t len64k[] = {
        0x82, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00
    };
    cnx_ws_frame_t  f;
    uint8_t         p[5];

    ck_assert_int_eq(cnx_ws_frame_parse(hello_unmasked, 7, 0, 1000, &f), 2);
    ck_assert_uint_eq(f.fin, 1);
    ck_assert_uint_eq(f.opcode, CNX_WS_OP_TEXT);
    ck_assert_uint_eq(f.masked, 0);
    ck_assert(f.payload_len == 5);

    ck_assert_int_eq(cnx_ws_frame_parse(hello_masked, 11, 1, 1000, &f), 6);
    ck_assert_uint_eq(f.masked, 1);
    ck_assert(memcmp(f.mask, MASK, 4) == 0);
    memcpy(p, hello_masked + 6, 5);
    cnx_ws_mask(p, 5, f.mask, 0);
    ck_assert(memcmp(p, "Hello", 5) == 0);

    ck_assert_int_eq(cnx_ws_frame_parse(len256, 4, 0, 1 << 20, &f), 4);
    ck_assert(f.payload_len == 256);
    ck_assert_int_eq(cnx_ws_frame_parse(len64k, 10, 0, 1 << 20, &f), 10);
    ck_assert(f.payload_len == 65536);
    ck_assert_int_eq(cnx_ws_frame_parse(len64k, 10, 0, 65535, &f),
                     -CNX_WS_CLOSE_TOO_BIG);
}
END_TEST

START_TEST(test_frame_parse_errors)
{
    static const struct { uint8_t b[14]; size_t n; int masked; int rc; } c[] = {
        { { 0xc1, 0x80 }, 2, 1, -1002 },                 /* RSV1 */
        { { 0xa1, 0x80 }, 2, 1, -1002 },                 /* RSV2 */
        { { 0x91, 0x80 }, 2, 1, -1002 },                 /* RSV3 */
        { { 0x83, 0x80 }, 2, 1, -1002 },                 /* opcode 3 */
        { { 0x87, 0x80 }, 2, 1, -1002 },                 /* opcode 7 */
        { { 0x8b, 0x80 }, 2, 1, -1002 },                 /* opcode 0xb */
        { { 0x8f, 0x80 }, 2, 1, -1002 },                 /* opcode 0xf */
        { { 0x09, 0x80 }, 2, 1, -1002 },                 /* PING not FIN */
        { { 0x08 }, 1, 1, -1002 },                       /* CLOSE not FIN */
        { { 0x89, 0xfe, 0, 126 }, 4, 1, -1002 },         /* PING > 125 */
        { { 0x89, 0xff }, 2, 1, -1002 },
        { { 0x81, 0x05 }, 2, 1, -1002 },                 /* unmasked client */
        { { 0x81, 0x85, 1, 2, 3, 4 }, 6, 0, -1002 },     /* masked server */
        { { 0x82, 0xfe, 0x00, 0x7d, 1, 2, 3, 4 }, 8, 1, -1002 }, /* 125 in 16 */
        { { 0x82, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4 }, 14, 1,
          -1002 },                                       /* 65535 in 64 */
        { { 0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4 }, 14, 1,
          -1002 },                                       /* MSB set */
        { { 0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            1, 2, 3, 4 }, 14, 1, -1009 },                /* huge */
        { { 0x82, 0xfe, 0x04, 0x01, 1, 2, 3, 4 }, 8, 1, -1009 }, /* > 1024 */
    };
    cnx_ws_frame_t  f;
    size_t          i;

    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        ck_assert_msg(cnx_ws_frame_parse(c[i].b, c[i].n, c[i].masked, 1024,
                                         &f) == c[i].rc, "case %zu", i);
    }
}
END_TEST

START_TEST(test_frame_header_roundtrip)
{
    static const uint64_t lens[] = {
        0, 1, 125, 126, 127, 65535, 65536, 1u << 31, ((uint64_t) 1 << 63) - 1
    };
    uint8_t         h[CNX_WS_MAX_HEADER];
    cnx_ws_frame_t  f;
    size_t          i, n, k;
    int             m;

    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        for (m = 0; m < 2; m++) {
            n = cnx_ws_frame_header(h, 1, CNX_WS_OP_BINARY, lens[i],
                                    m ? MASK : NULL);
            ck_assert_uint_eq(n, (lens[i] < 126 ? 2 : lens[i] < 65536 ? 4
                                  : 10) + (m ? 4 : 0));
            /* Truncated at every byte: need more, never an error. */
            for (k = 0; k < n; k++) {
                ck_assert_int_eq(cnx_ws_frame_parse(h, k, m, UINT64_MAX, &f),
                                 0);
            }
            ck_assert_int_eq(cnx_ws_frame_parse(h, n, m, UINT64_MAX, &f),
                             (int) n);
            ck_assert(f.payload_len == lens[i]);
            ck_assert_uint_eq(f.opcode, CNX_WS_OP_BINARY);
            ck_assert_uint_eq(f.fin, 1);
        }
    }
    n = cnx_ws_frame_header(h, 0, CNX_WS_OP_CONT, 3, NULL);
    ck_assert_int_eq(cnx_ws_frame_parse(h, n, 0, 10, &f), 2);
    ck_assert_uint_eq(f.fin, 0);
    ck_assert_uint_eq(f.opcode, CNX_WS_OP_CONT);
}
END_TEST

START_TEST(test_mask_offsets)
{
    uint8_t  a[300], b[300];
    size_t   i, off, n;

    for (i = 0; i < sizeof(a); i++) {
        a[i] = (uint8_t) (i * 13);
    }
    /* Masking in arbitrary pieces equals masking byte by byte. */
    for (off = 0; off < sizeof(a); off += 7) {
        memcpy(b, a, sizeof(a));
        cnx_ws_mask(b, off, MASK, 0);
        cnx_ws_mask(b + off, sizeof(b) - off, MASK, off);
        for (i = 0; i < sizeof(a); i++) {
            ck_assert_uint_eq(b[i], a[i] ^ MASK[i & 3]);
        }
    }
    for (n = 0; n < 200; n++) {
        memcpy(b, a, sizeof(a));
        cnx_ws_mask(b + 1, n, MASK, 1);
        cnx_ws_mask(b + 1, n, MASK, 1);
        ck_assert(memcmp(a, b, sizeof(a)) == 0);
    }
}
END_TEST

/*
 * A text frame with one non-ASCII byte at any position (in the 32-, 16-
 * or 8-byte steps of unmasking or in the tail; 32 only from 128 bytes on
 * and where the CPU has AVX2): invalid UTF-8 is refused, valid UTF-8
 * accepted, masked (server) and unmasked (client) alike.
 */
static void
utf8_every_position(size_t len)
{
    cnx_ws_reader_t  r;
    cnx_ws_msg_t     m;
    uint8_t          text[300], buf[320];
    size_t           pos, n, used;
    int              masked;

    ck_assert_uint_le(len, sizeof(text));
    for (masked = 0; masked <= 1; masked++) {
        for (pos = 0; pos + 1 < len; pos++) {
            memset(text, 'a', len);
            text[pos] = 0xff;
            cnx_ws_reader_init(&r, 1024, masked);
            n = frame(buf, 1, CNX_WS_OP_TEXT, text, len, masked);
            ck_assert_int_eq(cnx_ws_reader_next(&r, buf, n, &used, &m),
                             -1007);
            cnx_ws_reader_free(&r);

            text[pos] = 0xc3;
            text[pos + 1] = 0xa9;
            cnx_ws_reader_init(&r, 1024, masked);
            n = frame(buf, 1, CNX_WS_OP_TEXT, text, len, masked);
            ck_assert_int_eq(cnx_ws_reader_next(&r, buf, n, &used, &m),
                             CNX_WS_MSG);
            ck_assert(m.len == len && memcmp(m.data, text, len) == 0);
            cnx_ws_reader_free(&r);

            /* a binary frame carries any bytes */
            text[pos] = 0xff;
            cnx_ws_reader_init(&r, 1024, masked);
            n = frame(buf, 1, CNX_WS_OP_BINARY, text, len, masked);
            ck_assert_int_eq(cnx_ws_reader_next(&r, buf, n, &used, &m),
                             CNX_WS_MSG);
            cnx_ws_reader_free(&r);
        }
    }
}

START_TEST(test_reader_utf8_every_position)
{
    utf8_every_position(123);
    utf8_every_position(300);
}
END_TEST

START_TEST(test_frame_build)
{
    uint8_t         out[200];
    cnx_ws_frame_t  f;
    uint8_t         big[126];
    size_t          n;

    n = cnx_ws_frame_build(out, sizeof(out), CNX_WS_OP_TEXT,
                           (const uint8_t *) "Hello", 5, MASK);
    ck_assert_uint_eq(n, 11);
    ck_assert_int_eq(cnx_ws_frame_parse(out, n, 1, 100, &f), 6);
    cnx_ws_mask(out + 6, 5, f.mask, 0);
    ck_assert(memcmp(out + 6, "Hello", 5) == 0);
    ck_assert_uint_eq(cnx_ws_frame_build(out, 6, CNX_WS_OP_TEXT,
                      (const uint8_t *) "Hello", 5, NULL), 0);
    memset(big, 'x', sizeof(big));
    ck_assert_uint_eq(cnx_ws_frame_build(out, sizeof(out), CNX_WS_OP_PING,
                                         big, 126, NULL), 0);
    ck_assert_uint_eq(cnx_ws_frame_build(out, sizeof(out), CNX_WS_OP_PING,
                                         big, 125, NULL), 127);
}
END_TEST

/* Close payloads ------------------------------------------------------- */

START_TEST(test_close_codes)
{
    static const unsigned good[] = {
        1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999,
        4000, 4999
    };
    static const unsigned bad[] = {
        0, 999, 1004, 1005, 1006, 1012, 1015, 1016, 2000, 2999, 5000, 65535
    };
    uint8_t         p[4];
    const uint8_t  *reason;
    size_t          i, rl;
    unsigned        code;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ck_assert(cnx_ws_close_code_valid(good[i]));
        p[0] = (uint8_t) (good[i] >> 8);
        p[1] = (uint8_t) good[i];
        ck_assert_int_eq(cnx_ws_close_parse(p, 2, &code, &reason, &rl), 0);
        ck_assert_uint_eq(code, good[i]);
        ck_assert_uint_eq(rl, 0);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert(!cnx_ws_close_code_valid(bad[i]));
        p[0] = (uint8_t) (bad[i] >> 8);
        p[1] = (uint8_t) bad[i];
        ck_assert_int_eq(cnx_ws_close_parse(p, 2, &code, NULL, NULL), -1002);
    }
    ck_assert_int_eq(cnx_ws_close_parse(p, 0, &code, NULL, NULL), 0);
    ck_assert_uint_eq(code, 1005);
    ck_assert_int_eq(cnx_ws_close_parse(p, 1, &code, NULL, NULL), -1002);
    ck_assert_int_eq(cnx_ws_close_parse((const uint8_t *) "\x03\xe8\xff", 3,
                                        &code, NULL, NULL), -1007);
    ck_assert_int_eq(cnx_ws_close_parse((const uint8_t *) "\x03\xe8ok", 4,
                                        &code, &reason, &rl), 0);
    ck_assert_uint_eq(rl, 2);
    ck_assert(memcmp(reason, "ok", 2) == 0);
}
END_TEST

START_TEST(test_close_build)
{
    uint8_t   out[CNX_WS_MAX_CONTROL];
    char      reason[200];
    unsigned  code;
    size_t    n, i;

    n = cnx_ws_close_build(out, 1001, "going away", 10);
    ck_assert_uint_eq(n, 12);
    ck_assert_int_eq(cnx_ws_close_parse(out, n, &code, NULL, NULL), 0);
    ck_assert_uint_eq(code, 1001);
    ck_assert_uint_eq(cnx_ws_close_build(out, 1005, "x", 1), 0);

    /* 100 two-byte characters: cut at 123 bytes would split one. */
    for (i = 0; i < 100; i++) {
        reason[2 * i] = '\xc3';
        reason[2 * i + 1] = '\xa9';
    }
    n = cnx_ws_close_build(out, 1000, reason, 200);
    ck_assert_uint_eq(n, 2 + 122);
    ck_assert_int_eq(cnx_ws_close_parse(out, n, &code, NULL, NULL), 0);
}
END_TEST

/* Reader ----------------------------------------------------------------- */

START_TEST(test_reader_single_frame_zero_copy)
{
    cnx_ws_reader_t  r;
    cnx_ws_msg_t     m;
    uint8_t          buf[64];
    size_t           n, used;

    cnx_ws_reader_init(&r, 1024, 1);
    n = frame(buf, 1, CNX_WS_OP_TEXT, "hello", 5, 1);
    ck_assert_int_eq(cnx_ws_reader_next(&r, buf, n, &used, &m), CNX_WS_MSG);
    ck_assert_uint_eq(used, n);
    ck_assert_int_eq(m.opcode, CNX_WS_OP_TEXT);
    ck_assert_uint_eq(m.len, 5);
    ck_assert(m.data == buf + 6);               /* in place */
    ck_assert(memcmp(m.data, "hello", 5) == 0);
    ck_assert(r.buf == NULL);                   /* nothing allocated */

    ck_assert_int_eq(cnx_ws_reader_next(&r, buf, 0, &used, &m), CNX_WS_AGAIN);
    ck_assert_uint_eq(used, 0);
    cnx_ws_reader_free(&r);
}
END_TEST

/* What cnx_ws_reader_left() says while a frame comes in pieces. */
START_TEST(test_reader_left)
{
    cnx_ws_reader_t  r;
    cnx_ws_msg_t     m;
    uint8_t          buf[512], bin[300];
    size_t           n, h, used, i;

    for (i = 0; i < sizeof(bin); i++) {
        bin[i] = (uint8_t) (i * 7);
    }
    cnx_ws_reader_init(&r, 1024, 1);
    ck_assert_uint_eq(cnx_ws_reader_left(&r), 0);
    n = frame(buf, 1, CNX_WS_OP_BINARY, bin, sizeof(bin), 1);
    h = n - sizeof(bin);
    n += frame(buf + n, 1, CNX_WS_OP_PING, "ping", 4, 1);

    /* an incomplete header is left unconsumed: still at a boundary */
    ck_assert_int_eq(cnx_ws_reader_next(&r, buf, h - 1, &used, &m),
                     CNX_WS_AGAIN);
    ck_assert_uint_eq(used, 0);
    ck_assert_uint_eq(cnx_ws_reader_left(&r), 0);

    ck_assert_int_eq(cnx_ws_reader_next(&r, buf, h + 100, &used, &m),
                     CNX_WS_AGAIN);
    ck_assert_uint_eq(used, h + 100);
    ck_assert_uint_eq(cnx_ws_reader_left(&r), 200);
    ck_assert_int_eq(cnx_ws_reader_next(&r, buf + h + 100, 150, &used, &m),
                     CNX_WS_AGAIN);
    ck_assert_uint_eq(cnx_ws_reader_left(&r), 50);

    /* the rest and the PING header plus one byte of its payload */
    ck_assert_int_eq(cnx_ws_reader_next(&r, buf + h + 250, 50 + 7, &used,
                                        &m), CNX_WS_MSG);
    ck_assert_uint_eq(used, 50);
    ck_assert_uint_eq(m.len, sizeof(bin));
    ck_assert(memcmp(m.data, bin, sizeof(bin)) == 0);
    ck_assert_uint_eq(cnx_ws_reader_left(&r), 0);
    ck_assert_int_eq(cnx_ws_reader_next(&r, buf + h + 300, 7, &used, &m),
                     CNX_WS_AGAIN);
    ck_assert_uint_eq(used, 7);
    ck_assert_uint_eq(cnx_ws_reader_left(&r), 3);
    ck_assert_int_eq(cnx_ws_reader_next(&r, buf + h + 307, 3, &used, &m),
                     CNX_WS_MSG);
    ck_assert_int_eq(m.opcode, CNX_WS_OP_PING);
    ck_assert_uint_eq(cnx_ws_reader_left(&r), 0);
    cnx_ws_reader_free(&r);
}
END_TEST

START_TEST(test_reader_two_messages_one_buffer)
{
    cnx_ws_reader_t  r;
    cnx_ws_msg_t     m;
    uint8_t          buf[64];
    size_t           n, used;

    cnx_ws_reader_init(&r, 1024, 0);
    n = frame(buf, 1, CNX_WS_OP_BINARY, "\x00\x01\x02", 3, 0);
    n += frame(buf + n, 1, CNX_WS_OP_PING, "p", 1, 0);
    ck_assert_int_eq(cnx_ws_reader_next(&r, buf, n, &used, &m), CNX_WS_MSG);
    ck_assert_int_eq(m.opcode, CNX_WS_OP_BINARY);
    ck_assert_uint_eq(m.len, 3);
    ck_assert_uint_eq(used, 5);
    ck_assert_int_eq(cnx_ws_reader_next(&r, buf + used, n - used, &used, &m),
                     CNX_WS_MSG);
    ck_assert_int_eq(m.opcode, CNX_WS_OP_PING);
    ck_assert_uint_eq(m.len, 1);
    ck_assert_int_eq(m.data[0], 'p');
    cnx_ws_reader_free(&r);
}
END_TEST

/*
 * A stream of frames fed in chunks of every size must give the same
 * messages.  Stream: TEXT "héllo" in 3 fragments (the é split between
 * fragments) with a PING between them, BINARY 300 bytes, PONG, CLOSE.
 */
static size_t
build_stream(uint8_t *s, int masked)
{
    uint8_t  bin[300];
    size_t   n = 0, i;

    for (i = 0; i < sizeof(bin); i++) {
        bin[i] = (uint8_t) i;
    }
    n += frame(s + n, 0, CNX_WS_OP_TEXT, "h\xc3", 2, masked);
    n += frame(s + n, 1, CNX_WS_OP_PING, "ping", 4, masked);
    n += frame(s + n, 0, CNX_WS_OP_CONT, "\xa9l", 2, masked);
    n += frame(s + n, 1, CNX_WS_OP_CONT, "lo", 2, masked);
    n += frame(s + n, 1, CNX_WS_OP_BINARY, bin, sizeof(bin), masked);
    n += frame(s + n, 1, CNX_WS_OP_PONG, "", 0, masked);
    n += frame(s + n, 1, CNX_WS_OP_CLOSE, "\x03\xe8" "bye", 5, masked);
    return n;
}

START_TEST(test_reader_chunked_stream)
{
    uint8_t          stream[512], work[512];
    uint8_t          bin[300];
    size_t           total, chunk, have, fed, used, i;
    int              masked = _i & 1, nmsg, rc;
    cnx_ws_reader_t  r;
    cnx_ws_msg_t     m;

    for (i = 0; i < sizeof(bin); i++) {
        bin[i] = (uint8_t) i;
    }
    total = build_stream(stream, masked);

    for (chunk = 1; chunk <= total; chunk += (chunk < 20 ? 1 : 37)) {
        cnx_ws_reader_init(&r, 1024, masked);
        have = 0;
        fed = 0;
        nmsg = 0;
        while (fed < total || have > 0) {
            size_t add = total - fed < chunk ? total - fed : chunk;

            memcpy(work + have, stream + fed, add);
            have += add;
            fed += add;
            for ( ;; ) {
                rc = cnx_ws_reader_next(&r, work, have, &used, &m);
                ck_assert_int_ge(rc, 0);
                ck_assert_uint_le(used, have);
                if (rc == CNX_WS_MSG) {
                    switch (nmsg) {
                    case 0:
                        ck_assert_int_eq(m.opcode, CNX_WS_OP_PING);
                        ck_assert_uint_eq(m.len, 4);
                        ck_assert(memcmp(m.data, "ping", 4) == 0);
                        break;
                    case 1:
                        ck_assert_int_eq(m.opcode, CNX_WS_OP_TEXT);
                        ck_assert_uint_eq(m.len, 6);
                        ck_assert(memcmp(m.data, "h\xc3\xa9llo", 6) == 0);
                        break;
                    case 2:
                        ck_assert_int_eq(m.opcode, CNX_WS_OP_BINARY);
                        ck_assert_uint_eq(m.len, 300);
                        ck_assert(memcmp(m.data, bin, 300) == 0);
                        break;
                    case 3:
                        ck_assert_int_eq(m.opcode, CNX_WS_OP_PONG);
                        ck_assert_uint_eq(m.len, 0);
                        break;
                    case 4:
                        ck_assert_int_eq(m.opcode, CNX_WS_OP_CLOSE);
                        ck_assert_uint_eq(m.len, 5);
                        break;
                    default:
                        ck_abort_msg("extra message");
                    }
                    nmsg++;
                }
                memmove(work, work + used, have - used);
                have -= used;
                if (rc == CNX_WS_AGAIN) {
                    /* Only an incomplete header may stay behind. */
                    ck_assert_uint_lt(have, CNX_WS_MAX_HEADER);
                    break;
                }
            }
            if (fed == total) {
                break;
            }
        }
        ck_assert_int_eq(nmsg, 5);
        ck_assert_uint_eq(have, 0);
        cnx_ws_reader_free(&r);
    }
}
END_TEST

static int
read_all(cnx_ws_reader_t *r, uint8_t *buf, size_t n, cnx_ws_msg_t *m)
{
    size_t  used, pos = 0;
    int     rc;

    for ( ;; ) {
        rc = cnx_ws_reader_next(r, buf + pos, n - pos, &used, m);
        pos += used;
        if (rc != CNX_WS_MSG || pos == n) {
            return rc;
        }
    }
}

START_TEST(test_reader_protocol_errors)
{
    cnx_ws_reader_t  r;
    cnx_ws_msg_t     m;
    uint8_t          buf[2048];
    size_t           n;

    /* Continuation without a start. */
    cnx_ws_reader_init(&r, 1024, 1);
    n = frame(buf, 1, CNX_WS_OP_CONT, "x", 1, 1);
    ck_assert_int_eq(read_all(&r, buf, n, &m), -1002);
    cnx_ws_reader_free(&r);

    /* New data frame while a fragmented one is open. */
    cnx_ws_reader_init(&r, 1024, 1);
    n = frame(buf, 0, CNX_WS_OP_TEXT, "a", 1, 1);
    n += frame(buf + n, 1, CNX_WS_OP_BINARY, "b", 1, 1);
    ck_assert_int_eq(read_all(&r, buf, n, &m), -1002);
    cnx_ws_reader_free(&r);

    /* Unmasked frame at a server. */
    cnx_ws_reader_init(&r, 1024, 1);
    n = frame(buf, 1, CNX_WS_OP_TEXT, "a", 1, 0);
    ck_assert_int_eq(read_all(&r, buf, n, &m), -1002);
    cnx_ws_reader_free(&r);

    /* Invalid UTF-8, in one frame and across fragments. */
    cnx_ws_reader_init(&r, 1024, 1);
    n = frame(buf, 1, CNX_WS_OP_TEXT, "a\xc0\x80", 3, 1);
    ck_assert_int_eq(read_all(&r, buf, n, &m), -1007);
    cnx_ws_reader_free(&r);
    cnx_ws_reader_init(&r, 1024, 1);
    n = frame(buf, 0, CNX_WS_OP_TEXT, "a\xe2\x82", 3, 1);
    n += frame(buf + n, 1, CNX_WS_OP_CONT, "", 0, 1);   /* ends mid-char */
    ck_assert_int_eq(read_all(&r, buf, n, &m), -1007);
    cnx_ws_reader_free(&r);
    cnx_ws_reader_init(&r, 1024, 1);
    n = frame(buf, 0, CNX_WS_OP_TEXT, "ok", 2, 1);
    n += frame(buf + n, 0, CNX_WS_OP_CONT, "\xff", 1, 1); /* fails early */
    ck_assert_int_eq(read_all(&r, buf, n, &m), -1007);
    cnx_ws_reader_free(&r);
    /* Binary is not checked. */
    cnx_ws_reader_init(&r, 1024, 1);
    n = frame(buf, 1, CNX_WS_OP_BINARY, "\xff", 1, 1);
    ck_assert_int_eq(read_all(&r, buf, n, &m), CNX_WS_MSG);
    cnx_ws_reader_free(&r);

    /* Too big: one frame, and fragments adding up. */
    cnx_ws_reader_init(&r, 100, 1);
    memset(buf + 1000, 'a', 101);
    n = frame(buf, 1, CNX_WS_OP_BINARY, buf + 1000, 101, 1);
    ck_assert_int_eq(read_all(&r, buf, n, &m), -1009);
    cnx_ws_reader_free(&r);
    cnx_ws_reader_init(&r, 100, 1);
    n = frame(buf, 0, CNX_WS_OP_BINARY, buf + 1000, 60, 1);
    n += frame(buf + n, 1, CNX_WS_OP_CONT, buf + 1000, 41, 1);
    ck_assert_int_eq(read_all(&r, buf, n, &m), -1009);
    cnx_ws_reader_free(&r);
    cnx_ws_reader_init(&r, 100, 1);
    n = frame(buf, 0, CNX_WS_OP_BINARY, buf + 1000, 60, 1);
    n += frame(buf + n, 1, CNX_WS_OP_CONT, buf + 1000, 40, 1);
    ck_assert_int_eq(read_all(&r, buf, n, &m), CNX_WS_MSG);
    ck_assert_uint_eq(m.len, 100);
    cnx_ws_reader_free(&r);

    /* Bad close payloads. */
    cnx_ws_reader_init(&r, 1024, 1);
    n = frame(buf, 1, CNX_WS_OP_CLOSE, "\x03", 1, 1);
    ck_assert_int_eq(read_all(&r, buf, n, &m), -1002);
    cnx_ws_reader_free(&r);
    cnx_ws_reader_init(&r, 1024, 1);
    n = frame(buf, 1, CNX_WS_OP_CLOSE, "\x03\xed", 2, 1);   /* 1005 */
    ck_assert_int_eq(read_all(&r, buf, n, &m), -1002);
    cnx_ws_reader_free(&r);
}
END_TEST

START_TEST(test_reader_after_close)
{
    cnx_ws_reader_t  r;
    cnx_ws_msg_t     m;
    uint8_t          buf[64];
    size_t           n, used;

    cnx_ws_reader_init(&r, 1024, 0);
    n = frame(buf, 1, CNX_WS_OP_CLOSE, "", 0, 0);
    n += frame(buf + n, 1, CNX_WS_OP_TEXT, "late", 4, 0);
    ck_assert_int_eq(cnx_ws_reader_next(&r, buf, n, &used, &m), CNX_WS_MSG);
    ck_assert_int_eq(m.opcode, CNX_WS_OP_CLOSE);
    ck_assert_uint_eq(used, 2);
    ck_assert_int_eq(cnx_ws_reader_next(&r, buf + 2, n - 2, &used, &m),
                     CNX_WS_AGAIN);
    ck_assert_uint_eq(used, n - 2);
    cnx_ws_reader_free(&r);
}
END_TEST

START_TEST(test_reader_large_partial_payload)
{
    /* A 100 KiB binary frame arriving in 1000-byte reads. */
    enum { SZ = 100 * 1024 };
    uint8_t         *stream = malloc(SZ + 14), *data = malloc(SZ);
    cnx_ws_reader_t  r;
    cnx_ws_msg_t     m;
    size_t           n, pos = 0, used, i;
    int              rc = CNX_WS_AGAIN;

    ck_assert(stream != NULL && data != NULL);
    for (i = 0; i < SZ; i++) {
        data[i] = (uint8_t) (i * 31 + 7);
    }
    n = frame(stream, 1, CNX_WS_OP_BINARY, data, SZ, 1);
    cnx_ws_reader_init(&r, SZ, 1);
    while (pos < n) {
        size_t chunk = n - pos < 1000 ? n - pos : 1000;

        rc = cnx_ws_reader_next(&r, stream + pos, chunk, &used, &m);
        ck_assert_int_ge(rc, 0);
        ck_assert_uint_eq(used, chunk);      /* payload always consumed */
        pos += used;
    }
    ck_assert_int_eq(rc, CNX_WS_MSG);
    ck_assert_uint_eq(m.len, SZ);
    ck_assert(memcmp(m.data, data, SZ) == 0);

    /* once the message was handled, an idle reader keeps no buffer */
    ck_assert_uint_ge(cnx_ws_reader_trim(&r), SZ);
    ck_assert_uint_eq(cnx_ws_reader_trim(&r), 0);

    /* but not while a frame is half read: its bytes are kept (the
       stream was unmasked in place: build it again) */
    n = frame(stream, 1, CNX_WS_OP_BINARY, data, SZ, 1);
    rc = cnx_ws_reader_next(&r, stream, 5000, &used, &m);
    ck_assert_int_eq(rc, CNX_WS_AGAIN);
    ck_assert_uint_eq(cnx_ws_reader_trim(&r), 0);
    rc = cnx_ws_reader_next(&r, stream + 5000, n - 5000, &used, &m);
    ck_assert_int_eq(rc, CNX_WS_MSG);
    ck_assert(m.len == SZ && memcmp(m.data, data, SZ) == 0);
    cnx_ws_reader_free(&r);
    free(stream);
    free(data);
}
END_TEST

/* HTTP upgrade ------------------------------------------------------------- */


/* What Node's ws 8 client sends (header set and order). */
static const char node_req[] =
    "GET /relay HTTP/1.1\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Connection: Upgrade\r\n"
    "Upgrade: websocket\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "Host: 127.0.0.1:18800\r\n"
    "\r\n";

START_TEST(test_upgrade_node)
{
    cnx_http_upgrade_t  u;
    char                buf[sizeof(node_req) + 16];
    size_t              i, n = sizeof(node_req) - 1;

    memcpy(buf, node_req, n);
    memcpy(buf + n, "\x81\x80xxxx", 6);       /* first frame right behind */
    ck_assert_int_eq(cnx_http_parse_upgrade(buf, n + 6, &u), (int) n);
    ck_assert(u.path.len == 6 && memcmp(u.path.p, "/relay", 6) == 0);
    ck_assert(u.query.p == NULL);
    ck_assert(u.host.len == 15 && memcmp(u.host.p, "127.0.0.1:18800", 15) == 0);
    ck_assert(u.key.len == 24);
    ck_assert_int_eq(u.ws_version, 13);
    ck_assert_uint_eq(u.deflate_offered, 1);
    ck_assert_uint_eq(u.nheaders, 6);

    /* Every proper prefix: need more. */
    for (i = 0; i < n; i++) {
        ck_assert_int_eq(cnx_http_parse_upgrade(buf, i, &u), 0);
    }
}
END_TEST

START_TEST(test_upgrade_variants)
{
    const char *req =
        "GET /relay?x=1 HTTP/1.1\r\n"
        "host: relay.example\r\n"
        "upgrade: WebSocket\r\n"
        "connection: keep-alive, Upgrade\r\n"
        "sec-websocket-key:AAAAAAAAAAAAAAAAAAAAAA==   \r\n"
        "SEC-WEBSOCKET-VERSION: 13\r\n"
        "X-Forwarded-For: 10.0.0.1\r\n"
        "Origin: http://x\r\n"
        "\r\n";
    cnx_http_upgrade_t  u;

    ck_assert_int_eq(cnx_http_parse_upgrade(req, strlen(req), &u),
                     (int) strlen(req));
    ck_assert(u.path.len == 6 && memcmp(u.path.p, "/relay", 6) == 0);
    ck_assert(u.query.len == 3 && memcmp(u.query.p, "x=1", 3) == 0);
    ck_assert(u.key.len == 24);
    ck_assert_uint_eq(u.deflate_offered, 0);
    ck_assert(u.origin.len == 8);
}
END_TEST

static int
upgrade_with(const char *line1, const char *extra, const char *omit)
{
    static const char *const base[] = {
        "Host: h\r\n", "Upgrade: websocket\r\n", "Connection: Upgrade\r\n",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
        "Sec-WebSocket-Version: 13\r\n",
    };
    static char         req[4096];
    cnx_http_upgrade_t  u;
    size_t              i;

    snprintf(req, sizeof(req), "%s", line1);
    for (i = 0; i < 5; i++) {
        if (omit == NULL || strncmp(base[i], omit, strlen(omit)) != 0) {
            strcat(req, base[i]);
        }
    }
    strcat(req, extra);
    strcat(req, "\r\n");
    return cnx_http_parse_upgrade(req, strlen(req), &u);
}

START_TEST(test_upgrade_errors)
{
    const char *ok = "GET /relay HTTP/1.1\r\n";

    ck_assert_int_gt(upgrade_with(ok, "", NULL), 0);
    ck_assert_int_eq(upgrade_with("POST /relay HTTP/1.1\r\n", "", NULL),
                     CNX_HTTP_EMETHOD);
    ck_assert_int_eq(upgrade_with("get /relay HTTP/1.1\r\n", "", NULL),
                     CNX_HTTP_EMETHOD);
    ck_assert_int_eq(upgrade_with("GET /relay HTTP/1.0\r\n", "", NULL),
                     CNX_HTTP_EBAD);
    ck_assert_int_eq(upgrade_with("GET /relay\r\n", "", NULL), CNX_HTTP_EBAD);
    ck_assert_int_eq(upgrade_with("GET  /relay HTTP/1.1\r\n", "", NULL),
                     CNX_HTTP_EBAD);
    ck_assert_int_eq(upgrade_with("GET relay HTTP/1.1\r\n", "", NULL),
                     CNX_HTTP_EBAD);
    ck_assert_int_eq(upgrade_with("GET /re lay HTTP/1.1\r\n", "", NULL),
                     CNX_HTTP_EBAD);
    ck_assert_int_eq(upgrade_with("GET /relay HTTP/1.1 \r\n", "", NULL),
                     CNX_HTTP_EBAD);
    ck_assert_int_eq(upgrade_with(ok, " folded\r\n", NULL), CNX_HTTP_EBAD);
    ck_assert_int_eq(upgrade_with(ok, "Bad Name: x\r\n", NULL),
                     CNX_HTTP_EBAD);
    ck_assert_int_eq(upgrade_with(ok, "NoColon\r\n", NULL), CNX_HTTP_EBAD);
    ck_assert_int_eq(upgrade_with(ok, ": empty\r\n", NULL), CNX_HTTP_EBAD);
    ck_assert_int_eq(upgrade_with(ok, "X: a\nb\r\n", NULL), CNX_HTTP_EBAD);
    ck_assert_int_eq(upgrade_with(ok, "X : a\r\n", NULL), CNX_HTTP_EBAD);
    ck_assert_int_eq(upgrade_with(ok, "Host: other\r\n", NULL),
                     CNX_HTTP_EBAD);                       /* two Host */
    ck_assert_int_eq(upgrade_with(ok, "", "Host"), CNX_HTTP_EBAD);
    ck_assert_int_eq(upgrade_with(ok, "", "Upgrade"), CNX_HTTP_ENOUPGRADE);
    ck_assert_int_eq(upgrade_with(ok, "Upgrade: h2c\r\n", "Upgrade"),
                     CNX_HTTP_ENOUPGRADE);
    ck_assert_int_eq(upgrade_with(ok, "Upgrade: websockets\r\n", "Upgrade"),
                     CNX_HTTP_ENOUPGRADE);
    ck_assert_int_eq(upgrade_with(ok, "", "Connection"),
                     CNX_HTTP_ENOUPGRADE);
    ck_assert_int_eq(upgrade_with(ok, "Connection: upgraded\r\n",
                                  "Connection"), CNX_HTTP_ENOUPGRADE);
    ck_assert_int_eq(upgrade_with(ok, "", "Sec-WebSocket-Version"),
                     CNX_HTTP_EVERSION);
    ck_assert_int_eq(upgrade_with(ok, "Sec-WebSocket-Version: 8\r\n",
                                  "Sec-WebSocket-Version"),
                     CNX_HTTP_EVERSION);
    ck_assert_int_eq(upgrade_with(ok, "Sec-WebSocket-Version: 13x\r\n",
                                  "Sec-WebSocket-Version"),
                     CNX_HTTP_EVERSION);
    ck_assert_int_eq(upgrade_with(ok, "Sec-WebSocket-Version: 13\r\n", NULL),
                     CNX_HTTP_EVERSION);                   /* twice */
    ck_assert_int_eq(upgrade_with(ok, "", "Sec-WebSocket-Key"),
                     CNX_HTTP_ENOUPGRADE);
    ck_assert_int_eq(upgrade_with(ok, "Sec-WebSocket-Key: c2hvcnQ=\r\n",
                                  "Sec-WebSocket-Key"), CNX_HTTP_ENOUPGRADE);
    ck_assert_int_eq(upgrade_with(ok, "Sec-WebSocket-Key: "
                                  "dGhlIHNhbXBsZSBub25jZQ!!\r\n",
                                  "Sec-WebSocket-Key"), CNX_HTTP_ENOUPGRADE);
}
END_TEST

START_TEST(test_upgrade_limits)
{
    char    *req = malloc(20000);
    size_t   n;
    int      i;
    cnx_http_upgrade_t u;

    ck_assert(req != NULL);
    /* No end of head within the limit. */
    memset(req, 'a', CNX_HTTP_MAX_HEAD);
    ck_assert_int_eq(cnx_http_parse_upgrade(req, CNX_HTTP_MAX_HEAD - 1, &u),
                     0);
    ck_assert_int_eq(cnx_http_parse_upgrade(req, CNX_HTTP_MAX_HEAD, &u),
                     CNX_HTTP_ETOOBIG);
    /* Too many header fields. */
    n = (size_t) sprintf(req, "GET /relay HTTP/1.1\r\n");
    for (i = 0; i < CNX_HTTP_MAX_HEADERS + 1; i++) {
        n += (size_t) sprintf(req + n, "X-%d: y\r\n", i);
    }
    n += (size_t) sprintf(req + n, "\r\n");
    ck_assert_int_eq(cnx_http_parse_upgrade(req, n, &u), CNX_HTTP_ETOOBIG);
    free(req);
}
END_TEST

/* Random byte streams: the reader never over-consumes or misbehaves. */
START_TEST(test_reader_random_streams)
{
    uint8_t          stream[600], work[600];
    uint32_t         rng = 7;
    cnx_ws_reader_t  r;
    cnx_ws_msg_t     m;
    size_t           n, have, fed, used, chunk, k;
    int              iter, rc;

#define RND()  (rng = rng * 1103515245u + 12345u, rng >> 16)
    for (iter = 0; iter < 3000; iter++) {
        /* Mostly well-formed frames with random corruption. */
        n = build_stream(stream, iter & 1);
        for (k = 0; k < (size_t) (iter % 4); k++) {
            size_t at = RND() % n;

            stream[at] = (uint8_t) RND();
        }
        cnx_ws_reader_init(&r, 256, iter & 1);
        have = fed = 0;
        rc = CNX_WS_AGAIN;
        while (fed < n && rc >= 0) {
            chunk = 1 + RND() % 64;
            if (chunk > n - fed) {
                chunk = n - fed;
            }
            memcpy(work + have, stream + fed, chunk);
            have += chunk;
            fed += chunk;
            do {
                rc = cnx_ws_reader_next(&r, work, have, &used, &m);
                ck_assert_uint_le(used, have);
                ck_assert(rc == CNX_WS_AGAIN || rc == CNX_WS_MSG
                          || rc == -1002 || rc == -1007 || rc == -1009);
                if (rc == CNX_WS_MSG) {
                    ck_assert(m.len <= 256);
                    ck_assert(m.opcode == CNX_WS_OP_TEXT
                              || m.opcode == CNX_WS_OP_BINARY
                              || m.opcode >= CNX_WS_OP_CLOSE);
                }
                memmove(work, work + used, have - used);
                have -= used;
            } while (rc == CNX_WS_MSG);
            if (rc == CNX_WS_AGAIN) {
                ck_assert_uint_lt(have, CNX_WS_MAX_HEADER);
            }
        }
        cnx_ws_reader_free(&r);
    }
#undef RND
}
END_TEST

/* Random corruption of a valid upgrade request never crashes the parser. */
START_TEST(test_upgrade_mutations)
{
    char                buf[sizeof(node_req)];
    cnx_http_upgrade_t  u;
    uint32_t            rng = 3;
    size_t              n = sizeof(node_req) - 1;
    int                 i, k, rc;

    for (i = 0; i < 20000; i++) {
        memcpy(buf, node_req, n);
        for (k = 0; k < 2; k++) {
            rng = rng * 1664525u + 1013904223u;
            buf[(rng >> 8) % n] = (char) (rng >> 24);
        }
        rc = cnx_http_parse_upgrade(buf, n, &u);
        ck_assert(rc >= CNX_HTTP_ETOOBIG && rc <= (int) n);
        if (rc > 0) {
            ck_assert_int_eq(u.ws_version, 13);
            ck_assert_uint_eq(u.key.len, 24);
        }
    }
}
END_TEST

START_TEST(test_http_builders)
{
    char  out[512], accept[29];
    int   n;
    static const int st[] = { 400, 404, 405, 426, 429, 431, 503, 999 };
    size_t i;

    ck_assert_int_eq(cnx_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24,
                                       accept), 0);
    n = cnx_http_build_101(out, sizeof(out), accept);
    ck_assert_int_gt(n, 0);
    ck_assert_str_eq(out, "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                     "\r\n");
    ck_assert_int_eq(cnx_http_build_101(out, (size_t) n, accept), -1);
    ck_assert_int_eq(cnx_http_build_101(out, (size_t) n + 1, accept), n);

    for (i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
        const char *body;
        char        want[16];

        n = cnx_http_build_error(out, sizeof(out), st[i]);
        ck_assert_int_gt(n, 0);
        snprintf(want, sizeof(want), "HTTP/1.1 %d ", st[i] == 999 ? 500
                                                                 : st[i]);
        ck_assert(strncmp(out, want, strlen(want)) == 0);
        ck_assert(strstr(out, "Connection: close\r\n") != NULL);
        body = strstr(out, "\r\n\r\n") + 4;
        ck_assert(strstr(out, "Content-Length: ") != NULL);
        ck_assert_int_eq(atoi(strstr(out, "Content-Length: ") + 16),
                         (int) strlen(body));
        ck_assert_int_eq(st[i] == 426,
                         strstr(out, "Sec-WebSocket-Version: 13\r\n") != NULL);
    }
    ck_assert_int_eq(cnx_http_build_error(out, 10, 400), -1);
    ck_assert_int_eq(cnx_http_error_status(CNX_HTTP_EBAD), 400);
    ck_assert_int_eq(cnx_http_error_status(CNX_HTTP_EMETHOD), 405);
    ck_assert_int_eq(cnx_http_error_status(CNX_HTTP_EVERSION), 426);
    ck_assert_int_eq(cnx_http_error_status(CNX_HTTP_ENOUPGRADE), 400);
    ck_assert_int_eq(cnx_http_error_status(CNX_HTTP_ETOOBIG), 431);
}
END_TEST

/* Client and server heads agree with each other. */
START_TEST(test_client_server_handshake)
{
    char                key[25], key2[25], req[512], resp[512], acc[29];
    cnx_http_upgrade_t  u;
    int                 n, m, status;

    cnx_http_client_key(key);
    cnx_http_client_key(key2);
    ck_assert_uint_eq(strlen(key), 24);
    ck_assert_str_ne(key, key2);

    n = cnx_http_build_request(req, sizeof(req), "relay.test:18800",
                               "/relay", key, "clawnexus-link/0.1");
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(cnx_http_parse_upgrade(req, (size_t) n, &u), n);
    ck_assert(u.key.len == 24 && memcmp(u.key.p, key, 24) == 0);
    ck_assert(u.user_agent.len == 18);

    ck_assert_int_eq(cnx_ws_accept_key(u.key.p, u.key.len, acc), 0);
    m = cnx_http_build_101(resp, sizeof(resp), acc);
    ck_assert_int_eq(cnx_http_parse_response(resp, (size_t) m, key, &status),
                     m);
    ck_assert_int_eq(status, 101);
    /* Prefixes need more. */
    ck_assert_int_eq(cnx_http_parse_response(resp, (size_t) m - 1, key,
                                             &status), 0);
    /* Another key does not match. */
    ck_assert_int_eq(cnx_http_parse_response(resp, (size_t) m, key2,
                                             &status), CNX_HTTP_EACCEPT);

    /* the exact heads, with and without User-Agent */
    ck_assert_int_eq(cnx_http_build_request(req, sizeof(req), "h:1", "/r",
                                            "dGhlIHNhbXBsZSBub25jZQ==",
                                            "ua/1"), 161);
    ck_assert_str_eq(req, "GET /r HTTP/1.1\r\nHost: h:1\r\n"
                     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\nUser-Agent: ua/1\r\n"
                     "\r\n");
    ck_assert_int_eq(cnx_http_build_request(req, sizeof(req), "h:1", "/r",
                                            "dGhlIHNhbXBsZSBub25jZQ==",
                                            NULL), 143);
    ck_assert_str_eq(req, "GET /r HTTP/1.1\r\nHost: h:1\r\n"
                     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n");
    ck_assert_int_eq(cnx_http_build_request(req, sizeof(req), "h", "/r",
                                            key, "bad\nua"), -1);

    ck_assert_int_eq(cnx_http_build_request(req, sizeof(req), "a\r\nb",
                                            "/relay", key, NULL), -1);
    ck_assert_int_eq(cnx_http_build_request(req, sizeof(req), "h", "relay",
                                            key, NULL), -1);
    ck_assert_int_eq(cnx_http_build_request(req, 20, "h", "/relay", key,
                                            NULL), -1);
}
END_TEST

/* The plain request/response pair of the registry client. */
START_TEST(test_http_call)
{
    char              out[512];
    cnx_http_reply_t  r;
    int               n;
    static const char ok[] =
        "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\n"
        "content-length: 13\r\n\r\n{\"error\":\"x\"}";

    n = cnx_http_build_call(out, sizeof(out), "POST", "reg.example:8443",
                            "/clawnexus/token", "application/json", 42);
    ck_assert_int_gt(n, 0);
    ck_assert_str_eq(out, "POST /clawnexus/token HTTP/1.1\r\n"
                     "Host: reg.example:8443\r\n"
                     "Accept: application/json\r\n"
                     "Connection: close\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: 42\r\n\r\n");
    ck_assert_int_eq(cnx_http_build_call(out, sizeof(out), "GET", "h",
                                         "/r/x", NULL, 0), 94);
    ck_assert_str_eq(out, "GET /r/x HTTP/1.1\r\nHost: h\r\n"
                     "Accept: application/json\r\nConnection: close\r\n"
                     "Content-Length: 0\r\n\r\n");
    ck_assert_int_eq(cnx_http_build_call(out, sizeof(out), "GET", "h", "/",
                                         "a\rb", 0), -1);
    ck_assert_int_eq(cnx_http_build_call(out, sizeof(out), "GE T", "h", "/",
                                         NULL, 0), -1);
    ck_assert_int_eq(cnx_http_build_call(out, sizeof(out), "GET", "h",
                                         "/a\r\nX: y", NULL, 0), -1);
    ck_assert_int_eq(cnx_http_build_call(out, 20, "GET", "h", "/", NULL, 0),
                     -1);

    n = cnx_http_parse_reply(ok, sizeof(ok) - 1, &r);
    ck_assert_int_eq(n, (int) (sizeof(ok) - 1 - 13));
    ck_assert_int_eq(r.status, 409);
    ck_assert_int_eq(r.content_length, 13);
    ck_assert_int_eq(cnx_http_parse_reply(ok, 20, &r), 0);

#define PARSE(text)  cnx_http_parse_reply(text, strlen(text), &r)
    n = PARSE("HTTP/1.1 200 OK\r\n\r\n");
    ck_assert_int_eq(n, 19);
    ck_assert_int_eq(r.content_length, -1);
    ck_assert_int_eq(PARSE("HTTP/1.1 200 OK\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n"),
                     CNX_HTTP_EBAD);
    ck_assert_int_eq(PARSE("HTTP/1.1 200 OK\r\n"
                           "Content-Length: 1\r\nContent-Length: 1\r\n\r\n"),
                     CNX_HTTP_EBAD);
    ck_assert_int_eq(PARSE("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"),
                     CNX_HTTP_EBAD);
    ck_assert_int_eq(PARSE("HTTQ/1.1 200 OK\r\n\r\n"), CNX_HTTP_EBAD);
#undef PARSE
}
END_TEST

START_TEST(test_client_response_errors)
{
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    char        r[512];
    int         status;

#define RESP(s)  cnx_http_parse_response(s, strlen(s), key, &status)
    ck_assert_int_eq(RESP("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                          "\r\n"), CNX_HTTP_ESTATUS);
    ck_assert_int_eq(status, 404);
    ck_assert_int_eq(RESP("HTTP/1.1 101 OK\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
                          "\r\n\r\n"), CNX_HTTP_ENOUPGRADE);
    ck_assert_int_eq(RESP("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\n\r\n"), CNX_HTTP_EACCEPT);
    ck_assert_int_eq(RESP("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
                          "\r\nSec-WebSocket-Extensions: permessage-deflate"
                          "\r\n\r\n"), CNX_HTTP_EEXT);
    ck_assert_int_eq(RESP("HTTP/1.1 101\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
                          "\r\n\r\n"), (int) strlen(
                          "HTTP/1.1 101\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
                          "\r\n\r\n"));
    ck_assert_int_eq(RESP("HTTP/1.1 1010 x\r\n\r\n"), CNX_HTTP_EBAD);
    ck_assert_int_eq(RESP("SSH-2.0-OpenSSH\r\n\r\n"), CNX_HTTP_EBAD);
    snprintf(r, sizeof(r), "HTTP/1.1 101 OK\r\nX: \x01\r\n\r\n");
    ck_assert_int_eq(RESP(r), CNX_HTTP_EBAD);
#undef RESP
}
END_TEST

/*
 * Feed stream[0..n) the way the relay does: into a buffer of bufsz bytes,
 * chunk bytes per read, and while the buffer is empty and the reader has
 * room for the rest of a data frame (at least min_room bytes), straight
 * into the reader with cnx_ws_reader_room()/cnx_ws_reader_put().  The
 * payloads of the messages (opcode byte first) are appended to out; the
 * return value is the first error, or 0.
 */
static int
feed_direct(cnx_ws_reader_t *r, const uint8_t *stream, size_t n,
    size_t bufsz, size_t chunk, size_t min_room, uint8_t *out,
    size_t *outlen, size_t *directs)
{
    uint8_t       buf[64], *p;
    size_t        in = 0, end = 0, start, used, room, k;
    int           rc;
    cnx_ws_msg_t  m;

    *outlen = 0;
    for ( ;; ) {
        start = 0;
        for ( ;; ) {
            rc = cnx_ws_reader_next(r, buf + start, end - start, &used, &m);
            start += used;
            if (rc < 0) {
                return rc;
            }
            if (rc == CNX_WS_AGAIN) {
                break;
            }
            out[(*outlen)++] = (uint8_t) m.opcode;
            memcpy(out + *outlen, m.data, m.len);
            *outlen += m.len;
        }
        memmove(buf, buf + start, end - start);
        end -= start;
        if (in == n) {
            return 0;
        }
        room = end == 0 ? cnx_ws_reader_room(r, &p) : 0;
        if (room >= min_room && room > 0) {
            k = room < chunk ? room : chunk;
            k = k < n - in ? k : n - in;
            memcpy(p, stream + in, k);
            cnx_ws_reader_put(r, k);
            (*directs)++;
        } else {
            k = bufsz - end < chunk ? bufsz - end : chunk;
            k = k < n - in ? k : n - in;
            memcpy(buf + end, stream + in, k);
            end += k;
        }
        in += k;
    }
}

/*
 * Messages received partly straight into the reader equal those read
 * through the buffer alone, at every read size, masked or not, fragmented
 * (with a PING between fragments), text and binary; invalid UTF-8 and
 * too big still fail.
 */
START_TEST(test_reader_direct)
{
    static uint8_t   stream[2048], out[2048], want[2048];
    uint8_t          bin[300], text[200];
    size_t           n, len, wlen, i, chunk, directs, total = 0;
    int              masked, rc;
    cnx_ws_reader_t  r;

    for (i = 0; i < sizeof(bin); i++) {
        bin[i] = (uint8_t) (i * 7 + 3);
    }
    for (i = 0; i < sizeof(text); i += 2) {
        text[i] = 0xc3;             /* "é" repeated: split anywhere */
        text[i + 1] = 0xa9;
    }

    for (masked = 0; masked <= 1; masked++) {
        n = 0;
        n += frame(stream + n, 1, CNX_WS_OP_BINARY, bin, sizeof(bin), masked);
        n += frame(stream + n, 0, CNX_WS_OP_TEXT, text, 90, masked);
        n += frame(stream + n, 1, CNX_WS_OP_PING, "p", 1, masked);
        n += frame(stream + n, 0, CNX_WS_OP_CONT, text + 90, 51, masked);
        n += frame(stream + n, 1, CNX_WS_OP_CONT, text + 141, 59, masked);
        n += frame(stream + n, 1, CNX_WS_OP_BINARY, bin, 5, masked);
        n += frame(stream + n, 1, CNX_WS_OP_BINARY, bin, 0, masked);

        /* the reference: all through the buffer */
        cnx_ws_reader_init(&r, 1024, masked);
        directs = 0;
        ck_assert_int_eq(feed_direct(&r, stream, n, 64, 64, SIZE_MAX, want,
                                     &wlen, &directs), 0);
        ck_assert_uint_eq(directs, 0);
        cnx_ws_reader_free(&r);
        ck_assert_uint_eq(wlen, 1 + 300 + 1 + 1 + 1 + 200 + 1 + 5 + 1);
        ck_assert(want[0] == CNX_WS_OP_BINARY
                  && memcmp(want + 1, bin, 300) == 0);
        ck_assert(want[301] == CNX_WS_OP_PING && want[303] == CNX_WS_OP_TEXT
                  && memcmp(want + 304, text, 200) == 0);

        for (chunk = 1; chunk <= 64; chunk++) {
            cnx_ws_reader_init(&r, 1024, masked);
            directs = 0;
            rc = feed_direct(&r, stream, n, 64, chunk, 1, out, &len,
                             &directs);
            ck_assert_int_eq(rc, 0);
            ck_assert_uint_eq(len, wlen);
            ck_assert(memcmp(out, want, wlen) == 0);
            total += directs;
            cnx_ws_reader_free(&r);
        }

        /* invalid UTF-8 arriving directly */
        text[150] = 0xff;
        len = frame(stream, 1, CNX_WS_OP_TEXT, text, 200, masked);
        text[150] = 0xc3;
        for (chunk = 1; chunk <= 64; chunk++) {
            cnx_ws_reader_init(&r, 1024, masked);
            ck_assert_int_eq(feed_direct(&r, stream, len, 64, chunk, 1, out,
                                         &wlen, &directs), -1007);
            cnx_ws_reader_free(&r);
        }
        /* a text message ending inside a character */
        len = frame(stream, 1, CNX_WS_OP_TEXT, text, 199, masked);
        cnx_ws_reader_init(&r, 1024, masked);
        ck_assert_int_eq(feed_direct(&r, stream, len, 64, 3, 1, out, &wlen,
                                     &directs), -1007);
        cnx_ws_reader_free(&r);

        /* too big: fragments adding up past max_message */
        len = frame(stream, 0, CNX_WS_OP_BINARY, bin, 200, masked);
        len += frame(stream + len, 1, CNX_WS_OP_CONT, bin, 100, masked);
        cnx_ws_reader_init(&r, 250, masked);
        ck_assert_int_eq(feed_direct(&r, stream, len, 64, 64, 1, out, &wlen,
                                     &directs), -1009);
        cnx_ws_reader_free(&r);
    }
    ck_assert_uint_gt(total, 0);
}
END_TEST

int
main(void)
{
    Suite   *s = suite_create("ws");
    TCase   *tc = tcase_create("core");
    SRunner *sr;
    int      failed;

    tcase_add_test(tc, test_accept_key_rfc);
    tcase_add_test(tc, test_frame_parse_rfc_examples);
    tcase_add_test(tc, test_frame_parse_errors);
    tcase_add_test(tc, test_frame_header_roundtrip);
    tcase_add_test(tc, test_mask_offsets);
    tcase_add_test(tc, test_reader_utf8_every_position);
    tcase_add_test(tc, test_frame_build);
    tcase_add_test(tc, test_close_codes);
    tcase_add_test(tc, test_close_build);
    tcase_add_test(tc, test_reader_single_frame_zero_copy);
    tcase_add_test(tc, test_reader_two_messages_one_buffer);
    tcase_add_test(tc, test_reader_left);
    tcase_add_loop_test(tc, test_reader_chunked_stream, 0, 2);
    tcase_add_test(tc, test_reader_protocol_errors);
    tcase_add_test(tc, test_reader_after_close);
    tcase_add_test(tc, test_reader_large_partial_payload);
    tcase_add_test(tc, test_reader_direct);
    tcase_add_test(tc, test_upgrade_node);
    tcase_add_test(tc, test_upgrade_variants);
    tcase_add_test(tc, test_upgrade_errors);
    tcase_add_test(tc, test_upgrade_limits);
    tcase_add_test(tc, test_reader_random_streams);
    tcase_add_test(tc, test_upgrade_mutations);
    tcase_add_test(tc, test_http_builders);
    tcase_add_test(tc, test_client_server_handshake);
    tcase_add_test(tc, test_client_response_errors);
    tcase_add_test(tc, test_http_call);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
