/*
 * wire.c: msgpack headers, numbers, map keys, option maps and envelopes
 * (see wire.h).
 */
#include <string.h>
#include "wire.h"

/* Big-endian unsigned of n (0, 1, 2, 4 or 8) bytes. */
static uint64_t wire_be(const unsigned char *p, unsigned n)
{
	switch (n) {
	case 1: return p[0];
	case 2: return wire_be16(p);
	case 4: return wire_be32(p);
	case 8: return wire_be64(p);
	default: return 0;
	}
}

int wire_head(const void *data, size_t len, struct wire_head *h)
{
	const unsigned char *p = data;
	if (len == 0)
		return -1;
	unsigned b = p[0];
	unsigned lenbytes = 0;
	h->hlen = 1;
	h->n = 0;
	if (b <= 0x7f) {
		h->kind = WIRE_UINT;
		return 0;
	}
	if (b >= 0xe0) {
		h->kind = WIRE_INT;
		return 0;
	}
	if (b <= 0x8f) {
		h->kind = WIRE_MAP;
		h->n = b & 0x0f;
		return 0;
	}
	if (b <= 0x9f) {
		h->kind = WIRE_ARRAY;
		h->n = b & 0x0f;
		return 0;
	}
	if (b <= 0xbf) {
		h->kind = WIRE_STR;
		h->n = b & 0x1f;
		return 0;
	}
	switch (b) {
	case 0xc0: h->kind = WIRE_NIL; return 0;
	case 0xc2: case 0xc3: h->kind = WIRE_BOOL; return 0;
	case 0xc4: h->kind = WIRE_BIN; lenbytes = 1; break;
	case 0xc5: h->kind = WIRE_BIN; lenbytes = 2; break;
	case 0xc6: h->kind = WIRE_BIN; lenbytes = 4; break;
	case 0xc7: h->kind = WIRE_EXT; lenbytes = 1; break;
	case 0xc8: h->kind = WIRE_EXT; lenbytes = 2; break;
	case 0xc9: h->kind = WIRE_EXT; lenbytes = 4; break;
	case 0xca: h->kind = WIRE_FLOAT32; h->n = 4; return 0;
	case 0xcb: h->kind = WIRE_FLOAT64; h->n = 8; return 0;
	case 0xcc: case 0xcd: case 0xce: case 0xcf:
		h->kind = WIRE_UINT;
		h->n = 1u << (b - 0xcc);
		return 0;
	case 0xd0: case 0xd1: case 0xd2: case 0xd3:
		h->kind = WIRE_INT;
		h->n = 1u << (b - 0xd0);
		return 0;
	case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
		if (len < 2)
			return -1;
		h->kind = WIRE_EXT;
		h->hlen = 2;               /* tag and ext type */
		h->n = 1u << (b - 0xd4);
		return 0;
	case 0xd9: h->kind = WIRE_STR; lenbytes = 1; break;
	case 0xda: h->kind = WIRE_STR; lenbytes = 2; break;
	case 0xdb: h->kind = WIRE_STR; lenbytes = 4; break;
	case 0xdc: h->kind = WIRE_ARRAY; lenbytes = 2; break;
	case 0xdd: h->kind = WIRE_ARRAY; lenbytes = 4; break;
	case 0xde: h->kind = WIRE_MAP; lenbytes = 2; break;
	case 0xdf: h->kind = WIRE_MAP; lenbytes = 4; break;
	default: return -1;            /* 0xc1: never used */
	}
	unsigned hlen = 1 + lenbytes + (h->kind == WIRE_EXT);
	if (len < hlen)
		return -1;
	h->hlen = hlen;
	h->n = (uint32_t)wire_be(p + 1, lenbytes);
	return 0;
}

size_t wire_scalar_len(const void *p, size_t len)
{
	struct wire_head h;
	if (wire_head(p, len, &h) || h.kind == WIRE_ARRAY || h.kind == WIRE_MAP || h.n > len - h.hlen)
		return 0;
	return h.hlen + (size_t)h.n;
}

/* A header of kind at p: its length and *count, or 0. */
static size_t wire_container_header(const void *p, size_t len, enum wire_kind kind, uint32_t *count)
{
	struct wire_head h;
	if (wire_head(p, len, &h) || h.kind != kind)
		return 0;
	*count = h.n;
	return h.hlen;
}

size_t wire_array_header(const void *p, size_t len, uint32_t *count)
{
	return wire_container_header(p, len, WIRE_ARRAY, count);
}

size_t wire_map_header(const void *p, size_t len, uint32_t *count)
{
	return wire_container_header(p, len, WIRE_MAP, count);
}

/* Shortest header: fix form below 16, else the 16- or 32-bit tag. */
static size_t wire_put_header(unsigned char *d, unsigned char fix, unsigned char tag16, uint32_t n)
{
	if (n < 16) {
		d[0] = (unsigned char)(fix | n);
		return 1;
	}
	if (n <= 0xffff) {
		d[0] = tag16;
		d[1] = (unsigned char)(n >> 8);
		d[2] = (unsigned char)n;
		return 3;
	}
	d[0] = (unsigned char)(tag16 + 1);
	for (int i = 0; i < 4; i++)
		d[1 + i] = (unsigned char)(n >> (24 - 8 * i));
	return 5;
}

size_t wire_put_array_header(void *dst, uint32_t count)
{
	return wire_put_header(dst, 0x90, 0xdc, count);
}

size_t wire_put_map_header(void *dst, uint32_t count)
{
	return wire_put_header(dst, 0x80, 0xde, count);
}

size_t wire_put_uint(void *dst, uint64_t u)
{
	unsigned char *d = dst;
	unsigned bytes;
	if (u < 0x80) {
		d[0] = (unsigned char)u;
		return 1;
	}
	if (u <= 0xff)
		d[0] = 0xcc, bytes = 1;
	else if (u <= 0xffff)
		d[0] = 0xcd, bytes = 2;
	else if (u <= 0xffffffffu)
		d[0] = 0xce, bytes = 4;
	else
		d[0] = 0xcf, bytes = 8;
	for (unsigned i = 0; i < bytes; i++)
		d[1 + i] = (unsigned char)(u >> (8 * (bytes - 1 - i)));
	return 1 + bytes;
}

int wire_read_number(const void *data, size_t len, struct wire_num *out)
{
	const unsigned char *p = data;
	struct wire_head h;
	if (wire_head(p, len, &h) || len != h.hlen + (size_t)h.n)
		return WIRE_ETYPE;
	uint64_t raw = h.n ? wire_be(p + 1, h.n) : p[0];
	switch (h.kind) {
	case WIRE_UINT:
		out->kind = WIRE_UINT;
		out->u = raw;
		return 0;
	case WIRE_INT: {
		unsigned bits = h.n ? 8 * h.n : 8;
		int64_t v = bits == 64 ? (int64_t)raw : (int64_t)(raw << (64 - bits)) >> (64 - bits);
		out->kind = v < 0 ? WIRE_INT : WIRE_UINT;
		if (v < 0)
			out->i = v;
		else
			out->u = (uint64_t)v;
		return 0;
	}
	case WIRE_FLOAT32: {
		union { uint32_t u; float f; } f32 = { .u = (uint32_t)raw };
		out->kind = WIRE_FLOAT32;
		out->f = f32.f;
		return 0;
	}
	case WIRE_FLOAT64: {
		union { uint64_t u; double f; } f64 = { .u = raw };
		out->kind = WIRE_FLOAT64;
		out->f = f64.f;
		return 0;
	}
	default:
		return WIRE_ETYPE;
	}
}

int wire_obj_int(const msgpack_object *o, int64_t *out)
{
	if (!o)
		return WIRE_ETYPE;
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*out = o->via.i64;
		return 0;
	}
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return WIRE_ETYPE;
	if (o->via.u64 > INT64_MAX)
		return WIRE_ERANGE;
	*out = (int64_t)o->via.u64;
	return 0;
}

int wire_obj_uint(const msgpack_object *o, uint64_t *out)
{
	if (!o)
		return WIRE_ETYPE;
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return WIRE_ERANGE;
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return WIRE_ETYPE;
	*out = o->via.u64;
	return 0;
}

int wire_obj_double(const msgpack_object *o, double *out)
{
	if (!o)
		return WIRE_ETYPE;
	switch (o->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER: *out = (double)o->via.u64; return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: *out = (double)o->via.i64; return 0;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: *out = o->via.f64; return 0;
	default: return WIRE_ETYPE;
	}
}

int wire_key_is(const msgpack_object *o, const char *key)
{
	size_t n = strlen(key);
	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n && memcmp(o->via.str.ptr, key, n) == 0;
}

const msgpack_object *wire_map_get(const msgpack_object *m, const char *key)
{
	for (uint32_t i = 0; m && m->type == MSGPACK_OBJECT_MAP && i < m->via.map.size; i++)
		if (wire_key_is(&m->via.map.ptr[i].key, key))
			return &m->via.map.ptr[i].val;
	return NULL;
}

int wire_options(const msgpack_object *opts, const char *const *keys, wire_option_fn *fn, void *ctx,
                 const msgpack_object **unknown)
{
	if (!opts)
		return 0;
	if (opts->type != MSGPACK_OBJECT_MAP)
		return WIRE_ETYPE;
	for (uint32_t i = 0; i < opts->via.map.size; i++) {
		const msgpack_object *k = &opts->via.map.ptr[i].key;
		unsigned j = 0;
		while (keys[j] && !wire_key_is(k, keys[j]))
			j++;
		if (!keys[j]) {
			if (!unknown)
				continue;
			*unknown = k;
			return WIRE_EUNKNOWN;
		}
		int rc = fn(ctx, j, &opts->via.map.ptr[i].val);
		if (rc)
			return rc;
	}
	return 0;
}

int wire_pack_request_head(msgpack_packer *pk, uint64_t id, unsigned op, uint32_t nargs)
{
	if (nargs > UINT32_MAX - 2)
		return -1;
	return msgpack_pack_array(pk, nargs + 2) || msgpack_pack_uint64(pk, id) ||
	       msgpack_pack_unsigned_int(pk, op) ? -1 : 0;
}

size_t wire_put_reply_head(void *dst, uint64_t id, unsigned status)
{
	unsigned char *d = dst;
	d[0] = 0x93;
	size_t n = 1 + wire_put_uint(d + 1, id);
	return n + wire_put_uint(d + n, status);
}

int wire_pack_reply_head(msgpack_packer *pk, uint64_t id, unsigned status)
{
	unsigned char head[WIRE_REPLY_HEAD_MAX];
	return pk->callback(pk->data, (const char *)head, wire_put_reply_head(head, id, status)) ? -1 : 0;
}

int wire_request_parse(const msgpack_object *root, struct wire_request *rq)
{
	if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size < 2 ||
	    root->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return -1;
	const msgpack_object *el = root->via.array.ptr;
	rq->id = el[0].via.u64;
	rq->op = &el[1];
	rq->args = el + 2;
	rq->nargs = root->via.array.size - 2;
	return 0;
}

/* The unsigned integer that starts p[0..len): its length and *v, or 0. */
static size_t wire_read_uint_prefix(const unsigned char *p, size_t len, uint64_t *v)
{
	struct wire_num num;
	size_t n = wire_scalar_len(p, len);
	if (!n || wire_read_number(p, n, &num) || num.kind != WIRE_UINT)
		return 0;
	*v = num.u;
	return n;
}

int wire_reply_head(const void *data, size_t len, uint64_t *id, uint64_t *status, size_t *result_off)
{
	const unsigned char *p = data;
	uint32_t count;
	size_t off = wire_array_header(p, len, &count), n;
	if (!off || count != 3)
		return -1;
	if (!(n = wire_read_uint_prefix(p + off, len - off, id)))
		return -1;
	off += n;
	if (!(n = wire_read_uint_prefix(p + off, len - off, status)))
		return -1;
	*result_off = off + n;
	return *result_off < len ? 0 : -1;
}
