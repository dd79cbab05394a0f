/*
 * session_ops.c: the ops of a session and of the server: hello, ping, info.
 */
#include <string.h>
#include <unistd.h>
#include "access.h"
#include "clock.h"
#include "dispatch.h"
#include "config.h"
#include "monitor.h"
#include "registry.h"
#include "state.h"
#include "value.h"
#include "wire.h"

/* hello VERSION [OPTIONS] -> {version, server, max_frame, max_name} | VERSION (closes) */
void handle_HELLO(struct request *rq)
{
	struct client *c = rq->client;
	if (rq->args[0].via.u64 != IPCD_PROTOCOL_VERSION) {
		int closing = c->closing;
		reply_error(&rq->reply, IPCD_EVERSION, "protocol version %llu is not supported; this server speaks %d",
		            (unsigned long long)rq->args[0].via.u64, IPCD_PROTOCOL_VERSION);
		if (c->hello_done)   /* a session keeps the version it agreed on */
			c->closing = closing;
		return;
	}
	const msgpack_object *v = wire_map_get(request_arg(rq, 1), "name");
	if (v && v->type != MSGPACK_OBJECT_STR) {
		reply_error(&rq->reply, IPCD_EBADARG, "hello: option name is a string");
		return;
	}
	if (v) {
		size_t n = v->via.str.size < sizeof(c->name) - 1 ? v->via.str.size : sizeof(c->name) - 1;
		memcpy(c->name, v->via.str.ptr, n);
		c->name[n] = '\0';
	}
	c->hello_done = 1;
	msgpack_packer *pk = reply_ok(&rq->reply);
	msgpack_pack_map(pk, 4);
	pack_key_int(pk, "version", IPCD_PROTOCOL_VERSION);
	pack_key_str(pk, "server", "ipcd " IPCD_VERSION);
	pack_key_uint(pk, "max_frame", config.max_frame);
	pack_key_uint(pk, "max_name", config.max_name);
	reply_end(&rq->reply);
}

/* ping [VALUE] -> VALUE | "pong" */
void handle_PING(struct request *rq)
{
	msgpack_packer *pk = reply_ok(&rq->reply);
	if (rq->nargs)
		msgpack_pack_object(pk, rq->args[0]);
	else
		pack_cstr(pk, "pong");
	reply_end(&rq->reply);
}

/* cancel -> true if it ended the waiting request sent just before it (that
 * request has its own answer, first), false if there was none to end. */
void handle_CANCEL(struct request *rq)
{
	reply_bool(&rq->reply, rq->client->wait_cancelled);
	rq->client->wait_cancelled = 0;
}

/* A str, or nil for NULL. */
static void pack_key_str_or_nil(msgpack_packer *pk, const char *key, const char *s)
{
	pack_cstr(pk, key);
	if (s)
		pack_cstr(pk, s);
	else
		msgpack_pack_nil(pk);
}

/* The objects c may read, in all and by type: everything for root, else a
 * walk of the registry (info is an operator's op, not a hot path). */
static size_t readable_objects(const struct client *c, size_t by_type[PROTO_T_COUNT])
{
	size_t n = 0;
	for (int t = PROTO_T_QUEUE; t < PROTO_T_COUNT; t++)
		by_type[t] = access_is_root(c) ? registry_count_type(t) : 0;
	if (access_is_root(c))
		return registry_count();
	const struct omap *m = registry_map();
	for (const struct omap_entry *e = omap_seek(m, 0); e; e = omap_next(m, e)) {
		const struct object *o = e->val;
		if (access_may(c, o, ACCESS_R)) {
			by_type[o->type]++;
			n++;
		}
	}
	return n;
}

/* info -> {version, protocol, pid, uptime, socket, config_file, clients,
 *          clients_total, max_clients, objects, max_objects, objects_by_type, memory, shm_memory,
 *          max_memory, input, ops, ops_per_sec, errors, ops_by_name,
 *          errors_by_name, monitors, monitor_events, monitor_dropped} */
void handle_INFO(struct request *rq)
{
	double now = clock_unix();
	msgpack_packer *pk = reply_ok(&rq->reply);
	msgpack_pack_map(pk, 25);
	pack_key_str(pk, "version", IPCD_VERSION);
	pack_key_int(pk, "protocol", IPCD_PROTOCOL_VERSION);
	pack_key_int(pk, "pid", (int)getpid());
	pack_key_double(pk, "uptime", now - server_stats.started);
	pack_key_str_or_nil(pk, "socket", server_socket_path);
	pack_key_str_or_nil(pk, "config_file", server_config_path);
	pack_key_uint(pk, "clients", server_stats.clients);
	pack_key_uint(pk, "clients_total", server_stats.clients_total);
	pack_key_uint(pk, "max_clients", config.max_clients);
	size_t by_type[PROTO_T_COUNT];
	pack_key_uint(pk, "objects", readable_objects(rq->client, by_type));  /* only what the caller may read */
	pack_key_uint(pk, "max_objects", config.max_objects);
	pack_cstr(pk, "objects_by_type");
	msgpack_pack_map(pk, PROTO_T_COUNT - 1);
	for (int t = PROTO_T_QUEUE; t < PROTO_T_COUNT; t++) {
		pack_cstr(pk, proto_type_name(t));
		msgpack_pack_uint64(pk, by_type[t]);
	}
	pack_key_uint(pk, "memory", value_mem_used);
	pack_key_uint(pk, "shm_memory", server_stats.shm_memory);
	pack_key_uint(pk, "max_memory", config.max_memory);
	pack_key_uint(pk, "input", server_stats.input);
	pack_key_uint(pk, "ops", server_stats.ops_total);
	pack_key_uint(pk, "ops_per_sec", rate_get(&server_stats.rate, rate_now()));
	pack_key_uint(pk, "errors", server_stats.errors_total);
	uint32_t used = 0;
	for (size_t i = 0; i < proto_ops_count; i++)
		used += server_stats.ops_by_code[proto_op_at(i)->code] != 0;
	pack_cstr(pk, "ops_by_name");
	msgpack_pack_map(pk, used);
	for (size_t i = 0; i < proto_ops_count; i++) {
		const struct proto_op_info *op = proto_op_at(i);
		uint64_t n = server_stats.ops_by_code[op->code];
		if (n) {
			pack_cstr(pk, op->name);
			msgpack_pack_uint64(pk, n);
		}
	}
	pack_cstr(pk, "persistence");
	state_pack_info(pk);
	const size_t ncodes = sizeof(server_stats.errors_by_code) / sizeof(server_stats.errors_by_code[0]);
	used = 0;
	for (size_t code = 1; code < ncodes; code++)
		used += server_stats.errors_by_code[code] != 0;
	pack_cstr(pk, "errors_by_name");
	msgpack_pack_map(pk, used);
	for (size_t code = 1; code < ncodes; code++) {
		if (server_stats.errors_by_code[code]) {
			pack_cstr(pk, proto_error_name((int)code));
			msgpack_pack_uint64(pk, server_stats.errors_by_code[code]);
		}
	}
	pack_key_uint(pk, "monitors", monitor_count());
	pack_key_uint(pk, "monitor_events", monitor_events);
	pack_key_uint(pk, "monitor_dropped", monitor_dropped);
	reply_end(&rq->reply);
}

/* save -> nil: a snapshot is being written in the background (info's
 * persistence section tells when it is done) */
void handle_SAVE(struct request *rq)
{
	const char *why;
	/* A snapshot costs the whole state's disk writes: an operator's call,
	 * not every socket user's. */
	if (!state_replaying && !access_is_operator(rq->client))
		reply_error(&rq->reply, IPCD_EPERMISSION, "save needs root or the daemon's own user");
	else if (state_save_now(&why) < 0)
		reply_error(&rq->reply, IPCD_EPERSIST, "cannot save: %s", why);
	else
		reply_nil(&rq->reply);
}
