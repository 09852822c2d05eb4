/*
 * st_httpc_stream on http:// URLs against peers that misbehave: a raw socket server on a
 * thread, on its own spare port, that accepts and then does one thing: answers delimited by
 * close, never answers, answers garbage, cuts a body short, drips an answer a byte at a time,
 * sends an interim 100, or closes a kept connection as the next request arrives. And a port
 * where nothing listens. The client and the exchange it records are stream_fixture.h's.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "strata/httpc.h"

#include "stream_fixture.h"

/* ---- a raw peer that misbehaves ---- */

enum raw_mode {
	RAW_CLOSE_DELIMITED, /* a body delimited by closing the connection */
	RAW_SILENT,          /* never answers */
	RAW_GARBAGE,         /* answers something that is not HTTP, and stays */
	RAW_CUT_BODY,        /* Content-Length 100, then 10 bytes and a close */
	RAW_DRIP,            /* a chunked answer with trailers, one byte per send; keeps alive */
	RAW_INTERIM,         /* 100 Continue, then the answer; keeps alive */
	RAW_DROP_SECOND,     /* answers a connection's first request, closes at its second */
	RAW_MANY_HEADERS,    /* 130 headers, then Content-Length: 2 and "ok" */
	RAW_TE_NOT_LAST,     /* Transfer-Encoding: chunked, gzip: a body to the close */
};

#define RAW_CONNS 16

struct raw;

struct raw_conn {
	struct raw *r;
	int fd;
	pthread_t thread;
};

struct raw {
	enum raw_mode mode;
	int fd;
	pthread_t thread;
	atomic_bool stop;
	atomic_int accepted, requests;
	struct raw_conn conns[RAW_CONNS];
	int nconns;
};

/* Waits up to ms for fd to be readable, in slices that watch the stop flag. */
static bool
raw_wait(struct raw *r, int fd, int ms)
{
	for (int waited = 0; waited < ms && !atomic_load(&r->stop); waited += 20) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 20) > 0)
			return true;
	}
	return false;
}

/* Reads one request head (the client's requests here have no body). False at the end. */
static bool
raw_read_head(struct raw *r, int fd)
{
	char buf[8192];
	size_t len = 0;

	while (len < sizeof(buf)) {
		ssize_t n;

		if (!raw_wait(r, fd, 10000))
			return false;
		n = recv(fd, buf + len, sizeof(buf) - len, 0);
		if (n <= 0)
			return false;
		len += (size_t)n;
		for (size_t i = 3; i < len; i++)
			if (memcmp(buf + i - 3, "\r\n\r\n", 4) == 0)
				return true;
	}
	return false;
}

static void
raw_send(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

/* Reads and drops until the client closes (or the test ends), so that closing never resets
 * an answer the client has yet to read. */
static void
raw_drain(struct raw *r, int fd)
{
	char buf[4096];

	while (raw_wait(r, fd, 5000))
		if (recv(fd, buf, sizeof(buf), 0) <= 0)
			return;
}

/* Answers the nth request (from 0) of a connection; false when the connection ends here. */
static bool
raw_answer(struct raw *r, int fd, int nth)
{
	static const char close_delimited[] = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello";
	static const char garbage[] = "NOT HTTP\r\n\r\n";
	static const char cut[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789";
	static const char drip[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
				   "X-Drip: yes\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n"
				   "0\r\nX-Trailer: t\r\n\r\n";
	static const char interim[] = "HTTP/1.1 100 Continue\r\n\r\n"
				      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	static const char te_not_last[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n"
					  "\r\n5\r\nhello\r\n0\r\n\r\n";

	switch (r->mode) {
	case RAW_CLOSE_DELIMITED:
		raw_send(fd, close_delimited, strlen(close_delimited));
		shutdown(fd, SHUT_WR);
		raw_drain(r, fd);
		return false;
	case RAW_SILENT:
		while (!atomic_load(&r->stop)) {
			struct timespec ts = { 0, 20 * 1000000L };

			nanosleep(&ts, NULL);
		}
		return false;
	case RAW_GARBAGE:
		raw_send(fd, garbage, strlen(garbage));
		raw_drain(r, fd);
		return false;
	case RAW_CUT_BODY:
		raw_send(fd, cut, strlen(cut));
		shutdown(fd, SHUT_WR);
		raw_drain(r, fd);
		return false;
	case RAW_DRIP:
		for (size_t i = 0; i < strlen(drip); i++) {
			struct timespec ts = { 0, 1000000L };

			raw_send(fd, drip + i, 1);
			nanosleep(&ts, NULL);
		}
		return true;
	case RAW_INTERIM:
		raw_send(fd, interim, strlen(interim));
		return true;
	case RAW_DROP_SECOND:
		if (nth > 0)
			return false; /* its keep-alive ran out as the request came */
		raw_send(fd, ok, strlen(ok));
		return true;
	case RAW_MANY_HEADERS: {
		char head[8192];
		size_t n = (size_t)snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n");

		for (int i = 0; i < 130; i++)
			n += (size_t)snprintf(head + n, sizeof(head) - n, "X-Filler-%d: f\r\n", i);
		snprintf(head + n, sizeof(head) - n, "Content-Length: 2\r\n\r\nok");
		raw_send(fd, head, strlen(head));
		return true;
	}
	case RAW_TE_NOT_LAST:
		raw_send(fd, te_not_last, strlen(te_not_last));
		shutdown(fd, SHUT_WR);
		raw_drain(r, fd);
		return false;
	}
	return false;
}

static void *
raw_conn_run(void *arg)
{
	struct raw_conn *c = arg;
	int one = 1;

	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (int nth = 0; raw_read_head(c->r, c->fd); nth++) {
		atomic_fetch_add(&c->r->requests, 1);
		if (!raw_answer(c->r, c->fd, nth))
			break;
	}
	close(c->fd);
	return NULL;
}

static void *
raw_accept_run(void *arg)
{
	struct raw *r = arg;

	while (!atomic_load(&r->stop)) {
		struct raw_conn *c;
		int fd;

		if (!raw_wait(r, r->fd, 20))
			continue;
		fd = accept(r->fd, NULL, NULL);
		if (fd < 0)
			continue;
		atomic_fetch_add(&r->accepted, 1);
		if (r->nconns == RAW_CONNS) {
			close(fd);
			continue;
		}
		c = &r->conns[r->nconns];
		c->r = r;
		c->fd = fd;
		if (pthread_create(&c->thread, NULL, raw_conn_run, c) != 0) {
			close(fd);
			continue;
		}
		r->nconns++;
	}
	return NULL;
}

static void
raw_start(struct raw *r, enum raw_mode mode)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(RAW_PORT) };
	int one = 1;

	memset(r, 0, sizeof(*r));
	r->mode = mode;
	atomic_init(&r->stop, false);
	atomic_init(&r->accepted, 0);
	atomic_init(&r->requests, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(r->fd, 0);
	setsockopt(r->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(r->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(r->fd, 16), 0);
	ck_assert_int_eq(pthread_create(&r->thread, NULL, raw_accept_run, r), 0);
}

static void
raw_stop(struct raw *r)
{
	atomic_store(&r->stop, true);
	pthread_join(r->thread, NULL);
	for (int i = 0; i < r->nconns; i++)
		pthread_join(r->conns[i].thread, NULL);
	close(r->fd);
}

/* ---- the peers ---- */

/* A GET to the raw peer, recorded in a fresh x, giving up after 2 s of silence. */
static enum st_err
raw_get(struct st_httpc *client, struct xfer *x)
{
	xfer_init(x);
	x->idle_ms = 2000;
	return xfer_run(client, "GET", RAW_URL, x);
}

/* "Connection: close" without a length: the body is what comes before the close. */
START_TEST(close_delimited_body)
{
	struct fixture f;
	struct raw r;

	fixture_start(&f, false, 0);
	raw_start(&r, RAW_CLOSE_DELIMITED);
	for (int i = 0; i < 2; i++) {
		struct xfer x;

		ck_assert_msg(raw_get(f.client, &x) == ST_OK, "call %d", i);
		ck_assert_int_eq(x.heads, 1);
		ck_assert_int_eq(x.status, 200);
		ck_assert_uint_eq(x.len, 5);
		ck_assert_str_eq(x.body, "hello");
	}
	ck_assert_int_eq(atomic_load(&r.accepted), 2);
	ck_assert_int_eq(atomic_load(&r.requests), 2);
	raw_stop(&r);
	fixture_stop(&f);
}
END_TEST

START_TEST(silent_peer_times_out)
{
	struct fixture f;
	struct raw r;
	struct xfer x;
	int64_t t0, ms;
	enum st_err rc;

	fixture_start(&f, false, 0);
	raw_start(&r, RAW_SILENT);
	xfer_init(&x);
	x.idle_ms = 300;
	t0 = st_now_mono_ms();
	rc = xfer_run(f.client, "GET", RAW_URL, &x);
	ms = st_now_mono_ms() - t0;
	ck_assert_msg(rc == ST_ERR_TIMEOUT, "rc %s after %lld ms", st_err_str(rc), (long long)ms);
	ck_assert_int_ge(ms, 250);
	ck_assert_int_lt(ms, 3000);
	ck_assert_int_eq(x.heads, 0);
	ck_assert_int_eq(atomic_load(&r.requests), 1);
	raw_stop(&r);
	fixture_stop(&f);
}
END_TEST

START_TEST(closed_port_unavailable)
{
	struct fixture f;
	struct xfer x;
	enum st_err rc;

	fixture_start(&f, false, 0);
	xfer_init(&x);
	rc = xfer_run(f.client, "GET", CLOSED_URL, &x);
	ck_assert_msg(rc == ST_ERR_UNAVAILABLE, "rc %s", st_err_str(rc));
	ck_assert_int_eq(x.heads, 0);
	fixture_stop(&f);
}
END_TEST

START_TEST(garbage_answer)
{
	struct fixture f;
	struct raw r;
	struct xfer x;
	enum st_err rc;

	fixture_start(&f, false, 0);
	raw_start(&r, RAW_GARBAGE);
	xfer_init(&x);
	x.idle_ms = 2000; /* the peer stays: waiting for more is a timeout, not ST_ERR_IO */
	rc = xfer_run(f.client, "GET", RAW_URL, &x);
	ck_assert_msg(rc == ST_ERR_IO, "rc %s", st_err_str(rc));
	ck_assert_int_eq(x.heads, 0);
	ck_assert_uint_eq(x.len, 0);
	raw_stop(&r);
	fixture_stop(&f);
}
END_TEST

START_TEST(body_cut_short)
{
	struct fixture f;
	struct raw r;
	struct xfer x;
	enum st_err rc;

	fixture_start(&f, false, 0);
	raw_start(&r, RAW_CUT_BODY);
	rc = raw_get(f.client, &x);
	ck_assert_msg(rc != ST_OK, "a cut body passed as whole");
	ck_assert_msg(rc != ST_ERR_TIMEOUT, "the close went unnoticed");
	ck_assert_int_eq(x.heads, 1);
	ck_assert_int_eq(x.status, 200);
	ck_assert_uint_le(x.len, 10);
	raw_stop(&r);
	fixture_stop(&f);
}
END_TEST

/* A chunked answer with an extension and a trailer, one byte per send: framing split at every
 * byte on the wire. Twice, on one connection. */
START_TEST(dripped_chunked_answer)
{
	struct fixture f;
	struct raw r;

	fixture_start(&f, false, 0);
	raw_start(&r, RAW_DRIP);
	for (int i = 0; i < 2; i++) {
		struct xfer x;

		ck_assert_msg(raw_get(f.client, &x) == ST_OK, "call %d", i);
		ck_assert_int_eq(x.heads, 1);
		ck_assert_int_eq(x.status, 200);
		ck_assert_ptr_nonnull(xfer_header(&x, "X-Drip"));
		ck_assert_str_eq(xfer_header(&x, "X-Drip"), "yes");
		ck_assert_uint_eq(x.len, 11);
		ck_assert_str_eq(x.body, "hello world");
	}
	ck_assert_int_eq(atomic_load(&r.requests), 2);
	ck_assert_int_eq(atomic_load(&r.accepted), 1);
	raw_stop(&r);
	fixture_stop(&f);
}
END_TEST

/* A kept connection that the peer closes as the next request arrives: that request, which has
 * no body, goes again on a new connection. */
START_TEST(dead_kept_connection_retried)
{
	struct fixture f;
	struct raw r;

	fixture_start(&f, false, 0);
	raw_start(&r, RAW_DROP_SECOND);
	for (int i = 0; i < 2; i++) {
		struct xfer x;
		enum st_err rc;

		rc = raw_get(f.client, &x);
		ck_assert_msg(rc == ST_OK, "call %d: %s", i, st_err_str(rc));
		ck_assert_int_eq(x.heads, 1);
		ck_assert_int_eq(x.status, 200);
		ck_assert_str_eq(x.body, "ok");
	}
	ck_assert_int_eq(atomic_load(&r.accepted), 2);
	ck_assert_int_eq(atomic_load(&r.requests), 3);
	raw_stop(&r);
	fixture_stop(&f);
}
END_TEST

/* A POST whose kept connection closes with no answer may have run: it is not sent again. */
START_TEST(dead_kept_connection_post_not_replayed)
{
	struct fixture f;
	struct raw r;
	struct xfer x;
	enum st_err rc;

	fixture_start(&f, false, 0);
	raw_start(&r, RAW_DROP_SECOND);
	ck_assert_int_eq(raw_get(f.client, &x), ST_OK);
	xfer_init(&x);
	x.idle_ms = 2000;
	x.upload = true; /* small and of known length: held whole, replayable, yet not replayed */
	x.body_len = 100;
	x.up_size = 100;
	rc = xfer_run(f.client, "POST", RAW_URL, &x);
	ck_assert_msg(rc == ST_ERR_IO, "rc %s", st_err_str(rc));
	ck_assert_int_eq(x.heads, 0);
	ck_assert_int_eq(atomic_load(&r.accepted), 1);
	ck_assert_int_eq(atomic_load(&r.requests), 2);
	raw_stop(&r);
	fixture_stop(&f);
}
END_TEST

/* More headers than the client keeps: an error, never an answer framed without them. */
START_TEST(too_many_headers_refused)
{
	struct fixture f;
	struct raw r;
	struct xfer x;
	enum st_err rc;

	fixture_start(&f, false, 0);
	raw_start(&r, RAW_MANY_HEADERS);
	rc = raw_get(f.client, &x);
	ck_assert_msg(rc == ST_ERR_TOO_LARGE, "rc %s", st_err_str(rc));
	ck_assert_int_eq(x.heads, 0);
	raw_stop(&r);
	fixture_stop(&f);
}
END_TEST

/* chunked not the last coding: the body runs to the close, passed on as it came. */
START_TEST(chunked_not_last_reads_to_close)
{
	struct fixture f;
	struct raw r;
	struct xfer x;

	fixture_start(&f, false, 0);
	raw_start(&r, RAW_TE_NOT_LAST);
	ck_assert_int_eq(raw_get(f.client, &x), ST_OK);
	ck_assert_int_eq(x.status, 200);
	ck_assert_str_eq(x.body, "5\r\nhello\r\n0\r\n\r\n");
	raw_stop(&r);
	fixture_stop(&f);
}
END_TEST

/* An interim 100 before the answer: on_head sees the final one only. */
START_TEST(interim_answer_skipped)
{
	struct fixture f;
	struct raw r;
	struct xfer x;

	fixture_start(&f, false, 0);
	raw_start(&r, RAW_INTERIM);
	ck_assert_int_eq(raw_get(f.client, &x), ST_OK);
	ck_assert_int_eq(x.heads, 1);
	ck_assert_int_eq(x.status, 200);
	ck_assert_uint_eq(x.len, 2);
	ck_assert_str_eq(x.body, "ok");
	raw_stop(&r);
	fixture_stop(&f);
}
END_TEST

Suite *
httpc_peers_suite(void)
{
	Suite *s = suite_create("httpc_peers");
	TCase *conns = tcase_create("connections");

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
	return s;
}
