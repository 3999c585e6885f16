/*
 * clawnexus-link: the direct carrier, a peer's own TCP connection
 * (direct.c frames the payloads).
 */

#include "carrier.h"
#include "direct.h"
#include "peer.h"

static int
direct_tx(void *carrier, const uint8_t *b, size_t n, int binary)
{
    link_peer_t *p = carrier;

    if (p->dead || p->d == NULL) {
        return -1;
    }
    return link_direct_send(p->d, b, n, binary);
}

static size_t
direct_queued(void *carrier)
{
    link_peer_t *p = carrier;

    return p->d ? link_direct_queued(p->d) : 0;
}

static void
direct_pause(void *carrier, int pause)
{
    link_peer_t *p = carrier;

    if (p->d) {
        link_direct_pause_read(p->d, pause);
    }
}

const link_carrier_ops_t link_carrier_direct = {
    .send = direct_tx, .queued = direct_queued, .pause_read = direct_pause
};
