/*
 * cnx-loadgen: load generator for ClawNexus relays (the nginx module, the
 * Node baseline, or nginx's plain stream proxy).  Many WebSocket clients
 * per thread on epoll, speaking the relay protocol through the shared
 * codecs of libclawnexus, with its own correctness checks: every DATA
 * carries a sequence number and a known filler, and each receiver checks
 * room, order, length and content, so a relay that loses, duplicates,
 * reorders or corrupts messages is reported as failed, not as fast.
 *
 * Modes (see bench/README.md):
 *   msgs  N pairs exchange DATA both ways (JSON or binary path) for a
 *         duration, at most --window messages in flight per direction;
 *   pair  pairing latency: JOIN -> INCOMING -> ACCEPT -> both JOINED,
 *         one pairing outstanding at a time, optionally while --load-pairs
 *         pairs run "msgs" load in a second thread;
 *   idle  register --count sockets, then pair them into rooms that each
 *         carry one message both ways; the relay's RSS is sampled after
 *         each phase (memory per idle socket and per active room);
 *   raw   bytes through a plain TCP proxy (nginx proxy_pass) to a sink in
 *         this process: the ceiling for moving bytes through nginx.
 * CPU time (utime + stime) and RSS of the relay processes given with
 * --pids are read from /proc around the measured interval.  One result
 * line of key=value pairs goes to stdout; exit status 0 only when every
 * check passed.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <sys/random.h>

#include <sodium.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cnx_http.h"
#include "cnx_jwt.h"
#include "cnx_relay_msg.h"
#include "cnx_ws.h"

#define LG_RBUF        (512 * 1024)
#define LG_MAX_PIDS    64
#define LG_MAX_CONNECT 256        /* connects + handshakes in flight */
#define LG_SEQ_LEN     16         /* hex digits of the sequence number */

enum { MODE_MSGS, MODE_PAIR, MODE_IDLE, MODE_RAW };

enum {
    ST_NEW, ST_CONNECTING, ST_UPGRADING, ST_OPEN, ST_REGISTERED,
    ST_JOINED, ST_CLOSED
};

/* Global phases, set by the main thread, read by the workers. */
enum {
    PH_CONNECT, PH_JOIN, PH_RUN, PH_DRAIN, PH_STOP
};

typedef struct lg_thread_s lg_thread_t;

typedef struct lg_conn_s {
    int              fd;
    int              state;
    int              initiator;     /* sends JOIN (A side of the pair) */
    lg_thread_t     *th;
    struct lg_conn_s *peer;
    unsigned         id;
    char             claw_id[64];
    char             room[80];
    size_t           room_len;
    uint8_t          mask[4];
    uint8_t         *rbuf;
    size_t           rlen;
    uint8_t         *wbuf;
    size_t           woff, wlen, wcap;
    int              want_out;
    cnx_ws_reader_t   rd;
    char             ws_key[32];
    /* DATA template: one complete masked frame; the sequence number is
     * patched in at seq_off (payload offset seq_poff for the mask). */
    uint8_t         *tmpl;
    size_t           tmpl_len;
    size_t           seq_off, seq_poff;
    uint8_t         *expect;        /* payload the peer's frames carry */
    size_t           expect_len;
    uint64_t         sent, recvd;   /* DATA messages */
    uint64_t         rx_bytes;      /* payload bytes received */
    /* pairing */
    int              joins_done;
    double           join_t0, joined_a, joined_b;
    double           ping_t0;
    /* raw mode: stream reassembly */
    size_t           chunk_fill;
    int              hello_done;
    SSL             *ssl;           /* --tls: the connection's TLS state */
    int              big;           /* idle mode: sends one --big-size
                                       message, then stays idle */
} lg_conn_t;

typedef struct {
    int      mode;
    int      binary;
    size_t   size;
    unsigned pairs;
    unsigned count;           /* idle mode: sockets */
    unsigned joins;           /* pair mode: pairings per pair */
    unsigned window;
    double   duration;
    int      port;
    int      port2;            /* the B sides' relay (another node), or 0 */
    int      sink_port;
    char     host[64];
    uint8_t  secret[256];
    size_t   secret_len;
    char    *issuer;
    pid_t    pids[LG_MAX_PIDS];
    int      npids;
    unsigned load_pairs;
    double   rate;             /* msgs mode: total DATA/s, 0 = as fast as
                                  the window allows */
    char     prefix[32];
    int      verbose;
    char    *lat_out;          /* pair mode: samples, one per line (us) */
    int      wormhole;         /* raw mode through magic-wormhole's
                                  transit relay instead of a proxy */
    unsigned big_pairs;        /* idle mode: pairs whose room carries one
                                  --big-size message each way */
    size_t   big_size;
    SSL_CTX *tls;              /* --tls: wss (certificate not verified:
                                  127.0.0.1 and a throwaway certificate) */
} lg_conf_t;

struct lg_thread_s {
    int              idx;
    int              ep;
    int              mode;            /* what this thread runs */
    unsigned         npairs;
    lg_conn_t       *conns;           /* 2 * npairs */
    unsigned         next_connect;
    unsigned         connecting;
    unsigned         registered;
    unsigned         joined;
    int              started_join;    /* this thread sent its JOINs */
    /* pair mode */
    unsigned         pair_cursor;
    int              pair_busy;
    double          *lat;
    unsigned         nlat, caplat;
    double          *ping;          /* PING -> PONG round trips */
    unsigned         nping;
    /* raw mode */
    int              lfd;
    /* results */
    uint64_t         errors;
    char             first_error[256];
    pthread_t        tid;
};

static lg_conf_t     cf;
static atomic_int    g_phase = PH_CONNECT;
static atomic_uint   g_registered, g_joined, g_pair_done;
static atomic_int    g_idle_rooms_go;
static atomic_int    g_failed;        /* some check failed: stop waiting */
static double        g_run_t0;        /* when PH_RUN began (set before) */
static char          g_tls[96];       /* --tls: version/cipher (thread 0) */

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
lg_error(lg_thread_t *th, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
lg_error(lg_thread_t *th, const char *fmt, ...)
{
    va_list ap;

    atomic_store(&g_failed, 1);
    if (th->errors++ == 0) {
        va_start(ap, fmt);
        vsnprintf(th->first_error, sizeof(th->first_error), fmt, ap);
        va_end(ap);
    }
    if (cf.verbose) {
        va_start(ap, fmt);
        fprintf(stderr, "cnx-loadgen: t%d: ", th->idx);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
}

/* ------------------------------------------------------------------ */
/* /proc sampling of the relay processes */

static int
proc_cpu_ticks(pid_t pid, unsigned long long *ticks)
{
    char path[64], buf[1024], *p;
    unsigned long long ut, st;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');          /* comm may contain spaces */
    if (p == NULL) {
        return -1;
    }
    /* after ") ": state(3) ... utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &ut, &st) != 2)
    {
        return -1;
    }
    *ticks = ut + st;
    return 0;
}

/* Each relay process's CPU ticks at the start (g_ticks0) and the end
 * (g_ticks1) of the measured window, for the per-process figures of the
 * result line (pid_cpu=). */
static unsigned long long g_ticks0[LG_MAX_PIDS], g_ticks1[LG_MAX_PIDS];

/* The relay processes' CPU seconds so far, their ticks each into each[]. */
static double
relay_cpu(unsigned long long *each)
{
    unsigned long long t, sum = 0;
    int i;

    for (i = 0; i < cf.npids; i++) {
        each[i] = 0;
        if (proc_cpu_ticks(cf.pids[i], &t) == 0) {
            each[i] = t;
            sum += t;
        }
    }
    return (double) sum / sysconf(_SC_CLK_TCK);
}

static long
relay_rss_kb(void)
{
    char path[64], line[256];
    long kb, sum = 0;
    FILE *f;
    int i;

    for (i = 0; i < cf.npids; i++) {
        snprintf(path, sizeof(path), "/proc/%d/status", (int) cf.pids[i]);
        f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }
        while (fgets(line, sizeof(line), f)) {
            if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) {
                sum += kb;
            }
        }
        fclose(f);
    }
    return sum;
}

/* ------------------------------------------------------------------ */
/* connections */

static void
conn_want_out(lg_conn_t *c, int on)
{
    struct epoll_event ev;

    if (c->want_out == on || c->fd < 0) {
        return;
    }
    c->want_out = on;
    ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
    ev.data.ptr = c;
    epoll_ctl(c->th->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static uint8_t *
conn_wspace(lg_conn_t *c, size_t n)
{
    size_t need;
    uint8_t *nb;

    if (c->woff == c->wlen) {
        c->woff = c->wlen = 0;
    }
    need = c->wlen + n;
    if (need > c->wcap) {
        if (c->woff > 0) {
            memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
            c->wlen -= c->woff;
            c->woff = 0;
            need = c->wlen + n;
        }
        if (need > c->wcap) {
            size_t cap = c->wcap ? c->wcap : 4096;

            while (cap < need) {
                cap *= 2;
            }
            nb = realloc(c->wbuf, cap);
            if (nb == NULL) {
                return NULL;
            }
            c->wbuf = nb;
            c->wcap = cap;
        }
    }
    return c->wbuf + c->wlen;
}

static void
conn_close(lg_conn_t *c)
{
    if (c->ssl != NULL) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        epoll_ctl(c->th->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
    c->state = ST_CLOSED;
}

static void
conn_fail(lg_conn_t *c, const char *what)
{
    lg_error(c->th, "%s: %s", c->claw_id, what);
    conn_close(c);
}

/* Queue one client WebSocket frame (masked with the connection's key). */
static int
conn_send_frame(lg_conn_t *c, int opcode, const void *data, size_t len)
{
    uint8_t *w;
    size_t h;

    w = conn_wspace(c, len + 14);
    if (w == NULL) {
        return -1;
    }
    h = cnx_ws_frame_header(w, 1, opcode, len, c->mask);
    memcpy(w + h, data, len);
    cnx_ws_mask(w + h, len, c->mask, 0);
    c->wlen += h + len;
    return 0;
}

/* TLS: one SSL_write (the handshake included); the result as send()
 * would give it, with errno EAGAIN when OpenSSL must wait for the socket:
 * for reading (*rd set, EPOLLIN retries) or for writing. */
static ssize_t
conn_tls_write(lg_conn_t *c, int *rd)
{
    int n, e;

    ERR_clear_error();
    n = SSL_write(c->ssl, c->wbuf + c->woff, (int) (c->wlen - c->woff));
    if (n > 0) {
        return n;
    }
    e = SSL_get_error(c->ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        *rd = (e == SSL_ERROR_WANT_READ);
        errno = EAGAIN;
        return -1;
    }
    errno = EPROTO;
    return -1;
}

static int
conn_flush(lg_conn_t *c)
{
    ssize_t n;
    int rd;

    while (c->woff < c->wlen) {
        if (c->ssl != NULL) {
            rd = 0;
            n = conn_tls_write(c, &rd);
            if (n < 0 && errno == EAGAIN && rd) {
                conn_want_out(c, 0);        /* EPOLLIN brings us back */
                return 0;
            }
            goto sent;
        }
        n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
    sent:
        if (n > 0) {
            c->woff += n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            conn_want_out(c, 1);
            return 0;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        return -1;
    }
    c->woff = c->wlen = 0;
    conn_want_out(c, 0);
    return 0;
}

/* The relay port of c: B sides (odd index) go to --port2 if given. */
static int
conn_port(lg_conn_t *c)
{
    return cf.port2 > 0 && ((c - c->th->conns) & 1) ? cf.port2 : cf.port;
}

static int
conn_start(lg_conn_t *c)
{
    struct sockaddr_in sa;
    struct epoll_event ev;
    int one = 1;

    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        lg_error(c->th, "socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(conn_port(c));
    inet_pton(AF_INET, cf.host, &sa.sin_addr);
    if (connect(c->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0
        && errno != EINPROGRESS)
    {
        lg_error(c->th, "connect %s:%d: %s", cf.host, conn_port(c),
                 strerror(errno));
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    c->state = ST_CONNECTING;
    c->want_out = 1;
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.ptr = c;
    epoll_ctl(c->th->ep, EPOLL_CTL_ADD, c->fd, &ev);
    c->th->connecting++;
    return 0;
}

static void
thread_connect_more(lg_thread_t *th)
{
    while (th->connecting < LG_MAX_CONNECT
           && th->next_connect < 2 * th->npairs)
    {
        /* raw mode: only the A sides connect; B sides are accepted */
        if (th->mode == MODE_RAW && !cf.wormhole && (th->next_connect & 1)) {
            th->next_connect++;
            continue;
        }
        if (conn_start(&th->conns[th->next_connect++]) < 0) {
            return;
        }
    }
}

/* ------------------------------------------------------------------ */
/* relay protocol */

static int
conn_send_text(lg_conn_t *c, const char *buf, int len)
{
    if (len < 0) {
        lg_error(c->th, "%s: message builder failed", c->claw_id);
        return -1;
    }
    return conn_send_frame(c, CNX_WS_OP_TEXT, buf, (size_t) len);
}

static int
conn_register(lg_conn_t *c)
{
    char tok[1024], msg[2048];
    int64_t t = time(NULL);
    int n;

    n = cnx_jwt_sign(tok, sizeof(tok), cf.secret, cf.secret_len, c->claw_id,
                    cf.issuer, t, t + 600);
    if (n < 0) {
        lg_error(c->th, "jwt sign failed");
        return -1;
    }
    n = cnx_relay_build_register(msg, sizeof(msg), c->claw_id, tok, cf.binary);
    return conn_send_text(c, msg, n);
}

static int
conn_join(lg_conn_t *c)
{
    char tok[1024], msg[2048];
    int64_t t = time(NULL);
    int n;

    n = cnx_jwt_sign(tok, sizeof(tok), cf.secret, cf.secret_len, c->claw_id,
                    cf.issuer, t, t + 600);
    if (n < 0) {
        lg_error(c->th, "jwt sign failed");
        return -1;
    }
    n = cnx_relay_build_join(msg, sizeof(msg), c->claw_id, c->peer->claw_id,
                             tok);
    c->join_t0 = now_s();
    c->joined_a = c->joined_b = 0;
    c->peer->joined_a = c->peer->joined_b = 0;
    return conn_send_text(c, msg, n);
}

/* base64url letters: safe inside a JSON string, never escaped */
static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void
fill_payload(uint8_t *p, size_t len, unsigned salt)
{
    size_t i;

    for (i = 0; i < len; i++) {
        p[i] = b64url[(i * 7 + salt) & 63];
    }
}

/*
 * Build the DATA frame template of c (what c sends) and the expected
 * payload of what c receives (what its peer sends).  The first LG_SEQ_LEN
 * bytes of every payload are the sequence number in hex.
 */
static int
conn_make_template(lg_conn_t *c)
{
    size_t size = c->big ? cf.big_size : cf.size;
    size_t plen = size < LG_SEQ_LEN ? LG_SEQ_LEN : size;
    uint8_t *payload, *frame;
    size_t bodycap, h, body_len, i;
    long n;

    payload = malloc(plen);
    frame = malloc(plen * 2 + 512);
    if (payload == NULL || frame == NULL) {
        free(payload);
        free(frame);
        return -1;
    }
    /* what c sends: salt = its id; what it receives: salt = peer id */
    fill_payload(payload, plen, c->id);
    memset(payload, '0', LG_SEQ_LEN);
    bodycap = plen * 2 + 512 - 14;
    if (cf.binary) {
        n = cnx_relay_bin_header(frame + 14, c->room, c->room_len);
        memcpy(frame + 14 + n, payload, plen);
        body_len = n + plen;
        i = n;                      /* payload offset in the body */
    } else {
        n = cnx_relay_build_data_str((char *) frame + 14, bodycap, c->room,
                        (const char *) payload, plen);
        if (n < 0) {
            free(payload);
            free(frame);
            return -1;
        }
        body_len = n;
        /* find the sequence placeholder: the payload string content */
        uint8_t *q = memmem(frame + 14, body_len, payload, plen);
        if (q == NULL) {
            free(payload);
            free(frame);
            return -1;
        }
        i = q - (frame + 14);
    }
    /* header written right in front of the body */
    {
        uint8_t hdr[14];

        h = cnx_ws_frame_header(hdr, 1,
                                cf.binary ? CNX_WS_OP_BINARY : CNX_WS_OP_TEXT,
                               body_len, c->mask);
        memcpy(frame + 14 - h, hdr, h);
    }
    cnx_ws_mask(frame + 14, body_len, c->mask, 0);
    c->tmpl = malloc(h + body_len);
    if (c->tmpl == NULL) {
        free(payload);
        free(frame);
        return -1;
    }
    memcpy(c->tmpl, frame + 14 - h, h + body_len);
    c->tmpl_len = h + body_len;
    c->seq_off = h + i;
    c->seq_poff = i;
    free(frame);

    fill_payload(payload, plen, c->peer->id);
    memset(payload, '0', LG_SEQ_LEN);
    c->expect = payload;
    c->expect_len = plen;
    return 0;
}

static const char hexd[] = "0123456789abcdef";

static void
seq_hex(uint8_t *out, uint64_t seq)
{
    int i;

    for (i = LG_SEQ_LEN - 1; i >= 0; i--) {
        out[i] = hexd[seq & 15];
        seq >>= 4;
    }
}

static int
seq_parse(const uint8_t *p, uint64_t *seq)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < LG_SEQ_LEN; i++) {
        v <<= 4;
        if (p[i] >= '0' && p[i] <= '9') {
            v |= p[i] - '0';
        } else if (p[i] >= 'a' && p[i] <= 'f') {
            v |= p[i] - 'a' + 10;
        } else {
            return -1;
        }
    }
    *seq = v;
    return 0;
}

/* Queue DATA messages while fewer than window are in flight. */
static void
conn_pump(lg_conn_t *c)
{
    uint8_t *w;
    int budget = 0;

    uint64_t limit = UINT64_MAX;

    if (c->state != ST_JOINED || c->tmpl == NULL) {
        return;
    }
    if (cf.rate > 0) {
        /* steady pace: this connection's share of --rate so far */
        limit = (uint64_t) (cf.rate / (2.0 * c->th->npairs)
                            * (now_s() - g_run_t0)) + 1;
    }
    while (c->sent - c->peer->recvd < cf.window && c->sent < limit
           && budget++ < 64)
    {
        w = conn_wspace(c, c->tmpl_len);
        if (w == NULL) {
            conn_fail(c, "out of memory");
            return;
        }
        memcpy(w, c->tmpl, c->tmpl_len);
        seq_hex(w + c->seq_off, c->sent);
        cnx_ws_mask(w + c->seq_off, LG_SEQ_LEN, c->mask, c->seq_poff);
        c->wlen += c->tmpl_len;
        c->sent++;
    }
}

static void
conn_check_payload(lg_conn_t *c, const uint8_t *room, size_t room_len,
    const uint8_t *p, size_t len)
{
    uint64_t seq;

    if (room_len != c->room_len || memcmp(room, c->room, room_len) != 0) {
        lg_error(c->th, "%s: DATA for another room", c->claw_id);
        return;
    }
    if (len != c->expect_len) {
        lg_error(c->th, "%s: DATA payload of %zu bytes, expected %zu",
                 c->claw_id, len, c->expect_len);
        return;
    }
    if (seq_parse(p, &seq) < 0) {
        lg_error(c->th, "%s: DATA payload without sequence", c->claw_id);
        return;
    }
    if (seq != c->recvd) {
        lg_error(c->th, "%s: DATA #%" PRIu64 " received, expected #%" PRIu64
                 " (loss, duplicate or reorder)", c->claw_id, seq, c->recvd);
        c->recvd = seq + 1;
        return;
    }
    if (memcmp(p + LG_SEQ_LEN, c->expect + LG_SEQ_LEN,
               len - LG_SEQ_LEN) != 0)
    {
        lg_error(c->th, "%s: DATA #%" PRIu64 " corrupted", c->claw_id, seq);
    }
    c->recvd++;
    c->rx_bytes += len;
}

static void
pair_latency_check(lg_conn_t *a)
{
    lg_thread_t *th = a->th;
    double t;

    if (a->joined_a == 0 || a->joined_b == 0) {
        return;
    }
    t = (a->joined_a > a->joined_b ? a->joined_a : a->joined_b) - a->join_t0;
    if (th->nlat < th->caplat) {
        th->lat[th->nlat++] = t;
    }
    a->joins_done++;
    a->joined_a = a->joined_b = 0;
    /* then one PING -> PONG through the same relay: the round trip of a
     * message the relay answers at once, as a reference for how much of
     * the pairing latency is the machine's scheduling */
    {
        char msg[64];
        int n = cnx_relay_build_ping(msg, sizeof(msg));

        a->ping_t0 = now_s();
        th->pair_busy = 2;
        if (conn_send_text(a, msg, n) < 0) {
            th->pair_busy = 0;
        }
    }
}

static void
on_joined(lg_conn_t *c, const char *room, size_t room_len)
{
    lg_conn_t *a = c->initiator ? c : c->peer;

    if (room_len == 0 || room_len >= sizeof(c->room)) {
        lg_error(c->th, "%s: JOINED with a bad room id", c->claw_id);
        return;
    }
    if (c->th->mode == MODE_PAIR) {
        double t = now_s();

        if (c->initiator) {
            a->joined_a = t;
        } else {
            a->joined_b = t;
        }
        pair_latency_check(a);
        if (c->state != ST_JOINED) {
            c->state = ST_JOINED;
        }
        return;
    }
    if (c->state == ST_JOINED) {
        lg_error(c->th, "%s: second JOINED", c->claw_id);
        return;
    }
    memcpy(c->room, room, room_len);
    c->room[room_len] = '\0';
    c->room_len = room_len;
    c->state = ST_JOINED;
    if (c->peer->state == ST_JOINED) {
        if (c->peer->room_len != room_len
            || memcmp(c->peer->room, room, room_len) != 0)
        {
            lg_error(c->th, "%s: the two ends got different rooms",
                     c->claw_id);
            return;
        }
        if (conn_make_template(c) < 0 || conn_make_template(c->peer) < 0) {
            lg_error(c->th, "%s: template failed", c->claw_id);
            return;
        }
        c->th->joined++;
        atomic_fetch_add(&g_joined, 1);
    }
}

static void
on_text(lg_conn_t *c, const char *buf, size_t len)
{
    cnx_relay_msg_t m;
    char msg[512];
    int rc;

    rc = cnx_relay_msg_parse(buf, len, &m);
    if (rc != 0) {
        lg_error(c->th, "%s: relay sent an unparsable message (%d): %.*s",
                 c->claw_id, rc, (int) (len > 120 ? 120 : len), buf);
        return;
    }
    switch (m.type) {
    case CNX_RELAY_REGISTERED:
        if (c->state != ST_OPEN) {
            lg_error(c->th, "%s: unexpected REGISTERED", c->claw_id);
            return;
        }
        if (strcmp(m.claw_id_s, c->claw_id) != 0)
        {
            lg_error(c->th, "%s: REGISTERED for another claw_id", c->claw_id);
            return;
        }
        if (cf.binary && m.binary != 1) {
            lg_error(c->th, "%s: relay does not offer binary DATA",
                     c->claw_id);
            return;
        }
        c->state = ST_REGISTERED;
        c->th->registered++;
        atomic_fetch_add(&g_registered, 1);
        return;
    case CNX_RELAY_INCOMING:
        if (c->initiator) {
            lg_error(c->th, "%s: INCOMING on the initiator", c->claw_id);
            return;
        }
        if (strcmp(m.from_claw_id_s, c->peer->claw_id) != 0)
        {
            lg_error(c->th, "%s: INCOMING from a stranger", c->claw_id);
            return;
        }
        rc = cnx_relay_build_accept(msg, sizeof(msg), m.room_id_s);
        conn_send_text(c, msg, rc);
        return;
    case CNX_RELAY_JOINED:
        on_joined(c, m.room_id_s, strlen(m.room_id_s));
        return;
    case CNX_RELAY_DATA:
        if (c->state != ST_JOINED || cf.binary) {
            lg_error(c->th, "%s: unexpected DATA", c->claw_id);
            return;
        }
        if (m.payload_escaped) {
            lg_error(c->th, "%s: DATA payload came back escaped", c->claw_id);
            return;
        }
        conn_check_payload(c, (const uint8_t *) m.room_id_s,
                           strlen(m.room_id_s),
                           (const uint8_t *) m.payload.p, m.payload.len);
        return;
    case CNX_RELAY_PONG:
        if (c->th->mode == MODE_PAIR && c->ping_t0 > 0) {
            lg_thread_t *th = c->th;

            if (th->nping < th->caplat) {
                th->ping[th->nping++] = now_s() - c->ping_t0;
            }
            c->ping_t0 = 0;
            th->pair_busy = 0;
        }
        return;
    case CNX_RELAY_PEER_LEFT:
        lg_error(c->th, "%s: PEER_LEFT during the run", c->claw_id);
        return;
    case CNX_RELAY_ERROR:
        lg_error(c->th, "%s: relay ERROR %.*s: %.*s", c->claw_id,
                 (int) m.code.len, m.code.p, (int) m.message.len,
                 m.message.p ? m.message.p : "");
        return;
    default:
        lg_error(c->th, "%s: unexpected message: %.*s", c->claw_id,
                 (int) (len > 120 ? 120 : len), buf);
        return;
    }
}

static void
on_binary(lg_conn_t *c, const uint8_t *p, size_t len)
{
    const uint8_t *room, *payload;
    size_t room_len, payload_len;

    if (!cf.binary || c->state != ST_JOINED) {
        lg_error(c->th, "%s: unexpected binary frame", c->claw_id);
        return;
    }
    if (cnx_relay_bin_parse(p, len, &room, &room_len, &payload, &payload_len)
        != 0)
    {
        lg_error(c->th, "%s: malformed binary DATA", c->claw_id);
        return;
    }
    conn_check_payload(c, room, room_len, payload, payload_len);
}

/* Process the frames in c->rbuf. */
static int
conn_frames(lg_conn_t *c)
{
    size_t off = 0, used;
    cnx_ws_msg_t msg;
    int rc;

    while (off < c->rlen) {
        rc = cnx_ws_reader_next(&c->rd, c->rbuf + off, c->rlen - off, &used,
                                &msg);
        off += used;
        if (rc == CNX_WS_AGAIN) {
            break;
        }
        if (rc < 0) {
            lg_error(c->th, "%s: WebSocket error from relay (%d)",
                     c->claw_id, rc);
            return -1;
        }
        switch (msg.opcode) {
        case CNX_WS_OP_TEXT:
            on_text(c, (const char *) msg.data, msg.len);
            break;
        case CNX_WS_OP_BINARY:
            on_binary(c, msg.data, msg.len);
            break;
        case CNX_WS_OP_PING:
            conn_send_frame(c, CNX_WS_OP_PONG, msg.data, msg.len);
            break;
        case CNX_WS_OP_CLOSE:
            if (atomic_load(&g_phase) < PH_STOP) {
                lg_error(c->th, "%s: relay closed the WebSocket",
                         c->claw_id);
            }
            return -1;
        default:
            break;
        }
    }
    if (off > 0) {
        memmove(c->rbuf, c->rbuf + off, c->rlen - off);
        c->rlen -= off;
    }
    return 0;
}

static int
conn_upgrade(lg_conn_t *c)
{
    int rc, status = 0;

    rc = cnx_http_parse_response((const char *) c->rbuf, c->rlen, c->ws_key,
                                &status);
    if (rc == 0) {
        return 0;
    }
    if (rc < 0) {
        lg_error(c->th, "%s: upgrade refused (%d, status %d)", c->claw_id,
                 rc, status);
        return -1;
    }
    memmove(c->rbuf, c->rbuf + rc, c->rlen - rc);
    c->rlen -= rc;
    c->state = ST_OPEN;
    if (c->ssl != NULL && c->th->idx == 0 && g_tls[0] == '\0') {
        /* what the relay chose, for the result line */
        snprintf(g_tls, sizeof(g_tls), "%s/%s", SSL_get_version(c->ssl),
                 SSL_get_cipher_name(c->ssl));
    }
    c->th->connecting--;
    thread_connect_more(c->th);
    if (conn_register(c) < 0) {
        return -1;
    }
    return conn_frames(c);
}

/* TLS: one SSL_read; -2 when it must wait (a write the handshake left
 * pending is retried here), else as recv() would return. */
static ssize_t
conn_tls_read(lg_conn_t *c)
{
    int n, e;

    ERR_clear_error();
    n = SSL_read(c->ssl, c->rbuf + c->rlen, (int) (LG_RBUF - c->rlen));
    if (n > 0) {
        return n;
    }
    e = SSL_get_error(c->ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (e == SSL_ERROR_WANT_WRITE) {
            conn_want_out(c, 1);
        } else if (c->woff < c->wlen && conn_flush(c) < 0) {
            conn_fail(c, "TLS write failed");
        }
        return -2;
    }
    if (e == SSL_ERROR_ZERO_RETURN) {
        return 0;
    }
    errno = EPROTO;
    return -1;
}

static void
conn_readable(lg_conn_t *c)
{
    ssize_t n;

    for ( ;; ) {
        if (c->rlen == LG_RBUF) {
            conn_fail(c, "receive buffer full (frame header too large?)");
            return;
        }
        if (c->ssl != NULL) {
            n = conn_tls_read(c);
            if (n == -2) {
                return;
            }
        } else {
            n = recv(c->fd, c->rbuf + c->rlen, LG_RBUF - c->rlen, 0);
        }
        if (n == 0) {
            if (atomic_load(&g_phase) < PH_STOP) {
                conn_fail(c, "relay closed the connection");
            } else {
                conn_close(c);
            }
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return;
            }
            if (errno == EINTR) {
                continue;
            }
            conn_fail(c, strerror(errno));
            return;
        }
        c->rlen += n;
        if (c->state == ST_UPGRADING) {
            if (conn_upgrade(c) < 0) {
                conn_close(c);
                return;
            }
        } else if (conn_frames(c) < 0) {
            conn_close(c);
            return;
        }
        if (c->ssl == NULL && (size_t) n < LG_RBUF / 2) {
            return;                 /* drained for now (level-triggered) */
        }
    }
}

static void
conn_connected(lg_conn_t *c)
{
    int err = 0, n;
    socklen_t l = sizeof(err);
    uint8_t *w;

    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if (err != 0) {
        lg_error(c->th, "connect %s:%d: %s", cf.host, conn_port(c),
                 strerror(err));
        conn_close(c);
        return;
    }
    if (cf.tls != NULL) {
        c->ssl = SSL_new(cf.tls);
        if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
            conn_fail(c, "SSL_new failed");
            return;
        }
        SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE
                     | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        SSL_set_connect_state(c->ssl);
    }
    cnx_http_client_key(c->ws_key);
    w = conn_wspace(c, 1024);
    {
        char host[96];

        snprintf(host, sizeof(host), "%s:%d", cf.host, conn_port(c));
        n = cnx_http_build_request((char *) w, 1024, host, "/relay",
                                   c->ws_key, "cnx-loadgen");
    }
    if (n < 0) {
        conn_fail(c, "request builder failed");
        return;
    }
    c->wlen += n;
    c->state = ST_UPGRADING;
}

/* ------------------------------------------------------------------ */
/* raw mode: client -> nginx proxy_pass -> sink in this process */

static int
raw_listen(lg_thread_t *th)
{
    struct sockaddr_in sa;
    struct epoll_event ev;
    int one = 1;

    th->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    setsockopt(th->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(cf.sink_port);
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (bind(th->lfd, (struct sockaddr *) &sa, sizeof(sa)) < 0
        || listen(th->lfd, 1024) < 0)
    {
        lg_error(th, "sink listen on 127.0.0.1:%d: %s", cf.sink_port,
                 strerror(errno));
        return -1;
    }
    ev.events = EPOLLIN;
    ev.data.ptr = NULL;             /* NULL = the listener */
    epoll_ctl(th->ep, EPOLL_CTL_ADD, th->lfd, &ev);
    return 0;
}

static void
raw_accept(lg_thread_t *th)
{
    struct epoll_event ev;
    int fd, one = 1;

    for ( ;; ) {
        fd = accept4(th->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            return;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        /* parked until its 4-byte hello says which pair it is */
        lg_conn_t *c = calloc(1, sizeof(*c));
        if (c == NULL) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->th = th;
        c->state = ST_UPGRADING;    /* waiting for hello */
        c->rbuf = malloc(8);
        ev.events = EPOLLIN;
        ev.data.ptr = c;
        epoll_ctl(th->ep, EPOLL_CTL_ADD, fd, &ev);
    }
}

/* A parked sink socket read its hello: move it into the pair's B slot. */
static void
raw_hello(lg_conn_t *tmp)
{
    lg_thread_t *th = tmp->th;
    struct epoll_event ev;
    uint32_t idx;
    ssize_t n;
    lg_conn_t *b;

    n = recv(tmp->fd, tmp->rbuf + tmp->rlen, 4 - tmp->rlen, 0);
    if (n <= 0) {
        if (n < 0 && errno == EAGAIN) {
            return;
        }
        epoll_ctl(th->ep, EPOLL_CTL_DEL, tmp->fd, NULL);
        close(tmp->fd);
        free(tmp->rbuf);
        free(tmp);
        return;
    }
    tmp->rlen += n;
    if (tmp->rlen < 4) {
        return;
    }
    memcpy(&idx, tmp->rbuf, 4);
    if (idx >= th->npairs || th->conns[2 * idx + 1].fd >= 0) {
        lg_error(th, "sink: bad hello");
        epoll_ctl(th->ep, EPOLL_CTL_DEL, tmp->fd, NULL);
        close(tmp->fd);
        free(tmp->rbuf);
        free(tmp);
        return;
    }
    b = &th->conns[2 * idx + 1];
    b->fd = tmp->fd;
    b->state = ST_JOINED;
    th->conns[2 * idx].state = ST_JOINED;
    ev.events = EPOLLIN;
    ev.data.ptr = b;
    epoll_ctl(th->ep, EPOLL_CTL_MOD, b->fd, &ev);
    free(tmp->rbuf);
    free(tmp);
    th->joined++;
    atomic_fetch_add(&g_registered, 2);
    atomic_fetch_add(&g_joined, 1);
}

static void
raw_connected(lg_conn_t *c)
{
    int err = 0;
    socklen_t l = sizeof(err);
    uint32_t idx = c->id / 2;
    uint8_t *w;

    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if (err != 0) {
        lg_error(c->th, "connect %s:%d: %s", cf.host, cf.port,
                 strerror(err));
        conn_close(c);
        return;
    }
    c->th->connecting--;
    thread_connect_more(c->th);
    if (cf.wormhole) {
        /* "please relay TOKEN for side SIDE\n", then wait for "ok\n"
         * (the transit relay's handshake, docs/transit.md there) */
        char line[128];
        int n;

        n = snprintf(line, sizeof(line), "please relay %032x%08x%08x%016x"
                     " for side %016x\n", 0u, (unsigned) getpid(),
                     (unsigned) c->th->idx, idx, c->id);
        w = conn_wspace(c, n);
        memcpy(w, line, n);
        c->wlen += n;
        c->state = ST_UPGRADING;
        c->rbuf = malloc(LG_RBUF);
        return;
    }
    w = conn_wspace(c, 4);
    memcpy(w, &idx, 4);
    c->wlen += 4;
    c->state = ST_REGISTERED;
}

/* wormhole: read the relay's "ok\n" (nothing else comes before we send) */
static void
raw_wait_ok(lg_conn_t *c)
{
    ssize_t n;

    n = recv(c->fd, c->rbuf + c->rlen, 3 - c->rlen, 0);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }
        conn_fail(c, "transit relay closed the connection");
        return;
    }
    c->rlen += n;
    if (c->rlen < 3) {
        return;
    }
    if (memcmp(c->rbuf, "ok\n", 3) != 0) {
        conn_fail(c, "transit relay did not say ok");
        return;
    }
    c->rlen = 0;
    c->state = ST_JOINED;
    if (c->peer->state == ST_JOINED) {
        c->th->joined++;
        atomic_fetch_add(&g_registered, 2);
        atomic_fetch_add(&g_joined, 1);
    }
}

/* raw chunks: 16 hex digits of sequence + filler, cf.size bytes each */
static void
raw_template(lg_conn_t *c)
{
    size_t plen = cf.size < LG_SEQ_LEN ? LG_SEQ_LEN : cf.size;

    c->tmpl = malloc(plen);
    c->expect = malloc(plen);
    fill_payload(c->tmpl, plen, c->id);
    fill_payload(c->expect, plen, c->peer->id);
    c->tmpl_len = c->expect_len = plen;
    c->seq_off = 0;
}

static void
raw_pump(lg_conn_t *c)
{
    uint8_t *w;
    int budget = 0;

    if (c->state != ST_JOINED || c->fd < 0) {
        return;
    }
    if (c->tmpl == NULL) {
        raw_template(c);
    }
    while (c->sent - c->peer->recvd < cf.window && budget++ < 64) {
        w = conn_wspace(c, c->tmpl_len);
        if (w == NULL) {
            return;
        }
        memcpy(w, c->tmpl, c->tmpl_len);
        seq_hex(w, c->sent);
        c->wlen += c->tmpl_len;
        c->sent++;
    }
}

static void
raw_readable(lg_conn_t *c)
{
    ssize_t n;
    size_t off, k;

    if (c->rbuf == NULL) {
        c->rbuf = malloc(LG_RBUF);
    }
    if (c->tmpl == NULL) {
        raw_template(c);
    }
    for ( ;; ) {
        n = recv(c->fd, c->rbuf, LG_RBUF, 0);
        if (n <= 0) {
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                return;
            }
            if (atomic_load(&g_phase) < PH_STOP) {
                conn_fail(c, "proxy closed the connection");
            } else {
                conn_close(c);
            }
            return;
        }
        /* compare the stream against the expected chunks in place */
        for (off = 0; off < (size_t) n; off += k) {
            size_t pos = c->chunk_fill;

            k = c->expect_len - pos;
            if (k > (size_t) n - off) {
                k = n - off;
            }
            if (pos < LG_SEQ_LEN) {
                uint8_t want[LG_SEQ_LEN];
                size_t m = LG_SEQ_LEN - pos < k ? LG_SEQ_LEN - pos : k;

                seq_hex(want, c->recvd);
                if (memcmp(c->rbuf + off, want + pos, m) != 0) {
                    lg_error(c->th, "raw stream: chunk %" PRIu64
                             " has a wrong sequence", c->recvd);
                }
                if (k > m && memcmp(c->rbuf + off + m,
                                    c->expect + pos + m, k - m) != 0)
                {
                    lg_error(c->th, "raw stream corrupted");
                }
            } else if (memcmp(c->rbuf + off, c->expect + pos, k) != 0) {
                lg_error(c->th, "raw stream corrupted");
            }
            c->chunk_fill += k;
            if (c->chunk_fill == c->expect_len) {
                c->chunk_fill = 0;
                c->recvd++;
                c->rx_bytes += c->expect_len;
            }
        }
        if ((size_t) n < LG_RBUF / 2) {
            return;
        }
    }
}

/* ------------------------------------------------------------------ */
/* the per-thread loop */

static void
thread_step_pairs(lg_thread_t *th, int phase)
{
    unsigned i;
    lg_conn_t *a;

    if (th->mode == MODE_PAIR) {
        /* one pairing outstanding at a time, round robin over pairs */
        if (phase < PH_RUN || th->pair_busy
            || th->registered < 2 * th->npairs)
        {
            return;
        }
        if (th->nlat >= th->caplat || th->pair_cursor >= th->caplat) {
            if (!atomic_load(&g_pair_done)) {
                atomic_store(&g_pair_done, 1);
            }
            return;
        }
        a = &th->conns[2 * (th->pair_cursor % th->npairs)];
        th->pair_cursor++;
        th->pair_busy = 1;
        conn_join(a);
        return;
    }
    if (th->mode == MODE_IDLE && !atomic_load(&g_idle_rooms_go)) {
        return;
    }
    if (phase >= PH_JOIN && !th->started_join
        && th->registered == 2 * th->npairs)
    {
        th->started_join = 1;
        /* the initiators (--split may have chosen others than the
           even-numbered sockets) */
        for (i = 0; i < 2 * th->npairs; i++) {
            if (th->conns[i].initiator) {
                conn_join(&th->conns[i]);
            }
        }
    }
}

static void
thread_flush_all(lg_thread_t *th, int phase)
{
    unsigned i;
    lg_conn_t *c;

    for (i = 0; i < 2 * th->npairs; i++) {
        c = &th->conns[i];
        if (c->fd < 0 || c->state == ST_CONNECTING) {
            continue;
        }
        if (phase == PH_RUN || (th->mode == MODE_IDLE && phase >= PH_JOIN
                                && c->sent == 0))
        {
            if (th->mode == MODE_RAW) {
                raw_pump(c);
            } else if (th->mode == MODE_IDLE) {
                if (c->state == ST_JOINED && c->peer->state == ST_JOINED
                    && c->tmpl != NULL && !(c->big && c->sent > 0))
                {
                    conn_pump(c);
                }
            } else {
                conn_pump(c);
            }
        }
        if (c->wlen > c->woff && !c->want_out) {
            if (conn_flush(c) < 0) {
                conn_fail(c, strerror(errno));
            }
        }
    }
}

static void *
thread_main(void *arg)
{
    lg_thread_t *th = arg;
    struct epoll_event evs[256];
    int n, i, phase;
    lg_conn_t *c;

    if (th->mode == MODE_RAW && !cf.wormhole && raw_listen(th) < 0) {
        return NULL;
    }
    thread_connect_more(th);
    for ( ;; ) {
        phase = atomic_load(&g_phase);
        if (phase == PH_STOP) {
            break;
        }
        thread_step_pairs(th, phase);
        thread_flush_all(th, phase);
        n = epoll_wait(th->ep, evs, 256, cf.rate > 0 ? 1 : 5);
        for (i = 0; i < n; i++) {
            c = evs[i].data.ptr;
            if (c == NULL) {
                raw_accept(th);
                continue;
            }
            if (th->mode == MODE_RAW && c->state == ST_UPGRADING
                && c->th == th && (c < th->conns
                                   || c >= th->conns + 2 * th->npairs))
            {
                raw_hello(c);
                continue;
            }
            if (th->mode == MODE_RAW && cf.wormhole
                && c->state == ST_UPGRADING)
            {
                if ((evs[i].events & EPOLLOUT) && conn_flush(c) < 0) {
                    conn_fail(c, strerror(errno));
                    continue;
                }
                if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                    raw_wait_ok(c);
                }
                continue;
            }
            if (c->fd < 0) {
                continue;
            }
            if (c->state == ST_CONNECTING) {
                if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
                    if (th->mode == MODE_RAW) {
                        raw_connected(c);
                    } else {
                        conn_connected(c);
                    }
                }
                if (c->fd >= 0 && conn_flush(c) < 0) {
                    conn_fail(c, strerror(errno));
                }
                continue;
            }
            if ((evs[i].events & EPOLLOUT) && conn_flush(c) < 0) {
                conn_fail(c, strerror(errno));
                continue;
            }
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                if (th->mode == MODE_RAW) {
                    raw_readable(c);
                } else {
                    conn_readable(c);
                }
            }
        }
    }
    return NULL;
}

static int
thread_init(lg_thread_t *th, int idx, int mode, unsigned npairs)
{
    unsigned i;
    lg_conn_t *c;

    memset(th, 0, sizeof(*th));
    th->idx = idx;
    th->mode = mode;
    th->npairs = npairs;
    th->lfd = -1;
    th->ep = epoll_create1(EPOLL_CLOEXEC);
    th->conns = calloc(2 * (size_t) npairs, sizeof(lg_conn_t));
    if (th->ep < 0 || th->conns == NULL) {
        return -1;
    }
    if (mode == MODE_PAIR) {
        th->caplat = npairs * cf.joins;
        th->lat = calloc(th->caplat, sizeof(double));
        th->ping = calloc(th->caplat, sizeof(double));
    }
    for (i = 0; i < 2 * npairs; i++) {
        c = &th->conns[i];
        c->fd = -1;
        c->th = th;
        c->id = i;
        c->initiator = (i % 2) == 0;
        c->big = mode == MODE_IDLE && i / 2 < cf.big_pairs;
        c->peer = &th->conns[i ^ 1];
        snprintf(c->claw_id, sizeof(c->claw_id), "%s-t%d-%u%c", cf.prefix,
                 idx, i / 2, c->initiator ? 'a' : 'b');
        if (getrandom(c->mask, 4, 0) != 4) {
            return -1;
        }
        if (mode != MODE_RAW) {
            c->rbuf = malloc(LG_RBUF);
            if (c->rbuf == NULL) {
                return -1;
            }
            cnx_ws_reader_init(&c->rd, 16 * 1024 * 1024, 0);
        }
    }
    if (mode == MODE_RAW) {
        /* B sides are the sink's accepted sockets; A sides connect */
        for (i = 0; i < npairs; i++) {
            th->conns[2 * i + 1].state = ST_NEW;
        }
    }
    return 0;
}

static void
thread_free(lg_thread_t *th)
{
    unsigned i;
    lg_conn_t *c;

    for (i = 0; th->conns != NULL && i < 2 * th->npairs; i++) {
        c = &th->conns[i];
        if (c->fd >= 0) {
            close(c->fd);
        }
        cnx_ws_reader_free(&c->rd);     /* calloc'd: safe if unused */
        free(c->rbuf);
        free(c->wbuf);
        free(c->tmpl);
        free(c->expect);
    }
    free(th->conns);
    free(th->lat);
    free(th->ping);
    if (th->lfd >= 0) {
        close(th->lfd);
    }
    if (th->ep >= 0) {
        close(th->ep);
    }
}

/* ------------------------------------------------------------------ */

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}

static double
pct(const double *v, unsigned n, double p)
{
    unsigned i;

    if (n == 0) {
        return 0;
    }
    i = (unsigned) (p * (n - 1) + 0.5);
    return v[i >= n ? n - 1 : i];
}

static void
usage(FILE *f)
{
    fprintf(f,
"usage: cnx-loadgen --port N [options]\n"
"  --mode msgs|pair|idle|raw   what to measure (default msgs)\n"
"  --host ADDR                 relay address (default 127.0.0.1)\n"
"  --port N                    relay port (WebSocket path /relay)\n"
"  --secret-file F             HS256 secret shared with the relay\n"
"  --issuer ISS                iss claim of the minted tokens\n"
"  --path json|binary          DATA path (default json)\n"
"  --size BYTES                DATA payload size (default 200)\n"
"  --pairs N                   client pairs (default 20)\n"
"  --window N                  DATA in flight per direction (default 32)\n"
"  --duration S                measured seconds (default 3)\n"
"  --joins N                   pair mode: pairings per pair (default 4)\n"
"  --load-pairs N              pair mode: pairs of msgs load meanwhile\n"
"  --rate N                    msgs load: N DATA/s in total (default: as\n"
"                              fast as the window allows)\n"
"  --count N                   idle mode: sockets (default 1000)\n"
"  --split                     msgs mode, 2 relay processes in --pids:\n"
"                              pair sockets across the two processes\n"
"  --big-pairs N               idle mode: the rooms of the first N pairs\n"
"                              carry one --big-size message each way, and\n"
"                              no more (default 0)\n"
"  --big-size BYTES            their payload (default 1048448: a frame\n"
"                              just under 1 MiB)\n"
"  --sink-port N               raw mode: port of the sink behind the proxy\n"
"  --wormhole                  raw mode: pair through a magic-wormhole\n"
"                              transit relay at --port (no sink)\n"
"  --port2 N                   msgs and pair modes: the JOIN targets connect\n"
"                              to port N (another node of a relay cluster)\n"
"  --pids P[,P...]             relay processes: CPU and RSS from /proc\n"
"  --prefix S                  claw_id prefix (default lg<pid>)\n"
"  --verbose                   print every error\n"
"  --lat-out FILE              pair mode: write every sample (microseconds)\n"
"  --tls                       wss: TLS (OpenSSL) to the relay; the relay's\n"
"                              certificate is not verified (benchmark only)\n"

"Prints one line of key=value results; exit 0 only if all checks pass.\n");
}

static int
read_secret(const char *path)
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL) {
        fprintf(stderr, "cnx-loadgen: %s: %s\n", path, strerror(errno));
        return -1;
    }
    n = fread(cf.secret, 1, sizeof(cf.secret), f);
    fclose(f);
    while (n > 0 && (cf.secret[n - 1] == '\n' || cf.secret[n - 1] == '\r')) {
        n--;
    }
    if (n == 0) {
        fprintf(stderr, "cnx-loadgen: %s: empty secret\n", path);
        return -1;
    }
    cf.secret_len = n;
    return 0;
}

static int
local_port(int fd)
{
    struct sockaddr_in sa;
    socklen_t l = sizeof(sa);

    if (fd < 0 || getsockname(fd, (struct sockaddr *) &sa, &l) < 0) {
        return 0;
    }
    return ntohs(sa.sin_port);
}

/*
 * Which relay process (of --pids) holds the far end of each of our
 * sockets: the relay-side socket's remote port is our local port, and
 * /proc/net/tcp maps socket inodes to ports.  Returns the number of pairs
 * whose two sockets live in different processes, or -1 if unknown.
 */
/* owner[local port] = index in --pids of the relay process that holds
 * the other end of our connection with that port, -1 if none. */
static signed char owner[65536];

static int
fill_owner(void)
{
    unsigned long *inode_port;
    char line[512], path[340], link[64];
    unsigned long ino, rport, lport, st;
    size_t nmap = 0, cap = 1 << 16;
    int i;
    FILE *f;

    if (cf.npids < 2) {
        return -1;
    }
    inode_port = malloc(2 * cap * sizeof(unsigned long));
    f = fopen("/proc/net/tcp", "r");
    if (inode_port == NULL || f == NULL) {
        free(inode_port);
        if (f) fclose(f);
        return -1;
    }
    while (fgets(line, sizeof(line), f) && nmap < cap) {
        if (sscanf(line, " %*d: %*x:%lx %*x:%lx %lx %*x:%*x %*x:%*x %*x"
                   " %*u %*u %lu", &lport, &rport, &st, &ino) == 4
            && (int) lport == cf.port && ino != 0)
        {
            inode_port[2 * nmap] = ino;
            inode_port[2 * nmap + 1] = rport;
            nmap++;
        }
    }
    fclose(f);
    memset(owner, -1, sizeof(owner));
    for (i = 0; i < cf.npids; i++) {
        char dpath[64];
        DIR *d;
        struct dirent *de;

        snprintf(dpath, sizeof(dpath), "/proc/%d/fd", (int) cf.pids[i]);
        d = opendir(dpath);
        if (d == NULL) {
            continue;
        }
        while ((de = readdir(d)) != NULL) {
            ssize_t n;

            snprintf(path, sizeof(path), "%s/%s", dpath, de->d_name);
            n = readlink(path, link, sizeof(link) - 1);
            if (n <= 0) {
                continue;
            }
            link[n] = '\0';
            if (sscanf(link, "socket:[%lu]", &ino) != 1) {
                continue;
            }
            for (size_t m = 0; m < nmap; m++) {
                if (inode_port[2 * m] == ino) {
                    owner[inode_port[2 * m + 1] & 0xffff] = (signed char) i;
                    break;
                }
            }
        }
        closedir(d);
    }
    free(inode_port);
    return 0;
}

static long
cross_pairs(lg_thread_t *th, int nth)
{
    long cross = 0, known = 0;
    unsigned k;
    int i;

    if (fill_owner() < 0) {
        return -1;
    }
    for (i = 0; i < nth; i++) {
        for (k = 0; k < 2 * th[i].npairs; k++) {
            int a, b;

            if (!th[i].conns[k].initiator) {
                continue;
            }
            a = local_port(th[i].conns[k].fd);
            b = local_port(th[i].conns[k].peer->fd);

            if (a && b && owner[a] >= 0 && owner[b] >= 0) {
                known++;
                cross += owner[a] != owner[b];
            }
        }
    }
    return known ? cross : -1;
}

/* --split: before any JOIN, pair every socket held by relay process 0
 * with one held by process 1, whichever side was to send the JOIN (the
 * roles are given again, alternately from either process); only the
 * imbalance of the kernel's spread pairs within a process. */
static void
split_pairs(lg_thread_t *th)
{
    lg_conn_t **s[2], *x, *y;
    unsigned ns[2] = { 0, 0 }, k, n, m;
    int w, p;

    if (fill_owner() < 0) {
        return;
    }
    n = 2 * th->npairs;
    s[0] = calloc(n, sizeof(*s[0]));
    s[1] = calloc(n, sizeof(*s[1]));
    if (s[0] == NULL || s[1] == NULL) {
        goto done;
    }
    for (k = 0; k < n; k++) {
        lg_conn_t *c = &th->conns[k];

        p = local_port(c->fd);
        w = p ? owner[p] : -1;
        if (w < 0 || w > 1) {
            w = 0;                          /* unknown: any side */
        }
        s[w][ns[w]++] = c;
    }
    m = ns[0] < ns[1] ? ns[0] : ns[1];
    for (k = 0; k < m; k++) {
        x = s[k % 2][k];
        y = s[1 - k % 2][k];
        x->initiator = 1;
        y->initiator = 0;
        x->peer = y;
        y->peer = x;
    }
    /* the rest, all in one process (an even number: n is even) */
    w = ns[0] > ns[1] ? 0 : 1;
    for (k = m; k + 1 < ns[w]; k += 2) {
        x = s[w][k];
        y = s[w][k + 1];
        x->initiator = 1;
        y->initiator = 0;
        x->peer = y;
        y->peer = x;
    }
done:
    free(s[0]);
    free(s[1]);
}

static int
wait_until(atomic_uint *ctr, unsigned want, double limit)
{
    double t0 = now_s();

    while (atomic_load(ctr) < want) {
        if (now_s() - t0 > limit || atomic_load(&g_failed)) {
            return -1;
        }
        usleep(2000);
    }
    return 0;
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "mode", 1, NULL, 'm' }, { "host", 1, NULL, 'H' },
        { "port", 1, NULL, 'p' }, { "secret-file", 1, NULL, 's' },
        { "issuer", 1, NULL, 'i' }, { "path", 1, NULL, 'P' },
        { "size", 1, NULL, 'z' }, { "pairs", 1, NULL, 'n' },
        { "window", 1, NULL, 'w' }, { "duration", 1, NULL, 'd' },
        { "joins", 1, NULL, 'j' }, { "load-pairs", 1, NULL, 'l' },
        { "count", 1, NULL, 'c' }, { "sink-port", 1, NULL, 'S' },
        { "pids", 1, NULL, 'x' }, { "port2", 1, NULL, 'q' }, { "prefix", 1, NULL, 'f' },
        { "verbose", 0, NULL, 'v' }, { "help", 0, NULL, 'h' },
        { "lat-out", 1, NULL, 'L' }, { "wormhole", 0, NULL, 'W' },
        { "rate", 1, NULL, 'R' }, { "tls", 0, NULL, 'T' },
        { "big-pairs", 1, NULL, 'B' }, { "split", 0, NULL, 'Y' }, { "big-size", 1, NULL, 'Z' },
        { NULL, 0, NULL, 0 }
    };
    lg_thread_t th[2];
    long xpairs;
    int nth = 1, o, i, rc = 0;
    unsigned total_pairs;
    double t0 = 0, t1 = 0, cpu0 = 0, cpu1 = 0, wall;
    long rss0 = 0, rss1 = 0, rss2 = 0, rss3 = 0;
    uint64_t msgs = 0, bytes = 0, sent = 0, errors = 0, load_msgs = 0;
    const char *first_error = NULL;
    char *p;
    struct rlimit rl;
    int tls = 0, split = 0;

    cf.mode = MODE_MSGS;
    cf.size = 200;
    cf.pairs = 20;
    cf.window = 32;
    cf.duration = 3;
    cf.joins = 4;
    cf.count = 1000;
    cf.big_size = 1048448;
    snprintf(cf.host, sizeof(cf.host), "127.0.0.1");
    snprintf(cf.prefix, sizeof(cf.prefix), "lg%d", (int) getpid());

    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'm':
            if (strcmp(optarg, "msgs") == 0) cf.mode = MODE_MSGS;
            else if (strcmp(optarg, "pair") == 0) cf.mode = MODE_PAIR;
            else if (strcmp(optarg, "idle") == 0) cf.mode = MODE_IDLE;
            else if (strcmp(optarg, "raw") == 0) cf.mode = MODE_RAW;
            else { usage(stderr); return 2; }
            break;
        case 'H': snprintf(cf.host, sizeof(cf.host), "%s", optarg); break;
        case 'p': cf.port = atoi(optarg); break;
        case 'q': cf.port2 = atoi(optarg); break;
        case 's': if (read_secret(optarg) < 0) return 2; break;
        case 'i': cf.issuer = optarg; break;
        case 'P':
            if (strcmp(optarg, "binary") == 0) cf.binary = 1;
            else if (strcmp(optarg, "json") == 0) cf.binary = 0;
            else { usage(stderr); return 2; }
            break;
        case 'z': cf.size = strtoul(optarg, NULL, 10); break;
        case 'n': cf.pairs = strtoul(optarg, NULL, 10); break;
        case 'w': cf.window = strtoul(optarg, NULL, 10); break;
        case 'd': cf.duration = atof(optarg); break;
        case 'j': cf.joins = strtoul(optarg, NULL, 10); break;
        case 'l': cf.load_pairs = strtoul(optarg, NULL, 10); break;
        case 'c': cf.count = strtoul(optarg, NULL, 10); break;
        case 'S': cf.sink_port = atoi(optarg); break;
        case 'f': snprintf(cf.prefix, sizeof(cf.prefix), "%s", optarg); break;
        case 'v': cf.verbose = 1; break;
        case 'L': cf.lat_out = optarg; break;
        case 'W': cf.wormhole = 1; break;
        case 'R': cf.rate = atof(optarg); break;
        case 'T': tls = 1; break;
        case 'Y': split = 1; break;
        case 'B': cf.big_pairs = strtoul(optarg, NULL, 10); break;
        case 'Z': cf.big_size = strtoul(optarg, NULL, 10); break;
        case 'x':
            for (p = optarg; *p && cf.npids < LG_MAX_PIDS; ) {
                cf.pids[cf.npids++] = (pid_t) strtol(p, &p, 10);
                if (*p == ',') p++;
                else if (*p) { usage(stderr); return 2; }
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (cf.port <= 0 || cf.pairs == 0 || cf.window == 0 || cf.joins == 0
        || (cf.mode == MODE_RAW && cf.sink_port <= 0 && !cf.wormhole)
        || (cf.mode != MODE_RAW && cf.secret_len == 0))
    {
        usage(stderr);
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "cnx-loadgen: crypto init failed\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (tls) {
        if (cf.mode == MODE_RAW) {
            fprintf(stderr, "cnx-loadgen: --tls is for the WebSocket modes, "
                    "not raw\n");
            return 2;
        }
        cf.tls = SSL_CTX_new(TLS_client_method());
        if (cf.tls == NULL) {
            fprintf(stderr, "cnx-loadgen: SSL_CTX_new failed\n");
            return 2;
        }
        SSL_CTX_set_verify(cf.tls, SSL_VERIFY_NONE, NULL);
        /*
         * AES-128-GCM first, for TLS 1.3 and 1.2: relays that follow the
         * client's order (OpenSSL's default) then use the suite Go's
         * crypto/tls picks on hardware with AES instructions, so that all
         * relays are measured with the same cipher.
         */
        if (SSL_CTX_set_ciphersuites(cf.tls, "TLS_AES_128_GCM_SHA256:"
                "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256") != 1
            || SSL_CTX_set_cipher_list(cf.tls, "ECDHE-ECDSA-AES128-GCM-SHA256:"
                "ECDHE-RSA-AES128-GCM-SHA256:DEFAULT") != 1)
        {
            fprintf(stderr, "cnx-loadgen: cannot set the TLS cipher order\n");
            return 2;
        }
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    if (cf.mode == MODE_IDLE) {
        cf.pairs = (cf.count + 1) / 2;
        cf.size = 64;
        cf.window = 1;
    }
    total_pairs = cf.pairs;
    if (thread_init(&th[0], 0, cf.mode, cf.pairs) < 0) {
        fprintf(stderr, "cnx-loadgen: out of memory\n");
        return 2;
    }
    if (cf.mode == MODE_PAIR && cf.load_pairs > 0) {
        if (thread_init(&th[1], 1, MODE_MSGS, cf.load_pairs) < 0) {
            fprintf(stderr, "cnx-loadgen: out of memory\n");
            return 2;
        }
        nth = 2;
        total_pairs += cf.load_pairs;
    }

    rss0 = relay_rss_kb();
    for (i = 0; i < nth; i++) {
        pthread_create(&th[i].tid, NULL, thread_main, &th[i]);
    }

    /* connect and register everyone */
    if (wait_until(&g_registered, 2 * total_pairs, 60) < 0) {
        fprintf(stderr, "cnx-loadgen: only %u of %u sockets registered\n",
                atomic_load(&g_registered), 2 * total_pairs);
        rc = 1;
        goto stop;
    }
    if (cf.mode == MODE_IDLE) {
        usleep(500000);
        rss1 = relay_rss_kb();
        atomic_store(&g_idle_rooms_go, 1);
    }
    if (split && cf.mode == MODE_MSGS && cf.npids == 2) {
        split_pairs(&th[0]);
    }
    if (cf.port2 > 0) {
        /* a name is known on other nodes once its claim reached Redis, a
           round trip after REGISTERED */
        usleep(100000);
    }
    atomic_store(&g_phase, PH_JOIN);

    if (cf.mode == MODE_PAIR) {
        /* the load thread (if any) pairs and runs; then measure */
        if (nth == 2) {
            if (wait_until(&g_joined, cf.load_pairs, 30) < 0) {
                fprintf(stderr, "cnx-loadgen: load pairs did not join\n");
                rc = 1;
                goto stop;
            }
        }
        cpu0 = relay_cpu(g_ticks0);
        t0 = now_s();
        g_run_t0 = now_s();
        atomic_store(&g_phase, PH_RUN);
        if (wait_until(&g_pair_done, 1, 120) < 0) {
            fprintf(stderr, "cnx-loadgen: pairings did not finish\n");
            rc = 1;
        }
        t1 = now_s();
        cpu1 = relay_cpu(g_ticks1);
    } else {
        if (wait_until(&g_joined, total_pairs, 20) < 0) {
            fprintf(stderr, "cnx-loadgen: only %u of %u pairs joined\n",
                    atomic_load(&g_joined), total_pairs);
            rc = 1;
            goto stop;
        }
        if (cf.mode == MODE_IDLE) {
            /* every room carries one message each way, then RSS */
            double lim = now_s() + 30;

            for (;;) {
                uint64_t got = 0;
                unsigned k;

                for (k = 0; k < 2 * th[0].npairs; k++) {
                    got += th[0].conns[k].recvd > 0;
                }
                if (got == 2 * th[0].npairs || now_s() > lim) {
                    break;
                }
                usleep(10000);
            }
            usleep(500000);
            rss2 = relay_rss_kb();
            /* then every room moves data (one message in flight per
             * direction) for a second: RSS while all rooms are active */
            g_run_t0 = now_s();
            atomic_store(&g_phase, PH_RUN);
            usleep(1000000);
            rss3 = relay_rss_kb();
            atomic_store(&g_phase, PH_DRAIN);
            cpu0 = cpu1 = 0;
            t0 = t1 = now_s();
        } else {
            cpu0 = relay_cpu(g_ticks0);
            t0 = now_s();
            g_run_t0 = now_s();
        atomic_store(&g_phase, PH_RUN);
            usleep((useconds_t) (cf.duration * 1e6));
            atomic_store(&g_phase, PH_DRAIN);
            t1 = now_s();
            cpu1 = relay_cpu(g_ticks1);
            rss1 = relay_rss_kb();
        }
    }

    /* drain: everything sent must arrive */
    if (cf.mode == MODE_MSGS || cf.mode == MODE_RAW || cf.mode == MODE_IDLE
        || nth == 2)
    {
        double lim = now_s() + 10;

        atomic_store(&g_phase, PH_DRAIN);
        for (;;) {
            uint64_t s = 0, r = 0;
            int t;
            unsigned k;

            for (t = 0; t < nth; t++) {
                if (th[t].mode == MODE_PAIR) continue;
                for (k = 0; k < 2 * th[t].npairs; k++) {
                    s += th[t].conns[k].sent;
                    r += th[t].conns[k].recvd;
                }
            }
            if (s == r || now_s() > lim || atomic_load(&g_failed)) {
                break;
            }
            usleep(5000);
        }
    }

stop:
    atomic_store(&g_phase, PH_STOP);
    for (i = 0; i < nth; i++) {
        pthread_join(th[i].tid, NULL);
    }
    xpairs = (cf.mode == MODE_MSGS) ? cross_pairs(th, nth) : -1;
    for (i = 0; i < nth; i++) {
        unsigned k;

        for (k = 0; k < 2 * th[i].npairs; k++) {
            lg_conn_t *c = &th[i].conns[k];

            if (th[i].mode != MODE_PAIR) {
                sent += c->sent;
                if (i == 0) {
                    msgs += c->recvd;
                    bytes += c->rx_bytes;
                } else {
                    load_msgs += c->recvd;
                }
                if (c->sent != c->peer->recvd) {
                    lg_error(&th[i], "%s: %" PRIu64 " DATA sent, peer got %"
                             PRIu64, c->claw_id, c->sent, c->peer->recvd);
                }
            }
        }
        errors += th[i].errors;
        if (first_error == NULL && th[i].errors) {
            first_error = th[i].first_error;
        }
    }
    if (rc != 0 && errors == 0) {
        errors = 1;
    }

    wall = (cf.mode == MODE_IDLE || rc) ? 0 : t1 - t0;
    printf("mode=%s path=%s size=%zu pairs=%u window=%u",
           cf.mode == MODE_MSGS ? "msgs" : cf.mode == MODE_PAIR ? "pair"
           : cf.mode == MODE_IDLE ? "idle" : "raw",
           cf.mode == MODE_RAW ? "raw" : cf.binary ? "binary" : "json",
           cf.size, cf.pairs, cf.window);
    if (cf.mode == MODE_MSGS || cf.mode == MODE_RAW) {
        double cpu = rc ? 0 : cpu1 - cpu0;

        printf(" wall=%.3f relay_cpu=%.3f msgs=%" PRIu64 " bytes=%" PRIu64
               " msgs_per_s=%.0f msgs_per_cpu_s=%.0f bytes_per_cpu_s=%.0f"
               " relay_rss_kb=%ld cross_pairs=%ld",
               wall, cpu, msgs, bytes, wall > 0 ? msgs / wall : 0,
               cpu > 0 ? msgs / cpu : 0, cpu > 0 ? bytes / cpu : 0, rss1,
               xpairs);
        /* each process's part of relay_cpu, over the same window */
        for (i = 0; i < cf.npids; i++) {
            printf("%s%d:%.3f", i == 0 ? " pid_cpu=" : ",", (int) cf.pids[i],
                   rc || g_ticks1[i] < g_ticks0[i]
                   ? 0.0 : (double) (g_ticks1[i] - g_ticks0[i])
                           / sysconf(_SC_CLK_TCK));
        }
    } else if (cf.mode == MODE_PAIR) {
        double *v = th[0].lat;
        unsigned n = th[0].nlat;

        qsort(v, n, sizeof(double), cmp_double);
        if (cf.lat_out != NULL) {
            FILE *f = fopen(cf.lat_out, "w");
            unsigned k;

            for (k = 0; f != NULL && k < n; k++) {
                fprintf(f, "%.2f\n", v[k] * 1e6);
            }
            if (f != NULL) {
                fclose(f);
            }
        }
        printf(" load_pairs=%u load_rate=%.0f load_msgs_per_s=%.0f"
               " samples=%u p50_us=%.1f p99_us=%.1f"
               " p999_us=%.1f max_us=%.1f",
               cf.load_pairs, cf.rate, t1 > t0 ? load_msgs / (t1 - t0) : 0,
               n, pct(v, n, 0.5) * 1e6, pct(v, n, 0.99) * 1e6,
               pct(v, n, 0.999) * 1e6, n ? v[n - 1] * 1e6 : 0);
        v = th[0].ping;
        n = th[0].nping;
        qsort(v, n, sizeof(double), cmp_double);
        printf(" ping_p50_us=%.1f ping_p99_us=%.1f ping_p999_us=%.1f",
               pct(v, n, 0.5) * 1e6, pct(v, n, 0.99) * 1e6,
               pct(v, n, 0.999) * 1e6);
    } else if (cf.mode == MODE_IDLE) {
        unsigned socks = 2 * cf.pairs;

        printf(" sockets=%u rooms=%u rss_base_kb=%ld rss_registered_kb=%ld"
               " rss_rooms_kb=%ld rss_active_kb=%ld per_socket_kb=%.2f"
               " per_room_kb=%.2f per_active_room_kb=%.2f",
               socks, cf.pairs, rss0, rss1, rss2, rss3,
               (double) (rss1 - rss0) / socks,
               (double) (rss2 - rss1) / cf.pairs,
               (double) (rss3 - rss1) / cf.pairs);
        if (cf.big_pairs > 0) {
            /* every socket, idle again, rooms and big senders included */
            printf(" big_pairs=%u big_size=%zu per_socket_after_big_kb=%.2f",
                   cf.big_pairs, cf.big_size,
                   (double) (rss2 - rss0) / socks);
        }
    }
    if (g_tls[0] != '\0') {
        printf(" tls=%s", g_tls);
    }
    printf(" errors=%" PRIu64 "\n", errors);
    if (first_error != NULL) {
        fprintf(stderr, "cnx-loadgen: first error: %s\n", first_error);
    }
    fflush(stdout);
    for (i = 0; i < nth; i++) {
        thread_free(&th[i]);
    }
    return (errors || rc) ? 1 : 0;
}
