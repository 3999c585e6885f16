/*
 * ngx_http_clawnexus_registry_module: the ClawNexus registry in an http
 * location, so that unmodified clawnexus daemons (CLAWNEXUS_REGISTRY_URL)
 * get their names and relay tokens from the operator's nginx:
 *
 *   POST <prefix>/register   first come, first served name for a key
 *   POST <prefix>/token      HS256 relay token for the name's owner
 *   GET  <prefix>/resolve/N  who owns name N
 *
 * Glue only: the protocol is cnx_registry.c (libclawnexus), the storage
 * cnx_registry_store.h (SQLite today, Redis later), run on nginx's thread
 * pool so that the event loop never waits for the database.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sodium.h>

#include "cnx_jwt.h"
#include "cnx_registry.h"
#include "cnx_registry_store.h"
#include "ngx_clawnexus_secret.h"


#define NGX_HTTP_CLAWNEXUS_REGISTRY_LIMIT_SLOTS  8192
#define NGX_HTTP_CLAWNEXUS_REGISTRY_REPLY_MAX    4096
#define NGX_HTTP_CLAWNEXUS_REGISTRY_NODB         "registry database unavailable"


typedef struct {
    ngx_str_t                   spec;       /* clawnexus_registry_db */
    ngx_str_t                   password;   /* for a redis:// store */
    cnx_reg_store_t            *store;      /* per worker */
} ngx_http_clawnexus_registry_db_t;


typedef struct {
    ngx_array_t                 dbs;        /* of registry_db_t */
    ngx_shm_zone_t             *limit_zone;
    ngx_uint_t                  key_rate;   /* per minute, 0 = off */
    ngx_uint_t                  addr_rate;
    ngx_flag_t                  used;
} ngx_http_clawnexus_registry_main_conf_t;


typedef struct {
    cnx_reg_limit_t            *key;
    cnx_reg_limit_t            *addr;
} ngx_http_clawnexus_registry_limits_t;


typedef struct {
    ngx_flag_t                  enable;
    ngx_str_t                   db;
    ngx_str_t                   db_password;
    ngx_str_t                   db_password_file;
    ngx_int_t                   db_index;
    ngx_str_t                   relay_hint;
    time_t                      token_ttl;
    ngx_str_t                   allow_file;
    ngx_array_t                *allow;      /* sorted 32-byte keys */
    ngx_str_t                   jwt_secret;
    ngx_str_t                   jwt_issuer;
#if (NGX_THREADS)
    ngx_thread_pool_t          *thread_pool;
#endif
} ngx_http_clawnexus_registry_loc_conf_t;


typedef enum {
    NGX_HTTP_CLAWNEXUS_REG_REGISTER,
    NGX_HTTP_CLAWNEXUS_REG_TOKEN,
    NGX_HTTP_CLAWNEXUS_REG_RESOLVE
} ngx_http_clawnexus_registry_op_e;


/* One request's work, shared with the thread that runs the store. */
typedef struct {
    ngx_uint_t                  op;
    cnx_reg_store_t            *store;
    char                        name[CNX_REG_NAME_MAX + 1];
    size_t                      name_len;
    char                        claw_id[CNX_REG_NAME_MAX + 1];
    uint8_t                     pubkey[CNX_REG_KEY_LEN];
    time_t                      now;
    int                         rc;         /* CNX_STORE_* */
    int                         created;
    cnx_reg_record_t            rec;
    char                        err[256];
} ngx_http_clawnexus_registry_ctx_t;


static ngx_int_t ngx_http_clawnexus_registry_handler(ngx_http_request_t *r);
static void ngx_http_clawnexus_registry_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_clawnexus_registry_run(ngx_http_request_t *r,
    ngx_http_clawnexus_registry_ctx_t *ctx);
static void ngx_http_clawnexus_registry_reply(ngx_http_request_t *r);
static ngx_int_t ngx_http_clawnexus_registry_send(ngx_http_request_t *r,
    ngx_uint_t status, const char *body, size_t len);
static ngx_int_t ngx_http_clawnexus_registry_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *msg);
static ngx_int_t ngx_http_clawnexus_registry_refuse(ngx_http_request_t *r,
    ngx_uint_t status, const char *msg);
static void ngx_http_clawnexus_registry_fail(ngx_http_request_t *r,
    ngx_uint_t status, const char *msg);
static ngx_int_t ngx_http_clawnexus_registry_limit(ngx_http_request_t *r,
    ngx_uint_t which, const void *key, size_t n);

static char *ngx_http_clawnexus_registry(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_clawnexus_registry_allow(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_clawnexus_registry_db_password(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_clawnexus_registry_secret(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_clawnexus_registry_hint(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_clawnexus_registry_rate(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void *ngx_http_clawnexus_registry_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_clawnexus_registry_init_main_conf(ngx_conf_t *cf,
    void *conf);
static void *ngx_http_clawnexus_registry_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_clawnexus_registry_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_http_clawnexus_registry_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_clawnexus_registry_init_process(
    ngx_cycle_t *cycle);
static void ngx_http_clawnexus_registry_exit_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_clawnexus_registry_commands[] = {

    { ngx_string("clawnexus_registry"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_clawnexus_registry,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("clawnexus_registry_db"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_clawnexus_registry_loc_conf_t, db),
      NULL },

    { ngx_string("clawnexus_registry_relay_hint"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_clawnexus_registry_hint,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("clawnexus_registry_token_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_clawnexus_registry_loc_conf_t, token_ttl),
      NULL },

    { ngx_string("clawnexus_registry_db_password_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_clawnexus_registry_db_password,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("clawnexus_registry_allow_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_clawnexus_registry_allow,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("clawnexus_registry_rate_limit"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_clawnexus_registry_rate,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("clawnexus_jwt_secret_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_clawnexus_registry_secret,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("clawnexus_jwt_issuer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_clawnexus_registry_loc_conf_t, jwt_issuer),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_clawnexus_registry_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_clawnexus_registry_create_main_conf,
    ngx_http_clawnexus_registry_init_main_conf,

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_clawnexus_registry_create_loc_conf,
    ngx_http_clawnexus_registry_merge_loc_conf
};


ngx_module_t  ngx_http_clawnexus_registry_module = {
    NGX_MODULE_V1,
    &ngx_http_clawnexus_registry_module_ctx,
    ngx_http_clawnexus_registry_commands,
    NGX_HTTP_MODULE,
    NULL,                                  /* init master */
    ngx_http_clawnexus_registry_init_module,
    ngx_http_clawnexus_registry_init_process,
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_clawnexus_registry_exit_process,
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/*
 * The path under the location's prefix, without leading slashes:
 * "register", "token" or "resolve/NAME" (r->uri is already decoded).
 */
static ngx_str_t
ngx_http_clawnexus_registry_path(ngx_http_request_t *r)
{
    ngx_str_t                  p;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    p = r->uri;

    if (p.len >= clcf->name.len
        && ngx_strncmp(p.data, clcf->name.data, clcf->name.len) == 0)
    {
        p.data += clcf->name.len;
        p.len -= clcf->name.len;
    }

    while (p.len > 0 && p.data[0] == '/') {
        p.data++;
        p.len--;
    }

    return p;
}


static ngx_int_t
ngx_http_clawnexus_registry_handler(ngx_http_request_t *r)
{
    ngx_int_t                                 rc;
    ngx_str_t                                 path;
    struct sockaddr_in6                      *sin6;
    struct sockaddr_in                       *sin;
    ngx_http_clawnexus_registry_ctx_t        *ctx;

    path = ngx_http_clawnexus_registry_path(r);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_clawnexus_registry_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ngx_http_set_ctx(r, ctx, ngx_http_clawnexus_registry_module);

    if (path.len == 8 && ngx_strncmp(path.data, "register", 8) == 0) {
        ctx->op = NGX_HTTP_CLAWNEXUS_REG_REGISTER;

    } else if (path.len == 5 && ngx_strncmp(path.data, "token", 5) == 0) {
        ctx->op = NGX_HTTP_CLAWNEXUS_REG_TOKEN;

    } else if (path.len > 8 && ngx_strncmp(path.data, "resolve/", 8) == 0) {
        ctx->op = NGX_HTTP_CLAWNEXUS_REG_RESOLVE;

    } else {
        return ngx_http_clawnexus_registry_error(r, NGX_HTTP_NOT_FOUND,
                                                 "no such endpoint");
    }

    /* per address: only the address, never the port */
    switch (r->connection->sockaddr->sa_family) {
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) r->connection->sockaddr;
        rc = ngx_http_clawnexus_registry_limit(r, 1, &sin6->sin6_addr, 16);
        break;
    case AF_INET:
        sin = (struct sockaddr_in *) r->connection->sockaddr;
        rc = ngx_http_clawnexus_registry_limit(r, 1, &sin->sin_addr, 4);
        break;
    default:
        rc = NGX_OK;
    }

    if (rc != NGX_OK) {
        return ngx_http_clawnexus_registry_error(r,
                                           NGX_HTTP_TOO_MANY_REQUESTS,
                                           "too many requests from this "
                                           "address");
    }

    if (ctx->op == NGX_HTTP_CLAWNEXUS_REG_RESOLVE) {
        if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
            return ngx_http_clawnexus_registry_error(r,
                                        NGX_HTTP_NOT_ALLOWED,
                                        "resolve takes GET");
        }

        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        path.data += 8;
        path.len -= 8;

        if (path.len > CNX_REG_NAME_MAX
            || !cnx_relay_claw_id_valid((char *) path.data, path.len))
        {
            return ngx_http_clawnexus_registry_error(r, NGX_HTTP_NOT_FOUND,
                                                     "name not found");
        }

        ngx_memcpy(ctx->name, path.data, path.len);
        ctx->name_len = path.len;

        /* the reply finalizes the request later (or inline, without
         * threads): hold it until then */
        r->main->count++;

        rc = ngx_http_clawnexus_registry_run(r, ctx);
        if (rc == NGX_OK) {
            return NGX_DONE;
        }

        r->main->count--;

        if (rc == NGX_DECLINED) {
            return ngx_http_clawnexus_registry_error(r,
                                          NGX_HTTP_SERVICE_UNAVAILABLE,
                                          NGX_HTTP_CLAWNEXUS_REGISTRY_NODB);
        }

        return rc;
    }

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_clawnexus_registry_error(r, NGX_HTTP_NOT_ALLOWED,
                                                 "this endpoint takes POST");
    }

    /* the daemon always sends Content-Length; a body of unknown length
     * would be bounded by nginx with an HTML error page, not ours */
    if (r->headers_in.content_length_n < 0) {
        return ngx_http_clawnexus_registry_refuse(r,
                                           NGX_HTTP_LENGTH_REQUIRED,
                                           "Content-Length required");
    }

    if (r->headers_in.content_length_n > CNX_REG_BODY_MAX) {
        return ngx_http_clawnexus_registry_refuse(r,
                                           NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                           cnx_reg_strerror(CNX_REG_ETOOBIG));
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r,
                                           ngx_http_clawnexus_registry_body);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/* Copy the request body (memory or, when large, its temporary file). */
static u_char *
ngx_http_clawnexus_registry_read_body(ngx_http_request_t *r, size_t *len)
{
    u_char       *p, *buf;
    size_t        n, total;
    ssize_t       got;
    ngx_chain_t  *cl;

    total = (size_t) r->headers_in.content_length_n;

    buf = ngx_pnalloc(r->pool, total + 1);
    if (buf == NULL) {
        return NULL;
    }

    p = buf;

    for (cl = r->request_body ? r->request_body->bufs : NULL;
         cl;
         cl = cl->next)
    {
        if (cl->buf->in_file) {
            n = (size_t) (cl->buf->file_last - cl->buf->file_pos);
            if (n > (size_t) (buf + total - p)) {
                return NULL;
            }
            got = ngx_read_file(cl->buf->file, p, n, cl->buf->file_pos);
            if (got != (ssize_t) n) {
                return NULL;
            }

        } else {
            n = (size_t) (cl->buf->last - cl->buf->pos);
            if (n > (size_t) (buf + total - p)) {
                return NULL;
            }
            ngx_memcpy(p, cl->buf->pos, n);
        }

        p += n;
    }

    *len = p - buf;
    return buf;
}


static ngx_int_t
ngx_http_clawnexus_registry_admitted(ngx_http_clawnexus_registry_loc_conf_t
    *rlcf, const uint8_t *key)
{
    ngx_uint_t   lo, hi, mid;
    ngx_int_t    c;
    uint8_t     *keys;

    if (rlcf->allow == NULL) {
        return 1;
    }

    keys = rlcf->allow->elts;
    lo = 0;
    hi = rlcf->allow->nelts;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = ngx_memcmp(key, keys + mid * CNX_REG_KEY_LEN, CNX_REG_KEY_LEN);
        if (c == 0) {
            return 1;
        }
        if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }

    return 0;
}


static void
ngx_http_clawnexus_registry_body(ngx_http_request_t *r)
{
    u_char                                  *body;
    size_t                                   len;
    ngx_int_t                                rc;
    int                                      err, n;
    cnx_reg_req_t                            req;
    ngx_http_clawnexus_registry_ctx_t       *ctx;
    ngx_http_clawnexus_registry_loc_conf_t  *rlcf;

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_clawnexus_registry_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_clawnexus_registry_module);

    body = ngx_http_clawnexus_registry_read_body(r, &len);
    if (body == NULL) {
        ngx_http_clawnexus_registry_fail(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                         "cannot read the request body");
        return;
    }

    err = cnx_reg_parse((char *) body, len, &req);
    if (err == CNX_REG_OK) {
        err = cnx_reg_verify(&req);
    }

    if (err != CNX_REG_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "clawnexus registry: %s", cnx_reg_strerror(err));
        ngx_http_clawnexus_registry_fail(r, cnx_reg_status(err),
                                         cnx_reg_strerror(err));
        return;
    }

    if (!ngx_http_clawnexus_registry_admitted(rlcf, req.pubkey)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "clawnexus registry: key not in the allow file");
        ngx_http_clawnexus_registry_fail(r, NGX_HTTP_FORBIDDEN,
                                         "public key not admitted by this "
                                         "registry");
        return;
    }

    rc = ngx_http_clawnexus_registry_limit(r, 0, req.pubkey,
                                           CNX_REG_KEY_LEN);
    if (rc != NGX_OK) {
        ngx_http_clawnexus_registry_fail(r, NGX_HTTP_TOO_MANY_REQUESTS,
                                         "too many requests for this key");
        return;
    }

    ngx_memcpy(ctx->pubkey, req.pubkey, CNX_REG_KEY_LEN);
    ngx_memcpy(ctx->claw_id, req.claw_id, req.claw_id_len + 1);

    if (ctx->op == NGX_HTTP_CLAWNEXUS_REG_REGISTER) {
        n = cnx_reg_name(ctx->name, sizeof(ctx->name), req.claw_id,
                         req.claw_id_len);
        if (n < 0) {
            ngx_http_clawnexus_registry_fail(r, NGX_HTTP_BAD_REQUEST,
                                         cnx_reg_strerror(CNX_REG_ECLAW_ID));
            return;
        }
        ctx->name_len = n;

    } else {
        /* /token names the registered name itself */
        ngx_memcpy(ctx->name, req.claw_id, req.claw_id_len + 1);
        ctx->name_len = req.claw_id_len;
    }

    rc = ngx_http_clawnexus_registry_run(r, ctx);
    if (rc == NGX_DECLINED) {
        ngx_http_clawnexus_registry_fail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         NGX_HTTP_CLAWNEXUS_REGISTRY_NODB);

    } else if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
    }
}


/* Runs on a thread of the pool (or inline without threads). */
static void
ngx_http_clawnexus_registry_store(void *data, ngx_log_t *log)
{
    ngx_http_clawnexus_registry_ctx_t  *ctx = data;

    if (ctx->op == NGX_HTTP_CLAWNEXUS_REG_REGISTER) {
        ctx->rc = ctx->store->ops->claim(ctx->store, ctx->name, ctx->name_len,
                                         ctx->pubkey, ctx->now, &ctx->rec,
                                         &ctx->created);
    } else {
        ctx->rc = ctx->store->ops->lookup(ctx->store, ctx->name,
                                          ctx->name_len, &ctx->rec);
    }

    if (ctx->rc == CNX_STORE_ERROR) {
        ngx_cpystrn((u_char *) ctx->err, (u_char *) ctx->store->err,
                    sizeof(ctx->err));
    }
}


#if (NGX_THREADS)

static void
ngx_http_clawnexus_registry_done(ngx_event_t *ev)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ev->data;
    c = r->connection;

    r->main->blocked--;
    r->aio = 0;

    /* our reply, or the finalizer if the request was terminated */
    r->write_event_handler(r);

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_clawnexus_registry_task(void *data, ngx_log_t *log)
{
    ngx_http_clawnexus_registry_store(*(void **) data, log);
}

#endif


/*
 * Hand the store work to the thread pool.  NGX_OK: posted (the reply
 * follows from the pool's event); NGX_DECLINED: no database in this
 * worker; an HTTP status on failure.
 */
static ngx_int_t
ngx_http_clawnexus_registry_run(ngx_http_request_t *r,
    ngx_http_clawnexus_registry_ctx_t *ctx)
{
    ngx_http_clawnexus_registry_db_t         *db;
    ngx_http_clawnexus_registry_loc_conf_t   *rlcf;
    ngx_http_clawnexus_registry_main_conf_t  *rmcf;
#if (NGX_THREADS)
    ngx_thread_task_t                        *task;
#endif

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_clawnexus_registry_module);
    rmcf = ngx_http_get_module_main_conf(r,
                                         ngx_http_clawnexus_registry_module);

    db = rmcf->dbs.elts;
    ctx->store = db[rlcf->db_index].store;
    ctx->now = ngx_time();

    if (ctx->store == NULL) {
        return NGX_DECLINED;
    }

    r->write_event_handler = ngx_http_clawnexus_registry_reply;

#if (NGX_THREADS)

    task = ngx_thread_task_alloc(r->pool, sizeof(void *));
    if (task == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *(void **) task->ctx = ctx;
    task->handler = ngx_http_clawnexus_registry_task;
    task->event.data = r;
    task->event.handler = ngx_http_clawnexus_registry_done;

    if (ngx_thread_task_post(rlcf->thread_pool, task) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->main->blocked++;
    r->aio = 1;

#else

    ngx_http_clawnexus_registry_store(ctx, r->connection->log);
    ngx_http_clawnexus_registry_reply(r);

#endif

    return NGX_OK;
}


static ngx_int_t
ngx_http_clawnexus_registry_token(ngx_http_request_t *r,
    ngx_http_clawnexus_registry_ctx_t *ctx, char *out, size_t cap)
{
    int                                      n;
    char                                    *iss, *hint;
    char                                     tok[CNX_JWT_MAX_LEN + 1];
    ngx_http_clawnexus_registry_loc_conf_t  *rlcf;

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_clawnexus_registry_module);

    iss = rlcf->jwt_issuer.len ? (char *) rlcf->jwt_issuer.data : NULL;
    hint = (char *) rlcf->relay_hint.data;

    n = cnx_jwt_sign(tok, sizeof(tok), rlcf->jwt_secret.data,
                     rlcf->jwt_secret.len, ctx->name, iss, ctx->now,
                     ctx->now + rlcf->token_ttl);
    if (n < 0) {
        return -1;
    }

    n = cnx_reg_build_token(out, cap, tok, hint, rlcf->token_ttl);
    sodium_memzero(tok, sizeof(tok));

    return n;
}


static void
ngx_http_clawnexus_registry_reply(ngx_http_request_t *r)
{
    int                                      n;
    char                                    *hint;
    char                                     out[NGX_HTTP_CLAWNEXUS_REGISTRY_REPLY_MAX];
    ngx_int_t                                rc;
    ngx_http_clawnexus_registry_ctx_t       *ctx;
    ngx_http_clawnexus_registry_loc_conf_t  *rlcf;

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_clawnexus_registry_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_clawnexus_registry_module);

    r->write_event_handler = ngx_http_request_empty_handler;

    hint = (char *) rlcf->relay_hint.data;

    if (ctx->rc == CNX_STORE_ERROR) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "clawnexus registry database \"%V\": %s",
                      &rlcf->db, ctx->err);
        ngx_http_clawnexus_registry_fail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "registry database error");
        return;
    }

    switch (ctx->op) {

    case NGX_HTTP_CLAWNEXUS_REG_REGISTER:
        if (ctx->rc == CNX_STORE_CONFLICT) {
            ngx_http_clawnexus_registry_fail(r, NGX_HTTP_CONFLICT,
                                   "name already registered by another key");
            return;
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "clawnexus registry: %s \"%s\"",
                      ctx->created ? "registered" : "renewed", ctx->name);

        n = cnx_reg_build_register(out, sizeof(out), ctx->created, ctx->name,
                                   ctx->claw_id, ctx->rec.pubkey, hint,
                                   ctx->rec.registered_at,
                                   ctx->rec.updated_at);
        break;

    case NGX_HTTP_CLAWNEXUS_REG_TOKEN:
        if (ctx->rc == CNX_STORE_NOTFOUND) {
            ngx_http_clawnexus_registry_fail(r, NGX_HTTP_NOT_FOUND,
                                             "name not registered");
            return;
        }

        if (sodium_memcmp(ctx->rec.pubkey, ctx->pubkey, CNX_REG_KEY_LEN)
            != 0)
        {
            ngx_http_clawnexus_registry_fail(r, NGX_HTTP_FORBIDDEN,
                                             "name is owned by another key");
            return;
        }

        n = ngx_http_clawnexus_registry_token(r, ctx, out, sizeof(out));
        break;

    default: /* NGX_HTTP_CLAWNEXUS_REG_RESOLVE */
        if (ctx->rc == CNX_STORE_NOTFOUND) {
            ngx_http_clawnexus_registry_fail(r, NGX_HTTP_NOT_FOUND,
                                             "name not found");
            return;
        }

        n = cnx_reg_build_resolve(out, sizeof(out), ctx->name,
                                  ctx->rec.pubkey, hint,
                                  ctx->rec.registered_at,
                                  ctx->rec.updated_at);
        break;
    }

    if (n < 0) {
        ngx_http_clawnexus_registry_fail(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                         "reply does not fit");
        return;
    }

    rc = ngx_http_clawnexus_registry_send(r, NGX_HTTP_OK, out, n);
    sodium_memzero(out, sizeof(out));

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_clawnexus_registry_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *body, size_t len)
{
    ngx_int_t         rc;
    ngx_buf_t        *b;
    ngx_chain_t       out;
    ngx_table_elt_t  *h;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }
    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    if (status == NGX_HTTP_NOT_ALLOWED) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }
        h->hash = 1;
            ngx_str_set(&h->key, "Allow");
        ngx_str_set(&h->value, "GET, HEAD, POST");
    }

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->last = ngx_cpymem(b->last, body, len);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_clawnexus_registry_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *msg)
{
    int   n;
    char  out[512];

    n = cnx_reg_build_error(out, sizeof(out), msg);
    if (n < 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the daemon reads every answer as JSON; keep the connection simple */
    r->keepalive = (status < NGX_HTTP_BAD_REQUEST) ? r->keepalive : 0;

    return ngx_http_clawnexus_registry_send(r, status, out, n);
}


/* An error before the body was read: the body is discarded first. */
static ngx_int_t
ngx_http_clawnexus_registry_refuse(ngx_http_request_t *r, ngx_uint_t status,
    const char *msg)
{
    ngx_int_t  rc;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_clawnexus_registry_error(r, status, msg);
}


/* An error where the request is finalized here (after the body was read,
 * or from the store's reply). */
static void
ngx_http_clawnexus_registry_fail(ngx_http_request_t *r, ngx_uint_t status,
    const char *msg)
{
    ngx_http_finalize_request(r,
                              ngx_http_clawnexus_registry_error(r, status,
                                                                msg));
}


/* which: 0 per key, 1 per address.  NGX_OK, or NGX_DECLINED if over. */
static ngx_int_t
ngx_http_clawnexus_registry_limit(ngx_http_request_t *r, ngx_uint_t which,
    const void *key, size_t n)
{
    int                                       ok;
    ngx_time_t                               *tp;
    ngx_slab_pool_t                          *shpool;
    ngx_http_clawnexus_registry_limits_t     *lim;
    ngx_http_clawnexus_registry_main_conf_t  *rmcf;

    rmcf = ngx_http_get_module_main_conf(r,
                                         ngx_http_clawnexus_registry_module);

    if ((which == 0 ? rmcf->key_rate : rmcf->addr_rate) == 0) {
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) rmcf->limit_zone->shm.addr;
    lim = rmcf->limit_zone->data;
    tp = ngx_timeofday();

    ngx_shmtx_lock(&shpool->mutex);
    ok = cnx_reg_limit_take(which == 0 ? lim->key : lim->addr, key, n,
                            (int64_t) tp->sec * 1000 + tp->msec);
    ngx_shmtx_unlock(&shpool->mutex);

    if (ok) {
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "clawnexus registry: rate limit per %s exceeded",
                  which == 0 ? "key" : "address");

    return NGX_DECLINED;
}


static char *
ngx_http_clawnexus_registry(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_clawnexus_registry_loc_conf_t *rlcf = conf;

    ngx_http_core_loc_conf_t                 *clcf;
    ngx_http_clawnexus_registry_main_conf_t  *rmcf;

    if (rlcf->enable) {
        return "is duplicate";
    }

    rlcf->enable = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_clawnexus_registry_handler;

    rmcf = ngx_http_conf_get_module_main_conf(cf,
                                        ngx_http_clawnexus_registry_module);
    rmcf->used = 1;

#if (NGX_THREADS)
    rlcf->thread_pool = ngx_thread_pool_add(cf, NULL);
    if (rlcf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }
#endif

    return NGX_CONF_OK;
}


static char *
ngx_http_clawnexus_registry_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_clawnexus_registry_loc_conf_t *rlcf = conf;

    ngx_str_t  *value, name;

    if (rlcf->jwt_secret.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    name = value[1];

    return ngx_clawnexus_read_secret(cf, &name, &rlcf->jwt_secret);
}


static char *
ngx_http_clawnexus_registry_hint(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_clawnexus_registry_loc_conf_t *rlcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i;

    if (rlcf->relay_hint.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    /* host[:port] as the daemon puts it in wss://<hint>/relay */
    for (i = 0; i < value[1].len; i++) {
        if (value[1].data[i] <= ' ' || value[1].data[i] >= 0x7f
            || ngx_strchr("/?#@\"\\", value[1].data[i]))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid relay hint \"%V\": expected "
                               "HOST[:PORT] of the relay's TLS listener",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    if (value[1].len == 0 || value[1].len > 255) {
        return "needs HOST[:PORT] of at most 255 characters";
    }

    rlcf->relay_hint = value[1];

    return NGX_CONF_OK;
}


static int ngx_libc_cdecl
ngx_http_clawnexus_registry_cmp_key(const void *a, const void *b)
{
    return ngx_memcmp(a, b, CNX_REG_KEY_LEN);
}


/* One "ed25519:<hex>" per line; '#' starts a comment. */
static char *
ngx_http_clawnexus_registry_allow(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_clawnexus_registry_loc_conf_t *rlcf = conf;

    u_char      *p, *end, *line, *e, *key;
    ssize_t      n;
    ngx_fd_t     fd;
    ngx_str_t   *value, name;
    ngx_uint_t   lineno;
    ngx_file_info_t  fi;

    if (rlcf->allow_file.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    name = value[1];

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "cannot open registry allow file \"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > 16 * 1024 * 1024)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "cannot use registry allow file \"%V\" "
                           "(unreadable or larger than 16 MB)", &name);
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->temp_pool, ngx_file_size(&fi) + 1);
    if (p == NULL) {
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_fd(fd, p, ngx_file_size(&fi));
    ngx_close_file(fd);

    if (n != ngx_file_size(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "cannot read registry allow file \"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    rlcf->allow = ngx_array_create(cf->pool, 16, CNX_REG_KEY_LEN);
    if (rlcf->allow == NULL) {
        return NGX_CONF_ERROR;
    }

    end = p + n;
    lineno = 0;

    while (p < end) {
        line = p;
        lineno++;

        while (p < end && *p != '\n') {
            p++;
        }
        e = p++;

        /* strip the comment and surrounding blanks */
        for (key = line; key < e && *key != '#'; key++) { /* void */ }
        e = key;
        while (line < e && (*line == ' ' || *line == '\t')) {
            line++;
        }
        while (e > line && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) {
            e--;
        }
        if (e == line) {
            continue;
        }

        key = ngx_array_push(rlcf->allow);
        if (key == NULL) {
            return NGX_CONF_ERROR;
        }

        if (cnx_reg_pubkey_parse(key, (char *) line, e - line) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "registry allow file \"%V\", line %ui: "
                               "expected \"ed25519:<64 hex digits>\" "
                               "(what \"clawnexus whoami\" prints)",
                               &name, lineno);
            return NGX_CONF_ERROR;
        }
    }

    ngx_qsort(rlcf->allow->elts, rlcf->allow->nelts, CNX_REG_KEY_LEN,
              ngx_http_clawnexus_registry_cmp_key);

    rlcf->allow_file = name;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_clawnexus_registry_rate_value(ngx_str_t *v, ngx_uint_t *out)
{
    ngx_int_t  n;

    if (v->len == 3 && ngx_strncmp(v->data, "off", 3) == 0) {
        *out = 0;
        return NGX_OK;
    }

    if (v->len > 3 && ngx_strncmp(v->data + v->len - 3, "r/m", 3) == 0) {
        n = ngx_atoi(v->data, v->len - 3);
    } else {
        n = NGX_ERROR;
    }

    if (n <= 0 || n > 1000000) {
        return NGX_ERROR;
    }

    *out = n;
    return NGX_OK;
}


static char *
ngx_http_clawnexus_registry_rate(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_clawnexus_registry_main_conf_t *rmcf = conf;

    ngx_str_t  *value;

    if (rmcf->key_rate != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_clawnexus_registry_rate_value(&value[1], &rmcf->key_rate)
        != NGX_OK
        || ngx_http_clawnexus_registry_rate_value(&value[2],
                                                  &rmcf->addr_rate)
           != NGX_OK)
    {
        return "takes PER_KEY PER_ADDRESS, each \"off\" or a rate like "
               "\"60r/m\" (1..1000000 requests per minute)";
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_clawnexus_registry_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_clawnexus_registry_main_conf_t  *rmcf;

    rmcf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_clawnexus_registry_main_conf_t));
    if (rmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&rmcf->dbs, cf->pool, 1,
                       sizeof(ngx_http_clawnexus_registry_db_t))
        != NGX_OK)
    {
        return NULL;
    }

    rmcf->key_rate = NGX_CONF_UNSET_UINT;
    rmcf->addr_rate = NGX_CONF_UNSET_UINT;

    return rmcf;
}


static ngx_int_t
ngx_http_clawnexus_registry_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_clawnexus_registry_main_conf_t *rmcf = shm_zone->data;

    size_t                                 size;
    ngx_slab_pool_t                       *shpool;
    ngx_http_clawnexus_registry_limits_t  *lim, *old = data;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (old) {
        /* a reload keeps the buckets; the rates may have changed */
        old->key->per_minute = rmcf->key_rate;
        old->addr->per_minute = rmcf->addr_rate;
        shm_zone->data = old;
        return NGX_OK;
    }

    size = cnx_reg_limit_size(NGX_HTTP_CLAWNEXUS_REGISTRY_LIMIT_SLOTS);

    lim = ngx_slab_alloc(shpool, sizeof(*lim));
    if (lim == NULL) {
        return NGX_ERROR;
    }
    lim->key = ngx_slab_alloc(shpool, size);
    lim->addr = ngx_slab_alloc(shpool, size);
    if (lim->key == NULL || lim->addr == NULL) {
        return NGX_ERROR;
    }

    cnx_reg_limit_init(lim->key, NGX_HTTP_CLAWNEXUS_REGISTRY_LIMIT_SLOTS,
                       rmcf->key_rate);
    cnx_reg_limit_init(lim->addr, NGX_HTTP_CLAWNEXUS_REGISTRY_LIMIT_SLOTS,
                       rmcf->addr_rate);

    shm_zone->data = lim;

    return NGX_OK;
}


static char *
ngx_http_clawnexus_registry_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_clawnexus_registry_main_conf_t *rmcf = conf;

    size_t      size;
    ngx_str_t   name = ngx_string("clawnexus_registry_limits");

    /* defaults: a daemon makes a few requests an hour; a burst of a
     * minute's worth covers restarts and several daemons behind one NAT */
    ngx_conf_init_uint_value(rmcf->key_rate, 60);
    ngx_conf_init_uint_value(rmcf->addr_rate, 600);

    if (!rmcf->used) {
        return NGX_CONF_OK;
    }

    size = 2 * cnx_reg_limit_size(NGX_HTTP_CLAWNEXUS_REGISTRY_LIMIT_SLOTS)
           + 16 * ngx_pagesize;

    rmcf->limit_zone = ngx_shared_memory_add(cf, &name, size,
                                         &ngx_http_clawnexus_registry_module);
    if (rmcf->limit_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    rmcf->limit_zone->init = ngx_http_clawnexus_registry_init_zone;
    rmcf->limit_zone->data = rmcf;

    return NGX_CONF_OK;
}


static void *
ngx_http_clawnexus_registry_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_clawnexus_registry_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_clawnexus_registry_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->enable = 0;
     *     conf->db = { 0, NULL };
     *     conf->relay_hint = { 0, NULL };
     *     conf->allow_file = { 0, NULL };
     *     conf->allow = NULL;
     *     conf->jwt_secret = { 0, NULL };
     *     conf->jwt_issuer = { 0, NULL };
     */

    conf->token_ttl = NGX_CONF_UNSET;
    conf->db_index = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_clawnexus_registry_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_clawnexus_registry_loc_conf_t *prev = parent;
    ngx_http_clawnexus_registry_loc_conf_t *conf = child;

    ngx_str_t                                 spec;
    ngx_uint_t                                i;
    ngx_http_clawnexus_registry_db_t         *db;
    ngx_http_clawnexus_registry_main_conf_t  *rmcf;

    ngx_conf_merge_str_value(conf->db, prev->db, "");
    ngx_conf_merge_str_value(conf->relay_hint, prev->relay_hint, "");
    ngx_conf_merge_sec_value(conf->token_ttl, prev->token_ttl, 7200);
    ngx_conf_merge_str_value(conf->jwt_issuer, prev->jwt_issuer, "");

    if (conf->allow_file.data == NULL) {
        conf->allow_file = prev->allow_file;
        conf->allow = prev->allow;
    }

    if (conf->jwt_secret.data == NULL) {
        conf->jwt_secret = prev->jwt_secret;
    }

    if (conf->db_password.data == NULL) {
        conf->db_password = prev->db_password;
        conf->db_password_file = prev->db_password_file;
    }

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    if (conf->db.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "clawnexus_registry needs "
                           "\"clawnexus_registry_db\"");
        return NGX_CONF_ERROR;
    }

    if (conf->relay_hint.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "clawnexus_registry needs "
                           "\"clawnexus_registry_relay_hint\" (the relay's "
                           "HOST[:PORT], reached as wss://HOST/relay)");
        return NGX_CONF_ERROR;
    }

    if (conf->jwt_secret.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "clawnexus_registry needs "
                           "\"clawnexus_jwt_secret_file\" (the relay's "
                           "secret, to sign its tokens)");
        return NGX_CONF_ERROR;
    }

    if (conf->token_ttl < 60) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "clawnexus_registry_token_ttl must be at least "
                           "60s (daemons reuse a token for up to an hour; "
                           "2h is the default)");
        return NGX_CONF_ERROR;
    }

    if (conf->allow == NULL) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "clawnexus_registry without "
                           "\"clawnexus_registry_allow_file\" is open: any "
                           "key that reaches it gets names and relay tokens");
    }

    /* one store per distinct database, opened once per worker */
    spec = conf->db;
    if (ngx_strstr(spec.data, "://") == NULL) {
        if (ngx_conf_full_name(cf->cycle, &spec, 0) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    rmcf = ngx_http_conf_get_module_main_conf(cf,
                                        ngx_http_clawnexus_registry_module);
    db = rmcf->dbs.elts;

    for (i = 0; i < rmcf->dbs.nelts; i++) {
        if (db[i].spec.len == spec.len
            && ngx_strncmp(db[i].spec.data, spec.data, spec.len) == 0)
        {
            break;
        }
    }

    if (conf->db_password.data
        && ngx_strncmp(spec.data, "redis://", 8) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"clawnexus_registry_db_password_file\" is for "
                           "a redis:// database, not \"%V\"", &spec);
        return NGX_CONF_ERROR;
    }

    if (i < rmcf->dbs.nelts
        && (db[i].password.len != conf->db_password.len
            || (conf->db_password.len
                && ngx_memcmp(db[i].password.data, conf->db_password.data,
                              conf->db_password.len) != 0)))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "two locations give the registry database \"%V\" "
                           "different password files", &spec);
        return NGX_CONF_ERROR;
    }

    if (i == rmcf->dbs.nelts) {
        db = ngx_array_push(&rmcf->dbs);
        if (db == NULL) {
            return NGX_CONF_ERROR;
        }
        db->spec = spec;
        db->password = conf->db_password;
        db->store = NULL;
    }

    conf->db = spec;
    conf->db_index = i;

    return NGX_CONF_OK;
}


static char *
ngx_http_clawnexus_registry_db_password(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_clawnexus_registry_loc_conf_t  *rlcf = conf;

    ngx_str_t  *value;

    if (rlcf->db_password.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    rlcf->db_password_file = value[1];

    return ngx_clawnexus_read_secret_file(cf, &rlcf->db_password_file,
                                          "Redis password", 0,
                                          &rlcf->db_password);
}


static ngx_http_clawnexus_registry_main_conf_t *
ngx_http_clawnexus_registry_main(ngx_cycle_t *cycle)
{
    ngx_http_conf_ctx_t  *ctx;

    ctx = (ngx_http_conf_ctx_t *) ngx_get_conf(cycle->conf_ctx,
                                               ngx_http_module);
    if (ctx == NULL) {
        return NULL;
    }

    return ctx->main_conf[ngx_http_clawnexus_registry_module.ctx_index];
}


/* In the master (and for nginx -t): create the databases for the workers. */
static ngx_int_t
ngx_http_clawnexus_registry_init_module(ngx_cycle_t *cycle)
{
    char                                      err[512];
    uid_t                                     uid;
    gid_t                                     gid;
    ngx_uint_t                                i;
    ngx_core_conf_t                          *ccf;
    ngx_http_clawnexus_registry_db_t         *db;
    ngx_http_clawnexus_registry_main_conf_t  *rmcf;

    rmcf = ngx_http_clawnexus_registry_main(cycle);
    if (rmcf == NULL) {
        return NGX_OK;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    uid = (uid_t) -1;
    gid = (gid_t) -1;

    if (geteuid() == 0 && ccf->user != (ngx_uid_t) NGX_CONF_UNSET_UINT) {
        uid = ccf->user;
        gid = ccf->group;
    }

    db = rmcf->dbs.elts;

    for (i = 0; i < rmcf->dbs.nelts; i++) {
        if (cnx_reg_store_setup((char *) db[i].spec.data, uid, gid, err,
                                sizeof(err))
            != 0)
        {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "%s", err);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_clawnexus_registry_init_process(ngx_cycle_t *cycle)
{
    char                                      err[512];
    ngx_uint_t                                i;
    ngx_http_clawnexus_registry_db_t         *db;
    ngx_http_clawnexus_registry_main_conf_t  *rmcf;

    rmcf = ngx_http_clawnexus_registry_main(cycle);
    if (rmcf == NULL) {
        return NGX_OK;
    }

    db = rmcf->dbs.elts;

    for (i = 0; i < rmcf->dbs.nelts; i++) {
        db[i].store = cnx_reg_store_open_auth((char *) db[i].spec.data,
                                              db[i].password.data,
                                              db[i].password.len, err,
                                              sizeof(err));
        if (db[i].store == NULL) {
            /* requests get 503 and this line says why */
            ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                          "clawnexus registry: %s (is its directory "
                          "writable by the worker user?)", err);
        }
    }

    return NGX_OK;
}


static void
ngx_http_clawnexus_registry_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                                i;
    ngx_http_clawnexus_registry_db_t         *db;
    ngx_http_clawnexus_registry_main_conf_t  *rmcf;

    rmcf = ngx_http_clawnexus_registry_main(cycle);
    if (rmcf == NULL) {
        return;
    }

    db = rmcf->dbs.elts;

    for (i = 0; i < rmcf->dbs.nelts; i++) {
        if (db[i].store) {
            db[i].store->ops->close(db[i].store);
            db[i].store = NULL;
        }
    }
}
