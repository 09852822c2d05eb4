/*
 * What proxy.c, proxy_headers.c, cors.c, perf.c and health.c share, and their pure parts that
 * the unit tests reach (tests/unit/gateway/test_gw_routes.c): which headers stop at the
 * gateway, how a path is written back into a URL, the client address, CORS origin matching,
 * and reading one figure out of a /metrics page.
 */
#ifndef STRATA_GATEWAY_GW_INT_H
#define STRATA_GATEWAY_GW_INT_H

#include "gateway.h"
#include "strata/httpc.h"

/* ---- the proxy's header policy (proxy_headers.c) ---- */

/* The caller's address as internal services and the rate limiter see it: X-Real-IP or
 * X-Forwarded-For only from a trusted proxy (TRUSTED_PROXIES, st_http_client_addr). Borrowed. */
const char *gw_client_addr(struct st_req *req);

/*
 * The request's headers for the service, "Name: value" each (or "Name;" for an empty value),
 * NULL-terminated, pointing into *store: the client's less those dropped
 * (gw_request_header_dropped), then the signed principal and X-Real-IP: addr. The caller
 * frees the list and *store with st_free.
 */
const char **gw_upstream_headers(struct st_req *req, const char *principal, const char *addr,
				 char **store);

/*
 * The service's response headers for the client's answer, "Name: value\r\n" each, less those
 * dropped (gw_response_header_dropped); *ctype (borrowed from h, NULL when none) and *length
 * (-1 when none or bad) are taken out for the head libcommon writes. The caller frees the
 * string.
 */
char *gw_response_headers(const struct st_httpc_header *h, size_t n, const char **ctype,
			  int64_t *length);

/* Copies the value of label name out of a Prometheus label set (`a="x",b="y"`, escaped as
 * st_metrics_escape_label does) into out, unescaped. False when absent, malformed or cut. */
bool gw_label_value(const char *labels, const char *name, char *out, size_t cap);

#ifdef ST_TESTING
/* -- proxy_headers.c -- */

/* True for a hop-by-hop header (Connection, Keep-Alive, Transfer-Encoding, TE, Trailer,
 * Upgrade, Proxy-*), or one named in the Connection header's value (may be NULL). */
bool gw_hop_by_hop(const char *name, const char *connection);

/* True for a request header the gateway never passes on: hop-by-hop ones, Host, the framing
 * (Content-Length, Expect) that the gateway's own client sets, and the identity headers it
 * sets itself (X-Strata-Principal, X-Request-Id, X-Real-IP). */
bool gw_request_header_dropped(const char *name, const char *connection);

/* True for a response header that stops at the gateway: hop-by-hop ones, and the framing,
 * type and request id that the gateway's own answer carries. */
bool gw_response_header_dropped(const char *name, const char *connection);

/* -- proxy.c -- */

/* Writes the decoded path back in URL form: bytes outside RFC 3986's pchar set and '/' are
 * percent-encoded. False when it does not fit in cap. */
bool gw_path_encode(const char *path, char *out, size_t cap);

/* -- cors.c -- */

/* True when origin is in the NULL-terminated list (exact, case-sensitive match). */
bool gw_origin_listed(char *const *origins, const char *origin);

/* -- health.c -- */

/*
 * Finds the first sample of metric in a Prometheus text page. With label non-NULL copies that
 * label's value into out; otherwise copies the sample's value. False when absent or cut.
 */
bool gw_metrics_pick(const char *text, const char *metric, const char *label, char *out,
		     size_t cap);
#endif

#endif
