/*
 * A minimal WebSocket peer built only from the libclawnexus codecs, for
 * interoperability tests against independent implementations (Python
 * websockets, Node ws).
 *
 *   codec_ws_peer server       listen on 127.0.0.1 (port printed on
 *                              stdout), accept connections one after
 *                              another on path /relay and echo messages
 *   codec_ws_peer client PORT  connect to ws://127.0.0.1:PORT/relay, run
 *                              a fixed exchange against an echo server
 *
 * Exit status 0 means every check passed; messages go to stderr.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "cnx_http.h"
#include "cnx_ws.h"

#define PEER_MAX_MESSAGE  (1u << 20)
#define PEER_BUF          (64 * 1024)

static int
write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    ssize_t        w;

    while (n > 0) {
        w = write(fd, b, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        b += w;
        n -= (size_t) w;
    }
    return 0;
}

/* Send one frame; masked frames get a fresh random key. */
static int
send_frame(int fd, int fin, int op, const uint8_t *p, size_t n, int masked)
{
    uint8_t   hdr[CNX_WS_MAX_HEADER], key[4], *tmp;
    size_t    h;
    int       rc;

    if (masked) {
        randombytes_buf(key, 4);
    }
    h = cnx_ws_frame_header(hdr, fin, op, n, masked ? key : NULL);
    tmp = malloc(h + n + 1);
    if (tmp == NULL) {
        return -1;
    }
    memcpy(tmp, hdr, h);
    if (n > 0) {
        memcpy(tmp + h, p, n);
    }
    if (masked) {
        cnx_ws_mask(tmp + h, n, key, 0);
    }
    rc = write_all(fd, tmp, h + n);
    free(tmp);
    return rc;
}

/* Send one message as a single frame, or in fragments of frag bytes. */
static int
send_msg(int fd, int op, const uint8_t *p, size_t n, int masked, size_t frag)
{
    size_t  off = 0, len;
    int     first = 1;

    do {
        len = frag && n - off > frag ? frag : n - off;
        if (send_frame(fd, off + len == n, first ? op : CNX_WS_OP_CONT,
                       p + off, len, masked) != 0)
        {
            return -1;
        }
        off += len;
        first = 0;
    } while (off < n);
    return 0;
}

typedef struct {
    int              fd;
    int              masked_out;
    uint8_t          buf[PEER_BUF];
    size_t           have;
    cnx_ws_reader_t  r;
} peer_t;

/* Next message, or a negative close code / -1 on EOF. */
static int
recv_msg(peer_t *c, cnx_ws_msg_t *m)
{
    size_t   used;
    ssize_t  k;
    int      rc;

    for ( ;; ) {
        rc = cnx_ws_reader_next(&c->r, c->buf, c->have, &used, m);
        if (rc == CNX_WS_MSG) {
            /* A message may lie in buf (zero copy): save it first. */
            if (m->data >= c->buf && m->data < c->buf + PEER_BUF) {
                static uint8_t  copy[PEER_BUF];

                memcpy(copy, m->data, m->len);
                m->data = copy;
            }
            memmove(c->buf, c->buf + used, c->have - used);
            c->have -= used;
            return rc;
        }
        memmove(c->buf, c->buf + used, c->have - used);
        c->have -= used;
        if (rc < 0) {
            return rc;
        }
        k = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return -1;
        }
        c->have += (size_t) k;
    }
}

static void
send_close(peer_t *c, unsigned code, const char *reason)
{
    uint8_t  p[CNX_WS_MAX_CONTROL];
    size_t   n = cnx_ws_close_build(p, code, reason, strlen(reason));

    (void) send_msg(c->fd, CNX_WS_OP_CLOSE, p, n, c->masked_out, 0);
}

/* Server ------------------------------------------------------------------ */

static void
serve_one(int fd)
{
    static peer_t  c;
    char           out[512], acc[29];
    cnx_http_upgrade_t u;
    cnx_ws_msg_t   m;
    unsigned       code;
    ssize_t        k;
    int            rc, n;

    memset(&c, 0, sizeof(c));
    c.fd = fd;
    for ( ;; ) {
        k = read(fd, c.buf + c.have, sizeof(c.buf) - c.have);
        if (k <= 0) {
            return;
        }
        c.have += (size_t) k;
        rc = cnx_http_parse_upgrade((char *) c.buf, c.have, &u);
        if (rc > 0) {
            break;
        }
        if (rc < 0) {
            n = cnx_http_build_error(out, sizeof(out),
                                     cnx_http_error_status(rc));
            (void) write_all(fd, out, (size_t) n);
            fprintf(stderr, "server: handshake refused (%d)\n", rc);
            return;
        }
    }
    if (u.path.len != 6 || memcmp(u.path.p, "/relay", 6) != 0) {
        n = cnx_http_build_error(out, sizeof(out), 404);
        (void) write_all(fd, out, (size_t) n);
        fprintf(stderr, "server: 404\n");
        return;
    }
    if (cnx_ws_accept_key(u.key.p, u.key.len, acc) != 0) {
        return;
    }
    n = cnx_http_build_101(out, sizeof(out), acc);
    if (write_all(fd, out, (size_t) n) != 0) {
        return;
    }
    fprintf(stderr, "server: open (deflate offered: %u)\n",
            u.deflate_offered);
    memmove(c.buf, c.buf + rc, c.have - (size_t) rc);
    c.have -= (size_t) rc;
    cnx_ws_reader_init(&c.r, PEER_MAX_MESSAGE, 1);

    for ( ;; ) {
        rc = recv_msg(&c, &m);
        if (rc == -1) {
            fprintf(stderr, "server: eof\n");
            break;
        }
        if (rc < 0) {
            fprintf(stderr, "server: error, close %d\n", -rc);
            send_close(&c, (unsigned) -rc, "error");
            break;
        }
        if (m.opcode == CNX_WS_OP_TEXT || m.opcode == CNX_WS_OP_BINARY) {
            fprintf(stderr, "server: echo %s %zu\n",
                    m.opcode == CNX_WS_OP_TEXT ? "text" : "binary", m.len);
            (void) send_msg(fd, m.opcode, m.data, m.len, 0, 0);
        } else if (m.opcode == CNX_WS_OP_PING) {
            (void) send_msg(fd, CNX_WS_OP_PONG, m.data, m.len, 0, 0);
        } else if (m.opcode == CNX_WS_OP_CLOSE) {
            (void) cnx_ws_close_parse(m.data, m.len, &code, NULL, NULL);
            fprintf(stderr, "server: close %u\n", code);
            send_close(&c, code == CNX_WS_CLOSE_NO_STATUS ? 1000 : code, "");
            break;
        }
    }
    cnx_ws_reader_free(&c.r);
}

static int
run_server(void)
{
    struct sockaddr_in  a;
    socklen_t           al = sizeof(a);
    int                 s, fd, one = 1;

    s = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (s < 0 || bind(s, (struct sockaddr *) &a, sizeof(a)) != 0
        || listen(s, 8) != 0 || getsockname(s, (struct sockaddr *) &a, &al))
    {
        perror("server: listen");
        return 1;
    }
    printf("%u\n", ntohs(a.sin_port));
    fflush(stdout);
    for ( ;; ) {
        fd = accept(s, NULL, NULL);
        if (fd < 0) {
            continue;
        }
        serve_one(fd);
        close(fd);
    }
}

/* Client ------------------------------------------------------------------ */

#define CHECK(cond, what)  do { if (!(cond)) { \
        fprintf(stderr, "client: FAILED: %s\n", what); return 1; } } while (0)

/* Connect to 127.0.0.1:port and complete the opening handshake. */
static int
client_open(peer_t *c, int port)
{
    struct sockaddr_in  a;
    char                key[25], req[512], host[32];
    ssize_t             k;
    int                 rc, n, status = 0;

    memset(c, 0, sizeof(*c));
    c->masked_out = 1;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t) port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(c->fd >= 0
          && connect(c->fd, (struct sockaddr *) &a, sizeof(a)) == 0,
          "connect");

    snprintf(host, sizeof(host), "127.0.0.1:%d", port);
    cnx_http_client_key(key);
    n = cnx_http_build_request(req, sizeof(req), host, "/relay", key,
                               "codec-ws-peer");
    CHECK(n > 0 && write_all(c->fd, req, (size_t) n) == 0, "send request");
    for ( ;; ) {
        k = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);
        CHECK(k > 0, "read response");
        c->have += (size_t) k;
        rc = cnx_http_parse_response((char *) c->buf, c->have, key, &status);
        if (rc > 0) {
            break;
        }
        if (rc < 0) {
            fprintf(stderr, "client: handshake error %d, status %d\n", rc,
                    status);
            return 1;
        }
    }
    memmove(c->buf, c->buf + rc, c->have - (size_t) rc);
    c->have -= (size_t) rc;
    cnx_ws_reader_init(&c->r, PEER_MAX_MESSAGE, 0);
    fprintf(stderr, "client: open\n");
    return 0;
}

static int
run_client(int port)
{
    static peer_t   c;
    static uint8_t  big[300000];
    cnx_ws_msg_t    m;
    unsigned        code;
    size_t          i;
    int             got_pong = 0, got_text = 0, k;

    for (i = 0; i < sizeof(big); i++) {
        big[i] = (uint8_t) (i * 7 + (i >> 9));
    }

    if (client_open(&c, port) != 0) {
        return 1;
    }

    /* 1. text in one frame */
    CHECK(send_msg(c.fd, CNX_WS_OP_TEXT, (const uint8_t *) "h\xc3\xa9llo", 6,
                   1, 0) == 0, "send text");
    CHECK(recv_msg(&c, &m) == CNX_WS_MSG && m.opcode == CNX_WS_OP_TEXT
          && m.len == 6 && memcmp(m.data, "h\xc3\xa9llo", 6) == 0,
          "text echo");

    /* 2. text in two fragments split inside a character, with a ping
     *    between them: the pong and the whole text come back */
    CHECK(send_frame(c.fd, 0, CNX_WS_OP_TEXT, (const uint8_t *) "ab\xc3", 3,
                     1) == 0
          && send_frame(c.fd, 1, CNX_WS_OP_PING, (const uint8_t *) "p1", 2,
                        1) == 0
          && send_frame(c.fd, 1, CNX_WS_OP_CONT, (const uint8_t *) "\xa9" "cd",
                        3, 1) == 0, "send fragments");
    for (k = 0; k < 2; k++) {
        CHECK(recv_msg(&c, &m) == CNX_WS_MSG, "receive after fragments");
        if (m.opcode == CNX_WS_OP_PONG) {
            CHECK(m.len == 2 && memcmp(m.data, "p1", 2) == 0, "pong payload");
            got_pong++;
        } else {
            CHECK(m.opcode == CNX_WS_OP_TEXT && m.len == 6
                  && memcmp(m.data, "ab\xc3\xa9" "cd", 6) == 0,
                  "fragmented text echo");
            got_text++;
        }
    }
    CHECK(got_pong == 1 && got_text == 1, "one pong and one text");

    /* 3. 300000 bytes of binary sent in 70000-byte fragments; the echo
     *    is larger than the read buffer, so it is reassembled */
    CHECK(send_msg(c.fd, CNX_WS_OP_BINARY, big, sizeof(big), 1, 70000) == 0,
          "send binary");
    CHECK(recv_msg(&c, &m) == CNX_WS_MSG && m.opcode == CNX_WS_OP_BINARY
          && m.len == sizeof(big) && memcmp(m.data, big, sizeof(big)) == 0,
          "binary echo");

    /* 4. closing handshake */
    send_close(&c, 1000, "done");
    CHECK(recv_msg(&c, &m) == CNX_WS_MSG && m.opcode == CNX_WS_OP_CLOSE
          && cnx_ws_close_parse(m.data, m.len, &code, NULL, NULL) == 0
          && code == 1000, "close 1000 echoed");
    cnx_ws_reader_free(&c.r);
    close(c.fd);

    /* 5. a second connection: invalid UTF-8 is refused with 1007 */
    if (client_open(&c, port) != 0) {
        return 1;
    }
    CHECK(send_msg(c.fd, CNX_WS_OP_TEXT, (const uint8_t *) "\xc0\x80", 2, 1,
                   0) == 0, "send bad text");
    CHECK(recv_msg(&c, &m) == CNX_WS_MSG && m.opcode == CNX_WS_OP_CLOSE
          && cnx_ws_close_parse(m.data, m.len, &code, NULL, NULL) == 0
          && code == 1007, "close 1007 for invalid UTF-8");
    cnx_ws_reader_free(&c.r);
    close(c.fd);

    fprintf(stderr, "client: all checks passed\n");
    return 0;
}

int
main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (sodium_init() < 0) {
        return 1;
    }
    if (argc == 2 && strcmp(argv[1], "server") == 0) {
        return run_server();
    }
    if (argc == 3 && strcmp(argv[1], "client") == 0) {
        return run_client(atoi(argv[2]));
    }
    fprintf(stderr, "usage: codec_ws_peer server | client PORT\n");
    return 2;
}
