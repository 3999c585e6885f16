/*
 * WebSocket framing (RFC 6455 sections 5 and 7): frame header parse and
 * build, masking, close payloads, the Sec-WebSocket-Accept value, and a
 * message reader that reassembles fragments, unmasks in place and
 * validates UTF-8 of text messages.  No extension is ever negotiated, so
 * RSV bits are always a protocol error.
 *
 * Errors are returned as the NEGATIVE close code to send, e.g. -1002.
 */

#ifndef CNX_WS_H
#define CNX_WS_H

#include <stddef.h>
#include <stdint.h>

#define CNX_WS_OP_CONT     0x0
#define CNX_WS_OP_TEXT     0x1
#define CNX_WS_OP_BINARY   0x2
#define CNX_WS_OP_CLOSE    0x8
#define CNX_WS_OP_PING     0x9
#define CNX_WS_OP_PONG     0xa

#define CNX_WS_CLOSE_NORMAL        1000
#define CNX_WS_CLOSE_GOING_AWAY    1001
#define CNX_WS_CLOSE_PROTOCOL      1002
#define CNX_WS_CLOSE_UNSUPPORTED   1003
#define CNX_WS_CLOSE_NO_STATUS     1005  /* never on the wire */
#define CNX_WS_CLOSE_ABNORMAL      1006  /* never on the wire */
#define CNX_WS_CLOSE_INVALID_DATA  1007
#define CNX_WS_CLOSE_POLICY        1008
#define CNX_WS_CLOSE_TOO_BIG       1009
#define CNX_WS_CLOSE_MANDATORY_EXT 1010
#define CNX_WS_CLOSE_INTERNAL      1011

#define CNX_WS_MAX_HEADER     14    /* 2 + 8 (length) + 4 (mask) */
#define CNX_WS_MAX_CONTROL    125   /* control frame payload limit */

/*
 * Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key ||
 * "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), 28 characters + NUL in out.
 * Returns 0, or -1 if SHA-1 is unavailable.
 */
int cnx_ws_accept_key(const char *key, size_t klen, char out[29]);

typedef struct {
    unsigned     fin;
    unsigned     opcode;
    unsigned     masked;
    uint8_t      mask[4];
    uint64_t     payload_len;
    size_t       header_len;
} cnx_ws_frame_t;

/*
 * Parse one frame header at buf[0..len).  expect_masked: 1 on the server
 * (client frames must be masked), 0 on the client (server frames must not
 * be).  max_payload: frames announcing more payload are refused.
 * Returns 0 (header incomplete), >0 the header length (f filled, payload
 * follows), or:
 *   -1002  RSV bits set, unknown opcode, control frame longer than 125 or
 *          fragmented, wrong masking, non-minimal length encoding,
 *          64-bit length with the top bit set;
 *   -1009  payload_len > max_payload.
 */
int cnx_ws_frame_parse(const uint8_t *buf, size_t len, int expect_masked,
    uint64_t max_payload, cnx_ws_frame_t *f);

/*
 * XOR p[0..n) with the masking key, as if p started at byte `offset` of the
 * frame payload (so a payload can be unmasked in pieces).  Works a word at
 * a time; masking twice restores the data.
 */
void cnx_ws_mask(uint8_t *p, size_t n, const uint8_t key[4], size_t offset);

/*
 * Write a frame header (minimal length encoding) to out and return its
 * length (2..14).  mask NULL: unmasked (server to client); else the 4-byte
 * key is written and the caller masks the payload with cnx_ws_mask().
 */
size_t cnx_ws_frame_header(uint8_t out[CNX_WS_MAX_HEADER], int fin,
    int opcode, uint64_t len, const uint8_t *mask);

/*
 * Write a whole single-frame message (FIN set) into out: header and
 * payload, masked with mask if not NULL.  Returns the total length or 0
 * if cap is too small or a control frame payload exceeds 125 bytes.
 */
size_t cnx_ws_frame_build(uint8_t *out, size_t cap, int opcode,
    const uint8_t *payload, size_t n, const uint8_t *mask);

/* 1 if code may appear in a close frame: 1000-1003, 1007-1011, 3000-4999. */
int cnx_ws_close_code_valid(unsigned code);

/*
 * Parse an (unmasked) close payload.  Empty payload: *code = 1005 (no
 * status), empty reason.  Returns 0, -1002 (1-byte payload, code not
 * allowed on the wire, longer than 125) or -1007 (reason not UTF-8).
 * reason/reason_len may be NULL.
 */
int cnx_ws_close_parse(const uint8_t *p, size_t n, unsigned *code,
    const uint8_t **reason, size_t *reason_len);

/*
 * Write a close payload (2-byte code + reason cut to 123 bytes without
 * splitting a UTF-8 character) into out[125].  Returns its length.
 * code 1005 writes an empty payload.
 */
size_t cnx_ws_close_build(uint8_t out[CNX_WS_MAX_CONTROL], unsigned code,
    const char *reason, size_t n);


/* Message reader ---------------------------------------------------------- */

#define CNX_WS_AGAIN   0    /* all usable bytes consumed; read more */
#define CNX_WS_MSG     1    /* *msg holds a complete message */

typedef struct {
    int              opcode;   /* TEXT, BINARY, PING, PONG or CLOSE */
    const uint8_t   *data;     /* unmasked payload */
    size_t           len;
} cnx_ws_msg_t;

/* Opaque to callers; fields are private to cnx_ws.c. */
typedef struct {
    uint64_t         max_message;
    int              expect_masked;
    int              in_frame;      /* a frame's payload is being read */
    cnx_ws_frame_t   fr;            /* that frame */
    uint64_t         frame_done;    /* payload bytes of it consumed */
    int              frag_opcode;   /* TEXT/BINARY being assembled, or 0 */
    uint32_t         utf8;          /* UTF-8 state of the text message */
    uint8_t         *buf;           /* assembly buffer (malloc) */
    size_t           len;
    size_t           cap;
    size_t           ctl_len;
    uint8_t          ctl[CNX_WS_MAX_CONTROL];
    int              closed;        /* a CLOSE was returned */
    int              pending;       /* MSG or error of cnx_ws_reader_put() */
} cnx_ws_reader_t;

/*
 * Prepare a reader.  max_message bounds a whole (reassembled) data
 * message; larger ones fail with -1009.  expect_masked as for
 * cnx_ws_frame_parse().  Allocates nothing.
 */
void cnx_ws_reader_init(cnx_ws_reader_t *r, size_t max_message,
    int expect_masked);

/*
 * Consume bytes of buf[0..len) (the caller's read buffer, which is
 * modified: payloads are unmasked in place) and stop at the first
 * complete message.  *consumed is set to the bytes used in every case;
 * the caller drops them and calls again with the rest plus new data.
 *
 * Returns CNX_WS_MSG with *msg set, CNX_WS_AGAIN, or a negative close
 * code (-1002 protocol error, -1007 invalid UTF-8 in a text message,
 * checked as fragments arrive, -1009 too big, -1011 out of memory); after
 * an error the connection must be closed.
 *
 * Buffering: an incomplete frame HEADER is left unconsumed (at most 13
 * bytes).  Payload bytes are always consumed: a partial payload is copied
 * into the reader's buffer (growing with malloc up to max_message; control
 * frames use a fixed 125-byte area).  msg->data points INTO buf (zero
 * copy) when the message was a single unfragmented frame wholly inside
 * buf; otherwise into the reader.  Either way it stays valid only until
 * the next call or until the caller reuses buf.
 *
 * Control frames (PING, PONG, CLOSE) arriving between fragments are
 * returned at once and do not disturb the assembly.  A continuation frame
 * without a started message, or a new TEXT/BINARY while one is being
 * assembled, is -1002.  A CLOSE payload is checked with
 * cnx_ws_close_parse(); after CLOSE further calls return AGAIN having
 * consumed everything.  The unfragmented case never allocates.
 */
int cnx_ws_reader_next(cnx_ws_reader_t *r, uint8_t *buf, size_t len,
    size_t *consumed, cnx_ws_msg_t *msg);

/*
 * Receiving a large payload straight into the reader: while a data
 * frame's payload is being read and the caller has no bytes of the
 * stream buffered, cnx_ws_reader_room() sets *p to where the rest of that
 * payload (its return value, 0: not now) can be written, raw as it comes
 * from the socket.  After writing n (<= that) bytes there the caller calls
 * cnx_ws_reader_put(), which unmasks and checks them as
 * cnx_ws_reader_next() would; a message so completed, or an error, is
 * returned by the next cnx_ws_reader_next() (consuming nothing).  This
 * saves copying the payload from the caller's buffer, and lets a frame
 * larger than that buffer be received in one call.
 */
size_t cnx_ws_reader_room(cnx_ws_reader_t *r, uint8_t **p);
void cnx_ws_reader_put(cnx_ws_reader_t *r, size_t n);

/*
 * Payload bytes of the frame being read that the reader has not been
 * given yet; 0 when the next byte of the stream starts a frame header.
 * Lets a caller find the frame boundaries in what it reads next (with
 * cnx_ws_frame_parse()) before handing it over.
 */
uint64_t cnx_ws_reader_left(const cnx_ws_reader_t *r);


/* Release the reader's buffer; the reader may be reinitialised. */
void cnx_ws_reader_free(cnx_ws_reader_t *r);

/*
 * Release the assembly buffer if no message is being assembled in it
 * (nothing of a data frame read, no fragment kept, no message waiting to
 * be returned); the next large message allocates it again.  The caller
 * must be done with the messages it was given.  Returns the bytes freed:
 * an idle socket keeps no buffer after one large message.
 */
size_t cnx_ws_reader_trim(cnx_ws_reader_t *r);

#endif
