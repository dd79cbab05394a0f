/*
 * test_buf.c: the byte buffer both sides read and write frames through:
 * append, consume, compact, reserve, and the msgpack write callback.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <msgpack.h>
#include "buf.h"

/* Appended bytes come back in order across growth; consuming all resets. */
static void test_append_consume(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b);
	char chunk[100];
	for (int i = 0; i < 1000; i++) {
		memset(chunk, i & 0xff, sizeof(chunk));
		assert_int_equal(buf_append(&b, chunk, sizeof(chunk)), 0);
	}
	assert_int_equal(buf_used(&b), 100000);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal((unsigned char)buf_head(&b)[0], i & 0xff);
		assert_int_equal((unsigned char)buf_head(&b)[99], i & 0xff);
		buf_consume(&b, 100);
	}
	assert_int_equal(buf_used(&b), 0);
	assert_int_equal(b.off, 0);
	assert_int_equal(b.len, 0);
	buf_free(&b);
	buf_free(&b);   /* twice is fine */
}

/* Compacting keeps the unconsumed bytes and moves them to the front. */
static void test_compact_and_reserve(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b);
	assert_int_equal(buf_append(&b, "0123456789", 10), 0);
	buf_consume(&b, 7);
	buf_compact(&b);
	assert_int_equal(buf_used(&b), 3);
	assert_memory_equal(buf_head(&b), "789", 3);
	assert_int_equal(buf_reserve(&b, 1 << 20), 0);
	assert_true(b.cap - b.len >= 1 << 20);
	assert_memory_equal(buf_head(&b), "789", 3);
	buf_free(&b);
}

/* The packer callback appends what msgpack-c writes. */
static void test_msgpack_write(void **state)
{
	(void)state;
	struct buf b;
	msgpack_packer pk;
	buf_init(&b);
	msgpack_packer_init(&pk, &b, buf_msgpack_write);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_str_with_body(&pk, "ok", 2);
	assert_int_equal(buf_used(&b), 5);
	assert_memory_equal(buf_head(&b), "\x92\x01\xa2ok", 5);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_consume),
		cmocka_unit_test(test_compact_and_reserve),
		cmocka_unit_test(test_msgpack_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
