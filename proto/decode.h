/*
 * decode.h: one pass from frame bytes to msgpack objects.
 *
 * decode_value checks a frame (exactly one well-formed value, nesting and
 * element counts bounded by the bytes there are) while it builds the
 * msgpack_object tree in a zone, and records for every array and map what
 * the daemon asks of a value later: its canonical size (codec.h), its depth,
 * and whether the sender's bytes are canonical already. So a frame is walked
 * once on arrival; sizing a value and storing it cost no further walk, and a
 * value sent canonically (what msgpack-c's packer writes for integers and
 * doubles) is stored by one memcpy of the frame's bytes.
 *
 * The objects are the ones msgpack_unpack would make (strings, bins and ext
 * payloads point into the frame; nothing is copied), so all msgpack-c and
 * codec functions take them. The decode_size/depth/encode_into functions
 * take only objects from decode_value (or scalars): they read the facts
 * stored with a container's elements.
 */
#ifndef IPCD_DECODE_H
#define IPCD_DECODE_H

#include <stddef.h>
#include <msgpack.h>

enum decode_status {
	DECODE_OK = 0,
	DECODE_EMALFORMED = -1,  /* not exactly one value, or nested too deep */
	DECODE_ENOMEM = -2,      /* the zone could not grow */
};

/*
 * Decode data[0..len), exactly one value with arrays and maps nested at most
 * max_levels deep (empty ones counted, as msgpack-c counts them; at most
 * 64), into *out, allocating from z. With max_levels PROTO_MAX_LEVELS it
 * accepts and rejects what codec_validate followed by msgpack_unpack does,
 * and builds the same objects. Allocation is bounded by
 * len: a count the bytes cannot hold is refused before anything is
 * allocated for it. Objects live until z is cleared and point into data.
 */
int decode_value(const void *data, size_t len, unsigned max_levels, msgpack_zone *z, msgpack_object *out);

/* Canonical size of o (codec_size), without walking it. */
size_t decode_size(const msgpack_object *o);

/* Depth of o (codec_depth without its limit: a scalar is 1), without walking it. */
unsigned decode_depth(const msgpack_object *o);

/* Encode o canonically into dst (decode_size(o) bytes), copying the
 * sender's bytes of every part that is canonical already; returns that
 * size. */
size_t decode_encode_into(const msgpack_object *o, char *dst);

#endif
