/*
 * CORS for the browser dashboard: Access-Control-* headers for the origins GATEWAY_CORS_ORIGINS
 * lists (or any, with "*"), and preflights answered by the gateway itself for every path.
 */
#include <string.h>

#include "gw_int.h"

ST_STATIC bool
gw_origin_listed(char *const *origins, const char *origin)
{
	for (size_t i = 0; origins != NULL && origins[i] != NULL; i++)
		if (strcmp(origins[i], origin) == 0)
			return true;
	return false;
}

/* True for a list of header names a preflight may ask for (tokens, commas, spaces). */
static bool
header_list_ok(const char *s)
{
	if (strlen(s) > 512)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == ',' || *s == ' '))
			return false;
	return true;
}

int
gw_cors(struct st_req *req, const struct gateway *gw)
{
	const char *origin = st_http_header(req, "Origin");
	bool preflight = strcmp(st_http_method(req), "OPTIONS") == 0 &&
			 st_http_header(req, "Access-Control-Request-Method") != NULL;
	bool allowed;

	if ((gw->cors_origins == NULL && !gw->cors_any) || origin == NULL)
		return 0;
	allowed = gw->cors_any || gw_origin_listed(gw->cors_origins, origin);
	if (allowed) {
		st_http_add_header(req, "Access-Control-Allow-Origin", gw->cors_any ? "*" : origin);
		if (!gw->cors_any)
			st_http_add_header(req, "Vary", "Origin");
	}
	if (!preflight) {
		if (allowed)
			st_http_add_header(req, "Access-Control-Expose-Headers",
					   "Location, Retry-After, X-Request-Id, RateLimit-Limit, "
					   "RateLimit-Remaining, RateLimit-Reset");
		return 0;
	}
	/* A preflight never carries credentials: the gateway answers it for every path. A
	 * refused origin gets no Allow headers, which the browser reads as a refusal. */
	if (allowed) {
		const char *asked = st_http_header(req, "Access-Control-Request-Headers");

		st_http_add_header(req, "Access-Control-Allow-Methods",
				   "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
		st_http_add_header(
			req, "Access-Control-Allow-Headers",
			asked != NULL && header_list_ok(asked)
				? asked
				: "Authorization, Content-Type, X-API-Key, X-Request-Id");
		st_http_add_header(req, "Access-Control-Max-Age", "600");
	}
	return st_http_reply_no_content(req);
}
