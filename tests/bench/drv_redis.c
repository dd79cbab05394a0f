/*
 * drv_redis.c: ipcd-bench's driver for Redis, speaking RESP over its Unix
 * socket (no client library needed). Queues are lists (RPUSH, LPOP, BLPOP,
 * LPOP count, BLMPOP), dicts are hashes (HSET, HGET, HINCRBY), a list append
 * is RPUSH. Integers travel as decimal strings; the sentinel is "stop".
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "bench.h"

#define RING 1024

struct bench_conn {
	int fd;
	char *out;
	size_t olen, ocap;
	char *in;
	size_t ioff, ilen, icap;
	enum bench_op ops[RING];
	size_t head, len;
};

static struct bench_conn *redis_connect(const char *addr)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(addr) >= sizeof(sa.sun_path))
		return NULL;
	strcpy(sa.sun_path, addr);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return NULL;
	}
	struct bench_conn *b = calloc(1, sizeof(*b));
	if (!b) {
		close(fd);
		return NULL;
	}
	b->fd = fd;
	return b;
}

static void redis_close(struct bench_conn *b)
{
	if (!b)
		return;
	close(b->fd);
	free(b->out);
	free(b->in);
	free(b);
}

static int redis_fd(struct bench_conn *b)
{
	return b->fd;
}

static int out_room(struct bench_conn *b, size_t n)
{
	if (b->olen + n <= b->ocap)
		return 0;
	size_t cap = b->ocap ? b->ocap : 4096;
	while (cap < b->olen + n)
		cap *= 2;
	char *p = realloc(b->out, cap);
	if (!p)
		return -1;
	b->out = p;
	b->ocap = cap;
	return 0;
}

/* A header line: kind '*' (array of v) or '$' (bulk of v bytes). */
static int out_head(struct bench_conn *b, char kind, long long v)
{
	if (out_room(b, 32))
		return -1;
	b->olen += (size_t)snprintf(b->out + b->olen, 32, "%c%lld\r\n", kind, v);
	return 0;
}

/* One bulk string argument. */
static int out_bulk(struct bench_conn *b, const void *p, size_t n)
{
	if (out_head(b, '$', (long long)n) || out_room(b, n + 2))
		return -1;
	memcpy(b->out + b->olen, p, n);
	memcpy(b->out + b->olen + n, "\r\n", 2);
	b->olen += n + 2;
	return 0;
}

static int out_str(struct bench_conn *b, const char *s)
{
	return out_bulk(b, s, strlen(s));
}

static int out_int(struct bench_conn *b, long long v)
{
	char s[24];
	return out_bulk(b, s, (size_t)snprintf(s, sizeof(s), "%lld", v));
}

static int redis_send(struct bench_conn *b, const struct bench_req *r)
{
	int rc = 0;
	if (b->len == RING)
		return -1;
	switch (r->op) {
	case B_PUT:
	case B_LAPPEND:
		rc = out_head(b, '*', 3) || out_str(b, "RPUSH") || out_str(b, r->name) ||
		     out_bulk(b, r->val, r->len);
		break;
	case B_GET:
		rc = out_head(b, '*', 2) || out_str(b, "LPOP") || out_str(b, r->name);
		break;
	case B_BGET:
		rc = out_head(b, '*', 3) || out_str(b, "BLPOP") || out_str(b, r->name) || out_str(b, "0");
		break;
	case B_PUT_INT:
		rc = out_head(b, '*', 3) || out_str(b, "RPUSH") || out_str(b, r->name) || out_int(b, r->arg);
		break;
	case B_PUT_STOP:
		rc = out_head(b, '*', 3) || out_str(b, "RPUSH") || out_str(b, r->name) || out_str(b, "stop");
		break;
	case B_PUT_MANY:
		rc = out_head(b, '*', 2 + (long long)r->count) || out_str(b, "RPUSH") || out_str(b, r->name);
		for (uint32_t i = 0; i < r->count && !rc; i++)
			rc = out_bulk(b, r->val, r->len);
		break;
	case B_PUT_MANY_INT:
		rc = out_head(b, '*', 2 + (long long)r->count) || out_str(b, "RPUSH") || out_str(b, r->name);
		for (uint32_t i = 0; i < r->count && !rc; i++)
			rc = out_int(b, r->arg + i);
		break;
	case B_GET_MANY:
		rc = out_head(b, '*', 3) || out_str(b, "LPOP") || out_str(b, r->name) || out_int(b, r->count);
		break;
	case B_BGET_MANY:
		rc = out_head(b, '*', 7) || out_str(b, "BLMPOP") || out_str(b, "0") || out_str(b, "1") ||
		     out_str(b, r->name) || out_str(b, "LEFT") || out_str(b, "COUNT") || out_int(b, r->count);
		break;
	case B_DSET:
		rc = out_head(b, '*', 4) || out_str(b, "HSET") || out_str(b, r->name) || out_str(b, "k") ||
		     out_bulk(b, r->val, r->len);
		break;
	case B_DGET:
	case B_DGET_INT:
		rc = out_head(b, '*', 3) || out_str(b, "HGET") || out_str(b, r->name) || out_str(b, "k");
		break;
	case B_DINCR:
		rc = out_head(b, '*', 4) || out_str(b, "HINCRBY") || out_str(b, r->name) || out_str(b, "k") ||
		     out_str(b, "1");
		break;
	case B_SAVE:
		rc = out_head(b, '*', 1) || out_str(b, "SAVE");
		break;
	case B_LOCK:     /* the usual Redis lock: SET NX (the workload's lock is free: it succeeds) */
		rc = out_head(b, '*', 4) || out_str(b, "SET") || out_str(b, r->name) || out_str(b, "1") || out_str(b, "NX");
		break;
	case B_UNLOCK:
		rc = out_head(b, '*', 2) || out_str(b, "DEL") || out_str(b, r->name);
		break;
	case B_EVSET:   /* Redis has no event: event_wait_wake has no redis row */
	case B_EVCLEAR:
	case B_EVWAIT:
		return -1;
	}
	if (rc)
		return -1;
	b->ops[(b->head + b->len++) % RING] = r->op;
	return 0;
}

static int redis_flush(struct bench_conn *b)
{
	size_t off = 0;
	while (off < b->olen) {
		ssize_t n = send(b->fd, b->out + off, b->olen - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)n;
	}
	b->olen = 0;
	return 0;
}

/* Read what is there (wait: block for at least one byte). 0, or -1. */
static int redis_read(struct bench_conn *b, int wait)
{
	if (b->ioff == b->ilen)
		b->ioff = b->ilen = 0;
	if (b->icap - b->ilen < 65536) {
		if (b->ioff) {
			memmove(b->in, b->in + b->ioff, b->ilen - b->ioff);
			b->ilen -= b->ioff;
			b->ioff = 0;
		}
		if (b->icap - b->ilen < 65536) {
			char *p = realloc(b->in, b->icap * 2 + 65536);
			if (!p)
				return -1;
			b->in = p;
			b->icap = b->icap * 2 + 65536;
		}
	}
	for (;;) {
		ssize_t n = recv(b->fd, b->in + b->ilen, b->icap - b->ilen, wait ? 0 : MSG_DONTWAIT);
		if (n > 0) {
			b->ilen += (size_t)n;
			return 0;
		}
		if (n == 0)
			return -1;
		if (errno == EINTR)
			continue;
		return !wait && (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
	}
}

/* Parse one RESP value at *pp (before end): the end of the value, or NULL if
 * incomplete. Bulk strings at depth `items` are counted and summed into out;
 * at depth 0 the value goes to out; skip_key: the array's first element is a
 * key, not an item. */
static const char *resp_parse(const char *p, const char *end, int depth, int items, int skip_key,
                              struct bench_reply *out)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	if (!nl)
		return NULL;
	long long n = strtoll(p + 1, NULL, 10);
	switch (*p) {
	case '+':
		out->ok = depth == 0 ? 1 : out->ok;
		return nl + 1;
	case '-':
		out->ok = 0;
		return nl + 1;
	case ':':
		if (depth == 0) {
			out->ok = 1;
			out->ival = n;
		}
		return nl + 1;
	case '$':
		if (n < 0) {
			if (depth == 0)
				out->ok = 1, out->nil = 1;
			return nl + 1;
		}
		if (end - (nl + 1) < n + 2)
			return NULL;
		if (depth == items) {
			out->count++;
			out->sum += strtoll(nl + 1, NULL, 10);
			out->ival = strtoll(nl + 1, NULL, 10);
			if (n == 4 && !memcmp(nl + 1, "stop", 4))
				out->nil = 1;
		}
		if (depth == 0)
			out->ok = 1;
		return nl + 1 + n + 2;
	case '*':
		if (n < 0) {
			if (depth == 0)
				out->ok = 1, out->nil = 1;
			return nl + 1;
		}
		p = nl + 1;
		for (long long i = 0; i < n; i++) {
			/* BLPOP's reply starts with the key: not an item. */
			int d = depth == 0 && i == 0 && skip_key ? 99 : depth + 1;
			if (!(p = resp_parse(p, end, d, items, 0, out)))
				return NULL;
		}
		if (depth == 0)
			out->ok = 1;
		return p;
	default:
		return end; /* garbage: caller sees ok = 0 */
	}
}

/* Depth of the items in op's reply (0: a single value). */
static int items_depth(enum bench_op op)
{
	switch (op) {
	case B_BGET: return 1;       /* [key, item] */
	case B_GET_MANY: return 1;   /* [items...] */
	case B_BGET_MANY: return 2;  /* [key, [items...]] */
	default: return 0;
	}
}

/* Parse the head reply if whole: 1 (out filled), 0 (incomplete). */
static int redis_take(struct bench_conn *b, struct bench_reply *out)
{
	memset(out, 0, sizeof(*out));
	enum bench_op op = b->ops[b->head];
	int items = items_depth(op);
	const char *p = b->in + b->ioff, *end = b->in + b->ilen;
	if (p == end)
		return 0;
	const char *q = resp_parse(p, end, 0, items, op == B_BGET, out);
	if (!q)
		return 0;
	if (op == B_GET && out->nil)
		out->ok = 0; /* empty queue */
	if (op == B_GET_MANY && out->nil)
		out->ok = 0;
	b->ioff += (size_t)(q - p);
	b->head = (b->head + 1) % RING;
	b->len--;
	return 1;
}

static int redis_recv(struct bench_conn *b, struct bench_reply *out)
{
	if (!b->len || redis_flush(b))
		return -1;
	while (!redis_take(b, out))
		if (redis_read(b, 1))
			return -1;
	return 0;
}

static long redis_ready(struct bench_conn *b)
{
	if (redis_read(b, 0))
		return -1;
	/* Count whole replies without consuming them. */
	long n = 0;
	const char *p = b->in + b->ioff, *end = b->in + b->ilen;
	for (size_t i = 0; i < b->len && p < end; i++) {
		struct bench_reply r;
		memset(&r, 0, sizeof(r));
		const char *q = resp_parse(p, end, 0, items_depth(b->ops[(b->head + i) % RING]), 0, &r);
		if (!q)
			break;
		p = q;
		n++;
	}
	return n;
}

/* used_memory from INFO memory. */
static long long redis_mem(struct bench_conn *b, long pid)
{
	if (out_head(b, '*', 2) || out_str(b, "INFO") || out_str(b, "memory") || redis_flush(b))
		return -1;
	for (;;) {
		const char *p = b->in + b->ioff, *end = b->in + b->ilen;
		const char *nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
		if (nl && *p == '$') {
			long long n = strtoll(p + 1, NULL, 10);
			if (end - (nl + 1) >= n + 2) {
				char *body = strndup(nl + 1, (size_t)n);
				b->ioff += (size_t)(nl + 1 - p) + (size_t)n + 2;
				char *m = body ? strstr(body, "\nused_memory:") : NULL;
				long long v = m ? strtoll(m + 13, NULL, 10) : -1;
				free(body);
				return v;
			}
		}
		if (redis_read(b, 1))
			return -1;
	}
}

const struct bench_driver bench_redis = {
	.system = "redis",
	.connect = redis_connect,
	.close = redis_close,
	.fd = redis_fd,
	.send = redis_send,
	.flush = redis_flush,
	.recv = redis_recv,
	.ready = redis_ready,
	.mem = redis_mem,
};
