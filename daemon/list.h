/*
 * list.h: the pure helpers of list.c (Python's index and slice rules), shared
 * with its unit test. The list type itself is reached through object.h.
 */
#ifndef IPCD_LIST_H
#define IPCD_LIST_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

struct deque;

/* An int argument as int64; values above INT64_MAX clamp to INT64_MAX, which
 * no index or bound can tell apart from the real value. */
int64_t list_arg_int(const msgpack_object *o);

/* Python item index i (negative counts from the end) into *out.
 * 0, or -1 if out of range for a list of len items. */
int list_norm_index(int64_t i, size_t len, size_t *out);

/* Where list.insert(i, x) puts x: Python clamps instead of failing. */
size_t list_insert_pos(int64_t i, size_t len);

/* Bounds of items[start:stop] as [*lo, *hi) with *lo <= *hi <= len;
 * NULL start or stop means None. Also the search range of list.index. */
void list_slice(const int64_t *start, const int64_t *stop, size_t len, size_t *lo, size_t *hi);

/* First position in [lo, hi) of an item whose canonical bytes equal o's, or -1. */
int64_t list_find(const struct deque *items, const msgpack_object *o, size_t lo, size_t hi);
/* Number of items equal to o. */
size_t list_count(const struct deque *items, const msgpack_object *o);

#endif
