/* patterns.c: see patterns.h. */
#include <sys/wait.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	/* Each test runs over the shared-memory channel and again with
	 * IPCD_SHM=0 over the socket (meson.build): it must be the one meant. */
	const char *e = getenv("IPCD_SHM");
	if (ipcd_shm_active(c) != !(e && !strcmp(e, "0"))) {
		fprintf(stderr, "connect: the shared-memory channel is %s\n", ipcd_shm_active(c) ? "on" : "off");
		_exit(91);
	}
	return c;
}

pid_t patterns_spawn(int (*fn)(int), int arg)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

int patterns_reap(pid_t pid, int timeout_ms)
{
	int status = harness_wait_pid(pid, timeout_ms);
	if (status == -1) {
		kill(pid, SIGKILL);
		harness_wait_pid(pid, timeout_ms);
		return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
