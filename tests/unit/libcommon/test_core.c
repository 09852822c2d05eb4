/*
 * Unit tests for core.h: RFC 3339 parsing in milliseconds and microseconds (offsets, leap
 * years, fractions, what the gateway's old sscanf got wrong) and its agreement with formatting,
 * UUIDs, errors.
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
	/* offsets, both signs, with minutes, at the extremes */
	{ "2026-01-01T05:30:00+05:30", true, 1767225600000 },
	{ "2025-12-31T14:00:00-10:00", true, 1767225600000 },
	{ "2026-01-01T23:59:00+23:59", true, 1767225600000 },
	{ "2026-01-01T00:00:00-00:00", true, 1767225600000 },
	{ "2026-01-01T00:00:00+24:00", false, 0 },
	{ "2026-01-01T00:00:00+09:60", false, 0 },
	{ "2026-01-01T00:00:00+09", false, 0 },
	{ "2026-01-01T00:00:00+9:00", false, 0 },
	{ "2026-01-01T00:00:00 +09:00", false, 0 },
	/* leap years: every 4, not every 100, every 400 */
	{ "2000-02-29T00:00:00Z", true, 951782400000 },
	{ "1900-02-29T00:00:00Z", false, 0 },
	{ "2100-02-29T00:00:00Z", false, 0 },
	{ "2028-02-29T23:59:59.999Z", true, 1835481599999 },
	{ "2026-04-31T00:00:00Z", false, 0 },
	{ "2026-12-31T23:59:59Z", true, 1798761599000 },
	/* fractions */
	{ "2026-01-01T00:00:00.9999Z", true, 1767225600999 }, /* dropped, never rounded up */
	{ "2026-01-01T00:00:00.000Z", true, 1767225600000 },
	{ "2026-01-01T00:00:00,5Z", false, 0 },
	{ "2026-01-01T00:00:00.5.5Z", false, 0 },
	{ "2026-01-01T00:00:00.+01:00", false, 0 },
	/* what the gateway's sscanf("%4d-%2d-%2dT%2d:%2d:%2d") took and got wrong */
	{ "2026-01-01T09:00:00+09:00", true, 1767225600000 }, /* it ignored the offset */
	{ "2026-02-30T00:00:00Z", false, 0 },                 /* timegm made it March 2 */
	{ "2026-01-01T00:00:61Z", false, 0 },                 /* ... and this 00:01:01 */
	{ "2016-12-31T23:59:60Z", true, 1483228800000 },      /* a leap second: the next one */
	{ "2026-1-1T0:0:0Z", false, 0 },                      /* one-digit fields */
	{ " 2026-01-01T00:00:00Z", false, 0 },                /* leading space */
	{ "2026-01-01T00:00:00", false, 0 },                  /* no zone at all */
	{ "2026-01-01T00:00:00+09:00junk", false, 0 },
	{ "+2026-01-01T00:00:00Z", false, 0 },
	{ "-001-01-01T00:00:00Z", false, 0 },
	{ "0000-01-01T00:00:00Z", true, -62167219200000 },
	{ "9999-12-31T23:59:59.999Z", true, 253402300799999 },
};

/* The microsecond reader: the same grammar over a length, digits below a microsecond refused. */
static const struct {
	const char *text;
	bool ok;
	int64_t us;
} times_us[] = {
	{ "1970-01-01T00:00:00Z", true, 0 },
	{ "2026-01-01T00:00:00.125Z", true, INT64_C(1767225600125000) },
	{ "2026-01-01T00:00:00.000001Z", true, INT64_C(1767225600000001) },
	{ "2026-01-01T09:00:00+09:00", true, INT64_C(1767225600000000) },
	{ "2025-12-31T19:30:00.5-04:30", true, INT64_C(1767225600500000) },
	{ "2026-01-01t00:00:00z", true, INT64_C(1767225600000000) },
	{ "2024-02-29T12:00:00Z", true, INT64_C(1709208000000000) },
	{ "2026-01-01T00:00:00.123456000Z", true, INT64_C(1767225600123456) }, /* zeros beyond */
	{ "2026-01-01T00:00:00.1234567Z", false, 0 }, /* below a microsecond: refused */
	{ "2026-01-01T00:00:00.0000001Z", false, 0 },
	{ "1969-12-31T23:59:59.999999Z", true, -1 },
	{ "2023-02-29T00:00:00Z", false, 0 },
	{ "2026-13-01T00:00:00Z", false, 0 },
	{ "2026-01-01T24:00:00Z", false, 0 },
	{ "2026-01-01T00:00:60Z", false, 0 },
	{ "2026-01-01T00:00:00", false, 0 },
	{ "2026-01-01 00:00:00Z", false, 0 },
	{ "2026-01-01T00:00:00.Z", false, 0 },
	{ "2026-01-01T00:00:00+0900", false, 0 },
	{ "", false, 0 },
	{ "yesterday", false, 0 },
};

START_TEST(rfc3339_us_parse_table)
{
	int64_t us = 42;
	size_t len = strlen(times_us[_i].text);
	bool ok = st_time_parse_rfc3339_us(times_us[_i].text, len, &us);

	ck_assert_msg(ok == times_us[_i].ok, "%s", times_us[_i].text);
	if (ok)
		ck_assert_msg(us == times_us[_i].us, "%s: %lld", times_us[_i].text, (long long)us);
	ck_assert(st_time_parse_rfc3339_us(times_us[_i].text, len, NULL) == times_us[_i].ok);
	/* the length is the end: one byte fewer is never the same time, one more (the NUL) no
	 * time at all */
	if (len > 0)
		ck_assert(!st_time_parse_rfc3339_us(times_us[_i].text, len - 1, &us) ||
			  !times_us[_i].ok || us != times_us[_i].us);
	ck_assert(!st_time_parse_rfc3339_us(times_us[_i].text, len + 1, NULL));
}
END_TEST

/* The millisecond reader agrees with the microsecond one wherever both accept. */
START_TEST(rfc3339_readers_agree)
{
	for (size_t i = 0; i < ST_ARRAY_LEN(times); i++) {
		int64_t ms, us;
		bool a = st_time_parse_rfc3339(times[i].text, &ms);
		bool b = st_time_parse_rfc3339_us(times[i].text, strlen(times[i].text), &us);

		if (a && b)
			ck_assert_msg(us / 1000 - (us % 1000 < 0) == ms, "%s", times[i].text);
		if (b)
			ck_assert_msg(a, "%s", times[i].text);
	}
}
END_TEST

START_TEST(rfc3339_us_format)
{
	static const struct {
		int64_t us;
		const char *text;
	} cases[] = {
		{ INT64_C(1767225600125000), "2026-01-01T00:00:00.125Z" },
		{ INT64_C(1767225600000001), "2026-01-01T00:00:00.000001Z" },
		{ 0, "1970-01-01T00:00:00.000Z" },
		{ -1, "1969-12-31T23:59:59.999999Z" },
		{ INT64_C(951782400000000), "2000-02-29T00:00:00.000Z" },
		{ INT64_C(253402300799999999), "9999-12-31T23:59:59.999999Z" },
	};
	char buf[40];

	for (size_t i = 0; i < ST_ARRAY_LEN(cases); i++) {
		int64_t back = 0;
		size_t n = st_time_format_rfc3339_us(cases[i].us, buf, sizeof(buf));

		ck_assert_str_eq(buf, cases[i].text);
		ck_assert_uint_eq(n, strlen(cases[i].text));
		ck_assert(st_time_parse_rfc3339_us(buf, n, &back));
		ck_assert(back == cases[i].us);
	}
	/* too small a buffer: nothing, never a cut time */
	ck_assert_uint_eq(st_time_format_rfc3339_us(0, buf, 10), 0);
	ck_assert_str_eq(buf, "");
	for (int64_t t = 0; t < INT64_C(7258118400000000); t += INT64_C(86399999997) * 7) {
		int64_t back;
		size_t n = st_time_format_rfc3339_us(t, buf, sizeof(buf));

		ck_assert(st_time_parse_rfc3339_us(buf, n, &back));
		ck_assert_msg(back == t, "%s", buf);
	}
}
END_TEST

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
	tcase_add_loop_test(tc, rfc3339_us_parse_table, 0, (int)ST_ARRAY_LEN(times_us));
	tcase_add_test(tc, rfc3339_readers_agree);
	tcase_add_test(tc, rfc3339_us_format);
	tcase_add_test(tc, uuid_v4_shape);
	tcase_add_test(tc, errf_and_names);
	tcase_add_test(tc, uuid_valid);
	suite_add_tcase(s, tc);
	return s;
}
