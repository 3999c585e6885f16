/*
 * cnx_relay_rec: the record one relay process sends another about a room
 * whose two members live in different places (another worker of the same
 * nginx, or another relay node).  Each record names its sender and its
 * receiver by address and carries one event of the relay core
 * (cnx_relay_core.h): INCOMING, REFUSED, JOINED, PEER_LEFT, DATA, REPLACED
 * or FLOW; or, between relay nodes, an ACK (the core ignores it).
 *
 * Wire form (all integers big-endian), CNX_RELAY_REC_HEADER bytes then
 * the room id, the name and the payload:
 *
 *    0  version (1)          1  type             2  flags
 *    3  room id length       4  name length (u16) 6  0 (u16)
 *    8  payload length (u32)
 *   12  src: node (u64), gen (u32), worker (i32), pid (i32), conn (u64)
 *   40  dst: the same 28 bytes
 *
 * A record is self-delimiting: cnx_relay_rec_length() tells from its
 * first CNX_RELAY_REC_HEADER bytes how long it is, so records can follow
 * each other on a stream (a pipe, TCP, a Redis stream entry) or fill
 * datagrams.  Decoding is zero-copy and strict: every length is checked,
 * and a field the type does not use must be empty.
 *
 * The short DATA record: between the workers of one nginx, whose channel
 * already says which worker (and process, and set of workers) sent a
 * record and to whom, a DATA_TEXT or DATA_BIN record may leave out
 * everything of the two addresses but their connections,
 * CNX_RELAY_REC_SHORT_HEADER bytes then the room id and the payload:
 *
 *    0  version (2)          1  type (DATA_TEXT or DATA_BIN)
 *    2  room id length       3  0
 *    4  payload length (u32)
 *    8  src conn (u64)      16  dst conn (u64)
 *
 * The receiver completes both addresses from its channel and checks the
 * sender against the room exactly as for the general form.  Its room id
 * is checked for length (1..64) only: the receiver uses it to look up a
 * room it has, never to create or to name one.  Between relay nodes a
 * message of records (one PUBLISH) starts with a record of the general
 * form, and a short record there takes both addresses but their
 * connections from the last general one before it in the same message.
 */

#ifndef CNX_RELAY_REC_H
#define CNX_RELAY_REC_H

#include <stddef.h>
#include <stdint.h>

#define CNX_RELAY_REC_VERSION  1
#define CNX_RELAY_REC_HEADER   68

#define CNX_RELAY_REC_SHORT_VERSION  2
#define CNX_RELAY_REC_SHORT_HEADER   24

typedef enum {
    CNX_RELAY_REC_INCOMING = 1,   /* name = initiator, flags = its binary */
    CNX_RELAY_REC_REFUSED,        /* the target refused a JOIN; name = code */
    CNX_RELAY_REC_JOINED,         /* flags = the acceptor's binary */
    CNX_RELAY_REC_PEER_LEFT,
    CNX_RELAY_REC_DATA_TEXT,      /* payload: escaped JSON string content */
    CNX_RELAY_REC_DATA_BIN,       /* payload: raw bytes */
    CNX_RELAY_REC_REPLACED,       /* no room; name: it has a newer owner */
    CNX_RELAY_REC_FLOW,           /* flags = 1: the sender takes no more
                                     DATA in this room for now, 0: again */
    CNX_RELAY_REC_ACK             /* payload: 4 bytes, big-endian: bytes
                                     of DATA payload that arrived since the
                                     last ACK (between relay nodes, see
                                     cnx_cluster.h) */
} cnx_relay_rec_type_t;

#define CNX_RELAY_REC_TYPE_MAX  CNX_RELAY_REC_ACK
#define CNX_RELAY_REC_ACK_LEN   4

/* Flag bit: binary (INCOMING, JOINED) or full (FLOW). */
#define CNX_RELAY_REC_F_SET  0x01

/*
 * Where a member of a room lives.  node 0 is this relay node; gen counts
 * the sets of workers (an nginx reload starts a new one, and addresses of
 * an older generation are stale).
 */
typedef struct {
    uint64_t  node;
    uint32_t  gen;
    int32_t   worker;
    int32_t   pid;
    uint64_t  conn;
} cnx_relay_addr_t;

typedef struct {
    cnx_relay_rec_type_t  type;
    unsigned              flags;
    cnx_relay_addr_t      src;
    cnx_relay_addr_t      dst;
    const char           *room;         /* 1..64 chars; none for REPLACED */
    size_t                room_len;
    const char           *name;         /* INCOMING, REPLACED: a claw_id;
                                           REFUSED: an ERROR code;
                                           otherwise empty */
    size_t                name_len;
    const uint8_t        *payload;      /* DATA only */
    size_t                payload_len;
} cnx_relay_rec_t;

/* 1 if a and b name the same member. */
int cnx_relay_addr_eq(const cnx_relay_addr_t *a, const cnx_relay_addr_t *b);

/* Bytes cnx_relay_rec_encode() writes for r. */
size_t cnx_relay_rec_size(const cnx_relay_rec_t *r);

/*
 * Write r into out[0..cap).  Returns the record's length, or -1 when a
 * field is invalid for the type or it does not fit.
 */
long cnx_relay_rec_encode(const cnx_relay_rec_t *r, uint8_t *out,
    size_t cap);

/*
 * Write everything but the payload (header, room, name) into out: the
 * caller sends the payload from where it lies.  Returns the length
 * written (cnx_relay_rec_size(r) - r->payload_len), or -1 as above.
 */
long cnx_relay_rec_encode_head(const cnx_relay_rec_t *r, uint8_t *out,
    size_t cap);

/*
 * The length of the record that starts at p, given n >= 0 bytes of it:
 * 0 while fewer than CNX_RELAY_REC_HEADER bytes are there, -1 when the
 * header is invalid (version, type, lengths) or its payload is longer
 * than max_payload.
 */
long cnx_relay_rec_length(const uint8_t *p, size_t n, size_t max_payload);

/*
 * Decode exactly one record from p[0..n).  The slices of r point into p.
 * Returns 0, or -1 if it is malformed, longer than max_payload, or n is
 * not its exact length.
 */
int cnx_relay_rec_decode(const uint8_t *p, size_t n, size_t max_payload,
    cnx_relay_rec_t *r);

/*
 * Write the short form of a DATA record r (header and room id; the
 * caller sends the payload from where it lies) into out[0..cap).  Of the
 * addresses only src.conn and dst.conn are written.  Returns the length
 * written (CNX_RELAY_REC_SHORT_HEADER + r->room_len), or -1 when r is not
 * DATA_TEXT or DATA_BIN, has flags or a name, a room id of 0 or more
 * than 64 bytes, or does not fit.
 */
long cnx_relay_rec_encode_short_head(const cnx_relay_rec_t *r,
    uint8_t *out, size_t cap);

/*
 * The length of the short DATA record that starts at p, given n >= 0
 * bytes of it: 0 while fewer than CNX_RELAY_REC_SHORT_HEADER bytes are
 * there, -1 when its header is invalid (as for decoding) or its payload
 * is longer than max_payload.
 */
long cnx_relay_rec_short_length(const uint8_t *p, size_t n,
    size_t max_payload);

/*
 * The addresses a message between relay nodes (one PUBLISH) has set so
 * far: those of its last general record.  Zeroed before the first record.
 */
typedef struct {
    cnx_relay_addr_t  src;
    cnx_relay_addr_t  dst;
    int               general;      /* a general record came before */
} cnx_relay_rec_msg_t;

/*
 * Encode r as the next record of a message between relay nodes into
 * out[0..cap): in the short form when it is a DATA record without flags
 * whose two addresses, their connections aside, are those of the last
 * general record of the message, in the general form otherwise (its
 * addresses then kept in *msg, zeroed before the first record).  Returns
 * the bytes written, or -1 (invalid record, or cap too small).
 * cnx_relay_rec_next() reads what it writes.
 */
long cnx_relay_rec_put(cnx_relay_rec_msg_t *msg, const cnx_relay_rec_t *r,
    uint8_t *out, size_t cap);

/*
 * Decode the record of a message between relay nodes that starts at p,
 * given the n bytes left of the message: a record of the general form
 * (its addresses kept in *msg), or a short DATA record, which takes both
 * addresses but their connections from *msg.  Returns its length, or -1
 * if the bytes do not start with one whole valid record, or a short
 * record comes before any general one.  The slices of r point into p.
 */
long cnx_relay_rec_next(cnx_relay_rec_msg_t *msg, const uint8_t *p,
    size_t n, size_t max_payload, cnx_relay_rec_t *r);

/*
 * Decode exactly one short DATA record from p[0..n); the slices of r
 * point into p, and of its addresses only src.conn and dst.conn are set
 * (the rest is 0, for the caller to fill in from its channel).  Returns
 * 0, or -1 if it is malformed, longer than max_payload, or n is not its
 * exact length.
 */
int cnx_relay_rec_decode_short(const uint8_t *p, size_t n,
    size_t max_payload, cnx_relay_rec_t *r);

/* The name of a record type ("INCOMING"...), "UNKNOWN" otherwise. */
const char *cnx_relay_rec_type_name(int type);

#endif
