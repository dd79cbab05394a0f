/*
 * notify.h: talking to systemd over $NOTIFY_SOCKET (sd_notify): READY=1 once
 * the socket accepts, STATUS= with clients/objects/ops, WATCHDOG=1 pings,
 * RELOADING=1 around a config reload and STOPPING=1 at shutdown. Without
 * NOTIFY_SOCKET every call is a cheap no-op.
 *
 * The watchdog ping is a timer on the event loop at half of WATCHDOG_USEC,
 * so a loop that is stuck stops pinging and systemd kills it: that is the
 * point of the watchdog.
 */
#ifndef IPCD_NOTIFY_H
#define IPCD_NOTIFY_H

struct event_base;

/* Start the watchdog and status timers on base (per config.watchdog and
 * config.status_interval), then send READY=1 with the first STATUS=. */
void notify_ready(struct event_base *base);
/* Re-read config.watchdog and config.status_interval (after a reload). */
void notify_config_changed(void);
/* RELOADING=1 (with MONOTONIC_USEC, as systemd >= 253 wants) before a reload. */
void notify_reloading(void);
/* READY=1 and a fresh STATUS= after a reload. */
void notify_reloaded(void);
/* STOPPING=1; stop the timers. */
void notify_stopping(void);

#endif
