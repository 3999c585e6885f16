/*
 * clawnexus-link chat: one encrypted text conversation through a relay.
 * Each stdin line is one message; each message received is one stdout
 * line.  Interoperates with the clawnexus 0.4.0 daemon in session v1.
 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "link.h"
#include "loop.h"
#include "peer.h"
#include "relay_client.h"

#define CHAT_LINE_MAX  CNX_RECORD_MAX
#define CHAT_JOIN_MS   30000        /* --to: give up when nobody answers */

/*
 * The session is a peer of the app (peer.c), as in serve and connect: the
 * relay callbacks, PEER_LEFT against a reload, the relay connection lost,
 * JOINing again and relay ERRORs are the shared ones.  What chat adds:
 * one peer at a time (after the first session, only that peer), lines
 * from stdin as TEXT records, and an end when the peer is gone for good.
 */
typedef struct {
    link_app_t     app;
    link_common_t  o;
    link_peer_t   *peer;            /* the session, once ready */
    char          *in;              /* stdin bytes not yet sent */
    size_t         inlen;
    int            stdin_eof;
    int            closed_sent;
    int            stdin_watched;
    uint64_t       drain_timer;
    uint64_t       join_timer;
    char           first[256];      /* the peer of the first session */
    uint64_t       back_timer;      /* relay lost: the peer must come back */
} chat_t;

static void chat_pump(chat_t *c);

static void
chat_usage(FILE *f)
{
    fprintf(f,
        "Usage: %s chat --relay URL --id CLAW_ID (--token-file F |"
        " --secret-file F\n"
        "                  [--issuer ISS]) [--to TARGET] [--session MODE]\n"
        "\n"
        "Exchange end-to-end encrypted text with one peer through a relay.\n"
        "With --to, JOIN TARGET; without, wait for one incoming peer and\n"
        "accept it.  Every line read from stdin is sent as one message;\n"
        "every message received is printed as one line on stdout.\n"
        "\n"
        "Exit status: 0 stdin ended and everything was handed to the relay,\n"
        "3 the peer left first, 6 relay unreachable, 7 relay ERROR\n"
        "(e.g. AUTH_FAILED, TARGET_OFFLINE), 8 session/authentication\n"
        "failure, 2 usage, 4 unreadable file, 5 bad URL or name.\n"
        "\n"
        "  --to TARGET         claw id to join\n"
        LINK_COMMON_HELP
        "  --help              this text\n", LINK_PROG);
}

static void
chat_done(chat_t *c, int code)
{
    link_loop_stop(c->app.loop, code);
}

/* peer hooks */

static void
hook_ready(link_peer_t *p)
{
    chat_t *c = p->app->ud;

    if (c->first[0] == '\0') {
        snprintf(c->first, sizeof(c->first), "%s", p->name);
    }
    c->peer = p;
    link_loop_cancel(c->app.loop, c->back_timer);
    c->back_timer = 0;
    fprintf(stderr, "%s: %s → relay → established (encrypted v%d)\n",
            LINK_PROG, p->name, link_chan_version(p->ch));
    chat_pump(c);
}

static void
hook_record(link_peer_t *p, const cnx_record_t *rec)
{
    (void) p;
    if (rec->type != CNX_RECORD_TEXT) {
        return;
    }
    fwrite(rec->data, 1, rec->len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

static void
hook_writable(link_peer_t *p)
{
    chat_pump(p->app->ud);
}

static void
back_fire(link_loop_t *l, void *ud)
{
    chat_t *c = ud;

    (void) l;
    c->back_timer = 0;
    if (c->peer == NULL) {
        link_err("%s left (no session again within %d s of the relay "
                 "connection loss)", c->first, LINK_BACK_MS / 1000);
        chat_done(c, LINK_EXIT_PEER_LEFT);
    }
}

static void
hook_gone(link_peer_t *p, int code, const char *why)
{
    chat_t *c = p->app->ud;

    if (p == c->peer) {
        c->peer = NULL;
    }
    if (code == LINK_EXIT_UNREACHABLE && p->via == LINK_VIA_RELAY) {
        /* the relay went away (a reload), not the peer: both come back;
         * the initiator JOINs again once registered */
        if (c->app.ever_up && c->back_timer == 0) {
            c->back_timer = link_loop_timer(c->app.loop, LINK_BACK_MS,
                                            back_fire, c);
        }
        return;
    }
    link_err("%s", why);
    chat_done(c, code);
}

static void
drain_check(link_loop_t *l, void *ud)
{
    chat_t *c = ud;

    c->drain_timer = 0;
    if (c->peer == NULL || link_peer_queued(c->peer) == 0) {
        if (c->peer != NULL && !c->closed_sent) {
            /* tell the peer we leave on purpose (v2), then drain that */
            c->closed_sent = 1;
            if (link_chan_close(c->peer->ch) == 0) {
                c->drain_timer = link_loop_timer(l, 10, drain_check, c);
                return;
            }
        }
        chat_done(c, LINK_EXIT_OK);
        return;
    }
    c->drain_timer = link_loop_timer(l, 10, drain_check, c);
}

/* Send every complete line (and the tail after EOF) once ready. */
static void
chat_pump(chat_t *c)
{
    link_chan_t *ch;
    size_t       off = 0;

    if (c->peer == NULL || !link_chan_ready(c->peer->ch)) {
        return;
    }
    ch = c->peer->ch;
    while (off < c->inlen) {
        char  *nl = memchr(c->in + off, '\n', c->inlen - off);
        size_t n;

        if (nl == NULL) {
            if (!c->stdin_eof && c->inlen - off < CHAT_LINE_MAX) {
                break;
            }
            n = c->inlen - off;
            if (n > CHAT_LINE_MAX) {
                n = CHAT_LINE_MAX;
            }
        } else {
            n = (size_t) (nl - (c->in + off));
            if (n > CHAT_LINE_MAX) {
                n = CHAT_LINE_MAX;
                nl = NULL;
            }
        }
        {
            size_t tl = n;

            if (tl > 0 && c->in[off + tl - 1] == '\r' && nl != NULL) {
                tl--;
            }
            if (link_chan_send_text(ch, c->in + off, tl) != 0) {
                link_err("cannot send a message to %s", c->peer->name);
                chat_done(c, LINK_EXIT_FAIL);
                return;
            }
        }
        off += n + (nl != NULL);
        if (link_peer_queued(c->peer) >= LINK_RELAY_HIGH_WATER) {
            break;
        }
    }
    memmove(c->in, c->in + off, c->inlen - off);
    c->inlen -= off;
    if (c->stdin_eof && c->inlen == 0 && c->drain_timer == 0) {
        c->drain_timer = link_loop_timer(c->app.loop, 0, drain_check, c);
    }
    if (!c->stdin_eof && c->stdin_watched == 0
        && c->inlen < CHAT_LINE_MAX * 2
        && link_peer_queued(c->peer) < LINK_RELAY_HIGH_WATER)
    {
        c->stdin_watched = 1;
        link_loop_events(c->app.loop, 0, POLLIN);
    }
}

static void
stdin_io(link_loop_t *l, int fd, int revents, void *ud)
{
    chat_t *c = ud;
    ssize_t r;

    (void) revents;
    if (c->inlen >= CHAT_LINE_MAX * 2) {
        /* wait for the session (or the relay to drain) before reading
         * more */
        c->stdin_watched = 0;
        link_loop_events(l, fd, 0);
        return;
    }
    r = read(fd, c->in + c->inlen, CHAT_LINE_MAX * 2 + 8 - c->inlen);
    if (r < 0) {
        if (errno == EINTR || errno == EAGAIN) {
            return;
        }
        link_err("cannot read stdin: %s", strerror(errno));
        chat_done(c, LINK_EXIT_FAIL);
        return;
    }
    if (r == 0) {
        c->stdin_eof = 1;
        link_loop_unwatch(l, fd);
    } else {
        c->inlen += (size_t) r;
    }
    chat_pump(c);
}

/* relay callbacks: what chat adds to the shared ones (peer.c) */

static void
join_expired(link_loop_t *l, void *ud)
{
    chat_t *c = ud;

    c->join_timer = 0;
    if (!c->app.ever_up) {
        link_err("%s did not answer within %d s", c->app.target,
                 CHAT_JOIN_MS / 1000);
        link_loop_stop(l, LINK_EXIT_UNREACHABLE);
    }
}

static void
on_registered(void *ud, int binary)
{
    chat_t *c = ud;

    (void) binary;
    if (c->app.target != NULL && !c->app.ever_up && c->join_timer == 0) {
        c->join_timer = link_loop_timer(c->app.loop, CHAT_JOIN_MS,
                                        join_expired, c);
    }
}

/* Without --to: accept one peer; after the first session only that one
 * (coming back after a reload). */
static void
on_incoming(void *ud, const char *room, const char *from)
{
    chat_t      *c = ud;
    link_peer_t *p = link_app_live(&c->app);

    if (p != NULL && p->left_timer != 0 && strcmp(p->name, from) == 0) {
        /* it left (PEER_LEFT) and joins again before the grace ran out:
         * its old session is over, the new one replaces it */
        link_peer_kill(p);
        p = NULL;
    }
    if (p != NULL || (c->first[0] != '\0' && strcmp(from, c->first) != 0)) {
        link_debug("rejecting a second peer %s", from);
        link_relay_reject(c->app.relay, room);
        return;
    }
    link_debug("accepting %s", from);
    link_app_accept(&c->app, room, from);
}

static const link_relay_cbs_t chat_relay_cbs = {
    .registered = on_registered, .incoming = on_incoming
};

int
cmd_chat(int argc, char **argv)
{
    static const struct option opts[] = {
        LINK_COMMON_OPTS,
        { "to",   required_argument, NULL, 't' },
        { "help", no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    link_relay_cfg_t rc;
    chat_t           c;
    int              ch, code;

    memset(&c, 0, sizeof(c));
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (link_common_opt(&c.o, ch, optarg)) {
            continue;
        }
        switch (ch) {
        case 't': c.app.target = optarg; break;
        case 'h': chat_usage(stdout); return LINK_EXIT_OK;
        default:  link_usage_hint("chat"); return LINK_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        link_err("chat: unexpected argument '%s'", argv[optind]);
        return LINK_EXIT_USAGE;
    }
    code = link_common_setup(&c.o, 1);
    if (code != 0) {
        link_common_wipe(&c.o);
        return code;
    }
    if (c.app.target != NULL && !link_id_valid(c.app.target)) {
        link_err("--to: '%s' is not a valid claw id", c.app.target);
        link_common_wipe(&c.o);
        return LINK_EXIT_ADDR;
    }
    c.in = malloc(CHAT_LINE_MAX * 2 + 16);
    c.app.loop = link_loop_new();
    if (c.in == NULL || c.app.loop == NULL) {
        link_err("out of memory");
        code = LINK_EXIT_FAIL;
        goto out;
    }
    c.app.o = &c.o;
    c.app.ud = &c;
    c.app.single = 1;
    c.app.hooks.ready = hook_ready;
    c.app.hooks.gone = hook_gone;
    c.app.hooks.record = hook_record;
    c.app.hooks.writable = hook_writable;
    link_common_relay_cfg(&c.o, &rc, 1);
    if (link_app_relay_new(&c.app, &rc, &chat_relay_cbs) == NULL
        || link_relay_start(c.app.relay) != 0)
    {
        link_err("out of memory");
        code = LINK_EXIT_FAIL;
        goto out;
    }
    link_set_nonblock(0);
    link_loop_watch(c.app.loop, 0, POLLIN, stdin_io, &c);
    c.stdin_watched = 1;
    code = link_loop_run(c.app.loop);
out:
    link_app_free(&c.app);
    link_common_wipe(&c.o);
    free(c.in);
    return code;
}
