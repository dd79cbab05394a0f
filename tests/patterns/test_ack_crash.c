/*
 * test_ack_crash.c: queues that lose nothing, with real processes. Four
 * workers consume TASKS tasks in ack mode (queue.get_ack, then a record of
 * the work in a results queue, then queue.ack) while the test SIGKILLs a
 * random worker every 100-400 ms and starts a replacement. The daemon gives
 * a killed worker's held task back to the head of the queue.
 *
 * At the end (queue.join returned): the daemon counted exactly TASKS acks
 * with nothing ready or pending, so every task was acked exactly once (a
 * delivery can be acked only while pending, and a task is redelivered only
 * after its previous delivery ended unacked); every task has at least one
 * record; and a task with more than one record was recorded by a worker that
 * was killed before it could ack, every time but the last.
 *
 * TASKS is 100,000 in the plain build. Each task costs three round trips, so
 * the run takes a few seconds there; under AddressSanitizer (the daemon and
 * the workers several times slower) the count comes from $IPCD_ACK_TASKS
 * when set (setup.sh's sanitizer run may lower it). The kill rate does not
 * depend on it: the longer the run, the more kills.
 */
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
#include "rand.h"

#define DEFAULT_TASKS 100000
#define WORKERS 4
#define MAX_KILLS 4096
#define EARLY_KILLS 8
#define RUN_TIMEOUT_S 300.0

static int tasks = DEFAULT_TASKS;

static int group_setup(void **state)
{
	const char *n = getenv("IPCD_ACK_TASKS");
	if (n && atoi(n) > 0)
		tasks = atoi(n);
	return patterns_setup(state);
}

/* Records [task, deliveries, pid] into ack.results, then acks; forever
 * (until killed). */
static int worker(void)
{
	ipcd *c = patterns_connect();
	int64_t pid = getpid();
	for (;;) {
		struct ipcd_delivery d;
		int rc = ipcd_queue_get_ack(c, "ack.tasks", 1, 0, &d);
		if (rc == IPCD_ETIMEOUT)
			continue;
		if (rc != IPCD_OK)
			return 1;
		int64_t task;
		if (ipcd_obj_int(&d.value, &task) != IPCD_OK)
			return 2;
		char buf[32];
		size_t n = 0;
		buf[n++] = (char)0x93;                         /* [task, deliveries, pid] */
		unsigned char t[IPCD_SCALAR_SIZE], dl[IPCD_SCALAR_SIZE], p[IPCD_SCALAR_SIZE];
		struct ipcd_val vt = ipcd_val_int(t, task), vd = ipcd_val_uint(dl, d.deliveries), vp = ipcd_val_int(p, pid);
		memcpy(buf + n, vt.mp, vt.len), n += vt.len;
		memcpy(buf + n, vd.mp, vd.len), n += vd.len;
		memcpy(buf + n, vp.mp, vp.len), n += vp.len;
		if (ipcd_queue_put(c, "ack.results", buf, n, -1) != IPCD_OK)
			return 3;
		if (ipcd_queue_ack(c, "ack.tasks", d.id) != IPCD_OK)
			return 4;
	}
}

static pid_t spawn_worker(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(worker());
	assert_true(pid > 0);
	return pid;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	return test_rand(&rng_state);
}

/* The uint of key in the map m, or UINT64_MAX. */
static uint64_t map_uint(const msgpack_object *m, const char *key)
{
	for (uint32_t i = 0; m->type == MSGPACK_OBJECT_MAP && i < m->via.map.size; i++) {
		const char *p;
		size_t n;
		uint64_t v;
		if (!ipcd_obj_str(&m->via.map.ptr[i].key, &p, &n) && n == strlen(key) && !memcmp(p, key, n) &&
		    !ipcd_obj_uint(&m->via.map.ptr[i].val, &v))
			return v;
	}
	return UINT64_MAX;
}

static int was_killed(const pid_t *killed, int nkilled, int64_t pid)
{
	for (int i = 0; i < nkilled; i++)
		if (killed[i] == pid)
			return 1;
	return 0;
}

static void test_killed_workers_lose_no_task(void **state)
{
	ipcd *c = patterns_connect();
	pid_t workers[WORKERS];
	static pid_t killed[MAX_KILLS];
	int nkilled = 0;

	unsigned char bufs[1000][IPCD_SCALAR_SIZE];
	struct ipcd_val vals[1000];
	for (int base = 0; base < tasks; base += 1000) {
		int n = tasks - base < 1000 ? tasks - base : 1000;
		for (int i = 0; i < n; i++)
			vals[i] = ipcd_val_int(bufs[i], base + i);
		assert_int_equal(ipcd_queue_put_many(c, "ack.tasks", vals, (size_t)n, -1), IPCD_OK);
	}
	for (int i = 0; i < WORKERS; i++)
		workers[i] = spawn_worker();

	/* Kill one worker every 100-400 ms until every task is done; the
	 * first EARLY_KILLS come after 10-50 ms, so that a run the channel
	 * makes short (100,000 tasks in half a second) still has its kills. */
	double deadline = harness_now() + RUN_TIMEOUT_S;
	int rc;
	while ((rc = ipcd_queue_join(c, "ack.tasks", nkilled < EARLY_KILLS ? 0.01 + (double)(rng() % 40) / 1000.0
	                                                                  : 0.1 + (double)(rng() % 300) / 1000.0)) ==
	       IPCD_ETIMEOUT) {
		assert_true(harness_now() < deadline);
		int i = (int)(rng() % WORKERS);
		kill(workers[i], SIGKILL);
		int st = harness_wait_pid(workers[i], 10000);
		assert_true(st != -1 && WIFSIGNALED(st));   /* it was working, not failing */
		if (nkilled < MAX_KILLS)
			killed[nkilled++] = workers[i];
		workers[i] = spawn_worker();
	}
	assert_int_equal(rc, IPCD_OK);
	for (int i = 0; i < WORKERS; i++) {
		kill(workers[i], SIGKILL);
		assert_true(harness_wait_pid(workers[i], 10000) != -1);
	}
	assert_true(nkilled >= 3);   /* the test did kill workers mid-run */

	/* The daemon's counts: every task acked exactly once, nothing left. */
	struct ipcd_result r;
	assert_int_equal(ipcd_call(c, IPCD_OP_STAT, &r, 1, "ack.tasks"), IPCD_OK);
	assert_int_equal(map_uint(&r.value, "acked"), (uint64_t)tasks);
	assert_int_equal(map_uint(&r.value, "ready"), 0);
	assert_int_equal(map_uint(&r.value, "pending"), 0);
	assert_int_equal(map_uint(&r.value, "unfinished"), 0);
	uint64_t redelivered = map_uint(&r.value, "redelivered");

	/* The records: every task at least once; extra records only from killed workers. */
	unsigned *records = calloc((size_t)tasks, sizeof(*records));
	unsigned *last_deliveries = calloc((size_t)tasks, sizeof(*last_deliveries));
	int64_t *last_pid = calloc((size_t)tasks, sizeof(*last_pid));
	assert_non_null(records);
	assert_non_null(last_deliveries);
	assert_non_null(last_pid);
	uint64_t total = 0, duplicates = 0;
	for (;;) {
		int grc = ipcd_queue_get_many(c, "ack.results", 1000, 0, &r);
		if (grc == IPCD_EEMPTY)
			break;
		assert_int_equal(grc, IPCD_OK);
		for (uint32_t i = 0; i < r.value.via.array.size; i++) {
			const msgpack_object *rec = &r.value.via.array.ptr[i];
			assert_int_equal(rec->type, MSGPACK_OBJECT_ARRAY);
			int64_t task, pid;
			uint64_t deliveries;
			assert_int_equal(ipcd_obj_int(&rec->via.array.ptr[0], &task), IPCD_OK);
			assert_int_equal(ipcd_obj_uint(&rec->via.array.ptr[1], &deliveries), IPCD_OK);
			assert_int_equal(ipcd_obj_int(&rec->via.array.ptr[2], &pid), IPCD_OK);
			assert_true(task >= 0 && task < tasks);
			if (records[task]) {
				/* The earlier record's worker died before its ack, and
				 * this is a later delivery of the same task. */
				assert_true(was_killed(killed, nkilled, last_pid[task]));
				assert_true(deliveries > last_deliveries[task]);
				duplicates++;
			}
			records[task]++;
			last_deliveries[task] = (unsigned)deliveries;
			last_pid[task] = pid;
			total++;
		}
	}
	for (int t = 0; t < tasks; t++)
		assert_true(records[t] >= 1);
	assert_int_equal(total, (uint64_t)tasks + duplicates);
	assert_true(duplicates <= redelivered);
	assert_true(redelivered <= (uint64_t)nkilled);   /* at most one held task per killed worker */
	printf("# %d tasks, %d workers killed, %llu redelivered, %llu recorded twice\n", tasks, nkilled,
	       (unsigned long long)redelivered, (unsigned long long)duplicates);
	free(records);
	free(last_deliveries);
	free(last_pid);
	ipcd_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_killed_workers_lose_no_task),
	};
	return cmocka_run_group_tests(tests, group_setup, patterns_teardown);
}
