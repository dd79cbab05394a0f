/*
 * test_frame.c: the length-prefixed frame reader and writer (proto/frame.c)
 * on struct buf, byte by byte where it matters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "frame.h"
#include "proto.h"

/* Append a frame header declaring len bytes. */
static void put_header(struct buf *b, uint32_t len)
{
	unsigned char h[4] = { (unsigned char)(len >> 24), (unsigned char)(len >> 16),
	                       (unsigned char)(len >> 8), (unsigned char)len };
	assert_int_equal(buf_append(b, h, 4), 0);
}

/* A header arriving one byte at a time is partial until complete. */
static void test_partial_header(void **state)
{
	struct buf b;
	const char *body;
	size_t len, total;
	unsigned char h[4] = { 0, 0, 0, 3 };
	buf_init(&b);
	assert_int_equal(frame_peek(&b, 100, &body, &len, &total), FRAME_PARTIAL);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(buf_append(&b, &h[i], 1), 0);
		assert_int_equal(frame_peek(&b, 100, &body, &len, &total), FRAME_PARTIAL);
	}
	assert_int_equal(buf_append(&b, &h[3], 1), 0);
	assert_int_equal(frame_peek(&b, 100, &body, &len, &total), FRAME_PARTIAL);
	buf_free(&b);
}

/* A body arriving in pieces is partial until its last byte. */
static void test_partial_body(void **state)
{
	struct buf b;
	const char *body;
	size_t len, total;
	buf_init(&b);
	put_header(&b, 5);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(buf_append(&b, "hello" + i, 1), 0);
		assert_int_equal(frame_peek(&b, 100, &body, &len, &total), FRAME_PARTIAL);
	}
	assert_int_equal(buf_append(&b, "o", 1), 0);
	assert_int_equal(frame_peek(&b, 100, &body, &len, &total), FRAME_OK);
	assert_int_equal(len, 5);
	assert_int_equal(total, 9);
	assert_memory_equal(body, "hello", 5);
	buf_free(&b);
}

/* Two frames in one read come out one after the other. */
static void test_two_frames(void **state)
{
	struct buf b;
	const char *body;
	size_t len, total;
	buf_init(&b);
	put_header(&b, 3);
	assert_int_equal(buf_append(&b, "abc", 3), 0);
	put_header(&b, 2);
	assert_int_equal(buf_append(&b, "de", 2), 0);
	assert_int_equal(buf_append(&b, "\0", 1), 0);   /* first byte of a third header */

	assert_int_equal(frame_peek(&b, 100, &body, &len, &total), FRAME_OK);
	assert_int_equal(len, 3);
	assert_memory_equal(body, "abc", 3);
	buf_consume(&b, total);
	assert_int_equal(frame_peek(&b, 100, &body, &len, &total), FRAME_OK);
	assert_int_equal(len, 2);
	assert_memory_equal(body, "de", 2);
	buf_consume(&b, total);
	assert_int_equal(frame_peek(&b, 100, &body, &len, &total), FRAME_PARTIAL);
	assert_int_equal(buf_used(&b), 1);
	buf_free(&b);
}

/* Length 0 is never valid; it is reported as soon as the header is in. */
static void test_zero_length(void **state)
{
	struct buf b;
	const char *body;
	size_t len = 99, total;
	buf_init(&b);
	put_header(&b, 0);
	assert_int_equal(frame_peek(&b, 100, &body, &len, &total), FRAME_EMPTY);
	assert_int_equal(len, 0);
	buf_free(&b);
}

/* Over the limit is reported from the header alone, with the declared size. */
static void test_too_big(void **state)
{
	struct buf b;
	const char *body;
	size_t len, total;
	buf_init(&b);
	put_header(&b, 101);
	assert_int_equal(frame_peek(&b, 100, &body, &len, &total), FRAME_TOOBIG);
	assert_int_equal(len, 101);
	buf_consume(&b, 4);
	put_header(&b, 100);        /* exactly the limit is fine */
	assert_int_equal(frame_peek(&b, 100, &body, &len, &total), FRAME_PARTIAL);
	buf_consume(&b, 4);
	put_header(&b, UINT32_MAX);
	assert_int_equal(frame_peek(&b, PROTO_DEFAULT_MAX_FRAME, &body, &len, &total), FRAME_TOOBIG);
	assert_int_equal(len, UINT32_MAX);
	buf_free(&b);
}

/* frame_begin/frame_end write a frame frame_peek reads back. */
static void test_begin_end(void **state)
{
	struct buf b;
	const char *body;
	size_t len, total;
	buf_init(&b);
	ssize_t pos = frame_begin(&b);
	assert_true(pos >= 0);
	assert_int_equal(buf_append(&b, "payload", 7), 0);
	frame_end(&b, (size_t)pos);
	assert_int_equal(frame_peek(&b, 100, &body, &len, &total), FRAME_OK);
	assert_int_equal(len, 7);
	assert_memory_equal(body, "payload", 7);
	buf_free(&b);
}

/*
 * The position from frame_begin stays right when the buffer compacts (moves
 * its unconsumed bytes to the front) before frame_end.
 */
static void test_begin_end_across_compaction(void **state)
{
	struct buf b;
	const char *body;
	size_t len, total;
	char old[200], big[100];
	memset(old, 'o', sizeof(old));
	memset(big, 'x', sizeof(big));
	buf_init(&b);
	assert_int_equal(buf_append(&b, old, sizeof(old)), 0);
	buf_consume(&b, 150);                    /* 50 unread bytes remain */
	size_t off_before = b.off;
	ssize_t pos = frame_begin(&b);
	assert_true(pos >= 0);
	assert_int_equal(buf_append(&b, big, sizeof(big)), 0);
	assert_true(b.off != off_before);        /* the append compacted */
	frame_end(&b, (size_t)pos);

	assert_int_equal(buf_used(&b), 50 + 4 + sizeof(big));
	assert_memory_equal(buf_head(&b), old, 50);
	buf_consume(&b, 50);
	assert_int_equal(frame_peek(&b, 1000, &body, &len, &total), FRAME_OK);
	assert_int_equal(len, sizeof(big));
	assert_memory_equal(body, big, sizeof(big));
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_partial_header),
		cmocka_unit_test(test_partial_body),
		cmocka_unit_test(test_two_frames),
		cmocka_unit_test(test_zero_length),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_begin_end),
		cmocka_unit_test(test_begin_end_across_compaction),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
