/*
 * cnx_relay_limit: the relay's per-address counters (open connections,
 * refused tokens), in memory the caller provides: nginx keeps the table in
 * its shared zone and calls these functions under the zone's lock.
 *
 * A client address is counted under cnx_relay_addr_key(): an IPv4 address
 * as itself, an IPv6 address by its /64.  Slots are found by a keyed hash
 * (SipHash, libsodium's crypto_shorthash, with a random key per table) in
 * a window of CNX_LIMIT_PROBES slots, so a client cannot choose addresses
 * that crowd out another's window.  When an address's window is full of
 * live entries it is counted under its coarser prefix (IPv4 /24, IPv6
 * /48) instead, and when that window is full too the caller refuses: the
 * table never fails open.
 *
 * Connections are also counted per owner (an nginx worker), so that the
 * counts of an owner that died without closing its sockets can be given
 * back (cnx_limit_reclaim()).
 */

#ifndef CNX_RELAY_LIMIT_H
#define CNX_RELAY_LIMIT_H

#include <stddef.h>
#include <stdint.h>

#define CNX_LIMIT_PROBES  16
#define CNX_LIMIT_OWNERS  128

typedef struct {
    uint64_t  key;                      /* 0: free */
    uint32_t  conns;
    uint32_t  fails;
    int64_t   window;                   /* start of the failure window */
    uint16_t  by[CNX_LIMIT_OWNERS];     /* conns per owner */
} cnx_limit_slot_t;

typedef struct {
    uint8_t           hkey[16];
    size_t            n;                /* slots, a power of two */
    int32_t           owner_pid[CNX_LIMIT_OWNERS];
    cnx_limit_slot_t  slot[];
} cnx_limit_table_t;

/* Bytes a table of n slots (a power of two) takes. */
size_t cnx_limit_size(size_t n);

/* Prepare a table of n slots in t (cnx_limit_size(n) bytes): all free,
   a fresh random hash key. */
void cnx_limit_init(cnx_limit_table_t *t, size_t n);

/*
 * The key under which an address is counted: an IPv4 address (4 bytes, or
 * IPv4-mapped IPv6 ::ffff:a.b.c.d) as itself, other IPv6 addresses (16
 * bytes) by their /64.  0 ("not limited") for other lengths; never 0
 * otherwise, and IPv4 and IPv6 keys never collide.
 */
uint64_t cnx_relay_addr_key(const uint8_t *addr, size_t len);

/* The coarser key of a key: IPv4 /24, IPv6 /48 (0 for a coarse key). */
uint64_t cnx_limit_coarse(uint64_t key);

/*
 * The slot of key.  create = 0: only an existing slot with exactly this
 * key, or NULL.  create = 1: that slot, else a free one taken for key (a
 * slot is free when it counts no connection and its failure window, of
 * window seconds, is over), else the slot of cnx_limit_coarse(key) found
 * or taken the same way, else NULL: the caller refuses.  The key a slot
 * counts is slot->key (keep it to find the slot again).
 */
cnx_limit_slot_t *cnx_limit_get(cnx_limit_table_t *t, uint64_t key,
    int64_t now, int64_t window, int create);

/* One connection more (+1) or less (-1) for owner in slot s. */
void cnx_limit_conn(cnx_limit_slot_t *s, unsigned owner, int delta);

/* Give back every connection owner counted (it died with its sockets). */
void cnx_limit_reclaim(cnx_limit_table_t *t, unsigned owner);

#endif
