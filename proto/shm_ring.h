/*
 * shm_ring.h: the shared-memory channel's layout and its single-producer,
 * single-consumer byte rings, used by the daemon and by libipcd alike
 * (PROTOCOL.md, "Shared-memory channel").
 *
 * The memfd holds a header page and two rings: requests (client to daemon)
 * and replies (daemon to client). A ring carries a byte stream, the same
 * frames as the socket would, so a frame may wrap around the end of the
 * ring and may be larger than the ring (it then passes in pieces).
 *
 * Each side keeps its own index privately (struct shm_ring.pos) and only
 * publishes it; it reads the other side's index from shared memory. So a
 * peer that scribbles on the memory can make a ring look inconsistent
 * (more used than its size), which every call reports as SHM_RING_CORRUPT,
 * but can never make this side read or write outside the ring.
 */
#ifndef IPCD_PROTO_SHM_RING_H
#define IPCD_PROTO_SHM_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SHM_MAGIC 0x3130636d68736469ull   /* "idshmc01" little-endian */
#define SHM_VERSION 2
#define SHM_HEADER_SIZE 4096u
#define SHM_CACHE_LINE 64
/* Ring sizes: powers of two in this range (shm_ring_size). */
#define SHM_RING_MIN (4u << 10)
#define SHM_RING_MAX (64u << 20)

/* A ring's control words. Indices count bytes since the start and wrap at
 * 2^32; head - tail is the bytes in the ring. Each sits on a cache line of
 * its own, so that while both sides are busy no line moves between their
 * CPUs but the ones that must: head (with the producer's flag, which the
 * consumer reads with it) goes to the consumer at each write; tail, written
 * at each read, is read by the producer only when the room it last saw is
 * too little; consumer_sleeping, which the producer reads after each
 * write, changes only when the consumer sleeps or wakes. */
struct shm_ring_ctl {
	_Alignas(SHM_CACHE_LINE) _Atomic uint32_t head;    /* producer: bytes written */
	_Atomic uint32_t producer_sleeping; /* producer waits for room: wake it after reading */
	_Alignas(SHM_CACHE_LINE) _Atomic uint32_t tail;    /* consumer: bytes read */
	_Alignas(SHM_CACHE_LINE) _Atomic uint32_t consumer_sleeping; /* consumer waits for bytes: wake it after writing */
};

/* The header at offset 0 of the memfd, written once by the daemon before
 * it hands the memfd over. The daemon never reads it back. */
struct shm_header {
	uint64_t magic;
	uint32_t version;
	uint32_t ring_size;      /* bytes of each ring's data */
	uint32_t req_offset;     /* offset of the request ring's data */
	uint32_t rep_offset;     /* offset of the reply ring's data */
	struct shm_ring_ctl req; /* client -> daemon */
	struct shm_ring_ctl rep; /* daemon -> client */
};

/* One side's view of one ring. */
struct shm_ring {
	struct shm_ring_ctl *ctl;
	unsigned char *data;
	uint32_t size;           /* a power of two */
	uint32_t pos;            /* our own index: head if we produce, tail if we consume */
	uint32_t tail_seen;      /* producer: the consumer's tail as last read (checked then) */
};

#define SHM_RING_CORRUPT ((ssize_t)-1)

/* Bytes of a memfd holding two rings of ring_size. */
size_t shm_map_size(uint32_t ring_size);
/* True if ring_size is a valid size (a power of two within the bounds). */
int shm_ring_size_ok(uint64_t ring_size);
/* Lay out a fresh header in mem (map_size bytes, zeroed). */
void shm_header_init(void *mem, uint32_t ring_size);
/* Check a header handed over with map_size bytes; 0 or -1. Then set up the
 * two views (client side: produces req, consumes rep). */
int shm_header_check(const void *mem, size_t map_size);
/* Views of a mapping laid out by shm_header_init. ring_size comes from the
 * caller's own knowledge (the daemon never trusts the header). */
void shm_rings(void *mem, uint32_t ring_size, struct shm_ring *req, struct shm_ring *rep);

/* Producer: copy up to n bytes of p in, publish them. Bytes written (0:
 * full), or SHM_RING_CORRUPT. */
ssize_t shm_ring_write(struct shm_ring *r, const void *p, size_t n);
/* Consumer: copy up to n bytes out into p, publish that they are taken.
 * Bytes read (0: empty), or SHM_RING_CORRUPT. */
ssize_t shm_ring_read(struct shm_ring *r, void *p, size_t n);
/* Consumer: bytes waiting, or SHM_RING_CORRUPT. */
ssize_t shm_ring_readable(const struct shm_ring *r);
/* Producer: room left (by the tail as it is now), or SHM_RING_CORRUPT. */
ssize_t shm_ring_writable(const struct shm_ring *r);

/*
 * Sleeping and waking. A side about to sleep sets its flag, then looks at
 * the ring once more (the *_sleep calls do both and return what they saw);
 * the other side, after publishing, calls the *_wake call, which is true
 * once per sleep: then it must wake the sleeper (a byte on the socket).
 * Both steps are sequentially consistent, so either the sleeper sees the
 * new bytes or the publisher sees the flag: no wake-up is lost.
 */
/* Consumer about to sleep: bytes waiting now (then it must not sleep). */
ssize_t shm_ring_consumer_sleep(struct shm_ring *r);
/* Producer about to sleep: room now (then it must not sleep). */
ssize_t shm_ring_producer_sleep(struct shm_ring *r);
/* Consumer awake again without a wake-up (it found bytes): clear its flag. */
void shm_ring_consumer_awake(struct shm_ring *r);
void shm_ring_producer_awake(struct shm_ring *r);
/* True if the consumer said it sleeps (the producer spinning for room or
 * for an answer knows the other side is not working on it). */
int shm_ring_consumer_sleeps(const struct shm_ring *r);
/* After writing: true if the consumer sleeps and must be woken. */
int shm_ring_wake_consumer(struct shm_ring *r);
/* After reading: true if the producer sleeps and must be woken. */
int shm_ring_wake_producer(struct shm_ring *r);

#endif
