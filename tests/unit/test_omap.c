/*
 * test_omap.c: the insertion-ordered map: lookups, order, compaction,
 * shrinking, and scan cursors that stay valid while the map changes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "omap.h"
#include "rand.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	return test_rand(&rng_state);
}

/* Key text for number i; values are i + 1 as a pointer (never NULL). */
static size_t key_of(unsigned i, char *buf)
{
	return (size_t)sprintf(buf, "key-%u", i);
}

#define VAL(i) ((void *)(uintptr_t)((i) + 1))

static struct omap_entry *put(struct omap *m, unsigned i)
{
	char k[32];
	int created;
	struct omap_entry *e = omap_upsert(m, k, key_of(i, k), &created);
	assert_non_null(e);
	e->val = VAL(i);
	return e;
}

static struct omap_entry *get(struct omap *m, unsigned i)
{
	char k[32];
	return omap_find(m, k, key_of(i, k));
}

static void del(struct omap *m, unsigned i)
{
	struct omap_entry *e = get(m, i);
	assert_non_null(e);
	assert_ptr_equal(omap_remove(m, e), VAL(i));
}

/* The map's live values in scan order must equal want[0..n). */
static void check_order(const struct omap *m, const unsigned *want, size_t n)
{
	size_t k = 0;
	uint64_t prev = 0;
	for (struct omap_entry *e = omap_seek(m, 0); e; e = omap_next(m, e), k++) {
		assert_true(k < n);
		assert_ptr_equal(e->val, VAL(want[k]));
		assert_true(e->seq > prev);
		prev = e->seq;
	}
	assert_int_equal(k, n);
	assert_int_equal(omap_count(m), n);
}

static void test_basic(void **state)
{
	struct omap m;
	int created;
	omap_init(&m);
	assert_null(omap_find(&m, "a", 1));
	assert_null(omap_last(&m));
	assert_null(omap_seek(&m, 0));

	struct omap_entry *e = omap_upsert(&m, "a", 1, &created);
	assert_true(created);
	assert_null(e->val);
	e->val = VAL(0);
	e = omap_upsert(&m, "a", 1, &created);
	assert_false(created);
	assert_ptr_equal(e->val, VAL(0));
	assert_ptr_equal(omap_find(&m, "a", 1), e);
	assert_null(omap_find(&m, "a\0", 2));     /* length is part of the key */

	/* the empty key is a key like any other */
	e = omap_upsert(&m, "", 0, &created);
	assert_true(created);
	e->val = VAL(1);
	assert_ptr_equal(omap_find(&m, "", 0)->val, VAL(1));
	assert_ptr_equal(omap_last(&m)->val, VAL(1));
	assert_int_equal(omap_count(&m), 2);

	assert_ptr_equal(omap_remove(&m, omap_find(&m, "", 0)), VAL(1));
	assert_null(omap_find(&m, "", 0));
	assert_ptr_equal(omap_last(&m)->val, VAL(0));
	omap_free(&m, NULL);
	omap_free(NULL, NULL);
}

/* Update keeps the place; delete and re-insert moves to the end. */
static void test_order(void **state)
{
	struct omap m;
	omap_init(&m);
	for (unsigned i = 0; i < 5; i++)
		put(&m, i);
	put(&m, 1);
	check_order(&m, (unsigned[]){ 0, 1, 2, 3, 4 }, 5);
	del(&m, 1);
	put(&m, 1);
	check_order(&m, (unsigned[]){ 0, 2, 3, 4, 1 }, 5);
	assert_ptr_equal(omap_last(&m)->val, VAL(1));
	del(&m, 1);
	assert_ptr_equal(omap_last(&m)->val, VAL(4));
	check_order(&m, (unsigned[]){ 0, 2, 3, 4 }, 4);
	omap_free(&m, NULL);
}

/* Many deletes and inserts: compaction and shrinking keep order and seqs. */
static void test_compaction_keeps_order(void **state)
{
	struct omap m;
	omap_init(&m);
	unsigned *model = malloc(5000 * sizeof(*model));
	uint64_t *seqs = malloc(5000 * sizeof(*seqs));
	size_t n = 0;
	unsigned next = 0;
	for (int round = 0; round < 40; round++) {
		for (int k = 0; k < 100; k++) {
			put(&m, next);
			model[n++] = next++;
		}
		/* delete about two thirds, from anywhere */
		for (size_t i = 0; i < n;) {
			if (rng() % 3) {
				del(&m, model[i]);
				memmove(model + i, model + i + 1, (n - i - 1) * sizeof(*model));
				n--;
			} else {
				i++;
			}
		}
		for (size_t i = 0; i < n; i++)
			seqs[i] = get(&m, model[i])->seq;
		check_order(&m, model, n);
		/* seqs never change for a live entry */
		for (size_t i = 0; i < n; i++)
			assert_true(get(&m, model[i])->seq == seqs[i]);
	}
	/* drain to a few: the map shrinks and still answers */
	while (n > 3) {
		del(&m, model[0]);
		memmove(model, model + 1, (n - 1) * sizeof(*model));
		n--;
	}
	check_order(&m, model, n);
	assert_true(m.cap_entries <= 64);
	omap_free(&m, NULL);
	free(model);
	free(seqs);
}

/* omap_seek finds the first live entry at or after a cursor, over holes. */
static void test_seek(void **state)
{
	struct omap m;
	omap_init(&m);
	uint64_t seq[100];
	for (unsigned i = 0; i < 100; i++)
		seq[i] = put(&m, i)->seq;
	for (unsigned i = 0; i < 100; i++)
		if (i % 10 != 3)
			del(&m, i);
	/* live: 3, 13, ..., 93 */
	for (unsigned i = 0; i < 100; i++) {
		struct omap_entry *e = omap_seek(&m, seq[i]);
		unsigned want = i % 10 <= 3 ? i - i % 10 + 3 : i - i % 10 + 13;
		if (want >= 100)
			assert_null(e);
		else
			assert_ptr_equal(e->val, VAL(want));
	}
	assert_null(omap_seek(&m, seq[99] + 1));
	assert_ptr_equal(omap_seek(&m, 0)->val, VAL(3));
	omap_free(&m, NULL);
}

/*
 * A paged scan while other entries come and go: every entry present for the
 * whole scan is returned exactly once, and nothing is returned twice.
 */
static void test_scan_while_changing(void **state)
{
	enum { N = 3000, EXTRA = 3000 };
	static unsigned char seen[N + EXTRA], removed[N + EXTRA];
	struct omap m;
	omap_init(&m);
	for (unsigned i = 0; i < N; i++)
		put(&m, i);
	unsigned next_new = N;
	uint64_t cursor = 0, prev_seq = 0;
	do {
		struct omap_entry *e = omap_seek(&m, cursor), *last = NULL;
		for (int k = 0; e && k < 7; k++, e = omap_next(&m, e)) {
			/* seqs only grow along a scan: no entry comes back */
			assert_true(e->seq > prev_seq);
			prev_seq = e->seq;
			seen[(uintptr_t)e->val - 1]++;
			last = e;
		}
		cursor = e ? last->seq + 1 : 0;
		/* between pages: delete a few at random, re-add some, add new ones */
		for (int k = 0; k < 3; k++) {
			unsigned i = (unsigned)(rng() % next_new);
			if (get(&m, i)) {
				del(&m, i);
				removed[i] = 1;
			} else if (i < N) {
				put(&m, i);            /* re-inserted: a new entry at the end */
			}
		}
		if (next_new < N + EXTRA)
			put(&m, next_new++);
	} while (cursor != 0);
	for (unsigned i = 0; i < N; i++)
		if (!removed[i])
			assert_int_equal(seen[i], 1);
	omap_free(&m, NULL);
}

/* 100k entries: insert, find, delete half, iterate, clear, reuse. */
static void test_100k(void **state)
{
	enum { N = 100000 };
	struct omap m;
	omap_init(&m);
	for (unsigned i = 0; i < N; i++)
		put(&m, i);
	assert_int_equal(omap_count(&m), N);
	for (unsigned i = 0; i < N; i++)
		assert_ptr_equal(get(&m, i)->val, VAL(i));
	char k[32];
	assert_null(omap_find(&m, k, key_of(N, k)));
	for (unsigned i = 0; i < N; i += 2)
		del(&m, i);
	assert_int_equal(omap_count(&m), N / 2);
	unsigned want = 1;
	for (struct omap_entry *e = omap_seek(&m, 0); e; e = omap_next(&m, e), want += 2)
		assert_ptr_equal(e->val, VAL(want));
	assert_int_equal(want, N + 1);
	for (unsigned i = 0; i < N; i += 2)
		assert_null(get(&m, i));
	uint64_t seq_before = omap_last(&m)->seq;
	omap_clear(&m, NULL);
	assert_int_equal(omap_count(&m), 0);
	assert_null(omap_seek(&m, 0));
	/* seqs keep growing across clear, so old cursors never match new entries */
	assert_true(put(&m, 5)->seq > seq_before);
	omap_free(&m, NULL);
}

/* Keys are copied; free_val sees every value once. */
static int freed;
static void count_free(void *p)
{
	freed++;
	free(p);
}

static void test_owned_values(void **state)
{
	struct omap m;
	int created;
	char key[8] = "abc";
	omap_init(&m);
	omap_upsert(&m, key, 3, &created)->val = malloc(10);
	strcpy(key, "xyz");
	assert_non_null(omap_find(&m, "abc", 3));
	assert_null(omap_find(&m, "xyz", 3));
	omap_upsert(&m, "def", 3, &created)->val = malloc(10);
	freed = 0;
	omap_clear(&m, count_free);
	assert_int_equal(freed, 2);
	omap_upsert(&m, "ghi", 3, &created)->val = malloc(10);
	omap_free(&m, count_free);
	assert_int_equal(freed, 3);
}

/* A zeroed map that never saw omap_init still works. */
static void test_zeroed(void **state)
{
	struct omap m;
	memset(&m, 0, sizeof(m));
	put(&m, 1);
	put(&m, 2);
	check_order(&m, (unsigned[]){ 1, 2 }, 2);
	omap_free(&m, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_compaction_keeps_order),
		cmocka_unit_test(test_seek),
		cmocka_unit_test(test_scan_while_changing),
		cmocka_unit_test(test_100k),
		cmocka_unit_test(test_owned_values),
		cmocka_unit_test(test_zeroed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
