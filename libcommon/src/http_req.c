/*
 * The request as handlers see it (parameters, query, headers, body) and every way to answer
 * it. A small answer goes out in one write: headers and body in two writes meet Nagle's
 * algorithm and the peer's delayed ACK and stall for 40 ms (docs/performance.md).
 *
 * An answer may go out before the request body has been read (413, 401, 404, a proxied
 * service that refused early). Closing the connection then, with body bytes unread, makes
 * the kernel send a reset that can destroy the answer before the client reads it (RFC 9112,
 * section 9.6), and CivetWeb on Linux closes without reading them. So the answer says
 * Connection: close when a large or unknown rest is still to come, and http_req_linger reads
 * and drops that rest, within bounds, before CivetWeb closes.
 *
 * The framing is the server's alone: a head that cannot go out whole (too long, cut headers,
 * CR or LF in a value, framing among a caller's lines) fails the answer with a problem and
 * Connection: close, never sending a body after a missing head; a stream with a
 * Content-Length never puts more bytes than that on the connection.
 */
#include "http_int.h"

#include <civetweb.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "strata/log.h"

#define ONE_WRITE_MAX (64 * 1024)
/* The longest head an answer may have; nginx in front takes 4 or 8 KiB by default
 * (proxy_buffer_size). */
#define HEAD_MAX (16 * 1024)

/* A known rest of the body up to this size is read after the answer and the connection kept;
 * a larger or unknown one is read within the bounds below, and the connection closed. */
#define LINGER_KEEP_MAX  (64 * 1024)
#define LINGER_BYTES_MAX (16 * 1024 * 1024) /* nginx's client_max_body_size in front */
#define LINGER_MS        2000

ST_STATIC bool http_answer_closes(bool held, int64_t left);
ST_STATIC bool http_linger_more(size_t dropped, int64_t elapsed_ms);
ST_STATIC bool http_head_lines_ok(const char *lines);

/* True for RFC 9110 token characters, which a header field name is made of. */
static bool
http_tchar(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

const char *
st_http_method(const struct st_req *req)
{
	return req->ri->request_method;
}

const char *
st_http_path(const struct st_req *req)
{
	return req->path;
}

const char *
st_http_param(const struct st_req *req, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < req->params.n; i++)
		if (req->params.name_lens[i] == n && memcmp(req->params.names[i], name, n) == 0)
			return req->params.values[i];
	return NULL;
}

enum st_err
st_http_query_get(const struct st_req *req, const char *name, char *buf, size_t cap)
{
	const char *qs = req->ri->query_string;
	int n;

	if (qs == NULL)
		return ST_ERR_NOT_FOUND;
	n = mg_get_var2(qs, strlen(qs), name, buf, cap, 0);
	if (n >= 0)
		return ST_OK;
	return n == -1 ? ST_ERR_NOT_FOUND : ST_ERR_TOO_LARGE;
}

bool
st_http_query(const struct st_req *req, const char *name, char *buf, size_t cap)
{
	return st_http_query_get(req, name, buf, cap) == ST_OK;
}

const char *
st_http_header(const struct st_req *req, const char *name)
{
	return mg_get_header(req->conn, name);
}

const char *
st_http_request_id(const struct st_req *req)
{
	return req->request_id;
}

const struct st_principal *
st_http_principal(const struct st_req *req)
{
	return req->has_principal ? &req->principal : NULL;
}

const char *
st_http_remote_addr(const struct st_req *req)
{
	return req->ri->remote_addr;
}

struct mg_connection *
st_http_conn(struct st_req *req)
{
	return req->conn;
}

/* True when the client waits for 100 Continue before sending its body. */
static bool
expects_continue(const struct st_req *req)
{
	const char *expect = mg_get_header(req->conn, "Expect");

	return expect != NULL && strcasecmp(expect, "100-continue") == 0 &&
	       strcmp(req->ri->http_version, "1.1") == 0;
}

void
http_req_begin(struct st_req *req)
{
	const char *te = mg_get_header(req->conn, "Transfer-Encoding");

	/* CivetWeb takes chunked before Content-Length, and refuses other transfer codings. */
	if (te != NULL && strcasecmp(te, "chunked") == 0)
		req->body_declared = -1;
	else
		req->body_declared = req->ri->content_length > 0 ? req->ri->content_length : 0;
	req->body_end = req->body_declared == 0;
	req->body_invited = req->body_end || !expects_continue(req);
}

/* Body bytes still to come: -1 when unknown (chunked), 0 when none. */
static int64_t
body_left(const struct st_req *req)
{
	if (req->body_end || req->body_broken)
		return 0;
	if (req->body_declared < 0)
		return -1;
	return req->body_declared - req->body_seen;
}

/*
 * Whether an answer that goes out with left body bytes still to come (-1: unknown) must end
 * the connection: when the client holds them back until invited (it may send them later, and
 * they would be read as a request), or when they are too many, or of unknown number, to read
 * after the answer as a matter of course.
 */
ST_STATIC bool
http_answer_closes(bool held, int64_t left)
{
	if (left == 0)
		return false;
	return held || left < 0 || left > LINGER_KEEP_MAX;
}

/* Whether the lingering read goes on, having dropped that many bytes in elapsed_ms. */
ST_STATIC bool
http_linger_more(size_t dropped, int64_t elapsed_ms)
{
	return dropped < LINGER_BYTES_MAX && elapsed_ms < LINGER_MS;
}

/* Decides, as an answer's head is about to go out, whether it closes the connection. */
static void
decide_closing(struct st_req *req)
{
	req->closing = atomic_load(&req->srv->draining) || req->body_broken ||
		       http_answer_closes(!req->body_invited, body_left(req));
	if (req->closing)
		mg_disable_keep_alive(req->conn);
}

enum st_err
st_http_body_read(struct st_req *req, void *buf, size_t cap, size_t *got)
{
	int n;

	*got = 0;
	if (req->body_broken)
		return ST_ERR_IO;
	if (req->body_end || cap == 0)
		return ST_OK;
	if (!req->body_invited) {
		/* CivetWeb leaves the invitation to the handler. Once answered it is too late: the
		 * client may never send what it held back. */
		if (req->replied) {
			req->body_broken = true;
			return ST_ERR_IO;
		}
		req->body_invited = true;
		if (mg_write(req->conn, "HTTP/1.1 100 Continue\r\n\r\n", 25) != 25) {
			req->body_broken = true;
			return ST_ERR_IO;
		}
	}
	n = mg_read(req->conn, buf, cap > INT_MAX ? INT_MAX : cap);
	/* With a Content-Length, CivetWeb answers 0 only once it is reached, which the count
	 * below notices first: a 0 before that is a client gone in the middle. */
	if (n < 0 || (n == 0 && req->body_declared >= 0)) {
		req->body_broken = true;
		return ST_ERR_IO;
	}
	if (n == 0) {
		req->body_end = true;
		return ST_OK;
	}
	req->body_seen += n;
	if (req->body_declared >= 0 && req->body_seen >= req->body_declared)
		req->body_end = true;
	*got = (size_t)n;
	return ST_OK;
}

enum st_err
st_http_body(struct st_req *req, const char **body, size_t *len)
{
	long long declared = req->ri->content_length;
	size_t max = req->srv->conf.body_max, cap, n = 0;
	enum st_err rc;

	if (req->body_read) {
		*body = req->body;
		*len = req->body_len;
		return ST_OK;
	}
	/* Not worth reading, nor inviting: the answer decides what becomes of it. */
	if (declared > (long long)max)
		return ST_ERR_TOO_LARGE;
	cap = declared >= 0 ? (size_t)declared : 8192;
	req->body = st_malloc(cap + 1);
	for (;;) {
		size_t got;

		if (n == cap) {
			if (declared >= 0)
				break;
			if (cap >= max + 1)
				return ST_ERR_TOO_LARGE;
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			req->body = st_realloc(req->body, cap + 1);
		}
		rc = st_http_body_read(req, req->body + n, cap - n, &got);
		if (rc != ST_OK)
			return rc; /* the client went away in the middle of its body */
		if (got == 0)
			break;
		n += got;
	}
	if (declared >= 0 && n < (size_t)declared)
		return ST_ERR_IO;
	if (n > max)
		return ST_ERR_TOO_LARGE;
	req->body[n] = '\0';
	req->body_len = n;
	req->body_read = true;
	*body = req->body;
	*len = n;
	return ST_OK;
}

/* True when the Content-Type's media type is JSON (application/json or +json). */
static bool
is_json_type(const char *ctype)
{
	size_t len;

	if (ctype == NULL)
		return false;
	len = strcspn(ctype, "; ");
	return (len == 16 && strncasecmp(ctype, "application/json", 16) == 0) ||
	       (len > 5 && strncasecmp(ctype + len - 5, "+json", 5) == 0);
}

int
st_http_body_json(struct st_req *req, cJSON **out)
{
	const char *body;
	size_t len;
	char err[128];
	enum st_err rc;

	*out = NULL;
	if (!is_json_type(st_http_header(req, "Content-Type")))
		return st_http_reply_problem(req, 415, "the body must be application/json");
	rc = st_http_body(req, &body, &len);
	if (rc == ST_ERR_TOO_LARGE)
		return st_http_reply_problem(req, 413, "the body is larger than %zu bytes",
					     req->srv->conf.body_max);
	if (rc != ST_OK)
		return st_http_reply_problem(req, 400, "the body could not be read");
	*out = st_json_parse(body, len, err, sizeof(err));
	if (*out == NULL)
		return st_http_reply_problem(req, 400, "%s", err);
	return 0;
}

int
st_http_body_json_object(struct st_req *req, cJSON **out)
{
	int status = st_http_body_json(req, out);

	if (status != 0)
		return status;
	if (!cJSON_IsObject(*out)) {
		cJSON_Delete(*out);
		*out = NULL;
		return st_http_reply_problem(req, 400, "the body must be a JSON object");
	}
	return 0;
}

void
st_http_add_header(struct st_req *req, const char *name, const char *value)
{
	size_t room = sizeof(req->headers) - req->headers_len;
	int n;

	/* Refuse CR and LF so that no value can split the response. */
	if (strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL) {
		st_log(ST_LOG_WARN, "http", "response header refused: CR or LF in it");
		return;
	}
	n = snprintf(req->headers + req->headers_len, room, "%s: %s\r\n", name, value);
	if (n < 0 || (size_t)n >= room) {
		req->headers[req->headers_len] = '\0';
		req->headers_cut = true; /* the answer fails rather than go out without it */
		return;
	}
	req->headers_len += (size_t)n;
}

/*
 * True for header lines a caller composed ("Name: value\r\n" each, or ""): a token for each
 * name, every CR followed by LF and every LF preceded by CR, no empty line (it would end the
 * head early), and no framing of its own (Content-Length, Transfer-Encoding), which is the
 * server's to set.
 */
ST_STATIC bool
http_head_lines_ok(const char *lines)
{
	const char *p = lines;

	while (*p != '\0') {
		const char *eol = strstr(p, "\r\n");
		size_t name = strcspn(p, ":\r\n");

		if (eol == NULL || name == 0 || p[name] != ':')
			return false;
		for (size_t i = 0; i < name; i++)
			if (!http_tchar(p[i]))
				return false;
		if ((name == 14 && strncasecmp(p, "Content-Length", 14) == 0) ||
		    (name == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0))
			return false;
		if (memchr(p, '\r', (size_t)(eol - p)) != NULL ||
		    memchr(p, '\n', (size_t)(eol - p)) != NULL)
			return false;
		p = eol + 2;
	}
	return true;
}

/* The status line and headers, formatted into buf (cap bytes, may be 0); snprintf's result. */
static int
head_text(const struct st_req *req, int status, const char *ctype, const char *framing,
	  const char *extra, char *buf, size_t cap)
{
	return snprintf(buf, cap, "HTTP/1.1 %d %s\r\n%s%s%s%sX-Request-Id: %s\r\n%s%.*s%s\r\n",
			status, st_http_reason(status), ctype ? "Content-Type: " : "",
			ctype ? ctype : "", ctype ? "\r\n" : "", framing, req->request_id,
			req->closing ? "Connection: close\r\n" : "", (int)req->headers_len,
			req->headers, extra ? extra : "");
}

/*
 * The answer's head: the status line, Content-Type, the framing, the request id, Connection:
 * close when closing, the headers of st_http_add_header and extra. Returns a new buffer of
 * *len bytes (the caller frees it), or NULL when it cannot go out as asked: longer than
 * HEAD_MAX, headers cut, a type holding CR or LF, or extra lines that are not header lines.
 * Nothing is ever sent without it: a body sent after a head that did not go out would be
 * read as the head (response splitting).
 */
static char *
format_head(struct st_req *req, int status, const char *ctype, const char *framing,
	    const char *extra, size_t *len)
{
	int n;
	char *buf;

	*len = 0;
	if (req->headers_cut || (ctype != NULL && strpbrk(ctype, "\r\n") != NULL) ||
	    (extra != NULL && !http_head_lines_ok(extra)))
		return NULL;
	n = head_text(req, status, ctype, framing, extra, NULL, 0);
	if (n < 0 || n > HEAD_MAX)
		return NULL;
	buf = st_malloc((size_t)n + 1);
	head_text(req, status, ctype, framing, extra, buf, (size_t)n + 1);
	*len = (size_t)n;
	return buf;
}

static bool
write_all(struct st_req *req, const void *data, size_t len)
{
	if (len == 0)
		return true;
	return mg_write(req->conn, data, len) == (int)len;
}

/*
 * The head meant to go out cannot (format_head): the answer becomes status instead (502 when
 * the head came from another server, 500 when a handler composed it), a problem with none of
 * the headers added, and the connection closes after it. Nothing of the planned body follows:
 * later stream writes fail. Returns status.
 */
static int
fail_head(struct st_req *req, int status, int wanted)
{
	char framing[64];
	size_t len, hlen;
	char *body, *head;

	st_log(ST_LOG_ERROR, "http",
	       "response head cannot be written, answering status=%d wanted=%d", status, wanted);
	req->headers_len = 0;
	req->headers_cut = false;
	req->closing = true;
	mg_disable_keep_alive(req->conn);
	req->head_failed = true;
	req->status = status;
	body = st_http_problem_render(status, "the answer's head could not be written",
				      req->request_id, NULL, &len);
	snprintf(framing, sizeof(framing), "Content-Length: %zu\r\n", len);
	head = format_head(req, status, "application/problem+json", framing, NULL, &hlen);
	if (head != NULL && write_all(req, head, hlen) &&
	    strcmp(req->ri->request_method, "HEAD") != 0)
		write_all(req, body, len);
	st_free(head);
	st_free(body);
	return status;
}

int
st_http_reply(struct st_req *req, int status, const char *content_type, const void *body,
	      size_t len)
{
	char framing[64];
	char *head;
	size_t hlen;
	bool head_only = strcmp(req->ri->request_method, "HEAD") == 0;

	if (req->replied) {
		st_log(ST_LOG_ERROR, "http", "a handler answered twice status=%d", status);
		return req->status;
	}
	req->replied = true;
	req->status = status;
	decide_closing(req);
	snprintf(framing, sizeof(framing), "Content-Length: %zu\r\n", body ? len : 0);
	head = format_head(req, status, body ? content_type : NULL, framing, NULL, &hlen);
	if (head == NULL)
		return fail_head(req, 500, status);
	if (body == NULL || len == 0 || head_only) {
		write_all(req, head, hlen);
	} else if (hlen + len <= ONE_WRITE_MAX) {
		char *one = st_malloc(hlen + len);

		memcpy(one, head, hlen);
		memcpy(one + hlen, body, len);
		write_all(req, one, hlen + len);
		st_free(one);
	} else {
		if (write_all(req, head, hlen))
			write_all(req, body, len);
	}
	st_free(head);
	req->bytes_out = head_only ? 0 : len;
	return status;
}

int
st_http_reply_json(struct st_req *req, int status, const cJSON *body)
{
	size_t len;
	char *text = st_json_print(body, &len);

	st_http_reply(req, status, "application/json", text, len);
	st_free(text);
	return status;
}

int
st_http_reply_created(struct st_req *req, const char *location, const cJSON *body)
{
	st_http_add_header(req, "Location", location);
	return st_http_reply_json(req, 201, body);
}

int
st_http_reply_no_content(struct st_req *req)
{
	return st_http_reply(req, 204, NULL, NULL, 0);
}

static int
reply_problem(struct st_req *req, int status, const char *detail, const struct st_json_errs *errs)
{
	size_t len;
	char *text = st_http_problem_render(status, detail, req->request_id, errs, &len);

	st_http_reply(req, status, "application/problem+json", text, len);
	st_free(text);
	return status;
}

int
st_http_reply_problem(struct st_req *req, int status, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return reply_problem(req, status, detail, NULL);
}

int
st_http_reply_invalid(struct st_req *req, int status, const char *detail,
		      const struct st_json_errs *errs)
{
	return reply_problem(req, status, detail, errs);
}

int
st_http_reply_unavailable(struct st_req *req, int retry_after_s, const char *what)
{
	char secs[16];

	snprintf(secs, sizeof(secs), "%d", retry_after_s);
	st_http_add_header(req, "Retry-After", secs);
	return st_http_reply_problem(req, 503, "%s is unavailable; retry later", what);
}

int
st_http_stream_begin(struct st_req *req, int status, const char *content_type)
{
	char *head;
	size_t hlen;

	if (req->replied)
		return req->status;
	req->replied = true;
	req->streaming = true;
	req->status = status;
	decide_closing(req);
	head = format_head(req, status, content_type, "Transfer-Encoding: chunked\r\n", NULL,
			   &hlen);
	if (head == NULL)
		return fail_head(req, 500, status);
	write_all(req, head, hlen);
	st_free(head);
	return status;
}

int
st_http_stream_begin_head(struct st_req *req, int status, const char *content_type,
			  int64_t content_length, const char *extra)
{
	bool head_only = strcmp(req->ri->request_method, "HEAD") == 0;
	bool no_body = head_only || status < 200 || status == 204 || status == 304;
	char framing[64] = "";
	size_t hlen;
	char *head;

	if (req->replied)
		return req->status;
	req->replied = true;
	req->streaming = true;
	req->status = status;
	req->stream_no_body = no_body;
	req->stream_raw = content_length >= 0;
	req->stream_length = no_body ? 0 : content_length;
	decide_closing(req);
	if (content_length >= 0 && status >= 200 && status != 204 && status != 304)
		snprintf(framing, sizeof(framing), "Content-Length: %lld\r\n",
			 (long long)content_length);
	else if (content_length < 0 && !no_body)
		st_strlcpy(framing, "Transfer-Encoding: chunked\r\n", sizeof(framing));
	head = format_head(req, status, content_type, framing, extra, &hlen);
	if (head == NULL)
		return fail_head(req, 502, status);
	if (req->stream_raw && !no_body && content_length > 0) {
		req->held = head; /* goes out with the first body bytes */
		req->held_len = hlen;
		return status;
	}
	write_all(req, head, hlen);
	st_free(head);
	return status;
}

/* Sends the held head, with data after it in the same write when both are small. */
static bool
flush_held(struct st_req *req, const void *data, size_t len)
{
	char *head = req->held;
	size_t hlen = req->held_len;
	bool ok;

	req->held = NULL;
	req->held_len = 0;
	if (len > 0 && hlen + len <= ONE_WRITE_MAX) {
		head = st_realloc(head, hlen + len);
		memcpy(head + hlen, data, len);
		ok = write_all(req, head, hlen + len);
	} else {
		ok = write_all(req, head, hlen) && write_all(req, data, len);
	}
	st_free(head);
	return ok;
}

void
st_http_stream_abort(struct st_req *req)
{
	if (req->held != NULL)
		flush_held(req, NULL, 0); /* the head, then the cut: an incomplete answer */
	req->streaming = false;
	req->aborted = true;
	mg_disable_keep_alive(req->conn);
}

/* Sends raw stream bytes (after the held head, if still held). */
static bool
write_raw(struct st_req *req, const void *data, size_t len)
{
	return req->held != NULL ? flush_held(req, data, len) : write_all(req, data, len);
}

enum st_err
st_http_stream_write(struct st_req *req, const void *data, size_t len)
{
	if (!req->streaming)
		return ST_ERR_INTERNAL;
	if (req->head_failed)
		return ST_ERR_IO; /* the answer went out as a problem: nothing may follow it */
	if (req->stream_no_body)
		return ST_OK;
	if (req->stream_raw) {
		size_t room = (size_t)(req->stream_length - (int64_t)req->bytes_out);

		if (len > room) {
			/* More than the Content-Length said: the rest would be read as the next
			 * answer. What fits goes; the connection ends with this answer. */
			if (!req->stream_over)
				st_log(ST_LOG_WARN, "http",
				       "streamed answer longer than its Content-Length, cut and "
				       "closed length=%lld",
				       (long long)req->stream_length);
			mg_disable_keep_alive(req->conn);
			req->stream_over = true;
			if (room > 0 && !write_raw(req, data, room))
				return ST_ERR_IO;
			req->bytes_out += room;
			return ST_ERR_TOO_LARGE;
		}
		if (!write_raw(req, data, len))
			return ST_ERR_IO;
		req->bytes_out += len;
		return ST_OK;
	}
	if (len == 0)
		return ST_OK; /* an empty chunk would end the stream */
	if (mg_send_chunk(req->conn, data, (unsigned int)len) < 0)
		return ST_ERR_IO;
	req->bytes_out += len;
	return ST_OK;
}

void
st_http_stream_end(struct st_req *req)
{
	if (req->head_failed) {
		req->streaming = false;
		return;
	}
	if (req->held != NULL)
		flush_held(req, NULL, 0);
	if (req->streaming && !req->stream_raw && !req->stream_no_body)
		write_all(req, "0\r\n\r\n", 5);
	/* Fewer bytes than the Content-Length promised: the client would take the next answer
	 * for the rest of this one, so the connection ends with this answer. */
	if (req->streaming && req->stream_raw && (int64_t)req->bytes_out != req->stream_length)
		mg_disable_keep_alive(req->conn);
	req->streaming = false;
}

void
http_req_linger(struct st_req *req)
{
	char scrap[16 * 1024];
	int64_t start;
	size_t dropped = 0;

	if (req->body_end)
		return;
	/* A cut answer closes anyway; a broken body has nothing more to give; a client still
	 * waiting for 100 Continue may never send: none is worth the wait. */
	if (req->aborted || req->body_broken || !req->body_invited) {
		mg_disable_keep_alive(req->conn);
		return;
	}
	start = st_now_mono_ms();
	while (!req->body_end && http_linger_more(dropped, st_now_mono_ms() - start)) {
		size_t got;

		if (st_http_body_read(req, scrap, sizeof(scrap), &got) != ST_OK)
			break;
		dropped += got;
	}
	if (!req->body_end) {
		/* Else CivetWeb reads the rest itself, without bounds, to keep the connection. */
		mg_disable_keep_alive(req->conn);
		st_log(ST_LOG_DEBUG, "http",
		       "closing with the request body unread dropped=%zu ms=%lld", dropped,
		       (long long)(st_now_mono_ms() - start));
	}
}

void
http_req_cleanup(struct st_req *req)
{
	st_http_params_cleanup(&req->params);
	st_free(req->body);
	req->body = NULL;
	st_free(req->held);
	req->held = NULL;
}
