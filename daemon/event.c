/*
 * event.c: the event type, threading.Event for processes: one flag, and
 * waits that end when it is set. event.set answers every wait at once,
 * true; a wait whose timeout passes answers false (threading.Event.wait's
 * result), not an error. Waiting changes nothing, so it is not logged; set
 * and clear are.
 */
#include <string.h>
#include "object.h"
#include "dispatch.h"
#include "reply.h"
#include "state.h"
#include "wire.h"

static int event_init(struct object *o, const msgpack_object *opts, const char **why)
{
	if (opts && !(opts->type == MSGPACK_OBJECT_MAP && opts->via.map.size == 0)) {
		*why = "event takes no options";
		return IPCD_EBADARG;
	}
	memset(&o->u.event, 0, sizeof(o->u.event));
	waitq_init(&o->u.event.waiters);
	return 0;
}

static int event_same_options(const struct object *o, const msgpack_object *opts)
{
	return !opts || (opts->type == MSGPACK_OBJECT_MAP && opts->via.map.size == 0);
}

static void event_deinit(struct object *o)
{
}

/* 1 while set. */
static uint64_t event_size(const struct object *o)
{
	return o->u.event.flag != 0;
}

/* No items (see lock.c's dump). */
static void event_dump(const struct object *o, msgpack_packer *pk)
{
	msgpack_pack_array(pk, 0);
}

static void event_dump_page(const struct object *o, uint64_t cursor, uint64_t count, msgpack_packer *pk)
{
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint64(pk, 0);
	msgpack_pack_array(pk, 0);
}

static void event_pack_options(const struct object *o, msgpack_packer *pk)
{
	msgpack_pack_map(pk, 0);
}

static void event_cancel_waiters(struct object *o)
{
	waitq_fail_all(&o->u.event.waiters, IPCD_EDELETED, "event deleted while waiting");
}

static uint32_t event_waiting(const struct object *o)
{
	return o->u.event.waiters.count;
}

#define EVENT_STAT_KEYS 2

static void event_pack_stat(const struct object *o, const struct client *viewer, msgpack_packer *pk)
{
	pack_key_bool(pk, "set", o->u.event.flag);
	pack_key_uint(pk, "sets", o->u.event.total_set);
}

/* Snapshot: [flag, sets]. */
static int event_save(const struct object *o, struct state_saver *s)
{
	msgpack_packer *pk = state_save_content(s, o, 0, 2);
	(o->u.event.flag ? msgpack_pack_true : msgpack_pack_false)(pk);
	msgpack_pack_uint64(pk, o->u.event.total_set);
	return state_save_end(s);
}

static int event_restore(struct object *o, unsigned kind, const msgpack_object *entries)
{
	const msgpack_object *e = entries->via.array.ptr;
	if (kind != 0 || entries->via.array.size != 2 || e[0].type != MSGPACK_OBJECT_BOOLEAN ||
	    wire_obj_uint(&e[1], &o->u.event.total_set))
		return -1;
	o->u.event.flag = e[0].via.boolean;
	return 0;
}

const struct object_type event_type = {
	.init = event_init,
	.same_options = event_same_options,
	.deinit = event_deinit,
	.size = event_size,
	.dump = event_dump,
	.dump_page = event_dump_page,
	.pack_options = event_pack_options,
	.cancel_waiters = event_cancel_waiters,
	.waiting = event_waiting,
	.save = event_save,
	.restore = event_restore,
	.stat_keys = EVENT_STAT_KEYS,
	.pack_stat = event_pack_stat,
};

/* event.set NAME -> nil */
void handle_EVENT_SET(struct request *rq)
{
	struct sync_event *ev = &rq->obj->u.event;
	ev->flag = 1;
	ev->total_set++;
	reply_nil(&rq->reply);
	waitq_serve(&ev->waiters);
}

/* event.clear NAME -> nil */
void handle_EVENT_CLEAR(struct request *rq)
{
	rq->unchanged = !rq->obj->u.event.flag;   /* a clear event is what a free name reads as */
	rq->obj->u.event.flag = 0;
	reply_nil(&rq->reply);
}

/* event.is_set NAME -> bool */
void handle_EVENT_IS_SET(struct request *rq)
{
	reply_bool(&rq->reply, rq->obj->u.event.flag);
}

/* event.wait NAME [TIMEOUT] -> true (set) | false (TIMEOUT passed) */
void handle_EVENT_WAIT(struct request *rq)
{
	struct sync_event *ev = &rq->obj->u.event;
	const msgpack_object *timeout = request_arg(rq, 1);
	if (ev->flag) {
		reply_bool(&rq->reply, 1);
		return;
	}
	if (rq->timed_out || proto_timeout_ms(timeout) == 0) {
		reply_bool(&rq->reply, 0);
		return;
	}
	request_park(rq, &ev->waiters, timeout, IPCD_ETIMEOUT, "");
}
