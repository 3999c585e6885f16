/*
 * ngx_stream_clawnexus_session.c: one relay session: the stream handler,
 * the read handler (WebSocket handshake, frames, the bulk path of DATA),
 * lingering close, the write and ping handlers, close and cleanup.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "cnx_http.h"
#include "cnx_ws.h"
#include "ngx_stream_clawnexus_relay.h"


static void ngx_stream_clawnexus_read_handler(ngx_event_t *ev);
static void ngx_stream_clawnexus_linger(ngx_stream_clawnexus_ctx_t *ctx);
static ngx_int_t ngx_stream_clawnexus_process(ngx_stream_clawnexus_ctx_t *ctx);
static ngx_int_t ngx_stream_clawnexus_handshake(
    ngx_stream_clawnexus_ctx_t *ctx);
static ngx_int_t ngx_stream_clawnexus_frames(ngx_stream_clawnexus_ctx_t *ctx);
static ngx_int_t ngx_stream_clawnexus_frames_parse(
    ngx_stream_clawnexus_ctx_t *ctx);
static void ngx_stream_clawnexus_write_handler(ngx_event_t *ev);
static void ngx_stream_clawnexus_ping_handler(ngx_event_t *ev);
static void ngx_stream_clawnexus_finalize(ngx_stream_clawnexus_ctx_t *ctx);
static void ngx_stream_clawnexus_cleanup(void *data);


/*
 * A session's own input buffer (clawnexus_buffer_size) holds the upgrade
 * and what a receive leaves over (part of a frame header; anything while
 * lingering).  An open session with nothing buffered gives it back and
 * points at this instead: it reads into the worker's buffer then, so an
 * idle socket keeps none.
 */
static u_char  ngx_stream_clawnexus_nobuf[1];


static ngx_int_t
ngx_stream_clawnexus_buf_get(ngx_stream_clawnexus_ctx_t *ctx)
{
    if (ctx->buf != ngx_stream_clawnexus_nobuf) {
        return NGX_OK;
    }

    ctx->buf = ngx_alloc(ctx->conf->buffer_size, ctx->c->log);
    if (ctx->buf == NULL) {
        ctx->buf = ngx_stream_clawnexus_nobuf;
        ctx->failed = 1;
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_stream_clawnexus_buf_put(ngx_stream_clawnexus_ctx_t *ctx)
{
    if (ctx->buf != ngx_stream_clawnexus_nobuf) {
        ngx_free(ctx->buf);
        ctx->buf = ngx_stream_clawnexus_nobuf;
    }
}


/* Session ---------------------------------------------------------------- */


void
ngx_stream_clawnexus_handler(ngx_stream_session_t *s)
{
    size_t                             n;
    ngx_connection_t                  *c;
    cnx_relay_addr_t                   addr;
    ngx_pool_cleanup_t                *cln;
    ngx_stream_clawnexus_ctx_t        *ctx;
    ngx_stream_clawnexus_srv_conf_t   *cscf;

    c = s->connection;
    c->log->action = "reading the WebSocket upgrade";

    cscf = ngx_stream_get_module_srv_conf(s, ngx_stream_clawnexus_module);

    if (ngx_stream_clawnexus_worker.core == NULL) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_stream_clawnexus_count(connections, 1);

    ctx = ngx_pcalloc(c->pool, sizeof(ngx_stream_clawnexus_ctx_t));
    if (ctx == NULL) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->s = s;
    ctx->c = c;
    ctx->conf = cscf;
    ctx->close_reason = "handshake";
    ngx_queue_init(&ctx->waiters);
    ctx->wait.ev = c->read;
    ctx->buf = ngx_stream_clawnexus_nobuf;
    cnx_ws_reader_init(&ctx->reader, cscf->max_message, 1);

    cln = ngx_pool_cleanup_add(c->pool, 0);
    if (cln == NULL) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    cln->handler = ngx_stream_clawnexus_cleanup;
    cln->data = ctx;

    if (ngx_stream_clawnexus_buf_get(ctx) != NGX_OK) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    /* from here on the cleanup undoes what the session joins */
    ctx->node.key = ++ngx_stream_clawnexus_worker.next_conn;
    ngx_rbtree_insert(&ngx_stream_clawnexus_worker.conns, &ctx->node);
    ctx->in_conns = 1;

    ngx_memzero(&addr, sizeof(cnx_relay_addr_t));
    addr.gen = (uint32_t) ngx_stream_clawnexus_worker.gen;
    addr.worker = (int32_t) ngx_worker;
    addr.pid = (int32_t) ngx_pid;
    addr.conn = ctx->node.key;
    cnx_relay_member_init(&ctx->member, &ngx_stream_clawnexus_local_ops,
                          &cscf->limits, ctx, &addr, 0);

    ngx_stream_set_ctx(s, ctx, ngx_stream_clawnexus_module);

    /* bytes a preread phase may already have taken off the socket */
    if (c->buffer && c->buffer->last > c->buffer->pos) {
        n = ngx_min((size_t) (c->buffer->last - c->buffer->pos),
                    cscf->buffer_size);
        ngx_memcpy(ctx->buf, c->buffer->pos, n);
        ctx->end = n;
        c->buffer->pos += n;
    }

    if (ngx_stream_clawnexus_peer_connect(ctx) == NGX_DECLINED) {
        ctx->limited = 1;
    }

    ctx->ping_ev.handler = ngx_stream_clawnexus_ping_handler;
    ctx->ping_ev.data = ctx;
    ctx->ping_ev.log = c->log;
    ctx->ping_ev.cancelable = 1;

    c->read->handler = ngx_stream_clawnexus_read_handler;
    c->write->handler = ngx_stream_clawnexus_write_handler;

    /* lets a graceful shutdown call us with c->close set */
    c->idle = 1;

    ngx_add_timer(c->read, cscf->handshake_timeout);

    ngx_stream_clawnexus_read_handler(c->read);
}


static void
ngx_stream_clawnexus_read_handler(ngx_event_t *ev)
{
    size_t                        total, room;
    ngx_uint_t                    bulk;
    ssize_t                       n;
    uint8_t                      *direct;
    ngx_connection_t             *c;
    ngx_stream_session_t         *s;
    ngx_stream_clawnexus_ctx_t   *ctx;

    c = ev->data;
    s = c->data;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_clawnexus_module);

    if (ctx->lingering) {
        ngx_stream_clawnexus_linger(ctx);
        return;
    }

    if (c->close) {
        /* worker shutdown or reload */
        if (ctx->state == NGX_STREAM_CLAWNEXUS_OPEN) {
            ngx_stream_clawnexus_close(ctx, CNX_WS_CLOSE_GOING_AWAY,
                                       "server shutting down");
            ctx->close_reason = "shutdown";
            goto done;
        }

        if (ctx->state == NGX_STREAM_CLAWNEXUS_HANDSHAKE) {
            ctx->close_reason = "shutdown";
            ngx_stream_clawnexus_finalize(ctx);
            return;
        }

        goto done;
    }

    if (ev->timedout) {
        ev->timedout = 0;

        switch (ctx->state) {

        case NGX_STREAM_CLAWNEXUS_HANDSHAKE:
            ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                          "clawnexus: handshake timed out");
            ctx->close_reason = "handshake timeout";
            ngx_stream_clawnexus_finalize(ctx);
            return;

        case NGX_STREAM_CLAWNEXUS_OPEN:
            ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                          "clawnexus: idle timeout");
            ngx_stream_clawnexus_close(ctx, CNX_WS_CLOSE_NORMAL,
                                       "idle timeout");
            ctx->close_reason = "idle timeout";
            goto done;

        default:
            ngx_stream_clawnexus_finalize(ctx);
            return;
        }
    }

    total = 0;

    for ( ;; ) {

        /* first use what is buffered (also after a pause ends) */
        if (ngx_stream_clawnexus_process(ctx) != NGX_OK) {
            goto done;
        }

        if (ctx->state != NGX_STREAM_CLAWNEXUS_HANDSHAKE
            && ctx->state != NGX_STREAM_CLAWNEXUS_OPEN)
        {
            goto done;
        }

        if (ngx_stream_clawnexus_held(ctx)) {
            /* backpressure: a receiver is full; resumed when it drains */
            goto done;
        }

        if (ctx->end == ctx->conf->buffer_size) {
            /* only a handshake can fill the buffer without progress */
            ngx_log_error(NGX_LOG_INFO, c->log, 0,
                          "clawnexus: request head too large");
            ctx->close_reason = "bad handshake";
            ngx_stream_clawnexus_finalize(ctx);
            return;
        }

        /*
         * The rest of a large data frame goes straight into the WebSocket
         * reader, which assembles it anyway: one copy and several reads
         * less per frame.  Only with nothing buffered, so that the bytes
         * stay in order.
         */
        room = 0;

        if (ctx->state == NGX_STREAM_CLAWNEXUS_OPEN && ctx->end == 0) {
            room = cnx_ws_reader_room(&ctx->reader, &direct);
        }

        bulk = 0;

        if (ctx->lent_to && ngx_stream_clawnexus_lender_wait(ctx)) {
            goto done;
        }

        if (room >= ctx->conf->buffer_size / 2) {
            n = c->recv(c, direct, room);

        } else if (ctx->state == NGX_STREAM_CLAWNEXUS_OPEN && ctx->end == 0
                   && ctx->conf->buffer_size < NGX_STREAM_CLAWNEXUS_BULK)
        {
            room = 0;
            bulk = 1;
            n = c->recv(c, ngx_stream_clawnexus_rbuf,
                        NGX_STREAM_CLAWNEXUS_BULK);

        } else {
            room = 0;

            if (ngx_stream_clawnexus_buf_get(ctx) != NGX_OK) {
                goto done;
            }

            n = c->recv(c, ctx->buf + ctx->end,
                        ctx->conf->buffer_size - ctx->end);
        }

        if (n == NGX_AGAIN) {
            /* nothing more now: a large message's buffer is not kept */
            (void) cnx_ws_reader_trim(&ctx->reader);

            /* nor its own, unless every read goes there (as large as
               the worker's buffer: no bulk reads) */
            if (ctx->end == 0 && ctx->state == NGX_STREAM_CLAWNEXUS_OPEN
                && ctx->conf->buffer_size < NGX_STREAM_CLAWNEXUS_BULK)
            {
                ngx_stream_clawnexus_buf_put(ctx);
            }

            break;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_log_error(NGX_LOG_INFO, c->log, 0,
                          "clawnexus: client closed the connection");
            if (ctx->state == NGX_STREAM_CLAWNEXUS_OPEN) {
                ctx->close_reason = "client closed";
            }
            ngx_stream_clawnexus_finalize(ctx);
            return;
        }

        if (room) {
            cnx_ws_reader_put(&ctx->reader, n);

        } else if (bulk) {
            if (ngx_stream_clawnexus_bulk(ctx, n) != NGX_OK) {
                goto done;
            }

        } else {
            ctx->end += n;
        }

        if (ctx->state == NGX_STREAM_CLAWNEXUS_OPEN) {
            ngx_add_timer(c->read, ctx->conf->idle_timeout);
        }

        /* a fast sender must not starve the other connections */
        total += n;

        if (total >= NGX_STREAM_CLAWNEXUS_READ_BURST) {
            if (ngx_stream_clawnexus_process(ctx) == NGX_OK
                && !ngx_stream_clawnexus_held(ctx) && !c->read->posted)
            {
                ngx_post_event(c->read, &ngx_posted_events);
            }

            goto done;
        }
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ctx->failed = 1;
    }

done:

    if (ctx->failed) {
        ngx_stream_clawnexus_finalize(ctx);
        return;
    }

    if (ctx->out) {
        ngx_stream_clawnexus_write_handler(c->write);
        return;
    }

    if (ctx->state == NGX_STREAM_CLAWNEXUS_CLOSING) {
        ngx_stream_clawnexus_linger(ctx);
        return;
    }

    if (ctx->state == NGX_STREAM_CLAWNEXUS_DONE) {
        ngx_stream_clawnexus_finalize(ctx);
    }
}


/*
 * Everything, the close frame last, has been sent.  Closing now while
 * unread client bytes are pending would make the kernel answer with a
 * reset that can destroy the close frame before the client reads it, so
 * discard input until the client closes or the grace timer (set by
 * ngx_stream_clawnexus_close(), also during a shutdown) fires.  Plain TCP
 * also shuts down our side, which tells the client at once; over TLS the
 * TLS layer sends its own close when nginx closes the connection.
 */
/*
 * While lingering on a WebSocket whose frames still parse, the client's
 * answering close frame ends the wait at once.  NGX_DONE: it arrived (or
 * the stream broke).
 */
static ngx_int_t
ngx_stream_clawnexus_linger_parse(ngx_stream_clawnexus_ctx_t *ctx)
{
    int           rc;
    size_t        consumed;
    cnx_ws_msg_t  msg;

    for ( ;; ) {
        rc = cnx_ws_reader_next(&ctx->reader, ctx->buf + ctx->start,
                                ctx->end - ctx->start, &consumed, &msg);
        ctx->start += consumed;

        if (rc < 0 || (rc == CNX_WS_MSG && msg.opcode == CNX_WS_OP_CLOSE)) {
            return NGX_DONE;
        }

        if (rc == CNX_WS_AGAIN) {
            break;
        }
    }

    if (ctx->end > ctx->start) {
        ngx_memmove(ctx->buf, ctx->buf + ctx->start, ctx->end - ctx->start);
    }

    ctx->end -= ctx->start;
    ctx->start = 0;

    return NGX_OK;
}


static void
ngx_stream_clawnexus_linger(ngx_stream_clawnexus_ctx_t *ctx)
{
    ssize_t            n;
    ngx_uint_t         parse;
    ngx_connection_t  *c = ctx->c;

    if (c->read->timedout) {
        ngx_stream_clawnexus_finalize(ctx);
        return;
    }

    parse = ctx->upgraded && !ctx->reader_broken;

    if (!ctx->lingering) {
        ctx->lingering = 1;

        if (c->ssl == NULL
            && ngx_shutdown_socket(c->fd, NGX_WRITE_SHUTDOWN) == -1)
        {
            ngx_stream_clawnexus_finalize(ctx);
            return;
        }

        if (!c->read->timer_set) {
            ngx_add_timer(c->read, NGX_STREAM_CLAWNEXUS_LINGER);
        }

        if (!parse) {
            ctx->start = 0;
            ctx->end = 0;

        } else if (ngx_stream_clawnexus_linger_parse(ctx) == NGX_DONE) {
            ngx_stream_clawnexus_finalize(ctx);
            return;
        }
    }

    for ( ;; ) {
        if (ngx_stream_clawnexus_buf_get(ctx) != NGX_OK) {
            ngx_stream_clawnexus_finalize(ctx);
            return;
        }

        n = c->recv(c, ctx->buf + ctx->end,
                    ctx->conf->buffer_size - ctx->end);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
                ngx_stream_clawnexus_finalize(ctx);
            }
            return;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_stream_clawnexus_finalize(ctx);
            return;
        }

        if (!parse) {
            continue;               /* discard */
        }

        ctx->end += n;

        if (ngx_stream_clawnexus_linger_parse(ctx) == NGX_DONE) {
            ngx_stream_clawnexus_finalize(ctx);
            return;
        }
    }
}


/*
 * A frame cut by the end of the n bytes received into the worker's buffer
 * is completed behind them when the rest has arrived: then it is
 * forwarded from there like the others, instead of being reassembled
 * (copied) in the reader and copied again into the peer's queue.
 * Returns the bytes in the buffer now.
 */
static size_t
ngx_stream_clawnexus_tail(ngx_stream_clawnexus_ctx_t *ctx, size_t n)
{
    int              rc;
    size_t           pos, end;
    ssize_t          k;
    uint64_t         left;
    cnx_ws_frame_t   f;

    left = cnx_ws_reader_left(&ctx->reader);

    if (left >= n) {
        return n;
    }

    pos = (size_t) left;

    for ( ;; ) {
        rc = cnx_ws_frame_parse(ngx_stream_clawnexus_rbuf + pos, n - pos, 1,
                                UINT64_MAX >> 1, &f);
        if (rc <= 0) {
            /* a header cut, or an error that the reader will report */
            return n;
        }

        if (f.payload_len > sizeof(ngx_stream_clawnexus_rbuf) - pos - rc) {
            return n;
        }

        end = pos + rc + (size_t) f.payload_len;

        if (end > n) {
            break;
        }

        if (end == n) {
            return n;
        }

        pos = end;
    }

    k = ctx->c->recv(ctx->c, ngx_stream_clawnexus_rbuf + n, end - n);

    /* end of stream or an error shows again at the next receive */
    return k > 0 ? n + k : n;
}


/*
 * The frames of n bytes received into the worker's buffer.  What they
 * leave over is at most an incomplete frame header (the reader takes all
 * payload bytes), which goes into the session's own buffer; after a close
 * anything that fits goes there too, for the lingering close.
 */
ngx_int_t
ngx_stream_clawnexus_bulk(ngx_stream_clawnexus_ctx_t *ctx, size_t n)
{
    u_char     *own;
    size_t      left;
    ngx_int_t   rc;

    n = ngx_stream_clawnexus_tail(ctx, n);

    own = ctx->buf;
    ctx->buf = ngx_stream_clawnexus_rbuf;
    ctx->start = 0;
    ctx->end = n;
    ctx->bulk = 1;

    rc = ngx_stream_clawnexus_frames(ctx);

    ctx->bulk = 0;
    ctx->buf = own;
    ngx_stream_clawnexus_settle(ctx);
    left = ctx->end - ctx->start;

    if (left > ctx->conf->buffer_size) {
        if (rc == NGX_OK && ctx->state == NGX_STREAM_CLAWNEXUS_OPEN) {
            ngx_log_error(NGX_LOG_ALERT, ctx->c->log, 0,
                          "clawnexus: %uz bytes left after frames", left);
            ctx->failed = 1;
            rc = NGX_DONE;
        }

        left = 0;
    }

    if (left) {
        if (ngx_stream_clawnexus_buf_get(ctx) != NGX_OK) {
            left = 0;
            rc = NGX_DONE;

        } else {
            ngx_memcpy(ctx->buf, ngx_stream_clawnexus_rbuf + ctx->start,
                       left);
        }
    }

    ctx->start = 0;
    ctx->end = left;

    return rc;
}


/*
 * Parse what is buffered.  NGX_OK: go on reading; NGX_DONE: stop (state
 * changed or paused).
 */
static ngx_int_t
ngx_stream_clawnexus_process(ngx_stream_clawnexus_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (ctx->state == NGX_STREAM_CLAWNEXUS_HANDSHAKE) {
        rc = ngx_stream_clawnexus_handshake(ctx);
        if (rc != NGX_OK || ctx->state != NGX_STREAM_CLAWNEXUS_OPEN) {
            return rc == NGX_AGAIN ? NGX_OK : NGX_DONE;
        }
    }

    if (ctx->state != NGX_STREAM_CLAWNEXUS_OPEN) {
        return NGX_DONE;
    }

    rc = ngx_stream_clawnexus_frames(ctx);

    /* keep the unparsed tail at the front of the buffer */
    if (ctx->start > 0) {
        if (ctx->end > ctx->start) {
            ngx_memmove(ctx->buf, ctx->buf + ctx->start,
                        ctx->end - ctx->start);
        }

        ctx->end -= ctx->start;
        ctx->start = 0;
    }

    return rc;
}


/* Queues the HTTP answer to the upgrade: the first bytes the client gets. */
static ngx_int_t
ngx_stream_clawnexus_http_reply(ngx_stream_clawnexus_ctx_t *ctx,
    const char *data, size_t n)
{
    ngx_stream_clawnexus_out_t  *o;

    o = ngx_alloc(sizeof(ngx_stream_clawnexus_out_t) + n, ctx->c->log);
    if (o == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(o->data, data, n);
    o->pos = 0;
    o->last = n;
    o->cap = n;
    o->ext = NULL;
    o->next = NULL;
    ctx->out = o;
    ctx->out_last = o;
    ctx->out_bytes = n;
    ctx->kept = ngx_stream_clawnexus_out_size(o);

    return NGX_OK;
}


/* NGX_OK: upgraded; NGX_AGAIN: need more bytes; NGX_DONE: answered. */
static ngx_int_t
ngx_stream_clawnexus_handshake(ngx_stream_clawnexus_ctx_t *ctx)
{
    int                  rc, n, status;
    char                 accept[29];
    char                 out[512];
    cnx_http_upgrade_t   u;
    ngx_connection_t    *c;

    c = ctx->c;

    if (ctx->limited) {
        status = 429;
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "clawnexus: too many connections from this address");
        ctx->close_reason = "rate limited";
        goto error;
    }

    rc = cnx_http_parse_upgrade((const char *) ctx->buf, ctx->end, &u);

    if (rc == 0) {
        if (ctx->end >= CNX_HTTP_MAX_HEAD) {
            rc = CNX_HTTP_ETOOBIG;

        } else {
            return NGX_AGAIN;
        }
    }

    if (rc < 0) {
        status = cnx_http_error_status(rc);
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "clawnexus: bad WebSocket upgrade (%d), answering %d",
                      rc, status);
        ctx->close_reason = "bad handshake";
        goto error;
    }

    if (u.path.len != sizeof("/relay") - 1
        || ngx_strncmp(u.path.p, "/relay", sizeof("/relay") - 1) != 0)
    {
        status = 404;
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "clawnexus: upgrade for unknown path \"%*s\"",
                      ngx_min(u.path.len, 128), u.path.p);
        ctx->close_reason = "not found";
        goto error;
    }

    if (cnx_ws_accept_key(u.key.p, u.key.len, accept) != 0) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "clawnexus: SHA-1 unavailable for the accept key");
        status = 503;
        goto error;
    }

    n = cnx_http_build_101(out, sizeof(out), accept);
    if (n < 0 || ngx_stream_clawnexus_http_reply(ctx, out, n) != NGX_OK) {
        ctx->failed = 1;
        return NGX_DONE;
    }

    ctx->start = rc;
    ctx->state = NGX_STREAM_CLAWNEXUS_OPEN;
    ctx->close_reason = "";
    c->log->action = "relaying ClawNexus messages";

    ngx_stream_clawnexus_my_gauge->active++;
    ctx->counted = 1;
    ctx->upgraded = 1;

    ngx_add_timer(c->read, ctx->conf->idle_timeout);

    if (ctx->conf->ping_interval) {
        ngx_add_timer(&ctx->ping_ev, ctx->conf->ping_interval);
    }

    return NGX_OK;

error:

    ngx_stream_clawnexus_count(handshake_failures, 1);

    n = cnx_http_build_error(out, sizeof(out), status);
    if (n < 0 || ngx_stream_clawnexus_http_reply(ctx, out, n) != NGX_OK) {
        ctx->failed = 1;
        return NGX_DONE;
    }

    ctx->state = NGX_STREAM_CLAWNEXUS_CLOSING;
    ngx_add_timer(c->read, NGX_STREAM_CLAWNEXUS_LINGER);

    return NGX_DONE;
}


static ngx_int_t
ngx_stream_clawnexus_frames(ngx_stream_clawnexus_ctx_t *ctx)
{
    ngx_int_t  rc;

    rc = ngx_stream_clawnexus_frames_parse(ctx);

    /*
     * The core's counters go to the shared zone once per batch of frames,
     * not per message: two atomic adds to a cache line all workers write
     * cost small messages more than anything else the relay does for them.
     */
    ngx_stream_clawnexus_publish();

    return rc;
}


static ngx_int_t
ngx_stream_clawnexus_frames_parse(ngx_stream_clawnexus_ctx_t *ctx)
{
    int            rc;
    size_t         consumed;
    unsigned       code;
    cnx_ws_msg_t   msg;

    /*
     * A pause stops at the next frame, except in the worker's buffer,
     * which must be emptied before the next session uses it: a receiver
     * then gets at most that buffer (384 KiB) past its limit.
     */
    while (ctx->state == NGX_STREAM_CLAWNEXUS_OPEN
           && (!ngx_stream_clawnexus_held(ctx) || ctx->bulk) && !ctx->failed)
    {
        rc = cnx_ws_reader_next(&ctx->reader, ctx->buf + ctx->start,
                                ctx->end - ctx->start, &consumed, &msg);
        ctx->start += consumed;

        if (rc == CNX_WS_AGAIN) {
            return NGX_OK;
        }

        if (rc < 0) {
            ctx->reader_broken = 1;
            code = (unsigned) -rc;
            ngx_log_error(NGX_LOG_INFO, ctx->c->log, 0,
                          "clawnexus: WebSocket error, closing with %ui",
                          (ngx_uint_t) code);
            ngx_stream_clawnexus_close(ctx, code,
                code == CNX_WS_CLOSE_TOO_BIG ? "message too big"
                : code == CNX_WS_CLOSE_INVALID_DATA ? "invalid UTF-8"
                : "protocol error");
            ctx->close_reason = code == CNX_WS_CLOSE_TOO_BIG ? "too big"
                                : code == CNX_WS_CLOSE_INVALID_DATA
                                  ? "invalid utf-8" : "protocol error";
            return NGX_DONE;
        }

        switch (msg.opcode) {

        case CNX_WS_OP_TEXT:
            ngx_stream_clawnexus_text(ctx, msg.data, msg.len);
            break;

        case CNX_WS_OP_BINARY:
            ngx_stream_clawnexus_bin(ctx, (u_char *) msg.data, msg.len);
            break;

        case CNX_WS_OP_PING:
            /* its answers count against its queue like anything else */
            ngx_stream_clawnexus_send_frame(ctx, CNX_WS_OP_PONG,
                                            msg.data, msg.len);
            ngx_stream_clawnexus_backpressure(ctx, ctx);
            break;

        case CNX_WS_OP_PONG:
            break;

        case CNX_WS_OP_CLOSE:
            if (cnx_ws_close_parse(msg.data, msg.len, &code, NULL, NULL)
                != 0
                || code == CNX_WS_CLOSE_NO_STATUS)
            {
                code = CNX_WS_CLOSE_NORMAL;
            }

            ngx_stream_clawnexus_close(ctx, code, NULL);
            ctx->close_reason = "client close";
            return NGX_DONE;
        }
    }

    return ctx->failed ? NGX_DONE : NGX_OK;
}

/*
 * The write timer runs while the queue waits for the socket: armed when a
 * flush leaves bytes behind, set again by every flush that sends some
 * (see ngx_stream_clawnexus_flush()), so it fires only after
 * clawnexus_send_stall_timeout without a byte taken.  Then one more try:
 * the kernel reports room only once a third of its buffer is free, which
 * a slow reader may take longer than that to free.
 */
static void
ngx_stream_clawnexus_write_handler(ngx_event_t *ev)
{
    off_t                         sent;
    ngx_int_t                     rc;
    ngx_uint_t                    timedout;
    ngx_connection_t             *c;
    ngx_stream_session_t         *s;
    ngx_stream_clawnexus_ctx_t   *ctx;

    c = ev->data;
    s = c->data;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_clawnexus_module);

    timedout = ev->timedout;
    ev->timedout = 0;

    if (ctx->failed) {
        ngx_stream_clawnexus_finalize(ctx);
        return;
    }

    sent = c->sent;
    rc = ngx_stream_clawnexus_flush(ctx);

    if (timedout && rc == NGX_AGAIN && c->sent == sent) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "clawnexus: client read nothing for %M ms, closing",
                      ctx->conf->send_stall_timeout);
        ctx->close_reason = "send timeout";
        ngx_stream_clawnexus_finalize(ctx);
        return;
    }

    if (rc == NGX_ERROR) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "clawnexus: client closed the connection");
        if (ctx->state == NGX_STREAM_CLAWNEXUS_OPEN) {
            ctx->close_reason = "client closed";
        }
        ngx_stream_clawnexus_finalize(ctx);
        return;
    }

    if (ctx->out_bytes <= ctx->conf->send_queue / 2
        && ctx->kept <= ctx->conf->send_queue / 2)
    {
        ngx_stream_clawnexus_wake(ctx);
    }

    if (rc == NGX_OK) {
        if (ev->timer_set) {
            ngx_del_timer(ev);
        }

        if (ctx->state == NGX_STREAM_CLAWNEXUS_CLOSING) {
            ngx_stream_clawnexus_linger(ctx);
        }

        return;
    }

    /* a receiver that reads nothing for send_stall_timeout is gone */
    if (!ev->timer_set && ctx->state == NGX_STREAM_CLAWNEXUS_OPEN) {
        ngx_add_timer(ev, ctx->conf->send_stall_timeout);
    }

    if (ngx_handle_write_event(ev, 0) != NGX_OK) {
        ngx_stream_clawnexus_finalize(ctx);
    }
}


static void
ngx_stream_clawnexus_ping_handler(ngx_event_t *ev)
{
    ngx_stream_clawnexus_ctx_t  *ctx = ev->data;

    if (ctx->state != NGX_STREAM_CLAWNEXUS_OPEN) {
        return;
    }

    ngx_stream_clawnexus_send_frame(ctx, CNX_WS_OP_PING, NULL, 0);
    ngx_add_timer(ev, ctx->conf->ping_interval);
}


/* Queue a close frame and stop reading; the session ends once flushed. */
void
ngx_stream_clawnexus_close(ngx_stream_clawnexus_ctx_t *ctx, unsigned code,
    const char *reason)
{
    size_t                       n;
    ngx_uint_t                   i;
    ngx_stream_clawnexus_out_t  *o;

    if (ctx->state != NGX_STREAM_CLAWNEXUS_OPEN) {
        return;
    }

    for (i = 0; i < NGX_STREAM_CLAWNEXUS_NCLOSES; i++) {
        if (ngx_stream_clawnexus_close_codes[i] == code) {
            ngx_stream_clawnexus_count(closes[i], 1);
        }
    }

    o = ngx_stream_clawnexus_out_alloc(ctx, CNX_WS_MAX_CONTROL);
    if (o != NULL) {
        n = cnx_ws_close_build(o->data + CNX_WS_MAX_HEADER, code, reason,
                               reason ? ngx_strlen(reason) : 0);
        ngx_stream_clawnexus_commit(ctx, o, CNX_WS_OP_CLOSE, n);
    }

    ctx->state = NGX_STREAM_CLAWNEXUS_CLOSING;

    if (ctx->ping_ev.timer_set) {
        ngx_del_timer(&ctx->ping_ev);
    }

    /* a short, non-cancelable grace period to flush the close frame */
    ngx_add_timer(ctx->c->read, NGX_STREAM_CLAWNEXUS_LINGER);
}


static void
ngx_stream_clawnexus_finalize(ngx_stream_clawnexus_ctx_t *ctx)
{
    if (ctx->state == NGX_STREAM_CLAWNEXUS_DONE) {
        return;
    }

    ctx->state = NGX_STREAM_CLAWNEXUS_DONE;

#if (NGX_SSL)
    /*
     * Do not wait for the client's close_notify: it may still be sending
     * application data, which SSL_shutdown() would report as an error.
     */
    if (ctx->c->ssl) {
        ctx->c->ssl->no_wait_shutdown = 1;
    }
#endif

    ngx_stream_finalize_session(ctx->s, NGX_STREAM_OK);
}


/*
 * Runs on every close path (pool cleanup): leave the directory, tell the
 * peers of every room, release paused senders.
 */
static void
ngx_stream_clawnexus_cleanup(void *data)
{
    ngx_stream_clawnexus_ctx_t  *ctx = data;

    ngx_stream_clawnexus_out_t    *o;

    if (ctx->cleaned) {
        return;
    }

    ctx->cleaned = 1;
    ctx->state = NGX_STREAM_CLAWNEXUS_DONE;

    if (ctx->ping_ev.timer_set) {
        ngx_del_timer(&ctx->ping_ev);
    }

    if (ctx->ping_ev.posted) {
        ngx_delete_posted_event(&ctx->ping_ev);
    }

    /* its name is given up, its rooms end with PEER_LEFT */
    if (ngx_stream_clawnexus_worker.core && ctx->member.ops) {
        cnx_relay_core_leave(ngx_stream_clawnexus_worker.core, &ctx->member);
        ngx_stream_clawnexus_publish();
    }

    if (ctx->in_conns) {
        ngx_rbtree_delete(&ngx_stream_clawnexus_worker.conns, &ctx->node);
        ctx->in_conns = 0;
    }

    ngx_stream_clawnexus_unpause(&ctx->wait);
    ngx_stream_clawnexus_wake(ctx);
    ngx_stream_clawnexus_peer_disconnect(ctx);

    if (ctx->counted) {
        ngx_stream_clawnexus_my_gauge->active--;
        ctx->counted = 0;
    }

    ngx_stream_clawnexus_gauges();

    while (ctx->out) {
        o = ctx->out;
        ctx->out = o->next;
        ngx_stream_clawnexus_out_put(o);
    }

    ctx->out_last = NULL;
    ctx->out_bytes = 0;
    ctx->kept = 0;

    cnx_ws_reader_free(&ctx->reader);
    ngx_stream_clawnexus_buf_put(ctx);
}
