/*
 * Redis backend of the registry store (clawnexus_registry_db
 * redis://[USER@]HOST[:PORT], clawnexus_registry_db_password_file): one Redis shared by the registries of
 * every relay node of a cluster, so that each of them answers /register,
 * /token and /resolve for every name (docs/cluster.md).
 *
 * Blocking, like every backend: the registry module calls it on nginx's
 * thread pool.  Each worker holds one connection, used by one thread at a
 * time (a mutex), opened on first use and again after any error, with a
 * connect timeout and a reply timeout, so a thread waits a bounded time
 * when Redis is gone.  One name is one hash, "cnx:reg:{NAME}" with fields
 * k (public key), r (registered at), u (updated at); a claim is one Lua
 * script, atomic against every claim from any node.
 */

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "cnx_registry_store.h"

#define CNX_REDIS_CONNECT_MS  1000
#define CNX_REDIS_REPLY_MS    2000
#define CNX_REDIS_HOST_MAX    255
#define CNX_REDIS_KEY_MAX     (16 + 255)

/*
 * KEYS[1] the name's hash, ARGV[1] the public key, ARGV[2] now.  Returns
 * {status, key, registered_at, updated_at}: status 1 created, 0 renewed
 * (same key), 2 another key owns it.
 */
static const char  cnx_redis_claim_lua[] =
    "local v = redis.call('HMGET', KEYS[1], 'k', 'r', 'u')\n"
    "if not v[1] then\n"
    "  redis.call('HSET', KEYS[1], 'k', ARGV[1], 'r', ARGV[2],"
    " 'u', ARGV[2])\n"
    "  return {1, ARGV[1], ARGV[2], ARGV[2]}\n"
    "end\n"
    "if v[1] == ARGV[1] then\n"
    "  redis.call('HSET', KEYS[1], 'u', ARGV[2])\n"
    "  return {0, v[1], v[2], ARGV[2]}\n"
    "end\n"
    "return {2, v[1], v[2], v[3]}\n";

typedef struct {
    cnx_reg_store_t   base;
    char              host[CNX_REDIS_HOST_MAX + 1];
    int               port;
    char              user[CNX_REDIS_HOST_MAX + 1];   /* "" = none */
    uint8_t          *pass;                           /* NULL = none */
    size_t            pass_len;
    redisContext     *c;
    pthread_mutex_t   lock;
} cnx_redis_store_t;

/*
 * Split "redis://[USER@]HOST[:PORT][/]" (an IPv6 address in brackets).
 * Returns 0, or -1 with a message in err.
 */
static int
cnx_redis_parse(const char *spec, char *host, int *port, char *user,
    char *err, size_t errlen)
{
    const char  *p, *end, *colon, *at;
    size_t       n;
    long         v;
    char        *e;

    if (strncmp(spec, "redis://", 8) != 0) {
        snprintf(err, errlen, "unsupported registry database \"%.150s\" "
                 "(redis://HOST:PORT, or a file path for SQLite)", spec);
        return -1;
    }
    p = spec + 8;
    end = p + strlen(p);
    if (end > p && end[-1] == '/') {
        end--;
    }
    user[0] = '\0';
    at = memchr(p, '@', (size_t) (end - p));
    if (at != NULL) {
        n = (size_t) (at - p);
        if (n == 0 || n > CNX_REDIS_HOST_MAX) {
            goto bad;
        }
        memcpy(user, p, n);
        user[n] = '\0';
        p = at + 1;
    }
    *port = 6379;
    if (p < end && *p == '[') {
        colon = memchr(p, ']', (size_t) (end - p));
        if (colon == NULL) {
            goto bad;
        }
        n = (size_t) (colon - p - 1);
        memcpy(host, p + 1, n < CNX_REDIS_HOST_MAX ? n : 0);
        colon++;
        if (colon < end && *colon != ':') {
            goto bad;
        }
    } else {
        colon = memchr(p, ':', (size_t) (end - p));
        n = (size_t) ((colon ? colon : end) - p);
        memcpy(host, p, n < CNX_REDIS_HOST_MAX ? n : 0);
    }
    if (n == 0 || n >= CNX_REDIS_HOST_MAX) {
        goto bad;
    }
    host[n] = '\0';
    if (colon != NULL && colon < end) {
        errno = 0;
        v = strtol(colon + 1, &e, 10);
        if (e != end || colon + 1 == end || errno || v < 1 || v > 65535) {
            goto bad;
        }
        *port = (int) v;
    }
    return 0;

bad:
    snprintf(err, errlen, "invalid Redis address \"%.150s\" in "
             "\"clawnexus_registry_db\" (redis://[USER@]HOST[:PORT])",
             spec);
    return -1;
}

int
cnx_reg_redis_setup(const char *spec, char *err, size_t errlen)
{
    char  host[CNX_REDIS_HOST_MAX + 1], user[CNX_REDIS_HOST_MAX + 1];
    int   port;

    /* Redis may be down while nginx starts: only the address is checked */
    return cnx_redis_parse(spec, host, &port, user, err, errlen);
}

static void
cnx_redis_drop(cnx_redis_store_t *s)
{
    if (s->c != NULL) {
        redisFree(s->c);
        s->c = NULL;
    }
}

/* AUTH [USER] PASSWORD on a new connection; 0, or -1 with s->base.err. */
static int
cnx_redis_auth(cnx_redis_store_t *s)
{
    redisReply  *r;
    const char  *argv[3];
    size_t       argvlen[3];
    int          argc = 0;

    if (s->pass == NULL) {
        return 0;
    }
    argv[argc] = "AUTH";
    argvlen[argc++] = 4;
    if (s->user[0] != '\0') {
        argv[argc] = s->user;
        argvlen[argc++] = strlen(s->user);
    }
    argv[argc] = (const char *) s->pass;
    argvlen[argc++] = s->pass_len;

    r = redisCommandArgv(s->c, argc, argv, argvlen);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        /* what Redis said, never what was sent */
        snprintf(s->base.err, sizeof(s->base.err),
                 "Redis at %.100s:%d refused AUTH: %.100s", s->host, s->port,
                 r != NULL ? r->str : s->c->errstr);
        if (r != NULL) {
            freeReplyObject(r);
        }
        cnx_redis_drop(s);
        return -1;
    }
    freeReplyObject(r);
    return 0;
}

/* Connect if needed.  Returns 0, or -1 with s->base.err set. */
static int
cnx_redis_connect(cnx_redis_store_t *s)
{
    struct timeval  tv;

    if (s->c != NULL) {
        return 0;
    }
    tv.tv_sec = CNX_REDIS_CONNECT_MS / 1000;
    tv.tv_usec = (CNX_REDIS_CONNECT_MS % 1000) * 1000;
    s->c = redisConnectWithTimeout(s->host, s->port, tv);
    if (s->c == NULL || s->c->err) {
        snprintf(s->base.err, sizeof(s->base.err),
                 "cannot connect to Redis at %.100s:%d: %.100s", s->host,
                 s->port, s->c != NULL ? s->c->errstr : "out of memory");
        cnx_redis_drop(s);
        return -1;
    }
    tv.tv_sec = CNX_REDIS_REPLY_MS / 1000;
    tv.tv_usec = (CNX_REDIS_REPLY_MS % 1000) * 1000;
    if (redisSetTimeout(s->c, tv) != REDIS_OK) {
        snprintf(s->base.err, sizeof(s->base.err),
                 "cannot set a timeout on the Redis connection");
        cnx_redis_drop(s);
        return -1;
    }
    return cnx_redis_auth(s);
}

/*
 * Run one command.  Returns the reply, or NULL with s->base.err set (the
 * connection is then dropped and made again by the next call).  A
 * connection that broke while it was idle (Redis restarted meanwhile) is
 * made again at once and the command sent once more: the commands of the
 * store give the same answer when repeated.
 */
static redisReply *
cnx_redis_run(cnx_redis_store_t *s, int argc, const char **argv,
    const size_t *argvlen)
{
    int          fresh;
    redisReply  *r;

again:

    fresh = s->c == NULL;
    if (cnx_redis_connect(s) != 0) {
        return NULL;
    }
    r = redisCommandArgv(s->c, argc, argv, argvlen);
    if (r == NULL) {
        snprintf(s->base.err, sizeof(s->base.err), "Redis at %.100s:%d: %.100s",
                 s->host, s->port, s->c->errstr);
        cnx_redis_drop(s);
        if (!fresh) {
            goto again;
        }
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(s->base.err, sizeof(s->base.err), "Redis at %.100s:%d: %.100s",
                 s->host, s->port, r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

static int
cnx_redis_key(char *out, const char *name, size_t n)
{
    if (n > CNX_REDIS_KEY_MAX - 11) {
        return -1;
    }
    memcpy(out, "cnx:reg:{", 9);
    memcpy(out + 9, name, n);
    out[9 + n] = '}';
    return (int) (n + 10);
}

/* A decimal time field of a reply; -1 if it is not one. */
static int64_t
cnx_redis_time(const redisReply *r)
{
    char       buf[24];
    long long  v;
    char      *e;

    if (r->type == REDIS_REPLY_INTEGER) {
        return r->integer;
    }
    if (r->type != REDIS_REPLY_STRING || r->len == 0 || r->len >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, r->str, r->len);
    buf[r->len] = '\0';
    errno = 0;
    v = strtoll(buf, &e, 10);
    if (*e != '\0' || errno || v < 0) {
        return -1;
    }
    return v;
}

/* Fill rec from key, registered, updated; 0 or -1 (malformed). */
static int
cnx_redis_record(cnx_redis_store_t *s, redisReply **f, cnx_reg_record_t *rec)
{
    if (f[0]->type != REDIS_REPLY_STRING || f[0]->len != 32
        || (rec->registered_at = cnx_redis_time(f[1])) < 0
        || (rec->updated_at = cnx_redis_time(f[2])) < 0)
    {
        snprintf(s->base.err, sizeof(s->base.err),
                 "Redis at %.100s:%d: a registry record is malformed", s->host,
                 s->port);
        return -1;
    }
    memcpy(rec->pubkey, f[0]->str, 32);
    return 0;
}

static int
cnx_redis_lookup(cnx_reg_store_t *st, const char *name, size_t n,
    cnx_reg_record_t *rec)
{
    cnx_redis_store_t  *s = (cnx_redis_store_t *) st;
    redisReply         *r;
    char                key[CNX_REDIS_KEY_MAX];
    const char         *argv[5] = { "HMGET", key, "k", "r", "u" };
    size_t              argvlen[5] = { 5, 0, 1, 1, 1 };
    int                 rc, kl;

    kl = cnx_redis_key(key, name, n);
    if (kl < 0) {
        return CNX_STORE_NOTFOUND;
    }
    argvlen[1] = (size_t) kl;

    pthread_mutex_lock(&s->lock);
    r = cnx_redis_run(s, 5, argv, argvlen);
    if (r == NULL) {
        rc = CNX_STORE_ERROR;
    } else if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
        snprintf(s->base.err, sizeof(s->base.err),
                 "Redis at %.100s:%d: unexpected reply to HMGET", s->host,
                 s->port);
        rc = CNX_STORE_ERROR;
    } else if (r->element[0]->type == REDIS_REPLY_NIL) {
        rc = CNX_STORE_NOTFOUND;
    } else {
        rc = cnx_redis_record(s, r->element, rec) == 0 ? CNX_STORE_OK
                                                       : CNX_STORE_ERROR;
    }
    if (r != NULL) {
        freeReplyObject(r);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int
cnx_redis_claim(cnx_reg_store_t *st, const char *name, size_t n,
    const uint8_t pubkey[32], int64_t now, cnx_reg_record_t *rec,
    int *created)
{
    cnx_redis_store_t  *s = (cnx_redis_store_t *) st;
    redisReply         *r;
    char                key[CNX_REDIS_KEY_MAX], when[24];
    const char         *argv[6];
    size_t              argvlen[6];
    int                 rc, kl;

    *created = 0;
    kl = cnx_redis_key(key, name, n);
    if (kl < 0) {
        snprintf(s->base.err, sizeof(s->base.err), "name too long");
        return CNX_STORE_ERROR;
    }
    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = cnx_redis_claim_lua;
    argvlen[1] = sizeof(cnx_redis_claim_lua) - 1;
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = key;
    argvlen[3] = (size_t) kl;
    argv[4] = (const char *) pubkey;
    argvlen[4] = 32;
    argv[5] = when;
    argvlen[5] = (size_t) snprintf(when, sizeof(when), "%lld",
                                   (long long) now);

    pthread_mutex_lock(&s->lock);
    r = cnx_redis_run(s, 6, argv, argvlen);
    if (r == NULL) {
        rc = CNX_STORE_ERROR;
    } else if (r->type != REDIS_REPLY_ARRAY || r->elements != 4
               || r->element[0]->type != REDIS_REPLY_INTEGER
               || r->element[0]->integer < 0 || r->element[0]->integer > 2)
    {
        snprintf(s->base.err, sizeof(s->base.err),
                 "Redis at %.100s:%d: unexpected reply to the claim", s->host,
                 s->port);
        rc = CNX_STORE_ERROR;
    } else if (cnx_redis_record(s, r->element + 1, rec) != 0) {
        rc = CNX_STORE_ERROR;
    } else if (r->element[0]->integer == 2) {
        rc = CNX_STORE_CONFLICT;
    } else {
        *created = r->element[0]->integer == 1;
        rc = CNX_STORE_OK;
    }
    if (r != NULL) {
        freeReplyObject(r);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static void
cnx_redis_wipe(uint8_t *p, size_t n)
{
    volatile uint8_t  *v = p;

    while (n--) {
        *v++ = 0;
    }
}

static void
cnx_redis_close(cnx_reg_store_t *st)
{
    cnx_redis_store_t  *s = (cnx_redis_store_t *) st;

    if (s == NULL) {
        return;
    }
    cnx_redis_drop(s);
    if (s->pass != NULL) {
        cnx_redis_wipe(s->pass, s->pass_len);
        free(s->pass);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static const cnx_reg_store_ops_t  cnx_redis_ops = {
    cnx_redis_claim,
    cnx_redis_lookup,
    cnx_redis_close,
};

cnx_reg_store_t *
cnx_reg_redis_open(const char *spec, const uint8_t *pass, size_t pass_len,
    char *err, size_t errlen)
{
    cnx_redis_store_t  *s;

    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (cnx_redis_parse(spec, s->host, &s->port, s->user, err, errlen)
        != 0)
    {
        free(s);
        return NULL;
    }
    if (s->user[0] != '\0' && (pass == NULL || pass_len == 0)) {
        snprintf(err, errlen, "Redis user in \"%.150s\" needs "
                 "\"clawnexus_registry_db_password_file\"", spec);
        free(s);
        return NULL;
    }
    if (pass != NULL && pass_len > 0) {
        s->pass = malloc(pass_len);
        if (s->pass == NULL) {
            snprintf(err, errlen, "out of memory");
            free(s);
            return NULL;
        }
        memcpy(s->pass, pass, pass_len);
        s->pass_len = pass_len;
    }
    s->base.ops = &cnx_redis_ops;
    pthread_mutex_init(&s->lock, NULL);
    /* the connection is made on first use, on a thread-pool thread */
    return &s->base;
}
