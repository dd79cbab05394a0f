/*
 * drv_ipcd.c: ipcd-bench's driver for ipcd, through libipcd's pipelined API
 * (ipcd_send, ipcd_flush, ipcd_recv), as a C user would write it. Values go
 * as msgpack bin; integers as msgpack ints; the sentinel is nil. System
 * "ipcd" keeps the socket, "ipcd-shm" is the same driver on the
 * shared-memory channel (bench_ipcd_connect checks which one it got).
 */
#include <stdlib.h>
#include <string.h>
#include <ipcd.h>
#include "bench.h"

#define RING 1024 /* more than any workload keeps in flight */

struct bench_conn {
	ipcd *c;
	enum bench_op ops[RING]; /* the op of each request in flight */
	size_t head, len;
	unsigned char *buf; /* scratch for encoded values and batches */
	size_t cap;
	unsigned char key[2]; /* "k" */
};

int bench_ipcd_connect(ipcd **c, const char *socket, int shm)
{
	/* libipcd reads IPCD_SHM at connect; it goes back to "0" after, so
	 * that nothing else here (forked workers included) gets the channel
	 * by accident. */
	setenv("IPCD_SHM", shm ? "1" : "0", 1);
	int rc = ipcd_connect(c, socket);
	setenv("IPCD_SHM", "0", 1);
	if (rc == IPCD_OK && ipcd_shm_active(*c) != !!shm) {
		ipcd_close(*c);
		*c = NULL;
		return IPCD_EINVAL;
	}
	return rc;
}

static struct bench_conn *ipcd_b_connect_shm(const char *addr, int shm)
{
	struct bench_conn *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	if (bench_ipcd_connect(&b->c, addr, shm) != IPCD_OK) {
		free(b);
		return NULL;
	}
	b->key[0] = 0xa1;
	b->key[1] = 'k';
	return b;
}

static struct bench_conn *ipcd_b_connect(const char *addr)
{
	return ipcd_b_connect_shm(addr, 0);
}

static struct bench_conn *ipcd_shm_b_connect(const char *addr)
{
	return ipcd_b_connect_shm(addr, 1);
}

static void ipcd_b_close(struct bench_conn *b)
{
	if (!b)
		return;
	ipcd_close(b->c);
	free(b->buf);
	free(b);
}

static int ipcd_b_fd(struct bench_conn *b)
{
	/* On the channel the socket is signalled only for replies that come
	 * after libipcd said it sleeps; ipcd_read_available says so and looks
	 * once more, so a reply that came before is seen here, not lost. */
	size_t ready;
	if (ipcd_shm_active(b->c) && (ipcd_read_available(b->c, &ready) != IPCD_OK || ready > 0))
		return -1;
	return ipcd_fd(b->c);
}

static unsigned char *scratch(struct bench_conn *b, size_t need)
{
	if (need > b->cap) {
		free(b->buf);
		b->buf = malloc(need);
		b->cap = b->buf ? need : 0;
	}
	return b->buf;
}

/* Encode len bytes as msgpack bin at p; returns the size written. */
static size_t put_bin(unsigned char *p, const void *v, size_t len)
{
	size_t h;
	if (len < 256) {
		p[0] = 0xc4, p[1] = (unsigned char)len, h = 2;
	} else if (len < 65536) {
		p[0] = 0xc5, p[1] = (unsigned char)(len >> 8), p[2] = (unsigned char)len, h = 3;
	} else {
		p[0] = 0xc6, p[1] = (unsigned char)(len >> 24), p[2] = (unsigned char)(len >> 16);
		p[3] = (unsigned char)(len >> 8), p[4] = (unsigned char)len, h = 5;
	}
	memcpy(p + h, v, len);
	return h + len;
}

/* An array of count items: header at p; returns its size. */
static size_t put_array(unsigned char *p, uint32_t count)
{
	p[0] = 0xdd;
	p[1] = (unsigned char)(count >> 24), p[2] = (unsigned char)(count >> 16);
	p[3] = (unsigned char)(count >> 8), p[4] = (unsigned char)count;
	return 5;
}

static int ipcd_b_send(struct bench_conn *b, const struct bench_req *r)
{
	unsigned char *p, sc[IPCD_SCALAR_SIZE];
	struct ipcd_val v;
	struct ipcd_val key = IPCD_VAL(b->key, 2);
	size_t n;
	int rc;
	if (b->len == RING)
		return -1;
	switch (r->op) {
	case B_PUT:
	case B_DSET:
	case B_LAPPEND:
		if (!(p = scratch(b, r->len + 5)))
			return -1;
		v = IPCD_VAL(p, put_bin(p, r->val, r->len));
		if (r->op == B_PUT)
			rc = ipcd_send(b->c, NULL, IPCD_OP_QUEUE_PUT, 2, r->name, v);
		else if (r->op == B_DSET)
			rc = ipcd_send(b->c, NULL, IPCD_OP_DICT_SET, 3, r->name, key, v);
		else
			rc = ipcd_send(b->c, NULL, IPCD_OP_LIST_APPEND, 2, r->name, v);
		break;
	case B_GET:
		rc = ipcd_send(b->c, NULL, IPCD_OP_QUEUE_GET, 2, r->name, 0.0);
		break;
	case B_BGET:
		rc = ipcd_send(b->c, NULL, IPCD_OP_QUEUE_GET, 2, r->name, -1.0);
		break;
	case B_PUT_INT:
		rc = ipcd_send(b->c, NULL, IPCD_OP_QUEUE_PUT, 2, r->name, ipcd_val_int(sc, r->arg));
		break;
	case B_PUT_STOP:
		rc = ipcd_send(b->c, NULL, IPCD_OP_QUEUE_PUT, 2, r->name, IPCD_NIL);
		break;
	case B_PUT_MANY:
		if (!(p = scratch(b, 5 + (size_t)r->count * (r->len + 5))))
			return -1;
		n = put_array(p, r->count);
		for (uint32_t i = 0; i < r->count; i++)
			n += put_bin(p + n, r->val, r->len);
		rc = ipcd_send(b->c, NULL, IPCD_OP_QUEUE_PUT_MANY, 2, r->name, IPCD_VAL(p, n));
		break;
	case B_PUT_MANY_INT:
		if (!(p = scratch(b, 5 + (size_t)r->count * IPCD_SCALAR_SIZE)))
			return -1;
		n = put_array(p, r->count);
		for (uint32_t i = 0; i < r->count; i++) {
			struct ipcd_val iv = ipcd_val_int(p + n, r->arg + i);
			n += iv.len;
		}
		rc = ipcd_send(b->c, NULL, IPCD_OP_QUEUE_PUT_MANY, 2, r->name, IPCD_VAL(p, n));
		break;
	case B_GET_MANY:
		rc = ipcd_send(b->c, NULL, IPCD_OP_QUEUE_GET_MANY, 3, r->name, (uint64_t)r->count, 0.0);
		break;
	case B_BGET_MANY:
		rc = ipcd_send(b->c, NULL, IPCD_OP_QUEUE_GET_MANY, 3, r->name, (uint64_t)r->count, -1.0);
		break;
	case B_DGET:
	case B_DGET_INT:
		rc = ipcd_send(b->c, NULL, IPCD_OP_DICT_GET, 2, r->name, key);
		break;
	case B_DINCR:
		rc = ipcd_send(b->c, NULL, IPCD_OP_DICT_INCR, 2, r->name, key);
		break;
	case B_SAVE:
		rc = ipcd_send(b->c, NULL, IPCD_OP_SAVE, 0);
		break;
	case B_LOCK:
		rc = ipcd_send(b->c, NULL, IPCD_OP_LOCK_ACQUIRE, 2, r->name, -1.0);
		break;
	case B_UNLOCK:
		rc = ipcd_send(b->c, NULL, IPCD_OP_LOCK_RELEASE, 1, r->name);
		break;
	case B_EVSET:
		rc = ipcd_send(b->c, NULL, IPCD_OP_EVENT_SET, 1, r->name);
		break;
	case B_EVCLEAR:
		rc = ipcd_send(b->c, NULL, IPCD_OP_EVENT_CLEAR, 1, r->name);
		break;
	case B_EVWAIT:
		rc = ipcd_send(b->c, NULL, IPCD_OP_EVENT_WAIT, 2, r->name, (double)r->arg);
		break;
	default:
		return -1;
	}
	if (rc != IPCD_OK)
		return -1;
	b->ops[(b->head + b->len++) % RING] = r->op;
	return 0;
}

static int ipcd_b_flush(struct bench_conn *b)
{
	return ipcd_flush(b->c) == IPCD_OK ? 0 : -1;
}

static int ipcd_b_recv(struct bench_conn *b, struct bench_reply *out)
{
	struct ipcd_result res;
	memset(out, 0, sizeof(*out));
	if (!b->len)
		return -1;
	enum bench_op op = b->ops[b->head];
	b->head = (b->head + 1) % RING;
	b->len--;
	int rc = ipcd_recv(b->c, &res);
	if (rc >= 100)
		return -1;
	out->ok = rc == IPCD_OK;
	if (!out->ok)
		return 0;
	const msgpack_object *o = &res.value;
	switch (op) {
	case B_BGET:
		out->nil = o->type == MSGPACK_OBJECT_NIL;
		if (!out->nil)
			out->ok = ipcd_obj_int(o, &out->ival) == IPCD_OK;
		break;
	case B_GET_MANY:
	case B_BGET_MANY:
		if (o->type != MSGPACK_OBJECT_ARRAY) {
			out->ok = 0;
			break;
		}
		out->count = o->via.array.size;
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			int64_t x;
			if (ipcd_obj_int(&o->via.array.ptr[i], &x) == IPCD_OK)
				out->sum += x;
		}
		break;
	case B_DINCR:
	case B_DGET_INT:
		out->ok = ipcd_obj_int(o, &out->ival) == IPCD_OK;
		break;
	case B_EVWAIT:
		out->ok = o->type == MSGPACK_OBJECT_BOOLEAN;
		out->ival = out->ok && o->via.boolean;
		break;
	default:
		break;
	}
	return 0;
}

static long ipcd_b_ready(struct bench_conn *b)
{
	/* Without a wake-up: callers poll only after ipcd_b_fd, which asks. */
	size_t n;
	return ipcd_ready(b->c, &n) == IPCD_OK ? (long)n : -1;
}

static long long ipcd_b_mem(struct bench_conn *b, long pid)
{
	return bench_rss(pid);
}

const struct bench_driver bench_ipcd = {
	.system = "ipcd",
	.connect = ipcd_b_connect,
	.close = ipcd_b_close,
	.fd = ipcd_b_fd,
	.send = ipcd_b_send,
	.flush = ipcd_b_flush,
	.recv = ipcd_b_recv,
	.ready = ipcd_b_ready,
	.mem = ipcd_b_mem,
};

const struct bench_driver bench_ipcd_shm = {
	.system = "ipcd-shm",
	.connect = ipcd_shm_b_connect,
	.close = ipcd_b_close,
	.fd = ipcd_b_fd,
	.send = ipcd_b_send,
	.flush = ipcd_b_flush,
	.recv = ipcd_b_recv,
	.ready = ipcd_b_ready,
	.mem = ipcd_b_mem,
	.spins = 1,
};
