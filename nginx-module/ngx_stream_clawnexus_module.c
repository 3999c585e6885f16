/*
 * ngx_stream_clawnexus_module: the ClawNexus relay inside nginx's stream
 * subsystem.
 *
 * A stream server with "clawnexus_relay;" speaks WebSocket (RFC 6455) on
 * /relay and the ClawNexus relay protocol in its messages: names are bound
 * by REGISTER, rooms are made by JOIN/ACCEPT and DATA is forwarded between
 * the two members of a room.  The codecs (HTTP upgrade, frames, JSON, JWT),
 * the protocol's rules and rooms (cnx_relay_core) and the record between
 * workers (cnx_relay_rec) live in plugins/libclawnexus.  The nginx glue is
 * split by responsibility, sharing ngx_stream_clawnexus_relay.h:
 *
 *   ngx_stream_clawnexus_module.c   the module, directives, variables
 *   ngx_stream_clawnexus_session.c  the event handlers of a session
 *   ngx_stream_clawnexus_out.c      outbound queues and backpressure
 *   ngx_stream_clawnexus_member.c   the member operations of the core for
 *                                   a session of this worker and for a
 *                                   socket of another worker
 *   ngx_stream_clawnexus_ipc.c      the channels between workers and the
 *                                   worker's lifecycle
 *   ngx_stream_clawnexus_zone.c     the shared zone: name directory,
 *                                   per-address limits
 *
 * The status server is a module of its own in the same .so
 * (ngx_stream_clawnexus_status_module.c, sharing the zone through
 * ngx_stream_clawnexus.h).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "cnx_http.h"
#include "cnx_relay_msg.h"
#include "ngx_clawnexus_secret.h"
#include "ngx_stream_clawnexus_relay.h"


static void *ngx_stream_clawnexus_create_srv_conf(ngx_conf_t *cf);
static char *ngx_stream_clawnexus_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_stream_clawnexus_relay(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_stream_clawnexus_secret_file(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_stream_clawnexus_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_stream_clawnexus_variable(ngx_stream_session_t *s,
    ngx_stream_variable_value_t *v, uintptr_t data);


/* ERROR codes counted in the metrics, in this order. */
const char  *ngx_stream_clawnexus_error_codes[NGX_STREAM_CLAWNEXUS_NERRORS] = {
    CNX_RELAY_ERR_AUTH_FAILED, CNX_RELAY_ERR_NOT_REGISTERED,
    CNX_RELAY_ERR_TARGET_OFFLINE, CNX_RELAY_ERR_ROOM_NOT_FOUND,
    CNX_RELAY_ERR_BAD_MESSAGE, CNX_RELAY_ERR_TOO_LARGE,
    CNX_RELAY_ERR_RATE_LIMITED, CNX_RELAY_ERR_TOO_MANY_ROOMS,
    CNX_RELAY_ERR_TOO_MANY_PENDING, CNX_RELAY_ERR_REPLACED,
    CNX_RELAY_ERR_INTERNAL
};

/* WebSocket close codes the relay sends, counted in the metrics. */
const unsigned  ngx_stream_clawnexus_close_codes[NGX_STREAM_CLAWNEXUS_NCLOSES] = {
    1000, 1001, 1002, 1007, 1008, 1009, 1011
};


static ngx_command_t  ngx_stream_clawnexus_commands[] = {

    { ngx_string("clawnexus_zone"),
      NGX_STREAM_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_stream_clawnexus_zone_directive,
      0,
      0,
      NULL },

    { ngx_string("clawnexus_relay"),
      NGX_STREAM_SRV_CONF|NGX_CONF_NOARGS,
      ngx_stream_clawnexus_relay,
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

    { ngx_string("clawnexus_send_stall_timeout"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_clawnexus_srv_conf_t, send_stall_timeout),
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


ngx_stream_clawnexus_worker_t          ngx_stream_clawnexus_worker;
static ngx_stream_clawnexus_stats_t    ngx_stream_clawnexus_dummy_stats;
ngx_stream_clawnexus_stats_t          *ngx_stream_clawnexus_stats =
    &ngx_stream_clawnexus_dummy_stats;
ngx_shm_zone_t                        *ngx_stream_clawnexus_zone;
ngx_str_t                              ngx_stream_clawnexus_zone_name;
size_t                                 ngx_stream_clawnexus_zone_size;
ngx_uint_t                             ngx_stream_clawnexus_relays;
ngx_stream_clawnexus_shm_t            *ngx_stream_clawnexus_sh;
ngx_stream_clawnexus_ipc_t            *ngx_stream_clawnexus_ipc;
ngx_uint_t                             ngx_stream_clawnexus_generation;
/* what open sessions receive into, see ngx_stream_clawnexus_bulk() */
u_char  ngx_stream_clawnexus_rbuf[NGX_STREAM_CLAWNEXUS_BULK
                                 + NGX_STREAM_CLAWNEXUS_BULK_TAIL];
ngx_stream_clawnexus_gauge_t           ngx_stream_clawnexus_dummy_gauge;
ngx_stream_clawnexus_gauge_t          *ngx_stream_clawnexus_my_gauge =
    &ngx_stream_clawnexus_dummy_gauge;


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
    conf->send_stall_timeout = NGX_CONF_UNSET_MSEC;
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
    ngx_conf_merge_msec_value(conf->send_stall_timeout,
                              prev->send_stall_timeout, 30000);
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

    if (conf->send_stall_timeout == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "clawnexus_send_stall_timeout must be more "
                           "than 0");
        return NGX_CONF_ERROR;
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
    ngx_str_set(&ngx_stream_clawnexus_zone_name, "clawnexus");
    ngx_stream_clawnexus_zone_size = 32 * 1024 * 1024;
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

    /* not a relay server, or no session yet */
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
