/*
 * test_shm_ring.c: the shared-memory rings (proto/shm_ring.h): layout and
 * header checks, bytes in order across the wrap-around and the 2^32 wrap
 * of the indices, a full and an empty ring, indices a hostile peer wrote,
 * and the sleep/wake flag handshake.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "shm_ring.h"

#define RING SHM_RING_MIN

struct pair {
	void *mem;
	struct shm_ring creq, crep;   /* client: produces req, consumes rep */
	struct shm_ring dreq, drep;   /* daemon: consumes req, produces rep */
};

static struct pair *pair_new(void)
{
	struct pair *p = calloc(1, sizeof(*p));
	size_t size = shm_map_size(RING);
	assert_int_equal(posix_memalign(&p->mem, 4096, size), 0);
	memset(p->mem, 0, size);
	shm_header_init(p->mem, RING);
	assert_int_equal(shm_header_check(p->mem, size), 0);
	shm_rings(p->mem, RING, &p->creq, &p->crep);
	shm_rings(p->mem, RING, &p->dreq, &p->drep);
	return p;
}

static void pair_free(struct pair *p)
{
	free(p->mem);
	free(p);
}

static void test_layout_and_header(void **state)
{
	(void)state;
	assert_int_equal(offsetof(struct shm_header, ring_size), 12);
	assert_int_equal(offsetof(struct shm_header, req) + offsetof(struct shm_ring_ctl, head), 64);
	assert_int_equal(offsetof(struct shm_header, req) + offsetof(struct shm_ring_ctl, producer_sleeping), 68);
	assert_int_equal(offsetof(struct shm_header, req) + offsetof(struct shm_ring_ctl, tail), 128);
	assert_int_equal(offsetof(struct shm_header, req) + offsetof(struct shm_ring_ctl, consumer_sleeping), 192);
	assert_int_equal(offsetof(struct shm_header, rep) + offsetof(struct shm_ring_ctl, head), 256);
	assert_int_equal(offsetof(struct shm_header, rep) + offsetof(struct shm_ring_ctl, tail), 320);
	assert_int_equal(offsetof(struct shm_header, rep) + offsetof(struct shm_ring_ctl, consumer_sleeping), 384);
	assert_true(shm_ring_size_ok(4096) && shm_ring_size_ok(1 << 20) && shm_ring_size_ok(SHM_RING_MAX));
	assert_false(shm_ring_size_ok(0) || shm_ring_size_ok(2048) || shm_ring_size_ok(5000) ||
	             shm_ring_size_ok((uint64_t)SHM_RING_MAX * 2));
	struct pair *p = pair_new();
	struct shm_header *h = p->mem;
	assert_int_equal(shm_header_check(p->mem, shm_map_size(RING) - 1), -1);
	h->ring_size = 5000;
	assert_int_equal(shm_header_check(p->mem, shm_map_size(RING)), -1);
	h->ring_size = RING;
	h->magic ^= 1;
	assert_int_equal(shm_header_check(p->mem, shm_map_size(RING)), -1);
	pair_free(p);
}

/* Writes and reads of odd sizes keep the bytes in order across many
 * wrap-arounds; a full ring takes nothing, an empty one gives nothing. */
static void test_stream_wraps_in_order(void **state)
{
	(void)state;
	struct pair *p = pair_new();
	unsigned char out[777], in[777];
	uint32_t wrote = 0, read = 0;
	for (int round = 0; round < 2000; round++) {
		size_t n = 1 + (size_t)(round * 37 % 777);
		for (size_t i = 0; i < n; i++)
			out[i] = (unsigned char)(wrote + i);
		ssize_t w = shm_ring_write(&p->creq, out, n);
		assert_true(w >= 0 && (size_t)w <= n);
		wrote += (uint32_t)w;
		size_t k = 1 + (size_t)(round * 53 % 777);
		ssize_t r = shm_ring_read(&p->dreq, in, k);
		assert_true(r >= 0);
		for (ssize_t i = 0; i < r; i++)
			assert_int_equal(in[i], (unsigned char)(read + (uint32_t)i));
		read += (uint32_t)r;
		assert_true(wrote - read <= RING);
	}
	assert_true(wrote > 100 * RING);
	/* Fill it: exactly RING bytes fit, then nothing. */
	while (shm_ring_read(&p->dreq, in, sizeof(in)) > 0)
		;
	size_t total = 0;
	ssize_t w;
	while ((w = shm_ring_write(&p->creq, out, sizeof(out))) > 0)
		total += (size_t)w;
	assert_int_equal(w, 0);
	assert_int_equal(total, RING);
	assert_int_equal(shm_ring_writable(&p->creq), 0);
	assert_int_equal(shm_ring_readable(&p->dreq), RING);
	while (shm_ring_read(&p->dreq, in, sizeof(in)) > 0)
		;
	assert_int_equal(shm_ring_read(&p->dreq, in, sizeof(in)), 0);
	pair_free(p);
}

/* Indices near 2^32 wrap like any other. */
static void test_index_wraps_at_2_32(void **state)
{
	(void)state;
	struct pair *p = pair_new();
	uint32_t start = UINT32_MAX - 100;
	p->creq.pos = p->dreq.pos = start;
	atomic_store(&p->creq.ctl->head, start);
	atomic_store(&p->creq.ctl->tail, start);
	unsigned char out[300], in[300];
	for (int i = 0; i < 300; i++)
		out[i] = (unsigned char)i;
	assert_int_equal(shm_ring_write(&p->creq, out, 300), 300);
	assert_true(p->creq.pos < 300);
	assert_int_equal(shm_ring_read(&p->dreq, in, 300), 300);
	assert_memory_equal(in, out, 300);
	pair_free(p);
}

/* A peer's index that claims more than the ring holds is corruption for
 * every call that reads it; the side's own index is never read back. */
static void test_hostile_indices(void **state)
{
	(void)state;
	struct pair *p = pair_new();
	unsigned char b[64] = { 0 };
	assert_int_equal(shm_ring_write(&p->creq, b, 10), 10);
	/* The client says it wrote more than the ring holds. */
	atomic_store(&p->creq.ctl->head, p->dreq.pos + RING + 1);
	assert_int_equal(shm_ring_readable(&p->dreq), SHM_RING_CORRUPT);
	assert_int_equal(shm_ring_read(&p->dreq, b, sizeof(b)), SHM_RING_CORRUPT);
	assert_int_equal(shm_ring_consumer_sleep(&p->dreq), SHM_RING_CORRUPT);
	/* ... or less than the daemon has read (head behind tail). */
	atomic_store(&p->creq.ctl->head, p->dreq.pos - 1);
	assert_int_equal(shm_ring_read(&p->dreq, b, sizeof(b)), SHM_RING_CORRUPT);
	/* Exactly full is fine. */
	atomic_store(&p->creq.ctl->head, p->dreq.pos + RING);
	assert_int_equal(shm_ring_readable(&p->dreq), RING);
	/* The client says it read replies the daemon never wrote. A write
	 * that fits the room seen last does not read the tail (the line is the
	 * client's, written at each of its reads); one that needs more does,
	 * and so does every wait for room. */
	atomic_store(&p->drep.ctl->tail, p->drep.pos + 5);
	assert_int_equal(shm_ring_writable(&p->drep), SHM_RING_CORRUPT);
	assert_int_equal(shm_ring_producer_sleep(&p->drep), SHM_RING_CORRUPT);
	assert_int_equal(shm_ring_write(&p->drep, b, 1), 1);
	unsigned char *big = calloc(1, RING);
	assert_non_null(big);
	assert_int_equal(shm_ring_write(&p->drep, big, RING), SHM_RING_CORRUPT);
	assert_int_equal(shm_ring_write(&p->drep, b, 1), SHM_RING_CORRUPT);
	free(big);
	/* Scribbling on the daemon's own published head changes nothing it
	 * computes: it keeps its own. */
	atomic_store(&p->drep.ctl->tail, p->drep.pos);
	atomic_store(&p->drep.ctl->head, 12345);
	assert_int_equal(shm_ring_writable(&p->drep), RING);
	assert_int_equal(shm_ring_write(&p->drep, b, 8), 8);
	assert_int_equal(atomic_load(&p->drep.ctl->head), 1 + 8);
	pair_free(p);
}

/* A sleeper is woken once per sleep; one that finds bytes does not sleep. */
static void test_sleep_and_wake(void **state)
{
	(void)state;
	struct pair *p = pair_new();
	unsigned char b[8] = { 0 };
	assert_false(shm_ring_consumer_sleeps(&p->dreq));
	assert_int_equal(shm_ring_write(&p->creq, b, 1), 1);
	assert_false(shm_ring_wake_consumer(&p->creq));   /* nobody sleeps */
	assert_int_equal(shm_ring_consumer_sleep(&p->dreq), 1);   /* bytes: do not sleep */
	shm_ring_consumer_awake(&p->dreq);
	assert_int_equal(shm_ring_read(&p->dreq, b, 8), 1);
	assert_int_equal(shm_ring_consumer_sleep(&p->dreq), 0);   /* empty: sleep */
	assert_true(shm_ring_consumer_sleeps(&p->creq));
	assert_int_equal(shm_ring_write(&p->creq, b, 2), 2);
	assert_true(shm_ring_wake_consumer(&p->creq));            /* wake it, once */
	assert_false(shm_ring_wake_consumer(&p->creq));
	/* The producer side: full, sleeps, woken by a read. */
	while (shm_ring_write(&p->creq, b, sizeof(b)) > 0)
		;
	assert_int_equal(shm_ring_producer_sleep(&p->creq), 0);
	assert_int_equal(shm_ring_read(&p->dreq, b, 8), 8);
	assert_true(shm_ring_wake_producer(&p->dreq));
	assert_false(shm_ring_wake_producer(&p->dreq));
	pair_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_and_header),
		cmocka_unit_test(test_stream_wraps_in_order),
		cmocka_unit_test(test_index_wraps_at_2_32),
		cmocka_unit_test(test_hostile_indices),
		cmocka_unit_test(test_sleep_and_wake),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
