/*
 * Unit tests for the GCRA arithmetic of ratelimit.c (gw_gcra_step, the C twin of its Lua
 * script): the shared table of cases (gcra_cases.h, which the integration test runs through
 * the script in the real Redis), then sequences of steps: a burst used up and refilled, and
 * the health class's rate.
 */
#include <check.h>

#include "gateway/authn_int.h"
#include "gateway/gcra_cases.h"

#define NOW    GCRA_NOW
#define MINUTE GCRA_MINUTE

START_TEST(case_table)
{
	const struct gcra_case *c = &gcra_cases[_i];
	struct gw_gcra g = gw_gcra_step(c->now_us, c->stored_us, c->period_us, c->burst);

	ck_assert_msg(g.allowed == c->allowed, "%s: allowed %d", c->name, g.allowed);
	ck_assert_msg(g.tat_us == c->tat_us, "%s: tat %lld", c->name, (long long)g.tat_us);
	ck_assert_msg(g.remaining == c->remaining, "%s: remaining %lld", c->name,
		      (long long)g.remaining);
	ck_assert_msg(g.reset_us == c->reset_us, "%s: reset %lld", c->name, (long long)g.reset_us);
	ck_assert_msg(g.retry_us == c->retry_us, "%s: retry %lld", c->name, (long long)g.retry_us);
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

	tcase_add_loop_test(tc, case_table, 0, (int)ST_ARRAY_LEN(gcra_cases));
	tcase_add_test(tc, burst_exhausted_then_refill);
	tcase_add_test(tc, health_class_rate);
	suite_add_tcase(s, tc);
	return s;
}
