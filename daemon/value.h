/*
 * value.h: a stored value: canonical msgpack bytes (see proto/codec.h) in one
 * allocation. Values are immutable once made; equal values have equal bytes.
 * Every live value is counted in value_mem_used so that max_memory holds.
 */
#ifndef IPCD_VALUE_H
#define IPCD_VALUE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <msgpack.h>

struct value {
	uint32_t len;
	char data[];
};

/* Bytes held by live values (headers included). */
extern size_t value_mem_used;
/* 0 = no limit. Set from config max_memory. */
extern size_t value_mem_limit;
/* Nesting limit for stored values (config max_depth). */
extern unsigned value_max_depth;

/*
 * New value holding o canonically encoded. o is a scalar or an object from
 * decode_value (a request's argument): its size and depth are read from what
 * the decoder kept, not walked again. Returns 0 and *out (caller owns), or
 * IPCD_E_BADVALUE (too deep), IPCD_E_NOMEM (allocation failed or max_memory
 * reached).
 */
int value_new(const msgpack_object *o, struct value **out);
/* New value from bytes already canonical (e.g. a stored value's copy). */
int value_new_raw(const void *data, size_t len, struct value **out);
/* Free v (NULL is fine). */
void value_free(struct value *v);
/* Bytes v accounts for. */
static inline size_t value_mem(const struct value *v) { return sizeof(*v) + v->len; }

static inline int value_equal(const struct value *a, const struct value *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* True if v holds o's canonical encoding (compared as it is encoded). */
int value_equals_obj(const struct value *v, const msgpack_object *o);

/* Decode v into obj using zone z (obj valid while z lives). 0 or -1. */
int value_unpack(const struct value *v, msgpack_zone *z, msgpack_object *obj);

/* Allocation hook: tests replace it to make allocations fail (test_dict.c). */
extern void *(*value_alloc)(size_t);

#endif
