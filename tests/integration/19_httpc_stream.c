/*
 * st_httpc_stream on http:// URLs, which go over the client's own keep-alive sockets rather
 * than libcurl, against libcommon's own server, run in this process on a spare port by
 * stream_fixture.c (no running Strata suite is needed): answers with a length, chunked and
 * streamed answers of several MiB, HEAD and 204, uploads with a length and chunked, answers
 * before the end of an upload, keep-alive reuse (the server reports the client's port, so
 * connections are counted on the wire), a server restarted under a pooled connection, header
 * lines, callbacks that abort, and the pool's bound. Peers that misbehave are the unit runner's
 * (tests/unit/libcommon/test_httpc_peers.c).
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/http.h"
#include "strata/httpc.h"

#include "stream_fixture.h"

#define UPLOAD         (3 * 1024 * 1024 + 777)
#define REFUSED_UPLOAD (4 * 1024 * 1024)

/* GET /hello succeeds whole: the client is fine after whatever came before. */
static void
assert_hello(struct st_httpc *client)
{
	struct xfer x;

	xfer_init(&x);
	ck_assert_int_eq(xfer_run(client, "GET", BASE "/hello", &x), ST_OK);
	ck_assert_int_eq(x.heads, 1);
	ck_assert_int_eq(x.status, 200);
	ck_assert_uint_eq(x.len, 11);
	ck_assert_str_eq(x.body, "hello world");
}

/* ---- answers ---- */

START_TEST(answer_with_length)
{
	struct fixture f;
	struct xfer x;

	fixture_start(&f, true, 0);
	xfer_init(&x);
	ck_assert_int_eq(xfer_run(f.client, "GET", BASE "/hello", &x), ST_OK);
	ck_assert_int_eq(x.heads, 1);
	ck_assert_int_eq(x.status, 200);
	ck_assert_ptr_nonnull(xfer_header(&x, "X-Custom"));
	ck_assert_str_eq(xfer_header(&x, "X-Custom"), "custom value");
	ck_assert_ptr_nonnull(xfer_header(&x, "Content-Type"));
	ck_assert_str_eq(xfer_header(&x, "Content-Type"), "text/plain");
	ck_assert_ptr_nonnull(xfer_header(&x, "Content-Length"));
	ck_assert_str_eq(xfer_header(&x, "Content-Length"), "11");
	ck_assert(!x.body_before_head);
	ck_assert_uint_eq(x.len, 11);
	ck_assert_str_eq(x.body, "hello world");
	fixture_stop(&f);
}
END_TEST

/* Several MiB in many writes of uneven size, chunked (_i 0) and with a length (_i 1). */
START_TEST(large_streamed_answer)
{
	static const char *const urls[] = { BASE "/stream/chunked", BASE "/stream/length" };
	struct fixture f;
	struct xfer x;

	fixture_start(&f, true, 0);
	xfer_init(&x);
	x.check_pattern = true;
	ck_assert_int_eq(xfer_run(f.client, "GET", urls[_i], &x), ST_OK);
	ck_assert_int_eq(x.heads, 1);
	ck_assert_int_eq(x.status, 200);
	ck_assert(!x.body_before_head);
	ck_assert_uint_eq(x.len, BIG);
	ck_assert_msg(x.off_pattern == -1, "byte %lld out of place", (long long)x.off_pattern);
	ck_assert_uint_eq(x.sum, fixture_pattern_sum(BIG));
	assert_hello(f.client); /* the connection was left at the end of that answer */
	fixture_stop(&f);
}
END_TEST

START_TEST(head_has_no_body)
{
	struct fixture f;
	struct xfer x;

	fixture_start(&f, true, 0);
	/* Content-Length: 11 in the head, no body after it */
	xfer_init(&x);
	x.idle_ms = 2000;
	ck_assert_int_eq(xfer_run(f.client, "HEAD", BASE "/hello", &x), ST_OK);
	ck_assert_int_eq(x.heads, 1);
	ck_assert_int_eq(x.status, 200);
	ck_assert_ptr_nonnull(xfer_header(&x, "X-Custom"));
	ck_assert_uint_eq(x.len, 0);
	assert_hello(f.client);
	/* a streamed answer's head: neither a length nor chunked */
	xfer_init(&x);
	x.idle_ms = 2000;
	ck_assert_int_eq(xfer_run(f.client, "HEAD", BASE "/stream/chunked", &x), ST_OK);
	ck_assert_int_eq(x.heads, 1);
	ck_assert_int_eq(x.status, 200);
	ck_assert_uint_eq(x.len, 0);
	assert_hello(f.client);
	fixture_stop(&f);
}
END_TEST

START_TEST(no_content_has_no_body)
{
	static const char *const urls[] = { BASE "/empty", BASE "/empty-streamed" };
	struct fixture f;

	fixture_start(&f, true, 0);
	for (size_t i = 0; i < ST_ARRAY_LEN(urls); i++) {
		struct xfer x;

		xfer_init(&x);
		x.idle_ms = 2000;
		ck_assert_msg(xfer_run(f.client, "GET", urls[i], &x) == ST_OK, "%s", urls[i]);
		ck_assert_int_eq(x.heads, 1);
		ck_assert_int_eq(x.status, 204);
		ck_assert_uint_eq(x.len, 0);
		assert_hello(f.client);
	}
	fixture_stop(&f);
}
END_TEST

/* ---- uploads ---- */

/* A few MiB from the read callback in small pieces: with a length (_i 0) and chunked (_i 1). */
START_TEST(upload_whole)
{
	struct fixture f;
	struct xfer x;
	char want[200];
	bool chunked = _i == 1;

	fixture_start(&f, true, 0);
	xfer_init(&x);
	x.upload = true;
	x.up_size = UPLOAD;
	x.body_len = chunked ? -1 : UPLOAD;
	ck_assert_int_eq(xfer_run(f.client, "POST", BASE "/upload", &x), ST_OK);
	ck_assert_uint_eq(x.up_sent, UPLOAD);
	ck_assert_int_eq(x.heads, 1);
	ck_assert_int_eq(x.status, 200);
	if (chunked)
		snprintf(want, sizeof(want), "len=%d sum=%08x te=chunked cl=-", UPLOAD,
			 (unsigned)x.up_sum);
	else
		snprintf(want, sizeof(want), "len=%d sum=%08x te=- cl=%d", UPLOAD,
			 (unsigned)x.up_sum, UPLOAD);
	ck_assert_str_eq(x.body, want);
	ck_assert_uint_eq(x.up_sum, fixture_pattern_sum(UPLOAD));
	assert_hello(f.client);
	fixture_stop(&f);
}
END_TEST

/* The server answers 413 to a 4 MiB upload, before reading any of it (_i 0, 1) or after
 * 256 KiB (_i 2, 3), with a length (even _i) or chunked (odd _i): the answer is the result,
 * and the client goes on working. */
START_TEST(early_answer)
{
	struct fixture f;
	struct xfer x;

	fixture_start(&f, true, 0);
	xfer_init(&x);
	x.upload = true;
	x.up_size = REFUSED_UPLOAD;
	x.body_len = _i % 2 == 0 ? REFUSED_UPLOAD : -1;
	ck_assert_int_eq(
		xfer_run(f.client, "POST", _i < 2 ? BASE "/refuse" : BASE "/refuse-late", &x),
		ST_OK);
	ck_assert_int_eq(x.heads, 1);
	ck_assert_int_eq(x.status, 413);
	ck_assert_ptr_nonnull(strstr(x.body, "too large"));
	assert_hello(f.client);
	assert_hello(f.client);
	fixture_stop(&f);
}
END_TEST

/* ---- connections ---- */

/* 20 calls in a row, answers with a length and chunked, uploads with a length and chunked:
 * one connection. */
START_TEST(keep_alive_reuse)
{
	struct fixture f;
	int first = -1;

	fixture_start(&f, true, 0);
	for (int i = 0; i < 20; i++) {
		struct xfer x;
		const char *method = i % 4 < 2 ? "GET" : "POST";
		const char *url = i % 4 == 1 ? BASE "/port/chunked" : BASE "/port";

		xfer_init(&x);
		if (i % 4 >= 2) {
			x.upload = true;
			x.up_size = 10000;
			x.body_len = i % 4 == 2 ? 10000 : -1;
		}
		ck_assert_msg(xfer_run(f.client, method, url, &x) == ST_OK, "call %d", i);
		ck_assert_int_eq(x.status, 200);
		if (first < 0)
			first = (int)strtol(x.body, NULL, 10);
		ck_assert_msg(strtol(x.body, NULL, 10) == first,
			      "call %d came from port %s, not %d", i, x.body, first);
	}
	ck_assert_int_eq(fixture_connections_seen(), 1);
	fixture_stop(&f);
}
END_TEST

/* The server restarts under a pooled connection: the next call notices and opens another. */
START_TEST(stale_pooled_connection)
{
	struct fixture f;

	fixture_start(&f, true, 0);
	assert_hello(f.client);
	st_http_server_destroy(f.server);
	f.server = fixture_server_start(f.metrics);
	assert_hello(f.client);
	ck_assert_int_eq(fixture_connections_seen(), 2);
	assert_hello(f.client);
	ck_assert_int_eq(fixture_connections_seen(), 2);
	fixture_stop(&f);
}
END_TEST

/* ---- requests ---- */

/* "Name;" sends Name with an empty value; other lines go as they are; request_id goes as
 * X-Request-Id. */
START_TEST(header_lines)
{
	/* lines without a name or a colon are dropped, as libcurl does: an empty one would end
	 * the head early, and what follows would be read as a body or a second request */
	static const char *const headers[] = {
		"",          "X-Empty;",    "No colon here", "Bad Name: v",
		"X-Some: v", "X-Half;more", ": no name",     "X-Some2;",
		NULL
	};
	struct fixture f;
	struct xfer x;

	fixture_start(&f, true, 0);
	xfer_init(&x);
	x.headers = headers;
	x.request_id = "rid-19-stream";
	ck_assert_int_eq(xfer_run(f.client, "GET", BASE "/headers", &x), ST_OK);
	ck_assert_int_eq(x.status, 200);
	ck_assert_str_eq(x.body, "x-empty=[] x-some=[v] rid=[rid-19-stream]");
	ck_assert_ptr_nonnull(xfer_header(&x, "X-Request-Id"));
	ck_assert_str_eq(xfer_header(&x, "X-Request-Id"), "rid-19-stream");
	/* the connection is still in step: the next call on it works */
	xfer_init(&x);
	ck_assert_int_eq(xfer_run(f.client, "GET", BASE "/headers", &x), ST_OK);
	ck_assert_int_eq(x.status, 200);
	ck_assert_msg(strncmp(x.body, "x-empty=[(none)] x-some=[(none)] ", 33) == 0, "%s", x.body);
	fixture_stop(&f);
}
END_TEST

/* A method or target that would break the request line is refused before anything is sent. */
START_TEST(bad_request_line_refused)
{
	static const char *const methods[] = { "GE T", "", "GET\r\nX: y" };
	struct fixture f;

	fixture_start(&f, true, 0);
	for (size_t i = 0; i < ST_ARRAY_LEN(methods); i++) {
		struct xfer x;

		xfer_init(&x);
		ck_assert_int_eq(xfer_run(f.client, methods[i], BASE "/hello", &x), ST_ERR_INVALID);
		ck_assert_int_eq(x.heads, 0);
	}
	{
		struct xfer x;

		xfer_init(&x);
		ck_assert_int_eq(xfer_run(f.client, "GET", BASE "/hel lo", &x), ST_ERR_INVALID);
		ck_assert_int_eq(x.heads, 0);
	}
	fixture_stop(&f);
}
END_TEST

/* A callback's error ends the transfer and is the result; the client goes on working. */
START_TEST(callback_aborts)
{
	struct fixture f;
	struct xfer x;

	fixture_start(&f, true, 0);
	/* on_head */
	xfer_init(&x);
	x.head_rc = ST_ERR_AUTH;
	ck_assert_int_eq(xfer_run(f.client, "GET", BASE "/stream/chunked", &x), ST_ERR_AUTH);
	ck_assert_int_eq(x.heads, 1);
	ck_assert_uint_eq(x.len, 0);
	assert_hello(f.client);
	/* on_body, early in a long answer */
	xfer_init(&x);
	x.body_fail = 100000;
	ck_assert_int_eq(xfer_run(f.client, "GET", BASE "/stream/length", &x), ST_ERR_TOO_LARGE);
	ck_assert_uint_lt(x.len, BIG);
	assert_hello(f.client);
	/* read, in the middle of the upload */
	xfer_init(&x);
	x.upload = true;
	x.up_size = UPLOAD;
	x.body_len = UPLOAD;
	x.up_fail = 100000;
	x.up_rc = ST_ERR_INVALID;
	ck_assert_int_eq(xfer_run(f.client, "POST", BASE "/upload", &x), ST_ERR_INVALID);
	ck_assert_int_eq(x.heads, 0);
	assert_hello(f.client);
	fixture_stop(&f);
}
END_TEST

/* ---- the pool ---- */

struct call {
	struct st_httpc *client;
	struct xfer x;
	enum st_err rc;
};

static void *
call_slow(void *arg)
{
	struct call *c = arg;

	c->rc = xfer_run(c->client, "GET", BASE "/slow", &c->x);
	return NULL;
}

/* pool_size 2: six streamed calls at once all succeed, never more than two at the server,
 * over at most two connections. */
START_TEST(pool_bounds_streams)
{
	struct fixture f;
	pthread_t t[6];
	struct call calls[6];

	fixture_start(&f, true, 2);
	for (int i = 0; i < 6; i++) {
		calls[i].client = f.client;
		xfer_init(&calls[i].x);
		ck_assert_int_eq(pthread_create(&t[i], NULL, call_slow, &calls[i]), 0);
	}
	for (int i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 6; i++) {
		ck_assert_msg(calls[i].rc == ST_OK, "call %d: %s", i, st_err_str(calls[i].rc));
		ck_assert_int_eq(calls[i].x.status, 200);
		ck_assert_str_eq(calls[i].x.body, "ok");
	}
	ck_assert_int_le(fixture_most_in_flight(), 2);
	ck_assert_int_ge(fixture_most_in_flight(), 1);
	ck_assert_int_le(fixture_connections_seen(), 2);
	fixture_stop(&f);
}
END_TEST

Suite *
httpc_stream_suite(void)
{
	Suite *s = suite_create("httpc_stream");
	TCase *answers = tcase_create("answers"), *uploads = tcase_create("uploads");
	TCase *conns = tcase_create("connections"), *requests = tcase_create("requests");

	/* each server stop takes about 2 s (libcommon's shutdown), more on a loaded machine */
	tcase_set_timeout(answers, 60);
	tcase_set_timeout(uploads, 60);
	tcase_set_timeout(conns, 60);
	tcase_set_timeout(requests, 60);
	tcase_add_test(answers, answer_with_length);
	tcase_add_loop_test(answers, large_streamed_answer, 0, 2);
	tcase_add_test(answers, head_has_no_body);
	tcase_add_test(answers, no_content_has_no_body);
	suite_add_tcase(s, answers);

	tcase_add_loop_test(uploads, upload_whole, 0, 2);
	tcase_add_loop_test(uploads, early_answer, 0, 4);
	suite_add_tcase(s, uploads);

	tcase_add_test(conns, keep_alive_reuse);
	tcase_add_test(conns, stale_pooled_connection);
	tcase_add_test(conns, pool_bounds_streams);
	suite_add_tcase(s, conns);

	tcase_add_test(requests, header_lines);
	tcase_add_test(requests, callback_aborts);
	tcase_add_test(requests, bad_request_line_refused);
	suite_add_tcase(s, requests);
	return s;
}
