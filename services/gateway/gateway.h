/*
 * What the gateway's files share. By file:
 *   main.c       settings, the route table, state set-up
 *   health.c     GET /api/v1/health (public) and /api/v1/health/detailed (dashboard)
 *   routes.c     which internal service owns a public path, and the scopes it needs
 *   authn.c      who is calling: Bearer JWTs verified against the JWKS (jwks.c), API keys
 *                verified by auth (cached briefly), or anonymous
 *   jwks.c       the JWKS cache and JWT verification with the algorithm pinned by the key
 *   ratelimit.c  GCRA in Redis (one Lua script), RateLimit-* headers, fail-open by default
 *   proxy.c      streaming proxy to the owning service with the signed principal
 *   perf.c       GET /api/v1/performance/summary from the gateway's own histograms
 *   openapi.c    GET /api/v1/openapi.json (proto/openapi/strata.json, loaded at start)
 */
#ifndef STRATA_GATEWAY_H
#define STRATA_GATEWAY_H

#include <pthread.h>

#include "strata/service.h"

/* One internal service behind the gateway. */
struct upstream {
	const char *name; /* "auth" */
	const char *url;  /* base URL, from GATEWAY_<NAME>_URL */
};

#define GATEWAY_UPSTREAMS 6

struct gateway {
	struct upstream upstreams[GATEWAY_UPSTREAMS]; /* auth, ingest, statistics, alerting,
							  scheduler, storage: in that order */
	struct gw_authn *authn;
	struct gw_ratelimit *ratelimit;
	char *openapi;      /* the OpenAPI document, loaded at start */
	size_t openapi_len;
	int health_timeout_ms;
	int health_cache_ms;
	pthread_mutex_t health_lock; /* guards the cached answer below */
	char *health_body;
	int health_status;
	int64_t health_at_ms;
};

/* GET /api/v1/health: the suite's status, public. */
int health_get(struct st_req *req, void *ctx);
/* GET /api/v1/health/detailed: readiness of everything, versions, uptime (scope dashboard). */
int health_detailed(struct st_req *req, void *ctx);

/* ---- routing (routes.c) ---- */

/* Rate-limit classes: each has its own limit per minute (settings GATEWAY_RATE_*). */
enum gw_class {
	GW_CLASS_DEFAULT, /* GATEWAY_RATE_DEFAULT, 100 a minute */
	GW_CLASS_HEALTH,  /* GATEWAY_RATE_HEALTH, 200 a minute */
	GW_CLASS_COUNT,
};

/* What the caller must be for a public path. */
enum gw_access {
	GW_PUBLIC,        /* anyone: forwarded as the anonymous principal when no credentials */
	GW_AUTHENTICATED, /* any valid credentials; scopes by method below */
	GW_USER_ONLY,     /* a user's JWT, not an API key (e.g. managing API keys) */
};

struct gw_route {
	const char *prefix;   /* "/api/v1/projects": the path equals it or continues with '/' */
	int upstream;         /* index into struct gateway's upstreams */
	enum gw_access access;
	unsigned read_scope;  /* scopes for GET and HEAD */
	unsigned write_scope; /* scopes for every other method */
	enum gw_class cls;
};

/* The route owning path, or NULL (the gateway then answers 404). */
const struct gw_route *gw_route_find(const char *path);

/* ---- authentication (authn.c, jwks.c) ---- */

struct gw_authn; /* JWKS cache, API-key cache; opaque */

enum st_err gw_authn_create(struct st_app *app, struct gw_authn **out);
void gw_authn_destroy(struct gw_authn *a);

/*
 * Establishes the caller from Authorization: Bearer <jwt> or X-API-Key. Returns 0 with *out
 * filled (kind "anonymous" when neither header is present), or answers 401 problem+json
 * itself (bad, expired or revoked credentials; the reason named, no secret echoed) and
 * returns 401. May answer 503 when auth cannot be asked about an API key.
 */
int gw_authenticate(struct st_req *req, struct st_app *app, struct st_principal *out);

/* ---- rate limiting (ratelimit.c) ---- */

struct gw_ratelimit;

enum st_err gw_ratelimit_create(struct st_app *app, struct gw_ratelimit **out);
void gw_ratelimit_destroy(struct gw_ratelimit *r);
/*
 * Counts one request of class cls for key ("p:<sub>" for a principal, "ip:<addr>" for an
 * anonymous caller) and adds RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset to the
 * answer. Returns 0 to go on, or answers 429 with Retry-After and returns 429. When Redis is
 * down: goes on (fail-open) or answers 503 (GATEWAY_RATE_FAIL_CLOSED), and records it for
 * health.
 */
int gw_ratelimit_check(struct st_req *req, struct gw_ratelimit *r, const char *key,
		       enum gw_class cls);
/* True while the last Redis call of the limiter failed (for health). */
bool gw_ratelimit_degraded(const struct gw_ratelimit *r);

/* ---- proxying (proxy.c) ---- */

/*
 * Forwards the request to base_url + the same path and query, with the signed principal,
 * X-Request-Id and X-Real-IP, streaming both bodies; answers 504 on timeout and 503 with
 * Retry-After when the service cannot be reached. Returns the status sent.
 */
int gw_proxy(struct st_req *req, struct st_app *app, const char *base_url,
	     const struct st_principal *p);

/* The catch-all handler for /api/v1/...: route, authenticate, authorize, limit, proxy. */
int gw_forward(struct st_req *req, void *ctx);

/* GET /api/v1/performance/summary (perf.c). */
int perf_summary(struct st_req *req, void *ctx);
/* GET /api/v1/openapi.json (openapi.c). */
int openapi_get(struct st_req *req, void *ctx);

#endif
