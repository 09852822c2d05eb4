/*
 * Unit tests for the ingest access table (ingest_access_decide): admins everywhere, outsiders
 * get 404, members by role and scope.
 */
#include <check.h>
#include <string.h>

#include "ingest/ingest.h"

static struct st_principal
caller(unsigned scopes)
{
	struct st_principal p;

	memset(&p, 0, sizeof(p));
	st_strlcpy(p.kind, "user", sizeof(p.kind));
	st_strlcpy(p.sub, "0b5c7a9e-2f4d-4d7e-9a1c-3e6f8b2d1c40", sizeof(p.sub));
	p.scopes = scopes;
	return p;
}

START_TEST(admin_everywhere)
{
	struct st_principal p = caller(ST_SCOPE_ADMIN);

	for (int need = INGEST_READ; need <= INGEST_MANAGE; need++)
		ck_assert_int_eq(ingest_access_decide(&p, INGEST_ROLE_NONE, need), 0);
}
END_TEST

START_TEST(outsiders_see_nothing)
{
	struct st_principal p = caller(ST_SCOPE_READ | ST_SCOPE_WRITE | ST_SCOPE_INGEST);

	for (int need = INGEST_READ; need <= INGEST_MANAGE; need++)
		ck_assert_int_eq(ingest_access_decide(&p, INGEST_ROLE_NONE, need), 404);
	ck_assert_int_eq(ingest_access_decide(NULL, INGEST_ROLE_OWNER, INGEST_READ), 404);
}
END_TEST

START_TEST(roles_and_scopes)
{
	struct st_principal rw = caller(ST_SCOPE_READ | ST_SCOPE_WRITE);
	struct st_principal ro = caller(ST_SCOPE_READ);
	struct st_principal dev = caller(ST_SCOPE_INGEST);

	ck_assert_int_eq(ingest_access_decide(&rw, INGEST_ROLE_VIEWER, INGEST_READ), 0);
	ck_assert_int_eq(ingest_access_decide(&rw, INGEST_ROLE_VIEWER, INGEST_WRITE), 403);
	ck_assert_int_eq(ingest_access_decide(&rw, INGEST_ROLE_VIEWER, INGEST_POST), 403);
	ck_assert_int_eq(ingest_access_decide(&rw, INGEST_ROLE_MEMBER, INGEST_WRITE), 0);
	ck_assert_int_eq(ingest_access_decide(&rw, INGEST_ROLE_MEMBER, INGEST_POST), 0);
	ck_assert_int_eq(ingest_access_decide(&rw, INGEST_ROLE_MEMBER, INGEST_MANAGE), 403);
	ck_assert_int_eq(ingest_access_decide(&rw, INGEST_ROLE_OWNER, INGEST_MANAGE), 0);
	/* a read-only token of an owner changes nothing */
	ck_assert_int_eq(ingest_access_decide(&ro, INGEST_ROLE_OWNER, INGEST_READ), 0);
	ck_assert_int_eq(ingest_access_decide(&ro, INGEST_ROLE_OWNER, INGEST_WRITE), 403);
	ck_assert_int_eq(ingest_access_decide(&ro, INGEST_ROLE_OWNER, INGEST_MANAGE), 403);
	/* a device key posts, and nothing else; a viewer's never posts */
	ck_assert_int_eq(ingest_access_decide(&dev, INGEST_ROLE_MEMBER, INGEST_POST), 0);
	ck_assert_int_eq(ingest_access_decide(&dev, INGEST_ROLE_OWNER, INGEST_POST), 0);
	ck_assert_int_eq(ingest_access_decide(&dev, INGEST_ROLE_VIEWER, INGEST_POST), 403);
	ck_assert_int_eq(ingest_access_decide(&dev, INGEST_ROLE_MEMBER, INGEST_READ), 403);
	ck_assert_int_eq(ingest_access_decide(&dev, INGEST_ROLE_OWNER, INGEST_WRITE), 403);
}
END_TEST

START_TEST(role_names_round_trip)
{
	for (int r = INGEST_ROLE_VIEWER; r <= INGEST_ROLE_OWNER; r++)
		ck_assert_int_eq(ingest_role_parse(ingest_role_name(r)), r);
	ck_assert_int_eq(ingest_role_parse(""), INGEST_ROLE_NONE);
	ck_assert_int_eq(ingest_role_parse("Owner"), INGEST_ROLE_NONE);
	ck_assert_int_eq(ingest_role_parse(NULL), INGEST_ROLE_NONE);
	ck_assert_str_eq(ingest_role_name(INGEST_ROLE_NONE), "");
}
END_TEST

Suite *
ingest_access_suite(void)
{
	Suite *s = suite_create("ingest_access");
	TCase *tc = tcase_create("decide");

	tcase_add_test(tc, admin_everywhere);
	tcase_add_test(tc, outsiders_see_nothing);
	tcase_add_test(tc, roles_and_scopes);
	tcase_add_test(tc, role_names_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
