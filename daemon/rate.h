/*
 * rate.h: operations per second over the last whole second, in O(1) per
 * operation and with no timer. A counter holds the ops of the current
 * second and of the one before; the first op of a new second rolls them
 * (an idle gap of more than a second leaves nothing behind). Reading never
 * changes the counter, so an object nobody touches costs nothing and still
 * reads 0 once its second has passed. Used per object (ls long entries)
 * and server-wide (info's ops_per_sec).
 */
#ifndef IPCD_RATE_H
#define IPCD_RATE_H

#include <stdint.h>
#include <time.h>

struct rate {
	uint64_t sec;              /* the whole second ops_cur counts */
	uint32_t ops_cur, ops_prev; /* ops in sec, and in sec - 1 */
};

/* The current whole second: a coarse monotonic clock, read from the vDSO
 * (no system call), once per request. */
static inline uint64_t rate_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec;
}

/* One op at second now. */
static inline void rate_tick(struct rate *r, uint64_t now)
{
	if (now != r->sec) {
		r->ops_prev = now == r->sec + 1 ? r->ops_cur : 0;
		r->ops_cur = 0;
		r->sec = now;
	}
	if (r->ops_cur != UINT32_MAX)
		r->ops_cur++;
}

/* Ops in the last whole second before now. */
static inline uint32_t rate_get(const struct rate *r, uint64_t now)
{
	if (now == r->sec)
		return r->ops_prev;
	return now == r->sec + 1 ? r->ops_cur : 0;
}

#endif
