/*
 * test_list.c: list.c's pure rules against Python. Every expected value in
 * the tables below was produced by running the Python expression named above
 * the table (python3 3.11), not worked out by hand.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "list.h"
#include "deque.h"
#include "value.h"

struct norm_case { size_t len; int64_t i; int ok; size_t item; };
struct insert_case { size_t len; int64_t i; size_t pos; };
struct slice_case { size_t len; int has_start; int64_t start; int has_stop; int64_t stop; size_t count, first; };
struct index_case { int64_t start, stop, at; };

#define NONE 0, 0
#define V(x) 1, x
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* list(range(len))[i]: {len, i, ok, item} */
static const struct norm_case norm_cases[] = {
	{ 0, INT64_MIN, 0, 0 },
	{ 0, -10, 0, 0 },
	{ 0, -6, 0, 0 },
	{ 0, -5, 0, 0 },
	{ 0, -4, 0, 0 },
	{ 0, -1, 0, 0 },
	{ 0, 0, 0, 0 },
	{ 0, 1, 0, 0 },
	{ 0, 2, 0, 0 },
	{ 0, 4, 0, 0 },
	{ 0, 5, 0, 0 },
	{ 0, 6, 0, 0 },
	{ 0, 10, 0, 0 },
	{ 0, INT64_MAX, 0, 0 },
	{ 1, INT64_MIN, 0, 0 },
	{ 1, -10, 0, 0 },
	{ 1, -6, 0, 0 },
	{ 1, -5, 0, 0 },
	{ 1, -4, 0, 0 },
	{ 1, -1, 1, 0 },
	{ 1, 0, 1, 0 },
	{ 1, 1, 0, 0 },
	{ 1, 2, 0, 0 },
	{ 1, 4, 0, 0 },
	{ 1, 5, 0, 0 },
	{ 1, 6, 0, 0 },
	{ 1, 10, 0, 0 },
	{ 1, INT64_MAX, 0, 0 },
	{ 3, INT64_MIN, 0, 0 },
	{ 3, -10, 0, 0 },
	{ 3, -6, 0, 0 },
	{ 3, -5, 0, 0 },
	{ 3, -4, 0, 0 },
	{ 3, -1, 1, 2 },
	{ 3, 0, 1, 0 },
	{ 3, 1, 1, 1 },
	{ 3, 2, 1, 2 },
	{ 3, 4, 0, 0 },
	{ 3, 5, 0, 0 },
	{ 3, 6, 0, 0 },
	{ 3, 10, 0, 0 },
	{ 3, INT64_MAX, 0, 0 },
	{ 5, INT64_MIN, 0, 0 },
	{ 5, -10, 0, 0 },
	{ 5, -6, 0, 0 },
	{ 5, -5, 1, 0 },
	{ 5, -4, 1, 1 },
	{ 5, -1, 1, 4 },
	{ 5, 0, 1, 0 },
	{ 5, 1, 1, 1 },
	{ 5, 2, 1, 2 },
	{ 5, 4, 1, 4 },
	{ 5, 5, 0, 0 },
	{ 5, 6, 0, 0 },
	{ 5, 10, 0, 0 },
	{ 5, INT64_MAX, 0, 0 },
};

/* l = list(range(len)); l.insert(i, 'x'); l.index('x'): {len, i, pos} */
static const struct insert_case insert_cases[] = {
	{ 0, INT64_MIN, 0 },
	{ 0, -10, 0 },
	{ 0, -6, 0 },
	{ 0, -5, 0 },
	{ 0, -4, 0 },
	{ 0, -1, 0 },
	{ 0, 0, 0 },
	{ 0, 1, 0 },
	{ 0, 2, 0 },
	{ 0, 4, 0 },
	{ 0, 5, 0 },
	{ 0, 6, 0 },
	{ 0, 10, 0 },
	{ 0, INT64_MAX, 0 },
	{ 1, INT64_MIN, 0 },
	{ 1, -10, 0 },
	{ 1, -6, 0 },
	{ 1, -5, 0 },
	{ 1, -4, 0 },
	{ 1, -1, 0 },
	{ 1, 0, 0 },
	{ 1, 1, 1 },
	{ 1, 2, 1 },
	{ 1, 4, 1 },
	{ 1, 5, 1 },
	{ 1, 6, 1 },
	{ 1, 10, 1 },
	{ 1, INT64_MAX, 1 },
	{ 3, INT64_MIN, 0 },
	{ 3, -10, 0 },
	{ 3, -6, 0 },
	{ 3, -5, 0 },
	{ 3, -4, 0 },
	{ 3, -1, 2 },
	{ 3, 0, 0 },
	{ 3, 1, 1 },
	{ 3, 2, 2 },
	{ 3, 4, 3 },
	{ 3, 5, 3 },
	{ 3, 6, 3 },
	{ 3, 10, 3 },
	{ 3, INT64_MAX, 3 },
	{ 5, INT64_MIN, 0 },
	{ 5, -10, 0 },
	{ 5, -6, 0 },
	{ 5, -5, 0 },
	{ 5, -4, 1 },
	{ 5, -1, 4 },
	{ 5, 0, 0 },
	{ 5, 1, 1 },
	{ 5, 2, 2 },
	{ 5, 4, 4 },
	{ 5, 5, 5 },
	{ 5, 6, 5 },
	{ 5, 10, 5 },
	{ 5, INT64_MAX, 5 },
};

/* r = list(range(len))[start:stop] (NONE = None): {len, start, stop, len(r), r[0] or 0} */
static const struct slice_case slice_cases[] = {
	{ 0, NONE, NONE, 0, 0 },
	{ 0, NONE, V(INT64_MIN), 0, 0 },
	{ 0, NONE, V(-6), 0, 0 },
	{ 0, NONE, V(-5), 0, 0 },
	{ 0, NONE, V(-2), 0, 0 },
	{ 0, NONE, V(0), 0, 0 },
	{ 0, NONE, V(2), 0, 0 },
	{ 0, NONE, V(5), 0, 0 },
	{ 0, NONE, V(6), 0, 0 },
	{ 0, NONE, V(INT64_MAX), 0, 0 },
	{ 0, V(INT64_MIN), NONE, 0, 0 },
	{ 0, V(INT64_MIN), V(INT64_MIN), 0, 0 },
	{ 0, V(INT64_MIN), V(-6), 0, 0 },
	{ 0, V(INT64_MIN), V(-5), 0, 0 },
	{ 0, V(INT64_MIN), V(-2), 0, 0 },
	{ 0, V(INT64_MIN), V(0), 0, 0 },
	{ 0, V(INT64_MIN), V(2), 0, 0 },
	{ 0, V(INT64_MIN), V(5), 0, 0 },
	{ 0, V(INT64_MIN), V(6), 0, 0 },
	{ 0, V(INT64_MIN), V(INT64_MAX), 0, 0 },
	{ 0, V(-6), NONE, 0, 0 },
	{ 0, V(-6), V(INT64_MIN), 0, 0 },
	{ 0, V(-6), V(-6), 0, 0 },
	{ 0, V(-6), V(-5), 0, 0 },
	{ 0, V(-6), V(-2), 0, 0 },
	{ 0, V(-6), V(0), 0, 0 },
	{ 0, V(-6), V(2), 0, 0 },
	{ 0, V(-6), V(5), 0, 0 },
	{ 0, V(-6), V(6), 0, 0 },
	{ 0, V(-6), V(INT64_MAX), 0, 0 },
	{ 0, V(-5), NONE, 0, 0 },
	{ 0, V(-5), V(INT64_MIN), 0, 0 },
	{ 0, V(-5), V(-6), 0, 0 },
	{ 0, V(-5), V(-5), 0, 0 },
	{ 0, V(-5), V(-2), 0, 0 },
	{ 0, V(-5), V(0), 0, 0 },
	{ 0, V(-5), V(2), 0, 0 },
	{ 0, V(-5), V(5), 0, 0 },
	{ 0, V(-5), V(6), 0, 0 },
	{ 0, V(-5), V(INT64_MAX), 0, 0 },
	{ 0, V(-2), NONE, 0, 0 },
	{ 0, V(-2), V(INT64_MIN), 0, 0 },
	{ 0, V(-2), V(-6), 0, 0 },
	{ 0, V(-2), V(-5), 0, 0 },
	{ 0, V(-2), V(-2), 0, 0 },
	{ 0, V(-2), V(0), 0, 0 },
	{ 0, V(-2), V(2), 0, 0 },
	{ 0, V(-2), V(5), 0, 0 },
	{ 0, V(-2), V(6), 0, 0 },
	{ 0, V(-2), V(INT64_MAX), 0, 0 },
	{ 0, V(0), NONE, 0, 0 },
	{ 0, V(0), V(INT64_MIN), 0, 0 },
	{ 0, V(0), V(-6), 0, 0 },
	{ 0, V(0), V(-5), 0, 0 },
	{ 0, V(0), V(-2), 0, 0 },
	{ 0, V(0), V(0), 0, 0 },
	{ 0, V(0), V(2), 0, 0 },
	{ 0, V(0), V(5), 0, 0 },
	{ 0, V(0), V(6), 0, 0 },
	{ 0, V(0), V(INT64_MAX), 0, 0 },
	{ 0, V(2), NONE, 0, 0 },
	{ 0, V(2), V(INT64_MIN), 0, 0 },
	{ 0, V(2), V(-6), 0, 0 },
	{ 0, V(2), V(-5), 0, 0 },
	{ 0, V(2), V(-2), 0, 0 },
	{ 0, V(2), V(0), 0, 0 },
	{ 0, V(2), V(2), 0, 0 },
	{ 0, V(2), V(5), 0, 0 },
	{ 0, V(2), V(6), 0, 0 },
	{ 0, V(2), V(INT64_MAX), 0, 0 },
	{ 0, V(5), NONE, 0, 0 },
	{ 0, V(5), V(INT64_MIN), 0, 0 },
	{ 0, V(5), V(-6), 0, 0 },
	{ 0, V(5), V(-5), 0, 0 },
	{ 0, V(5), V(-2), 0, 0 },
	{ 0, V(5), V(0), 0, 0 },
	{ 0, V(5), V(2), 0, 0 },
	{ 0, V(5), V(5), 0, 0 },
	{ 0, V(5), V(6), 0, 0 },
	{ 0, V(5), V(INT64_MAX), 0, 0 },
	{ 0, V(6), NONE, 0, 0 },
	{ 0, V(6), V(INT64_MIN), 0, 0 },
	{ 0, V(6), V(-6), 0, 0 },
	{ 0, V(6), V(-5), 0, 0 },
	{ 0, V(6), V(-2), 0, 0 },
	{ 0, V(6), V(0), 0, 0 },
	{ 0, V(6), V(2), 0, 0 },
	{ 0, V(6), V(5), 0, 0 },
	{ 0, V(6), V(6), 0, 0 },
	{ 0, V(6), V(INT64_MAX), 0, 0 },
	{ 0, V(INT64_MAX), NONE, 0, 0 },
	{ 0, V(INT64_MAX), V(INT64_MIN), 0, 0 },
	{ 0, V(INT64_MAX), V(-6), 0, 0 },
	{ 0, V(INT64_MAX), V(-5), 0, 0 },
	{ 0, V(INT64_MAX), V(-2), 0, 0 },
	{ 0, V(INT64_MAX), V(0), 0, 0 },
	{ 0, V(INT64_MAX), V(2), 0, 0 },
	{ 0, V(INT64_MAX), V(5), 0, 0 },
	{ 0, V(INT64_MAX), V(6), 0, 0 },
	{ 0, V(INT64_MAX), V(INT64_MAX), 0, 0 },
	{ 1, NONE, NONE, 1, 0 },
	{ 1, NONE, V(INT64_MIN), 0, 0 },
	{ 1, NONE, V(-6), 0, 0 },
	{ 1, NONE, V(-5), 0, 0 },
	{ 1, NONE, V(-2), 0, 0 },
	{ 1, NONE, V(0), 0, 0 },
	{ 1, NONE, V(2), 1, 0 },
	{ 1, NONE, V(5), 1, 0 },
	{ 1, NONE, V(6), 1, 0 },
	{ 1, NONE, V(INT64_MAX), 1, 0 },
	{ 1, V(INT64_MIN), NONE, 1, 0 },
	{ 1, V(INT64_MIN), V(INT64_MIN), 0, 0 },
	{ 1, V(INT64_MIN), V(-6), 0, 0 },
	{ 1, V(INT64_MIN), V(-5), 0, 0 },
	{ 1, V(INT64_MIN), V(-2), 0, 0 },
	{ 1, V(INT64_MIN), V(0), 0, 0 },
	{ 1, V(INT64_MIN), V(2), 1, 0 },
	{ 1, V(INT64_MIN), V(5), 1, 0 },
	{ 1, V(INT64_MIN), V(6), 1, 0 },
	{ 1, V(INT64_MIN), V(INT64_MAX), 1, 0 },
	{ 1, V(-6), NONE, 1, 0 },
	{ 1, V(-6), V(INT64_MIN), 0, 0 },
	{ 1, V(-6), V(-6), 0, 0 },
	{ 1, V(-6), V(-5), 0, 0 },
	{ 1, V(-6), V(-2), 0, 0 },
	{ 1, V(-6), V(0), 0, 0 },
	{ 1, V(-6), V(2), 1, 0 },
	{ 1, V(-6), V(5), 1, 0 },
	{ 1, V(-6), V(6), 1, 0 },
	{ 1, V(-6), V(INT64_MAX), 1, 0 },
	{ 1, V(-5), NONE, 1, 0 },
	{ 1, V(-5), V(INT64_MIN), 0, 0 },
	{ 1, V(-5), V(-6), 0, 0 },
	{ 1, V(-5), V(-5), 0, 0 },
	{ 1, V(-5), V(-2), 0, 0 },
	{ 1, V(-5), V(0), 0, 0 },
	{ 1, V(-5), V(2), 1, 0 },
	{ 1, V(-5), V(5), 1, 0 },
	{ 1, V(-5), V(6), 1, 0 },
	{ 1, V(-5), V(INT64_MAX), 1, 0 },
	{ 1, V(-2), NONE, 1, 0 },
	{ 1, V(-2), V(INT64_MIN), 0, 0 },
	{ 1, V(-2), V(-6), 0, 0 },
	{ 1, V(-2), V(-5), 0, 0 },
	{ 1, V(-2), V(-2), 0, 0 },
	{ 1, V(-2), V(0), 0, 0 },
	{ 1, V(-2), V(2), 1, 0 },
	{ 1, V(-2), V(5), 1, 0 },
	{ 1, V(-2), V(6), 1, 0 },
	{ 1, V(-2), V(INT64_MAX), 1, 0 },
	{ 1, V(0), NONE, 1, 0 },
	{ 1, V(0), V(INT64_MIN), 0, 0 },
	{ 1, V(0), V(-6), 0, 0 },
	{ 1, V(0), V(-5), 0, 0 },
	{ 1, V(0), V(-2), 0, 0 },
	{ 1, V(0), V(0), 0, 0 },
	{ 1, V(0), V(2), 1, 0 },
	{ 1, V(0), V(5), 1, 0 },
	{ 1, V(0), V(6), 1, 0 },
	{ 1, V(0), V(INT64_MAX), 1, 0 },
	{ 1, V(2), NONE, 0, 0 },
	{ 1, V(2), V(INT64_MIN), 0, 0 },
	{ 1, V(2), V(-6), 0, 0 },
	{ 1, V(2), V(-5), 0, 0 },
	{ 1, V(2), V(-2), 0, 0 },
	{ 1, V(2), V(0), 0, 0 },
	{ 1, V(2), V(2), 0, 0 },
	{ 1, V(2), V(5), 0, 0 },
	{ 1, V(2), V(6), 0, 0 },
	{ 1, V(2), V(INT64_MAX), 0, 0 },
	{ 1, V(5), NONE, 0, 0 },
	{ 1, V(5), V(INT64_MIN), 0, 0 },
	{ 1, V(5), V(-6), 0, 0 },
	{ 1, V(5), V(-5), 0, 0 },
	{ 1, V(5), V(-2), 0, 0 },
	{ 1, V(5), V(0), 0, 0 },
	{ 1, V(5), V(2), 0, 0 },
	{ 1, V(5), V(5), 0, 0 },
	{ 1, V(5), V(6), 0, 0 },
	{ 1, V(5), V(INT64_MAX), 0, 0 },
	{ 1, V(6), NONE, 0, 0 },
	{ 1, V(6), V(INT64_MIN), 0, 0 },
	{ 1, V(6), V(-6), 0, 0 },
	{ 1, V(6), V(-5), 0, 0 },
	{ 1, V(6), V(-2), 0, 0 },
	{ 1, V(6), V(0), 0, 0 },
	{ 1, V(6), V(2), 0, 0 },
	{ 1, V(6), V(5), 0, 0 },
	{ 1, V(6), V(6), 0, 0 },
	{ 1, V(6), V(INT64_MAX), 0, 0 },
	{ 1, V(INT64_MAX), NONE, 0, 0 },
	{ 1, V(INT64_MAX), V(INT64_MIN), 0, 0 },
	{ 1, V(INT64_MAX), V(-6), 0, 0 },
	{ 1, V(INT64_MAX), V(-5), 0, 0 },
	{ 1, V(INT64_MAX), V(-2), 0, 0 },
	{ 1, V(INT64_MAX), V(0), 0, 0 },
	{ 1, V(INT64_MAX), V(2), 0, 0 },
	{ 1, V(INT64_MAX), V(5), 0, 0 },
	{ 1, V(INT64_MAX), V(6), 0, 0 },
	{ 1, V(INT64_MAX), V(INT64_MAX), 0, 0 },
	{ 5, NONE, NONE, 5, 0 },
	{ 5, NONE, V(INT64_MIN), 0, 0 },
	{ 5, NONE, V(-6), 0, 0 },
	{ 5, NONE, V(-5), 0, 0 },
	{ 5, NONE, V(-2), 3, 0 },
	{ 5, NONE, V(0), 0, 0 },
	{ 5, NONE, V(2), 2, 0 },
	{ 5, NONE, V(5), 5, 0 },
	{ 5, NONE, V(6), 5, 0 },
	{ 5, NONE, V(INT64_MAX), 5, 0 },
	{ 5, V(INT64_MIN), NONE, 5, 0 },
	{ 5, V(INT64_MIN), V(INT64_MIN), 0, 0 },
	{ 5, V(INT64_MIN), V(-6), 0, 0 },
	{ 5, V(INT64_MIN), V(-5), 0, 0 },
	{ 5, V(INT64_MIN), V(-2), 3, 0 },
	{ 5, V(INT64_MIN), V(0), 0, 0 },
	{ 5, V(INT64_MIN), V(2), 2, 0 },
	{ 5, V(INT64_MIN), V(5), 5, 0 },
	{ 5, V(INT64_MIN), V(6), 5, 0 },
	{ 5, V(INT64_MIN), V(INT64_MAX), 5, 0 },
	{ 5, V(-6), NONE, 5, 0 },
	{ 5, V(-6), V(INT64_MIN), 0, 0 },
	{ 5, V(-6), V(-6), 0, 0 },
	{ 5, V(-6), V(-5), 0, 0 },
	{ 5, V(-6), V(-2), 3, 0 },
	{ 5, V(-6), V(0), 0, 0 },
	{ 5, V(-6), V(2), 2, 0 },
	{ 5, V(-6), V(5), 5, 0 },
	{ 5, V(-6), V(6), 5, 0 },
	{ 5, V(-6), V(INT64_MAX), 5, 0 },
	{ 5, V(-5), NONE, 5, 0 },
	{ 5, V(-5), V(INT64_MIN), 0, 0 },
	{ 5, V(-5), V(-6), 0, 0 },
	{ 5, V(-5), V(-5), 0, 0 },
	{ 5, V(-5), V(-2), 3, 0 },
	{ 5, V(-5), V(0), 0, 0 },
	{ 5, V(-5), V(2), 2, 0 },
	{ 5, V(-5), V(5), 5, 0 },
	{ 5, V(-5), V(6), 5, 0 },
	{ 5, V(-5), V(INT64_MAX), 5, 0 },
	{ 5, V(-2), NONE, 2, 3 },
	{ 5, V(-2), V(INT64_MIN), 0, 0 },
	{ 5, V(-2), V(-6), 0, 0 },
	{ 5, V(-2), V(-5), 0, 0 },
	{ 5, V(-2), V(-2), 0, 0 },
	{ 5, V(-2), V(0), 0, 0 },
	{ 5, V(-2), V(2), 0, 0 },
	{ 5, V(-2), V(5), 2, 3 },
	{ 5, V(-2), V(6), 2, 3 },
	{ 5, V(-2), V(INT64_MAX), 2, 3 },
	{ 5, V(0), NONE, 5, 0 },
	{ 5, V(0), V(INT64_MIN), 0, 0 },
	{ 5, V(0), V(-6), 0, 0 },
	{ 5, V(0), V(-5), 0, 0 },
	{ 5, V(0), V(-2), 3, 0 },
	{ 5, V(0), V(0), 0, 0 },
	{ 5, V(0), V(2), 2, 0 },
	{ 5, V(0), V(5), 5, 0 },
	{ 5, V(0), V(6), 5, 0 },
	{ 5, V(0), V(INT64_MAX), 5, 0 },
	{ 5, V(2), NONE, 3, 2 },
	{ 5, V(2), V(INT64_MIN), 0, 0 },
	{ 5, V(2), V(-6), 0, 0 },
	{ 5, V(2), V(-5), 0, 0 },
	{ 5, V(2), V(-2), 1, 2 },
	{ 5, V(2), V(0), 0, 0 },
	{ 5, V(2), V(2), 0, 0 },
	{ 5, V(2), V(5), 3, 2 },
	{ 5, V(2), V(6), 3, 2 },
	{ 5, V(2), V(INT64_MAX), 3, 2 },
	{ 5, V(5), NONE, 0, 0 },
	{ 5, V(5), V(INT64_MIN), 0, 0 },
	{ 5, V(5), V(-6), 0, 0 },
	{ 5, V(5), V(-5), 0, 0 },
	{ 5, V(5), V(-2), 0, 0 },
	{ 5, V(5), V(0), 0, 0 },
	{ 5, V(5), V(2), 0, 0 },
	{ 5, V(5), V(5), 0, 0 },
	{ 5, V(5), V(6), 0, 0 },
	{ 5, V(5), V(INT64_MAX), 0, 0 },
	{ 5, V(6), NONE, 0, 0 },
	{ 5, V(6), V(INT64_MIN), 0, 0 },
	{ 5, V(6), V(-6), 0, 0 },
	{ 5, V(6), V(-5), 0, 0 },
	{ 5, V(6), V(-2), 0, 0 },
	{ 5, V(6), V(0), 0, 0 },
	{ 5, V(6), V(2), 0, 0 },
	{ 5, V(6), V(5), 0, 0 },
	{ 5, V(6), V(6), 0, 0 },
	{ 5, V(6), V(INT64_MAX), 0, 0 },
	{ 5, V(INT64_MAX), NONE, 0, 0 },
	{ 5, V(INT64_MAX), V(INT64_MIN), 0, 0 },
	{ 5, V(INT64_MAX), V(-6), 0, 0 },
	{ 5, V(INT64_MAX), V(-5), 0, 0 },
	{ 5, V(INT64_MAX), V(-2), 0, 0 },
	{ 5, V(INT64_MAX), V(0), 0, 0 },
	{ 5, V(INT64_MAX), V(2), 0, 0 },
	{ 5, V(INT64_MAX), V(5), 0, 0 },
	{ 5, V(INT64_MAX), V(6), 0, 0 },
	{ 5, V(INT64_MAX), V(INT64_MAX), 0, 0 },
};

/* [7, 8, 7, 9, 7].index(7, start, stop), -1 for ValueError: {start, stop, at} */
static const struct index_case index_cases[] = {
	{ INT64_MIN, INT64_MIN, -1 },
	{ INT64_MIN, -6, -1 },
	{ INT64_MIN, -3, 0 },
	{ INT64_MIN, -1, 0 },
	{ INT64_MIN, 0, -1 },
	{ INT64_MIN, 1, 0 },
	{ INT64_MIN, 3, 0 },
	{ INT64_MIN, 4, 0 },
	{ INT64_MIN, 5, 0 },
	{ INT64_MIN, 6, 0 },
	{ INT64_MIN, INT64_MAX, 0 },
	{ -6, INT64_MIN, -1 },
	{ -6, -6, -1 },
	{ -6, -3, 0 },
	{ -6, -1, 0 },
	{ -6, 0, -1 },
	{ -6, 1, 0 },
	{ -6, 3, 0 },
	{ -6, 4, 0 },
	{ -6, 5, 0 },
	{ -6, 6, 0 },
	{ -6, INT64_MAX, 0 },
	{ -5, INT64_MIN, -1 },
	{ -5, -6, -1 },
	{ -5, -3, 0 },
	{ -5, -1, 0 },
	{ -5, 0, -1 },
	{ -5, 1, 0 },
	{ -5, 3, 0 },
	{ -5, 4, 0 },
	{ -5, 5, 0 },
	{ -5, 6, 0 },
	{ -5, INT64_MAX, 0 },
	{ -3, INT64_MIN, -1 },
	{ -3, -6, -1 },
	{ -3, -3, -1 },
	{ -3, -1, 2 },
	{ -3, 0, -1 },
	{ -3, 1, -1 },
	{ -3, 3, 2 },
	{ -3, 4, 2 },
	{ -3, 5, 2 },
	{ -3, 6, 2 },
	{ -3, INT64_MAX, 2 },
	{ -1, INT64_MIN, -1 },
	{ -1, -6, -1 },
	{ -1, -3, -1 },
	{ -1, -1, -1 },
	{ -1, 0, -1 },
	{ -1, 1, -1 },
	{ -1, 3, -1 },
	{ -1, 4, -1 },
	{ -1, 5, 4 },
	{ -1, 6, 4 },
	{ -1, INT64_MAX, 4 },
	{ 0, INT64_MIN, -1 },
	{ 0, -6, -1 },
	{ 0, -3, 0 },
	{ 0, -1, 0 },
	{ 0, 0, -1 },
	{ 0, 1, 0 },
	{ 0, 3, 0 },
	{ 0, 4, 0 },
	{ 0, 5, 0 },
	{ 0, 6, 0 },
	{ 0, INT64_MAX, 0 },
	{ 1, INT64_MIN, -1 },
	{ 1, -6, -1 },
	{ 1, -3, -1 },
	{ 1, -1, 2 },
	{ 1, 0, -1 },
	{ 1, 1, -1 },
	{ 1, 3, 2 },
	{ 1, 4, 2 },
	{ 1, 5, 2 },
	{ 1, 6, 2 },
	{ 1, INT64_MAX, 2 },
	{ 2, INT64_MIN, -1 },
	{ 2, -6, -1 },
	{ 2, -3, -1 },
	{ 2, -1, 2 },
	{ 2, 0, -1 },
	{ 2, 1, -1 },
	{ 2, 3, 2 },
	{ 2, 4, 2 },
	{ 2, 5, 2 },
	{ 2, 6, 2 },
	{ 2, INT64_MAX, 2 },
	{ 3, INT64_MIN, -1 },
	{ 3, -6, -1 },
	{ 3, -3, -1 },
	{ 3, -1, -1 },
	{ 3, 0, -1 },
	{ 3, 1, -1 },
	{ 3, 3, -1 },
	{ 3, 4, -1 },
	{ 3, 5, 4 },
	{ 3, 6, 4 },
	{ 3, INT64_MAX, 4 },
	{ 5, INT64_MIN, -1 },
	{ 5, -6, -1 },
	{ 5, -3, -1 },
	{ 5, -1, -1 },
	{ 5, 0, -1 },
	{ 5, 1, -1 },
	{ 5, 3, -1 },
	{ 5, 4, -1 },
	{ 5, 5, -1 },
	{ 5, 6, -1 },
	{ 5, INT64_MAX, -1 },
	{ 6, INT64_MIN, -1 },
	{ 6, -6, -1 },
	{ 6, -3, -1 },
	{ 6, -1, -1 },
	{ 6, 0, -1 },
	{ 6, 1, -1 },
	{ 6, 3, -1 },
	{ 6, 4, -1 },
	{ 6, 5, -1 },
	{ 6, 6, -1 },
	{ 6, INT64_MAX, -1 },
	{ INT64_MAX, INT64_MIN, -1 },
	{ INT64_MAX, -6, -1 },
	{ INT64_MAX, -3, -1 },
	{ INT64_MAX, -1, -1 },
	{ INT64_MAX, 0, -1 },
	{ INT64_MAX, 1, -1 },
	{ INT64_MAX, 3, -1 },
	{ INT64_MAX, 4, -1 },
	{ INT64_MAX, 5, -1 },
	{ INT64_MAX, 6, -1 },
	{ INT64_MAX, INT64_MAX, -1 },
};

/* Item indexes, negative ones included, match Python's IndexError rules. */
static void test_norm_index(void **state)
{
	for (size_t k = 0; k < COUNT(norm_cases); k++) {
		const struct norm_case *c = &norm_cases[k];
		size_t out = 12345;
		int rc = list_norm_index(c->i, c->len, &out);
		assert_int_equal(rc, c->ok ? 0 : -1);
		if (c->ok)
			assert_int_equal(out, c->item);
	}
}

/* insert never fails: it clamps to the ends. */
static void test_insert_pos(void **state)
{
	for (size_t k = 0; k < COUNT(insert_cases); k++)
		assert_int_equal(list_insert_pos(insert_cases[k].i, insert_cases[k].len), insert_cases[k].pos);
}

/* items[start:stop] has Python's length and first item. */
static void test_slice(void **state)
{
	for (size_t k = 0; k < COUNT(slice_cases); k++) {
		const struct slice_case *c = &slice_cases[k];
		size_t lo = 99, hi = 99;
		list_slice(c->has_start ? &c->start : NULL, c->has_stop ? &c->stop : NULL, c->len, &lo, &hi);
		assert_true(lo <= hi && hi <= c->len);
		assert_int_equal(hi - lo, c->count);
		if (c->count)
			assert_int_equal(lo, c->first);
	}
}

/* A list of int values, for the search tests. */
static void make_list(struct deque *d, const int *items, size_t n)
{
	deque_init(d);
	for (size_t i = 0; i < n; i++) {
		msgpack_object o = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = (uint64_t)items[i] };
		struct value *v;
		assert_int_equal(value_new(&o, &v), 0);
		assert_int_equal(deque_push_back(d, v), 0);
	}
}

static void free_list(struct deque *d)
{
	while (deque_len(d))
		value_free(deque_pop_front(d));
	deque_free(d);
}

/* list.index(value, start, stop) searches the slice bounds, like Python. */
static void test_index(void **state)
{
	static const int items[] = { 7, 8, 7, 9, 7 };
	struct deque d;
	make_list(&d, items, 5);
	msgpack_object seven = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 7 };
	for (size_t k = 0; k < COUNT(index_cases); k++) {
		size_t lo, hi;
		list_slice(&index_cases[k].start, &index_cases[k].stop, deque_len(&d), &lo, &hi);
		assert_int_equal(list_find(&d, &seven, lo, hi), index_cases[k].at);
	}
	free_list(&d);
}

/* Equality is canonical: a negative-typed 7 or an int8 7 finds a stored 7,
 * a float 7.0 does not. */
static void test_find_count_canonical(void **state)
{
	static const int items[] = { 7, 8, 7, 9, 7 };
	struct deque d;
	make_list(&d, items, 5);
	msgpack_object neg7 = { .type = MSGPACK_OBJECT_NEGATIVE_INTEGER, .via.i64 = 7 };
	msgpack_object f7 = { .type = MSGPACK_OBJECT_FLOAT64, .via.f64 = 7.0 };
	msgpack_object nine = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 9 };
	assert_int_equal(list_find(&d, &neg7, 0, 5), 0);
	assert_int_equal(list_count(&d, &neg7), 3);
	assert_int_equal(list_find(&d, &f7, 0, 5), -1);
	assert_int_equal(list_count(&d, &f7), 0);
	assert_int_equal(list_find(&d, &nine, 0, 5), 3);
	assert_int_equal(list_find(&d, &nine, 0, 3), -1);
	free_list(&d);
}

/* A large needle (over the on-stack buffer) compares the same way. */
static void test_find_large(void **state)
{
	static char big[1000];
	msgpack_object s = { .type = MSGPACK_OBJECT_STR, .via.str = { sizeof(big), big } };
	msgpack_object t = s;
	struct value *v;
	struct deque d;
	deque_init(&d);
	assert_int_equal(value_new(&s, &v), 0);
	assert_int_equal(deque_push_back(&d, v), 0);
	assert_int_equal(list_find(&d, &s, 0, 1), 0);
	t.via.str.size--;
	assert_int_equal(list_find(&d, &t, 0, 1), -1);
	free_list(&d);
}

/* Ints above INT64_MAX clamp: as an index or bound they mean "past the end". */
static void test_arg_int(void **state)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = UINT64_MAX };
	assert_true(list_arg_int(&o) == INT64_MAX);
	o.via.u64 = 5;
	assert_int_equal(list_arg_int(&o), 5);
	o.type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
	o.via.i64 = INT64_MIN;
	assert_true(list_arg_int(&o) == INT64_MIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_norm_index),
		cmocka_unit_test(test_insert_pos),
		cmocka_unit_test(test_slice),
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_find_count_canonical),
		cmocka_unit_test(test_find_large),
		cmocka_unit_test(test_arg_int),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
