/*
 * decode.c: frame bytes to msgpack objects in one pass (see decode.h).
 *
 * Each non-empty array or map gets its elements in one zone block that
 * starts with a struct decode_facts; the container's via.array.ptr (or
 * via.map.ptr) points just past it, so its facts are found from the object
 * alone. Scalars need no facts: their size is their header's plus payload.
 */
#include <string.h>
#include "decode.h"
#include "codec.h"
#include "wire.h"

/* What the walk learnt about one non-empty container. */
struct decode_facts {
	size_t size;         /* canonical encoding's bytes */
	const char *raw;     /* the sender's encoding of it, in the frame */
	unsigned depth;      /* as codec_depth counts */
	unsigned canonical;  /* raw[0..size) is its canonical encoding */
};

struct decoder {
	const unsigned char *p;
	size_t len, off;
	unsigned max_levels;
	msgpack_zone *z;
};

/* What a parent needs of a child. */
struct decode_sum {
	size_t size;
	unsigned depth;
	unsigned canonical;
};

/* The zone block of n elements of elem bytes behind its facts. */
static struct decode_facts *decode_block(msgpack_zone *z, uint64_t n, size_t elem)
{
	return msgpack_zone_malloc(z, sizeof(struct decode_facts) + (size_t)n * elem);
}

static const struct decode_facts *decode_facts_of(const msgpack_object *o)
{
	const void *elems = o->type == MSGPACK_OBJECT_ARRAY ? (const void *)o->via.array.ptr
	                                                     : (const void *)o->via.map.ptr;
	return (const struct decode_facts *)elems - 1;
}

static int decode_one(struct decoder *d, unsigned level, msgpack_object *o, struct decode_sum *sum);
static inline int decode_common(struct decoder *d, msgpack_object *o, struct decode_sum *sum);

/* The scalar whose header h starts at start: fill o and sum. */
static int decode_scalar(struct decoder *d, const struct wire_head *h, size_t start, msgpack_object *o,
                         struct decode_sum *sum)
{
	const unsigned char *p = d->p + start;
	const char *payload = (const char *)p + h->hlen;
	struct wire_num num;
	unsigned intbytes = 0;  /* an integer's canonical payload bytes */
	switch (h->kind) {
	case WIRE_NIL: o->type = MSGPACK_OBJECT_NIL; break;
	case WIRE_BOOL: o->type = MSGPACK_OBJECT_BOOLEAN; o->via.boolean = p[0] == 0xc3; break;
	case WIRE_UINT: case WIRE_INT: case WIRE_FLOAT32: case WIRE_FLOAT64:
		wire_read_number(p, h->hlen + h->n, &num);
		if (num.kind == WIRE_UINT) {
			o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
			o->via.u64 = num.u;
			intbytes = num.u < 0x80 ? 0 : num.u <= 0xff ? 1 : num.u <= 0xffff ? 2 : num.u <= 0xffffffffu ? 4 : 8;
		} else if (num.kind == WIRE_INT) {
			o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
			o->via.i64 = num.i;
			intbytes = num.i >= -32 ? 0 : num.i >= INT8_MIN ? 1 : num.i >= INT16_MIN ? 2 : num.i >= INT32_MIN ? 4 : 8;
		} else {
			o->type = num.kind == WIRE_FLOAT32 ? MSGPACK_OBJECT_FLOAT32 : MSGPACK_OBJECT_FLOAT64;
			o->via.f64 = num.f;
		}
		break;
	case WIRE_STR: o->type = MSGPACK_OBJECT_STR; o->via.str.size = h->n; o->via.str.ptr = payload; break;
	case WIRE_BIN: o->type = MSGPACK_OBJECT_BIN; o->via.bin.size = h->n; o->via.bin.ptr = payload; break;
	default:
		o->type = MSGPACK_OBJECT_EXT;
		o->via.ext.type = (int8_t)p[h->hlen - 1];
		o->via.ext.size = h->n;
		o->via.ext.ptr = payload;
		break;
	}
	sum->depth = 1;
	/* The one-byte forms (fixints, nil, bools, a fixstr's tag) and float64
	 * are canonical as they stand, and are most of what is sent. */
	if (h->hlen == 1 && (h->n == 0 || h->kind == WIRE_STR || h->kind == WIRE_FLOAT64)) {
		sum->size = 1 + (size_t)h->n;
		sum->canonical = 1;
		return DECODE_OK;
	}
	/* An integer is canonical in its shortest form, unsigned when >= 0. */
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		sum->size = 1 + (size_t)intbytes;
		sum->canonical = h->n == intbytes && (h->kind == WIRE_UINT) == (num.kind == WIRE_UINT);
		return DECODE_OK;
	}
	unsigned char head[CODEC_HEAD_MAX];
	size_t hn = codec_head(o, head);
	int blob = h->kind == WIRE_STR || h->kind == WIRE_BIN || h->kind == WIRE_EXT;
	size_t rawhead = blob ? h->hlen : h->hlen + (size_t)h->n;
	sum->size = hn + (blob ? h->n : 0);
	sum->canonical = hn == rawhead && memcmp(head, p, hn) == 0;
	return DECODE_OK;
}

/* The array or map whose header h starts at start, its elements next. */
static int decode_container(struct decoder *d, unsigned level, const struct wire_head *h, size_t start,
                            msgpack_object *o, struct decode_sum *sum)
{
	int map = h->kind == WIRE_MAP;
	uint64_t children = map ? 2 * (uint64_t)h->n : h->n;
	o->type = map ? MSGPACK_OBJECT_MAP : MSGPACK_OBJECT_ARRAY;
	if (map) {
		o->via.map.size = h->n;
		o->via.map.ptr = NULL;
	} else {
		o->via.array.size = h->n;
		o->via.array.ptr = NULL;
	}
	/* The canonical header: fix form under 16, then 16 or 32 bits. */
	size_t hn = h->n < 16 ? 1 : h->n <= 0xffff ? 3 : 5;
	sum->size = hn;
	sum->depth = 1;
	sum->canonical = hn == h->hlen;  /* the count fixes the header's form */
	/* An empty one counts as a level too, as msgpack-c counts it. */
	if (level >= d->max_levels)
		return DECODE_EMALFORMED;
	if (!children)
		return DECODE_OK;
	/* Each child takes at least a byte: a count the frame cannot hold is
	 * refused before anything is allocated for it. */
	if (children > d->len - d->off)
		return DECODE_EMALFORMED;
	struct decode_facts *f = decode_block(d->z, h->n, map ? sizeof(msgpack_object_kv) : sizeof(msgpack_object));
	if (!f)
		return DECODE_ENOMEM;
	/* A map's keys and values are decoded as one array of 2n objects
	 * (msgpack_object_kv is two of them, key first). The common forms are
	 * tried here, without a call per element: a put_many's thousand small
	 * values are most of what a busy daemon decodes. */
	_Static_assert(sizeof(msgpack_object_kv) == 2 * sizeof(msgpack_object), "a kv is a key and a value");
	msgpack_object *el = (msgpack_object *)(f + 1);
	unsigned deepest = 1;
	for (uint64_t i = 0; i < children; i++) {
		struct decode_sum cs;
		if (d->off < d->len && decode_common(d, &el[i], &cs)) {
			sum->size += cs.size;
			sum->canonical &= cs.canonical;
			continue;
		}
		int rc = decode_one(d, level + 1, &el[i], &cs);
		if (rc)
			return rc;
		sum->size += cs.size;
		sum->canonical &= cs.canonical;
		if (cs.depth > deepest)
			deepest = cs.depth;
	}
	sum->depth = deepest + 1;
	f->size = sum->size;
	f->raw = (const char *)d->p + start;
	f->depth = sum->depth;
	f->canonical = sum->canonical;
	if (map)
		o->via.map.ptr = (msgpack_object_kv *)(f + 1);
	else
		o->via.array.ptr = (msgpack_object *)(f + 1);
	return DECODE_OK;
}

/* Canonical payload bytes of integer u >= 0 (0: a positive fixint). */
static inline unsigned decode_ubytes(uint64_t u)
{
	return u < 0x80 ? 0 : u <= 0xff ? 1 : u <= 0xffff ? 2 : u <= 0xffffffffu ? 4 : 8;
}

/*
 * The forms most requests are made of, decoded without the general header
 * and number readers: fixints, fixstrs, nil, bools, float64, the sized
 * integers, and bin8/str8 (small values: most of what is stored).
 * 1 if the value at d->off was one of them (d->off moved past it), 0 if not
 * (or if it is cut short: the general path says so).
 */
static inline int decode_common(struct decoder *d, msgpack_object *o, struct decode_sum *sum)
{
	const unsigned char *p = d->p + d->off;
	size_t left = d->len - d->off;
	size_t n = 1;
	unsigned b = p[0];
	sum->canonical = sum->depth = 1;
	if (b <= 0x7f || b >= 0xe0) {   /* fixints: i64 and u64 share their bits */
		o->via.i64 = (int8_t)b;
		o->type = b <= 0x7f ? MSGPACK_OBJECT_POSITIVE_INTEGER : MSGPACK_OBJECT_NEGATIVE_INTEGER;
	} else if ((b & 0xe0) == 0xa0) {
		n += b & 0x1f;
		if (n > left)
			return 0;
		o->type = MSGPACK_OBJECT_STR;
		o->via.str.size = b & 0x1f;
		o->via.str.ptr = (const char *)p + 1;
	} else if (b == 0xc0) {
		o->type = MSGPACK_OBJECT_NIL;
	} else if (b == 0xc2 || b == 0xc3) {
		o->type = MSGPACK_OBJECT_BOOLEAN;
		o->via.boolean = b == 0xc3;
	} else if (b == 0xcb && left >= 9) {
		union { uint64_t u; double f; } v = { .u = wire_be64(p + 1) };
		o->type = MSGPACK_OBJECT_FLOAT64;
		o->via.f64 = v.f;
		n = 9;
	} else if (b == 0xc4 || b == 0xd9) {
		/* bin8 is the shortest form of every bin it can hold; str8 of a
		 * string of 32 bytes or more (a shorter one is a fixstr). */
		if (left < 2 || (size_t)2 + p[1] > left)
			return 0;
		unsigned len = p[1];
		if (b == 0xc4) {
			o->type = MSGPACK_OBJECT_BIN;
			o->via.bin.size = len;
			o->via.bin.ptr = (const char *)p + 2;
		} else {
			o->type = MSGPACK_OBJECT_STR;
			o->via.str.size = len;
			o->via.str.ptr = (const char *)p + 2;
			sum->canonical = len >= 32;
		}
		sum->size = (sum->canonical ? 2 : 1) + (size_t)len;
		d->off += 2 + (size_t)len;
		return 1;
	} else if (b >= 0xcc && b <= 0xcf && left >= 1 + (1u << (b - 0xcc))) {
		unsigned bytes = 1u << (b - 0xcc);
		uint64_t u = bytes == 1 ? p[1] : bytes == 2 ? wire_be16(p + 1) : bytes == 4 ? wire_be32(p + 1)
		                                                                          : wire_be64(p + 1);
		o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
		o->via.u64 = u;
		unsigned shortest = decode_ubytes(u);
		sum->canonical = shortest == bytes;
		sum->size = 1 + shortest;
		d->off += 1 + bytes;
		return 1;
	} else if (b >= 0xd0 && b <= 0xd3 && left >= 1 + (1u << (b - 0xd0))) {
		/* A signed form: canonical only for a negative number in its
		 * shortest width (one >= 0 is canonical as unsigned). */
		unsigned bytes = 1u << (b - 0xd0), shortest;
		int64_t v = bytes == 1 ? (int8_t)p[1] : bytes == 2 ? (int16_t)wire_be16(p + 1)
		            : bytes == 4 ? (int32_t)wire_be32(p + 1) : (int64_t)wire_be64(p + 1);
		o->via.i64 = v;
		if (v >= 0) {
			o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
			shortest = decode_ubytes((uint64_t)v);
			sum->canonical = 0;
		} else {
			o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
			shortest = v >= -32 ? 0 : v >= INT8_MIN ? 1 : v >= INT16_MIN ? 2 : v >= INT32_MIN ? 4 : 8;
			sum->canonical = shortest == bytes;
		}
		sum->size = 1 + shortest;
		d->off += 1 + bytes;
		return 1;
	} else {
		return 0;
	}
	sum->size = n;
	d->off += n;
	return 1;
}

/* Decode the value at d->off; level = non-empty containers around it. */
static int decode_one(struct decoder *d, unsigned level, msgpack_object *o, struct decode_sum *sum)
{
	struct wire_head h;
	size_t start = d->off;
	if (start < d->len && decode_common(d, o, sum))
		return DECODE_OK;
	if (start < d->len && (d->p[start] & 0xf0) == 0x90)   /* a fixarray: every request is one */
		h = (struct wire_head){ .kind = WIRE_ARRAY, .hlen = 1, .n = d->p[start] & 0x0f };
	else if (wire_head(d->p + start, d->len - start, &h))
		return DECODE_EMALFORMED;
	d->off += h.hlen;
	if (h.kind == WIRE_ARRAY || h.kind == WIRE_MAP)
		return decode_container(d, level, &h, start, o, sum);
	if (h.n > d->len - d->off)
		return DECODE_EMALFORMED;
	d->off += h.n;
	return decode_scalar(d, &h, start, o, sum);
}

int decode_value(const void *data, size_t len, unsigned max_levels, msgpack_zone *z, msgpack_object *out)
{
	struct decoder d = { .p = data, .len = len, .max_levels = max_levels > 64 ? 64 : max_levels, .z = z };
	struct decode_sum sum;
	int rc = decode_one(&d, 0, out, &sum);
	if (rc)
		return rc;
	return d.off == len ? DECODE_OK : DECODE_EMALFORMED;
}

/* True for an array or map with elements (one that has facts). */
static int decode_has_facts(const msgpack_object *o)
{
	return (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size) ||
	       (o->type == MSGPACK_OBJECT_MAP && o->via.map.size);
}

size_t decode_size(const msgpack_object *o)
{
	if (decode_has_facts(o))
		return decode_facts_of(o)->size;
	/* Strings and bins, most of what is stored, by their header's rule. */
	if (o->type == MSGPACK_OBJECT_BIN) {
		uint32_t n = o->via.bin.size;
		return (size_t)n + (n <= 0xff ? 2 : n <= 0xffff ? 3 : 5);
	}
	if (o->type == MSGPACK_OBJECT_STR) {
		uint32_t n = o->via.str.size;
		return (size_t)n + (n < 32 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : 5);
	}
	return codec_size(o);   /* a scalar or an empty container: no walk */
}

unsigned decode_depth(const msgpack_object *o)
{
	return decode_has_facts(o) ? decode_facts_of(o)->depth : 1;
}

/* Encode o at dst; returns the bytes written. */
static size_t decode_put(const msgpack_object *o, char *dst)
{
	if (o->type == MSGPACK_OBJECT_BIN && o->via.bin.size <= 0xff) {   /* small values: most stored */
		dst[0] = (char)0xc4;
		dst[1] = (char)o->via.bin.size;
		memcpy(dst + 2, o->via.bin.ptr, o->via.bin.size);
		return 2 + (size_t)o->via.bin.size;
	}
	if (o->type == MSGPACK_OBJECT_STR && o->via.str.size < 32) {
		dst[0] = (char)(0xa0 | o->via.str.size);
		memcpy(dst + 1, o->via.str.ptr, o->via.str.size);
		return 1 + (size_t)o->via.str.size;
	}
	if (!decode_has_facts(o))
		return codec_encode_into(o, dst);
	const struct decode_facts *f = decode_facts_of(o);
	if (f->canonical) {
		memcpy(dst, f->raw, f->size);
		return f->size;
	}
	unsigned char head[CODEC_HEAD_MAX];
	size_t n = codec_head(o, head);
	memcpy(dst, head, n);
	if (o->type == MSGPACK_OBJECT_ARRAY) {
		for (uint32_t i = 0; i < o->via.array.size; i++)
			n += decode_put(&o->via.array.ptr[i], dst + n);
	} else {
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			n += decode_put(&o->via.map.ptr[i].key, dst + n);
			n += decode_put(&o->via.map.ptr[i].val, dst + n);
		}
	}
	return n;
}

size_t decode_encode_into(const msgpack_object *o, char *dst)
{
	return decode_put(o, dst);
}
