/*
 * clawnexus-link: loop-driven TCP connect (see dial.h).
 */

#define _GNU_SOURCE                     /* pipe2 */

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dial.h"
#include "link.h"

/*
 * A host name is resolved on a thread of its own (getaddrinfo() may wait
 * for DNS for seconds): the thread writes one byte to a pipe the loop
 * watches.  The lookup is shared by the thread and the dial and freed by
 * whichever lets go last, so a dial cancelled or timed out meanwhile
 * leaves nothing dangling.
 */
typedef struct {
    pthread_mutex_t  lock;
    int              refs;
    int              rfd, wfd;
    int              rc;
    struct addrinfo *res;
    char            *host, *port;
} dial_lookup_t;

struct link_dial_s {
    link_loop_t     *loop;
    dial_lookup_t   *lookup;        /* a host name being resolved */
    struct addrinfo *res;
    struct addrinfo *ai;            /* the address being tried */
    int              fd;
    uint64_t         deadline;      /* timer ids */
    uint64_t         kick;
    link_dial_cb     cb;
    void            *ud;
    const char      *why;
};

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
lookup_release(dial_lookup_t *lk)
{
    int last;

    pthread_mutex_lock(&lk->lock);
    last = --lk->refs == 0;
    pthread_mutex_unlock(&lk->lock);
    if (!last) {
        return;
    }
    if (lk->res != NULL) {
        freeaddrinfo(lk->res);
    }
    close(lk->rfd);
    close(lk->wfd);
    pthread_mutex_destroy(&lk->lock);
    free(lk->host);
    free(lk->port);
    free(lk);
}

static void *
lookup_run(void *arg)
{
    dial_lookup_t   *lk = arg;
    struct addrinfo  hints;
    char             one = 1;

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    lk->rc = getaddrinfo(lk->host, lk->port, &hints, &lk->res);
    if (lk->rc != 0) {
        hints.ai_flags = 0;
        lk->rc = getaddrinfo(lk->host, lk->port, &hints, &lk->res);
    }
    if (lk->rc != 0) {
        lk->res = NULL;
    }
    if (write(lk->wfd, &one, 1) != 1) {
        /* the pipe has room for it; nothing else to do */
    }
    lookup_release(lk);
    return NULL;
}

static void
dial_lookup_stop(link_dial_t *d)
{
    if (d->lookup != NULL) {
        link_loop_unwatch(d->loop, d->lookup->rfd);
        lookup_release(d->lookup);
        d->lookup = NULL;
    }
}

static void dial_next(link_dial_t *d);

/* The resolver thread is done: take its addresses and start connecting. */
static void
dial_resolved(link_loop_t *l, int fd, int revents, void *ud)
{
    link_dial_t   *d = ud;
    dial_lookup_t *lk = d->lookup;

    (void) l;
    (void) fd;
    (void) revents;
    d->res = lk->res;          /* the thread has written, it is done */
    lk->res = NULL;
    if (d->res == NULL) {
        d->why = "cannot resolve host name";
    }
    dial_lookup_stop(d);
    d->ai = d->res;
    dial_next(d);
}

/* Start resolving host:port on a thread; 0, or -1 when that fails. */
static int
dial_lookup_start(link_dial_t *d, const char *host, const char *port)
{
    dial_lookup_t  *lk = calloc(1, sizeof(*lk));
    int             p[2];
    pthread_t       t;
    pthread_attr_t  a;

    if (lk == NULL) {
        return -1;
    }
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
        free(lk);
        return -1;
    }
    lk->rfd = p[0];
    lk->wfd = p[1];
    lk->refs = 2;
    lk->host = strdup(host);
    lk->port = strdup(port);
    pthread_mutex_init(&lk->lock, NULL);
    if (lk->host == NULL || lk->port == NULL
        || link_loop_watch(d->loop, lk->rfd, POLLIN, dial_resolved, d) != 0)
    {
        lk->refs = 1;
        lookup_release(lk);
        return -1;
    }
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &a, lookup_run, lk) != 0) {
        pthread_attr_destroy(&a);
        link_loop_unwatch(d->loop, lk->rfd);
        lk->refs = 1;
        lookup_release(lk);
        return -1;
    }
    pthread_attr_destroy(&a);
    d->lookup = lk;
    return 0;
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
    dial_lookup_stop(d);
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
        /* a name: resolved on a thread, connecting starts when it is done */
        d->res = NULL;
        if (dial_lookup_start(d, host, port) != 0) {
            d->why = "cannot start resolving the host name";
        }
    }
    d->ai = d->res;
    if (d->lookup == NULL) {
        d->kick = link_loop_timer(l, 0, dial_kick, d);
    }
    d->deadline = link_loop_timer(l, timeout_ms, dial_expired, d);
    if ((d->lookup == NULL && d->kick == 0) || d->deadline == 0) {
        dial_free(d);
        return NULL;
    }
    return d;
}
