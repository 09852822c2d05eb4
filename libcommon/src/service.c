/*
 * st_service_main: configuration, connections, consumers, loops, the HTTP server, signals and
 * the ordered shutdown that every service shares (see service.h).
 */
#include "strata/service.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strata/db.h"
#include "strata/httpc.h"
#include "strata/log.h"
#include "strata/metrics.h"
#include "strata/redis.h"
#include "service_int.h"

#ifndef STRATA_VERSION
#define STRATA_VERSION "dev"
#endif

const char *
st_version(void)
{
	return STRATA_VERSION;
}

/* Settings every service shares; a service's own table follows them. */
static const struct st_config_item shared_config[] = {
	ST_CONFIG_STR("HTTP_BIND", "127.0.0.1"),
	ST_CONFIG_INT("HTTP_THREADS", 192, 4, 4096),
	ST_CONFIG_INT("HTTP_BODY_MAX", 1048576, 1024, 1073741824),
	ST_CONFIG_INT("HTTP_KEEP_ALIVE_MS", 5000, 0, 600000),
	ST_CONFIG_INT("HTTP_REQUEST_TIMEOUT_MS", 30000, 100, 3600000),
	ST_CONFIG_BOOL("HTTP_ACCESS_LOG", true),
	ST_CONFIG_STR("LOG_LEVEL", "info"),
	ST_CONFIG_SECRET("PRINCIPAL_KEYS", NULL, 1),
	/* Peers whose X-Real-IP / X-Forwarded-For are believed (st_http_client_addr). */
	ST_CONFIG_STR("TRUSTED_PROXIES", "127.0.0.0/8,::1/128"),
	ST_CONFIG_INT("PRINCIPAL_MAX_AGE_MS", 10000, 1000, 60000),
	ST_CONFIG_INT("SHUTDOWN_DRAIN_MS", 0, 0, 60000),
	ST_CONFIG_INT("HTTPC_CONNECT_TIMEOUT_MS", 1000, 10, 60000),
	ST_CONFIG_INT("HTTPC_TIMEOUT_MS", 10000, 10, 3600000),
	ST_CONFIG_INT("HTTPC_RETRIES", 2, 0, 5),
	ST_CONFIG_INT("HTTPC_BACKOFF_MS", 50, 1, 10000),
	ST_CONFIG_INT("HTTPC_POOL_SIZE", 0, 0, 4096),
	ST_CONFIG_INT("HTTPC_POOL_WAIT_MS", 1000, 1, 600000),
};

static const struct st_config_item db_config[] = {
	ST_CONFIG_STR("DATABASE_URL", NULL),
	ST_CONFIG_INT("DB_POOL_SIZE", 8, 1, 512),
	ST_CONFIG_INT("DB_CHECKOUT_TIMEOUT_MS", 2000, 1, 60000),
	ST_CONFIG_INT("DB_CONNECT_TIMEOUT_MS", 3000, 100, 60000),
	ST_CONFIG_INT("DB_STATEMENT_TIMEOUT_MS", 30000, 0, 3600000),
};

static const struct st_config_item redis_config[] = {
	ST_CONFIG_STR("REDIS_URL", NULL),
	ST_CONFIG_INT("REDIS_POOL_SIZE", 8, 1, 512),
	ST_CONFIG_INT("REDIS_TIMEOUT_MS", 1000, 10, 60000),
};

static const struct st_config_item kafka_config[] = {
	ST_CONFIG_STR("KAFKA_BROKERS", NULL),
	ST_CONFIG_INT("KAFKA_DELIVERY_TIMEOUT_MS", 10000, 100, 300000),
	ST_CONFIG_INT("KAFKA_LINGER_MS", 5, 0, 1000),
	ST_CONFIG_INT("KAFKA_BATCH_MAX", 1000, 1, 100000),
	ST_CONFIG_INT("KAFKA_BATCH_WAIT_MS", 200, 1, 60000),
};

static sigset_t stop_signals;

/* Blocks SIGTERM and SIGINT in this thread and every thread created after, so that only the
 * main thread's sigwait sees them; ignores SIGPIPE (a closed peer is an error value). */
static void
block_signals(void)
{
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static enum st_err
load_config(struct service_run *run, struct st_config *cfg)
{
	const struct st_service *svc = run->svc;
	char err[256];
	enum st_log_level level;
	const char *env_file = getenv("STRATA_ENV_FILE");

	/* The port's default is the service's own, so its item is made here. */
	snprintf(run->port_default, sizeof(run->port_default), "%d", svc->default_port);
	run->port_item.name = "HTTP_PORT";
	run->port_item.type = ST_CONFIG_T_INT;
	run->port_item.def = run->port_default;
	run->port_item.min = 1;
	run->port_item.max = 65535;
	st_config_add(cfg, &run->port_item, 1);
	/* The service's own table first: where it declares a shared setting again, its default
	 * wins (the gateway needs more threads than the others). */
	if (svc->nconfig > 0)
		st_config_add(cfg, svc->config, svc->nconfig);
	st_config_add(cfg, shared_config, ST_ARRAY_LEN(shared_config));
	if (svc->needs & ST_NEED_DB)
		st_config_add(cfg, db_config, ST_ARRAY_LEN(db_config));
	if (svc->needs & ST_NEED_REDIS)
		st_config_add(cfg, redis_config, ST_ARRAY_LEN(redis_config));
	if (svc->needs & ST_NEED_KAFKA)
		st_config_add(cfg, kafka_config, ST_ARRAY_LEN(kafka_config));
	if (st_config_load(cfg, env_file ? env_file : ".env", err, sizeof(err)) != ST_OK) {
		fprintf(stderr, "strata-%s: configuration error: %s\n", svc->name, err);
		return ST_ERR_INVALID;
	}
	if (!st_log_level_parse(st_config_str(cfg, "LOG_LEVEL"), &level)) {
		fprintf(stderr,
			"strata-%s: configuration error: LOG_LEVEL=%s: expected debug, info, "
			"warn or error\n",
			svc->name, st_config_str(cfg, "LOG_LEVEL"));
		return ST_ERR_INVALID;
	}
	if (st_http_trusted_parse(st_config_str(cfg, "TRUSTED_PROXIES"), &run->trusted_proxies, err,
				  sizeof(err)) != ST_OK) {
		fprintf(stderr, "strata-%s: configuration error: TRUSTED_PROXIES: %s\n", svc->name,
			err);
		return ST_ERR_INVALID;
	}
	st_log_init(svc->name, level);
	return ST_OK;
}

static enum st_err
connect_all(const struct st_service *svc, struct st_app *app)
{
	const struct st_config *cfg = app->config;
	struct st_httpc_conf hc = {
		.connect_timeout_ms = (int)st_config_int(cfg, "HTTPC_CONNECT_TIMEOUT_MS"),
		.timeout_ms = (int)st_config_int(cfg, "HTTPC_TIMEOUT_MS"),
		.retries = (int)st_config_int(cfg, "HTTPC_RETRIES"),
		.backoff_ms = (int)st_config_int(cfg, "HTTPC_BACKOFF_MS"),
		.pool_size = (int)st_config_int(cfg, "HTTPC_POOL_SIZE"),
		.pool_wait_ms = (int)st_config_int(cfg, "HTTPC_POOL_WAIT_MS"),
		.max_response = 64u * 1024 * 1024,
	};
	char client_id[64];
	enum st_err rc;

	snprintf(client_id, sizeof(client_id), "strata-%s", svc->name);
	rc = st_httpc_create(&hc, &app->httpc);
	if (rc != ST_OK)
		return rc;
	if (svc->needs & ST_NEED_DB) {
		struct st_db_conf dc = {
			.url = st_config_str(cfg, "DATABASE_URL"),
			.schema = svc->db_schema,
			.application = client_id,
			.size = (int)st_config_int(cfg, "DB_POOL_SIZE"),
			.checkout_timeout_ms = (int)st_config_int(cfg, "DB_CHECKOUT_TIMEOUT_MS"),
			.connect_timeout_ms = (int)st_config_int(cfg, "DB_CONNECT_TIMEOUT_MS"),
			.statement_timeout_ms = (int)st_config_int(cfg, "DB_STATEMENT_TIMEOUT_MS"),
		};

		/* An unreachable database is not fatal: the pool connects when it returns, and
		 * /readyz says so meanwhile. */
		rc = st_db_pool_create(&dc, &app->db);
		if (rc == ST_ERR_UNAVAILABLE)
			st_log(ST_LOG_WARN, "service",
			       "PostgreSQL unreachable at start; will retry");
		else if (rc != ST_OK)
			return rc;
	}
	if (svc->needs & ST_NEED_REDIS) {
		struct st_redis_conf rcf = {
			.url = st_config_str(cfg, "REDIS_URL"),
			.size = (int)st_config_int(cfg, "REDIS_POOL_SIZE"),
			.timeout_ms = (int)st_config_int(cfg, "REDIS_TIMEOUT_MS"),
		};

		rc = st_redis_create(&rcf, &app->redis);
		if (rc != ST_OK)
			return rc;
	}
	if (svc->needs & ST_NEED_KAFKA) {
		struct st_kafka_conf kc = {
			.brokers = st_config_str(cfg, "KAFKA_BROKERS"),
			.client_id = client_id,
			.delivery_timeout_ms = (int)st_config_int(cfg, "KAFKA_DELIVERY_TIMEOUT_MS"),
			.linger_ms = (int)st_config_int(cfg, "KAFKA_LINGER_MS"),
		};

		rc = st_kafka_producer_create(&kc, &app->kafka);
		if (rc != ST_OK)
			return rc;
	}
	return ST_OK;
}

/* Readiness: every declared dependency answers, then the service's own checks. */
static bool
ready_check(cJSON *checks, void *ctx)
{
	struct service_run *run = ctx;
	struct st_app *app = &run->app;
	bool ok = true;

	if (app->db != NULL || (run->svc->needs & ST_NEED_DB)) {
		bool up = app->db != NULL && st_db_ping(app->db) == ST_OK;
		cJSON_AddStringToObject(checks, "postgres", up ? "ok" : "down");
		ok = ok && up;
	}
	if (run->svc->needs & ST_NEED_REDIS) {
		bool up = st_redis_ping(app->redis) == ST_OK;
		cJSON_AddStringToObject(checks, "redis", up ? "ok" : "down");
		ok = ok && up;
	}
	if (run->svc->needs & ST_NEED_KAFKA) {
		bool up = st_kafka_producer_ping(app->kafka, 1000) == ST_OK;
		cJSON_AddStringToObject(checks, "kafka", up ? "ok" : "down");
		ok = ok && up;
	}
	if (run->svc->ready != NULL && !run->svc->ready(checks, app))
		ok = false;
	return ok;
}

static enum st_err
start_http(struct service_run *run)
{
	const struct st_config *cfg = run->app.config;
	struct st_http_conf hc = {
		.service = run->svc->name,
		.bind = st_config_str(cfg, "HTTP_BIND"),
		.port = (int)st_config_int(cfg, "HTTP_PORT"),
		.threads = (int)st_config_int(cfg, "HTTP_THREADS"),
		.body_max = (size_t)st_config_int(cfg, "HTTP_BODY_MAX"),
		.keep_alive_ms = (int)st_config_int(cfg, "HTTP_KEEP_ALIVE_MS"),
		.request_timeout_ms = (int)st_config_int(cfg, "HTTP_REQUEST_TIMEOUT_MS"),
		.access_log = st_config_bool(cfg, "HTTP_ACCESS_LOG"),
		.require_principal = !run->svc->public_edge,
		.principal_keys = run->app.principal_keys,
		.trusted_proxies = run->trusted_proxies,
		.principal_max_age_ms = st_config_int(cfg, "PRINCIPAL_MAX_AGE_MS"),
		.routes = run->svc->routes,
		.nroutes = run->svc->nroutes,
		.ctx = &run->app,
		.ready = ready_check,
		.ready_ctx = run,
		.metrics = run->app.metrics,
	};

	return st_http_server_create(&hc, &run->http);
}

static void
shutdown_all(struct service_run *run)
{
	const struct st_service *svc = run->svc;
	struct st_app *app = &run->app;

	if (run->http != NULL) {
		long long drain_ms = st_config_int(app->config, "SHUTDOWN_DRAIN_MS");
		struct timespec ts = { (time_t)(drain_ms / 1000),
				       (long)(drain_ms % 1000) * 1000000L };

		st_http_server_drain(run->http);
		if (drain_ms > 0)
			nanosleep(&ts, NULL);
		st_http_server_destroy(run->http);
		run->http = NULL;
	}
	service_loops_stop(run);
	service_consumers_stop(run);
	if (run->initialized && svc->fini != NULL)
		svc->fini(app);
	st_kafka_producer_destroy(app->kafka);
	st_redis_destroy(app->redis);
	st_db_pool_destroy(app->db);
	st_httpc_destroy(app->httpc);
	st_metrics_destroy(app->metrics);
	app->kafka = NULL;
	app->redis = NULL;
	app->db = NULL;
	app->httpc = NULL;
	app->metrics = NULL;
}

int
st_service_main(const struct st_service *svc, int argc, char **argv)
{
	struct service_run run;
	struct st_config *cfg = st_config_create();
	struct st_principal_keys *keys = NULL;
	char err[256];
	int code = 1, sig = 0;

	(void)argc;
	(void)argv;
	memset(&run, 0, sizeof(run));
	run.svc = svc;
	block_signals();
	if (load_config(&run, cfg) != ST_OK) {
		code = 2;
		goto out;
	}
	if (st_principal_keys_create(svc->name, st_config_str(cfg, "PRINCIPAL_KEYS"), &keys, err,
				     sizeof(err)) != ST_OK) {
		fprintf(stderr, "strata-%s: configuration error: PRINCIPAL_KEYS: %s\n", svc->name,
			err);
		code = 2;
		goto out;
	}
	run.app.name = svc->name;
	run.app.config = cfg;
	run.app.principal_keys = keys;
	run.app.started_ms = st_now_wall_ms();
	run.app.metrics = st_metrics_create();
	service_metrics_register(&run);
	st_log(ST_LOG_INFO, "service", "starting strata-%s version=%s", svc->name, st_version());
	st_config_log(cfg);
	if (connect_all(svc, &run.app) != ST_OK)
		goto out;
	if (svc->init != NULL && svc->init(&run.app) != ST_OK) {
		st_log(ST_LOG_ERROR, "service", "initialization failed");
		goto out;
	}
	run.initialized = true;
	if (service_consumers_start(&run) != ST_OK || service_loops_start(&run) != ST_OK)
		goto out;
	if (start_http(&run) != ST_OK)
		goto out;
	st_log(ST_LOG_INFO, "service", "ready port=%lld", st_config_int(cfg, "HTTP_PORT"));
	sigwait(&stop_signals, &sig);
	st_log(ST_LOG_INFO, "service", "stopping signal=%d", sig);
	code = 0;
out:
	shutdown_all(&run);
	if (code == 0)
		st_log(ST_LOG_INFO, "service", "stopped cleanly");
	st_http_trusted_destroy(run.trusted_proxies);
	st_principal_keys_destroy(keys);
	st_config_destroy(cfg);
	return code;
}
