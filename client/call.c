/*
 * call.c: requests from the op table. ipcd_call encodes C arguments by the
 * op's signature letters in ops.def; ipcd_call_raw takes them as one msgpack
 * array and checks them with proto_check_args. Both check before sending
 * what the server would refuse (arity, types, name length, frame size), so a
 * wrong call costs no round trip and never makes the server close the
 * connection. The same encoders serve the pipelined ipcd_send*.
 *
 * A simple call runs on an idle connection: it reconnects if needed, sends,
 * waits for its reply and, if the reply was lost, sends once more when
 * conn_may_retry says the op is safe to repeat.
 */
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include "conn.h"

/* A daemon that keeps stopping: give up after this many SHUTDOWNs in a row. */
#define CALL_MAX_SHUTDOWNS 20

static int64_t call_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Arguments of one call: C varargs or a msgpack array. */
struct call_args {
	unsigned nargs;      /* varargs only */
	va_list *ap;         /* NULL for raw */
	const void *mp;      /* raw: msgpack array, or NULL for none */
	size_t len;
};

/* Milliseconds a blocking op may wait for timeout argument o (NULL: absent),
 * as the server reads it. */
static int64_t call_wait_ms(const struct proto_op_info *op, const msgpack_object *o)
{
	return op->flags & OPF_BLOCK ? proto_timeout_ms(o) : 0;
}

/* Index of the 't' argument in op's signature, or -1. */
static int call_timeout_index(const struct proto_op_info *op)
{
	int i = 0;
	for (const char *s = op->sig; *s; s++) {
		if (*s == '|')
			continue;
		if (*s == 't')
			return i;
		i++;
	}
	return -1;
}

/* Pack raw value v as argument argno (from 1) of letter letter, after
 * checking that it is one well-formed value that fits the letter. */
static int call_pack_value(struct ipcd *c, struct conn_req *rq, const struct proto_op_info *op,
                           unsigned argno, char letter, struct ipcd_val v)
{
	if (!v.mp) {
		if (v.len)
			return conn_fail(c, IPCD_EINVAL, "%s: argument %u is an invalid value (encoder buffer too small?)",
			                 op->name, argno);
		msgpack_object nil = { .type = MSGPACK_OBJECT_NIL };
		if (!proto_arg_fits(letter, &nil))
			return conn_fail(c, IPCD_EBADARG, "%s: argument %u must not be nil (usage: %s %s)",
			                 op->name, argno, op->name, op->usage);
		return msgpack_pack_nil(&rq->pk) ? conn_fail(c, IPCD_ENOMEMCLI, "out of memory") : 0;
	}
	size_t off = 0;
	msgpack_object o;
	msgpack_unpack_return r = msgpack_unpack(v.mp, v.len, &off, &c->scratch, &o);
	int fits = r == MSGPACK_UNPACK_SUCCESS && proto_arg_fits(letter, &o);
	msgpack_zone_clear(&c->scratch);
	if (r == MSGPACK_UNPACK_NOMEM_ERROR)
		return conn_fail(c, IPCD_ENOMEMCLI, "out of memory");
	if (r != MSGPACK_UNPACK_SUCCESS)
		return conn_fail(c, IPCD_EINVAL, "%s: argument %u is not exactly one well-formed msgpack value",
		                 op->name, argno);
	if (!fits)
		return conn_fail(c, IPCD_EBADARG, "%s: argument %u has the wrong type for '%c' (usage: %s %s)",
		                 op->name, argno, letter, op->name, op->usage);
	return buf_append(&c->out, v.mp, v.len) ? conn_fail(c, IPCD_ENOMEMCLI, "out of memory") : 0;
}

/* Pack the varargs of a by op's signature; *wait_ms from the 't' argument. */
static int call_pack_varargs(struct ipcd *c, struct conn_req *rq, const struct proto_op_info *op,
                             unsigned nargs, va_list *ap, int64_t *wait_ms)
{
	msgpack_packer *pk = &rq->pk;
	const char *s = op->sig;
	*wait_ms = call_wait_ms(op, NULL);
	for (unsigned i = 0; i < nargs; i++, s++) {
		if (*s == '|')
			s++;
		int bad = 0;
		switch (*s) {
		case 'N': case 'S': case 's': {
			const char *str = va_arg(*ap, const char *);
			if (!str && *s != 's')
				return conn_fail(c, IPCD_EINVAL, "%s: argument %u is a NULL string", op->name, i + 1);
			size_t n = str ? strlen(str) : 0;
			if (*s == 'N' && (n == 0 || n > c->max_name))
				return conn_fail(c, IPCD_EBADNAME, "object name must be 1 to %zu bytes, got %zu",
				                 c->max_name, n);
			bad = str ? msgpack_pack_str_with_body(pk, str, n) : msgpack_pack_nil(pk);
			break;
		}
		case 'i':
			bad = msgpack_pack_int64(pk, va_arg(*ap, int64_t));
			break;
		case 'I': {
			int64_t v = va_arg(*ap, int64_t);
			bad = v == IPCD_NIL_INT ? msgpack_pack_nil(pk) : msgpack_pack_int64(pk, v);
			break;
		}
		case 'u':
			bad = msgpack_pack_uint64(pk, va_arg(*ap, uint64_t));
			break;
		case 't': {
			double t = va_arg(*ap, double);
			if (isnan(t))
				return conn_fail(c, IPCD_EINVAL, "%s: timeout is NaN", op->name);
			if (c->waited_ms && t >= 0 && !isinf(t))   /* sent again: only what is left */
				t = t > (double)c->waited_ms / 1000.0 ? t - (double)c->waited_ms / 1000.0 : 0.0;
			msgpack_object o = { .type = MSGPACK_OBJECT_NIL };
			if (t >= 0 && !isinf(t)) {
				o.type = MSGPACK_OBJECT_FLOAT64;
				o.via.f64 = t;
			}
			bad = o.type == MSGPACK_OBJECT_NIL ? msgpack_pack_nil(pk) : msgpack_pack_double(pk, t);
			*wait_ms = call_wait_ms(op, &o);
			break;
		}
		default: {  /* v k m a o n: a raw value */
			int rc = call_pack_value(c, rq, op, i + 1, *s, va_arg(*ap, struct ipcd_val));
			if (rc)
				return rc;
		}
		}
		if (bad)
			return conn_fail(c, IPCD_ENOMEMCLI, "out of memory");
	}
	return 0;
}

/* Encode one request of op into c->out and make it pending; *id its id. */
static int call_queue(struct ipcd *c, const struct proto_op_info *op, const struct call_args *a,
                      uint64_t *id)
{
	struct conn_req rq;
	int64_t wait_ms = 0;
	int rc;
	if (a->ap) {
		if (a->nargs < op->min_args || a->nargs > op->max_args)
			return conn_fail(c, IPCD_EBADARG, "%s takes %u to %u arguments, got %u (usage: %s %s)",
			                 op->name, op->min_args, op->max_args, a->nargs, op->name, op->usage);
		if ((rc = conn_request_begin(c, op->code, a->nargs, &rq)))
			return rc;
		va_list aq;
		va_copy(aq, *a->ap);
		rc = call_pack_varargs(c, &rq, op, a->nargs, &aq, &wait_ms);
		va_end(aq);
	} else {
		/* Check the array, then splice its elements after [id, op]. */
		msgpack_object arr = { .type = MSGPACK_OBJECT_ARRAY };
		size_t off = 0, hdr = 0;
		uint32_t n = 0;
		if (a->mp) {
			msgpack_unpack_return r = msgpack_unpack(a->mp, a->len, &off, &c->scratch, &arr);
			if (r == MSGPACK_UNPACK_NOMEM_ERROR)
				rc = conn_fail(c, IPCD_ENOMEMCLI, "out of memory");
			else if (r != MSGPACK_UNPACK_SUCCESS || arr.type != MSGPACK_OBJECT_ARRAY)
				rc = conn_fail(c, IPCD_EINVAL, "%s: arguments are not one well-formed msgpack array",
				               op->name);
			else {
				const char *why = "";
				n = arr.via.array.size;
				hdr = conn_array_header(a->mp, a->len, &n);
				if ((rc = proto_check_args(op, arr.via.array.ptr, n, c->max_name, &why)))
					conn_fail(c, rc, "%s", why);
				int tj = call_timeout_index(op);
				wait_ms = call_wait_ms(op, tj >= 0 && (uint32_t)tj < n ? &arr.via.array.ptr[tj] : NULL);
			}
		} else if (a->len) {
			rc = conn_fail(c, IPCD_EINVAL, "%s: NULL arguments with a length", op->name);
		} else {
			const char *why = "";
			if ((rc = proto_check_args(op, NULL, 0, c->max_name, &why)))
				conn_fail(c, rc, "%s", why);
			wait_ms = call_wait_ms(op, NULL);
		}
		int ti = rc ? -1 : call_timeout_index(op);
		const msgpack_object *t = ti >= 0 && (uint32_t)ti < n ? &arr.via.array.ptr[ti] : NULL;
		int lower = c->waited_ms && t && (t->type == MSGPACK_OBJECT_FLOAT64 || t->type == MSGPACK_OBJECT_FLOAT32 ||
		                                  t->type == MSGPACK_OBJECT_POSITIVE_INTEGER);
		if (rc || (rc = conn_request_begin(c, op->code, n, &rq))) {
			msgpack_zone_clear(&c->scratch);
			return rc;
		}
		if (lower) {
			/* Sent again after SHUTDOWN: the same arguments, the timeout
			 * lowered by what was already waited. */
			for (uint32_t i = 0; i < n && !rc; i++) {
				const msgpack_object *e = &arr.via.array.ptr[i];
				if (i == (uint32_t)ti) {
					double secs = e->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (double)e->via.u64 : e->via.f64;
					secs = secs > (double)c->waited_ms / 1000.0 ? secs - (double)c->waited_ms / 1000.0 : 0.0;
					rc = msgpack_pack_double(&rq.pk, secs);
				} else {
					rc = msgpack_pack_object(&rq.pk, *e);
				}
			}
			if (rc)
				rc = conn_fail(c, IPCD_ENOMEMCLI, "out of memory");
		} else if (n && buf_append(&c->out, (const char *)a->mp + hdr, a->len - hdr)) {
			rc = conn_fail(c, IPCD_ENOMEMCLI, "out of memory");
		}
		msgpack_zone_clear(&c->scratch);
	}
	if (rc) {
		conn_request_abort(c, &rq);
		return rc;
	}
	if ((rc = conn_request_end(c, &rq, op->code, wait_ms)))
		return rc;
	if (id)
		*id = rq.id;
	return 0;
}

/* The op for code, or fail with IPCD_EBADOP. */
static const struct proto_op_info *call_op(struct ipcd *c, unsigned code)
{
	const struct proto_op_info *op = proto_op_by_code(code);
	if (!op)
		conn_fail(c, IPCD_EBADOP, "unknown op code %u", code);
	return op;
}

/* A simple call: send, wait for the reply, resend once if safe. */
static int call_run(struct ipcd *c, unsigned code, struct ipcd_result *res, const struct call_args *a)
{
	struct ipcd_result tmp;
	if (!res)
		res = &tmp;
	conn_result_clear(res, code, 0);
	if (!c)
		return res->status = IPCD_EINVAL;
	conn_begin(c);
	const struct proto_op_info *op = call_op(c, code);
	if (!op)
		return res->status = IPCD_EBADOP;
	if (c->pend_len)
		return res->status = conn_fail(c, IPCD_EINVAL,
		                               "%zu replies from ipcd_send are still to be received", c->pend_len);
	int64_t t0 = call_now_ms();
	int shutdowns = 0;
	for (int attempt = 0;; attempt++) {
		int rc = conn_ready(c);
		if (rc && shutdowns) {
			char why[sizeof(c->errmsg)];
			memcpy(why, c->errmsg, sizeof(why));
			conn_fail(c, rc, "the daemon stopped (%s was not run) and is not back after %.1f s: %.400s",
			          op->name, (double)(call_now_ms() - t0) / 1000.0, why);
		}
		if (!rc)
			rc = call_queue(c, op, a, NULL);
		c->waited_ms = 0;
		if (rc)
			return conn_result_clear(res, code, rc);
		rc = conn_recv(c, res);
		/* SHUTDOWN: the daemon stopped before running it (it waited, or it
		 * came after the daemon's last read): nothing happened, so it is
		 * sent to the next daemon, a waiting op with what is left of its
		 * timeout. */
		if (rc == IPCD_ESHUTDOWN && c->reconnect && shutdowns++ < CALL_MAX_SHUTDOWNS) {
			c->waited_ms = call_now_ms() - t0;
			attempt = -1;
			continue;
		}
		if (rc != IPCD_EIO || attempt > 0 || !conn_may_retry(c, op))
			return rc;
	}
}

/* Queue a request for ipcd_recv. */
static int call_send(struct ipcd *c, uint64_t *id, unsigned code, const struct call_args *a)
{
	if (!c)
		return IPCD_EINVAL;
	conn_begin(c);
	const struct proto_op_info *op = call_op(c, code);
	if (!op)
		return IPCD_EBADOP;
	int rc = conn_ready(c);
	if (rc || (rc = call_queue(c, op, a, id)))
		return rc;
	/* A failed write is reported by ipcd_recv for each request it lost. */
	if (buf_used(&c->out) >= CONN_AUTOFLUSH)
		conn_flush(c);
	return 0;
}

IPCD_EXPORT int ipcd_callv(ipcd *c, unsigned op, struct ipcd_result *res, unsigned nargs, va_list ap)
{
	va_list aq;
	va_copy(aq, ap);
	struct call_args a = { .nargs = nargs, .ap = &aq };
	int rc = call_run(c, op, res, &a);
	va_end(aq);
	return rc;
}

IPCD_EXPORT int ipcd_call(ipcd *c, unsigned op, struct ipcd_result *res, unsigned nargs, ...)
{
	va_list ap;
	va_start(ap, nargs);
	struct call_args a = { .nargs = nargs, .ap = &ap };
	int rc = call_run(c, op, res, &a);
	va_end(ap);
	return rc;
}

IPCD_EXPORT int ipcd_call_raw(ipcd *c, unsigned op, const void *args, size_t len, struct ipcd_result *res)
{
	struct call_args a = { .mp = args, .len = len };
	return call_run(c, op, res, &a);
}

IPCD_EXPORT int ipcd_sendv(ipcd *c, uint64_t *id, unsigned op, unsigned nargs, va_list ap)
{
	va_list aq;
	va_copy(aq, ap);
	struct call_args a = { .nargs = nargs, .ap = &aq };
	int rc = call_send(c, id, op, &a);
	va_end(aq);
	return rc;
}

IPCD_EXPORT int ipcd_send(ipcd *c, uint64_t *id, unsigned op, unsigned nargs, ...)
{
	va_list ap;
	va_start(ap, nargs);
	struct call_args a = { .nargs = nargs, .ap = &ap };
	int rc = call_send(c, id, op, &a);
	va_end(ap);
	return rc;
}

IPCD_EXPORT int ipcd_send_raw(ipcd *c, uint64_t *id, unsigned op, const void *args, size_t len)
{
	struct call_args a = { .mp = args, .len = len };
	return call_send(c, id, op, &a);
}

/* ---- the op table ------------------------------------------------------- */

IPCD_EXPORT int ipcd_op_code(const char *name, unsigned *code)
{
	if (!name || !code)
		return IPCD_EINVAL;
	const struct proto_op_info *op = proto_op_by_name(name, strlen(name));
	if (!op)
		return IPCD_EBADOP;
	*code = op->code;
	return IPCD_OK;
}

IPCD_EXPORT const char *ipcd_op_name(unsigned code)
{
	const struct proto_op_info *op = proto_op_by_code(code);
	return op ? op->name : NULL;
}

IPCD_EXPORT const char *ipcd_op_signature(unsigned code)
{
	const struct proto_op_info *op = proto_op_by_code(code);
	return op ? op->sig : NULL;
}
