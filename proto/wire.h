/*
 * wire.h: the msgpack primitives every side of ipcd needs, written once:
 * header bytes, numbers, array and map headers, map keys, option maps and
 * the request/reply envelopes. The daemon, libipcd and ipcctl use these
 * instead of parsing msgpack by hand.
 *
 * Functions on bytes never read past len; functions on objects take any
 * msgpack_object (from msgpack-c or from decode.h).
 */
#ifndef IPCD_WIRE_H
#define IPCD_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

/* Results besides 0 (ok). */
enum wire_status {
	WIRE_ETYPE = -1,     /* not of the type asked for */
	WIRE_ERANGE = -2,    /* a number outside the range asked for */
	WIRE_EUNKNOWN = -3,  /* an option key not in the table */
};

/* Big-endian loads. */
static inline uint32_t wire_be16(const unsigned char *p) { return (uint32_t)p[0] << 8 | p[1]; }
static inline uint32_t wire_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t wire_be64(const unsigned char *p) { return (uint64_t)wire_be32(p) << 32 | wire_be32(p + 4); }

/* ---- headers ------------------------------------------------------------ */

enum wire_kind {
	WIRE_NIL, WIRE_BOOL, WIRE_UINT, WIRE_INT, WIRE_FLOAT32, WIRE_FLOAT64,
	WIRE_STR, WIRE_BIN, WIRE_EXT, WIRE_ARRAY, WIRE_MAP,
};

/* One value's header. */
struct wire_head {
	enum wire_kind kind;
	unsigned hlen;   /* bytes of the header: tag, length field, ext type */
	uint32_t n;      /* ARRAY/MAP: element count (a map's pairs); else the
	                  * bytes that follow the header (a fixint's 0) */
};

/* Read the header at p[0..len). 0, or -1 if it is cut short or is the
 * never-used byte 0xc1. Says nothing about what follows the header. */
int wire_head(const void *p, size_t len, struct wire_head *h);

/* Bytes of the scalar value at p[0..len) (header and payload), or 0 if it is
 * an array or map, malformed, or longer than len. */
size_t wire_scalar_len(const void *p, size_t len);

/* An array (map) header at p[0..len): its length and *count, or 0 if p does
 * not start with one. */
size_t wire_array_header(const void *p, size_t len, uint32_t *count);
size_t wire_map_header(const void *p, size_t len, uint32_t *count);

/* Write the shortest array (map) header for count into dst (at least
 * WIRE_HEADER_MAX bytes); returns its length. */
#define WIRE_HEADER_MAX 5
size_t wire_put_array_header(void *dst, uint32_t count);
size_t wire_put_map_header(void *dst, uint32_t count);
/* Write u in its shortest unsigned form into dst (at least 9 bytes);
 * returns its length. */
size_t wire_put_uint(void *dst, uint64_t u);

/* ---- numbers ------------------------------------------------------------ */

/* A number read from bytes. */
struct wire_num {
	enum wire_kind kind;   /* WIRE_UINT (u), WIRE_INT (i, always < 0), WIRE_FLOAT32/64 (f) */
	union {
		uint64_t u;
		int64_t i;
		double f;
	};
};

/* The int or float that is exactly p[0..len): 0, or WIRE_ETYPE. A signed
 * encoding of a value >= 0 reads as WIRE_UINT, as msgpack-c reads it. */
int wire_read_number(const void *p, size_t len, struct wire_num *out);

/* An integer object as int64 / uint64, a number (int or float) as double.
 * 0, WIRE_ETYPE (not that kind of number), WIRE_ERANGE (an integer out of
 * the target's range). o NULL (an absent map entry) is WIRE_ETYPE. */
int wire_obj_int(const msgpack_object *o, int64_t *out);
int wire_obj_uint(const msgpack_object *o, uint64_t *out);
int wire_obj_double(const msgpack_object *o, double *out);

/* ---- maps --------------------------------------------------------------- */

/* True if o is the str key (NUL-terminated). */
int wire_key_is(const msgpack_object *o, const char *key);

/* The value of the first entry of map m whose key is the str key, or NULL
 * (also when m is NULL or not a map). */
const msgpack_object *wire_map_get(const msgpack_object *m, const char *key);

/*
 * Options map walker: for each entry of opts in order, calls
 * fn(ctx, i, value) where keys[i] (a NULL-terminated list) equals the entry's
 * str key. Stops at and returns the first nonzero fn result. An entry whose
 * key is not in keys (or not a str) stops the walk with WIRE_EUNKNOWN and
 * *unknown at its key, or is skipped when unknown is NULL. opts NULL (an
 * absent argument) is an empty map; opts not a map is WIRE_ETYPE.
 */
typedef int wire_option_fn(void *ctx, unsigned i, const msgpack_object *value);
int wire_options(const msgpack_object *opts, const char *const *keys, wire_option_fn *fn, void *ctx,
                 const msgpack_object **unknown);

/* ---- envelopes ---------------------------------------------------------- */

/* A request [id, op, args...]: op is the code or the name, as sent. */
struct wire_request {
	uint64_t id;
	const msgpack_object *op;
	const msgpack_object *args;
	uint32_t nargs;
};

/* Pack the head of a request [id, op, <nargs args follow>]. 0 or the packer's error. */
int wire_pack_request_head(msgpack_packer *pk, uint64_t id, unsigned op, uint32_t nargs);
/* Pack the head of a reply [id, status, <one result follows>]. */
int wire_pack_reply_head(msgpack_packer *pk, uint64_t id, unsigned status);
/* Write that head into dst (at least WIRE_REPLY_HEAD_MAX bytes), as
 * msgpack-c's packer writes it (shortest unsigned forms); returns its
 * length. */
#define WIRE_REPLY_HEAD_MAX 15
size_t wire_put_reply_head(void *dst, uint64_t id, unsigned status);

/* Read a decoded request: 0, or -1 if root is not an array of at least two
 * elements with an unsigned id first. Views point into root. */
int wire_request_parse(const msgpack_object *root, struct wire_request *rq);

/* Read the head of a reply frame p[0..len): [id, status, result] with id and
 * status unsigned. 0 with *id, *status and *result_off (where the result's
 * bytes start), or -1. The result itself is not looked at. */
int wire_reply_head(const void *p, size_t len, uint64_t *id, uint64_t *status, size_t *result_off);

#endif
