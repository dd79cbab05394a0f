/*
 * barrier.c: the barrier type, threading.Barrier for processes.
 *
 * Parties arrive with barrier.wait and park; the one that makes `parties`
 * releases them all, each answered with its arrival index (0 for the
 * first), and the barrier starts a new round. A wait whose timeout passes,
 * an abort, or the connection of a waiting party closing breaks the
 * barrier: every wait now and later answers BROKEN until reset (which also
 * answers the waits of the round it ends BROKEN, as threading's does).
 *
 * The action: a last arrival whose wait asks for it (option action) is
 * answered at once, told to run the barrier's action, and the round is held
 * until it says barrier.done: the others stay parked (their timeouts do not
 * run out meanwhile, as threading's cannot while the action holds its
 * lock), arrivals meanwhile start the next round, and a failed action, the
 * acting party's connection closing, an abort or a reset breaks the
 * barrier, the held round with it.
 *
 * Each arrival is an entry, struct barrier_party, held on its connection
 * (so that its closing breaks the barrier, replayed too) and noted in its
 * parked request (w->note). An arrival changes the state before it
 * answers, so it is logged when it parks (sync.h); replayed, it leaves its
 * entry without a request, and the later record of the same request
 * (same session, same id) is its answer, or, if its round was not
 * released, the timeout that broke the barrier.
 */
#include <stdlib.h>
#include <string.h>
#include "object.h"
#include "dispatch.h"
#include "reply.h"
#include "state.h"
#include "wire.h"

/* ---- parties --------------------------------------------------------------- */

/* A new arrival of c (not yet counted), its hold taken. */
static struct barrier_party *party_new(struct barrier *b, struct client *c, uint64_t reqid, uint32_t index)
{
	struct barrier_party *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->barrier = b;
	p->client = c;
	p->pid = c ? c->pid : 0;
	p->reqid = reqid;
	p->index = index;
	p->phase = BARRIER_ARRIVED;
	p->hold.obj = b->obj;
	if (c) {
		LIST_INSERT_HEAD(&c->holds, &p->hold, link);
		p->held = 1;
	}
	TAILQ_INSERT_TAIL(&b->arrived, p, link);
	return p;
}

/* Take p off its connection's list. */
static void party_unhold(struct barrier_party *p)
{
	if (p->held)
		LIST_REMOVE(&p->hold, link);
	p->held = 0;
}

static void party_free(struct barrier_party *p)
{
	party_unhold(p);
	TAILQ_REMOVE(&p->barrier->arrived, p, link);
	free(p);
}

/* The waiter's note is done with: an answered party goes (and a held one
 * whose connection went: its round is whole); one still arrived (its
 * request was cancelled or answered by someone else) stays, held, so that
 * its connection's closing breaks the barrier. */
static void party_note_free(void *note)
{
	struct barrier_party *p = note;
	p->waiter = NULL;
	if (p->phase != BARRIER_ARRIVED)
		party_free(p);
}

/* c's entry, or NULL. */
static struct barrier_party *party_of(struct barrier *b, const struct client *c)
{
	struct barrier_party *p;
	TAILQ_FOREACH(p, &b->arrived, link)
		if (p->client == c)
			return p;
	return NULL;
}

/* End the round's arrivals with phase: released or broken. Entries whose
 * request waits are answered by it; the others (replayed) go now unless
 * released, whose later record answers them. */
static void barrier_end_round(struct barrier *b, enum barrier_phase phase)
{
	struct barrier_party *p, *next;
	for (p = TAILQ_FIRST(&b->arrived); p; p = next) {
		next = TAILQ_NEXT(p, link);
		if (p->phase != BARRIER_ARRIVED)
			continue;
		p->phase = phase;
		party_unhold(p);
		if (!p->waiter && phase == BARRIER_BROKEN)
			party_free(p);
	}
	b->count = 0;
	waitq_serve(&b->waiters);
}

/* End the held round with phase, released or broken: the acting party's
 * entry goes when released, or stays to answer its barrier.done BROKEN. */
static void barrier_end_action(struct barrier *b, enum barrier_phase phase)
{
	struct barrier_party *p, *next;
	if (!b->acting)
		return;
	for (p = TAILQ_FIRST(&b->arrived); p; p = next) {
		next = TAILQ_NEXT(p, link);
		if (p->phase != BARRIER_HELD)
			continue;
		p->phase = phase;
		party_unhold(p);
		if (!p->waiter && phase == BARRIER_BROKEN)
			party_free(p);
	}
	if (phase == BARRIER_RELEASED) {
		b->rounds++;
		party_free(b->acting);
	} else
		b->acting->phase = BARRIER_ACTION_BROKEN;
	b->acting = NULL;
	waitq_serve(&b->held);
}

static void barrier_break(struct barrier *b)
{
	if (!b->broken)
		b->total_broken++;
	b->broken = 1;
	barrier_end_round(b, BARRIER_BROKEN);
	barrier_end_action(b, BARRIER_BROKEN);
}

/* The last arrival c runs the action: the round's parties wait on, held. */
static struct barrier_party *barrier_hold_round(struct barrier *b, struct client *c, uint64_t reqid, uint32_t index)
{
	struct barrier_party *p, *acting = party_new(b, c, reqid, index);
	if (!acting)
		return NULL;
	acting->phase = BARRIER_ACTING;
	b->acting = acting;
	TAILQ_FOREACH(p, &b->arrived, link) {
		if (p->phase != BARRIER_ARRIVED)
			continue;
		p->phase = BARRIER_HELD;
		if (p->waiter)
			waiter_move(p->waiter, &b->held);
	}
	b->count = 0;
	return acting;
}

/* ---- type operations ------------------------------------------------------- */

static const char *const barrier_option_keys[] = { "parties", NULL };

static int barrier_option(void *ctx, unsigned i, const msgpack_object *v)
{
	uint64_t n;
	if (wire_obj_uint(v, &n) || n < 1 || n > UINT32_MAX)
		return 1;
	*(uint32_t *)ctx = (uint32_t)n;
	return 0;
}

static int barrier_parse_options(const msgpack_object *opts, uint32_t *parties, const char **why)
{
	const msgpack_object *unknown;
	*parties = 0;
	int rc = wire_options(opts, barrier_option_keys, barrier_option, parties, &unknown);
	/* No parties: no options at all, or an empty map (what a snapshot of
	 * such a barrier holds); it refuses waits until made again with some. */
	if (rc == 0 && (*parties || !opts || (opts->type == MSGPACK_OBJECT_MAP && opts->via.map.size == 0)))
		return 0;
	*why = rc == WIRE_EUNKNOWN ? "unknown barrier option (barriers take: parties)"
	     : rc == WIRE_ETYPE    ? "barrier options are a map"
	                           : "barrier option parties is an integer >= 1";
	return IPCD_EBADARG;
}

static int barrier_init(struct object *o, const msgpack_object *opts, const char **why)
{
	struct barrier *b = &o->u.barrier;
	uint32_t parties;
	int err = barrier_parse_options(opts, &parties, why);
	if (err)
		return err;
	memset(b, 0, sizeof(*b));
	b->obj = o;
	b->parties = parties;
	waitq_init(&b->waiters);
	waitq_init(&b->held);
	TAILQ_INIT(&b->arrived);
	return 0;
}

static int barrier_same_options(const struct object *o, const msgpack_object *opts)
{
	uint32_t parties;
	const char *why;
	return barrier_parse_options(opts, &parties, &why) == 0 && parties == o->u.barrier.parties;
}

static void barrier_deinit(struct object *o)
{
	struct barrier *b = &o->u.barrier;
	struct barrier_party *p;
	while ((p = TAILQ_FIRST(&b->arrived)))
		party_free(p);
}

/* Parties waiting. */
static uint64_t barrier_size(const struct object *o)
{
	return o->u.barrier.count;
}

/* No items (see lock.c's dump). */
static void barrier_dump(const struct object *o, msgpack_packer *pk)
{
	msgpack_pack_array(pk, 0);
}

static void barrier_dump_page(const struct object *o, uint64_t cursor, uint64_t count, msgpack_packer *pk)
{
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint64(pk, 0);
	msgpack_pack_array(pk, 0);
}

static void barrier_pack_options(const struct object *o, msgpack_packer *pk)
{
	if (!o->u.barrier.parties) {
		msgpack_pack_map(pk, 0);
		return;
	}
	msgpack_pack_map(pk, 1);
	pack_key_uint(pk, "parties", o->u.barrier.parties);
}

static void barrier_cancel_waiters(struct object *o)
{
	o->u.barrier.broken = 1;   /* the parties answered now do not break it again */
	waitq_fail_all(&o->u.barrier.waiters, IPCD_EDELETED, "barrier deleted while waiting");
	waitq_fail_all(&o->u.barrier.held, IPCD_EDELETED, "barrier deleted while waiting");
}

static uint32_t barrier_waiting(const struct object *o)
{
	return o->u.barrier.waiters.count + o->u.barrier.held.count;
}

/* A party's connection closed: one waiting, or running the action, breaks
 * the barrier; one of a held round (replayed: no request) just goes. */
static void barrier_release_hold(struct object *o, struct hold *h)
{
	struct barrier *b = &o->u.barrier;
	struct barrier_party *p = (struct barrier_party *)((char *)h - offsetof(struct barrier_party, hold));
	p->held = 0;   /* off the connection's list already */
	switch (p->phase) {
	case BARRIER_ARRIVED:
		barrier_break(b);
		break;
	case BARRIER_ACTING:
		barrier_break(b);   /* leaves it ACTION_BROKEN */
		party_free(p);
		break;
	case BARRIER_HELD:
	case BARRIER_ACTION_BROKEN:
		if (!p->waiter)
			party_free(p);
		break;
	default:
		break;
	}
}

#define BARRIER_STAT_KEYS 6

static void barrier_pack_stat(const struct object *o, const struct client *viewer, msgpack_packer *pk)
{
	const struct barrier *b = &o->u.barrier;
	const struct barrier_party *p;
	pack_key_uint(pk, "n_waiting", b->count);
	pack_key_bool(pk, "broken", b->broken);
	pack_cstr(pk, "waiters");   /* the pids of the parties waiting, in arrival order */
	msgpack_pack_array(pk, b->count);
	TAILQ_FOREACH(p, &b->arrived, link)
		if (p->phase == BARRIER_ARRIVED)
			msgpack_pack_int64(pk, p->pid);
	pack_key_uint(pk, "rounds", b->rounds);
	pack_key_uint(pk, "breaks", b->total_broken);
	pack_cstr(pk, "action");    /* the pid running the action, nil when none runs */
	if (b->acting)
		msgpack_pack_int64(pk, b->acting->pid);
	else
		msgpack_pack_nil(pk);
}

/* Snapshot: kind 0 [count, broken, rounds, breaks]; kind 1 the parties
 * waiting, kind 2 those of a held round, kind 3 the one running the action,
 * each [sid, pid, request id, index]. */
static const enum barrier_phase barrier_saved_phase[] = { BARRIER_ARRIVED, BARRIER_HELD, BARRIER_ACTING };

static int barrier_save_parties(const struct barrier *b, struct state_saver *s, unsigned kind)
{
	const struct barrier_party *p;
	uint32_t n = 0;
	TAILQ_FOREACH(p, &b->arrived, link)
		n += p->phase == barrier_saved_phase[kind - 1];
	if (!n)
		return 0;
	msgpack_packer *pk = state_save_content(s, b->obj, kind, n);
	TAILQ_FOREACH(p, &b->arrived, link) {
		if (p->phase != barrier_saved_phase[kind - 1])
			continue;
		msgpack_pack_array(pk, 4);
		msgpack_pack_uint64(pk, state_sid(p->client));
		msgpack_pack_int64(pk, p->pid);
		msgpack_pack_uint64(pk, p->reqid);
		msgpack_pack_uint32(pk, p->index);
	}
	return state_save_end(s);
}

static int barrier_save(const struct object *o, struct state_saver *s)
{
	const struct barrier *b = &o->u.barrier;
	msgpack_packer *pk = state_save_content(s, o, 0, 4);
	msgpack_pack_uint32(pk, b->count);
	(b->broken ? msgpack_pack_true : msgpack_pack_false)(pk);
	msgpack_pack_uint64(pk, b->rounds);
	msgpack_pack_uint64(pk, b->total_broken);
	if (state_save_end(s) < 0)
		return -1;
	for (unsigned kind = 1; kind <= 3; kind++)
		if (barrier_save_parties(b, s, kind) < 0)
			return -1;
	return 0;
}

static int barrier_restore(struct object *o, unsigned kind, const msgpack_object *entries)
{
	struct barrier *b = &o->u.barrier;
	const msgpack_object *e = entries->via.array.ptr;
	uint32_t n = entries->via.array.size;
	uint64_t count;
	if (kind == 0) {
		/* count is the parties of the record after this one, which counts them as it restores them */
		if (n != 4 || wire_obj_uint(&e[0], &count) || e[1].type != MSGPACK_OBJECT_BOOLEAN ||
		    wire_obj_uint(&e[2], &b->rounds) || wire_obj_uint(&e[3], &b->total_broken) || count >= b->parties + 1u)
			return -1;
		b->broken = e[1].via.boolean;
		return 0;
	}
	if (kind < 1 || kind > 3 || (kind == 3 && (n != 1 || b->acting)))
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t sid, reqid, index;
		int64_t pid;
		if (e[i].type != MSGPACK_OBJECT_ARRAY || e[i].via.array.size != 4)
			return -1;
		const msgpack_object *f = e[i].via.array.ptr;
		if (wire_obj_uint(&f[0], &sid) || wire_obj_int(&f[1], &pid) || wire_obj_uint(&f[2], &reqid) ||
		    wire_obj_uint(&f[3], &index) || index >= b->parties)
			return -1;
		struct client *c = state_session(sid, (pid_t)pid);
		struct barrier_party *p = c ? party_new(b, c, reqid, (uint32_t)index) : NULL;
		if (!p)
			return -1;
		p->pid = (pid_t)pid;
		p->phase = barrier_saved_phase[kind - 1];
		if (kind == 1)
			b->count++;
		else if (kind == 3)
			b->acting = p;
	}
	return 0;
}

const struct object_type barrier_type = {
	.init = barrier_init,
	.same_options = barrier_same_options,
	.deinit = barrier_deinit,
	.size = barrier_size,
	.dump = barrier_dump,
	.dump_page = barrier_dump_page,
	.pack_options = barrier_pack_options,
	.cancel_waiters = barrier_cancel_waiters,
	.waiting = barrier_waiting,
	.release = barrier_release_hold,
	.save = barrier_save,
	.restore = barrier_restore,
	.stat_keys = BARRIER_STAT_KEYS,
	.pack_stat = barrier_pack_stat,
};

/* ---- handlers -------------------------------------------------------------- */

/* The answer of a wait that broke the barrier itself (its timeout): logged,
 * since the barrier changed; replayed, a success. */
static void barrier_broke_it(struct request *rq, const char *why)
{
	if (state_replaying) {
		reply_nil(&rq->reply);
		return;
	}
	state_request_changed(rq);
	reply_error(&rq->reply, IPCD_EBROKEN, "%s: the barrier is broken", why);
}

/* barrier.wait's OPTIONS: action (bool). 0, or BADARG replied. */
static const char *const barrier_wait_keys[] = { "action", NULL };

static int barrier_wait_option(void *ctx, unsigned i, const msgpack_object *v)
{
	return sync_bool_option(v, ctx) ? 1 : 0;
}

static int barrier_wait_options_or_reply(struct request *rq, unsigned *action)
{
	const msgpack_object *unknown;
	*action = 0;
	int rc = wire_options(request_arg(rq, 2), barrier_wait_keys, barrier_wait_option, action, &unknown);
	if (!rc)
		return 0;
	reply_error(&rq->reply, IPCD_EBADARG, "%s", rc == WIRE_EUNKNOWN ? "unknown barrier.wait option (it takes: action)"
	            : rc == WIRE_ETYPE ? "barrier.wait options are a map" : "barrier.wait option action is a bool");
	return -1;
}

/* A wait's answer: its index, or with option action {index, action}, action
 * true telling the last arrival to run the action and then barrier.done. */
static void barrier_reply_index(struct request *rq, uint32_t index, int run_action)
{
	unsigned action;
	if (barrier_wait_options_or_reply(rq, &action))
		return;
	if (!action) {
		reply_uint(&rq->reply, index);
		return;
	}
	msgpack_packer *pk = reply_ok(&rq->reply);
	msgpack_pack_map(pk, 2);
	pack_key_uint(pk, "index", index);
	pack_key_bool(pk, "action", run_action);
	reply_end(&rq->reply);
}

/* A parked wait dispatched again: its round released, broken, held while
 * the action runs (its time does not run out then), or its time up. */
static void barrier_wait_again(struct request *rq, struct barrier *b, struct barrier_party *p)
{
	if (p->phase == BARRIER_RELEASED)
		barrier_reply_index(rq, p->index, 0);   /* the party goes with its waiter */
	else if (p->phase == BARRIER_HELD)
		rq->parked = 1;
	else if (p->phase == BARRIER_BROKEN)
		reply_error(&rq->reply, IPCD_EBROKEN, "the barrier broke while waiting");
	else if (rq->timed_out) {
		barrier_break(b);
		barrier_broke_it(rq, "timed out");
	} else
		request_park(rq, &b->waiters, request_arg(rq, 1), IPCD_ETIMEOUT, "");
}

/* barrier.wait NAME [TIMEOUT] [OPTIONS] -> arrival index (0 .. parties-1), or with
 * {"action": true} {index, action} | BROKEN */
void handle_BARRIER_WAIT(struct request *rq)
{
	struct barrier *b = &rq->obj->u.barrier;
	const msgpack_object *timeout = request_arg(rq, 1);
	unsigned action;
	if (rq->retry) {
		barrier_wait_again(rq, b, rq->retry->note);
		return;
	}
	if (!b->parties) {
		reply_error(&rq->reply, IPCD_EBADARG, "barrier '%s' was made without parties: create it with "
		            "options {\"parties\": N}", rq->obj->name);
		return;
	}
	if (barrier_wait_options_or_reply(rq, &action))
		return;
	struct barrier_party *p = party_of(b, rq->client);
	if (p && p->phase == BARRIER_RELEASED && p->reqid == rq->reply.id) {
		barrier_reply_index(rq, p->index, 0);   /* replayed: this wait's answer */
		party_free(p);
		return;
	}
	if (p && p->phase == BARRIER_ACTING) {
		reply_error(&rq->reply, IPCD_EBADARG, "this connection runs the barrier's action: "
		            "barrier.done first");
		return;
	}
	if (p && p->phase == BARRIER_ARRIVED) {
		/* Its earlier wait ended without its round (replayed: that wait's
		 * timeout): it left the barrier, which breaks. */
		barrier_break(b);
		barrier_broke_it(rq, "a party left");
		return;
	}
	if (p)
		party_free(p);      /* a released wait whose answer was never logged */
	if (b->broken) {
		reply_error(&rq->reply, IPCD_EBROKEN, "the barrier is broken (reset makes it whole)");
		return;
	}
	uint32_t index = b->count;
	if (index + 1 == b->parties && action) {
		if (!barrier_hold_round(b, rq->client, rq->reply.id, index))
			reply_nomem(&rq->reply);
		else
			barrier_reply_index(rq, index, 1);
		return;
	}
	if (index + 1 == b->parties) {
		b->rounds++;
		reply_uint(&rq->reply, index);
		barrier_end_round(b, BARRIER_RELEASED);
		return;
	}
	if (proto_timeout_ms(timeout) == 0) {   /* wait(0): its time is up at once */
		barrier_break(b);
		barrier_broke_it(rq, "timed out");
		return;
	}
	if (!(p = party_new(b, rq->client, rq->reply.id, index))) {
		reply_nomem(&rq->reply);
		return;
	}
	b->count++;
	if (state_replaying) {      /* the arrival, replayed: its entry waits for its answer's record */
		reply_nil(&rq->reply);
		return;
	}
	struct waiter *w = request_park(rq, &b->waiters, timeout, IPCD_ETIMEOUT, "");
	if (!w) {                   /* no memory to park: as if it never came */
		b->count--;
		party_free(p);
		return;
	}
	w->note = p;
	w->note_free = party_note_free;
	p->waiter = w;
	state_request_changed(rq);
}

/* barrier.reset NAME -> nil: empty and whole again; the waits of the round answer BROKEN */
void handle_BARRIER_RESET(struct request *rq)
{
	struct barrier *b = &rq->obj->u.barrier;
	rq->unchanged = !b->count && !b->broken && !b->parties && !b->acting;   /* what a free name reads as */
	reply_nil(&rq->reply);
	barrier_end_round(b, BARRIER_BROKEN);
	barrier_end_action(b, BARRIER_BROKEN);
	b->broken = 0;
}

/* barrier.done NAME [OK] -> nil | NOTHELD | BROKEN: the action this
 * connection was told to run ended; OK false (it failed) breaks the barrier */
void handle_BARRIER_DONE(struct request *rq)
{
	struct barrier *b = &rq->obj->u.barrier;
	const msgpack_object *ok = request_arg(rq, 1);
	if (ok && ok->type != MSGPACK_OBJECT_NIL && ok->type != MSGPACK_OBJECT_BOOLEAN) {
		reply_error(&rq->reply, IPCD_EBADARG, "barrier.done's OK is a bool");
		return;
	}
	struct barrier_party *p = party_of(b, rq->client);
	if (p && p->phase == BARRIER_ACTION_BROKEN) {
		party_free(p);
		reply_error(&rq->reply, IPCD_EBROKEN, "the barrier broke while the action ran");
		return;
	}
	if (!p || p->phase != BARRIER_ACTING) {
		reply_error(&rq->reply, IPCD_ENOTHELD, "this connection runs no action of barrier '%s'", rq->obj->name);
		return;
	}
	reply_nil(&rq->reply);
	if (ok && ok->type == MSGPACK_OBJECT_BOOLEAN && !ok->via.boolean) {
		barrier_break(b);   /* threading: an action that raises breaks the barrier */
		party_free(p);
	} else
		barrier_end_action(b, BARRIER_RELEASED);
}

/* barrier.abort NAME -> nil */
void handle_BARRIER_ABORT(struct request *rq)
{
	reply_nil(&rq->reply);
	barrier_break(&rq->obj->u.barrier);
}

/* barrier.broken NAME -> bool */
void handle_BARRIER_BROKEN(struct request *rq)
{
	reply_bool(&rq->reply, rq->obj->u.barrier.broken);
}

/* barrier.n_waiting NAME -> parties waiting */
void handle_BARRIER_N_WAITING(struct request *rq)
{
	reply_uint(&rq->reply, rq->obj->u.barrier.count);
}

/* barrier.parties NAME -> parties */
void handle_BARRIER_PARTIES(struct request *rq)
{
	reply_uint(&rq->reply, rq->obj->u.barrier.parties);
}
