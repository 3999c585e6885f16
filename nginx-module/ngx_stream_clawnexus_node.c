/*
 * ngx_stream_clawnexus_node.c: members of rooms that live on another relay
 * node of a cluster (docs/cluster.md).  Such a member is a proxy with the
 * operations of a member in another worker; its records go through the
 * cluster's Redis instead of a socketpair.
 *
 * A JOIN to a name this node does not have gets a proxy whose address is
 * not known yet: its incoming() asks Redis for the owner and sends the
 * INCOMING when the answer comes (the room waits in the core as any JOIN
 * to another process does); no owner, or no answer, and the initiator
 * gets the REFUSED record TARGET_OFFLINE.  The rooms with a proxy end
 * (PEER_LEFT) when this worker's link goes down or the route of the
 * proxy's worker expires in Redis.
 *
 * Backpressure: the receiver's FLOW, as between workers, and the credit
 * of cnx_cluster.h: a sender into another node is held back (as for a
 * full receiver) while a window of its DATA has not been acknowledged by
 * ACK records of the receiving node, so that what Redis and the sockets
 * in between hold for one room stays bounded.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "cnx_cluster.h"
#include "cnx_relay_msg.h"
#include "cnx_relay_rec.h"
#include "ngx_stream_clawnexus_cluster.h"
#include "ngx_stream_clawnexus_relay.h"


/* how often the routes of the members on other nodes are checked */
#define NGX_STREAM_CLAWNEXUS_NODE_CHECK   500       /* ms */
/* routes checked per round (the rest wait for the next) */
#define NGX_STREAM_CLAWNEXUS_NODE_ROUTES  64
/*
 * A sender of DATA to another node stops reading while this much waits
 * for the socket to Redis, and goes on below NODE_LOW.
 */
#define NGX_STREAM_CLAWNEXUS_NODE_HIGH    (1024 * 1024)
#define NGX_STREAM_CLAWNEXUS_NODE_LOW     (256 * 1024)
/* the node of a proxy whose owner Redis has not named yet */
#define NGX_STREAM_CLAWNEXUS_NODE_UNKNOWN  ((uint64_t) -1)


typedef struct {
    ngx_stream_clawnexus_proxy_t        px;         /* px.member.data = us */
    u_char                              room[CNX_RELAY_ROOM_ID_MAX];
    size_t                              room_len;
    cnx_cluster_credit_t                credit;     /* DATA on its way */
    unsigned                            asking:1;   /* a lookup is out */
    unsigned                            asked:1;    /* once already */
    unsigned                            gone:1;     /* unused() meanwhile */
} ngx_stream_clawnexus_node_proxy_t;


static void ngx_stream_clawnexus_node_recv(const cnx_relay_rec_t *rec);
static void ngx_stream_clawnexus_node_link(ngx_uint_t ready);
static void ngx_stream_clawnexus_node_drain(void);
static void ngx_stream_clawnexus_node_check(ngx_event_t *ev);
static void ngx_stream_clawnexus_node_count(ngx_event_t *ev);


/*
 * The room of the last DATA from another node: the records of one room
 * come in runs (a sender's frames of one read), and the receiver's side
 * of the credit then needs no lookup of the room for each.
 */
static struct {
    cnx_relay_member_t                 *to;
    ngx_stream_clawnexus_node_proxy_t  *np;     /* NULL: nothing kept */
    size_t                              room_len;
    u_char                              room[CNX_RELAY_ROOM_ID_MAX];
} ngx_stream_clawnexus_node_last;

static ngx_queue_t             ngx_stream_clawnexus_node_proxies;
static ngx_queue_t             ngx_stream_clawnexus_node_waiters;
static ngx_event_t             ngx_stream_clawnexus_node_check_ev;
static ngx_event_t             ngx_stream_clawnexus_node_down_ev;
static ngx_event_t             ngx_stream_clawnexus_node_count_ev;
static uint64_t                ngx_stream_clawnexus_node_asked;
static cnx_relay_member_ops_t  ngx_stream_clawnexus_node_ops;


#define ngx_stream_clawnexus_node_of(m)                                       \
    ((ngx_stream_clawnexus_node_proxy_t *) (m)->data)

#define ngx_stream_clawnexus_node_known(m)                                    \
    ((m)->addr.node != NGX_STREAM_CLAWNEXUS_NODE_UNKNOWN)


static cnx_relay_member_t *
ngx_stream_clawnexus_node_new(const cnx_relay_addr_t *a, int binary)
{
    ngx_stream_clawnexus_node_proxy_t  *np;

    np = ngx_calloc(sizeof(ngx_stream_clawnexus_node_proxy_t),
                    ngx_cycle->log);
    if (np == NULL) {
        return NULL;
    }

    cnx_relay_member_init(&np->px.member, &ngx_stream_clawnexus_node_ops,
                          NULL, np, a, 1);
    np->px.member.binary = binary ? 1 : 0;
    ngx_queue_insert_tail(&ngx_stream_clawnexus_node_proxies, &np->px.link);

    return &np->px.member;
}


cnx_relay_member_t *
ngx_stream_clawnexus_node_lookup(const char *name, size_t len)
{
    cnx_relay_addr_t  a;

    /* without a link no other node can be asked: TARGET_OFFLINE at once */
    if (ngx_stream_clawnexus_cluster_state()
        != NGX_STREAM_CLAWNEXUS_LINK_READY)
    {
        return NULL;
    }

    ngx_memzero(&a, sizeof(cnx_relay_addr_t));
    a.node = NGX_STREAM_CLAWNEXUS_NODE_UNKNOWN;
    a.worker = -1;
    a.pid = -1;
    a.conn = ++ngx_stream_clawnexus_node_asked;

    return ngx_stream_clawnexus_node_new(&a, 0);
}


cnx_relay_member_t *
ngx_stream_clawnexus_node_remote(const cnx_relay_addr_t *a, int binary)
{
    cnx_relay_member_t  *m;

    m = ngx_stream_clawnexus_node_new(a, binary);

    if (m) {
        /* the room is counted by the initiator's node (see gauges) */
        ((ngx_stream_clawnexus_proxy_t *) m->data)->remote_half = 1;
        ngx_stream_clawnexus_worker.remote_halves++;
    }

    return m;
}


/* The initiator of the JOIN np stands for, or NULL. */
static cnx_relay_member_t *
ngx_stream_clawnexus_node_initiator(ngx_stream_clawnexus_node_proxy_t *np,
    cnx_dir_room_t **room)
{
    cnx_dir_room_t  *r;

    r = cnx_dir_room_get(cnx_relay_core_dir(ngx_stream_clawnexus_worker.core),
                         (const char *) np->room, np->room_len);

    if (r == NULL || r->member[1] != &np->px.member.dir) {
        return NULL;
    }

    *room = r;

    return r->member[0]->session;
}


/* Redis named the owner (or nobody): the JOIN goes on, or is refused. */
static void
ngx_stream_clawnexus_node_owner(void *data, const cnx_relay_addr_t *owner)
{
    ngx_stream_clawnexus_node_proxy_t *np = data;

    cnx_dir_room_t      *r;
    cnx_relay_rec_t      rec;
    cnx_relay_addr_t     unknown;
    cnx_relay_member_t  *m, *ini;

    np->asking = 0;

    if (np->gone || ngx_stream_clawnexus_worker.core == NULL) {
        ngx_free(np);
        return;
    }

    m = &np->px.member;

    ini = ngx_stream_clawnexus_node_initiator(np, &r);
    if (ini == NULL) {
        return;
    }

    unknown = m->addr;

    /*
     * Redis may not have read a claim that left the owner's node before
     * the client had its REGISTERED (it reads each connection in turn):
     * ask once more before saying nobody has the name.
     */
    if (owner == NULL && !np->asked
        && ngx_stream_clawnexus_cluster_owner(r->name[1], r->name_len[1],
                                              ngx_stream_clawnexus_node_owner,
                                              np)
           == NGX_OK)
    {
        np->asked = 1;
        np->asking = 1;
        return;
    }

    if (owner) {
        m->addr = *owner;

        if (ngx_stream_clawnexus_remote_ops.incoming(m, r, ini)
            == CNX_RELAY_OP_OK)
        {
            return;
        }

        m->addr = unknown;
    }

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "clawnexus: \"%s\" joins \"%s\": no other node has it",
                  r->name[0], r->name[1]);

    /* the core answers the initiator as for any target that refused */
    ngx_memzero(&rec, sizeof(cnx_relay_rec_t));
    rec.type = CNX_RELAY_REC_REFUSED;
    rec.src = unknown;
    rec.dst = ini->addr;
    rec.room = (const char *) np->room;
    rec.room_len = np->room_len;
    rec.name = CNX_RELAY_ERR_TARGET_OFFLINE;
    rec.name_len = sizeof(CNX_RELAY_ERR_TARGET_OFFLINE) - 1;

    cnx_relay_core_record(ngx_stream_clawnexus_worker.core, ini, &rec);
    ngx_stream_clawnexus_publish();
}


static int
ngx_stream_clawnexus_node_incoming(cnx_relay_member_t *to, cnx_dir_room_t *r,
    cnx_relay_member_t *from)
{
    ngx_stream_clawnexus_node_proxy_t  *np = ngx_stream_clawnexus_node_of(to);

    if (ngx_stream_clawnexus_node_known(to)) {
        return ngx_stream_clawnexus_remote_ops.incoming(to, r, from);
    }

    ngx_memcpy(np->room, r->id, r->id_len);
    np->room_len = r->id_len;

    if (ngx_stream_clawnexus_cluster_owner(r->name[1], r->name_len[1],
                                           ngx_stream_clawnexus_node_owner,
                                           np)
        != NGX_OK)
    {
        return CNX_RELAY_OP_ERROR;
    }

    np->asking = 1;

    return CNX_RELAY_OP_OK;
}


static void
ngx_stream_clawnexus_node_unused(cnx_relay_member_t *m)
{
    ngx_stream_clawnexus_node_proxy_t  *np = ngx_stream_clawnexus_node_of(m);

    if (np->px.remote_half) {
        ngx_stream_clawnexus_worker.remote_halves--;
    }

    ngx_queue_remove(&np->px.link);

    if (ngx_stream_clawnexus_node_last.np == np) {
        ngx_stream_clawnexus_node_last.np = NULL;
    }

    if (np->asking) {
        np->gone = 1;               /* freed when the answer comes */
        return;
    }

    ngx_free(np);
}


/*
 * The proxy of the room rec names, if to is in it and the proxy is its
 * other member and the record's sender.
 */
static ngx_stream_clawnexus_node_proxy_t *
ngx_stream_clawnexus_node_in(cnx_relay_member_t *to,
    const cnx_relay_rec_t *rec)
{
    cnx_dir_room_t      *r;
    cnx_dir_member_t    *d;
    cnx_relay_member_t  *p;

    if (to == NULL || rec->room_len == 0
        || rec->room_len > CNX_RELAY_ROOM_ID_MAX)
    {
        return NULL;
    }

    /* np stays until unused(), which forgets it here */
    if (ngx_stream_clawnexus_node_last.np
        && ngx_stream_clawnexus_node_last.to == to
        && ngx_stream_clawnexus_node_last.room_len == rec->room_len
        && ngx_memcmp(ngx_stream_clawnexus_node_last.room, rec->room,
                      rec->room_len)
           == 0
        && cnx_relay_addr_eq(&ngx_stream_clawnexus_node_last.np->px.member.addr,
                             &rec->src))
    {
        return ngx_stream_clawnexus_node_last.np;
    }

    r = cnx_dir_room_get(cnx_relay_core_dir(ngx_stream_clawnexus_worker.core),
                         rec->room, rec->room_len);
    if (r == NULL || cnx_dir_room_side(r, &to->dir) < 0) {
        return NULL;
    }

    d = cnx_dir_room_peer(r, &to->dir);
    p = d ? d->session : NULL;

    if (p == NULL || p->ops != &ngx_stream_clawnexus_node_ops
        || !cnx_relay_addr_eq(&p->addr, &rec->src))
    {
        return NULL;
    }

    ngx_stream_clawnexus_node_last.to = to;
    ngx_stream_clawnexus_node_last.np = ngx_stream_clawnexus_node_of(p);
    ngx_stream_clawnexus_node_last.room_len = rec->room_len;
    ngx_memcpy(ngx_stream_clawnexus_node_last.room, rec->room, rec->room_len);

    return ngx_stream_clawnexus_node_last.np;
}


/*
 * The sender at the local end of np's room is held back (1) or free (0):
 * the core hears it as a FLOW record from np.
 */
static void
ngx_stream_clawnexus_node_hold(ngx_stream_clawnexus_node_proxy_t *np,
    cnx_relay_member_t *local, const cnx_relay_rec_t *about, int held)
{
    cnx_relay_rec_t  rec;

    ngx_memzero(&rec, sizeof(cnx_relay_rec_t));
    rec.type = CNX_RELAY_REC_FLOW;
    rec.flags = held ? CNX_RELAY_REC_F_SET : 0;
    rec.src = np->px.member.addr;
    rec.dst = local->addr;
    rec.room = about->room;
    rec.room_len = about->room_len;

    cnx_relay_core_record(ngx_stream_clawnexus_worker.core, local, &rec);
}


/*
 * A record for the member to on another node (from
 * ngx_stream_clawnexus_remote_ops).  Addresses across nodes carry the
 * route's generation, the link's count, and node 0 is filled in by the
 * link.
 */
ngx_int_t
ngx_stream_clawnexus_node_send(cnx_relay_member_t *to, cnx_relay_rec_t *rec)
{
    int                          held, full;
    ngx_int_t                    rc;
    cnx_relay_addr_t             src;
    ngx_stream_clawnexus_ctx_t  *fc;

    if (!ngx_stream_clawnexus_node_known(to)) {
        /* the JOIN never left this node: nobody to tell */
        return NGX_OK;
    }

    src = rec->src;
    rec->src.node = 0;
    rec->src.gen = ngx_stream_clawnexus_cluster_addr()->gen;

    rc = ngx_stream_clawnexus_cluster_publish(rec);

    if (rc == NGX_DECLINED) {
        /* the link just went down: the room ends in this turn (PEER_LEFT) */
        return NGX_OK;
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    if ((rec->type != CNX_RELAY_REC_DATA_TEXT
         && rec->type != CNX_RELAY_REC_DATA_BIN)
        || rec->src.pid != (int32_t) ngx_pid)
    {
        return NGX_OK;
    }

    held = cnx_cluster_credit_sent(&ngx_stream_clawnexus_node_of(to)->credit,
                                   rec->payload_len);
    full = ngx_stream_clawnexus_cluster_unsent()
           > NGX_STREAM_CLAWNEXUS_NODE_HIGH;

    if (held < 0 && !full) {
        return NGX_OK;
    }

    /* the sender is a session here */
    fc = ngx_stream_clawnexus_conn_find(src.conn);

    if (fc == NULL || !cnx_relay_addr_eq(&fc->member.addr, &src)) {
        return NGX_OK;
    }

    if (held >= 0) {
        /* its window is spent, or free again: the core holds it back */
        ngx_stream_clawnexus_node_hold(ngx_stream_clawnexus_node_of(to),
                                       &fc->member, rec, held);
    }

    if (full) {
        /* it waits for the link to drain */
        ngx_stream_clawnexus_pause(&fc->wait,
                                   &ngx_stream_clawnexus_node_waiters,
                                   &ngx_stream_clawnexus_node_waiters);
    }

    return NGX_OK;
}


static void
ngx_stream_clawnexus_node_drain(void)
{
    if (!ngx_queue_empty(&ngx_stream_clawnexus_node_waiters)
        && ngx_stream_clawnexus_cluster_unsent()
           <= NGX_STREAM_CLAWNEXUS_NODE_LOW)
    {
        ngx_stream_clawnexus_release(&ngx_stream_clawnexus_node_waiters);
    }
}


/*
 * End the rooms with members on other nodes: all of them (a == NULL), or
 * those of the worker at a (its route).
 */
static void
ngx_stream_clawnexus_node_leave(const cnx_relay_addr_t *a)
{
    ngx_uint_t                          n;
    ngx_queue_t                        *q, *next;
    cnx_relay_member_t                 *m;
    ngx_stream_clawnexus_node_proxy_t  *np;

    n = 0;

    for (q = ngx_queue_head(&ngx_stream_clawnexus_node_proxies);
         q != ngx_queue_sentinel(&ngx_stream_clawnexus_node_proxies);
         q = next)
    {
        next = ngx_queue_next(q);
        np = ngx_queue_data(q, ngx_stream_clawnexus_node_proxy_t, px.link);
        m = &np->px.member;

        /* a lookup that is out is answered (with NULL when the link went) */
        if (np->asking || !ngx_stream_clawnexus_node_known(m)) {
            continue;
        }

        if (a && !(m->addr.node == a->node && m->addr.gen == a->gen
                   && m->addr.worker == a->worker && m->addr.pid == a->pid))
        {
            continue;
        }

        /* the core ends its room and gives np back (unused) */
        cnx_relay_core_leave(ngx_stream_clawnexus_worker.core, m);
        n++;
    }

    if (n) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "clawnexus: %ui room%s with other nodes ended: %s", n,
                      n == 1 ? "" : "s",
                      a ? "a worker there is gone" : "the link is down");
        ngx_stream_clawnexus_publish();
    }
}


static void
ngx_stream_clawnexus_node_alive(const cnx_relay_addr_t *a, ngx_uint_t alive)
{
    if (!alive && ngx_stream_clawnexus_worker.core) {
        ngx_stream_clawnexus_node_leave(a);
    }
}


/* Every NODE_CHECK ms: is each worker we share rooms with still there? */
static void
ngx_stream_clawnexus_node_check(ngx_event_t *ev)
{
    ngx_uint_t                          i, n;
    ngx_queue_t                        *q;
    cnx_relay_addr_t                    seen[NGX_STREAM_CLAWNEXUS_NODE_ROUTES];
    cnx_relay_member_t                 *m;
    ngx_stream_clawnexus_node_proxy_t  *np;

    if (ngx_stream_clawnexus_cluster_state()
        != NGX_STREAM_CLAWNEXUS_LINK_READY)
    {
        return;                         /* started again when it is */
    }

    n = 0;

    for (q = ngx_queue_head(&ngx_stream_clawnexus_node_proxies);
         q != ngx_queue_sentinel(&ngx_stream_clawnexus_node_proxies)
         && n < NGX_STREAM_CLAWNEXUS_NODE_ROUTES;
         q = ngx_queue_next(q))
    {
        np = ngx_queue_data(q, ngx_stream_clawnexus_node_proxy_t, px.link);
        m = &np->px.member;

        if (!ngx_stream_clawnexus_node_known(m)) {
            continue;
        }

        for (i = 0; i < n; i++) {
            if (seen[i].node == m->addr.node && seen[i].gen == m->addr.gen
                && seen[i].worker == m->addr.worker
                && seen[i].pid == m->addr.pid)
            {
                break;
            }
        }

        if (i == n) {
            seen[n] = m->addr;
            seen[n].conn = 0;
            n++;
        }
    }

    for (i = 0; i < n; i++) {
        if (ngx_stream_clawnexus_cluster_alive(&seen[i],
                                               ngx_stream_clawnexus_node_alive)
            != NGX_OK)
        {
            break;
        }
    }

    if (!ngx_exiting && !ngx_terminate && !ngx_quit) {
        ngx_add_timer(ev, NGX_STREAM_CLAWNEXUS_NODE_CHECK);
    }
}


/* An ACK of n bytes of DATA from np's room to its sender. */
static void
ngx_stream_clawnexus_node_ack(ngx_stream_clawnexus_node_proxy_t *np,
    cnx_relay_member_t *to, const cnx_relay_rec_t *about, uint64_t n)
{
    u_char           count[CNX_RELAY_REC_ACK_LEN];
    cnx_relay_rec_t  rec;

    n = ngx_min(n, NGX_MAX_UINT32_VALUE);
    count[0] = (u_char) (n >> 24);
    count[1] = (u_char) (n >> 16);
    count[2] = (u_char) (n >> 8);
    count[3] = (u_char) n;

    ngx_memzero(&rec, sizeof(cnx_relay_rec_t));
    rec.type = CNX_RELAY_REC_ACK;
    rec.src = to->addr;
    rec.dst = np->px.member.addr;
    rec.room = about->room;
    rec.room_len = about->room_len;
    rec.payload = count;
    rec.payload_len = sizeof(count);

    (void) ngx_stream_clawnexus_node_send(&np->px.member, &rec);
}


/*
 * A record from another relay node.  A REPLACED (a newer REGISTER of the
 * name elsewhere) first takes the name out of this node's directory, so
 * that the core sees an owner other than the member.
 */
static void
ngx_stream_clawnexus_node_recv(const cnx_relay_rec_t *rec)
{
    int                             held;
    uint64_t                        n;
    const uint8_t                  *p;
    cnx_relay_member_t             *to;
    ngx_stream_clawnexus_node_proxy_t  *np;
    ngx_stream_clawnexus_ctx_t     *ctx;
    ngx_stream_clawnexus_addr_t     me;
    ngx_stream_clawnexus_worker_t  *w = &ngx_stream_clawnexus_worker;

    if (w->core == NULL || rec->dst.pid != (int32_t) ngx_pid
        || rec->dst.worker != (int32_t) ngx_worker
        || rec->dst.gen != ngx_stream_clawnexus_cluster_addr()->gen)
    {
        return;
    }

    ctx = ngx_stream_clawnexus_conn_find(rec->dst.conn);
    to = ctx && ctx->state == NGX_STREAM_CLAWNEXUS_OPEN ? &ctx->member : NULL;

    if (to == NULL && rec->type == CNX_RELAY_REC_INCOMING) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "clawnexus: \"%*s\" joins a socket of this node "
                      "that is gone", rec->name_len, rec->name);
    }

    switch (rec->type) {

    case CNX_RELAY_REC_FLOW:
    case CNX_RELAY_REC_ACK:
        /* the sender's side of the credit: the core hears the sum */
        np = ngx_stream_clawnexus_node_in(to, rec);
        if (np == NULL) {
            return;
        }

        if (rec->type == CNX_RELAY_REC_FLOW) {
            held = cnx_cluster_credit_flow(&np->credit,
                                           rec->flags & CNX_RELAY_REC_F_SET);

        } else {
            p = rec->payload;
            held = cnx_cluster_credit_acked(&np->credit,
                              ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
                              | ((uint32_t) p[2] << 8) | p[3]);
        }

        if (held >= 0) {
            ngx_stream_clawnexus_node_hold(np, to, rec, held);
            ngx_stream_clawnexus_publish();
        }

        return;

    case CNX_RELAY_REC_DATA_TEXT:
    case CNX_RELAY_REC_DATA_BIN:
        cnx_relay_core_record(w->core, to, rec);

        /* the receiver's side: what arrived is acknowledged in steps */
        np = ngx_stream_clawnexus_node_in(to, rec);

        if (np) {
            n = cnx_cluster_credit_arrived(&np->credit, rec->payload_len);

            if (n) {
                ngx_stream_clawnexus_node_ack(np, to, rec, n);
            }
        }

        /* the counters once per turn of the event loop, not per DATA */
        if (!ngx_stream_clawnexus_node_count_ev.posted) {
            ngx_post_event(&ngx_stream_clawnexus_node_count_ev,
                           &ngx_posted_events);
        }

        return;

    default:
        break;
    }

    if (rec->type == CNX_RELAY_REC_REPLACED) {
        if (to == NULL || !to->registered || rec->name_len != to->name_len
            || ngx_memcmp(rec->name, to->name, to->name_len) != 0)
        {
            return;
        }

        if (ngx_stream_clawnexus_sh) {
            ngx_stream_clawnexus_me(to, &me);
            ngx_stream_clawnexus_name_release(to->name, to->name_len, &me);
        }
    }

    cnx_relay_core_record(w->core, to, rec);
    ngx_stream_clawnexus_publish();
}


/*
 * The link is ready: announce this worker's names again and watch the
 * routes of other nodes.  It went down: the rooms across nodes end, and
 * senders held back for it go on (into rooms that ended).
 */
static void
ngx_stream_clawnexus_node_link(ngx_uint_t ready)
{
    ngx_rbtree_node_t           *node, *root, *sentinel;
    ngx_stream_clawnexus_ctx_t  *ctx;

    if (ngx_stream_clawnexus_worker.core == NULL) {
        return;
    }

    if (!ready) {
        /*
         * Not here: the link may go down inside a command sent while the
         * core is busy (a REGISTER's claim); the rooms end in this turn of
         * the event loop, before any new input.
         */
        if (!ngx_stream_clawnexus_node_down_ev.posted) {
            ngx_post_event(&ngx_stream_clawnexus_node_down_ev,
                           &ngx_posted_events);
        }

        return;
    }

    if (!ngx_stream_clawnexus_node_check_ev.timer_set) {
        ngx_add_timer(&ngx_stream_clawnexus_node_check_ev,
                      NGX_STREAM_CLAWNEXUS_NODE_CHECK);
    }

    root = ngx_stream_clawnexus_worker.conns.root;
    sentinel = ngx_stream_clawnexus_worker.conns.sentinel;

    if (root == sentinel) {
        return;
    }

    for (node = ngx_rbtree_min(root, sentinel);
         node;
         node = ngx_rbtree_next(&ngx_stream_clawnexus_worker.conns, node))
    {
        ctx = (ngx_stream_clawnexus_ctx_t *) node;

        if (ctx->state == NGX_STREAM_CLAWNEXUS_OPEN
            && ctx->member.registered)
        {
            (void) ngx_stream_clawnexus_cluster_claim(ctx->member.name,
                                                      ctx->member.name_len,
                                                      ctx->member.addr.conn,
                                                      1);
        }
    }
}


static void
ngx_stream_clawnexus_node_down(ngx_event_t *ev)
{
    if (ngx_stream_clawnexus_worker.core == NULL) {
        return;
    }

    ngx_stream_clawnexus_release(&ngx_stream_clawnexus_node_waiters);
    ngx_stream_clawnexus_node_leave(NULL);
}


static void
ngx_stream_clawnexus_node_count(ngx_event_t *ev)
{
    ngx_stream_clawnexus_publish();
}


/* In a worker's init_process, after the relay core is made. */
void
ngx_stream_clawnexus_node_init(void)
{
    ngx_event_t             *ev = &ngx_stream_clawnexus_node_check_ev;
    cnx_relay_member_ops_t  *ops = &ngx_stream_clawnexus_node_ops;

    ngx_queue_init(&ngx_stream_clawnexus_node_proxies);
    ngx_queue_init(&ngx_stream_clawnexus_node_waiters);

    /* what differs from a member in another worker: see the top */
    *ops = ngx_stream_clawnexus_remote_ops;
    ops->incoming = ngx_stream_clawnexus_node_incoming;
    ops->unused = ngx_stream_clawnexus_node_unused;

    ngx_memzero(ev, sizeof(ngx_event_t));
    ev->handler = ngx_stream_clawnexus_node_check;
    ev->log = ngx_cycle->log;
    ev->data = ev;
    ev->cancelable = 1;

    ev = &ngx_stream_clawnexus_node_down_ev;
    ngx_memzero(ev, sizeof(ngx_event_t));
    ev->handler = ngx_stream_clawnexus_node_down;
    ev->log = ngx_cycle->log;
    ev->data = ev;

    ev = &ngx_stream_clawnexus_node_count_ev;
    ngx_memzero(ev, sizeof(ngx_event_t));
    ev->handler = ngx_stream_clawnexus_node_count;
    ev->log = ngx_cycle->log;
    ev->data = ev;

    ngx_stream_clawnexus_cluster_set_handlers(ngx_stream_clawnexus_node_recv,
                                              ngx_stream_clawnexus_node_link,
                                              ngx_stream_clawnexus_node_drain);
}
