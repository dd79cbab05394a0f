/*
 * dict.c: the dict type, a Python dict from any value to any value.
 *
 * First part: the structure (see dict.h), shared with ns.c, and the number
 * rules of dict.incr; no sockets, unit-tested in tests/unit/test_dict.c.
 * Second part: the type operations. Third part: the op handlers.
 *
 * Keys are compared by canonical bytes (codec.h): 1 sent as fixint or as
 * uint16 is the same key, 1 and 1.0 are not. The key bytes kept in the omap
 * are packed back as they are by keys/items/popitem/dump.
 *
 * A write op changes the dict only after every allocation it needs has
 * succeeded (dict.update rolls back), so NOMEM leaves nothing half done.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dict.h"
#include "codec.h"
#include "decode.h"
#include "wire.h"
#include "value.h"
#include "dispatch.h"
#include "server.h"
#include "state.h"

/* ---- keys --------------------------------------------------------------- */

/* Canonical bytes of o, on the stack when they fit. */
int dict_key_init(struct dict_key *k, const msgpack_object *o, int store)
{
	if (store && decode_depth(o) > value_max_depth)
		return IPCD_EBADVALUE;
	k->len = decode_size(o);
	k->bytes = k->len <= sizeof(k->small) ? k->small : malloc(k->len);
	if (!k->bytes)
		return IPCD_ENOMEM;
	decode_encode_into(o, k->bytes);
	return 0;
}

/* Free a heap copy of the key bytes. */
void dict_key_deinit(struct dict_key *k)
{
	if (k->bytes != k->small)
		free(k->bytes);
	k->bytes = NULL;
}

/* What one key costs against max_memory: its bytes (as omap copies them).
 * Its entry and index slot are in the map's arrays, counted by capacity
 * (dict_arrays_mem): a small dict holds room for 8 entries, a grown one up
 * to twice what it uses, and a client making many must pay for that. */
static size_t dict_key_mem(size_t len)
{
	return value_alloc_cost(len);
}

/* Bytes arrays of ecap entries and icap index cells cost. */
static size_t dict_arrays_mem(size_t ecap, size_t icap)
{
	return (ecap ? value_alloc_cost(ecap * sizeof(struct omap_entry)) : 0) +
	       (icap ? value_alloc_cost(icap * sizeof(uint32_t)) : 0);
}

/* Count d's arrays for what they hold now (after an insert, a remove, a
 * shrink or a clear). */
static void dict_arrays_settle(struct dict *d)
{
	size_t now = dict_arrays_mem(d->map.cap_entries, d->map.index_cap);
	if (now > d->arrays_charged)
		value_mem_add(now - d->arrays_charged);
	else
		value_mem_sub(d->arrays_charged - now);
	d->arrays_charged = now;
}

/* Give back what a key was charged. */
static void dict_key_uncharge(size_t len)
{
	value_mem_sub(dict_key_mem(len));
}

/* ---- structure ---------------------------------------------------------- */

/* Value stored under the key bytes, or NULL. */
struct value *dict_find(const struct dict *d, const void *key, size_t len)
{
	struct omap_entry *e = omap_find(&d->map, key, len);
	return e ? e->val : NULL;
}

/*
 * Store v under key without freeing what it replaces: *old gets the previous
 * value (NULL if the key is new) and *seq the entry's seq (stable, unlike the
 * entry's address), so dict.update can undo. 0 or IPCD_ENOMEM (unchanged).
 */
static int dict_put(struct dict *d, const void *key, size_t len, struct value *v,
                    struct value **old, uint64_t *seq)
{
	struct omap_entry *e = omap_find(&d->map, key, len);
	int created;
	if (!e) {
		/* Charged before it grows the arrays, so that max_memory refuses the key. */
		size_t ecap, icap;
		omap_caps_after_insert(&d->map, &ecap, &icap);
		size_t after = dict_arrays_mem(ecap, icap), growth = after > d->arrays_charged ? after - d->arrays_charged : 0;
		if (value_mem_charge(dict_key_mem(len) + growth) < 0)
			return IPCD_ENOMEM;
		d->arrays_charged += growth;
		e = omap_upsert(&d->map, key, len, &created);
		if (!e)
			dict_key_uncharge(len);
		dict_arrays_settle(d);
		if (!e)
			return IPCD_ENOMEM;
	}
	*old = e->val;
	*seq = e->seq;
	e->val = v;
	return 0;
}

/* dict_put, then free the value it replaced. */
int dict_set(struct dict *d, const void *key, size_t len, struct value *v)
{
	struct value *old;
	uint64_t seq;
	int err = dict_put(d, key, len, v, &old, &seq);
	if (!err)
		value_free(old);
	return err;
}

/* Remove entry e; returns its value. */
static struct value *dict_remove_entry(struct dict *d, struct omap_entry *e)
{
	dict_key_uncharge(e->key_len);
	struct value *v = omap_remove(&d->map, e);
	dict_arrays_settle(d);   /* a remove may shrink them */
	return v;
}

/* Unlink key and hand its value to the caller. */
struct value *dict_del(struct dict *d, const void *key, size_t len)
{
	struct omap_entry *e = omap_find(&d->map, key, len);
	return e ? dict_remove_entry(d, e) : NULL;
}

/* Free every value and key; the dict stays usable. */
void dict_clear(struct dict *d)
{
	for (struct omap_entry *e = omap_seek(&d->map, 0); e; e = omap_next(&d->map, e)) {
		dict_key_uncharge(e->key_len);
		value_free(e->val);
		e->val = NULL;
	}
	omap_clear(&d->map, NULL);
	dict_arrays_settle(d);
}

/* Append bytes that are already msgpack to pk. */
void dict_pack_raw(msgpack_packer *pk, const void *p, size_t n)
{
	pk->callback(pk->data, p, n);
}

/* The dict as a map, in insertion order. */
void dict_pack(const struct dict *d, msgpack_packer *pk)
{
	msgpack_pack_map(pk, omap_count(&d->map));
	for (struct omap_entry *e = omap_seek(&d->map, 0); e; e = omap_next(&d->map, e)) {
		dict_pack_raw(pk, e->key, e->key_len);
		pack_value(pk, e->val);
	}
}

/* One page of a scan from cursor (an omap seq, 0 = the start), at most
 * count entries: [next cursor, keys | values | map], next cursor 0 at the end. */
void dict_pack_page(const struct dict *d, uint64_t cursor, uint64_t count, enum dict_page_what what,
                    msgpack_packer *pk)
{
	const struct omap *m = &d->map;
	struct omap_entry *first = omap_seek(m, cursor), *last = NULL, *e;
	uint32_t n = 0;
	for (e = first; e && n < count; e = omap_next(m, e), n++)
		last = e;
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint64(pk, e ? last->seq + 1 : 0);
	if (what == DICT_PAGE_ITEMS)
		msgpack_pack_map(pk, n);
	else
		msgpack_pack_array(pk, n);
	for (e = first; n > 0; e = omap_next(m, e), n--) {
		if (what != DICT_PAGE_VALUES)
			dict_pack_raw(pk, e->key, e->key_len);
		if (what != DICT_PAGE_KEYS)
			pack_value(pk, e->val);
	}
}

/* ---- numbers (dict.incr) ------------------------------------------------ */

/* An unsigned integer as INT when it fits int64, else BIG. */
static void dict_num_uint(uint64_t u, struct dict_num *n)
{
	memset(n, 0, sizeof(*n));
	if (u > INT64_MAX) {
		n->kind = DICT_NUM_BIG;
		n->u = u;
	} else {
		n->kind = DICT_NUM_INT;
		n->i = (int64_t)u;
	}
}

/* Decode a stored int or float from its (canonical) bytes. */
int dict_num_of_value(const struct value *v, struct dict_num *n)
{
	struct wire_num num;
	if (wire_read_number(v->data, v->len, &num))
		return IPCD_ENOTNUMBER;
	if (num.kind == WIRE_UINT) {
		dict_num_uint(num.u, n);
		return 0;
	}
	memset(n, 0, sizeof(*n));
	if (num.kind == WIRE_INT) {
		n->i = num.i;
	} else {
		n->kind = DICT_NUM_FLOAT;
		n->f = num.f;
	}
	return 0;
}

/* A number from an argument that passed the 'n' signature check. */
void dict_num_of_obj(const msgpack_object *o, struct dict_num *n)
{
	memset(n, 0, sizeof(*n));
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		dict_num_uint(o->via.u64, n);
	} else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		n->i = o->via.i64;
	} else {
		n->kind = DICT_NUM_FLOAT;
		n->f = o->via.f64;
	}
}

/* Any number as a double, for mixed float arithmetic. */
static double dict_num_double(const struct dict_num *n)
{
	return n->kind == DICT_NUM_FLOAT ? n->f : n->kind == DICT_NUM_BIG ? (double)n->u : (double)n->i;
}

/* Add with Python's int/float rules, ints bounded to int64. */
int dict_num_add(const struct dict_num *a, const struct dict_num *b, struct dict_num *out)
{
	memset(out, 0, sizeof(*out));
	if (a->kind == DICT_NUM_FLOAT || b->kind == DICT_NUM_FLOAT) {
		out->kind = DICT_NUM_FLOAT;
		out->f = dict_num_double(a) + dict_num_double(b);
		if (!isfinite(out->f))   /* NUMBER arguments are finite; so is what incr stores */
			return IPCD_EOVERFLOW;
		return 0;
	}
	if (a->kind == DICT_NUM_INT && b->kind == DICT_NUM_INT)
		return __builtin_add_overflow(a->i, b->i, &out->i) ? IPCD_EOVERFLOW : 0;
	/* A BIG (> INT64_MAX) only comes back into range with a negative other. */
	const struct dict_num *big = a->kind == DICT_NUM_BIG ? a : b, *other = big == a ? b : a;
	if (other->kind == DICT_NUM_BIG || other->i >= 0)
		return IPCD_EOVERFLOW;
	uint64_t r = big->u - ((uint64_t)(-(other->i + 1)) + 1);
	if (r > INT64_MAX)
		return IPCD_EOVERFLOW;
	out->i = (int64_t)r;
	return 0;
}

/* A result as a msgpack object for value_new. */
void dict_num_to_obj(const struct dict_num *n, msgpack_object *o)
{
	memset(o, 0, sizeof(*o));
	if (n->kind == DICT_NUM_FLOAT) {
		o->type = MSGPACK_OBJECT_FLOAT64;
		o->via.f64 = n->f;
	} else if (n->i >= 0) {
		o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
		o->via.u64 = (uint64_t)n->i;
	} else {
		o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
		o->via.i64 = n->i;
	}
}

/* ---- type operations ---------------------------------------------------- */

/* An empty dict in o. */
void dict_obj_init(struct object *o)
{
	omap_init(&o->u.dict.map);
	o->u.dict.arrays_charged = 0;
}

/* True for no options: none, or an empty map. */
int dict_obj_no_options(const msgpack_object *opts)
{
	return !opts || (opts->type == MSGPACK_OBJECT_MAP && opts->via.map.size == 0);
}

/* Dicts have no options, so only "none" matches. */
int dict_obj_same_options(const struct object *o, const msgpack_object *opts)
{
	return dict_obj_no_options(opts);
}

/* Free every key, value and the map's arrays. */
void dict_obj_deinit(struct object *o)
{
	dict_clear(&o->u.dict);
	omap_free(&o->u.dict.map, NULL);
	dict_arrays_settle(&o->u.dict);
}

/* Number of keys. */
uint64_t dict_obj_size(const struct object *o)
{
	return omap_count(&o->u.dict.map);
}

/* The whole dict as a map. */
void dict_obj_dump(const struct object *o, msgpack_packer *pk)
{
	dict_pack(&o->u.dict, pk);
}

/* One page of the dict as [next cursor, map], as dict.items pages it. */
void dict_obj_dump_page(const struct object *o, uint64_t cursor, uint64_t count, msgpack_packer *pk)
{
	dict_pack_page(&o->u.dict, cursor, count, DICT_PAGE_ITEMS, pk);
}

/* No options: an empty map. */
void dict_obj_pack_options(const struct object *o, msgpack_packer *pk)
{
	msgpack_pack_map(pk, 0);
}

/* Dict ops never park, so there is no one to wake. */
void dict_obj_cancel_waiters(struct object *o)
{
}

/* Always 0: dict ops never park. */
uint32_t dict_obj_waiting(const struct object *o)
{
	return 0;
}

/* Set up an empty dict; a dict takes no options. */
static int dict_type_init(struct object *o, const msgpack_object *opts, const char **why)
{
	if (!dict_obj_no_options(opts)) {
		*why = "dict takes no options";
		return IPCD_EBADARG;
	}
	dict_obj_init(o);
	return 0;
}

/* Snapshot: key and value bytes, two bin entries per key, in insertion order. */
int dict_obj_save(const struct object *o, struct state_saver *s)
{
	const struct omap *m = &o->u.dict.map;
	const struct omap_entry *e = omap_seek(m, 0);
	size_t left = omap_count(m);
	while (left > 0) {
		size_t n = left < STATE_CONTENT_CHUNK ? left : STATE_CONTENT_CHUNK;
		msgpack_packer *pk = state_save_content(s, o, 0, (uint32_t)(2 * n));
		for (size_t i = 0; i < n; i++, e = omap_next(m, e)) {
			const struct value *v = e->val;
			msgpack_pack_bin(pk, e->key_len);
			msgpack_pack_bin_body(pk, e->key, e->key_len);
			msgpack_pack_bin(pk, v->len);
			msgpack_pack_bin_body(pk, v->data, v->len);
		}
		if (state_save_end(s) < 0)
			return -1;
		left -= n;
	}
	return 0;
}

int dict_obj_restore(struct object *o, unsigned kind, const msgpack_object *entries)
{
	const msgpack_object *e = entries->via.array.ptr;
	if (kind != 0 || entries->via.array.size % 2)
		return -1;
	for (uint32_t i = 0; i < entries->via.array.size; i += 2) {
		struct value *v;
		if (e[i].type != MSGPACK_OBJECT_BIN || e[i + 1].type != MSGPACK_OBJECT_BIN ||
		    value_new_raw(e[i + 1].via.bin.ptr, e[i + 1].via.bin.size, &v))
			return -1;
		if (dict_set(&o->u.dict, e[i].via.bin.ptr, e[i].via.bin.size, v)) {
			value_free(v);
			return -1;
		}
	}
	return 0;
}

const struct object_type dict_type = {
	.save = dict_obj_save,
	.restore = dict_obj_restore,
	.init = dict_type_init,
	.same_options = dict_obj_same_options,
	.deinit = dict_obj_deinit,
	.size = dict_obj_size,
	.dump = dict_obj_dump,
	.dump_page = dict_obj_dump_page,
	.pack_options = dict_obj_pack_options,
	.cancel_waiters = dict_obj_cancel_waiters,
	.waiting = dict_obj_waiting,
};

/* ---- handlers ----------------------------------------------------------- */

/* One message per error code the dict helpers return. */
void dict_reply_error(struct request *rq, int code)
{
	if (code == IPCD_ENOMEM)
		reply_nomem(&rq->reply);
	else if (code == IPCD_EBADVALUE)
		reply_error(&rq->reply, code, "key nested deeper than max_depth (%u)", value_max_depth);
	else
		reply_error(&rq->reply, code, "%s", proto_error_message(code));
}

/* The dict a request works on. */
static struct dict *dict_of(struct request *rq)
{
	return &rq->obj->u.dict;
}

/* Key from argument o; on failure replies and returns -1. */
static int dict_key_or_reply(struct request *rq, const msgpack_object *o, int store, struct dict_key *k)
{
	int err = dict_key_init(k, o, store);
	if (err)
		dict_reply_error(rq, err);
	return err ? -1 : 0;
}

/* Reply a request argument as the result, as it came. */
static void dict_reply_obj(struct request *rq, const msgpack_object *o)
{
	msgpack_pack_object(reply_ok(&rq->reply), *o);
	reply_end(&rq->reply);
}

/* Store argument o under k as a new value; on failure replies and returns NULL. */
struct value *dict_store_or_reply(struct request *rq, const struct dict_key *k,
                                         const msgpack_object *o)
{
	struct value *v = request_value_or_reply(rq, o);
	int err = v ? dict_set(dict_of(rq), k->bytes, k->len, v) : 0;
	if (err) {
		value_free(v);
		dict_reply_error(rq, err);
		return NULL;
	}
	return v;
}

/* NOKEY naming the key (args[1]): a str quoted and cut to DICT_QUOTE_MAX
 * bytes, an integer as a number, any other key by its type. */
#define DICT_QUOTE_MAX 64
static void dict_reply_nokey(struct request *rq)
{
	const msgpack_object *k = &rq->args[1];
	if (k->type == MSGPACK_OBJECT_STR) {
		int n = k->via.str.size > DICT_QUOTE_MAX ? DICT_QUOTE_MAX : (int)k->via.str.size;
		reply_error(&rq->reply, IPCD_ENOKEY, "no key '%.*s'", n, k->via.str.ptr);
	} else if (k->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		reply_error(&rq->reply, IPCD_ENOKEY, "no key %llu", (unsigned long long)k->via.u64);
	} else if (k->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		reply_error(&rq->reply, IPCD_ENOKEY, "no key %lld", (long long)k->via.i64);
	} else {
		static const char *const kinds[] = {
			[MSGPACK_OBJECT_NIL] = "nil", [MSGPACK_OBJECT_BOOLEAN] = "bool", [MSGPACK_OBJECT_FLOAT32] = "float",
			[MSGPACK_OBJECT_FLOAT64] = "float", [MSGPACK_OBJECT_ARRAY] = "array", [MSGPACK_OBJECT_MAP] = "map",
			[MSGPACK_OBJECT_BIN] = "bin", [MSGPACK_OBJECT_EXT] = "ext",
		};
		const char *kind = (size_t)k->type < sizeof(kinds) / sizeof(kinds[0]) && kinds[k->type] ? kinds[k->type] : "other";
		reply_error(&rq->reply, IPCD_ENOKEY, "no such key (a %s key)", kind);
	}
}

/* Reply v, else the DEFAULT argument (args[2]) when given, else NOKEY. */
static void dict_reply_found(struct request *rq, const struct value *v)
{
	if (v)
		reply_value(&rq->reply, v);
	else if (rq->nargs == 3)
		dict_reply_obj(rq, &rq->args[2]);
	else
		dict_reply_nokey(rq);
}

/* dict.set NAME KEY VALUE -> nil */
void handle_DICT_SET(struct request *rq)
{
	struct dict_key k;
	if (dict_key_or_reply(rq, &rq->args[1], 1, &k) < 0)
		return;
	if (dict_store_or_reply(rq, &k, &rq->args[2]))
		reply_nil(&rq->reply);
	dict_key_deinit(&k);
}

/* dict.get NAME KEY [DEFAULT] -> value | DEFAULT | NOKEY */
void handle_DICT_GET(struct request *rq)
{
	struct dict_key k;
	if (dict_key_or_reply(rq, &rq->args[1], 0, &k) < 0)
		return;
	dict_reply_found(rq, dict_find(dict_of(rq), k.bytes, k.len));
	dict_key_deinit(&k);
}

/* dict.del NAME KEY -> nil | NOKEY */
void handle_DICT_DEL(struct request *rq)
{
	struct dict_key k;
	if (dict_key_or_reply(rq, &rq->args[1], 0, &k) < 0)
		return;
	struct value *v = dict_del(dict_of(rq), k.bytes, k.len);
	if (v)
		reply_nil(&rq->reply);
	else
		dict_reply_nokey(rq);
	value_free(v);
	dict_key_deinit(&k);
}

/* dict.pop NAME KEY [DEFAULT] -> value | DEFAULT | NOKEY */
void handle_DICT_POP(struct request *rq)
{
	struct dict_key k;
	if (dict_key_or_reply(rq, &rq->args[1], 0, &k) < 0)
		return;
	struct value *v = dict_del(dict_of(rq), k.bytes, k.len);
	dict_reply_found(rq, v);
	value_free(v);
	dict_key_deinit(&k);
}

/* dict.popitem NAME -> [key, value] | NOKEY */
void handle_DICT_POPITEM(struct request *rq)
{
	struct dict *d = dict_of(rq);
	struct omap_entry *e = omap_last(&d->map);
	if (!e) {
		reply_error(&rq->reply, IPCD_ENOKEY, "dictionary is empty");
		return;
	}
	msgpack_packer *pk = reply_ok(&rq->reply);
	msgpack_pack_array(pk, 2);
	dict_pack_raw(pk, e->key, e->key_len);
	pack_value(pk, e->val);
	reply_end(&rq->reply);
	value_free(dict_remove_entry(d, e));
}

/* dict.setdefault NAME KEY DEFAULT -> value */
void handle_DICT_SETDEFAULT(struct request *rq)
{
	struct dict *d = dict_of(rq);
	struct dict_key k;
	if (dict_key_or_reply(rq, &rq->args[1], 1, &k) < 0)
		return;
	struct value *v = dict_find(d, k.bytes, k.len);
	if (!v)
		v = dict_store_or_reply(rq, &k, &rq->args[2]);
	if (v)
		reply_value(&rq->reply, v);
	dict_key_deinit(&k);
}

/* One pair of dict.update: its new value, and what to undo on failure. */
struct dict_update {
	struct value *v;
	struct value *old;   /* replaced value, NULL if the key was added */
	uint64_t seq;        /* entry's seq, to find it again */
};

/* Undo pairs [0, n) of an update, newest first, and free the new values. */
static void dict_update_undo(struct dict *d, struct dict_update *u, size_t n, size_t n_values)
{
	for (size_t i = n; i > 0; i--) {
		struct omap_entry *e = omap_seek(&d->map, u[i - 1].seq);
		if (u[i - 1].old)
			e->val = u[i - 1].old;
		else
			(void)dict_remove_entry(d, e);
	}
	for (size_t i = 0; i < n_values; i++)
		value_free(u[i].v);
}

/* Apply every pair of map m, or none: 0, or an error code (already undone). */
static int dict_update_apply(struct dict *d, const msgpack_object_map *m, struct dict_update *u)
{
	for (uint32_t i = 0; i < m->size; i++) {
		struct dict_key k;
		int err = dict_key_init(&k, &m->ptr[i].key, 1);
		if (!err) {
			err = dict_put(d, k.bytes, k.len, u[i].v, &u[i].old, &u[i].seq);
			dict_key_deinit(&k);
		}
		if (err) {
			dict_update_undo(d, u, i, m->size);
			return err;
		}
	}
	for (uint32_t i = 0; i < m->size; i++)
		value_free(u[i].old);
	return 0;
}

/* dict.update NAME MAP -> length; every key is set or none. */
void handle_DICT_UPDATE(struct request *rq)
{
	struct dict *d = dict_of(rq);
	const msgpack_object_map *m = &rq->args[1].via.map;
	struct dict_update *u = calloc(m->size ? m->size : 1, sizeof(*u));
	rq->unchanged = m->size == 0;   /* an empty update leaves no dict on a free name */
	if (!u) {
		dict_reply_error(rq, IPCD_ENOMEM);
		return;
	}
	uint32_t made = 0;
	while (made < m->size && (u[made].v = request_value_or_reply(rq, &m->ptr[made].val)) != NULL)
		made++;
	if (made < m->size) {
		dict_update_undo(d, u, 0, made);   /* the error is already replied */
	} else {
		int err = dict_update_apply(d, m, u);
		if (err)
			dict_reply_error(rq, err);
		else
			reply_int(&rq->reply, (int64_t)omap_count(&d->map));
	}
	free(u);
}

/* Reply one page of a scan: [next cursor, keys | values | map]. */
static void dict_page(struct request *rq, enum dict_page_what what)
{
	const msgpack_object *co = request_arg(rq, 1);
	uint64_t count;
	if (request_page_count_or_reply(rq, request_arg(rq, 2), &count) < 0)
		return;
	dict_pack_page(dict_of(rq), co ? co->via.u64 : 0, count, what, reply_ok(&rq->reply));
	reply_end(&rq->reply);
}

/* dict.keys NAME [CURSOR] [COUNT] -> [cursor, keys] */
void handle_DICT_KEYS(struct request *rq)
{
	dict_page(rq, DICT_PAGE_KEYS);
}

/* dict.values NAME [CURSOR] [COUNT] -> [cursor, values] */
void handle_DICT_VALUES(struct request *rq)
{
	dict_page(rq, DICT_PAGE_VALUES);
}

/* dict.items NAME [CURSOR] [COUNT] -> [cursor, map] */
void handle_DICT_ITEMS(struct request *rq)
{
	dict_page(rq, DICT_PAGE_ITEMS);
}

/* dict.len NAME -> int */
void handle_DICT_LEN(struct request *rq)
{
	reply_int(&rq->reply, (int64_t)omap_count(&dict_of(rq)->map));
}

/* dict.contains NAME KEY -> bool */
void handle_DICT_CONTAINS(struct request *rq)
{
	struct dict_key k;
	if (dict_key_or_reply(rq, &rq->args[1], 0, &k) < 0)
		return;
	reply_bool(&rq->reply, dict_find(dict_of(rq), k.bytes, k.len) != NULL);
	dict_key_deinit(&k);
}

/* dict.clear NAME -> nil */
void handle_DICT_CLEAR(struct request *rq)
{
	rq->unchanged = omap_count(&dict_of(rq)->map) == 0;
	dict_clear(dict_of(rq));
	reply_nil(&rq->reply);
}

/* New value of KEY after adding delta: 0 and *out, or an error code. */
static int dict_incr_value(struct dict *d, const struct dict_key *k, const msgpack_object *delta,
                           struct value **out)
{
	struct dict_num cur = { .kind = DICT_NUM_INT }, by = { .kind = DICT_NUM_INT, .i = 1 }, sum;
	struct value *old = dict_find(d, k->bytes, k->len);
	msgpack_object o;
	int err = old ? dict_num_of_value(old, &cur) : 0;
	if (delta)
		dict_num_of_obj(delta, &by);
	if (!err)
		err = dict_num_add(&cur, &by, &sum);
	if (err)
		return err;
	dict_num_to_obj(&sum, &o);
	return value_new(&o, out);
}

/* dict.incr NAME KEY [DELTA] -> number | NOTNUMBER | OVERFLOW */
void handle_DICT_INCR(struct request *rq)
{
	struct dict *d = dict_of(rq);
	struct dict_key k;
	struct value *v = NULL;
	if (dict_key_or_reply(rq, &rq->args[1], 1, &k) < 0)
		return;
	int err = dict_incr_value(d, &k, request_arg(rq, 2), &v);
	if (!err && (err = dict_set(d, k.bytes, k.len, v)) != 0)
		value_free(v);
	if (err == IPCD_ENOTNUMBER)
		reply_error(&rq->reply, err, "dict.incr: value is not a number");
	else if (err == IPCD_EOVERFLOW)
		reply_error(&rq->reply, err, "dict.incr: result does not fit a 64-bit signed integer");
	else if (err)
		dict_reply_error(rq, err);
	else
		reply_value(&rq->reply, v);
	dict_key_deinit(&k);
}

/* dict.cas NAME KEY EXPECTED NEW -> bool; a missing key holds nil. */
void handle_DICT_CAS(struct request *rq)
{
	struct dict *d = dict_of(rq);
	struct dict_key k;
	if (!request_values_storable(rq, &rq->args[3], 1) || dict_key_or_reply(rq, &rq->args[1], 1, &k) < 0)
		return;
	struct value *cur = dict_find(d, k.bytes, k.len);
	int same = cur ? value_equals_obj(cur, &rq->args[2]) : rq->args[2].type == MSGPACK_OBJECT_NIL;
	if (!same) {
		rq->unchanged = 1;   /* on a free name, no dict is left by a failed swap */
		reply_bool(&rq->reply, 0);
	} else if (dict_store_or_reply(rq, &k, &rq->args[3]))
		reply_bool(&rq->reply, 1);
	dict_key_deinit(&k);
}
