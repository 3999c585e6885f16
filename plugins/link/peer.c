/*
 * clawnexus-link: peers (a session and its streams over one carrier).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link.h"
#include "peer.h"

#define LINK_REJOIN_FIRST_MS  250
#define LINK_REJOIN_MAX_MS    5000

static void peer_gone(link_peer_t *p, int code, const char *why);

static uint8_t *
plain_at(void *ud, size_t n)
{
    link_peer_t *p = ud;

    return p->mux != NULL ? link_mux_plain_at(p->mux, n) : NULL;
}

static void
plain_done(void *ud)
{
    link_peer_t *p = ud;

    if (p->mux != NULL) {
        link_mux_plain_done(p->mux);
    }
}

/* channel callbacks */

static void
ch_ready(link_chan_t *ch, void *ud)
{
    link_peer_t *p = ud;

    (void) ch;
    p->ready = 1;
    p->app->ever_up = 1;
    p->app->rejoin_ms = 0;
    link_loop_cancel(p->app->loop, p->hello_timer);
    p->hello_timer = 0;
    if (p->d != NULL) {
        link_direct_set_bulk(p->d);
    }
    if (p->app->hooks.ready) {
        p->app->hooks.ready(p);
    }
}

static void
ch_record(link_chan_t *ch, const cnx_record_t *rec, void *ud)
{
    link_peer_t *p = ud;

    (void) ch;
    if (p->dead) {
        return;
    }
    if (p->app->hooks.record) {
        p->app->hooks.record(p, rec);
    } else if (p->mux) {
        link_mux_record(p->mux, rec);
    }
}

static void
ch_failed(link_chan_t *ch, int code, const char *why, void *ud)
{
    link_peer_t *p = ud;

    (void) ch;
    peer_gone(p, code, why);
}

static const link_chan_cbs_t chan_cbs = { ch_ready, ch_record, ch_failed };

/* mux callbacks */

static void
mx_done(link_mux_t *m, uint32_t id, int ok, void *ud)
{
    link_peer_t *p = ud;

    (void) m;
    if (p->app->hooks.stream_done) {
        p->app->hooks.stream_done(p, id, ok);
    }
}

static void
mx_opened(link_mux_t *m, uint32_t id, int ok, void *ud)
{
    link_peer_t *p = ud;

    (void) m;
    if (p->app->hooks.opened) {
        p->app->hooks.opened(p, id, ok);
    }
}

static void
mx_pong(link_mux_t *m, void *ud)
{
    link_peer_t *p = ud;

    (void) m;
    if (p->app->hooks.pong) {
        p->app->hooks.pong(p);
    }
}

static const link_mux_cbs_t mux_cbs = { mx_done, mx_opened, mx_pong };

link_peer_t *
link_peer_new(link_app_t *a, int via, const char *name, int initiator)
{
    link_peer_t *p = calloc(1, sizeof(*p));

    if (p == NULL) {
        return NULL;
    }
    p->app = a;
    p->via = via;
    p->initiator = initiator;
    p->t_start = link_now_ms();
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->next = a->peers;
    a->peers = p;
    return p;
}

static int
peer_session(link_peer_t *p)
{
    link_app_t     *a = p->app;
    link_carrier_t  car;

    p->ch = link_chan_new(&a->o->sec, p->name, p->initiator, &chan_cbs, p);
    if (p->ch == NULL) {
        return -1;
    }
    car.c = p;
    if (p->via == LINK_VIA_RELAY) {
        car.ops = &link_carrier_relay;
        car.binary = a->relay && link_relay_binary(a->relay);
    } else {
        /* the name in a direct hello is only a claim */
        link_chan_no_pin(p->ch);
        car.ops = &link_carrier_direct;
        car.binary = 1;
    }
    link_chan_set_carrier(p->ch, &car);
    if (a->hooks.record) {
        return 0;                   /* records go to the command */
    }
    p->mux = link_mux_new(a->loop, p->ch, &car,
                          p->initiator ? NULL : a->forward, &mux_cbs, p);
    if (p->mux == NULL) {
        return -1;
    }
    link_chan_plain(p->ch, plain_at, plain_done, p);
    return 0;
}

static size_t
room_bucket(const char *room)
{
    uint32_t h = 2166136261u;           /* FNV-1a */

    while (*room) {
        h = (h ^ (uint8_t) *room++) * 16777619u;
    }
    return h % LINK_ROOM_BUCKETS;
}

static void
room_unlink(link_peer_t *p)
{
    link_peer_t **pp;

    if (p->room[0] == '\0') {
        return;
    }
    for (pp = &p->app->rooms[room_bucket(p->room)]; *pp != NULL;
         pp = &(*pp)->room_next)
    {
        if (*pp == p) {
            *pp = p->room_next;
            break;
        }
    }
    p->room[0] = '\0';
}

int
link_peer_relay(link_peer_t *p, const char *room, int start)
{
    if (strcmp(p->room, room) != 0) {
        size_t b;

        room_unlink(p);
        snprintf(p->room, sizeof(p->room), "%s", room);
        b = room_bucket(p->room);
        p->room_next = p->app->rooms[b];
        p->app->rooms[b] = p;
    }
    if (p->ch == NULL && peer_session(p) != 0) {
        return -1;
    }
    if (start && !p->started) {
        p->started = 1;
        p->t_start = link_now_ms();
        return link_chan_start(p->ch);
    }
    return 0;
}

static void
d_frame(link_direct_t *d, const uint8_t *b, size_t n, int binary, void *ud)
{
    link_peer_t *p = ud;
    size_t       hl = strlen(LINK_DIRECT_HELLO);

    (void) d;
    if (p->dead) {
        return;
    }
    if (p->hello_wait) {
        char name[256];

        char line[400];

        if (binary || n <= hl || n - hl >= sizeof(name)
            || memcmp(b, LINK_DIRECT_HELLO, hl) != 0)
        {
            snprintf(line, sizeof(line), "direct connection from %s: not a "
                     "hello (not a clawnexus-link endpoint?)", p->src);
            peer_gone(p, LINK_EXIT_SESSION, line);
            return;
        }
        memcpy(name, b + hl, n - hl);
        name[n - hl] = '\0';
        if (!link_id_valid(name)) {
            snprintf(line, sizeof(line), "direct connection from %s: the "
                     "hello names no valid claw id", p->src);
            peer_gone(p, LINK_EXIT_SESSION, line);
            return;
        }
        snprintf(p->name, sizeof(p->name), "%s", name);
        p->hello_wait = 0;
        if (link_app_sessions(p->app, name) > LINK_SESSIONS_PER_PEER) {
            snprintf(line, sizeof(line), "direct connection from %s: "
                     "refused, %s has %d sessions open already", p->src,
                     name, LINK_SESSIONS_PER_PEER);
            peer_gone(p, LINK_EXIT_SESSION, line);
            return;
        }
        if (peer_session(p) != 0 || link_chan_start(p->ch) != 0) {
            snprintf(line, sizeof(line), "direct connection from %s (%s): "
                     "cannot start a session", p->src, name);
            peer_gone(p, LINK_EXIT_SESSION, line);
            return;
        }
        p->started = 1;
        link_debug("direct connection from %s", p->name);
        return;
    }
    if (p->ch) {
        link_chan_input(p->ch, b, n, binary);
    }
}

static void
d_closed(link_direct_t *d, const char *why, void *ud)
{
    link_peer_t *p = ud;
    char         line[512];

    (void) d;
    if (p->initiator && !p->ready) {
        /* the serving side drops a connection it refuses (a changed
         * key, too many sessions) without a word: say where to look */
        snprintf(line, sizeof(line), "direct connection to %s: %s before "
                 "the session was up (refused? the peer's -v output says "
                 "why)", p->name, why);
    } else {
        snprintf(line, sizeof(line), "direct connection %s %s: %s",
                 p->initiator ? "to" : "from",
                 p->name[0] ? p->name : p->src, why);
    }
    peer_gone(p, LINK_EXIT_PEER_LEFT, line);
}

/* The carrier drained: the peer's streams, or the command, go on. */
static void
peer_writable(link_peer_t *p)
{
    if (p->mux) {
        link_mux_writable(p->mux);
    } else if (p->app->hooks.writable) {
        p->app->hooks.writable(p);
    }
}

static void
d_writable(link_direct_t *d, void *ud)
{
    (void) d;
    peer_writable(ud);
}

static const link_direct_cbs_t direct_cbs = { d_frame, d_closed, d_writable };

int
link_peer_direct(link_peer_t *p, link_conn_t *c)
{
    p->d = link_direct_new(p->app->loop, c, &direct_cbs, p);
    if (p->d == NULL) {
        link_conn_close(c);
        return -1;
    }
    if (!p->initiator) {
        p->hello_wait = 1;
        return 0;
    }
    {
        char   hello[300];
        int    n = snprintf(hello, sizeof(hello), "%s%s", LINK_DIRECT_HELLO,
                            p->app->o->id);

        if (link_direct_send(p->d, (const uint8_t *) hello, (size_t) n, 0)
            != 0 || peer_session(p) != 0)
        {
            return -1;
        }
    }
    p->started = 1;
    p->t_start = link_now_ms();
    return link_chan_start(p->ch);
}

void
link_peer_free(link_peer_t *p)
{
    link_app_t   *a = p->app;
    link_peer_t **pp;

    for (pp = &a->peers; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    room_unlink(p);
    link_loop_cancel(a->loop, p->free_timer);
    link_loop_cancel(a->loop, p->hello_timer);
    link_loop_cancel(a->loop, p->left_timer);
    link_mux_free(p->mux);
    link_chan_free(p->ch);
    link_direct_free(p->d);
    free(p);
}

static void
free_fire(link_loop_t *l, void *ud)
{
    link_peer_t *p = ud;

    (void) l;
    p->free_timer = 0;
    link_peer_free(p);
}

void
link_peer_kill(link_peer_t *p)
{
    if (p->dead) {
        return;
    }
    p->dead = 1;
    if (p->d) {
        link_direct_pause_read(p->d, 1);
    }
    p->free_timer = link_loop_timer(p->app->loop, 0, free_fire, p);
}

static void
peer_gone(link_peer_t *p, int code, const char *why)
{
    if (p->dead) {
        return;
    }
    if (p->app->hooks.gone) {
        p->app->hooks.gone(p, code, why);
    }
    link_peer_kill(p);
}

size_t
link_peer_queued(const link_peer_t *p)
{
    if (p->d != NULL) {
        return link_direct_queued(p->d);
    }
    return p->app->relay != NULL ? link_relay_queued(p->app->relay) : 0;
}

link_peer_t *
link_app_find_room(link_app_t *a, const char *room)
{
    link_peer_t *p;

    for (p = a->rooms[room_bucket(room)]; p != NULL; p = p->room_next) {
        if (!p->dead && strcmp(p->room, room) == 0) {
            return p;
        }
    }
    return NULL;
}

static void
link_app_relay_data(link_app_t *a, const char *room, const uint8_t *b,
    size_t n, int binary)
{
    link_peer_t *p = link_app_find_room(a, room);

    if (p != NULL && p->ch != NULL) {
        link_chan_input(p->ch, b, n, binary);
    }
}

static void
left_fire(link_loop_t *l, void *ud)
{
    link_peer_t *p = ud;
    char         line[300];

    (void) l;
    p->left_timer = 0;
    snprintf(line, sizeof(line), "%s left", p->name);
    peer_gone(p, LINK_EXIT_PEER_LEFT, line);
}

/* PEER_LEFT: on a reload the relay may tell us before it closes our own
 * connection; that close (link_app_relay_down()) wins if it comes within
 * LINK_LEFT_GRACE_MS. */
static void
link_app_relay_peer_left(link_app_t *a, const char *room)
{
    link_peer_t *p = link_app_find_room(a, room);

    if (p != NULL && p->left_timer == 0) {
        p->left_timer = link_loop_timer(a->loop, LINK_LEFT_GRACE_MS,
                                        left_fire, p);
    }
}

static void
link_app_relay_down(link_app_t *a)
{
    link_peer_t *p;

    for (p = a->peers; p != NULL; p = p->next) {
        if (!p->dead && p->via == LINK_VIA_RELAY) {
            peer_gone(p, LINK_EXIT_UNREACHABLE, "relay connection lost");
        }
    }
}

static void
link_app_relay_writable(link_app_t *a)
{
    link_peer_t *p;

    for (p = a->peers; p != NULL; p = p->next) {
        if (!p->dead && p->via == LINK_VIA_RELAY) {
            peer_writable(p);
        }
    }
}

link_peer_t *
link_app_live(link_app_t *a)
{
    link_peer_t *p;

    for (p = a->peers; p != NULL; p = p->next) {
        if (!p->dead) {
            return p;
        }
    }
    return NULL;
}

link_peer_t *
link_app_accept(link_app_t *a, const char *room, const char *from)
{
    link_peer_t *p = link_peer_new(a, LINK_VIA_RELAY, from, 0);

    if (p == NULL || link_peer_relay(p, room, 0) != 0
        || link_relay_accept(a->relay, room) != 0)
    {
        if (p != NULL) {
            link_peer_kill(p);
        }
        link_relay_reject(a->relay, room);
        return NULL;
    }
    return p;
}

void
link_app_join(link_app_t *a)
{
    if (a->target == NULL || a->joining || a->relay == NULL
        || !link_relay_registered(a->relay) || link_app_live(a) != NULL)
    {
        return;
    }
    link_debug(a->ever_up ? "joining %s again" : "joining %s", a->target);
    a->joining = 1;
    link_relay_join(a->relay, a->target);
}

static void
rejoin_fire(link_loop_t *l, void *ud)
{
    link_app_t *a = ud;

    (void) l;
    a->rejoin_timer = 0;
    link_app_join(a);
}

void
link_app_rejoin_later(link_app_t *a)
{
    if (a->rejoin_timer) {
        return;
    }
    a->rejoin_ms = a->rejoin_ms ? a->rejoin_ms * 2 : LINK_REJOIN_FIRST_MS;
    if (a->rejoin_ms > LINK_REJOIN_MAX_MS) {
        a->rejoin_ms = LINK_REJOIN_MAX_MS;
    }
    a->rejoin_timer = link_loop_timer(a->loop, a->rejoin_ms, rejoin_fire, a);
}

void
link_app_free(link_app_t *a)
{
    while (a->peers != NULL) {
        link_peer_free(a->peers);
    }
    link_relay_free(a->relay);
    link_loop_free(a->loop);
}

static void
hello_expired(link_loop_t *l, void *ud)
{
    link_peer_t *p = ud;
    char         line[160];

    (void) l;
    p->hello_timer = 0;
    snprintf(line, sizeof(line), "direct connection from %s: no session "
             "within %d s", p->src, LINK_HELLO_MS / 1000);
    peer_gone(p, LINK_EXIT_SESSION, line);
}

static int
unauth(const link_peer_t *p, const char *src)
{
    return !p->dead && !p->ready && p->via == LINK_VIA_DIRECT
           && !p->initiator && (src == NULL || strcmp(p->src, src) == 0);
}

int
link_app_evict_unauth(link_app_t *a, const char *src)
{
    link_peer_t *p, *old = NULL;

    for (p = a->peers; p != NULL; p = p->next) {
        if (unauth(p, src) && (old == NULL || p->t_start < old->t_start)) {
            old = p;
        }
    }
    if (old == NULL) {
        return 0;
    }
    link_debug("dropping the unauthenticated direct connection from %s "
               "(limit reached)", old->src);
    link_peer_free(old);        /* its descriptor is free at once */
    return 1;
}

int
link_app_sessions(link_app_t *a, const char *name)
{
    link_peer_t *p;
    int          n = 0;

    for (p = a->peers; p != NULL; p = p->next) {
        n += !p->dead && strcmp(p->name, name) == 0;
    }
    return n;
}

int
link_app_accept_direct(link_app_t *a, link_conn_t *c, const char *src)
{
    link_peer_t *p;
    int          all = 0, same = 0;

    for (p = a->peers; p != NULL; p = p->next) {
        if (unauth(p, NULL)) {
            all++;
            same += strcmp(p->src, src) == 0;
        }
    }
    if (same >= LINK_UNAUTH_PER_SRC) {
        link_app_evict_unauth(a, src);
    } else if (all >= LINK_UNAUTH_MAX) {
        link_app_evict_unauth(a, NULL);
    }
    p = link_peer_new(a, LINK_VIA_DIRECT, "", 0);
    if (p == NULL) {
        link_conn_close(c);
        return -1;
    }
    snprintf(p->src, sizeof(p->src), "%s", src);
    p->hello_timer = link_loop_timer(a->loop, LINK_HELLO_MS, hello_expired,
                                     p);
    if (link_peer_direct(p, c) != 0) {
        link_peer_kill(p);
        return -1;
    }
    return 0;
}

/* The relay callbacks of every app (ud = the app). */

static void
app_registered(void *ud, int binary)
{
    link_app_t *a = ud;

    a->ever_registered = 1;
    if (a->relay_cbs.registered) {
        a->relay_cbs.registered(a->ud, binary);
    }
    link_app_join(a);
}

static void
app_incoming(void *ud, const char *room, const char *from)
{
    link_app_t *a = ud;

    if (a->relay_cbs.incoming) {
        a->relay_cbs.incoming(a->ud, room, from);
    } else {
        link_relay_reject(a->relay, room);
    }
}

/* JOINED: an accepted room (serving side) or the room of our JOIN. */
static void
app_joined(void *ud, const char *room, const char *peer)
{
    link_app_t  *a = ud;
    link_peer_t *p = link_app_find_room(a, room);
    char         line[300];

    if (p == NULL && a->target != NULL && a->joining
        && (peer[0] == '\0' || strcmp(peer, a->target) == 0))
    {
        a->joining = 0;
        p = link_peer_new(a, LINK_VIA_RELAY, a->target, 1);
        if (p == NULL) {
            link_err("cannot start a session with %s: out of memory",
                     a->target);
            link_loop_stop(a->loop, LINK_EXIT_FAIL);
            return;
        }
    }
    if (p != NULL && !p->started && link_peer_relay(p, room, 1) != 0) {
        snprintf(line, sizeof(line), "cannot start a session with %s",
                 p->name);
        peer_gone(p, LINK_EXIT_SESSION, line);
        return;
    }
    if (a->relay_cbs.joined) {
        a->relay_cbs.joined(a->ud, room, peer);
    }
}

static void
app_data(void *ud, const char *room, const uint8_t *b, size_t n, int binary)
{
    link_app_relay_data(ud, room, b, n, binary);
}

static void
app_peer_left(void *ud, const char *room)
{
    link_app_relay_peer_left(ud, room);
}

/*
 * A relay ERROR, named with the relay, our id and the target.  REPLACED
 * and NOT_REGISTERED: the relay client registers again when long-running.
 */
static void
app_error(void *ud, const char *code, const char *message)
{
    link_app_t *a = ud;
    int         offline = strcmp(code, "TARGET_OFFLINE") == 0;

    link_common_relay_error(a->o, a->target, code, message);
    if (a->single && link_app_live(a) == NULL) {
        a->joining = 0;
        if (offline && a->target != NULL && a->ever_up && a->reconnect) {
            /* it was there before (a relay restart): wait for it */
            link_app_rejoin_later(a);
        } else if (offline || strcmp(code, "AUTH_FAILED") == 0
                   || (!a->reconnect && strcmp(code, "NOT_REGISTERED") == 0))
        {
            link_loop_stop(a->loop, LINK_EXIT_RELAY);
        }
    }
    if (a->relay_cbs.error) {
        a->relay_cbs.error(a->ud, code, message);
    }
}

static void
app_down(void *ud, const char *why)
{
    link_app_t *a = ud;

    link_err("relay connection lost (%s)%s", why,
             a->reconnect ? "; reconnecting" : "");
    a->joining = 0;
    if (a->relay_cbs.down) {
        a->relay_cbs.down(a->ud, why);
    }
    link_app_relay_down(a);
}

static void
app_writable(void *ud)
{
    link_app_relay_writable(ud);
}

int
link_app_unreachable_ends(const link_app_t *a)
{
    return a->single && (!a->reconnect || !a->ever_registered);
}

static void
app_unreachable(void *ud, const char *why)
{
    link_app_t *a = ud;

    if (a->relay_cbs.unreachable) {
        a->relay_cbs.unreachable(a->ud, why);
    }
    if (link_app_unreachable_ends(a)) {
        link_loop_stop(a->loop, LINK_EXIT_UNREACHABLE);
    }
}

static const link_relay_cbs_t app_relay_cbs = {
    .registered = app_registered, .incoming = app_incoming,
    .joined = app_joined, .data = app_data, .peer_left = app_peer_left,
    .error = app_error, .down = app_down, .writable = app_writable,
    .unreachable = app_unreachable
};

link_relay_t *
link_app_relay_new(link_app_t *a, const link_relay_cfg_t *rc,
    const link_relay_cbs_t *cbs)
{
    a->relay_cbs = *cbs;
    a->reconnect = rc->reconnect;
    a->relay = link_relay_new(a->loop, rc, &app_relay_cbs, a);
    return a->relay;
}
