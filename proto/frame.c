/* frame.c: length-prefixed framing; see frame.h. */
#include <string.h>
#include "frame.h"
#include "proto.h"

enum frame_status frame_peek(const struct buf *b, size_t max, const char **body,
                             size_t *body_len, size_t *total)
{
	if (buf_used(b) < PROTO_HEADER_SIZE)
		return FRAME_PARTIAL;
	const unsigned char *h = (const unsigned char *)buf_head(b);
	size_t len = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
	*body_len = len;
	if (len == 0)
		return FRAME_EMPTY;
	if (len > max)
		return FRAME_TOOBIG;
	if (buf_used(b) - PROTO_HEADER_SIZE < len)
		return FRAME_PARTIAL;
	*body = buf_head(b) + PROTO_HEADER_SIZE;
	*total = PROTO_HEADER_SIZE + len;
	return FRAME_OK;
}

ssize_t frame_begin(struct buf *b)
{
	if (buf_reserve(b, PROTO_HEADER_SIZE) < 0)
		return -1;
	/* Relative to the head: buf_reserve may compact the buffer before frame_end. */
	size_t pos = b->len - b->off;
	b->len += PROTO_HEADER_SIZE;
	return (ssize_t)pos;
}

ssize_t frame_begin_with(struct buf *b, const void *head, size_t n)
{
	if (buf_reserve(b, PROTO_HEADER_SIZE + n) < 0)
		return -1;
	size_t pos = b->len - b->off;
	memcpy(b->data + b->len + PROTO_HEADER_SIZE, head, n);
	b->len += PROTO_HEADER_SIZE + n;
	return (ssize_t)pos;
}

void frame_end(struct buf *b, size_t pos)
{
	size_t off = b->off + pos;
	size_t len = b->len - off - PROTO_HEADER_SIZE;
	unsigned char *h = (unsigned char *)b->data + off;
	h[0] = (unsigned char)(len >> 24);
	h[1] = (unsigned char)(len >> 16);
	h[2] = (unsigned char)(len >> 8);
	h[3] = (unsigned char)len;
}
