/*
 * persist.c: the record log, snapshots and recovery (contract in persist.h).
 *
 * Ideas taken from redis (AOF with appendfsync always/everysec/no, a
 * background thread for fsync so the loop never waits on the disk, a forked
 * child writing the snapshot from copy-on-write memory while the parent goes
 * on logging into a fresh file) and beanstalkd's binlog (numbered segment
 * files, old ones dropped once nothing needs them). Unlike redis, the log is
 * never rewritten: a snapshot N plus segments N.. is the state, so compaction
 * only deletes files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "crc32c.h"
#include "log.h"
#include "persist.h"

#define LOG_MAGIC "IPCDLOG"       /* 8 bytes with its NUL */
#define SNAP_MAGIC "IPCDSNP"
#define FORMAT_VERSION 1u
#define HEADER_SIZE 16
#define REC_HEADER 8
#define END_MARK 0xFFFFFFFFu

static ssize_t io_write(int fd, const void *buf, size_t len) { return write(fd, buf, len); }
static int io_fdatasync(int fd) { return fdatasync(fd); }
struct persist_io persist_io = { io_write, io_fdatasync };

struct persist {
	char *dir;
	struct persist_options opt;
	struct persist_ops ops;
	int dirfd;
	int fd;                    /* current segment */
	uint32_t seq;              /* its number */
	uint64_t good_off;         /* end of its last fully written record */
	uint64_t zeroed_to;        /* the segment is zeros from good_off up to here (preallocated) */
	char *buf;                 /* records appended, not yet written */
	size_t len, cap;

	int healthy;
	int last_errno;
	char last_error[256];
	uint64_t retry_at_ms, retry_ms;

	uint64_t log_bytes, snapshot_bytes, snapshot_ms, snapshot_started_ms;
	int64_t snapshot_time;
	uint64_t records_replayed, commits, writes, syncs;

	pid_t child;               /* running snapshot, 0 = none */
	int child_pipe;            /* its status pipe, -1 = none */
	uint32_t child_seq;
	uint64_t child_size;       /* the size it reported */

	/* fsync=everysec: the sync thread and what it shares, under lock */
	pthread_t thread;
	int thread_on;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stop;
	int sync_idle;             /* the sync thread waits for a write to sync */
	pid_t owner_pid;           /* the daemon, parent of a snapshot child */
	uint64_t written_gen, synced_gen, unsynced_since_ms;
	int old_fds[8];            /* segments left by rotation: sync, then close */
	int n_old;
	int bg_errno;
};

struct persist_writer {
	int fd;
	char buf[65536];
	size_t len;
	uint64_t count, bytes;
	int failed;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}

static uint32_t get32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The record header for payload: length, then CRC over length and payload. */
static void rec_header(unsigned char h[REC_HEADER], const void *payload, uint32_t len)
{
	put32(h, len);
	put32(h + 4, crc32c(crc32c(0, h, 4), payload, len));
}

static void file_header(unsigned char h[HEADER_SIZE], const char *magic)
{
	memset(h, 0, HEADER_SIZE);
	memcpy(h, magic, 8);
	put32(h + 8, FORMAT_VERSION);
}

/* Write all of buf (loops over short writes). 0, or -1 with errno. */
static int write_all(int fd, const void *buf, size_t len, uint64_t *calls)
{
	const char *p = buf;
	while (len) {
		ssize_t n = persist_io.write(fd, p, len);
		if (calls)
			(*calls)++;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ENOSPC;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- faults ---------------------------------------------------------- */

static void persist_fail(struct persist *p, int err, const char *what)
{
	if (p->healthy)
		log_err("persistence: %s in %s: %s; writes are refused until it works again",
		        what, p->dir, strerror(err));
	p->healthy = 0;
	p->last_errno = err;
	snprintf(p->last_error, sizeof(p->last_error), "%s: %s", what, strerror(err));
	p->retry_at_ms = now_ms() + p->retry_ms;
}

static void persist_recovered(struct persist *p)
{
	if (!p->healthy)
		log_notice("persistence: %s takes writes again", p->dir);
	p->healthy = 1;
}

/* ---- the sync thread (fsync=everysec) ----------------------------------- */

static void *sync_thread(void *arg)
{
	struct persist *p = arg;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		p->sync_idle = 1;
		while (!p->stop && p->n_old == 0 && p->synced_gen == p->written_gen)
			pthread_cond_wait(&p->wake, &p->lock);
		p->sync_idle = 0;
		if (p->stop && p->n_old == 0)
			break;
		int old = p->n_old ? p->old_fds[--p->n_old] : -1;
		int fd = old >= 0 ? old : p->fd;
		uint64_t gen = p->written_gen;
		pthread_mutex_unlock(&p->lock);
		int r = persist_io.fdatasync(fd);
		int e = errno;
		if (old >= 0)
			close(old);
		pthread_mutex_lock(&p->lock);
		p->syncs++;
		if (r < 0)
			p->bg_errno = e;
		else if (old < 0) {
			p->synced_gen = gen;
			p->bg_errno = 0;
		}
		if (old < 0 && !p->stop) {
			/* at most one sync a second: wait out the rest of it */
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 1;
			while (!p->stop && pthread_cond_timedwait(&p->wake, &p->lock, &until) == 0)
				;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* ---- segments ----------------------------------------------------------- */

static int fsync_dir(struct persist *p)
{
	return fsync(p->dirfd);
}

/* Create log.<seq> with its header, synced along with the directory entry. */
static int segment_create(struct persist *p, uint32_t seq)
{
	char name[32];
	unsigned char h[HEADER_SIZE];
	snprintf(name, sizeof(name), "log.%06u", seq);
	int fd = openat(p->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	file_header(h, LOG_MAGIC);
	if (write_all(fd, h, sizeof(h), NULL) < 0 || fdatasync(fd) < 0 || fsync_dir(p) < 0) {
		int e = errno;
		close(fd);
		unlinkat(p->dirfd, name, 0);
		errno = e;
		return -1;
	}
	return fd;
}

/* Switch to a fresh segment seq+1; the old one is synced and closed (by the
 * sync thread with everysec, so the loop does not wait). */
static int segment_rotate(struct persist *p)
{
	int fd = segment_create(p, p->seq + 1);
	if (fd < 0)
		return -1;
	int old = p->fd;
	if (p->thread_on) {
		pthread_mutex_lock(&p->lock);
		if (p->n_old < (int)(sizeof(p->old_fds) / sizeof(p->old_fds[0]))) {
			p->old_fds[p->n_old++] = old;
			old = -1;
		}
		p->fd = fd;
		p->synced_gen = p->written_gen;    /* the old fd's sync covers it */
		pthread_cond_signal(&p->wake);
		pthread_mutex_unlock(&p->lock);
	} else {
		p->fd = fd;
	}
	if (old >= 0) {
		if (p->opt.fsync != PERSIST_FSYNC_NO)
			fdatasync(old);
		close(old);
	}
	p->seq++;
	p->good_off = p->zeroed_to = HEADER_SIZE;
	return 0;
}

/*
 * Keep the segment written with zeros PREALLOC_CHUNK ahead of its end, so
 * that appending a record overwrites zeros instead of growing the file: a
 * data sync then flushes the data alone, not the file size and extents
 * with it (on ext4 several times cheaper, which is what fsync=always pays
 * per loop iteration). Best effort: when it cannot (disk full), records are
 * appended as before. Recovery takes a zero record header for the end, and
 * a clean close cuts the zeros off.
 */
#define PREALLOC_CHUNK (1u << 20)

static void zero_ahead(struct persist *p, uint64_t need)
{
	static const char zeros[64 << 10];
	if (need <= p->zeroed_to)
		return;
	uint64_t end = (need + PREALLOC_CHUNK) & ~(uint64_t)(PREALLOC_CHUNK - 1);
	uint64_t start = p->zeroed_to > p->good_off ? p->zeroed_to : p->good_off, at = start;
	while (at < end) {
		size_t n = end - at < sizeof(zeros) ? (size_t)(end - at) : sizeof(zeros);
		ssize_t w = pwrite(p->fd, zeros, n, (off_t)at);
		if (w <= 0) {
			/* All or nothing: on a nearly full disk the zeros must not
			 * take the room the records need. */
			(void)ftruncate(p->fd, (off_t)start);
			return;
		}
		at += (uint64_t)w;
	}
	p->zeroed_to = at;
	if (p->opt.fsync != PERSIST_FSYNC_NO)
		fdatasync(p->fd);   /* the size and extents, once per chunk */
}

/* A batch failed from good_off on: make it nothing again, zeros inside the
 * preallocated part (which keeps the file's size) or cut off past it. */
static void undo_batch(struct persist *p, size_t len)
{
	static const char zeros[64 << 10];
	int ok = p->good_off + len <= p->zeroed_to;
	for (uint64_t at = p->good_off; ok && at < p->good_off + len;) {
		size_t n = p->good_off + len - at < sizeof(zeros) ? (size_t)(p->good_off + len - at) : sizeof(zeros);
		ssize_t w = pwrite(p->fd, zeros, n, (off_t)at);
		ok = w > 0;
		at += w > 0 ? (uint64_t)w : 0;
	}
	if (!ok) {
		p->zeroed_to = p->good_off;
		if (ftruncate(p->fd, (off_t)p->good_off) < 0 && p->healthy)
			log_err("persistence: cannot cut %s/log.%06u back to %llu: %s", p->dir, p->seq,
			        (unsigned long long)p->good_off, strerror(errno));
	}
	lseek(p->fd, (off_t)p->good_off, SEEK_SET);
}

/* ---- the write path ----------------------------------------------------- */

int persist_append(struct persist *p, const void *payload, size_t len)
{
	if (len > PERSIST_RECORD_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (p->len + REC_HEADER + len > p->cap) {
		size_t cap = p->cap ? p->cap : 65536;
		while (cap < p->len + REC_HEADER + len)
			cap *= 2;
		char *b = realloc(p->buf, cap);
		if (!b)
			return -1;
		p->buf = b;
		p->cap = cap;
	}
	rec_header((unsigned char *)p->buf + p->len, payload, (uint32_t)len);
	memcpy(p->buf + p->len + REC_HEADER, payload, len);
	p->len += REC_HEADER + len;
	return 0;
}

static void maybe_compact(struct persist *p);

/* Write the buffer: one write, one sync with fsync=always. On failure the
 * segment is cut back to its last good offset and the buffer kept. */
static int commit_now(struct persist *p)
{
	if (p->len == 0)
		return 0;
	p->commits++;
	zero_ahead(p, p->good_off + p->len);
	if (write_all(p->fd, p->buf, p->len, &p->writes) < 0) {
		int e = errno;
		undo_batch(p, p->len);
		persist_fail(p, e, "write");
		return -1;
	}
	if (p->opt.fsync == PERSIST_FSYNC_ALWAYS) {
		p->syncs++;
		if (persist_io.fdatasync(p->fd) < 0) {
			/* After a failed sync the kernel may have dropped the pages:
			 * treat the whole batch as unwritten and write it again. */
			int e = errno;
			undo_batch(p, p->len);
			persist_fail(p, e, "fdatasync");
			return -1;
		}
	}
	p->good_off += p->len;
	p->log_bytes += p->len;
	p->len = 0;
	if (p->thread_on) {
		pthread_mutex_lock(&p->lock);
		if (p->synced_gen == p->written_gen)
			p->unsynced_since_ms = now_ms();
		p->written_gen++;
		/* Only an idle thread needs waking: one that waits out its
		 * second looks again when the second ends, and waking it for
		 * every commit would cost a context switch per write. */
		if (p->sync_idle)
			pthread_cond_signal(&p->wake);
		pthread_mutex_unlock(&p->lock);
	}
	persist_recovered(p);
	return 0;
}

int persist_healthy(struct persist *p)
{
	if (p->thread_on) {
		pthread_mutex_lock(&p->lock);
		int e = p->bg_errno;
		pthread_mutex_unlock(&p->lock);
		if (e && p->healthy)
			persist_fail(p, e, "background fdatasync");
		else if (!e && !p->healthy && p->len == 0 && p->last_error[0] == 'b')
			persist_recovered(p);
	}
	if (!p->healthy && now_ms() >= p->retry_at_ms) {
		p->retry_at_ms = now_ms() + p->retry_ms;
		if (p->len)
			commit_now(p);       /* the kept batch first: it may work now */
		else if (p->last_error[0] != 'b')
			persist_recovered(p);
	}
	return p->healthy;
}

int persist_staged(const struct persist *p)
{
	return p->len != 0;
}

int persist_commit(struct persist *p)
{
	if (!p->healthy && now_ms() < p->retry_at_ms)
		return p->len ? -1 : 0;
	int r = commit_now(p);
	if (r == 0)
		maybe_compact(p);
	return r;
}

/* ---- snapshots ---------------------------------------------------------- */

static int writer_flush(struct persist_writer *w)
{
	if (w->len && !w->failed && write_all(w->fd, w->buf, w->len, NULL) < 0)
		w->failed = 1;
	w->bytes += w->len;
	w->len = 0;
	return w->failed ? -1 : 0;
}

static int writer_raw(struct persist_writer *w, const void *data, size_t len)
{
	const char *d = data;
	while (len) {
		if (w->len == sizeof(w->buf) && writer_flush(w) < 0)
			return -1;
		size_t n = sizeof(w->buf) - w->len;
		if (n > len)
			n = len;
		memcpy(w->buf + w->len, d, n);
		w->len += n;
		d += n;
		len -= n;
	}
	return w->failed ? -1 : 0;
}

int persist_writer_put(struct persist_writer *w, const void *payload, size_t len)
{
	unsigned char h[REC_HEADER];
	if (len > PERSIST_RECORD_MAX)
		return -1;
	rec_header(h, payload, (uint32_t)len);
	w->count++;
	return writer_raw(w, h, sizeof(h)) < 0 || writer_raw(w, payload, len) < 0 ? -1 : 0;
}

/* Write the state into snapshot.tmp, sync it, rename it to snapshot.<seq>,
 * sync the directory. Its size goes to *size. 0, or -1. */
static int snapshot_write(struct persist *p, uint32_t seq, uint64_t *size)
{
	char name[32];
	unsigned char h[HEADER_SIZE], end[REC_HEADER + 8];
	struct persist_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return -1;
	w->fd = openat(p->dirfd, "snapshot.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		free(w);
		return -1;
	}
	file_header(h, SNAP_MAGIC);
	int r = writer_raw(w, h, sizeof(h));
	if (r == 0)
		r = p->ops.snapshot(p->ops.ctx, w);
	if (r == 0) {
		uint64_t n = w->count;
		for (int i = 0; i < 8; i++)
			end[REC_HEADER + i] = (unsigned char)(n >> (8 * i));
		put32(end, END_MARK);
		put32(end + 4, crc32c(crc32c(0, end, 4), end + REC_HEADER, 8));
		r = writer_raw(w, end, sizeof(end));
	}
	if (r == 0)
		r = writer_flush(w);
	if (r == 0)
		r = fdatasync(w->fd);
	close(w->fd);
	*size = w->bytes;
	free(w);
	snprintf(name, sizeof(name), "snapshot.%06u", seq);
	if (r == 0)
		r = renameat(p->dirfd, "snapshot.tmp", p->dirfd, name);
	if (r == 0)
		r = fsync_dir(p);
	if (r != 0)
		unlinkat(p->dirfd, "snapshot.tmp", 0);
	return r ? -1 : 0;
}

/* Remove segments and snapshots older than seq (snapshot seq covers them). */
static void remove_older(struct persist *p, uint32_t seq)
{
	DIR *d = opendir(p->dir);
	struct dirent *e;
	unsigned n;
	char tail;
	if (!d)
		return;
	while ((e = readdir(d))) {
		if ((sscanf(e->d_name, "log.%6u%c", &n, &tail) == 1 ||
		     sscanf(e->d_name, "snapshot.%6u%c", &n, &tail) == 1) && n < seq && strlen(e->d_name) <= 15)
			unlinkat(p->dirfd, e->d_name, 0);
	}
	closedir(d);
	fsync_dir(p);
}

int persist_snapshot_now(struct persist *p)
{
	int fds[2];
	if (p->child) {
		errno = EBUSY;
		return -1;
	}
	if (!p->ops.snapshot) {
		errno = ENOTSUP;
		return -1;
	}
	/* What is buffered belongs to the old segment: the child's memory
	 * already holds its effect, so it must not land after the rotation. */
	if (commit_now(p) < 0 || !p->healthy) {
		errno = EIO;
		return -1;
	}
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	if (segment_rotate(p) < 0) {
		int e = errno;
		close(fds[0]);
		close(fds[1]);
		persist_fail(p, e, "new segment");
		errno = e;
		return -1;
	}
	p->snapshot_started_ms = now_ms();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(fds[0]);
		close(fds[1]);
		errno = e;
		return -1;
	}
	if (pid == 0) {
		uint64_t size = 0;
		close(fds[0]);
		/* Die with the daemon: an orphan still writing snapshot.tmp would
		 * race the next daemon's files. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != p->owner_pid)
			_exit(1);
		/* A stop (systemctl stop signals the whole cgroup) lets the
		 * snapshot finish: the daemon waits for it in persist_close. */
		signal(SIGTERM, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		unsigned char ok = snapshot_write(p, p->seq, &size) == 0;
		char msg[1 + sizeof(size)];
		msg[0] = ok;
		memcpy(msg + 1, &size, sizeof(size));
		if (write(fds[1], msg, sizeof(msg)) < 0)
			_exit(1);
		_exit(ok ? 0 : 1);
	}
	close(fds[1]);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	p->child = pid;
	p->child_pipe = fds[0];
	p->child_seq = p->seq;
	return 0;
}

int persist_snapshot_fd(struct persist *p)
{
	return p->child ? p->child_pipe : -1;
}

int persist_snapshot_poll(struct persist *p)
{
	char msg[1 + sizeof(uint64_t)];
	int status;
	if (!p->child)
		return 0;
	ssize_t n = read(p->child_pipe, msg, sizeof(msg));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	/* A message or EOF: the child is exiting (it writes its message, or
	 * fails, then exits at once), so waiting for it is short; polling for
	 * it instead spun the loop (and the caller) while it exited. */
	pid_t r;
	do
		r = waitpid(p->child, &status, 0);
	while (r < 0 && errno == EINTR);
	int ok = r == p->child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	close(p->child_pipe);
	p->child_pipe = -1;
	p->child = 0;
	if (ok) {
		if (n == (ssize_t)sizeof(msg))
			memcpy(&p->child_size, msg + 1, sizeof(uint64_t));
		p->snapshot_bytes = p->child_size;
		p->snapshot_ms = now_ms() - p->snapshot_started_ms;
		p->snapshot_time = time(NULL);
		p->log_bytes = p->good_off - HEADER_SIZE + p->len;
		remove_older(p, p->child_seq);
		log_info("persistence: snapshot.%06u written in %llu ms", p->child_seq,
		         (unsigned long long)p->snapshot_ms);
	} else {
		log_err("persistence: the snapshot child failed; the log keeps growing until one succeeds");
	}
	return 1;
}

static void maybe_compact(struct persist *p)
{
	if (!p->opt.compact_percent || p->child || !p->ops.snapshot)
		return;
	if (p->log_bytes < p->opt.compact_min ||
	    p->log_bytes < p->snapshot_bytes / 100 * p->opt.compact_percent)
		return;
	if (persist_snapshot_now(p) < 0 && errno != EBUSY)
		log_warn("persistence: cannot start a snapshot: %s", strerror(errno));
}

/* ---- recovery ----------------------------------------------------------- */

struct scan {
	struct persist *p;
	char *err;
	size_t errlen;
	char damaged[64];          /* file name of the first damage, "" = none */
	uint64_t zero_tail;        /* the file scanned last ends in preallocated zeros from here; 0 = no */
};

/* True if the n bytes at p are all zero. */
static int all_zero(const unsigned char *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* Move a damaged file aside as NAME.damaged.TIMESTAMP. */
static void move_aside(struct persist *p, const char *name)
{
	char to[96];
	snprintf(to, sizeof(to), "%s.damaged.%lld", name, (long long)time(NULL));
	if (renameat(p->dirfd, name, p->dirfd, to) == 0)
		log_warn("persistence: moved %s/%s aside as %s", p->dir, name, to);
	else
		log_err("persistence: cannot move %s/%s aside: %s", p->dir, name, strerror(errno));
}

enum { SCAN_OK, SCAN_TORN, SCAN_DAMAGED, SCAN_ERROR };

/*
 * Replay one file. is_snapshot: expect the end mark. is_last: a bad record
 * reaching the end of the file is a torn write, cut off. Returns SCAN_*;
 * *cut is the offset where a torn or damaged tail begins.
 */
static int scan_file(struct scan *s, const char *name, int is_snapshot, int is_last, uint64_t *cut)
{
	struct persist *p = s->p;
	int fd = openat(p->dirfd, name, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(s->err, s->errlen, "%s/%s: cannot read: %s", p->dir, name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return SCAN_ERROR;
	}
	uint64_t size = (uint64_t)st.st_size, off = HEADER_SIZE;
	const unsigned char *m = NULL;
	if (size > 0) {
		m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED) {
			snprintf(s->err, s->errlen, "%s/%s: cannot map: %s", p->dir, name, strerror(errno));
			close(fd);
			return SCAN_ERROR;
		}
		madvise((void *)m, size, MADV_SEQUENTIAL);
	}
	close(fd);
	int result = SCAN_OK;
	const char *why = NULL;
	unsigned char want[HEADER_SIZE];
	file_header(want, is_snapshot ? SNAP_MAGIC : LOG_MAGIC);
	*cut = 0;
	if (size < HEADER_SIZE) {
		off = 0;
		why = "short file header";
		result = !is_snapshot && is_last ? SCAN_TORN : SCAN_DAMAGED;
		goto out;
	}
	if (memcmp(m, want, 8) != 0) {
		off = 0;
		why = "not an ipcd state file (bad magic)";
		result = SCAN_DAMAGED;
		goto out;
	}
	if (get32(m + 8) != FORMAT_VERSION) {
		snprintf(s->err, s->errlen, "%s/%s: format version %u, this ipcd reads %u", p->dir, name,
		         get32(m + 8), FORMAT_VERSION);
		result = SCAN_ERROR;
		goto out;
	}
	uint64_t next_progress = 0;
	int ended = 0;
	s->zero_tail = 0;
	while (off < size) {
		if (!is_snapshot && size - off >= REC_HEADER && get32(m + off) == 0 && get32(m + off + 4) == 0 &&
		    all_zero(m + off, size - off)) {
			s->zero_tail = off;   /* preallocated: the log ends here */
			break;
		}
		if (size - off < REC_HEADER) {
			why = "short record header";
			result = is_last && !is_snapshot ? SCAN_TORN : SCAN_DAMAGED;
			break;
		}
		uint32_t len = get32(m + off), crc = get32(m + off + 4);
		uint64_t plen = len == END_MARK && is_snapshot ? 8 : len;
		if (plen > PERSIST_RECORD_MAX) {
			why = "impossible record length";
			result = SCAN_DAMAGED;
			break;
		}
		if (size - off - REC_HEADER < plen) {
			why = "short record";
			result = is_last && !is_snapshot ? SCAN_TORN : SCAN_DAMAGED;
			break;
		}
		const unsigned char *payload = m + off + REC_HEADER;
		if (crc32c(crc32c(0, m + off, 4), payload, plen) != crc) {
			why = "CRC mismatch";
			uint64_t after = off + REC_HEADER + plen;
			int at_end = after == size || (!is_snapshot && all_zero(m + after, size - after));
			result = is_last && !is_snapshot && at_end ? SCAN_TORN : SCAN_DAMAGED;
			break;
		}
		if (len == END_MARK && is_snapshot) {
			ended = 1;
			off += REC_HEADER + plen;
			break;
		}
		if (p->ops.replay && p->ops.replay(p->ops.ctx, payload, len) != 0) {
			snprintf(s->err, s->errlen, "%s/%s: record at offset %llu could not be applied",
			         p->dir, name, (unsigned long long)off);
			result = SCAN_ERROR;
			goto out;
		}
		p->records_replayed++;
		off += REC_HEADER + plen;
		if (p->ops.progress && off >= next_progress) {
			p->ops.progress(p->ops.ctx, name, off, size);
			next_progress = off + (8u << 20);
		}
	}
	if (result == SCAN_OK && is_snapshot && !ended) {
		why = "snapshot ends without its end mark (cut off)";
		result = SCAN_DAMAGED;
	} else if (result == SCAN_OK && is_snapshot && off != size) {
		why = "data after the snapshot's end mark";
		result = SCAN_DAMAGED;
	}
out:
	if (why) {
		*cut = off;
		if (result == SCAN_DAMAGED)
			snprintf(s->err, s->errlen, "%s/%s: %s at offset %llu (%s; start with --recover to "
			         "keep what precedes it and move the file aside)", p->dir, name, why,
			         (unsigned long long)off, is_snapshot ? "the snapshot is damaged"
			                                             : "the log is damaged in the middle");
		else
			log_warn("persistence: %s/%s: %s at offset %llu: a write cut short by a crash; "
			         "cutting %llu bytes off", p->dir, name, why, (unsigned long long)off,
			         (unsigned long long)(size - off));
	}
	if (p->ops.progress && result == SCAN_OK)
		p->ops.progress(p->ops.ctx, name, size, size);
	if (m)
		munmap((void *)m, size);
	return result;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Numbers of the files "prefix.NNNNNN" in dir, sorted. */
static uint32_t *list_numbered(DIR *d, const char *prefix, size_t *n)
{
	uint32_t *v = NULL;
	size_t cap = 0;
	struct dirent *e;
	size_t pl = strlen(prefix);
	*n = 0;
	rewinddir(d);
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, pl) != 0 || strlen(e->d_name) != pl + 6 ||
		    strspn(e->d_name + pl, "0123456789") != 6)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			uint32_t *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return NULL;
			}
			v = nv;
		}
		v[(*n)++] = (uint32_t)strtoul(e->d_name + pl, NULL, 10);
	}
	if (v)
		qsort(v, *n, sizeof(*v), cmp_u32);
	return v;
}

static int recover_files(struct persist *p, struct scan *s)
{
	DIR *d = opendir(p->dir);
	size_t nsnap, nlog;
	char name[32];
	uint64_t cut;
	int damaged = 0, r = 0;
	if (!d) {
		snprintf(s->err, s->errlen, "%s: cannot read: %s", p->dir, strerror(errno));
		return -1;
	}
	uint32_t *snaps = list_numbered(d, "snapshot.", &nsnap);
	uint32_t *logs = list_numbered(d, "log.", &nlog);
	closedir(d);
	uint32_t base = 0;
	p->seq = nlog ? logs[nlog - 1] : 0;
	if (nsnap) {
		base = snaps[nsnap - 1];
		snprintf(name, sizeof(name), "snapshot.%06u", base);
		int sr = scan_file(s, name, 1, 0, &cut);
		if (sr == SCAN_ERROR || (sr == SCAN_DAMAGED && !p->opt.recover)) {
			r = -1;
			goto out;
		}
		if (sr == SCAN_DAMAGED) {
			log_err("persistence: %s; keeping what precedes it", s->err);
			move_aside(p, name);
			damaged = 1;
		} else {
			struct stat st;
			if (fstatat(p->dirfd, name, &st, 0) == 0)
				p->snapshot_bytes = (uint64_t)st.st_size;
		}
		if (base > p->seq)
			p->seq = base;
	}
	for (size_t i = 0; i < nlog; i++) {
		if (logs[i] < base)
			continue;    /* covered by the snapshot; left by a crash before the cleanup */
		snprintf(name, sizeof(name), "log.%06u", logs[i]);
		if (damaged) {   /* after damage nothing later can be applied */
			move_aside(p, name);
			continue;
		}
		int last = i == nlog - 1;
		int sr = scan_file(s, name, 0, last, &cut);
		if (sr == SCAN_ERROR || (sr == SCAN_DAMAGED && !p->opt.recover)) {
			r = -1;
			goto out;
		}
		if (sr == SCAN_TORN) {
			int fd = openat(p->dirfd, name, O_WRONLY | O_CLOEXEC);
			if (fd < 0 || ftruncate(fd, (off_t)cut) < 0 || fsync(fd) < 0) {
				snprintf(s->err, s->errlen, "%s/%s: cannot cut the torn tail at offset %llu: %s",
				         p->dir, name, (unsigned long long)cut, strerror(errno));
				if (fd >= 0)
					close(fd);
				r = -1;
				goto out;
			}
			close(fd);
		} else if (sr == SCAN_DAMAGED) {
			log_err("persistence: %s; keeping what precedes it", s->err);
			move_aside(p, name);
			damaged = 1;
		} else if (s->zero_tail) {
			/* The preallocated zeros of a segment left by a crash. */
			int fd = openat(p->dirfd, name, O_WRONLY | O_CLOEXEC);
			if (fd >= 0) {
				if (ftruncate(fd, (off_t)s->zero_tail) == 0)
					fsync(fd);
				close(fd);
			}
		}
		struct stat st;
		if (fstatat(p->dirfd, name, &st, 0) == 0 && st.st_size > HEADER_SIZE)
			p->log_bytes += (uint64_t)st.st_size - HEADER_SIZE;
	}
	r = damaged;
out:
	free(snaps);
	free(logs);
	return r;
}

struct persist *persist_open(const char *dir, const struct persist_options *opt,
                             const struct persist_ops *ops, char *err, size_t errlen)
{
	struct persist *p = calloc(1, sizeof(*p));
	struct scan s = { .p = p, .err = err, .errlen = errlen };
	if (!p || !(p->dir = strdup(dir))) {
		snprintf(err, errlen, "out of memory");
		free(p);
		return NULL;
	}
	p->opt = *opt;
	p->owner_pid = getpid();
	p->ops = *ops;
	p->fd = p->dirfd = p->child_pipe = -1;
	p->healthy = 1;
	p->retry_ms = opt->retry_ms ? opt->retry_ms : PERSIST_RETRY_MS;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create: %s", dir, strerror(errno));
		goto fail;
	}
	p->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dirfd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", dir, strerror(errno));
		goto fail;
	}
	unlinkat(p->dirfd, "snapshot.tmp", 0);    /* a snapshot a crash cut short */
	int damaged = recover_files(p, &s);
	if (damaged < 0)
		goto fail;
	p->fd = segment_create(p, p->seq + 1);
	if (p->fd < 0) {
		snprintf(err, errlen, "%s/log.%06u: cannot create: %s", dir, p->seq + 1, strerror(errno));
		goto fail;
	}
	p->seq++;
	p->good_off = p->zeroed_to = HEADER_SIZE;
	if (damaged && p->ops.snapshot) {
		/* What was kept is only in memory now: make it the new base. */
		uint64_t size;
		if (snapshot_write(p, p->seq, &size) < 0) {
			snprintf(err, errlen, "%s/snapshot.%06u: cannot write: %s", dir, p->seq, strerror(errno));
			goto fail;
		}
		p->snapshot_bytes = size;
		p->snapshot_time = time(NULL);
		p->log_bytes = 0;
		remove_older(p, p->seq);
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	if (opt->fsync == PERSIST_FSYNC_EVERYSEC) {
		if (pthread_create(&p->thread, NULL, sync_thread, p) != 0) {
			snprintf(err, errlen, "cannot start the sync thread");
			goto fail;
		}
		p->thread_on = 1;
	}
	return p;
fail:
	if (p->fd >= 0)
		close(p->fd);
	if (p->dirfd >= 0)
		close(p->dirfd);
	free(p->dir);
	free(p);
	return NULL;
}

void persist_close(struct persist *p)
{
	if (!p)
		return;
	commit_now(p);
	/* A running snapshot is waited for and taken as at any other time
	 * (reaped by persist_snapshot_poll alone: a second waitpid would find
	 * no child and take a good snapshot for a failed one). */
	while (p->child && !persist_snapshot_poll(p)) {
		struct pollfd pf = { .fd = p->child_pipe, .events = POLLIN };
		poll(&pf, 1, 100);
	}
	if (p->thread_on) {
		pthread_mutex_lock(&p->lock);
		p->stop = 1;
		pthread_cond_signal(&p->wake);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
	}
	if (p->zeroed_to > p->good_off && p->len == 0)
		(void)ftruncate(p->fd, (off_t)p->good_off);   /* the preallocated zeros */
	if (p->opt.fsync != PERSIST_FSYNC_NO)
		fdatasync(p->fd);
	close(p->fd);
	close(p->dirfd);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->wake);
	free(p->buf);
	free(p->dir);
	free(p);
}

unsigned persist_segment(const struct persist *p)
{
	return p->seq;
}

void persist_get_stats(struct persist *p, struct persist_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->dir = p->dir;
	st->fsync = p->opt.fsync;
	st->healthy = p->healthy;
	st->last_errno = p->last_errno;
	st->last_error = p->last_error;
	st->log_bytes = p->log_bytes;
	st->snapshot_bytes = p->snapshot_bytes;
	st->snapshot_time = p->snapshot_time;
	st->snapshot_ms = p->snapshot_ms;
	st->snapshot_running = p->child != 0;
	st->records_replayed = p->records_replayed;
	st->commits = p->commits;
	st->writes = p->writes;
	if (p->thread_on) {
		pthread_mutex_lock(&p->lock);
		if (p->synced_gen != p->written_gen)
			st->fsync_lag_ms = now_ms() - p->unsynced_since_ms;
		st->syncs = p->syncs;
		pthread_mutex_unlock(&p->lock);
	} else {
		st->syncs = p->syncs;
	}
}

const char *persist_fsync_name(enum persist_fsync f)
{
	return f == PERSIST_FSYNC_ALWAYS ? "always" : f == PERSIST_FSYNC_EVERYSEC ? "everysec" : "no";
}
