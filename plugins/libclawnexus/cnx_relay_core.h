/*
 * cnx_relay_core: the rules of the ClawNexus relay protocol, without I/O.
 *
 * One core per relay process (an nginx worker).  The host feeds it what a
 * client sent (cnx_relay_core_text(), cnx_relay_core_binary()), what
 * another process sent about a shared room (cnx_relay_core_record()),
 * that a member left or that a receiver's queue filled or drained; the
 * core applies REGISTER, JOIN/INCOMING/ACCEPT/REJECT/JOINED, DATA,
 * PEER_LEFT, REPLACED and PING with their limits and ERROR codes, and
 * acts through the member operations below.  Each rule is written once.
 *
 * The member seam.  A member is one end of a room.  It is "local" when it
 * is a client socket of this process and "remote" otherwise: a socket of
 * another worker of this relay or, for a cluster, of another relay node
 * (cnx_relay_addr_t.node tells them apart; the core does not care).  Every
 * member carries a cnx_relay_member_ops_t; the core calls the same
 * operation whatever the kind:
 *
 *                  local member (this process)   remote member
 *   incoming       INCOMING message to socket    INCOMING record
 *   joined         JOINED message                JOINED record
 *   peer_left      PEER_LEFT message             PEER_LEFT record
 *   refused        ERROR <code>                  REFUSED record
 *   data           DATA (text or binary frame)   DATA_TEXT/DATA_BIN record
 *   replaced       ERROR REPLACED                REPLACED record
 *   flow           pause/resume reading socket   FLOW record
 *   reply          REGISTERED, PONG, ERROR       (never called)
 *   unused         (nothing)                     free the member
 *
 * A remote member exists only while a room of this core refers to it: the
 * host makes one when cnx_relay_host_ops_t.lookup() finds a name owned
 * elsewhere or when an INCOMING record arrives (.remote()), and the core
 * calls its unused() once no room refers to it any more.  Records are
 * cnx_relay_rec.h; the receiving host finds the local member by rec.dst
 * and hands the record to cnx_relay_core_record(), which checks that the
 * room's other member is the record's sender before acting.
 *
 * lookup() answers at once.  A host that must ask elsewhere who owns a
 * name (a relay cluster asks Redis) returns a remote member whose address
 * it does not know yet: the room waits in the core as for any target in
 * another process, that member's incoming() sends the INCOMING once the
 * answer comes, and when nobody owns the name the host hands the core a
 * REFUSED record from that member's address (the initiator then gets the
 * ERROR).  The core needs no second, asynchronous JOIN path.
 *
 * Backpressure is per room: when a receiver's queue passes its high mark
 * the host calls cnx_relay_core_flow(m, 1), and (m, 0) when it drained.
 * A member elsewhere in m's rooms is told at once (flow: a FLOW record).
 * A local member that sends DATA into a room whose other member is full
 * is held back: flow(r, 1), and its nblocked count rises; the host stops
 * reading its socket while nblocked > 0.  flow(r, 0) when that member
 * drains or the room ends.  Senders that do not send into the full member
 * are never held back.
 */

#ifndef CNX_RELAY_CORE_H
#define CNX_RELAY_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "cnx_relay_dir.h"
#include "cnx_relay_msg.h"
#include "cnx_relay_rec.h"

typedef struct cnx_relay_core_s        cnx_relay_core_t;
typedef struct cnx_relay_member_s      cnx_relay_member_t;
typedef struct cnx_relay_member_ops_s  cnx_relay_member_ops_t;

/* Results of the data and incoming operations. */
#define CNX_RELAY_OP_OK      0
#define CNX_RELAY_OP_ERROR  (-1)    /* out of memory, channel gone */

struct cnx_relay_member_ops_s {
    /* A JOIN for room r from member from (r->member[0]). */
    int   (*incoming)(cnx_relay_member_t *to, cnx_dir_room_t *r,
              cnx_relay_member_t *from);
    /* Room r is active; from is the other member. */
    void  (*joined)(cnx_relay_member_t *to, cnx_dir_room_t *r,
              cnx_relay_member_t *from);
    /* from left room r (or rejected it); r is removed right after. */
    void  (*peer_left)(cnx_relay_member_t *to, cnx_dir_room_t *r,
              cnx_relay_member_t *from);
    /* The target of to's JOIN for room id[0..len), which lives at from,
       refused it with code (remote members only: the core answers a local
       one with an ERROR). */
    void  (*refused)(cnx_relay_member_t *to, const char *id, size_t len,
              const char *code, const cnx_relay_addr_t *from);
    /*
     * DATA in room r from from: binary 0 = p is escaped JSON string
     * content (forwarded as is), 1 = raw bytes; for a binary frame of a
     * local sender p lies in that frame right after its 2 + room id bytes
     * of header, so a host may forward the frame where it lies.
     */
    int   (*data)(cnx_relay_member_t *to, cnx_dir_room_t *r,
              cnx_relay_member_t *from, int binary, const uint8_t *p,
              size_t n);
    /* to's name was registered by a newer socket, by (by->name). */
    void  (*replaced)(cnx_relay_member_t *to, cnx_relay_member_t *by);
    /* Local to: held back (1) for sending into r, whose other member is
       full, or free again in r (0); to->nblocked counts the rooms it is
       held back in.  Remote to: the other member of r is full or not. */
    void  (*flow)(cnx_relay_member_t *to, cnx_dir_room_t *r, int full);
    /* A reply to to's own message: REGISTERED (to->name, to->binary),
       PONG, or ERROR with code and text. */
    void  (*reply)(cnx_relay_member_t *to, cnx_relay_type_t type,
              const char *code, const char *text);
    /* No room of the core refers to m any more. */
    void  (*unused)(cnx_relay_member_t *m);
};

typedef struct {
    unsigned        max_rooms;      /* rooms a member opened (either
                                       state): TOO_MANY_ROOMS */
    unsigned        max_pending;    /* its JOINs without an answer */
    unsigned        max_incoming;   /* JOINs waiting for one target */
    unsigned        max_pair;       /* JOINs from one member to one target
                                       waiting (all TOO_MANY_PENDING) */
    const uint8_t  *jwt_key;
    size_t          jwt_key_len;
    const uint8_t  *jwt_prev_key;   /* also accepted (rotation); NULL */
    size_t          jwt_prev_key_len;
    const char     *jwt_issuer;     /* NULL: not checked */
    int64_t         jwt_leeway;
    int64_t         jwt_max_lifetime;   /* 0: no limit */
} cnx_relay_limits_t;

struct cnx_relay_member_s {
    cnx_dir_member_t               dir;        /* rooms; dir.session = m */
    const cnx_relay_member_ops_t  *ops;
    const cnx_relay_limits_t      *lim;        /* local members: the limits
                                                  of their server */
    void                          *data;       /* the host's */
    cnx_relay_addr_t               addr;
    char                           name[CNX_RELAY_CLAW_ID_MAX + 1];
    size_t                         name_len;
    unsigned                       nblocked;   /* see flow */
    unsigned                       remote:1;
    unsigned                       registered:1;   /* owns name */
    unsigned                       binary:1;   /* reads binary DATA */
    unsigned                       full:1;     /* cnx_relay_core_flow() */
    unsigned                       left:1;     /* cnx_relay_core_leave() */
    unsigned                       ever:1;     /* registered once */
};

/* What the core needs from its host. */
typedef struct {
    /*
     * The member that owns name now: a local one, or a remote member made
     * for the owner elsewhere (with no rooms yet; the core calls its
     * unused() if it does not keep it).  NULL when nobody owns it.
     */
    cnx_relay_member_t  *(*lookup)(void *host, const char *name,
                             size_t len);
    /*
     * Bind name to m; *old = the previous owner (as lookup() returns it),
     * or NULL.  Returns 0, or -1 when the name cannot be stored.
     */
    int                  (*bind)(void *host, cnx_relay_member_t *m,
                             cnx_relay_member_t **old);
    /* m gives up its name (only if it still owns it). */
    void                 (*unbind)(void *host, cnx_relay_member_t *m);
    /* A remote member for the sender of an INCOMING record. */
    cnx_relay_member_t  *(*remote)(void *host, const cnx_relay_addr_t *a,
                             int binary);
    /*
     * Per-address authentication limit: failed = 0 asks whether m may try
     * (0 yes, -1 no), failed = 1 counts a failure.  NULL: no limit.
     */
    int                  (*auth_limit)(void *host, cnx_relay_member_t *m,
                             int failed);
    /* Unix time in seconds. */
    int64_t              (*now)(void *host);
} cnx_relay_host_ops_t;


/* Counters a host may publish (monotonic, except rooms). */
typedef struct {
    uint64_t  registrations;
    uint64_t  auth_failures;
    uint64_t  rooms_total;      /* rooms that became active */
    uint64_t  messages;         /* DATA relayed from local members */
    uint64_t  bytes;
    uint64_t  errors;           /* ERROR replies */
} cnx_relay_stats_t;

/* What the host does with the socket after an input. */
#define CNX_RELAY_CONTINUE  0
#define CNX_RELAY_CLOSE     1     /* flush the replies, then close (1008) */

/* A new core; NULL when out of memory. */
cnx_relay_core_t *cnx_relay_core_new(const cnx_relay_host_ops_t *host,
    void *host_data);

/* Frees the core and its rooms; members must have left. */
void cnx_relay_core_free(cnx_relay_core_t *core);

/* The core's room table (to count rooms, or for tests). */
cnx_dir_t *cnx_relay_core_dir(cnx_relay_core_t *core);

const cnx_relay_stats_t *cnx_relay_core_stats(const cnx_relay_core_t *core);

/*
 * Prepare a member (zeroes it).  A local member needs lim (its server's
 * limits and token settings, which must outlive it); a remote one NULL.
 */
void cnx_relay_member_init(cnx_relay_member_t *m,
    const cnx_relay_member_ops_t *ops, const cnx_relay_limits_t *lim,
    void *data, const cnx_relay_addr_t *addr, int remote);

/*
 * One text message of a local member (a complete WebSocket text frame,
 * valid UTF-8).  Returns CNX_RELAY_CONTINUE or CNX_RELAY_CLOSE; the
 * reason is then in *why when why is not NULL.
 */
int cnx_relay_core_text(cnx_relay_core_t *core, cnx_relay_member_t *m,
    const char *p, size_t n, const char **why);

/* One binary message of a local member (binary DATA). */
int cnx_relay_core_binary(cnx_relay_core_t *core, cnx_relay_member_t *m,
    const uint8_t *p, size_t n, const char **why);

/*
 * A record from another process.  to is the local member named by
 * rec->dst (NULL when there is none, or it is closing).
 */
void cnx_relay_core_record(cnx_relay_core_t *core, cnx_relay_member_t *to,
    const cnx_relay_rec_t *rec);

/*
 * m leaves: its name is unbound, every room it is in is removed and the
 * other members get peer_left.  For a remote member whose process died.
 * Calls m->ops->unused() for a remote m.
 */
void cnx_relay_core_leave(cnx_relay_core_t *core, cnx_relay_member_t *m);

/* The local receiver m is full (1) or takes DATA again (0). */
void cnx_relay_core_flow(cnx_relay_core_t *core, cnx_relay_member_t *m,
    int full);

#endif
