/*
 * test_waiters.c: the one blocking mechanism, without sockets: parked
 * requests are retried oldest first until one stays parked, retries never
 * nest (a queue changed by a retry is served when the round ends),
 * deadlines are one more retry, a moved waiter keeps its deadline, failing
 * a queue answers everyone, and a cancelled waiter is dropped unanswered
 * with its note freed. The clients are stand-ins with an event for resume.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <event2/event.h>
#include "config.h"
#include "proto.h"
#include "server.h"
#include "waiters.h"

#define NCLIENTS 6

static struct client clients[NCLIENTS];
static int resumed[NCLIENTS];
static int ready[NCLIENTS];     /* the retry answers client i while ready[i] */
static int retries[32], nretries;
static int timed_out_seen[NCLIENTS];
static struct waitq *serve_from_retry[NCLIENTS]; /* a retry of client i serves this queue */

static int index_of(const struct client *c) { return (int)(c - clients); }

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	resumed[index_of(arg)]++;
}

/* The stand-in handler: answers while its client is ready (or its time is
 * up), else stays parked. */
static int retry_fn(struct waiter *w, int timed_out)
{
	int i = index_of(w->client);
	if (nretries < 32)
		retries[nretries++] = i;
	if (serve_from_retry[i]) {
		struct waitq *q = serve_from_retry[i];
		serve_from_retry[i] = NULL;
		waitq_serve(q);
	}
	if (timed_out)
		timed_out_seen[i]++;
	if (ready[i] || timed_out) {
		waiter_done(w);
		return 1;
	}
	return 0;
}

static int setup(void **state)
{
	(void)state;
	config_defaults(&config);
	server_base = event_base_new();
	memset(clients, 0, sizeof(clients));
	memset(resumed, 0, sizeof(resumed));
	memset(ready, 0, sizeof(ready));
	memset(timed_out_seen, 0, sizeof(timed_out_seen));
	memset(serve_from_retry, 0, sizeof(serve_from_retry));
	nretries = 0;
	for (int i = 0; i < NCLIENTS; i++) {
		clients[i].cid = (uint64_t)i + 1;
		clients[i].fd = -1;
		buf_init(&clients[i].out);
		buf_init(&clients[i].in);
		event_assign(&clients[i].ev_resume, server_base, -1, 0, on_resume, &clients[i]);
	}
	waiters_set_retry(retry_fn);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NCLIENTS; i++) {
		buf_free(&clients[i].out);
		buf_free(&clients[i].in);
	}
	event_base_free(server_base);
	server_base = NULL;
	return 0;
}

static void park(int i, struct waitq *q, int64_t timeout_ms)
{
	struct waiter *w = &clients[i].waiter;
	w->client = &clients[i];
	w->id = (uint64_t)i;
	w->frame = malloc(4);
	w->frame_len = 4;
	waiter_park(w, q, timeout_ms);
}

/* Run what the loop has ready (resumes, due timers), once. */
static void run_loop(void)
{
	event_base_loop(server_base, EVLOOP_NONBLOCK);
}

static void test_oldest_first_until_one_stays(void **state)
{
	(void)state;
	struct waitq q;
	waitq_init(&q);
	for (int i = 0; i < 4; i++)
		park(i, &q, -1);
	assert_int_equal(q.count, 4);
	ready[0] = ready[1] = ready[3] = 1;   /* 2 cannot go on: 3 must not overtake it */
	waitq_serve(&q);
	assert_int_equal(nretries, 3);
	assert_int_equal(retries[0], 0);
	assert_int_equal(retries[1], 1);
	assert_int_equal(retries[2], 2);
	assert_int_equal(q.count, 2);
	assert_ptr_equal(waitq_first(&q), &clients[2].waiter);
	assert_null(clients[0].waiter.wq);
	assert_null(clients[0].waiter.frame);
	run_loop();
	assert_int_equal(resumed[0], 1);
	assert_int_equal(resumed[1], 1);
	assert_int_equal(resumed[2], 0);
	ready[2] = 1;
	waitq_serve(&q);
	assert_int_equal(q.count, 0);
	assert_int_equal(retries[3], 2);
	assert_int_equal(retries[4], 3);
}

static void test_retries_never_nest(void **state)
{
	(void)state;
	struct waitq a, b;
	waitq_init(&a);
	waitq_init(&b);
	park(0, &a, -1);
	park(1, &a, -1);
	park(2, &b, -1);
	ready[0] = ready[1] = ready[2] = 1;
	serve_from_retry[0] = &b;   /* 0's retry changes b: b waits for the round's end */
	waitq_serve(&a);
	assert_int_equal(nretries, 3);
	assert_int_equal(retries[0], 0);
	assert_int_equal(retries[1], 1);
	assert_int_equal(retries[2], 2);
	assert_int_equal(a.count + b.count, 0);
	assert_false(b.queued);
}

static void test_deadline_is_one_more_retry(void **state)
{
	(void)state;
	struct waitq q, other;
	waitq_init(&q);
	waitq_init(&other);
	park(0, &q, 20);
	park(1, &q, -1);
	waiter_move(&clients[0].waiter, &other);   /* keeps its deadline */
	assert_ptr_equal(waitq_first(&q), &clients[1].waiter);
	assert_ptr_equal(waitq_first(&other), &clients[0].waiter);
	struct timeval limit = { 5, 0 };
	event_base_loopexit(server_base, &limit);
	while (!timed_out_seen[0] && !event_base_got_exit(server_base))
		event_base_loop(server_base, EVLOOP_ONCE);
	assert_int_equal(timed_out_seen[0], 1);
	assert_int_equal(other.count, 0);
	assert_int_equal(q.count, 1);
	assert_int_equal(timed_out_seen[1], 0);
	waiter_cancel(&clients[1].waiter);
}

static int notes_freed;
static void note_free(void *note)
{
	free(note);
	notes_freed++;
}

static void test_fail_all_and_cancel(void **state)
{
	(void)state;
	struct waitq q;
	waitq_init(&q);
	notes_freed = 0;
	for (int i = 0; i < 3; i++) {
		park(i, &q, 1000);
		clients[i].waiter.note = malloc(8);
		clients[i].waiter.note_free = note_free;
	}
	waiter_cancel(&clients[1].waiter);   /* gone: no answer, no resume */
	assert_int_equal(q.count, 2);
	assert_int_equal(notes_freed, 1);
	waitq_fail_all(&q, IPCD_EDELETED, "object deleted");
	assert_int_equal(q.count, 0);
	assert_int_equal(notes_freed, 3);
	assert_true(buf_used(&clients[0].out) > 0);   /* the error reply */
	assert_true(buf_used(&clients[2].out) > 0);
	assert_int_equal(buf_used(&clients[1].out), 0);
	run_loop();
	assert_int_equal(resumed[0], 1);
	assert_int_equal(resumed[1], 0);
	assert_int_equal(resumed[2], 1);
	assert_int_equal(nretries, 0);   /* failing retries nobody; their timers are gone too */
	event_base_loop(server_base, EVLOOP_NONBLOCK);
	assert_int_equal(timed_out_seen[0] + timed_out_seen[2], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_oldest_first_until_one_stays, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retries_never_nest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadline_is_one_more_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_all_and_cancel, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
