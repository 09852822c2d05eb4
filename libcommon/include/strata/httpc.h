/*
 * The HTTP client on libcurl that services use to call each other (and, later, the
 * scheduler's external targets): keep-alive connections reused across calls; connect and total
 * timeouts; bounded retries with exponential back-off and jitter for idempotent methods only;
 * the request id sent as X-Request-Id (one that fails st_request_id_valid is replaced by a
 * new UUID, and a caller's header line holding CR or LF is not sent).
 *
 * Handles (each with its own connection cache) are either one per thread (pool_size 0: no lock
 * at all) or a shared pool of pool_size, checked out for the length of a call: then the client
 * never holds more than about pool_size transfers and keep-alive connections to a service
 * whatever its caller's thread count, which is what a service with a thread per connection
 * needs from its clients (docs/performance.md: idle keep-alive connections hold its threads).
 */
#ifndef STRATA_HTTPC_H
#define STRATA_HTTPC_H

#include "strata/core.h"

struct st_httpc_conf {
	int connect_timeout_ms; /* per attempt */
	int timeout_ms;         /* whole transfer per attempt, unless a request says otherwise */
	int retries;            /* extra attempts for idempotent requests, 0..5 */
	int backoff_ms;         /* first back-off; doubles each retry */
	size_t max_response;    /* bodies larger than this fail with ST_ERR_TOO_LARGE */
	int pool_size;          /* 0: a handle per thread; else that many handles, shared */
	int pool_wait_ms;       /* with pool_size: longest wait for a free handle, after which a
				   call fails with ST_ERR_UNAVAILABLE (0: 1000) */
};

struct st_httpc;

enum st_err st_httpc_create(const struct st_httpc_conf *conf, struct st_httpc **out);
/* Frees the client and every thread's handle. No call may be in progress. Accepts NULL. */
void st_httpc_destroy(struct st_httpc *c);

struct st_httpc_req {
	const char *method; /* "GET", "POST", ... */
	const char *url;
	const char *const *headers; /* NULL-terminated "Name: value" lines, or NULL */
	const void *body;           /* may be NULL */
	size_t body_len;
	int timeout_ms;         /* 0: the client's default */
	const char *request_id; /* NULL: this thread's log request id */
};

struct st_httpc_resp {
	long status;
	char *body; /* NUL-terminated; owned until st_httpc_resp_cleanup or st_httpc_take_body */
	size_t len;
	char content_type[128];
	int retry_after_s; /* from Retry-After when given in seconds, else -1 */
	int attempts;
};

/*
 * Performs the request, retrying idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS) after
 * connection failures and 502/503/504 answers. ST_OK whenever an HTTP answer arrived, whatever
 * its status; ST_ERR_TIMEOUT when the time ran out; ST_ERR_UNAVAILABLE when the peer could not
 * be reached; ST_ERR_TOO_LARGE over max_response. Always initializes resp: clean it up.
 */
enum st_err st_httpc_do(struct st_httpc *c, const struct st_httpc_req *req,
			struct st_httpc_resp *resp);

/* Returns the body, NUL-terminated. The caller owns it: st_free() it. */
char *st_httpc_take_body(struct st_httpc_resp *resp, size_t *len);
void st_httpc_resp_cleanup(struct st_httpc_resp *resp);

/* True for methods that may be retried safely. */
bool st_httpc_idempotent(const char *method);
/* The back-off before retry number attempt (1-based): base * 2^(attempt-1), +-25% jitter,
 * at most 10 s. jitter01 in [0, 1) is supplied by the caller so this stays testable. */
int st_httpc_backoff_ms(int base_ms, int attempt, double jitter01);

/* ---- streaming, for proxies: neither body is held in memory ---- */

/* One response header as the peer sent it, name and value trimmed. */
struct st_httpc_header {
	const char *name;
	const char *value;
};

struct st_httpc_stream {
	const char *method;
	const char *url;
	const char *const *headers; /* NULL-terminated "Name: value" lines, or NULL */
	const char *request_id;     /* NULL: this thread's log request id */
	/*
	 * The request body: none when read is NULL. Otherwise body_len bytes sent with
	 * Content-Length, or chunked when body_len < 0. read gives up to cap bytes into buf and
	 * sets *got (0 at the end of the body); an error aborts the transfer.
	 */
	int64_t body_len;
	enum st_err (*read)(void *ctx, void *buf, size_t cap, size_t *got);
	/*
	 * Called once, when the final status line and headers have arrived and before any of the
	 * body; the headers are borrowed for the call. An error aborts the transfer.
	 */
	enum st_err (*on_head)(void *ctx, long status, const struct st_httpc_header *headers,
			       size_t n);
	/* Called with each piece of the body as it arrives. An error aborts the transfer. */
	enum st_err (*on_body)(void *ctx, const void *data, size_t len);
	void *ctx;
	/* The longest wait for the answer to begin, and then between two pieces of it (a silent
	 * peer, not a long answer, is what times out). 0: the client's timeout_ms. */
	int idle_timeout_ms;
};

/*
 * Performs one request, streaming both bodies through the callbacks; never retried (but a request
 * that found a pooled connection closed under it is sent again on a new one when that is safe:
 * it could not be sent, or it is idempotent, nothing of the answer came and its body is held).
 * http:// URLs go over the client's own keep-alive sockets, without libcurl: a request and its
 * answer then cost one send and usually one receive (see httpc_raw.c); with pool_size, at most
 * pool_size connections to each host and port. Other URLs go through libcurl on the thread's or the
 * pool's handle. A header line "Name;" sends Name with an empty value (libcurl's convention, kept
 * for both). ST_OK when the whole answer arrived (whatever its status); ST_ERR_TIMEOUT when nothing
 * moved for idle_timeout_ms; ST_ERR_UNAVAILABLE when the peer could not be reached; the error a
 * callback returned when it aborted the transfer; ST_ERR_IO when the peer broke off or answered
 * something that is not HTTP. Whether on_head was called before a failure is for the caller to note
 * (its answer may have begun).
 */
enum st_err st_httpc_stream(struct st_httpc *c, const struct st_httpc_stream *s);

/* ---- pure parts, exposed for tests ---- */

/* The most trailer lines a chunked body may end with. */
#define ST_CHUNKED_TRAILERS_MAX 64

/* A chunked body (RFC 9112 7.1) decoded as its bytes arrive, in pieces of any size. */
struct st_chunked {
	int state;         /* where in the framing the next byte falls; 0 at the start */
	uint64_t left;     /* bytes of the current chunk's data still to come */
	size_t line;       /* bytes of the current size, extension or trailer line so far */
	unsigned trailers; /* trailer lines so far */
};

enum st_chunked_rc {
	ST_CHUNKED_MORE, /* the body goes on: feed the next bytes */
	ST_CHUNKED_DONE, /* the last chunk and the trailers ended: *used bytes belong to it */
	ST_CHUNKED_BAD,  /* not chunked framing (bad hex, a size of 2^60 or more, a line over
			    4 KiB, a line not ended by CRLF, data not followed by CRLF, more than
			    ST_CHUNKED_TRAILERS_MAX trailer lines) */
};

/*
 * Reads framing from in (n bytes) up to and including the next piece of body data, which it
 * points to with *data and *data_len (inside in; 0 when none). *used says how many bytes were
 * consumed: call again with the rest. Always consumes at least one byte unless n is 0 or the
 * body is done. Every size, extension and trailer line must end in CRLF (a bare LF is
 * refused); chunk extensions and trailers are skipped.
 */
enum st_chunked_rc st_chunked_feed(struct st_chunked *ck, const char *in, size_t n, size_t *used,
				   const char **data, size_t *data_len);

/* True when the comma-separated list (a Connection or Transfer-Encoding value) holds token,
 * in any case, as one of its items. */
bool st_httpc_token_listed(const char *list, const char *token);

/*
 * Splits "http://host[:port]/path?query" (host may be a bracketed IPv6 address): host without
 * brackets into host (cap bytes), the port (80 when none), and the request target ("/" when the
 * URL has no path) pointed to inside url. False for another scheme, an empty or too long host,
 * a bad port, or a query right after the authority ("http://h?q": left to libcurl).
 */
bool st_httpc_split_url(const char *url, char *host, size_t cap, int *port, const char **target);

/* Parses a status line ("HTTP/1.1 200 OK\r\n", len bytes): true with *status (100..999). */
bool st_httpc_parse_status(const char *line, size_t len, long *status);
/*
 * Splits a header line ("Name: value\r\n", len bytes) into name and value, trimmed, written
 * into buf (NUL-terminated each) and pointed to by out. False for a line without a colon, an
 * empty or invalid name, or when buf (cap bytes) is too small.
 */
bool st_httpc_parse_header(const char *line, size_t len, char *buf, size_t cap,
			   struct st_httpc_header *out);

/*
 * Where a response head ends in buf (len bytes): just past its empty line (CRLF CRLF, or bare
 * LFs), or 0 when it has not arrived yet. from: how many bytes an earlier call scanned (0).
 */
size_t st_httpc_head_end(const char *buf, size_t len, size_t from);

/*
 * Parses a whole response head (buf[0, len), its status line to its empty line, as
 * st_httpc_head_end measured it) in place: names and values are NUL-terminated inside buf and
 * pointed to by list (room for max), *n of them. A malformed header line is dropped, as
 * browsers do. ST_ERR_IO for a bad status line or no empty line; ST_ERR_TOO_LARGE for more
 * than max headers (the framing may be among the rest).
 */
enum st_err st_httpc_parse_head(char *buf, size_t len, long *status, bool *http10,
				struct st_httpc_header *list, size_t max, size_t *n);

/* How an answer's body is delimited. */
enum st_httpc_body {
	ST_HTTPC_BODY_NONE,     /* HEAD, 204, 304 */
	ST_HTTPC_BODY_LENGTH,   /* Content-Length */
	ST_HTTPC_BODY_CHUNKED,  /* chunked is the last transfer coding */
	ST_HTTPC_BODY_TO_CLOSE, /* another transfer coding, or neither header: to the close */
};

struct st_httpc_framing {
	enum st_httpc_body body;
	int64_t length; /* ST_HTTPC_BODY_LENGTH */
	bool keep;      /* the connection may carry another exchange after this answer */
};

/*
 * Decides how the body of a final answer to method is framed (RFC 9112 6.3) from its status
 * and headers (list, *n). An answer with both Transfer-Encoding and Content-Length loses its
 * Content-Length lines (list compacted in order, *n smaller), so that whoever relays it frames
 * it again, and keep is false. ST_ERR_IO for Content-Length values that differ or are not 1
 * to 18 digits.
 */
enum st_err st_httpc_framing(const char *method, long status, bool http10,
			     struct st_httpc_header *list, size_t *n, struct st_httpc_framing *out);

#endif
