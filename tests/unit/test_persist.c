/*
 * test_persist.c: the storage engine on real files in a temp dir: records
 * come back in order after a reopen, one commit is one write and one sync,
 * a torn tail is cut at every byte, damage mid-log or in a snapshot stops the
 * open (or, with recover, keeps the intact prefix and moves the file aside),
 * a failing disk refuses writes, leaves nothing half-written and recovers,
 * and a forked snapshot taken while appends go on loses and repeats nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include "crc32c.h"
#include "persist.h"

/* The state under test: the records replayed or appended, in order. */
struct state {
	char **rec;
	size_t *len;
	size_t n, cap;
};

static void state_add(struct state *s, const void *p, size_t len)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->rec = realloc(s->rec, s->cap * sizeof(*s->rec));
		s->len = realloc(s->len, s->cap * sizeof(*s->len));
	}
	s->rec[s->n] = malloc(len ? len : 1);
	memcpy(s->rec[s->n], p, len);
	s->len[s->n++] = len;
}

static void state_free(struct state *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->rec[i]);
	free(s->rec);
	free(s->len);
	memset(s, 0, sizeof(*s));
}

static int replay(void *ctx, const void *p, size_t len)
{
	state_add(ctx, p, len);
	return 0;
}

static int snapshot(void *ctx, struct persist_writer *w)
{
	struct state *s = ctx;
	for (size_t i = 0; i < s->n; i++)
		if (persist_writer_put(w, s->rec[i], s->len[i]) < 0)
			return -1;
	return 0;
}

static char dir[256];
static char err[512];

static void fresh_dir(void)
{
	char cmd[300];
	if (dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		assert_int_equal(system(cmd), 0);
	}
	strcpy(dir, "/tmp/ipcd-persist-XXXXXX");
	assert_non_null(mkdtemp(dir));
}

static struct persist *open_state(struct state *s, enum persist_fsync f, int recover)
{
	struct persist_options o = { .fsync = f, .recover = recover, .retry_ms = 1 };
	struct persist_ops ops = { .replay = replay, .snapshot = snapshot, .ctx = s };
	err[0] = 0;
	return persist_open(dir, &o, &ops, err, sizeof(err));
}

/* Record i: "record-i" padded to a length that varies with i. */
static size_t make_record(char *buf, unsigned i)
{
	size_t len = (size_t)snprintf(buf, 64, "record-%u", i);
	size_t pad = i % 23;
	memset(buf + len, 'a' + i % 26, pad);
	return len + pad;
}

/* Append and commit n records numbered from first, mirrored in s. */
static void put_records(struct persist *p, struct state *s, unsigned first, unsigned n)
{
	char buf[128];
	for (unsigned i = first; i < first + n; i++) {
		size_t len = make_record(buf, i);
		assert_int_equal(persist_append(p, buf, len), 0);
		if (s)
			state_add(s, buf, len);
	}
	assert_int_equal(persist_commit(p), 0);
}

/* s holds exactly records first..first+n-1 in order. */
static void assert_records(const struct state *s, unsigned first, unsigned n)
{
	char buf[128];
	assert_int_equal(s->n, n);
	for (unsigned i = 0; i < n; i++) {
		size_t len = make_record(buf, first + i);
		assert_int_equal(s->len[i], len);
		assert_memory_equal(s->rec[i], buf, len);
	}
}

static off_t file_size(const char *name)
{
	char path[400];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void cut_file(const char *name, off_t size)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(truncate(path, size), 0);
}

static void flip_byte(const char *name, off_t at)
{
	char path[400];
	unsigned char c;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, at), 1);
	c ^= 0x10;
	assert_int_equal(pwrite(fd, &c, 1, at), 1);
	close(fd);
}

static int count_damaged(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)))
		n += strstr(e->d_name, ".damaged.") != NULL;
	closedir(d);
	return n;
}

static int restore_io(void **st)
{
	persist_io.write = (ssize_t (*)(int, const void *, size_t))write;
	persist_io.fdatasync = fdatasync;
	return 0;
}

static void test_crc32c_known_values(void **state)
{
	assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(crc32c_sw(0, "123456789", 9), 0xE3069283u);
	char buf[1000];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7 + 3);
	for (size_t len = 0; len < sizeof(buf); len += 37)
		assert_int_equal(crc32c(0, buf + 1, len - (len ? 1 : 0)),
		                 crc32c_sw(0, buf + 1, len - (len ? 1 : 0)));
	/* extending in two steps equals one pass */
	assert_int_equal(crc32c(crc32c(0, buf, 300), buf + 300, 700), crc32c(0, buf, 1000));
}

static void test_round_trip(void **st)
{
	struct state s = { 0 }, back = { 0 };
	fresh_dir();
	struct persist *p = open_state(&s, PERSIST_FSYNC_NO, 0);
	assert_non_null(p);
	put_records(p, NULL, 0, 300);
	put_records(p, NULL, 300, 1);
	assert_int_equal(persist_append(p, "", 0), 0);     /* an empty record is a record */
	assert_int_equal(persist_commit(p), 0);
	persist_close(p);
	p = open_state(&back, PERSIST_FSYNC_EVERYSEC, 0);
	assert_non_null(p);
	assert_int_equal(back.n, 302);
	assert_int_equal(back.len[301], 0);
	back.n = 301;
	assert_records(&back, 0, 301);
	back.n = 302;
	persist_close(p);
	state_free(&back);
	state_free(&s);
}

static int writes, syncs;
static ssize_t counting_write(int fd, const void *b, size_t n) { writes++; return write(fd, b, n); }
static int counting_sync(int fd) { syncs++; return fdatasync(fd); }

static void test_group_commit_is_one_write_and_one_sync(void **st)
{
	struct state s = { 0 };
	fresh_dir();
	struct persist *p = open_state(&s, PERSIST_FSYNC_ALWAYS, 0);
	assert_non_null(p);
	persist_io.write = counting_write;
	persist_io.fdatasync = counting_sync;
	writes = syncs = 0;
	put_records(p, NULL, 0, 100);
	assert_int_equal(writes, 1);
	assert_int_equal(syncs, 1);
	assert_int_equal(persist_commit(p), 0);            /* nothing buffered: no I/O */
	assert_int_equal(writes, 1);
	assert_int_equal(syncs, 1);
	put_records(p, NULL, 100, 3);
	assert_int_equal(writes, 2);
	assert_int_equal(syncs, 2);
	restore_io(NULL);
	persist_close(p);
	state_free(&s);
}

/* A fresh state directory whose log holds records 0, 1 and 2, closed:
 * the log's size. */
static off_t three_records(void)
{
	struct state s = { 0 };
	fresh_dir();
	struct persist *p = open_state(&s, PERSIST_FSYNC_NO, 0);
	assert_non_null(p);
	put_records(p, NULL, 0, 3);
	persist_close(p);
	state_free(&s);
	return file_size("log.000001");
}

static void test_torn_tail_is_cut_at_every_byte(void **st)
{
	char buf[128];
	size_t last_len = make_record(buf, 2) + 8;
	for (size_t keep = 0; keep < last_len; keep++) {
		struct state s = { 0 };
		off_t full = three_records(), start = full - (off_t)last_len;
		cut_file("log.000001", start + (off_t)keep);
		struct persist *p = open_state(&s, PERSIST_FSYNC_NO, 0);
		assert_non_null(p);
		assert_records(&s, 0, 2);
		assert_int_equal(file_size("log.000001"), start);
		persist_close(p);
		state_free(&s);
	}
	/* a whole last record with a bad CRC is a torn write too */
	struct state s = { 0 };
	fresh_dir();
	struct persist *p = open_state(&s, PERSIST_FSYNC_NO, 0);
	put_records(p, NULL, 0, 3);
	persist_close(p);
	flip_byte("log.000001", file_size("log.000001") - 1);
	p = open_state(&s, PERSIST_FSYNC_NO, 0);
	assert_non_null(p);
	assert_records(&s, 0, 2);
	persist_close(p);
	state_free(&s);
}

/* A crash leaves the log's preallocated zeros after its last record: they
 * are its end, cut off at the next open; a record torn inside them (its
 * tail still zeros) is cut off as at the end of a file. */
static void test_preallocated_zeros_end_the_log(void **st)
{
	char buf[128];
	size_t last_len = make_record(buf, 2) + 8;
	for (int torn = 0; torn < 2; torn++) {
		struct state s = { 0 };
		off_t full = three_records();
		if (torn)
			cut_file("log.000001", full - (off_t)last_len / 2);   /* half the last record */
		cut_file("log.000001", full + (1 << 20));                 /* then zeros, as preallocated */
		struct persist *p = open_state(&s, PERSIST_FSYNC_NO, 0);
		assert_non_null(p);
		assert_records(&s, 0, torn ? 2 : 3);
		assert_int_equal(file_size("log.000001"), torn ? full - (off_t)last_len : full);
		persist_close(p);
		state_free(&s);
	}
}

static void test_damage_mid_log_stops_or_recovers(void **st)
{
	struct state s = { 0 };
	char buf[128];
	fresh_dir();
	struct persist *p = open_state(&s, PERSIST_FSYNC_NO, 0);
	put_records(p, NULL, 0, 10);
	persist_close(p);
	/* flip a payload byte of record 4 */
	off_t off = 16;
	for (unsigned i = 0; i < 4; i++)
		off += 8 + (off_t)make_record(buf, i);
	flip_byte("log.000001", off + 9);
	assert_null(open_state(&s, PERSIST_FSYNC_NO, 0));
	char want[64];
	snprintf(want, sizeof(want), "log.000001: CRC mismatch at offset %lld", (long long)off);
	assert_non_null(strstr(err, want));
	assert_int_equal(count_damaged(), 0);
	state_free(&s);

	p = open_state(&s, PERSIST_FSYNC_NO, 1);
	assert_non_null(p);
	assert_records(&s, 0, 4);
	assert_int_equal(count_damaged(), 1);
	put_records(p, &s, 10, 2);
	persist_close(p);
	state_free(&s);

	/* what was kept is a clean state now: no recover needed */
	p = open_state(&s, PERSIST_FSYNC_NO, 0);
	assert_non_null(p);
	assert_int_equal(s.n, 6);
	s.n = 4;
	assert_records(&s, 0, 4);
	s.n = 6;
	persist_close(p);
	state_free(&s);
}

/* Wait (bounded) for the snapshot child and reap it. */
static void finish_snapshot(struct persist *p)
{
	for (int i = 0; i < 1000; i++) {
		int fd = persist_snapshot_fd(p);
		if (fd < 0)
			return;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		poll(&pfd, 1, 10);
		if (persist_snapshot_poll(p))
			return;
	}
	fail_msg("the snapshot did not finish in 10 s");
}

static void test_snapshot_while_appending(void **st)
{
	struct state s = { 0 }, back = { 0 };
	fresh_dir();
	struct persist *p = open_state(&s, PERSIST_FSYNC_EVERYSEC, 0);
	assert_non_null(p);
	put_records(p, &s, 0, 2000);
	assert_int_equal(persist_snapshot_now(p), 0);
	assert_int_equal(persist_snapshot_now(p), -1);      /* one at a time */
	assert_int_equal(errno, EBUSY);
	for (unsigned i = 0; i < 50; i++)
		put_records(p, &s, 2000 + i * 10, 10);
	finish_snapshot(p);
	struct persist_stats ps;
	persist_get_stats(p, &ps);
	assert_false(ps.snapshot_running);
	assert_true(ps.snapshot_bytes > 2000 * 8);
	assert_true(ps.snapshot_time > 0);
	persist_close(p);
	/* the segment the snapshot covers is gone */
	char path[400];
	snprintf(path, sizeof(path), "%s/log.000001", dir);
	assert_int_equal(access(path, F_OK), -1);
	p = open_state(&back, PERSIST_FSYNC_NO, 0);
	assert_non_null(p);
	assert_records(&back, 0, 2500);
	persist_close(p);
	state_free(&back);
	state_free(&s);
}

static void test_truncated_snapshot(void **st)
{
	struct state s = { 0 }, back = { 0 };
	fresh_dir();
	struct persist *p = open_state(&s, PERSIST_FSYNC_NO, 0);
	put_records(p, &s, 0, 100);
	assert_int_equal(persist_snapshot_now(p), 0);
	finish_snapshot(p);
	put_records(p, &s, 100, 5);
	persist_close(p);
	cut_file("snapshot.000002", file_size("snapshot.000002") - 3);
	assert_null(open_state(&back, PERSIST_FSYNC_NO, 0));
	assert_non_null(strstr(err, "snapshot.000002"));
	assert_non_null(strstr(err, "offset"));
	state_free(&back);
	/* recover keeps the snapshot's records; later segments depend on what
	 * was lost and are moved aside as well */
	p = open_state(&back, PERSIST_FSYNC_NO, 1);
	assert_non_null(p);
	assert_records(&back, 0, 100);
	assert_int_equal(count_damaged(), 2);
	persist_close(p);
	state_free(&back);
	p = open_state(&back, PERSIST_FSYNC_NO, 0);
	assert_non_null(p);
	assert_records(&back, 0, 100);
	persist_close(p);
	state_free(&back);
	state_free(&s);
}

/* Writes half of what it is given, then fails with ENOSPC, while armed. */
static int disk_full;
static ssize_t full_write(int fd, const void *b, size_t n)
{
	if (!disk_full)
		return write(fd, b, n);
	if (n > 1 && disk_full == 1) {
		disk_full = 2;
		return write(fd, b, n / 2);
	}
	errno = ENOSPC;
	return -1;
}

static void test_disk_full_refuses_and_recovers(void **st)
{
	struct state s = { 0 }, back = { 0 };
	fresh_dir();
	struct persist *p = open_state(&s, PERSIST_FSYNC_ALWAYS, 0);
	put_records(p, NULL, 0, 10);
	off_t good = file_size("log.000001");
	persist_io.write = full_write;
	disk_full = 1;
	char buf[128];
	for (unsigned i = 10; i < 15; i++)
		assert_int_equal(persist_append(p, buf, make_record(buf, i)), 0);
	assert_int_equal(persist_commit(p), -1);
	assert_int_equal(file_size("log.000001"), good);   /* nothing half-written */
	struct persist_stats ps;
	persist_get_stats(p, &ps);
	assert_false(ps.healthy);
	assert_int_equal(ps.last_errno, ENOSPC);
	assert_non_null(strstr(ps.last_error, "No space"));
	usleep(2000);
	assert_false(persist_healthy(p));                  /* still full */
	assert_int_equal(file_size("log.000001"), good);
	disk_full = 0;
	usleep(2000);
	assert_true(persist_healthy(p));                   /* the kept batch went in */
	put_records(p, NULL, 15, 5);
	restore_io(NULL);
	persist_close(p);
	p = open_state(&back, PERSIST_FSYNC_NO, 0);
	assert_non_null(p);
	assert_records(&back, 0, 20);
	persist_close(p);
	state_free(&back);
	state_free(&s);
}

/* A real full file system, where the machine lets us mount one. */
static void test_small_tmpfs(void **st)
{
	struct state s = { 0 }, back = { 0 };
	fresh_dir();
	if (getuid() != 0 || mount("tmpfs", dir, "tmpfs", 0, "size=64k") < 0) {
		printf("# skipped: cannot mount a tmpfs here\n");
		skip();
	}
	struct persist *p = open_state(&s, PERSIST_FSYNC_ALWAYS, 0);
	assert_non_null(p);
	char filler[400];
	snprintf(filler, sizeof(filler), "%s/filler", dir);
	FILE *f = fopen(filler, "w");
	static char block[4096];
	while (fwrite(block, 1, sizeof(block), f) == sizeof(block) && fflush(f) == 0)
		;
	fclose(f);
	unsigned n = 0;
	char buf[128];
	int failed = 0;
	while (!failed && n < 100000) {
		for (unsigned i = 0; i < 50; i++)
			assert_int_equal(persist_append(p, buf, make_record(buf, n + i)), 0);
		if (persist_commit(p) == 0)
			n += 50;
		else
			failed = 1;
	}
	assert_true(failed);
	assert_false(persist_healthy(p));
	unlink(filler);
	usleep(2000);
	assert_true(persist_healthy(p));
	n += 50;
	persist_close(p);
	p = open_state(&back, PERSIST_FSYNC_NO, 0);
	assert_non_null(p);
	assert_records(&back, 0, n);
	persist_close(p);
	state_free(&back);
	state_free(&s);
	umount(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_known_values),
		cmocka_unit_test_teardown(test_round_trip, restore_io),
		cmocka_unit_test_teardown(test_group_commit_is_one_write_and_one_sync, restore_io),
		cmocka_unit_test_teardown(test_torn_tail_is_cut_at_every_byte, restore_io),
		cmocka_unit_test(test_preallocated_zeros_end_the_log),
		cmocka_unit_test_teardown(test_damage_mid_log_stops_or_recovers, restore_io),
		cmocka_unit_test_teardown(test_snapshot_while_appending, restore_io),
		cmocka_unit_test_teardown(test_truncated_snapshot, restore_io),
		cmocka_unit_test_teardown(test_disk_full_refuses_and_recovers, restore_io),
		cmocka_unit_test_teardown(test_small_tmpfs, restore_io),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	if (dir[0]) {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			r = 1;
	}
	return r;
}
