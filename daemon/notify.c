/*
 * notify.c: sd_notify readiness, status, watchdog and reload messages. See
 * notify.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/event.h>
#include <systemd/sd-daemon.h>
#include "notify.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "registry.h"
#include "server.h"

static struct event_base *base;
static struct event *ev_watchdog, *ev_status;
static uint64_t watchdog_usec;   /* systemd's WATCHDOG_USEC, 0 = not asked */
static char last_status[160];

static void status_text(char *out, size_t n)
{
	snprintf(out, n, "STATUS=%llu clients, %zu objects, %llu ops",
	         (unsigned long long)server_stats.clients, registry_count(),
	         (unsigned long long)server_stats.ops_total);
}

/* Send STATUS= if it changed since the last one (or always if force). */
static void notify_status(int force, const char *prefix)
{
	char s[sizeof(last_status)], msg[sizeof(last_status) + 64];
	status_text(s, sizeof(s));
	if (!force && strcmp(s, last_status) == 0)
		return;
	strcpy(last_status, s);
	snprintf(msg, sizeof(msg), "%s%s", prefix, s);
	sd_notify(0, msg);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

static void on_status(evutil_socket_t fd, short what, void *arg)
{
	notify_status(0, "");
}

static void timer_set(struct event **ev, uint64_t usec, event_callback_fn cb)
{
	if (*ev) {
		event_free(*ev);
		*ev = NULL;
	}
	if (!usec || !base)
		return;
	struct timeval tv = { (time_t)(usec / 1000000), (suseconds_t)(usec % 1000000) };
	*ev = event_new(base, -1, EV_PERSIST, cb, NULL);
	if (*ev)
		event_add(*ev, &tv);
}

void notify_config_changed(void)
{
	timer_set(&ev_watchdog, config.watchdog ? watchdog_usec / 2 : 0, on_watchdog);
	timer_set(&ev_status, config.status_interval * 1000000, on_status);
}

void notify_ready(struct event_base *b)
{
	base = b;
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		watchdog_usec = usec;
		if (config.watchdog)
			log_info("watchdog: pinging systemd every %llu ms", (unsigned long long)usec / 2000);
		else
			log_warn("watchdog: systemd asks for pings every %llu ms but watchdog = no",
			         (unsigned long long)usec / 1000);
	}
	notify_config_changed();
	notify_status(1, "READY=1\n");
	if (watchdog_usec && config.watchdog)
		sd_notify(0, "WATCHDOG=1");
}

void notify_reloading(void)
{
	char msg[64];
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)clock_mono_us());
	sd_notify(0, msg);
}

void notify_reloaded(void)
{
	notify_config_changed();
	notify_status(1, "READY=1\n");
}

void notify_stopping(void)
{
	timer_set(&ev_watchdog, 0, NULL);
	timer_set(&ev_status, 0, NULL);
	sd_notify(0, "STOPPING=1");
}
