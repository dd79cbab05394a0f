/*
 * prefetch.c: acknowledged gets taken ahead (ipcd_set_prefetch), as AMQP's
 * basic.qos does: a worker that takes one task at a time would pay a round
 * trip per task; with prefetch n, ipcd_queue_get_ack takes up to n
 * deliveries in one queue.get_ack_many and hands them out one per call.
 *
 * Each one taken ahead is a pending delivery of this connection from the
 * moment the daemon answers: invisible to other workers, returned to the
 * head of the queue if the connection closes, and under its lease (if any)
 * while it waits here. Asking for another queue or another lease first puts
 * back (nacks) what is left, so nothing sits here unseen. After a reconnect
 * what was left is forgotten: the daemon gave it back already.
 */
#include <stdlib.h>
#include <string.h>
#include "conn.h"

static void prefetch_drop(struct conn_prefetch *pf)
{
	free(pf->mp);
	pf->mp = NULL;
	free(pf->name);
	pf->name = NULL;
	pf->list.type = MSGPACK_OBJECT_NIL;
	pf->next = 0;
}

void prefetch_free(struct ipcd *c)
{
	prefetch_drop(&c->pf);
	if (c->pf.zone_ready)
		msgpack_zone_destroy(&c->pf.zone);
	c->pf.zone_ready = 0;
}

/* Deliveries taken ahead and not handed out yet. */
static uint32_t prefetch_left(const struct ipcd *c)
{
	const struct conn_prefetch *pf = &c->pf;
	if (!pf->mp || pf->gen != c->gen || pf->list.type != MSGPACK_OBJECT_ARRAY)
		return 0;
	return pf->list.via.array.size - pf->next;
}

/* Put back what is left (another queue or lease is asked for, or prefetch
 * is turned off): nacked, pipelined, their replies read. */
static void prefetch_put_back(struct ipcd *c)
{
	struct conn_prefetch *pf = &c->pf;
	uint32_t left = prefetch_left(c);
	for (uint32_t i = left; i-- > 0;) {   /* newest first, each to the head: the oldest ends first */
		struct ipcd_delivery d;
		if (delivery_of(c, &pf->list.via.array.ptr[pf->next + i], &d))
			ipcd_send(c, NULL, IPCD_OP_QUEUE_NACK, 2, pf->name, d.id);
	}
	struct ipcd_result res;
	while (ipcd_pending(c) > 0 && ipcd_recv(c, &res) != IPCD_EIO)
		;
	prefetch_drop(pf);
}

/* Calls of their own must not read the replies of the caller's ipcd_send. */
static int prefetch_no_sends(struct ipcd *c)
{
	return c->pend_len ? conn_fail(c, IPCD_EINVAL, "%zu replies from ipcd_send are still to be received", c->pend_len)
	                   : IPCD_OK;
}

IPCD_EXPORT int ipcd_set_prefetch(ipcd *c, unsigned n)
{
	if (!c)
		return IPCD_EINVAL;
	if (n <= 1 && prefetch_left(c) && prefetch_no_sends(c))
		return IPCD_EINVAL;
	if (n <= 1 && prefetch_left(c))
		prefetch_put_back(c);
	c->pf.n = n;
	return IPCD_OK;
}

int prefetch_get_ack(struct ipcd *c, const char *name, double timeout, double lease, struct ipcd_delivery *out)
{
	struct conn_prefetch *pf = &c->pf;
	int rc = prefetch_no_sends(c);
	if (rc)
		return rc;
	if (prefetch_left(c) && (strcmp(pf->name, name) != 0 || pf->lease != lease))
		prefetch_put_back(c);
	if (!prefetch_left(c)) {
		struct ipcd_result res;
		unsigned char buf[IPCD_SCALAR_SIZE];
		rc = lease > 0 ? ipcd_call(c, IPCD_OP_QUEUE_GET_ACK_MANY, &res, 4, name, (uint64_t)pf->n, timeout,
		                           ipcd_val_double(buf, lease))
		               : ipcd_call(c, IPCD_OP_QUEUE_GET_ACK_MANY, &res, 3, name, (uint64_t)pf->n, timeout);
		if (rc)
			return rc;
		prefetch_drop(pf);
		if (!pf->zone_ready) {
			if (!msgpack_zone_init(&pf->zone, 4096))
				return conn_fail(c, IPCD_ENOMEMCLI, "out of memory");
			pf->zone_ready = 1;
		}
		msgpack_zone_clear(&pf->zone);
		size_t off = 0;
		if (!(pf->mp = malloc(res.len ? res.len : 1)) || !(pf->name = strdup(name))) {
			prefetch_drop(pf);
			return conn_fail(c, IPCD_ENOMEMCLI, "out of memory");
		}
		memcpy(pf->mp, res.mp, res.len);
		if (msgpack_unpack(pf->mp, res.len, &off, &pf->zone, &pf->list) != MSGPACK_UNPACK_SUCCESS ||
		    pf->list.type != MSGPACK_OBJECT_ARRAY || pf->list.via.array.size == 0) {
			prefetch_drop(pf);
			return conn_fail(c, IPCD_EREPLY, "queue.get_ack_many: result is not an array of deliveries");
		}
		pf->gen = c->gen;
		pf->lease = lease;
		pf->next = 0;
	}
	if (!delivery_of(c, &pf->list.via.array.ptr[pf->next++], out))
		return conn_fail(c, IPCD_EREPLY, "queue.get_ack_many: result is not {id, value, deliveries}");
	return IPCD_OK;
}
