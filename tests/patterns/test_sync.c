/*
 * test_sync.c: the synchronisation types through libipcd, as processes use
 * them: the lesson's racy read-modify-write made exact by an ipcd lock
 * around it, a lock whose holder is SIGKILLed handed to the next process,
 * which is told its owner died, parties meeting at a barrier once an event
 * is set, the last party running the barrier's action before the others
 * go, and a condition waking a process that waits on it.
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

#define CHILD_TIMEOUT_MS 120000

static pid_t spawn(int (*fn)(int), int arg)
{
	return patterns_spawn(fn, arg);
}

static int reap(pid_t pid)
{
	return patterns_reap(pid, CHILD_TIMEOUT_MS);
}

/* ---- a read-modify-write under a lock loses nothing ---------------------- */

#define RMW_PROCS 4
#define RMW_EACH 300

/* counter = get + 1, set: racy on its own, exact under the lock. */
static int rmw_worker(int unused)
{
	ipcd *c = patterns_connect();
	unsigned char buf[IPCD_SCALAR_SIZE];
	for (int i = 0; i < RMW_EACH; i++) {
		struct ipcd_result r;
		int64_t v = 0;
		if (ipcd_lock_acquire(c, "rmw.lock", 30, NULL) != IPCD_OK)
			return 1;
		int rc = ipcd_dict_get(c, "rmw", "n", &r);
		if (rc == IPCD_OK && ipcd_obj_int(&r.value, &v) != IPCD_OK)
			return 2;
		if ((rc != IPCD_OK && rc != IPCD_ENOKEY) || ipcd_dict_set(c, "rmw", "n", ipcd_val_int(buf, v + 1)) != IPCD_OK)
			return 3;
		if (ipcd_lock_release(c, "rmw.lock") != IPCD_OK)
			return 4;
	}
	ipcd_close(c);
	return 0;
}

static void test_read_modify_write_under_a_lock(void **state)
{
	pid_t kids[RMW_PROCS];
	for (int i = 0; i < RMW_PROCS; i++)
		kids[i] = spawn(rmw_worker, i);
	for (int i = 0; i < RMW_PROCS; i++)
		assert_int_equal(reap(kids[i]), 0);
	ipcd *c = patterns_connect();
	struct ipcd_result r;
	int64_t total;
	int locked;
	assert_int_equal(ipcd_dict_get(c, "rmw", "n", &r), IPCD_OK);
	assert_int_equal(ipcd_obj_int(&r.value, &total), IPCD_OK);
	assert_int_equal(total, RMW_PROCS * RMW_EACH);
	assert_int_equal(ipcd_lock_locked(c, "rmw.lock", &locked), IPCD_OK);
	assert_int_equal(locked, 0);
	ipcd_close(c);
}

/* ---- a dead holder's lock goes to the next, told so ---------------------- */

static int holder(int fd)
{
	ipcd *c = patterns_connect();
	char b = 1;
	if (ipcd_lock_acquire(c, "dead.lock", -1, NULL) != IPCD_OK)
		return 1;
	if (write(fd, &b, 1) != 1)
		return 2;
	pause();   /* until SIGKILLed */
	return 3;
}

static void test_a_killed_holders_lock_goes_to_the_next(void **state)
{
	int p[2];
	char b;
	assert_int_equal(pipe(p), 0);
	pid_t kid = spawn(holder, p[1]);
	assert_int_equal(read(p[0], &b, 1), 1);
	ipcd *c = patterns_connect();
	int died = -1, locked = 0;
	assert_int_equal(ipcd_lock_acquire(c, "dead.lock", 0, &died), IPCD_ETIMEOUT);
	assert_int_equal(ipcd_lock_release(c, "dead.lock"), IPCD_OK);   /* a plain lock: anyone may */
	assert_int_equal(ipcd_lock_release(c, "dead.lock"), IPCD_ENOTHELD);
	close(p[0]);
	close(p[1]);

	assert_int_equal(ipcd_lock_create(c, "dead.rlock", IPCD_LOCK_REENTRANT), IPCD_OK);
	assert_int_equal(pipe(p), 0);
	kill(kid, SIGKILL);
	reap(kid);
	assert_int_equal(ipcd_lock_acquire(c, "dead.rlock", 0, &died), IPCD_OK);
	assert_int_equal(died, 0);
	assert_int_equal(ipcd_lock_acquire(c, "dead.rlock", 0, &died), IPCD_OK);   /* its owner, again */
	assert_int_equal(ipcd_lock_release(c, "dead.rlock"), IPCD_OK);
	assert_int_equal(ipcd_lock_locked(c, "dead.rlock", &locked), IPCD_OK);
	assert_int_equal(locked, 1);
	ipcd_close(c);   /* its owner is gone: the next acquirer is told */
	close(p[0]);
	close(p[1]);

	c = patterns_connect();
	assert_int_equal(ipcd_lock_acquire(c, "dead.rlock", 10, &died), IPCD_OK);
	assert_int_equal(died, 1);
	assert_int_equal(ipcd_lock_create(c, "dead.rlock", 0), IPCD_EEXISTS);
	ipcd_close(c);
}

/* ---- a barrier, an event, a condition and a semaphore ---------------------- */

#define PARTIES 4

/* Waits for the event, then at the barrier: exits with its arrival index. */
static int party(int unused)
{
	ipcd *c = patterns_connect();
	int set = 0;
	uint64_t index;
	if (ipcd_event_wait(c, "go", 30, &set) != IPCD_OK || !set)
		return 100;
	if (ipcd_barrier_wait(c, "meet", 30, &index) != IPCD_OK)
		return 101;
	ipcd_close(c);
	return (int)index;
}

static void test_parties_meet_at_a_barrier_after_an_event(void **state)
{
	ipcd *c = patterns_connect();
	assert_int_equal(ipcd_barrier_create(c, "meet", PARTIES), IPCD_OK);
	pid_t kids[PARTIES];
	for (int i = 0; i < PARTIES; i++)
		kids[i] = spawn(party, i);
	int set = 1;
	assert_int_equal(ipcd_event_wait(c, "go", 0, &set), IPCD_OK);
	assert_int_equal(set, 0);
	assert_int_equal(ipcd_event_set(c, "go"), IPCD_OK);
	unsigned seen = 0;
	for (int i = 0; i < PARTIES; i++) {
		int idx = reap(kids[i]);
		assert_in_range(idx, 0, PARTIES - 1);
		seen |= 1u << idx;
	}
	assert_int_equal(seen, (1u << PARTIES) - 1);   /* each index once */
	int broken = 1;
	uint64_t n = 1;
	assert_int_equal(ipcd_barrier_broken(c, "meet", &broken), IPCD_OK);
	assert_int_equal(ipcd_barrier_n_waiting(c, "meet", &n), IPCD_OK);
	assert_int_equal(broken + (int)n, 0);
	assert_int_equal(ipcd_barrier_abort(c, "meet"), IPCD_OK);
	assert_int_equal(ipcd_barrier_wait(c, "meet", 1, &n), IPCD_EBROKEN);
	assert_int_equal(ipcd_barrier_reset(c, "meet"), IPCD_OK);
	assert_int_equal(ipcd_event_clear(c, "go"), IPCD_OK);
	assert_int_equal(ipcd_event_is_set(c, "go", &set), IPCD_OK);
	assert_int_equal(set, 0);
	ipcd_close(c);
}

/* At the barrier with the action: the last sets the event "acted" as its
 * action, the others find it set once released. Exits with its index, plus
 * 10 for the one that ran the action. */
static int acting_party(int unused)
{
	ipcd *c = patterns_connect();
	uint64_t index;
	int run = -1, set = 0;
	if (ipcd_barrier_wait_action(c, "act", 30, &index, &run) != IPCD_OK || run < 0)
		return 100;
	if (run) {
		if (ipcd_event_set(c, "acted") != IPCD_OK || ipcd_barrier_done(c, "act", 1) != IPCD_OK)
			return 101;
		if (ipcd_barrier_done(c, "act", 1) != IPCD_ENOTHELD)   /* once */
			return 102;
	} else if (ipcd_event_is_set(c, "acted", &set) != IPCD_OK || !set)
		return 103;   /* released before the action ran */
	ipcd_close(c);
	return (int)index + (run ? 10 : 0);
}

static void test_the_last_party_runs_the_action_before_the_others_go(void **state)
{
	ipcd *c = patterns_connect();
	assert_int_equal(ipcd_barrier_create(c, "act", PARTIES), IPCD_OK);
	pid_t kids[PARTIES];
	for (int i = 0; i < PARTIES; i++)
		kids[i] = spawn(acting_party, i);
	unsigned seen = 0;
	int actors = 0;
	for (int i = 0; i < PARTIES; i++) {
		int rc = reap(kids[i]);
		if (rc >= 10) {
			actors++;
			assert_int_equal(rc - 10, PARTIES - 1);   /* the last to arrive */
			rc -= 10;
		}
		assert_in_range(rc, 0, PARTIES - 1);
		seen |= 1u << rc;
	}
	assert_int_equal(actors, 1);
	assert_int_equal(seen, (1u << PARTIES) - 1);
	/* a failed action breaks it */
	uint64_t index;
	int run = 0, broken = 0;
	assert_int_equal(ipcd_barrier_create(c, "act1", 1), IPCD_OK);
	assert_int_equal(ipcd_barrier_wait_action(c, "act1", 1, &index, &run), IPCD_OK);
	assert_int_equal(run, 1);
	assert_int_equal(ipcd_barrier_done(c, "act1", 0), IPCD_OK);
	assert_int_equal(ipcd_barrier_broken(c, "act1", &broken), IPCD_OK);
	assert_int_equal(broken, 1);
	ipcd_close(c);
}

static int cond_waiter(int unused)
{
	ipcd *c = patterns_connect();
	int notified = 0, died = 1;
	if (ipcd_condition_acquire(c, "cv", 30, &died) != IPCD_OK || died)
		return 1;
	if (ipcd_semaphore_release(c, "cv.ready", 1, NULL) != IPCD_OK)   /* tells the parent it holds the lock */
		return 2;
	if (ipcd_condition_wait(c, "cv", 30, &notified, &died) != IPCD_OK || !notified || died)
		return 3;
	if (ipcd_condition_release(c, "cv") != IPCD_OK)
		return 4;
	ipcd_close(c);
	return 0;
}

static void test_a_condition_wakes_a_process_and_a_semaphore_counts(void **state)
{
	ipcd *c = patterns_connect();
	uint64_t v = 9, woken = 0;
	int died = 1;
	assert_int_equal(ipcd_semaphore_create(c, "cv.ready", 0, IPCD_SEMAPHORE_NOT_ROBUST), IPCD_OK);
	pid_t kid = spawn(cond_waiter, 0);
	assert_int_equal(ipcd_semaphore_acquire(c, "cv.ready", 1, 30, &v), IPCD_OK);
	assert_int_equal(v, 0);
	/* The child holds the lock until its wait gives it up: then it is ours. */
	assert_int_equal(ipcd_condition_acquire(c, "cv", 30, &died), IPCD_OK);
	assert_int_equal(died, 0);
	assert_int_equal(ipcd_condition_notify(c, "cv", 1, &woken), IPCD_OK);
	assert_int_equal(woken, 1);
	assert_int_equal(ipcd_condition_notify_all(c, "cv", &woken), IPCD_OK);
	assert_int_equal(woken, 0);
	assert_int_equal(ipcd_condition_release(c, "cv"), IPCD_OK);
	assert_int_equal(reap(kid), 0);
	assert_int_equal(ipcd_condition_notify(c, "cv", 1, &woken), IPCD_ENOTHELD);

	assert_int_equal(ipcd_semaphore_create(c, "pool", 2, IPCD_SEMAPHORE_BOUNDED), IPCD_OK);
	assert_int_equal(ipcd_semaphore_acquire(c, "pool", 2, 0, &v), IPCD_OK);
	assert_int_equal(ipcd_semaphore_acquire(c, "pool", 1, 0, &v), IPCD_ETIMEOUT);
	assert_int_equal(ipcd_semaphore_release(c, "pool", 2, &v), IPCD_OK);
	assert_int_equal(v, 2);
	assert_int_equal(ipcd_semaphore_release(c, "pool", 1, &v), IPCD_EFULL);
	assert_int_equal(ipcd_semaphore_value(c, "pool", &v), IPCD_OK);
	assert_int_equal(v, 2);
	ipcd_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_modify_write_under_a_lock),
		cmocka_unit_test(test_a_killed_holders_lock_goes_to_the_next),
		cmocka_unit_test(test_parties_meet_at_a_barrier_after_an_event),
		cmocka_unit_test(test_the_last_party_runs_the_action_before_the_others_go),
		cmocka_unit_test(test_a_condition_wakes_a_process_and_a_semaphore_counts),
	};
	return cmocka_run_group_tests(tests, patterns_setup, patterns_teardown);
}
