/*
 * clawnexus-link: length-prefixed payload frames over a direct TCP
 * connection.
 */

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "direct.h"
#include "link.h"

#define DIRECT_READ   (256u << 10)
#define DIRECT_SMALL  4096          /* reads before link_direct_set_bulk() */
#define DIRECT_HELLO_FRAME_MAX (128u << 10)
#define DIRECT_HIGH   (4u << 20)
#define DIRECT_LOW    (1u << 20)

struct link_direct_s {
    link_loop_t       *loop;
    link_conn_t       *conn;
    int                fd;
    link_direct_cbs_t  cbs;
    void              *ud;
    uint8_t           *in;
    size_t             inlen, incap;
    uint8_t           *out;
    size_t             off, len, cap;
    size_t             chunk;       /* read size */
    size_t             frame_max;
    int                paused;
    int                was_high;
    int                dead;
    uint64_t           dead_timer;
    char               why[128];
};

static void direct_io(link_loop_t *l, int fd, int revents, void *ud);

static void
events(link_direct_t *d)
{
    int ev = 0;

    if (d->dead) {
        return;
    }
    if (!d->paused || link_conn_want_read(d->conn)) {
        ev |= POLLIN;
    }
    if (d->len > d->off) {
        ev |= POLLOUT;
    }
    link_loop_events(d->loop, d->fd, ev);
}

link_direct_t *
link_direct_new(link_loop_t *l, link_conn_t *c, const link_direct_cbs_t *cbs,
    void *ud)
{
    link_direct_t *d = calloc(1, sizeof(*d));

    if (d == NULL) {
        return NULL;
    }
    d->loop = l;
    d->conn = c;
    d->fd = link_conn_fd(c);
    d->cbs = *cbs;
    d->ud = ud;
    /* small until the session is up: an unauthenticated connection
     * costs little memory */
    d->chunk = DIRECT_SMALL;
    d->frame_max = DIRECT_HELLO_FRAME_MAX;
    if (link_loop_watch(l, d->fd, POLLIN, direct_io, d) != 0) {
        free(d);
        return NULL;
    }
    return d;
}

void
link_direct_set_bulk(link_direct_t *d)
{
    d->chunk = DIRECT_READ;
    d->frame_max = LINK_DIRECT_FRAME_MAX;
}

void
link_direct_set_ud(link_direct_t *d, void *ud)
{
    d->ud = ud;
}

void
link_direct_free(link_direct_t *d)
{
    if (d == NULL) {
        return;
    }
    link_loop_cancel(d->loop, d->dead_timer);
    link_loop_unwatch(d->loop, d->fd);
    link_conn_close(d->conn);
    free(d->in);
    free(d->out);
    free(d);
}

static void
dead_fire(link_loop_t *l, void *ud)
{
    link_direct_t *d = ud;

    (void) l;
    d->dead_timer = 0;
    if (d->cbs.closed) {
        d->cbs.closed(d, d->why, d->ud);
    }
}

/* Deferred so that callers in the middle of a send stay valid. */
static void
die(link_direct_t *d, const char *why)
{
    if (d->dead) {
        return;
    }
    d->dead = 1;
    snprintf(d->why, sizeof(d->why), "%s", why);
    link_loop_events(d->loop, d->fd, 0);
    d->dead_timer = link_loop_timer(d->loop, 0, dead_fire, d);
}

size_t
link_direct_queued(const link_direct_t *d)
{
    return d->len - d->off;
}

void
link_direct_pause_read(link_direct_t *d, int pause)
{
    d->paused = pause;
    events(d);
}

static void
flush(link_direct_t *d)
{
    while (!d->dead && d->len > d->off) {
        long n = link_conn_write(d->conn, d->out + d->off, d->len - d->off);

        if (n == LINK_IO_AGAIN) {
            break;
        }
        if (n < 0) {
            die(d, "write failed");
            return;
        }
        d->off += (size_t) n;
    }
    if (d->off == d->len) {
        d->off = d->len = 0;
    }
    if (link_direct_queued(d) >= DIRECT_HIGH) {
        d->was_high = 1;
    }
    events(d);
    if (d->was_high && link_direct_queued(d) <= DIRECT_LOW) {
        d->was_high = 0;
        if (d->cbs.writable) {
            d->cbs.writable(d, d->ud);
        }
    }
}

int
link_direct_send(link_direct_t *d, const uint8_t *p, size_t n, int binary)
{
    uint32_t h;

    if (d->dead || n > LINK_DIRECT_FRAME_MAX) {
        return -1;
    }
    if (d->off > 0) {
        memmove(d->out, d->out + d->off, d->len - d->off);
        d->len -= d->off;
        d->off = 0;
    }
    if (d->len + n + 4 > d->cap) {
        size_t   nc = d->cap ? d->cap : 65536;
        uint8_t *q;

        while (nc < d->len + n + 4) {
            nc *= 2;
        }
        q = realloc(d->out, nc);
        if (q == NULL) {
            die(d, "out of memory");
            return -1;
        }
        d->out = q;
        d->cap = nc;
    }
    h = (uint32_t) n | (binary ? 0x80000000u : 0);
    d->out[d->len++] = (uint8_t) (h >> 24);
    d->out[d->len++] = (uint8_t) (h >> 16);
    d->out[d->len++] = (uint8_t) (h >> 8);
    d->out[d->len++] = (uint8_t) h;
    memcpy(d->out + d->len, p, n);
    d->len += n;
    flush(d);
    return 0;
}

static void
direct_read(link_direct_t *d)
{
    for ( ;; ) {
        size_t off = 0;
        long   got;

        if (d->dead || d->paused) {
            return;
        }
        if (d->incap - d->inlen < d->chunk) {
            size_t   nc = d->inlen + d->chunk;
            uint8_t *q = realloc(d->in, nc);

            if (q == NULL) {
                die(d, "out of memory");
                return;
            }
            d->in = q;
            d->incap = nc;
        }
        got = link_conn_read(d->conn, d->in + d->inlen, d->incap - d->inlen);
        if (got == LINK_IO_AGAIN) {
            return;
        }
        if (got <= 0) {
            die(d, got == 0 ? "connection closed" : "read failed");
            return;
        }
        d->inlen += (size_t) got;
        while (!d->dead && d->inlen - off >= 4) {
            const uint8_t *b = d->in + off;
            uint32_t       h = (uint32_t) b[0] << 24 | (uint32_t) b[1] << 16
                               | (uint32_t) b[2] << 8 | b[3];
            size_t         n = h & 0x7fffffffu;

            if (n > d->frame_max) {
                die(d, "oversized frame");
                return;
            }
            if (d->inlen - off < 4 + n) {
                break;
            }
            off += 4 + n;
            if (d->cbs.frame) {
                d->cbs.frame(d, b + 4, n, (h & 0x80000000u) != 0, d->ud);
            }
        }
        if (d->dead) {
            return;
        }
        memmove(d->in, d->in + off, d->inlen - off);
        d->inlen -= off;
    }
}

static void
direct_io(link_loop_t *l, int fd, int revents, void *ud)
{
    link_direct_t *d = ud;

    (void) l;
    (void) fd;
    if (revents & POLLOUT) {
        flush(d);
    }
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        if (link_conn_want_read(d->conn)) {
            flush(d);
        }
        direct_read(d);
    }
}
