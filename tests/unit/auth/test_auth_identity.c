/*
 * Unit tests for the identity half's pure parts: roles and the scopes they grant, the
 * lockout's back-off arithmetic, email and UUID checks, and the user list's cursor.
 */
#include <check.h>

#include "strata/encode.h"
#include <string.h>

#include "auth/identity.h"

/* Internal, visible under ST_TESTING. */
int lockout_backoff_s(long long failures, long long max);

START_TEST(roles_grant_their_scopes)
{
	static const struct {
		const char *roles[AUTH_ROLES_MAX];
		size_t n;
		unsigned want;
	} cases[] = {
		{ { "admin" }, 1, ST_SCOPE_ALL },
		{ { "researcher" },
		  1,
		  ST_SCOPE_READ | ST_SCOPE_WRITE | ST_SCOPE_DASHBOARD | ST_SCOPE_INGEST },
		{ { "viewer" }, 1, ST_SCOPE_READ | ST_SCOPE_DASHBOARD },
		{ { "device" }, 1, ST_SCOPE_INGEST },
		{ { "viewer", "device" }, 2, ST_SCOPE_READ | ST_SCOPE_DASHBOARD | ST_SCOPE_INGEST },
		{ { "admin", "device" }, 2, ST_SCOPE_ALL },
		{ { "root" }, 1, ST_SCOPE_NONE },
		{ { "Admin" }, 1, ST_SCOPE_NONE }, /* names are exact */
		{ { "viewer", "root" }, 2, ST_SCOPE_READ | ST_SCOPE_DASHBOARD },
		{ { NULL }, 0, ST_SCOPE_NONE },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(auth_scopes_of_roles(cases[i].roles, cases[i].n) == cases[i].want,
			      "case %zu", i);
	ck_assert(auth_role_known("admin"));
	ck_assert(auth_role_known("researcher"));
	ck_assert(auth_role_known("viewer"));
	ck_assert(auth_role_known("device"));
	ck_assert(!auth_role_known("root"));
	ck_assert(!auth_role_known(""));
	ck_assert(!auth_role_known(NULL));
}
END_TEST

START_TEST(backoff_doubles_and_caps)
{
	static const struct {
		long long failures, max;
		int want;
	} cases[] = {
		{ 0, 5, 0 },     { 4, 5, 0 },     { 5, 5, 60 },      { 6, 5, 120 },
		{ 7, 5, 240 },   { 8, 5, 480 },   { 9, 5, 960 },     { 10, 5, 1920 },
		{ 11, 5, 3600 }, { 12, 5, 3600 }, { 1000, 5, 3600 }, { 1LL << 62, 5, 3600 },
		{ 1, 1, 60 },    { 20, 20, 60 },  { 21, 20, 120 },   { 5, 0, 0 },
		{ -3, 5, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(lockout_backoff_s(cases[i].failures, cases[i].max) == cases[i].want,
			      "failures=%lld max=%lld: got %d want %d", cases[i].failures,
			      cases[i].max, lockout_backoff_s(cases[i].failures, cases[i].max),
			      cases[i].want);
}
END_TEST

START_TEST(attempt_keys_ignore_email_case)
{
	struct auth_attempt a, b, c;

	auth_attempt_init(&a, "Ada@Example.org", "10.0.0.1");
	auth_attempt_init(&b, "ada@example.org", "10.0.0.1");
	auth_attempt_init(&c, "ada@example.net", "10.0.0.1");
	ck_assert_str_eq(a.account, b.account);
	ck_assert_str_ne(a.account, c.account);
	ck_assert_int_eq((int)strlen(a.account), 64);
	ck_assert_ptr_null(strstr(a.account, "ada"));
	ck_assert_str_eq(a.addr, "10.0.0.1");
}
END_TEST

START_TEST(emails)
{
	static const char *const good[] = { "a@b.co", "ada.lovelace+x@example.org",
					    "x@sub.domain.example", "o'neil@example.ie" };
	static const char *const bad[] = { "",
					   "plain",
					   "@example.org",
					   "a@",
					   "a@localhost",
					   "a@@b.co",
					   "a@b@c.org",
					   "a b@example.org",
					   "a@.example.org",
					   "a@example.org.",
					   "a@example..org",
					   "<a>@example.org",
					   "a\n@example.org" };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(auth_email_ok(good[i]), "%s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!auth_email_ok(bad[i]), "%s", bad[i]);
}
END_TEST

START_TEST(cursor_round_trip_and_refusals)
{
	char cursor[160], micros[24], id[40];

	st_cursor_encode("1763912345123456", "0b5c7a9e-2f4d-4d7e-9a1c-3e6f8b2d1c40", cursor,
			 sizeof(cursor));
	ck_assert_int_gt((int)strlen(cursor), 0);
	ck_assert_ptr_null(strchr(cursor, '='));
	ck_assert(st_cursor_decode(cursor, micros, sizeof(micros), id, sizeof(id)));
	ck_assert_str_eq(micros, "1763912345123456");
	ck_assert_str_eq(id, "0b5c7a9e-2f4d-4d7e-9a1c-3e6f8b2d1c40");

	st_cursor_encode("-5", "0b5c7a9e-2f4d-4d7e-9a1c-3e6f8b2d1c40", cursor, sizeof(cursor));
	ck_assert(st_cursor_decode(cursor, micros, sizeof(micros), id, sizeof(id)));
	ck_assert_str_eq(micros, "-5");

	ck_assert(!st_cursor_decode("", micros, sizeof(micros), id, sizeof(id)));
	ck_assert(!st_cursor_decode("bm9wZQ", micros, sizeof(micros), id, sizeof(id)));
	ck_assert(!st_cursor_decode("!!!", micros, sizeof(micros), id, sizeof(id)));
	/* "12:not-a-uuid" */
	ck_assert(!st_cursor_decode("MTI6bm90LWEtdXVpZA", micros, sizeof(micros), id, sizeof(id)));
	/* "-:0b5c7a9e-2f4d-4d7e-9a1c-3e6f8b2d1c40": a sign without digits */
	st_cursor_encode("-", "0b5c7a9e-2f4d-4d7e-9a1c-3e6f8b2d1c40", cursor, sizeof(cursor));
	ck_assert(!st_cursor_decode(cursor, micros, sizeof(micros), id, sizeof(id)));
	/* 20 digits: more than a bigint holds */
	st_cursor_encode("12345678901234567890", "0b5c7a9e-2f4d-4d7e-9a1c-3e6f8b2d1c40", cursor,
			 sizeof(cursor));
	ck_assert(!st_cursor_decode(cursor, micros, sizeof(micros), id, sizeof(id)));
}
END_TEST

Suite *
auth_identity_suite(void)
{
	Suite *s = suite_create("auth_identity");
	TCase *tc = tcase_create("pure");

	tcase_add_test(tc, roles_grant_their_scopes);
	tcase_add_test(tc, backoff_doubles_and_caps);
	tcase_add_test(tc, attempt_keys_ignore_email_case);
	tcase_add_test(tc, emails);
	tcase_add_test(tc, cursor_round_trip_and_refusals);
	suite_add_tcase(s, tc);
	return s;
}
