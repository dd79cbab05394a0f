/*
 * shared_array.c: the value and array types, fixed-length arrays of one C
 * number type named by a Python array typecode, that clients may map.
 *
 * The elements live in a memfd sealed against shrinking and growing, mapped
 * read-write by the daemon; value.map and array.map hand the memfd to a
 * client with the reply (SCM_RIGHTS, server.h: client_attach_fd), either as
 * a read-only open of it or, for a requester with w access, the read-write
 * one. The server's ops and the clients' mappings work on the same bytes
 * with the same atomics: every element access here is a C11 sequentially
 * consistent atomic on the element (__atomic builtins), so a server-side add
 * and a mapped add never lose each other's updates.
 *
 * A value is an array of length 1 with its own ops (PROTO_T_VALUE); both
 * types share everything below the handlers.
 *
 * Persistence: server-side writes are logged as requests (state.h) and
 * replayed through these handlers; a snapshot writes the bytes. Writes
 * through a mapping are not in the log: they reach the disk with the next
 * snapshot (a clean stop writes one when a read-write mapping was handed
 * out). A snapshot must be a cut of the state at the point in the log where
 * it was taken, but the snapshot child sees the shared pages change after it
 * forked; so the bytes are copied, in the daemon, just before the fork
 * (pthread_atfork) and the child saves the copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <unistd.h>
#include "access.h"
#include "config.h"
#include "dispatch.h"
#include "log.h"
#include "object.h"
#include "registry.h"
#include "shared_array.h"
#include "server.h"
#include "state.h"
#include "value.h"
#include "elem.h"

/* ---- element types ------------------------------------------------------ */

enum sa_kind { SA_SIGNED, SA_UNSIGNED, SA_FLOAT, SA_BYTE };

struct sa_type {
	char code;
	uint8_t size;
	enum sa_kind kind;
	const char *range;      /* for OVERFLOW messages */
};

/* Python's array typecodes on x86_64 Linux (l and L are 8 bytes, as C's
 * long there), and the Manager's 'c' (one byte). */
static const struct sa_type sa_types[] = {
	{ 'b', 1, SA_SIGNED, "-128..127" },            { 'B', 1, SA_UNSIGNED, "0..255" },
	{ 'h', 2, SA_SIGNED, "-32768..32767" },        { 'H', 2, SA_UNSIGNED, "0..65535" },
	{ 'i', 4, SA_SIGNED, "-2^31..2^31-1" },        { 'I', 4, SA_UNSIGNED, "0..2^32-1" },
	{ 'l', 8, SA_SIGNED, "-2^63..2^63-1" },        { 'L', 8, SA_UNSIGNED, "0..2^64-1" },
	{ 'q', 8, SA_SIGNED, "-2^63..2^63-1" },        { 'Q', 8, SA_UNSIGNED, "0..2^64-1" },
	{ 'f', 4, SA_FLOAT, "" },                      { 'd', 8, SA_FLOAT, "" },
	{ 'c', 1, SA_BYTE, "" },
};

static const struct sa_type *sa_type_of(char code)
{
	for (size_t i = 0; i < sizeof(sa_types) / sizeof(sa_types[0]); i++)
		if (sa_types[i].code == code)
			return &sa_types[i];
	return NULL;
}

/* An element's bits, zero-extended to 64 (elem.h: atomic, seq_cst). */
static uint64_t sa_load(const struct shared_array *a, uint64_t i)
{
	return elem_load((char *)a->data + i * a->itemsize, a->itemsize);
}

static void sa_store(struct shared_array *a, uint64_t i, uint64_t bits)
{
	elem_store((char *)a->data + i * a->itemsize, a->itemsize, bits);
}

/* Compare-and-swap element i: 1 if it held *expected and now holds desired;
 * else 0 with what it holds in *expected. */
static int sa_cas(struct shared_array *a, uint64_t i, uint64_t *expected, uint64_t desired)
{
	return elem_cas((char *)a->data + i * a->itemsize, a->itemsize, expected, desired);
}

/* The signed value of an element's bits. */
static int64_t sa_signed(const struct sa_type *t, uint64_t bits)
{
	return elem_signed(bits, t->size);
}

static double sa_double(const struct sa_type *t, uint64_t bits)
{
	return elem_bits_double(bits, t->size);
}

static uint64_t sa_float_bits(const struct sa_type *t, double d)
{
	return elem_double_bits(d, t->size);
}

/* Pack an element as the wire gives it: an int, a float64, or bin of one byte. */
static void sa_pack(msgpack_packer *pk, const struct sa_type *t, uint64_t bits)
{
	switch (t->kind) {
	case SA_SIGNED: msgpack_pack_int64(pk, sa_signed(t, bits)); break;
	case SA_UNSIGNED: msgpack_pack_uint64(pk, bits); break;
	case SA_FLOAT: msgpack_pack_double(pk, sa_double(t, bits)); break;
	case SA_BYTE: {
		char b = (char)bits;
		msgpack_pack_bin(pk, 1);
		msgpack_pack_bin_body(pk, &b, 1);
		break;
	}
	}
}

/* An integer argument (bool counts as 0 or 1) as a 65-bit number. */
static int sa_int_of(const msgpack_object *o, __int128 *v)
{
	switch (o->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER: *v = o->via.u64; return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: *v = o->via.i64; return 0;
	case MSGPACK_OBJECT_BOOLEAN: *v = o->via.boolean; return 0;
	default: return -1;
	}
}

/* v as t's bits, or -1 if t cannot hold it. */
static int sa_int_bits(const struct sa_type *t, __int128 v, uint64_t *bits)
{
	unsigned b = 8u * t->size;
	__int128 lo = t->kind == SA_SIGNED ? -((__int128)1 << (b - 1)) : 0;
	__int128 hi = t->kind == SA_SIGNED ? ((__int128)1 << (b - 1)) - 1 : ((__int128)1 << b) - 1;
	if (v < lo || v > hi)
		return -1;
	*bits = (uint64_t)v & (b == 64 ? UINT64_MAX : (((uint64_t)1 << b) - 1));
	return 0;
}

/* An argument as element bits of t: integers for the integer typecodes,
 * numbers for f and d, a one-byte bin or str for c. On failure replies
 * (BADVALUE, OVERFLOW) and returns -1. */
static int sa_bits_or_reply(struct request *rq, const struct sa_type *t, const msgpack_object *o, uint64_t *bits)
{
	__int128 v;
	switch (t->kind) {
	case SA_SIGNED:
	case SA_UNSIGNED:
		if (sa_int_of(o, &v) < 0) {
			reply_error(&rq->reply, IPCD_EBADVALUE, "typecode '%c' holds integers", t->code);
			return -1;
		}
		if (sa_int_bits(t, v, bits) < 0) {
			reply_error(&rq->reply, IPCD_EOVERFLOW, "out of range for typecode '%c' (%s)", t->code, t->range);
			return -1;
		}
		return 0;
	case SA_FLOAT:
		if (o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32) {
			*bits = sa_float_bits(t, o->via.f64);
			return 0;
		}
		if (sa_int_of(o, &v) < 0) {
			reply_error(&rq->reply, IPCD_EBADVALUE, "typecode '%c' holds numbers", t->code);
			return -1;
		}
		*bits = sa_float_bits(t, (double)v);
		return 0;
	case SA_BYTE:
		if ((o->type == MSGPACK_OBJECT_BIN || o->type == MSGPACK_OBJECT_STR) && o->via.bin.size == 1) {
			*bits = (uint8_t)o->via.bin.ptr[0];
			return 0;
		}
		reply_error(&rq->reply, IPCD_EBADVALUE, "typecode 'c' holds one byte (a bin or str of length 1)");
		return -1;
	}
	return -1;
}

/* ---- the data structure --------------------------------------------------- */

/* Every array with memory, for the copy before a snapshot forks. */
struct sa_node {
	LIST_ENTRY(sa_node) link;
	struct shared_array *a;
};
static LIST_HEAD(, sa_node) sa_all = LIST_HEAD_INITIALIZER(sa_all);
static int sa_writable_mapped;   /* a read-write mapping was handed out since the last snapshot */

static size_t sa_bytes(const struct shared_array *a)
{
	return (size_t)a->length * a->itemsize;
}

/* Before fork: copy each array (element by element, atomically: mappings
 * write meanwhile), so that the snapshot child saves the bytes as they were
 * at the fork, the point in the log the snapshot stands for. */
static void sa_before_fork(void)
{
	struct sa_node *n;
	LIST_FOREACH(n, &sa_all, link) {
		struct shared_array *a = n->a;
		char *copy = malloc(sa_bytes(a));
		if (copy) {
			for (uint64_t i = 0; i < a->length; i++) {
				uint64_t bits = sa_load(a, i);
				memcpy(copy + i * a->itemsize, &bits, a->itemsize);  /* little-endian: the low bytes */
			}
		}
		a->saved = copy;
	}
}

/* In the daemon after fork: the copies are the child's. */
static void sa_after_fork_parent(void)
{
	struct sa_node *n;
	LIST_FOREACH(n, &sa_all, link) {
		free(n->a->saved);
		n->a->saved = NULL;
	}
	sa_writable_mapped = 0;
}

int shared_array_unsaved_mapped_writes(void)
{
	return sa_writable_mapped;
}

/* A new memfd of bytes, mapped; 0 or an errno. */
static int sa_alloc(struct shared_array *a, const char *name)
{
	static int atfork_done;
	size_t bytes = sa_bytes(a);
	struct sa_node *node = malloc(sizeof(*node));
	if (!node)
		return ENOMEM;
	if (!atfork_done) {
		pthread_atfork(sa_before_fork, sa_after_fork_parent, NULL);
		atfork_done = 1;
	}
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		goto fail;
	/* Readers get a read-only open of this memfd (sa_open_fd); 0400 keeps
	 * them from opening it again for writing through /proc. */
	if (ftruncate(fd, (off_t)bytes) < 0 || fchmod(fd, 0400) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto fail;
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	a->data = p;
	a->fd_rw = fd;
	node->a = a;
	LIST_INSERT_HEAD(&sa_all, node, link);
	return 0;
fail:;
	int err = errno;
	if (fd >= 0)
		close(fd);
	free(node);
	return err ? err : ENOMEM;
}

static void sa_free(struct shared_array *a)
{
	if (!a->data)
		return;
	struct sa_node *n;
	LIST_FOREACH(n, &sa_all, link) {
		if (n->a == a) {
			LIST_REMOVE(n, link);
			free(n);
			break;
		}
	}
	munmap(a->data, sa_bytes(a));
	close(a->fd_rw);
	free(a->saved);
	value_mem_sub(sa_bytes(a));
	a->data = NULL;
}

/* A descriptor for a client to map: the memfd itself (writable), or a new
 * read-only open of it, through which no writable mapping can be made. */
static int sa_open_fd(const struct shared_array *a, int writable)
{
	if (writable)
		return fcntl(a->fd_rw, F_DUPFD_CLOEXEC, 0);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", a->fd_rw);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* ---- type operations ------------------------------------------------------ */

static const char *const sa_option_keys[] = { "typecode", "length", "init", NULL };

/*
 * Options: typecode (required), and for an array length or init (an array
 * of elements; a value's init is one element); elements start at 0.
 */
static int sa_init(struct object *o, const msgpack_object *opts, const char **why)
{
	static char msg[160];
	struct shared_array *a = &o->u.array;
	int is_value = o->type == PROTO_T_VALUE;
	const msgpack_object *tc = NULL, *len = NULL, *init = NULL;
	memset(a, 0, sizeof(*a));
	if (!opts) {
		*why = is_value ? "a value needs option typecode: create NAME value {\"typecode\": \"i\"}"
		                : "an array needs options typecode and length or init: "
		                  "create NAME array {\"typecode\": \"i\", \"length\": 10}";
		return IPCD_EBADARG;
	}
	for (uint32_t i = 0; i < opts->via.map.size; i++) {
		const msgpack_object_kv *kv = &opts->via.map.ptr[i];
		int known = 0;
		for (int k = 0; sa_option_keys[k]; k++) {
			if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen(sa_option_keys[k]) &&
			    memcmp(kv->key.via.str.ptr, sa_option_keys[k], kv->key.via.str.size) == 0) {
				const msgpack_object **slot = k == 0 ? &tc : k == 1 ? &len : &init;
				*slot = &kv->val;
				known = 1;
			}
		}
		if (!known || (is_value && len)) {
			*why = is_value ? "unknown value option (values take: typecode, init)"
			                : "unknown array option (arrays take: typecode, length, init)";
			return IPCD_EBADARG;
		}
	}
	const struct sa_type *t = NULL;
	if (tc && tc->type == MSGPACK_OBJECT_STR && tc->via.str.size == 1)
		t = sa_type_of(tc->via.str.ptr[0]);
	if (!t) {
		*why = "option typecode must be one of b B h H i I l L q Q f d c";
		return IPCD_EBADARG;
	}
	uint64_t n = 1;
	if (!is_value) {
		if (len && init) {
			*why = "give an array length or init, not both";
			return IPCD_EBADARG;
		}
		if (len && (len->type != MSGPACK_OBJECT_POSITIVE_INTEGER || len->via.u64 == 0)) {
			*why = "array option length must be an integer >= 1";
			return IPCD_EBADARG;
		}
		if (init && (init->type != MSGPACK_OBJECT_ARRAY || init->via.array.size == 0)) {
			*why = "array option init must be a non-empty array of elements";
			return IPCD_EBADARG;
		}
		if (!len && !init) {
			*why = "an array needs option length or init";
			return IPCD_EBADARG;
		}
		n = len ? len->via.u64 : init->via.array.size;
	}
	if (n > config.max_array_bytes / t->size) {
		snprintf(msg, sizeof(msg), "%llu elements of %u bytes are over max_array_bytes (%llu)",
		         (unsigned long long)n, t->size, (unsigned long long)config.max_array_bytes);
		*why = msg;
		return IPCD_EBADARG;
	}
	/* The elements are checked before anything is allocated. */
	const msgpack_object *elems = init ? (is_value ? init : init->via.array.ptr) : NULL;
	uint32_t nelems = init ? (is_value ? 1 : init->via.array.size) : 0;
	for (uint32_t i = 0; i < nelems; i++) {
		uint64_t bits;
		__int128 v;
		int bad = t->kind == SA_BYTE ? !((elems[i].type == MSGPACK_OBJECT_BIN || elems[i].type == MSGPACK_OBJECT_STR) &&
		                                 elems[i].via.bin.size == 1)
		        : t->kind == SA_FLOAT ? !(elems[i].type == MSGPACK_OBJECT_FLOAT64 || elems[i].type == MSGPACK_OBJECT_FLOAT32 ||
		                                  sa_int_of(&elems[i], &v) == 0)
		        : sa_int_of(&elems[i], &v) < 0 || sa_int_bits(t, v, &bits) < 0;
		if (bad) {
			snprintf(msg, sizeof(msg), "init element %u does not fit typecode '%c'%s%s", i, t->code,
			         *t->range ? " " : "", t->range);
			*why = msg;
			return IPCD_EBADARG;
		}
	}
	if (registry_count_type(PROTO_T_VALUE) + registry_count_type(PROTO_T_ARRAY) >= config.max_arrays &&
	    !state_replaying) {
		snprintf(msg, sizeof(msg), "max_arrays (%llu) reached", (unsigned long long)config.max_arrays);
		*why = msg;
		return IPCD_ENOMEM;
	}
	a->typecode = t->code;
	a->itemsize = t->size;
	a->length = n;
	if (value_mem_charge(sa_bytes(a)) < 0) {
		snprintf(msg, sizeof(msg), "max_memory (%zu bytes) reached", value_mem_limit);
		*why = msg;
		memset(a, 0, sizeof(*a));
		return IPCD_ENOMEM;
	}
	int err = sa_alloc(a, o->name);
	if (err) {
		value_mem_sub(sa_bytes(a));
		snprintf(msg, sizeof(msg), "shared memory: %s", strerror(err));
		*why = msg;
		memset(a, 0, sizeof(*a));
		return IPCD_ENOMEM;
	}
	for (uint32_t i = 0; i < nelems; i++) {
		uint64_t bits = 0;
		__int128 v;
		if (t->kind == SA_BYTE)
			bits = (uint8_t)elems[i].via.bin.ptr[0];
		else if (t->kind == SA_FLOAT)
			bits = sa_float_bits(t, sa_int_of(&elems[i], &v) == 0 ? (double)v : elems[i].via.f64);
		else if (sa_int_of(&elems[i], &v) == 0)
			sa_int_bits(t, v, &bits);
		sa_store(a, i, bits);
	}
	return 0;
}

/* The same typecode, and for an array the same length (init is not
 * compared: it only says how a new one starts). */
static int sa_same_options(const struct object *o, const msgpack_object *opts)
{
	const struct shared_array *a = &o->u.array;
	if (!opts)
		return 0;
	const msgpack_object *tc = NULL, *len = NULL, *init = NULL;
	for (uint32_t i = 0; i < opts->via.map.size; i++) {
		const msgpack_object_kv *kv = &opts->via.map.ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR)
			return 0;
		const msgpack_object_str *k = &kv->key.via.str;
		if (k->size == 8 && !memcmp(k->ptr, "typecode", 8))
			tc = &kv->val;
		else if (k->size == 6 && !memcmp(k->ptr, "length", 6))
			len = &kv->val;
		else if (k->size == 4 && !memcmp(k->ptr, "init", 4))
			init = &kv->val;
		else
			return 0;
	}
	if (!tc || tc->type != MSGPACK_OBJECT_STR || tc->via.str.size != 1 || tc->via.str.ptr[0] != a->typecode)
		return 0;
	if (o->type == PROTO_T_VALUE)
		return !len;
	if (len)
		return len->type == MSGPACK_OBJECT_POSITIVE_INTEGER && len->via.u64 == a->length;
	return init && init->type == MSGPACK_OBJECT_ARRAY && init->via.array.size == a->length;
}

static void sa_deinit(struct object *o)
{
	sa_free(&o->u.array);
}

static uint64_t sa_size(const struct object *o)
{
	return o->u.array.length;
}

static void sa_pack_range(const struct shared_array *a, uint64_t from, uint64_t to, msgpack_packer *pk)
{
	const struct sa_type *t = sa_type_of(a->typecode);
	msgpack_pack_array(pk, (uint32_t)(to - from));
	for (uint64_t i = from; i < to; i++)
		sa_pack(pk, t, sa_load(a, i));
}

/* The whole content as an array (a value's too). */
static void sa_dump(const struct object *o, msgpack_packer *pk)
{
	const struct shared_array *a = &o->u.array;
	sa_pack_range(a, 0, a->data ? a->length : 0, pk);
}

static void sa_dump_page(const struct object *o, uint64_t cursor, uint64_t count, msgpack_packer *pk)
{
	const struct shared_array *a = &o->u.array;
	uint64_t len = a->data ? a->length : 0;
	uint64_t from = cursor < len ? cursor : len;
	uint64_t to = len - from > count ? from + count : len;
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint64(pk, to < len ? to : 0);
	sa_pack_range(a, from, to, pk);
}

static void sa_pack_options(const struct object *o, msgpack_packer *pk)
{
	const struct shared_array *a = &o->u.array;
	char tc = a->typecode;
	msgpack_pack_map(pk, o->type == PROTO_T_VALUE ? 1 : 2);
	pack_cstr(pk, "typecode");
	pack_str(pk, &tc, 1);
	if (o->type != PROTO_T_VALUE)
		pack_key_uint(pk, "length", a->length);
}

/* Nothing ever waits on an array. */
static void sa_cancel_waiters(struct object *o)
{
}

static uint32_t sa_waiting(const struct object *o)
{
	return 0;
}

#define SA_STAT_KEYS 5
static void sa_pack_stat(const struct object *o, const struct client *viewer, msgpack_packer *pk)
{
	const struct shared_array *a = &o->u.array;
	char tc = a->typecode;
	pack_cstr(pk, "typecode");
	pack_str(pk, &tc, 1);
	pack_key_uint(pk, "length", a->length);
	pack_key_uint(pk, "itemsize", a->itemsize);
	pack_key_uint(pk, "maps_ro", a->maps_ro);
	pack_key_uint(pk, "maps_rw", a->maps_rw);
}

/* Bytes per snapshot record: one [offset, bin] entry each. */
#define SA_SAVE_CHUNK ((size_t)64 << 10)

/* Snapshot: the bytes (little-endian elements) from the copy taken at the
 * fork, or read now when the snapshot runs in the daemon (--recover). */
static int sa_save(const struct object *o, struct state_saver *s)
{
	const struct shared_array *a = &o->u.array;
	size_t bytes = sa_bytes(a);
	char *buf = a->saved ? NULL : malloc(SA_SAVE_CHUNK);
	if (!a->saved && !buf)
		return -1;
	for (size_t off = 0; off < bytes; off += SA_SAVE_CHUNK) {
		size_t n = bytes - off < SA_SAVE_CHUNK ? bytes - off : SA_SAVE_CHUNK;
		const char *src = a->saved ? (const char *)a->saved + off : buf;
		if (!a->saved) {
			for (size_t i = 0; i < n; i += a->itemsize) {
				uint64_t bits = sa_load(a, (off + i) / a->itemsize);
				memcpy(buf + i, &bits, a->itemsize);
			}
		}
		msgpack_packer *pk = state_save_content(s, o, 0, 1);
		msgpack_pack_array(pk, 2);
		msgpack_pack_uint64(pk, off);
		msgpack_pack_bin(pk, n);
		msgpack_pack_bin_body(pk, src, n);
		if (state_save_end(s) < 0) {
			free(buf);
			return -1;
		}
	}
	free(buf);
	return 0;
}

static int sa_restore(struct object *o, unsigned kind, const msgpack_object *entries)
{
	struct shared_array *a = &o->u.array;
	if (kind != 0 || !a->data)
		return -1;
	for (uint32_t i = 0; i < entries->via.array.size; i++) {
		const msgpack_object *e = &entries->via.array.ptr[i];
		if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 2)
			return -1;
		const msgpack_object *off = &e->via.array.ptr[0], *bin = &e->via.array.ptr[1];
		if (off->type != MSGPACK_OBJECT_POSITIVE_INTEGER || bin->type != MSGPACK_OBJECT_BIN ||
		    off->via.u64 % a->itemsize || bin->via.bin.size % a->itemsize || off->via.u64 > sa_bytes(a) ||
		    bin->via.bin.size > sa_bytes(a) - off->via.u64)
			return -1;
		for (uint32_t j = 0; j < bin->via.bin.size; j += a->itemsize) {
			uint64_t bits = 0;
			memcpy(&bits, bin->via.bin.ptr + j, a->itemsize);
			sa_store(a, (off->via.u64 + j) / a->itemsize, bits);
		}
	}
	return 0;
}

const struct object_type value_type = {
	.init = sa_init,
	.same_options = sa_same_options,
	.deinit = sa_deinit,
	.size = sa_size,
	.dump = sa_dump,
	.dump_page = sa_dump_page,
	.pack_options = sa_pack_options,
	.cancel_waiters = sa_cancel_waiters,
	.waiting = sa_waiting,
	.save = sa_save,
	.restore = sa_restore,
	.create_only = 1,
	.stat_keys = SA_STAT_KEYS,
	.pack_stat = sa_pack_stat,
};

const struct object_type array_type = {
	.init = sa_init,
	.same_options = sa_same_options,
	.deinit = sa_deinit,
	.size = sa_size,
	.dump = sa_dump,
	.dump_page = sa_dump_page,
	.pack_options = sa_pack_options,
	.cancel_waiters = sa_cancel_waiters,
	.waiting = sa_waiting,
	.save = sa_save,
	.restore = sa_restore,
	.create_only = 1,
	.stat_keys = SA_STAT_KEYS,
	.pack_stat = sa_pack_stat,
};

/* ---- op handlers ---------------------------------------------------------- */

/* The array rq works on, or NOTFOUND for a name that holds none (reads of
 * a free name see the stand-in, which has no memory). */
static struct shared_array *sa_or_reply(struct request *rq)
{
	struct shared_array *a = &rq->obj->u.array;
	if (a->data)
		return a;
	const msgpack_object_str *n = &rq->args[0].via.str;
	reply_error(&rq->reply, IPCD_ENOTFOUND, "no %s named '%.*s'", proto_type_name(rq->op->type), (int)n->size,
	            n->ptr);
	return NULL;
}

/* Index argument o with Python's rules (negative counts from the end); on
 * failure replies INDEX and returns -1. */
static int sa_index_or_reply(struct request *rq, const struct shared_array *a, const msgpack_object *o, uint64_t *i)
{
	int64_t len = (int64_t)a->length, v = o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 > INT64_MAX
	                                          ? INT64_MAX : o->via.i64;
	if (v < 0)
		v += len;
	if (v < 0 || v >= len) {
		reply_error(&rq->reply, IPCD_EINDEX, "index out of range (length %llu)", (unsigned long long)a->length);
		return -1;
	}
	*i = (uint64_t)v;
	return 0;
}

/* START and STOP (either may be absent or nil) clamped like a Python slice. */
static void sa_slice(const struct shared_array *a, const msgpack_object *start, const msgpack_object *stop,
                     uint64_t *from, uint64_t *to)
{
	int64_t len = (int64_t)a->length, b[2] = { 0, len };
	const msgpack_object *arg[2] = { start, stop };
	for (int k = 0; k < 2; k++) {
		if (!arg[k] || arg[k]->type == MSGPACK_OBJECT_NIL)
			continue;
		int64_t v = arg[k]->type == MSGPACK_OBJECT_POSITIVE_INTEGER && arg[k]->via.u64 > INT64_MAX ? INT64_MAX
		                                                                                         : arg[k]->via.i64;
		if (v < 0)
			v = v + len < 0 ? 0 : v + len;
		b[k] = v > len ? len : v;
	}
	*from = (uint64_t)b[0];
	*to = b[1] > b[0] ? (uint64_t)b[1] : (uint64_t)b[0];
}

static void sa_reply_elem(struct request *rq, const struct shared_array *a, uint64_t bits)
{
	sa_pack(reply_ok(&rq->reply), sa_type_of(a->typecode), bits);
	reply_end(&rq->reply);
}

/* Element i set to args[vi]. */
static void sa_set(struct request *rq, struct shared_array *a, uint64_t i, const msgpack_object *v)
{
	uint64_t bits;
	if (sa_bits_or_reply(rq, sa_type_of(a->typecode), v, &bits) < 0)
		return;
	sa_store(a, i, bits);
	reply_nil(&rq->reply);
}

/*
 * Element i plus delta, atomically against every other writer (a
 * compare-and-swap loop, since the range check needs the sum). Integer
 * typecodes take integer deltas and refuse a sum they cannot hold with
 * OVERFLOW, changing nothing; f and d add in double (f rounds to float).
 */
static void sa_add(struct request *rq, struct shared_array *a, uint64_t i, const msgpack_object *delta)
{
	const struct sa_type *t = sa_type_of(a->typecode);
	__int128 d = 1;
	double df = 1;
	if (t->kind == SA_BYTE) {
		reply_error(&rq->reply, IPCD_EBADVALUE, "typecode 'c' holds bytes, not numbers");
		return;
	}
	if (delta && t->kind == SA_FLOAT) {
		df = delta->type == MSGPACK_OBJECT_FLOAT64 || delta->type == MSGPACK_OBJECT_FLOAT32 ? delta->via.f64
		   : delta->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (double)delta->via.u64 : (double)delta->via.i64;
	} else if (delta && sa_int_of(delta, &d) < 0) {
		reply_error(&rq->reply, IPCD_EBADVALUE, "typecode '%c' holds integers: DELTA must be one", t->code);
		return;
	}
	uint64_t cur = sa_load(a, i), next;
	for (;;) {
		if (t->kind == SA_FLOAT) {
			next = sa_float_bits(t, sa_double(t, cur) + df);
		} else {
			__int128 v = (t->kind == SA_SIGNED ? (__int128)sa_signed(t, cur) : (__int128)cur) + d;
			if (sa_int_bits(t, v, &next) < 0) {
				reply_error(&rq->reply, IPCD_EOVERFLOW, "result out of range for typecode '%c' (%s)", t->code,
				            t->range);
				return;
			}
		}
		if (sa_cas(a, i, &cur, next))
			break;
	}
	sa_reply_elem(rq, a, next);
}

/* Element i set to NEW if it holds EXPECTED (compared as stored bits).
 * Replies [swapped, the element now]. */
static void sa_cas_op(struct request *rq, struct shared_array *a, uint64_t i, const msgpack_object *expected,
                      const msgpack_object *desired)
{
	const struct sa_type *t = sa_type_of(a->typecode);
	uint64_t exp, want;
	if (sa_bits_or_reply(rq, t, expected, &exp) < 0 || sa_bits_or_reply(rq, t, desired, &want) < 0)
		return;
	int ok = sa_cas(a, i, &exp, want);
	msgpack_packer *pk = reply_ok(&rq->reply);
	msgpack_pack_array(pk, 2);
	if (ok)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	sa_pack(pk, t, ok ? want : exp);
	reply_end(&rq->reply);
}

static void sa_typecode(struct request *rq, const struct shared_array *a)
{
	char tc = a->typecode;
	pack_str(reply_ok(&rq->reply), &tc, 1);
	reply_end(&rq->reply);
}

/*
 * Hand the memory over with the reply: MODE "r" (default) a read-only open,
 * "rw" the memfd itself, for a requester with w access. The reply says how
 * to map it: {typecode, itemsize, length, size, writable}.
 */
static void sa_map(struct request *rq, struct shared_array *a, const msgpack_object *mode)
{
	int writable = 0;
	if (mode && mode->type == MSGPACK_OBJECT_STR) {
		const msgpack_object_str *m = &mode->via.str;
		if (m->size == 2 && !memcmp(m->ptr, "rw", 2)) {
			writable = 1;
		} else if (!(m->size == 1 && m->ptr[0] == 'r')) {
			reply_error(&rq->reply, IPCD_EBADARG, "%s: MODE is \"r\" or \"rw\"", rq->op->name);
			return;
		}
	}
	if (writable && !access_may(rq->client, rq->obj, ACCESS_W)) {
		reply_error(&rq->reply, IPCD_EPERMISSION, "%s: a read-write mapping needs w access", rq->op->name);
		return;
	}
	int fd = sa_open_fd(a, writable);
	if (fd < 0) {
		reply_error(&rq->reply, errno == EMFILE || errno == ENFILE || errno == ENOMEM ? IPCD_ENOMEM : IPCD_EINTERNAL,
		            "%s: cannot open the shared memory: %s", rq->op->name, strerror(errno));
		return;
	}
	if (client_attach_fd(rq->client, fd) < 0) {
		close(fd);
		reply_nomem(&rq->reply);
		return;
	}
	if (writable) {
		a->maps_rw++;
		sa_writable_mapped = 1;
	} else {
		a->maps_ro++;
	}
	char tc = a->typecode;
	msgpack_packer *pk = reply_ok(&rq->reply);
	msgpack_pack_map(pk, 5);
	pack_cstr(pk, "typecode");
	pack_str(pk, &tc, 1);
	pack_key_uint(pk, "itemsize", a->itemsize);
	pack_key_uint(pk, "length", a->length);
	pack_key_uint(pk, "size", sa_bytes(a));
	pack_key_bool(pk, "writable", writable);
	reply_end(&rq->reply);
}

/* value.get NAME -> element | NOTFOUND */
void handle_VALUE_GET(struct request *rq)
{
	struct shared_array *a = sa_or_reply(rq);
	if (a)
		sa_reply_elem(rq, a, sa_load(a, 0));
}

/* value.set NAME VALUE -> nil | BADVALUE | OVERFLOW | NOTFOUND */
void handle_VALUE_SET(struct request *rq)
{
	struct shared_array *a = sa_or_reply(rq);
	if (a)
		sa_set(rq, a, 0, &rq->args[1]);
}

/* value.add NAME [DELTA] -> new element | OVERFLOW | BADVALUE | NOTFOUND */
void handle_VALUE_ADD(struct request *rq)
{
	struct shared_array *a = sa_or_reply(rq);
	if (a)
		sa_add(rq, a, 0, request_arg(rq, 1));
}

/* value.cas NAME EXPECTED NEW -> [swapped, element] | BADVALUE | OVERFLOW | NOTFOUND */
void handle_VALUE_CAS(struct request *rq)
{
	struct shared_array *a = sa_or_reply(rq);
	if (a)
		sa_cas_op(rq, a, 0, &rq->args[1], &rq->args[2]);
}

/* value.typecode NAME -> "i" | NOTFOUND */
void handle_VALUE_TYPECODE(struct request *rq)
{
	struct shared_array *a = sa_or_reply(rq);
	if (a)
		sa_typecode(rq, a);
}

/* value.map NAME [MODE] -> {typecode, itemsize, length, size, writable} + fd | PERMISSION | NOTFOUND */
void handle_VALUE_MAP(struct request *rq)
{
	struct shared_array *a = sa_or_reply(rq);
	if (a)
		sa_map(rq, a, request_arg(rq, 1));
}

/* array.get NAME INDEX -> element | INDEX | NOTFOUND */
void handle_ARRAY_GET(struct request *rq)
{
	struct shared_array *a = sa_or_reply(rq);
	uint64_t i;
	if (a && sa_index_or_reply(rq, a, &rq->args[1], &i) == 0)
		sa_reply_elem(rq, a, sa_load(a, i));
}

/* array.set NAME INDEX VALUE -> nil | INDEX | BADVALUE | OVERFLOW | NOTFOUND */
void handle_ARRAY_SET(struct request *rq)
{
	struct shared_array *a = sa_or_reply(rq);
	uint64_t i;
	if (a && sa_index_or_reply(rq, a, &rq->args[1], &i) == 0)
		sa_set(rq, a, i, &rq->args[2]);
}

/* array.slice NAME [START] [STOP] -> [elements] | NOTFOUND */
void handle_ARRAY_SLICE(struct request *rq)
{
	struct shared_array *a = sa_or_reply(rq);
	uint64_t from, to;
	if (!a)
		return;
	sa_slice(a, request_arg(rq, 1), request_arg(rq, 2), &from, &to);
	sa_pack_range(a, from, to, reply_ok(&rq->reply));
	reply_end(&rq->reply);
}

/* array.set_slice NAME START STOP VALUES -> nil | BADARG (other length) | BADVALUE | OVERFLOW | NOTFOUND;
 * all or nothing: every value is checked before any is stored */
void handle_ARRAY_SET_SLICE(struct request *rq)
{
	struct shared_array *a = sa_or_reply(rq);
	const msgpack_object_array *vals = &rq->args[3].via.array;
	uint64_t from, to;
	if (!a)
		return;
	sa_slice(a, &rq->args[1], &rq->args[2], &from, &to);
	if (vals->size != to - from) {
		reply_error(&rq->reply, IPCD_EBADARG, "array.set_slice: %u values for a slice of %llu (the length is fixed)",
		            vals->size, (unsigned long long)(to - from));
		return;
	}
	uint64_t *bits = malloc((vals->size ? vals->size : 1) * sizeof(*bits));
	if (!bits) {
		reply_nomem(&rq->reply);
		return;
	}
	const struct sa_type *t = sa_type_of(a->typecode);
	for (uint32_t k = 0; k < vals->size; k++) {
		if (sa_bits_or_reply(rq, t, &vals->ptr[k], &bits[k]) < 0) {
			free(bits);
			return;
		}
	}
	for (uint32_t k = 0; k < vals->size; k++)
		sa_store(a, from + k, bits[k]);
	free(bits);
	reply_nil(&rq->reply);
}

/* array.add NAME INDEX [DELTA] -> new element | INDEX | OVERFLOW | BADVALUE | NOTFOUND */
void handle_ARRAY_ADD(struct request *rq)
{
	struct shared_array *a = sa_or_reply(rq);
	uint64_t i;
	if (a && sa_index_or_reply(rq, a, &rq->args[1], &i) == 0)
		sa_add(rq, a, i, request_arg(rq, 2));
}

/* array.cas NAME INDEX EXPECTED NEW -> [swapped, element] | INDEX | BADVALUE | OVERFLOW | NOTFOUND */
void handle_ARRAY_CAS(struct request *rq)
{
	struct shared_array *a = sa_or_reply(rq);
	uint64_t i;
	if (a && sa_index_or_reply(rq, a, &rq->args[1], &i) == 0)
		sa_cas_op(rq, a, i, &rq->args[2], &rq->args[3]);
}

/* array.len NAME -> length | NOTFOUND */
void handle_ARRAY_LEN(struct request *rq)
{
	struct shared_array *a = sa_or_reply(rq);
	if (a)
		reply_uint(&rq->reply, a->length);
}

/* array.typecode NAME -> "i" | NOTFOUND */
void handle_ARRAY_TYPECODE(struct request *rq)
{
	struct shared_array *a = sa_or_reply(rq);
	if (a)
		sa_typecode(rq, a);
}

/* array.map NAME [MODE] -> {typecode, itemsize, length, size, writable} + fd | PERMISSION | NOTFOUND */
void handle_ARRAY_MAP(struct request *rq)
{
	struct shared_array *a = sa_or_reply(rq);
	if (a)
		sa_map(rq, a, request_arg(rq, 1));
}
