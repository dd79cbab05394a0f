/*
 * registry.c: names to objects, and the ops that work on any object by
 * name (create, delete, exists, type, stat, dump, ls).
 *
 * Reads of a name that does not exist see a shared, read-only empty object of
 * the op's type (registry_empty), the way a missing key reads as empty in
 * Redis; writes and waits create the object with default options, and it
 * stays only if a write succeeds or while a request waits on it.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include "registry.h"
#include <stdio.h>
#include "access.h"
#include "clock.h"
#include "config.h"
#include "dispatch.h"
#include "log.h"
#include "state.h"
#include "value.h"
#include "wire.h"

static struct omap names;
static struct object empties[PROTO_T_COUNT];
static size_t count_by_type[PROTO_T_COUNT];

const struct object_type *const object_types[PROTO_T_COUNT] = {
	[PROTO_T_QUEUE] = &queue_type,
	[PROTO_T_LIST] = &list_type,
	[PROTO_T_DICT] = &dict_type,
	[PROTO_T_NS] = &ns_type,
	[PROTO_T_VALUE] = &value_type,
	[PROTO_T_ARRAY] = &array_type,
	[PROTO_T_LOCK] = &lock_type,
	[PROTO_T_SEMAPHORE] = &semaphore_type,
	[PROTO_T_EVENT] = &event_type,
	[PROTO_T_CONDITION] = &condition_type,
	[PROTO_T_BARRIER] = &barrier_type,
};

void registry_init(void)
{
	const char *why;
	omap_init(&names);
	for (int t = PROTO_T_QUEUE; t < PROTO_T_COUNT; t++) {
		empties[t].type = (enum proto_type)t;
		empties[t].name = (char *)"";
		object_type_of(t)->init(&empties[t], NULL, &why);
	}
}

/* What an object costs against max_memory before it holds anything: the
 * object, its name (kept twice: o->name and the registry's key), its
 * registry entry and index slot. */
static size_t object_mem(size_t len)
{
	return value_alloc_cost(sizeof(struct object)) + value_alloc_cost(len + 1) + value_alloc_cost(len) +
	       sizeof(struct omap_entry) + sizeof(uint32_t);
}

void registry_count_spare(struct object *o)
{
	const struct object_type *ot = object_type_of(o->type);
	if (!ot->spare)
		return;
	size_t now = ot->spare(o);
	if (now > o->spare_counted)
		value_mem_add(now - o->spare_counted);
	else
		value_mem_sub(o->spare_counted - now);
	o->spare_counted = now;
}

/* Free o after its waiters were answered. */
static void object_free(struct object *o)
{
	const struct object_type *ot = object_type_of(o->type);
	ot->cancel_waiters(o);
	ot->deinit(o);
	count_by_type[o->type]--;
	value_mem_sub(object_mem(o->name_len) + o->spare_counted);
	free(o->name);
	free(o);
}

static void object_free_hook(void *p)
{
	object_free(p);
}

void registry_free(void)
{
	omap_free(&names, object_free_hook);
	for (int t = PROTO_T_QUEUE; t < PROTO_T_COUNT; t++)
		object_type_of(t)->deinit(&empties[t]);
}

struct object *registry_find(const char *name, size_t len)
{
	struct omap_entry *e = omap_find(&names, name, len);
	return e ? e->val : NULL;
}

struct object *registry_empty(enum proto_type t)
{
	return &empties[t];
}

int registry_create(const char *name, size_t len, enum proto_type t, const msgpack_object *opts,
                    struct object **out, const char **why)
{
	static char msg[64];
	if (config.max_objects && omap_count(&names) >= config.max_objects && !state_replaying) {
		snprintf(msg, sizeof(msg), "max_objects (%llu) reached", (unsigned long long)config.max_objects);
		*why = msg;
		return IPCD_ENOMEM;
	}
	if (value_mem_charge(object_mem(len)) < 0) {
		snprintf(msg, sizeof(msg), "max_memory (%zu bytes) reached", value_mem_limit);
		*why = msg;
		return IPCD_ENOMEM;
	}
	struct object *o = calloc(1, sizeof(*o));
	char *copy = malloc(len + 1);
	if (!o || !copy) {
		free(o);
		free(copy);
		value_mem_sub(object_mem(len));
		*why = "out of memory";
		return IPCD_ENOMEM;
	}
	memcpy(copy, name, len);
	copy[len] = '\0';
	o->type = t;
	o->name = copy;
	o->name_len = (uint32_t)len;
	o->created = clock_unix();
	access_set_creator(o, NULL);
	int err = object_type_of(t)->init(o, opts, why);
	if (err) {
		free(copy);
		free(o);
		value_mem_sub(object_mem(len));
		return err;
	}
	int created;
	struct omap_entry *e = omap_upsert(&names, name, len, &created);
	if (!e) {
		object_type_of(t)->deinit(o);
		free(copy);
		free(o);
		value_mem_sub(object_mem(len));
		*why = "out of memory";
		return IPCD_ENOMEM;
	}
	e->val = o;
	count_by_type[t]++;
	*out = o;
	return 0;
}

void registry_delete(struct object *o)
{
	struct omap_entry *e = omap_find(&names, o->name, o->name_len);
	if (e)
		omap_remove(&names, e);
	object_free(o);
}

int registry_drop_if_unused(struct object *o)
{
	if (!o || !o->provisional)
		return 0;
	const struct object_type *ot = object_type_of(o->type);
	if (ot->size(o) || (ot->pending && ot->pending(o))) {
		o->provisional = 0;
		return 0;
	}
	if (ot->waiting(o))
		return 0;
	registry_delete(o);
	return 1;
}

size_t registry_count(void)
{
	return omap_count(&names);
}

size_t registry_count_type(enum proto_type t)
{
	return count_by_type[t];
}

const struct omap *registry_map(void)
{
	return &names;
}

/* ---- ops ---------------------------------------------------------------- */

struct object *registry_find_or_reply(struct request *rq)
{
	const msgpack_object *n = &rq->args[0];
	struct object *o = registry_find(n->via.str.ptr, n->via.str.size);
	if (!o)
		reply_error(&rq->reply, IPCD_ENOTFOUND, "no object named '%.*s'", (int)n->via.str.size,
		            n->via.str.ptr);
	return o;
}

struct object *registry_find_stored_or_reply(struct request *rq)
{
	struct object *o = registry_find_or_reply(rq);
	if (o && o->provisional) {
		reply_error(&rq->reply, IPCD_ENOTFOUND, "'%.*s' is not stored: only requests waiting on it keep it "
		            "(a write to it stores it)", (int)o->name_len, o->name);
		return NULL;
	}
	return o;
}

/* create NAME TYPE [OPTIONS] -> true (created) | false (existed) | WRONGTYPE | EXISTS | BADARG */
void handle_CREATE(struct request *rq)
{
	const msgpack_object *n = &rq->args[0], *tn = &rq->args[1], *opts = request_arg(rq, 2);
	enum proto_type t = proto_type_by_name(tn->via.str.ptr, tn->via.str.size);
	if (t == PROTO_T_ANY) {
		reply_error(&rq->reply, IPCD_EBADARG, "unknown type '%.*s' (queue, list, dict, ns, value, array, lock, semaphore, event, condition or barrier)",
		            (int)tn->via.str.size, tn->via.str.ptr);
		return;
	}
	unsigned mode = 0;
	int has_mode = 0;
	msgpack_object type_opts;
	msgpack_object_kv kv[ACCESS_MAX_OPTIONS];
	const char *why = "";
	int err = access_split_mode(opts, kv, &type_opts, &has_mode, &mode, &why);
	if (err) {
		reply_error(&rq->reply, err, "%s", why);
		return;
	}
	if (opts)
		opts = &type_opts;
	struct object *o = registry_find(n->via.str.ptr, n->via.str.size);
	if (o) {
		if (o->type != t)
			reply_error(&rq->reply, IPCD_EWRONGTYPE, "'%s' exists as a %s", o->name, proto_type_name(o->type));
		else if (!object_type_of(t)->same_options(o, opts))
			reply_error(&rq->reply, IPCD_EEXISTS, "'%s' exists with other options", o->name);
		else {
			o->provisional = 0;   /* asked for by name: it stays */
			reply_bool(&rq->reply, 0);
		}
		return;
	}
	err = registry_create(n->via.str.ptr, n->via.str.size, t, opts, &o, &why);
	if (err) {
		reply_error(&rq->reply, err, "%s", why);
		return;
	}
	access_set_creator(o, rq->client);
	if (has_mode)
		object_set_access(o, o->owner, o->group, mode);
	reply_bool(&rq->reply, 1);
}

/* delete NAME -> nil | NOTFOUND */
void handle_DELETE(struct request *rq)
{
	struct object *o = registry_find_or_reply(rq);
	if (o) {
		if (o->provisional)
			state_request_unlogged(rq);
		registry_delete(o);
		reply_nil(&rq->reply);
	}
}

/* exists NAME -> bool */
void handle_EXISTS(struct request *rq)
{
	const msgpack_object *n = &rq->args[0];
	reply_bool(&rq->reply, registry_find(n->via.str.ptr, n->via.str.size) != NULL);
}

/* type NAME -> "queue" | "list" | "dict" | "ns" | NOTFOUND */
void handle_TYPE(struct request *rq)
{
	struct object *o = registry_find_or_reply(rq);
	if (o) {
		pack_cstr(reply_ok(&rq->reply), proto_type_name(o->type));
		reply_end(&rq->reply);
	}
}

/* stat NAME -> {name, type, size, created, reads, writes, waiting, owner, group, mode, options,
 * per-type keys} | NOTFOUND */
void handle_STAT(struct request *rq)
{
	struct object *o = registry_find_or_reply(rq);
	if (!o)
		return;
	const struct object_type *ot = object_type_of(o->type);
	msgpack_packer *pk = reply_ok(&rq->reply);
	msgpack_pack_map(pk, 8 + ACCESS_PACK_KEYS + ot->stat_keys);
	pack_cstr(pk, "name");
	msgpack_pack_str(pk, o->name_len);
	msgpack_pack_str_body(pk, o->name, o->name_len);
	pack_key_str(pk, "type", proto_type_name(o->type));
	pack_key_uint(pk, "size", ot->size(o));
	pack_key_double(pk, "created", o->created);
	pack_key_uint(pk, "reads", o->reads);
	pack_key_uint(pk, "writes", o->writes);
	pack_key_uint(pk, "waiting", ot->waiting(o));
	access_pack(pk, o);
	pack_cstr(pk, "options");
	ot->pack_options(o, pk);
	if (ot->pack_stat)
		ot->pack_stat(o, rq->client, pk);
	reply_end(&rq->reply);
}

/* dump NAME [CURSOR] [COUNT] -> array (queue, list) | map (dict, ns) | NOTFOUND;
 * with COUNT, one page: [next_cursor, array | map] */
static const char *const dump_option_keys[] = { "full", NULL };

static int dump_option(void *ctx, unsigned i, const msgpack_object *v)
{
	(void)i;
	if (v->type != MSGPACK_OBJECT_BOOLEAN)
		return 1;
	*(int *)ctx = v->via.boolean;
	return 0;
}

void handle_DUMP(struct request *rq)
{
	const msgpack_object *cur = request_arg(rq, 1), *cnt = request_arg(rq, 2);
	if (cur && !cnt) {   /* a cursor alone would read as "everything", silently */
		reply_error(&rq->reply, IPCD_EBADARG, "dump: CURSOR needs COUNT (usage: dump NAME [CURSOR] [COUNT])");
		return;
	}
	uint64_t count;
	if (request_page_count_or_reply(rq, cnt, &count) < 0)
		return;
	int full = 0;
	const msgpack_object *unknown;
	int rc = wire_options(request_arg(rq, 3), dump_option_keys, dump_option, &full, &unknown);
	if (rc) {
		reply_error(&rq->reply, IPCD_EBADARG, "%s", rc == 1 ? "dump: option full is a bool" : "dump: unknown option (full)");
		return;
	}
	if (full && !cnt) {
		reply_error(&rq->reply, IPCD_EBADARG, "dump: a full dump comes in pages: give CURSOR and COUNT");
		return;
	}
	struct object *o = registry_find_or_reply(rq);
	if (!o)
		return;
	const struct object_type *ot = object_type_of(o->type);
	if (cnt && full && ot->dump_full_page)
		ot->dump_full_page(o, cur->via.u64, count, reply_ok(&rq->reply));
	else if (cnt)
		ot->dump_page(o, cur->via.u64, count, reply_ok(&rq->reply));
	else
		ot->dump(o, reply_ok(&rq->reply));
	reply_end(&rq->reply);
}

/* What ls was asked for besides pattern and paging. */
struct ls_options {
	enum proto_type type;      /* PROTO_T_ANY = every type */
	int long_entries;          /* maps with counters instead of [name, type] */
};

static const char *const ls_option_keys[] = { "type", "long", NULL };

static int ls_option(void *ctx, unsigned i, const msgpack_object *v)
{
	struct ls_options *lo = ctx;
	if (i == 0) {
		if (v->type == MSGPACK_OBJECT_STR)
			lo->type = proto_type_by_name(v->via.str.ptr, v->via.str.size);
		return lo->type == PROTO_T_ANY ? 1 : 0;
	}
	if (v->type != MSGPACK_OBJECT_BOOLEAN)
		return 2;
	lo->long_entries = v->via.boolean;
	return 0;
}

/* ls's OPTIONS map (may be NULL) into lo; replies BADARG and returns -1 on a bad one. */
static int ls_options_or_reply(struct request *rq, const msgpack_object *opts, struct ls_options *lo)
{
	lo->type = PROTO_T_ANY;
	lo->long_entries = 0;
	const msgpack_object *unknown;
	int rc = wire_options(opts, ls_option_keys, ls_option, lo, &unknown);
	if (!rc)
		return 0;
	reply_error(&rq->reply, IPCD_EBADARG, "%s",
	            rc == 1   ? "ls: option type is a type name (\"queue\", \"list\", \"dict\", \"ns\", \"lock\", ...)"
	            : rc == 2 ? "ls: option long is a bool"
	                       : "ls: unknown option (type, long)");
	return -1;
}

/* One ls entry: [name, type], or with long a map of the object's counters. */
static void ls_pack_entry(msgpack_packer *pk, const struct object *o, int long_entries, uint64_t sec)
{
	if (!long_entries) {
		msgpack_pack_array(pk, 2);
		msgpack_pack_str(pk, o->name_len);
		msgpack_pack_str_body(pk, o->name, o->name_len);
		pack_cstr(pk, proto_type_name(o->type));
		return;
	}
	const struct object_type *ot = object_type_of(o->type);
	msgpack_pack_map(pk, 7 + ACCESS_PACK_KEYS);
	pack_cstr(pk, "name");
	msgpack_pack_str(pk, o->name_len);
	msgpack_pack_str_body(pk, o->name, o->name_len);
	pack_key_str(pk, "type", proto_type_name(o->type));
	pack_key_uint(pk, "size", ot->size(o));
	pack_key_uint(pk, "waiting", ot->waiting(o));
	pack_key_uint(pk, "pending", ot->pending ? ot->pending(o) : 0);
	pack_key_uint(pk, "ops", o->reads + o->writes);
	pack_key_uint(pk, "rate", rate_get(&o->rate, sec));
	access_pack(pk, o);
}

/* ls [PATTERN] [CURSOR] [COUNT] [OPTIONS] -> [next_cursor, [[name, type] | {name, type, size, ...}, ...]]
 * Lists only the objects the caller may read. Looks at no more than 10 x COUNT names per call, so that a pattern or a
 * type that matches little among a million names still answers promptly;
 * a page may be short or empty while the cursor is not 0. */
void handle_LS(struct request *rq)
{
	const msgpack_object *pat = request_arg(rq, 0), *cur = request_arg(rq, 1), *cnt = request_arg(rq, 2);
	struct ls_options lo;
	char pattern[512] = "";
	if (pat && pat->type == MSGPACK_OBJECT_STR) {
		if (pat->via.str.size >= sizeof(pattern)) {
			reply_error(&rq->reply, IPCD_EBADARG, "pattern longer than %zu bytes", sizeof(pattern) - 1);
			return;
		}
		if (memchr(pat->via.str.ptr, 0, pat->via.str.size)) { /* would cut the pattern short */
			reply_error(&rq->reply, IPCD_EBADARG, "pattern contains a NUL byte");
			return;
		}
		memcpy(pattern, pat->via.str.ptr, pat->via.str.size);
		pattern[pat->via.str.size] = '\0';
	}
	if (ls_options_or_reply(rq, request_arg(rq, 3), &lo) < 0)
		return;
	uint64_t count;
	if (request_page_count_or_reply(rq, cnt, &count) < 0)
		return;

	struct object **found = malloc(count * sizeof(*found));
	if (!found) {
		reply_nomem(&rq->reply);
		return;
	}
	size_t nfound = 0, budget = count * 10;
	const struct omap_entry *e = omap_seek(&names, cur ? cur->via.u64 : 0);
	for (; e && nfound < count && budget > 0; e = omap_next(&names, e), budget--) {
		struct object *o = e->val;
		if ((lo.type == PROTO_T_ANY || o->type == lo.type) && (!*pattern || fnmatch(pattern, o->name, 0) == 0) &&
		    access_may(rq->client, o, ACCESS_R))   /* what the caller may not read, it does not see */
			found[nfound++] = o;
	}
	uint64_t sec = rate_now();
	msgpack_packer *pk = reply_ok(&rq->reply);
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint64(pk, e ? e->seq : 0);
	msgpack_pack_array(pk, (uint32_t)nfound);
	for (size_t i = 0; i < nfound; i++)
		ls_pack_entry(pk, found[i], lo.long_entries, sec);
	reply_end(&rq->reply);
	free(found);
}
