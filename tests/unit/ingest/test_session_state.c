/*
 * Unit tests for the session state machine (session_state.c): every (action, state) pair
 * against the table written out here independently, the commands sent to devices, the guard
 * arrays of the atomic UPDATE, and the names.
 */
#include <check.h>
#include <string.h>

#include "ingest/ingest.h"

/* The expected table: to[action][from], -1 for an illegal move. */
static const int expected_to[INGEST_ACTION_COUNT][INGEST_STATUS_COUNT] = {
	/*                 created                running               stopped completed failed */
	[INGEST_ACTION_START] = { INGEST_STATUS_RUNNING, -1, -1, -1, -1 },
	[INGEST_ACTION_STOP] = { -1, INGEST_STATUS_STOPPED, -1, -1, -1 },
	[INGEST_ACTION_COMPLETE] = { -1, -1, INGEST_STATUS_COMPLETED, -1, -1 },
	[INGEST_ACTION_FAIL] = { INGEST_STATUS_FAILED, INGEST_STATUS_FAILED, INGEST_STATUS_FAILED,
				 -1, -1 },
};

START_TEST(every_pair_follows_the_table)
{
	for (int a = 0; a < INGEST_ACTION_COUNT; a++)
		for (int s = 0; s < INGEST_STATUS_COUNT; s++) {
			struct ingest_move mv;
			bool ok = ingest_session_move(a, s, &mv);

			ck_assert_msg(ok == (expected_to[a][s] >= 0), "%s from %s",
				      ingest_action_name(a), ingest_status_name(s));
			if (ok)
				ck_assert_int_eq(mv.to, expected_to[a][s]);
		}
}
END_TEST

START_TEST(closed_states_are_final)
{
	ck_assert(ingest_status_closed(INGEST_STATUS_COMPLETED));
	ck_assert(ingest_status_closed(INGEST_STATUS_FAILED));
	ck_assert(!ingest_status_closed(INGEST_STATUS_CREATED));
	ck_assert(!ingest_status_closed(INGEST_STATUS_RUNNING));
	ck_assert(!ingest_status_closed(INGEST_STATUS_STOPPED));
	for (int a = 0; a < INGEST_ACTION_COUNT; a++) {
		struct ingest_move mv;

		ck_assert(!ingest_session_move(a, INGEST_STATUS_COMPLETED, &mv));
		ck_assert(!ingest_session_move(a, INGEST_STATUS_FAILED, &mv));
	}
}
END_TEST

START_TEST(events_and_commands)
{
	struct ingest_move mv;

	ck_assert(ingest_session_move(INGEST_ACTION_START, INGEST_STATUS_CREATED, &mv));
	ck_assert_str_eq(mv.event, "strata.session.started");
	ck_assert_str_eq(mv.command, "start");
	ck_assert(ingest_session_move(INGEST_ACTION_STOP, INGEST_STATUS_RUNNING, &mv));
	ck_assert_str_eq(mv.event, "strata.session.stopped");
	ck_assert_str_eq(mv.command, "stop");
	ck_assert(ingest_session_move(INGEST_ACTION_COMPLETE, INGEST_STATUS_STOPPED, &mv));
	ck_assert_str_eq(mv.event, "strata.session.completed");
	ck_assert_ptr_null(mv.command);
	/* failing tells a running device to stop, and nobody else */
	ck_assert(ingest_session_move(INGEST_ACTION_FAIL, INGEST_STATUS_RUNNING, &mv));
	ck_assert_str_eq(mv.event, "strata.session.failed");
	ck_assert_str_eq(mv.command, "stop");
	ck_assert(ingest_session_move(INGEST_ACTION_FAIL, INGEST_STATUS_CREATED, &mv));
	ck_assert_ptr_null(mv.command);
	ck_assert(ingest_session_move(INGEST_ACTION_FAIL, INGEST_STATUS_STOPPED, &mv));
	ck_assert_ptr_null(mv.command);
}
END_TEST

START_TEST(guard_arrays)
{
	char buf[64];

	ingest_session_from_array(INGEST_ACTION_START, buf, sizeof(buf));
	ck_assert_str_eq(buf, "{created}");
	ingest_session_from_array(INGEST_ACTION_STOP, buf, sizeof(buf));
	ck_assert_str_eq(buf, "{running}");
	ingest_session_from_array(INGEST_ACTION_COMPLETE, buf, sizeof(buf));
	ck_assert_str_eq(buf, "{stopped}");
	ingest_session_from_array(INGEST_ACTION_FAIL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "{created,running,stopped}");
	/* a short buffer is cut, never overrun */
	ingest_session_from_array(INGEST_ACTION_FAIL, buf, 6);
	ck_assert_uint_lt(strlen(buf), 6);
}
END_TEST

START_TEST(names_round_trip)
{
	for (int s = 0; s < INGEST_STATUS_COUNT; s++) {
		enum ingest_status out = INGEST_STATUS_COUNT;

		ck_assert(ingest_status_parse(ingest_status_name(s), &out));
		ck_assert_int_eq(out, s);
	}
	{
		enum ingest_status out;

		ck_assert(!ingest_status_parse("Running", &out));
		ck_assert(!ingest_status_parse("", &out));
		ck_assert(!ingest_status_parse(NULL, &out));
	}
	ck_assert_str_eq(ingest_status_name(INGEST_STATUS_COUNT), "");
	ck_assert_str_eq(ingest_action_name(INGEST_ACTION_START), "start");
	ck_assert_str_eq(ingest_action_name(INGEST_ACTION_FAIL), "fail");
	ck_assert_str_eq(ingest_action_name(INGEST_ACTION_COUNT), "");
}
END_TEST

START_TEST(actions_parse_from_their_names)
{
	static const char *const bad[] = { "", "Start", "starts", "stop ", "pause", "complete/" };
	enum ingest_action a;

	for (int i = 0; i < INGEST_ACTION_COUNT; i++) {
		ck_assert(ingest_action_parse(ingest_action_name((enum ingest_action)i), &a));
		ck_assert_int_eq(a, i);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!ingest_action_parse(bad[i], &a), "%s", bad[i]);
}
END_TEST

Suite *
session_state_suite(void)
{
	Suite *s = suite_create("session_state");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, every_pair_follows_the_table);
	tcase_add_test(tc, closed_states_are_final);
	tcase_add_test(tc, events_and_commands);
	tcase_add_test(tc, guard_arrays);
	tcase_add_test(tc, names_round_trip);
	tcase_add_test(tc, actions_parse_from_their_names);
	suite_add_tcase(s, tc);
	return s;
}
