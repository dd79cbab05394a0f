/*
 * shm.c: libipcd's side of the shared-memory channel (PROTOCOL.md,
 * "Shared-memory channel"): mapping the memfd the server hands over with
 * shm.open's reply, moving request bytes from c->out into the request ring
 * and reply bytes from the reply ring into c->in, and spinning briefly
 * before conn.c sleeps on the socket. Framing, pending requests and
 * reconnects stay conn.c's: the rings only replace send and recv.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "conn.h"

/* How long a side waiting on a ring spins before it sleeps: about what a
 * wake-up through the kernel costs, as the daemon's busy_poll default.
 * With requests pipelined, the daemon answers a batch only once it has run
 * all of it: the spin then grows with the requests in flight, for as long
 * as the daemon is awake (it has not said it sleeps), up to a bound. A lone
 * request that waits (a blocking get) spins only the short while, so that
 * waiting clients never keep the daemon off a busy CPU. */
#define SHM_SPIN_NS 50000
#define SHM_SPIN_PER_PENDING_NS 30000
#define SHM_SPIN_MAX_NS 2000000
/* A daemon we had to wake first takes a wake-up's time more (tens of
 * microseconds on a virtual machine): waiting it out spinning keeps both
 * sides in step, where sleeping would make the next request late too and
 * keep the daemon's adaptive poll off. */
#define SHM_SPIN_WOKE_NS 200000
/* Spinning pays only while our CPU is ours: when more processes want to
 * run than there are cores, a spinner keeps the daemon (or the process
 * that will make the daemon's next request) waiting for the CPU it burns.
 * So past the first SHM_SPIN_ALONE_NS (and SHM_SPIN_ALONE_PER_PENDING_NS
 * for each request in flight), which covers a round trip to a running
 * daemon, the spin yields between looks: a yield that comes back
 * late (SHM_SPIN_GAP_NS) means someone else ran in the meantime: the wait
 * sleeps. A spin that runs out its whole time without an answer spun for
 * nothing: the next waits spin only SHM_SPIN_ALONE_NS, the first
 * SHM_BACKOFF_MIN of them, doubling while the full spins that probe keep
 * failing up to SHM_BACKOFF_MAX; a full spin that pays resets that. */
#define SHM_SPIN_ALONE_NS 10000
#define SHM_SPIN_ALONE_PER_PENDING_NS 1000
#define SHM_SPIN_GAP_NS 20000
#define SHM_BACKOFF_MIN 16
#define SHM_BACKOFF_MAX 512
/* ipcd_read_available reads the socket only for a wake-up it asked for, or
 * this long after its last look: a caller spinning over many connections'
 * rings makes no system call per look, and still sees within this time a
 * server that closed the connection. */
#define SHM_SOCKET_LOOK_NS 1000000

struct conn_shm {
	void *mem;
	size_t size;
	struct shm_ring req, rep;   /* we produce req, consume rep */
	int woke;                   /* the daemon was woken for what we wait for */
	unsigned skip;              /* waits left that spin only SHM_SPIN_ALONE_NS */
	unsigned backoff;           /* skip after the next spin that does not pay */
	int asked;                  /* we asked for a wake-up byte since the socket was last read */
	int64_t socket_read_ns;     /* when ipcd_read_available last read the socket */
};

int shm_wanted(void)
{
	const char *e = getenv("IPCD_SHM");
	return !(e && !strcmp(e, "0"));
}

int shm_attach(struct ipcd *c, int fd, uint64_t size)
{
	struct stat st;
	struct conn_shm *s = NULL;
	void *mem = MAP_FAILED;
	if (fd >= 0 && fstat(fd, &st) == 0 && (uint64_t)st.st_size == size && size <= SIZE_MAX &&
	    (s = calloc(1, sizeof(*s))))
		mem = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (fd >= 0)
		close(fd);
	if (mem == MAP_FAILED || shm_header_check(mem, (size_t)size)) {
		if (mem != MAP_FAILED)
			munmap(mem, (size_t)size);
		free(s);
		return -1;
	}
	s->mem = mem;
	s->size = (size_t)size;
	shm_rings(mem, ((const struct shm_header *)mem)->ring_size, &s->req, &s->rep);
	c->shm = s;
	return 0;
}

void shm_detach(struct ipcd *c)
{
	if (!c->shm)
		return;
	munmap(c->shm->mem, c->shm->size);
	free(c->shm);
	c->shm = NULL;
}

ssize_t shm_take_replies(struct ipcd *c, int *wake)
{
	struct shm_ring *r = &c->shm->rep;
	ssize_t n = shm_ring_readable(r);
	if (n <= 0)
		return n;
	if (buf_reserve(&c->in, (size_t)n) < 0)
		return 0;
	n = shm_ring_read(r, c->in.data + c->in.len, (size_t)n);
	if (n > 0) {
		c->in.len += (size_t)n;
		*wake = shm_ring_wake_producer(r);
	}
	return n;
}

ssize_t shm_put_requests(struct ipcd *c, int *wake)
{
	ssize_t n = shm_ring_write(&c->shm->req, buf_head(&c->out), buf_used(&c->out));
	if (n > 0)
		*wake = shm_ring_wake_consumer(&c->shm->req);
	return n;
}

static int64_t shm_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A spin did not pay: skip it for a while, longer each time in a row. */
static int shm_spin_lost(struct conn_shm *s)
{
	if (s->backoff < SHM_BACKOFF_MIN)
		s->backoff = SHM_BACKOFF_MIN;
	else if (s->backoff < SHM_BACKOFF_MAX)
		s->backoff *= 2;
	s->skip = s->backoff;
	return 0;
}

int shm_spin(struct ipcd *c, int for_room)
{
	struct conn_shm *s = c->shm;
	const struct shm_ring *r = for_room ? &s->req : &s->rep;
	int64_t start = 0, last = 0, more = c->pend_len > 1 ? (int64_t)c->pend_len * SHM_SPIN_PER_PENDING_NS : 0;
	if (s->woke && more < SHM_SPIN_WOKE_NS)
		more = SHM_SPIN_WOKE_NS;
	if (more > SHM_SPIN_MAX_NS)
		more = SHM_SPIN_MAX_NS;
	s->woke = 0;
	int64_t until = SHM_SPIN_NS + more, alone = SHM_SPIN_ALONE_NS + (int64_t)c->pend_len * SHM_SPIN_ALONE_PER_PENDING_NS;
	if (s->skip) {
		s->skip--;
		until = SHM_SPIN_ALONE_NS;
	}
	for (unsigned i = 0;; i++) {
		if ((for_room ? shm_ring_writable(r) : shm_ring_readable(r)) != 0) {
			if (until > SHM_SPIN_ALONE_NS)
				s->backoff = 0;
			return 1;
		}
		if ((i & 63) == 0) {
			int64_t now = shm_now_ns();
			if (!start)
				start = now;
			else if (now - start >= until)
				return until > SHM_SPIN_ALONE_NS ? shm_spin_lost(s) : 0;
			else if (now - start >= SHM_SPIN_NS && shm_ring_consumer_sleeps(&s->req))
				return 0;
			else if (last && now - last >= SHM_SPIN_GAP_NS) {
				/* Someone else had our CPU: spinning takes it from them.
				 * Only this wait sleeps: the next may find the CPU ours
				 * again, and a round trip to a running daemon is worth
				 * the spin however loaded the machine is. */
				return (for_room ? shm_ring_writable(r) : shm_ring_readable(r)) != 0;
			}
			if (now - start >= alone) {
				sched_yield();
				last = shm_now_ns();
			}
			continue;
		}
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	}
}

int shm_sleep_ready(struct ipcd *c, int for_room)
{
	if (for_room) {
		if (shm_ring_producer_sleep(&c->shm->req) == 0)
			return 0;
		shm_ring_producer_awake(&c->shm->req);
	} else {
		c->shm->asked = 1;   /* a wake-up byte may come: the next look reads the socket */
		if (shm_ring_consumer_sleep(&c->shm->rep) == 0)
			return 0;
		shm_ring_consumer_awake(&c->shm->rep);
	}
	return 1;
}

void shm_woke_server(struct ipcd *c)
{
	c->shm->woke = 1;
}

void shm_ask_wake(struct ipcd *c)
{
	c->shm->asked = 1;
	shm_ring_consumer_sleep(&c->shm->rep);
}

int shm_socket_due(struct ipcd *c)
{
	struct conn_shm *s = c->shm;
	if (s->asked) {
		s->asked = 0;
		s->socket_read_ns = shm_now_ns();
		return 1;
	}
	int64_t now = shm_now_ns();
	if (now - s->socket_read_ns < SHM_SOCKET_LOOK_NS)
		return 0;
	s->socket_read_ns = now;
	return 1;
}

void shm_unask_wake(struct ipcd *c)
{
	/* Looked at first: the line is shared with the server, which reads
	 * the flag after each reply; a store it does not need is a miss. */
	if (shm_ring_consumer_sleeps(&c->shm->rep))
		shm_ring_consumer_awake(&c->shm->rep);
}

IPCD_EXPORT int ipcd_shm_active(const ipcd *c)
{
	return c && c->fd >= 0 && c->shm;
}
