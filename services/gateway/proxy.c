/*
 * The proxy: every public path that is not the gateway's own goes through gw_forward, which
 * finds the owning service (routes.c), establishes the caller (authn.c), checks its scopes,
 * counts it against its rate limit (ratelimit.c), and then hands the request to gw_proxy.
 *
 * gw_proxy streams in both directions with libcommon's st_httpc_stream on pooled keep-alive
 * connections: the client's body is read from CivetWeb as it is sent on, and the
 * service's answer is written to the client as it arrives, its head first (status and
 * headers, less the hop-by-hop ones) and then its body with the service's Content-Length or
 * chunked. Neither body is ever held whole, so exports of millions of rows pass in constant
 * memory. The service gets the signed principal, the request id and the client's address;
 * whatever a client sent in X-Strata-Principal is dropped. Which headers pass each way is
 * proxy_headers.c's; CORS is cors.c's.
 *
 * Failures before the answer began become problems: 504 when the service said nothing for
 * GATEWAY_PROXY_TIMEOUT_MS, 503 with Retry-After when it could not be reached, 502 when it
 * answered something broken. After the answer began, a failure can only cut it: the
 * connection is closed so that the client sees it incomplete. Nothing is retried.
 */
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw_int.h"
#include "strata/httpc.h"
#include "strata/log.h"
#include "strata/metrics.h"

#define STATUS_CLASSES 5 /* 1xx .. 5xx */

struct gw_route_metrics {
	size_t n;
	struct st_histogram **latency;                 /* one a route */
	struct st_metric *(*by_class)[STATUS_CLASSES]; /* one row a route */
};

/* ---- metrics per route prefix ---- */

struct gw_route_metrics *
gw_route_metrics_create(struct st_app *app, const struct gateway *gw)
{
	struct gw_route_metrics *rm = st_calloc(1, sizeof(*rm));

	rm->n = gw_route_count();
	rm->latency = st_calloc(rm->n, sizeof(*rm->latency));
	rm->by_class = st_calloc(rm->n, sizeof(*rm->by_class));
	for (size_t i = 0; i < rm->n; i++) {
		const struct gw_route *r = gw_route_at(i);
		char prefix[160], labels[256], with_class[300];

		st_metrics_escape_label(r->prefix, prefix, sizeof(prefix));
		snprintf(labels, sizeof(labels), "upstream=\"%s\",prefix=\"%s\"",
			 gw->upstreams[r->upstream].name, prefix);
		rm->latency[i] = st_metrics_histogram(
			app->metrics, "strata_gateway_upstream_duration_seconds",
			"Proxied requests, from routing to the end of the answer, by upstream and "
			"route prefix",
			labels, st_metrics_latency_bounds, st_metrics_latency_nbounds);
		for (int c = 0; c < STATUS_CLASSES; c++) {
			snprintf(with_class, sizeof(with_class), "%s,class=\"%dxx\"", labels,
				 c + 1);
			rm->by_class[i][c] = st_metrics_counter(
				app->metrics, "strata_gateway_upstream_responses_total",
				"Proxied requests answered, by upstream, route prefix and status "
				"class",
				with_class);
		}
	}
	return rm;
}

void
gw_route_metrics_destroy(struct gw_route_metrics *rm)
{
	if (rm == NULL)
		return;
	st_free(rm->latency);
	st_free(rm->by_class);
	st_free(rm);
}

static void
route_metrics_record(struct gw_route_metrics *rm, const struct gw_route *r, int status,
		     double seconds)
{
	size_t i = gw_route_index(r);
	int c = status / 100 - 1;

	if (rm == NULL || i >= rm->n)
		return;
	st_histogram_observe(rm->latency[i], seconds);
	if (c >= 0 && c < STATUS_CLASSES)
		st_metric_add(rm->by_class[i][c], 1);
}

/* ---- the proxy ---- */

/* One proxied exchange: what the callbacks need and what they learned. */
struct relay {
	struct st_req *req;
	bool body_done;   /* the client's body was read to its end */
	bool client_gone; /* reading the client's body or writing the answer failed */
	bool head_sent;
	int status;
};

/*
 * The client's body, as the HTTP client sends it on. A small body of known length (up to
 * 64 KiB) is read whole first, so a client waiting for 100 Continue is invited at once; a
 * larger or chunked one is read only once the service takes it, so a service that answers
 * first (413, 401) spares the client sending it. A service may answer before it has all of it:
 * the upload then stops, the answer is relayed as any other, and libcommon reads and drops the
 * rest of the client's body after it (a lingering close), so the client reads the answer, not
 * a reset.
 */
static enum st_err
relay_read(void *ctx, void *buf, size_t cap, size_t *got)
{
	struct relay *rl = ctx;

	if (st_http_body_read(rl->req, buf, cap, got) != ST_OK) {
		rl->client_gone = true;
		return ST_ERR_IO;
	}
	if (*got == 0)
		rl->body_done = true;
	return ST_OK;
}

static enum st_err
relay_head(void *ctx, long status, const struct st_httpc_header *h, size_t n)
{
	struct relay *rl = ctx;
	const char *ctype = NULL;
	int64_t length = -1;
	char *extra = gw_response_headers(h, n, &ctype, &length);

	rl->head_sent = true;
	/* A head that cannot go out becomes a 502 of libcommon's: the transfer stops there. */
	rl->status = st_http_stream_begin_head(rl->req, (int)status, ctype, length, extra);
	st_free(extra);
	return rl->status == (int)status ? ST_OK : ST_ERR_IO;
}

static enum st_err
relay_body(void *ctx, const void *data, size_t len)
{
	struct relay *rl = ctx;

	if (st_http_stream_write(rl->req, data, len) != ST_OK) {
		rl->client_gone = true;
		return ST_ERR_IO;
	}
	return ST_OK;
}

ST_STATIC bool
gw_path_encode(const char *path, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)path; *p != '\0'; p++) {
		bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9') || strchr("-._~!$&'()*+,;=:@/", *p) != NULL;

		if (n + (plain ? 1 : 3) >= cap)
			return false;
		if (plain) {
			out[n++] = (char)*p;
		} else {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	if (cap == 0)
		return false;
	out[n] = '\0';
	return true;
}

/* The name of the upstream at base_url, for problem details. */
static const char *
upstream_name(const struct gateway *gw, const char *base_url)
{
	for (size_t i = 0; i < GATEWAY_UPSTREAMS; i++)
		if (gw->upstreams[i].url != NULL && strcmp(gw->upstreams[i].url, base_url) == 0)
			return gw->upstreams[i].name;
	return "upstream";
}

/* The request body's framing for the service: its length, -1 for chunked, or no body. */
static bool
request_body(struct st_req *req, int64_t *len)
{
	const struct mg_request_info *ri = mg_get_request_info(st_http_conn(req));
	const char *te = st_http_header(req, "Transfer-Encoding");

	if (ri->content_length >= 0) {
		*len = ri->content_length;
		return true;
	}
	if (te != NULL && st_httpc_token_listed(te, "chunked")) {
		*len = -1;
		return true;
	}
	return false;
}

int
gw_proxy(struct st_req *req, struct st_app *app, const char *base_url, const struct st_principal *p)
{
	struct gateway *gw = app->state;
	const struct mg_request_info *ri = mg_get_request_info(st_http_conn(req));
	struct relay rl = { .req = req };
	struct st_principal signed_p = *p;
	struct st_principal_bind bind;
	char principal[ST_PRINCIPAL_WIRE_MAX], path[4096], *url = NULL, *store = NULL;
	const char **headers = NULL;
	const char *name = upstream_name(gw, base_url);
	int64_t body_len = 0;
	bool has_body = request_body(req, &body_len);
	struct st_httpc_stream s;
	enum st_err rc;
	int status;

	st_strlcpy(signed_p.request_id, st_http_request_id(req), sizeof(signed_p.request_id));
	signed_p.issued_ms = st_now_wall_ms();
	/* Bound to this service and to the request as it will route it: the decoded path that
	 * gw_path_encode sends, the query as the client sent it. */
	bind = (struct st_principal_bind){ st_http_method(req), st_http_path(req),
					   ri->query_string };
	if (st_principal_sign(&signed_p, app->principal_keys, name, &bind, principal,
			      sizeof(principal)) != ST_OK) {
		status = st_http_reply_problem(req, 500, "the caller's identity could not be sent");
		goto out;
	}
	if (!gw_path_encode(st_http_path(req), path, sizeof(path))) {
		status = st_http_reply_problem(req, 414, "the path is too long");
		goto out;
	}
	url = st_asprintf("%s%s%s%s", base_url, path, ri->query_string ? "?" : "",
			  ri->query_string ? ri->query_string : "");
	headers = gw_upstream_headers(req, principal, gw_client_addr(req), &store);
	memset(&s, 0, sizeof(s));
	s.method = st_http_method(req);
	s.url = url;
	s.headers = headers;
	s.request_id = st_http_request_id(req);
	s.body_len = body_len;
	s.read = has_body ? relay_read : NULL;
	s.on_head = relay_head;
	s.on_body = relay_body;
	s.ctx = &rl;
	s.idle_timeout_ms = gw->proxy_timeout_ms;
	rc = st_httpc_stream(app->httpc, &s);
	if (has_body && !rl.body_done && rl.head_sent)
		st_log(ST_LOG_DEBUG, "proxy", "%s answered %d before the whole body", name,
		       rl.status);
	if (rl.head_sent) {
		status = rl.status;
		if (rc != ST_OK) {
			st_log(ST_LOG_WARN, "proxy", "answer from %s cut: %s", name,
			       rl.client_gone ? "the client went away" : st_err_str(rc));
			st_http_stream_abort(req);
		}
		goto out;
	}
	switch (rc) {
	case ST_OK:
		status = st_http_reply_problem(req, 502, "the %s service sent no answer", name);
		break;
	case ST_ERR_TIMEOUT:
		st_log(ST_LOG_WARN, "proxy", "%s did not answer within ms=%d", name,
		       gw->proxy_timeout_ms);
		status = st_http_reply_problem(req, 504, "the %s service did not answer in time",
					       name);
		break;
	case ST_ERR_UNAVAILABLE:
		st_log(ST_LOG_WARN, "proxy", "%s unreachable at %s", name, base_url);
		status = st_http_reply_unavailable(req, 5, name);
		break;
	default:
		if (rl.client_gone) {
			status = st_http_reply_problem(req, 400,
						       "the request body could not be read");
		} else {
			st_log(ST_LOG_WARN, "proxy", "%s failed: %s", name, st_err_str(rc));
			status = st_http_reply_problem(req, 502, "the %s service failed to answer",
						       name);
		}
		break;
	}
out:
	st_free(headers);
	st_free(store);
	st_free(url);
	return status;
}

/* ---- the front door ---- */

int
gw_guard(struct st_req *req, struct st_app *app, const struct gw_route *route,
	 struct st_principal *p)
{
	struct gateway *gw = app->state;
	char key[200], jti[GW_JTI_MAX + 1];
	bool revoked = false;
	int status;

	status = gw_authenticate(req, app, p, jti);
	if (status != 0)
		return status;
	if (st_principal_authenticated(p))
		snprintf(key, sizeof(key), "p:%s", p->sub);
	else
		snprintf(key, sizeof(key), "ip:%s", gw_client_addr(req));
	/* One Redis round trip: the denylist for a token, then the rate limit. */
	status = gw_ratelimit_check(req, gw->ratelimit, key, route->cls, jti, &revoked);
	if (revoked)
		return gw_reply_revoked(req);
	if (status != 0)
		return status;
	return gw_authorize(req, route, p);
}

int
gw_forward(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	struct gateway *gw = app->state;
	const struct gw_route *route;
	struct st_principal p;
	int64_t start;
	int status;

	status = gw_cors(req, gw);
	if (status != 0)
		return status;
	route = gw_route_find(st_http_path(req));
	if (route == NULL)
		return st_http_reply_problem(req, 404, "no resource at %s", st_http_path(req));
	status = gw_guard(req, app, route, &p);
	if (status != 0)
		return status;
	start = st_now_mono_us();
	status = gw_proxy(req, app, gw->upstreams[route->upstream].url, &p);
	route_metrics_record(gw->route_metrics, route, status,
			     (double)(st_now_mono_us() - start) / 1e6);
	return status;
}
