/*
 * clawnexus-link: the relay client.  One WebSocket (ws:// or wss://) to the
 * relay, the relay protocol on top (REGISTER, JOIN/ACCEPT, DATA, PING),
 * keep-alive, and reconnection with back-off.  Rooms and sessions belong
 * to the caller, which is told about events through callbacks.
 */

#ifndef CNX_LINK_RELAY_CLIENT_H
#define CNX_LINK_RELAY_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "loop.h"
#include "net.h"

typedef struct link_relay_s link_relay_t;

typedef struct {
    /* REGISTERED; binary = the relay accepted binary DATA frames. */
    void (*registered)(void *ud, int binary);
    void (*incoming)(void *ud, const char *room, const char *from);
    /* peer is "" when the relay does not say (v1 relays). */
    void (*joined)(void *ud, const char *room, const char *peer);
    /* Text DATA (payload decoded from its JSON string) or binary DATA. */
    void (*data)(void *ud, const char *room, const uint8_t *p, size_t n,
        int binary);
    void (*peer_left)(void *ud, const char *room);
    void (*error)(void *ud, const char *code, const char *message);
    /* The connection dropped; every room is gone.  A reconnect follows
     * unless the client was stopped. */
    void (*down)(void *ud, const char *why);
    /* The output queue drained below the low-water mark. */
    void (*writable)(void *ud);
    /* A connection attempt failed (one line naming the URL was printed);
     * a retry follows when reconnect is set. */
    void (*unreachable)(void *ud, const char *why);
} link_relay_cbs_t;

typedef struct {
    link_url_t   url;
    const char  *url_text;      /* for messages */
    const char  *ca_file;       /* wss:// trust anchors, NULL = system */
    const char  *id;            /* our claw id */
    link_auth_t *auth;
    int          want_binary;   /* ask for binary DATA frames */
    int          reconnect;     /* reconnect when the connection drops */
} link_relay_cfg_t;

/* After PEER_LEFT without the peer's CLOSE record, how long to wait for
 * our own connection to drop too (a reload closes both sockets), and how
 * long a peer has to come back after a relay connection loss. */
#define LINK_LEFT_GRACE_MS     2000
#define LINK_BACK_MS           30000

#define LINK_RELAY_HIGH_WATER  (4u << 20)   /* stop feeding above this */
#define LINK_RELAY_LOW_WATER   (1u << 20)

link_relay_t *link_relay_new(link_loop_t *l, const link_relay_cfg_t *cfg,
    const link_relay_cbs_t *cbs, void *ud);

/*
 * Start connecting: TCP, TLS and the WebSocket handshake are driven by the
 * loop (10 s in all), then REGISTER is sent.  The outcome arrives as
 * registered() or unreachable().  -1 only when out of memory.
 */
int link_relay_start(link_relay_t *r);

/* Schedule a reconnect with back-off (0.5 s doubling to 30 s). */
void link_relay_retry(link_relay_t *r);

int link_relay_registered(const link_relay_t *r);
/* The close code of the relay's last close frame (1001: reload or
 * restart), 0 when the connection ended without one. */
unsigned link_relay_close_code(const link_relay_t *r);
int link_relay_binary(const link_relay_t *r);

int link_relay_join(link_relay_t *r, const char *target);
int link_relay_accept(link_relay_t *r, const char *room);
int link_relay_reject(link_relay_t *r, const char *room);
/* DATA with a text payload (valid UTF-8), JSON-escaped here. */
int link_relay_send_text(link_relay_t *r, const char *room,
    const char *payload, size_t n);
/* Binary DATA frame (only when link_relay_binary()). */
int link_relay_send_bin(link_relay_t *r, const char *room,
    const uint8_t *p, size_t n);

/*
 * The same without copying: link_relay_reserve_bin() returns where up to
 * n payload bytes go, inside the output queue; link_relay_commit_bin()
 * frames the first n of them and queues the frame (written when enough
 * is queued or at the next turn of the loop).  Any other send in between
 * cancels the reservation.  NULL / -1 when not possible.
 */
uint8_t *link_relay_reserve_bin(link_relay_t *r, const char *room,
    size_t n);
int link_relay_commit_bin(link_relay_t *r, size_t n);

/* Stop (1) or resume (0) reading from the relay (receiver backpressure). */
void link_relay_pause_read(link_relay_t *r, int pause);

/* Bytes queued for the relay and not yet written. */
size_t link_relay_queued(const link_relay_t *r);

/* Send a WebSocket close and drop the connection; no reconnect. */
void link_relay_close(link_relay_t *r);
void link_relay_free(link_relay_t *r);

#endif
