/*
 * lock.c: the lock type, threading.Lock and (option reentrant) RLock held
 * for processes, and the lock state a condition keeps for its own lock
 * (sync.h).
 *
 * Acquirers wait in FIFO order on the lock's wait queue; a release that
 * frees it serves them. A plain lock may be released by any connection; a
 * reentrant one counts its owner's acquisitions and only its owner may
 * release it. Either release of a lock not held is NOTHELD.
 *
 * Robust (option robust, default on): the holder's connection closing frees
 * the lock, and the next acquirer's reply says owner_died, once, as a robust
 * mutex's EOWNERDEAD does, so that it can repair what the lock guards. With
 * robust off the lock stays held after its holder is gone, as a Manager's
 * does: a plain one until some connection releases it, a reentrant one for
 * good.
 */
#include <stdlib.h>
#include <string.h>
#include "object.h"
#include "clock.h"
#include "dispatch.h"
#include "reply.h"
#include "state.h"
#include "wire.h"

/* ---- the lock state -------------------------------------------------------- */

void lock_init(struct lock *l, struct object *o, int reentrant, int robust)
{
	memset(l, 0, sizeof(*l));
	l->reentrant = reentrant != 0;
	l->robust = robust != 0;
	l->hold.obj = o;
	waitq_init(&l->waiters);
}

void lock_deinit(struct lock *l)
{
	if (l->holder)
		LIST_REMOVE(&l->hold, link);
	l->holder = NULL;
}

int lock_held_for(const struct lock *l, const struct client *c)
{
	return l->count && (!l->reentrant || l->holder == c);
}

/* True if c may take l now: it is free, or c owns it (reentrant). */
static int lock_may_take(const struct lock *l, const struct client *c)
{
	return !l->count || (l->reentrant && l->holder == c && c);
}

int lock_take(struct lock *l, struct client *c, uint64_t n)
{
	int died = 0;
	if (!l->count) {
		l->holder = c;
		l->holder_pid = c ? c->pid : 0;
		l->since_ms = clock_mono_ms();
		if (c)
			LIST_INSERT_HEAD(&c->holds, &l->hold, link);
		died = l->owner_died;
		l->owner_died = 0;
		l->total_acquired++;
	}
	l->count += n;
	return died;
}

/* Free l and let its waiters in. */
static void lock_free(struct lock *l)
{
	lock_deinit(l);
	l->count = 0;
	waitq_serve(&l->waiters);
}

uint64_t lock_give_up(struct lock *l)
{
	uint64_t n = l->count;
	if (n)
		lock_free(l);
	return n;
}

void lock_holder_gone(struct lock *l)
{
	l->holder = NULL;   /* its hold is off the connection's list already */
	if (!l->robust)
		return;         /* held by nobody until released, as a Manager's lock */
	l->owner_died = 1;
	l->total_owner_died++;
	l->count = 0;
	waitq_serve(&l->waiters);
}

void lock_acquire_op(struct request *rq, struct lock *l, const msgpack_object *timeout)
{
	/* An owner takes its reentrant lock again at once, even past waiters:
	 * they wait for it to be free. */
	if (lock_may_take(l, rq->client) && (l->count || request_is_next(rq, &l->waiters))) {
		sync_reply_flag(rq, "owner_died", lock_take(l, rq->client, 1));
		return;
	}
	request_park(rq, &l->waiters, timeout, IPCD_ETIMEOUT, "the lock is held");
}

void lock_release_op(struct request *rq, struct lock *l)
{
	if (!l->count) {
		reply_error(&rq->reply, IPCD_ENOTHELD, "release of an unlocked lock");
		return;
	}
	if (l->reentrant && l->holder != rq->client) {
		if (l->holder)
			reply_error(&rq->reply, IPCD_ENOTHELD, "the reentrant lock is held by another connection (pid %d)",
			            (int)l->holder_pid);
		else
			reply_error(&rq->reply, IPCD_ENOTHELD, "the reentrant lock's owner (pid %d) is gone and it is "
			            "not robust: nobody can release it", (int)l->holder_pid);
		return;
	}
	reply_nil(&rq->reply);
	if (--l->count == 0)
		lock_free(l);
}

void lock_pack_stat(const struct lock *l, msgpack_packer *pk)
{
	pack_key_bool(pk, "locked", l->count != 0);
	pack_key_uint(pk, "count", l->count);
	pack_cstr(pk, "holder");   /* the holder's pid; nil when free */
	if (l->count)
		msgpack_pack_int64(pk, l->holder_pid);
	else
		msgpack_pack_nil(pk);
	pack_key_bool(pk, "holder_connected", l->holder != NULL);
	pack_key_double(pk, "held_for", l->count ? (double)(clock_mono_ms() - l->since_ms) / 1000.0 : 0.0);
	pack_key_bool(pk, "owner_died", l->owner_died);
	pack_key_uint(pk, "acquired", l->total_acquired);
	pack_key_uint(pk, "owner_deaths", l->total_owner_died);
}

/* Snapshot: [count, holder sid, holder pid, owner_died, acquired, owner deaths]. */
void lock_save_entry(const struct lock *l, msgpack_packer *pk)
{
	msgpack_pack_array(pk, 6);
	msgpack_pack_uint64(pk, l->count);
	msgpack_pack_uint64(pk, state_sid(l->holder));
	msgpack_pack_int64(pk, l->holder_pid);
	(l->owner_died ? msgpack_pack_true : msgpack_pack_false)(pk);
	msgpack_pack_uint64(pk, l->total_acquired);
	msgpack_pack_uint64(pk, l->total_owner_died);
}

int lock_restore_entry(struct lock *l, const msgpack_object *e)
{
	int64_t pid;
	if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 6)
		return -1;
	const msgpack_object *f = e->via.array.ptr;
	if (f[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || f[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || wire_obj_int(&f[2], &pid) ||
	    f[3].type != MSGPACK_OBJECT_BOOLEAN || f[4].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    f[5].type != MSGPACK_OBJECT_POSITIVE_INTEGER || l->count)
		return -1;
	if (f[0].via.u64) {
		struct client *c = state_session(f[1].via.u64, (pid_t)pid);
		if (f[1].via.u64 && !c)
			return -1;
		lock_take(l, c, f[0].via.u64);
		l->holder_pid = (pid_t)pid;
	}
	l->owner_died = f[3].via.boolean;
	l->total_acquired = f[4].via.u64;
	l->total_owner_died = f[5].via.u64;
	return 0;
}

int sync_bool_option(const msgpack_object *v, unsigned *out)
{
	if (v->type != MSGPACK_OBJECT_BOOLEAN)
		return -1;
	*out = v->via.boolean;
	return 0;
}

void sync_reply_flag(struct request *rq, const char *key, int b)
{
	msgpack_packer *pk = reply_ok(&rq->reply);
	msgpack_pack_map(pk, 1);
	pack_key_bool(pk, key, b);
	reply_end(&rq->reply);
}

/* ---- type operations ------------------------------------------------------- */

struct lock_opts {
	unsigned reentrant, robust;
};

static const char *const lock_option_keys[] = { "reentrant", "robust", NULL };

static int lock_option(void *ctx, unsigned i, const msgpack_object *v)
{
	struct lock_opts *lo = ctx;
	return sync_bool_option(v, i == 0 ? &lo->reentrant : &lo->robust) < 0 ? 1 : 0;
}

static int lock_parse_options(const msgpack_object *opts, struct lock_opts *lo, const char **why)
{
	const msgpack_object *unknown;
	*lo = (struct lock_opts){ .reentrant = 0, .robust = 1 };
	int rc = wire_options(opts, lock_option_keys, lock_option, lo, &unknown);
	if (rc == 0)
		return 0;
	*why = rc == WIRE_EUNKNOWN ? "unknown lock option (locks take: reentrant, robust)"
	     : rc == WIRE_ETYPE    ? "lock options are a map"
	                           : "lock options reentrant and robust are bools";
	return IPCD_EBADARG;
}

static int lock_obj_init(struct object *o, const msgpack_object *opts, const char **why)
{
	struct lock_opts lo;
	int err = lock_parse_options(opts, &lo, why);
	if (err)
		return err;
	lock_init(&o->u.lock, o, lo.reentrant, lo.robust);
	return 0;
}

static int lock_same_options(const struct object *o, const msgpack_object *opts)
{
	struct lock_opts lo;
	const char *why;
	return lock_parse_options(opts, &lo, &why) == 0 && lo.reentrant == o->u.lock.reentrant &&
	       lo.robust == o->u.lock.robust;
}

static void lock_obj_deinit(struct object *o)
{
	lock_deinit(&o->u.lock);
}

/* A lock's size is its count: 0 free, 1 held, more for a reentrant one. */
static uint64_t lock_size(const struct object *o)
{
	return o->u.lock.count;
}

/* A lock has no items: dump is empty (its state is stat's), so that a dump
 * loaded back makes the same lock, free. */
static void lock_dump(const struct object *o, msgpack_packer *pk)
{
	msgpack_pack_array(pk, 0);
}

static void lock_dump_page(const struct object *o, uint64_t cursor, uint64_t count, msgpack_packer *pk)
{
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint64(pk, 0);
	msgpack_pack_array(pk, 0);
}

static void lock_pack_options(const struct object *o, msgpack_packer *pk)
{
	msgpack_pack_map(pk, 2);
	pack_key_bool(pk, "reentrant", o->u.lock.reentrant);
	pack_key_bool(pk, "robust", o->u.lock.robust);
}

static void lock_cancel_waiters(struct object *o)
{
	waitq_fail_all(&o->u.lock.waiters, IPCD_EDELETED, "lock deleted while waiting");
}

static uint32_t lock_waiting(const struct object *o)
{
	return o->u.lock.waiters.count;
}

static void lock_release_hold(struct object *o, struct hold *h)
{
	lock_holder_gone(&o->u.lock);
}

static void lock_obj_pack_stat(const struct object *o, const struct client *viewer, msgpack_packer *pk)
{
	lock_pack_stat(&o->u.lock, pk);
}

static int lock_save(const struct object *o, struct state_saver *s)
{
	msgpack_packer *pk = state_save_content(s, o, 0, 1);
	lock_save_entry(&o->u.lock, pk);
	return state_save_end(s);
}

static int lock_restore(struct object *o, unsigned kind, const msgpack_object *entries)
{
	if (kind != 0 || entries->via.array.size != 1)
		return -1;
	return lock_restore_entry(&o->u.lock, &entries->via.array.ptr[0]);
}

const struct object_type lock_type = {
	.init = lock_obj_init,
	.same_options = lock_same_options,
	.deinit = lock_obj_deinit,
	.size = lock_size,
	.dump = lock_dump,
	.dump_page = lock_dump_page,
	.pack_options = lock_pack_options,
	.cancel_waiters = lock_cancel_waiters,
	.waiting = lock_waiting,
	.release = lock_release_hold,
	.save = lock_save,
	.restore = lock_restore,
	.stat_keys = LOCK_STAT_KEYS,
	.pack_stat = lock_obj_pack_stat,
};

/* ---- handlers -------------------------------------------------------------- */

/* lock.acquire NAME [TIMEOUT] -> {owner_died: bool} | TIMEOUT */
void handle_LOCK_ACQUIRE(struct request *rq)
{
	lock_acquire_op(rq, &rq->obj->u.lock, request_arg(rq, 1));
}

/* lock.release NAME -> nil | NOTHELD */
void handle_LOCK_RELEASE(struct request *rq)
{
	lock_release_op(rq, &rq->obj->u.lock);
}

/* lock.locked NAME -> bool */
void handle_LOCK_LOCKED(struct request *rq)
{
	reply_bool(&rq->reply, rq->obj->u.lock.count != 0);
}
