/*
 * client_ops.c: the connection ops, clients and kill_client. Both walk the
 * connection list (an operator's op, not a hot path); every figure they
 * show is a counter struct client keeps in O(1) as requests pass.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "access.h"
#include "clock.h"
#include "dispatch.h"
#include "wire.h"
#include "log.h"
#include "object.h"
#include "registry.h"
#include "value.h"

/* The process name of pid from /proc/PID/comm into buf; 0, or -1 if unreadable. */
static int read_comm(pid_t pid, char *buf, size_t size)
{
	char path[64];
	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	if (buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return 0;
}

/* What c holds (locks, semaphore units, deliveries, places in waits), as
 * [{name, type, count}], holds on one object in a row counted as one entry. */
static void pack_holds(msgpack_packer *pk, const struct client *c)
{
	uint32_t n = 0;
	const struct hold *h, *prev = NULL;
	LIST_FOREACH(h, &c->holds, link) {
		n += !prev || prev->obj != h->obj;
		prev = h;
	}
	msgpack_pack_array(pk, n);
	for (h = LIST_FIRST(&c->holds); h;) {
		const struct object *o = h->obj;
		uint64_t count = 0;
		for (; h && h->obj == o; h = LIST_NEXT(h, link))
			count++;
		msgpack_pack_map(pk, 3);
		pack_cstr(pk, "name");
		pack_str(pk, o->name, o->name_len);
		pack_key_str(pk, "type", proto_type_name(o->type));
		pack_key_uint(pk, "count", count);
	}
}

/* One connection as clients shows it. */
static void pack_client(msgpack_packer *pk, const struct client *c, const struct client *self, double now,
                        uint64_t now_ms)
{
	char comm[64];
	const struct waiter *w = &c->waiter;
	msgpack_pack_map(pk, 13);
	pack_key_uint(pk, "id", c->cid);
	pack_key_int(pk, "pid", c->pid);
	pack_key_int(pk, "uid", c->uid);
	pack_key_int(pk, "gid", c->gid);
	pack_key_str(pk, "name", c->name);
	pack_cstr(pk, "comm");
	if (read_comm(c->pid, comm, sizeof(comm)) == 0)
		pack_cstr(pk, comm);
	else
		msgpack_pack_nil(pk);
	pack_key_double(pk, "connected", c->connected);
	pack_key_uint(pk, "ops", c->ops);
	pack_key_uint(pk, "bytes_in", c->bytes_in);
	pack_key_uint(pk, "bytes_out", c->bytes_out);
	pack_key_bool(pk, "self", c == self);
	pack_cstr(pk, "holds");
	pack_holds(pk, c);
	pack_cstr(pk, "blocked");
	if (!w->wq) {
		msgpack_pack_nil(pk);
		return;
	}
	const struct proto_op_info *op = proto_op_by_code(w->op);
	msgpack_pack_map(pk, 3);
	pack_key_str(pk, "op", op ? op->name : "?");
	pack_cstr(pk, "name");
	if (w->obj) {
		msgpack_pack_str(pk, w->obj->name_len);
		msgpack_pack_str_body(pk, w->obj->name, w->obj->name_len);
	} else {
		msgpack_pack_nil(pk);
	}
	pack_key_double(pk, "since", now - (double)(now_ms - w->since_ms) / 1000.0);
}

/* True if self may see (and kill) connection c: its own uid's, or any for root. */
static int client_visible(const struct client *self, const struct client *c)
{
	return access_is_root(self) || c->uid == self->uid;
}

/* clients [CURSOR] [COUNT] -> [next_cursor, [{id, pid, ...}, ...]]: the
 * connections with id >= CURSOR in id order (the list is kept in that order)
 * that the caller may see: those of its own uid, every one for root. */
void handle_CLIENTS(struct request *rq)
{
	const msgpack_object *cur = request_arg(rq, 0), *cnt = request_arg(rq, 1);
	uint64_t from = cur ? cur->via.u64 : 0;
	uint64_t count;
	if (request_page_count_or_reply(rq, cnt, &count) < 0)
		return;

	struct client *first = TAILQ_FIRST(&server_clients), *c;
	while (first && first->cid < from)
		first = TAILQ_NEXT(first, link);
	uint64_t n = 0;
	for (c = first; c && n < count; c = TAILQ_NEXT(c, link))
		n += client_visible(rq->client, c);
	double now = clock_unix();
	uint64_t now_ms = clock_mono_ms();
	msgpack_packer *pk = reply_ok(&rq->reply);
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint64(pk, c ? c->cid : 0);
	msgpack_pack_array(pk, (uint32_t)n);
	for (c = first; n > 0; c = TAILQ_NEXT(c, link)) {
		if (client_visible(rq->client, c)) {
			pack_client(pk, c, rq->client, now, now_ms);
			n--;
		}
	}
	reply_end(&rq->reply);
}

/* kill_client ID [BY] -> how many connections were closed. BY "id" (or nil):
 * the connection numbered ID; "pid": every connection of process ID. The
 * requester's own connection is closed after this reply. */
void handle_KILL_CLIENT(struct request *rq)
{
	const msgpack_object *by = request_arg(rq, 1);
	uint64_t id = rq->args[0].via.u64;
	int by_pid = 0;
	if (by && by->type == MSGPACK_OBJECT_STR) {
		if (wire_key_is(by, "pid")) {
			by_pid = 1;
		} else if (!wire_key_is(by, "id")) {
			reply_error(&rq->reply, IPCD_EBADARG, "BY is \"id\" or \"pid\", not '%.*s'",
			            (int)by->via.str.size, by->via.str.ptr);
			return;
		}
	}
	struct client *self = rq->client, *c;
	uint64_t killed = 0, refused = 0;
	int kill_self = 0;
	TAILQ_FOREACH(c, &server_clients, link) {
		if (by_pid ? (uint64_t)c->pid != id || c->pid <= 0 : c->cid != id)
			continue;
		if (c->closing == 2)
			continue;          /* already going */
		if (!client_visible(self, c)) {
			refused++;         /* another uid's connection: root's to close */
			continue;
		}
		log_ctx(LOG_INFO, c->pid, NULL, 0, 0, "client %llu (pid %d) killed by client %llu (pid %d)",
		        (unsigned long long)c->cid, (int)c->pid, (unsigned long long)self->cid, (int)self->pid);
		killed++;
		if (c == self)
			kill_self = 1;
		else {
			if (c->waiter.wq) {   /* now, so that nothing is handed to it meanwhile */
				struct object *o = c->waiter.obj;
				waiter_cancel(&c->waiter);
				/* An object only its wait kept goes, as when it hangs up
				 * (no request of ours uses one: nothing else to wait for). */
				if (o)
					registry_drop_if_unused(o);
			}
			client_kill(c);    /* closed at the flush, not under our feet */
		}
	}
	if (!killed && refused) {
		reply_error(&rq->reply, IPCD_EPERMISSION,
		            "kill_client: uid %d may close only its own connections (root may close any)", (int)self->uid);
		return;
	}
	if (!killed && !by_pid) {   /* a pid may have no connection: that is 0 closed */
		reply_error(&rq->reply, IPCD_ENOTFOUND, "no connection with id %llu", (unsigned long long)id);
		return;
	}
	reply_uint(&rq->reply, killed);
	if (kill_self && !self->closing) {
		self->closing = 1;     /* after this reply is written */
		self->close_reason = "killed by itself";
	}
}
