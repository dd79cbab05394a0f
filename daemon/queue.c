/*
 * queue.c: FIFO queues, optionally bounded, with blocking put and get.
 *
 * Data: a deque of stored values. Parked getters and putters wait in FIFO
 * order on the queue's two wait queues; queue_settle() runs after every
 * change and moves items between them until neither side can progress, so
 * an item put while a getter waits goes straight to that getter, and room
 * made by a get goes to the oldest waiting putter.
 *
 * put_many is all or nothing: it waits until every item fits, and a waiting
 * putter keeps its place, so later puts (even small ones) queue behind it.
 */
#include <stdlib.h>
#include <string.h>
#include "dispatch.h"
#include "registry.h"
#include "value.h"

/* ---- data structure ---------------------------------------------------- */

/* Free slots; SIZE_MAX when unbounded. */
static size_t queue_room(const struct queue *q)
{
	if (!q->maxsize)
		return SIZE_MAX;
	return deque_len(&q->items) >= q->maxsize ? 0 : q->maxsize - deque_len(&q->items);
}

/* Append n values (room and memory already checked). 0, or -1 on ENOMEM
 * with nothing appended. */
static int queue_push(struct queue *q, struct value **vals, uint32_t n)
{
	if (deque_reserve(&q->items, n) < 0)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		deque_push_back(&q->items, vals[i]);
	q->total_put += n;
	return 0;
}

/* Pack and free up to max items from the front, as an array if as_array. */
static void queue_pop_into(struct queue *q, struct reply *r, uint64_t max, int as_array)
{
	msgpack_packer *pk = reply_ok(r);
	uint64_t n = deque_len(&q->items) < max ? deque_len(&q->items) : max;
	if (as_array)
		msgpack_pack_array(pk, (uint32_t)n);
	for (uint64_t i = 0; i < n; i++) {
		struct value *v = deque_pop_front(&q->items);
		pack_value(pk, v);
		value_free(v);
	}
	q->total_got += n;
	reply_end(r);
}

/* Match waiting putters with room and waiting getters with items until
 * neither can progress. */
static void queue_settle(struct queue *q)
{
	for (;;) {
		struct waiter *w = waitq_first(&q->putters);
		if (w && queue_room(q) >= w->n_values) {
			struct reply r;
			reply_init(&r, w->client, w->id);
			if (queue_push(q, w->values, w->n_values) < 0) {
				waiter_fail(w, IPCD_E_NOMEM, "out of memory");
				continue;
			}
			w->n_values = 0; /* now owned by the queue */
			reply_uint(&r, deque_len(&q->items));
			waiter_done(w);
			continue;
		}
		w = waitq_first(&q->getters);
		if (w && deque_len(&q->items) > 0) {
			struct reply r;
			reply_init(&r, w->client, w->id);
			if (w->op == IPCD_OP_QUEUE_GET_MANY)
				queue_pop_into(q, &r, w->count, 1);
			else
				queue_pop_into(q, &r, 1, 0);
			waiter_done(w);
			continue;
		}
		return;
	}
}

/* ---- type operations --------------------------------------------------- */

static int queue_parse_options(const msgpack_object *opts, uint64_t *maxsize, const char **why)
{
	*maxsize = 0;
	for (uint32_t i = 0; opts && i < opts->via.map.size; i++) {
		const msgpack_object *k = &opts->via.map.ptr[i].key, *v = &opts->via.map.ptr[i].val;
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == 7 && memcmp(k->via.str.ptr, "maxsize", 7) == 0) {
			if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
				*why = "queue option maxsize must be an integer >= 0";
				return IPCD_E_BADARG;
			}
			*maxsize = v->via.u64;
		} else {
			*why = "unknown queue option (queues take: maxsize)";
			return IPCD_E_BADARG;
		}
	}
	return 0;
}

static int queue_init(struct object *o, const msgpack_object *opts, const char **why)
{
	struct queue *q = &o->u.queue;
	memset(q, 0, sizeof(*q));
	deque_init(&q->items);
	waitq_init(&q->getters);
	waitq_init(&q->putters);
	return queue_parse_options(opts, &q->maxsize, why);
}

static int queue_same_options(const struct object *o, const msgpack_object *opts)
{
	uint64_t maxsize;
	const char *why;
	return queue_parse_options(opts, &maxsize, &why) == 0 && maxsize == o->u.queue.maxsize;
}

/* Free every item. */
static void queue_free_items(struct queue *q)
{
	struct value *v;
	while ((v = deque_pop_front(&q->items)))
		value_free(v);
}

static void queue_deinit(struct object *o)
{
	queue_free_items(&o->u.queue);
	deque_free(&o->u.queue.items);
}

static uint64_t queue_size(const struct object *o)
{
	return deque_len(&o->u.queue.items);
}

static void queue_dump(const struct object *o, msgpack_packer *pk)
{
	const struct deque *d = &o->u.queue.items;
	msgpack_pack_array(pk, (uint32_t)deque_len(d));
	for (size_t i = 0; i < deque_len(d); i++)
		pack_value(pk, deque_at(d, i));
}

static void queue_pack_options(const struct object *o, msgpack_packer *pk)
{
	msgpack_pack_map(pk, 1);
	pack_cstr(pk, "maxsize");
	msgpack_pack_uint64(pk, o->u.queue.maxsize);
}

static void queue_cancel_waiters(struct object *o)
{
	waitq_fail_all(&o->u.queue.getters, IPCD_E_DELETED, "queue deleted while waiting");
	waitq_fail_all(&o->u.queue.putters, IPCD_E_DELETED, "queue deleted while waiting");
}

static uint32_t queue_waiting(const struct object *o)
{
	return o->u.queue.getters.count + o->u.queue.putters.count;
}

const struct object_type queue_type = {
	.init = queue_init,
	.same_options = queue_same_options,
	.deinit = queue_deinit,
	.size = queue_size,
	.dump = queue_dump,
	.pack_options = queue_pack_options,
	.cancel_waiters = queue_cancel_waiters,
	.waiting = queue_waiting,
};

/* ---- ops ---------------------------------------------------------------- */

/* Free n values. */
static void values_free(struct value **vals, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		value_free(vals[i]);
}

/* Add the n values (owned) now if they fit and nobody waits ahead, else park
 * with a heap copy of the array. */
static void queue_put_values(struct request *rq, struct value **vals, uint32_t n, const msgpack_object *timeout)
{
	struct queue *q = &rq->obj->u.queue;
	if (q->maxsize && n > q->maxsize) {
		reply_error(&rq->reply, IPCD_E_FULL, "%u items can never fit a queue of maxsize %llu", n,
		            (unsigned long long)q->maxsize);
		values_free(vals, n);
		return;
	}
	if (!waitq_first(&q->putters) && queue_room(q) >= n) {
		if (queue_push(q, vals, n) < 0) {
			reply_error(&rq->reply, IPCD_E_NOMEM, "out of memory");
			values_free(vals, n);
			return;
		}
		queue_settle(q);
		reply_uint(&rq->reply, deque_len(&q->items));
		return;
	}
	struct value **held = malloc(n * sizeof(*held));
	if (!held) {
		reply_error(&rq->reply, IPCD_E_NOMEM, "out of memory");
		values_free(vals, n);
		return;
	}
	struct waiter *w = request_park(rq, &q->putters, timeout, IPCD_E_FULL, "queue is full");
	if (!w) {
		values_free(vals, n);
		free(held);
		return;
	}
	memcpy(held, vals, n * sizeof(*held));
	w->values = held;
	w->n_values = n;
}

/* queue.put NAME VALUE [TIMEOUT] -> size | FULL | TIMEOUT */
void handle_QUEUE_PUT(struct request *rq)
{
	struct value *v = request_value_or_reply(rq, &rq->args[1]);
	if (v)
		queue_put_values(rq, &v, 1, request_arg(rq, 2));
}

/* queue.put_many NAME VALUES [TIMEOUT] -> size | FULL | TIMEOUT */
void handle_QUEUE_PUT_MANY(struct request *rq)
{
	const msgpack_object_array *a = &rq->args[1].via.array;
	struct value **vals = malloc((a->size ? a->size : 1) * sizeof(*vals));
	if (!vals) {
		reply_error(&rq->reply, IPCD_E_NOMEM, "out of memory");
		return;
	}
	for (uint32_t i = 0; i < a->size; i++) {
		if (!(vals[i] = request_value_or_reply(rq, &a->ptr[i]))) {
			values_free(vals, i);
			free(vals);
			return;
		}
	}
	queue_put_values(rq, vals, a->size, request_arg(rq, 2));
	free(vals);
}

/* queue.get NAME [TIMEOUT] -> value | EMPTY | TIMEOUT */
void handle_QUEUE_GET(struct request *rq)
{
	struct queue *q = &rq->obj->u.queue;
	if (deque_len(&q->items) > 0) {
		queue_pop_into(q, &rq->reply, 1, 0);
		queue_settle(q);
		return;
	}
	request_park(rq, &q->getters, request_arg(rq, 1), IPCD_E_EMPTY, "queue is empty");
}

/* queue.get_many NAME COUNT [TIMEOUT] -> [value, ...] (1..COUNT) | EMPTY | TIMEOUT */
void handle_QUEUE_GET_MANY(struct request *rq)
{
	struct queue *q = &rq->obj->u.queue;
	uint64_t count = rq->args[1].via.u64;
	if (count == 0) {
		reply_error(&rq->reply, IPCD_E_BADARG, "count must be at least 1");
		return;
	}
	if (deque_len(&q->items) > 0) {
		queue_pop_into(q, &rq->reply, count, 1);
		queue_settle(q);
		return;
	}
	struct waiter *w = request_park(rq, &q->getters, request_arg(rq, 2), IPCD_E_EMPTY, "queue is empty");
	if (w)
		w->count = count;
}

/* queue.qsize NAME -> int */
void handle_QUEUE_QSIZE(struct request *rq)
{
	reply_uint(&rq->reply, deque_len(&rq->obj->u.queue.items));
}

/* queue.clear NAME -> number of items removed */
void handle_QUEUE_CLEAR(struct request *rq)
{
	struct queue *q = &rq->obj->u.queue;
	size_t n = deque_len(&q->items);
	queue_free_items(q);
	deque_clear(&q->items);
	queue_settle(q);
	reply_uint(&rq->reply, n);
}
