/*
 * patterns.h: what the multi-process tests share: one daemon per test
 * program (harness.h) and a connection helper for child processes.
 */
#ifndef IPCD_TEST_PATTERNS_H
#define IPCD_TEST_PATTERNS_H

#include <ipcd.h>
#include "harness.h"

extern struct harness_daemon patterns_daemon;

/* cmocka group setup/teardown: start the daemon; stop it and require a clean exit. */
int patterns_setup(void **state);
int patterns_teardown(void **state);
/* Connect to the test's daemon; a child that cannot exits with status 90. */
ipcd *patterns_connect(void);
/* Fork a child running fn(arg); the child exits with fn's result. */
pid_t patterns_spawn(int (*fn)(int), int arg);
/* Wait up to timeout_ms for child pid: its exit code, 128 + the signal that
 * killed it, or -1 if it did not end in time (it is killed then). */
int patterns_reap(pid_t pid, int timeout_ms);

#endif
