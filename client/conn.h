/*
 * conn.h: libipcd's connection, shared by conn.c (socket, hello, frames out
 * and in, replies, reconnect), call.c (encoding requests from signatures)
 * and helpers.c (typed shorthands, value encoders). Not installed.
 *
 * A request is encoded straight into c->out as one frame, remembered in the
 * pending ring (id, op, how long the server may keep it waiting), written by
 * conn_flush and answered in order by conn_recv. Replies are read into c->in
 * and parsed in place: a result's views point into c->in and c->reply_zone
 * and stay there until conn_begin() at the start of the next call.
 *
 * Every (re)connect bumps c->gen; a pending request from an older generation
 * lost its reply and gets IPCD_EIO.
 */
#ifndef IPCD_CLIENT_CONN_H
#define IPCD_CLIENT_CONN_H

#include <stdint.h>
#include <stddef.h>
#include <msgpack.h>
#include "proto.h"
#include "buf.h"
#include "ipcd.h"
#include "wire.h"
#include "shm_ring.h"

/* ipcd_send writes its buffer once it holds this much: bounds client memory
 * for long pipelines while keeping writes large. */
#define CONN_AUTOFLUSH (256u << 10)

/* Largest reply frame accepted: the server is trusted, but a length this
 * large can only be a broken stream. */
#define CONN_MAX_REPLY ((size_t)UINT32_MAX)

/* Descriptors received (with map replies) and not yet claimed, at most. */
#define CONN_MAX_FDS 8

/* One request awaiting its reply. */
struct pending {
	uint64_t id;
	uint64_t gen;      /* connection generation it was sent on */
	int64_t wait_ms;   /* how long the server may park it: 0 (non-blocking op), -1 forever */
	unsigned op;
};

/* Deliveries taken ahead with queue.get_ack_many and handed out one per
 * ipcd_queue_get_ack (prefetch.c). */
struct conn_prefetch {
	unsigned n;               /* ipcd_set_prefetch: at most this many ahead; 0, 1 = off */
	char *name;               /* the queue they came from */
	double lease;             /* the lease they were asked with */
	uint64_t gen;             /* the connection they are pending on */
	char *mp;                 /* the reply, copied: the deliveries' values point into it */
	msgpack_zone zone;
	msgpack_object list;      /* its array of {id, value, deliveries} */
	uint32_t next;            /* the next one to hand out */
	int zone_ready;
};

struct ipcd {
	int fd;                   /* -1 while disconnected */
	uint64_t gen;             /* bumped on every connect */
	char *path;               /* socket path, for reconnects */
	int connect_errno;        /* errno of conn_open's connect(), 0 if it got past it */
	char *name;               /* client name sent in hello, or NULL */
	int reconnect;            /* reconnect on the next call once lost */
	int64_t reconnect_ms;     /* how long a reconnect retries (backoff) before IPCD_EIO */
	int64_t waited_ms;        /* a call sent again after SHUTDOWN: its timeout lowered by this */
	int64_t io_timeout_ms;    /* -1: none */
	size_t max_frame;         /* from hello: largest request frame body */
	size_t max_name;          /* from hello: longest object name */
	uint64_t next_id;
	struct buf out;           /* encoded requests not yet written */
	struct buf in;            /* bytes read, replies not yet returned */
	size_t in_used;           /* bytes at in's head of the last returned reply */
	msgpack_zone reply_zone;  /* objects of the last returned reply */
	msgpack_zone scratch;     /* checking arguments before they are sent */
	struct pending *pend;     /* ring of pend_cap entries */
	size_t pend_head, pend_len, pend_cap;
	int timed_out;            /* the last loss was the I/O timeout */
	int lost_unsent;          /* the last loss left request bytes unwritten */
	uint64_t last_id;         /* the request whose reply conn_recv returned last, */
	uint64_t last_gen;        /* on this connection generation, */
	unsigned last_op;         /* of this op: what ipcd_next reads more frames of */
	int last_ok;              /* that reply was a success */
	int quiet;                /* no byte of a request pending on this
	                           * connection (gen) has been written yet */
	struct conn_prefetch pf;  /* ipcd_set_prefetch (prefetch.c) */
	struct conn_shm *shm;     /* the shared-memory channel, or NULL (shm.c) */
	int no_shm;               /* mapping it failed once: stay on the socket */
	int fds[CONN_MAX_FDS];    /* descriptors received, oldest first, not yet claimed */
	unsigned nfds;
	char errmsg[512];
};

/* The oldest descriptor received and not yet claimed (the one of the last
 * map reply returned, as PROTOCOL.md says), now the caller's; -1 if none. */
int conn_take_fd(struct ipcd *c);

/* A request being encoded into c->out. */
struct conn_req {
	ssize_t pos;              /* frame position relative to out's head */
	uint64_t id;
	msgpack_packer pk;        /* appends to c->out */
};

/* helpers.c: a {id, value, deliveries} map o into *out; 0 if it is not one. */
int delivery_of(struct ipcd *c, const msgpack_object *o, struct ipcd_delivery *out);
/* prefetch.c: forget what was taken ahead (ipcd_close). */
void prefetch_free(struct ipcd *c);
/* ipcd_queue_get_ack with prefetch on: 0 and *out from what was taken
 * ahead (taking up to n more first when none is left), or an error. */
int prefetch_get_ack(struct ipcd *c, const char *name, double timeout, double lease, struct ipcd_delivery *out);

/* shm.c: the shared-memory channel. */
/* False if IPCD_SHM=0 in the environment. */
int shm_wanted(void);
/* Map the memfd fd of size bytes (closed in any case) as c's channel. 0 or -1. */
int shm_attach(struct ipcd *c, int fd, uint64_t size);
/* Unmap c's channel, if any. */
void shm_detach(struct ipcd *c);
/* Reply bytes from the ring onto c->in: how many (0: none), or
 * SHM_RING_CORRUPT. *wake: the server waits for room and must be woken. */
ssize_t shm_take_replies(struct ipcd *c, int *wake);
/* c->out's head into the request ring, not consumed: how many (0: full),
 * or SHM_RING_CORRUPT. *wake: the server sleeps and must be woken. */
ssize_t shm_put_requests(struct ipcd *c, int *wake);
/* Spin a short while until replies (for_room: room for requests) are
 * there: 1, or 0 when it is time to sleep. */
int shm_spin(struct ipcd *c, int for_room);
/* Say we sleep, then look once more: 1 if what we wait for came meanwhile
 * (do not sleep; the flag is cleared), 0 to sleep on the socket. */
int shm_sleep_ready(struct ipcd *c, int for_room);
/* The server was woken (it slept): the next spin may be longer. */
void shm_woke_server(struct ipcd *c);
/* Ask the server to signal the socket at its next reply (the caller polls it). */
void shm_ask_wake(struct ipcd *c);
/* For ipcd_read_available: 1 if it should read the socket now (a wake-up
 * was asked for, or the socket has not been looked at for a while). */
int shm_socket_due(struct ipcd *c);
/* Take that back: the caller reads the ring now, and a wake-up would only
 * cost the server a send and us a recv. */
void shm_unask_wake(struct ipcd *c);

/* Start of every API call on c: release the previous result, clear errmsg. */
void conn_begin(struct ipcd *c);
/* Set c's errmsg (printf-style) and return code. */
int conn_fail(struct ipcd *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Make sure c is connected: reconnects (once) if lost. 0, IPCD_ECLOSED, or
 * connect's errors. (A connection the server closed while idle is noticed
 * by the next write: see conn_write.) */
int conn_ready(struct ipcd *c);

/* Begin a request frame [id, op, <nargs arguments packed by the caller>].
 * 0 or IPCD_ENOMEMCLI. */
int conn_request_begin(struct ipcd *c, unsigned op, uint32_t nargs, struct conn_req *rq);
/* Take the request back out of c->out (encoding failed). */
void conn_request_abort(struct ipcd *c, struct conn_req *rq);
/* Finish the request and remember it as pending with the op's wait.
 * 0, IPCD_ETOOBIG or IPCD_ENOMEMCLI (the request is then taken back). */
int conn_request_end(struct ipcd *c, struct conn_req *rq, unsigned op, int64_t wait_ms);

/* Write c->out. 0 or IPCD_EIO (the connection is then dropped). */
int conn_flush(struct ipcd *c);
/* The reply to the oldest pending request into res (required). Returns its
 * status, IPCD_EIO, IPCD_EREPLY, or IPCD_EINVAL when nothing is pending. */
int conn_recv(struct ipcd *c, struct ipcd_result *res);
/* True if a request of op that got IPCD_EIO from conn_recv may be sent again:
 * the connection is to be re-established and either the request never fully
 * left, or op is safe to repeat. */
int conn_may_retry(const struct ipcd *c, const struct proto_op_info *op);

/* Reset res to "no result" for op with status. Returns status. */
int conn_result_clear(struct ipcd_result *res, unsigned op, int status);

#endif
