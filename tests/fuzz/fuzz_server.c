/*
 * fuzz_server.c: hostile clients through the daemon's whole request path
 * (frames, validation, dispatch, every handler, parked requests and their
 * retries, timers, deliveries, monitors, replies) on a real Unix socket
 * in-process. Each input is a script (fuzz.h) for several connections and
 * a clock: frames and raw bytes on any connection, hang-ups, half-closes,
 * replies left unread, kill_client, and time moving on. The daemon must
 * neither crash nor leak, whatever it sends back must be well-formed reply
 * frames, and once every connection has hung up it must hold none.
 *
 * Time is virtual: an ADVANCE moves the daemon's clocks (clock_advance_us)
 * and every pending libevent timer by as much, in steps from one timer's
 * deadline to the next, so that timeouts, delays, lease ends and the hello
 * and idle deadlines fire in their order without the run waiting for them.
 *
 * IPCD_FUZZ_STATE=1 in the environment turns persistence on (state_dir in
 * the temp dir, fsync off): every change is logged, and each time the
 * registry is reset the log is replayed into a fresh registry first.
 *
 * Built two ways: as a libFuzzer target (meson -Dfuzz=true, clang), and with
 * fuzz_replay.c as a plain test that runs generated scripts.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <event2/event.h>
#include "fuzz.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "object.h"
#include "omap.h"
#include "frame.h"
#include "dispatch.h"
#include "loop.h"
#include "persist.h"
#include "registry.h"
#include "server.h"
#include "state.h"
#include "value.h"

static struct event_base *base;
static struct sockaddr_un addr = { .sun_family = AF_UNIX };
static int inputs_run;   /* since the state was last started anew (fuzz_restart) */
static int persistent;
static int restart_every = 256;   /* inputs, with persistence on (IPCD_FUZZ_RESTART_EVERY) */

static char dir[64];
static char state_dir[sizeof(dir) + 8];

/* One client connection of the script. */
struct conn {
	int fd;          /* -1: not open */
	uint64_t cid;    /* the daemon's number for it (the last one it had) */
	int paused;      /* not reading its replies */
	int shut;        /* its sending side is shut down */
	int may_tear;    /* the daemon may drop it mid-frame (unread replies, killed) */
	uint64_t next_id;
	struct buf in;   /* replies received and not yet checked */
};
static struct conn conns[FUZZ_CONNS];

/* Remove every file of the state dir. */
static void wipe_state_dir(void)
{
	DIR *d = opendir(state_dir);
	struct dirent *e;
	char path[sizeof(state_dir) + 256];
	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", state_dir, e->d_name);
			unlink(path);
		}
	closedir(d);
}

/* Remove the socket, the state and the directory at exit. */
static void fuzz_cleanup(void)
{
	if (persistent) {
		state_close();
		wipe_state_dir();
		rmdir(state_dir);
	}
	unlink(addr.sun_path);
	rmdir(dir);
}

static void state_open_or_abort(void)
{
	char err[512];
	if (state_open(state_dir, 0, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz: state_open: %s\n", err);
		abort();
	}
}

/* Start the daemon's server on a socket in a fresh temp dir, once. */
static void fuzz_init(void)
{
	if (base)
		return;
	/* In memory where there is a tmpfs: the state's log and snapshots are
	 * the code under test, not the disk. */
	struct stat st;
	snprintf(dir, sizeof(dir), "%s/ipcd-fuzz-XXXXXX",
	         stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/ipcd.sock", dir);
	config_defaults(&config);
	config.max_frame = 1 << 20;
	/* Refusals are the point here, not news (IPCD_FUZZ_TRACE: all of it). */
	config.log_level = getenv("IPCD_FUZZ_TRACE") ? LOG_DEBUG : LOG_ERR;
	/* Small limits and deadlines, so that short scripts reach them. */
	config.max_output = 4096;
	config.monitor_buffer = 1024;
	config.output_timeout = 2;
	config.hello_timeout = 3;
	config.idle_timeout = 20;
	value_mem_limit = 64 << 20;   /* a hostile input cannot exhaust the fuzzer */
	signal(SIGPIPE, SIG_IGN);     /* as the daemon (main.c): a write to a gone client fails */
	for (int k = 0; k < FUZZ_CONNS; k++) {
		conns[k].fd = -1;
		buf_init(&conns[k].in);
	}
	registry_init();
	/* The daemon's precise clock (main.c): with libevent's coarse one a
	 * timer would come due up to a tick before its deadline. */
	struct event_config *ecfg = event_config_new();
	/* poll(2), not epoll: with a precise clock, epoll sets a timerfd on
	 * every iteration and registers every new connection, two system calls
	 * the daemon's code does not see; a handful of descriptors polls as
	 * cheaply. */
	if (!ecfg || event_config_set_flag(ecfg, EVENT_BASE_FLAG_PRECISE_TIMER) < 0 ||
	    event_config_avoid_method(ecfg, "epoll") < 0 ||
	    !(base = event_base_new_with_config(ecfg)))
		abort();
	event_config_free(ecfg);
	server_base = base;
	const char *env = getenv("IPCD_FUZZ_STATE");
	persistent = env && *env && strcmp(env, "0") != 0;
	if ((env = getenv("IPCD_FUZZ_RESTART_EVERY")) && atoi(env) > 0)
		restart_every = atoi(env);
	if (persistent) {
		snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
		if (mkdir(state_dir, 0700) < 0)
			abort();
		config.fsync = PERSIST_FSYNC_NO;   /* the log's path, not the disk's speed */
		state_open_or_abort();
	}
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 16) < 0 ||
	    dispatch_start(base, lfd) < 0)
		abort();
	atexit(fuzz_cleanup);
}

/* Every whole reply frame at the start of k's input is [id, status, result]
 * (abort otherwise); they are consumed, a partial one stays. */
static void check_replies(struct conn *k)
{
	/* One zone for every reply, cleared after each: a zone made per reply
	 * was a tenth of the run's time under ASan. */
	static msgpack_zone zone;
	static int zone_ready;
	const char *body;
	size_t len, total;
	if (!zone_ready && msgpack_zone_init(&zone, 4096))
		zone_ready = 1;
	if (!zone_ready)
		abort();
	while (frame_peek(&k->in, SIZE_MAX, &body, &len, &total) == FRAME_OK) {
		msgpack_object r;
		size_t off = 0;
		if (msgpack_unpack(body, len, &off, &zone, &r) != MSGPACK_UNPACK_SUCCESS || off != len ||
		    r.type != MSGPACK_OBJECT_ARRAY || r.via.array.size != 3 ||
		    r.via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    r.via.array.ptr[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			abort();
		msgpack_zone_clear(&zone);
		buf_consume(&k->in, total);
	}
}

/* The daemon closed k: what it sent before must end on a frame boundary,
 * unless it dropped k with replies unsent. */
static void conn_gone(struct conn *k)
{
	check_replies(k);
	if (buf_used(&k->in) && !k->may_tear)
		abort();   /* a torn frame at the end of the stream */
	buf_consume(&k->in, buf_used(&k->in));
	close(k->fd);
	k->fd = -1;
}

/* Read what k has been sent; returns the bytes read. */
static size_t conn_read(struct conn *k)
{
	size_t got = 0;
	while (k->fd >= 0 && !k->paused) {
		if (buf_reserve(&k->in, 65536) < 0)
			abort();
		size_t room = k->in.cap - k->in.len;
		ssize_t r = recv(k->fd, k->in.data + k->in.len, room, MSG_DONTWAIT);
		if (r > 0) {
			k->in.len += (size_t)r;
			got += (size_t)r;
			check_replies(k);
			if ((size_t)r < room)
				break;   /* all there was: spare a recv that would say EAGAIN */
			continue;
		}
		if (r == 0 || errno != EAGAIN)
			conn_gone(k);
		break;
	}
	return got;
}

/* What the daemon has sent and closed so far: the clients can have nothing
 * new to read while it stays the same. */
struct output_mark {
	uint64_t closed, sent;   /* connections closed; bytes sent on those open */
};

static struct output_mark daemon_output_mark(void)
{
	struct output_mark m = { server_stats.clients_total - server_stats.clients, 0 };
	struct client *c;
	TAILQ_FOREACH(c, &server_clients, link)
		m.sent += c->bytes_out;
	return m;
}

/* Read every connection that has something (one poll for all of them);
 * no system call at all when the daemon sent nothing and closed nothing
 * since the last time (a connection that stopped reading is read again
 * after FUZZ_PAUSE, which forgets the mark). */
static struct output_mark read_mark = { UINT64_MAX, 0 };

static void read_mark_forget(void)
{
	read_mark.closed = UINT64_MAX;
}

static size_t conns_read(void)
{
	struct output_mark mark = daemon_output_mark();
	if (mark.closed == read_mark.closed && mark.sent == read_mark.sent)
		return 0;
	read_mark = mark;
	struct pollfd p[FUZZ_CONNS];
	int n = 0, which[FUZZ_CONNS];
	size_t got = 0;
	for (int i = 0; i < FUZZ_CONNS; i++)
		if (conns[i].fd >= 0 && !conns[i].paused) {
			p[n] = (struct pollfd){ .fd = conns[i].fd, .events = POLLIN | POLLRDHUP };
			which[n++] = i;
		}
	if (n == 0 || poll(p, (nfds_t)n, 0) <= 0)
		return 0;
	for (int j = 0; j < n; j++)
		if (p[j].revents) {
			got += conn_read(&conns[which[j]]);
			/* A short read stops before the end of the stream: read on to it
			 * now, since nothing will change the mark to come back for it. */
			if (p[j].revents & (POLLRDHUP | POLLHUP | POLLERR))
				got += conn_read(&conns[which[j]]);
		}
	return got;
}

/* True if the daemon has replies it has not written yet. */
static int daemon_has_output(void)
{
	struct client *c;
	TAILQ_FOREACH(c, &server_clients, link)
		if (buf_used(&c->out))
			return 1;
	return 0;
}

/* Run the daemon until it and the clients have nothing more to say: no
 * callback is due, and what the clients read let no more output through. */
static void pump(void)
{
	for (int round = 0; round < 64; round++) {
		loop_once(base, EVLOOP_NONBLOCK);
		size_t got = conns_read();
		if (!event_base_get_num_events(base, EVENT_BASE_COUNT_ACTIVE) && !(got && daemon_has_output()))
			break;
	}
}

/* Send n bytes on k as far as the daemon takes them. */
static void conn_send(struct conn *k, const void *data, size_t n)
{
	size_t sent = 0;
	for (int tries = 0; k->fd >= 0 && !k->shut && sent < n && tries < 64; tries++) {
		ssize_t w = send(k->fd, (const char *)data + sent, n - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w > 0) {
			sent += (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN)
			break;   /* the daemon closed: its EOF comes through conn_read */
		pump();
	}
}

/* Open connection k (a new one if it was open), with a hello or without. */
static void conn_open(struct conn *k, int hello)
{
	static const char hello_frame[] = { 0, 0, 0, 4, (char)0x93, 0x00, 0x01, 0x01 }; /* [0, 1, 1] */
	if (k->fd >= 0) {
		close(k->fd);
		k->fd = -1;
		buf_consume(&k->in, buf_used(&k->in));
	}
	k->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (k->fd < 0)
		abort();
	/* Non-blocking, so that a signal (libFuzzer's timer) cannot cut it
	 * short; a full backlog is the daemon's to drain. */
	for (int tries = 0; connect(k->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0; tries++) {
		if ((errno != EAGAIN && errno != EINTR) || tries == 100) {
			fprintf(stderr, "fuzz: connect: %s\n", strerror(errno));
			abort();
		}
		loop_once(base, EVLOOP_NONBLOCK);
	}
	k->paused = k->shut = k->may_tear = 0;
	k->next_id = 1;
	static uint64_t last_cid;
	uint64_t before = server_stats.clients_total;
	for (int tries = 0; server_stats.clients_total == before; tries++)
		if (tries == 100)
			abort();   /* the daemon does not accept */
		else
			loop_once(base, EVLOOP_NONBLOCK);
	/* Newest, unless what that iteration ran closed it at once (a
	 * kill_client by pid that was waiting its turn): then its EOF follows. */
	struct client *c = TAILQ_LAST(&server_clients, client_list);
	k->cid = c && c->cid > last_cid ? c->cid : 0;
	if (k->cid)
		last_cid = k->cid;
	else
		k->may_tear = 1;
	if (hello)
		conn_send(k, hello_frame, sizeof(hello_frame));
}

static struct conn *conn_use(int i)
{
	if (conns[i].fd < 0)
		conn_open(&conns[i], 1);
	return &conns[i];
}

/* ---- the clock --------------------------------------------------------- */

#define MAX_TIMERS 1024

struct timers {
	struct event *ev[MAX_TIMERS];
	int64_t left_us[MAX_TIMERS];   /* until its deadline */
	int n;
};

static int collect_timer(const struct event_base *b, const struct event *ev, void *arg)
{
	struct timers *t = arg;
	struct timeval due, now;
	if (t->n == MAX_TIMERS || !event_pending(ev, EV_TIMEOUT, &due))
		return 0;
	event_base_gettimeofday_cached((struct event_base *)b, &now);
	int64_t sec = (int64_t)due.tv_sec - now.tv_sec;
	if (sec > 1000000000)   /* a deadline centuries away: as good as never */
		sec = 1000000000;
	t->left_us[t->n] = sec * 1000000 + (due.tv_usec - now.tv_usec);
	t->ev[t->n++] = (struct event *)ev;
	return 0;
}

/* Move time on by us: the clocks and the timers step from one deadline to
 * the next, and what each step makes due runs before the next step. */
static void advance(uint64_t us)
{
	static struct timers t;
	for (int steps = 0;; steps++) {
		t.n = 0;
		event_base_foreach_event(base, collect_timer, &t);
		int64_t first = INT64_MAX;
		for (int i = 0; i < t.n; i++)
			if (t.left_us[i] < first)
				first = t.left_us[i];
		uint64_t step = first < 0 ? 0 : (uint64_t)first;
		if (step > us || steps >= 32)   /* a timer that keeps coming due at once: move on */
			step = us;
		clock_advance_us += (int64_t)step;
		us -= step;
		for (int i = 0; i < t.n; i++) {
			int64_t left = t.left_us[i] - (int64_t)step;
			if (left < 0)
				left = 0;
			if (event_get_events(t.ev[i]) & EV_PERSIST) {
				if (!left)   /* re-adding would change its period */
					event_active(t.ev[i], EV_TIMEOUT, 1);
			} else {
				struct timeval tv = { .tv_sec = left / 1000000, .tv_usec = left % 1000000 };
				event_add(t.ev[i], &tv);
			}
		}
		pump();
		if (!us)
			break;
	}
}

/* ---- the script -------------------------------------------------------- */

/* A kill_client request from k for connection t. */
static void send_kill(struct conn *k, uint8_t t)
{
	char frame[64];
	struct buf b = { frame, 0, 0, sizeof(frame) };
	msgpack_packer pk;
	size_t pos = (size_t)frame_begin(&b);
	msgpack_packer_init(&pk, &b, buf_msgpack_write);
	int by_pid = t & FUZZ_CONNS;
	struct conn *target = &conns[t % FUZZ_CONNS];
	msgpack_pack_array(&pk, by_pid ? 4 : 3);
	msgpack_pack_uint64(&pk, 1000 + k->next_id++);
	msgpack_pack_str_with_body(&pk, "kill_client", 11);
	msgpack_pack_uint64(&pk, by_pid ? (uint64_t)getpid() : target->cid);
	if (by_pid) {
		msgpack_pack_str_with_body(&pk, "pid", 3);
		for (int i = 0; i < FUZZ_CONNS; i++)
			conns[i].may_tear = 1;
	} else {
		target->may_tear = 1;
	}
	frame_end(&b, pos);
	conn_send(k, b.data, b.len);
}

/* Every connection hangs up; the daemon must let go of all of them. */
static void hang_up_all(void)
{
	for (int i = 0; i < FUZZ_CONNS; i++) {
		conns[i].paused = 0;
		if (conns[i].fd >= 0 && !conns[i].shut) {
			shutdown(conns[i].fd, SHUT_WR);
			conns[i].shut = 1;
		}
	}
	/* A snapshot's child holds copies of the clients' ends until it exits
	 * (the real clients are other processes): past the fast rounds, wait a
	 * little between rounds, up to 10 s. */
	for (int rounds = 0;; rounds++) {
		int open = !TAILQ_EMPTY(&server_clients);
		for (int i = 0; i < FUZZ_CONNS; i++)
			open |= conns[i].fd >= 0;
		if (!open)
			break;
		if (rounds == 1000 + 10000)
			abort();   /* the daemon neither answered nor closed: it is stuck */
		if (rounds >= 1000)
			usleep(1000);
		read_mark_forget();   /* a snapshot's child that exits changes no mark */
		pump();
	}
}

/* What a restart must keep of every object, packed into sb in name order
 * (the order of creation is not kept: an object that a parked request made
 * is in the log from the write that kept it): name, type, access, options,
 * size, pending deliveries and content. */
static int object_name_cmp(const void *a, const void *b)
{
	const struct object *x = *(const struct object *const *)a, *y = *(const struct object *const *)b;
	int c = memcmp(x->name, y->name, x->name_len < y->name_len ? x->name_len : y->name_len);
	return c ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

static void state_digest(msgpack_sbuffer *sb)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	const struct omap *m = registry_map();
	size_t n = 0, i = 0;
	for (struct omap_entry *e = omap_seek(m, 0); e; e = omap_next(m, e))
		n++;
	const struct object **objs = malloc((n ? n : 1) * sizeof(*objs));
	if (!objs)
		abort();
	for (struct omap_entry *e = omap_seek(m, 0); e; e = omap_next(m, e))
		objs[i++] = e->val;
	qsort(objs, n, sizeof(*objs), object_name_cmp);
	for (i = 0; i < n; i++) {
		const struct object *o = objs[i];
		const struct object_type *t = object_type_of(o->type);
		msgpack_pack_array(&pk, 9);
		msgpack_pack_str_with_body(&pk, o->name, o->name_len);
		msgpack_pack_int(&pk, o->type);
		msgpack_pack_uint32(&pk, o->owner);
		msgpack_pack_uint32(&pk, o->group);
		msgpack_pack_uint32(&pk, o->mode);
		t->pack_options(o, &pk);
		msgpack_pack_uint64(&pk, t->size(o));
		msgpack_pack_uint64(&pk, t->pending ? t->pending(o) : 0);
		t->dump(o, &pk);
	}
	free(objs);
}

static void print_digest(const char *what, const msgpack_sbuffer *sb)
{
	msgpack_unpacked u;
	size_t off = 0;
	msgpack_unpacked_init(&u);
	fprintf(stderr, "fuzz: %s:\n", what);
	while (msgpack_unpack_next(&u, sb->data, sb->size, &off) == MSGPACK_UNPACK_SUCCESS) {
		fprintf(stderr, "  ");
		msgpack_object_print(stderr, u.data);
		fprintf(stderr, "\n");
	}
	msgpack_unpacked_destroy(&u);
}

/* Each input starts from an empty registry, so that it replays alone and
 * what it allocates is freed by its end (libFuzzer's leak check). With
 * persistence on, every 256th input replays the log of the last 256 into a
 * fresh registry, which then starts anew. */
void fuzz_restart(void)
{
	msgpack_sbuffer before;
	msgpack_sbuffer_init(&before);
	inputs_run = 0;
	if (persistent) {
		state_digest(&before);
		state_close();
	}
	registry_free();
	registry_init();
	if (persistent) {
		state_open_or_abort();
		/* The log rebuilt what there was. */
		msgpack_sbuffer after;
		msgpack_sbuffer_init(&after);
		state_digest(&after);
		if (after.size != before.size || (after.size && memcmp(after.data, before.data, after.size) != 0)) {
			print_digest("before the restart", &before);
			print_digest("after it", &after);
			abort();
		}
		msgpack_sbuffer_destroy(&before);
		msgpack_sbuffer_destroy(&after);
		state_close();
		wipe_state_dir();
		registry_free();
		registry_init();
		state_open_or_abort();
	}
}

static uint16_t take_u16(const uint8_t **p, const uint8_t *end)
{
	uint16_t v = 0;
	for (int i = 0; i < 2 && *p < end; i++)
		v = (uint16_t)(v << 8 | *(*p)++);
	return v;
}

int fuzz_one(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	fuzz_init();
	static int trace = -1;
	if (trace < 0)
		trace = getenv("IPCD_FUZZ_TRACE") != NULL;
	while (p < end) {
		uint8_t b = *p++;
		struct conn *k = &conns[b % FUZZ_CONNS];
		if (trace)   /* IPCD_FUZZ_TRACE: each command to stderr, to read a failing input */
			fprintf(stderr, "fuzz: conn %d: command %d at offset %zu\n", b % FUZZ_CONNS,
			        (b / FUZZ_CONNS) % FUZZ_CMDS, (size_t)(p - 1 - data));
		switch ((b / FUZZ_CONNS) % FUZZ_CMDS) {
		case FUZZ_FRAME: {
			size_t n = take_u16(&p, end);
			if (n > (size_t)(end - p))
				n = (size_t)(end - p);
			static uint8_t frame[4 + 65535];
			frame[0] = 0;
			frame[1] = 0;
			frame[2] = (uint8_t)(n >> 8);
			frame[3] = (uint8_t)n;
			memcpy(frame + 4, p, n);
			conn_send(conn_use(b % FUZZ_CONNS), frame, 4 + n);
			p += n;
			break;
		}
		case FUZZ_RAW: {
			size_t n = take_u16(&p, end);
			if (n > (size_t)(end - p))
				n = (size_t)(end - p);
			conn_send(conn_use(b % FUZZ_CONNS), p, n);
			p += n;
			break;
		}
		case FUZZ_ADVANCE:
			advance((uint64_t)take_u16(&p, end) * 1000);
			break;
		case FUZZ_CLOSE:
			if (k->fd >= 0) {
				conn_read(k);
				if (k->fd >= 0) {
					close(k->fd);
					k->fd = -1;
					buf_consume(&k->in, buf_used(&k->in));
				}
			}
			break;
		case FUZZ_SHUT:
			if (k->fd >= 0 && !k->shut) {
				shutdown(k->fd, SHUT_WR);
				k->shut = 1;
			}
			break;
		case FUZZ_PAUSE:
			if (k->fd >= 0) {
				k->paused = !k->paused;
				read_mark_forget();   /* what it left unread is there to read */
				k->may_tear = 1;
				/* A small socket buffer on the daemon's side, so that a few
				 * unread replies reach max_output and monitor_buffer. */
				struct client *c;
				TAILQ_FOREACH(c, &server_clients, link)
					if (c->cid == k->cid)
						setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &(int){ 2048 }, sizeof(int));
			}
			break;
		case FUZZ_KILL:
			send_kill(conn_use(b % FUZZ_CONNS), p < end ? *p++ : 0);
			break;
		case FUZZ_CONNECT:
			conn_open(k, 0);
			break;
		}
		pump();
	}
	hang_up_all();
	if (!persistent || ++inputs_run == restart_every)
		fuzz_restart();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_one(data, size);
}
