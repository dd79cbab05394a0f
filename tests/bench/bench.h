/*
 * bench.h: ipcd-bench's parts. A native system (ipcd, redis) is a driver: a
 * connection that can queue the benchmark's few requests (bench_op), flush
 * them and receive their replies in order. Every workload is written once
 * against that interface (bench.c), so a native system is added by writing
 * one driver. Python systems run through peer scripts instead (see
 * peer_manager.py for their command line).
 */
#ifndef IPCD_BENCH_H
#define IPCD_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* The requests a workload makes. NAME is the object; values are opaque bytes
 * of the workload's size unless said otherwise. */
enum bench_op {
	B_PUT,          /* queue put VALUE */
	B_GET,          /* queue get, not waiting (an empty queue is an error) */
	B_BGET,         /* queue get, waiting; reply: int item or nil (sentinel) */
	B_PUT_INT,      /* queue put the integer ARG */
	B_PUT_STOP,     /* queue put the sentinel */
	B_PUT_MANY,     /* queue put COUNT copies of VALUE at once */
	B_PUT_MANY_INT, /* queue put the integers ARG..ARG+COUNT-1 at once */
	B_GET_MANY,     /* queue get up to COUNT items, not waiting */
	B_BGET_MANY,    /* queue get 1..COUNT items, waiting; reply: count and sum */
	B_DSET,         /* dict NAME: key "k" = VALUE */
	B_DGET,         /* dict NAME: key "k" */
	B_DGET_INT,     /* dict NAME: key "k" as an int */
	B_DINCR,        /* dict NAME: key "k" += 1 */
	B_LAPPEND,      /* list NAME append VALUE */
	B_SAVE,         /* write a snapshot (ipcd: in the background, done by the time it stops) */
	B_LOCK,         /* take lock NAME (free: the workload holds it alone) */
	B_UNLOCK,       /* release lock NAME */
	B_EVSET,        /* set event NAME */
	B_EVCLEAR,      /* clear event NAME */
	B_EVWAIT,       /* wait until event NAME is set (ARG seconds at most); ival: 1 set, 0 timed out */
};

struct bench_req {
	enum bench_op op;
	const char *name;
	const void *val; /* VALUE bytes */
	size_t len;
	int64_t arg;
	uint32_t count;
};

/* What a reply says, as far as the workloads need it. */
struct bench_reply {
	int ok;        /* the request succeeded */
	int nil;       /* B_BGET: got the sentinel */
	int64_t ival;  /* an int result or item */
	uint64_t count; /* items in a *_MANY reply */
	int64_t sum;   /* their sum, for int items */
};

struct bench_conn;

struct bench_driver {
	const char *system;
	struct bench_conn *(*connect)(const char *addr);
	void (*close)(struct bench_conn *c);
	/* The descriptor to poll for the next reply, asked for after each
	 * send; -1 if a reply is there already (then do not poll). */
	int (*fd)(struct bench_conn *c);
	/* Queue one request; 0 or -1. */
	int (*send)(struct bench_conn *c, const struct bench_req *r);
	/* Write what is queued; 0 or -1. */
	int (*flush)(struct bench_conn *c);
	/* The next reply, waiting for it (flushes first); 0 or -1 on I/O failure. */
	int (*recv)(struct bench_conn *c, struct bench_reply *out);
	/* Read what the socket holds without waiting; the number of replies recv
	 * returns without waiting, or -1. */
	long (*ready)(struct bench_conn *c);
	/* Memory of the server for mem_per_item: bytes, or -1. */
	long long (*mem)(struct bench_conn *c, long server_pid);
	/* ready() costs no system call and replies come without the socket
	 * (the shared-memory channel): a loop over many connections looks
	 * at them all for a while before it polls their descriptors. */
	int spins;
};

extern const struct bench_driver bench_ipcd;
extern const struct bench_driver bench_ipcd_shm;   /* the same over the shared-memory channel */
extern const struct bench_driver bench_redis;

/* Connect to the ipcd at socket on the shared-memory channel (shm) or on
 * the socket alone, whatever the environment says: IPCD_OK, the
 * connection's error, or IPCD_EINVAL if the channel is not what was asked
 * (the daemon did not offer it). Every ipcd connection of the benchmark
 * goes through here, so that each row says which channel it measured. */
struct ipcd;
int bench_ipcd_connect(struct ipcd **c, const char *socket, int shm);

/* counter_incr_8p against the ipcd at socket (counter.c): 8 processes add
 * total in all through one mapped value; their adds per second in *ops_per_s.
 * 0, or -1 (a failure, or a count that is not exact). */
int bench_counter_incr_8p(const char *socket, size_t total, double *ops_per_s);

/* One taskqueue_4w worker on the ipcd at socket (on the shared-memory
 * channel if shm) with acknowledged gets taken `prefetch` at a time
 * (taskq_prefetch.c): squares of tasks.tasks go to tasks.results until the
 * sentinel. 0, or -1 on a failure. */
int bench_ipcd_prefetch_worker(const char *socket, unsigned prefetch, int shm);

/* Resident set size of pid in bytes, or -1. */
long long bench_rss(long pid);

#endif
