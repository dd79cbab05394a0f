/*
 * bench.c: ipcd-bench, ipcd against Redis, Python's multiprocessing.Manager
 * and multiprocessing.Queue, and the bare socket floor, in one run.
 *
 * It starts what it measures, each on a temporary Unix socket in a fresh
 * directory and each with PR_SET_PDEATHSIG so nothing outlives it: ipcd and
 * redis-server (told READY=1 through NOTIFY_SOCKET, as systemd would be) and
 * a Manager server (peer_manager.py serve, which says READY=1 the same way).
 * It stops only what it started, by pid. A peer that is not installed is
 * skipped with a line saying so; nothing else is skipped.
 *
 * Every workload runs against every system that has it, workload by
 * workload, so that the systems are measured side by side in time. ipcd and
 * Redis are driven from C through a driver each (bench.h); the Python
 * systems run their workloads in peer scripts (peer_manager.py) that print
 * one JSON line. A Python system is a line in `peers` below and a script
 * with the same command line: ipcd-py (peer_ipcd_py.py) is the Python
 * package `ipcd` against the same ipcd, so that the Manager is also compared
 * Python against Python (the table's "ipcd-py x" column).
 *
 * Counting: ops are requests; a put and a get are two; a batch of 1,000 items
 * counts 1,000. Latency is per request, from its send to its reply (for a
 * batch, per batch call). taskqueue_4w is tasks/s of wall time; stream_16B
 * counts each item's put and get (two ops per item). server_cpu_us is the
 * server process's CPU time over the timed part divided by those ops (the
 * Manager's server for manager, redis-server, the daemon for ipcd and
 * ipcd-py; none for mpqueue, mpvalue and the floors). paced_5k sends at
 * 5,000 requests/s, so it shows what a server burns between requests;
 * ipcd-nopoll is a second daemon with busy_poll=0 to compare it with.
 * ipcd-shm is the ipcd daemon again, its clients on the shared-memory
 * channel; every other ipcd row keeps the socket (bench_ipcd_connect).
 *
 * Output: a table on stdout (or --json: {"machine": ..., "results": [...]}),
 * a progress line on stderr when it is a terminal. --quick: tiny counts, for
 * `meson test --suite bench` (a check that everything runs, not a measure).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"
#include "harness.h"

#ifndef BENCH_IPCD_BIN
#define BENCH_IPCD_BIN "ipcd"
#endif
#ifndef BENCH_PEER_DIR
#define BENCH_PEER_DIR "."
#endif
#define PYTHON "/usr/bin/python3" /* Debian's: its multiprocessing is the one users have */
#define READY_TIMEOUT_MS 15000
#define STOP_TIMEOUT_MS 5000

static int quick;
static int want_json;
static const char *only; /* --only: run the workloads whose name contains this */
static const char *only_system; /* --system: run only this system's rows */
static int progress;
static char tmpdir[64];

/* ---- small things ------------------------------------------------------ */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "\nipcd-bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (progress)
		fprintf(stderr, "\r\033[K");
	FILE *f = want_json ? stderr : stdout;
	vfprintf(f, fmt, ap);
	fputc('\n', f);
	fflush(f);
	va_end(ap);
}

long long bench_rss(long pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	FILE *f = fopen(path, "r");
	long long kb = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = atoll(line + 6);
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

/* Latency samples in ns, in a shared mapping so that children can fill them. */
struct lat {
	uint64_t *v;
	size_t n, cap;
};

static void lat_init(struct lat *l, size_t cap)
{
	l->v = mmap(NULL, (cap ? cap : 1) * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (l->v == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	l->n = 0;
	l->cap = cap;
}

static void lat_add(struct lat *l, uint64_t ns)
{
	if (l->n < l->cap)
		l->v[l->n++] = ns;
}

static void lat_free(struct lat *l)
{
	munmap(l->v, (l->cap ? l->cap : 1) * sizeof(uint64_t));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

struct result {
	int ok;
	int mem;           /* a memory row: bytes_per_item */
	double ops_per_s, p50_us, p99_us, bytes_per_item;
	int cpu;           /* server_cpu_us is measured (the system has a server) */
	double server_cpu_us;
};

/* Server CPU per request: the CPU time (user + system, all its threads) of
 * the server process cpu_pid from start_clock to lat_result, over the
 * requests counted. The kernel's per-process CPU clock is the same sum as
 * utime + stime in /proc/PID/stat, in ns rather than in clock ticks. */
static pid_t cpu_pid;    /* the server measured, 0 for none */
static uint64_t cpu_t0;  /* its CPU time at start_clock, ns */

static uint64_t cpu_ns_of(pid_t pid)
{
	clockid_t id;
	struct timespec ts;
	if (pid <= 0 || clock_getcpuclockid(pid, &id) || clock_gettime(id, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The server the next workload's server_cpu_us is of: pid, or 0 for none. */
static void measure_server(pid_t pid)
{
	cpu_pid = pid;
	cpu_t0 = 0;
}

/* The start of a workload's timed part: now, and the server's CPU time. */
static uint64_t start_clock(void)
{
	cpu_t0 = cpu_ns_of(cpu_pid);
	return now_ns();
}

static struct result lat_result(struct lat *l, double ops, uint64_t elapsed_ns)
{
	struct result r = { .ok = 1, .ops_per_s = ops / (elapsed_ns / 1e9) };
	uint64_t cpu = cpu_ns_of(cpu_pid);
	if (cpu_t0 && cpu >= cpu_t0 && ops > 0) {
		r.cpu = 1;
		r.server_cpu_us = (double)(cpu - cpu_t0) / 1e3 / ops;
	}
	if (l && l->n) {
		qsort(l->v, l->n, sizeof(uint64_t), cmp_u64);
		r.p50_us = l->v[l->n / 2] / 1e3;
		r.p99_us = l->v[l->n * 99 / 100] / 1e3;
	}
	return r;
}

/* ---- processes we start -------------------------------------------------- */

struct server {
	const char *system;
	pid_t pid;
	char addr[128];
};

/* Start argv (a server that speaks sd_notify) and wait for READY=1. 0 or -1. */
static int spawn_ready(struct server *s, char *const argv[], int quiet)
{
	char notify[128];
	snprintf(notify, sizeof(notify), "%s/notify-%s.sock", tmpdir, s->system);
	s->pid = harness_spawn(argv, notify, quiet, READY_TIMEOUT_MS);
	if (s->pid > 0)
		return 0;
	s->pid = 0;
	return -1;
}

static void server_stop(struct server *s)
{
	if (s->pid <= 0)
		return;
	harness_stop_pid(s->pid, STOP_TIMEOUT_MS);
	s->pid = 0;
	unlink(s->addr);
}

/* Persistence of the durable rows: none (in memory), or state on disk
 * synced as fsync/appendfsync says. */
enum durability { D_MEMORY, D_EVERYSEC, D_ALWAYS };
static const char *const durability_name[] = { "no", "everysec", "always" };

/* Where a durable server keeps its files. */
static void state_path(char *out, size_t n, const char *system, enum durability dur)
{
	snprintf(out, n, "%s/state-%s-%s", tmpdir, system, durability_name[dur]);
}

static int start_ipcd_durable(struct server *s, enum durability dur)
{
	const char *bin = getenv("IPCD_BIN") ? getenv("IPCD_BIN") : BENCH_IPCD_BIN;
	char dir[300], state[320], fsync[64];
	snprintf(s->addr, sizeof(s->addr), "%s/ipcd%s%s.sock", tmpdir, dur ? "-" : "", dur ? durability_name[dur] : "");
	state_path(dir, sizeof(dir), "ipcd", dur);
	snprintf(state, sizeof(state), "state_dir=%s", dir);
	snprintf(fsync, sizeof(fsync), "fsync=%s", durability_name[dur]);
	char *argv[] = { (char *)bin, "--socket", s->addr, "-o", "log_level=warning", "-o", state, "-o", fsync, NULL };
	if (dur == D_MEMORY)
		argv[5] = NULL;
	return spawn_ready(s, argv, 0);
}

static int start_ipcd(struct server *s)
{
	return start_ipcd_durable(s, D_MEMORY);
}

/* The ipcd-nopoll rows' daemon: ipcd with its busy poll off. */
static int start_ipcd_nopoll(struct server *s)
{
	const char *bin = getenv("IPCD_BIN") ? getenv("IPCD_BIN") : BENCH_IPCD_BIN;
	snprintf(s->addr, sizeof(s->addr), "%s/ipcd-nopoll.sock", tmpdir);
	char *argv[] = { (char *)bin, "--socket", s->addr, "-o", "log_level=warning", "-o", "busy_poll=0", NULL };
	return spawn_ready(s, argv, 0);
}

static const char *redis_bin(void)
{
	static const char *const paths[] = { "/usr/bin/redis-server", "/usr/local/bin/redis-server" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

static int start_redis_durable(struct server *s, enum durability dur)
{
	char dir[300];
	snprintf(s->addr, sizeof(s->addr), "%s/redis%s%s.sock", tmpdir, dur ? "-" : "", dur ? durability_name[dur] : "");
	if (dur == D_MEMORY) {
		snprintf(dir, sizeof(dir), "%s", tmpdir);
	} else {
		state_path(dir, sizeof(dir), "redis", dur);
		mkdir(dir, 0700);
	}
	char *argv[] = { (char *)redis_bin(), "--port", "0", "--unixsocket", s->addr, "--unixsocketperm", "700",
		         "--save", "", "--appendonly", dur == D_MEMORY ? "no" : "yes", "--dir", dir,
		         "--supervised", "systemd", "--daemonize", "no", "--loglevel", "warning",
		         "--appendfsync", (char *)durability_name[dur], NULL };
	if (dur == D_MEMORY)
		argv[19] = NULL;
	return spawn_ready(s, argv, 1);
}

static int start_redis(struct server *s)
{
	return start_redis_durable(s, D_MEMORY);
}

static int start_manager(struct server *s)
{
	char script[512];
	snprintf(script, sizeof(script), "%s/peer_manager.py", BENCH_PEER_DIR);
	snprintf(s->addr, sizeof(s->addr), "%s/manager.sock", tmpdir);
	char *argv[] = { PYTHON, script, "serve", s->addr, NULL };
	return spawn_ready(s, argv, 0);
}

/* ---- workloads on a native driver ------------------------------------------ */

static char val16[16] = "0123456789abcdef";
static char *val4k;

static const void *val_of(size_t size)
{
	return size == 16 ? (const void *)val16 : (const void *)val4k;
}

static struct bench_conn *conn_or_die(const struct bench_driver *d, const char *addr)
{
	struct bench_conn *c = d->connect(addr);
	if (!c)
		die("%s: cannot connect to %s", d->system, addr);
	return c;
}

static void call(const struct bench_driver *d, struct bench_conn *c, const struct bench_req *r,
                 struct bench_reply *out)
{
	if (d->send(c, r) || d->recv(c, out))
		die("%s: connection failed", d->system);
	if (!out->ok)
		die("%s: request %d on '%s' failed", d->system, (int)r->op, r->name);
}

/* rounds x the requests in reqs, one at a time. */
static struct result run_1c(const struct bench_driver *d, const char *addr, const struct bench_req *reqs,
                            size_t nreq, size_t rounds)
{
	struct bench_conn *c = conn_or_die(d, addr);
	struct lat l;
	struct bench_reply rep;
	lat_init(&l, rounds * nreq);
	uint64_t t0 = start_clock();
	for (size_t i = 0; i < rounds; i++)
		for (size_t j = 0; j < nreq; j++) {
			uint64_t a = now_ns();
			call(d, c, &reqs[j], &rep);
			lat_add(&l, now_ns() - a);
		}
	struct result r = lat_result(&l, (double)(rounds * nreq), now_ns() - t0);
	lat_free(&l);
	d->close(c);
	return r;
}

static struct result w_put_get_1c(const struct bench_driver *d, const char *addr, size_t size, size_t rounds,
                                  const char *name)
{
	struct bench_req reqs[2] = {
		{ .op = B_PUT, .name = name, .val = val_of(size), .len = size },
		{ .op = B_GET, .name = name },
	};
	return run_1c(d, addr, reqs, 2, rounds);
}

static struct result w_dict_1c(const struct bench_driver *d, const char *addr, size_t size, size_t rounds)
{
	struct bench_req reqs[2] = {
		{ .op = B_DSET, .name = size == 16 ? "d16" : "d4k", .val = val_of(size), .len = size },
		{ .op = B_DGET, .name = size == 16 ? "d16" : "d4k" },
	};
	return run_1c(d, addr, reqs, 2, rounds);
}

/* A lock taken and released by one connection, each a round trip (ipcd:
 * lock.acquire/release; redis: SET NX and DEL, the usual Redis lock). */
static struct result w_lock_1c(const struct bench_driver *d, const char *addr, size_t rounds)
{
	struct bench_req reqs[2] = { { .op = B_LOCK, .name = "lk" }, { .op = B_UNLOCK, .name = "lk" } };
	return run_1c(d, addr, reqs, 2, rounds);
}

static struct result w_list_1c(const struct bench_driver *d, const char *addr, size_t size, size_t rounds)
{
	struct bench_req req = { .op = B_LAPPEND, .name = size == 16 ? "l16" : "l4k", .val = val_of(size), .len = size };
	return run_1c(d, addr, &req, 1, rounds);
}

/* One connection, `depth` requests in flight, alternating put and get. */
static struct result w_put_get_pipe(const struct bench_driver *d, const char *addr, size_t size, size_t rounds,
                                    size_t depth)
{
	struct bench_conn *c = conn_or_die(d, addr);
	struct bench_req put = { .op = B_PUT, .name = "qp", .val = val_of(size), .len = size };
	struct bench_req get = { .op = B_GET, .name = "qp" };
	size_t total = rounds * 2, sent = 0, done = 0;
	uint64_t *stamp = calloc(depth, sizeof(uint64_t));
	struct lat l;
	struct bench_reply rep;
	lat_init(&l, total);
	uint64_t t0 = start_clock();
	while (done < total) {
		while (sent < total && sent - done < depth) {
			if (d->send(c, sent % 2 ? &get : &put))
				die("%s: send failed", d->system);
			stamp[sent % depth] = now_ns();
			sent++;
		}
		if (d->flush(c))
			die("%s: flush failed", d->system);
		long ready = d->ready(c);
		if (ready < 0)
			die("%s: read failed", d->system);
		if (ready == 0)
			ready = 1; /* wait for one */
		for (long i = 0; i < ready; i++) {
			if (d->recv(c, &rep) || !rep.ok)
				die("%s: pipelined request failed", d->system);
			lat_add(&l, now_ns() - stamp[done % depth]);
			done++;
		}
	}
	struct result r = lat_result(&l, (double)total, now_ns() - t0);
	lat_free(&l);
	free(stamp);
	d->close(c);
	return r;
}

/* How long the many-connection loop spins over rings with nothing coming
 * before it polls: libipcd's own spin (client/shm.c). */
#define SPIN_NS 50000

/* nconn connections from this one process, one request in flight on each. */
static struct result w_put_get_clients(const struct bench_driver *d, const char *addr, size_t size,
                                       size_t rounds, size_t nconn)
{
	struct bench_conn **c = calloc(nconn, sizeof(*c));
	struct pollfd *pf = calloc(nconn, sizeof(*pf));
	char *due = calloc(nconn, 1);   /* its reply is there without a poll */
	size_t ndue = 0;
	uint64_t *stamp = calloc(nconn, sizeof(uint64_t));
	size_t *sent = calloc(nconn, sizeof(size_t));
	size_t per = rounds * 2 / nconn ? rounds * 2 / nconn : 2;
	struct bench_req put = { .op = B_PUT, .name = "q50", .val = val_of(size), .len = size };
	struct bench_req get = { .op = B_GET, .name = "q50" };
	struct lat l;
	struct bench_reply rep;
	size_t active = nconn;
	for (size_t i = 0; i < nconn; i++)
		c[i] = conn_or_die(d, addr);
	lat_init(&l, per * nconn);
	uint64_t t0 = start_clock();
	for (size_t i = 0; i < nconn; i++) {
		pf[i].events = POLLIN;
		if (d->send(c[i], &put) || d->flush(c[i]))
			die("%s: send failed", d->system);
		/* Asked for after each send: on the shared-memory channel that is
		 * what has the socket signalled when the reply comes. */
		if (d->spins)
			pf[i].fd = 0;   /* looked at on the first pass */
		else if ((pf[i].fd = d->fd(c[i])) < 0)
			due[i] = 1, ndue++;
		stamp[i] = now_ns();
		sent[i] = 1;
	}
	/* A driver whose look costs no system call (the shared-memory
	 * channel) is looked at on every pass while replies keep coming, as
	 * an application spinning on its rings would; only after SPIN_NS of
	 * nothing does it ask for wake-ups and poll. */
	uint64_t quiet_since = now_ns();
	int spinning = d->spins;
	while (active) {
		if (spinning) {
			for (size_t i = 0; i < nconn; i++)
				if (pf[i].fd >= 0 || due[i])
					pf[i].revents = POLLIN;
		} else if (poll(pf, nconn, ndue ? 0 : -1) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		size_t progressed = 0;
		for (size_t i = 0; i < nconn; i++) {
			if (!due[i] && (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR))))
				continue;
			if (due[i])
				due[i] = 0, ndue--;
			long ready = d->ready(c[i]);
			if (ready < 0)
				die("%s: read failed", d->system);
			if (ready == 0)
				continue;
			progressed++;
			if (d->recv(c[i], &rep) || !rep.ok)
				die("%s: request failed", d->system);
			lat_add(&l, now_ns() - stamp[i]);
			if (sent[i] == per) {
				pf[i].fd = -1;
				active--;
				continue;
			}
			/* A put, then its get: the queue never runs dry under a get. */
			if (d->send(c[i], sent[i] % 2 ? &get : &put) || d->flush(c[i]))
				die("%s: send failed", d->system);
			if (spinning)
				pf[i].fd = 0;   /* looked at on the next pass */
			else if ((pf[i].fd = d->fd(c[i])) < 0)
				due[i] = 1, ndue++;
			stamp[i] = now_ns();
			sent[i]++;
		}
		if (!d->spins)
			continue;
		if (progressed) {
			quiet_since = 0;
			spinning = 1;
		} else if (spinning && !quiet_since) {
			quiet_since = now_ns();
		} else if (spinning && now_ns() - quiet_since >= SPIN_NS) {
			/* Quiet for a while: ask each for a wake-up and poll. */
			spinning = 0;
			for (size_t i = 0; i < nconn; i++)
				if (pf[i].fd >= 0 && (pf[i].fd = d->fd(c[i])) < 0)
					due[i] = 1, ndue++;
		} else if (!spinning) {
			spinning = 1;   /* woken: spin again */
			quiet_since = 0;
		}
	}
	struct result r = lat_result(&l, (double)(per * nconn), now_ns() - t0);
	lat_free(&l);
	for (size_t i = 0; i < nconn; i++)
		d->close(c[i]);
	free(c), free(pf), free(stamp), free(sent), free(due);
	return r;
}

/* put_many of 1,000 items, then get_many of 1,000, `rounds` times. */
static struct result w_batch(const struct bench_driver *d, const char *addr, size_t rounds)
{
	struct bench_req reqs[2] = {
		{ .op = B_PUT_MANY, .name = "qb", .val = val16, .len = 16, .count = 1000 },
		{ .op = B_GET_MANY, .name = "qb", .count = 1000 },
	};
	struct bench_conn *c = conn_or_die(d, addr);
	struct lat l;
	struct bench_reply rep;
	lat_init(&l, rounds * 2);
	uint64_t t0 = start_clock();
	for (size_t i = 0; i < rounds; i++)
		for (int j = 0; j < 2; j++) {
			uint64_t a = now_ns();
			call(d, c, &reqs[j], &rep);
			if (j == 1 && rep.count != 1000)
				die("%s: get_many returned %llu items", d->system, (unsigned long long)rep.count);
			lat_add(&l, now_ns() - a);
		}
	struct result r = lat_result(&l, (double)(rounds * 2000), now_ns() - t0);
	lat_free(&l);
	d->close(c);
	return r;
}

/* Fork n children running fn(i); they start together when released. */
struct team {
	pid_t pid[16];
	int n;
	int go[2];
};

static void team_start(struct team *t, int n, void (*fn)(int i, void *arg), void *arg)
{
	t->n = n;
	if (pipe(t->go) < 0)
		die("pipe: %s", strerror(errno));
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			char x;
			close(t->go[1]);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (read(t->go[0], &x, 1) < 0)
				_exit(90);
			fn(i, arg);
			_exit(0);
		}
		t->pid[i] = pid;
	}
	close(t->go[0]);
}

static void team_go(struct team *t)
{
	close(t->go[1]); /* EOF releases every child */
}

static void team_wait(struct team *t)
{
	for (int i = 0; i < t->n; i++) {
		int status;
		if (waitpid(t->pid[i], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			die("a benchmark child failed");
	}
}

struct incr_args {
	const struct bench_driver *d;
	const char *addr;
	size_t each;
	struct lat *l;
	char name[64];  /* the dict: one per system, as two may share a server */
};

static void incr_child(int i, void *arg)
{
	struct incr_args *a = arg;
	struct bench_conn *c = conn_or_die(a->d, a->addr);
	struct bench_req req = { .op = B_DINCR, .name = a->name };
	struct bench_reply rep;
	for (size_t k = 0; k < a->each; k++) {
		uint64_t t = now_ns();
		call(a->d, c, &req, &rep);
		a->l->v[i * a->each + k] = now_ns() - t;
	}
	a->d->close(c);
}

static struct result w_incr_8p(const struct bench_driver *d, const char *addr, size_t total)
{
	struct lat l;
	struct incr_args a = { d, addr, total / 8 ? total / 8 : 1, &l, "" };
	snprintf(a.name, sizeof(a.name), "counters.%s", d->system);
	lat_init(&l, a.each * 8);
	struct team t;
	team_start(&t, 8, incr_child, &a);
	uint64_t t0 = start_clock();
	team_go(&t);
	team_wait(&t);
	uint64_t el = now_ns() - t0;
	l.n = a.each * 8;
	struct bench_conn *c = conn_or_die(d, addr);
	struct bench_req get = { .op = B_DGET_INT, .name = a.name };
	struct bench_reply rep;
	call(d, c, &get, &rep);
	if (rep.ival != (int64_t)(a.each * 8))
		die("%s: incr_8p counted %lld, not %zu", d->system, (long long)rep.ival, a.each * 8);
	d->close(c);
	struct result r = lat_result(&l, (double)l.n, el);
	lat_free(&l);
	return r;
}

struct tq_args {
	const struct bench_driver *d;
	const char *addr;
	unsigned prefetch; /* > 1: ipcd's worker with acknowledged gets taken this many at a time */
};

/* The lesson's worker: get a task, put its square, until the sentinel. It
 * takes one task at a time, as the lesson's workers do, but sends the put of
 * a result and the get of the next task in one write, as a user of a
 * pipelining client would (ipcd_send, or a Redis pipeline): one round trip
 * per task instead of two. The Python peers cannot pipeline. */
static void tq_worker(int i, void *arg)
{
	struct tq_args *a = arg;
	if (a->prefetch) {
		if (bench_ipcd_prefetch_worker(a->addr, a->prefetch, a->d == &bench_ipcd_shm))
			die("ipcd: taskqueue worker with prefetch failed");
		return;
	}
	struct bench_conn *c = conn_or_die(a->d, a->addr);
	struct bench_req get = { .op = B_BGET, .name = "tq.tasks" };
	struct bench_req put = { .op = B_PUT_INT, .name = "tq.results" };
	struct bench_reply rep, put_rep;
	if (a->d->send(c, &get))
		die("%s: taskqueue worker cannot send", a->d->system);
	for (;;) {
		if (a->d->recv(c, &rep) || !rep.ok)
			die("%s: taskqueue get failed", a->d->system);
		if (rep.nil)
			break;
		put.arg = rep.ival * rep.ival;
		if (a->d->send(c, &put) || a->d->send(c, &get))
			die("%s: taskqueue worker cannot send", a->d->system);
		if (a->d->recv(c, &put_rep) || !put_rep.ok)
			die("%s: taskqueue put failed", a->d->system);
	}
	a->d->close(c);
}

static struct result w_taskqueue(const struct bench_driver *d, const char *addr, size_t tasks, unsigned prefetch)
{
	struct tq_args a = { d, addr, prefetch };
	struct team t;
	team_start(&t, 4, tq_worker, &a);
	struct bench_conn *c = conn_or_die(d, addr);
	struct bench_reply rep;
	uint64_t t0 = start_clock();
	team_go(&t);
	for (size_t base = 0; base < tasks; base += 1000) {
		struct bench_req put = { .op = B_PUT_MANY_INT, .name = "tq.tasks", .arg = (int64_t)base,
			                 .count = (uint32_t)(tasks - base < 1000 ? tasks - base : 1000) };
		call(d, c, &put, &rep);
	}
	struct bench_req stop = { .op = B_PUT_STOP, .name = "tq.tasks" };
	for (int i = 0; i < 4; i++)
		call(d, c, &stop, &rep);
	size_t got = 0;
	int64_t sum = 0;
	struct bench_req get = { .op = B_BGET_MANY, .name = "tq.results", .count = 1000 };
	while (got < tasks) {
		call(d, c, &get, &rep);
		got += rep.count;
		sum += rep.sum;
	}
	uint64_t el = now_ns() - t0;
	team_wait(&t);
	d->close(c);
	int64_t want = 0;
	for (size_t i = 0; i < tasks; i++)
		want += (int64_t)(i * i);
	if (got != tasks || sum != want)
		die("%s: taskqueue results are wrong", d->system);
	return lat_result(NULL, (double)tasks, el);
}

struct stream_args {
	const struct bench_driver *d;
	const char *addr;
	size_t items;
};

static void stream_producer(int i, void *arg)
{
	struct stream_args *a = arg;
	struct bench_conn *c = conn_or_die(a->d, a->addr);
	struct bench_reply rep;
	for (size_t sent = 0; sent < a->items; sent += 1000) {
		struct bench_req put = { .op = B_PUT_MANY, .name = "stream", .val = val16, .len = 16,
			                 .count = (uint32_t)(a->items - sent < 1000 ? a->items - sent : 1000) };
		call(a->d, c, &put, &rep);
	}
	a->d->close(c);
}

/* One producer process, one consumer, batches of 1,000 as a user would. */
static struct result w_stream(const struct bench_driver *d, const char *addr, size_t items)
{
	struct stream_args a = { d, addr, items };
	struct team t;
	struct bench_conn *c = conn_or_die(d, addr);
	struct bench_reply rep;
	struct bench_req get = { .op = B_BGET_MANY, .name = "stream", .count = 1000 };
	team_start(&t, 1, stream_producer, &a);
	uint64_t t0 = start_clock();
	team_go(&t);
	size_t got = 0;
	while (got < items) {
		call(d, c, &get, &rep);
		got += rep.count;
	}
	uint64_t el = now_ns() - t0;
	team_wait(&t);
	d->close(c);
	return lat_result(NULL, 2.0 * (double)items, el);
}

/* Fill queue name with items 16-byte items, pipelined put_many of 1,000. */
/* Send n requests made by make(i, req, ctx) with at most window of them
 * awaiting their replies; every reply must be a success (else die with
 * what). */
static void pipelined(const struct bench_driver *d, struct bench_conn *c, size_t n, size_t window,
                      void (*make)(size_t i, struct bench_req *r, void *ctx), void *ctx, const char *what)
{
	struct bench_reply rep;
	size_t inflight = 0;
	for (size_t i = 0; i < n; i++) {
		struct bench_req r;
		make(i, &r, ctx);
		if (d->send(c, &r))
			die("%s: %s failed", d->system, what);
		if (++inflight == window) {
			if (d->recv(c, &rep) || !rep.ok)
				die("%s: %s failed", d->system, what);
			inflight--;
		}
	}
	while (inflight--)
		if (d->recv(c, &rep) || !rep.ok)
			die("%s: %s failed", d->system, what);
}

struct preload {
	const char *name;
	size_t items;
};

/* put_many of the i-th thousand items. */
static void preload_batch(size_t i, struct bench_req *r, void *ctx)
{
	const struct preload *pl = ctx;
	size_t sent = i * 1000;
	*r = (struct bench_req){ .op = B_PUT_MANY, .name = pl->name, .val = val16, .len = 16,
		                 .count = (uint32_t)(pl->items - sent < 1000 ? pl->items - sent : 1000) };
}

static void preload_queue(const struct bench_driver *d, struct bench_conn *c, const char *name, size_t items)
{
	struct preload pl = { name, items };
	pipelined(d, c, (items + 999) / 1000, 16, preload_batch, &pl, "preload");
}

/* Memory per 16-byte item: the server's growth while 1,000,000 go into the
 * queue "loaded" (which the loaded workload then uses). */
static struct result w_mem(const struct bench_driver *d, const struct server *s, size_t items)
{
	struct bench_conn *c = conn_or_die(d, s->addr);
	long long before = d->mem(c, s->pid);
	preload_queue(d, c, "loaded", items);
	long long after = d->mem(c, s->pid);
	d->close(c);
	struct result r = { .ok = before >= 0 && after >= 0, .mem = 1 };
	r.bytes_per_item = (double)(after - before) / (double)items;
	return r;
}

/* Bytes of the regular files under dir whose names start with prefix
 * (redis 7 keeps its AOF in parts under appendonlydir/). */
static long long dir_bytes(const char *dir, const char *prefix)
{
	char cmd[600];
	long long total = 0;
	snprintf(cmd, sizeof(cmd), "find '%s' -type f -name '%s*' -printf '%%s\\n'", dir, prefix);
	FILE *f = popen(cmd, "r");
	long long n;
	while (f && fscanf(f, "%lld", &n) == 1)
		total += n;
	if (f)
		pclose(f);
	return total;
}

static struct result disk_row(long long bytes, size_t items)
{
	struct result r = { .ok = bytes > 0, .mem = 1 };
	r.bytes_per_item = (double)bytes / (double)items;
	return r;
}

static void add_row(const char *workload, const char *system, struct result r);

/* A single put of a distinct value, as real items are: equal ones would let
 * redis's RDB compress them to nothing. ctx: a 17-byte buffer. */
static void recovery_put(size_t i, struct bench_req *r, void *ctx)
{
	char *val = ctx;
	snprintf(val, 17, "%016zx", i * 2654435761u);
	*r = (struct bench_req){ .op = B_PUT, .name = "recover", .val = val, .len = 16 };
}

/* items single puts into a persisting server, a restart, and the time from
 * start to ready as items per second; the files' bytes per item as rows of
 * disk_per_item_16B: the log and a snapshot (redis: AOF and RDB). */
static void w_recovery(const struct bench_driver *d, struct server *s, size_t items, const char *workload)
{
	int ipcd = d == &bench_ipcd;
	enum durability dur = D_EVERYSEC;
	struct bench_conn *c = conn_or_die(d, s->addr);
	struct bench_reply rep;
	char val[17];
	pipelined(d, c, items, 64, recovery_put, val, "preload");
	d->close(c);
	char dir[300];
	state_path(dir, sizeof(dir), d->system, dur);
	server_stop(s);
	long long log_bytes = ipcd ? dir_bytes(dir, "log.") : dir_bytes(dir, "appendonly");
	uint64_t t0 = now_ns();
	if ((ipcd ? start_ipcd_durable(s, dur) : start_redis_durable(s, dur)) < 0)
		die("%s: no restart after the preload", d->system);
	double secs = (double)(now_ns() - t0) / 1e9;
	struct result r = { .ok = 1, .ops_per_s = (double)items / secs };
	add_row(workload, d->system, r);
	note("%s: %s: %.2f s from start to ready with %zu items", workload, d->system, secs, items);
	add_row("disk_per_item_16B", ipcd ? "ipcd" : "redis", disk_row(log_bytes, items));
	/* A snapshot of the same state (ipcd writes it in the background and
	 * finishes it before it exits), measured once the server stopped. */
	struct bench_req save = { .op = B_SAVE };
	c = conn_or_die(d, s->addr);
	call(d, c, &save, &rep);
	if (ipcd) {
		/* Round trips while the snapshot is written: the daemon forks and
		 * goes on, so the worst of them is the compaction's stall. */
		struct bench_req p1 = { .op = B_PUT, .name = "during", .val = val16, .len = 16 };
		struct bench_req g1 = { .op = B_GET, .name = "during" };
		size_t rounds = items / 50 ? items / 50 : 1;
		measure_server(s->pid);
		uint64_t worst = 0, t1 = start_clock();
		struct lat l;
		lat_init(&l, rounds * 2);
		for (size_t i = 0; i < rounds; i++)
			for (int j = 0; j < 2; j++) {
				uint64_t a = now_ns();
				call(d, c, j ? &g1 : &p1, &rep);
				uint64_t dt = now_ns() - a;
				lat_add(&l, dt);
				worst = dt > worst ? dt : worst;
			}
		add_row("compaction_1M_1c", d->system, lat_result(&l, (double)rounds * 2, now_ns() - t1));
		lat_free(&l);
		note("%s: worst round trip while a snapshot of %zu items was written: %.1f ms", workload, items,
		     (double)worst / 1e6);
	}
	d->close(c);
	server_stop(s);
	long long snap = ipcd ? dir_bytes(dir, "snapshot.") : dir_bytes(dir, "dump.rdb");
	add_row("disk_per_item_16B", ipcd ? "ipcd-snap" : "redis-rdb", disk_row(snap, items));
}

/* dict.set on object "obj<i>". ctx: a 32-byte name buffer. */
static void loaded_set(size_t i, struct bench_req *r, void *ctx)
{
	char *name = ctx;
	snprintf(name, 32, "obj%zu", i);
	*r = (struct bench_req){ .op = B_DSET, .name = name, .val = val16, .len = 16 };
}

/* The 1c workload on "loaded" with `objects` more objects in the registry. */
static struct result w_loaded(const struct bench_driver *d, const char *addr, size_t objects, size_t rounds)
{
	struct bench_conn *c = conn_or_die(d, addr);
	char name[32];
	pipelined(d, c, objects, 256, loaded_set, name, "creating objects");
	d->close(c);
	return w_put_get_1c(d, addr, 16, rounds, "loaded");
}

/* ---- the floor: a bare 32-byte ping-pong over a Unix socket --------------------- */

static struct result w_floor(size_t rounds)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair: %s", strerror(errno));
	pid_t pid = fork();
	if (pid == 0) {
		char b[32];
		close(sv[0]);
		for (;;) {
			size_t got = 0;
			while (got < 32) {
				ssize_t n = read(sv[1], b + got, 32 - got);
				if (n <= 0)
					_exit(0);
				got += (size_t)n;
			}
			if (write(sv[1], b, 32) != 32)
				_exit(1);
		}
	}
	close(sv[1]);
	char b[32] = { 0 };
	struct lat l;
	lat_init(&l, rounds);
	uint64_t t0 = now_ns();
	for (size_t i = 0; i < rounds; i++) {
		uint64_t a = now_ns();
		if (write(sv[0], b, 32) != 32)
			die("floor: write");
		size_t got = 0;
		while (got < 32) {
			ssize_t n = read(sv[0], b + got, 32 - got);
			if (n <= 0)
				die("floor: read");
			got += (size_t)n;
		}
		lat_add(&l, now_ns() - a);
	}
	struct result r = lat_result(&l, (double)rounds, now_ns() - t0);
	close(sv[0]);
	waitpid(pid, NULL, 0);
	lat_free(&l);
	return r;
}

/* ---- the shared-memory floor: a counter ping-ponged through one cache line ----- */

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Spin until *line is want (or stop); a core shared with others gets it
 * back now and then, so that a descheduled partner can run. */
static uint64_t spin_until(_Atomic uint64_t *line, uint64_t want, uint64_t stop)
{
	uint64_t v;
	for (unsigned n = 1; (v = atomic_load_explicit(line, memory_order_acquire)) != want && v != stop; n++) {
		cpu_relax();
		if (!(n % 1024))
			sched_yield();
	}
	return v;
}

/* Two processes spinning on one shared cache line: the parent writes an odd
 * count, the child answers with the next even one. The least a round trip
 * between two processes costs, both sides burning a core all along. */
static struct result w_floor_shm(size_t rounds)
{
	_Atomic uint64_t *line = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (line == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	atomic_store(line, 0);
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (uint64_t want = 1; spin_until(line, want, UINT64_MAX) == want; want += 2)
			atomic_store_explicit(line, want + 1, memory_order_release);
		_exit(0);
	}
	struct lat l;
	lat_init(&l, rounds);
	uint64_t me0 = cpu_ns_of(getpid()), peer0 = cpu_ns_of(pid), t0 = now_ns();
	for (uint64_t i = 0; i < rounds; i++) {
		uint64_t a = now_ns();
		atomic_store_explicit(line, 2 * i + 1, memory_order_release);
		spin_until(line, 2 * i + 2, UINT64_MAX);
		lat_add(&l, now_ns() - a);
	}
	uint64_t wall = now_ns() - t0;
	/* What spinning costs: each side's CPU time over the wall time. */
	note("floor_shm_pingpong: CPU per wall second while spinning: %.2f (sender), %.2f (answerer)",
	     (double)(cpu_ns_of(getpid()) - me0) / (double)wall, (double)(cpu_ns_of(pid) - peer0) / (double)wall);
	struct result r = lat_result(&l, (double)rounds, wall);
	atomic_store(line, UINT64_MAX);
	waitpid(pid, NULL, 0);
	munmap(line, 4096);
	lat_free(&l);
	return r;
}

/* ---- paced: a mostly idle server ----------------------------------------------- */

#define PACED_RATE 5000 /* requests per second */

/* One client, put/get pairs at PACED_RATE requests per second, to a
 * schedule: request k is due k / PACED_RATE seconds after the start (a late
 * one goes at once; the schedule does not move). A server that spins
 * between requests shows it in server_cpu_us here. */
static struct result w_paced(const struct bench_driver *d, const char *addr, size_t requests)
{
	struct bench_conn *c = conn_or_die(d, addr);
	struct bench_req reqs[2] = {
		{ .op = B_PUT, .name = "qpaced", .val = val16, .len = 16 },
		{ .op = B_GET, .name = "qpaced" },
	};
	struct bench_reply rep;
	struct lat l;
	lat_init(&l, requests);
	uint64_t t0 = start_clock();
	for (size_t k = 0; k < requests; k++) {
		uint64_t due = t0 + (uint64_t)k * (1000000000u / PACED_RATE);
		struct timespec ts = { .tv_sec = (time_t)(due / 1000000000u), .tv_nsec = (long)(due % 1000000000u) };
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		uint64_t a = now_ns();
		call(d, c, &reqs[k % 2], &rep);
		lat_add(&l, now_ns() - a);
	}
	struct result r = lat_result(&l, (double)requests, now_ns() - t0);
	lat_free(&l);
	d->close(c);
	return r;
}

/* ---- event_wait_wake: the time from a set to the waiter's wake ------------------ */

#define EVENT_PAUSE_NS 1000000 /* between the waiter's wait and the set: it is parked by then */

struct wake_shared {
	_Atomic uint64_t waiting; /* rounds whose wait the waiter has sent */
	_Atomic uint64_t set_ns;  /* when this round's set was sent */
};

struct event_args {
	const struct bench_driver *d;
	const char *addr;
	size_t rounds;
	struct lat *l;
	struct wake_shared *sh;
};

/* The waiter: clear, wait, and the time from the set to its wake. */
static void event_waiter(int i, void *arg)
{
	struct event_args *a = arg;
	struct bench_conn *c = conn_or_die(a->d, a->addr);
	struct bench_req clear = { .op = B_EVCLEAR, .name = "ev" }, wait = { .op = B_EVWAIT, .name = "ev", .arg = 10 };
	struct bench_reply rep;
	for (size_t k = 0; k < a->rounds; k++) {
		call(a->d, c, &clear, &rep);
		if (a->d->send(c, &wait) || a->d->flush(c))
			die("%s: event wait cannot send", a->d->system);
		atomic_store(&a->sh->waiting, k + 1);
		if (a->d->recv(c, &rep) || !rep.ok || !rep.ival)
			die("%s: event wait did not end set", a->d->system);
		a->l->v[k] = now_ns() - atomic_load(&a->sh->set_ns);
	}
	a->d->close(c);
}

/* One process waits on an event, another sets it once the wait is parked;
 * latency: set sent -> wait's reply read. Three requests a round (clear,
 * wait, set); ops/s is paced by EVENT_PAUSE_NS and means little. */
static struct result w_event(const struct bench_driver *d, const char *addr, size_t rounds)
{
	struct wake_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	atomic_store(&sh->waiting, 0);
	struct lat l;
	lat_init(&l, rounds);
	struct event_args a = { d, addr, rounds, &l, sh };
	struct bench_conn *c = conn_or_die(d, addr);
	struct bench_req set = { .op = B_EVSET, .name = "ev" };
	struct bench_reply rep;
	struct team t;
	team_start(&t, 1, event_waiter, &a);
	uint64_t t0 = start_clock();
	team_go(&t);
	for (size_t k = 0; k < rounds; k++) {
		while (atomic_load(&sh->waiting) != k + 1)
			sched_yield();
		struct timespec pause = { 0, EVENT_PAUSE_NS };
		nanosleep(&pause, NULL);
		atomic_store(&sh->set_ns, now_ns());
		call(d, c, &set, &rep);
	}
	team_wait(&t);
	l.n = rounds;
	struct result r = lat_result(&l, 3.0 * (double)rounds, now_ns() - t0);
	d->close(c);
	lat_free(&l);
	munmap(sh, sizeof(*sh));
	return r;
}

/* ---- Python peers ------------------------------------------------------------ */

/* A system measured by a peer script (peer_manager.py's command line). */
struct peer {
	const char *system;
	const char *script;    /* in BENCH_PEER_DIR */
	struct server *server; /* the server it talks to, or NULL */
	const char *needs;     /* a Python module it imports (checked once), or NULL */
	int native_counts;     /* run the C drivers' counts, not the Manager's */
};

static double json_num(const char *s, const char *key)
{
	char k[64];
	snprintf(k, sizeof(k), "\"%s\":", key);
	const char *p = strstr(s, k);
	return p ? strtod(p + strlen(k), NULL) : -1;
}

/* Run workload on a peer: 1 (row in *r), 0 (the peer does not run it). */
static int run_peer(const struct peer *p, const char *workload, size_t n, size_t load, size_t objects,
                    struct result *r)
{
	char script[512], ns[32], ls[32], os[32], spid[32];
	snprintf(script, sizeof(script), "%s/%s", BENCH_PEER_DIR, p->script);
	snprintf(spid, sizeof(spid), "%ld", p->server ? (long)p->server->pid : 0L);
	snprintf(ns, sizeof(ns), "%zu", n);
	snprintf(ls, sizeof(ls), "%zu", load);
	snprintf(os, sizeof(os), "%zu", objects);
	char *argv[] = { PYTHON, script, "run", (char *)p->system, (char *)workload, "--n", ns, "--load", ls,
		         "--objects", os, "--address", p->server ? p->server->addr : "", "--server-pid", spid, NULL };
	int out[2];
	if (pipe(out) < 0)
		die("pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(out[1], 1);
		close(out[0]);
		close(out[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	char buf[4096];
	size_t len = 0;
	ssize_t k;
	while ((k = read(out[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)k;
	buf[len] = '\0';
	close(out[0]);
	int status;
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
		return 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("%s: %s failed", p->system, workload);
	memset(r, 0, sizeof(*r));
	r->ok = 1;
	if (strstr(buf, "\"bytes_per_item\"")) {
		r->mem = 1;
		r->bytes_per_item = json_num(buf, "bytes_per_item");
	} else {
		r->ops_per_s = json_num(buf, "ops_per_s");
		r->p50_us = json_num(buf, "p50_us");
		r->p99_us = json_num(buf, "p99_us");
		/* absent where the system has no server */
		r->server_cpu_us = json_num(buf, "server_cpu_us");
		r->cpu = r->server_cpu_us >= 0;
	}
	return 1;
}

/* ---- the run ----------------------------------------------------------------- */

enum wkind { W_1C, W_P64, W_50C, W_DICT, W_LOCK, W_LIST, W_BATCH, W_INCR, W_TASKQ, W_STREAM, W_FLOOR, W_LOADED, W_MEM,
             W_RECOVERY, W_COUNTER, W_PACED, W_EVENT, W_FLOOR_SHM };

/* Rows of ipcd variants a workload also has, on the same workload code. */
enum { X_NOPOLL = 1,   /* ipcd-nopoll: a second daemon with busy_poll=0 */
       X_PREFETCH = 2, /* ipcd-prefetch: taskqueue_4w's workers with acknowledged gets, prefetched */
};
#define TQ_PREFETCH 64 /* ipcd-prefetch's ipcd_set_prefetch */

struct workload {
	const char *name;
	enum wkind kind;
	size_t size;
	size_t n_native; /* rounds (or tasks, items) for ipcd and redis */
	size_t n_python; /* for the Python peers */
	enum durability dur; /* D_MEMORY, or on servers of their own that persist */
	unsigned extra;      /* X_*: variant rows */
};

/* Counts for the full run; --quick divides them. taskqueue_4w and stream_16B
 * are defined by their counts, so every system gets the same. */
static const struct workload workloads[] = {
	{ "queue_put_get_16B_1c", W_1C, 16, 40000, 5000, D_MEMORY, X_NOPOLL },
	{ "queue_put_get_4K_1c", W_1C, 4096, 40000, 5000, D_MEMORY, 0 },
	{ "queue_put_get_16B_p64", W_P64, 16, 300000, 5000, D_MEMORY, 0 },
	{ "queue_put_get_4K_p64", W_P64, 4096, 100000, 5000, D_MEMORY, 0 },
	{ "queue_put_get_16B_50c", W_50C, 16, 100000, 5000, D_MEMORY, 0 },
	{ "queue_put_get_4K_50c", W_50C, 4096, 50000, 5000, D_MEMORY, 0 },
	{ "dict_set_get_16B_1c", W_DICT, 16, 40000, 5000, D_MEMORY, 0 },
	{ "dict_set_get_4K_1c", W_DICT, 4096, 40000, 5000, D_MEMORY, 0 },
	{ "lock_acquire_release_1c", W_LOCK, 0, 40000, 5000, D_MEMORY, 0 },
	{ "list_append_16B_1c", W_LIST, 16, 80000, 10000, D_MEMORY, 0 },
	{ "list_append_4K_1c", W_LIST, 4096, 80000, 10000, D_MEMORY, 0 },
	{ "queue_batch_16B", W_BATCH, 16, 300, 5, D_MEMORY, 0 },
	{ "incr_8p", W_INCR, 0, 80000, 8000, D_MEMORY, 0 },
	{ "counter_incr_8p", W_COUNTER, 0, 8000000, 8000, D_MEMORY, 0 },  /* ipcd: a mapped value (counter.c) */
	{ "taskqueue_4w", W_TASKQ, 0, 100000, 100000, D_MEMORY, X_PREFETCH },
	{ "stream_16B", W_STREAM, 16, 1000000, 1000000, D_MEMORY, 0 },
	{ "floor_pingpong_32B", W_FLOOR, 32, 100000, 0, D_MEMORY, 0 },
	{ "floor_shm_pingpong", W_FLOOR_SHM, 8, 1000000, 0, D_MEMORY, 0 },
	/* Requests paced at 5,000/s: the server's CPU per request when idle between them. */
	{ "paced_5k", W_PACED, 16, 10000, 10000, D_MEMORY, X_NOPOLL },
	{ "event_wait_wake", W_EVENT, 0, 1000, 1000, D_MEMORY, 0 },
	/* Scale: on freshly started servers; mem fills the queue loaded uses. */
	{ "mem_per_item_16B", W_MEM, 16, 1000000, 1000000, D_MEMORY, 0 },
	{ "queue_put_get_16B_1c_loaded", W_LOADED, 16, 40000, 5000, D_MEMORY, 0 },
	/* Durable: ipcd with state_dir and fsync, redis with appendonly and the
	 * same appendfsync, each on servers of their own. */
	{ "queue_put_get_16B_1c_everysec", W_1C, 16, 40000, 0, D_EVERYSEC, 0 },
	{ "queue_put_get_16B_p64_everysec", W_P64, 16, 300000, 0, D_EVERYSEC, 0 },
	{ "queue_put_get_16B_1c_always", W_1C, 16, 10000, 0, D_ALWAYS, 0 },
	{ "queue_put_get_16B_p64_always", W_P64, 16, 100000, 0, D_ALWAYS, 0 },
	/* 1,000,000 single puts (one log record each), then a restart: items
	 * recovered per second from start to ready, and bytes on disk per item. */
	{ "recovery_1M", W_RECOVERY, 16, 1000000, 0, D_EVERYSEC, 0 },
};
#define NWORK (sizeof(workloads) / sizeof(workloads[0]))
#define LOADED_OBJECTS 100000

static struct server srv_ipcd = { .system = "ipcd" }, srv_redis = { .system = "redis" },
		     srv_manager = { .system = "manager" }, srv_ipcd_nopoll = { .system = "ipcd-nopoll" };
static int have_redis, have_python;

static const struct peer peers[] = {
	{ "manager", "peer_manager.py", &srv_manager, NULL, 0 },
	{ "mpqueue", "peer_manager.py", NULL, NULL, 0 },
	{ "mpvalue", "peer_manager.py", NULL, NULL, 0 },
	{ "ipcd-py", "peer_ipcd_py.py", &srv_ipcd, "msgpack", 1 },
};
#define NPEERS (sizeof(peers) / sizeof(peers[0]))
static int peer_ok[NPEERS]; /* installed: python3, its script and its module */

struct row {
	const char *workload, *system;
	struct result r;
};
static struct row rows[NWORK * 10];
static size_t nrows;

static void add_row(const char *workload, const char *system, struct result r)
{
	rows[nrows++] = (struct row){ workload, system, r };
}

/* Whether --system lets system's rows run. */
static int system_on(const char *system)
{
	return !only_system || !strcmp(system, only_system);
}

static size_t scaled(size_t n, size_t div)
{
	if (!quick)
		return n;
	return n / div ? n / div : 1;
}

/* The count run_native gives a workload's driver (rounds, tasks or items):
 * what a peer with native_counts gets as --n. */
static size_t native_n(const struct workload *w)
{
	size_t n = scaled(w->n_native, 200);
	switch (w->kind) {
	case W_1C: case W_P64: case W_50C: case W_DICT: case W_LOCK: case W_LOADED: return n / 2;
	default: return n;
	}
}

/* Whether Debian's python3 can import module (run once per peer). */
static int python_has(const char *module)
{
	char code[128];
	snprintf(code, sizeof(code), "import %s", module);
	char *argv[] = { PYTHON, "-c", code, NULL };
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int dn = open("/dev/null", O_WRONLY);
		dup2(dn, 1);
		dup2(dn, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	int status;
	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static struct result run_native(const struct workload *w, const struct bench_driver *d, const struct server *s)
{
	size_t n = scaled(w->n_native, 200);
	measure_server(s->pid);
	switch (w->kind) {
	case W_1C: return w_put_get_1c(d, s->addr, w->size, n / 2, "q1");
	case W_P64: return w_put_get_pipe(d, s->addr, w->size, n / 2, 64);
	case W_50C: return w_put_get_clients(d, s->addr, w->size, n / 2, 50);
	case W_DICT: return w_dict_1c(d, s->addr, w->size, n / 2);
	case W_LOCK: return w_lock_1c(d, s->addr, n / 2);
	case W_LIST: return w_list_1c(d, s->addr, w->size, n);
	case W_BATCH: return w_batch(d, s->addr, n);
	case W_INCR: return w_incr_8p(d, s->addr, n);
	case W_TASKQ: return w_taskqueue(d, s->addr, n, 0);
	case W_STREAM: return w_stream(d, s->addr, n);
	case W_MEM: return w_mem(d, s, n);
	case W_LOADED: return w_loaded(d, s->addr, scaled(LOADED_OBJECTS, 200), n / 2);
	case W_PACED: return w_paced(d, s->addr, n);
	case W_EVENT: return w_event(d, s->addr, n);
	case W_COUNTER: {
		double ops_per_s;
		uint64_t t0 = start_clock();
		if (bench_counter_incr_8p(s->addr, n, &ops_per_s) < 0)
			die("counter_incr_8p failed");
		struct result r = lat_result(NULL, (double)n, now_ns() - t0); /* for the server's CPU */
		r.ops_per_s = ops_per_s;
		return r;
	}
	case W_FLOOR: case W_FLOOR_SHM: case W_RECOVERY: break;
	}
	return (struct result){ 0 };
}

static void progress_line(size_t k, size_t total, const char *workload, const char *system)
{
	if (progress) {
		fprintf(stderr, "\r\033[K[%zu/%zu] %s: %s", k, total, workload, system);
		fflush(stderr);
	}
}

/* taskqueue_4w with prefetched acknowledged gets, through driver d. */
static void run_prefetch(const struct workload *w, const char *system, const struct bench_driver *d,
                         const struct server *srv, size_t k, size_t total)
{
	progress_line(k, total, w->name, system);
	measure_server(srv->pid);
	add_row(w->name, system, w_taskqueue(d, srv->addr, scaled(w->n_native, 200), TQ_PREFETCH));
}

static void start_servers(void)
{
	if (start_ipcd(&srv_ipcd) < 0)
		die("ipcd did not start (IPCD_BIN=%s)", getenv("IPCD_BIN") ? getenv("IPCD_BIN") : BENCH_IPCD_BIN);
	if (start_ipcd_nopoll(&srv_ipcd_nopoll) < 0)
		die("ipcd did not start with busy_poll=0");
	if (have_redis && start_redis(&srv_redis) < 0)
		die("redis-server did not start");
	if (have_python && start_manager(&srv_manager) < 0)
		die("the Manager server (peer_manager.py serve) did not start");
}

static void stop_servers(void)
{
	server_stop(&srv_ipcd);
	server_stop(&srv_ipcd_nopoll);
	server_stop(&srv_redis);
	server_stop(&srv_manager);
}

/* ---- report ------------------------------------------------------------------ */

static const struct row *find_row(const char *workload, const char *system)
{
	for (size_t i = 0; i < nrows; i++)
		if (!strcmp(rows[i].workload, workload) && !strcmp(rows[i].system, system))
			return &rows[i];
	return NULL;
}

static void machine(char *cpu, size_t cpulen, char *kernel, size_t klen)
{
	snprintf(cpu, cpulen, "unknown");
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "model name", 10)) {
			char *p = strchr(line, ':');
			if (p) {
				p += 1 + strspn(p + 1, " \t");
				p[strcspn(p, "\n")] = '\0';
				snprintf(cpu, cpulen, "%s", p);
			}
			break;
		}
	}
	if (f)
		fclose(f);
	struct utsname u;
	snprintf(kernel, klen, "%s", uname(&u) == 0 ? u.release : "unknown");
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void print_json(void)
{
	char cpu[256], kernel[256];
	machine(cpu, sizeof(cpu), kernel, sizeof(kernel));
	printf("{\"machine\": {\"cpu\": ");
	json_str(cpu);
	printf(", \"cores\": %ld, \"kernel\": ", sysconf(_SC_NPROCESSORS_ONLN));
	json_str(kernel);
	printf("}, \"results\": [");
	for (size_t i = 0; i < nrows; i++) {
		const struct row *w = &rows[i];
		printf("%s\n  {\"workload\": \"%s\", \"system\": \"%s\", ", i ? "," : "", w->workload, w->system);
		if (w->r.mem) {
			printf("\"bytes_per_item\": %.1f}", w->r.bytes_per_item);
			continue;
		}
		printf("\"ops_per_s\": %.0f, \"p50_us\": %.1f, \"p99_us\": %.1f, \"server_cpu_us\": ", w->r.ops_per_s,
		       w->r.p50_us, w->r.p99_us);
		if (w->r.cpu)
			printf("%.3f}", w->r.server_cpu_us);
		else
			printf("null}"); /* no server: the floors, mpqueue, mpvalue */
	}
	printf("\n]}\n");
}

/* ipcd's advantage over row w: > 1 means ipcd is better. 0 if none. */
static double ratio(const struct row *w)
{
	const struct row *me = find_row(w->workload, "ipcd");
	if (!me || me == w)
		return 0;
	if (w->r.mem)
		return me->r.bytes_per_item > 0 ? w->r.bytes_per_item / me->r.bytes_per_item : 0;
	return w->r.ops_per_s > 0 ? me->r.ops_per_s / w->r.ops_per_s : 0;
}

/* ipcd-py's advantage over row w, for the other Python peers' rows (Python
 * against Python): ipcd-py's ops/s over the row's. 0 if none. */
static double py_ratio(const struct row *w)
{
	int python_peer = 0;
	for (size_t p = 0; p < NPEERS; p++)
		python_peer |= !strcmp(peers[p].system, w->system);
	const struct row *py = find_row(w->workload, "ipcd-py");
	if (!python_peer || !py || py == w || w->r.mem || py->r.mem)
		return 0;
	return w->r.ops_per_s > 0 ? py->r.ops_per_s / w->r.ops_per_s : 0;
}

static void target(const char *what, double got, double want)
{
	if (got <= 0)
		printf("  %-52s %8s  (want >= %.2f)  -\n", what, "n/a", want);
	else
		printf("  %-52s %7.2fx  (want >= %.2f)  %s\n", what, got, want, got >= want ? "met" : "MISSED");
}

static void atmost(const char *what, double got, double want)
{
	printf("  %-52s %7.2fx  (want <= %.2f)  %s\n", what, got, want, got <= want ? "met" : "MISSED");
}

static double ratio_of(const char *workload, const char *system)
{
	const struct row *w = find_row(workload, system);
	return w ? ratio(w) : 0;
}

/* ops/s of system over other's on workload; 0 if either row is missing. */
static double ops_ratio(const char *workload, const char *system, const char *other)
{
	const struct row *a = find_row(workload, system), *b = find_row(workload, other);
	return a && b && b->r.ops_per_s > 0 ? a->r.ops_per_s / b->r.ops_per_s : 0;
}

/* p50 of other over system's on workload (> 1: system is faster); 0 if missing. */
static double p50_ratio(const char *workload, const char *system, const char *other)
{
	const struct row *a = find_row(workload, system), *b = find_row(workload, other);
	return a && b && a->r.p50_us > 0 ? b->r.p50_us / a->r.p50_us : 0;
}

/* What the shared-memory channel is held to: ratios of this run's rows, and
 * absolute rates (set against the floors of the machine they were written for). */
static void shm_targets(void)
{
	const struct row *one = find_row("queue_put_get_16B_1c", "ipcd-shm");
	if (one && one->r.p50_us > 0)
		printf("  %-52s %7.2f us (want <= 1.00)  %s\n", "ipcd-shm 16B round trip p50", one->r.p50_us,
		       one->r.p50_us <= 1.0 ? "met" : "MISSED");
	target("queue_put_get_16B_1c p50 ipcd-shm vs ipcd", p50_ratio("queue_put_get_16B_1c", "ipcd-shm", "ipcd"), 15);
	target("queue_put_get_16B_1c p50 ipcd-shm vs redis", p50_ratio("queue_put_get_16B_1c", "ipcd-shm", "redis"),
	       40);
	const struct row *p64 = find_row("queue_put_get_16B_p64", "ipcd-shm");
	if (p64)
		printf("  %-52s %7.2f M ops/s (want >= 10)  %s\n", "queue_put_get_16B_p64 ipcd-shm",
		       p64->r.ops_per_s / 1e6, p64->r.ops_per_s >= 10e6 ? "met" : "MISSED");
	const struct row *st = find_row("stream_16B", "ipcd-shm");
	if (st)   /* two ops per item */
		printf("  %-52s %7.2f M items/s (want >= 50)  %s\n", "stream_16B ipcd-shm", st->r.ops_per_s / 2e6,
		       st->r.ops_per_s / 2 >= 50e6 ? "met" : "MISSED");
	target("queue_put_get_16B_50c ipcd-shm vs redis", ops_ratio("queue_put_get_16B_50c", "ipcd-shm", "redis"), 3);
	const struct row *c50 = find_row("queue_put_get_16B_50c", "ipcd-shm"),
	                 *r50 = find_row("queue_put_get_16B_50c", "redis");
	if (c50 && r50 && c50->r.cpu && r50->r.cpu && r50->r.server_cpu_us > 0)
		atmost("queue_put_get_16B_50c server_cpu_us, ipcd-shm / redis",
		       c50->r.server_cpu_us / r50->r.server_cpu_us, 0.3);
	target("taskqueue_4w ipcd-shm-prefetch vs mpqueue", ops_ratio("taskqueue_4w", "ipcd-shm-prefetch", "mpqueue"),
	       3);
}

static void print_table(void)
{
	char cpu[256], kernel[256];
	machine(cpu, sizeof(cpu), kernel, sizeof(kernel));
	printf("machine: %s, %ld cores, Linux %s\n\n", cpu, sysconf(_SC_NPROCESSORS_ONLN), kernel);
	printf("%-28s %-13s %12s %10s %10s %13s %9s %10s\n", "workload", "system", "ops/s", "p50 us", "p99 us",
	       "server_cpu_us", "ipcd x", "ipcd-py x");
	const char *last = "";
	for (size_t i = 0; i < nrows; i++) {
		const struct row *w = &rows[i];
		if (strcmp(last, w->workload) && i)
			putchar('\n');
		last = w->workload;
		double x = ratio(w), y = py_ratio(w);
		char xs[32] = "", ys[32] = "", cs[32] = "-";
		if (x > 0)
			snprintf(xs, sizeof(xs), "%.2f", x);
		if (y > 0)
			snprintf(ys, sizeof(ys), "%.2f", y);
		if (w->r.cpu)
			snprintf(cs, sizeof(cs), "%.2f", w->r.server_cpu_us);
		if (w->r.mem)
			printf("%-28s %-13s %12s %21.1f B/item %13s %9s %10s\n", w->workload, w->system, "",
			       w->r.bytes_per_item, "", xs, ys);
		else if (w->r.p50_us > 0)
			printf("%-28s %-13s %12.0f %10.2f %10.2f %13s %9s %10s\n", w->workload, w->system, w->r.ops_per_s,
			       w->r.p50_us, w->r.p99_us, cs, xs, ys);
		else
			printf("%-28s %-13s %12.0f %10s %10s %13s %9s %10s\n", w->workload, w->system, w->r.ops_per_s, "-",
			       "-", cs, xs, ys);
	}
	printf("\n\"ipcd x\": ipcd's ops/s over the row's (for memory: the row's bytes per item over ipcd's).\n");
	printf("server_cpu_us: the server process's CPU time (user + system) over the workload, per request\n"
	       "(per item for batches and streams, per task for taskqueue); - where there is no server.\n");
	printf("ipcd-nopoll: ipcd with busy_poll=0. ipcd-prefetch: taskqueue_4w's workers take acknowledged\n"
	       "gets %d at a time (ipcd_set_prefetch) and ack each batch after putting its results.\n", TQ_PREFETCH);
	printf("ipcd-shm: the same daemon and workloads through the shared-memory channel (the ipcd rows keep\n"
	       "the socket); ipcd-shm-prefetch: ipcd-prefetch through it.\n");
	printf("event_wait_wake: latency from event.set to the waiter's wake; 3 requests a round (clear, wait, set).\n");
	printf("\"ipcd-py x\": ipcd-py's (the Python package's) ops/s over the row's, for the other Python systems.\n");
	printf("ipcd-py: p64 is Client.pipeline() of 64 requests (latency per pipeline call); batches use\n"
	       "put_many/get_many; incr_8p uses Dict.incr; mem_per_item is the daemon's, measured by the ipcd row.\n");
	printf("\ntargets (ratios the benchmark is held to):\n");
	static const char *const one[] = { "queue_put_get_16B_1c", "queue_put_get_4K_1c", "dict_set_get_16B_1c",
		                           "dict_set_get_4K_1c", "list_append_16B_1c", "list_append_4K_1c" };
	char what[128];
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		snprintf(what, sizeof(what), "%s vs redis", one[i]);
		target(what, ratio_of(one[i], "redis"), 1.2);
		snprintf(what, sizeof(what), "%s vs manager", one[i]);
		target(what, ratio_of(one[i], "manager"), 1.2);
	}
	const struct row *me = find_row("queue_put_get_16B_1c", "ipcd"), *fl = find_row("floor_pingpong_32B", "floor");
	if (me && fl && me->r.p50_us > 0)
		printf("  %-52s %7.2fx  (want <= 1.50)  %s\n", "ipcd 16B round trip p50 / floor p50",
		       me->r.p50_us / fl->r.p50_us, me->r.p50_us / fl->r.p50_us <= 1.5 ? "met" : "MISSED");
	/* The busy poll's price when requests are sparse (its gain is the _1c rows' latency). */
	const struct row *pd = find_row("paced_5k", "ipcd"), *pn = find_row("paced_5k", "ipcd-nopoll");
	if (pd && pn && pd->r.cpu && pn->r.cpu && pn->r.server_cpu_us > 0)
		atmost("paced_5k server_cpu_us, ipcd / ipcd-nopoll", pd->r.server_cpu_us / pn->r.server_cpu_us, 1.2);
	const struct row *pf = find_row("taskqueue_4w", "ipcd-prefetch"), *mq = find_row("taskqueue_4w", "mpqueue");
	if (pf && mq && mq->r.ops_per_s > 0)
		target("taskqueue_4w ipcd-prefetch vs mpqueue", pf->r.ops_per_s / mq->r.ops_per_s, 1.5);
	static const struct { const char *w, *s; double want; } t[] = {
		{ "queue_put_get_16B_p64", "redis", 1.5 }, { "queue_put_get_4K_p64", "redis", 1.5 },
		{ "queue_put_get_16B_p64", "manager", 20 }, { "queue_put_get_4K_p64", "manager", 20 },
		{ "queue_batch_16B", "redis", 1.5 }, { "queue_batch_16B", "manager", 50 },
		{ "queue_put_get_16B_50c", "redis", 1.2 }, { "queue_put_get_4K_50c", "redis", 1.2 },
		{ "taskqueue_4w", "manager", 10 }, { "stream_16B", "mpqueue", 5 },
		{ "mem_per_item_16B", "redis", 1.0 },
		{ "counter_incr_8p", "mpvalue", 10 }, { "counter_incr_8p", "manager", 1000 },
		{ "lock_acquire_release_1c", "redis", 1.0 }, { "lock_acquire_release_1c", "manager", 10 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(what, sizeof(what), "%s vs %s", t[i].w, t[i].s);
		target(what, ratio_of(t[i].w, t[i].s), t[i].want);
	}
	static const char *const durable[] = { "queue_put_get_16B_1c_everysec", "queue_put_get_16B_p64_everysec",
		                               "queue_put_get_16B_1c_always", "queue_put_get_16B_p64_always",
		                               "recovery_1M" };
	for (size_t i = 0; i < sizeof(durable) / sizeof(durable[0]); i++) {
		snprintf(what, sizeof(what), "%s vs redis (appendonly)", durable[i]);
		target(what, ratio_of(durable[i], "redis"), 1.5);
	}
	const struct row *ld = find_row("queue_put_get_16B_1c_loaded", "ipcd");
	if (me && ld)
		target("ipcd loaded / empty (1c 16B)", ld->r.ops_per_s / me->r.ops_per_s, 1 / 1.2);
	shm_targets();
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ipcd-bench [--json] [--quick] [--only TEXT] [--system NAME]\n"
	           "  Starts ipcd, redis-server and a Python Manager on temporary Unix sockets,\n"
	           "  runs the same workloads (round trips, pipelines, batches, streams, task\n"
	           "  queues, memory per item) against each, and against ipcd through its Python\n"
	           "  package (system ipcd-py), and prints ops/s, latencies and ratios.\n"
	           "  --json   one JSON document on stdout instead of the table\n"
	           "  --quick  tiny counts: checks that everything runs (seconds), measures nothing\n"
	           "  --only TEXT  only the workloads whose name contains TEXT (for profiling)\n"
	           "  --system NAME  only the rows of system NAME (ipcd, ipcd-shm, redis, ...)\n"
	           "  Columns: ops/s, p50/p99 latency, server_cpu_us (the server process's CPU time\n"
	           "  per request; - where there is none). Systems ipcd-nopoll (busy_poll=0) and\n"
	           "  ipcd-prefetch (taskqueue_4w with prefetched acknowledged gets) are ipcd variants;\n"
	           "  ipcd-shm (and ipcd-shm-prefetch) run them through the shared-memory channel,\n"
	           "  where the ipcd rows keep the socket.\n"
	           "  IPCD_BIN overrides the ipcd binary (default: the one built beside this).\n");
}

static void cleanup(void)
{
	stop_servers();
	if (tmpdir[0])
		rmdir(tmpdir);
}

static void on_signal(int sig)
{
	exit(1); /* atexit stops what we started */
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			want_json = 1;
		else if (!strcmp(argv[i], "--quick"))
			quick = 1;
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = argv[++i];
		else if (!strcmp(argv[i], "--system") && i + 1 < argc)
			only_system = argv[++i];
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return usage(stdout), 0;
		else
			return usage(stderr), 2;
	}
	progress = isatty(2);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	val4k = malloc(4096);
	for (int i = 0; i < 4096; i++)
		val4k[i] = (char)('a' + i % 26);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ipcd-bench-XXXXXX");
	if (!mkdtemp(tmpdir))
		die("mkdtemp: %s", strerror(errno));
	atexit(cleanup);

	char script[512];
	snprintf(script, sizeof(script), "%s/peer_manager.py", BENCH_PEER_DIR);
	have_redis = redis_bin() != NULL;
	have_python = access(PYTHON, X_OK) == 0 && access(script, R_OK) == 0;
	if (!have_redis)
		note("redis: skipped: redis-server is not installed (Debian: apt-get install redis-server)");
	if (!have_python)
		note("manager, mpqueue, ipcd-py: skipped: %s is not installed", PYTHON);
	for (size_t p = 0; p < NPEERS && have_python; p++) {
		snprintf(script, sizeof(script), "%s/%s", BENCH_PEER_DIR, peers[p].script);
		if (access(script, R_OK) < 0)
			note("%s: skipped: %s is missing", peers[p].system, script);
		else if (peers[p].needs && !python_has(peers[p].needs))
			note("%s: skipped: %s cannot import %s (Debian: apt-get install python3-%s)", peers[p].system,
			     PYTHON, peers[p].needs, peers[p].needs);
		else
			peer_ok[p] = 1;
	}

	start_servers();
	size_t total = 0, k = 0;
	for (size_t i = 0; i < NWORK; i++)
		total += workloads[i].kind == W_FLOOR || workloads[i].kind == W_FLOOR_SHM ? 1
		         : 3 + NPEERS + !!(workloads[i].extra & X_NOPOLL) + 2 * !!(workloads[i].extra & X_PREFETCH);
	for (size_t i = 0; i < NWORK; i++) {
		const struct workload *w = &workloads[i];
		if (only && !strstr(w->name, only))
			continue;
		if (w->kind == W_FLOOR || w->kind == W_FLOOR_SHM) {
			size_t n = scaled(w->n_native, 200);
			progress_line(++k, total, w->name, "floor");
			if (!system_on("floor"))
				continue;
			measure_server(0);
			add_row(w->name, "floor", w->kind == W_FLOOR ? w_floor(n) : w_floor_shm(n));
			continue;
		}
		if (w->kind == W_MEM) {
			/* The scale section starts from fresh servers. */
			stop_servers();
			start_servers();
		}
		if (w->dur != D_MEMORY) {
			/* Servers of their own, persisting; the Python peers have no
			 * such mode and sit these out. */
			struct server di = { .system = "ipcd" }, dr = { .system = "redis" };
			progress_line(++k, total, w->name, "ipcd");
			if ((system_on("ipcd") || system_on("ipcd-shm")) && start_ipcd_durable(&di, w->dur) < 0)
				die("ipcd did not start with state_dir");
			if (system_on("ipcd") && w->kind == W_RECOVERY)
				w_recovery(&bench_ipcd, &di, scaled(w->n_native, 200), w->name);
			else if (system_on("ipcd"))
				add_row(w->name, "ipcd", run_native(w, &bench_ipcd, &di));
			progress_line(++k, total, w->name, "ipcd-shm");
			if (w->kind != W_RECOVERY && system_on("ipcd-shm"))
				add_row(w->name, "ipcd-shm", run_native(w, &bench_ipcd_shm, &di));
			server_stop(&di);
			progress_line(++k, total, w->name, "redis");
			if (have_redis && system_on("redis")) {
				if (start_redis_durable(&dr, w->dur) < 0)
					die("redis-server did not start with appendonly");
				if (w->kind == W_RECOVERY)
					w_recovery(&bench_redis, &dr, scaled(w->n_native, 200), w->name);
				else
					add_row(w->name, "redis", run_native(w, &bench_redis, &dr));
				server_stop(&dr);
			}
			k += NPEERS;
			continue;
		}
		progress_line(++k, total, w->name, "ipcd");
		if (system_on("ipcd"))
			add_row(w->name, "ipcd", run_native(w, &bench_ipcd, &srv_ipcd));
		if ((w->extra & X_NOPOLL) && system_on("ipcd-nopoll")) {
			progress_line(++k, total, w->name, "ipcd-nopoll");
			add_row(w->name, "ipcd-nopoll", run_native(w, &bench_ipcd, &srv_ipcd_nopoll));
		}
		if ((w->extra & X_PREFETCH) && system_on("ipcd-prefetch"))
			run_prefetch(w, "ipcd-prefetch", &bench_ipcd, &srv_ipcd, ++k, total);
		/* The same daemon through the shared-memory channel; memory per
		 * item is the daemon's (the ipcd row), and counter_incr_8p's adds
		 * go through a mapped value, not through a connection. */
		progress_line(++k, total, w->name, "ipcd-shm");
		if (w->kind != W_MEM && w->kind != W_COUNTER && system_on("ipcd-shm"))
			add_row(w->name, "ipcd-shm", run_native(w, &bench_ipcd_shm, &srv_ipcd));
		if ((w->extra & X_PREFETCH) && system_on("ipcd-shm-prefetch"))
			run_prefetch(w, "ipcd-shm-prefetch", &bench_ipcd_shm, &srv_ipcd, ++k, total);
		progress_line(++k, total, w->name, "redis");
		/* redis has no shared memory and no event */
		if (have_redis && w->kind != W_COUNTER && w->kind != W_EVENT && system_on("redis"))
			add_row(w->name, "redis", run_native(w, &bench_redis, &srv_redis));
		for (size_t p = 0; p < NPEERS; p++) {
			progress_line(++k, total, w->name, peers[p].system);
			struct result r;
			size_t n = peers[p].native_counts                                    ? native_n(w)
			           : w->kind == W_TASKQ || w->kind == W_STREAM || w->kind == W_MEM ? scaled(w->n_python, 200)
			                                                                           : scaled(w->n_python, 50);
			if (peer_ok[p] && system_on(peers[p].system) && run_peer(&peers[p], w->name, n, scaled(1000000, 200),
			                           scaled(LOADED_OBJECTS, 200), &r))
				add_row(w->name, peers[p].system, r);
		}
	}
	if (progress)
		fprintf(stderr, "\r\033[K");
	if (want_json)
		print_json();
	else
		print_table();
	return 0;
}
