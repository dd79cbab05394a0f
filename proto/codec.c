/*
 * codec.c: canonical msgpack encoding of a decoded value (see codec.h).
 * One writer serves both sizing and encoding, so the two can never disagree.
 */
#include <stdlib.h>
#include <string.h>
#include "codec.h"
#include "proto.h"
#include "wire.h"

/* Output cursor: writes to dst, or compares with cmp (cmp_len bytes), or
 * with neither only counts. */
struct sink {
	char *dst;
	size_t n;
	const char *cmp;
	size_t cmp_len;
	int differs;
};

static void put(struct sink *s, const void *p, size_t n)
{
	if (s->dst)
		memcpy(s->dst + s->n, p, n);
	else if (s->cmp && !s->differs)
		s->differs = s->n + n > s->cmp_len || memcmp(s->cmp + s->n, p, n) != 0;
	s->n += n;
}

static void put_be(struct sink *s, unsigned char tag, uint64_t v, unsigned bytes)
{
	unsigned char b[9];
	b[0] = tag;
	for (unsigned i = 0; i < bytes; i++)
		b[1 + i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
	put(s, b, 1 + bytes);
}

/* Header with shortest length form: fix (mask+len) if len < fixmax, else tag8/16/32. */
static void put_len(struct sink *s, uint32_t len, unsigned char fixbase, uint32_t fixmax,
                    int has8, unsigned char tag8)
{
	if (fixmax && len < fixmax)
		put_be(s, (unsigned char)(fixbase | len), 0, 0);
	else if (has8 && len <= 0xff)
		put_be(s, tag8, len, 1);
	else if (len <= 0xffff)
		put_be(s, (unsigned char)(tag8 + (has8 ? 1 : 0)), len, 2);
	else
		put_be(s, (unsigned char)(tag8 + (has8 ? 2 : 1)), len, 4);
}

static void put_uint(struct sink *s, uint64_t v)
{
	if (v < 0x80)
		put_be(s, (unsigned char)v, 0, 0);
	else if (v <= 0xff)
		put_be(s, 0xcc, v, 1);
	else if (v <= 0xffff)
		put_be(s, 0xcd, v, 2);
	else if (v <= 0xffffffffu)
		put_be(s, 0xce, v, 4);
	else
		put_be(s, 0xcf, v, 8);
}

static void put_int(struct sink *s, int64_t v)
{
	if (v >= 0)
		put_uint(s, (uint64_t)v);
	else if (v >= -32)
		put_be(s, (unsigned char)(int8_t)v, 0, 0);
	else if (v >= INT8_MIN)
		put_be(s, 0xd0, (uint8_t)v, 1);
	else if (v >= INT16_MIN)
		put_be(s, 0xd1, (uint16_t)v, 2);
	else if (v >= INT32_MIN)
		put_be(s, 0xd2, (uint32_t)v, 4);
	else
		put_be(s, 0xd3, (uint64_t)v, 8);
}

static void put_ext_head(struct sink *s, const msgpack_object_ext *e)
{
	unsigned char fix = 0;
	switch (e->size) {
	case 1: fix = 0xd4; break;
	case 2: fix = 0xd5; break;
	case 4: fix = 0xd6; break;
	case 8: fix = 0xd7; break;
	case 16: fix = 0xd8; break;
	}
	if (fix)
		put_be(s, fix, 0, 0);
	else
		put_len(s, e->size, 0, 0, 1, 0xc7);
	put(s, &e->type, 1);
}

static void put_container_head(struct sink *s, const msgpack_object *o)
{
	if (o->type == MSGPACK_OBJECT_ARRAY)
		put_len(s, o->via.array.size, 0x90, 16, 0, 0xdc);
	else
		put_len(s, o->via.map.size, 0x80, 16, 0, 0xde);
}

/* A str, bin or ext header (an ext's type byte included). */
static void put_blob_head(struct sink *s, const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_STR: put_len(s, o->via.str.size, 0xa0, 32, 1, 0xd9); break;
	case MSGPACK_OBJECT_BIN: put_len(s, o->via.bin.size, 0, 0, 1, 0xc4); break;
	default: put_ext_head(s, &o->via.ext); break;
	}
}

static void write_value(struct sink *s, const msgpack_object *o)
{
	union { double d; uint64_t u; } f;
	switch (o->type) {
	case MSGPACK_OBJECT_NIL: put_be(s, 0xc0, 0, 0); break;
	case MSGPACK_OBJECT_BOOLEAN: put_be(s, o->via.boolean ? 0xc3 : 0xc2, 0, 0); break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER: put_uint(s, o->via.u64); break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: put_int(s, o->via.i64); break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		f.d = o->via.f64;
		put_be(s, 0xcb, f.u, 8);
		break;
	case MSGPACK_OBJECT_STR:
		put_blob_head(s, o);
		put(s, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		put_blob_head(s, o);
		put(s, o->via.bin.ptr, o->via.bin.size);
		break;
	case MSGPACK_OBJECT_EXT:
		put_blob_head(s, o);
		put(s, o->via.ext.ptr, o->via.ext.size);
		break;
	case MSGPACK_OBJECT_ARRAY:
		put_container_head(s, o);
		for (uint32_t i = 0; i < o->via.array.size; i++)
			write_value(s, &o->via.array.ptr[i]);
		break;
	case MSGPACK_OBJECT_MAP:
		put_container_head(s, o);
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			write_value(s, &o->via.map.ptr[i].key);
			write_value(s, &o->via.map.ptr[i].val);
		}
		break;
	}
}

size_t codec_head(const msgpack_object *o, unsigned char out[CODEC_HEAD_MAX])
{
	struct sink s = { .dst = (char *)out };
	switch (o->type) {
	case MSGPACK_OBJECT_STR: case MSGPACK_OBJECT_BIN: case MSGPACK_OBJECT_EXT:
		put_blob_head(&s, o);
		break;
	case MSGPACK_OBJECT_ARRAY: case MSGPACK_OBJECT_MAP:
		put_container_head(&s, o);
		break;
	default:
		write_value(&s, o);
	}
	return s.n;
}

unsigned codec_depth(const msgpack_object *o, unsigned limit)
{
	if (limit == 0)
		return 1;
	unsigned max = 0, d;
	if (o->type == MSGPACK_OBJECT_ARRAY) {
		for (uint32_t i = 0; i < o->via.array.size && max <= limit; i++)
			if ((d = codec_depth(&o->via.array.ptr[i], limit - 1)) > max)
				max = d;
	} else if (o->type == MSGPACK_OBJECT_MAP) {
		for (uint32_t i = 0; i < o->via.map.size && max <= limit; i++) {
			if ((d = codec_depth(&o->via.map.ptr[i].key, limit - 1)) > max)
				max = d;
			if ((d = codec_depth(&o->via.map.ptr[i].val, limit - 1)) > max)
				max = d;
		}
	}
	return max + 1;
}

size_t codec_size(const msgpack_object *o)
{
	struct sink s = { 0 };
	write_value(&s, o);
	return s.n;
}

size_t codec_encode_into(const msgpack_object *o, char *dst)
{
	struct sink s = { .dst = dst };
	write_value(&s, o);
	return s.n;
}

int codec_equals(const msgpack_object *o, const void *bytes, size_t len)
{
	struct sink s = { .cmp = bytes, .cmp_len = len };
	write_value(&s, o);
	return !s.differs && s.n == len;
}

int codec_encode(const msgpack_object *o, unsigned max_depth, char **out, size_t *out_len)
{
	if (codec_depth(o, max_depth) > max_depth)
		return IPCD_EBADVALUE;
	size_t n = codec_size(o);
	char *p = malloc(n ? n : 1);
	if (!p)
		return IPCD_ENOMEM;
	codec_encode_into(o, p);
	*out = p;
	*out_len = n;
	return 0;
}

/* FNV-1a folded 8 bytes at a time; fast enough for keys and names, with
 * a final mix so that short keys spread over the table's low bits. */
uint64_t codec_hash(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ull;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, b, 8);
		h = (h ^ w) * 0x100000001b3ull;
		b += 8;
		n -= 8;
	}
	while (n--)
		h = (h ^ *b++) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

int codec_validate(const void *data, size_t len, unsigned max_levels)
{
	const unsigned char *p = data;
	uint64_t saved[64], rem = 1;
	unsigned depth = 0;
	size_t off = 0;
	if (max_levels > 64)
		max_levels = 64;
	for (;;) {
		if (rem == 0) {
			if (depth == 0)
				break;
			rem = saved[--depth];
			continue;
		}
		rem--;
		struct wire_head h;
		if (wire_head(p + off, len - off, &h))
			return -1;
		off += h.hlen;
		if (h.kind != WIRE_ARRAY && h.kind != WIRE_MAP) {
			if (h.n > len - off)
				return -1;
			off += h.n;
			continue;
		}
		uint64_t children = h.kind == WIRE_MAP ? 2 * (uint64_t)h.n : h.n;
		if (children) {
			/* Each child takes at least a byte: a count the frame cannot hold
			 * is refused before anyone allocates for it. */
			if (depth >= max_levels || children > len - off)
				return -1;
			saved[depth++] = rem;
			rem = children;
		}
	}
	return off == len ? 0 : -1;
}
