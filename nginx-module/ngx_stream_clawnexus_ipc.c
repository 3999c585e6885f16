/*
 * ngx_stream_clawnexus_ipc.c: the channels between the workers of the
 * relay (cnx_relay_rec records, in chunks, in a ring of shared memory per
 * pair of workers announced by datagrams, or in the datagrams themselves),
 * the waiters paused on a full channel, and the worker's lifecycle: the
 * socketpairs made in the master, init and exit of a worker, the reaper
 * of the state of workers that died.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include <sodium.h>

#include "cnx_relay_rec.h"
#include "ngx_stream_clawnexus_relay.h"


static void ngx_stream_clawnexus_ipc_read(ngx_event_t *ev);
static ngx_int_t ngx_stream_clawnexus_ipc_announce(
    ngx_stream_clawnexus_chan_t *ch);
static ngx_uint_t ngx_stream_clawnexus_ipc_region(
    const ngx_stream_clawnexus_ipc_hdr_t *h, u_char *body, size_t len);
static void ngx_stream_clawnexus_ipc_dispatch(
    const ngx_stream_clawnexus_ipc_hdr_t *h, u_char *body, size_t len);


/* Backpressure ------------------------------------------------------------- */


void
ngx_stream_clawnexus_pause(ngx_stream_clawnexus_waiter_t *w,
    ngx_queue_t *waiters, void *on)
{
    if (w->on) {
        return;
    }

    w->on = on;
    ngx_queue_insert_tail(waiters, &w->link);
    ngx_stream_clawnexus_count(paused, 1);
}


void
ngx_stream_clawnexus_release(ngx_queue_t *waiters)
{
    ngx_queue_t                    *q;
    ngx_stream_clawnexus_waiter_t  *w;

    while (!ngx_queue_empty(waiters)) {
        q = ngx_queue_head(waiters);
        ngx_queue_remove(q);
        w = ngx_queue_data(q, ngx_stream_clawnexus_waiter_t, link);
        w->on = NULL;

        if (w->ev && !w->ev->posted) {
            ngx_post_event(w->ev, &ngx_posted_events);
        }
    }
}


void
ngx_stream_clawnexus_unpause(ngx_stream_clawnexus_waiter_t *w)
{
    if (w->on) {
        ngx_queue_remove(&w->link);
        w->on = NULL;
    }
}


/* IPC between workers ---------------------------------------------------- */


static ngx_int_t
ngx_stream_clawnexus_ipc_flush(ngx_stream_clawnexus_chan_t *ch)
{
    ssize_t                      n;
    ngx_err_t                    err;
    ngx_stream_clawnexus_out_t  *o;

    if (ngx_stream_clawnexus_ipc_announce(ch) != NGX_OK) {
        return NGX_ERROR;
    }

    while (ch->out) {
        o = ch->out;

        n = send(ch->c->fd, o->data, o->last, 0);

        if (n == -1) {
            err = ngx_socket_errno;

            if (err == NGX_EAGAIN || err == NGX_EINTR) {
                ch->c->write->ready = 0;
                if (ngx_handle_write_event(ch->c->write, 0) != NGX_OK) {
                    return NGX_ERROR;
                }
                return NGX_AGAIN;
            }

            if (err == NGX_ECONNREFUSED || err == NGX_ENOTCONN
                || err == NGX_EPIPE)
            {
                /*
                 * The worker exited (after a reload the master no longer
                 * keeps its socket open); its sessions are gone too.
                 */
                ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, err,
                              "clawnexus: another worker has exited");
                ch->dead = 1;

                while (ch->out) {
                    o = ch->out;
                    ch->out = o->next;
                    ngx_free(o);
                }

                ch->out_last = NULL;
                ch->out_bytes = 0;
                ngx_stream_clawnexus_release(&ch->waiters);
                return NGX_ERROR;
            }

            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, err,
                          "clawnexus: send() to another worker failed");
            /* drop it: keeping it would stall the channel forever */
        }

        ch->out = o->next;
        if (ch->out == NULL) {
            ch->out_last = NULL;
        }

        ch->out_bytes -= o->last;
        ngx_free(o);
    }

    return NGX_OK;
}


static void
ngx_stream_clawnexus_ipc_write_handler(ngx_event_t *ev)
{
    ngx_connection_t             *c = ev->data;
    ngx_stream_clawnexus_chan_t  *ch = c->data;

    (void) ngx_stream_clawnexus_ipc_flush(ch);

    if (ch->out_bytes <= NGX_STREAM_CLAWNEXUS_CHAN_HIGH / 2) {
        ngx_stream_clawnexus_release(&ch->waiters);
    }
}


/*
 * Room for a record of size bytes (header and chunk) at the end of the
 * datagram at the tail of the queue (nothing of a datagram is sent until
 * all of it is), or in a new one; a datagram never exceeds one header and
 * one chunk, the size the reader receives into.
 */
static u_char *
ngx_stream_clawnexus_ipc_inline(ngx_stream_clawnexus_chan_t *ch, size_t size)
{
    u_char                      *p;
    size_t                       cap;
    ngx_stream_clawnexus_out_t  *o;

    o = ch->out_last;

    if (o == NULL || o->cap - o->last < size) {
        cap = ngx_max(size, NGX_STREAM_CLAWNEXUS_IPC_BATCH);

        o = ngx_alloc(sizeof(ngx_stream_clawnexus_out_t) + cap,
                      ngx_cycle->log);
        if (o == NULL) {
            return NULL;
        }

        o->pos = 0;
        o->last = 0;
        o->cap = cap;
        o->ext = NULL;
        o->next = NULL;

        if (ch->out_last) {
            ch->out_last->next = o;

        } else {
            ch->out = o;
        }

        ch->out_last = o;
    }

    p = o->data + o->last;
    o->last += size;
    ch->out_bytes += size;

    return p;
}


/*
 * The records written into the ring since the last call are announced:
 * a header naming their region joins the queue of datagrams, after what
 * is already in it and before what follows.
 */
static ngx_int_t
ngx_stream_clawnexus_ipc_announce(ngx_stream_clawnexus_chan_t *ch)
{
    u_char                           *p;
    ngx_stream_clawnexus_ipc_hdr_t    h;
    ngx_stream_clawnexus_ring_ref_t   ref;
    ngx_stream_clawnexus_worker_t    *w = &ngx_stream_clawnexus_worker;

    if (ch->ring == NULL || !cnx_ring_pending(&ch->ring_w)) {
        return NGX_OK;
    }

    p = ngx_stream_clawnexus_ipc_inline(ch, sizeof(h) + sizeof(ref));
    if (p == NULL) {
        return NGX_ERROR;
    }

    (void) cnx_ring_take(&ch->ring_w, &ref.start, &ref.len);

    h.gen = (uint32_t) w->gen;
    h.more = NGX_STREAM_CLAWNEXUS_IPC_RING;
    h.src_worker = (int32_t) ngx_worker;
    h.src_pid = (int32_t) ngx_pid;
    h.dst_pid = 0;
    h.len = sizeof(ref);

    p = ngx_cpymem(p, &h, sizeof(h));
    ngx_memcpy(p, &ref, sizeof(ref));

    return NGX_OK;
}


/*
 * Where to write a record of size bytes: in the ring while it has room
 * in one piece (cnx_ring.h), in a datagram otherwise.
 */
static u_char *
ngx_stream_clawnexus_ipc_room(ngx_stream_clawnexus_chan_t *ch, size_t size)
{
    long  off;

    if (ch->ring) {
        for ( ;; ) {
            off = cnx_ring_reserve(&ch->ring_w,
                      __atomic_load_n(&ch->ring_ctl->head, __ATOMIC_ACQUIRE),
                      size);

            if (off >= 0) {
                return ch->ring + off;
            }

            if (off == CNX_RING_FULL) {
                break;
            }

            /* CNX_RING_ANNOUNCE: a region does not wrap */
            if (ngx_stream_clawnexus_ipc_announce(ch) != NGX_OK) {
                return NULL;
            }
        }
    }

    /* the ring is full: after what is in it, in order */
    if (ngx_stream_clawnexus_ipc_announce(ch) != NGX_OK) {
        return NULL;
    }

    return ngx_stream_clawnexus_ipc_inline(ch, size);
}


/*
 * Queue a record (cnx_relay_rec: its head a, then its payload b) for
 * worker (process pid).  Returns the channel, or NULL if that worker
 * cannot be reached.
 */
ngx_stream_clawnexus_chan_t *
ngx_stream_clawnexus_ipc_send(ngx_int_t worker, ngx_pid_t pid,
    const u_char *a, size_t alen, const u_char *b, size_t blen)
{
    u_char                          *p;
    size_t                           total, off, chunk, part, n;
    ngx_stream_clawnexus_chan_t     *ch;
    ngx_stream_clawnexus_ipc_hdr_t   h;
    ngx_stream_clawnexus_worker_t   *w = &ngx_stream_clawnexus_worker;

    if (worker < 0 || (ngx_uint_t) worker >= w->n
        || (ngx_uint_t) worker == ngx_worker
        || w->chans == NULL || w->chans[worker].c == NULL
        || w->chans[worker].dead)
    {
        return NULL;
    }

    ch = &w->chans[worker];
    total = alen + blen;
    off = 0;

    do {
        chunk = ngx_min(total - off, NGX_STREAM_CLAWNEXUS_IPC_CHUNK);

        p = ngx_stream_clawnexus_ipc_room(ch, sizeof(h) + chunk);
        if (p == NULL) {
            return NULL;
        }

        /* every field is set: the header has no padding */
        h.gen = (uint32_t) w->gen;
        h.more = (off + chunk < total);
        h.src_worker = (int32_t) ngx_worker;
        h.src_pid = (int32_t) ngx_pid;
        h.dst_pid = (int32_t) pid;
        h.len = (uint32_t) chunk;
        p = ngx_cpymem(p, &h, sizeof(h));

        /* copy bytes [off, off + chunk) of the virtual body */
        n = off;
        part = chunk;

#define cnx_ipc_copy(src, slen)                                               \
        if (part && n < (slen)) {                                             \
            size_t k = ngx_min((slen) - n, part);                             \
            p = ngx_cpymem(p, (const u_char *) (src) + n, k);                 \
            part -= k;                                                        \
            n = 0;                                                            \
        } else {                                                              \
            n -= ngx_min(n, (size_t) (slen));                                 \
        }

        cnx_ipc_copy(a, alen)
        cnx_ipc_copy(b, blen)

#undef cnx_ipc_copy

        off += chunk;

    } while (off < total);

    if (!ch->c->write->posted) {
        ngx_post_event(ch->c->write, &ngx_posted_events);
    }

    return ch;
}



/*
 * One record received from another worker: a whole message, or a chunk
 * of one that is assembled until its last chunk arrives.
 */
static void
ngx_stream_clawnexus_ipc_record(const ngx_stream_clawnexus_ipc_hdr_t *rh,
    u_char *body, size_t len)
{
    ngx_stream_clawnexus_asm_t      *as;
    ngx_stream_clawnexus_ipc_hdr_t   h = *rh;
    ngx_stream_clawnexus_worker_t   *w = &ngx_stream_clawnexus_worker;

    as = &w->asms[h.src_worker];

    if ((as->len || as->skip) && as->pid != h.src_pid) {
        as->len = 0;            /* the sender died mid-message */
        as->skip = 0;
    }

    if (as->skip) {
        /* the chunks that follow belong to the message that could not
         * be assembled: drop them, up to and including its last one,
         * rather than glue the rest onto the next message */
        as->skip = h.more != 0;
        return;
    }

    if (h.more || as->len) {
        if (as->len + len > as->cap) {
            size_t   cap = ngx_max(as->cap * 2, as->len + len);
            u_char  *p = ngx_alloc(cap, ngx_cycle->log);

            if (p == NULL) {
                ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                              "clawnexus: no memory for a %uz-byte message "
                              "from another worker, message dropped",
                              as->len + len);
                as->len = 0;
                as->pid = h.src_pid;
                as->skip = h.more != 0;
                return;
            }

            if (as->len) {
                ngx_memcpy(p, as->data, as->len);
            }

            ngx_free(as->data);
            as->data = p;
            as->cap = cap;
        }

        if (as->len == 0) {
            as->hdr = h;
            as->pid = h.src_pid;
        }

        ngx_memcpy(as->data + as->len, body, len);
        as->len += len;

        if (h.more) {
            return;
        }

        h = as->hdr;
        body = as->data;
        len = as->len;
        as->len = 0;
    }

    if (h.dst_pid != (int32_t) ngx_pid) {
        return;                 /* for a predecessor of this worker */
    }

    ngx_stream_clawnexus_ipc_dispatch(&h, body, len);
}


/*
 * The records in a region of the ring from another worker (h: the
 * header that named it), handled where they lie; then the region is
 * given back to the sender.  Returns the number of records.
 */
static ngx_uint_t
ngx_stream_clawnexus_ipc_region(const ngx_stream_clawnexus_ipc_hdr_t *h,
    u_char *body, size_t len)
{
    u_char                           *p;
    long                              pos;
    size_t                            off, size;
    ngx_uint_t                        k;
    ngx_stream_clawnexus_ring_ctl_t  *ctl;
    ngx_stream_clawnexus_ipc_hdr_t    rh;
    ngx_stream_clawnexus_ring_ref_t   ref;
    ngx_stream_clawnexus_worker_t    *w = &ngx_stream_clawnexus_worker;

    if (w->rings == NULL || len != sizeof(ref)
        || (ngx_uint_t) h->src_worker == ngx_worker)
    {
        goto malformed;
    }

    ngx_memcpy(&ref, body, sizeof(ref));

    pos = cnx_ring_region(w->ring_size, ref.start, ref.len);

    if (pos < 0) {
        goto malformed;
    }

    ctl = (ngx_stream_clawnexus_ring_ctl_t *)
              (w->rings + (h->src_worker * w->n + ngx_worker)
                          * (NGX_STREAM_CLAWNEXUS_RING_CTL + w->ring_size));
    p = (u_char *) ctl + NGX_STREAM_CLAWNEXUS_RING_CTL + pos;
    size = (size_t) ref.len;

    /* the records of a region come from its sender, as in a datagram */
    for (k = 0, off = 0; size - off >= sizeof(rh); off += sizeof(rh) + rh.len)
    {
        ngx_memcpy(&rh, p + off, sizeof(rh));

        if (rh.gen != h->gen || rh.src_worker != h->src_worker
            || rh.src_pid != h->src_pid || rh.more > 1
            || rh.len > size - off - sizeof(rh))
        {
            break;
        }

        ngx_stream_clawnexus_ipc_record(&rh, p + off + sizeof(rh), rh.len);
        k++;
    }

    __atomic_store_n(&ctl->head, ref.start + ref.len, __ATOMIC_RELEASE);

    if (off != size) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "clawnexus: a malformed record at byte %uz of %uz "
                      "of a ring region from worker %D, rest dropped",
                      off, size, h->src_worker);
    }

    return k;

malformed:

    ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                  "clawnexus: a malformed ring region from another worker");
    return 0;
}


static void
ngx_stream_clawnexus_ipc_read_handler(ngx_event_t *ev)
{
    ngx_stream_clawnexus_ipc_read(ev);

    /* the core's counters, once per batch of records (see frames()) */
    ngx_stream_clawnexus_publish();
}


static void
ngx_stream_clawnexus_ipc_read(ngx_event_t *ev)
{
    u_char                          *body;
    size_t                           len, off, bytes;
    ssize_t                          n;
    ngx_err_t                        err;
    ngx_uint_t                       i;
    ngx_connection_t                *c = ev->data;
    ngx_stream_clawnexus_ipc_hdr_t   h;
    ngx_stream_clawnexus_worker_t   *w = &ngx_stream_clawnexus_worker;

    /*
     * A budget of datagrams, records and bytes, then the others get a
     * turn: among them the FLOW records this worker owes the senders of
     * a receiver that just filled up.
     */
    for (i = 0, bytes = 0;
         i < 512 && bytes < NGX_STREAM_CLAWNEXUS_IPC_BURST;
         i++)
    {
        if (w->ipc_wait.on) {
            /* a receiver far past its mark: resumed when it drains */
            return;
        }

        n = recv(c->fd, w->ipc_buf, sizeof(h) + NGX_STREAM_CLAWNEXUS_IPC_CHUNK,
                 0);

        if (n == -1) {
            err = ngx_socket_errno;

            if (err == NGX_EAGAIN) {
                c->read->ready = 0;
                (void) ngx_handle_read_event(c->read, 0);
                return;
            }

            if (err == NGX_EINTR) {
                continue;
            }

            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, err,
                          "clawnexus: recv() from other workers failed");
            return;
        }

        bytes += (size_t) n;

        for (off = 0; (size_t) n - off >= sizeof(h); off += sizeof(h) + len) {
            ngx_memcpy(&h, w->ipc_buf + off, sizeof(h));

            /* the records of one datagram come from one sender */
            if (h.gen != (uint32_t) w->gen || h.src_worker < 0
                || (ngx_uint_t) h.src_worker >= w->n
                || h.len > (size_t) n - off - sizeof(h))
            {
                break;
            }

            body = w->ipc_buf + off + sizeof(h);
            len = h.len;

            if (h.more == NGX_STREAM_CLAWNEXUS_IPC_RING) {
                i += ngx_stream_clawnexus_ipc_region(&h, body, len);
                continue;
            }

            ngx_stream_clawnexus_ipc_record(&h, body, len);
            i++;
        }
    }

    ngx_post_event(ev, &ngx_posted_events);
}



/* A record from another worker (h: its channel header). */
static void
ngx_stream_clawnexus_ipc_dispatch(const ngx_stream_clawnexus_ipc_hdr_t *h,
    u_char *body, size_t len)
{
    cnx_relay_rec_t                 rec;
    cnx_relay_member_t             *to;
    ngx_stream_clawnexus_ctx_t     *ctx;
    ngx_stream_clawnexus_worker_t  *w = &ngx_stream_clawnexus_worker;

    if (len && body[0] == CNX_RELAY_REC_SHORT_VERSION) {

        /*
         * the short DATA record: the channel says who sent it (checked
         * against the room by the core as for the general form) and to
         * whom; ngx_stream_clawnexus_ipc_read() checked h->gen and
         * ngx_stream_clawnexus_ipc_record() h->dst_pid
         */
        if (cnx_relay_rec_decode_short(body, len, NGX_MAX_INT32_VALUE, &rec)
            != 0)
        {
            goto malformed;
        }

        rec.src.gen = h->gen;
        rec.src.worker = h->src_worker;
        rec.src.pid = h->src_pid;
        rec.dst.gen = h->gen;
        rec.dst.worker = (int32_t) ngx_worker;
        rec.dst.pid = h->dst_pid;

    } else if (cnx_relay_rec_decode(body, len, NGX_MAX_INT32_VALUE, &rec)
               != 0)
    {
        goto malformed;
    }

    if (rec.dst.pid != (int32_t) ngx_pid || rec.dst.gen != (uint32_t) w->gen
        || rec.src.gen != (uint32_t) w->gen || rec.dst.node != 0)
    {
        return;
    }

    ctx = ngx_stream_clawnexus_conn_find(rec.dst.conn);
    to = ctx && ctx->state == NGX_STREAM_CLAWNEXUS_OPEN ? &ctx->member : NULL;

    cnx_relay_core_record(w->core, to, &rec);

    return;

malformed:

    ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                  "clawnexus: a malformed record from another worker");
}


static void
ngx_stream_clawnexus_ipc_close(void *data)
{
    ngx_stream_clawnexus_ipc_t  *ipc = data;

    ngx_uint_t  i, k;

    if (ipc->rings) {
        (void) munmap(ipc->rings, ipc->rings_len);
        ipc->rings = NULL;
    }

    for (i = 0; i < ipc->n; i++) {
        for (k = 0; k < 2; k++) {
            if (ipc->fd[i][k] != (ngx_socket_t) -1) {
                (void) ngx_close_socket(ipc->fd[i][k]);
                ipc->fd[i][k] = (ngx_socket_t) -1;
            }
        }
    }
}


/*
 * In the master, before the workers are forked: one datagram socketpair
 * per worker of this cycle.  Worker i reads fd[i][0]; the others send to
 * fd[i][1].  Datagrams keep message boundaries with many writers.
 */
ngx_int_t
ngx_stream_clawnexus_init_module(ngx_cycle_t *cycle)
{
    int                          size;
    ngx_uint_t                   i, k;
    ngx_core_conf_t             *ccf;
    ngx_pool_cleanup_t          *cln;
    ngx_stream_clawnexus_ipc_t  *ipc;

    ngx_stream_clawnexus_ipc = NULL;

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    if (ngx_stream_clawnexus_relays == 0 || ccf->worker_processes <= 1
        || !ccf->master || ngx_test_config)
    {
        return NGX_OK;
    }

    ipc = ngx_pcalloc(cycle->pool, sizeof(ngx_stream_clawnexus_ipc_t));
    if (ipc == NULL) {
        return NGX_ERROR;
    }

    ipc->n = ccf->worker_processes;
    ipc->gen = ++ngx_stream_clawnexus_generation;
    ipc->fd = ngx_palloc(cycle->pool, ipc->n * sizeof(ngx_socket_t[2]));
    if (ipc->fd == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < ipc->n; i++) {
        ipc->fd[i][0] = (ngx_socket_t) -1;
        ipc->fd[i][1] = (ngx_socket_t) -1;
    }

    cln = ngx_pool_cleanup_add(cycle->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_stream_clawnexus_ipc_close;
    cln->data = ipc;

    for (i = 0; i < ipc->n; i++) {
        if (socketpair(AF_UNIX, SOCK_DGRAM, 0, ipc->fd[i]) == -1) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                          "clawnexus: socketpair() failed");
            return NGX_ERROR;
        }

        for (k = 0; k < 2; k++) {
            if (ngx_nonblocking(ipc->fd[i][k]) == -1) {
                ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                              ngx_nonblocking_n " failed");
                return NGX_ERROR;
            }
        }

        /* best effort: the kernel caps these at wmem_max / rmem_max */
        size = 4 * 1024 * 1024;
        (void) setsockopt(ipc->fd[i][1], SOL_SOCKET, SO_SNDBUF, &size,
                          sizeof(int));
        (void) setsockopt(ipc->fd[i][0], SOL_SOCKET, SO_RCVBUF, &size,
                          sizeof(int));
    }

    /* the rings, one per pair (sender, receiver); without them datagrams */
    for (ipc->ring_size = NGX_STREAM_CLAWNEXUS_RING_MAX;
         ipc->ring_size >= NGX_STREAM_CLAWNEXUS_RING_MIN;
         ipc->ring_size /= 2)
    {
        if (ipc->n * (ipc->n - 1) * ipc->ring_size
            <= NGX_STREAM_CLAWNEXUS_RING_ALL)
        {
            break;
        }
    }

    if (ipc->ring_size >= NGX_STREAM_CLAWNEXUS_RING_MIN) {
        ipc->rings_len = ipc->n * ipc->n
                         * (NGX_STREAM_CLAWNEXUS_RING_CTL + ipc->ring_size);

        ipc->rings = mmap(NULL, ipc->rings_len, PROT_READ|PROT_WRITE,
                          MAP_ANON|MAP_SHARED, -1, 0);

        if (ipc->rings == MAP_FAILED) {
            ngx_log_error(NGX_LOG_WARN, cycle->log, ngx_errno,
                          "clawnexus: mmap(MAP_ANON|MAP_SHARED, %uz) for "
                          "the rings between workers failed, "
                          "using datagrams only", ipc->rings_len);
            ipc->rings = NULL;
        }
    }

    ngx_stream_clawnexus_ipc = ipc;

    return NGX_OK;
}


static void
ngx_stream_clawnexus_ipc_dummy(ngx_event_t *ev)
{
}


/* Ends the rooms whose remote member lived in a process that is gone. */
static void
ngx_stream_clawnexus_drop_proxies(ngx_pid_t pid)
{
    ngx_queue_t                   *q, *next;
    ngx_stream_clawnexus_proxy_t  *px;

    for (q = ngx_queue_head(&ngx_stream_clawnexus_worker.proxies);
         q != ngx_queue_sentinel(&ngx_stream_clawnexus_worker.proxies);
         q = next)
    {
        next = ngx_queue_next(q);
        px = ngx_queue_data(q, ngx_stream_clawnexus_proxy_t, link);

        /* the core ends its rooms and gives px back (unused) */
        if (px->member.addr.pid == (int32_t) pid) {
            cnx_relay_core_leave(ngx_stream_clawnexus_worker.core,
                                 &px->member);
        }
    }

    ngx_stream_clawnexus_publish();
}


static void
ngx_stream_clawnexus_reaper(ngx_event_t *ev)
{
    ngx_pid_t                       pid;
    ngx_uint_t                      j;
    ngx_stream_clawnexus_worker_t  *w = &ngx_stream_clawnexus_worker;

    for (j = 0; j < w->n; j++) {
        if (j == ngx_worker) {
            continue;
        }

        pid = ngx_stream_clawnexus_sh->workers[j];

        if (w->seen[j] && (w->seen[j] != pid
                           || !ngx_stream_clawnexus_alive(w->seen[j])))
        {
            ngx_log_error(NGX_LOG_INFO, ev->log, 0,
                          "clawnexus: worker %P is gone, ending its rooms",
                          w->seen[j]);
            ngx_stream_clawnexus_drop_proxies(w->seen[j]);

            if (!ngx_stream_clawnexus_alive(w->seen[j])) {
                ngx_stream_clawnexus_names_reap(w->seen[j]);
            }
        }

        w->seen[j] = pid;
    }

    if (!ngx_exiting && !ngx_terminate && !ngx_quit) {
        ngx_add_timer(ev, 1000);
    }
}


static ngx_connection_t *
ngx_stream_clawnexus_ipc_conn(ngx_cycle_t *cycle, ngx_socket_t fd)
{
    ngx_connection_t  *c;

    c = ngx_get_connection(fd, cycle->log);
    if (c == NULL) {
        return NULL;
    }

    c->read->log = cycle->log;
    c->write->log = cycle->log;
    c->read->handler = ngx_stream_clawnexus_ipc_dummy;
    c->write->handler = ngx_stream_clawnexus_ipc_dummy;

    return c;
}


ngx_int_t
ngx_stream_clawnexus_init_process(ngx_cycle_t *cycle)
{
    int64_t                           none;
    ngx_pid_t                         old;
    ngx_uint_t                        j;
    ngx_connection_t                 *c;
    ngx_stream_clawnexus_ipc_t       *ipc = ngx_stream_clawnexus_ipc;
    ngx_stream_clawnexus_worker_t    *w = &ngx_stream_clawnexus_worker;
    ngx_stream_clawnexus_ring_ctl_t  *ctl;

    if (sodium_init() < 0) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "clawnexus: libsodium initialisation failed");
        return NGX_ERROR;
    }

    ngx_memzero(w, sizeof(ngx_stream_clawnexus_worker_t));

    if (ngx_stream_clawnexus_zone == NULL
        || ngx_stream_clawnexus_zone->data == NULL)
    {
        return NGX_OK;                  /* no relay in this configuration */
    }

    ngx_stream_clawnexus_sh = ngx_stream_clawnexus_zone->data;
    ngx_stream_clawnexus_stats = &ngx_stream_clawnexus_sh->stats;

    /* a slot is reused only after its previous process has exited */
    if (ngx_process_slot >= 0 && ngx_process_slot < NGX_MAX_PROCESSES) {
        ngx_stream_clawnexus_my_gauge =
                          &ngx_stream_clawnexus_sh->gauges[ngx_process_slot];
        ngx_stream_clawnexus_my_gauge->active = 0;
        ngx_stream_clawnexus_my_gauge->rooms = 0;
        ngx_stream_clawnexus_my_gauge->pid = ngx_pid;
    }

    w->core = cnx_relay_core_new(&ngx_stream_clawnexus_host_ops, NULL);
    if (w->core == NULL) {
        return NGX_ERROR;
    }

    ngx_stream_clawnexus_node_init();

    ngx_rbtree_init(&w->conns, &w->conns_sentinel, ngx_rbtree_insert_value);
    ngx_queue_init(&w->proxies);
    w->n = 1;

    if (ngx_worker < NGX_MAX_PROCESSES) {
        /* a predecessor killed in this slot leaves names behind */
        old = ngx_stream_clawnexus_sh->workers[ngx_worker];

        if (old && old != ngx_pid && !ngx_stream_clawnexus_alive(old)) {
            ngx_stream_clawnexus_names_reap(old);
        }

        ngx_stream_clawnexus_sh->workers[ngx_worker] = ngx_pid;
    }

    if (ipc) {
        w->gen = ipc->gen;              /* picks the column of counts */
    }

    ngx_stream_clawnexus_limits_take_over();

    if (ipc == NULL || ngx_process != NGX_PROCESS_WORKER
        || ngx_worker >= ipc->n)
    {
        return NGX_OK;
    }

    w->n = ipc->n;
    w->gen = ipc->gen;
    w->chans = ngx_calloc(w->n * sizeof(ngx_stream_clawnexus_chan_t),
                          cycle->log);
    w->asms = ngx_calloc(w->n * sizeof(ngx_stream_clawnexus_asm_t),
                         cycle->log);
    w->seen = ngx_calloc(w->n * sizeof(ngx_pid_t), cycle->log);
    w->ipc_buf = ngx_alloc(sizeof(ngx_stream_clawnexus_ipc_hdr_t)
                           + NGX_STREAM_CLAWNEXUS_IPC_CHUNK, cycle->log);

    if (w->chans == NULL || w->asms == NULL || w->seen == NULL
        || w->ipc_buf == NULL)
    {
        return NGX_ERROR;
    }

    w->rings = ipc->rings;
    w->ring_size = ipc->ring_size;
    none = 0;

    for (j = 0; j < w->n; j++) {
        ngx_queue_init(&w->chans[j].waiters);

        if (j == ngx_worker) {
            continue;
        }

        if (w->rings) {
            ctl = (ngx_stream_clawnexus_ring_ctl_t *)
                      (w->rings + (ngx_worker * w->n + j)
                                  * (NGX_STREAM_CLAWNEXUS_RING_CTL
                                     + w->ring_size));

            /*
             * Only the first process in this slot writes the ring: a
             * successor after a crash cannot know which regions of its
             * predecessor are still to be read, and sends datagrams.
             */
            if (__atomic_compare_exchange_n(&ctl->writer, &none,
                                            (int64_t) ngx_pid, 0,
                                            __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE))
            {
                w->chans[j].ring = (u_char *) ctl
                                   + NGX_STREAM_CLAWNEXUS_RING_CTL;
                w->chans[j].ring_ctl = ctl;
                cnx_ring_init(&w->chans[j].ring_w, w->ring_size);
            }

            none = 0;
        }

        /* only the write ends of the others are ours */
        (void) ngx_close_socket(ipc->fd[j][0]);
        ipc->fd[j][0] = (ngx_socket_t) -1;

        c = ngx_stream_clawnexus_ipc_conn(cycle, ipc->fd[j][1]);
        if (c == NULL) {
            return NGX_ERROR;
        }

        ipc->fd[j][1] = (ngx_socket_t) -1;
        c->data = &w->chans[j];
        c->write->handler = ngx_stream_clawnexus_ipc_write_handler;
        w->chans[j].c = c;
    }

    (void) ngx_close_socket(ipc->fd[ngx_worker][1]);
    ipc->fd[ngx_worker][1] = (ngx_socket_t) -1;

    c = ngx_stream_clawnexus_ipc_conn(cycle, ipc->fd[ngx_worker][0]);
    if (c == NULL) {
        return NGX_ERROR;
    }

    ipc->fd[ngx_worker][0] = (ngx_socket_t) -1;
    c->read->handler = ngx_stream_clawnexus_ipc_read_handler;
    w->ipc_in = c;
    w->ipc_wait.ev = c->read;

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    /* datagrams may have been queued before we started */
    ngx_post_event(c->read, &ngx_posted_events);

    w->reaper.handler = ngx_stream_clawnexus_reaper;
    w->reaper.log = cycle->log;
    w->reaper.data = w;
    w->reaper.cancelable = 1;
    ngx_add_timer(&w->reaper, 1000);

    return NGX_OK;
}


void
ngx_stream_clawnexus_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                      j;
    ngx_stream_clawnexus_out_t     *o;
    ngx_stream_clawnexus_worker_t  *w = &ngx_stream_clawnexus_worker;

    if (w->reaper.timer_set) {
        ngx_del_timer(&w->reaper);
    }

    /* IPC connections must be closed, or nginx reports them as leaked */
    for (j = 0; w->chans && j < w->n; j++) {
        if (w->chans[j].c) {
            ngx_close_connection(w->chans[j].c);
            w->chans[j].c = NULL;
        }

        while (w->chans[j].out) {
            o = w->chans[j].out;
            w->chans[j].out = o->next;
            ngx_free(o);
        }
    }

    if (w->ipc_in) {
        ngx_close_connection(w->ipc_in);
        w->ipc_in = NULL;
    }

    while (w->out_free) {
        o = w->out_free;
        w->out_free = o->next;
        ngx_free(o);
    }

    w->out_nfree = 0;

    while (w->out_large) {
        o = w->out_large;
        w->out_large = o->next;
        ngx_free(o);
    }

    w->out_large_bytes = 0;

    for (j = 0; j < NGX_STREAM_CLAWNEXUS_OUT_MIDS; j++) {
        while (w->out_mid[j]) {
            o = w->out_mid[j];
            w->out_mid[j] = o->next;
            ngx_free(o);
        }
    }

    w->out_mid_bytes = 0;

    for (j = 0; w->asms && j < w->n; j++) {
        ngx_free(w->asms[j].data);
    }

    ngx_free(w->chans);
    ngx_free(w->asms);
    ngx_free(w->seen);
    ngx_free(w->ipc_buf);
    w->chans = NULL;
    w->asms = NULL;
    w->seen = NULL;
    w->ipc_buf = NULL;

    cnx_relay_core_free(w->core);
    w->core = NULL;
    ngx_stream_clawnexus_my_gauge->pid = 0;
    ngx_stream_clawnexus_my_gauge->active = 0;
    ngx_stream_clawnexus_my_gauge->rooms = 0;
    ngx_stream_clawnexus_my_gauge = &ngx_stream_clawnexus_dummy_gauge;
}
