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

#endif
