/*
 * test_rate.c: the per-second op counter on a clock the test moves: the
 * rate reads the last whole second, rolls on the first op of a new second,
 * and reads 0 once a whole second passed without ops, without any tick.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "rate.h"

static void ticks(struct rate *r, uint64_t sec, unsigned n)
{
	while (n--)
		rate_tick(r, sec);
}

static void test_rate_reads_the_last_whole_second(void **state)
{
	struct rate r = { 0 };
	assert_int_equal(rate_get(&r, 100), 0);
	ticks(&r, 100, 5);
	assert_int_equal(rate_get(&r, 100), 0);      /* second 100 is not over */
	assert_int_equal(rate_get(&r, 101), 5);      /* ... now it is */
	ticks(&r, 101, 3);
	assert_int_equal(rate_get(&r, 101), 5);
	assert_int_equal(rate_get(&r, 102), 3);
	assert_int_equal(rate_get(&r, 103), 0);      /* a whole second without ops */
	assert_int_equal(rate_get(&r, 5000), 0);
}

static void test_rate_forgets_a_gap(void **state)
{
	struct rate r = { 0 };
	ticks(&r, 10, 7);
	ticks(&r, 12, 2);                            /* second 11 had none */
	assert_int_equal(rate_get(&r, 12), 0);
	assert_int_equal(rate_get(&r, 13), 2);
	ticks(&r, 13, 1);
	assert_int_equal(rate_get(&r, 13), 2);
}

static void test_rate_saturates(void **state)
{
	struct rate r = { .sec = 1, .ops_cur = UINT32_MAX - 1 };
	ticks(&r, 1, 3);
	assert_int_equal(rate_get(&r, 2), UINT32_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_reads_the_last_whole_second),
		cmocka_unit_test(test_rate_forgets_a_gap),
		cmocka_unit_test(test_rate_saturates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
