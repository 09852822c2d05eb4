/*
 * Unit tests for the pure parts of db.c: SQLSTATE to error mapping, the libpq `options`
 * string (search_path and statement_timeout, with the schema validated), and the connect
 * timeout in libpq's whole seconds. No server.
 */
#include <check.h>
#include <string.h>

#include "strata/db.h"

Suite *db_suite(void);

/* Internal to db.c, visible under ST_TESTING. */
enum st_err db_build_options(const char *schema, int statement_timeout_ms, char *buf, size_t cap);
int db_connect_timeout_secs(int connect_timeout_ms);

static const struct {
	const char *sqlstate;
	enum st_err want;
} states[] = {
	{ "23505", ST_ERR_CONFLICT },    /* unique_violation */
	{ "23P01", ST_ERR_CONFLICT },    /* exclusion_violation */
	{ "23502", ST_ERR_INVALID },     /* not_null_violation */
	{ "23503", ST_ERR_INVALID },     /* foreign_key_violation */
	{ "23514", ST_ERR_INVALID },     /* check_violation */
	{ "22P02", ST_ERR_INVALID },     /* invalid_text_representation */
	{ "22001", ST_ERR_INVALID },     /* string_data_right_truncation */
	{ "22012", ST_ERR_INVALID },     /* division_by_zero */
	{ "57014", ST_ERR_TIMEOUT },     /* query_canceled (statement_timeout) */
	{ "08006", ST_ERR_UNAVAILABLE }, /* connection_failure */
	{ "08000", ST_ERR_UNAVAILABLE }, /* connection_exception */
	{ "57P01", ST_ERR_UNAVAILABLE }, /* admin_shutdown */
	{ "57P02", ST_ERR_UNAVAILABLE }, /* crash_shutdown */
	{ "57P03", ST_ERR_UNAVAILABLE }, /* cannot_connect_now */
	{ "57P04", ST_ERR_INTERNAL },    /* database_dropped: not coming back by waiting */
	{ "42601", ST_ERR_INTERNAL },    /* syntax_error: a bug in our SQL */
	{ "42P01", ST_ERR_INTERNAL },    /* undefined_table */
	{ "40001", ST_ERR_INTERNAL },    /* serialization_failure */
	{ "57000", ST_ERR_INTERNAL },    /* operator_intervention, not a timeout */
	{ "", ST_ERR_INTERNAL },         { NULL, ST_ERR_INTERNAL },
	{ "2350", ST_ERR_INTERNAL }, /* malformed */
	{ "235050", ST_ERR_INTERNAL },
};

START_TEST(sqlstate_table)
{
	ck_assert_msg(st_db_err_of_sqlstate(states[_i].sqlstate) == states[_i].want, "%s -> %s",
		      states[_i].sqlstate ? states[_i].sqlstate : "(null)",
		      st_err_str(st_db_err_of_sqlstate(states[_i].sqlstate)));
}
END_TEST

static const struct {
	const char *schema;
	int timeout_ms;
	const char *want; /* NULL: refused */
} options[] = {
	{ NULL, 0, "" },
	{ "auth", 0, "-c search_path=auth" },
	{ NULL, 5000, "-c statement_timeout=5000" },
	{ "stats", 250, "-c search_path=stats -c statement_timeout=250" },
	{ "stats,public", 0, "-c search_path=stats,public" },
	{ "_x9", 0, "-c search_path=_x9" },
	{ "", 0, NULL },
	{ "Auth", 0, NULL },
	{ "auth public", 0, NULL }, /* a space would end the -c argument */
	{ "auth -c x=1", 0, NULL },
	{ "a\\ b", 0, NULL },
	{ "auth,", 0, NULL },
	{ ",auth", 0, NULL },
	{ "auth,,x", 0, NULL },
	{ "9lives", 0, NULL },
	{ "auth;drop", 0, NULL },
	{ "\"auth\"", 0, NULL },
	{ "auth", -1, NULL },
	{ "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc", 0,
	  "-c search_path=abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc" },
	{ "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd", 0, NULL }, /* 64 */
};

START_TEST(options_table)
{
	char buf[256] = "junk";
	enum st_err rc =
		db_build_options(options[_i].schema, options[_i].timeout_ms, buf, sizeof(buf));

	if (options[_i].want == NULL) {
		ck_assert_msg(rc == ST_ERR_INVALID, "accepted: %s", options[_i].schema);
		ck_assert_str_eq(buf, "");
		return;
	}
	ck_assert_msg(rc == ST_OK, "refused: %s", options[_i].schema);
	ck_assert_str_eq(buf, options[_i].want);
}
END_TEST

START_TEST(options_small_buffer)
{
	char buf[24];

	ck_assert_int_eq(db_build_options("auth", 0, buf, sizeof(buf)), ST_OK); /* 19 bytes */
	ck_assert_int_eq(db_build_options("auth", 5000, buf, sizeof(buf)), ST_ERR_INVALID);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(db_build_options("auth", 0, buf, 0), ST_ERR_INVALID);
}
END_TEST

START_TEST(connect_timeout_seconds)
{
	ck_assert_int_eq(db_connect_timeout_secs(0), 5); /* the default */
	ck_assert_int_eq(db_connect_timeout_secs(-3), 5);
	ck_assert_int_eq(db_connect_timeout_secs(1), 2); /* libpq's minimum */
	ck_assert_int_eq(db_connect_timeout_secs(2000), 2);
	ck_assert_int_eq(db_connect_timeout_secs(2001), 3); /* rounded up */
	ck_assert_int_eq(db_connect_timeout_secs(10000), 10);
}
END_TEST

Suite *
db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("pure");

	tcase_add_loop_test(tc, sqlstate_table, 0, (int)ST_ARRAY_LEN(states));
	tcase_add_loop_test(tc, options_table, 0, (int)ST_ARRAY_LEN(options));
	tcase_add_test(tc, options_small_buffer);
	tcase_add_test(tc, connect_timeout_seconds);
	suite_add_tcase(s, tc);
	return s;
}
