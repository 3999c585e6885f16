/*
 * clawnexus-link: TCP streams multiplexed over one channel.
 *
 * Inside the session, stream records (cnx_record_t CNX_RECORD_STREAM) carry
 * a stream id and flags:
 *   OPEN   the connecting side opens stream id (ids > 0, chosen by it);
 *          the serving side answers OPEN once its forward connection is
 *          up, or RESET if it failed
 *   (none) bytes of the stream
 *   FIN    the sender will send no more bytes (half close)
 *   RESET  the stream is aborted
 *   WINDOW with OPEN: the sender uses per-stream windows (the serving side
 *          answers OPEN|WINDOW when it does too); alone: credit, the body
 *          a u32 big-endian byte count written to the local side
 * Stream 0 is an echo: OPEN on stream 0 asks the peer to answer FIN on
 * stream 0 (used to measure the round-trip time).
 */

#ifndef CNX_LINK_MUX_H
#define CNX_LINK_MUX_H

#include <stddef.h>
#include <stdint.h>

#include "chan.h"
#include "loop.h"

typedef struct link_mux_s link_mux_t;

/* Streams one session may have open; more OPENs are answered RESET. */
#define LINK_MUX_MAX_STREAMS  256

typedef struct {
    /* A stream ended (ok: both directions finished cleanly). */
    void (*stream_done)(link_mux_t *m, uint32_t id, int ok, void *ud);
    /* The first answer to an OPEN we sent (ok = OPEN, 0 = RESET). */
    void (*opened)(link_mux_t *m, uint32_t id, int ok, void *ud);
    /* Echo answer on stream 0. */
    void (*pong)(link_mux_t *m, void *ud);
} link_mux_cbs_t;

/*
 * forward: "HOST:PORT" the serving side connects each OPENed stream to, or
 * NULL on the connecting side (an OPEN from the peer is then refused).
 */
link_mux_t *link_mux_new(link_loop_t *l, link_chan_t *ch,
    const link_carrier_t *car, const char *forward,
    const link_mux_cbs_t *cbs, void *ud);
void link_mux_free(link_mux_t *m);      /* closes all stream fds */

/* Hand a record of the channel to the mux. */
void link_mux_record(link_mux_t *m, const cnx_record_t *rec);

/* For link_chan_plain(): decrypt a record's body where its stream keeps
 * its pending bytes. */
uint8_t *link_mux_plain_at(link_mux_t *m, size_t n);
void link_mux_plain_done(link_mux_t *m);

/* Open a stream carried by rfd/wfd (equal for a socket); returns its id
 * or 0.  The fds belong to the mux from now on. */
uint32_t link_mux_open(link_mux_t *m, int rfd, int wfd);

/* Send an echo request on stream 0. */
int link_mux_ping(link_mux_t *m);

/* The carrier drained: resume reading the streams. */
void link_mux_writable(link_mux_t *m);

size_t link_mux_count(const link_mux_t *m);

/* Abort every stream (RESET to the peer if possible). */
void link_mux_reset_all(link_mux_t *m);

#endif
