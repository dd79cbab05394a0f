/*
 * test_queue_store.c: a queue's ready-item store against a model: random
 * pushes of bare, packed and item entries, pops from the head, walks with
 * skips and whole-run copies, put times, the undo of a push when an
 * allocation fails, and value_mem_used back to where it started.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "decode.h"
#include "queue_store.h"
#include "rand.h"
#include "value.h"

/* The store never looks inside an item: any aligned allocation will do. */
struct qitem {
	int id;
};

struct model_entry {
	struct qitem *item;
	char bytes[400];
	uint32_t len;
	uint64_t put_ms;
};

#define MODEL_MAX 20000
static struct model_entry model[MODEL_MAX];
static size_t model_head, model_tail;

static void free_item(struct qitem *it)
{
	free(it);
}

/* A random value's canonical msgpack bytes: small scalars of many shapes
 * (most packed, some sharing a header), big strings and arrays (bare). */
static uint32_t random_value(uint64_t *rs, char *out)
{
	uint64_t r = test_rand(rs);
	switch (r % 9) {
	case 0: {   /* fixstr, often 16 bytes: runs that share a header */
		uint32_t n = r & 0x100 ? 16 : (uint32_t)(r >> 12) % 32;
		out[0] = (char)(0xa0 | n);
		for (uint32_t i = 0; i < n; i++)
			out[1 + i] = (char)('a' + (test_rand(rs) % 26));
		return n + 1;
	}
	case 1: {   /* str8 of 32..299 bytes: packed up to the limit, bare beyond */
		uint32_t n = 32 + (uint32_t)(r >> 12) % 268;
		out[0] = (char)0xd9;
		out[1] = (char)n;
		memset(out + 2, 'x' + (int)(r % 3), n);
		return n + 2;
	}
	case 2:     /* positive fixint */
		out[0] = (char)((r >> 8) & 0x7f);
		return 1;
	case 3:     /* uint32 */
		out[0] = (char)0xce;
		memcpy(out + 1, &r, 4);
		return 5;
	case 4: {   /* nil, false, true */
		static const unsigned char one_byte[3] = { 0xc0, 0xc2, 0xc3 };
		out[0] = (char)one_byte[(r >> 8) % 3];
		return 1;
	}
	case 5: {   /* bin8 */
		uint32_t n = (uint32_t)(r >> 12) % 40;
		out[0] = (char)0xc4;
		out[1] = (char)n;
		memset(out + 2, (int)(r >> 20), n);
		return n + 2;
	}
	case 6:     /* fixarray of two fixints: not a scalar, stored bare */
		out[0] = (char)0x92;
		out[1] = 1;
		out[2] = (char)((r >> 8) & 0x7f);
		return 3;
	case 7:     /* float64 */
		out[0] = (char)0xcb;
		memcpy(out + 1, &r, 8);
		return 9;
	default:    /* fixext 4 */
		out[0] = (char)0xd6;
		out[1] = 7;
		memcpy(out + 2, &r, 4);
		return 6;
	}
}

static struct value *value_of(const char *bytes, uint32_t len)
{
	struct value *v;
	assert_int_equal(value_new_raw(bytes, len, &v), 0);
	return v;
}

/* The entry's bytes as the store gives them. */
static uint32_t entry_bytes(const struct qstore_entry *e, char *out)
{
	if (e->value) {
		memcpy(out, e->value->data, e->value->len);
		return e->value->len;
	}
	memcpy(out, e->hdr, e->hlen);
	memcpy(out + e->hlen, e->body, e->blen);
	return e->hlen + e->blen;
}

static void assert_entry_is(const struct qstore_entry *e, const struct model_entry *m)
{
	if (m->item) {
		assert_ptr_equal(e->item, m->item);
		return;
	}
	char got[400];
	assert_null(e->item);
	uint32_t n = entry_bytes(e, got);
	assert_int_equal(n, m->len);
	assert_memory_equal(got, m->bytes, n);
	assert_int_equal(e->put_ms, m->put_ms);
}

/* Walk the store from the head: every entry, then skips of random lengths
 * and whole-run copies, all agreeing with the model. */
static void assert_store_is_model(const struct qstore *s, uint64_t *rs)
{
	assert_int_equal(qstore_len(s), model_tail - model_head);
	struct qstore_pos p;
	struct qstore_entry e;
	qstore_begin(s, &p);
	for (size_t i = model_head; i < model_tail; i++) {
		assert_true(qstore_next(s, &p, &e));
		assert_entry_is(&e, &model[i]);
	}
	assert_false(qstore_next(s, &p, &e));

	qstore_begin(s, &p);
	size_t i = model_head;
	while (i < model_tail) {
		uint64_t r = test_rand(rs) % 4;
		if (r == 0) {
			size_t want = (size_t)(test_rand(rs) % 300);
			size_t got = qstore_skip(s, &p, want);
			assert_int_equal(got, want < model_tail - i ? want : model_tail - i);
			i += got;
		} else if (r == 1) {
			const char *data;
			size_t len;
			uint32_t n = qstore_next_run(s, &p, &data, &len);
			size_t off = 0;
			for (uint32_t j = 0; j < n; j++, i++) {
				assert_null(model[i].item);
				assert_true(off + model[i].len <= len);
				assert_memory_equal(data + off, model[i].bytes, model[i].len);
				off += model[i].len;
			}
			assert_int_equal(off, n ? len : 0);
		} else {
			assert_true(qstore_next(s, &p, &e));
			assert_entry_is(&e, &model[i]);
			i++;
		}
	}
	assert_false(qstore_next(s, &p, &e));
}

static void model_push(const char *bytes, uint32_t len, uint64_t now)
{
	assert_true(model_tail < MODEL_MAX);
	struct model_entry *m = &model[model_tail++];
	m->item = NULL;
	memcpy(m->bytes, bytes, len);
	m->len = len;
	m->put_ms = now;
}

/* Pop the head and check it against the model's. */
static void pop_and_check(struct qstore *s)
{
	struct qstore_entry e;
	qstore_front(s, &e);
	assert_entry_is(&e, &model[model_head]);
	qstore_pop_front(s);
	if (e.item)
		free_item(e.item);
	value_free(e.value);
	model_head++;
}

/* The get path's pop: the head's bytes packed, or 0 (too long) or -1 (an
 * item) with the head left where it was. */
static void pop_value_and_check(struct qstore *s)
{
	const struct model_entry *m = &model[model_head];
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (m->item) {
		assert_int_equal(qstore_pop_value(s, &pk, SIZE_MAX), -1);
		assert_int_equal(sb.size, 0);
		pop_and_check(s);
	} else {
		assert_int_equal(qstore_pop_value(s, &pk, m->len - 1), 0);   /* one byte short: stays */
		assert_int_equal(sb.size, 0);
		assert_int_equal(qstore_pop_value(s, &pk, m->len), (long)m->len);
		assert_int_equal(sb.size, m->len);
		assert_memory_equal(sb.data, m->bytes, m->len);
		model_head++;
	}
	msgpack_sbuffer_destroy(&sb);
}

/* get_many's pop of a head run: what it packs is the model's next values,
 * whole, each within the room left (the first too unless first_fits). */
static void pop_packed_and_check(struct qstore *s, uint64_t *rs)
{
	uint32_t max = 1 + (uint32_t)(test_rand(rs) % 40);
	int first_fits = test_rand(rs) & 1;
	size_t room = test_rand(rs) & 1 ? SIZE_MAX : (size_t)(test_rand(rs) % 600), left = room;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	size_t before = qstore_len(s);
	uint32_t got = qstore_pop_packed(s, &pk, max, &left, first_fits);
	assert_true(got <= max);
	assert_int_equal(qstore_len(s), before - got);
	size_t at = 0;
	for (uint32_t i = 0; i < got; i++) {
		const struct model_entry *m = &model[model_head + i];
		assert_null(m->item);
		assert_true(at + m->len <= sb.size);
		assert_memory_equal(sb.data + at, m->bytes, m->len);
		if (!(first_fits && i == 0))
			assert_true(m->len <= room);
		room = m->len < room ? room - m->len : 0;
		at += m->len;
	}
	assert_int_equal(at, sb.size);
	assert_int_equal(left, room);
	model_head += got;
	msgpack_sbuffer_destroy(&sb);
}

/* vals as put_many's decoded arguments: n values (bytes back to back in b)
 * as one array decoded into z. */
static const msgpack_object *decoded(msgpack_zone *z, const char *b, size_t len, uint32_t n)
{
	static char frame[5 + 5 * 400];
	msgpack_object o;
	size_t h = wire_put_array_header(frame, n);
	memcpy(frame + h, b, len);
	assert_int_equal(decode_value(frame, h + len, 32, z, &o), DECODE_OK);
	return o.via.array.ptr;
}

/* A put_many of up to 5 random values, as the put_many path stores them:
 * packed if all are small scalars, else nothing (1). */
static void push_many_and_model(struct qstore *s, uint64_t *rs, uint64_t now)
{
	static msgpack_zone z;
	static int ready;
	if (!ready)
		ready = msgpack_zone_init(&z, 4096);
	uint32_t n = 1 + (uint32_t)(test_rand(rs) % 5), all = 1;
	char b[5 * 400];
	size_t len = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t vlen;
		msgpack_object o;
		do   /* a value a frame may hold (the long str8s' length byte wraps) */
			vlen = random_value(rs, b + len);
		while (decode_value(b + len, vlen, 32, &z, &o) != DECODE_OK);
		len += vlen;
	}
	const msgpack_object *vals = decoded(&z, b, len, n);
	char canon[5][400];
	uint32_t lens[5];
	for (uint32_t i = 0; i < n; i++) {   /* what the store holds: the canonical form */
		lens[i] = (uint32_t)decode_encode_into(&vals[i], canon[i]);
		all &= qstore_packs(canon[i], lens[i]);
	}
	size_t before = qstore_len(s), mem = value_mem_used;
	int rc = qstore_push_packed_many(s, vals, n, now);
	msgpack_zone_clear(&z);
	if (!all) {
		assert_int_equal(rc, 1);
		assert_int_equal(qstore_len(s), before);
		assert_int_equal(value_mem_used, mem);
		return;
	}
	assert_int_equal(rc, 0);
	for (uint32_t i = 0; i < n; i++)
		model_push(canon[i], lens[i], now);
}

static void test_random_against_model(void **state)
{
	(void)state;
	uint64_t rs = 0x9e3779b97f4a7c15u;
	size_t mem0 = value_mem_used;
	struct qstore s = { 0 };
	uint64_t now = 1000;
	model_head = model_tail = 0;
	for (int step = 0; step < 6000; step++) {
		uint64_t r = test_rand(&rs) % 16;
		now += test_rand(&rs) % 3 == 0;   /* runs of values share a millisecond */
		if (r < 6) {
			uint32_t n = 1 + (uint32_t)(test_rand(&rs) % 5);
			struct value *vals[5];
			for (uint32_t i = 0; i < n; i++) {
				char b[400];
				uint32_t len = random_value(&rs, b);
				vals[i] = value_of(b, len);
				model_push(b, len, now);
			}
			assert_int_equal(qstore_push_values(&s, vals, n, now), 0);
			for (uint32_t i = 0; i < n; i++)   /* packed ones were freed, bare ones are the store's */
				if (vals[i])
					assert_false(qstore_packs(vals[i]->data, vals[i]->len));
		} else if (r < 9) {
			char b[400];
			uint32_t len = random_value(&rs, b);
			if (!qstore_packs(b, len))
				continue;
			assert_int_equal(qstore_push_packed(&s, b, len, now), 0);
			model_push(b, len, now);
		} else if (r == 9) {
			struct qitem *it = malloc(sizeof(*it));
			int at_head = test_rand(&rs) & 1;
			assert_int_equal(qstore_reserve(&s, 1), 0);
			assert_int_equal(qstore_push_item(&s, it, at_head), 0);
			struct model_entry m = { .item = it };
			if (at_head && model_head > 0) {
				model[--model_head] = m;
			} else if (at_head) {
				memmove(&model[1], &model[0], model_tail * sizeof(model[0]));
				model[0] = m;
				model_tail++;
			} else {
				model[model_tail++] = m;
			}
		} else if (r == 10) {
			push_many_and_model(&s, &rs, now);
		} else if (r == 11) {
			pop_packed_and_check(&s, &rs);
		} else if (model_tail > model_head) {
			if (r & 1)
				pop_and_check(&s);
			else
				pop_value_and_check(&s);
		}
		if (step % 500 == 0)
			assert_store_is_model(&s, &rs);
	}
	assert_store_is_model(&s, &rs);
	while (model_tail > model_head)
		pop_and_check(&s);
	assert_int_equal(qstore_len(&s), 0);
	qstore_free(&s, free_item);
	assert_int_equal(value_mem_used, mem0);
}

/* Allocation fails after a budget: a push of many values appends nothing,
 * leaves the values the caller's, and the store's content and memory count
 * as they were. */
static int alloc_budget;
static void *alloc_counted(size_t n)
{
	if (alloc_budget-- <= 0)
		return NULL;
	return malloc(n);
}

static void test_failed_push_is_undone(void **state)
{
	(void)state;
	uint64_t rs = 12345;
	size_t mem0 = value_mem_used;
	struct qstore s = { 0 };
	model_head = model_tail = 0;
	/* A run that shares a header, then values that make it write its
	 * headers out, then a value that needs a new run: each step can fail. */
	for (int i = 0; i < 5; i++) {
		char b[18] = { (char)0xb0 };
		memset(b + 1, 'a' + i, 16);
		assert_int_equal(qstore_push_packed(&s, b, 17, 7), 0);
		model_push(b, 17, 7);
	}
	void *(*saved)(size_t) = value_alloc;
	int failures = 0;
	for (int budget = 0; budget < 8; budget++) {
		size_t mem = value_mem_used, runs_mem = s.runs_mem;
		struct value *vals[40];
		static char bytes[40][400];
		uint32_t lens[40];
		for (int i = 0; i < 40; i++) {
			if (i % 4 == 0) {   /* big packed values: the push needs new runs */
				bytes[i][0] = (char)0xd9;
				bytes[i][1] = (char)250;
				memset(bytes[i] + 2, 'a' + budget, 250);
				lens[i] = 252;
			} else {
				lens[i] = random_value(&rs, bytes[i]);
			}
			vals[i] = value_of(bytes[i], lens[i]);
		}
		size_t mem_vals = value_mem_used;
		alloc_budget = budget;
		value_alloc = alloc_counted;
		int rc = qstore_push_values(&s, vals, 40, 9);
		value_alloc = saved;
		if (rc == 0) {   /* it fit in the budget */
			for (int i = 0; i < 40; i++)
				model_push(bytes[i], lens[i], 9);
			assert_store_is_model(&s, &rs);
			continue;
		}
		failures++;
		/* The run of shared headers may have written them out into a
		 * bigger run (the same values in another form): what that run
		 * grew by is charged, nothing else. */
		assert_int_equal(value_mem_used - mem_vals, s.runs_mem - runs_mem);
		size_t unshared = value_mem_used - mem_vals;
		for (int i = 0; i < 40; i++) {
			assert_non_null(vals[i]);
			value_free(vals[i]);
		}
		assert_int_equal(value_mem_used, mem + unshared);
		assert_store_is_model(&s, &rs);
	}
	assert_true(failures > 0);
	while (model_tail > model_head)
		pop_and_check(&s);
	qstore_free(&s, free_item);
	assert_int_equal(value_mem_used, mem0);
}

/* put_many's packed path at max_memory: refused whole, as the same values
 * allocated would be, with nothing appended and nothing charged. */
static void test_push_many_at_max_memory(void **state)
{
	(void)state;
	static msgpack_zone z;
	msgpack_zone_init(&z, 4096);
	size_t mem0 = value_mem_used, limit0 = value_mem_limit;
	struct qstore s = { 0 };
	char b[3 * 18];
	for (int i = 0; i < 3; i++) {
		b[18 * i] = (char)0xc4;
		b[18 * i + 1] = 16;
		memset(b + 18 * i + 2, 'x' + i, 16);
	}
	assert_int_equal(qstore_push_packed_many(&s, decoded(&z, b, 18, 1), 1, 5), 0);
	size_t mem1 = value_mem_used;
	/* Room for two values' cost, not three. */
	value_mem_limit = value_mem_used + 2 * value_cost(18) + value_cost(18) / 2;
	assert_int_equal(qstore_push_packed_many(&s, decoded(&z, b, sizeof(b), 3), 3, 6), -1);
	assert_int_equal(qstore_len(&s), 1);
	assert_int_equal(value_mem_used, mem1);
	assert_int_equal(qstore_push_packed_many(&s, decoded(&z, b, 36, 2), 2, 6), 0);
	assert_int_equal(qstore_len(&s), 3);
	assert_true(value_mem_used <= value_mem_limit);
	value_mem_limit = limit0;
	qstore_free(&s, free_item);
	assert_int_equal(value_mem_used, mem0);
	msgpack_zone_destroy(&z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_against_model),
		cmocka_unit_test(test_failed_push_is_undone),
		cmocka_unit_test(test_push_many_at_max_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
