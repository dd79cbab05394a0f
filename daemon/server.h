/*
 * server.h: connections. Each client has an input buffer from which whole
 * frames are taken and dispatched in order, and an output buffer that
 * replies are appended to and flushed at the end of each read batch. A
 * client with a parked request stops dispatching until it is answered.
 */
#ifndef IPCD_SERVER_H
#define IPCD_SERVER_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/queue.h>
#include <msgpack.h>
#include <event2/event_struct.h>
#include "buf.h"
#include "rate.h"
#include "waiters.h"

struct event_base;

struct client {
	uint64_t cid;              /* connection number, from 1 */
	int fd;
	pid_t pid;                 /* peer credentials from SO_PEERCRED */
	uid_t uid;
	gid_t gid;
	char name[32];             /* from hello's options, may be empty */
	int hello_done;
	int closing;               /* 1: close once output is flushed; 2: drop now */
	const char *close_reason;  /* for the log line when it closes; NULL = "closed after error" */
	int pending_flush;         /* on the flush list */
	int reading;               /* ev_read is added */
	struct buf in, out;
	struct event ev_read, ev_write, ev_resume;
	int output_blocked;        /* requests wait: unsent output is over max_output */
	struct event ev_output_timer; /* output_timeout while output_blocked */
	struct event ev_deadline;  /* hello_timeout and idle_timeout (deadline.h) */
	uint64_t connected_ms, active_ms; /* monotonic: accepted, last bytes received */
	struct waiter waiter;      /* the one parked request, if wq != NULL */
	LIST_HEAD(, qitem) deliveries; /* acknowledged gets held, newest first (see queue.h) */
	double connected;          /* unix time */
	uint64_t ops, bytes_in, bytes_out;
	int monitoring;            /* attached by the monitor op: its output is bounded by
	                            * monitor_buffer (events dropped), never by max_output */
	uint64_t monitor_dropped;  /* monitor: events dropped since the last one sent */
	TAILQ_ENTRY(client) link;
	TAILQ_ENTRY(client) flush_link;
};

/* A reply under construction: to c, for request id. */
struct reply {
	struct client *c;
	uint64_t id;
	ssize_t frame;             /* frame position in c->out, -1 if not begun */
	msgpack_packer pk;
	const char *name;          /* the request's object name (not NUL-terminated), for logs; may be NULL */
	size_t name_len;
};

void reply_init(struct reply *r, struct client *c, uint64_t id);
/* Start a success reply: the caller packs exactly one value, then reply_end. */
msgpack_packer *reply_ok(struct reply *r);
/* Finish a begun reply and schedule the flush. */
void reply_end(struct reply *r);
/* Whole success replies. */
void reply_nil(struct reply *r);
void reply_bool(struct reply *r, int b);
void reply_int(struct reply *r, int64_t v);
void reply_uint(struct reply *r, uint64_t v);
/* A stored value as the result. */
void reply_value(struct reply *r, const struct value *v);
/* An error reply: code from errors.def, message printf-style. If the code
 * closes the connection, the client is closed once it is flushed. */
void reply_error(struct reply *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Pack a stored value's bytes into pk as-is. */
void pack_value(msgpack_packer *pk, const struct value *v);
/* Pack a C string as msgpack str. */
void pack_cstr(msgpack_packer *pk, const char *s);
/* One map entry "key": value, for the replies that are maps (info, stat, clients, ...). */
void pack_key_uint(msgpack_packer *pk, const char *key, uint64_t v);
void pack_key_int(msgpack_packer *pk, const char *key, int64_t v);
void pack_key_double(msgpack_packer *pk, const char *key, double v);
void pack_key_bool(msgpack_packer *pk, const char *key, int b);
void pack_key_str(msgpack_packer *pk, const char *key, const char *s);

/* Listen on fd (already bound and listening) with base. */
int server_start(struct event_base *base, int listen_fd);
/* Stop accepting, answer waiters with SHUTDOWN, flush and close clients. */
void server_stop(void);
/* A parked client was answered: continue with its buffered requests. */
void client_resume(struct client *c);
/* Write out every reply produced since the last flush. Called at the end of
 * every event callback that can produce replies. */
void server_flush_pending(void);
/* Close c now (from a safe point: not inside its own dispatch). */
void client_close(struct client *c, const char *why);

/* Drop c (not the client whose request is running: it sets closing = 1
 * after its reply instead): its parked request is cancelled at once, and it
 * is closed, unread replies dropped, when this callback's output is flushed. */
void client_kill(struct client *c);

/* Server-wide counters for info. */
struct server_stats {
	uint64_t clients, clients_total, ops_total, errors_total;
	uint64_t reads;              /* socket reads that brought bytes: activity, for the busy poll */
	uint64_t ops_by_code[128];
	uint64_t errors_by_code[64]; /* wire error codes are below 64 (errors.def) */
	struct rate rate;            /* requests per second */
	double started;
};
extern struct server_stats server_stats;
/* Where the daemon listens and what it read, for info; set by main.c.
 * NULL: systemd passed the socket / no config file was loaded. */
extern const char *server_socket_path;
extern const char *server_config_path;
extern struct event_base *server_base;
extern TAILQ_HEAD(client_list, client) server_clients;

#endif
