/*
 * helpers.c: the convenience layer of libipcd: encoders of C values into
 * msgpack (struct ipcd_val), decoders of results, and the typed shorthands
 * for the common ops. Every shorthand is one ipcd_call plus, where it
 * returns a number or flag, a check of the result's type (IPCD_EREPLY if the
 * server answered something else).
 */
#include <stdlib.h>
#include <string.h>
#include "conn.h"

/* Strings up to this size are encoded on the stack, longer ones on the heap. */
#define HELPER_STACK_STR 256

/* A msgpack_packer target of fixed size. */
struct helper_fixed {
	char *p;
	size_t size, len;
};

/* msgpack_packer write callback for struct helper_fixed; -1 when full. */
static int helper_fixed_write(void *data, const char *p, size_t n)
{
	struct helper_fixed *f = data;
	if (n > f->size - f->len)
		return -1;
	memcpy(f->p + f->len, p, n);
	f->len += n;
	return 0;
}

/* Start packing into buf of size bytes. */
static void helper_fixed_init(struct helper_fixed *f, msgpack_packer *pk, void *buf, size_t size)
{
	f->p = buf;
	f->size = size;
	f->len = 0;
	msgpack_packer_init(pk, f, helper_fixed_write);
}

/* The packed value, or the invalid value if packing failed. */
static struct ipcd_val helper_fixed_val(const struct helper_fixed *f, int failed)
{
	return failed ? IPCD_VAL(NULL, 1) : IPCD_VAL(f->p, f->len);
}

/* ---- encoders ------------------------------------------------------------ */

IPCD_EXPORT struct ipcd_val ipcd_val_int(unsigned char buf[IPCD_SCALAR_SIZE], int64_t v)
{
	struct helper_fixed f;
	msgpack_packer pk;
	helper_fixed_init(&f, &pk, buf, IPCD_SCALAR_SIZE);
	return helper_fixed_val(&f, msgpack_pack_int64(&pk, v));
}

IPCD_EXPORT struct ipcd_val ipcd_val_uint(unsigned char buf[IPCD_SCALAR_SIZE], uint64_t v)
{
	struct helper_fixed f;
	msgpack_packer pk;
	helper_fixed_init(&f, &pk, buf, IPCD_SCALAR_SIZE);
	return helper_fixed_val(&f, msgpack_pack_uint64(&pk, v));
}

IPCD_EXPORT struct ipcd_val ipcd_val_double(unsigned char buf[IPCD_SCALAR_SIZE], double v)
{
	struct helper_fixed f;
	msgpack_packer pk;
	helper_fixed_init(&f, &pk, buf, IPCD_SCALAR_SIZE);
	return helper_fixed_val(&f, msgpack_pack_double(&pk, v));
}

IPCD_EXPORT struct ipcd_val ipcd_val_bool(unsigned char buf[IPCD_SCALAR_SIZE], int v)
{
	struct helper_fixed f;
	msgpack_packer pk;
	helper_fixed_init(&f, &pk, buf, IPCD_SCALAR_SIZE);
	return helper_fixed_val(&f, v ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk));
}

IPCD_EXPORT struct ipcd_val ipcd_val_str(void *buf, size_t size, const char *s, size_t n)
{
	struct helper_fixed f;
	msgpack_packer pk;
	if (!buf || !s || n > UINT32_MAX)
		return IPCD_VAL(NULL, 1);
	helper_fixed_init(&f, &pk, buf, size);
	return helper_fixed_val(&f, msgpack_pack_str_with_body(&pk, s, n));
}

IPCD_EXPORT struct ipcd_val ipcd_val_bytes(void *buf, size_t size, const void *p, size_t n)
{
	struct helper_fixed f;
	msgpack_packer pk;
	if (!buf || (!p && n) || n > UINT32_MAX)
		return IPCD_VAL(NULL, 1);
	helper_fixed_init(&f, &pk, buf, size);
	return helper_fixed_val(&f, msgpack_pack_bin_with_body(&pk, p ? p : "", n));
}

/*
 * s[0..n) as a msgpack str (bin if bin) in stack (HELPER_STACK_STR bytes) or,
 * when longer, in *heap (to free). The invalid value on allocation failure
 * or s NULL.
 */
static struct ipcd_val helper_text(const void *s, size_t n, int bin, char *stack, void **heap)
{
	void *buf = stack;
	size_t size = HELPER_STACK_STR;
	*heap = NULL;
	if (!s && !(bin && n == 0))
		return IPCD_VAL(NULL, 1);
	if (IPCD_STR_SIZE(n) > size) {
		size = IPCD_STR_SIZE(n);
		if (size < n || !(buf = *heap = malloc(size)))
			return IPCD_VAL(NULL, 1);
	}
	return bin ? ipcd_val_bytes(buf, size, s, n) : ipcd_val_str(buf, size, s, n);
}

/* ---- decoders ------------------------------------------------------------ */

IPCD_EXPORT int ipcd_obj_int(const msgpack_object *o, int64_t *out)
{
	if (!o || !out)
		return IPCD_EINVAL;
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		*out = o->via.i64;
	else if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return IPCD_EINVAL;
	else if (o->via.u64 > INT64_MAX)
		return IPCD_EOVERFLOW;
	else
		*out = (int64_t)o->via.u64;
	return IPCD_OK;
}

IPCD_EXPORT int ipcd_obj_uint(const msgpack_object *o, uint64_t *out)
{
	if (!o || !out)
		return IPCD_EINVAL;
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return IPCD_EOVERFLOW;
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return IPCD_EINVAL;
	*out = o->via.u64;
	return IPCD_OK;
}

IPCD_EXPORT int ipcd_obj_double(const msgpack_object *o, double *out)
{
	if (!o || !out)
		return IPCD_EINVAL;
	switch (o->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER: *out = (double)o->via.u64; return IPCD_OK;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: *out = (double)o->via.i64; return IPCD_OK;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: *out = o->via.f64; return IPCD_OK;
	default: return IPCD_EINVAL;
	}
}

IPCD_EXPORT int ipcd_obj_str(const msgpack_object *o, const char **p, size_t *n)
{
	if (!o || !p || !n)
		return IPCD_EINVAL;
	if (o->type == MSGPACK_OBJECT_STR) {
		*p = o->via.str.ptr;
		*n = o->via.str.size;
	} else if (o->type == MSGPACK_OBJECT_BIN) {
		*p = o->via.bin.ptr;
		*n = o->via.bin.size;
	} else {
		return IPCD_EINVAL;
	}
	return IPCD_OK;
}

IPCD_EXPORT int ipcd_obj_bool(const msgpack_object *o, int *out)
{
	if (!o || !out || o->type != MSGPACK_OBJECT_BOOLEAN)
		return IPCD_EINVAL;
	*out = o->via.boolean;
	return IPCD_OK;
}

/* ---- typed helpers ------------------------------------------------------- */

/* After a call that returned rc: the result as a uint into *out (may be NULL). */
static int helper_uint(ipcd *c, int rc, const struct ipcd_result *res, uint64_t *out)
{
	uint64_t v;
	if (rc)
		return rc;
	if (ipcd_obj_uint(&res->value, &v))
		return conn_fail(c, IPCD_EREPLY, "%s: result is not a non-negative integer", ipcd_op_name(res->op));
	if (out)
		*out = v;
	return IPCD_OK;
}

/* After a call that returned rc: the result as a bool into *out (may be NULL). */
static int helper_bool(ipcd *c, int rc, const struct ipcd_result *res, int *out)
{
	int v;
	if (rc)
		return rc;
	if (ipcd_obj_bool(&res->value, &v))
		return conn_fail(c, IPCD_EREPLY, "%s: result is not a boolean", ipcd_op_name(res->op));
	if (out)
		*out = v;
	return IPCD_OK;
}

IPCD_EXPORT int ipcd_ping(ipcd *c)
{
	return ipcd_call(c, IPCD_OP_PING, NULL, 0);
}

IPCD_EXPORT int ipcd_create(ipcd *c, const char *name, const char *type, uint64_t maxsize)
{
	if (!maxsize)
		return ipcd_call(c, IPCD_OP_CREATE, NULL, 2, name, type);
	char buf[32];
	struct helper_fixed f;
	msgpack_packer pk;
	helper_fixed_init(&f, &pk, buf, sizeof(buf));
	int bad = msgpack_pack_map(&pk, 1) || msgpack_pack_str_with_body(&pk, "maxsize", 7) ||
	          msgpack_pack_uint64(&pk, maxsize);
	return ipcd_call(c, IPCD_OP_CREATE, NULL, 3, name, type, helper_fixed_val(&f, bad));
}

IPCD_EXPORT int ipcd_delete(ipcd *c, const char *name)
{
	return ipcd_call(c, IPCD_OP_DELETE, NULL, 1, name);
}

IPCD_EXPORT int ipcd_exists(ipcd *c, const char *name, int *exists)
{
	struct ipcd_result res;
	return helper_bool(c, ipcd_call(c, IPCD_OP_EXISTS, &res, 1, name), &res, exists);
}

/* ---- queue ---- */

IPCD_EXPORT int ipcd_queue_put(ipcd *c, const char *name, const void *mp, size_t len, double timeout)
{
	return ipcd_call(c, IPCD_OP_QUEUE_PUT, NULL, 3, name, IPCD_VAL(mp, len), timeout);
}

IPCD_EXPORT int ipcd_queue_put_int(ipcd *c, const char *name, int64_t v, double timeout)
{
	unsigned char buf[IPCD_SCALAR_SIZE];
	return ipcd_call(c, IPCD_OP_QUEUE_PUT, NULL, 3, name, ipcd_val_int(buf, v), timeout);
}

IPCD_EXPORT int ipcd_queue_put_double(ipcd *c, const char *name, double v, double timeout)
{
	unsigned char buf[IPCD_SCALAR_SIZE];
	return ipcd_call(c, IPCD_OP_QUEUE_PUT, NULL, 3, name, ipcd_val_double(buf, v), timeout);
}

IPCD_EXPORT int ipcd_queue_put_str(ipcd *c, const char *name, const char *s, double timeout)
{
	char stack[HELPER_STACK_STR];
	void *heap;
	struct ipcd_val v = helper_text(s, s ? strlen(s) : 0, 0, stack, &heap);
	int rc = ipcd_call(c, IPCD_OP_QUEUE_PUT, NULL, 3, name, v, timeout);
	free(heap);
	return rc;
}

IPCD_EXPORT int ipcd_queue_put_bytes(ipcd *c, const char *name, const void *p, size_t n, double timeout)
{
	char stack[HELPER_STACK_STR];
	void *heap;
	struct ipcd_val v = helper_text(p, n, 1, stack, &heap);
	int rc = ipcd_call(c, IPCD_OP_QUEUE_PUT, NULL, 3, name, v, timeout);
	free(heap);
	return rc;
}

IPCD_EXPORT int ipcd_queue_put_many(ipcd *c, const char *name, const struct ipcd_val *vals, size_t n,
                                    double timeout)
{
	if (!c)
		return IPCD_EINVAL;
	if ((!vals && n) || n > UINT32_MAX) {
		conn_begin(c);
		return conn_fail(c, IPCD_EINVAL, "queue.put_many: bad values array");
	}
	/* One array value: header, then each value's bytes (nil for IPCD_NIL). */
	struct buf arr;
	msgpack_packer pk;
	buf_init(&arr);
	msgpack_packer_init(&pk, &arr, buf_msgpack_write);
	int bad = msgpack_pack_array(&pk, (uint32_t)n);
	for (size_t i = 0; i < n && !bad; i++) {
		if (vals[i].mp)
			bad = buf_append(&arr, vals[i].mp, vals[i].len);
		else if (vals[i].len)
			bad = 2;
		else
			bad = msgpack_pack_nil(&pk);
	}
	int rc;
	if (bad) {
		conn_begin(c);
		rc = conn_fail(c, bad == 2 ? IPCD_EINVAL : IPCD_ENOMEMCLI,
		               bad == 2 ? "queue.put_many: an invalid value" : "out of memory");
	} else {
		rc = ipcd_call(c, IPCD_OP_QUEUE_PUT_MANY, NULL, 3, name, IPCD_VAL(arr.data, arr.len), timeout);
	}
	buf_free(&arr);
	return rc;
}

IPCD_EXPORT int ipcd_queue_get(ipcd *c, const char *name, double timeout, struct ipcd_result *out)
{
	return ipcd_call(c, IPCD_OP_QUEUE_GET, out, 2, name, timeout);
}

IPCD_EXPORT int ipcd_queue_get_many(ipcd *c, const char *name, uint64_t max, double timeout,
                                    struct ipcd_result *out)
{
	return ipcd_call(c, IPCD_OP_QUEUE_GET_MANY, out, 3, name, max, timeout);
}

/* ---- queue: acknowledged delivery, tasks ---- */

int delivery_of(struct ipcd *c, const msgpack_object *o, struct ipcd_delivery *out)
{
	(void)c;
	const msgpack_object *value = wire_map_get(o, "value");
	uint64_t deliveries;
	if (!value || wire_obj_uint(wire_map_get(o, "id"), &out->id) ||
	    wire_obj_uint(wire_map_get(o, "deliveries"), &deliveries) || deliveries > UINT32_MAX)
		return 0;
	out->value = *value;
	out->deliveries = (uint32_t)deliveries;
	return 1;
}

IPCD_EXPORT int ipcd_queue_get_ack(ipcd *c, const char *name, double timeout, double lease,
                                   struct ipcd_delivery *out)
{
	if (c && c->pf.n > 1 && out)
		return prefetch_get_ack(c, name, timeout, lease, out);
	struct ipcd_result res;
	unsigned char buf[IPCD_SCALAR_SIZE];
	int rc = lease > 0 ? ipcd_call(c, IPCD_OP_QUEUE_GET_ACK, &res, 3, name, timeout, ipcd_val_double(buf, lease))
	                   : ipcd_call(c, IPCD_OP_QUEUE_GET_ACK, &res, 2, name, timeout);
	if (rc || !out)
		return rc;
	return delivery_of(c, &res.value, out) ? IPCD_OK
	                                      : conn_fail(c, IPCD_EREPLY, "queue.get_ack: result is not {id, value, deliveries}");
}

IPCD_EXPORT int ipcd_queue_ack(ipcd *c, const char *name, uint64_t id)
{
	return ipcd_call(c, IPCD_OP_QUEUE_ACK, NULL, 2, name, id);
}

IPCD_EXPORT int ipcd_queue_nack(ipcd *c, const char *name, uint64_t id, double delay)
{
	unsigned char buf[IPCD_SCALAR_SIZE];
	if (delay > 0)
		return ipcd_call(c, IPCD_OP_QUEUE_NACK, NULL, 3, name, id, ipcd_val_double(buf, delay));
	return ipcd_call(c, IPCD_OP_QUEUE_NACK, NULL, 2, name, id);
}

IPCD_EXPORT int ipcd_queue_touch(ipcd *c, const char *name, uint64_t id, double lease, double *left)
{
	struct ipcd_result res;
	unsigned char buf[IPCD_SCALAR_SIZE];
	int rc = lease > 0 ? ipcd_call(c, IPCD_OP_QUEUE_TOUCH, &res, 3, name, id, ipcd_val_double(buf, lease))
	                   : ipcd_call(c, IPCD_OP_QUEUE_TOUCH, &res, 2, name, id);
	if (rc || !left)
		return rc;
	if (res.value.type == MSGPACK_OBJECT_NIL)
		*left = 0;
	else if (ipcd_obj_double(&res.value, left))
		return conn_fail(c, IPCD_EREPLY, "queue.touch: result is not a number");
	return IPCD_OK;
}

IPCD_EXPORT int ipcd_queue_task_done(ipcd *c, const char *name, uint64_t count, uint64_t *left)
{
	struct ipcd_result res;
	return helper_uint(c, ipcd_call(c, IPCD_OP_QUEUE_TASK_DONE, &res, 2, name, count), &res, left);
}

IPCD_EXPORT int ipcd_queue_join(ipcd *c, const char *name, double timeout)
{
	return ipcd_call(c, IPCD_OP_QUEUE_JOIN, NULL, 2, name, timeout);
}

IPCD_EXPORT int ipcd_queue_qsize(ipcd *c, const char *name, uint64_t *size)
{
	struct ipcd_result res;
	return helper_uint(c, ipcd_call(c, IPCD_OP_QUEUE_QSIZE, &res, 1, name), &res, size);
}

/* ---- list ---- */

IPCD_EXPORT int ipcd_list_append(ipcd *c, const char *name, struct ipcd_val v, uint64_t *len)
{
	struct ipcd_result res;
	return helper_uint(c, ipcd_call(c, IPCD_OP_LIST_APPEND, &res, 2, name, v), &res, len);
}

IPCD_EXPORT int ipcd_list_pop(ipcd *c, const char *name, struct ipcd_result *out)
{
	return ipcd_call(c, IPCD_OP_LIST_POP, out, 1, name);
}

IPCD_EXPORT int ipcd_list_len(ipcd *c, const char *name, uint64_t *len)
{
	struct ipcd_result res;
	return helper_uint(c, ipcd_call(c, IPCD_OP_LIST_LEN, &res, 1, name), &res, len);
}

/* ---- dict ---- */

IPCD_EXPORT int ipcd_dict_set(ipcd *c, const char *name, const char *key, struct ipcd_val v)
{
	char stack[HELPER_STACK_STR];
	void *heap;
	struct ipcd_val k = helper_text(key, key ? strlen(key) : 0, 0, stack, &heap);
	int rc = ipcd_call(c, IPCD_OP_DICT_SET, NULL, 3, name, k, v);
	free(heap);
	return rc;
}

IPCD_EXPORT int ipcd_dict_get(ipcd *c, const char *name, const char *key, struct ipcd_result *out)
{
	char stack[HELPER_STACK_STR];
	void *heap;
	struct ipcd_val k = helper_text(key, key ? strlen(key) : 0, 0, stack, &heap);
	int rc = ipcd_call(c, IPCD_OP_DICT_GET, out, 2, name, k);
	free(heap);
	return rc;
}

IPCD_EXPORT int ipcd_dict_incr(ipcd *c, const char *name, const char *key, int64_t delta, int64_t *out)
{
	char stack[HELPER_STACK_STR];
	unsigned char d[IPCD_SCALAR_SIZE];
	void *heap;
	struct ipcd_result res;
	struct ipcd_val k = helper_text(key, key ? strlen(key) : 0, 0, stack, &heap);
	int rc = ipcd_call(c, IPCD_OP_DICT_INCR, &res, 3, name, k, ipcd_val_int(d, delta));
	free(heap);
	int64_t v;
	if (rc)
		return rc;
	if ((rc = ipcd_obj_int(&res.value, &v)))
		return conn_fail(c, IPCD_EREPLY, "dict.incr: the key holds a %s; the increment was applied",
		                 rc == IPCD_EOVERFLOW ? "integer above INT64_MAX" : "non-integer");
	if (out)
		*out = v;
	return IPCD_OK;
}

IPCD_EXPORT int ipcd_dict_cas(ipcd *c, const char *name, const char *key, struct ipcd_val expected,
                              struct ipcd_val v, int *swapped)
{
	char stack[HELPER_STACK_STR];
	void *heap;
	struct ipcd_result res;
	struct ipcd_val k = helper_text(key, key ? strlen(key) : 0, 0, stack, &heap);
	int rc = ipcd_call(c, IPCD_OP_DICT_CAS, &res, 4, name, k, expected, v);
	free(heap);
	return helper_bool(c, rc, &res, swapped);
}

/* ---- ns ---- */

IPCD_EXPORT int ipcd_ns_set(ipcd *c, const char *name, const char *attr, struct ipcd_val v)
{
	return ipcd_call(c, IPCD_OP_NS_SET, NULL, 3, name, attr, v);
}

IPCD_EXPORT int ipcd_ns_get(ipcd *c, const char *name, const char *attr, struct ipcd_result *out)
{
	return ipcd_call(c, IPCD_OP_NS_GET, out, 2, name, attr);
}

/* ---- synchronisation types ---- */

/* The bool key of a result map into *out (may be NULL). */
static int helper_map_bool(ipcd *c, int rc, const struct ipcd_result *res, const char *key, int *out)
{
	int v;
	if (rc)
		return rc;
	if (ipcd_obj_bool(wire_map_get(&res->value, key), &v))
		return conn_fail(c, IPCD_EREPLY, "%s: result has no bool %s", ipcd_op_name(res->op), key);
	if (out)
		*out = v;
	return IPCD_OK;
}

IPCD_EXPORT int ipcd_lock_create(ipcd *c, const char *name, unsigned flags)
{
	char buf[48];
	struct helper_fixed f;
	msgpack_packer pk;
	helper_fixed_init(&f, &pk, buf, sizeof(buf));
	int bad = msgpack_pack_map(&pk, 2) || msgpack_pack_str_with_body(&pk, "reentrant", 9) ||
	          (flags & IPCD_LOCK_REENTRANT ? msgpack_pack_true : msgpack_pack_false)(&pk) ||
	          msgpack_pack_str_with_body(&pk, "robust", 6) ||
	          (flags & IPCD_LOCK_NOT_ROBUST ? msgpack_pack_false : msgpack_pack_true)(&pk);
	return ipcd_call(c, IPCD_OP_CREATE, NULL, 3, name, "lock", helper_fixed_val(&f, bad));
}

IPCD_EXPORT int ipcd_lock_acquire(ipcd *c, const char *name, double timeout, int *owner_died)
{
	struct ipcd_result res;
	return helper_map_bool(c, ipcd_call(c, IPCD_OP_LOCK_ACQUIRE, &res, 2, name, timeout), &res, "owner_died",
	                       owner_died);
}

IPCD_EXPORT int ipcd_lock_release(ipcd *c, const char *name)
{
	return ipcd_call(c, IPCD_OP_LOCK_RELEASE, NULL, 1, name);
}

IPCD_EXPORT int ipcd_lock_locked(ipcd *c, const char *name, int *locked)
{
	struct ipcd_result res;
	return helper_bool(c, ipcd_call(c, IPCD_OP_LOCK_LOCKED, &res, 1, name), &res, locked);
}

IPCD_EXPORT int ipcd_semaphore_create(ipcd *c, const char *name, uint64_t value, unsigned flags)
{
	char buf[64];
	struct helper_fixed f;
	msgpack_packer pk;
	helper_fixed_init(&f, &pk, buf, sizeof(buf));
	int bad = msgpack_pack_map(&pk, 3) || msgpack_pack_str_with_body(&pk, "value", 5) ||
	          msgpack_pack_uint64(&pk, value) || msgpack_pack_str_with_body(&pk, "bounded", 7) ||
	          (flags & IPCD_SEMAPHORE_BOUNDED ? msgpack_pack_true : msgpack_pack_false)(&pk) ||
	          msgpack_pack_str_with_body(&pk, "robust", 6) ||
	          (flags & IPCD_SEMAPHORE_NOT_ROBUST ? msgpack_pack_false : msgpack_pack_true)(&pk);
	return ipcd_call(c, IPCD_OP_CREATE, NULL, 3, name, "semaphore", helper_fixed_val(&f, bad));
}

IPCD_EXPORT int ipcd_semaphore_acquire(ipcd *c, const char *name, uint64_t n, double timeout, uint64_t *left)
{
	struct ipcd_result res;
	return helper_uint(c, ipcd_call(c, IPCD_OP_SEM_ACQUIRE, &res, 3, name, n, timeout), &res, left);
}

IPCD_EXPORT int ipcd_semaphore_release(ipcd *c, const char *name, uint64_t n, uint64_t *value)
{
	struct ipcd_result res;
	return helper_uint(c, ipcd_call(c, IPCD_OP_SEM_RELEASE, &res, 2, name, n), &res, value);
}

IPCD_EXPORT int ipcd_semaphore_value(ipcd *c, const char *name, uint64_t *value)
{
	struct ipcd_result res;
	return helper_uint(c, ipcd_call(c, IPCD_OP_SEM_VALUE, &res, 1, name), &res, value);
}

IPCD_EXPORT int ipcd_event_set(ipcd *c, const char *name)
{
	return ipcd_call(c, IPCD_OP_EVENT_SET, NULL, 1, name);
}

IPCD_EXPORT int ipcd_event_clear(ipcd *c, const char *name)
{
	return ipcd_call(c, IPCD_OP_EVENT_CLEAR, NULL, 1, name);
}

IPCD_EXPORT int ipcd_event_is_set(ipcd *c, const char *name, int *set)
{
	struct ipcd_result res;
	return helper_bool(c, ipcd_call(c, IPCD_OP_EVENT_IS_SET, &res, 1, name), &res, set);
}

IPCD_EXPORT int ipcd_event_wait(ipcd *c, const char *name, double timeout, int *set)
{
	struct ipcd_result res;
	return helper_bool(c, ipcd_call(c, IPCD_OP_EVENT_WAIT, &res, 2, name, timeout), &res, set);
}

IPCD_EXPORT int ipcd_condition_acquire(ipcd *c, const char *name, double timeout, int *owner_died)
{
	struct ipcd_result res;
	return helper_map_bool(c, ipcd_call(c, IPCD_OP_COND_ACQUIRE, &res, 2, name, timeout), &res, "owner_died",
	                       owner_died);
}

IPCD_EXPORT int ipcd_condition_release(ipcd *c, const char *name)
{
	return ipcd_call(c, IPCD_OP_COND_RELEASE, NULL, 1, name);
}

IPCD_EXPORT int ipcd_condition_wait(ipcd *c, const char *name, double timeout, int *notified, int *owner_died)
{
	struct ipcd_result res;
	int rc = helper_map_bool(c, ipcd_call(c, IPCD_OP_COND_WAIT, &res, 2, name, timeout), &res, "notified", notified);
	return rc ? rc : helper_map_bool(c, rc, &res, "owner_died", owner_died);
}

IPCD_EXPORT int ipcd_condition_notify(ipcd *c, const char *name, uint64_t n, uint64_t *woken)
{
	struct ipcd_result res;
	return helper_uint(c, ipcd_call(c, IPCD_OP_COND_NOTIFY, &res, 2, name, n), &res, woken);
}

IPCD_EXPORT int ipcd_condition_notify_all(ipcd *c, const char *name, uint64_t *woken)
{
	struct ipcd_result res;
	return helper_uint(c, ipcd_call(c, IPCD_OP_COND_NOTIFY_ALL, &res, 1, name), &res, woken);
}

IPCD_EXPORT int ipcd_barrier_create(ipcd *c, const char *name, uint32_t parties)
{
	char buf[32];
	struct helper_fixed f;
	msgpack_packer pk;
	helper_fixed_init(&f, &pk, buf, sizeof(buf));
	int bad = msgpack_pack_map(&pk, 1) || msgpack_pack_str_with_body(&pk, "parties", 7) ||
	          msgpack_pack_uint32(&pk, parties);
	return ipcd_call(c, IPCD_OP_CREATE, NULL, 3, name, "barrier", helper_fixed_val(&f, bad));
}

IPCD_EXPORT int ipcd_barrier_wait(ipcd *c, const char *name, double timeout, uint64_t *index)
{
	struct ipcd_result res;
	return helper_uint(c, ipcd_call(c, IPCD_OP_BARRIER_WAIT, &res, 2, name, timeout), &res, index);
}

IPCD_EXPORT int ipcd_barrier_wait_action(ipcd *c, const char *name, double timeout, uint64_t *index,
                                         int *run_action)
{
	static const char opts[] = "\x81\xa6" "action" "\xc3";   /* {"action": true} */
	struct ipcd_result res;
	struct ipcd_val o = { opts, sizeof(opts) - 1 };
	int rc = helper_map_bool(c, ipcd_call(c, IPCD_OP_BARRIER_WAIT, &res, 3, name, timeout, o), &res, "action",
	                         run_action);
	if (rc)
		return rc;
	uint64_t i;
	if (ipcd_obj_uint(wire_map_get(&res.value, "index"), &i))
		return conn_fail(c, IPCD_EREPLY, "barrier.wait: result has no index");
	if (index)
		*index = i;
	return IPCD_OK;
}

IPCD_EXPORT int ipcd_barrier_done(ipcd *c, const char *name, int ok)
{
	unsigned char buf[IPCD_SCALAR_SIZE];
	return ipcd_call(c, IPCD_OP_BARRIER_DONE, NULL, 2, name, ipcd_val_bool(buf, ok));
}

IPCD_EXPORT int ipcd_barrier_reset(ipcd *c, const char *name)
{
	return ipcd_call(c, IPCD_OP_BARRIER_RESET, NULL, 1, name);
}

IPCD_EXPORT int ipcd_barrier_abort(ipcd *c, const char *name)
{
	return ipcd_call(c, IPCD_OP_BARRIER_ABORT, NULL, 1, name);
}

IPCD_EXPORT int ipcd_barrier_broken(ipcd *c, const char *name, int *broken)
{
	struct ipcd_result res;
	return helper_bool(c, ipcd_call(c, IPCD_OP_BARRIER_BROKEN, &res, 1, name), &res, broken);
}

IPCD_EXPORT int ipcd_barrier_n_waiting(ipcd *c, const char *name, uint64_t *n)
{
	struct ipcd_result res;
	return helper_uint(c, ipcd_call(c, IPCD_OP_BARRIER_N_WAITING, &res, 1, name), &res, n);
}
