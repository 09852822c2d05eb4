/*
 * What authn.c and jwks.c share, and the pure functions that the unit tests of authn.c,
 * jwks.c and ratelimit.c reach: the JWKS cache, JWT verification with the algorithm pinned to
 * RS256 by the key set, the claim checks, the access decision and the GCRA arithmetic.
 */
#ifndef STRATA_GATEWAY_AUTHN_INT_H
#define STRATA_GATEWAY_AUTHN_INT_H

#include <cjson/cJSON.h>

#include "gateway.h"

struct st_httpc;

/* Why a token was refused. gw_jwt_reason names each for a 401 problem's detail. */
enum gw_jwt_result {
	GW_JWT_OK,
	GW_JWT_MALFORMED,   /* not three base64url parts of JSON objects; a repeated key */
	GW_JWT_ALG,         /* header alg is not RS256 */
	GW_JWT_UNKNOWN_KID, /* no kid, or one the JWKS does not hold (after one refresh) */
	GW_JWT_SIGNATURE,   /* the signature does not verify with that key */
	GW_JWT_EXPIRED,     /* exp passed (beyond the leeway) */
	GW_JWT_NOT_YET,     /* iat or nbf in the future (beyond the leeway) */
	GW_JWT_ISSUER,      /* iss is not ours */
	GW_JWT_AUDIENCE,    /* aud does not name us */
	GW_JWT_CLAIMS,      /* exp, iat, sub or jti missing or malformed; an unknown scope */
};

/* A short constant phrase for a 401 detail ("token expired"); never NULL, never secret. */
const char *gw_jwt_reason(enum gw_jwt_result r);

/* What a token must say about itself. Strings borrowed. */
struct gw_jwt_conf {
	const char *issuer;   /* GATEWAY_JWT_ISSUER */
	const char *audience; /* GATEWAY_JWT_AUDIENCE */
	int leeway_s;         /* GATEWAY_JWT_LEEWAY_S, at most 60 */
};

/* The claims of a verified token that the gateway uses. */
struct gw_jwt_claims {
	char sub[128];            /* a valid principal subject */
	char jti[GW_JTI_MAX + 1]; /* a valid principal field: it names the Redis denylist key */
	unsigned scopes;          /* enum st_scope bits from the space-separated `scope` */
	int64_t exp;              /* Unix seconds */
};

/* Where the key set comes from. Strings borrowed: they must outlive the cache. */
struct gw_jwks_conf {
	struct st_httpc *httpc; /* NULL: never fetch; keys only through gw_jwks_load */
	const char *auth_url;   /* GATEWAY_AUTH_URL */
	/* The gateway's pair keys: signs its own principal for auth (borrowed). */
	const struct st_principal_keys *principal_keys;
	int timeout_ms;        /* per fetch */
	int refresh_s;         /* GATEWAY_JWKS_REFRESH_S: periodic refetch */
	int unknown_kid_min_s; /* at most one refetch for unknown kids this often */
};

struct gw_jwks;

/* Creates the cache and, with an httpc, a thread that fetches the JWKS at once (auth may not
 * be up yet: it retries every few seconds until it has keys) and then every refresh_s. */
enum st_err gw_jwks_create(const struct gw_jwks_conf *conf, struct gw_jwks **out);
/* Stops the thread (waiting for a fetch in progress) and frees. Accepts NULL. */
void gw_jwks_destroy(struct gw_jwks *ks);

/*
 * Replaces the key set with the usable keys of a JWKS document: RSA keys of at least 2048
 * bits with a kid, whose use (if given) is "sig" and alg (if given) "RS256"; others are
 * skipped. ST_ERR_INVALID when the document is not a JWKS or holds no usable key (the key set
 * is then left as it was).
 */
enum st_err gw_jwks_load(struct gw_jwks *ks, const char *json, size_t len);
/* How many keys the cache holds. */
size_t gw_jwks_count(struct gw_jwks *ks);

/*
 * Verifies a compact JWS with libcommon's jwt.c: it must decode (three base64url parts of
 * JSON objects, none repeating a key: GW_JWT_MALFORMED), its header must say alg RS256 (the
 * algorithm of every key of the set: GW_JWT_ALG) and a kid of the key set (an unknown kid
 * triggers one refetch, at most every unknown_kid_min_s); the signature is checked with that
 * key, the algorithm pinned by the key (GW_JWT_SIGNATURE); then the claims
 * (gw_jwt_check_claims) at now_s. Fills out on GW_JWT_OK. May block on a JWKS fetch (bounded
 * by timeout_ms).
 */
enum gw_jwt_result gw_jwt_verify(struct gw_jwks *ks, const struct gw_jwt_conf *conf,
				 const char *token, int64_t now_s, struct gw_jwt_claims *out);

/* ---- revocations learned (revoked.c) ---- */

/* The Redis stream auth appends {jti, exp} to at each logout, beside the denylist key. */
#define GW_REVOCATIONS_STREAM "auth:revocations"
/* How many revocations a gateway keeps at most; past it, the one expiring first goes. */
#define GW_REVOKED_MAX 100000

struct gw_revoked;

/* Creates the set (at most cap entries) and, when app has Redis, the thread that reads
 * GW_REVOCATIONS_STREAM from its start and then every second. app may be NULL (no thread). */
enum st_err gw_revoked_create(struct st_app *app, size_t cap, struct gw_revoked **out);
/* Stops the thread and frees. Accepts NULL. */
void gw_revoked_destroy(struct gw_revoked *r);
/* Whether jti was revoked and its token has not expired at now_s. r may be NULL (false). */
bool gw_revoked_has(struct gw_revoked *r, const char *jti, int64_t now_s);

/* The outcome of one GCRA step (ratelimit.c). */
struct gw_gcra {
	bool allowed;
	int64_t tat_us;    /* to store when allowed (the clamped old one when refused) */
	int64_t remaining; /* requests still allowed right now */
	int64_t reset_us;  /* until the whole burst is available again */
	int64_t retry_us;  /* until the next request is allowed; 0 when allowed */
};

#ifdef ST_TESTING
/* The set alone, without Redis (gw_revoked_destroy frees it); adding one revocation (false when
 * jti is not a valid principal field or exp <= now_s: nothing to remember); its size. */
struct gw_revoked *gw_revoked_new(size_t cap);
bool gw_revoked_add(struct gw_revoked *r, const char *jti, int64_t exp, int64_t now_s);
size_t gw_revoked_count(struct gw_revoked *r);

/* The claim checks on a decoded payload: iss, aud (a string or an array holding ours), exp
 * and iat (and nbf when present) within the leeway, sub and jti valid principal fields, scope
 * known names. Fills out on GW_JWT_OK. */
enum gw_jwt_result gw_jwt_check_claims(const cJSON *claims, const struct gw_jwt_conf *conf,
				       int64_t now_s, struct gw_jwt_claims *out);

/* The access decision of gw_authorize without the reply: 0, 401 (no credentials on a route
 * that needs them) or 403 (*missing: the scopes lacking; 0 when the route wants a user's
 * token and p is not a user). */
int gw_access_decide(const struct gw_route *route, const char *method, const struct st_principal *p,
		     unsigned *missing);

/* One step of GCRA at now_us for a key whose stored theoretical arrival time is tat_us (0
 * when none), one request every period_us with a burst of burst requests. The same formula
 * as the Lua script in ratelimit.c. */
struct gw_gcra gw_gcra_step(int64_t now_us, int64_t tat_us, int64_t period_us, int64_t burst);
#endif

#endif
