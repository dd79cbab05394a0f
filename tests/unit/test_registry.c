/*
 * test_registry.c: names to objects without sockets: create each type (with
 * and without options), find, count per type, delete, the lent empty
 * objects of reads, and freeing everything at shutdown.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "registry.h"
#include "value.h"

static const enum proto_type types[] = { PROTO_T_QUEUE, PROTO_T_LIST, PROTO_T_DICT, PROTO_T_NS };

/* A name finds its object and nothing else: a prefix or a longer name is another name. */
static void test_create_find_delete(void **state)
{
	(void)state;
	registry_init();
	const char *why = "";
	struct object *o[4];
	char name[8];
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "obj%d", i);
		assert_int_equal(registry_create(name, strlen(name), types[i], NULL, &o[i], &why), 0);
		assert_int_equal(o[i]->type, types[i]);
		assert_int_equal(o[i]->name_len, strlen(name));
		assert_string_equal(o[i]->name, name);
	}
	assert_int_equal(registry_count(), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(registry_count_type(types[i]), 1);
	assert_ptr_equal(registry_find("obj2", 4), o[2]);
	assert_null(registry_find("obj", 3));
	assert_null(registry_find("obj22", 5));
	registry_delete(o[2]);
	assert_null(registry_find("obj2", 4));
	assert_int_equal(registry_count(), 3);
	assert_int_equal(registry_count_type(PROTO_T_DICT), 0);
	registry_free();
	assert_int_equal(registry_count(), 0);
	assert_null(registry_find("obj0", 4));
}

/* Options go to the type: a bad one is refused with a reason and leaves no name. */
static void test_create_options(void **state)
{
	(void)state;
	registry_init();
	const char *why = NULL;
	struct object *o = NULL;
	msgpack_object_kv kv = { .key = { .type = MSGPACK_OBJECT_STR, .via.str = { 7, "maxsize" } },
	                         .val = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 5 } };
	msgpack_object opts = { .type = MSGPACK_OBJECT_MAP, .via.map = { 1, &kv } };
	assert_int_equal(registry_create("q", 1, PROTO_T_QUEUE, &opts, &o, &why), 0);
	assert_int_equal(o->u.queue.maxsize, 5);
	kv.key.via.str = (msgpack_object_str){ 5, "bogus" };
	assert_int_equal(registry_create("q2", 2, PROTO_T_QUEUE, &opts, &o, &why), IPCD_EBADARG);
	assert_non_null(strstr(why, "unknown queue option"));
	assert_null(registry_find("q2", 2));
	why = NULL;
	assert_int_equal(registry_create("d", 1, PROTO_T_DICT, &opts, &o, &why), IPCD_EBADARG);
	assert_non_null(why);
	assert_int_equal(registry_count(), 1);
	registry_free();
}

/* A read of a missing name sees an empty object of the op's type. */
static void test_empty_objects(void **state)
{
	(void)state;
	registry_init();
	for (int i = 0; i < 4; i++) {
		struct object *e = registry_empty(types[i]);
		assert_non_null(e);
		assert_int_equal(e->type, types[i]);
		assert_int_equal(object_type_of(types[i])->size(e), 0);
	}
	assert_int_equal(registry_count(), 0);
	registry_free();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_find_delete),
		cmocka_unit_test(test_create_options),
		cmocka_unit_test(test_empty_objects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
