/*
 * Unit tests for core.h: RFC 3339 parsing (and its agreement with formatting), UUIDs, errors.
 */
#include <check.h>
#include <string.h>

#include "strata/core.h"

static const struct {
	const char *text;
	bool ok;
	int64_t ms;
} times[] = {
	{ "1970-01-01T00:00:00Z", true, 0 },
	{ "2026-01-01T00:00:00.125Z", true, 1767225600125 },
	{ "2026-01-01t00:00:00.125z", true, 1767225600125 },
	{ "2026-01-01T09:00:00+09:00", true, 1767225600000 },
	{ "2025-12-31T23:30:00-00:30", true, 1767225600000 },
	{ "2024-02-29T12:00:00Z", true, 1709208000000 },
	{ "2026-01-01T00:00:00.1Z", true, 1767225600100 },
	{ "2026-01-01T00:00:00.123456789Z", true, 1767225600123 },
	{ "1969-12-31T23:59:59.999Z", true, -1 },
	{ "2025-02-29T00:00:00Z", false, 0 },  /* not a leap year */
	{ "2026-13-01T00:00:00Z", false, 0 },  /* month */
	{ "2026-01-32T00:00:00Z", false, 0 },  /* day */
	{ "2026-01-01T24:00:00Z", false, 0 },  /* hour */
	{ "2026-01-01T00:60:00Z", false, 0 },  /* minute */
	{ "2026-01-01 00:00:00Z", false, 0 },  /* separator */
	{ "2026-01-01T00:00:00", false, 0 },   /* no offset */
	{ "2026-01-01T00:00:00.Z", false, 0 }, /* empty fraction */
	{ "2026-01-01T00:00:00+0900", false, 0 },
	{ "2026-01-01T00:00:00Zjunk", false, 0 },
	{ "2026-1-01T00:00:00Z", false, 0 },
	{ "", false, 0 },
};

START_TEST(rfc3339_parse_table)
{
	int64_t ms = 42;
	bool ok = st_time_parse_rfc3339(times[_i].text, &ms);

	ck_assert_msg(ok == times[_i].ok, "%s: expected %s", times[_i].text,
		      times[_i].ok ? "valid" : "invalid");
	if (ok)
		ck_assert_msg(ms == times[_i].ms, "%s: %lld != %lld", times[_i].text, (long long)ms,
			      (long long)times[_i].ms);
	ck_assert(st_time_parse_rfc3339(times[_i].text, NULL) == times[_i].ok);
}
END_TEST

START_TEST(rfc3339_format_then_parse)
{
	static const int64_t samples[] = { 0, 1, 999, 1767225600125, 4102444799999, 951782400000 };

	for (size_t i = 0; i < ST_ARRAY_LEN(samples); i++) {
		char text[32];
		int64_t back = -7;

		st_time_format_rfc3339(samples[i], text, sizeof(text));
		ck_assert_msg(st_time_parse_rfc3339(text, &back), "%s", text);
		ck_assert_int_eq(back, samples[i]);
	}
}
END_TEST

START_TEST(uuid_v4_shape)
{
	char a[37], b[37];

	st_uuid_v4(a, sizeof(a));
	st_uuid_v4(b, sizeof(b));
	ck_assert_int_eq(strlen(a), 36);
	ck_assert(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
	ck_assert(a[14] == '4');
	ck_assert(strchr("89ab", a[19]) != NULL);
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(errf_and_names)
{
	char err[8];

	st_errf(err, sizeof(err), "%s", "far too long");
	ck_assert_str_eq(err, "far too");
	st_errf(NULL, 0, "ignored %d", 1);
	ck_assert_str_eq(st_err_str(ST_ERR_UNAVAILABLE), "unavailable");
	ck_assert_str_eq(st_err_str((enum st_err)999), "unknown");
}
END_TEST

START_TEST(uuid_valid)
{
	ck_assert(st_uuid_valid("0b5c7a9e-2f4d-4d7e-9a1c-3e6f8b2d1c40"));
	ck_assert(st_uuid_valid("0B5C7A9E-2F4D-4D7E-9A1C-3E6F8B2D1C40"));
	ck_assert(!st_uuid_valid(""));
	ck_assert(!st_uuid_valid(NULL));
	ck_assert(!st_uuid_valid("0b5c7a9e-2f4d-4d7e-9a1c-3e6f8b2d1c4"));   /* short */
	ck_assert(!st_uuid_valid("0b5c7a9e-2f4d-4d7e-9a1c-3e6f8b2d1c401")); /* long */
	ck_assert(!st_uuid_valid("0b5c7a9e2f4d-4d7e-9a1c-3e6f8b2d1c40-"));  /* dashes moved */
	ck_assert(!st_uuid_valid("0b5c7a9e-2f4d-4d7e-9a1c-3e6f8b2d1c4g"));  /* not hex */
	ck_assert(!st_uuid_valid("../../../etc/passwd-aaaaaaaaaaaaaaaaaa"));
}
END_TEST

Suite *
core_suite(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, rfc3339_parse_table, 0, (int)ST_ARRAY_LEN(times));
	tcase_add_test(tc, rfc3339_format_then_parse);
	tcase_add_test(tc, uuid_v4_shape);
	tcase_add_test(tc, errf_and_names);
	tcase_add_test(tc, uuid_valid);
	suite_add_tcase(s, tc);
	return s;
}
