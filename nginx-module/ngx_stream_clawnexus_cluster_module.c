
/*
 * ngx_stream_clawnexus_cluster_module: each worker's link to the Redis
 * that relay nodes share (docs/cluster.md).
 *
 * Per worker, three hiredis contexts on nginx's event loop
 * (ngx_stream_clawnexus_redis.c): "cmd" for commands, "pub" for PUBLISH
 * only, after CLIENT REPLY OFF (Redis writes no reply per PUBLISH, the
 * worker reads none), and "sub" subscribed to the worker's own channels
 * (RESP2 allows nothing else on a subscribed connection): one carries the
 * records of cnx_relay_rec.h for the worker's members, the other its
 * keepalive.  The link is ready when all are connected, authenticated,
 * the channels subscribed, replies turned off and the worker's route key
 * set.  Every second the route key is renewed (it
 * expires after 2.5 s, which is how other nodes learn that this worker is
 * gone) and a PING goes through Redis back to the keepalive channel,
 * measuring the round trip and proving that "pub" and "sub" work end to
 * end (a PUBLISH Redis refuses, with no reply, shows as a PING that does
 * not come back).
 * Any failure closes both contexts and a timer reconnects with growing,
 * jittered delays.
 * Nothing waits: the worker keeps serving while Redis is away.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_stream.h>

#include <sodium.h>
#include <time.h>

#include "cnx_cluster.h"
#include "ngx_clawnexus_secret.h"
#include "ngx_stream_clawnexus_redis.h"
#include "ngx_stream_clawnexus_cluster.h"


#define NGX_STREAM_CLAWNEXUS_CLUSTER_PREFIX     "cnx"
#define NGX_STREAM_CLAWNEXUS_CLUSTER_TICK       1000    /* ms */
#define NGX_STREAM_CLAWNEXUS_CLUSTER_ROUTE_TTL  "2500"  /* ms */
/* ticks between two steps of the sweep of dead names (SCAN of 200) */
#define NGX_STREAM_CLAWNEXUS_CLUSTER_SWEEP      5
#define NGX_STREAM_CLAWNEXUS_CLUSTER_CONNECT    2000    /* ms */
#define NGX_STREAM_CLAWNEXUS_CLUSTER_REPLY      2000    /* ms */
/* the largest record accepted from another node */
#define NGX_STREAM_CLAWNEXUS_CLUSTER_BODY_MAX   (16 * 1024 * 1024)
#define NGX_STREAM_CLAWNEXUS_CLUSTER_KEY_MAX    128
#define NGX_STREAM_CLAWNEXUS_KEY_LEN  NGX_STREAM_CLAWNEXUS_CLUSTER_KEY_MAX
/* bytes of records waiting for the socket to Redis before publishing
 * stops (the relay then holds the senders back) */
#define NGX_STREAM_CLAWNEXUS_CLUSTER_UNSENT_MAX (4 * 1024 * 1024)
/* records for one worker gathered into one PUBLISH up to this size, for
 * this many workers at a time */
#define NGX_STREAM_CLAWNEXUS_CLUSTER_BATCH      (64 * 1024)
#define NGX_STREAM_CLAWNEXUS_CLUSTER_BATCHES    16


typedef struct {
    ngx_str_t                           url;
    u_char                              ip[NGX_SOCKADDR_STRLEN + 1];
    ngx_uint_t                          port;
    ngx_str_t                           user;       /* ACL user, or empty */
    ngx_str_t                           password;   /* raw bytes */
    ngx_str_t                           password_file;
    ngx_shm_zone_t                     *zone;
    uint64_t                            node;       /* random, not 0 */
} ngx_stream_clawnexus_cluster_main_conf_t;


typedef struct {
    ngx_stream_clawnexus_link_stats_t  *slots;
} ngx_stream_clawnexus_cluster_shm_t;


/*
 * Records for one worker on another node, gathered for one PUBLISH (a
 * message of records, cnx_relay_rec_put()).
 */
typedef struct {
    cnx_relay_addr_t                    to;         /* conn 0 */
    cnx_relay_rec_msg_t                 msg;        /* of buf, once len > 0 */
    ngx_uint_t                          records;
    u_char                             *buf;
    size_t                              len;
    size_t                              cap;
} ngx_stream_clawnexus_batch_t;


/* One worker's link. */
typedef struct {
    ngx_stream_clawnexus_cluster_main_conf_t  *conf;
    ngx_uint_t                          state;
    ngx_uint_t                          attempt;    /* failures in a row */
    ngx_stream_clawnexus_redis_t        cmd;
    ngx_stream_clawnexus_redis_t        pub;
    ngx_stream_clawnexus_redis_t        sub;
    unsigned                            cmd_ready:1;
    unsigned                            pub_ready:1;
    unsigned                            sub_ready:1;
    unsigned                            exiting:1;
    ngx_event_t                         retry;
    ngx_event_t                         tick;
    uint64_t                            ping_sent;  /* us, 0 = none due */
    char                                route[CNX_CLUSTER_ROUTE_MAX + 1];
    size_t                              route_len;
    char                                prefix[24];     /* "NODE:" */
    uint32_t                            epoch;      /* links made */
    ngx_uint_t                          ticks;
    char                                sweep_cursor[24];   /* SCAN's */
    cnx_relay_addr_t                    addr;       /* conn 0 */
    char                                channel[NGX_STREAM_CLAWNEXUS_KEY_LEN];
    size_t                              channel_len;
    char                                ping[NGX_STREAM_CLAWNEXUS_KEY_LEN];
    size_t                              ping_len;
    ngx_uint_t                          subscribed; /* confirmations */
    char                                route_key[NGX_STREAM_CLAWNEXUS_KEY_LEN];
    size_t                              route_key_len;
    u_char                             *buf;        /* a record to publish */
    size_t                              buf_size;
    ngx_stream_clawnexus_batch_t       *batches;    /* [BATCHES] */
    ngx_uint_t                          nbatches;
    size_t                              batched;    /* bytes in them */
    size_t                              unsent;     /* bytes of PUBLISH
                                                       for the socket, as
                                                       of the last send or
                                                       write */
    ngx_event_t                         flush;
    ngx_stream_clawnexus_link_stats_t   local;      /* without a slot */
    ngx_stream_clawnexus_link_stats_t  *stats;
    ngx_stream_clawnexus_cluster_recv_pt    on_recv;
    ngx_stream_clawnexus_cluster_state_pt   on_state;
    ngx_stream_clawnexus_cluster_drain_pt   on_drain;
} ngx_stream_clawnexus_link_t;


/* A lookup or a liveness check waiting for its reply. */
typedef struct {
    ngx_stream_clawnexus_cluster_owner_pt   owner;
    ngx_stream_clawnexus_cluster_alive_pt   alive;
    void                                   *data;
    cnx_relay_addr_t                        addr;
} ngx_stream_clawnexus_ask_t;


/*
 * The owner of a name in Redis, "cnx:name:{ID}" = "ROUTE|SEQ|CONN"; SEQ
 * comes from one counter, so the order of REGISTERs is the order Redis
 * saw them in, and the newest wins.  KEYS[1] the name, ARGV[1] the route,
 * ARGV[2] the connection, ARGV[3] empty, or this node's route prefix
 * ("NODE:") to keep a live owner on another node (a name announced again
 * after the link came back).  Returns {previous owner or "", 1 if the
 * previous owner's route is alive}; with ARGV[3] set and a live owner on
 * another node, changes nothing and returns {owner, 2}.
 */
static const char  ngx_stream_clawnexus_claim_lua[] =
    "local prev = redis.call('GET', KEYS[1]) or ''\n"
    "local alive = 0\n"
    "local r = string.match(prev, '^([^|]+)|')\n"
    "if r and redis.call('EXISTS', 'cnx:route:{' .. r .. '}') == 1 then\n"
    "  alive = 1\n"
    "end\n"
    "if ARGV[3] ~= '' and alive == 1\n"
    "   and string.sub(prev, 1, #ARGV[3]) ~= ARGV[3]\n"
    "then\n"
    "  return {prev, 2}\n"
    "end\n"
    "local seq = redis.call('INCR', 'cnx:regseq')\n"
    "redis.call('SET', KEYS[1], ARGV[1] .. '|' .. seq .. '|' .. ARGV[2])\n"
    "return {prev, alive}\n";

/* The owner of a name whose route is alive, or nil (a dead one goes). */
static const char  ngx_stream_clawnexus_owner_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if not v then return false end\n"
    "local r = string.match(v, '^([^|]+)|')\n"
    "if r and redis.call('EXISTS', 'cnx:route:{' .. r .. '}') == 1 then\n"
    "  return v\n"
    "end\n"
    "redis.call('DEL', KEYS[1])\n"
    "return false\n";

/*
 * One step of the sweep of names whose owner's route expired (a node that
 * died without closing its sockets): ARGV[1] the SCAN cursor.  Returns
 * {next cursor, names deleted}.
 */
static const char  ngx_stream_clawnexus_sweep_lua[] =
    "local s = redis.call('SCAN', ARGV[1], 'MATCH', 'cnx:name:*',"
    " 'COUNT', 200)\n"
    "local n = 0\n"
    "for _, k in ipairs(s[2]) do\n"
    "  local v = redis.call('GET', k)\n"
    "  local r = v and string.match(v, '^([^|]+)|')\n"
    "  if r and redis.call('EXISTS', 'cnx:route:{' .. r .. '}') == 0 then\n"
    "    redis.call('DEL', k)\n"
    "    n = n + 1\n"
    "  end\n"
    "end\n"
    "return {s[1], n}\n";

/* Delete the name only if this connection still owns it. */
static const char  ngx_stream_clawnexus_release_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v then\n"
    "  local r, c = string.match(v, '^([^|]+)|%d+|(%d+)$')\n"
    "  if r == ARGV[1] and c == ARGV[2] then\n"
    "    redis.call('DEL', KEYS[1])\n"
    "  end\n"
    "end\n"
    "return 0\n";


/* A claim waiting for its reply. */
typedef struct {
    uint64_t                            conn;
    size_t                              len;
    u_char                              name[1];
} ngx_stream_clawnexus_claim_t;


static void *ngx_stream_clawnexus_cluster_create_main_conf(ngx_conf_t *cf);
static char *ngx_stream_clawnexus_cluster(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_stream_clawnexus_cluster_password_file(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_stream_clawnexus_cluster_init_zone(
    ngx_shm_zone_t *shm_zone, void *data);
static ngx_int_t ngx_stream_clawnexus_cluster_init_process(
    ngx_cycle_t *cycle);
static void ngx_stream_clawnexus_cluster_exit_process(ngx_cycle_t *cycle);

static void ngx_stream_clawnexus_link_connect(
    ngx_stream_clawnexus_link_t *lk);
static void ngx_stream_clawnexus_link_fail(ngx_stream_clawnexus_link_t *lk,
    const char *what, const char *reason);
static void ngx_stream_clawnexus_link_connected(
    ngx_stream_clawnexus_redis_t *rd, ngx_int_t ok);
static void ngx_stream_clawnexus_link_closed(ngx_stream_clawnexus_redis_t *rd,
    const char *reason);
static void ngx_stream_clawnexus_link_written(
    ngx_stream_clawnexus_redis_t *rd);
static void ngx_stream_clawnexus_link_auth_done(
    ngx_stream_clawnexus_redis_t *rd, redisReply *reply, void *data);
static void ngx_stream_clawnexus_link_step(ngx_stream_clawnexus_redis_t *rd);
static void ngx_stream_clawnexus_link_ready(ngx_stream_clawnexus_link_t *lk);
static void ngx_stream_clawnexus_link_route_done(
    ngx_stream_clawnexus_redis_t *rd, redisReply *reply, void *data);
static void ngx_stream_clawnexus_link_message(
    ngx_stream_clawnexus_redis_t *rd, redisReply *reply, void *data);
static void ngx_stream_clawnexus_link_quiet_done(
    ngx_stream_clawnexus_redis_t *rd, redisReply *reply, void *data);
static ngx_int_t ngx_stream_clawnexus_link_send(
    ngx_stream_clawnexus_link_t *lk, const char *channel, size_t channel_len,
    const u_char *p, size_t n);
static void ngx_stream_clawnexus_link_set_state(
    ngx_stream_clawnexus_link_t *lk, ngx_uint_t state);
static void ngx_stream_clawnexus_link_ping(ngx_stream_clawnexus_link_t *lk,
    uint64_t now);
static void ngx_stream_clawnexus_link_retry_handler(ngx_event_t *ev);
static void ngx_stream_clawnexus_link_tick_handler(ngx_event_t *ev);
static void ngx_stream_clawnexus_link_sweep(ngx_stream_clawnexus_link_t *lk);
static void ngx_stream_clawnexus_batch_flush_all(ngx_event_t *ev);
static void ngx_stream_clawnexus_batch_drop(ngx_stream_clawnexus_link_t *lk,
    ngx_uint_t all);
static ngx_int_t ngx_stream_clawnexus_link_set_route(
    ngx_stream_clawnexus_link_t *lk);
static uint64_t ngx_stream_clawnexus_link_now_us(void);


static ngx_command_t  ngx_stream_clawnexus_cluster_commands[] = {

    { ngx_string("clawnexus_cluster"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_stream_clawnexus_cluster,
      NGX_STREAM_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("clawnexus_cluster_password_file"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_stream_clawnexus_cluster_password_file,
      NGX_STREAM_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_stream_module_t  ngx_stream_clawnexus_cluster_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_stream_clawnexus_cluster_create_main_conf, /* create main conf */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL                                   /* merge server configuration */
};


ngx_module_t  ngx_stream_clawnexus_cluster_module = {
    NGX_MODULE_V1,
    &ngx_stream_clawnexus_cluster_module_ctx, /* module context */
    ngx_stream_clawnexus_cluster_commands, /* module directives */
    NGX_STREAM_MODULE,                     /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_stream_clawnexus_cluster_init_process, /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_stream_clawnexus_cluster_exit_process, /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_stream_clawnexus_link_t  ngx_stream_clawnexus_link;


static void *
ngx_stream_clawnexus_cluster_create_main_conf(ngx_conf_t *cf)
{
    ngx_stream_clawnexus_cluster_main_conf_t  *cmcf;

    cmcf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_stream_clawnexus_cluster_main_conf_t));
    if (cmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     cmcf->url = { 0, NULL };
     *     cmcf->user = { 0, NULL };
     *     cmcf->password = { 0, NULL };
     *     cmcf->zone = NULL;
     */

    return cmcf;
}


/* clawnexus_cluster redis://[USER@]HOST[:PORT]; */
static char *
ngx_stream_clawnexus_cluster(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_stream_clawnexus_cluster_main_conf_t  *cmcf = conf;

    u_char      *at, *p;
    size_t       len;
    ngx_str_t   *value, name;
    ngx_url_t    u;

    if (cmcf->url.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len <= sizeof("redis://") - 1
        || ngx_strncasecmp(value[1].data, (u_char *) "redis://",
                           sizeof("redis://") - 1) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid Redis address \"%V\" in "
                           "\"clawnexus_cluster\": use redis://HOST:PORT "
                           "(rediss:// is not supported: see "
                           "docs/cluster.md for TLS)", &value[1]);
        return NGX_CONF_ERROR;
    }

    p = value[1].data + sizeof("redis://") - 1;
    len = value[1].len - (sizeof("redis://") - 1);

    at = ngx_strlchr(p, p + len, '@');
    if (at) {
        cmcf->user.data = p;
        cmcf->user.len = at - p;
        len -= at + 1 - p;
        p = at + 1;

        if (cmcf->user.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "empty user name in \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    if (len && p[len - 1] == '/') {
        len--;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url.data = p;
    u.url.len = len;
    u.default_port = 6379;
    u.no_resolve = 0;

    /* a name is resolved now, once: the workers never ask DNS */
    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid Redis address \"%V\" in "
                           "\"clawnexus_cluster\"%s%s", &value[1],
                           u.err ? ": " : "", u.err ? u.err : "");
        return NGX_CONF_ERROR;
    }

    if (u.family != AF_INET && u.family != AF_INET6 && u.family != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"clawnexus_cluster\" needs a TCP address, "
                           "not \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen, cmcf->ip,
                        NGX_SOCKADDR_STRLEN, 0);
    cmcf->ip[len] = '\0';

    /* ngx_sock_ntop() brackets nothing without a port; hiredis takes the
     * bare address */
    cmcf->port = ngx_inet_get_port(u.addrs[0].sockaddr);
    cmcf->url = value[1];

    /* this configuration's node id; a reload makes a new one */
    do {
        randombytes_buf(&cmcf->node, sizeof(cmcf->node));
    } while (cmcf->node == 0);

    ngx_str_set(&name, "clawnexus_cluster");

    cmcf->zone = ngx_shared_memory_add(cf, &name,
                                       8 * ngx_pagesize,
                                       &ngx_stream_clawnexus_cluster_module);
    if (cmcf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    cmcf->zone->init = ngx_stream_clawnexus_cluster_init_zone;
    cmcf->zone->data = cmcf;

    return NGX_CONF_OK;
}


static char *
ngx_stream_clawnexus_cluster_password_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_stream_clawnexus_cluster_main_conf_t  *cmcf = conf;

    ngx_str_t  *value;

    if (cmcf->password.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    cmcf->password_file = value[1];

    return ngx_clawnexus_read_secret_file(cf, &cmcf->password_file,
                                          "Redis password", 0,
                                          &cmcf->password);
}


static ngx_int_t
ngx_stream_clawnexus_cluster_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_stream_clawnexus_cluster_shm_t  *old = data;

    ngx_slab_pool_t                     *shpool;
    ngx_stream_clawnexus_cluster_shm_t  *sh;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (old) {
        shm_zone->data = old;
        return NGX_OK;
    }

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_calloc(shpool, sizeof(ngx_stream_clawnexus_cluster_shm_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    sh->slots = ngx_slab_calloc(shpool,
                                sizeof(ngx_stream_clawnexus_link_stats_t)
                                * NGX_STREAM_CLAWNEXUS_LINK_SLOTS);
    if (sh->slots == NULL) {
        return NGX_ERROR;
    }

    shpool->data = sh;
    shm_zone->data = sh;

    return NGX_OK;
}


static ngx_int_t
ngx_stream_clawnexus_cluster_init_process(ngx_cycle_t *cycle)
{
    ngx_stream_clawnexus_link_t               *lk = &ngx_stream_clawnexus_link;
    ngx_stream_clawnexus_cluster_shm_t        *sh;
    ngx_stream_clawnexus_cluster_recv_pt       recv;
    ngx_stream_clawnexus_cluster_state_pt      state;
    ngx_stream_clawnexus_cluster_drain_pt      drain;
    ngx_stream_clawnexus_cluster_main_conf_t  *cmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    cmcf = ngx_stream_cycle_get_module_main_conf(cycle,
                                         ngx_stream_clawnexus_cluster_module);

    if (cmcf == NULL || cmcf->url.data == NULL) {
        return NGX_OK;
    }

    /* the relay's handlers may be set already (its module starts first) */
    recv = lk->on_recv;
    state = lk->on_state;
    drain = lk->on_drain;

    ngx_memzero(lk, sizeof(ngx_stream_clawnexus_link_t));
    lk->on_recv = recv;
    lk->on_state = state;
    lk->on_drain = drain;
    lk->conf = cmcf;
    lk->stats = &lk->local;

    sh = cmcf->zone->data;

    if (sh && ngx_worker < NGX_STREAM_CLAWNEXUS_LINK_SLOTS) {
        lk->stats = &sh->slots[ngx_worker];
        ngx_memzero(lk->stats, sizeof(ngx_stream_clawnexus_link_stats_t));
    }

    lk->stats->pid = ngx_pid;

    if (ngx_stream_clawnexus_link_set_route(lk) != NGX_OK) {
        return NGX_ERROR;
    }

    lk->retry.handler = ngx_stream_clawnexus_link_retry_handler;
    lk->retry.data = lk;
    lk->retry.log = cycle->log;
    lk->retry.cancelable = 1;

    lk->batches = ngx_calloc(NGX_STREAM_CLAWNEXUS_CLUSTER_BATCHES
                             * sizeof(ngx_stream_clawnexus_batch_t),
                             cycle->log);
    if (lk->batches == NULL) {
        return NGX_ERROR;
    }

    lk->flush.handler = ngx_stream_clawnexus_batch_flush_all;
    lk->flush.data = lk;
    lk->flush.log = cycle->log;

    lk->tick.handler = ngx_stream_clawnexus_link_tick_handler;
    lk->tick.data = lk;
    lk->tick.log = cycle->log;
    lk->tick.cancelable = 1;

    lk->cmd.name = "clawnexus cluster";
    lk->pub.name = "clawnexus cluster";
    lk->sub.name = "clawnexus cluster";

    ngx_log_error(NGX_LOG_INFO, cycle->log, 0,
                  "clawnexus cluster: worker route %s, Redis at %V",
                  lk->route, &cmcf->url);

    /* no connect in init_process: the first try comes from the loop */
    ngx_stream_clawnexus_link_set_state(lk, NGX_STREAM_CLAWNEXUS_LINK_DOWN);
    ngx_add_timer(&lk->retry, 1);

    return NGX_OK;
}


static void
ngx_stream_clawnexus_cluster_exit_process(ngx_cycle_t *cycle)
{
    ngx_stream_clawnexus_link_t  *lk = &ngx_stream_clawnexus_link;

    if (lk->conf == NULL) {
        return;
    }

    lk->exiting = 1;
    /* the slot may belong to this worker's successor after a reload */
    lk->stats = &lk->local;
    ngx_stream_clawnexus_link_set_state(lk, NGX_STREAM_CLAWNEXUS_LINK_OFF);

    if (lk->retry.timer_set) {
        ngx_del_timer(&lk->retry);
    }

    if (lk->tick.timer_set) {
        ngx_del_timer(&lk->tick);
    }

    /* the route key expires by itself; no worker waits at exit */
    ngx_stream_clawnexus_redis_close(&lk->cmd, "worker is exiting");
    ngx_stream_clawnexus_redis_close(&lk->pub, "worker is exiting");
    ngx_stream_clawnexus_redis_close(&lk->sub, "worker is exiting");
    ngx_stream_clawnexus_redis_cleanup(&lk->cmd);
    ngx_stream_clawnexus_redis_cleanup(&lk->pub);
    ngx_stream_clawnexus_redis_cleanup(&lk->sub);

    if (lk->buf) {
        ngx_free(lk->buf);
        lk->buf = NULL;
    }

    if (lk->batches) {
        ngx_stream_clawnexus_batch_drop(lk, 1);
        ngx_free(lk->batches);
        lk->batches = NULL;
    }
}


static ngx_int_t
ngx_stream_clawnexus_link_set_route(ngx_stream_clawnexus_link_t *lk)
{
    long  n;

    lk->addr.node = lk->conf->node;
    lk->addr.gen = lk->epoch;
    lk->addr.worker = (int32_t) ngx_worker;
    lk->addr.pid = (int32_t) ngx_pid;
    lk->addr.conn = 0;

    lk->route_len = cnx_cluster_route(lk->route, &lk->addr);

    /* "<node: 16 hex>:" names every route of this node */
    ngx_memcpy(lk->prefix, lk->route, 17);
    lk->prefix[17] = '\0';

    n = cnx_cluster_key(lk->channel, sizeof(lk->channel),
                        NGX_STREAM_CLAWNEXUS_CLUSTER_PREFIX, "w", lk->route,
                        lk->route_len);
    if (n < 0) {
        return NGX_ERROR;
    }

    lk->channel_len = n;

    n = cnx_cluster_key(lk->ping, sizeof(lk->ping),
                        NGX_STREAM_CLAWNEXUS_CLUSTER_PREFIX, "ping",
                        lk->route, lk->route_len);
    if (n < 0) {
        return NGX_ERROR;
    }

    lk->ping_len = n;

    n = cnx_cluster_key(lk->route_key, sizeof(lk->route_key),
                        NGX_STREAM_CLAWNEXUS_CLUSTER_PREFIX, "route",
                        lk->route, lk->route_len);
    if (n < 0) {
        return NGX_ERROR;
    }

    lk->route_key_len = n;

    return NGX_OK;
}


static void
ngx_stream_clawnexus_link_set_state(ngx_stream_clawnexus_link_t *lk,
    ngx_uint_t state)
{
    ngx_uint_t  was = lk->state;

    lk->state = state;
    lk->stats->state = state;

    if (lk->on_state == NULL || lk->exiting) {
        return;
    }

    if (state == NGX_STREAM_CLAWNEXUS_LINK_READY) {
        lk->on_state(1);

    } else if (was == NGX_STREAM_CLAWNEXUS_LINK_READY) {
        lk->on_state(0);
    }
}


static void
ngx_stream_clawnexus_link_connect(ngx_stream_clawnexus_link_t *lk)
{
    ngx_stream_clawnexus_redis_t  *rd;
    ngx_stream_clawnexus_redis_t  *all[3];
    ngx_uint_t                     i;

    ngx_stream_clawnexus_link_set_state(lk,
                                        NGX_STREAM_CLAWNEXUS_LINK_CONNECTING);

    /*
     * Each link has a route of its own: members of other nodes in rooms
     * with this worker's members learn that the rooms ended (the link
     * went down) when the previous route's key expires, even if the link
     * is back by then.
     */
    lk->epoch++;

    if (ngx_stream_clawnexus_link_set_route(lk) != NGX_OK) {
        ngx_stream_clawnexus_link_fail(lk, "", "route too long");
        return;
    }

    lk->cmd_ready = 0;
    lk->pub_ready = 0;
    lk->sub_ready = 0;
    lk->subscribed = 0;
    lk->ping_sent = 0;

    all[0] = &lk->cmd;
    all[1] = &lk->pub;
    all[2] = &lk->sub;

    for (i = 0; i < 3; i++) {
        rd = all[i];
        rd->log = ngx_cycle->log;
        rd->data = lk;
        rd->on_connect = ngx_stream_clawnexus_link_connected;
        rd->on_closed = ngx_stream_clawnexus_link_closed;
        rd->on_written = ngx_stream_clawnexus_link_written;
        rd->connect_timeout = NGX_STREAM_CLAWNEXUS_CLUSTER_CONNECT;
        rd->reply_timeout = NGX_STREAM_CLAWNEXUS_CLUSTER_REPLY;

        if (ngx_stream_clawnexus_redis_connect(rd, (char *) lk->conf->ip,
                                               (int) lk->conf->port)
            != NGX_OK)
        {
            ngx_stream_clawnexus_link_fail(lk, "", rd->err);
            return;
        }

        if (lk->state != NGX_STREAM_CLAWNEXUS_LINK_CONNECTING) {
            /* it failed at once */
            return;
        }
    }
}


/*
 * The link is down: close both contexts, tell the relay, try again later.
 * Called again by the contexts' close handlers, which then do nothing.
 */
static void
ngx_stream_clawnexus_link_fail(ngx_stream_clawnexus_link_t *lk,
    const char *what, const char *reason)
{
    unsigned  delay;

    if (lk->state == NGX_STREAM_CLAWNEXUS_LINK_DOWN
        || lk->state == NGX_STREAM_CLAWNEXUS_LINK_OFF)
    {
        return;
    }

    if (lk->state == NGX_STREAM_CLAWNEXUS_LINK_READY) {
        lk->attempt = 0;
    }

    delay = cnx_cluster_backoff(lk->attempt, randombytes_random());

    if (lk->attempt < 64) {
        lk->attempt++;
    }

    /* one line per attempt: the backoff bounds how often it is written */
    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "clawnexus cluster: %s Redis at %V: %s%s; "
                  "next try in %ud ms",
                  lk->state == NGX_STREAM_CLAWNEXUS_LINK_READY
                      ? "lost the link to" : "cannot link to",
                  &lk->conf->url, what ? what : "", reason, delay);

    ngx_atomic_fetch_add(&lk->stats->failures, 1);
    ngx_stream_clawnexus_batch_drop(lk, 0);
    lk->unsent = 0;
    ngx_stream_clawnexus_link_set_state(lk, NGX_STREAM_CLAWNEXUS_LINK_DOWN);

    if (lk->tick.timer_set) {
        ngx_del_timer(&lk->tick);
    }

    ngx_stream_clawnexus_redis_close(&lk->cmd, "link down");
    ngx_stream_clawnexus_redis_close(&lk->pub, "link down");
    ngx_stream_clawnexus_redis_close(&lk->sub, "link down");

    if (!lk->exiting) {
        ngx_add_timer(&lk->retry, delay);
    }
}


static void
ngx_stream_clawnexus_link_retry_handler(ngx_event_t *ev)
{
    ngx_stream_clawnexus_link_t  *lk = ev->data;

    if (lk->exiting || ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (lk->cmd.ac || lk->pub.ac || lk->sub.ac) {
        /* the previous contexts are still being freed: wait a little */
        ngx_add_timer(&lk->retry, 10);
        return;
    }

    ngx_stream_clawnexus_link_connect(lk);
}


static void
ngx_stream_clawnexus_link_closed(ngx_stream_clawnexus_redis_t *rd,
    const char *reason)
{
    ngx_stream_clawnexus_link_t  *lk = rd->data;

    ngx_stream_clawnexus_link_fail(lk,
                                   rd == &lk->cmd ? ""
                                   : rd == &lk->pub ? "publisher: "
                                   : "subscriber: ",
                                   reason);
}


static void
ngx_stream_clawnexus_link_connected(ngx_stream_clawnexus_redis_t *rd,
    ngx_int_t ok)
{
    const char                   *argv[3];
    size_t                        argvlen[3];
    int                           argc;
    ngx_stream_clawnexus_link_t  *lk = rd->data;

    if (lk->conf->password.len == 0) {
        ngx_stream_clawnexus_link_step(rd);
        return;
    }

    argc = 0;
    argv[argc] = "AUTH";
    argvlen[argc++] = 4;

    if (lk->conf->user.len) {
        argv[argc] = (const char *) lk->conf->user.data;
        argvlen[argc++] = lk->conf->user.len;
    }

    argv[argc] = (const char *) lk->conf->password.data;
    argvlen[argc++] = lk->conf->password.len;

    if (ngx_stream_clawnexus_redis_command(rd,
                                       ngx_stream_clawnexus_link_auth_done,
                                       lk, argc, argv, argvlen)
        != NGX_OK)
    {
        ngx_stream_clawnexus_link_fail(lk, "AUTH: ", "cannot send");
    }

    /* hiredis formatted the command into its buffer: the password stays
     * there until written, then the buffer is released */
}


static void
ngx_stream_clawnexus_link_auth_done(ngx_stream_clawnexus_redis_t *rd,
    redisReply *reply, void *data)
{
    ngx_stream_clawnexus_link_t  *lk = data;

    if (reply == NULL) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        /* never log what was sent, only what Redis said */
        ngx_stream_clawnexus_link_fail(lk, "AUTH refused: ", reply->str);
        return;
    }

    ngx_stream_clawnexus_link_step(rd);
}


/*
 * After AUTH: the subscriber subscribes, the publisher turns replies off,
 * the command side sets the route.
 */
static void
ngx_stream_clawnexus_link_step(ngx_stream_clawnexus_redis_t *rd)
{
    const char                   *argv[5];
    size_t                        argvlen[5];
    ngx_stream_clawnexus_link_t  *lk = rd->data;

    if (rd == &lk->pub) {
        argv[0] = "CLIENT";
        argvlen[0] = 6;
        argv[1] = "REPLY";
        argvlen[1] = 5;
        argv[2] = "OFF";
        argvlen[2] = 3;

        if (ngx_stream_clawnexus_redis_quiet(rd,
                                       ngx_stream_clawnexus_link_quiet_done,
                                       lk, 3, argv, argvlen)
            != NGX_OK)
        {
            ngx_stream_clawnexus_link_fail(lk, "CLIENT REPLY: ",
                                           "cannot send");
            return;
        }

        /* no answer comes: the PUBLISHes follow it on the connection, and
         * a refusal takes the link down (quiet_done) */
        lk->pub_ready = 1;
        ngx_stream_clawnexus_link_ready(lk);
        return;
    }

    if (rd == &lk->sub) {
        if (ngx_stream_clawnexus_redis_subscribe(rd,
                                        ngx_stream_clawnexus_link_message, lk,
                                        lk->channel, lk->channel_len)
            != NGX_OK
            || ngx_stream_clawnexus_redis_subscribe(rd,
                                        ngx_stream_clawnexus_link_message, lk,
                                        lk->ping, lk->ping_len)
               != NGX_OK)
        {
            ngx_stream_clawnexus_link_fail(lk, "SUBSCRIBE: ", "cannot send");
        }

        return;
    }

    argv[0] = "SET";
    argvlen[0] = 3;
    argv[1] = lk->route_key;
    argvlen[1] = lk->route_key_len;
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = "PX";
    argvlen[3] = 2;
    argv[4] = NGX_STREAM_CLAWNEXUS_CLUSTER_ROUTE_TTL;
    argvlen[4] = sizeof(NGX_STREAM_CLAWNEXUS_CLUSTER_ROUTE_TTL) - 1;

    if (ngx_stream_clawnexus_redis_command(rd,
                                       ngx_stream_clawnexus_link_route_done,
                                       lk, 5, argv, argvlen)
        != NGX_OK)
    {
        ngx_stream_clawnexus_link_fail(lk, "SET: ", "cannot send");
    }
}


static void
ngx_stream_clawnexus_link_ready(ngx_stream_clawnexus_link_t *lk)
{
    if (!lk->cmd_ready || !lk->pub_ready || !lk->sub_ready
        || lk->state != NGX_STREAM_CLAWNEXUS_LINK_CONNECTING)
    {
        return;
    }

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "clawnexus cluster: linked to Redis at %V as %s",
                  &lk->conf->url, lk->route);

    lk->attempt = 0;
    ngx_atomic_fetch_add(&lk->stats->ups, 1);
    ngx_add_timer(&lk->tick, NGX_STREAM_CLAWNEXUS_CLUSTER_TICK);
    ngx_stream_clawnexus_link_set_state(lk, NGX_STREAM_CLAWNEXUS_LINK_READY);
}


static void
ngx_stream_clawnexus_link_route_done(ngx_stream_clawnexus_redis_t *rd,
    redisReply *reply, void *data)
{
    ngx_stream_clawnexus_link_t  *lk = data;

    if (reply == NULL) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_stream_clawnexus_link_fail(lk, "SET route: ", reply->str);
        return;
    }

    if (!lk->cmd_ready) {
        lk->cmd_ready = 1;
        ngx_stream_clawnexus_link_ready(lk);
    }
}


static void
ngx_stream_clawnexus_link_message(ngx_stream_clawnexus_redis_t *rd,
    redisReply *reply, void *data)
{
    long                          n;
    off_t                         sent;
    size_t                        off;
    uint64_t                      now;
    ngx_uint_t                    count;
    redisReply                   *kind, *chan, *body;
    const uint8_t                *p;
    cnx_relay_rec_t               rec;
    cnx_relay_rec_msg_t           msg;
    ngx_stream_clawnexus_link_t  *lk = data;

    if (reply == NULL) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_stream_clawnexus_link_fail(lk, "SUBSCRIBE: ", reply->str);
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[1]->type != REDIS_REPLY_STRING)
    {
        ngx_stream_clawnexus_link_fail(lk, "subscriber: ",
                                       "unexpected reply");
        return;
    }

    kind = reply->element[0];
    chan = reply->element[1];
    body = reply->element[2];

    if (kind->len == sizeof("subscribe") - 1
        && ngx_strncmp(kind->str, "subscribe", kind->len) == 0)
    {
        if (++lk->subscribed == 2) {
            lk->sub_ready = 1;
            ngx_stream_clawnexus_link_ready(lk);
        }

        return;
    }

    if (kind->len != sizeof("message") - 1
        || ngx_strncmp(kind->str, "message", kind->len) != 0
        || body->type != REDIS_REPLY_STRING)
    {
        return;
    }

    if (chan->len == lk->ping_len
        && ngx_memcmp(chan->str, lk->ping, lk->ping_len) == 0)
    {
        /* our own PING: its send time in microseconds */
        sent = ngx_atoof((u_char *) body->str, body->len);

        if (sent > 0 && (uint64_t) sent == lk->ping_sent) {
            now = ngx_stream_clawnexus_link_now_us();
            lk->stats->rtt_us = now > lk->ping_sent ? now - lk->ping_sent
                                                    : 0;
            lk->ping_sent = 0;
        }

        return;
    }

    ngx_atomic_fetch_add(&lk->stats->bytes_in, body->len);

    /* one or more records, each self-delimiting (cnx_relay_rec_next()) */
    p = (const uint8_t *) body->str;
    off = 0;
    count = 0;
    ngx_memzero(&msg, sizeof(cnx_relay_rec_msg_t));

    while (off < body->len) {
        n = cnx_relay_rec_next(&msg, p + off, body->len - off,
                               NGX_STREAM_CLAWNEXUS_CLUSTER_BODY_MAX, &rec);

        if (n <= 0 || rec.dst.node != lk->addr.node) {
            ngx_atomic_fetch_add(&lk->stats->dropped, 1);
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "clawnexus cluster: dropped %uz bytes that are "
                          "not a record for this worker",
                          body->len - off);
            break;
        }

        off += n;
        count++;

        /* for the relay core, node 0 is this node */
        rec.dst.node = 0;

        if (lk->on_recv) {
            lk->on_recv(&rec);
        }
    }

    ngx_atomic_fetch_add(&lk->stats->records_in, count);
}


static void
ngx_stream_clawnexus_link_ping(ngx_stream_clawnexus_link_t *lk, uint64_t now)
{
    u_char  buf[NGX_INT64_LEN];

    if (ngx_stream_clawnexus_link_send(lk, lk->ping, lk->ping_len, buf,
                                       ngx_sprintf(buf, "%uL", now) - buf)
        == NGX_OK)
    {
        lk->ping_sent = now;
    }
}


static void
ngx_stream_clawnexus_link_tick_handler(ngx_event_t *ev)
{
    uint64_t                      now;
    ngx_stream_clawnexus_link_t  *lk = ev->data;

    if (lk->state != NGX_STREAM_CLAWNEXUS_LINK_READY) {
        return;
    }

    now = ngx_stream_clawnexus_link_now_us();

    if (lk->ping_sent
        && now - lk->ping_sent
           >= (uint64_t) NGX_STREAM_CLAWNEXUS_CLUSTER_REPLY * 1000)
    {
        ngx_stream_clawnexus_link_fail(lk, "subscriber: ",
                                       "PING did not come back in time");
        return;
    }

    /* renew the route before it expires (reply checked by the timeout) */
    ngx_stream_clawnexus_link_step(&lk->cmd);

    if (lk->state != NGX_STREAM_CLAWNEXUS_LINK_READY) {
        return;
    }

    if (lk->ping_sent == 0) {
        ngx_stream_clawnexus_link_ping(lk, now ? now : 1);
    }

    /* worker 0 of every node sweeps dead names, one step every few ticks */
    if (ngx_worker == 0 && lk->state == NGX_STREAM_CLAWNEXUS_LINK_READY
        && ++lk->ticks % NGX_STREAM_CLAWNEXUS_CLUSTER_SWEEP == 0)
    {
        ngx_stream_clawnexus_link_sweep(lk);
    }

    if (lk->state == NGX_STREAM_CLAWNEXUS_LINK_READY) {
        ngx_add_timer(&lk->tick, NGX_STREAM_CLAWNEXUS_CLUSTER_TICK);
    }
}


static void
ngx_stream_clawnexus_link_swept(ngx_stream_clawnexus_redis_t *rd,
    redisReply *reply, void *data)
{
    ngx_stream_clawnexus_link_t  *lk = rd->data;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[0]->len >= sizeof(lk->sweep_cursor)
        || reply->element[1]->type != REDIS_REPLY_INTEGER)
    {
        if (reply && reply->type == REDIS_REPLY_ERROR) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "clawnexus cluster: sweeping names in Redis "
                          "failed: %s", reply->str);
        }

        ngx_memcpy(lk->sweep_cursor, "0", 2);
        return;
    }

    ngx_memcpy(lk->sweep_cursor, reply->element[0]->str,
               reply->element[0]->len);
    lk->sweep_cursor[reply->element[0]->len] = '\0';

    if (reply->element[1]->integer > 0) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "clawnexus cluster: %L name%s of dead workers "
                      "removed from Redis", reply->element[1]->integer,
                      reply->element[1]->integer == 1 ? "" : "s");
    }
}


static void
ngx_stream_clawnexus_link_sweep(ngx_stream_clawnexus_link_t *lk)
{
    const char  *argv[4];
    size_t       argvlen[4];

    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = ngx_stream_clawnexus_sweep_lua;
    argvlen[1] = sizeof(ngx_stream_clawnexus_sweep_lua) - 1;
    argv[2] = "0";
    argvlen[2] = 1;
    argv[3] = lk->sweep_cursor[0] ? lk->sweep_cursor : "0";
    argvlen[3] = ngx_strlen(argv[3]);

    (void) ngx_stream_clawnexus_redis_command(&lk->cmd,
                                          ngx_stream_clawnexus_link_swept,
                                          NULL, 4, argv, argvlen);
}


/* A reply on the publisher after CLIENT REPLY OFF: it was refused. */
static void
ngx_stream_clawnexus_link_quiet_done(ngx_stream_clawnexus_redis_t *rd,
    redisReply *reply, void *data)
{
    ngx_stream_clawnexus_link_t  *lk = data;

    if (reply == NULL) {
        return;
    }

    ngx_stream_clawnexus_link_fail(lk, "CLIENT REPLY OFF: ",
                                   reply->type == REDIS_REPLY_ERROR
                                   ? reply->str : "unexpected reply");
}


static uint64_t
ngx_stream_clawnexus_link_now_us(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}


ngx_uint_t
ngx_stream_clawnexus_cluster_state(void)
{
    return ngx_stream_clawnexus_link.state;
}


const cnx_relay_addr_t *
ngx_stream_clawnexus_cluster_addr(void)
{
    return &ngx_stream_clawnexus_link.addr;
}


/*
 * PUBLISH p[0..n) on channel through the publisher: hiredis formats it
 * (one copy), and the formatted command is written as it is.
 */
static ngx_int_t
ngx_stream_clawnexus_link_send(ngx_stream_clawnexus_link_t *lk,
    const char *channel, size_t channel_len, const u_char *p, size_t n)
{
    sds          cmd;
    const char  *argv[3];
    size_t       argvlen[3];

    argv[0] = "PUBLISH";
    argvlen[0] = 7;
    argv[1] = channel;
    argvlen[1] = channel_len;
    argv[2] = (const char *) p;
    argvlen[2] = n;

    cmd = NULL;

    if (redisFormatSdsCommandArgv(&cmd, 3, argv, argvlen) < 0
        || ngx_stream_clawnexus_redis_send(&lk->pub, cmd) != NGX_OK)
    {
        return NGX_ERROR;
    }

    lk->unsent = ngx_stream_clawnexus_redis_unsent(&lk->pub);

    return NGX_OK;
}


/* PUBLISH p[0..n) on the channel of the worker at a. */
static ngx_int_t
ngx_stream_clawnexus_link_publish(ngx_stream_clawnexus_link_t *lk,
    const cnx_relay_addr_t *a, const u_char *p, size_t n)
{
    long  len;
    char  route[CNX_CLUSTER_ROUTE_MAX + 1];
    char  channel[NGX_STREAM_CLAWNEXUS_CLUSTER_KEY_MAX];

    len = cnx_cluster_route(route, a);

    len = cnx_cluster_key(channel, sizeof(channel),
                          NGX_STREAM_CLAWNEXUS_CLUSTER_PREFIX, "w", route,
                          len);
    if (len < 0
        || ngx_stream_clawnexus_link_send(lk, channel, len, p, n) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_atomic_fetch_add(&lk->stats->bytes_out, n);

    return NGX_OK;
}


static ngx_int_t
ngx_stream_clawnexus_batch_flush(ngx_stream_clawnexus_link_t *lk,
    ngx_stream_clawnexus_batch_t *b)
{
    ngx_int_t  rc;

    if (b->len == 0) {
        return NGX_OK;
    }

    rc = ngx_stream_clawnexus_link_publish(lk, &b->to, b->buf, b->len);

    ngx_atomic_fetch_add(&lk->stats->records_out, b->records);
    lk->batched -= b->len;
    b->len = 0;
    b->records = 0;

    return rc;
}


/* The records gathered in one turn of the event loop leave. */
static void
ngx_stream_clawnexus_batch_flush_all(ngx_event_t *ev)
{
    ngx_uint_t                    i;
    ngx_stream_clawnexus_link_t  *lk = ev->data;

    for (i = 0; i < lk->nbatches; i++) {
        if (ngx_stream_clawnexus_batch_flush(lk, &lk->batches[i]) != NGX_OK
            && lk->state == NGX_STREAM_CLAWNEXUS_LINK_READY)
        {
            ngx_stream_clawnexus_link_fail(lk, "PUBLISH: ", "cannot send");
            return;
        }
    }
}


/* Drop what waits (the link went down) or free it all (exit). */
static void
ngx_stream_clawnexus_batch_drop(ngx_stream_clawnexus_link_t *lk,
    ngx_uint_t all)
{
    ngx_uint_t  i;

    if (lk->flush.posted) {
        ngx_delete_posted_event(&lk->flush);
    }

    for (i = 0; i < lk->nbatches; i++) {
        lk->batches[i].len = 0;
        lk->batches[i].records = 0;

        if (all && lk->batches[i].buf) {
            ngx_free(lk->batches[i].buf);
            lk->batches[i].buf = NULL;
            lk->batches[i].cap = 0;
        }
    }

    lk->batched = 0;

    if (all) {
        lk->nbatches = 0;
    }
}


/* The batch for the worker at a (one per channel), or NULL. */
static ngx_stream_clawnexus_batch_t *
ngx_stream_clawnexus_batch_for(ngx_stream_clawnexus_link_t *lk,
    const cnx_relay_addr_t *a)
{
    ngx_uint_t                     i;
    ngx_stream_clawnexus_batch_t  *b, *empty;

    empty = NULL;

    for (i = 0; i < lk->nbatches; i++) {
        b = &lk->batches[i];

        if (b->to.node == a->node && b->to.gen == a->gen
            && b->to.worker == a->worker && b->to.pid == a->pid)
        {
            return b;
        }

        if (b->len == 0 && empty == NULL) {
            empty = b;
        }
    }

    if (empty == NULL) {
        if (lk->nbatches == NGX_STREAM_CLAWNEXUS_CLUSTER_BATCHES) {
            return NULL;
        }

        empty = &lk->batches[lk->nbatches++];
    }

    empty->to = *a;
    empty->to.conn = 0;

    return empty;
}


ngx_int_t
ngx_stream_clawnexus_cluster_publish(const cnx_relay_rec_t *rec)
{
    long                           n;
    size_t                         size;
    u_char                        *buf;
    cnx_relay_rec_t                r;
    ngx_stream_clawnexus_batch_t  *b;
    ngx_stream_clawnexus_link_t   *lk = &ngx_stream_clawnexus_link;

    if (lk->state != NGX_STREAM_CLAWNEXUS_LINK_READY) {
        return NGX_DECLINED;
    }

    if (rec->dst.node == 0 || rec->dst.node == lk->addr.node) {
        /* a member of this node is never reached through Redis */
        return NGX_ERROR;
    }

    /* only DATA is refused: the other records are small and a room's
     * state must not go astray */
    if ((rec->type == CNX_RELAY_REC_DATA_TEXT
         || rec->type == CNX_RELAY_REC_DATA_BIN)
        && ngx_stream_clawnexus_cluster_unsent()
           >= NGX_STREAM_CLAWNEXUS_CLUSTER_UNSENT_MAX)
    {
        return NGX_AGAIN;
    }

    /* the receiver answers to the address it sees: name this node */
    r = *rec;

    if (r.src.node == 0) {
        r.src.node = lk->addr.node;
    }

    size = cnx_relay_rec_size(&r);

    /*
     * Records for one worker are gathered into one message until the end
     * of this turn of the event loop: one PUBLISH, one message for Redis
     * to pass on and for the receiver to parse, for many records.  Their
     * order is kept: a worker's records leave from one connection.
     */
    b = ngx_stream_clawnexus_batch_for(lk, &r.dst);

    if (b == NULL || size >= NGX_STREAM_CLAWNEXUS_CLUSTER_BATCH) {
        if (b && ngx_stream_clawnexus_batch_flush(lk, b) != NGX_OK) {
            return NGX_ERROR;
        }

        if (b == NULL) {
            /* as many workers as batches already: no batch for this one */
            ngx_stream_clawnexus_batch_flush_all(&lk->flush);

            if (lk->state != NGX_STREAM_CLAWNEXUS_LINK_READY) {
                return NGX_ERROR;
            }
        }

        if (size > lk->buf_size) {
            buf = ngx_alloc(size, ngx_cycle->log);
            if (buf == NULL) {
                return NGX_ERROR;
            }

            if (lk->buf) {
                ngx_free(lk->buf);
            }

            lk->buf = buf;
            lk->buf_size = size;
        }

        n = cnx_relay_rec_encode(&r, lk->buf, lk->buf_size);

        if (n < 0
            || ngx_stream_clawnexus_link_publish(lk, &r.dst, lk->buf, n)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        ngx_atomic_fetch_add(&lk->stats->records_out, 1);

        return NGX_OK;
    }

    if (b->len + size > b->cap) {
        buf = ngx_alloc(2 * NGX_STREAM_CLAWNEXUS_CLUSTER_BATCH,
                        ngx_cycle->log);
        if (buf == NULL) {
            return NGX_ERROR;
        }

        if (b->buf) {
            ngx_memcpy(buf, b->buf, b->len);
            ngx_free(b->buf);
        }

        b->buf = buf;
        b->cap = 2 * NGX_STREAM_CLAWNEXUS_CLUSTER_BATCH;
    }

    if (b->len == 0) {
        ngx_memzero(&b->msg, sizeof(cnx_relay_rec_msg_t));
    }

    /* a DATA after a general record of its worker: 24 bytes of header
     * instead of 68 */
    n = cnx_relay_rec_put(&b->msg, &r, b->buf + b->len, b->cap - b->len);
    if (n < 0) {
        return NGX_ERROR;
    }

    b->len += n;
    b->records++;
    lk->batched += n;

    if (b->len >= NGX_STREAM_CLAWNEXUS_CLUSTER_BATCH) {
        return ngx_stream_clawnexus_batch_flush(lk, b);
    }

    if (!lk->flush.posted) {
        ngx_post_event(&lk->flush, &ngx_posted_events);
    }

    return NGX_OK;
}


void
ngx_stream_clawnexus_cluster_set_handlers(
    ngx_stream_clawnexus_cluster_recv_pt recv,
    ngx_stream_clawnexus_cluster_state_pt state,
    ngx_stream_clawnexus_cluster_drain_pt drain)
{
    ngx_stream_clawnexus_link.on_recv = recv;
    ngx_stream_clawnexus_link.on_state = state;
    ngx_stream_clawnexus_link.on_drain = drain;
}


size_t
ngx_stream_clawnexus_cluster_unsent(void)
{
    ngx_stream_clawnexus_link_t  *lk = &ngx_stream_clawnexus_link;

    /* asked for each DATA: kept, not taken from hiredis each time */
    return lk->unsent + lk->batched;
}


static void
ngx_stream_clawnexus_link_written(ngx_stream_clawnexus_redis_t *rd)
{
    ngx_stream_clawnexus_link_t  *lk = rd->data;

    if (rd == &lk->pub) {
        lk->unsent = ngx_stream_clawnexus_redis_unsent(rd);

        if (lk->on_drain) {
            lk->on_drain();
        }
    }
}


ngx_stream_clawnexus_link_stats_t *
ngx_stream_clawnexus_cluster_stats(ngx_uint_t *n)
{
    ngx_stream_clawnexus_cluster_shm_t        *sh;
    ngx_stream_clawnexus_cluster_main_conf_t  *cmcf;

    cmcf = ngx_stream_cycle_get_module_main_conf(ngx_cycle,
                                         ngx_stream_clawnexus_cluster_module);

    if (cmcf == NULL || cmcf->zone == NULL || cmcf->zone->data == NULL) {
        return NULL;
    }

    sh = cmcf->zone->data;
    *n = NGX_STREAM_CLAWNEXUS_LINK_SLOTS;

    return sh->slots;
}


/*
 * The cluster's part of /metrics: links by state, their failures, records
 * and bytes to and from other nodes, and each worker's last round trip
 * through Redis.  Nothing without clawnexus_cluster.
 */
u_char *
ngx_stream_clawnexus_cluster_metrics(u_char *p, u_char *last)
{
    ngx_uint_t                          i, n, state[4];
    ngx_uint_t                          failures, rin, rout, bin, bout, drop;
    ngx_core_conf_t                    *ccf;
    ngx_stream_clawnexus_link_stats_t  *st;

    st = ngx_stream_clawnexus_cluster_stats(&n);
    if (st == NULL) {
        return p;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(ngx_cycle->conf_ctx,
                                           ngx_core_module);

    /* the slots of this cycle's workers; others are from before a reload */
    n = ngx_min(n, (ngx_uint_t) ccf->worker_processes);

    ngx_memzero(state, sizeof(state));
    failures = rin = rout = bin = bout = drop = 0;

    for (i = 0; i < n; i++) {
        state[st[i].state & 3]++;
        failures += st[i].failures;
        rin += st[i].records_in;
        rout += st[i].records_out;
        bin += st[i].bytes_in;
        bout += st[i].bytes_out;
        drop += st[i].dropped;
    }

    p = ngx_slprintf(p, last,
        "# HELP clawnexus_cluster_links Workers by the state of their link "
        "to the cluster's Redis.\n"
        "# TYPE clawnexus_cluster_links gauge\n"
        "clawnexus_cluster_links{state=\"ready\"} %ui\n"
        "clawnexus_cluster_links{state=\"connecting\"} %ui\n"
        "clawnexus_cluster_links{state=\"down\"} %ui\n"
        "# HELP clawnexus_cluster_link_failures_total Times a worker's link "
        "went down or could not be made.\n"
        "# TYPE clawnexus_cluster_link_failures_total counter\n"
        "clawnexus_cluster_link_failures_total %ui\n"
        "# HELP clawnexus_cluster_records_total Records to and from other "
        "nodes.\n"
        "# TYPE clawnexus_cluster_records_total counter\n"
        "clawnexus_cluster_records_total{direction=\"out\"} %ui\n"
        "clawnexus_cluster_records_total{direction=\"in\"} %ui\n"
        "# HELP clawnexus_cluster_bytes_total Bytes of records to and from "
        "other nodes.\n"
        "# TYPE clawnexus_cluster_bytes_total counter\n"
        "clawnexus_cluster_bytes_total{direction=\"out\"} %ui\n"
        "clawnexus_cluster_bytes_total{direction=\"in\"} %ui\n"
        "# HELP clawnexus_cluster_dropped_total Messages from Redis that "
        "were not records for this node.\n"
        "# TYPE clawnexus_cluster_dropped_total counter\n"
        "clawnexus_cluster_dropped_total %ui\n"
        "# HELP clawnexus_cluster_redis_rtt_seconds Last round trip of a "
        "PING through Redis, per worker.\n"
        "# TYPE clawnexus_cluster_redis_rtt_seconds gauge\n",
        state[NGX_STREAM_CLAWNEXUS_LINK_READY],
        state[NGX_STREAM_CLAWNEXUS_LINK_CONNECTING],
        state[NGX_STREAM_CLAWNEXUS_LINK_DOWN],
        failures, rout, rin, bout, bin, drop);

    for (i = 0; i < n; i++) {
        p = ngx_slprintf(p, last,
                         "clawnexus_cluster_redis_rtt_seconds{worker=\"%ui\"} "
                         "%ui.%06ui\n", i,
                         (ngx_uint_t) st[i].rtt_us / 1000000,
                         (ngx_uint_t) st[i].rtt_us % 1000000);
    }

    return p;
}


static void
ngx_stream_clawnexus_cluster_done(ngx_stream_clawnexus_redis_t *rd,
    redisReply *reply, void *data)
{
    if (reply && reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "clawnexus cluster: releasing a name in Redis "
                      "failed: %s", reply->str);
    }
}


static void
ngx_stream_clawnexus_cluster_claimed(ngx_stream_clawnexus_redis_t *rd,
    redisReply *reply, void *data)
{
    ngx_stream_clawnexus_claim_t  *cl = data;

    redisReply                    *prev, *alive;
    cnx_relay_rec_t                rec;
    cnx_cluster_owner_t            owner;
    ngx_stream_clawnexus_link_t   *lk = &ngx_stream_clawnexus_link;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[1]->type != REDIS_REPLY_INTEGER)
    {
        if (reply && reply->type == REDIS_REPLY_ERROR) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "clawnexus cluster: REGISTER of \"%*s\" in Redis "
                          "failed: %s", cl->len, cl->name, reply->str);
        }

        ngx_free(cl);
        return;
    }

    prev = reply->element[0];
    alive = reply->element[1];

    /*
     * The previous owner is told only when it lives on another node and
     * still runs; this node's own workers settled it already through
     * their shared directory.
     */
    if (alive->integer == 1 && prev->len
        && cnx_cluster_owner_parse(prev->str, prev->len, &owner) == 0
        && owner.addr.node != lk->addr.node)
    {
        ngx_memzero(&rec, sizeof(cnx_relay_rec_t));
        rec.type = CNX_RELAY_REC_REPLACED;
        rec.src = lk->addr;
        rec.src.conn = cl->conn;
        rec.dst = owner.addr;
        rec.name = (const char *) cl->name;
        rec.name_len = cl->len;

        (void) ngx_stream_clawnexus_cluster_publish(&rec);
    }

    ngx_free(cl);
}


/*
 * EVAL script on the name's key with this worker's route and conn (and
 * extra, when not NULL) as its arguments.
 */
static ngx_int_t
ngx_stream_clawnexus_cluster_eval(const char *script, size_t script_len,
    const char *name, size_t len, uint64_t conn, const char *extra,
    ngx_stream_clawnexus_redis_reply_pt handler, void *data)
{
    long                          n;
    u_char                       *p;
    char                          key[NGX_STREAM_CLAWNEXUS_KEY_LEN];
    u_char                        cbuf[NGX_INT64_LEN];
    const char                   *argv[7];
    size_t                        argvlen[7];
    ngx_stream_clawnexus_link_t  *lk = &ngx_stream_clawnexus_link;

    n = cnx_cluster_key(key, sizeof(key), NGX_STREAM_CLAWNEXUS_CLUSTER_PREFIX,
                        "name", name, len);
    if (n < 0) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(cbuf, "%uL", conn);

    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = script;
    argvlen[1] = script_len;
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = key;
    argvlen[3] = n;
    argv[4] = lk->route;
    argvlen[4] = lk->route_len;
    argv[5] = (const char *) cbuf;
    argvlen[5] = p - cbuf;
    argv[6] = extra;
    argvlen[6] = extra ? ngx_strlen(extra) : 0;

    return ngx_stream_clawnexus_redis_command(&lk->cmd, handler, data,
                                              extra ? 7 : 6, argv, argvlen);
}


ngx_int_t
ngx_stream_clawnexus_cluster_claim(const char *name, size_t len,
    uint64_t conn, ngx_uint_t again)
{
    ngx_stream_clawnexus_claim_t  *cl;
    ngx_stream_clawnexus_link_t   *lk = &ngx_stream_clawnexus_link;

    if (ngx_stream_clawnexus_link.state != NGX_STREAM_CLAWNEXUS_LINK_READY) {
        /* announced when the link is ready again */
        return NGX_DECLINED;
    }

    cl = ngx_alloc(sizeof(ngx_stream_clawnexus_claim_t) + len,
                   ngx_cycle->log);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    cl->conn = conn;
    cl->len = len;
    ngx_memcpy(cl->name, name, len);

    if (ngx_stream_clawnexus_cluster_eval(ngx_stream_clawnexus_claim_lua,
                                      sizeof(ngx_stream_clawnexus_claim_lua)
                                      - 1, name, len, conn,
                                      again ? lk->prefix : "",
                                      ngx_stream_clawnexus_cluster_claimed,
                                      cl)
        != NGX_OK)
    {
        ngx_free(cl);
        return NGX_ERROR;
    }

    /*
     * The claim reaches Redis before the client has its REGISTERED (the
     * relay may write that at once): a JOIN it prompts on another node
     * then finds the name.
     */
    ngx_stream_clawnexus_redis_flush(&lk->cmd);

    return NGX_OK;
}


void
ngx_stream_clawnexus_cluster_release(const char *name, size_t len,
    uint64_t conn)
{
    if (ngx_stream_clawnexus_link.state != NGX_STREAM_CLAWNEXUS_LINK_READY) {
        /* a stale owner in Redis is overwritten by the next REGISTER */
        return;
    }

    (void) ngx_stream_clawnexus_cluster_eval(ngx_stream_clawnexus_release_lua,
                                     sizeof(ngx_stream_clawnexus_release_lua)
                                     - 1, name, len, conn, NULL,
                                     ngx_stream_clawnexus_cluster_done, NULL);
}


static void
ngx_stream_clawnexus_cluster_owner_done(ngx_stream_clawnexus_redis_t *rd,
    redisReply *reply, void *data)
{
    ngx_stream_clawnexus_ask_t  *ask = data;

    cnx_cluster_owner_t           owner;
    ngx_stream_clawnexus_link_t  *lk = &ngx_stream_clawnexus_link;

    if (reply && reply->type == REDIS_REPLY_STRING
        && cnx_cluster_owner_parse(reply->str, reply->len, &owner) == 0
        && owner.addr.node != lk->addr.node
        && lk->state == NGX_STREAM_CLAWNEXUS_LINK_READY)
    {
        ask->owner(ask->data, &owner.addr);

    } else {
        if (reply && reply->type == REDIS_REPLY_ERROR) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "clawnexus cluster: looking a name up in Redis "
                          "failed: %s", reply->str);
        }

        ask->owner(ask->data, NULL);
    }

    ngx_free(ask);
}


ngx_int_t
ngx_stream_clawnexus_cluster_owner(const char *name, size_t len,
    ngx_stream_clawnexus_cluster_owner_pt handler, void *data)
{
    ngx_stream_clawnexus_ask_t  *ask;

    if (ngx_stream_clawnexus_link.state != NGX_STREAM_CLAWNEXUS_LINK_READY) {
        return NGX_DECLINED;
    }

    ask = ngx_calloc(sizeof(ngx_stream_clawnexus_ask_t), ngx_cycle->log);
    if (ask == NULL) {
        return NGX_ERROR;
    }

    ask->owner = handler;
    ask->data = data;

    if (ngx_stream_clawnexus_cluster_eval(ngx_stream_clawnexus_owner_lua,
                                      sizeof(ngx_stream_clawnexus_owner_lua)
                                      - 1, name, len, 0, NULL,
                                      ngx_stream_clawnexus_cluster_owner_done,
                                      ask)
        != NGX_OK)
    {
        ngx_free(ask);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_stream_clawnexus_cluster_alive_done(ngx_stream_clawnexus_redis_t *rd,
    redisReply *reply, void *data)
{
    ngx_stream_clawnexus_ask_t  *ask = data;

    /* no answer (the link went down) says nothing about the route */
    if (reply && reply->type == REDIS_REPLY_INTEGER) {
        ask->alive(&ask->addr, reply->integer != 0);
    }

    ngx_free(ask);
}


ngx_int_t
ngx_stream_clawnexus_cluster_alive(const cnx_relay_addr_t *a,
    ngx_stream_clawnexus_cluster_alive_pt handler)
{
    long                          n;
    size_t                        len;
    char                          route[CNX_CLUSTER_ROUTE_MAX + 1];
    char                          key[NGX_STREAM_CLAWNEXUS_KEY_LEN];
    const char                   *argv[2];
    size_t                        argvlen[2];
    ngx_stream_clawnexus_ask_t   *ask;
    ngx_stream_clawnexus_link_t  *lk = &ngx_stream_clawnexus_link;

    if (lk->state != NGX_STREAM_CLAWNEXUS_LINK_READY) {
        return NGX_DECLINED;
    }

    len = cnx_cluster_route(route, a);

    n = cnx_cluster_key(key, sizeof(key), NGX_STREAM_CLAWNEXUS_CLUSTER_PREFIX,
                        "route", route, len);
    if (n < 0) {
        return NGX_ERROR;
    }

    ask = ngx_calloc(sizeof(ngx_stream_clawnexus_ask_t), ngx_cycle->log);
    if (ask == NULL) {
        return NGX_ERROR;
    }

    ask->alive = handler;
    ask->addr = *a;

    argv[0] = "EXISTS";
    argvlen[0] = 6;
    argv[1] = key;
    argvlen[1] = n;

    if (ngx_stream_clawnexus_redis_command(&lk->cmd,
                                       ngx_stream_clawnexus_cluster_alive_done,
                                       ask, 2, argv, argvlen)
        != NGX_OK)
    {
        ngx_free(ask);
        return NGX_ERROR;
    }

    return NGX_OK;
}
