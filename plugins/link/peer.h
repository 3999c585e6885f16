/*
 * clawnexus-link: a peer is one channel (session) plus its streams, over a
 * relay room or a direct connection.  serve keeps many, connect one.
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
    /* The peer is going away (session failure, peer left, carrier lost). */
    void (*gone)(link_peer_t *p, int code, const char *why);
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

/* Free the peers, the relay client and the loop (after the loop ran). */
void link_app_free(link_app_t *a);

/*
 * The relay client of the app.  DATA, PEER_LEFT, the writable signal and
 * the loss of the connection are routed to the peers here (one set of
 * relay callbacks for serve and connect); cbs holds what the command
 * decides itself (registered, incoming, joined, error, unreachable, and a
 * down notice before the peers are told), called with a->ud.  NULL when
 * out of memory.
 */
link_relay_t *link_app_relay_new(link_app_t *a, const link_relay_cfg_t *rc,
    const link_relay_cbs_t *cbs);

/* A direct connection accepted by a listener (serving side); src names
 * the peer's address (for the per-address limit). */
int link_app_accept_direct(link_app_t *a, link_conn_t *c, const char *src);

/* Drop the oldest unauthenticated direct connection (from src, or any
 * when src is NULL); 1 if one was dropped. */
int link_app_evict_unauth(link_app_t *a, const char *src);

/* Live sessions with name. */
int link_app_sessions(link_app_t *a, const char *name);

#endif
