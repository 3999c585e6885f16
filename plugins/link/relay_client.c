/*
 * clawnexus-link: relay client.  The WebSocket and relay-message codecs
 * are libclawnexus's; this file is only the socket glue around them.
 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "clawnexus.h"
#include "cnx_crypto.h"
#include "cnx_http.h"
#include "cnx_json.h"
#include "cnx_relay_msg.h"
#include "cnx_ws.h"
#include "link.h"
#include "dial.h"
#include "relay_client.h"

#define RELAY_PING_MS       25000       /* as clawnexus 0.4.0 */
#define RELAY_MAX_MESSAGE   (16u << 20)
#define RELAY_READ_CHUNK    (1u << 20)  /* a frame cut by a read is copied */
#define RELAY_BACKOFF_MIN   500
#define RELAY_BACKOFF_MAX   30000
/* Committed frames are written once this much is queued (or at the next
 * turn of the loop): one system call per several records. */
#define RELAY_BATCH         (1u << 20)
#define RELAY_MASKS         64          /* masking keys drawn at once */
#define RELAY_DIAL_MS       5000        /* TCP connect */
#define RELAY_HANDSHAKE_MS  10000       /* TCP + TLS + WebSocket upgrade */
/* After REPLACED, a long-running endpoint registers its name again after
 * this (doubling to RELAY_RECLAIM_MAX): the name is not lost silently,
 * and two processes with one id do not fight more than that. */
#define RELAY_RECLAIM_MS    5000
#define RELAY_RECLAIM_MAX   300000

enum {
    RELAY_IDLE = 0,
    RELAY_DIALING,
    RELAY_TLS,
    RELAY_UPGRADE,                      /* request sent, awaiting 101 */
    RELAY_UP
};

struct link_relay_s {
    link_loop_t      *loop;
    link_relay_cfg_t  cfg;
    link_relay_cbs_t  cbs;
    void             *ud;

    link_conn_t      *conn;
    link_dial_t      *dial;
    int               fd;
    int               state;        /* RELAY_* */
    int               ever_up;
    char              key[32];      /* Sec-WebSocket-Key of the attempt */
    int               up;           /* WebSocket open */
    int               registered;
    int               binary;
    int               closing;      /* no reconnect */
    int               dropping;     /* a drop is scheduled */
    int               read_paused;
    unsigned          close_code;   /* of the relay's close frame, 0 none */
    int               was_high;
    int               blocked;      /* the socket took less: await POLLOUT */
    char              why[160];

    uint8_t          *in;
    size_t            inlen, incap;
    uint8_t          *out;
    size_t            outoff, outlen, outcap;
    cnx_ws_reader_t   rd;

    uint8_t           masks[4 * RELAY_MASKS];
    size_t            masks_used;
    size_t            resv_hl;      /* reserved frame: its header lengths, */
    size_t            resv_bl;      /* 0 = nothing reserved */
    size_t            resv_max;

    uint64_t          ping_timer;
    uint64_t          retry_timer;
    uint64_t          drop_timer;
    uint64_t          resume_timer;
    uint64_t          hs_timer;     /* handshake deadline */
    uint64_t          reclaim_timer;
    int               reclaim_ms;
    int               backoff_ms;
};

static void relay_io(link_loop_t *l, int fd, int revents, void *ud);
static void relay_flush(link_relay_t *r);
static void relay_read(link_relay_t *r);
static void relay_parse(link_relay_t *r);
static void handshake_io(link_relay_t *r, int revents);

static void
resume_fire(link_loop_t *l, void *ud)
{
    link_relay_t *r = ud;

    (void) l;
    r->resume_timer = 0;
    relay_read(r);
}

link_relay_t *
link_relay_new(link_loop_t *l, const link_relay_cfg_t *cfg,
    const link_relay_cbs_t *cbs, void *ud)
{
    link_relay_t *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        return NULL;
    }
    r->loop = l;
    r->cfg = *cfg;
    r->cbs = *cbs;
    r->ud = ud;
    r->fd = -1;
    r->backoff_ms = RELAY_BACKOFF_MIN;
    return r;
}

int
link_relay_registered(const link_relay_t *r)
{
    return r->up && r->registered;
}

unsigned
link_relay_close_code(const link_relay_t *r)
{
    return r->close_code;
}

int
link_relay_binary(const link_relay_t *r)
{
    return r->up && r->binary;
}

size_t
link_relay_queued(const link_relay_t *r)
{
    return r->outlen - r->outoff;
}

static void
update_events(link_relay_t *r)
{
    int ev = 0;

    if (r->conn == NULL || r->dropping) {
        return;
    }
    if (r->state == RELAY_TLS) {
        link_loop_events(r->loop, r->fd, link_conn_tls_events(r->conn));
        return;
    }
    if (r->state == RELAY_UPGRADE) {
        link_loop_events(r->loop, r->fd, POLLIN
                         | (r->outlen > r->outoff ? POLLOUT : 0));
        return;
    }
    if (!r->read_paused || link_conn_want_read(r->conn)) {
        ev |= POLLIN;
    }
    if (r->outlen > r->outoff) {
        ev |= POLLOUT;
    }
    link_loop_events(r->loop, r->fd, ev);
}

void
link_relay_pause_read(link_relay_t *r, int pause)
{
    int was = r->read_paused;

    r->read_paused = pause;
    update_events(r);
    /* TLS may hold decrypted bytes that poll() cannot see: read now */
    if (was && !pause && r->conn != NULL && !r->resume_timer) {
        r->resume_timer = link_loop_timer(r->loop, 0, resume_fire, r);
    }
}

static void
teardown(link_relay_t *r)
{
    link_dial_cancel(r->dial);
    r->dial = NULL;
    link_loop_cancel(r->loop, r->hs_timer);
    r->hs_timer = 0;
    r->state = RELAY_IDLE;
    if (r->conn != NULL) {
        link_loop_unwatch(r->loop, r->fd);
        link_conn_close(r->conn);
        r->conn = NULL;
        r->fd = -1;
    }
    link_loop_cancel(r->loop, r->ping_timer);
    r->ping_timer = 0;
    link_loop_cancel(r->loop, r->resume_timer);
    r->resume_timer = 0;
    link_loop_cancel(r->loop, r->reclaim_timer);
    r->reclaim_timer = 0;
    r->up = r->registered = r->binary = 0;
    r->inlen = 0;
    r->outoff = r->outlen = 0;
    r->was_high = 0;
    r->blocked = 0;
    r->resv_hl = 0;
    cnx_ws_reader_free(&r->rd);
}

static void
retry_fire(link_loop_t *l, void *ud)
{
    link_relay_t *r = ud;

    (void) l;
    r->retry_timer = 0;
    if (r->closing) {
        return;
    }
    link_debug("reconnecting to %s", r->cfg.url_text);
    if (link_relay_start(r) != 0) {
        link_relay_retry(r);
    }
}

void
link_relay_retry(link_relay_t *r)
{
    int delay;

    if (r->closing || r->retry_timer || r->state != RELAY_IDLE) {
        return;
    }
    /* jitter in [delay/2, delay] so many endpoints do not sync up */
    delay = r->backoff_ms / 2 + (int) randombytes_uniform((uint32_t) r->backoff_ms / 2 + 1);
    r->retry_timer = link_loop_timer(r->loop, delay, retry_fire, r);
    r->backoff_ms *= 2;
    if (r->backoff_ms > RELAY_BACKOFF_MAX) {
        r->backoff_ms = RELAY_BACKOFF_MAX;
    }
}

static void
drop_fire(link_loop_t *l, void *ud)
{
    link_relay_t *r = ud;
    int           was_up = r->up;

    (void) l;
    r->drop_timer = 0;
    r->dropping = 0;
    teardown(r);
    if (!r->closing && r->cfg.reconnect) {
        link_relay_retry(r);
    }
    if (was_up) {
        if (r->cbs.down) {
            r->cbs.down(r->ud, r->why);
        }
    } else if (r->cbs.unreachable) {
        r->cbs.unreachable(r->ud, r->why);
    }
}

/* Deferred, so that callers deep in a send or a callback stay valid. */
static void
relay_drop(link_relay_t *r, const char *fmt, const char *arg)
{
    if (r->dropping || r->state == RELAY_IDLE) {
        return;
    }
    snprintf(r->why, sizeof(r->why), fmt, arg ? arg : "");
    r->dropping = 1;
    if (r->conn != NULL) {
        link_loop_events(r->loop, r->fd, 0);
    }
    r->drop_timer = link_loop_timer(r->loop, 0, drop_fire, r);
}

/* A connection attempt failed: one line, then as a drop. */
static void
attempt_fail(link_relay_t *r, const char *why)
{
    link_err("relay %s: %s", r->cfg.url_text, why);
    relay_drop(r, "%s", why);
}

static int
out_reserve(link_relay_t *r, size_t n)
{
    if (r->outoff > 0 && r->outoff == r->outlen) {
        r->outoff = r->outlen = 0;
    }
    if (r->outlen + n > r->outcap) {
        size_t   nc;
        uint8_t *p;

        if (r->outoff > 0) {
            memmove(r->out, r->out + r->outoff, r->outlen - r->outoff);
            r->outlen -= r->outoff;
            r->outoff = 0;
        }
        if (r->outlen + n <= r->outcap) {
            return 0;
        }
        nc = r->outcap ? r->outcap : 65536;
        while (nc < r->outlen + n) {
            nc *= 2;
        }
        p = realloc(r->out, nc);
        if (p == NULL) {
            return -1;
        }
        r->out = p;
        r->outcap = nc;
    }
    return 0;
}

/* A fresh masking key per frame, from a pool refilled in one call. */
static void
next_mask(link_relay_t *r, uint8_t mask[4])
{
    if (r->masks_used == 0 || r->masks_used >= sizeof(r->masks)) {
        cnx_random(r->masks, sizeof(r->masks));
        r->masks_used = 0;
    }
    memcpy(mask, r->masks + r->masks_used, 4);
    r->masks_used += 4;
}

/* Queue one masked frame made of up to two payload parts. */
static int
send_frame(link_relay_t *r, int opcode, const void *a, size_t alen,
    const void *b, size_t blen)
{
    uint8_t mask[4];
    size_t  hl;

    if (r->conn == NULL || r->dropping) {
        return -1;
    }
    r->resv_hl = 0;
    if (out_reserve(r, CNX_WS_MAX_HEADER + alen + blen) != 0) {
        relay_drop(r, "out of memory%s", NULL);
        return -1;
    }
    next_mask(r, mask);
    hl = cnx_ws_frame_header(r->out + r->outlen, 1, opcode, alen + blen,
                             mask);
    r->outlen += hl;
    if (alen) {
        memcpy(r->out + r->outlen, a, alen);
    }
    if (blen) {
        memcpy(r->out + r->outlen + alen, b, blen);
    }
    cnx_ws_mask(r->out + r->outlen, alen + blen, mask, 0);
    r->outlen += alen + blen;
    relay_flush(r);
    return 0;
}

static int
send_json(link_relay_t *r, const char *msg, int len)
{
    if (len < 0) {
        return -1;
    }
    return send_frame(r, CNX_WS_OP_TEXT, msg, (size_t) len, NULL, 0);
}

static void
relay_flush(link_relay_t *r)
{
    while (r->conn && !r->dropping && r->outlen > r->outoff) {
        size_t want = r->outlen - r->outoff;
        long   n = link_conn_write(r->conn, r->out + r->outoff, want);

        if (n == LINK_IO_AGAIN) {
            r->blocked = 1;
            break;
        }
        if (n < 0) {
            relay_drop(r, "write to the relay failed%s", NULL);
            return;
        }
        r->outoff += (size_t) n;
        if ((size_t) n < want && !r->cfg.url.tls) {
            r->blocked = 1;     /* the socket is full: wait for POLLOUT */
            break;
        }
    }
    if (r->outoff == r->outlen) {
        r->outoff = r->outlen = 0;
    }
    if (link_relay_queued(r) >= LINK_RELAY_HIGH_WATER) {
        r->was_high = 1;
    }
    update_events(r);
    if (r->was_high && link_relay_queued(r) <= LINK_RELAY_LOW_WATER) {
        r->was_high = 0;
        if (r->cbs.writable) {
            r->cbs.writable(r->ud);
        }
    }
}

static void
ping_fire(link_loop_t *l, void *ud)
{
    link_relay_t *r = ud;
    char          buf[32];

    r->ping_timer = 0;
    if (!r->up) {
        return;
    }
    send_json(r, buf, cnx_relay_build_ping(buf, sizeof(buf)));
    r->ping_timer = link_loop_timer(l, RELAY_PING_MS, ping_fire, r);
}

static int
send_register(link_relay_t *r)
{
    char  tok[LINK_TOKEN_MAX];
    char *buf;
    int   n, rc;

    if (link_auth_token(r->cfg.auth, r->cfg.id, tok, sizeof(tok)) != 0) {
        return -1;
    }
    buf = malloc(2 * LINK_TOKEN_MAX + 1024);
    if (buf == NULL) {
        cnx_memzero(tok, sizeof(tok));
        return -1;
    }
    n = cnx_relay_build_register(buf, 2 * LINK_TOKEN_MAX + 1024, r->cfg.id,
                                 tok, r->cfg.want_binary);
    rc = send_json(r, buf, n);
    cnx_memzero(tok, sizeof(tok));
    cnx_memzero(buf, 2 * LINK_TOKEN_MAX + 1024);
    free(buf);
    return rc;
}

static void
hs_expired(link_loop_t *l, void *ud)
{
    link_relay_t *r = ud;

    (void) l;
    r->hs_timer = 0;
    attempt_fail(r, r->state == RELAY_TLS ? "TLS handshake timed out"
                    : "no WebSocket handshake answer");
}

/* Queue the HTTP upgrade request; the answer is read by handshake_io(). */
static void
upgrade_begin(link_relay_t *r)
{
    int n;

    r->state = RELAY_UPGRADE;
    cnx_http_client_key(r->key);
    if (out_reserve(r, 2048) != 0) {
        attempt_fail(r, "out of memory");
        return;
    }
    n = cnx_http_build_request((char *) r->out + r->outlen, 2048,
                               r->cfg.url.hostport, r->cfg.url.path, r->key,
                               "clawnexus-link/" CNX_VERSION);
    if (n < 0) {
        attempt_fail(r, "cannot build the WebSocket upgrade");
        return;
    }
    r->outlen += (size_t) n;
    r->inlen = 0;
    handshake_io(r, POLLOUT);
}

static void
tls_step(link_relay_t *r)
{
    const char *why = NULL;
    int         rc = link_conn_tls_step(r->conn, &why);
    char        line[256];

    if (rc == LINK_IO_AGAIN) {
        update_events(r);
        return;
    }
    if (rc == 0) {
        upgrade_begin(r);
        return;
    }
    if (rc == LINK_TLS_UNTRUSTED) {
        snprintf(line, sizeof(line), "TLS: the certificate is not trusted "
                 "(%s)%s", why, r->cfg.ca_file ? ""
                 : "; for a relay with a private CA give --ca-file FILE or "
                   "edge.ca_file");
        attempt_fail(r, line);
        return;
    }
    snprintf(line, sizeof(line), "TLS: %s", why);
    attempt_fail(r, line);
}

/* The WebSocket is open: REGISTER, keep-alive, frames that came along. */
static void
upgrade_done(link_relay_t *r, size_t head)
{
    memmove(r->in, r->in + head, r->inlen - head);
    r->inlen -= head;
    link_loop_cancel(r->loop, r->hs_timer);
    r->hs_timer = 0;
    r->state = RELAY_UP;
    r->up = 1;
    r->ever_up = 1;
    r->registered = 0;
    r->binary = 0;
    cnx_ws_reader_init(&r->rd, RELAY_MAX_MESSAGE, 0);
    link_debug("connected to %s", r->cfg.url_text);
    if (send_register(r) != 0) {
        relay_drop(r, "cannot send REGISTER%s", NULL);
        return;
    }
    r->ping_timer = link_loop_timer(r->loop, RELAY_PING_MS, ping_fire, r);
    update_events(r);
    if (r->inlen > 0) {
        relay_parse(r);
    }
}

static void
handshake_io(link_relay_t *r, int revents)
{
    long got;
    int  n, status = 0;
    char line[160];

    if (r->state == RELAY_TLS) {
        tls_step(r);
        return;
    }
    if (revents & POLLOUT) {
        while (r->outlen > r->outoff) {
            long w = link_conn_write(r->conn, r->out + r->outoff,
                                     r->outlen - r->outoff);

            if (w == LINK_IO_AGAIN) {
                break;
            }
            if (w < 0) {
                attempt_fail(r, "cannot send the WebSocket upgrade");
                return;
            }
            r->outoff += (size_t) w;
        }
        if (r->outoff == r->outlen) {
            r->outoff = r->outlen = 0;
        }
    }
    for ( ;; ) {
        got = link_conn_read(r->conn, r->in + r->inlen,
                             CNX_HTTP_MAX_HEAD + 1 - r->inlen);
        if (got == LINK_IO_AGAIN) {
            break;
        }
        if (got <= 0) {
            attempt_fail(r, "connection closed during the WebSocket "
                            "handshake");
            return;
        }
        r->inlen += (size_t) got;
        n = cnx_http_parse_response((const char *) r->in, r->inlen, r->key,
                                    &status);
        if (n > 0) {
            upgrade_done(r, (size_t) n);
            return;
        }
        if (n < 0) {
            if (n == CNX_HTTP_ESTATUS) {
                snprintf(line, sizeof(line), "HTTP status %d instead of a "
                         "WebSocket upgrade", status);
            } else {
                snprintf(line, sizeof(line), "bad WebSocket handshake "
                         "answer (error %d)", n);
            }
            attempt_fail(r, line);
            return;
        }
        if (r->inlen > CNX_HTTP_MAX_HEAD) {
            attempt_fail(r, "handshake answer too long");
            return;
        }
    }
    update_events(r);
}

static void
dial_done(void *ud, link_conn_t *c, const char *why)
{
    link_relay_t *r = ud;
    const char   *e = NULL;

    r->dial = NULL;
    if (c == NULL) {
        attempt_fail(r, why);
        return;
    }
    r->conn = c;
    r->fd = link_conn_fd(c);
    if (link_loop_watch(r->loop, r->fd, 0, relay_io, r) != 0) {
        attempt_fail(r, "out of memory");
        return;
    }
    if (r->cfg.url.tls) {
        if (link_conn_tls_begin(c, r->cfg.url.host, r->cfg.ca_file, &e)
            != 0)
        {
            char line[160];

            snprintf(line, sizeof(line), "TLS: %s", e);
            attempt_fail(r, line);
            return;
        }
        r->state = RELAY_TLS;
        tls_step(r);
        return;
    }
    upgrade_begin(r);
}

int
link_relay_start(link_relay_t *r)
{
    if (r->state != RELAY_IDLE || r->closing) {
        return 0;
    }
    if (r->incap < RELAY_READ_CHUNK * 2) {
        uint8_t *p = realloc(r->in, RELAY_READ_CHUNK * 2);

        if (p == NULL) {
            return -1;
        }
        r->in = p;
        r->incap = RELAY_READ_CHUNK * 2;
    }
    r->inlen = 0;
    r->outoff = r->outlen = 0;
    r->close_code = 0;
    r->state = RELAY_DIALING;
    r->dial = link_dial_start(r->loop, r->cfg.url.host, r->cfg.url.port,
                              RELAY_DIAL_MS, dial_done, r);
    r->hs_timer = link_loop_timer(r->loop, RELAY_HANDSHAKE_MS, hs_expired,
                                  r);
    if (r->dial == NULL || r->hs_timer == 0) {
        teardown(r);
        return -1;
    }
    return 0;
}

static void
reclaim_fire(link_loop_t *l, void *ud)
{
    link_relay_t *r = ud;

    (void) l;
    r->reclaim_timer = 0;
    if (r->state == RELAY_UP && !r->registered && !r->dropping) {
        link_err("warning: registering %s on %s again", r->cfg.id,
                 r->cfg.url_text);
        if (send_register(r) != 0) {
            relay_drop(r, "cannot send REGISTER%s", NULL);
        }
    }
}

/*
 * The relay no longer maps our id to this connection (another connection
 * registered it: REPLACED; or it says NOT_REGISTERED).  Rooms stay open.
 * A long-running endpoint takes the name back after a while.
 */
static void
relay_lost_name(link_relay_t *r, int replaced)
{
    int delay;

    r->registered = 0;
    if (!r->cfg.reconnect || r->reclaim_timer) {
        return;
    }
    if (replaced) {
        r->reclaim_ms = r->reclaim_ms ? r->reclaim_ms * 2 : RELAY_RECLAIM_MS;
        if (r->reclaim_ms > RELAY_RECLAIM_MAX) {
            r->reclaim_ms = RELAY_RECLAIM_MAX;
        }
        delay = r->reclaim_ms;
    } else {
        delay = 1000;
    }
    r->reclaim_timer = link_loop_timer(r->loop, delay, reclaim_fire, r);
}

static void
handle_text(link_relay_t *r, const uint8_t *data, size_t len)
{
    cnx_relay_msg_t m;
    char            msgbuf[512];
    size_t          ml = 0;
    int             rc;

    rc = cnx_relay_msg_parse((const char *) data, len, &m);
    if (rc != CNX_RELAY_OK) {
        link_debug("ignoring a relay message that does not parse (%d)", rc);
        return;
    }
    switch (m.type) {
    case CNX_RELAY_REGISTERED:
        r->registered = 1;
        r->binary = r->cfg.want_binary && m.binary == 1;
        r->backoff_ms = RELAY_BACKOFF_MIN;
        link_debug("registered as %s%s", m.claw_id_s,
                   r->binary ? " (binary frames)" : "");
        if (r->cbs.registered) {
            r->cbs.registered(r->ud, r->binary);
        }
        break;
    case CNX_RELAY_INCOMING:
        if (r->cbs.incoming) {
            r->cbs.incoming(r->ud, m.room_id_s, m.from_claw_id_s);
        }
        break;
    case CNX_RELAY_JOINED:
        if (r->cbs.joined) {
            r->cbs.joined(r->ud, m.room_id_s, m.peer_claw_id_s);
        }
        break;
    case CNX_RELAY_DATA:
        if (!m.payload_escaped) {
            if (r->cbs.data) {
                r->cbs.data(r->ud, m.room_id_s,
                            (const uint8_t *) m.payload.p, m.payload.len, 0);
            }
        } else {
            /* unescaping never grows the text */
            char *tmp = malloc(m.payload.len + 1);

            if (tmp == NULL) {
                break;
            }
            if (cnx_json_unescape(m.payload.p, m.payload.len, tmp,
                                  m.payload.len + 1, &ml) == 0
                && r->cbs.data)
            {
                r->cbs.data(r->ud, m.room_id_s, (const uint8_t *) tmp, ml,
                            0);
            }
            free(tmp);
        }
        break;
    case CNX_RELAY_PEER_LEFT:
        if (r->cbs.peer_left) {
            r->cbs.peer_left(r->ud, m.room_id_s);
        }
        break;
    case CNX_RELAY_ERROR:
        if (strcmp(m.code_s, "REPLACED") == 0
            || strcmp(m.code_s, "NOT_REGISTERED") == 0)
        {
            relay_lost_name(r, m.code_s[0] == 'R');
        }
        msgbuf[0] = '\0';
        if (m.message.p != NULL
            && cnx_json_unescape(m.message.p, m.message.len, msgbuf,
                                 sizeof(msgbuf), &ml) != 0)
        {
            snprintf(msgbuf, sizeof(msgbuf), "(unreadable message)");
        }
        /* never echo control characters from the network */
        for (ml = 0; msgbuf[ml]; ml++) {
            if ((unsigned char) msgbuf[ml] < 0x20) {
                msgbuf[ml] = ' ';
            }
        }
        if (r->cbs.error) {
            r->cbs.error(r->ud, m.code_s, msgbuf);
        }
        break;
    default:
        break;                  /* PONG and anything else */
    }
}

static void
handle_binary(link_relay_t *r, const uint8_t *data, size_t len)
{
    const uint8_t *room, *payload;
    size_t         room_len, plen;
    char           rid[CNX_RELAY_ROOM_ID_MAX + 1];

    if (cnx_relay_bin_parse(data, len, &room, &room_len, &payload,
                            &plen) != 0)
    {
        link_debug("ignoring a malformed binary frame");
        return;
    }
    memcpy(rid, room, room_len);
    rid[room_len] = '\0';
    if (r->cbs.data) {
        r->cbs.data(r->ud, rid, payload, plen, 1);
    }
}

/* Handle the complete frames in r->in. */
static void
relay_parse(link_relay_t *r)
{
    size_t off = 0, used;
    int    rc;

    while (off < r->inlen && r->conn && !r->dropping) {
        cnx_ws_msg_t msg;

        rc = cnx_ws_reader_next(&r->rd, r->in + off, r->inlen - off,
                                &used, &msg);
        off += used;
        if (rc == CNX_WS_AGAIN) {
            break;
        }
        if (rc < 0) {
            uint8_t cl[CNX_WS_MAX_CONTROL];
            size_t  cn = cnx_ws_close_build(cl, (unsigned) -rc, NULL, 0);

            send_frame(r, CNX_WS_OP_CLOSE, cl, cn, NULL, 0);
            relay_drop(r, "WebSocket protocol error from the relay%s",
                       NULL);
            break;
        }
        switch (msg.opcode) {
        case CNX_WS_OP_TEXT:
            handle_text(r, msg.data, msg.len);
            break;
        case CNX_WS_OP_BINARY:
            handle_binary(r, msg.data, msg.len);
            break;
        case CNX_WS_OP_PING:
            send_frame(r, CNX_WS_OP_PONG, msg.data, msg.len, NULL, 0);
            break;
        case CNX_WS_OP_CLOSE: {
            uint8_t  cl[CNX_WS_MAX_CONTROL];
            unsigned code = 1005;
            size_t   cn;
            char     cs[16];

            cnx_ws_close_parse(msg.data, msg.len, &code, NULL, NULL);
            cn = cnx_ws_close_build(cl, code == 1005 ? 1000 : code,
                                    NULL, 0);
            send_frame(r, CNX_WS_OP_CLOSE, cl, cn, NULL, 0);
            r->close_code = code;
            snprintf(cs, sizeof(cs), "%u", code);
            relay_drop(r, code == 1001
                          ? "the relay is restarting or reloading "
                            "(close code %s)"
                          : "the relay closed the WebSocket (code %s)",
                       cs);
            break;
        }
        default:
            break;
        }
    }
    if (r->conn == NULL) {
        return;
    }
    memmove(r->in, r->in + off, r->inlen - off);
    r->inlen -= off;
}

static void
relay_read(link_relay_t *r)
{
    for ( ;; ) {
        long got;

        if (r->conn == NULL || r->dropping || r->read_paused
            || r->state != RELAY_UP)
        {
            return;
        }
        if (r->incap - r->inlen < RELAY_READ_CHUNK) {
            size_t   nc = r->inlen + RELAY_READ_CHUNK;
            uint8_t *p = realloc(r->in, nc);

            if (p == NULL) {
                relay_drop(r, "out of memory%s", NULL);
                return;
            }
            r->in = p;
            r->incap = nc;
        }
        got = link_conn_read(r->conn, r->in + r->inlen,
                             r->incap - r->inlen);
        if (got == LINK_IO_AGAIN) {
            return;
        }
        if (got == 0) {
            relay_drop(r, "the relay closed the connection%s", NULL);
            return;
        }
        if (got < 0) {
            relay_drop(r, "read from the relay failed%s", NULL);
            return;
        }
        r->inlen += (size_t) got;
        relay_parse(r);
    }
}

static void
relay_io(link_loop_t *l, int fd, int revents, void *ud)
{
    link_relay_t *r = ud;

    (void) l;
    (void) fd;
    if (r->state != RELAY_UP) {
        if (r->conn != NULL && !r->dropping) {
            handshake_io(r, revents);
        }
        return;
    }
    if (revents & (POLLOUT)) {
        r->blocked = 0;
        relay_flush(r);
    }
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        if (r->conn && link_conn_want_read(r->conn)) {
            relay_flush(r);
        }
        relay_read(r);
    }
}

int
link_relay_join(link_relay_t *r, const char *target)
{
    char tok[LINK_TOKEN_MAX];
    char buf[2 * LINK_TOKEN_MAX + 1024];
    int  n, rc;

    if (!link_relay_registered(r)) {
        return -1;
    }
    if (link_auth_token(r->cfg.auth, r->cfg.id, tok, sizeof(tok)) != 0) {
        return -1;
    }
    n = cnx_relay_build_join(buf, sizeof(buf), r->cfg.id, target, tok);
    rc = send_json(r, buf, n);
    cnx_memzero(tok, sizeof(tok));
    cnx_memzero(buf, sizeof(buf));
    return rc;
}

int
link_relay_accept(link_relay_t *r, const char *room)
{
    char buf[256];

    return send_json(r, buf, cnx_relay_build_accept(buf, sizeof(buf), room));
}

int
link_relay_reject(link_relay_t *r, const char *room)
{
    char buf[256];

    return send_json(r, buf, cnx_relay_build_reject(buf, sizeof(buf), room));
}

int
link_relay_send_text(link_relay_t *r, const char *room, const char *payload,
    size_t n)
{
    size_t cap = 6 * n + 256;
    char  *buf;
    int    len, rc;

    if (!r->up) {
        return -1;
    }
    buf = malloc(cap);
    if (buf == NULL) {
        return -1;
    }
    len = cnx_relay_build_data_str(buf, cap, room, payload, n);
    rc = send_json(r, buf, len);
    free(buf);
    return rc;
}

int
link_relay_send_bin(link_relay_t *r, const char *room, const uint8_t *p,
    size_t n)
{
    uint8_t hdr[CNX_RELAY_BIN_HEADER_MAX];
    size_t  hl;

    if (!r->up || !r->binary) {
        return -1;
    }
    hl = cnx_relay_bin_header(hdr, room, strlen(room));
    if (hl == 0) {
        return -1;
    }
    return send_frame(r, CNX_WS_OP_BINARY, hdr, hl, p, n);
}

/* Length of the header of a masked frame with an n-byte payload. */
static size_t
frame_header_len(size_t n)
{
    uint8_t hdr[CNX_WS_MAX_HEADER];
    uint8_t mask[4] = { 0 };

    return cnx_ws_frame_header(hdr, 1, CNX_WS_OP_BINARY, n, mask);
}

uint8_t *
link_relay_reserve_bin(link_relay_t *r, const char *room, size_t n)
{
    uint8_t *base;
    size_t   bl, hl;

    r->resv_hl = 0;
    if (r->conn == NULL || r->dropping || !r->up || !r->binary) {
        return NULL;
    }
    if (out_reserve(r, CNX_WS_MAX_HEADER + CNX_RELAY_BIN_HEADER_MAX + n)
        != 0)
    {
        return NULL;
    }
    base = r->out + r->outlen;
    /* the header as if all n bytes come; commit fixes a shorter one */
    hl = frame_header_len(CNX_RELAY_BIN_HEADER_MAX + n);
    bl = cnx_relay_bin_header(base + hl, room, strlen(room));
    if (bl == 0) {
        return NULL;
    }
    hl = frame_header_len(bl + n);
    bl = cnx_relay_bin_header(base + hl, room, strlen(room));
    r->resv_hl = hl;
    r->resv_bl = bl;
    r->resv_max = n;
    return base + hl + bl;
}

int
link_relay_commit_bin(link_relay_t *r, size_t n)
{
    uint8_t *base, mask[4];
    size_t   hl;

    if (r->resv_hl == 0 || n > r->resv_max || r->conn == NULL
        || r->dropping)
    {
        r->resv_hl = 0;
        return -1;
    }
    base = r->out + r->outlen;
    hl = frame_header_len(r->resv_bl + n);
    if (hl < r->resv_hl) {
        /* minimal length encoding: a shorter header, move the rest */
        memmove(base + hl, base + r->resv_hl, r->resv_bl + n);
    }
    r->resv_hl = 0;
    next_mask(r, mask);
    cnx_ws_frame_header(base, 1, CNX_WS_OP_BINARY, r->resv_bl + n, mask);
    cnx_ws_mask(base + hl, r->resv_bl + n, mask, 0);
    r->outlen += hl + r->resv_bl + n;
    if (link_relay_queued(r) >= LINK_RELAY_HIGH_WATER) {
        r->was_high = 1;        /* writable() follows when it drains */
    }
    if (link_relay_queued(r) >= RELAY_BATCH && !r->blocked) {
        relay_flush(r);
    } else {
        update_events(r);       /* written at the next turn of the loop */
    }
    return 0;
}

/*
 * Callers let their last frames leave through the loop first (chat and
 * connect wait until link_relay_queued() is 0); here the close frame gets
 * one non-blocking write and the connection ends.
 */
void
link_relay_close(link_relay_t *r)
{
    r->closing = 1;
    link_loop_cancel(r->loop, r->retry_timer);
    r->retry_timer = 0;
    if (r->state == RELAY_UP && !r->dropping) {
        uint8_t cl[CNX_WS_MAX_CONTROL];
        size_t  cn = cnx_ws_close_build(cl, CNX_WS_CLOSE_NORMAL, NULL, 0);

        send_frame(r, CNX_WS_OP_CLOSE, cl, cn, NULL, 0);
    }
    link_loop_cancel(r->loop, r->drop_timer);
    r->drop_timer = 0;
    r->dropping = 0;
    teardown(r);
}

void
link_relay_free(link_relay_t *r)
{
    if (r == NULL) {
        return;
    }
    link_relay_close(r);
    free(r->in);
    free(r->out);
    free(r);
}
