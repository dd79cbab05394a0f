/* patterns.c: see patterns.h. */
#include <stdio.h>
#include <unistd.h>
#include "patterns.h"

struct harness_daemon patterns_daemon;

int patterns_setup(void **state)
{
	return harness_start(&patterns_daemon, NULL);
}

int patterns_teardown(void **state)
{
	return harness_stop(&patterns_daemon) == 0 ? 0 : -1;
}

ipcd *patterns_connect(void)
{
	ipcd *c = NULL;
	if (ipcd_connect(&c, patterns_daemon.socket) != IPCD_OK) {
		fprintf(stderr, "connect: %s\n", ipcd_errmsg(NULL));
		_exit(90);
	}
	return c;
}
