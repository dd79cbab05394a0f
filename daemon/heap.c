/*
 * heap.c: binary min-heap (see heap.h). Slots grow by doubling and never
 * shrink below 8 while in use; an empty heap holds no memory after heap_free.
 */
#include <stdint.h>
#include <stdlib.h>
#include "heap.h"

void heap_init(struct heap *h, int (*less)(const void *, const void *), void (*moved)(void *, size_t))
{
	h->slots = NULL;
	h->len = h->cap = 0;
	h->less = less;
	h->moved = moved;
}

void heap_free(struct heap *h)
{
	free(h->slots);
	h->slots = NULL;
	h->len = h->cap = 0;
}

/* Put p at pos and tell it. */
static void heap_place(struct heap *h, size_t pos, void *p)
{
	h->slots[pos] = p;
	if (h->moved)
		h->moved(p, pos);
}

/* Move the element at pos up while it is less than its parent. */
static void heap_up(struct heap *h, size_t pos)
{
	void *p = h->slots[pos];
	while (pos > 0) {
		size_t parent = (pos - 1) / 2;
		if (!h->less(p, h->slots[parent]))
			break;
		heap_place(h, pos, h->slots[parent]);
		pos = parent;
	}
	heap_place(h, pos, p);
}

/* Move the element at pos down while a child is less than it. */
static void heap_down(struct heap *h, size_t pos)
{
	void *p = h->slots[pos];
	for (;;) {
		size_t child = 2 * pos + 1;
		if (child >= h->len)
			break;
		if (child + 1 < h->len && h->less(h->slots[child + 1], h->slots[child]))
			child++;
		if (!h->less(h->slots[child], p))
			break;
		heap_place(h, pos, h->slots[child]);
		pos = child;
	}
	heap_place(h, pos, p);
}

/* The capacity that makes room for n more, or 0 if none can. */
static size_t heap_cap_for(const struct heap *h, size_t n)
{
	if (n <= h->cap - h->len)
		return h->cap;
	size_t cap = h->cap ? h->cap : 8;
	while (cap - h->len < n) {
		if (cap > SIZE_MAX / 2 / sizeof(void *))
			return 0;
		cap *= 2;
	}
	return cap;
}

size_t heap_growth(const struct heap *h, size_t n)
{
	size_t cap = heap_cap_for(h, n);
	return cap ? cap - h->cap : SIZE_MAX / 4 / sizeof(void *);   /* never fits, cannot wrap a sum */
}

int heap_reserve(struct heap *h, size_t n)
{
	if (n <= h->cap - h->len)
		return 0;
	size_t cap = heap_cap_for(h, n);
	if (!cap)
		return -1;
	void **s = realloc(h->slots, cap * sizeof(*s));
	if (!s)
		return -1;
	h->slots = s;
	h->cap = cap;
	return 0;
}

int heap_push(struct heap *h, void *p)
{
	if (heap_reserve(h, 1) < 0)
		return -1;
	h->slots[h->len++] = p;
	heap_up(h, h->len - 1);
	return 0;
}

void *heap_remove(struct heap *h, size_t pos)
{
	void *p = h->slots[pos];
	h->len--;
	if (pos < h->len) {
		h->slots[pos] = h->slots[h->len];
		heap_fix(h, pos);
	}
	if (h->moved)
		h->moved(p, HEAP_NONE);
	return p;
}

void *heap_pop(struct heap *h)
{
	return h->len ? heap_remove(h, 0) : NULL;
}

void heap_fix(struct heap *h, size_t pos)
{
	if (pos > 0 && h->less(h->slots[pos], h->slots[(pos - 1) / 2]))
		heap_up(h, pos);
	else
		heap_down(h, pos);
}
