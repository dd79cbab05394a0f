/*
 * codec.h: canonical value encoding.
 *
 * The daemon stores values as validated, canonical msgpack bytes and compares
 * values (dict keys, list.remove/index/count, dict.cas) by comparing those
 * bytes. Canonical form: every integer, string, binary, array, map and ext
 * header in its shortest form; non-negative integers as unsigned; float32
 * widened to float64; map entries kept in the order given. So 1 sent as a
 * fixint and as a uint16 are the same key, while 1 and 1.0 are different keys.
 */
#ifndef IPCD_CODEC_H
#define IPCD_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

/* Nesting depth of o (a scalar is 1). Stops counting past limit+1. */
unsigned codec_depth(const msgpack_object *o, unsigned limit);

/*
 * Encode o canonically into a fresh malloc'd buffer: *out and *out_len.
 * Returns 0, IPCD_EBADVALUE if deeper than max_depth, IPCD_ENOMEM.
 */
int codec_encode(const msgpack_object *o, unsigned max_depth, char **out, size_t *out_len);

/* Size of o's canonical encoding, without encoding it. */
size_t codec_size(const msgpack_object *o);

/* Encode o canonically into dst, which holds codec_size(o) bytes; returns
 * that size. */
size_t codec_encode_into(const msgpack_object *o, char *dst);

/*
 * o's canonical header into out, returning its length: for a str, bin or
 * ext the bytes before its payload (an ext's type included), for an array
 * or map the bytes before its elements, for any other value its whole
 * encoding. Shared with decode.c, so that both apply one set of rules.
 */
#define CODEC_HEAD_MAX 9
size_t codec_head(const msgpack_object *o, unsigned char out[CODEC_HEAD_MAX]);

/* True if o's canonical encoding is exactly bytes[0..len). Allocates nothing. */
int codec_equals(const msgpack_object *o, const void *bytes, size_t len);

/*
 * 0 if data[0..len) is exactly one well-formed msgpack value with arrays and
 * maps nested at most max_levels deep, else -1. Linear, allocates nothing:
 * run on every frame before msgpack-c, which would otherwise allocate for an
 * element count that a 5-byte frame can declare in the billions.
 */
int codec_validate(const void *data, size_t len, unsigned max_levels);

/* 64-bit hash of bytes (for hash tables keyed by canonical encodings). */
uint64_t codec_hash(const void *p, size_t n);

#endif
