/*
 * What the gateway's files share. By file:
 *   main.c       settings, the route table, state set-up
 *   health.c     GET /api/v1/health (public) and /api/v1/health/detailed (dashboard)
 *   routes.c     which internal service owns a public path, and the scopes it needs
 *   authn.c      who is calling: Bearer JWTs verified against the JWKS (jwks.c), API keys
 *                verified by auth (cached briefly), or anonymous
 *   jwks.c       the JWKS cache and JWT verification with the algorithm pinned by the key
 *   revoked.c    the logouts read from auth's Redis stream, kept in memory for Redis outages
 *   ratelimit.c  GCRA in Redis (one Lua script), RateLimit-* headers, fail-open by default
 *   proxy.c      streaming proxy to the owning service with the signed principal
 *   proxy_headers.c  which headers pass to the service and back, the client's address
 *   cors.c       CORS headers and preflights
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
	char *openapi; /* the OpenAPI document, loaded at start */
	size_t openapi_len;
	int health_timeout_ms;
	int health_cache_ms;
	bool rate_fail_closed; /* GATEWAY_RATE_FAIL_CLOSED, for what health says */
	int proxy_timeout_ms;  /* GATEWAY_PROXY_TIMEOUT_MS: the longest silence of an upstream */
	char **cors_origins;   /* GATEWAY_CORS_ORIGINS split, NULL-terminated; NULL: CORS off */
	bool cors_any;         /* GATEWAY_CORS_ORIGINS is "*" */
	struct gw_route_metrics *route_metrics; /* per route prefix (proxy.c), one a route */
	pthread_mutex_t health_lock;            /* guards the cached answer below */
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
	/* "/api/v1/projects": the path equals it or continues with '/'. With `{name}` segments
	 * ("/api/v1/sessions/{id}/data") it is a pattern the whole path must match. */
	const char *prefix;
	int upstream; /* index into struct gateway's upstreams */
	enum gw_access access;
	unsigned read_scope;  /* scopes for GET and HEAD */
	unsigned write_scope; /* scopes for every other method */
	enum gw_class cls;
	unsigned write_alt; /* another set of scopes that also allows writing (0: none) */
};

/* The route owning path, or NULL (the gateway then answers 404). */
const struct gw_route *gw_route_find(const char *path);
/* The table itself, for per-route state: its size, entry i (NULL past the end), and the
 * index of an entry gw_route_find returned. */
size_t gw_route_count(void);
const struct gw_route *gw_route_at(size_t i);
size_t gw_route_index(const struct gw_route *r);
/* The rate-limit class of a path: GW_CLASS_HEALTH for /api/v1/health and below. */
enum gw_class gw_class_of(const char *path);

/* ---- authentication (authn.c, jwks.c) ---- */

struct gw_authn; /* JWKS cache, API-key cache; opaque */

enum st_err gw_authn_create(struct st_app *app, struct gw_authn **out);
void gw_authn_destroy(struct gw_authn *a);

/* Longest token id (jti) the gateway accepts; longer ones are refused as malformed. */
#define GW_JTI_MAX 63

/*
 * Establishes the caller from Authorization: Bearer <jwt> or X-API-Key. Returns 0 with *out
 * filled (kind "anonymous" when neither header is present) and jti set to a Bearer token's id
 * ("" for other callers), or answers 401 problem+json itself (bad or expired credentials; the
 * reason named, no secret echoed) and returns 401. Whether the token was revoked at logout is
 * asked by gw_ratelimit_check in the same Redis round trip as the rate limit. May answer 503 when
 * auth cannot be asked about an API key.
 */
int gw_authenticate(struct st_req *req, struct st_app *app, struct st_principal *out,
		    char jti[GW_JTI_MAX + 1]);
/* Answers 401 for a token found on the logout denylist; returns 401. */
int gw_reply_revoked(struct st_req *req);

/*
 * Applies route's access level and scopes (read_scope for GET and HEAD, write_scope for other
 * methods) to p. Returns 0 to go on, or answers 401 problem+json (no credentials on a route that
 * needs them) or 403 (naming the missing scopes, or a route for users' tokens only) and returns
 * that status.
 */
int gw_authorize(struct st_req *req, const struct gw_route *route, const struct st_principal *p);

/* ---- rate limiting (ratelimit.c) ---- */

struct gw_ratelimit;

enum st_err gw_ratelimit_create(struct st_app *app, struct gw_ratelimit **out);
void gw_ratelimit_destroy(struct gw_ratelimit *r);
/*
 * In one Redis round trip: when jti is given (a Bearer token's; NULL or "" otherwise), asks the
 * logout denylist, and when it holds the jti sets *revoked and returns 0 without counting or
 * answering (the caller answers 401). Otherwise counts one request of class cls for key
 * ("p:<sub>" for a principal, "ip:<addr>" for an anonymous caller) and adds RateLimit-Limit,
 * RateLimit-Remaining and RateLimit-Reset to the answer. Returns 0 to go on, or answers 429 with
 * Retry-After and returns 429. When Redis is down: goes on (fail-open, the Redis denylist
 * unchecked; the caller has already asked revoked.c's memory) or answers 503
 * (GATEWAY_RATE_FAIL_CLOSED; never for the health class), and records it for health.
 */
int gw_ratelimit_check(struct st_req *req, struct gw_ratelimit *r, const char *key,
		       enum gw_class cls, const char *jti, bool *revoked);
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

/*
 * What every public request goes through, the gateway's own routes included: authenticate,
 * authorize for route (its access, scopes and class; upstream unused), then count it against
 * the rate limit of route->cls ("p:<sub>" for a principal, "ip:<client address>" for an
 * anonymous caller). Returns 0 with *p filled to go on, or the status it answered with.
 */
int gw_guard(struct st_req *req, struct st_app *app, const struct gw_route *route,
	     struct st_principal *p);

/* The catch-all handler for /api/v1/...: route, authenticate, authorize, limit, proxy. */
int gw_forward(struct st_req *req, void *ctx);

/* Per-route upstream metrics (proxy.c): made at start for every route of the table, freed
 * at the end. */
struct gw_route_metrics *gw_route_metrics_create(struct st_app *app, const struct gateway *gw);
void gw_route_metrics_destroy(struct gw_route_metrics *rm);

/* ---- CORS (cors.c) ---- */

/*
 * Adds CORS headers for an allowed Origin to the next answer (Access-Control-Allow-Origin and
 * Vary: Origin). Answers a preflight (OPTIONS with Access-Control-Request-Method) itself with
 * 204 and returns 204; returns 0 otherwise. Does nothing while CORS is off.
 */
int gw_cors(struct st_req *req, const struct gateway *gw);

/* GET /api/v1/performance/summary (perf.c). */
int perf_summary(struct st_req *req, void *ctx);
/* GET /api/v1/openapi.json (openapi.c). */
int openapi_get(struct st_req *req, void *ctx);
/* Loads the OpenAPI document from path into gw (a missing file: a warning, and the route
 * answers 404). ST_ERR_INVALID when the file is there but is not JSON. */
enum st_err openapi_load(struct gateway *gw, const char *path);

#endif
