/*
 * test_heap.c: the binary heap against a sorted model: pops come out in
 * order (ties by insertion, as queues use it), positions reported through
 * "moved" are always right, and removal or re-keying from the middle keeps
 * the order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "heap.h"
#include "rand.h"

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rng(void)
{
	return test_rand(&rng_state);
}

struct el {
	int key;
	int seq;        /* insertion order: ties pop first-in first-out */
	size_t pos;     /* kept by the heap */
};

static int el_less(const void *a, const void *b)
{
	const struct el *x = a, *y = b;
	return x->key != y->key ? x->key < y->key : x->seq < y->seq;
}

static void el_moved(void *p, size_t pos)
{
	((struct el *)p)->pos = pos;
}

/* Every element's recorded position is where it is, and the heap property holds. */
static void check(const struct heap *h)
{
	for (size_t i = 0; i < heap_len(h); i++) {
		const struct el *e = h->slots[i];
		assert_int_equal(e->pos, i);
		if (i)
			assert_false(el_less(e, h->slots[(i - 1) / 2]));
	}
}

static void test_empty(void **state)
{
	struct heap h;
	heap_init(&h, el_less, el_moved);
	assert_null(heap_top(&h));
	assert_null(heap_pop(&h));
	assert_int_equal(heap_len(&h), 0);
	heap_free(&h);
	heap_free(&h);
}

static void test_pops_in_order_fifo_within_a_key(void **state)
{
	enum { N = 2000 };
	static struct el els[N];
	struct heap h;
	heap_init(&h, el_less, el_moved);
	for (int i = 0; i < N; i++) {
		els[i] = (struct el){ .key = (int)(rng() % 10), .seq = i };
		assert_int_equal(heap_push(&h, &els[i]), 0);
	}
	check(&h);
	struct el *prev = NULL;
	for (int i = 0; i < N; i++) {
		struct el *e = heap_pop(&h);
		assert_non_null(e);
		assert_int_equal(e->pos, HEAP_NONE);
		if (prev)
			assert_true(el_less(prev, e));
		prev = e;
	}
	assert_null(heap_pop(&h));
	heap_free(&h);
}

static void test_remove_and_fix_anywhere(void **state)
{
	enum { N = 1000 };
	static struct el els[N];
	static int gone[N];
	struct heap h;
	heap_init(&h, el_less, el_moved);
	for (int i = 0; i < N; i++) {
		els[i] = (struct el){ .key = (int)(rng() % 100), .seq = i };
		assert_int_equal(heap_push(&h, &els[i]), 0);
	}
	size_t left = N;
	for (int round = 0; round < 600; round++) {
		int i = (int)(rng() % N);
		if (gone[i])
			continue;
		if (rng() % 2) {
			assert_ptr_equal(heap_remove(&h, els[i].pos), &els[i]);
			assert_int_equal(els[i].pos, HEAP_NONE);
			gone[i] = 1;
			left--;
		} else {
			els[i].key = (int)(rng() % 100);
			heap_fix(&h, els[i].pos);
		}
		check(&h);
	}
	assert_int_equal(heap_len(&h), left);
	struct el *prev = NULL, *e;
	while ((e = heap_pop(&h))) {
		if (prev)
			assert_true(el_less(prev, e));
		prev = e;
		left--;
	}
	assert_int_equal(left, 0);
	heap_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_pops_in_order_fifo_within_a_key),
		cmocka_unit_test(test_remove_and_fix_anywhere),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
