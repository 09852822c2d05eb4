/*
 * Unit tests for passwords.c: the policy, table-driven (each rule alone, the edges, UTF-8 and
 * control characters), and hashing: a hash verifies its password and no other, and an unknown
 * account (no hash) never verifies.
 */
#include <check.h>
#include <string.h>

#include "auth/identity.h"

static const struct {
	const char *password;
	bool ok;
	const char *detail; /* a word the first error's detail must hold, when refused */
} policy[] = {
	{ "Abcdefghi1", true, NULL },         /* exactly 10 characters, three classes */
	{ "abcdefghij", false, "kinds" },     /* one class */
	{ "ABCDEFGHIJKL", false, "kinds" },   /* one class */
	{ "12345678901234", false, "kinds" }, /* one class */
	{ "!@#$%^&*()-_", false, "kinds" },   /* one class */
	{ "abcdefghi1", true, NULL },         /* two classes suffice */
	{ "abcdefgh!!", true, NULL },         /* symbols count */
	{ "Short1!", false, "at least 10" },  /* too short */
	{ "", false, "at least 10" },
	{ "pässwörtér", true, NULL },        /* 10 characters in 13 bytes; non-ASCII is "other" */
	{ "äöüäöü1", false, "at least 10" }, /* 10 bytes, 7 characters */
	{ "tab\there-is-bad1", false, "control" },
	{ "del\x7fhere-is-bad1", false, "control" },
	{ "c1\xc2\x85-control-bad1", false, "control" },
	{ "bad-utf8-\xff\xfe-here1", false, "UTF-8" },
	{ "overlong-\xc0\xaf-slash1", false, "UTF-8" },
	{ "surrogate-\xed\xa0\x80-x1", false, "UTF-8" },
	{ "truncated-seq-1\xe2\x82", false, "UTF-8" },
};

START_TEST(policy_table)
{
	struct st_json_errs errs;
	bool ok;

	st_json_errs_init(&errs);
	ok = auth_password_policy(policy[_i].password, "password", &errs);
	ck_assert_msg(ok == policy[_i].ok, "case %d: want %s", _i,
		      policy[_i].ok ? "ok" : "refused");
	if (ok) {
		ck_assert_int_eq((int)errs.total, 0);
		return;
	}
	ck_assert_int_ge((int)errs.total, 1);
	ck_assert_str_eq(errs.items[0].field, "password");
	ck_assert_msg(strstr(errs.items[0].detail, policy[_i].detail) != NULL, "case %d: %s", _i,
		      errs.items[0].detail);
}
END_TEST

START_TEST(policy_length_edges)
{
	char pw[300];
	struct st_json_errs errs;

	memset(pw, 'a', sizeof(pw));
	pw[0] = '1';
	pw[AUTH_PASSWORD_MAX_BYTES] = '\0'; /* 128 bytes: accepted */
	st_json_errs_init(&errs);
	ck_assert(auth_password_policy(pw, "password", &errs));
	pw[AUTH_PASSWORD_MAX_BYTES] = 'a';
	pw[AUTH_PASSWORD_MAX_BYTES + 1] = '\0'; /* 129: refused */
	st_json_errs_init(&errs);
	ck_assert(!auth_password_policy(pw, "password", &errs));
	ck_assert_ptr_nonnull(strstr(errs.items[0].detail, "at most 128 bytes"));
}
END_TEST

START_TEST(policy_reports_every_broken_rule)
{
	struct st_json_errs errs;

	st_json_errs_init(&errs);
	ck_assert(!auth_password_policy("abc", "new_password", &errs));
	ck_assert_int_eq((int)errs.total, 2); /* too short and one class */
	ck_assert_str_eq(errs.items[0].field, "new_password");
	ck_assert_str_eq(errs.items[1].field, "new_password");
}
END_TEST

START_TEST(hash_verifies_its_password_only)
{
	char hash[AUTH_PASSWORD_HASH_CAP];

	ck_assert_int_eq(auth_passwords_init(2), ST_OK);
	ck_assert_int_eq(auth_password_hash("Correct-horse-9", hash), ST_OK);
	ck_assert_ptr_nonnull(strstr(hash, "$argon2id$"));
	ck_assert_ptr_null(strstr(hash, "Correct-horse-9"));
	ck_assert(auth_password_verify(hash, "Correct-horse-9"));
	ck_assert(!auth_password_verify(hash, "Correct-horse-8"));
	ck_assert(!auth_password_verify(hash, ""));
	/* no account: the dummy hash is checked, and nothing matches */
	ck_assert(!auth_password_verify(NULL, "Correct-horse-9"));
	ck_assert(!auth_password_verify("", ""));
	auth_passwords_fini();
}
END_TEST

Suite *
auth_passwords_suite(void)
{
	Suite *s = suite_create("auth_passwords");
	TCase *tc = tcase_create("policy");
	TCase *th = tcase_create("hash");

	tcase_add_loop_test(tc, policy_table, 0, (int)(sizeof(policy) / sizeof(policy[0])));
	tcase_add_test(tc, policy_length_edges);
	tcase_add_test(tc, policy_reports_every_broken_rule);
	tcase_set_timeout(th, 30);
	tcase_add_test(th, hash_verifies_its_password_only);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, th);
	return s;
}
