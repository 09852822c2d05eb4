/*
 * Unit tests for the expiry the gateway reads from auth's API-key answer (authn.c): it is an
 * RFC 3339 time read by libcommon, so an offset counts. The gateway used to read it with
 * sscanf and timegm, which took "09:00+09:00" for 09:00 UTC (nine hours late, so a key was
 * cached past its expiry), made February 30th into March 2nd, and took a time without a zone.
 */
#include <check.h>

#include <cjson/cJSON.h>

#include "strata/core.h"

bool gw_apikey_expires_ms(const cJSON *expires, int64_t *out);

static const struct {
	const char *text;
	bool ok;
	int64_t ms;
} cases[] = {
	{ "2026-01-01T00:00:00Z", true, 1767225600000 },
	{ "2026-01-01T09:00:00+09:00", true, 1767225600000 },
	{ "2025-12-31T19:00:00-05:00", true, 1767225600000 },
	{ "2026-01-01T00:00:00.750Z", true, 1767225600750 },
	{ "2026-02-30T00:00:00Z", false, 0 },
	{ "2026-01-01T00:00:00", false, 0 },
	{ "2026-01-01T00:00:00Zjunk", false, 0 },
	{ "2026-1-1T0:0:0Z", false, 0 },
	{ "tomorrow", false, 0 },
};

START_TEST(expiry_table)
{
	cJSON *s = cJSON_CreateString(cases[_i].text);
	int64_t ms = -1;
	bool ok = gw_apikey_expires_ms(s, &ms);

	ck_assert_msg(ok == cases[_i].ok, "%s", cases[_i].text);
	if (ok)
		ck_assert_msg(ms == cases[_i].ms, "%s: %lld", cases[_i].text, (long long)ms);
	cJSON_Delete(s);
}
END_TEST

START_TEST(expiry_absent_or_not_a_string)
{
	cJSON *n = cJSON_CreateNumber(1767225600000.0);
	int64_t ms;

	ck_assert(!gw_apikey_expires_ms(NULL, &ms));
	ck_assert(!gw_apikey_expires_ms(n, &ms));
	cJSON_Delete(n);
}
END_TEST

Suite *
gw_apikey_expiry_suite(void)
{
	Suite *s = suite_create("gw_apikey_expiry");
	TCase *tc = tcase_create("expiry");

	tcase_add_loop_test(tc, expiry_table, 0, (int)ST_ARRAY_LEN(cases));
	tcase_add_test(tc, expiry_absent_or_not_a_string);
	suite_add_tcase(s, tc);
	return s;
}
