/*
 * Unit tests for the readings session cache's table (session_cache.c): keys that hash to one
 * bucket live side by side, up to the bucket's ways; a new key past that replaces the oldest;
 * storing a key again replaces it in place. Two busy sessions that hashed alike used to push
 * each other out, which with the database away became a 503.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ingest/ingest.h"

#define WAYS 8 /* CACHE_WAYS */

static const char *sub = "5087b9e5-3a1d-438c-bd1d-1563fe7cec99";

/* Fills keys[0..n) with distinct session ids that share one bucket for sub. */
static void
colliding_sessions(char keys[][40], int n)
{
	size_t want = 0;
	int found = 0;

	for (unsigned i = 0; found < n; i++) {
		char id[40];

		snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012x", i);
		if (found == 0)
			want = session_bucket(id, sub);
		if (session_bucket(id, sub) == want)
			st_strlcpy(keys[found++], id, sizeof(keys[0]));
	}
}

static void
pause_ms(int ms)
{
	struct timespec ts = { 0, (long)ms * 1000000L };

	nanosleep(&ts, NULL);
}

START_TEST(colliding_keys_coexist)
{
	char keys[WAYS + 1][40];

	session_cache_open(5000, 600000);
	colliding_sessions(keys, WAYS + 1);
	for (int i = 0; i < WAYS; i++) {
		session_cache_remember(keys[i], sub);
		pause_ms(2); /* distinct ages */
	}
	for (int i = 0; i < WAYS; i++)
		ck_assert_msg(session_cache_holds(keys[i], sub), "key %d lost", i);
	/* one more than the ways: the oldest goes, the rest stay */
	session_cache_remember(keys[WAYS], sub);
	ck_assert(!session_cache_holds(keys[0], sub));
	for (int i = 1; i <= WAYS; i++)
		ck_assert_msg(session_cache_holds(keys[i], sub), "key %d lost", i);
	session_cache_fini();
}
END_TEST

START_TEST(storing_again_replaces_in_place)
{
	char keys[WAYS][40];

	session_cache_open(5000, 600000);
	colliding_sessions(keys, WAYS);
	for (int i = 0; i < WAYS; i++)
		session_cache_remember(keys[i], sub);
	for (int round = 0; round < 3; round++)
		session_cache_remember(keys[3], sub);
	for (int i = 0; i < WAYS; i++)
		ck_assert_msg(session_cache_holds(keys[i], sub), "key %d lost", i);
	/* another caller on the same session is another key */
	ck_assert(!session_cache_holds(keys[0], "another-caller"));
	session_cache_fini();
}
END_TEST

Suite *
session_cache_suite(void)
{
	Suite *s = suite_create("session_cache");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, colliding_keys_coexist);
	tcase_add_test(tc, storing_again_replaces_in_place);
	suite_add_tcase(s, tc);
	return s;
}
