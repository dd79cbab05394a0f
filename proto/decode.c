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

/* The scalar whose header h starts at start: fill o and sum. */
static int decode_scalar(struct decoder *d, const struct wire_head *h, size_t start, msgpack_object *o,
                         struct decode_sum *sum)
{
	const unsigned char *p = d->p + start;
	const char *payload = (const char *)p + h->hlen;
	struct wire_num num;
	switch (h->kind) {
	case WIRE_NIL: o->type = MSGPACK_OBJECT_NIL; break;
	case WIRE_BOOL: o->type = MSGPACK_OBJECT_BOOLEAN; o->via.boolean = p[0] == 0xc3; break;
	case WIRE_UINT: case WIRE_INT: case WIRE_FLOAT32: case WIRE_FLOAT64:
		wire_read_number(p, h->hlen + h->n, &num);
		if (num.kind == WIRE_UINT) {
			o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
			o->via.u64 = num.u;
		} else if (num.kind == WIRE_INT) {
			o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
			o->via.i64 = num.i;
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
	unsigned char head[CODEC_HEAD_MAX];
	size_t hn = codec_head(o, head);
	int blob = h->kind == WIRE_STR || h->kind == WIRE_BIN || h->kind == WIRE_EXT;
	size_t rawhead = blob ? h->hlen : h->hlen + (size_t)h->n;
	sum->size = hn + (blob ? h->n : 0);
	sum->depth = 1;
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
	unsigned char head[CODEC_HEAD_MAX];
	if (map) {
		o->via.map.size = h->n;
		o->via.map.ptr = NULL;
	} else {
		o->via.array.size = h->n;
		o->via.array.ptr = NULL;
	}
	size_t hn = codec_head(o, head);
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
	unsigned deepest = 0;
	for (uint32_t i = 0; i < h->n; i++) {
		msgpack_object *el[2];
		unsigned nel = 1;
		if (map) {
			msgpack_object_kv *kv = (msgpack_object_kv *)(f + 1) + i;
			el[0] = &kv->key;
			el[1] = &kv->val;
			nel = 2;
		} else {
			el[0] = (msgpack_object *)(f + 1) + i;
		}
		for (unsigned j = 0; j < nel; j++) {
			struct decode_sum cs;
			int rc = decode_one(d, level + 1, el[j], &cs);
			if (rc)
				return rc;
			sum->size += cs.size;
			sum->canonical &= cs.canonical;
			if (cs.depth > deepest)
				deepest = cs.depth;
		}
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

/* Decode the value at d->off; level = non-empty containers around it. */
static int decode_one(struct decoder *d, unsigned level, msgpack_object *o, struct decode_sum *sum)
{
	struct wire_head h;
	size_t start = d->off;
	if (wire_head(d->p + start, d->len - start, &h))
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
	return codec_size(o);   /* a scalar or an empty container: no walk */
}

unsigned decode_depth(const msgpack_object *o)
{
	return decode_has_facts(o) ? decode_facts_of(o)->depth : 1;
}

/* Encode o at dst; returns the bytes written. */
static size_t decode_put(const msgpack_object *o, char *dst)
{
	if (!decode_has_facts(o)) {
		codec_encode_into(o, dst);
		return codec_size(o);
	}
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

void decode_encode_into(const msgpack_object *o, char *dst)
{
	decode_put(o, dst);
}
