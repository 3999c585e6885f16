/*
 * clawnexus-link: the relay carrier, a peer's room on the app's relay
 * connection (one connection carries every room of the process).
 */

#include "carrier.h"
#include "peer.h"
#include "relay_client.h"

static int
relay_tx(void *carrier, const uint8_t *b, size_t n, int binary)
{
    link_peer_t *p = carrier;

    if (p->dead || p->app->relay == NULL) {
        return -1;
    }
    if (binary) {
        return link_relay_send_bin(p->app->relay, p->room, b, n);
    }
    return link_relay_send_text(p->app->relay, p->room, (const char *) b, n);
}

static uint8_t *
relay_reserve(void *carrier, size_t n)
{
    link_peer_t *p = carrier;

    if (p->dead || p->app->relay == NULL) {
        return NULL;
    }
    return link_relay_reserve_bin(p->app->relay, p->room, n);
}

static int
relay_commit(void *carrier, size_t n)
{
    link_peer_t *p = carrier;

    if (p->dead || p->app->relay == NULL) {
        return -1;
    }
    return link_relay_commit_bin(p->app->relay, n);
}

static size_t
relay_queued(void *carrier)
{
    link_peer_t *p = carrier;

    return p->app->relay ? link_relay_queued(p->app->relay) : 0;
}

static void
relay_pause(void *carrier, int pause)
{
    link_peer_t *p = carrier;
    link_app_t  *a = p->app;

    a->relay_paused += pause ? 1 : -1;
    if (a->relay) {
        link_relay_pause_read(a->relay, a->relay_paused > 0);
    }
}

const link_carrier_ops_t link_carrier_relay = {
    .send = relay_tx, .reserve = relay_reserve, .commit = relay_commit,
    .queued = relay_queued, .pause_read = relay_pause
};
