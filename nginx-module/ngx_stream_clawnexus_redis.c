
/*
 * hiredis' asynchronous API on nginx's event loop.
 *
 * hiredis calls five hooks (add/del read, add/del write, cleanup); here
 * the socket becomes an nginx connection whose read and write events call
 * redisAsyncHandleRead() and redisAsyncHandleWrite().  Three rules of
 * hiredis 0.14 shape the code:
 *
 * - It reads at most 16 KiB per redisAsyncHandleRead(), and a FIONREAD
 *   after each read would be one more system call: once connected, the
 *   read handler reads the socket itself in 64 KiB blocks, feeds hiredis'
 *   reader and runs its callbacks.  With edge-triggered epoll a short
 *   read means the socket is empty; after a bounded number of full reads
 *   the handler posts itself so other connections run.  EOF and errors
 *   go to redisAsyncHandleRead(), which meets them again and disconnects.
 * - It judges a connect finished by SO_ERROR alone, which is 0 while the
 *   connect is still in progress: the write handler is never called
 *   before the socket reported writable.
 * - It closes the socket itself when it frees the context, after the
 *   cleanup hook: the hook only detaches the nginx connection (fd -1),
 *   and the owner reconnects from a timer, not from a hook.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <hiredis/sds.h>

#include "ngx_stream_clawnexus_redis.h"


/* full reads per read event before yielding, and their size */
#define NGX_STREAM_CLAWNEXUS_REDIS_READS  16
#define NGX_STREAM_CLAWNEXUS_REDIS_BLOCK  (64 * 1024)


/* exported by hiredis (async.c), not declared in its 0.14 headers */
void redisProcessCallbacks(redisAsyncContext *ac);


struct ngx_stream_clawnexus_redis_cmd_s {
    ngx_stream_clawnexus_redis_t            *rd;
    ngx_stream_clawnexus_redis_reply_pt      handler;
    void                                    *data;
    ngx_stream_clawnexus_redis_cmd_t        *next;
    unsigned                                 counted:1;
    unsigned                                 once:1;     /* quiet() */
};


static void ngx_stream_clawnexus_redis_read_handler(ngx_event_t *ev);
static void ngx_stream_clawnexus_redis_write_handler(ngx_event_t *ev);
static void ngx_stream_clawnexus_redis_timer_handler(ngx_event_t *ev);
static void ngx_stream_clawnexus_redis_add_read(void *privdata);
static void ngx_stream_clawnexus_redis_del_read(void *privdata);
static void ngx_stream_clawnexus_redis_add_write(void *privdata);
static void ngx_stream_clawnexus_redis_del_write(void *privdata);
static void ngx_stream_clawnexus_redis_hook_cleanup(void *privdata);
static void ngx_stream_clawnexus_redis_connected(const redisAsyncContext *ac,
    int status);
static void ngx_stream_clawnexus_redis_disconnected(
    const redisAsyncContext *ac, int status);
static void ngx_stream_clawnexus_redis_reply(redisAsyncContext *ac,
    void *reply, void *privdata);
static ngx_int_t ngx_stream_clawnexus_redis_ask(
    ngx_stream_clawnexus_redis_t *rd,
    ngx_stream_clawnexus_redis_reply_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen, ngx_uint_t counted);
static ngx_stream_clawnexus_redis_cmd_t *ngx_stream_clawnexus_redis_argv(
    ngx_stream_clawnexus_redis_t *rd,
    ngx_stream_clawnexus_redis_reply_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen);
static ngx_stream_clawnexus_redis_cmd_t *ngx_stream_clawnexus_redis_cmd(
    ngx_stream_clawnexus_redis_t *rd,
    ngx_stream_clawnexus_redis_reply_pt handler, void *data);


#define ngx_stream_clawnexus_redis_event_flags                               \
    ((ngx_event_flags & NGX_USE_CLEAR_EVENT) ? NGX_CLEAR_EVENT               \
                                             : NGX_LEVEL_EVENT)


ngx_int_t
ngx_stream_clawnexus_redis_connect(ngx_stream_clawnexus_redis_t *rd,
    const char *ip, int port)
{
    u_char             *p;
    ngx_connection_t   *c;
    redisAsyncContext  *ac;
    static u_char       err[160];

    rd->err = "already connected";

    if (rd->ac) {
        return NGX_ERROR;
    }

    rd->connected = 0;
    rd->want_read = 0;
    rd->want_write = 0;
    rd->pending = 0;
    rd->reason = NULL;

    /* an IP literal: getaddrinfo() answers without asking DNS */
    ac = redisAsyncConnect(ip, port);
    if (ac == NULL) {
        rd->err = "cannot allocate a Redis context";
        return NGX_ERROR;
    }

    if (ac->err) {
        /* e.g. "Connection refused" from a connect() that failed at once */
        p = ngx_snprintf(err, sizeof(err) - 1, "%s", ac->errstr);
        *p = '\0';
        rd->err = (const char *) err;
        redisAsyncFree(ac);
        return NGX_ERROR;
    }

    c = ngx_get_connection(ac->c.fd, rd->log);
    if (c == NULL) {
        rd->err = "no free connection (worker_connections)";
        redisAsyncFree(ac);
        return NGX_ERROR;
    }

    c->data = rd;
    c->read->handler = ngx_stream_clawnexus_redis_read_handler;
    c->write->handler = ngx_stream_clawnexus_redis_write_handler;
    c->read->log = rd->log;
    c->write->log = rd->log;

    rd->ac = ac;
    rd->c = c;

    ac->data = rd;
    ac->ev.data = rd;
    ac->ev.addRead = ngx_stream_clawnexus_redis_add_read;
    ac->ev.delRead = ngx_stream_clawnexus_redis_del_read;
    ac->ev.addWrite = ngx_stream_clawnexus_redis_add_write;
    ac->ev.delWrite = ngx_stream_clawnexus_redis_del_write;
    ac->ev.cleanup = ngx_stream_clawnexus_redis_hook_cleanup;

    /* this also asks for the write event that tells the connect is done */
    redisAsyncSetConnectCallback(ac, ngx_stream_clawnexus_redis_connected);
    redisAsyncSetDisconnectCallback(ac,
                                    ngx_stream_clawnexus_redis_disconnected);

    if (rd->ac == NULL) {
        /* the hooks failed and closed it already */
        rd->err = "cannot watch the socket";
        return NGX_ERROR;
    }

    rd->err = NULL;

    rd->timer.handler = ngx_stream_clawnexus_redis_timer_handler;
    rd->timer.data = rd;
    rd->timer.log = rd->log;
    rd->timer.cancelable = 1;
    ngx_add_timer(&rd->timer, rd->connect_timeout);

    return NGX_OK;
}


ngx_int_t
ngx_stream_clawnexus_redis_command(ngx_stream_clawnexus_redis_t *rd,
    ngx_stream_clawnexus_redis_reply_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen)
{
    return ngx_stream_clawnexus_redis_ask(rd, handler, data, argc, argv,
                                          argvlen, 1);
}


ngx_int_t
ngx_stream_clawnexus_redis_quiet(ngx_stream_clawnexus_redis_t *rd,
    ngx_stream_clawnexus_redis_reply_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen)
{
    return ngx_stream_clawnexus_redis_ask(rd, handler, data, argc, argv,
                                          argvlen, 0);
}


/* A command with a reply due (counted) or with none expected. */
static ngx_int_t
ngx_stream_clawnexus_redis_ask(ngx_stream_clawnexus_redis_t *rd,
    ngx_stream_clawnexus_redis_reply_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen, ngx_uint_t counted)
{
    ngx_stream_clawnexus_redis_cmd_t  *cmd;

    cmd = ngx_stream_clawnexus_redis_argv(rd, handler, data, argc, argv,
                                          argvlen);
    if (cmd == NULL) {
        return NGX_ERROR;
    }

    if (!counted) {
        cmd->once = 1;
        return NGX_OK;
    }

    cmd->counted = 1;

    if (rd->pending++ == 0) {
        rd->progress = ngx_current_msec;

        if (rd->connected && !rd->timer.timer_set) {
            ngx_add_timer(&rd->timer, rd->reply_timeout);
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_stream_clawnexus_redis_send(ngx_stream_clawnexus_redis_t *rd, sds cmd)
{
    sds            buf;
    redisContext  *c;

    if (rd->ac == NULL || rd->reason) {
        sdsfree(cmd);
        return NGX_ERROR;
    }

    c = &rd->ac->c;

    if (sdslen(c->obuf) == 0) {
        /* hiredis frees it once written, as its own buffer */
        sdsfree(c->obuf);
        c->obuf = cmd;

    } else {
        buf = sdscatsds(c->obuf, cmd);
        sdsfree(cmd);

        if (buf == NULL) {
            return NGX_ERROR;
        }

        c->obuf = buf;
    }

    /* as hiredis does after appending a command: write in this turn */
    ngx_stream_clawnexus_redis_add_write(rd);

    return NGX_OK;
}


ngx_int_t
ngx_stream_clawnexus_redis_subscribe(ngx_stream_clawnexus_redis_t *rd,
    ngx_stream_clawnexus_redis_reply_pt handler, void *data,
    const char *channel, size_t len)
{
    const char  *argv[2];
    size_t       argvlen[2];

    argv[0] = "SUBSCRIBE";
    argvlen[0] = sizeof("SUBSCRIBE") - 1;
    argv[1] = channel;
    argvlen[1] = len;

    /*
     * hiredis keeps the callback for every message of the channel until
     * the context is freed: the record stays out of the free list.
     */
    if (ngx_stream_clawnexus_redis_argv(rd, handler, data, 2, argv, argvlen)
        == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_stream_clawnexus_redis_close(ngx_stream_clawnexus_redis_t *rd,
    const char *reason)
{
    if (rd->ac == NULL || rd->reason) {
        return;
    }

    rd->reason = reason;

    /* inside a hiredis callback this only marks it; hiredis frees it when
     * the callback returns */
    redisAsyncFree(rd->ac);
}


void
ngx_stream_clawnexus_redis_flush(ngx_stream_clawnexus_redis_t *rd)
{
    if (rd->ac == NULL || !rd->connected || !rd->want_write) {
        return;
    }

    redisAsyncHandleWrite(rd->ac);
}


size_t
ngx_stream_clawnexus_redis_unsent(ngx_stream_clawnexus_redis_t *rd)
{
    if (rd->ac == NULL) {
        return 0;
    }

    return sdslen(rd->ac->c.obuf);
}


void
ngx_stream_clawnexus_redis_cleanup(ngx_stream_clawnexus_redis_t *rd)
{
    ngx_stream_clawnexus_redis_cmd_t  *cmd;

    while (rd->free) {
        cmd = rd->free;
        rd->free = cmd->next;
        ngx_free(cmd);
    }
}


static ngx_stream_clawnexus_redis_cmd_t *
ngx_stream_clawnexus_redis_cmd(ngx_stream_clawnexus_redis_t *rd,
    ngx_stream_clawnexus_redis_reply_pt handler, void *data)
{
    ngx_stream_clawnexus_redis_cmd_t  *cmd;

    cmd = rd->free;

    if (cmd) {
        rd->free = cmd->next;

    } else {
        cmd = ngx_alloc(sizeof(ngx_stream_clawnexus_redis_cmd_t), rd->log);
        if (cmd == NULL) {
            return NULL;
        }
    }

    cmd->rd = rd;
    cmd->handler = handler;
    cmd->data = data;
    cmd->next = NULL;
    cmd->counted = 0;
    cmd->once = 0;

    return cmd;
}


/* A command handed to hiredis with its record, or NULL. */
static ngx_stream_clawnexus_redis_cmd_t *
ngx_stream_clawnexus_redis_argv(ngx_stream_clawnexus_redis_t *rd,
    ngx_stream_clawnexus_redis_reply_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen)
{
    ngx_stream_clawnexus_redis_cmd_t  *cmd;

    if (rd->ac == NULL || rd->reason) {
        return NULL;
    }

    cmd = ngx_stream_clawnexus_redis_cmd(rd, handler, data);
    if (cmd == NULL) {
        return NULL;
    }

    if (redisAsyncCommandArgv(rd->ac, ngx_stream_clawnexus_redis_reply, cmd,
                              argc, argv, argvlen)
        != REDIS_OK)
    {
        cmd->next = rd->free;
        rd->free = cmd;
        return NULL;
    }

    return cmd;
}


static void
ngx_stream_clawnexus_redis_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_stream_clawnexus_redis_cmd_t  *cmd = privdata;

    redisReply                           *r = reply;
    ngx_stream_clawnexus_redis_t         *rd;
    ngx_stream_clawnexus_redis_reply_pt   handler;
    void                                 *data;

    rd = cmd->rd;
    handler = cmd->handler;
    data = cmd->data;

    if (cmd->counted) {
        /* a command's record is reused before its handler runs, which
         * may send the next command */
        cmd->next = rd->free;
        rd->free = cmd;
        rd->pending--;
        rd->progress = ngx_current_msec;

    } else if (r == NULL || cmd->once) {
        /* a subscription ends with the context, a quiet command at its
         * only reply */
        ngx_free(cmd);
    }

    handler(rd, r, data);
}


static void
ngx_stream_clawnexus_redis_connected(const redisAsyncContext *ac, int status)
{
    ngx_stream_clawnexus_redis_t  *rd = ac->data;

    if (status != REDIS_OK) {
        /*
         * hiredis frees the context right after this returns; the cleanup
         * hook reports it.  Mark it so that close() does not free it too.
         */
        rd->reason = "connect failed";
        return;
    }

    rd->connected = 1;

    if (rd->timer.timer_set) {
        ngx_del_timer(&rd->timer);
    }

    if (rd->pending) {
        rd->progress = ngx_current_msec;
        ngx_add_timer(&rd->timer, rd->reply_timeout);
    }

    if (rd->on_connect) {
        rd->on_connect(rd, 1);
    }
}


static void
ngx_stream_clawnexus_redis_disconnected(const redisAsyncContext *ac,
    int status)
{
    /* the cleanup hook, which runs just before, reported it */
}


static void
ngx_stream_clawnexus_redis_read_handler(ngx_event_t *ev)
{
    ssize_t                        n;
    ngx_err_t                      err;
    ngx_uint_t                     i;
    ngx_socket_t                   fd;
    ngx_connection_t              *c;
    ngx_stream_clawnexus_redis_t  *rd;

    static u_char  buf[NGX_STREAM_CLAWNEXUS_REDIS_BLOCK];

    c = ev->data;
    rd = c->data;

    if (c->close) {
        /* the worker is shutting down (worker_shutdown_timeout) */
        ngx_stream_clawnexus_redis_close(rd, "worker is exiting");
        return;
    }

    if (rd->ac == NULL) {
        return;
    }

    if (!(rd->ac->c.flags & REDIS_CONNECTED)) {
        /* hiredis finishes the connect */
        redisAsyncHandleRead(rd->ac);
        return;
    }

    fd = c->fd;

    for (i = 0; i < NGX_STREAM_CLAWNEXUS_REDIS_READS; i++) {

        n = recv(fd, buf, sizeof(buf), 0);

        if (n <= 0) {
            err = ngx_socket_errno;

            if (n == -1 && err == NGX_EAGAIN) {
                return;
            }

            if (n == -1 && err == NGX_EINTR) {
                /* edge-triggered: what waits fires no new event */
                continue;
            }

            /* EOF or an error: hiredis reads it again and disconnects */
            redisAsyncHandleRead(rd->ac);
            return;
        }

        /* on an error the reader keeps it and the callbacks disconnect */
        (void) redisReaderFeed(rd->ac->c.reader, (const char *) buf, n);

        redisProcessCallbacks(rd->ac);

        if (rd->ac == NULL) {
            /* freed: an error, or a handler closed it */
            return;
        }

        if ((size_t) n < sizeof(buf)) {
            /* the socket is empty: its next bytes fire a new event */
            return;
        }
    }

    /* more is waiting: continue after the other events of this round */
    ngx_post_event(ev, &ngx_posted_events);
}


static void
ngx_stream_clawnexus_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t              *c;
    ngx_stream_clawnexus_redis_t  *rd;

    c = ev->data;
    rd = c->data;

    if (c->close) {
        ngx_stream_clawnexus_redis_close(rd, "worker is exiting");
        return;
    }

    if (rd->ac == NULL) {
        return;
    }

    if (rd->connected && !rd->want_write) {
        return;
    }

    /* before the connect finished, this event is the socket saying so */
    redisAsyncHandleWrite(rd->ac);

    if (rd->ac && rd->connected && rd->on_written) {
        rd->on_written(rd);
    }
}


static void
ngx_stream_clawnexus_redis_timer_handler(ngx_event_t *ev)
{
    ngx_msec_t                     waited;
    ngx_stream_clawnexus_redis_t  *rd = ev->data;

    if (rd->ac == NULL) {
        return;
    }

    if (!rd->connected) {
        ngx_stream_clawnexus_redis_close(rd, "connect timed out");
        return;
    }

    if (rd->pending == 0) {
        return;
    }

    waited = ngx_current_msec - rd->progress;

    if (waited >= rd->reply_timeout) {
        ngx_stream_clawnexus_redis_close(rd, "no reply in time");
        return;
    }

    ngx_add_timer(&rd->timer, rd->reply_timeout - waited);
}


/* Watch one event of the socket (level- or edge-triggered). */
static ngx_int_t
ngx_stream_clawnexus_redis_watch(ngx_stream_clawnexus_redis_t *rd,
    ngx_event_t *ev, ngx_int_t event)
{
    if (ev->active) {
        return NGX_OK;
    }

    if (ngx_add_event(ev, event, ngx_stream_clawnexus_redis_event_flags)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, rd->log, 0,
                      "%s: cannot watch the Redis socket", rd->name);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_stream_clawnexus_redis_unwatch(ngx_event_t *ev, ngx_int_t event)
{
    /* an edge-triggered event stays: it costs nothing while idle */
    if (ev->active && !(ngx_event_flags & NGX_USE_CLEAR_EVENT)) {
        (void) ngx_del_event(ev, event, 0);
    }
}


static void
ngx_stream_clawnexus_redis_add_read(void *privdata)
{
    ngx_stream_clawnexus_redis_t  *rd = privdata;

    rd->want_read = 1;

    if (rd->c) {
        (void) ngx_stream_clawnexus_redis_watch(rd, rd->c->read,
                                                NGX_READ_EVENT);
    }
}


static void
ngx_stream_clawnexus_redis_del_read(void *privdata)
{
    ngx_stream_clawnexus_redis_t  *rd = privdata;

    rd->want_read = 0;

    if (rd->c) {
        ngx_stream_clawnexus_redis_unwatch(rd->c->read, NGX_READ_EVENT);
    }
}


static void
ngx_stream_clawnexus_redis_add_write(void *privdata)
{
    ngx_stream_clawnexus_redis_t  *rd = privdata;

    ngx_connection_t  *c = rd->c;

    rd->want_write = 1;

    if (c == NULL
        || ngx_stream_clawnexus_redis_watch(rd, c->write, NGX_WRITE_EVENT)
           != NGX_OK)
    {
        return;
    }

    /*
     * A connected socket that is writable gives no new edge: write in
     * this round of the loop, after the events that may add commands,
     * so that they leave in one write.
     */
    if (rd->connected && !c->write->posted) {
        ngx_post_event(c->write, &ngx_posted_events);
    }
}


static void
ngx_stream_clawnexus_redis_del_write(void *privdata)
{
    ngx_stream_clawnexus_redis_t  *rd = privdata;

    rd->want_write = 0;

    if (rd->c) {
        ngx_stream_clawnexus_redis_unwatch(rd->c->write, NGX_WRITE_EVENT);
    }
}


static void
ngx_stream_clawnexus_redis_hook_cleanup(void *privdata)
{
    ngx_stream_clawnexus_redis_t  *rd = privdata;

    u_char             *p;
    const char         *reason;
    ngx_connection_t   *c;
    static u_char       buf[160];

    c = rd->c;

    /* hiredis closes the socket after this hook */
    if (c) {
        if (c->read->posted) {
            ngx_delete_posted_event(c->read);
        }

        if (c->write->posted) {
            ngx_delete_posted_event(c->write);
        }

        if (c->read->active) {
            (void) ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
        }

        if (c->write->active) {
            (void) ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLOSE_EVENT);
        }

        c->read->closed = 1;
        c->write->closed = 1;
        ngx_free_connection(c);
        c->fd = (ngx_socket_t) -1;
        rd->c = NULL;
    }

    if (rd->timer.timer_set) {
        ngx_del_timer(&rd->timer);
    }

    /* what hiredis saw (refused, reset, closed by Redis) comes first */
    if (rd->ac && rd->ac->err) {
        p = ngx_snprintf(buf, sizeof(buf) - 1, "%s", rd->ac->errstr);
        *p = '\0';
        reason = (const char *) buf;

    } else if (rd->reason) {
        reason = rd->reason;

    } else {
        reason = "connection closed";
    }

    rd->ac = NULL;
    rd->connected = 0;
    rd->want_read = 0;
    rd->want_write = 0;
    rd->pending = 0;
    rd->reason = NULL;

    if (rd->on_closed) {
        rd->on_closed(rd, reason);
    }
}
