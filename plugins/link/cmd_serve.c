/*
 * clawnexus-link serve: publish a local TCP service under a claw id.  Every
 * peer that joins through the relay, or connects directly, gets its own
 * session; every stream it opens is carried to --forward.
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
#include "link.h"
#include "loop.h"
#include "net.h"
#include "peer.h"
#include "relay_client.h"
#include "state.h"

#define SERVE_PAUSE_MS      1000    /* accept nothing after EMFILE */
#define SERVE_ACCEPT_BATCH  64      /* accepts per wakeup */
#define SERVE_FD_RESERVE    64      /* descriptors listeners leave free */

typedef struct {
    link_app_t  app;
    int         lfd;
    const char *listen;
    char        listen_buf[LINK_HOST_MAX + 16];
    uint64_t    pause_timer;
    int64_t     last_warn;
    int         fd_reserve_at;      /* accepted fds from here on: reserve */
} serve_t;

static void
serve_usage(FILE *f)
{
    fprintf(f,
        "Usage: %s serve --id CLAW_ID --forward HOST:PORT [--relay URL\n"
        "                   (--token-file F | --secret-file F)]"
        " [--listen ADDR[:PORT]]\n"
        "\n"
        "Register CLAW_ID on the relay, accept every peer that joins it,\n"
        "and carry each stream a peer opens to HOST:PORT (for example the\n"
        "OpenClaw gateway on 127.0.0.1:18789).  With --listen, also accept\n"
        "direct connections from other clawnexus-link endpoints on\n"
        "ADDR:PORT (port 7473 when omitted), typically a WireGuard address.\n"
        "Runs until interrupted; reconnects to the relay when it drops.\n"
        "\n"
        "  --forward HOST:PORT the local service\n"
        "  --listen ADDR[:PORT] direct listener (default port 7473)\n"
        LINK_COMMON_HELP
        "  --help              this text\n", LINK_PROG);
}

static void
hook_gone(link_peer_t *p, int code, const char *why)
{
    (void) code;
    link_debug("%s", why);
    (void) p;
}

static void
hook_ready(link_peer_t *p)
{
    link_debug("%s: session v%d via %s", p->name, link_chan_version(p->ch),
               p->via == LINK_VIA_DIRECT ? "direct" : "relay");
}

/* relay callbacks: what serve adds to the shared ones (peer.c) */

static void
on_registered(void *ud, int binary)
{
    serve_t *s = ud;

    fprintf(stderr, "%s: serving %s on %s%s\n", LINK_PROG, s->app.o->id,
            s->app.o->relay, binary ? " (binary frames)" : "");
}

static void
on_incoming(void *ud, const char *room, const char *from)
{
    serve_t *s = ud;

    if (!link_id_valid(from)) {
        link_relay_reject(s->app.relay, room);
        return;
    }
    if (link_app_sessions(&s->app, from) >= LINK_SESSIONS_PER_PEER) {
        link_debug("rejecting %s: %d sessions open already", from,
                   LINK_SESSIONS_PER_PEER);
        link_relay_reject(s->app.relay, room);
        return;
    }
    link_app_accept(&s->app, room, from);
}

static const link_relay_cbs_t serve_relay_cbs = {
    .registered = on_registered, .incoming = on_incoming
};

static void
listen_resume(link_loop_t *l, void *ud)
{
    serve_t *s = ud;

    s->pause_timer = 0;
    link_loop_events(l, s->lfd, POLLIN);
}

/* Stop accepting for a while (out of descriptors) instead of spinning. */
static void
listen_pause(serve_t *s, const char *why)
{
    if (s->pause_timer) {
        return;
    }
    if (link_now_ms() - s->last_warn > 60000) {
        s->last_warn = link_now_ms();
        link_err("warning: --listen %s: %s; not accepting for %d ms",
                 s->listen, why, SERVE_PAUSE_MS);
    }
    link_loop_events(s->app.loop, s->lfd, 0);
    s->pause_timer = link_loop_timer(s->app.loop, SERVE_PAUSE_MS,
                                     listen_resume, s);
}

static void
listen_io(link_loop_t *l, int fd, int revents, void *ud)
{
    serve_t                 *s = ud;
    struct sockaddr_storage  sa;
    socklen_t                sl;
    link_conn_t             *c;
    char                     src[64];
    int                      cfd, n;

    (void) l;
    (void) revents;
    for (n = 0; n < SERVE_ACCEPT_BATCH; n++) {
        sl = sizeof(sa);
        cfd = accept4(fd, (struct sockaddr *) &sa, &sl, SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS
                || errno == ENOMEM)
            {
                /* make room for authenticated peers, then back off */
                link_app_evict_unauth(&s->app, NULL);
                listen_pause(s, strerror(errno));
            }
            return;
        }
        if (cfd >= s->fd_reserve_at) {
            /* the last descriptors are kept for the relay, forward
             * targets and authenticated peers */
            if (!link_app_evict_unauth(&s->app, NULL)) {
                close(cfd);
                listen_pause(s, "descriptor reserve reached");
                return;
            }
        }
        link_addr_text(&sa, sl, src, sizeof(src));
        c = link_conn_from_fd(cfd);
        if (c == NULL) {
            close(cfd);
            continue;
        }
        link_app_accept_direct(&s->app, c, src);
    }
}

int
cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        LINK_COMMON_OPTS,
        { "forward", required_argument, NULL, 'f' },
        { "listen",  required_argument, NULL, 'l' },
        { "help",    no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    link_common_t    o;
    link_relay_cfg_t rc;
    serve_t          s;
    char             host[LINK_HOST_MAX], port[8];
    const char      *why;
    int              c, code;

    memset(&o, 0, sizeof(o));
    memset(&s, 0, sizeof(s));
    s.lfd = -1;
    s.last_warn = -60001;
    s.fd_reserve_at = link_fd_limit() - SERVE_FD_RESERVE;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (link_common_opt(&o, c, optarg)) {
            continue;
        }
        switch (c) {
        case 'f': s.app.forward = optarg; break;
        case 'l': s.listen = optarg; break;
        case 'h': serve_usage(stdout); return LINK_EXIT_OK;
        default:  link_usage_hint("serve"); return LINK_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        link_err("serve: unexpected argument '%s'", argv[optind]);
        return LINK_EXIT_USAGE;
    }
    if (s.app.forward == NULL) {
        link_err("serve: --forward HOST:PORT is required");
        return LINK_EXIT_USAGE;
    }
    if (link_hostport_parse(s.app.forward, host, sizeof(host), port,
                            sizeof(port)) != 0)
    {
        link_err("--forward: '%s' is not HOST:PORT", s.app.forward);
        return LINK_EXIT_ADDR;
    }
    if (s.listen != NULL
        && link_hostport_parse(s.listen, host, sizeof(host), port,
                               sizeof(port)) != 0)
    {
        /* ADDR alone: the default direct port */
        snprintf(s.listen_buf, sizeof(s.listen_buf),
                 strchr(s.listen, ':') ? "[%s]:%s" : "%s:%s", s.listen,
                 LINK_DIRECT_PORT);
        s.listen = s.listen_buf;
    }
    code = link_common_setup(&o, s.listen == NULL);
    if (code != 0) {
        link_common_wipe(&o);
        return code;
    }
    s.app.o = &o;
    s.app.loop = link_loop_new();
    s.app.hooks.gone = hook_gone;
    s.app.hooks.ready = hook_ready;
    if (s.app.loop == NULL) {
        return LINK_EXIT_FAIL;
    }
    if (s.listen != NULL) {
        s.lfd = link_tcp_listen(s.listen, &why);
        if (s.lfd < 0) {
            link_err("--listen %s: %s", s.listen, why);
            code = LINK_EXIT_ADDR;
            goto out;
        }
        link_loop_watch(s.app.loop, s.lfd, POLLIN, listen_io, &s);
        fprintf(stderr, "%s: direct connections on %s\n", LINK_PROG,
                s.listen);
    }
    if (o.relay != NULL) {
        link_common_relay_cfg(&o, &rc, 1);
        s.app.ud = &s;
        if (link_app_relay_new(&s.app, &rc, &serve_relay_cbs) == NULL) {
            code = LINK_EXIT_FAIL;
            goto out;
        }
        if (link_relay_start(s.app.relay) != 0) {
            code = LINK_EXIT_FAIL;
            goto out;
        }
    }
    link_common_stop_on_signals(s.app.loop);
    code = link_loop_run(s.app.loop);
out:
    if (s.lfd >= 0) {
        close(s.lfd);
    }
    link_app_free(&s.app);
    link_common_wipe(&o);
    return code;
}
