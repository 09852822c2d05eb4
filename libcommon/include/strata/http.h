/*
 * The HTTP server every service runs, on CivetWeb: a route table, path parameters, JSON bodies
 * with a size limit, RFC 9457 problem+json errors, request ids, an access log, per-route
 * Prometheus metrics, and the built-in /healthz, /readyz and /metrics.
 *
 * Internal services set `require_principal`: every request except /healthz, /readyz and
 * /metrics must then carry a valid, fresh X-Strata-Principal signed for this service and this
 * request (method, path, query), checked before routing (so an unknown path reveals nothing
 * to an unsigned caller), and the principal must hold the route's scopes.
 *
 * A handler answers through exactly one st_http_reply_* call (or a stream) and returns what
 * that call returned: the status, which feeds the access log and the metrics.
 */
#ifndef STRATA_HTTP_H
#define STRATA_HTTP_H

#include <cjson/cJSON.h>

#include "strata/core.h"
#include "strata/json.h"
#include "strata/principal.h"

struct st_req;
struct st_http_server;
struct st_metrics;

typedef int st_http_handler(struct st_req *req, void *ctx);

/*
 * One route. pattern segments are literals or `{name}` (one non-empty segment); a last
 * segment `{name*}` takes the rest of the path. scope: the scopes a principal must hold
 * (ST_SCOPE_NONE: any authenticated caller, or anyone where no principal is required).
 */
struct st_route {
	const char *method;
	const char *pattern;
	st_http_handler *handler;
	unsigned scope;
};

/* Readiness: fills checks (an object: {"postgres":"ok", "kafka":"down: ..."}) and returns
 * true when the service can do its work. Called on /readyz; keep it fast and bounded. */
typedef bool st_http_ready_check(cJSON *checks, void *ctx);

struct st_http_conf {
	const char *service; /* name for logs and metrics, e.g. "ingest" */
	const char *bind;    /* address to listen on, e.g. "127.0.0.1" or "0.0.0.0" */
	int port;
	int threads;       /* CivetWeb worker threads: above all clients' pool sizes */
	size_t body_max;   /* largest request body accepted, bytes */
	int keep_alive_ms; /* idle keep-alive timeout */
	int request_timeout_ms;
	bool access_log; /* one info line per request (health probes at debug) */
	bool require_principal;
	/* With require_principal: the pair keys that verify principals sent to this service
	 * (named `service`); borrowed, must outlive the server. */
	const struct st_principal_keys *principal_keys;
	int64_t principal_max_age_ms;  /* freshness window for the principal */
	const struct st_route *routes; /* borrowed: must outlive the server */
	size_t nroutes;
	void *ctx;                  /* handed to every handler */
	st_http_ready_check *ready; /* may be NULL: ready while not draining */
	void *ready_ctx;
	struct st_metrics *metrics; /* borrowed; required */
	/* Peers whose X-Real-IP and X-Forwarded-For are believed (st_http_client_addr).
	 * Borrowed; NULL: loopback only. */
	const struct st_http_trusted *trusted_proxies;
};

/* Starts listening and serving. ST_ERR_IO when the port cannot be bound (the detail is
 * logged), ST_ERR_INVALID for a bad route pattern. */
enum st_err st_http_server_create(const struct st_http_conf *conf, struct st_http_server **out);
/* From now on /readyz answers 503 and responses ask clients to close their connections, so
 * that load balancers move away before the server stops. */
void st_http_server_drain(struct st_http_server *s);
/* Stops accepting, waits for requests in progress to finish, frees. Accepts NULL. */
void st_http_server_destroy(struct st_http_server *s);

/* ---- the request ---- */

const char *st_http_method(const struct st_req *req);
/* The path, URL-decoded, without the query string. Borrowed. */
const char *st_http_path(const struct st_req *req);
/* A path parameter by name, NULL when the route has none of that name. Borrowed. */
const char *st_http_param(const struct st_req *req, const char *name);
/* A query parameter, URL-decoded into buf. false when absent (or longer than cap - 1). */
bool st_http_query(const struct st_req *req, const char *name, char *buf, size_t cap);
/* The same, telling the two apart: ST_OK, ST_ERR_NOT_FOUND when absent, ST_ERR_TOO_LARGE when
 * longer than cap - 1 (a filter must never be dropped silently). */
enum st_err st_http_query_get(const struct st_req *req, const char *name, char *buf, size_t cap);
/* A request header, NULL when absent. Borrowed. */
const char *st_http_header(const struct st_req *req, const char *name);
/* The request id: the caller's X-Request-Id when st_request_id_valid (strata/request_id.h),
 * else a new UUID. Borrowed. */
const char *st_http_request_id(const struct st_req *req);
/* The verified principal, NULL when the request carried none. Borrowed. */
const struct st_principal *st_http_principal(const struct st_req *req);
const char *st_http_remote_addr(const struct st_req *req);

/* ---- the client's address (http_client_addr.c) ---- */

/* A list of trusted proxies (TRUSTED_PROXIES): CIDRs, IPv4 and IPv6. */
struct st_http_trusted;

/*
 * Parses a comma-separated list of CIDRs ("127.0.0.0/8, ::1/128"; an address without "/bits"
 * stands for itself; "" trusts nobody). ST_ERR_INVALID with one line in err naming the bad
 * entry. The caller owns *out: st_http_trusted_destroy it.
 */
enum st_err st_http_trusted_parse(const char *list, struct st_http_trusted **out, char *err,
				  size_t errcap);
/* Accepts NULL. */
void st_http_trusted_destroy(struct st_http_trusted *t);
/* True when addr (an IPv4 or IPv6 address) is in the list; t NULL: the default, loopback. */
bool st_http_trusted_has(const struct st_http_trusted *t, const char *addr);

/*
 * The client's address, for rate limits, lockouts and logs: the peer's, unless the peer is a
 * trusted proxy (the server's trusted_proxies), in which case X-Real-IP when it names an
 * untrusted address, else X-Forwarded-For's first untrusted hop from the right. A direct
 * caller cannot choose its address. Canonical form (inet_ntop; IPv4-mapped as IPv4).
 * Borrowed: valid until the request ends.
 */
const char *st_http_client_addr(struct st_req *req);

/* The same choice from its inputs (x_real_ip and xff may be NULL), into out (at least 46
 * bytes); a peer that is not an address is copied as it is. */
void st_http_client_addr_pick(const struct st_http_trusted *t, const char *peer,
			      const char *x_real_ip, const char *xff, char *out, size_t cap);

/* The CivetWeb connection, for what this module does not wrap (proxying, websockets). */
struct mg_connection *st_http_conn(struct st_req *req);

/*
 * Reads the whole body (at most the server's body_max). Borrowed: valid until the handler
 * returns. ST_ERR_TOO_LARGE over the limit, ST_ERR_IO when the client went away.
 */
enum st_err st_http_body(struct st_req *req, const char **body, size_t *len);

/*
 * Reads the next piece of the body, for handlers that stream it (proxies): up to cap bytes
 * into buf, *got = 0 at its end. The first read invites a client that waits for
 * 100 Continue. ST_ERR_IO when the client went away or framed the body badly, and when
 * reading a body the client still held back after the answer went out. What a handler
 * leaves unread is read and dropped after its answer, within bounds, so that the client gets
 * that answer rather than a reset. Not to be mixed with st_http_body.
 */
enum st_err st_http_body_read(struct st_req *req, void *buf, size_t cap, size_t *got);

/*
 * Reads and parses a JSON body. Returns 0 with *out set (the caller cJSON_Delete's it), or
 * replies with the right problem itself (415 wrong content type, 413 too large, 400 malformed)
 * and returns that status for the handler to return.
 */
int st_http_body_json(struct st_req *req, cJSON **out);
/* The same for a body that must be a JSON object: anything else answers 400. */
int st_http_body_json_object(struct st_req *req, cJSON **out);

/* ---- the answer ---- */

/* Adds a response header to the next reply (e.g. Location, Retry-After). Copied. A name or
 * value holding CR or LF is refused (logged, not added); more than 2 KiB of them in all
 * fails the answer (500), rather than let it go without them. */
void st_http_add_header(struct st_req *req, const char *name, const char *value);

/*
 * Sends status with body (may be NULL) of content_type in one write. Returns status. A head
 * that cannot go out whole (over 16 KiB, CR or LF in content_type, added headers cut) is never
 * skipped: the answer becomes a 500 problem with Connection: close, and that is returned.
 */
int st_http_reply(struct st_req *req, int status, const char *content_type, const void *body,
		  size_t len);
/* Sends a JSON body. Returns status. Does not take body. */
int st_http_reply_json(struct st_req *req, int status, const cJSON *body);
/* 201 with Location and the new resource. */
int st_http_reply_created(struct st_req *req, const char *location, const cJSON *body);
/* 204. */
int st_http_reply_no_content(struct st_req *req);

/* An RFC 9457 problem: type and title follow from status; detail is for people. */
int st_http_reply_problem(struct st_req *req, int status, const char *fmt, ...) ST_PRINTF(3, 4);
/* The same with field validation errors in `errors[]` (status is usually 400 or 422). */
int st_http_reply_invalid(struct st_req *req, int status, const char *detail,
			  const struct st_json_errs *errs);
/* 503 with Retry-After: a dependency is down. */
int st_http_reply_unavailable(struct st_req *req, int retry_after_s, const char *what);

/* Seconds a client is told to wait (Retry-After) when the database is down or slow. */
#define ST_HTTP_DB_RETRY_AFTER_S 2

/*
 * The one answer for a failed database call, whichever service made it: unavailable or
 * timeout -> 503 with Retry-After ST_HTTP_DB_RETRY_AFTER_S; conflict -> 409; invalid (the
 * database refused the values) -> 400; not found -> 404; anything else -> 500, logged once
 * here under component. Returns the status sent.
 */
int st_http_reply_db_error(struct st_req *req, enum st_err rc, const char *component);

/* Chunked streaming, for large answers in constant memory. begin sends the headers (or, when
 * they cannot go out, a 500 problem as st_http_reply does, and returns 500); each write sends
 * one chunk; end finishes. write returns ST_ERR_IO once the client is gone or the head failed,
 * and ST_ERR_TOO_LARGE past a Content-Length (st_http_stream_begin_head): what fits goes out,
 * the rest is dropped and the connection closes after the answer. */
int st_http_stream_begin(struct st_req *req, int status, const char *content_type);
enum st_err st_http_stream_write(struct st_req *req, const void *data, size_t len);
void st_http_stream_end(struct st_req *req);

/*
 * Begins an answer whose head the caller composes, for proxies. content_length >= 0 sends
 * Content-Length and st_http_stream_write then sends bytes as they are (exactly that many must
 * follow; never more go out); -1 sends the body chunked. extra: more header lines ("Name:
 * value\r\n" each) after those of st_http_add_header, or NULL. For a HEAD request and for 1xx,
 * 204 and 304 answers no body goes out: writes are dropped. Returns status; or, when the head
 * cannot go out whole (over 16 KiB, CR or LF in content_type, extra lines that are not header
 * lines or that carry Content-Length or Transfer-Encoding, added headers cut), answers a 502
 * problem with Connection: close instead, returns 502, and every later write fails.
 */
int st_http_stream_begin_head(struct st_req *req, int status, const char *content_type,
			      int64_t content_length, const char *extra);
/* Ends a streamed answer that failed midway: no final chunk, and the connection is closed
 * after the handler returns, so that the client sees a cut answer rather than a whole one. */
void st_http_stream_abort(struct st_req *req);

/* ---- pure parts, exposed for tests and for the gateway ---- */

#define ST_HTTP_MAX_PARAMS 8

struct st_http_params {
	size_t n;
	const char *names[ST_HTTP_MAX_PARAMS]; /* borrowed from the pattern */
	size_t name_lens[ST_HTTP_MAX_PARAMS];
	char *values[ST_HTTP_MAX_PARAMS]; /* owned: st_http_params_cleanup */
};

/* True when path matches pattern; fills params (values copied). params may be NULL. */
bool st_http_route_match(const char *pattern, const char *path, struct st_http_params *params);
void st_http_params_cleanup(struct st_http_params *params);
/* True for a well-formed pattern ("/a/{id}/b", "{rest*}" last only, no empty segments). */
bool st_http_pattern_valid(const char *pattern);

/* The reason phrase of a status ("Not Found"); "Unknown" for others. */
const char *st_http_reason(int status);

/*
 * The problem+json document for a status: type ("/problems/<slug>"), title, status, detail,
 * request_id, and errors[] when errs is non-NULL and non-empty. The caller owns the string.
 */
char *st_http_problem_render(int status, const char *detail, const char *request_id,
			     const struct st_json_errs *errs, size_t *len);

#endif
