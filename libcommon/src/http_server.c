/*
 * The HTTP server on CivetWeb: one catch-all CivetWeb handler hands every request to
 * dispatch(), which assigns the request id, serves /healthz, /readyz and /metrics, checks the
 * signed principal before routing, finds the route (404 or 405 otherwise), checks scopes,
 * calls the handler, and then records metrics and the access log line, and reads and drops
 * what the answer left of the request body (http_req_linger).
 */
#include "http_int.h"

#include <civetweb.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "strata/log.h"
#include "strata/metrics.h"
#include "strata/request_id.h"

static pthread_once_t library_once = PTHREAD_ONCE_INIT;

static void
init_library(void)
{
	mg_init_library(0);
}

/* CivetWeb's own messages go through our log. */
static int
log_civetweb(const struct mg_connection *conn, const char *message)
{
	(void)conn;
	st_log(ST_LOG_WARN, "civetweb", "%s", message);
	return 1;
}

static const char *const builtin_paths[] = { "/healthz", "/readyz", "/metrics" };

static void
make_labels(char *buf, size_t cap, const char *route, const char *method)
{
	char esc[200];

	st_metrics_escape_label(route, esc, sizeof(esc));
	snprintf(buf, cap, "route=\"%s\",method=\"%s\"", esc, method);
}

static void
count_request(struct st_http_server *s, size_t idx, int status, double seconds)
{
	struct route_stats *rs = &s->stats[idx];
	struct st_metric *counter;

	if (status < 100 || status > 599)
		status = 500;
	counter = atomic_load_explicit(&rs->by_status[status], memory_order_acquire);
	if (counter == NULL) {
		char labels[300];

		snprintf(labels, sizeof(labels), "%s,status=\"%d\"", rs->labels, status);
		/* Get-or-create is idempotent, so two threads racing here share one series. */
		counter = st_metrics_counter(s->conf.metrics, "strata_http_requests_total",
					     "HTTP requests answered, by route, method and status",
					     labels);
		atomic_store_explicit(&rs->by_status[status], counter, memory_order_release);
	}
	st_metric_add(counter, 1);
	st_histogram_observe(rs->latency, seconds);
}

static int
serve_healthz(struct st_req *req)
{
	static const char body[] = "{\"status\":\"ok\"}";

	return st_http_reply(req, 200, "application/json", body, sizeof(body) - 1);
}

static int
serve_readyz(struct st_req *req)
{
	struct st_http_server *s = req->srv;
	cJSON *doc = cJSON_CreateObject();
	cJSON *checks = cJSON_CreateObject();
	bool ready = !atomic_load(&s->draining);
	int status;

	if (s->conf.ready != NULL && !s->conf.ready(checks, s->conf.ready_ctx))
		ready = false;
	if (atomic_load(&s->draining))
		cJSON_AddStringToObject(checks, "server", "draining");
	cJSON_AddStringToObject(doc, "status", ready ? "ready" : "not_ready");
	cJSON_AddStringToObject(doc, "service", s->conf.service);
	cJSON_AddItemToObject(doc, "checks", checks);
	if (!ready)
		st_http_add_header(req, "Retry-After", "5");
	status = st_http_reply_json(req, ready ? 200 : 503, doc);
	cJSON_Delete(doc);
	return status;
}

static int
serve_metrics(struct st_req *req)
{
	size_t len;
	char *text = st_metrics_render(req->srv->conf.metrics, &len);
	int status = st_http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);

	st_free(text);
	return status;
}

/* Serves a built-in path; returns its pseudo-route index, or -1 when path is none of them. */
static int
serve_builtin(struct st_req *req, int *status)
{
	const char *m = req->ri->request_method;

	for (int i = 0; i < (int)ST_ARRAY_LEN(builtin_paths); i++) {
		if (strcmp(req->path, builtin_paths[i]) != 0)
			continue;
		if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) {
			st_http_add_header(req, "Allow", "GET, HEAD");
			*status = st_http_reply_problem(req, 405, "%s accepts GET and HEAD",
							req->path);
		} else if (i == ROUTE_HEALTHZ) {
			*status = serve_healthz(req);
		} else if (i == ROUTE_READYZ) {
			*status = serve_readyz(req);
		} else {
			*status = serve_metrics(req);
		}
		return i;
	}
	return -1;
}

/* Verifies the principal header for this service and this request (its method, path as
 * routed, raw query); on failure answers 401 and returns false. */
static bool
check_principal(struct st_req *req, int *status)
{
	const struct st_http_conf *c = &req->srv->conf;
	const char *header = mg_get_header(req->conn, ST_PRINCIPAL_HEADER);
	const struct st_principal_bind bind = {
		.method = req->ri->request_method,
		.path = req->path,
		.query = req->ri->query_string,
	};
	char why[64] = "no keys";

	if (c->principal_keys == NULL ||
	    st_principal_verify(header, c->principal_keys, &bind, st_now_wall_ms(),
				c->principal_max_age_ms, &req->principal, why,
				sizeof(why)) != ST_OK) {
		st_log(ST_LOG_WARN, "http", "principal refused reason=\"%s\" path=%s", why,
		       req->path);
		st_http_add_header(req, "WWW-Authenticate", "Strata-Principal");
		*status = st_http_reply_problem(req, 401, "a valid %s header is required (%s)",
						ST_PRINCIPAL_HEADER, why);
		return false;
	}
	req->has_principal = true;
	return true;
}

/* Finds the route; answers 404 or 405 itself when there is none. Returns its index or -1. */
static int
route(struct st_req *req, int *status)
{
	const struct st_http_conf *c = &req->srv->conf;
	char allow[128] = "";
	size_t alen = 0;

	for (size_t i = 0; i < c->nroutes; i++) {
		const struct st_route *r = &c->routes[i];

		if (!st_http_route_match(r->pattern, req->path, NULL))
			continue;
		if (strcmp(r->method, req->ri->request_method) == 0) {
			st_http_route_match(r->pattern, req->path, &req->params);
			return (int)i;
		}
		if (alen + strlen(r->method) + 3 < sizeof(allow))
			alen += (size_t)snprintf(allow + alen, sizeof(allow) - alen, "%s%s",
						 alen ? ", " : "", r->method);
	}
	if (alen > 0) {
		st_http_add_header(req, "Allow", allow);
		*status = st_http_reply_problem(req, 405, "%s is not allowed on %s",
						req->ri->request_method, req->path);
	} else {
		*status = st_http_reply_problem(req, 404, "no resource at %s", req->path);
	}
	return -1;
}

static void
set_request_id(struct st_req *req)
{
	const char *given = mg_get_header(req->conn, "X-Request-Id");

	st_request_id_pick(given, given != NULL ? strlen(given) : 0, req->request_id,
			   sizeof(req->request_id));
	st_log_set_request_id(req->request_id);
}

static void
access_log(const struct st_req *req, size_t idx, int status, double ms)
{
	const struct st_http_server *s = req->srv;
	enum st_log_level level = ST_LOG_INFO;

	if (!s->conf.access_log)
		return;
	if (idx >= s->conf.nroutes && idx - s->conf.nroutes < ROUTE_UNMATCHED)
		level = ST_LOG_DEBUG; /* probes every few seconds would drown the log */
	st_log(level, "access", "method=%s path=%s status=%d ms=%.2f bytes=%zu remote=%s sub=%s",
	       req->ri->request_method, req->path, status, ms, req->bytes_out, req->ri->remote_addr,
	       req->has_principal ? req->principal.sub : "-");
}

/* The end of every request: metrics, the access log line, what is left of the request body,
 * and releasing what it held. */
static void
finish(struct st_req *req, size_t stats_idx, int status, int64_t start_us)
{
	double secs = (double)(st_now_mono_us() - start_us) / 1e6;

	count_request(req->srv, stats_idx, status, secs);
	access_log(req, stats_idx, status, secs * 1000.0);
	/* After the metrics: dropping a refused body is no part of the answer's latency. */
	http_req_linger(req);
	http_req_cleanup(req);
	st_log_set_request_id(NULL);
}

static int
dispatch(struct mg_connection *conn, void *cbdata)
{
	struct st_http_server *s = cbdata;
	struct st_req req;
	int64_t start = st_now_mono_us();
	int status = 500, idx;
	size_t stats_idx;

	memset(&req, 0, sizeof(req));
	req.srv = s;
	req.conn = conn;
	req.ri = mg_get_request_info(conn);
	req.path = req.ri->local_uri ? req.ri->local_uri : "/";
	http_req_begin(&req);
	set_request_id(&req);

	idx = serve_builtin(&req, &status);
	if (idx >= 0) {
		stats_idx = s->conf.nroutes + (size_t)idx;
		goto done;
	}
	stats_idx = s->conf.nroutes + ROUTE_UNMATCHED;
	if (s->conf.require_principal && !check_principal(&req, &status))
		goto done;
	idx = route(&req, &status);
	if (idx < 0)
		goto done;
	stats_idx = (size_t)idx;
	if (req.has_principal &&
	    !st_scopes_allow(req.principal.scopes, s->conf.routes[idx].scope)) {
		char need[64];

		st_scopes_format(s->conf.routes[idx].scope, need, sizeof(need));
		status = st_http_reply_problem(&req, 403, "this needs the scopes: %s", need);
		goto done;
	}
	status = s->conf.routes[idx].handler(&req, s->conf.ctx);
	if (req.streaming)
		st_http_stream_end(&req);
	if (!req.replied) {
		st_log(ST_LOG_ERROR, "http", "handler returned without answering route=%s",
		       s->conf.routes[idx].pattern);
		status = st_http_reply_problem(&req, 500, "the server failed to answer");
	}
	status = req.status;
done:
	finish(&req, stats_idx, status, start);
	return status;
}

static void
stats_create(struct st_http_server *s)
{
	size_t n = s->conf.nroutes + ROUTE_EXTRA;

	s->stats = st_calloc(n, sizeof(struct route_stats));
	for (size_t i = 0; i < n; i++) {
		struct route_stats *rs = &s->stats[i];

		if (i < s->conf.nroutes)
			make_labels(rs->labels, sizeof(rs->labels), s->conf.routes[i].pattern,
				    s->conf.routes[i].method);
		else if (i - s->conf.nroutes == ROUTE_UNMATCHED)
			make_labels(rs->labels, sizeof(rs->labels), "unmatched", "*");
		else
			make_labels(rs->labels, sizeof(rs->labels),
				    builtin_paths[i - s->conf.nroutes], "GET");
		rs->latency = st_metrics_histogram(
			s->conf.metrics, "strata_http_request_duration_seconds",
			"Time from the request's arrival to the end of its answer", rs->labels,
			st_metrics_latency_bounds, st_metrics_latency_nbounds);
	}
}

/*
 * Authorization is the routes' own (scopes on the signed principal). Without a handler of its
 * own, CivetWeb looks for a ".htpasswd" file on disk at every request: one stat system call a
 * request for nothing.
 */
static int
no_file_auth(struct mg_connection *conn, void *ctx)
{
	(void)conn;
	(void)ctx;
	return 1;
}

enum st_err
st_http_server_create(const struct st_http_conf *conf, struct st_http_server **out)
{
	struct st_http_server *s = NULL;
	struct mg_callbacks callbacks;
	char ports[96], threads[16], keep_alive[16], req_timeout[16];
	const char *options[32];
	size_t o = 0;
	enum st_err rc = ST_OK;

	*out = NULL;
	for (size_t i = 0; i < conf->nroutes; i++) {
		if (!st_http_pattern_valid(conf->routes[i].pattern)) {
			st_log(ST_LOG_ERROR, "http", "bad route pattern=%s",
			       conf->routes[i].pattern);
			return ST_ERR_INVALID;
		}
	}
	pthread_once(&library_once, init_library);
	s = st_calloc(1, sizeof(*s));
	s->conf = *conf;
	atomic_init(&s->draining, false);
	stats_create(s);

	snprintf(ports, sizeof(ports), "%s:%d", conf->bind, conf->port);
	snprintf(threads, sizeof(threads), "%d", conf->threads);
	snprintf(keep_alive, sizeof(keep_alive), "%d", conf->keep_alive_ms);
	snprintf(req_timeout, sizeof(req_timeout), "%d", conf->request_timeout_ms);
	options[o++] = "listening_ports";
	options[o++] = ports;
	options[o++] = "num_threads";
	options[o++] = threads;
	options[o++] = "enable_keep_alive";
	options[o++] = "yes";
	options[o++] = "keep_alive_timeout_ms";
	options[o++] = keep_alive;
	options[o++] = "request_timeout_ms";
	options[o++] = req_timeout;
	options[o++] = "tcp_nodelay"; /* docs/performance.md: 40 ms stalls otherwise */
	options[o++] = "1";
	options[o++] = "listen_backlog";
	options[o++] = "1024";
	options[o++] = "connection_queue";
	options[o++] = "1024";
	/* CivetWeb answers CORS preflights itself, allowing any origin, unless this is empty:
	 * CORS is the gateway's decision (GATEWAY_CORS_ORIGINS), never a default. */
	options[o++] = "access_control_allow_origin";
	options[o++] = "";
	options[o++] = NULL;

	memset(&callbacks, 0, sizeof(callbacks));
	callbacks.log_message = log_civetweb;
	s->mg = mg_start(&callbacks, s, options);
	if (s->mg == NULL) {
		st_log(ST_LOG_ERROR, "http", "cannot listen on %s (in use, or not allowed)", ports);
		rc = ST_ERR_IO;
		goto out;
	}
	mg_set_request_handler(s->mg, "/", dispatch, s);
	mg_set_auth_handler(s->mg, "/", no_file_auth, NULL);
	st_log(ST_LOG_INFO, "http", "listening on %s threads=%d routes=%zu", ports, conf->threads,
	       conf->nroutes);
	*out = s;
	s = NULL;
out:
	st_http_server_destroy(s);
	return rc;
}

void
st_http_server_drain(struct st_http_server *s)
{
	if (s != NULL)
		atomic_store(&s->draining, true);
}

void
st_http_server_destroy(struct st_http_server *s)
{
	if (s == NULL)
		return;
	if (s->mg != NULL)
		mg_stop(s->mg); /* waits for the requests in progress */
	st_free(s->stats);
	st_free(s);
}
