/*
 * fuzz_replay.c: the server fuzz target as a deterministic test. Each run
 * is a generated script (fuzz.h) for several connections: well-formed
 * requests for every op in ops.def (arguments made from each op's
 * signature, with timeouts, leases, delays and options that make requests
 * park, deliveries end and items come back), some of them damaged (bit
 * flips, byte overwrites, cut or lengthened frames, wrong length prefixes),
 * monitors, kill_client, hang-ups, unread replies, and the clock moved on
 * past deadlines. Now and then the script's own bytes are damaged too.
 *
 * IPCD_FUZZ_RUNS sets the number of scripts (default 8000), and
 * IPCD_FUZZ_SECONDS bounds the time they may take (default 20: a loaded
 * machine runs fewer). IPCD_FUZZ_SEED_DIR=DIR writes each script to DIR
 * as well, as a seed corpus for the libFuzzer build (meson -Dfuzz=true),
 * which explores further from the same target. IPCD_FUZZ_SAVED=DIR runs
 * every file in DIR first: inputs that once failed (tests/fuzz/seeds).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fuzz.h"
#include "buf.h"
#include "frame.h"
#include "proto.h"
#include "rand.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
	return test_rand(&rng_state);
}

static unsigned pick(unsigned n)
{
	return (unsigned)(next_rand() % n);
}

static void pack_cstr(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* A name: mostly of the op's type, so that handlers run past WRONGTYPE. */
static void pack_name(msgpack_packer *pk, enum proto_type t)
{
	static const char *names[][4] = {
		{ "q", "l", "d", "q.dead" }, { "q", "q", "q2", "q.dead" }, { "l", "l", "l", "l2" },
		{ "d", "d", "d", "d2" }, { "n", "n", "n", "n2" }, { "v", "v", "v", "v2" }, { "a", "a", "a", "a2" },
	};
	if (pick(8) == 0)
		t = (enum proto_type)pick(PROTO_T_COUNT);
	if ((size_t)t < sizeof(names) / sizeof(names[0]))
		pack_cstr(pk, names[t][pick(4)]);
	else
		pack_cstr(pk, proto_type_name(t));   /* the later types by their type name */
}

/* A timeout: forever, don't wait, or a short wait. */
static void pack_timeout(msgpack_packer *pk)
{
	static const double waits[] = { 0.001, 0.01, 0.05, 0.2, 1, 5 };
	switch (pick(5)) {
	case 0: msgpack_pack_nil(pk); break;
	case 1: msgpack_pack_int(pk, 0); break;
	default: msgpack_pack_double(pk, waits[pick(6)]);
	}
}

/* A duration (lease, delay, delta): mostly short, some out of range. */
static void pack_duration(msgpack_packer *pk)
{
	static const double d[] = { 0, 0.001, 0.02, 0.1, 1, 2.5, -1, 1e300 };
	unsigned i = pick(9);
	if (i == 8)
		msgpack_pack_int(pk, 3);
	else
		msgpack_pack_double(pk, d[i]);
}

static void pack_value(msgpack_packer *pk)
{
	switch (pick(6)) {
	case 0: msgpack_pack_int(pk, (int)pick(5)); break;
	case 1: pack_cstr(pk, "value"); break;
	case 2: msgpack_pack_array(pk, 1); msgpack_pack_map(pk, 0); break;
	case 3: msgpack_pack_bin_with_body(pk, "\0\1", 2); break;
	case 4: msgpack_pack_nil(pk); break;
	default: msgpack_pack_double(pk, 1.5); break;
	}
}

/* An options map for create, put, hello or ls. */
static void pack_options(msgpack_packer *pk)
{
	static const char *types[] = { "queue", "list", "dict", "ns", "value", "array" };
	switch (pick(7)) {
	case 0:
		msgpack_pack_map(pk, 1);
		pack_cstr(pk, "maxsize");
		msgpack_pack_uint64(pk, pick(3));
		break;
	case 1:
		msgpack_pack_map(pk, 2);
		pack_cstr(pk, "priority");
		msgpack_pack_int(pk, (int)pick(4) - 1);
		pack_cstr(pk, "delay");
		pack_duration(pk);
		break;
	case 2:
		msgpack_pack_map(pk, 1);
		pack_cstr(pk, "delay");
		pack_duration(pk);
		break;
	case 3:
		msgpack_pack_map(pk, 3);
		pack_cstr(pk, "lease");
		pack_duration(pk);
		pack_cstr(pk, "max_deliveries");
		msgpack_pack_uint64(pk, pick(3));
		pack_cstr(pk, "dead_letter");
		pack_name(pk, PROTO_T_QUEUE);
		break;
	case 4:
		msgpack_pack_map(pk, 2);
		pack_cstr(pk, "type");
		pack_cstr(pk, types[pick(6)]);
		pack_cstr(pk, "long");
		msgpack_pack_true(pk);
		break;
	case 5:
		msgpack_pack_map(pk, 2);
		pack_cstr(pk, "maxsize");
		msgpack_pack_uint64(pk, 1 + pick(2));
		pack_cstr(pk, "lease");
		pack_duration(pk);
		break;
	default:
		msgpack_pack_map(pk, 0);
	}
}

/* Pack one plausible argument for signature letter l of op. */
static void pack_arg(msgpack_packer *pk, const struct proto_op_info *op, char l)
{
	static const char *strs[] = { "queue", "list", "dict", "ns", "value", "array", "a", "id", "pid" };
	switch (l) {
	case 'N': pack_name(pk, op->type); break;
	case 'S': pack_cstr(pk, strs[pick(9)]); break;
	case 's':
		if (pick(2))
			msgpack_pack_nil(pk);
		else
			pack_cstr(pk, pick(2) ? "*" : "q*");
		break;
	case 'i': msgpack_pack_int64(pk, (int64_t)pick(7) - 3); break;
	case 'I':
		if (pick(4) == 0)
			msgpack_pack_nil(pk);
		else
			msgpack_pack_int64(pk, (int64_t)pick(7) - 3);
		break;
	case 'u': msgpack_pack_uint64(pk, pick(4)); break;   /* delivery ids count from 1 */
	case 'n': pack_duration(pk); break;
	case 't': pack_timeout(pk); break;
	case 'm': case 'o': pack_options(pk); break;
	case 'a': {
		unsigned n = 1 + pick(3);
		msgpack_pack_array(pk, n);
		for (unsigned i = 0; i < n; i++)
			pack_value(pk);
		break;
	}
	default: pack_value(pk); /* v, k */
	}
}

/* The ops that park, deliver, time out or bring items back, drawn half the
 * time: the paths that need more than one connection and a clock. */
static const char *const hot_ops[] = {
	"queue.put", "queue.get", "queue.get_ack", "queue.ack", "queue.nack", "queue.touch", "queue.join",
	"queue.task_done", "queue.put_many", "queue.get_many", "queue.pending", "list.blpop", "list.brpop",
	"list.append", "monitor", "create", "delete", "clients", "stat", "queue.qsize",
};

static const struct proto_op_info *pick_op(void)
{
	const struct proto_op_info *op = NULL;
	if (pick(2)) {
		const char *name = hot_ops[pick(sizeof(hot_ops) / sizeof(hot_ops[0]))];
		op = proto_op_by_name(name, strlen(name));
	}
	return op ? op : proto_op_at(pick((unsigned)proto_ops_count));
}

/* Pack one request body for op (its arguments, optional ones or not). */
static void pack_request(struct buf *b, const struct proto_op_info *op)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, b, buf_msgpack_write);
	unsigned nargs = op->min_args + (op->max_args > op->min_args ? pick(op->max_args - op->min_args + 1) : 0);
	msgpack_pack_array(&pk, 2 + nargs);
	msgpack_pack_uint64(&pk, 1 + pick(1000));
	if (pick(2))
		msgpack_pack_uint32(&pk, op->code);
	else
		pack_cstr(&pk, op->name);
	const char *s = op->sig;
	for (unsigned i = 0; i < nargs; i++, s++) {
		if (*s == '|')
			s++;
		pack_arg(&pk, op, *s);
	}
}

/* Damage b[from..) in one of several ways. */
static void mutate(struct buf *b, size_t from)
{
	size_t n = b->len - from;
	if (n == 0)
		return;
	char *d = b->data + from;
	switch (pick(6)) {
	case 0: d[next_rand() % n] ^= (char)(1u << pick(8)); break;
	case 1: d[next_rand() % n] = (char)next_rand(); break;
	case 2: b->len -= next_rand() % n; break;                      /* cut */
	case 3: {                                                      /* a wrong length prefix */
		uint32_t v = (uint32_t)next_rand();
		memcpy(d, &v, 4 < n ? 4 : n);
		break;
	}
	case 4: buf_append(b, "\xc1\xff\x00", 3); break;               /* trailing junk */
	default: break;                                                /* left whole */
	}
}

/* A command byte for cmd on connection k (any of the bytes that mean it). */
static void put_cmd(struct buf *s, enum fuzz_cmd cmd, unsigned k)
{
	unsigned b = (unsigned)cmd * FUZZ_CONNS + k + FUZZ_CONNS * FUZZ_CMDS * pick(256 / (FUZZ_CONNS * FUZZ_CMDS));
	char c = (char)b;
	buf_append(s, &c, 1);
}

static void put_u16(struct buf *s, size_t v)
{
	char b[2] = { (char)(v >> 8), (char)v };
	buf_append(s, b, 2);
}

/* Append a FRAME (body only, the harness adds the prefix) or a RAW command
 * (whole frames, prefix included) carrying requests, damaged or not. */
static void put_requests(struct buf *s, unsigned k, int raw)
{
	struct buf body;
	buf_init(&body);
	if (raw) {
		for (unsigned i = 1 + pick(3); i > 0; i--) {
			size_t start = body.len, pos = (size_t)frame_begin(&body);
			pack_request(&body, pick_op());
			frame_end(&body, pos);
			if (pick(2))
				mutate(&body, start);
		}
	} else {
		pack_request(&body, pick_op());
		if (pick(6) == 0)
			mutate(&body, 0);
	}
	put_cmd(s, raw ? FUZZ_RAW : FUZZ_FRAME, k);
	put_u16(s, body.len);
	buf_append(s, body.data, body.len);
	buf_free(&body);
}

static void put_monitor(struct buf *s, unsigned k)
{
	static const char body[] = { (char)0x92, 0x07, 0x0d };   /* [7, 13]: monitor */
	put_cmd(s, FUZZ_FRAME, k);
	put_u16(s, sizeof(body));
	buf_append(s, body, sizeof(body));
}

/* A request for op on q from k, with the arguments given (packed by fn). */
static void put_queue_op(struct buf *s, unsigned k, const char *op, void (*args)(msgpack_packer *pk), unsigned nargs)
{
	struct buf body;
	msgpack_packer pk;
	buf_init(&body);
	msgpack_packer_init(&pk, &body, buf_msgpack_write);
	msgpack_pack_array(&pk, 3 + nargs);
	msgpack_pack_uint64(&pk, 1 + pick(1000));
	pack_cstr(&pk, op);
	pack_cstr(&pk, "q");
	args(&pk);
	put_cmd(s, FUZZ_FRAME, k);
	put_u16(s, body.len);
	buf_append(s, body.data, body.len);
	buf_free(&body);
}

static void args_create(msgpack_packer *pk)
{
	pack_cstr(pk, "queue");
	msgpack_pack_map(pk, 3);
	pack_cstr(pk, "maxsize");
	msgpack_pack_uint64(pk, 1 + pick(3));
	pack_cstr(pk, "max_deliveries");
	msgpack_pack_uint64(pk, 1 + pick(2));
	pack_cstr(pk, "lease");
	msgpack_pack_double(pk, pick(2) ? 0.05 : 0);
}

static void args_put(msgpack_packer *pk)
{
	pack_value(pk);
	pack_timeout(pk);
	pack_options(pk);
}

static void args_none(msgpack_packer *pk)
{
	(void)pk;
}

/* A bounded queue with leases and dead letters, and items in it: the stage
 * for parked puts, deliveries that end and items that come back. */
static void put_stage(struct buf *s)
{
	put_queue_op(s, pick(FUZZ_CONNS), "create", args_create, 2);
	for (unsigned i = pick(4); i > 0; i--)
		put_queue_op(s, pick(FUZZ_CONNS), "queue.put", args_put, 3);
	if (pick(2))
		put_queue_op(s, pick(FUZZ_CONNS), "queue.get_ack", args_none, 0);
}

/* Many requests with long replies on k while k does not read them (a
 * paused monitor on another connection watches them, or not): output goes
 * over max_output, and monitor events over monitor_buffer. */
static void put_flood(struct buf *s, unsigned k)
{
	static const char *ops[] = { "info", "clients", "ls" };
	unsigned m = (k + 1) % FUZZ_CONNS;
	if (pick(2)) {
		put_monitor(s, m);
		put_cmd(s, FUZZ_PAUSE, m);
	}
	put_cmd(s, FUZZ_PAUSE, k);
	struct buf body;
	msgpack_packer pk;
	buf_init(&body);
	msgpack_packer_init(&pk, &body, buf_msgpack_write);
	for (unsigned i = 8 + pick(40); i > 0; i--) {
		size_t pos = (size_t)frame_begin(&body);
		msgpack_pack_array(&pk, 2);
		msgpack_pack_uint64(&pk, i);
		pack_cstr(&pk, ops[pick(3)]);
		frame_end(&body, pos);
	}
	put_cmd(s, FUZZ_RAW, k);
	put_u16(s, body.len);
	buf_append(s, body.data, body.len);
	buf_free(&body);
}

/* One script of 1..40 commands. */
static void make_script(struct buf *s)
{
	static const unsigned advance_ms[] = { 0, 1, 2, 10, 30, 60, 150, 500, 1000, 2500, 4000, 25000 };
	unsigned n = 1 + pick(40);
	if (pick(2))
		put_stage(s);
	for (unsigned i = 0; i < n; i++) {
		unsigned k = pick(FUZZ_CONNS), r = pick(100);
		if (r < 55) {
			put_requests(s, k, 0);
		} else if (r < 62) {
			put_requests(s, k, 1);
		} else if (r < 77) {
			put_cmd(s, FUZZ_ADVANCE, k);
			put_u16(s, advance_ms[pick(sizeof(advance_ms) / sizeof(advance_ms[0]))]);
		} else if (r < 81) {
			put_cmd(s, FUZZ_CLOSE, k);
		} else if (r < 84) {
			put_cmd(s, FUZZ_SHUT, k);
		} else if (r < 88) {
			put_cmd(s, FUZZ_PAUSE, k);
		} else if (r < 93) {
			char t = (char)pick(2 * FUZZ_CONNS);
			put_cmd(s, FUZZ_KILL, k);
			buf_append(s, &t, 1);
		} else if (r < 95) {
			put_cmd(s, FUZZ_CONNECT, k);
		} else if (r < 97) {
			put_flood(s, k);
		} else {
			put_monitor(s, k);
		}
	}
	if (pick(10) == 0)   /* the script's own bytes */
		s->data[next_rand() % s->len] ^= (char)(1u << pick(8));
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run every file in dir (saved inputs that once failed); returns how many. */
static long run_saved(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	long n = 0;
	if (!d) {
		perror(dir);
		exit(1);
	}
	while ((e = readdir(d))) {
		char path[4096];
		static char data[1 << 16];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "rb");
		if (!f) {
			perror(path);
			exit(1);
		}
		size_t len = fread(data, 1, sizeof(data), f);
		fclose(f);
		fuzz_one((const uint8_t *)data, len);
		fuzz_restart();   /* with persistence on, its log replays */
		n++;
	}
	closedir(d);
	return n;
}

int main(void)
{
	const char *env = getenv("IPCD_FUZZ_RUNS");
	long runs = env ? atol(env) : 8000;
	env = getenv("IPCD_FUZZ_SECONDS");
	double limit = env ? atof(env) : 20, t0 = now_s();
	const char *seed_dir = getenv("IPCD_FUZZ_SEED_DIR");
	long r, saved = 0;
	if ((env = getenv("IPCD_FUZZ_SAVED")))
		saved = run_saved(env);
	for (r = 0; r < runs && now_s() - t0 < limit; r++) {
		struct buf s;
		buf_init(&s);
		make_script(&s);
		if (seed_dir) {
			char path[4096];
			snprintf(path, sizeof(path), "%s/seed-%05ld", seed_dir, r);
			FILE *f = fopen(path, "wb");
			if (!f || fwrite(s.data, 1, s.len, f) != s.len || fclose(f) != 0) {
				perror(path);
				return 1;
			}
		}
		fuzz_one((const uint8_t *)s.data, s.len);
		buf_free(&s);
	}
	/* Summary in the plain form test runners read. */
	printf("fuzz: %ld passed, 0 failed (%ld saved inputs, %ld scripts in %.1f s)\n", saved + r, saved, r,
	       now_s() - t0);
	return 0;
}
