/*
 * Relay cluster routes, Redis names, owner values and reconnect backoff
 * (cnx_cluster.h).
 */

#include <stdio.h>
#include <string.h>

#include "cnx_cluster.h"

size_t
cnx_cluster_route(char out[CNX_CLUSTER_ROUTE_MAX + 1],
    const cnx_relay_addr_t *a)
{
    int n;

    n = snprintf(out, CNX_CLUSTER_ROUTE_MAX + 1, "%016llx:%lu:%ld:%ld",
                 (unsigned long long) a->node, (unsigned long) a->gen,
                 (long) a->worker, (long) a->pid);
    return n < 0 ? 0 : (size_t) n;
}

/* A decimal number without sign or leading zeros, at most max. */
static int
parse_dec(const char *s, size_t n, uint64_t max, uint64_t *v)
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
        if (x > (max - (uint64_t) (s[i] - '0')) / 10) {
            return -1;
        }
        x = x * 10 + (uint64_t) (s[i] - '0');
    }
    *v = x;
    return 0;
}

int
cnx_cluster_route_parse(const char *s, size_t n, cnx_relay_addr_t *a)
{
    const char *p = s, *end = s + n, *c;
    uint64_t    node = 0, gen, worker, pid;
    size_t      i;

    memset(a, 0, sizeof(*a));
    if (n < 16 + 6 || n > CNX_CLUSTER_ROUTE_MAX || s[16] != ':') {
        return -1;
    }
    for (i = 0; i < 16; i++) {
        unsigned char ch = (unsigned char) s[i];
        unsigned      d;

        if (ch >= '0' && ch <= '9') {
            d = ch - '0';
        } else if (ch >= 'a' && ch <= 'f') {
            d = ch - 'a' + 10;
        } else {
            return -1;
        }
        node = (node << 4) | d;
    }
    p = s + 17;
    c = memchr(p, ':', (size_t) (end - p));
    if (c == NULL || parse_dec(p, (size_t) (c - p), UINT32_MAX, &gen) != 0) {
        return -1;
    }
    p = c + 1;
    c = memchr(p, ':', (size_t) (end - p));
    if (c == NULL || parse_dec(p, (size_t) (c - p), INT32_MAX, &worker) != 0) {
        return -1;
    }
    p = c + 1;
    if (parse_dec(p, (size_t) (end - p), INT32_MAX, &pid) != 0
        || node == 0)
    {
        return -1;
    }
    a->node = node;
    a->gen = (uint32_t) gen;
    a->worker = (int32_t) worker;
    a->pid = (int32_t) pid;
    return 0;
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
    char   route[CNX_CLUSTER_ROUTE_MAX + 1];
    int    n;

    if (o->addr.node == 0 || o->addr.worker < 0 || o->addr.pid < 0) {
        return -1;
    }
    cnx_cluster_route(route, &o->addr);
    n = snprintf(out, cap, "%s|%llu|%llu", route,
                 (unsigned long long) o->seq,
                 (unsigned long long) o->addr.conn);
    if (n < 0 || (size_t) n >= cap) {
        return -1;
    }
    return n;
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
        || cnx_cluster_route_parse(s, (size_t) (b1 - s), &o->addr) != 0
        || parse_dec(b1 + 1, (size_t) (b2 - b1 - 1), UINT64_MAX, &o->seq)
           != 0
        || parse_dec(b2 + 1, n - (size_t) (b2 + 1 - s), UINT64_MAX,
                     &o->addr.conn) != 0)
    {
        memset(o, 0, sizeof(*o));
        return -1;
    }
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


/* The sender's state from its parts; -1 if the core knows it already. */
static int
credit_state(cnx_cluster_credit_t *c)
{
    unsigned  held;

    held = c->peer_full || c->unacked >= CNX_CLUSTER_WINDOW;
    if (held == c->held) {
        return -1;
    }
    c->held = held;
    return (int) held;
}


int
cnx_cluster_credit_sent(cnx_cluster_credit_t *c, uint64_t n)
{
    c->unacked += n;
    return credit_state(c);
}


int
cnx_cluster_credit_acked(cnx_cluster_credit_t *c, uint64_t n)
{
    c->unacked -= n < c->unacked ? n : c->unacked;
    return credit_state(c);
}


int
cnx_cluster_credit_flow(cnx_cluster_credit_t *c, int full)
{
    c->peer_full = full ? 1 : 0;
    return credit_state(c);
}


uint64_t
cnx_cluster_credit_arrived(cnx_cluster_credit_t *c, uint64_t n)
{
    uint64_t  ack;

    c->arrived += n;
    if (c->arrived < CNX_CLUSTER_ACK_EVERY) {
        return 0;
    }
    ack = c->arrived;
    c->arrived = 0;
    return ack;
}
