/*
 * test_codec.c: canonical encoding (proto/codec.c). Inputs are raw msgpack
 * bytes in non-shortest forms where that is the point, decoded with
 * msgpack-c, then encoded canonically and compared byte for byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "codec.h"
#include "proto.h"

/* Canonical encoding of the msgpack in (n bytes); *out is malloc'd. */
static size_t canon(const void *in, size_t n, char **out)
{
	msgpack_unpacked u;
	size_t off = 0;
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, in, n, &off), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, n);
	size_t len;
	assert_int_equal(codec_encode(&u.data, 64, out, &len), 0);
	assert_int_equal(codec_size(&u.data), len);
	msgpack_unpacked_destroy(&u);
	return len;
}

/* Assert that raw msgpack in encodes canonically as want. */
#define CANON(in, want) do { \
	static const unsigned char in_[] = in, want_[] = want; \
	char *out_; \
	size_t len_ = canon(in_, sizeof(in_), &out_); \
	assert_int_equal(len_, sizeof(want_)); \
	assert_memory_equal(out_, want_, sizeof(want_)); \
	free(out_); \
} while (0)
#define B(...) { __VA_ARGS__ }

/* One integer value in every width encodes the same. */
static void test_ints(void **state)
{
	CANON(B(0x01), B(0x01));
	CANON(B(0xcc, 0x01), B(0x01));
	CANON(B(0xcd, 0x00, 0x01), B(0x01));
	CANON(B(0xce, 0, 0, 0, 1), B(0x01));
	CANON(B(0xcf, 0, 0, 0, 0, 0, 0, 0, 1), B(0x01));
	CANON(B(0xd0, 0x01), B(0x01));
	CANON(B(0xd3, 0, 0, 0, 0, 0, 0, 0, 1), B(0x01));
	CANON(B(0xd1, 0xff, 0xff), B(0xff));                 /* -1 */
	CANON(B(0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xe0), B(0xe0)); /* -32 */
	CANON(B(0xd2, 0xff, 0xff, 0xff, 0xdf), B(0xd0, 0xdf)); /* -33 */
	CANON(B(0xd1, 0x00, 0x80), B(0xcc, 0x80));            /* 128 */
	CANON(B(0xcf, 0, 0, 0, 0, 0, 0, 0x01, 0x00), B(0xcd, 0x01, 0x00));
	CANON(B(0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80, 0x00), B(0xd1, 0x80, 0x00));  /* -32768 */
	CANON(B(0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff), B(0xd2, 0xff, 0xff, 0x7f, 0xff)); /* -32769 */
	CANON(B(0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
	      B(0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
	CANON(B(0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0), B(0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0));
}

/* float32 is widened to float64; float64 stays; 1.0 is not 1. */
static void test_floats(void **state)
{
	CANON(B(0xca, 0x3f, 0x80, 0x00, 0x00), B(0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0));
	CANON(B(0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0), B(0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0));
	CANON(B(0xca, 0xc0, 0x20, 0x00, 0x00), B(0xcb, 0xc0, 0x04, 0, 0, 0, 0, 0, 0)); /* -2.5 */
}

/* nil, booleans, and ext with fixext and ext8 headers. */
static void test_others(void **state)
{
	CANON(B(0xc0), B(0xc0));
	CANON(B(0xc2), B(0xc2));
	CANON(B(0xc3), B(0xc3));
	CANON(B(0xc7, 0x01, 0x05, 0xaa), B(0xd4, 0x05, 0xaa));         /* ext8 of 1 -> fixext1 */
	CANON(B(0xc8, 0x00, 0x03, 0x05, 1, 2, 3), B(0xc7, 0x03, 0x05, 1, 2, 3));
	/* a str sent as str8 with 3 bytes becomes a fixstr */
	CANON(B(0xd9, 0x03, 'a', 'b', 'c'), B(0xa3, 'a', 'b', 'c'));
	CANON(B(0xdc, 0x00, 0x01, 0xcd, 0x00, 0x05), B(0x91, 0x05));
	CANON(B(0xde, 0x00, 0x01, 0xa1, 'k', 0xd0, 0x07), B(0x81, 0xa1, 'k', 0x07));
}

/* Encode o and check the header bytes that precede its payload. */
static void check_header(const msgpack_object *o, const unsigned char *hdr, size_t hlen)
{
	char *out;
	size_t len;
	assert_int_equal(codec_encode(o, 64, &out, &len), 0);
	assert_int_equal(len, codec_size(o));
	assert_memory_equal(out, hdr, hlen);
	free(out);
}

/* Shortest str/bin headers at each size boundary. */
static void test_str_bin_boundaries(void **state)
{
	static char data[65536 + 1];
	static const struct { uint32_t n; unsigned char str[5], bin[5]; size_t hlen_str, hlen_bin; } c[] = {
		{ 31,    { 0xbf },                   { 0xc4, 31 },              1, 2 },
		{ 32,    { 0xd9, 32 },               { 0xc4, 32 },              2, 2 },
		{ 255,   { 0xd9, 0xff },             { 0xc4, 0xff },            2, 2 },
		{ 256,   { 0xda, 0x01, 0x00 },       { 0xc5, 0x01, 0x00 },      3, 3 },
		{ 65535, { 0xda, 0xff, 0xff },       { 0xc5, 0xff, 0xff },      3, 3 },
		{ 65536, { 0xdb, 0, 1, 0, 0 },       { 0xc6, 0, 1, 0, 0 },      5, 5 },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		msgpack_object o = { .type = MSGPACK_OBJECT_STR, .via.str = { c[i].n, data } };
		check_header(&o, c[i].str, c[i].hlen_str);
		assert_int_equal(codec_size(&o), c[i].hlen_str + c[i].n);
		o.type = MSGPACK_OBJECT_BIN;
		o.via.bin.size = c[i].n;
		o.via.bin.ptr = data;
		check_header(&o, c[i].bin, c[i].hlen_bin);
		assert_int_equal(codec_size(&o), c[i].hlen_bin + c[i].n);
	}
}

/* Shortest array/map headers at 15/16 and 65535/65536 elements. */
static void test_array_map_boundaries(void **state)
{
	static const struct { uint32_t n; unsigned char arr[5], map[5]; size_t hlen; } c[] = {
		{ 15,    { 0x9f },             { 0x8f },             1 },
		{ 16,    { 0xdc, 0x00, 0x10 }, { 0xde, 0x00, 0x10 }, 3 },
		{ 65535, { 0xdc, 0xff, 0xff }, { 0xde, 0xff, 0xff }, 3 },
		{ 65536, { 0xdd, 0, 1, 0, 0 }, { 0xdf, 0, 1, 0, 0 }, 5 },
	};
	msgpack_object *items = calloc(65536, sizeof(*items));
	msgpack_object_kv *kvs = calloc(65536, sizeof(*kvs));
	assert_non_null(items);
	assert_non_null(kvs);
	/* calloc'd objects are nil (type 0): one byte each */
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		msgpack_object o = { .type = MSGPACK_OBJECT_ARRAY, .via.array = { c[i].n, items } };
		check_header(&o, c[i].arr, c[i].hlen);
		assert_int_equal(codec_size(&o), c[i].hlen + c[i].n);
		o.type = MSGPACK_OBJECT_MAP;
		o.via.map.size = c[i].n;
		o.via.map.ptr = kvs;
		check_header(&o, c[i].map, c[i].hlen);
		assert_int_equal(codec_size(&o), c[i].hlen + 2 * (size_t)c[i].n);
	}
	free(items);
	free(kvs);
}

/* Nested arrays d deep; inner-most is an int. */
static msgpack_object *nest(unsigned d, msgpack_object *store)
{
	for (unsigned i = 0; i + 1 < d; i++) {
		store[i].type = MSGPACK_OBJECT_ARRAY;
		store[i].via.array.size = 1;
		store[i].via.array.ptr = &store[i + 1];
	}
	store[d - 1].type = MSGPACK_OBJECT_POSITIVE_INTEGER;
	store[d - 1].via.u64 = 1;
	return store;
}

/* Depth counts scalars as 1; encode refuses deeper than max_depth. */
static void test_depth(void **state)
{
	msgpack_object store[40];
	char *out;
	size_t len;
	assert_int_equal(codec_depth(nest(1, store), 10), 1);
	assert_int_equal(codec_depth(nest(5, store), 10), 5);
	/* counting stops just past the limit */
	assert_int_equal(codec_depth(nest(40, store), 10), 11);
	msgpack_object *o = nest(PROTO_DEFAULT_MAX_DEPTH, store);
	assert_int_equal(codec_encode(o, PROTO_DEFAULT_MAX_DEPTH, &out, &len), 0);
	assert_int_equal(len, PROTO_DEFAULT_MAX_DEPTH);   /* one 0x91 per level, then 0x01 */
	free(out);
	o = nest(PROTO_DEFAULT_MAX_DEPTH + 1, store);
	assert_int_equal(codec_encode(o, PROTO_DEFAULT_MAX_DEPTH, &out, &len), IPCD_EBADVALUE);
	/* a map counts its keys' depth too */
	msgpack_object_kv kv = { .key = *nest(3, store), .val = { .type = MSGPACK_OBJECT_NIL } };
	msgpack_object m = { .type = MSGPACK_OBJECT_MAP, .via.map = { 1, &kv } };
	assert_int_equal(codec_depth(&m, 10), 4);
}

/* Canonical bytes decode back to an equal object and re-encode identically. */
static void test_round_trip(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	msgpack_pack_str_with_body(&pk, "ints", 4);
	msgpack_pack_array(&pk, 6);
	msgpack_pack_int8(&pk, 5);
	msgpack_pack_int64(&pk, -70000);
	msgpack_pack_uint16(&pk, 300);
	msgpack_pack_uint64(&pk, UINT64_MAX);
	msgpack_pack_int64(&pk, INT64_MIN);
	msgpack_pack_float(&pk, 0.5f);
	msgpack_pack_str_with_body(&pk, "bin", 3);
	msgpack_pack_bin_with_body(&pk, "\0\1\2", 3);
	msgpack_pack_nil(&pk);
	msgpack_pack_true(&pk);

	msgpack_unpacked a, b;
	size_t off = 0;
	msgpack_unpacked_init(&a);
	msgpack_unpacked_init(&b);
	assert_int_equal(msgpack_unpack_next(&a, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
	char *enc, *enc2;
	size_t len, len2;
	assert_int_equal(codec_encode(&a.data, 64, &enc, &len), 0);
	assert_int_equal(len, codec_size(&a.data));
	off = 0;
	assert_int_equal(msgpack_unpack_next(&b, enc, len, &off), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, len);
	/* equal as objects, except the float32 that came back as float64 */
	assert_int_equal(b.data.via.map.ptr[0].val.via.array.ptr[5].type, MSGPACK_OBJECT_FLOAT64);
	b.data.via.map.ptr[0].val.via.array.ptr[5].type = MSGPACK_OBJECT_FLOAT32;
	assert_true(msgpack_object_equal(a.data, b.data));
	b.data.via.map.ptr[0].val.via.array.ptr[5].type = MSGPACK_OBJECT_FLOAT64;
	assert_int_equal(codec_encode(&b.data, 64, &enc2, &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(enc, enc2, len);
	free(enc);
	free(enc2);
	msgpack_unpacked_destroy(&a);
	msgpack_unpacked_destroy(&b);
	msgpack_sbuffer_destroy(&sb);
}

/* A frame of every kind of value validates; no strict prefix of it does. */
static void test_validate_accepts_whole_values_only(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 9);
	msgpack_pack_uint64(&pk, 1ull << 40);
	msgpack_pack_int64(&pk, -70000);
	msgpack_pack_double(&pk, 1.5);
	msgpack_pack_float(&pk, 0.5f);
	msgpack_pack_str_with_body(&pk, "abcdefghijklmnopqrstuvwxyz0123456789", 36);
	msgpack_pack_bin_with_body(&pk, "xy", 2);
	msgpack_pack_ext_with_body(&pk, "abcd", 4, 3);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_nil(&pk);
	msgpack_pack_true(&pk);
	msgpack_pack_array(&pk, 0);
	assert_int_equal(codec_validate(sb.data, sb.size, PROTO_MAX_LEVELS), 0);
	for (size_t cut = 0; cut < sb.size; cut++)
		assert_int_equal(codec_validate(sb.data, cut, PROTO_MAX_LEVELS), -1);
	/* trailing bytes after the value */
	char more[512];
	memcpy(more, sb.data, sb.size);
	more[sb.size] = 0x01;
	assert_int_equal(codec_validate(more, sb.size + 1, PROTO_MAX_LEVELS), -1);
	msgpack_sbuffer_destroy(&sb);
}

/* Counts a frame cannot hold, the unused byte 0xc1 and over-deep nesting
 * are refused before anything would be allocated for them. */
static void test_validate_refuses_impossible_frames(void **state)
{
	static const unsigned char huge_array[] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01 };
	static const unsigned char huge_map[] = { 0xdf, 0x7f, 0xff, 0xff, 0xff, 0x01, 0x01 };
	static const unsigned char huge_str[] = { 0xdb, 0xff, 0xff, 0xff, 0xff, 'a' };
	static const unsigned char never_used[] = { 0x91, 0xc1 };
	assert_int_equal(codec_validate(huge_array, sizeof(huge_array), 32), -1);
	assert_int_equal(codec_validate(huge_map, sizeof(huge_map), 32), -1);
	assert_int_equal(codec_validate(huge_str, sizeof(huge_str), 32), -1);
	assert_int_equal(codec_validate(never_used, sizeof(never_used), 32), -1);
	unsigned char deep[40];
	memset(deep, 0x91, sizeof(deep)); /* [[[[...1...]]]] */
	deep[32] = 0x01;
	assert_int_equal(codec_validate(deep, 33, 32), 0);   /* 32 arrays */
	deep[32] = 0x91;
	deep[33] = 0x01;
	assert_int_equal(codec_validate(deep, 34, 32), -1);  /* 33 arrays */
}

/* codec_equals compares against the canonical form without allocating. */
static void test_equals(void **state)
{
	static const unsigned char u16_one[] = { 0xcd, 0x00, 0x01 };
	msgpack_unpacked u;
	size_t off = 0;
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, (const char *)u16_one, sizeof(u16_one), &off), MSGPACK_UNPACK_SUCCESS);
	assert_true(codec_equals(&u.data, "\x01", 1));
	assert_false(codec_equals(&u.data, "\x02", 1));
	assert_false(codec_equals(&u.data, "\x01\x01", 2));  /* longer */
	assert_false(codec_equals(&u.data, "", 0));          /* shorter */
	msgpack_unpacked_destroy(&u);
}

/* Equal bytes hash equal; the hash depends on every byte and the length. */
static void test_hash(void **state)
{
	assert_true(codec_hash("abcdefghij", 10) == codec_hash("abcdefghij", 10));
	assert_true(codec_hash("abcdefghij", 10) != codec_hash("abcdefghiJ", 10));
	assert_true(codec_hash("abcdefghij", 10) != codec_hash("abcdefghij", 9));
	assert_true(codec_hash("", 0) == codec_hash("", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ints),
		cmocka_unit_test(test_floats),
		cmocka_unit_test(test_others),
		cmocka_unit_test(test_str_bin_boundaries),
		cmocka_unit_test(test_array_map_boundaries),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_validate_accepts_whole_values_only),
		cmocka_unit_test(test_validate_refuses_impossible_frames),
		cmocka_unit_test(test_equals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
