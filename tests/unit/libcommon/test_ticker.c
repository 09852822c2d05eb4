/*
 * Unit tests for tickers (ticker.c): the first tick comes at once, the next after the wait the
 * tick asked for, and st_ticker_destroy ends a long wait at once, after which the tick is not
 * called again.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "strata/ticker.h"

Suite *ticker_suite(void);

struct counter {
	atomic_int ticks;
	int wait_ms;
};

static int
count_tick(void *ctx)
{
	struct counter *c = ctx;

	atomic_fetch_add(&c->ticks, 1);
	return c->wait_ms;
}

/* Waits (at most 2 s) until c has ticked n times. */
static bool
wait_ticks(struct counter *c, int n)
{
	for (int i = 0; i < 2000 && atomic_load(&c->ticks) < n; i++)
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	return atomic_load(&c->ticks) >= n;
}

START_TEST(ticker_first_tick_at_once_then_each_wait)
{
	struct counter c = { .wait_ms = 20 };
	struct st_ticker *t = NULL;
	int64_t start = st_now_mono_ms();

	ck_assert_int_eq(st_ticker_create(count_tick, &c, &t), ST_OK);
	ck_assert_ptr_nonnull(t);
	ck_assert(wait_ticks(&c, 1));
	ck_assert(wait_ticks(&c, 3));
	ck_assert_int_ge(st_now_mono_ms() - start, 40); /* two waits of 20 ms came between */
	st_ticker_destroy(t);
}
END_TEST

START_TEST(ticker_destroy_ends_a_long_wait)
{
	struct counter c = { .wait_ms = 3600 * 1000 };
	struct st_ticker *t = NULL;
	int64_t start;

	ck_assert_int_eq(st_ticker_create(count_tick, &c, &t), ST_OK);
	ck_assert(wait_ticks(&c, 1));
	start = st_now_mono_ms();
	st_ticker_destroy(t);
	ck_assert_int_lt(st_now_mono_ms() - start, 1000);
	ck_assert_int_eq(atomic_load(&c.ticks), 1); /* not called again */
}
END_TEST

START_TEST(ticker_destroy_null)
{
	st_ticker_destroy(NULL);
}
END_TEST

Suite *
ticker_suite(void)
{
	Suite *s = suite_create("ticker");
	TCase *tc = tcase_create("ticker");

	tcase_add_test(tc, ticker_first_tick_at_once_then_each_wait);
	tcase_add_test(tc, ticker_destroy_ends_a_long_wait);
	tcase_add_test(tc, ticker_destroy_null);
	suite_add_tcase(s, tc);
	return s;
}
