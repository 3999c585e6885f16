/*
 * Relay cluster records, Redis names, owner values, backoff and credit
 * (cnx_cluster.h).
 *
 * Record layout (integers big-endian):
 *    0  u8   version (1)
 *    1  u8   type
 *    2  u8   route length (1..64)
 *    3  u8   room id length (0..64)
 *    4  u16  a length (0..1024)
 *    6  u16  0
 *    8  u64  src_conn
 *   16  u64  dst_conn
 *   24  u64  seq
 *   32  u64  arg
 *   40  route, room id, a, then b up to the end of the message
 */

#include <stdio.h>
#include <string.h>

#include "cnx_cluster.h"
#include "cnx_relay_msg.h"

/* What each type carries: a room, a claw_id in a, a code in a, a body. */
#define F_ROOM   0x01
#define F_CLAW   0x02
#define F_CODE   0x04
#define F_BODY   0x08
#define F_ARG    0x10   /* arg must be > 0 */

static const struct {
    const char  *name;
    unsigned     fields;
} cnx_cluster_types[CNX_CLUSTER_TYPE_MAX_] = {
    [CNX_CLUSTER_UNKNOWN]     = { "UNKNOWN", 0 },
    [CNX_CLUSTER_PING]        = { "PING", 0 },
    [CNX_CLUSTER_INCOMING]    = { "INCOMING", F_ROOM | F_CLAW | F_ARG },
    [CNX_CLUSTER_ACCEPTED]    = { "ACCEPTED", F_ROOM | F_ARG },
    [CNX_CLUSTER_JOIN_FAILED] = { "JOIN_FAILED", F_ROOM | F_CODE },
    [CNX_CLUSTER_DATA_TEXT]   = { "DATA_TEXT", F_ROOM | F_BODY },
    [CNX_CLUSTER_DATA_BIN]    = { "DATA_BIN", F_ROOM | F_BODY },
    [CNX_CLUSTER_CREDIT]      = { "CREDIT", F_ROOM | F_ARG },
    [CNX_CLUSTER_LEFT]        = { "LEFT", F_ROOM },
    [CNX_CLUSTER_EVICT]       = { "EVICT", F_CLAW },
};

static void
put_u64(uint8_t *p, uint64_t v)
{
    int i;

    for (i = 7; i >= 0; i--) {
        p[i] = (uint8_t) v;
        v >>= 8;
    }
}

static uint64_t
get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    int      i;

    for (i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static int
route_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':'
        || c == '-';
}

int
cnx_cluster_route_valid(const char *s, size_t n)
{
    size_t i;

    if (s == NULL || n == 0 || n > CNX_CLUSTER_ROUTE_MAX) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!route_char((unsigned char) s[i])) {
            return 0;
        }
    }
    return 1;
}

static int
code_valid(const uint8_t *s, size_t n)
{
    size_t i;

    if (n == 0 || n > CNX_CLUSTER_CODE_MAX) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_')) {
            return 0;
        }
    }
    return 1;
}

/* The checks parse and write share; body_max bounds b. */
static int
rec_valid(const cnx_cluster_rec_t *r, size_t body_max)
{
    unsigned f;

    if (r->type <= CNX_CLUSTER_UNKNOWN || r->type >= CNX_CLUSTER_TYPE_MAX_) {
        return 0;
    }
    f = cnx_cluster_types[r->type].fields;

    if (!cnx_cluster_route_valid(r->route, r->route_len)) {
        return 0;
    }
    if (f & F_ROOM) {
        if (!cnx_relay_room_id_valid(r->room, r->room_len)) {
            return 0;
        }
    } else if (r->room_len != 0) {
        return 0;
    }
    if (r->a_len > CNX_CLUSTER_A_MAX) {
        return 0;
    }
    if (f & F_CLAW) {
        if (r->a_len == 0 || r->a_len > CNX_RELAY_CLAW_ID_MAX
            || !cnx_relay_claw_id_valid((const char *) r->a, r->a_len))
        {
            return 0;
        }
    } else if (f & F_CODE) {
        if (!code_valid(r->a, r->a_len)) {
            return 0;
        }
    } else if (r->a_len != 0) {
        return 0;
    }
    if (f & F_BODY) {
        if (r->b_len > body_max) {
            return 0;
        }
    } else if (r->b_len != 0) {
        return 0;
    }
    if ((f & F_ARG) && r->arg == 0) {
        return 0;
    }
    return 1;
}

size_t
cnx_cluster_rec_size(const cnx_cluster_rec_t *r)
{
    return CNX_CLUSTER_HDR_LEN + r->route_len + r->room_len + r->a_len
           + r->b_len;
}

long
cnx_cluster_rec_write(uint8_t *out, size_t cap, const cnx_cluster_rec_t *r)
{
    size_t   n;
    uint8_t *p;

    if (!rec_valid(r, r->b_len)) {
        return -1;
    }
    n = cnx_cluster_rec_size(r);
    if (n > cap || n > (size_t) 0x7fffffff) {
        return -1;
    }

    out[0] = CNX_CLUSTER_VERSION;
    out[1] = (uint8_t) r->type;
    out[2] = (uint8_t) r->route_len;
    out[3] = (uint8_t) r->room_len;
    out[4] = (uint8_t) (r->a_len >> 8);
    out[5] = (uint8_t) r->a_len;
    out[6] = 0;
    out[7] = 0;
    put_u64(out + 8, r->src_conn);
    put_u64(out + 16, r->dst_conn);
    put_u64(out + 24, r->seq);
    put_u64(out + 32, r->arg);

    p = out + CNX_CLUSTER_HDR_LEN;
    memcpy(p, r->route, r->route_len);
    p += r->route_len;
    if (r->room_len) {
        memcpy(p, r->room, r->room_len);
        p += r->room_len;
    }
    if (r->a_len) {
        memcpy(p, r->a, r->a_len);
        p += r->a_len;
    }
    if (r->b_len) {
        memcpy(p, r->b, r->b_len);
    }
    return (long) n;
}

int
cnx_cluster_rec_parse(const uint8_t *buf, size_t len, size_t max_body,
    cnx_cluster_rec_t *r)
{
    size_t fixed;

    memset(r, 0, sizeof(*r));

    if (len < CNX_CLUSTER_HDR_LEN || buf[0] != CNX_CLUSTER_VERSION
        || buf[6] != 0 || buf[7] != 0)
    {
        return -1;
    }
    r->type = buf[1] < CNX_CLUSTER_TYPE_MAX_ ? (cnx_cluster_type_t) buf[1]
                                             : CNX_CLUSTER_UNKNOWN;
    r->route_len = buf[2];
    r->room_len = buf[3];
    r->a_len = ((size_t) buf[4] << 8) | buf[5];
    r->src_conn = get_u64(buf + 8);
    r->dst_conn = get_u64(buf + 16);
    r->seq = get_u64(buf + 24);
    r->arg = get_u64(buf + 32);

    fixed = CNX_CLUSTER_HDR_LEN + r->route_len + r->room_len + r->a_len;
    if (fixed > len) {
        r->type = CNX_CLUSTER_UNKNOWN;
        return -1;
    }
    r->route = (const char *) buf + CNX_CLUSTER_HDR_LEN;
    r->room = r->route + r->route_len;
    r->a = (const uint8_t *) r->room + r->room_len;
    r->b = r->a + r->a_len;
    r->b_len = len - fixed;

    if (!rec_valid(r, max_body)) {
        r->type = CNX_CLUSTER_UNKNOWN;
        return -1;
    }
    return 0;
}

const char *
cnx_cluster_type_name(cnx_cluster_type_t type)
{
    if (type <= CNX_CLUSTER_UNKNOWN || type >= CNX_CLUSTER_TYPE_MAX_) {
        return "UNKNOWN";
    }
    return cnx_cluster_types[type].name;
}

size_t
cnx_cluster_route_make(char out[CNX_CLUSTER_ROUTE_MAX + 1],
    const char *node, size_t node_len, unsigned worker, uint64_t epoch)
{
    size_t i, n;

    if (node == NULL || node_len == 0) {
        node = "node";
        node_len = 4;
    }
    if (node_len > 32) {
        node_len = 32;
    }
    for (i = 0; i < node_len; i++) {
        out[i] = route_char((unsigned char) node[i]) ? node[i] : '-';
    }
    /* 32 + ':' + 10 digits + ':' + 16 hex digits = 60 */
    n = (size_t) snprintf(out + node_len, CNX_CLUSTER_ROUTE_MAX + 1 - node_len,
                          ":%u:%016llx", worker, (unsigned long long) epoch);
    return node_len + n;
}

long
cnx_cluster_key(char *out, size_t cap, const char *prefix, const char *kind,
    const char *id, size_t id_len)
{
    size_t pl = strlen(prefix), kl = strlen(kind), n;

    n = pl + 1 + kl + 2 + id_len + 1;
    if (n + 1 > cap) {
        return -1;
    }
    memcpy(out, prefix, pl);
    out[pl] = ':';
    memcpy(out + pl + 1, kind, kl);
    out[pl + 1 + kl] = ':';
    out[pl + 2 + kl] = '{';
    memcpy(out + pl + 3 + kl, id, id_len);
    out[n - 1] = '}';
    out[n] = '\0';
    return (long) n;
}

long
cnx_cluster_owner_format(char *out, size_t cap, const cnx_cluster_owner_t *o)
{
    int n;

    if (!cnx_cluster_route_valid(o->route, o->route_len)) {
        return -1;
    }
    n = snprintf(out, cap, "%.*s|%llu|%llu", (int) o->route_len, o->route,
                 (unsigned long long) o->seq, (unsigned long long) o->conn);
    if (n < 0 || (size_t) n >= cap) {
        return -1;
    }
    return n;
}

/* A decimal u64 without sign, leading zeros or overflow. */
static int
parse_u64(const char *s, size_t n, uint64_t *v)
{
    uint64_t x = 0;
    size_t   i;

    if (n == 0 || n > 20 || (n > 1 && s[0] == '0')) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        if (x > (UINT64_MAX - (uint64_t) (s[i] - '0')) / 10) {
            return -1;
        }
        x = x * 10 + (uint64_t) (s[i] - '0');
    }
    *v = x;
    return 0;
}

int
cnx_cluster_owner_parse(const char *s, size_t n, cnx_cluster_owner_t *o)
{
    const char *b1, *b2;

    memset(o, 0, sizeof(*o));
    b1 = memchr(s, '|', n);
    if (b1 == NULL) {
        return -1;
    }
    b2 = memchr(b1 + 1, '|', n - (size_t) (b1 + 1 - s));
    if (b2 == NULL
        || !cnx_cluster_route_valid(s, (size_t) (b1 - s))
        || parse_u64(b1 + 1, (size_t) (b2 - b1 - 1), &o->seq) != 0
        || parse_u64(b2 + 1, n - (size_t) (b2 + 1 - s), &o->conn) != 0)
    {
        memset(o, 0, sizeof(*o));
        return -1;
    }
    o->route_len = (size_t) (b1 - s);
    memcpy(o->route, s, o->route_len);
    o->route[o->route_len] = '\0';
    return 0;
}

unsigned
cnx_cluster_backoff(unsigned attempt, uint32_t rnd)
{
    unsigned  d = CNX_CLUSTER_BACKOFF_MIN, i;
    int       j;

    for (i = 0; i < attempt && d < CNX_CLUSTER_BACKOFF_MAX; i++) {
        d += d / 2;
    }
    if (d > CNX_CLUSTER_BACKOFF_MAX) {
        d = CNX_CLUSTER_BACKOFF_MAX;
    }
    /* jitter in [-d/10, +d/10] */
    j = (int) (rnd % 2001) - 1000;
    return (unsigned) ((int) d + (int) d / 10 * j / 1000);
}

void
cnx_credit_tx_init(cnx_credit_tx_t *tx, uint64_t window)
{
    tx->sent = 0;
    tx->limit = window;
    tx->window = window;
}

int
cnx_credit_tx_open(const cnx_credit_tx_t *tx)
{
    return tx->sent < tx->limit;
}

void
cnx_credit_tx_sent(cnx_credit_tx_t *tx, size_t n)
{
    tx->sent += n;
}

int
cnx_credit_tx_grant(cnx_credit_tx_t *tx, uint64_t n)
{
    /* credit comes back only for bytes that were sent: limit - window
     * (what was returned) never passes sent */
    if (n == 0 || n > tx->sent - (tx->limit - tx->window)) {
        return -1;
    }
    tx->limit += n;
    return 0;
}

void
cnx_credit_rx_init(cnx_credit_rx_t *rx, uint64_t window)
{
    rx->received = 0;
    rx->delivered = 0;
    rx->returned = 0;
    rx->window = window;
}

int
cnx_credit_rx_received(cnx_credit_rx_t *rx, size_t n, size_t max_message)
{
    rx->received += n;
    if (rx->received - rx->returned > rx->window + max_message) {
        return -1;
    }
    return 0;
}

uint64_t
cnx_credit_rx_delivered(cnx_credit_rx_t *rx, size_t n)
{
    uint64_t g;

    rx->delivered += n;
    if (rx->delivered > rx->received) {
        rx->delivered = rx->received;
    }
    g = rx->delivered - rx->returned;
    if (g == 0 || g < rx->window / 2) {
        return 0;
    }
    rx->returned = rx->delivered;
    return g;
}
