/*
 * GET /api/v1/health: asks every internal service's /readyz at once (one thread each, bounded
 * by GATEWAY_HEALTH_TIMEOUT_MS), checks the gateway's own Redis and Kafka, and answers "ok"
 * (200) when everything is up, "degraded" (503) otherwise, naming each service and dependency.
 * The answer is cached for GATEWAY_HEALTH_CACHE_MS so that a burst of probes costs one round.
 */
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "strata/httpc.h"
#include "strata/json.h"
#include "strata/kafka.h"
#include "strata/log.h"
#include "strata/redis.h"

struct probe {
	struct st_app *app;
	const struct upstream *up;
	int timeout_ms;
	pthread_t thread;
	bool started;
	/* results */
	bool ready;
	double latency_ms;
	char detail[96];
	cJSON *checks; /* the service's own checks, owned */
};

static void *
probe_main(void *arg)
{
	struct probe *p = arg;
	char url[512];
	struct st_httpc_req req = { .method = "GET", .url = url, .timeout_ms = p->timeout_ms };
	struct st_httpc_resp resp;
	int64_t start = st_now_mono_us();
	enum st_err rc;

	snprintf(url, sizeof(url), "%s/readyz", p->up->url);
	rc = st_httpc_do(p->app->httpc, &req, &resp);
	p->latency_ms = (double)(st_now_mono_us() - start) / 1000.0;
	if (rc != ST_OK) {
		snprintf(p->detail, sizeof(p->detail), "unreachable (%s)", st_err_str(rc));
	} else {
		cJSON *doc = cJSON_ParseWithLength(resp.body, resp.len);
		cJSON *checks = cJSON_GetObjectItemCaseSensitive(doc, "checks");

		p->ready = resp.status == 200;
		if (!p->ready)
			snprintf(p->detail, sizeof(p->detail), "not ready (HTTP %ld)", resp.status);
		if (cJSON_IsObject(checks))
			p->checks = cJSON_DetachItemViaPointer(doc, checks);
		cJSON_Delete(doc);
	}
	st_httpc_resp_cleanup(&resp);
	return NULL;
}

/* Folds one dependency state into the summary: any "down" wins over "ok". */
static void
merge_dependency(cJSON *deps, const char *name, const char *state)
{
	cJSON *have = cJSON_GetObjectItemCaseSensitive(deps, name);

	if (have == NULL)
		cJSON_AddStringToObject(deps, name, strcmp(state, "ok") == 0 ? "ok" : "down");
	else if (strcmp(state, "ok") != 0 && cJSON_IsString(have))
		cJSON_ReplaceItemInObjectCaseSensitive(deps, name, cJSON_CreateString("down"));
}

/* Builds the health document; returns its HTTP status. */
static int
build_health(struct st_app *app, struct gateway *gw, char **body)
{
	struct probe probes[GATEWAY_UPSTREAMS];
	cJSON *doc = cJSON_CreateObject(), *services, *deps;
	bool all_ok = true;
	char now[32];

	memset(probes, 0, sizeof(probes));
	for (size_t i = 0; i < GATEWAY_UPSTREAMS; i++) {
		probes[i].app = app;
		probes[i].up = &gw->upstreams[i];
		probes[i].timeout_ms = gw->health_timeout_ms;
		probes[i].started =
			pthread_create(&probes[i].thread, NULL, probe_main, &probes[i]) == 0;
		if (!probes[i].started)
			probe_main(&probes[i]);
	}
	deps = cJSON_CreateObject();
	merge_dependency(deps, "redis", st_redis_ping(app->redis) == ST_OK ? "ok" : "down");
	merge_dependency(
		deps, "kafka",
		st_kafka_producer_ping(app->kafka, gw->health_timeout_ms) == ST_OK ? "ok" : "down");
	services = cJSON_CreateObject();
	for (size_t i = 0; i < GATEWAY_UPSTREAMS; i++) {
		struct probe *p = &probes[i];
		cJSON *one = cJSON_CreateObject(), *c;

		if (p->started)
			pthread_join(p->thread, NULL);
		cJSON_AddStringToObject(one, "status", p->ready ? "ok" : "down");
		cJSON_AddNumberToObject(one, "latency_ms",
					(double)(int)(p->latency_ms * 100) / 100);
		if (!p->ready)
			cJSON_AddStringToObject(one, "detail", p->detail);
		cJSON_ArrayForEach(c, p->checks)
		{
			if (cJSON_IsString(c) && strcmp(c->string, "server") != 0)
				merge_dependency(deps, c->string, c->valuestring);
		}
		if (p->checks != NULL)
			cJSON_AddItemToObject(one, "checks", p->checks);
		cJSON_AddItemToObject(services, p->up->name, one);
		all_ok = all_ok && p->ready;
	}
	{
		cJSON *d;

		cJSON_ArrayForEach(d, deps)
		{
			all_ok = all_ok && strcmp(d->valuestring, "ok") == 0;
		}
	}
	st_time_format_rfc3339(st_now_wall_ms(), now, sizeof(now));
	cJSON_AddStringToObject(doc, "status", all_ok ? "ok" : "degraded");
	cJSON_AddStringToObject(doc, "version", st_version());
	cJSON_AddStringToObject(doc, "time", now);
	cJSON_AddNumberToObject(doc, "uptime_s",
				(double)((st_now_wall_ms() - app->started_ms) / 1000));
	cJSON_AddItemToObject(doc, "services", services);
	cJSON_AddItemToObject(doc, "dependencies", deps);
	*body = st_json_print(doc, NULL);
	cJSON_Delete(doc);
	return all_ok ? 200 : 503;
}

int
health_get(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	struct gateway *gw = app->state;
	int64_t now = st_now_mono_ms();
	char *body = NULL;
	int status;

	/* One probe round at a time; callers meanwhile share its answer. */
	pthread_mutex_lock(&gw->health_lock);
	if (gw->health_body == NULL || now - gw->health_at_ms >= gw->health_cache_ms) {
		st_free(gw->health_body);
		gw->health_status = build_health(app, gw, &gw->health_body);
		gw->health_at_ms = st_now_mono_ms();
	}
	body = st_strdup(gw->health_body);
	status = gw->health_status;
	pthread_mutex_unlock(&gw->health_lock);
	if (status != 200)
		st_http_add_header(req, "Retry-After", "5");
	st_http_add_header(req, "Cache-Control", "no-store");
	status = st_http_reply(req, status, "application/json", body, strlen(body));
	st_free(body);
	return status;
}
