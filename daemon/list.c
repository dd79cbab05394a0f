/*
 * list.c: the list type, a Python list of stored values with Redis-style
 * blocking pops.
 *
 * First part: the pure rules (index normalization, slice bounds, search),
 * no sockets, unit-tested in tests/unit/test_list.c. Second part: the type
 * operations for the registry. Third part: the op handlers.
 *
 * Items are struct value * in a deque, owned by the list. Equality is
 * equality of canonical bytes (codec.h): 1 and 1.0 are different items.
 *
 * Blocking: list.blpop/brpop on an empty list park on list->poppers. Every
 * op that adds items ends by serving them (waitq_serve): the parked pops are
 * retried in FIFO order, so a popper never waits while items exist.
 */
#include <stdlib.h>
#include <string.h>
#include "list.h"
#include "codec.h"
#include "decode.h"
#include "object.h"
#include "value.h"
#include "dispatch.h"
#include "server.h"
#include "state.h"
#include "waiters.h"

/* ---- pure helpers ------------------------------------------------------- */

/* An int argument, clamped into int64. */
int64_t list_arg_int(const msgpack_object *o)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		return o->via.u64 > INT64_MAX ? INT64_MAX : (int64_t)o->via.u64;
	return o->via.i64;
}

/* Python item index: negative counts from the end, no clamping. */
int list_norm_index(int64_t i, size_t len, size_t *out)
{
	if (i < 0) {
		/* -i without overflowing on INT64_MIN */
		uint64_t back = (uint64_t)(-(i + 1)) + 1;
		if (back > len)
			return -1;
		*out = len - (size_t)back;
		return 0;
	}
	if ((uint64_t)i >= len)
		return -1;
	*out = (size_t)i;
	return 0;
}

/* One slice bound clamped into [0, len] the way Python adjusts slice indices. */
static size_t list_clamp_bound(int64_t b, size_t len)
{
	if (b < 0) {
		uint64_t back = (uint64_t)(-(b + 1)) + 1;
		return back >= len ? 0 : len - (size_t)back;
	}
	return (uint64_t)b >= len ? len : (size_t)b;
}

/* Python insert position: clamped like a slice bound. */
size_t list_insert_pos(int64_t i, size_t len)
{
	return list_clamp_bound(i, len);
}

/* Python slice bounds for step 1: clamp both, empty if stop < start. */
void list_slice(const int64_t *start, const int64_t *stop, size_t len, size_t *lo, size_t *hi)
{
	*lo = start ? list_clamp_bound(*start, len) : 0;
	*hi = stop ? list_clamp_bound(*stop, len) : len;
	if (*hi < *lo)
		*hi = *lo;
}

/* The canonical bytes of a searched value, encoded once per search rather
 * than once per item compared. */
struct list_needle {
	char small[256];
	char *bytes;      /* small, a malloc'd copy, or NULL if that failed */
	size_t len;
	const msgpack_object *o;
};

/* Encode o once; falls back to per-item encoding if malloc fails. */
static void list_needle_init(struct list_needle *nd, const msgpack_object *o)
{
	nd->o = o;
	nd->len = decode_size(o);
	nd->bytes = nd->len <= sizeof(nd->small) ? nd->small : malloc(nd->len);
	if (nd->bytes)
		decode_encode_into(o, nd->bytes);
}

/* True if v holds the needle's canonical bytes. */
static int list_needle_match(const struct list_needle *nd, const struct value *v)
{
	if (!nd->bytes)   /* no memory for a copy: let value.c compare */
		return value_equals_obj(v, nd->o);
	return v->len == nd->len && memcmp(v->data, nd->bytes, nd->len) == 0;
}

/* Release the needle's heap copy, if any. */
static void list_needle_free(struct list_needle *nd)
{
	if (nd->bytes != nd->small)
		free(nd->bytes);
}

/* First equal item in [lo, hi). */
int64_t list_find(const struct deque *items, const msgpack_object *o, size_t lo, size_t hi)
{
	struct list_needle nd;
	int64_t at = -1;
	list_needle_init(&nd, o);
	for (size_t i = lo; i < hi && at < 0; i++)
		if (list_needle_match(&nd, deque_at(items, i)))
			at = (int64_t)i;
	list_needle_free(&nd);
	return at;
}

/* Number of items equal to o. */
size_t list_count(const struct deque *items, const msgpack_object *o)
{
	struct list_needle nd;
	size_t n = 0;
	list_needle_init(&nd, o);
	for (size_t i = 0; i < deque_len(items); i++)
		n += list_needle_match(&nd, deque_at(items, i));
	list_needle_free(&nd);
	return n;
}

/* ---- type operations ---------------------------------------------------- */

/* A list has no options: none, or an empty map. */
static int list_no_options(const msgpack_object *opts)
{
	return !opts || (opts->type == MSGPACK_OBJECT_MAP && opts->via.map.size == 0);
}

/* Set up an empty list; a list takes no options. */
static int list_init(struct object *o, const msgpack_object *opts, const char **why)
{
	if (!list_no_options(opts)) {
		*why = "list takes no options";
		return IPCD_EBADARG;
	}
	deque_init(&o->u.list.items);
	waitq_init(&o->u.list.poppers);
	return 0;
}

/* Lists have no options, so only "none" matches. */
static int list_same_options(const struct object *o, const msgpack_object *opts)
{
	return list_no_options(opts);
}

/* Free every item and keep the deque usable. */
static void list_free_items(struct list *l)
{
	for (size_t i = 0; i < deque_len(&l->items); i++)
		value_free(deque_at(&l->items, i));
	deque_clear(&l->items);
}

/* Free every item and the slots. */
static void list_deinit(struct object *o)
{
	list_free_items(&o->u.list);
	deque_free(&o->u.list.items);
}

/* Number of items. */
static uint64_t list_size(const struct object *o)
{
	return deque_len(&o->u.list.items);
}

/* Pack items [lo, hi) as an array. */
static void list_pack_range(const struct list *l, size_t lo, size_t hi, msgpack_packer *pk)
{
	msgpack_pack_array(pk, hi - lo);
	for (size_t i = lo; i < hi; i++)
		pack_value(pk, deque_at(&l->items, i));
}

/* The items as an array. */
static void list_dump(const struct object *o, msgpack_packer *pk)
{
	list_pack_range(&o->u.list, 0, deque_len(&o->u.list.items), pk);
}

/* One page of the items as [next position, array]: at most count from
 * position cursor. */
static void list_dump_page(const struct object *o, uint64_t cursor, uint64_t count, msgpack_packer *pk)
{
	size_t len = deque_len(&o->u.list.items);
	size_t lo = cursor < len ? (size_t)cursor : len;
	size_t hi = count < len - lo ? lo + (size_t)count : len;
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint64(pk, hi < len ? hi : 0);
	list_pack_range(&o->u.list, lo, hi, pk);
}

/* No options: an empty map. */
/* The deque's empty slots (each value's own slot is in its value_cost). */
static size_t list_spare(const struct object *o)
{
	const struct deque *d = &o->u.list.items;
	return d->cap ? value_alloc_cost(d->cap * sizeof(void *)) - d->len * sizeof(void *) : 0;
}

static void list_pack_options(const struct object *o, msgpack_packer *pk)
{
	msgpack_pack_map(pk, 0);
}

/* Answer parked blpop/brpop requests with DELETED. */
static void list_cancel_waiters(struct object *o)
{
	waitq_fail_all(&o->u.list.poppers, IPCD_EDELETED, "list deleted while waiting");
}

/* Parked blpop/brpop requests. */
static uint32_t list_waiting(const struct object *o)
{
	return o->u.list.poppers.count;
}

/* Snapshot: the items in order, as bin entries of their bytes. */
static int list_save(const struct object *o, struct state_saver *s)
{
	const struct list *l = &o->u.list;
	size_t len = deque_len(&l->items);
	for (size_t i = 0; i < len; i += STATE_CONTENT_CHUNK) {
		size_t n = len - i < STATE_CONTENT_CHUNK ? len - i : STATE_CONTENT_CHUNK;
		msgpack_packer *pk = state_save_content(s, o, 0, (uint32_t)n);
		for (size_t j = i; j < i + n; j++) {
			const struct value *v = deque_at(&l->items, j);
			msgpack_pack_bin(pk, v->len);
			msgpack_pack_bin_body(pk, v->data, v->len);
		}
		if (state_save_end(s) < 0)
			return -1;
	}
	return 0;
}

static int list_restore(struct object *o, unsigned kind, const msgpack_object *entries)
{
	struct list *l = &o->u.list;
	if (kind != 0 || deque_reserve(&l->items, entries->via.array.size) < 0)
		return -1;
	for (uint32_t i = 0; i < entries->via.array.size; i++) {
		const msgpack_object *e = &entries->via.array.ptr[i];
		struct value *v;
		if (e->type != MSGPACK_OBJECT_BIN || value_new_raw(e->via.bin.ptr, e->via.bin.size, &v))
			return -1;
		deque_push_back(&l->items, v);
	}
	return 0;
}

const struct object_type list_type = {
	.save = list_save,
	.restore = list_restore,
	.init = list_init,
	.same_options = list_same_options,
	.deinit = list_deinit,
	.size = list_size,
	.dump = list_dump,
	.dump_page = list_dump_page,
	.pack_options = list_pack_options,
	.spare = list_spare,
	.cancel_waiters = list_cancel_waiters,
	.waiting = list_waiting,
};

/* ---- handlers ----------------------------------------------------------- */

/* The list a request works on. */
static struct list *list_of(struct request *rq)
{
	return &rq->obj->u.list;
}

/* Optional int-or-nil argument i: NULL when absent or nil (Python's None). */
static const int64_t *list_opt_int(const struct request *rq, uint32_t i, int64_t *buf)
{
	const msgpack_object *o = request_arg(rq, i);
	if (!o || o->type == MSGPACK_OBJECT_NIL)
		return NULL;
	*buf = list_arg_int(o);
	return buf;
}

/* Reply the length an adding op produced, then let poppers take items.
 * The length is counted before poppers take any, like Redis's RPUSH. */
static void list_added(struct request *rq, struct list *l)
{
	reply_int(&rq->reply, (int64_t)deque_len(&l->items));
	waitq_serve(&l->poppers);
}

/* Room in l for n more values, refused if growing its slots would pass
 * max_memory (the slots' room is counted after the write, list_spare). */
static int list_reserve(struct list *l, size_t n)
{
	if (!value_mem_fits(deque_growth(&l->items, n) * sizeof(void *)))
		return -1;
	return deque_reserve(&l->items, n);
}

/* list.append NAME VALUE -> length */
void handle_LIST_APPEND(struct request *rq)
{
	struct list *l = list_of(rq);
	struct value *v = request_value_or_reply(rq, &rq->args[1]);
	if (!v)
		return;
	if (list_reserve(l, 1) < 0 || deque_push_back(&l->items, v) < 0) {
		value_free(v);
		reply_nomem(&rq->reply);
		return;
	}
	list_added(rq, l);
}

/* list.extend NAME VALUES -> length; all values are added or none. */
void handle_LIST_EXTEND(struct request *rq)
{
	struct list *l = list_of(rq);
	const msgpack_object_array *a = &rq->args[1].via.array;
	struct value **vs = malloc((a->size ? a->size : 1) * sizeof(*vs));
	rq->unchanged = a->size == 0;   /* no list is left on a free name */
	if (!vs || list_reserve(l, a->size) < 0) {
		free(vs);
		reply_nomem(&rq->reply);
		return;
	}
	for (uint32_t i = 0; i < a->size; i++) {
		if (!(vs[i] = request_value_or_reply(rq, &a->ptr[i]))) {
			while (i > 0)
				value_free(vs[--i]);
			free(vs);
			return;
		}
	}
	for (uint32_t i = 0; i < a->size; i++)
		(void)deque_push_back(&l->items, vs[i]);   /* room reserved above */
	free(vs);
	list_added(rq, l);
}

/* list.insert NAME INDEX VALUE -> length */
void handle_LIST_INSERT(struct request *rq)
{
	struct list *l = list_of(rq);
	size_t at = list_insert_pos(list_arg_int(&rq->args[1]), deque_len(&l->items));
	struct value *v = request_value_or_reply(rq, &rq->args[2]);
	if (!v)
		return;
	if (list_reserve(l, 1) < 0 || deque_insert(&l->items, at, v) < 0) {
		value_free(v);
		reply_nomem(&rq->reply);
		return;
	}
	list_added(rq, l);
}

/* list.pop NAME [INDEX] -> value | INDEX */
void handle_LIST_POP(struct request *rq)
{
	struct list *l = list_of(rq);
	const msgpack_object *io = request_arg(rq, 1);
	size_t at;
	if (deque_len(&l->items) == 0) {
		reply_error(&rq->reply, IPCD_EINDEX, "pop from empty list");
		return;
	}
	if (list_norm_index(io ? list_arg_int(io) : -1, deque_len(&l->items), &at) < 0) {
		reply_error(&rq->reply, IPCD_EINDEX, "pop index out of range");
		return;
	}
	struct value *v = deque_remove(&l->items, at);
	reply_value(&rq->reply, v);
	value_free(v);
}

/* Pop from one end now, or park on poppers (EMPTY if the timeout is 0). */
static void list_blocking_pop(struct request *rq, int front)
{
	struct list *l = list_of(rq);
	if (deque_len(&l->items) == 0 || !request_is_next(rq, &l->poppers)) {
		(void)request_park(rq, &l->poppers, request_arg(rq, 1), IPCD_EEMPTY, "list is empty");
		return;
	}
	struct value *v = front ? deque_pop_front(&l->items) : deque_pop_back(&l->items);
	reply_value(&rq->reply, v);
	value_free(v);
}

/* list.blpop NAME [TIMEOUT] -> value | EMPTY | TIMEOUT */
void handle_LIST_BLPOP(struct request *rq)
{
	list_blocking_pop(rq, 1);
}

/* list.brpop NAME [TIMEOUT] -> value | EMPTY | TIMEOUT */
void handle_LIST_BRPOP(struct request *rq)
{
	list_blocking_pop(rq, 0);
}

/* list.remove NAME VALUE -> nil | NOVALUE */
void handle_LIST_REMOVE(struct request *rq)
{
	struct list *l = list_of(rq);
	int64_t at = list_find(&l->items, &rq->args[1], 0, deque_len(&l->items));
	if (at < 0) {
		reply_error(&rq->reply, IPCD_ENOVALUE, "list.remove(x): x not in list");
		return;
	}
	value_free(deque_remove(&l->items, (size_t)at));
	reply_nil(&rq->reply);
}

/* list.index NAME VALUE [START] [STOP] -> int | NOVALUE */
void handle_LIST_INDEX(struct request *rq)
{
	struct list *l = list_of(rq);
	int64_t b0, b1;
	size_t lo, hi;
	list_slice(list_opt_int(rq, 2, &b0), list_opt_int(rq, 3, &b1), deque_len(&l->items), &lo, &hi);
	int64_t at = list_find(&l->items, &rq->args[1], lo, hi);
	if (at < 0)
		reply_error(&rq->reply, IPCD_ENOVALUE, "value is not in list");
	else
		reply_int(&rq->reply, at);
}

/* list.count NAME VALUE -> int */
void handle_LIST_COUNT(struct request *rq)
{
	reply_int(&rq->reply, (int64_t)list_count(&list_of(rq)->items, &rq->args[1]));
}

/* list.get NAME INDEX -> value | INDEX */
void handle_LIST_GET(struct request *rq)
{
	struct list *l = list_of(rq);
	size_t at;
	if (list_norm_index(list_arg_int(&rq->args[1]), deque_len(&l->items), &at) < 0)
		reply_error(&rq->reply, IPCD_EINDEX, "list index out of range");
	else
		reply_value(&rq->reply, deque_at(&l->items, at));
}

/* list.set NAME INDEX VALUE -> nil | INDEX */
void handle_LIST_SET(struct request *rq)
{
	struct list *l = list_of(rq);
	size_t at;
	if (list_norm_index(list_arg_int(&rq->args[1]), deque_len(&l->items), &at) < 0) {
		reply_error(&rq->reply, IPCD_EINDEX, "list assignment index out of range");
		return;
	}
	struct value *v = request_value_or_reply(rq, &rq->args[2]);
	if (!v)
		return;
	value_free(deque_at(&l->items, at));
	deque_set(&l->items, at, v);
	reply_nil(&rq->reply);
}

/* list.range NAME [START] [STOP] -> array */
void handle_LIST_RANGE(struct request *rq)
{
	struct list *l = list_of(rq);
	int64_t b0, b1;
	size_t lo, hi;
	list_slice(list_opt_int(rq, 1, &b0), list_opt_int(rq, 2, &b1), deque_len(&l->items), &lo, &hi);
	list_pack_range(l, lo, hi, reply_ok(&rq->reply));
	reply_end(&rq->reply);
}

/* list.len NAME -> int */
void handle_LIST_LEN(struct request *rq)
{
	reply_int(&rq->reply, (int64_t)deque_len(&list_of(rq)->items));
}

/* list.clear NAME -> nil */
void handle_LIST_CLEAR(struct request *rq)
{
	rq->unchanged = deque_len(&list_of(rq)->items) == 0;
	list_free_items(list_of(rq));
	reply_nil(&rq->reply);
}

/* list.reverse NAME -> nil */
void handle_LIST_REVERSE(struct request *rq)
{
	deque_reverse(&list_of(rq)->items);
	reply_nil(&rq->reply);
}

/* list.contains NAME VALUE -> bool */
void handle_LIST_CONTAINS(struct request *rq)
{
	struct list *l = list_of(rq);
	reply_bool(&rq->reply, list_find(&l->items, &rq->args[1], 0, deque_len(&l->items)) >= 0);
}
