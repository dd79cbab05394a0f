/*
 * dict.h: the dict structure behind the dict and ns types, shared by dict.c,
 * ns.c and the unit test.
 *
 * A dict maps canonical key bytes (codec.h) to a struct value * in an omap.
 * The dict owns its values; functions taking a value take it on success.
 * Each key is charged to value_mem_used (its bytes), and the omap's arrays
 * by their capacity, so max_memory bounds keys and the room kept for them
 * as well as values.
 */
#ifndef IPCD_DICT_H
#define IPCD_DICT_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include "object.h"

struct value;
struct request;

/* A key's canonical bytes, on the stack when small. */
struct dict_key {
	char small[128];
	char *bytes;     /* small or malloc'd */
	size_t len;
};

/*
 * Encode o (a scalar or from decode_value, as for value_new) as a key. With
 * store set, o must also fit max_depth (it will be kept). 0,
 * IPCD_EBADVALUE, IPCD_ENOMEM. dict_key_deinit after success.
 */
int dict_key_init(struct dict_key *k, const msgpack_object *o, int store);
void dict_key_deinit(struct dict_key *k);

/* Value of key, or NULL. */
struct value *dict_find(const struct dict *d, const void *key, size_t len);
/* Set key to v, freeing the old value. 0 or IPCD_ENOMEM (dict unchanged, v not taken). */
int dict_set(struct dict *d, const void *key, size_t len, struct value *v);
/* Remove key; returns its value (caller frees), or NULL if missing. */
struct value *dict_del(struct dict *d, const void *key, size_t len);
/* Remove and free everything. */
void dict_clear(struct dict *d);
/* Pack the whole dict as a map, keys as stored. */
void dict_pack(const struct dict *d, msgpack_packer *pk);
/* What a page of a scan holds (dict.keys, dict.values, dict.items). */
enum dict_page_what { DICT_PAGE_KEYS, DICT_PAGE_VALUES, DICT_PAGE_ITEMS };
/* Pack one page of a scan, [next cursor, keys | values | map]: at most count
 * entries with seq >= cursor (0 = the start); next cursor 0 at the end. */
void dict_pack_page(const struct dict *d, uint64_t cursor, uint64_t count, enum dict_page_what what,
                    msgpack_packer *pk);
/* Pack stored canonical bytes as they are. */
void dict_pack_raw(msgpack_packer *pk, const void *p, size_t n);

/* Type operations shared by dict_type and ns_type; init is the caller's. */
void dict_obj_init(struct object *o);
int dict_obj_no_options(const msgpack_object *opts);
int dict_obj_same_options(const struct object *o, const msgpack_object *opts);
void dict_obj_deinit(struct object *o);
uint64_t dict_obj_size(const struct object *o);
void dict_obj_dump(const struct object *o, msgpack_packer *pk);
void dict_obj_dump_page(const struct object *o, uint64_t cursor, uint64_t count, msgpack_packer *pk);
void dict_obj_pack_options(const struct object *o, msgpack_packer *pk);
void dict_obj_cancel_waiters(struct object *o);
uint32_t dict_obj_waiting(const struct object *o);
int dict_obj_save(const struct object *o, struct state_saver *s);
int dict_obj_restore(struct object *o, unsigned kind, const msgpack_object *entries);

/* Reply the error of a failed dict/key/value call (NOMEM, BADVALUE). */
void dict_reply_error(struct request *rq, int code);
/* In rq's dict (or ns), set key k to a new value made from o. Returns the
 * stored value, or NULL after replying the error. */
struct value *dict_store_or_reply(struct request *rq, const struct dict_key *k, const msgpack_object *o);

/* A number for dict.incr. Integers beyond int64 (u64 > INT64_MAX) are BIG. */
enum dict_num_kind { DICT_NUM_INT, DICT_NUM_BIG, DICT_NUM_FLOAT };
struct dict_num {
	enum dict_num_kind kind;
	int64_t i;       /* INT */
	uint64_t u;      /* BIG */
	double f;        /* FLOAT */
};

/* The number a stored value holds: 0 or IPCD_ENOTNUMBER. */
int dict_num_of_value(const struct value *v, struct dict_num *n);
/* The number an int or float argument holds. */
void dict_num_of_obj(const msgpack_object *o, struct dict_num *n);
/* a + b: float if either is, else int64; 0 or IPCD_EOVERFLOW. */
int dict_num_add(const struct dict_num *a, const struct dict_num *b, struct dict_num *out);
/* n as a msgpack object (INT or FLOAT), for value_new. */
void dict_num_to_obj(const struct dict_num *n, msgpack_object *o);

#endif
