/*
 * clawnexus-link: addresses, URLs, and an optional TLS layer (OpenSSL)
 * behind one read/write interface.
 */

#ifndef CNX_LINK_NET_H
#define CNX_LINK_NET_H

#include <stddef.h>
#include <sys/socket.h>

#define LINK_HOST_MAX 256
#define LINK_PATH_MAX 1024

typedef struct {
    int  tls;                       /* wss:// */
    char host[LINK_HOST_MAX];       /* without brackets */
    char port[8];
    char path[LINK_PATH_MAX];       /* path and query, starts with '/' */
    char hostport[LINK_HOST_MAX + 10]; /* for the Host header */
} link_url_t;

/*
 * ws://HOST[:PORT][/PATH] or wss://...; HOST may be [IPv6].  An empty path
 * becomes "/relay" (the relay's only path).  Returns 0 or -1.
 */
int link_url_parse(const char *s, link_url_t *u);

/* "HOST:PORT" or "[V6]:PORT" into host and port; 0 or -1. */
int link_hostport_parse(const char *s, char *host, size_t hcap,
    char *port, size_t pcap);

/* A TCP (optionally TLS) connection. */
typedef struct link_conn_s link_conn_t;

#define LINK_IO_AGAIN  (-2)         /* would block */
#define LINK_IO_ERROR  (-1)

/* Wrap an accepted/connected socket (made non-blocking, TCP_NODELAY). */
link_conn_t *link_conn_from_fd(int fd);

/*
 * Client TLS over c (SNI and certificate name = host); ca_file NULL uses
 * the system store.  link_conn_tls_begin() sets it up (0 or -1);
 * link_conn_tls_step() advances the handshake without blocking: 0 done,
 * LINK_IO_AGAIN (wait for link_conn_tls_events(), POLLIN or POLLOUT),
 * -1, or LINK_TLS_UNTRUSTED when the certificate did not verify (*why
 * set on failure).
 */
#define LINK_TLS_UNTRUSTED (-3)
int link_conn_tls_begin(link_conn_t *c, const char *host,
    const char *ca_file, const char **why);
int link_conn_tls_step(link_conn_t *c, const char **why);
int link_conn_tls_events(const link_conn_t *c);

int  link_conn_fd(const link_conn_t *c);
/* > 0 bytes, 0 EOF, LINK_IO_AGAIN, LINK_IO_ERROR. */
long link_conn_read(link_conn_t *c, void *buf, size_t n);
/* > 0 bytes written, LINK_IO_AGAIN, LINK_IO_ERROR. */
long link_conn_write(link_conn_t *c, const void *buf, size_t n);
/* TLS wants to read before it can write (poll for POLLIN too). */
int  link_conn_want_read(const link_conn_t *c);
void link_conn_close(link_conn_t *c);
/* Free a plain TCP connection's wrapper, keeping its socket (returned). */
int  link_conn_release(link_conn_t *c);

/* Listening socket on "ADDR:PORT" (non-blocking, SO_REUSEADDR). */
int link_tcp_listen(const char *hostport, const char **why);

int link_set_nonblock(int fd);

#endif
