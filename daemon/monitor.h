/*
 * monitor.h: the monitor op, a live stream of every request. A connection
 * that sends `monitor` gets [id, 0, true], then is parked for good on one
 * wait queue (so `clients` shows it blocked on "monitor" and it processes
 * nothing more it sends); from then on each request any other connection
 * sends adds one event frame [id, 0, {time, client, pid, op, name, size}]
 * to its output, with the monitor request's id. Closing the connection (or
 * kill_client) takes it off the queue like any parked request.
 *
 * Cost: with no monitor attached, dispatch pays one predictable branch
 * (monitor_count() is 0) and builds nothing; monitor_events counts the
 * events built, which info shows. A monitor that does not read keeps at
 * most monitor_buffer bytes of unsent output: events past it are dropped,
 * counted, and the next event that fits says how many with "dropped".
 */
#ifndef IPCD_MONITOR_H
#define IPCD_MONITOR_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include "proto.h"
#include "waiters.h"

struct client;

/* The attached monitors, parked in attach order. */
extern struct waitq monitor_waiters;
/* Events built (one per request per monitor with room), and dropped, since start. */
extern uint64_t monitor_events, monitor_dropped;

/* Attached monitors; 0 on the hot path when nobody watches. */
static inline uint32_t monitor_count(void)
{
	return monitor_waiters.count;
}

/*
 * Client from sent a request for op (args as decoded, size the whole frame
 * in bytes, length prefix included): add its event to every other
 * monitor's output. Called from dispatch only when monitor_count() > 0.
 */
void monitor_request(const struct client *from, const struct proto_op_info *op, const msgpack_object *args,
                     uint32_t nargs, size_t size);

#endif
