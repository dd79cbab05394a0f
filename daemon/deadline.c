/*
 * deadline.c: the hello and idle deadlines of a connection. See deadline.h.
 */
#include <event2/event.h>
#include "deadline.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "server.h"

static void deadline_arm(struct client *c, uint64_t now_ms);

/* When c's next deadline is due (monotonic ms), or 0 if it has none. */
static uint64_t deadline_next(const struct client *c)
{
	uint64_t next = 0;
	if (!c->hello_done)
		next = c->connected_ms + config.hello_timeout * 1000;
	if (config.idle_timeout) {
		uint64_t idle = c->active_ms + config.idle_timeout * 1000;
		if (!next || idle < next)
			next = idle;
	}
	return next;
}

static void deadline_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	uint64_t now = clock_mono_ms();
	if (!c->hello_done && now >= c->connected_ms + config.hello_timeout * 1000) {
		log_ctx(LOG_INFO, c->pid, NULL, 0, 0, "client %llu (pid %d): no hello within hello_timeout (%llu s); "
		        "disconnecting", (unsigned long long)c->cid, (int)c->pid, (unsigned long long)config.hello_timeout);
		client_close(c, "no hello within hello_timeout");
		return;
	}
	if (config.idle_timeout && !c->waiter.wq && !c->monitoring && now >= c->active_ms + config.idle_timeout * 1000) {
		log_ctx(LOG_INFO, c->pid, NULL, 0, 0, "client %llu (pid %d): silent for idle_timeout (%llu s); "
		        "disconnecting", (unsigned long long)c->cid, (int)c->pid, (unsigned long long)config.idle_timeout);
		client_close(c, "idle for idle_timeout");
		return;
	}
	if (c->waiter.wq || c->monitoring)
		c->active_ms = now;  /* waiting or watching is not idleness */
	deadline_arm(c, now);
}

static void deadline_arm(struct client *c, uint64_t now_ms)
{
	uint64_t next = deadline_next(c);
	if (!next) {
		/* No deadline now; a reload may set idle_timeout: look again then. */
		next = now_ms + 60 * 1000;
	}
	uint64_t in = next > now_ms ? next - now_ms : 0;
	struct timeval tv = { (time_t)(in / 1000), (suseconds_t)(in % 1000) * 1000 };
	evtimer_add(&c->ev_deadline, &tv);
}

void deadline_start(struct client *c)
{
	c->connected_ms = c->active_ms = clock_mono_ms();
	evtimer_assign(&c->ev_deadline, server_base, deadline_on_timer, c);
	deadline_arm(c, c->connected_ms);
}

void deadline_touch(struct client *c)
{
	if (config.idle_timeout)
		c->active_ms = clock_mono_ms();
}

void deadline_stop(struct client *c)
{
	event_del(&c->ev_deadline);
}
