/*
 * Unit tests for the pure parts of httpc.c: which methods may be retried, and the back-off
 * schedule (doubling per attempt, +-25% jitter supplied by the caller, never above 10 s). No
 * request is made.
 */
#include <check.h>

#include "strata/httpc.h"

Suite *httpc_suite(void);

static const struct {
	const char *method;
	bool idempotent;
} methods[] = {
	{ "GET", true },     { "HEAD", true },  { "PUT", true },    { "DELETE", true },
	{ "OPTIONS", true }, { "POST", false }, { "PATCH", false }, { "CONNECT", false },
	{ "TRACE", false },  { "get", false },  { "Get", false },   { "", false },
	{ "GETX", false },   { "GE", false },   { "GET ", false },  { " GET", false },
};

START_TEST(idempotent_table)
{
	ck_assert_msg(st_httpc_idempotent(methods[_i].method) == methods[_i].idempotent, "'%s'",
		      methods[_i].method);
}
END_TEST

/* jitter 0.5 is the midpoint: no change */
static const struct {
	int base, attempt;
	double jitter;
	int want;
} schedule[] = {
	/* doubling */
	{ 100, 1, 0.5, 100 },
	{ 100, 2, 0.5, 200 },
	{ 100, 3, 0.5, 400 },
	{ 100, 4, 0.5, 800 },
	{ 50, 5, 0.5, 800 },
	/* jitter: -25% at 0, +25% just under 1 (binary fractions, so the products are exact) */
	{ 100, 1, 0.0, 75 },
	{ 100, 1, 0.25, 87 },
	{ 100, 1, 0.75, 112 },
	{ 100, 1, 255 / 256.0, 124 },
	{ 400, 2, 0.0, 600 },
	{ 400, 2, 255 / 256.0, 998 },
	/* the 10 s cap, before and after jitter */
	{ 1000, 4, 0.5, 8000 },
	{ 1000, 4, 255 / 256.0, 9984 },
	{ 1000, 5, 0.5, 10000 },
	{ 1000, 5, 0.0, 10000 },
	{ 10000, 1, 255 / 256.0, 10000 },
	{ 10000, 1, 0.0, 7500 },
	{ 8000, 1, 255 / 256.0, 9984 },
	{ 9000, 1, 255 / 256.0, 10000 },
	{ 50, 30, 0.5, 10000 },
	{ 1, 1000, 255 / 256.0, 10000 },
	{ 2147483647, 1, 0.5, 10000 },
	{ 2147483647, 40, 0.0, 10000 },
	/* edges */
	{ 0, 3, 0.5, 0 },
	{ 100, 0, 0.5, 100 },
	{ 1, 1, 0.0, 0 },
};

START_TEST(backoff_table)
{
	int got = st_httpc_backoff_ms(schedule[_i].base, schedule[_i].attempt, schedule[_i].jitter);

	ck_assert_msg(got == schedule[_i].want, "base %d attempt %d jitter %g: %d, want %d",
		      schedule[_i].base, schedule[_i].attempt, schedule[_i].jitter, got,
		      schedule[_i].want);
}
END_TEST

START_TEST(backoff_bounds)
{
	static const int bases[] = { 1, 10, 50, 100, 250, 1000, 3000, 10000 };

	for (size_t b = 0; b < ST_ARRAY_LEN(bases); b++) {
		for (int attempt = 1; attempt <= 20; attempt++) {
			double nominal = bases[b];
			int prev = -1;

			for (int i = 1; i < attempt; i++)
				nominal *= 2;
			for (int j = 0; j < 256; j++) {
				double jitter = j / 256.0; /* what st_httpc_do passes */
				int got = st_httpc_backoff_ms(bases[b], attempt, jitter);
				double lo = nominal * 0.75, hi = nominal * 1.25;

				ck_assert_int_le(got, 10000);
				ck_assert_int_ge(got, 0);
				/* within +-25% of base * 2^(attempt-1), unless capped */
				if (hi <= 10000) {
					ck_assert_msg(got >= (int)lo && got <= hi,
						      "base %d attempt %d jitter %g: %d", bases[b],
						      attempt, jitter, got);
				}
				/* more jitter never waits less */
				ck_assert_int_ge(got, prev);
				prev = got;
			}
		}
	}
}
END_TEST

START_TEST(backoff_grows_with_attempts)
{
	for (int attempt = 1; attempt < 40; attempt++) {
		int now = st_httpc_backoff_ms(50, attempt, 0.5);
		int next = st_httpc_backoff_ms(50, attempt + 1, 0.5);

		ck_assert_int_ge(next, now);
		if (now * 2 <= 10000)
			ck_assert_int_eq(next, now * 2);
	}
}
END_TEST

Suite *
httpc_suite(void)
{
	Suite *s = suite_create("httpc");
	TCase *pure = tcase_create("pure");

	tcase_add_loop_test(pure, idempotent_table, 0, (int)ST_ARRAY_LEN(methods));
	tcase_add_loop_test(pure, backoff_table, 0, (int)ST_ARRAY_LEN(schedule));
	tcase_add_test(pure, backoff_bounds);
	tcase_add_test(pure, backoff_grows_with_attempts);
	suite_add_tcase(s, pure);
	return s;
}
