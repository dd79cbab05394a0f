/*
 * frame.h: length-prefixed framing. A frame is a u32 big-endian length
 * followed by that many bytes of one msgpack value.
 */
#ifndef IPCD_FRAME_H
#define IPCD_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

enum frame_status {
	FRAME_OK = 0,      /* body and body_len set; consume total bytes */
	FRAME_PARTIAL,     /* need more bytes */
	FRAME_TOOBIG,      /* declared length over max */
	FRAME_EMPTY,       /* declared length 0: never valid */
};

/*
 * Look at the head of b for one whole frame. On FRAME_OK, *body points into b
 * (valid until b changes) and *total is header+body length to consume.
 * On FRAME_TOOBIG, *body_len holds the declared length.
 */
enum frame_status frame_peek(const struct buf *b, size_t max, const char **body,
                             size_t *body_len, size_t *total);

/* Begin a frame at b's tail: reserves the header and returns its position
 * relative to b's head (stable while nothing is consumed). -1 on ENOMEM. */
ssize_t frame_begin(struct buf *b);
/* frame_begin, then head[0..n) appended in the same reservation (a reply's
 * [id, status, head). -1 on ENOMEM (nothing appended). */
ssize_t frame_begin_with(struct buf *b, const void *head, size_t n);
/* Finish the frame begun at pos: writes the header for what was appended since. */
void frame_end(struct buf *b, size_t pos);

#endif
