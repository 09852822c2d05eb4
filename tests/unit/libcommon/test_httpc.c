/*
 * Unit tests for the pure parts of httpc.c: which methods may be retried, the back-off
 * schedule (doubling per attempt, +-25% jitter supplied by the caller, never above 10 s), and
 * when a streamed exchange whose upload failed still counts as answered. No request is made.
 */
#include <check.h>
#include <curl/curl.h>
#include <string.h>

#include "strata/httpc.h"

Suite *httpc_suite(void);

static const struct {
	const char *method;
	bool idempotent;
} methods[] = {
	{ "GET", true },     { "HEAD", true },  { "PUT", true },    { "DELETE", true },
	{ "OPTIONS", true }, { "POST", false }, { "PATCH", false }, { "CONNECT", false },
	{ "TRACE", false },  { "get", false },  { "Get", false },   { "", false },
	{ "GETX", false },   { "GE", false },   { "GET ", false },  { " GET", false },
};

START_TEST(idempotent_table)
{
	ck_assert_msg(st_httpc_idempotent(methods[_i].method) == methods[_i].idempotent, "'%s'",
		      methods[_i].method);
}
END_TEST

/* jitter 0.5 is the midpoint: no change */
static const struct {
	int base, attempt;
	double jitter;
	int want;
} schedule[] = {
	/* doubling */
	{ 100, 1, 0.5, 100 },
	{ 100, 2, 0.5, 200 },
	{ 100, 3, 0.5, 400 },
	{ 100, 4, 0.5, 800 },
	{ 50, 5, 0.5, 800 },
	/* jitter: -25% at 0, +25% just under 1 (binary fractions, so the products are exact) */
	{ 100, 1, 0.0, 75 },
	{ 100, 1, 0.25, 87 },
	{ 100, 1, 0.75, 112 },
	{ 100, 1, 255 / 256.0, 124 },
	{ 400, 2, 0.0, 600 },
	{ 400, 2, 255 / 256.0, 998 },
	/* the 10 s cap, before and after jitter */
	{ 1000, 4, 0.5, 8000 },
	{ 1000, 4, 255 / 256.0, 9984 },
	{ 1000, 5, 0.5, 10000 },
	{ 1000, 5, 0.0, 10000 },
	{ 10000, 1, 255 / 256.0, 10000 },
	{ 10000, 1, 0.0, 7500 },
	{ 8000, 1, 255 / 256.0, 9984 },
	{ 9000, 1, 255 / 256.0, 10000 },
	{ 50, 30, 0.5, 10000 },
	{ 1, 1000, 255 / 256.0, 10000 },
	{ 2147483647, 1, 0.5, 10000 },
	{ 2147483647, 40, 0.0, 10000 },
	/* edges */
	{ 0, 3, 0.5, 0 },
	{ 100, 0, 0.5, 100 },
	{ 1, 1, 0.0, 0 },
};

START_TEST(backoff_table)
{
	int got = st_httpc_backoff_ms(schedule[_i].base, schedule[_i].attempt, schedule[_i].jitter);

	ck_assert_msg(got == schedule[_i].want, "base %d attempt %d jitter %g: %d, want %d",
		      schedule[_i].base, schedule[_i].attempt, schedule[_i].jitter, got,
		      schedule[_i].want);
}
END_TEST

START_TEST(backoff_bounds)
{
	static const int bases[] = { 1, 10, 50, 100, 250, 1000, 3000, 10000 };

	for (size_t b = 0; b < ST_ARRAY_LEN(bases); b++) {
		for (int attempt = 1; attempt <= 20; attempt++) {
			double nominal = bases[b];
			int prev = -1;

			for (int i = 1; i < attempt; i++)
				nominal *= 2;
			for (int j = 0; j < 256; j++) {
				double jitter = j / 256.0; /* what st_httpc_do passes */
				int got = st_httpc_backoff_ms(bases[b], attempt, jitter);
				double lo = nominal * 0.75, hi = nominal * 1.25;

				ck_assert_int_le(got, 10000);
				ck_assert_int_ge(got, 0);
				/* within +-25% of base * 2^(attempt-1), unless capped */
				if (hi <= 10000) {
					ck_assert_msg(got >= (int)lo && got <= hi,
						      "base %d attempt %d jitter %g: %d", bases[b],
						      attempt, jitter, got);
				}
				/* more jitter never waits less */
				ck_assert_int_ge(got, prev);
				prev = got;
			}
		}
	}
}
END_TEST

START_TEST(backoff_grows_with_attempts)
{
	for (int attempt = 1; attempt < 40; attempt++) {
		int now = st_httpc_backoff_ms(50, attempt, 0.5);
		int next = st_httpc_backoff_ms(50, attempt + 1, 0.5);

		ck_assert_int_ge(next, now);
		if (now * 2 <= 10000)
			ck_assert_int_eq(next, now * 2);
	}
}
END_TEST

/* Status lines as curl hands them to the streaming header callback. */
static const struct {
	const char *line;
	long want; /* 0: refused */
} status_lines[] = {
	{ "HTTP/1.1 200 OK\r\n", 200 },
	{ "HTTP/1.0 404 Not Found\r\n", 404 },
	{ "HTTP/1.1 100 Continue\r\n", 100 },
	{ "HTTP/2 503 \r\n", 503 },
	{ "HTTP/1.1 204\r\n", 204 },
	{ "HTTP/1.1 999 Custom\r\n", 999 },
	{ "HTTP/1.1 2000 OK\r\n", 0 },
	{ "HTTP/1.1 20 OK\r\n", 0 },
	{ "HTTP/1.1 099 OK\r\n", 0 },
	{ "HTTP/1.1 2x0 OK\r\n", 0 },
	{ "HTTP/1.1\r\n", 0 },
	{ "Content-Type: text/plain\r\n", 0 },
	{ "HTTPS/1.1 200 OK\r\n", 0 },
	{ "\r\n", 0 },
	{ "", 0 },
};

START_TEST(status_line_table)
{
	long got = 0;
	bool ok = st_httpc_parse_status(status_lines[_i].line, strlen(status_lines[_i].line), &got);

	ck_assert_msg(ok == (status_lines[_i].want != 0), "'%s'", status_lines[_i].line);
	if (ok)
		ck_assert_int_eq(got, status_lines[_i].want);
}
END_TEST

static const struct {
	const char *line, *name, *value; /* name NULL: refused */
} header_lines[] = {
	{ "Content-Type: application/json\r\n", "Content-Type", "application/json" },
	{ "X-Empty:\r\n", "X-Empty", "" },
	{ "X-Spaces:   a b  \t\r\n", "X-Spaces", "a b" },
	{ "x:y\n", "x", "y" },
	{ "Set-Cookie: a=b; Path=/; HttpOnly\r\n", "Set-Cookie", "a=b; Path=/; HttpOnly" },
	{ "Location: http://h/p?q=1:2\r\n", "Location", "http://h/p?q=1:2" },
	{ "No colon here\r\n", NULL, NULL },
	{ ": no name\r\n", NULL, NULL },
	{ "Bad Name: v\r\n", NULL, NULL },
	{ "Bad\"Name: v\r\n", NULL, NULL },
	{ " Folded: v\r\n", NULL, NULL },
	{ "Split: a\rb\r\n", NULL, NULL },
};

START_TEST(header_line_table)
{
	char buf[128];
	struct st_httpc_header h;
	bool ok = st_httpc_parse_header(header_lines[_i].line, strlen(header_lines[_i].line), buf,
					sizeof(buf), &h);

	ck_assert_msg(ok == (header_lines[_i].name != NULL), "'%s'", header_lines[_i].line);
	if (!ok)
		return;
	ck_assert_str_eq(h.name, header_lines[_i].name);
	ck_assert_str_eq(h.value, header_lines[_i].value);
}
END_TEST

START_TEST(header_line_room)
{
	static const char line[] = "Name: value\r\n";
	char buf[16];
	struct st_httpc_header h;

	/* "Name\0value\0" takes 11 bytes */
	ck_assert(st_httpc_parse_header(line, strlen(line), buf, 11, &h));
	ck_assert_str_eq(h.value, "value");
	ck_assert(!st_httpc_parse_header(line, strlen(line), buf, 10, &h));
	ck_assert(!st_httpc_parse_header(line, strlen(line), buf, 0, &h));
}
END_TEST

/* ---- an answer before the end of the upload ---- */

bool httpc_answered_early(int cc, bool uploading, bool head_done, int64_t want, int64_t got);

static const struct {
	int cc;
	bool uploading, head_done;
	int64_t want, got;
	bool answered;
} early[] = {
	{ CURLE_SEND_ERROR, true, true, 180, 180, true },   /* a whole 413, then the reset */
	{ CURLE_SEND_ERROR, true, true, 0, 0, true },       /* a whole answer without a body */
	{ CURLE_SEND_ERROR, true, true, 180, 179, false },  /* cut short */
	{ CURLE_SEND_ERROR, true, true, -1, 180, false },   /* chunked: its end unseen */
	{ CURLE_SEND_ERROR, true, false, 180, 0, false },   /* no head yet */
	{ CURLE_SEND_ERROR, false, true, 180, 180, false }, /* nothing was being sent */
	{ CURLE_RECV_ERROR, true, true, 180, 180, false },  /* the answer itself broke */
	{ CURLE_OPERATION_TIMEDOUT, true, true, 180, 180, false },
	{ CURLE_OK, true, true, 180, 180, false }, /* no failure to forgive */
};

START_TEST(answered_early_table)
{
	ck_assert_msg(httpc_answered_early(early[_i].cc, early[_i].uploading, early[_i].head_done,
					   early[_i].want, early[_i].got) == early[_i].answered,
		      "case %d", _i);
}
END_TEST

Suite *
httpc_suite(void)
{
	Suite *s = suite_create("httpc");
	TCase *pure = tcase_create("pure");

	tcase_add_loop_test(pure, idempotent_table, 0, (int)ST_ARRAY_LEN(methods));
	tcase_add_loop_test(pure, backoff_table, 0, (int)ST_ARRAY_LEN(schedule));
	tcase_add_test(pure, backoff_bounds);
	tcase_add_test(pure, backoff_grows_with_attempts);
	tcase_add_loop_test(pure, status_line_table, 0, (int)ST_ARRAY_LEN(status_lines));
	tcase_add_loop_test(pure, header_line_table, 0, (int)ST_ARRAY_LEN(header_lines));
	tcase_add_test(pure, header_line_room);
	tcase_add_loop_test(pure, answered_early_table, 0, (int)ST_ARRAY_LEN(early));
	suite_add_tcase(s, pure);
	return s;
}
