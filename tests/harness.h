/*
 * harness.h: start and stop a real ipcd for a C test, or any server that
 * speaks sd_notify (the benchmark's peers). A process started here dies
 * with the test (PR_SET_PDEATHSIG) and is waited for through its READY=1 on
 * a NOTIFY_SOCKET the harness listens on: no sleeping, every wait bounded.
 * An ipcd gets a fresh temporary directory for its socket.
 */
#ifndef IPCD_TEST_HARNESS_H
#define IPCD_TEST_HARNESS_H

#include <sys/types.h>

struct harness_daemon {
	pid_t pid;
	char dir[64];
	char socket[128];
	char notify[128];
};

/* Fork and exec argv (argv[0] a path) with NOTIFY_SOCKET at notify_path,
 * its stdout to /dev/null if quiet, and wait up to ready_ms for READY=1.
 * Returns the pid, or -1 (a child that did not get ready is killed). */
pid_t harness_spawn(char *const argv[], const char *notify_path, int quiet, int ready_ms);
/* SIGTERM pid and wait up to stop_ms, then SIGKILL. Returns its exit
 * status (0 = clean), or -1 if it had to be killed or died of a signal. */
int harness_stop_pid(pid_t pid, int stop_ms);
/* Start $IPCD_BIN with extra args (NULL-terminated, may be NULL).
 * Returns 0, or -1 with a message on stderr. */
int harness_start(struct harness_daemon *d, const char *const *extra_args);
/* SIGTERM the daemon and wait (bounded) for it. Returns its exit status
 * (0 = clean), or -1 if it had to be killed. Removes the temp dir. */
int harness_stop(struct harness_daemon *d);
/* Wait up to timeout_ms for child pid to exit; returns its wait status or -1. */
int harness_wait_pid(pid_t pid, int timeout_ms);
/* Monotonic time in seconds. */
double harness_now(void);
/* How late a timer or timeout may fire before a test calls it a bug, in
 * seconds: $IPCD_TEST_NOT_LATE, else 1.0, the bound of tests/ipcd_testlib.py
 * (NOT_LATE). Generous for sanitizers and load; "never early" stays strict. */
double harness_not_late(void);

#endif
