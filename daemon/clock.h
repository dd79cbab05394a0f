/*
 * clock.h: the daemon's two clocks. Deadlines, timers, ages and the busy
 * poll use the monotonic clock (it never jumps); what clients see as a
 * point in time (created, connected, monitor events) is unix time.
 */
#ifndef IPCD_CLOCK_H
#define IPCD_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Microseconds both clocks are set back while the state log is replayed, so
 * that a replayed change sees the time it was made at (a delay or a lease
 * keeps its deadline); 0 otherwise (state.c). */
extern int64_t clock_shift_us;

/* Test hook: microseconds a test has moved time forward, so that timers
 * run without being waited for (the fuzz harness moves libevent's timers
 * by as much); 0 in the daemon (loop.c). Unlike clock_shift_us it moves
 * the clock timers are armed from too. */
extern int64_t clock_advance_us;

/* Monotonic microseconds as they are (plus clock_advance_us), for arming timers. */
static inline uint64_t clock_mono_real_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000 + (uint64_t)clock_advance_us;
}

/* Monotonic microseconds. */
static inline uint64_t clock_mono_us(void)
{
	return clock_mono_real_us() + (uint64_t)clock_shift_us;
}

/* Monotonic milliseconds. */
static inline uint64_t clock_mono_ms(void)
{
	return clock_mono_us() / 1000;
}

/* The clock reading loop_once took at the start of the iteration running
 * now (after libevent ran, if it did), or 0 outside one (loop.c). */
extern uint64_t clock_iteration_us;

/* Monotonic milliseconds for a stamp, not a deadline (when an item was
 * put, for its age): inside a loop iteration its own reading, at most an
 * iteration old, which saves a clock read per request (about 26 ns on a
 * virtual machine, a tenth of a small request's cost). */
static inline uint64_t clock_stamp_ms(void)
{
	return (clock_iteration_us ? clock_iteration_us : clock_mono_us()) / 1000;
}

/* Monotonic milliseconds rounded up: the base of a deadline, so that a
 * deadline is never before now + its length (clock_mono_ms rounds down and
 * would make a delay end up to a millisecond early). */
static inline uint64_t clock_mono_ms_up(void)
{
	return (clock_mono_us() + 999) / 1000;
}

/* Unix time in seconds. */
static inline double clock_unix(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9 + (double)(clock_shift_us + clock_advance_us) / 1e6;
}

#endif
