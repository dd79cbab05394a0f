/*
 * server.h: connections, the bottom layer. Each client has an input buffer
 * from which whole frames are taken and handed, in order, to the frame
 * handler given to server_start, and an output buffer that replies are
 * appended to and written out at the loop's one flush point. A client with
 * a parked request stops dispatching until it is answered. This layer knows
 * no op and no type: what must happen when a connection goes is registered
 * with server_on_close by the layers above.
 */
#ifndef IPCD_SERVER_H
#define IPCD_SERVER_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/queue.h>
#include <msgpack.h>
#include <event2/event_struct.h>
#include "buf.h"
#include "proto.h"
#include "reply.h"
#include "rate.h"
#include "waiters.h"

struct event_base;
struct object;

/* Something a connection holds in an object (an unacknowledged delivery, a
 * lock), given back by the object's type when the connection closes. */
struct hold {
	LIST_ENTRY(hold) link;
	struct object *obj;
};

/* Descriptors a client may have waiting to go out with its replies. */
#define SERVER_OUT_FDS 8

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
	size_t in_counted;         /* bytes of in counted in server_stats.input */
	struct event ev_read, ev_write, ev_resume;
	int output_blocked;        /* requests wait: unsent output is over max_output */
	struct event ev_output_timer; /* output_timeout while output_blocked */
	struct event ev_deadline;  /* hello_timeout and idle_timeout (deadline.h) */
	uint64_t connected_ms, active_ms; /* monotonic: accepted, last bytes received */
	struct waiter waiter;      /* the one parked request, if wq != NULL */
	int wait_cancelled;        /* a cancel ended its parked request early: the cancel's reply says so */
	LIST_HEAD(, hold) holds;   /* what it holds in objects, newest first */
	double connected;          /* unix time */
	uint64_t ops, bytes_in, bytes_out;
	/* Descriptors to send (client_attach_fd): each goes with the output
	 * byte at stream position pos (bytes_out counts the bytes sent). */
	struct { uint64_t pos; int fd; } out_fds[SERVER_OUT_FDS];
	unsigned n_out_fds;
	int state_known;           /* its pid, uid and gid are in the state log (state.c) */
	int monitoring;            /* attached by the monitor op: its output is bounded by
	                            * monitor_buffer (events dropped), never by max_output */
	uint64_t monitor_dropped;  /* monitor: events dropped since the last one sent */
	struct shm_conn *shm;      /* its shared-memory channel (shm.c), or NULL */
	TAILQ_ENTRY(client) link;
	TAILQ_ENTRY(client) flush_link;
};

/* Run one request frame body from c; -1 if the connection must close. */
typedef int server_frame_fn(struct client *c, const char *body, size_t len);

/* Listen on fd (already bound and listening) with base, handing frames to on_frame. */
int server_start(struct event_base *base, int listen_fd, server_frame_fn *on_frame);
/* Drops c's parked request unanswered (set by dispatch.c): its peer hung up. */
extern void (*server_cancel_wait)(struct client *c);
/* c has a parked request and input after it (set by dispatch.c): a cancel
 * there ends the wait at once; anything else waits its turn. */
extern void (*server_parked_input)(struct client *c);
/* fn(c) runs for every connection that closes, before it is freed, in
 * the order registered (at most SERVER_CLOSE_HOOKS). */
#define SERVER_CLOSE_HOOKS 4
void server_on_close(void (*fn)(struct client *c));
/* Send fd (SCM_RIGHTS) with the next output byte of c, the start of the
 * reply about to be packed; c owns fd from here on and closes it once sent
 * (or if c closes first). A client that reads it takes the descriptor with
 * the reply's bytes: it arrives no later than the reply's last byte. 0, or
 * -1 if SERVER_OUT_FDS are waiting already (fd is still the caller's). */
int client_attach_fd(struct client *c, int fd);
/* Send n bytes at p with c's first waiting descriptor (SCM_RIGHTS), which
 * is closed once sent; sendmsg's result. */
ssize_t client_send_with_fd(struct client *c, const void *p, size_t n);
/* n request bytes were appended to c->in (from a socket or a ring): count
 * them and run what is whole. 0, or -1 if c was closed. */
int client_received(struct client *c, size_t n);
/* c has new output: write it at the next flush. */
void client_schedule_flush(struct client *c);
/* Stop accepting, run what clients already sent (unpark(c) answers c's
 * parked request, the layers above say how), flush and close them all. */
void server_stop(void (*unpark)(struct client *c));
/* A parked client was answered: continue with its buffered requests. */
void client_resume(struct client *c);
/* Write out every reply produced since the last flush: the loop's one
 * flush point, after each iteration's callbacks (loop.c). */
void server_flush_pending(void);
/* Close c now (from a safe point: not inside its own dispatch). */
void client_close(struct client *c, const char *why);

/* Drop c (not the client whose request is running: it sets closing = 1
 * after its reply instead): it reads no more, and it is closed, unread
 * replies dropped, at the next flush. */
void client_kill(struct client *c);

/* Server-wide counters for info. */
struct server_stats {
	uint64_t clients, clients_total, ops_total, errors_total;
	uint64_t reads;              /* socket reads that brought bytes: activity, for the busy poll */
	uint64_t input;              /* request bytes received and not yet run, all clients (max_input_total) */
	uint64_t shm_memory;         /* bytes of shared-memory rings, counted in max_memory too */
	uint64_t ops_by_code[PROTO_OP_MAX];
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
