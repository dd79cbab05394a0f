/*
 * condition.c: the condition type, threading.Condition for processes.
 *
 * Its lock is its own reentrant lock (threading.Condition's default, an
 * RLock), or, with option lock, the lock object of that name, looked up at
 * each op (so it may be made after the condition). condition.acquire and
 * condition.release work on that lock.
 *
 * condition.wait, by a connection holding the lock: gives the lock up
 * (all of a reentrant lock's count) and parks on the condition; a notify
 * marks the oldest waits notified and serves them, and each then waits in
 * line on the lock and answers once it has it back, with its count. A wait
 * whose timeout passes takes the lock back too and answers notified:
 * false. Each wait is an entry, struct cond_sleeper, held on its
 * connection: if that closes, a notify it was given and had not used goes
 * to the next wait, so that no notify is lost to a dead process.
 *
 * The wait changes the state before it answers (the lock is given up), so
 * it is logged when it parks, and when its timeout passes (sync.h);
 * replayed, those records leave the entry as it was live, and the record of
 * the answer takes the lock back.
 */
#include <stdlib.h>
#include <string.h>
#include "object.h"
#include "access.h"
#include "config.h"
#include "dispatch.h"
#include "registry.h"
#include "reply.h"
#include "state.h"
#include "wire.h"

/* ---- the lock ---------------------------------------------------------------- */

/* The lock object cv names, or NULL (its own lock, or that name holds no lock). */
static struct object *cond_lock_object(const struct condition *cv)
{
	struct object *o = cv->lock_name ? registry_find(cv->lock_name, strlen(cv->lock_name)) : NULL;
	return o && o->type == PROTO_T_LOCK ? o : NULL;
}

/* cv's lock now: its own, the named lock object, or NULL if that name holds none. */
static struct lock *cond_lock(struct condition *cv)
{
	if (!cv->lock_name)
		return &cv->own;
	struct object *o = cond_lock_object(cv);
	return o ? &o->u.lock : NULL;
}

/* The lock rq's op works on. A named lock is another object, with its own
 * owner and mode: the requester needs w on it as a lock op would (checked
 * at each op, as a chmod may come between), else a condition naming
 * somebody else's lock would take it for anyone. */
static struct lock *cond_lock_or_reply(struct request *rq)
{
	struct condition *cv = &rq->obj->u.cond;
	struct lock *l = cond_lock(cv);
	if (!l) {
		reply_error(&rq->reply, IPCD_ENOTFOUND, "the condition's lock '%s' is not a lock object (any more)",
		            cv->lock_name);
		return NULL;
	}
	if (cv->lock_name && !state_replaying && !access_may(rq->client, cond_lock_object(cv), ACCESS_W)) {
		reply_error(&rq->reply, IPCD_EPERMISSION, "%s: uid %d needs write access to the condition's lock '%s'",
		            rq->op->name, (int)rq->client->uid, cv->lock_name);
		return NULL;
	}
	return l;
}

/* ---- sleepers ------------------------------------------------------------------ */

static void sleeper_free(struct cond_sleeper *s)
{
	struct condition *cv = s->cond;
	if (s->client)
		LIST_REMOVE(&s->hold, link);
	TAILQ_REMOVE(&cv->sleepers, s, link);
	cv->nsleepers--;
	free(s);
}

/* Mark the n oldest waits for a notify notified; returns how many. */
static uint64_t cond_notify(struct condition *cv, uint64_t n)
{
	uint64_t k = 0;
	struct cond_sleeper *s;
	TAILQ_FOREACH(s, &cv->sleepers, link) {
		if (k == n)
			break;
		if (s->phase == COND_WAITING) {
			s->phase = COND_NOTIFIED;
			k++;
		}
	}
	cv->total_notified += k;
	return k;
}

/* s's wait is over without its answer: a notify it had goes to the next. */
static void sleeper_drop(struct cond_sleeper *s)
{
	struct condition *cv = s->cond;
	int pass = s->phase == COND_NOTIFIED;
	sleeper_free(s);
	if (pass && cond_notify(cv, 1)) {
		cv->total_notified--;   /* the same notify, moved */
		waitq_serve(&cv->waiters);
	}
}

/* The waiter's note is done with: an answered wait's entry goes; one not
 * answered stays, held, until its connection closes (then its notify
 * moves on) or it asks again. */
static void sleeper_note_free(void *note)
{
	struct cond_sleeper *s = note;
	s->waiter = NULL;
	if (s->phase == COND_DONE)
		sleeper_free(s);
}

static struct cond_sleeper *sleeper_of(struct condition *cv, const struct client *c)
{
	struct cond_sleeper *s;
	TAILQ_FOREACH(s, &cv->sleepers, link)
		if (s->client == c)
			return s;
	return NULL;
}

static struct cond_sleeper *sleeper_new(struct condition *cv, struct client *c, uint64_t reqid)
{
	struct cond_sleeper *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cond = cv;
	s->client = c;
	s->pid = c ? c->pid : 0;
	s->reqid = reqid;
	s->phase = COND_WAITING;
	s->hold.obj = cv->obj;
	if (c)
		LIST_INSERT_HEAD(&c->holds, &s->hold, link);
	TAILQ_INSERT_TAIL(&cv->sleepers, s, link);
	cv->nsleepers++;
	return s;
}

/* ---- type operations ------------------------------------------------------- */

static const char *const cond_option_keys[] = { "lock", NULL };

static int cond_option(void *ctx, unsigned i, const msgpack_object *v)
{
	if (v->type != MSGPACK_OBJECT_STR || !v->via.str.size || v->via.str.size > config.max_name ||
	    memchr(v->via.str.ptr, 0, v->via.str.size))
		return 1;
	*(const msgpack_object **)ctx = v;
	return 0;
}

static int cond_parse_options(const msgpack_object *opts, const msgpack_object **lock, const char **why)
{
	const msgpack_object *unknown;
	*lock = NULL;
	int rc = wire_options(opts, cond_option_keys, cond_option, lock, &unknown);
	if (rc == 0)
		return 0;
	*why = rc == WIRE_EUNKNOWN ? "unknown condition option (conditions take: lock)"
	     : rc == WIRE_ETYPE    ? "condition options are a map"
	                           : "condition option lock is the name of a lock object";
	return IPCD_EBADARG;
}

static int cond_init(struct object *o, const msgpack_object *opts, const char **why)
{
	struct condition *cv = &o->u.cond;
	const msgpack_object *name;
	int err = cond_parse_options(opts, &name, why);
	if (err)
		return err;
	memset(cv, 0, sizeof(*cv));
	if (name && !(cv->lock_name = strndup(name->via.str.ptr, name->via.str.size))) {
		*why = "out of memory";
		return IPCD_ENOMEM;
	}
	cv->obj = o;
	lock_init(&cv->own, o, 1, 1);
	waitq_init(&cv->waiters);
	TAILQ_INIT(&cv->sleepers);
	return 0;
}

static int cond_same_options(const struct object *o, const msgpack_object *opts)
{
	const struct condition *cv = &o->u.cond;
	const msgpack_object *name;
	const char *why;
	if (cond_parse_options(opts, &name, &why))
		return 0;
	if (!name || !cv->lock_name)
		return !name && !cv->lock_name;
	return strlen(cv->lock_name) == name->via.str.size && memcmp(cv->lock_name, name->via.str.ptr, name->via.str.size) == 0;
}

static void cond_deinit(struct object *o)
{
	struct condition *cv = &o->u.cond;
	struct cond_sleeper *s;
	while ((s = TAILQ_FIRST(&cv->sleepers)))
		sleeper_free(s);
	lock_deinit(&cv->own);
	free(cv->lock_name);
	cv->lock_name = NULL;
}

/* Waits inside condition.wait. */
static uint64_t cond_size(const struct object *o)
{
	return o->u.cond.nsleepers;
}

/* No items (see lock.c's dump). */
static void cond_dump(const struct object *o, msgpack_packer *pk)
{
	msgpack_pack_array(pk, 0);
}

static void cond_dump_page(const struct object *o, uint64_t cursor, uint64_t count, msgpack_packer *pk)
{
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint64(pk, 0);
	msgpack_pack_array(pk, 0);
}

static void cond_pack_options(const struct object *o, msgpack_packer *pk)
{
	if (!o->u.cond.lock_name) {
		msgpack_pack_map(pk, 0);
		return;
	}
	msgpack_pack_map(pk, 1);
	pack_key_str(pk, "lock", o->u.cond.lock_name);
}

/* The requests of o waiting on the lock's queue (a named lock's is shared). */
static uint32_t cond_lock_waiters(const struct object *o, struct lock *l)
{
	uint32_t n = 0;
	struct waiter *w;
	if (l == &o->u.cond.own)
		return l->waiters.count;
	TAILQ_FOREACH(w, &l->waiters.head, link)
		n += w->obj == o;
	return n;
}

static void cond_cancel_waiters(struct object *o)
{
	struct condition *cv = &o->u.cond;
	struct client *c;
	waitq_fail_all(&cv->waiters, IPCD_EDELETED, "condition deleted while waiting");
	/* Its requests in line for its lock, a named lock's queue among them:
	 * found by their connections, since the registry may be going too. */
	TAILQ_FOREACH(c, &server_clients, link)
		if (c->waiter.wq && c->waiter.obj == o)
			waiter_fail(&c->waiter, IPCD_EDELETED, "condition deleted while waiting");
}

static uint32_t cond_waiting(const struct object *o)
{
	struct lock *l = cond_lock((struct condition *)&o->u.cond);
	return o->u.cond.waiters.count + (l ? cond_lock_waiters(o, l) : 0);
}

/* A connection closed: its own lock, or its place in a wait. */
static void cond_release_hold(struct object *o, struct hold *h)
{
	struct condition *cv = &o->u.cond;
	if (h == &cv->own.hold) {
		lock_holder_gone(&cv->own);
		return;
	}
	struct cond_sleeper *s = (struct cond_sleeper *)((char *)h - offsetof(struct cond_sleeper, hold));
	s->client = NULL;   /* off the connection's list already */
	sleeper_drop(s);
}

#define COND_STAT_KEYS (LOCK_STAT_KEYS + 3)

static void cond_pack_stat(const struct object *o, const struct client *viewer, msgpack_packer *pk)
{
	static const struct lock none;
	const struct condition *cv = &o->u.cond;
	const struct lock *l = cond_lock((struct condition *)cv);
	const struct object *lo = cond_lock_object(cv);
	if (lo && !access_may(viewer, lo, ACCESS_R))
		l = NULL;      /* a named lock's state is for whom may read that lock */
	const struct cond_sleeper *s;
	lock_pack_stat(l ? l : &none, pk);
	pack_cstr(pk, "lock");
	if (cv->lock_name)
		pack_cstr(pk, cv->lock_name);
	else
		msgpack_pack_nil(pk);
	pack_cstr(pk, "waiters");   /* [{pid, phase}] in wait order */
	msgpack_pack_array(pk, cv->nsleepers);
	TAILQ_FOREACH(s, &cv->sleepers, link) {
		static const char *const phases[] = { "waiting", "notified", "timed_out", "done" };
		msgpack_pack_map(pk, 2);
		pack_key_int(pk, "pid", s->pid);
		pack_key_str(pk, "phase", phases[s->phase]);
	}
	pack_key_uint(pk, "notified", cv->total_notified);
}

/* Snapshot: kind 0 the own lock and [notified]; kind 1 the waits,
 * [sid, pid, request id, count, phase]. */
static int cond_save(const struct object *o, struct state_saver *sv)
{
	const struct condition *cv = &o->u.cond;
	const struct cond_sleeper *s;
	msgpack_packer *pk = state_save_content(sv, o, 0, 2);
	lock_save_entry(&cv->own, pk);
	msgpack_pack_uint64(pk, cv->total_notified);
	if (state_save_end(sv) < 0)
		return -1;
	if (!cv->nsleepers)
		return 0;
	pk = state_save_content(sv, o, 1, cv->nsleepers);
	TAILQ_FOREACH(s, &cv->sleepers, link) {
		msgpack_pack_array(pk, 5);
		msgpack_pack_uint64(pk, state_sid(s->client));
		msgpack_pack_int64(pk, s->pid);
		msgpack_pack_uint64(pk, s->reqid);
		msgpack_pack_uint64(pk, s->count);
		msgpack_pack_uint32(pk, s->phase);
	}
	return state_save_end(sv);
}

static int cond_restore(struct object *o, unsigned kind, const msgpack_object *entries)
{
	struct condition *cv = &o->u.cond;
	const msgpack_object *e = entries->via.array.ptr;
	uint32_t n = entries->via.array.size;
	if (kind == 0)
		return n == 2 && lock_restore_entry(&cv->own, &e[0]) == 0 && wire_obj_uint(&e[1], &cv->total_notified) == 0
		           ? 0 : -1;
	if (kind != 1)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t sid, reqid, count, phase;
		int64_t pid;
		if (e[i].type != MSGPACK_OBJECT_ARRAY || e[i].via.array.size != 5)
			return -1;
		const msgpack_object *f = e[i].via.array.ptr;
		if (wire_obj_uint(&f[0], &sid) || wire_obj_int(&f[1], &pid) || wire_obj_uint(&f[2], &reqid) ||
		    wire_obj_uint(&f[3], &count) || wire_obj_uint(&f[4], &phase) || phase >= COND_DONE)
			return -1;
		struct client *c = state_session(sid, (pid_t)pid);
		struct cond_sleeper *s = c ? sleeper_new(cv, c, reqid) : NULL;
		if (!s)
			return -1;
		s->pid = (pid_t)pid;
		s->count = count;
		s->phase = (enum cond_phase)phase;
	}
	return 0;
}

const struct object_type condition_type = {
	.init = cond_init,
	.same_options = cond_same_options,
	.deinit = cond_deinit,
	.size = cond_size,
	.dump = cond_dump,
	.dump_page = cond_dump_page,
	.pack_options = cond_pack_options,
	.cancel_waiters = cond_cancel_waiters,
	.waiting = cond_waiting,
	.release = cond_release_hold,
	.save = cond_save,
	.restore = cond_restore,
	.stat_keys = COND_STAT_KEYS,
	.pack_stat = cond_pack_stat,
};

/* ---- handlers -------------------------------------------------------------- */

/* {notified, owner_died} */
static void cond_reply_wait(struct request *rq, int notified, int owner_died)
{
	msgpack_packer *pk = reply_ok(&rq->reply);
	msgpack_pack_map(pk, 2);
	pack_key_bool(pk, "notified", notified);
	pack_key_bool(pk, "owner_died", owner_died);
	reply_end(&rq->reply);
}

/* The wait of s takes its lock back if it is its turn: answers and returns
 * 1, else 0. */
static int cond_take_back(struct request *rq, struct lock *l, struct cond_sleeper *s)
{
	if (l->count || !request_is_next(rq, &l->waiters))
		return 0;
	int died = lock_take(l, rq->client, s->count ? s->count : 1);
	int notified = s->phase == COND_NOTIFIED;
	s->phase = COND_DONE;
	cond_reply_wait(rq, notified, died);
	if (!s->waiter)
		sleeper_free(s);   /* replayed; a live one goes with its waiter */
	return 1;
}

/* A parked wait dispatched again: notified, or its time is up, or neither. */
static void cond_wait_again(struct request *rq, struct condition *cv, struct lock *l, struct cond_sleeper *s)
{
	if (s->phase == COND_WAITING) {
		if (!rq->timed_out) {
			request_park(rq, &cv->waiters, request_arg(rq, 1), IPCD_ETIMEOUT, "");
			return;
		}
		s->phase = COND_TIMED_OUT;   /* no notify is for it now: logged, so that a replay agrees */
		state_request_changed(rq);
	}
	if (cond_take_back(rq, l, s))
		return;
	/* In line for the lock, with no deadline: a wait answers only with its lock. */
	struct waiter *w = rq->retry;
	if (w->wq != &l->waiters)
		waiter_move(w, &l->waiters);
	rq->parked = 1;
}

/* condition.wait NAME [TIMEOUT] -> {notified, owner_died} | NOTHELD */
void handle_COND_WAIT(struct request *rq)
{
	struct condition *cv = &rq->obj->u.cond;
	const msgpack_object *timeout = request_arg(rq, 1);
	struct lock *l = cond_lock_or_reply(rq);
	if (!l)
		return;
	if (rq->retry) {
		cond_wait_again(rq, cv, l, rq->retry->note);
		return;
	}
	struct cond_sleeper *s = sleeper_of(cv, rq->client);
	if (s && s->reqid == rq->reply.id) {
		/* Replayed: a later record of this wait, its timeout or its answer. */
		if (s->phase == COND_WAITING)
			s->phase = COND_TIMED_OUT;
		if (!cond_take_back(rq, l, s))
			reply_nil(&rq->reply);
		return;
	}
	if (s)
		sleeper_drop(s);   /* a wait of its that ended without its answer */
	if (!lock_held_for(l, rq->client)) {
		reply_error(&rq->reply, IPCD_ENOTHELD, "cannot wait on an un-acquired lock");
		return;
	}
	if (proto_timeout_ms(timeout) == 0) {   /* given up and taken back at once: nothing changes */
		cond_reply_wait(rq, 0, 0);
		return;
	}
	if (!(s = sleeper_new(cv, rq->client, rq->reply.id))) {
		reply_nomem(&rq->reply);
		return;
	}
	if (!state_replaying) {
		struct waiter *w = request_park(rq, &cv->waiters, timeout, IPCD_ETIMEOUT, "");
		if (!w) {
			sleeper_free(s);
			return;
		}
		w->note = s;
		w->note_free = sleeper_note_free;
		s->waiter = w;
	}
	s->count = lock_give_up(l);
	if (state_replaying)
		reply_nil(&rq->reply);
	else
		state_request_changed(rq);
}

/* Notify up to n waits (lock held), then let them line up for the lock. */
static void cond_notify_op(struct request *rq, uint64_t n)
{
	struct condition *cv = &rq->obj->u.cond;
	struct lock *l = cond_lock_or_reply(rq);
	if (!l)
		return;
	if (!lock_held_for(l, rq->client)) {
		reply_error(&rq->reply, IPCD_ENOTHELD, "cannot notify on an un-acquired lock");
		return;
	}
	reply_uint(&rq->reply, cond_notify(cv, n));
	waitq_serve(&cv->waiters);
}

/* condition.notify NAME [N] -> how many waits were woken | NOTHELD */
void handle_COND_NOTIFY(struct request *rq)
{
	const msgpack_object *n = request_arg(rq, 1);
	cond_notify_op(rq, n ? n->via.u64 : 1);
}

/* condition.notify_all NAME -> how many | NOTHELD */
void handle_COND_NOTIFY_ALL(struct request *rq)
{
	cond_notify_op(rq, UINT64_MAX);
}

/* condition.acquire NAME [TIMEOUT] -> {owner_died} | TIMEOUT */
void handle_COND_ACQUIRE(struct request *rq)
{
	struct lock *l = cond_lock_or_reply(rq);
	if (l)
		lock_acquire_op(rq, l, request_arg(rq, 1));
}

/* condition.release NAME -> nil | NOTHELD */
void handle_COND_RELEASE(struct request *rq)
{
	struct lock *l = cond_lock_or_reply(rq);
	if (l)
		lock_release_op(rq, l);
}
