/*
 * test_args.c: proto_check_args and proto_arg_fits, the argument check every
 * request passes before its handler, and proto_timeout_ms.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>
#include "proto.h"

static msgpack_object str_obj(const char *s, uint32_t n)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_STR, .via.str = { n, s } };
	return o;
}

static msgpack_object uint_obj(uint64_t u)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = u };
	return o;
}

static msgpack_object float_obj(double f)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_FLOAT64, .via.f64 = f };
	return o;
}

static const msgpack_object nil = { .type = MSGPACK_OBJECT_NIL };

/* Each letter takes what the table in PROTOCOL.md says, and nothing else. */
static void test_letters(void **state)
{
	(void)state;
	msgpack_object s = str_obj("x", 1), u = uint_obj(3), neg = { .type = MSGPACK_OBJECT_NEGATIVE_INTEGER, .via.i64 = -3 };
	msgpack_object inf = float_obj(INFINITY), nan_ = float_obj(NAN), half = float_obj(0.5), mhalf = float_obj(-0.5);
	msgpack_object map = { .type = MSGPACK_OBJECT_MAP }, arr = { .type = MSGPACK_OBJECT_ARRAY };
	assert_true(proto_arg_fits('N', &s) && !proto_arg_fits('N', &u) && !proto_arg_fits('N', &nil));
	assert_true(proto_arg_fits('s', &s) && proto_arg_fits('s', &nil) && !proto_arg_fits('s', &u));
	assert_true(proto_arg_fits('m', &map) && !proto_arg_fits('m', &arr));
	assert_true(proto_arg_fits('a', &arr) && !proto_arg_fits('a', &map));
	assert_true(proto_arg_fits('i', &u) && proto_arg_fits('i', &neg) && !proto_arg_fits('i', &half));
	assert_true(proto_arg_fits('I', &nil) && proto_arg_fits('I', &neg) && !proto_arg_fits('I', &s));
	assert_true(proto_arg_fits('u', &u) && !proto_arg_fits('u', &neg));
	assert_true(proto_arg_fits('n', &half) && proto_arg_fits('n', &neg));
	assert_false(proto_arg_fits('n', &inf) || proto_arg_fits('n', &nan_));
	assert_true(proto_arg_fits('t', &nil) && proto_arg_fits('t', &half) && proto_arg_fits('t', &u));
	assert_false(proto_arg_fits('t', &mhalf) || proto_arg_fits('t', &neg) || proto_arg_fits('t', &nan_));
	assert_true(proto_arg_fits('v', &map) && proto_arg_fits('k', &nil));
}

/* Arity, types and names, with the code a client sees for each. */
static void test_check_args(void **state)
{
	(void)state;
	const struct proto_op_info *put = proto_op_by_code(IPCD_OP_QUEUE_PUT);
	const char *why = NULL;
	msgpack_object args[5] = { str_obj("q", 1), uint_obj(1), nil, { .type = MSGPACK_OBJECT_MAP } };
	assert_int_equal(proto_check_args(put, args, 2, 255, &why), 0);
	assert_int_equal(proto_check_args(put, args, 4, 255, &why), 0);
	assert_int_equal(proto_check_args(put, args, 1, 255, &why), IPCD_EBADARG);
	assert_non_null(strstr(why, "queue.put takes"));
	args[4] = nil;
	assert_int_equal(proto_check_args(put, args, 5, 255, &why), IPCD_EBADARG);
	/* TIMEOUT of the wrong type */
	args[2] = str_obj("soon", 4);
	assert_int_equal(proto_check_args(put, args, 3, 255, &why), IPCD_EBADARG);
	assert_non_null(strstr(why, "argument 3"));
	args[2] = nil;
	/* bad names: not a str, empty, too long, with NUL */
	args[0] = uint_obj(5);
	assert_int_equal(proto_check_args(put, args, 2, 255, &why), IPCD_EBADNAME);
	args[0] = str_obj("", 0);
	assert_int_equal(proto_check_args(put, args, 2, 255, &why), IPCD_EBADNAME);
	args[0] = str_obj("abcd", 4);
	assert_int_equal(proto_check_args(put, args, 2, 3, &why), IPCD_EBADNAME);
	assert_int_equal(proto_check_args(put, args, 2, 4, &why), 0);
	args[0] = str_obj("a\0b", 3);
	assert_int_equal(proto_check_args(put, args, 2, 255, &why), IPCD_EBADNAME);
}

/* Timeouts round up to whole milliseconds; nil and absent wait forever. */
static void test_timeout_ms(void **state)
{
	(void)state;
	msgpack_object o = float_obj(0.0004), one = uint_obj(1), zero = uint_obj(0);
	assert_int_equal(proto_timeout_ms(NULL), -1);
	assert_int_equal(proto_timeout_ms(&nil), -1);
	assert_int_equal(proto_timeout_ms(&zero), 0);
	assert_int_equal(proto_timeout_ms(&one), 1000);
	assert_int_equal(proto_timeout_ms(&o), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_letters),
		cmocka_unit_test(test_check_args),
		cmocka_unit_test(test_timeout_ms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
