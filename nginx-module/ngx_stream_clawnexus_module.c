/*
 * ngx_stream_clawnexus_module: the ClawNexus relay inside nginx's stream
 * subsystem.
 *
 * A stream server with "clawnexus_relay;" speaks WebSocket (RFC 6455) on
 * /relay and the ClawNexus relay protocol in its messages: names are bound
 * by REGISTER, rooms are made by JOIN/ACCEPT and DATA is forwarded between
 * the two members of a room.  The codecs (HTTP upgrade, frames, JSON, JWT),
 * the protocol's rules and rooms (cnx_relay_core) and the record between
 * workers (cnx_relay_rec) live in plugins/libclawnexus.  This file is the
 * nginx glue: directives, the event handlers of a session, the outbound
 * queues and their backpressure, the member operations of the core for a
 * session of this worker and for a socket of another worker, the shared
 * name directory and the channels between workers.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include <sodium.h>

#include "cnx_base64.h"
#include "cnx_http.h"
#include "cnx_json.h"
#include "cnx_jwt.h"
#include "cnx_relay_msg.h"
#include "cnx_utf8.h"
#include "cnx_ws.h"
#include "cnx_relay_dir.h"
#include "ngx_clawnexus_secret.h"
#include "ngx_stream_clawnexus_cluster.h"
#include "cnx_relay_core.h"
#include "cnx_relay_limit.h"


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
    uint32_t                            more;       /* chunks follow */
    int32_t                             src_worker;
    int32_t                             src_pid;
    int32_t                             dst_pid;
    uint32_t                            len;        /* chunk body bytes */
} ngx_stream_clawnexus_ipc_hdr_t;

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
 * so that a queue of mid-size frames takes about what it holds.  Larger
 * entries are allocated in steps of OUT_STEP, and those up to
 * OUT_LARGE are kept too, OUT_LARGE_KEEP bytes of them per worker: a
 * stream of 64 KiB frames otherwise grew and trimmed the heap with every
 * burst (a brk() and page faults for each).
 */
#define NGX_STREAM_CLAWNEXUS_OUT_STEP        (16 * 1024)
#define NGX_STREAM_CLAWNEXUS_OUT_LARGE       (256 * 1024)
#define NGX_STREAM_CLAWNEXUS_OUT_LARGE_KEEP  (2 * 1024 * 1024)
/* a datagram that records are added to is allocated this big */
#define NGX_STREAM_CLAWNEXUS_IPC_BATCH  (16 * 1024)
#define NGX_STREAM_CLAWNEXUS_CHAN_HIGH  (1024 * 1024)
/*
 * What may still reach a full receiver from each other worker before that
 * worker has its FLOW record: its channel queue, the socket pair, a read.
 */
#define NGX_STREAM_CLAWNEXUS_IN_FLIGHT  (2 * 1024 * 1024)
/* bytes from other workers read per event */
#define NGX_STREAM_CLAWNEXUS_IPC_BURST  (1024 * 1024)


/* Socketpairs made by the master for one cycle, one per worker. */
typedef struct {
    ngx_uint_t                          n;
    ngx_uint_t                          gen;
    ngx_socket_t                        (*fd)[2];   /* [0] read, [1] write */
} ngx_stream_clawnexus_ipc_t;


/* Messages queued for another worker. */
typedef struct {
    ngx_connection_t                   *c;
    struct ngx_stream_clawnexus_out_s  *out;
    struct ngx_stream_clawnexus_out_s  *out_last;
    size_t                              out_bytes;
    ngx_queue_t                         waiters;
    ngx_uint_t                          dead;       /* the worker is gone */
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


/* ERROR codes counted in the metrics, in this order. */
static const char  *ngx_stream_clawnexus_error_codes[] = {
    CNX_RELAY_ERR_AUTH_FAILED, CNX_RELAY_ERR_NOT_REGISTERED,
    CNX_RELAY_ERR_TARGET_OFFLINE, CNX_RELAY_ERR_ROOM_NOT_FOUND,
    CNX_RELAY_ERR_BAD_MESSAGE, CNX_RELAY_ERR_TOO_LARGE,
    CNX_RELAY_ERR_RATE_LIMITED, CNX_RELAY_ERR_TOO_MANY_ROOMS,
    CNX_RELAY_ERR_TOO_MANY_PENDING, CNX_RELAY_ERR_REPLACED,
    CNX_RELAY_ERR_INTERNAL
};

#define NGX_STREAM_CLAWNEXUS_NERRORS                                          \
    (sizeof(ngx_stream_clawnexus_error_codes) / sizeof(char *))

/* WebSocket close codes the relay sends, counted in the metrics. */
static const unsigned  ngx_stream_clawnexus_close_codes[] = {
    1000, 1001, 1002, 1007, 1008, 1009, 1011
};

#define NGX_STREAM_CLAWNEXUS_NCLOSES                                          \
    (sizeof(ngx_stream_clawnexus_close_codes) / sizeof(unsigned))


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


/* Addresses the per-address limits track at a time (cnx_relay_limit). */
#define NGX_STREAM_CLAWNEXUS_PEERS   8192


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
    ngx_stream_clawnexus_waiter_t       ipc_wait;   /* last resort */
    ngx_event_t                         reaper;
    ngx_stream_clawnexus_out_t         *out_free;   /* small, for reuse */
    ngx_uint_t                          out_nfree;
    ngx_stream_clawnexus_out_t         *out_large;  /* large, for reuse */
    size_t                              out_large_bytes;
    /* sessions given frames in the receive buffer during one bulk() */
    uint64_t        borrowers[NGX_STREAM_CLAWNEXUS_BORROWERS];
    ngx_uint_t                          nborrowers;
} ngx_stream_clawnexus_worker_t;


typedef struct {
    u_char                             *buf;
    size_t                              end;
    u_char                             *out;
    size_t                              out_pos;
    size_t                              out_len;
} ngx_stream_clawnexus_status_ctx_t;


static void ngx_stream_clawnexus_handler(ngx_stream_session_t *s);
static void ngx_stream_clawnexus_read_handler(ngx_event_t *ev);
static void ngx_stream_clawnexus_write_handler(ngx_event_t *ev);
static void ngx_stream_clawnexus_ping_handler(ngx_event_t *ev);
static void ngx_stream_clawnexus_cleanup(void *data);
static void ngx_stream_clawnexus_finalize(ngx_stream_clawnexus_ctx_t *ctx);
static ngx_int_t ngx_stream_clawnexus_process(ngx_stream_clawnexus_ctx_t *ctx);
static ngx_int_t ngx_stream_clawnexus_bulk(ngx_stream_clawnexus_ctx_t *ctx,
    size_t n);
static size_t ngx_stream_clawnexus_tail(ngx_stream_clawnexus_ctx_t *ctx,
    size_t n);
static ngx_int_t ngx_stream_clawnexus_handshake(
    ngx_stream_clawnexus_ctx_t *ctx);
static ngx_int_t ngx_stream_clawnexus_frames(ngx_stream_clawnexus_ctx_t *ctx);
static void ngx_stream_clawnexus_text(ngx_stream_clawnexus_ctx_t *ctx,
    const u_char *p, size_t n);
static void ngx_stream_clawnexus_bin(ngx_stream_clawnexus_ctx_t *ctx,
    u_char *p, size_t n);
static ngx_int_t ngx_stream_clawnexus_flush(ngx_stream_clawnexus_ctx_t *ctx);
static void ngx_stream_clawnexus_enqueue(ngx_stream_clawnexus_ctx_t *to,
    ngx_stream_clawnexus_out_t *o);
static ngx_int_t ngx_stream_clawnexus_borrow(ngx_stream_clawnexus_ctx_t *ctx,
    ngx_stream_clawnexus_ctx_t *to, u_char *p, size_t n);
static void ngx_stream_clawnexus_settle(ngx_stream_clawnexus_ctx_t *ctx);
static ngx_uint_t ngx_stream_clawnexus_lender_wait(
    ngx_stream_clawnexus_ctx_t *ctx);
static void ngx_stream_clawnexus_linger(ngx_stream_clawnexus_ctx_t *ctx);
static void ngx_stream_clawnexus_send_frame(ngx_stream_clawnexus_ctx_t *to,
    int opcode, const u_char *p, size_t n);
static void ngx_stream_clawnexus_close(ngx_stream_clawnexus_ctx_t *ctx,
    unsigned code, const char *reason);
static void ngx_stream_clawnexus_error(ngx_stream_clawnexus_ctx_t *ctx,
    const char *code, const char *message);
static void ngx_stream_clawnexus_publish(void);
static ngx_uint_t ngx_stream_clawnexus_owner(void);
static void ngx_stream_clawnexus_backpressure(ngx_stream_clawnexus_ctx_t *from,
    ngx_stream_clawnexus_ctx_t *to);
static const cnx_relay_member_ops_t  ngx_stream_clawnexus_local_ops;

static void *ngx_stream_clawnexus_create_srv_conf(ngx_conf_t *cf);
static char *ngx_stream_clawnexus_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_stream_clawnexus_relay(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_stream_clawnexus_secret_file(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_stream_clawnexus_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_stream_clawnexus_add_zone(ngx_conf_t *cf);
static void ngx_stream_clawnexus_status_handler(ngx_stream_session_t *s);
static ngx_int_t ngx_stream_clawnexus_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_stream_clawnexus_variable(ngx_stream_session_t *s,
    ngx_stream_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_stream_clawnexus_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_stream_clawnexus_init_process(ngx_cycle_t *cycle);
static void ngx_stream_clawnexus_exit_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_stream_clawnexus_commands[] = {

    { ngx_string("clawnexus_relay"),
      NGX_STREAM_SRV_CONF|NGX_CONF_NOARGS,
      ngx_stream_clawnexus_relay,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("clawnexus_status"),
      NGX_STREAM_SRV_CONF|NGX_CONF_NOARGS,
      ngx_stream_clawnexus_status,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("clawnexus_jwt_secret_file"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_stream_clawnexus_secret_file,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_clawnexus_srv_conf_t, jwt_secret),
      NULL },

    { ngx_string("clawnexus_jwt_previous_secret_file"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_stream_clawnexus_secret_file,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_clawnexus_srv_conf_t, jwt_prev_secret),
      NULL },

    { ngx_string("clawnexus_jwt_issuer"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_clawnexus_srv_conf_t, jwt_issuer),
      NULL },

    { ngx_string("clawnexus_jwt_leeway"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_clawnexus_srv_conf_t, jwt_leeway),
      NULL },

    { ngx_string("clawnexus_jwt_max_lifetime"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_clawnexus_srv_conf_t, jwt_max_lifetime),
      NULL },

    { ngx_string("clawnexus_max_message"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_clawnexus_srv_conf_t, max_message),
      NULL },

    { ngx_string("clawnexus_max_rooms"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_clawnexus_srv_conf_t, max_rooms),
      NULL },

    { ngx_string("clawnexus_max_pending"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_clawnexus_srv_conf_t, max_pending),
      NULL },

    { ngx_string("clawnexus_max_incoming"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_clawnexus_srv_conf_t, max_incoming),
      NULL },

    { ngx_string("clawnexus_max_pending_per_target"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_clawnexus_srv_conf_t, max_pair),
      NULL },

    { ngx_string("clawnexus_idle_timeout"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_clawnexus_srv_conf_t, idle_timeout),
      NULL },

    { ngx_string("clawnexus_handshake_timeout"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_clawnexus_srv_conf_t, handshake_timeout),
      NULL },

    { ngx_string("clawnexus_ping_interval"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_clawnexus_srv_conf_t, ping_interval),
      NULL },

    { ngx_string("clawnexus_send_queue"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_clawnexus_srv_conf_t, send_queue),
      NULL },

    { ngx_string("clawnexus_buffer_size"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_clawnexus_srv_conf_t, buffer_size),
      NULL },

    { ngx_string("clawnexus_max_connections_per_ip"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_clawnexus_srv_conf_t, max_conns_per_ip),
      NULL },

    { ngx_string("clawnexus_max_auth_failures"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_clawnexus_srv_conf_t, max_auth_failures),
      NULL },

    { ngx_string("clawnexus_auth_failure_window"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_clawnexus_srv_conf_t, auth_failure_window),
      NULL },

      ngx_null_command
};


enum {
    NGX_STREAM_CLAWNEXUS_VAR_CLAW_ID = 0,
    NGX_STREAM_CLAWNEXUS_VAR_ROOMS,
    NGX_STREAM_CLAWNEXUS_VAR_MESSAGES,
    NGX_STREAM_CLAWNEXUS_VAR_CLOSE_REASON
};


static ngx_stream_variable_t  ngx_stream_clawnexus_vars[] = {

    { ngx_string("clawnexus_claw_id"), NULL, ngx_stream_clawnexus_variable,
      NGX_STREAM_CLAWNEXUS_VAR_CLAW_ID, NGX_STREAM_VAR_NOCACHEABLE, 0 },

    { ngx_string("clawnexus_rooms"), NULL, ngx_stream_clawnexus_variable,
      NGX_STREAM_CLAWNEXUS_VAR_ROOMS, NGX_STREAM_VAR_NOCACHEABLE, 0 },

    { ngx_string("clawnexus_messages"), NULL, ngx_stream_clawnexus_variable,
      NGX_STREAM_CLAWNEXUS_VAR_MESSAGES, NGX_STREAM_VAR_NOCACHEABLE, 0 },

    { ngx_string("clawnexus_close_reason"), NULL,
      ngx_stream_clawnexus_variable,
      NGX_STREAM_CLAWNEXUS_VAR_CLOSE_REASON, NGX_STREAM_VAR_NOCACHEABLE, 0 },

      ngx_stream_null_variable
};


static ngx_stream_module_t  ngx_stream_clawnexus_module_ctx = {
    ngx_stream_clawnexus_add_variables,    /* preconfiguration */
    NULL,                                  /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    ngx_stream_clawnexus_create_srv_conf,  /* create server configuration */
    ngx_stream_clawnexus_merge_srv_conf    /* merge server configuration */
};


ngx_module_t  ngx_stream_clawnexus_module = {
    NGX_MODULE_V1,
    &ngx_stream_clawnexus_module_ctx,      /* module context */
    ngx_stream_clawnexus_commands,         /* module directives */
    NGX_STREAM_MODULE,                     /* module type */
    NULL,                                  /* init master */
    ngx_stream_clawnexus_init_module,      /* init module */
    ngx_stream_clawnexus_init_process,     /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_stream_clawnexus_exit_process,     /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_stream_clawnexus_worker_t   ngx_stream_clawnexus_worker;
static ngx_stream_clawnexus_stats_t    ngx_stream_clawnexus_dummy_stats;
static ngx_stream_clawnexus_stats_t   *ngx_stream_clawnexus_stats =
    &ngx_stream_clawnexus_dummy_stats;
static ngx_shm_zone_t                 *ngx_stream_clawnexus_zone;
static ngx_uint_t                      ngx_stream_clawnexus_relays;
static ngx_stream_clawnexus_shm_t     *ngx_stream_clawnexus_sh;
static ngx_stream_clawnexus_ipc_t     *ngx_stream_clawnexus_ipc;
static ngx_uint_t                      ngx_stream_clawnexus_generation;
/* what open sessions receive into, see ngx_stream_clawnexus_bulk() */
static u_char  ngx_stream_clawnexus_rbuf[NGX_STREAM_CLAWNEXUS_BULK
                                        + NGX_STREAM_CLAWNEXUS_BULK_TAIL];
static ngx_stream_clawnexus_gauge_t    ngx_stream_clawnexus_dummy_gauge;
static ngx_stream_clawnexus_gauge_t   *ngx_stream_clawnexus_my_gauge =
    &ngx_stream_clawnexus_dummy_gauge;

#define ngx_stream_clawnexus_count(field, n)                                  \
    (void) ngx_atomic_fetch_add(&ngx_stream_clawnexus_stats->field, n)


/* Publish the changes of this worker's name and room counts. */
static void
ngx_stream_clawnexus_gauges(void)
{
    size_t                          n;
    ngx_stream_clawnexus_worker_t  *w = &ngx_stream_clawnexus_worker;

    /*
     * A room whose members live in two workers is kept by both; only the
     * initiator's worker counts it.
     */
    n = w->core ? cnx_dir_room_count(cnx_relay_core_dir(w->core))
                  - w->remote_halves
                : 0;
    if (n != w->rooms) {
        ngx_stream_clawnexus_my_gauge->rooms = n;
        w->rooms = n;
    }
}


/* Shared name directory ---------------------------------------------------- */


static ngx_int_t
ngx_stream_clawnexus_alive(ngx_pid_t pid)
{
    if (pid <= 0) {
        return 0;
    }

    return kill(pid, 0) == 0 || ngx_errno == NGX_EPERM;
}


static ngx_stream_clawnexus_name_t *
ngx_stream_clawnexus_name_lookup(const char *name, size_t len)
{
    ngx_str_t  key;

    key.data = (u_char *) name;
    key.len = len;

    return (ngx_stream_clawnexus_name_t *) ngx_str_rbtree_lookup(
               &ngx_stream_clawnexus_sh->rbtree, &key,
               ngx_crc32_short(key.data, key.len));
}


static void
ngx_stream_clawnexus_name_delete(ngx_slab_pool_t *shpool,
    ngx_stream_clawnexus_name_t *nm)
{
    ngx_rbtree_delete(&ngx_stream_clawnexus_sh->rbtree, &nm->sn.node);
    ngx_slab_free_locked(shpool, nm);
    ngx_stream_clawnexus_sh->nnames--;
    ngx_stream_clawnexus_sh->stats.names = ngx_stream_clawnexus_sh->nnames;
}


/*
 * Binds name to me; *old receives the previous owner (pid 0 if none).
 * Returns NGX_ERROR when the zone is full.
 */
static ngx_int_t
ngx_stream_clawnexus_name_set(const char *name, size_t len,
    ngx_stream_clawnexus_addr_t *me, ngx_stream_clawnexus_addr_t *old)
{
    ngx_slab_pool_t              *shpool;
    ngx_stream_clawnexus_name_t  *nm;

    shpool = (ngx_slab_pool_t *) ngx_stream_clawnexus_zone->shm.addr;
    ngx_memzero(old, sizeof(ngx_stream_clawnexus_addr_t));

    ngx_shmtx_lock(&shpool->mutex);

    nm = ngx_stream_clawnexus_name_lookup(name, len);

    if (nm) {
        *old = nm->owner;
        nm->owner = *me;
        ngx_shmtx_unlock(&shpool->mutex);
        return NGX_OK;
    }

    nm = ngx_slab_alloc_locked(shpool,
                      offsetof(ngx_stream_clawnexus_name_t, data) + len);
    if (nm == NULL) {
        ngx_shmtx_unlock(&shpool->mutex);
        return NGX_ERROR;
    }

    ngx_memcpy(nm->data, name, len);
    nm->sn.str.data = nm->data;
    nm->sn.str.len = len;
    nm->sn.node.key = ngx_crc32_short(nm->data, len);
    nm->owner = *me;
    ngx_rbtree_insert(&ngx_stream_clawnexus_sh->rbtree, &nm->sn.node);
    ngx_stream_clawnexus_sh->nnames++;
    ngx_stream_clawnexus_sh->stats.names = ngx_stream_clawnexus_sh->nnames;

    ngx_shmtx_unlock(&shpool->mutex);

    return NGX_OK;
}


/* The owner of name (pid 0 if none); a dead owner is removed. */
static void
ngx_stream_clawnexus_name_get(const char *name, size_t len,
    ngx_stream_clawnexus_addr_t *owner)
{
    ngx_slab_pool_t              *shpool;
    ngx_stream_clawnexus_name_t  *nm;

    shpool = (ngx_slab_pool_t *) ngx_stream_clawnexus_zone->shm.addr;
    ngx_memzero(owner, sizeof(ngx_stream_clawnexus_addr_t));

    ngx_shmtx_lock(&shpool->mutex);

    nm = ngx_stream_clawnexus_name_lookup(name, len);

    if (nm) {
        if (nm->owner.pid != ngx_pid
            && !ngx_stream_clawnexus_alive(nm->owner.pid))
        {
            ngx_stream_clawnexus_name_delete(shpool, nm);

        } else {
            *owner = nm->owner;
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);
}


/* Removes name only while me still owns it. */
static void
ngx_stream_clawnexus_name_release(const char *name, size_t len,
    ngx_stream_clawnexus_addr_t *me)
{
    ngx_slab_pool_t              *shpool;
    ngx_stream_clawnexus_name_t  *nm;

    shpool = (ngx_slab_pool_t *) ngx_stream_clawnexus_zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    nm = ngx_stream_clawnexus_name_lookup(name, len);

    if (nm && nm->owner.pid == me->pid && nm->owner.conn == me->conn) {
        ngx_stream_clawnexus_name_delete(shpool, nm);
    }

    ngx_shmtx_unlock(&shpool->mutex);
}


/*
 * This worker's column of per-address counts: what a dead worker counted
 * there (kill -9, a crash, the OOM killer; its sockets are gone without
 * a cleanup) is given back first.
 */
static void
ngx_stream_clawnexus_limits_take_over(void)
{
    ngx_pid_t           pid;
    ngx_uint_t          o;
    ngx_slab_pool_t    *shpool;
    cnx_limit_table_t  *t = ngx_stream_clawnexus_sh->limits;

    o = ngx_stream_clawnexus_owner();
    if (o >= CNX_LIMIT_OWNERS) {
        return;
    }

    shpool = (ngx_slab_pool_t *) ngx_stream_clawnexus_zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    pid = t->owner_pid[o];

    if (pid && pid != ngx_pid && !ngx_stream_clawnexus_alive(pid)) {
        cnx_limit_reclaim(t, o);
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "clawnexus: per-address counts of the exited worker "
                      "%P given back", pid);
    }

    if (pid == 0 || !ngx_stream_clawnexus_alive(pid)) {
        t->owner_pid[o] = ngx_pid;
    }

    ngx_shmtx_unlock(&shpool->mutex);
}


/* Drops every name owned by a process that is gone. */
static void
ngx_stream_clawnexus_names_reap(ngx_pid_t pid)
{
    ngx_slab_pool_t              *shpool;
    ngx_rbtree_node_t            *node, *next, *root, *sentinel;
    ngx_stream_clawnexus_name_t  *nm;

    shpool = (ngx_slab_pool_t *) ngx_stream_clawnexus_zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    sentinel = ngx_stream_clawnexus_sh->rbtree.sentinel;
    root = ngx_stream_clawnexus_sh->rbtree.root;

    if (root != sentinel) {
        for (node = ngx_rbtree_min(root, sentinel); node; node = next) {
            next = ngx_rbtree_next(&ngx_stream_clawnexus_sh->rbtree, node);
            nm = (ngx_stream_clawnexus_name_t *) node;

            if (nm->owner.pid == pid) {
                ngx_stream_clawnexus_name_delete(shpool, nm);
            }
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);
}


static ngx_stream_clawnexus_ctx_t *
ngx_stream_clawnexus_conn_find(uint64_t id)
{
    ngx_rbtree_node_t  *node, *sentinel;

    node = ngx_stream_clawnexus_worker.conns.root;
    sentinel = ngx_stream_clawnexus_worker.conns.sentinel;

    while (node != sentinel) {
        if (id == node->key) {
            return (ngx_stream_clawnexus_ctx_t *) node;
        }

        node = (id < node->key) ? node->left : node->right;
    }

    return NULL;
}


/* Per-address limits ------------------------------------------------------- */


/* The client address as a limits key (cnx_relay_addr_key), 0: unlimited. */
static uint64_t
ngx_stream_clawnexus_peer_key(ngx_connection_t *c)
{
    struct sockaddr_in    *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6   *sin6;
#endif

    switch (c->sockaddr->sa_family) {

    case AF_INET:
        sin = (struct sockaddr_in *) c->sockaddr;
        return cnx_relay_addr_key((u_char *) &sin->sin_addr, 4);

#if (NGX_HAVE_INET6)
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) c->sockaddr;
        return cnx_relay_addr_key(sin6->sin6_addr.s6_addr, 16);
#endif

    default:
        return 0;
    }
}


/*
 * This worker's column of the per-owner counts: workers of consecutive
 * generations (a reload) use different ones, so that a worker taking over
 * a dead one's column gives back only what the dead one counted.
 */
static ngx_uint_t
ngx_stream_clawnexus_owner(void)
{
    if (ngx_worker >= CNX_LIMIT_OWNERS / 2) {
        return CNX_LIMIT_OWNERS;        /* counted, not per owner */
    }

    return ngx_worker + (ngx_stream_clawnexus_worker.gen & 1)
                        * (CNX_LIMIT_OWNERS / 2);
}


/*
 * Counts a new connection; NGX_DECLINED when over the per-address limit,
 * or when the table has no room for the address even under its coarser
 * prefix (never fail open).
 */
static ngx_int_t
ngx_stream_clawnexus_peer_connect(ngx_stream_clawnexus_ctx_t *ctx)
{
    ngx_int_t           rc;
    ngx_slab_pool_t    *shpool;
    cnx_limit_slot_t   *p;

    ctx->peer_key = ngx_stream_clawnexus_peer_key(ctx->c);

    if (ctx->peer_key == 0 || ngx_stream_clawnexus_sh == NULL) {
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) ngx_stream_clawnexus_zone->shm.addr;
    rc = NGX_OK;

    ngx_shmtx_lock(&shpool->mutex);

    p = cnx_limit_get(ngx_stream_clawnexus_sh->limits, ctx->peer_key,
                      ngx_time(), ctx->conf->auth_failure_window, 1);

    if (p == NULL) {
        rc = NGX_DECLINED;

    } else if (ctx->conf->max_conns_per_ip
               && p->conns >= ctx->conf->max_conns_per_ip)
    {
        rc = NGX_DECLINED;

    } else {
        cnx_limit_conn(p, ngx_stream_clawnexus_owner(), 1);
        ctx->peer_key = p->key;         /* maybe its coarser prefix */
        ctx->peer_counted = 1;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return rc;
}


static void
ngx_stream_clawnexus_peer_disconnect(ngx_stream_clawnexus_ctx_t *ctx)
{
    ngx_slab_pool_t   *shpool;
    cnx_limit_slot_t  *p;

    if (!ctx->peer_counted || ngx_stream_clawnexus_sh == NULL) {
        return;
    }

    ctx->peer_counted = 0;
    shpool = (ngx_slab_pool_t *) ngx_stream_clawnexus_zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    p = cnx_limit_get(ngx_stream_clawnexus_sh->limits, ctx->peer_key,
                      ngx_time(), ctx->conf->auth_failure_window, 0);
    if (p) {
        cnx_limit_conn(p, ngx_stream_clawnexus_owner(), -1);
    }

    ngx_shmtx_unlock(&shpool->mutex);
}


/*
 * fail: 1 records a refused token.  Returns NGX_DECLINED when the address
 * has had max_auth_failures within the window (or a failure cannot be
 * recorded at all).
 */
static ngx_int_t
ngx_stream_clawnexus_peer_auth(ngx_stream_clawnexus_ctx_t *ctx,
    ngx_uint_t fail)
{
    ngx_int_t          rc;
    ngx_slab_pool_t   *shpool;
    cnx_limit_slot_t  *p;

    if (ctx->peer_key == 0 || ngx_stream_clawnexus_sh == NULL
        || ctx->conf->max_auth_failures == 0)
    {
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) ngx_stream_clawnexus_zone->shm.addr;
    rc = NGX_OK;

    ngx_shmtx_lock(&shpool->mutex);

    p = cnx_limit_get(ngx_stream_clawnexus_sh->limits, ctx->peer_key,
                      ngx_time(), ctx->conf->auth_failure_window, fail);
    if (p) {
        if (ngx_time() - p->window > ctx->conf->auth_failure_window) {
            p->window = ngx_time();
            p->fails = 0;
        }

        if (fail) {
            p->fails++;
        }

        if (p->fails >= ctx->conf->max_auth_failures + (fail ? 1 : 0)) {
            rc = NGX_DECLINED;
        }

    } else if (fail) {
        rc = NGX_DECLINED;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return rc;
}


/* Backpressure --------------------------------------------------------------- */


static void
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


static void
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


static void
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
 * Queue a record (cnx_relay_rec: its head a, then its payload b) for
 * worker (process pid).  Returns the channel, or NULL if that worker
 * cannot be reached.
 */
static ngx_stream_clawnexus_chan_t *
ngx_stream_clawnexus_ipc_send(ngx_int_t worker, ngx_pid_t pid,
    const u_char *a, size_t alen, const u_char *b, size_t blen)
{
    u_char                          *p;
    size_t                           total, off, chunk, part, n, size;
    ngx_stream_clawnexus_out_t      *o;
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

        /*
         * Add the record to the datagram at the tail of the queue while
         * it fits (nothing of a datagram is sent until all of it is);
         * a datagram never exceeds one header and one chunk, the size
         * the reader receives into.
         */
        o = ch->out_last;

        if (o == NULL || o->cap - o->last < sizeof(h) + chunk) {
            size = ngx_max(sizeof(h) + chunk,
                           NGX_STREAM_CLAWNEXUS_IPC_BATCH);

            o = ngx_alloc(sizeof(ngx_stream_clawnexus_out_t) + size,
                          ngx_cycle->log);
            if (o == NULL) {
                return NULL;
            }

            o->pos = 0;
            o->last = 0;
            o->cap = size;
            o->ext = NULL;
            o->next = NULL;

            if (ch->out_last) {
                ch->out_last->next = o;

            } else {
                ch->out = o;
            }

            ch->out_last = o;
        }

        ngx_memzero(&h, sizeof(h));
        h.gen = (uint32_t) w->gen;
        h.more = (off + chunk < total);
        h.src_worker = (int32_t) ngx_worker;
        h.src_pid = (int32_t) ngx_pid;
        h.dst_pid = (int32_t) pid;
        h.len = (uint32_t) chunk;
        ngx_memcpy(o->data + o->last, &h, sizeof(h));

        /* copy bytes [off, off + chunk) of the virtual body */
        p = o->data + o->last + sizeof(h);
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

        o->last += sizeof(h) + chunk;
        ch->out_bytes += sizeof(h) + chunk;
        off += chunk;

    } while (off < total);

    if (!ch->c->write->posted) {
        ngx_post_event(ch->c->write, &ngx_posted_events);
    }

    return ch;
}


static void ngx_stream_clawnexus_ipc_dispatch(u_char *body, size_t len);


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

    ngx_stream_clawnexus_ipc_dispatch(body, len);
}


static void
ngx_stream_clawnexus_ipc_read_handler(ngx_event_t *ev)
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

            ngx_stream_clawnexus_ipc_record(&h, body, len);
            i++;
        }
    }

    ngx_post_event(ev, &ngx_posted_events);
}


/* Session ---------------------------------------------------------------- */


static void
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
    cnx_ws_reader_init(&ctx->reader, cscf->max_message, 1);

    ctx->buf = ngx_palloc(c->pool, cscf->buffer_size);
    if (ctx->buf == NULL) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    cln = ngx_pool_cleanup_add(c->pool, 0);
    if (cln == NULL) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    cln->handler = ngx_stream_clawnexus_cleanup;
    cln->data = ctx;

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
            n = c->recv(c, ctx->buf + ctx->end,
                        ctx->conf->buffer_size - ctx->end);
        }

        if (n == NGX_AGAIN) {
            /* nothing more now: a large message's buffer is not kept */
            (void) cnx_ws_reader_trim(&ctx->reader);
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
static ngx_int_t
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
        ngx_memcpy(ctx->buf, ngx_stream_clawnexus_rbuf + ctx->start, left);
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


/* Outbound queues ---------------------------------------------------------- */


/* A queue entry with size bytes of data. */
static ngx_stream_clawnexus_out_t *
ngx_stream_clawnexus_out_get(size_t size, ngx_log_t *log)
{
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
static void
ngx_stream_clawnexus_out_put(ngx_stream_clawnexus_out_t *o)
{
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
static ngx_stream_clawnexus_out_t *
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
static void
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


static void
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
static ngx_int_t
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
static ngx_uint_t
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
static void
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
static void
ngx_stream_clawnexus_backpressure(ngx_stream_clawnexus_ctx_t *from,
    ngx_stream_clawnexus_ctx_t *to)
{
    if (ngx_stream_clawnexus_full(to)) {
        ngx_stream_clawnexus_pause(&from->wait, &to->waiters, to);
    }
}


static void
ngx_stream_clawnexus_chan_backpressure(ngx_stream_clawnexus_ctx_t *from,
    ngx_stream_clawnexus_chan_t *ch)
{
    if (ch && ch->out_bytes > NGX_STREAM_CLAWNEXUS_CHAN_HIGH) {
        ngx_stream_clawnexus_pause(&from->wait, &ch->waiters, ch);
    }
}


static void
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
static ngx_int_t
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


static void
ngx_stream_clawnexus_write_handler(ngx_event_t *ev)
{
    ngx_int_t                     rc;
    ngx_connection_t             *c;
    ngx_stream_session_t         *s;
    ngx_stream_clawnexus_ctx_t   *ctx;

    c = ev->data;
    s = c->data;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_clawnexus_module);

    if (ev->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "clawnexus: client stopped reading");
        ctx->close_reason = "send timeout";
        ngx_stream_clawnexus_finalize(ctx);
        return;
    }

    if (ctx->failed) {
        ngx_stream_clawnexus_finalize(ctx);
        return;
    }

    rc = ngx_stream_clawnexus_flush(ctx);

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

    /* a receiver that reads nothing for idle_timeout is gone */
    if (!ev->timer_set && ctx->state == NGX_STREAM_CLAWNEXUS_OPEN) {
        ngx_add_timer(ev, ctx->conf->idle_timeout);
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
static void
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
}



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
    n = cnx_relay_build_data((char *) o->data + CNX_WS_MAX_HEADER, size + 1,
                             room, payload, len);
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
    if (from->remote
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


static const cnx_relay_member_ops_t  ngx_stream_clawnexus_local_ops = {
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
ngx_stream_clawnexus_remote_send(cnx_relay_member_t *to,
    cnx_relay_rec_type_t type, const cnx_relay_addr_t *src,
    const char *room, size_t room_len, const char *name, unsigned flags,
    const uint8_t *p, size_t n)
{
    long                          h;
    u_char                        head[CNX_RELAY_REC_HEADER
                                       + CNX_RELAY_ROOM_ID_MAX
                                       + CNX_RELAY_CLAW_ID_MAX];
    cnx_relay_rec_t               rec;
    cnx_relay_member_t           *fm;
    ngx_stream_clawnexus_ctx_t   *fc;
    ngx_stream_clawnexus_chan_t  *ch;

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

    h = cnx_relay_rec_encode_head(&rec, head, sizeof(head));
    if (h < 0) {
        return NGX_ERROR;
    }

    ch = ngx_stream_clawnexus_ipc_send(to->addr.worker, to->addr.pid, head,
                                       (size_t) h, p, n);
    if (ch == NULL) {
        return NGX_ERROR;
    }

    /* a sender of DATA, a session here, is held back past 1 MiB */
    if (type == CNX_RELAY_REC_DATA_TEXT || type == CNX_RELAY_REC_DATA_BIN) {
        fc = ngx_stream_clawnexus_conn_find(src->conn);
        fm = fc ? &fc->member : NULL;

        if (fc && cnx_relay_addr_eq(&fm->addr, src)) {
            ngx_stream_clawnexus_chan_backpressure(fc, ch);
        }
    }

    return NGX_OK;
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
    if (ngx_stream_clawnexus_remote_send(to,
            binary ? CNX_RELAY_REC_DATA_BIN : CNX_RELAY_REC_DATA_TEXT,
            &from->addr, r->id, r->id_len, NULL, 0, p, n)
        != NGX_OK)
    {
        return CNX_RELAY_OP_ERROR;
    }

    if (!from->remote) {
        ngx_stream_clawnexus_ctx_of(from)->messages++;
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


static const cnx_relay_member_ops_t  ngx_stream_clawnexus_remote_ops = {
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

    return ngx_stream_clawnexus_member_at(&owner);
}


static void
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
        return NULL;
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


static const cnx_relay_host_ops_t  ngx_stream_clawnexus_host_ops = {
    ngx_stream_clawnexus_host_lookup,
    ngx_stream_clawnexus_host_bind,
    ngx_stream_clawnexus_host_unbind,
    ngx_stream_clawnexus_host_remote,
    ngx_stream_clawnexus_host_auth_limit,
    ngx_stream_clawnexus_host_now
};


/* Counters of the core, added to the shared ones since the last call. */
static void
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
    ngx_stream_clawnexus_publish();

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


static void
ngx_stream_clawnexus_text(ngx_stream_clawnexus_ctx_t *ctx, const u_char *p,
    size_t n)
{
    int          rc;
    const char  *why;

    rc = cnx_relay_core_text(ngx_stream_clawnexus_worker.core, &ctx->member,
                             (const char *) p, n, &why);
    ngx_stream_clawnexus_verdict(ctx, rc, why);
}


static void
ngx_stream_clawnexus_bin(ngx_stream_clawnexus_ctx_t *ctx, u_char *p, size_t n)
{
    int          rc;
    const char  *why;

    rc = cnx_relay_core_binary(ngx_stream_clawnexus_worker.core, &ctx->member,
                               p, n, &why);
    ngx_stream_clawnexus_verdict(ctx, rc, why);
}


/* A record from another worker. */
static void
ngx_stream_clawnexus_ipc_dispatch(u_char *body, size_t len)
{
    cnx_relay_rec_t                 rec;
    cnx_relay_member_t             *to;
    ngx_stream_clawnexus_ctx_t     *ctx;
    ngx_stream_clawnexus_worker_t  *w = &ngx_stream_clawnexus_worker;

    if (cnx_relay_rec_decode(body, len, NGX_MAX_INT32_VALUE, &rec) != 0) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "clawnexus: a malformed record from another worker");
        return;
    }

    if (rec.dst.pid != (int32_t) ngx_pid || rec.dst.gen != (uint32_t) w->gen
        || rec.src.gen != (uint32_t) w->gen || rec.dst.node != 0)
    {
        return;
    }

    ctx = ngx_stream_clawnexus_conn_find(rec.dst.conn);
    to = ctx && ctx->state == NGX_STREAM_CLAWNEXUS_OPEN ? &ctx->member : NULL;

    cnx_relay_core_record(w->core, to, &rec);
    ngx_stream_clawnexus_publish();
}


/*
 * A record from another relay node (through the cluster's Redis).  Only
 * REPLACED is acted on so far: a newer REGISTER of the name elsewhere.
 * The name leaves this node's directory first, so that the core sees an
 * owner other than the member.
 */
static void
ngx_stream_clawnexus_from_node(const cnx_relay_rec_t *rec)
{
    cnx_relay_member_t             *to;
    ngx_stream_clawnexus_ctx_t     *ctx;
    ngx_stream_clawnexus_addr_t     me;
    ngx_stream_clawnexus_worker_t  *w = &ngx_stream_clawnexus_worker;

    if (rec->type != CNX_RELAY_REC_REPLACED
        || rec->dst.pid != (int32_t) ngx_pid || w->core == NULL)
    {
        return;
    }

    ctx = ngx_stream_clawnexus_conn_find(rec->dst.conn);
    if (ctx == NULL || ctx->state != NGX_STREAM_CLAWNEXUS_OPEN) {
        return;
    }

    to = &ctx->member;

    if (!to->registered || rec->name_len != to->name_len
        || ngx_memcmp(rec->name, to->name, to->name_len) != 0)
    {
        return;
    }

    if (ngx_stream_clawnexus_sh) {
        ngx_stream_clawnexus_me(to, &me);
        ngx_stream_clawnexus_name_release(to->name, to->name_len, &me);
    }

    cnx_relay_core_record(w->core, to, rec);
    ngx_stream_clawnexus_publish();
}


/* The link to Redis is ready: announce this worker's names again. */
static void
ngx_stream_clawnexus_link_changed(ngx_uint_t ready)
{
    ngx_rbtree_node_t           *node, *root, *sentinel;
    ngx_stream_clawnexus_ctx_t  *ctx;

    if (!ready) {
        return;
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


/* Configuration ------------------------------------------------------------ */


static void *
ngx_stream_clawnexus_create_srv_conf(ngx_conf_t *cf)
{
    ngx_stream_clawnexus_srv_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_stream_clawnexus_srv_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *     conf->jwt_secret = { 0, NULL };
     *     conf->jwt_prev_secret = { 0, NULL };
     *     conf->jwt_issuer = { 0, NULL };
     */

    conf->relay = NGX_CONF_UNSET;
    conf->jwt_leeway = NGX_CONF_UNSET;
    conf->jwt_max_lifetime = NGX_CONF_UNSET;
    conf->max_message = NGX_CONF_UNSET_SIZE;
    conf->max_rooms = NGX_CONF_UNSET_UINT;
    conf->max_pending = NGX_CONF_UNSET_UINT;
    conf->max_incoming = NGX_CONF_UNSET_UINT;
    conf->max_pair = NGX_CONF_UNSET_UINT;
    conf->idle_timeout = NGX_CONF_UNSET_MSEC;
    conf->handshake_timeout = NGX_CONF_UNSET_MSEC;
    conf->ping_interval = NGX_CONF_UNSET_MSEC;
    conf->send_queue = NGX_CONF_UNSET_SIZE;
    conf->buffer_size = NGX_CONF_UNSET_SIZE;
    conf->max_conns_per_ip = NGX_CONF_UNSET_UINT;
    conf->max_auth_failures = NGX_CONF_UNSET_UINT;
    conf->auth_failure_window = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_stream_clawnexus_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_stream_clawnexus_srv_conf_t  *prev = parent;
    ngx_stream_clawnexus_srv_conf_t  *conf = child;

    u_char  *p;

    ngx_conf_merge_value(conf->relay, prev->relay, 0);

    if (conf->jwt_secret.data == NULL) {
        conf->jwt_secret = prev->jwt_secret;
    }

    if (conf->jwt_prev_secret.data == NULL) {
        conf->jwt_prev_secret = prev->jwt_prev_secret;
    }

    ngx_conf_merge_str_value(conf->jwt_issuer, prev->jwt_issuer, "");
    ngx_conf_merge_sec_value(conf->jwt_leeway, prev->jwt_leeway, 30);
    ngx_conf_merge_sec_value(conf->jwt_max_lifetime, prev->jwt_max_lifetime,
                             86400);
    ngx_conf_merge_size_value(conf->max_message, prev->max_message,
                              1024 * 1024);
    ngx_conf_merge_uint_value(conf->max_rooms, prev->max_rooms, 64);
    ngx_conf_merge_uint_value(conf->max_pending, prev->max_pending, 16);
    ngx_conf_merge_uint_value(conf->max_incoming, prev->max_incoming, 32);
    ngx_conf_merge_uint_value(conf->max_pair, prev->max_pair, 4);
    ngx_conf_merge_msec_value(conf->idle_timeout, prev->idle_timeout,
                              120000);
    ngx_conf_merge_msec_value(conf->handshake_timeout,
                              prev->handshake_timeout, 10000);
    ngx_conf_merge_msec_value(conf->ping_interval, prev->ping_interval,
                              30000);
    ngx_conf_merge_size_value(conf->send_queue, prev->send_queue,
                              1024 * 1024);
    ngx_conf_merge_size_value(conf->buffer_size, prev->buffer_size,
                              16 * 1024);
    ngx_conf_merge_uint_value(conf->max_conns_per_ip, prev->max_conns_per_ip,
                              0);
    ngx_conf_merge_uint_value(conf->max_auth_failures,
                              prev->max_auth_failures, 10);
    ngx_conf_merge_sec_value(conf->auth_failure_window,
                             prev->auth_failure_window, 60);

    /* the codec wants a NUL-terminated issuer */
    if (conf->jwt_issuer.len && conf->jwt_issuer.data[conf->jwt_issuer.len]) {
        p = ngx_pnalloc(cf->pool, conf->jwt_issuer.len + 1);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memcpy(p, conf->jwt_issuer.data, conf->jwt_issuer.len);
        p[conf->jwt_issuer.len] = '\0';
        conf->jwt_issuer.data = p;
    }

    if (conf->buffer_size < 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "clawnexus_buffer_size must be at least 1k");
        return NGX_CONF_ERROR;
    }

    if (conf->buffer_size < CNX_HTTP_MAX_HEAD + 1) {
        conf->buffer_size = CNX_HTTP_MAX_HEAD + 1;
    }

    if (conf->max_message < 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "clawnexus_max_message must be at least 1k");
        return NGX_CONF_ERROR;
    }

    if (conf->relay == 1 && conf->jwt_secret.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"clawnexus_relay\" needs "
                           "\"clawnexus_jwt_secret_file\"");
        return NGX_CONF_ERROR;
    }

    conf->limits.max_rooms = (unsigned) conf->max_rooms;
    conf->limits.max_pending = (unsigned) conf->max_pending;
    conf->limits.max_incoming = (unsigned) conf->max_incoming;
    conf->limits.max_pair = (unsigned) conf->max_pair;
    conf->limits.jwt_key = conf->jwt_secret.data;
    conf->limits.jwt_key_len = conf->jwt_secret.len;
    conf->limits.jwt_prev_key = conf->jwt_prev_secret.data;
    conf->limits.jwt_prev_key_len = conf->jwt_prev_secret.len;
    conf->limits.jwt_issuer = conf->jwt_issuer.len
                              ? (const char *) conf->jwt_issuer.data : NULL;
    conf->limits.jwt_leeway = conf->jwt_leeway;
    conf->limits.jwt_max_lifetime = conf->jwt_max_lifetime;

    return NGX_CONF_OK;
}


static char *
ngx_stream_clawnexus_relay(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_stream_clawnexus_srv_conf_t  *ccf = conf;

    ngx_stream_core_srv_conf_t  *cscf;

    if (ccf->relay != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    cscf = ngx_stream_conf_get_module_srv_conf(cf, ngx_stream_core_module);

    if (cscf->handler) {
        return "conflicts with another content handler in this server";
    }

    cscf->handler = ngx_stream_clawnexus_handler;
    ccf->relay = 1;
    ngx_stream_clawnexus_relays++;

    if (ngx_stream_clawnexus_add_zone(cf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* clawnexus_jwt_secret_file, clawnexus_jwt_previous_secret_file */
static char *
ngx_stream_clawnexus_secret_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_str_t  *secret = (ngx_str_t *) ((char *) conf + cmd->offset);
    ngx_str_t  *value;

    if (secret->data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    return ngx_clawnexus_read_secret(cf, &value[1], secret);
}


static ngx_int_t
ngx_stream_clawnexus_add_variables(ngx_conf_t *cf)
{
    ngx_stream_variable_t  *var, *v;

    /* set again by this cycle's directives, if any */
    ngx_stream_clawnexus_zone = NULL;
    ngx_stream_clawnexus_relays = 0;

    for (v = ngx_stream_clawnexus_vars; v->name.len; v++) {
        var = ngx_stream_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_stream_clawnexus_variable(ngx_stream_session_t *s,
    ngx_stream_variable_value_t *v, uintptr_t data)
{
    u_char                      *p;
    const char                        *str;
    ngx_uint_t                         n;
    ngx_stream_clawnexus_ctx_t        *ctx;
    ngx_stream_clawnexus_srv_conf_t   *cscf;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_clawnexus_module);
    cscf = ngx_stream_get_module_srv_conf(s, ngx_stream_clawnexus_module);

    /* a status server keeps another ctx type */
    if (ctx == NULL || cscf->relay != 1) {
        v->not_found = 1;
        return NGX_OK;
    }

    switch (data) {

    case NGX_STREAM_CLAWNEXUS_VAR_CLAW_ID:
    case NGX_STREAM_CLAWNEXUS_VAR_CLOSE_REASON:
        str = (data == NGX_STREAM_CLAWNEXUS_VAR_CLAW_ID) ? ctx->member.name
                                                         : ctx->close_reason;
        v->len = ngx_strlen(str);
        v->data = (u_char *) str;
        break;

    default:
        n = (data == NGX_STREAM_CLAWNEXUS_VAR_ROOMS) ? ctx->rooms
                                                     : ctx->messages;
        p = ngx_pnalloc(s->connection->pool, NGX_INT_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        v->len = ngx_sprintf(p, "%ui", n) - p;
        v->data = p;
        break;
    }

    if (v->len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


static void
ngx_stream_clawnexus_ipc_close(void *data)
{
    ngx_stream_clawnexus_ipc_t  *ipc = data;

    ngx_uint_t  i, k;

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
static ngx_int_t
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


static ngx_int_t
ngx_stream_clawnexus_init_process(ngx_cycle_t *cycle)
{
    ngx_pid_t                       old;
    ngx_uint_t                      j;
    ngx_connection_t               *c;
    ngx_stream_clawnexus_ipc_t     *ipc = ngx_stream_clawnexus_ipc;
    ngx_stream_clawnexus_worker_t  *w = &ngx_stream_clawnexus_worker;

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

    ngx_stream_clawnexus_cluster_set_handlers(
        ngx_stream_clawnexus_from_node, ngx_stream_clawnexus_link_changed);

    w->core = cnx_relay_core_new(&ngx_stream_clawnexus_host_ops, NULL);
    if (w->core == NULL) {
        return NGX_ERROR;
    }

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

    for (j = 0; j < w->n; j++) {
        ngx_queue_init(&w->chans[j].waiters);

        if (j == ngx_worker) {
            continue;
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


static void
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



/* Status server and shared counters ---------------------------------------- */


static ngx_int_t
ngx_stream_clawnexus_init_zone(ngx_shm_zone_t *zone, void *data)
{
    ngx_slab_pool_t             *shpool;
    ngx_stream_clawnexus_shm_t  *sh;

    if (data) {
        /* reload: names and counters carry on in the same zone */
        zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    if (zone->shm.exists) {
        zone->data = shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_calloc(shpool, sizeof(ngx_stream_clawnexus_shm_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    sh->limits = ngx_slab_alloc(shpool,
                                cnx_limit_size(NGX_STREAM_CLAWNEXUS_PEERS));
    if (sh->limits == NULL) {
        return NGX_ERROR;
    }

    cnx_limit_init(sh->limits, NGX_STREAM_CLAWNEXUS_PEERS);

    ngx_rbtree_init(&sh->rbtree, &sh->sentinel, ngx_str_rbtree_insert_value);

    shpool->data = sh;
    zone->data = sh;

    return NGX_OK;
}


static ngx_int_t
ngx_stream_clawnexus_add_zone(ngx_conf_t *cf)
{
    ngx_str_t        name = ngx_string("clawnexus");
    ngx_shm_zone_t  *zone;

    if (ngx_stream_clawnexus_zone) {
        return NGX_OK;
    }

    /* names and counters; untouched pages cost no memory */
    zone = ngx_shared_memory_add(cf, &name, 32 * 1024 * 1024,
                                 &ngx_stream_clawnexus_module);
    if (zone == NULL) {
        return NGX_ERROR;
    }

    zone->init = ngx_stream_clawnexus_init_zone;
    ngx_stream_clawnexus_zone = zone;

    return NGX_OK;
}


static char *
ngx_stream_clawnexus_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_stream_core_srv_conf_t  *cscf;

    cscf = ngx_stream_conf_get_module_srv_conf(cf, ngx_stream_core_module);

    if (cscf->handler) {
        return "conflicts with another content handler in this server";
    }

    cscf->handler = ngx_stream_clawnexus_status_handler;

    if (ngx_stream_clawnexus_add_zone(cf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


#define NGX_STREAM_CLAWNEXUS_STATUS_HEAD  4096
#define NGX_STREAM_CLAWNEXUS_STATUS_BODY  8192

#define ngx_stream_clawnexus_val(field)                                       \
    ((ngx_atomic_int_t) ngx_stream_clawnexus_stats->field)


/* Sum a gauge over the processes that are alive. */
static ngx_atomic_int_t
ngx_stream_clawnexus_gauge_sum(ngx_uint_t rooms)
{
    ngx_uint_t                     i;
    ngx_atomic_int_t               sum;
    ngx_stream_clawnexus_gauge_t  *g;

    if (ngx_stream_clawnexus_sh == NULL) {
        return 0;
    }

    sum = 0;

    for (i = 0; i < NGX_MAX_PROCESSES; i++) {
        g = &ngx_stream_clawnexus_sh->gauges[i];

        if (g->pid && ngx_stream_clawnexus_alive(g->pid)) {
            sum += (ngx_atomic_int_t) (rooms ? g->rooms : g->active);
        }
    }

    return sum;
}


static u_char *
ngx_stream_clawnexus_metrics(u_char *p, u_char *last)
{
    ngx_uint_t  i;

    p = ngx_slprintf(p, last,
        "# HELP clawnexus_connections_total TCP connections accepted by "
        "relay servers.\n"
        "# TYPE clawnexus_connections_total counter\n"
        "clawnexus_connections_total %A\n"
        "# HELP clawnexus_websockets Open relay WebSockets.\n"
        "# TYPE clawnexus_websockets gauge\n"
        "clawnexus_websockets %A\n"
        "# HELP clawnexus_handshake_failures_total Refused WebSocket "
        "upgrades.\n"
        "# TYPE clawnexus_handshake_failures_total counter\n"
        "clawnexus_handshake_failures_total %A\n"
        "# HELP clawnexus_names Registered names.\n"
        "# TYPE clawnexus_names gauge\n"
        "clawnexus_names %A\n"
        "# HELP clawnexus_registrations_total Successful REGISTERs.\n"
        "# TYPE clawnexus_registrations_total counter\n"
        "clawnexus_registrations_total %A\n"
        "# HELP clawnexus_rooms Rooms (pending and active).\n"
        "# TYPE clawnexus_rooms gauge\n"
        "clawnexus_rooms %A\n"
        "# HELP clawnexus_rooms_total Rooms accepted.\n"
        "# TYPE clawnexus_rooms_total counter\n"
        "clawnexus_rooms_total %A\n"
        "# HELP clawnexus_messages_total DATA messages relayed.\n"
        "# TYPE clawnexus_messages_total counter\n"
        "clawnexus_messages_total %A\n"
        "# HELP clawnexus_bytes_total DATA payload bytes relayed.\n"
        "# TYPE clawnexus_bytes_total counter\n"
        "clawnexus_bytes_total %A\n"
        "# HELP clawnexus_auth_failures_total Refused tokens.\n"
        "# TYPE clawnexus_auth_failures_total counter\n"
        "clawnexus_auth_failures_total %A\n"
        "# HELP clawnexus_backpressure_pauses_total Times a sender was "
        "paused because a receiver fell behind.\n"
        "# TYPE clawnexus_backpressure_pauses_total counter\n"
        "clawnexus_backpressure_pauses_total %A\n"
        "# HELP clawnexus_errors_total ERROR messages sent, by code.\n"
        "# TYPE clawnexus_errors_total counter\n",
        ngx_stream_clawnexus_val(connections),
        ngx_stream_clawnexus_gauge_sum(0),
        ngx_stream_clawnexus_val(handshake_failures),
        ngx_stream_clawnexus_val(names),
        ngx_stream_clawnexus_val(registrations),
        ngx_stream_clawnexus_gauge_sum(1),
        ngx_stream_clawnexus_val(rooms_total),
        ngx_stream_clawnexus_val(messages),
        ngx_stream_clawnexus_val(bytes),
        ngx_stream_clawnexus_val(auth_failures),
        ngx_stream_clawnexus_val(paused));

    for (i = 0; i < NGX_STREAM_CLAWNEXUS_NERRORS; i++) {
        p = ngx_slprintf(p, last, "clawnexus_errors_total{code=\"%s\"} %A\n",
                         ngx_stream_clawnexus_error_codes[i],
                         ngx_stream_clawnexus_val(errors[i]));
    }

    p = ngx_slprintf(p, last,
        "# HELP clawnexus_closes_total WebSocket close frames sent by the "
        "relay, by code.\n"
        "# TYPE clawnexus_closes_total counter\n");

    for (i = 0; i < NGX_STREAM_CLAWNEXUS_NCLOSES; i++) {
        p = ngx_slprintf(p, last, "clawnexus_closes_total{code=\"%ui\"} %A\n",
                         (ngx_uint_t) ngx_stream_clawnexus_close_codes[i],
                         ngx_stream_clawnexus_val(closes[i]));
    }

    return p;
}


static u_char *
ngx_stream_clawnexus_status_json(u_char *p, u_char *last)
{
    ngx_uint_t  i;

    p = ngx_slprintf(p, last,
        "{\"connections\":%A,\"websockets\":%A,\"handshake_failures\":%A,"
        "\"names\":%A,\"registrations\":%A,\"rooms\":%A,\"rooms_total\":%A,"
        "\"messages\":%A,\"bytes\":%A,\"auth_failures\":%A,"
        "\"backpressure_pauses\":%A,\"errors\":{",
        ngx_stream_clawnexus_val(connections),
        ngx_stream_clawnexus_gauge_sum(0),
        ngx_stream_clawnexus_val(handshake_failures),
        ngx_stream_clawnexus_val(names),
        ngx_stream_clawnexus_val(registrations),
        ngx_stream_clawnexus_gauge_sum(1),
        ngx_stream_clawnexus_val(rooms_total),
        ngx_stream_clawnexus_val(messages),
        ngx_stream_clawnexus_val(bytes),
        ngx_stream_clawnexus_val(auth_failures),
        ngx_stream_clawnexus_val(paused));

    for (i = 0; i < NGX_STREAM_CLAWNEXUS_NERRORS; i++) {
        p = ngx_slprintf(p, last, "%s\"%s\":%A", i ? "," : "",
                         ngx_stream_clawnexus_error_codes[i],
                         ngx_stream_clawnexus_val(errors[i]));
    }

    p = ngx_slprintf(p, last, "},\"closes\":{");

    for (i = 0; i < NGX_STREAM_CLAWNEXUS_NCLOSES; i++) {
        p = ngx_slprintf(p, last, "%s\"%ui\":%A", i ? "," : "",
                         (ngx_uint_t) ngx_stream_clawnexus_close_codes[i],
                         ngx_stream_clawnexus_val(closes[i]));
    }

    return ngx_slprintf(p, last, "}}\n");
}


static void
ngx_stream_clawnexus_status_write(ngx_event_t *ev)
{
    ssize_t                             n;
    ngx_connection_t                   *c;
    ngx_stream_session_t               *s;
    ngx_stream_clawnexus_status_ctx_t  *st;

    c = ev->data;
    s = c->data;
    st = ngx_stream_get_module_ctx(s, ngx_stream_clawnexus_module);

    if (ev->timedout) {
        ngx_stream_finalize_session(s, NGX_STREAM_OK);
        return;
    }

    while (st->out_pos < st->out_len) {
        n = c->send(c, st->out + st->out_pos, st->out_len - st->out_pos);

        if (n == NGX_AGAIN) {
            ngx_add_timer(ev, 10000);
            if (ngx_handle_write_event(ev, 0) != NGX_OK) {
                ngx_stream_finalize_session(s, NGX_STREAM_OK);
            }
            return;
        }

        if (n <= 0) {
            ngx_stream_finalize_session(s, NGX_STREAM_OK);
            return;
        }

        st->out_pos += n;
    }

    ngx_stream_finalize_session(s, NGX_STREAM_OK);
}


static void
ngx_stream_clawnexus_status_read(ngx_event_t *ev)
{
    u_char                             *p, *last, *body, *eol;
    ssize_t                             n;
    const char                         *status, *type;
    ngx_connection_t                   *c;
    ngx_stream_session_t               *s;
    ngx_stream_clawnexus_status_ctx_t  *st;

    c = ev->data;
    s = c->data;
    st = ngx_stream_get_module_ctx(s, ngx_stream_clawnexus_module);

    if (ev->timedout || c->close) {
        ngx_stream_finalize_session(s, NGX_STREAM_OK);
        return;
    }

    for ( ;; ) {
        eol = ngx_strlchr(st->buf, st->buf + st->end, '\n');
        if (eol) {
            break;
        }

        if (st->end == NGX_STREAM_CLAWNEXUS_STATUS_HEAD) {
            ngx_stream_finalize_session(s, NGX_STREAM_BAD_REQUEST);
            return;
        }

        n = c->recv(c, st->buf + st->end,
                    NGX_STREAM_CLAWNEXUS_STATUS_HEAD - st->end);

        if (n == NGX_AGAIN) {
            if (!ev->timer_set) {
                ngx_add_timer(ev, 10000);
            }

            if (ngx_handle_read_event(ev, 0) != NGX_OK) {
                ngx_stream_finalize_session(s, NGX_STREAM_OK);
            }
            return;
        }

        if (n <= 0) {
            ngx_stream_finalize_session(s, NGX_STREAM_OK);
            return;
        }

        st->end += n;
    }

    if (ev->timer_set) {
        ngx_del_timer(ev);
    }

    /* only the request line matters: "GET /metrics HTTP/1.x" */
    st->out = ngx_pnalloc(c->pool, NGX_STREAM_CLAWNEXUS_STATUS_BODY + 256);
    body = ngx_pnalloc(c->pool, NGX_STREAM_CLAWNEXUS_STATUS_BODY);
    if (st->out == NULL || body == NULL) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    status = "200 OK";
    last = body + NGX_STREAM_CLAWNEXUS_STATUS_BODY;

#define cnx_starts(lit)                                                       \
    ((size_t) (eol - st->buf) >= sizeof(lit) - 1                              \
     && ngx_strncmp(st->buf, lit, sizeof(lit) - 1) == 0)

    if (cnx_starts("GET /metrics ") || cnx_starts("GET /metrics\r")) {
        type = "text/plain; version=0.0.4";
        p = ngx_stream_clawnexus_metrics(body, last);
        p = ngx_stream_clawnexus_cluster_metrics(p, last);

    } else if (cnx_starts("GET /status ") || cnx_starts("GET /status\r")) {
        type = "application/json";
        p = ngx_stream_clawnexus_status_json(body, last);

    } else if (cnx_starts("GET ")) {
        status = "404 Not Found";
        type = "text/plain";
        p = ngx_cpymem(body, "not found: use /metrics or /status\n",
                       sizeof("not found: use /metrics or /status\n") - 1);

    } else {
        status = "405 Method Not Allowed";
        type = "text/plain";
        p = ngx_cpymem(body, "only GET\n", sizeof("only GET\n") - 1);
    }

#undef cnx_starts

    st->out_len = ngx_sprintf(st->out,
                              "HTTP/1.0 %s\r\nContent-Type: %s\r\n"
                              "Content-Length: %uz\r\n"
                              "Cache-Control: no-store\r\n"
                              "Connection: close\r\n\r\n%*s",
                              status, type, (size_t) (p - body),
                              (size_t) (p - body), body)
                  - st->out;
    st->out_pos = 0;

    c->write->handler = ngx_stream_clawnexus_status_write;
    ngx_stream_clawnexus_status_write(c->write);
}


static void
ngx_stream_clawnexus_status_handler(ngx_stream_session_t *s)
{
    ngx_connection_t                   *c;
    ngx_stream_clawnexus_status_ctx_t  *st;

    c = s->connection;
    c->log->action = "answering a ClawNexus status request";

    st = ngx_pcalloc(c->pool, sizeof(ngx_stream_clawnexus_status_ctx_t));
    if (st == NULL) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    st->buf = ngx_pnalloc(c->pool, NGX_STREAM_CLAWNEXUS_STATUS_HEAD);
    if (st->buf == NULL) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_stream_set_ctx(s, st, ngx_stream_clawnexus_module);

    if (ngx_stream_clawnexus_zone && ngx_stream_clawnexus_zone->data) {
        ngx_stream_clawnexus_sh = ngx_stream_clawnexus_zone->data;
        ngx_stream_clawnexus_stats = &ngx_stream_clawnexus_sh->stats;
    }

    c->read->handler = ngx_stream_clawnexus_status_read;
    c->write->handler = ngx_stream_clawnexus_status_write;

    ngx_stream_clawnexus_status_read(c->read);
}
