/*
 * bench_persist.c: the storage engine's raw numbers (not a test): append
 * N 40-byte records committed in batches of B (as a busy loop iteration
 * would), then reopen and time the replay.
 *   bench_persist [DIR] [N] [B] [always|everysec|no]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "persist.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count(void *ctx, const void *p, size_t len)
{
	(*(unsigned long *)ctx)++;
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp/ipcd-bench-persist";
	unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000;
	unsigned long batch = argc > 3 ? strtoul(argv[3], NULL, 10) : 64;
	const char *policy = argc > 4 ? argv[4] : "everysec";
	struct persist_options o = { .fsync = !strcmp(policy, "always") ? PERSIST_FSYNC_ALWAYS
	                                    : !strcmp(policy, "no") ? PERSIST_FSYNC_NO
	                                    : PERSIST_FSYNC_EVERYSEC };
	unsigned long replayed = 0;
	struct persist_ops ops = { .replay = count, .ctx = &replayed };
	char err[512], rec[40];
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	struct persist *p = persist_open(dir, &o, &ops, err, sizeof(err));
	if (!p) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	memset(rec, 'x', sizeof(rec));
	double t0 = now_s();
	for (unsigned long i = 0; i < n; i++) {
		memcpy(rec, &i, sizeof(i));
		persist_append(p, rec, sizeof(rec));
		if ((i + 1) % batch == 0 && persist_commit(p) < 0) {
			fprintf(stderr, "commit failed\n");
			return 1;
		}
	}
	persist_commit(p);
	double t1 = now_s();
	persist_close(p);
	double t2 = now_s();
	p = persist_open(dir, &o, &ops, err, sizeof(err));
	double t3 = now_s();
	if (!p || replayed != n) {
		fprintf(stderr, "replay: %s (%lu of %lu)\n", p ? "short" : err, replayed, n);
		return 1;
	}
	persist_close(p);
	printf("append: %lu records of 40 B, batches of %lu, fsync=%s: %.0f records/s (%.2f s, close %.2f s)\n",
	       n, batch, policy, (double)n / (t1 - t0), t1 - t0, t2 - t1);
	printf("recovery: %lu records replayed in %.3f s (%.0f records/s)\n", replayed, t3 - t2,
	       (double)replayed / (t3 - t2));
	return system(cmd) != 0;
}
