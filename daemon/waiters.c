/*
 * waiters.c: parked requests with deadlines (see waiters.h). The wait queues
 * belong to objects; this file only knows how to enter, leave and expire them.
 */
#include <stdlib.h>
#include <time.h>
#include <event2/event.h>
#include "waiters.h"
#include "server.h"
#include "value.h"
#include "proto.h"

uint64_t waiters_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void waitq_init(struct waitq *q)
{
	TAILQ_INIT(&q->head);
	q->count = 0;
}

/* Timer callback: the deadline passed with nothing to give. */
static void waiter_expired(evutil_socket_t fd, short what, void *arg)
{
	struct waiter *w = arg;
	w->has_timer = 0;
	waiter_fail(w, IPCD_E_TIMEOUT, "timed out");
}

void waiter_park(struct waiter *w, struct waitq *q, int64_t timeout_ms)
{
	w->wq = q;
	w->since_ms = waiters_now_ms();
	TAILQ_INSERT_TAIL(&q->head, w, link);
	q->count++;
	if (timeout_ms >= 0) {
		struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
		event_assign(&w->timer, server_base, -1, 0, waiter_expired, w);
		event_add(&w->timer, &tv);
		w->has_timer = 1;
	}
}

/* Unlink w and free what it holds; the client is not resumed. */
static void waiter_release(struct waiter *w)
{
	if (w->wq) {
		TAILQ_REMOVE(&w->wq->head, w, link);
		w->wq->count--;
		w->wq = NULL;
	}
	if (w->has_timer) {
		event_del(&w->timer);
		w->has_timer = 0;
	}
	for (uint32_t i = 0; i < w->n_values; i++)
		value_free(w->values[i]);
	free(w->values);
	w->values = NULL;
	w->n_values = 0;
	w->obj = NULL;
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
}

void waiter_cancel(struct waiter *w)
{
	waiter_release(w);
}
