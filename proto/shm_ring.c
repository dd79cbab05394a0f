/*
 * shm_ring.c: the shared-memory rings (see shm_ring.h). Publishing an index
 * is a release (the bytes before it are visible first) and reading the
 * other side's index an acquire; the sleep flags use sequentially
 * consistent operations, which is what makes the flag handshake safe.
 */
#include <string.h>
#include "shm_ring.h"

_Static_assert(sizeof(struct shm_header) <= SHM_HEADER_SIZE, "shm header fits its page");

size_t shm_map_size(uint32_t ring_size)
{
	return SHM_HEADER_SIZE + 2 * (size_t)ring_size;
}

int shm_ring_size_ok(uint64_t n)
{
	return n >= SHM_RING_MIN && n <= SHM_RING_MAX && (n & (n - 1)) == 0;
}

void shm_header_init(void *mem, uint32_t ring_size)
{
	struct shm_header *h = mem;
	h->magic = SHM_MAGIC;
	h->version = SHM_VERSION;
	h->ring_size = ring_size;
	h->req_offset = SHM_HEADER_SIZE;
	h->rep_offset = SHM_HEADER_SIZE + ring_size;
}

int shm_header_check(const void *mem, size_t map_size)
{
	const struct shm_header *h = mem;
	if (map_size < SHM_HEADER_SIZE || h->magic != SHM_MAGIC || h->version != SHM_VERSION ||
	    !shm_ring_size_ok(h->ring_size) || map_size != shm_map_size(h->ring_size) ||
	    h->req_offset != SHM_HEADER_SIZE || h->rep_offset != SHM_HEADER_SIZE + h->ring_size)
		return -1;
	return 0;
}

void shm_rings(void *mem, uint32_t ring_size, struct shm_ring *req, struct shm_ring *rep)
{
	struct shm_header *h = mem;
	unsigned char *base = mem;
	*req = (struct shm_ring){ &h->req, base + SHM_HEADER_SIZE, ring_size, 0, 0 };
	*rep = (struct shm_ring){ &h->rep, base + SHM_HEADER_SIZE + ring_size, ring_size, 0, 0 };
}

ssize_t shm_ring_readable(const struct shm_ring *r)
{
	uint32_t n = atomic_load_explicit(&r->ctl->head, memory_order_acquire) - r->pos;
	return n > r->size ? SHM_RING_CORRUPT : (ssize_t)n;
}

ssize_t shm_ring_writable(const struct shm_ring *r)
{
	uint32_t used = r->pos - atomic_load_explicit(&r->ctl->tail, memory_order_acquire);
	return used > r->size ? SHM_RING_CORRUPT : (ssize_t)(r->size - used);
}

/* Room for a write of n bytes: by the tail last read if that leaves enough
 * (a tail once checked only grows), else by the tail read again. */
static ssize_t ring_room(struct shm_ring *r, size_t n)
{
	uint32_t used = r->pos - r->tail_seen;
	if (used <= r->size && r->size - used >= n)
		return (ssize_t)(r->size - used);
	r->tail_seen = atomic_load_explicit(&r->ctl->tail, memory_order_acquire);
	used = r->pos - r->tail_seen;
	return used > r->size ? SHM_RING_CORRUPT : (ssize_t)(r->size - used);
}

ssize_t shm_ring_write(struct shm_ring *r, const void *p, size_t n)
{
	ssize_t room = ring_room(r, n);
	if (room <= 0)
		return room;
	if (n > (size_t)room)
		n = (size_t)room;
	uint32_t at = r->pos & (r->size - 1), first = r->size - at;
	if (first > n)
		first = (uint32_t)n;
	memcpy(r->data + at, p, first);
	memcpy(r->data, (const unsigned char *)p + first, n - first);
	r->pos += (uint32_t)n;
	atomic_store_explicit(&r->ctl->head, r->pos, memory_order_seq_cst);
	return (ssize_t)n;
}

ssize_t shm_ring_read(struct shm_ring *r, void *p, size_t n)
{
	ssize_t have = shm_ring_readable(r);
	if (have <= 0)
		return have;
	if (n > (size_t)have)
		n = (size_t)have;
	uint32_t at = r->pos & (r->size - 1), first = r->size - at;
	if (first > n)
		first = (uint32_t)n;
	memcpy(p, r->data + at, first);
	memcpy((unsigned char *)p + first, r->data, n - first);
	r->pos += (uint32_t)n;
	atomic_store_explicit(&r->ctl->tail, r->pos, memory_order_seq_cst);
	return (ssize_t)n;
}

ssize_t shm_ring_consumer_sleep(struct shm_ring *r)
{
	atomic_store_explicit(&r->ctl->consumer_sleeping, 1, memory_order_seq_cst);
	return shm_ring_readable(r);
}

ssize_t shm_ring_producer_sleep(struct shm_ring *r)
{
	atomic_store_explicit(&r->ctl->producer_sleeping, 1, memory_order_seq_cst);
	return shm_ring_writable(r);
}

/* Cleared only if set: a store to a flag already clear would still take
 * its line from the other side, which reads it after each of its writes. */
void shm_ring_consumer_awake(struct shm_ring *r)
{
	if (atomic_load_explicit(&r->ctl->consumer_sleeping, memory_order_relaxed))
		atomic_store_explicit(&r->ctl->consumer_sleeping, 0, memory_order_relaxed);
}

void shm_ring_producer_awake(struct shm_ring *r)
{
	if (atomic_load_explicit(&r->ctl->producer_sleeping, memory_order_relaxed))
		atomic_store_explicit(&r->ctl->producer_sleeping, 0, memory_order_relaxed);
}

int shm_ring_consumer_sleeps(const struct shm_ring *r)
{
	return atomic_load_explicit(&r->ctl->consumer_sleeping, memory_order_relaxed) != 0;
}

int shm_ring_wake_consumer(struct shm_ring *r)
{
	return atomic_load_explicit(&r->ctl->consumer_sleeping, memory_order_seq_cst) &&
	       atomic_exchange_explicit(&r->ctl->consumer_sleeping, 0, memory_order_seq_cst);
}

int shm_ring_wake_producer(struct shm_ring *r)
{
	return atomic_load_explicit(&r->ctl->producer_sleeping, memory_order_seq_cst) &&
	       atomic_exchange_explicit(&r->ctl->producer_sleeping, 0, memory_order_seq_cst);
}
