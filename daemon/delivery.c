/*
 * delivery.c: acknowledged gets. queue.get_ack hands out the next ready
 * item with a delivery id and keeps it pending, invisible to other getters,
 * until one of these ends the delivery:
 *   ack          done: the item is dropped and its task is done
 *   nack         back at the head of the queue, at once or after a delay
 *   lease end    back at the head (one libevent timer per queue, on the
 *                earliest deadline of a heap of leases; touch renews)
 *   disconnect   the consumer's connection closed: back at the head, oldest
 *                first, unless its get asked for an explicit lease, which
 *                then runs to its end so another process may ack by id
 * Any connection may ack, nack or touch a delivery by its id. An item that
 * comes back after max_deliveries deliveries goes to the dead-letter queue
 * instead (queue_return in queue.c).
 *
 * A client's held deliveries are holds on its connection (newest first,
 * across queues, beside whatever else it holds); a delivery with an
 * explicit lease stays pending when its consumer goes.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include "queue.h"
#include "object.h"
#include "clock.h"
#include "dispatch.h"
#include "state.h"
#include "timer.h"
#include "value.h"

/* Set q's lease timer for the earliest lease deadline, if any. */
static void delivery_arm(struct queue *q)
{
	struct queue_ext *x = q->ext;
	const struct qitem *top = heap_top(&x->leases);
	event_del(&x->lease_timer);
	if (top)
		timer_at(&x->lease_timer, top->due_ms);
}

/* The pending delivery id of q, or NULL. */
static struct omap_entry *delivery_find(const struct queue *q, uint64_t id)
{
	return q->ext ? omap_find(&q->ext->pending, &id, sizeof(id)) : NULL;
}

/* Take a pending delivery out of every structure; it is no longer pending. */
static struct qitem *delivery_take(struct queue *q, struct omap_entry *e)
{
	struct qitem *it = omap_remove(&q->ext->pending, e);
	if (it->pos != HEAP_NONE)
		heap_remove(&q->ext->leases, it->pos);
	if (it->consumer)
		LIST_REMOVE(&it->hold, link);
	it->consumer = NULL;
	it->id = 0;
	return it;
}

/* Hand the next ready item (there is one) to c as a pending delivery, its
 * lease lease_arg ms (< 0: the queue's). NULL on ENOMEM, nothing changed. */
static struct qitem *delivery_next(struct queue *q, struct client *c, int64_t lease_arg)
{
	struct queue_ext *x = queue_ext(q);
	uint64_t id = x ? x->next_id + 1 : 0;
	struct omap_entry *e = NULL;
	struct qitem *it = NULL;
	if (!x || heap_reserve(&x->leases, 1) < 0 || !(e = omap_upsert(&x->pending, &id, sizeof(id), &(int){ 0 })) ||
	    !(it = queue_take_item(q))) {
		if (e)
			omap_remove(&x->pending, e);
		return NULL;
	}
	x->next_id = id;
	e->val = it;
	it->id = id;
	it->deliveries++;
	if (it->deliveries > 1)
		q->total_redelivered++;
	q->total_got++;
	it->consumer = c;
	it->pid = c->pid;
	it->explicit_lease = lease_arg >= 0;
	it->lease_ms = lease_arg >= 0 ? (uint64_t)lease_arg : q->lease_ms;
	it->hold.obj = q->obj;
	LIST_INSERT_HEAD(&c->holds, &it->hold, link);
	if (it->lease_ms) {
		it->due_ms = clock_mono_ms_up() + it->lease_ms;
		heap_push(&x->leases, it);   /* reserved */
		if (heap_top(&x->leases) == it)
			delivery_arm(q);
	}
	return it;
}

/* A delivery as its consumer sees it: {id, value, deliveries}. */
static void pack_delivery(msgpack_packer *pk, const struct qitem *it)
{
	msgpack_pack_map(pk, 3);
	pack_key_uint(pk, "id", it->id);
	pack_cstr(pk, "value");
	pack_value(pk, it->v);
	pack_key_uint(pk, "deliveries", it->deliveries);
}

/* What a delivery adds to a reply besides its value, at most. */
#define DELIVERY_OVERHEAD 48

int delivery_give(struct queue *q, struct client *c, uint64_t reqid, int64_t lease_arg)
{
	struct reply r;
	reply_init(&r, c, reqid);
	struct qitem *it = delivery_next(q, c, lease_arg);
	if (!it) {
		reply_nomem(&r);
		return -1;
	}
	pack_delivery(reply_ok(&r), it);
	reply_end(&r);
	return 0;
}

void delivery_lease_end(struct queue *q, size_t n)
{
	struct qitem *it;
	while (n-- > 0 && (it = heap_top(&q->ext->leases))) {
		uint64_t id = it->id;
		delivery_take(q, omap_find(&q->ext->pending, &id, sizeof(id)));
		queue_return(q, it, 0);
	}
	delivery_arm(q);
}

/* Timer: the leases that ran out; logged as how many (see queue.c's delay
 * timer). */
void delivery_on_lease_end(evutil_socket_t fd, short what, void *arg)
{
	struct queue *q = arg;
	size_t n = queue_heap_due(&q->ext->leases, clock_mono_ms());
	state_timer(STATE_TIMER_LEASE, q->obj, n);
	delivery_lease_end(q, n);
}

/* Holds are released newest first, each to the head: the oldest ends up first. */
void delivery_release(struct object *o, struct hold *h)
{
	struct qitem *it = (struct qitem *)((char *)h - offsetof(struct qitem, hold));
	struct queue *q = &o->u.queue;
	it->consumer = NULL;   /* off the client's holds already */
	if (it->explicit_lease)
		return;
	uint64_t id = it->id;
	delivery_take(q, omap_find(&q->ext->pending, &id, sizeof(id)));
	delivery_arm(q);
	queue_return(q, it, 0);
}

void delivery_free_all(struct queue *q)
{
	struct omap_entry *e;
	for (e = omap_seek(&q->ext->pending, 0); e; e = omap_next(&q->ext->pending, e)) {
		struct qitem *it = e->val;
		if (it->consumer)
			LIST_REMOVE(&it->hold, link);
		qitem_free(it);
	}
	omap_clear(&q->ext->pending, NULL);
	heap_free(&q->ext->leases);
	event_del(&q->ext->lease_timer);
}

size_t delivery_count(const struct queue *q)
{
	return q->ext ? omap_count(&q->ext->pending) : 0;
}

/* Seconds as milliseconds from a duration argument o (NULL: absent -> dflt);
 * -1 if it is not one (proto_duration_ms). */
static int64_t delivery_ms_arg(const msgpack_object *o, int64_t dflt)
{
	return o ? proto_duration_ms(o) : dflt;
}

/* The pending delivery named by args[1], or reply NOTPENDING and NULL. */
static struct omap_entry *delivery_find_or_reply(struct request *rq)
{
	uint64_t id = rq->args[1].via.u64;
	struct omap_entry *e = delivery_find(&rq->obj->u.queue, id);
	if (!e)
		reply_error(&rq->reply, IPCD_ENOTPENDING,
		            "no pending delivery %llu in '%s' (acked, returned after its lease or consumer ended, or never given)",
		            (unsigned long long)id, rq->obj->name);
	return e;
}

/* queue.get_ack NAME [TIMEOUT] [LEASE] -> {id, value, deliveries} | EMPTY | TIMEOUT */
void handle_QUEUE_GET_ACK(struct request *rq)
{
	struct queue *q = &rq->obj->u.queue;
	const msgpack_object *lease = request_arg(rq, 2);
	int64_t lease_ms = delivery_ms_arg(lease, -1);
	if (lease && lease_ms <= 0) {
		reply_error(&rq->reply, IPCD_EBADARG, "lease must be a number of seconds > 0, at most %u", PROTO_MAX_SECONDS);
		return;
	}
	if (queue_ready(q) > 0 && request_is_next(rq, &q->getters)) {
		if (delivery_give(q, rq->client, rq->reply.id, lease_ms) == 0)
			queue_wake(q);
		return;
	}
	request_park(rq, &q->getters, request_arg(rq, 1), IPCD_EEMPTY, "queue is empty");
}

/* queue.get_ack_many NAME COUNT [TIMEOUT] [LEASE] -> [{id, value, deliveries}, ...] (1..COUNT)
 * | EMPTY | TIMEOUT: a consumer's prefetch, each a pending delivery of its own. */
void handle_QUEUE_GET_ACK_MANY(struct request *rq)
{
	struct queue *q = &rq->obj->u.queue;
	uint64_t count = rq->args[1].via.u64;
	const msgpack_object *lease = request_arg(rq, 3);
	int64_t lease_ms = delivery_ms_arg(lease, -1);
	if (count == 0) {
		reply_error(&rq->reply, IPCD_EBADARG, "count must be at least 1");
		return;
	}
	if (lease && lease_ms <= 0) {
		reply_error(&rq->reply, IPCD_EBADARG, "lease must be a number of seconds > 0, at most %u", PROTO_MAX_SECONDS);
		return;
	}
	if (!(queue_ready(q) > 0 && request_is_next(rq, &q->getters))) {
		request_park(rq, &q->getters, request_arg(rq, 2), IPCD_EEMPTY, "queue is empty");
		return;
	}
	/* As get_many: the reply stops short of max_output, and the log then
	 * says how many it took ([id, op, name, count, nil, lease]). */
	if (request_log_reserve(rq, rq->args[0].via.str.size + 64) < 0) {
		reply_nomem(&rq->reply);
		return;
	}
	uint64_t want = queue_ready(q) < count ? queue_ready(q) : count, took = 1;
	if (want > UINT32_MAX)
		want = UINT32_MAX;
	struct qitem *it = delivery_next(q, rq->client, lease_ms);
	if (!it) {
		reply_nomem(&rq->reply);
		return;
	}
	msgpack_packer *pk = reply_ok(&rq->reply);
	size_t at = reply_array_begin(&rq->reply, (uint32_t)want);
	pack_delivery(pk, it);
	while (took < want && queue_reply_has_room(&rq->reply, queue_next_len(q) + DELIVERY_OVERHEAD) &&
	       (it = delivery_next(q, rq->client, lease_ms))) {   /* out of memory: what it took so far */
		pack_delivery(pk, it);
		took++;
	}
	reply_array_shrink(&rq->reply, at, (uint32_t)want, (uint32_t)took);
	reply_end(&rq->reply);
	if (took < want) {
		msgpack_object args[4] = { rq->args[0], { .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = took },
		                           { .type = MSGPACK_OBJECT_NIL }, { .type = MSGPACK_OBJECT_NIL } };
		uint32_t nargs = 2;
		if (lease) {
			args[3] = *lease;
			nargs = 4;
		}
		request_log_as(rq, args, nargs);
	}
	queue_wake(q);
}

/* queue.ack NAME ID -> nil | NOTPENDING */
void handle_QUEUE_ACK(struct request *rq)
{
	struct queue *q = &rq->obj->u.queue;
	struct omap_entry *e = delivery_find_or_reply(rq);
	if (!e)
		return;
	qitem_free(delivery_take(q, e));
	delivery_arm(q);
	q->total_acked++;
	reply_nil(&rq->reply);
	queue_tasks_done(q, 1);
}

/* queue.nack NAME ID [DELAY] -> nil | NOTPENDING */
void handle_QUEUE_NACK(struct request *rq)
{
	struct queue *q = &rq->obj->u.queue;
	int64_t delay_ms = delivery_ms_arg(request_arg(rq, 2), 0);
	if (delay_ms < 0) {
		reply_error(&rq->reply, IPCD_EBADARG, "delay must be a number of seconds from 0 to %u", PROTO_MAX_SECONDS);
		return;
	}
	struct omap_entry *e = delivery_find_or_reply(rq);
	if (!e)
		return;
	struct qitem *it = delivery_take(q, e);
	delivery_arm(q);
	q->total_nacked++;
	reply_nil(&rq->reply);
	queue_return(q, it, (uint64_t)delay_ms);
}

/* queue.touch NAME ID [LEASE] -> seconds of lease left | nil (no lease) | NOTPENDING */
void handle_QUEUE_TOUCH(struct request *rq)
{
	struct queue *q = &rq->obj->u.queue;
	const msgpack_object *lease = request_arg(rq, 2);
	int64_t lease_ms = delivery_ms_arg(lease, 0);
	if (lease && lease_ms <= 0) {
		reply_error(&rq->reply, IPCD_EBADARG, "lease must be a number of seconds > 0, at most %u", PROTO_MAX_SECONDS);
		return;
	}
	struct omap_entry *e = delivery_find_or_reply(rq);
	if (!e)
		return;
	struct qitem *it = e->val;
	if (lease_ms > 0)
		it->lease_ms = (uint64_t)lease_ms;
	if (!it->lease_ms) {
		reply_nil(&rq->reply);
		return;
	}
	it->due_ms = clock_mono_ms_up() + it->lease_ms;
	if (it->pos != HEAP_NONE) {
		heap_fix(&q->ext->leases, it->pos);
	} else if (heap_push(&q->ext->leases, it) < 0) {
		reply_nomem(&rq->reply);
		return;
	}
	delivery_arm(q);
	msgpack_pack_double(reply_ok(&rq->reply), (double)it->lease_ms / 1000.0);
	reply_end(&rq->reply);
}

/* queue.pending NAME -> [{id, pid, connected, lease, deliveries}, ...] in delivery order */
void handle_QUEUE_PENDING(struct request *rq)
{
	const struct queue *q = &rq->obj->u.queue;
	msgpack_packer *pk = reply_ok(&rq->reply);
	uint64_t now = clock_mono_ms();
	msgpack_pack_array(pk, (uint32_t)delivery_count(q));
	for (const struct omap_entry *e = q->ext ? omap_seek(&q->ext->pending, 0) : NULL; e;
	     e = omap_next(&q->ext->pending, e)) {
		const struct qitem *it = e->val;
		msgpack_pack_map(pk, 5);
		pack_key_uint(pk, "id", it->id);
		pack_key_int(pk, "pid", it->pid);
		pack_key_bool(pk, "connected", it->consumer != NULL);
		pack_cstr(pk, "lease");
		if (it->pos != HEAP_NONE) {
			/* left, never more than the lease (its deadline is rounded up) */
			uint64_t left = it->due_ms > now ? it->due_ms - now : 0;
			left = it->lease_ms && left > it->lease_ms ? it->lease_ms : left;
			msgpack_pack_double(pk, (double)left / 1000.0);
		}
		else
			msgpack_pack_nil(pk);
		pack_key_uint(pk, "deliveries", it->deliveries);
	}
	reply_end(&rq->reply);
}
