/*
 * deque.h: a ring buffer of pointers with O(1) push/pop at both ends and O(1)
 * indexing; insert and remove in the middle move the shorter side. Used by
 * queues and lists. The deque never owns what its slots point to.
 */
#ifndef IPCD_DEQUE_H
#define IPCD_DEQUE_H

#include <stddef.h>

struct deque {
	void **slots;
	size_t cap;     /* power of two, or 0 */
	size_t head;    /* index of the first item */
	size_t len;
};

void deque_init(struct deque *d);
void deque_free(struct deque *d);  /* frees the slots only */
static inline size_t deque_len(const struct deque *d) { return d->len; }
/* Item i (0 <= i < len). */
static inline void *deque_at(const struct deque *d, size_t i) { return d->slots[(d->head + i) & (d->cap - 1)]; }
static inline void deque_set(struct deque *d, size_t i, void *p) { d->slots[(d->head + i) & (d->cap - 1)] = p; }
/* Slots a reserve of n more items would add (0 if they fit). */
size_t deque_growth(const struct deque *d, size_t n);
/* Make room for n more items; 0 or -1 on ENOMEM. */
int deque_reserve(struct deque *d, size_t n);
int deque_push_back(struct deque *d, void *p);   /* 0 or -1 */
int deque_push_front(struct deque *d, void *p);
void *deque_pop_front(struct deque *d);          /* NULL if empty */
void *deque_pop_back(struct deque *d);
int deque_insert(struct deque *d, size_t i, void *p);  /* 0 <= i <= len */
void *deque_remove(struct deque *d, size_t i);         /* 0 <= i < len */
void deque_reverse(struct deque *d);
/* Drop every item (caller freed them), keep capacity small. */
void deque_clear(struct deque *d);

#endif
