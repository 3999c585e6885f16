/*
 * clawnexus-link: poll(2) event loop.  The endpoint has a handful of
 * sockets (relay, listeners, a few streams), so poll's linear scan is
 * cheaper than the bookkeeping of anything fancier.
 */

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "link.h"
#include "loop.h"

typedef struct {
    int        fd;
    int        events;
    link_io_cb cb;
    void      *ud;
} watch_t;

typedef struct {
    uint64_t      id;
    int64_t       at;
    link_timer_cb cb;
    void         *ud;
} timer_t_;

struct link_loop_s {
    watch_t       *w;
    size_t         nw, capw;
    timer_t_      *t;
    size_t         nt, capt;
    uint64_t       next_id;
    int            stop;
    int            code;
    struct pollfd *pfd;
    size_t         cappfd;
};

link_loop_t *
link_loop_new(void)
{
    return calloc(1, sizeof(link_loop_t));
}

void
link_loop_free(link_loop_t *l)
{
    if (l) {
        free(l->w);
        free(l->t);
        free(l->pfd);
        free(l);
    }
}

static watch_t *
find(link_loop_t *l, int fd)
{
    size_t i;

    for (i = 0; i < l->nw; i++) {
        if (l->w[i].fd == fd) {
            return &l->w[i];
        }
    }
    return NULL;
}

int
link_loop_watch(link_loop_t *l, int fd, int events, link_io_cb cb, void *ud)
{
    watch_t *w = find(l, fd);

    if (w == NULL) {
        if (l->nw == l->capw) {
            size_t   nc = l->capw ? l->capw * 2 : 16;
            watch_t *n = realloc(l->w, nc * sizeof(*n));

            if (n == NULL) {
                return -1;
            }
            l->w = n;
            l->capw = nc;
        }
        w = &l->w[l->nw++];
    }
    w->fd = fd;
    w->events = events;
    w->cb = cb;
    w->ud = ud;
    return 0;
}

void
link_loop_events(link_loop_t *l, int fd, int events)
{
    watch_t *w = find(l, fd);

    if (w) {
        w->events = events;
    }
}

void
link_loop_unwatch(link_loop_t *l, int fd)
{
    watch_t *w = find(l, fd);

    if (w) {
        /* mark; compacted after dispatch so indices stay valid */
        w->fd = -1;
        w->cb = NULL;
    }
}

uint64_t
link_loop_timer(link_loop_t *l, int64_t ms, link_timer_cb cb, void *ud)
{
    if (l->nt == l->capt) {
        size_t    nc = l->capt ? l->capt * 2 : 16;
        timer_t_ *n = realloc(l->t, nc * sizeof(*n));

        if (n == NULL) {
            return 0;
        }
        l->t = n;
        l->capt = nc;
    }
    l->t[l->nt].id = ++l->next_id;
    l->t[l->nt].at = link_now_ms() + ms;
    l->t[l->nt].cb = cb;
    l->t[l->nt].ud = ud;
    l->nt++;
    return l->next_id;
}

void
link_loop_cancel(link_loop_t *l, uint64_t id)
{
    size_t i;

    for (i = 0; id && i < l->nt; i++) {
        if (l->t[i].id == id) {
            l->t[i] = l->t[--l->nt];
            return;
        }
    }
}

void
link_loop_stop(link_loop_t *l, int code)
{
    if (!l->stop) {
        l->stop = 1;
        l->code = code;
    }
}

static void
compact(link_loop_t *l)
{
    size_t i, j = 0;

    for (i = 0; i < l->nw; i++) {
        if (l->w[i].fd >= 0) {
            l->w[j++] = l->w[i];
        }
    }
    l->nw = j;
}

int
link_loop_run(link_loop_t *l)
{
    while (!l->stop) {
        int64_t now = link_now_ms(), wait = -1;
        size_t  i, n;
        int     rc;

        /* due timers first */
        for (i = 0; i < l->nt; ) {
            if (l->t[i].at <= now) {
                timer_t_ t = l->t[i];

                l->t[i] = l->t[--l->nt];
                t.cb(l, t.ud);
                if (l->stop) {
                    return l->code;
                }
                i = 0;
                now = link_now_ms();
                continue;
            }
            i++;
        }
        for (i = 0; i < l->nt; i++) {
            int64_t d = l->t[i].at - now;

            if (wait < 0 || d < wait) {
                wait = d < 0 ? 0 : d;
            }
        }
        compact(l);
        if (l->cappfd < l->nw) {
            struct pollfd *p = realloc(l->pfd, l->nw * sizeof(*p));

            if (p == NULL) {
                return LINK_EXIT_FAIL;
            }
            l->pfd = p;
            l->cappfd = l->nw;
        }
        n = l->nw;
        for (i = 0; i < n; i++) {
            l->pfd[i].fd = l->w[i].events ? l->w[i].fd : -1;
            l->pfd[i].events = (short) l->w[i].events;
            l->pfd[i].revents = 0;
        }
        rc = poll(l->pfd, n, wait > 1000000 ? 1000000 : (int) wait);
        if (rc < 0) {
            if (errno == EINTR) {
                continue;
            }
            return LINK_EXIT_FAIL;
        }
        for (i = 0; i < n && !l->stop; i++) {
            int fd = l->pfd[i].fd;

            if (fd < 0 || l->pfd[i].revents == 0) {
                continue;
            }
            /* the watch may have been removed by an earlier callback */
            if (i < l->nw && l->w[i].fd == fd && l->w[i].cb) {
                l->w[i].cb(l, fd, l->pfd[i].revents, l->w[i].ud);
            }
        }
    }
    return l->code;
}
