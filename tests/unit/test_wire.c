/*
 * test_wire.c: the shared msgpack primitives (proto/wire.c) and the
 * one-pass frame decoder (proto/decode.c). The decoder is held against
 * codec_validate followed by msgpack_unpack, and its sizes, depths and
 * encodings against codec's, on edge cases and on many random frames in
 * every encoding form (non-shortest, signed for unsigned, float32), cut
 * short and with bytes changed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "codec.h"
#include "decode.h"
#include "proto.h"
#include "wire.h"

/* Deterministic xorshift, so a failure replays. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

#define BYTES(...) ((const unsigned char[]){ __VA_ARGS__ })

static void test_head_and_scalar_len(void **state)
{
	(void)state;
	struct wire_head h;
	assert_int_equal(wire_head(BYTES(0x05), 1, &h), 0);
	assert_int_equal(h.kind, WIRE_UINT);
	assert_int_equal(h.hlen + h.n, 1);
	assert_int_equal(wire_head(BYTES(0xd9, 3), 2, &h), 0);
	assert_int_equal(h.kind, WIRE_STR);
	assert_int_equal(h.hlen, 2);
	assert_int_equal(h.n, 3);
	assert_int_equal(wire_head(BYTES(0xd9), 1, &h), -1);          /* length cut off */
	assert_int_equal(wire_head(BYTES(0xc1), 1, &h), -1);          /* never used */
	assert_int_equal(wire_head(BYTES(0xc7, 2, 9), 3, &h), 0);     /* ext8: type in the header */
	assert_int_equal(h.kind, WIRE_EXT);
	assert_int_equal(h.hlen, 3);
	assert_int_equal(h.n, 2);
	assert_int_equal(wire_head(BYTES(0xd8, 1), 2, &h), 0);        /* fixext16 */
	assert_int_equal(h.hlen, 2);
	assert_int_equal(h.n, 16);
	assert_int_equal(wire_head(BYTES(0xdf, 0, 1, 0, 0), 5, &h), 0);
	assert_int_equal(h.kind, WIRE_MAP);
	assert_int_equal(h.n, 65536);

	assert_int_equal(wire_scalar_len(BYTES(0xc0), 1), 1);
	assert_int_equal(wire_scalar_len(BYTES(0xcb, 0, 0, 0, 0, 0, 0, 0, 0), 9), 9);
	assert_int_equal(wire_scalar_len(BYTES(0xcb, 0, 0), 3), 0);   /* longer than there is */
	assert_int_equal(wire_scalar_len(BYTES(0xa3, 'a', 'b', 'c', 'x'), 5), 4);
	assert_int_equal(wire_scalar_len(BYTES(0xc5, 0, 2, 1, 2), 5), 5);
	assert_int_equal(wire_scalar_len(BYTES(0x91, 0x01), 2), 0);   /* a container */
	assert_int_equal(wire_scalar_len(BYTES(0x80), 1), 0);
}

static void test_container_headers(void **state)
{
	(void)state;
	static const uint32_t counts[] = { 0, 15, 16, 65535, 65536, UINT32_MAX };
	static const size_t lens[] = { 1, 1, 3, 3, 5, 5 };
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		unsigned char b[WIRE_HEADER_MAX];
		uint32_t n = 7;
		assert_int_equal(wire_put_array_header(b, counts[i]), lens[i]);
		assert_int_equal(wire_array_header(b, lens[i], &n), lens[i]);
		assert_int_equal(n, counts[i]);
		assert_int_equal(wire_map_header(b, lens[i], &n), 0);
		assert_int_equal(wire_array_header(b, lens[i] - 1, &n), lens[i] == 1 ? 0 : 0);
		assert_int_equal(wire_put_map_header(b, counts[i]), lens[i]);
		assert_int_equal(wire_map_header(b, lens[i], &n), lens[i]);
		assert_int_equal(n, counts[i]);
		/* what msgpack-c writes */
		msgpack_sbuffer sb;
		msgpack_packer pk;
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_array(&pk, counts[i]);
		assert_int_equal(sb.size, lens[i]);
		wire_put_array_header(b, counts[i]);
		assert_memory_equal(sb.data, b, lens[i]);
		msgpack_sbuffer_destroy(&sb);
	}
	uint32_t n;
	assert_int_equal(wire_array_header(BYTES(0x05), 1, &n), 0);
}

static void test_read_number(void **state)
{
	(void)state;
	struct wire_num v;
	assert_int_equal(wire_read_number(BYTES(0x7f), 1, &v), 0);
	assert_int_equal(v.kind, WIRE_UINT);
	assert_int_equal(v.u, 127);
	assert_int_equal(wire_read_number(BYTES(0xe0), 1, &v), 0);
	assert_int_equal(v.kind, WIRE_INT);
	assert_int_equal(v.i, -32);
	assert_int_equal(wire_read_number(BYTES(0xd1, 0xff, 0x00), 3, &v), 0);
	assert_int_equal(v.kind, WIRE_INT);
	assert_int_equal(v.i, -256);
	assert_int_equal(wire_read_number(BYTES(0xd0, 0x05), 2, &v), 0);   /* signed >= 0 reads unsigned */
	assert_int_equal(v.kind, WIRE_UINT);
	assert_int_equal(v.u, 5);
	assert_int_equal(wire_read_number(BYTES(0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0), 9, &v), 0);
	assert_true(v.i == INT64_MIN);
	assert_int_equal(wire_read_number(BYTES(0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), 9, &v), 0);
	assert_true(v.u == UINT64_MAX);
	assert_int_equal(wire_read_number(BYTES(0xca, 0x3f, 0xc0, 0, 0), 5, &v), 0);
	assert_int_equal(v.kind, WIRE_FLOAT32);
	assert_true(v.f == 1.5);
	assert_int_equal(wire_read_number(BYTES(0xcb, 0x40, 0x04, 0, 0, 0, 0, 0, 0), 9, &v), 0);
	assert_int_equal(v.kind, WIRE_FLOAT64);
	assert_true(v.f == 2.5);
	assert_int_equal(wire_read_number(BYTES(0xcd, 1), 2, &v), WIRE_ETYPE);        /* cut short */
	assert_int_equal(wire_read_number(BYTES(0x01, 0x01), 2, &v), WIRE_ETYPE);     /* trailing byte */
	assert_int_equal(wire_read_number(BYTES(0xa1, 'x'), 2, &v), WIRE_ETYPE);      /* a str */
	assert_int_equal(wire_read_number(BYTES(0xc0), 1, &v), WIRE_ETYPE);
	assert_int_equal(wire_read_number(BYTES(0x01), 0, &v), WIRE_ETYPE);
}

static void test_obj_numbers(void **state)
{
	(void)state;
	msgpack_object pos = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = (uint64_t)INT64_MAX + 1 };
	msgpack_object neg = { .type = MSGPACK_OBJECT_NEGATIVE_INTEGER, .via.i64 = -3 };
	msgpack_object flt = { .type = MSGPACK_OBJECT_FLOAT64, .via.f64 = 0.25 };
	msgpack_object str = { .type = MSGPACK_OBJECT_STR };
	int64_t i;
	uint64_t u;
	double d;
	assert_int_equal(wire_obj_int(&pos, &i), WIRE_ERANGE);
	pos.via.u64 = INT64_MAX;
	assert_int_equal(wire_obj_int(&pos, &i), 0);
	assert_true(i == INT64_MAX);
	assert_int_equal(wire_obj_int(&neg, &i), 0);
	assert_int_equal(i, -3);
	assert_int_equal(wire_obj_int(&flt, &i), WIRE_ETYPE);
	assert_int_equal(wire_obj_uint(&neg, &u), WIRE_ERANGE);
	assert_int_equal(wire_obj_uint(&pos, &u), 0);
	assert_int_equal(wire_obj_uint(&str, &u), WIRE_ETYPE);
	assert_int_equal(wire_obj_double(&neg, &d), 0);
	assert_true(d == -3.0);
	assert_int_equal(wire_obj_double(&flt, &d), 0);
	assert_true(d == 0.25);
	assert_int_equal(wire_obj_double(&str, &d), WIRE_ETYPE);
}

/* Decode literal msgpack for a test; the zone holds it. */
static msgpack_object unpack(msgpack_zone *z, const unsigned char *p, size_t n)
{
	msgpack_object o;
	assert_int_equal(decode_value(p, n, PROTO_MAX_LEVELS, z, &o), 0);
	return o;
}

/* Options seen by collect(): which key indexes, in order. */
struct seen {
	unsigned idx[8], n;
	int fail_at;   /* index whose value makes collect fail, or -1 */
};

static int collect(void *ctx, unsigned i, const msgpack_object *v)
{
	struct seen *s = ctx;
	(void)v;
	s->idx[s->n++] = i;
	return (int)i == s->fail_at ? 42 : 0;
}

static void test_maps_and_options(void **state)
{
	(void)state;
	msgpack_zone z;
	msgpack_zone_init(&z, 1024);
	/* {"lease": 1, 5: 2, "maxsize": 3, "lease": 4} */
	static const unsigned char m[] = { 0x84, 0xa5, 'l', 'e', 'a', 's', 'e', 0x01, 0x05, 0x02,
	                                   0xa7, 'm', 'a', 'x', 's', 'i', 'z', 'e', 0x03,
	                                   0xa5, 'l', 'e', 'a', 's', 'e', 0x04 };
	msgpack_object o = unpack(&z, m, sizeof(m));
	assert_int_equal(wire_map_get(&o, "maxsize")->via.u64, 3);
	assert_int_equal(wire_map_get(&o, "lease")->via.u64, 1);   /* the first */
	assert_null(wire_map_get(&o, "max"));
	assert_null(wire_map_get(NULL, "lease"));
	msgpack_object nil = { .type = MSGPACK_OBJECT_NIL };
	assert_null(wire_map_get(&nil, "lease"));

	static const char *const keys[] = { "maxsize", "lease", NULL };
	struct seen s = { .fail_at = -1 };
	const msgpack_object *bad = NULL;
	assert_int_equal(wire_options(&o, keys, collect, &s, &bad), WIRE_EUNKNOWN);
	assert_int_equal(s.n, 1);              /* "lease", then the key 5 stops it */
	assert_int_equal(s.idx[0], 1);
	assert_int_equal(bad->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
	s = (struct seen){ .fail_at = -1 };
	assert_int_equal(wire_options(&o, keys, collect, &s, NULL), 0);   /* unknown keys skipped */
	assert_int_equal(s.n, 3);
	assert_int_equal(s.idx[0], 1);
	assert_int_equal(s.idx[1], 0);
	assert_int_equal(s.idx[2], 1);
	s = (struct seen){ .fail_at = 0 };
	assert_int_equal(wire_options(&o, keys, collect, &s, NULL), 42);  /* stops at a failure */
	assert_int_equal(s.n, 2);
	s = (struct seen){ .fail_at = -1 };
	assert_int_equal(wire_options(NULL, keys, collect, &s, &bad), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(wire_options(&nil, keys, collect, &s, &bad), WIRE_ETYPE);
	msgpack_zone_destroy(&z);
}

static void test_envelopes(void **state)
{
	(void)state;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_zone z;
	msgpack_zone_init(&z, 1024);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	assert_int_equal(wire_pack_request_head(&pk, 1ull << 40, IPCD_OP_PING, 1), 0);
	msgpack_pack_str_with_body(&pk, "hi", 2);
	msgpack_object o = unpack(&z, (const unsigned char *)sb.data, sb.size);
	struct wire_request rq;
	assert_int_equal(wire_request_parse(&o, &rq), 0);
	assert_true(rq.id == 1ull << 40);
	assert_int_equal(rq.op->via.u64, IPCD_OP_PING);
	assert_int_equal(rq.nargs, 1);
	assert_int_equal(rq.args[0].via.str.size, 2);
	/* not requests */
	msgpack_object one = unpack(&z, BYTES(0x91, 0x01), 2);
	assert_int_equal(wire_request_parse(&one, &rq), -1);
	msgpack_object negid = unpack(&z, BYTES(0x92, 0xff, 0x01), 3);
	assert_int_equal(wire_request_parse(&negid, &rq), -1);
	msgpack_object map = unpack(&z, BYTES(0x80), 1);
	assert_int_equal(wire_request_parse(&map, &rq), -1);

	msgpack_sbuffer_clear(&sb);
	assert_int_equal(wire_pack_reply_head(&pk, 70000, IPCD_ENOTFOUND), 0);
	msgpack_pack_str_with_body(&pk, "no", 2);
	uint64_t id, status;
	size_t off;
	assert_int_equal(wire_reply_head(sb.data, sb.size, &id, &status, &off), 0);
	assert_int_equal(id, 70000);
	assert_int_equal(status, IPCD_ENOTFOUND);
	assert_int_equal(off, sb.size - 3);
	assert_int_equal(wire_reply_head(sb.data, off, &id, &status, &off), -1);      /* no result */
	assert_int_equal(wire_reply_head(BYTES(0x92, 1, 0), 3, &id, &status, &off), -1);
	assert_int_equal(wire_reply_head(BYTES(0x93, 0xff, 0, 0), 4, &id, &status, &off), -1);
	assert_int_equal(wire_reply_head(BYTES(0x93, 1, 0xa0, 0), 4, &id, &status, &off), -1);
	msgpack_sbuffer_destroy(&sb);
	msgpack_zone_destroy(&z);
}

/* ---- the decoder against codec_validate + msgpack_unpack ----------------- */

/* Append an unsigned in n big-endian bytes. */
static void put_be(unsigned char *b, size_t *n, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		b[(*n)++] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
}

/* A length header for a str/bin/ext/array/map in a random legal form. */
static void gen_len(unsigned char *b, size_t *n, uint32_t len, int fix, unsigned fixmax,
                    const unsigned char tags[3])
{
	unsigned form = rng() % 4;
	if (form == 0 && fix >= 0 && len < fixmax) {
		b[(*n)++] = (unsigned char)(fix | len);
		return;
	}
	if (form <= 1 && tags[0] && len <= 0xff) {
		b[(*n)++] = tags[0];
		put_be(b, n, len, 1);
	} else if (form <= 2 && len <= 0xffff) {
		b[(*n)++] = tags[1];
		put_be(b, n, len, 2);
	} else {
		b[(*n)++] = tags[2];
		put_be(b, n, len, 4);
	}
}

/* A random value in any encoding at b+*n (room checked by the caller:
 * at most 2 KB per call at the sizes used). */
static void gen(unsigned char *b, size_t *n, unsigned depth)
{
	static const unsigned char str_tags[3] = { 0xd9, 0xda, 0xdb }, bin_tags[3] = { 0xc4, 0xc5, 0xc6 },
	                           arr_tags[3] = { 0, 0xdc, 0xdd }, map_tags[3] = { 0, 0xde, 0xdf };
	unsigned kind = rng() % (depth ? 12 : 9);
	uint64_t r = rng();
	switch (kind) {
	case 0: b[(*n)++] = (unsigned char)(0xc0 + (r % 3 == 0 ? 0 : 1 + r % 3)); if (b[*n - 1] == 0xc1) b[*n - 1] = 0xc0; break;
	case 1: b[(*n)++] = (unsigned char)(r & 0x7f); break;                       /* fixint */
	case 2: b[(*n)++] = (unsigned char)(0xe0 | (r & 0x1f)); break;              /* negative fixint */
	case 3: { unsigned k = r % 4; b[(*n)++] = (unsigned char)(0xcc + k);        /* uint, maybe small */
		put_be(b, n, r >> 8 >> (rng() % 64), 1u << k); break; }
	case 4: { unsigned k = r % 4; b[(*n)++] = (unsigned char)(0xd0 + k);        /* int, any sign */
		put_be(b, n, rng() >> (rng() % 64), 1u << k); break; }
	case 5: b[(*n)++] = 0xca; put_be(b, n, r, 4); break;
	case 6: b[(*n)++] = 0xcb; put_be(b, n, r, 8); break;
	case 7: case 8: {                                                       /* str, bin, ext */
		uint32_t len = (uint32_t)(rng() % 40);
		unsigned which = rng() % 3;
		if (which == 0) {
			gen_len(b, n, len, 0xa0, 32, str_tags);
		} else if (which == 1) {
			gen_len(b, n, len, -1, 0, bin_tags);
		} else {
			static const unsigned fixes[] = { 1, 2, 4, 8, 16 };
			if (rng() % 2) {
				unsigned k = rng() % 5;
				len = fixes[k];
				b[(*n)++] = (unsigned char)(0xd4 + k);
			} else {
				static const unsigned char ext_tags[3] = { 0xc7, 0xc8, 0xc9 };
				gen_len(b, n, len, -1, 0, ext_tags);
			}
			b[(*n)++] = (unsigned char)rng();
		}
		for (uint32_t i = 0; i < len; i++)
			b[(*n)++] = (unsigned char)('a' + rng() % 26);
		break;
	}
	default: {                                                              /* array, map */
		int map = rng() % 2;
		uint32_t count = (uint32_t)(rng() % (depth > 2 ? 6 : 3));
		gen_len(b, n, count, map ? 0x80 : 0x90, 16, map ? map_tags : arr_tags);
		for (uint32_t i = 0; i < count * (map ? 2u : 1u); i++)
			gen(b, n, depth - 1);
	}
	}
}

/* Same objects, exactly (types, values, where strings point). */
static void assert_same_object(const msgpack_object *a, const msgpack_object *b)
{
	assert_int_equal(a->type, b->type);
	switch (a->type) {
	case MSGPACK_OBJECT_ARRAY:
		assert_int_equal(a->via.array.size, b->via.array.size);
		for (uint32_t i = 0; i < a->via.array.size; i++)
			assert_same_object(&a->via.array.ptr[i], &b->via.array.ptr[i]);
		break;
	case MSGPACK_OBJECT_MAP:
		assert_int_equal(a->via.map.size, b->via.map.size);
		for (uint32_t i = 0; i < a->via.map.size; i++) {
			assert_same_object(&a->via.map.ptr[i].key, &b->via.map.ptr[i].key);
			assert_same_object(&a->via.map.ptr[i].val, &b->via.map.ptr[i].val);
		}
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		assert_memory_equal(&a->via.f64, &b->via.f64, sizeof(double));
		break;
	case MSGPACK_OBJECT_STR:
	case MSGPACK_OBJECT_BIN:
		assert_int_equal(a->via.str.size, b->via.str.size);
		if (a->via.str.size)   /* msgpack-c leaves an empty one's pointer anywhere */
			assert_ptr_equal(a->via.str.ptr, b->via.str.ptr);
		break;
	case MSGPACK_OBJECT_EXT:
		assert_int_equal(a->via.ext.type, b->via.ext.type);
		assert_int_equal(a->via.ext.size, b->via.ext.size);
		if (a->via.ext.size)
			assert_ptr_equal(a->via.ext.ptr, b->via.ext.ptr);
		break;
	default:
		assert_true(msgpack_object_equal(*a, *b));
	}
}

/* Every value inside o: decode's size, depth and encoding are codec's. */
static void assert_same_facts(const msgpack_object *o)
{
	size_t n = codec_size(o);
	assert_int_equal(decode_size(o), n);
	assert_int_equal(decode_depth(o), codec_depth(o, 1000));
	char *want = malloc(n + 1), *got = malloc(n + 1);
	codec_encode_into(o, want);
	got[n] = 0x5a;
	decode_encode_into(o, got);
	assert_memory_equal(want, got, n);
	assert_int_equal((unsigned char)got[n], 0x5a);
	free(want);
	free(got);
	if (o->type == MSGPACK_OBJECT_ARRAY)
		for (uint32_t i = 0; i < o->via.array.size; i++)
			assert_same_facts(&o->via.array.ptr[i]);
	else if (o->type == MSGPACK_OBJECT_MAP)
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			assert_same_facts(&o->via.map.ptr[i].key);
			assert_same_facts(&o->via.map.ptr[i].val);
		}
}

/* decode_value accepts p[0..n) iff codec_validate + msgpack_unpack do, and
 * then builds the same objects (at the frame limit of PROTO_MAX_LEVELS, the
 * one the daemon uses). Returns whether it was accepted. */
static int check_equivalent(const unsigned char *p, size_t n)
{
	const unsigned levels = PROTO_MAX_LEVELS;
	static msgpack_zone za, zb;
	static int ready;
	if (!ready) {
		msgpack_zone_init(&za, 4096);
		msgpack_zone_init(&zb, 4096);
		ready = 1;
	}
	msgpack_object a, b;
	size_t off = 0;
	int old_ok = codec_validate(p, n, levels) == 0 &&
	             msgpack_unpack((const char *)p, n, &off, &za, &a) == MSGPACK_UNPACK_SUCCESS && off == n;
	int rc = decode_value(p, n, levels, &zb, &b);
	assert_int_equal(rc == DECODE_OK, old_ok);
	if (old_ok) {
		assert_same_object(&a, &b);
		assert_same_facts(&b);
	}
	msgpack_zone_clear(&za);
	msgpack_zone_clear(&zb);
	return old_ok;
}

/* wire_put_reply_head writes what msgpack-c's packer writes, at every width. */
static void test_reply_head_bytes(void **state)
{
	(void)state;
	static const uint64_t ids[] = { 0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffffu,
		                        0x100000000ull, UINT64_MAX };
	static const unsigned statuses[] = { 0, 5, 127, 128, 300, 70000, UINT_MAX };
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		for (size_t j = 0; j < sizeof(statuses) / sizeof(statuses[0]); j++) {
			unsigned char head[WIRE_REPLY_HEAD_MAX];
			size_t n = wire_put_reply_head(head, ids[i], statuses[j]);
			msgpack_sbuffer_clear(&sb);
			msgpack_pack_array(&pk, 3);
			msgpack_pack_uint64(&pk, ids[i]);
			msgpack_pack_unsigned_int(&pk, statuses[j]);
			assert_int_equal(n, sb.size);
			assert_memory_equal(head, sb.data, n);
		}
	msgpack_sbuffer_destroy(&sb);
}

static void test_decode_edges(void **state)
{
	(void)state;
	static const struct { unsigned char b[12]; size_t n; int ok; } c[] = {
		{ { 0xc0 }, 1, 1 },
		{ { 0 }, 0, 0 },                                       /* empty */
		{ { 0xc1 }, 1, 0 },
		{ { 0x01, 0x02 }, 2, 0 },                              /* two values */
		{ { 0x91 }, 1, 0 },                                    /* element missing */
		{ { 0xdd, 0xff, 0xff, 0xff, 0xff }, 5, 0 },            /* 4 billion elements in 5 bytes */
		{ { 0xdf, 0x80, 0, 0, 0, 0xc0 }, 6, 0 },               /* 2 billion pairs */
		{ { 0xdb, 0xff, 0xff, 0xff, 0xff }, 5, 0 },            /* 4 GB str */
		{ { 0x81, 0x01 }, 2, 0 },                              /* value of a pair missing */
		{ { 0x90 }, 1, 1 },
		{ { 0x80 }, 1, 1 },
		{ { 0xdc, 0, 0 }, 3, 1 },                              /* empty array16 */
		{ { 0xd4, 0x01 }, 2, 0 },                              /* fixext1 without data */
		{ { 0xd4, 0x01, 0x02 }, 3, 1 },
		{ { 0xc7, 0x00, 0x05 }, 3, 1 },                        /* empty ext8 */
		{ { 0xca, 0x7f, 0xc0, 0, 0 }, 5, 1 },                  /* float32 NaN */
		{ { 0x92, 0xd0, 0x05, 0xa1, 'x' }, 5, 1 },
		/* the short paths: bin8, str8 (canonical from 32 bytes), sized ints */
		{ { 0xc4, 0x02, 'a', 'b' }, 4, 1 },
		{ { 0xc4, 0x03, 'a', 'b' }, 4, 0 },                    /* bin8 cut short */
		{ { 0xc4 }, 1, 0 },
		{ { 0xd9, 0x01, 'a' }, 3, 1 },                         /* str8 of a fixstr's length */
		{ { 0xd9, 0x02, 'a' }, 3, 0 },
		{ { 0x92, 0xc4, 0x00, 0xd9, 0x00 }, 5, 1 },            /* empty ones in an array */
		{ { 0xd0, 0x80 }, 2, 1 },                              /* int8 -128 */
		{ { 0xd0, 0xf0 }, 2, 1 },                              /* int8 -16: a fixint's */
		{ { 0xd1, 0x00, 0x05 }, 3, 1 },                        /* int16 5 */
		{ { 0xd2, 0xff, 0xff, 0x7f, 0xff }, 5, 1 },            /* int32 -32769 */
		{ { 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0 }, 9, 1 },         /* int64 min */
		{ { 0xd3, 0, 0, 0, 0, 0, 0, 0 }, 8, 0 },
		{ { 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 9, 1 },
		{ { 0xcf, 0, 0, 0, 0, 0, 0, 0, 0x10 }, 9, 1 },         /* uint64 16 */
		{ { 0x82, 0xc4, 0x01, 'k', 0xd0, 0x01, 0xa1, 'x', 0xcf, 0, 0, 0, }, 12, 0 },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		assert_int_equal(check_equivalent(c[i].b, c[i].n ), c[i].ok);
	}
	/* nesting: 32 arrays deep is the limit; empty ones do not count */
	unsigned char deep[40];
	memset(deep, 0x91, sizeof(deep));
	deep[32] = 0x01;
	assert_int_equal(check_equivalent(deep, 33), 1);
	deep[32] = 0x91;
	deep[33] = 0x01;
	assert_int_equal(check_equivalent(deep, 34), 0);
	deep[32] = 0x90;   /* msgpack-c counts an empty array as a level */
	assert_int_equal(check_equivalent(deep, 33), 0);
	deep[31] = 0x90;
	assert_int_equal(check_equivalent(deep, 32), 1);
	/* a lower limit */
	msgpack_zone z;
	msgpack_object o;
	msgpack_zone_init(&z, 1024);
	assert_int_equal(decode_value(BYTES(0x91, 0x91, 0x91, 0x01), 4, 3, &z, &o), DECODE_OK);
	assert_int_equal(decode_value(BYTES(0x91, 0x91, 0x91, 0x90), 4, 3, &z, &o), DECODE_EMALFORMED);
	assert_int_equal(decode_value(BYTES(0x91, 0x91, 0x90), 3, 3, &z, &o), DECODE_OK);
	msgpack_zone_destroy(&z);
}

/* The sender's bytes are copied when canonical and rewritten when not. */
static void test_decode_canonical_copy(void **state)
{
	(void)state;
	msgpack_zone z;
	msgpack_zone_init(&z, 1024);
	/* [1, "ab", {"k": -1}] canonical; then with 1 as uint16 and -1 as int32 */
	static const unsigned char canon[] = { 0x93, 0x01, 0xa2, 'a', 'b', 0x81, 0xa1, 'k', 0xff };
	static const unsigned char loose[] = { 0x93, 0xcd, 0, 1, 0xa2, 'a', 'b', 0x81, 0xa1, 'k',
	                                       0xd2, 0xff, 0xff, 0xff, 0xff };
	char out[sizeof(loose)];
	msgpack_object o = unpack(&z, canon, sizeof(canon));
	assert_int_equal(decode_size(&o), sizeof(canon));
	assert_int_equal(decode_depth(&o), 3);
	decode_encode_into(&o, out);
	assert_memory_equal(out, canon, sizeof(canon));
	o = unpack(&z, loose, sizeof(loose));
	assert_int_equal(decode_size(&o), sizeof(canon));
	decode_encode_into(&o, out);
	assert_memory_equal(out, canon, sizeof(canon));
	/* a positive int16 of the same length as its canonical uint16 */
	static const unsigned char same_len[] = { 0x91, 0xd1, 0x7f, 0xff };
	o = unpack(&z, same_len, sizeof(same_len));
	decode_encode_into(&o, out);
	assert_memory_equal(out, BYTES(0x91, 0xcd, 0x7f, 0xff), 4);
	msgpack_zone_destroy(&z);
}

static void test_decode_random(void **state)
{
	(void)state;
	static unsigned char b[1 << 16];
	unsigned accepted = 0, rejected = 0;
	for (int round = 0; round < 20000; round++) {
		size_t n = 0;
		if (rng() % 16 == 0)   /* near the nesting limit: inside one-element arrays */
			for (unsigned k = 26 + rng() % 6; k; k--)
				b[n++] = 0x91;
		gen(b, &n, 1 + rng() % 5);
		accepted += check_equivalent(b, n);
		/* cut short, one byte changed, one byte more */
		size_t cut = n > 1 ? rng() % n : 0;
		rejected += !check_equivalent(b, cut);
		if (n) {
			size_t at = rng() % n;
			unsigned char keep = b[at];
			b[at] = (unsigned char)rng();
			check_equivalent(b, n);
			b[at] = keep;
		}
		b[n] = (unsigned char)rng();
		rejected += !check_equivalent(b, n + 1);
	}
	/* the generator reaches both sides */
	assert_true(accepted > 10000);
	assert_true(rejected > 10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head_and_scalar_len),
		cmocka_unit_test(test_container_headers),
		cmocka_unit_test(test_read_number),
		cmocka_unit_test(test_obj_numbers),
		cmocka_unit_test(test_maps_and_options),
		cmocka_unit_test(test_envelopes),
		cmocka_unit_test(test_reply_head_bytes),
		cmocka_unit_test(test_decode_edges),
		cmocka_unit_test(test_decode_canonical_copy),
		cmocka_unit_test(test_decode_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
