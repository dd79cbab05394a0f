/*
 * dispatch.c: one request frame to one handler. The frame is decoded once
 * (decode_value, proto/decode.h): its objects carry each value's canonical
 * size and depth, so a handler that stores a value walks it no more.
 * Everything a handler may assume is checked here, once: the frame decodes
 * to [id, op, args...], the session said hello, the op exists, the
 * arguments fit its signature, the named object exists (or is created, or
 * lent empty) and has the op's type, and the requester has the access the
 * op needs (access.h). A parked request is dispatched again from its kept
 * frame (dispatch_retry), straight to its handler once its access is
 * checked again: the rest was checked when it arrived.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dispatch.h"
#include "access.h"
#include "decode.h"
#include "frame.h"
#include "config.h"
#include "log.h"
#include "monitor.h"
#include "object.h"
#include "rate.h"
#include "registry.h"
#include "state.h"
#include "value.h"
#include "wire.h"

typedef void handler_fn(struct request *rq);

static handler_fn *const handlers[PROTO_OP_MAX] = {
#define IPCD_OP(ident, code, wire, type, flags, sig, usage, help) [code] = handle_##ident,
#include "ops.def"
#undef IPCD_OP
};

/* Scratch zones for decoding; every request's objects die with its frame.
 * Retries decode into their own: they run inside a handler (waitq_serve),
 * whose request is still being read. */
static msgpack_zone zone, retry_zone;
static int zones_ready;

static void zones_init(void)
{
	if (!zones_ready) {
		msgpack_zone_init(&zone, 4096);
		msgpack_zone_init(&retry_zone, 4096);
		zones_ready = 1;
	}
}

/* Resolve the object a typed op works on; replies and returns -1 on failure. */
static int dispatch_find_object(struct request *rq, uint64_t sec)
{
	const msgpack_object *name = &rq->args[0];
	struct object *o = registry_find(name->via.str.ptr, name->via.str.size);
	enum proto_type want = rq->op->type;
	if (o) {
		/* Access first: the type of what the caller may not touch is not its to learn. */
		if (access_check(rq, o) < 0)
			return -1;
		if (o->type != want) {
			reply_error(&rq->reply, IPCD_EWRONGTYPE, "'%.*s' is a %s, not a %s",
			            (int)name->via.str.size, name->via.str.ptr, proto_type_name(o->type),
			            proto_type_name(want));
			return -1;
		}
	} else if ((rq->op->flags & (OPF_WRITE | OPF_BLOCK)) && !object_type_of(want)->create_only) {
		const char *why = "";
		int err = registry_create(name->via.str.ptr, name->via.str.size, want, NULL, &o, &why);
		if (err) {
			reply_error(&rq->reply, err, "cannot create '%.*s': %s", (int)name->via.str.size,
			            name->via.str.ptr, why);
			return -1;
		}
		o->provisional = 1;   /* kept only if this request succeeds or parks */
		access_set_creator(o, rq->client);
	} else {
		o = registry_empty(want);
	}
	if (rq->op->flags & OPF_WRITE)
		o->writes++;
	else
		o->reads++;
	rate_tick(&o->rate, sec);
	rq->obj = o;
	return 0;
}

/* Handlers running now: a retry inside another request's handler leaves
 * dropping objects to the outer request, whose objects it may be using. */
static unsigned depth;

/* The object the innermost running write request is on, whose spare
 * dispatch_run counts once its handler is done; NULL if none. */
static struct object *counted_after;

struct object *dispatch_counts_spare_after(void)
{
	return counted_after;
}

/* Run rq's handler, logged as state.c says. */
static void dispatch_run(struct request *rq)
{
	uint64_t ok_before = reply_ok_count;
	struct object *outer = counted_after;
	int counts = rq->obj && (rq->op->flags & OPF_WRITE);
	if (counts)
		counted_after = rq->obj;
	depth++;
	if (state_request_begin(rq))
		handlers[rq->op->code](rq);
	state_request_end(rq);
	free(rq->frame_owned);
	rq->frame_owned = NULL;
	depth--;
	counted_after = outer;
	if (counts)
		registry_count_spare(rq->obj);
	/* A write that succeeded makes a provisional object an ordinary one. */
	if (counts && rq->obj->provisional && reply_ok_count != ok_before &&
	    !rq->unchanged)
		rq->obj->provisional = 0;
}

/* o's request or wait is over: a provisional object left empty goes. */
static void dispatch_settle(struct object *o)
{
	if (!depth)
		registry_drop_if_unused(o);
}


/* The op a request names, by code or by name; NULL if none. */
static const struct proto_op_info *request_op(const msgpack_object *op)
{
	if (op->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		return proto_op_by_code(op->via.u64);
	if (op->type == MSGPACK_OBJECT_STR)
		return proto_op_by_name(op->via.str.ptr, op->via.str.size);
	return NULL;
}

static int dispatch_frame(struct client *c, const char *body, size_t len)
{
	struct request rq = { .client = c, .frame = body, .frame_len = len };
	struct wire_request wr;
	msgpack_object req;

	zones_init();
	reply_init(&rq.reply, c, 0);
	int ret = decode_value(body, len, PROTO_MAX_LEVELS, &zone, &req);
	if (ret == DECODE_ENOMEM) {  /* the frame was fine: refuse it, keep the connection */
		reply_nomem(&rq.reply);
		msgpack_zone_clear(&zone);
		return 0;
	}
	if (ret == DECODE_OK && req.type == MSGPACK_OBJECT_ARRAY && req.via.array.size == 1 &&
	    req.via.array.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		/* [id] alone: a request without its op, refused like a bad op. */
		static const msgpack_object no_op = { .type = MSGPACK_OBJECT_NIL };
		wr = (struct wire_request){ .id = req.via.array.ptr[0].via.u64, .op = &no_op };
	} else if (ret != DECODE_OK || wire_request_parse(&req, &wr)) {
		reply_error(&rq.reply, IPCD_EPROTOCOL,
		            ret == DECODE_OK ? "a request is an array [id, op, args...] with an unsigned id"
		                             : "frame is not one well-formed msgpack value (at most " PROTO_MAX_LEVELS_STR " levels deep)");
		msgpack_zone_clear(&zone);
		return -1;
	}
	rq.reply.id = wr.id;
	rq.op = request_op(wr.op);
	rq.args = wr.args;
	rq.nargs = wr.nargs;
	c->ops++;
	/* One predictable branch when nobody watches. Events are for hello and
	 * what follows it: a request before hello is refused and closes. */
	if (monitor_count() && rq.op && (c->hello_done || rq.op->code == IPCD_OP_HELLO))
		monitor_request(c, rq.op, rq.args, rq.nargs, len + PROTO_HEADER_SIZE);

	const char *why;
	int err;
	if (!c->hello_done && (!rq.op || rq.op->code != IPCD_OP_HELLO)) {
		rq.reply.id = 0;   /* an error about the connection */
		reply_error(&rq.reply, IPCD_EPROTOCOL, "the first request must be hello");
	} else if (!rq.op) {
		if (wr.op->type == MSGPACK_OBJECT_STR)
			reply_error(&rq.reply, IPCD_EBADOP, "unknown op '%.*s'", (int)wr.op->via.str.size,
			            wr.op->via.str.ptr);
		else
			reply_error(&rq.reply, IPCD_EBADOP, "unknown op (a code from ops.def or its name)");
	} else if ((err = proto_check_args(rq.op, rq.args, rq.nargs, config.max_name, &why))) {
		reply_error(&rq.reply, err, "%s", why);
	} else {
		if (rq.op->flags & OPF_NAME) { /* names the object in this request's log lines */
			rq.reply.name = rq.args[0].via.str.ptr;
			rq.reply.name_len = rq.args[0].via.str.size;
		}
		uint64_t sec = rate_now();
		if (rq.op->type == PROTO_T_ANY ? access_check(&rq, NULL) == 0 : dispatch_find_object(&rq, sec) == 0) {
			server_stats.ops_total++;
			rate_tick(&server_stats.rate, sec);
			server_stats.ops_by_code[rq.op->code]++;
			dispatch_run(&rq);
			dispatch_settle(rq.obj);
		}
	}
	msgpack_zone_clear(&zone);
	return c->closing ? -1 : 0;
}

static void reply_too_deep(struct request *rq)
{
	reply_error(&rq->reply, IPCD_EBADVALUE, "value nested deeper than max_depth (%u)", value_max_depth);
}

int request_page_count_or_reply(struct request *rq, const msgpack_object *count, uint64_t *n)
{
	*n = count ? count->via.u64 : 0;
	if (*n == 0)
		*n = PROTO_LS_DEFAULT_COUNT;
	if (*n <= PROTO_LS_MAX_COUNT)
		return 0;
	reply_error(&rq->reply, IPCD_EBADARG, "%s: COUNT is at most %u", rq->op->name, PROTO_LS_MAX_COUNT);
	return -1;
}

struct value *request_value_or_reply(struct request *rq, const msgpack_object *o)
{
	struct value *v;
	int err = value_new(o, &v);
	if (!err)
		return v;
	if (err == IPCD_ENOMEM)
		reply_nomem(&rq->reply);
	else
		reply_too_deep(rq);
	return NULL;
}

int request_values_storable(struct request *rq, const msgpack_object *o, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (decode_depth(&o[i]) > value_max_depth) {
			reply_too_deep(rq);
			return 0;
		}
	}
	return 1;
}

struct waiter *request_park(struct request *rq, struct waitq *q, const msgpack_object *timeout,
                            int code_if_zero, const char *msg_if_zero)
{
	struct waiter *w = rq->retry;
	if (w) {
		if (rq->timed_out) {
			reply_error(&rq->reply, IPCD_ETIMEOUT, "timed out");
			return NULL;
		}
		if (w->wq != q)
			waiter_move(w, q);
		rq->parked = 1;
		return w;
	}
	int64_t ms = proto_timeout_ms(timeout);
	if (ms == 0) {
		reply_error(&rq->reply, code_if_zero, "%s", msg_if_zero);
		return NULL;
	}
	w = &rq->client->waiter;
	if (!(w->frame = malloc(rq->frame_len ? rq->frame_len : 1))) {
		reply_nomem(&rq->reply);
		return NULL;
	}
	memcpy(w->frame, rq->frame, rq->frame_len);
	w->frame_len = rq->frame_len;
	w->id = rq->reply.id;
	w->op = rq->op->code;
	w->obj = rq->op->type == PROTO_T_ANY ? NULL : rq->obj;
	waiter_park(w, q, ms);
	rq->parked = 1;
	return w;
}

/* A packer's sink of fixed capacity: request_log_as never allocates. */
struct fixed_sink {
	char *p;
	size_t len, cap;
};

static int fixed_sink_write(void *data, const char *buf, size_t len)
{
	struct fixed_sink *f = data;
	if (len > f->cap - f->len)
		return -1;
	memcpy(f->p + f->len, buf, len);
	f->len += len;
	return 0;
}

int request_log_reserve(struct request *rq, size_t bytes)
{
	if (!state_logging())
		return 0;
	free(rq->frame_owned);
	if (!(rq->frame_owned = malloc(bytes)))
		return -1;
	rq->frame_owned_cap = bytes;
	return 0;
}

void request_log_as(struct request *rq, const msgpack_object *args, uint32_t nargs)
{
	if (!rq->frame_owned)
		return;
	struct fixed_sink f = { rq->frame_owned, 0, rq->frame_owned_cap };
	msgpack_packer pk;
	msgpack_packer_init(&pk, &f, fixed_sink_write);
	int bad = wire_pack_request_head(&pk, rq->reply.id, rq->op->code, nargs);
	for (uint32_t i = 0; i < nargs; i++)
		bad |= msgpack_pack_object(&pk, args[i]);
	if (bad) {   /* the caller reserved too little: a bug, not a state to log */
		log_err("%s: %zu bytes reserved for its log record are not enough", rq->op->name, rq->frame_owned_cap);
		abort();
	}
	rq->frame = rq->frame_owned;
	rq->frame_len = f.len;
}

/* Dispatch parked w again (waiters.h): answered, or left parked. */
static int dispatch_retry(struct waiter *w, int timed_out)
{
	struct request rq = { .client = w->client, .retry = w, .timed_out = timed_out, .obj = w->obj,
	                      .frame = w->frame, .frame_len = w->frame_len };
	msgpack_object req;
	reply_init(&rq.reply, w->client, w->id);
	rq.op = proto_op_by_code(w->op);
	if (decode_value(w->frame, w->frame_len, PROTO_MAX_LEVELS, &retry_zone, &req) != DECODE_OK) {
		/* It decoded when it arrived; only memory can fail now. */
		reply_nomem(&rq.reply);
	} else {
		rq.args = req.via.array.ptr + 2;
		rq.nargs = req.via.array.size - 2;
		if (rq.op->flags & OPF_NAME) {
			rq.reply.name = rq.args[0].via.str.ptr;
			rq.reply.name_len = rq.args[0].via.str.size;
		}
		/* A chmod or chown while it waited may have taken its access away. */
		if (!rq.obj || access_check(&rq, rq.obj) == 0)
			dispatch_run(&rq);
	}
	msgpack_zone_clear(&retry_zone);
	if (rq.parked)
		return 0;
	waiter_done(w);
	dispatch_settle(rq.obj);
	return 1;
}

void dispatch_replay(struct client *c, const char *frame, size_t len)
{
	dispatch_frame(c, frame, len);   /* a stand-in is never closed: whether it ran is in its reply */
}

/* c's parked request goes unanswered (its client hung up or is gone). */
static void dispatch_cancel_wait(struct client *c)
{
	if (c->waiter.wq) {
		struct object *o = c->waiter.obj;
		waiter_cancel(&c->waiter);
		dispatch_settle(o);
	}
}

/* c waits and has input after its parked request: if the first frame is a
 * cancel, the wait ends now, as its deadline would end it (the cancel runs
 * in its turn and says so). Only a wait of an OPF_BLOCK op ends so: a
 * monitor's stream does not. */
static void dispatch_parked_input(struct client *c)
{
	struct waiter *w = &c->waiter;
	const struct proto_op_info *op = proto_op_by_code(w->op);
	const char *body;
	size_t len, total;
	msgpack_object req;
	struct wire_request wr;
	if (!w->wq || w->interrupted || !op || !(op->flags & OPF_BLOCK) ||
	    frame_peek(&c->in, config.max_frame, &body, &len, &total) != FRAME_OK)
		return;
	zones_init();
	const struct proto_op_info *next = NULL;
	if (decode_value(body, len, PROTO_MAX_LEVELS, &zone, &req) == DECODE_OK && wire_request_parse(&req, &wr) == 0)
		next = request_op(wr.op);
	int cancel = next && next->code == IPCD_OP_CANCEL;
	msgpack_zone_clear(&zone);
	if (!cancel)
		return;
	c->wait_cancelled = 1;
	waiter_interrupt(w);   /* answered, its object settles as after any retry (dispatch_retry) */
}

void dispatch_forget_client(struct client *c)
{
	struct hold *h;
	dispatch_cancel_wait(c);
	while ((h = LIST_FIRST(&c->holds))) {
		LIST_REMOVE(h, link);
		object_type_of(h->obj->type)->release(h->obj, h);
	}
}

/* A connection closed (logged first: giving back what it held changes
 * objects). */
static void dispatch_client_gone(struct client *c)
{
	state_client_gone(c);
	dispatch_forget_client(c);
}

/* Shutting down: what waits is told so; the client's later requests run. */
static void dispatch_unpark(struct client *c)
{
	waiter_fail(&c->waiter, IPCD_ESHUTDOWN, "server is shutting down");
}

int dispatch_start(struct event_base *base, int listen_fd)
{
	zones_init();
	access_init(listen_fd);
	waiters_set_retry(dispatch_retry);
	server_on_close(dispatch_client_gone);
	server_cancel_wait = dispatch_cancel_wait;
	server_parked_input = dispatch_parked_input;
	return server_start(base, listen_fd, dispatch_frame);
}

void dispatch_stop(void)
{
	server_stop(dispatch_unpark);
}
