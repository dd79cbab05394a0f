/*
 * test_dict.c: the dict structure shared by dict and ns (keys, set/find/del,
 * memory accounting, packing) and the number rules of dict.incr.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "decode.h"
#include "dict.h"
#include "value.h"
#include "codec.h"

static msgpack_object uint_obj(uint64_t u)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = u };
	return o;
}

static msgpack_object int_obj(int64_t i)
{
	msgpack_object o = { .type = i < 0 ? MSGPACK_OBJECT_NEGATIVE_INTEGER : MSGPACK_OBJECT_POSITIVE_INTEGER };
	if (i < 0)
		o.via.i64 = i;
	else
		o.via.u64 = (uint64_t)i;
	return o;
}

static msgpack_object str_obj(const char *s)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_STR, .via.str = { (uint32_t)strlen(s), s } };
	return o;
}

static struct value *new_value(msgpack_object o)
{
	struct value *v;
	assert_int_equal(value_new(&o, &v), 0);
	return v;
}

/* A dict object set up by the type's init. */
static void dict_setup(struct object *o)
{
	const char *why = NULL;
	memset(o, 0, sizeof(*o));
	o->type = PROTO_T_DICT;
	assert_int_equal(dict_type.init(o, NULL, &why), 0);
}

static int set_key(struct dict *d, msgpack_object k, msgpack_object v)
{
	struct dict_key key;
	struct value *val = new_value(v);
	assert_int_equal(dict_key_init(&key, &k, 1), 0);
	int err = dict_set(d, key.bytes, key.len, val);
	if (err)
		value_free(val);
	dict_key_deinit(&key);
	return err;
}

static struct value *find_key(struct dict *d, msgpack_object k)
{
	struct dict_key key;
	assert_int_equal(dict_key_init(&key, &k, 0), 0);
	struct value *v = dict_find(d, key.bytes, key.len);
	dict_key_deinit(&key);
	return v;
}

/* Options: none or an empty map; anything else is refused with a reason. */
static void test_options(void **state)
{
	struct object o;
	const char *why = NULL;
	msgpack_object_kv kv = { .key = str_obj("x"), .val = uint_obj(1) };
	msgpack_object empty = { .type = MSGPACK_OBJECT_MAP }, one = empty;
	one.via.map.size = 1;
	one.via.map.ptr = &kv;
	assert_int_equal(dict_type.init(&o, &one, &why), IPCD_EBADARG);
	assert_string_equal(why, "dict takes no options");
	assert_int_equal(ns_type.init(&o, &one, &why), IPCD_EBADARG);
	assert_string_equal(why, "ns takes no options");
	assert_int_equal(dict_type.init(&o, &empty, &why), 0);
	assert_true(dict_type.same_options(&o, NULL));
	assert_true(dict_type.same_options(&o, &empty));
	assert_false(dict_type.same_options(&o, &one));
	assert_int_equal(dict_type.waiting(&o), 0);
	dict_type.deinit(&o);
}

/* Keys are canonical: 1 as any int width is one key; 1.0 is another. */
static void test_keys_canonical(void **state)
{
	struct object o;
	dict_setup(&o);
	struct dict *d = &o.u.dict;
	msgpack_object neg_typed_one = { .type = MSGPACK_OBJECT_NEGATIVE_INTEGER, .via.i64 = 1 };
	msgpack_object one_f = { .type = MSGPACK_OBJECT_FLOAT64, .via.f64 = 1.0 };
	assert_int_equal(set_key(d, uint_obj(1), str_obj("int")), 0);
	assert_int_equal(set_key(d, one_f, str_obj("float")), 0);
	assert_int_equal(dict_type.size(&o), 2);
	assert_non_null(find_key(d, neg_typed_one));
	assert_true(value_equals_obj(find_key(d, neg_typed_one), &(msgpack_object){ 0 }) == 0);
	msgpack_object want = str_obj("int");
	assert_true(value_equals_obj(find_key(d, uint_obj(1)), &want));
	want = str_obj("float");
	assert_true(value_equals_obj(find_key(d, one_f), &want));
	/* replacing keeps one entry */
	assert_int_equal(set_key(d, neg_typed_one, str_obj("again")), 0);
	assert_int_equal(dict_type.size(&o), 2);
	dict_type.deinit(&o);
}

/* Big keys go to the heap; too deep keys are refused only when stored. */
static void test_key_sizes(void **state)
{
	static char big[5000];
	struct dict_key k;
	msgpack_object o = { .type = MSGPACK_OBJECT_STR, .via.str = { sizeof(big), big } };
	assert_int_equal(dict_key_init(&k, &o, 1), 0);
	assert_int_equal(k.len, 3 + sizeof(big));
	assert_ptr_not_equal(k.bytes, k.small);
	dict_key_deinit(&k);

	/* 39 arrays around a 0, decoded as a frame's value is */
	unsigned char bytes[40];
	memset(bytes, 0x91, 39);
	bytes[39] = 0;
	msgpack_zone z;
	msgpack_zone_init(&z, 1024);
	msgpack_object nest[1];
	assert_int_equal(decode_value(bytes, sizeof(bytes), 64, &z, &nest[0]), DECODE_OK);
	assert_int_equal(dict_key_init(&k, &nest[0], 1), IPCD_EBADVALUE);
	assert_int_equal(dict_key_init(&k, &nest[0], 0), 0);
	assert_int_equal(k.len, sizeof(bytes));
	assert_memory_equal(k.bytes, bytes, sizeof(bytes));
	dict_key_deinit(&k);
	msgpack_zone_destroy(&z);
}

static void *alloc_fails(size_t n)
{
	(void)n;
	return NULL;
}

/* value_alloc is the hook that makes allocation fail: value_new says NOMEM,
 * counts nothing, and works again once the hook is put back. */
static void test_value_alloc_failure(void **state)
{
	size_t mem0 = value_mem_used;
	struct value *v = NULL;
	msgpack_object o = str_obj("payload");
	void *(*saved)(size_t) = value_alloc;
	value_alloc = alloc_fails;
	assert_int_equal(value_new(&o, &v), IPCD_ENOMEM);
	value_alloc = saved;
	assert_null(v);
	assert_int_equal(value_mem_used, mem0);
	assert_int_equal(value_new(&o, &v), 0);
	assert_true(value_equals_obj(v, &o));
	value_free(v);
	assert_int_equal(value_mem_used, mem0);
}

/* set, find, del, clear; memory returns to where it started. */
static void test_set_del_memory(void **state)
{
	struct object o;
	size_t mem0 = value_mem_used;
	dict_setup(&o);
	struct dict *d = &o.u.dict;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(set_key(d, int_obj(i - 500), uint_obj((uint64_t)i)), 0);
	assert_true(value_mem_used > mem0);
	struct dict_key k;
	msgpack_object key = int_obj(-3);
	assert_int_equal(dict_key_init(&k, &key, 0), 0);
	struct value *v = dict_del(d, k.bytes, k.len);
	assert_non_null(v);
	msgpack_object want = uint_obj(497);
	assert_true(value_equals_obj(v, &want));
	value_free(v);
	assert_null(dict_del(d, k.bytes, k.len));
	dict_key_deinit(&k);
	assert_int_equal(dict_type.size(&o), 999);
	dict_clear(d);
	assert_int_equal(dict_type.size(&o), 0);
	assert_int_equal(value_mem_used, mem0);
	assert_int_equal(set_key(d, uint_obj(1), uint_obj(1)), 0);
	dict_type.deinit(&o);
	assert_int_equal(value_mem_used, mem0);
}

/* A new key over max_memory fails and leaves the dict as it was. */
static void test_key_memory_limit(void **state)
{
	struct object o;
	dict_setup(&o);
	struct dict *d = &o.u.dict;
	assert_int_equal(set_key(d, str_obj("a"), uint_obj(1)), 0);
	size_t saved = value_mem_limit;
	struct value *v = new_value(uint_obj(2));
	value_mem_limit = value_mem_used + 1;     /* room for no key */
	struct dict_key k;
	msgpack_object key = str_obj("b");
	assert_int_equal(dict_key_init(&k, &key, 1), 0);
	assert_int_equal(dict_set(d, k.bytes, k.len, v), IPCD_ENOMEM);
	assert_null(dict_find(d, k.bytes, k.len));
	assert_int_equal(dict_type.size(&o), 1);
	dict_key_deinit(&k);
	/* replacing an existing key needs no key memory */
	key = str_obj("a");
	assert_int_equal(dict_key_init(&k, &key, 1), 0);
	assert_int_equal(dict_set(d, k.bytes, k.len, v), 0);
	dict_key_deinit(&k);
	value_mem_limit = saved;
	dict_type.deinit(&o);
}

/* dump packs a map in insertion order with keys as stored. */
static void test_pack(void **state)
{
	struct object o;
	dict_setup(&o);
	struct dict *d = &o.u.dict;
	assert_int_equal(set_key(d, str_obj("z"), uint_obj(1)), 0);
	assert_int_equal(set_key(d, uint_obj(300), str_obj("v")), 0);
	assert_int_equal(set_key(d, str_obj("a"), (msgpack_object){ .type = MSGPACK_OBJECT_NIL }), 0);
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	dict_type.dump(&o, &pk);
	static const unsigned char want[] = {
		0x83, 0xa1, 'z', 0x01, 0xcd, 0x01, 0x2c, 0xa1, 'v', 0xa1, 'a', 0xc0,
	};
	assert_int_equal(sb.size, sizeof(want));
	assert_memory_equal(sb.data, want, sizeof(want));
	msgpack_sbuffer_destroy(&sb);
	dict_type.deinit(&o);
}

/* The number a stored value holds, in every encoding msgpack has. */
static void test_num_of_value(void **state)
{
	static const struct {
		unsigned char bytes[9];
		size_t len;
		int err;
		enum dict_num_kind kind;
		int64_t i;
		uint64_t u;
		double f;
	} c[] = {
		{ { 0x05 }, 1, 0, DICT_NUM_INT, 5, 0, 0 },
		{ { 0xe0 }, 1, 0, DICT_NUM_INT, -32, 0, 0 },
		{ { 0xcc, 0xff }, 2, 0, DICT_NUM_INT, 255, 0, 0 },
		{ { 0xcd, 0x01, 0x00 }, 3, 0, DICT_NUM_INT, 256, 0, 0 },
		{ { 0xce, 0xff, 0xff, 0xff, 0xff }, 5, 0, DICT_NUM_INT, 4294967295, 0, 0 },
		{ { 0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 9, 0, DICT_NUM_INT, INT64_MAX, 0, 0 },
		{ { 0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0 }, 9, 0, DICT_NUM_BIG, 0, 1ull << 63, 0 },
		{ { 0xd0, 0x80 }, 2, 0, DICT_NUM_INT, -128, 0, 0 },
		{ { 0xd1, 0x80, 0x00 }, 3, 0, DICT_NUM_INT, -32768, 0, 0 },
		{ { 0xd2, 0xff, 0xff, 0xff, 0xfe }, 5, 0, DICT_NUM_INT, -2, 0, 0 },
		{ { 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0 }, 9, 0, DICT_NUM_INT, INT64_MIN, 0, 0 },
		{ { 0xca, 0x3f, 0xc0, 0, 0 }, 5, 0, DICT_NUM_FLOAT, 0, 0, 1.5 },
		{ { 0xcb, 0xc0, 0x04, 0, 0, 0, 0, 0, 0 }, 9, 0, DICT_NUM_FLOAT, 0, 0, -2.5 },
		{ { 0xc0 }, 1, IPCD_ENOTNUMBER, 0, 0, 0, 0 },          /* nil */
		{ { 0xc3 }, 1, IPCD_ENOTNUMBER, 0, 0, 0, 0 },          /* true */
		{ { 0xa1, '1' }, 2, IPCD_ENOTNUMBER, 0, 0, 0, 0 },     /* "1" */
		{ { 0x91, 0x01 }, 2, IPCD_ENOTNUMBER, 0, 0, 0, 0 },    /* [1] */
		{ { 0xcd, 0x01 }, 2, IPCD_ENOTNUMBER, 0, 0, 0, 0 },    /* truncated */
	};
	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct value *v;
		struct dict_num n;
		assert_int_equal(value_new_raw(c[k].bytes, c[k].len, &v), 0);
		assert_int_equal(dict_num_of_value(v, &n), c[k].err);
		if (!c[k].err) {
			assert_int_equal(n.kind, c[k].kind);
			if (n.kind == DICT_NUM_INT)
				assert_true(n.i == c[k].i);
			else if (n.kind == DICT_NUM_BIG)
				assert_true(n.u == c[k].u);
			else
				assert_true(n.f == c[k].f);
		}
		value_free(v);
	}
}

static struct dict_num num_int(int64_t i)
{
	return (struct dict_num){ .kind = DICT_NUM_INT, .i = i };
}

static struct dict_num num_big(uint64_t u)
{
	return (struct dict_num){ .kind = DICT_NUM_BIG, .u = u };
}

static struct dict_num num_float(double f)
{
	return (struct dict_num){ .kind = DICT_NUM_FLOAT, .f = f };
}

/* int + int stays int64 or overflows; any float makes a float. */
static void test_num_add(void **state)
{
	static const struct { int is_big_a; uint64_t big_a; int64_t a, b; int err; int64_t sum; } c[] = {
		{ 0, 0, 1, 2, 0, 3 },
		{ 0, 0, -5, 3, 0, -2 },
		{ 0, 0, INT64_MAX, 1, IPCD_EOVERFLOW, 0 },
		{ 0, 0, INT64_MAX, 0, 0, INT64_MAX },
		{ 0, 0, INT64_MIN, -1, IPCD_EOVERFLOW, 0 },
		{ 0, 0, INT64_MIN, INT64_MAX, 0, -1 },
		{ 1, 1ull << 63, 0, -1, 0, INT64_MAX },
		{ 1, 1ull << 63, 0, 0, IPCD_EOVERFLOW, 0 },
		{ 1, 1ull << 63, 0, 1, IPCD_EOVERFLOW, 0 },
		{ 1, UINT64_MAX, 0, INT64_MIN, 0, INT64_MAX },
		{ 1, UINT64_MAX, 0, INT64_MIN + 1, IPCD_EOVERFLOW, 0 },
		{ 1, 1ull << 63, 0, INT64_MIN, 0, 0 },
		{ 1, UINT64_MAX, 0, 1, IPCD_EOVERFLOW, 0 },          /* no wrap to 0 */
		{ 1, UINT64_MAX, 0, INT64_MAX, IPCD_EOVERFLOW, 0 },
	};
	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct dict_num a = c[k].is_big_a ? num_big(c[k].big_a) : num_int(c[k].a);
		struct dict_num b = num_int(c[k].b), out;
		assert_int_equal(dict_num_add(&a, &b, &out), c[k].err);
		if (!c[k].err) {
			assert_int_equal(out.kind, DICT_NUM_INT);
			assert_true(out.i == c[k].sum);
		}
		/* addition commutes, overflow included */
		assert_int_equal(dict_num_add(&b, &a, &out), c[k].err);
	}
	struct dict_num a = num_big(UINT64_MAX), b = num_big(1), f = num_float(0.5), out;
	assert_int_equal(dict_num_add(&a, &b, &out), IPCD_EOVERFLOW);
	assert_int_equal(dict_num_add(&a, &f, &out), 0);
	assert_int_equal(out.kind, DICT_NUM_FLOAT);
	assert_true(out.f == 18446744073709551615.0 + 0.5);
	/* a float sum that is not finite is an overflow, never stored */
	struct dict_num huge = num_float(1.7e308);
	assert_int_equal(dict_num_add(&huge, &huge, &out), IPCD_EOVERFLOW);
	a = num_int(2);
	assert_int_equal(dict_num_add(&a, &f, &out), 0);
	assert_int_equal(out.kind, DICT_NUM_FLOAT);
	assert_true(out.f == 2.5);
	a = num_float(1.25);
	assert_int_equal(dict_num_add(&a, &f, &out), 0);
	assert_true(out.f == 1.75);
}

/* Arguments become numbers; results become objects that encode canonically. */
static void test_num_objects(void **state)
{
	struct dict_num n;
	msgpack_object o = uint_obj(UINT64_MAX);
	dict_num_of_obj(&o, &n);
	assert_int_equal(n.kind, DICT_NUM_BIG);
	o = uint_obj(7);
	dict_num_of_obj(&o, &n);
	assert_int_equal(n.kind, DICT_NUM_INT);
	assert_int_equal(n.i, 7);
	o = int_obj(-7);
	dict_num_of_obj(&o, &n);
	assert_true(n.kind == DICT_NUM_INT && n.i == -7);
	o = (msgpack_object){ .type = MSGPACK_OBJECT_FLOAT32, .via.f64 = 0.25 };
	dict_num_of_obj(&o, &n);
	assert_true(n.kind == DICT_NUM_FLOAT && n.f == 0.25);

	n = num_int(-1);
	dict_num_to_obj(&n, &o);
	assert_int_equal(o.type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
	n = num_int(5);
	dict_num_to_obj(&n, &o);
	assert_int_equal(o.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
	assert_int_equal(o.via.u64, 5);
	n = num_float(5);
	dict_num_to_obj(&n, &o);
	assert_int_equal(o.type, MSGPACK_OBJECT_FLOAT64);
	assert_int_equal(codec_size(&o), 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_keys_canonical),
		cmocka_unit_test(test_key_sizes),
		cmocka_unit_test(test_value_alloc_failure),
		cmocka_unit_test(test_set_del_memory),
		cmocka_unit_test(test_key_memory_limit),
		cmocka_unit_test(test_pack),
		cmocka_unit_test(test_num_of_value),
		cmocka_unit_test(test_num_add),
		cmocka_unit_test(test_num_objects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
