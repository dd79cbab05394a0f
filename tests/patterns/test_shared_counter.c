/*
 * test_shared_counter.c: the multiprocessing lesson's racy counter, made
 * exact by ipcd: eight processes add 100,000 each to one value through the
 * server's atomic add, then through a shared-memory mapping with libipcd's
 * atomics, then both ways at once, and the total is exactly what they added.
 * Also: a read-only mapping cannot be written (the store is refused, a raw
 * write faults), the double and compare-and-swap helpers, and a mapping that
 * outlives its connection.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <ipcd.h>
#include "patterns.h"

#define CHILD_TIMEOUT_MS 300000
#define PROCS 8
#define EACH 100000
#define BATCH 500   /* server-side adds in flight per process */

static pid_t spawn(int (*fn)(const char *), const char *arg)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

static int reap(pid_t pid)
{
	return patterns_reap(pid, CHILD_TIMEOUT_MS);
}

/* create NAME TYPE {typecode: tc[, length: n]} */
static void create(ipcd *c, const char *name, const char *type, const char *tc, uint64_t length)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, length ? 2 : 1);
	msgpack_pack_str_with_body(&pk, "typecode", 8);
	msgpack_pack_str_with_body(&pk, tc, strlen(tc));
	if (length) {
		msgpack_pack_str_with_body(&pk, "length", 6);
		msgpack_pack_uint64(&pk, length);
	}
	assert_int_equal(ipcd_call(c, IPCD_OP_CREATE, NULL, 3, name, type, IPCD_VAL(sb.data, sb.size)), IPCD_OK);
	msgpack_sbuffer_destroy(&sb);
}

static int64_t value_get(ipcd *c, const char *name)
{
	struct ipcd_result r;
	int64_t v = -1;
	assert_int_equal(ipcd_call(c, IPCD_OP_VALUE_GET, &r, 1, name), IPCD_OK);
	assert_int_equal(ipcd_obj_int(&r.value, &v), IPCD_OK);
	return v;
}

/* EACH server-side adds of 1, BATCH in flight; every reply a success. */
static int server_adder(const char *name)
{
	ipcd *c = patterns_connect();
	unsigned char one[IPCD_SCALAR_SIZE];
	struct ipcd_val d = ipcd_val_int(one, 1);
	struct ipcd_result r;
	for (int sent = 0; sent < EACH; sent += BATCH) {
		for (int i = 0; i < BATCH; i++)
			if (ipcd_send(c, NULL, IPCD_OP_VALUE_ADD, 2, name, d) != IPCD_OK)
				return 1;
		for (int i = 0; i < BATCH; i++)
			if (ipcd_recv(c, &r) != IPCD_OK)
				return 2;
	}
	ipcd_close(c);
	return 0;
}

/* EACH adds of 1 through a read-write mapping. */
static int mapped_adder(const char *name)
{
	ipcd *c = patterns_connect();
	struct ipcd_array_map m;
	if (ipcd_array_map(c, name, 1, &m) != IPCD_OK)
		return 1;
	ipcd_close(c);   /* the mapping stays */
	for (int i = 0; i < EACH; i++)
		if (ipcd_array_add(&m, 0, 1, NULL) != IPCD_OK)
			return 2;
	ipcd_array_unmap(&m);
	return 0;
}

static void run_all(int (*fn[PROCS])(const char *), const char *name)
{
	pid_t kids[PROCS];
	for (int i = 0; i < PROCS; i++)
		kids[i] = spawn(fn[i], name);
	for (int i = 0; i < PROCS; i++)
		assert_int_equal(reap(kids[i]), 0);
}

static void test_server_side_add_loses_nothing(void **state)
{
	ipcd *c = patterns_connect();
	create(c, "count.server", "value", "q", 0);
	int (*fn[PROCS])(const char *);
	for (int i = 0; i < PROCS; i++)
		fn[i] = server_adder;
	run_all(fn, "count.server");
	assert_int_equal(value_get(c, "count.server"), PROCS * EACH);
	ipcd_close(c);
}

static void test_mapped_add_loses_nothing(void **state)
{
	ipcd *c = patterns_connect();
	create(c, "count.mapped", "value", "i", 0);
	int (*fn[PROCS])(const char *);
	for (int i = 0; i < PROCS; i++)
		fn[i] = mapped_adder;
	run_all(fn, "count.mapped");
	assert_int_equal(value_get(c, "count.mapped"), PROCS * EACH);
	ipcd_close(c);
}

static void test_server_and_mapped_adds_together(void **state)
{
	ipcd *c = patterns_connect();
	create(c, "count.both", "value", "Q", 0);
	int (*fn[PROCS])(const char *);
	for (int i = 0; i < PROCS; i++)
		fn[i] = i % 2 ? server_adder : mapped_adder;
	run_all(fn, "count.both");
	assert_int_equal(value_get(c, "count.both"), PROCS * EACH);
	ipcd_close(c);
}

/* A child that writes through a read-only mapping: it must die of the fault. */
static int raw_writer(const char *name)
{
	ipcd *c = patterns_connect();
	struct ipcd_array_map m;
	if (ipcd_array_map(c, name, 0, &m) != IPCD_OK)
		return 1;
	if (ipcd_array_store(&m, 0, 5) != IPCD_EINVAL)
		return 2;
	signal(SIGSEGV, SIG_DFL);   /* cmocka's handler would carry on */
	signal(SIGBUS, SIG_DFL);
	*(volatile int32_t *)m.data = 5;
	return 3;   /* the write went through */
}

static void test_read_only_mapping_cannot_write(void **state)
{
	ipcd *c = patterns_connect();
	create(c, "ro", "array", "i", 4);
	pid_t kid = spawn(raw_writer, "ro");
	int rc = reap(kid);
	assert_true(rc == 128 + SIGSEGV || rc == 128 + SIGBUS);
	struct ipcd_result r;
	assert_int_equal(ipcd_call(c, IPCD_OP_ARRAY_GET, &r, 2, "ro", (int64_t)0), IPCD_OK);
	assert_int_equal(r.value.via.u64, 0);
	ipcd_close(c);
}

static void test_helpers_and_both_paths(void **state)
{
	ipcd *c = patterns_connect();
	create(c, "arr", "array", "h", 3);
	create(c, "dbl", "array", "d", 2);
	struct ipcd_array_map m, d, bad;
	assert_int_equal(ipcd_array_map(c, "arr", 1, &m), IPCD_OK);
	assert_int_equal(m.length, 3);
	assert_int_equal(m.itemsize, 2);
	assert_int_equal(m.typecode, 'h');
	assert_int_equal(m.writable, 1);
	int64_t v, e;
	int swapped;
	assert_int_equal(ipcd_array_store(&m, 2, -7), IPCD_OK);
	assert_int_equal(ipcd_array_add(&m, 2, 1, &v), IPCD_OK);
	assert_int_equal(v, -6);
	assert_int_equal(ipcd_array_add(&m, 1, 32767, &v), IPCD_OK);
	assert_int_equal(ipcd_array_add(&m, 1, 1, &v), IPCD_OK);
	assert_int_equal(v, -32768);                        /* a mapping wraps, as C atomics do */
	struct ipcd_result r;
	assert_int_equal(ipcd_call(c, IPCD_OP_ARRAY_GET, &r, 2, "arr", (int64_t)2), IPCD_OK);
	assert_int_equal(r.value.via.i64, -6);              /* the server sees the mapped write */
	unsigned char buf[IPCD_SCALAR_SIZE];
	assert_int_equal(ipcd_call(c, IPCD_OP_ARRAY_SET, NULL, 3, "arr", (int64_t)0, ipcd_val_int(buf, 123)), IPCD_OK);
	assert_int_equal(ipcd_array_load(&m, 0, &v), IPCD_OK);
	assert_int_equal(v, 123);                           /* and the mapping the server's */
	e = 5;
	assert_int_equal(ipcd_array_cas(&m, 0, &e, 9, &swapped), IPCD_OK);
	assert_int_equal(swapped, 0);
	assert_int_equal(e, 123);
	assert_int_equal(ipcd_array_cas(&m, 0, &e, 9, &swapped), IPCD_OK);
	assert_int_equal(swapped, 1);
	assert_int_equal(ipcd_array_load(&m, 3, &v), IPCD_EINVAL);      /* out of range */
	double x;
	assert_int_equal(ipcd_array_load_double(&m, 0, &x), IPCD_EINVAL); /* not a float typecode */
	assert_int_equal(ipcd_array_map(c, "dbl", 1, &d), IPCD_OK);
	assert_int_equal(ipcd_array_store_double(&d, 1, 0.5), IPCD_OK);
	assert_int_equal(ipcd_array_add_double(&d, 1, 0.25, &x), IPCD_OK);
	assert_true(x == 0.75);
	assert_int_equal(ipcd_array_add(&d, 1, 1, NULL), IPCD_EINVAL);
	assert_int_equal(ipcd_call(c, IPCD_OP_ARRAY_ADD, &r, 3, "dbl", (int64_t)1, ipcd_val_double(buf, 1)), IPCD_OK);
	assert_int_equal(ipcd_array_load_double(&d, 1, &x), IPCD_OK);
	assert_true(x == 1.75);
	assert_int_equal(ipcd_array_map(c, "nosuch", 0, &bad), IPCD_ENOTFOUND);
	assert_null(bad.data);
	assert_int_equal(ipcd_queue_put_int(c, "q", 1, 0), IPCD_OK);
	assert_int_equal(ipcd_array_map(c, "q", 0, &bad), IPCD_EWRONGTYPE);
	ipcd_close(c);
	assert_int_equal(ipcd_array_load(&m, 0, &v), IPCD_OK);    /* the mapping outlives the connection */
	assert_int_equal(v, 9);
	ipcd_array_unmap(&m);
	ipcd_array_unmap(&m);
	ipcd_array_unmap(&d);
	ipcd_array_unmap(NULL);
	assert_int_equal(ipcd_array_load(&m, 0, &v), IPCD_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_side_add_loses_nothing),
		cmocka_unit_test(test_mapped_add_loses_nothing),
		cmocka_unit_test(test_server_and_mapped_adds_together),
		cmocka_unit_test(test_read_only_mapping_cannot_write),
		cmocka_unit_test(test_helpers_and_both_paths),
	};
	return cmocka_run_group_tests(tests, patterns_setup, patterns_teardown);
}
