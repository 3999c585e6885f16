/* cnx_ring: the writer's bookkeeping of a shared byte ring (cnx_ring.h). */

#include "cnx_ring.h"


void
cnx_ring_init(cnx_ring_t *r, uint64_t size)
{
    r->size = size;
    r->tail = 0;
    r->open = 0;
}


long
cnx_ring_reserve(cnx_ring_t *r, uint64_t head, size_t n)
{
    uint64_t  pos, skip;

    pos = r->tail & (r->size - 1);
    skip = (pos + n > r->size) ? r->size - pos : 0;

    if (n > r->size || r->tail + skip + n - head > r->size) {
        return CNX_RING_FULL;
    }
    if (cnx_ring_pending(r) && (skip || pos == 0)) {
        /* the open region would wrap, or ends where the ring does */
        return CNX_RING_ANNOUNCE;
    }
    r->tail += skip;
    if (skip) {
        r->open = r->tail;
        pos = 0;
    }
    r->tail += n;
    return (long) pos;
}


int
cnx_ring_pending(const cnx_ring_t *r)
{
    return r->open != r->tail;
}


int
cnx_ring_take(cnx_ring_t *r, uint64_t *start, uint64_t *len)
{
    if (!cnx_ring_pending(r)) {
        return 0;
    }
    *start = r->open;
    *len = r->tail - r->open;
    r->open = r->tail;
    return 1;
}


long
cnx_ring_region(uint64_t size, uint64_t start, uint64_t len)
{
    uint64_t  pos = start & (size - 1);

    if (len > size - pos) {
        return -1;
    }
    return (long) pos;
}
