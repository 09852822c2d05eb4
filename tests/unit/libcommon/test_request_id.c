/*
 * Unit tests for request ids (request_id.c): which ids pass (charset, length, a NUL among the
 * bytes), and that one which does not is replaced by a new UUID while a good one is kept.
 */
#include <check.h>
#include <string.h>

#include "strata/request_id.h"

Suite *request_id_suite(void);

static const struct {
	const char *id;
	bool ok;
} ids[] = {
	{ "abc", true },
	{ "0f8e2a4c-9b1d-4c3e-8f7a-123456789abc", true },
	{ "A-Z_a.z:0-9", true },
	{ "x", true },
	{ "", false },
	{ "a b", false },
	{ "a/b", false },
	{ "a;b", false },
	{ "a\nb", false },
	{ "a\rb", false },
	{ "a\r\nX-Injected: 1", false },
	{ "a\"b", false },
	{ "a@b", false },
	{ "caf\xc3\xa9", false },
	{ "tab\t", false },
	{ "\x7f", false },
};

START_TEST(request_id_table)
{
	ck_assert_msg(st_request_id_valid(ids[_i].id, strlen(ids[_i].id)) == ids[_i].ok, "'%s'",
		      ids[_i].id);
}
END_TEST

START_TEST(request_id_length_edges)
{
	char id[80];

	memset(id, 'a', sizeof(id));
	ck_assert(st_request_id_valid(id, ST_REQUEST_ID_MAX)); /* 64: the longest */
	ck_assert(!st_request_id_valid(id, ST_REQUEST_ID_MAX + 1));
	ck_assert(!st_request_id_valid(id, sizeof(id)));
	ck_assert(!st_request_id_valid(id, 0));
	ck_assert(!st_request_id_valid(NULL, 3));
	/* bytes from a Kafka header: a NUL among them is no end, it is refused */
	ck_assert(!st_request_id_valid("ab\0cd", 5));
	ck_assert(st_request_id_valid("ab\0cd", 2));
}
END_TEST

START_TEST(request_id_pick)
{
	char out[ST_REQUEST_ID_MAX + 1], again[ST_REQUEST_ID_MAX + 1];
	char long_id[ST_REQUEST_ID_MAX + 1];

	st_request_id_pick("abc-1", 5, out, sizeof(out));
	ck_assert_str_eq(out, "abc-1");
	st_request_id_pick("abc-1xyz", 5, out, sizeof(out)); /* len bytes, not to the NUL */
	ck_assert_str_eq(out, "abc-1");
	memset(long_id, 'b', ST_REQUEST_ID_MAX);
	st_request_id_pick(long_id, ST_REQUEST_ID_MAX, out, sizeof(out));
	ck_assert_uint_eq(strlen(out), ST_REQUEST_ID_MAX);
	st_request_id_pick("a\r\nb", 4, out, sizeof(out));
	ck_assert(st_uuid_valid(out));
	st_request_id_pick("a\r\nb", 4, again, sizeof(again));
	ck_assert(st_uuid_valid(again));
	ck_assert_str_ne(out, again); /* a new one each time */
	st_request_id_pick("", 0, out, sizeof(out));
	ck_assert(st_uuid_valid(out));
}
END_TEST

Suite *
request_id_suite(void)
{
	Suite *s = suite_create("request_id");
	TCase *tc = tcase_create("request_id");

	tcase_add_loop_test(tc, request_id_table, 0, (int)ST_ARRAY_LEN(ids));
	tcase_add_test(tc, request_id_length_edges);
	tcase_add_test(tc, request_id_pick);
	suite_add_tcase(s, tc);
	return s;
}
