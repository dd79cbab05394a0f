/*
 * waiters.h: parked requests, one mechanism for every blocking op.
 *
 * A handler either answers its request or parks it on one of its object's
 * wait queues (request_park in dispatch.h). A parked request is kept as it
 * arrived, its frame copied, and costs no CPU. When the object changes, the
 * handler that changed it calls waitq_serve, and the parked requests are
 * dispatched again, in FIFO order, through the same handler code that
 * serves a request arriving now: it answers them or they stay parked, in
 * their place. The first that stays parked ends the round, so a request
 * never overtakes an older one on the same queue. A deadline is one more
 * retry, with the request told that its time is up.
 *
 * Nothing here knows any type: a handler that must remember something
 * between retries keeps it in w->note, freed with the waiter.
 *
 * A client has at most one parked request (it stops reading requests while
 * one is parked, which keeps replies in request order). A client that
 * disconnects has it cancelled: it loses its place and nothing else, since
 * a parked request has not changed any object.
 */
#ifndef IPCD_WAITERS_H
#define IPCD_WAITERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <event2/event_struct.h>

struct client;
struct object;

struct waiter {
	struct client *client;
	struct waitq *wq;            /* NULL when not parked */
	TAILQ_ENTRY(waiter) link;
	uint64_t id;                 /* request id to answer */
	unsigned op;                 /* op code, for `clients` */
	struct object *obj;          /* the object parked on, for `clients`; NULL for none */
	char *frame;                 /* the request body as it arrived, owned */
	size_t frame_len;
	struct event timer;
	int has_timer;
	uint64_t since_ms;           /* monotonic time parked, for `clients` */
	int interrupted;             /* ended early by a cancel (waiter_interrupt): a retry that is timed out */
	void *note;                  /* the handler's own state across retries, owned */
	void (*note_free)(void *note);
};

struct waitq {
	TAILQ_HEAD(, waiter) head;
	uint32_t count;
	int queued;                  /* on the list of queues to serve when the current round ends */
	TAILQ_ENTRY(waitq) round_link;
};

#define WAITQ_INITIALIZER(q) { .head = TAILQ_HEAD_INITIALIZER((q).head) }

void waitq_init(struct waitq *q);
static inline struct waiter *waitq_first(struct waitq *q) { return TAILQ_FIRST(&q->head); }

/*
 * How a parked request is dispatched again (set once by dispatch.c).
 * timed_out: its deadline passed. Returns 1 if it was answered, 0 if it
 * stayed parked.
 */
typedef int waiter_retry_fn(struct waiter *w, int timed_out);
void waiters_set_retry(waiter_retry_fn *fn);

/*
 * Park w (client, id, op, obj, frame already set) at the tail of q, with a
 * deadline timeout_ms from now (< 0: none). Its client stops processing
 * requests until w is answered.
 */
void waiter_park(struct waiter *w, struct waitq *q, int64_t timeout_ms);
/* Move parked w to the tail of q (keeping its deadline). */
void waiter_move(struct waiter *w, struct waitq *q);
/* w was answered: unpark it, free what it holds, resume its client. */
void waiter_done(struct waiter *w);
/* Answer w with error code and message, then waiter_done. */
void waiter_fail(struct waiter *w, int code, const char *msg);
/* Fail every waiter of q with code (object deleted, shutdown). */
void waitq_fail_all(struct waitq *q, int code, const char *msg);
/*
 * Its client asked to end parked w now (a cancel): w is dispatched again as
 * if its deadline had passed, with w->interrupted set, and either answers
 * or stays parked for what a timed-out request still waits for (a
 * condition wait in line for its lock).
 */
void waiter_interrupt(struct waiter *w);
/* Drop w without answering (its client is gone). */
void waiter_cancel(struct waiter *w);

/*
 * q's object changed: dispatch its waiters again now, oldest first, until
 * one stays parked. Called from a retry (serving one waiter changed another
 * queue), q is served when the current round ends instead, so that retries
 * never nest.
 */
void waitq_serve(struct waitq *q);

#endif
