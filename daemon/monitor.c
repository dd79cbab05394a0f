/*
 * monitor.c: the monitor op and its events (see monitor.h). Monitors are
 * ordinary parked requests on monitor_waiters, so detaching (close,
 * kill_client, shutdown) is the waiters' code, not ours.
 */
#include <sys/time.h>
#include <event2/event.h>
#include "monitor.h"
#include "access.h"
#include "registry.h"
#include "config.h"
#include "dispatch.h"
#include "server.h"

struct waitq monitor_waiters = WAITQ_INITIALIZER(monitor_waiters);
uint64_t monitor_events, monitor_dropped;

/* One event into monitor m's output, as a reply to its monitor request. */
static void monitor_pack_event(struct client *m, uint64_t id, double now, const struct client *from,
                               const struct proto_op_info *op, const msgpack_object *name, size_t size)
{
	struct reply r;
	reply_init(&r, m, id);
	msgpack_packer *pk = reply_ok(&r);
	msgpack_pack_map(pk, 6 + (m->monitor_dropped != 0));
	pack_key_double(pk, "time", now);
	pack_key_uint(pk, "client", from->cid);
	pack_key_int(pk, "pid", from->pid);
	pack_key_str(pk, "op", op->name);
	pack_cstr(pk, "name");
	if (name) {
		msgpack_pack_str(pk, name->via.str.size);
		msgpack_pack_str_body(pk, name->via.str.ptr, name->via.str.size);
	} else {
		msgpack_pack_nil(pk);
	}
	pack_key_uint(pk, "size", size);
	if (m->monitor_dropped)
		pack_key_uint(pk, "dropped", m->monitor_dropped);
	reply_end(&r);
	m->monitor_dropped = 0;
	monitor_events++;
}

/* True if watcher m may see a request of from on obj (NULL: none named, or
 * not there yet): what m may read, and for the rest its own uid's requests. */
static int monitor_may_see(const struct client *m, const struct client *from, const struct object *obj)
{
	if (obj)
		return access_may(m, obj, ACCESS_R);
	return access_is_root(m) || m->uid == from->uid;
}

void monitor_request(const struct client *from, const struct proto_op_info *op, const msgpack_object *args,
                     uint32_t nargs, size_t size)
{
	struct timeval tv;
	event_base_gettimeofday_cached(server_base, &tv);   /* the loop's time: no system call per event */
	double now = (double)tv.tv_sec + tv.tv_usec / 1e6;
	const msgpack_object *name =
	        (op->flags & OPF_NAME) && nargs > 0 && args[0].type == MSGPACK_OBJECT_STR ? &args[0] : NULL;
	const struct object *obj = name ? registry_find(name->via.str.ptr, name->via.str.size) : NULL;
	struct waiter *w;
	TAILQ_FOREACH(w, &monitor_waiters.head, link) {
		struct client *m = w->client;
		if (m == from || m->closing || !monitor_may_see(m, from, obj))
			continue;
		if (buf_used(&m->out) > config.monitor_buffer) {  /* a slow reader loses events, not memory */
			m->monitor_dropped++;
			monitor_dropped++;
			continue;
		}
		monitor_pack_event(m, w->id, now, from, op, name, size);
	}
}

/* monitor -> true, then an event [id, 0, {...}] per request of every other
 * connection, for as long as this connection stays open. */
void handle_MONITOR(struct request *rq)
{
	struct client *c = rq->client;
	reply_bool(&rq->reply, 1);
	c->monitoring = 1;
	c->monitor_dropped = 0;
	request_park(rq, &monitor_waiters, NULL, 0, "");
}
