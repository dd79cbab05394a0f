/*
 * reply.c: replies packed into the client's output buffer (see reply.h),
 * and how loudly a refused request is logged.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <event2/event.h>
#include "reply.h"
#include "config.h"
#include "frame.h"
#include "wire.h"
#include "log.h"
#include "proto.h"
#include "server.h"
#include "value.h"

/* msgpack_packer sink: append to the client's output; a failed allocation
 * drops the client instead of sending a torn frame. */
static int client_out_write(void *data, const char *p, size_t n)
{
	struct client *c = data;
	if (buf_append_fast(&c->out, p, n) < 0) {
		c->closing = 2;
		return -1;
	}
	return 0;
}

uint64_t reply_ok_count;
void (*reply_watch)(struct client *c, size_t pos, size_t len, uint64_t id);

void reply_init(struct reply *r, struct client *c, uint64_t id)
{
	r->c = c;
	r->id = id;
	r->frame = -1;
	r->name = NULL;
	r->name_len = 0;
	msgpack_packer_init(&r->pk, c, client_out_write);
}

/* Begin a reply frame [id, status, ...]: its length's room and the head
 * written in one piece. */
static msgpack_packer *reply_begin(struct reply *r, unsigned status)
{
	unsigned char head[WIRE_REPLY_HEAD_MAX];
	r->frame = frame_begin_with(&r->c->out, head, wire_put_reply_head(head, r->id, status));
	if (r->frame < 0)
		r->c->closing = 2;
	r->status = status;
	if (!status)
		reply_ok_count++;
	return &r->pk;
}

msgpack_packer *reply_ok(struct reply *r)
{
	return reply_begin(r, 0);
}

void reply_end(struct reply *r)
{
	struct client *c = r->c;
	size_t pos = (size_t)r->frame;
	int begun = r->frame >= 0 && c->closing != 2;
	if (begun)
		frame_end(&c->out, pos);
	r->frame = -1;
	if (begun && !c->monitoring && buf_used(&c->out) - pos > config.max_output) {
		/* A reply that alone is over max_output could never be sent
		 * within it: it is taken back and the client told, and the
		 * connection stays (TOOBIG for a request frame closes it). */
		size_t size = buf_used(&c->out) - pos;
		int closing = c->closing;
		c->out.len = c->out.off + pos;
		reply_error(r, IPCD_ETOOBIG, "reply of %zu bytes is over max_output (%llu)", size,
		            (unsigned long long)config.max_output);
		c->closing = closing;
		return;
	}
	if (begun && !r->status && reply_watch)
		reply_watch(c, pos, buf_used(&c->out) - pos, r->id);
	client_schedule_flush(c);
}

size_t reply_size(const struct reply *r)
{
	return r->frame >= 0 ? buf_used(&r->c->out) - (size_t)r->frame : 0;
}

size_t reply_array_begin(struct reply *r, uint32_t max)
{
	size_t at = r->c->out.len;
	msgpack_pack_array(&r->pk, max);
	return at;
}

void reply_array_shrink(struct reply *r, size_t at, uint32_t max, uint32_t n)
{
	struct buf *b = &r->c->out;
	if (r->frame < 0 || n == max || at >= b->len)
		return;   /* nothing was written (the connection is being dropped), or nothing to do */
	unsigned char old[WIRE_HEADER_MAX], hdr[WIRE_HEADER_MAX];
	size_t old_len = wire_put_array_header(old, max), len = wire_put_array_header(hdr, n);
	memcpy(b->data + at, hdr, len);
	if (len < old_len) {
		memmove(b->data + at + len, b->data + at + old_len, b->len - at - old_len);
		b->len -= old_len - len;
	}
}

void reply_nil(struct reply *r) { msgpack_pack_nil(reply_ok(r)); reply_end(r); }
void reply_bool(struct reply *r, int b) { (b ? msgpack_pack_true : msgpack_pack_false)(reply_ok(r)); reply_end(r); }
void reply_int(struct reply *r, int64_t v) { msgpack_pack_int64(reply_ok(r), v); reply_end(r); }
void reply_uint(struct reply *r, uint64_t v) { msgpack_pack_uint64(reply_ok(r), v); reply_end(r); }

void pack_value(msgpack_packer *pk, const struct value *v)
{
	pk->callback(pk->data, v->data, v->len);
}

void pack_cstr(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

void pack_key_uint(msgpack_packer *pk, const char *key, uint64_t v)
{
	pack_cstr(pk, key);
	msgpack_pack_uint64(pk, v);
}

void pack_key_int(msgpack_packer *pk, const char *key, int64_t v)
{
	pack_cstr(pk, key);
	msgpack_pack_int64(pk, v);
}

void pack_key_double(msgpack_packer *pk, const char *key, double v)
{
	pack_cstr(pk, key);
	msgpack_pack_double(pk, v);
}

void pack_key_bool(msgpack_packer *pk, const char *key, int b)
{
	pack_cstr(pk, key);
	(b ? msgpack_pack_true : msgpack_pack_false)(pk);
}

void pack_key_str(msgpack_packer *pk, const char *key, const char *s)
{
	pack_cstr(pk, key);
	pack_cstr(pk, s);
}

void pack_str(msgpack_packer *pk, const char *s, size_t len)
{
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, s, len);
}

void reply_value(struct reply *r, const struct value *v)
{
	pack_value(reply_ok(r), v);
	reply_end(r);
}

/* How loud an error reply is: a limit breach is a warning; a connection
 * closed for breaking the protocol, and a fault of ipcd's own, info; a
 * refused request is debug, like an outcome a client waits for (empty,
 * timeout, ...): the client hears why, and a loop of bad requests must not
 * flood the log at the default level. */
static int error_log_level(int code)
{
	switch (code) {
	case IPCD_ETOOBIG: case IPCD_ENOMEM: case IPCD_EMAXCLIENTS:
		return LOG_WARNING;
	case IPCD_EPROTOCOL: case IPCD_EVERSION: case IPCD_EINTERNAL:
		return LOG_INFO;
	default:
		return LOG_DEBUG;
	}
}

/*
 * A client writing at max_memory gets NOMEM for every write, and one line
 * each would flood the log. The first NOMEM is logged in full (warning);
 * those after it are counted, and while they go on one summary line per
 * NOMEM_LOG_INTERVAL seconds says how many there were. An interval without
 * any ends the flood: the next NOMEM is logged in full again. server_stop
 * logs what is still counted.
 */
#define NOMEM_LOG_INTERVAL 5
static struct event ev_nomem;
static int nomem_flood;         /* a NOMEM was logged in full; ev_nomem is pending */
static unsigned long long nomem_more;   /* NOMEMs since the last line */

static void nomem_summary(void)
{
	if (nomem_more)
		log_warn("%llu more writes refused: %s", nomem_more,
		         value_mem_limit ? "max_memory" : "out of memory");
	nomem_more = 0;
}

static void on_nomem_interval(evutil_socket_t fd, short what, void *arg)
{
	static const struct timeval interval = { NOMEM_LOG_INTERVAL, 0 };
	if (!nomem_more) {
		nomem_flood = 0;
		return;
	}
	nomem_summary();
	evtimer_add(&ev_nomem, &interval);
}

/* A NOMEM refusal: 1 if it is to be logged, 0 if only counted. */
static int nomem_log_this(void)
{
	static const struct timeval interval = { NOMEM_LOG_INTERVAL, 0 };
	if (nomem_flood) {
		nomem_more++;
		return 0;
	}
	if (!event_initialized(&ev_nomem))
		evtimer_assign(&ev_nomem, server_base, on_nomem_interval, NULL);
	nomem_flood = 1;
	evtimer_add(&ev_nomem, &interval);
	return 1;
}

void reply_error(struct reply *r, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	server_stats.errors_total++;
	if ((unsigned)code < sizeof(server_stats.errors_by_code) / sizeof(server_stats.errors_by_code[0]))
		server_stats.errors_by_code[code]++;
	pack_cstr(reply_begin(r, (unsigned)code), msg);
	reply_end(r);
	if (proto_error_closes(code) && !r->c->closing)
		r->c->closing = 1;
	if (code == IPCD_ENOMEM && !nomem_log_this())
		return;
	log_ctx(error_log_level(code), r->c->pid, r->name, r->name_len, 0, "client %llu (pid %d): %s: %s",
	        (unsigned long long)r->c->cid, (int)r->c->pid, proto_error_name(code), msg);
}


void reply_nomem(struct reply *r)
{
	if (value_mem_limit)
		reply_error(r, IPCD_ENOMEM, "max_memory (%zu bytes) reached", value_mem_limit);
	else
		reply_error(r, IPCD_ENOMEM, "out of memory");
}

void reply_log_flush(void)
{
	if (nomem_flood) {
		event_del(&ev_nomem);
		nomem_flood = 0;
		nomem_summary();
	}
}
