/*
 * taskq_prefetch.c: the ipcd-prefetch row of taskqueue_4w, a worker as a
 * user of acknowledged delivery writes it: ipcd_set_prefetch(n), then
 * ipcd_queue_get_ack hands out tasks that one queue.get_ack_many took n at
 * a time. A task is acked only once its result is on tasks.results: the
 * worker keeps up to n results, then sends them in one put_many followed by
 * their acks, in one write, and reads the replies. So a batch of n tasks
 * costs two round trips, and a worker that dies loses no task: what it has
 * not acked goes back to the queue when its connection closes.
 */
#include <stdlib.h>
#include <ipcd.h>
#include "bench.h"

#define TASKS "tq.tasks"
#define RESULTS "tq.results"

/* The results so far as one msgpack array (a 32-bit header), then their
 * put_many and the acks of ids[0..n), pipelined; every reply must be OK. */
static int finish_batch(ipcd *c, unsigned char *res, size_t res_len, uint32_t nres, const uint64_t *ids,
                        unsigned n)
{
	struct ipcd_result r;
	int ok = 1;
	res[0] = 0xdd;
	res[1] = (unsigned char)(nres >> 24), res[2] = (unsigned char)(nres >> 16);
	res[3] = (unsigned char)(nres >> 8), res[4] = (unsigned char)nres;
	if (nres && ipcd_send(c, NULL, IPCD_OP_QUEUE_PUT_MANY, 2, RESULTS, IPCD_VAL(res, res_len)) != IPCD_OK)
		return -1;
	for (unsigned i = 0; i < n; i++)
		if (ipcd_send(c, NULL, IPCD_OP_QUEUE_ACK, 2, TASKS, ids[i]) != IPCD_OK)
			return -1;
	while (ipcd_pending(c) > 0)
		ok &= ipcd_recv(c, &r) == IPCD_OK;
	return ok ? 0 : -1;
}

int bench_ipcd_prefetch_worker(const char *socket, unsigned prefetch, int shm)
{
	ipcd *c;
	if (prefetch < 2 || bench_ipcd_connect(&c, socket, shm) != IPCD_OK)
		return -1;
	uint64_t *ids = malloc(prefetch * sizeof(*ids));
	unsigned char *res = malloc(5 + (size_t)prefetch * IPCD_SCALAR_SIZE);
	size_t res_len = 5;
	unsigned n = 0;
	uint32_t nres = 0;
	int rc = ids && res && ipcd_set_prefetch(c, prefetch) == IPCD_OK ? 0 : -1, stop = 0;
	while (!rc && !stop) {
		struct ipcd_delivery d;
		int64_t x;
		if (ipcd_queue_get_ack(c, TASKS, -1.0, 0, &d) != IPCD_OK) {
			rc = -1;
			break;
		}
		ids[n++] = d.id;
		if (d.value.type == MSGPACK_OBJECT_NIL) {
			stop = 1;
		} else if (ipcd_obj_int(&d.value, &x) == IPCD_OK) {
			res_len += ipcd_val_int(res + res_len, x * x).len;
			nres++;
		} else {
			rc = -1;
		}
		if (!rc && (n == prefetch || stop)) {
			rc = finish_batch(c, res, res_len, nres, ids, n);
			n = 0, nres = 0, res_len = 5;
		}
	}
	/* Sentinels taken ahead are other workers': turning prefetch off puts
	 * them back. */
	if (ipcd_set_prefetch(c, 0) != IPCD_OK)
		rc = -1;
	ipcd_close(c);
	free(ids);
	free(res);
	return rc;
}
