/*
 * queue_store.c: a queue's ready items of priority 0 (see queue_store.h).
 *
 * Small plain values are not allocated one by one: consecutive ones are
 * packed back to back in runs of about 4 KB, one slot per run, as Redis's
 * quicklist does (a 16-byte string then costs its 17 msgpack bytes instead
 * of a 32-byte allocation and a slot). Only scalars are packed (nil, bool,
 * numbers, str, bin, ext), whose msgpack header tells their length, so a
 * run needs no lengths of its own. Values are appended at the run's tail
 * and taken from its head; the run is freed when its last value is taken.
 *
 * A run whose values all share their msgpack header (the same type and
 * length: fixed-size records, hashes, ids, numbers of one width) keeps that
 * header once and only the bodies back to back, so a 16-byte bin costs 16
 * bytes, not 18. A run takes this form for its first value; a value with
 * another header makes it write the headers out (while it holds only a few
 * values, so that mixed values never cost a run each) or closes it.
 *
 * value_mem_used counts a run by what it costs allocated, from the moment
 * it is; a bare value by its own cost. The unused part of the runs and the
 * slot and age arrays are the store's room (qstore_room); the arrays'
 * part (qstore_arrays_room) the queue counts after each change.
 */
#include <stdlib.h>
#include <string.h>
#include "queue_store.h"
#include "decode.h"
#include "value.h"
#include "wire.h"

/* ---- slots ---------------------------------------------------------------- */

/* A slot is a struct value *; with the lowest bit set, a struct qitem *;
 * with the next bit set, a struct qpack * (all are malloc'd, so those bits
 * are otherwise 0). */
#define SLOT_ITEM ((uintptr_t)1)
#define SLOT_PACK ((uintptr_t)2)

#define PACK_SHARED_MIN 8           /* values a shared-header run holds before a mismatch closes it */

struct qpack {
	uint16_t head, tail;        /* offsets in data of the first value and the end */
	uint16_t cap;               /* bytes of data */
	uint8_t hlen;               /* 0: whole values; else each is hdr[0..hlen) + blen bytes of data */
	uint8_t hdr[3];
	uint16_t blen;
	uint16_t nvals;             /* values in the run, so that a walk skips it at once */
	char data[];
};

/* A run starts small (a queue of a few items costs little) and grows by
 * doubling up to one 4 KB allocation (the allocator's 8-byte header in). */
#define PACK_MIN_CAP 64u
#define PACK_MAX_CAP ((uint32_t)(4096 - 8 - sizeof(struct qpack)))

static inline int slot_is_item(const void *p) { return ((uintptr_t)p & SLOT_ITEM) != 0; }
static inline struct qitem *slot_item(const void *p) { return (struct qitem *)((uintptr_t)p & ~SLOT_ITEM); }
static inline void *slot_of_item(struct qitem *it) { return (void *)((uintptr_t)it | SLOT_ITEM); }
static inline int slot_is_pack(const void *p) { return ((uintptr_t)p & SLOT_PACK) != 0; }
static inline struct qpack *slot_pack(const void *p) { return (struct qpack *)((uintptr_t)p & ~SLOT_PACK); }
static inline void *slot_of_pack(struct qpack *k) { return (void *)((uintptr_t)k | SLOT_PACK); }

static uint32_t pack_cap_for(uint32_t want)
{
	uint32_t c = PACK_MIN_CAP;
	while (c < want && c < PACK_MAX_CAP)
		c *= 2;
	return c < PACK_MAX_CAP ? c : PACK_MAX_CAP;
}


/* Length of the header of packable value p (len bytes) that values like it
 * share, or 0 if it has none worth sharing (one-byte values, empty strings). */
static uint32_t pack_header_len(const unsigned char *p, size_t len)
{
	unsigned b = p[0];
	uint32_t h;
	if ((b & 0xe0) == 0xa0)
		h = 1;
	else if ((b >= 0xca && b <= 0xd3) || b == 0xc4 || b == 0xd9)
		h = b == 0xc4 || b == 0xd9 ? 2 : 1;
	else if (b >= 0xd4 && b <= 0xd8)
		h = 2;                  /* fixext: the ext type is in the header */
	else if (b == 0xc7)
		h = 3;
	else
		return 0;
	return len > h ? h : 0;
}

/* True if value p (len bytes) has run k's shared header. */
static int pack_same_header(const struct qpack *k, const unsigned char *p, size_t len)
{
	return len == (size_t)k->hlen + k->blen && memcmp(p, k->hdr, k->hlen) == 0;
}

/* The value at offset off of run k, into e's hdr and body. Returns how many
 * bytes of the run it takes. */
static uint32_t pack_at(const struct qpack *k, uint32_t off, struct qstore_entry *e)
{
	e->item = NULL;
	e->value = NULL;
	e->hdr = (const char *)k->hdr;
	e->hlen = k->hlen;
	e->body = k->data + off;
	e->blen = k->hlen ? k->blen : (uint32_t)wire_scalar_len(k->data + off, k->tail - off);
	return e->blen;
}

/* What a run of cap bytes of data costs: its allocation and its slot. It
 * is counted in value_mem_used when it is allocated (refused if that would
 * pass max_memory), so the values in it cost nothing more there; the
 * store's own count of their bytes tells its room. */
static size_t pack_cost(uint32_t cap)
{
	return value_alloc_cost(sizeof(struct qpack) + cap) + sizeof(void *);
}

static inline void packed_add(struct qstore *s, size_t n) { s->packed += n; }
static inline void packed_sub(struct qstore *s, size_t n) { s->packed -= n; }

static struct qpack *pack_new(struct qstore *s, uint32_t want)
{
	uint32_t cap = pack_cap_for(want);
	if (!value_mem_fits(pack_cost(cap)))
		return NULL;
	struct qpack *k = value_alloc(sizeof(*k) + cap);
	if (k) {
		k->head = k->tail = 0;
		k->cap = (uint16_t)cap;
		k->hlen = 0;
		k->nvals = 0;
		value_mem_add(pack_cost(cap));
		s->runs_mem += pack_cost(cap);
	}
	return k;
}

static void pack_free(struct qstore *s, struct qpack *k)
{
	packed_sub(s, k->tail - k->head);
	value_mem_sub(pack_cost(k->cap));
	s->runs_mem -= pack_cost(k->cap);
	free(k);
}

/* k's last value was taken: kept as the store's spare run if it is one of
 * the smallest and none is kept yet (the next small put reuses it), else
 * freed. The caller takes its slot out. */
static void pack_retire(struct qstore *s, struct qpack *k)
{
	if (!s->spare && k->cap == PACK_MIN_CAP) {
		k->head = k->tail = 0;
		s->spare = k;
	} else {
		pack_free(s, k);
	}
}

/* Run k at slot i grows to hold want bytes. 0, or -1 on ENOMEM or at
 * max_memory (k unchanged). */
static int pack_grow(struct qstore *s, struct qpack **kp, size_t i, uint32_t want)
{
	uint32_t old = (*kp)->cap, cap = pack_cap_for(want);
	size_t more = pack_cost(cap) - pack_cost(old);
	if (!value_mem_fits(more))
		return -1;
	struct qpack *g = realloc(*kp, sizeof(**kp) + cap);
	if (!g)
		return -1;
	g->cap = (uint16_t)cap;
	value_mem_add(more);
	s->runs_mem += more;
	deque_set(&s->slots, i, slot_of_pack(g));
	*kp = g;
	return 0;
}

/* A new run for want bytes: the spare if it fits. */
static struct qpack *store_new_pack(struct qstore *s, uint32_t want)
{
	struct qpack *k = s->spare;
	if (k && pack_cap_for(want) == k->cap) {
		s->spare = NULL;
		return k;
	}
	return pack_new(s, want);
}

/* Run k (slot i) shares a header and a value with another one comes: write
 * the headers out in place, growing k for the value too. 0, or -1 on ENOMEM
 * (k unchanged). */
static int pack_unshare(struct qstore *s, struct qpack **kp, size_t i, uint32_t more)
{
	struct qpack *k = *kp;
	uint32_t n = k->nvals, h = k->hlen, b = k->blen, need = n * (h + b) + more;
	if (need > k->cap && pack_grow(s, &k, i, need) < 0)
		return -1;
	memmove(k->data, k->data + k->head, (size_t)n * b);
	for (uint32_t j = n; j-- > 0;) {   /* from the back: the values only move up */
		memmove(k->data + j * (h + b) + h, k->data + j * b, b);
		memcpy(k->data + j * (h + b), k->hdr, h);
	}
	k->head = 0;
	k->tail = (uint16_t)(n * (h + b));
	k->hlen = 0;
	packed_add(s, (size_t)n * h);
	*kp = k;
	return 0;
}

/* Copy small value p (len bytes) to the back run, grown or new if needed.
 * 0, or -1 on ENOMEM with the store's content unchanged. */
static int store_append_packed(struct qstore *s, const unsigned char *p, uint32_t len)
{
	size_t nslots = deque_len(&s->slots);
	void *back = nslots ? deque_at(&s->slots, nslots - 1) : NULL;
	struct qpack *k = back && slot_is_pack(back) ? slot_pack(back) : NULL;
	if (k && k->hlen && !pack_same_header(k, p, len)) {
		if (k->nvals > PACK_SHARED_MIN)
			k = NULL;   /* a long run of one shape: keep it, start another */
		else if (pack_unshare(s, &k, nslots - 1, len) < 0)
			return -1;
	}
	uint32_t need = k && k->hlen ? k->blen : len;
	if (k && need > (uint32_t)(k->cap - k->tail)) {
		uint32_t want = k->tail + need;
		if (want > PACK_MAX_CAP) {
			if (!(k = pack_new(s, PACK_MAX_CAP)))   /* the store fills whole runs */
				return -1;
			deque_push_back(&s->slots, slot_of_pack(k));
		} else if (pack_grow(s, &k, nslots - 1, want) < 0) {
			return -1;
		}
	} else if (!k) {
		if (!(k = store_new_pack(s, len)))
			return -1;
		deque_push_back(&s->slots, slot_of_pack(k));
	}
	if (k->tail == 0 && (k->hlen = (uint8_t)pack_header_len(p, len))) {
		memcpy(k->hdr, p, k->hlen);   /* an empty run: share this value's header */
		k->blen = (uint16_t)(len - k->hlen);
	}
	need = len - k->hlen;
	memcpy(k->data + k->tail, p + k->hlen, need);
	k->tail = (uint16_t)(k->tail + need);
	k->nvals++;
	packed_add(s, need);
	return 0;
}

/* Where the slots ended before a push, to undo it. */
struct store_mark {
	size_t nslots;
	uint16_t tail, nvals;       /* of the back run, if the back slot was one */
	uint8_t hlen;
	uint16_t blen;
};

static void store_mark(const struct qstore *s, struct store_mark *m)
{
	m->nslots = deque_len(&s->slots);
	void *back = m->nslots ? deque_at(&s->slots, m->nslots - 1) : NULL;
	const struct qpack *k = back && slot_is_pack(back) ? slot_pack(back) : NULL;
	m->tail = k ? k->tail : 0;
	m->nvals = k ? k->nvals : 0;
	m->hlen = k ? k->hlen : 0;
	m->blen = k ? k->blen : 0;
}

/* Drop what was appended to the slots since mark m: the undo of a failed
 * push. Bare values dropped are still the caller's. */
static void store_truncate(struct qstore *s, const struct store_mark *m)
{
	while (deque_len(&s->slots) > m->nslots) {
		void *p = deque_pop_back(&s->slots);
		if (slot_is_pack(p))
			pack_free(s, slot_pack(p));
	}
	void *back = m->nslots ? deque_at(&s->slots, m->nslots - 1) : NULL;
	if (back && slot_is_pack(back)) {
		struct qpack *k = slot_pack(back);
		uint32_t tail = m->tail;
		if (m->hlen && !k->hlen)   /* its headers were written out since (from head 0) */
			tail = (uint32_t)m->nvals * (m->hlen + m->blen);
		packed_sub(s, k->tail - tail);
		k->tail = (uint16_t)tail;
		k->nvals = m->nvals;
	}
}

/* ---- ages of plain values ------------------------------------------------- */

/*
 * s->ages holds the put times of the plain values, which are only ever
 * appended and taken from the front, as runs: one word per run of values
 * put in the same coarse millisecond, (ms << AGE_BITS) | count.
 */
#define AGE_BITS 20
#define AGE_MAX ((uintptr_t)(1u << AGE_BITS) - 1)
_Static_assert(sizeof(uintptr_t) >= 8, "age runs pack a millisecond time and a count in a pointer");

static inline uint64_t age_ms(uintptr_t run) { return (uint64_t)(run >> AGE_BITS); }
static inline uint32_t age_count(uintptr_t run) { return (uint32_t)(run & AGE_MAX); }

/* Runs needed at most to note n more values. */
static size_t ages_need(size_t n)
{
	return n / AGE_MAX + 1;
}

/* Note n plain values put at now (room reserved with ages_need). */
static void ages_note(struct qstore *s, size_t n, uint64_t now)
{
	while (n > 0) {
		size_t len = deque_len(&s->ages);
		uintptr_t back = len ? (uintptr_t)deque_at(&s->ages, len - 1) : 0;
		if (len && age_ms(back) == now && age_count(back) < AGE_MAX) {
			uintptr_t add = AGE_MAX - age_count(back) < n ? AGE_MAX - age_count(back) : n;
			deque_set(&s->ages, len - 1, (void *)(back + add));
			n -= add;
		} else {
			uintptr_t add = n < AGE_MAX ? n : AGE_MAX;
			deque_push_back(&s->ages, (void *)(((uintptr_t)now << AGE_BITS) | add));
			n -= add;
		}
	}
}

/* The oldest plain value was taken. */
static void ages_pop(struct qstore *s)
{
	uintptr_t front = (uintptr_t)deque_at(&s->ages, 0);
	if (age_count(front) == 1)
		deque_pop_front(&s->ages);
	else
		deque_set(&s->ages, 0, (void *)(front - 1));
}

/* The n oldest plain values were taken. */
static void ages_pop_n(struct qstore *s, size_t n)
{
	while (n > 0) {
		uintptr_t front = (uintptr_t)deque_at(&s->ages, 0);
		if (age_count(front) > n) {
			deque_set(&s->ages, 0, (void *)(front - n));
			return;
		}
		n -= age_count(front);
		deque_pop_front(&s->ages);
	}
}

/* Put time of the plain value at p, and p past it in the ages. */
static uint64_t ages_next(const struct qstore *s, struct qstore_pos *p)
{
	uintptr_t run = (uintptr_t)deque_at(&s->ages, p->age);
	if (++p->age_used == age_count(run)) {
		p->age++;
		p->age_used = 0;
	}
	return age_ms(run);
}

/* p past n more plain values in the ages. */
static void ages_skip(const struct qstore *s, struct qstore_pos *p, size_t n)
{
	while (n > 0) {
		uint32_t left = age_count((uintptr_t)deque_at(&s->ages, p->age)) - p->age_used;
		if (n < left) {
			p->age_used += (uint32_t)n;
			return;
		}
		n -= left;
		p->age++;
		p->age_used = 0;
	}
}

/* ---- the store -------------------------------------------------------------- */

/* What a deque's slot array costs allocated. */
static size_t deque_mem(const struct deque *d)
{
	return d->cap ? value_alloc_cost(d->cap * sizeof(void *)) : 0;
}

/* Each slot's pointer is counted with what it holds (a value's cost, an
 * item's value, a run's cost); an age run is counted by no one. */
size_t qstore_arrays_room(const struct qstore *s)
{
	return deque_mem(&s->slots) - deque_len(&s->slots) * sizeof(void *) + deque_mem(&s->ages);
}

size_t qstore_room(const struct qstore *s)
{
	return s->runs_mem - s->packed + qstore_arrays_room(s);
}

int qstore_reserve(struct qstore *s, size_t n)
{
	return deque_reserve(&s->slots, n);
}

size_t qstore_reserve_growth(const struct qstore *s, size_t n)
{
	return deque_growth(&s->slots, n) * sizeof(void *);
}

/* Room in the slot and age arrays for n more plain values, refused if
 * their growth would pass max_memory (their room is counted after the
 * push, as the queue's). 0 or -1. */
static int arrays_reserve(struct qstore *s, size_t n)
{
	if (!value_mem_fits((deque_growth(&s->slots, n) + deque_growth(&s->ages, ages_need(n))) * sizeof(void *)))
		return -1;
	return deque_reserve(&s->slots, n) < 0 || deque_reserve(&s->ages, ages_need(n)) < 0 ? -1 : 0;
}

int qstore_push_values(struct qstore *s, struct value **vals, uint32_t n, uint64_t now)
{
	if (arrays_reserve(s, n) < 0)
		return -1;
	struct store_mark mark;
	store_mark(s, &mark);
	for (uint32_t i = 0; i < n; i++) {
		if (!qstore_packs(vals[i]->data, vals[i]->len))
			deque_push_back(&s->slots, vals[i]);
		else if (store_append_packed(s, (const unsigned char *)vals[i]->data, vals[i]->len) < 0) {
			store_truncate(s, &mark);
			return -1;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		if (qstore_packs(vals[i]->data, vals[i]->len)) {
			value_free(vals[i]);
			vals[i] = NULL;
		}
	}
	s->len += n;
	ages_note(s, n, now);
	return 0;
}

int qstore_push_packed(struct qstore *s, const char *bytes, uint32_t len, uint64_t now)
{
	/* Refused as the same value, allocated, would be: max_memory holds
	 * whichever way a value is stored. */
	if (!value_mem_fits(value_cost(len)) || arrays_reserve(s, 1) < 0 ||
	    store_append_packed(s, (const unsigned char *)bytes, len) < 0)
		return -1;
	s->len++;
	ages_note(s, 1, now);
	return 0;
}

int qstore_push_packed_many(struct qstore *s, const msgpack_object *vals, uint32_t n, uint64_t now)
{
	/* First their sizes: all or nothing is packed, and max_memory refuses
	 * them as the same values, allocated, would be. */
	size_t cost = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (vals[i].type == MSGPACK_OBJECT_ARRAY || vals[i].type == MSGPACK_OBJECT_MAP)
			return 1;
		size_t len = decode_size(&vals[i]);
		if (len > QSTORE_PACK_MAX)
			return 1;
		cost += value_cost(len);
	}
	if (!value_mem_fits(cost) || arrays_reserve(s, n) < 0)
		return -1;
	struct store_mark mark;
	store_mark(s, &mark);
	for (uint32_t i = 0; i < n; i++) {
		unsigned char bytes[QSTORE_PACK_MAX];
		size_t len = decode_encode_into(&vals[i], (char *)bytes);
		if (store_append_packed(s, bytes, (uint32_t)len) < 0) {
			store_truncate(s, &mark);
			return -1;
		}
	}
	s->len += n;
	ages_note(s, n, now);
	return 0;
}

int qstore_push_item(struct qstore *s, struct qitem *item, int at_head)
{
	int rc = at_head ? deque_push_front(&s->slots, slot_of_item(item)) : deque_push_back(&s->slots, slot_of_item(item));
	if (rc == 0)
		s->len++;
	return rc;
}

void qstore_front(const struct qstore *s, struct qstore_entry *e)
{
	void *p = deque_at(&s->slots, 0);
	if (slot_is_pack(p)) {
		const struct qpack *k = slot_pack(p);
		pack_at(k, k->head, e);
	} else {
		*e = (struct qstore_entry){ 0 };
		if (slot_is_item(p))
			e->item = slot_item(p);
		else
			e->value = p;
	}
	if (!e->item)
		e->put_ms = age_ms((uintptr_t)deque_at(&s->ages, 0));
}

/* A queue that empties keeps one small run for its next push, so that a
 * put and a get on an empty queue allocate nothing more than before. */
void qstore_pop_front(struct qstore *s)
{
	void *p = deque_at(&s->slots, 0);
	s->len--;
	if (slot_is_item(p)) {
		deque_pop_front(&s->slots);
		return;
	}
	ages_pop(s);
	if (slot_is_pack(p)) {
		struct qpack *k = slot_pack(p);
		struct qstore_entry e;
		uint32_t len = pack_at(k, k->head, &e);
		k->head = (uint16_t)(k->head + len);
		k->nvals--;
		packed_sub(s, len);
		if (k->head < k->tail)
			return;
		pack_retire(s, k);
	}
	deque_pop_front(&s->slots);
}

long qstore_pop_value(struct qstore *s, msgpack_packer *pk, size_t room)
{
	void *p = deque_at(&s->slots, 0);
	if (slot_is_item(p))
		return -1;
	if (!slot_is_pack(p)) {
		struct value *v = p;
		if (v->len > room)
			return 0;
		long len = (long)v->len;
		pk->callback(pk->data, v->data, v->len);
		qstore_pop_front(s);
		value_free(v);
		return len;
	}
	struct qpack *k = slot_pack(p);
	uint32_t body = k->hlen ? k->blen : (uint32_t)wire_scalar_len(k->data + k->head, k->tail - k->head);
	if ((size_t)k->hlen + body > room)
		return 0;
	if (k->hlen)
		pk->callback(pk->data, (const char *)k->hdr, k->hlen);
	pk->callback(pk->data, k->data + k->head, body);
	/* qstore_pop_front, with the length known */
	s->len--;
	ages_pop(s);
	k->head = (uint16_t)(k->head + body);
	k->nvals--;
	packed_sub(s, body);
	long len = (long)k->hlen + body;
	if (k->head < k->tail)
		return len;
	pack_retire(s, k);
	deque_pop_front(&s->slots);
	return len;
}

uint32_t qstore_pop_packed(struct qstore *s, msgpack_packer *pk, uint32_t max, size_t *room, int first_fits)
{
	void *p = deque_len(&s->slots) ? deque_at(&s->slots, 0) : NULL;
	if (!p || !slot_is_pack(p))
		return 0;
	struct qpack *k = slot_pack(p);
	/* Whole values (a shared header written before each body) gathered
	 * here and handed over a chunk at a time: one call, not two, per few
	 * dozen values. A value is at most QSTORE_PACK_MAX. */
	char chunk[2048];
	size_t used = 0;
	uint32_t got = 0, taken = 0;
	while (got < max && k->head < k->tail) {
		uint32_t body = k->hlen ? k->blen : (uint32_t)wire_scalar_len(k->data + k->head, k->tail - k->head);
		size_t len = (size_t)k->hlen + body;
		if (len > *room && !(first_fits && got == 0))
			break;
		if (used + len > sizeof(chunk)) {
			pk->callback(pk->data, chunk, used);
			used = 0;
		}
		memcpy(chunk + used, k->hdr, k->hlen);
		memcpy(chunk + used + k->hlen, k->data + k->head, body);
		used += len;
		*room = len < *room ? *room - len : 0;
		k->head = (uint16_t)(k->head + body);
		taken += body;
		got++;
	}
	if (used)
		pk->callback(pk->data, chunk, used);
	k->nvals = (uint16_t)(k->nvals - got);
	packed_sub(s, taken);
	s->len -= got;
	ages_pop_n(s, got);
	if (got && k->head == k->tail) {   /* as qstore_pop_front: the last value of its run */
		pack_retire(s, k);
		deque_pop_front(&s->slots);
	}
	return got;
}

void qstore_pack_entry(const struct qstore_entry *e, const struct value *item_value, msgpack_packer *pk)
{
	const struct value *v = e->item ? item_value : e->value;
	if (v) {
		pk->callback(pk->data, v->data, v->len);
		return;
	}
	if (e->hlen)
		pk->callback(pk->data, e->hdr, e->hlen);
	pk->callback(pk->data, e->body, e->blen);
}

int qstore_next(const struct qstore *s, struct qstore_pos *p, struct qstore_entry *e)
{
	if (p->slot >= deque_len(&s->slots))
		return 0;
	void *slot = deque_at(&s->slots, p->slot);
	if (slot_is_pack(slot)) {
		const struct qpack *k = slot_pack(slot);
		if (p->off < k->head)
			p->off = k->head;
		p->off += pack_at(k, p->off, e);
		if (p->off >= k->tail) {
			p->slot++;
			p->off = 0;
		}
	} else {
		*e = (struct qstore_entry){ 0 };
		if (slot_is_item(slot))
			e->item = slot_item(slot);
		else
			e->value = slot;
		p->slot++;
	}
	if (!e->item)
		e->put_ms = ages_next(s, p);
	return 1;
}

size_t qstore_skip(const struct qstore *s, struct qstore_pos *p, size_t n)
{
	size_t done = 0;
	struct qstore_entry e;
	while (done < n && p->slot < deque_len(&s->slots)) {
		void *slot = deque_at(&s->slots, p->slot);
		if (slot_is_pack(slot) && p->off <= slot_pack(slot)->head && slot_pack(slot)->nvals <= n - done) {
			uint32_t nvals = slot_pack(slot)->nvals;   /* the whole run at once */
			ages_skip(s, p, nvals);
			p->slot++;
			p->off = 0;
			done += nvals;
		} else {
			qstore_next(s, p, &e);
			done++;
		}
	}
	return done;
}

uint32_t qstore_next_run(const struct qstore *s, struct qstore_pos *p, const char **data, size_t *len)
{
	if (p->slot >= deque_len(&s->slots))
		return 0;
	void *slot = deque_at(&s->slots, p->slot);
	if (!slot_is_pack(slot))
		return 0;
	const struct qpack *k = slot_pack(slot);
	if (k->hlen || p->off > k->head)
		return 0;
	*data = k->data + k->head;
	*len = (size_t)(k->tail - k->head);
	ages_skip(s, p, k->nvals);
	p->slot++;
	p->off = 0;
	return k->nvals;
}

size_t qstore_clear(struct qstore *s, void (*free_item)(struct qitem *))
{
	size_t n = s->len;
	void *p;
	while ((p = deque_pop_front(&s->slots))) {
		if (slot_is_item(p))
			free_item(slot_item(p));
		else if (slot_is_pack(p))
			pack_free(s, slot_pack(p));
		else
			value_free(p);
	}
	deque_clear(&s->slots);
	deque_clear(&s->ages);
	s->len = 0;
	return n;
}

void qstore_free(struct qstore *s, void (*free_item)(struct qitem *))
{
	qstore_clear(s, free_item);
	if (s->spare)
		pack_free(s, s->spare);
	s->spare = NULL;
	deque_free(&s->slots);
	deque_free(&s->ages);
}
