/*
 * dispatch.h: from a request frame to its handler, the first time and on
 * every retry.
 *
 * The request path: a frame comes in (server.c), is decoded once and
 * checked here (the op, the arity and argument types, the session's hello),
 * its object is found (created with defaults for OPF_WRITE/OPF_BLOCK ops,
 * provisional until a write on it succeeds and dropped when it is left
 * empty with nobody waiting, or lent as a read-only empty one of the right
 * type for reads of a missing name), and handle_<OP> runs. A handler answers through rq->reply or parks
 * the request with request_park; when the object changes, the parked
 * request is dispatched again, through the same handler (waiters.h). The
 * reply goes out at the loop's flush point.
 */
#ifndef IPCD_DISPATCH_H
#define IPCD_DISPATCH_H

#include <stdint.h>
#include <msgpack.h>
#include "proto.h"
#include "reply.h"
#include "server.h"

struct event_base;
struct object;

struct request {
	struct reply reply;
	const struct proto_op_info *op;
	const msgpack_object *args;  /* args[0] is the name for OPF_NAME ops */
	uint32_t nargs;
	struct object *obj;          /* for typed ops; a shared empty object on reads of a missing name */
	struct client *client;
	const char *frame;           /* the request body, kept by request_park */
	size_t frame_len;
	struct waiter *retry;        /* this request was parked and is dispatched again; else NULL */
	int timed_out;               /* a retry: its deadline passed */
	int parked;                  /* the handler parked it (or left it parked) */
	int unchanged;               /* answered, but nothing changed (a cas that did not swap): an
	                              * object made for it stays provisional, and goes */
	char *frame_owned;           /* a frame request_log_as made: freed when the request ends */
	size_t frame_owned_cap;      /* its bytes, from request_log_reserve */
};

/* Serve on fd (bound and listening) with base: the connection layer with
 * this dispatcher above it. dispatch_stop answers what is parked with
 * SHUTDOWN, runs what was received, and closes every connection. */
int dispatch_start(struct event_base *base, int listen_fd);
void dispatch_stop(void);

/* Run one logged request frame again for stand-in connection c (state.c). */
void dispatch_replay(struct client *c, const char *frame, size_t len);
/* c is going: its parked request loses its place, and what it holds goes
 * back to its objects, newest first. */
void dispatch_forget_client(struct client *c);

/* The object whose spare (object_type.spare) the running request's end
 * counts anyway, so a handler's change to it need not be counted at once;
 * NULL outside a write request. */
struct object *dispatch_counts_spare_after(void);

/* Optional argument i, or NULL when absent. */
static inline const msgpack_object *request_arg(const struct request *rq, uint32_t i)
{
	return i < rq->nargs ? &rq->args[i] : NULL;
}

/* A page's COUNT argument (may be NULL) into *n: absent or 0 =
 * PROTO_LS_DEFAULT_COUNT; over PROTO_LS_MAX_COUNT replies BADARG and returns
 * -1. The same for every paged op (ls, clients, dict.keys/values/items, dump). */
int request_page_count_or_reply(struct request *rq, const msgpack_object *count, uint64_t *n);

/* Convert args[i] to a new stored value; on failure replies the error and returns NULL. */
struct value *request_value_or_reply(struct request *rq, const msgpack_object *o);

/* True if the n values at o can be stored (not nested too deep), else
 * replies BADVALUE: checked before a request parks, so that it is refused
 * now rather than after its wait. */
int request_values_storable(struct request *rq, const msgpack_object *o, uint32_t n);

/*
 * Park rq on q, or leave it parked (a retry keeps its place and its
 * deadline; a retry parked elsewhere moves to the tail of q). timeout is
 * the TIMEOUT argument (NULL: absent, wait forever). A zero timeout does not
 * park: it replies code_if_zero and msg_if_zero instead, and a retry whose
 * deadline passed replies TIMEOUT. Returns the waiter, or NULL if it
 * replied.
 */
struct waiter *request_park(struct request *rq, struct waitq *q, const msgpack_object *timeout,
                            int code_if_zero, const char *msg_if_zero);

/*
 * For a handler whose result depends on something a replay cannot know
 * (get_many stopping short of max_output logs the count it took): the
 * state log is to record rq as the request [id, op, args[0..nargs)]
 * instead of the frame it came as. request_log_reserve(rq, bytes) first,
 * before the handler changes anything (0, or -1 on ENOMEM: reply NOMEM),
 * then request_log_as, which cannot fail, before anything the request
 * changed can wake another request. Both do nothing when no log is kept.
 */
int request_log_reserve(struct request *rq, size_t bytes);
void request_log_as(struct request *rq, const msgpack_object *args, uint32_t nargs);

/* True if no older parked request waits on q ahead of rq, so rq may take
 * its turn now. */
static inline int request_is_next(const struct request *rq, struct waitq *q)
{
	struct waiter *first = waitq_first(q);
	return !first || first == rq->retry;
}

/* One handler per op in ops.def. */
#define IPCD_OP(ident, code, wire, type, flags, sig, usage, help) void handle_##ident(struct request *rq);
#include "ops.def"
#undef IPCD_OP

#endif
