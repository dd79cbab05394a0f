/*
 * test_sync.c: the synchronisation types through libipcd, as processes use
 * them: the lesson's racy read-modify-write made exact by an ipcd lock
 * around it, and a lock whose holder is SIGKILLed handed to the next
 * process, which is told its owner died.
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
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

static int reap(pid_t pid)
{
	int status = harness_wait_pid(pid, CHILD_TIMEOUT_MS);
	if (status == -1) {
		kill(pid, SIGKILL);
		harness_wait_pid(pid, CHILD_TIMEOUT_MS);
		return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_modify_write_under_a_lock),
		cmocka_unit_test(test_a_killed_holders_lock_goes_to_the_next),
	};
	return cmocka_run_group_tests(tests, patterns_setup, patterns_teardown);
}
