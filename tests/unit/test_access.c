/*
 * test_access.c: the access rules without sockets: which class of a mode
 * applies to whom, root and the owner's standing rights, and the mode
 * argument in its integer and octal string forms.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "access.h"
#include "object.h"
#include "server.h"

/* A peer with no socket: only its primary group counts. */
static struct client peer(uid_t uid, gid_t gid)
{
	struct client c;
	memset(&c, 0, sizeof(c));
	c.fd = -1;
	c.uid = uid;
	c.gid = gid;
	return c;
}

static void test_each_class_gets_its_own_bits(void **state)
{
	struct object o = { 0 };
	object_set_access(&o, 1000, 50, 0640);
	struct client owner = peer(1000, 1000), member = peer(2000, 50), other = peer(3000, 3000);
	assert_true(access_may(&owner, &o, ACCESS_R) && access_may(&owner, &o, ACCESS_W));
	assert_true(access_may(&member, &o, ACCESS_R));
	assert_false(access_may(&member, &o, ACCESS_W));
	assert_false(access_may(&other, &o, ACCESS_R) || access_may(&other, &o, ACCESS_W));
	/* admin: the owner always, the others only with an a bit */
	assert_true(access_may(&owner, &o, ACCESS_A));
	assert_false(access_may(&member, &o, ACCESS_A) || access_may(&other, &o, ACCESS_A));
	object_set_access(&o, 1000, 50, 0651);
	assert_true(access_may(&member, &o, ACCESS_A) && access_may(&other, &o, ACCESS_A));
	/* as for files, the owner's bits are the owner's even when others have more */
	object_set_access(&o, 1000, 50, 0066);
	assert_false(access_may(&owner, &o, ACCESS_R));
	assert_true(access_may(&other, &o, ACCESS_R));
	/* a group with fewer bits than other holds its members to them */
	object_set_access(&o, 1000, 50, 0604);
	assert_false(access_may(&member, &o, ACCESS_R));
	assert_true(access_may(&other, &o, ACCESS_R));
}

static void test_root_may_do_anything(void **state)
{
	struct object o = { 0 };
	struct client root = peer(0, 0);
	object_set_access(&o, 1000, 50, 0);
	assert_true(access_may(&root, &o, ACCESS_R) && access_may(&root, &o, ACCESS_W) &&
	            access_may(&root, &o, ACCESS_A));
}

static void test_modes_parse_as_integers_and_octal_strings(void **state)
{
	msgpack_object v = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 0640 };
	unsigned mode = 0;
	const char *why = NULL;
	assert_int_equal(access_parse_mode(&v, &mode, &why), 0);
	assert_int_equal(mode, 0640);
	v.via.u64 = 01000;
	assert_int_equal(access_parse_mode(&v, &mode, &why), IPCD_EBADARG);
	assert_non_null(why);
	static const struct { const char *s; int ok; unsigned mode; } cases[] = {
		{ "0600", 1, 0600 }, { "600", 1, 0600 }, { "0o751", 1, 0751 }, { "0", 1, 0 }, { "0777", 1, 0777 },
		{ "1000", 0, 0 }, { "0800", 0, 0 }, { "rw", 0, 0 }, { "", 0, 0 }, { "-1", 0, 0 }, { "0o", 0, 0 },
		{ "00000600", 0, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		msgpack_object s = { .type = MSGPACK_OBJECT_STR };
		s.via.str.ptr = cases[i].s;
		s.via.str.size = (uint32_t)strlen(cases[i].s);
		mode = 12345;
		int err = access_parse_mode(&s, &mode, &why);
		assert_int_equal(err, cases[i].ok ? 0 : IPCD_EBADARG);
		if (cases[i].ok)
			assert_int_equal(mode, cases[i].mode);
	}
	msgpack_object neg = { .type = MSGPACK_OBJECT_NEGATIVE_INTEGER, .via.i64 = -1 };
	assert_int_equal(access_parse_mode(&neg, &mode, &why), IPCD_EBADARG);
}

static void test_mode_strings_read_like_ls(void **state)
{
	char s[10];
	access_mode_string(0640, s);
	assert_string_equal(s, "rw-r-----");
	access_mode_string(0751, s);
	assert_string_equal(s, "rwar-a--a");
	access_mode_string(0, s);
	assert_string_equal(s, "---------");
}

static void test_create_options_lose_their_mode(void **state)
{
	msgpack_object_kv in[2];
	memset(in, 0, sizeof(in));
	in[0].key.type = MSGPACK_OBJECT_STR;
	in[0].key.via.str.ptr = "maxsize";
	in[0].key.via.str.size = 7;
	in[0].val.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
	in[0].val.via.u64 = 3;
	in[1].key.type = MSGPACK_OBJECT_STR;
	in[1].key.via.str.ptr = "mode";
	in[1].key.via.str.size = 4;
	in[1].val.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
	in[1].val.via.u64 = 0600;
	msgpack_object opts = { .type = MSGPACK_OBJECT_MAP, .via.map = { .size = 2, .ptr = in } }, rest;
	msgpack_object_kv kv[ACCESS_MAX_OPTIONS];
	int has = 0;
	unsigned mode = 0;
	const char *why;
	assert_int_equal(access_split_mode(&opts, kv, &rest, &has, &mode, &why), 0);
	assert_true(has);
	assert_int_equal(mode, 0600);
	assert_int_equal(rest.via.map.size, 1);
	assert_int_equal(rest.via.map.ptr[0].val.via.u64, 3);
	opts.via.map.size = 1;   /* no mode: the options as they are */
	assert_int_equal(access_split_mode(&opts, kv, &rest, &has, &mode, &why), 0);
	assert_false(has);
	assert_ptr_equal(rest.via.map.ptr, in);
	in[1].val.type = MSGPACK_OBJECT_STR;
	in[1].val.via.str.ptr = "rwx";
	in[1].val.via.str.size = 3;
	opts.via.map.size = 2;
	assert_int_equal(access_split_mode(&opts, kv, &rest, &has, &mode, &why), IPCD_EBADARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_class_gets_its_own_bits),
		cmocka_unit_test(test_root_may_do_anything),
		cmocka_unit_test(test_modes_parse_as_integers_and_octal_strings),
		cmocka_unit_test(test_mode_strings_read_like_ls),
		cmocka_unit_test(test_create_options_lose_their_mode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
