/*
 * clawnexus-link: the registry client (see registry.h).  The protocol is
 * libclawnexus' cnx_registry; HTTP is cnx_http over link's TCP/TLS.
 */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "clawnexus.h"
#include "cnx_http.h"
#include "cnx_identity.h"
#include "cnx_json.h"
#include "cnx_registry.h"
#include "link.h"
#include "dial.h"
#include "loop.h"
#include "net.h"
#include "registry.h"

#define REG_TIMEOUT_MS   10000
#define REG_REPLY_MAX    65536
#define REG_RETRY_S      30
#define REG_DEFAULT_TTL  300

struct link_registry_s {
    /* set once before the thread starts */
    int              tls;
    char             host[LINK_HOST_MAX];
    char             port[8];
    char             hostport[LINK_HOST_MAX + 10];
    char             prefix[LINK_PATH_MAX];
    char             url[LINK_PATH_MAX];
    const char      *ca_file;
    char             name[CNX_REG_NAME_MAX + 1];
    char             hint[300];     /* relay_hint of the first token */
    uint8_t          sk[CNX_REG_SK_LEN];

    pthread_t        thread;
    int              started;
    pthread_mutex_t  lock;
    pthread_cond_t   wake;
    int              stop;
    char             token[LINK_TOKEN_MAX];
    time_t           expires;       /* when the token stops being valid */
    time_t           renew;         /* when the thread fetches the next */
    char             last_err[256];
};

/* http[s]://HOST[:PORT][/PREFIX] */
static int
reg_url_parse(link_registry_t *r, const char *url)
{
    const char  *p, *slash;
    char         hp[LINK_HOST_MAX + 10];
    size_t       n;

    if (strncmp(url, "https://", 8) == 0) {
        r->tls = 1;
        p = url + 8;
    } else if (strncmp(url, "http://", 7) == 0) {
        r->tls = 0;
        p = url + 7;
    } else {
        return -1;
    }
    slash = strchr(p, '/');
    n = slash ? (size_t) (slash - p) : strlen(p);
    if (n == 0 || n >= sizeof(hp) || strlen(url) >= sizeof(r->url)) {
        return -1;
    }
    memcpy(hp, p, n);
    hp[n] = '\0';
    if (strchr(hp, '@') != NULL) {
        return -1;
    }
    snprintf(r->hostport, sizeof(r->hostport), "%s", hp);

    if (link_hostport_parse(hp, r->host, sizeof(r->host), r->port,
                            sizeof(r->port)) != 0)
    {
        /* no port: the scheme's */
        if (hp[0] == '[' || strchr(hp, ':') != NULL
            || strlen(hp) >= sizeof(r->host))
        {
            return -1;
        }
        snprintf(r->host, sizeof(r->host), "%s", hp);
        snprintf(r->port, sizeof(r->port), "%s", r->tls ? "443" : "80");
    }

    /* the daemon appends "/register" to the URL as given; so do we,
     * without doubling a trailing slash */
    snprintf(r->prefix, sizeof(r->prefix), "%s", slash ? slash : "");
    n = strlen(r->prefix);
    while (n > 0 && r->prefix[n - 1] == '/') {
        r->prefix[--n] = '\0';
    }
    snprintf(r->url, sizeof(r->url), "%s", url);
    return 0;
}

/* Wait for fd to be ready for ev until deadline (ms since the epoch). */
static int
reg_wait(int fd, short ev, int64_t deadline)
{
    struct pollfd  p = { fd, ev, 0 };
    int64_t        left;
    int            rc;

    for ( ;; ) {
        left = deadline - link_now_ms();
        if (left <= 0) {
            return -1;
        }
        rc = poll(&p, 1, (int) left);
        if (rc > 0) {
            return 0;
        }
        if (rc < 0 && errno != EINTR) {
            return -1;
        }
    }
}


/* The outcome of reg_dial()'s connect. */
typedef struct {
    link_loop_t *l;
    link_conn_t *c;
    const char  *why;
} reg_dial_t;


static void
reg_dialed(void *ud, link_conn_t *c, const char *why)
{
    reg_dial_t *d = ud;

    d->c = c;
    d->why = why;
    link_loop_stop(d->l, 0);
}


/*
 * Connect from the registry thread: the same dialer as the rest of the
 * program, on a loop of this thread's own that runs only until it is done.
 */
static link_conn_t *
reg_dial(link_registry_t *r, const char **why)
{
    reg_dial_t  d = { NULL, NULL, "out of memory" };

    d.l = link_loop_new();
    if (d.l == NULL) {
        *why = d.why;
        return NULL;
    }
    if (link_dial_start(d.l, r->host, r->port, REG_TIMEOUT_MS, reg_dialed,
                        &d) != NULL)
    {
        (void) link_loop_run(d.l);
    }
    link_loop_free(d.l);
    *why = d.why;
    return d.c;
}

/*
 * One call: method path (under the prefix) with body (may be NULL);
 * the reply body into reply (NUL-terminated).  Returns the HTTP status,
 * or -1 with why set (transport failures).
 */
static int
reg_call(link_registry_t *r, const char *method, const char *path,
    const char *body, size_t blen, char *reply, size_t rcap, size_t *rlen,
    char *why, size_t whycap)
{
    char              full[LINK_PATH_MAX * 2], head[2048];
    char             *buf = NULL;
    const char       *err = NULL;
    link_conn_t      *c;
    cnx_http_reply_t  hr;
    int64_t           deadline;
    size_t            have = 0, off, total;
    long              n;
    int               hlen, status = -1, tls;

    snprintf(full, sizeof(full), "%s%s", r->prefix, path);
    hlen = cnx_http_build_call(head, sizeof(head), method, r->hostport,
                               full[0] == '/' ? full : "/", body
                               ? "application/json" : NULL, blen);
    if (hlen < 0) {
        snprintf(why, whycap, "cannot build the request");
        return -1;
    }

    deadline = link_now_ms() + REG_TIMEOUT_MS;
    c = reg_dial(r, &err);
    if (c == NULL) {
        snprintf(why, whycap, "cannot connect to %s: %s", r->hostport, err);
        return -1;
    }
    if (r->tls) {
        tls = link_conn_tls_begin(c, r->host, r->ca_file, &err);
        while (tls == 0 || tls == LINK_IO_AGAIN) {
            tls = link_conn_tls_step(c, &err);
            if (tls == 0) {
                break;
            }
            if (tls == LINK_IO_AGAIN
                && reg_wait(link_conn_fd(c),
                            (short) link_conn_tls_events(c), deadline) != 0)
            {
                err = "timed out";
                tls = -1;
            }
        }
        if (tls != 0) {
            snprintf(why, whycap, "TLS with %s failed: %s%s", r->hostport,
                     err ? err : "handshake failed",
                     tls == LINK_TLS_UNTRUSTED
                     ? " (a private CA needs --ca-file)" : "");
            link_conn_close(c);
            return -1;
        }
    }

    buf = malloc(REG_REPLY_MAX + 1);
    if (buf == NULL) {
        snprintf(why, whycap, "out of memory");
        goto done;
    }

    /* the head, then the body */
    total = (size_t) hlen + blen;
    for (off = 0; off < total; ) {
        if (off < (size_t) hlen) {
            n = link_conn_write(c, head + off, (size_t) hlen - off);
        } else {
            n = link_conn_write(c, body + (off - hlen), total - off);
        }
        if (n == LINK_IO_AGAIN) {
            if (reg_wait(link_conn_fd(c), link_conn_want_read(c)
                         ? POLLIN : POLLOUT, deadline) != 0)
            {
                snprintf(why, whycap, "%s timed out", r->hostport);
                goto done;
            }
            continue;
        }
        if (n < 0) {
            snprintf(why, whycap, "cannot send to %s", r->hostport);
            goto done;
        }
        off += (size_t) n;
    }

    /* until the whole body (Content-Length) or EOF */
    hlen = 0;
    for ( ;; ) {
        if (hlen > 0 && hr.content_length >= 0
            && have - hlen >= (size_t) hr.content_length)
        {
            break;
        }
        if (have == REG_REPLY_MAX) {
            snprintf(why, whycap, "reply from %s too large", r->hostport);
            goto done;
        }
        n = link_conn_read(c, buf + have, REG_REPLY_MAX - have);
        if (n == LINK_IO_AGAIN) {
            if (reg_wait(link_conn_fd(c), POLLIN, deadline) != 0) {
                snprintf(why, whycap, "%s timed out", r->hostport);
                goto done;
            }
            continue;
        }
        if (n == 0) {
            if (hlen > 0 && hr.content_length < 0) {
                break;
            }
            snprintf(why, whycap, "%s closed the connection early",
                     r->hostport);
            goto done;
        }
        if (n < 0) {
            snprintf(why, whycap, "cannot read from %s", r->hostport);
            goto done;
        }
        have += (size_t) n;
        if (hlen == 0) {
            hlen = cnx_http_parse_reply(buf, have, &hr);
            if (hlen < 0) {
                snprintf(why, whycap, "%s sent a malformed HTTP reply",
                         r->hostport);
                goto done;
            }
        }
    }

    total = have - hlen;
    if (hr.content_length >= 0) {
        total = (size_t) hr.content_length;
    }
    if (total >= rcap) {
        snprintf(why, whycap, "reply from %s too large", r->hostport);
        goto done;
    }
    memcpy(reply, buf + hlen, total);
    reply[total] = '\0';
    *rlen = total;
    status = hr.status;

done:
    if (buf != NULL) {
        sodium_memzero(buf, REG_REPLY_MAX + 1);
        free(buf);
    }
    link_conn_close(c);
    return status;
}

/* POST a signed payload; the reply body, or -1 with why. */
static int
reg_post(link_registry_t *r, const char *path, const char *payload,
    char *reply, size_t rcap, size_t *rlen, char *why, size_t whycap)
{
    char  body[4096];
    int   n;

    n = cnx_reg_build_request(body, sizeof(body), payload, strlen(payload),
                              r->sk);
    if (n < 0) {
        snprintf(why, whycap, "request too large");
        return -1;
    }
    return reg_call(r, "POST", path, body, (size_t) n, reply, rcap, rlen,
                    why, whycap);
}

/* Fetch a token for r->name; 0, or -1 with why. */
static int
reg_fetch_token(link_registry_t *r, char *why, size_t whycap)
{
    char            payload[CNX_REG_NAME_MAX * 2 + 32], reply[8192];
    char            tok[LINK_TOKEN_MAX], hint[300], err[200];
    cnx_json_buf_t  b;
    size_t          rlen;
    int64_t         ttl;
    time_t          now;
    int             status;

    cnx_json_buf_init(&b, payload, sizeof(payload));
    cnx_json_buf_obj_open(&b);
    cnx_json_buf_key(&b, "claw_id");
    cnx_json_buf_cstr(&b, r->name);
    cnx_json_buf_obj_close(&b);
    if (cnx_json_buf_finish(&b) < 0) {
        snprintf(why, whycap, "name too long");
        return -1;
    }

    status = reg_post(r, "/token", payload, reply, sizeof(reply), &rlen,
                      why, whycap);
    if (status < 0) {
        return -1;
    }
    if (cnx_reg_parse_token_reply(reply, rlen, tok, sizeof(tok), hint,
                                  sizeof(hint), &ttl, err, sizeof(err)) != 0
        || status != 200)
    {
        snprintf(why, whycap, "/token for %s: %d %s", r->name, status,
                 err[0] ? err : "unexpected reply");
        sodium_memzero(tok, sizeof(tok));
        return -1;
    }
    if (ttl <= 0) {
        ttl = REG_DEFAULT_TTL;
    }

    now = time(NULL);
    pthread_mutex_lock(&r->lock);
    memcpy(r->token, tok, sizeof(r->token));
    memcpy(r->hint, hint, sizeof(r->hint));
    r->expires = now + ttl;
    /* renew at three quarters of the lifetime, at least 2 min early */
    r->renew = now + (ttl * 3 / 4 < ttl - 120 ? ttl * 3 / 4 : ttl - 120);
    if (r->renew < now + 10) {
        r->renew = now + 10;
    }
    pthread_mutex_unlock(&r->lock);
    sodium_memzero(tok, sizeof(tok));
    link_debug("registry %s: token for %s, valid %llds", r->url, r->name,
               (long long) ttl);
    return 0;
}

static int
reg_register(link_registry_t *r, const char *id, char *why, size_t whycap,
    int *status)
{
    char            payload[CNX_REG_NAME_MAX * 2 + 256], reply[8192];
    char            err[200];
    cnx_json_buf_t  b;
    size_t          rlen;

    cnx_json_buf_init(&b, payload, sizeof(payload));
    cnx_json_buf_obj_open(&b);
    cnx_json_buf_key(&b, "claw_id");
    cnx_json_buf_cstr(&b, id);
    cnx_json_buf_key(&b, "metadata");
    cnx_json_buf_obj_open(&b);
    cnx_json_buf_key(&b, "software_version");
    cnx_json_buf_cstr(&b, cnx_version());
    cnx_json_buf_key(&b, "uptime_hours");
    cnx_json_buf_int(&b, 0);
    cnx_json_buf_key(&b, "os_platform");
    cnx_json_buf_cstr(&b, "linux");
    cnx_json_buf_key(&b, "instance_count");
    cnx_json_buf_int(&b, 1);
    cnx_json_buf_obj_close(&b);
    cnx_json_buf_obj_close(&b);
    if (cnx_json_buf_finish(&b) < 0) {
        snprintf(why, whycap, "claw id too long");
        return -1;
    }

    *status = reg_post(r, "/register", payload, reply, sizeof(reply), &rlen,
                       why, whycap);
    if (*status < 0) {
        return -1;
    }
    if (cnx_reg_parse_register_reply(reply, rlen, r->name, sizeof(r->name),
                                     err, sizeof(err)) != 0
        || *status != 200)
    {
        snprintf(why, whycap, "/register %s: %d %s", id, *status,
                 err[0] ? err : "unexpected reply");
        return -1;
    }
    return 0;
}

static void *
reg_thread(void *arg)
{
    link_registry_t  *r = arg;
    struct timespec   ts;
    char              why[256];
    time_t            at;

    pthread_mutex_lock(&r->lock);
    while (!r->stop) {
        at = r->renew;
        if (time(NULL) < at) {
            ts.tv_sec = at;
            ts.tv_nsec = 0;
            pthread_cond_timedwait(&r->wake, &r->lock, &ts);
            continue;
        }
        pthread_mutex_unlock(&r->lock);
        if (reg_fetch_token(r, why, sizeof(why)) != 0) {
            link_err("registry %s: %s (retrying in %ds)", r->url, why,
                     REG_RETRY_S);
            pthread_mutex_lock(&r->lock);
            snprintf(r->last_err, sizeof(r->last_err), "%s", why);
            r->renew = time(NULL) + REG_RETRY_S;
            continue;
        }
        pthread_mutex_lock(&r->lock);
        r->last_err[0] = '\0';
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

static int
reg_load_key(link_registry_t *r)
{
    char     path[1024], err[512];
    uint8_t  pk[32];

    if (cnx_identity_default_signing(path, sizeof(path)) != 0) {
        link_err("cannot find the home directory for the registry key");
        return -1;
    }
    if (cnx_identity_load_signing(path, r->sk, pk, err, sizeof(err)) != 0) {
        link_err("registry key: %s", err);
        return -1;
    }
    return 0;
}

link_registry_t *
link_registry_start(const char *url, const char *id, const char *ca_file,
    char *name, size_t cap, char *hint, size_t hcap, int *code)
{
    link_registry_t  *r;
    char              why[512];
    int               status = 0;

    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        *code = LINK_EXIT_FAIL;
        return NULL;
    }
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->wake, NULL);
    r->ca_file = ca_file;

    if (reg_url_parse(r, url) != 0) {
        link_err("bad registry URL '%s' (expected http[s]://HOST[:PORT]"
                 "[/PATH])", url);
        *code = LINK_EXIT_ADDR;
        goto fail;
    }
    if (reg_load_key(r) != 0) {
        *code = LINK_EXIT_FILE;
        goto fail;
    }
    if (reg_register(r, id, why, sizeof(why), &status) != 0
        || reg_fetch_token(r, why, sizeof(why)) != 0)
    {
        link_err("registry %s: %s", url, why);
        *code = status < 0 ? LINK_EXIT_UNREACHABLE : LINK_EXIT_RELAY;
        goto fail;
    }
    if (strlen(r->name) >= cap || strlen(r->hint) >= hcap) {
        *code = LINK_EXIT_ADDR;
        goto fail;
    }
    memcpy(name, r->name, strlen(r->name) + 1);
    memcpy(hint, r->hint, strlen(r->hint) + 1);

    if (pthread_create(&r->thread, NULL, reg_thread, r) != 0) {
        link_err("registry %s: cannot start the renewal thread", url);
        *code = LINK_EXIT_FAIL;
        goto fail;
    }
    r->started = 1;
    return r;

fail:
    link_registry_stop(r);
    return NULL;
}

int
link_registry_token(void *ud, const char *id, char *out, size_t cap)
{
    link_registry_t  *r = ud;
    size_t            n;
    int               rc = -1;

    pthread_mutex_lock(&r->lock);
    if (strcmp(id, r->name) != 0) {
        link_err("registry %s: no token for %s (registered as %s)", r->url,
                 id, r->name);
    } else if (time(NULL) >= r->expires) {
        link_err("registry %s: the token for %s expired and could not be "
                 "renewed%s%s", r->url, id, r->last_err[0] ? ": " : "",
                 r->last_err);
    } else if ((n = strlen(r->token)) + 1 > cap) {
        link_err("registry %s: token too long", r->url);
    } else {
        memcpy(out, r->token, n + 1);
        rc = 0;
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

void
link_registry_stop(link_registry_t *r)
{
    if (r == NULL) {
        return;
    }
    if (r->started) {
        pthread_mutex_lock(&r->lock);
        r->stop = 1;
        pthread_cond_signal(&r->wake);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->thread, NULL);
    }
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->wake);
    sodium_memzero(r, sizeof(*r));
    free(r);
}

int
cmd_whoami(int argc, char **argv)
{
    link_registry_t  r;
    char             txt[CNX_REG_PUBKEY_TEXT + 1];

    if (argc > 1 && (strcmp(argv[1], "--help") == 0
                     || strcmp(argv[1], "-h") == 0))
    {
        printf("Usage: %s whoami\n"
               "\n"
               "Print this instance's registry key as ed25519:<hex>, the\n"
               "form a registry's allow file lists (clawnexus_registry_\n"
               "allow_file).  The key is ~/.clawnexus/edge/registry.key,\n"
               "created (0600) on first use.\n", LINK_PROG);
        return LINK_EXIT_OK;
    }
    if (argc > 1) {
        link_err("whoami takes no arguments (try --help)");
        return LINK_EXIT_USAGE;
    }
    memset(&r, 0, sizeof(r));
    if (reg_load_key(&r) != 0) {
        return LINK_EXIT_FILE;
    }
    cnx_reg_pubkey_format(txt, r.sk + 32);
    sodium_memzero(r.sk, sizeof(r.sk));
    printf("%s\n", txt);
    return LINK_EXIT_OK;
}
