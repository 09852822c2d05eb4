/*
 * Streamed http:// calls over the client's own keep-alive sockets, without libcurl.
 *
 * Why: the gateway proxies every public request through st_httpc_stream, and on this kind of
 * machine libcurl's multi loop cost a quarter of the gateway's CPU (its polls, option resets
 * and URL parsing). Here a request with no body or a small one is one send, and its answer
 * usually one receive: sockets are blocking, with SO_RCVTIMEO and SO_SNDTIMEO as the idle
 * timeout, so no poll is made on the common path.
 *
 * Connections are kept per host and port, the most recently used first. One idle for more
 * than RAW_IDLE_MAX_MS is closed (services close theirs after HTTP_KEEP_ALIVE_MS, 5 s by
 * default), and one the peer closed meanwhile is noticed before use by a non-blocking peek. A
 * request that still finds its reused connection dead is sent once more on a new connection
 * when that is safe: it could not be sent at all, or nothing of the answer came and its method
 * is idempotent (the peer may have run it) and its body, if any, is still held.
 * With conf.pool_size, at most pool_size connections are open to one host and port; a call
 * finding all busy waits up to pool_wait_ms, then fails with ST_ERR_UNAVAILABLE.
 *
 * Bodies: up to RAW_BODY_INLINE with a known length is read whole and sent with the head.
 * Larger or chunked bodies are announced with Expect: 100-continue and sent only once the peer
 * invites them (or after RAW_EXPECT_WAIT_MS), so that a peer refusing the request first (401,
 * 413) never gets, nor resets, a body it will not read; while they are sent, an answer that
 * arrives early stops the upload and is relayed, and the connection is then closed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "httpc_int.h"
#include "strata/log.h"

#define RAW_TARGETS        16
#define RAW_IDLE_MAX_MS    4000
#define RAW_IDLE_KEEP      256 /* idle connections kept per target without pool_size */
#define RAW_BUF            (16 * 1024)
#define RAW_HEAD_MAX       (64 * 1024) /* the most header bytes accepted from a peer */
#define RAW_HEADERS_MAX    128
#define RAW_BODY_INLINE    (64 * 1024)
#define RAW_EXPECT_WAIT_MS 1000
#define RAW_POOL_WAIT_MS   1000

struct raw_conn {
	int fd;
	int64_t last_ms; /* when it last finished an exchange */
	int timeout_ms;  /* its SO_RCVTIMEO and SO_SNDTIMEO */
	bool reused;     /* it carried an exchange before this one */
};

struct raw_target {
	char host[256];
	int port;
	struct raw_conn *idle; /* a stack: the most recently used last */
	int nidle, idle_cap;
	int open;             /* idle or in use */
	pthread_cond_t freed; /* one of its connections was given back or closed */
};

struct httpc_raw {
	struct st_httpc_conf conf;
	pthread_mutex_t mu;
	pthread_condattr_t monotonic; /* for the targets' condition variables */
	struct raw_target targets[RAW_TARGETS];
	int ntargets;
};

struct httpc_raw *
httpc_raw_create(const struct st_httpc_conf *conf)
{
	struct httpc_raw *r = st_calloc(1, sizeof(*r));

	r->conf = *conf;
	if (r->conf.pool_wait_ms <= 0)
		r->conf.pool_wait_ms = RAW_POOL_WAIT_MS;
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_init(&r->monotonic);
	pthread_condattr_setclock(&r->monotonic, CLOCK_MONOTONIC);
	return r;
}

void
httpc_raw_destroy(struct httpc_raw *r)
{
	if (r == NULL)
		return;
	for (int t = 0; t < r->ntargets; t++) {
		for (int i = 0; i < r->targets[t].nidle; i++)
			close(r->targets[t].idle[i].fd);
		st_free(r->targets[t].idle);
		pthread_cond_destroy(&r->targets[t].freed);
	}
	pthread_condattr_destroy(&r->monotonic);
	pthread_mutex_destroy(&r->mu);
	st_free(r);
}

/* ---- the connection pool ---- */

/* Under r->mu: the target for host:port, made when new; NULL when the table is full. */
static struct raw_target *
target_find(struct httpc_raw *r, const char *host, int port)
{
	struct raw_target *t;

	for (int i = 0; i < r->ntargets; i++)
		if (r->targets[i].port == port && strcmp(r->targets[i].host, host) == 0)
			return &r->targets[i];
	if (r->ntargets == RAW_TARGETS || strlen(host) >= sizeof(t->host))
		return NULL;
	t = &r->targets[r->ntargets++];
	st_strlcpy(t->host, host, sizeof(t->host));
	t->port = port;
	pthread_cond_init(&t->freed, &r->monotonic);
	return t;
}

/* True when an idle connection is still usable: nothing to read, no EOF, no error. */
static bool
idle_alive(int fd)
{
	char b;
	ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static void
deadline_after(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/*
 * Takes a live idle connection of t into *c (ST_OK, c->fd >= 0), or the right to open a new
 * one (ST_OK, c->fd == -1, counted in t->open); ST_ERR_UNAVAILABLE when the pool stayed full.
 * With fresh, idle connections are closed rather than used: the caller wants a new one.
 */
static enum st_err
conn_take(struct httpc_raw *r, struct raw_target *t, struct raw_conn *c, bool fresh)
{
	struct timespec until;
	bool waited = false;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		if (t->nidle > 0) {
			*c = t->idle[--t->nidle];
			pthread_mutex_unlock(&r->mu);
			if (!fresh && st_now_mono_ms() - c->last_ms <= RAW_IDLE_MAX_MS &&
			    idle_alive(c->fd)) {
				c->reused = true;
				return ST_OK;
			}
			close(c->fd);
			pthread_mutex_lock(&r->mu);
			t->open--;
			continue;
		}
		if (r->conf.pool_size <= 0 || t->open < r->conf.pool_size) {
			t->open++;
			pthread_mutex_unlock(&r->mu);
			c->fd = -1;
			return ST_OK;
		}
		if (!waited) {
			deadline_after(&until, r->conf.pool_wait_ms);
			waited = true;
		}
		if (pthread_cond_timedwait(&t->freed, &r->mu, &until) == ETIMEDOUT) {
			pthread_mutex_unlock(&r->mu);
			st_log(ST_LOG_WARN, "httpc",
			       "every pooled connection to %s:%d busy for ms=%d size=%d", t->host,
			       t->port, r->conf.pool_wait_ms, r->conf.pool_size);
			return ST_ERR_UNAVAILABLE;
		}
	}
}

/* Gives c back to t: kept for the next call when keep, else closed (or never opened). */
static void
conn_give(struct httpc_raw *r, struct raw_target *t, struct raw_conn *c, bool keep)
{
	int cap = r->conf.pool_size > 0 ? r->conf.pool_size : RAW_IDLE_KEEP;
	int64_t now = st_now_mono_ms();
	int expired = 0;

	pthread_mutex_lock(&r->mu);
	/* the bottom of the stack waited longest: close what a service has closed by now */
	while (expired < t->nidle && now - t->idle[expired].last_ms > RAW_IDLE_MAX_MS)
		close(t->idle[expired++].fd);
	if (expired > 0) {
		t->nidle -= expired;
		t->open -= expired;
		memmove(t->idle, t->idle + expired, (size_t)t->nidle * sizeof(*t->idle));
	}
	if (keep && c->fd >= 0 && t->nidle < cap) {
		if (t->nidle == t->idle_cap) {
			t->idle_cap = t->idle_cap > 0 ? t->idle_cap * 2 : 8;
			t->idle = st_realloc(t->idle, (size_t)t->idle_cap * sizeof(*t->idle));
		}
		c->last_ms = now;
		t->idle[t->nidle++] = *c;
	} else {
		if (c->fd >= 0)
			close(c->fd);
		t->open--;
	}
	c->fd = -1;
	pthread_cond_broadcast(&t->freed); /* expired ones may have made room for more than one */
	pthread_mutex_unlock(&r->mu);
}

/* ---- sockets ---- */

static void
set_timeouts(struct raw_conn *c, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	if (c->timeout_ms == ms)
		return;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c->timeout_ms = ms;
}

/* Connects one address within ms; the socket comes back blocking. */
static int
connect_addr(const struct addrinfo *ai, int ms)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			ai->ai_protocol);
	int one = 1, err = 0;
	socklen_t len = sizeof(err);

	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		int n = -1;

		if (errno == EINPROGRESS)
			while ((n = poll(&p, 1, ms)) < 0 && errno == EINTR)
				;
		if (n != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
			close(fd);
			return -1;
		}
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static enum st_err
conn_open(struct httpc_raw *r, const struct raw_target *t, struct raw_conn *c)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *list = NULL;
	char port[8];
	int ms = r->conf.connect_timeout_ms > 0 ? r->conf.connect_timeout_ms : 1000;

	snprintf(port, sizeof(port), "%d", t->port);
	if (getaddrinfo(t->host, port, &hints, &list) != 0)
		return ST_ERR_UNAVAILABLE;
	c->fd = -1;
	for (struct addrinfo *ai = list; ai != NULL && c->fd < 0; ai = ai->ai_next)
		c->fd = connect_addr(ai, ms);
	freeaddrinfo(list);
	c->timeout_ms = -1;
	c->reused = false;
	return c->fd >= 0 ? ST_OK : ST_ERR_UNAVAILABLE;
}

/* How a failed send or receive reads: the idle timeout, or the peer gone. */
static enum st_err
io_error(void)
{
	return (errno == EAGAIN || errno == EWOULDBLOCK) ? ST_ERR_TIMEOUT : ST_ERR_IO;
}

static enum st_err
send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return io_error();
		buf += n;
		len -= (size_t)n;
	}
	return ST_OK;
}

/* Receives into buf; 0 at EOF. */
static enum st_err
recv_some(int fd, char *buf, size_t cap, size_t *got)
{
	for (;;) {
		ssize_t n = recv(fd, buf, cap, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return io_error();
		*got = (size_t)n;
		return ST_OK;
	}
}

/* True when the peer has something to say (an early answer) or has gone. */
static bool
peer_spoke(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n;

	while ((n = poll(&p, 1, ms)) < 0 && errno == EINTR)
		;
	return n == 1;
}

/* ---- the request ---- */

/* The request's head, with its framing headers; the caller frees it. */
static char *
request_head(const struct st_httpc_stream *s, const struct raw_target *t, const char *target,
	     bool expect, size_t *len)
{
	const char *id = s->request_id ? s->request_id : st_log_request_id();
	bool v6 = strchr(t->host, ':') != NULL;
	size_t cap = strlen(s->method) + strlen(target) + strlen(t->host) + 256;
	size_t n;
	char *buf;

	if (id != NULL)
		cap += strlen(id);
	for (size_t i = 0; s->headers != NULL && s->headers[i] != NULL; i++)
		cap += strlen(s->headers[i]) + 3;
	buf = st_malloc(cap);
	n = (size_t)snprintf(buf, cap, "%s %s HTTP/1.1\r\nHost: %s%s%s:%d\r\n", s->method, target,
			     v6 ? "[" : "", t->host, v6 ? "]" : "", t->port);
	for (size_t i = 0; s->headers != NULL && s->headers[i] != NULL; i++) {
		const char *h = s->headers[i];
		size_t hl = strlen(h);

		size_t name = strcspn(h, ":;");
		bool named = name > 0 && h[name] != '\0';

		for (size_t k = 0; k < name && named; k++)
			named = httpc_is_tchar(h[k]);
		/* never lets a caller's line split the head or pass without a name, as libcurl */
		if (!named || strpbrk(h, "\r\n") != NULL || (h[name] == ';' && name + 1 != hl))
			continue;
		if (h[name] == ';')
			n += (size_t)snprintf(buf + n, cap - n, "%.*s:\r\n", (int)name, h);
		else
			n += (size_t)snprintf(buf + n, cap - n, "%s\r\n", h);
	}
	if (id != NULL && id[0] != '\0' && strpbrk(id, "\r\n") == NULL)
		n += (size_t)snprintf(buf + n, cap - n, "X-Request-Id: %s\r\n", id);
	if (s->read != NULL && s->body_len >= 0)
		n += (size_t)snprintf(buf + n, cap - n, "Content-Length: %lld\r\n",
				      (long long)s->body_len);
	else if (s->read != NULL)
		n += (size_t)snprintf(buf + n, cap - n, "Transfer-Encoding: chunked\r\n");
	if (expect)
		n += (size_t)snprintf(buf + n, cap - n, "Expect: 100-continue\r\n");
	n += (size_t)snprintf(buf + n, cap - n, "\r\n");
	*len = n;
	return buf;
}

/* The method is a token and the target has no space or control character. */
static bool
request_line_ok(const char *method, const char *target)
{
	if (*method == '\0')
		return false;
	for (const char *p = method; *p != '\0'; p++)
		if (!httpc_is_tchar(*p))
			return false;
	for (const unsigned char *p = (const unsigned char *)target; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

/* Reads a small body whole (len bytes) from the caller. */
static enum st_err
read_whole(const struct st_httpc_stream *s, char *buf, size_t len)
{
	size_t have = 0;

	while (have < len) {
		size_t got = 0;
		enum st_err rc = s->read(s->ctx, buf + have, len - have, &got);

		if (rc != ST_OK)
			return rc;
		if (got == 0)
			return ST_ERR_IO; /* the caller's body ended short of its length */
		have += got;
	}
	return ST_OK;
}

/* ---- the answer ---- */

/*
 * Parses a head ending in an empty line, in place (names and values NUL-terminated inside
 * it). A malformed header line is dropped, as browsers do; a bad status line fails, and so
 * do more than RAW_HEADERS_MAX headers (*too_many).
 */
static bool
head_parse(char *head, size_t len, long *status, bool *http10, struct st_httpc_header *list,
	   size_t *n, bool *too_many)
{
	char *line = head, *end = head + len;

	*n = 0;
	for (bool first = true; line < end; first = false) {
		char *eol = memchr(line, '\n', (size_t)(end - line));
		size_t nlen, vs, ve;

		if (eol == NULL)
			return false;
		if (first) {
			if (!st_httpc_parse_status(line, (size_t)(eol + 1 - line), status))
				return false;
			*http10 = strncmp(line, "HTTP/1.0", 8) == 0;
		} else if (line == eol || (line + 1 == eol && *line == '\r')) {
			return true; /* the empty line */
		} else if (httpc_header_split(line, (size_t)(eol + 1 - line), &nlen, &vs, &ve)) {
			if (*n == RAW_HEADERS_MAX) {
				*too_many = true; /* the framing may be among the rest */
				return false;
			}
			line[nlen] = '\0';
			line[ve] = '\0'; /* at the latest the line's LF */
			list[*n].name = line;
			list[*n].value = line + vs;
			(*n)++;
		}
		line = eol + 1;
	}
	return false;
}

/* Where the head ends in buf (just past its empty line), or 0 when it has not yet. */
static size_t
head_end(const char *buf, size_t len, size_t from)
{
	for (size_t i = from > 3 ? from - 3 : 0; i < len; i++)
		if (buf[i] == '\n') {
			if (i + 1 < len && buf[i + 1] == '\n')
				return i + 2;
			if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
				return i + 3;
		}
	return 0;
}

/* True when chunked is the last transfer coding of the list (RFC 9112 6.3). */
static bool
last_coding_chunked(const char *te)
{
	const char *last = strrchr(te, ',');
	size_t n;

	last = last != NULL ? last + 1 : te;
	while (*last == ' ' || *last == '\t')
		last++;
	n = strlen(last);
	while (n > 0 && (last[n - 1] == ' ' || last[n - 1] == '\t'))
		n--;
	return n == 7 && strncasecmp(last, "chunked", 7) == 0;
}

enum framing { BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_TO_CLOSE };

struct answer {
	char *buf; /* RAW_BUF bytes, or more while a long head arrives */
	size_t cap, len;
	bool buf_owned;
	long status;
	bool keep;       /* the connection may carry another exchange after this one */
	bool got_any;    /* a byte of the answer arrived */
	bool head_given; /* on_head was called */
	enum framing framing;
	int64_t left; /* BODY_LENGTH: bytes still to come */
	struct st_chunked chunked;
};

static void
answer_grow(struct answer *a)
{
	size_t cap = a->cap * 2 > RAW_HEAD_MAX ? RAW_HEAD_MAX : a->cap * 2;

	if (a->buf_owned) {
		a->buf = st_realloc(a->buf, cap);
	} else {
		char *heap = st_malloc(cap);

		memcpy(heap, a->buf, a->len);
		a->buf = heap;
		a->buf_owned = true;
	}
	a->cap = cap;
}

/* Decides the body's framing from the final head (RFC 9112 6.3). */
static enum st_err
answer_framing(struct answer *a, const struct st_httpc_stream *s, const struct st_httpc_header *h,
	       size_t n, bool http10)
{
	const char *te = NULL, *cl = NULL;

	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(h[i].name, "Transfer-Encoding") == 0)
			te = h[i].value;
		else if (strcasecmp(h[i].name, "Content-Length") == 0) {
			if (cl != NULL && strcmp(cl, h[i].value) != 0)
				return ST_ERR_IO; /* two lengths: not to be trusted */
			cl = h[i].value;
		} else if (strcasecmp(h[i].name, "Connection") == 0 &&
			   st_httpc_token_listed(h[i].value, "close"))
			a->keep = false;
	}
	if (http10)
		a->keep = false;
	if (strcmp(s->method, "HEAD") == 0 || a->status == 204 || a->status == 304) {
		a->framing = BODY_NONE;
	} else if (te != NULL) {
		a->framing = last_coding_chunked(te) ? BODY_CHUNKED : BODY_TO_CLOSE;
		if (cl != NULL)
			a->keep = false; /* both framings: a smuggling shape, never reused */
	} else if (cl != NULL) {
		char *end;
		long long v = strtoll(cl, &end, 10);

		if (end == cl || *end != '\0' || v < 0)
			return ST_ERR_IO;
		a->framing = BODY_LENGTH;
		a->left = v;
	} else {
		a->framing = BODY_TO_CLOSE;
	}
	if (a->framing == BODY_TO_CLOSE)
		a->keep = false;
	return ST_OK;
}

/* Receives more of the answer into a->buf after a->len. ST_ERR_IO at an EOF. */
static enum st_err
answer_recv(struct answer *a, int fd, bool eof_ok)
{
	size_t got = 0;
	enum st_err rc = recv_some(fd, a->buf + a->len, a->cap - a->len, &got);

	if (rc != ST_OK)
		return rc;
	if (got == 0)
		return eof_ok ? ST_ERR_NOT_FOUND : ST_ERR_IO;
	a->got_any = true;
	a->len += got;
	return ST_OK;
}

/*
 * Reads heads until a final one (or, with want_100, until an interim one as well: *invited).
 * Hands the final one to on_head; bytes of the body that came with it stay in a->buf.
 */
static enum st_err
answer_head(struct answer *a, const struct st_httpc_stream *s, int fd, bool want_100, bool *invited)
{
	struct st_httpc_header list[RAW_HEADERS_MAX];
	size_t scanned = 0;

	for (;;) {
		size_t end = head_end(a->buf, a->len, scanned), n = 0;
		bool http10 = false, too_many = false;
		enum st_err rc;

		if (end == 0) {
			scanned = a->len;
			if (a->len == a->cap) {
				if (a->cap >= RAW_HEAD_MAX)
					return ST_ERR_TOO_LARGE;
				answer_grow(a);
			}
			rc = answer_recv(a, fd, false);
			if (rc != ST_OK)
				return rc;
			continue;
		}
		if (!head_parse(a->buf, end, &a->status, &http10, list, &n, &too_many))
			return too_many ? ST_ERR_TOO_LARGE : ST_ERR_IO;
		if (a->status >= 100 && a->status < 200 && a->status != 101) {
			memmove(a->buf, a->buf + end, a->len - end);
			a->len -= end;
			scanned = 0;
			if (want_100) {
				/* 100, or another interim answer (102, 103): either way the peer
				 * is there and reading, so the body goes rather than stall */
				*invited = true;
				return ST_OK;
			}
			continue;
		}
		rc = answer_framing(a, s, list, n, http10);
		if (rc != ST_OK)
			return rc;
		a->head_given = true;
		rc = s->on_head(s->ctx, a->status, list, n);
		memmove(a->buf, a->buf + end, a->len - end);
		a->len -= end;
		return rc;
	}
}

/* Hands the body to on_body as it arrives, per its framing. */
static enum st_err
answer_body(struct answer *a, const struct st_httpc_stream *s, int fd)
{
	for (;;) {
		size_t at = 0;
		enum st_err rc;

		while (at < a->len) {
			const char *data = a->buf + at;
			size_t dlen = a->len - at, used = dlen;

			if (a->framing == BODY_NONE) {
				a->keep = false; /* bytes after a body-less answer */
				return ST_OK;
			}
			if (a->framing == BODY_LENGTH) {
				if ((int64_t)dlen > a->left) {
					dlen = (size_t)a->left;
					a->keep = false; /* more than announced */
				}
				used = dlen;
				a->left -= (int64_t)dlen;
			} else if (a->framing == BODY_CHUNKED) {
				enum st_chunked_rc cr = st_chunked_feed(
					&a->chunked, a->buf + at, a->len - at, &used, &data, &dlen);

				if (cr == ST_CHUNKED_BAD)
					return ST_ERR_IO;
				if (cr == ST_CHUNKED_DONE) {
					if (dlen > 0 &&
					    (rc = s->on_body(s->ctx, data, dlen)) != ST_OK)
						return rc;
					if (at + used < a->len)
						a->keep = false;
					return ST_OK;
				}
			}
			if (dlen > 0 && (rc = s->on_body(s->ctx, data, dlen)) != ST_OK)
				return rc;
			at += used;
			if (a->framing == BODY_LENGTH && a->left == 0) {
				if (at < a->len)
					a->keep = false;
				return ST_OK;
			}
		}
		a->len = 0;
		if (a->framing == BODY_NONE || (a->framing == BODY_LENGTH && a->left == 0))
			return ST_OK;
		rc = answer_recv(a, fd, a->framing == BODY_TO_CLOSE);
		if (rc == ST_ERR_NOT_FOUND)
			return ST_OK; /* the end of a body framed by the connection's close */
		if (rc != ST_OK)
			return rc;
	}
}

/*
 * Streams the caller's body after the head. An answer that arrives meanwhile is read: an
 * interim 100 lets the upload go on; a final one (a->head_given) stops it, *early.
 */
static enum st_err
send_streamed(const struct st_httpc_stream *s, int fd, struct answer *a, bool *early)
{
	char buf[RAW_BUF + 16];
	int64_t sent = 0;

	for (;;) {
		size_t got = 0, off = 16, len;
		bool invited = false;
		enum st_err rc;

		if (a->len > 0 || peer_spoke(fd, 0)) {
			rc = answer_head(a, s, fd, true, &invited);
			if (rc != ST_OK || !invited) {
				*early = true;
				return rc;
			}
		}
		rc = s->read(s->ctx, buf + off, RAW_BUF - 2, &got);
		if (rc != ST_OK)
			return rc;
		if (s->body_len >= 0) {
			if (got == 0)
				return sent == s->body_len ? ST_OK : ST_ERR_IO;
			if (sent + (int64_t)got > s->body_len)
				return ST_ERR_IO;
			len = got;
		} else {
			/* chunked: "<hex>\r\n" before the data, "\r\n" after; the last is empty */
			char size[16];
			int sl = snprintf(size, sizeof(size), "%zx\r\n", got);

			off -= (size_t)sl;
			memcpy(buf + off, size, (size_t)sl);
			memcpy(buf + 16 + got, "\r\n", 2);
			len = (size_t)sl + got + 2;
		}
		rc = send_all(fd, buf + off, len);
		if (rc == ST_ERR_TIMEOUT && a->len == 0 && !peer_spoke(fd, 0))
			return rc; /* a peer that stopped reading and said nothing */
		if (rc != ST_OK) {
			/* a peer that answered and stopped reading: its answer may be waiting */
			*early = true;
			return ST_OK;
		}
		sent += (int64_t)got;
		if (got == 0 || (s->body_len >= 0 && sent == s->body_len))
			return ST_OK;
	}
}

/* ---- one exchange ---- */

struct exchange {
	const struct st_httpc_stream *s;
	const char *target;
	char *inline_body; /* the whole body, when small and of known length */
	size_t inline_len;
};

/*
 * One try on connection c. *retry is set when it failed in a way a new connection may cure (a
 * reused connection found dead) and a replay is safe: the request could not be sent, or it was
 * sent whole but nothing of the answer came and its method is idempotent (the peer may have
 * run it before it went) and its body, if any, is still held.
 */
static enum st_err
exchange_try(struct exchange *x, const struct raw_target *t, struct raw_conn *c, char *rbuf,
	     bool *keep, bool *retry)
{
	const struct st_httpc_stream *s = x->s;
	bool streamed = s->read != NULL && x->inline_body == NULL;
	bool early = false, invited = false;
	struct answer a = { .buf = rbuf, .cap = RAW_BUF, .keep = true };
	size_t hlen;
	char *head = request_head(s, t, x->target, streamed, &hlen);
	enum st_err rc;

	*keep = false;
	*retry = false;
	if (x->inline_len > 0) {
		head = st_realloc(head, hlen + x->inline_len);
		memcpy(head + hlen, x->inline_body, x->inline_len);
		hlen += x->inline_len;
	}
	rc = send_all(c->fd, head, hlen);
	st_free(head);
	if (rc != ST_OK) {
		*retry = c->reused && rc == ST_ERR_IO;
		return rc;
	}
	/* A streamed body waits for the peer's invitation, or its refusal, or its silence. */
	if (streamed && peer_spoke(c->fd, RAW_EXPECT_WAIT_MS)) {
		rc = answer_head(&a, s, c->fd, true, &invited);
		if (rc != ST_OK)
			goto out; /* a streamed body: never replayed */
		early = !invited;
	}
	if (streamed && !early) {
		rc = send_streamed(s, c->fd, &a, &early);
		if (rc != ST_OK)
			goto out;
	}
	if (!a.head_given) {
		rc = answer_head(&a, s, c->fd, false, &invited);
		if (rc != ST_OK) {
			*retry = c->reused && rc == ST_ERR_IO && !a.got_any && !streamed &&
				 st_httpc_idempotent(s->method);
			goto out;
		}
	}
	rc = answer_body(&a, s, c->fd);
	/* a body not sent whole leaves the connection out of step */
	*keep = rc == ST_OK && a.keep && !early;
out:
	if (a.buf_owned)
		st_free(a.buf);
	return rc;
}

enum st_err
httpc_raw_stream(struct httpc_raw *r, const struct st_httpc_stream *s, bool *handled)
{
	struct exchange x = { .s = s };
	struct raw_target *t;
	struct raw_conn c = { .fd = -1 };
	char host[256], rbuf[RAW_BUF];
	int port, idle_ms = s->idle_timeout_ms > 0 ? s->idle_timeout_ms : r->conf.timeout_ms;
	enum st_err rc;

	*handled = false;
	if (!st_httpc_split_url(s->url, host, sizeof(host), &port, &x.target))
		return ST_ERR_INVALID;
	pthread_mutex_lock(&r->mu);
	t = target_find(r, host, port);
	pthread_mutex_unlock(&r->mu);
	if (t == NULL)
		return ST_ERR_INVALID;
	*handled = true;
	if (!request_line_ok(s->method, x.target))
		return ST_ERR_INVALID;
	if (s->read != NULL && s->body_len >= 0 && s->body_len <= RAW_BODY_INLINE) {
		x.inline_body = st_malloc((size_t)s->body_len + 1);
		rc = read_whole(s, x.inline_body, (size_t)s->body_len);
		if (rc != ST_OK)
			goto out;
		x.inline_len = (size_t)s->body_len;
	}
	for (int attempt = 0;; attempt++) {
		bool keep = false, retry = false;

		rc = conn_take(r, t, &c, attempt > 0); /* a retry goes on a new connection */
		if (rc != ST_OK)
			goto out;
		if (c.fd < 0 && (rc = conn_open(r, t, &c)) != ST_OK) {
			conn_give(r, t, &c, false);
			st_log(ST_LOG_DEBUG, "httpc", "stream %s %s: cannot connect", s->method,
			       s->url);
			goto out;
		}
		set_timeouts(&c, idle_ms);
		rc = exchange_try(&x, t, &c, rbuf, &keep, &retry);
		conn_give(r, t, &c, keep);
		if (rc == ST_OK || !retry || attempt > 0)
			break;
		st_log(ST_LOG_DEBUG, "httpc",
		       "stream %s %s: kept connection closed, again on a new one", s->method,
		       s->url);
	}
	if (rc != ST_OK)
		st_log(ST_LOG_DEBUG, "httpc", "stream %s %s failed: %s", s->method, s->url,
		       st_err_str(rc));
out:
	st_free(x.inline_body);
	return rc;
}
