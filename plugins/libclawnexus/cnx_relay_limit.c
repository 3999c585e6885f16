/*
 * cnx_relay_limit: per-address counters of a relay (see the header).
 */

#include <string.h>

#include <sodium.h>

#include "cnx_relay_limit.h"

#define TAG_V4        0x04ULL
#define TAG_V4_COARSE 0x05ULL
#define TAG_V6        0x06ULL
#define TAG_V6_COARSE 0x07ULL
#define TAG(k)        ((k) >> 56)


size_t
cnx_limit_size(size_t n)
{
    return sizeof(cnx_limit_table_t) + n * sizeof(cnx_limit_slot_t);
}


void
cnx_limit_init(cnx_limit_table_t *t, size_t n)
{
    memset(t, 0, cnx_limit_size(n));
    t->n = n;
    crypto_shorthash_keygen(t->hkey);
}


uint64_t
cnx_relay_addr_key(const uint8_t *a, size_t len)
{
    static const uint8_t  mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0,
                                         0, 0, 0xff, 0xff };
    uint64_t              k;
    size_t                i;

    if (len == 16 && memcmp(a, mapped, sizeof(mapped)) == 0) {
        a += 12;
        len = 4;
    }
    if (len == 4) {
        return (TAG_V4 << 56) | ((uint64_t) a[0] << 24)
               | ((uint64_t) a[1] << 16) | ((uint64_t) a[2] << 8) | a[3];
    }
    if (len != 16) {
        return 0;
    }
    for (k = 0, i = 0; i < 8; i++) {
        k = (k << 8) | a[i];
    }
    /* 56 bits of the /64 with its top byte folded in, tagged */
    return (TAG_V6 << 56) | ((k & 0x00ffffffffffffffULL) ^ ((k >> 56) << 48));
}


uint64_t
cnx_limit_coarse(uint64_t key)
{
    switch (TAG(key)) {
    case TAG_V4:
        return (TAG_V4_COARSE << 56) | (key & 0xffffff00ULL);
    case TAG_V6:
        /* the /64 key keeps bits 63..8 of the prefix: drop 16 more */
        return (TAG_V6_COARSE << 56) | (key & 0x00ffffffffff0000ULL);
    default:
        return 0;
    }
}


static size_t
slot_hash(const cnx_limit_table_t *t, uint64_t key)
{
    uint8_t  in[8], out[crypto_shorthash_BYTES];
    uint64_t h;
    int      i;

    for (i = 0; i < 8; i++) {
        in[i] = (uint8_t) (key >> (8 * i));
    }
    crypto_shorthash(out, in, sizeof(in), t->hkey);
    memcpy(&h, out, sizeof(h));
    return (size_t) h;
}


/* The slot of key in its window, or a free one taken for it, or NULL. */
static cnx_limit_slot_t *
window_get(cnx_limit_table_t *t, uint64_t key, int64_t now, int64_t window,
    int create)
{
    size_t             h = slot_hash(t, key), i;
    cnx_limit_slot_t  *s, *free_slot = NULL;

    for (i = 0; i < CNX_LIMIT_PROBES; i++) {
        s = &t->slot[(h + i) & (t->n - 1)];
        if (s->key == key) {
            return s;
        }
        if (free_slot == NULL
            && (s->key == 0 || (s->conns == 0 && now - s->window > window)))
        {
            free_slot = s;
        }
    }
    if (!create || free_slot == NULL) {
        return NULL;
    }
    memset(free_slot, 0, sizeof(*free_slot));
    free_slot->key = key;
    free_slot->window = now;
    return free_slot;
}


cnx_limit_slot_t *
cnx_limit_get(cnx_limit_table_t *t, uint64_t key, int64_t now,
    int64_t window, int create)
{
    cnx_limit_slot_t  *s;
    uint64_t           coarse;

    if (key == 0) {
        return NULL;
    }
    s = window_get(t, key, now, window, create);
    if (s != NULL || !create) {
        return s;
    }
    /* crowded: count it with its neighbours rather than not at all */
    coarse = cnx_limit_coarse(key);
    if (coarse == 0) {
        return NULL;
    }
    return window_get(t, coarse, now, window, 1);
}


void
cnx_limit_conn(cnx_limit_slot_t *s, unsigned owner, int delta)
{
    if (owner >= CNX_LIMIT_OWNERS) {
        /* counted, but not per owner (cannot be reclaimed) */
        if (delta > 0) {
            s->conns++;
        } else if (s->conns > 0) {
            s->conns--;
        }
        return;
    }
    if (delta > 0) {
        s->conns++;
        s->by[owner]++;
    } else if (s->by[owner] > 0) {
        s->by[owner]--;
        if (s->conns > 0) {
            s->conns--;
        }
    }
}


void
cnx_limit_reclaim(cnx_limit_table_t *t, unsigned owner)
{
    size_t  i;

    if (owner >= CNX_LIMIT_OWNERS) {
        return;
    }
    for (i = 0; i < t->n; i++) {
        if (t->slot[i].by[owner] != 0) {
            t->slot[i].conns -= t->slot[i].conns < t->slot[i].by[owner]
                                ? t->slot[i].conns : t->slot[i].by[owner];
            t->slot[i].by[owner] = 0;
        }
    }
    t->owner_pid[owner] = 0;
}
