/*
 * loop.c: the event loop, with a bounded busy poll.
 *
 * Waking a process that sleeps in epoll_wait costs tens of microseconds on
 * a virtual machine (the idle vCPU halts and has to be kicked), often more
 * than serving the request. So after a read the daemon goes on polling its
 * sockets without sleeping (libevent's non-blocking loop: epoll with a zero
 * timeout) for up to busy_poll microseconds after the last read, and only
 * then blocks. A client that sends its next request within that window is
 * served without a wakeup on the daemon's side. An idle daemon sleeps: the
 * window opens only after a read. Between polls the daemon yields the CPU
 * (sched_yield), so that on a small machine its polling never keeps a
 * runnable client from running.
 *
 * Each iteration ends at the one flush point: every reply that its
 * callbacks produced (requests, retries of parked ones, timers) is written
 * out together, after the changes they made were committed to the state
 * log in one write (group commit: one fsync for all of them).
 */
#include <sched.h>
#include "loop.h"
#include "clock.h"
#include "config.h"
#include "server.h"
#include "state.h"

int64_t clock_advance_us;   /* clock.h: only tests move it */

static int loop_stopping;

int loop_once(struct event_base *base, int flags)
{
	int rc = event_base_loop(base, flags);
	state_commit();   /* durable before it is answered (fsync=always) */
	server_flush_pending();
	return rc;
}

void loop_run(struct event_base *base)
{
	loop_stopping = 0;
	while (!loop_stopping) {
		uint64_t reads = server_stats.reads;
		if (loop_once(base, EVLOOP_ONCE) != 0)
			break;   /* nothing left to wait for */
		if (!config.busy_poll || server_stats.reads == reads)
			continue;
		uint64_t until = clock_mono_us() + config.busy_poll;
		while (!loop_stopping) {
			reads = server_stats.reads;
			if (loop_once(base, EVLOOP_NONBLOCK) != 0)
				return;
			uint64_t now = clock_mono_us();
			if (server_stats.reads != reads)
				until = now + config.busy_poll;
			else if (now >= until)
				break;
			else
				sched_yield();
		}
	}
}

void loop_stop(struct event_base *base)
{
	loop_stopping = 1;
	event_base_loopbreak(base);
}
