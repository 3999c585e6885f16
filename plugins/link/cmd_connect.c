/*
 * clawnexus-link connect: open streams to a name served by
 * `clawnexus-link serve`.  Direct first (3-second timeout), then the
 * relay.  Carries stdin/stdout (ssh ProxyCommand) or, with --local, every
 * connection accepted on a local port.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "names_export.h"
#include "link_config.h"
#include "link.h"
#include "loop.h"
#include "net.h"
#include "peer.h"
#include "dial.h"
#include "relay_client.h"
#include "state.h"

#define DIRECT_TIMEOUT_MS  3000     /* TCP and session handshake */
#define SETUP_TIMEOUT_MS   30000    /* stdin/stdout: give up after this */
#define DRAIN_MS           2000     /* at the end: let the last records go */

typedef struct {
    link_app_t   app;
    const char  *target;
    const char  *local;
    const char  *direct;
    char         direct_buf[LINK_CFG_STR];
    int          lfd;
    link_peer_t *peer;          /* the live session, or NULL */
    int          via;
    int          announced;
    int64_t      t_ping;
    uint32_t     stdio_stream;
    link_common_t *o;
    const char  *direct_addr;   /* the direct attempt, NULL when none */
    link_dial_t *dial;
    uint64_t     direct_timer;
    int64_t      direct_t0;
    int          direct_trying; /* until a direct session is ready */
    uint64_t     drain_timer;
    int64_t      drain_until;
    int          done_code;
} connect_t;

static void start_relay(connect_t *c);

static void
connect_usage(FILE *f)
{
    fprintf(f,
        "Usage: %s connect --id CLAW_ID [--relay URL (--token-file F |\n"
        "                     --secret-file F)] [--direct HOST:PORT]"
        " [--local ADDR:PORT]\n"
        "                     TARGET\n"
        "\n"
        "Open a stream to the service TARGET publishes with `serve`.\n"
        "Without --local the stream is stdin/stdout (usable as an ssh\n"
        "ProxyCommand); with --local every connection accepted on\n"
        "ADDR:PORT becomes a stream.\n"
        "\n"
        "Direct first: when an address for TARGET is known (--direct, the\n"
        "config's edge.peers, the clawnexus-wg export -- a peer with a\n"
        "recent handshake first, none whose handshake is 'never' -- or\n"
        "the tailnet via `tailscale status --json`), TCP and the session\n"
        "handshake get 3 seconds; on refusal, timeout, a peer that is not\n"
        "an endpoint or has another key, or when the config marks TARGET\n"
        "cross_network, the relay is used (-v shows each step).  One line\n"
        "on stderr says which path was taken, e.g.\n"
        "  office.claw → relay → established (encrypted v2, 3 ms RTT)\n"
        "\n"
        "Exit status: 0 the stream ended cleanly, 1 the stream was reset,\n"
        "3 the peer left, 5 unknown name / bad address, 6 unreachable,\n"
        "7 relay ERROR, 8 session/authentication failure.\n"
        "\n"
        "  --direct HOST:PORT  TARGET's direct address\n"
        "  --local ADDR:PORT   listen here instead of using stdin/stdout\n"
        "  --export-file F     clawnexus-wg export JSON (default\n"
        "                      " LINK_EXPORT_DEFAULT " when present;\n"
        "                      --names-file is its older name)\n"
        "  --no-tailscale      do not ask `tailscale status --json`\n"
        LINK_COMMON_HELP
        "  --help              this text\n", LINK_PROG);
}

static void
local_io(link_loop_t *l, int fd, int revents, void *ud)
{
    connect_t *c = ud;
    int        cfd;

    (void) l;
    (void) revents;
    for ( ;; ) {
        cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (cfd < 0) {
            return;
        }
        if (c->peer == NULL || !link_chan_ready(c->peer->ch)) {
            close(cfd);             /* no session right now */
            continue;
        }
        if (link_mux_open(c->peer->mux, cfd, cfd) == 0) {
            link_err("cannot open a stream to %s", c->target);
        }
    }
}

static void
hook_ready(link_peer_t *p)
{
    connect_t *c = p->app->ud;

    if (p->via == LINK_VIA_DIRECT && c->direct_trying) {
        c->direct_trying = 0;
        link_loop_cancel(c->app.loop, c->direct_timer);
        c->direct_timer = 0;
        link_debug("direct %s: session up after %ld ms", c->direct_addr,
                   (long) (link_now_ms() - c->direct_t0));
    }
    c->t_ping = link_now_ms();
    link_mux_ping(p->mux);
}

static void
hook_pong(link_peer_t *p)
{
    connect_t *c = p->app->ud;
    long       rtt = (long) (link_now_ms() - c->t_ping);
    char       detail[64];
    const char *path = p->via == LINK_VIA_DIRECT ? "direct" : "relay";

    if (!c->announced) {
        c->announced = 1;
        fprintf(stderr, "%s → %s → established (encrypted v%d, %ld ms RTT)\n",
                c->target, path, link_chan_version(p->ch), rtt);
        snprintf(detail, sizeof(detail), "v%d %ldms",
                 link_chan_version(p->ch), rtt);
        link_state_record(c->target, path, detail);
        if (c->local == NULL) {
            c->stdio_stream = link_mux_open(p->mux, 0, 1);
            if (c->stdio_stream == 0) {
                link_err("cannot open a stream to %s", c->target);
                link_loop_stop(c->app.loop, LINK_EXIT_FAIL);
            }
        } else if (c->lfd >= 0) {
            link_loop_events(c->app.loop, c->lfd, POLLIN);
        }
    }
}

/* The end: stop once the carrier has sent what is queued (or after
 * DRAIN_MS), so that the last records and the FIN reach the peer. */
static void
drain_fire(link_loop_t *l, void *ud)
{
    connect_t *c = ud;

    c->drain_timer = 0;
    if (c->peer == NULL || link_peer_queued(c->peer) == 0
        || link_now_ms() >= c->drain_until)
    {
        link_loop_stop(l, c->done_code);
        return;
    }
    c->drain_timer = link_loop_timer(l, 10, drain_fire, c);
}

static void
hook_stream_done(link_peer_t *p, uint32_t id, int ok)
{
    connect_t *c = p->app->ud;

    if (c->local == NULL && id == c->stdio_stream && !c->drain_timer) {
        c->done_code = ok ? LINK_EXIT_OK : LINK_EXIT_FAIL;
        c->drain_until = link_now_ms() + DRAIN_MS;
        c->drain_timer = link_loop_timer(c->app.loop, 0, drain_fire, c);
    }
}

static void
hook_opened(link_peer_t *p, uint32_t id, int ok)
{
    connect_t *c = p->app->ud;

    if (!ok) {
        link_err("%s refused stream %u (its forward target is down?)",
                 c->target, (unsigned) id);
    }
}

/* The direct attempt failed: the relay, or the end when there is none. */
static void
direct_failed(connect_t *c, int code, const char *why)
{
    c->direct_trying = 0;
    link_loop_cancel(c->app.loop, c->direct_timer);
    c->direct_timer = 0;
    link_dial_cancel(c->dial);
    c->dial = NULL;
    if (c->peer != NULL) {
        link_peer_kill(c->peer);
        c->peer = NULL;
    }
    if (c->o->relay == NULL) {
        link_err("%s: direct %s: %s, and no relay configured", c->target,
                 c->direct_addr, why);
        link_state_record(c->target, "offline", c->direct_addr);
        link_loop_stop(c->app.loop, code == LINK_EXIT_SESSION
                                    ? code : LINK_EXIT_UNREACHABLE);
        return;
    }
    fprintf(stderr, "%s: %s: direct %s: %s; trying the relay\n", LINK_PROG,
            c->target, c->direct_addr, why);
    start_relay(c);
}

static void
direct_expired(link_loop_t *l, void *ud)
{
    connect_t *c = ud;

    (void) l;
    c->direct_timer = 0;
    direct_failed(c, LINK_EXIT_UNREACHABLE, c->peer != NULL
                  ? "no session within 3 s (not a clawnexus-link endpoint?)"
                  : "timed out");
}

static void
direct_dialed(void *ud, link_conn_t *conn, const char *why)
{
    connect_t *c = ud;

    c->dial = NULL;
    if (conn == NULL) {
        direct_failed(c, LINK_EXIT_UNREACHABLE, why);
        return;
    }
    link_debug("direct %s: TCP connected after %ld ms; session handshake",
               c->direct_addr, (long) (link_now_ms() - c->direct_t0));
    c->via = LINK_VIA_DIRECT;
    c->peer = link_peer_new(&c->app, LINK_VIA_DIRECT, c->target, 1);
    if (c->peer == NULL) {
        link_conn_close(conn);
        direct_failed(c, LINK_EXIT_FAIL, "out of memory");
        return;
    }
    if (link_peer_direct(c->peer, conn) != 0) {
        direct_failed(c, LINK_EXIT_FAIL, "cannot start a session");
    }
}

static int
start_direct(connect_t *c, const char *addr)
{
    char host[LINK_HOST_MAX], port[8];

    if (link_hostport_parse(addr, host, sizeof(host), port,
                            sizeof(port)) != 0)
    {
        link_err("bad direct address '%s' for %s", addr, c->target);
        return LINK_EXIT_ADDR;
    }
    c->direct_addr = addr;
    c->direct_trying = 1;
    c->direct_t0 = link_now_ms();
    link_debug("%s: trying direct %s (%d s for TCP and the session)",
               c->target, addr, DIRECT_TIMEOUT_MS / 1000);
    c->dial = link_dial_start(c->app.loop, host, port, DIRECT_TIMEOUT_MS,
                              direct_dialed, c);
    c->direct_timer = link_loop_timer(c->app.loop, DIRECT_TIMEOUT_MS,
                                      direct_expired, c);
    return c->dial != NULL && c->direct_timer ? 0 : LINK_EXIT_FAIL;
}

static void
hook_gone(link_peer_t *p, int code, const char *why)
{
    connect_t *c = p->app->ud;

    if (c->peer != NULL && p != c->peer) {
        return;                     /* an earlier session, already over */
    }
    if (p->via == LINK_VIA_DIRECT && c->direct_trying) {
        c->peer = NULL;             /* being freed by the caller */
        direct_failed(c, code, why);
        return;
    }
    c->peer = NULL;
    link_err("%s", why);
    if (c->local == NULL || code == LINK_EXIT_SESSION) {
        link_loop_stop(c->app.loop, code);
        return;
    }
    /* --local: streams are gone; a new session is made when possible */
    c->announced = 0;
    if (c->lfd >= 0) {
        link_loop_events(c->app.loop, c->lfd, 0);
    }
    if (c->via == LINK_VIA_RELAY) {
        /* ask for the target again later (it may be reconnecting too) */
        link_app_rejoin_later(&c->app);
    }
}

/* relay callbacks: what connect adds to the shared ones (peer.c) */

static void
on_joined(void *ud, const char *room, const char *peer)
{
    connect_t *c = ud;

    (void) peer;
    if (c->peer == NULL) {
        c->peer = link_app_find_room(&c->app, room);
    }
}

static void
on_error(void *ud, const char *code, const char *message)
{
    connect_t *c = ud;

    (void) message;
    if (strcmp(code, "TARGET_OFFLINE") == 0) {
        link_state_record(c->target, "offline", "relay: target offline");
    }
}

static void
on_unreachable(void *ud, const char *why)
{
    connect_t *c = ud;

    (void) why;
    if (link_app_unreachable_ends(&c->app)) {
        link_state_record(c->target, "offline", "relay unreachable");
    }
}

static const link_relay_cbs_t connect_relay_cbs = {
    .joined = on_joined, .error = on_error, .unreachable = on_unreachable
};

static void
start_relay(connect_t *c)
{
    link_relay_cfg_t rc;

    c->via = LINK_VIA_RELAY;
    link_common_relay_cfg(c->o, &rc, c->local != NULL);
    if (link_app_relay_new(&c->app, &rc, &connect_relay_cbs) == NULL
        || link_relay_start(c->app.relay) != 0)
    {
        link_err("out of memory");
        link_loop_stop(c->app.loop, LINK_EXIT_FAIL);
    }
}

static void
setup_expired(link_loop_t *l, void *ud)
{
    connect_t *c = ud;

    if (!c->announced) {
        link_err("%s: no session within %d s", c->target,
                 SETUP_TIMEOUT_MS / 1000);
        link_loop_stop(l, LINK_EXIT_UNREACHABLE);
    }
}

/* Where TARGET may be reached directly, or NULL; *cross set if marked. */
static const char *
direct_address(connect_t *c, link_common_t *o, int *cross)
{
    const link_peer_cfg_t *pc = link_config_peer(&o->cfg, c->target);

    *cross = pc != NULL && pc->cross_network;
    if (c->direct != NULL) {
        return c->direct;
    }
    if (*cross) {
        return NULL;
    }
    if (pc != NULL && pc->direct[0]) {
        return pc->direct;
    }
    return link_direct_lookup(o->export_file, c->target, !o->no_tailscale,
                              c->direct_buf, sizeof(c->direct_buf));
}

int
cmd_connect(int argc, char **argv)
{
    static const struct option opts[] = {
        LINK_COMMON_OPTS,
        { "local",  required_argument, NULL, 'l' },
        { "direct", required_argument, NULL, 'd' },
        { "help",   no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    link_common_t    o;
    connect_t        c;
    const char      *addr, *why;
    char             host[LINK_HOST_MAX], port[8];
    int              ch, code, cross = 0;

    memset(&o, 0, sizeof(o));
    memset(&c, 0, sizeof(c));
    c.lfd = -1;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (link_common_opt(&o, ch, optarg)) {
            continue;
        }
        switch (ch) {
        case 'l': c.local = optarg; break;
        case 'd': c.direct = optarg; break;
        case 'h': connect_usage(stdout); return LINK_EXIT_OK;
        default:  link_usage_hint("connect"); return LINK_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        link_err("connect: needs exactly one TARGET");
        link_usage_hint("connect");
        return LINK_EXIT_USAGE;
    }
    c.target = argv[optind];
    if (!link_id_valid(c.target)) {
        link_err("'%s' is not a valid claw id", c.target);
        return LINK_EXIT_ADDR;
    }
    if (c.direct != NULL
        && link_hostport_parse(c.direct, host, sizeof(host), port,
                               sizeof(port)) != 0)
    {
        link_err("--direct: '%s' is not HOST:PORT", c.direct);
        return LINK_EXIT_ADDR;
    }
    code = link_common_setup(&o, 0);
    if (code != 0) {
        link_common_wipe(&o);
        return code;
    }
    c.app.o = &o;
    c.o = &o;
    c.app.ud = &c;
    c.app.single = 1;
    c.app.target = c.target;
    c.app.hooks.ready = hook_ready;
    c.app.hooks.pong = hook_pong;
    c.app.hooks.gone = hook_gone;
    c.app.hooks.stream_done = hook_stream_done;
    c.app.hooks.opened = hook_opened;
    c.app.loop = link_loop_new();
    if (c.app.loop == NULL) {
        return LINK_EXIT_FAIL;
    }
    if (c.local != NULL) {
        c.lfd = link_tcp_listen(c.local, &why);
        if (c.lfd < 0) {
            link_err("--local %s: %s", c.local, why);
            code = LINK_EXIT_ADDR;
            goto out;
        }
        /* accept only once a session is up */
        link_loop_watch(c.app.loop, c.lfd, 0, local_io, &c);
    }

    addr = direct_address(&c, &o, &cross);
    if (addr == NULL && o.relay == NULL) {
        link_err("unknown name %s: no direct address and no relay "
                 "configured", c.target);
        code = LINK_EXIT_ADDR;
        goto out;
    }
    if (cross && c.direct == NULL) {
        link_debug("%s is marked cross_network: using the relay", c.target);
    }
    if (addr != NULL) {
        code = start_direct(&c, addr);
        if (code != 0) {
            goto out;
        }
    } else {
        start_relay(&c);
    }
    link_common_stop_on_signals(c.app.loop);
    if (c.local == NULL) {
        link_loop_timer(c.app.loop, SETUP_TIMEOUT_MS, setup_expired, &c);
    }
    code = link_loop_run(c.app.loop);
out:
    link_dial_cancel(c.dial);
    if (c.lfd >= 0) {
        close(c.lfd);
    }
    link_app_free(&c.app);
    link_common_wipe(&o);
    return code;
}
