/*
 * strata-gateway: the only public API. It fronts the internal services (their addresses are
 * settings) and answers for the suite's health. Authentication, rate limits and proxying are
 * declared here as they are built.
 */
#include <stdlib.h>

#include "gateway.h"

static const struct st_config_item config[] = {
	/* nginx keeps up to 32 idle connections per worker and CivetWeb holds a thread per open
	 * connection: stay well above every client's pool (PERFORMANCE.md). */
	ST_CONFIG_INT("HTTP_THREADS", 256, 4, 4096),
	ST_CONFIG_STR("GATEWAY_AUTH_URL", "http://127.0.0.1:8081"),
	ST_CONFIG_STR("GATEWAY_INGEST_URL", "http://127.0.0.1:8082"),
	ST_CONFIG_STR("GATEWAY_STATISTICS_URL", "http://127.0.0.1:8083"),
	ST_CONFIG_STR("GATEWAY_ALERTING_URL", "http://127.0.0.1:8084"),
	ST_CONFIG_STR("GATEWAY_SCHEDULER_URL", "http://127.0.0.1:8085"),
	ST_CONFIG_STR("GATEWAY_STORAGE_URL", "http://127.0.0.1:8086"),
	ST_CONFIG_INT("GATEWAY_HEALTH_TIMEOUT_MS", 1000, 50, 30000),
	ST_CONFIG_INT("GATEWAY_HEALTH_CACHE_MS", 1000, 0, 60000),
};

static const struct st_route routes[] = {
	{ "GET", "/api/v1/health", health_get, ST_SCOPE_NONE },
};

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

	for (size_t i = 0; i < GATEWAY_UPSTREAMS; i++) {
		gw->upstreams[i].name = names[i];
		gw->upstreams[i].url = st_config_str(app->config, settings[i]);
	}
	gw->health_timeout_ms = (int)st_config_int(app->config, "GATEWAY_HEALTH_TIMEOUT_MS");
	gw->health_cache_ms = (int)st_config_int(app->config, "GATEWAY_HEALTH_CACHE_MS");
	pthread_mutex_init(&gw->health_lock, NULL);
	app->state = gw;
	return ST_OK;
}

static void
gateway_fini(struct st_app *app)
{
	struct gateway *gw = app->state;

	if (gw == NULL)
		return;
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
