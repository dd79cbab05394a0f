/*
 * value.c: stored values (see value.h). The one place values are allocated,
 * so memory accounting and the max_memory limit hold by construction.
 */
#include <stdlib.h>
#include <string.h>
#include "value.h"
#include "codec.h"
#include "decode.h"
#include "proto.h"

size_t value_mem_used;
size_t value_mem_limit;
unsigned value_max_depth = PROTO_DEFAULT_MAX_DEPTH;
void *(*value_alloc)(size_t) = malloc;

/* Allocate a value of len bytes, within the memory limit. */
static int value_make(size_t len, struct value **out)
{
	if (len > UINT32_MAX)
		return IPCD_EBADVALUE;
	size_t need = value_cost(len);
	if (value_mem_limit && value_mem_used + need > value_mem_limit)
		return IPCD_ENOMEM;
	struct value *v = value_alloc(sizeof(struct value) + len);
	if (!v)
		return IPCD_ENOMEM;
	v->len = (uint32_t)len;
	value_mem_used += need;
	*out = v;
	return 0;
}

int value_mem_charge(size_t n)
{
	if (value_mem_limit && value_mem_used + n > value_mem_limit)
		return -1;
	value_mem_used += n;
	return 0;
}

int value_new(const msgpack_object *o, struct value **out)
{
	if (decode_depth(o) > value_max_depth)
		return IPCD_EBADVALUE;
	int err = value_make(decode_size(o), out);
	if (err)
		return err;
	decode_encode_into(o, (*out)->data);
	return 0;
}

int value_new_raw(const void *data, size_t len, struct value **out)
{
	int err = value_make(len, out);
	if (err)
		return err;
	memcpy((*out)->data, data, len);
	return 0;
}

void value_free(struct value *v)
{
	if (!v)
		return;
	value_mem_used -= value_mem(v);
	free(v);
}

int value_equals_obj(const struct value *v, const msgpack_object *o)
{
	return codec_equals(o, v->data, v->len);
}

int value_unpack(const struct value *v, msgpack_zone *z, msgpack_object *obj)
{
	size_t off = 0;
	return msgpack_unpack(v->data, v->len, &off, z, obj) == MSGPACK_UNPACK_SUCCESS ? 0 : -1;
}
