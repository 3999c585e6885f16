/*
 * clawnexus-link: outgoing TCP connections driven by the event loop.
 * Every address of the host is tried in turn within one time budget; the
 * loop keeps serving everything else meanwhile.
 */

#ifndef CNX_LINK_DIAL_H
#define CNX_LINK_DIAL_H

#include "loop.h"
#include "net.h"

typedef struct link_dial_s link_dial_t;

/*
 * The outcome, always called from the loop (never from inside
 * link_dial_start()): c is the connected, non-blocking socket (owned by
 * the callee from now on), or NULL and why a static string ("connection
 * refused", "timed out", ...).  The dial is freed before the call.
 */
typedef void (*link_dial_cb)(void *ud, link_conn_t *c, const char *why);

/*
 * Start connecting to host:port, giving up after timeout_ms.  Host names
 * are resolved with getaddrinfo() (numeric addresses need no lookup).
 * NULL when out of memory.
 */
link_dial_t *link_dial_start(link_loop_t *l, const char *host,
    const char *port, int timeout_ms, link_dial_cb cb, void *ud);

/* Give up without calling back. */
void link_dial_cancel(link_dial_t *d);

#endif
