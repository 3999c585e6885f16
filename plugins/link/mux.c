/*
 * clawnexus-link: streams over a channel (see mux.h for the records).
 */

#define _GNU_SOURCE                     /* F_SETPIPE_SZ */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "link.h"
#include "mux.h"
#include "dial.h"
#include "net.h"

#define MUX_CHUNK        (CNX_RECORD_MAX - 15)
#define MUX_CARRIER_HIGH (4u << 20)
#define MUX_STREAM_HIGH  (2u << 20)
#define MUX_STREAM_LOW   (256u << 10)
#define MUX_READ_RECORDS 8              /* records read per wakeup */
#define MUX_SLOT         (CNX_RECORD_HDR + MUX_CHUNK)
#define MUX_PIPE_SIZE    (1u << 20)
#define MUX_WRITE_BATCH  (1u << 20)     /* write to the local side at once */
#define MUX_FORWARD_MS   5000           /* connect to the forward target */
/* Per-stream window: a peer may send this many bytes of a stream beyond
 * what was written to the local side; credit goes back in WINDOW records
 * once a quarter of it was written.  One slow local side holds back only
 * its own stream.  What all streams of a session hold is bounded too:
 * above MUX_SESSION_HIGH the carrier is not read (the old rule, for many
 * streams that all stall). */
#define MUX_WINDOW       (2u << 20)
#define MUX_CREDIT_AT    (MUX_WINDOW / 4)
#define MUX_SESSION_HIGH (32u << 20)
#define MUX_SESSION_LOW  (16u << 20)

typedef struct stream_s stream_t;

struct stream_s {
    link_mux_t *m;
    uint32_t    id;
    int         rfd, wfd;
    int         rd_done;        /* our FIN (or RESET) is sent */
    int         wr_fin;         /* the peer's FIN arrived */
    int         wr_shut;        /* our write side is shut */
    int         congested;
    int         acked;
    int         windowed;       /* both ends use windows for this stream */
    int64_t     tx_win;         /* bytes we may still send */
    int64_t     rx_allow;       /* bytes the peer may still send */
    size_t      rx_done;        /* written locally, not yet credited */
    link_dial_t *dial;          /* serving side: forward connect pending */
    uint8_t    *out;
    size_t      off, len, cap;
    stream_t   *next;
};

struct link_mux_s {
    link_loop_t              *loop;
    link_chan_t              *ch;
    link_carrier_t            car;
    char                      fhost[LINK_HOST_MAX];
    char                      fport[8];
    int                       server;
    link_mux_cbs_t            cbs;
    void                     *ud;
    stream_t                 *streams;
    uint32_t                  next_id;
    int                       paused;       /* carrier is full */
    int                       ncongested;   /* streams slow to drain */
    size_t                    buffered;     /* bytes all streams hold */
    int                       over;         /* buffered > SESSION_HIGH */
    size_t                    count;
    uint8_t                  *buf;
    stream_t                 *last;         /* took the last bytes */
    uint8_t                  *saved_at;     /* see link_mux_plain_at() */
    uint8_t                   saved[CNX_RECORD_HDR];
};

static void stream_io(link_loop_t *l, int fd, int revents, void *ud);

/* The read buffer (MUX_READ_RECORDS slots) is used only inside one
 * stream_read() call, so the muxes of all peers share one. */
static uint8_t  *mux_rbuf;
static unsigned  mux_rbuf_users;

static uint8_t *
rbuf_get(void)
{
    if (mux_rbuf == NULL) {
        mux_rbuf = malloc(MUX_READ_RECORDS * MUX_SLOT);
        if (mux_rbuf == NULL) {
            return NULL;
        }
    }
    mux_rbuf_users++;
    return mux_rbuf;
}

static void
rbuf_put(void)
{
    if (mux_rbuf_users > 0 && --mux_rbuf_users == 0) {
        cnx_memzero(mux_rbuf, MUX_READ_RECORDS * MUX_SLOT);
        free(mux_rbuf);
        mux_rbuf = NULL;
    }
}

link_mux_t *
link_mux_new(link_loop_t *l, link_chan_t *ch, const link_carrier_t *car,
    const char *forward, const link_mux_cbs_t *cbs, void *ud)
{
    link_mux_t *m = calloc(1, sizeof(*m));

    if (m == NULL) {
        return NULL;
    }
    m->buf = rbuf_get();
    if (m->buf == NULL) {
        free(m);
        return NULL;
    }
    m->loop = l;
    m->ch = ch;
    m->car = *car;
    m->cbs = *cbs;
    m->ud = ud;
    m->next_id = 1;
    if (forward != NULL) {
        if (link_hostport_parse(forward, m->fhost, sizeof(m->fhost),
                                m->fport, sizeof(m->fport)) != 0)
        {
            rbuf_put();
            free(m);
            return NULL;
        }
        m->server = 1;
    }
    return m;
}

size_t
link_mux_count(const link_mux_t *m)
{
    return m->count;
}

static stream_t *
find(link_mux_t *m, uint32_t id)
{
    stream_t *s;

    for (s = m->streams; s != NULL; s = s->next) {
        if (s->id == id) {
            return s;
        }
    }
    return NULL;
}

static int
send_rec(link_mux_t *m, uint32_t id, uint8_t flags, const uint8_t *p,
    size_t n)
{
    cnx_record_t rec;

    memset(&rec, 0, sizeof(rec));
    rec.type = CNX_RECORD_STREAM;
    rec.flags = flags;
    rec.stream = id;
    rec.data = p;
    rec.len = n;
    return link_chan_send(m->ch, &rec);
}

static void
update(stream_t *s)
{
    link_mux_t *m = s->m;
    int         r = 0, w = 0;

    if (!s->rd_done && !m->paused && (!s->windowed || s->tx_win > 0)) {
        r = POLLIN;
    }
    if (s->len > s->off) {
        w = POLLOUT;
    }
    if (s->rfd == s->wfd) {
        link_loop_events(m->loop, s->rfd, r | w);
    } else {
        if (s->rfd >= 0) {
            link_loop_events(m->loop, s->rfd, r);
        }
        if (s->wfd >= 0) {
            link_loop_events(m->loop, s->wfd, w);
        }
    }
}

/* One more (on) or one less reason to stop reading the carrier. */
static void
congest(link_mux_t *m, int on)
{
    m->ncongested += on ? 1 : -1;
    if (m->car.ops->pause_read) {
        if (on && m->ncongested == 1) {
            m->car.ops->pause_read(m->car.c, 1);
        } else if (!on && m->ncongested == 0) {
            m->car.ops->pause_read(m->car.c, 0);
        }
    }
}

static void
set_congested(stream_t *s, int on)
{
    if (s->congested != on) {
        s->congested = on;
        congest(s->m, on);
    }
}

/* Account n more (add) or fewer bytes held by the session's streams. */
static void
buffered(link_mux_t *m, size_t n, int add)
{
    m->buffered = add ? m->buffered + n : m->buffered - n;
    if (!m->over && m->buffered > MUX_SESSION_HIGH) {
        m->over = 1;
        congest(m, 1);
    } else if (m->over && m->buffered <= MUX_SESSION_LOW) {
        m->over = 0;
        congest(m, 0);
    }
}

static void
stream_free(stream_t *s, int ok)
{
    link_mux_t *m = s->m;
    stream_t  **pp;
    uint32_t    id = s->id;

    for (pp = &m->streams; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    set_congested(s, 0);
    buffered(m, s->len - s->off, 0);
    if (m->last == s) {
        m->last = NULL;
    }
    link_dial_cancel(s->dial);
    if (s->rfd >= 0) {
        link_loop_unwatch(m->loop, s->rfd);
        close(s->rfd);
    }
    if (s->wfd >= 0 && s->wfd != s->rfd) {
        link_loop_unwatch(m->loop, s->wfd);
        close(s->wfd);
    }
    free(s->out);
    free(s);
    m->count--;
    if (m->cbs.stream_done) {
        m->cbs.stream_done(m, id, ok, m->ud);
    }
}

static void
stream_reset(stream_t *s, int tell_peer)
{
    if (tell_peer) {
        send_rec(s->m, s->id, CNX_STREAM_RESET, NULL, 0);
    }
    stream_free(s, 0);
}

/* Finished both ways?  Then close. */
static int
maybe_done(stream_t *s)
{
    if (s->rd_done && s->wr_fin && s->wr_shut) {
        stream_free(s, 1);
        return 1;
    }
    return 0;
}

static void
shut_write(stream_t *s)
{
    if (s->wr_shut) {
        return;
    }
    s->wr_shut = 1;
    if (s->wfd == s->rfd) {
        shutdown(s->wfd, SHUT_WR);
    } else if (s->wfd >= 0) {
        link_loop_unwatch(s->m->loop, s->wfd);
        close(s->wfd);
        s->wfd = -1;
    }
}

/* Give the peer back the window of what was written locally. */
static int
credit(stream_t *s)
{
    uint8_t b[4];
    size_t  n = s->rx_done;

    b[0] = (uint8_t) (n >> 24);
    b[1] = (uint8_t) (n >> 16);
    b[2] = (uint8_t) (n >> 8);
    b[3] = (uint8_t) n;
    s->rx_done = 0;
    s->rx_allow += (int64_t) n;
    if (send_rec(s->m, s->id, CNX_STREAM_WINDOW, b, 4) != 0) {
        stream_reset(s, 0);
        return -1;
    }
    return 0;
}

/* Write pending bytes to the local side; 0 ok, -1 stream gone. */
static int
flush(stream_t *s)
{
    if (s->dial != NULL) {
        return 0;               /* kept until the forward target is up */
    }
    while (s->len > s->off) {
        size_t  want = s->len - s->off;
        ssize_t n;

        if (s->wfd == s->rfd) {
            n = send(s->wfd, s->out + s->off, want, MSG_NOSIGNAL);
        } else {
            n = write(s->wfd, s->out + s->off, want);
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            stream_reset(s, 1);
            return -1;
        }
        s->off += (size_t) n;
        s->rx_done += (size_t) n;
        buffered(s->m, (size_t) n, 0);
        if ((size_t) n < want) {
            break;              /* full: wait for POLLOUT */
        }
    }
    if (s->windowed && s->rx_done >= MUX_CREDIT_AT && credit(s) != 0) {
        return -1;
    }
    if (s->off == s->len) {
        s->off = s->len = 0;
    }
    if (s->congested && s->len - s->off <= MUX_STREAM_LOW) {
        set_congested(s, 0);
    }
    if (s->len == 0 && s->wr_fin) {
        shut_write(s);
        if (maybe_done(s)) {
            return -1;
        }
    }
    update(s);
    return 0;
}

static int
append(stream_t *s, const uint8_t *p, size_t n)
{
    if (n == 0) {
        return 0;
    }
    if (p == s->out + s->len && s->len + n <= s->cap) {
        /* decrypted in place (link_mux_plain_at()) */
        s->len += n;
        buffered(s->m, n, 1);
        if (!s->windowed && s->len - s->off >= MUX_STREAM_HIGH) {
            set_congested(s, 1);
        }
        return 0;
    }
    if (s->off > 0 && s->off == s->len) {
        s->off = s->len = 0;
    }
    if (s->len + n > s->cap) {
        size_t   nc;
        uint8_t *q;

        if (s->off > 0) {
            memmove(s->out, s->out + s->off, s->len - s->off);
            s->len -= s->off;
            s->off = 0;
        }
        nc = s->cap ? s->cap : 65536;
        while (nc < s->len + n) {
            nc *= 2;
        }
        q = realloc(s->out, nc);
        if (q == NULL) {
            return -1;
        }
        s->out = q;
        s->cap = nc;
    }
    memcpy(s->out + s->len, p, n);
    s->len += n;
    buffered(s->m, n, 1);
    if (!s->windowed && s->len - s->off >= MUX_STREAM_HIGH) {
        set_congested(s, 1);
    }
    return 0;
}

/* A pipe holds 64 KiB by default: one record per wakeup of either side.
 * Ask for more (up to the system's limit, never less than it had). */
static void
pipe_grow(int fd)
{
#ifdef F_SETPIPE_SZ
    struct stat st;
    int         cur;

    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
        return;
    }
    cur = fcntl(fd, F_GETPIPE_SZ);
    if (cur >= 0 && cur < (int) MUX_PIPE_SIZE) {
        (void) fcntl(fd, F_SETPIPE_SZ, (int) MUX_PIPE_SIZE);
    }
#else
    (void) fd;
#endif
}

static stream_t *
stream_new(link_mux_t *m, uint32_t id, int rfd, int wfd)
{
    stream_t *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        return NULL;
    }
    s->m = m;
    s->id = id;
    s->rfd = rfd;
    s->wfd = wfd;
    if (rfd < 0) {
        goto link;              /* connecting (serve_open) */
    }
    link_set_nonblock(rfd);
    if (wfd != rfd) {
        link_set_nonblock(wfd);
        pipe_grow(rfd);
        pipe_grow(wfd);
    }
    if (link_loop_watch(m->loop, rfd, 0, stream_io, s) != 0
        || (wfd != rfd && link_loop_watch(m->loop, wfd, 0, stream_io, s) != 0))
    {
        link_loop_unwatch(m->loop, rfd);
        free(s);
        return NULL;
    }
link:
    s->next = m->streams;
    m->streams = s;
    m->count++;
    update(s);
    return s;
}

static void
carrier_check(link_mux_t *m)
{
    stream_t *s;

    if (!m->paused && m->car.ops->queued
        && m->car.ops->queued(m->car.c) >= MUX_CARRIER_HIGH)
    {
        m->paused = 1;
        for (s = m->streams; s != NULL; s = s->next) {
            update(s);
        }
    }
}

void
link_mux_writable(link_mux_t *m)
{
    stream_t *s;

    if (!m->paused) {
        return;
    }
    m->paused = 0;
    for (s = m->streams; s != NULL; s = s->next) {
        update(s);
    }
}

/* The mux reads up to MUX_READ_RECORDS record bodies with one readv(),
 * each behind room for its record header, so that the channel seals them
 * from there into the carrier without copying. */
static void
stream_read(stream_t *s)
{
    link_mux_t   *m = s->m;
    struct iovec  iov[MUX_READ_RECORDS];
    cnx_record_t  rec;
    ssize_t       n;
    size_t        off, left = (size_t) MUX_READ_RECORDS * MUX_CHUNK;
    int           i;

    if (s->windowed) {
        if (s->tx_win <= 0) {
            update(s);          /* wait for the peer's WINDOW */
            return;
        }
        if ((int64_t) left > s->tx_win) {
            left = (size_t) s->tx_win;
        }
    }
    for (i = 0; i < MUX_READ_RECORDS && left > 0; i++) {
        iov[i].iov_base = m->buf + (size_t) i * MUX_SLOT + CNX_RECORD_HDR;
        iov[i].iov_len = left < MUX_CHUNK ? left : MUX_CHUNK;
        left -= iov[i].iov_len;
    }
    n = readv(s->rfd, iov, i);
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        }
        stream_reset(s, 1);
        return;
    }
    if (n == 0) {
        s->rd_done = 1;
        if (send_rec(m, s->id, CNX_STREAM_FIN, NULL, 0) != 0) {
            stream_reset(s, 0);
            return;
        }
        if (s->rfd != s->wfd) {
            link_loop_unwatch(m->loop, s->rfd);
            close(s->rfd);
            s->rfd = -1;
        }
        if (!maybe_done(s)) {
            update(s);
        }
        return;
    }
    memset(&rec, 0, sizeof(rec));
    rec.type = CNX_RECORD_STREAM;
    rec.stream = s->id;
    for (i = 0, off = 0; off < (size_t) n; i++) {
        rec.data = iov[i].iov_base;
        rec.len = (size_t) n - off < MUX_CHUNK ? (size_t) n - off : MUX_CHUNK;
        off += rec.len;
        if (link_chan_send_room(m->ch, &rec) != 0) {
            stream_reset(s, 0);
            return;
        }
    }
    if (s->windowed) {
        s->tx_win -= n;
        if (s->tx_win <= 0) {
            update(s);
        }
    }
    carrier_check(m);
}

static void
stream_io(link_loop_t *l, int fd, int revents, void *ud)
{
    stream_t *s = ud;

    (void) l;
    if (fd == s->wfd && (revents & (POLLOUT | POLLERR | POLLHUP))
        && s->len > s->off)
    {
        if (flush(s) != 0) {
            return;
        }
    }
    if (fd == s->rfd && (revents & (POLLIN | POLLHUP | POLLERR))
        && !s->rd_done)
    {
        stream_read(s);
    }
}

uint32_t
link_mux_open(link_mux_t *m, int rfd, int wfd)
{
    uint32_t  id = m->next_id++;
    stream_t *s;

    s = stream_new(m, id, rfd, wfd);
    if (s == NULL) {
        close(rfd);
        if (wfd != rfd) {
            close(wfd);
        }
        return 0;
    }
    /* offer windows; the answer tells whether the peer uses them too */
    s->windowed = 1;
    s->tx_win = s->rx_allow = MUX_WINDOW;
    if (send_rec(m, id, CNX_STREAM_OPEN | CNX_STREAM_WINDOW, NULL, 0) != 0) {
        stream_free(s, 0);
        return 0;
    }
    return id;
}

int
link_mux_ping(link_mux_t *m)
{
    return send_rec(m, 0, CNX_STREAM_OPEN, NULL, 0);
}

static void
forward_dialed(void *ud, link_conn_t *c, const char *why)
{
    stream_t   *s = ud;
    link_mux_t *m = s->m;
    int         fd;

    s->dial = NULL;
    if (c == NULL) {
        link_err("forward to %s:%s: %s", m->fhost, m->fport, why);
        stream_reset(s, 1);
        return;
    }
    fd = link_conn_release(c);
    s->rfd = s->wfd = fd;
    if (link_loop_watch(m->loop, fd, 0, stream_io, s) != 0) {
        stream_reset(s, 1);
        return;
    }
    link_debug("stream %u -> %s:%s", (unsigned) s->id, m->fhost, m->fport);
    if (send_rec(m, s->id, CNX_STREAM_OPEN
                           | (s->windowed ? CNX_STREAM_WINDOW : 0), NULL, 0)
        != 0)
    {
        stream_reset(s, 0);
        return;
    }
    if (s->len > s->off || s->wr_fin) {
        flush(s);               /* what arrived while connecting */
    } else {
        update(s);
    }
}

/* An OPEN from the peer: connect to the forward target through the loop;
 * the stream's bytes wait in its buffer meanwhile. */
static void
serve_open(link_mux_t *m, const cnx_record_t *rec)
{
    stream_t *s;

    if (!m->server || rec->stream == 0) {
        send_rec(m, rec->stream, CNX_STREAM_RESET, NULL, 0);
        return;
    }
    if (m->count >= LINK_MUX_MAX_STREAMS) {
        link_debug("stream %u refused: %u streams open in this session",
                   (unsigned) rec->stream, (unsigned) m->count);
        send_rec(m, rec->stream, CNX_STREAM_RESET, NULL, 0);
        return;
    }
    s = stream_new(m, rec->stream, -1, -1);
    if (s == NULL) {
        send_rec(m, rec->stream, CNX_STREAM_RESET, NULL, 0);
        return;
    }
    if (rec->flags & CNX_STREAM_WINDOW) {
        s->windowed = 1;
        s->tx_win = s->rx_allow = MUX_WINDOW;
    }
    s->dial = link_dial_start(m->loop, m->fhost, m->fport, MUX_FORWARD_MS,
                              forward_dialed, s);
    if (s->dial == NULL || (rec->len > 0
                            && append(s, rec->data, rec->len) != 0))
    {
        stream_reset(s, 1);
        return;
    }
    if (rec->len > 0) {
        m->last = s;
    }
}

/* A WINDOW record: the peer wrote that many more bytes of the stream. */
static void
window_update(stream_t *s, const cnx_record_t *rec)
{
    uint32_t inc;

    if (s == NULL || !s->windowed || rec->len != 4) {
        return;                 /* a stream that ended meanwhile */
    }
    inc = (uint32_t) rec->data[0] << 24 | (uint32_t) rec->data[1] << 16
          | (uint32_t) rec->data[2] << 8 | rec->data[3];
    s->tx_win += inc;
    if (s->tx_win > 0 && s->tx_win <= (int64_t) inc) {
        update(s);              /* was closed: read the local side again */
    }
}

void
link_mux_record(link_mux_t *m, const cnx_record_t *rec)
{
    stream_t *s;

    if (rec->type != CNX_RECORD_STREAM) {
        return;
    }
    if (rec->stream == 0) {
        if (rec->flags & CNX_STREAM_OPEN) {
            send_rec(m, 0, CNX_STREAM_FIN, NULL, 0);
        } else if ((rec->flags & CNX_STREAM_FIN) && m->cbs.pong) {
            m->cbs.pong(m, m->ud);
        }
        return;
    }
    s = find(m, rec->stream);
    if ((rec->flags & (CNX_STREAM_WINDOW | CNX_STREAM_OPEN))
        == CNX_STREAM_WINDOW)
    {
        window_update(s, rec);
        return;
    }
    if (s == NULL) {
        if ((rec->flags & CNX_STREAM_OPEN) && !(rec->flags & CNX_STREAM_RESET))
        {
            serve_open(m, rec);
        } else if (!(rec->flags & CNX_STREAM_RESET)) {
            send_rec(m, rec->stream, CNX_STREAM_RESET, NULL, 0);
        }
        return;
    }
    if (rec->flags & CNX_STREAM_RESET) {
        if (!s->acked && m->cbs.opened) {
            m->cbs.opened(m, s->id, 0, m->ud);
            s = find(m, rec->stream);
            if (s == NULL) {
                return;
            }
        }
        stream_reset(s, 0);
        return;
    }
    if ((rec->flags & CNX_STREAM_OPEN) && !m->server && !s->acked) {
        s->acked = 1;
        if (!(rec->flags & CNX_STREAM_WINDOW)) {
            s->windowed = 0;    /* an older peer: no windows */
            update(s);
        }
        if (m->cbs.opened) {
            m->cbs.opened(m, s->id, 1, m->ud);
            if (find(m, rec->stream) != s) {
                return;
            }
        }
    }
    if (rec->len > 0) {
        if (s->wr_fin || s->wr_shut) {
            stream_reset(s, 1);
            return;
        }
        if (s->windowed) {
            s->rx_allow -= (int64_t) rec->len;
            if (s->rx_allow < 0) {
                link_debug("stream %u: the peer overran its window",
                           (unsigned) s->id);
                stream_reset(s, 1);
                return;
            }
        }
        if (append(s, rec->data, rec->len) != 0) {
            stream_reset(s, 1);
            return;
        }
        m->last = s;
    }
    if (rec->flags & CNX_STREAM_FIN) {
        s->wr_fin = 1;
    }
    if (s->len - s->off < MUX_WRITE_BATCH && !s->wr_fin) {
        update(s);              /* written at the next turn of the loop */
        return;
    }
    flush(s);
}

/*
 * Where the channel may decrypt the next record (n bytes, header and
 * body): behind the pending bytes of the stream that took the last ones,
 * the header over their last 8 bytes (kept aside and put back by
 * link_mux_plain_done()), so that a body for that stream is already in
 * place.  NULL when there is no room; the record then goes the usual way.
 */
uint8_t *
link_mux_plain_at(link_mux_t *m, size_t n)
{
    stream_t *s = m->last;

    if (s == NULL || s->wr_fin || s->wr_shut || n < CNX_RECORD_HDR) {
        return NULL;
    }
    if (s->off == s->len && s->cap >= n) {
        s->off = s->len = CNX_RECORD_HDR;
    }
    if (s->len < CNX_RECORD_HDR || s->len - CNX_RECORD_HDR + n > s->cap) {
        return NULL;
    }
    m->saved_at = s->out + s->len - CNX_RECORD_HDR;
    memcpy(m->saved, m->saved_at, CNX_RECORD_HDR);
    return m->saved_at;
}

void
link_mux_plain_done(link_mux_t *m)
{
    if (m->saved_at != NULL) {
        memcpy(m->saved_at, m->saved, CNX_RECORD_HDR);
        m->saved_at = NULL;
    }
}

void
link_mux_reset_all(link_mux_t *m)
{
    while (m->streams != NULL) {
        stream_reset(m->streams, link_chan_ready(m->ch));
    }
}

void
link_mux_free(link_mux_t *m)
{
    if (m == NULL) {
        return;
    }
    m->cbs.stream_done = NULL;
    m->cbs.opened = NULL;
    while (m->streams != NULL) {
        stream_free(m->streams, 0);
    }
    rbuf_put();
    free(m);
}
