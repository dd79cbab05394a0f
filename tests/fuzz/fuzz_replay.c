/*
 * fuzz_replay.c: the server fuzz target as a deterministic test. Seeds are
 * well-formed requests for every op in ops.def (arguments made from each
 * op's signature); each run sends a few of them, mutated (bit flips, byte
 * overwrites, cut or lengthened frames, wrong length prefixes), on one
 * connection. IPCD_FUZZ_RUNS sets the number of runs; the libFuzzer build
 * (meson -Dfuzz=true) explores further from the same target.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Pack one plausible argument for signature letter l of an op on type t:
 * names mostly match the op's type, so that handlers run past WRONGTYPE. */
static void pack_arg(msgpack_packer *pk, char l, enum proto_type t, unsigned variant)
{
	static const char *names[PROTO_T_COUNT] = { "any", "q", "l", "d", "n", "v", "a" };
	switch (l) {
	case 'N': {
		enum proto_type nt = variant % 8 ? t : (enum proto_type)(variant % PROTO_T_COUNT);
		const char *name = names[nt] ? names[nt] : proto_type_name(nt);   /* the later types by their type name */
		msgpack_pack_str_with_body(pk, name, strlen(name));
		break;
	}
	case 'S': msgpack_pack_str_with_body(pk, variant % 2 ? "queue" : "list", variant % 2 ? 5 : 4); break;
	case 's': msgpack_pack_str_with_body(pk, "*", 1); break;
	case 'i': case 'I': msgpack_pack_int64(pk, (int64_t)(variant % 7) - 3); break;
	case 'u': msgpack_pack_uint64(pk, variant % 5); break;
	case 'n': msgpack_pack_double(pk, 1.5); break;
	case 't': msgpack_pack_double(pk, 0.001 * (variant % 3)); break;
	case 'm': case 'o':
		msgpack_pack_map(pk, 1);
		msgpack_pack_str_with_body(pk, "maxsize", 7);
		msgpack_pack_uint64(pk, variant % 3);
		break;
	case 'a':
		msgpack_pack_array(pk, 3);
		msgpack_pack_int(pk, 1);
		msgpack_pack_str_with_body(pk, "x", 1);
		msgpack_pack_nil(pk);
		break;
	default: /* v, k */
		switch (variant % 4) {
		case 0: msgpack_pack_int(pk, (int)variant); break;
		case 1: msgpack_pack_str_with_body(pk, "value", 5); break;
		case 2: msgpack_pack_array(pk, 1); msgpack_pack_map(pk, 0); break;
		default: msgpack_pack_bin_with_body(pk, "\0\1", 2); break;
		}
	}
}

/* Append one request frame for op (all its arguments) to b. */
static void seed_request(struct buf *b, const struct proto_op_info *op, unsigned variant)
{
	msgpack_packer pk;
	size_t pos = (size_t)frame_begin(b);
	msgpack_packer_init(&pk, b, buf_msgpack_write);
	unsigned nargs = op->min_args + (op->max_args > op->min_args ? variant % (op->max_args - op->min_args + 1) : 0);
	msgpack_pack_array(&pk, 2 + nargs);
	msgpack_pack_uint64(&pk, variant);
	if (variant % 2)
		msgpack_pack_uint32(&pk, op->code);
	else
		msgpack_pack_str_with_body(&pk, op->name, strlen(op->name));
	const char *s = op->sig;
	for (unsigned i = 0; i < nargs; i++, s++) {
		if (*s == '|')
			s++;
		pack_arg(&pk, *s, op->type, variant + i);
	}
	frame_end(b, pos);
}

/* Damage b in one of several ways. */
static void mutate(struct buf *b)
{
	if (b->len == 0)
		return;
	switch (next_rand() % 6) {
	case 0: b->data[next_rand() % b->len] ^= (char)(1u << (next_rand() % 8)); break;
	case 1: b->data[next_rand() % b->len] = (char)next_rand(); break;
	case 2: b->len -= next_rand() % b->len; break;                 /* cut */
	case 3: {                                                      /* wrong length prefix */
		uint32_t v = (uint32_t)next_rand();
		memcpy(b->data, &v, 4 < b->len ? 4 : b->len);
		break;
	}
	case 4: buf_append(b, "\xc1\xff\x00", 3); break;               /* trailing junk */
	default: break;                                                /* left whole */
	}
}

int main(void)
{
	const char *env = getenv("IPCD_FUZZ_RUNS");
	long runs = env ? atol(env) : 20000;
	for (long r = 0; r < runs; r++) {
		struct buf b;
		buf_init(&b);
		unsigned n = 1 + next_rand() % 4;
		for (unsigned i = 0; i < n; i++) {
			struct buf one;
			buf_init(&one);
			seed_request(&one, proto_op_at(next_rand() % proto_ops_count), (unsigned)next_rand());
			if (next_rand() % 3 == 0)
				mutate(&one);
			buf_append(&b, one.data, one.len);
			buf_free(&one);
		}
		fuzz_one((const uint8_t *)b.data, b.len);
		buf_free(&b);
	}
	/* Summary in the plain form test runners read. */
	printf("fuzz: %ld passed, 0 failed\n", runs);
	return 0;
}
