/*
 * loop.h: the daemon's event loop (libevent's, with a bounded busy poll after
 * each read; see loop.c).
 */
#ifndef IPCD_LOOP_H
#define IPCD_LOOP_H

#include <event2/event.h>

/* One event_base_loop iteration with flags, then the flush point: every
 * reply produced is written. Returns event_base_loop's result. */
int loop_once(struct event_base *base, int flags);
/* An event was made active outside libevent's callbacks (event_active):
 * the next iteration runs libevent even while rings keep it busy. */
void loop_events_due(void);
/* Serve events until loop_stop. */
void loop_run(struct event_base *base);
/* Make loop_run return once the current callback is done. */
void loop_stop(struct event_base *base);

#endif
