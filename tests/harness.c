/* harness.c: a real ipcd per test; see harness.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"

#define READY_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 10000

double harness_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double harness_not_late(void)
{
	const char *s = getenv("IPCD_TEST_NOT_LATE");
	return s && *s ? strtod(s, NULL) : 1.0;
}

int harness_wait_pid(pid_t pid, int timeout_ms)
{
	double deadline = harness_now() + timeout_ms / 1000.0;
	int status;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 || harness_now() > deadline)
			return -1;
		poll(NULL, 0, 5); /* polling a child's exit: bounded by the deadline */
	}
}

/* Wait for READY=1 on the notify socket. */
static int wait_ready(struct harness_daemon *d)
{
	double deadline = harness_now() + READY_TIMEOUT_MS / 1000.0;
	char msg[512];
	for (;;) {
		int left = (int)((deadline - harness_now()) * 1000);
		if (left <= 0)
			return -1;
		struct pollfd p = { .fd = d->notify_fd, .events = POLLIN };
		if (poll(&p, 1, left) <= 0)
			return -1;
		ssize_t n = recv(d->notify_fd, msg, sizeof(msg) - 1, 0);
		if (n <= 0)
			continue;
		msg[n] = '\0';
		if (strstr(msg, "READY=1"))
			return 0;
	}
}

int harness_start(struct harness_daemon *d, const char *const *extra_args)
{
	const char *bin = getenv("IPCD_BIN");
	if (!bin) {
		fprintf(stderr, "harness: IPCD_BIN is not set\n");
		return -1;
	}
	memset(d, 0, sizeof(*d));
	strcpy(d->dir, "/tmp/ipcd-test-XXXXXX");
	if (!mkdtemp(d->dir))
		return -1;
	snprintf(d->socket, sizeof(d->socket), "%s/ipcd.sock", d->dir);
	snprintf(d->notify, sizeof(d->notify), "%s/notify.sock", d->dir);

	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, d->notify);
	d->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (d->notify_fd < 0 || bind(d->notify_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("harness: notify socket");
		return -1;
	}

	const char *argv[32] = { bin, "--socket", d->socket };
	int argc = 3;
	for (int i = 0; extra_args && extra_args[i] && argc < 30; i++)
		argv[argc++] = extra_args[i];
	argv[argc] = NULL;

	pid_t parent = getpid();
	d->pid = fork();
	if (d->pid < 0)
		return -1;
	if (d->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		setenv("NOTIFY_SOCKET", d->notify, 1);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	if (wait_ready(d) < 0) {
		fprintf(stderr, "harness: ipcd did not become ready within %d ms\n", READY_TIMEOUT_MS);
		kill(d->pid, SIGKILL);
		harness_wait_pid(d->pid, STOP_TIMEOUT_MS);
		return -1;
	}
	return 0;
}

int harness_stop(struct harness_daemon *d)
{
	int result = -1;
	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		int status = harness_wait_pid(d->pid, STOP_TIMEOUT_MS);
		if (status == -1) {
			kill(d->pid, SIGKILL);
			harness_wait_pid(d->pid, STOP_TIMEOUT_MS);
		} else if (WIFEXITED(status)) {
			result = WEXITSTATUS(status);
		}
		d->pid = 0;
	}
	if (d->notify_fd > 0)
		close(d->notify_fd);
	unlink(d->notify);
	unlink(d->socket);
	rmdir(d->dir);
	return result;
}
