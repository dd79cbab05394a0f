/*
 * counter.c: counter_incr_8p, the multiprocessing lesson's shared counter:
 * eight processes add 1 to one ipcd value through a shared-memory mapping
 * (ipcd_array_map, ipcd_array_add), total/8 each, released together; the
 * total must come out exact. Its peers are multiprocessing.Value with
 * get_lock() and the Manager's Value under the Manager's Lock
 * (peer_manager.py).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <ipcd.h>
#include "bench.h"

#define COUNTER_PROCS 8

static uint64_t counter_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One process: map, wait for the start, add each times. */
static int counter_child(const char *socket, int go, size_t each)
{
	ipcd *c;
	struct ipcd_array_map m;
	char x;
	if (bench_ipcd_connect(&c, socket, 0) != IPCD_OK || ipcd_array_map(c, "bench.counter", 1, &m) != IPCD_OK)
		return 1;
	ipcd_close(c);
	if (read(go, &x, 1) < 0)
		return 2;
	for (size_t i = 0; i < each; i++)
		if (ipcd_array_add(&m, 0, 1, NULL) != IPCD_OK)
			return 3;
	ipcd_array_unmap(&m);
	return 0;
}

int bench_counter_incr_8p(const char *socket, size_t total, double *ops_per_s)
{
	ipcd *c;
	size_t each = total / COUNTER_PROCS ? total / COUNTER_PROCS : 1;
	static const char opts[] = "\x81\xa8typecode\xa1q";   /* {"typecode": "q"} */
	if (bench_ipcd_connect(&c, socket, 0) != IPCD_OK)
		return -1;
	ipcd_call(c, IPCD_OP_DELETE, NULL, 1, "bench.counter");
	if (ipcd_call(c, IPCD_OP_CREATE, NULL, 3, "bench.counter", "value", IPCD_VAL(opts, sizeof(opts) - 1)) !=
	    IPCD_OK) {
		ipcd_close(c);
		return -1;
	}
	int go[2];
	pid_t pid[COUNTER_PROCS];
	if (pipe(go) < 0)
		return -1;
	for (int i = 0; i < COUNTER_PROCS; i++) {
		pid[i] = fork();
		if (pid[i] == 0) {
			close(go[1]);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			_exit(counter_child(socket, go[0], each));
		}
	}
	close(go[0]);
	/* Every child maps before the clock starts: a mapping is made once. */
	struct ipcd_result r;
	for (int tries = 0; tries < 100000; tries++) {
		if (ipcd_call(c, IPCD_OP_STAT, &r, 1, "bench.counter") != IPCD_OK)
			break;
		uint64_t maps = 0;
		for (uint32_t k = 0; k < r.value.via.map.size; k++) {
			const msgpack_object_kv *kv = &r.value.via.map.ptr[k];
			if (kv->key.via.str.size == 7 && !memcmp(kv->key.via.str.ptr, "maps_rw", 7))
				maps = kv->val.via.u64;
		}
		if (maps == COUNTER_PROCS)
			break;
		usleep(1000);
	}
	uint64_t t0 = counter_now_ns();
	close(go[1]);   /* EOF releases them all */
	int failed = 0;
	for (int i = 0; i < COUNTER_PROCS; i++) {
		int status;
		failed |= waitpid(pid[i], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status);
	}
	uint64_t el = counter_now_ns() - t0;
	int64_t v = -1;
	if (!failed && ipcd_call(c, IPCD_OP_VALUE_GET, &r, 1, "bench.counter") == IPCD_OK)
		ipcd_obj_int(&r.value, &v);
	ipcd_close(c);
	if (failed || v != (int64_t)(each * COUNTER_PROCS)) {
		fprintf(stderr, "ipcd-bench: counter_incr_8p counted %lld, not %zu\n", (long long)v, each * COUNTER_PROCS);
		return -1;
	}
	*ops_per_s = (double)(each * COUNTER_PROCS) / ((double)el / 1e9);
	return 0;
}
