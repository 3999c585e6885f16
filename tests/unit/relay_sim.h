/*
 * A simulated relay for the relay core's tests and fuzz target: several
 * processes, each with a cnx_relay_core_t, whose remote members turn
 * events into cnx_relay_rec records (encoded and decoded for real) queued
 * for the other process; a shared name table; client sockets that log
 * what the relay sends them.
 */

#ifndef RELAY_SIM_H
#define RELAY_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "cnx_relay_core.h"

#define SIM_PROCS      3     /* the last one on another node */
#define SIM_NODE       0x5eedc0de0000002bULL
#define SIM_SOCKS      16
#define SIM_LOG        4096
#define SIM_NOW        1700000000
#define SIM_KEY        "0123456789abcdef0123456789abcdef"

typedef struct sim_s  sim_t;

typedef struct {
    cnx_relay_member_t   m;
    sim_t               *sim;
    int                  proc;
    int                  id;
    int                  open;
    int                  closing;       /* the core said CNX_RELAY_CLOSE */
    char                 log[SIM_LOG];  /* events, one per line */
    size_t               log_len;
    int                  paused;        /* nblocked > 0 at the last flow */
    /* DATA received: sequence checks for the fuzz target */
    uint64_t             ndata;
} sim_sock_t;

typedef struct {
    sim_t               *sim;
    int                  proc;
    cnx_relay_core_t    *core;
} sim_proc_t;

struct sim_s {
    cnx_relay_limits_t   lim;
    sim_proc_t           proc[SIM_PROCS];
    sim_sock_t           sock[SIM_SOCKS];
    struct {
        char             name[CNX_RELAY_CLAW_ID_MAX + 1];
        int              owner;          /* socket index, -1: none */
    } names[SIM_SOCKS];
    long                 remotes;        /* remote members alive */
    struct sim_remote_s *rlist;
    int                  auth_blocked;   /* auth_limit says no */
    unsigned             auth_fails;
    /* records in flight */
    uint8_t             *q[1024];
    size_t               qlen[1024];
    size_t               qhead, qtail;
    unsigned             records;
    uint64_t             opens;
    int                  (*on_data)(sim_t *sim, sim_sock_t *to,
                             cnx_dir_room_t *r, int binary,
                             const uint8_t *p, size_t n);
};

/* Limits: max_rooms 4, max_pending 3, max_incoming 3, max_pair 2,
   jwt_max_lifetime 86400. */
void sim_init(sim_t *sim, int max_lifetime);
void sim_free(sim_t *sim);

/* Socket id lives in process proc (opens it). */
sim_sock_t *sim_open(sim_t *sim, int id, int proc);
void sim_close(sim_t *sim, sim_sock_t *s);

/* A client message; returns the core's verdict. */
int sim_text(sim_t *sim, sim_sock_t *s, const char *json);
int sim_bin(sim_t *sim, sim_sock_t *s, const uint8_t *p, size_t n);
int sim_register(sim_t *sim, sim_sock_t *s, const char *name, int binary);
int sim_join(sim_t *sim, sim_sock_t *s, const char *target);

/* Deliver queued records until none is left. */
void sim_run(sim_t *sim);

/* Kill process proc: its sockets vanish, the others drop their rooms. */
void sim_kill(sim_t *sim, int proc);

/* The first logged line that starts with prefix (copied into out), and
   removes the log up to and including it.  0 if none. */
int sim_take(sim_sock_t *s, const char *prefix, char *out, size_t cap);
void sim_clear(sim_sock_t *s);

/* The room id of the last INCOMING/JOINED line taken into line. */
void sim_room_of(const char *line, char *id, size_t cap);

/* A token for name valid from iat for life seconds. */
const char *sim_token(const char *name, int64_t iat, int64_t life);

#endif
