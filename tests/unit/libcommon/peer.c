/*
 * Raw peers for the unit runner (see peer.h): a socket server on a thread that answers with
 * whatever bytes a test writes, a raw client, and an st_httpc_stream exchange recorder.
 */
#define _GNU_SOURCE /* strcasestr */
#include "peer.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define PEER_CONNS 16
#define HEAD_CAP   8192

struct peer_conn {
	struct peer *p;
	int fd;
	pthread_t thread;
};

struct peer {
	peer_answer_fn *answer;
	void *ctx;
	int fd, port;
	pthread_t thread;
	atomic_bool stop;
	atomic_int accepted, requests;
	pthread_mutex_t mu;
	char last[HEAD_CAP]; /* the last request head */
	struct peer_conn conns[PEER_CONNS];
	int nconns;
};

/* Waits up to ms for fd to be readable, in slices that watch the stop flag. */
static bool
wait_readable(struct peer *p, int fd, int ms)
{
	for (int waited = 0; waited < ms && !atomic_load(&p->stop); waited += 20) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };

		if (poll(&pf, 1, 20) > 0)
			return true;
	}
	return false;
}

/* Reads one request head and its Content-Length body, if any. False at the end. */
static bool
read_request(struct peer *p, int fd)
{
	char buf[HEAD_CAP];
	size_t len = 0;

	while (len < sizeof(buf) - 1) {
		ssize_t n;
		char *end;

		if (!wait_readable(p, fd, 10000))
			return false;
		n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n <= 0)
			return false;
		len += (size_t)n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end != NULL) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");
			size_t body = cl != NULL && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
			size_t have = len - (size_t)(end + 4 - buf);

			pthread_mutex_lock(&p->mu);
			snprintf(p->last, sizeof(p->last), "%.*s", (int)(end + 4 - buf), buf);
			pthread_mutex_unlock(&p->mu);
			while (have < body) {
				char scrap[4096];

				if (!wait_readable(p, fd, 5000))
					return false;
				n = recv(fd, scrap, sizeof(scrap), 0);
				if (n <= 0)
					return false;
				have += (size_t)n;
			}
			return true;
		}
	}
	return false;
}

static void *
conn_run(void *arg)
{
	struct peer_conn *c = arg;
	int one = 1;

	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (int nth = 0; read_request(c->p, c->fd); nth++) {
		atomic_fetch_add(&c->p->requests, 1);
		if (!c->p->answer(c->p, c->fd, nth, c->p->ctx))
			break;
	}
	close(c->fd);
	return NULL;
}

static void *
accept_run(void *arg)
{
	struct peer *p = arg;

	while (!atomic_load(&p->stop)) {
		struct peer_conn *c;
		int fd;

		if (!wait_readable(p, p->fd, 20))
			continue;
		fd = accept(p->fd, NULL, NULL);
		if (fd < 0)
			continue;
		atomic_fetch_add(&p->accepted, 1);
		if (p->nconns == PEER_CONNS) {
			close(fd);
			continue;
		}
		c = &p->conns[p->nconns];
		c->p = p;
		c->fd = fd;
		if (pthread_create(&c->thread, NULL, conn_run, c) != 0) {
			close(fd);
			continue;
		}
		p->nconns++;
	}
	return NULL;
}

/* A listening socket on 127.0.0.1 and a port the system picks; *port says which. */
static int
listen_any(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

struct peer *
peer_start(peer_answer_fn *answer, void *ctx)
{
	struct peer *p = st_calloc(1, sizeof(*p));

	p->answer = answer;
	p->ctx = ctx;
	atomic_init(&p->stop, false);
	atomic_init(&p->accepted, 0);
	atomic_init(&p->requests, 0);
	pthread_mutex_init(&p->mu, NULL);
	p->fd = listen_any(&p->port);
	ck_assert_int_eq(pthread_create(&p->thread, NULL, accept_run, p), 0);
	return p;
}

void
peer_stop(struct peer *p)
{
	atomic_store(&p->stop, true);
	pthread_join(p->thread, NULL);
	for (int i = 0; i < p->nconns; i++)
		pthread_join(p->conns[i].thread, NULL);
	close(p->fd);
	pthread_mutex_destroy(&p->mu);
	st_free(p);
}

int
peer_port(const struct peer *p)
{
	return p->port;
}

void
peer_url(const struct peer *p, const char *path, char *buf, size_t cap)
{
	snprintf(buf, cap, "http://127.0.0.1:%d%s", p->port, path);
}

int
peer_accepted(struct peer *p)
{
	return atomic_load(&p->accepted);
}

int
peer_requests(struct peer *p)
{
	return atomic_load(&p->requests);
}

void
peer_last_request(struct peer *p, char *buf, size_t cap)
{
	pthread_mutex_lock(&p->mu);
	snprintf(buf, cap, "%s", p->last);
	pthread_mutex_unlock(&p->mu);
}

void
peer_send(int fd, const void *data, size_t len)
{
	const char *d = data;

	while (len > 0) {
		ssize_t n = send(fd, d, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		d += n;
		len -= (size_t)n;
	}
}

void
peer_send_str(int fd, const char *s)
{
	peer_send(fd, s, strlen(s));
}

void
peer_drain(struct peer *p, int fd)
{
	char buf[4096];

	while (wait_readable(p, fd, 5000))
		if (recv(fd, buf, sizeof(buf), 0) <= 0)
			return;
}

bool
peer_stopping(struct peer *p)
{
	return atomic_load(&p->stop);
}

int
peer_closed_port(void)
{
	int port, fd = listen_any(&port);

	close(fd);
	return port;
}

/* ---- a raw client ---- */

int
raw_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

size_t
raw_exchange(int fd, const char *request, char *buf, size_t cap, int idle_ms, bool *closed)
{
	size_t len = 0;

	*closed = false;
	peer_send_str(fd, request);
	while (len < cap - 1) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pf, 1, idle_ms) <= 0)
			break;
		n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n <= 0) {
			*closed = true;
			break;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	return len;
}

/* ---- one st_httpc_stream exchange, recorded ---- */

void
xfer_init(struct xfer *x)
{
	memset(x, 0, sizeof(*x));
	x->idle_ms = 2000;
}

static enum st_err
xfer_read(void *ctx, void *buf, size_t cap, size_t *got)
{
	struct xfer *x = ctx;
	size_t n = cap;

	if (n > x->up_size - x->up_sent)
		n = (size_t)(x->up_size - x->up_sent);
	memset(buf, 'u', n);
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
	return ST_OK;
}

static enum st_err
xfer_body(void *ctx, const void *data, size_t len)
{
	struct xfer *x = ctx;

	if (x->len < sizeof(x->body) - 1) {
		size_t room = sizeof(x->body) - 1 - (size_t)x->len;

		memcpy(x->body + x->len, data, len < room ? len : room);
	}
	x->len += len;
	return ST_OK;
}

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

struct st_httpc *
peer_client(void)
{
	struct st_httpc_conf cc = {
		.connect_timeout_ms = 1000,
		.timeout_ms = 5000,
		.max_response = 64 * 1024,
	};
	struct st_httpc *c = NULL;

	ck_assert_int_eq(st_httpc_create(&cc, &c), ST_OK);
	return c;
}
