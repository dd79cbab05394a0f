/*
 * shm.c: the shared-memory channel, daemon side. After shm.open a client's
 * frames pass through two rings in a memfd that both map (proto/shm_ring.h):
 * requests are copied out of the request ring into the client's input
 * buffer and replies from its output buffer into the reply ring, so that
 * framing, dispatch and every limit stay those of the socket path. The
 * socket stays: it carries the memfd, descriptors of later replies, wake-up
 * bytes both ways, and its end is still the client's end.
 *
 * The ring memory is the client's to scribble on. The daemon keeps its own
 * indices and sizes, reads only the client's index, checks it against the
 * ring size, and copies bytes out before anything looks at them (frame.c
 * then checks them as it checks socket bytes). A ring found inconsistent
 * closes that connection, logged; the memfd is sealed against shrinking, so
 * the mapping itself cannot be pulled away.
 *
 * Sleeping: a ring the daemon polls is on the polled list; each loop
 * iteration reads the rings on it, and before the loop sleeps (after its
 * adaptive busy poll, loop.c) every ring on it is marked "daemon sleeps"
 * and leaves the list. A client that writes into a ring so marked sends a
 * byte on the socket, which brings the ring back. A ring that brought
 * nothing for its window (twice its client's usual gap between requests,
 * within SHM_QUIET_MAX_POLLS busy polls) leaves the list the same way even
 * while other clients keep the loop awake, so an idle client is on no list for
 * long: it costs nothing, however many there are.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include "shm.h"
#include "clock.h"
#include "config.h"
#include "dispatch.h"
#include "log.h"
#include "server.h"
#include "shm_ring.h"
#include "state.h"
#include "value.h"
#include "wire.h"

/* A ring stays polled while it is quiet for less than twice its clients'
 * usual gap between requests, within busy_poll and this many busy_polls:
 * a client that sends a request each 200 us, as each of 50 clients of one
 * busy process may, is not put to sleep and woken every time, and an idle
 * one still leaves the list soon. */
#define SHM_QUIET_MAX_POLLS 10

/* The longest quiet window, and the longest gap it counts. */
static uint64_t shm_quiet_max_us(void)
{
	return (uint64_t)config.busy_poll * SHM_QUIET_MAX_POLLS;
}

/* Request bytes taken from a ring at a time, as READ_CHUNK for sockets. */
#define SHM_READ_CHUNK (64 * 1024)

TAILQ_HEAD(shm_list, shm_conn);

struct shm_conn {
	struct client *c;
	void *mem;
	size_t map_size;
	struct shm_ring req, rep;  /* the daemon consumes req, produces rep */
	uint64_t out_from;         /* output stream position from which replies go into rep */
	int fresh;                 /* c->in may hold socket bytes sent after shm.open: dropped */
	int want_input;            /* server.c's reading rule allows reading requests */
	int out_waits;             /* rep is full: the client wakes us when it has read */
	uint64_t last_input_us;    /* when its ring last brought bytes */
	uint64_t joined_us;        /* when it last joined the polled list */
	uint64_t gap_us;           /* moving average of the gaps between its inputs, sleeps included */
	struct shm_list *on;       /* the list it is on, or NULL */
	TAILQ_ENTRY(shm_conn) link;
};

static struct shm_list polled = TAILQ_HEAD_INITIALIZER(polled);
static struct shm_list polling_now = TAILQ_HEAD_INITIALIZER(polling_now);
static uint64_t poll_now_us;   /* the clock at the start of this shm_poll */
static int poll_brought;       /* this shm_poll took bytes from a ring */

static void shm_list_set(struct shm_conn *s, struct shm_list *l)
{
	if (s->on == l)
		return;
	if (s->on)
		TAILQ_REMOVE(s->on, s, link);
	if (l)
		TAILQ_INSERT_TAIL(l, s, link);
	s->on = l;
}

void shm_free(struct client *c)
{
	struct shm_conn *s = c->shm;
	if (!s)
		return;
	shm_list_set(s, NULL);
	munmap(s->mem, s->map_size);
	value_mem_used -= s->map_size;
	server_stats.shm_memory -= s->map_size;
	free(s);
	c->shm = NULL;
}

/* The ring of c's is inconsistent: close c, logged. */
static void shm_corrupt(struct client *c, const char *which)
{
	log_ctx(LOG_WARNING, c->pid, NULL, 0, 0,
	        "client %llu (pid %d): its %s ring's index is out of range (the shared memory was overwritten); "
	        "disconnecting", (unsigned long long)c->cid, (int)c->pid, which);
	client_close(c, "shared-memory ring corrupt");
}

/* Take the requests waiting in c's ring. 0, or -1 if c was closed. */
static int shm_input(struct client *c, uint64_t now_us)
{
	struct shm_conn *s = c->shm;
	if (!s->want_input)
		return 0;
	ssize_t n = shm_ring_readable(&s->req);
	if (n == SHM_RING_CORRUPT) {
		shm_corrupt(c, "request");
		return -1;
	}
	if (n == 0)
		return 0;
	if (n > SHM_READ_CHUNK)
		n = SHM_READ_CHUNK;
	if (buf_reserve(&c->in, (size_t)n) < 0)
		return 0;   /* tried again at the next poll */
	n = shm_ring_read(&s->req, c->in.data + c->in.len, (size_t)n);
	if (n <= 0) {
		shm_corrupt(c, "request");
		return -1;
	}
	c->in.len += (size_t)n;
	/* From the last input, not from a wake-up: a client that sends every
	 * 200 us and was put to sleep each time still shows its 200 us. */
	uint64_t gap = now_us > s->last_input_us ? now_us - s->last_input_us : 0;
	if (gap > shm_quiet_max_us())
		gap = shm_quiet_max_us();
	s->gap_us = (s->gap_us * 7 + gap) / 8;
	s->last_input_us = now_us;
	poll_brought = 1;
	if (shm_ring_wake_producer(&s->req))
		send(c->fd, "", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	return client_received(c, (size_t)n);
}

/* s's ring is polled again from now, its "daemon sleeps" flag cleared;
 * returns the time it joined. */
static uint64_t shm_join(struct shm_conn *s)
{
	shm_ring_consumer_awake(&s->req);
	shm_list_set(s, &polled);
	return s->joined_us = clock_mono_us();
}

void shm_want_input(struct client *c, int want)
{
	struct shm_conn *s = c->shm;
	s->want_input = want;
	if (want && !s->on)
		shm_join(s);
}

int shm_on_socket(struct client *c, int serve)
{
	char scratch[256];
	int got = 0;
	for (;;) {
		ssize_t n = recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT);
		if (n > 0) {
			got = 1;
			/* Less than asked for: the socket is empty, and a recv more
			 * to hear EAGAIN would cost a system call per wake-up. A byte
			 * (or the end) coming meanwhile brings the read event again. */
			if ((size_t)n < sizeof(scratch))
				break;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			return -1;
		/* End of stream: take what it left in the ring, then say so. */
		if (serve && shm_input(c, clock_mono_us()) < 0)
			return 1;
		return 0;
	}
	if (!got)
		return 1;
	struct shm_conn *s = c->shm;
	if (s->out_waits) {
		s->out_waits = 0;
		shm_ring_producer_awake(&s->rep);
		client_schedule_flush(c);
	}
	if (serve && s->want_input)
		shm_input(c, shm_join(s));
	return 1;
}

uint64_t shm_out_from(const struct client *c)
{
	return c->shm ? c->shm->out_from : UINT64_MAX;
}

int shm_output_waits(const struct client *c)
{
	return c->shm && c->shm->out_waits;
}

ssize_t shm_write(struct client *c, size_t n)
{
	struct shm_conn *s = c->shm;
	/* A descriptor goes over the socket, with one wake-up byte, before
	 * the first byte of its reply enters the ring: it is there when the
	 * client reads the reply. */
	if (c->n_out_fds && c->out_fds[0].pos == c->bytes_out) {
		ssize_t w = client_send_with_fd(c, "", 1);
		if (w <= 0)
			return -1;
	}
	if (c->n_out_fds && c->out_fds[0].pos - c->bytes_out < n)
		n = (size_t)(c->out_fds[0].pos - c->bytes_out);
	for (;;) {
		ssize_t w = shm_ring_write(&s->rep, buf_head(&c->out), n);
		if (w > 0) {
			if (shm_ring_wake_consumer(&s->rep))
				send(c->fd, "", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
			return w;
		}
		if (w < 0)
			break;
		/* Full: say we wait for room, then look once more. */
		ssize_t room = shm_ring_producer_sleep(&s->rep);
		if (room < 0)
			break;
		if (room == 0) {
			s->out_waits = 1;
			return 0;
		}
		shm_ring_producer_awake(&s->rep);
	}
	log_ctx(LOG_WARNING, c->pid, NULL, 0, 0,
	        "client %llu (pid %d): its reply ring's index is out of range (the shared memory was overwritten); "
	        "disconnecting", (unsigned long long)c->cid, (int)c->pid);
	errno = EPROTO;
	return -1;
}

/* Tell s's client that the daemon sleeps on its ring and take it off the
 * polled list; 0 (and it stays) if bytes came meanwhile, or the ring is
 * corrupt (the next poll finds that). */
static int shm_retire(struct shm_conn *s)
{
	ssize_t n = shm_ring_consumer_sleep(&s->req);
	if (n != 0 && s->want_input) {
		shm_ring_consumer_awake(&s->req);
		return 0;
	}
	shm_list_set(s, NULL);
	return 1;
}

static uint64_t shm_quiet_window(const struct shm_conn *s)
{
	uint64_t w = 2 * s->gap_us, max = shm_quiet_max_us();
	if (w < config.busy_poll)
		return config.busy_poll;
	return w > max ? max : w;
}

int shm_poll(uint64_t now_us)
{
	struct shm_conn *s;
	if (TAILQ_EMPTY(&polled))
		return 0;
	poll_now_us = now_us;
	poll_brought = 0;
	TAILQ_CONCAT(&polling_now, &polled, link);
	TAILQ_FOREACH(s, &polling_now, link)
		s->on = &polling_now;
	/* Each goes back to polled before it is served: serving may close it
	 * or any other client (input_over_total). */
	while ((s = TAILQ_FIRST(&polling_now))) {
		shm_list_set(s, &polled);
		/* Quiet for its window: as if the loop slept, however busy it is. */
		uint64_t since = s->last_input_us > s->joined_us ? s->last_input_us : s->joined_us;
		if (poll_now_us > since && poll_now_us - since > shm_quiet_window(s) && shm_retire(s))
			continue;
		shm_input(s->c, poll_now_us);
	}
	return poll_brought;
}

int shm_polling(void)
{
	return !TAILQ_EMPTY(&polled);
}

int shm_sleep(void)
{
	int busy = 0;
	struct shm_conn *s, *next;
	for (s = TAILQ_FIRST(&polled); s; s = next) {
		next = TAILQ_NEXT(s, link);
		if (!shm_retire(s))
			busy = 1;
	}
	return busy;
}

int shm_replies_may_go(const struct client *c)
{
	return c->shm && buf_used(&c->out) > 0 && !state_uncommitted();
}

/* After the frame that opened the channel: what the socket brought after
 * it is not part of the stream. */
void shm_opened(struct client *c)
{
	if (c->shm && c->shm->fresh) {
		c->shm->fresh = 0;
		buf_consume(&c->in, buf_used(&c->in));
	}
}

/* shm.open -> {ring_size, size} with the memfd (SCM_RIGHTS) | BADOP (shm = no) | NOMEM */
void handle_SHM_OPEN(struct request *rq)
{
	struct client *c = rq->client;
	if (!config.shm) {
		reply_error(&rq->reply, IPCD_EBADOP, "shm.open: the shared-memory channel is off (shm = no)");
		return;
	}
	if (c->shm || c->monitoring) {
		reply_error(&rq->reply, IPCD_EBADARG, "shm.open: %s", c->shm ? "the channel is open already"
		                                                               : "a monitor stays on the socket");
		return;
	}
	uint32_t ring = SHM_RING_MIN;
	while (ring < config.shm_ring_size && ring < SHM_RING_MAX)
		ring <<= 1;
	size_t size = shm_map_size(ring);
	if (value_mem_charge(size) < 0) {
		reply_error(&rq->reply, IPCD_ENOMEM, "shm.open: max_memory (%zu bytes) reached", value_mem_limit);
		return;
	}
	struct shm_conn *s = calloc(1, sizeof(*s));
	int fd = memfd_create("ipcd-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *mem = MAP_FAILED;
	if (s && fd >= 0 && ftruncate(fd, (off_t)size) == 0 &&
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0)
		mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED || client_attach_fd(c, fd) < 0) {
		int err = errno;
		if (mem != MAP_FAILED)
			munmap(mem, size);
		if (fd >= 0)
			close(fd);
		free(s);
		value_mem_used -= size;
		reply_error(&rq->reply, IPCD_ENOMEM, "shm.open: cannot make the shared memory: %s", strerror(err));
		return;
	}
	shm_header_init(mem, ring);
	server_stats.shm_memory += size;
	s->c = c;
	s->mem = mem;
	s->map_size = size;
	shm_rings(mem, ring, &s->req, &s->rep);
	/* The daemon sleeps on the ring until the client's first wake-up. */
	shm_ring_consumer_sleep(&s->req);
	msgpack_packer *pk = reply_ok(&rq->reply);
	msgpack_pack_map(pk, 2);
	pack_key_uint(pk, "ring_size", ring);
	pack_key_uint(pk, "size", size);
	reply_end(&rq->reply);
	s->out_from = c->bytes_out + buf_used(&c->out);
	s->fresh = 1;
	c->shm = s;
}
