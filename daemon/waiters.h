/*
 * waiters.h: parked requests. A request that must wait (queue.get on an empty
 * queue, queue.put on a full one, list.blpop, ...) becomes a waiter on one of
 * its object's wait queues, in FIFO order, with an optional deadline. It
 * costs no CPU while parked: the operation that can satisfy it (a put, a get)
 * takes it off the queue and replies, or its libevent timer expires it.
 *
 * A client has at most one waiter (it stops reading requests while one is
 * parked, which keeps replies in request order). A client that disconnects
 * has its waiter cancelled: it loses its place and nothing else, since a
 * parked request has not changed any object.
 *
 * A new blocking op must: park with waiter_park, be woken by whichever op
 * satisfies it (calling waiter_done after replying), and have its held data
 * (w->values) released by waiter_release.
 */
#ifndef IPCD_WAITERS_H
#define IPCD_WAITERS_H

#include <stdint.h>
#include <sys/queue.h>
#include <event2/event_struct.h>

struct client;
struct object;
struct value;

struct waiter {
	struct client *client;
	uint64_t id;                 /* request id to answer */
	unsigned op;                 /* op code */
	struct object *obj;          /* object parked on (kept alive while parked) */
	struct waitq *wq;            /* NULL when not parked */
	TAILQ_ENTRY(waiter) link;
	struct event timer;
	int has_timer;
	uint64_t count;              /* queue.get_many: max items wanted */
	int64_t lease_ms;            /* queue.get_ack: lease asked for, -1 = the queue's default */
	int64_t priority, delay_ms;  /* queue.put / put_many: how the items are placed */
	struct value **values;       /* queue.put / put_many: items to add, owned */
	uint32_t n_values;
	uint64_t since_ms;           /* monotonic time parked, for `clients` */
};

struct waitq {
	TAILQ_HEAD(, waiter) head;
	uint32_t count;
};

void waitq_init(struct waitq *q);
static inline struct waiter *waitq_first(struct waitq *q) { return TAILQ_FIRST(&q->head); }

/*
 * Park w (already filled: client, id, op, obj, count, values) at the tail of
 * q; timeout_ms < 0 waits forever. The client stops processing requests.
 */
void waiter_park(struct waiter *w, struct waitq *q, int64_t timeout_ms);
/*
 * Take w off its queue after it has been answered: stops its timer, frees
 * what it holds, resumes its client's request processing.
 */
void waiter_done(struct waiter *w);
/* Answer w with error code and message, then waiter_done. */
void waiter_fail(struct waiter *w, int code, const char *msg);
/* Cancel every waiter of q with code (object deleted, shutdown). */
void waitq_fail_all(struct waitq *q, int code, const char *msg);
/* Drop w without answering (its client is gone). */
void waiter_cancel(struct waiter *w);

/* Monotonic milliseconds. */
uint64_t waiters_now_ms(void);

#endif
