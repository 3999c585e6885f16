/*
 * ngx_stream_clawnexus_zone.c: the relay's shared zone (clawnexus_zone):
 * the name directory shared by the workers, this worker's gauges, the
 * sessions of this worker by id, and the glue of the per-address limits
 * (cnx_relay_limit) kept in the zone.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "cnx_relay_limit.h"
#include "ngx_stream_clawnexus_relay.h"


static ngx_uint_t ngx_stream_clawnexus_owner(void);


/* Publish the changes of this worker's name and room counts. */
void
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


ngx_int_t
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
ngx_int_t
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
void
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
void
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
void
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
void
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


ngx_stream_clawnexus_ctx_t *
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
ngx_int_t
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


void
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
ngx_int_t
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



/* Shared zone -------------------------------------------------------------- */


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


ngx_int_t
ngx_stream_clawnexus_add_zone(ngx_conf_t *cf)
{
    ngx_shm_zone_t  *zone;

    if (ngx_stream_clawnexus_zone) {
        return NGX_OK;
    }

    /* names and counters; untouched pages cost no memory */
    zone = ngx_shared_memory_add(cf, &ngx_stream_clawnexus_zone_name,
                                 ngx_stream_clawnexus_zone_size,
                                 &ngx_stream_clawnexus_module);
    if (zone == NULL) {
        return NGX_ERROR;
    }

    zone->init = ngx_stream_clawnexus_init_zone;
    ngx_stream_clawnexus_zone = zone;

    return NGX_OK;
}


/* clawnexus_zone name:size; before the first relay or status server. */
char *
ngx_stream_clawnexus_zone_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    u_char     *p;
    ssize_t     size;
    ngx_str_t  *value, s;

    value = cf->args->elts;

    if (ngx_stream_clawnexus_zone) {
        return "must come before the first \"clawnexus_relay\" or "
               "\"clawnexus_status\"";
    }

    p = (u_char *) ngx_strlchr(value[1].data, value[1].data + value[1].len,
                               ':');
    if (p == NULL || p == value[1].data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\", expected name:size",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    s.data = p + 1;
    s.len = value[1].data + value[1].len - s.data;
    size = ngx_parse_size(&s);

    /* the per-address table alone takes about 2.2 MiB */
    if (size == NGX_ERROR || size < 4 * 1024 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\": size must be at least 4m",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    ngx_stream_clawnexus_zone_name.data = value[1].data;
    ngx_stream_clawnexus_zone_name.len = p - value[1].data;
    ngx_stream_clawnexus_zone_size = (size_t) size;

    return NGX_CONF_OK;
}
