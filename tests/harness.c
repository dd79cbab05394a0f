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

/* Wait up to ready_ms for READY=1 on fd while pid lives. */
static int wait_ready(int fd, pid_t pid, int ready_ms)
{
	double deadline = harness_now() + ready_ms / 1000.0;
	char msg[512];
	for (;;) {
		int left = (int)((deadline - harness_now()) * 1000);
		int status;
		if (left <= 0 || waitpid(pid, &status, WNOHANG) == pid)
			return -1;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, left < 100 ? left : 100) <= 0)
			continue;   /* every 100 ms: is the child still alive? */
		ssize_t n = recv(fd, msg, sizeof(msg) - 1, 0);
		if (n <= 0)
			continue;
		msg[n] = '\0';
		if (strstr(msg, "READY=1"))
			return 0;
	}
}

pid_t harness_spawn(char *const argv[], const char *notify_path, int quiet, int ready_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(notify_path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, notify_path);
	unlink(notify_path);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("harness: notify socket");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		close(fd);
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		setenv("NOTIFY_SOCKET", notify_path, 1);
		if (quiet) {
			int dn = open("/dev/null", O_WRONLY);
			dup2(dn, 1);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	int ready = wait_ready(fd, pid, ready_ms);
	close(fd);
	unlink(notify_path);
	if (ready < 0) {
		fprintf(stderr, "harness: %s did not become ready within %d ms\n", argv[0], ready_ms);
		kill(pid, SIGKILL);
		harness_wait_pid(pid, STOP_TIMEOUT_MS);
		return -1;
	}
	return pid;
}

int harness_stop_pid(pid_t pid, int stop_ms)
{
	kill(pid, SIGTERM);
	int status = harness_wait_pid(pid, stop_ms);
	if (status == -1) {
		kill(pid, SIGKILL);
		harness_wait_pid(pid, STOP_TIMEOUT_MS);
		return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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

	const char *argv[32] = { bin, "--socket", d->socket };
	int argc = 3;
	for (int i = 0; extra_args && extra_args[i] && argc < 30; i++)
		argv[argc++] = extra_args[i];
	argv[argc] = NULL;

	d->pid = harness_spawn((char *const *)argv, d->notify, 0, READY_TIMEOUT_MS);
	return d->pid > 0 ? 0 : -1;
}

int harness_stop(struct harness_daemon *d)
{
	int result = -1;
	if (d->pid > 0)
		result = harness_stop_pid(d->pid, STOP_TIMEOUT_MS);
	d->pid = 0;
	unlink(d->socket);
	rmdir(d->dir);
	return result;
}
