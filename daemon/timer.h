/*
 * timer.h: libevent timers set for a monotonic deadline (clock.h), as the
 * queue's delays and leases keep them.
 */
#ifndef IPCD_TIMER_H
#define IPCD_TIMER_H

#include <event2/event.h>
#include "clock.h"

/* (Re)arm ev to fire at monotonic millisecond due_ms (at once if past).
 * Measured from the real clock: a deadline set while the log is replayed
 * is a point of this boot's monotonic time, as any other. */
static inline void timer_at(struct event *ev, uint64_t due_ms)
{
	uint64_t now = clock_mono_real_us() / 1000, ms = due_ms > now ? due_ms - now : 0;
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
	event_add(ev, &tv);
}

#endif
