/*
 * deadline.h: how long a connection may stay silent. A client must say
 * hello within hello_timeout seconds of connecting, and, when idle_timeout
 * is set, must send something at least every idle_timeout seconds unless a
 * request of its own is waiting or it is a monitor (a blocked get is not
 * idle). Either breach
 * closes the connection with a logged reason. One timer per client, armed
 * for the nearest deadline and re-armed when it fires early: activity
 * itself only stores a time.
 */
#ifndef IPCD_DEADLINE_H
#define IPCD_DEADLINE_H

struct client;

/* Arm c's deadlines; call once, when c is accepted. */
void deadline_start(struct client *c);
/* c sent bytes: its idle deadline starts again. */
void deadline_touch(struct client *c);
/* Disarm (c is closing). */
void deadline_stop(struct client *c);

#endif
