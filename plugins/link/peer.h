/*
 * clawnexus-link: a peer is one channel (session) plus its streams, over a
 * relay room or a direct connection.  serve keeps many, connect and chat
 * one.  The app holds the peers and the relay callbacks the three
 * commands share: rooms, PEER_LEFT versus a reload, the relay connection
 * lost, JOINing a target again, relay ERRORs (peer.c).
 */

#ifndef CNX_LINK_PEER_H
#define CNX_LINK_PEER_H

#include <stdint.h>

#include "chan.h"
#include "common.h"
#include "direct.h"
#include "loop.h"
#include "mux.h"
#include "relay_client.h"

typedef struct link_peer_s link_peer_t;
typedef struct link_app_s  link_app_t;

#define LINK_VIA_RELAY   0
#define LINK_VIA_DIRECT  1

struct link_peer_s {
    link_app_t    *app;
    int            via;
    char           room[72];        /* relay */
    link_direct_t *d;               /* direct */
    int            hello_wait;      /* direct, serving side: no hello yet */
    char           name[256];
    int            initiator;
    link_chan_t   *ch;
    link_mux_t    *mux;
    int            started;
    int            dead;
    uint64_t       free_timer;
    int64_t        t_start;
    int            ready;           /* the session is up (authenticated) */
    char           src[64];         /* direct, serving side: peer address */
    uint64_t       hello_timer;     /* direct, serving side: deadline */
    uint64_t       left_timer;      /* PEER_LEFT seen (see peer.c) */
    link_peer_t   *room_next;       /* chain of its room's hash bucket */
    link_peer_t   *next;
};

/* serve's limits on direct connections not yet authenticated (no session
 * yet): above them the oldest such connection is dropped for a new one. */
#define LINK_UNAUTH_MAX       64
#define LINK_UNAUTH_PER_SRC   16
#define LINK_HELLO_MS         5000  /* hello and session handshake */
#define LINK_SESSIONS_PER_PEER 8    /* sessions one name may have open */

typedef struct {
    void (*ready)(link_peer_t *p);
    /*
     * The peer is going away (session failure, peer left, carrier lost).
     * code LINK_EXIT_UNREACHABLE on a relay peer: the relay connection
     * dropped (a reload or restart; the client reconnects when set to),
     * not the peer leaving; LINK_EXIT_PEER_LEFT: the peer left (its CLOSE
     * record, or PEER_LEFT not followed by our own connection's loss).
     */
    void (*gone)(link_peer_t *p, int code, const char *why);
    /* When set, the peer carries records for the command (chat) and has
     * no streams: every record but the session's own goes here. */
    void (*record)(link_peer_t *p, const cnx_record_t *rec);
    /* The carrier drained below its low-water mark (chat). */
    void (*writable)(link_peer_t *p);
    void (*stream_done)(link_peer_t *p, uint32_t id, int ok);
    void (*opened)(link_peer_t *p, uint32_t id, int ok);
    void (*pong)(link_peer_t *p);
} link_app_hooks_t;

/* Rooms to peers: a hash of the room id (ids are 128 random bits, so the
 * buckets stay short). */
#define LINK_ROOM_BUCKETS 256

struct link_app_s {
    link_loop_t      *loop;
    link_peer_t      *rooms[LINK_ROOM_BUCKETS];
    link_common_t    *o;
    link_relay_t     *relay;
    int               relay_paused;
    const char       *forward;      /* serving side */
    link_peer_t      *peers;
    link_app_hooks_t  hooks;
    link_relay_cbs_t  relay_cbs;    /* the command's own relay decisions */
    void             *ud;

    /*
     * One peer (chat, connect): a relay ERROR that leaves no session ends
     * the command (AUTH_FAILED, TARGET_OFFLINE, and NOT_REGISTERED when
     * not long-running), so does an unreachable relay before the first
     * REGISTERED (or any time, when not long-running).
     */
    int               single;
    int               reconnect;    /* long-running: the relay client
                                     * reconnects and takes REPLACED
                                     * names back */
    /* Initiator through the relay: the name JOINed (chat --to, connect),
     * joined again after a relay loss or while it is offline. */
    const char       *target;
    int               joining;
    int               ever_up;      /* a session was ready once */
    int               ever_registered;
    uint64_t          rejoin_timer;
    int               rejoin_ms;
};

link_peer_t *link_peer_new(link_app_t *a, int via, const char *name,
    int initiator);
/* Attach a relay room and (if start) send our KEY_EXCHANGE. */
int link_peer_relay(link_peer_t *p, const char *room, int start);
/* Attach a direct connection; the initiator sends its hello first. */
int link_peer_direct(link_peer_t *p, link_conn_t *c);
/* Free now (not from inside this peer's callbacks). */
void link_peer_free(link_peer_t *p);
/* Free from the loop (safe from callbacks); gone() is not called. */
void link_peer_kill(link_peer_t *p);

/* Bytes its carrier has not sent yet. */
size_t link_peer_queued(const link_peer_t *p);

link_peer_t *link_app_find_room(link_app_t *a, const char *room);

/* The first live peer (chat and connect have at most one), or NULL. */
link_peer_t *link_app_live(link_app_t *a);

/*
 * Serving side of a relay room: a peer for from in room, and ACCEPT (the
 * session starts when JOINED arrives).  The command decided to accept.
 * REJECT instead when out of memory; NULL then.
 */
link_peer_t *link_app_accept(link_app_t *a, const char *room,
    const char *from);

/* JOIN a->target now (when registered and no session is live), or again
 * later with back-off (0.25 s doubling to 5 s). */
void link_app_join(link_app_t *a);
void link_app_rejoin_later(link_app_t *a);

/* Free the peers, the relay client and the loop (after the loop ran). */
void link_app_free(link_app_t *a);

/*
 * The relay client of the app (reconnecting when rc->reconnect).  One set
 * of relay callbacks for chat, serve and connect: DATA, PEER_LEFT, the
 * writable signal and the loss of the connection are routed to the peers
 * here; JOINED starts the session of an accepted room, or (a->target)
 * makes the initiator's peer; REGISTERED JOINs a->target; an ERROR is
 * printed naming the relay, our id and the target, and a->single applies
 * (see above).  cbs holds what the command adds (registered, incoming,
 * joined, error, down, unreachable: called with a->ud, after the shared
 * handling, down before the peers are told); an incoming room is
 * rejected when cbs has no incoming().  NULL when out of memory.
 */
link_relay_t *link_app_relay_new(link_app_t *a, const link_relay_cfg_t *rc,
    const link_relay_cbs_t *cbs);

/* A direct connection accepted by a listener (serving side); src names
 * the peer's address (for the per-address limit). */
int link_app_accept_direct(link_app_t *a, link_conn_t *c, const char *src);

/* Drop the oldest unauthenticated direct connection (from src, or any
 * when src is NULL); 1 if one was dropped. */
int link_app_evict_unauth(link_app_t *a, const char *src);

/* An unreachable relay ends the command (see a->single). */
int link_app_unreachable_ends(const link_app_t *a);

/* Live sessions with name. */
int link_app_sessions(link_app_t *a, const char *name);

#endif
