/*
 * queue_store.h: how a queue stores its ready items of priority 0, in FIFO
 * order, at the cost of a plain FIFO of small values or less.
 *
 * Each slot of the store is one of:
 *   a bare value     struct value *, a plain item (never delivered, no
 *                    priority, no delay) too big or too nested to pack
 *   an item          a tagged struct qitem * (queue.h), owned by the queue
 *                    and opaque here: an item that was delivered or delayed
 *   a packed run     many small plain scalars back to back (see the .c)
 * Plain values (bare and packed) carry their put time in run-length age
 * runs beside the slots; an item keeps its own.
 *
 * Appends go to the tail, takes come from the head. A push of many values
 * is all or nothing: on ENOMEM nothing is appended and the values are still
 * the caller's.
 */
#ifndef IPCD_QUEUE_STORE_H
#define IPCD_QUEUE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include "deque.h"
#include "wire.h"

struct value;
struct qitem;

struct qstore {
	struct deque slots;         /* bare value, tagged item, or tagged packed run */
	size_t len;                 /* items stored (a packed run holds many) */
	void *spare;                /* an empty small run kept for the next push */
	struct deque ages;          /* put times of the plain values, run-length packed */
	size_t runs_mem;            /* what its packed runs cost allocated, the spare's too */
	size_t packed;              /* bytes of the values in them */
};

/* The largest value that is packed into runs (larger ones stay bare). */
#define QSTORE_PACK_MAX 256

/* Zeroed memory is an empty store; qstore_free releases what it holds
 * (items through free_item) and leaves it empty. Returns how many went. */
size_t qstore_clear(struct qstore *s, void (*free_item)(struct qitem *));
void qstore_free(struct qstore *s, void (*free_item)(struct qitem *));

static inline size_t qstore_len(const struct qstore *s) { return s->len; }
/* Bytes s holds beyond its values and items: empty slots, age runs and
 * the unused part of its packed runs, in O(1). Runs are counted in
 * value_mem_used as they are allocated; the arrays' part is what the
 * queue counts after each change. */
size_t qstore_room(const struct qstore *s);
size_t qstore_arrays_room(const struct qstore *s);

/* Room for n more slots, so that qstore_push_item cannot fail. 0 or -1. */
int qstore_reserve(struct qstore *s, size_t n);
/* Bytes qstore_reserve(s, n) would add to the slot array (0 if it fits). */
size_t qstore_reserve_growth(const struct qstore *s, size_t n);

/* Append n plain values put at now (a coarse monotonic ms). Small scalars
 * are copied into runs and freed (vals[i] set to NULL), the others stored
 * bare. 0, or -1 on ENOMEM with nothing appended. */
int qstore_push_values(struct qstore *s, struct value **vals, uint32_t n, uint64_t now);
/* Append one small scalar from bytes the caller keeps (len at most
 * QSTORE_PACK_MAX, the canonical encoding of a nil, bool, number, str, bin
 * or ext): the put path's copy without a struct value of its own. 0, or
 * -1 on ENOMEM or at max_memory (nothing appended). */
int qstore_push_packed(struct qstore *s, const char *bytes, uint32_t len, uint64_t now);
/* Append the n decoded values vals (decode.h) put at now, all small
 * scalars (nil, bool, number, str, bin or ext of at most QSTORE_PACK_MAX
 * bytes encoded), in one call: put_many's path, with no struct value of
 * their own. 0; 1 if one of them is not such a scalar (nothing appended:
 * store them as values); -1 on ENOMEM or at max_memory (nothing appended).
 * max_memory is checked as for qstore_push_packed, for all of them. */
int qstore_push_packed_many(struct qstore *s, const msgpack_object *vals, uint32_t n, uint64_t now);
/* True if bytes (len) are what qstore_push_packed takes. */
static inline int qstore_packs(const char *bytes, size_t len)
{
	return len && len <= QSTORE_PACK_MAX && wire_scalar_len(bytes, len) == len;
}
/* Add item at the head or the tail (room reserved, or -1 on ENOMEM). */
int qstore_push_item(struct qstore *s, struct qitem *item, int at_head);

/* One stored item, as qstore_front and qstore_next see it: an item, a bare
 * value, or a packed value's header (shared by its run or its own) and
 * body, whose bytes together are its encoding. */
struct qstore_entry {
	struct qitem *item;         /* an item, else NULL */
	struct value *value;        /* a bare value, else NULL */
	const char *hdr, *body;     /* a packed value */
	uint32_t hlen, blen;
	uint64_t put_ms;            /* a plain value's put time */
};

/* The item at the head (the store is not empty). */
void qstore_front(const struct qstore *s, struct qstore_entry *e);
/* Drop the head. A bare value or an item is the caller's from then on; a
 * packed value's bytes are gone (pack them before). */
void qstore_pop_front(struct qstore *s);
/* The get path in one step: if the head is a plain value of at most room
 * bytes, pack it into pk, drop it and return its length (> 0); 0 if it is
 * a plain value longer than room (left in place); -1 if the head is an item
 * (left in place: the caller takes it with qstore_front and
 * qstore_pop_front). */
long qstore_pop_value(struct qstore *s, msgpack_packer *pk, size_t room);
/* get_many's path: up to max values of the head run, if the head is a
 * packed run, packed into pk (a few calls for them all) and dropped, each
 * only while it fits *room (less what it took; the first one always fits if
 * first_fits). Returns how many: 0 if the head is no packed run, or its
 * first value does not fit (then qstore_pop_value says which). */
uint32_t qstore_pop_packed(struct qstore *s, msgpack_packer *pk, uint32_t max, size_t *room, int first_fits);
/* Pack the head's value as msgpack (a packed or bare value, or an item's
 * via its value; the caller says which value an item holds). */
void qstore_pack_entry(const struct qstore_entry *e, const struct value *item_value, msgpack_packer *pk);

/* Walking the store from head to tail without changing it. */
struct qstore_pos {
	size_t slot;                /* slot index */
	uint32_t off;               /* offset in a packed run */
	size_t age;                 /* age run of the next plain value */
	uint32_t age_used;          /* values of that age run already passed */
};
static inline void qstore_begin(const struct qstore *s, struct qstore_pos *p)
{
	(void)s;
	*p = (struct qstore_pos){ 0, 0, 0, 0 };
}
/* The entry at p, then p moves past it. 0 at the end. */
int qstore_next(const struct qstore *s, struct qstore_pos *p, struct qstore_entry *e);
/* Move p past up to n entries (whole runs at a time); returns how many. */
size_t qstore_skip(const struct qstore *s, struct qstore_pos *p, size_t n);
/* If p is at the start of a packed run whose values keep their own headers,
 * the run's bytes (the encodings of its values, back to back) in *data and
 * *len, its number of values returned, and p moves past it; else 0. A dump
 * copies such a run at once. */
uint32_t qstore_next_run(const struct qstore *s, struct qstore_pos *p, const char **data, size_t *len);

#endif
