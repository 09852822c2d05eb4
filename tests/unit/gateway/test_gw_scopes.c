/*
 * Unit tests for the gateway's access decision (gw_access_decide, behind gw_authorize): every
 * access level against every method and kind of caller, with the missing scopes named.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "gateway/authn_int.h"

static const struct gw_route public_route = {
	"/api/v1/auth/login", 0, GW_PUBLIC, ST_SCOPE_NONE, ST_SCOPE_NONE, GW_CLASS_DEFAULT, 0
};
static const struct gw_route data_route = {
	"/api/v1/projects", 1, GW_AUTHENTICATED, ST_SCOPE_READ, ST_SCOPE_WRITE, GW_CLASS_DEFAULT, 0
};
static const struct gw_route admin_route = {
	"/api/v1/users", 0, GW_AUTHENTICATED, ST_SCOPE_ADMIN, ST_SCOPE_ADMIN, GW_CLASS_DEFAULT, 0
};
static const struct gw_route dash_route = {
	"/api/v1/health/detailed", 0, GW_AUTHENTICATED, ST_SCOPE_DASHBOARD, ST_SCOPE_DASHBOARD,
	GW_CLASS_HEALTH,           0
};
static const struct gw_route keys_route = {
	"/api/v1/api-keys", 0, GW_USER_ONLY, ST_SCOPE_NONE, ST_SCOPE_NONE, GW_CLASS_DEFAULT, 0
};
static const struct gw_route ingest_route = {
	"/api/v1/readings", 1, GW_AUTHENTICATED, ST_SCOPE_READ, ST_SCOPE_INGEST, GW_CLASS_DEFAULT, 0
};
static const struct gw_route data_or_ingest_route = { "/api/v1/sessions/{id}/data",
						      1,
						      GW_AUTHENTICATED,
						      ST_SCOPE_READ,
						      ST_SCOPE_WRITE,
						      GW_CLASS_DEFAULT,
						      ST_SCOPE_INGEST };

static struct st_principal
who(const char *kind, unsigned scopes)
{
	struct st_principal p;

	memset(&p, 0, sizeof(p));
	snprintf(p.kind, sizeof(p.kind), "%s", kind);
	snprintf(p.sub, sizeof(p.sub), "%s", strcmp(kind, "anonymous") == 0 ? "anonymous" : "u-1");
	p.scopes = scopes;
	return p;
}

struct access_case {
	const struct gw_route *route;
	const char *method;
	const char *kind;
	unsigned scopes;
	int status;
	unsigned missing;
};

#define R  ST_SCOPE_READ
#define W  ST_SCOPE_WRITE
#define A  ST_SCOPE_ADMIN
#define D  ST_SCOPE_DASHBOARD
#define IN ST_SCOPE_INGEST

static const struct access_case cases[] = {
	/* public: anyone, any method, whatever the scopes */
	{ &public_route, "POST", "anonymous", 0, 0, 0 },
	{ &public_route, "GET", "anonymous", 0, 0, 0 },
	{ &public_route, "POST", "user", 0, 0, 0 },
	{ &public_route, "POST", "apikey", R, 0, 0 },
	/* authenticated: the anonymous caller is 401 whatever the method */
	{ &data_route, "GET", "anonymous", 0, 401, 0 },
	{ &data_route, "HEAD", "anonymous", 0, 401, 0 },
	{ &data_route, "POST", "anonymous", 0, 401, 0 },
	{ &data_route, "DELETE", "anonymous", 0, 401, 0 },
	/* reads need read, everything else write */
	{ &data_route, "GET", "user", R, 0, 0 },
	{ &data_route, "HEAD", "user", R, 0, 0 },
	{ &data_route, "GET", "user", W | D, 403, R },
	{ &data_route, "GET", "user", 0, 403, R },
	{ &data_route, "POST", "user", R, 403, W },
	{ &data_route, "PUT", "user", R | D, 403, W },
	{ &data_route, "PATCH", "user", R, 403, W },
	{ &data_route, "DELETE", "user", R, 403, W },
	{ &data_route, "POST", "user", R | W, 0, 0 },
	{ &data_route, "DELETE", "user", W, 0, 0 },
	/* API keys are held to their own scopes the same way */
	{ &data_route, "GET", "apikey", R, 0, 0 },
	{ &data_route, "POST", "apikey", R, 403, W },
	{ &data_route, "POST", "apikey", R | W, 0, 0 },
	/* admin routes */
	{ &admin_route, "GET", "user", R | W | D, 403, A },
	{ &admin_route, "PATCH", "user", R | W | A | D, 0, 0 },
	{ &admin_route, "DELETE", "apikey", R | W, 403, A },
	{ &admin_route, "GET", "anonymous", 0, 401, 0 },
	/* dashboard */
	{ &dash_route, "GET", "user", R, 403, D },
	{ &dash_route, "GET", "user", R | D, 0, 0 },
	{ &dash_route, "GET", "anonymous", 0, 401, 0 },
	/* users' tokens only: an API key is refused even with every scope */
	{ &keys_route, "GET", "user", R, 0, 0 },
	{ &keys_route, "POST", "user", 0, 0, 0 },
	{ &keys_route, "POST", "apikey", ST_SCOPE_ALL, 403, 0 },
	{ &keys_route, "GET", "anonymous", 0, 401, 0 },
	/* devices write readings with ingest alone */
	{ &ingest_route, "POST", "apikey", IN, 0, 0 },
	{ &ingest_route, "GET", "apikey", IN, 403, R },
	{ &ingest_route, "POST", "user", R | W | A | D, 403, IN },
	/* readings: write, or ingest alone (a device); reading them still needs read */
	{ &data_or_ingest_route, "POST", "apikey", IN, 0, 0 },
	{ &data_or_ingest_route, "POST", "user", R | W, 0, 0 },
	{ &data_or_ingest_route, "POST", "user", R, 403, W },
	{ &data_or_ingest_route, "GET", "apikey", IN, 403, R },
	{ &data_or_ingest_route, "GET", "user", R, 0, 0 },
	{ &data_or_ingest_route, "POST", "anonymous", 0, 401, 0 },
};

START_TEST(access_table)
{
	const struct access_case *c = &cases[_i];
	struct st_principal p = who(c->kind, c->scopes);
	unsigned missing = 99;
	int status = gw_access_decide(c->route, c->method, &p, &missing);

	ck_assert_msg(status == c->status, "%s %s as %s/%u: %d, want %d", c->method,
		      c->route->prefix, c->kind, c->scopes, status, c->status);
	ck_assert_msg(missing == c->missing, "%s %s as %s/%u: missing %u, want %u", c->method,
		      c->route->prefix, c->kind, c->scopes, missing, c->missing);
}
END_TEST

Suite *
gw_scopes_suite(void)
{
	Suite *s = suite_create("gw_scopes");
	TCase *tc = tcase_create("access");

	tcase_add_loop_test(tc, access_table, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	suite_add_tcase(s, tc);
	return s;
}
