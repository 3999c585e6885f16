/*
 * Relay cluster: what relay nodes exchange through Redis (docs/cluster.md).
 *
 * - The node record: one message on a worker's pub/sub channel, binary
 *   safe, a fixed 40-byte header then the route of the sending worker,
 *   a room id and two byte strings.
 * - Routes (one per worker and start) and the Redis key names built from
 *   them.
 * - The owner of a name as Redis stores it ("route|seq|conn").
 * - The small rules of the link: reconnect backoff, the per-room credit
 *   window that bounds what one room may have in flight between nodes.
 *
 * Everything here is pure: no sockets, no Redis, no nginx.
 */

#ifndef CNX_CLUSTER_H
#define CNX_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#define CNX_CLUSTER_VERSION     1
#define CNX_CLUSTER_HDR_LEN     40
#define CNX_CLUSTER_ROUTE_MAX   64      /* bytes of [A-Za-z0-9._:-] */
#define CNX_CLUSTER_CODE_MAX    63      /* bytes of [A-Z_] */
#define CNX_CLUSTER_A_MAX       1024    /* first byte string */

typedef enum {
    CNX_CLUSTER_UNKNOWN = 0,
    CNX_CLUSTER_PING,           /* keepalive: arg = sender's clock (us) */
    CNX_CLUSTER_INCOMING,       /* room, a = initiator's claw_id,
                                   dst_conn = target's connection,
                                   arg = credit window for the acceptor */
    CNX_CLUSTER_ACCEPTED,       /* room, arg = credit window */
    CNX_CLUSTER_JOIN_FAILED,    /* room, a = ERROR code */
    CNX_CLUSTER_DATA_TEXT,      /* room, seq, b = payload as JSON string
                                   content (escaped) */
    CNX_CLUSTER_DATA_BIN,       /* room, seq, b = bytes */
    CNX_CLUSTER_CREDIT,         /* room, arg = bytes granted (> 0) */
    CNX_CLUSTER_LEFT,           /* room */
    CNX_CLUSTER_EVICT,          /* a = claw_id, dst_conn = the connection
                                   a newer REGISTER replaced */
    CNX_CLUSTER_TYPE_MAX_
} cnx_cluster_type_t;

/*
 * One record.  Parsing is zero-copy: route, room, a and b point into the
 * parsed buffer (route and room are not NUL-terminated).
 */
typedef struct {
    cnx_cluster_type_t  type;
    uint64_t            src_conn;   /* the sending side's connection */
    uint64_t            dst_conn;   /* the receiving side's, 0 if unknown */
    uint64_t            seq;        /* DATA: 1, 2, ... per room and way */
    uint64_t            arg;
    const char         *route;      /* the sender's route: where replies go */
    size_t              route_len;
    const char         *room;
    size_t              room_len;
    const uint8_t      *a;
    size_t              a_len;
    const uint8_t      *b;
    size_t              b_len;
} cnx_cluster_rec_t;

/* Bytes the record takes on the wire. */
size_t cnx_cluster_rec_size(const cnx_cluster_rec_t *r);

/*
 * Write r into out.  Returns its length, or -1 if it does not fit in cap
 * or is not a record cnx_cluster_rec_parse() would accept with a
 * max_body of b_len (so a node never publishes what others refuse).
 */
long cnx_cluster_rec_write(uint8_t *out, size_t cap,
    const cnx_cluster_rec_t *r);

/*
 * Parse one record.  Refused (-1): another version, an unknown type, a
 * length that does not add up, a route or room id or claw_id or code
 * that is not valid, a field the type does not carry that is not empty,
 * a field it needs that is missing, b longer than max_body.  Returns 0.
 */
int cnx_cluster_rec_parse(const uint8_t *buf, size_t len, size_t max_body,
    cnx_cluster_rec_t *r);

/* "PING", "INCOMING"...; "UNKNOWN" otherwise. */
const char *cnx_cluster_type_name(cnx_cluster_type_t type);

/* 1..CNX_CLUSTER_ROUTE_MAX bytes of [A-Za-z0-9._:-].  Returns 1 if so. */
int cnx_cluster_route_valid(const char *s, size_t n);

/*
 * The route of one worker for one start: "<node>:<worker>:<epoch hex>".
 * Characters of node outside the route alphabet become '-', and node is
 * cut to 32 bytes ("node" when empty).  out needs CNX_CLUSTER_ROUTE_MAX
 * + 1 bytes.  Returns the length.
 */
size_t cnx_cluster_route_make(char out[CNX_CLUSTER_ROUTE_MAX + 1],
    const char *node, size_t node_len, unsigned worker, uint64_t epoch);

/*
 * Redis names, "<prefix>:<kind>:{<id>}" (the braces make id the hash tag,
 * so one id's objects stay in one slot if the layout moves to Redis
 * Cluster).  kind: "w" (a worker's channel), "route" (a worker's liveness
 * key), "name" (a name's owner), "names" (the names a worker owns).
 * Returns the length written (NUL-terminated), or -1 if it does not fit.
 */
long cnx_cluster_key(char *out, size_t cap, const char *prefix,
    const char *kind, const char *id, size_t id_len);

/* The owner of a name as stored in Redis: "<route>|<seq>|<conn>". */
typedef struct {
    char                route[CNX_CLUSTER_ROUTE_MAX + 1];
    size_t              route_len;
    uint64_t            seq;        /* the REGISTER's place in the order
                                       of all REGISTERs */
    uint64_t            conn;       /* the owning connection */
} cnx_cluster_owner_t;

#define CNX_CLUSTER_OWNER_MAX  (CNX_CLUSTER_ROUTE_MAX + 2 * 21)

/* Returns the length written (NUL-terminated), or -1. */
long cnx_cluster_owner_format(char *out, size_t cap,
    const cnx_cluster_owner_t *o);
/* Returns 0, or -1 if s is not such a value. */
int cnx_cluster_owner_parse(const char *s, size_t n, cnx_cluster_owner_t *o);

/*
 * Delay before reconnect attempt number attempt (0 = the first after a
 * failure), in milliseconds: 500 ms growing by half each time up to 10 s,
 * +-10 % jitter from rnd (any random 32 bits) so that the workers of
 * many nodes do not reconnect in step.
 */
#define CNX_CLUSTER_BACKOFF_MIN  500
#define CNX_CLUSTER_BACKOFF_MAX  10000
unsigned cnx_cluster_backoff(unsigned attempt, uint32_t rnd);

/*
 * Credit: how many bytes of DATA one way of a room may have in flight
 * between nodes.  The receiver grants window bytes with ACCEPTED or
 * INCOMING, and gives credit back as its member's socket takes the bytes;
 * the sender stops reading its member while it has no credit left.  A
 * message is sent while any credit is left, so at most window + one
 * message is in flight.
 */
typedef struct {
    uint64_t            sent;       /* bytes sent */
    uint64_t            limit;      /* bytes granted so far */
    uint64_t            window;
} cnx_credit_tx_t;

typedef struct {
    uint64_t            received;   /* bytes received */
    uint64_t            delivered;  /* bytes the member's socket took */
    uint64_t            returned;   /* bytes given back as credit */
    uint64_t            window;
} cnx_credit_rx_t;

void cnx_credit_tx_init(cnx_credit_tx_t *tx, uint64_t window);
/* 1 if a message may be sent now. */
int cnx_credit_tx_open(const cnx_credit_tx_t *tx);
void cnx_credit_tx_sent(cnx_credit_tx_t *tx, size_t n);
/* A CREDIT record arrived.  Returns -1 if it grants more than was sent
 * (the peer is broken: end the room). */
int cnx_credit_tx_grant(cnx_credit_tx_t *tx, uint64_t n);

void cnx_credit_rx_init(cnx_credit_rx_t *rx, uint64_t window);
/* A DATA of n bytes arrived.  Returns -1 if the sender went past its
 * credit by more than max_message (end the room). */
int cnx_credit_rx_received(cnx_credit_rx_t *rx, size_t n,
    size_t max_message);
/* n bytes reached the member's socket.  Returns the credit to send back
 * now (0: not yet; credit goes back in steps of at least window / 2). */
uint64_t cnx_credit_rx_delivered(cnx_credit_rx_t *rx, size_t n);

#endif
