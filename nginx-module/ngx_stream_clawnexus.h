/*
 * ngx_stream_clawnexus.h: what the relay module (ngx_stream_clawnexus_module.c
 * and the files beside it, see ngx_stream_clawnexus_relay.h) shares with the
 * status module (ngx_stream_clawnexus_status_module.c), the two stream
 * modules of ngx_stream_clawnexus_module.so: the shared zone with its
 * counters and gauges.
 */

#ifndef NGX_STREAM_CLAWNEXUS_H
#define NGX_STREAM_CLAWNEXUS_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "cnx_relay_limit.h"


#define NGX_STREAM_CLAWNEXUS_NERRORS  11
#define NGX_STREAM_CLAWNEXUS_NCLOSES  7

/* ERROR codes and WebSocket close codes counted in the metrics. */
extern const char      *ngx_stream_clawnexus_error_codes[];
extern const unsigned   ngx_stream_clawnexus_close_codes[];


/* Counters shared by all workers (atomics in a shared zone). */
typedef struct {
    ngx_atomic_t                        connections;
    ngx_atomic_t                        active;
    ngx_atomic_t                        handshake_failures;
    ngx_atomic_t                        names;
    ngx_atomic_t                        registrations;
    ngx_atomic_t                        rooms;
    ngx_atomic_t                        rooms_total;
    ngx_atomic_t                        messages;
    ngx_atomic_t                        bytes;
    ngx_atomic_t                        auth_failures;
    ngx_atomic_t                        paused;
    ngx_atomic_t                        errors[NGX_STREAM_CLAWNEXUS_NERRORS];
    ngx_atomic_t                        closes[NGX_STREAM_CLAWNEXUS_NCLOSES];
} ngx_stream_clawnexus_stats_t;


/*
 * Gauges of one process, indexed by its nginx process slot; summed over
 * the processes still alive, so that a killed worker's sockets stop
 * counting.
 */
typedef struct {
    ngx_pid_t                           pid;
    ngx_atomic_t                        active;
    ngx_atomic_t                        rooms;
} ngx_stream_clawnexus_gauge_t;


typedef struct {
    ngx_rbtree_t                        rbtree;     /* names */
    ngx_rbtree_node_t                   sentinel;
    ngx_uint_t                          nnames;
    ngx_stream_clawnexus_stats_t        stats;
    ngx_pid_t                           workers[NGX_MAX_PROCESSES];
    cnx_limit_table_t                  *limits;     /* per address */
    ngx_stream_clawnexus_gauge_t        gauges[NGX_MAX_PROCESSES];
} ngx_stream_clawnexus_shm_t;



extern ngx_shm_zone_t                *ngx_stream_clawnexus_zone;
extern ngx_stream_clawnexus_shm_t    *ngx_stream_clawnexus_sh;
extern ngx_stream_clawnexus_stats_t  *ngx_stream_clawnexus_stats;


/* Adds the shared zone (clawnexus_zone) once per configuration. */
ngx_int_t ngx_stream_clawnexus_add_zone(ngx_conf_t *cf);

/* Whether process pid is alive. */
ngx_int_t ngx_stream_clawnexus_alive(ngx_pid_t pid);


#endif /* NGX_STREAM_CLAWNEXUS_H */
