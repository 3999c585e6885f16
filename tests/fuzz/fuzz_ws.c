/*
 * Fuzz target: WebSocket framing (cnx_ws.h).
 *
 * Input: one control byte, then bytes as they would arrive on a socket.
 *   bit 0       side: 1 = server (client frames must be masked)
 *   bits 1-3    message limit (16 << n bytes)
 *   bits 4-7    seed of the chunk sizes
 *
 * Checks:
 *   - cnx_ws_frame_parse(): a parsed header is re-encoded identically by
 *     cnx_ws_frame_header() (minimal lengths, no RSV bits), every shorter
 *     prefix says "need more";
 *   - cnx_ws_reader_t: the stream fed in one piece, fed in random
 *     chunks (with unconsumed header bytes carried over, as a socket
 *     loop does), and so with payload bytes put straight into the reader
 *     whenever it offers room (cnx_ws_reader_room/put, as the relay does)
 *     yields the same messages and the same final error; text
 *     messages are valid UTF-8, sizes respect the limits;
 *   - cnx_ws_reader_left(): fed in chunks as the relay's bulk receive
 *     does (only with nothing carried over), the frame boundaries found
 *     from it with cnx_ws_frame_parse() before a chunk is handed over say
 *     what the reader leaves after it: the payload bytes still to come
 *     (reader_left() again) or the bytes of a cut header it did not take;
 *   - close payloads parse, rebuild and parse to the same code;
 *   - a message built by cnx_ws_frame_build() from the input reads back
 *     unchanged through a reader; as a text frame, input that is not
 *     UTF-8 is refused (1007).
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_utf8.h"
#include "cnx_ws.h"

#define MAX_MSGS  4096

typedef struct {
    int       n;
    int       rc;               /* final: AGAIN or a negative close code */
    int       op[MAX_MSGS];
    size_t    len[MAX_MSGS];
    uint64_t  sum[MAX_MSGS];
} trace_t;

static trace_t  whole, chunked, direct, bulk;

static uint64_t
digest(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a */
    size_t   i;

    for (i = 0; i < n; i++) {
        h = (h ^ p[i]) * 1099511628211ull;
    }
    return h;
}

static void
note(trace_t *t, const cnx_ws_msg_t *m, size_t max)
{
    switch (m->opcode) {
    case CNX_WS_OP_TEXT:
        if (!cnx_utf8_valid(m->data, m->len)) {
            abort();
        }
        /* fall through */
    case CNX_WS_OP_BINARY:
        if (m->len > max) {
            abort();
        }
        break;
    case CNX_WS_OP_PING:
    case CNX_WS_OP_PONG:
    case CNX_WS_OP_CLOSE:
        if (m->len > CNX_WS_MAX_CONTROL) {
            abort();
        }
        break;
    default:
        abort();
    }
    if (m->len > 0 && m->data == NULL) {
        abort();
    }
    if (t->n < MAX_MSGS) {
        t->op[t->n] = m->opcode;
        t->len[t->n] = m->len;
        t->sum[t->n] = m->len ? digest(m->data, m->len) : 0;
        t->n++;
    }
}

/*
 * Where a chunk of len bytes handed to a reader that still wants "left"
 * payload bytes of its frame ends: sets *after to the payload bytes of a
 * frame cut by its end (reader_left() after the chunk) and returns the
 * bytes of a cut header at its end, which the reader does not take; -1 if
 * a header is refused (the reader reports it).
 */
static long
walk(const uint8_t *p, size_t len, uint64_t left, int masked,
    uint64_t *after)
{
    cnx_ws_frame_t  f;
    size_t          pos;
    uint64_t        end;
    int             rc;

    *after = 0;
    if (left >= len) {
        *after = left - len;
        return 0;
    }
    pos = (size_t) left;
    while (pos < len) {
        rc = cnx_ws_frame_parse(p + pos, len - pos, masked, UINT64_MAX >> 1,
                                &f);
        if (rc < 0) {
            return -1;
        }
        if (rc == 0) {
            return (long) (len - pos);
        }
        end = pos + (uint64_t) rc + f.payload_len;
        if (end > len) {
            *after = end - len;
            return 0;
        }
        pos = (size_t) end;
    }
    return 0;
}

/*
 * Feed data[0..size) to a fresh reader in chunks (chunk sizes from seed;
 * seed 0: all at once), keeping unconsumed bytes like a socket loop;
 * with put 1, a chunk goes straight into the reader when nothing is
 * pending and the reader offers room; with put 2, what the reader keeps
 * after a chunk given with nothing pending is checked against walk().
 */
static void
run_reader(trace_t *t, const uint8_t *data, size_t size, int masked,
    size_t max, unsigned seed, int put)
{
    cnx_ws_reader_t  r;
    cnx_ws_msg_t     m;
    uint8_t         *pend, *p;
    size_t           plen = 0, off = 0, used, chunk, room;
    uint32_t         x = seed * 2654435761u + 1;
    uint64_t         after = 0;
    long             cut = -1;
    int              rc = CNX_WS_AGAIN, closed = 0;

    memset(t, 0, sizeof(*t));
    pend = malloc(size + 1);
    if (pend == NULL) {
        abort();
    }
    cnx_ws_reader_init(&r, max, masked);

    while (off < size || plen > 0) {
        if (off < size) {
            if (seed == 0) {
                chunk = size - off;
            } else {
                x = x * 1103515245u + 12345u;
                chunk = 1 + (x >> 16) % 23;
                if (chunk > size - off) {
                    chunk = size - off;
                }
            }
            room = put == 1 && plen == 0 ? cnx_ws_reader_room(&r, &p) : 0;
            cut = -1;
            if (put == 2 && plen == 0 && !closed) {
                cut = walk(data + off, chunk, cnx_ws_reader_left(&r),
                           masked, &after);
            }
            if (room > 0) {
                if (chunk > room) {
                    chunk = room;
                }
                memcpy(p, data + off, chunk);
                cnx_ws_reader_put(&r, chunk);
            } else {
                memcpy(pend + plen, data + off, chunk);
                plen += chunk;
            }
            off += chunk;
        }
        for ( ;; ) {
            used = (size_t) -1;
            rc = cnx_ws_reader_next(&r, pend, plen, &used, &m);
            if (used > plen) {
                abort();
            }
            if (rc == CNX_WS_MSG) {
                note(t, &m, max);
                closed |= m.opcode == CNX_WS_OP_CLOSE;
            }
            memmove(pend, pend + used, plen - used);
            plen -= used;
            if (rc != CNX_WS_MSG) {
                break;
            }
        }
        if (rc < 0) {
            break;
        }
        if (rc != CNX_WS_AGAIN) {
            abort();
        }
        if (cut >= 0 && !closed
            && (cnx_ws_reader_left(&r) != after || plen != (size_t) cut))
        {
            abort();
        }
        if (off == size) {
            /* Everything delivered: what is left is an incomplete
             * header, which the reader leaves to us. */
            if (plen >= CNX_WS_MAX_HEADER) {
                abort();
            }
            break;
        }
    }
    if (rc < 0 && rc != -1002 && rc != -1007 && rc != -1009) {
        abort();
    }
    t->rc = rc;
    cnx_ws_reader_free(&r);
    free(pend);
}

static void
check_header(const uint8_t *buf, size_t len, int masked, uint64_t max)
{
    cnx_ws_frame_t  f;
    uint8_t         hdr[CNX_WS_MAX_HEADER];
    size_t          k, hl;
    int             rc;

    rc = cnx_ws_frame_parse(buf, len, masked, max, &f);
    if (rc < 0) {
        if (rc != -1002 && rc != -1009) {
            abort();
        }
        return;
    }
    if (rc == 0) {
        if (len >= CNX_WS_MAX_HEADER) {
            abort();
        }
        return;
    }
    if ((size_t) rc > len || (size_t) rc != f.header_len
        || f.payload_len > max || f.masked != (unsigned) !!masked)
    {
        abort();
    }
    hl = cnx_ws_frame_header(hdr, (int) f.fin, (int) f.opcode,
        f.payload_len, f.masked ? f.mask : NULL);
    if (hl != (size_t) rc || memcmp(hdr, buf, hl) != 0) {
        abort();
    }
    for (k = 0; k < (size_t) rc; k++) {
        if (cnx_ws_frame_parse(buf, k, masked, max, &f) != 0) {
            abort();
        }
    }
}

static void
check_close(const uint8_t *p, size_t n)
{
    const uint8_t *reason;
    uint8_t        out[CNX_WS_MAX_CONTROL];
    size_t         rlen, olen;
    unsigned       code, code2;

    if (n > CNX_WS_MAX_CONTROL) {
        n = CNX_WS_MAX_CONTROL;
    }
    if (cnx_ws_close_parse(p, n, &code, &reason, &rlen) != 0) {
        return;
    }
    if (n == 0) {
        if (code != CNX_WS_CLOSE_NO_STATUS || rlen != 0) {
            abort();
        }
        return;
    }
    if (!cnx_ws_close_code_valid(code) || rlen != n - 2
        || !cnx_utf8_valid(reason, rlen))
    {
        abort();
    }
    olen = cnx_ws_close_build(out, code, (const char *) reason, rlen);
    if (olen != n || memcmp(out, p, n) != 0) {
        abort();
    }
    if (cnx_ws_close_parse(out, olen, &code2, NULL, NULL) != 0
        || code2 != code)
    {
        abort();
    }
}

/* Build one masked frame from the input and read it back. */
static void
check_roundtrip(const uint8_t *p, size_t n, unsigned ctl)
{
    static const int ops[4] = {
        CNX_WS_OP_BINARY, CNX_WS_OP_TEXT, CNX_WS_OP_PING, CNX_WS_OP_PONG
    };
    cnx_ws_reader_t r;
    cnx_ws_msg_t    m;
    uint8_t         mask[4] = { 0x37, 0xfa, (uint8_t) ctl, 0x3d };
    uint8_t        *frame;
    size_t          cap = n + CNX_WS_MAX_HEADER, fl, used;
    int             op = ops[(ctl >> 4) & 3], rc, bad_text = 0;

    if (op == CNX_WS_OP_TEXT && !cnx_utf8_valid(p, n)) {
        op = CNX_WS_OP_BINARY;
        bad_text = 1;
    }
    if (op != CNX_WS_OP_BINARY && op != CNX_WS_OP_TEXT
        && n > CNX_WS_MAX_CONTROL)
    {
        n = CNX_WS_MAX_CONTROL;
    }
    frame = malloc(cap);
    if (frame == NULL) {
        abort();
    }
    fl = cnx_ws_frame_build(frame, cap, op, p, n, mask);
    if (fl == 0) {
        abort();
    }
    cnx_ws_reader_init(&r, n + 1, 1);
    rc = cnx_ws_reader_next(&r, frame, fl, &used, &m);
    if (rc != CNX_WS_MSG || used != fl || m.opcode != op || m.len != n
        || (n > 0 && memcmp(m.data, p, n) != 0))
    {
        abort();
    }
    cnx_ws_reader_free(&r);

    /* the same bytes as a text frame: refused as invalid UTF-8 */
    if (bad_text) {
        fl = cnx_ws_frame_build(frame, cap, CNX_WS_OP_TEXT, p, n, mask);
        cnx_ws_reader_init(&r, n + 1, 1);
        rc = cnx_ws_reader_next(&r, frame, fl, &used, &m);
        if (fl == 0 || rc != -CNX_WS_CLOSE_INVALID_DATA) {
            abort();
        }
        cnx_ws_reader_free(&r);
    }

    /* Masking twice at any offset restores the data. */
    cnx_ws_mask(frame, fl, mask, ctl);
    cnx_ws_mask(frame, fl, mask, ctl);
    free(frame);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t  *buf;
    unsigned  ctl;
    size_t    max, i;
    int       masked;

    if (size < 1) {
        return 0;
    }
    ctl = data[0];
    data++;
    size--;
    masked = ctl & 1;
    max = (size_t) 16 << ((ctl >> 1) & 7);

    buf = malloc(size ? size : 1);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);

    check_header(buf, size, masked, max);
    check_close(buf, size);
    check_roundtrip(buf, size, ctl);

    run_reader(&whole, buf, size, masked, max, 0, 0);
    run_reader(&chunked, buf, size, masked, max, (ctl >> 4) + 1, 0);
    run_reader(&direct, buf, size, masked, max, (ctl >> 4) + 1, 1);
    run_reader(&bulk, buf, size, masked, max, (ctl >> 4) + 7, 2);
    if (whole.n != chunked.n || whole.rc != chunked.rc
        || whole.n != direct.n || whole.rc != direct.rc
        || whole.n != bulk.n || whole.rc != bulk.rc)
    {
        abort();
    }
    for (i = 0; i < (size_t) whole.n; i++) {
        if (whole.op[i] != chunked.op[i] || whole.len[i] != chunked.len[i]
            || whole.sum[i] != chunked.sum[i]
            || whole.op[i] != direct.op[i] || whole.len[i] != direct.len[i]
            || whole.sum[i] != direct.sum[i]
            || whole.op[i] != bulk.op[i] || whole.len[i] != bulk.len[i]
            || whole.sum[i] != bulk.sum[i])
        {
            abort();
        }
    }
    free(buf);
    return 0;
}
