/*
 * clawnexus-link: the direct carrier, a TCP connection between two
 * clawnexus-link endpoints (port 7473 by default, typically over a
 * WireGuard address).  It carries the same session payloads as a relay
 * room, each framed as
 *     u32 big-endian: bit 31 = binary payload, bits 0-30 = length
 *     payload bytes
 * The connecting side's first frame is the text
 *     "clawnexus-direct/1 " CLAW_ID
 * naming itself (the name its key is pinned under).
 */

#ifndef CNX_LINK_DIRECT_H
#define CNX_LINK_DIRECT_H

#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "net.h"

#define LINK_DIRECT_PORT      "7473"
#define LINK_DIRECT_HELLO     "clawnexus-direct/1 "
#define LINK_DIRECT_FRAME_MAX (1u << 20)

typedef struct link_direct_s link_direct_t;

typedef struct {
    void (*frame)(link_direct_t *d, const uint8_t *p, size_t n, int binary,
        void *ud);
    void (*closed)(link_direct_t *d, const char *why, void *ud);
    void (*writable)(link_direct_t *d, void *ud);
} link_direct_cbs_t;

link_direct_t *link_direct_new(link_loop_t *l, link_conn_t *c,
    const link_direct_cbs_t *cbs, void *ud);
void link_direct_free(link_direct_t *d);

int link_direct_send(link_direct_t *d, const uint8_t *p, size_t n,
    int binary);
size_t link_direct_queued(const link_direct_t *d);
void link_direct_pause_read(link_direct_t *d, int pause);
void link_direct_set_ud(link_direct_t *d, void *ud);
/* The peer is authenticated: read in large chunks, accept frames up to
 * LINK_DIRECT_FRAME_MAX (before: 4 KiB reads, 128 KiB frames). */
void link_direct_set_bulk(link_direct_t *d);

#endif
