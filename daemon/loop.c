/*
 * loop.c: the event loop, with a bounded, adaptive busy poll.
 *
 * Waking a process that sleeps in epoll_wait costs tens of microseconds on
 * a virtual machine (the idle vCPU halts and has to be kicked), often more
 * than serving the request. So after a read the daemon may go on polling
 * its sockets without sleeping (libevent's non-blocking loop: epoll with a
 * zero timeout) for up to busy_poll microseconds after the last read, and
 * only then block. A client that sends its next request within that window
 * is served without a wakeup on the daemon's side. An idle daemon sleeps:
 * the window opens only after a read. Between polls the daemon yields the
 * CPU (sched_yield), so that on a small machine its polling never keeps a
 * runnable client from running.
 *
 * The poll is adaptive: it is worth its CPU only when requests come closer
 * together than the window. The loop keeps a moving average of the gaps
 * between reads (each gap as long as it really was, whether the daemon
 * polled or slept through it) and polls after a read only while that
 * average is inside the window and recent polls caught two reads or more
 * each before their window ran out. A client pausing longer between
 * requests (a paced producer, a laptop's occasional caller, a put and a
 * get and then a pause) then costs what it costs with busy_poll = 0, and
 * a burst of close requests turns polling back on within a few reads.
 *
 * Shared-memory channels (shm.c) take part as sockets do: each iteration
 * polls the rings of clients that sent recently, a ring read counts as a
 * read for the window, and before the loop sleeps the rings are told, so
 * that their clients wake it with a byte on the socket. While rings are
 * polled the loop does not yield between polls: a yield on a loaded
 * machine can hand the CPU away for a whole time slice, while the client
 * on the other end spins for its answer (its spin is as bounded as this
 * poll).
 *
 * While rings bring requests, the sockets and timers (libevent's epoll, and
 * with it a timerfd_settime: two system calls) are looked at only every
 * LOOP_EVENTS_EVERY_US, not at every iteration, whose ring reads cost far
 * less: a socket client's request, a wake-up byte or a timer that falls
 * due then waits at most that long while shared-memory clients keep the
 * daemon busy. Work made due in the daemon itself (a parked client
 * resumed, loop_events_due) runs at the next iteration as before. The
 * clock is read once an iteration (and again after libevent ran): on a
 * virtual machine a read costs about as much as a ring poll.
 *
 * Each iteration ends at the one flush point: every reply that its
 * callbacks produced (requests, retries of parked ones, timers) is written
 * out together, after the changes they made were committed to the state
 * log in one write (group commit: one fsync for all of them). Only a long
 * run of one shared-memory client's requests sends its replies sooner,
 * and only while none of them waits for a commit (server.c).
 */
#include <sched.h>
#include "loop.h"
#include "clock.h"
#include "config.h"
#include "server.h"
#include "shm.h"
#include "state.h"

int64_t clock_advance_us;   /* clock.h: only tests move it */
uint64_t clock_iteration_us;  /* clock.h */

static int loop_stopping;

/* The bound on what a socket or timer waits behind busy rings: some 30
 * times what the two system calls cost on a virtual machine (so that they
 * take a few percent of a busy daemon), a few times the socket path's own
 * round trip. */
#define LOOP_EVENTS_EVERY_US 50
static uint64_t rings_brought_us;   /* when a ring last brought bytes */
static uint64_t events_polled_us;   /* when libevent last ran */
static int events_due;              /* an event was made active: run libevent next */
static uint64_t loop_now_us;        /* the clock this iteration's rings were polled at */

void loop_events_due(void)
{
	events_due = 1;
}

int loop_once(struct event_base *base, int flags)
{
	/* Before sleeping, shared-memory rings are told so; one that had
	 * bytes after all keeps the loop awake. */
	if (!(flags & EVLOOP_NONBLOCK) && shm_sleep())
		flags |= EVLOOP_NONBLOCK;
	int rc = 0;
	uint64_t now = clock_mono_us();
	if (!(flags & EVLOOP_NONBLOCK) || events_due || now - rings_brought_us >= LOOP_EVENTS_EVERY_US ||
	    now - events_polled_us >= LOOP_EVENTS_EVERY_US) {
		events_due = 0;
		events_polled_us = now;
		rc = event_base_loop(base, flags);
		now = clock_mono_us();   /* it may have slept, or served long */
	}
	loop_now_us = now;
	clock_iteration_us = now;   /* the rings' requests are served at it */
	if (shm_poll(now))   /* the rings of clients that sent recently */
		rings_brought_us = now;
	clock_iteration_us = 0;
	state_commit();   /* durable before it is answered (fsync=always) */
	server_flush_pending();
	return rc;
}

/* Moving average of the gaps between reads, in microseconds: 1/8 weight for
 * each new gap, and a gap counts as at most twice the window, so that a few
 * close reads turn polling on after a long pause and a few long gaps turn
 * it off. */
static uint64_t read_gap_avg_us;
static uint64_t last_read_us;
/* A gap slept through includes the daemon's own wakeup, which polling
 * would have saved: while the average says no, a read now and then polls
 * anyway (a probe), so that gaps inside the window are measured as they
 * are. A probe that saw fewer than two reads doubles the reads until the
 * next one, up to PROBE_MAX, since each costs a whole window of CPU: a
 * paced client then pays 1/PROBE_MAX of a window per request, not
 * 1/PROBE_MIN. One read is not enough to pay: a client doing a put and
 * then a get, with a pause after each pair, sends the get inside the
 * window and then nothing, so a probe after the put catches the get and
 * polls a whole window after it for nothing. A client whose requests
 * really come inside the window keeps sending during the probe. */
#define PROBE_MIN 16
#define PROBE_MAX 512
static unsigned reads_since_probe, probe_every = PROBE_MIN;
/* An average of gaps cannot see a client whose gaps alternate, short and
 * long (a put and its get, then a pause): after each short gap the
 * average dips inside the window, and the poll after the get waits a
 * whole window for nothing, each time. So the loop also keeps a moving
 * average (1/4 weight) of the reads each poll caught before its window
 * ran out, each counted up to POLL_CAUGHT_CAP, in 1/16ths; below
 * POLL_CAUGHT_MIN reads a poll, polls wait for the probes. It starts as
 * if polls had paid. */
#define POLL_CAUGHT_MIN 2
#define POLL_CAUGHT_CAP 16
static uint64_t poll_caught_avg16 = POLL_CAUGHT_CAP * 16;

/* Reads happened just now: fold the gap since the last into the average. */
static void note_reads(uint64_t now)
{
	uint64_t cap = 2 * (uint64_t)config.busy_poll;
	uint64_t gap = last_read_us && now > last_read_us ? now - last_read_us : 0;
	if (gap > cap)
		gap = cap;
	read_gap_avg_us = (read_gap_avg_us * 7 + gap) / 8;
	last_read_us = now;
}

/* Whether polling after this read is likely to pay: 1 if recent gaps
 * between reads fit in the window and recent polls caught reads, 2 if not
 * but it is time for a probe, 0 otherwise. */
static int poll_pays(void)
{
	if (!config.busy_poll)
		return 0;
	if (read_gap_avg_us < config.busy_poll && poll_caught_avg16 >= POLL_CAUGHT_MIN * 16)
		return 1;
	if (++reads_since_probe >= probe_every) {
		reads_since_probe = 0;
		return 2;
	}
	return 0;
}

/* A poll ended, having caught this many reads: into the average; a probe
 * that caught two or more resets the probing rate, one that did not
 * halves it. */
static void poll_ended(int why, uint64_t caught)
{
	poll_caught_avg16 = (poll_caught_avg16 * 3 + (caught < POLL_CAUGHT_CAP ? caught : POLL_CAUGHT_CAP) * 16) / 4;
	if (why != 2)
		return;
	if (caught >= 2)
		probe_every = PROBE_MIN;
	else if (probe_every < PROBE_MAX)
		probe_every *= 2;
}

void loop_run(struct event_base *base)
{
	loop_stopping = 0;
	while (!loop_stopping) {
		uint64_t reads = server_stats.reads;
		if (loop_once(base, EVLOOP_ONCE) != 0)
			break;   /* nothing left to wait for */
		if (server_stats.reads == reads)
			continue;
		uint64_t now = loop_now_us;
		note_reads(now);
		int why = poll_pays();
		if (!why)
			continue;
		uint64_t until = now + config.busy_poll, polled_from = server_stats.reads;
		while (!loop_stopping) {
			reads = server_stats.reads;
			if (loop_once(base, EVLOOP_NONBLOCK) != 0)
				return;
			now = loop_now_us;   /* this iteration's start: the window may end an iteration late */
			if (server_stats.reads != reads) {
				note_reads(now);
				until = now + config.busy_poll;
			} else if (now >= until) {
				break;
			} else if (!shm_polling()) {
				sched_yield();
			}
		}
		poll_ended(why, server_stats.reads - polled_from);
	}
}

void loop_stop(struct event_base *base)
{
	loop_stopping = 1;
	event_base_loopbreak(base);
}
