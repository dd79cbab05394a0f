/*
 * conn.c: libipcd's connection: connect and hello, writing request frames,
 * reading reply frames with poll() timeouts, matching replies to pending
 * requests in order, noticing a lost connection and reconnecting.
 *
 * The socket stays in blocking mode, and every send and every read that must
 * not wait says MSG_DONTWAIT: so a reply awaited with no deadline (no I/O
 * timeout) is one blocking recv, and a bounded wait is a poll() until the
 * reply's deadline (the op's own wait plus the I/O timeout) and a recv.
 * While writing, replies are read as they come so that a long pipeline never
 * stalls both sides.
 *
 * A lost connection is closed at once (fd = -1) but its unread replies stay
 * in c->in and are still returned in order; the requests after them get
 * IPCD_EIO. The next call that sends reconnects (conn_ready).
 *
 * A connection the server closed while we were idle is noticed by the first
 * write after it failing (EPIPE) before any byte of the requests queued
 * since went out (c->quiet): they are kept, the library reconnects and
 * writes them on the new connection, as if the loss had been noticed
 * before they were sent. No system call is spent checking an idle
 * connection, so a call costs a send and a recv (and a poll when an I/O
 * timeout is set).
 */
#include <errno.h>
#include <math.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "frame.h"
#include "conn.h"

/* Room for each read: replies up to this size take one recv. */
#define CONN_READ_ROOM ((size_t)64 << 10)

/* Message of the last failed ipcd_connect in this thread (ipcd_errmsg(NULL)). */
static __thread char conn_connect_err[512];

/* Monotonic milliseconds. */
static int64_t conn_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Deadline for a wait of wait_ms (-1 forever) plus the I/O timeout. */
static int64_t conn_deadline(const struct ipcd *c, int64_t wait_ms)
{
	if (c->io_timeout_ms < 0 || wait_ms < 0)
		return -1;
	return conn_now_ms() + wait_ms + c->io_timeout_ms;
}

int conn_fail(struct ipcd *c, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
	va_end(ap);
	return code;
}

int conn_result_clear(struct ipcd_result *res, unsigned op, int status)
{
	memset(res, 0, sizeof(*res));
	res->op = op;
	res->status = status;
	res->value.type = MSGPACK_OBJECT_NIL;
	return status;
}

void conn_begin(struct ipcd *c)
{
	if (c->in_used) {
		buf_consume(&c->in, c->in_used);
		c->in_used = 0;
	}
	msgpack_zone_clear(&c->reply_zone);
	c->errmsg[0] = '\0';
}

/* Close the socket. Unwritten requests are lost (their pending entries get
 * IPCD_EIO); replies already read stay in c->in. Sets no message. */
static void conn_drop(struct ipcd *c)
{
	if (c->fd < 0)
		return;
	while (c->nfds)
		close(c->fds[--c->nfds]);
	shm_detach(c);
	close(c->fd);
	c->fd = -1;
	c->lost_unsent = buf_used(&c->out) > 0;
	buf_consume(&c->out, buf_used(&c->out));
}

/* Drop the connection and fail with IPCD_EIO and a message. */
static int conn_lost(struct ipcd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int conn_lost(struct ipcd *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
	va_end(ap);
	conn_drop(c);
	return IPCD_EIO;
}

/* Wait for events on the socket until deadline (-1 forever). 0 with
 * *revents, IPCD_EIO (poll failure, or timeout unless keep: connection
 * dropped), IPCD_ETIMEOUT (timeout with keep: the connection stays). */
static int conn_poll(struct ipcd *c, short events, int64_t deadline, int keep, short *revents)
{
	for (;;) {
		int ms = -1;
		if (deadline >= 0) {
			int64_t left = deadline - conn_now_ms();
			ms = left < 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
		}
		struct pollfd p = { .fd = c->fd, .events = events };
		int n = poll(&p, 1, ms);
		if (n > 0) {
			*revents = p.revents;
			return 0;
		}
		if (n == 0 && keep)
			return conn_fail(c, IPCD_ETIMEOUT, "no frame of the stream within the timeout");
		if (n == 0) {
			c->timed_out = 1;
			return conn_lost(c, "no reply within the I/O timeout (%.3f s); connection closed",
			                 (double)c->io_timeout_ms / 1000.0);
		}
		if (errno != EINTR)
			return conn_lost(c, "poll: %s", strerror(errno));
	}
}

static void conn_shm_drain(struct ipcd *c);

int conn_take_fd(struct ipcd *c)
{
	/* On the channel a descriptor comes on the socket before its reply
	 * enters the ring: it is there, unread. */
	if (!c->nfds && c->shm)
		conn_shm_drain(c);
	if (!c->nfds)
		return -1;
	int fd = c->fds[0];
	memmove(&c->fds[0], &c->fds[1], --c->nfds * sizeof(c->fds[0]));
	return fd;
}

static void conn_keep_fds(struct ipcd *c, struct msghdr *msg);

/* recv into c->in's tail (room for at least want bytes), keeping the
 * descriptors that come with the bytes (map replies); recv's result. */
static ssize_t conn_recv_bytes(struct ipcd *c, size_t want, int flags)
{
	if (buf_reserve(&c->in, want) < 0) {
		errno = ENOMEM;
		return -1;
	}
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(CONN_MAX_FDS * sizeof(int))];
	} u;
	struct iovec iov = { c->in.data + c->in.len, c->in.cap - c->in.len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.space,
	                      .msg_controllen = sizeof(u.space) };
	ssize_t n = recvmsg(c->fd, &msg, flags | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return n;
	c->in.len += (size_t)n;
	conn_keep_fds(c, &msg);
	return n;
}

/* Keep the descriptors that came with msg. */
static void conn_keep_fds(struct ipcd *c, struct msghdr *msg)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t j = 0; j < k; j++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + j * sizeof(int), sizeof(int));
			if (c->nfds < CONN_MAX_FDS)
				c->fds[c->nfds++] = fd;
			else
				close(fd);   /* nobody asked for so many */
		}
	}
}

/* Read into c->in what the socket has, or (wait) once something is there.
 * 0 (also when nothing was there), IPCD_EIO (closed or failed: dropped),
 * IPCD_ENOMEMCLI (dropped). */
static int conn_read_some(struct ipcd *c, int wait)
{
	size_t want = CONN_READ_ROOM, len = 0, total;
	const char *body;
	/* Room for the rest of a large frame at the head, to read it in few calls. */
	if (frame_peek(&c->in, CONN_MAX_REPLY, &body, &len, &total) == FRAME_PARTIAL &&
	    buf_used(&c->in) >= PROTO_HEADER_SIZE) {
		size_t have = buf_used(&c->in) - PROTO_HEADER_SIZE;
		if (len - have > want)
			want = len - have;
	}
	for (;;) {
		ssize_t n = conn_recv_bytes(c, want, wait ? 0 : MSG_DONTWAIT);
		if (n > 0)
			return 0;
		if (n == 0)
			return conn_lost(c, "the server closed the connection");
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == ENOMEM) {
			conn_drop(c);
			return conn_fail(c, IPCD_ENOMEMCLI, "no memory for a reply of %zu bytes", want);
		}
		return conn_lost(c, "read: %s", strerror(errno));
	}
}

/* Read whatever the socket still holds, without waiting. */
static void conn_drain(struct ipcd *c)
{
	while (c->fd >= 0) {
		size_t before = buf_used(&c->in);
		if (conn_read_some(c, 0) || buf_used(&c->in) == before)
			return;
	}
}

/* ---- the shared-memory channel: the socket for wake-ups ------------------ */

/* Read the socket's wake-up bytes (dropped) and descriptors (kept), without
 * waiting. 0, or IPCD_EIO when the server is gone (dropped). */
static int conn_shm_read_socket(struct ipcd *c)
{
	for (;;) {
		char scratch[256];
		union {
			struct cmsghdr h;
			char space[CMSG_SPACE(CONN_MAX_FDS * sizeof(int))];
		} u;
		struct iovec iov = { scratch, sizeof(scratch) };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.space,
		                      .msg_controllen = sizeof(u.space) };
		ssize_t n = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n > 0) {
			conn_keep_fds(c, &msg);
			if ((size_t)n < sizeof(scratch))
				return 0;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return n == 0 ? conn_lost(c, "the server closed the connection")
		              : conn_lost(c, "read: %s", strerror(errno));
	}
}

static void conn_shm_drain(struct ipcd *c)
{
	if (c->fd >= 0)
		conn_shm_read_socket(c);
}

/* Wake the server: one byte on the socket. 0, or -1 with errno (a full
 * socket is not an error: it holds wake-ups the server has yet to read). */
static int conn_shm_wake(struct ipcd *c)
{
	for (;;) {
		if (send(c->fd, "", 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
			return 0;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* Replies from the ring onto c->in, waking the server if it waits for
 * room. 0, or IPCD_EIO (dropped). */
static int conn_shm_take(struct ipcd *c, size_t *got)
{
	int wake = 0;
	ssize_t n = shm_take_replies(c, &wake);
	if (n < 0)
		return conn_lost(c, "the shared-memory reply ring is inconsistent");
	if (wake && conn_shm_wake(c) < 0)
		return conn_lost(c, "send: %s", strerror(errno));
	*got = (size_t)n;
	return 0;
}

/* Wait for replies (for_room: room for requests) on the channel until
 * deadline: spin, then sleep on the socket. 0 when there may be something
 * (look again), or conn_poll's errors (keep: a timeout keeps the
 * connection). */
static int conn_shm_wait(struct ipcd *c, int64_t deadline, int keep, int for_room)
{
	if (shm_spin(c, for_room) || shm_sleep_ready(c, for_room))
		return 0;
	short re;
	int rc = conn_poll(c, POLLIN, deadline, keep, &re);
	return rc ? rc : conn_shm_read_socket(c);
}

static int conn_open(struct ipcd *c);
static int conn_reopen_unsent(struct ipcd *c);

/* conn_write on the channel: into the request ring, taking replies in
 * while it is full so that the server never stalls on us. */
static int conn_shm_write(struct ipcd *c, int64_t deadline, int *reopened)
{
	while (buf_used(&c->out) > 0 && c->shm) {
		int wake = 0;
		ssize_t n = shm_put_requests(c, &wake);
		if (n < 0)
			return conn_lost(c, "the shared-memory request ring is inconsistent");
		if (n > 0) {
			/* Consumed only once the server is sure to see them: a server
			 * gone while we were idle shows here, and they go again on a
			 * new connection (conn_write's rule for c->quiet). */
			if (wake && conn_shm_wake(c) < 0) {
				int err = errno;
				if (c->quiet && c->reconnect && c->pend_len && !*reopened &&
				    (err == EPIPE || err == ECONNRESET || err == ENOTCONN)) {
					*reopened = 1;
					int rc = conn_reopen_unsent(c);
					if (rc)
						return rc;
					continue;
				}
				return conn_lost(c, "send: %s", strerror(err));
			}
			if (wake)
				shm_woke_server(c);
			buf_consume(&c->out, (size_t)n);
			c->quiet = 0;
			continue;
		}
		size_t got;
		int rc = conn_shm_take(c, &got);
		if (!rc && !got)
			rc = conn_shm_wait(c, deadline, 0, 1);
		if (rc)
			return rc;
	}
	return 0;
}

/* The server closed the connection (send failed) while no byte of the
 * requests pending on it had been written (c->quiet): they are all in c->out
 * and anything the server said before closing answers none of them. Reconnect
 * and keep them queued for the new connection. 0, or conn_open's error
 * (then disconnected; they are lost unwritten and get IPCD_EIO). */
static int conn_reopen_unsent(struct ipcd *c)
{
	uint64_t old = c->gen;
	struct buf keep = c->out;
	buf_init(&c->out);
	int rc = conn_open(c);
	buf_free(&c->out);
	c->out = keep;
	if (rc) {
		buf_consume(&c->out, buf_used(&c->out));
		c->lost_unsent = 1;
		return rc;
	}
	for (size_t i = 0; i < c->pend_len; i++) {
		struct pending *p = &c->pend[(c->pend_head + i) % c->pend_cap];
		if (p->gen == old)
			p->gen = c->gen;
	}
	return 0;
}

/* Write c->out until empty or deadline. */
static int conn_write(struct ipcd *c, int64_t deadline)
{
	int reopened = 0;
	while (buf_used(&c->out) > 0) {
		if (c->fd < 0)
			return conn_fail(c, IPCD_EIO, "connection lost");
		if (c->shm) {
			int rc = conn_shm_write(c, deadline, &reopened);
			if (rc)
				return rc;
			continue;
		}
		ssize_t n = send(c->fd, buf_head(&c->out), buf_used(&c->out), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			buf_consume(&c->out, (size_t)n);
			c->quiet = 0;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			int err = errno;
			if (c->quiet && c->reconnect && c->pend_len && !reopened &&
			    (err == EPIPE || err == ECONNRESET || err == ENOTCONN)) {
				/* Closed while we were idle (restart, shutdown). */
				reopened = 1;
				int rc = conn_reopen_unsent(c);
				if (rc)
					return rc;
				continue;
			}
			/* The server closed us; what it said before is still to be read
			 * (MAXCLIENTS, or replies before a closing error). */
			conn_drain(c);
			return conn_lost(c, "send: %s", strerror(err));
		}
		short re;
		int rc = conn_poll(c, POLLOUT | POLLIN, deadline, 0, &re);
		if (rc)
			return rc;
		/* Take in replies while the server is sending them, or it may stop
		 * reading us once its output limit for this client is reached. */
		if (re & POLLIN && (rc = conn_read_some(c, 0)))
			return rc;
	}
	return 0;
}

int conn_flush(struct ipcd *c)
{
	if (!buf_used(&c->out))
		return 0;
	return conn_write(c, conn_deadline(c, 0));
}

/* The next whole frame at c->in's head, reading until deadline (stream:
 * a timeout keeps the connection, IPCD_ETIMEOUT). 0,
 * IPCD_EIO (lost, possibly earlier), IPCD_EREPLY (broken stream: dropped). */
static int conn_read_frame(struct ipcd *c, int64_t deadline, int stream, const char **body, size_t *len,
                           size_t *total)
{
	for (;;) {
		switch (frame_peek(&c->in, CONN_MAX_REPLY, body, len, total)) {
		case FRAME_OK:
			return 0;
		case FRAME_TOOBIG:
		case FRAME_EMPTY:
			conn_drop(c);
			return conn_fail(c, IPCD_EREPLY, "reply frame of invalid length %zu; connection closed", *len);
		case FRAME_PARTIAL:
			break;
		}
		if (c->fd < 0)
			return c->errmsg[0] ? IPCD_EIO : conn_fail(c, IPCD_EIO, "connection lost before the reply");
		int rc;
		if (c->shm) {
			size_t got;
			if ((rc = conn_shm_take(c, &got)) || (!got && (rc = conn_shm_wait(c, deadline, stream, 0))))
				return rc;
			continue;
		}
		/* Mid-frame or with more replies due, the rest is likely already
		 * there: read before polling. A lone request's reply is not yet. */
		if (buf_used(&c->in) || c->pend_len > 1) {
			size_t before = buf_used(&c->in);
			if ((rc = conn_read_some(c, 0)))
				return rc;
			if (buf_used(&c->in) > before || c->fd < 0)
				continue;
		}
		if (deadline < 0) {
			if ((rc = conn_read_some(c, 1)))
				return rc;
			continue;
		}
		short re;
		if ((rc = conn_poll(c, POLLIN, deadline, stream, &re)) || (rc = conn_read_some(c, 0)))
			return rc;
	}
}

/*
 * Parse reply frame body [id, status, result] for request id into res (its
 * views into body and c->reply_zone). 0, or IPCD_EREPLY with a message.
 * An error with id 0 is about the connection (PROTOCOL, TOOBIG, MAXCLIENTS
 * before any request was read): it answers the awaited request, and the
 * server closes the connection after it.
 */
static int conn_parse_reply(struct ipcd *c, const char *body, size_t len, uint64_t id,
                            struct ipcd_result *res)
{
	uint64_t rid, status;
	size_t at, off;
	if (wire_reply_head(body, len, &rid, &status, &at))
		return conn_fail(c, IPCD_EREPLY, "reply is not an array [id, status, result]");
	off = at;
	if (msgpack_unpack(body, len, &off, &c->reply_zone, &res->value) != MSGPACK_UNPACK_SUCCESS)
		return conn_fail(c, IPCD_EREPLY, "reply result is malformed msgpack");
	if (status > INT_MAX)
		return conn_fail(c, IPCD_EREPLY, "reply status is not an error code");
	if (rid != id && (rid || !status))
		return conn_fail(c, IPCD_EREPLY, "reply out of order: expected id %llu",
		                 (unsigned long long)id);
	res->id = rid;     /* 0 for an error about the connection */
	res->status = (int)status;
	res->mp = body + at;
	res->len = len - at;
	if (res->status) {
		const msgpack_object *m = &res->value;
		if (m->type == MSGPACK_OBJECT_STR)
			snprintf(c->errmsg, sizeof(c->errmsg), "%.*s", (int)m->via.str.size, m->via.str.ptr);
		else
			snprintf(c->errmsg, sizeof(c->errmsg), "%s", proto_error_message(res->status));
	}
	return 0;
}

/* Take what we use from hello's result map. */
static void conn_hello_result(struct ipcd *c, const msgpack_object *m)
{
	uint64_t u;
	if (!wire_obj_uint(wire_map_get(m, "max_frame"), &u) && u && u <= SIZE_MAX)
		c->max_frame = (size_t)u;
	if (!wire_obj_uint(wire_map_get(m, "max_name"), &u) && u && u <= SIZE_MAX)
		c->max_name = (size_t)u;
}

/* Ask for the shared-memory channel and map it. 0 (also when the server
 * says no: the socket it is), or an error (the connection is to be
 * dropped: the server has moved it off the socket already, or it broke). */
static int conn_shm_open(struct ipcd *c, int64_t deadline)
{
	struct conn_req rq;
	if (conn_request_begin(c, IPCD_OP_SHM_OPEN, 0, &rq))
		return 0;
	frame_end(&c->out, (size_t)rq.pos);
	const char *body;
	size_t len, total;
	int rc = conn_write(c, deadline);
	if (!rc)
		rc = conn_read_frame(c, deadline, 0, &body, &len, &total);
	if (rc)
		return rc;
	struct ipcd_result res;
	uint64_t size = 0;
	conn_result_clear(&res, IPCD_OP_SHM_OPEN, 0);
	rc = conn_parse_reply(c, body, len, rq.id, &res);
	if (!rc && !res.status && wire_obj_uint(wire_map_get(&res.value, "size"), &size))
		rc = conn_fail(c, IPCD_EREPLY, "shm.open's reply has no size");
	int refused = !rc && res.status;
	buf_consume(&c->in, total);
	msgpack_zone_clear(&c->reply_zone);
	if (rc)
		return rc;
	if (refused) {
		c->errmsg[0] = '\0';
		return 0;
	}
	if (shm_attach(c, conn_take_fd(c), size) < 0) {
		c->no_shm = 1;   /* the next connection stays on the socket */
		return conn_fail(c, IPCD_EIO, "cannot map the shared-memory channel");
	}
	return 0;
}

/* Refused by the socket's permissions: the system socket is for group ipcd. */
#define CONN_GROUP_HINT " (the system socket is for members of group ipcd: usermod -aG ipcd USER, then log in again)"

/* Connect to c->path and say hello. 0 or an error (c stays disconnected). */
static int conn_open(struct ipcd *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(c->path) >= sizeof(sa.sun_path))
		return conn_fail(c, IPCD_EINVAL, "socket path too long: %s", c->path);
	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	conn_drop(c);
	c->quiet = 0;   /* hello is not a pending request: a failed write of it is a failed connect */
	c->connect_errno = 0;

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return conn_fail(c, IPCD_EIO, "socket: %s", strerror(errno));
	int rc;
	do
		rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		c->connect_errno = errno;
		rc = conn_fail(c, IPCD_EIO, "cannot connect to %s: %s%s", c->path, strerror(errno),
		               errno == EACCES ? CONN_GROUP_HINT : "");
		close(fd);
		return rc;
	}
	c->fd = fd;
	c->gen++;
	buf_consume(&c->in, buf_used(&c->in));
	buf_consume(&c->out, buf_used(&c->out));
	c->in_used = 0;
	c->timed_out = c->lost_unsent = 0;
	c->max_frame = PROTO_DEFAULT_MAX_FRAME;
	c->max_name = PROTO_DEFAULT_MAX_NAME;

	/* hello VERSION [{"name": NAME}] */
	struct conn_req rq;
	int named = c->name && *c->name;
	if ((rc = conn_request_begin(c, IPCD_OP_HELLO, named ? 2 : 1, &rq)))
		goto fail;
	if (msgpack_pack_unsigned_int(&rq.pk, IPCD_PROTOCOL_VERSION) ||
	    (named && (msgpack_pack_map(&rq.pk, 1) || msgpack_pack_str_with_body(&rq.pk, "name", 4) ||
	               msgpack_pack_str_with_body(&rq.pk, c->name, strlen(c->name))))) {
		conn_request_abort(c, &rq);
		rc = conn_fail(c, IPCD_ENOMEMCLI, "out of memory");
		goto fail;
	}
	frame_end(&c->out, (size_t)rq.pos);

	int64_t deadline = conn_deadline(c, 0);
	const char *body;
	size_t len, total;
	struct ipcd_result res;
	conn_result_clear(&res, IPCD_OP_HELLO, 0);
	/* A failed write may leave the server's refusal (MAXCLIENTS) to read. */
	conn_write(c, deadline);
	if ((rc = conn_read_frame(c, deadline, 0, &body, &len, &total)))
		goto fail;
	rc = conn_parse_reply(c, body, len, rq.id, &res);
	if (!rc && !(rc = res.status))
		conn_hello_result(c, &res.value);
	buf_consume(&c->in, total);
	msgpack_zone_clear(&c->reply_zone);
	if (!rc && !c->no_shm && shm_wanted())
		rc = conn_shm_open(c, deadline);
	if (!rc) {
		c->quiet = 1;
		return 0;
	}
fail:
	conn_drop(c);
	if (rc == IPCD_EIO || rc == IPCD_EREPLY) {
		char why[sizeof(c->errmsg)];
		memcpy(why, c->errmsg, sizeof(why));
		conn_fail(c, rc, "hello to %s failed: %.400s", c->path, why);
	}
	return rc;
}

int conn_ready(struct ipcd *c)
{
	/* A connection the server closed while idle is noticed by the write
	 * (conn_write, c->quiet), not here: checking costs a system call. */
	if (c->fd >= 0)
		return 0;
	if (!c->reconnect)
		return conn_fail(c, IPCD_ECLOSED, "connection is closed (reconnecting is off)");
	/* A daemon being restarted is not listening for a moment (or resets
	 * the connection it had just accepted): retry with backoff. */
	int64_t deadline = conn_now_ms() + c->reconnect_ms, delay_ms = 5;
	for (;;) {
		int rc = conn_open(c);
		if (rc != IPCD_EIO && rc != IPCD_ESHUTDOWN)
			return rc;
		int64_t left = deadline - conn_now_ms();
		if (left <= 0)
			return rc;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)(delay_ms < left ? delay_ms : left) * 1000000L };
		nanosleep(&ts, NULL);
		delay_ms = delay_ms * 2 < 200 ? delay_ms * 2 : 200;
	}
}

int conn_request_begin(struct ipcd *c, unsigned op, uint32_t nargs, struct conn_req *rq)
{
	rq->pos = frame_begin(&c->out);
	if (rq->pos < 0)
		return conn_fail(c, IPCD_ENOMEMCLI, "out of memory");
	rq->id = ++c->next_id;
	msgpack_packer_init(&rq->pk, &c->out, buf_msgpack_write);
	if (wire_pack_request_head(&rq->pk, rq->id, op, nargs)) {
		conn_request_abort(c, rq);
		return conn_fail(c, IPCD_ENOMEMCLI, "out of memory");
	}
	return 0;
}

void conn_request_abort(struct ipcd *c, struct conn_req *rq)
{
	c->out.len = c->out.off + (size_t)rq->pos;
	if (c->out.len == c->out.off)
		buf_consume(&c->out, 0);
}

/* Append p to the pending ring. 0 or -1 on ENOMEM. */
static int conn_pending_push(struct ipcd *c, const struct pending *p)
{
	if (c->pend_len == c->pend_cap) {
		size_t cap = c->pend_cap ? c->pend_cap * 2 : 16;
		struct pending *n = malloc(cap * sizeof(*n));
		if (!n)
			return -1;
		for (size_t i = 0; i < c->pend_len; i++)
			n[i] = c->pend[(c->pend_head + i) % c->pend_cap];
		free(c->pend);
		c->pend = n;
		c->pend_cap = cap;
		c->pend_head = 0;
	}
	c->pend[(c->pend_head + c->pend_len) % c->pend_cap] = *p;
	c->pend_len++;
	return 0;
}

/* Remove and return the oldest pending request. */
static struct pending conn_pending_pop(struct ipcd *c)
{
	struct pending p = c->pend[c->pend_head];
	c->pend_head = (c->pend_head + 1) % c->pend_cap;
	if (!--c->pend_len)
		c->quiet = 1;   /* nothing of what comes next is written yet */
	return p;
}

int conn_request_end(struct ipcd *c, struct conn_req *rq, unsigned op, int64_t wait_ms)
{
	frame_end(&c->out, (size_t)rq->pos);
	size_t body = buf_used(&c->out) - (size_t)rq->pos - PROTO_HEADER_SIZE;
	if (body > c->max_frame) {
		conn_request_abort(c, rq);
		return conn_fail(c, IPCD_ETOOBIG, "request of %zu bytes is over the server's max_frame of %zu bytes",
		                 body, c->max_frame);
	}
	struct pending p = { .id = rq->id, .gen = c->gen, .wait_ms = wait_ms, .op = op };
	if (conn_pending_push(c, &p) < 0) {
		conn_request_abort(c, rq);
		return conn_fail(c, IPCD_ENOMEMCLI, "out of memory");
	}
	return 0;
}

int conn_recv(struct ipcd *c, struct ipcd_result *res)
{
	conn_result_clear(res, 0, 0);
	if (!c->pend_len)
		return conn_fail(c, IPCD_EINVAL, "no request is awaiting a reply");
	struct pending p = c->pend[c->pend_head];
	res->id = p.id;
	res->op = p.op;
	if (p.gen != c->gen) {
		conn_pending_pop(c);
		res->status = IPCD_EIO;
		return conn_fail(c, IPCD_EIO, "connection lost before the reply");
	}
	/* A failed write leaves the replies already read to be returned. */
	conn_flush(c);

	const char *body;
	size_t len, total;
	int rc = conn_read_frame(c, conn_deadline(c, p.wait_ms), 0, &body, &len, &total);
	conn_pending_pop(c);
	if (rc) {
		res->status = rc;
		return rc;
	}
	c->in_used = total;
	if ((rc = conn_parse_reply(c, body, len, p.id, res))) {
		conn_drop(c);
		conn_result_clear(res, p.op, rc);
		res->id = p.id;
		return rc;
	}
	c->last_id = p.id;
	c->last_gen = c->gen;
	c->last_op = p.op;
	c->last_ok = !res->status;
	if (!res->status)
		c->errmsg[0] = '\0';
	/* The server closes after these (VERSION, TOOBIG, SHUTDOWN, ...) and
	 * after any error about the connection itself (id 0). */
	else if (proto_error_closes(res->status) || res->id == 0)
		conn_drop(c);
	res->id = p.id;
	return res->status;
}

int conn_may_retry(const struct ipcd *c, const struct proto_op_info *op)
{
	if (!c->reconnect || c->timed_out)
		return 0;
	if (c->lost_unsent)
		return 1;
	/* A write whose reply was lost may have taken effect: never repeat it. */
	return !(op->flags & OPF_WRITE);
}

/* ---- public: connection ------------------------------------------------- */

/* Connect to the first of paths that accepts (proto_client_sockets' list).
 * A socket that is missing or refuses the connection is passed over; one
 * that accepts but fails the hello is an error. When none accepts, the
 * message names every path tried and why. */
static int conn_open_first(struct ipcd *c, char paths[][PROTO_SOCKET_PATH_MAX], int n)
{
	char why[sizeof(c->errmsg)];
	int len = snprintf(why, sizeof(why), "cannot connect to ipcd: tried");
	int denied = 0, rc = IPCD_EIO;
	for (int i = 0; i < n; i++) {
		char *p = strdup(paths[i]);
		if (!p)
			return conn_fail(c, IPCD_ENOMEMCLI, "out of memory");
		free(c->path);
		c->path = p;
		if (!(rc = conn_open(c)) || !c->connect_errno || n == 1)
			return rc;
		denied |= c->connect_errno == EACCES;
		if (len >= 0 && (size_t)len < sizeof(why))
			len += snprintf(why + len, sizeof(why) - (size_t)len, "%s %s (%s)", i ? "," : "", paths[i],
			                strerror(c->connect_errno));
	}
	return conn_fail(c, rc, "%s%s", why, denied ? CONN_GROUP_HINT : "");
}

IPCD_EXPORT int ipcd_connect_as(ipcd **out, const char *socket_path, const char *name)
{
	conn_connect_err[0] = '\0';
	if (!out) {
		snprintf(conn_connect_err, sizeof(conn_connect_err), "ipcd_connect: out is NULL");
		return IPCD_EINVAL;
	}
	*out = NULL;
	char paths[2][PROTO_SOCKET_PATH_MAX];
	int npaths = socket_path ? 1 : proto_client_sockets(paths);
	if (!npaths) {
		snprintf(conn_connect_err, sizeof(conn_connect_err), "default socket path too long");
		return IPCD_EINVAL;
	}
	if (!socket_path)
		socket_path = paths[0];
	struct ipcd *c = calloc(1, sizeof(*c));
	if (!c || !(c->path = strdup(socket_path)) || (name && !(c->name = strdup(name))) ||
	    !msgpack_zone_init(&c->reply_zone, 4096)) {
		if (c) {
			free(c->path);
			free(c->name);
		}
		free(c);
		snprintf(conn_connect_err, sizeof(conn_connect_err), "out of memory");
		return IPCD_ENOMEMCLI;
	}
	if (!msgpack_zone_init(&c->scratch, 4096)) {
		msgpack_zone_destroy(&c->reply_zone);
		free(c->path);
		free(c->name);
		free(c);
		snprintf(conn_connect_err, sizeof(conn_connect_err), "out of memory");
		return IPCD_ENOMEMCLI;
	}
	c->fd = -1;
	c->reconnect = 1;
	c->reconnect_ms = 5000;
	c->io_timeout_ms = -1;
	buf_init(&c->in);
	buf_init(&c->out);
	int rc = socket_path == paths[0] ? conn_open_first(c, paths, npaths) : conn_open(c);
	if (rc) {
		snprintf(conn_connect_err, sizeof(conn_connect_err), "%s", c->errmsg);
		ipcd_close(c);
		return rc;
	}
	*out = c;
	return IPCD_OK;
}

IPCD_EXPORT int ipcd_connect(ipcd **out, const char *socket_path)
{
	return ipcd_connect_as(out, socket_path, NULL);
}

IPCD_EXPORT void ipcd_close(ipcd *c)
{
	if (!c)
		return;
	conn_drop(c);
	prefetch_free(c);
	buf_free(&c->in);
	buf_free(&c->out);
	msgpack_zone_destroy(&c->reply_zone);
	msgpack_zone_destroy(&c->scratch);
	free(c->pend);
	free(c->path);
	free(c->name);
	free(c);
}

IPCD_EXPORT int ipcd_fd(const ipcd *c)
{
	/* On the channel the socket is signalled only when we say we sleep:
	 * a caller asking for the descriptor is about to poll it. */
	if (c && c->shm && c->pend_len)
		shm_ask_wake((struct ipcd *)c);
	return c ? c->fd : -1;
}

IPCD_EXPORT const char *ipcd_errmsg(const ipcd *c)
{
	return c ? c->errmsg : conn_connect_err;
}

IPCD_EXPORT const char *ipcd_strerror(int code)
{
	return proto_error_message(code);
}

IPCD_EXPORT const char *ipcd_errname(int code)
{
	return proto_error_name(code);
}

IPCD_EXPORT int ipcd_set_timeout(ipcd *c, double seconds)
{
	if (!c || seconds != seconds)
		return IPCD_EINVAL;
	if (seconds <= 0)
		c->io_timeout_ms = -1;
	else if (seconds >= (double)(INT64_MAX / 4000))
		c->io_timeout_ms = INT64_MAX / 4000;
	else
		c->io_timeout_ms = (int64_t)(seconds * 1000.0 + 0.999);
	return IPCD_OK;
}

IPCD_EXPORT int ipcd_set_reconnect(ipcd *c, int on)
{
	if (!c)
		return IPCD_EINVAL;
	c->reconnect = on != 0;
	return IPCD_OK;
}

IPCD_EXPORT int ipcd_set_reconnect_timeout(ipcd *c, double seconds)
{
	if (!c || isnan(seconds) || seconds < 0)
		return IPCD_EINVAL;
	c->reconnect_ms = seconds > 86400.0 * 365 ? INT64_C(86400000) * 365 : (int64_t)(seconds * 1000.0);
	return IPCD_OK;
}

/* ---- public: pipelining ------------------------------------------------- */

IPCD_EXPORT int ipcd_flush(ipcd *c)
{
	if (!c)
		return IPCD_EINVAL;
	conn_begin(c);
	return conn_flush(c);
}

IPCD_EXPORT int ipcd_recv(ipcd *c, struct ipcd_result *res)
{
	if (!c || !res) {
		if (res)
			conn_result_clear(res, 0, IPCD_EINVAL);
		return c ? conn_fail(c, IPCD_EINVAL, "ipcd_recv: res is NULL") : IPCD_EINVAL;
	}
	conn_begin(c);
	/* The wake-up ipcd_read_available or ipcd_fd asked for is for a
	 * caller about to poll; one that reads instead spins on the ring, and
	 * sets the flag again itself if it has to sleep. */
	if (c->shm)
		shm_unask_wake(c);
	return conn_recv(c, res);
}

IPCD_EXPORT int ipcd_next(ipcd *c, double timeout, struct ipcd_result *res)
{
	if (!c || !res || timeout != timeout) {
		if (res)
			conn_result_clear(res, 0, IPCD_EINVAL);
		return c ? conn_fail(c, IPCD_EINVAL, "ipcd_next: res is NULL or timeout NaN") : IPCD_EINVAL;
	}
	conn_begin(c);
	conn_result_clear(res, c->last_op, 0);
	res->id = c->last_id;
	if (c->pend_len || !c->last_id || !c->last_ok)
		return res->status = conn_fail(c, IPCD_EINVAL, "ipcd_next: no stream (the last reply "
		                                                      "was an error, or requests are pending)");
	if (c->last_gen != c->gen)
		return res->status = conn_fail(c, IPCD_EIO, "connection lost; the stream ended");
	int64_t deadline = -1;
	if (timeout >= 0)    /* at most a year: as good as forever, and no overflow */
		deadline = conn_now_ms() + (timeout > 3.2e7 ? (int64_t)3.2e10 : (int64_t)(timeout * 1000));
	const char *body;
	size_t len, total;
	int rc = conn_read_frame(c, deadline, 1, &body, &len, &total);
	if (rc)
		return res->status = rc;
	c->in_used = total;
	if ((rc = conn_parse_reply(c, body, len, c->last_id, res))) {
		conn_drop(c);
		conn_result_clear(res, c->last_op, rc);
		res->id = c->last_id;
		return rc;
	}
	if (res->status) {
		c->last_ok = 0;     /* an error ends the stream */
		if (proto_error_closes(res->status) || res->id == 0)
			conn_drop(c);
	}
	res->id = c->last_id;
	return res->status;
}

IPCD_EXPORT size_t ipcd_pending(const ipcd *c)
{
	return c ? c->pend_len : 0;
}

/* ipcd_read_available and ipcd_ready; ask: have the socket signalled for
 * the next reply on the channel if one is still due. */
static int conn_read_available(ipcd *c, size_t *ready, int ask)
{
	if (!c || !ready)
		return IPCD_EINVAL;
	conn_begin(c);
	*ready = 0;
	int rc = 0;
	if (c->shm) {
		size_t got;
		if (!shm_socket_due(c) || !(rc = conn_shm_read_socket(c)))
			rc = conn_shm_take(c, &got);
	} else if (c->fd >= 0) {
		/* Drain the socket. A read that did not fill the room it had took
		 * all there was (a Unix stream recv copies until either runs
		 * out), so only a full one needs another read: most calls are one
		 * recv, not one and a second that says EAGAIN. */
		size_t before;
		do {
			before = buf_used(&c->in);
			rc = conn_read_some(c, 0);
		} while (!rc && c->fd >= 0 && buf_used(&c->in) - before >= CONN_READ_ROOM);
	}
	struct buf view = c->in;
	for (size_t i = 0; i < c->pend_len; i++) {
		const struct pending *p = &c->pend[(c->pend_head + i) % c->pend_cap];
		const char *body;
		size_t len, total;
		if (p->gen == c->gen && frame_peek(&view, CONN_MAX_REPLY, &body, &len, &total) == FRAME_OK)
			view.off += total;
		else if (p->gen == c->gen && c->fd >= 0)
			break;
		(*ready)++;
	}
	/* Replies still due on the channel: have the socket signalled when the
	 * next comes, unless it came meanwhile (then look again). */
	if (ask && !rc && c->shm && *ready < c->pend_len && shm_sleep_ready(c, 0))
		return conn_read_available(c, ready, ask);
	return rc;
}

IPCD_EXPORT int ipcd_read_available(ipcd *c, size_t *ready)
{
	return conn_read_available(c, ready, 1);
}

IPCD_EXPORT int ipcd_ready(ipcd *c, size_t *ready)
{
	return conn_read_available(c, ready, 0);
}
