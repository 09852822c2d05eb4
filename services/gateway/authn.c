/*
 * Who is calling, and may they? gw_authenticate turns a request's credentials into a
 * principal: a Bearer JWT verified locally (jwks.c) and then checked against the Redis
 * denylist that logout fills; an X-API-Key verified by auth's internal endpoint; or nobody
 * (the anonymous principal). gw_authorize then applies the route's access level and scopes.
 *
 * Per-request costs are kept off the hot path: a verified token is cached
 * until it expires, keyed by the SHA-256 of the token, so the RSA verification is paid once per
 * token; API-key answers are cached for GATEWAY_APIKEY_CACHE_S (at most 60 s, so a revoked key
 * stops working within a minute), and unknown keys for a few seconds. The denylist is asked on
 * every request (logout must take effect at once), in the rate limiter's Redis round trip
 * (ratelimit.c): gw_authenticate hands the token's jti to its caller for that. The revocations
 * this gateway has read from auth's stream (revoked.c) are checked first, in memory, so that a
 * logout still holds while Redis is down and the denylist fails open.
 *
 * Refusals are 401 problem+json naming the reason with a constant phrase, never the token or
 * the key, with WWW-Authenticate: Bearer error="invalid_token".
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <hiredis/hiredis.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "authn_int.h"
#include "strata/httpc.h"
#include "strata/json.h"
#include "strata/log.h"
#include "strata/redis.h"

#define CACHE_STRIPES      64
#define APIKEY_SLOTS       4096
#define APIKEY_NEGATIVE_S  5   /* how long an unknown key is remembered */
#define APIKEY_MAX         256 /* longer X-API-Key values are refused unasked */
#define AUTH_RETRY_AFTER_S 5

/* One cached credential: a verified token or auth's answer about an API key. */
struct cred {
	unsigned char hash[32]; /* SHA-256 of the credential */
	int64_t until_ms;       /* wall clock; 0: an empty slot */
	bool found;             /* API keys: false remembers an unknown key */
	unsigned scopes;
	char sub[128];
	char jti[GW_JTI_MAX + 1]; /* tokens only */
};

/* A bounded map: one slot per hash bucket, a newer entry replaces an older one. */
struct cred_cache {
	struct cred *slots; /* NULL when caching is off */
	size_t mask;        /* slots - 1, a power of two */
	pthread_mutex_t stripes[CACHE_STRIPES];
};

struct gw_authn {
	struct st_app *app;
	struct gw_jwks *jwks;
	struct gw_revoked *revoked; /* the logouts learned, for while Redis is away */
	struct gw_jwt_conf jwt;
	struct cred_cache tokens;
	struct cred_cache apikeys;
	const char *auth_url;
	int timeout_ms;
	int apikey_ttl_s;
};

/* ---- the credential cache ---- */

static void
cache_init(struct cred_cache *c, size_t max)
{
	size_t n = 1;

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < CACHE_STRIPES; i++)
		pthread_mutex_init(&c->stripes[i], NULL);
	if (max == 0)
		return;
	while (n < max)
		n <<= 1;
	c->slots = st_calloc(n, sizeof(*c->slots));
	c->mask = n - 1;
}

static void
cache_cleanup(struct cred_cache *c)
{
	for (size_t i = 0; i < CACHE_STRIPES; i++)
		pthread_mutex_destroy(&c->stripes[i]);
	st_free(c->slots);
	c->slots = NULL;
}

static size_t
cache_slot(const struct cred_cache *c, const unsigned char hash[32])
{
	uint64_t h;

	memcpy(&h, hash, sizeof(h));
	return (size_t)h & c->mask;
}

/* Copies the live entry for hash into out; false when there is none. */
static bool
cache_get(struct cred_cache *c, const unsigned char hash[32], int64_t now_ms, struct cred *out)
{
	size_t i;
	bool hit;

	if (c->slots == NULL)
		return false;
	i = cache_slot(c, hash);
	pthread_mutex_lock(&c->stripes[i % CACHE_STRIPES]);
	hit = c->slots[i].until_ms > now_ms && CRYPTO_memcmp(c->slots[i].hash, hash, 32) == 0;
	if (hit)
		*out = c->slots[i];
	pthread_mutex_unlock(&c->stripes[i % CACHE_STRIPES]);
	return hit;
}

static void
cache_put(struct cred_cache *c, const struct cred *entry)
{
	size_t i;

	if (c->slots == NULL || entry->until_ms <= 0)
		return;
	i = cache_slot(c, entry->hash);
	pthread_mutex_lock(&c->stripes[i % CACHE_STRIPES]);
	c->slots[i] = *entry;
	pthread_mutex_unlock(&c->stripes[i % CACHE_STRIPES]);
}

static void
sha256(const char *data, size_t len, unsigned char out[32])
{
	unsigned int n = 32;

	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1) {
		st_log(ST_LOG_ERROR, "authn", "SHA-256 failed");
		memset(out, 0, 32);
	}
}

/* ---- set-up ---- */

enum st_err
gw_authn_create(struct st_app *app, struct gw_authn **out)
{
	struct gw_authn *a = st_calloc(1, sizeof(*a));
	const struct st_config *cfg = app->config;
	struct gw_jwks_conf jc;
	enum st_err rc;

	a->app = app;
	a->auth_url = st_config_str(cfg, "GATEWAY_AUTH_URL");
	a->timeout_ms = (int)st_config_int(cfg, "GATEWAY_AUTH_TIMEOUT_MS");
	a->apikey_ttl_s = (int)st_config_int(cfg, "GATEWAY_APIKEY_CACHE_S");
	a->jwt.issuer = st_config_str(cfg, "GATEWAY_JWT_ISSUER");
	a->jwt.audience = st_config_str(cfg, "GATEWAY_JWT_AUDIENCE");
	a->jwt.leeway_s = (int)st_config_int(cfg, "GATEWAY_JWT_LEEWAY_S");
	cache_init(&a->tokens, (size_t)st_config_int(cfg, "GATEWAY_TOKEN_CACHE_MAX"));
	cache_init(&a->apikeys, a->apikey_ttl_s > 0 ? APIKEY_SLOTS : 0);
	jc = (struct gw_jwks_conf){
		.httpc = app->httpc,
		.auth_url = a->auth_url,
		.principal_keys = app->principal_keys,
		.timeout_ms = a->timeout_ms,
		.refresh_s = (int)st_config_int(cfg, "GATEWAY_JWKS_REFRESH_S"),
		.unknown_kid_min_s = 10,
	};
	rc = gw_jwks_create(&jc, &a->jwks);
	if (rc != ST_OK)
		goto out;
	rc = gw_revoked_create(app, GW_REVOKED_MAX, &a->revoked);
	if (rc != ST_OK)
		goto out;
	*out = a;
	a = NULL; /* ownership moved to the caller */
out:
	gw_authn_destroy(a);
	return rc;
}

void
gw_authn_destroy(struct gw_authn *a)
{
	if (a == NULL)
		return;
	gw_jwks_destroy(a->jwks);
	gw_revoked_destroy(a->revoked);
	cache_cleanup(&a->tokens);
	cache_cleanup(&a->apikeys);
	st_free(a);
}

/* ---- answers ---- */

static int
unauthorized(struct st_req *req, const char *reason)
{
	char challenge[160];

	snprintf(challenge, sizeof(challenge),
		 "Bearer realm=\"strata\", error=\"invalid_token\", error_description=\"%s\"",
		 reason);
	st_http_add_header(req, "WWW-Authenticate", challenge);
	return st_http_reply_problem(req, 401, "%s", reason);
}

static void
principal_fill(struct st_principal *p, const char *kind, const char *sub, unsigned scopes)
{
	st_strlcpy(p->kind, kind, sizeof(p->kind));
	st_strlcpy(p->sub, sub, sizeof(p->sub));
	p->scopes = scopes;
}

/* ---- Bearer tokens ---- */

static int
bearer(struct st_req *req, struct gw_authn *a, const char *token, struct st_principal *out,
       char jti[GW_JTI_MAX + 1])
{
	int64_t now_ms = st_now_wall_ms();
	struct cred c;
	struct gw_jwt_claims claims;
	enum gw_jwt_result res;

	sha256(token, strlen(token), c.hash);
	if (!cache_get(&a->tokens, c.hash, now_ms, &c)) {
		res = gw_jwt_verify(a->jwks, &a->jwt, token, now_ms / 1000, &claims);
		if (res != GW_JWT_OK) {
			st_log(ST_LOG_INFO, "authn", "token refused (%s)", gw_jwt_reason(res));
			return unauthorized(req, gw_jwt_reason(res));
		}
		c.until_ms = (claims.exp + a->jwt.leeway_s) * 1000;
		c.found = true;
		c.scopes = claims.scopes;
		st_strlcpy(c.sub, claims.sub, sizeof(c.sub));
		st_strlcpy(c.jti, claims.jti, sizeof(c.jti));
		cache_put(&a->tokens, &c);
	}
	/* A logout this gateway has learned holds even while Redis, and so the denylist, is away.
	 */
	if (gw_revoked_has(a->revoked, c.jti, now_ms / 1000))
		return gw_reply_revoked(req);
	st_strlcpy(jti, c.jti, GW_JTI_MAX + 1);
	principal_fill(out, "user", c.sub, c.scopes);
	return 0;
}

/* ---- API keys ---- */

/* A string member, or NULL when absent or not a string. Borrowed. */
static const char *
member_str(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* The shape of a key (stk_<prefix>_<secret>, base64url): anything else is refused unasked. */
static bool
apikey_shape_ok(const char *key)
{
	size_t n = 0;

	if (strncmp(key, "stk_", 4) != 0)
		return false;
	for (const char *p = key; *p != '\0'; p++, n++) {
		char ch = *p;

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return false;
	}
	return n > 4 && n <= APIKEY_MAX;
}

/* The expires_at of auth's answer as Unix ms (libcommon's RFC 3339 reader: any offset); false
 * when it is absent or not a time. */
ST_STATIC bool gw_apikey_expires_ms(const cJSON *expires, int64_t *out);

ST_STATIC bool
gw_apikey_expires_ms(const cJSON *expires, int64_t *out)
{
	return cJSON_IsString(expires) && st_time_parse_rfc3339(expires->valuestring, out);
}

/* Reads auth's 200 answer into c. False when it is not the documented shape. */
static bool
apikey_answer(const char *body, size_t len, struct cred *c)
{
	char err[128];
	cJSON *doc = st_json_parse(body, len, err, sizeof(err));
	const char *user = member_str(doc, "user_id");
	const cJSON *scopes = cJSON_GetObjectItemCaseSensitive(doc, "scopes"), *item;
	const cJSON *expires = cJSON_GetObjectItemCaseSensitive(doc, "expires_at");
	int64_t exp_ms;
	bool ok = false;

	if (user == NULL || !st_principal_field_ok(user, sizeof(c->sub)) || !cJSON_IsArray(scopes))
		goto out;
	c->scopes = 0;
	cJSON_ArrayForEach(item, scopes)
	{
		unsigned one;

		/* An unknown scope name grants nothing: fewer scopes is the safe side. */
		if (cJSON_IsString(item) && st_scopes_parse(item->valuestring, &one))
			c->scopes |= one;
		else
			st_log(ST_LOG_WARN, "authn", "auth named an unknown API-key scope");
	}
	st_strlcpy(c->sub, user, sizeof(c->sub));
	if (gw_apikey_expires_ms(expires, &exp_ms) && exp_ms < c->until_ms)
		c->until_ms = exp_ms;
	ok = true;
out:
	cJSON_Delete(doc);
	return ok;
}

/*
 * Asks auth about key. ST_OK with c filled (found or not: c->found), ST_ERR_UNAVAILABLE when
 * auth cannot be asked or answers what it should not (logged).
 */
static enum st_err
apikey_ask(struct gw_authn *a, struct st_req *req, const char *key, struct cred *c)
{
	static const struct st_principal_bind bind = { "POST", "/internal/v1/api-keys/verify",
						       NULL };
	struct st_principal p;
	char url[512], principal[ST_PRINCIPAL_WIRE_MAX], line[600];
	const char *headers[] = { line, "Content-Type: application/json", NULL };
	cJSON *doc = cJSON_CreateObject();
	struct st_httpc_req hreq = {
		.method = "POST", .url = url, .headers = headers, .timeout_ms = a->timeout_ms
	};
	struct st_httpc_resp resp;
	char *body;
	size_t len;
	enum st_err rc;

	memset(&p, 0, sizeof(p));
	principal_fill(&p, "service", "gateway", ST_SCOPE_NONE);
	st_strlcpy(p.request_id, st_http_request_id(req), sizeof(p.request_id));
	p.issued_ms = st_now_wall_ms();
	rc = st_principal_sign(&p, a->app->principal_keys, "auth", &bind, principal,
			       sizeof(principal));
	if (rc != ST_OK) {
		cJSON_Delete(doc);
		st_log(ST_LOG_ERROR, "authn", "cannot sign the gateway principal");
		return ST_ERR_UNAVAILABLE;
	}
	snprintf(line, sizeof(line), "%s: %s", ST_PRINCIPAL_HEADER, principal);
	snprintf(url, sizeof(url), "%s%s", a->auth_url, bind.path);
	cJSON_AddStringToObject(doc, "key", key);
	body = st_json_print(doc, &len);
	cJSON_Delete(doc);
	hreq.body = body;
	hreq.body_len = len;
	rc = st_httpc_do(a->app->httpc, &hreq, &resp);
	explicit_bzero(body, len); /* it holds the key */
	st_free(body);
	if (rc != ST_OK) {
		st_log(ST_LOG_WARN, "authn", "API-key verification failed err=%s", st_err_str(rc));
		rc = ST_ERR_UNAVAILABLE;
	} else if (resp.status == 404) {
		c->found = false;
		c->until_ms = st_now_wall_ms() + 1000LL * (a->apikey_ttl_s < APIKEY_NEGATIVE_S
								   ? a->apikey_ttl_s
								   : APIKEY_NEGATIVE_S);
	} else if (resp.status == 200) {
		c->found = true;
		c->until_ms = st_now_wall_ms() + 1000LL * a->apikey_ttl_s;
		if (!apikey_answer(resp.body, resp.len, c)) {
			st_log(ST_LOG_ERROR, "authn", "API-key verification: unexpected answer");
			rc = ST_ERR_UNAVAILABLE;
		}
	} else {
		st_log(ST_LOG_WARN, "authn", "API-key verification answered status=%ld",
		       resp.status);
		rc = ST_ERR_UNAVAILABLE;
	}
	st_httpc_resp_cleanup(&resp);
	return rc;
}

static int
api_key(struct st_req *req, struct gw_authn *a, const char *key, struct st_principal *out)
{
	struct cred c;

	if (!apikey_shape_ok(key))
		return unauthorized(req, "unknown API key");
	memset(&c, 0, sizeof(c));
	sha256(key, strlen(key), c.hash);
	if (!cache_get(&a->apikeys, c.hash, st_now_wall_ms(), &c)) {
		if (apikey_ask(a, req, key, &c) != ST_OK)
			return st_http_reply_unavailable(req, AUTH_RETRY_AFTER_S,
							 "the authentication service");
		cache_put(&a->apikeys, &c);
	}
	if (!c.found) {
		st_log(ST_LOG_INFO, "authn", "API key refused reason=unknown");
		return unauthorized(req, "unknown API key");
	}
	principal_fill(out, "apikey", c.sub, c.scopes);
	return 0;
}

/* ---- the entry points ---- */

int
gw_reply_revoked(struct st_req *req)
{
	st_log(ST_LOG_INFO, "authn", "token refused reason=revoked");
	return unauthorized(req, "token revoked");
}

int
gw_authenticate(struct st_req *req, struct st_app *app, struct st_principal *out,
		char jti[GW_JTI_MAX + 1])
{
	struct gateway *gw = app->state;
	const char *authz = st_http_header(req, "Authorization");
	const char *key = st_http_header(req, "X-API-Key");

	memset(out, 0, sizeof(*out));
	jti[0] = '\0';
	st_strlcpy(out->request_id, st_http_request_id(req), sizeof(out->request_id));
	out->issued_ms = st_now_wall_ms();
	if (authz != NULL && key != NULL)
		return st_http_reply_problem(req, 400,
					     "send either Authorization or X-API-Key, not both");
	if (authz != NULL) {
		const char *token = authz;

		if (strncasecmp(token, "Bearer ", 7) != 0)
			return unauthorized(req, "unsupported authorization scheme");
		token += 7;
		while (*token == ' ')
			token++;
		if (*token == '\0')
			return unauthorized(req, "malformed token");
		return bearer(req, gw->authn, token, out, jti);
	}
	if (key != NULL)
		return api_key(req, gw->authn, key, out);
	principal_fill(out, "anonymous", "anonymous", ST_SCOPE_NONE);
	return 0;
}

ST_STATIC int
gw_access_decide(const struct gw_route *route, const char *method, const struct st_principal *p,
		 unsigned *missing)
{
	bool reading = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	unsigned need = reading ? route->read_scope : route->write_scope;

	*missing = 0;
	if (route->access == GW_PUBLIC)
		return 0;
	if (!st_principal_authenticated(p))
		return 401;
	if (route->access == GW_USER_ONLY && strcmp(p->kind, "user") != 0)
		return 403;
	if (!reading && route->write_alt != 0 && st_scopes_allow(p->scopes, route->write_alt))
		return 0;
	if (!st_scopes_allow(p->scopes, need)) {
		*missing = need & ~p->scopes;
		return 403;
	}
	return 0;
}

int
gw_authorize(struct st_req *req, const struct gw_route *route, const struct st_principal *p)
{
	unsigned missing;
	char names[64];
	int status = gw_access_decide(route, st_http_method(req), p, &missing);

	if (status == 401) {
		st_http_add_header(req, "WWW-Authenticate", "Bearer realm=\"strata\"");
		return st_http_reply_problem(req, 401, "authentication required");
	}
	if (status == 403 && missing == 0)
		return st_http_reply_problem(req, 403, "this route needs a user's access token");
	if (status == 403) {
		st_scopes_format(missing, names, sizeof(names));
		return st_http_reply_problem(req, 403, "missing scope: %s", names);
	}
	return 0;
}
