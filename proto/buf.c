/* buf.c: growable byte buffer; see buf.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "buf.h"

void buf_init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
}

void buf_free(struct buf *b)
{
	if (!b)
		return;
	free(b->data);
	buf_init(b);
}

void buf_compact(struct buf *b)
{
	if (b->off == 0)
		return;
	memmove(b->data, b->data + b->off, b->len - b->off);
	b->len -= b->off;
	b->off = 0;
}

int buf_reserve(struct buf *b, size_t n)
{
	if (b->cap - b->len >= n)
		return 0;
	/* Reclaim consumed space before growing when it is worth it. */
	if (b->off > 0 && b->off >= b->len / 2) {
		buf_compact(b);
		if (b->cap - b->len >= n)
			return 0;
	}
	size_t want = b->len + n, cap = b->cap ? b->cap : 256;
	while (cap < want) {
		if (cap > SIZE_MAX / 2)
			return -1;
		cap *= 2;
	}
	char *p = realloc(b->data, cap);
	if (!p)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0; /* msgpack-c passes NULL for empty bodies */
	if (buf_reserve(b, n) < 0)
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void buf_consume(struct buf *b, size_t n)
{
	b->off += n;
	if (b->off >= b->len)
		b->off = b->len = 0;
}

ssize_t buf_recv_fd(struct buf *b, int fd, size_t min, int flags)
{
	if (buf_reserve(b, min) < 0) {
		errno = ENOMEM;
		return -1;
	}
	ssize_t n = recv(fd, b->data + b->len, b->cap - b->len, flags);
	if (n > 0)
		b->len += (size_t)n;
	return n;
}

ssize_t buf_write_fd(struct buf *b, int fd)
{
	size_t total = 0;
	while (buf_used(b) > 0) {
		ssize_t n = write(fd, buf_head(b), buf_used(b));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		buf_consume(b, (size_t)n);
		total += (size_t)n;
	}
	return (ssize_t)total;
}

int buf_msgpack_write(void *data, const char *p, size_t n)
{
	return buf_append(data, p, n);
}
