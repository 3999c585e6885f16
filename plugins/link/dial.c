/*
 * clawnexus-link: loop-driven TCP connect (see dial.h).
 */

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dial.h"
#include "link.h"

struct link_dial_s {
    link_loop_t     *loop;
    struct addrinfo *res;
    struct addrinfo *ai;            /* the address being tried */
    int              fd;
    uint64_t         deadline;      /* timer ids */
    uint64_t         kick;
    link_dial_cb     cb;
    void            *ud;
    const char      *why;
};

static void dial_next(link_dial_t *d);

static const char *
errno_why(int e)
{
    switch (e) {
    case ECONNREFUSED: return "connection refused";
    case ETIMEDOUT:    return "timed out";
    case ENETUNREACH:  return "network unreachable";
    case EHOSTUNREACH: return "host unreachable";
    case EMFILE:
    case ENFILE:       return "out of file descriptors";
    default:           return "connect failed";
    }
}

static void
dial_close_fd(link_dial_t *d)
{
    if (d->fd >= 0) {
        link_loop_unwatch(d->loop, d->fd);
        close(d->fd);
        d->fd = -1;
    }
}

static void
dial_free(link_dial_t *d)
{
    link_loop_cancel(d->loop, d->deadline);
    link_loop_cancel(d->loop, d->kick);
    if (d->res != NULL) {
        freeaddrinfo(d->res);
    }
    free(d);
}

void
link_dial_cancel(link_dial_t *d)
{
    if (d != NULL) {
        dial_close_fd(d);
        dial_free(d);
    }
}

/* Hand over the result: fd >= 0 connected, else failure with d->why. */
static void
dial_done(link_dial_t *d)
{
    link_dial_cb  cb = d->cb;
    void         *ud = d->ud;
    const char   *why = d->why;
    link_conn_t  *c = NULL;
    int           fd = d->fd;

    if (fd >= 0) {
        link_loop_unwatch(d->loop, fd);
        d->fd = -1;
        c = link_conn_from_fd(fd);      /* also sets TCP_NODELAY */
        if (c == NULL) {
            close(fd);
            why = "out of memory";
        }
    }
    dial_free(d);
    cb(ud, c, why);
}

static void
dial_io(link_loop_t *l, int fd, int revents, void *ud)
{
    link_dial_t *d = ud;
    int          err = 0;
    socklen_t    el = sizeof(err);

    (void) l;
    (void) revents;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0) {
        err = errno;
    }
    if (err == 0) {
        dial_done(d);
        return;
    }
    d->why = errno_why(err);
    dial_close_fd(d);
    d->ai = d->ai->ai_next;
    dial_next(d);
}

/* Try addresses from d->ai on; finishes (calls back) when none is left. */
static void
dial_next(link_dial_t *d)
{
    for ( ; d->ai != NULL; d->ai = d->ai->ai_next) {
        struct addrinfo *ai = d->ai;

        d->fd = socket(ai->ai_family,
                       ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                       ai->ai_protocol);
        if (d->fd < 0) {
            d->why = errno_why(errno);
            continue;
        }
        if (connect(d->fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            dial_done(d);
            return;
        }
        if (errno == EINPROGRESS
            && link_loop_watch(d->loop, d->fd, POLLOUT, dial_io, d) == 0)
        {
            return;
        }
        d->why = errno_why(errno);
        close(d->fd);
        d->fd = -1;
    }
    dial_done(d);
}

static void
dial_kick(link_loop_t *l, void *ud)
{
    link_dial_t *d = ud;

    (void) l;
    d->kick = 0;
    dial_next(d);
}

static void
dial_expired(link_loop_t *l, void *ud)
{
    link_dial_t *d = ud;

    (void) l;
    d->deadline = 0;
    dial_close_fd(d);
    d->why = "timed out";
    dial_done(d);
}

link_dial_t *
link_dial_start(link_loop_t *l, const char *host, const char *port,
    int timeout_ms, link_dial_cb cb, void *ud)
{
    struct addrinfo  hints;
    link_dial_t     *d = calloc(1, sizeof(*d));

    if (d == NULL) {
        return NULL;
    }
    d->loop = l;
    d->fd = -1;
    d->cb = cb;
    d->ud = ud;
    d->why = "connect failed";
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    if (getaddrinfo(host, port, &hints, &d->res) != 0) {
        /* a name: the system resolver (see docs/link.md, Limitations) */
        hints.ai_flags = AI_ADDRCONFIG;
        if (getaddrinfo(host, port, &hints, &d->res) != 0) {
            hints.ai_flags = 0;
            if (getaddrinfo(host, port, &hints, &d->res) != 0) {
                d->res = NULL;
                d->why = "cannot resolve host name";
            }
        }
    }
    d->ai = d->res;
    d->kick = link_loop_timer(l, 0, dial_kick, d);
    d->deadline = link_loop_timer(l, timeout_ms, dial_expired, d);
    if (d->kick == 0 || d->deadline == 0) {
        dial_free(d);
        return NULL;
    }
    return d;
}
