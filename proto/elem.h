/*
 * elem.h: the elements of a value or array in shared memory (PROTOCOL.md,
 * values and arrays), read and written the same way by the daemon and by
 * libipcd's mapped access: every access atomic and sequentially consistent,
 * on 1, 2, 4 or 8 bytes, bits zero-extended to 64.
 */
#ifndef IPCD_ELEM_H
#define IPCD_ELEM_H

#include <stdint.h>
#include <string.h>

static inline uint64_t elem_load(const void *p, unsigned size)
{
	switch (size) {
	case 1: return __atomic_load_n((const uint8_t *)p, __ATOMIC_SEQ_CST);
	case 2: return __atomic_load_n((const uint16_t *)p, __ATOMIC_SEQ_CST);
	case 4: return __atomic_load_n((const uint32_t *)p, __ATOMIC_SEQ_CST);
	default: return __atomic_load_n((const uint64_t *)p, __ATOMIC_SEQ_CST);
	}
}

static inline void elem_store(void *p, unsigned size, uint64_t bits)
{
	switch (size) {
	case 1: __atomic_store_n((uint8_t *)p, (uint8_t)bits, __ATOMIC_SEQ_CST); break;
	case 2: __atomic_store_n((uint16_t *)p, (uint16_t)bits, __ATOMIC_SEQ_CST); break;
	case 4: __atomic_store_n((uint32_t *)p, (uint32_t)bits, __ATOMIC_SEQ_CST); break;
	default: __atomic_store_n((uint64_t *)p, bits, __ATOMIC_SEQ_CST); break;
	}
}

/* Compare-and-swap: 1 if the element held *expected and now holds desired;
 * else 0 with what it holds in *expected. */
static inline int elem_cas(void *p, unsigned size, uint64_t *expected, uint64_t desired)
{
	int ok;
	switch (size) {
	case 1: {
		uint8_t e = (uint8_t)*expected;
		ok = __atomic_compare_exchange_n((uint8_t *)p, &e, (uint8_t)desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		*expected = e;
		return ok;
	}
	case 2: {
		uint16_t e = (uint16_t)*expected;
		ok = __atomic_compare_exchange_n((uint16_t *)p, &e, (uint16_t)desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		*expected = e;
		return ok;
	}
	case 4: {
		uint32_t e = (uint32_t)*expected;
		ok = __atomic_compare_exchange_n((uint32_t *)p, &e, (uint32_t)desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		*expected = e;
		return ok;
	}
	default:
		return __atomic_compare_exchange_n((uint64_t *)p, expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	}
}

/* The bits of a signed element of size bytes as an int64. */
static inline int64_t elem_signed(uint64_t bits, unsigned size)
{
	unsigned shift = 64 - 8u * size;
	return (int64_t)(bits << shift) >> shift;
}

/* A float element's bits (size 4: float, 8: double) and back. */
static inline double elem_bits_double(uint64_t bits, unsigned size)
{
	if (size == 4) {
		uint32_t b = (uint32_t)bits;
		float f;
		memcpy(&f, &b, sizeof(f));
		return f;
	}
	double d;
	memcpy(&d, &bits, sizeof(d));
	return d;
}

static inline uint64_t elem_double_bits(double v, unsigned size)
{
	if (size == 4) {
		float f = (float)v;
		uint32_t b;
		memcpy(&b, &f, sizeof(b));
		return b;
	}
	uint64_t b;
	memcpy(&b, &v, sizeof(b));
	return b;
}

#endif
