/*
 * The proxy's header policy: which request headers go on to a service and which the gateway
 * sets itself (the signed principal, X-Real-IP; the request id and the framing are the HTTP
 * client's), which response headers come back to the client, and the client's address as
 * services and the rate limiter see it. proxy.c relays with them.
 */
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw_int.h"
#include "strata/httpc.h"

/* ---- which headers pass ---- */

static bool
named(const char *name, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(name, names[i]) == 0)
			return true;
	return false;
}

ST_STATIC bool
gw_hop_by_hop(const char *name, const char *connection)
{
	static const char *const hop[] = { "Connection", "Keep-Alive", "Transfer-Encoding",
					   "TE",         "Trailer",    "Upgrade" };

	return named(name, hop, ST_ARRAY_LEN(hop)) || strncasecmp(name, "Proxy-", 6) == 0 ||
	       st_httpc_token_listed(connection, name);
}

ST_STATIC bool
gw_request_header_dropped(const char *name, const char *connection)
{
	static const char *const own[] = { "Host",      ST_PRINCIPAL_HEADER, "X-Request-Id",
					   "X-Real-IP", "Content-Length",    "Expect" };

	return gw_hop_by_hop(name, connection) || named(name, own, ST_ARRAY_LEN(own));
}

ST_STATIC bool
gw_response_header_dropped(const char *name, const char *connection)
{
	static const char *const own[] = { "Content-Length", "Content-Type", "X-Request-Id" };

	return gw_hop_by_hop(name, connection) || named(name, own, ST_ARRAY_LEN(own));
}

const char *
gw_client_addr(struct st_req *req)
{
	return st_http_client_addr(req);
}

/* ---- the response head for the client ---- */

/* Appends "Name: value\r\n" to a growing buffer. */
static void
append_line(char **buf, size_t *len, size_t *cap, const char *name, const char *value)
{
	size_t need = strlen(name) + strlen(value) + 5;

	if (*len + need > *cap) {
		*cap = (*len + need) * 2;
		*buf = st_realloc(*buf, *cap);
	}
	*len += (size_t)snprintf(*buf + *len, *cap - *len, "%s: %s\r\n", name, value);
}

char *
gw_response_headers(const struct st_httpc_header *h, size_t n, const char **ctype, int64_t *length)
{
	const char *connection = NULL;
	size_t cap = 512, len = 0;
	char *extra = st_malloc(cap);

	*ctype = NULL;
	*length = -1;
	extra[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(h[i].name, "Connection") == 0)
			connection = h[i].value;
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(h[i].name, "Content-Type") == 0) {
			*ctype = h[i].value;
		} else if (strcasecmp(h[i].name, "Content-Length") == 0) {
			char *end;
			long long v = strtoll(h[i].value, &end, 10);

			*length = (end != h[i].value && *end == '\0' && v >= 0) ? v : -1;
		}
		if (!gw_response_header_dropped(h[i].name, connection))
			append_line(&extra, &len, &cap, h[i].name, h[i].value);
	}
	return extra;
}

/* ---- the request headers for the service ---- */

/* Appends "<name><sep><value>" and its NUL to a growing store; returns where it starts. */
static size_t
store_add(char **buf, size_t *len, size_t *cap, const char *name, const char *sep,
	  const char *value)
{
	size_t at = *len, need = strlen(name) + strlen(sep) + strlen(value) + 1;

	if (*len + need > *cap) {
		*cap = (*len + need) * 2;
		*buf = st_realloc(*buf, *cap);
	}
	snprintf(*buf + *len, *cap - *len, "%s%s%s", name, sep, value);
	*len += need;
	return at;
}

const char **
gw_upstream_headers(struct st_req *req, const char *principal, const char *addr, char **store)
{
	const struct mg_request_info *ri = mg_get_request_info(st_http_conn(req));
	const char *connection = st_http_header(req, "Connection");
	size_t cap = 2048, len = 0, n = 0;
	size_t *offs = st_calloc((size_t)ri->num_headers + 2, sizeof(*offs));
	const char **list = st_calloc((size_t)ri->num_headers + 3, sizeof(*list));
	char *buf = st_malloc(cap);

	for (int i = 0; i < ri->num_headers; i++) {
		const char *name = ri->http_headers[i].name, *value = ri->http_headers[i].value;

		if (name == NULL || value == NULL || gw_request_header_dropped(name, connection))
			continue;
		/* curl drops a header given as "Name:"; "Name;" sends it with an empty value. */
		offs[n++] = value[0] == '\0' ? store_add(&buf, &len, &cap, name, ";", "")
					     : store_add(&buf, &len, &cap, name, ": ", value);
	}
	offs[n++] = store_add(&buf, &len, &cap, ST_PRINCIPAL_HEADER, ": ", principal);
	offs[n++] = store_add(&buf, &len, &cap, "X-Real-IP", ": ", addr);
	for (size_t i = 0; i < n; i++)
		list[i] = buf + offs[i];
	st_free(offs);
	*store = buf;
	return list;
}
