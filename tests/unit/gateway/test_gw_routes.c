/*
 * Unit tests for the gateway's routing and the pure parts of its proxy: which service owns a
 * public path (prefix boundaries, the longer prefix first, /internal never), the access and
 * scopes of each route, the rate-limit class, which headers stop at the gateway, how a path
 * is written back into a URL, CORS origins, and reading figures out of Prometheus labels and
 * pages. The client's address is libcommon's (test_http_client_addr.c).
 */
#include <check.h>
#include <string.h>

#include "gateway/gw_int.h"

/* Upstream indexes, as in struct gateway. */
enum { AUTH, INGEST, STATISTICS, ALERTING, SCHEDULER, STORAGE, NONE = -1 };

static const struct {
	const char *path;
	int upstream; /* NONE: no route */
	enum gw_access access;
	unsigned read_scope, write_scope;
} routes[] = {
	/* auth: public except me, users (admin) and api-keys (users only) */
	{ "/api/v1/auth/login", AUTH, GW_PUBLIC, ST_SCOPE_NONE, ST_SCOPE_NONE },
	{ "/api/v1/auth/register", AUTH, GW_PUBLIC, ST_SCOPE_NONE, ST_SCOPE_NONE },
	{ "/api/v1/auth/refresh", AUTH, GW_PUBLIC, ST_SCOPE_NONE, ST_SCOPE_NONE },
	{ "/api/v1/auth/logout", AUTH, GW_PUBLIC, ST_SCOPE_NONE, ST_SCOPE_NONE },
	{ "/api/v1/auth/jwks", AUTH, GW_PUBLIC, ST_SCOPE_NONE, ST_SCOPE_NONE },
	{ "/api/v1/auth", AUTH, GW_PUBLIC, ST_SCOPE_NONE, ST_SCOPE_NONE },
	{ "/api/v1/auth/me", AUTH, GW_AUTHENTICATED, ST_SCOPE_NONE, ST_SCOPE_NONE },
	{ "/api/v1/auth/me/", AUTH, GW_AUTHENTICATED, ST_SCOPE_NONE, ST_SCOPE_NONE },
	{ "/api/v1/auth/meta", AUTH, GW_PUBLIC, ST_SCOPE_NONE, ST_SCOPE_NONE },
	{ "/.well-known/openid-configuration", AUTH, GW_PUBLIC, ST_SCOPE_NONE, ST_SCOPE_NONE },
	{ "/api/v1/users", AUTH, GW_AUTHENTICATED, ST_SCOPE_ADMIN, ST_SCOPE_ADMIN },
	{ "/api/v1/users/0b5e", AUTH, GW_AUTHENTICATED, ST_SCOPE_ADMIN, ST_SCOPE_ADMIN },
	{ "/api/v1/api-keys", AUTH, GW_USER_ONLY, ST_SCOPE_NONE, ST_SCOPE_NONE },
	{ "/api/v1/api-keys/1", AUTH, GW_USER_ONLY, ST_SCOPE_NONE, ST_SCOPE_NONE },
	/* the data services: read for GET and HEAD, write otherwise */
	{ "/api/v1/projects", INGEST, GW_AUTHENTICATED, ST_SCOPE_READ, ST_SCOPE_WRITE },
	{ "/api/v1/projects/p1/subjects", INGEST, GW_AUTHENTICATED, ST_SCOPE_READ, ST_SCOPE_WRITE },
	{ "/api/v1/subjects/s", INGEST, GW_AUTHENTICATED, ST_SCOPE_READ, ST_SCOPE_WRITE },
	{ "/api/v1/sessions/x/readings", INGEST, GW_AUTHENTICATED, ST_SCOPE_READ, ST_SCOPE_WRITE },
	{ "/api/v1/sessions/x/data", INGEST, GW_AUTHENTICATED, ST_SCOPE_READ, ST_SCOPE_WRITE },
	{ "/api/v1/sessions/x/data/export", INGEST, GW_AUTHENTICATED, ST_SCOPE_READ,
	  ST_SCOPE_WRITE },
	{ "/api/v1/sessions/x/results", INGEST, GW_AUTHENTICATED, ST_SCOPE_READ, ST_SCOPE_WRITE },
	{ "/api/v1/stats/ranking", STATISTICS, GW_AUTHENTICATED, ST_SCOPE_READ, ST_SCOPE_WRITE },
	{ "/api/v1/datasets", STATISTICS, GW_AUTHENTICATED, ST_SCOPE_READ, ST_SCOPE_WRITE },
	{ "/api/v1/regions/13", STATISTICS, GW_AUTHENTICATED, ST_SCOPE_READ, ST_SCOPE_WRITE },
	{ "/api/v1/alerts", ALERTING, GW_AUTHENTICATED, ST_SCOPE_READ, ST_SCOPE_WRITE },
	{ "/api/v1/rules/r", ALERTING, GW_AUTHENTICATED, ST_SCOPE_READ, ST_SCOPE_WRITE },
	{ "/api/v1/silences", ALERTING, GW_AUTHENTICATED, ST_SCOPE_READ, ST_SCOPE_WRITE },
	{ "/api/v1/jobs/j/runs", SCHEDULER, GW_AUTHENTICATED, ST_SCOPE_READ, ST_SCOPE_WRITE },
	{ "/api/v1/buckets/b", STORAGE, GW_AUTHENTICATED, ST_SCOPE_READ, ST_SCOPE_WRITE },
	{ "/api/v1/objects/b/k/e/y", STORAGE, GW_AUTHENTICATED, ST_SCOPE_READ, ST_SCOPE_WRITE },
	/* prefix boundaries: a longer word is another resource */
	{ "/api/v1/projectsx", NONE, GW_PUBLIC, 0, 0 },
	{ "/api/v1/authx/login", NONE, GW_PUBLIC, 0, 0 },
	{ "/api/v1/user", NONE, GW_PUBLIC, 0, 0 },
	{ "/api/v1/api-keysx", NONE, GW_PUBLIC, 0, 0 },
	{ "/.well-knownx", NONE, GW_PUBLIC, 0, 0 },
	{ "/api/v1/Projects", NONE, GW_PUBLIC, 0, 0 },
	/* never routed */
	{ "/internal/v1/api-keys/verify", NONE, GW_PUBLIC, 0, 0 },
	{ "/internal", NONE, GW_PUBLIC, 0, 0 },
	{ "/api/v2/projects", NONE, GW_PUBLIC, 0, 0 },
	{ "/api/v1", NONE, GW_PUBLIC, 0, 0 },
	{ "/api/v1/", NONE, GW_PUBLIC, 0, 0 },
	{ "/metrics", NONE, GW_PUBLIC, 0, 0 },
	{ "", NONE, GW_PUBLIC, 0, 0 },
	{ "/", NONE, GW_PUBLIC, 0, 0 },
	{ "api/v1/projects", NONE, GW_PUBLIC, 0, 0 },
};

START_TEST(route_table)
{
	const struct gw_route *r = gw_route_find(routes[_i].path);

	if (routes[_i].upstream == NONE) {
		ck_assert_msg(r == NULL, "'%s' routed to %s", routes[_i].path, r ? r->prefix : "");
		return;
	}
	ck_assert_msg(r != NULL, "'%s' not routed", routes[_i].path);
	ck_assert_msg(r->upstream == routes[_i].upstream, "'%s': upstream %d, want %d",
		      routes[_i].path, r->upstream, routes[_i].upstream);
	ck_assert_msg(r->access == routes[_i].access, "'%s': access %d, want %d", routes[_i].path,
		      (int)r->access, (int)routes[_i].access);
	ck_assert_uint_eq(r->read_scope, routes[_i].read_scope);
	ck_assert_uint_eq(r->write_scope, routes[_i].write_scope);
	ck_assert_int_eq(r->cls, GW_CLASS_DEFAULT);
	/* devices post readings and results with ingest; nothing else takes it for write */
	if (strstr(routes[_i].path, "/sessions/x/data") != NULL &&
	    strstr(routes[_i].path, "/export") == NULL)
		ck_assert_uint_eq(r->write_alt, ST_SCOPE_INGEST);
	else if (strstr(routes[_i].path, "/sessions/x/results") != NULL)
		ck_assert_uint_eq(r->write_alt, ST_SCOPE_INGEST);
	else
		ck_assert_uint_eq(r->write_alt, 0);
}
END_TEST

/* Every entry is reachable: no earlier, shorter prefix hides it, and indexes round-trip. */
START_TEST(table_is_consistent)
{
	ck_assert_uint_gt(gw_route_count(), 10);
	ck_assert_ptr_null(gw_route_at(gw_route_count()));
	for (size_t i = 0; i < gw_route_count(); i++) {
		const struct gw_route *r = gw_route_at(i);

		ck_assert_ptr_eq(gw_route_find(r->prefix), r);
		ck_assert_uint_eq(gw_route_index(r), i);
		ck_assert_int_ge(r->upstream, 0);
		ck_assert_int_lt(r->upstream, GATEWAY_UPSTREAMS);
		ck_assert_msg(strncmp(r->prefix, "/internal", 9) != 0, "%s", r->prefix);
	}
}
END_TEST

START_TEST(classes)
{
	ck_assert_int_eq(gw_class_of("/api/v1/health"), GW_CLASS_HEALTH);
	ck_assert_int_eq(gw_class_of("/api/v1/health/detailed"), GW_CLASS_HEALTH);
	ck_assert_int_eq(gw_class_of("/api/v1/healthy"), GW_CLASS_DEFAULT);
	ck_assert_int_eq(gw_class_of("/api/v1/projects"), GW_CLASS_DEFAULT);
	ck_assert_int_eq(gw_class_of("/api/v1/performance/summary"), GW_CLASS_DEFAULT);
}
END_TEST

static const struct {
	const char *name, *connection;
	bool hop, req_dropped, resp_dropped;
} headers[] = {
	{ "Connection", NULL, true, true, true },
	{ "connection", NULL, true, true, true },
	{ "Keep-Alive", NULL, true, true, true },
	{ "Transfer-Encoding", NULL, true, true, true },
	{ "TE", NULL, true, true, true },
	{ "Trailer", NULL, true, true, true },
	{ "Upgrade", NULL, true, true, true },
	{ "Proxy-Authorization", NULL, true, true, true },
	{ "proxy-connection", NULL, true, true, true },
	{ "X-Custom", "keep-alive, X-Custom", true, true, true },
	{ "X-Custom", "keep-alive,x-custom ", true, true, true },
	{ "X-Custom", "X-Customer", false, false, false },
	{ "X-Custom", "", false, false, false },
	{ "Host", NULL, false, true, false },
	{ "X-Strata-Principal", NULL, false, true, false },
	{ "x-strata-principal", NULL, false, true, false },
	{ "X-Request-Id", NULL, false, true, true },
	{ "X-Real-IP", NULL, false, true, false },
	{ "Content-Length", NULL, false, true, true },
	{ "Expect", NULL, false, true, false },
	{ "Content-Type", NULL, false, false, true },
	{ "Authorization", NULL, false, false, false },
	{ "X-API-Key", NULL, false, false, false },
	{ "Accept", NULL, false, false, false },
	{ "X-Forwarded-For", NULL, false, false, false },
	{ "Location", NULL, false, false, false },
	{ "Set-Cookie", NULL, false, false, false },
	{ "Retry-After", NULL, false, false, false },
	{ "Content-Encoding", NULL, false, false, false },
	{ "Proxy", NULL, false, false, false },
};

START_TEST(header_table)
{
	ck_assert_msg(gw_hop_by_hop(headers[_i].name, headers[_i].connection) == headers[_i].hop,
		      "hop %s", headers[_i].name);
	ck_assert_msg(gw_request_header_dropped(headers[_i].name, headers[_i].connection) ==
			      headers[_i].req_dropped,
		      "request %s", headers[_i].name);
	ck_assert_msg(gw_response_header_dropped(headers[_i].name, headers[_i].connection) ==
			      headers[_i].resp_dropped,
		      "response %s", headers[_i].name);
}
END_TEST

static const struct {
	const char *path, *want; /* want NULL: does not fit in 32 bytes */
} paths[] = {
	{ "/api/v1/projects", "/api/v1/projects" },
	{ "/a b", "/a%20b" },
	{ "/a?b#c", "/a%3Fb%23c" },
	{ "/a%b", "/a%25b" },
	{ "/caf\xc3\xa9", "/caf%C3%A9" },
	{ "/k=v;x,y:z@w!$&'()*+", "/k=v;x,y:z@w!$&'()*+" },
	{ "/~user/-._", "/~user/-._" },
	{ "/\r\n", "/%0D%0A" },
	{ "/\"<>\\^`{|}", "/%22%3C%3E%5C%5E%60%7B%7C%7D" },
	{ "", "" },
	{ "/012345678901234567890123456789", "/012345678901234567890123456789" },
	{ "/0123456789012345678901234567890", NULL },
	{ "/0123456789012345678901234567 ", NULL },
};

START_TEST(path_table)
{
	char out[32];
	bool ok = gw_path_encode(paths[_i].path, out, sizeof(out));

	if (paths[_i].want == NULL) {
		ck_assert_msg(!ok, "'%s' fit", paths[_i].path);
		return;
	}
	ck_assert_msg(ok, "'%s' did not fit", paths[_i].path);
	ck_assert_str_eq(out, paths[_i].want);
}
END_TEST

START_TEST(origins)
{
	char a[] = "https://app.example.org", b[] = "http://localhost:3000";
	char *list[] = { a, b, NULL };

	ck_assert(gw_origin_listed(list, "https://app.example.org"));
	ck_assert(gw_origin_listed(list, "http://localhost:3000"));
	ck_assert(!gw_origin_listed(list, "https://app.example.org.evil.com"));
	ck_assert(!gw_origin_listed(list, "https://APP.example.org"));
	ck_assert(!gw_origin_listed(list, "http://localhost:300"));
	ck_assert(!gw_origin_listed(list, ""));
	ck_assert(!gw_origin_listed(NULL, "https://app.example.org"));
}
END_TEST

static const struct {
	const char *labels, *name, *want; /* want NULL: absent or malformed */
} labels[] = {
	{ "route=\"/api/v1/health\",method=\"GET\"", "route", "/api/v1/health" },
	{ "route=\"/api/v1/health\",method=\"GET\"", "method", "GET" },
	{ "route=\"/x\",method=\"GET\",status=\"503\"", "status", "503" },
	{ "upstream=\"auth\",prefix=\"/api/v1/auth\",class=\"4xx\"", "class", "4xx" },
	{ "a=\"q\\\"uote\",b=\"2\"", "a", "q\"uote" },
	{ "a=\"q\\\"uote\",b=\"2\"", "b", "2" },
	{ "a=\"back\\\\slash\"", "a", "back\\slash" },
	{ "a=\"line\\nbreak\"", "a", "line\nbreak" },
	{ "xroute=\"1\",route=\"2\"", "route", "2" },
	{ "route=\"1\"", "rout", NULL },
	{ "", "route", NULL },
	{ "route=\"unterminated", "route", NULL },
	{ "route=bare", "route", NULL },
};

START_TEST(label_table)
{
	char out[64];
	bool ok = gw_label_value(labels[_i].labels, labels[_i].name, out, sizeof(out));

	if (labels[_i].want == NULL) {
		ck_assert_msg(!ok, "'%s' in '%s'", labels[_i].name, labels[_i].labels);
		return;
	}
	ck_assert_msg(ok, "'%s' not found in '%s'", labels[_i].name, labels[_i].labels);
	ck_assert_str_eq(out, labels[_i].want);
}
END_TEST

START_TEST(label_too_long)
{
	char out[4];

	ck_assert(!gw_label_value("a=\"abcd\"", "a", out, sizeof(out)));
	ck_assert(gw_label_value("a=\"abc\"", "a", out, sizeof(out)));
	ck_assert_str_eq(out, "abc");
}
END_TEST

START_TEST(metrics_page)
{
	static const char page[] =
		"# HELP strata_build_info The service and version of this process\n"
		"# TYPE strata_build_info gauge\n"
		"strata_build_info{service=\"auth\",version=\"0.3.1-4-gabc\"} 1\n"
		"# TYPE process_start_time_seconds gauge\n"
		"process_start_time_seconds_total 5\n"
		"process_start_time_seconds 1767225600.25\n"
		"strata_http_requests_total{route=\"/x\",method=\"GET\",status=\"200\"} 12\n";
	char out[64];

	ck_assert(gw_metrics_pick(page, "strata_build_info", "version", out, sizeof(out)));
	ck_assert_str_eq(out, "0.3.1-4-gabc");
	ck_assert(gw_metrics_pick(page, "strata_build_info", "service", out, sizeof(out)));
	ck_assert_str_eq(out, "auth");
	ck_assert(gw_metrics_pick(page, "process_start_time_seconds", NULL, out, sizeof(out)));
	ck_assert_str_eq(out, "1767225600.25");
	ck_assert(gw_metrics_pick(page, "strata_http_requests_total", NULL, out, sizeof(out)));
	ck_assert_str_eq(out, "12");
	ck_assert(!gw_metrics_pick(page, "strata_build", "version", out, sizeof(out)));
	ck_assert(
		!gw_metrics_pick(page, "process_start_time_seconds", "version", out, sizeof(out)));
	ck_assert(!gw_metrics_pick("", "strata_build_info", "version", out, sizeof(out)));
	ck_assert(!gw_metrics_pick("strata_build_info{version=\"x\"}\n", "strata_build_info", NULL,
				   out, sizeof(out)));
}
END_TEST

Suite *
gw_routes_suite(void)
{
	Suite *s = suite_create("gw_routes");
	TCase *tc = tcase_create("routes");

	tcase_add_loop_test(tc, route_table, 0, (int)(sizeof(routes) / sizeof(routes[0])));
	tcase_add_test(tc, table_is_consistent);
	tcase_add_test(tc, classes);
	tcase_add_loop_test(tc, header_table, 0, (int)(sizeof(headers) / sizeof(headers[0])));
	tcase_add_loop_test(tc, path_table, 0, (int)(sizeof(paths) / sizeof(paths[0])));
	tcase_add_test(tc, origins);
	tcase_add_loop_test(tc, label_table, 0, (int)(sizeof(labels) / sizeof(labels[0])));
	tcase_add_test(tc, label_too_long);
	tcase_add_test(tc, metrics_page);
	suite_add_tcase(s, tc);
	return s;
}
