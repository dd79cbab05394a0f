/*
 * ns.c: the ns type, a namespace of named attributes (like Python's
 * SimpleNamespace shared between processes).
 *
 * A namespace is a dict (dict.h) whose keys are attribute names: the key
 * bytes are the canonical encoding of the name string, so ns.all packs them
 * back as strings. Only the handlers and the type's init live here.
 */
#include "dict.h"
#include "value.h"
#include "dispatch.h"
#include "server.h"

/* Set up an empty namespace; it takes no options. */
static int ns_init(struct object *o, const msgpack_object *opts, const char **why)
{
	if (!dict_obj_no_options(opts)) {
		*why = "ns takes no options";
		return IPCD_EBADARG;
	}
	dict_obj_init(o);
	return 0;
}

const struct object_type ns_type = {
	.save = dict_obj_save,
	.restore = dict_obj_restore,
	.init = ns_init,
	.same_options = dict_obj_same_options,
	.deinit = dict_obj_deinit,
	.size = dict_obj_size,
	.dump = dict_obj_dump,
	.dump_page = dict_obj_dump_page,
	.pack_options = dict_obj_pack_options,
	.cancel_waiters = dict_obj_cancel_waiters,
	.waiting = dict_obj_waiting,
};

/* Longest part of an attribute name quoted in an error message. */
#define NS_QUOTE_MAX 64

/* The namespace a request works on. */
static struct dict *ns_of(struct request *rq)
{
	return &rq->obj->u.dict;
}

/* Key of the attribute name in args[1]; on failure replies and returns -1. */
static int ns_key_or_reply(struct request *rq, struct dict_key *k)
{
	int err = dict_key_init(k, &rq->args[1], 1);
	if (err)
		dict_reply_error(rq, err);
	return err ? -1 : 0;
}

/* NOKEY naming the attribute, cut to NS_QUOTE_MAX bytes. */
static void ns_reply_nokey(struct request *rq)
{
	const msgpack_object_str *a = &rq->args[1].via.str;
	int n = a->size > NS_QUOTE_MAX ? NS_QUOTE_MAX : (int)a->size;
	reply_error(&rq->reply, IPCD_ENOKEY, "no attribute '%.*s'", n, a->ptr);
}

/* ns.set NAME ATTR VALUE -> nil */
void handle_NS_SET(struct request *rq)
{
	struct dict_key k;
	if (ns_key_or_reply(rq, &k) < 0)
		return;
	if (dict_store_or_reply(rq, &k, &rq->args[2]))
		reply_nil(&rq->reply);
	dict_key_deinit(&k);
}

/* ns.get NAME ATTR -> value | NOKEY */
void handle_NS_GET(struct request *rq)
{
	struct dict_key k;
	if (ns_key_or_reply(rq, &k) < 0)
		return;
	struct value *v = dict_find(ns_of(rq), k.bytes, k.len);
	if (v)
		reply_value(&rq->reply, v);
	else
		ns_reply_nokey(rq);
	dict_key_deinit(&k);
}

/* ns.del NAME ATTR -> nil | NOKEY */
void handle_NS_DEL(struct request *rq)
{
	struct dict_key k;
	if (ns_key_or_reply(rq, &k) < 0)
		return;
	struct value *v = dict_del(ns_of(rq), k.bytes, k.len);
	if (v)
		reply_nil(&rq->reply);
	else
		ns_reply_nokey(rq);
	value_free(v);
	dict_key_deinit(&k);
}

/* ns.all NAME -> map of attribute -> value */
void handle_NS_ALL(struct request *rq)
{
	dict_pack(ns_of(rq), reply_ok(&rq->reply));
	reply_end(&rq->reply);
}
