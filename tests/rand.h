/*
 * rand.h: a deterministic xorshift64 generator for tests, so that a failing
 * run replays exactly. Each test keeps its own state, seeded with a
 * non-zero constant.
 */
#ifndef IPCD_TEST_RAND_H
#define IPCD_TEST_RAND_H

#include <stdint.h>

static inline uint64_t test_rand(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

#endif
