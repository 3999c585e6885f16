/*
 * Relay cluster: how relay nodes find each other's workers through Redis
 * (docs/cluster.md).  What they send each other are the records between
 * processes of cnx_relay_rec.h, one or more per pub/sub message; this
 * file names where they go:
 *
 * - a route: the text form of a worker's address (node, generation,
 *   worker, pid), the id of its Redis channel and liveness key;
 * - the Redis names built from a route or a claw_id;
 * - the owner of a name as Redis stores it ("route|seq|conn");
 * - the delay before the next reconnect to Redis.
 *
 * Everything here is pure: no sockets, no Redis, no nginx.
 */

#ifndef CNX_CLUSTER_H
#define CNX_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "cnx_relay_rec.h"

/* "<node: 16 hex>:<gen>:<worker>:<pid>", at most 16 + 3 * 11 + 3 bytes */
#define CNX_CLUSTER_ROUTE_MAX   63

/*
 * The route of the worker a holds (its conn is not part of it).  Returns
 * the length written (NUL-terminated).
 */
size_t cnx_cluster_route(char out[CNX_CLUSTER_ROUTE_MAX + 1],
    const cnx_relay_addr_t *a);

/*
 * Parse a route into a (conn = 0).  Returns 0, or -1 if s is not a route
 * cnx_cluster_route() could have written (node 0 included: it means
 * "this node" and never travels).
 */
int cnx_cluster_route_parse(const char *s, size_t n, cnx_relay_addr_t *a);

/*
 * Redis names, "<prefix>:<kind>:{<id>}" (the braces make id the hash tag,
 * so one id's objects stay in one slot if the layout moves to Redis
 * Cluster).  Kinds: "w" (a worker's channel of records), "ping" (its
 * keepalive channel), "route" (its liveness key), "name" (a name's owner),
 * "names" (the names a worker owns).  Returns the length written
 * (NUL-terminated), or -1 if it does not fit.
 */
long cnx_cluster_key(char *out, size_t cap, const char *prefix,
    const char *kind, const char *id, size_t id_len);

/* The owner of a name as stored in Redis. */
typedef struct {
    cnx_relay_addr_t    addr;       /* the owning connection */
    uint64_t            seq;        /* the REGISTER's place in the order
                                       of all REGISTERs */
} cnx_cluster_owner_t;

#define CNX_CLUSTER_OWNER_MAX  (CNX_CLUSTER_ROUTE_MAX + 2 * 21)

/* "<route>|<seq>|<conn>".  Returns the length (NUL-terminated), or -1. */
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
/*
 * Credit of a room across nodes.  The sending node may have at most
 * CNX_CLUSTER_WINDOW bytes of DATA payload on their way into one room
 * (sent, but not yet acknowledged by an ACK record of the receiving
 * node); the receiving node acknowledges what arrived every
 * CNX_CLUSTER_ACK_EVERY bytes.  With the receiver's FLOW this bounds what
 * reaches a full receiver after its FLOW left to one window, however deep
 * Redis and the sockets in between are.  The sender is held back while
 * its credit is spent or the receiver said full.
 */
#define CNX_CLUSTER_WINDOW     (1024 * 1024)
#define CNX_CLUSTER_ACK_EVERY  (CNX_CLUSTER_WINDOW / 4)

typedef struct {
    uint64_t    unacked;        /* sender: on their way */
    uint64_t    arrived;        /* receiver: not acknowledged yet */
    unsigned    peer_full:1;    /* sender: the receiver's last FLOW */
    unsigned    held:1;         /* sender: what the core was told */
} cnx_cluster_credit_t;

/*
 * Sender side.  Each returns -1 when whether the sender is held back did
 * not change, or the new state (1 held, 0 free) to tell the relay core.
 * sent: n bytes of DATA left; acked: an ACK of n bytes came (never more
 * than what is on its way); flow: the receiver's FLOW record.
 */
int cnx_cluster_credit_sent(cnx_cluster_credit_t *c, uint64_t n);
int cnx_cluster_credit_acked(cnx_cluster_credit_t *c, uint64_t n);
int cnx_cluster_credit_flow(cnx_cluster_credit_t *c, int full);

/* Receiver side: n bytes arrived; the count to acknowledge now, or 0. */
uint64_t cnx_cluster_credit_arrived(cnx_cluster_credit_t *c, uint64_t n);

#define CNX_CLUSTER_BACKOFF_MIN  500
#define CNX_CLUSTER_BACKOFF_MAX  10000
unsigned cnx_cluster_backoff(unsigned attempt, uint32_t rnd);

#endif
