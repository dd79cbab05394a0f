/*
 * object.h: a named object in the registry and the per-type operations the
 * registry needs. Each type's data structure and op handlers live in its
 * own file (queue.c, list.c, dict.c, ns.c).
 */
#ifndef IPCD_OBJECT_H
#define IPCD_OBJECT_H

#include <stdint.h>
#include <msgpack.h>
#include "proto.h"
#include "omap.h"
#include "waiters.h"
#include "deque.h"

struct value;

/* queue: FIFO of values, optionally bounded, with parked getters and putters. */
struct queue {
	struct deque items;         /* struct value * */
	uint64_t maxsize;           /* 0 = unbounded */
	struct waitq getters;       /* queue.get / get_many waiting for items */
	struct waitq putters;       /* queue.put / put_many waiting for room */
	uint64_t total_put, total_got;
};

/* list: values with O(1) index and O(1) push/pop at both ends. */
struct list {
	struct deque items;         /* struct value * */
	struct waitq poppers;       /* list.blpop / list.brpop waiting for items */
};

/* dict and ns: canonical key bytes -> struct value *, insertion ordered. */
struct dict {
	struct omap map;
};

struct object {
	enum proto_type type;
	char *name;                 /* NUL-terminated copy of the registry key */
	uint32_t name_len;
	double created;             /* unix time */
	uint64_t reads, writes;     /* ops served, by flag OPF_WRITE */
	union {
		struct queue queue;
		struct list list;
		struct dict dict;       /* also ns */
	} u;
};

/* What the registry asks of each type. */
struct object_type {
	/* Set up o->u from create options (may be NULL). IPCD_E_BADARG with *why. */
	int (*init)(struct object *o, const msgpack_object *opts, const char **why);
	/* True if opts (may be NULL) are what o was created with. */
	int (*same_options)(const struct object *o, const msgpack_object *opts);
	/* Release o->u; waiters were already woken by the registry. */
	void (*deinit)(struct object *o);
	/* Number of items (queue size, list length, dict keys). */
	uint64_t (*size)(const struct object *o);
	/* Pack the whole content: array (queue, list) or map (dict, ns). */
	void (*dump)(const struct object *o, msgpack_packer *pk);
	/* Pack the creation options as a map. */
	void (*pack_options)(const struct object *o, msgpack_packer *pk);
	/* Wake every parked request with IPCD_E_DELETED (object is going away). */
	void (*cancel_waiters)(struct object *o);
	/* Number of parked requests. */
	uint32_t (*waiting)(const struct object *o);
};

extern const struct object_type queue_type, list_type, dict_type, ns_type;

/* Type operations for t (not PROTO_T_ANY). */
const struct object_type *object_type_of(enum proto_type t);

#endif
