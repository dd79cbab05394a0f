/*
 * dispatch.h: from a decoded request to its handler. The dispatcher checks
 * the op, the arity and argument types (proto_check_args), finds the object
 * (creating it with defaults for OPF_WRITE/OPF_BLOCK ops, or lending a
 * read-only empty one of the right type for reads of a missing name), checks
 * its type, then calls handle_<OP>. Handlers answer through rq->reply or park
 * the request; they never see a malformed request.
 */
#ifndef IPCD_DISPATCH_H
#define IPCD_DISPATCH_H

#include <stdint.h>
#include <msgpack.h>
#include "proto.h"
#include "server.h"

struct object;

struct request {
	struct reply reply;
	const struct proto_op_info *op;
	const msgpack_object *args;  /* args[0] is the name for OPF_NAME ops */
	uint32_t nargs;
	struct object *obj;          /* for typed ops; a shared empty object on reads of a missing name */
	struct client *client;
};

/* Run one request frame body from c. Returns 0, or -1 if the connection must close. */
int dispatch_frame(struct client *c, const char *body, size_t len);

/* Optional argument i, or NULL when absent. */
static inline const msgpack_object *request_arg(const struct request *rq, uint32_t i)
{
	return i < rq->nargs ? &rq->args[i] : NULL;
}

/* A page's COUNT argument (may be NULL): absent or 0 = PROTO_LS_DEFAULT_COUNT,
 * at most PROTO_LS_MAX_COUNT; the same for every paged op (ls, clients,
 * dict.keys/values/items, dump). */
uint64_t request_page_count(const msgpack_object *count);

/* Convert args[i] to a new stored value; on failure replies the error and returns NULL. */
struct value *request_value_or_reply(struct request *rq, const msgpack_object *o);

/* Park rq on q with the timeout argument at args[i] (absent = forever).
 * A zero timeout does not park: it replies code_if_zero instead. The waiter
 * is filled from rq; the caller may set w->count/values first via the return. */
struct waiter *request_park(struct request *rq, struct waitq *q, const msgpack_object *timeout,
                            int code_if_zero, const char *msg_if_zero);

/* One handler per op in ops.def. */
#define IPCD_OP(ident, code, wire, type, flags, sig, usage, help) void handle_##ident(struct request *rq);
#include "ops.def"
#undef IPCD_OP

#endif
