/*
 * Unit tests for the GCRA arithmetic of ratelimit.c (gw_gcra_step, the C twin of its Lua
 * script): the first request, a burst used up, the refill one period later, a full refill, the
 * clock going backwards, and a limit of one.
 */
#include <check.h>

#include "gateway/authn_int.h"

#define NOW    1767225600000000LL /* 2026-01-01T00:00:00Z in microseconds */
#define MINUTE 60000000LL

START_TEST(first_request)
{
	int64_t period = MINUTE / 100;
	struct gw_gcra g = gw_gcra_step(NOW, 0, period, 100);

	ck_assert(g.allowed);
	ck_assert_int_eq(g.remaining, 99);
	ck_assert_int_eq(g.tat_us, NOW + period);
	ck_assert_int_eq(g.reset_us, period);
	ck_assert_int_eq(g.retry_us, 0);
}
END_TEST

START_TEST(burst_exhausted_then_refill)
{
	int64_t period = MINUTE / 100, tat = 0;
	struct gw_gcra g;

	/* a whole minute's worth at once */
	for (int i = 0; i < 100; i++) {
		g = gw_gcra_step(NOW, tat, period, 100);
		ck_assert_msg(g.allowed, "request %d refused", i + 1);
		ck_assert_int_eq(g.remaining, 99 - i);
		tat = g.tat_us;
	}
	ck_assert_int_eq(tat, NOW + MINUTE);
	g = gw_gcra_step(NOW, tat, period, 100);
	ck_assert(!g.allowed);
	ck_assert_int_eq(g.remaining, 0);
	ck_assert_int_eq(g.retry_us, period);
	ck_assert_int_eq(g.reset_us, MINUTE);
	ck_assert_int_eq(g.tat_us, tat); /* a refusal stores nothing new */

	/* half a period later: still refused, half the wait left */
	g = gw_gcra_step(NOW + period / 2, tat, period, 100);
	ck_assert(!g.allowed);
	ck_assert_int_eq(g.retry_us, period / 2);

	/* one period later: exactly one more */
	g = gw_gcra_step(NOW + period, tat, period, 100);
	ck_assert(g.allowed);
	ck_assert_int_eq(g.remaining, 0);
	tat = g.tat_us;
	g = gw_gcra_step(NOW + period, tat, period, 100);
	ck_assert(!g.allowed);

	/* a minute of silence refills the whole burst */
	g = gw_gcra_step(NOW + period + MINUTE, tat, period, 100);
	ck_assert(g.allowed);
	ck_assert_int_eq(g.remaining, 99);
}
END_TEST

START_TEST(partial_use)
{
	int64_t period = MINUTE / 100;
	/* 10 requests' worth of TAT ahead: 89 left after this one */
	struct gw_gcra g = gw_gcra_step(NOW, NOW + 10 * period, period, 100);

	ck_assert(g.allowed);
	ck_assert_int_eq(g.remaining, 89);
	ck_assert_int_eq(g.reset_us, 11 * period);
}
END_TEST

START_TEST(clock_backwards)
{
	int64_t period = MINUTE / 100;
	struct gw_gcra g;

	/* a TAT an hour ahead (the clock stepped back an hour): clamped to one full burst, so the
	 * caller waits one period, not an hour */
	g = gw_gcra_step(NOW, NOW + 60 * MINUTE, period, 100);
	ck_assert(!g.allowed);
	ck_assert_int_eq(g.retry_us, period);
	ck_assert_int_eq(g.reset_us, MINUTE);
	ck_assert_int_eq(g.tat_us, NOW + MINUTE);

	/* a small step back behaves like a partly used burst */
	g = gw_gcra_step(NOW, NOW + 5000000, period, 100);
	ck_assert(g.allowed);
	ck_assert_int_eq(g.remaining, 90);
}
END_TEST

START_TEST(limit_of_one)
{
	struct gw_gcra g = gw_gcra_step(NOW, 0, MINUTE, 1);

	ck_assert(g.allowed);
	ck_assert_int_eq(g.remaining, 0);
	g = gw_gcra_step(NOW + 1, g.tat_us, MINUTE, 1);
	ck_assert(!g.allowed);
	ck_assert_int_eq(g.retry_us, MINUTE - 1);
	g = gw_gcra_step(NOW + MINUTE, NOW + MINUTE, MINUTE, 1);
	ck_assert(g.allowed);
}
END_TEST

START_TEST(health_class_rate)
{
	int64_t period = MINUTE / 200, tat = 0;
	struct gw_gcra g;
	int allowed = 0;

	/* 250 requests spread evenly over a minute at the health class's 200: the burst covers
	 * the first ones and the refill the rest */
	for (int i = 0; i < 250; i++) {
		g = gw_gcra_step(NOW + i * (MINUTE / 250), tat, period, 200);
		if (g.allowed) {
			allowed++;
			tat = g.tat_us;
		}
	}
	ck_assert_int_eq(allowed, 250);
	/* but 400 at once: exactly 200 */
	tat = 0;
	allowed = 0;
	for (int i = 0; i < 400; i++) {
		g = gw_gcra_step(NOW, tat, period, 200);
		if (g.allowed) {
			allowed++;
			tat = g.tat_us;
		}
	}
	ck_assert_int_eq(allowed, 200);
}
END_TEST

Suite *
gw_ratelimit_suite(void)
{
	Suite *s = suite_create("gw_ratelimit");
	TCase *tc = tcase_create("gcra");

	tcase_add_test(tc, first_request);
	tcase_add_test(tc, burst_exhausted_then_refill);
	tcase_add_test(tc, partial_use);
	tcase_add_test(tc, clock_backwards);
	tcase_add_test(tc, limit_of_one);
	tcase_add_test(tc, health_class_rate);
	suite_add_tcase(s, tc);
	return s;
}
