/*
 * test_deque.c: the ring buffer against a plain array doing the same
 * operations, with the head wrapped around the end of the slots.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "deque.h"
#include "rand.h"

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rng(void)
{
	return test_rand(&rng_state);
}

/* Items are small integers stored as pointers. */
#define P(i) ((void *)(uintptr_t)(i))

/* The model: an array of the same items. */
struct model {
	uintptr_t *a;
	size_t len, cap;
};

static void model_insert(struct model *m, size_t i, uintptr_t v)
{
	if (m->len == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->a = realloc(m->a, m->cap * sizeof(*m->a));
		assert_non_null(m->a);
	}
	memmove(m->a + i + 1, m->a + i, (m->len - i) * sizeof(*m->a));
	m->a[i] = v;
	m->len++;
}

static uintptr_t model_remove(struct model *m, size_t i)
{
	uintptr_t v = m->a[i];
	memmove(m->a + i, m->a + i + 1, (m->len - i - 1) * sizeof(*m->a));
	m->len--;
	return v;
}

static void check_same(const struct deque *d, const struct model *m)
{
	assert_int_equal(deque_len(d), m->len);
	assert_true(d->cap == 0 || (d->cap & (d->cap - 1)) == 0);
	assert_true(d->len <= d->cap);
	for (size_t i = 0; i < m->len; i++)
		assert_ptr_equal(deque_at(d, i), P(m->a[i]));
}

static void test_empty(void **state)
{
	struct deque d;
	deque_init(&d);
	assert_null(deque_pop_front(&d));
	assert_null(deque_pop_back(&d));
	deque_reverse(&d);
	deque_clear(&d);
	assert_int_equal(deque_len(&d), 0);
	deque_free(&d);
	deque_free(NULL);
}

/* Both ends, with the head wrapping: push front moves head below 0. */
static void test_ends(void **state)
{
	struct deque d;
	deque_init(&d);
	for (uintptr_t i = 1; i <= 100; i++) {
		assert_int_equal(deque_push_front(&d, P(i)), 0);
		assert_int_equal(deque_push_back(&d, P(1000 + i)), 0);
	}
	assert_int_equal(deque_len(&d), 200);
	for (uintptr_t i = 100; i >= 1; i--) {
		assert_ptr_equal(deque_pop_front(&d), P(i));
		assert_ptr_equal(deque_pop_back(&d), P(1000 + i));
	}
	assert_int_equal(deque_len(&d), 0);
	deque_free(&d);
}

/* Random mix of every operation, checked against the model after each. */
static void test_random_ops(void **state)
{
	struct deque d;
	struct model m = { 0 };
	deque_init(&d);
	uintptr_t next = 1;
	for (int step = 0; step < 20000; step++) {
		unsigned op = (unsigned)(rng() % 100);
		/* grow on average for the first half, shrink in the second */
		int grow = step < 10000 ? op < 60 : op < 40;
		if (grow) {
			size_t i = (size_t)(rng() % (m.len + 1));
			switch (rng() % 3) {
			case 0: i = 0; assert_int_equal(deque_push_front(&d, P(next)), 0); break;
			case 1: i = m.len; assert_int_equal(deque_push_back(&d, P(next)), 0); break;
			default: assert_int_equal(deque_insert(&d, i, P(next)), 0); break;
			}
			model_insert(&m, i, next++);
		} else if (m.len > 0) {
			size_t i = (size_t)(rng() % m.len);
			switch (rng() % 3) {
			case 0: i = 0; assert_ptr_equal(deque_pop_front(&d), P(m.a[0])); break;
			case 1: i = m.len - 1; assert_ptr_equal(deque_pop_back(&d), P(m.a[i])); break;
			default: assert_ptr_equal(deque_remove(&d, i), P(m.a[i])); break;
			}
			model_remove(&m, i);
		}
		if (step % 997 == 0) {
			deque_reverse(&d);
			for (size_t i = 0, j = m.len; i + 1 < j; i++, j--) {
				uintptr_t t = m.a[i];
				m.a[i] = m.a[j - 1];
				m.a[j - 1] = t;
			}
		}
		if (step % 101 == 0)
			check_same(&d, &m);
	}
	check_same(&d, &m);
	deque_free(&d);
	free(m.a);
}

/* set replaces in place; reverse of odd and even lengths. */
static void test_set_reverse(void **state)
{
	struct deque d;
	deque_init(&d);
	for (uintptr_t i = 0; i < 5; i++)
		assert_int_equal(deque_push_back(&d, P(i)), 0);
	deque_set(&d, 2, P(42));
	deque_reverse(&d);
	uintptr_t want5[] = { 4, 3, 42, 1, 0 };
	for (size_t i = 0; i < 5; i++)
		assert_ptr_equal(deque_at(&d, i), P(want5[i]));
	(void)deque_pop_back(&d);
	deque_reverse(&d);
	uintptr_t want4[] = { 1, 42, 3, 4 };
	for (size_t i = 0; i < 4; i++)
		assert_ptr_equal(deque_at(&d, i), P(want4[i]));
	deque_free(&d);
}

/* Capacity follows use: clear and draining give memory back. */
static void test_capacity(void **state)
{
	struct deque d;
	deque_init(&d);
	assert_int_equal(deque_reserve(&d, 1000), 0);
	assert_true(d.cap >= 1000);
	for (uintptr_t i = 0; i < 100000; i++)
		assert_int_equal(deque_push_back(&d, P(i)), 0);
	assert_true(d.cap >= 100000);
	deque_clear(&d);
	assert_int_equal(deque_len(&d), 0);
	assert_true(d.cap < 1024);
	for (uintptr_t i = 0; i < 100000; i++)
		assert_int_equal(deque_push_back(&d, P(i)), 0);
	for (uintptr_t i = 0; i < 99990; i++)
		assert_ptr_equal(deque_pop_front(&d), P(i));
	assert_true(d.cap < 1024);
	for (uintptr_t i = 99990; i < 100000; i++)
		assert_ptr_equal(deque_pop_front(&d), P(i));
	/* usable after shrinking to nothing */
	assert_int_equal(deque_push_front(&d, P(7)), 0);
	assert_ptr_equal(deque_at(&d, 0), P(7));
	deque_free(&d);
	/* an impossible reservation fails cleanly */
	assert_int_equal(deque_reserve(&d, SIZE_MAX), -1);
	assert_int_equal(deque_len(&d), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_ends),
		cmocka_unit_test(test_random_ops),
		cmocka_unit_test(test_set_reverse),
		cmocka_unit_test(test_capacity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
