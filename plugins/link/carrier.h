/*
 * clawnexus-link: a carrier moves a session's payloads to the peer: a
 * relay room (carrier_relay.c) or a direct connection (carrier_direct.c).
 * One table of operations, given once to the channel (sending) and the
 * mux (backpressure).
 */

#ifndef CNX_LINK_CARRIER_H
#define CNX_LINK_CARRIER_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    /* One payload (binary: raw bytes, else text).  0 or -1. */
    int      (*send)(void *c, const uint8_t *p, size_t n, int binary);
    /* Optional, no copy: where up to n payload bytes go inside the
     * carrier's output buffer (NULL when not possible); commit sends the
     * first n of them; nothing else is sent in between. */
    uint8_t *(*reserve)(void *c, size_t n);
    int      (*commit)(void *c, size_t n);
    /* Bytes queued and not yet written (backpressure); optional. */
    size_t   (*queued)(void *c);
    /* Stop (1) / resume (0) reading from the carrier; optional. */
    void     (*pause_read)(void *c, int pause);
} link_carrier_ops_t;

typedef struct {
    const link_carrier_ops_t *ops;
    void                     *c;
    int                       binary;       /* can carry raw bytes */
} link_carrier_t;

/* The two carriers of a peer (c = its link_peer_t). */
extern const link_carrier_ops_t link_carrier_relay;
extern const link_carrier_ops_t link_carrier_direct;

#endif
