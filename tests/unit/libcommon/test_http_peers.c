/*
 * libcommon's HTTP server in this process, on a port the system picks, against a raw client
 * (peer.h) that reads the bytes of each answer: the framing is the server's alone. A head that
 * cannot go out (a Content-Type too long, CR LF in it, framing or bare LF among a proxy's
 * lines, extra headers cut) fails the answer with a problem and a close, and never lets the
 * body go out in its place (response splitting); a long but acceptable Content-Type fits; a
 * stream with a Content-Length never puts more than that on the connection.
 */
#include <check.h>
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_int.h"
#include "peer.h"
#include "strata/http.h"
#include "strata/metrics.h"

/* What a body sent in place of its head would make a client read as an answer. */
static const char smuggle[] = "HTTP/1.1 299 Smuggled\r\nContent-Length: 0\r\n\r\n";

/* "text/plain; p=aaa..." with n a's. The caller frees it. */
static char *
long_type(const struct st_req *req)
{
	size_t n = strtoul(st_http_param(req, "n"), NULL, 10);
	char *t = st_malloc(n + 16);

	memcpy(t, "text/plain; p=", 14);
	memset(t + 14, 'a', n);
	t[14 + n] = '\0';
	return t;
}

/* A proxy's answer with a long Content-Type and a Content-Length: the body is the smuggle. */
static int
type_stream(struct st_req *req, void *ctx)
{
	char *type = long_type(req);
	int status = st_http_stream_begin_head(req, 200, type, (int64_t)strlen(smuggle), NULL);

	(void)ctx;
	st_http_stream_write(req, smuggle, strlen(smuggle));
	st_free(type);
	return status;
}

/* The same, chunked through st_http_stream_begin. */
static int
type_chunked(struct st_req *req, void *ctx)
{
	char *type = long_type(req);
	int status = st_http_stream_begin(req, 200, type);

	(void)ctx;
	st_http_stream_write(req, smuggle, strlen(smuggle));
	st_free(type);
	return status;
}

/* A handler's answer with a long Content-Type, in one write. */
static int
type_reply(struct st_req *req, void *ctx)
{
	char *type = long_type(req);
	int status = st_http_reply(req, 200, type, "hi", 2);

	(void)ctx;
	st_free(type);
	return status;
}

/* A Content-Type that a client chose and a service reflects, with CR LF in it. */
static int
type_crlf(struct st_req *req, void *ctx)
{
	(void)ctx;
	st_http_stream_begin_head(req, 200, "text/plain\r\nX-Injected: 1", -1, NULL);
	st_http_stream_write(req, smuggle, strlen(smuggle));
	return 200;
}

static int
type_crlf_reply(struct st_req *req, void *ctx)
{
	(void)ctx;
	return st_http_reply(req, 200, "text/plain\r\nX-Injected: 1", "hi", 2);
}

/* A proxy's extra lines: framing of their own, a bare LF, an empty line in the middle. */
static int
extra_lines(struct st_req *req, void *ctx)
{
	static const char *const extras[] = {
		"Content-Length: 5\r\n",
		"X-A: 1\nX-Injected: 2\r\n",
		"X-A: 1\r\n\r\nX-Injected: 2\r\n",
	};
	size_t i = strtoul(st_http_param(req, "i"), NULL, 10);
	int status;

	(void)ctx;
	status = st_http_stream_begin_head(req, 200, "text/plain", i == 0 ? -1 : 5, extras[i]);
	st_http_stream_write(req, "hello", 5);
	return status;
}

/* More extra headers than st_req holds. */
static int
headers_cut(struct st_req *req, void *ctx)
{
	char value[1500];

	(void)ctx;
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	st_http_add_header(req, "X-One", value);
	st_http_add_header(req, "X-Two", value);
	return st_http_reply(req, 200, "text/plain", "hi", 2);
}

/* Content-Length 5, then more than 5 bytes: in one write, or in two. */
static int
too_long(struct st_req *req, void *ctx)
{
	char more[128];
	int two = st_http_param(req, "w")[0] == '2';
	enum st_err rc;

	(void)ctx;
	snprintf(more, sizeof(more), "lo%s", smuggle);
	st_http_stream_begin_head(req, 200, "text/plain", 5, NULL);
	if (two) {
		ck_assert_int_eq(st_http_stream_write(req, "hel", 3), ST_OK);
		rc = st_http_stream_write(req, more, strlen(more));
	} else {
		char all[160];

		snprintf(all, sizeof(all), "hel%s", more);
		rc = st_http_stream_write(req, all, strlen(all));
	}
	/* the handler learns of it; nothing more it writes goes out */
	if (rc != ST_ERR_TOO_LARGE)
		return 599;
	if (st_http_stream_write(req, smuggle, strlen(smuggle)) != ST_ERR_TOO_LARGE)
		return 598;
	return 200;
}

static const struct st_route routes[] = {
	{ "GET", "/type/stream/{n}", type_stream, ST_SCOPE_NONE },
	{ "GET", "/type/chunked/{n}", type_chunked, ST_SCOPE_NONE },
	{ "GET", "/type/reply/{n}", type_reply, ST_SCOPE_NONE },
	{ "GET", "/type/crlf", type_crlf, ST_SCOPE_NONE },
	{ "GET", "/type/crlf-reply", type_crlf_reply, ST_SCOPE_NONE },
	{ "GET", "/extra/{i}", extra_lines, ST_SCOPE_NONE },
	{ "GET", "/headers-cut", headers_cut, ST_SCOPE_NONE },
	{ "GET", "/long/{w}", too_long, ST_SCOPE_NONE },
};

struct server {
	struct st_metrics *metrics;
	struct st_http_server *http;
	int port;
};

static void
server_start(struct server *s)
{
	struct st_http_conf hc = {
		.service = "unit-http-peers",
		.bind = "127.0.0.1",
		.port = 0, /* the system picks */
		.threads = 4,
		.body_max = 64 * 1024,
		.keep_alive_ms = 5000,
		.request_timeout_ms = 5000,
		.routes = routes,
		.nroutes = ST_ARRAY_LEN(routes),
		.metrics = NULL,
	};
	struct mg_server_port ports[1];

	s->metrics = st_metrics_create();
	hc.metrics = s->metrics;
	ck_assert_int_eq(st_http_server_create(&hc, &s->http), ST_OK);
	ck_assert_int_eq(mg_get_server_ports(s->http->mg, 1, ports), 1);
	s->port = ports[0].port;
	ck_assert_int_gt(s->port, 0);
}

static void
server_stop(struct server *s)
{
	st_http_server_destroy(s->http);
	st_metrics_destroy(s->metrics);
}

/* One answer as the client's bytes: its status, its head and its body. */
struct answer {
	char raw[64 * 1024];
	size_t len;
	bool closed; /* the server closed the connection after it */
	int status;
	const char *body; /* inside raw, after the head; "" when no head ended */
};

/* Sends a keep-alive GET of path and reads until the server closes or goes quiet. */
static void
fetch(const struct server *s, const char *path, struct answer *a)
{
	char request[512];
	int fd = raw_connect(s->port);
	char *end;

	snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: unit\r\n\r\n", path);
	a->len = raw_exchange(fd, request, a->raw, sizeof(a->raw), 1500, &a->closed);
	close(fd);
	a->status = strncmp(a->raw, "HTTP/1.1 ", 9) == 0 ? (int)strtol(a->raw + 9, NULL, 10) : 0;
	end = strstr(a->raw, "\r\n\r\n");
	a->body = end != NULL ? end + 4 : "";
}

/* The answer a head that cannot go out becomes: status, a problem, Connection: close, and
 * none of what the handler meant to send after its head. */
static void
assert_failed_head(const struct answer *a, int status, const char *what)
{
	ck_assert_msg(a->status == status, "%s: status %d: %.200s", what, a->status, a->raw);
	ck_assert_msg(strstr(a->raw, "Connection: close\r\n") != NULL, "%s: kept alive", what);
	ck_assert_msg(strstr(a->raw, "application/problem+json") != NULL, "%s: no problem", what);
	ck_assert_msg(a->closed, "%s: the connection stayed open", what);
	ck_assert_msg(strstr(a->raw, "Smuggled") == NULL, "%s: the body went out: %s", what,
		      a->raw);
	ck_assert_msg(strstr(a->raw, "X-Injected") == NULL, "%s: a header was injected", what);
	ck_assert_msg(strstr(a->raw, "hello") == NULL, "%s: the body went out", what);
}

/* A Content-Type of a few KB (an upstream's, or a client's that a service reflects) fits;
 * today's 2 KiB head skipped it and sent the body as the head. */
START_TEST(long_type_fits)
{
	static const char *const paths[] = { "/type/stream/3000", "/type/chunked/3000",
					     "/type/reply/3000" };
	struct server s;
	struct answer *a = st_malloc(sizeof(*a));

	server_start(&s);
	for (size_t i = 0; i < ST_ARRAY_LEN(paths); i++) {
		fetch(&s, paths[i], a);
		ck_assert_msg(a->status == 200, "%s: status %d: %.100s", paths[i], a->status,
			      a->raw);
		ck_assert_msg(strstr(a->raw, "Content-Type: text/plain; p=aaaa") != NULL, "%s",
			      paths[i]);
		if (i == 0)
			ck_assert_str_eq(a->body, smuggle); /* as a body, after its own head */
		else if (i == 2)
			ck_assert_str_eq(a->body, "hi");
		else
			ck_assert_ptr_nonnull(strstr(a->body, "Smuggled"));
	}
	server_stop(&s);
	st_free(a);
}
END_TEST

/* A head longer than the server sends (16 KiB): 502 for a proxy's head, 500 for a handler's,
 * and the connection closed. */
START_TEST(head_too_long_fails)
{
	static const struct {
		const char *path;
		int status;
	} cases[] = {
		{ "/type/stream/20000", 502 },
		{ "/type/chunked/20000", 500 },
		{ "/type/reply/20000", 500 },
	};
	struct server s;
	struct answer *a = st_malloc(sizeof(*a));

	server_start(&s);
	for (size_t i = 0; i < ST_ARRAY_LEN(cases); i++) {
		fetch(&s, cases[i].path, a);
		assert_failed_head(a, cases[i].status, cases[i].path);
	}
	server_stop(&s);
	st_free(a);
}
END_TEST

/* CR LF in a Content-Type, framing or a bare LF or an empty line among a proxy's lines, and
 * headers cut: each fails the answer rather than split it or send it without them. */
START_TEST(bad_head_fails)
{
	static const struct {
		const char *path;
		int status;
	} cases[] = {
		{ "/type/crlf", 502 }, { "/type/crlf-reply", 500 }, { "/extra/0", 502 },
		{ "/extra/1", 502 },   { "/extra/2", 502 },         { "/headers-cut", 500 },
	};
	struct server s;
	struct answer *a = st_malloc(sizeof(*a));

	server_start(&s);
	for (size_t i = 0; i < ST_ARRAY_LEN(cases); i++) {
		fetch(&s, cases[i].path, a);
		assert_failed_head(a, cases[i].status, cases[i].path);
		ck_assert_msg(strstr(a->raw, "Transfer-Encoding") == NULL ||
				      strstr(a->raw, "Content-Length") == NULL ||
				      strstr(a->raw, "Content-Length") > strstr(a->raw, "\r\n\r\n"),
			      "%s: both framings", cases[i].path);
	}
	server_stop(&s);
	st_free(a);
}
END_TEST

/* A stream given more than its Content-Length: exactly that many bytes go out, and then the
 * connection closes, so that nothing is read as a next answer. */
START_TEST(stream_stops_at_length)
{
	static const char *const paths[] = { "/long/1", "/long/2" };
	struct server s;
	struct answer *a = st_malloc(sizeof(*a));

	server_start(&s);
	for (size_t i = 0; i < ST_ARRAY_LEN(paths); i++) {
		fetch(&s, paths[i], a);
		ck_assert_msg(a->status == 200, "%s: status %d", paths[i], a->status);
		ck_assert_msg(strcmp(a->body, "hello") == 0, "%s: body '%s'", paths[i], a->body);
		ck_assert_msg(a->closed, "%s: kept alive after a cut answer", paths[i]);
	}
	server_stop(&s);
	st_free(a);
}
END_TEST

Suite *
http_peers_suite(void)
{
	Suite *s = suite_create("http_peers");
	TCase *tc = tcase_create("framing");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, long_type_fits);
	tcase_add_test(tc, head_too_long_fails);
	tcase_add_test(tc, bad_head_fails);
	tcase_add_test(tc, stream_stops_at_length);
	suite_add_tcase(s, tc);
	return s;
}
