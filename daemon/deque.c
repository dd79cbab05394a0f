/*
 * deque.c: ring buffer of pointers (see deque.h). The capacity is a power of
 * two so that a position wraps with a mask; items live in
 * slots[(head + i) & (cap - 1)] for i in [0, len).
 *
 * Growing doubles the capacity, so pushes are amortized O(1). Popping shrinks
 * it again once the deque is mostly empty, so a queue that once held a
 * burst of items does not keep that memory for the rest of its life.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "deque.h"

/* Smallest capacity allocated: a few pushes never cost several reallocs. */
#define DEQUE_MIN_CAP 8
/* Below this capacity a deque is never shrunk: the saving is not worth a copy. */
#define DEQUE_SHRINK_MIN 256

/* An empty deque; allocates nothing. */
void deque_init(struct deque *d)
{
	memset(d, 0, sizeof(*d));
}

/* Free the slots (not what they point to); NULL is fine. */
void deque_free(struct deque *d)
{
	if (!d)
		return;
	free(d->slots);
	deque_init(d);
}

/* Move the items into a new array of cap slots (cap >= len), head at 0. */
static int deque_resize(struct deque *d, size_t cap)
{
	void **slots = malloc(cap * sizeof(*slots));
	if (!slots)
		return -1;
	for (size_t i = 0; i < d->len; i++)
		slots[i] = deque_at(d, i);
	free(d->slots);
	d->slots = slots;
	d->cap = cap;
	d->head = 0;
	return 0;
}

/* The capacity a deque grows to for want items (more than it has), or 0 if
 * no array that large can be allocated. */
static size_t deque_cap_for(const struct deque *d, size_t want)
{
	size_t cap = d->cap ? d->cap : DEQUE_MIN_CAP;
	while (cap < want) {
		if (cap > SIZE_MAX / sizeof(void *) / 2)
			return 0;
		cap *= 2;
	}
	return cap;
}

size_t deque_growth(const struct deque *d, size_t n)
{
	if (n > SIZE_MAX / sizeof(void *) - d->len)
		return SIZE_MAX / sizeof(void *);
	if (d->len + n <= d->cap)
		return 0;
	size_t cap = deque_cap_for(d, d->len + n);
	return cap ? cap - d->cap : SIZE_MAX / sizeof(void *);
}

/* Grow to the next power of two holding len + n items. */
int deque_reserve(struct deque *d, size_t n)
{
	if (n > SIZE_MAX / sizeof(void *) - d->len)
		return -1;
	if (d->len + n <= d->cap)
		return 0;
	size_t cap = deque_cap_for(d, d->len + n);
	return cap ? deque_resize(d, cap) : -1;
}

/* Halve the capacity when at most a quarter is used; a failed shrink is harmless. */
static void deque_maybe_shrink(struct deque *d)
{
	if (d->cap >= DEQUE_SHRINK_MIN && d->len <= d->cap / 4)
		(void)deque_resize(d, d->cap / 2);
}

/* Append p after the last item. */
int deque_push_back(struct deque *d, void *p)
{
	if (deque_reserve(d, 1) < 0)
		return -1;
	d->slots[(d->head + d->len) & (d->cap - 1)] = p;
	d->len++;
	return 0;
}

/* Prepend p before the first item. */
int deque_push_front(struct deque *d, void *p)
{
	if (deque_reserve(d, 1) < 0)
		return -1;
	d->head = (d->head - 1) & (d->cap - 1);
	d->slots[d->head] = p;
	d->len++;
	return 0;
}

/* Take the first item. */
void *deque_pop_front(struct deque *d)
{
	if (d->len == 0)
		return NULL;
	void *p = d->slots[d->head];
	d->head = (d->head + 1) & (d->cap - 1);
	d->len--;
	deque_maybe_shrink(d);
	return p;
}

/* Take the last item. */
void *deque_pop_back(struct deque *d)
{
	if (d->len == 0)
		return NULL;
	void *p = deque_at(d, d->len - 1);
	d->len--;
	deque_maybe_shrink(d);
	return p;
}

/* Insert at i by shifting the shorter side outward by one slot. */
int deque_insert(struct deque *d, size_t i, void *p)
{
	if (deque_reserve(d, 1) < 0)
		return -1;
	if (i < d->len / 2) {
		/* Items [0, i) move one slot toward the front. */
		d->head = (d->head - 1) & (d->cap - 1);
		for (size_t k = 0; k < i; k++)
			deque_set(d, k, deque_at(d, k + 1));
	} else {
		/* Items [i, len) move one slot toward the back. */
		for (size_t k = d->len; k > i; k--)
			deque_set(d, k, deque_at(d, k - 1));
	}
	d->len++;
	deque_set(d, i, p);
	return 0;
}

/* Remove item i by closing the gap from the shorter side. */
void *deque_remove(struct deque *d, size_t i)
{
	void *p = deque_at(d, i);
	if (i < d->len / 2) {
		for (size_t k = i; k > 0; k--)
			deque_set(d, k, deque_at(d, k - 1));
		d->head = (d->head + 1) & (d->cap - 1);
	} else {
		for (size_t k = i; k + 1 < d->len; k++)
			deque_set(d, k, deque_at(d, k + 1));
	}
	d->len--;
	deque_maybe_shrink(d);
	return p;
}

/* Reverse in place by swapping from both ends. */
void deque_reverse(struct deque *d)
{
	for (size_t i = 0, j = d->len; i + 1 < j; i++, j--) {
		void *t = deque_at(d, i);
		deque_set(d, i, deque_at(d, j - 1));
		deque_set(d, j - 1, t);
	}
}

/* Empty the deque; a large array is released rather than kept idle. */
void deque_clear(struct deque *d)
{
	d->len = 0;
	d->head = 0;
	if (d->cap >= DEQUE_SHRINK_MIN)
		deque_free(d);
}
