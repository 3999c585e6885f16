/*
 * ngx_stream_clawnexus_member.c: the relay core's member operations for a
 * session of this worker (local) and for a socket of another worker
 * (remote, through a proxy member), the core's host operations, and the
 * messages of a session handed to the core.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "cnx_relay_msg.h"
#include "cnx_relay_rec.h"
#include "cnx_utf8.h"
#include "ngx_stream_clawnexus_cluster.h"
#include "ngx_stream_clawnexus_relay.h"


/* Relay protocol: the core's member and host operations ------------------- */


static void
ngx_stream_clawnexus_send_text(ngx_stream_clawnexus_ctx_t *to,
    const char *p, int n)
{
    if (n <= 0) {
        /* cannot happen with NGX_STREAM_CLAWNEXUS_MSG_MAX; never fatal */
        ngx_log_error(NGX_LOG_ALERT, to->c->log, 0,
                      "clawnexus: a relay message did not fit, dropped");
        return;
    }

    ngx_stream_clawnexus_send_frame(to, CNX_WS_OP_TEXT, (const u_char *) p, n);
}


static void
ngx_stream_clawnexus_error(ngx_stream_clawnexus_ctx_t *ctx, const char *code,
    const char *message)
{
    char        out[NGX_STREAM_CLAWNEXUS_MSG_MAX];
    ngx_uint_t  i;

    ngx_log_error(NGX_LOG_INFO, ctx->c->log, 0,
                  "clawnexus: %s: %s", code, message);

    for (i = 0; i < NGX_STREAM_CLAWNEXUS_NERRORS; i++) {
        if (ngx_strcmp(ngx_stream_clawnexus_error_codes[i], code) == 0) {
            ngx_stream_clawnexus_count(errors[i], 1);
            break;
        }
    }

    ngx_stream_clawnexus_send_text(ctx, out,
        cnx_relay_build_error(out, sizeof(out), code, message));
    ngx_stream_clawnexus_backpressure(ctx, ctx);
}


/* Queue DATA{room_id, payload} (payload already JSON-escaped) for to. */
static ngx_int_t
ngx_stream_clawnexus_deliver_text(ngx_stream_clawnexus_ctx_t *to,
    const char *room, size_t room_len, const char *payload, size_t len)
{
    int                          n;
    size_t                       size;
    ngx_stream_clawnexus_out_t  *o;

    if (to->state != NGX_STREAM_CLAWNEXUS_OPEN) {
        return NGX_OK;
    }

    size = cnx_relay_data_size(room_len, len);

    o = ngx_stream_clawnexus_out_alloc(to, size + 1);
    if (o == NULL) {
        return NGX_ERROR;
    }

    /* the payload slice is forwarded exactly as the sender escaped it */
    n = cnx_relay_build_data_id((char *) o->data + CNX_WS_MAX_HEADER,
                                size + 1, room, room_len, payload, len);
    if (n < 0) {
        ngx_stream_clawnexus_out_put(o);
        return NGX_ERROR;
    }

    ngx_stream_clawnexus_commit(to, o, CNX_WS_OP_TEXT, n);

    return NGX_OK;
}


/*
 * Queue binary DATA for to: the binary frame for a peer that asked for
 * them, JSON DATA otherwise (NGX_DECLINED if the bytes are not UTF-8).
 */
static ngx_int_t
ngx_stream_clawnexus_deliver_bin(ngx_stream_clawnexus_ctx_t *to,
    const char *room, size_t room_len, const u_char *p, size_t len)
{
    int                          k;
    size_t                       size, h;
    ngx_stream_clawnexus_out_t  *o;

    if (to->state != NGX_STREAM_CLAWNEXUS_OPEN) {
        return NGX_OK;
    }

    if (to->member.binary) {
        o = ngx_stream_clawnexus_out_alloc(to, CNX_RELAY_BIN_HEADER_MAX + len);
        if (o == NULL) {
            return NGX_ERROR;
        }

        h = cnx_relay_bin_header(o->data + CNX_WS_MAX_HEADER, room, room_len);
        if (h == 0) {
            ngx_stream_clawnexus_out_put(o);
            return NGX_ERROR;
        }

        if (len) {
            ngx_memcpy(o->data + CNX_WS_MAX_HEADER + h, p, len);
        }

        ngx_stream_clawnexus_commit(to, o, CNX_WS_OP_BINARY, h + len);
        return NGX_OK;
    }

    /* a v1 peer only reads JSON: text payloads can be converted */
    if (!cnx_utf8_valid(p, len)) {
        return NGX_DECLINED;
    }

    size = 64 + room_len + 6 * len;

    o = ngx_stream_clawnexus_out_alloc(to, size);
    if (o == NULL) {
        return NGX_ERROR;
    }

    k = cnx_relay_build_data_str((char *) o->data + CNX_WS_MAX_HEADER, size,
                                 room, (const char *) p, len);
    if (k < 0) {
        ngx_stream_clawnexus_out_put(o);
        return NGX_ERROR;
    }

    ngx_stream_clawnexus_commit(to, o, CNX_WS_OP_TEXT, k);

    return NGX_OK;
}


#define ngx_stream_clawnexus_ctx_of(m)                                        \
    ((ngx_stream_clawnexus_ctx_t *) (m)->data)

/* The session of a member in this worker that acted, or NULL. */
#define ngx_stream_clawnexus_local(m)                                         \
    ((m) != NULL && !(m)->remote ? ngx_stream_clawnexus_ctx_of(m) : NULL)


/* After queueing to "to": hold back the local sender, tell the core. */
static void
ngx_stream_clawnexus_queued(cnx_relay_member_t *from,
    ngx_stream_clawnexus_ctx_t *to)
{
    ngx_stream_clawnexus_ctx_t  *fc = ngx_stream_clawnexus_local(from);

    if (fc) {
        ngx_stream_clawnexus_backpressure(fc, to);
    }

    if (ngx_stream_clawnexus_full(to) && !to->member.full
        && ngx_stream_clawnexus_worker.core)
    {
        cnx_relay_core_flow(ngx_stream_clawnexus_worker.core, &to->member, 1);
    }
}


static int
ngx_stream_clawnexus_local_incoming(cnx_relay_member_t *to, cnx_dir_room_t *r,
    cnx_relay_member_t *from)
{
    char                         out[NGX_STREAM_CLAWNEXUS_MSG_MAX];
    ngx_stream_clawnexus_ctx_t  *ctx = ngx_stream_clawnexus_ctx_of(to);

    ngx_log_error(NGX_LOG_INFO, ctx->c->log, 0,
                  "clawnexus: \"%s\" joins \"%s\"%s", r->name[0], r->name[1],
                  from->remote ? " from another worker" : "");

    ngx_stream_clawnexus_send_text(ctx, out,
        cnx_relay_build_incoming(out, sizeof(out), r->id, r->name[0]));
    ngx_stream_clawnexus_queued(from, ctx);

    return CNX_RELAY_OP_OK;
}


static void
ngx_stream_clawnexus_local_joined(cnx_relay_member_t *to, cnx_dir_room_t *r,
    cnx_relay_member_t *from)
{
    char                         out[NGX_STREAM_CLAWNEXUS_MSG_MAX];
    ngx_stream_clawnexus_ctx_t  *ctx = ngx_stream_clawnexus_ctx_of(to);

    ctx->rooms++;
    ngx_stream_clawnexus_send_text(ctx, out,
        cnx_relay_build_joined(out, sizeof(out), r->id,
                               r->name[cnx_dir_room_side(r, &from->dir)]));
    ngx_stream_clawnexus_queued(from, ctx);
}


static void
ngx_stream_clawnexus_local_peer_left(cnx_relay_member_t *to,
    cnx_dir_room_t *r, cnx_relay_member_t *from)
{
    char                         out[NGX_STREAM_CLAWNEXUS_MSG_MAX];
    ngx_stream_clawnexus_ctx_t  *ctx = ngx_stream_clawnexus_ctx_of(to);

    ngx_stream_clawnexus_send_text(ctx, out,
        cnx_relay_build_peer_left(out, sizeof(out), r->id));

    if (!from->left) {
        ngx_stream_clawnexus_queued(from, ctx);
    }
}


static void
ngx_stream_clawnexus_local_refused(cnx_relay_member_t *to, const char *id,
    size_t len, const char *code, const cnx_relay_addr_t *from)
{
    /* the core answers a local initiator itself */
}


static int
ngx_stream_clawnexus_local_data(cnx_relay_member_t *to, cnx_dir_room_t *r,
    cnx_relay_member_t *from, int binary, const uint8_t *p, size_t n)
{
    size_t                       h;
    ngx_int_t                    rc;
    ngx_stream_clawnexus_ctx_t  *ctx = ngx_stream_clawnexus_ctx_of(to);
    ngx_stream_clawnexus_ctx_t  *fc = ngx_stream_clawnexus_local(from);

    if (!binary) {
        rc = ngx_stream_clawnexus_deliver_text(ctx, r->id, r->id_len,
                                               (const char *) p, n);

    } else {
        rc = NGX_DECLINED;

        if (fc) {
            /* the sender's frame: its header, then p (see the core) */
            h = 2 + r->id_len;
            rc = ngx_stream_clawnexus_borrow(fc, ctx, (u_char *) p - h,
                                             n + h);
        }

        if (rc == NGX_DECLINED) {
            rc = ngx_stream_clawnexus_deliver_bin(ctx, r->id, r->id_len,
                                                  p, n);
        }
    }

    if (rc != NGX_OK) {
        if (fc == NULL) {
            ngx_log_error(NGX_LOG_INFO, ctx->c->log, 0,
                          "clawnexus: DATA from another worker dropped");
        }
        return CNX_RELAY_OP_ERROR;
    }

    if (fc) {
        fc->messages++;
    }

    ngx_stream_clawnexus_queued(from, ctx);

    /*
     * Other workers were told (FLOW) and hold their senders back; if DATA
     * keeps coming anyway, stop reading from them until this receiver
     * drains rather than grow its queue without end.
     */
    if (from->remote && from->addr.node == 0
        && ctx->kept > ctx->conf->send_queue + NGX_STREAM_CLAWNEXUS_IN_FLIGHT)
    {
        ngx_stream_clawnexus_pause(&ngx_stream_clawnexus_worker.ipc_wait,
                                   &ctx->waiters, ctx);
    }

    return CNX_RELAY_OP_OK;
}


static void
ngx_stream_clawnexus_local_replaced(cnx_relay_member_t *to,
    cnx_relay_member_t *by)
{
    char                         out[NGX_STREAM_CLAWNEXUS_MSG_MAX];
    ngx_stream_clawnexus_ctx_t  *ctx = ngx_stream_clawnexus_ctx_of(to);

    ngx_log_error(NGX_LOG_INFO, ctx->c->log, 0,
                  "clawnexus: \"%s\" registered again, "
                  "the newer socket owns it", to->name);

    ngx_stream_clawnexus_send_text(ctx, out,
        cnx_relay_build_error(out, sizeof(out), CNX_RELAY_ERR_REPLACED,
                              "this name was registered by a newer "
                              "connection"));
}


/* A member to's socket sends into is full or drained: pause or resume. */
static void
ngx_stream_clawnexus_local_flow(cnx_relay_member_t *to, cnx_dir_room_t *r,
    int full)
{
    ngx_stream_clawnexus_ctx_t  *ctx = ngx_stream_clawnexus_ctx_of(to);

    if (to->nblocked == 0 && ctx->wait.on == NULL
        && ctx->state == NGX_STREAM_CLAWNEXUS_OPEN && !ctx->c->read->posted)
    {
        ngx_post_event(ctx->c->read, &ngx_posted_events);
    }
}


static void
ngx_stream_clawnexus_local_reply(cnx_relay_member_t *to,
    cnx_relay_type_t type, const char *code, const char *text)
{
    char                         out[NGX_STREAM_CLAWNEXUS_MSG_MAX];
    ngx_stream_clawnexus_ctx_t  *ctx = ngx_stream_clawnexus_ctx_of(to);

    switch (type) {

    case CNX_RELAY_REGISTERED:
        ngx_log_error(NGX_LOG_INFO, ctx->c->log, 0,
                      "clawnexus: registered \"%s\"", to->name);
        ngx_stream_clawnexus_send_text(ctx, out,
            cnx_relay_build_registered(out, sizeof(out), to->name,
                                       to->binary));
        break;

    case CNX_RELAY_PONG:
        ngx_stream_clawnexus_send_text(ctx, out,
                                       cnx_relay_build_pong(out, sizeof(out)));
        break;

    default:
        ngx_stream_clawnexus_error(ctx, code, text);
        return;
    }

    ngx_stream_clawnexus_backpressure(ctx, ctx);
}


static void
ngx_stream_clawnexus_local_unused(cnx_relay_member_t *m)
{
    /* a session is freed with its connection */
}


const cnx_relay_member_ops_t  ngx_stream_clawnexus_local_ops = {
    ngx_stream_clawnexus_local_incoming,
    ngx_stream_clawnexus_local_joined,
    ngx_stream_clawnexus_local_peer_left,
    ngx_stream_clawnexus_local_refused,
    ngx_stream_clawnexus_local_data,
    ngx_stream_clawnexus_local_replaced,
    ngx_stream_clawnexus_local_flow,
    ngx_stream_clawnexus_local_reply,
    ngx_stream_clawnexus_local_unused
};


/*
 * Members in another worker: each event becomes a record (cnx_relay_rec)
 * on the channel to that worker.
 */
static ngx_int_t
ngx_stream_clawnexus_remote_rec(cnx_relay_member_t *to,
    cnx_relay_rec_type_t type, const cnx_relay_addr_t *src,
    const char *room, size_t room_len, const char *name, unsigned flags,
    const uint8_t *p, size_t n, ngx_stream_clawnexus_chan_t **chp)
{
    long                          h;
    u_char                        head[CNX_RELAY_REC_HEADER
                                       + CNX_RELAY_ROOM_ID_MAX
                                       + CNX_RELAY_CLAW_ID_MAX];
    cnx_relay_rec_t               rec;

    ngx_memzero(&rec, sizeof(cnx_relay_rec_t));
    rec.type = type;
    rec.flags = flags;
    rec.src = *src;
    rec.dst = to->addr;
    rec.room = room;
    rec.room_len = room_len;
    rec.name = name;
    rec.name_len = name ? ngx_strlen(name) : 0;
    rec.payload = p;
    rec.payload_len = n;

    *chp = NULL;

    if (to->addr.node) {
        /* a member on another relay node: through the cluster */
        return ngx_stream_clawnexus_node_send(to, &rec);
    }

    h = cnx_relay_rec_encode_head(&rec, head, sizeof(head));
    if (h < 0) {
        return NGX_ERROR;
    }

    *chp = ngx_stream_clawnexus_ipc_send(to->addr.worker, to->addr.pid, head,
                                         (size_t) h, p, n);

    return *chp ? NGX_OK : NGX_ERROR;
}


static ngx_int_t
ngx_stream_clawnexus_remote_send(cnx_relay_member_t *to,
    cnx_relay_rec_type_t type, const cnx_relay_addr_t *src,
    const char *room, size_t room_len, const char *name, unsigned flags,
    const uint8_t *p, size_t n)
{
    ngx_stream_clawnexus_chan_t  *ch;

    return ngx_stream_clawnexus_remote_rec(to, type, src, room, room_len,
                                           name, flags, p, n, &ch);
}


static int
ngx_stream_clawnexus_remote_incoming(cnx_relay_member_t *to,
    cnx_dir_room_t *r, cnx_relay_member_t *from)
{
    if (ngx_stream_clawnexus_remote_send(to, CNX_RELAY_REC_INCOMING,
            &from->addr, r->id, r->id_len, from->name,
            from->binary ? CNX_RELAY_REC_F_SET : 0, NULL, 0)
        != NGX_OK)
    {
        return CNX_RELAY_OP_ERROR;
    }

    return CNX_RELAY_OP_OK;
}


static void
ngx_stream_clawnexus_remote_joined(cnx_relay_member_t *to, cnx_dir_room_t *r,
    cnx_relay_member_t *from)
{
    (void) ngx_stream_clawnexus_remote_send(to, CNX_RELAY_REC_JOINED,
               &from->addr, r->id, r->id_len, NULL,
               from->binary ? CNX_RELAY_REC_F_SET : 0, NULL, 0);
}


static void
ngx_stream_clawnexus_remote_peer_left(cnx_relay_member_t *to,
    cnx_dir_room_t *r, cnx_relay_member_t *from)
{
    (void) ngx_stream_clawnexus_remote_send(to, CNX_RELAY_REC_PEER_LEFT,
               &from->addr, r->id, r->id_len, NULL, 0, NULL, 0);
}


static void
ngx_stream_clawnexus_remote_refused(cnx_relay_member_t *to, const char *id,
    size_t len, const char *code, const cnx_relay_addr_t *from)
{
    (void) ngx_stream_clawnexus_remote_send(to, CNX_RELAY_REC_REFUSED, from,
                                            id, len, code, 0, NULL, 0);
}


static int
ngx_stream_clawnexus_remote_data(cnx_relay_member_t *to, cnx_dir_room_t *r,
    cnx_relay_member_t *from, int binary, const uint8_t *p, size_t n)
{
    ngx_stream_clawnexus_ctx_t   *fc;
    ngx_stream_clawnexus_chan_t  *ch;

    if (ngx_stream_clawnexus_remote_rec(to,
            binary ? CNX_RELAY_REC_DATA_BIN : CNX_RELAY_REC_DATA_TEXT,
            &from->addr, r->id, r->id_len, NULL, 0, p, n, &ch)
        != NGX_OK)
    {
        return CNX_RELAY_OP_ERROR;
    }

    if (!from->remote) {
        fc = ngx_stream_clawnexus_ctx_of(from);
        fc->messages++;

        if (ch) {
            /*
             * a sender of DATA into another worker, a session here, is held
             * back past 1 MiB; into another node, by the room's credit
             */
            ngx_stream_clawnexus_chan_backpressure(fc, ch);
        }
    }

    return CNX_RELAY_OP_OK;
}


static void
ngx_stream_clawnexus_remote_replaced(cnx_relay_member_t *to,
    cnx_relay_member_t *by)
{
    (void) ngx_stream_clawnexus_remote_send(to, CNX_RELAY_REC_REPLACED,
                                            &by->addr, NULL, 0, by->name, 0,
                                            NULL, 0);
}


static void
ngx_stream_clawnexus_remote_flow(cnx_relay_member_t *to, cnx_dir_room_t *r,
    int full)
{
    cnx_dir_member_t  *from = cnx_dir_room_peer(r, &to->dir);

    (void) ngx_stream_clawnexus_remote_send(to, CNX_RELAY_REC_FLOW,
               &((cnx_relay_member_t *) from->session)->addr, r->id,
               r->id_len, NULL, full ? CNX_RELAY_REC_F_SET : 0, NULL, 0);
}


static void
ngx_stream_clawnexus_remote_reply(cnx_relay_member_t *to,
    cnx_relay_type_t type, const char *code, const char *text)
{
    /* never called for a member elsewhere */
}


static void
ngx_stream_clawnexus_remote_unused(cnx_relay_member_t *m)
{
    ngx_stream_clawnexus_proxy_t  *px = m->data;

    if (px->remote_half) {
        ngx_stream_clawnexus_worker.remote_halves--;
    }

    ngx_queue_remove(&px->link);
    ngx_free(px);
}


const cnx_relay_member_ops_t  ngx_stream_clawnexus_remote_ops = {
    ngx_stream_clawnexus_remote_incoming,
    ngx_stream_clawnexus_remote_joined,
    ngx_stream_clawnexus_remote_peer_left,
    ngx_stream_clawnexus_remote_refused,
    ngx_stream_clawnexus_remote_data,
    ngx_stream_clawnexus_remote_replaced,
    ngx_stream_clawnexus_remote_flow,
    ngx_stream_clawnexus_remote_reply,
    ngx_stream_clawnexus_remote_unused
};


static cnx_relay_member_t *
ngx_stream_clawnexus_proxy_new(const ngx_stream_clawnexus_addr_t *a,
    ngx_uint_t binary)
{
    cnx_relay_addr_t               addr;
    ngx_stream_clawnexus_proxy_t  *px;

    if (a->gen != ngx_stream_clawnexus_worker.gen || a->worker < 0
        || (ngx_uint_t) a->worker >= ngx_stream_clawnexus_worker.n)
    {
        return NULL;                    /* another generation: stale */
    }

    px = ngx_calloc(sizeof(ngx_stream_clawnexus_proxy_t), ngx_cycle->log);
    if (px == NULL) {
        return NULL;
    }

    ngx_memzero(&addr, sizeof(cnx_relay_addr_t));
    addr.gen = (uint32_t) a->gen;
    addr.worker = (int32_t) a->worker;
    addr.pid = (int32_t) a->pid;
    addr.conn = a->conn;

    cnx_relay_member_init(&px->member, &ngx_stream_clawnexus_remote_ops,
                          NULL, px, &addr, 1);
    px->member.binary = binary ? 1 : 0;
    ngx_queue_insert_tail(&ngx_stream_clawnexus_worker.proxies, &px->link);

    return &px->member;
}


/* The member for a socket at a: a session of this worker, or a proxy. */
static cnx_relay_member_t *
ngx_stream_clawnexus_member_at(const ngx_stream_clawnexus_addr_t *a)
{
    ngx_stream_clawnexus_ctx_t  *ctx;

    if (a->pid == 0) {
        return NULL;
    }

    if (a->pid == ngx_pid) {
        ctx = ngx_stream_clawnexus_conn_find(a->conn);

        if (ctx == NULL || ctx->state != NGX_STREAM_CLAWNEXUS_OPEN) {
            return NULL;
        }

        return &ctx->member;
    }

    return ngx_stream_clawnexus_proxy_new(a, 0);
}


static cnx_relay_member_t *
ngx_stream_clawnexus_host_lookup(void *host, const char *name, size_t len)
{
    ngx_stream_clawnexus_addr_t  owner;

    ngx_stream_clawnexus_name_get(name, len, &owner);

    if (owner.pid == 0) {
        /* not on this node: another node of the cluster may have it */
        return ngx_stream_clawnexus_node_lookup(name, len);
    }

    return ngx_stream_clawnexus_member_at(&owner);
}


void
ngx_stream_clawnexus_me(cnx_relay_member_t *m,
    ngx_stream_clawnexus_addr_t *a)
{
    a->worker = ngx_worker;
    a->pid = ngx_pid;
    a->conn = m->addr.conn;
    a->gen = ngx_stream_clawnexus_worker.gen;
}


static int
ngx_stream_clawnexus_host_bind(void *host, cnx_relay_member_t *m,
    cnx_relay_member_t **old)
{
    ngx_stream_clawnexus_addr_t  me, prev;

    ngx_stream_clawnexus_me(m, &me);
    *old = NULL;

    if (ngx_stream_clawnexus_name_set(m->name, m->name_len, &me, &prev)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, ngx_stream_clawnexus_ctx_of(m)->c->log, 0,
                      "clawnexus: cannot bind a name: shared zone full");
        return -1;
    }

    if (prev.pid && !(prev.pid == me.pid && prev.conn == me.conn)) {
        *old = ngx_stream_clawnexus_member_at(&prev);
    }

    /* and across nodes: the owner elsewhere, if any, gets REPLACED */
    (void) ngx_stream_clawnexus_cluster_claim(m->name, m->name_len,
                                              m->addr.conn, 0);

    return 0;
}


static void
ngx_stream_clawnexus_host_unbind(void *host, cnx_relay_member_t *m)
{
    ngx_stream_clawnexus_addr_t  me;

    if (ngx_stream_clawnexus_sh) {
        ngx_stream_clawnexus_me(m, &me);
        ngx_stream_clawnexus_name_release(m->name, m->name_len, &me);
    }

    ngx_stream_clawnexus_cluster_release(m->name, m->name_len, m->addr.conn);
}


static cnx_relay_member_t *
ngx_stream_clawnexus_host_remote(void *host, const cnx_relay_addr_t *a,
    int binary)
{
    cnx_relay_member_t           *m;
    ngx_stream_clawnexus_addr_t   at;

    if (a->node != 0) {
        return ngx_stream_clawnexus_node_remote(a, binary);
    }

    at.worker = a->worker;
    at.pid = a->pid;
    at.conn = a->conn;
    at.gen = a->gen;

    m = ngx_stream_clawnexus_proxy_new(&at, binary);

    if (m) {
        /* the room is counted by the initiator's worker (see gauges) */
        ((ngx_stream_clawnexus_proxy_t *) m->data)->remote_half = 1;
        ngx_stream_clawnexus_worker.remote_halves++;
    }

    return m;
}


static int
ngx_stream_clawnexus_host_auth_limit(void *host, cnx_relay_member_t *m,
    int failed)
{
    ngx_stream_clawnexus_ctx_t  *ctx = ngx_stream_clawnexus_ctx_of(m);

    return ngx_stream_clawnexus_peer_auth(ctx, failed) == NGX_DECLINED ? -1
                                                                        : 0;
}


static int64_t
ngx_stream_clawnexus_host_now(void *host)
{
    return (int64_t) ngx_time();
}


const cnx_relay_host_ops_t  ngx_stream_clawnexus_host_ops = {
    ngx_stream_clawnexus_host_lookup,
    ngx_stream_clawnexus_host_bind,
    ngx_stream_clawnexus_host_unbind,
    ngx_stream_clawnexus_host_remote,
    ngx_stream_clawnexus_host_auth_limit,
    ngx_stream_clawnexus_host_now
};


/* Counters of the core, added to the shared ones since the last call. */
void
ngx_stream_clawnexus_publish(void)
{
    static cnx_relay_stats_t   last;
    const cnx_relay_stats_t   *st;

    if (ngx_stream_clawnexus_worker.core == NULL) {
        return;
    }

    st = cnx_relay_core_stats(ngx_stream_clawnexus_worker.core);

    if (st->messages != last.messages) {
        ngx_stream_clawnexus_count(messages, st->messages - last.messages);
        ngx_stream_clawnexus_count(bytes, st->bytes - last.bytes);
    }

    if (st->registrations != last.registrations) {
        ngx_stream_clawnexus_count(registrations,
                                   st->registrations - last.registrations);
    }

    if (st->auth_failures != last.auth_failures) {
        ngx_stream_clawnexus_count(auth_failures,
                                   st->auth_failures - last.auth_failures);
    }

    if (st->rooms_total != last.rooms_total) {
        ngx_stream_clawnexus_count(rooms_total,
                                   st->rooms_total - last.rooms_total);
    }

    last = *st;
    ngx_stream_clawnexus_gauges();
}


/* What the core decided for the socket after one of its messages. */
static void
ngx_stream_clawnexus_verdict(ngx_stream_clawnexus_ctx_t *ctx, int rc,
    const char *why)
{
    /* the counters are published once per batch of frames (see frames()) */

    if (rc == CNX_RELAY_CLOSE) {
        ngx_stream_clawnexus_close(ctx, CNX_WS_CLOSE_POLICY,
                                   why ? why : "policy");
        if (ctx->close_reason == NULL
            || ngx_strcmp(ctx->close_reason, "open") == 0)
        {
            ctx->close_reason = why;
        }
    }
}


void
ngx_stream_clawnexus_text(ngx_stream_clawnexus_ctx_t *ctx, const u_char *p,
    size_t n)
{
    int          rc;
    const char  *why;

    rc = cnx_relay_core_text(ngx_stream_clawnexus_worker.core, &ctx->member,
                             (const char *) p, n, &why);
    ngx_stream_clawnexus_verdict(ctx, rc, why);
}


void
ngx_stream_clawnexus_bin(ngx_stream_clawnexus_ctx_t *ctx, u_char *p, size_t n)
{
    int          rc;
    const char  *why;

    rc = cnx_relay_core_binary(ngx_stream_clawnexus_worker.core, &ctx->member,
                               p, n, &why);
    ngx_stream_clawnexus_verdict(ctx, rc, why);
}
