/*
 * ngx_stream_clawnexus_relay.h: what the files of the relay module
 * (ngx_stream_clawnexus_module) share: its configuration, a session and
 * its outbound queue, the records between workers, the worker's state,
 * and the functions each file offers to the others.
 */

#ifndef NGX_STREAM_CLAWNEXUS_RELAY_H
#define NGX_STREAM_CLAWNEXUS_RELAY_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "cnx_relay_core.h"
#include "cnx_relay_dir.h"
#include "cnx_relay_limit.h"
#include "cnx_ring.h"
#include "cnx_ws.h"
#include "ngx_stream_clawnexus.h"


#define NGX_STREAM_CLAWNEXUS_LINGER      2000   /* ms to flush a close */
/* control messages: two escaped names (<= 510 bytes each) fit easily */
#define NGX_STREAM_CLAWNEXUS_MSG_MAX     2048
#define NGX_STREAM_CLAWNEXUS_READ_BURST  (256 * 1024)  /* per event */
/*
 * An open session with nothing buffered reads into one buffer of the
 * worker this big: several large frames per recv() instead of one
 * connection buffer (clawnexus_buffer_size) at a time.
 */
#define NGX_STREAM_CLAWNEXUS_BULK        (256 * 1024)
/* room behind it to complete a frame cut by the end of a receive */
#define NGX_STREAM_CLAWNEXUS_BULK_TAIL   (128 * 1024)
/*
 * A binary frame of at least BORROW_MIN bytes from there to a local
 * binary peer is queued where it lies, and sent before the buffer is used
 * again (copied only if the peer's socket does not take it all); frames
 * for at most BORROWERS peers per receive.
 */
#define NGX_STREAM_CLAWNEXUS_BORROW_MIN  4096
#define NGX_STREAM_CLAWNEXUS_BORROWERS   8


typedef struct {
    ngx_flag_t                  relay;
    ngx_str_t                   jwt_secret;     /* raw bytes of the file */
    ngx_str_t                   jwt_prev_secret;  /* being rotated out */
    ngx_str_t                   jwt_issuer;     /* NUL-terminated copy */
    time_t                      jwt_leeway;
    time_t                      jwt_max_lifetime;
    size_t                      max_message;
    ngx_uint_t                  max_rooms;
    ngx_uint_t                  max_pending;
    ngx_msec_t                  idle_timeout;
    ngx_msec_t                  send_stall_timeout;
    ngx_msec_t                  handshake_timeout;
    ngx_msec_t                  ping_interval;
    size_t                      send_queue;
    size_t                      buffer_size;
    ngx_uint_t                  max_conns_per_ip;
    ngx_uint_t                  max_auth_failures;
    time_t                      auth_failure_window;
    ngx_uint_t                  max_incoming;
    ngx_uint_t                  max_pair;
    cnx_relay_limits_t          limits;     /* for the relay core */
} ngx_stream_clawnexus_srv_conf_t;


typedef struct ngx_stream_clawnexus_out_s  ngx_stream_clawnexus_out_t;

struct ngx_stream_clawnexus_out_s {
    ngx_stream_clawnexus_out_t   *next;
    size_t                        pos;          /* first unsent byte */
    size_t                        last;         /* end of the frame */
    size_t                        cap;          /* bytes of data[] */
    u_char                       *ext;          /* NULL, or the frame in
                                                   the worker's receive
                                                   buffer: see borrow() */
    u_char                        data[];
};


#define ngx_stream_clawnexus_out_data(o)                                      \
    ((o)->ext ? (o)->ext : (o)->data)

/* Past the high-water mark: in bytes to send or in memory they take. */
#define ngx_stream_clawnexus_full(ctx)                                        \
    ((ctx)->out_bytes > (ctx)->conf->send_queue                               \
     || (ctx)->kept > (ctx)->conf->send_queue)

/* The memory a queue entry takes (what ctx->kept counts). */
#define ngx_stream_clawnexus_out_size(o)                                      \
    (sizeof(ngx_stream_clawnexus_out_t) + (o)->cap)

/*
 * A socket whose queue takes more memory than this is closed: the most a
 * socket may be given past clawnexus_send_queue while its senders and the
 * worker's receive buffer are held back (see docs/relay.md).
 */
#define ngx_stream_clawnexus_hard_cap(conf)                                   \
    (4 * (conf)->send_queue                                                   \
     + 2 * ((conf)->max_message + NGX_STREAM_CLAWNEXUS_BULK                   \
            + NGX_STREAM_CLAWNEXUS_BULK_TAIL)                                 \
     + NGX_STREAM_CLAWNEXUS_IN_FLIGHT + NGX_STREAM_CLAWNEXUS_IPC_CHUNK)


typedef enum {
    NGX_STREAM_CLAWNEXUS_HANDSHAKE = 0,
    NGX_STREAM_CLAWNEXUS_OPEN,
    NGX_STREAM_CLAWNEXUS_CLOSING,       /* flush the queue, then close */
    NGX_STREAM_CLAWNEXUS_DONE
} ngx_stream_clawnexus_state_e;


/*
 * Something that stops reading until a queue drains: a session (its
 * socket) or the worker's IPC reader.
 */
typedef struct {
    ngx_queue_t                         link;
    void                               *on;         /* NULL: not paused */
    ngx_event_t                        *ev;         /* posted on release */
} ngx_stream_clawnexus_waiter_t;


typedef struct ngx_stream_clawnexus_ctx_s  ngx_stream_clawnexus_ctx_t;

struct ngx_stream_clawnexus_ctx_s {
    ngx_rbtree_node_t                   node;       /* key: connection id */
    ngx_stream_session_t               *s;
    ngx_connection_t                   *c;
    ngx_stream_clawnexus_srv_conf_t    *conf;
    ngx_stream_clawnexus_state_e        state;

    u_char                             *buf;        /* input */
    size_t                              start;
    size_t                              end;
    cnx_ws_reader_t                     reader;

    cnx_relay_member_t                  member;     /* in the core */

    ngx_stream_clawnexus_out_t         *out;
    ngx_stream_clawnexus_out_t         *out_last;
    size_t                              out_bytes;  /* bytes to send */
    size_t                              kept;       /* memory of out */

    ngx_queue_t                         waiters;    /* paused on us */
    ngx_stream_clawnexus_waiter_t       wait;

    ngx_event_t                         ping_ev;

    ngx_uint_t                          messages;   /* relayed from us */
    ngx_uint_t                          rooms;      /* rooms taken part in */
    const char                         *close_reason;

    unsigned                            counted:1;  /* in stats->active */
    unsigned                            failed:1;   /* internal error */
    unsigned                            cleaned:1;
    unsigned                            in_conns:1;
    unsigned                            lingering:1;
    unsigned                            peer_counted:1;
    unsigned                            limited:1;  /* answer 429 */
    unsigned                            upgraded:1;
    unsigned                            reader_broken:1;
    unsigned                            bulk:1;     /* frames in rbuf */
    unsigned                            overflow:1; /* past the hard cap */
    uint64_t                            peer_key;
    uint64_t                            lent_to;    /* see settle() */
    off_t                               lent_until;
};


/*
 * A member of a room that is a socket of another worker (its address is
 * in member.addr).
 */
typedef struct {
    cnx_relay_member_t                  member;
    ngx_queue_t                         link;       /* worker's proxies */
    unsigned                            remote_half:1;  /* see gauges */
} ngx_stream_clawnexus_proxy_t;


/*
 * A session does not read while a queue it sends into is full: a local
 * receiver's or a channel's (wait), or a member of one of its rooms, in
 * any worker (the core's flow count).
 */
#define ngx_stream_clawnexus_held(ctx)                                        \
    ((ctx)->wait.on != NULL || (ctx)->member.nblocked > 0)


/* Where a socket lives: worker index, process, connection id. */
typedef struct {
    ngx_int_t                           worker;
    ngx_pid_t                           pid;
    uint64_t                            conn;
    ngx_uint_t                          gen;
} ngx_stream_clawnexus_addr_t;


/* A name in the shared directory. */
typedef struct {
    ngx_str_node_t                      sn;
    ngx_stream_clawnexus_addr_t         owner;
    u_char                              data[1];
} ngx_stream_clawnexus_name_t;


/*
 * IPC: one record = this header + up to a chunk of the body; a datagram
 * holds one or more whole records (several small messages sent in the
 * same event loop turn share one datagram, so one system call).
 */
typedef struct {
    uint32_t                            gen;
    uint32_t                            more;       /* 1: chunks follow;
                                                       IPC_RING: see below */
    int32_t                             src_worker;
    int32_t                             src_pid;
    int32_t                             dst_pid;
    uint32_t                            len;        /* chunk body bytes */
} ngx_stream_clawnexus_ipc_hdr_t;

/*
 * The records themselves usually travel through a ring of shared memory
 * per pair of workers (sender, receiver), mapped by the master before it
 * forks them: the sender writes records (header and body, as in a
 * datagram) into its ring and sends, in order with any other datagram,
 * only a header with more = IPC_RING and a ring_ref as its body, which
 * names the region; the receiver handles the records where they lie and
 * then releases the region (head).  A record that does not fit in the
 * ring goes in a datagram, as when there is no ring.
 */
#define NGX_STREAM_CLAWNEXUS_IPC_RING   2

typedef struct {
    uint64_t                            start;      /* ring position */
    uint64_t                            len;
} ngx_stream_clawnexus_ring_ref_t;

typedef struct {
    uint64_t                            head;       /* released up to */
    int64_t                             writer;     /* pid; 0: none yet */
} ngx_stream_clawnexus_ring_ctl_t;

/* a ring's control block, then its bytes */
#define NGX_STREAM_CLAWNEXUS_RING_CTL   128
/* bytes of each ring: a power of 2, at most RING_MAX, and at most
 * RING_ALL for all n * (n - 1) rings of a set of workers; none when that
 * leaves less than RING_MIN */
#define NGX_STREAM_CLAWNEXUS_RING_MAX   (512 * 1024)
#define NGX_STREAM_CLAWNEXUS_RING_MIN   (128 * 1024)
#define NGX_STREAM_CLAWNEXUS_RING_ALL   (32 * 1024 * 1024)

#define NGX_STREAM_CLAWNEXUS_IPC_CHUNK  (60 * 1024)
/*
 * Queue entries for frames up to this size are kept for reuse, at most
 * OUT_KEEP of them per worker: a malloc() and free() per relayed message
 * also made glibc give heap pages back and fault them in again.
 */
#define NGX_STREAM_CLAWNEXUS_OUT_SMALL  512
#define NGX_STREAM_CLAWNEXUS_OUT_KEEP   1024
/*
 * Entries up to OUT_STEP are sized to the frame (in steps of OUT_SMALL),
 * so that a queue of mid-size frames takes about what it holds, and kept
 * by size, OUT_MID_KEEP bytes of them per worker.  Larger
 * entries are allocated in steps of OUT_STEP, and those up to
 * OUT_LARGE are kept too, OUT_LARGE_KEEP bytes of them per worker: a
 * stream of 64 KiB frames otherwise grew and trimmed the heap with every
 * burst (a brk() and page faults for each).
 */
#define NGX_STREAM_CLAWNEXUS_OUT_STEP        (16 * 1024)
#define NGX_STREAM_CLAWNEXUS_OUT_MIDS                                         \
    (NGX_STREAM_CLAWNEXUS_OUT_STEP / NGX_STREAM_CLAWNEXUS_OUT_SMALL)
#define NGX_STREAM_CLAWNEXUS_OUT_MID_KEEP    (1024 * 1024)
#define NGX_STREAM_CLAWNEXUS_OUT_LARGE       (256 * 1024)
#define NGX_STREAM_CLAWNEXUS_OUT_LARGE_KEEP  (2 * 1024 * 1024)
/* a datagram that records are added to is allocated this big */
#define NGX_STREAM_CLAWNEXUS_IPC_BATCH  (16 * 1024)
#define NGX_STREAM_CLAWNEXUS_CHAN_HIGH  (1024 * 1024)
/*
 * What may still reach a full receiver from each other worker before that
 * worker has its FLOW record: its channel queue, the socket pair, a read,
 * its ring.
 */
#define NGX_STREAM_CLAWNEXUS_IN_FLIGHT                                        \
    (2 * 1024 * 1024 + NGX_STREAM_CLAWNEXUS_RING_MAX)
/* bytes from other workers read per event */
#define NGX_STREAM_CLAWNEXUS_IPC_BURST  (1024 * 1024)


/* Socketpairs made by the master for one cycle, one per worker. */
typedef struct {
    ngx_uint_t                          n;
    ngx_uint_t                          gen;
    ngx_socket_t                        (*fd)[2];   /* [0] read, [1] write */
    u_char                             *rings;      /* [n * n], or NULL */
    size_t                              ring_size;
    size_t                              rings_len;  /* the mapping */
} ngx_stream_clawnexus_ipc_t;


/* Messages queued for another worker. */
typedef struct {
    ngx_connection_t                   *c;
    struct ngx_stream_clawnexus_out_s  *out;
    struct ngx_stream_clawnexus_out_s  *out_last;
    size_t                              out_bytes;
    ngx_queue_t                         waiters;
    ngx_uint_t                          dead;       /* the worker is gone */
    u_char                             *ring;       /* ours to it, or NULL */
    ngx_stream_clawnexus_ring_ctl_t    *ring_ctl;
    cnx_ring_t                          ring_w;     /* where we write */
} ngx_stream_clawnexus_chan_t;


/* A message from another worker being reassembled from chunks. */
typedef struct {
    ngx_pid_t                           pid;
    ngx_stream_clawnexus_ipc_hdr_t      hdr;
    u_char                             *data;
    size_t                              len;
    size_t                              cap;
    ngx_uint_t                          skip;   /* dropping the rest of a
                                                   message (no memory) */
} ngx_stream_clawnexus_asm_t;


/* Addresses the per-address limits track at a time (cnx_relay_limit). */
#define NGX_STREAM_CLAWNEXUS_PEERS   8192


typedef struct {
    cnx_relay_core_t                   *core;       /* rules and rooms */
    size_t                              rooms;      /* last count published */
    size_t                              remote_halves;
    ngx_rbtree_t                        conns;      /* id -> session */
    ngx_rbtree_node_t                   conns_sentinel;
    uint64_t                            next_conn;
    ngx_queue_t                         proxies;
    ngx_uint_t                          n;          /* workers that relay */
    ngx_uint_t                          gen;
    ngx_stream_clawnexus_chan_t        *chans;      /* [n] */
    ngx_stream_clawnexus_asm_t         *asms;       /* [n] */
    ngx_pid_t                          *seen;       /* [n] */
    ngx_connection_t                   *ipc_in;
    u_char                             *ipc_buf;
    u_char                             *rings;      /* ipc->rings */
    size_t                              ring_size;
    ngx_stream_clawnexus_waiter_t       ipc_wait;   /* last resort */
    ngx_event_t                         reaper;
    ngx_stream_clawnexus_out_t         *out_free;   /* small, for reuse */
    ngx_uint_t                          out_nfree;
    ngx_stream_clawnexus_out_t         *out_large;  /* large, for reuse */
    size_t                              out_large_bytes;
    /* mid-size, for reuse, by size in steps of OUT_SMALL */
    ngx_stream_clawnexus_out_t *out_mid[NGX_STREAM_CLAWNEXUS_OUT_MIDS];
    size_t                              out_mid_bytes;
    /* sessions given frames in the receive buffer during one bulk() */
    uint64_t        borrowers[NGX_STREAM_CLAWNEXUS_BORROWERS];
    ngx_uint_t                          nborrowers;
} ngx_stream_clawnexus_worker_t;

#define ngx_stream_clawnexus_count(field, n)                                  \
    (void) ngx_atomic_fetch_add(&ngx_stream_clawnexus_stats->field, n)


extern ngx_module_t  ngx_stream_clawnexus_module;

extern ngx_stream_clawnexus_worker_t   ngx_stream_clawnexus_worker;
extern ngx_str_t                       ngx_stream_clawnexus_zone_name;
extern size_t                          ngx_stream_clawnexus_zone_size;
extern ngx_uint_t                      ngx_stream_clawnexus_relays;
extern ngx_stream_clawnexus_ipc_t     *ngx_stream_clawnexus_ipc;
extern ngx_uint_t                      ngx_stream_clawnexus_generation;
extern ngx_stream_clawnexus_gauge_t    ngx_stream_clawnexus_dummy_gauge;
extern ngx_stream_clawnexus_gauge_t   *ngx_stream_clawnexus_my_gauge;
/* what open sessions receive into, see ngx_stream_clawnexus_bulk() */
extern u_char  ngx_stream_clawnexus_rbuf[NGX_STREAM_CLAWNEXUS_BULK
                                        + NGX_STREAM_CLAWNEXUS_BULK_TAIL];
extern const cnx_relay_member_ops_t  ngx_stream_clawnexus_local_ops;
extern const cnx_relay_member_ops_t  ngx_stream_clawnexus_remote_ops;
extern const cnx_relay_host_ops_t    ngx_stream_clawnexus_host_ops;


/* ngx_stream_clawnexus_zone.c: the shared zone, names, limits */

void ngx_stream_clawnexus_gauges(void);
ngx_int_t ngx_stream_clawnexus_name_set(const char *name, size_t len,
    ngx_stream_clawnexus_addr_t *me, ngx_stream_clawnexus_addr_t *old);
void ngx_stream_clawnexus_name_get(const char *name, size_t len,
    ngx_stream_clawnexus_addr_t *owner);
void ngx_stream_clawnexus_name_release(const char *name, size_t len,
    ngx_stream_clawnexus_addr_t *me);
void ngx_stream_clawnexus_limits_take_over(void);
void ngx_stream_clawnexus_names_reap(ngx_pid_t pid);
ngx_stream_clawnexus_ctx_t *ngx_stream_clawnexus_conn_find(uint64_t id);
ngx_int_t ngx_stream_clawnexus_peer_connect(ngx_stream_clawnexus_ctx_t *ctx);
void ngx_stream_clawnexus_peer_disconnect(ngx_stream_clawnexus_ctx_t *ctx);
ngx_int_t ngx_stream_clawnexus_peer_auth(ngx_stream_clawnexus_ctx_t *ctx,
    ngx_uint_t fail);
char *ngx_stream_clawnexus_zone_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


/* ngx_stream_clawnexus_ipc.c: channels between workers, lifecycle */

void ngx_stream_clawnexus_pause(ngx_stream_clawnexus_waiter_t *w,
    ngx_queue_t *waiters, void *on);
void ngx_stream_clawnexus_release(ngx_queue_t *waiters);
void ngx_stream_clawnexus_unpause(ngx_stream_clawnexus_waiter_t *w);
ngx_stream_clawnexus_chan_t *ngx_stream_clawnexus_ipc_send(ngx_int_t worker,
    ngx_pid_t pid, const u_char *a, size_t alen, const u_char *b, size_t blen);
ngx_int_t ngx_stream_clawnexus_init_module(ngx_cycle_t *cycle);
ngx_int_t ngx_stream_clawnexus_init_process(ngx_cycle_t *cycle);
void ngx_stream_clawnexus_exit_process(ngx_cycle_t *cycle);


/* ngx_stream_clawnexus_session.c: a session's event handlers */

void ngx_stream_clawnexus_handler(ngx_stream_session_t *s);
ngx_int_t ngx_stream_clawnexus_bulk(ngx_stream_clawnexus_ctx_t *ctx, size_t n);
void ngx_stream_clawnexus_close(ngx_stream_clawnexus_ctx_t *ctx, unsigned code,
    const char *reason);


/* ngx_stream_clawnexus_out.c: outbound queues and backpressure */

void ngx_stream_clawnexus_out_put(ngx_stream_clawnexus_out_t *o);
ngx_stream_clawnexus_out_t *ngx_stream_clawnexus_out_alloc(
    ngx_stream_clawnexus_ctx_t *to, size_t n);
void ngx_stream_clawnexus_commit(ngx_stream_clawnexus_ctx_t *to,
    ngx_stream_clawnexus_out_t *o, int opcode, size_t n);
void ngx_stream_clawnexus_send_frame(ngx_stream_clawnexus_ctx_t *to, int opcode,
    const u_char *p, size_t n);
ngx_int_t ngx_stream_clawnexus_borrow(ngx_stream_clawnexus_ctx_t *ctx,
    ngx_stream_clawnexus_ctx_t *to, u_char *p, size_t n);
ngx_uint_t ngx_stream_clawnexus_lender_wait(ngx_stream_clawnexus_ctx_t *ctx);
void ngx_stream_clawnexus_settle(ngx_stream_clawnexus_ctx_t *ctx);
void ngx_stream_clawnexus_backpressure(ngx_stream_clawnexus_ctx_t *from,
    ngx_stream_clawnexus_ctx_t *to);
void ngx_stream_clawnexus_chan_backpressure(ngx_stream_clawnexus_ctx_t *from,
    ngx_stream_clawnexus_chan_t *ch);
void ngx_stream_clawnexus_wake(ngx_stream_clawnexus_ctx_t *ctx);
ngx_int_t ngx_stream_clawnexus_flush(ngx_stream_clawnexus_ctx_t *ctx);


/* ngx_stream_clawnexus_member.c: the core's member operations */

void ngx_stream_clawnexus_me(cnx_relay_member_t *m,
    ngx_stream_clawnexus_addr_t *a);
void ngx_stream_clawnexus_publish(void);
void ngx_stream_clawnexus_text(ngx_stream_clawnexus_ctx_t *ctx, const u_char *p,
    size_t n);
void ngx_stream_clawnexus_bin(ngx_stream_clawnexus_ctx_t *ctx, u_char *p,
    size_t n);


/* ngx_stream_clawnexus_node.c: members on other nodes of a cluster */

void ngx_stream_clawnexus_node_init(void);
cnx_relay_member_t *ngx_stream_clawnexus_node_lookup(const char *name,
    size_t len);
cnx_relay_member_t *ngx_stream_clawnexus_node_remote(
    const cnx_relay_addr_t *a, int binary);
ngx_int_t ngx_stream_clawnexus_node_send(cnx_relay_member_t *to,
    cnx_relay_rec_t *rec);


#endif /* NGX_STREAM_CLAWNEXUS_RELAY_H */
