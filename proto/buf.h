/*
 * buf.h: a growable byte buffer with a read offset, used for socket input and
 * output on both sides of the wire. Data lives in [data+off, data+len).
 */
#ifndef IPCD_BUF_H
#define IPCD_BUF_H

#include <stddef.h>
#include <sys/types.h>

struct buf {
	char *data;
	size_t off;   /* first unconsumed byte */
	size_t len;   /* end of valid data */
	size_t cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
static inline size_t buf_used(const struct buf *b) { return b->len - b->off; }
/* An empty buffer may have no storage: NULL + 0 is undefined in C. */
static inline char *buf_head(const struct buf *b) { return b->data ? b->data + b->off : b->data; }
/* Make room for at least n more bytes at the tail. 0 or -1 on ENOMEM. */
int buf_reserve(struct buf *b, size_t n);
/* Append n bytes. 0 or -1 on ENOMEM. */
int buf_append(struct buf *b, const void *p, size_t n);
/* buf_append, inline while there is room: the replies' many small writes
 * (a header, a number) cost a copy, not a call. */
static inline int buf_append_fast(struct buf *b, const void *p, size_t n)
{
	if (n && b->cap - b->len >= n) {
		__builtin_memcpy(b->data + b->len, p, n);
		b->len += n;
		return 0;
	}
	return buf_append(b, p, n);
}
/* Drop n bytes from the head; resets to empty when all consumed. */
void buf_consume(struct buf *b, size_t n);
/* Move unconsumed data to the front when the head has drifted far. */
void buf_compact(struct buf *b);
/* recv() once from socket fd into the tail (growing by at least 'min' bytes
 * of room), with recv's flags. Returns recv()'s result. */
ssize_t buf_recv_fd(struct buf *b, int fd, size_t min, int flags);
/* write() as much of the head as the socket takes. Returns bytes written or -1. */
ssize_t buf_write_fd(struct buf *b, int fd);
/* msgpack_packer write callback: data is a struct buf *. */
int buf_msgpack_write(void *data, const char *p, size_t n);

#endif
