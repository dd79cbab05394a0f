/*
 * object.h: a named object in the registry and the per-type operations the
 * registry needs. Each type's data structure and op handlers live in its
 * own file (queue.c, list.c, dict.c, ns.c, shared_array.c); a queue's is in queue.h.
 */
#ifndef IPCD_OBJECT_H
#define IPCD_OBJECT_H

#include <stdint.h>
#include <sys/types.h>
#include <msgpack.h>
#include "proto.h"
#include "omap.h"
#include "waiters.h"
#include "deque.h"
#include "rate.h"
#include "queue.h"
#include "sync.h"

struct value;
struct hold;
struct state_saver;

/* list: values with O(1) index and O(1) push/pop at both ends. */
struct list {
	struct deque items;         /* struct value * */
	struct waitq poppers;       /* list.blpop / list.brpop waiting for items */
};

/* dict and ns: canonical key bytes -> struct value *, insertion ordered. */
struct dict {
	struct omap map;
	size_t arrays_charged;   /* what map's arrays are counted for in value_mem_used */
};

/*
 * value and array: fixed-length arrays of one C number type, named by a
 * Python array typecode, kept in a sealed memfd that clients may map
 * (shared_array.c). A value is an array of length 1.
 */
struct shared_array {
	char typecode;              /* b B h H i I l L q Q f d c; 0 in the read-only stand-in */
	uint8_t itemsize;           /* bytes per element: 1, 2, 4 or 8 */
	uint64_t length;            /* elements, >= 1 */
	void *data;                 /* the daemon's read-write mapping; NULL in the stand-in */
	int fd_rw, fd_ro;           /* the memfd, and a read-only open of it handed to readers */
	void *saved;                /* a copy taken just before a snapshot forks (shared_array.c) */
	uint64_t maps_ro, maps_rw;  /* mappings handed out */
};

struct object {
	enum proto_type type;
	char *name;                 /* NUL-terminated copy of the registry key */
	uint32_t name_len;
	double created;             /* unix time */
	uint64_t reads, writes;     /* ops served, by flag OPF_WRITE */
	int provisional;            /* made for a request on a free name, and no write on it has
	                             * succeeded yet: dropped once it is empty and nobody waits */
	struct rate rate;           /* ops per second, for ls's long entries */
	uid_t owner;                /* access (access.h): set with object_set_access */
	gid_t group;
	unsigned mode;              /* rwa bits for owner, group, other, as 0640 */
	size_t spare_counted;       /* what the type's spare() was when last counted in value_mem_used */
	union {
		struct queue queue;
		struct list list;
		struct dict dict;       /* also ns */
		struct shared_array array; /* also value */
		struct lock lock;       /* sync.h */
		struct semaphore sem;
		struct sync_event event;
		struct condition cond;
		struct barrier barrier;
	} u;
};

/* What the registry asks of each type. */
struct object_type {
	/* Set up o->u from create options (may be NULL). IPCD_EBADARG with *why. */
	int (*init)(struct object *o, const msgpack_object *opts, const char **why);
	/* True if opts (may be NULL) are what o was created with. */
	int (*same_options)(const struct object *o, const msgpack_object *opts);
	/* Release o->u; waiters were already woken by the registry. */
	void (*deinit)(struct object *o);
	/* Number of items (queue size, list length, dict keys). */
	uint64_t (*size)(const struct object *o);
	/* Pack the whole content: array (queue, list) or map (dict, ns). */
	void (*dump)(const struct object *o, msgpack_packer *pk);
	/* Pack one page of it, [next_cursor, page], at most count items from
	 * cursor (an item position for queue and list, an omap seq for dict
	 * and ns); next_cursor 0 when the page reaches the end. */
	void (*dump_page)(const struct object *o, uint64_t cursor, uint64_t count, msgpack_packer *pk);
	/* Optional: a page like dump_page of everything a backup needs to
	 * rebuild the object (queues: pending and delayed items too, with
	 * priorities and delivery counts); types without it dump_page. */
	void (*dump_full_page)(const struct object *o, uint64_t cursor, uint64_t count, msgpack_packer *pk);
	/* Pack the creation options as a map. */
	void (*pack_options)(const struct object *o, msgpack_packer *pk);
	/* Wake every parked request with IPCD_EDELETED (object is going away). */
	void (*cancel_waiters)(struct object *o);
	/* Number of parked requests. */
	uint32_t (*waiting)(const struct object *o);
	/* Take back h, which a closing connection held in o (the hold is
	 * already off the connection's list). Required of a type that hands
	 * out holds. */
	void (*release)(struct object *o, struct hold *h);
	/* Optional: deliveries handed out and not yet acked (queues). */
	uint64_t (*pending)(const struct object *o);
	/* Write the content as records (state.h: state_save_content), in
	 * order; runs in the snapshot child. 0, or -1 to stop. */
	int (*save)(const struct object *o, struct state_saver *s);
	/* Take back one content record that save wrote (kind and its array of
	 * entries), after the object was made with its options. 0, or -1 if it
	 * does not fit. */
	int (*restore)(struct object *o, unsigned kind, const msgpack_object *entries);
	/* Optional: a timer's change, replayed from the log (state.h's
	 * enum state_timer): n items moved, as its timer moved them. */
	void (*on_timer)(struct object *o, int what, uint64_t n);
	/* Made by create alone (no default options): ops on a free name,
	 * writes too, see the read-only stand-in (registry_empty), whose
	 * handlers reply NOTFOUND. */
	int create_only;
	/* Optional: bytes o's arrays hold beyond what its items were charged
	 * (a deque's empty slots: a list of one item keeps room for eight, a
	 * grown one up to twice its length), in O(1). registry_count_spare
	 * brings value_mem_used up to date with it after each request on o. */
	size_t (*spare)(const struct object *o);
	/* Optional: stat_keys more entries for stat's map, packed by pack_stat
	 * for viewer (what it shows of another object is for whom may read that). */
	uint32_t stat_keys;
	void (*pack_stat)(const struct object *o, const struct client *viewer, msgpack_packer *pk);
};

extern const struct object_type queue_type, list_type, dict_type, ns_type, value_type, array_type;
extern const struct object_type lock_type, semaphore_type, event_type, condition_type, barrier_type;

/* Each type's operations by proto_type, NULL for PROTO_T_ANY (registry.c). */
extern const struct object_type *const object_types[PROTO_T_COUNT];

/* Type operations for t (not PROTO_T_ANY): a table read, since every
 * request looks its object's type up once or twice. */
static inline const struct object_type *object_type_of(enum proto_type t)
{
	return (unsigned)t < PROTO_T_COUNT ? object_types[t] : NULL;
}

#endif
