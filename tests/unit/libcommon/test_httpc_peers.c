/*
 * The HTTP client against raw peers (peer.h) that misbehave, each on a port of its own: an
 * answer delimited by close, no answer, garbage, a body cut short, an answer dripped a byte at
 * a time, an interim 100, a kept connection closed as the next request arrives, too many
 * headers, chunked not the last coding; and the framing rules: both Transfer-Encoding and
 * Content-Length (the length goes), more interim answers or trailer lines than allowed, chunk
 * lines ended by a bare LF, and a request id or header line carrying CR LF, on the client's
 * own sockets and on the libcurl path. A port where nothing listens, too.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "peer.h"
#include "strata/httpc.h"

enum mode {
	CLOSE_DELIMITED, /* a body delimited by closing the connection */
	SILENT,          /* never answers */
	GARBAGE,         /* answers something that is not HTTP, and stays */
	CUT_BODY,        /* Content-Length 100, then 10 bytes and a close */
	DRIP,            /* a chunked answer with trailers, one byte per send; keeps alive */
	INTERIM,         /* 100 Continue, then the answer; keeps alive */
	DROP_SECOND,     /* answers a connection's first request, closes at its second */
	MANY_HEADERS,    /* 130 headers, then Content-Length: 2 and "ok" */
	TE_NOT_LAST,     /* Transfer-Encoding: chunked, gzip: a body to the close */
	TE_AND_LENGTH,   /* chunked and a Content-Length that lies; keeps alive */
	MANY_INTERIM,    /* 50 interim answers before the final one */
	MANY_TRAILERS,   /* a chunked body ending in 100 trailer lines */
	BARE_LF_CHUNK,   /* a chunk size line ended by a bare LF */
	OK,              /* Content-Length: 2, "ok"; keeps alive */
};

static const char ok_answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/* Sends the answer and closes, having read what the client still sends. */
static bool
send_and_close(struct peer *p, int fd, const char *answer)
{
	peer_send_str(fd, answer);
	shutdown(fd, SHUT_WR);
	peer_drain(p, fd);
	return false;
}

static bool
answer(struct peer *p, int fd, int nth, void *ctx)
{
	enum mode mode = *(enum mode *)ctx;
	char buf[16384];
	size_t n = 0;

	switch (mode) {
	case CLOSE_DELIMITED:
		return send_and_close(p, fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello");
	case SILENT:
		while (!peer_stopping(p)) {
			struct timespec ts = { 0, 20 * 1000000L };

			nanosleep(&ts, NULL);
		}
		return false;
	case GARBAGE:
		peer_send_str(fd, "NOT HTTP\r\n\r\n");
		peer_drain(p, fd);
		return false;
	case CUT_BODY:
		return send_and_close(p, fd,
				      "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
	case DRIP: {
		static const char drip[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
					   "X-Drip: yes\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n"
					   "0\r\nX-Trailer: t\r\n\r\n";

		for (size_t i = 0; i < strlen(drip); i++) {
			struct timespec ts = { 0, 1000000L };

			peer_send(fd, drip + i, 1);
			nanosleep(&ts, NULL);
		}
		return true;
	}
	case INTERIM:
		peer_send_str(fd, "HTTP/1.1 100 Continue\r\n\r\n");
		peer_send_str(fd, ok_answer);
		return true;
	case DROP_SECOND:
		if (nth > 0)
			return false; /* its keep-alive ran out as the request came */
		peer_send_str(fd, ok_answer);
		return true;
	case MANY_HEADERS:
		n = (size_t)snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n");
		for (int i = 0; i < 130; i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-Filler-%d: f\r\n", i);
		snprintf(buf + n, sizeof(buf) - n, "Content-Length: 2\r\n\r\nok");
		peer_send_str(fd, buf);
		return true;
	case TE_NOT_LAST:
		return send_and_close(p, fd,
				      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n"
				      "\r\n5\r\nhello\r\n0\r\n\r\n");
	case TE_AND_LENGTH:
		peer_send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
				  "Content-Length: 3\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
		return true;
	case MANY_INTERIM:
		for (int i = 0; i < 50; i++)
			peer_send_str(fd, "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n");
		peer_send_str(fd, ok_answer);
		return true;
	case MANY_TRAILERS:
		n = (size_t)snprintf(buf, sizeof(buf),
				     "HTTP/1.1 200 OK\r\n"
				     "Transfer-Encoding: chunked\r\n\r\n"
				     "2\r\nok\r\n0\r\n");
		for (int i = 0; i < 100; i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "T-%d: t\r\n", i);
		snprintf(buf + n, sizeof(buf) - n, "\r\n");
		peer_send_str(fd, buf);
		return true;
	case BARE_LF_CHUNK:
		peer_send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				  "5\nhello\r\n0\r\n\r\n");
		return true;
	case OK:
		peer_send_str(fd, ok_answer);
		return true;
	}
	return false;
}

/* One test's peer and client. */
struct fixture {
	enum mode mode;
	struct peer *peer;
	struct st_httpc *client;
	char url[128];
};

static void
fixture_start(struct fixture *f, enum mode mode)
{
	f->mode = mode;
	f->peer = peer_start(answer, &f->mode);
	f->client = peer_client();
	peer_url(f->peer, "/raw", f->url, sizeof(f->url));
}

static void
fixture_stop(struct fixture *f)
{
	st_httpc_destroy(f->client);
	peer_stop(f->peer);
}

/* A GET to the peer, recorded in a fresh x. */
static enum st_err
get(struct fixture *f, struct xfer *x)
{
	xfer_init(x);
	return xfer_run(f->client, "GET", f->url, x);
}

/* "Connection: close" without a length: the body is what comes before the close. */
START_TEST(close_delimited_body)
{
	struct fixture f;

	fixture_start(&f, CLOSE_DELIMITED);
	for (int i = 0; i < 2; i++) {
		struct xfer x;

		ck_assert_msg(get(&f, &x) == ST_OK, "call %d", i);
		ck_assert_int_eq(x.heads, 1);
		ck_assert_int_eq(x.status, 200);
		ck_assert_uint_eq(x.len, 5);
		ck_assert_str_eq(x.body, "hello");
	}
	ck_assert_int_eq(peer_accepted(f.peer), 2);
	ck_assert_int_eq(peer_requests(f.peer), 2);
	fixture_stop(&f);
}
END_TEST

START_TEST(silent_peer_times_out)
{
	struct fixture f;
	struct xfer x;
	int64_t t0, ms;
	enum st_err rc;

	fixture_start(&f, SILENT);
	xfer_init(&x);
	x.idle_ms = 300;
	t0 = st_now_mono_ms();
	rc = xfer_run(f.client, "GET", f.url, &x);
	ms = st_now_mono_ms() - t0;
	ck_assert_msg(rc == ST_ERR_TIMEOUT, "rc %s after %lld ms", st_err_str(rc), (long long)ms);
	ck_assert_int_ge(ms, 250);
	ck_assert_int_lt(ms, 3000);
	ck_assert_int_eq(x.heads, 0);
	ck_assert_int_eq(peer_requests(f.peer), 1);
	fixture_stop(&f);
}
END_TEST

START_TEST(closed_port_unavailable)
{
	struct st_httpc *client = peer_client();
	struct xfer x;
	char url[64];
	enum st_err rc;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", peer_closed_port());
	xfer_init(&x);
	rc = xfer_run(client, "GET", url, &x);
	ck_assert_msg(rc == ST_ERR_UNAVAILABLE, "rc %s", st_err_str(rc));
	ck_assert_int_eq(x.heads, 0);
	st_httpc_destroy(client);
}
END_TEST

START_TEST(garbage_answer)
{
	struct fixture f;
	struct xfer x;
	enum st_err rc;

	fixture_start(&f, GARBAGE);
	rc = get(&f, &x); /* the peer stays: waiting for more is a timeout, not ST_ERR_IO */
	ck_assert_msg(rc == ST_ERR_IO, "rc %s", st_err_str(rc));
	ck_assert_int_eq(x.heads, 0);
	ck_assert_uint_eq(x.len, 0);
	fixture_stop(&f);
}
END_TEST

START_TEST(body_cut_short)
{
	struct fixture f;
	struct xfer x;
	enum st_err rc;

	fixture_start(&f, CUT_BODY);
	rc = get(&f, &x);
	ck_assert_msg(rc != ST_OK, "a cut body passed as whole");
	ck_assert_msg(rc != ST_ERR_TIMEOUT, "the close went unnoticed");
	ck_assert_int_eq(x.heads, 1);
	ck_assert_int_eq(x.status, 200);
	ck_assert_uint_le(x.len, 10);
	fixture_stop(&f);
}
END_TEST

/* A chunked answer with an extension and a trailer, one byte per send: framing split at every
 * byte on the wire. Twice, on one connection. */
START_TEST(dripped_chunked_answer)
{
	struct fixture f;

	fixture_start(&f, DRIP);
	for (int i = 0; i < 2; i++) {
		struct xfer x;

		ck_assert_msg(get(&f, &x) == ST_OK, "call %d", i);
		ck_assert_int_eq(x.heads, 1);
		ck_assert_int_eq(x.status, 200);
		ck_assert_ptr_nonnull(xfer_header(&x, "X-Drip"));
		ck_assert_str_eq(xfer_header(&x, "X-Drip"), "yes");
		ck_assert_uint_eq(x.len, 11);
		ck_assert_str_eq(x.body, "hello world");
	}
	ck_assert_int_eq(peer_requests(f.peer), 2);
	ck_assert_int_eq(peer_accepted(f.peer), 1);
	fixture_stop(&f);
}
END_TEST

/* A kept connection that the peer closes as the next request arrives: that request, which has
 * no body, goes again on a new connection. */
START_TEST(dead_kept_connection_retried)
{
	struct fixture f;

	fixture_start(&f, DROP_SECOND);
	for (int i = 0; i < 2; i++) {
		struct xfer x;
		enum st_err rc = get(&f, &x);

		ck_assert_msg(rc == ST_OK, "call %d: %s", i, st_err_str(rc));
		ck_assert_int_eq(x.heads, 1);
		ck_assert_int_eq(x.status, 200);
		ck_assert_str_eq(x.body, "ok");
	}
	ck_assert_int_eq(peer_accepted(f.peer), 2);
	ck_assert_int_eq(peer_requests(f.peer), 3);
	fixture_stop(&f);
}
END_TEST

/* A POST whose kept connection closes with no answer may have run: it is not sent again. */
START_TEST(dead_kept_connection_post_not_replayed)
{
	struct fixture f;
	struct xfer x;
	enum st_err rc;

	fixture_start(&f, DROP_SECOND);
	ck_assert_int_eq(get(&f, &x), ST_OK);
	xfer_init(&x);
	x.upload = true; /* small and of known length: held whole, replayable, yet not replayed */
	x.body_len = 100;
	x.up_size = 100;
	rc = xfer_run(f.client, "POST", f.url, &x);
	ck_assert_msg(rc == ST_ERR_IO, "rc %s", st_err_str(rc));
	ck_assert_int_eq(x.heads, 0);
	ck_assert_int_eq(peer_accepted(f.peer), 1);
	ck_assert_int_eq(peer_requests(f.peer), 2);
	fixture_stop(&f);
}
END_TEST

/* More headers than the client keeps: an error, never an answer framed without them. */
START_TEST(too_many_headers_refused)
{
	struct fixture f;
	struct xfer x;
	enum st_err rc;

	fixture_start(&f, MANY_HEADERS);
	rc = get(&f, &x);
	ck_assert_msg(rc == ST_ERR_TOO_LARGE, "rc %s", st_err_str(rc));
	ck_assert_int_eq(x.heads, 0);
	fixture_stop(&f);
}
END_TEST

/* chunked not the last coding: the body runs to the close, passed on as it came. */
START_TEST(chunked_not_last_reads_to_close)
{
	struct fixture f;
	struct xfer x;

	fixture_start(&f, TE_NOT_LAST);
	ck_assert_int_eq(get(&f, &x), ST_OK);
	ck_assert_int_eq(x.status, 200);
	ck_assert_str_eq(x.body, "5\r\nhello\r\n0\r\n\r\n");
	fixture_stop(&f);
}
END_TEST

/* An interim 100 before the answer: on_head sees the final one only. */
START_TEST(interim_answer_skipped)
{
	struct fixture f;
	struct xfer x;

	fixture_start(&f, INTERIM);
	ck_assert_int_eq(get(&f, &x), ST_OK);
	ck_assert_int_eq(x.heads, 1);
	ck_assert_int_eq(x.status, 200);
	ck_assert_uint_eq(x.len, 2);
	ck_assert_str_eq(x.body, "ok");
	fixture_stop(&f);
}
END_TEST

/* ---- framing rules, on both paths ---- */

/*
 * The client's own sockets take "http://h:p/path"; a query right after the authority
 * ("http://h:p?q") is left to libcurl. Each framing test runs on both.
 */
static void
path_url(struct fixture *f, int curl, char *url, size_t cap)
{
	peer_url(f->peer, curl ? "?via=curl" : "/raw", url, cap);
}

/* Both Transfer-Encoding and Content-Length: the body is the chunked one, and on_head sees no
 * Content-Length, so that a relay frames it again rather than trust a length that lies. */
START_TEST(te_and_length_drops_length)
{
	struct fixture f;
	char url[128];

	fixture_start(&f, TE_AND_LENGTH);
	path_url(&f, _i, url, sizeof(url));
	for (int i = 0; i < 2; i++) {
		struct xfer x;
		enum st_err rc;

		xfer_init(&x);
		rc = xfer_run(f.client, "GET", url, &x);
		ck_assert_msg(rc == ST_OK, "path %d call %d: %s", _i, i, st_err_str(rc));
		ck_assert_int_eq(x.status, 200);
		ck_assert_str_eq(x.body, "hello");
		ck_assert_msg(xfer_header(&x, "Content-Length") == NULL,
			      "path %d: Content-Length %s passed on", _i,
			      xfer_header(&x, "Content-Length"));
		ck_assert_ptr_nonnull(xfer_header(&x, "Transfer-Encoding"));
	}
	if (_i == 0) /* a smuggling shape: the connection is never reused */
		ck_assert_int_eq(peer_accepted(f.peer), 2);
	fixture_stop(&f);
}
END_TEST

/* More interim answers than HTTPC_INTERIM_MAX (8): refused, never waited through. */
START_TEST(too_many_interim_refused)
{
	struct fixture f;
	struct xfer x;
	char url[128];
	enum st_err rc;

	fixture_start(&f, MANY_INTERIM);
	path_url(&f, _i, url, sizeof(url));
	xfer_init(&x);
	rc = xfer_run(f.client, "GET", url, &x);
	ck_assert_msg(rc != ST_OK, "path %d: 50 interim answers passed", _i);
	ck_assert_int_eq(x.heads, 0);
	fixture_stop(&f);
}
END_TEST

/* More trailer lines than ST_CHUNKED_TRAILERS_MAX (64): the answer fails at its end. */
START_TEST(too_many_trailers_refused)
{
	struct fixture f;
	struct xfer x;
	char url[128];
	enum st_err rc;

	fixture_start(&f, MANY_TRAILERS);
	path_url(&f, _i, url, sizeof(url));
	xfer_init(&x);
	rc = xfer_run(f.client, "GET", url, &x);
	ck_assert_msg(rc != ST_OK, "path %d: 100 trailer lines passed", _i);
	fixture_stop(&f);
}
END_TEST

/* A chunk size line ended by a bare LF is no chunked framing (the client's own sockets;
 * libcurl keeps its own rule). */
START_TEST(bare_lf_chunk_refused)
{
	struct fixture f;
	struct xfer x;
	enum st_err rc;

	fixture_start(&f, BARE_LF_CHUNK);
	rc = get(&f, &x);
	ck_assert_msg(rc == ST_ERR_IO, "rc %s", st_err_str(rc));
	ck_assert_uint_eq(x.len, 0);
	fixture_stop(&f);
}
END_TEST

/* The request as the peer read it carries no line the caller smuggled in with CR LF, and the
 * request id it gets is a fresh UUID in place of one that holds them. */
static void
assert_clean_request(struct fixture *f, const char *what)
{
	char got[8192], *rid;

	peer_last_request(f->peer, got, sizeof(got));
	ck_assert_msg(strstr(got, "X-Injected") == NULL, "%s: injected: %s", what, got);
	rid = strstr(got, "X-Request-Id: ");
	ck_assert_msg(rid != NULL, "%s: no request id: %s", what, got);
	rid += 14;
	rid[strcspn(rid, "\r")] = '\0';
	ck_assert_msg(st_uuid_valid(rid), "%s: request id '%s'", what, rid);
}

START_TEST(crlf_never_reaches_a_header)
{
	static const char *const headers[] = { "X-Fine: 1", "X-Bad: a\r\nX-Injected: 1", NULL };
	static const char bad_id[] = "id\r\nX-Injected: 1";
	struct fixture f;
	struct st_httpc_req req = { .method = "GET", .headers = headers, .request_id = bad_id };
	struct st_httpc_resp resp;
	struct xfer x;
	char url[128];

	fixture_start(&f, OK);
	/* st_httpc_stream, on the client's own sockets and on libcurl */
	for (int curl = 0; curl <= 1; curl++) {
		path_url(&f, curl, url, sizeof(url));
		xfer_init(&x);
		x.headers = headers;
		x.request_id = bad_id;
		ck_assert_int_eq(xfer_run(f.client, "GET", url, &x), ST_OK);
		ck_assert_int_eq(x.status, 200);
		assert_clean_request(&f, curl ? "stream on libcurl" : "stream on own sockets");
	}
	/* st_httpc_do, always libcurl */
	peer_url(f.peer, "/do", url, sizeof(url));
	req.url = url;
	ck_assert_int_eq(st_httpc_do(f.client, &req, &resp), ST_OK);
	ck_assert_int_eq(resp.status, 200);
	st_httpc_resp_cleanup(&resp);
	assert_clean_request(&f, "do");
	fixture_stop(&f);
}
END_TEST

Suite *
httpc_peers_suite(void)
{
	Suite *s = suite_create("httpc_peers");
	TCase *conns = tcase_create("connections"), *framing = tcase_create("framing");

	tcase_set_timeout(conns, 60);
	tcase_add_test(conns, close_delimited_body);
	tcase_add_test(conns, silent_peer_times_out);
	tcase_add_test(conns, closed_port_unavailable);
	tcase_add_test(conns, garbage_answer);
	tcase_add_test(conns, body_cut_short);
	tcase_add_test(conns, dripped_chunked_answer);
	tcase_add_test(conns, interim_answer_skipped);
	tcase_add_test(conns, dead_kept_connection_retried);
	tcase_add_test(conns, dead_kept_connection_post_not_replayed);
	tcase_add_test(conns, too_many_headers_refused);
	tcase_add_test(conns, chunked_not_last_reads_to_close);
	suite_add_tcase(s, conns);

	tcase_set_timeout(framing, 60);
	tcase_add_loop_test(framing, te_and_length_drops_length, 0, 2);
	tcase_add_loop_test(framing, too_many_interim_refused, 0, 2);
	tcase_add_loop_test(framing, too_many_trailers_refused, 0, 2);
	tcase_add_test(framing, bare_lf_chunk_refused);
	tcase_add_test(framing, crlf_never_reaches_a_header);
	suite_add_tcase(s, framing);
	return s;
}
