/*
 * semaphore.c: the semaphore type, threading.Semaphore and (option bounded)
 * BoundedSemaphore for processes.
 *
 * value units are free; semaphore.acquire takes N of them or waits, in
 * FIFO order (a request for many at the head holds back smaller ones
 * behind it, so that it is never starved); semaphore.release gives N back,
 * from any connection, and serves the waiters. A bounded semaphore refuses
 * a release past its initial value (FULL, Python's ValueError).
 *
 * Robust (option robust, default on): the units each connection took are
 * counted, and come back when it closes. A release takes from the
 * releaser's own count first, then from the oldest holders', so that only
 * units nobody gave back return: with a bounded semaphore the value never
 * passes its bound. A semaphore used as a signal between processes (one
 * releases, another acquires for good) wants robust off.
 */
#include <stdlib.h>
#include <string.h>
#include "object.h"
#include "dispatch.h"
#include "reply.h"
#include "state.h"
#include "wire.h"

/* ---- holders ----------------------------------------------------------------- */

static struct sem_holder *sem_holder_of(struct semaphore *s, const struct client *c)
{
	struct sem_holder *h;
	TAILQ_FOREACH(h, &s->holders, link)
		if (h->client == c)
			return h;
	return NULL;
}

static void sem_holder_free(struct semaphore *s, struct sem_holder *h)
{
	TAILQ_REMOVE(&s->holders, h, link);
	s->nholders--;
	if (h->client)
		LIST_REMOVE(&h->hold, link);
	free(h);
}

/* c's entry, made if it has none: NULL on ENOMEM. */
static struct sem_holder *sem_holder_get(struct semaphore *s, struct object *o, struct client *c)
{
	struct sem_holder *h = sem_holder_of(s, c);
	if (h || !(h = calloc(1, sizeof(*h))))
		return h;
	h->client = c;
	h->pid = c->pid;
	h->hold.obj = o;
	LIST_INSERT_HEAD(&c->holds, &h->hold, link);
	TAILQ_INSERT_TAIL(&s->holders, h, link);
	s->nholders++;
	return h;
}

/* n units given back by c: off its own count, then the oldest holders'. */
static void sem_holders_give_back(struct semaphore *s, const struct client *c, uint64_t n)
{
	struct sem_holder *h = sem_holder_of(s, c), *next;
	if (h) {
		uint64_t k = n < h->units ? n : h->units;
		h->units -= k;
		n -= k;
		if (!h->units)
			sem_holder_free(s, h);
	}
	for (h = TAILQ_FIRST(&s->holders); h && n; h = next) {
		next = TAILQ_NEXT(h, link);
		uint64_t k = n < h->units ? n : h->units;
		h->units -= k;
		n -= k;
		if (!h->units)
			sem_holder_free(s, h);
	}
}

/* ---- type operations ------------------------------------------------------- */

struct sem_opts {
	uint64_t value;
	unsigned bounded, robust;
};

static const char *const sem_option_keys[] = { "value", "bounded", "robust", NULL };

static int sem_option(void *ctx, unsigned i, const msgpack_object *v)
{
	struct sem_opts *so = ctx;
	if (i == 0)
		return wire_obj_uint(v, &so->value) ? 2 : 0;
	return sync_bool_option(v, i == 1 ? &so->bounded : &so->robust) < 0 ? 1 : 0;
}

static int sem_parse_options(const msgpack_object *opts, struct sem_opts *so, const char **why)
{
	const msgpack_object *unknown;
	*so = (struct sem_opts){ .value = 1, .bounded = 0, .robust = 1 };
	int rc = wire_options(opts, sem_option_keys, sem_option, so, &unknown);
	if (rc == 0)
		return 0;
	*why = rc == WIRE_EUNKNOWN ? "unknown semaphore option (semaphores take: value, bounded, robust)"
	     : rc == WIRE_ETYPE    ? "semaphore options are a map"
	     : rc == 2             ? "semaphore option value is an integer >= 0"
	                           : "semaphore options bounded and robust are bools";
	return IPCD_EBADARG;
}

static int sem_init(struct object *o, const msgpack_object *opts, const char **why)
{
	struct semaphore *s = &o->u.sem;
	struct sem_opts so;
	int err = sem_parse_options(opts, &so, why);
	if (err)
		return err;
	memset(s, 0, sizeof(*s));
	s->value = s->initial = so.value;
	s->bounded = so.bounded != 0;
	s->robust = so.robust != 0;
	waitq_init(&s->waiters);
	TAILQ_INIT(&s->holders);
	return 0;
}

static int sem_same_options(const struct object *o, const msgpack_object *opts)
{
	const struct semaphore *s = &o->u.sem;
	struct sem_opts so;
	const char *why;
	return sem_parse_options(opts, &so, &why) == 0 && so.value == s->initial && so.bounded == s->bounded &&
	       so.robust == s->robust;
}

static void sem_deinit(struct object *o)
{
	struct semaphore *s = &o->u.sem;
	struct sem_holder *h;
	while ((h = TAILQ_FIRST(&s->holders)))
		sem_holder_free(s, h);
}

/* Units held by connections. */
static uint64_t sem_size(const struct object *o)
{
	uint64_t n = 0;
	const struct sem_holder *h;
	TAILQ_FOREACH(h, &o->u.sem.holders, link)
		n += h->units;
	return n;
}

/* No items (see lock.c's dump). */
static void sem_dump(const struct object *o, msgpack_packer *pk)
{
	msgpack_pack_array(pk, 0);
}

static void sem_dump_page(const struct object *o, uint64_t cursor, uint64_t count, msgpack_packer *pk)
{
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint64(pk, 0);
	msgpack_pack_array(pk, 0);
}

static void sem_pack_options(const struct object *o, msgpack_packer *pk)
{
	msgpack_pack_map(pk, 3);
	pack_key_uint(pk, "value", o->u.sem.initial);
	pack_key_bool(pk, "bounded", o->u.sem.bounded);
	pack_key_bool(pk, "robust", o->u.sem.robust);
}

static void sem_cancel_waiters(struct object *o)
{
	waitq_fail_all(&o->u.sem.waiters, IPCD_EDELETED, "semaphore deleted while waiting");
}

static uint32_t sem_waiting(const struct object *o)
{
	return o->u.sem.waiters.count;
}

/* A holder's connection closed: its units come back. */
static void sem_release_hold(struct object *o, struct hold *hd)
{
	struct semaphore *s = &o->u.sem;
	struct sem_holder *h = (struct sem_holder *)((char *)hd - offsetof(struct sem_holder, hold));
	h->client = NULL;   /* off the connection's list already */
	s->value += h->units;
	s->total_returned += h->units;
	sem_holder_free(s, h);
	waitq_serve(&s->waiters);
}

#define SEM_STAT_KEYS 5

static void sem_pack_stat(const struct object *o, const struct client *viewer, msgpack_packer *pk)
{
	const struct semaphore *s = &o->u.sem;
	const struct sem_holder *h;
	pack_key_uint(pk, "value", s->value);
	pack_key_uint(pk, "held", sem_size(o));
	pack_cstr(pk, "holders");   /* [{pid, units}], oldest first */
	msgpack_pack_array(pk, s->nholders);
	TAILQ_FOREACH(h, &s->holders, link) {
		msgpack_pack_map(pk, 2);
		pack_key_int(pk, "pid", h->pid);
		pack_key_uint(pk, "units", h->units);
	}
	pack_key_uint(pk, "acquired", s->total_acquired);
	pack_key_uint(pk, "returned", s->total_returned);
}

/* Snapshot: kind 0 [value, acquired, returned]; kind 1 holders [sid, pid, units]. */
static int sem_save(const struct object *o, struct state_saver *sv)
{
	const struct semaphore *s = &o->u.sem;
	msgpack_packer *pk = state_save_content(sv, o, 0, 3);
	msgpack_pack_uint64(pk, s->value);
	msgpack_pack_uint64(pk, s->total_acquired);
	msgpack_pack_uint64(pk, s->total_returned);
	if (state_save_end(sv) < 0)
		return -1;
	if (!s->nholders)
		return 0;
	pk = state_save_content(sv, o, 1, s->nholders);
	const struct sem_holder *h;
	TAILQ_FOREACH(h, &s->holders, link) {
		msgpack_pack_array(pk, 3);
		msgpack_pack_uint64(pk, state_sid(h->client));
		msgpack_pack_int64(pk, h->pid);
		msgpack_pack_uint64(pk, h->units);
	}
	return state_save_end(sv);
}

static int sem_restore(struct object *o, unsigned kind, const msgpack_object *entries)
{
	struct semaphore *s = &o->u.sem;
	const msgpack_object *e = entries->via.array.ptr;
	uint32_t n = entries->via.array.size;
	if (kind == 0) {
		if (n != 3 || wire_obj_uint(&e[0], &s->value) || wire_obj_uint(&e[1], &s->total_acquired) ||
		    wire_obj_uint(&e[2], &s->total_returned))
			return -1;
		return 0;
	}
	if (kind != 1)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t sid, units;
		int64_t pid;
		if (e[i].type != MSGPACK_OBJECT_ARRAY || e[i].via.array.size != 3)
			return -1;
		const msgpack_object *f = e[i].via.array.ptr;
		if (wire_obj_uint(&f[0], &sid) || wire_obj_int(&f[1], &pid) || wire_obj_uint(&f[2], &units) || !units)
			return -1;
		struct client *c = state_session(sid, (pid_t)pid);
		struct sem_holder *h = c ? sem_holder_get(s, o, c) : NULL;
		if (!h)
			return -1;
		h->pid = (pid_t)pid;
		h->units += units;
	}
	return 0;
}

const struct object_type semaphore_type = {
	.init = sem_init,
	.same_options = sem_same_options,
	.deinit = sem_deinit,
	.size = sem_size,
	.dump = sem_dump,
	.dump_page = sem_dump_page,
	.pack_options = sem_pack_options,
	.cancel_waiters = sem_cancel_waiters,
	.waiting = sem_waiting,
	.release = sem_release_hold,
	.save = sem_save,
	.restore = sem_restore,
	.stat_keys = SEM_STAT_KEYS,
	.pack_stat = sem_pack_stat,
};

/* ---- handlers -------------------------------------------------------------- */

/* The N argument i: absent = 1; 0 replies BADARG and returns 0. */
static uint64_t sem_count_or_reply(struct request *rq, uint32_t i)
{
	const msgpack_object *a = request_arg(rq, i);
	/* absent or nil: 1 (nil lets a TIMEOUT follow without an N) */
	uint64_t n = !a || a->type == MSGPACK_OBJECT_NIL ? 1 : a->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? a->via.u64 : 0;
	if (!n)
		reply_error(&rq->reply, IPCD_EBADARG, "%s: N is at least 1", rq->op->name);
	return n;
}

/* semaphore.acquire NAME [N] [TIMEOUT] -> value left | TIMEOUT */
void handle_SEM_ACQUIRE(struct request *rq)
{
	struct semaphore *s = &rq->obj->u.sem;
	uint64_t n = sem_count_or_reply(rq, 1);
	if (!n)
		return;
	if (s->bounded && n > s->initial) {
		reply_error(&rq->reply, IPCD_EBADARG, "%llu units of a semaphore bounded at %llu can never be free",
		            (unsigned long long)n, (unsigned long long)s->initial);
		return;
	}
	if (s->value >= n && request_is_next(rq, &s->waiters)) {
		struct sem_holder *h = NULL;
		if (s->robust && !(h = sem_holder_get(s, rq->obj, rq->client))) {
			reply_nomem(&rq->reply);
			return;
		}
		if (h)
			h->units += n;
		s->value -= n;
		s->total_acquired += n;
		reply_uint(&rq->reply, s->value);
		return;
	}
	request_park(rq, &s->waiters, request_arg(rq, 2), IPCD_ETIMEOUT, "not enough units are free");
}

/* semaphore.release NAME [N] -> value | FULL (bounded: past the initial value) */
void handle_SEM_RELEASE(struct request *rq)
{
	struct semaphore *s = &rq->obj->u.sem;
	uint64_t n = sem_count_or_reply(rq, 1);
	if (!n)
		return;
	if ((s->bounded && n > s->initial - s->value) || n > UINT64_MAX - s->value) {
		reply_error(&rq->reply, IPCD_EFULL, "semaphore released too many times (value %llu, bound %llu)",
		            (unsigned long long)s->value, (unsigned long long)(s->bounded ? s->initial : UINT64_MAX));
		return;
	}
	sem_holders_give_back(s, rq->client, n);
	s->value += n;
	reply_uint(&rq->reply, s->value);
	waitq_serve(&s->waiters);
}

/* semaphore.value NAME -> value */
void handle_SEM_VALUE(struct request *rq)
{
	reply_uint(&rq->reply, rq->obj->u.sem.value);
}
