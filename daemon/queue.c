/*
 * queue.c: FIFO queues, optionally bounded, with blocking put and get,
 * priorities and delays, and Python's JoinableQueue task counting. The
 * acknowledged gets (pending deliveries, leases) are in delivery.c; the
 * layout both share is in queue.h.
 *
 * Data: ready items of priority 0 in the store (queue_store.h), in FIFO
 * order; items of another priority in a heap (lower first, FIFO within a
 * priority); delayed items in a heap by due time, moved to the ready ones by
 * one libevent timer. A put with neither priority nor delay appends a bare
 * value to the store, or copies a small one from the request straight into
 * the packed run at its tail, and costs no more than a plain FIFO. Parked
 * getters and putters wait in FIFO
 * order on the queue's wait queues; every change ends with queue_wake(),
 * which retries them until neither side can progress, so an item put while
 * a getter waits goes straight to that getter, and room made by a get goes
 * to the oldest waiting putter.
 *
 * put_many is all or nothing: it waits until every item fits, and a waiting
 * putter keeps its place, so later puts (even small ones) queue behind it.
 *
 * Tasks: every put adds one unfinished task, task_done and ack remove them;
 * a dead-lettered item and an item removed by clear count as done. Joiners
 * wait until none are left, and all wake at once.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/event.h>
#include "queue.h"
#include "access.h"
#include "clock.h"
#include "config.h"
#include "dispatch.h"
#include "log.h"
#include "registry.h"
#include "state.h"
#include "timer.h"
#include "value.h"
#include "decode.h"
#include "wire.h"

/* ---- items -------------------------------------------------------------- */

static struct qitem *qitem_new(struct queue *q, struct value *v, uint64_t put_ms)
{
	struct qitem *it = calloc(1, sizeof(*it));
	if (it) {
		value_mem_add(value_alloc_cost(sizeof(*it)));   /* counted, never refused: the item is stored already */
		it->q = q;
		it->v = v;
		it->put_ms = put_ms;
		it->pos = HEAP_NONE;
	}
	return it;
}

void qitem_free(struct qitem *it)
{
	if (it) {
		value_free(it->v);
		value_mem_sub(value_alloc_cost(sizeof(*it)));
		free(it);
	}
}

/* ---- the extension: priorities, delays, deliveries ---------------------- */

static int ready_less(const void *a, const void *b)
{
	const struct qitem *x = a, *y = b;
	return x->priority != y->priority ? x->priority < y->priority : x->seq < y->seq;
}

static int delayed_less(const void *a, const void *b)
{
	const struct qitem *x = a, *y = b;
	return x->due_ms != y->due_ms ? x->due_ms < y->due_ms : x->seq < y->seq;
}

static int lease_less(const void *a, const void *b)
{
	const struct qitem *x = a, *y = b;
	return x->due_ms != y->due_ms ? x->due_ms < y->due_ms : x->id < y->id;
}

static void qitem_moved(void *p, size_t pos)
{
	((struct qitem *)p)->pos = pos;
}

static void queue_on_delay_due(evutil_socket_t fd, short what, void *arg);

struct queue_ext *queue_ext(struct queue *q)
{
	if (q->ext)
		return q->ext;
	struct queue_ext *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	heap_init(&x->ready, ready_less, qitem_moved);
	heap_init(&x->delayed, delayed_less, qitem_moved);
	heap_init(&x->leases, lease_less, qitem_moved);
	omap_init(&x->pending);
	event_assign(&x->delay_timer, server_base, -1, 0, queue_on_delay_due, q);
	event_assign(&x->lease_timer, server_base, -1, 0, delivery_on_lease_end, q);
	q->ext = x;
	return x;
}

static size_t queue_delayed(const struct queue *q)
{
	return q->ext ? heap_len(&q->ext->delayed) : 0;
}

size_t queue_ready(const struct queue *q)
{
	return qstore_len(&q->items) + (q->ext ? heap_len(&q->ext->ready) : 0);
}

/* Items in the queue (ready or delayed): what qsize tells and maxsize bounds. */
static size_t queue_count(const struct queue *q)
{
	return queue_ready(q) + queue_delayed(q);
}

/* Free slots; SIZE_MAX when unbounded. Returned and dead-lettered items are
 * taken past maxsize (they were stored once already): puts then wait until
 * the queue is back under it. */
static size_t queue_room(const struct queue *q)
{
	if (!q->maxsize)
		return SIZE_MAX;
	return queue_count(q) >= q->maxsize ? 0 : q->maxsize - queue_count(q);
}

/* True if the next ready item is the priority heap's top rather than the
 * deque's front: its priority is below 0, or the deque is empty. */
static int queue_next_in_heap(const struct queue *q)
{
	const struct qitem *top = q->ext ? heap_top(&q->ext->ready) : NULL;
	return top && (top->priority < 0 || qstore_len(&q->items) == 0);
}

struct qitem *queue_take_item(struct queue *q)
{
	if (queue_next_in_heap(q))
		return heap_pop(&q->ext->ready);
	struct qstore_entry e;
	qstore_front(&q->items, &e);
	if (e.item) {
		qstore_pop_front(&q->items);
		return e.item;
	}
	struct value *v = e.value;
	if (!v) {   /* packed: it becomes a value of its own */
		char whole[QSTORE_PACK_MAX];
		memcpy(whole, e.hdr, e.hlen);
		memcpy(whole + e.hlen, e.body, e.blen);
		if (value_new_raw(whole, e.hlen + e.blen, &v))
			return NULL;
	}
	struct qitem *it = qitem_new(q, v, e.put_ms);
	if (!it) {
		if (v != e.value)
			value_free(v);
		return NULL;
	}
	qstore_pop_front(&q->items);
	return it;
}

/* Make room to place n items of priority prio (ready) without failing. */
static int queue_reserve_ready(struct queue *q, int64_t prio, size_t n)
{
	return prio ? heap_reserve(&q->ext->ready, n) : qstore_reserve(&q->items, n);
}

/* Place it among the ready items, at the head or the tail of its priority
 * (room reserved, or -1 on ENOMEM). */
static int queue_place(struct queue *q, struct qitem *it, int at_head)
{
	if (it->priority) {
		it->seq = at_head ? --q->ext->seq_head : ++q->ext->seq_tail;
		return heap_push(&q->ext->ready, it);
	}
	return qstore_push_item(&q->items, it, at_head);
}

/* Set the delay timer for the earliest delayed item, if any. */
static void queue_arm_delay(struct queue *q)
{
	struct queue_ext *x = q->ext;
	const struct qitem *top = heap_top(&x->delayed);
	event_del(&x->delay_timer);
	if (top)
		timer_at(&x->delay_timer, top->due_ms);
}

/* Delay it (not in any structure) until now + delay_ms; 0 or -1 on ENOMEM. */
static int queue_delay(struct queue *q, struct qitem *it, uint64_t delay_ms, int to_head)
{
	it->due_ms = clock_mono_ms_up() + delay_ms;
	it->seq = ++q->ext->seq_tail;
	it->to_head = to_head != 0;
	if (heap_push(&q->ext->delayed, it) < 0)
		return -1;
	if (heap_top(&q->ext->delayed) == it)
		queue_arm_delay(q);
	return 0;
}

/* Timer: delayed items that are due become ready, each at the tail of its
 * priority (or at the head, for a nack with a delay), in due order. */
/* Move the n earliest delayed items to the ready ones (see below). */
static void queue_delay_end(struct queue *q, size_t n)
{
	struct queue_ext *x = q->ext;
	struct qitem *it;
	while (n-- > 0 && (it = heap_top(&x->delayed))) {
		int to_head = it->to_head;
		heap_pop(&x->delayed);
		it->to_head = 0;
		if (queue_place(q, it, to_head) < 0) {
			log_warn("queue '%s': out of memory: a delayed item was lost", q->obj->name);
			qitem_free(it);
			queue_tasks_done(q, 1);
		}
	}
	queue_arm_delay(q);
	queue_wake(q);
}

/* Entries of heap h due by now (it is not sorted: look at all of them). */
size_t queue_heap_due(const struct heap *h, uint64_t now)
{
	size_t n = 0;
	for (size_t i = 0; i < heap_len(h); i++)
		n += ((const struct qitem *)h->slots[i])->due_ms <= now;
	return n;
}

/* Timer: the delayed items that are due. The log records how many, not
 * the time: replayed, the same number of the earliest ones move, whatever
 * the clocks make of the time. */
static void queue_on_delay_due(evutil_socket_t fd, short what, void *arg)
{
	struct queue *q = arg;
	size_t n = queue_heap_due(&q->ext->delayed, clock_mono_ms());
	state_timer(STATE_TIMER_DELAY, q->obj, n);
	queue_delay_end(q, n);
}

/* ---- tasks, returns, dead letters ---------------------------------------- */

void queue_tasks_done(struct queue *q, uint64_t n)
{
	q->unfinished = n < q->unfinished ? q->unfinished - n : 0;
	if (!q->unfinished)
		waitq_serve(&q->joiners);
}

/* Append n plain values (room and memory already checked), put at now. 0,
 * or -1 on ENOMEM with nothing appended (the values still the caller's). */
static int queue_push_at(struct queue *q, struct value **vals, uint32_t n, uint64_t now)
{
	if (qstore_push_values(&q->items, vals, n, now) < 0)
		return -1;
	q->total_put += n;
	q->unfinished += n;
	return 0;
}

static int queue_push(struct queue *q, struct value **vals, uint32_t n)
{
	return queue_push_at(q, vals, n, clock_mono_ms());
}

/* The dead-letter queue's name: the dead_letter option, else NAME.dead
 * (allocated: free it when it is not q->dead_letter). NULL on ENOMEM. */
static char *queue_dead_name(const struct queue *q)
{
	char *name;
	if (q->dead_letter)
		return q->dead_letter;
	return asprintf(&name, "%s.dead", q->obj->name) < 0 ? NULL : name;
}

/* it used up its deliveries: its value moves to the dead-letter queue as a
 * new item (made if missing; past any maxsize), and its task here is done.
 * If that queue cannot take it (the name now holds another type, or memory
 * ran out) the item is not dropped: -1, and it stays in q, counted.
 *
 * A name that only waiting requests keep (provisional) holds nothing the
 * log has, so a replay finds it free: it is taken as free here too. Of
 * another type, it is deleted (its waiters get DELETED) and the queue made
 * in its place; a queue becomes the dead-letter queue as made for q. */
static int queue_dead_letter(struct queue *q, struct qitem *it)
{
	char *name = queue_dead_name(q);
	const char *why = "";
	struct object *o = name ? registry_find(name, strlen(name)) : NULL;
	int err = 0;
	if (o && o->provisional && o->type != PROTO_T_QUEUE) {
		registry_delete(o);
		o = NULL;
	} else if (o && o->provisional) {
		o->provisional = 0;
		object_set_access(o, q->obj->owner, q->obj->group, q->obj->mode);
	}
	if (!name)
		err = IPCD_ENOMEM, why = "out of memory";
	else if (!o && !(err = registry_create(name, strlen(name), PROTO_T_QUEUE, NULL, &o, &why)))
		object_set_access(o, q->obj->owner, q->obj->group, q->obj->mode); /* the same readers as its source */
	else if (o && o->type != PROTO_T_QUEUE)
		err = IPCD_EWRONGTYPE, why = "the name holds another type";
	else if (o && !access_owner_may_write(q->obj, o))
		err = IPCD_EPERMISSION, why = "the queue's owner may not write it";
	if (!err && queue_push(&o->u.queue, &it->v, 1) < 0)
		err = IPCD_ENOMEM, why = "out of memory";
	if (err) {
		log_warn("queue '%s': an item delivered %u times could not go to dead-letter queue '%s' (%s): kept here",
		         q->obj->name, it->deliveries, name ? name : "?", why);
		q->dead_letter_failed++;
	} else {
		it->v = NULL;   /* now the dead-letter queue's */
		queue_wake(&o->u.queue);
	}
	if (name != q->dead_letter)
		free(name);
	if (err)
		return -1;
	q->total_dead++;
	qitem_free(it);
	queue_tasks_done(q, 1);
	return 0;
}

void queue_return(struct queue *q, struct qitem *it, uint64_t delay_ms)
{
	if (q->max_deliveries && it->deliveries >= q->max_deliveries && queue_dead_letter(q, it) == 0)
		return;
	int failed = delay_ms ? queue_delay(q, it, delay_ms, 1) : queue_place(q, it, 1);
	if (failed) {
		log_warn("queue '%s': out of memory: a returned item was lost", q->obj->name);
		qitem_free(it);
		queue_tasks_done(q, 1);
	}
	queue_wake(q);
}

/* ---- put and get --------------------------------------------------------- */

/* How a put places its items. */
struct put_opts {
	int64_t priority;
	uint64_t delay_ms;
	uint32_t deliveries;       /* restoring a backup: times already delivered */
};

/* A put option's parse state: what it read, and why it refused. */
struct put_opts_ctx {
	struct put_opts *po;
	const char **why;
};

static const char *const put_option_keys[] = { "priority", "delay", "deliveries", NULL };

static int queue_put_option(void *ctx, unsigned i, const msgpack_object *v)
{
	struct put_opts_ctx *pc = ctx;
	if (i == 0) {
		if (wire_obj_int(v, &pc->po->priority)) {
			*pc->why = "put option priority must be a 64-bit integer (lower first)";
			return IPCD_EBADARG;
		}
	} else if (i == 2) {
		uint64_t n;
		if (wire_obj_uint(v, &n) || n > UINT32_MAX) {
			*pc->why = "put option deliveries must be an integer from 0 to 4294967295";
			return IPCD_EBADARG;
		}
		pc->po->deliveries = (uint32_t)n;
	} else {
		int64_t ms = proto_duration_ms(v);
		if (ms < 0) {
			*pc->why = "put option delay must be a number of seconds from 0 to " PROTO_MAX_SECONDS_STR;
			return IPCD_EBADARG;
		}
		pc->po->delay_ms = (uint64_t)ms;
	}
	return 0;
}

/* Parse a put's OPTIONS map (may be NULL). 0 or IPCD_EBADARG with *why. */
static int queue_parse_put_options(const msgpack_object *opts, struct put_opts *po, const char **why)
{
	struct put_opts_ctx pc = { po, why };
	const msgpack_object *unknown;
	po->priority = 0;
	po->delay_ms = 0;
	po->deliveries = 0;
	int rc = wire_options(opts, put_option_keys, queue_put_option, &pc, &unknown);
	if (rc == WIRE_EUNKNOWN)
		*why = "unknown put option (puts take: priority, delay, deliveries)";
	else if (rc == WIRE_ETYPE)
		*why = "put options are a map";
	return rc < 0 ? IPCD_EBADARG : rc;
}

/* Add n values (room checked) the way po says; values owned by the queue on
 * success. 0, or -1 on ENOMEM with nothing added and the values still the
 * caller's. */
static int queue_add(struct queue *q, struct value **vals, uint32_t n, const struct put_opts *po)
{
	if (!po->priority && !po->delay_ms && !po->deliveries)
		return queue_push(q, vals, n);
	struct qitem **its = calloc(n ? n : 1, sizeof(*its));
	struct heap *h = !queue_ext(q) ? NULL : po->delay_ms ? &q->ext->delayed : po->priority ? &q->ext->ready : NULL;
	/* The items and the new room of a heap or the store's slots are counted
	 * as they are made: refuse a write that would take the count past
	 * max_memory before it starts. */
	size_t grows = n * value_alloc_cost(sizeof(struct qitem)) +
	               (h ? heap_growth(h, n) * sizeof(void *) : qstore_reserve_growth(&q->items, n));
	int ok = its && q->ext && value_mem_fits(grows) &&
	         (h ? heap_reserve(h, n) == 0 : queue_reserve_ready(q, 0, n) == 0);
	uint64_t now = clock_mono_ms();
	for (uint32_t i = 0; ok && i < n; i++)
		ok = (its[i] = qitem_new(q, vals[i], now)) != NULL;
	if (!ok) {
		for (uint32_t i = 0; its && i < n; i++)
			if (its[i]) {
				its[i]->v = NULL;   /* the values stay the caller's */
				qitem_free(its[i]);
			}
		free(its);
		return -1;
	}
	for (uint32_t i = 0; i < n; i++) {
		its[i]->priority = po->priority;
		its[i]->deliveries = po->deliveries;
		if (po->delay_ms)
			queue_delay(q, its[i], po->delay_ms, 0);
		else
			queue_place(q, its[i], 0);
	}
	free(its);
	q->total_put += n;
	q->unfinished += n;
	return 0;
}

int queue_reply_has_room(const struct reply *r, size_t len)
{
	return state_replaying || reply_size(r) + len <= config.max_output;
}

size_t queue_next_len(const struct queue *q)
{
	if (queue_next_in_heap(q))
		return ((const struct qitem *)heap_top(&q->ext->ready))->v->len;
	struct qstore_entry e;
	qstore_front(&q->items, &e);
	return e.item ? e.item->v->len : e.value ? e.value->len : (size_t)e.hlen + e.blen;
}

/*
 * Pack and free up to max ready items, as an array if as_array; returns
 * how many. An array stops short of max rather than grow past max_output:
 * a reply over it would be refused as TOOBIG and its items lost, so the
 * items it cannot carry stay in the queue. The first always fits
 * (max_output holds a frame, and a frame holds any value).
 */
static uint64_t queue_pop_into(struct queue *q, struct reply *r, uint64_t max, int as_array)
{
	msgpack_packer *pk = reply_ok(r);
	uint64_t n = queue_ready(q) < max ? queue_ready(q) : max, i;
	if (n > UINT32_MAX)
		n = UINT32_MAX;
	size_t at = as_array ? reply_array_begin(r, (uint32_t)n) : 0;
	/* What the array may still take: max_output less the reply so far */
	size_t room = !as_array || state_replaying ? SIZE_MAX
	              : reply_size(r) < config.max_output ? config.max_output - reply_size(r) : 0;
	for (i = 0; i < n; i++) {
		if (queue_next_in_heap(q)) {
			struct qitem *it = heap_top(&q->ext->ready);
			if (i && it->v->len > room)
				break;
			room = it->v->len < room ? room - it->v->len : 0;
			heap_pop(&q->ext->ready);
			pack_value(pk, it->v);
			if (it->deliveries)
				q->total_redelivered++;
			qitem_free(it);
			continue;
		}
		uint32_t got = qstore_pop_packed(&q->items, pk, (uint32_t)(n - i), &room, i == 0);
		if (got) {
			i += got - 1;   /* the loop counts the last */
			continue;
		}
		long len = qstore_pop_value(&q->items, pk, i ? room : SIZE_MAX);   /* the first always fits */
		if (len > 0) {
			room = (size_t)len < room ? room - (size_t)len : 0;
			continue;
		}
		if (len == 0)
			break;
		struct qstore_entry e;   /* an item */
		qstore_front(&q->items, &e);
		if (i && e.item->v->len > room)
			break;
		room = e.item->v->len < room ? room - e.item->v->len : 0;
		qstore_pack_entry(&e, e.item->v, pk);
		qstore_pop_front(&q->items);
		if (e.item->deliveries)
			q->total_redelivered++;
		qitem_free(e.item);
	}
	if (as_array)
		reply_array_shrink(r, at, (uint32_t)n, (uint32_t)i);
	q->total_got += i;
	reply_end(r);
	return i;
}

void queue_wake(struct queue *q)
{
	waitq_serve(&q->putters);
	waitq_serve(&q->getters);
	/* Also after changes no request on q made (a lease end, a dead letter);
	 * a write request on q counts at its end. */
	if (q->obj != dispatch_counts_spare_after())
		registry_count_spare(q->obj);
}

/* ---- type operations --------------------------------------------------- */

/* A queue's create options. */
struct queue_opts {
	uint64_t maxsize, lease_ms, max_deliveries;
	const char *dead_letter;   /* NULL = NAME.dead; points into the request */
	size_t dead_len;
};

/* A create option's parse state. */
struct queue_opts_ctx {
	struct queue_opts *qo;
	const char **why;
};

static const char *const queue_option_keys[] = { "maxsize", "lease", "max_deliveries", "dead_letter", NULL };

static int queue_option(void *ctx, unsigned i, const msgpack_object *v)
{
	struct queue_opts_ctx *qc = ctx;
	struct queue_opts *qo = qc->qo;
	switch (i) {
	case 0:
		if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
			*qc->why = "queue option maxsize must be an integer >= 0";
			return IPCD_EBADARG;
		}
		qo->maxsize = v->via.u64;
		break;
	case 1: {
		int64_t ms = proto_duration_ms(v);
		if (ms < 0) {
			*qc->why = "queue option lease must be a number of seconds from 0 (none) to " PROTO_MAX_SECONDS_STR;
			return IPCD_EBADARG;
		}
		qo->lease_ms = (uint64_t)ms;
		break;
	}
	case 2:
		if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 > UINT32_MAX) {
			*qc->why = "queue option max_deliveries must be an integer >= 0 (0 = no limit)";
			return IPCD_EBADARG;
		}
		qo->max_deliveries = v->via.u64;
		break;
	default:
		if (v->type != MSGPACK_OBJECT_STR || v->via.str.size == 0 || v->via.str.size > config.max_name ||
		    memchr(v->via.str.ptr, 0, v->via.str.size)) {
			*qc->why = "queue option dead_letter must be a queue name";
			return IPCD_EBADARG;
		}
		qo->dead_letter = v->via.str.ptr;
		qo->dead_len = v->via.str.size;
	}
	return 0;
}

static int queue_parse_options(const msgpack_object *opts, struct queue_opts *qo, const char **why)
{
	struct queue_opts_ctx qc = { qo, why };
	const msgpack_object *unknown;
	memset(qo, 0, sizeof(*qo));
	qo->maxsize = config.queue_maxsize; /* without the option: the configured default */
	int rc = wire_options(opts, queue_option_keys, queue_option, &qc, &unknown);
	if (rc == WIRE_EUNKNOWN)
		*why = "unknown queue option (queues take: maxsize, lease, max_deliveries, dead_letter)";
	else if (rc == WIRE_ETYPE)
		*why = "queue options are a map";
	return rc < 0 ? IPCD_EBADARG : rc;
}

/* A queue's dead letters must have somewhere to go: refuse a dead_letter
 * (or NAME.dead) that is the queue itself or holds another type. Not while
 * the state is rebuilt: what a name holds then is not yet what it held. */
static int queue_check_dead_letter(struct queue *q, const char **why)
{
	static char msg[160];
	char *name = queue_dead_name(q);
	if (!name) {
		*why = "out of memory";
		return IPCD_ENOMEM;
	}
	struct object *t = registry_find(name, strlen(name));
	int err = 0;
	if (strcmp(name, q->obj->name) == 0) {
		*why = "queue option dead_letter names the queue itself";
		err = IPCD_EBADARG;
	} else if (t && t->type != PROTO_T_QUEUE) {
		snprintf(msg, sizeof(msg), "dead-letter queue '%.80s' exists as a %s", name,
		         proto_type_name(t->type));
		*why = msg;
		err = IPCD_EWRONGTYPE;
	}
	if (name != q->dead_letter)
		free(name);
	return err;
}

static int queue_init(struct object *o, const msgpack_object *opts, const char **why)
{
	struct queue *q = &o->u.queue;
	struct queue_opts qo;
	memset(q, 0, sizeof(*q));
	waitq_init(&q->getters);
	waitq_init(&q->putters);
	waitq_init(&q->joiners);
	q->obj = o;
	int err = queue_parse_options(opts, &qo, why);
	if (err)
		return err;
	q->maxsize = qo.maxsize;
	q->lease_ms = qo.lease_ms;
	q->max_deliveries = qo.max_deliveries;
	/* A dead-letter queue must be a name clients can reach. */
	if (qo.max_deliveries && !qo.dead_letter && o->name_len + sizeof(".dead") - 1 > config.max_name) {
		*why = "the dead-letter queue NAME.dead would be longer than max_name: give the dead_letter option";
		return IPCD_EBADARG;
	}
	if (qo.dead_letter && !(q->dead_letter = strndup(qo.dead_letter, qo.dead_len))) {
		*why = "out of memory";
		return IPCD_ENOMEM;
	}
	err = !state_replaying && (qo.max_deliveries || qo.dead_letter) ? queue_check_dead_letter(q, why) : 0;
	if (err) {   /* registry_create does not deinit a queue it could not init */
		free(q->dead_letter);
		q->dead_letter = NULL;
	}
	return err;
}

static int queue_same_options(const struct object *o, const msgpack_object *opts)
{
	const struct queue *q = &o->u.queue;
	struct queue_opts qo;
	const char *why;
	if (queue_parse_options(opts, &qo, &why))
		return 0;
	int same_dead = qo.dead_letter ? q->dead_letter && strlen(q->dead_letter) == qo.dead_len &&
	                                         memcmp(q->dead_letter, qo.dead_letter, qo.dead_len) == 0
	                               : !q->dead_letter;
	return qo.maxsize == q->maxsize && qo.lease_ms == q->lease_ms && qo.max_deliveries == q->max_deliveries &&
	       same_dead;
}

/* Free every ready and delayed item; returns how many. */
static size_t queue_free_items(struct queue *q)
{
	size_t n = queue_count(q);
	qstore_clear(&q->items, qitem_free);
	if (q->ext) {
		struct qitem *it;
		while ((it = heap_pop(&q->ext->ready)))
			qitem_free(it);
		while ((it = heap_pop(&q->ext->delayed)))
			qitem_free(it);
		event_del(&q->ext->delay_timer);
	}
	return n;
}

static void queue_deinit(struct object *o)
{
	struct queue *q = &o->u.queue;
	queue_free_items(q);
	qstore_free(&q->items, qitem_free);
	if (q->ext) {
		delivery_free_all(q);
		heap_free(&q->ext->ready);
		heap_free(&q->ext->delayed);
		heap_free(&q->ext->leases);
		omap_free(&q->ext->pending, NULL);
		free(q->ext);
		q->ext = NULL;
	}
	free(q->dead_letter);
	q->dead_letter = NULL;
}

static uint64_t queue_size(const struct object *o)
{
	return queue_count(&o->u.queue);
}

static int qitem_cmp(const void *a, const void *b)
{
	const struct qitem *x = *(struct qitem *const *)a, *y = *(struct qitem *const *)b;
	return ready_less(x, y) ? -1 : ready_less(y, x);
}

/* The priority heap's items in get order (lowest priority first, FIFO
 * within one), in a new array of *n; NULL with *n 0 when there are none or
 * on ENOMEM (a dump then shows the plain items at least). */
static struct qitem **queue_sorted_heap(const struct queue *q, size_t *n)
{
	*n = q->ext ? heap_len(&q->ext->ready) : 0;
	struct qitem **sorted = *n ? malloc(*n * sizeof(*sorted)) : NULL;
	if (!sorted) {
		*n = 0;
		return NULL;
	}
	memcpy(sorted, q->ext->ready.slots, *n * sizeof(*sorted));
	qsort(sorted, *n, sizeof(*sorted), qitem_cmp);
	return sorted;
}

/*
 * One item of a dump: its value; for a full dump [VALUE], or [VALUE, MAP]
 * with what else it carries (priority, deliveries, due: unix time of a
 * delayed one, pending: handed out and not acked). it is the item, or NULL
 * for a plain value e of the store.
 */
enum dump_as { DUMP_VALUE, DUMP_READY, DUMP_DELAYED, DUMP_PENDING };

static void queue_pack_entry(const struct qitem *it, const struct qstore_entry *e, enum dump_as as,
                             msgpack_packer *pk)
{
	if (as == DUMP_VALUE) {
		if (it)
			pack_value(pk, it->v);
		else
			qstore_pack_entry(e, NULL, pk);
		return;
	}
	if (!it) {
		msgpack_pack_array(pk, 1);
		qstore_pack_entry(e, NULL, pk);
		return;
	}
	int delayed = as == DUMP_DELAYED, pending = as == DUMP_PENDING;
	uint32_t extras = (it->priority != 0) + (it->deliveries != 0) + delayed + pending;
	msgpack_pack_array(pk, extras ? 2 : 1);
	pack_value(pk, it->v);
	if (!extras)
		return;
	msgpack_pack_map(pk, extras);
	if (it->priority)
		pack_key_int(pk, "priority", it->priority);
	if (it->deliveries)
		pack_key_uint(pk, "deliveries", it->deliveries);
	if (delayed) {
		pack_cstr(pk, "due");
		msgpack_pack_double(pk, (double)state_unix_ms(it->due_ms) / 1000.0);
	}
	if (pending) {
		pack_cstr(pk, "pending");
		msgpack_pack_true(pk);
	}
}

/*
 * Pack the ready items at positions [from, from + n) of get order: the
 * heap's items of negative priority, then the store, then the heap's
 * others. When the page runs to the end, a packed run whose values keep
 * their headers is copied as it is stored.
 */
static void queue_pack_ready(const struct queue *q, struct qitem *const *sorted, size_t nh, size_t from,
                             size_t n, enum dump_as as, msgpack_packer *pk)
{
	size_t pos = 0, end = from + n, h = 0;
	int to_end = as == DUMP_VALUE && end >= qstore_len(&q->items) + nh;
	for (; h < nh && sorted[h]->priority < 0 && pos < end; h++, pos++)
		if (pos >= from)
			queue_pack_entry(sorted[h], NULL, as, pk);
	struct qstore_pos p;
	struct qstore_entry e;
	qstore_begin(&q->items, &p);
	if (pos < from)
		pos += qstore_skip(&q->items, &p, from - pos);
	while (pos < end) {
		const char *run;
		size_t len;
		if (to_end && qstore_next_run(&q->items, &p, &run, &len)) {
			pk->callback(pk->data, run, len);   /* pos stays below end: no need to count */
			continue;
		}
		if (!qstore_next(&q->items, &p, &e))
			break;
		queue_pack_entry(e.item, &e, as, pk);
		pos++;
	}
	for (; h < nh && pos < end; h++, pos++)
		if (pos >= from)
			queue_pack_entry(sorted[h], NULL, as, pk);
}

/* The ready items in the order gets would take them (delayed and pending
 * items are not in it). */
static void queue_dump(const struct object *o, msgpack_packer *pk)
{
	const struct queue *q = &o->u.queue;
	size_t nh;
	struct qitem **sorted = queue_sorted_heap(q, &nh);
	msgpack_pack_array(pk, (uint32_t)(qstore_len(&q->items) + nh));
	queue_pack_ready(q, sorted, nh, 0, qstore_len(&q->items) + nh, DUMP_VALUE, pk);
	free(sorted);
}

/* One page of the dump as [next position, array]: at most count ready
 * items from position cursor, in get order. Positions are those of this
 * moment: a get between two pages moves every item one place up. */
static void queue_dump_page(const struct object *o, uint64_t cursor, uint64_t count, msgpack_packer *pk)
{
	const struct queue *q = &o->u.queue;
	size_t nh;
	struct qitem **sorted = queue_sorted_heap(q, &nh);
	size_t total = qstore_len(&q->items) + nh;
	size_t from = cursor < total ? (size_t)cursor : total;
	size_t n = count < total - from ? (size_t)count : total - from;
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint64(pk, from + n < total ? from + n : 0);
	msgpack_pack_array(pk, (uint32_t)n);
	queue_pack_ready(q, sorted, nh, from, n, DUMP_VALUE, pk);
	free(sorted);
}

static int delayed_cmp(const void *a, const void *b);
static uint64_t queue_pending(const struct object *o);

/*
 * One page of a full dump: every item, each as [VALUE] or [VALUE, MAP]
 * (queue_pack_entry), in the order they would be got if every consumer
 * went now: the pending deliveries (oldest first; they come back at the
 * head), the ready items in get order, then the delayed ones by due time.
 * Put back in that order with their priorities, deliveries and due times,
 * they rebuild the queue.
 */
static void queue_dump_full_page(const struct object *o, uint64_t cursor, uint64_t count, msgpack_packer *pk)
{
	const struct queue *q = &o->u.queue;
	size_t np = queue_pending(o), nd = queue_delayed(q), nh;
	struct qitem **sorted = queue_sorted_heap(q, &nh);
	size_t nr = qstore_len(&q->items) + nh, total = np + nr + nd;
	size_t from = cursor < total ? (size_t)cursor : total;
	size_t n = count < total - from ? (size_t)count : total - from, end = from + n, pos = 0;
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint64(pk, end < total ? end : 0);
	msgpack_pack_array(pk, (uint32_t)n);
	for (const struct omap_entry *e = np ? omap_seek(&q->ext->pending, 0) : NULL; e && pos < end;
	     e = omap_next(&q->ext->pending, e), pos++)
		if (pos >= from)
			queue_pack_entry(e->val, NULL, DUMP_PENDING, pk);
	pos = np;
	if (end > pos && from < pos + nr) {
		size_t a = from > pos ? from - pos : 0, b = end < pos + nr ? end - pos : nr;
		queue_pack_ready(q, sorted, nh, a, b - a, DUMP_READY, pk);
	}
	free(sorted);
	pos = np + nr;
	if (end > pos && nd) {
		struct qitem **delayed = malloc(nd * sizeof(*delayed));
		size_t a = from > pos ? from - pos : 0, b = end - pos;
		if (delayed) {
			memcpy(delayed, q->ext->delayed.slots, nd * sizeof(*delayed));
			qsort(delayed, nd, sizeof(*delayed), delayed_cmp);
		}
		for (size_t i = a; i < b; i++) {
			if (delayed)
				queue_pack_entry(delayed[i], NULL, DUMP_DELAYED, pk);
			else
				msgpack_pack_nil(pk);   /* out of memory: the page says so rather than lie */
		}
		free(delayed);
	}
}

/* A millisecond count as seconds: an integer when whole. */
static void pack_seconds(msgpack_packer *pk, uint64_t ms)
{
	if (ms % 1000 == 0)
		msgpack_pack_uint64(pk, ms / 1000);
	else
		msgpack_pack_double(pk, (double)ms / 1000.0);
}

static void queue_pack_options(const struct object *o, msgpack_packer *pk)
{
	const struct queue *q = &o->u.queue;
	msgpack_pack_map(pk, 1 + (q->lease_ms != 0) + (q->max_deliveries != 0) + (q->dead_letter != NULL));
	pack_key_uint(pk, "maxsize", q->maxsize);
	if (q->lease_ms) {
		pack_cstr(pk, "lease");
		pack_seconds(pk, q->lease_ms);
	}
	if (q->max_deliveries) {
		pack_key_uint(pk, "max_deliveries", q->max_deliveries);
	}
	if (q->dead_letter) {
		pack_key_str(pk, "dead_letter", q->dead_letter);
	}
}

/* Age in seconds of the oldest item at the head of the ready items (the
 * deque's front or the priority heap's top), 0 when none is ready. */
static double queue_oldest_age(const struct queue *q)
{
	uint64_t now = clock_mono_ms(), oldest = now;
	if (qstore_len(&q->items)) {
		struct qstore_entry e;
		qstore_front(&q->items, &e);
		oldest = e.item ? e.item->put_ms : e.put_ms;
	}
	const struct qitem *top = q->ext ? heap_top(&q->ext->ready) : NULL;
	if (top && top->put_ms < oldest)
		oldest = top->put_ms;
	return oldest < now ? (double)(now - oldest) / 1000.0 : 0.0;
}

#define QUEUE_STAT_KEYS 18

/* What an array of n pointers costs allocated. */
static size_t pointers_mem(size_t n)
{
	return n ? value_alloc_cost(n * sizeof(void *)) : 0;
}

/* What q's extension and options hold: the extension with its heaps and
 * delivery map (whose slots are counted in full: an item's own cost covers
 * only one slot), and the dead-letter name. */
static size_t queue_ext_mem(const struct queue *q)
{
	size_t n = q->dead_letter ? value_alloc_cost(strlen(q->dead_letter) + 1) : 0;
	const struct queue_ext *x = q->ext;
	if (x) {
		n += value_alloc_cost(sizeof(*x)) + pointers_mem(x->ready.cap) + pointers_mem(x->delayed.cap) +
		     pointers_mem(x->leases.cap);
		if (x->pending.cap_entries)
			n += value_alloc_cost(x->pending.cap_entries * sizeof(struct omap_entry));
		if (x->pending.index_cap)
			n += value_alloc_cost(x->pending.index_cap * sizeof(uint32_t));
	}
	return n;
}

/* object_type.spare: what is counted after each change (the store's runs
 * are counted as they are allocated). */
static size_t queue_spare(const struct object *o)
{
	const struct queue *q = &o->u.queue;
	return qstore_arrays_room(&q->items) + queue_ext_mem(q);
}

static void queue_pack_stat(const struct object *o, const struct client *viewer, msgpack_packer *pk)
{
	const struct queue *q = &o->u.queue;
	const struct { const char *key; uint64_t n; } counts[] = {
		{ "ready", queue_ready(q) },
		{ "pending", delivery_count(q) },
		{ "delayed", queue_delayed(q) },
		{ "unfinished", q->unfinished },
		{ "put", q->total_put },
		{ "got", q->total_got },
		{ "acked", q->total_acked },
		{ "nacked", q->total_nacked },
		{ "redelivered", q->total_redelivered },
		{ "dead_lettered", q->total_dead },
		{ "dead_letter_failed", q->dead_letter_failed },
		{ "over_maxsize", q->maxsize && queue_count(q) > q->maxsize ? queue_count(q) - q->maxsize : 0 },
		{ "getters", q->getters.count },
		{ "putters", q->putters.count },
		{ "joiners", q->joiners.count },
		{ "next_delivery_id", q->ext ? q->ext->next_id + 1 : 1 },
	};
	_Static_assert(sizeof(counts) / sizeof(counts[0]) + 2 == QUEUE_STAT_KEYS, "stat keys");
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		pack_cstr(pk, counts[i].key);
		msgpack_pack_uint64(pk, counts[i].n);
	}
	pack_key_double(pk, "oldest_age", queue_oldest_age(q));
	pack_key_uint(pk, "room", qstore_room(&q->items) + queue_ext_mem(q));
}

static void queue_cancel_waiters(struct object *o)
{
	waitq_fail_all(&o->u.queue.getters, IPCD_EDELETED, "queue deleted while waiting");
	waitq_fail_all(&o->u.queue.putters, IPCD_EDELETED, "queue deleted while waiting");
	waitq_fail_all(&o->u.queue.joiners, IPCD_EDELETED, "queue deleted while waiting");
}

static uint32_t queue_waiting(const struct object *o)
{
	return o->u.queue.getters.count + o->u.queue.putters.count + o->u.queue.joiners.count;
}

/* Deliveries of acknowledged gets not yet acked. */
static uint64_t queue_pending(const struct object *o)
{
	return delivery_count(&o->u.queue);
}

/* ---- snapshot ------------------------------------------------------------ */

/*
 * A queue on disk, as content records in this order (kinds):
 *   QSAVE_PLAIN    plain ready items: bin entries, each preceded by an
 *                  integer (unix ms) when its put time differs from the last
 *   QSAVE_ITEM     another ready item: [priority, deliveries, put, bin]
 *   QSAVE_DELAYED  [priority, deliveries, put, due, to_head, bin], by due time
 *   QSAVE_PENDING  [priority, deliveries, put, id, lease_ms, lease_due or 0,
 *                  explicit, consumer sid, pid, bin], in delivery order
 *   QSAVE_COUNTS   [unfinished, put, got, acked, nacked, redelivered, dead, next_id,
 *                  dead_letter_failed]
 * Ready items come in get order, so restoring each at the tail of its place
 * rebuilds the order.
 */
enum { QSAVE_PLAIN, QSAVE_ITEM, QSAVE_DELAYED, QSAVE_PENDING, QSAVE_COUNTS };

/* Entries buffered for the current content record. */
struct qsaver {
	struct state_saver *s;
	const struct object *o;
	int kind;                   /* of the open record, -1 = none */
	msgpack_sbuffer buf;        /* its entries */
	msgpack_packer pk;
	uint32_t n;
	int64_t last_put;           /* QSAVE_PLAIN: put time of the last entry */
	int failed;
};

static int qsaver_flush(struct qsaver *w)
{
	if (w->kind >= 0 && w->n) {
		msgpack_packer *pk = state_save_content(w->s, w->o, (unsigned)w->kind, w->n);
		pk->callback(pk->data, w->buf.data, w->buf.size);
		if (state_save_end(w->s) < 0)
			w->failed = 1;
	}
	w->buf.size = 0;
	w->n = 0;
	w->kind = -1;
	return w->failed ? -1 : 0;
}

/* The packer for one more entry of kind. */
static msgpack_packer *qsaver_entry(struct qsaver *w, int kind)
{
	if (w->kind != kind || w->n >= STATE_CONTENT_CHUNK)
		qsaver_flush(w);
	if (w->kind != kind)
		w->last_put = -1;
	w->kind = kind;
	w->n++;
	return &w->pk;
}

static void qsave_bin(msgpack_packer *pk, const char *hdr, uint32_t hlen, const char *body, uint32_t blen)
{
	msgpack_pack_bin(pk, hlen + blen);
	if (hlen)
		msgpack_pack_bin_body(pk, hdr, hlen);
	msgpack_pack_bin_body(pk, body, blen);
}

static void qsave_plain(struct qsaver *w, uint64_t put_ms, const char *hdr, uint32_t hlen, const char *body,
                        uint32_t blen)
{
	int64_t put = state_unix_ms(put_ms);
	msgpack_packer *pk = qsaver_entry(w, QSAVE_PLAIN);
	if (put != w->last_put) {
		msgpack_pack_int64(pk, put);
		w->last_put = put;
		pk = qsaver_entry(w, QSAVE_PLAIN);
	}
	qsave_bin(pk, hdr, hlen, body, blen);
}

static void qsave_item(struct qsaver *w, const struct qitem *it)
{
	msgpack_packer *pk = qsaver_entry(w, QSAVE_ITEM);
	msgpack_pack_array(pk, 4);
	msgpack_pack_int64(pk, it->priority);
	msgpack_pack_uint32(pk, it->deliveries);
	msgpack_pack_int64(pk, state_unix_ms(it->put_ms));
	qsave_bin(pk, NULL, 0, it->v->data, it->v->len);
}

static int delayed_cmp(const void *a, const void *b)
{
	const struct qitem *x = *(struct qitem *const *)a, *y = *(struct qitem *const *)b;
	return delayed_less(x, y) ? -1 : delayed_less(y, x);
}

static int queue_save(const struct object *o, struct state_saver *s)
{
	const struct queue *q = &o->u.queue;
	struct qsaver w = { .s = s, .o = o, .kind = -1 };
	msgpack_sbuffer_init(&w.buf);
	msgpack_packer_init(&w.pk, &w.buf, msgpack_sbuffer_write);

	size_t nh, h = 0;
	struct qitem **sorted = queue_sorted_heap(q, &nh);
	if (q->ext && heap_len(&q->ext->ready) != nh)
		w.failed = 1;   /* out of memory: no snapshot rather than a wrong one */
	for (; h < nh && sorted[h]->priority < 0; h++)
		qsave_item(&w, sorted[h]);
	struct qstore_pos p;
	struct qstore_entry se;
	qstore_begin(&q->items, &p);
	while (!w.failed && qstore_next(&q->items, &p, &se)) {
		if (se.item)
			qsave_item(&w, se.item);
		else if (se.value)
			qsave_plain(&w, se.put_ms, NULL, 0, se.value->data, se.value->len);
		else
			qsave_plain(&w, se.put_ms, se.hdr, se.hlen, se.body, se.blen);
	}
	for (; h < nh; h++)
		qsave_item(&w, sorted[h]);
	free(sorted);

	size_t nd = queue_delayed(q);
	struct qitem **delayed = nd ? malloc(nd * sizeof(*delayed)) : NULL;
	if (nd && !delayed)
		w.failed = 1;
	if (delayed) {
		memcpy(delayed, q->ext->delayed.slots, nd * sizeof(*delayed));
		qsort(delayed, nd, sizeof(*delayed), delayed_cmp);
		for (size_t i = 0; i < nd; i++) {
			const struct qitem *it = delayed[i];
			msgpack_packer *pk = qsaver_entry(&w, QSAVE_DELAYED);
			msgpack_pack_array(pk, 6);
			msgpack_pack_int64(pk, it->priority);
			msgpack_pack_uint32(pk, it->deliveries);
			msgpack_pack_int64(pk, state_unix_ms(it->put_ms));
			msgpack_pack_int64(pk, state_unix_ms(it->due_ms));
			(it->to_head ? msgpack_pack_true : msgpack_pack_false)(pk);
			qsave_bin(pk, NULL, 0, it->v->data, it->v->len);
		}
		free(delayed);
	}
	for (const struct omap_entry *e = q->ext ? omap_seek(&q->ext->pending, 0) : NULL; e;
	     e = omap_next(&q->ext->pending, e)) {
		const struct qitem *it = e->val;
		msgpack_packer *pk = qsaver_entry(&w, QSAVE_PENDING);
		msgpack_pack_array(pk, 10);
		msgpack_pack_int64(pk, it->priority);
		msgpack_pack_uint32(pk, it->deliveries);
		msgpack_pack_int64(pk, state_unix_ms(it->put_ms));
		msgpack_pack_uint64(pk, it->id);
		msgpack_pack_uint64(pk, it->lease_ms);
		msgpack_pack_int64(pk, it->pos != HEAP_NONE ? state_unix_ms(it->due_ms) : 0);
		(it->explicit_lease ? msgpack_pack_true : msgpack_pack_false)(pk);
		msgpack_pack_uint64(pk, state_sid(it->consumer));
		msgpack_pack_int64(pk, it->pid);
		qsave_bin(pk, NULL, 0, it->v->data, it->v->len);
	}
	msgpack_packer *pk = qsaver_entry(&w, QSAVE_COUNTS);
	const uint64_t counts[] = { q->unfinished, q->total_put, q->total_got, q->total_acked, q->total_nacked,
	                            q->total_redelivered, q->total_dead, q->ext ? q->ext->next_id : 0,
	                            q->dead_letter_failed };
	w.n += (uint32_t)(sizeof(counts) / sizeof(counts[0])) - 1;
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		msgpack_pack_uint64(pk, counts[i]);
	int rc = qsaver_flush(&w);
	msgpack_sbuffer_destroy(&w.buf);
	return rc;
}

/* Entry fields, checked. */
static int qrest_int(const msgpack_object *o, int64_t *out)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
		*out = (int64_t)o->via.u64;
	else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		*out = o->via.i64;
	else
		return -1;
	return 0;
}

/* A restored item: its value and the fields every kind has. NULL if the
 * entry does not fit. */
static struct qitem *qrest_item(struct queue *q, const msgpack_object *e, uint32_t size)
{
	int64_t prio, deliveries, put;
	const msgpack_object *bin;
	struct value *v;
	if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != size)
		return NULL;
	const msgpack_object *f = e->via.array.ptr;
	bin = &f[size - 1];
	if (qrest_int(&f[0], &prio) || qrest_int(&f[1], &deliveries) || qrest_int(&f[2], &put) ||
	    deliveries < 0 || deliveries > UINT32_MAX || bin->type != MSGPACK_OBJECT_BIN ||
	    value_new_raw(bin->via.bin.ptr, bin->via.bin.size, &v))
		return NULL;
	struct qitem *it = qitem_new(q, v, state_mono_ms(put));
	if (!it) {
		value_free(v);
		return NULL;
	}
	it->priority = prio;
	it->deliveries = (uint32_t)deliveries;
	return it;
}

static int queue_restore_pending(struct queue *q, struct qitem *it, const msgpack_object *f)
{
	int64_t id, lease_ms, due, pid;
	if (qrest_int(&f[3], &id) || qrest_int(&f[4], &lease_ms) || qrest_int(&f[5], &due) ||
	    f[6].type != MSGPACK_OBJECT_BOOLEAN || f[7].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    qrest_int(&f[8], &pid) || id <= 0 || lease_ms < 0)
		return -1;
	struct queue_ext *x = q->ext;
	uint64_t key = (uint64_t)id;
	int created;
	if (due)
		it->due_ms = state_mono_ms(due);
	struct omap_entry *e = omap_upsert(&x->pending, &key, sizeof(key), &created);
	if (!e || !created || (due && heap_push(&x->leases, it) < 0)) {
		if (e && created)
			omap_remove(&x->pending, e);
		return -1;
	}
	e->val = it;
	it->id = key;
	it->lease_ms = (uint64_t)lease_ms;
	it->explicit_lease = f[6].via.boolean;
	it->pid = (pid_t)pid;
	if (due)
		timer_at(&x->lease_timer, ((struct qitem *)heap_top(&x->leases))->due_ms);
	it->hold.obj = q->obj;
	if ((it->consumer = state_session(f[7].via.u64, it->pid)))
		LIST_INSERT_HEAD(&it->consumer->holds, &it->hold, link);
	if (key > x->next_id)
		x->next_id = key;
	return 0;
}

static int queue_restore(struct object *o, unsigned kind, const msgpack_object *entries)
{
	struct queue *q = &o->u.queue;
	const msgpack_object *e = entries->via.array.ptr;
	uint32_t n = entries->via.array.size;
	if (kind != QSAVE_PLAIN && kind != QSAVE_COUNTS && !queue_ext(q))
		return -1;
	if (kind == QSAVE_PLAIN) {
		uint64_t put = clock_mono_ms();
		for (uint32_t i = 0; i < n; i++) {
			int64_t t;
			struct value *v;
			if (qrest_int(&e[i], &t) == 0) {
				put = state_mono_ms(t);
				continue;
			}
			if (e[i].type != MSGPACK_OBJECT_BIN || value_new_raw(e[i].via.bin.ptr, e[i].via.bin.size, &v))
				return -1;
			if (queue_push_at(q, &v, 1, put) < 0) {
				value_free(v);
				return -1;
			}
		}
		return 0;
	}
	if (kind == QSAVE_COUNTS) {
		uint64_t c[9] = { 0 };
		if (n != 8 && n != 9)   /* 8: written before dead_letter_failed was kept */
			return -1;
		for (uint32_t i = 0; i < n; i++) {
			if (e[i].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
				return -1;
			c[i] = e[i].via.u64;
		}
		q->unfinished = c[0], q->total_put = c[1], q->total_got = c[2], q->total_acked = c[3];
		q->total_nacked = c[4], q->total_redelivered = c[5], q->total_dead = c[6];
		q->dead_letter_failed = c[8];
		/* Delivery ids go on from where they were, even when nothing is
		 * pending now: the log after the snapshot acks by those ids. */
		if (c[7] && !queue_ext(q))
			return -1;
		if (q->ext && c[7] > q->ext->next_id)
			q->ext->next_id = c[7];
		return 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t size = kind == QSAVE_ITEM ? 4 : kind == QSAVE_DELAYED ? 6 : kind == QSAVE_PENDING ? 10 : 0;
		struct qitem *it = size ? qrest_item(q, &e[i], size) : NULL;
		if (!it)
			return -1;
		const msgpack_object *f = e[i].via.array.ptr;
		int rc;
		if (kind == QSAVE_ITEM) {
			rc = queue_reserve_ready(q, it->priority, 1) < 0 ? -1 : queue_place(q, it, 0);
		} else if (kind == QSAVE_DELAYED) {
			int64_t due;
			rc = qrest_int(&f[3], &due) || f[4].type != MSGPACK_OBJECT_BOOLEAN ? -1 : 0;
			if (rc == 0) {
				it->due_ms = state_mono_ms(due);
				it->seq = ++q->ext->seq_tail;
				it->to_head = f[4].via.boolean;
				rc = heap_push(&q->ext->delayed, it);
				if (rc == 0)
					queue_arm_delay(q);
			}
		} else {
			rc = queue_restore_pending(q, it, f);
		}
		if (rc < 0) {
			qitem_free(it);
			return -1;
		}
	}
	return 0;
}

/* A timer's change, replayed: n items moved. */
static void queue_on_timer(struct object *o, int what, uint64_t n)
{
	struct queue *q = &o->u.queue;
	if (!q->ext)
		return;
	if (what == STATE_TIMER_DELAY)
		queue_delay_end(q, (size_t)n);
	else if (what == STATE_TIMER_LEASE)
		delivery_lease_end(q, (size_t)n);
}

const struct object_type queue_type = {
	.spare = queue_spare,
	.save = queue_save,
	.restore = queue_restore,
	.on_timer = queue_on_timer,
	.init = queue_init,
	.same_options = queue_same_options,
	.deinit = queue_deinit,
	.size = queue_size,
	.dump = queue_dump,
	.dump_page = queue_dump_page,
	.dump_full_page = queue_dump_full_page,
	.pack_options = queue_pack_options,
	.cancel_waiters = queue_cancel_waiters,
	.release = delivery_release,
	.waiting = queue_waiting,
	.pending = queue_pending,
	.stat_keys = QUEUE_STAT_KEYS,
	.pack_stat = queue_pack_stat,
};

/* ---- ops ---------------------------------------------------------------- */

/* Free n values. */
static void values_free(struct value **vals, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		value_free(vals[i]);
}

/* Check a put of n items: 0 to go on, or replied (bad options, can never
 * fit, or parked until there is room). */
static int queue_put_turn(struct request *rq, const msgpack_object *vals, uint32_t n, struct put_opts *po,
                          const msgpack_object *timeout)
{
	struct queue *q = &rq->obj->u.queue;
	const char *why;
	if (queue_parse_put_options(request_arg(rq, 3), po, &why)) {
		reply_error(&rq->reply, IPCD_EBADARG, "%s", why);
		return -1;
	}
	if (q->maxsize && n > q->maxsize) {
		reply_error(&rq->reply, IPCD_EFULL, "%u items can never fit a queue of maxsize %llu", n,
		            (unsigned long long)q->maxsize);
		return -1;
	}
	if (!request_is_next(rq, &q->putters) || queue_room(q) < n) {
		if (rq->retry || request_values_storable(rq, vals, n))
			request_park(rq, &q->putters, timeout, IPCD_EFULL, "queue is full");
		return -1;
	}
	return 0;
}

static inline struct queue *q_of(struct request *rq) { return &rq->obj->u.queue; }

/* n plain values were stored (0: queue_add counted them): count them, hand
 * them to waiting getters and reply the size. */
static void queue_put_done(struct request *rq, uint32_t n)
{
	struct queue *q = q_of(rq);
	q->total_put += n;
	q->unfinished += n;
	queue_wake(q);
	reply_uint(&rq->reply, queue_count(q));
}

/* Add the n values (owned, room checked), hand them to waiting getters and
 * reply the size left. */
static void queue_put_values(struct request *rq, struct value **vals, uint32_t n, const struct put_opts *po)
{
	if (queue_add(q_of(rq), vals, n, po) < 0) {
		reply_nomem(&rq->reply);
		values_free(vals, n);
		return;
	}
	queue_put_done(rq, 0);
}

/* queue.put NAME VALUE [TIMEOUT] [OPTIONS] -> size | FULL | TIMEOUT */
void handle_QUEUE_PUT(struct request *rq)
{
	struct put_opts po;
	const msgpack_object *o = &rq->args[1];
	if (queue_put_turn(rq, o, 1, &po, request_arg(rq, 2)))
		return;
	size_t len = decode_size(o);
	if (!po.priority && !po.delay_ms && !po.deliveries && len <= QSTORE_PACK_MAX && o->type != MSGPACK_OBJECT_ARRAY &&
	    o->type != MSGPACK_OBJECT_MAP) {
		/* A small scalar goes from the frame into the store's run: no value
		 * of its own to allocate, copy and free. */
		char bytes[QSTORE_PACK_MAX];
		decode_encode_into(o, bytes);
		if (qstore_push_packed(&q_of(rq)->items, bytes, (uint32_t)len, clock_stamp_ms()) < 0) {
			reply_nomem(&rq->reply);
			return;
		}
		queue_put_done(rq, 1);
		return;
	}
	struct value *v = request_value_or_reply(rq, o);
	if (v)
		queue_put_values(rq, &v, 1, &po);
}

/* queue.put_many NAME VALUES [TIMEOUT] [OPTIONS] -> size | FULL | TIMEOUT */
void handle_QUEUE_PUT_MANY(struct request *rq)
{
	const msgpack_object_array *a = &rq->args[1].via.array;
	struct put_opts po;
	if (queue_put_turn(rq, a->ptr, a->size, &po, request_arg(rq, 2)))
		return;
	rq->unchanged = a->size == 0;   /* no queue is left on a free name */
	if (!po.priority && !po.delay_ms && !po.deliveries) {
		/* Small scalars go from the frame into the store's runs, as
		 * queue.put's do: no value of their own to allocate and free. */
		int rc = qstore_push_packed_many(&q_of(rq)->items, a->ptr, a->size, clock_stamp_ms());
		if (rc < 0) {
			reply_nomem(&rq->reply);
			return;
		}
		if (rc == 0) {
			queue_put_done(rq, a->size);
			return;
		}
	}
	struct value **vals = malloc((a->size ? a->size : 1) * sizeof(*vals));
	if (!vals) {
		reply_nomem(&rq->reply);
		return;
	}
	for (uint32_t i = 0; i < a->size; i++) {
		if (!(vals[i] = request_value_or_reply(rq, &a->ptr[i]))) {
			values_free(vals, i);
			free(vals);
			return;
		}
	}
	queue_put_values(rq, vals, a->size, &po);
	free(vals);
}

/* queue.get NAME [TIMEOUT] -> value | EMPTY | TIMEOUT */
void handle_QUEUE_GET(struct request *rq)
{
	struct queue *q = &rq->obj->u.queue;
	if (queue_ready(q) > 0 && request_is_next(rq, &q->getters)) {
		queue_pop_into(q, &rq->reply, 1, 0);
		queue_wake(q);
		return;
	}
	request_park(rq, &q->getters, request_arg(rq, 1), IPCD_EEMPTY, "queue is empty");
}

/* queue.get_many NAME COUNT [TIMEOUT] -> [value, ...] (1..COUNT) | EMPTY | TIMEOUT */
void handle_QUEUE_GET_MANY(struct request *rq)
{
	struct queue *q = &rq->obj->u.queue;
	uint64_t count = rq->args[1].via.u64;
	if (count == 0) {
		reply_error(&rq->reply, IPCD_EBADARG, "count must be at least 1");
		return;
	}
	if (queue_ready(q) > 0 && request_is_next(rq, &q->getters)) {
		/* The log says how many it took when max_output stopped it short:
		 * [id, op, name, count] fits in the name and 32 bytes. */
		if (request_log_reserve(rq, rq->args[0].via.str.size + 32) < 0) {
			reply_nomem(&rq->reply);
			return;
		}
		uint64_t want = queue_ready(q) < count ? queue_ready(q) : count;
		uint64_t took = queue_pop_into(q, &rq->reply, count, 1);
		if (took < want) {
			msgpack_object args[2] = { rq->args[0], { .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = took } };
			request_log_as(rq, args, 2);
		}
		queue_wake(q);
		return;
	}
	request_park(rq, &q->getters, request_arg(rq, 2), IPCD_EEMPTY, "queue is empty");
}

/* queue.qsize NAME -> int (ready and delayed items) */
void handle_QUEUE_QSIZE(struct request *rq)
{
	reply_uint(&rq->reply, queue_count(&rq->obj->u.queue));
}

/* queue.clear NAME -> number of items removed (ready and delayed; their tasks are done) */
void handle_QUEUE_CLEAR(struct request *rq)
{
	struct queue *q = &rq->obj->u.queue;
	size_t n = queue_free_items(q);
	rq->unchanged = n == 0;
	reply_uint(&rq->reply, n);
	if (n)
		queue_tasks_done(q, n);
	queue_wake(q);
}

/* queue.task_done NAME [COUNT] -> unfinished tasks left | NOTASK */
void handle_QUEUE_TASK_DONE(struct request *rq)
{
	struct queue *q = &rq->obj->u.queue;
	const msgpack_object *count = request_arg(rq, 1);
	uint64_t n = count ? count->via.u64 : 1;
	/* A pending delivery's task is finished by its ack (or comes back with
	 * its item), never by task_done: else get_ack, task_done, ack would
	 * finish it twice. */
	uint64_t pending = delivery_count(q), open = q->unfinished > pending ? q->unfinished - pending : 0;
	if (n > open) {
		reply_error(&rq->reply, IPCD_ENOTASK,
		            "task_done called too many times: %llu done, %llu unfinished (%llu more are pending "
		            "deliveries, finished by their ack)", (unsigned long long)n, (unsigned long long)open,
		            (unsigned long long)(q->unfinished - open));
		return;
	}
	reply_uint(&rq->reply, q->unfinished - n);
	queue_tasks_done(q, n);
}

/* queue.join NAME [TIMEOUT] -> nil | TIMEOUT */
void handle_QUEUE_JOIN(struct request *rq)
{
	struct queue *q = &rq->obj->u.queue;
	if (!q->unfinished) {
		reply_nil(&rq->reply);
		return;
	}
	request_park(rq, &q->joiners, request_arg(rq, 1), IPCD_ETIMEOUT, "tasks are unfinished");
}
