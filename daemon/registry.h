/*
 * registry.h: names to objects. Names are byte strings of 1..max_name bytes.
 */
#ifndef IPCD_REGISTRY_H
#define IPCD_REGISTRY_H

#include <stddef.h>
#include <msgpack.h>
#include "object.h"

void registry_init(void);
/* Delete every object (shutdown). */
void registry_free(void);
struct object *registry_find(const char *name, size_t len);
/*
 * Create name with type t and options opts (may be NULL). Returns 0 and *out,
 * or an error code with *why set (IPCD_EBADARG, IPCD_ENOMEM).
 */
int registry_create(const char *name, size_t len, enum proto_type t, const msgpack_object *opts,
                    struct object **out, const char **why);
/* Unlink and free o; its parked requests get IPCD_EDELETED. */
void registry_delete(struct object *o);
/* Count o's spare room (object_type.spare) in value_mem_used as it is now:
 * after a request on o, a growth past max_memory refuses the next write. */
void registry_count_spare(struct object *o);
size_t registry_count(void);
/* Drop o if it is provisional, holds nothing and nobody waits on it: a
 * request that failed, or a wait that ended, leaves no object behind. A
 * provisional object found holding something becomes an ordinary one.
 * Returns 1 if o was freed. */
int registry_drop_if_unused(struct object *o);
/* Objects per type, for info. */
size_t registry_count_type(enum proto_type t);
/* The registry's map, for ls paging. */
const struct omap *registry_map(void);
/* A read-only empty object of type t for reads of missing names. */
struct object *registry_empty(enum proto_type t);
/* The object rq names (args[0]), or reply NOTFOUND and return NULL. */
struct request;
struct object *registry_find_or_reply(struct request *rq);
/* The same, but an object that only waiting requests keep (provisional:
 * the log has no record of it) is NOTFOUND too: chmod and chown change
 * what is stored, and a replay could not find it. */
struct object *registry_find_stored_or_reply(struct request *rq);

#endif
