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

#include "chan.h"
#include "common.h"
#include "link.h"
#include "loop.h"
#include "relay_client.h"

#define CHAT_LINE_MAX  CNX_RECORD_MAX
#define CHAT_JOIN_MS   30000        /* --to: give up when nobody answers */

typedef struct {
    link_common_t  o;
    const char    *to;
    link_loop_t   *loop;
    link_relay_t  *relay;
    link_chan_t   *ch;
    char           room[72];
    int            have_room;
    char          *in;              /* stdin bytes not yet sent */
    size_t         inlen;
    int            stdin_eof;
    int            closed_sent;
    int            stdin_watched;
    int            sent_any;
    uint64_t       drain_timer;
    uint64_t       join_timer;
    int            ever_up;         /* a session existed once */
    int            ever_registered;
    char           peer[256];       /* the peer of the first session */
    uint64_t       left_timer;      /* PEER_LEFT seen, our close may follow */
    uint64_t       back_timer;      /* relay lost: the peer must come back */
    uint64_t       rejoin_timer;
    int            rejoin_ms;
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
    link_loop_stop(c->loop, code);
}

static int
chat_tx(void *carrier, const uint8_t *p, size_t n, int binary)
{
    chat_t *c = carrier;

    if (!c->have_room) {
        return -1;
    }
    if (binary) {
        return link_relay_send_bin(c->relay, c->room, p, n);
    }
    return link_relay_send_text(c->relay, c->room, (const char *) p, n);
}

static const link_carrier_ops_t chat_carrier_ops = { .send = chat_tx };

/* The room of the chat on its relay connection. */
static void
chat_carrier(chat_t *c)
{
    link_carrier_t car = { &chat_carrier_ops, c,
                           link_relay_binary(c->relay) };

    link_chan_set_carrier(c->ch, &car);
}

static void
chan_ready(link_chan_t *ch, void *ud)
{
    chat_t *c = ud;

    if (!c->ever_up) {
        snprintf(c->peer, sizeof(c->peer), "%s", link_chan_peer(ch));
    }
    c->ever_up = 1;
    c->rejoin_ms = 0;
    link_loop_cancel(c->loop, c->back_timer);
    c->back_timer = 0;
    fprintf(stderr, "%s: %s → relay → established (encrypted v%d)\n",
            LINK_PROG, link_chan_peer(ch), link_chan_version(ch));
    chat_pump(c);
}

static void
chan_record(link_chan_t *ch, const cnx_record_t *rec, void *ud)
{
    (void) ch;
    (void) ud;
    if (rec->type != CNX_RECORD_TEXT) {
        return;
    }
    fwrite(rec->data, 1, rec->len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

static void
chan_failed(link_chan_t *ch, int code, const char *why, void *ud)
{
    chat_t *c = ud;

    (void) ch;
    link_err("%s", why);
    chat_done(c, code);
}

static const link_chan_cbs_t chat_chan_cbs = {
    chan_ready, chan_record, chan_failed
};

static void
drop_room(chat_t *c)
{
    link_chan_free(c->ch);
    c->ch = NULL;
    c->have_room = 0;
}

static int
open_room(chat_t *c, const char *room, const char *peer, int initiator)
{
    snprintf(c->room, sizeof(c->room), "%s", room);
    c->have_room = 1;
    c->ch = link_chan_new(&c->o.sec, peer, initiator, &chat_chan_cbs, c);
    if (c->ch == NULL) {
        chat_done(c, LINK_EXIT_SESSION);
        return -1;
    }
    chat_carrier(c);
    if (link_chan_start(c->ch) != 0) {
        chat_done(c, LINK_EXIT_SESSION);
        return -1;
    }
    return 0;
}

static void
drain_check(link_loop_t *l, void *ud)
{
    chat_t *c = ud;

    c->drain_timer = 0;
    if (link_relay_queued(c->relay) == 0) {
        if (c->ch != NULL && !c->closed_sent) {
            /* tell the peer we leave on purpose (v2), then drain that */
            c->closed_sent = 1;
            if (link_chan_close(c->ch) == 0) {
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
    size_t off = 0;

    if (c->ch == NULL || !link_chan_ready(c->ch)) {
        return;
    }
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
            if (link_chan_send_text(c->ch, c->in + off, tl) != 0) {
                link_err("cannot send a message to %s",
                         link_chan_peer(c->ch));
                chat_done(c, LINK_EXIT_FAIL);
                return;
            }
        }
        off += n + (nl != NULL);
        c->sent_any = 1;
        if (link_relay_queued(c->relay) >= LINK_RELAY_HIGH_WATER) {
            break;
        }
    }
    memmove(c->in, c->in + off, c->inlen - off);
    c->inlen -= off;
    if (c->stdin_eof && c->inlen == 0 && c->drain_timer == 0) {
        c->drain_timer = link_loop_timer(c->loop, 0, drain_check, c);
    }
    if (!c->stdin_eof && c->stdin_watched == 0
        && link_relay_queued(c->relay) < LINK_RELAY_HIGH_WATER)
    {
        c->stdin_watched = 1;
        link_loop_events(c->loop, 0, POLLIN);
    }
}

static void
stdin_io(link_loop_t *l, int fd, int revents, void *ud)
{
    chat_t *c = ud;
    ssize_t r;

    (void) revents;
    if (c->inlen >= CHAT_LINE_MAX * 2) {
        /* wait for the session before reading more */
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

/* relay callbacks */

static void
join_expired(link_loop_t *l, void *ud)
{
    chat_t *c = ud;

    c->join_timer = 0;
    if (c->ch == NULL || !link_chan_ready(c->ch)) {
        link_err("%s did not answer within %d s", c->to,
                 CHAT_JOIN_MS / 1000);
        link_loop_stop(l, LINK_EXIT_UNREACHABLE);
    }
}

static void
on_registered(void *ud, int binary)
{
    chat_t *c = ud;

    (void) binary;
    c->ever_registered = 1;
    if (c->to != NULL && !c->have_room) {
        link_debug("joining %s", c->to);
        link_relay_join(c->relay, c->to);
        if (!c->ever_up) {
            link_loop_cancel(c->loop, c->join_timer);
            c->join_timer = link_loop_timer(c->loop, CHAT_JOIN_MS,
                                            join_expired, c);
        }
    }
}

static void
rejoin_fire(link_loop_t *l, void *ud)
{
    chat_t *c = ud;

    (void) l;
    c->rejoin_timer = 0;
    if (!c->have_room && link_relay_registered(c->relay)) {
        link_debug("joining %s again", c->to);
        link_relay_join(c->relay, c->to);
    }
}

static void
on_incoming(void *ud, const char *room, const char *from)
{
    chat_t *c = ud;

    if (c->to != NULL || c->have_room || c->ch != NULL
        || (c->ever_up && strcmp(from, c->peer) != 0))
    {
        link_debug("rejecting a second peer %s", from);
        link_relay_reject(c->relay, room);
        return;
    }
    link_debug("accepting %s", from);
    if (link_relay_accept(c->relay, room) != 0) {
        return;
    }
    /* the room is ours once JOINED arrives; remember the peer now */
    snprintf(c->room, sizeof(c->room), "%s", room);
    c->ch = link_chan_new(&c->o.sec, from, 0, &chat_chan_cbs, c);
    if (c->ch == NULL) {
        chat_done(c, LINK_EXIT_SESSION);
        return;
    }
    chat_carrier(c);
}

static void
on_joined(void *ud, const char *room, const char *peer)
{
    chat_t *c = ud;

    if (c->ch != NULL && !c->have_room && strcmp(c->room, room) == 0) {
        c->have_room = 1;           /* acceptor side */
        if (link_chan_start(c->ch) != 0) {
            chat_done(c, LINK_EXIT_SESSION);
        }
        return;
    }
    if (c->to == NULL || c->have_room) {
        return;
    }
    if (peer[0] != '\0' && strcmp(peer, c->to) != 0) {
        return;                     /* not the room we asked for */
    }
    open_room(c, room, c->to, 1);
}

static void
on_data(void *ud, const char *room, const uint8_t *p, size_t n, int binary)
{
    chat_t *c = ud;

    if (!c->have_room || strcmp(room, c->room) != 0 || c->ch == NULL) {
        return;
    }
    link_chan_input(c->ch, p, n, binary);
}

static void
left_fire(link_loop_t *l, void *ud)
{
    chat_t *c = ud;

    (void) l;
    c->left_timer = 0;
    link_err("%s left", c->peer[0] ? c->peer : "the peer");
    chat_done(c, LINK_EXIT_PEER_LEFT);
}

/*
 * PEER_LEFT without the peer's CLOSE record: on a relay reload the peer's
 * socket may close a moment before ours, so wait briefly; if our own
 * connection drops meanwhile, it was the relay, and both come back.
 */
static void
on_peer_left(void *ud, const char *room)
{
    chat_t *c = ud;

    if (c->have_room && strcmp(room, c->room) == 0) {
        drop_room(c);
        if (c->left_timer == 0) {
            c->left_timer = link_loop_timer(c->loop, LINK_LEFT_GRACE_MS,
                                            left_fire, c);
        }
    }
}

static void
back_fire(link_loop_t *l, void *ud)
{
    chat_t *c = ud;

    (void) l;
    c->back_timer = 0;
    if (c->ch == NULL || !link_chan_ready(c->ch)) {
        link_err("%s left (no session again within %d s of the relay "
                 "connection loss)", c->peer, LINK_BACK_MS / 1000);
        chat_done(c, LINK_EXIT_PEER_LEFT);
    }
}

static void
on_error(void *ud, const char *code, const char *message)
{
    chat_t *c = ud;

    link_common_relay_error(&c->o, c->to, code, message);
    if (c->to != NULL && c->ever_up && !c->have_room
        && strcmp(code, "TARGET_OFFLINE") == 0)
    {
        /* after a relay restart the peer may not be back yet */
        if (c->rejoin_timer == 0) {
            c->rejoin_ms = c->rejoin_ms ? c->rejoin_ms * 2 : 250;
            if (c->rejoin_ms > 5000) {
                c->rejoin_ms = 5000;
            }
            c->rejoin_timer = link_loop_timer(c->loop, c->rejoin_ms,
                                              rejoin_fire, c);
        }
        return;
    }
    /* REPLACED and NOT_REGISTERED: the relay client registers again */
    if (strcmp(code, "AUTH_FAILED") == 0
        || strcmp(code, "TARGET_OFFLINE") == 0)
    {
        chat_done(c, LINK_EXIT_RELAY);
    }
}

static void
on_down(void *ud, const char *why)
{
    chat_t *c = ud;

    link_err("relay connection lost (%s); reconnecting", why);
    drop_room(c);
    c->room[0] = '\0';
    /* a PEER_LEFT just before was the relay going away, not the peer */
    link_loop_cancel(c->loop, c->left_timer);
    c->left_timer = 0;
    if (c->ever_up && c->back_timer == 0) {
        c->back_timer = link_loop_timer(c->loop, LINK_BACK_MS, back_fire, c);
    }
}

static void
on_unreachable(void *ud, const char *why)
{
    chat_t *c = ud;

    (void) why;
    if (!c->ever_registered) {
        chat_done(c, LINK_EXIT_UNREACHABLE);
    }
}

static const link_relay_cbs_t chat_relay_cbs = {
    .registered = on_registered, .incoming = on_incoming,
    .joined = on_joined, .data = on_data, .peer_left = on_peer_left,
    .error = on_error, .down = on_down, .unreachable = on_unreachable
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
        case 't': c.to = optarg; break;
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
    if (c.to != NULL && !link_id_valid(c.to)) {
        link_err("--to: '%s' is not a valid claw id", c.to);
        link_common_wipe(&c.o);
        return LINK_EXIT_ADDR;
    }
    c.in = malloc(CHAT_LINE_MAX * 2 + 16);
    c.loop = link_loop_new();
    if (c.in == NULL || c.loop == NULL) {
        link_err("out of memory");
        return LINK_EXIT_FAIL;
    }
    link_common_relay_cfg(&c.o, &rc, 1);
    c.relay = link_relay_new(c.loop, &rc, &chat_relay_cbs, &c);
    if (c.relay == NULL || link_relay_start(c.relay) != 0) {
        code = LINK_EXIT_FAIL;
        goto out;
    }
    link_set_nonblock(0);
    link_loop_watch(c.loop, 0, POLLIN, stdin_io, &c);
    c.stdin_watched = 1;
    code = link_loop_run(c.loop);
out:
    link_chan_free(c.ch);
    link_relay_free(c.relay);
    link_loop_free(c.loop);
    link_common_wipe(&c.o);
    free(c.in);
    return code;
}
