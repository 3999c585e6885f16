/*
 * cnx_relay_dir: the room table of one relay worker (see the header).  A
 * chained hash table that doubles when its load passes 1.
 */

#include <stdlib.h>
#include <string.h>

#include "cnx_relay_dir.h"


struct cnx_dir_s {
    cnx_dir_room_t   **rooms;
    size_t             nrooms;
    size_t             rooms_cap;      /* buckets, power of two */
};


#define CNX_DIR_INITIAL_BUCKETS  64


/*
 * Eight bytes per step (every DATA looks its room up), then a final mix
 * so that the low bits, which pick the bucket, depend on every byte.
 */
static uint32_t
cnx_dir_hash(const char *p, size_t n)
{
    uint64_t  h = UINT64_C(0x9e3779b97f4a7c15) ^ n, w;
    size_t    i;

    for ( ; n >= 8; p += 8, n -= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * UINT64_C(0xff51afd7ed558ccd);
        h ^= h >> 32;
    }

    if (n > 0) {
        w = 0;
        for (i = 0; i < n; i++) {
            w |= (uint64_t) (uint8_t) p[i] << (8 * i);
        }
        h = (h ^ w) * UINT64_C(0xff51afd7ed558ccd);
    }

    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;

    return (uint32_t) h;
}


cnx_dir_t *
cnx_dir_new(void)
{
    cnx_dir_t  *d;

    d = calloc(1, sizeof(cnx_dir_t));
    if (d == NULL) {
        return NULL;
    }

    d->rooms_cap = CNX_DIR_INITIAL_BUCKETS;
    d->rooms = calloc(d->rooms_cap, sizeof(cnx_dir_room_t *));

    if (d->rooms == NULL) {
        free(d);
        return NULL;
    }

    return d;
}


void
cnx_dir_free(cnx_dir_t *d)
{
    size_t           i;
    cnx_dir_room_t  *r, *rn;

    if (d == NULL) {
        return;
    }

    for (i = 0; i < d->rooms_cap; i++) {
        for (r = d->rooms[i]; r; r = rn) {
            rn = r->hnext;
            free(r);
        }
    }

    free(d->rooms);
    free(d);
}


void
cnx_dir_member_init(cnx_dir_member_t *m, void *session)
{
    memset(m, 0, sizeof(cnx_dir_member_t));
    m->session = session;
}


size_t
cnx_dir_room_count(const cnx_dir_t *d)
{
    return d->nrooms;
}


static void
cnx_dir_rooms_grow(cnx_dir_t *d)
{
    size_t            i, cap;
    uint32_t          h;
    cnx_dir_room_t  **t, *r, *rn;

    cap = d->rooms_cap * 2;
    t = calloc(cap, sizeof(cnx_dir_room_t *));
    if (t == NULL) {
        return;
    }

    for (i = 0; i < d->rooms_cap; i++) {
        for (r = d->rooms[i]; r; r = rn) {
            rn = r->hnext;
            h = cnx_dir_hash(r->id, r->id_len) & (cap - 1);
            r->hnext = t[h];
            t[h] = r;
        }
    }

    free(d->rooms);
    d->rooms = t;
    d->rooms_cap = cap;
}


static cnx_dir_room_t **
cnx_dir_room_slot(cnx_dir_t *d, const char *id, size_t len)
{
    cnx_dir_room_t  **pp;

    pp = &d->rooms[cnx_dir_hash(id, len) & (d->rooms_cap - 1)];

    for ( /* void */ ; *pp; pp = &(*pp)->hnext) {
        if ((*pp)->id_len == len && memcmp((*pp)->id, id, len) == 0) {
            break;
        }
    }

    return pp;
}


/* A room in m's list has m as member 0 or 1. */
static int
cnx_dir_list_side(const cnx_dir_room_t *r, const cnx_dir_member_t *m)
{
    return r->member[0] == m ? 0 : 1;
}


static void
cnx_dir_link(cnx_dir_room_t *r, int side)
{
    cnx_dir_member_t  *m = r->member[side];
    cnx_dir_room_t    *head = m->rooms;

    r->prev[side] = NULL;
    r->next[side] = head;

    if (head) {
        head->prev[cnx_dir_list_side(head, m)] = r;
    }

    m->rooms = r;
    m->nrooms++;
}


static void
cnx_dir_unlink(cnx_dir_room_t *r, int side)
{
    cnx_dir_member_t  *m = r->member[side];
    cnx_dir_room_t    *p = r->prev[side], *n = r->next[side];

    if (p) {
        p->next[cnx_dir_list_side(p, m)] = n;

    } else {
        m->rooms = n;
    }

    if (n) {
        n->prev[cnx_dir_list_side(n, m)] = p;
    }

    m->nrooms--;
}


cnx_dir_room_t *
cnx_dir_room_create(cnx_dir_t *d, const char *id, size_t id_len,
    cnx_dir_member_t *initiator, const char *iname, size_t ilen,
    cnx_dir_member_t *target, const char *tname, size_t tlen)
{
    cnx_dir_room_t  **pp, *r;

    if (id_len == 0 || id_len > CNX_DIR_ROOM_ID_MAX
        || ilen > CNX_DIR_NAME_MAX || tlen > CNX_DIR_NAME_MAX
        || initiator == NULL || target == NULL || initiator == target)
    {
        return NULL;
    }

    pp = cnx_dir_room_slot(d, id, id_len);
    if (*pp) {
        return NULL;
    }

    r = calloc(1, sizeof(cnx_dir_room_t));
    if (r == NULL) {
        return NULL;
    }

    memcpy(r->id, id, id_len);
    r->id_len = id_len;
    r->state = CNX_DIR_ROOM_PENDING;
    r->member[0] = initiator;
    r->member[1] = target;
    memcpy(r->name[0], iname, ilen);
    r->name_len[0] = ilen;
    memcpy(r->name[1], tname, tlen);
    r->name_len[1] = tlen;

    *pp = r;
    cnx_dir_link(r, 0);
    cnx_dir_link(r, 1);
    initiator->npending++;
    initiator->nopened++;
    target->nincoming++;

    if (++d->nrooms > d->rooms_cap) {
        cnx_dir_rooms_grow(d);
    }

    return r;
}


cnx_dir_room_t *
cnx_dir_room_get(cnx_dir_t *d, const char *id, size_t id_len)
{
    if (id_len == 0 || id_len > CNX_DIR_ROOM_ID_MAX) {
        return NULL;
    }

    return *cnx_dir_room_slot(d, id, id_len);
}


int
cnx_dir_room_side(const cnx_dir_room_t *r, const cnx_dir_member_t *m)
{
    if (m == NULL) {
        return -1;
    }

    if (r->member[0] == m) {
        return 0;
    }

    if (r->member[1] == m) {
        return 1;
    }

    return -1;
}


cnx_dir_member_t *
cnx_dir_room_peer(const cnx_dir_room_t *r, const cnx_dir_member_t *m)
{
    int  side = cnx_dir_room_side(r, m);

    return side < 0 ? NULL : r->member[1 - side];
}


void
cnx_dir_room_activate(cnx_dir_room_t *r)
{
    if (r->state == CNX_DIR_ROOM_PENDING) {
        r->state = CNX_DIR_ROOM_ACTIVE;
        r->member[0]->npending--;
        r->member[1]->nincoming--;
    }
}


void
cnx_dir_room_remove(cnx_dir_t *d, cnx_dir_room_t *r)
{
    cnx_dir_room_t  **pp;

    pp = cnx_dir_room_slot(d, r->id, r->id_len);
    if (*pp != r) {
        return;                     /* not ours: never free twice */
    }

    *pp = r->hnext;
    d->nrooms--;

    if (r->state == CNX_DIR_ROOM_PENDING) {
        r->member[0]->npending--;
        r->member[1]->nincoming--;
    }

    r->member[0]->nopened--;
    cnx_dir_unlink(r, 0);
    cnx_dir_unlink(r, 1);
    free(r);
}


cnx_dir_room_t *
cnx_dir_member_first(const cnx_dir_member_t *m)
{
    return m->rooms;
}


cnx_dir_room_t *
cnx_dir_room_next(const cnx_dir_room_t *r, const cnx_dir_member_t *m)
{
    if (r->member[0] == m) {
        return r->next[0];
    }

    return r->member[1] == m ? r->next[1] : NULL;
}
