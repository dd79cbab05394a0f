/*
 * test_patterns.c: the patterns of Python's multiprocessing lesson, run as
 * real processes against a real ipcd through libipcd: producer/consumer with
 * a sentinel, the task queue with four workers, concurrent counters that
 * must not lose an update, a blocking get woken by another process, get
 * timeouts honoured, never early and not late, and a pipeline driven from the caller's
 * own poll loop (ipcd_fd, ipcd_read_available), and many connections
 * driven from one loop that spins with ipcd_ready before it polls.
 */
#include <math.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <ipcd.h>
#include "patterns.h"

#define CHILD_TIMEOUT_MS 120000

/* Fork a child running fn(arg); the child exits with fn's result. */
static pid_t spawn(int (*fn)(int), int arg)
{
	return patterns_spawn(fn, arg);
}

static int reap(pid_t pid)
{
	return patterns_reap(pid, CHILD_TIMEOUT_MS);
}

/* ---- producer / consumer with a sentinel -------------------------------- */

#define PC_ITEMS 2000

static int producer(int unused)
{
	ipcd *c = patterns_connect();
	for (int i = 0; i < PC_ITEMS; i++)
		if (ipcd_queue_put_int(c, "pc.items", i, -1) != IPCD_OK)
			return 1;
	int rc = ipcd_queue_put(c, "pc.items", NULL, 0, -1); /* nil: done */
	ipcd_close(c);
	return rc == IPCD_OK ? 0 : 2;
}

/* Takes items until the sentinel; exits 0 only if they came in order. */
static int consumer(int unused)
{
	ipcd *c = patterns_connect();
	struct ipcd_result r;
	int64_t expect = 0, v;
	for (;;) {
		if (ipcd_queue_get(c, "pc.items", 30, &r) != IPCD_OK)
			return 1;
		if (r.value.type == MSGPACK_OBJECT_NIL)
			break;
		if (ipcd_obj_int(&r.value, &v) != IPCD_OK || v != expect++)
			return 2;
	}
	ipcd_close(c);
	return expect == PC_ITEMS ? 0 : 3;
}

static void test_producer_consumer_sentinel(void **state)
{
	pid_t cons = spawn(consumer, 0); /* the consumer starts first and waits */
	pid_t prod = spawn(producer, 0);
	assert_int_equal(reap(prod), 0);
	assert_int_equal(reap(cons), 0);
}

/* ---- task queue: 4 workers square 0..99999 ------------------------------- */

#define TASKS 100000
#define WORKERS 4

static int worker(int unused)
{
	ipcd *c = patterns_connect();
	struct ipcd_result r;
	int64_t n;
	for (;;) {
		if (ipcd_queue_get(c, "tq.tasks", 60, &r) != IPCD_OK)
			return 1;
		if (r.value.type == MSGPACK_OBJECT_NIL)
			break;
		if (ipcd_obj_int(&r.value, &n) != IPCD_OK)
			return 2;
		if (ipcd_queue_put_int(c, "tq.results", n * n, -1) != IPCD_OK)
			return 3;
	}
	ipcd_close(c);
	return 0;
}

static void test_task_queue_four_workers(void **state)
{
	pid_t workers[WORKERS];
	for (int i = 0; i < WORKERS; i++)
		workers[i] = spawn(worker, i);

	ipcd *c = patterns_connect();
	unsigned char bufs[1000][IPCD_SCALAR_SIZE];
	struct ipcd_val vals[1000];
	for (int base = 0; base < TASKS; base += 1000) {
		for (int i = 0; i < 1000; i++)
			vals[i] = ipcd_val_int(bufs[i], base + i);
		assert_int_equal(ipcd_queue_put_many(c, "tq.tasks", vals, 1000, -1), IPCD_OK);
	}
	for (int i = 0; i < WORKERS; i++)
		assert_int_equal(ipcd_queue_put(c, "tq.tasks", NULL, 0, -1), IPCD_OK);

	/* Every square exactly once: the multiset of results is exact. */
	unsigned char *seen = calloc(TASKS, 1);
	int got = 0;
	while (got < TASKS) {
		struct ipcd_result r;
		assert_int_equal(ipcd_queue_get_many(c, "tq.results", 1000, 30, &r), IPCD_OK);
		assert_int_equal(r.value.type, MSGPACK_OBJECT_ARRAY);
		for (uint32_t i = 0; i < r.value.via.array.size; i++) {
			int64_t sq;
			assert_int_equal(ipcd_obj_int(&r.value.via.array.ptr[i], &sq), IPCD_OK);
			int64_t root = llround(sqrt((double)sq));
			assert_true(root * root == sq && root < TASKS);
			assert_int_equal(seen[root], 0);
			seen[root] = 1;
			got++;
		}
	}
	free(seen);
	uint64_t left;
	assert_int_equal(ipcd_queue_qsize(c, "tq.results", &left), IPCD_OK);
	assert_int_equal(left, 0);
	ipcd_close(c);
	for (int i = 0; i < WORKERS; i++)
		assert_int_equal(reap(workers[i]), 0);
}

/* ---- acknowledged task queue with prefetch ----------------------------- */

#define PF_TASKS 3000
#define PF_AHEAD 16

/* Takes tasks PF_AHEAD at a time (ipcd_set_prefetch), acks each after
 * putting its square; stops at the sentinel nil. arg 1: takes a batch and
 * dies without acking any (its deliveries must come back). */
static int prefetch_worker(int dies)
{
	ipcd *c = patterns_connect();
	ipcd_set_prefetch(c, PF_AHEAD);
	for (;;) {
		struct ipcd_delivery d;
		int64_t v;
		if (ipcd_queue_get_ack(c, "pf.tasks", 30, 0, &d) != IPCD_OK)
			return 1;
		if (dies)
			_exit(0);   /* holding PF_AHEAD deliveries, none acked */
		if (d.value.type == MSGPACK_OBJECT_NIL) {
			ipcd_queue_ack(c, "pf.tasks", d.id);
			break;
		}
		if (ipcd_obj_int(&d.value, &v) != IPCD_OK || ipcd_queue_put_int(c, "pf.results", v * v, -1) != IPCD_OK ||
		    ipcd_queue_ack(c, "pf.tasks", d.id) != IPCD_OK)
			return 2;
	}
	ipcd_close(c);
	return 0;
}

static void test_prefetching_workers_lose_nothing(void **state)
{
	ipcd *c = patterns_connect();
	unsigned char bufs[1000][IPCD_SCALAR_SIZE];
	struct ipcd_val vals[1000];
	for (int base = 0; base < PF_TASKS; base += 1000) {
		for (int i = 0; i < 1000; i++)
			vals[i] = ipcd_val_int(bufs[i], base + i);
		assert_int_equal(ipcd_queue_put_many(c, "pf.tasks", vals, 1000, -1), IPCD_OK);
	}
	/* One worker takes a batch ahead and dies first: its batch comes back. */
	assert_int_equal(reap(spawn(prefetch_worker, 1)), 0);
	uint64_t n;
	assert_int_equal(ipcd_queue_qsize(c, "pf.tasks", &n), IPCD_OK);
	assert_int_equal(n, PF_TASKS);
	pid_t workers[WORKERS];
	for (int i = 0; i < WORKERS; i++)
		workers[i] = spawn(prefetch_worker, 0);
	for (int i = 0; i < WORKERS; i++)
		assert_int_equal(ipcd_queue_put(c, "pf.tasks", NULL, 0, -1), IPCD_OK);
	unsigned char *seen = calloc(PF_TASKS, 1);
	for (int got = 0; got < PF_TASKS;) {
		struct ipcd_result r;
		assert_int_equal(ipcd_queue_get_many(c, "pf.results", 1000, 30, &r), IPCD_OK);
		for (uint32_t i = 0; i < r.value.via.array.size; i++, got++) {
			int64_t sq;
			assert_int_equal(ipcd_obj_int(&r.value.via.array.ptr[i], &sq), IPCD_OK);
			int64_t root = llround(sqrt((double)sq));
			assert_true(root * root == sq && root < PF_TASKS);
			assert_int_equal(seen[root], 0);
			seen[root] = 1;
		}
	}
	free(seen);
	for (int i = 0; i < WORKERS; i++)
		assert_int_equal(reap(workers[i]), 0);
	/* A worker may have taken a sentinel ahead of another: all were acked. */
	assert_int_equal(ipcd_queue_qsize(c, "pf.tasks", &n), IPCD_OK);
	assert_int_equal(n, 0);
	ipcd_close(c);
}

/* Asking another queue puts back what was taken ahead of the first. */
static void test_prefetch_puts_back_when_the_queue_changes(void **state)
{
	ipcd *c = patterns_connect();
	for (int i = 0; i < 10; i++)
		assert_int_equal(ipcd_queue_put_int(c, "pf.a", i, -1), IPCD_OK);
	assert_int_equal(ipcd_queue_put_int(c, "pf.b", 100, -1), IPCD_OK);
	assert_int_equal(ipcd_set_prefetch(c, 8), IPCD_OK);
	struct ipcd_delivery d;
	int64_t v;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ipcd_queue_get_ack(c, "pf.a", 0, 0, &d), IPCD_OK);
		assert_int_equal(ipcd_obj_int(&d.value, &v), IPCD_OK);
		assert_int_equal(v, i);
		assert_int_equal(ipcd_queue_ack(c, "pf.a", d.id), IPCD_OK);
	}
	uint64_t n;
	assert_int_equal(ipcd_queue_qsize(c, "pf.a", &n), IPCD_OK);
	assert_int_equal(n, 2);      /* 8 taken ahead, 3 acked, 5 still pending here */
	assert_int_equal(ipcd_queue_get_ack(c, "pf.b", 0, 0, &d), IPCD_OK);
	assert_int_equal(ipcd_queue_qsize(c, "pf.a", &n), IPCD_OK);
	assert_int_equal(n, 7);      /* the 5 came back, first */
	assert_int_equal(ipcd_set_prefetch(c, 0), IPCD_OK);
	struct ipcd_delivery e;
	assert_int_equal(ipcd_queue_get_ack(c, "pf.a", 0, 0, &e), IPCD_OK);
	assert_int_equal(ipcd_obj_int(&e.value, &v), IPCD_OK);
	assert_int_equal(v, 3);
	assert_int_equal(e.deliveries, 2);
	ipcd_close(c);
}

/* ---- 8 processes x 10,000 increments of one key ------------------------- */

#define INCR_PROCS 8
#define INCR_EACH 10000

static int incrementer(int unused)
{
	ipcd *c = patterns_connect();
	int64_t v;
	for (int i = 0; i < INCR_EACH; i++)
		if (ipcd_dict_incr(c, "counters", "hits", 1, &v) != IPCD_OK)
			return 1;
	ipcd_close(c);
	return 0;
}

static void test_concurrent_incr_loses_nothing(void **state)
{
	pid_t kids[INCR_PROCS];
	for (int i = 0; i < INCR_PROCS; i++)
		kids[i] = spawn(incrementer, i);
	for (int i = 0; i < INCR_PROCS; i++)
		assert_int_equal(reap(kids[i]), 0);
	ipcd *c = patterns_connect();
	struct ipcd_result r;
	int64_t total;
	assert_int_equal(ipcd_dict_get(c, "counters", "hits", &r), IPCD_OK);
	assert_int_equal(ipcd_obj_int(&r.value, &total), IPCD_OK);
	assert_int_equal(total, INCR_PROCS * INCR_EACH);
	ipcd_close(c);
}

/* ---- a blocking get woken by another process ---------------------------- */

static int blocked_getter(int unused)
{
	ipcd *c = patterns_connect();
	struct ipcd_result r;
	int64_t v;
	if (ipcd_queue_get(c, "wake", 30, &r) != IPCD_OK || ipcd_obj_int(&r.value, &v) != IPCD_OK)
		return 1;
	ipcd_close(c);
	return v == 42 ? 0 : 2;
}

/* Wait until the queue has n parked requests (bounded). */
static void wait_for_waiters(ipcd *c, const char *name, uint64_t n)
{
	double deadline = harness_now() + 10;
	for (;;) {
		struct ipcd_result r;
		if (ipcd_call(c, IPCD_OP_STAT, &r, 1, name) == IPCD_OK) {
			for (uint32_t i = 0; i < r.value.via.map.size; i++) {
				const msgpack_object_kv *kv = &r.value.via.map.ptr[i];
				if (kv->key.via.str.size == 7 && memcmp(kv->key.via.str.ptr, "waiting", 7) == 0 &&
				    kv->val.via.u64 == n)
					return;
			}
		}
		assert_true(harness_now() < deadline);
	}
}

static void test_blocking_get_woken_by_other_process(void **state)
{
	pid_t kid = spawn(blocked_getter, 0);
	ipcd *c = patterns_connect();
	wait_for_waiters(c, "wake", 1);
	assert_int_equal(ipcd_queue_put_int(c, "wake", 42, -1), IPCD_OK);
	assert_int_equal(reap(kid), 0);
	ipcd_close(c);
}

/* ---- get timeouts -------------------------------------------------------- */

static void test_get_timeout_on_time(void **state)
{
	ipcd *c = patterns_connect();
	const double timeouts[] = { 0.05, 0.2, 0.5 };
	for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
		struct ipcd_result r;
		double t0 = harness_now();
		assert_int_equal(ipcd_queue_get(c, "never", timeouts[i], &r), IPCD_ETIMEOUT);
		double waited = harness_now() - t0;
		assert_true(waited >= timeouts[i]);
		assert_true(waited < timeouts[i] + harness_not_late());
	}
	/* timeout 0 does not wait at all */
	struct ipcd_result r;
	assert_int_equal(ipcd_queue_get(c, "never", 0, &r), IPCD_EEMPTY);
	ipcd_close(c);
}

/* ---- a pipeline in the caller's poll loop -------------------------------- */

#define LOOP_ITEMS 40
#define LOOP_ITEM_SIZE 4000     /* 40 replies of 4 KB: more than one read's room */
#define LOOP_BIG_SIZE 300000    /* and one reply that takes several reads */

/* Item i of the loop test: LOOP_ITEM_SIZE bytes (the last LOOP_BIG_SIZE) of i. */
static size_t loop_item(int i, char *buf)
{
	size_t n = i == LOOP_ITEMS ? LOOP_BIG_SIZE : LOOP_ITEM_SIZE;
	memset(buf, 'a' + i % 26, n);
	return n;
}

static void test_pipeline_in_callers_poll_loop(void **state)
{
	ipcd *c = patterns_connect();
	char *buf = malloc(LOOP_BIG_SIZE);
	assert_non_null(buf);
	for (int i = 0; i <= LOOP_ITEMS; i++)
		assert_int_equal(ipcd_queue_put_bytes(c, "loop", buf, loop_item(i, buf), -1), IPCD_OK);
	for (int i = 0; i <= LOOP_ITEMS; i++)
		assert_int_equal(ipcd_send(c, NULL, IPCD_OP_QUEUE_GET, 2, "loop", 0.0), IPCD_OK);
	assert_int_equal(ipcd_flush(c), IPCD_OK);

	/* Wait as an event loop would: poll the fd, then take what arrived,
	 * until every reply is whole (bounded: the replies are all due). */
	size_t ready = 0;
	double deadline = harness_now() + 10;
	while (ready < LOOP_ITEMS + 1) {
		assert_true(harness_now() < deadline);
		struct pollfd pfd = { .fd = ipcd_fd(c), .events = POLLIN };
		assert_true(poll(&pfd, 1, 1000) >= 0);
		assert_int_equal(ipcd_read_available(c, &ready), IPCD_OK);
	}
	assert_int_equal(ready, LOOP_ITEMS + 1);
	assert_int_equal(ipcd_pending(c), LOOP_ITEMS + 1);

	/* Every reply is in: ipcd_recv returns each at once, whole and in order. */
	for (int i = 0; i <= LOOP_ITEMS; i++) {
		struct ipcd_result r;
		const char *p;
		size_t n, want = loop_item(i, buf);
		double t0 = harness_now();
		assert_int_equal(ipcd_recv(c, &r), IPCD_OK);
		assert_true(harness_now() - t0 < harness_not_late());
		assert_int_equal(ipcd_obj_str(&r.value, &p, &n), IPCD_OK);
		assert_int_equal(n, want);
		assert_memory_equal(p, buf, want);
	}
	assert_int_equal(ipcd_pending(c), 0);
	free(buf);
	ipcd_close(c);
}

/* ---- many connections from one loop: spin with ipcd_ready, then poll ---- */

#define SPIN_CONNS 20
#define SPIN_ROUNDS 200

/* As an application spinning over its connections' rings: each has one
 * request in flight (a put, then a get of what it put); ipcd_ready looks
 * without a wake-up, and after a quiet pass every connection asks for one
 * (ipcd_read_available) before the poll, so no reply is ever waited for
 * in vain. Every get returns its own connection's value. */
static void test_many_connections_spin_then_poll(void **state)
{
	ipcd *c[SPIN_CONNS];
	int64_t sent[SPIN_CONNS];
	char name[SPIN_CONNS][32];
	for (int i = 0; i < SPIN_CONNS; i++) {
		c[i] = patterns_connect();
		snprintf(name[i], sizeof(name[i]), "spin.%d", i);
		unsigned char sc[IPCD_SCALAR_SIZE];
		assert_int_equal(ipcd_send(c[i], NULL, IPCD_OP_QUEUE_PUT, 2, name[i], ipcd_val_int(sc, (int64_t)i * 1000000)),
		                 IPCD_OK);
		assert_int_equal(ipcd_flush(c[i]), IPCD_OK);
		sent[i] = 1;
	}
	int left = SPIN_CONNS, quiet = 0;
	double deadline = harness_now() + 60;
	while (left) {
		assert_true(harness_now() < deadline);
		int progressed = 0;
		for (int i = 0; i < SPIN_CONNS; i++) {
			size_t ready = 0;
			if (!ipcd_pending(c[i]))
				continue;
			assert_int_equal(ipcd_ready(c[i], &ready), IPCD_OK);
			if (!ready)
				continue;
			progressed = 1;
			struct ipcd_result r;
			assert_int_equal(ipcd_recv(c[i], &r), IPCD_OK);
			if (sent[i] % 2 == 0) {   /* a get: the value this connection put */
				int64_t v;
				assert_int_equal(ipcd_obj_int(&r.value, &v), IPCD_OK);
				assert_int_equal(v, (int64_t)i * 1000000 + sent[i] / 2 - 1);
			}
			if (sent[i] == 2 * SPIN_ROUNDS) {
				left--;
				continue;
			}
			unsigned char sc[IPCD_SCALAR_SIZE];
			int rc = sent[i] % 2 ? ipcd_send(c[i], NULL, IPCD_OP_QUEUE_GET, 2, name[i], 5.0)
			                     : ipcd_send(c[i], NULL, IPCD_OP_QUEUE_PUT, 2, name[i],
			                                 ipcd_val_int(sc, (int64_t)i * 1000000 + sent[i] / 2));
			assert_int_equal(rc, IPCD_OK);
			assert_int_equal(ipcd_flush(c[i]), IPCD_OK);
			sent[i]++;
		}
		if (progressed || ++quiet < 100)
			continue;
		/* Quiet: ask each for a wake-up, looking once more, and poll. */
		quiet = 0;
		struct pollfd pf[SPIN_CONNS];
		int n = 0, due = 0;
		for (int i = 0; i < SPIN_CONNS; i++) {
			size_t ready = 0;
			if (!ipcd_pending(c[i]))
				continue;
			assert_int_equal(ipcd_read_available(c[i], &ready), IPCD_OK);
			due |= ready > 0;
			pf[n++] = (struct pollfd){ .fd = ipcd_fd(c[i]), .events = POLLIN };
		}
		if (!due && n)
			assert_true(poll(pf, (nfds_t)n, 10000) > 0);   /* a reply is due on one of them */
	}
	for (int i = 0; i < SPIN_CONNS; i++) {
		assert_int_equal(ipcd_pending(c[i]), 0);
		ipcd_close(c[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_producer_consumer_sentinel),
		cmocka_unit_test(test_task_queue_four_workers),
		cmocka_unit_test(test_prefetching_workers_lose_nothing),
		cmocka_unit_test(test_prefetch_puts_back_when_the_queue_changes),
		cmocka_unit_test(test_concurrent_incr_loses_nothing),
		cmocka_unit_test(test_blocking_get_woken_by_other_process),
		cmocka_unit_test(test_get_timeout_on_time),
		cmocka_unit_test(test_pipeline_in_callers_poll_loop),
		cmocka_unit_test(test_many_connections_spin_then_poll),
	};
	return cmocka_run_group_tests(tests, patterns_setup, patterns_teardown);
}
