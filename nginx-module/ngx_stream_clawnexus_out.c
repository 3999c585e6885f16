/*
 * ngx_stream_clawnexus_out.c: the outbound queue of a session: entries and
 * their reuse by size, frames queued for a session, frames lent from the
 * receive buffer, backpressure on senders, and the flush to the socket.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "cnx_ws.h"
#include "ngx_stream_clawnexus_relay.h"


static void ngx_stream_clawnexus_enqueue(ngx_stream_clawnexus_ctx_t *to,
    ngx_stream_clawnexus_out_t *o);


/* Outbound queues ---------------------------------------------------------- */


/* A queue entry with size bytes of data. */
static ngx_stream_clawnexus_out_t *
ngx_stream_clawnexus_out_get(size_t size, ngx_log_t *log)
{
    ngx_uint_t                      i;
    ngx_stream_clawnexus_out_t     *o, **prev;
    ngx_stream_clawnexus_worker_t  *w = &ngx_stream_clawnexus_worker;

    if (size <= NGX_STREAM_CLAWNEXUS_OUT_SMALL) {
        if (w->out_free) {
            o = w->out_free;
            w->out_free = o->next;
            w->out_nfree--;
            return o;
        }

        size = NGX_STREAM_CLAWNEXUS_OUT_SMALL;

    } else if (size < NGX_STREAM_CLAWNEXUS_OUT_STEP) {
        /* sized to the frame: what a socket's queue keeps is counted */
        size = ngx_align(size, NGX_STREAM_CLAWNEXUS_OUT_SMALL);
        i = size / NGX_STREAM_CLAWNEXUS_OUT_SMALL;

        if (i < NGX_STREAM_CLAWNEXUS_OUT_MIDS && w->out_mid[i]) {
            o = w->out_mid[i];
            w->out_mid[i] = o->next;
            w->out_mid_bytes -= size;
            return o;
        }

    } else if (size <= NGX_STREAM_CLAWNEXUS_OUT_LARGE) {
        size = ngx_align(size, NGX_STREAM_CLAWNEXUS_OUT_STEP);

        /* an exact fit: the list is short and mostly of one size */
        for (prev = &w->out_large; *prev; prev = &(*prev)->next) {
            if ((*prev)->cap == size) {
                o = *prev;
                *prev = o->next;
                w->out_large_bytes -= size;
                return o;
            }
        }
    }

    o = ngx_alloc(sizeof(ngx_stream_clawnexus_out_t) + size, log);
    if (o == NULL) {
        return NULL;
    }

    o->cap = size;
    o->ext = NULL;

    return o;
}


/* Free a queue entry of a session (or keep it for reuse). */
void
ngx_stream_clawnexus_out_put(ngx_stream_clawnexus_out_t *o)
{
    ngx_uint_t                      i;
    ngx_stream_clawnexus_worker_t  *w = &ngx_stream_clawnexus_worker;

    o->ext = NULL;

    if (o->cap == NGX_STREAM_CLAWNEXUS_OUT_SMALL
        && w->out_nfree < NGX_STREAM_CLAWNEXUS_OUT_KEEP)
    {
        o->next = w->out_free;
        w->out_free = o;
        w->out_nfree++;
        return;
    }

    if (o->cap > NGX_STREAM_CLAWNEXUS_OUT_SMALL
        && o->cap < NGX_STREAM_CLAWNEXUS_OUT_STEP
        && o->cap % NGX_STREAM_CLAWNEXUS_OUT_SMALL == 0
        && w->out_mid_bytes + o->cap <= NGX_STREAM_CLAWNEXUS_OUT_MID_KEEP)
    {
        i = o->cap / NGX_STREAM_CLAWNEXUS_OUT_SMALL;
        o->next = w->out_mid[i];
        w->out_mid[i] = o;
        w->out_mid_bytes += o->cap;
        return;
    }

    if (o->cap > NGX_STREAM_CLAWNEXUS_OUT_SMALL
        && o->cap <= NGX_STREAM_CLAWNEXUS_OUT_LARGE
        && o->cap % NGX_STREAM_CLAWNEXUS_OUT_STEP == 0
        && w->out_large_bytes + o->cap <= NGX_STREAM_CLAWNEXUS_OUT_LARGE_KEEP)
    {
        o->next = w->out_large;
        w->out_large = o;
        w->out_large_bytes += o->cap;
        return;
    }

    ngx_free(o);
}


/*
 * A queue entry with room for a frame header and n payload bytes; the
 * caller writes the payload at o->data + CNX_WS_MAX_HEADER and then calls
 * ngx_stream_clawnexus_commit().
 */
ngx_stream_clawnexus_out_t *
ngx_stream_clawnexus_out_alloc(ngx_stream_clawnexus_ctx_t *to, size_t n)
{
    ngx_stream_clawnexus_out_t  *o;

    o = ngx_stream_clawnexus_out_get(CNX_WS_MAX_HEADER + n, to->c->log);
    if (o == NULL) {
        to->failed = 1;
        ngx_post_event(to->c->write, &ngx_posted_events);
        return NULL;
    }

    o->next = NULL;

    return o;
}


/* Frames the n payload bytes written into o and appends it to the queue. */
void
ngx_stream_clawnexus_commit(ngx_stream_clawnexus_ctx_t *to,
    ngx_stream_clawnexus_out_t *o, int opcode, size_t n)
{
    size_t   h;
    uint8_t  hdr[CNX_WS_MAX_HEADER];

    h = cnx_ws_frame_header(hdr, 1, opcode, n, NULL);
    o->pos = CNX_WS_MAX_HEADER - h;
    ngx_memcpy(o->data + o->pos, hdr, h);
    o->last = CNX_WS_MAX_HEADER + n;

    ngx_stream_clawnexus_enqueue(to, o);
}


/* Appends a framed entry to the queue of "to". */
static void
ngx_stream_clawnexus_enqueue(ngx_stream_clawnexus_ctx_t *to,
    ngx_stream_clawnexus_out_t *o)
{
    if (to->out_last) {
        to->out_last->next = o;

    } else {
        to->out = o;
    }

    to->out_last = o;
    to->out_bytes += o->last - o->pos;
    to->kept += ngx_stream_clawnexus_out_size(o);

    if (!to->c->write->posted) {
        ngx_post_event(to->c->write, &ngx_posted_events);
    }

    if (to->kept > ngx_stream_clawnexus_hard_cap(to->conf) && !to->overflow) {
        /* a client that does not read what it asks for (PINGs, bad
           messages) or a receiver far behind: this socket goes */
        to->overflow = 1;
        ngx_log_error(NGX_LOG_INFO, to->c->log, 0,
                      "clawnexus: %uz bytes queued for a socket that does "
                      "not read, closing it", to->kept);
        ngx_stream_clawnexus_close(to, CNX_WS_CLOSE_POLICY,
                                   "send queue over its limit");
        to->close_reason = "queue overflow";
    }
}


void
ngx_stream_clawnexus_send_frame(ngx_stream_clawnexus_ctx_t *to, int opcode,
    const u_char *p, size_t n)
{
    ngx_stream_clawnexus_out_t  *o;

    if (to->state != NGX_STREAM_CLAWNEXUS_OPEN) {
        return;
    }

    o = ngx_stream_clawnexus_out_alloc(to, n);
    if (o == NULL) {
        return;
    }

    if (n) {
        ngx_memcpy(o->data + CNX_WS_MAX_HEADER, p, n);
    }

    ngx_stream_clawnexus_commit(to, o, opcode, n);
}


/*
 * Queues the binary message p[0..n), unmasked in place in the worker's
 * receive buffer, to "to" without copying it: its frame header (without
 * a mask, so 4 bytes shorter than the one received) is written over the
 * end of the received header.  NGX_DECLINED: not possible here, the
 * caller copies.
 */
ngx_int_t
ngx_stream_clawnexus_borrow(ngx_stream_clawnexus_ctx_t *ctx,
    ngx_stream_clawnexus_ctx_t *to, u_char *p, size_t n)
{
    size_t                          h;
    uint8_t                         hdr[CNX_WS_MAX_HEADER];
    ngx_uint_t                      i;
    ngx_stream_clawnexus_out_t     *o;
    ngx_stream_clawnexus_worker_t  *w = &ngx_stream_clawnexus_worker;

    if (!ctx->bulk || to == ctx || to->state != NGX_STREAM_CLAWNEXUS_OPEN
        || !to->member.binary || to->c->ssl || n < NGX_STREAM_CLAWNEXUS_BORROW_MIN)
    {
        return NGX_DECLINED;
    }

    h = cnx_ws_frame_header(hdr, 1, CNX_WS_OP_BINARY, n, NULL);

    if (p < ngx_stream_clawnexus_rbuf + h + 4
        || p + n > ngx_stream_clawnexus_rbuf
                   + sizeof(ngx_stream_clawnexus_rbuf))
    {
        /* reassembled in the reader, not where it was received */
        return NGX_DECLINED;
    }

    for (i = 0; i < w->nborrowers; i++) {
        if (w->borrowers[i] == to->node.key) {
            break;
        }
    }

    if (i == w->nborrowers) {
        if (i == NGX_STREAM_CLAWNEXUS_BORROWERS) {
            return NGX_DECLINED;
        }

        w->borrowers[w->nborrowers++] = to->node.key;
    }

    o = ngx_stream_clawnexus_out_get(0, to->c->log);
    if (o == NULL) {
        return NGX_DECLINED;
    }

    o->next = NULL;
    o->ext = p - h;
    ngx_memcpy(o->ext, hdr, h);
    o->pos = 0;
    o->last = h + n;

    ngx_stream_clawnexus_enqueue(to, o);

    return NGX_OK;
}


/*
 * A session that streams large frames to a peer whose socket did not take
 * the last ones leaves the next bytes in its own socket until the peer
 * has sent them: the kernel holds them, and they can be sent from the
 * receive buffer then, instead of being copied into the peer's queue now.
 * What others queue to the peer later does not hold it back.  1: paused.
 */
ngx_uint_t
ngx_stream_clawnexus_lender_wait(ngx_stream_clawnexus_ctx_t *ctx)
{
    ngx_stream_clawnexus_ctx_t  *to;

    to = ngx_stream_clawnexus_conn_find(ctx->lent_to);

    if (to == NULL || to->state != NGX_STREAM_CLAWNEXUS_OPEN
        || to->c->sent >= ctx->lent_until)
    {
        ctx->lent_to = 0;
        return 0;
    }

    ngx_stream_clawnexus_pause(&ctx->wait, &to->waiters, to);

    return 1;
}


/*
 * Before the receive buffer is used again: what borrow() queued for ctx is
 * sent, and what the sockets did not take is copied into entries of its
 * own; ctx then waits until that much more is sent to a peer (see
 * lender_wait()).
 */
void
ngx_stream_clawnexus_settle(ngx_stream_clawnexus_ctx_t *ctx)
{
    size_t                          len;
    ngx_uint_t                      i, copied;
    ngx_stream_clawnexus_ctx_t     *to;
    ngx_stream_clawnexus_out_t     *o, *copy, **prev, *last;
    ngx_stream_clawnexus_worker_t  *w = &ngx_stream_clawnexus_worker;

    for (i = 0; i < w->nborrowers; i++) {
        to = ngx_stream_clawnexus_conn_find(w->borrowers[i]);
        if (to == NULL) {
            continue;       /* gone: its queue was freed */
        }

        (void) ngx_stream_clawnexus_flush(to);

        last = NULL;
        copied = 0;

        for (prev = &to->out; *prev; /* void */ ) {
            o = *prev;

            if (o->ext) {
                len = o->last - o->pos;
                copy = ngx_stream_clawnexus_out_get(len, to->c->log);

                if (copy == NULL) {
                    /* the stream cannot go on without these bytes */
                    *prev = o->next;
                    to->out_bytes -= len;
                    to->kept -= ngx_stream_clawnexus_out_size(o);
                    ngx_stream_clawnexus_out_put(o);
                    to->failed = 1;
                    ngx_post_event(to->c->write, &ngx_posted_events);
                    continue;
                }

                ngx_memcpy(copy->data, o->ext + o->pos, len);
                copy->pos = 0;
                copy->last = len;
                copy->next = o->next;
                *prev = copy;
                to->kept += ngx_stream_clawnexus_out_size(copy)
                            - ngx_stream_clawnexus_out_size(o);
                ngx_stream_clawnexus_out_put(o);
                o = copy;
                copied = 1;
            }

            last = o;
            prev = &o->next;
        }

        to->out_last = last;

        if (copied) {
            ctx->lent_to = to->node.key;
            ctx->lent_until = to->c->sent + (off_t) to->out_bytes;
        }
    }

    w->nborrowers = 0;
}


/*
 * After queueing to "to" on behalf of "from": if to's queue is past the
 * high-water mark, stop reading "from" until it drains.
 */
void
ngx_stream_clawnexus_backpressure(ngx_stream_clawnexus_ctx_t *from,
    ngx_stream_clawnexus_ctx_t *to)
{
    if (ngx_stream_clawnexus_full(to)) {
        ngx_stream_clawnexus_pause(&from->wait, &to->waiters, to);
    }
}


void
ngx_stream_clawnexus_chan_backpressure(ngx_stream_clawnexus_ctx_t *from,
    ngx_stream_clawnexus_chan_t *ch)
{
    if (ch && ch->out_bytes > NGX_STREAM_CLAWNEXUS_CHAN_HIGH) {
        ngx_stream_clawnexus_pause(&from->wait, &ch->waiters, ch);
    }
}


void
ngx_stream_clawnexus_wake(ngx_stream_clawnexus_ctx_t *ctx)
{
    ngx_stream_clawnexus_release(&ctx->waiters);

    /* the members sending into its rooms, here or elsewhere, go on */
    if (ctx->member.full && ngx_stream_clawnexus_worker.core
        && ctx->state != NGX_STREAM_CLAWNEXUS_DONE)
    {
        cnx_relay_core_flow(ngx_stream_clawnexus_worker.core, &ctx->member,
                            0);
    }
}


#define NGX_STREAM_CLAWNEXUS_IOVS  64

/*
 * Small frames are copied into one buffer before writev(): the kernel
 * copies a few large pieces much faster than many frames of a few
 * hundred bytes each, by more than the copy here costs.
 */
#define NGX_STREAM_CLAWNEXUS_COALESCE       (64 * 1024)
#define NGX_STREAM_CLAWNEXUS_COALESCE_MAX   1024
#define NGX_STREAM_CLAWNEXUS_TLS_RECORD     (16 * 1024)

static u_char  ngx_stream_clawnexus_coalesce[NGX_STREAM_CLAWNEXUS_COALESCE];


/* Send what the socket takes.  NGX_OK: all sent; NGX_AGAIN; NGX_ERROR. */
ngx_int_t
ngx_stream_clawnexus_flush(ngx_stream_clawnexus_ctx_t *ctx)
{
    int                          k;
    size_t                       want, used, len;
    u_char                      *buf;
    ssize_t                      n;
    ngx_err_t                    err;
    struct iovec                 iov[NGX_STREAM_CLAWNEXUS_IOVS];
    ngx_connection_t            *c;
    ngx_stream_clawnexus_out_t  *o;

    c = ctx->c;

    while (ctx->out) {

        if (c->ssl) {
            /*
             * TLS: small frames share a record of up to 16 KiB, a large
             * frame is sent alone.  A write that must be retried is given
             * the same bytes at the same address, as OpenSSL requires:
             * the head of the queue has not changed, so they are rebuilt
             * identically (and at least as long).
             */
            o = ctx->out;
            len = o->last - o->pos;
            buf = ngx_stream_clawnexus_out_data(o) + o->pos;
            used = len;

            if (len <= NGX_STREAM_CLAWNEXUS_COALESCE_MAX) {
                buf = ngx_stream_clawnexus_coalesce;
                used = 0;

                for ( /* void */ ; o; o = o->next) {
                    len = o->last - o->pos;

                    if (len > NGX_STREAM_CLAWNEXUS_COALESCE_MAX
                        || len > NGX_STREAM_CLAWNEXUS_TLS_RECORD - used)
                    {
                        break;
                    }

                    ngx_memcpy(buf + used,
                               ngx_stream_clawnexus_out_data(o) + o->pos,
                               len);
                    used += len;
                }
            }

            n = c->send(c, buf, used);

            if (n == NGX_ERROR) {
                return NGX_ERROR;
            }

            if (n == NGX_AGAIN || n == 0) {
                return NGX_AGAIN;
            }

        } else {
            /* plain TCP: many small frames in one writev() */
            want = 0;
            used = 0;
            k = 0;

            for (o = ctx->out; o; o = o->next) {
                len = o->last - o->pos;
                buf = ngx_stream_clawnexus_coalesce + used;

                if (len <= NGX_STREAM_CLAWNEXUS_COALESCE_MAX
                    && len <= NGX_STREAM_CLAWNEXUS_COALESCE - used)
                {
                    /* a frame appended to the previous piece, or a new one */
                    if (k > 0 && (u_char *) iov[k - 1].iov_base
                                 + iov[k - 1].iov_len == buf)
                    {
                        iov[k - 1].iov_len += len;

                    } else if (k < NGX_STREAM_CLAWNEXUS_IOVS) {
                        iov[k].iov_base = buf;
                        iov[k].iov_len = len;
                        k++;

                    } else {
                        break;
                    }

                    ngx_memcpy(buf, ngx_stream_clawnexus_out_data(o) + o->pos,
                               len);
                    used += len;

                } else if (len > NGX_STREAM_CLAWNEXUS_COALESCE_MAX
                           && k < NGX_STREAM_CLAWNEXUS_IOVS)
                {
                    iov[k].iov_base = ngx_stream_clawnexus_out_data(o)
                                      + o->pos;
                    iov[k].iov_len = len;
                    k++;

                } else {
                    break;
                }

                want += len;
            }

            n = writev(c->fd, iov, k);

            if (n == -1) {
                err = ngx_socket_errno;

                if (err == NGX_EAGAIN) {
                    c->write->ready = 0;
                    return NGX_AGAIN;
                }

                if (err == NGX_EINTR) {
                    continue;
                }

                c->write->error = 1;
                ngx_connection_error(c, err, "writev() failed");
                return NGX_ERROR;
            }

            if ((size_t) n < want) {
                c->write->ready = 0;
            }
        }

        c->sent += n;

        /* the receiver reads: its stall timer starts again */
        if (c->write->timer_set && n > 0) {
            ngx_add_timer(c->write, ctx->conf->send_stall_timeout);
        }

        /* drop what was sent */
        while (n > 0 && ctx->out) {
            o = ctx->out;

            if ((size_t) n < o->last - o->pos) {
                o->pos += n;
                ctx->out_bytes -= n;
                n = 0;
                break;
            }

            n -= o->last - o->pos;
            ctx->out_bytes -= o->last - o->pos;
            ctx->kept -= ngx_stream_clawnexus_out_size(o);
            ctx->out = o->next;
            if (ctx->out == NULL) {
                ctx->out_last = NULL;
            }

            ngx_stream_clawnexus_out_put(o);
        }

        if (!c->ssl && !c->write->ready) {
            return ctx->out ? NGX_AGAIN : NGX_OK;
        }
    }

    return NGX_OK;
}
