/*
 * clawnexus-link: a small poll(2) event loop with one-shot timers.
 */

#ifndef CNX_LINK_LOOP_H
#define CNX_LINK_LOOP_H

#include <stdint.h>

typedef struct link_loop_s link_loop_t;

/* revents are poll(2) bits. */
typedef void (*link_io_cb)(link_loop_t *l, int fd, int revents, void *ud);
typedef void (*link_timer_cb)(link_loop_t *l, void *ud);

link_loop_t *link_loop_new(void);
void link_loop_free(link_loop_t *l);

/* Watch fd for events (POLLIN/POLLOUT); re-adding updates. 0 or -1. */
int  link_loop_watch(link_loop_t *l, int fd, int events, link_io_cb cb,
    void *ud);
/* Change the events of a watched fd (0 = temporarily none). */
void link_loop_events(link_loop_t *l, int fd, int events);
void link_loop_unwatch(link_loop_t *l, int fd);

/* One-shot timer after ms; returns an id > 0 (or 0 on failure). */
uint64_t link_loop_timer(link_loop_t *l, int64_t ms, link_timer_cb cb,
    void *ud);
void link_loop_cancel(link_loop_t *l, uint64_t id);

/* Run until link_loop_stop(); returns the code given to stop. */
int  link_loop_run(link_loop_t *l);
void link_loop_stop(link_loop_t *l, int code);

#endif
