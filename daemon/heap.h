/*
 * heap.h: a binary min-heap of pointers, ordered by a caller's "less"
 * function. Every element learns its position through a "moved" callback,
 * so that it can be removed or re-keyed in O(log n) from anywhere (a
 * delivery acked before its lease ends, a lease renewed by touch). Used by
 * queues for priorities, delays and lease deadlines. The heap never owns
 * what its slots point to.
 */
#ifndef IPCD_HEAP_H
#define IPCD_HEAP_H

#include <stddef.h>

#define HEAP_NONE ((size_t)-1)   /* position of an element in no heap */

struct heap {
	void **slots;
	size_t len, cap;
	int (*less)(const void *a, const void *b);
	void (*moved)(void *elem, size_t pos);   /* may be NULL */
};

void heap_init(struct heap *h, int (*less)(const void *, const void *), void (*moved)(void *, size_t));
void heap_free(struct heap *h);                /* frees the slots only */
static inline size_t heap_len(const struct heap *h) { return h->len; }
static inline void *heap_top(const struct heap *h) { return h->len ? h->slots[0] : NULL; }
/* Make room for n more elements, so that that many pushes cannot fail. 0 or -1. */
int heap_reserve(struct heap *h, size_t n);
/* Slots heap_reserve(h, n) would add (0 if it has the room). */
size_t heap_growth(const struct heap *h, size_t n);
/* Insert p; 0, or -1 on ENOMEM (nothing changed). */
int heap_push(struct heap *h, void *p);
/* Remove and return the least element, or NULL if empty. */
void *heap_pop(struct heap *h);
/* Remove the element at pos (as told by "moved"); returns it. */
void *heap_remove(struct heap *h, size_t pos);
/* Restore order after the key of the element at pos changed. */
void heap_fix(struct heap *h, size_t pos);

#endif
