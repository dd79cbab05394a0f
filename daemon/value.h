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

/* Bytes held on behalf of clients: live values (with their allocation
 * overhead and the container slot that holds each), and what
 * value_mem_charge adds (objects, names, dict keys, queue items). */
extern size_t value_mem_used;
/* 0 = no limit. Set from config max_memory. */
extern size_t value_mem_limit;
/* Nesting limit for stored values (config max_depth). */
extern unsigned value_max_depth;

/*
 * New value holding o canonically encoded. o is a scalar or an object from
 * decode_value (a request's argument): its size and depth are read from what
 * the decoder kept, not walked again. Returns 0 and *out (caller owns), or
 * IPCD_EBADVALUE (too deep), IPCD_ENOMEM (allocation failed or max_memory
 * reached).
 */
int value_new(const msgpack_object *o, struct value **out);
/* New value from bytes already canonical (e.g. a stored value's copy). */
int value_new_raw(const void *data, size_t len, struct value **out);
/* Free v (NULL is fine). */
void value_free(struct value *v);
/* What an allocation of n bytes costs: malloc's header and its rounding to
 * 16 bytes (glibc), so that many small allocations cannot pass max_memory
 * by their overhead. */
static inline size_t value_alloc_cost(size_t n) { return (n + 8 + 15) & ~(size_t)15; }
/* Bytes a value of len bytes accounts for: its allocation and the pointer
 * that holds it in its list, queue or dict. */
static inline size_t value_cost(size_t len) { return value_alloc_cost(sizeof(struct value) + len) + sizeof(void *); }
/* Bytes v accounts for. */
static inline size_t value_mem(const struct value *v) { return value_cost(v->len); }
/* Count n more bytes held for clients: 0, or -1 (nothing counted) if that
 * would pass max_memory. */
int value_mem_charge(size_t n);
/* True if n more bytes would stay within max_memory (nothing counted): the
 * check before an array grows, whose new room is counted once it has. */
static inline int value_mem_fits(size_t n)
{
	return !value_mem_limit || (n <= value_mem_limit && value_mem_used <= value_mem_limit - n);
}
/* Count n more bytes whatever the limit (memory already taken). */
static inline void value_mem_add(size_t n) { value_mem_used += n; }
/* Give back n counted bytes. */
static inline void value_mem_sub(size_t n) { value_mem_used -= n; }

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
