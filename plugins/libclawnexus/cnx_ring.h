/*
 * cnx_ring: the writer's bookkeeping of a byte ring shared with one
 * reader (the relay's rings between two workers), without the memory.
 *
 * The writer reserves room for one record at a time and writes it there;
 * records written one after the other form a region, which the writer
 * announces to the reader by other means (a datagram naming its start and
 * length), in order.  The reader handles a region's records where they
 * lie and then gives everything up to the region's end back by
 * publishing it as its head.  Positions count bytes since the ring was
 * made (they never wrap); a position's offset in the ring is position
 * mod size.
 *
 * A region never wraps: when the open region reaches the ring's end, or
 * the next record would not fit before the end, the writer must announce
 * the open region first, and a record that does not fit before the end
 * starts at the ring's start (the rest of the end is skipped, and given
 * back with the next region).
 */

#ifndef CNX_RING_H
#define CNX_RING_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t  size;     /* a power of 2 */
    uint64_t  tail;     /* written up to */
    uint64_t  open;     /* the region not yet announced: open..tail */
} cnx_ring_t;

#define CNX_RING_FULL      (-1)     /* no room until the reader gives back */
#define CNX_RING_ANNOUNCE  (-2)     /* announce the open region first */

/* An empty ring of size bytes (a power of 2). */
void cnx_ring_init(cnx_ring_t *r, uint64_t size);

/*
 * Room for n bytes in one piece, the reader having given back everything
 * before head: the offset in the ring to write them at (tail moves past
 * them, and they join the open region), CNX_RING_ANNOUNCE, or
 * CNX_RING_FULL.
 */
long cnx_ring_reserve(cnx_ring_t *r, uint64_t head, size_t n);

/* Whether a region is open: written, not yet taken. */
int cnx_ring_pending(const cnx_ring_t *r);

/*
 * The open region, if any: returns 1 and its start and length, and
 * closes it (the caller announces it); 0 if nothing is open.
 */
int cnx_ring_take(cnx_ring_t *r, uint64_t *start, uint64_t *len);

/*
 * The reader's check of an announced region: its offset in a ring of
 * size bytes, or -1 if it is not one region of such a ring (it wraps or
 * is longer than the ring).
 */
long cnx_ring_region(uint64_t size, uint64_t start, uint64_t len);

#endif
