
/*
 * The relay cluster's link to Redis, one per worker (docs/cluster.md):
 * what the relay asks of it and what it tells the relay.
 */


#ifndef _NGX_STREAM_CLAWNEXUS_CLUSTER_H_INCLUDED_
#define _NGX_STREAM_CLAWNEXUS_CLUSTER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "cnx_cluster.h"
#include "cnx_relay_rec.h"


typedef enum {
    NGX_STREAM_CLAWNEXUS_LINK_OFF = 0,      /* no clawnexus_cluster */
    NGX_STREAM_CLAWNEXUS_LINK_DOWN,         /* waiting to reconnect */
    NGX_STREAM_CLAWNEXUS_LINK_CONNECTING,
    NGX_STREAM_CLAWNEXUS_LINK_READY
} ngx_stream_clawnexus_link_state_e;


/* What one worker's link did; kept in shared memory for /metrics. */
typedef struct {
    ngx_pid_t                   pid;
    ngx_uint_t                  state;      /* link_state_e */
    ngx_atomic_uint_t           ups;        /* times it became ready */
    ngx_atomic_uint_t           failures;   /* times it went down */
    ngx_atomic_uint_t           records_out;
    ngx_atomic_uint_t           records_in;
    ngx_atomic_uint_t           bytes_out;
    ngx_atomic_uint_t           bytes_in;
    ngx_atomic_uint_t           rtt_us;     /* last PING's round trip */
    ngx_atomic_uint_t           dropped;    /* records refused on arrival */
} ngx_stream_clawnexus_link_stats_t;

#define NGX_STREAM_CLAWNEXUS_LINK_SLOTS  128


/* a record for a member of this worker arrived (its dst.node is 0) */
typedef void (*ngx_stream_clawnexus_cluster_recv_pt)(
    const cnx_relay_rec_t *rec);
/* the link became ready (1) or went down (0) */
typedef void (*ngx_stream_clawnexus_cluster_state_pt)(ngx_uint_t ready);
/* some of the commands waiting for the socket to Redis were written */
typedef void (*ngx_stream_clawnexus_cluster_drain_pt)(void);
/* the owner of a name on another node, NULL: none, or no answer */
typedef void (*ngx_stream_clawnexus_cluster_owner_pt)(void *data,
    const cnx_relay_addr_t *owner);
/* the worker at a (its route) is alive or not */
typedef void (*ngx_stream_clawnexus_cluster_alive_pt)(
    const cnx_relay_addr_t *a, ngx_uint_t alive);


/* NGX_STREAM_CLAWNEXUS_LINK_* of this worker */
ngx_uint_t ngx_stream_clawnexus_cluster_state(void);

/* this worker's address in the cluster (node id, worker, pid; conn 0) */
const cnx_relay_addr_t *ngx_stream_clawnexus_cluster_addr(void);

/*
 * Publish rec on the channel of the worker rec->dst names (a member on
 * another node).  A src.node of 0 ("this node") is replaced by this
 * node's id.  Returns NGX_OK when it was queued to Redis, NGX_AGAIN when
 * 4 MiB of commands already wait for the socket to Redis (hold the sender
 * back and try later), NGX_DECLINED when the link is not ready, NGX_ERROR
 * otherwise.  A record is never kept
 * for later: while the link is down, nothing crosses nodes.
 */
ngx_int_t ngx_stream_clawnexus_cluster_publish(const cnx_relay_rec_t *rec);

/* The relay's handlers (NULL: records are counted and dropped). */
void ngx_stream_clawnexus_cluster_set_handlers(
    ngx_stream_clawnexus_cluster_recv_pt recv,
    ngx_stream_clawnexus_cluster_state_pt state,
    ngx_stream_clawnexus_cluster_drain_pt drain);

/* Bytes of records waiting to be published or for the socket to Redis. */
size_t ngx_stream_clawnexus_cluster_unsent(void);

/*
 * Ask Redis who owns name, if its worker is alive and on another node.
 * handler runs once, later (with NULL if nobody, or the link went down).
 * NGX_DECLINED while the link is down, NGX_ERROR: handler does not run.
 */
ngx_int_t ngx_stream_clawnexus_cluster_owner(const char *name, size_t len,
    ngx_stream_clawnexus_cluster_owner_pt handler, void *data);

/*
 * Ask whether the route of the worker at a is alive (its key in Redis
 * has not expired).  handler runs only with an answer.
 */
ngx_int_t ngx_stream_clawnexus_cluster_alive(const cnx_relay_addr_t *a,
    ngx_stream_clawnexus_cluster_alive_pt handler);

/* The counters of every worker of this cycle, NULL without a cluster. */
ngx_stream_clawnexus_link_stats_t *ngx_stream_clawnexus_cluster_stats(
    ngx_uint_t *n);


/*
 * Names.  claim: connection conn of this worker now owns name; the owner
 * on another node, if any and alive, gets a REPLACED record.  again = 1
 * announces a name after the link came back and keeps a live other owner.
 * NGX_DECLINED while the link is down (announce it again when ready).
 * release: the name is free, if conn still owns it.
 */
ngx_int_t ngx_stream_clawnexus_cluster_claim(const char *name, size_t len,
    uint64_t conn, ngx_uint_t again);
void ngx_stream_clawnexus_cluster_release(const char *name, size_t len,
    uint64_t conn);

/* Append the cluster's lines of /metrics (nothing without a cluster). */
u_char *ngx_stream_clawnexus_cluster_metrics(u_char *p, u_char *last);


#endif /* _NGX_STREAM_CLAWNEXUS_CLUSTER_H_INCLUDED_ */
