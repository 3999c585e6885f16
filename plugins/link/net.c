/*
 * clawnexus-link: URLs, listening sockets and a thin TLS layer so the
 * relay client does not care which it has.  Connecting is dial.c's.
 */

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "link.h"
#include "net.h"

struct link_conn_s {
    int      fd;
    SSL     *ssl;
    SSL_CTX *ctx;
    int      want_read;
    int      hs_events;         /* TLS handshake: what it waits for */
};

int
link_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        return -1;
    }
    return 0;
}

int
link_hostport_parse(const char *s, char *host, size_t hcap,
    char *port, size_t pcap)
{
    const char *colon, *h = s;
    size_t      hl;
    long        p;

    if (s == NULL || *s == '\0') {
        return -1;
    }
    if (*s == '[') {
        const char *rb = strchr(s, ']');

        if (rb == NULL || rb[1] != ':') {
            return -1;
        }
        h = s + 1;
        hl = (size_t) (rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL || memchr(s, ':', (size_t) (colon - s)) != NULL) {
            return -1;
        }
        hl = (size_t) (colon - s);
    }
    if (hl == 0 || hl >= hcap) {
        return -1;
    }
    if (link_parse_long(colon + 1, 1, 65535, &p) != 0
        || strlen(colon + 1) >= pcap)
    {
        return -1;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    memcpy(port, colon + 1, strlen(colon + 1) + 1);
    return 0;
}

int
link_url_parse(const char *s, link_url_t *u)
{
    const char *p, *auth, *slash, *hend, *pstart = NULL;
    size_t      alen, hl;
    long        port;

    memset(u, 0, sizeof(*u));
    if (strncasecmp(s, "ws://", 5) == 0) {
        p = s + 5;
    } else if (strncasecmp(s, "wss://", 6) == 0) {
        u->tls = 1;
        p = s + 6;
    } else {
        return -1;
    }
    auth = p;
    slash = strpbrk(auth, "/?#");
    alen = slash ? (size_t) (slash - auth) : strlen(auth);
    if (alen == 0 || memchr(auth, '@', alen) != NULL) {
        return -1;                  /* no userinfo */
    }
    if (auth[0] == '[') {
        const char *rb = memchr(auth, ']', alen);

        if (rb == NULL) {
            return -1;
        }
        hl = (size_t) (rb - auth - 1);
        if (hl == 0 || hl >= sizeof(u->host)) {
            return -1;
        }
        memcpy(u->host, auth + 1, hl);
        hend = rb + 1;
        if (hend < auth + alen) {
            if (*hend != ':') {
                return -1;
            }
            pstart = hend + 1;
        }
    } else {
        const char *colon = memchr(auth, ':', alen);

        hl = colon ? (size_t) (colon - auth) : alen;
        if (hl == 0 || hl >= sizeof(u->host)) {
            return -1;
        }
        memcpy(u->host, auth, hl);
        if (colon) {
            pstart = colon + 1;
        }
    }
    for (size_t i = 0; u->host[i]; i++) {
        unsigned char c = (unsigned char) u->host[i];

        if (c <= ' ' || c == 0x7f || c == '%' || c == '\\') {
            return -1;
        }
    }
    if (pstart) {
        size_t pl = (size_t) (auth + alen - pstart);
        char   tmp[8];

        if (pl == 0 || pl >= sizeof(tmp)) {
            return -1;
        }
        memcpy(tmp, pstart, pl);
        tmp[pl] = '\0';
        if (link_parse_long(tmp, 1, 65535, &port) != 0) {
            return -1;
        }
        memcpy(u->port, tmp, pl + 1);
    } else {
        strcpy(u->port, u->tls ? "443" : "80");
    }
    if (slash == NULL || *slash == '#') {
        strcpy(u->path, "/relay");
    } else {
        size_t      pl;
        const char *hash = strchr(slash, '#');

        pl = hash ? (size_t) (hash - slash) : strlen(slash);
        if (pl + 2 >= sizeof(u->path)) {
            return -1;
        }
        if (*slash == '?') {
            u->path[0] = '/';
            memcpy(u->path + 1, slash, pl);
            u->path[pl + 1] = '\0';
        } else {
            memcpy(u->path, slash, pl);
            u->path[pl] = '\0';
        }
        for (size_t i = 0; u->path[i]; i++) {
            unsigned char c = (unsigned char) u->path[i];

            if (c <= ' ' || c >= 0x7f) {
                return -1;
            }
        }
    }
    if (strchr(u->host, ':')) {
        snprintf(u->hostport, sizeof(u->hostport), "[%s]:%s", u->host,
                 u->port);
    } else if ((u->tls && strcmp(u->port, "443") == 0)
               || (!u->tls && strcmp(u->port, "80") == 0))
    {
        snprintf(u->hostport, sizeof(u->hostport), "%s", u->host);
    } else {
        snprintf(u->hostport, sizeof(u->hostport), "%s:%s", u->host,
                 u->port);
    }
    return 0;
}

static link_conn_t *
conn_new(int fd)
{
    link_conn_t *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        return NULL;
    }
    c->fd = fd;
    return c;
}

link_conn_t *
link_conn_from_fd(int fd)
{
    int one = 1;

    if (link_set_nonblock(fd) != 0) {
        return NULL;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return conn_new(fd);
}

int
link_conn_tls_begin(link_conn_t *c, const char *host, const char *ca_file,
    const char **why)
{
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (c->ctx == NULL) {
        *why = "TLS context";
        return -1;
    }
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    if (ca_file != NULL) {
        if (SSL_CTX_load_verify_locations(c->ctx, ca_file, NULL) != 1) {
            ERR_clear_error();
            *why = "cannot load the CA file";
            return -1;
        }
    } else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
        ERR_clear_error();
        *why = "cannot load the system CA store";
        return -1;
    }
    c->ssl = SSL_new(c->ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
        *why = "TLS session";
        return -1;
    }
    /*
     * The output buffer may move (it grows) between a write that wanted
     * to be retried and its retry; partial writes let the caller consume
     * what went out, as with send() on plain TCP.
     */
    SSL_set_mode(c->ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                         | SSL_MODE_ENABLE_PARTIAL_WRITE);
    SSL_set_tlsext_host_name(c->ssl, host);
    SSL_set1_host(c->ssl, host);
    c->hs_events = POLLOUT;
    return 0;
}

int
link_conn_tls_step(link_conn_t *c, const char **why)
{
    int  rc = SSL_connect(c->ssl), e;
    long vr;

    if (rc == 1) {
        c->hs_events = 0;
        return 0;
    }
    e = SSL_get_error(c->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        c->hs_events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        return LINK_IO_AGAIN;
    }
    vr = SSL_get_verify_result(c->ssl);
    ERR_clear_error();
    if (vr != X509_V_OK) {
        *why = X509_verify_cert_error_string(vr);
        return LINK_TLS_UNTRUSTED;
    }
    *why = "TLS handshake failed";
    return -1;
}

int
link_conn_tls_events(const link_conn_t *c)
{
    return c->hs_events;
}

int
link_conn_fd(const link_conn_t *c)
{
    return c->fd;
}

int
link_conn_want_read(const link_conn_t *c)
{
    return c->want_read;
}

long
link_conn_read(link_conn_t *c, void *buf, size_t n)
{
    if (c->ssl != NULL) {
        size_t got = 0;
        int    rc, e;

        rc = SSL_read_ex(c->ssl, buf, n, &got);
        if (rc == 1) {
            return (long) got;
        }
        e = SSL_get_error(c->ssl, rc);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            return LINK_IO_AGAIN;
        }
        ERR_clear_error();
        return e == SSL_ERROR_ZERO_RETURN ? 0 : LINK_IO_ERROR;
    }
    for ( ;; ) {
        ssize_t r = read(c->fd, buf, n);

        if (r >= 0) {
            return (long) r;
        }
        if (errno == EINTR) {
            continue;
        }
        return (errno == EAGAIN || errno == EWOULDBLOCK)
               ? LINK_IO_AGAIN : LINK_IO_ERROR;
    }
}

long
link_conn_write(link_conn_t *c, const void *buf, size_t n)
{
    if (c->ssl != NULL) {
        size_t put = 0;
        int    rc, e;

        c->want_read = 0;
        rc = SSL_write_ex(c->ssl, buf, n, &put);
        if (rc == 1) {
            return (long) put;
        }
        e = SSL_get_error(c->ssl, rc);
        if (e == SSL_ERROR_WANT_WRITE) {
            return LINK_IO_AGAIN;
        }
        if (e == SSL_ERROR_WANT_READ) {
            c->want_read = 1;
            return LINK_IO_AGAIN;
        }
        ERR_clear_error();
        return LINK_IO_ERROR;
    }
    for ( ;; ) {
        ssize_t r = send(c->fd, buf, n, MSG_NOSIGNAL);

        if (r >= 0) {
            return (long) r;
        }
        if (errno == EINTR) {
            continue;
        }
        return (errno == EAGAIN || errno == EWOULDBLOCK)
               ? LINK_IO_AGAIN : LINK_IO_ERROR;
    }
}

int
link_conn_release(link_conn_t *c)
{
    int fd = c->fd;

    c->fd = -1;
    link_conn_close(c);
    return fd;
}

void
link_conn_close(link_conn_t *c)
{
    if (c == NULL) {
        return;
    }
    if (c->ssl != NULL) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    if (c->ctx != NULL) {
        SSL_CTX_free(c->ctx);
    }
    if (c->fd >= 0) {
        close(c->fd);
    }
    free(c);
}

int
link_tcp_listen(const char *hostport, const char **why)
{
    char             host[LINK_HOST_MAX], port[8];
    struct addrinfo  hints, *res = NULL, *ai;
    int              fd = -1, one = 1;

    if (link_hostport_parse(hostport, host, sizeof(host), port,
                            sizeof(port)) != 0)
    {
        *why = "expected ADDR:PORT";
        return -1;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (getaddrinfo(host, port, &hints, &res) != 0) {
        *why = "cannot resolve the address";
        return -1;
    }
    *why = "cannot listen";
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0
            && listen(fd, 64) == 0 && link_set_nonblock(fd) == 0)
        {
            break;
        }
        *why = strerror(errno);
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}
