/*
 * Streamed http:// calls over the client's own keep-alive sockets (httpc_pool.c), without
 * libcurl: the exchange, from writing the request to relaying the answer's body.
 *
 * Why: the gateway proxies every public request through st_httpc_stream, and on this kind of
 * machine libcurl's multi loop cost a quarter of the gateway's CPU (its polls, option resets
 * and URL parsing). Here a request with no body or a small one is one send, and its answer
 * usually one receive.
 *
 * A request that finds its reused connection dead is sent once more on a new connection when
 * that is safe: it could not be sent at all, or nothing of the answer came and its method is
 * idempotent (the peer may have run it) and its body, if any, is still held.
 *
 * Bodies: up to RAW_BODY_INLINE with a known length is read whole and sent with the head.
 * Larger or chunked bodies are announced with Expect: 100-continue and sent only once the peer
 * invites them (or after RAW_EXPECT_WAIT_MS), so that a peer refusing the request first (401,
 * 413) never gets, nor resets, a body it will not read; while they are sent, an answer that
 * arrives early stops the upload and is relayed, and the connection is then closed.
 *
 * The answer's head and framing are read by httpc_wire.c: at most HTTPC_INTERIM_MAX interim
 * answers are skipped, an answer with both Transfer-Encoding and Content-Length loses the
 * length (and its connection), and a chunked body's lines must end in CRLF.
 */
#include <stdio.h>
#include <string.h>

#include "httpc_pool.h"
#include "strata/log.h"
#include "strata/request_id.h"

#define RAW_BUF            (16 * 1024)
#define RAW_HEAD_MAX       (64 * 1024) /* the most header bytes accepted from a peer */
#define RAW_HEADERS_MAX    128
#define RAW_BODY_INLINE    (64 * 1024)
#define RAW_EXPECT_WAIT_MS 1000

/* ---- the request ---- */

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

struct answer {
	char *buf; /* RAW_BUF bytes, or more while a long head arrives */
	size_t cap, len;
	bool buf_owned;
	long status;
	bool keep;       /* the connection may carry another exchange after this one */
	bool got_any;    /* a byte of the answer arrived */
	bool head_given; /* on_head was called */
	int interim;     /* interim (1xx) answers skipped so far */
	enum st_httpc_body framing;
	int64_t left; /* ST_HTTPC_BODY_LENGTH: bytes still to come */
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

/* Receives more of the answer into a->buf after a->len. ST_ERR_IO at an EOF. */
static enum st_err
answer_recv(struct answer *a, int fd, bool eof_ok)
{
	size_t got = 0;
	enum st_err rc = httpc_recv_some(fd, a->buf + a->len, a->cap - a->len, &got);

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
		size_t end = st_httpc_head_end(a->buf, a->len, scanned), n = 0;
		struct st_httpc_framing fr;
		bool http10 = false;
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
		rc = st_httpc_parse_head(a->buf, end, &a->status, &http10, list, ST_ARRAY_LEN(list),
					 &n);
		if (rc != ST_OK)
			return rc;
		if (a->status >= 100 && a->status < 200 && a->status != 101) {
			/* a peer that never ends its interim answers must not hold the call */
			if (++a->interim > HTTPC_INTERIM_MAX)
				return ST_ERR_IO;
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
		rc = st_httpc_framing(s->method, a->status, http10, list, &n, &fr);
		if (rc != ST_OK)
			return rc;
		a->framing = fr.body;
		a->left = fr.length;
		a->keep = a->keep && fr.keep;
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

			if (a->framing == ST_HTTPC_BODY_NONE) {
				a->keep = false; /* bytes after a body-less answer */
				return ST_OK;
			}
			if (a->framing == ST_HTTPC_BODY_LENGTH) {
				if ((int64_t)dlen > a->left) {
					dlen = (size_t)a->left;
					a->keep = false; /* more than announced */
				}
				used = dlen;
				a->left -= (int64_t)dlen;
			} else if (a->framing == ST_HTTPC_BODY_CHUNKED) {
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
			if (a->framing == ST_HTTPC_BODY_LENGTH && a->left == 0) {
				if (at < a->len)
					a->keep = false;
				return ST_OK;
			}
		}
		a->len = 0;
		if (a->framing == ST_HTTPC_BODY_NONE ||
		    (a->framing == ST_HTTPC_BODY_LENGTH && a->left == 0))
			return ST_OK;
		rc = answer_recv(a, fd, a->framing == ST_HTTPC_BODY_TO_CLOSE);
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

		if (a->len > 0 || httpc_peer_spoke(fd, 0)) {
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
		rc = httpc_send_all(fd, buf + off, len);
		if (rc == ST_ERR_TIMEOUT && a->len == 0 && !httpc_peer_spoke(fd, 0))
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
	char request_id[ST_REQUEST_ID_MAX + 1];
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
	char *head = httpc_request_head(s, httpc_target_host(t), httpc_target_port(t), x->target,
					x->request_id, streamed, &hlen);
	enum st_err rc;

	*keep = false;
	*retry = false;
	if (x->inline_len > 0) {
		head = st_realloc(head, hlen + x->inline_len);
		memcpy(head + hlen, x->inline_body, x->inline_len);
		hlen += x->inline_len;
	}
	rc = httpc_send_all(c->fd, head, hlen);
	st_free(head);
	if (rc != ST_OK) {
		*retry = c->reused && rc == ST_ERR_IO;
		return rc;
	}
	/* A streamed body waits for the peer's invitation, or its refusal, or its silence. */
	if (streamed && httpc_peer_spoke(c->fd, RAW_EXPECT_WAIT_MS)) {
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
httpc_raw_stream(struct httpc_pool *r, const struct st_httpc_stream *s, bool *handled)
{
	struct exchange x = { .s = s };
	struct raw_target *t;
	struct raw_conn c = { .fd = -1 };
	char host[256], rbuf[RAW_BUF];
	int port, idle_ms = s->idle_timeout_ms > 0 ? s->idle_timeout_ms
						   : httpc_pool_conf(r)->timeout_ms;
	enum st_err rc;

	*handled = false;
	if (!st_httpc_split_url(s->url, host, sizeof(host), &port, &x.target))
		return ST_ERR_INVALID;
	t = httpc_pool_target(r, host, port);
	if (t == NULL)
		return ST_ERR_INVALID;
	*handled = true;
	if (!httpc_request_line_ok(s->method, x.target))
		return ST_ERR_INVALID;
	httpc_request_id(s->request_id, x.request_id, sizeof(x.request_id));
	if (s->read != NULL && s->body_len >= 0 && s->body_len <= RAW_BODY_INLINE) {
		x.inline_body = st_malloc((size_t)s->body_len + 1);
		rc = read_whole(s, x.inline_body, (size_t)s->body_len);
		if (rc != ST_OK)
			goto out;
		x.inline_len = (size_t)s->body_len;
	}
	for (int attempt = 0;; attempt++) {
		bool keep = false, retry = false;

		rc = httpc_pool_take(r, t, &c, attempt > 0); /* a retry goes on a new connection */
		if (rc != ST_OK)
			goto out;
		if (c.fd < 0 && (rc = httpc_conn_open(r, t, &c)) != ST_OK) {
			httpc_pool_give(r, t, &c, false);
			st_log(ST_LOG_DEBUG, "httpc", "stream %s %s: cannot connect", s->method,
			       s->url);
			goto out;
		}
		httpc_conn_timeouts(&c, idle_ms);
		rc = exchange_try(&x, t, &c, rbuf, &keep, &retry);
		httpc_pool_give(r, t, &c, keep);
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
