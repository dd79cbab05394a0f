/*
 * reply.h: building replies. A reply is packed straight into its client's
 * output buffer as one frame [id, status, result-or-message]; the frame is
 * written out at the loop's one flush point (server_flush_pending).
 */
#ifndef IPCD_REPLY_H
#define IPCD_REPLY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <msgpack.h>

struct client;
struct value;

/* A reply under construction: to c, for request id. */
struct reply {
	struct client *c;
	uint64_t id;
	ssize_t frame;             /* frame position in c->out, -1 if not begun */
	msgpack_packer pk;
	const char *name;          /* the request's object name (not NUL-terminated), for logs; may be NULL */
	size_t name_len;
	unsigned status;           /* of the frame begun last: 0 = success */
};

/* Success replies begun so far: a request whose handler began one did what
 * it was asked (state.c logs such writes). */
extern uint64_t reply_ok_count;
/* If set, told of every finished success reply: where its frame is in
 * c->out (from c->out.off) and its id. */
extern void (*reply_watch)(struct client *c, size_t pos, size_t len, uint64_t id);

void reply_init(struct reply *r, struct client *c, uint64_t id);
/* Start a success reply: the caller packs exactly one value, then reply_end. */
msgpack_packer *reply_ok(struct reply *r);
/* Finish a begun reply and schedule the flush. */
void reply_end(struct reply *r);

/* Bytes of the reply begun so far (its frame header included). */
size_t reply_size(const struct reply *r);
/* Within a success reply: an array of at most max entries begins; returns
 * where, for reply_array_shrink. */
size_t reply_array_begin(struct reply *r, uint32_t max);
/* The array begun at `at` for max entries holds n <= max: its header is
 * rewritten, and what follows moves if the header got shorter. */
void reply_array_shrink(struct reply *r, size_t at, uint32_t max, uint32_t n);
/* Whole success replies. */
void reply_nil(struct reply *r);
void reply_bool(struct reply *r, int b);
void reply_int(struct reply *r, int64_t v);
void reply_uint(struct reply *r, uint64_t v);
/* A stored value as the result. */
void reply_value(struct reply *r, const struct value *v);
/* An error reply: code from errors.def, message printf-style. If the code
 * closes the connection, the client is closed once it is flushed. */
void reply_error(struct reply *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The one NOMEM reply: names max_memory when that is what was reached. */
void reply_nomem(struct reply *r);
/* Log what the NOMEM rate limit still holds (at shutdown). */
void reply_log_flush(void);

/* Pack a stored value's bytes into pk as-is. */
void pack_value(msgpack_packer *pk, const struct value *v);
/* Pack a C string as msgpack str. */
void pack_cstr(msgpack_packer *pk, const char *s);
/* Pack len bytes as msgpack str. */
void pack_str(msgpack_packer *pk, const char *s, size_t len);
/* One map entry "key": value, for the replies that are maps (info, stat, clients, ...). */
void pack_key_uint(msgpack_packer *pk, const char *key, uint64_t v);
void pack_key_int(msgpack_packer *pk, const char *key, int64_t v);
void pack_key_double(msgpack_packer *pk, const char *key, double v);
void pack_key_bool(msgpack_packer *pk, const char *key, int b);
void pack_key_str(msgpack_packer *pk, const char *key, const char *s);

#endif
