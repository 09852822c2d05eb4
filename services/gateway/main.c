/*
 * strata-gateway: the only public API. Its own routes come first (health, the detailed health
 * and the performance summary for dashboards, the OpenAPI document); every other path under
 * /api/v1/ and /.well-known/ goes to gw_forward, which authenticates the caller, checks its
 * scopes and rate limit, and streams the request to the internal service that owns the path
 * (routes.c). /internal/... paths are routed nowhere.
 *
 * The gateway's own routes pass the same guard as proxied ones (gw_guard): the HTTP server's
 * route scopes are for signed principals, which a public caller never has, so each own route
 * names what it needs in a rule of its own.
 */
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "strata/log.h"

static const struct st_config_item config[] = {
	/* nginx keeps up to 32 idle connections per worker and CivetWeb holds a thread per open
	 * connection: stay well above every client's pool (docs/performance.md). */
	ST_CONFIG_INT("HTTP_THREADS", 128, 4, 4096),
	/* Every proxied request makes one Redis round trip (denylist and rate limit): with the
	 * shared default of 8 connections, most threads queued for one. */
	ST_CONFIG_INT("REDIS_POOL_SIZE", 32, 1, 512),
	/* At most this many proxied transfers at once to each service, on as many keep-alive
	 * connections, whatever HTTP_THREADS, and as many again for the gateway's own calls (API
	 * keys, JWKS): keep the sum over gateway replicas below each service's HTTP_THREADS (192).
	 * A request finding all busy waits HTTPC_POOL_WAIT_MS, then gets 503 with Retry-After. */
	ST_CONFIG_INT("HTTPC_POOL_SIZE", 64, 0, 4096),
	ST_CONFIG_INT("HTTPC_POOL_WAIT_MS", 5000, 1, 600000),
	ST_CONFIG_STR("GATEWAY_AUTH_URL", "http://127.0.0.1:8081"),
	ST_CONFIG_STR("GATEWAY_INGEST_URL", "http://127.0.0.1:8082"),
	ST_CONFIG_STR("GATEWAY_STATISTICS_URL", "http://127.0.0.1:8083"),
	ST_CONFIG_STR("GATEWAY_ALERTING_URL", "http://127.0.0.1:8084"),
	ST_CONFIG_STR("GATEWAY_SCHEDULER_URL", "http://127.0.0.1:8085"),
	ST_CONFIG_STR("GATEWAY_STORAGE_URL", "http://127.0.0.1:8086"),
	ST_CONFIG_INT("GATEWAY_HEALTH_TIMEOUT_MS", 1000, 50, 30000),
	ST_CONFIG_INT("GATEWAY_HEALTH_CACHE_MS", 1000, 0, 60000),
	/* The longest an upstream may stay silent: before its answer begins (then 504), and
	 * between two pieces of a streamed answer (then the answer is cut). */
	ST_CONFIG_INT("GATEWAY_PROXY_TIMEOUT_MS", 30000, 50, 3600000),
	/* Origins allowed to call from a browser: a comma-separated list, or "*"; empty: off. */
	ST_CONFIG_STR("GATEWAY_CORS_ORIGINS", ""),
	ST_CONFIG_STR("GATEWAY_OPENAPI_FILE", "proto/openapi/strata.json"),
	/* Authentication (authn.c, jwks.c). */
	ST_CONFIG_STR("GATEWAY_JWT_ISSUER", "http://127.0.0.1:8000"),
	ST_CONFIG_STR("GATEWAY_JWT_AUDIENCE", "strata"),
	ST_CONFIG_INT("GATEWAY_JWT_LEEWAY_S", 30, 0, 60),
	ST_CONFIG_INT("GATEWAY_JWKS_REFRESH_S", 300, 10, 86400),
	ST_CONFIG_INT("GATEWAY_APIKEY_CACHE_S", 30, 0, 60), /* a revoked key works 60 s at most */
	ST_CONFIG_INT("GATEWAY_AUTH_TIMEOUT_MS", 2000, 50, 30000),    /* JWKS and key lookups */
	ST_CONFIG_INT("GATEWAY_TOKEN_CACHE_MAX", 65536, 0, 16777216), /* verified tokens; 0: off */
	/* Rate limits (ratelimit.c): requests a minute per caller, by route class. */
	ST_CONFIG_INT("GATEWAY_RATE_DEFAULT", 100, 1, 1000000),
	ST_CONFIG_INT("GATEWAY_RATE_HEALTH", 200, 1, 1000000),
	ST_CONFIG_BOOL("GATEWAY_RATE_FAIL_CLOSED", false),
};

/* What the gateway's own routes ask of a caller (their upstream is unused). */
static const struct gw_route rule_health = {
	"/api/v1/health", -1, GW_PUBLIC, ST_SCOPE_NONE, ST_SCOPE_NONE, GW_CLASS_HEALTH, 0
};
static const struct gw_route rule_dashboard_health = {
	"/api/v1/health/detailed", -1, GW_AUTHENTICATED, ST_SCOPE_DASHBOARD, ST_SCOPE_DASHBOARD,
	GW_CLASS_HEALTH,           0
};
static const struct gw_route rule_dashboard = { "/api/v1/performance/summary",
						-1,
						GW_AUTHENTICATED,
						ST_SCOPE_DASHBOARD,
						ST_SCOPE_DASHBOARD,
						GW_CLASS_DEFAULT,
						0 };
static const struct gw_route rule_public = {
	"/api/v1/openapi.json", -1, GW_PUBLIC, ST_SCOPE_NONE, ST_SCOPE_NONE, GW_CLASS_DEFAULT, 0
};

/* Runs an own route's handler after CORS and the guard. */
static int
own(struct st_req *req, struct st_app *app, const struct gw_route *rule, st_http_handler *handler)
{
	struct st_principal p;
	int status = gw_cors(req, app->state);

	if (status != 0)
		return status;
	status = gw_guard(req, app, rule, &p);
	if (status != 0)
		return status;
	return handler(req, app);
}

static int
own_health(struct st_req *req, void *ctx)
{
	return own(req, ctx, &rule_health, health_get);
}

static int
own_health_detailed(struct st_req *req, void *ctx)
{
	return own(req, ctx, &rule_dashboard_health, health_detailed);
}

static int
own_perf_summary(struct st_req *req, void *ctx)
{
	return own(req, ctx, &rule_dashboard, perf_summary);
}

static int
own_openapi(struct st_req *req, void *ctx)
{
	return own(req, ctx, &rule_public, openapi_get);
}

#define FORWARD(method)                                                                            \
	{ method, "/api/v1/{rest*}", gw_forward, ST_SCOPE_NONE },                                  \
	{                                                                                          \
		method, "/.well-known/{rest*}", gw_forward, ST_SCOPE_NONE                          \
	}

static const struct st_route routes[] = {
	{ "GET", "/api/v1/health", own_health, ST_SCOPE_NONE },
	{ "HEAD", "/api/v1/health", own_health, ST_SCOPE_NONE },
	{ "GET", "/api/v1/health/detailed", own_health_detailed, ST_SCOPE_NONE },
	{ "GET", "/api/v1/performance/summary", own_perf_summary, ST_SCOPE_NONE },
	{ "GET", "/api/v1/openapi.json", own_openapi, ST_SCOPE_NONE },
	FORWARD("GET"),
	FORWARD("HEAD"),
	FORWARD("POST"),
	FORWARD("PUT"),
	FORWARD("PATCH"),
	FORWARD("DELETE"),
	FORWARD("OPTIONS"),
};

/* Splits GATEWAY_CORS_ORIGINS into gw. ST_ERR_INVALID for an empty or malformed entry. */
static enum st_err
cors_parse(struct gateway *gw, const char *list)
{
	size_t n = 1, k = 0;
	const char *p = list;

	while (*p == ' ')
		p++;
	if (*p == '\0')
		return ST_OK;
	if (strcmp(p, "*") == 0) {
		gw->cors_any = true;
		return ST_OK;
	}
	for (const char *c = list; *c != '\0'; c++)
		n += *c == ',';
	gw->cors_origins = st_calloc(n + 1, sizeof(char *));
	while (*p != '\0') {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (len == 0 || strcspn(p, " \t\r\n*") < len) {
			st_log(ST_LOG_ERROR, "gateway",
			       "GATEWAY_CORS_ORIGINS: expected \"*\" or a comma-separated list of "
			       "origins such as https://app.example.org");
			return ST_ERR_INVALID;
		}
		gw->cors_origins[k++] = st_strndup(p, len);
		p = end ? end + 1 : p + strlen(p);
		while (*p == ' ')
			p++;
	}
	return ST_OK;
}

static void gateway_fini(struct st_app *app);

static enum st_err
gateway_init(struct st_app *app)
{
	static const char *const names[GATEWAY_UPSTREAMS] = { "auth",     "ingest",    "statistics",
							      "alerting", "scheduler", "storage" };
	static const char *const settings[GATEWAY_UPSTREAMS] = {
		"GATEWAY_AUTH_URL",     "GATEWAY_INGEST_URL",    "GATEWAY_STATISTICS_URL",
		"GATEWAY_ALERTING_URL", "GATEWAY_SCHEDULER_URL", "GATEWAY_STORAGE_URL",
	};
	struct gateway *gw = st_calloc(1, sizeof(*gw));
	enum st_err rc;

	for (size_t i = 0; i < GATEWAY_UPSTREAMS; i++) {
		gw->upstreams[i].name = names[i];
		gw->upstreams[i].url = st_config_str(app->config, settings[i]);
	}
	gw->health_timeout_ms = (int)st_config_int(app->config, "GATEWAY_HEALTH_TIMEOUT_MS");
	gw->health_cache_ms = (int)st_config_int(app->config, "GATEWAY_HEALTH_CACHE_MS");
	gw->proxy_timeout_ms = (int)st_config_int(app->config, "GATEWAY_PROXY_TIMEOUT_MS");
	gw->rate_fail_closed = st_config_bool(app->config, "GATEWAY_RATE_FAIL_CLOSED");
	pthread_mutex_init(&gw->health_lock, NULL);
	app->state = gw;
	rc = cors_parse(gw, st_config_str(app->config, "GATEWAY_CORS_ORIGINS"));
	if (rc != ST_OK)
		goto out;
	rc = openapi_load(gw, st_config_str(app->config, "GATEWAY_OPENAPI_FILE"));
	if (rc != ST_OK)
		goto out;
	gw->route_metrics = gw_route_metrics_create(app, gw);
	rc = gw_authn_create(app, &gw->authn);
	if (rc != ST_OK)
		goto out;
	rc = gw_ratelimit_create(app, &gw->ratelimit);
out:
	if (rc != ST_OK)
		gateway_fini(app);
	return rc;
}

static void
gateway_fini(struct st_app *app)
{
	struct gateway *gw = app->state;

	if (gw == NULL)
		return;
	gw_ratelimit_destroy(gw->ratelimit);
	gw_authn_destroy(gw->authn);
	gw_route_metrics_destroy(gw->route_metrics);
	for (size_t i = 0; gw->cors_origins != NULL && gw->cors_origins[i] != NULL; i++)
		st_free(gw->cors_origins[i]);
	st_free(gw->cors_origins);
	st_free(gw->openapi);
	pthread_mutex_destroy(&gw->health_lock);
	st_free(gw->health_body);
	st_free(gw);
	app->state = NULL;
}

static const struct st_service service = {
	.name = "gateway",
	.default_port = 8080,
	.needs = ST_NEED_REDIS | ST_NEED_KAFKA,
	.public_edge = true,
	.config = config,
	.nconfig = ST_ARRAY_LEN(config),
	.routes = routes,
	.nroutes = ST_ARRAY_LEN(routes),
	.init = gateway_init,
	.fini = gateway_fini,
};

int
main(int argc, char **argv)
{
	return st_service_main(&service, argc, argv);
}
