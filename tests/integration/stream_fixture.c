/*
 * The shared half of the streaming client's tests (see stream_fixture.h): libcommon's server
 * with its routes, the client, and the callbacks that record one exchange.
 */
#include <check.h>
#include <civetweb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "strata/http.h"
#include "strata/httpc.h"
#include "strata/metrics.h"

#include "stream_fixture.h"

#define SCRAP    (64 * 1024)
#define FNV_INIT 2166136261u

/* The bytes of large bodies: position-dependent with a period of 16 MiB, so that a byte lost,
 * doubled or moved shows. */
static unsigned char
pattern(uint64_t i)
{
	return (unsigned char)(((i * 2654435761u) >> 16) ^ (i >> 20));
}

static uint32_t
fnv(uint32_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

uint32_t
fixture_pattern_sum(uint64_t len)
{
	uint32_t h = FNV_INIT;

	for (uint64_t i = 0; i < len; i++) {
		unsigned char b = pattern(i);

		h = fnv(h, &b, 1);
	}
	return h;
}

/* ---- the server side: libcommon's server ---- */

static atomic_int in_flight, most_in_flight;
static pthread_mutex_t ports_lock = PTHREAD_MUTEX_INITIALIZER;
static int ports[64]; /* the client ports seen, each once */
static int nports;

/* Notes the connection a request came on; returns its client port. */
static int
note_port(struct st_req *req)
{
	int port = mg_get_request_info(st_http_conn(req))->remote_port;
	bool seen = false;

	pthread_mutex_lock(&ports_lock);
	for (int i = 0; i < nports; i++)
		seen = seen || ports[i] == port;
	if (!seen && nports < (int)ST_ARRAY_LEN(ports))
		ports[nports++] = port;
	pthread_mutex_unlock(&ports_lock);
	return port;
}

int
fixture_connections_seen(void)
{
	int n;

	pthread_mutex_lock(&ports_lock);
	n = nports;
	pthread_mutex_unlock(&ports_lock);
	return n;
}

int
fixture_most_in_flight(void)
{
	return atomic_load(&most_in_flight);
}

static int
hello(struct st_req *req, void *ctx)
{
	(void)ctx;
	note_port(req);
	st_http_add_header(req, "X-Custom", "custom value");
	return st_http_reply(req, 200, "text/plain", "hello world", 11);
}

static int
no_content(struct st_req *req, void *ctx)
{
	(void)ctx;
	return st_http_reply_no_content(req);
}

/* A 204 through the streaming head: no Content-Length, no chunked framing, no body. */
static int
no_content_streamed(struct st_req *req, void *ctx)
{
	(void)ctx;
	st_http_stream_begin_head(req, 204, NULL, -1, "X-Extra: 1\r\n");
	st_http_stream_write(req, "dropped", 7);
	return 204;
}

/* BIG bytes of pattern in writes of 1 byte to 40 KB, chunked (/stream/chunked) or with a
 * Content-Length (/stream/length); HEAD gets the head alone. */
static int
stream_big(struct st_req *req, void *ctx)
{
	const char *mode = st_http_param(req, "mode");
	bool chunked = mode == NULL || strcmp(mode, "length") != 0;
	unsigned char *buf = st_malloc(SCRAP);
	uint64_t off = 0;

	(void)ctx;
	st_http_stream_begin_head(req, 200, "application/octet-stream", chunked ? -1 : BIG, NULL);
	for (uint64_t k = 0; off < BIG; k++) {
		size_t n = 1 + (size_t)((k * 7919) % 40000);

		if (n > BIG - off)
			n = (size_t)(BIG - off);
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(off + i);
		if (st_http_stream_write(req, buf, n) != ST_OK) {
			st_http_stream_abort(req);
			break;
		}
		off += n;
	}
	st_free(buf);
	return 200;
}

/* Reads the whole body; answers its length, checksum and framing. */
static int
upload(struct st_req *req, void *ctx)
{
	const char *te = st_http_header(req, "Transfer-Encoding");
	const char *cl = st_http_header(req, "Content-Length");
	unsigned char *buf = st_malloc(SCRAP);
	unsigned long long len = 0;
	uint32_t sum = FNV_INIT;
	char out[200];
	int n;

	(void)ctx;
	note_port(req);
	for (;;) {
		size_t got = 0;

		if (st_http_body_read(req, buf, SCRAP, &got) != ST_OK) {
			st_free(buf);
			return st_http_reply_problem(req, 400, "body cut after %llu bytes", len);
		}
		if (got == 0)
			break;
		sum = fnv(sum, buf, got);
		len += got;
	}
	st_free(buf);
	n = snprintf(out, sizeof(out), "len=%llu sum=%08x te=%s cl=%s", len, (unsigned)sum,
		     te ? te : "-", cl ? cl : "-");
	return st_http_reply(req, 200, "text/plain", out, (size_t)n);
}

/* Refuses without reading a byte of the body. */
static int
refuse(struct st_req *req, void *ctx)
{
	(void)ctx;
	return st_http_reply_problem(req, 413, "too large");
}

/* Refuses in the middle of the body, having read 256 KiB of it. */
static int
refuse_late(struct st_req *req, void *ctx)
{
	char *buf = st_malloc(SCRAP);
	size_t seen = 0, got = 1;

	while (seen < 256 * 1024 && got > 0 && st_http_body_read(req, buf, SCRAP, &got) == ST_OK)
		seen += got;
	st_free(buf);
	return refuse(req, ctx);
}

/* Answers the client's port: with a length, chunked (/port/chunked), or after reading a
 * request body (POST). */
static int
port_len(struct st_req *req, void *ctx)
{
	char out[16];
	int n = snprintf(out, sizeof(out), "%d", note_port(req));

	(void)ctx;
	return st_http_reply(req, 200, "text/plain", out, (size_t)n);
}

static int
port_chunked(struct st_req *req, void *ctx)
{
	char out[16];
	int n = snprintf(out, sizeof(out), "%d", note_port(req));

	(void)ctx;
	st_http_stream_begin_head(req, 200, "text/plain", -1, NULL);
	st_http_stream_write(req, out, 2);
	st_http_stream_write(req, out + 2, (size_t)n - 2);
	return 200;
}

static int
port_post(struct st_req *req, void *ctx)
{
	char scrap[4096];
	size_t got = 1;

	while (got > 0)
		if (st_http_body_read(req, scrap, sizeof(scrap), &got) != ST_OK)
			return st_http_reply_problem(req, 400, "body cut");
	return port_len(req, ctx);
}

/* Shows the headers the request carried. */
static int
show_headers(struct st_req *req, void *ctx)
{
	const char *empty = st_http_header(req, "X-Empty"), *some = st_http_header(req, "X-Some");
	char out[300];
	int n;

	(void)ctx;
	n = snprintf(out, sizeof(out), "x-empty=[%s] x-some=[%s] rid=[%s]",
		     empty ? empty : "(none)", some ? some : "(none)", st_http_request_id(req));
	return st_http_reply(req, 200, "text/plain", out, (size_t)n);
}

/* 300 ms, counting how many run at once (as 18_httpc_pool). */
static int
slow(struct st_req *req, void *ctx)
{
	struct timespec ts = { 0, 300 * 1000000L };
	int now = atomic_fetch_add(&in_flight, 1) + 1, seen = atomic_load(&most_in_flight);

	(void)ctx;
	note_port(req);
	while (now > seen && !atomic_compare_exchange_weak(&most_in_flight, &seen, now))
		;
	nanosleep(&ts, NULL);
	atomic_fetch_sub(&in_flight, 1);
	return st_http_reply(req, 200, "text/plain", "ok", 2);
}

static const struct st_route routes[] = {
	{ "GET", "/hello", hello, ST_SCOPE_NONE },
	{ "HEAD", "/hello", hello, ST_SCOPE_NONE },
	{ "GET", "/empty", no_content, ST_SCOPE_NONE },
	{ "GET", "/empty-streamed", no_content_streamed, ST_SCOPE_NONE },
	{ "GET", "/stream/{mode}", stream_big, ST_SCOPE_NONE },
	{ "HEAD", "/stream/{mode}", stream_big, ST_SCOPE_NONE },
	{ "POST", "/upload", upload, ST_SCOPE_NONE },
	{ "POST", "/refuse", refuse, ST_SCOPE_NONE },
	{ "POST", "/refuse-late", refuse_late, ST_SCOPE_NONE },
	{ "GET", "/port", port_len, ST_SCOPE_NONE },
	{ "GET", "/port/chunked", port_chunked, ST_SCOPE_NONE },
	{ "POST", "/port", port_post, ST_SCOPE_NONE },
	{ "GET", "/headers", show_headers, ST_SCOPE_NONE },
	{ "GET", "/slow", slow, ST_SCOPE_NONE },
};

struct st_http_server *
fixture_server_start(struct st_metrics *metrics)
{
	struct st_http_conf hc = {
		.service = "it-httpc-stream",
		.bind = "127.0.0.1",
		.port = PORT,
		.threads = 16,
		.body_max = 1024 * 1024,
		.keep_alive_ms = 5000,
		.request_timeout_ms = 5000,
		.routes = routes,
		.nroutes = ST_ARRAY_LEN(routes),
		.metrics = metrics,
	};
	struct st_http_server *server = NULL;
	enum st_err rc = ST_ERR_IO;

	/* the port of a server just stopped may stay busy for a moment */
	for (int i = 0; i < 50 && rc != ST_OK; i++) {
		struct timespec ts = { 0, 100 * 1000000L };

		rc = st_http_server_create(&hc, &server);
		if (rc != ST_OK)
			nanosleep(&ts, NULL);
	}
	ck_assert_int_eq(rc, ST_OK);
	return server;
}

void
fixture_start(struct fixture *f, bool server, int pool_size)
{
	struct st_httpc_conf cc = {
		.connect_timeout_ms = 1000,
		.timeout_ms = 5000,
		.max_response = 1024,
		.pool_size = pool_size,
		.pool_wait_ms = 5000,
	};

	atomic_store(&in_flight, 0);
	atomic_store(&most_in_flight, 0);
	nports = 0;
	f->metrics = st_metrics_create();
	f->server = server ? fixture_server_start(f->metrics) : NULL;
	ck_assert_int_eq(st_httpc_create(&cc, &f->client), ST_OK);
}

void
fixture_stop(struct fixture *f)
{
	st_httpc_destroy(f->client);
	st_http_server_destroy(f->server);
	st_metrics_destroy(f->metrics);
}

/* ---- the client side: one exchange and what came of it ---- */

void
xfer_init(struct xfer *x)
{
	memset(x, 0, sizeof(*x));
	x->sum = FNV_INIT;
	x->up_sum = FNV_INIT;
	x->off_pattern = -1;
}

/* The upload: pattern bytes in small, uneven pieces (1 to 1500 bytes). */
static enum st_err
xfer_read(void *ctx, void *buf, size_t cap, size_t *got)
{
	struct xfer *x = ctx;
	unsigned char *p = buf;
	size_t n = 1 + (size_t)((x->up_sent * 131 + 17) % 1500);

	*got = 0;
	if (x->up_fail > 0 && x->up_sent >= x->up_fail)
		return x->up_rc;
	if (n > cap)
		n = cap;
	if (n > x->up_size - x->up_sent)
		n = (size_t)(x->up_size - x->up_sent);
	for (size_t i = 0; i < n; i++)
		p[i] = pattern(x->up_sent + i);
	x->up_sum = fnv(x->up_sum, p, n);
	x->up_sent += n;
	*got = n;
	return ST_OK;
}

static enum st_err
xfer_head(void *ctx, long status, const struct st_httpc_header *headers, size_t n)
{
	struct xfer *x = ctx;

	x->heads++;
	x->status = status;
	x->nheaders = n;
	for (size_t i = 0; i < n && i < ST_ARRAY_LEN(x->names); i++) {
		snprintf(x->names[i], sizeof(x->names[i]), "%s", headers[i].name);
		snprintf(x->values[i], sizeof(x->values[i]), "%s", headers[i].value);
	}
	return x->head_rc;
}

static enum st_err
xfer_body(void *ctx, const void *data, size_t len)
{
	struct xfer *x = ctx;
	const unsigned char *p = data;

	if (x->heads == 0)
		x->body_before_head = true;
	if (x->len < sizeof(x->body) - 1) {
		size_t room = sizeof(x->body) - 1 - (size_t)x->len;

		memcpy(x->body + x->len, data, len < room ? len : room);
	}
	if (x->check_pattern && x->off_pattern < 0)
		for (size_t i = 0; i < len && x->off_pattern < 0; i++)
			if (p[i] != pattern(x->len + i))
				x->off_pattern = (int64_t)(x->len + i);
	x->sum = fnv(x->sum, data, len);
	x->len += len;
	if (x->body_fail > 0 && x->len >= x->body_fail)
		return ST_ERR_TOO_LARGE;
	return ST_OK;
}

/* A header of the answer by name (any case), NULL when absent. */
const char *
xfer_header(const struct xfer *x, const char *name)
{
	for (size_t i = 0; i < x->nheaders && i < ST_ARRAY_LEN(x->names); i++)
		if (strcasecmp(x->names[i], name) == 0)
			return x->values[i];
	return NULL;
}

enum st_err
xfer_run(struct st_httpc *client, const char *method, const char *url, struct xfer *x)
{
	struct st_httpc_stream s = {
		.method = method,
		.url = url,
		.headers = x->headers,
		.request_id = x->request_id,
		.body_len = x->body_len,
		.read = x->upload ? xfer_read : NULL,
		.on_head = xfer_head,
		.on_body = xfer_body,
		.ctx = x,
		.idle_timeout_ms = x->idle_ms,
	};

	return st_httpc_stream(client, &s);
}
