/*
 * GET /api/v1/health: asks every internal service's /readyz at once (one thread each, bounded
 * by GATEWAY_HEALTH_TIMEOUT_MS), checks the gateway's own Redis and Kafka, and answers "ok"
 * (200) when everything is up, "degraded" (503) otherwise, naming each service and dependency
 * and the rate limiter's state ("degraded (fail-open)" while Redis fails it). The answer is
 * cached for GATEWAY_HEALTH_CACHE_MS so that a burst of probes costs one round.
 *
 * GET /api/v1/health/detailed (scope dashboard) adds, per service, its version and uptime read
 * from its /metrics (strata_build_info, process_start_time_seconds), and the gateway's own. It
 * is not cached: it is for people looking at a dashboard, behind a scope and a rate limit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_int.h"
#include "strata/httpc.h"
#include "strata/json.h"
#include "strata/kafka.h"
#include "strata/log.h"
#include "strata/redis.h"

struct probe {
	struct st_app *app;
	const struct upstream *up;
	int timeout_ms;
	bool detailed; /* also read the service's /metrics */
	pthread_t thread;
	bool started;
	/* results */
	bool ready;
	double latency_ms;
	char detail[96];
	cJSON *checks; /* the service's own checks, owned */
	char version[64];
	double started_s; /* process start, Unix seconds; 0 when unknown */
};

ST_STATIC bool
gw_metrics_pick(const char *text, const char *metric, const char *label, char *out, size_t cap)
{
	size_t mlen = strlen(metric);

	for (const char *line = text; line != NULL && *line != '\0';) {
		const char *next = strchr(line, '\n');
		size_t len = next ? (size_t)(next - line) : strlen(line);

		if (len > mlen && strncmp(line, metric, mlen) == 0 &&
		    (line[mlen] == '{' || line[mlen] == ' ')) {
			char buf[512];
			const char *close, *value;

			if (len >= sizeof(buf))
				return false;
			memcpy(buf, line, len);
			buf[len] = '\0';
			close = strrchr(buf, '}');
			if (label != NULL) {
				if (buf[mlen] != '{' || close == NULL)
					return false;
				buf[close - buf] = '\0';
				return gw_label_value(buf + mlen + 1, label, out, cap);
			}
			value = strrchr(buf, ' ');
			return value != NULL && value[1] != '\0' && st_strlcpy(out, value + 1, cap);
		}
		line = next ? next + 1 : NULL;
	}
	return false;
}

/* Reads the version and the start time from the service's /metrics. */
static void
probe_metrics(struct probe *p)
{
	char url[512], start[64];
	struct st_httpc_req req = { .method = "GET", .url = url, .timeout_ms = p->timeout_ms };
	struct st_httpc_resp resp;

	snprintf(url, sizeof(url), "%s/metrics", p->up->url);
	if (st_httpc_do(p->app->httpc, &req, &resp) == ST_OK && resp.status == 200) {
		gw_metrics_pick(resp.body, "strata_build_info", "version", p->version,
				sizeof(p->version));
		if (gw_metrics_pick(resp.body, "process_start_time_seconds", NULL, start,
				    sizeof(start)))
			p->started_s = strtod(start, NULL);
	}
	st_httpc_resp_cleanup(&resp);
}

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
	if (p->detailed && rc == ST_OK)
		probe_metrics(p);
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

/* What the rate limiter is doing, for both health answers. */
static const char *
rate_limiter_state(const struct gateway *gw)
{
	if (gw->ratelimit == NULL || !gw_ratelimit_degraded(gw->ratelimit))
		return "ok";
	return gw->rate_fail_closed ? "degraded (fail-closed)" : "degraded (fail-open)";
}

/* Builds the health document (with versions and uptimes when detailed); returns its HTTP
 * status. */
static int
build_health(struct st_app *app, struct gateway *gw, bool detailed, char **body)
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
		probes[i].detailed = detailed;
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
		if (detailed) {
			double up = (double)st_now_wall_ms() / 1000.0 - p->started_s;

			cJSON_AddStringToObject(one, "version",
						p->version[0] ? p->version : "unknown");
			if (p->started_s > 0)
				cJSON_AddNumberToObject(one, "uptime_s", (double)(long long)up);
		}
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
	cJSON_AddStringToObject(doc, "rate_limiter", rate_limiter_state(gw));
	if (detailed) {
		char since[32];

		st_time_format_rfc3339(app->started_ms, since, sizeof(since));
		cJSON_AddStringToObject(doc, "started", since);
	}
	cJSON_AddItemToObject(doc, "services", services);
	cJSON_AddItemToObject(doc, "dependencies", deps);
	*body = st_json_print(doc, NULL);
	cJSON_Delete(doc);
	return all_ok ? 200 : 503;
}

/* Answers a health document (taking body over): not cached, Retry-After 5 unless 200. */
static int
reply_health(struct st_req *req, int status, char *body)
{
	if (status != 200)
		st_http_add_header(req, "Retry-After", "5");
	st_http_add_header(req, "Cache-Control", "no-store");
	status = st_http_reply(req, status, "application/json", body, strlen(body));
	st_free(body);
	return status;
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
		gw->health_status = build_health(app, gw, false, &gw->health_body);
		gw->health_at_ms = st_now_mono_ms();
	}
	body = st_strdup(gw->health_body);
	status = gw->health_status;
	pthread_mutex_unlock(&gw->health_lock);
	return reply_health(req, status, body);
}

int
health_detailed(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	char *body = NULL;
	int status = build_health(app, app->state, true, &body);

	return reply_health(req, status, body);
}
