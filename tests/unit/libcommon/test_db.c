/*
 * Unit tests for the pure parts of db.c: SQLSTATE to error mapping, the libpq `options`
 * string (search_path and statement_timeout, with the schema validated), and the connect
 * timeout in libpq's whole seconds. No server.
 */
#include <check.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "strata/db.h"
#include "strata/json.h"

Suite *db_suite(void);

/* Internal to db.c, visible under ST_TESTING. */
enum st_err db_build_options(const char *schema, int statement_timeout_ms, char *buf, size_t cap);
int db_connect_timeout_secs(int connect_timeout_ms);
struct st_db_result *db_result_wrap(PGresult *res);
bool db_time_rfc3339(const char *pg, bool utc, char *buf, size_t cap);

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
	char buf[256] = "junk", want[300];
	enum st_err rc =
		db_build_options(options[_i].schema, options[_i].timeout_ms, buf, sizeof(buf));

	if (options[_i].want == NULL) {
		ck_assert_msg(rc == ST_ERR_INVALID, "accepted: %s", options[_i].schema);
		ck_assert_str_eq(buf, "");
		return;
	}
	ck_assert_msg(rc == ST_OK, "refused: %s", options[_i].schema);
	/* Every connection sets DateStyle ISO first: st_db_row_json reads times in that form. */
	snprintf(want, sizeof(want), "-c DateStyle=ISO%s%s", options[_i].want[0] != '\0' ? " " : "",
		 options[_i].want);
	ck_assert_str_eq(buf, want);
}
END_TEST

START_TEST(options_small_buffer)
{
	char buf[40];

	ck_assert_int_eq(db_build_options("auth", 0, buf, sizeof(buf)), ST_OK); /* 36 bytes */
	ck_assert_str_eq(buf, "-c DateStyle=ISO -c search_path=auth");
	ck_assert_int_eq(db_build_options("auth", 5000, buf, sizeof(buf)), ST_ERR_INVALID);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(db_build_options(NULL, 0, buf, 16),
			 ST_ERR_INVALID); /* not even DateStyle */
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

static const struct {
	const char *pg;
	bool utc;         /* a timestamp without time zone */
	const char *want; /* NULL: left as PostgreSQL wrote it */
} times[] = {
	{ "2026-01-01 00:00:00.125+00", false, "2026-01-01T00:00:00.125Z" },
	{ "2026-01-01 00:00:00+00", false, "2026-01-01T00:00:00.000Z" },
	{ "2026-01-01 09:00:00+09", false, "2026-01-01T00:00:00.000Z" },
	{ "2025-12-31 20:00:00-04", false, "2026-01-01T00:00:00.000Z" },
	{ "2026-01-01 05:30:00.999999+05:30", false, "2026-01-01T00:00:00.999Z" },
	{ "2024-02-29 23:59:59.5+00", false, "2024-02-29T23:59:59.500Z" },
	{ "1969-12-31 23:59:59.999+00", false, "1969-12-31T23:59:59.999Z" },
	{ "2026-01-01 00:00:00.5", true, "2026-01-01T00:00:00.500Z" },
	{ "2026-01-01 00:00:00+00", true, NULL }, /* a zone where none belongs */
	{ "2026-01-01 00:00:00", false, NULL },   /* and none where one must be */
	{ "infinity", false, NULL },
	{ "-infinity", false, NULL },
	{ "0044-03-15 00:00:00+00 BC", false, NULL },
	{ "12026-01-01 00:00:00+00", false, NULL },
	{ "1890-01-01 00:00:00+00:19:32", false, NULL }, /* a local mean time's seconds */
	{ "2026-01-01T00:00:00+00", false, NULL },
	{ "", false, NULL },
};

START_TEST(time_table)
{
	char buf[32] = "";
	bool ok = db_time_rfc3339(times[_i].pg, times[_i].utc, buf, sizeof(buf));

	if (times[_i].want == NULL) {
		ck_assert_msg(!ok, "%s -> %s", times[_i].pg, buf);
	} else {
		ck_assert_msg(ok, "%s refused", times[_i].pg);
		ck_assert_str_eq(buf, times[_i].want);
	}
}
END_TEST

/* A result as libpq would hand it over, built without a server. */
static struct st_db_result *
fake_result(const PGresAttDesc *cols, int ncols, const char *const *values, int rows)
{
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);

	ck_assert_ptr_nonnull(res);
	ck_assert_int_eq(PQsetResultAttrs(res, ncols, (PGresAttDesc *)cols), 1);
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < ncols; c++) {
			const char *v = values[r * ncols + c];

			ck_assert_int_eq(
				PQsetvalue(res, r, c, (char *)v, v != NULL ? (int)strlen(v) : -1),
				1);
		}
	return db_result_wrap(res);
}

#define COL(name, oid)                                                                             \
	{                                                                                          \
		(char *)(name), 0, 0, 0, (oid), -1, -1                                             \
	}

START_TEST(row_json_types)
{
	static const PGresAttDesc cols[] = {
		COL("id", 2950),    COL("n", 23),         COL("big", 20),
		COL("ratio", 1700), COL("ok", 16),        COL("no", 16),
		COL("doc", 3802),   COL("raw", 114),      COL("at", 1184),
		COL("naive", 1114), COL("name", 25),      COL("none", 25),
		COL("nan", 1700),   COL("forever", 1184), COL("_cursor_micros", 20),
	};
	static const char *const values[] = {
		"0b5c7a9e-2f4d-4d7e-9a1c-3e6f8b2d1c40",
		"-42",
		"123456789012",
		"0.25",
		"t",
		"f",
		"{\"a\": [1, {\"b\": null}]}",
		"[1,2]",
		"2026-01-01 09:00:00.125+09",
		"2026-01-01 00:00:00",
		"caf\xc3\xa9 \"x\"",
		NULL,
		"NaN",
		"infinity",
		"1767225600125000",
	};
	struct st_db_result *res = fake_result(cols, (int)ST_ARRAY_LEN(cols), values, 1);
	cJSON *row = st_db_row_json(res, 0);
	char *text = st_json_print(row, NULL);

	ck_assert_str_eq(text, "{\"id\":\"0b5c7a9e-2f4d-4d7e-9a1c-3e6f8b2d1c40\",\"n\":-42,"
			       "\"big\":123456789012,\"ratio\":0.25,\"ok\":true,"
			       "\"no\":false,\"doc\":{\"a\":[1,{\"b\":null}]},\"raw\":[1,2],"
			       "\"at\":\"2026-01-01T00:00:00.125Z\","
			       "\"naive\":\"2026-01-01T00:00:00.000Z\","
			       "\"name\":\"caf\xc3\xa9 \\\"x\\\"\",\"none\":null,\"nan\":null,"
			       "\"forever\":\"infinity\"}");
	ck_assert_int_eq(st_db_col(res, "_cursor_micros"), 14);
	ck_assert_int_eq(st_db_col(res, "nothing"), -1);
	st_free(text);
	cJSON_Delete(row);
	st_db_result_free(res);
}
END_TEST

START_TEST(row_json_rows_and_nulls)
{
	static const PGresAttDesc cols[] = { COL("id", 25), COL("n", 23), COL("doc", 3802) };
	static const char *const values[] = { "a", "1", NULL, "b", NULL, "{}" };
	struct st_db_result *res = fake_result(cols, 3, values, 2);
	cJSON *r0 = st_db_row_json(res, 0), *r1 = st_db_row_json(res, 1);
	char *t0 = st_json_print(r0, NULL), *t1 = st_json_print(r1, NULL);

	ck_assert_str_eq(t0, "{\"id\":\"a\",\"n\":1,\"doc\":null}");
	ck_assert_str_eq(t1, "{\"id\":\"b\",\"n\":null,\"doc\":{}}");
	st_free(t0);
	st_free(t1);
	cJSON_Delete(r0);
	cJSON_Delete(r1);
	st_db_result_free(res);
	/* no result: an empty object, never a crash */
	r0 = st_db_row_json(NULL, 0);
	ck_assert_int_eq(cJSON_GetArraySize(r0), 0);
	cJSON_Delete(r0);
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
	tcase_add_loop_test(tc, time_table, 0, (int)ST_ARRAY_LEN(times));
	tcase_add_test(tc, row_json_types);
	tcase_add_test(tc, row_json_rows_and_nulls);
	suite_add_tcase(s, tc);
	return s;
}
