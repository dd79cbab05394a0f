/*
 * server.c: the listening socket and the connections. One thread, one
 * libevent loop. A read callback takes every whole frame out of the input
 * buffer and hands it to the frame handler, in order; replies go to the
 * client's output buffer and everything produced in a loop iteration is
 * written once at its end (server_flush_pending, called by loop.c), so a
 * pipelined batch costs one read and one write.
 * A client that lets unread replies pass max_output is dropped rather than
 * allowed to grow the daemon's memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <event2/event.h>
#include "server.h"
#include "clock.h"
#include "config.h"
#include "deadline.h"
#include "frame.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "shm.h"
#include "wire.h"

#define READ_CHUNK (64 * 1024)

struct event_base *server_base;
struct server_stats server_stats;
const char *server_socket_path;
const char *server_config_path;
struct client_list server_clients = TAILQ_HEAD_INITIALIZER(server_clients);
static TAILQ_HEAD(, client) flush_list = TAILQ_HEAD_INITIALIZER(flush_list);
static int listen_fd = -1;
static server_frame_fn *frame_handler;
static void (*close_hooks[SERVER_CLOSE_HOOKS])(struct client *c);
static unsigned n_close_hooks;
static struct event ev_accept;
static uint64_t next_cid = 1;

static void client_process(struct client *c);
static void client_update_reading(struct client *c);
static void server_fds_freed(void);

void client_schedule_flush(struct client *c)
{
	if (!c->pending_flush) {
		c->pending_flush = 1;
		TAILQ_INSERT_TAIL(&flush_list, c, flush_link);
	}
}

static void client_update_reading(struct client *c);

/* ---- connections ----------------------------------------------------- */

void client_close(struct client *c, const char *why)
{
	log_ctx(LOG_DEBUG, c->pid, NULL, 0, 0, "client %llu (pid %d) closed: %s", (unsigned long long)c->cid,
	        (int)c->pid, why);
	for (unsigned i = 0; i < n_close_hooks; i++)
		close_hooks[i](c);
	if (c->pending_flush)
		TAILQ_REMOVE(&flush_list, c, flush_link);
	event_del(&c->ev_read);
	event_del(&c->ev_write);
	event_del(&c->ev_resume);
	event_del(&c->ev_output_timer);
	deadline_stop(c);
	shm_free(c);
	for (unsigned i = 0; i < c->n_out_fds; i++)
		close(c->out_fds[i].fd);
	close(c->fd);
	server_fds_freed();
	server_stats.input -= c->in_counted;
	buf_free(&c->in);
	buf_free(&c->out);
	TAILQ_REMOVE(&server_clients, c, link);
	server_stats.clients--;
	free(c);
}

void (*server_cancel_wait)(struct client *c);
void (*server_parked_input)(struct client *c);

void server_on_close(void (*fn)(struct client *c))
{
	if (n_close_hooks < SERVER_CLOSE_HOOKS)
		close_hooks[n_close_hooks++] = fn;
}

void client_kill(struct client *c)
{
	c->closing = 2;
	client_update_reading(c);
	client_schedule_flush(c);
}

/*
 * Unread output is bounded by max_output: while a client's unsent replies
 * are over it, its next requests wait (client_process stops, and reading
 * stops past a frame's worth of input, as for a parked request). A client that reads goes on as soon as
 * it is under max_output again; one that reads nothing for output_timeout
 * seconds is disconnected.
 */
static int client_output_full(const struct client *c)
{
	return !c->monitoring && buf_used(&c->out) >= config.max_output;
}

static void client_on_output_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	log_ctx(LOG_WARNING, c->pid, NULL, 0, 0,
	        "client %llu (pid %d): %zu bytes of unread replies, over max_output (%llu), none read for "
	        "output_timeout (%llu s); disconnecting", (unsigned long long)c->cid, (int)c->pid, buf_used(&c->out),
	        (unsigned long long)config.max_output, (unsigned long long)config.output_timeout);
	client_close(c, "not reading its replies");
}

/* After a write of n bytes to a client held back by client_output_full. */
static void client_output_progress(struct client *c, size_t n)
{
	if (!c->output_blocked)
		return;
	if (!client_output_full(c)) {
		c->output_blocked = 0;
		event_del(&c->ev_output_timer);
		client_update_reading(c);
		client_resume(c);
	} else if (n > 0 || !evtimer_pending(&c->ev_output_timer, NULL)) {
		struct timeval tv = { (time_t)config.output_timeout, 0 };
		evtimer_add(&c->ev_output_timer, &tv);
	}
}

int client_attach_fd(struct client *c, int fd)
{
	if (c->n_out_fds == SERVER_OUT_FDS)
		return -1;
	c->out_fds[c->n_out_fds].pos = c->bytes_out + buf_used(&c->out);
	c->out_fds[c->n_out_fds].fd = fd;
	c->n_out_fds++;
	return 0;
}

ssize_t client_send_with_fd(struct client *c, const void *p, size_t n)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { (void *)p, n };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.space,
	                      .msg_controllen = sizeof(u.space) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &c->out_fds[0].fd, sizeof(int));
	ssize_t w = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
	if (w > 0) {
		close(c->out_fds[0].fd);
		memmove(&c->out_fds[0], &c->out_fds[1], --c->n_out_fds * sizeof(c->out_fds[0]));
	}
	return w;
}

/* Write as much of c's output as the socket takes, each waiting descriptor
 * with its byte; bytes_out counts what went. -1 on a socket error. */
static int client_write(struct client *c)
{
	while (buf_used(&c->out) > 0) {
		size_t n = buf_used(&c->out);
		uint64_t ring_from = shm_out_from(c);
		ssize_t w;
		if (c->bytes_out < ring_from && ring_from - c->bytes_out < n)
			n = (size_t)(ring_from - c->bytes_out);   /* the socket carries up to there */
		if (c->bytes_out >= ring_from) {
			w = shm_write(c, n);
			if (w == 0)
				return 0;   /* the ring is full: the client wakes us */
		} else if (c->n_out_fds && c->out_fds[0].pos > c->bytes_out) {
			n = (size_t)(c->out_fds[0].pos - c->bytes_out);
			w = write(c->fd, buf_head(&c->out), n);
		} else if (c->n_out_fds) {
			if (c->n_out_fds > 1 && c->out_fds[1].pos - c->bytes_out < n)
				n = (size_t)(c->out_fds[1].pos - c->bytes_out);
			w = client_send_with_fd(c, buf_head(&c->out), n);
		} else {
			w = write(c->fd, buf_head(&c->out), n);
		}
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		buf_consume(&c->out, (size_t)w);
		c->bytes_out += (uint64_t)w;
	}
	return 0;
}

/* Write c's output; returns -1 if c was closed. */
static int client_flush(struct client *c)
{
	if (c->closing == 2) {
		client_close(c, "dropped");
		return -1;
	}
	size_t before = buf_used(&c->out);
	if (client_write(c) < 0) {
		client_close(c, strerror(errno));
		return -1;
	}
	client_output_progress(c, before - buf_used(&c->out));
	if (buf_used(&c->out) > 0) {
		if (!shm_output_waits(c))
			event_add(&c->ev_write, NULL);
		return 0;
	}
	event_del(&c->ev_write);
	if (c->closing) {
		client_close(c, c->close_reason ? c->close_reason : "closed after error");
		return -1;
	}
	return 0;
}

void server_flush_pending(void)
{
	struct client *c;
	while ((c = TAILQ_FIRST(&flush_list))) {
		TAILQ_REMOVE(&flush_list, c, flush_link);
		c->pending_flush = 0;
		client_flush(c);
	}
}

static void client_on_write(evutil_socket_t fd, short what, void *arg)
{
	client_flush(arg);
}

/* Keep reading to notice a hang-up, but stop buffering past max_input (and
 * past a frame's worth) while requests are not being processed. (While they
 * are, every whole frame runs as it arrives: what stays is at most one
 * partial frame.) */
static void client_update_reading(struct client *c)
{
	uint64_t cap = config.max_input < config.max_frame + PROTO_HEADER_SIZE ? config.max_input
	                                                                      : config.max_frame + PROTO_HEADER_SIZE;
	int want = !c->closing && ((!c->waiter.wq && !c->output_blocked) || buf_used(&c->in) < cap);
	if (c->shm) {
		/* Requests come through the ring; the socket is read for wake-ups
		 * and its end, always. */
		shm_want_input(c, want);
		want = !c->closing;
	}
	if (want && !c->reading)
		event_add(&c->ev_read, NULL);
	else if (!want && c->reading)
		event_del(&c->ev_read);
	c->reading = want;
}

/* Bring server_stats.input up to date with c's input buffer. */
static void client_input_count(struct client *c)
{
	server_stats.input = server_stats.input - c->in_counted + buf_used(&c->in);
	c->in_counted = buf_used(&c->in);
}

/*
 * Input buffered for all clients is over max_input_total (partial frames
 * that never end, or many clients pipelining while they wait): close the
 * client that holds the most, so that the others go on. Returns 1 if that
 * was c.
 */
static int input_over_total(struct client *c)
{
	int closed_c = 0;
	while (config.max_input_total && server_stats.input > config.max_input_total) {
		struct client *big = NULL, *o;
		TAILQ_FOREACH(o, &server_clients, link)
			if (!big || o->in_counted > big->in_counted)
				big = o;
		if (!big || !big->in_counted)
			break;
		log_ctx(LOG_WARNING, big->pid, NULL, 0, 0,
		        "client %llu (pid %d): %zu bytes of unrun input, all clients over max_input_total (%llu); "
		        "disconnecting", (unsigned long long)big->cid, (int)big->pid, big->in_counted,
		        (unsigned long long)config.max_input_total);
		closed_c |= big == c;
		client_close(big, "input over max_input_total");
	}
	return closed_c;
}

int client_received(struct client *c, size_t n)
{
	server_stats.reads++;
	c->bytes_in += (uint64_t)n;
	deadline_touch(c);
	client_input_count(c);
	if (input_over_total(c))
		return -1;
	if (!c->waiter.wq) {
		client_process(c);
	} else {
		server_parked_input(c);
		client_update_reading(c);
	}
	return 0;
}

static void client_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	ssize_t n;
	if (c->shm) {
		if ((n = shm_on_socket(c, 1)) > 0)
			return;   /* wake-ups, served (c may be closed now) */
	} else {
		n = buf_recv_fd(&c->in, c->fd, READ_CHUNK, 0);
	}
	if (n == 0) {
		/* The end of the peer's input (it shut down its sending side, or
		 * closed): what it sent runs in order, and every reply made is
		 * written before the close. A request that would wait is dropped
		 * unanswered, with what came after it: nothing could cancel it, and
		 * what it took for a peer that is gone would be lost. */
		if (!c->waiter.wq)
			client_process(c);
		const char *why = "end of stream";
		if (c->waiter.wq) {
			server_cancel_wait(c);
			why = "hung up while waiting";
		}
		if (!c->closing) {
			c->closing = 1;
			c->close_reason = why;
		}
		client_update_reading(c);
		client_flush(c);   /* closes now if all is written, not at the loop's flush */
		return;
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		client_close(c, strerror(errno));
		return;
	}
	if (n > 0)
		client_received(c, (size_t)n);
	else if (!c->waiter.wq)
		client_process(c);
	else
		client_update_reading(c);
}

static void client_on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	client_process(c);
}

void client_resume(struct client *c)
{
	event_active(&c->ev_resume, 0, 0);
	loop_events_due();
}

/* Replies to a long run of requests from one shared-memory client go out
 * every REPLIES_EARLY_EVERY frames, not only when the run is over: its
 * client reads the first and sends more while the rest are served, so that
 * a pipeline keeps both sides busy instead of taking turns. (On the socket
 * a write per few frames would cost more than the overlap gains.) */
#define REPLIES_EARLY_EVERY 16

/* Dispatch every whole frame in c's input, in order, until one parks. */
static void client_process(struct client *c)
{
	unsigned run = 0;
	while (!c->closing && !c->waiter.wq) {
		if (client_output_full(c)) {
			c->output_blocked = 1;
			goto done;
		}
		const char *body;
		size_t len, total;
		switch (frame_peek(&c->in, config.max_frame, &body, &len, &total)) {
		case FRAME_PARTIAL:
			goto done;
		case FRAME_TOOBIG: {
			struct reply r;
			reply_init(&r, c, 0);
			reply_error(&r, IPCD_ETOOBIG, "frame of %zu bytes is over max_frame (%llu)", len,
			            (unsigned long long)config.max_frame);
			goto done;
		}
		case FRAME_EMPTY: {
			struct reply r;
			reply_init(&r, c, 0);
			reply_error(&r, IPCD_EPROTOCOL, "zero-length frame");
			goto done;
		}
		case FRAME_OK:
			frame_handler(c, body, len);
			buf_consume(&c->in, total);
			shm_opened(c);
			/* A write error is left for the flush at the end of the
			 * iteration, which closes c. */
			if (++run % REPLIES_EARLY_EVERY == 0 && shm_replies_may_go(c))
				client_write(c);
			break;
		}
	}
done:
	if (c->waiter.wq && !c->closing)
		server_parked_input(c);   /* a cancel that came with the request it ends */
	if (c->closing)
		buf_consume(&c->in, buf_used(&c->in));
	client_input_count(c);
	client_update_reading(c);
}

/* Refuse a connection past max_clients with an error frame, then close. */
static void refuse_client(int fd, const char *why)
{
	char frame[64];
	struct buf b = { frame, 0, 0, sizeof(frame) };
	msgpack_packer pk;
	size_t pos = (size_t)frame_begin(&b);
	msgpack_packer_init(&pk, &b, buf_msgpack_write);
	wire_pack_reply_head(&pk, 0, IPCD_EMAXCLIENTS);
	pack_cstr(&pk, why);
	frame_end(&b, pos);
	if (write(fd, b.data, b.len) < 0)
		log_debug("refused client: %s", strerror(errno));
	close(fd);
}

/*
 * Out of descriptors (EMFILE, ENFILE), a pending connection cannot be
 * accepted, the listener stays readable and the loop would spin on it. A
 * descriptor is kept in reserve for that: it is closed to accept one
 * connection, which gets MAXCLIENTS and is closed, and is opened again.
 * One warning per episode; the episode ends at the next accepted client.
 * If the reserve cannot be had back, accepting pauses until a client
 * closes (server_fds_freed).
 */
static int reserve_fd = -1;
static int fds_exhausted;       /* an episode is going on: it was logged */
static int accept_paused;       /* ev_accept is deleted until a client closes */

static void reserve_open(void)
{
	if (reserve_fd < 0)
		reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Accept and refuse one connection with the reserve descriptor; 0 to go on
 * accepting, -1 to stop (nothing pending, or accepting paused). */
static int accept_without_fds(int lfd, int err)
{
	if (!fds_exhausted) {
		fds_exhausted = 1;
		log_ctx(LOG_WARNING, 0, NULL, 0, err, "accept: %s: refusing clients with MAXCLIENTS until descriptors "
		        "are free (RLIMIT_NOFILE is below what max_clients needs?)", strerror(err));
	}
	if (reserve_fd >= 0) {
		close(reserve_fd);
		reserve_fd = -1;
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			refuse_client(fd, "too many clients: the server is out of file descriptors");
		reserve_open();
		if (fd >= 0)
			return 0;
		if (errno == EAGAIN)
			return -1;
	}
	event_del(&ev_accept);
	accept_paused = 1;
	return -1;
}

static void server_fds_freed(void)
{
	if (accept_paused && listen_fd >= 0) {
		accept_paused = 0;
		event_add(&ev_accept, NULL);
	}
}

static void server_on_accept(evutil_socket_t lfd, short what, void *arg)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				if (accept_without_fds(lfd, errno) == 0)
					continue;
				return;
			}
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_ctx(LOG_WARNING, 0, NULL, 0, errno, "accept: %s", strerror(errno));
			return;
		}
		if (server_stats.clients >= config.max_clients) {
			log_warn("refusing a client: max_clients (%llu) reached", (unsigned long long)config.max_clients);
			refuse_client(fd, "too many clients");
			continue;
		}
		fds_exhausted = 0;
		struct client *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->cid = next_cid++;
		c->fd = fd;
		c->connected = clock_unix();
		struct ucred cred;
		socklen_t len = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
			c->pid = cred.pid;
			c->uid = cred.uid;
			c->gid = cred.gid;
		}
		c->waiter.client = c;
		buf_init(&c->in);
		buf_init(&c->out);
		event_assign(&c->ev_read, server_base, fd, EV_READ | EV_PERSIST, client_on_read, c);
		event_assign(&c->ev_write, server_base, fd, EV_WRITE | EV_PERSIST, client_on_write, c);
		event_assign(&c->ev_resume, server_base, -1, 0, client_on_resume, c);
		evtimer_assign(&c->ev_output_timer, server_base, client_on_output_timeout, c);
		deadline_start(c);
		TAILQ_INSERT_TAIL(&server_clients, c, link);
		server_stats.clients++;
		server_stats.clients_total++;
		client_update_reading(c);
		log_ctx(LOG_DEBUG, c->pid, NULL, 0, 0, "client %llu connected: pid %d uid %d", (unsigned long long)c->cid,
		        (int)c->pid, (int)c->uid);
	}
}

int server_start(struct event_base *base, int fd, server_frame_fn *on_frame)
{
	server_base = base;
	frame_handler = on_frame;
	server_stats.started = clock_unix();
	listen_fd = fd;
	reserve_open();
	event_assign(&ev_accept, base, fd, EV_READ | EV_PERSIST, server_on_accept, NULL);
	return event_add(&ev_accept, NULL);
}

/* Write what is left for c, waiting at most until deadline_ms. */
static void client_drain(struct client *c, uint64_t deadline_ms)
{
	while (buf_used(&c->out) > 0 && c->closing != 2) {
		uint64_t now = clock_mono_ms();
		if (now >= deadline_ms)
			return;
		/* A full reply ring has room when the client says so on the socket. */
		struct pollfd p = { .fd = c->fd, .events = shm_output_waits(c) ? POLLIN : POLLOUT };
		if (poll(&p, 1, (int)(deadline_ms - now)) <= 0)
			return;
		if (p.revents & POLLIN && shm_on_socket(c, 0) <= 0)
			return;
		if (client_write(c) < 0)
			return;
	}
}

void server_stop(void (*unpark)(struct client *c))
{
	if (listen_fd >= 0) {
		event_del(&ev_accept);
		close(listen_fd);
		listen_fd = -1;
	}
	if (reserve_fd >= 0) {
		close(reserve_fd);
		reserve_fd = -1;
	}
	/* Answer what is in flight: requests already received run; what would
	 * wait is told the server is going away. */
	struct client *c;
	TAILQ_FOREACH(c, &server_clients, link) {
		for (;;) {
			if (c->waiter.wq)
				unpark(c);
			client_process(c);
			if (!c->waiter.wq)
				break;
		}
	}
	/* Nothing more is read: say so, so that a client knows a request it
	 * sent after the last reply was not run and may send it again. */
	TAILQ_FOREACH(c, &server_clients, link) {
		if (c->hello_done && !c->closing) {
			struct reply r;
			reply_init(&r, c, 0);
			reply_error(&r, IPCD_ESHUTDOWN, "server is stopping: a request not answered before this was not run");
		}
	}
	uint64_t deadline = clock_mono_ms() + 2000;
	while ((c = TAILQ_FIRST(&server_clients))) {
		client_drain(c, deadline);
		client_close(c, "server stopping");
	}
	reply_log_flush();
}
