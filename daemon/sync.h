/*
 * sync.h: the synchronisation types, threading's primitives held by the
 * daemon for processes: lock (lock.c), semaphore (semaphore.c), event
 * (event.c), condition (condition.c) and barrier (barrier.c).
 *
 * They block the one way every op blocks (waiters.h): a handler answers or
 * parks, and what changes an object serves its wait queues, oldest first.
 *
 * What a connection holds (a lock, semaphore units, its place in a condition
 * wait or at a barrier) is a struct hold on its list (server.h): when it
 * closes, the object's type takes it back (object_type.release), and the
 * close is logged so that a replay takes it back the same way.
 *
 * Persistence: every op that changes state is OPF_WRITE, and each handler
 * is deterministic given its request, the state and the clock, so that the
 * log replays through it. Two waits change state before they answer (a
 * condition wait gives up its lock and parks; a barrier party arrives and
 * parks): they log themselves at once (state_request_changed), and their
 * handler, replayed, records the waiting connection instead of parking it.
 * Such a record and the later one of the same request answering are told
 * apart by the entry the first left behind (same session, same request id).
 */
#ifndef IPCD_SYNC_H
#define IPCD_SYNC_H

#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <msgpack.h>
#include "server.h"
#include "waiters.h"

struct object;
struct request;
struct state_saver;

/*
 * The lock state shared by lock objects and a condition's own lock. count
 * 0: free. A plain lock has count 1 while held and may be released by any
 * connection; a reentrant one (RLock) counts its owner's acquisitions and
 * only its owner releases it. holder is the connection that took it, NULL
 * once free, or once its holder closed when robust is off (the lock then
 * stays held, as a Manager's lock does).
 */
struct lock {
	uint64_t count;
	struct client *holder;
	pid_t holder_pid;           /* of the last acquirer, shown while held */
	uint64_t since_ms;          /* monotonic: when it was taken */
	unsigned reentrant : 1, robust : 1;
	unsigned owner_died : 1;    /* freed because its holder closed: told to the next acquirer */
	struct hold hold;           /* on holder's list while holder != NULL; hold.obj is the object */
	struct waitq waiters;       /* acquirers, and condition waits taking their lock back */
	uint64_t total_acquired, total_owner_died;
};

/* semaphore: value units free; robust tracks who took which units, so that
 * a closing connection's units come back. */
struct sem_holder {
	struct hold hold;           /* on the connection's list */
	TAILQ_ENTRY(sem_holder) link;
	struct client *client;
	pid_t pid;
	uint64_t units;
};

struct semaphore {
	uint64_t value;
	uint64_t initial;           /* option value: the bound of a bounded one */
	unsigned bounded : 1, robust : 1;
	struct waitq waiters;
	TAILQ_HEAD(, sem_holder) holders;   /* oldest first */
	uint32_t nholders;
	uint64_t total_acquired, total_returned;
};

/* event: one flag; waits end when it is set. */
struct sync_event {
	int flag;
	struct waitq waiters;
	uint64_t total_set;
};

/* A connection inside condition.wait: from the moment it gave its lock up
 * until it has it back. */
enum cond_phase { COND_WAITING, COND_NOTIFIED, COND_TIMED_OUT, COND_DONE };

struct cond_sleeper {
	struct hold hold;           /* on the connection's list */
	TAILQ_ENTRY(cond_sleeper) link;
	struct condition *cond;
	struct client *client;
	struct waiter *waiter;      /* its parked request; NULL when replayed or detached */
	uint64_t reqid;
	uint64_t count;             /* the lock's count it gave up, taken back with it */
	pid_t pid;
	enum cond_phase phase;
};

struct condition {
	struct object *obj;
	char *lock_name;            /* option lock: a lock object; NULL = own (reentrant) lock */
	struct lock own;            /* used when lock_name is NULL */
	struct waitq waiters;       /* condition.wait waiting for a notify */
	TAILQ_HEAD(, cond_sleeper) sleepers;   /* in wait order */
	uint32_t nsleepers;
	uint64_t total_notified;
};

/* barrier: parties arrive, the last releases them all; or, when it asked
 * to run the barrier's action, holds them (HELD) until it says the action
 * is done (ACTING until then; ACTION_BROKEN if the barrier broke meanwhile,
 * kept to answer its barrier.done). */
enum barrier_phase { BARRIER_ARRIVED, BARRIER_RELEASED, BARRIER_BROKEN,
                     BARRIER_HELD, BARRIER_ACTING, BARRIER_ACTION_BROKEN };

struct barrier_party {
	struct hold hold;           /* on the connection's list while ARRIVED, HELD, ACTING or ACTION_BROKEN */
	int held;
	TAILQ_ENTRY(barrier_party) link;
	struct barrier *barrier;
	struct client *client;
	struct waiter *waiter;      /* its parked request; NULL when replayed or detached */
	uint64_t reqid;
	uint32_t index;             /* arrival index, the answer */
	pid_t pid;
	enum barrier_phase phase;
};

struct barrier {
	struct object *obj;
	uint32_t parties;           /* option parties; 0 = made without it (waits refused) */
	uint32_t count;             /* arrived in this round */
	int broken;
	struct waitq waiters;
	struct waitq held;          /* the waits of the round whose action runs */
	struct barrier_party *acting;   /* the party running the action, or NULL */
	TAILQ_HEAD(, barrier_party) arrived;   /* arrival order */
	uint64_t rounds, total_broken;
};

/* ---- the lock state (lock.c), for lock objects and conditions ---- */

void lock_init(struct lock *l, struct object *o, int reentrant, int robust);
/* Unlink it from its holder; its waiters were answered already. */
void lock_deinit(struct lock *l);
/* True if c holds it the way a condition needs: its owner for a reentrant
 * lock, anyone while a plain one is held (threading.Condition's rule). */
int lock_held_for(const struct lock *l, const struct client *c);
/* Take it for c n times (it is free, or c owns it): returns 1 if its last
 * holder died without releasing it (owner_died, told once). */
int lock_take(struct lock *l, struct client *c, uint64_t n);
/* Free it whatever its count, serving its waiters; returns the count. */
uint64_t lock_give_up(struct lock *l);
/* Its holder's connection closed (the hold is off its list). */
void lock_holder_gone(struct lock *l);
/* The acquire and release ops on l, for lock.* and condition.*. */
void lock_acquire_op(struct request *rq, struct lock *l, const msgpack_object *timeout);
void lock_release_op(struct request *rq, struct lock *l);
/* stat's lock entries (LOCK_STAT_KEYS) and a snapshot entry of l, and back. */
#define LOCK_STAT_KEYS 8
void lock_pack_stat(const struct lock *l, msgpack_packer *pk);
void lock_save_entry(const struct lock *l, msgpack_packer *pk);
int lock_restore_entry(struct lock *l, const msgpack_object *e);

/* One bool option's value into *out: 0, or -1 if it is not a bool. */
int sync_bool_option(const msgpack_object *v, unsigned *out);
/* Pack the owner_died-style map {key: b}. */
void sync_reply_flag(struct request *rq, const char *key, int b);

#endif
