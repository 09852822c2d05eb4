/*
 * Unit tests for revoked.c, the revocations a gateway keeps in memory: a revoked jti is found
 * until its token's exp and not after; what cannot be remembered is refused (a bad jti, an exp
 * already past); re-adding keeps the later exp; at capacity the entry that expires first goes;
 * and a long random run of adds against a plain reference list, which exercises the table's
 * deletion by backward shift and the heap together.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/authn_int.h"

Suite *gw_revoked_suite(void);

#define NOW 1767225600LL

START_TEST(found_until_exp)
{
	struct gw_revoked *r = gw_revoked_new(8);

	ck_assert(gw_revoked_add(r, "j1", NOW + 10, NOW));
	ck_assert(gw_revoked_has(r, "j1", NOW));
	ck_assert(gw_revoked_has(r, "j1", NOW + 9));
	ck_assert(!gw_revoked_has(r, "j1", NOW + 10));
	ck_assert(!gw_revoked_has(r, "j2", NOW));
	ck_assert(!gw_revoked_has(r, "", NOW));
	ck_assert(!gw_revoked_has(NULL, "j1", NOW));
	/* re-adding keeps the later exp */
	ck_assert(gw_revoked_add(r, "j1", NOW + 5, NOW));
	ck_assert(gw_revoked_has(r, "j1", NOW + 9));
	ck_assert(gw_revoked_add(r, "j1", NOW + 20, NOW));
	ck_assert(gw_revoked_has(r, "j1", NOW + 19));
	ck_assert_uint_eq(gw_revoked_count(r), 1);
	gw_revoked_destroy(r);
	gw_revoked_destroy(NULL);
}
END_TEST

START_TEST(refused_entries)
{
	static const char *const bad[] = { "", "a b", "a;b", "a=b", "a\nb" };
	struct gw_revoked *r = gw_revoked_new(8);
	char longest[GW_JTI_MAX + 2];

	for (size_t i = 0; i < ST_ARRAY_LEN(bad); i++)
		ck_assert_msg(!gw_revoked_add(r, bad[i], NOW + 10, NOW), "'%s' kept", bad[i]);
	ck_assert(!gw_revoked_add(r, "j1", NOW, NOW)); /* expired already */
	memset(longest, 'a', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	ck_assert(!gw_revoked_add(r, longest, NOW + 10, NOW));
	ck_assert_uint_eq(gw_revoked_count(r), 0);
	gw_revoked_destroy(r);
}
END_TEST

START_TEST(expired_entries_make_room_then_the_first_to_expire_goes)
{
	struct gw_revoked *r = gw_revoked_new(3);

	ck_assert(gw_revoked_add(r, "a", NOW + 30, NOW));
	ck_assert(gw_revoked_add(r, "b", NOW + 10, NOW));
	ck_assert(gw_revoked_add(r, "c", NOW + 20, NOW));
	/* full: "b" expires first and is forgotten */
	ck_assert(gw_revoked_add(r, "d", NOW + 40, NOW));
	ck_assert_uint_eq(gw_revoked_count(r), 3);
	ck_assert(!gw_revoked_has(r, "b", NOW));
	ck_assert(gw_revoked_has(r, "a", NOW) && gw_revoked_has(r, "c", NOW));
	ck_assert(gw_revoked_has(r, "d", NOW));
	/* later, "c" has expired: it makes the room, nothing live is lost */
	ck_assert(gw_revoked_add(r, "e", NOW + 50, NOW + 25));
	ck_assert(gw_revoked_has(r, "a", NOW + 25) && gw_revoked_has(r, "d", NOW + 25));
	ck_assert(gw_revoked_has(r, "e", NOW + 25));
	ck_assert_uint_eq(gw_revoked_count(r), 3);
	gw_revoked_destroy(r);
}
END_TEST

START_TEST(random_run_against_a_reference)
{
	enum { CAP = 64, NAMES = 200, STEPS = 5000 };
	struct gw_revoked *r = gw_revoked_new(CAP);
	int64_t ref[NAMES]; /* the exp each name should have, 0: none */
	int64_t now = NOW;
	char name[16];

	memset(ref, 0, sizeof(ref));
	srand(7);
	for (int step = 0; step < STEPS; step++) {
		int k = rand() % NAMES;
		int64_t exp;
		size_t live = 0;
		int64_t first = 0;
		int first_k = -1;

		if (rand() % 10 == 0)
			now++;
		exp = now + 1 + rand() % 50;
		for (int i = 0; i < NAMES; i++) {
			if (ref[i] <= now)
				ref[i] = 0;
			if (ref[i] != 0 && i != k)
				live++;
		}
		snprintf(name, sizeof(name), "jti-%d", k);
		if (ref[k] == 0 && live == CAP) {
			/* the reference evicts the entry that expires first: any of the earliest */
			for (int i = 0; i < NAMES; i++)
				if (ref[i] != 0 && (first_k < 0 || ref[i] < first)) {
					first = ref[i];
					first_k = i;
				}
		}
		ck_assert(gw_revoked_add(r, name, exp, now));
		if (first_k >= 0) {
			/* which of several equal exps went is the heap's choice: follow it */
			for (int i = 0; i < NAMES; i++) {
				char other[16];

				snprintf(other, sizeof(other), "jti-%d", i);
				if (ref[i] == first && i != k && !gw_revoked_has(r, other, now)) {
					ref[i] = 0;
					break;
				}
			}
		}
		ref[k] = ref[k] > exp ? ref[k] : exp;
		for (int i = 0; i < NAMES; i++) {
			snprintf(name, sizeof(name), "jti-%d", i);
			ck_assert_msg(gw_revoked_has(r, name, now) == (ref[i] > now),
				      "step %d: %s want %d", step, name, ref[i] > now);
		}
	}
	gw_revoked_destroy(r);
}
END_TEST

Suite *
gw_revoked_suite(void)
{
	Suite *s = suite_create("gw_revoked");
	TCase *tc = tcase_create("revoked");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, found_until_exp);
	tcase_add_test(tc, refused_entries);
	tcase_add_test(tc, expired_entries_make_room_then_the_first_to_expire_goes);
	tcase_add_test(tc, random_run_against_a_reference);
	suite_add_tcase(s, tc);
	return s;
}
