/*
 * shm_peer: libipcd clients for test_shm.py, which drives them as
 * processes. Each mode prints what the test checks on stdout.
 *
 *   shm_peer SOCK idle N          connect N clients, print "ready N SHM"
 *                                 (SHM: how many use the channel), then
 *                                 stay until stdin ends
 *   shm_peer SOCK ping K          K pings on one client: "shm S us U"
 *                                 (U: microseconds per round trip)
 *   shm_peer SOCK pipeline K B    K pings sent B at a time, between the
 *                                 lines "BEGIN" and "END" (for strace)
 *   shm_peer SOCK get NAME T      queue.get NAME with timeout T:
 *                                 "shm S status E value V"
 *   shm_peer SOCK big N           put a string of N bytes, get it back:
 *                                 "shm S same 1"
 *   shm_peer SOCK again           ping: "shm S"; then, for each line on
 *                                 stdin, ping on the same connection (the
 *                                 daemon may have restarted meanwhile):
 *                                 "shm S status E"
 * Exits 0 when every call did what it should, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ipcd.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static ipcd *must_connect(const char *sock)
{
	ipcd *c;
	if (ipcd_connect(&c, sock)) {
		fprintf(stderr, "shm_peer: %s\n", ipcd_errmsg(NULL));
		exit(1);
	}
	return c;
}

static int fail(ipcd *c, const char *what, int rc)
{
	fprintf(stderr, "shm_peer: %s: %s (%s)\n", what, ipcd_errname(rc), ipcd_errmsg(c));
	return 1;
}

static int mode_idle(const char *sock, int n)
{
	ipcd **cs = calloc((size_t)n, sizeof(*cs));
	int shm = 0;
	for (int i = 0; i < n; i++) {
		cs[i] = must_connect(sock);
		shm += ipcd_shm_active(cs[i]);
	}
	printf("ready %d %d\n", n, shm);
	fflush(stdout);
	char b[64];
	while (read(0, b, sizeof(b)) > 0)
		;
	for (int i = 0; i < n; i++)
		ipcd_close(cs[i]);
	free(cs);
	return 0;
}

static int mode_ping(const char *sock, long k)
{
	ipcd *c = must_connect(sock);
	struct ipcd_result r;
	double t0 = now();
	for (long i = 0; i < k; i++) {
		int rc = ipcd_call(c, IPCD_OP_PING, &r, 0);
		if (rc)
			return fail(c, "ping", rc);
	}
	printf("shm %d us %.3f\n", ipcd_shm_active(c), (now() - t0) * 1e6 / (double)k);
	ipcd_close(c);
	return 0;
}

static int pipeline(ipcd *c, long k, long batch)
{
	struct ipcd_result r;
	for (long done = 0; done < k; done += batch) {
		for (long i = 0; i < batch; i++) {
			int rc = ipcd_send(c, NULL, IPCD_OP_PING, 0);
			if (rc)
				return fail(c, "send", rc);
		}
		for (long i = 0; i < batch; i++) {
			int rc = ipcd_recv(c, &r);
			if (rc)
				return fail(c, "recv", rc);
		}
	}
	return 0;
}

static int mode_pipeline(const char *sock, long k, long batch)
{
	ipcd *c = must_connect(sock);
	if (pipeline(c, k, batch))   /* warm: the daemon's poll window is open */
		return 1;
	/* The markers are single writes that strace shows as such. */
	if (write(1, "BEGIN\n", 6) != 6 || pipeline(c, k, batch) || write(1, "END\n", 4) != 4)
		return 1;
	printf("shm %d\n", ipcd_shm_active(c));
	ipcd_close(c);
	return 0;
}

static int mode_get(const char *sock, const char *name, double timeout)
{
	ipcd *c = must_connect(sock);
	struct ipcd_result r;
	int rc = ipcd_queue_get(c, name, timeout, &r);
	int64_t v = 0;
	if (!rc)
		ipcd_obj_int(&r.value, &v);
	printf("shm %d status %s value %lld\n", ipcd_shm_active(c), ipcd_errname(rc), (long long)v);
	ipcd_close(c);
	return rc && rc != IPCD_ETIMEOUT;
}

static int mode_big(const char *sock, size_t n)
{
	ipcd *c = must_connect(sock);
	char *s = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		s[i] = (char)('a' + i % 26);
	s[n] = '\0';
	int rc = ipcd_queue_put_str(c, "big", s, 0);
	if (rc)
		return fail(c, "put", rc);
	struct ipcd_result r;
	if ((rc = ipcd_queue_get(c, "big", 0, &r)))
		return fail(c, "get", rc);
	const char *p;
	size_t len;
	int same = !ipcd_obj_str(&r.value, &p, &len) && len == n && !memcmp(p, s, n);
	printf("shm %d same %d\n", ipcd_shm_active(c), same);
	free(s);
	ipcd_close(c);
	return !same;
}

static int mode_again(const char *sock)
{
	ipcd *c = must_connect(sock);
	struct ipcd_result r;
	int rc = ipcd_call(c, IPCD_OP_PING, &r, 0);
	if (rc)
		return fail(c, "ping", rc);
	printf("shm %d\n", ipcd_shm_active(c));
	fflush(stdout);
	char line[64];
	while (fgets(line, sizeof(line), stdin)) {
		rc = ipcd_call(c, IPCD_OP_PING, &r, 0);
		printf("shm %d status %s\n", ipcd_shm_active(c), ipcd_errname(rc));
		fflush(stdout);
	}
	ipcd_close(c);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[2], "idle"))
		return mode_idle(argv[1], atoi(argv[3]));
	if (argc >= 4 && !strcmp(argv[2], "ping"))
		return mode_ping(argv[1], atol(argv[3]));
	if (argc >= 5 && !strcmp(argv[2], "pipeline"))
		return mode_pipeline(argv[1], atol(argv[3]), atol(argv[4]));
	if (argc >= 5 && !strcmp(argv[2], "get"))
		return mode_get(argv[1], argv[3], atof(argv[4]));
	if (argc >= 4 && !strcmp(argv[2], "big"))
		return mode_big(argv[1], (size_t)atol(argv[3]));
	if (argc >= 3 && !strcmp(argv[2], "again"))
		return mode_again(argv[1]);
	fprintf(stderr, "usage: shm_peer SOCK idle N | ping K | pipeline K B | get NAME T | big N | again\n");
	return 2;
}
