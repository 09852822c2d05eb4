/*
 * One table of GCRA cases for both implementations of the rate limiter's step: the unit test
 * (test_gw_ratelimit.c) runs it against gw_gcra_step, the C formula, and the integration test
 * (tests/integration/21_ratelimit.c) runs the same rows through the gateway's Lua script in
 * the real Redis (ARGV[3] fixes its clock to now_us). Each row: the state before (stored TAT,
 * 0 for no key), the class (period, burst), and what the step must answer. For the script,
 * `allowed` is its verdict and, when allowed, tat_us is what it stores (a refusal stores
 * nothing); remaining, reset and retry are derived in C from what the script returns.
 */
#ifndef STRATA_TESTS_GCRA_CASES_H
#define STRATA_TESTS_GCRA_CASES_H

#include <stdbool.h>
#include <stdint.h>

#define GCRA_NOW    1767225600000000LL /* 2026-01-01T00:00:00Z in microseconds */
#define GCRA_MINUTE 60000000LL
#define GCRA_P100   (GCRA_MINUTE / 100) /* the period of 100 a minute */

struct gcra_case {
	const char *name;
	int64_t now_us, stored_us, period_us, burst;
	bool allowed;
	int64_t tat_us, remaining, reset_us, retry_us;
};

static const struct gcra_case gcra_cases[] = {
	{ "first request", GCRA_NOW, 0, GCRA_P100, 100, true, GCRA_NOW + GCRA_P100, 99, GCRA_P100,
	  0 },
	{ "a stored TAT in the past counts as none", GCRA_NOW, GCRA_NOW - 10000000, GCRA_P100, 100,
	  true, GCRA_NOW + GCRA_P100, 99, GCRA_P100, 0 },
	{ "ten used: 89 left after this one", GCRA_NOW, GCRA_NOW + 10 * GCRA_P100, GCRA_P100, 100,
	  true, GCRA_NOW + 11 * GCRA_P100, 89, 11 * GCRA_P100, 0 },
	{ "the last one of the burst", GCRA_NOW, GCRA_NOW + GCRA_MINUTE - GCRA_P100, GCRA_P100, 100,
	  true, GCRA_NOW + GCRA_MINUTE, 0, GCRA_MINUTE, 0 },
	{ "burst used up: refused, one period to wait", GCRA_NOW, GCRA_NOW + GCRA_MINUTE, GCRA_P100,
	  100, false, GCRA_NOW + GCRA_MINUTE, 0, GCRA_MINUTE, GCRA_P100 },
	{ "half a period later: half the wait left", GCRA_NOW + GCRA_P100 / 2,
	  GCRA_NOW + GCRA_MINUTE, GCRA_P100, 100, false, GCRA_NOW + GCRA_MINUTE, 0,
	  GCRA_MINUTE - GCRA_P100 / 2, GCRA_P100 / 2 },
	{ "one microsecond before the refill", GCRA_NOW + GCRA_P100 - 1, GCRA_NOW + GCRA_MINUTE,
	  GCRA_P100, 100, false, GCRA_NOW + GCRA_MINUTE, 0, GCRA_MINUTE - GCRA_P100 + 1, 1 },
	{ "exactly one period later: one more", GCRA_NOW + GCRA_P100, GCRA_NOW + GCRA_MINUTE,
	  GCRA_P100, 100, true, GCRA_NOW + GCRA_MINUTE + GCRA_P100, 0, GCRA_MINUTE, 0 },
	{ "a minute of silence refills the burst", GCRA_NOW + GCRA_P100 + GCRA_MINUTE,
	  GCRA_NOW + GCRA_MINUTE + GCRA_P100, GCRA_P100, 100, true,
	  GCRA_NOW + GCRA_MINUTE + 2 * GCRA_P100, 99, GCRA_P100, 0 },
	{ "clock an hour back: clamped to one burst", GCRA_NOW, GCRA_NOW + 60 * GCRA_MINUTE,
	  GCRA_P100, 100, false, GCRA_NOW + GCRA_MINUTE, 0, GCRA_MINUTE, GCRA_P100 },
	{ "one microsecond past the clamp", GCRA_NOW, GCRA_NOW + GCRA_MINUTE + 1, GCRA_P100, 100,
	  false, GCRA_NOW + GCRA_MINUTE, 0, GCRA_MINUTE, GCRA_P100 },
	{ "clock five seconds back: a partly used burst", GCRA_NOW, GCRA_NOW + 5000000, GCRA_P100,
	  100, true, GCRA_NOW + 5000000 + GCRA_P100, 90, 5000000 + GCRA_P100, 0 },
	{ "a limit of one: the first", GCRA_NOW, 0, GCRA_MINUTE, 1, true, GCRA_NOW + GCRA_MINUTE, 0,
	  GCRA_MINUTE, 0 },
	{ "a limit of one: the second, at once", GCRA_NOW + 1, GCRA_NOW + GCRA_MINUTE, GCRA_MINUTE,
	  1, false, GCRA_NOW + GCRA_MINUTE, 0, GCRA_MINUTE - 1, GCRA_MINUTE - 1 },
	{ "a limit of one: a minute later", GCRA_NOW + GCRA_MINUTE, GCRA_NOW + GCRA_MINUTE,
	  GCRA_MINUTE, 1, true, GCRA_NOW + 2 * GCRA_MINUTE, 0, GCRA_MINUTE, 0 },
	{ "the health class's 200: the first", GCRA_NOW, 0, GCRA_MINUTE / 200, 200, true,
	  GCRA_NOW + GCRA_MINUTE / 200, 199, GCRA_MINUTE / 200, 0 },
	/* periods of 7 s, not a divisor of the minute (and long enough for the script's key to
	 * outlive the test's look at it) */
	{ "an odd period, clamped and refused", GCRA_NOW, GCRA_NOW + 12345000000LL, 7000000, 3,
	  false, GCRA_NOW + 21000000, 0, 21000000, 7000000 },
	{ "an odd period, room left", GCRA_NOW, GCRA_NOW + 6000000, 7000000, 3, true,
	  GCRA_NOW + 13000000, 1, 13000000, 0 },
};

#endif
