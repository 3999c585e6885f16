
/*
 * One hiredis asynchronous context driven by nginx's event loop: the
 * socket is an nginx connection, hiredis reads and writes from its read
 * and write events, and the timeouts hiredis 0.14 lacks (connect, reply)
 * are nginx timers.  Nothing here blocks: the address is an IP literal
 * resolved when the configuration was read.
 */


#ifndef _NGX_STREAM_CLAWNEXUS_REDIS_H_INCLUDED_
#define _NGX_STREAM_CLAWNEXUS_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>


typedef struct ngx_stream_clawnexus_redis_s  ngx_stream_clawnexus_redis_t;

/* reply is NULL when the context went away before the reply came */
typedef void (*ngx_stream_clawnexus_redis_reply_pt)(
    ngx_stream_clawnexus_redis_t *rd, redisReply *reply, void *data);

/* the connection is up (ok) or could not be made */
typedef void (*ngx_stream_clawnexus_redis_connect_pt)(
    ngx_stream_clawnexus_redis_t *rd, ngx_int_t ok);

/* the context is gone (error, timeout, Redis closed it, or close()) */
typedef void (*ngx_stream_clawnexus_redis_closed_pt)(
    ngx_stream_clawnexus_redis_t *rd, const char *reason);

/* commands were written to the socket (see unsent()) */
typedef void (*ngx_stream_clawnexus_redis_written_pt)(
    ngx_stream_clawnexus_redis_t *rd);


typedef struct ngx_stream_clawnexus_redis_cmd_s
    ngx_stream_clawnexus_redis_cmd_t;


struct ngx_stream_clawnexus_redis_s {
    redisAsyncContext                       *ac;
    ngx_connection_t                        *c;
    ngx_log_t                               *log;
    const char                              *name;      /* for the log */

    ngx_stream_clawnexus_redis_connect_pt    on_connect;
    ngx_stream_clawnexus_redis_closed_pt     on_closed;
    ngx_stream_clawnexus_redis_written_pt    on_written;   /* or NULL */
    void                                    *data;

    ngx_event_t                              timer;     /* connect and
                                                           reply timeout */
    ngx_msec_t                               connect_timeout;
    ngx_msec_t                               reply_timeout;
    ngx_msec_t                               progress;  /* last reply, or
                                                           when pending
                                                           became non-zero */
    ngx_uint_t                               pending;   /* replies due */
    ngx_stream_clawnexus_redis_cmd_t        *free;      /* reusable */
    const char                              *reason;    /* why it closes */
    const char                              *err;       /* why connect()
                                                           failed */

    unsigned                                 connected:1;
    unsigned                                 want_read:1;
    unsigned                                 want_write:1;
};


/*
 * Start connecting to ip:port (an IP literal).  rd->log, name, on_connect,
 * on_closed, data and the timeouts are set by the caller.  Returns NGX_OK
 * (on_connect or on_closed follows), or NGX_ERROR with the reason in
 * rd->err (nothing to close).
 */
ngx_int_t ngx_stream_clawnexus_redis_connect(ngx_stream_clawnexus_redis_t *rd,
    const char *ip, int port);

/*
 * Send one command (binary-safe arguments).  handler runs once with the
 * reply, or with NULL if the context goes away first.  Returns NGX_OK, or
 * NGX_ERROR when there is no usable context (handler does not run).
 */
ngx_int_t ngx_stream_clawnexus_redis_command(ngx_stream_clawnexus_redis_t *rd,
    ngx_stream_clawnexus_redis_reply_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen);

/*
 * SUBSCRIBE to one channel.  handler runs for the confirmation and for
 * every message (replies are not counted against the reply timeout).
 */
ngx_int_t ngx_stream_clawnexus_redis_subscribe(
    ngx_stream_clawnexus_redis_t *rd,
    ngx_stream_clawnexus_redis_reply_pt handler, void *data,
    const char *channel, size_t len);

/*
 * Send a command whose reply is not expected (CLIENT REPLY OFF, whose
 * success has none): handler runs only with a reply that comes anyway (a
 * refusal), or with NULL when the context goes away; it is not counted
 * against the reply timeout.  Returns as ngx_stream_clawnexus_redis_command.
 */
ngx_int_t ngx_stream_clawnexus_redis_quiet(ngx_stream_clawnexus_redis_t *rd,
    ngx_stream_clawnexus_redis_reply_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen);

/*
 * Send cmd, a command formatted by redisFormatSdsCommandArgv(), on a
 * connection that gets no replies (after CLIENT REPLY OFF).  The sds is
 * taken in any case: it becomes hiredis' output buffer when that is empty
 * (written without another copy), or is appended to it.  Returns NGX_OK,
 * or NGX_ERROR when there is no usable context.
 */
ngx_int_t ngx_stream_clawnexus_redis_send(ngx_stream_clawnexus_redis_t *rd,
    sds cmd);

/*
 * Close the context: pending handlers run with NULL, then on_closed with
 * reason.  Safe from inside a handler (hiredis then frees the context
 * when the handler returns).  Nothing happens if it is already closed.
 */
void ngx_stream_clawnexus_redis_close(ngx_stream_clawnexus_redis_t *rd,
    const char *reason);

/* Write what waits now, not later in this turn of the event loop. */
void ngx_stream_clawnexus_redis_flush(ngx_stream_clawnexus_redis_t *rd);

/* Bytes hiredis holds to be written. */
size_t ngx_stream_clawnexus_redis_unsent(ngx_stream_clawnexus_redis_t *rd);

/* Free the reusable command records (at worker exit, after close). */
void ngx_stream_clawnexus_redis_cleanup(ngx_stream_clawnexus_redis_t *rd);


#endif /* _NGX_STREAM_CLAWNEXUS_REDIS_H_INCLUDED_ */
