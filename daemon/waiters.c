/*
 * waiters.c: parked requests (see waiters.h). The wait queues belong to
 * objects; this file knows how to enter and leave them, when to dispatch
 * their requests again, and how deadlines end them. What a retry does is
 * the handler's business, reached through the function dispatch.c set.
 */
#include <stdlib.h>
#include <event2/event.h>
#include "waiters.h"
#include "clock.h"
#include "reply.h"
#include "server.h"

static waiter_retry_fn *retry;
static int in_round;   /* a retry is running: waitq_serve only queues */
static TAILQ_HEAD(, waitq) round_queues = TAILQ_HEAD_INITIALIZER(round_queues);

void waiters_set_retry(waiter_retry_fn *fn)
{
	retry = fn;
}

void waitq_init(struct waitq *q)
{
	TAILQ_INIT(&q->head);
	q->count = 0;
	q->queued = 0;
}

/* Retry q's waiters, oldest first, until one stays where it is. */
static void waitq_run(struct waitq *q)
{
	struct waiter *w;
	while ((w = waitq_first(q)) && (retry(w, 0) || waitq_first(q) != w))
		;
}

/* Serve every queue that a retry of this round changed. */
static void round_end(void)
{
	struct waitq *q;
	while ((q = TAILQ_FIRST(&round_queues))) {
		TAILQ_REMOVE(&round_queues, q, round_link);
		q->queued = 0;
		waitq_run(q);
	}
	in_round = 0;
}

void waitq_serve(struct waitq *q)
{
	if (!q->count)
		return;
	if (in_round) {
		if (!q->queued) {
			q->queued = 1;
			TAILQ_INSERT_TAIL(&round_queues, q, round_link);
		}
		return;
	}
	in_round = 1;
	waitq_run(q);
	round_end();
}

/* Timer callback: the deadline passed; the handler says what that means. */
static void waiter_expired(evutil_socket_t fd, short what, void *arg)
{
	struct waiter *w = arg;
	w->has_timer = 0;
	in_round = 1;
	retry(w, 1);
	round_end();
}

void waiter_interrupt(struct waiter *w)
{
	if (w->has_timer) {
		event_del(&w->timer);
		w->has_timer = 0;
	}
	w->interrupted = 1;
	in_round = 1;
	retry(w, 1);
	round_end();
}

void waiter_park(struct waiter *w, struct waitq *q, int64_t timeout_ms)
{
	w->interrupted = 0;
	w->since_ms = clock_mono_ms();
	w->wq = q;
	TAILQ_INSERT_TAIL(&q->head, w, link);
	q->count++;
	if (timeout_ms >= 0) {
		struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
		event_assign(&w->timer, server_base, -1, 0, waiter_expired, w);
		event_add(&w->timer, &tv);
		w->has_timer = 1;
	}
}

static void waiter_unlink(struct waiter *w)
{
	if (w->wq) {
		TAILQ_REMOVE(&w->wq->head, w, link);
		w->wq->count--;
		w->wq = NULL;
	}
}

void waiter_move(struct waiter *w, struct waitq *q)
{
	waiter_unlink(w);
	w->wq = q;
	TAILQ_INSERT_TAIL(&q->head, w, link);
	q->count++;
}

/* Unpark w and free what it holds; the client is not resumed. */
static void waiter_release(struct waiter *w)
{
	waiter_unlink(w);
	if (w->has_timer) {
		event_del(&w->timer);
		w->has_timer = 0;
	}
	free(w->frame);
	w->frame = NULL;
	if (w->note_free)
		w->note_free(w->note);
	w->note = NULL;
	w->note_free = NULL;
	w->obj = NULL;
	w->interrupted = 0;
}

void waiter_done(struct waiter *w)
{
	waiter_release(w);
	client_resume(w->client);
}

void waiter_fail(struct waiter *w, int code, const char *msg)
{
	struct reply r;
	reply_init(&r, w->client, w->id);
	reply_error(&r, code, "%s", msg);
	waiter_done(w);
}

void waitq_fail_all(struct waitq *q, int code, const char *msg)
{
	struct waiter *w;
	while ((w = TAILQ_FIRST(&q->head)))
		waiter_fail(w, code, msg);
	if (q->queued) {   /* the queue is going away: not to be served later */
		TAILQ_REMOVE(&round_queues, q, round_link);
		q->queued = 0;
	}
}

void waiter_cancel(struct waiter *w)
{
	waiter_release(w);
}
